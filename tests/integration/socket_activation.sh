#!/bin/bash
# Socket activation, as fastnd.socket does it (docs/SERVICE.md): the
# control socket is bound by the service manager (here Debian's
# systemd-socket-activate), the first `fastn id` starts fastnd, which
# adopts the passed socket (LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES), says
# READY=1 and STOPPING=1 on $NOTIFY_SOCKET, logs with journal priorities
# when stderr is the journal's stream, and leaves the socket file in place
# when it stops. Bad LISTEN_* values stop it with a clear error.
. "$(dirname "$0")/common.bash"

command -v systemd-socket-activate >/dev/null ||
    skip "systemd-socket-activate is missing (Debian package systemd)"
SINK=$TOP/$BUILD/tests/integration/notify_sink

# 1. The first client starts the daemon through the passed socket.
H=$(new_home)
N=$TMPROOT/notify.sock
"$SINK" "$N" READY=1 20 >"$TMPROOT/ready.out" &
sink=$!
wait_for test -S "$N" || fail "notify sink did not start"
: >"$H/stderr.log"
journal=$(stat -c '%d:%i' "$H/stderr.log")
systemd-socket-activate -l "$H/fastnd.sock" --fdname=control \
    -E NOTIFY_SOCKET="$N" -E JOURNAL_STREAM="$journal" \
    "$FASTND_BIN" --foreground --home "$H" \
    >"$H/stdout.log" 2>>"$H/stderr.log" &
act=$!
STARTED_PIDS+=("$act")
wait_for test -S "$H/fastnd.sock" || fail "no socket from the activator"
sleep 0.2
[ ! -s "$H/fastnd.lock" ] || fail "fastnd ran before any client came"
[ ! -e "$H/keys" ] || fail "fastnd made its identity before any client came"
id=$(fastn --home "$H" id 2>"$TMPROOT/id.err" | sed -n 1p) ||
    fail "fastn id through the passed socket: $(cat "$TMPROOT/id.err")"
case "$id" in 12D3KooW*) ;; *) fail "fastn id printed '$id'" ;; esac
! grep -q "started fastnd" "$TMPROOT/id.err" ||
    fail "fastn autostarted a daemon of its own"
[ "$(daemon_pid "$H")" = "$act" ] ||
    fail "the daemon is not the activated process ($(daemon_pid "$H") != $act)"
grep -q "control socket $H/fastnd.sock passed by systemd" "$H/stderr.log" ||
    fail "the daemon did not say it adopted the socket"
fastn --home "$H" status --json | grep -q "\"socket\":\"$H/fastnd.sock\"" ||
    fail "status does not report the passed socket"
pass "first fastn id started fastnd on the passed socket ($id)"

wait "$sink" || fail "no READY=1 on NOTIFY_SOCKET: $(cat "$TMPROOT/ready.out")"
pass "READY=1 sent to NOTIFY_SOCKET"
grep -q '^<6>daemon: fastnd .* ready on' "$H/stderr.log" ||
    fail "log lines carry no journal priority: $(head -3 "$H/stderr.log")"
grep -q '^info ' "$H/stderr.log" && fail "plain log lines on the journal stream"
pass "log lines to the journal carry their priority (<6>)"

# 2. SIGTERM: STOPPING=1, a clean exit, and the socket file stays (it is
# the manager's: the next client starts the daemon again).
"$SINK" "$N" STOPPING=1 20 >"$TMPROOT/stop.out" &
sink=$!
wait_for test -S "$N" || fail "notify sink did not start again"
kill -TERM "$act"
wait "$act" || fail "fastnd exited $? after SIGTERM"
wait "$sink" || fail "no STOPPING=1: $(cat "$TMPROOT/stop.out")"
[ -S "$H/fastnd.sock" ] || fail "fastnd removed the manager's socket file"
pass "SIGTERM: STOPPING=1, exit 0, socket file left to the manager"

# 3. Two sockets: the one named "control" is the control socket; with
# none of that name fastnd refuses to guess.
H2=$(new_home)
systemd-socket-activate -l "$H2/other.sock" -l "$H2/ctl.sock" \
    --fdname=other:control "$FASTND_BIN" --foreground --home "$H2" \
    >"$H2/stdout.log" 2>"$H2/stderr.log" &
STARTED_PIDS+=("$!")
wait_for test -S "$H2/ctl.sock" || fail "no sockets from the activator"
fastn --socket "$H2/ctl.sock" id >/dev/null 2>"$TMPROOT/two.err" ||
    fail "the socket named control: $(cat "$TMPROOT/two.err")"
pass "of two passed sockets the one named control is used"

H3=$(new_home)
systemd-socket-activate -l "$H3/a.sock" -l "$H3/b.sock" --fdname=a:b \
    "$FASTND_BIN" --foreground --home "$H3" \
    >"$H3/stdout.log" 2>"$H3/stderr.log" &
act3=$!
STARTED_PIDS+=("$act3")
wait_for test -S "$H3/b.sock" || fail "no sockets from the activator"
fastn --socket "$H3/a.sock" --timeout 3 id >/dev/null 2>&1 &&
    fail "a daemon answered with no socket named control"
wait_gone "$act3" || fail "fastnd still runs without a control socket"
grep -q 'passed 2 sockets and none is named "control"; set FileDescriptorName=control' \
    "$H3/stderr.log" || fail "unclear error: $(cat "$H3/stderr.log")"
pass "two sockets, none named control: $(tail -1 "$H3/stderr.log")"

# 4. Bad LISTEN_* values: a clear error, exit 1, no socket of its own.
bad_start() { # HOME FD3-SETUP LISTEN_FDS
    bash -c 'h=$1 fds=$2; eval "$3"; export LISTEN_PID=$$ LISTEN_FDS=$fds;
        exec "$4" --foreground --home "$h"' _ "$1" "$3" "$2" "$FASTND_BIN" \
        >"$1/stdout.log" 2>"$1/stderr.log"
}
H4=$(new_home)
if bad_start "$H4" 'exec 3<"$h/config"' 1; then
    fail "fastnd accepted a plain file as its control socket"
fi
grep -q "is not a listening Unix stream socket with a path; use ListenStream=/PATH" \
    "$H4/stderr.log" || fail "unclear error: $(cat "$H4/stderr.log")"
[ ! -e "$H4/fastnd.sock" ] || fail "fastnd bound a socket of its own"
pass "a passed file that is not a socket: $(cat "$H4/stderr.log")"

H5=$(new_home)
if bad_start "$H5" 'exec 3<"$h/config"' 1x; then
    fail "fastnd accepted LISTEN_FDS=1x"
fi
grep -q "LISTEN_FDS='1x' is not a count of passed sockets" "$H5/stderr.log" ||
    fail "unclear error: $(cat "$H5/stderr.log")"
pass "a malformed LISTEN_FDS: $(cat "$H5/stderr.log")"

# LISTEN_PID of another process (the variables were inherited): ignored;
# fastnd binds its own socket as usual.
H6=$(new_home)
LISTEN_PID=1 LISTEN_FDS=1 "$FASTND_BIN" --foreground --home "$H6" \
    >"$H6/stdout.log" 2>"$H6/stderr.log" &
STARTED_PIDS+=("$!")
wait_for test -S "$H6/fastnd.sock" ||
    fail "fastnd with another pid's LISTEN_FDS: $(cat "$H6/stderr.log")"
fastn --home "$H6" --no-autostart id >/dev/null ||
    fail "no daemon on its own socket"
pass "another process's LISTEN_FDS is ignored"
