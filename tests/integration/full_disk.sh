#!/bin/bash
# Nothing is lost on a full disk (the hardening issue: notify returned 0
# fifteen times and none was ever delivered, and SQLITE_FULL was called
# the quota). Daemon B's home is a tmpfs of 16 MiB, filled up while it
# runs:
#  - a plugin's notify answers FASTN_ERR_DISK_FULL (-508), never a 0 for
#    what was not stored; once there is room, what it stored is delivered
#    exactly once and notify works again;
#  - chat: a message B sends while full is refused with that error (the
#    sender tries again); one A sends to B is not acknowledged, so A keeps
#    it and delivers it, exactly once, when B has room again.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
PROBE_WASM=$TOP/$BUILD/tests/plugins/probe.wasm
[ -f "$CHAT" ] && [ -f "$PROBE_WASM" ] ||
    skip "plugins not built (no wasm32-wasi toolchain)"
[ "$(id -u)" = 0 ] || skip "needs root to mount a tmpfs home (CI runs as root)"

A=$(new_home)
B=$TMPROOT/full
mkdir -m 0700 "$B"
mount -t tmpfs -o size=16m,mode=0700 tmpfs "$B" || fail "cannot mount a tmpfs"
printf 'listen = /ip4/127.0.0.1/tcp/0\n' >"$B/config"
trap 'for p in "${STARTED_PIDS[@]}"; do stop_pid "$p"; done
      umount -l "$B" 2>/dev/null; cleanup' EXIT

start_at "$A" 0
A_PID=$DAEMON_PID
start_at "$B" 0
B_PID=$DAEMON_PID
ida=$(peer_id "$A")
idb=$(peer_id "$B")
fa plugin install "$CHAT" >/dev/null
fb plugin install "$CHAT" >/dev/null
fb plugin install "$PROBE_WASM" >/dev/null
fa connect "$(listen_addr "$B")" >/dev/null
fb connect "$(listen_addr "$A")" >/dev/null
out=$(fb plugin call test-probe notify 2)
[ "$out" = "ok=2 again=0 other=0" ] || fail "notify: $out"
[[ $(fa chat send "$idb" before) == "delivered "* ]] || fail "chat before"
notes() { fb notifications count; }
wait_until 5 test "$(notes)" = 3 || fail "$(notes) notifications before"
fb notifications read --all >/dev/null

# fill it: restart B first, so that its logs start empty and every write
# must find new room
stop_pid "$B_PID"
start_at "$B" 0
B_PID=$DAEMON_PID
wait_until 20 test "$(fb plugin info test-probe --json | jq -r .state)" = running ||
    fail "test-probe did not start again"
wait_until 20 test "$(fb plugin info chat --json | jq -r .state)" = running ||
    fail "chat did not start again"
fb connect "$(listen_addr "$A")" >/dev/null
dd if=/dev/zero of="$B/filler" bs=64k 2>/dev/null || true
dd if=/dev/zero of="$B/filler2" bs=512 2>/dev/null || true
[ "$(df --output=avail "$B" | tail -1)" -lt 16 ] || fail "the tmpfs is not full"

out=$(fb plugin call test-probe notify 15)
[[ $out =~ ^ok=([0-9]+)\ again=0\ other=([0-9]+)$ ]] || fail "notify: $out"
ok=${BASH_REMATCH[1]}
[ "${BASH_REMATCH[2]}" -ge 1 ] || fail "15 notifications on a full disk: $out"
last=$(fb plugin call test-probe last)
[ "$last" = -508 ] || fail "notify's error on a full disk: $last"
pass "notify on a full disk: $out, the error FASTN_ERR_DISK_FULL"

refused=$(fb chat send "$ida" from the full side 2>&1) &&
    fail "sent while full: $refused"
grep -qi "disk is full" <<<"$refused" || fail "chat send: $refused"
out=$(fa chat send "$idb" to the full side)
[[ $out == "queued "* ]] || fail "B acknowledged a message it cannot store: $out"
kill -0 "$B_PID" || fail "B died on a full disk"
pass "chat on a full disk: a send refused ($refused), one to it kept by the sender"

rm -f "$B/filler" "$B/filler2"
out=$(fb plugin call test-probe notify 2)
[ "$out" = "ok=2 again=0 other=0" ] || fail "notify after: $out"
want=$((ok + 2))
wait_until 10 test "$(notes)" = "$want" ||
    fail "$(notes) notifications, want $want"
wait_until 60 received_at_least "$B" "to the full side" 1 ||
    fail "A's message never reached B: $(chat_log "$B")"
wait_until 10 log_has "$A" "to the full side  \[delivered\]" ||
    fail "A not told: $(chat_log "$A")"
[ "$(received "$B" "to the full side")" = 1 ] || fail "shown twice"
out=$(fb chat send "$ida" from the full side)
[[ $out == "delivered "* ]] || fail "send again: $out"
want=$((want + 1))
wait_until 10 test "$(notes)" = "$want" ||
    fail "$(notes) notifications, want $want"
sleep 1
[ "$(notes)" = "$want" ] || fail "$(notes) notifications, want $want"
pass "room again: $ok stored while full and 2 after delivered once, chat delivered once each way"
