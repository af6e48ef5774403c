#!/bin/bash
# `make demo` (scripts/demo.sh) runs to the end: bob has no chat plugin;
# alice writes (told it waits); bob is offered chat, approves, reads the
# message; alice sees it delivered; bob's answer is delivered.
. "$(dirname "$0")/common.bash"
[ -f "$TOP/$BUILD/plugins/chat.wasm" ] ||
    skip "plugins not built (no wasm32-wasi toolchain)"

out=$(cd "$TOP" && BUILD=$BUILD sh scripts/demo.sh 2>&1) ||
    fail "demo failed: $out"
grep -q "^12D3KooW" <<<"$out" || fail "no PeerID in: $out"
grep -q "^fastnd .* (pid [0-9]*), up" <<<"$out" || fail "no status in: $out"
grep -q "^waiting .*'s daemon took it" <<<"$out" || fail "alice not told it waits: $out"
grep -q "offered: chat 1.0.0 from registry" <<<"$out" || fail "bob not offered chat: $out"
grep -q "^installed chat 1.0.0 from registry .*; 1 kept stream(s)" <<<"$out" ||
    fail "bob's approve: $out"
grep -q -- "-> .*  hello bob, this is alice  \[delivered\]$" <<<"$out" ||
    fail "alice did not see it delivered: $out"
[ "$(grep -c "^delivered " <<<"$out")" = 1 ] || fail "bob's answer not delivered: $out"
grep -q "fastnd: Data waits for /fastn/chat/1.0.0" <<<"$out" ||
    fail "bob not notified of the offer: $out"
[ "$(grep -c "chat: Message from 12D3KooW" <<<"$out")" = 1 ] ||
    fail "alice not notified of bob's answer: $out"
grep -q "<- .*  hello bob, this is alice$" <<<"$out" || fail "bob's log: $out"
grep -q "^Bob, lunch at noon?" <<<"$out" || fail "bob did not read alice's mail over IMAP: $out"
grep -q "lunch?$" <<<"$out" || fail "bob's mail list: $out"
grep -q "demo done" <<<"$out" || fail "demo did not finish: $out"
pass "make demo: bob has no chat; alice writes; bob is offered chat, approves, reads it; alice mails bob (curl SMTP), bob reads it (curl IMAP)"
