#!/bin/bash
# fastnd in a fresh home: key file modes, socket mode, `fastn id` through
# the CLI, through libfastn and from the key file agree, status and peers
# (text and --json), a second daemon refused, SIGTERM/SIGINT leave no
# socket, and the identity survives a restart.
. "$(dirname "$0")/common.bash"

H=$(new_home)
out=$("$FASTND_BIN" --home "$H" 2>&1) || fail "fastnd did not start: $out"
pid=$(daemon_pid "$H")
kill -0 "$pid" || fail "no daemon process $pid"
[ -S "$H/fastnd.sock" ] || fail "no socket once fastnd returned"
pass "fastnd detached and was ready when it returned"

[ "$(stat -c %a "$H/keys")" = 700 ] || fail "keys/ is not 0700"
[ "$(stat -c %a "$H/keys/identity.key")" = 600 ] || fail "key is not 0600"
[ "$(stat -c %s "$H/keys/identity.key")" = 68 ] || fail "key is not 68 bytes"
[ "$(head -c 4 "$H/keys/identity.key" | od -An -tx1 | tr -d ' ')" = 08011240 ] ||
    fail "key file is not a libp2p Ed25519 PrivateKey"
[ "$(stat -c %a "$H/fastnd.sock")" = 660 ] || fail "socket is not 0660"
pass "key file 0600 in keys/ 0700, socket 0660"

cli_id=$(fastn --home "$H" --no-autostart id | sed -n 1p)
lib_id=$("$PROBE" identify "$H/fastnd.sock")
key_id=$("$PROBE" peerid "$H/keys/identity.key")
[ "$cli_id" = "$lib_id" ] || fail "CLI $cli_id != library $lib_id"
[ "$cli_id" = "$key_id" ] || fail "daemon $cli_id != key file $key_id"
case "$cli_id" in 12D3KooW*) ;; *) fail "not an Ed25519 PeerID: $cli_id" ;; esac
pass "fastn id = libfastn identify = key file PeerID ($cli_id)"

if has_jq; then
    [ "$(fastn --home "$H" id --json | jq -r .peer_id)" = "$cli_id" ] ||
        fail "id --json"
    st=$(fastn --home "$H" status --json)
    [ "$(echo "$st" | jq -r .peer_id)" = "$cli_id" ] || fail "status peer_id"
    [ "$(echo "$st" | jq -r .pid)" = "$pid" ] || fail "status pid"
    [ "$(echo "$st" | jq -r .home)" = "$H" ] || fail "status home"
    [ "$(echo "$st" | jq -r .extension_version)" = 1 ] || fail "ext version"
    [ "$(echo "$st" | jq -r .clients)" = 1 ] || fail "clients count"
    [ "$(fastn --home "$H" peers --json | jq -c .peers)" = "[]" ] ||
        fail "peers --json"
    pass "--json output parses and agrees"
else
    echo "note: jq missing; --json output not parsed"
fi
text=$(fastn --home "$H" status)
grep -q "^peer id *$cli_id$" <<<"$text" || fail "status text: $text"
grep -q "^fastnd 0\.[0-9]*\.[0-9]* (pid $pid), up " <<<"$text" ||
    fail "status header: $text"
[ -z "$(fastn --home "$H" peers 2>/dev/null)" ] || fail "peers not empty"
pass "status and peers"

# a second daemon on the same home is refused, and the first serves on
if out=$("$FASTND_BIN" --home "$H" 2>&1); then
    fail "a second daemon started on the same home"
fi
grep -q "another fastnd (pid $pid) is already running" <<<"$out" ||
    fail "unclear refusal: $out"
if out=$("$FASTND_BIN" --home "$H" --foreground 2>&1); then
    fail "a second foreground daemon started"
fi
[ "$(fastn --home "$H" --no-autostart id | sed -n 1p)" = "$cli_id" ] ||
    fail "first daemon stopped serving"
pass "second daemon refused: $out"

# SIGHUP re-reads the config; network settings apply at once and each
# change is logged, other changes apply silently
hup() { sighup "$pid" "$H/fastnd.log"; }
echo "max-clients = 100" >>"$H/config"
hup
! grep -q "SIGHUP: .* is now" "$H/fastnd.log" || fail "network change reported for max-clients"
echo "idle-timeout = 5" >>"$H/config"
echo "max-connections = 50" >>"$H/config"
hup
grep -q "SIGHUP: idle-timeout is now 5 s (was 600 s)" "$H/fastnd.log" ||
    fail "a changed idle-timeout not reported on SIGHUP"
grep -q "SIGHUP: max-connections is now 50 (was 1024)" "$H/fastnd.log" ||
    fail "a changed max-connections not reported on SIGHUP"
! grep -q "starts again" "$H/fastnd.log" || fail "still said to wait for a restart"
pass "SIGHUP: config reloaded; network settings applied and logged"

kill -TERM "$pid"
wait_gone "$pid" || fail "fastnd ignored SIGTERM"
[ ! -e "$H/fastnd.sock" ] || fail "SIGTERM left the socket"
pass "SIGTERM: clean exit, no socket"

# restart: same identity; SIGINT works too
start_fg "$H"
[ "$(fastn --home "$H" --no-autostart id | sed -n 1p)" = "$cli_id" ] ||
    fail "identity changed across a restart"
kill -INT "$DAEMON_PID"
wait "$DAEMON_PID" || fail "fastnd exited non-zero on SIGINT"
[ ! -e "$H/fastnd.sock" ] || fail "SIGINT left the socket"
grep -q "Peer ID: $cli_id" "$H/stdout.log" || fail "no banner in foreground"
pass "restart keeps the identity; SIGINT: clean exit"
