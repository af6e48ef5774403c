#!/bin/sh
# `make demo`: the main job of fastn-p2p, for now on one machine. Starts
# fastnd in a temporary home (through the CLI's autostart), shows its
# PeerID and status, then stops it with SIGTERM and removes the home.
# Usage: BUILD=build sh scripts/demo.sh
set -eu
BUILD=${BUILD:-build}
bin=$(cd "$(dirname "$0")/.." && pwd)/$BUILD/bin
[ -x "$bin/fastnd" ] && [ -x "$bin/fastn" ] || {
    echo "demo: build first: make" >&2
    exit 1
}
# autostart must use this build's fastnd
FASTND=$bin/fastnd
export FASTND
home=$(mktemp -d /tmp/fastn-demo.XXXXXX)

stop() {
    if [ -f "$home/fastnd.lock" ]; then
        pid=$(cat "$home/fastnd.lock")
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
    fi
    rm -rf "$home"
}
trap stop EXIT INT TERM

show() {
    echo
    echo "\$ $*"
    "$@"
}

echo "fastn-p2p demo: a daemon in a fresh home ($home)"
show "$bin/fastn" --home "$home" id
show "$bin/fastn" --home "$home" status
show "$bin/fastn" --home "$home" peers
show "$bin/fastn" --home "$home" id --json
show ls -l "$home" "$home/keys"
echo
echo "stopping fastnd (SIGTERM): the socket goes away with it"
pid=$(cat "$home/fastnd.lock")
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
done
if [ -e "$home/fastnd.sock" ]; then
    echo "demo: the socket is still there" >&2
    exit 1
fi
show ls "$home"
echo
echo "demo done"
