#!/bin/bash
# Round trips per second between two daemons on loopback over one stream:
# through the echo plugin (on daemon A) against a client-registered echo
# handler (bench/plugin/roundtrip serve, on daemon A, a separate process
# the daemon splices the stream to). The client is on daemon B in both
# cases. After each figure, each daemon's CPU per round trip (A serves,
# B is the client's daemon; the bench/echo handler's own CPU is not in A's),
# and the kernel's floor for the one-stream path (bench/plugin/relay_floor).
# Usage: BUILD=build bash bench/plugin/roundtrip.sh [COUNT [SIZE]]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]:-$0}")/../env.sh"
BUILD=${BUILD:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$TOP/$BUILD/bin
RT=$TOP/$BUILD/bench/plugin/roundtrip
RF=$TOP/$BUILD/bench/plugin/relay_floor
COUNT=${1:-20000}
SIZE=${2:-64}
[ -x "$RT" ] && [ -x "$RF" ] && [ -f "$TOP/$BUILD/plugins/echo.wasm" ] || {
    echo "roundtrip: build first (make)" >&2
    exit 1
}
T=$(mktemp -d /tmp/fastn-rt.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
for h in A B; do
    mkdir "$T/$h"
    "$BIN/fastnd" --home "$T/$h" --foreground --listen /ip4/127.0.0.1/tcp/0 \
        >"$T/$h.log" 2>&1 &
    pids+=($!)
done
for i in $(seq 100); do
    [ -S "$T/A/fastnd.sock" ] && [ -S "$T/B/fastnd.sock" ] && break
    sleep 0.05
done
f() { "$BIN/fastn" --home "$1" --no-autostart "${@:2}"; }
ida=$(f "$T/A" id | sed -n 1p)
f "$T/A" plugin install "$TOP/$BUILD/plugins/echo.wasm" >/dev/null
f "$T/B" connect "$(f "$T/A" id | sed -n 2p)" >/dev/null
"$RT" serve "$T/A/fastnd.sock" /bench/echo/1.0.0 >"$T/serve.log" 2>&1 &
pids+=($!)
for i in $(seq 100); do grep -q serving "$T/serve.log" && break; sleep 0.05; done
# measured N CMD...: runs CMD, then prints each daemon's CPU (user +
# system, from /proc, in clock ticks) per round trip of its N
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
measured() {
    local n=$1 a0 b0
    shift
    a0=$(ticks "${pids[0]}")
    b0=$(ticks "${pids[1]}")
    "$@"
    awk -v a=$(($(ticks "${pids[0]}") - a0)) \
        -v b=$(($(ticks "${pids[1]}") - b0)) -v hz="$(getconf CLK_TCK)" \
        -v n="$n" 'BEGIN { printf "  CPU per round trip: A %.1f us, B %.1f us\n",
            a / hz / n * 1e6, b / hz / n * 1e6 }'
}
echo "round trips, $COUNT x $SIZE bytes, one stream, B -> A on loopback:"
measured "$COUNT" "$RT" run "$T/B/fastnd.sock" "$ida" /fastn/echo/1.0.0 "$COUNT" "$SIZE"
measured "$COUNT" "$RT" run "$T/B/fastnd.sock" "$ida" /bench/echo/1.0.0 "$COUNT" "$SIZE"
echo "the same path with no fastnd (three bare processes, relay_floor.c):"
"$RF" "$COUNT" "$SIZE" block
"$RF" "$COUNT" "$SIZE" spin-relays
echo "round trips, 64 streams at once to the echo plugin, $((COUNT * 10)) x $SIZE bytes in all, B -> A:"
measured $((COUNT * 10)) "$RT" many "$T/B/fastnd.sock" "$ida" /fastn/echo/1.0.0 64 $((COUNT * 10)) "$SIZE"
