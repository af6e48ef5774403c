#!/bin/bash
# Quick correctness check of the fastn-wasm engine on the benchmark
# programs: builds them, runs the small variant of each (REPS=1) once
# through fastn-wasm, with fuel and without, and compares the checksum with
# native code's and, when node is present, V8's. A few seconds; usable as a
# test. Exit 0 when all agree, 1 on any difference or failure, 77 (with the
# reason on the last line) when fastn-wasm or clang is absent.
# Usage: BUILD=build bench/wasm/check.sh [PROG...]
set -u
export LC_ALL=C
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
BUILD=${BUILD:-build}
FASTN_WASM=${FASTN_WASM:-$BUILD/bin/fastn-wasm}
NODE=${NODE:-node}
LIMIT=${LIMIT:-120}

if [ ! -x "$FASTN_WASM" ]; then
    echo "skipped: $FASTN_WASM is not built"
    exit 77
fi
if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null; then
    echo "skipped: clang and lld are needed to build bench/wasm"
    exit 77
fi
make -s BUILD="$BUILD" bench-wasm-build >/dev/null || exit 1
dir=$BUILD/bench/wasm

progs="$*"
if [ -z "$progs" ]; then
    for f in bench/wasm/*.c; do
        p=$(basename "$f" .c)
        [ "$p" = main_native ] || progs="$progs $p"
    done
fi

# checksum CMD...: the result CMD prints (the last integer on the first
# non-empty line of its output) as an unsigned 32-bit value, or a word
# saying why there is none.
errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT
checksum() {
    local out rc sum
    out=$(timeout -k 5 "$LIMIT" "$@" 2>"$errfile")
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "error(exit $rc: $(tail -n 1 "$errfile"))"
        return
    fi
    sum=$(printf '%s\n' "$out" | grep -m 1 . | grep -oE -- '-?[0-9]+' |
        tail -n 1)
    [ -n "$sum" ] || { echo "no-result" && return; }
    echo $((sum & 0xFFFFFFFF))
}

bad=0
for p in $progs; do
    want=$(checksum "$dir/$p.small.native")
    line="$p: native $want"
    got=()
    if command -v "$NODE" >/dev/null 2>&1; then
        n=$(timeout -k 5 "$LIMIT" "$NODE" bench/wasm/run.mjs \
            "$dir/$p.small.wasm" 2>&1 | tail -n 1)
        got+=("node=${n%% *}")
    fi
    got+=("fastn=$(checksum "$FASTN_WASM" "$dir/$p.small.wasm" --invoke run)")
    got+=("fastn-fuel=$(checksum "$FASTN_WASM" --fuel 1000000000000000000 \
        "$dir/$p.small.wasm" --invoke run)")
    ok=1
    for g in "${got[@]}"; do
        [ "${g#*=}" = "$want" ] || ok=0
        line="$line, $g"
    done
    case "$want" in *[!0-9]*) ok=0 ;; esac
    if [ $ok -eq 1 ]; then
        echo "ok   $line"
    else
        echo "FAIL $line"
        bad=$((bad + 1))
    fi
done
if [ $bad -ne 0 ]; then
    echo "bench/wasm check: $bad program(s) disagree"
    exit 1
fi
echo "bench/wasm check: all programs agree"
