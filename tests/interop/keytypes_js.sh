#!/bin/bash
# Peers whose identity is not Ed25519: js-libp2p nodes (pinned npm
# versions) with an RSA key (as older go-libp2p and kubo nodes, the public
# bootstrap peers among them, have; the spec makes RSA compulsory) and
# with a Secp256k1 key. For each, both ways: fastnd dials js (connect,
# ping, a checked `fastn call` through js's echo) and js dials fastnd
# (identify and ping); `fastn peers` names js by the PeerID js gives
# itself (Qm... for RSA: the sha2-256 form).
. "$(dirname "$0")/../integration/common.bash"
. "$(dirname "$0")/../integration/net.bash"

JS=$TOP/tests/interop/js
sh "$JS/install.sh" || exit $?
jsonl() { node "$JS/jsonl.mjs" "$@"; }

H=$(new_home)
start_net "$H"
addr=$(listen_addr "$H")
gen_data $((1 << 20)) >"$TMPROOT/data"
want=$(sha256sum <"$TMPROOT/data")

for type in RSA secp256k1; do
    key=$TMPROOT/$type.key
    jsid=$(node "$JS/genkey.mjs" --type "$type" "$key") || fail "genkey $type"
    case $type in
    RSA) [[ $jsid == Qm* ]] || fail "an RSA PeerID from js: $jsid" ;;
    secp256k1) [[ $jsid == 16Uiu2* ]] || fail "a Secp256k1 PeerID: $jsid" ;;
    esac
    # fastnd dials js
    node "$JS/peer.mjs" --key "$key" --timeout 60 >"$TMPROOT/$type.out" \
        2>"$TMPROOT/$type.err" &
    JSPID=$!
    STARTED_PIDS+=("$JSPID")
    jsaddr=$(jsonl --wait 30 "$TMPROOT/$type.out" ready addrs.0) ||
        fail "js ($type) did not start: $(tail -n 3 "$TMPROOT/$type.err")"
    [ "$(jsonl "$TMPROOT/$type.out" ready peerId)" = "$jsid" ] ||
        fail "js ($type) runs as another PeerID"
    out=$(fastn --home "$H" connect "$jsaddr" 2>&1) ||
        fail "connect to a $type peer: $out"
    [[ $out == *"connected to $jsid"* ]] || fail "connect ($type): $out"
    out=$(fastn --home "$H" ping "$jsid" -c 2 -i 0.05 2>&1) ||
        fail "ping a $type peer: $out"
    sum=$(timeout 60 "$FASTN_BIN_CLI" --home "$H" call "$jsid" /echo/1.0.0 \
        <"$TMPROOT/data" | sha256sum)
    [ "$sum" = "$want" ] || fail "fastn call through a $type peer's echo"
    kill "$JSPID" 2>/dev/null
    wait_for sh -c "! '$FASTN_BIN_CLI' --home '$H' peers | grep -q '^$jsid '" ||
        fail "$type peer still listed after it stopped"
    # js dials fastnd
    timeout 60 node "$JS/peer.mjs" --key "$key" --no-listen --dial "$addr" \
        --identify --ping-peer --pings 2 --timeout 50 \
        >"$TMPROOT/$type.dial" 2>"$TMPROOT/$type.dial.err" ||
        fail "a $type js peer dialing fastnd: $(tail -n 3 "$TMPROOT/$type.dial.err")"
    [[ $(jsonl "$TMPROOT/$type.dial" identify agentVersion) == fastn/* ]] ||
        fail "js ($type) did not identify fastnd"
    [ "$(jsonl "$TMPROOT/$type.dial" ping count)" = 2 ] || fail "js ($type) ping"
    pass "$type peer ($jsid): dialed and dialing, ping, identify, 1 MiB call"
done
