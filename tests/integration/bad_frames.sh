#!/bin/bash
# Bad input on the control socket: a malformed, truncated or oversized
# frame gets an error response and that connection closes, while the
# daemon serves everyone else (including a client stuck mid-frame). A
# well-formed request the daemon does not serve is an error response on
# a connection that stays open.
. "$(dirname "$0")/common.bash"

H=$(new_home)
start_fg "$H"
S=$H/fastnd.sock
id=$(fastn --home "$H" --no-autostart id | sed -n 1p)

expect() { # NAME HEX SHUT EXPECTED-FIRST-LINE EXPECTED-LAST-LINE
    local name=$1 hex=$2 shut=$3 first=$4 last=$5 out
    out=$("$PROBE" raw "$S" "$hex" $shut)
    [ "$(head -n 1 <<<"$out" | cut -d' ' -f1-2)" = "$first" ] ||
        fail "$name: expected '$first', got: $out"
    [ "$(tail -n 1 <<<"$out")" = "$last" ] ||
        fail "$name: expected the connection $last, got: $out"
    pass "$name: $(head -n 1 <<<"$out")"
}

# a client stuck in the middle of a frame must not block anyone
"$PROBE" hold "$S" 0a0800 20 >"$TMPROOT/hold.out" &
holder=$!
STARTED_PIDS+=("$holder")
wait_for grep -q holding "$TMPROOT/hold.out" || fail "holder did not start"

expect garbage 05ffffffffff "" "ERROR -5" EOF
expect "bad varint" ffffffffffffffffffff "" "ERROR -5" EOF
expect "empty frame" 00 "" "ERROR -5" EOF
expect oversized 80808001 "" "ERROR -4" EOF
expect "2^63 length" ffffffffffffffff7f "" "ERROR -4" EOF
expect truncated 05080a shut "ERROR -3" EOF
expect "wrong wire type" 020a00 "" "ERROR -5" EOF
# well-formed but unserved: an error, and the connection stays usable
expect "PUBSUB request" 020808 "" "ERROR -12" OPEN
# a DHT request without its part: malformed, and the connection stays
expect "DHT request" 020804 "" "ERROR -5" OPEN
out=$("$PROBE" raw "$S" 020808020800)
[ "$(sed -n 2p <<<"$out")" = "OK identify" ] ||
    fail "IDENTIFY after an unsupported request: $out"
expect "unknown type" 02084d "" "ERROR -12" OPEN
expect "fastn without its part" 020864 "" "ERROR -5" OPEN
# several requests in one write are answered in order
out=$("$PROBE" raw "$S" 020800020805020800)
[ "$(tr '\n' ' ' <<<"$out")" = "OK identify OK OK identify OPEN " ] ||
    fail "pipelined requests: $out"
pass "pipelined requests answered in order"

# everyone else is still served, the stuck client included
[ "$(fastn --home "$H" --no-autostart id | sed -n 1p)" = "$id" ] ||
    fail "the daemon stopped serving"
kill -0 "$DAEMON_PID" || fail "the daemon died"
kill -0 "$holder" || fail "the stuck client was disconnected"
pass "daemon alive and serving after bad frames"

# many clients at once
for i in $(seq 20); do
    "$PROBE" identify "$S" >"$TMPROOT/many.$i" 2>&1 &
done
all_answered() {
    local i
    for i in $(seq 20); do
        [ "$(cat "$TMPROOT/many.$i")" = "$id" ] || return 1
    done
}
wait_for all_answered || fail "not all 20 concurrent clients were answered"
pass "20 concurrent clients answered"
