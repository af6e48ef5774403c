#!/bin/bash
# `make demo` (scripts/demo.sh) runs to the end: two daemons exchange a
# chat message, delivered, with a notification on each receiver.
. "$(dirname "$0")/common.bash"
[ -f "$TOP/$BUILD/plugins/chat.wasm" ] ||
    skip "plugins not built (no wasm32-wasi toolchain)"

out=$(cd "$TOP" && BUILD=$BUILD sh scripts/demo.sh 2>&1) ||
    fail "demo failed: $out"
grep -q "^12D3KooW" <<<"$out" || fail "no PeerID in: $out"
grep -q "^fastnd .* (pid [0-9]*), up" <<<"$out" || fail "no status in: $out"
[ "$(grep -c "^delivered " <<<"$out")" = 2 ] || fail "not delivered: $out"
[ "$(grep -c "chat: Message from 12D3KooW" <<<"$out")" = 2 ] ||
    fail "no notifications: $out"
grep -q "<- .*  hello bob, this is alice$" <<<"$out" || fail "bob's log: $out"
grep -q "demo done" <<<"$out" || fail "demo did not finish: $out"
pass "make demo: two daemons exchange a chat message, with notifications"
