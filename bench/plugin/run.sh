#!/bin/sh
# Plugin benchmarks (docs/BENCHMARKS.md, "Plugins"): module load and
# plugin start times, resident memory per idle plugin, calls through the
# host, and (bench/plugin/roundtrip.sh) round trips through the echo
# plugin between two daemons against a client-registered echo handler.
# Usage: BUILD=build sh bench/plugin/run.sh
set -eu
BUILD=${BUILD:-build}
export BUILD FASTN_TOP=${FASTN_TOP:-$(pwd)}
"$BUILD/bench/plugin/plugin_bench" load 30
"$BUILD/bench/plugin/plugin_bench" memory 200
"$BUILD/bench/plugin/plugin_bench" memory-chat 50
"$BUILD/bench/plugin/plugin_bench" calls 200000
if [ -f bench/plugin/roundtrip.sh ]; then
    bash bench/plugin/roundtrip.sh
fi
