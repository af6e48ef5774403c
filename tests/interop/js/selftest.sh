#!/bin/bash
# Self-test of the js-libp2p test tooling (not of fastn): two peer.mjs nodes
# on loopback with keys from genkey.mjs run identify, ping, 16 x 1 MiB echo
# (one stream at a time, then 16 at once) and perf both ways; peerid.mjs
# must agree with the PeerIDs the nodes announce; a dial with the wrong
# PeerID must fail. Records the js<->js perf figures (MB = 10^6 bytes) in
# $RESULTS/js-js-perf.json (default bench/results/ at the top of the repo).
# Usage: tests/interop/js/selftest.sh     PERF_BYTES=512M by default
# Exit 0 all passed, 1 a check failed, 77 no Node.js >= 20.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
sh "$here/install.sh" || exit $?
cd "$here"

PERF_BYTES=${PERF_BYTES:-512M}
RESULTS=${RESULTS:-$top/bench/results}
tmp=$(mktemp -d /tmp/fastn-js-selftest.XXXXXX)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # description, then a command that must succeed
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
eq() { [ "$1" = "$2" ] || { echo "  got '$1', want '$2'" >&2; return 1; }; }
field() { node jsonl.mjs "$@" 2>/dev/null; }

# Keys made by js, PeerIDs as @libp2p/peer-id computes them.
ida=$(node genkey.mjs "$tmp/a.key")
idb=$(node genkey.mjs "$tmp/b.key")
check "genkey writes a 68-byte Ed25519 protobuf key" \
    eq "$(od -An -tx1 -N4 "$tmp/a.key" | tr -d ' ')/$(wc -c <"$tmp/a.key")" "08011240/68"
check "peerid.mjs agrees with genkey.mjs" eq "$(node peerid.mjs "$tmp/a.key")" "$ida"

# Node A serves; it stays up for the whole test.
node peer.mjs --key "$tmp/a.key" --timeout 300 >"$tmp/a.out" 2>"$tmp/a.err" &
pids="$pids $!"
addr=$(field --wait 20 "$tmp/a.out" ready addrs.0)
check "node A is ready and announces its PeerID" eq "$(field "$tmp/a.out" ready peerId)" "$ida"
check "A's address ends in /p2p/A" eq "${addr##*/p2p/}" "$ida"

# Node B dials A and runs every client step.
node peer.mjs --key "$tmp/b.key" --dial "$addr" --identify --ping-peer \
    --echo-client /echo/1.0.0 --count 16 --size 1M \
    --timeout 120 >"$tmp/b.out" 2>"$tmp/b.err"
rc=$?
check "B's client run exits 0" eq "$rc" 0
check "B's connection is Noise + yamux" \
    eq "$(field "$tmp/b.out" connection encryption)/$(field "$tmp/b.out" connection muxer)" "/noise//yamux/1.0.0"
check "B identified A" eq "$(field "$tmp/b.out" identify peerId)" "$ida"
check "A announces /perf/1.0.0 and /ipfs/ping/1.0.0 in identify" \
    eval "field '$tmp/b.out' identify protocols | grep -q '\"/perf/1.0.0\"' &&
          field '$tmp/b.out' identify protocols | grep -q '\"/ipfs/ping/1.0.0\"'"
check "B pinged A 5 times" eq "$(field "$tmp/b.out" ping count)" 5
check "B echoed 16 x 1 MiB, every byte checked" \
    eq "$(field "$tmp/b.out" echo bytes)/$(field "$tmp/b.out" echo verified)" "16777216/true"
check "A identified B" eval "field --all '$tmp/a.out' identify peerId | grep -qx '$idb'"
check "A served 16 echo streams of 1 MiB" \
    eq "$(field --all "$tmp/a.out" echo-served bytes | grep -cx 1048576)" 16

# The same echo with 16 streams at once on one connection.
node peer.mjs --no-listen --dial "$addr" --echo-client /echo/1.0.0 --count 16 --size 1M \
    --parallel 16 --timeout 120 >"$tmp/c.out" 2>"$tmp/c.err"
rc=$?
check "16 concurrent 1 MiB echo streams" \
    eq "$rc/$(field "$tmp/c.out" echo verified)" "0/true"

# The other way round: B listens, a new node dials it.
node peer.mjs --key "$tmp/b.key" --timeout 300 >"$tmp/b2.out" 2>"$tmp/b2.err" &
pids="$pids $!"
baddr=$(field --wait 20 "$tmp/b2.out" ready addrs.0)
node peer.mjs --no-listen --dial "$baddr" --identify --ping-peer --pings 3 \
    --echo-client /echo/1.0.0 --count 16 --size 1M --timeout 120 >"$tmp/d.out" 2>"$tmp/d.err"
rc=$?
check "the other way: identify, ping, echo" \
    eq "$rc/$(field "$tmp/d.out" identify peerId)/$(field "$tmp/d.out" echo verified)" "0/$idb/true"

# The wrong PeerID is refused with a clear error.
node peer.mjs --no-listen --dial "${addr%/p2p/*}/p2p/$idb" --timeout 30 >"$tmp/e.out" 2>"$tmp/e.err"
rc=$?
check "a dial with the wrong PeerID fails (exit 1, error at dial)" \
    eq "$rc/$(field "$tmp/e.out" error step)" "1/dial"

# Perf: upload only, then download only, then both; B is the client.
perf() { # upload download
    node peer.mjs --no-listen --quiet --dial "$addr" --perf-client \
        --upload "$1" --download "$2" --timeout 240 >"$tmp/p.out" 2>"$tmp/p.err" &&
        field "$tmp/p.out" perf
}
up=$(perf "$PERF_BYTES" 0)
check "perf upload of $PERF_BYTES" test -n "$up"
down=$(perf 0 "$PERF_BYTES")
check "perf download of $PERF_BYTES" test -n "$down"
both=$(perf "$PERF_BYTES" "$PERF_BYTES")
check "perf upload and download of $PERF_BYTES" test -n "$both"
check "A served the perf streams" eq "$(field --count "$tmp/a.out" perf-served)" 3
check "no stream errors on A" eq "$(field --count "$tmp/a.out" stream-error)" 0

if [ -n "$up" ] && [ -n "$down" ] && [ -n "$both" ]; then
    mkdir -p "$RESULTS"
    node -e '
const [up, down, both] = process.argv.slice(1).map(JSON.parse)
const os = require("node:os")
const r = {
  what: "js-libp2p <-> js-libp2p, /perf/1.0.0 over one stream, TCP+Noise+yamux on loopback",
  date: new Date().toISOString(), node: process.version, cpus: os.cpus().length,
  loadavg: os.loadavg().map(x => Math.round(x * 100) / 100),
  uploadMBps: up.uploadMBps, downloadMBps: down.downloadMBps,
  bothUploadMBps: both.uploadMBps, bothDownloadMBps: both.downloadMBps,
  bytes: up.upload, runs: { up, down, both }
}
console.log(JSON.stringify(r))' "$up" "$down" "$both" >"$RESULTS/js-js-perf.json"
    node -e '
const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"))
console.log(`js<->js perf (${r.bytes} bytes, MB = 10^6 B): upload ${r.uploadMBps} MB/s, download ${r.downloadMBps} MB/s; ` +
  `both in one stream: up ${r.bothUploadMBps}, down ${r.bothDownloadMBps} MB/s (load average ${r.loadavg[0]})`)' \
        "$RESULTS/js-js-perf.json"
    echo "recorded in $RESULTS/js-js-perf.json"
fi

if [ $fail -gt 0 ]; then
    for f in "$tmp"/*.err; do
        [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -n 5 "$f"; }
    done
fi
echo "selftest: $pass passed, $fail failed"
[ $fail -eq 0 ]
