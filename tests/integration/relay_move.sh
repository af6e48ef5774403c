#!/bin/bash
# A relay that vanishes, on loopback: relays R1..R4 (relay-service = on)
# and a DHT server S; B listens nowhere, has relays = R1, R2, R3, R4 and
# holds two reservations (R1, R2); A finds B by PeerID (S answers a
# FIND_NODE for B, a DHT client connected to it, with B's circuit
# addresses) and reaches it through a relay. Then:
#  - R1 is killed (its connections close): B's reservation moves to R3
#    within seconds, `fastn netcheck` shows the circuits through R2 and
#    R3 and not R1, and A reaches B by PeerID again (through R2 or R3).
#  - R2 stops answering (SIGSTOP: its connections stay open, silent): B
#    notices through its keepalive pings (keepalive 1 s, ping timeout
#    2 s), its reservation moves to R4, and A, whose known addresses of B
#    now all fail (R1 refuses, R2 is silent), looks B up in the DHT again
#    and reaches it through R3 or R4.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/dht.bash"

S=$(dht_home none)
start_net "$S"
addrs=$(listen_addr "$S")
for i in 1 2 3 4; do
    RH[i]=$(new_home)
    printf 'private-addresses = yes\nrelay-service = on\n' >>"${RH[i]}/config"
    start_net "${RH[i]}"
    RPID[i]=$DAEMON_PID
    RID[i]=$(peer_id "${RH[i]}")
    RADDR[i]=$(listen_addr "${RH[i]}")
done
B=$(new_home)
printf 'private-addresses = yes\nrelays = %s, %s, %s, %s\nbootstrap = %s\n' \
    "${RADDR[1]}" "${RADDR[2]}" "${RADDR[3]}" "${RADDR[4]}" "$addrs" >>"$B/config"
printf 'keepalive = 1\nping-timeout = 2\n' >>"$B/config"
start_fg "$B" -noListenAddrs
idb=$(peer_id "$B")
A=$(new_home)
printf 'private-addresses = yes\nbootstrap = %s\n' "$addrs" >>"$A/config"
start_net "$A"
"$FASTN_BIN_CLI" --home "$B" listen /echo/1.0.0 -- cat 2>/dev/null &
STARTED_PIDS+=("$!")
wait_status "$B" handlers 1 || fail "handler not registered"

circuits() { # HOME: the relays of its circuit addresses, sorted
    fastn --home "$1" --no-autostart netcheck |
        sed -n 's|^circuit  *.*/p2p/\([^/]*\)/p2p-circuit/p2p/.*|\1|p' | sort | tr '\n' ' '
}
circuits_are() { [ "$(circuits "$1")" = "$2" ]; } # HOME RELAYS
want() { # RELAY NUMBERS: their PeerIDs as circuits prints them
    local i
    for i in "$@"; do echo "${RID[i]}"; done | sort | tr '\n' ' '
}
reached() { # a new connection from A to B by PeerID, relayed; an echo
    fastn --home "$A" disconnect "$idb" >/dev/null 2>&1 || true
    fastn --home "$A" connect "$idb" | grep -qx "connected to $idb" || return 1
    fastn --home "$A" peers | grep -q "^$idb .*/p2p-circuit.* relayed$" || return 1
    [ "$(echo "$1" | timeout 10 "$FASTN_BIN_CLI" --home "$A" call "$idb" /echo/1.0.0)" = "$1" ]
}
relay_of() { # the relay A's connection to B goes through
    fastn --home "$A" peers | sed -n "s|^$idb .*/p2p/\([^/]*\)/p2p-circuit.*|\1|p"
}

wait_until 20 sh -c "'$FASTN_BIN_CLI' --home '$B' --no-autostart netcheck | grep -q '^relays  *2 reservations held of 4 relays configured$'" ||
    fail "B's reservations: $(fastn --home "$B" netcheck)"
[ "$(circuits "$B")" = "$(want 1 2)" ] || fail "B's circuits: $(fastn --home "$B" netcheck)"
wait_until 10 sh -c "'$FASTN_BIN_CLI' --home '$S' --no-autostart peers | grep -q '^$idb '" ||
    fail "B is not connected to S"
reached one || fail "A did not reach B by PeerID: $(fastn --home "$A" peers) $(grep -i "kad\|dial" "$A/stderr.log" | tail -5)"
pass "B holds reservations on R1 and R2; A reaches it by PeerID through $(relay_of)"

# --- a relay killed: its connections close ----------------------------------
kill -KILL "${RPID[1]}"
t0=$(date +%s%N)
wait_until 10 circuits_are "$B" "$(want 2 3)" ||
    fail "B's reservation did not move to R3: $(fastn --home "$B" netcheck)"
ms=$((($(date +%s%N) - t0) / 1000000))
fastn --home "$B" netcheck | grep -q '^relays  *2 reservations held of 4 relays configured$' ||
    fail "B's netcheck: $(fastn --home "$B" netcheck)"
reached two || fail "A did not reach B again: $(fastn --home "$A" peers)"
pass "R1 killed: B's reservation moved to R3 in $ms ms; A reaches B through $(relay_of)"

# --- a relay that goes silent: only keepalive notices -----------------------
kill -STOP "${RPID[2]}"
t0=$(date +%s%N)
wait_until 20 circuits_are "$B" "$(want 3 4)" ||
    fail "B's reservation did not move to R4: $(fastn --home "$B" netcheck)"
ms=$((($(date +%s%N) - t0) / 1000000))
# A forgets nothing: its address book still has B through R1 and R2
reached three || fail "A did not reach B after R2 went silent: $(fastn --home "$A" peers) $(tail -5 "$A/stderr.log")"
r=$(relay_of)
[ "$r" = "${RID[3]}" ] || [ "$r" = "${RID[4]}" ] || fail "through $r"
kill -CONT "${RPID[2]}"
pass "R2 silent: B's reservation moved to R4 in $ms ms; A reaches B through $r"
