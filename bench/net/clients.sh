#!/bin/bash
# Many local clients at once (issue 15): CLIENTS libfastn clients (default
# 1,000), each with its own control connection to daemon A, make CALLS
# calls each (default 100) of 64 bytes through A to daemon B's echo
# plugin, all at once (bench/net/clients); then the same to a plugin that
# takes 4 streams at a time (tests/plugins/narrow.wasm), so that nearly
# all streams wait for room; then to B's built-in perf protocol (64
# bytes asked back). Figures: calls, errors by kind, calls per
# second, latency percentiles, A's and B's CPU time.
#
#   bench/net/clients.sh [-c CLIENTS] [-n CALLS]
#
# Results: a markdown table on stdout and in $RESULTS/net-clients.md.
. "$(dirname "$0")/common.bash"

CLIENTS=1000
CALLS=100
while [ $# -gt 0 ]; do
    case $1 in
    -c) CLIENTS=$2; shift ;;
    -n) CALLS=$2; shift ;;
    *) echo "usage: $0 [-c CLIENTS] [-n CALLS]" >&2; exit 2 ;;
    esac
    shift
done
TOOL=$TOP/$BUILD/bench/net/clients
ECHO=$TOP/$BUILD/plugins/echo.wasm
NARROW=$TOP/$BUILD/tests/plugins/narrow.wasm
for b in "$TOOL" "$ECHO" "$NARROW"; do
    [ -e "$b" ] || { say "$b is missing: make bench-clients builds it"; exit 1; }
done
mkdir -p "$RESULTS"
OUT=$RESULTS/net-clients.md
ulimit -n $((CLIENTS * 2 + 4096))

A=$(new_home)
B=$(new_home)
start_daemon "$A"
start_daemon "$B"
idb=$(peer_of "$B")
fastn --home "$B" plugin install "$ECHO" >/dev/null
fastn --home "$B" plugin install --unsigned "$NARROW" >/dev/null
fastn --home "$A" connect "$(addr_of "$B")" >/dev/null
apid=$(daemon_pid "$A")
bpid=$(daemon_pid "$B")

jf() { jq -r ".$1" <<<"$2"; }
row() { # PROTOCOL LABEL
    local a0 b0 out
    a0=$(cpu_ticks "$apid")
    b0=$(cpu_ticks "$bpid")
    out=$("$TOOL" "$A/fastnd.sock" "$idb" "$1" "$CLIENTS" "$CALLS") || true
    say "$out"
    printf '| %s | %s | %s | %s | %s | %s | %s | %.1f s | %.1f s |\n' "$2" \
        "$(jf calls "$out")" "$(jf errors "$out")" \
        "$(jf calls_per_s "$out")" "$(jf p50_us "$out")" \
        "$(jf p99_us "$out")" "$(jf max_us "$out")" \
        "$(echo "($(cpu_ticks "$apid") - $a0) / 100" | bc -l)" \
        "$(echo "($(cpu_ticks "$bpid") - $b0) / 100" | bc -l)"
}

{
    echo "$CLIENTS clients x $CALLS calls of 64 bytes through one daemon, $(machine)"
    echo
    echo "| to B's | calls | errors | calls/s | p50 us | p99 us | max us | A's CPU | B's CPU |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    row /fastn/echo/1.0.0 "echo plugin (256 streams)"
    row /fastn-test/narrow/1 "plugin of 4 streams"
    row /perf/1.0.0 "built-in perf (64 bytes back)"
} | tee "$OUT"
