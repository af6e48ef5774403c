#!/bin/bash
# A daemon killed with SIGKILL leaves its socket behind: the next daemon
# removes it and serves. A live daemon's socket, or a file that is not a
# socket, is never removed.
. "$(dirname "$0")/common.bash"

H=$(new_home)
"$FASTND_BIN" --home "$H" || fail "fastnd did not start"
pid=$(daemon_pid "$H")
id1=$(fastn --home "$H" --no-autostart id | sed -n 1p)
kill -KILL "$pid"
wait_gone "$pid" || fail "kill -9 did not end fastnd"
[ -S "$H/fastnd.sock" ] || fail "expected the crashed daemon's socket"
if fastn --home "$H" --no-autostart id 2>/dev/null; then
    fail "a dead daemon's socket answered"
fi
out=$("$FASTND_BIN" --home "$H" 2>&1) || fail "restart after a crash: $out"
[ "$(fastn --home "$H" --no-autostart id | sed -n 1p)" = "$id1" ] ||
    fail "restarted daemon has another identity"
grep -q "removing stale socket" "$H/fastnd.log" || fail "no log of the cleanup"
pass "stale socket removed after kill -9"

# p2pd-style daemons on explicit sockets: a live one is not displaced
S=$TMPROOT/ctl.sock
"$FASTND_BIN" -listen="/unix$S" -noListenAddrs -q &
p1=$!
STARTED_PIDS+=("$p1")
wait_for test -S "$S" || fail "no socket at $S"
if out=$(timeout 10 "$FASTND_BIN" -listen="/unix$S" -noListenAddrs -q 2>&1); then
    fail "a second daemon took over a live socket"
fi
grep -q "already answers on $S" <<<"$out" || fail "unclear refusal: $out"
kill -0 "$p1" || fail "the first daemon died"
"$PROBE" identify "$S" >/dev/null || fail "the first daemon stopped serving"
pass "a live socket is not taken over: $out"

F=$TMPROOT/not-a-socket
echo data >"$F"
if out=$(timeout 10 "$FASTND_BIN" -listen="/unix$F" -noListenAddrs -q 2>&1); then
    fail "fastnd replaced a regular file"
fi
[ "$(cat "$F")" = data ] || fail "the file was changed"
grep -q "is not a socket" <<<"$out" || fail "unclear refusal: $out"
pass "a regular file at the socket path is left alone"
