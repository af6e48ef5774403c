#!/bin/sh
# Runs every test of a build: unit programs, integration and interop
# scripts, the wasm spec suite and the fuzz corpora (each registered by a
# file tests/suites/*.list or found by name). Each test is its own process
# with a time limit; exit 0 is a pass, 77 a skip (it must say why), anything
# else a failure. Usage: BUILD=build tests/run.sh [FILTER]
set -u
BUILD=${BUILD:-build}
FILTER=${1:-}
export BUILD
top=$(pwd)
export FASTN_TOP="$top"
export FASTN_BIN="$top/$BUILD/bin"
logdir="$top/$BUILD/test-logs"
mkdir -p "$logdir"

pass=0 fail=0 skip=0 failed=""

run_one() { # name timeout cmd...
    name=$1 limit=$2
    shift 2
    case "$name" in *"$FILTER"*) ;; *) return ;; esac
    log="$logdir/$(echo "$name" | tr '/ ' '__').log"
    start=$(date +%s)
    timeout -k 10 "$limit" "$@" >"$log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1))
        echo "PASS $name (${secs}s)"
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1))
        echo "SKIP $name: $(tail -n 1 "$log")"
    else
        fail=$((fail + 1))
        failed="$failed $name"
        [ $rc -eq 124 ] && echo "FAIL $name: timed out after ${limit}s" ||
            echo "FAIL $name (exit $rc)"
        tail -n 100 "$log" | sed 's/^/    /'
    fi
}

for t in "$BUILD"/tests/unit/test_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" 300 "$t"
done
for t in tests/integration/*.sh; do
    [ -f "$t" ] || continue
    run_one "integration/$(basename "$t" .sh)" 600 bash "$t"
done
for t in tests/interop/*.sh; do
    [ -f "$t" ] || continue
    run_one "interop/$(basename "$t" .sh)" 900 bash "$t"
done
for t in tests/wasm-spec/run.sh; do
    [ -f "$t" ] || continue
    run_one "wasm-spec" 1800 bash "$t"
done
for t in fuzz/replay.sh; do
    [ -f "$t" ] || continue
    run_one "fuzz-replay" 600 bash "$t"
done

echo "tests: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] || {
    echo "failed:$failed (logs in $logdir)"
    exit 1
}
