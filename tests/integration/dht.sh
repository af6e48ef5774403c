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
. "$(dirname "$0")/dht.bash"

N=${DHT_NODES:-12}
dht_network "$N"

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

# records: a provider announced by node 3, a /pk/ value put by node 5
CID=QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG
fastn --home "${H[3]}" dht provide "$CID" | grep -qx stored || fail "provide"
pk5=$(fastn --home "${H[5]}" dht public-key "${ID[5]}")
[ -n "$pk5" ] || fail "public-key of node 5"
fastn --home "${H[5]}" dht put "/pk/${ID[5]}" "$pk5" | grep -qx stored ||
    fail "put /pk/"
out=$(fastn --home "${H[5]}" dht put /other/key 00 2>&1) && fail "a /other/ record was stored"
grep -q "/pk/ records only" <<<"$out" || fail "put /other/: $out"
pass "node 3 provides a CID, node 5 put its /pk/ record; /other/ refused: $out"

# a daemon that joins now holds none of them: the answers come from peers
L=$(dht_home "${ADDR[0]}")
start_net "$L"
IDL=$(peer_id "$L")
got=$(fastn --home "$L" dht providers "$CID") || fail "providers from L: $got"
grep -qx "${ADDR[3]}" <<<"$got" || fail "L's providers of $CID: '$got'"
[ "$(fastn --home "$L" dht get "/pk/${ID[5]}")" = "$pk5" ] || fail "L's get /pk/"
fastn --home "$L" --json dht closest "/pk/${ID[5]}" | grep -q "\"peer_id\":\"${ID[5]}\"" ||
    fail "closest: $(fastn --home "$L" --json dht closest "/pk/${ID[5]}")"
out=$(fastn --home "$L" dht get /pk/12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8 2>&1) &&
    fail "a value nobody put was found: $out"
grep -q "NOT_FOUND\|not found" <<<"$out" || fail "get of nothing: $out"
pass "a late daemon finds the provider (${ADDR[3]}) and the value over the network"

# T knows node 0 only (no bootstrap, after its first refresh); L has never
# heard of T: `fastn connect PEERID` finds it through the DHT
T=$(dht_home none)
start_net "$T"
IDT=$(peer_id "$T")
sleep 0.5
fastn --home "$T" connect "${ADDR[0]}" >/dev/null || fail "T to node 0"
wait_status "$T" dht_peers 1 || fail "T's table"
fastn --home "$L" peers | grep -q "$IDT" && fail "L already knows T"
j=$(fastn --home "$L" connect "$IDT" --json) || fail "L connect $IDT: $j"
# how it was found and the phases' times (fastn connect --json)
grep -q '"found":"dht"' <<<"$j" || fail "L connect --json: $j"
grep -q '"lookup_ms":[0-9]' <<<"$j" || fail "L connect --json, lookup_ms: $j"
grep -q '"connect_ms":[0-9]' <<<"$j" || fail "L connect --json, connect_ms: $j"
grep -q '"path":"direct"' <<<"$j" || fail "L connect --json, path: $j"
fastn --home "$L" peers | grep -q "^$IDT " || fail "L's peers: $(fastn --home "$L" peers)"
out=$(fastn --home "$L" connect "$IDT" --wait-direct)
[ "$(sed -n 1p <<<"$out")" = "connected to $IDT" ] &&
    grep -qx "connected already; direct connection in [0-9.]* ms" <<<"$(sed -n 2p <<<"$out")" ||
    fail "L connect --wait-direct, connected: $out"
grep -q "kad: $IDT: 1 address(es) found in the DHT" "$L/stderr.log" ||
    fail "L's log: $(grep kad "$L/stderr.log")"
pass "fastn connect PEERID with no address: found through the DHT"

start=$(date +%s)
out=$(fastn --home "$L" connect 12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8 2>&1) &&
    fail "connected to a peer nobody knows"
[ $(($(date +%s) - start)) -le 15 ] || fail "the lookup of nobody took $(($(date +%s) - start)) s"
grep -q "cannot connect to 12D3KooWKnDd" <<<"$out" || fail "connect nobody: $out"
pass "a peer the DHT does not know: $out"

# the routing table is kept across a restart (HOME/kad-table)
fastn --home "${H[2]}" stop >/dev/null
[ -s "${H[2]}/kad-table" ] || fail "no ${H[2]}/kad-table"
[ "$(head -c 4 "${H[2]}/kad-table")" = FKAD ] || fail "kad-table's magic"
sed -i 's|^bootstrap = .*|bootstrap = none|' "${H[2]}/config"
start_net "${H[2]}"
[ "$(status_num "${H[2]}" dht_peers)" -ge $((N / 2)) ] ||
    fail "after a restart without bootstrap: $(fastn --home "${H[2]}" status | grep dht)"
fastn --home "${H[2]}" dht find-peer "$IDL" | grep -q "/p2p/$IDL$" ||
    fail "the restarted node does not find L"
pass "the routing table survives a restart ($(status_num "${H[2]}" dht_peers) peers)"

# a damaged table file: logged, the daemon starts and serves
printf 'FKAD\001\377\377garbage' >"$T/kad-table.bad"
fastn --home "$T" stop >/dev/null
mv "$T/kad-table.bad" "$T/kad-table"
start_net "$T"
grep -q "routing table .*kad-table: " "$T/stderr.log" || fail "no word of the damaged table"
fastn --home "$T" status >/dev/null || fail "status after a damaged table"
pass "a damaged kad-table is logged: $(grep "routing table" "$T/stderr.log" | tail -1)"

# a dead bootstrap peer delays nothing; dht = off answers UNSUPPORTED
D=$(new_home)
printf 'private-addresses = yes\nbootstrap = /ip4/127.0.0.1/tcp/1/p2p/%s\n' "${ID[0]}" >>"$D/config"
start_net "$D"
start=$(date +%s%N)
fastn --home "$D" connect "${ADDR[1]}" >/dev/null || fail "D connect"
[ $((($(date +%s%N) - start) / 1000000)) -lt 3000 ] || fail "D was slow"
printf 'dht = off\n' >>"$D/config"
fastn --home "$D" stop >/dev/null
start_net "$D"
out=$(fastn --home "$D" dht find-peer "${ID[1]}" 2>&1) && fail "dht = off answered"
grep -q "dht = off" <<<"$out" || fail "dht = off: $out"
fastn --home "$D" status | grep -q "^dht .*(off)$" || fail "status: $(fastn --home "$D" status | grep dht)"
pass "a dead bootstrap peer delays nothing; dht = off: $out"
