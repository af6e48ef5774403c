#!/bin/bash
# The known-answer vectors in tests/unit/js_vectors.h are what the pinned
# js-libp2p packages produce today: tests/interop/js/vectors.mjs makes
# them again (kad-dht, circuit-relay-v2 with a signed voucher, dcutr,
# autonat, mdns) and the bytes must match. The unit tests (test_kad,
# test_relay, test_dcutr, test_autonat, test_mdns) decode them, and check
# that fastn's own encodings of the same messages are byte for byte js's.
set -u
TOP=${FASTN_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
JS=$TOP/tests/interop/js
sh "$JS/install.sh" || exit $?
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 60 node "$JS/vectors.mjs" >"$out" || {
    echo "FAIL: vectors.mjs failed"
    exit 1
}
if ! cmp -s "$out" "$TOP/tests/unit/js_vectors.h"; then
    diff -u "$TOP/tests/unit/js_vectors.h" "$out" | head -40
    echo "FAIL: tests/unit/js_vectors.h is not what js-libp2p produces;" \
        "regenerate it: node tests/interop/js/vectors.mjs > tests/unit/js_vectors.h"
    exit 1
fi
echo "ok: $(grep -c 'static const' "$out") js-libp2p vectors match"
