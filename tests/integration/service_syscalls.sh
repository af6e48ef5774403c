#!/bin/bash
# What the system unit's sandbox allows is what fastnd does: a daemon run
# under strace through a session that touches every subsystem (control
# requests, a connection to a peer, ping, a stream, a plugin installed
# and called, a reload, a stop) makes only system calls in the unit's
# SystemCallFilter= (@system-service without @privileged, expanded by
# systemd-analyze itself), opens only the socket families of
# RestrictAddressFamilies=, and never asks for memory that
# MemoryDenyWriteExecute= refuses. With no systemd running here, this is
# how the filter is checked against the real daemon (docs/SERVICE.md).
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

command -v strace >/dev/null || skip "strace is missing"
command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (package systemd)"
UNIT=$TOP/dist/systemd/fastnd.service.in
grep -qx 'SystemCallFilter=@system-service' "$UNIT" &&
    grep -qx 'SystemCallFilter=~@privileged' "$UNIT" ||
    fail "the unit's SystemCallFilter changed: update this test"

expand() { # @GROUP: its system calls, groups expanded
    systemd-analyze syscall-filter "$1" | sed -n 's/^    \([@a-z0-9_-]*\)$/\1/p' |
        while read -r s; do
            case "$s" in @*) expand "$s" ;; *) echo "$s" ;; esac
        done
}
expand @system-service | sort -u >"$TMPROOT/service.list"
expand @privileged | sort -u >"$TMPROOT/privileged.list"
# plus the calls the unit names one by one (SystemCallFilter=seccomp)
sed -n 's/^SystemCallFilter=\([a-z0-9_]*\)$/\1/p' "$UNIT" >>"$TMPROOT/service.list"
sort -u -o "$TMPROOT/service.list" "$TMPROOT/service.list"
comm -23 "$TMPROOT/service.list" "$TMPROOT/privileged.list" >"$TMPROOT/allowed.list"
[ "$(wc -l <"$TMPROOT/allowed.list")" -gt 200 ] ||
    fail "could not expand @system-service: $(wc -l <"$TMPROOT/allowed.list") calls"

# As the unit runs it: not as root (SQLite, for one, gives root's new
# files the database's owner with fchown, which @privileged holds).
H=$(new_home)
as=()
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$FASTND_BIN" --version \
        >/dev/null 2>&1; then
    chown -R nobody:nogroup "$H"
    as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
T=$TMPROOT/strace.out
strace -f -qq -o "$T" "${as[@]}" "$FASTND_BIN" --home "$H" --foreground \
    --listen /ip4/127.0.0.1/tcp/0 >"$H/stdout.log" 2>"$H/stderr.log" &
STARTED_PIDS+=("$!")
wait_for test -S "$H/fastnd.sock" || fail "fastnd under strace did not start"
pid=$(daemon_pid "$H")
H2=$(new_home)
start_net "$H2"

# the session
fastn --home "$H" --no-autostart id >/dev/null
fastn --home "$H" --no-autostart status >/dev/null
fastn --home "$H" --no-autostart connect "$(listen_addr "$H2")" >/dev/null
fastn --home "$H" --no-autostart ping "$(peer_id "$H2")" -c 2 -i 0.1 >/dev/null
fastn --home "$H2" --no-autostart listen /x/1.0.0 -n 1 -- cat >/dev/null 2>&1 &
lpid=$!
wait_for fastn --home "$H2" --no-autostart status --json
sleep 0.3
[ "$(echo hi | fastn --home "$H" --no-autostart call "$(peer_id "$H2")" /x/1.0.0)" = hi ] ||
    fail "stream through the traced daemon"
wait "$lpid" || true
if [ -f "$TOP/$BUILD/plugins/echo.wasm" ]; then
    fastn --home "$H" --no-autostart plugin install "$TOP/$BUILD/plugins/echo.wasm" >/dev/null
    fastn --home "$H" --no-autostart plugin call echo echo hello >/dev/null || true
    echo hi | fastn --home "$H2" --no-autostart call "$(peer_id "$H")" /fastn/echo/1.0.0 >/dev/null
fi
fastn --home "$H" --no-autostart notifications >/dev/null 2>&1
sighup "$pid" "$H/stderr.log"
kill -TERM "$pid"
wait_gone "$pid" || fail "fastnd did not stop"
sleep 0.2

# system calls after exec (the loader's before it are the kernel's business)
sed -n '/execve("[^"]*fastnd"/,$p' "$T" | grep -o '^[0-9]\+ \+[a-z0-9_]*(' |
    sed 's/^[0-9]* *//; s/($//' | sort -u >"$TMPROOT/used.list"
[ "$(wc -l <"$TMPROOT/used.list")" -gt 30 ] || fail "strace saw too little: $(cat "$TMPROOT/used.list")"
bad=$(comm -23 "$TMPROOT/used.list" "$TMPROOT/allowed.list" | grep -vx 'execve' || true)
[ -z "$bad" ] || fail "system calls outside the unit's filter: $(echo $bad)"
pass "$(wc -l <"$TMPROOT/used.list") distinct system calls${as:+ (as nobody)}, all in @system-service ~@privileged"

fams=$(grep -o ' socket(AF_[A-Z0-9]*' "$T" | sed 's/.*(//' | sort -u)
for f in $fams; do
    case "$f" in AF_UNIX | AF_INET | AF_INET6 | AF_NETLINK) ;;
    *) fail "a socket of family $f, outside RestrictAddressFamilies=" ;; esac
done
pass "socket families: $(echo $fams)"

wx=$(grep -E 'mmap\(.*PROT_WRITE\|PROT_EXEC|mmap\(.*PROT_EXEC\|PROT_WRITE|mprotect\(.*PROT_EXEC' "$T" || true)
[ -z "$wx" ] || fail "memory MemoryDenyWriteExecute= refuses: $(head -3 <<<"$wx")"
pass "no writable+executable memory, no mprotect to executable"
