#!/bin/bash
# What an allowed local user who is not an admin (uid nobody) may make
# fastnd do, each case an attack that worked before (docs/CONTROL.md,
# "Privileges"):
#  1. a handler on the owner's socket, or a TCP address: refused;
#  2. its own socket swapped for a symlink to the owner's socket after
#     registering: the daemon connects, sees the listener is root's
#     (SO_PEERCRED), writes nothing, drops the handler: the remote peer
#     does not read the owner's secret;
#  3. sharing (balanced) a protocol an expose or another uid's handler
#     serves: refused, and the admin's service keeps every stream;
#  4. one request with 10,000 protocols (and 60,000 in 1 MiB): refused at
#     once, the daemon's memory unmoved; the per-uid handler cap;
#  5. handlers of a go-libp2p-daemon style client (registered on a
#     connection it closed) live while the process does, go when it exits;
#  6. a connection that sends no request is closed after request-timeout
#     (libfastn connects again for a request it sends later), while an
#     owner's `notifications --follow` stays;
#  7. FORWARD beyond loopback, DISCONNECT, notifications, plugin calls:
#     refused; a loopback forward works.
. "$(dirname "$0")/common.bash"

[ "$(id -u)" = 0 ] || skip "needs root to run a client as another uid"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
getent passwd nobody >/dev/null && getent group nogroup >/dev/null ||
    skip "no user nobody / group nogroup"
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
"${AS_NOBODY[@]}" "$FASTN_BIN_CLI" --version >/dev/null 2>&1 ||
    skip "user nobody cannot run $FASTN_BIN_CLI (build folder not readable)"
ECHO=$TOP/$BUILD/plugins/echo.wasm
[ -f "$ECHO" ] || skip "plugins not built (no wasm32-wasi toolchain)"
IPROBE=$TOP/$BUILD/tests/integration/ipc_probe
nb() { "${AS_NOBODY[@]}" "$@"; }
# in the background, without a subshell in between: $! is the process
bg_nb() {
    "${AS_NOBODY[@]}" "$@" &
    STARTED_PIDS+=($!)
    BG=$!
}

H=$(new_home)
chmod 711 "$H"
printf '%s\n' "socket-group = nogroup" "allow-uids = nobody" \
    "request-timeout = 1" "max-handlers-per-uid = 100" >>"$H/config"
start_fg "$H"
A_PID=$DAEMON_PID
SOCK=$H/fastnd.sock
f() { fastn --home "$H" --no-autostart "$@"; }
A_ID=$(f id | sed -n 1p)
A_ADDR=$(f id | sed -n 2p)
B=$(new_home)
start_fg "$B"
g() { fastn --home "$B" --no-autostart "$@"; }
B_ID=$(g id | sed -n 1p)
g connect "$A_ADDR" >/dev/null
# a remote peer's call: B opens a stream to A for PROTOCOL, prints the reply
call_a() { timeout 10 "$FASTN_BIN_CLI" --home "$B" --no-autostart call "$A_ID" "$1" </dev/null 2>&1 || true; }

# the owner's secret: a socket only root can reach
S=$(mktemp -d "$TMPROOT/secret.XXXXXX")
chmod 700 "$S"
"$IPROBE" secret "$S/secret.sock" "OWNER-SECRET-4711" >"$S/out" 2>&1 &
STARTED_PIDS+=($!)
wait_for grep -q listening "$S/out" || fail "the secret socket did not start"
# nobody's own folder
W=$(mktemp -d "$TMPROOT/nobody.XXXXXX")
chown nobody:nogroup "$W"
chmod 755 "$W"

# --- 1. the owner's socket, a TCP address -----------------------------------
out=$(nb "$IPROBE" handler "$SOCK" "/unix$S/secret.sock" 0 /steal/1.0.0) &&
    fail "nobody registered a handler on root's socket: $out"
grep -q "^ERROR -106 .*not a socket of uid $(id -u nobody)" <<<"$out" ||
    fail "unclear refusal: $out"
out=$(nb "$IPROBE" handler "$SOCK" /ip4/127.0.0.1/tcp/22 0 /steal/1.0.0) &&
    fail "nobody registered a TCP handler: $out"
grep -q "^ERROR -106 .*TCP address" <<<"$out" || fail "unclear refusal: $out"
[ "$(call_a /steal/1.0.0)" != "OWNER-SECRET-4711" ] || fail "the secret leaked"
pass "a non-admin handler on root's socket or a TCP address is refused"

# --- 2. its own socket, swapped after registering ---------------------------
bg_nb "$IPROBE" serve "$SOCK" "$W/h.sock" /steal/1.0.0 "from-nobody" \
    >"$W/serve.out" 2>&1
SERVE=$BG
wait_for grep -q registered "$W/serve.out" || fail "serve: $(cat "$W/serve.out")"
[ "$(call_a /steal/1.0.0)" = "from-nobody" ] || fail "its own handler unserved"
nb mv "$W/h.sock" "$W/h.old"
nb ln -s "$S/secret.sock" "$W/h.sock"
out=$(call_a /steal/1.0.0)
! grep -q OWNER-SECRET <<<"$out" || fail "the remote peer read the secret: $out"
wait_for grep -q "listened on by uid 0, not by uid $(id -u nobody)" "$H/stderr.log" ||
    fail "the refused connection was not logged"
grep -q "for /steal/1.0.0 dropped: the socket there does not belong" "$H/stderr.log" ||
    fail "the handler was not dropped"
[ "$(call_a /steal/1.0.0)" != "OWNER-SECRET-4711" ] || fail "the secret leaked"
pass "a handler's socket swapped for root's: nothing written, handler dropped"
kill "$SERVE"
nb rm -f "$W/h.sock" "$W/h.old"

# --- 3. sharing what an admin serves ----------------------------------------
"$FASTN_BIN_CLI" --home "$H" --no-autostart expose 127.0.0.1:9 \
    --allow "$B_ID" --protocol /svc/1.0.0 >"$H/expose.out" &
STARTED_PIDS+=($!)
wait_for grep -q exposing "$H/expose.out" || fail "expose did not start"
"$FASTN_BIN_CLI" --home "$H" --no-autostart listen /root/1.0.0 \
    >/dev/null 2>&1 &
STARTED_PIDS+=($!)
status_has() { f status | grep -q "$1"; }
wait_for status_has "^handlers *2$" || fail "root's listener missing"
timeout 5 "${AS_NOBODY[@]}" "$IPROBE" serve "$SOCK" "$W/j.sock" /svc/1.0.0 "stolen" >"$W/join.out" &&
    fail "nobody joined an expose: $(cat "$W/join.out")"
grep -q "^ERROR -106 .*/svc/1.0.0, which the daemon serves itself" "$W/join.out" ||
    fail "unclear refusal: $(cat "$W/join.out")"
timeout 5 "${AS_NOBODY[@]}" "$IPROBE" serve "$SOCK" "$W/j.sock" /root/1.0.0 "stolen" >"$W/join.out" &&
    fail "nobody joined root's handler: $(cat "$W/join.out")"
grep -q "^ERROR -106 .*another user's handler" "$W/join.out" ||
    fail "unclear refusal: $(cat "$W/join.out")"
for i in 1 2 3 4; do # every stream still the expose's (its target refuses)
    ! grep -q stolen <<<"$(call_a /svc/1.0.0)" || fail "a stream went to nobody"
done
f plugin install "$ECHO" >/dev/null
proto=$(f plugin info echo --json | sed 's/.*"protocols":\["\([^"]*\)".*/\1/')
[ "$proto" = /fastn/echo/1.0.0 ] || fail "echo's protocol: $proto"
timeout 5 "${AS_NOBODY[@]}" "$IPROBE" serve "$SOCK" "$W/j.sock" "$proto" "stolen" >"$W/join.out" &&
    fail "nobody joined a plugin's protocol"
grep -q "^ERROR -106 .*$proto, which the daemon serves itself" "$W/join.out" ||
    fail "unclear refusal: $(cat "$W/join.out")"
[ "$(call_a "$proto")" != stolen ] || fail "a stream of echo went to nobody"
pass "a non-admin cannot share an expose's, a plugin's or another uid's protocol"

# --- 4. caps -----------------------------------------------------------------
bg_nb "$IPROBE" serve "$SOCK" "$W/c.sock" /cap/0 x >"$W/cap.out" 2>&1
wait_for grep -q registered "$W/cap.out" || fail "serve: $(cat "$W/cap.out")"
rss() { awk '/VmRSS/ {print $2}' "/proc/$A_PID/status"; }
before=$(rss)
start=$(date +%s%N)
out=$(nb "$IPROBE" handlers "$SOCK" "/unix$W/c.sock" 10000 12) &&
    fail "10,000 protocols in one request accepted"
grep -q "^ERROR -4 10000 protocols in one request; at most 64" <<<"$out" ||
    fail "unclear refusal: $out"
out=$(nb "$IPROBE" handlers "$SOCK" "/unix$W/c.sock" 60000 15) &&
    fail "60,000 protocols in one request accepted"
grep -q "^ERROR -4 " <<<"$out" || fail "unclear refusal: $out"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$(f id | sed -n 1p)" = "$A_ID" ] || fail "the daemon stopped answering"
after=$(rss)
[ $((after - before)) -lt 20000 ] ||
    fail "RSS grew from $before kB to $after kB"
pass "10,000 and 60,000 protocols refused in $ms ms; RSS $before -> $after kB"
# one process (its handlers go when it exits): 64, then 40 more (with
# the one above: past 100)
out=$(nb "$IPROBE" handlers "$SOCK" "/unix$W/c.sock" 64,40 20) &&
    fail "past max-handlers-per-uid: $out"
[ "$(sed -n 1p <<<"$out")" = OK ] || fail "64 protocols refused: $out"
grep -q "^ERROR -19 .*max-handlers-per-uid (100)" <<<"$out" ||
    fail "unclear refusal: $out"
grep -q "STREAM_HANDLER refused: max-handlers-per-uid (100) reached" "$H/stderr.log" ||
    fail "the refusal was not logged"
pass "max-handlers-per-uid holds: $out"

# --- 5. a p2pd-style client's handlers end with its process ------------------
bg_nb "$IPROBE" serve "$SOCK" "$W/p.sock" /p2pd/1.0.0 "alive" >"$W/p.out" 2>&1
SERVE=$BG
wait_for grep -q registered "$W/p.out" || fail "serve: $(cat "$W/p.out")"
sleep 1.5 # its control connection closed long ago, past request-timeout too
[ "$(call_a /p2pd/1.0.0)" = "alive" ] || fail "handler gone with its connection"
[ "$(call_a /p2pd/1.0.0)" = "alive" ] || fail "handler gone after one stream"
kill "$SERVE"
wait_for grep -q "client pid $SERVE (uid $(id -u nobody)) exited: its 1 handler(s) dropped" \
    "$H/stderr.log" || fail "the handlers of an exited process stayed"
grep -q "does not support the protocol" <<<"$(call_a /p2pd/1.0.0)" ||
    fail "the protocol is still served"
pass "a p2pd-style handler lives with its process, not its connection"

# --- 6. a connection that never sends a request ------------------------------
out=$(nb "$IPROBE" idle "$SOCK") || true
grep -Eq "^closed after (9[0-9][0-9]|1[0-9]{3}|2[0-4][0-9]{2}) ms: ERROR -10 no complete request within 1.0 s" <<<"$out" ||
    fail "an idle connection: $out"
[ "$("$IPROBE" late "$SOCK" 1500)" = "$A_ID" ] ||
    fail "libfastn did not connect again for a request sent late"
timeout 3 "$FASTN_BIN_CLI" --home "$H" --no-autostart notifications --follow \
    >/dev/null 2>"$H/follow.err" && fail "--follow ended"
[ $? = 124 ] || fail "--follow failed: $(cat "$H/follow.err")"
pass "an idle connection is closed ($out); --follow is not"

# --- 7. other requests -------------------------------------------------------
out=$(timeout 5 "${AS_NOBODY[@]}" "$FASTN_BIN_CLI" --home "$H" --no-autostart \
    forward 0.0.0.0:0 "$B_ID" 2>&1) && fail "nobody forwarded from 0.0.0.0: $out"
grep -q "needs an admin client.*beyond this machine" <<<"$out" ||
    fail "unclear refusal: $out"
bg_nb "$FASTN_BIN_CLI" --home "$H" --no-autostart forward 127.0.0.1:0 "$B_ID" \
    >"$W/fwd.out" 2>&1
wait_for grep -q "^forwarding 127.0.0.1:" "$W/fwd.out" ||
    fail "a loopback forward failed: $(cat "$W/fwd.out")"
for cmd in "disconnect $B_ID" "notifications" "notifications count" \
    "plugin call echo echo hi"; do
    # shellcheck disable=SC2086
    out=$(timeout 10 "${AS_NOBODY[@]}" "$FASTN_BIN_CLI" --home "$H" \
        --no-autostart $cmd 2>&1) &&
        fail "nobody ran $cmd: $out"
    grep -q "needs an admin client" <<<"$out" || fail "$cmd: $out"
done
g peers | grep -q "$A_ID" || fail "nobody's DISCONNECT went through"
pass "non-loopback forward, disconnect, notifications, plugin calls: admins only"
