#!/bin/bash
# mDNS discovery on one link, in network namespaces this test creates
# (multicast stays inside them): a bridge in its own namespace, and
# daemons M1 and M2 (listening on their link, so mDNS is on) and a
# js-libp2p node with @libp2p/mdns each in a namespace on it. fastnd
# daemons find each other and connect by PeerID alone (the address
# book); js discovers fastnd and dials what it found; fastnd finds js;
# `mdns = off` finds nothing and is not found; garbage datagrams on
# 5353 leave the daemon serving. js is skipped without Node.js >= 20.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/netns.bash"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
S=$$
BR=fbr$S N1=fm1$S N2=fm2$S N3=fm3$S N4=fm4$S
netns_make "$BR" "$N1" "$N2" "$N3" "$N4"
in_ns "$BR" ip link add br0 type bridge mcast_snooping 0
in_ns "$BR" ip link set br0 up
n=0
for ns in $N1 $N2 $N3 $N4; do
    n=$((n + 1))
    ip link add eth0 netns "$ns" type veth peer name v$n netns "$BR"
    in_ns "$BR" ip link set v$n master br0
    in_ns "$BR" ip link set v$n up
    in_ns "$ns" ip addr add 10.9.0.$n/24 dev eth0
    in_ns "$ns" ip link set eth0 up
    # no default route on this link: multicast needs one of its own
    in_ns "$ns" ip route add 224.0.0.0/4 dev eth0
done

start_in() { # NS HOME [CONFIG LINES]
    netns_start "$1" "$2" "listen = /ip4/0.0.0.0/tcp/4004" "${@:3}"
}
found() { grep -q "mdns: found peer $2 " "$1/stderr.log"; }

M1=$(new_home) M2=$(new_home) M4=$(new_home)
start_in "$N1" "$M1" "mdns = on" # tests/run.sh sets FASTN_MDNS=off
start_in "$N2" "$M2" "mdns = on"
start_in "$N4" "$M4" "mdns = off"
id1=$(peer_id "$M1") id2=$(peer_id "$M2") id4=$(peer_id "$M4")
wait_until 15 found "$M1" "$id2" || fail "M1 did not find M2: $(grep mdns "$M1/stderr.log")"
wait_until 15 found "$M2" "$id1" || fail "M2 did not find M1: $(grep mdns "$M2/stderr.log")"
grep -q "mdns: found peer $id2 at /ip4/10.9.0.2/tcp/4004/p2p/$id2" "$M1/stderr.log" ||
    fail "M2's address: $(grep mdns "$M1/stderr.log")"
f "$M1" connect "$id2" | grep -qx "connected to $id2" ||
    fail "connect by PeerID alone: $(f "$M1" connect "$id2" 2>&1)"
pass "two fastnd on one bridge find each other; connect by PeerID alone"

found "$M1" "$id4" && fail "M1 found M4 (mdns = off)"
grep -q "mdns: found" "$M4/stderr.log" && fail "M4 (mdns = off) found someone"
pass "mdns = off: not found, finds nobody"

# garbage on 5353: dropped, the daemon goes on answering
for p in "" "x" "$(head -c 600 /dev/urandom | base64 -w0)"; do
    in_ns "$N2" bash -c "printf '%s' '$p' >/dev/udp/224.0.0.251/5353" 2>/dev/null || true
done
printf '\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00\xc0\x0c\x00\x0c\x00\x01' |
    in_ns "$N2" bash -c 'cat >/dev/udp/10.9.0.1/5353' || true
f "$M1" status >/dev/null || fail "M1 gone after garbage"
f "$M1" ping "$id2" -c 1 >/dev/null || fail "M1 not serving after garbage"
pass "garbage datagrams dropped, the daemon serves"

# js-libp2p with @libp2p/mdns
JS=$TOP/tests/interop/js
if ! out=$(sh "$JS/install.sh" 2>&1); then
    echo "js part skipped: $(tail -n 1 <<<"$out")"
    exit 0
fi
jsonl() { node "$JS/jsonl.mjs" "$@"; }
in_ns "$N3" node "$JS/mdns-peer.mjs" --listen /ip4/10.9.0.3/tcp/4005 \
    --dial "$id1" --timeout 60 >"$TMPROOT/js.out" 2>"$TMPROOT/js.err" &
STARTED_PIDS+=("$!")
jsid=$(jsonl --wait 30 "$TMPROOT/js.out" ready peerId) ||
    fail "js did not start: $(tail -n 5 "$TMPROOT/js.err")"
wait_until 20 grep -q "\"event\":\"connected\",\"peerId\":\"$id1\"" "$TMPROOT/js.out" ||
    fail "js did not find and dial M1: $(cat "$TMPROOT/js.out") $(tail -n 5 "$TMPROOT/js.err")"
wait_until 20 found "$M1" "$jsid" || fail "M1 did not find js: $(grep mdns "$M1/stderr.log")"
grep -q "mdns: found peer $jsid at /ip4/10.9.0.3/tcp/4005/p2p/$jsid" "$M1/stderr.log" ||
    fail "js's address: $(grep mdns "$M1/stderr.log")"
pass "js-libp2p @libp2p/mdns finds fastnd and dials it; fastnd finds js ($jsid)"
