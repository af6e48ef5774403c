#!/bin/bash
# Many streams at once between two daemons on loopback: N `fastn perf`
# runs started together (each its own /perf/1.0.0 stream over the one
# connection), each moving BYTES one way. Prints the aggregate (all the
# bytes / the wall time from the first start to the last end) and each
# daemon's CPU seconds per GB and average cores used, for RUNS runs.
#
#   bench/net/streams.sh [-n STREAMS] [-s BYTES] [-r RUNS] [--down]
#
# Environment: FASTN_CRYPTO_THREADS is passed to the daemons (0: none).
. "$(dirname "$0")/common.bash"

N=16
SIZE=256M
RUNS=3
DIR=up
while [ $# -gt 0 ]; do
    case $1 in
    -n) N=$2; shift ;;
    -s) SIZE=$2; shift ;;
    -r) RUNS=$2; shift ;;
    --down) DIR=down ;;
    *) echo "usage: $0 [-n STREAMS] [-s BYTES] [-r RUNS] [--down]" >&2; exit 2 ;;
    esac
    shift
done
BYTES=$(bytes_of "$SIZE")
say "$(machine)"

daemon_pair
pa=$(daemon_pid "$A")
pb=$(daemon_pid "$B")
hz=$(getconf CLK_TCK)
if [ "$DIR" = up ]; then UPB=$BYTES DOWNB=0; else UPB=0 DOWNB=$BYTES; fi

echo "| run | streams | MB each | aggregate MB/s | A CPU s/GB | B CPU s/GB | A cores | B cores | load |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for r in $(seq "$RUNS"); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    ca=$(cpu_ticks "$pa")
    cb=$(cpu_ticks "$pb")
    t0=$(date +%s.%N)
    pids=()
    for i in $(seq "$N"); do
        fastn --home "$A" perf "$PB" --upload "$UPB" --download "$DOWNB" --json -q \
            >"$WORK/run.$i" 2>&1 &
        pids+=("$!")
    done
    fail=0
    for p in "${pids[@]}"; do wait "$p" || fail=1; done
    t1=$(date +%s.%N)
    [ $fail = 0 ] || { say "a perf run failed: $(cat "$WORK"/run.* | head -5)"; exit 1; }
    da=$(($(cpu_ticks "$pa") - ca))
    db=$(($(cpu_ticks "$pb") - cb))
    awk -v r="$r" -v n="$N" -v b="$BYTES" -v t0="$t0" -v t1="$t1" -v da="$da" \
        -v db="$db" -v hz="$hz" -v load="$load" 'BEGIN {
        s = t1 - t0; gb = n * b / 1e9
        printf "| %d | %d | %.0f | %.0f | %.2f | %.2f | %.2f | %.2f | %s |\n",
            r, n, b / 1e6, n * b / 1e6 / s, da / hz / gb, db / hz / gb,
            da / hz / s, db / hz / s, load }'
done
