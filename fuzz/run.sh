#!/bin/sh
# Runs every fuzz target (built by `make fuzz` into build-fuzz/fuzz/) for
# FUZZ_SECONDS each (default 20), starting from its seed corpus, so that
# none rots between releases: a crash, a leak, a sanitizer report or a
# target that does not run fails. New inputs go to a scratch folder, not
# into fuzz/corpus/; a crashing input is kept in build-fuzz/artifacts/
# (add it to the corpus once fixed). Usage: [FUZZ_SECONDS=N] fuzz/run.sh
set -u
dir=${FUZZ_BUILD:-build-fuzz}/fuzz
secs=${FUZZ_SECONDS:-20}
artifacts=${FUZZ_BUILD:-build-fuzz}/artifacts
mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0 ran=0 failed=""
for src in fuzz/fuzz_*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    bin="$dir/fuzz_$name"
    if [ ! -x "$bin" ]; then
        echo "fuzz/$name: FAILED: $bin is not built (make fuzz)"
        status=1 failed="$failed $name"
        continue
    fi
    mkdir -p "$scratch/$name"
    log="$scratch/$name.log"
    if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
        "$scratch/$name" "fuzz/corpus/$name" >"$log" 2>&1; then
        echo "fuzz/$name: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
            sed 's/.*: *//') runs in ${secs}s, ok"
    else
        echo "fuzz/$name: FAILED (artifacts in $artifacts)"
        tail -n 30 "$log" | sed 's/^/    /'
        status=1 failed="$failed $name"
    fi
    ran=$((ran + 1))
done
[ $ran -gt 0 ] || { echo "no fuzz target ran"; exit 1; }
[ $status -eq 0 ] || echo "fuzz targets failed:$failed"
exit $status
