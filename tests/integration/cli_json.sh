#!/bin/bash
# Every command's --json: run against real daemons (two connected, with
# the echo and chat plugins; a third detached one for stop, restart and
# log), every output parsed with jq, and held against the command's own
# --help: each key printed is one its "--json:" text names, and each name
# there is printed by some run (as a key or a value) but for the values
# listed here that a test cannot bring about. Errors too: with --json
# they are {"error": {"code": "FASTN_ERR_...", "message"}} on stdout and
# nothing on stderr, with the non-zero exit code. And bytes that are not
# UTF-8 (in a home's name, a log line, a config value, a reply, a
# protocol, a plugin's error, an argument) never make the output invalid:
# each such byte is U+FFFD in text, payload is KEY_base64 (docs/CLI.md).
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"

[ -f "$ECHO" ] || skip "plugins not built (no wasm toolchain)"
has_jq || fail "jq is missing (scripts/install-deps.sh installs it)"
OUT=$TMPROOT/json
mkdir -p "$OUT"
N=0

# valid_utf8 FILE: the bytes are UTF-8 (jq would take any bytes, making
# them U+FFFD itself: it cannot tell)
valid_utf8() {
    iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1
}

# jr CMD EXIT [fastn args...]: runs fastn --json, keeps its output as a
# run of CMD, checks the exit code and that every line is a JSON object.
jr() {
    local cmd=$1 want=$2 rc
    shift 2
    N=$((N + 1))
    set +e
    fastn "$@" --json >"$OUT/$cmd.$N" 2>"$OUT/$cmd.$N.err"
    rc=$?
    set -e
    [ "$rc" = "$want" ] ||
        fail "fastn $* --json: exit $rc, want $want: $(cat "$OUT/$cmd.$N" "$OUT/$cmd.$N.err")"
    [ -s "$OUT/$cmd.$N" ] || fail "fastn $* --json printed nothing"
    jq -e 'type == "object"' "$OUT/$cmd.$N" >/dev/null ||
        fail "fastn $* --json: not JSON objects: $(cat "$OUT/$cmd.$N")"
    valid_utf8 "$OUT/$cmd.$N" ||
        fail "fastn $* --json: not UTF-8: $(od -c "$OUT/$cmd.$N" | head)"
}

# je CMD EXIT [fastn args...]: an error, as JSON on stdout only.
je() {
    local cmd=$1 want=$2 rc
    shift 2
    set +e
    fastn "$@" --json >"$OUT/err.out" 2>"$OUT/err.err"
    rc=$?
    set -e
    [ "$rc" = "$want" ] || fail "fastn $* --json: exit $rc, want $want"
    jq -e '(keys == ["error"]) and (.error | keys == ["code", "message"])
        and (.error.code | startswith("FASTN_ERR_"))
        and (.error.message | length > 10)' "$OUT/err.out" >/dev/null ||
        fail "fastn $* --json: not an error object: $(cat "$OUT/err.out")"
    valid_utf8 "$OUT/err.out" || fail "fastn $* --json: not UTF-8"
    [ ! -s "$OUT/err.err" ] || fail "fastn $* --json wrote to stderr: $(cat "$OUT/err.err")"
    [ "$(wc -l <"$OUT/err.out")" = 1 ] || fail "fastn $* --json: more than the error"
    echo "  $cmd: $(jq -c .error "$OUT/err.out")"
}

chat_pair
fa plugin install "$ECHO" >/dev/null
fb plugin install "$ECHO" >/dev/null
AA=$(listen_addr "$A")
BA=$(listen_addr "$B")

jr id 0 --home "$A" id
jr status 0 --home "$A" status
jr peers 0 --home "$A" peers
jr disconnect 0 --home "$A" disconnect "$idb"
jr connect 0 --home "$A" connect "$BA"
jr connect 0 --home "$A" connect "$idb" --wait-direct
jr ping 0 --home "$A" ping "$idb" -c 2 -i 0
jr call 0 --home "$A" call "$idb" /fastn/echo/1.0.0 <<<"hello"
printf '\377\376bytes' >"$TMPROOT/bin"
jr call 0 --home "$A" call "$idb" /fastn/echo/1.0.0 <"$TMPROOT/bin"
jq -e '.reply_base64 == "//5ieXRlcw=="' "$OUT/call.$N" >/dev/null ||
    fail "bytes that are not UTF-8: $(cat "$OUT/call.$N")"
pass "call --json: the reply as text, or as base64 when it is not UTF-8"

# listen, without and with CMD: "listening", "stream", "end"
fb listen /json/1.0.0 -n 1 --json >"$OUT/listen.plain" 2>/dev/null &
L=$!
STARTED_PIDS+=("$L")
wait_for grep -q listening "$OUT/listen.plain" || fail "listen did not register"
fa call "$idb" /json/1.0.0 <<<"to the listener" >/dev/null
wait "$L" || fail "listen -n 1 exited $?"
fb listen /jcmd/1.0.0 -n 1 --json -- cat >"$OUT/listen.cmd" 2>/dev/null &
L=$!
STARTED_PIDS+=("$L")
wait_for grep -q listening "$OUT/listen.cmd" || fail "listen CMD did not register"
fa call "$idb" /jcmd/1.0.0 <<<"echoed by cat" >/dev/null
wait "$L" || fail "listen -n 1 -- cat exited $?"
jq -s -e 'any(.[]; .event == "end" and .bytes == 16)' "$OUT/listen.plain" >/dev/null ||
    fail "no end event with the bytes: $(cat "$OUT/listen.plain")"
jq -s -e 'any(.[]; .event == "end" and .exit_code == 0)' "$OUT/listen.cmd" >/dev/null ||
    fail "no end event for the command: $(cat "$OUT/listen.cmd")"
[ "$(jq -r .event "$OUT/listen.cmd" | tr '\n' ' ')" = "listening stream end " ] ||
    fail "listen CMD events: $(cat "$OUT/listen.cmd")"
pass "listen --json: listening, stream and end events, with and without CMD"

# plugins
jr plugin 0 --home "$A" plugin install "$ECHO" --replace
jr plugin 0 --home "$A" plugin list
jr plugin 0 --home "$A" plugin info echo
jr plugin 0 --home "$A" plugin restrict echo --protocol /fastn/echo/1.0.0 --serves known-peers
jr plugin 0 --home "$A" plugin restrict chat --withhold notify
jr plugin 0 --home "$A" plugin restrict chat --grant notify
jr plugin 0 --home "$A" plugin disable echo
jr plugin 0 --home "$A" plugin enable echo
jr plugin 0 --home "$A" plugin call echo echo "a call"
# signed plugins: search and update (the installation's registry), one
# from the peer; trusted keys and registries
jr plugin 0 --home "$A" plugin search
jr plugin 0 --home "$A" plugin update
jr plugin 0 --home "$A" plugin install --from "$idb" chat --replace
jr trust 0 --home "$A" trust list
jr registry 0 --home "$A" registry add "$TOP/$BUILD/plugins" --name here
jr registry 0 --home "$A" registry list
jr registry 0 --home "$A" registry remove here
jr registry 0 registry build --output "$TMPROOT/index.json" "$TOP/$BUILD/plugins"
# chat and notifications: B writes to A (delivered), A to a peer that
# is nowhere (queued)
"$PROBE" genkey "$TMPROOT/nobody.key"
nobody=$("$PROBE" peerid "$TMPROOT/nobody.key")
jr chat 0 --home "$B" chat send "$ida" "hello A"
jr chat 0 --home "$A" chat send "$nobody" "to nobody"
jr chat 0 --home "$A" chat send "$idb" "hello B"
jr chat 0 --home "$A" chat log
jq -e '[.messages[] | .direction] | contains(["in", "out"])' "$OUT/chat.$N" >/dev/null ||
    fail "chat log: $(cat "$OUT/chat.$N")"
jq -e '[.messages[] | select(.text == "hello A" and .peer_id == "'"$idb"'")] | length == 1' \
    "$OUT/chat.$N" >/dev/null || fail "chat log entries: $(cat "$OUT/chat.$N")"
pass "chat log --json: messages as objects"

"$PROBE" genkey "$TMPROOT/other.key"
other=$("$PROBE" peerid "$TMPROOT/other.key")
jr peer 0 --home "$A" peer allow "$nobody"
jr peer 0 --home "$A" peer block "$other"
jr peer 0 --home "$A" peer list
jq -e '[.peers[] | .state] | sort == ["allowed", "blocked"]' "$OUT/peer.$N" \
    >/dev/null || fail "peer list: $(cat "$OUT/peer.$N")"
pass "peer allow, block, list --json"
wait_until 10 fa notifications count || fail "no notification"
jr notifications 0 --home "$A" notifications
nid=$(jq -r '.notifications[-1].id' "$OUT/notifications.$N")
jr notifications 0 --home "$A" notifications count
fa notifications --follow --json >"$OUT/notifications.follow" 2>/dev/null &
F=$!
STARTED_PIDS+=("$F")
wait_for grep -q '"old"' "$OUT/notifications.follow" || fail "follow: no old ones"
fb chat send "$ida" "while following" >/dev/null
wait_for grep -q '"new"' "$OUT/notifications.follow" || fail "follow: no new one"
jr notifications 0 --home "$A" notifications read "$nid"
jr notifications 0 --home "$A" notifications unread "$nid"
fa notifications read --all >/dev/null
wait_for grep -q '"all-read"' "$OUT/notifications.follow" || fail "follow: no all-read"
kill "$F" 2>/dev/null || true
N=$((N + 1))
cp "$OUT/notifications.follow" "$OUT/notifications.$N"
# forward, expose, perf
N=$((N + 1))
fa forward 0 "$idb" --json >"$OUT/forward.$N" 2>"$OUT/forward.err" &
F=$!
STARTED_PIDS+=("$F")
wait_for grep -q port "$OUT/forward.$N" || fail "forward --json"
jr forward 0 --home "$A" forward --list
kill "$F" 2>/dev/null || true
N=$((N + 1))
fb expose 127.0.0.1:9 --allow "$ida" --protocol /jexpose/1.0.0 --json \
    >"$OUT/expose.$N" 2>/dev/null &
F=$!
STARTED_PIDS+=("$F")
wait_for grep -q target "$OUT/expose.$N" || fail "expose --json"
jr forward 0 --home "$B" forward --list
jq -e '.forwards[0].kind == "expose" and .forwards[0].target == "/ip4/127.0.0.1/tcp/9"' \
    "$OUT/forward.$N" >/dev/null || fail "forward --list: $(cat "$OUT/forward.$N")"
kill "$F" 2>/dev/null || true
jr perf 0 --home "$A" perf "$idb" --upload 64K --download 64K -q
# config: A's listen comes from its command line (a restart key)
jr config 0 --home "$A" config list
jr config 0 --home "$A" config set keepalive 25
jr config 0 --home "$A" config get keepalive
jr config 0 --home "$A" config set listen /ip4/127.0.0.1/tcp/0
jq -e '.restart == true and .reloaded == true' "$OUT/config.$N" >/dev/null ||
    fail "listen set on a daemon whose command line sets it: $(cat "$OUT/config.$N")"
jr config 0 --home "$A" config unset keepalive
# a detached daemon: log, restart, stop, version, doctor, help
# (its home's name is not UTF-8: each path in the output has U+FFFD)
C=$TMPROOT/$'c.\xff\xfe'
mkdir -m 700 "$C"
printf 'listen = /ip4/127.0.0.1/tcp/0\n' >"$C/config"
fastn --home "$C" id >/dev/null 2>&1
printf '2025-01-31T12:00:00Z warn net: a line with \xc0\xaf and \xed\xa0\x80\n' \
    >>"$C/fastnd.log"
jr log 0 --home "$C" log -n 5
jq -s -e 'any(.[]; .level == "warn" and .message ==
    "a line with \ufffd\ufffd and \ufffd\ufffd\ufffd")' "$OUT/log.$N" >/dev/null ||
    fail "a log line with an overlong form and a surrogate: $(cat "$OUT/log.$N")"
jr status 0 --home "$C" status
jq -e '(.home | endswith("/c.\ufffd\ufffd")) and
    (.log_file | endswith("/c.\ufffd\ufffd/fastnd.log"))' "$OUT/status.$N" \
    >/dev/null || fail "a home that is not UTF-8: $(cat "$OUT/status.$N")"
jr log 0 --home "$A" log -n 2
jq -s -e 'all(.[]; .time == null)' "$OUT/log.$N" >/dev/null ||
    fail "a foreground daemon's stderr lines have no time: $(cat "$OUT/log.$N")"
jr restart 0 --home "$C" restart
jr stop 0 --home "$C" stop
jr stop 0 --home "$C" stop
jr restart 0 --home "$C" restart # none running: a start
jq -e '.how == "start" and .old_pid == null' "$OUT/restart.$N" >/dev/null ||
    fail "restart with none running: $(cat "$OUT/restart.$N")"
jr stop 0 --home "$C" stop
jr version 0 --home "$A" version
jr version 0 --version
jr config 0 --home "$C" config list
jr config 0 --home "$C" config get listen
jr doctor 0 --home "$A" doctor
jr doctor 1 --home "$C" doctor # no daemon: a failed check, not an error
jq -e '.ok == false and ([.checks[] | select(.status == "fail") |
    .name] == ["daemon"]) and (.checks[0].fix | contains("fastn id"))' \
    "$OUT/doctor.$N" >/dev/null || fail "doctor with no daemon: $(cat "$OUT/doctor.$N")"
jr help 0 help
jr help 0 help id
pass "$N outputs are JSON objects"

# Errors, as JSON on stdout only
jr_none=$(new_home)
je id 1 --home "$jr_none" --no-autostart id
je status 1 --home "$jr_none" --no-autostart status
je peers 1 --home "$jr_none" --no-autostart peers
je connect 1 --home "$A" connect "/ip4/127.0.0.1/tcp/1/p2p/$idb"
je disconnect 1 --home "$A" disconnect BADID
je ping 1 --home "$A" ping BADID
je call 1 --home "$A" call "$idb" /ipfs/nothing/1.0.0
je listen 1 --home "$A" listen /fastn/echo/1.0.0
je plugin 1 --home "$A" plugin info nothing
je notifications 1 --home "$A" notifications read 999999
je chat 1 --home "$A" chat log BADPEER
je forward 1 --home "$A" forward 0 BADID
je expose 2 --home "$A" expose not-a-target --allow "$idb"
je perf 1 --home "$A" perf BADID
je stop 2 --home "$A" stop --now
je restart 1 --home "$A" restart
je config 1 --home "$A" config set keepalive soon
je log 2 --home "$A" log --since yesterday-ish
je doctor 2 --home "$A" doctor --bogus
je version 2 --home "$A" version extra
je help 2 help nothing
je registry 1 registry build "$TMPROOT/no-such-folder"
je unknown 2 stauts
pass "errors are {\"error\": {\"code\", \"message\"}} on stdout, with the exit code"

# Bytes that are not UTF-8, from a plugin, a peer's listener and the
# command line: U+FFFD in text, base64 for payload, in results and
# errors alike
TEXT=$TOP/$BUILD/tests/plugins/text.wasm
[ -f "$TEXT" ] || fail "tests/plugins/text.wasm is not built"
fa plugin install --unsigned "$TEXT" >/dev/null
printf '\377\000\376' >"$TMPROOT/nul"
jr plugin 0 --home "$A" plugin call hostile-text say - <"$TMPROOT/nul"
jq -e '.result_base64 == "/wD+"' "$OUT/plugin.$N" >/dev/null ||
    fail "a reply that is not UTF-8: $(cat "$OUT/plugin.$N")"
jr plugin 0 --home "$A" plugin call hostile-text say $'caf\xc3\xa9 \xe2\x80\xae'
jq -e '.result == "caf\u00e9 \u202e"' "$OUT/plugin.$N" >/dev/null ||
    fail "a reply in UTF-8: $(cat "$OUT/plugin.$N")"
je plugin 1 --home "$A" plugin call hostile-text fail $'bad \xff\xfe bytes'
jq -e '.error.message | contains("bad \ufffd\ufffd bytes")' "$OUT/err.out" \
    >/dev/null || fail "a plugin's error that is not UTF-8: $(cat "$OUT/err.out")"
je plugin 1 --home "$A" plugin info $'n\xffo'
je ping 1 --home "$A" ping $'12D3\xff'
jq -e '.error.message | contains("12D3\ufffd")' "$OUT/err.out" >/dev/null ||
    fail "the argument in the error: $(cat "$OUT/err.out")"
je unknown 2 $'st\xe9tus'
je config 2 --home "$A" config get $'listen\xff'
je config 1 --home "$A" config set listen $'/ip4/\xff/tcp/1'
fb listen $'/bytes\xff/1.0.0' -n 1 --json >"$OUT/listen.bytes" 2>/dev/null &
L=$!
STARTED_PIDS+=("$L")
wait_for grep -q listening "$OUT/listen.bytes" || fail "listen: no listening event"
printf 'x' | fa call "$idb" $'/bytes\xff/1.0.0' >/dev/null
wait "$L" || fail "listen on a protocol that is not UTF-8 exited $?"
valid_utf8 "$OUT/listen.bytes" || fail "listen's events are not UTF-8"
[ "$(jq -r .protocol "$OUT/listen.bytes" | sort -u)" = $'/bytes\xef\xbf\xbd/1.0.0' ] ||
    fail "listen's protocol: $(cat "$OUT/listen.bytes")"
pass "bytes that are not UTF-8: U+FFFD in text, base64 for payload, also in errors"

# Each command's output against its --help's "--json:" text.
documented() { # CMD: the quoted words of its --json text
    fastn help "$1" | sed -n '/^--json/,$p' | grep -o '"[a-zA-Z_][a-zA-Z0-9_-]*"' |
        tr -d '"' | sort -u
}
# values a run here cannot bring about
declare -A unseen=(
    [listen]="signal"
    [notifications]="deleted"
    [restart]="systemd"
    [doctor]="skip fail"
    [chat]="waiting"
    [connect]="punch_ms relayed_why"
    [plugin]="error error_text asked port bound address target"
)
for cmd in id status peers connect disconnect ping call listen plugin \
    trust registry notifications chat peer forward expose perf stop restart \
    config log doctor version help; do
    files=("$OUT/$cmd".*)
    files=("${files[@]/*.err/}")
    [ -n "${files[*]// /}" ] || fail "no --json run of $cmd"
    doc=$(documented "$cmd")
    [ -n "$doc" ] || fail "fastn help $cmd states no --json shape"
    # keys printed (but the protocol ids that key protocol_serves)
    keys=$(cat ${files[*]} | jq -r 'walk(if type == "object" and
        has("protocol_serves") then .protocol_serves = {} else . end) |
        [paths | .[] | strings] | unique[]' | sort -u)
    for k in $keys; do
        grep -qx -- "$k" <<<"$doc" || fail "$cmd prints \"$k\", which its --help does not name"
    done
    words=$( (echo "$keys"; cat ${files[*]} | jq -r '[.. | strings] | unique[]') | sort -u)
    for d in $doc; do
        grep -qx -- "$d" <<<"$words" && continue
        grep -qw -- "$d" <<<"${unseen[$cmd]:-}" && continue
        fail "$cmd --help names \"$d\", which no run printed"
    done
    echo "  $cmd: $(wc -w <<<"$keys") keys, all documented"
done
pass "every command's --json matches what its --help states"
