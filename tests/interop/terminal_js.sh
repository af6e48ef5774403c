#!/bin/bash
# What a peer says about itself cannot drive the terminal: a js-libp2p
# peer (tests/interop/js/peer.mjs) whose identify agent string carries
# terminal escapes (clear screen, set the window title), a C1 control and
# a bidi override, and which serves a protocol named with an escape.
# `fastn peers` shows them escaped (util/term.h): none of those bytes
# reach its output; `fastn peers --json` has them exactly. Skipped (77)
# without Node.js >= 20.
. "$(dirname "$0")/../integration/common.bash"
. "$(dirname "$0")/../integration/net.bash"

JS=$TOP/tests/interop/js
sh "$JS/install.sh" || exit $?
has_jq || skip "jq is missing"
jsonl() { node "$JS/jsonl.mjs" "$@"; }

# ESC [2J (clear), ESC ]0;...BEL (window title), U+009B (C1 CSI as UTF-8),
# U+202E (right-to-left override)
agent=$'evil\e[2J\e]0;pwned\a\xc2\x9b1m \xe2\x80\xaeexe.txt'
proto=$'/evil/\e[31m/1.0.0'

H=$(new_home)
start_net "$H"
node "$JS/peer.mjs" --timeout 60 --agent "$agent" --echo "$proto" \
    >"$TMPROOT/js.out" 2>"$TMPROOT/js.err" &
STARTED_PIDS+=("$!")
jsaddr=$(jsonl --wait 30 "$TMPROOT/js.out" ready addrs.0) ||
    fail "js did not start: $(cat "$TMPROOT/js.err")"
jsid=$(jsonl "$TMPROOT/js.out" ready peerId)
fastn --home "$H" connect "$jsaddr" >/dev/null || fail "connect"
has_agent() {
    [ "$(fastn --home "$H" peers --json | jq -r '.peers[0].agent')" = "$agent" ]
}
wait_for has_agent ||
    fail "--json does not have the agent exactly: $(fastn --home "$H" peers --json)"
json=$(fastn --home "$H" peers --json)
jq -r '.peers[0].protocols[]' <<<"$json" | grep -qxF "$proto" ||
    fail "--json does not have the protocol exactly: $json"
pass "peers --json: agent and protocol exactly as the peer sent them"

text=$(fastn --home "$H" peers)
grep -q "^$jsid " <<<"$text" || fail "no line for the js peer: $text"
# no control byte (C0 but the newline, DEL, C1 bytes) and no bidi
# override in the output, as bytes
if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f\x80-\x9f]\|\xe2\x80[\xaa-\xae]\|\xe2\x81[\xa6-\xa9]\|\xc2[\x80-\x9f]' <<<"$text"; then
    fail "raw control or bidi bytes in fastn peers: $(od -c <<<"$text" | head -20)"
fi
want='evil\x1b[2J\x1b]0;pwned\x07\u009b1m \u202eexe.txt'
grep -qF " $want" <<<"$text" || fail "agent not shown escaped: $text"
pass "fastn peers shows the agent escaped: $(grep -F "$jsid" <<<"$text")"
