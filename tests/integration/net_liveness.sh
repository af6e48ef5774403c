#!/bin/bash
# Connection life: an idle connection (no streams) closes after the
# config's idle-timeout on both sides, and the next call dials again; a
# peer that stops answering (SIGSTOP) is noticed through yamux keepalive
# pings (keepalive, ping-timeout) and its streams end with an error.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

A=$(new_home)
B=$(new_home)
printf 'idle-timeout = 1\n' >>"$A/config"
printf 'idle-timeout = 0\nkeepalive = 1\nping-timeout = 1\n' >>"$B/config"
start_net "$A"
A_PID=$DAEMON_PID
start_net "$B"
ida=$(peer_id "$A")
fastn --home "$B" connect "$(listen_addr "$A")" >/dev/null || fail "connect"
"$FASTN_BIN_CLI" --home "$A" listen /echo/1.0.0 -- cat 2>/dev/null &
STARTED_PIDS+=("$!")
wait_status "$A" handlers 1 || fail "handler"

[ "$(echo one | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0)" = one ] ||
    fail "call"
wait_status "$A" connections 0 || fail "A kept an idle connection"
wait_status "$B" connections 0 || fail "B did not see the idle close"
hs=$(status_num "$B" handshakes)
[ "$(echo two | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0)" = two ] ||
    fail "call after the idle close"
[ "$(status_num "$B" handshakes)" = $((hs + 1)) ] || fail "no new handshake"
pass "idle connection closed after 1 s; the next call dialed again"

# a stream stays open (not idle); then A freezes
mkfifo "$TMPROOT/in"
sleep 60 >"$TMPROOT/in" &
STARTED_PIDS+=("$!")
(if timeout 20 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0 \
    <"$TMPROOT/in" >/dev/null 2>"$TMPROOT/dead.err"; then
    echo 0 >"$TMPROOT/dead.rc"
else
    echo $? >"$TMPROOT/dead.rc"
fi) &
wait_status "$B" streams 1 || fail "no stream"
start=$(date +%s%N)
kill -STOP "$A_PID"
for i in $(seq 200); do
    [ -s "$TMPROOT/dead.rc" ] && break
    sleep 0.05
done
ms=$((($(date +%s%N) - start) / 1000000))
kill -CONT "$A_PID"
[ -s "$TMPROOT/dead.rc" ] || fail "the frozen peer was not noticed"
[ "$(cat "$TMPROOT/dead.rc")" = 1 ] || fail "exit $(cat "$TMPROOT/dead.rc")"
grep -q "stopped answering" "$TMPROOT/dead.err" ||
    fail "unclear error: $(cat "$TMPROOT/dead.err")"
pass "a frozen peer noticed after $ms ms: $(cat "$TMPROOT/dead.err")"
