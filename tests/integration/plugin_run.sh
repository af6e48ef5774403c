#!/bin/bash
# `fastn plugin run`: a plugin file in the real plugin host with no daemon
# (fastn execs fastn-plugin-kit): --call with several arguments, --stream
# from a simulated peer (stdin in, the plugin's answer out), two nodes
# with --peer (chat delivers to the other node), --time moving timers,
# --trace naming each event and host call with its fuel, --data kept
# between runs, and the errors and exit codes of `fastn plugin call`.
. "$(dirname "$0")/common.bash"

P=$TOP/$BUILD/plugins
T=$TOP/$BUILD/tests/plugins
[ -f "$P/echo.wasm" ] && [ -f "$T/probe.wasm" ] ||
    skip "plugins not built (no wasm32-wasi toolchain)"
run() { timeout 60 "$FASTN_BIN_CLI" plugin run "$@"; }
no_daemon() { ! ls "$TMPROOT"/*/fastnd.sock >/dev/null 2>&1; }

# --call: the answer on stdout; several ARGs joined by NUL, as plugin call
out=$(run "$P/echo.wasm" --call echo hello --call echo a b c | od -An -c |
    tr -s ' ')
[ "$out" = " h e l l o a \\0 b \\0 c" ] || fail "--call output: $out"
id=$(run "$P/echo.wasm" --call id)
[[ $id == 12D3KooW* ]] || fail "--call id: $id"
pass "--call prints answers; several ARGs are NUL-joined"

# --stream: stdin as a peer's stream, the echo on stdout
head -c 300000 /dev/urandom >"$TMPROOT/in"
run "$P/echo.wasm" --stream alice /fastn/echo/1.0.0 <"$TMPROOT/in" \
    >"$TMPROOT/out" || fail "--stream failed"
cmp -s "$TMPROOT/in" "$TMPROOT/out" || fail "--stream: the echo differs"
pass "--stream sends 300 KB as a peer and prints the echo"

# --peer: chat on two nodes; @bob is bob's PeerID
out=$(run "$P/chat.wasm" --peer bob --call send "@bob hello bob" --call log)
[[ $out == delivered* ]] || fail "chat send: $out"
grep -q 'hello bob  \[delivered\]' <<<"$out" || fail "chat log: $out"
pass "--peer: chat delivers to a second node"

# --time: a timer fires only once the clock passed it
out=$(run "$T/probe.wasm" --call timer "1 500" --call fired --time 400 \
    --call fired --time 200 --call fired | tr '\n' '|')
[ "$out" = "0firedfiredfired 1" ] || fail "--time: $out"
pass "--time steps the clock: a 500 ms timer fires between 400 and 600"

# --trace: each event and import with its fuel, on stderr
run "$T/probe.wasm" --trace --call timer "1 10" --time 20 >/dev/null \
    2>"$TMPROOT/trace" || fail "--trace run failed"
for want in 'test-probe on_start$' 'test-probe   fastn.sql_exec -> 0 (fuel [0-9]*)' \
    'test-probe on_call$' 'test-probe   fastn.timer_set -> 0 (fuel [0-9]*)' \
    'test-probe   fastn.call_reply -> 0 (fuel [0-9]*)' \
    'test-probe on_call returned 0 (fuel [1-9][0-9]*)' \
    'test-probe on_timer returned 0 (fuel [0-9]*)'; do
    grep -q "^trace: $want" "$TMPROOT/trace" ||
        fail "--trace lacks '$want': $(cat "$TMPROOT/trace")"
done
pass "--trace shows events, imports and fuel"

# --data keeps the plugin's database between runs
D=$TMPROOT/data
run "$T/probe.wasm" --data "$D" --call txn >/dev/null 2>&1 || true
[ -f "$D/data/test-probe/db.sqlite" ] || fail "--data: no database in $D"
[ -f "$D/plugins/test-probe.wasm" ] || fail "--data: not installed in $D"
pass "--data DIR is the home, kept"

# errors as plugin call gives them: exit 1 and what to do
if err=$(run "$P/echo.wasm" --call nope 2>&1 >/dev/null); then
    fail "an unknown method succeeded"
fi
grep -q '^fastn: not found: unknown method; echo has' <<<"$err" ||
    fail "unknown method: $err"
set +e
run "$T/probe.wasm" --call exit >/dev/null 2>"$TMPROOT/err"
rc=$?
set -e
[ $rc = 1 ] || fail "a plugin that exits: exit code $rc"
# the failure, where the code was (a short backtrace), and the code
grep -Eq 'plugin test-probe failed: proc_exit\(3\) in on_call at [^ ]+ <- .* \(FASTN_ERR_WASM_EXIT\)' \
    "$TMPROOT/err" || fail "exit: $(cat "$TMPROOT/err")"
err=$(run "$T/probe.wasm" --call never 2>&1 >/dev/null) && fail "never answered"
grep -q 'timed out' <<<"$err" || fail "a call never answered: $err"
err=$(run "$P/echo.wasm" --stream alice /nope </dev/null 2>&1) &&
    fail "a stream for an unknown protocol was opened"
grep -q 'FASTN_ERR_NET_PROTO_NA' <<<"$err" || fail "unknown protocol: $err"
pass "a failing call, a crash, a timeout, an unknown protocol: exit 1"

# the manifest checks of install; a bad command line is exit 2
printf '\0asm\1\0\0\0' >"$TMPROOT/empty.wasm"
err=$(run "$TMPROOT/empty.wasm" --call x 2>&1) && fail "a module without a manifest ran"
grep -q 'manifest' <<<"$err" || fail "no manifest: $err"
set +e
run "$P/echo.wasm" --time soon >/dev/null 2>&1
[ $? = 2 ] || fail "--time soon: not a usage error"
run --call x >/dev/null 2>&1
[ $? = 2 ] || fail "no FILE: not a usage error"
set -e
pass "install's manifest checks; usage errors exit 2"
no_daemon || fail "a daemon was started"
