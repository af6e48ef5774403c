#!/bin/bash
# Where the CPU goes through the clients (issue 15): one stream of BYTES
# from a file (page cache) through `fastn call` -> A's fastnd -> B's
# fastnd -> `fastn listen` -> /dev/null, RUNS times, each run's MB/s and
# the CPU seconds per GB of each of the four processes (from /proc: the
# two daemons, the listener; `fastn call` from its rusage). With
# --strace, one more run counts each daemon's system calls (strace -c
# -f, slow: not timed); with --perf, one more run is sampled in each
# daemon (perf record -g) and the top of each profile printed.
#
#   bench/net/call_cpu.sh [-s BYTES] [-r RUNS] [--strace] [--perf]
#
# Results: a markdown table on stdout and in $RESULTS/net-call-cpu.md.
. "$(dirname "$0")/common.bash"

SIZE=512M
RUNS=3
STRACE=0
PERF=0
while [ $# -gt 0 ]; do
    case $1 in
    -s) SIZE=$2; shift ;;
    -r) RUNS=$2; shift ;;
    --strace) STRACE=1 ;;
    --perf) PERF=1 ;;
    *) echo "usage: $0 [-s BYTES] [-r RUNS] [--strace] [--perf]" >&2; exit 2 ;;
    esac
    shift
done
BYTES=$(bytes_of "$SIZE")
mkdir -p "$RESULTS"
OUT=$RESULTS/net-call-cpu.md
HZ=$(getconf CLK_TCK)

daemon_pair
pa=$(daemon_pid "$A")
pb=$(daemon_pid "$B")
head -c "$BYTES" /dev/zero >"$WORK/data"
cat "$WORK/data" >/dev/null
"$FASTN_BIN" --home "$B" listen /bench/sink/1.0.0 >/dev/null 2>&1 &
PIDS+=("$!")
pl=$!
sleep 0.5

per_gb() { awk -v t="$1" -v hz="$HZ" -v b="$BYTES" 'BEGIN { printf "%.2f", t / hz / (b / 1e9) }'; }

one_run() {
    local a0 b0 l0 t0 t1 ct
    a0=$(cpu_ticks "$pa")
    b0=$(cpu_ticks "$pb")
    l0=$(cpu_ticks "$pl")
    t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S' -o "$WORK/call.time" \
        "$FASTN_BIN" --home "$A" call "$PB" /bench/sink/1.0.0 <"$WORK/data" >/dev/null
    t1=$(date +%s.%N)
    sleep 0.2 # the listener's last writes
    ct=$(awk -v hz="$HZ" '{ printf "%d", ($1 + $2) * hz }' "$WORK/call.time")
    printf '| %s | %s | %s | %s | %s | %s |\n' \
        "$(awk -v a="$t0" -v b="$t1" -v n="$BYTES" 'BEGIN { printf "%.0f", n / 1e6 / (b - a) }')" \
        "$(per_gb "$ct")" "$(per_gb $(($(cpu_ticks "$pa") - a0)))" \
        "$(per_gb $(($(cpu_ticks "$pb") - b0)))" "$(per_gb $(($(cpu_ticks "$pl") - l0)))" \
        "$(cut -d' ' -f1 /proc/loadavg)"
}

{
    echo "$(machine). $SIZE through fastn call -> fastnd A -> fastnd B -> fastn listen, $RUNS runs; CPU s/GB per process."
    echo
    echo "| MB/s | call | daemon A | daemon B | listen | load |"
    echo "|---:|---:|---:|---:|---:|---:|"
    for r in $(seq "$RUNS"); do one_run; done
} | tee "$OUT"

if [ "$STRACE" = 1 ]; then
    strace -c -f -p "$pa" -o "$WORK/strace.a" &
    sa=$!
    strace -c -f -p "$pb" -o "$WORK/strace.b" &
    sb=$!
    sleep 0.5
    "$FASTN_BIN" --home "$A" call "$PB" /bench/sink/1.0.0 <"$WORK/data" >/dev/null
    sleep 0.3
    kill -INT "$sa" "$sb"
    wait "$sa" "$sb" || true
    for d in a b; do
        echo
        echo "daemon ${d^^}, system calls for $SIZE:"
        head -14 "$WORK/strace.$d"
    done | tee -a "$OUT"
fi

if [ "$PERF" = 1 ]; then
    perf record -q -g -o "$WORK/perf.a" -p "$pa" 2>/dev/null &
    ra=$!
    perf record -q -g -o "$WORK/perf.b" -p "$pb" 2>/dev/null &
    rb=$!
    sleep 1
    "$FASTN_BIN" --home "$A" call "$PB" /bench/sink/1.0.0 <"$WORK/data" >/dev/null
    kill -INT "$ra" "$rb"
    wait "$ra" "$rb" || true
    [ -n "${PERF_KEEP:-}" ] && cp "$WORK/perf.a" "$WORK/perf.b" "$PERF_KEEP/"
    for d in a b; do
        echo
        echo "daemon ${d^^}, perf (self, over 1 %):"
        perf report -i "$WORK/perf.$d" --no-children --stdio -g none \
            --sort dso 2>/dev/null | grep '%' | head -6
        perf report -i "$WORK/perf.$d" --no-children --stdio -g none \
            --sort sym --percent-limit 1 2>/dev/null | grep '%' | grep -v libcrypto | head -25
        echo "by system call (children):"
        perf report -i "$WORK/perf.$d" --children --stdio -g none \
            --sort sym 2>/dev/null | grep -E '\] (__x64_sys|__sys)_' | head -8
    done | tee -a "$OUT"
fi
