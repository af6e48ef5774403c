#!/bin/bash
# The Kademlia DHT between fastnd daemons on loopback (dht = server,
# private-addresses = yes): N daemons bootstrap from the first; every
# one finds every other's address with `fastn dht find-peer`; a provider
# record and a /pk/ value put by one are found by a daemon that joined
# after (its own store is empty: the answer comes over the network);
# `fastn connect PEERID` with no address reaches a peer only one other
# daemon knows (the DHT's FIND_NODE); a lookup of an unknown peer ends
# with NOT_FOUND; the routing table is in `fastn status` and survives a
# restart (HOME/kad-table); a daemon whose bootstrap peer is dead answers
# at once; dht = off answers UNSUPPORTED; put/provide need an admin.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

N=${DHT_NODES:-12}
H=()
ID=()
ADDR=()
dht_home() { # BOOTSTRAP...: a home in server mode
    local h
    h=$(new_home)
    printf 'private-addresses = yes\ndht = server\nbootstrap = %s\n' \
        "${1:-none}" >>"$h/config"
    echo "$h"
}

H[0]=$(dht_home none)
start_net "${H[0]}"
ID[0]=$(peer_id "${H[0]}")
ADDR[0]=$(listen_addr "${H[0]}")
for i in $(seq 1 $((N - 1))); do
    H[i]=$(dht_home "${ADDR[0]}")
    start_net "${H[i]}"
    ID[i]=$(peer_id "${H[i]}")
    ADDR[i]=$(listen_addr "${H[i]}")
done

# every table fills (the bootstrap lookups run in the background)
for i in $(seq 0 $((N - 1))); do
    ok=
    for t in $(seq 200); do
        [ "$(status_num "${H[i]}" dht_peers)" -ge $((N / 2)) ] && ok=1 && break
        sleep 0.05
    done
    [ -n "$ok" ] || fail "node $i's routing table: $(fastn --home "${H[i]}" status | grep dht)"
done
fastn --home "${H[1]}" status | grep -q "^dht  *[0-9]* peers in the routing table (server, answering requests)$" ||
    fail "status: $(fastn --home "${H[1]}" status)"
pass "$N daemons bootstrapped: every routing table has >= $((N / 2)) peers"

for i in $(seq 0 $((N - 1))); do
    for j in $(seq 0 $((N - 1))); do
        [ "$i" = "$j" ] && continue
        got=$(fastn --home "${H[i]}" dht find-peer "${ID[j]}") ||
            fail "node $i did not find node $j: $got"
        grep -qx "${ADDR[j]}" <<<"$got" || fail "node $i found node $j at '$got', not ${ADDR[j]}"
    done
done
pass "every daemon finds every other's address ($((N * (N - 1))) lookups)"
