#!/bin/bash
# Counts the instructions fastn-wasm executes on each benchmark program
# (the small variant, REPS=1), under valgrind's callgrind: a figure that,
# unlike a time, does not move when other programs share the machine, so
# two engines (e.g. before and after a change) can be compared to a
# fraction of a percent on a busy machine.
#
# Usage: bench/wasm/icount.sh [-p "PROG..."] [--no-fuel] BINARY [BINARY2]
#   BINARY    a fastn-wasm to measure; with BINARY2 too, both are
#             measured and the table gives BINARY2's change against BINARY
#   -p PROGS  programs (default: all of bench/wasm/*.c)
#   --no-fuel run without a fuel budget (default: --fuel 10^18, as run.sh)
# Environment: BUILD (default build), where `make bench-wasm-build` put
# the programs. Prints a markdown table: program, instructions (millions)
# per binary, change; the last row is the geometric mean of the ratios.
set -u
export LC_ALL=C

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
BUILD=${BUILD:-build}
PROGS=""
FUEL=(--fuel 1000000000000000000)

while [ $# -gt 0 ]; do
    case "$1" in
    -p) PROGS=$2 && shift 2 ;;
    --no-fuel) FUEL=() && shift ;;
    -*) sed -n '/^# Usage:/,/^# Environment/p' "$0" >&2 && exit 2 ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] && [ $# -le 2 ] || {
    sed -n '/^# Usage:/,/^# Environment/p' "$0" >&2
    exit 2
}
command -v valgrind >/dev/null || {
    echo "icount.sh: valgrind is needed (Debian package valgrind)" >&2
    exit 77
}
if [ -z "$PROGS" ]; then
    for f in bench/wasm/*.c; do
        p=$(basename "$f" .c)
        [ "$p" = main_native ] || PROGS="$PROGS $p"
    done
fi

# count BINARY PROG: instructions executed (callgrind's "I refs").
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" \
        "${FUEL[@]}" "$BUILD/bench/wasm/$2.small.wasm" --invoke run 2>&1 |
        sed -n 's/.*I *refs: *//p' | tr -d ,
}

logs=""
if [ $# -eq 2 ]; then
    echo "| program | $1 (M instr) | $2 (M instr) | change |"
    echo "|---|---:|---:|---:|"
else
    echo "| program | $1 (M instr) |"
    echo "|---|---:|"
fi
for p in $PROGS; do
    a=$(count "$1" "$p")
    [ -n "$a" ] || { echo "icount.sh: $p failed under $1" >&2 && exit 1; }
    if [ $# -eq 1 ]; then
        awk -v p="$p" -v a="$a" 'BEGIN { printf "| %s | %.1f |\n", p, a / 1e6 }'
        continue
    fi
    b=$(count "$2" "$p")
    [ -n "$b" ] || { echo "icount.sh: $p failed under $2" >&2 && exit 1; }
    awk -v p="$p" -v a="$a" -v b="$b" 'BEGIN {
        printf "| %s | %.1f | %.1f | %+.2f%% |\n", p, a / 1e6, b / 1e6,
            (b / a - 1) * 100 }'
    logs="$logs $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.8f", log(b / a) }')"
done
if [ -n "$logs" ]; then
    echo "$logs" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i;
        printf "| geometric mean | | | %+.2f%% |\n", (exp(s / NF) - 1) * 100 }'
fi
