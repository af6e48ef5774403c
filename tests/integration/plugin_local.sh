#!/bin/bash
# The loopback capabilities (local-listen, local-connect) on a real
# daemon with the test plugin hostile-local: its port serves 127.0.0.1 and
# ::1 only (8 MiB echoed whole on each, the stream flagged local with the
# client's address), moves to a port the system picks when its own is
# taken (logged, shown by plugin info and --json), follows plugin-listen
# and the user's restrict; local_connect reaches the address its manifest
# names (moved by plugin-connect to the test's server) and is refused for
# any other; streams are limited in count; a plugin that does not read
# and a client that does not read are held back, the daemon serving on.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/chat.bash"
LT=$TOP/$BUILD/tests/plugins/local.wasm
TT=$TOP/$BUILD/tests/integration/tcp_tool
[ -f "$LT" ] || skip "plugins not built (no wasm32-wasi toolchain)"
has_jq || skip "jq is missing"
command -v ss >/dev/null || skip "ss (iproute2) is missing"
# a machine without IPv6 has 127.0.0.1 alone (the log says so)
V6=1
ip -6 addr show dev lo 2>/dev/null | grep -q '::1' || V6=

# a TCP server: tcp_tool MODE prints its port once listening
serve() { # OUTFILE MODE...
    local out=$1
    shift
    "$TT" "$@" >"$out" &
    STARTED_PIDS+=($!)
    wait_for test -s "$out" || fail "tcp_tool $* did not start"
}
serve "$TMPROOT/taken" hold
TAKEN=$(head -1 "$TMPROOT/taken")
serve "$TMPROOT/echo" echo
ECHOP=$(head -1 "$TMPROOT/echo")

A=$(new_home)
cat >>"$A/config" <<CFG
plugin-listen = hostile-local echo $TAKEN
plugin-connect = hostile-local 127.0.0.1:47312 127.0.0.1:$ECHOP
CFG
start_fg "$A"
fa() { fastn --home "$A" --no-autostart "$@"; }
out=$(fa plugin install --unsigned "$LT")
echo "$out" | grep -q "local-listen" || fail "install did not show local-listen: $out"
info() { fa plugin info hostile-local --json; }
wait_until 5 test "$(info | jq '.local_listen[0].bound')" != 0 ||
    fail "not listening: $(info)"
PORT=$(info | jq '.local_listen[0].bound')
[ "$PORT" != "$TAKEN" ] || fail "bound the taken port"
[ "$(info | jq '.local_listen[0].port')" = "$TAKEN" ] || fail "port: $(info)"
[ "$(info | jq '.local_listen[0].asked')" = 47311 ] || fail "asked: $(info)"
grep -q "hostile-local: port $TAKEN is taken: listening on 127.0.0.1:$PORT" \
    "$A/stderr.log" || fail "the fallback was not logged"
text=$(fa plugin info hostile-local)
[ -z "$V6" ] || grep -q "listens *echo: 127.0.0.1:$PORT and \[::1\]:$PORT (port $TAKEN was taken)" <<<"$text" ||
    fail "plugin info: $text"
pass "port $TAKEN taken: 127.0.0.1 and ::1 at $PORT instead, logged, in plugin info and --json"

# only loopback: every socket listening on PORT is 127.0.0.1 or ::1
addrs=$(ss -Hltn "sport = :$PORT" | awk '{print $4}' | sort | tr '\n' ' ')
[ "$addrs" = "127.0.0.1:$PORT ${V6:+[::1]:$PORT }" ] || fail "listening on: $addrs"
SIZE=$((8 * 1048576))
"$TT" check 127.0.0.1 "$PORT" $SIZE >/dev/null || fail "8 MiB over 127.0.0.1"
last=$(fa plugin call hostile-local last)
[[ "$last" =~ ^flags=4\ from=127\.0\.0\.1:[0-9]+\ port=echo$ ]] || fail "last: $last"
if [ -n "$V6" ]; then
    "$TT" check ::1 "$PORT" $SIZE >/dev/null || fail "8 MiB over ::1"
    last=$(fa plugin call hostile-local last)
    [[ "$last" =~ ^flags=4\ from=\[::1\]:[0-9]+\ port=echo$ ]] || fail "last: $last"
fi
pass "8 MiB echoed whole over 127.0.0.1 and ::1, only there; flagged local, with the client's address"

# local_connect: the manifest's address, moved by the config
out=$(fa plugin call hostile-local connect 127.0.0.1:47312)
[ "$out" = "flags=4 got=hello" ] || fail "connect: $out"
[ "$(info | jq -r '.local_connect[0] | "\(.address) \(.target)"')" = \
    "127.0.0.1:47312 127.0.0.1:$ECHOP" ] || fail "local_connect in info: $(info)"
pass "local_connect to its manifest's address, moved by plugin-connect to 127.0.0.1:$ECHOP"

# any other address is refused, and the log says why
for bad in 127.0.0.1:$ECHOP 127.0.0.1:22 10.0.0.1:47312 '[::1]:47312' localhost:47312; do
    if out=$(fa plugin call hostile-local connect "$bad" 2>&1); then
        fail "connect $bad worked: $out"
    fi
    echo "$out" | grep -q "did not ask for this capability" || fail "$bad: $out"
done
grep -q 'hostile-local: local_connect to "127.0.0.1:'"$ECHOP"'" refused: not in its manifest (its manifest names 127.0.0.1:47312)' \
    "$A/stderr.log" || fail "the refusal was not logged"
grep -q 'local_connect to "10.0.0.1:47312" refused: not a loopback address' \
    "$A/stderr.log" || fail "the non-loopback refusal was not logged"
pass "local_connect to an address outside its manifest refused (5 kinds), logged"

# the count of streams: 4, like its streams limit; the 5th is closed
for i in 1 2 3 4; do
    exec {fd}<>/dev/tcp/127.0.0.1/$PORT
    eval "FD$i=$fd"
done
wait_until 5 test "$(info | jq .open_streams)" = 4 || fail "streams: $(info | jq .open_streams)"
exec {fd5}<>/dev/tcp/127.0.0.1/$PORT
if timeout 5 head -c1 <&$fd5 >/dev/null 2>&1; then :; fi
grep -q "hostile-local: local connection from 127.0.0.1:[0-9]* refused" \
    "$A/stderr.log" || fail "a 5th connection was not refused"
[ "$(info | jq .open_streams)" = 4 ] || fail "streams after the 5th: $(info | jq .open_streams)"
exec {fd5}>&- {FD1}>&- {FD2}>&- {FD3}>&- {FD4}>&-
wait_until 5 test "$(info | jq .open_streams)" = 0 || fail "streams stayed open"
pass "4 local streams at once (its limit); the 5th refused and logged"

# backpressure: a plugin that does not read holds the client back, the
# daemon's buffers for it stay bounded, then it all comes through
[ "$(fa plugin call hostile-local hold on)" = holding ] || fail "hold on"
set +e
timeout 3 "$TT" check 127.0.0.1 "$PORT" $((256 * 1048576)) >/dev/null 2>&1
rc=$?
set -e
[ $rc = 124 ] || fail "a plugin that does not read: the client was not held back ($rc)"
host=$(info | jq .memory.host)
[ "$host" -lt $((4 * 1048576)) ] || fail "host buffers grew to $host"
[ "$(fa plugin call hostile-local hold off)" = reading ] || fail "hold off"
"$TT" check 127.0.0.1 "$PORT" $SIZE >/dev/null || fail "8 MiB after hold off"
pass "a plugin that does not read: the client held back, host buffers $host bytes; reads again"

# a client that never reads the echo: held back in turn
exec {fd}<>/dev/tcp/127.0.0.1/$PORT
set +e
timeout 3 head -c $((256 * 1048576)) /dev/zero >&$fd
rc=$?
set -e
[ $rc = 124 ] || fail "a client that does not read was not held back ($rc)"
host=$(info | jq .memory.host)
[ "$host" -lt $((4 * 1048576)) ] || fail "host buffers grew to $host"
"$TT" check 127.0.0.1 "$PORT" 100000 >/dev/null || fail "other clients not served"
exec {fd}>&-
pass "a client that does not read: held back, host buffers $host bytes, others served"

# the user withholds local-listen: the port closes; granted back, open
fa plugin restrict hostile-local --withhold local-listen >/dev/null
wait_until 5 test "$(info | jq '.local_listen[0].bound')" = 0 || fail "still listening"
if "$TT" check 127.0.0.1 "$PORT" 10 >/dev/null 2>&1; then fail "served while withheld"; fi
fa plugin restrict hostile-local --grant local-listen >/dev/null
wait_until 5 test "$(info | jq '.local_listen[0].bound')" != 0 || fail "not listening again"
P2=$(info | jq '.local_listen[0].bound')
"$TT" check 127.0.0.1 "$P2" 1000 >/dev/null || fail "not served after grant"
pass "restrict --withhold local-listen closes its port; --grant opens it again"
