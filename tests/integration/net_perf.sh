#!/bin/bash
# fastn perf between two daemons on loopback: both directions, one way
# only, nothing at all; the figures add up (--json); progress once a
# second on stderr; a perf killed mid-run leaves no stream behind; clear
# errors for bad sizes, a missing PEER and an unreachable peer.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

BIG=2G
[ "${SAN:-}" = 1 ] && BIG=256M

A=$(new_home)
B=$(new_home)
start_net "$A"
start_net "$B"
addr_b=$(listen_addr "$B")
idb=$(peer_id "$B")

# json_num JSON FIELD
json_num() {
    echo "$1" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p"
}

out=$(fastn --home "$A" perf "$addr_b" --upload 64M --download 32M --json -q) ||
    fail "perf failed: $out"
[ "$(json_num "$out" upload_bytes)" = 67108864 ] || fail "upload bytes: $out"
[ "$(json_num "$out" download_bytes)" = 33554432 ] || fail "download bytes: $out"
for f in upload_s download_s upload_MBps download_MBps total_s; do
    awk -v v="$(json_num "$out" $f)" 'BEGIN { exit !(v > 0) }' || fail "$f not > 0: $out"
done
echo "$out" | grep -q "\"peer_id\":\"$idb\"" || fail "peer: $out"
pass "64 MiB up, 32 MiB down: $(json_num "$out" upload_MBps) / $(json_num "$out" download_MBps) MB/s"

out=$(fastn --home "$A" perf "$idb" --upload 1M -q) || fail "upload only: $out"
echo "$out" | grep -Eq "^upload +1048576 bytes in +[0-9.]+ s: +[0-9.]+ MB/s$" ||
    fail "upload only said: $out"
echo "$out" | grep -Eq "^download +0 bytes" || fail "upload only said: $out"
out=$(fastn --home "$A" perf "$idb" --download 3K --json -q) || fail "download only"
[ "$(json_num "$out" download_bytes)" = 3072 ] || fail "download only: $out"
out=$(fastn --home "$A" perf "$idb" --json -q) || fail "nothing either way"
[ "$(json_num "$out" upload_bytes)" = 0 ] || fail "nothing: $out"
pass "one way only, and nothing at all"

fastn --home "$A" perf "$idb" --upload "$BIG" --download "$BIG" -q \
    >"$TMPROOT/big.out" 2>"$TMPROOT/big.err" || fail "big run: $(cat "$TMPROOT/big.err")"
pass "$BIG each way: $(tr '\n' ' ' <"$TMPROOT/big.out")"

# a long run: progress once a second; killed mid-run, the daemon cancels
# the run and B's server stream goes too
"$FASTN_BIN_CLI" --home "$A" perf "$idb" --upload 1T >/dev/null 2>"$TMPROOT/long.err" &
PERF=$!
STARTED_PIDS+=("$PERF")
wait_status "$A" streams 1 || fail "no perf stream"
progress='^fastn perf: [0-9.]+ s: sent .*, received 0 B \([0-9]+ MB/s\)$'
wait_for grep -Eq "$progress" "$TMPROOT/long.err" ||
    fail "no progress line: $(cat "$TMPROOT/long.err")"
pass "progress: $(grep -E "$progress" "$TMPROOT/long.err" | head -1)"
kill -KILL "$PERF"
wait_status "$A" streams 0 || fail "A kept the perf stream"
wait_status "$B" streams 0 || fail "B kept the perf stream"
out=$(fastn --home "$A" perf "$idb" --upload 1M --json -q) || fail "perf after a kill"
pass "a perf killed mid-run: its stream ended on both daemons"

rc=0
fastn --home "$A" perf "$idb" --upload 12Q 2>"$TMPROOT/e1" || rc=$?
[ $rc = 2 ] && grep -q "BYTES is a number" "$TMPROOT/e1" || fail "bad size: $rc $(cat "$TMPROOT/e1")"
rc=0
fastn --home "$A" perf --upload 1M 2>"$TMPROOT/e2" || rc=$?
[ $rc = 2 ] && grep -q "want a PEER" "$TMPROOT/e2" || fail "no peer: $rc"
# a peer nobody knows an address of
rc=0
fastn --home "$A" perf 12D3KooWDiujcij5r7T3YTmKCdZRkAct8UcQicZCBUnKjd7Nnbvd \
    --upload 1M 2>"$TMPROOT/e3" || rc=$?
[ $rc = 1 ] && grep -q "no known address for this peer" "$TMPROOT/e3" ||
    fail "unknown peer: $rc $(cat "$TMPROOT/e3")"
pass "bad size, no PEER, unreachable peer: $(cat "$TMPROOT/e3")"

# the remote daemon killed mid-run: an error naming the peer, no hang
C=$(new_home)
start_net "$C"
C_PID=$DAEMON_PID
idc=$(peer_id "$C")
fastn --home "$A" connect "$(listen_addr "$C")" >/dev/null || fail "connect C"
(r=0
    "$FASTN_BIN_CLI" --home "$A" perf "$idc" --upload 1T -q 2>"$TMPROOT/e4" || r=$?
    echo $r >"$TMPROOT/e4.rc") &
wait_status "$C" streams 1 || fail "no perf stream to C"
kill -KILL "$C_PID"
wait_for test -s "$TMPROOT/e4.rc" || fail "perf hung after C was killed: $(cat "$TMPROOT/e4"; tail -5 "$A/stderr.log")"
[ "$(cat "$TMPROOT/e4.rc")" = 1 ] && grep -q "perf with $idc failed: " "$TMPROOT/e4" ||
    fail "perf after C died: $(cat "$TMPROOT/e4.rc") $(cat "$TMPROOT/e4")"
pass "the remote daemon killed mid-run: $(cat "$TMPROOT/e4")"
