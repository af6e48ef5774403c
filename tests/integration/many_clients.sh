#!/bin/bash
# Many local programs at once through one daemon (the smaller run of
# bench/net/clients.sh): 200 libfastn clients, each with its own control
# connection, make 20 calls each through daemon A to daemon B's plugins,
# all at once: to echo, and to a plugin that takes 4 streams at a time,
# so that 196 streams at once must wait for it, and to the built-in
# perf protocol. Every call must succeed:
# stream opens wait for the peer's multiplexer (yamux's 256
# unacknowledged opens) and streams wait for room in their plugin, rather
# than fail; the wait is logged.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
NARROW=$TOP/$BUILD/tests/plugins/narrow.wasm
CLIENTS=$TOP/$BUILD/bench/net/clients
[ -f "$ECHO" ] && [ -f "$NARROW" ] ||
    skip "plugins not built (no wasm32-wasi toolchain)"
has_jq || skip "jq is missing"
[ -x "$CLIENTS" ] || fail "$CLIENTS not built"

N=200 CALLS=20
two_daemons
fb plugin install "$ECHO" >/dev/null
fb plugin install --unsigned "$NARROW" >/dev/null
fa connect "$(listen_addr "$B")" >/dev/null

run() { # PROTOCOL: the clients' summary, checked
    local out
    out=$(timeout 120 "$CLIENTS" "$A/fastnd.sock" "$idb" "$1" $N $CALLS) ||
        fail "$1: $out"
    [ "$(jq -r '.ok' <<<"$out")" = $((N * CALLS)) ] || fail "$1: $out"
    echo "$out"
}
out=$(run /fastn/echo/1.0.0)
pass "$N clients x $CALLS calls to echo at once: all answered ($(jq -c \
    '{calls_per_s, p50_us, p99_us}' <<<"$out"))"

out=$(run /fastn-test/narrow/1)
wait_until 5 grep -q "for /fastn-test/narrow/1 waits: its plugin is at its limit" \
    "$B/stderr.log" || fail "no wait logged: $(tail -5 "$B/stderr.log")"
! grep -q "reset\|refused" "$B/stderr.log" ||
    fail "refusals: $(grep "reset\|refused" "$B/stderr.log" | head -3)"
pass "$N clients x $CALLS calls to a plugin of 4 streams: all answered, the wait logged ($(jq -c \
    '{calls_per_s, p50_us, p99_us}' <<<"$out"))"

out=$(run /perf/1.0.0)
pass "$N clients x $CALLS calls to the built-in perf protocol: all answered ($(jq -c \
    '{calls_per_s, p50_us, p99_us}' <<<"$out"))"

# the daemons go on serving
[ "$(echo hi | fa call "$idb" /fastn/echo/1.0.0)" = hi ] || fail "after"
pass "both daemons serve after"
