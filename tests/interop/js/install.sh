#!/bin/sh
# Installs the pinned js-libp2p test peers (package-lock.json) into
# node_modules/ with `npm ci`, only when node_modules is missing or was
# installed from another lock file. Exits 77 (skipped, for tests/run.sh)
# with the reason as the last line when Node.js >= 20 or npm is missing;
# exits 1 when the install itself fails.
# Usage: tests/interop/js/install.sh   (from anywhere; quiet when up to date)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

skip() {
    echo "skipped: $1"
    exit 77
}

command -v node >/dev/null 2>&1 ||
    skip "node not found; the js-libp2p peers need Node.js >= 20"
ver=$(node --version 2>/dev/null || true)
major=$(echo "$ver" | sed -n 's/^v\([0-9][0-9]*\)\..*/\1/p')
[ -n "$major" ] && [ "$major" -ge 20 ] ||
    skip "node ${ver:-(unknown version)} is too old; the js-libp2p peers need Node.js >= 20"
command -v npm >/dev/null 2>&1 ||
    skip "npm not found; it installs the js-libp2p peers"

stamp=node_modules/.fastn-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)

up_to_date() {
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]
}

install() {
    up_to_date && return 0
    echo "install.sh: installing js-libp2p test peers (npm ci)" >&2
    rm -f "$stamp"
    if ! timeout 600 npm ci --no-audit --no-fund --legacy-peer-deps \
        --loglevel=error >.npm-ci.log 2>&1; then
        tail -n 20 .npm-ci.log >&2
        echo "install.sh: npm ci failed (log: $here/.npm-ci.log);" \
            "check that the npm registry is reachable" >&2
        exit 1
    fi
    echo "$want" >"$stamp"
}

# Tests may call this at once; one installs, the others wait for it.
if command -v flock >/dev/null 2>&1; then
    exec 9>.install.lock
    flock -w 700 9 || { echo "install.sh: timed out waiting for another install" >&2; exit 1; }
fi
install
