#!/bin/bash
# Circuit relay v2 on loopback: R serves relaying (relay-service = on); B
# listens nowhere and holds a reservation on R (relays = R), so `fastn id`
# lists its /p2p/R/p2p-circuit address; A dials it: the connection is
# relayed (`fastn peers`, `fastn ping` per line), an echo goes through,
# a transfer past the circuit's 128 KiB is cut and R goes on relaying; a
# daemon without relay-service is no relay; garbage on the hop protocol
# gets MALFORMED_MESSAGE; when R goes, B's circuit address goes too.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

R=$(new_home)
printf 'private-addresses = yes\nrelay-service = on\n' >>"$R/config"
start_net "$R"
R_PID=$DAEMON_PID
idr=$(peer_id "$R")
addrr=$(listen_addr "$R")

B=$(new_home)
printf 'private-addresses = yes\nrelays = %s\n' "$addrr" >>"$B/config"
start_fg "$B" -noListenAddrs
idb=$(peer_id "$B")
A=$(new_home)
start_net "$A"

circuit=""
for i in $(seq 100); do
    circuit=$(fastn --home "$B" --no-autostart id | grep p2p-circuit || true)
    [ -n "$circuit" ] && break
    sleep 0.05
done
[ "$circuit" = "${addrr}/p2p-circuit/p2p/$idb" ] ||
    fail "B's circuit address: '$circuit' ($(fastn --home "$B" id))"
grep -q "relay $idr: reservation held" "$B/stderr.log" || fail "B's log"
fastn --home "$B" status | grep -q "^relays  *1 reservation held of 1 relay$" ||
    fail "B's status: $(fastn --home "$B" status)"
pass "B reserved on R: $circuit"

fastn --home "$A" connect "$circuit" | grep -qx "connected to $idb" ||
    fail "connect through R"
fastn --home "$A" peers | grep -q "^$idb .*/p2p-circuit/.* relayed$" ||
    fail "A's peers: $(fastn --home "$A" peers)"
fastn --home "$A" peers | grep -q "^$idr .* direct$" || fail "R not direct"
out=$(fastn --home "$A" ping "$idb" -c 2 -i 0.05)
[ "$(grep -c "seq=[0-9] rtt=.* relayed$" <<<"$out")" = 2 ] || fail "ping: $out"
fastn --home "$R" status --json | grep -q '"relay_service":true,"relay_served":1,"relay_circuits":1' ||
    fail "R's status: $(fastn --home "$R" status --json)"
pass "A reached B through R: peers and ping say relayed"

"$FASTN_BIN_CLI" --home "$B" listen /echo/1.0.0 -- cat 2>/dev/null &
STARTED_PIDS+=("$!")
wait_status "$B" handlers 1 || fail "handler not registered"
[ "$(echo hello | timeout 10 "$FASTN_BIN_CLI" --home "$A" call "$idb" /echo/1.0.0)" = hello ] ||
    fail "echo through the relay"
pass "echo through the relay"

# a bulk protocol (perf) waits for a direct connection
if fastn --home "$A" perf "$idb" >/dev/null 2>"$TMPROOT/perf.err"; then
    fail "perf ran over a relayed connection"
fi
grep -q "needs a direct one" "$TMPROOT/perf.err" ||
    fail "unclear perf error: $(cat "$TMPROOT/perf.err")"
pass "perf over the relay: $(cat "$TMPROOT/perf.err")"

# the circuit's data limit (128 KiB each way): a 1 MiB echo is cut
got=$(head -c 1048576 /dev/zero | timeout 20 "$FASTN_BIN_CLI" --home "$A" call \
    "$idb" /echo/1.0.0 2>"$TMPROOT/cut.err" | wc -c) || true
[ "$got" -lt 1048576 ] || fail "1 MiB went through a 128 KiB circuit"
wait_for grep -q "relay: circuit for $idb ended" "$R/stderr.log" ||
    fail "R's log: $(tail -5 "$R/stderr.log")"
pass "1 MiB through the relay: cut after $got bytes (limit 128 KiB)"
# R relays again: a new circuit
fastn --home "$A" disconnect "$idb" >/dev/null || true
fastn --home "$A" connect "$circuit" >/dev/null || fail "reconnect through R"
[ "$(echo again | timeout 10 "$FASTN_BIN_CLI" --home "$A" call "$idb" /echo/1.0.0)" = again ] ||
    fail "echo after the cut"
pass "a new circuit after the cut"

# garbage on the hop protocol: MALFORMED_MESSAGE (400: 0x90 0x03)
out=$(printf '\x05hello' | timeout 10 "$FASTN_BIN_CLI" --home "$A" call "$idr" \
    /libp2p/circuit/relay/0.2.0/hop | od -An -tx1 | tr -d ' \n')
grep -q "9003" <<<"$out" || fail "garbage hop: $out"
fastn --home "$A" ping "$idr" -c 1 >/dev/null || fail "R stopped serving"
pass "garbage on hop: MALFORMED_MESSAGE, R still serves"

# a daemon without relay-service is no relay
if fastn --home "$A" connect "$(listen_addr "$A" | sed "s|/p2p/.*||")/p2p/$(peer_id "$A")/p2p-circuit/p2p/$idb" \
    >/dev/null 2>"$TMPROOT/self.err"; then
    fail "a relay through ourselves"
fi
D=$(new_home)
start_net "$D"
addrd=$(listen_addr "$D")
if fastn --home "$A" connect "$addrd/p2p-circuit/p2p/$idb" >/dev/null 2>"$TMPROOT/norelay.err"; then
    fail "D relayed without relay-service"
fi
grep -q "the relay refused" "$TMPROOT/norelay.err" ||
    fail "unclear error: $(cat "$TMPROOT/norelay.err")"
pass "no relay-service: $(cat "$TMPROOT/norelay.err")"

# the relay goes: B's reservation and circuit address go too
kill -TERM "$R_PID"
wait_gone "$R_PID" || fail "R did not stop"
for i in $(seq 100); do
    fastn --home "$B" --no-autostart id | grep -q p2p-circuit || break
    sleep 0.05
done
! fastn --home "$B" --no-autostart id | grep -q p2p-circuit ||
    fail "B still advertises a circuit through a gone relay"
pass "R gone: B no longer advertises its circuit address"
