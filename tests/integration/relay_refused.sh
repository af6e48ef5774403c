#!/bin/bash
# A relay that refuses reservations is asked again with a backoff, not
# every few seconds: R serves relaying but holds no reservation
# (relay-service-reservations = 0), R2 serves as usual; B has relays = R,
# R2 and the first waits shortened (FASTN_RELAY_RETRY_MS=200,500: 0.5 s
# after a refusal, doubling, less up to a quarter of jitter). B holds a
# reservation on R2 at once (the refusing R blocks no one), and in 8 s R
# is asked at most 5 times (0, 0.5, 1.5, 3.5, 7.5 s at the latest; 16
# times with a fixed 0.5 s), each refusal logged once with the time to
# the next request, doubling. Then R restarts on the same address taking
# reservations: B reserves on it when its wait ends.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

R=$(new_home)
printf 'private-addresses = yes\nrelay-service = on\nrelay-service-reservations = 0\nlog-level = debug\n' >>"$R/config"
start_net "$R"
R_PID=$DAEMON_PID
idr=$(peer_id "$R")
addrr=$(listen_addr "$R")
R2=$(new_home)
printf 'private-addresses = yes\nrelay-service = on\n' >>"$R2/config"
start_net "$R2"
idr2=$(peer_id "$R2")
addrr2=$(listen_addr "$R2")

B=$(new_home)
printf 'private-addresses = yes\nrelays = %s, %s\n' "$addrr" "$addrr2" >>"$B/config"
FASTN_RELAY_RETRY_MS=200,500 start_fg "$B"
t0=$(date +%s%N)
idb=$(peer_id "$B")

wait_for grep -q "relay $idr2: reservation held" "$B/stderr.log" ||
    fail "no reservation on R2: $(grep relay "$B/stderr.log")"
wait_for grep -q "relay $idr refused a reservation: RESERVATION_REFUSED" \
    "$B/stderr.log" || fail "R's refusal not logged: $(grep relay "$B/stderr.log")"
pass "B reserved on R2 while R refused"

sleep $(((8000000000 - ($(date +%s%N) - t0)) / 1000000000)).5
asked=$(grep -c "relay: refused a reservation to $idb" "$R/stderr.log" || true)
logged=$(grep -c "relay $idr refused a reservation" "$B/stderr.log" || true)
[ "$asked" -ge 3 ] && [ "$asked" -le 5 ] ||
    fail "R asked $asked times in 8 s (want 3..5): $(grep "relay $idr" "$B/stderr.log")"
[ "$logged" -ge $((asked - 1)) ] && [ "$logged" -le "$asked" ] ||
    fail "B logged $logged refusals for $asked requests"
# each wait (ms) about twice the last, less the jitter
waits=$(sed -n "s/.*relay $idr refused a reservation: RESERVATION_REFUSED; asked again in \([0-9]*\)\.\([0-9]*\) s.*/\1\2/p" \
    "$B/stderr.log" | sed 's/^0*\([0-9]\)/\1/')
prev=0
for w in $waits; do
    [ "$prev" = 0 ] && { [ "$w" -ge 375 ] && [ "$w" -le 500 ] || fail "first wait $w ms"; }
    [ "$prev" = 0 ] || [ "$w" -ge $((prev * 3 / 2)) ] ||
        fail "waits do not grow: $(echo $waits)"
    prev=$w
done
pass "R asked $asked times in 8 s, waits (ms): $(echo $waits)"

# R takes reservations again, on the same address
stop_pid "$R_PID"
sed -i '/relay-service-reservations/d' "$R/config"
start_fg "$R" --listen "${addrr%/p2p/*}"
[ "$(listen_addr "$R")" = "$addrr" ] || fail "R moved: $(listen_addr "$R")"
wait_until 30 grep -q "relay $idr: reservation held" "$B/stderr.log" ||
    fail "no reservation on R once it accepts: $(grep "relay $idr" "$B/stderr.log" | tail -3)"
fastn --home "$B" status | grep -q "^relays  *2 reservations held of 2 relays$" ||
    fail "B's status: $(fastn --home "$B" status | grep relay)"
pass "R accepts again: B holds reservations on R and R2 ($((($(date +%s%N) - t0) / 1000000)) ms)"
