#!/bin/bash
# Memory under peers that send and never read (issue 8: "1000 connections
# that never read cannot take the daemon past 256 MB RSS"): N connections
# (default 1000), each with an identity of its own and a full handshake
# (tests/integration/flood_peer hog), flood one daemon with yamux pings,
# identify requests, proposals of an unserved protocol, ping-protocol data
# and a 1 GiB /perf/1.0.0 download request, for SECONDS (default 20),
# never reading. Meanwhile another daemon's pooled calls to it are timed
# (net_probe latency, /perf/1.0.0, 32 bytes back), and before the flood
# for comparison. Prints the flooded daemon's RSS (start, peak, after) and
# the latencies.
#
#   bench/net/hog.sh [-n N] [-s SECONDS] [--buffers MIB]
#
# Results: a markdown table on stdout and in $RESULTS/net-hog.md.
. "$(dirname "$0")/common.bash"

N=1000
SECS=20
BUFFERS=
while [ $# -gt 0 ]; do
    case $1 in
    -n) N=$2; shift ;;
    -s) SECS=$2; shift ;;
    --buffers) BUFFERS=$2; shift ;;
    *) echo "usage: $0 [-n N] [-s SECONDS] [--buffers MIB]" >&2; exit 2 ;;
    esac
    shift
done
FLOOD=$TOP/$BUILD/tests/integration/flood_peer
PROBE=$TOP/$BUILD/tests/integration/net_probe
for b in "$FLOOD" "$PROBE"; do
    [ -x "$b" ] || { say "$b is missing: make bench-net-hog builds it"; exit 1; }
done
mkdir -p "$RESULTS"
OUT=$RESULTS/net-hog.md
MACHINE=$(machine)
# N connections on each side, and the daemon's own files
ulimit -n $((N * 2 + 256))

A=$(new_home)
B=$(new_home)
printf 'max-connections = %d\n' $((N + 64)) >>"$A/config"
[ -n "$BUFFERS" ] && printf 'max-connection-buffers = %s\n' "$BUFFERS" >>"$A/config"
start_daemon "$A"
start_daemon "$B"
apid=$(daemon_pid "$A")
ida=$(peer_of "$A")
addra=$(addr_of "$A")
port=$(cut -d/ -f5 <<<"$addra")
fastn --home "$B" connect "$addra" >/dev/null
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$apid/status"; }
latency() { # COUNT: "median p99" in us
    "$PROBE" latency "$B/fastnd.sock" "$ida" /perf/1.0.0 "$1" |
        sed -n 's/.*median \([0-9.]*\) us, p99 \([0-9.]*\) us.*/\1 \2/p'
}

read -r quiet_med quiet_p99 <<<"$(latency 500)"
start=$(rss)
say "flooding with $N connections for $SECS s"
"$FLOOD" hog "$port" "$ida" "$N" "$SECS" 127.0.0.2 >"$WORK/hog" 2>&1 &
hog=$!
PIDS+=("$hog")
for i in $(seq 600); do
    grep -q connected "$WORK/hog" && break
    kill -0 "$hog" 2>/dev/null || { say "flood_peer: $(cat "$WORK/hog")"; exit 1; }
    sleep 0.1
done
connected=$(rss)
peak=$connected
(while kill -0 "$hog" 2>/dev/null; do rss >>"$WORK/rss"; sleep 0.2; done) &
sampler=$!
read -r busy_med busy_p99 <<<"$(latency 500)"
wait "$hog" || true
wait "$sampler" || true
peak=$(sort -n "$WORK/rss" | tail -1)
[ "${peak:-0}" -gt "$connected" ] || peak=$connected
sleep 2
after=$(rss)
sent=$(sed -n 's/^sent \([0-9]*\) MB dead \([0-9]*\)/\1 MB, \2 closed by the daemon/p' "$WORK/hog")
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

{
    echo "Machine: $MACHINE."
    echo
    echo "$N connections that never read, flooding for $SECS s (sent $sent); max-connection-buffers ${BUFFERS:-64 (default)} MiB."
    echo
    echo "| flooded daemon | RSS MB |"
    echo "|---|---:|"
    echo "| before | $(mb "$start") |"
    echo "| $N connections made | $(mb "$connected") |"
    echo "| peak during the flood | $(mb "$peak") |"
    echo "| 2 s after | $(mb "$after") |"
    echo
    echo "| another peer's pooled calls (500, /perf/1.0.0) | median us | p99 us |"
    echo "|---|---:|---:|"
    echo "| no flood | $quiet_med | $quiet_p99 |"
    echo "| during the flood | ${busy_med:-failed} | ${busy_p99:-failed} |"
} | tee "$OUT"
