#!/bin/bash
# The chat plugin's notifications are never lost nor repeated: chat stores
# a message and notifies it in one transaction of its own database, where
# the host keeps the notification (its _fastn_outbox table) until it has
# moved it into state.sqlite. A kill -9 after chat's commit and before the
# move leaves the row in the outbox: it moves at the next start, once; one
# after the move and before the outbox delete leaves a row whose
# notification is already there: it is not added again. Databases of chat's
# older schemas are upgraded (version 2's unnotified messages notified, once;
# version 1's none again), and messages beyond the host's notification rate
# limit are notified later rather than dropped. The crash windows are too
# short to hit with kill -9, so the test makes their state with sqlite3 on
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

# (the daemon holds its plugins' databases locked: read them stopped)
outbox_empty() { [ "$(sqlite3 "$PDB" "SELECT count(*) FROM _fastn_outbox")" = 0 ]; }
title=$(sqlite3 "$STATE" "SELECT title FROM notifications WHERE body = 'two'")

# B died after chat committed "two" (its notification in the outbox) and
# before the host moved it; and after the host added "one" to state.sqlite
# and before it deleted "one"'s outbox row
stop_pid "$B_PID"
outbox_empty || fail "rows left in the outbox: $(sqlite3 "$PDB" "SELECT * FROM _fastn_outbox")"
one_id=$(sqlite3 "$STATE" "SELECT origin FROM notifications WHERE body = 'one'" | sed 's|.*/||')
[[ $one_id =~ ^[0-9]+$ ]] || fail "no origin key for 'one': $one_id"
sqlite3 "$STATE" "DELETE FROM notifications WHERE body = 'two'"
sqlite3 "$PDB" "INSERT INTO _fastn_outbox(id, time_ms, title, body) VALUES($one_id, 1, '$title', 'one');
    INSERT INTO _fastn_outbox(time_ms, title, body) VALUES(2, '$title', 'two')"
restart_b
wait_until 20 notified_is two 1 || fail "'two' not notified after the restart: $(fb notifications)"
notified_is one 1 || fail "'one' notified $(notified one) times"
notified_is two 1 || fail "'two' notified $(notified two) times"
stop_pid "$B_PID"
outbox_empty || fail "the outbox was not emptied"
pass "a notification left in the outbox by a crash is delivered at start, once"

# a version-2 database (chat did its own bookkeeping): what it had not
# notified yet is notified by the upgrade, once
sqlite3 "$STATE" "DELETE FROM notifications WHERE body = 'two'"
sqlite3 "$PDB" "CREATE INDEX unnotified ON messages(seq) WHERE notified = 0;
    ALTER TABLE messages DROP COLUMN held_ms; DROP TABLE acks;
    UPDATE messages SET notified = 0 WHERE text = 'two'; PRAGMA user_version = 2"
restart_b
wait_until 20 notified_is two 1 || fail "'two' not notified after the upgrade: $(fb notifications)"
notified_is one 1 || fail "'one' notified again"
stop_pid "$B_PID"
[ "$(sqlite3 "$PDB" "PRAGMA user_version")" = 4 ] || fail "user_version not 4"
pass "a version-2 database is upgraded: its unnotified messages notified once"

# the first schema (version 1, no notified column) is upgraded in place
sqlite3 "$PDB" "DROP INDEX IF EXISTS unnotified; ALTER TABLE messages DROP COLUMN notified;
    ALTER TABLE messages DROP COLUMN held_ms; DROP TABLE acks; PRAGMA user_version = 1"
restart_b
wait_until 20 log_has "$B" "  two$" || fail "log after the upgrade: $(chat_log "$B")"
notified_is one 1 && notified_is two 1 || fail "old messages notified again"
stop_pid "$B_PID"
[ "$(sqlite3 "$PDB" "PRAGMA user_version")" = 4 ] || fail "user_version not 4"
restart_b
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
stop_pid "$B_PID"
outbox_empty || fail "rows left in the outbox after the rate test"

pass "past the rate limit, notifications are deferred, not dropped"
