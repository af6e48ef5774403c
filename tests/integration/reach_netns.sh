#!/bin/bash
# Reaching a peer behind a NAT, in network namespaces this test creates
# (nothing leaves the machine): a "public" namespace with a relay R
# (relay-service = on) and two more daemons S1 S2, and two "home"
# namespaces, each behind its own router namespace doing nftables
# masquerade and dropping unsolicited inbound connections, as home
# routers do. A and B hold reservations on R; A dials B's
# /p2p/R/p2p-circuit address.
#  - port-preserving NAT: DCUtR upgrades to a direct connection (peers,
#    ping say direct; the relayed one closes), chat works, and 20
#    attempts in a row (disconnect, dial through R again) all upgrade.
#  - then a NAT that randomizes ports: DCUtR cannot punch; the connection
#    stays relayed, a chat message arrives, a bulk transfer (perf) says
#    it needs a direct connection.
#  - AutoNAT: A and B find they are private, R that it is public.
#  - mDNS: two daemons on one bridge find each other and connect by
#    PeerID alone.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/netns.bash"
. "$(dirname "$0")/chat.bash"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v nft >/dev/null || skip "needs nft (Debian nftables: scripts/install-deps.sh)"
[ -f "$CHAT" ] || skip "plugins not built (no wasm32-wasi toolchain)"
ATTEMPTS=${FASTN_PUNCH_ATTEMPTS:-20}

S=$$
PUB=fpub$S RA=fra$S RB=frb$S HA=fha$S HB=fhb$S LAN=flan$S
netns_make "$PUB" "$RA" "$RB" "$HA" "$HB" "$LAN"

# public: R S1 S2 on 198.18.0.1-3 (benchmark range), routers on
# 198.18.1.0/24 (A's) and 198.18.2.0/24 (B's)
for i in 1 2 3; do in_ns "$PUB" ip addr add 198.18.0.$i/32 dev lo; done
in_ns "$PUB" sysctl -qw net.ipv4.ip_forward=1
netns_home "$RA" "$HA" 1
netns_home "$RB" "$HB" 2

netns_nat "$RA"
netns_nat "$RB"

# start_in NS HOME LISTEN [CONFIG LINES]: a daemon in a namespace
start_in() {
    netns_start "$1" "$2" "listen = $3" "private-addresses = yes" "${@:4}"
}

R=$(new_home) S1=$(new_home) S2=$(new_home) A=$(new_home) B=$(new_home)
start_in "$PUB" "$R" /ip4/198.18.0.1/tcp/4004 "relay-service = on"
idr=$(peer_id "$R")
addrr=/ip4/198.18.0.1/tcp/4004/p2p/$idr
start_in "$PUB" "$S1" /ip4/198.18.0.2/tcp/4004
start_in "$PUB" "$S2" /ip4/198.18.0.3/tcp/4004
start_in "$HA" "$A" /ip4/0.0.0.0/tcp/4004 "relays = $addrr"
start_in "$HB" "$B" /ip4/0.0.0.0/tcp/4004 "relays = $addrr"
ida=$(peer_id "$A")
idb=$(peer_id "$B")
for h in "$S1" "$S2" "$A" "$B"; do f "$h" connect "$addrr" >/dev/null; done
for h in "$A" "$B" "$R"; do
    f "$h" connect "/ip4/198.18.0.2/tcp/4004/p2p/$(peer_id "$S1")" >/dev/null
    f "$h" connect "/ip4/198.18.0.3/tcp/4004/p2p/$(peer_id "$S2")" >/dev/null
done
f "$A" plugin install "$CHAT" >/dev/null
f "$B" plugin install "$CHAT" >/dev/null
f "$A" peer allow "$idb" >/dev/null 2>&1 || true
f "$B" peer allow "$ida" >/dev/null 2>&1 || true

circuit=$addrr/p2p-circuit/p2p/$idb
wait_until 10 sh -c "'$FASTN_BIN_CLI' --home '$B' --no-autostart id | grep -q p2p-circuit" ||
    fail "B holds no reservation on R: $(f "$B" id)"
pass "namespaces up: R, S1, S2 public; A, B behind NATs with reservations on R"

# --- AutoNAT ---------------------------------------------------------------
reach() { f "$1" status --json | sed -n 's/.*"reachability":"\([a-z]*\)".*/\1/p'; }
for h in A B R; do
    want=private
    [ $h = R ] && want=public
    # before the punches below, which disconnect A and B 20 times (B is
    # one of A's AutoNAT servers); a round that decided nothing is asked
    # again after 60 s: room for two rounds
    wait_until 90 sh -c "'$FASTN_BIN_CLI' --home '${!h}' --no-autostart status --json | grep -q '\"reachability\":\"$want\"'" ||
        fail "$h: reachability $(reach "${!h}"), not $want: $(grep -i "autonat\|reachab" "${!h}/stderr.log" | tail -8)"
done
pass "AutoNAT: A and B private, R public"


path_of() { # HOME PEER: direct or relayed, as peers says
    f "$1" peers | awk -v p="$2" '$1 == p { print $NF }'
}

# --- a port-preserving NAT: DCUtR upgrades ---------------------------------
upgrade() { # one attempt: through R, then direct; prints ms
    local t0 t1
    t0=$(date +%s%N)
    f "$A" connect "$circuit" >/dev/null || return 1
    for i in $(seq 200); do
        [ "$(path_of "$A" "$idb")" = direct ] && break
        sleep 0.05
    done
    [ "$(path_of "$A" "$idb")" = direct ] || return 1
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
ms=$(upgrade) || fail "no direct connection: $(f "$A" peers) $(grep "hole punch" "$B/stderr.log" | tail -3)"
pass "port-preserving NAT: relayed, then direct after $ms ms"
out=$(f "$A" ping "$idb" -c 2 -i 0.05)
[ "$(grep -c " direct$" <<<"$out")" = 2 ] || fail "ping: $out"
wait_until 10 sh -c "! '$FASTN_BIN_CLI' --home '$A' --no-autostart peers | grep -q p2p-circuit" ||
    fail "the relayed connection stayed: $(f "$A" peers)"
out=$(f "$B" chat send "$ida" now direct)
[[ $out == "delivered "* ]] || fail "chat direct: $out"
[ "$(received "$A" "now direct")" = 1 ] || fail "chat: $(chat_log "$A")"
pass "ping says direct, the relayed connection closed, chat works"

ok=1 times="$ms"
for n in $(seq 2 "$ATTEMPTS"); do
    f "$A" disconnect "$idb" >/dev/null
    wait_until 5 sh -c "! '$FASTN_BIN_CLI' --home '$B' --no-autostart peers | grep -q '^$ida '" || true
    if ms=$(upgrade); then
        ok=$((ok + 1))
        times="$times $ms"
    else
        echo "attempt $n: $(f "$A" peers)" >&2
    fi
done
[ "$ok" = "$ATTEMPTS" ] || fail "$ok of $ATTEMPTS attempts upgraded"
pass "$ATTEMPTS of $ATTEMPTS attempts upgraded (ms: $times)"

# by PeerID alone (the address book has B's circuit address), waiting
# for the hole punch: the phases said (fastn connect --wait-direct)
f "$A" disconnect "$idb" >/dev/null
wait_until 5 sh -c "! '$FASTN_BIN_CLI' --home '$B' --no-autostart peers | grep -q '^$ida '" || true
j=$(f "$A" --timeout 20 connect "$idb" --wait-direct --json) || fail "connect --wait-direct: $j"
grep -q '"found":"known"' <<<"$j" || fail "connect --wait-direct, found: $j"
grep -q '"path":"direct"' <<<"$j" || fail "connect --wait-direct, path: $j"
if grep -q '"connect_path":"relayed"' <<<"$j"; then
    grep -q '"punch_ms":[0-9]' <<<"$j" || fail "connect --wait-direct, punch_ms: $j"
fi
[ "$(path_of "$A" "$idb")" = direct ] || fail "A's peers after --wait-direct: $(f "$A" peers)"
pass "fastn connect PEERID --wait-direct: $j"

# --- a NAT that randomizes ports: no hole punch ----------------------------
f "$A" disconnect "$idb" >/dev/null
# conntrack entries of the direct connections are in TIME_WAIT: a new SYN
# starts a new entry, mapped by the new rule
netns_nat "$RA" random
netns_nat "$RB" random
mark=$(wc -l <"$B/stderr.log")
# B renews its reservation on R if the NAT change cut its connection
# there: until then R answers that it has none (which says to retry).
# A reservation that failed in the change is tried again 2 s later (the
# relay client's first retry, relay_client.c), then 4 s: 20 s is that
# with the dial and the RESERVE on a loaded machine
wait_until 20 sh -c "'$FASTN_BIN_CLI' --home '$A' --no-autostart connect '$circuit' | grep -qx 'connected to $idb'" ||
    fail "connect through R: $(f "$A" connect "$circuit" 2>&1); B: $(f "$B" netcheck 2>&1 | grep -i relay)"
[ "$(path_of "$A" "$idb")" = relayed ] || fail "A's peers: $(f "$A" peers)"
since() { tail -n +$((mark + 1)) "$B/stderr.log"; }
# three attempts of a 4 s window each, and their exchanges over the relay:
# seconds more when the machine is loaded
wait_until 60 sh -c "tail -n +$((mark + 1)) '$B/stderr.log' | grep -q 'hole punch to $ida failed'" ||
    fail "B's punch did not end: $(since | grep "hole punch")"
[ "$(since | grep -c "hole punch to $ida: attempt")" = 3 ] ||
    fail "3 attempts: $(since | grep "hole punch")"
[ "$(path_of "$A" "$idb")" = relayed ] || fail "not relayed: $(f "$A" peers)"
# --wait-direct on a connection that stays relayed: exit 1, and why
if j=$(f "$A" --timeout 2 connect "$idb" --wait-direct --json); then
    fail "connect --wait-direct over a relay that cannot punch succeeded: $j"
fi
grep -q '"path":"relayed"' <<<"$j" || fail "connect --wait-direct, relayed: $j"
grep -q '"relayed_why":"still relayed' <<<"$j" || fail "connect --wait-direct, why: $j"
out=$(f "$A" chat send "$idb" through the relay)
[[ $out == "delivered "* ]] || fail "chat over the relay: $out"
[ "$(received "$B" "through the relay")" = 1 ] || fail "chat: $(chat_log "$B")"
if f "$A" perf "$idb" >/dev/null 2>"$TMPROOT/perf.err"; then
    fail "perf ran over a relayed connection"
fi
grep -qi "direct" "$TMPROOT/perf.err" || fail "perf's error: $(cat "$TMPROOT/perf.err")"
pass "randomizing NAT: 3 punch attempts fail, stays relayed, chat arrives, perf waits for direct"

# --- fastn netcheck ---------------------------------------------------------
out=$(f "$A" netcheck)
grep -q "^reachability private (AutoNAT)$" <<<"$out" || fail "A's netcheck: $out"
grep -q "^nat  *yes" <<<"$out" || fail "A's netcheck nat: $out"
grep -qx "circuit  *$addrr/p2p-circuit/p2p/$ida" <<<"$out" || fail "A's circuit: $out"
grep -q "^relays  *1 reservation held of 1 relay configured$" <<<"$out" || fail "A's relays: $out"
grep -q "^connections  *[0-9]* direct, 1 relayed$" <<<"$out" || fail "A's connections: $out"
grep -q "^dht  *[0-9]* peers* in the routing table (auto" <<<"$out" || fail "A's dht: $out"
if has_jq; then
    j=$(f "$A" netcheck --json)
    [ "$(jq -r '.reachability, .relay_reservations, .relayed_connections, (.dht_table_size | type)' <<<"$j" | tr '\n' ' ')" = "private 1 1 number " ] ||
        fail "A's netcheck --json: $j"
    j=$(f "$R" netcheck --json)
    [ "$(jq -r '.reachability, .relay_service, (.public_addrs | index("/ip4/198.18.0.1/tcp/4004") != null)' <<<"$j" | tr '\n' ' ')" = "public true true " ] ||
        fail "R's netcheck --json: $j"
fi
pass "netcheck: A private behind a NAT with its circuit address and a relayed connection; R public"
