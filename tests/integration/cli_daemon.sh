#!/bin/bash
# The everyday commands against real daemons in temporary homes: a start
# that makes a new identity says so (and --no-create refuses it); stop
# waits until the daemon is gone; restart runs the daemon's own command
# line again (an upgraded binary takes over) and keeps its plugins, their
# data and its peers, and leaves a foreground daemon alone; config set is
# checked, written atomically and applied at once, put back when the
# daemon refuses it, and says which keys wait for a restart; log filters
# by level, time and count and follows; doctor finds a key open to others
# and a plugin that does not run, each with its fix.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

CHAT=$TOP/$BUILD/plugins/chat.wasm
LIAR=$TOP/$BUILD/tests/plugins/liar_memory.wasm
[ -f "$CHAT" ] && [ -f "$LIAR" ] || skip "plugins not built (no wasm toolchain)"
has_jq || fail "jq is missing (scripts/install-deps.sh installs it)"

# run EXIT ARGS...: fastn ARGS, its exit code checked; output in $OUT,
# $ERR
OUT=$TMPROOT/out
ERR=$TMPROOT/err
run() {
    local want=$1 rc
    shift
    set +e
    fastn "$@" >"$OUT" 2>"$ERR"
    rc=$?
    set -e
    [ "$rc" = "$want" ] ||
        fail "fastn $*: exit $rc, want $want: $(cat "$OUT" "$ERR")"
}

# alive PID: the process runs (a zombie not yet reaped by init has ended)
alive() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $st != Z* ]]
}

# 1. a start that makes a new identity says so; --no-create refuses it
H=$(new_home)
run 1 --home "$H" --no-create id
grep -q "has no identity: starting one would create a new PeerID" "$ERR" ||
    fail "--no-create: $(cat "$ERR")"
[ ! -e "$H/keys" ] && [ ! -e "$H/fastnd.lock" ] || fail "--no-create started one"
run 0 --home "$H" id
id=$(sed -n 1p "$OUT")
grep -q "started fastnd (pid [0-9]*) with a NEW identity $id in $H, listening on /ip4/127.0.0.1/tcp/" "$ERR" ||
    fail "a new identity is not said: $(cat "$ERR")"
grep -q "its log: $H/fastnd.log" "$ERR" || fail "the log is not named: $(cat "$ERR")"
run 0 --home "$H" stop
run 0 --home "$H" --no-create id # it has one now: a plain start
grep -q "started fastnd (pid [0-9]*) on $H, listening on" "$ERR" &&
    ! grep -q NEW "$ERR" || fail "a start with the identity: $(cat "$ERR")"
pass "a new identity is said at its start; --no-create refuses to make one"

# 2. stop: the daemon is gone when fastn returns
pid=$(daemon_pid "$H")
run 0 --home "$H" stop
grep -qx "fastnd (pid $pid) stopped" "$OUT" || fail "stop: $(cat "$OUT" "$ERR")"
! alive "$pid" || fail "fastn stop returned before fastnd ($pid) ended"
[ ! -e "$H/fastnd.sock" ] || fail "the socket is left"
flock -n "$H/fastnd.lock" true || fail "the home is still locked"
grep -q "stop requested by a client" "$H/fastnd.log" || fail "no stop in the log"
run 0 --home "$H" stop
grep -q "no fastnd is running on $H" "$ERR" || fail "stop with none: $(cat "$ERR")"
# a foreground daemon ends too, cleanly
F=$(new_home)
start_net "$F"
run 0 --home "$F" stop
wait "$DAEMON_PID" || fail "the foreground fastnd exited $? after fastn stop"
pass "stop waits until fastnd is gone ($pid), and says when none runs"

# 3. restart: the daemon's command line again, with its plugins, their
# data and its peers; an upgraded binary takes over
B=$(new_home)
start_net "$B"
idb=$(peer_id "$B")
mkdir "$TMPROOT/v1"
cp "$FASTND_BIN" "$TMPROOT/v1/fastnd"
# an installation: its share/fastn beside (the build's key is trusted)
ln -s "$TOP/$BUILD/share" "$TMPROOT/share"
# (started by a relative path, from another folder than fastn's)
(cd "$TMPROOT" && v1/fastnd --home "$H" --log-level debug) ||
    fail "fastnd did not start detached"
old=$(daemon_pid "$H")
fastn --home "$H" plugin install "$CHAT" >/dev/null
fastn --home "$B" plugin install "$CHAT" >/dev/null
fastn --home "$H" connect "$(listen_addr "$B")" >/dev/null
fastn --home "$B" connect "$(fastn --home "$H" id | sed -n 2p)" >/dev/null
fastn --home "$H" chat send "$idb" "before the restart" | grep -q "^delivered" ||
    fail "chat before the restart"
# connect to an explicit address: that one or an error naming it, also
# while connected through another
run 1 --home "$H" connect "/ip4/127.0.0.1/tcp/1/p2p/$idb"
grep -q "cannot connect to $idb at /ip4/127.0.0.1/tcp/1/p2p/$idb: connection refused" "$ERR" ||
    fail "connect to an address nothing listens on: $(cat "$OUT" "$ERR")"
# a protocol the peer lacks: what it serves, and the nearest
run 1 --home "$H" call "$idb" /fastn/chta/1.0.0 </dev/null
grep -q "$idb does not support the protocol /fastn/chta/1.0.0 (did you mean /fastn/chat/1.0.0?); it serves: .*/ipfs/ping/1.0.0.*/fastn/chat/1.0.0" "$ERR" ||
    fail "call to a protocol the peer lacks: $(cat "$ERR")"
# listen on a plugin's protocol: refused, unless --balanced, which then
# shares its streams with the plugin, each in turn
run 1 --home "$B" listen /fastn/chat/1.0.0
grep -q "/fastn/chat/1.0.0 is served by the plugin chat: fastn listen would take its streams away" "$ERR" ||
    fail "listen on chat's protocol: $(cat "$ERR")"
fastn --home "$B" listen /fastn/chat/1.0.0 --balanced -n 1 --json -- cat \
    >"$TMPROOT/balanced" 2>&1 &
L=$!
STARTED_PIDS+=("$L")
wait_for grep -q listening "$TMPROOT/balanced" || fail "listen --balanced: $(cat "$TMPROOT/balanced")"
echoed=0
for i in 1 2; do
    got=$(echo "turn $i" | fastn --home "$H" call "$idb" /fastn/chat/1.0.0 2>/dev/null) || true
    [ "$got" = "turn $i" ] && echoed=$((echoed + 1))
done
[ "$echoed" = 1 ] || fail "of 2 streams, $echoed went to the listener, want 1"
wait "$L" || fail "listen --balanced -n 1 exited $?"
pass "connect names the address that failed; call lists what the peer serves; listen --balanced shares a plugin's streams"

# the upgrade: another fastnd renamed over the first one, as dpkg does
cat >"$TMPROOT/v1/fastnd.new" <<EOF
#!/bin/sh
touch "$TMPROOT/v2-ran"
exec "$FASTND_BIN" "\$@"
EOF
chmod +x "$TMPROOT/v1/fastnd.new"
mv "$TMPROOT/v1/fastnd.new" "$TMPROOT/v1/fastnd"
run 0 --home "$H" restart --json
new=$(jq -r .pid "$OUT")
jq -e --argjson old "$old" --arg id "$id" '.old_pid == $old and .pid != $old and
    .peer_id == $id and .how == "command-line"' "$OUT" >/dev/null ||
    fail "restart: $(cat "$OUT" "$ERR")"
[ -f "$TMPROOT/v2-ran" ] || fail "the upgraded fastnd did not take over"
! alive "$old" || fail "the old fastnd ($old) still runs"
tr '\0' ' ' <"/proc/$new/cmdline" | grep -q -- " --home $H --log-level debug" ||
    fail "not its command line: $(tr '\0' ' ' <"/proc/$new/cmdline")"
[ "$(fastn --home "$H" plugin list --json | jq -r '.plugins[0].state')" = running ] ||
    fail "chat does not run after the restart"
fastn --home "$H" chat log "$idb" | grep -q "before the restart" ||
    fail "chat's data is lost"
wait_for sh -c "'$FASTN_BIN_CLI' --home '$H' peers | grep -q '$idb'" ||
    wait_for sh -c "'$FASTN_BIN_CLI' --home '$H' peers | grep -q '$idb'" ||
    fail "the peer was not dialed again: $(fastn --home "$H" peers 2>&1)"
grep -q "reconnected to $idb" "$H/fastnd.log" || fail "no reconnect in the log"
fastn --home "$B" chat send "$id" "after the restart" | grep -q "^delivered" ||
    fail "chat after the restart"
pass "restart: pid $old then $new, the upgraded binary, plugins, data and peers kept"
# a program that cannot be run again: refused before anything is stopped
mkdir "$TMPROOT/v3"
cp "$FASTND_BIN" "$TMPROOT/v3/fastnd"
X=$(new_home)
"$TMPROOT/v3/fastnd" --home "$X" || fail "fastnd in v3 did not start"
xpid=$(daemon_pid "$X")
rm "$TMPROOT/v3/fastnd"
run 1 --home "$X" restart
grep -q "fastnd (pid $xpid) was started as $TMPROOT/v3/fastnd, which cannot be run now (No such file or directory): nothing was stopped" "$ERR" ||
    fail "restart with its program gone: $(cat "$ERR")"
alive "$xpid" || fail "the daemon was stopped"
run 0 --home "$X" stop
pass "restart refuses, before stopping, when the daemon's program is gone"
# a foreground daemon is left alone, with what to do instead
run 1 --home "$B" restart
grep -q "runs in the foreground of a terminal or another program: restart it there" "$ERR" ||
    fail "restart of a foreground daemon: $(cat "$ERR")"
kill -0 "$DAEMON_PID" || fail "the foreground daemon was stopped"
pass "restart leaves a foreground daemon alone: $(cat "$ERR")"

# 4. config: checked, atomic, applied; the command line's keys wait
chmod 640 "$H/config"
ino=$(stat -c %i "$H/config")
run 0 --home "$H" config set keepalive 25
grep -qx "keepalive = 25" "$H/config" || fail "not written: $(cat "$H/config")"
[ "$(stat -c '%a %i' "$H/config")" != "640 $ino" ] && [ "$(stat -c %a "$H/config")" = 640 ] ||
    fail "not replaced by a new file of the same mode: $(stat -c '%a %i' "$H/config")"
grep -q "saved in $H/config and applied by fastnd (pid $new)" "$ERR" || fail "set: $(cat "$ERR")"
grep -q "keepalive is now 25 s (was 30 s)" "$H/fastnd.log" || fail "not applied"
run 0 --home "$H" config get keepalive
[ "$(cat "$OUT")" = 25 ] || fail "get: $(cat "$OUT")"
cp "$H/config" "$TMPROOT/config.before"
run 1 --home "$H" config set keepalive soon
grep -q "refused, as fastnd would: config line [0-9]*: keepalive wants a whole number of seconds" "$ERR" ||
    fail "a bad value: $(cat "$ERR")"
run 1 --home "$H" config set listen /ip4/1.2.3/tcp/1
grep -q "'/ip4/1.2.3/tcp/1' is not a multiaddr fastnd can listen on" "$ERR" ||
    fail "a bad listen address: $(cat "$ERR")"
cmp -s "$H/config" "$TMPROOT/config.before" || fail "a refused value changed the file"
run 0 --home "$H" config unset keepalive
! grep -q "^keepalive" "$H/config" || fail "not unset"
grep -q "keepalive is now 30 s (was 25 s)" "$H/fastnd.log" || fail "unset not applied"
run 0 --home "$B" config set listen /ip4/127.0.0.1/tcp/0
grep -q "fastnd's command line sets listen (--listen): the file's value applies when it starts without it" "$ERR" ||
    fail "a key of the command line: $(cat "$ERR")"
run 0 --home "$H" config list --json
jq -e '[.settings[].key] | contains(["listen", "keepalive", "idle-timeout",
    "log-level", "allow-uids", "max-connections"])' "$OUT" >/dev/null ||
    fail "list: $(cat "$OUT")"
pass "config set: checked, written atomically, applied; the command line's keys wait"

# with none running the file is only written; a daemon that refuses the
# reload (a client that is no admin) gets the old file back
run 0 --home "$F" config set keepalive 20
grep -q "no fastnd is running: it applies at the next start" "$ERR" || fail "$(cat "$ERR")"
grep -qx "keepalive = 20" "$F/config" || fail "not written without a daemon"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
    getent passwd nobody >/dev/null && getent group nogroup >/dev/null &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$FASTN_BIN_CLI" --version >/dev/null 2>&1; then
    E=$(new_home)
    mkdir "$TMPROOT/etc"
    printf 'listen = /ip4/127.0.0.1/tcp/0\nallow-uids = nobody\nsocket-group = nogroup\n' >"$TMPROOT/etc/fastnd.conf"
    chown -R nobody:nogroup "$TMPROOT/etc"
    chmod 711 "$E"
    start_fg "$E" --config "$TMPROOT/etc/fastnd.conf"
    cp "$TMPROOT/etc/fastnd.conf" "$TMPROOT/conf.before"
    set +e
    out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$FASTN_BIN_CLI" --home "$E" --no-autostart config set keepalive 21 2>&1)
    rc=$?
    set -e
    [ "$rc" = 1 ] || fail "a reload refused: exit $rc: $out"
    grep -q "needs an admin client" <<<"$out" &&
        grep -q "$TMPROOT/etc/fastnd.conf was put back as it was" <<<"$out" ||
        fail "a reload refused: $out"
    cmp -s "$TMPROOT/etc/fastnd.conf" "$TMPROOT/conf.before" ||
        fail "the refused file was not put back: $(cat "$TMPROOT/etc/fastnd.conf")"
    pass "a refused reload puts the old file back: $(tr '\n' ' ' <<<"$out")"
else
    echo "note: not root or no user nobody: a refused reload is not tested"
fi

# 5. log: level, time, count, and follow
printf '2020-01-01T00:00:00Z warn test: an old warning\n' >>"$H/fastnd.log"
printf '%s error test: a new error\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$H/fastnd.log"
run 0 --home "$H" log
grep -q "info daemon: fastnd .* ready on $H/fastnd.sock (pid $new)" "$OUT" ||
    fail "log: $(tail -n 3 "$OUT")"
run 0 --home "$H" log --level warn
grep -q "an old warning" "$OUT" && grep -q "a new error" "$OUT" &&
    ! grep -q " info \| debug " "$OUT" || fail "--level warn: $(cat "$OUT")"
run 0 --home "$H" log --level warn --since 1h
grep -q "a new error" "$OUT" && ! grep -q "an old warning" "$OUT" ||
    fail "--since 1h: $(cat "$OUT")"
run 0 --home "$H" log --level warn -n 2
[ "$(cut -d' ' -f2- "$OUT")" = "$(printf 'warn test: an old warning\nerror test: a new error')" ] ||
    fail "-n 2: $(cat "$OUT")"
run 0 --home "$H" log -n 3
[ "$(wc -l <"$OUT")" = 3 ] || fail "-n 3: $(cat "$OUT")"
run 2 --home "$H" log --level loud
run 2 --home "$H" log --since soon
fastn --home "$H" log -f --level info -n 1 --json >"$TMPROOT/follow" 2>&1 &
FOLLOW=$!
STARTED_PIDS+=("$FOLLOW")
wait_for grep -q "a new error" "$TMPROOT/follow" || fail "follow: nothing"
fastn --home "$H" config set idle-timeout 500 >/dev/null 2>&1
wait_for grep -q "idle-timeout is now 500 s" "$TMPROOT/follow" ||
    fail "follow: no new line: $(cat "$TMPROOT/follow")"
kill "$FOLLOW"
jq -s -e 'any(.[]; (.message | test("idle-timeout is now")) and
    .level == "info" and .subsystem == "daemon")' "$TMPROOT/follow" >/dev/null ||
    fail "follow --json: $(cat "$TMPROOT/follow")"
# a follower of a log whose home is removed stops, saying so
G=$TMPROOT/gone
mkdir -p "$G" && cp "$H/fastnd.log" "$G/fastnd.log"
fastn --home "$G" log -f >/dev/null 2>"$TMPROOT/gone.err" &
GONE=$!
STARTED_PIDS+=("$GONE")
sleep 0.5
rm -rf "$G"
for _ in $(seq 100); do kill -0 "$GONE" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$GONE" 2>/dev/null || fail "log -f follows a deleted log forever"
grep -q "fastnd.log was deleted; stopped following it" "$TMPROOT/gone.err" ||
    fail "log -f, deleted: $(cat "$TMPROOT/gone.err")"
# a foreground daemon's stderr (a file here) is its log; no times there
run 0 --home "$B" log
grep -q "^info daemon: fastnd .* ready on $B/fastnd.sock" "$OUT" ||
    fail "a foreground daemon's log: $(cat "$OUT")"
run 2 --home "$B" log --since 1h
grep -q "has no times on its lines" "$ERR" || fail "$(cat "$ERR")"
# no daemon, and none ever detached: no log to read
run 1 --home "$F" log
grep -q "no fastnd is running on $F, and it has no $F/fastnd.log" "$ERR" ||
    fail "no log: $(cat "$ERR")"
pass "log: --level, --since, -n, --follow; a foreground daemon's stderr"

# 6. doctor: all well; then a key open to others, a plugin that does not
# run, no daemon: each a failed check with its fix
run 0 --home "$H" doctor
grep -q "^all checks passed" "$OUT" || fail "doctor: $(cat "$OUT")"
grep -q "^ok    reachable  /ip4/127.0.0.1/tcp/[0-9]* answers as libp2p" "$OUT" ||
    fail "doctor did not dial the listen address: $(cat "$OUT")"
chmod 644 "$H/keys/identity.key"
fastn --home "$H" plugin install --unsigned "$LIAR" >/dev/null 2>&1 || true
run 1 --home "$H" doctor --json
jq -e '.ok == false' "$OUT" >/dev/null || fail "doctor: $(cat "$OUT")"
jq -e '.checks[] | select(.name == "key") | .status == "fail" and
    (.fix | test("^chmod go-rwx .*/keys/identity.key$"))' "$OUT" >/dev/null ||
    fail "the key's mode: $(cat "$OUT")"
jq -e '.checks[] | select(.name == "plugin hostile-liar-memory") |
    .status == "fail" and (.detail | test("cannot instantiate")) and
    (.fix | test("fastn plugin info hostile-liar-memory"))' "$OUT" >/dev/null ||
    fail "the failed plugin: $(cat "$OUT")"
jq -e '.checks[] | select(.name == "plugin chat") | .status == "ok"' "$OUT" \
    >/dev/null || fail "chat: $(cat "$OUT")"
run 1 --home "$H" doctor
grep -q "fix: chmod go-rwx $H/keys/identity.key" "$OUT" &&
    grep -q "^some checks failed" "$OUT" || fail "doctor's text: $(cat "$OUT")"
chmod 600 "$H/keys/identity.key"
fastn --home "$H" plugin remove hostile-liar-memory >/dev/null
run 0 --home "$H" doctor
pass "doctor: a key open to others and a plugin that does not run, with their fixes"
# a listener whose daemon stops ends, saying so (it waited forever)
fastn --home "$H" --no-autostart listen /test/gone/1.0.0 -- cat \
    >"$TMPROOT/gone" 2>&1 &
L=$!
STARTED_PIDS+=("$L")
wait_for grep -q listening "$TMPROOT/gone" || fail "listen: $(cat "$TMPROOT/gone")"
run 0 --home "$H" stop
wait_gone "$L" || fail "listen goes on after its daemon stopped"
wait "$L" && fail "listen exited 0 after its daemon stopped"
grep -q "fastnd closed the connection this handler was registered on" "$TMPROOT/gone" ||
    fail "listen's message: $(cat "$TMPROOT/gone")"
pass "listen ends with a clear error when its daemon stops"
# no daemon: the log of its earlier runs
run 0 --home "$H" log -n 50
grep -q "stop requested by a client" "$OUT" || fail "the log of a stopped daemon"
pass "log with no daemon: HOME/fastnd.log of its earlier runs"
