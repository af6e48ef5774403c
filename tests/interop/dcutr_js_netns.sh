#!/bin/bash
# DCUtR hole punching between fastnd and js-libp2p's @libp2p/dcutr, in
# network namespaces this test creates (nothing leaves the machine): a
# "public" namespace with a fastnd relay R (relay-service = on), fastnd A
# behind one port-preserving NAT and a js-libp2p node J
# (tests/interop/js/dcutr-peer.mjs: tcp, circuit relay v2 transport,
# identify, ping, dcutr) behind another; both reserve on R.
#  1. A dials J through R: J (it received the relayed connection) starts
#     DCUtR, A answers, both dial, the connection becomes direct.
#  2. J dials A through R: A starts DCUtR, J answers.
# Each time: `fastn peers` says direct, J reports a non-limited
# connection to A and pings A over it, `fastn ping` says direct.
# js-libp2p's TCP transport dials from an ephemeral port (Node's
# net.connect cannot share its listen port), which a NAT filtering by
# endpoint never lets the hole punch through; J therefore dials from a
# fixed port (@libp2p/tcp dialOpts.localPort) and announces it.
# The public prefix is 11.0 rather than 198.18: js-libp2p counts
# 198.18.0.0/15 as private and does not dial such addresses in DCUtR.
# Skipped (77) without root, nft or Node.js >= 20.
. "$(dirname "$0")/../integration/common.bash"
. "$(dirname "$0")/../integration/net.bash"
. "$(dirname "$0")/../integration/netns.bash"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v nft >/dev/null || skip "needs nft (Debian nftables: scripts/install-deps.sh)"
JS=$TOP/tests/interop/js
sh "$JS/install.sh" || exit $?
jsonl() { node "$JS/jsonl.mjs" "$@"; }

NETNS_WAN=11.0
S=$$
PUB=fpub$S RA=fra$S RB=frb$S HA=fha$S HB=fhb$S
netns_make "$PUB" "$RA" "$RB" "$HA" "$HB"
in_ns "$PUB" ip addr add 11.0.0.1/32 dev lo
in_ns "$PUB" sysctl -qw net.ipv4.ip_forward=1
netns_home "$RA" "$HA" 1
netns_home "$RB" "$HB" 2
netns_nat "$RA"
netns_nat "$RB"

R=$(new_home) A=$(new_home)
netns_start "$PUB" "$R" "listen = /ip4/11.0.0.1/tcp/4004" "relay-service = on"
addrr=/ip4/11.0.0.1/tcp/4004/p2p/$(peer_id "$R")
netns_start "$HA" "$A" "listen = /ip4/0.0.0.0/tcp/4004" \
    "private-addresses = yes" "relays = $addrr"
ida=$(peer_id "$A")
wait_until 20 sh -c "'$FASTN_BIN_CLI' --home '$A' --no-autostart id | grep -qx '$addrr/p2p-circuit/p2p/$ida'" ||
    fail "A holds no reservation on R: $(f "$A" id) $(grep relay "$A/stderr.log")"

start_js() { # OUT PORT [ARGS]: J in B's home on PORT, dialing from PORT+1
    local out=$1 port=$2
    shift 2
    mkdir -p "${out%.out}"
    # not through in_ns: $! must be node's pid
    ip netns exec "$HB" node "$JS/dcutr-peer.mjs" \
        --listen /ip4/0.0.0.0/tcp/$port --dial-port $((port + 1)) \
        --announce /ip4/11.0.2.2/tcp/$((port + 1)) --relay "$addrr" \
        --timeout 120 "$@" >"$out" 2>"${out%.out}/stderr.log" &
    JPID=$!
    STARTED_PIDS+=("$JPID")
    jsonl --wait 30 "$out" ready >/dev/null ||
        fail "js peer: $(tail -n 5 "${out%.out}/stderr.log")"
    idj=$(jsonl "$out" ready peer_id)
}
path_of() { # HOME PEER: direct or relayed, as peers says
    f "$1" peers | awk -v p="$2" '$1 == p { print $NF }'
}
direct() { [ "$(path_of "$A" "$idj")" = direct ]; }
# J saw a non-limited connection from A and pinged A over it
js_direct() {
    grep '"event":"ping"' "$1" | grep "$ida" | grep -q '"limited":false'
}
check_direct() { # OUT WHAT
    local t0=$2
    wait_until 20 direct ||
        fail "$3: A's connection to J did not become direct: $(f "$A" peers) $(grep "hole punch" "$A/stderr.log" | tail -5); J: $(grep -v reservation "$1" | tail -8)"
    wait_until 10 js_direct "$1" ||
        fail "$3: J reports no direct connection to A with a ping: $(tail -8 "$1")"
    local t1
    t1=$(date +%s%N)
    out=$(f "$A" ping "$idj" -c 2 2>&1) || fail "$3: fastn ping J: $out"
    echo "$out" | grep -q direct || fail "$3: fastn ping J is not direct: $out"
    ! echo "$out" | grep -q relayed || fail "$3: fastn ping J went relayed: $out"
    # the relayed connection closes on both sides
    wait_until 15 sh -c "grep '\"connection-closed\"' '$1' | grep '$ida' | grep -q '\"limited\":true'" ||
        fail "$3: J's relayed connection to A did not close: $(tail -8 "$1")"
    echo $(((t1 - t0) / 1000000))
}

# 1: A dials J through R; J initiates DCUtR
J1=$TMPROOT/j1.out
start_js "$J1" 4005
jsonl --wait 20 "$J1" reservation >/dev/null ||
    fail "J holds no reservation on R: $(tail -n 5 "$J1") "
t0=$(date +%s%N)
out=$(f "$A" connect "$addrr/p2p-circuit/p2p/$idj" 2>&1)
[ "$out" = "connected to $idj" ] || fail "A through R to J: $out"
ms=$(check_direct "$J1" "$t0" "A dials J") || exit 1
grep -q "hole punch to $idj: attempt" "$A/stderr.log" ||
    fail "A took no part in a hole punch: $(grep "hole punch" "$A/stderr.log")"
pass "A dialed J (js-libp2p) through R; J's DCUtR made it direct in $ms ms; pings go over it"

stop_pid "$JPID"
f "$A" disconnect "$idj" >/dev/null 2>&1 || true

# 2: J dials A through R; A initiates DCUtR
J2=$TMPROOT/j2.out
start_js "$J2" 4007 --dial "$addrr/p2p-circuit/p2p/$ida"
t0=$(date +%s%N)
jsonl --wait 20 "$J2" dialed >/dev/null ||
    fail "J through R to A: $(grep dial "$J2") "
ms=$(check_direct "$J2" "$t0" "J dials A") || exit 1
wait_until 10 sh -c "grep -q 'hole punch to $idj: direct connection' '$A/stderr.log'" ||
    fail "A's DCUtR did not finish: $(grep "hole punch" "$A/stderr.log")"
pass "J (js-libp2p) dialed A through R; A's DCUtR made it direct in $ms ms; pings go over it"
