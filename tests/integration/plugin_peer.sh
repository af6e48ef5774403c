#!/bin/bash
# A plugin from the peer, over /fastn/plugin/1.0.0 (docs/REGISTRY.md):
# daemon B, without chat, gets it from daemon A (by protocol, by name),
# verified (size, sha256, a trusted signature) and shown as signed. A
# serves only the signed plugins it has installed: never an unsigned one,
# nor one whose file no longer matches its signature. Serving turned off
# in the config (also by SIGHUP) is refused clearly. A peer that serves a
# tampered plugin (tests/integration/xfer_serve: the bytes altered, or
# altered with an offer to match, or signed by a key B does not trust) is
# refused and nothing is installed. A peer asking too often is told to
# wait (BUSY), and junk on the protocol ends only that stream.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/registry.bash"
has_jq || skip "jq is missing"

CHAT=$TOP/$BUILD/plugins/chat.wasm
XFER=$TOP/$BUILD/tests/integration/xfer_serve
HA=$(new_home)
HB=$(new_home)
start_net "$HA"
PID_A=$DAEMON_PID
start_net "$HB"
fa() { fastn --home "$HA" --no-autostart "$@"; }
fb() { fastn --home "$HB" --no-autostart "$@"; }
fa plugin install "$CHAT" >/dev/null
fa plugin install --unsigned "$GREET/greet-1.0.0.wasm" >/dev/null
A=$(peer_id "$HA")
fb connect "$(listen_addr "$HA")" >/dev/null

# --- from the peer ------------------------------------------------------------
out=$(fb plugin install --from "$A" /fastn/chat/1.0.0)
grep -q "^installed chat 1.0.0 from peer $A, signed by fastn-build (key " <<<"$out" ||
    fail "install --from: $out"
grep -q "^publisher    fastn .* bundled plugin chat.wasm$" <<<"$out" || fail "note: $out"
cmp -s "$CHAT" "$HB/plugins/chat.wasm" || fail "B's chat is not A's"
[ "$(fb plugin info chat --json | jq -r .signature)" = verified ] || fail "B's signature"
[ "$(fb plugin info chat --json | jq -r .state)" = running ] || fail "B's chat is not running"
fb plugin remove chat >/dev/null
j=$(fb plugin install --from "$A" chat --json)
[ "$(jq -r '.name + " " + .peer_id' <<<"$j")" = "chat $A" ] || fail "by name: $j"
ls -a "$HB/plugins" | grep -q '^\.fetch' && fail "a temporary file was left"
pass "B installs chat from A, by protocol and by name, verified"

# --- what A never serves -----------------------------------------------------------
for what in greet /fastn-test/greet/1.0.0 nosuch; do
    if err=$(fb plugin install --from "$A" "$what" 2>&1); then
        fail "A served $what"
    fi
    grep -q "no signed plugin" <<<"$err" || fail "$what: $err"
done
fb plugin list | grep -q "^greet " && fail "greet (unsigned on A) was installed on B"
# a plugin whose file changed after it was signed is not served either
fb plugin remove chat >/dev/null
printf '\x01' | dd of="$HA/plugins/chat.wasm" bs=1 seek=3000 conv=notrunc 2>/dev/null
if err=$(fb plugin install --from "$A" chat 2>&1); then fail "an altered chat was served"; fi
grep -q "no signed plugin" <<<"$err" || fail "altered: $err"
grep -q "not serving plugin chat: its signature does not hold" "$HA/stderr.log" ||
    fail "A did not say why"
cp "$CHAT" "$HA/plugins/chat.wasm"
pass "A never serves an unsigned plugin, nor one altered after signing"

# --- serving turned off ---------------------------------------------------------------
printf 'serve-plugins = no\n' >>"$HA/config"
sighup "$PID_A" "$HA/stderr.log"
if err=$(fb plugin install --from "$A" chat 2>&1); then fail "served while off"; fi
grep -q "peer $A does not serve plugins (its fastnd has serve-plugins = no" <<<"$err" ||
    fail "off: $err"
[ "$(fb plugin install --from "$A" chat --json | jq -r .error.code)" = \
    FASTN_ERR_XFER_REFUSED ] || fail "off --json"
sed -i '/serve-plugins/d' "$HA/config"
sighup "$PID_A" "$HA/stderr.log" || { top -b -n1 | head -15; cat "$HA/stderr.log"; gdb -p $PID_A -batch -ex "thread apply all bt" 2>/dev/null | head -60; exit 1; }
fb plugin install --from "$A" chat >/dev/null || fail "not served again after SIGHUP"
fb plugin remove chat >/dev/null
pass "serve-plugins = no refuses clearly; SIGHUP turns it off and on"

# --- a peer serving a tampered plugin -------------------------------------------------
HC=$(new_home)
printf 'serve-plugins = no\n' >>"$HC/config"
start_net "$HC"
fc() { fastn --home "$HC" --no-autostart "$@"; }
C=$(peer_id "$HC")
fb connect "$(listen_addr "$HC")" >/dev/null
cp "$CHAT" "$TMPROOT/chat.wasm"
cp "$CHAT.minisig" "$TMPROOT/chat.wasm.minisig"
# C answers /fastn/plugin/1.0.0 with xfer_serve, as $TMPROOT/ctl says
printf 'good %s\n' "$TMPROOT/chat.wasm" >"$TMPROOT/ctl"
fc listen /fastn/plugin/1.0.0 -- "$XFER" "@$TMPROOT/ctl" >/dev/null \
    2>"$TMPROOT/listen.err" &
STARTED_PIDS+=($!)
sleep 0.5
serve_as() { # MODE [FILE]
    printf '%s %s\n' "$1" "${2:-$TMPROOT/chat.wasm}" >"$TMPROOT/ctl"
}
tampered() { # MODE WANT-TEXT [FILE]
    local err
    serve_as "$1" "${3:-}"
    if err=$(fb plugin install --from "$C" chat 2>&1); then fail "$1 installed"; fi
    grep -q "$2" <<<"$err" || fail "$1: $err"
    fb plugin list | grep -q "^chat " && fail "$1: chat installed"
    ls -a "$HB/plugins" | grep -q '^\.fetch' && fail "$1: a temporary file left"
    [ ! -e "$HB/plugins/chat.wasm" ] || fail "$1: chat.wasm written"
    pass "a peer serving a plugin $1: refused, nothing installed ($err)"
}
tampered flip-body "sha256 is not the one announced"
tampered flip-all "from peer $C, signed by fastn-build (key [0-9A-F]*): bad signature"
make_key mallory
cp "$CHAT" "$TMPROOT/mal.wasm"
sign mallory "$TMPROOT/mal.wasm"
tampered good "chat 1.0.0 from peer $C, signed by key $(key_id mallory): signed by a key that is not trusted" "$TMPROOT/mal.wasm"
serve_as good
fb plugin install --from "$C" chat >/dev/null || fail "the honest fake was refused"
pass "the same peer serving it as it was signed: installed"

# --- bounded: junk, and too many asks ---------------------------------------------
if head -c 6000 /dev/zero | fb call "$A" /fastn/plugin/1.0.0 >/dev/null 2>&1; then
    fail "junk was answered"
fi
fa id >/dev/null || fail "A is gone after junk"
HD=$(new_home)
start_net "$HD"
D=$(peer_id "$HD")
fb connect "$(listen_addr "$HD")" >/dev/null
for i in $(seq 10); do
    err=$(fb plugin install --from "$D" nosuch 2>&1) && fail "nosuch installed"
    grep -q "no signed plugin" <<<"$err" || fail "ask $i: $err"
done
if err=$(fb plugin install --from "$D" nosuch 2>&1); then fail "11th"; fi
grep -q "busy\|does not serve plugins now" <<<"$err" || fail "the 11th ask in a minute: $err"
fd() { fastn --home "$HD" --no-autostart "$@"; }
fd id >/dev/null || fail "D is gone"
pass "junk ends its stream; the 11th ask of a peer within a minute is told to wait"
