#!/bin/bash
# Bulk data and failures: 1 GiB through `fastn call` to a handler that
# checksums it (64 MiB under SAN=1, where everything runs ~10x slower),
# compared with the sender's checksum; a client killed in the middle of a
# stream (the daemons serve on, nothing is left open); a stuck client
# (never reading) stalls only its own stream; the remote daemon
# killed under a stream (the client exits with an error, it does not
# hang).
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

SIZE=$((1024 * 1048576))
[ "${SAN:-}" = 1 ] && SIZE=$((64 * 1048576))

A=$(new_home)
B=$(new_home)
start_net "$A"
A_PID=$DAEMON_PID
start_net "$B"
ida=$(peer_id "$A")
fastn --home "$B" connect "$(listen_addr "$A")" >/dev/null || fail "connect"

"$FASTN_BIN_CLI" --home "$A" listen /sum/1.0.0 -- sh -c 'sha256sum | cut -d" " -f1' \
    2>/dev/null &
STARTED_PIDS+=("$!")
wait_status "$A" handlers 1 || fail "handler"
start=$(date +%s%N)
theirs=$(gen_data "$SIZE" | tee >(sha256sum | cut -d' ' -f1 >"$TMPROOT/ours") |
    timeout 300 "$FASTN_BIN_CLI" --home "$B" call "$ida" /sum/1.0.0) ||
    fail "transfer failed"
ms=$((($(date +%s%N) - start) / 1000000))
ours=$(cat "$TMPROOT/ours")
[ "$theirs" = "$ours" ] || fail "checksums differ: sent $ours, received $theirs"
pass "$((SIZE / 1048576)) MiB, sha256 $ours on both ends ($ms ms, $((SIZE / 1000 / (ms + 1))) MB/s with checksums)"

# a client killed in the middle: the daemons go on, the stream is gone
"$FASTN_BIN_CLI" --home "$A" listen /echo/1.0.0 -- cat 2>/dev/null &
STARTED_PIDS+=("$!")
wait_status "$A" handlers 2 || fail "echo handler"
(gen_data $((512 * 1048576)) | "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0 \
    >/dev/null 2>&1) &
CALL=$!
wait_status "$B" streams 1 || fail "no stream"
sleep 0.3
pkill -KILL -P "$CALL" -f "call $ida" || true
kill -KILL "$CALL" 2>/dev/null || true
wait_status "$B" streams 0 || fail "B kept the killed client's stream"
wait_status "$A" streams 0 || fail "A kept the killed client's stream"
[ "$(echo still | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0)" = still ] ||
    fail "no service after the client was killed"
[ "$(status_num "$B" connections)" = 1 ] || fail "connection lost"
pass "a client killed mid-stream: its stream ended on both sides, others served"

# a stuck client (it writes 64 MiB and never reads the echo) holds only its
# own stream: the windows of that stream fill, and every other stream on
# the same connection, a ping and a bulk transfer go on
(gen_data $((64 * 1048576)) | "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0 \
    2>/dev/null | sleep 120) &
STUCK=$!
wait_status "$B" streams 1 || fail "no stream for the stuck client"
sleep 1
[ "$(echo alive | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0)" = alive ] ||
    fail "an echo beside a stuck client was not served"
timeout 10 "$FASTN_BIN_CLI" --home "$B" ping "$ida" -c 2 >/dev/null ||
    fail "ping beside a stuck client"
ours=$(gen_data $((8 * 1048576)) | sha256sum | cut -d' ' -f1)
theirs=$(gen_data $((8 * 1048576)) | timeout 60 "$FASTN_BIN_CLI" --home "$B" call "$ida" \
    /sum/1.0.0) || fail "a transfer beside a stuck client failed"
[ "$theirs" = "$ours" ] || fail "a transfer beside a stuck client: checksums differ"
[ "$(status_num "$B" streams)" -ge 1 ] || fail "the stuck client's stream ended by itself"
[ "$(status_num "$B" connections)" = 1 ] || fail "not one connection"
pkill -KILL -P "$STUCK" -f "call $ida" || true
pkill -KILL -P "$STUCK" sleep || true
kill -KILL "$STUCK" 2>/dev/null || true
wait_status "$B" streams 0 || fail "B kept the stuck client's stream"
wait_status "$A" streams 0 || fail "A kept the stuck client's stream"
pass "a stuck client stalls only its own stream: echo, ping and 8 MiB beside it on one connection"

# the remote daemon killed under a stream: an error, not a hang
# (stdin stays open: the client waits on the stream, not on its input)
mkfifo "$TMPROOT/in"
sleep 60 >"$TMPROOT/in" &
STARTED_PIDS+=("$!")
(if timeout 20 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0 \
    <"$TMPROOT/in" >/dev/null 2>"$TMPROOT/killed.err"; then
    echo 0 >"$TMPROOT/killed.rc"
else
    echo $? >"$TMPROOT/killed.rc"
fi) &
CALL=$!
wait_status "$B" streams 1 || fail "no stream"
kill -KILL "$A_PID"
for i in $(seq 100); do
    [ -s "$TMPROOT/killed.rc" ] && break
    sleep 0.05
done
[ -s "$TMPROOT/killed.rc" ] || fail "the client hangs after the remote daemon died"
[ "$(cat "$TMPROOT/killed.rc")" = 1 ] ||
    fail "exit $(cat "$TMPROOT/killed.rc"): $(cat "$TMPROOT/killed.err")"
grep -q "the stream ended early" "$TMPROOT/killed.err" ||
    fail "unclear error: $(cat "$TMPROOT/killed.err")"
wait_status "$B" connections 0 || fail "dead connection kept"
pass "remote daemon killed: $(cat "$TMPROOT/killed.err")"
