#!/bin/bash
# plugins/files/lib built for wasm32-wasi (the files plugin's target, with
# -Werror and the plugin's 64 KiB stack) runs on fastn-wasm and computes
# what it computes natively: tests/files/wasm_selftest.c (known CIDs from
# ipfs-unixfs-importer, a file read back through the walker, folders at
# and over the HAMT threshold, a bitswap message). Skipped (77) without
# the wasm32-wasi toolchain.
set -u
top=${FASTN_TOP:-$(pwd)}
BUILD=${BUILD:-build}
wasm="$top/$BUILD/wasm/files/selftest.wasm"
engine="$top/$BUILD/bin/fastn-wasm"
if [ ! -f "$wasm" ]; then
    echo "skipped: $wasm not built (no wasm32-wasi toolchain: scripts/install-deps.sh all)"
    exit 77
fi
[ -x "$engine" ] || { echo "missing $engine (build it with make)"; exit 1; }
out=$("$engine" --fuel 20000000000 "$wasm")
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAIL: the self-test exited with $rc"; exit 1; }
echo "$out" | grep -q "^all passed$" || { echo "FAIL: no verdict"; exit 1; }
