#!/bin/bash
# An unknown protocol under `unknown-protocols = trusted`: from the first
# byte of a chat message sent to a daemon that has no chat to chat's
# on_data there, with the plugin fetched from the sender over
# /fastn/plugin/1.0.0 (no registry), verified, installed and handed the
# kept stream. Two daemons on loopback; each run a fresh receiver. The
# time is chat's own: the message's sent_ms (the sender stores it just
# before it opens the stream) to its stored_ms on the receiver (written
# in on_data), both from the one clock of this machine; read from the
# receiver's chat database once it has stopped. Prints median and p90 ms.
# Usage: BUILD=build bash bench/plugin/quarantine.sh [COUNT]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]:-$0}")/../env.sh"
BUILD=${BUILD:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$TOP/$BUILD/bin
COUNT=${1:-11}
CHAT=$TOP/$BUILD/plugins/chat.wasm
command -v sqlite3 >/dev/null || { echo "quarantine.sh: sqlite3 is missing" >&2; exit 1; }
[ -f "$CHAT" ] || { echo "quarantine.sh: build first (make)" >&2; exit 1; }
T=$(mktemp -d /tmp/fastn-qbench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
f() { "$BIN/fastn" --home "$1" --no-autostart "${@:2}"; }
start() { # HOME
    "$BIN/fastnd" --home "$1" --foreground --listen /ip4/127.0.0.1/tcp/0 \
        2>>"$1/stderr.log" >/dev/null &
    pids+=($!)
    for _ in $(seq 100); do [ -S "$1/fastnd.sock" ] && return; sleep 0.05; done
    echo "fastnd did not start in $1" >&2
    exit 1
}
A=$T/a
mkdir -p "$A"
start "$A"
f "$A" plugin install "$CHAT" >/dev/null
ms=()
for i in $(seq "$COUNT"); do
    B=$T/b$i
    mkdir -p "$B"
    printf 'unknown-protocols = trusted\nauto-grant = streams, storage, notify, timers\n' >"$B/config"
    start "$B"
    pb=${pids[-1]}
    f "$B" registry remove bundled >/dev/null
    idb=$(f "$B" id | sed -n 1p)
    f "$A" connect "$(f "$B" id | sed -n 2p)" >/dev/null
    f "$A" chat send "$idb" "message $i" >/dev/null
    for _ in $(seq 100); do
        f "$B" chat log 2>/dev/null | grep -q "message $i" && break
        sleep 0.05
    done
    kill "$pb"
    wait "$pb" 2>/dev/null || true
    ms+=("$(sqlite3 "$B/data/chat/db.sqlite" \
        "SELECT stored_ms - sent_ms FROM messages WHERE text = 'message $i'")")
done
sorted=($(printf '%s\n' "${ms[@]}" | sort -n))
n=${#sorted[@]}
echo "first byte to on_data under trusted, chat fetched from the peer ($n runs):"
echo "  median ${sorted[$((n / 2))]} ms, p90 ${sorted[$((n * 9 / 10))]} ms, all: ${sorted[*]}"
