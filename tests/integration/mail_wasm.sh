#!/bin/bash
# plugins/mail/lib built for wasm32-wasi (the mail plugin's target, with
# -Werror and the plugin's 64 KiB stack) runs on fastn-wasm and computes
# what it computes natively: tests/mail/wasm_selftest.c (an address, an
# SMTP session, IMAP commands, a BODYSTRUCTURE). Skipped (77) without the
# wasm32-wasi toolchain.
set -u
top=${FASTN_TOP:-$(pwd)}
BUILD=${BUILD:-build}
wasm="$top/$BUILD/wasm/mail/selftest.wasm"
engine="$top/$BUILD/bin/fastn-wasm"
if [ ! -f "$wasm" ]; then
    echo "skipped: $wasm not built (no wasm32-wasi toolchain: scripts/install-deps.sh all)"
    exit 77
fi
[ -x "$engine" ] || { echo "missing $engine (build it with make)"; exit 1; }
out=$("$engine" --fuel 2000000000 "$wasm")
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAIL: the self-test exited with $rc"; exit 1; }
echo "$out" | grep -q "^all passed$" || { echo "FAIL: no verdict"; exit 1; }
