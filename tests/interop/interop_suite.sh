#!/bin/bash
# The @libp2p/interop suite (npm, pinned) with fastnd in its daemon ("go")
# slot, driven through the libp2p daemon control protocol by
# @libp2p/daemon-client and spawned with p2pd's flags: the TCP connect
# tests (js dials fastnd, fastnd dials js) and the Ed25519/Noise/yamux
# echo tests (each way). Skipped (77) without Node.js >= 20.
set -u
top=${FASTN_TOP:-$(pwd)}
BUILD=${BUILD:-build}
fastnd="$top/$BUILD/bin/fastnd"
[ -x "$fastnd" ] || { echo "missing $fastnd (build it with make)"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
FASTND=$fastnd sh "$top/tests/interop/js/run-interop.sh" --fastnd-only >"$out" 2>&1
rc=$?
cat "$out"
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || exit 1
# exactly these 4 tests, each passed once: not "at least 4" (a suite that
# grew or lost a test, or one ran twice, is a change to look at)
want="connection.tcp: js peer to go peer over tcp
connection.tcp: go peer to js peer over tcp
ed25519/noise/yamux echo: js sender to go listener
ed25519/noise/yamux echo: go sender to js listener"
got=$(awk '/^  [^ ]/ { suite = substr($0, 3) }
    /^    ✔ / { t = $0; sub(/^    ✔ /, "", t); sub(/ \([0-9]+ms\)$/, "", t)
        print suite ": " t }' "$out")
[ "$got" = "$want" ] || {
    printf 'FAIL: expected exactly these passed tests:\n%s\ngot:\n%s\n' "$want" "$got"
    exit 1
}
grep -Eq '^  4 passing \(' "$out" || { echo "FAIL: expected exactly 4 passing tests"; exit 1; }
grep -q "pending\|failing" "$out" && { echo "FAIL: tests pending or failing"; exit 1; }
echo "ok: @libp2p/interop connect and echo tests pass with fastnd"
