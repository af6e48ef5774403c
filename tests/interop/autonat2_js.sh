#!/bin/bash
# AutoNAT v2 against js-libp2p (@libp2p/autonat-v2,
# tests/interop/js/autonat2-peer.mjs), in a network namespace this test
# creates (nothing leaves the machine). js-libp2p refuses private and
# loopback addresses on both sides, so the daemons and nodes listen on
# addresses of 11.0.0.0/8 added to the namespace's loopback.
#  - js servers, fastnd client: three js nodes J1..J3 (11.0.0.2-4) serve
#    v2; fastnd F (11.0.0.1) asks them to check its listen address (a
#    server that sees the request come from another IP first asks for
#    30,000-100,000 bytes, which F pays), each dials it back with F's
#    nonce: F finds itself public through v2.
#  - fastnd servers, js client: four fastnd S1..S4 in four /16s (js wants
#    four successful dials from distinct network segments) serve v2; the
#    js node C (11.0.0.10) asks them; each sees the request come from its
#    own address, not C's, so it asks for 30,000 bytes first (which js
#    pays), then dials C back once C's new connection is identified: C
#    reports its address verified.
# Skipped (77) without root or Node.js >= 20.
. "$(dirname "$0")/../integration/common.bash"
. "$(dirname "$0")/../integration/net.bash"
. "$(dirname "$0")/../integration/netns.bash"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
JS=$TOP/tests/interop/js
sh "$JS/install.sh" || exit $?
jsonl() { node "$JS/jsonl.mjs" "$@"; }

NS=fan2$$
netns_make "$NS"
for a in 11.0.0.1 11.0.0.2 11.0.0.3 11.0.0.4 11.0.0.10 \
    11.1.0.1 11.2.0.1 11.3.0.1 11.4.0.1; do
    in_ns "$NS" ip addr add $a/32 dev lo
done

# js servers, fastnd client
ip netns exec "$NS" node "$JS/autonat2-peer.mjs" --timeout 300 \
    --listen /ip4/11.0.0.2/tcp/4002 --listen /ip4/11.0.0.3/tcp/4003 \
    --listen /ip4/11.0.0.4/tcp/4004 >"$TMPROOT/j.out" 2>"$TMPROOT/j.err" &
STARTED_PIDS+=("$!")
for i in $(seq 100); do
    [ "$(jsonl --count "$TMPROOT/j.out" ready)" = 3 ] && break
    sleep 0.2
done
[ "$(jsonl --count "$TMPROOT/j.out" ready)" = 3 ] ||
    fail "js servers: $(tail -n 5 "$TMPROOT/j.err")"
F=$(new_home)
netns_start "$NS" "$F" "listen = /ip4/11.0.0.1/tcp/4001" "private-addresses = yes"
paste -d/ <(jsonl --all "$TMPROOT/j.out" ready listen) \
    <(jsonl --all "$TMPROOT/j.out" ready peer_id | sed 's#^#p2p/#') \
    >"$TMPROOT/j.addrs"
while read -r addr; do
    f "$F" connect "$addr" >/dev/null || fail "F connect $addr"
done <"$TMPROOT/j.addrs"
for i in $(seq 300); do
    grep -q "reachability unknown -> public" "$F/stderr.log" && break
    sleep 0.1
done
grep -q "reachability unknown -> public at /ip4/11.0.0.1/tcp/4001 (AutoNAT v2)" \
    "$F/stderr.log" || fail "F: $(grep -i reach "$F/stderr.log"; f "$F" status)"
pass "fastnd asked three js-libp2p v2 servers, paid, was dialed back: public"

# fastnd servers, js client
S=()
for n in 1 2 3 4; do
    h=$(new_home)
    netns_start "$NS" "$h" "listen = /ip4/11.$n.0.1/tcp/4001" \
        "private-addresses = yes"
    S+=("$h")
done
dials=()
for n in 1 2 3 4; do
    dials+=(--dial "/ip4/11.$n.0.1/tcp/4001/p2p/$(peer_id "${S[$((n - 1))]}")")
done
ip netns exec "$NS" node "$JS/autonat2-peer.mjs" --timeout 300 \
    --listen /ip4/11.0.0.10/tcp/4010 "${dials[@]}" \
    >"$TMPROOT/c.out" 2>"$TMPROOT/c.err" &
STARTED_PIDS+=("$!")
want='"addr":"/ip4/11.0.0.10/tcp/4010","verified":true'
for i in $(seq 300); do
    grep -qF "$want" "$TMPROOT/c.out" && break
    sleep 0.1
done
grep -qF "$want" "$TMPROOT/c.out" ||
    fail "js client: $(tail -n 3 "$TMPROOT/c.out"; tail -n 5 "$TMPROOT/c.err")"
pass "js-libp2p asked four fastnd v2 servers, paid, was dialed back: verified"
