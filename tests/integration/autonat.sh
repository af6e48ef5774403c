#!/bin/bash
# AutoNAT (/libp2p/autonat/1.0.0) and identify's observed addresses on
# loopback: three servers S1..S3 (autonat-server = v1, so that v1 is what
# P and Q ask; tests/integration/autonat2.sh has v2); P listens and is
# dialed back by all three (public, its listen address public); Q listens
# nowhere, so the servers' dial-backs to the address they see it at fail
# (private). Loopback counts
# only with private-addresses = yes: without it a daemon sends no
# candidate and stays unknown. autonat-server = off takes the protocol
# away. Bad requests (garbage, a lying length) get an E_BAD_REQUEST
# answer and the server goes on serving.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

reach_home() { # [EXTRA CONFIG LINE]
    local h
    h=$(new_home)
    printf 'private-addresses = yes\n%s\n' "${1:-}" >>"$h/config"
    echo "$h"
}

# reach HOME: the reachability fastn status reports
reach() {
    fastn --home "$1" --no-autostart status --json |
        sed -n 's/.*"reachability":"\([a-z]*\)".*/\1/p'
}

# wait_reach HOME VALUE: up to 20 s
wait_reach() {
    local i
    for i in $(seq 200); do
        [ "$(reach "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

S=()
for i in 1 2 3; do
    h=$(reach_home "autonat-server = v1")
    start_net "$h"
    S+=("$h")
done
P=$(reach_home)
start_net "$P"
Q=$(reach_home)
start_fg "$Q" -noListenAddrs
idp=$(peer_id "$P")
addrp=$(listen_addr "$P")

[ "$(reach "$P")" = unknown ] || fail "P before any peer: $(reach "$P")"
for h in "${S[@]}"; do
    fastn --home "$P" connect "$(listen_addr "$h")" >/dev/null || fail "P connect"
    fastn --home "$Q" connect "$(listen_addr "$h")" >/dev/null || fail "Q connect"
done
wait_reach "$P" public ||
    fail "P not public: $(fastn --home "$P" status | grep -E 'reach|public|observed')"
pass "P dialed back by 3 servers: public"
wait_reach "$Q" private ||
    fail "Q not private: $(fastn --home "$Q" status | grep -E 'reach|public|observed')"
pass "Q (no listen address) not dialed back: private"

# P's public address is its listen address, in status, id and IDENTIFY
pub=$(fastn --home "$P" --no-autostart status | sed -n 's/^public  *//p')
[ "$pub/p2p/$idp" = "$addrp" ] || fail "P's public address: '$pub' (listens at $addrp)"
fastn --home "$P" status | grep -q "^reachability public" ||
    fail "status text: $(fastn --home "$P" status)"
fastn --home "$Q" status | grep -q "^observed  *.*/ip4/127.0.0.1/tcp/" ||
    fail "Q's observed addresses: $(fastn --home "$Q" status)"
idj=$(fastn --home "$P" id --json)
grep -q '"reachability":"public"' <<<"$idj" || fail "id --json: $idj"
grep -q "\"public_addrs\":\[\"${addrp%/p2p/*}\"\]" <<<"$idj" || fail "id --json public_addrs: $idj"
[ "$(fastn --home "$Q" id --json | sed -n 's/.*"public_addrs":\[\([^]]*\)\].*/\1/p')" = "" ] ||
    fail "Q has public addresses: $(fastn --home "$Q" id --json)"
# the evidence: v1 answers only (the servers serve v1), decided and the
# address confirmed by v1
st=$(fastn --home "$P" --no-autostart status)
grep -qx "autonat      answers: [1-9][0-9]* v1, 0 v2; decided by v1; ${addrp%/p2p/*} confirmed by v1" <<<"$st" ||
    fail "P's status: $(grep -A1 '^reach' <<<"$st")"
fastn --home "$P" --no-autostart netcheck --json |
    grep -q "\"autonat_v2_answers\":0,\"reach_decided_by\":1,\"reach_confirmed_addr\":\"${addrp%/p2p/*}\",\"reach_confirmed_by\":1" ||
    fail "P's netcheck --json: $(fastn --home "$P" --no-autostart netcheck --json)"
pass "status/id: reachability, public address $pub, observed ones; $(grep '^autonat' <<<"$st")"

# the servers answered dial-backs, and the log says what was decided
grep -q "reachability unknown -> public at ${addrp%/p2p/*} (AutoNAT v1)" \
    "$P/stderr.log" ||
    fail "P's log: $(grep -i reach "$P/stderr.log")"

# without private-addresses, loopback is not a candidate: nothing to ask
D=$(new_home)
start_net "$D"
for h in "${S[@]}"; do
    fastn --home "$D" connect "$(listen_addr "$h")" >/dev/null || fail "D connect"
done
sleep 1
[ "$(reach "$D")" = unknown ] || fail "D without private-addresses: $(reach "$D")"
fastn --home "$D" status --json | grep -q '"observed_addrs":\[\]' ||
    fail "D kept loopback observed addresses: $(fastn --home "$D" status --json)"
pass "without private-addresses: loopback ignored, still unknown"

# peer_protos HOME PEER: the protocols HOME's identify learned of PEER
peer_protos() {
    fastn --home "$1" --no-autostart peers --json | sed 's/"peer_id"/\n/g' |
        grep "$2" | sed -n 's/.*"protocols":\[\([^]]*\)\].*/\1/p'
}

# autonat-server = off: the protocol is not served
R=$(reach_home 'autonat-server = off')
start_net "$R"
idr=$(peer_id "$R")
fastn --home "$P" connect "$(listen_addr "$R")" >/dev/null || fail "P connect R"
for i in $(seq 100); do
    grep -q ipfs/id/1.0.0 <<<"$(peer_protos "$P" "$idr")" && break
    sleep 0.05
done
grep -q ipfs/id/1.0.0 <<<"$(peer_protos "$P" "$idr")" || fail "no identify of R"
# (the v2 dial-back protocol, a client's, stays listed)
if grep -qE 'autonat/1.0.0|autonat/2/dial-request' <<<"$(peer_protos "$P" "$idr")"; then
    fail "R lists autonat: $(peer_protos "$P" "$idr")"
fi
fastn --home "$R" status --json | grep -q '"autonat_server":false' || fail "R's status"
ids1=$(peer_id "${S[0]}")
grep -q '/libp2p/autonat/1.0.0' <<<"$(peer_protos "$P" "$ids1")" ||
    fail "S1 does not list autonat: $(peer_protos "$P" "$ids1")"
pass "autonat-server = off: not listed by identify"

# bad requests: garbage and a length claiming 1 MiB get E_BAD_REQUEST
# (status 200 = 0xc8 0x01 in the answer), the server goes on serving
out=$(printf '\x05hello' | timeout 10 "$FASTN_BIN_CLI" --home "$P" call "$ids1" \
    /libp2p/autonat/1.0.0 | od -An -tx1 | tr -d ' \n')
grep -q "c801" <<<"$out" || fail "garbage: answer $out"
out=$(printf '\x80\x80\x40xx' | timeout 10 "$FASTN_BIN_CLI" --home "$P" call "$ids1" \
    /libp2p/autonat/1.0.0 | od -An -tx1 | tr -d ' \n')
grep -q "c801" <<<"$out" || fail "lying length: answer $out"
fastn --home "$P" ping "$ids1" -c 1 >/dev/null || fail "S1 stopped serving"
pass "garbage and a lying length: E_BAD_REQUEST, S1 still serves"
