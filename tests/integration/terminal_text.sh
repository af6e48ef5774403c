#!/bin/bash
# What plugins (and peers, through them) hand to fastn cannot drive the
# terminal: a plugin's reply with escape sequences, C1 controls, a bidi
# override and bytes that are not UTF-8 is shown escaped on a terminal
# (util/term.h) and goes exact into a pipe; its manifest's description,
# its notifications and a chat message from a peer with a bidi override
# are shown escaped; --json has each exactly. (A peer's agent string:
# tests/interop/terminal_js.sh.)
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"

TEXT=$TOP/$BUILD/tests/plugins/text.wasm
[ -f "$TEXT" ] && [ -f "$CHAT" ] ||
    skip "plugins not built (no wasm32-wasi toolchain)"
has_jq || skip "jq is missing"

# clean TEXT: no raw control byte but newline, no C1 (raw or UTF-8), no
# bidi override or isolate, valid UTF-8
clean() {
    ! LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]\|\xc2[\x80-\x9f]\|\xe2\x80[\xaa-\xae]\|\xe2\x81[\xa6-\xa9]' <<<"$1" &&
        iconv -f UTF-8 -t UTF-8 <<<"$1" >/dev/null 2>&1
}
# on_tty CMD...: CMD's output as a terminal shows it (a raw pty: no CR
# added), whatever runs this test (tests/integration/on_tty.c)
on_tty() {
    "$TOP/$BUILD/tests/integration/on_tty" "$@"
}

chat_pair
fa plugin install "$TEXT" >/dev/null

# 1. a reply: exact into a pipe, escaped on a terminal, exact in --json
evil=$'a\e[2J\e]0;pwned\a\xc2\x9b1m\xe2\x80\xaeb\x9b\xff'
fa plugin call hostile-text say "$evil" >"$TMPROOT/reply"
printf '%s' "$evil" | cmp -s - "$TMPROOT/reply" ||
    fail "a piped reply is not exact: $(od -c "$TMPROOT/reply")"
out=$(on_tty "$FASTN_BIN_CLI" --home "$A" --no-autostart plugin call \
    hostile-text say "$evil")
clean "$out" || fail "raw bytes reached the terminal: $(od -c <<<"$out")"
[ "$out" = 'a\x1b[2J\x1b]0;pwned\x07\u009b1m\u202eb\x9b\xff' ] ||
    fail "reply on a terminal: $out ($(od -An -c <<<"$out" | tr -s " " | head -c 400))"
valid=$'a\e[2J\xc2\x9b\xe2\x80\xaeb'
[ "$(fa plugin call hostile-text say "$valid" --json | jq -r .result)" = "$valid" ] ||
    fail "--json reply is not exact"
pass "plugin call: exact in a pipe and --json, on a terminal: $out"

# 2. the manifest's description
info=$(fa plugin info hostile-text)
clean "$info" || fail "raw bytes in plugin info: $(od -c <<<"$info")"
grep -qF 'description  invoice \u202etxt.exe' <<<"$info" || fail "info: $info"
[ "$(fa plugin info hostile-text --json | jq -r .description)" = \
    $'invoice \xe2\x80\xaetxt.exe' ] || fail "--json description"
out=$(fa plugin list)
clean "$out" || fail "raw bytes in plugin list"
pass "plugin info: $(grep description <<<"$info")"

# 3. a notification (the host refuses control characters in it; a bidi
# override passes, and is shown escaped)
title=$'report\xe2\x80\xaefdp.exe'
[ "$(fa plugin call hostile-text notify "$title")" = 0 ] || fail "notify"
out=$(fa notifications)
clean "$out" || fail "raw bytes in notifications: $(od -c <<<"$out")"
grep -qF 'hostile-text: report\u202efdp.exe' <<<"$out" || fail "title: $out"
grep -qF '        report\u202efdp.exe' <<<"$out" || fail "body: $out"
j=$(fa notifications --json)
[ "$(jq -r .notifications[0].title <<<"$j")" = "$title" ] &&
    [ "$(jq -r .notifications[0].body <<<"$j")" = "$title" ] ||
    fail "--json notification: $j"
pass "notifications: $(sed -n 1p <<<"$out")"

# 4. a chat message from a peer: its log (text, so escaped even in a
# pipe) and the notification on the receiver
msg=$'hi \xe2\x80\xaeevil \xe2\x81\xa6isolated\xe2\x81\xa9'
[[ $(fa chat send "$idb" "$msg") == "delivered "* ]] || fail "chat send"
out=$(fb chat log)
clean "$out" || fail "raw bytes in chat log: $(od -c <<<"$out")"
grep -qF 'hi \u202eevil \u2066isolated\u2069' <<<"$out" || fail "chat log: $out"
out=$(fb notifications)
clean "$out" || fail "raw bytes in B's notifications"
grep -qF 'hi \u202eevil \u2066isolated\u2069' <<<"$out" || fail "B: $out"
[ "$(fb notifications --json | jq -r .notifications[0].body)" = "$msg" ] ||
    fail "--json chat notification"
pass "chat: $(tail -n 1 <<<"$(fb chat log)")"

# 5. a stream's bytes (fastn call): exact into a pipe, escaped on a
# terminal
fb plugin install "$ECHO" >/dev/null
printf '%s' "$evil" >"$TMPROOT/evil"
fa call "$idb" /fastn/echo/1.0.0 <"$TMPROOT/evil" >"$TMPROOT/echoed"
cmp -s "$TMPROOT/evil" "$TMPROOT/echoed" || fail "a piped stream is not exact"
out=$(on_tty sh -c '"$0" --home "$1" --no-autostart call "$2" /fastn/echo/1.0.0 <"$3"' \
    "$FASTN_BIN_CLI" "$A" "$idb" "$TMPROOT/evil")
clean "$out" || fail "raw stream bytes reached the terminal: $(od -c <<<"$out")"
[ "$out" = 'a\x1b[2J\x1b]0;pwned\x07\u009b1m\u202eb\x9b\xff' ] ||
    fail "stream on a terminal: $out"
pass "fastn call: exact in a pipe, on a terminal: $out"
