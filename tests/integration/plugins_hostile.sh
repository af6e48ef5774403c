#!/bin/bash
# The hostile plugins of tests/plugins/ in a real fastnd: each is stopped
# and recorded (visible in `fastn plugin info`), and the echo plugin and
# other clients are served right after. During a long attack (a second of
# computation) they are served all along: their replies, timed, fall
# inside the attack's window with no long gap. The memory bomb never gets
# past its page cap, seen from inside the plugin, in `plugin info` and in
# the daemon's peak RSS. (Opening streams without end is tested with two
# daemons in tests/integration/streams.sh.)
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
for p in loop slow membomb badptr recurse attach quota liar_memory; do
    f plugin install --unsigned "$P/$p.wasm" >/dev/null || fail "install $p"
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

us() { echo "${EPOCHREALTIME//[!0-9]/}"; } # microseconds

# served_during NAME METHOD: NAME METHOD is a long attack (at least 0.15 s:
# hostile-slow's 1e9 units of fuel take 0.2-0.4 s on a fast machine);
# echo and IDENTIFY requests, made one after the other meanwhile, are
# answered all through it: at least 3 inside its window, and no gap
# (from its start, between them, to its end) longer than half of it. A
# daemon stalled by the attack would leave one gap as long as the attack.
served_during() {
    local t0 t1 bg n=0 prev gap max=0 t window
    rm -f "$TMPROOT/attack.end" "$TMPROOT/served"
    t0=$(us)
    (f plugin call "$1" "$2" >/dev/null 2>&1 || true; us >"$TMPROOT/attack.end") &
    bg=$!
    while [ ! -s "$TMPROOT/attack.end" ] && [ $n -lt 2000 ]; do
        [ "$(f plugin call echo echo alive)" = alive ] ||
            fail "echo not served while $1 $2 ran"
        f id >/dev/null || fail "IDENTIFY not served while $1 $2 ran"
        us >>"$TMPROOT/served"
        n=$((n + 1))
    done
    wait $bg
    t1=$(cat "$TMPROOT/attack.end")
    window=$((t1 - t0))
    [ $window -ge 150000 ] ||
        fail "$1 $2 lasted $((window / 1000)) ms: too short to show anything"
    prev=$t0
    n=0
    for t in $(cat "$TMPROOT/served") "$t1"; do
        [ "$t" -le "$t1" ] || continue
        gap=$((t - prev))
        [ $gap -le $max ] || max=$gap
        prev=$t
        n=$((n + 1))
    done
    n=$((n - 1)) # t1 itself
    [ $n -ge 3 ] || fail "$1 $2: $n requests served in its $((window / 1000)) ms"
    [ $max -lt $((window / 2)) ] ||
        fail "$1 $2: nothing served for $((max / 1000)) ms of its $((window / 1000)) ms"
    pass "$1 $2 ran $((window / 1000)) ms; meanwhile $n echo+IDENTIFY served, longest wait $((max / 1000)) ms"
}

served_during hostile-slow spin
[ "$(info hostile-slow last_error_name)" = FASTN_ERR_WASM_TRAP_OUT_OF_FUEL ] ||
    fail "slow: $(info hostile-slow last_error_name)"

stopped_with hostile-loop spin FASTN_ERR_WASM_TRAP_OUT_OF_FUEL
# restarted with a backoff (said in the log: under a slow build the
# backoff may be over before `plugin info` is asked)
grep -q "hostile-loop: stopped: .*; restarting in [0-9]* ms" "$H/stderr.log" ||
    fail "loop not restarted with a backoff"
grep -q "^last error   FASTN_ERR_WASM_TRAP_OUT_OF_FUEL" <<<"$(f plugin info hostile-loop)" ||
    fail "info text does not show the error"
# after the backoff it runs again
wait_for state_is hostile-loop running || fail "no restart"
[ "$(f plugin call hostile-loop ok)" = ok ] || fail "loop after restart"
pass "hostile-loop restarted after its backoff and answers"

# the memory bomb: its cap (32 pages in its manifest) holds, seen from
# inside (memory.grow refused at 32), in plugin info, and in the daemon's
# peak RSS while it bombs (2 MiB allowed; a broken cap lets it touch up to
# the engine's limit)
[ "$(f plugin call hostile-membomb grow-all)" = pages=32 ] ||
    fail "membomb grew past its cap: $(f plugin call hostile-membomb grow-all)"
[ "$(info hostile-membomb memory_pages)" = 32 ] ||
    fail "plugin info: $(info hostile-membomb memory_pages) pages"
hwm() { sed -n 's/^VmHWM: *\([0-9]*\) kB/\1/p' "/proc/$DAEMON_PID/status"; }
before=$(hwm)
stopped_with hostile-membomb grow FASTN_ERR_WASM_TRAP_UNREACHABLE \
    FASTN_ERR_WASM_TRAP_OUT_OF_FUEL
grew=$(($(hwm) - before))
[ $grew -lt 65536 ] || fail "the daemon's peak RSS grew by $grew kB in the bomb"
pass "membomb: memory.grow refused at its 32 pages; peak RSS +$grew kB"
for pair in log:log wrap:log write:stream_write sql:sql_exec \
    reply:call_reply random:random errmsg:sql_errmsg notify:notify \
    hashin:hash_start hashout:hash_start; do
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

# a trap three calls deep: the functions (from the name section) and code
# offsets, innermost first, in plugin info, the daemon's log and fastn-wasm
f plugin install --unsigned "$P/trap.wasm" >/dev/null || fail "install trap"
if f plugin call test-trap crash 2>/dev/null; then fail "trap: answered"; fi
want="trap: out-of-bounds memory access in on_call at trap_inner+0x[0-9a-f]* <- trap_middle+0x[0-9a-f]* <- trap_outer+0x[0-9a-f]* <- on_call+0x[0-9a-f]*"
grep -q "^last error  *FASTN_ERR_WASM_TRAP_MEMORY_OOB at .*: $want" <<<"$(f plugin info test-trap)" ||
    fail "trap in info: $(f plugin info test-trap)"
grep -q "test-trap: stopped: $want; restarting in" "$H/stderr.log" ||
    fail "trap not in the log: $(grep test-trap "$H/stderr.log")"
rc=0
"$TOP/$BUILD/bin/fastn-wasm" "$P/trap.wasm" --invoke crash 2>"$TMPROOT/fw.err" ||
    rc=$?
[ $rc = 134 ] || fail "fastn-wasm exit $rc"
[ "$(sed 's/ at 0x[0-9a-f]*$//' "$TMPROOT/fw.err")" = "fastn-wasm: trap: out of bounds memory access (FASTN_ERR_WASM_TRAP_MEMORY_OOB)
  0: trap_inner
  1: trap_middle
  2: trap_outer
  3: crash" ] || fail "fastn-wasm: $(cat "$TMPROOT/fw.err")"
pass "a trap names its functions and offsets: info, log, fastn-wasm"

# a call during its restart backoff waits for the new instance (which
# answers "hello" with FASTN_ERR_NOT_FOUND), not refused as crashed
if f plugin call test-trap crash 2>/dev/null; then fail "trap: answered"; fi
[ "$(info test-trap state)" = restarting ] || fail "test-trap not in backoff"
if err=$(f plugin call test-trap hello 2>&1); then fail "hello: answered"; fi
grep -q "FASTN_ERR_NOT_FOUND" <<<"$err" || fail "hello during backoff: $err"
[ "$(info test-trap state)" = running ] || fail "test-trap did not restart"
pass "a call during the restart backoff waits for the restart: $err"

# a misspelt handler: named, with the event it likely meant
if out=$(f plugin install --unsigned "$P/misspelt.wasm" 2>&1); then
    fail "misspelt installed"
fi
grep -q "unknown export on_closed: did you mean on_close?" <<<"$out" ||
    fail "misspelt: $out"
! grep -qi "another plugin ABI" <<<"$out" || fail "misspelt: $out"
pass "a misspelt handler: $out"

[ "$(f plugin call echo echo done)" = done ] || fail "echo at the end"
kill -0 "$DAEMON_PID" || fail "the daemon died"
pass "the daemon and echo carried on through all of it"
