#!/bin/bash
# fastnd behind NATs through a js-libp2p relay, in network namespaces this
# test creates (nothing leaves the machine): a "public" namespace with a
# js-libp2p circuit relay v2 server J (@libp2p/circuit-relay-v2's
# circuitRelayServer, tests/interop/js/relay-peer.mjs) and a fastnd DHT
# server S; two "home" namespaces, each behind its own port-preserving
# NAT (netns.bash), with fastnd A and B in them. A and B hold
# reservations on J (`relays = J`) and bootstrap from S. A reaches B by
# PeerID alone (`fastn connect PEERID`: the DHT gives B's circuit address
# through J), the connection upgrades to a direct one by DCUtR, and a chat
# message arrives over it.
# Skipped (77) without root, nft, Node.js >= 20 or the chat plugin.
. "$(dirname "$0")/../integration/common.bash"
. "$(dirname "$0")/../integration/net.bash"
. "$(dirname "$0")/../integration/netns.bash"
. "$(dirname "$0")/../integration/chat.bash"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v nft >/dev/null || skip "needs nft (Debian nftables: scripts/install-deps.sh)"
[ -f "$CHAT" ] || skip "plugins not built (no wasm32-wasi toolchain)"
JS=$TOP/tests/interop/js
sh "$JS/install.sh" || exit $?
jsonl() { node "$JS/jsonl.mjs" "$@"; }

S=$$
PUB=fpub$S RA=fra$S RB=frb$S HA=fha$S HB=fhb$S
netns_make "$PUB" "$RA" "$RB" "$HA" "$HB"
# public: S on 198.18.0.1, J on 198.18.0.4; A's router on 198.18.1.0/24,
# B's on 198.18.2.0/24
for i in 1 4; do in_ns "$PUB" ip addr add 198.18.0.$i/32 dev lo; done
in_ns "$PUB" sysctl -qw net.ipv4.ip_forward=1
netns_home "$RA" "$HA" 1
netns_home "$RB" "$HB" 2
netns_nat "$RA"
netns_nat "$RB"

in_ns "$PUB" node "$JS/relay-peer.mjs" --listen /ip4/198.18.0.4/tcp/4004 \
    --timeout 500 >"$TMPROOT/j.out" 2>"$TMPROOT/j.err" &
STARTED_PIDS+=("$!")
jsonl --wait 30 "$TMPROOT/j.out" ready >/dev/null ||
    fail "js relay: $(tail -n 5 "$TMPROOT/j.err")"
idj=$(jsonl "$TMPROOT/j.out" ready peer_id)
addrj=/ip4/198.18.0.4/tcp/4004/p2p/$idj

start_in() { # NS HOME LISTEN [CONFIG LINES]
    netns_start "$1" "$2" "listen = $3" "private-addresses = yes" "${@:4}"
}
SH=$(new_home) A=$(new_home) B=$(new_home)
start_in "$PUB" "$SH" /ip4/198.18.0.1/tcp/4004 "dht = server"
addrs=/ip4/198.18.0.1/tcp/4004/p2p/$(peer_id "$SH")
start_in "$HA" "$A" /ip4/0.0.0.0/tcp/4004 "relays = $addrj" "bootstrap = $addrs"
start_in "$HB" "$B" /ip4/0.0.0.0/tcp/4004 "relays = $addrj" "bootstrap = $addrs"
ida=$(peer_id "$A")
idb=$(peer_id "$B")
f "$A" plugin install "$CHAT" >/dev/null
f "$B" plugin install "$CHAT" >/dev/null
f "$A" peer allow "$idb" >/dev/null
f "$B" peer allow "$ida" >/dev/null

for h in A B; do
    wait_until 20 sh -c "'$FASTN_BIN_CLI' --home '${!h}' --no-autostart id | grep -qx '$addrj/p2p-circuit/p2p/$(peer_id "${!h}")'" ||
        fail "$h holds no reservation on J: $(f "${!h}" id) $(grep relay "${!h}/stderr.log")"
done
for id in "$ida" "$idb"; do
    wait_until 10 sh -c "grep '\"reservation\"' '$TMPROOT/j.out' | grep -q '$id'" ||
        fail "J does not list $id: $(cat "$TMPROOT/j.out")"
done
pass "A and B behind NATs hold reservations on the js relay J"
# B joins the DHT through S a moment after it starts (its first refresh),
# and tells S its circuit address in an identify push once it holds the
# reservation: both may come after the reservation itself
wait_until 20 sh -c "'$FASTN_BIN_CLI' --home '$A' --no-autostart dht find-peer '$idb' 2>/dev/null | grep -q '/p2p-circuit/'" ||
    fail "the DHT has no circuit address of B: $(f "$A" dht find-peer "$idb" 2>&1); S: $(f "$SH" peers)"

path_of() { # HOME PEER: direct or relayed, as peers says
    f "$1" peers | awk -v p="$2" '$1 == p { print $NF }'
}
reach() { # one attempt by PeerID: through J, then direct; prints ms
    local t0 t1
    t0=$(date +%s%N)
    f "$A" connect "$idb" | grep -qx "connected to $idb" || return 1
    wait_until 10 sh -c "'$FASTN_BIN_CLI' --home '$A' --no-autostart peers | grep -q '^$idb .* direct$'" ||
        return 1
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
ms=$(reach) || fail "A did not reach B directly by PeerID: DHT: $(f "$A" dht find-peer "$idb" 2>&1); B: $(f "$B" id); A: $(f "$A" peers) $(grep "hole punch\|relay" "$A/stderr.log" | tail -5)"
punches() { cat "$A/stderr.log" "$B/stderr.log" | grep -c "hole punch to .*: direct connection"; }
punched() { [ "$(punches)" -ge 1 ]; }
# the log line may come a moment after A sees the direct connection
wait_until 10 punched || fail "no hole punch in the logs: $(grep "hole punch" "$A/stderr.log" "$B/stderr.log")"
out=$(f "$B" chat send "$ida" hello through js)
[[ $out == "delivered "* ]] || fail "chat: $out"
[ "$(received "$A" "hello through js")" = 1 ] || fail "chat: $(chat_log "$A")"
pass "A reached B by PeerID through J, upgraded to direct in $ms ms; chat arrives"

