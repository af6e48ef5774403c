#!/bin/bash
# Two daemons on loopback: `fastn id` lists every listen multiaddr with
# /p2p/; connect, peers (outbound and inbound), LIST_PEERS, ping; an echo
# through `fastn listen -- cat` and `fastn call`; a second call reuses the
# connection (no new handshake); a handler that has gone is dropped; the
# wrong PeerID is refused; disconnect; the address book survives a
# restart.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

A=$(new_home)
B=$(new_home)
start_net "$A"
start_net "$B"
B_PID=$DAEMON_PID
ida=$(peer_id "$A")
idb=$(peer_id "$B")
addra=$(listen_addr "$A")
[[ $addra == /ip4/127.0.0.1/tcp/*/p2p/$ida ]] || fail "fastn id address: $addra"
pass "fastn id: $addra"

fastn --home "$B" connect "$addra" | grep -q "^connected to $ida$" ||
    fail "connect"
# the agent comes with identify, which may still be on its way
wait_for sh -c "'$FASTN_BIN_CLI' --home '$B' peers | grep -q '^$ida /ip4/127.0.0.1/tcp/[0-9]* outbound fastn/'" ||
    fail "peers on B: $(fastn --home "$B" peers)"
wait_for sh -c "'$FASTN_BIN_CLI' --home '$A' peers | grep -q '^$idb .* inbound fastn/'" ||
    fail "peers on A: $(fastn --home "$A" peers)"
# the libp2p daemon client's view: LIST_PEERS answers one peer
[ "$("$PROBE" raw "$B/fastnd.sock" 020805 | head -n 1)" = "OK peers" ] ||
    fail "LIST_PEERS: $("$PROBE" raw "$B/fastnd.sock" 020805)"
pass "connect; peers: outbound on one side, inbound on the other"

out=$(fastn --home "$B" ping "$ida" -c 3 -i 0.05)
[ "$(grep -c "seq=[0-9] rtt=" <<<"$out")" = 3 ] || fail "ping: $out"
pass "ping: $(tail -n 1 <<<"$out")"

"$FASTN_BIN_CLI" --home "$A" listen /echo/1.0.0 -- cat 2>"$TMPROOT/listen.err" &
LISTEN=$!
STARTED_PIDS+=("$LISTEN")
wait_status "$A" handlers 1 || fail "handler not registered"
[ "$(echo hello | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0)" = hello ] ||
    fail "echo"
hs=$(status_num "$B" handshakes)
dials=$(status_num "$B" dials)
[ "$(printf 'again\n' | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0)" = again ] ||
    fail "second echo"
[ "$(status_num "$B" handshakes)" = "$hs" ] || fail "a new handshake for the second call"
[ "$(status_num "$B" dials)" = "$dials" ] || fail "a new dial for the second call"
[ "$(status_num "$B" connections)" = 1 ] || fail "not one connection"
pass "call/listen echo; the second call reused the connection ($hs handshake)"

# a peer that writes its whole answer before it reads: fastn call must
# read the answer while its own request waits to be sent (a blocking
# write of the request would wait for the peer, which waits for us)
"$FASTN_BIN_CLI" --home "$A" listen /first/1.0.0 -- \
    sh -c 'head -c 8388608 /dev/zero; cat >/dev/null' 2>/dev/null &
FIRST=$!
STARTED_PIDS+=("$FIRST")
wait_status "$A" handlers 2 || fail "second handler not registered"
got=$(head -c 8388608 /dev/zero | timeout -k 5 30 "$FASTN_BIN_CLI" --home "$B" \
    call "$ida" /first/1.0.0 | wc -c) || true
[ "$got" = 8388608 ] || fail "8 MiB each way to a peer that answers first: $got bytes back"
pass "8 MiB each way to a peer that answers before it reads"
kill -TERM "$FIRST"
wait_gone "$FIRST" || fail "the second listen did not stop"
wait_status "$A" handlers 1 || fail "the second handler not removed"

# the listener stops: it unregisters, and a stream for it is refused
kill -TERM "$LISTEN"
wait_gone "$LISTEN" || fail "listen did not stop"
wait_status "$A" handlers 0 || fail "handler not removed"
if echo x | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0 \
    >/dev/null 2>"$TMPROOT/na.err"; then
    fail "a call without a handler succeeded"
fi
grep -q "does not support the protocol" "$TMPROOT/na.err" ||
    fail "unclear error: $(cat "$TMPROOT/na.err")"
pass "no handler: $(cat "$TMPROOT/na.err")"

# two handlers share a protocol, in turn; one killed (no unregistering)
# is dropped at the next stream, which goes to the other
"$FASTN_BIN_CLI" --home "$A" listen /who/1.0.0 -- echo one 2>/dev/null &
L1=$!
STARTED_PIDS+=("$L1")
wait_status "$A" handlers 1 || fail "first handler"
"$FASTN_BIN_CLI" --home "$A" listen /who/1.0.0 -- echo two 2>/dev/null &
STARTED_PIDS+=("$!")
wait_status "$A" handlers 2 || fail "second handler"
who() {
    timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /who/1.0.0 </dev/null
}
got=$(for i in 1 2 3 4; do who; done | sort | uniq -c | tr -s ' ')
[ "$got" = " 2 one
 2 two" ] || fail "not balanced: $got"
kill -KILL "$L1"
wait_gone "$L1" || fail "kill"
got=$(for i in 1 2 3; do who; done | sort | uniq -c | tr -s ' ')
[ "$got" = " 3 two" ] || fail "after one handler died: $got"
wait_status "$A" handlers 1 || fail "the dead handler was kept"
# dropped as its process exits, or at the next stream when that was first
grep -Eq "router: handler /unix/.* for /who/1.0.0 is gone|ipc: client pid $L1 \(uid 0\) exited: its 1 handler\(s\) dropped" \
    "$A/stderr.log" || fail "no log line for the dropped handler"
pass "two handlers share a protocol; a dead one is dropped"

# a dial with the wrong PeerID is refused
"$PROBE" genkey "$TMPROOT/other.key"
wrong=${addra%/p2p/*}/p2p/$("$PROBE" peerid "$TMPROOT/other.key")
if fastn --home "$B" disconnect "$ida" && fastn --home "$B" connect "$wrong" \
    2>"$TMPROOT/wrong.err"; then
    fail "connected to the wrong PeerID"
fi
grep -q "not the PeerID that was dialed" "$TMPROOT/wrong.err" ||
    fail "wrong peer: $(cat "$TMPROOT/wrong.err")"
wait_status "$B" peers 0 || fail "disconnect left a peer"
pass "wrong PeerID refused: $(cat "$TMPROOT/wrong.err")"

# the address book: after a restart, the PeerID alone is enough
kill -TERM "$B_PID"
wait_gone "$B_PID" || fail "B did not stop"
start_net "$B"
"$FASTN_BIN_CLI" --home "$A" listen /echo/1.0.0 -- cat 2>/dev/null &
STARTED_PIDS+=("$!")
wait_status "$A" handlers 2 || fail "handler not registered again"
[ "$(echo remembered | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0)" = remembered ] ||
    fail "call by PeerID after a restart"
pass "the address book survives a restart"

# `fastn listen` without a command prints what arrives; --json prints events
"$FASTN_BIN_CLI" --home "$A" listen /print/1.0.0 -n 1 >"$TMPROOT/print.out" 2>"$TMPROOT/print.err" &
P=$!
STARTED_PIDS+=("$P")
wait_status "$A" handlers 3 || fail "print handler"
echo "printed here" | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /print/1.0.0 ||
    fail "call to the printer"
wait_gone "$P" || fail "listen -n 1 did not exit"
[ "$(cat "$TMPROOT/print.out")" = "printed here" ] || fail "printed: $(cat "$TMPROOT/print.out")"
grep -q "stream from $idb (/print/1.0.0)" "$TMPROOT/print.err" || fail "no stream line"
"$FASTN_BIN_CLI" --home "$A" listen /print/1.0.0 -n 1 --json >"$TMPROOT/json.out" 2>/dev/null &
P=$!
STARTED_PIDS+=("$P")
wait_status "$A" handlers 3 || fail "json handler"
printf 'abc' | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /print/1.0.0 || fail "call"
wait_gone "$P" || fail "listen --json -n 1 did not exit"
grep -q "^{\"event\":\"stream\",\"peer_id\":\"$idb\",\"protocol\":\"/print/1.0.0\"" "$TMPROOT/json.out" ||
    fail "json: $(cat "$TMPROOT/json.out")"
grep -q "\"event\":\"end\".*\"bytes\":3}" "$TMPROOT/json.out" || fail "json end: $(cat "$TMPROOT/json.out")"
if has_jq; then
    fastn --home "$B" peers --json | jq -e ".peers[0].direction == \"outbound\"" >/dev/null ||
        fail "peers --json"
    fastn --home "$B" ping "$ida" -c 2 -i 0.05 --json | jq -e '.rtt_ms | length == 2' >/dev/null ||
        fail "ping --json"
    fastn --home "$B" connect "$addra" --json | jq -e ".peer_id == \"$ida\"" >/dev/null ||
        fail "connect --json"
fi
pass "listen prints streams (text and --json); --json of peers, ping, connect"
