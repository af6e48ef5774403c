#!/bin/bash
# The chat plugin between two real daemons on loopback: messages both
# ways (stored on both sides, a notification on the receiver, the sender
# told "delivered"), offline delivery once the peer starts again (the
# sender told "queued"), kill -9 of either daemon while messages are on
# their way (none lost, none shown twice), and "known-peers": a stranger's
# message is kept by the receiver's daemon (the sender told it waits for
# the peer to accept it), the receiver notified; `fastn peer allow` hands
# it to chat, once, and the sender sees it acknowledged.
UNKNOWN_PROTOCOLS=ask
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
[ -f "$CHAT" ] || skip "plugins not built (no wasm32-wasi toolchain)"

chat_pair

out=$(fa chat send "$idb" hello bob)
[[ $out == "delivered "* ]] || fail "send: $out"
[ "$(received "$B" "hello bob")" = 1 ] || fail "not stored on B: $(chat_log "$B")"
grep -q -- "-> $idb  hello bob  \[delivered\]" <<<"$(chat_log "$A")" ||
    fail "A's log: $(chat_log "$A")"
[ "$(unread "$B")" = 1 ] || fail "no notification on B"
[ "$(unread "$A")" = 0 ] || fail "a notification on A"
j=$(fb notifications --json)
[ "$(jq -r '.notifications[0].source' <<<"$j")" = chat ] || fail "source: $j"
[ "$(jq -r '.notifications[0].body' <<<"$j")" = "hello bob" ] || fail "$j"
[[ $(jq -r '.notifications[0].title' <<<"$j") == "Message from 12D3KooW"* ]] ||
    fail "title: $j"
out=$(fb chat send "$ida" hi alice)
[[ $out == "delivered "* ]] || fail "send back: $out"
[ "$(received "$A" "hi alice")" = 1 ] || fail "not stored on A"
[ "$(unread "$A")" = 1 ] || fail "no notification on A"
pass "both ways: stored on both sides, notified, acknowledged"

# offline: B stops; A's message is queued, and delivered when B is back
stop_pid "$B_PID"
out=$(fa chat send "$idb" are you there)
[[ $out == "queued "*"not reachable"* ]] || fail "offline send: $out"
grep -q "are you there  \[queued\]" <<<"$(chat_log "$A")" || fail "not queued"
start_at "$B" "$PB"
B_PID=$DAEMON_PID
wait_until 40 received_at_least "$B" "are you there" 1 ||
    fail "not delivered after B started: $(chat_log "$B")"
wait_until 10 log_has "$A" "are you there  \[delivered\]" ||
    fail "A did not see the acknowledgement: $(chat_log "$A")"
pass "offline delivery: queued, then delivered once B started"

# burst TAG PID: 12 sends from A at once, in parallel; once 3 of them
# have been accepted (A said delivered or queued: stored), the daemon PID
# is killed -9, with the others still on their way. Sets sent=(the
# messages accepted before the kill: at least 3).
burst() {
    local tag=$1 pid=$2 i n at oks jobs=() killed_at
    sent=()
    for i in $(seq 1 12); do
        (fa --timeout 10 chat send "$idb" "$tag $i" >/dev/null 2>&1 &&
            echo "$EPOCHREALTIME" >"$TMPROOT/ok.$tag.$i") &
        jobs+=($!)
    done
    for n in $(seq 1 5000); do # up to 10 s, checked often: kill soon
        oks=("$TMPROOT"/ok."$tag".*)
        [ -e "${oks[0]}" ] && [ ${#oks[@]} -ge 3 ] && break
        sleep 0.002
    done
    killed_at=${EPOCHREALTIME//[!0-9]/} # microseconds
    kill -KILL "$pid"
    wait "${jobs[@]}" || true
    for i in $(seq 1 12); do
        [ -f "$TMPROOT/ok.$tag.$i" ] || continue
        at=$(cat "$TMPROOT/ok.$tag.$i")
        # accepted before the kill (A answers after it only when B died)
        [ "${at//[!0-9]/}" -lt "$killed_at" ] && sent+=("$tag $i")
    done
    [ ${#sent[@]} -ge 3 ] ||
        fail "$tag: ${#sent[@]} sends accepted before the kill, want >= 3"
}

# chat_notes HOME TEXT: how many chat notifications HOME has for TEXT
chat_notes() {
    fastn --home "$1" --no-autostart notifications --json --limit 1000 |
        jq --arg m "$2" '[.notifications[] | select(.source == "chat" and .body == $m)] | length'
}

# in_log_and_notified TEXT: how often TEXT is in B's log, and how many
# notifications it has
in_log_and_notified() {
    echo "$(received "$B" "$1") $(chat_notes "$B" "$1")"
}
# the two agree for TEXT (for wait_until)
log_and_notes_agree() {
    local c
    c=$(in_log_and_notified "$1")
    [ "${c% *}" = "${c#* }" ]
}

# every message accepted before the kill arrives, each message of the
# burst is in B's log at most once, and has exactly one notification
# once it is there (a message sent after the kill may arrive while this
# looks: then the log and the notifications are read again, for 10 s at
# most, until they agree)
no_loss_no_dup() { # TAG
    local m i n
    for m in "${sent[@]}"; do
        wait_until 60 received_at_least "$B" "$m" 1 || fail "lost: $m"
    done
    for i in $(seq 1 12); do
        wait_until 10 log_and_notes_agree "$1 $i" ||
            fail "$1 $i: in the log and notified: $(in_log_and_notified "$1 $i") time(s)"
        n=$(received "$B" "$1 $i")
        [ "$n" -le 1 ] || fail "$1 $i shown twice"
    done
}

# kill -9 of the receiver while messages are on their way
burst burst-b "$B_PID"
wait_gone "$B_PID" || fail "B still runs"
start_at "$B" "$PB"
B_PID=$DAEMON_PID
no_loss_no_dup burst-b
pass "receiver killed -9 mid-burst: ${#sent[@]} accepted, all delivered once"

# kill -9 of the sender while messages are on their way
fa chat send "$idb" "before the kill" >/dev/null
burst burst-a "$A_PID"
wait_gone "$A_PID" || fail "A still runs"
start_at "$A" "$PA"
A_PID=$DAEMON_PID
no_loss_no_dup burst-a
# and what A stored before it died (accepted or not) arrives once too
wait_until 60 log_has "$A" "burst-a" || true
for i in $(seq 1 12); do
    if grep -q -- "-> $idb  burst-a $i  " <<<"$(chat_log "$A")"; then
        wait_until 60 received_at_least "$B" "burst-a $i" 1 ||
            fail "stored by A, never delivered: burst-a $i"
    fi
done
n=$(fb notifications --json --limit 1000 | jq '[.notifications[] | select(.source == "chat")] | length')
total=$(chat_log "$B" | grep -c -- "<- " || true)
[ "$n" = "$total" ] || fail "$total messages, $n notifications (want one each)"
pass "sender killed -9 mid-burst: ${#sent[@]} accepted, all delivered once"

# a stranger (C dialed A, A never dialed C) is not served: A keeps its
# message and says so; `peer allow` delivers it, once
C=$(new_home)
start_at "$C" 0
idc=$(peer_id "$C")
fc() { fastn --home "$C" --no-autostart "$@"; }
fc plugin install "$CHAT" >/dev/null
fc connect "$(listen_addr "$A")" >/dev/null
out=$(fc chat send "$ida" from a stranger)
[[ $out == "waiting "* ]] || fail "a stranger's message: $out"
grep -q -- "-> $ida  from a stranger  \[waiting\]" <<<"$(chat_log "$C")" ||
    fail "C's log: $(chat_log "$C")"
[ "$(received "$A" "from a stranger")" = 0 ] || fail "stored from a stranger"
fa notifications | grep -q "$idc wants to use chat" ||
    fail "A was not told: $(fa notifications)"
fa plugin pending | grep -q "chat serves known peers only: fastn peer allow $idc" ||
    fail "pending: $(fa plugin pending)"
fa peer allow "$idc" | grep -q "is known now" || fail "peer allow"
wait_until 30 received_at_least "$A" "from a stranger" 1 ||
    fail "not delivered once allowed"
wait_until 30 log_has "$C" "-> $ida  from a stranger  \[delivered\]" ||
    fail "C not told: $(chat_log "$C")"
[ "$(received "$A" "from a stranger")" = 1 ] || fail "delivered twice"
[ "$(fa plugin pending --json | jq '.pending | length')" = 0 ] ||
    fail "still kept: $(fa plugin pending)"
fa peer list | grep -q "^allowed  $idc$" || fail "peer list: $(fa peer list)"
pass "known-peers: a stranger's message is kept; peer allow delivers it once"
