#!/bin/bash
# Notifications in a real fastnd: a plugin notifies (the test probe), the
# CLI lists them (text and --json), counts and marks them read, and
# --follow prints new ones as they come; the probe is stopped from
# flooding by the rate limit (its notifications wait and come later).
. "$(dirname "$0")/common.bash"

PROBE=$TOP/$BUILD/tests/plugins/probe.wasm
[ -f "$PROBE" ] || skip "plugins not built (no wasm32-wasi toolchain)"
has_jq || skip "jq is missing"

H=$(new_home)
start_fg "$H"
f() { fastn --home "$H" --no-autostart "$@"; }
f plugin install --unsigned "$PROBE" >/dev/null

[ "$(f notifications count)" = 0 ] || fail "count at start"
f notifications 2>"$TMPROOT/err" >"$TMPROOT/out"
grep -q "no notifications" "$TMPROOT/err" || fail "empty list"
[ "$(f plugin call test-probe notify 2)" = "ok=2 again=0 other=0" ] ||
    fail "notify"
[ "$(f notifications count)" = 2 ] || fail "count"
grep -q '^\*#1 .*  test-probe: probe$' <<<"$(f notifications)" ||
    fail "list: $(f notifications)"
grep -q '^        line two$' <<<"$(f notifications)" || fail "body lines"
j=$(f notifications --json)
[ "$(jq '.notifications | length' <<<"$j")" = 2 ] || fail "json: $j"
[ "$(jq -r '.notifications[0].source' <<<"$j")" = test-probe ] || fail "$j"
[ "$(jq -r '.notifications[0].body' <<<"$j")" = "body
line two" ] || fail "json body: $j"
pass "a plugin's notifications are listed (text and --json)"

f notifications read 1 >/dev/null
[ "$(f notifications count)" = 1 ] || fail "read 1"
f notifications unread 1 >/dev/null
[ "$(f notifications count)" = 2 ] || fail "unread 1"
[ "$(f notifications --unread --json | jq '.notifications | length')" = 2 ] ||
    fail "--unread"
grep -q "^2 marked read" <<<"$(f notifications read --all)" || fail "read --all"
[ "$(f notifications count --json | jq .unread)" = 0 ] || fail "count --json"
if f notifications read 999 2>/dev/null; then fail "read a missing id"; fi
pass "read, unread, read --all, count"

"$FASTN_BIN_CLI" --home "$H" --no-autostart notifications --follow --json \
    >"$TMPROOT/follow" 2>"$TMPROOT/follow.err" &
FOLLOW=$!
STARTED_PIDS+=("$FOLLOW")
wait_for grep -q '"event":"old"' "$TMPROOT/follow" || fail "follow: no list"
f plugin call test-probe notify 1 >/dev/null
wait_for grep -q '"event":"new".*"id":3' "$TMPROOT/follow" ||
    fail "follow did not print the new one: $(cat "$TMPROOT/follow")"
f notifications read 3 >/dev/null
wait_for grep -q '"event":"read".*"id":3' "$TMPROOT/follow" ||
    fail "follow did not print the read one"
# a plain client is served while one follows
[ "$(f notifications count)" = 0 ] || fail "count while following"
kill "$FOLLOW"
pass "--follow prints new notifications as they come"

"$FASTN_BIN_CLI" --home "$H" --no-autostart notifications --follow \
    >"$TMPROOT/follow2" &
FOLLOW=$!
STARTED_PIDS+=("$FOLLOW")
sleep 0.3
f plugin call test-probe notify 1 >/dev/null
wait_for grep -q '^\*#4 .*test-probe: probe$' "$TMPROOT/follow2" ||
    fail "follow (text): $(cat "$TMPROOT/follow2")"
kill "$FOLLOW"
pass "--follow as text"

total() { f notifications --json --limit 1000 | jq '.notifications | length'; }
out=$(f plugin call test-probe notify 40)
[ "$out" = "ok=40 again=0 other=0" ] || fail "notify 40: $out"
before=$(total)
# 4 of the burst of 30 were used above: 26 come now, the rest later
[ "$before" -ge 30 ] && [ "$before" -lt 44 ] || fail "rate limit: $before listed"
more() { [ "$(total)" -gt "$before" ]; }
wait_for more || wait_for more || fail "the waiting ones do not come: $(total)"
pass "a plugin cannot flood: $before at once, the rest later"
