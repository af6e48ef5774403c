#!/bin/sh
# Runs every test of a build: unit programs, integration and interop
# scripts, the wasm spec suite and the fuzz corpora (each registered by a
# file tests/suites/*.list or found by name). Each test is its own process
# with a time limit; exit 0 is a pass, 77 a skip (it must say why), anything
# else a failure. A skipped test is not a pass: the run ends by naming
# every skipped test and fails when any was skipped, unless
# FASTN_TEST_ALLOW_SKIP=1 (for machines without root, node or the wasm
# toolchain; scripts/install-deps.sh installs what the tests need). It
# also fails when it ran no test at all (a FILTER that matches nothing, an
# empty build) and when a unit test's source has no built program.
# Usage: BUILD=build tests/run.sh [FILTER]
set -u
BUILD=${BUILD:-build}
FILTER=${1:-}
export BUILD
top=$(pwd)
export FASTN_TOP="$top"
# no test reaches the public DHT: daemons without a bootstrap key get none
export FASTN_BOOTSTRAP=none
export FASTN_BIN="$top/$BUILD/bin"
logdir="$top/$BUILD/test-logs"
mkdir -p "$logdir"

pass=0 fail=0 skip=0 failed="" skipped=""

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
        skipped="$skipped
    $name: $(tail -n 1 "$log")"
        echo "SKIP $name: $(tail -n 1 "$log")"
    else
        fail=$((fail + 1))
        failed="$failed $name"
        [ $rc -eq 124 ] && echo "FAIL $name: timed out after ${limit}s" ||
            echo "FAIL $name (exit $rc)"
        tail -n 100 "$log" | sed 's/^/    /'
    fi
}

for src in tests/unit/test_*.c; do
    [ -f "$src" ] || continue
    t="$BUILD/tests/unit/$(basename "$src" .c)"
    if [ -x "$t" ]; then
        run_one "unit/$(basename "$t")" 300 "$t"
    else # a test that was not built fails; it is not left out
        run_one "unit/$(basename "$t")" 10 sh -c \
            'echo "$1 is not built: run make (or make check)"; exit 1' _ "$t"
    fi
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
rc=0
if [ $((pass + fail + skip)) -eq 0 ]; then
    echo "no test ran${FILTER:+ (none matches '$FILTER')}: nothing was tested"
    rc=1
fi
if [ $skip -gt 0 ]; then
    echo "skipped (not passed):$skipped"
    if [ "${FASTN_TEST_ALLOW_SKIP:-}" = 1 ]; then
        echo "skips allowed by FASTN_TEST_ALLOW_SKIP=1"
    else
        echo "a skipped test is not a pass: install what it needs" \
            "(scripts/install-deps.sh all; some tests need root), or set" \
            "FASTN_TEST_ALLOW_SKIP=1 to accept the skips"
        rc=1
    fi
fi
if [ $fail -gt 0 ]; then
    echo "failed:$failed (logs in $logdir)"
    rc=1
fi
exit $rc
