#!/bin/bash
# DCUtR (/libp2p/dcutr) from a peer that sends garbage, on loopback: R
# relays, B holds a reservation on R and listens nowhere, A dials B
# through R. B then opens /libp2p/dcutr on that relayed connection itself
# (fastn call) with bad messages: garbage, a CONNECT whose addresses are
# all garbage, a length over the 4 KiB limit, SYNC before CONNECT. Each
# time A ends the exchange with a clear error in its log, resets the
# stream, keeps the relayed connection and serves on; a second exchange
# on one connection and one over a direct connection are refused.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

R=$(new_home)
printf 'private-addresses = yes\nrelay-service = on\n' >>"$R/config"
start_net "$R"
idr=$(peer_id "$R")
addrr=$(listen_addr "$R")
B=$(new_home)
printf 'private-addresses = yes\nrelays = %s\n' "$addrr" >>"$B/config"
start_fg "$B" -noListenAddrs
idb=$(peer_id "$B")
A=$(new_home)
printf 'private-addresses = yes\n' >>"$A/config"
start_net "$A"
ida=$(peer_id "$A")
circuit=$addrr/p2p-circuit/p2p/$idb
wait_for sh -c "'$FASTN_BIN_CLI' --home '$B' --no-autostart id | grep -q p2p-circuit" ||
    fail "B holds no reservation"

# bad BYTES WHAT: a new relayed connection, B sends BYTES on dcutr to A
bad() {
    local before
    fastn --home "$A" disconnect "$idb" >/dev/null 2>&1 || true
    fastn --home "$A" connect "$circuit" >/dev/null || fail "connect through R"
    before=$(grep -c "hole punch to $idb failed" "$A/stderr.log" || true)
    printf "$1" | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /libp2p/dcutr \
        >/dev/null 2>&1 || true
    wait_for sh -c "[ \$(grep -c 'hole punch to $idb failed' '$A/stderr.log') -gt $before ]" ||
        fail "$2: A logged no failure: $(grep "hole punch" "$A/stderr.log")"
    fastn --home "$A" peers | grep -q "^$idb .* relayed$" ||
        fail "$2: the relayed connection went: $(fastn --home "$A" peers)"
    fastn --home "$A" ping "$idb" -c 1 >/dev/null || fail "$2: A stopped serving"
    pass "$2: $(grep "hole punch to $idb failed" "$A/stderr.log" | tail -1 | sed 's/.*failed: //')"
}
bad '\x05hello' "garbage"
# CONNECT (type 100) with two addresses that are not multiaddrs
bad '\x0c\x08\x64\x12\x03\xff\xff\xff\x12\x03\x00\x01\x02' "CONNECT with garbage addresses"
bad '\xff\xff\x7f\x08\x64' "a length of 2 MiB"
bad '\x03\x08\xac\x02' "SYNC before CONNECT"

# a second exchange on the same connection is refused
out=$(printf '\x05hello' | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /libp2p/dcutr 2>&1) &&
    fail "a second exchange was taken: $out"
# over a direct connection: refused, nothing logged
fastn --home "$A" disconnect "$idb" >/dev/null 2>&1 || true
fastn --home "$B" connect "$(listen_addr "$A")" >/dev/null || fail "B to A direct"
n=$(grep -c "hole punch" "$A/stderr.log")
out=$(printf '\x05hello' | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /libp2p/dcutr 2>&1) &&
    fail "dcutr over a direct connection: $out"
[ "$(grep -c "hole punch" "$A/stderr.log")" = "$n" ] || fail "A punched over a direct connection"
fastn --home "$A" ping "$idb" -c 1 >/dev/null || fail "A stopped serving"
pass "a second exchange and one over a direct connection are refused"
