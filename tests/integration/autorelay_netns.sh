#!/bin/bash
# Relays found among connected peers (autorelay), in network namespaces
# this test creates: three relays R1 R2 R3 (relay-service = on; R1 also a
# DHT server) and A in a "public" namespace, B in a home namespace
# behind a router doing nftables masquerade that answers unsolicited
# connections with a reset (so AutoNAT's dial-backs fail at once). B has
# no `relays =`: it bootstraps from R1 and connects to R2 and R3; AutoNAT
# says it is private, and it reserves on two of the relays, because
# their identify lists hop; `fastn netcheck` says they were found among
# connected peers. A finds B by PeerID through the DHT and reaches it.
# Then the connection to one relay B holds a reservation on is killed:
# the reservation moves to the third, and A reaches B again.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/netns.bash"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v nft >/dev/null || skip "needs nft (Debian nftables: scripts/install-deps.sh)"

S=$$
PUB=fpub$S RB=frb$S HB=fhb$S
netns_make "$PUB" "$RB" "$HB"
for i in 1 2 3 4; do in_ns "$PUB" ip addr add 198.18.0.$i/32 dev lo; done
in_ns "$PUB" sysctl -qw net.ipv4.ip_forward=1
netns_home "$RB" "$HB" 2
in_ns "$RB" nft -f - <<NFT
table ip nat {
    chain post {
        type nat hook postrouting priority 100;
        oifname "wan" masquerade
    }
}
table ip filter {
    chain fw {
        type filter hook forward priority 0;
        iifname "wan" ct state new meta l4proto tcp reject with tcp reset
        iifname "wan" ct state new drop
    }
    chain inp {
        type filter hook input priority 0;
        iifname "wan" ct state new meta l4proto tcp reject with tcp reset
        iifname "wan" ct state new drop
    }
}
NFT

A=$(new_home) B=$(new_home)
for i in 1 2 3; do
    RH[i]=$(new_home)
    extra=""
    [ "$i" = 1 ] && extra="dht = server"
    netns_start "$PUB" "${RH[i]}" "listen = /ip4/198.18.0.$i/tcp/4004" \
        "private-addresses = yes" "relay-service = on" "$extra"
    wait_for grep -q " ready on " "${RH[i]}/stderr.log"
    RPID[i]=$(sed -n 's/.* ready on .*(pid \([0-9]*\))$/\1/p' "${RH[i]}/stderr.log")
    RID[i]=$(peer_id "${RH[i]}")
    RADDR[i]=/ip4/198.18.0.$i/tcp/4004/p2p/${RID[i]}
done
netns_start "$PUB" "$A" "listen = /ip4/198.18.0.4/tcp/4004" \
    "private-addresses = yes" "bootstrap = ${RADDR[1]}"
netns_start "$HB" "$B" "listen = /ip4/0.0.0.0/tcp/4004" \
    "private-addresses = yes" "bootstrap = ${RADDR[1]}"
idb=$(peer_id "$B")
f "$B" connect "${RADDR[2]}" >/dev/null || fail "B did not reach R2"
f "$B" connect "${RADDR[3]}" >/dev/null || fail "B did not reach R3"

wait_until 60 sh -c "'$FASTN_BIN_CLI' --home '$B' --no-autostart status --json | grep -q '\"reachability\":\"private\"'" ||
    fail "B is not private: $(f "$B" netcheck)"
held() { # HOME: the relays of its circuit addresses, sorted
    f "$1" netcheck | sed -n 's|^circuit  *.*/p2p/\([^/]*\)/p2p-circuit/p2p/.*|\1|p' |
        sort -u | tr '\n' ' '
}
nheld() { [ "$(held "$B" | wc -w)" = 2 ]; }
wait_until 30 nheld || fail "B holds no two reservations: $(f "$B" netcheck)"
out=$(f "$B" netcheck)
grep -q "^relays  *2 reservations held of 3 relays found among connected peers$" <<<"$out" ||
    fail "B's netcheck: $out"
for i in 1 2 3; do
    grep -qx "relay  *${RID[i]} (found: a connected peer serving hop)" <<<"$out" ||
        fail "R$i is not a found relay: $out"
done
if has_jq; then
    [ "$(f "$B" netcheck --json | jq -r '.relays_found | length')" = 3 ] ||
        fail "netcheck --json: $(f "$B" netcheck --json)"
fi
pass "B (private, no relays configured) reserved on $(held "$B" | wc -w) relays found among connected peers"

reached() { # A connects to B by PeerID alone (after a disconnect)
    f "$A" disconnect "$idb" >/dev/null 2>&1 || true
    out=$(f "$A" --timeout 30 connect "$idb" 2>&1) && [ "$out" = "connected to $idb" ]
}
wait_until 30 reached || fail "A did not reach B by PeerID: $out; $(f "$A" peers)"
pass "A reached B by PeerID through a relay B found"

# --- a relay B holds a reservation on goes away -----------------------------
before=$(held "$B")
gone=""
for i in 2 3; do
    case " $before " in *" ${RID[i]} "*) gone=$i ;; esac
done
[ -n "$gone" ] || fail "B holds neither R2 nor R3: $before"
kill -KILL "${RPID[gone]}"
moved() { [ "$(held "$B")" = "$(for i in 1 2 3; do [ "$i" != "$gone" ] && echo "${RID[i]}"; done | sort | tr '\n' ' ')" ]; }
wait_until 20 moved || fail "B's reservation did not move: held $(held "$B"); $(f "$B" netcheck)"
grep -q "^relays  *2 reservations held of 2 relays found among connected peers$" <<<"$(f "$B" netcheck)" ||
    fail "B's netcheck after R$gone went: $(f "$B" netcheck)"
wait_until 30 reached || fail "A did not reach B again: $out; $(f "$A" peers)"
pass "R$gone killed: B's reservation moved to the third relay; A reaches B again"
