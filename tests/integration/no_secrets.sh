#!/bin/bash
# No response ever carries secret key bytes: every request type, with and
# without bodies, and bad frames, answered by daemons with a key of each
# form (64-byte and legacy 96-byte); all answers are scanned for any 8
# consecutive bytes of the secret key.
. "$(dirname "$0")/common.bash"

H=$(new_home)
start_fg "$H"
out=$("$PROBE" secrets "$H/fastnd.sock" "$H/keys/identity.key") ||
    fail "secret bytes found: $out"
pass "home key: $out"

K=$TMPROOT/legacy.key
"$PROBE" genkey "$K" legacy
[ "$(stat -c %s "$K")" = 100 ] || fail "legacy key is not 4 + 96 bytes"
S=$TMPROOT/legacy.sock
"$FASTND_BIN" -listen="/unix$S" -id="$K" -hostAddrs=/ip4/127.0.0.1/tcp/0 -q &
STARTED_PIDS+=("$!")
wait_for test -S "$S" || fail "no socket for the legacy-key daemon"
[ "$("$PROBE" identify "$S")" = "$("$PROBE" peerid "$K")" ] ||
    fail "legacy key: wrong PeerID"
out=$("$PROBE" secrets "$S" "$K") || fail "secret bytes found: $out"
pass "legacy 96-byte key: $out"
