#!/bin/bash
# Who may use the control socket: a client running as another uid is
# refused — by the socket's mode, and past that by SO_PEERCRED with an
# error response and a hang-up before any request is served — until the
# config lists its uid or group (re-read on SIGHUP).
. "$(dirname "$0")/common.bash"

[ "$(id -u)" = 0 ] || skip "needs root to run a client as another uid"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
getent passwd nobody >/dev/null && getent group nogroup >/dev/null ||
    skip "no user nobody / group nogroup"
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
"${AS_NOBODY[@]}" "$FASTN_BIN_CLI" --version >/dev/null 2>&1 ||
    skip "user nobody cannot run $FASTN_BIN_CLI (build folder not readable)"
NOBODY_UID=$(id -u nobody)

H=$(new_home)
chmod 711 "$H" # others may reach the socket, not read the home
start_fg "$H"
root_id=$(fastn --home "$H" --no-autostart id | sed -n 1p)

as_nobody_id() {
    "${AS_NOBODY[@]}" "$FASTN_BIN_CLI" --home "$H" --no-autostart --timeout 5 id | sed -n 1p
}

# 1. the socket is 0660 root:root: nobody cannot even connect
if out=$(as_nobody_id 2>&1); then
    fail "nobody got through a 0660 socket: $out"
fi
grep -q "refused this client" <<<"$out" || fail "unclear error: $out"
pass "socket mode refuses another uid: $out"

reload() { # CONFIG LINES: write the config, SIGHUP, wait for the log line
    printf '%s\n' "$@" >"$H/config"
    sighup "$DAEMON_PID" "$H/stderr.log"
}

# 2. the socket's group lets nobody connect; SO_PEERCRED still refuses
reload "socket-group = nogroup"
[ "$(stat -c %G "$H/fastnd.sock")" = nogroup ] || fail "socket group not set"
if out=$(as_nobody_id 2>&1); then
    fail "nobody admitted without being listed: $out"
fi
grep -q "refused uid $NOBODY_UID" <<<"$out" || fail "unclear error: $out"
raw=$("${AS_NOBODY[@]}" "$PROBE" raw "$H/fastnd.sock" 020800)
[ "$(echo "$raw" | head -n 1 | cut -d' ' -f1-2)" = "ERROR -103" ] ||
    fail "expected a NOT_ALLOWED response, got: $raw"
[ "$(echo "$raw" | tail -n 1)" = EOF ] || fail "refused client not disconnected"
! grep -q "^OK" <<<"$raw" || fail "a request was served: $raw"
[ "$(fastn --home "$H" --no-autostart id | sed -n 1p)" = "$root_id" ] ||
    fail "the daemon stopped serving its own user"
pass "SO_PEERCRED refuses uid $NOBODY_UID with an error, then hangs up"

# 3. listed by uid (by name): admitted
reload "socket-group = nogroup" "allow-uids = nobody"
[ "$(as_nobody_id)" = "$root_id" ] || fail "listed uid not admitted"
pass "allow-uids = nobody admits it"

# an admitted client that is not an admin may not expose a local service:
# the daemon would connect to it with its own rights
if out=$(timeout 10 "${AS_NOBODY[@]}" "$FASTN_BIN_CLI" --home "$H" --no-autostart \
    --timeout 5 expose 127.0.0.1:9 --allow "$root_id" 2>&1); then
    fail "nobody exposed a service: $out"
fi
grep -q "needs an admin client.*: exposing a local service: run it as the daemon's user" <<<"$out" ||
    fail "unclear error for a non-admin expose: $out"
pass "a non-admin client cannot expose: $out"

# 4. listed by group: admitted; unlisted again: refused again
reload "socket-group = nogroup" "allow-gids = nogroup"
[ "$(as_nobody_id)" = "$root_id" ] || fail "listed gid not admitted"
pass "allow-gids = nogroup admits it"
reload "socket-group = nogroup"
if as_nobody_id >/dev/null 2>&1; then
    fail "still admitted after being removed from the config"
fi
pass "removed from the config: refused again"

# 5. a bad config on SIGHUP keeps the running one
reload "socket-group = nogroup" "allow-uids = nobody"
printf 'allow-uids = no-such-user-xyz\n' >"$H/config"
kill -HUP "$DAEMON_PID"
wait_for grep -q "keeping the old config" "$H/stderr.log" ||
    fail "bad config not reported"
[ "$(as_nobody_id)" = "$root_id" ] || fail "bad config replaced the good one"
pass "a bad config on SIGHUP is refused, the old one kept"
