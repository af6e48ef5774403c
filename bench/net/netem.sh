#!/bin/bash
# fastn and js-libp2p over a link with DELAY ms each way (default 20: a
# 40 ms round trip), in one run: two network namespaces this script
# makes, joined by a veth pair with `tc qdisc netem delay` on both ends,
# or where the kernel has no netem by TUN devices and bench/net/tundelay
# as bench/net/latency.sh does (root; no namespaces: it says so and
# exits 1).
#
#   bench/net/netem.sh [--delay MS] [-n COUNT] [--big SIZE]
#
# Rows, each for fastnd (daemons A and B) and for js-libp2p (a node of
# bench/net/js_latency.mjs serving /perf/1.0.0, a client in A's
# namespace):
#   connect + first call  a new connection (TCP, multistream, Noise,
#                         yamux) then one /perf/1.0.0 call of 8 bytes up
#                         and 32 back, timed in-process: fastn through
#                         the daemon, its connection closed before each
#                         call (bench/net/latency cold-daemon); js dial +
#                         call (js_latency.mjs cold); median of COUNT
#                         (default 10)
#   fastn ping ADDR       `fastn ping MULTIADDR -c 1` after `fastn
#                         disconnect` (connect by address, one ping
#                         answer), wall time of the CLI (fastn only)
#   download 1 MiB, SIZE  /perf/1.0.0 on the pooled connection (fastn
#                         perf; js: tests/interop/js/peer.mjs
#                         --perf-client): seconds and MB/s (SIZE default
#                         64M)
# Results: a markdown table on stdout and in $RESULTS/net-netem.md,
# with the load average before and after.
. "$(dirname "$0")/common.bash"

DELAY=20
N=10
BIG=64M
while [ $# -gt 0 ]; do
    case $1 in
    --delay) DELAY=$2; shift ;;
    -n) N=$2; shift ;;
    --big) BIG=$2; shift ;;
    *) echo "usage: $0 [--delay MS] [-n COUNT] [--big SIZE]" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$RESULTS"
OUT=$RESULTS/net-netem.md
MACHINE=$(machine)
js_ready || { say "js-libp2p: $(tail -1 "$WORK/js-install.log")"; exit 1; }

ns1=fne$$a ns2=fne$$b
delayed_link "$ns1" "$ns2" 10.202.0 fne || { say "$LINK_ERR"; exit 1; }
in1() { ip netns exec "$ns1" "$@"; }

A=$(new_home /ip4/10.202.0.1/tcp/0)
B=$(new_home /ip4/10.202.0.2/tcp/0)
start_daemon "$A" ip netns exec "$ns1"
start_daemon "$B" ip netns exec "$ns2"
idb=$(peer_of "$B")
addrb=$(addr_of "$B")
fastn --home "$A" connect "$addrb" >/dev/null
rtt=$(fastn --home "$A" ping "$idb" -c 5 -i 0.2 --json |
    sed -n 's/.*"min_ms":\([0-9.]*\).*/\1/p' | awk '{ printf "%.1f", $1 }')
say "RTT (fastn ping, min of 5): $rtt ms"

ip netns exec "$ns2" node "$TOP/bench/net/js_latency.mjs" serve /ip4/10.202.0.2/tcp/0 \
    >"$WORK/js-server.out" 2>&1 &
PIDS+=("$!")
for i in $(seq 200); do
    [ -s "$WORK/js-server.out" ] && break
    sleep 0.05
done
jsaddr=$(head -1 "$WORK/js-server.out")
case $jsaddr in /ip4/*) ;; *) say "js server: $jsaddr"; exit 1 ;; esac

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 |"); }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# --- connect + first call ------------------------------------------------
say "connect + first call x $N"
j=$(in1 "$LATENCY" cold-daemon "$A/fastnd.sock" "$idb" "$N")
fastn_cold=$(json_field "$j" median_us)
j=$(in1 node "$TOP/bench/net/js_latency.mjs" cold "$jsaddr" "$N")
js_cold=$(json_field "$j" median_us)
row "connect + first call (median of $N)" "$(ms "$fastn_cold")" "$(ms "$js_cold")"

# --- fastn ping MULTIADDR -------------------------------------------------
say "fastn ping by address x 5"
for i in 1 2 3 4 5; do
    fastn --home "$A" disconnect "$idb" >/dev/null 2>&1 || true
    t0=$(date +%s%N)
    fastn --home "$A" ping "$addrb" -c 1 >/dev/null
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
done | median >"$WORK/ping.us"
row "\`fastn ping ADDR -c 1\` after disconnect (CLI wall time, median of 5)" "$(ms "$(cat "$WORK/ping.us")")" "—"

# --- downloads -----------------------------------------------------------
fastn --home "$A" connect "$addrb" >/dev/null
fastn_dl() { # SIZE: "S s, X MB/s"
    local j
    j=$(fastn --home "$A" perf "$idb" --download "$1" -q --json)
    echo "$j" | sed -n 's/.*"download_s":\([0-9.]*\).*"download_MBps":\([0-9.]*\).*/\1 \2/p' |
        awk '{ printf "%.2f s, %.1f MB/s", $1, $2 }'
}
js_dl() { # SIZE
    local j
    j=$(in1 node "$JS_DIR/peer.mjs" --no-listen --quiet --timeout 300 \
        --dial "$jsaddr" --perf-client --download "$1" | grep '"perf"')
    echo "$j" | sed -n 's/.*"downloadMs":\([0-9.]*\).*"downloadMBps":\([0-9.]*\).*/\1 \2/p' |
        awk '{ printf "%.2f s, %.1f MB/s", $1 / 1000, $2 }'
}
for size in 1M "$BIG"; do
    say "download $size"
    row "download $size (one /perf/1.0.0 stream, pooled connection)" "$(fastn_dl "$size")" "$(js_dl "$size")"
done

{
    echo "Link: $LINK (RTT $rtt ms by fastn ping)."
    echo "Machine: $MACHINE; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
    echo
    echo "| measure | fastn | js-libp2p 3.3.11 |"
    echo "|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
} | tee "$OUT"
