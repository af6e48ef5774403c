#!/bin/bash
# The hostile plugins of tests/plugins/ in a real fastnd: each is stopped
# and recorded (visible in `fastn plugin info`), while the echo plugin and
# other clients keep being served in the same moment. (Opening streams
# without end is tested with two daemons in tests/integration/streams.sh.)
. "$(dirname "$0")/common.bash"

P=$TOP/$BUILD/tests/plugins
ECHO=$TOP/$BUILD/plugins/echo.wasm
[ -f "$ECHO" ] && [ -f "$P/loop.wasm" ] ||
    skip "plugins not built (no wasm32-wasi toolchain)"
has_jq || skip "jq is missing"

H=$(new_home)
start_fg "$H"
f() { fastn --home "$H" --no-autostart "$@"; }
f plugin install "$ECHO" >/dev/null
for p in loop membomb badptr recurse attach quota liar_memory; do
    f plugin install "$P/$p.wasm" >/dev/null || fail "install $p"
done

info() { # NAME FIELD
    f plugin info "$1" --json | jq -r ".$2"
}

state_is() { # NAME STATE
    [ "$(info "$1" state)" = "$2" ]
}

# echo and plain requests are answered while NAME misbehaves
served_meanwhile() { # NAME METHOD
    local bg rc
    f plugin call "$1" "$2" >"$TMPROOT/bad.out" 2>"$TMPROOT/bad.err" &
    bg=$!
    [ "$(f plugin call echo echo alive)" = alive ] ||
        fail "echo not served while $1 $2 ran"
    f id >/dev/null || fail "IDENTIFY not served while $1 $2 ran"
    set +e
    wait $bg
    rc=$?
    set -e
    [ $rc != 0 ] || fail "$1 $2 succeeded: $(cat "$TMPROOT/bad.out")"
}

stopped_with() { # NAME METHOD ERROR-NAMES...
    local name=$1 method=$2 got
    shift 2
    served_meanwhile "$name" "$method"
    got=$(info "$name" last_error_name)
    for want in "$@"; do
        [ "$got" = "$want" ] && break
    done
    [ "$got" = "$want" ] || fail "$name $method: last error $got, want $*"
    [ "$(info "$name" restarts)" -ge 1 ] || fail "$name: no restart counted"
    grep -q "stopped\|out of fuel\|exhausted" "$TMPROOT/bad.err" ||
        fail "$name: the caller was not told: $(cat "$TMPROOT/bad.err")"
    pass "$name $method: stopped, recorded ($(info "$name" last_error_text))"
}

stopped_with hostile-loop spin FASTN_ERR_WASM_TRAP_OUT_OF_FUEL
# it waits out its backoff (1 s): restarting, or running again already
# when the calls above took that long (a loaded machine, a SAN build)
st=$(info hostile-loop state)
[ "$st" = restarting ] || [ "$st" = running ] || fail "loop: $st"
grep -q "^last error   FASTN_ERR_WASM_TRAP_OUT_OF_FUEL" <<<"$(f plugin info hostile-loop)" ||
    fail "info text does not show the error"
# after the backoff it runs again
wait_for state_is hostile-loop running || fail "no restart"
[ "$(f plugin call hostile-loop ok)" = ok ] || fail "loop after restart"
pass "hostile-loop restarted after its backoff and answers"

stopped_with hostile-membomb grow FASTN_ERR_WASM_TRAP_UNREACHABLE \
    FASTN_ERR_WASM_TRAP_OUT_OF_FUEL
for pair in log:log wrap:log write:stream_write sql:sql_exec \
    reply:call_reply random:random errmsg:sql_errmsg notify:notify; do
    m=${pair%%:*}
    # enabling starts a failed plugin at once, without its backoff
    f plugin enable hostile-badptr >/dev/null
    state_is hostile-badptr running || fail "badptr not running before $m"
    stopped_with hostile-badptr "$m" FASTN_ERR_PLUGIN_BAD_POINTER
    grep -q "(fastn.${pair#*:})" <<<"$(info hostile-badptr last_error_text)" ||
        fail "badptr $m: $(info hostile-badptr last_error_text)"
done
[ "$(f notifications count)" = 0 ] || fail "a bad pointer got a notification out"
stopped_with hostile-recurse frames FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED

out=$(f plugin call hostile-attach escape)
grep -q "attach=-502" <<<"$out" && ! grep -q "=0" <<<"$out" ||
    fail "attach: $out"
[ ! -e /tmp/fastn-hostile-attach.sqlite ] || fail "ATTACH made a file"
pass "ATTACH and the other escapes refused: $out"

out=$(f plugin call hostile-quota fill)
grep -q "err=-501" <<<"$out" || fail "quota: $out"
size=$(info hostile-quota db_bytes)
[ "$size" -le $((65536 + 8192)) ] || fail "database grew to $size"
[ "$(f plugin call hostile-quota count)" -ge 1 ] || fail "quota: rows lost"
pass "writing past the quota: $out, database $size bytes"

[ "$(info hostile-liar-memory state)" = failed ] || fail "liar-memory state"
[ "$(info hostile-liar-memory last_error_name)" = FASTN_ERR_WASM_LIMIT ] ||
    fail "liar-memory error"
[ "$(info hostile-liar-memory restarts)" = 1 ] || fail "liar-memory retried"
pass "a module bigger than its manifest says: refused once, not retried"

[ "$(f plugin call echo echo done)" = done ] || fail "echo at the end"
kill -0 "$DAEMON_PID" || fail "the daemon died"
pass "the daemon and echo carried on through all of it"
