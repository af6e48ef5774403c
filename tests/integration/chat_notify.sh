#!/bin/bash
# The chat plugin's notifications are never lost: a message stored but not
# yet notified when the daemon died (the two live in different databases)
# is notified at the next start; a database from chat 1.0's first schema
# (no notified column) is brought up to date with nothing re-notified; and
# messages beyond the host's notification rate limit are notified later
# rather than dropped. The crash window between the two commits is too
# short to hit with kill -9, so the test makes its state with sqlite3 on
# the stopped daemon's files.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
[ -f "$CHAT" ] || skip "plugins not built (no wasm32-wasi toolchain)"
command -v sqlite3 >/dev/null || skip "no sqlite3 (scripts/install-deps.sh test)"

chat_pair
PDB=$B/data/chat/db.sqlite
STATE=$B/state.sqlite

notified() { # TEXT: how many of B's chat notifications have this body
    fb notifications --json --limit 1000 |
        jq --arg b "$1" '[.notifications[] | select(.source == "chat" and .body == $b)] | length'
}
notified_is() { [ "$(notified "$1")" = "$2" ]; }
restart_b() {
    start_at "$B" "$PB"
    B_PID=$DAEMON_PID
}

for m in one two; do
    out=$(fa chat send "$idb" "$m")
    [[ $out == "delivered "* ]] || fail "send $m: $out"
done
notified_is one 1 && notified_is two 1 || fail "not notified: $(fb notifications)"

# B died after storing "two" and before the host stored its notification
stop_pid "$B_PID"
sqlite3 "$PDB" "UPDATE messages SET notified = 0 WHERE text = 'two'"
sqlite3 "$STATE" "DELETE FROM notifications WHERE body = 'two'"
restart_b
wait_until 20 notified_is two 1 || fail "'two' not notified after the restart: $(fb notifications)"
notified_is one 1 || fail "'one' notified again"
[ "$(sqlite3 "$PDB" "SELECT count(*) FROM messages WHERE notified = 0")" = 0 ] ||
    fail "still marked unnotified"
pass "a message stored but not notified before a crash is notified at start, once"

# the first schema (version 1, no notified column) is upgraded in place
stop_pid "$B_PID"
sqlite3 "$PDB" "DROP INDEX unnotified; ALTER TABLE messages DROP COLUMN notified; PRAGMA user_version = 1"
restart_b
wait_until 20 log_has "$B" "  two$" || fail "log after the upgrade: $(chat_log "$B")"
[ "$(sqlite3 "$PDB" "PRAGMA user_version")" = 2 ] || fail "user_version not 2"
[ "$(sqlite3 "$PDB" "SELECT count(*) FROM messages WHERE notified = 1")" = 2 ] ||
    fail "old messages not marked notified"
notified_is one 1 && notified_is two 1 || fail "old messages notified again"
out=$(fa chat send "$idb" three)
[[ $out == "delivered "* ]] || fail "send after the upgrade: $out"
wait_until 10 notified_is three 1 || fail "no notification after the upgrade"
pass "a version-1 database is upgraded: messages kept, none notified twice"

# the host allows bursts of 30 notifications, then 10 a minute; B's plugin
# instance has used 1 since its start, so 31 more (sent at once, so that
# the bucket barely refills meanwhile) overflow by 2, which come within
# about 12 s instead of being dropped
jobs=()
for i in $(seq 1 31); do
    fa --timeout 20 chat send "$idb" "rate $i" >"$TMPROOT/rate.$i" 2>&1 &
    jobs+=($!)
done
for i in $(seq 1 31); do
    wait "${jobs[i - 1]}" || true # the answer says what happened
    grep -Eq "^(delivered|queued) " "$TMPROOT/rate.$i" || fail "send rate $i: $(cat "$TMPROOT/rate.$i")"
done
count_rate() {
    fb notifications --json --limit 1000 |
        jq '[.notifications[] | select(.body | startswith("rate "))] | length'
}
rate_done() { [ "$(count_rate)" = 31 ]; }
[ "$(count_rate)" -lt 31 ] || fail "the rate limit did not apply (test assumption)"
wait_until 40 rate_done ||
    fail "only $(count_rate) of 31 notified"
for i in $(seq 1 31); do
    notified_is "rate $i" 1 || fail "rate $i notified $(notified "rate $i") times"
done
pass "past the rate limit, notifications are deferred, not dropped"
