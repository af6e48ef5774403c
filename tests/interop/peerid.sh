#!/bin/bash
# PeerIDs agree with js-libp2p: for a key fastnd made, js (@libp2p/crypto,
# @libp2p/peer-id from npm, pinned) computes the PeerID `fastn id` shows;
# for a key js made, fastnd (-id=KEYFILE) shows the PeerID js computes;
# the legacy 96-byte key form gives the same PeerID as the 64-byte form.
. "$(dirname "$0")/../integration/common.bash"

JS=$TOP/tests/interop/js
sh "$JS/install.sh" || exit $?

# fastnd's own key, through the CLI and the library
H=$(new_home)
start_fg "$H"
ours=$(fastn --home "$H" id | sed -n 1p)
theirs=$(node "$JS/peerid.mjs" "$H/keys/identity.key")
[ "$ours" = "$theirs" ] || fail "fastnd key: fastn id $ours, js-libp2p $theirs"
[ "$("$PROBE" identify "$H/fastnd.sock")" = "$ours" ] || fail "library id"
pass "fastnd's key: $ours (js-libp2p agrees)"

# a key js-libp2p generated, read by fastnd through p2pd's -id flag
K=$TMPROOT/js.key
node "$JS/genkey.mjs" "$K" >/dev/null
theirs=$(node "$JS/peerid.mjs" "$K")
S=$TMPROOT/p2pd.sock
"$FASTND_BIN" -listen="/unix$S" -id="$K" -hostAddrs=/ip4/127.0.0.1/tcp/0 -q >"$TMPROOT/q.out" 2>&1 &
STARTED_PIDS+=("$!")
wait_for test -S "$S" || fail "no control socket: $(cat "$TMPROOT/q.out")"
ours=$(fastn --socket "$S" id | sed -n 1p)
[ "$ours" = "$theirs" ] || fail "js key: fastn id $ours, js-libp2p $theirs"
pass "js-libp2p's key: $ours (fastnd agrees)"

# the legacy 96-byte form (seed || pub || pub) of the same key
L=$TMPROOT/legacy.key
{
    printf '\x08\x01\x12\x60'
    tail -c 64 "$K"
    tail -c 32 "$K"
} >"$L"
[ "$(stat -c %s "$L")" = 100 ] || fail "legacy key size"
S2=$TMPROOT/p2pd2.sock
"$FASTND_BIN" -listen="/unix$S2" -id="$L" -hostAddrs=/ip4/127.0.0.1/tcp/0 -q >"$TMPROOT/q2.out" 2>&1 &
STARTED_PIDS+=("$!")
wait_for test -S "$S2" || fail "legacy key refused: $(cat "$TMPROOT/q2.out")"
[ "$(fastn --socket "$S2" id | sed -n 1p)" = "$theirs" ] || fail "legacy key PeerID"
[ "$(node "$JS/peerid.mjs" "$L")" = "$theirs" ] || fail "js legacy key PeerID"
pass "legacy 96-byte key: same PeerID in both"
