#!/bin/bash
# Privilege separation and the seccomp filters (docs/SERVICE.md):
#  - after handshakes (inbound and outbound), no 8 consecutive bytes of
#    the identity's seed are anywhere in the daemon's readable memory,
#    while the signer's memory has them (the scan works);
#  - both processes run under a seccomp filter (mode 2);
#  - the signer killed: the daemon says so and exits with status 1; the
#    daemon killed: the signer goes too;
#  - a forbidden call kills: socket() in the signer (the daemon then
#    stops, saying why), execve() in the running daemon (SIGSYS); with
#    seccomp = log the same socket() is only logged; with seccomp = off
#    the execve goes through (so the hook does call it).
# The forbidden calls come from build/tests/sandbox/fastnd-hooks, fastnd
# with a test hook (tests/sandbox/hooks.c) that the release fastnd lacks.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

MEMSCAN=$TOP/$BUILD/tests/integration/memscan
HOOKS=$TOP/$BUILD/tests/sandbox/fastnd-hooks
[ -x "$MEMSCAN" ] && [ -x "$HOOKS" ] || fail "memscan or fastnd-hooks not built (make test-build)"

signer_of() { # DAEMON_PID: its signer's pid
    local i p
    for i in $(seq 100); do
        p=$(pgrep -P "$1" | head -n 1 || true)
        [ -n "$p" ] && echo "$p" && return 0
        sleep 0.05
    done
    return 1
}

seccomp_of() { # PID: the Seccomp mode in /proc/PID/status
    sed -n 's/^Seccomp:[[:space:]]*//p' "/proc/$1/status"
}

# wait_exit PID: its exit status (it is this shell's child: not called
# in a subshell) in RC, waiting 10 s at most.
wait_exit() {
    local i
    for i in $(seq 200); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$1" 2>/dev/null || true # still there: 137
    RC=0
    wait "$1" || RC=$?
}

# --- no key in the daemon's memory after handshakes --------------------
A=$(new_home)
start_net "$A"
APID=$DAEMON_PID
ASIGNER=$(signer_of "$APID") || fail "no signer process under fastnd $APID"
[ "$(seccomp_of "$APID")" = 2 ] || fail "the daemon has no seccomp filter"
[ "$(seccomp_of "$ASIGNER")" = 2 ] || fail "the signer has no seccomp filter"
grep -q "privilege separation: the key is in the signer process (pid $ASIGNER); seccomp on" \
    "$A/stderr.log" || fail "no privilege separation line in the log"
pass "daemon $APID and signer $ASIGNER run under seccomp filters"
st=$(fastn --home "$A" --no-autostart status --json)
[ "$(echo "$st" | jq -r '"\(.signer_pid) \(.seccomp)"')" = "$ASIGNER on" ] ||
    fail "status --json: $(echo "$st" | jq -c '{signer_pid, seccomp}')"
fastn --home "$A" --no-autostart status | grep -q "^privsep .*signer process (pid $ASIGNER); seccomp on" ||
    fail "fastn status does not show privilege separation"
doc=$(fastn --home "$A" --no-autostart doctor --json || true)
[ "$(echo "$doc" | jq -r '[.checks[] | select(.name == "privsep" or .name == "seccomp") | .status] | join(" ")')" = "ok ok" ] ||
    fail "doctor: $(echo "$doc" | jq -c '.checks')"
pass "status (text and --json) and doctor show the signer and seccomp on"

for i in 1 2 3; do
    B=$(new_home)
    start_net "$B"
    fastn --home "$B" --no-autostart connect "$(listen_addr "$A")" >/dev/null # inbound for A
    fastn --home "$A" --no-autostart ping "$(peer_id "$B")" -c 1 >/dev/null
done
C=$(new_home)
start_net "$C"
fastn --home "$A" --no-autostart connect "$(listen_addr "$C")" >/dev/null # outbound
fastn --home "$A" --no-autostart ping "$(peer_id "$C")" -c 1 >/dev/null
KEY=$A/keys/identity.key
out=$("$MEMSCAN" "$APID" "$KEY") || fail "the daemon's memory holds the seed: $out"
pass "daemon memory after 4 handshakes: $(echo "$out" | tail -n 1), no run of the seed"
rc=0
sout=$("$MEMSCAN" "$ASIGNER" "$KEY") || rc=$?
[ "$rc" = 1 ] || fail "the scan did not find the seed in the signer ($rc): $sout"
pass "the same scan finds it in the signer"

# --- the signer killed: the daemon stops, saying why --------------------
kill -KILL "$ASIGNER"
wait_exit "$APID"
[ "$RC" = 1 ] || fail "fastnd exited with $RC after its signer was killed, not 1"
grep -q "the signer process (pid $ASIGNER) was killed by signal 9" "$A/stderr.log" ||
    fail "the daemon did not say its signer was killed: $(tail -n 3 "$A/stderr.log")"
pass "signer killed: the daemon said so and exited 1"

# --- the daemon killed: the signer goes too ----------------------------
start_net "$A"
APID=$DAEMON_PID
ASIGNER=$(signer_of "$APID")
kill -KILL "$APID"
wait_gone "$ASIGNER" || fail "the signer outlived its daemon"
pass "daemon killed: its signer exited"

# --- a forbidden call kills --------------------------------------------
H=$(new_home)
FASTN_TEST_FORBIDDEN=signer-socket "$HOOKS" --home "$H" --foreground \
    >"$H/stdout.log" 2>"$H/stderr.log" &
HPID=$!
STARTED_PIDS+=("$HPID")
wait_exit "$HPID"
[ "$RC" = 1 ] || fail "fastnd exited with $RC when its signer called socket()"
grep -q "was killed by signal 31 (Bad system call): a system call its seccomp filter forbids" \
    "$H/stderr.log" || fail "socket() in the signer: $(tail -n 3 "$H/stderr.log")"
pass "socket() in the signer killed it (SIGSYS); the daemon stopped, saying why"

H=$(new_home)
echo "seccomp = log" >>"$H/config"
FASTN_TEST_FORBIDDEN=signer-socket "$HOOKS" --home "$H" --foreground \
    >"$H/stdout.log" 2>"$H/stderr.log" &
HPID=$!
STARTED_PIDS+=("$HPID")
wait_for test -S "$H/fastnd.sock" || fail "seccomp = log: no daemon"
B=$(new_home)
start_net "$B"
fastn --home "$B" --no-autostart connect "$(listen_addr "$H")" >/dev/null ||
    fail "seccomp = log: no handshake"
kill -0 "$(signer_of "$HPID")" || fail "seccomp = log: the signer died"
pass "seccomp = log: the same socket() is allowed (the kernel logs it)"
doc=$(fastn --home "$H" --no-autostart doctor --json || true)
[ "$(echo "$doc" | jq -r '.checks[] | select(.name == "seccomp") | .status')" = warn ] ||
    fail "doctor with seccomp = log: $(echo "$doc" | jq -c '.checks')"
kill -TERM "$HPID"
wait_exit "$HPID"
[ "$RC" = 0 ] || fail "seccomp = log: unclean stop ($RC)"

H=$(new_home)
FASTN_TEST_FORBIDDEN=daemon-execve FASTN_TEST_TRIGGER=$H/go "$HOOKS" --home "$H" \
    --foreground >"$H/stdout.log" 2>"$H/stderr.log" &
HPID=$!
STARTED_PIDS+=("$HPID")
wait_for test -S "$H/fastnd.sock" || fail "fastnd-hooks did not start"
fastn --home "$H" --no-autostart id >/dev/null || fail "fastnd-hooks does not answer"
touch "$H/go"
wait_exit "$HPID"
[ "$RC" = 159 ] || fail "execve in the daemon: exit $RC, not 159 (SIGSYS)"
pass "execve() in the running daemon killed it (SIGSYS)"

H=$(new_home)
echo "seccomp = off" >>"$H/config"
FASTN_TEST_FORBIDDEN=daemon-execve FASTN_TEST_TRIGGER=$H/go "$HOOKS" --home "$H" \
    --foreground >"$H/stdout.log" 2>"$H/stderr.log" &
HPID=$!
STARTED_PIDS+=("$HPID")
wait_for test -S "$H/fastnd.sock" || fail "fastnd-hooks (seccomp = off) did not start"
[ "$(seccomp_of "$HPID")" = 0 ] || fail "seccomp = off still has a filter"
touch "$H/go"
wait_exit "$HPID"
[ "$RC" = 0 ] || fail "seccomp = off: the execve did not go through ($RC)"
pass "seccomp = off: no filter, the same execve goes through"
