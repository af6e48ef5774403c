#!/bin/bash
# The system daemon (fastnd.service as its own user, docs/SERVICE.md):
# fastnd reads its config from --config (/etc/fastn/fastnd.conf there)
# and never writes it; `fastn` with no home named finds the system
# daemon's socket when the user has no home of their own and may use that
# socket (its group), and otherwise starts a daemon of the user's own.
. "$(dirname "$0")/common.bash"

[ "$(id -u)" = 0 ] || skip "needs root to run clients as another uid"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
getent passwd nobody >/dev/null && getent group nogroup >/dev/null ||
    skip "no user nobody / group nogroup"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$FASTN_BIN_CLI" --version >/dev/null 2>&1 ||
    skip "user nobody cannot run $FASTN_BIN_CLI (build folder not readable)"

# The system daemon: home like /var/lib/fastn, config like
# /etc/fastn/fastnd.conf, socket like /run/fastn/fastnd.sock (group
# nogroup stands for the group fastn).
SYS=$TMPROOT/sys
mkdir -m 700 "$SYS"
mkdir -m 755 "$TMPROOT/run"
SOCK=$TMPROOT/run/fastnd.sock
printf '%s\n' "allow-gids = nogroup" "socket-group = nogroup" \
    "listen = /ip4/127.0.0.1/tcp/0" >"$TMPROOT/fastnd.conf"
"$FASTND_BIN" --foreground --home "$SYS" --config "$TMPROOT/fastnd.conf" \
    -listen="/unix$SOCK" >"$SYS/stdout.log" 2>"$SYS/stderr.log" &
STARTED_PIDS+=("$!")
wait_for test -S "$SOCK" || fail "system daemon: $(cat "$SYS/stderr.log")"
[ "$(stat -c %G "$SOCK")" = nogroup ] || fail "socket-group from --config not applied"
[ ! -e "$SYS/config" ] || fail "fastnd wrote a config into the home despite --config"
sys_id=$(fastn --socket "$SOCK" id | sed -n 1p)
pass "system daemon on $SOCK with its config from --config"

# A user with no home of their own, in the socket's group: the system
# daemon, and no daemon of their own is started.
U=$TMPROOT/user
mkdir -m 755 "$U"
chown nobody "$U"
# A daemon the user's fastn starts listens on loopback only, as every
# daemon of the tests does.
printf '#!/bin/sh\nexec "%s" --listen /ip4/127.0.0.1/tcp/0 "$@"\n' \
    "$FASTND_BIN" >"$TMPROOT/fastnd-loopback"
chmod 755 "$TMPROOT/fastnd-loopback"
as_user() { # GROUP ARGS...: fastn as nobody with HOME=$U
    local g=$1
    shift
    env -u FASTN_HOME HOME="$U" FASTN_SYSTEM_SOCKET="$SOCK" \
        FASTND="$TMPROOT/fastnd-loopback" \
        setpriv --reuid=nobody --regid="$g" --clear-groups \
        "$FASTN_BIN_CLI" --timeout 10 "$@"
}
out=$(as_user nogroup id 2>"$TMPROOT/err1" | sed -n 1p)
[ "$out" = "$sys_id" ] ||
    fail "a member of the group got '$out' ($(cat "$TMPROOT/err1")), not the system daemon"
! grep -q "started fastnd" "$TMPROOT/err1" || fail "a daemon was started"
[ ! -e "$U/.fastn" ] || fail "a home of the user's own was made"
as_user nogroup status --json | grep -q "\"socket\":\"$SOCK\"" ||
    fail "status does not name the system socket"
pass "no home of their own, in the group: the system daemon ($sys_id)"

# --no-autostart changes nothing: discovery is not a start.
[ "$(as_user nogroup --no-autostart id | sed -n 1p)" = "$sys_id" ] ||
    fail "--no-autostart lost the system daemon"
pass "--no-autostart also finds the system daemon"

stop_own() { # HOME: the user's own daemon that fastn started
    local pid
    pid=$(cat "$1/.fastn/fastnd.lock")
    stop_pid "$pid"
}

# Not in the socket's group: the system socket is not theirs; fastn
# starts the user's own daemon as before.
own=$(as_user 4242 id 2>"$TMPROOT/err2" | sed -n 1p) ||
    fail "autostart for a user outside the group: $(cat "$TMPROOT/err2")"
grep -q "started fastnd" "$TMPROOT/err2" || fail "no own daemon started"
[ -n "$own" ] && [ "$own" != "$sys_id" ] || fail "got the system daemon ($own)"
grep -q "listening on /ip4/127.0.0.1/" "$U/.fastn/fastnd.log" ||
    fail "the user's daemon did not listen on loopback only"
stop_own "$U"
pass "outside the group: a daemon of the user's own ($own)"

# In the group but with a home of their own: their own daemon.
[ -d "$U/.fastn" ] || fail "no home was made by the own daemon"
own2=$(as_user nogroup id 2>"$TMPROOT/err3" | sed -n 1p)
[ "$own2" = "$own" ] || fail "a user with a home got $own2 ($(cat "$TMPROOT/err3"))"
stop_own "$U"
pass "with a home of their own: their own daemon, not the system one"

# A home named (--home or FASTN_HOME) is never replaced by the system one.
rm -rf "$U/.fastn"
if as_user nogroup --home "$U/.fastn" --no-autostart id >/dev/null 2>&1; then
    fail "--home fell back to the system daemon"
fi
if env FASTN_HOME="$U/.fastn" HOME="$U" FASTN_SYSTEM_SOCKET="$SOCK" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$FASTN_BIN_CLI" --no-autostart id >/dev/null 2>&1; then
    fail "FASTN_HOME fell back to the system daemon"
fi
pass "--home and FASTN_HOME are never replaced by the system daemon"
