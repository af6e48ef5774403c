#!/bin/bash
# fastnd against js-libp2p (tests/interop/js/peer.mjs, pinned npm
# versions), both ways. js dials fastnd: identify (js sees agent
# fastn/...), ping, 16 x 1 MiB echo through `fastn listen -- cat`.
# fastnd dials js: `fastn connect`, identify (fastn peers shows js's
# agent), `fastn ping`, 16 x 1 MiB echo streams at once through
# STREAM_OPEN, and a `fastn call` with a checksum; a handler registered
# on fastnd reaches js by identify push. Skipped (77) without
# Node.js >= 20.
. "$(dirname "$0")/../integration/common.bash"
. "$(dirname "$0")/../integration/net.bash"

JS=$TOP/tests/interop/js
sh "$JS/install.sh" || exit $?
jsonl() { node "$JS/jsonl.mjs" "$@"; }

H=$(new_home)
start_net "$H"
id=$(peer_id "$H")
addr=$(listen_addr "$H")
"$FASTN_BIN_CLI" --home "$H" listen /echo/1.0.0 -- cat 2>/dev/null &
STARTED_PIDS+=("$!")
wait_status "$H" handlers 1 || fail "handler"

# 1. js dials fastnd
timeout 120 node "$JS/peer.mjs" --no-listen --dial "$addr" --identify \
    --ping-peer --pings 3 --echo-client /echo/1.0.0 --count 16 --size 1M \
    --timeout 100 >"$TMPROOT/dial.out" 2>"$TMPROOT/dial.err" ||
    fail "js dialing fastnd: $(tail -n 3 "$TMPROOT/dial.err") $(tail -n 2 "$TMPROOT/dial.out")"
agent=$(jsonl "$TMPROOT/dial.out" identify agentVersion)
[[ $agent == fastn/* ]] || fail "js saw agent '$agent'"
jsonl "$TMPROOT/dial.out" identify protocols | grep -q /echo/1.0.0 ||
    fail "identify does not list /echo/1.0.0"
[ "$(jsonl "$TMPROOT/dial.out" ping count)" = 3 ] || fail "js ping"
[ "$(jsonl "$TMPROOT/dial.out" echo verified)" = true ] || fail "js echo"
[ "$(jsonl "$TMPROOT/dial.out" echo bytes)" = 16777216 ] || fail "js echo size"
pass "js dials fastnd: identify ($agent), ping $(jsonl "$TMPROOT/dial.out" ping avgMs) ms, 16 x 1 MiB echo at $(jsonl "$TMPROOT/dial.out" echo MBps) MB/s"

# 2. fastnd dials js
node "$JS/peer.mjs" --timeout 120 --identify-push >"$TMPROOT/js.out" 2>"$TMPROOT/js.err" &
STARTED_PIDS+=("$!")
jsaddr=$(jsonl --wait 30 "$TMPROOT/js.out" ready addrs.0) || fail "js did not start"
jsid=$(jsonl "$TMPROOT/js.out" ready peerId)
fastn --home "$H" connect "$jsaddr" | grep -q "connected to $jsid" || fail "connect"
wait_for sh -c "'$FASTN_BIN_CLI' --home '$H' peers | grep -q '^$jsid .* outbound fastn-js-peer/'" ||
    fail "identify of js: $(fastn --home "$H" peers)"
out=$(fastn --home "$H" ping "$jsid" -c 3 -i 0.05) || fail "ping js: $out"
out=$(timeout 120 "$NET_PROBE" streams "$H/fastnd.sock" "$jsid" /echo/1.0.0 16 1048576) ||
    fail "echo streams to js: $out"
gen_data $((16 * 1048576)) >"$TMPROOT/data"
sum=$(timeout 60 "$FASTN_BIN_CLI" --home "$H" call "$jsid" /echo/1.0.0 <"$TMPROOT/data" | sha256sum)
[ "$sum" = "$(sha256sum <"$TMPROOT/data")" ] || fail "fastn call through js echo"
jsonl --wait 10 "$TMPROOT/js.out" identify agentVersion | grep -q '^fastn/' ||
    fail "js did not identify fastnd"
pass "fastnd dials js: identify both ways, ping, $out, 16 MiB fastn call"

# 3. identify push: a handler registered on fastnd reaches js over the
# connection it has
"$FASTN_BIN_CLI" --home "$H" listen /pushed/1.0.0 -- cat 2>/dev/null &
STARTED_PIDS+=("$!")
pushed() { jsonl --all "$TMPROOT/js.out" identify protocols | grep -q /pushed/1.0.0; }
wait_for pushed || fail "js did not receive fastnd's push: $(jsonl --all "$TMPROOT/js.out" identify protocols)"
[ "$(jsonl --count "$TMPROOT/js.out" connection)" = 1 ] || fail "a new connection was made"
pass "fastnd's identify push reaches js-libp2p (its identify lists /pushed/1.0.0)"
