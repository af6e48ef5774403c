#!/bin/bash
# The Kademlia DHT between fastnd and js-libp2p @libp2p/kad-dht (pinned
# npm version, tests/interop/js/dht-peer.mjs), both in server mode on
# loopback: 5 fastnd daemons and 2 js nodes bootstrap from the first
# fastnd; then, both directions: js finds a fastnd's address and fastn a
# js node's (`fastn dht find-peer`); a CID provided by js is found by a
# fastnd that joined later, and one provided by fastnd by a js node that
# joined later; a /pk/ record put by js is read by fastn, and one put by
# fastn read by js. Then a lying DHT server (kad-liar.mjs: 1000 closer
# peers in an answer; 20 made-up ones at its own address in every answer):
# the lookup ends with NOT_FOUND at once, the liar asked once, and the
# daemon goes on serving. Skipped (77) without Node.js >= 20.
. "$(dirname "$0")/../integration/common.bash"
. "$(dirname "$0")/../integration/net.bash"

JS=$TOP/tests/interop/js
sh "$JS/install.sh" || exit $?
jsonl() { node "$JS/jsonl.mjs" "$@"; }

. "$(dirname "$0")/../integration/dht.bash"
N=5
dht_network "$N"

CID_JS=bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy
CID_FASTN=QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG
# js node J1: provides CID_JS, puts its /pk/ record, stays serving
node "$JS/dht-peer.mjs" --bootstrap "${ADDR[0]}" --min-peers 3 \
    --provide "$CID_JS" --put-pk --stay --timeout 150 \
    >"$TMPROOT/j1.out" 2>"$TMPROOT/j1.err" &
STARTED_PIDS+=("$!")
jsonl --wait 60 "$TMPROOT/j1.out" done >/dev/null ||
    fail "js J1: $(tail -n 3 "$TMPROOT/j1.err") $(tail -n 3 "$TMPROOT/j1.out")"
J1=$(jsonl "$TMPROOT/j1.out" ready peer_id)
J1_ADDR=$(jsonl "$TMPROOT/j1.out" ready addrs.0)
J1_ADDR=${J1_ADDR%/p2p/*}
J1_PK=$(jsonl "$TMPROOT/j1.out" put value_hex)
pass "js J1 $J1 joined (table $(jsonl "$TMPROOT/j1.out" table size)), provided $CID_JS, put /pk/"

# fastn finds the js node, its provider record and its value
got=$(fastn --home "${H[2]}" dht find-peer "$J1") || fail "fastn find-peer js: $got"
grep -qx "$J1_ADDR/p2p/$J1" <<<"$got" || fail "fastn found js at '$got', not $J1_ADDR"
fastn --home "${H[1]}" dht provide "$CID_FASTN" | grep -qx stored || fail "fastn provide"
fastn --home "${H[1]}" dht put "/pk/${ID[1]}" "$(fastn --home "${H[1]}" dht public-key "${ID[1]}")" |
    grep -qx stored || fail "fastn put /pk/"
L=$(dht_home "${ADDR[0]}")
start_net "$L"
got=$(fastn --home "$L" dht providers "$CID_JS") || fail "fastn providers of js's CID: $got"
grep -q "/p2p/$J1$" <<<"$got" || fail "fastn's providers of $CID_JS: '$got'"
[ "$(fastn --home "$L" dht get "/pk/$J1")" = "$J1_PK" ] || fail "fastn get js's /pk/"
pass "fastn finds js: its address, its provider record, its /pk/ value"

# js finds fastnd, its provider record and its value (a js node that
# joined after them)
timeout 90 node "$JS/dht-peer.mjs" --bootstrap "${ADDR[3]}" --min-peers 3 \
    --find-peer "${ID[4]}" --find-providers "$CID_FASTN" --get-pk "${ID[1]}" \
    --timeout 80 >"$TMPROOT/j2.out" 2>"$TMPROOT/j2.err" ||
    fail "js J2: $(tail -n 3 "$TMPROOT/j2.err") $(tail -n 3 "$TMPROOT/j2.out")"
jsonl "$TMPROOT/j2.out" peer addrs | grep -q "${ADDR[4]%/p2p/*}" ||
    fail "js's find-peer of fastnd: $(grep peer "$TMPROOT/j2.out")"
grep '"event":"provider"' "$TMPROOT/j2.out" | grep -q "\"${ID[1]}\"" ||
    fail "js's providers of $CID_FASTN: $(grep provider "$TMPROOT/j2.out")"
[ "$(jsonl "$TMPROOT/j2.out" value value_hex)" = "$(fastn --home "${H[1]}" dht public-key "${ID[1]}")" ] ||
    fail "js's get of fastn's /pk/: $(grep value "$TMPROOT/j2.out")"
pass "js finds fastnd: its address, its provider record, its /pk/ value"

# a lying DHT server (kad-liar.mjs): 1000 closer peers in one answer, then
# 20 made-up ones at its own address in every answer: the lookup ends
# within its bounds with NOT_FOUND, the daemon goes on serving
NOBODY=12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8
for mode in flood loop; do
    node "$JS/kad-liar.mjs" --mode $mode --timeout 120 >"$TMPROOT/liar.$mode" 2>&1 &
    STARTED_PIDS+=("$!")
    liar=$(jsonl --wait 30 "$TMPROOT/liar.$mode" ready addrs.0) || fail "liar: $(cat "$TMPROOT/liar.$mode")"
    B=$(dht_home none)
    start_net "$B"
    fastn --home "$B" connect "$liar" >/dev/null || fail "connect to the liar"
    # (identify with a js peer, under ASan on a loaded machine: seconds)
    # once more after a new connection when identify did not land in time
    # (seen once under ASan with the suite's load)
    if ! wait_status "$B" dht_peers 1 30; then
        fastn --home "$B" disconnect "${liar##*/p2p/}" >/dev/null 2>&1
        fastn --home "$B" connect "$liar" >/dev/null || fail "connect to the liar again"
        wait_status "$B" dht_peers 1 30 ||
            fail "the liar is not in B's table: $(fastn --home "$B" status | grep dht); $(fastn --home "$B" peers); $(tail -n 5 "$TMPROOT/liar.$mode")"
    fi
    start=$(date +%s)
    out=$(fastn --home "$B" dht find-peer "$NOBODY" 2>&1) && fail "$mode: found $out"
    took=$(($(date +%s) - start))
    grep -q "not found" <<<"$out" || fail "$mode: $out"
    [ $took -le 30 ] || fail "$mode: the lookup took $took s"
    asked=$(node "$JS/jsonl.mjs" --count "$TMPROOT/liar.$mode" request)
    [ "$asked" -ge 1 ] && [ "$asked" -le 3 ] || fail "$mode: the liar was asked $asked times"
    fastn --home "$B" status >/dev/null || fail "$mode: B stopped serving"
    fastn --home "$B" dht find-peer "${ID[1]}" >/dev/null 2>&1 ||
        fastn --home "$B" connect "${ADDR[1]}" >/dev/null || fail "$mode: B unusable"
    pass "a DHT peer that answers $mode: NOT_FOUND in $took s, asked $asked time(s), the daemon goes on"
done
