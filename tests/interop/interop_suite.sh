#!/bin/bash
# The @libp2p/interop suite (npm, pinned) with fastnd in its daemon ("go")
# slot, driven through the libp2p daemon control protocol by
# @libp2p/daemon-client and spawned with p2pd's flags: the TCP connect
# tests (js dials fastnd, fastnd dials js), the Ed25519/Noise/yamux echo
# tests (each way) and the DHT tests (-dhtServer; js with @libp2p/kad-dht):
# peer routing, content routing (provide, find providers) and content
# fetching (a /pk/ record put and got), js to fastnd, fastnd to js and
# fastnd to fastnd (content routing has no go-go test: the suite leaves
# it out). Skipped (77) without Node.js >= 20.
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
# exactly these 12 tests, each passed once: not "at least 12" (a suite
# that grew or lost a test, or one ran twice, is a change to look at)
want="connection.tcp: js peer to go peer over tcp
connection.tcp: go peer to js peer over tcp
ed25519/noise/yamux echo: js sender to go listener
ed25519/noise/yamux echo: go sender to js listener
dht.contentFetching: js peer to go peer
dht.contentFetching: go peer to js peer
dht.contentFetching: go peer to go peer
dht.contentRouting: js peer to go peer
dht.contentRouting: go peer to js peer
dht.peerRouting: js peer to go peer
dht.peerRouting: go peer to js peer
dht.peerRouting: go peer to go peer"
got=$(awk '/^  [^ ]/ { suite = substr($0, 3) }
    /^    ✔ / { t = $0; sub(/^    ✔ /, "", t); sub(/ \([0-9]+ms\)$/, "", t)
        print suite ": " t }' "$out")
[ "$got" = "$want" ] || {
    printf 'FAIL: expected exactly these passed tests:\n%s\ngot:\n%s\n' "$want" "$got"
    exit 1
}
grep -Eq '^  12 passing \(' "$out" || { echo "FAIL: expected exactly 12 passing tests"; exit 1; }
grep -q "pending\|failing" "$out" && { echo "FAIL: tests pending or failing"; exit 1; }
echo "ok: @libp2p/interop connect, echo and DHT tests pass with fastnd"
