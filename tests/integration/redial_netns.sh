#!/bin/bash
# Reaching a NATed peer again by PeerID right after a disconnect, while
# the address book holds direct addresses of it that hang, in network
# namespaces this test creates: a relay R (relay-service = on) and A in
# a "public" namespace, B in a home namespace behind a router doing
# nftables masquerade. B listens on four ports and holds a reservation
# on R; A learns B's four private addresses through identify, and its
# own namespace drops every SYN it sends towards B's home and router (a
# route leads there, so connects hang rather than fail). Ten times in a
# row: A disconnects from B and connects to it by PeerID, within a bound
# that trying the direct addresses one after another (2 s each before
# the relay) would exceed: the dial ranks and staggers its addresses
# (relays after a short delay), and the first to complete wins.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/netns.bash"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v nft >/dev/null || skip "needs nft (Debian nftables: scripts/install-deps.sh)"
ROUNDS=${FASTN_REDIAL_ROUNDS:-10}
BOUND_MS=${FASTN_REDIAL_BOUND_MS:-4000}

S=$$
PUB=fpub$S RB=frb$S HB=fhb$S
netns_make "$PUB" "$RB" "$HB"
for i in 1 2; do in_ns "$PUB" ip addr add 198.18.0.$i/32 dev lo; done
in_ns "$PUB" sysctl -qw net.ipv4.ip_forward=1
netns_home "$RB" "$HB" 2
netns_nat "$RB"
# A's SYNs towards B's home network and its router hang
in_ns "$PUB" ip route add 10.0.2.0/24 via 198.18.2.2
in_ns "$PUB" nft -f - <<NFT
table ip stale {
    chain out {
        type filter hook output priority 0;
        ip daddr { 10.0.2.0/24, 198.18.2.0/24 } ct state new drop
    }
}
NFT

R=$(new_home) A=$(new_home) B=$(new_home)
netns_start "$PUB" "$R" "listen = /ip4/198.18.0.1/tcp/4004" \
    "private-addresses = yes" "relay-service = on" "mdns = off"
idr=$(peer_id "$R")
addrr=/ip4/198.18.0.1/tcp/4004/p2p/$idr
netns_start "$PUB" "$A" "listen = /ip4/198.18.0.2/tcp/4004" \
    "private-addresses = yes" "mdns = off"
netns_start "$HB" "$B" \
    "listen = /ip4/0.0.0.0/tcp/4004, /ip4/0.0.0.0/tcp/4005, /ip4/0.0.0.0/tcp/4006, /ip4/0.0.0.0/tcp/4007" \
    "private-addresses = yes" "relays = $addrr" "mdns = off"
idb=$(peer_id "$B")
wait_until 20 sh -c "'$FASTN_BIN_CLI' --home '$B' --no-autostart id | grep -q p2p-circuit" ||
    fail "B holds no reservation on R: $(f "$B" id)"
circuit=$addrr/p2p-circuit/p2p/$idb
f "$A" connect "$circuit" >/dev/null || fail "A did not reach B through R"
pass "B behind a NAT with a reservation on R; A reached it through R"

times="" worst=0
for n in $(seq "$ROUNDS"); do
    f "$A" disconnect "$idb" >/dev/null 2>&1 || true
    t0=$(date +%s%N)
    out=$(timeout 40 "$FASTN_BIN_CLI" --home "$A" --no-autostart --timeout 30 connect "$idb" 2>&1) ||
        fail "round $n: A did not reach B by PeerID after $((($(date +%s%N) - t0) / 1000000)) ms (before:$times): $out; $(f "$A" peers)"
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$out" = "connected to $idb" ] || fail "round $n: $out"
    times="$times $ms"
    [ "$ms" -gt "$worst" ] && worst=$ms
done
[ "$worst" -le "$BOUND_MS" ] ||
    fail "reconnects by PeerID took up to $worst ms (bound $BOUND_MS; ms:$times); load: $(uptime)"
pass "$ROUNDS reconnects by PeerID past stale direct addresses (ms:$times)"
