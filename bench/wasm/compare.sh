#!/bin/bash
# Compares two fastn-wasm builds (e.g. before and after a change) on the
# benchmark programs: for each program, the two run alternately, RUNS
# times each, with fuel (--fuel 10^18, as run.sh) or without, and the
# median CPU time (user + system) of each is taken. Running them in
# turns puts both under the same load, so the ratio holds on a shared
# machine better than two separate run.sh tables do.
#
# Usage: bench/wasm/compare.sh [-n RUNS] [-p "PROG..."] [--no-fuel] A B
#   A, B      two fastn-wasm binaries; the table gives B's time against A's
#   -n RUNS   runs of each per program (default 5)
#   -p PROGS  programs (default: all of bench/wasm/*.c)
#   --no-fuel run without fuel
# Environment: BUILD (default build), where `make bench-wasm-build` put
# the programs. Prints a markdown table; the last row is the geometric
# mean of the per-program ratios. Exit 1 if a run fails or the two
# disagree on a result.
set -u
export LC_ALL=C

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
BUILD=${BUILD:-build}
RUNS=5
PROGS=""
FUEL=(--fuel 1000000000000000000)

while [ $# -gt 0 ]; do
    case "$1" in
    -n) RUNS=$2 && shift 2 ;;
    -p) PROGS=$2 && shift 2 ;;
    --no-fuel) FUEL=() && shift ;;
    -*) sed -n '/^# Usage:/,/^# Environment/p' "$0" >&2 && exit 2 ;;
    *) break ;;
    esac
done
[ $# -eq 2 ] || {
    sed -n '/^# Usage:/,/^# Environment/p' "$0" >&2
    exit 2
}
A=$1 B=$2
if [ -z "$PROGS" ]; then
    for f in bench/wasm/*.c; do
        p=$(basename "$f" .c)
        [ "$p" = main_native ] || PROGS="$PROGS $p"
    done
fi

timefile=$(mktemp)
trap 'rm -f "$timefile"' EXIT
TIMEFORMAT='%3U %3S'

# one BINARY PROG: prints "RESULT CPU-SECONDS".
one() {
    local out u s
    { time out=$("$1" "${FUEL[@]}" "$BUILD/bench/wasm/$2.wasm" --invoke run); } \
        2>"$timefile" || return 1
    read -r u s <"$timefile"
    echo "$out $(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')"
}

median() {
    printf '%s\n' $1 | sort -g | awk '{ a[NR] = $1 }
        END { if (NR % 2) print a[(NR + 1) / 2];
              else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

echo "| program | A s | B s | B/A |"
echo "|---|---:|---:|---:|"
logs=""
for p in $PROGS; do
    ta="" tb="" ra="" rb=""
    for ((i = 0; i < RUNS; i++)); do
        read -r r t < <(one "$A" "$p") || { echo "compare.sh: $p failed under $A" >&2 && exit 1; }
        ra=$r ta="$ta $t"
        read -r r t < <(one "$B" "$p") || { echo "compare.sh: $p failed under $B" >&2 && exit 1; }
        rb=$r tb="$tb $t"
        [ "$ra" = "$rb" ] || { echo "compare.sh: $p: results differ ($ra, $rb)" >&2 && exit 1; }
    done
    ma=$(median "$ta") mb=$(median "$tb")
    awk -v p="$p" -v a="$ma" -v b="$mb" \
        'BEGIN { printf "| %s | %.3f | %.3f | %.4f |\n", p, a, b, b / a }'
    logs="$logs $(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.8f", log(b / a) }')"
done
echo "$logs" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i;
    printf "| geometric mean | | | %.4f (%+.2f%%) |\n", exp(s / NF),
        (exp(s / NF) - 1) * 100 }'
