#!/bin/bash
# A DHT of 20 nodes on loopback, fastnd and js-libp2p @libp2p/kad-dht
# mixed: 12 fastnd (dht = server, bootstrapping from the first) and 8 js
# nodes (tests/interop/js/dht-peer.mjs, server mode, bootstrapping from
# fastnd 0 and 5). Then every node finds every other's address (fastn:
# `fastn dht find-peer`; js: peerRouting.findPeer), and provider records
# and values cross both ways: a CID provided and a /pk/ record put by
# fastnd are found by every js node, a CID provided and a /pk/ record put
# by a js node are found by every fastnd. Skipped (77) without Node.js
# >= 20.
. "$(dirname "$0")/../integration/common.bash"
. "$(dirname "$0")/../integration/net.bash"

JS=$TOP/tests/interop/js
sh "$JS/install.sh" || exit $?
jsonl() { node "$JS/jsonl.mjs" "$@"; }

. "$(dirname "$0")/../integration/dht.bash"
NF=12 NJ=8
dht_network "$NF"

CID_JS=bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy
CID_FASTN=QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG
STEPS=$TMPROOT/steps.json
for ((j = 0; j < NJ; j++)); do
    extra=()
    [ $j = 0 ] && extra=(--provide "$CID_JS" --put-pk)
    node "$JS/dht-peer.mjs" --bootstrap "${ADDR[0]}" --bootstrap "${ADDR[5]}" \
        --min-peers 2 "${extra[@]}" --stay --then "$STEPS" --timeout 400 \
        >"$TMPROOT/j$j.out" 2>"$TMPROOT/j$j.err" &
    STARTED_PIDS+=("$!")
done
for ((j = 0; j < NJ; j++)); do
    jsonl --wait 90 "$TMPROOT/j$j.out" done >/dev/null ||
        fail "js node $j: $(tail -n 3 "$TMPROOT/j$j.err") $(tail -n 3 "$TMPROOT/j$j.out")"
    JID[j]=$(jsonl "$TMPROOT/j$j.out" ready peer_id)
    JADDR[j]=$(jsonl "$TMPROOT/j$j.out" ready addrs.0)
done
J0_PK=$(jsonl "$TMPROOT/j0.out" put value_hex)
pass "$NF fastnd and $NJ js nodes up; js node 0 provided $CID_JS and put its /pk/"

f0=${H[3]}
fastn --home "$f0" dht provide "$CID_FASTN" | grep -qx stored || fail "fastn provide"
F0_PK=$(fastn --home "$f0" dht public-key "${ID[3]}")
fastn --home "$f0" dht put "/pk/${ID[3]}" "$F0_PK" | grep -qx stored || fail "fastn put /pk/"
pass "fastnd 3 provided $CID_FASTN and put its /pk/"

# js: every peer, fastn's provider record and value (all nodes at once)
all=("${ID[@]}" "${JID[@]}")
{
    printf '{"find_peer":['
    sep=
    for id in "${all[@]}"; do
        printf '%s"%s"' "$sep" "$id"
        sep=,
    done
    printf '],"find_providers":["%s"],"get_pk":["%s"]}\n' "$CID_FASTN" "${ID[3]}"
} >"$STEPS.tmp"
mv "$STEPS.tmp" "$STEPS"

# fastn: every peer, js's provider record and value (each fastnd's
# lookups in a process of its own: they wait on the network, not the CPU)
fastn_lookups() { # I: one line per lookup that failed
    local i=$1 k j got
    for ((k = 0; k < NF; k++)); do
        [ "$i" = $k ] && continue
        got=$(fastn --home "${H[i]}" dht find-peer "${ID[k]}" 2>&1)
        grep -qx "${ADDR[k]}" <<<"$got" || echo "fastnd $i did not find fastnd $k: $got"
    done
    for ((j = 0; j < NJ; j++)); do
        got=$(fastn --home "${H[i]}" dht find-peer "${JID[j]}" 2>&1)
        grep -qx "${JADDR[j]}" <<<"$got" || echo "fastnd $i did not find js $j: $got"
    done
    got=$(fastn --home "${H[i]}" dht providers "$CID_JS" 2>&1)
    grep -q "/p2p/${JID[0]}$" <<<"$got" || echo "fastnd $i: providers of js's CID: $got"
    [ "$(fastn --home "${H[i]}" dht get "/pk/${JID[0]}" 2>&1)" = "$J0_PK" ] ||
        echo "fastnd $i: no js /pk/ value"
}
LOOKUPS=()
for ((i = 0; i < NF; i++)); do
    fastn_lookups $i >"$TMPROOT/f$i.missing" &
    LOOKUPS+=("$!")
done
wait "${LOOKUPS[@]}"
missing=$(cat "$TMPROOT"/f*.missing | wc -l)
cat "$TMPROOT"/f*.missing | head -5 >&2
[ $missing = 0 ] || fail "$missing lookups by fastnd failed"
pass "every fastnd found all 19 others' addresses, js's provider record and its /pk/ value"

for ((j = 0; j < NJ; j++)); do
    jsonl --wait 180 "$TMPROOT/j$j.out" then-done >/dev/null ||
        fail "js node $j did not finish: $(tail -n 3 "$TMPROOT/j$j.out")"
    if grep -q '"event":"missing"' "$TMPROOT/j$j.out"; then
        fail "js node $j: $(grep '"event":"missing"' "$TMPROOT/j$j.out" | head -5)"
    fi
    for ((k = 0; k < NF; k++)); do
        grep '"event":"peer"' "$TMPROOT/j$j.out" | grep "\"${ID[k]}\"" |
            grep -q "${ADDR[k]%/p2p/*}" || fail "js node $j found fastnd $k without its address"
    done
    for ((k = 0; k < NJ; k++)); do
        [ $k = $j ] && continue
        grep '"event":"peer"' "$TMPROOT/j$j.out" | grep "\"${JID[k]}\"" |
            grep -q "${JADDR[k]%/p2p/*}" || fail "js node $j found js $k without its address"
    done
    grep '"event":"provider"' "$TMPROOT/j$j.out" | grep -q "\"${ID[3]}\"" ||
        fail "js node $j: no provider record of fastnd 3"
    [ "$(jsonl "$TMPROOT/j$j.out" value value_hex)" = "$F0_PK" ] ||
        fail "js node $j: fastn's /pk/ value: $(grep value "$TMPROOT/j$j.out")"
done
pass "every js node found all others' addresses, fastn's provider record and its /pk/ value"
