#!/bin/bash
# Unknown protocols and strangers (docs/ROUTER.md, "The quarantine"): two
# daemons, B without chat. Under `ask` A's message waits (A is told it was
# sent and waits for B to accept it), B is offered chat (plugin, version,
# source, signer, capabilities, apps); `approve` installs it and the
# message is in B's chat log exactly once, acknowledged on A's side.
# Under `trusted` (streams in auto-grant) the same with no command, chat
# fetched from A when no registry has it. A peer that serves a tampered
# plugin: refused, nothing installed, the kept data kept. kill -9 of B
# while kept streams are handed over: delivered after the restart, none
# lost, none twice. `reject` deletes, `--block-peer` blocks; `refuse`
# keeps nothing.
UNKNOWN_PROTOCOLS=ask
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
. "$(dirname "$0")/registry.bash"
has_jq || skip "jq is missing"
XFER=$TOP/$BUILD/tests/integration/xfer_serve

# pending_is HOME JQ-EXPR: whether HOME's kept data (fastn plugin pending
# --json) makes JQ-EXPR true
pending_is() {
    fastn --home "$1" --no-autostart plugin pending --json | jq -e "$2" >/dev/null
}

two_daemons
fa plugin install "$CHAT" >/dev/null
fa connect "$(listen_addr "$B")" >/dev/null

# --- ask: offered, approved, delivered once ------------------------------------
out=$(fa chat send "$idb" hello bob)
[[ $out == "waiting "* ]] || fail "A's send: $out"
grep -q "$idb's daemon took it" <<<"$out" || fail "A's send says: $out"
log_has "$A" "-> $idb  hello bob  \[waiting\]" || fail "A's log: $(chat_log "$A")"
wait_until 20 pending_is "$B" '.pending[0].state == "offered"' ||
    fail "no offer: $(fb plugin pending)"
j=$(fb plugin pending --json)
jq -e --arg a "$ida" '.pending[0] | .peer_id == $a and
    .protocol == "/fastn/chat/1.0.0" and .plugin == "chat" and
    .version == "1.0.0" and (.source | startswith("registry ")) and
    (.signer | startswith("fastn-build (key ")) and
    (.capabilities | index("streams")) and (.apps == ["fastn chat"]) and
    .bytes > 0' <<<"$j" >/dev/null || fail "pending: $j"
n=$(fb notifications --json | jq '[.notifications[] |
    select(.title == "Data waits for /fastn/chat/1.0.0")] | length')
[ "$n" = 1 ] || fail "offer notifications: $n: $(fb notifications)"
fb notifications --json | jq -e '[.notifications[] | select(.body |
    contains("Plugin chat 1.0.0 (from registry bundled, signed by fastn-build"))] |
    length == 1' >/dev/null ||
    fail "the offer does not name the plugin: $(fb notifications --json)"
fb plugin list | grep -q "^chat " && fail "chat installed without a command"
# streams is not in the default auto-grant: approve asks for it
if err=$(fb plugin approve /fastn/chat/1.0.0 2>&1); then fail "approved without --grant"; fi
grep -q "asks for streams, which auto-grant does not give" <<<"$err" || fail "consent: $err"
out=$(fb plugin approve /fastn/chat/1.0.0 --grant streams)
grep -q "^installed chat 1.0.0 from registry bundled; 1 kept stream(s)" <<<"$out" ||
    fail "approve: $out"
wait_until 20 received_at_least "$B" "hello bob" 1 || fail "not delivered: $(chat_log "$B")"
wait_until 20 log_has "$A" "-> $idb  hello bob  \[delivered\]" ||
    fail "A not told: $(chat_log "$A")"
sleep 0.5
[ "$(received "$B" "hello bob")" = 1 ] || fail "twice in B's log: $(chat_log "$B")"
[ "$(fb plugin pending --json | jq '.pending | length')" = 0 ] || fail "still kept"
pass "ask: A told it waits; B offered chat; approve delivers it once, acknowledged"

# --- reject, block, refuse ---------------------------------------------------------
fb plugin remove chat >/dev/null
out=$(fa chat send "$idb" second)
[[ $out == "waiting "* ]] || fail "second: $out"
wait_until 20 pending_is "$B" '.pending | length >= 1' || fail "not kept"
id=$(fb plugin pending --json | jq '.pending[0].id')
fb plugin reject "$id" | grep -q "1 kept stream(s) for /fastn/chat/1.0.0 deleted" ||
    fail "reject by id"
fb plugin reject /fastn/chat/1.0.0 >/dev/null 2>&1 || true
[ "$(fb plugin pending --json | jq '.pending | length')" = 0 ] || fail "kept after reject"
printf 'unknown-protocols = refuse\n' >>"$B/config"
sighup "$B_PID" "$B/stderr.log"
if fa call "$idb" /fastn/chat/1.0.0 </dev/null >/dev/null 2>&1; then
    fail "refuse: the stream was taken"
fi
[ "$(fb plugin pending --json | jq '.pending | length')" = 0 ] || fail "refuse kept it"
sed -i '/unknown-protocols/d' "$B/config"
sighup "$B_PID" "$B/stderr.log"
pass "reject deletes kept data; refuse keeps nothing (na)"

# --- kill -9 while kept streams are handed over -------------------------------------
for i in $(seq 20); do fa chat send "$idb" "burst $i" >/dev/null; done
wait_until 30 pending_is "$B" '[.pending[] | select(.state == "offered")] | length > 0' ||
    fail "burst not offered: $(fb plugin pending)"
fb plugin approve /fastn/chat/1.0.0 --grant streams >/dev/null 2>&1 &
approving=$!
sleep 0.1
kill -KILL "$B_PID"
wait "$approving" || true
wait "$B_PID" 2>/dev/null || true
B_PID=
start_at "$B" "$PB"
B_PID=$DAEMON_PID
fa connect "$(listen_addr "$B")" >/dev/null || true
fb plugin list 2>/dev/null | grep -q "^chat " || fb plugin approve /fastn/chat/1.0.0 --grant streams >/dev/null
for i in $(seq 20); do
    wait_until 30 received_at_least "$B" "burst $i" 1 || fail "burst $i lost: $(chat_log "$B")"
done
sleep 0.5
for i in $(seq 20); do
    [ "$(received "$B" "burst $i")" = 1 ] || fail "burst $i twice"
done
wait_until 30 pending_is "$B" '.pending | length == 0' ||
    fail "still kept after restart: $(fb plugin pending)"
pass "kill -9 during replay: after the restart every message delivered once"

# --- trusted: no command, chat fetched from A -----------------------------------------
H=$(new_home)
printf 'unknown-protocols = trusted\nauto-grant = streams, storage, notify, timers\n' >>"$H/config"
start_at "$H" 0
idh=$(peer_id "$H")
fh() { fastn --home "$H" --no-autostart "$@"; }
fh registry remove bundled >/dev/null
fa connect "$(listen_addr "$H")" >/dev/null
out=$(fa chat send "$idh" trusted hello)
[[ $out == "waiting "* || $out == "delivered "* ]] || fail "trusted send: $out"
wait_until 20 received_at_least "$H" "trusted hello" 1 || fail "trusted: not delivered: $(fh plugin pending)"
wait_until 20 log_has "$A" "-> $idh  trusted hello  \[delivered\]" || fail "trusted: A not told"
fh notifications --json | jq -e --arg a "$ida" '[.notifications[] |
    select(.body | startswith("Installed chat 1.0.0 from peer " + $a +
    ", signed by fastn-build"))] | length == 1' >/dev/null ||
    fail "trusted: notification: $(fh notifications --json)"
[ "$(fh plugin info chat --json | jq -r .signature)" = verified ] || fail "trusted: signature"
pass "trusted: chat fetched from A, installed, the message delivered, with no command"

# --- a peer that serves a tampered plugin -----------------------------------------------
HC=$(new_home)
printf 'serve-plugins = no\n' >>"$HC/config"
start_at "$HC" 0
fc() { fastn --home "$HC" --no-autostart "$@"; }
idc=$(peer_id "$HC")
fc plugin install "$CHAT" >/dev/null
cp "$CHAT" "$TMPROOT/chat.wasm"
cp "$CHAT.minisig" "$TMPROOT/chat.wasm.minisig"
printf 'flip-all %s\n' "$TMPROOT/chat.wasm" >"$TMPROOT/ctl"
fc listen /fastn/plugin/1.0.0 -- "$XFER" "@$TMPROOT/ctl" >/dev/null 2>"$TMPROOT/listen.err" &
STARTED_PIDS+=($!)
HT=$(new_home)
printf 'unknown-protocols = trusted\nauto-grant = streams, storage, notify, timers\n' >>"$HT/config"
start_at "$HT" 0
idt=$(peer_id "$HT")
ft() { fastn --home "$HT" --no-autostart "$@"; }
ft registry remove bundled >/dev/null
sleep 0.3
fc connect "$(listen_addr "$HT")" >/dev/null
out=$(fc chat send "$idt" tampered)
[[ $out == "waiting "* ]] || fail "tampered send: $out"
wait_until 20 pending_is "$HT" '.pending[0].state == "none"' ||
    fail "tampered: $(ft plugin pending)"
ft plugin pending --json | jq -e '.pending[0].why | test("bad signature")' >/dev/null ||
    fail "tampered: why: $(ft plugin pending)"
ft plugin list | grep -q "^chat " && fail "a tampered chat was installed"
[ ! -e "$HT/plugins/chat.wasm" ] || fail "chat.wasm written"
[ "$(ft plugin pending --json | jq '.pending[0].bytes')" -gt 0 ] || fail "the kept data is gone"
pass "a peer serving a tampered plugin: refused, nothing installed, the data kept"
