#!/bin/sh
# Replays every fuzz corpus through its target (part of `make test`).
# A target without a seed corpus is a failure: every parser has seeds.
set -u
BUILD=${BUILD:-build}
status=0
found=0
for src in fuzz/fuzz_*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    bin="$BUILD/fuzz/replay_$name"
    found=1
    if [ ! -d "fuzz/corpus/$name" ] || [ -z "$(ls -A "fuzz/corpus/$name")" ]; then
        echo "fuzz/$name: no seed corpus in fuzz/corpus/$name"
        status=1
        continue
    fi
    if out=$("$bin" "fuzz/corpus/$name" 2>&1); then
        echo "fuzz/$name: $out"
    else
        echo "fuzz/$name: FAILED"
        echo "$out" | tail -n 20
        status=1
    fi
done
[ $found -eq 1 ] || { echo "no fuzz targets yet"; exit 77; }
exit $status
