#!/bin/bash
# What the user decides (fastn plugin restrict) on two daemons: echo made
# to serve nobody refuses the other daemon's `fastn call` while local
# calls still work, serves anyone again when asked back, keeps the
# narrowing across a restart; a request wider than the manifest is
# refused; chat with "notify" withheld still stores a message but makes
# no notification. (Non-admins are refused in plugins_admin.sh.)
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
[ -f "$ECHO" ] && [ -f "$CHAT" ] ||
    skip "plugins not built (no wasm32-wasi toolchain)"
has_jq || skip "jq is missing"

two_daemons
call_a() { echo "$1" | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" \
    /fastn/echo/1.0.0 2>&1; }
fa plugin install "$ECHO" >/dev/null
fa plugin install "$CHAT" >/dev/null
fb plugin install "$CHAT" >/dev/null
fa connect "$(listen_addr "$B")" >/dev/null
fb connect "$(listen_addr "$A")" >/dev/null

[ "$(call_a hello)" = hello ] || fail "echo before: $(call_a hello)"
out=$(fa plugin restrict echo --serves nobody)
[ "$out" = "echo: serves nobody (manifest: anyone); withheld: none" ] ||
    fail "restrict said: $out"
if out=$(call_a refused); then fail "a call to nobody's echo worked: $out"; fi
[ -n "$out" ] || fail "no error for the refused call"
wait_until 5 grep -q "for /fastn/echo/1.0.0 refused: served to nobody" \
    "$A/stderr.log" || fail "no log line on A: $(tail -5 "$A/stderr.log")"
[ "$(fa plugin call echo echo local)" = local ] || fail "local call"
grep -q "^serves       nobody (manifest: anyone)$" <<<"$(fa plugin info echo)" ||
    fail "info: $(fa plugin info echo)"
pass "serves nobody: the remote call is refused ($out), local calls work"

fa plugin restrict echo --serves anyone >/dev/null
[ "$(call_a back)" = back ] || fail "echo after anyone again: $(call_a back)"
[ "$(fa plugin info echo --json | jq -r .serves)" = anyone ] || fail "json"
pass "serves anyone again: the remote call works"

if out=$(fa plugin restrict chat --serves anyone 2>&1); then
    fail "chat widened to anyone"
fi
grep -q "cannot be made to serve anyone" <<<"$out" || fail "wider: $out"
if out=$(fa plugin restrict echo --grant notify 2>&1); then
    fail "echo granted notify"
fi
grep -q "did not ask for notify" <<<"$out" || fail "not asked: $out"
if out=$(fa plugin restrict chat --withhold bogus 2>&1); then
    fail "unknown capability taken"
fi
grep -q 'unknown capability "bogus"' <<<"$out" || fail "unknown: $out"
if out=$(fa plugin restrict echo --serves everyone 2>&1); then
    fail "unknown serves taken"
fi
pass "wider than the manifest, not asked for, unknown: refused clearly"

# restart: the narrowing stays
fa plugin restrict echo --serves nobody >/dev/null
fa plugin restrict chat --withhold notify >/dev/null
stop_pid "$A_PID"
start_at "$A" "$PA"
j=$(fa plugin info echo --json)
[ "$(jq -r .serves <<<"$j")" = nobody ] &&
    [ "$(jq -r .asked_serves <<<"$j")" = anyone ] || fail "after restart: $j"
[ "$(fa plugin info chat --json | jq -c .withheld)" = '["notify"]' ] ||
    fail "chat after restart: $(fa plugin info chat --json)"
fb connect "$(listen_addr "$A")" >/dev/null
if out=$(call_a again); then fail "nobody lost in the restart: $out"; fi
pass "after a restart echo still serves nobody, chat's notify is withheld"

# chat without notify: stored, acknowledged, no notification
before=$(unread "$A")
out=$(fb chat send "$ida" quiet please)
[[ $out == "delivered "* ]] || fail "send: $out"
[ "$(received "$A" "quiet please")" = 1 ] || fail "not stored: $(chat_log "$A")"
[ "$(unread "$A")" = "$before" ] || fail "a notification was made"
grep -q "^withheld     notify$" <<<"$(fa plugin info chat)" ||
    fail "info: $(fa plugin info chat)"
[ "$(fa plugin info chat --json | jq -r .last_error)" = 0 ] || fail "chat failed"
fa plugin restrict chat --grant notify >/dev/null
out=$(fb chat send "$ida" loud now)
[[ $out == "delivered "* ]] || fail "send: $out"
[ "$(unread "$A")" = $((before + 1)) ] || fail "no notification after grant"
pass "chat with notify withheld stores the message, notifies no one; granted back, it does"
