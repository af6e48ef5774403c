#!/bin/bash
# Noise on every core (src/net/noise_pool.c), with more crypto threads
# than the machine has cores so that batches are split among them: 8
# streams at once each way on one connection arrive whole and in order
# (sha256 on both ends); a connection closed by `fastn disconnect` and a
# peer daemon killed in the middle of 4 bulk streams leave the daemon
# serving (status, and a fresh transfer checked end to end), and its
# worker threads stop with it (a clean exit on TERM).
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

SIZE=$((32 * 1048576))
[ "${SAN:-}" = 1 ] && SIZE=$((8 * 1048576))
export FASTN_CRYPTO_THREADS=3

A=$(new_home)
B=$(new_home)
start_net "$A"
A_PID=$DAEMON_PID
start_net "$B"
B_PID=$DAEMON_PID
ida=$(peer_id "$A")
idb=$(peer_id "$B")
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$A_PID/status")
[ "$threads" -ge 4 ] || fail "fastnd runs $threads threads, want the loop and 3 crypto threads"
fastn --home "$B" connect "$(listen_addr "$A")" >/dev/null || fail "connect"

"$FASTN_BIN_CLI" --home "$A" listen /sum/1.0.0 -- sh -c 'sha256sum | cut -d" " -f1' \
    2>/dev/null &
STARTED_PIDS+=("$!")
"$FASTN_BIN_CLI" --home "$A" listen /echo/1.0.0 -- cat 2>/dev/null &
STARTED_PIDS+=("$!")
wait_status "$A" handlers 2 || fail "handlers"
want=$(gen_data "$SIZE" | sha256sum | cut -d' ' -f1)

# 8 streams to A's checksum and 8 through A's echo, all at once: B seals
# and A opens the first, both do both for the others
pids=()
for i in $(seq 8); do
    (gen_data "$SIZE" | timeout 300 "$FASTN_BIN_CLI" --home "$B" call "$ida" /sum/1.0.0 \
        >"$TMPROOT/sum.$i" 2>&1) &
    pids+=("$!")
    (gen_data "$SIZE" | timeout 300 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0 |
        sha256sum | cut -d' ' -f1 >"$TMPROOT/echo.$i") &
    pids+=("$!")
done
for p in "${pids[@]}"; do wait "$p" || fail "a stream failed: $(cat "$TMPROOT"/sum.* | head -3)"; done
for i in $(seq 8); do
    [ "$(cat "$TMPROOT/sum.$i")" = "$want" ] || fail "stream $i to sum: $(cat "$TMPROOT/sum.$i"), want $want"
    [ "$(cat "$TMPROOT/echo.$i")" = "$want" ] || fail "stream $i through echo: $(cat "$TMPROOT/echo.$i"), want $want"
done
pass "16 streams of $((SIZE / 1048576)) MiB at once, 8 each way and back: every sha256 $want"

# bulk streams on a connection closed under them: A goes on
for i in 1 2 3 4; do
    "$FASTN_BIN_CLI" --home "$B" perf "$ida" --upload 1T --download 1T -q \
        >/dev/null 2>&1 &
    STARTED_PIDS+=("$!")
done
wait_status "$B" streams 4 || fail "no perf streams"
sleep 0.5
fastn --home "$B" disconnect "$ida" >/dev/null 2>&1 || fail "disconnect"
wait_status "$A" streams 0 || fail "A kept streams of the closed connection"
[ "$(echo alive | timeout 20 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0)" = alive ] ||
    fail "no echo after the connection was closed under bulk streams"
pass "a connection closed under 4 bulk streams: A serves on"

# the peer daemon killed under 4 bulk streams
for i in 1 2 3 4; do
    "$FASTN_BIN_CLI" --home "$B" perf "$ida" --upload 1T --download 1T -q \
        >/dev/null 2>&1 &
    STARTED_PIDS+=("$!")
done
wait_status "$A" streams 4 || fail "no perf streams at A"
sleep 0.5
kill -KILL "$B_PID"
wait_status "$A" streams 0 || fail "A kept the dead peer's streams"
C=$(new_home)
start_net "$C"
theirs=$(gen_data "$SIZE" | timeout 120 "$FASTN_BIN_CLI" --home "$C" call \
    "$(listen_addr "$A")" /sum/1.0.0) || fail "transfer after the kill"
[ "$theirs" = "$want" ] || fail "after the kill: $theirs, want $want"
fastn --home "$A" status >/dev/null || fail "status"
pass "the peer killed under 4 bulk streams: A serves on, $((SIZE / 1048576)) MiB checked after"

kill -TERM "$A_PID"
for i in $(seq 100); do
    kill -0 "$A_PID" 2>/dev/null || break
    sleep 0.05
done
kill -0 "$A_PID" 2>/dev/null && fail "fastnd did not stop on TERM (crypto threads?)"
rc=0
wait "$A_PID" || rc=$?
[ "$rc" = 0 ] || fail "fastnd exited $rc on TERM: $(tail -3 "$A/stderr.log")"
pass "TERM: fastnd stops its crypto threads and exits 0"
