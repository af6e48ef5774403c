#!/bin/bash
# Bad input from the network: garbage instead of multistream-select, an
# oversized multistream-select message, a corrupted Noise handshake, a
# client that never speaks (handshake timeout), and after a good
# handshake a yamux frame with a bad version, a window violation and data
# for a stream never opened. Each ends that connection with one log line
# (rate-limited: a flood of them does not flood the log) while the daemon
# keeps serving a real peer's stream throughout.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

BAD=$TOP/$BUILD/tests/integration/bad_peer
A=$(new_home)
B=$(new_home)
printf 'handshake-timeout = 1\n' >>"$A/config"
start_net "$A"
start_net "$B"
ida=$(peer_id "$A")
addra=$(listen_addr "$A")
port=$(cut -d/ -f5 <<<"$addra")
fastn --home "$B" connect "$addra" >/dev/null || fail "connect"
"$FASTN_BIN_CLI" --home "$A" listen /echo/1.0.0 -- cat 2>/dev/null &
STARTED_PIDS+=("$!")
wait_status "$A" handlers 1 || fail "handler"
# a long stream from a good peer runs through all of it
mkfifo "$TMPROOT/in"
(while sleep 0.05; do echo tick; done) >"$TMPROOT/in" &
STARTED_PIDS+=("$!")
"$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0 <"$TMPROOT/in" \
    >"$TMPROOT/ticks" 2>&1 &
STARTED_PIDS+=("$!")

lines() { grep -c "net: connection .* ended" "$A/stderr.log" || true; }

for mode in garbage mss-large noise version window stream; do
    before=$(lines)
    out=$("$BAD" "$port" "$ida" "$mode") || fail "$mode: bad_peer could not run"
    [ "$out" = closed ] || fail "$mode: the daemon kept the connection"
    wait_for sh -c "[ \$(grep -c 'net: connection .* ended' '$A/stderr.log') -gt $before ]" ||
        fail "$mode: no log line"
    [ "$(($(lines) - before))" = 1 ] || fail "$mode: $(($(lines) - before)) log lines"
    pass "$mode: closed; $(grep "net: connection .* ended" "$A/stderr.log" | tail -n 1 | sed 's/.*: //')"
done

# a client that never speaks is dropped after the handshake timeout
exec 5<>/dev/tcp/127.0.0.1/"$port"
before=$(lines)
wait_status "$A" pending 1 || fail "silent client not seen"
sleep 1.5
[ "$(status_num "$A" pending)" = 0 ] || fail "silent client kept past the timeout"
exec 5>&-
pass "a silent client is dropped after the handshake timeout"

# a flood: the log stays bounded (10 lines per 5 s, however long the
# flood takes on a busy machine; some lines must have been left out)
before=$(lines)
started=$SECONDS
flood=()
for i in $(seq 30); do
    "$BAD" "$port" "$ida" mss-large >/dev/null &
    flood+=("$!")
done
wait "${flood[@]}"
n=$(($(lines) - before))
[ "$n" -le $((10 * ((SECONDS - started) / 5 + 2))) ] && [ "$n" -lt 30 ] ||
    fail "flood logged $n lines in $((SECONDS - started)) s"
pass "30 bad connections, $n log lines"

# all along, the good stream and new ones were served
[ "$(echo fine | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0)" = fine ] ||
    fail "a new stream was not served"
n=$(grep -c tick "$TMPROOT/ticks")
sleep 0.3
[ "$(grep -c tick "$TMPROOT/ticks")" -gt "$n" ] || fail "the long stream stopped"
[ "$(status_num "$B" connections)" = 1 ] || fail "the good connection was lost"
pass "the good peer's streams were served throughout ($n ticks echoed)"
