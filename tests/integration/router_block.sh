#!/bin/bash
# The router's block list on real daemons: B lists A in HOME/blocked-peers,
# so A's streams are refused ("does not support the protocol": B does not
# even say what it serves) while C is served, by a client handler and by
# the echo plugin; B logs why. SIGHUP reads the list again: A unblocked
# is served; a list that does not parse is logged and the one in force
# kept; a fastnd whose list does not parse does not start, and says which
# line to fix.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"

A=$(new_home)
B=$(new_home)
C=$(new_home)
start_at "$A" 0
start_at "$C" 0
ida=$(peer_id "$A")
idc=$(peer_id "$C")
printf '# blocked by the test\n%s\n' "$ida" >"$B/blocked-peers"
start_at "$B" 0
B_PID=$DAEMON_PID
idb=$(peer_id "$B")
grep -q "1 peer(s) blocked" "$B/stderr.log" ||
    fail "B did not say it blocks A: $(tail -3 "$B/stderr.log")"
for h in "$A" "$C"; do
    fastn --home "$h" --no-autostart connect "$(listen_addr "$B")" >/dev/null
done

"$FASTN_BIN_CLI" --home "$B" --no-autostart listen /test/echo/1.0.0 -- cat \
    2>/dev/null &
STARTED_PIDS+=("$!")
wait_status "$B" handlers 1 || fail "handler not registered on B"
call() { # HOME PROTOCOL TEXT
    echo "$3" | timeout 10 "$FASTN_BIN_CLI" --home "$1" --no-autostart \
        call "$idb" "$2" 2>&1
}

[ "$(call "$C" /test/echo/1.0.0 from-c)" = from-c ] ||
    fail "C not served: $(call "$C" /test/echo/1.0.0 from-c)"
if out=$(call "$A" /test/echo/1.0.0 from-a); then
    fail "blocked A was served: $out"
fi
grep -q "does not support the protocol" <<<"$out" || fail "A was told: $out"
wait_until 5 grep -q "stream from $ida for /test/echo/1.0.0 refused: the peer is blocked" \
    "$B/stderr.log" || fail "no log line on B: $(tail -3 "$B/stderr.log")"
[ "$(call "$C" /test/echo/1.0.0 again)" = again ] || fail "C after A's try"
pass "client handler: blocked A refused ($out), C served"

if [ -f "$ECHO" ]; then
    fastn --home "$B" --no-autostart plugin install "$ECHO" >/dev/null
    [ "$(call "$C" /fastn/echo/1.0.0 plug-c)" = plug-c ] ||
        fail "C not served by echo: $(call "$C" /fastn/echo/1.0.0 plug-c)"
    if out=$(call "$A" /fastn/echo/1.0.0 plug-a); then
        fail "blocked A was served by echo: $out"
    fi
    pass "echo plugin (serves anyone): blocked A refused, C served"
else
    echo "echo plugin not built (no wasm32-wasi toolchain): client handler only"
fi

# unblocked by editing the file and SIGHUP
printf '# nobody\n' >"$B/blocked-peers"
sighup "$B_PID" "$B/stderr.log"
wait_until 5 grep -q "SIGHUP: 0 peer(s) blocked" "$B/stderr.log" ||
    fail "B did not read the list again: $(tail -3 "$B/stderr.log")"
[ "$(call "$A" /test/echo/1.0.0 now-a)" = now-a ] ||
    fail "A not served once unblocked: $(call "$A" /test/echo/1.0.0 now-a)"
pass "SIGHUP: A unblocked and served"

# blocked again, then a list that does not parse: the one in force stays
printf '%s\n' "$ida" >"$B/blocked-peers"
sighup "$B_PID" "$B/stderr.log"
wait_until 5 grep -q "SIGHUP: 1 peer(s) blocked" "$B/stderr.log" ||
    fail "not blocked again"
printf '%s\nnot-a-peer-id\n' "$idc" >"$B/blocked-peers"
sighup "$B_PID" "$B/stderr.log"
wait_until 5 grep -q "cannot read the block list $B/blocked-peers: line 2 is not a PeerID; the list in force stays" \
    "$B/stderr.log" || fail "bad list not reported: $(tail -3 "$B/stderr.log")"
if out=$(call "$A" /test/echo/1.0.0 still); then
    fail "A served after a bad list: $out"
fi
[ "$(call "$C" /test/echo/1.0.0 still-c)" = still-c ] ||
    fail "C refused after a bad list"
pass "SIGHUP with a bad list: logged, the list in force kept"

# a fastnd whose list does not parse does not start
D=$(new_home)
printf '# ok\n\n%s\n12D3KooW-not-one\n' "$idc" >"$D/blocked-peers"
if out=$(timeout 20 "$FASTND_BIN" --home "$D" --foreground 2>&1 </dev/null); then
    fail "fastnd started with a bad block list"
fi
grep -q "blocked-peers: line 4 is not a PeerID; fix or remove that line" \
    <<<"$out" || fail "start refused with: $out"
pass "a bad list at start: fastnd says which line ($(tail -n 1 <<<"$out"))"
