#!/bin/bash
# Many streams over one connection: 100 streams opened at once
# (STREAM_OPEN, each echoing 256 KiB, checked byte by byte), then 1000
# one-shot calls, 100 in flight on one control connection; afterwards
# each daemon has exactly one connection and made one handshake. Also
# prints the pooled call latency (against the echo handler and the
# built-in perf protocol).
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

A=$(new_home)
B=$(new_home)
start_net "$A"
start_net "$B"
ida=$(peer_id "$A")
fastn --home "$B" connect "$(listen_addr "$A")" >/dev/null || fail "connect"

"$NET_PROBE" echo "$A/fastnd.sock" /echo/1.0.0 >"$TMPROOT/echo.out" &
STARTED_PIDS+=("$!")
wait_for grep -q ready "$TMPROOT/echo.out" || fail "echo handler"

out=$(timeout 120 "$NET_PROBE" streams "$B/fastnd.sock" "$ida" /echo/1.0.0 100 262144) ||
    fail "100 streams: $out"
pass "$out"

out=$(timeout 120 "$NET_PROBE" calls "$B/fastnd.sock" "$ida" /echo/1.0.0 1000 100 1000) ||
    fail "calls: $out"
pass "$out"

for h in "$A" "$B"; do
    [ "$(status_num "$h" connections)" = 1 ] || fail "$h: not one connection"
    [ "$(status_num "$h" peers)" = 1 ] || fail "$h: not one peer"
    [ "$(status_num "$h" handshakes)" = 1 ] || fail "$h: more than one handshake"
done
wait_status "$B" streams 0 || fail "streams left open on B"
wait_status "$A" streams 0 || fail "streams left open on A"
pass "one connection each side, one handshake, no stream left"

out=$("$NET_PROBE" latency "$B/fastnd.sock" "$ida" /perf/1.0.0 2000) || fail "$out"
pass "perf (served by fastnd): $out"
out=$("$NET_PROBE" latency "$B/fastnd.sock" "$ida" /perf/1.0.0 100 cold) || fail "$out"
pass "perf (served by fastnd): $out"
