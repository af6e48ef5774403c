#!/bin/bash
# The Debian packages of `make deb`, installed for real into this machine
# with dpkg (as root: CI is), tried, and purged, leaving the machine as it
# was: the files are where the packages say, the fastn user exists, the
# system units are enabled and the user units are not; the installed
# fastn starts the installed fastnd; the system daemon, run as its unit
# runs it (as user fastn, on the socket fastnd.socket names, through
# socket activation), serves a member of the group fastn who has no home
# of their own; purging removes every file, the state and the unit
# links, and the fastn user this test saw created is removed again.
# Usage: tests/package/deb.sh DIR-WITH-THE-DEBS   (make check-deb)
set -euo pipefail
DEBS=${1:?usage: deb.sh DIR}
PKGS=(fastn libfastn0 libfastn-dev)
TMP=$(mktemp -d /tmp/fastn-deb.XXXXXX)
chmod 755 "$TMP"
PIDS=()
installed=false
made_user=false

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
skip() {
    echo "$*"
    exit 77
}
pass() { echo "ok: $*"; }

[ "$(id -u)" = 0 ] || skip "needs root to install packages"
for p in "${PKGS[@]}"; do
    ls "$DEBS/${p}_"*.deb >/dev/null 2>&1 || fail "no ${p}_*.deb in $DEBS (make deb)"
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        skip "package $p is installed on this machine already; not touching it"
    fi
done
[ -e /run/fastn ] || [ -e /var/lib/fastn ] || [ -e /etc/fastn ] &&
    skip "/run/fastn, /var/lib/fastn or /etc/fastn exists: a fastn is set up here"
getent passwd fastn >/dev/null || made_user=true
command -v systemd-socket-activate >/dev/null ||
    fail "systemd-socket-activate is missing (Debian package systemd)"

wait_for() { # CMD...: up to 5 s
    local i
    for i in $(seq 100); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}
stop_pid() {
    local i
    kill -TERM "$1" 2>/dev/null || return 0
    for i in $(seq 50); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    [ -f "$TMP/home/.fastn/fastnd.lock" ] &&
        stop_pid "$(cat "$TMP/home/.fastn/fastnd.lock")"
    if $installed; then
        dpkg --purge "${PKGS[@]}" >>"$TMP/dpkg.log" 2>&1 || rc=1
    fi
    if $made_user && getent passwd fastn >/dev/null; then
        userdel fastn 2>/dev/null || true
    fi
    if $made_user && getent group fastn >/dev/null; then
        groupdel fastn 2>/dev/null || true
    fi
    [ $rc = 0 ] || tail -20 "$TMP/dpkg.log" 2>/dev/null >&2 || true
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT

# 1. Install.
debs=()
for p in "${PKGS[@]}"; do debs+=("$(ls "$DEBS/${p}_"*.deb | head -1)"); done
installed=true
dpkg -i "${debs[@]}" >"$TMP/dpkg.log" 2>&1 || fail "dpkg -i: $(tail -5 "$TMP/dpkg.log")"
for f in /usr/bin/fastn /usr/bin/fastnd /usr/bin/fastn-wasm \
    /lib/systemd/system/fastnd.service /lib/systemd/system/fastnd.socket \
    /usr/lib/systemd/user/fastnd.service /usr/lib/systemd/user/fastnd.socket \
    /usr/lib/sysusers.d/fastn.conf /etc/fastn/fastnd.conf \
    /usr/share/fastn/plugins/echo.wasm /usr/share/fastn/plugins/chat.wasm \
    /usr/share/fastn/plugins/echo.wasm.minisig /usr/share/fastn/plugins/index.json \
    /usr/share/fastn/trusted-publishers/fastn-build.pub \
    /usr/share/man/man1/fastn.1.gz /usr/share/man/man8/fastnd.8.gz \
    /usr/share/man/man5/fastn-config.5.gz /usr/share/man/man7/fastn-plugin.7.gz \
    /usr/share/man/man1/fastn-wasm.1.gz /usr/share/man/man3/libfastn.3.gz \
    /usr/share/bash-completion/completions/fastn /usr/share/zsh/vendor-completions/_fastn \
    /usr/include/fastn/client.h /usr/include/fastn/plugin.h \
    /usr/share/doc/libfastn-dev/examples/echo_client.c; do
    [ -e "$f" ] || fail "not installed: $f"
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for f in libfastn.so.0 libfastn.so libfastn.a pkgconfig/fastn.pc; do
    [ -e "/usr/lib/$multiarch/$f" ] || fail "not installed: /usr/lib/$multiarch/$f"
done
dpkg-query -W -f='${Conffiles}\n' fastn | grep -q /etc/fastn/fastnd.conf ||
    fail "/etc/fastn/fastnd.conf is not a conffile"
[ "$(/usr/bin/fastn --version)" = "fastn $(dpkg-query -W -f='${Version}' fastn)" ] ||
    fail "fastn --version: $(/usr/bin/fastn --version)"
pass "installed: $(dpkg-query -W -f='${Package} ${Version}  ' "${PKGS[@]}")"

# The system user, and the units as the maintainer scripts left them.
IFS=: read -r _ _ fuid fgid _ fhome fshell < <(getent passwd fastn) ||
    fail "no user fastn after install"
[ "$fhome" = /var/lib/fastn ] && [ "$fshell" = /usr/sbin/nologin ] ||
    fail "user fastn: home $fhome, shell $fshell"
[ -L /etc/systemd/system/sockets.target.wants/fastnd.socket ] ||
    fail "fastnd.socket is not enabled"
[ -L /etc/systemd/system/multi-user.target.wants/fastnd.service ] ||
    fail "fastnd.service is not enabled"
[ ! -e /etc/systemd/user/default.target.wants/fastnd.service ] &&
    [ ! -e /etc/systemd/user/sockets.target.wants/fastnd.socket ] ||
    fail "the user units were enabled for every user"
out=$(cd /lib/systemd/system && systemd-analyze verify fastnd.service fastnd.socket 2>&1) &&
    [ -z "$out" ] || fail "installed system units: $out"
pass "user fastn ($fuid:$fgid, $fhome), system units enabled and verified, user units not enabled"

# 2. The installed fastn starts the installed fastnd (autostart).
mkdir -p "$TMP/home/.fastn"
printf 'listen = /ip4/127.0.0.1/tcp/0\n' >"$TMP/home/.fastn/config"
id=$(env -u FASTN_HOME -u FASTND HOME="$TMP/home" /usr/bin/fastn id 2>"$TMP/id.err" |
    sed -n 1p) || fail "fastn id: $(cat "$TMP/id.err")"
grep -q "started fastnd" "$TMP/id.err" || fail "no daemon was started: $(cat "$TMP/id.err")"
pid=$(cat "$TMP/home/.fastn/fastnd.lock")
[ "$(readlink /proc/"$pid"/exe)" = /usr/bin/fastnd ] ||
    fail "the daemon is $(readlink /proc/"$pid"/exe), not /usr/bin/fastnd"
stop_pid "$pid"
pass "fastn id: the installed fastnd started ($id)"

# 3. The system daemon as fastnd.socket and fastnd.service run it:
# RuntimeDirectory= and StateDirectory=, the socket's path, name, owner
# and mode, ExecStart as User=fastn (listening on loopback only here).
sock=$(sed -n 's/^ListenStream=//p' /lib/systemd/system/fastnd.socket)
name=$(sed -n 's/^FileDescriptorName=//p' /lib/systemd/system/fastnd.socket)
mode=$(sed -n 's/^SocketMode=//p' /lib/systemd/system/fastnd.socket)
read -r -a cmd <<<"$(sed -n 's/^ExecStart=//p' /lib/systemd/system/fastnd.service)"
[ "$sock" = /run/fastn/fastnd.sock ] || fail "ListenStream=$sock"
install -d -o fastn -g fastn -m 0755 /run/fastn
install -d -o fastn -g fastn -m 0700 /var/lib/fastn
systemd-socket-activate -l "$sock" --fdname="$name" \
    setpriv --reuid=fastn --regid=fastn --init-groups --no-new-privs \
    "${cmd[@]}" --listen /ip4/127.0.0.1/tcp/0 >"$TMP/sys.out" 2>"$TMP/sys.err" &
act=$!
PIDS+=("$act")
wait_for test -S "$sock" || fail "no socket $sock"
chown fastn:fastn "$sock" && chmod "$mode" "$sock"
mkdir -m 755 "$TMP/member"
chown nobody "$TMP/member"
sys_id=$(env -u FASTN_HOME -u FASTND HOME="$TMP/member" \
    setpriv --reuid=nobody --regid=nogroup --groups="$fgid" \
    /usr/bin/fastn id 2>"$TMP/member.err" | sed -n 1p) ||
    fail "a member of fastn: $(cat "$TMP/member.err"; cat "$TMP/sys.err")"
[ -n "$sys_id" ] && [ "$sys_id" != "$id" ] || fail "member got '$sys_id'"
[ ! -e "$TMP/member/.fastn" ] || fail "the member got a daemon of their own"
[ "$(stat -c %U "/proc/$act")" = fastn ] || fail "the system daemon does not run as fastn"
[ "$(stat -c '%U %a' /var/lib/fastn/keys/identity.key)" = "fastn 600" ] ||
    fail "key: $(stat -c '%U %a' /var/lib/fastn/keys/identity.key)"
[ ! -e /var/lib/fastn/config ] || fail "the system daemon wrote a config into its home"
if env HOME="$TMP/member" setpriv --reuid=nobody --regid=nogroup --clear-groups \
    /usr/bin/fastn --no-autostart id >/dev/null 2>&1; then
    fail "a user outside the group fastn reached the system daemon"
fi
stop_pid "$act"
rm -f "$sock" # as fastnd.socket's RemoveOnStop= at the purge's stop
pass "system daemon as user fastn on $sock serves the group fastn ($sys_id)"

# 4. Purge: nothing left.
installed=false
dpkg --purge "${PKGS[@]}" >>"$TMP/dpkg.log" 2>&1 || fail "dpkg --purge: $(tail -5 "$TMP/dpkg.log")"
for p in "${PKGS[@]}"; do
    ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed" ||
        fail "$p is still installed"
done
for f in /usr/bin/fastnd /usr/bin/fastn /etc/fastn /var/lib/fastn /run/fastn \
    /lib/systemd/system/fastnd.service /usr/lib/sysusers.d/fastn.conf \
    /etc/systemd/system/sockets.target.wants/fastnd.socket \
    /etc/systemd/system/multi-user.target.wants/fastnd.service \
    "/usr/lib/$multiarch/libfastn.so.0"; do
    [ ! -e "$f" ] && [ ! -L "$f" ] || fail "left after purge: $f"
done
[ -z "$(find /var/lib/systemd/deb-systemd-helper-enabled \
    /var/lib/systemd/deb-systemd-user-helper-enabled -name '*fastnd*' 2>/dev/null)" ] ||
    fail "unit state left in /var/lib/systemd/deb-systemd-*helper-enabled"
if $made_user; then
    userdel fastn
    if getent group fastn >/dev/null; then groupdel fastn; fi
    made_user=false
    ! getent passwd fastn >/dev/null || fail "user fastn still there"
fi
pass "purged: no file, state or unit link left; the fastn user made by the install removed"
