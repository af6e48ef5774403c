#!/bin/bash
# AutoNAT v2 (/libp2p/autonat/2/dial-request, dial-back) on loopback:
# three servers S1..S3 (autonat-server = on serves v1 and v2; peers that
# list v2 are asked with v2); P listens and is dialed back, each dial-back
# carrying P's nonce (public, its listen address confirmed by v2); Q
# listens nowhere, so the one address it can name (where the servers see
# it) does not answer (private). The amplification rule: a request for an
# address on another IP than the asker's gets a DialDataRequest for
# 30,000 bytes, and is dialed only once they came. Garbage and a lying
# length end the stream; the server goes on serving.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

reach_home() { # [EXTRA CONFIG LINE]
    local h
    h=$(new_home)
    printf 'private-addresses = yes\n%s\n' "${1:-}" >>"$h/config"
    echo "$h"
}

reach() { # HOME: the reachability fastn status reports
    fastn --home "$1" --no-autostart status --json |
        sed -n 's/.*"reachability":"\([a-z]*\)".*/\1/p'
}

wait_reach() { # HOME VALUE: up to 20 s
    local i
    for i in $(seq 200); do
        [ "$(reach "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

peer_protos() { # HOME PEER: the protocols HOME's identify learned of PEER
    fastn --home "$1" --no-autostart peers --json | sed 's/"peer_id"/\n/g' |
        grep "$2" | sed -n 's/.*"protocols":\[\([^]]*\)\].*/\1/p'
}

S=()
for i in 1 2 3; do
    h=$(reach_home)
    start_net "$h"
    S+=("$h")
done
P=$(reach_home)
start_net "$P"
Q=$(reach_home)
start_fg "$Q" -noListenAddrs
addrp=$(listen_addr "$P")
ids1=$(peer_id "${S[0]}")

for h in "${S[@]}"; do
    fastn --home "$P" connect "$(listen_addr "$h")" >/dev/null || fail "P connect"
    fastn --home "$Q" connect "$(listen_addr "$h")" >/dev/null || fail "Q connect"
done
grep -q '/libp2p/autonat/2/dial-request' <<<"$(peer_protos "$P" "$ids1")" ||
    fail "S1 does not list v2: $(peer_protos "$P" "$ids1")"
wait_reach "$P" public ||
    fail "P not public: $(fastn --home "$P" status | grep -E 'reach|public|observed')"
grep -q "reachability unknown -> public at ${addrp%/p2p/*} (AutoNAT v2)" \
    "$P/stderr.log" || fail "P's log: $(grep -i reach "$P/stderr.log")"
pub=$(fastn --home "$P" --no-autostart status | sed -n 's/^public  *//p')
[ "$pub/p2p/$(peer_id "$P")" = "$addrp" ] ||
    fail "P's public address: '$pub' (listens at $addrp)"
pass "P: its listen address confirmed by v2 dial-backs (nonce checked): public"
# the evidence: v2 answers (no v1: the servers list v2), decided and the
# address confirmed by v2, in status (text and JSON) and netcheck
st=$(fastn --home "$P" --no-autostart status)
grep -qx "autonat      answers: 0 v1, [1-9][0-9]* v2; decided by v2; ${addrp%/p2p/*} confirmed by v2" <<<"$st" ||
    fail "P's status: $(grep -A1 '^reach' <<<"$st")"
j=$(fastn --home "$P" --no-autostart status --json)
grep -q "\"autonat_v1_answers\":0,\"autonat_v2_answers\":[1-9][0-9]*,\"reach_decided_by\":2,\"reach_confirmed_addr\":\"${addrp%/p2p/*}\",\"reach_confirmed_by\":2" <<<"$j" ||
    fail "P's status --json: $j"
nc=$(fastn --home "$P" --no-autostart netcheck)
grep -q "^autonat      answers: 0 v1, [1-9][0-9]* v2; decided by v2; ${addrp%/p2p/*} confirmed by v2$" <<<"$nc" ||
    fail "P's netcheck: $nc"
fastn --home "$P" --no-autostart netcheck --json | grep -q '"reach_decided_by":2,' ||
    fail "P's netcheck --json: $(fastn --home "$P" --no-autostart netcheck --json)"
pass "P's status and netcheck: $(grep '^autonat' <<<"$st")"
wait_reach "$Q" private ||
    fail "Q not private: $(fastn --home "$Q" status | grep -E 'reach|public|observed')"
grep -q "reachability unknown -> private (AutoNAT v2)" "$Q/stderr.log" ||
    fail "Q's log: $(grep -i reach "$Q/stderr.log")"
st=$(fastn --home "$Q" --no-autostart status)
grep -qx "autonat      answers: 0 v1, [1-9][0-9]* v2; decided by v2" <<<"$st" ||
    fail "Q's status: $(grep -A1 '^reach' <<<"$st")"
fastn --home "$Q" --no-autostart status --json |
    grep -q '"reach_decided_by":2,"reach_confirmed_addr":null,"reach_confirmed_by":null' ||
    fail "Q's status --json: $(fastn --home "$Q" --no-autostart status --json)"
pass "Q (no listen address): v2 dial errors: private ($(grep '^autonat' <<<"$st"))"

# v2 requests by hand, from P to S1. An address on 127.0.0.2 (P is seen
# at 127.0.0.1): Message{dialRequest{addrs, nonce}}
port=$(sed -n 's#.*/tcp/\([0-9]*\)/p2p/.*#\1#p' <<<"$addrp")
hi=$(printf '%02x' $((port >> 8)))
lo=$(printf '%02x' $((port & 255)))
req="\\x15\\x0a\\x13\\x0a\\x08\\x04\\x7f\\x00\\x00\\x02\\x06\\x$hi\\x$lo"
req="$req\\x11\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08"
v2call() { # the input on stdin; the answer, in hex (the error in $TMPROOT/v2err)
    { timeout 20 "$FASTN_BIN_CLI" --home "$P" call "$ids1" \
        /libp2p/autonat/2/dial-request 2>"$TMPROOT/v2err" || true; } |
        od -An -tx1 | tr -d ' \n'
}
# unpaid: only a DialDataRequest{addrIdx 0, numBytes 30000}, no dial
out=$(printf "$req" | v2call)
[ "$out" = "081a06080010b0ea01" ] || fail "unpaid request: answer $out"
# paid: 8 chunks of DialDataResponse{data: 4096 zero bytes}, then the
# dial (127.0.0.2 does not answer P's listener): DialResponse{OK, 0,
# E_DIAL_ERROR = 100}
chunk() {
    printf '\x86\x20\x22\x83\x20\x0a\x80\x20'
    head -c 4096 /dev/zero
}
out=$({
    printf "$req"
    for i in 1 2 3 4 5 6 7 8; do chunk; done
} | v2call)
grep -q "1864" <<<"$out" || fail "paid request: answer $out"
pass "another IP: DialDataRequest for 30000 bytes; dialed only once paid"

# garbage and a length claiming 1 MiB: the stream ends, S1 goes on
out=$(printf '\x05hello' | v2call)
[ -z "$out" ] && grep -q reset "$TMPROOT/v2err" || fail "garbage: answer $out, $(cat "$TMPROOT/v2err")"
out=$(printf '\x80\x80\x40xx' | v2call)
[ -z "$out" ] && grep -q reset "$TMPROOT/v2err" ||
    fail "lying length: answer $out, $(cat "$TMPROOT/v2err")"
fastn --home "$P" ping "$ids1" -c 1 >/dev/null || fail "S1 stopped serving"
pass "garbage and a lying length: stream reset, S1 still serves"

# autonat-server = v1: only v1 is listed
R=$(reach_home 'autonat-server = v1')
start_net "$R"
idr=$(peer_id "$R")
fastn --home "$P" connect "$(listen_addr "$R")" >/dev/null || fail "P connect R"
for i in $(seq 100); do
    grep -q ipfs/id/1.0.0 <<<"$(peer_protos "$P" "$idr")" && break
    sleep 0.05
done
protos=$(peer_protos "$P" "$idr")
grep -q '/libp2p/autonat/1.0.0' <<<"$protos" || fail "R: $protos"
grep -q 'autonat/2/dial-request' <<<"$protos" && fail "R lists v2: $protos"
pass "autonat-server = v1: v2 not listed"
