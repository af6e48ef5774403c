#!/bin/bash
# Times the WebAssembly benchmark programs (bench/wasm/*.c) on every
# runner in one go and compares them with native code:
#   native        clang -O2, the same C file with a tiny main
#   node          V8; the time of the run() call alone, and with start-up
#                 (the whole node process: start, compile, instantiate, run)
#   wasm-interp   wabt's interpreter (~150-300x native); it runs the small
#                 variant (REPS=1, one twentieth of the work) and its ratio
#                 is taken against native on that same variant, so its
#                 seconds are an estimate: ratio x native
#   fastn         build/bin/fastn-wasm --invoke run, with fuel (a huge
#                 budget) and without; runs alternate so that the fuel
#                 overhead is measured under the same conditions
# Times are CPU seconds (user + system) of the process, or for node's call
# alone of the node process during the call: the machine may be shared, and
# CPU time, unlike the clock, does not grow when another program takes the
# core. --wall uses the clock instead.
# Every run's checksum must equal native's: a wrong result, a crash or a
# timeout is a failure (exit 1), never a timing. Each time is the median of
# several runs. Prints a table and writes it as markdown to
# bench/results/wasm.md, ready for docs/BENCHMARKS.md.
#
# Usage: bench/wasm/run.sh [-n RUNS] [-p "PROG..."] [-r "RUNNER..."]
#                          [-o FILE] [--no-build] [--wall]
#   -n RUNS      runs per timing, median taken (default 3)
#   -p PROGS     programs to run (default: all of bench/wasm/*.c)
#   -r RUNNERS   among: native node wasm-interp fastn (default: all;
#                native always runs, it is the reference)
#   -o FILE      markdown output (default bench/results/wasm.md)
#   --no-build   do not run `make bench-wasm-build` first
#   --wall       time by the clock instead of by CPU time (user + system),
#                on an otherwise idle machine only
# Environment: BUILD (default build), FASTN_WASM (default
# $BUILD/bin/fastn-wasm), FUEL (default 10^18), TIMEOUT (seconds per
# single run, default 300), NODE, WASM_INTERP.
set -u
export LC_ALL=C

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2

BUILD=${BUILD:-build}
FASTN_WASM=${FASTN_WASM:-$BUILD/bin/fastn-wasm}
FUEL=${FUEL:-1000000000000000000}
TIMEOUT=${TIMEOUT:-300}
NODE=${NODE:-node}
WASM_INTERP=${WASM_INTERP:-wasm-interp}
RUNS=3
PROGS=""
RUNNERS="native node wasm-interp fastn"
OUT=bench/results/wasm.md
BUILD_FIRST=1
METRIC=cpu

usage() {
    sed -n '/^# Usage:/,/^# single run/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    -n) RUNS=$2 && shift 2 ;;
    -p) PROGS=$2 && shift 2 ;;
    -r) RUNNERS=$2 && shift 2 ;;
    -o) OUT=$2 && shift 2 ;;
    --no-build) BUILD_FIRST=0 && shift ;;
    --wall) METRIC=wall && shift ;;
    *) usage ;;
    esac
done
case "$RUNS" in '' | *[!0-9]* | 0) usage ;; esac

dir=$BUILD/bench/wasm
if [ $BUILD_FIRST -eq 1 ]; then
    make -s BUILD="$BUILD" bench-wasm-build || exit 2
fi
if [ -z "$PROGS" ]; then
    for f in bench/wasm/*.c; do
        p=$(basename "$f" .c)
        [ "$p" = main_native ] || PROGS="$PROGS $p"
    done
fi

has_runner() {
    case " $RUNNERS " in *" $1 "*) return 0 ;; esac
    return 1
}

# Which runners can run here; an absent one is reported, not failed.
declare -A MISSING
if has_runner node && ! command -v "$NODE" >/dev/null 2>&1; then
    MISSING[node]="$NODE not found"
fi
if has_runner wasm-interp && ! command -v "$WASM_INTERP" >/dev/null; then
    MISSING[wasm-interp]="$WASM_INTERP not found (Debian package wabt)"
fi
if has_runner fastn && [ ! -x "$FASTN_WASM" ]; then
    MISSING[fastn]="$FASTN_WASM not built"
fi

errfile=$(mktemp)
outfile=$(mktemp)
timefile=$(mktemp)
trap 'rm -f "$errfile" "$outfile" "$timefile"' EXIT
TIMEFORMAT='%3R %3U %3S'


declare -A TIMES STATUS REF
failures=0

# run_once KEY EXPECTED KIND CMD...: runs CMD once under the time limit and
# appends its time to TIMES[KEY], or records why it failed in STATUS[KEY]
# (a key that failed is not run again). KIND "node" reads "CHECKSUM WALL
# CPU" (the call alone) and also records the whole process under KEY+start.
# An empty EXPECTED makes this run's checksum the reference, in REF[KEY].
run_once() {
    local key=$1 want=$2 kind=$3 out rc sum t real user sys
    shift 3
    [ -z "${STATUS[$key]:-}" ] || return 0
    {
        time timeout -k 5 "$TIMEOUT" "$@" >"$outfile" 2>"$errfile"
    } 2>"$timefile"
    rc=$?
    out=$(cat "$outfile")
    read -r real user sys <"$timefile"
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        fail "$key" "timed out after ${TIMEOUT}s"
        return 0
    elif [ $rc -ne 0 ]; then
        fail "$key" "exit $rc: $(tail -n 1 "$errfile")"
        return 0
    fi
    if [ "$kind" = node ]; then
        sum=${out%% *}
    else
        sum=$(result_of "$out")
    fi
    case "$sum" in
    '' | *[!0-9-]*)
        fail "$key" "no checksum in the output: $(printf '%s' "$out" | head -c 80)"
        return 0
        ;;
    esac
    sum=$((sum & 0xFFFFFFFF))
    if [ -z "$want" ]; then
        REF[$key]=$sum
    elif [ "$sum" != "$want" ]; then
        fail "$key" "wrong checksum $sum, expected $want"
        return 0
    fi
    if [ "$METRIC" = wall ]; then
        t=$real
    else
        t=$(calc "$user + $sys" 3)
    fi
    if [ "$kind" = node ]; then
        read -r _ real user <<<"$out"
        [ "$METRIC" = wall ] && TIMES[$key]+="$real " || TIMES[$key]+="$user "
        TIMES[$key+start]+="$t "
    else
        TIMES[$key]+="$t "
    fi
}

# result_of OUTPUT: the result an engine printed: the last integer on the
# first non-empty line ("123", "-5", "i32:123", "run() => i32:123").
result_of() {
    printf '%s\n' "$1" | grep -m 1 . | grep -oE -- '-?[0-9]+' | tail -n 1
}

fail() {
    STATUS[$1]=$2
    failures=$((failures + 1))
    echo "  FAIL $1: $2" >&2
}

median() {
    printf '%s\n' $1 | sort -g | awk '{ a[NR] = $1 }
        END { if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2];
              else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# measure_program PROG: every runner on PROG; fills TIMES and STATUS.
measure_program() {
    local p=$1 i ref refs
    for ((i = 0; i < RUNS; i++)); do
        run_once "$p,native" "${REF[$p,native]:-}" plain "$dir/$p.native"
        run_once "$p,native-small" "${REF[$p,native-small]:-}" plain \
            "$dir/$p.small.native"
    done
    ref=${REF[$p,native]:-}
    refs=${REF[$p,native-small]:-}
    if [ -z "$ref" ] || [ -z "$refs" ]; then
        return 0 # no reference: nothing else can be checked
    fi
    if has_runner node && [ -z "${MISSING[node]:-}" ]; then
        for ((i = 0; i < RUNS; i++)); do
            run_once "$p,node" "$ref" node "$NODE" bench/wasm/run.mjs \
                "$dir/$p.wasm"
        done
    fi
    if has_runner wasm-interp && [ -z "${MISSING[wasm-interp]:-}" ]; then
        # wasm-interp 1.0.32 takes no export name or arguments: it calls
        # every exported function (here only run) and prints its results.
        run_once "$p,wasm-interp" "$refs" plain "$WASM_INTERP" \
            --run-all-exports "$dir/$p.small.wasm"
    fi
    if has_runner fastn && [ -z "${MISSING[fastn]:-}" ]; then
        for ((i = 0; i < RUNS; i++)); do
            run_once "$p,fastn" "$ref" plain "$FASTN_WASM" --fuel "$FUEL" \
                "$dir/$p.wasm" --invoke run
            run_once "$p,fastn-nofuel" "$ref" plain "$FASTN_WASM" \
                "$dir/$p.wasm" --invoke run
        done
    fi
}

# med KEY: the median time of KEY, or empty if it failed or did not run.
med() {
    [ -z "${STATUS[$1]:-}" ] || return 0
    median "${TIMES[$1]:-}"
}

calc() {
    awk "BEGIN { printf \"%.${2:-2}f\", $1 }"
}

# cell PROG COLUMN: sets cell to "SECS (RATIOx)" for PROG under a column of
# the table, or to why there is none ("missing", "FAIL", "-"), and ratio to
# the ratio to native (empty when there is none).
cell() {
    local p=$1 r=$2 base key t nat ns
    cell="-" ratio=""
    case "$r" in
    node | node+start) base=node key="$p,node" ;;
    fastn | fastn-nofuel) base=fastn key="$p,$r" ;;
    *) base=$r key="$p,$r" ;;
    esac
    if [ "$r" != native ]; then
        has_runner "$base" || return 0
        if [ -n "${MISSING[$base]:-}" ]; then
            cell=missing
            return 0
        fi
    fi
    if [ -n "${STATUS[$key]:-}" ] || [ -n "${STATUS[$p,native]:-}" ]; then
        cell=FAIL
        return 0
    fi
    nat=$(med "$p,native")
    t=$(med "$p,$r")
    [ -n "$nat" ] && [ -n "$t" ] || return 0
    if [ "$r" = native ]; then
        ratio=1
        cell=$(calc "$t" 3)
    elif [ "$r" = wasm-interp ]; then
        ns=$(med "$p,native-small")
        [ -n "$ns" ] || return 0
        ratio=$(calc "$t / $ns" 4)
        cell="~$(calc "$ratio * $nat" 3) ($(calc "$ratio" 1)x)"
    else
        ratio=$(calc "$t / $nat" 4)
        cell="$(calc "$t" 3) ($(calc "$ratio" 2)x)"
    fi
}

COLS="native node node+start wasm-interp fastn fastn-nofuel"
HEAD=("program" "native s" "node s" "node+start s" "wasm-interp s"
    "fastn fuel s" "fastn nofuel s" "fuel cost" "fastn vs interp")

echo "bench/wasm: $RUNS runs each; programs:$PROGS" >&2
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average: $load_start" >&2
for k in "${!MISSING[@]}"; do
    echo "  $k: missing ($(printf '%s' "${MISSING[$k]}"))" >&2
done
start_all=$EPOCHREALTIME
for p in $PROGS; do
    if [ ! -f "$dir/$p.wasm" ] || [ ! -x "$dir/$p.native" ]; then
        fail "$p,native" "not built ($dir/$p.wasm)"
        continue
    fi
    t0=$EPOCHREALTIME
    measure_program "$p"
    echo "  $p done in $(calc "(${EPOCHREALTIME/./} - ${t0/./}) / 1e6" 1)s" >&2
done

# --- the table -------------------------------------------------------------
declare -A LOGS # runner -> list of log(ratio), for the geometric means
rows=()
for p in $PROGS; do
    row=("$p")
    declare -A rr=()
    for r in $COLS; do
        cell "$p" "$r"
        row+=("$cell")
        rr[$r]=$ratio
    done
    fuel="-" vs="-"
    if [ -n "${rr[fastn]}" ] && [ -n "${rr[fastn-nofuel]}" ]; then
        o=$(calc "(${rr[fastn]} / ${rr[fastn-nofuel]} - 1) * 100" 1)
        fuel="${o}%"
        LOGS[fuel]+="$(calc "log(${rr[fastn]} / ${rr[fastn-nofuel]})" 6) "
    fi
    if [ -n "${rr[fastn]}" ] && [ -n "${rr[wasm-interp]}" ]; then
        vs="$(calc "${rr[wasm-interp]} / ${rr[fastn]}" 1)x"
        LOGS[vs]+="$(calc "log(${rr[wasm-interp]} / ${rr[fastn]})" 6) "
    fi
    row+=("$fuel" "$vs")
    for r in $COLS; do
        [ -n "${rr[$r]}" ] && LOGS[$r]+="$(calc "log(${rr[$r]})" 6) "
    done
    rows+=("$(printf '%s|' "${row[@]}")")
    unset rr
done

# geo LIST: the geometric mean of the logs in LIST if there is one
# per program, else empty.
nprogs=$(echo $PROGS | wc -w)
geo() {
    local n
    n=$(echo ${1:-} | wc -w)
    [ "$n" -eq "$nprogs" ] && [ "$n" -gt 0 ] || return 0
    echo ${1} | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i;
        printf "%.4f", exp(s / NF) }'
}
grow=("geometric mean")
for r in $COLS; do
    g=$(geo "${LOGS[$r]:-}")
    [ -n "$g" ] && grow+=("$(calc "$g" 2)x") || grow+=("-")
done
g_fuel=$(geo "${LOGS[fuel]:-}")
g_vs=$(geo "${LOGS[vs]:-}")
g_fastn=$(geo "${LOGS[fastn]:-}")
[ -n "$g_fuel" ] && grow+=("$(calc "($g_fuel - 1) * 100" 1)%") || grow+=("-")
[ -n "$g_vs" ] && grow+=("$(calc "$g_vs" 1)x") || grow+=("-")
rows+=("$(printf '%s|' "${grow[@]}")")

# target TEXT VALUE SHOWN OP LIMIT: "TEXT: SHOWN, met" (or "not met"), or
# "TEXT: not measured" when VALUE is empty.
target() {
    if [ -z "$2" ]; then
        echo "$1: not measured"
    elif awk "BEGIN { exit !($2 $4 $5) }"; then
        echo "$1: $3, met"
    else
        echo "$1: $3, not met"
    fi
}
targets=(
    "$(target "fastn with fuel within 10x of native (geometric mean)" \
        "$g_fastn" "$(calc "${g_fastn:-0}" 2)x" '<=' 10)"
    "$(target "fastn at least 15x faster than wasm-interp" \
        "$g_vs" "$(calc "${g_vs:-0}" 1)x" '>=' 15)"
    "$(target "fuel overhead at most 10%" \
        "$g_fuel" "$(calc "(${g_fuel:-1} - 1) * 100" 1)%" '<=' 1.10)"
)

# Plain text to stdout.
echo
printf '%-14s %8s %15s %15s %17s %16s %16s %9s %9s\n' "${HEAD[@]}"
for line in "${rows[@]}"; do
    IFS='|' read -r -a c <<<"$line"
    printf '%-14s %8s %15s %15s %17s %16s %16s %9s %9s\n' "${c[@]}"
done
echo
echo "wasm-interp runs one twentieth of the work (REPS=1); its seconds are"
echo "its ratio on that run times native's full time."
for t in "${targets[@]}"; do echo "target: $t"; done
for k in "${!MISSING[@]}"; do echo "$k: missing (${MISSING[$k]})"; done
for k in "${!STATUS[@]}"; do echo "FAIL $k: ${STATUS[$k]}"; done

# Markdown, for docs/BENCHMARKS.md.
mkdir -p "$(dirname "$OUT")"
{
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') at commit" \
        "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
        "median of $RUNS runs, in $(calc "(${EPOCHREALTIME/./} - ${start_all/./}) / 1e6" 0) s."
    echo
    echo "- CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)," \
        "$(nproc) cores; $(uname -sr); Debian $(cat /etc/debian_version 2>/dev/null)"
    echo "- load average at the start: $load_start; times are" \
        "$([ "$METRIC" = wall ] && echo "by the clock" || echo "CPU time (user + system)")"
    echo "- $(clang --version | head -n 1); node $("$NODE" --version 2>/dev/null);" \
        "wabt $("$WASM_INTERP" --version 2>/dev/null)"
    echo
    printf '| %s ' "${HEAD[@]}"
    echo "|"
    printf '|%s' "---" "---:" "---:" "---:" "---:" "---:" "---:" "---:" "---:"
    echo "|"
    for line in "${rows[@]}"; do
        IFS='|' read -r -a c <<<"$line"
        printf '| %s ' "${c[@]}" | sed 's/\([0-9]\)x)/\1×)/g; s/\([0-9]\)x /\1× /g'
        echo "|"
    done
    echo
    echo "Seconds per program (median); in brackets, the ratio to native."
    echo "node s times the run() call alone, node+start s the whole process"
    echo "(start-up, compiling, instantiating, the call). wasm-interp"
    echo "runs one twentieth of the work (REPS=1) and its ratio is taken"
    echo "against native on that same run; its seconds (~) are that ratio times"
    echo "native's. fuel cost: fastn with a fuel budget against fastn without."
    for k in "${!MISSING[@]}"; do echo "$k: missing (${MISSING[$k]})."; done
    for k in "${!STATUS[@]}"; do echo "FAIL $k: ${STATUS[$k]}."; done
    echo
    for t in "${targets[@]}"; do echo "- Target: $t"; done
} >"$OUT"
echo "markdown written to $OUT"
[ $failures -eq 0 ]
