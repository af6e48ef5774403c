#!/bin/bash
# TCP port forwarding between two daemons on loopback (fastn forward on
# A, fastn expose on B): a TCP echo carried both ways with half-close; a
# service that ends first (its bytes, then EOF); the streams gone on both
# daemons afterwards; a peer not on the allow list refused with a reset
# and a log line; an empty allow list refusing everyone; the forward
# gone with its command; a real ssh session through it when sshd can run
# here (skipped with the reason otherwise).
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

TOOL=$TOP/$BUILD/tests/integration/tcp_tool
SIZE=$((8 * 1048576))
[ "${SAN:-}" = 1 ] && SIZE=$((1048576))

A=$(new_home)
B=$(new_home)
C=$(new_home)
start_net "$A"
start_net "$B"
start_net "$C"
ida=$(peer_id "$A")
idb=$(peer_id "$B")
idc=$(peer_id "$C")
fastn --home "$A" connect "$(listen_addr "$B")" >/dev/null || fail "A connect"
fastn --home "$C" connect "$(listen_addr "$B")" >/dev/null || fail "C connect"

# bg_out FILE CMD...: a background command whose stdout goes to FILE
bg_out() {
    local out=$1
    shift
    "$@" >"$out" 2>"$out.err" &
    STARTED_PIDS+=("$!")
    BG_PID=$!
}

# wait_line FILE: up to 5 s for a first line in FILE; prints it
wait_line() {
    wait_for test -s "$1" || fail "nothing in $1: $(cat "$1.err" 2>/dev/null)"
    sed -n 1p "$1"
}

# the forwarded port, from "forwarding 127.0.0.1:PORT -> ..."
fwd_port() {
    wait_line "$1" | sed -n 's/^forwarding 127\.0\.0\.1:\([0-9]*\) .*/\1/p'
}

bg_out "$TMPROOT/echo.port" "$TOOL" echo
echo_port=$(wait_line "$TMPROOT/echo.port")
bg_out "$TMPROOT/banner.port" "$TOOL" banner "hello from the service"
banner_port=$(wait_line "$TMPROOT/banner.port")

# --- echo through forward + expose --------------------------------------
bg_out "$TMPROOT/expose.out" "$FASTN_BIN_CLI" --home "$B" expose "127.0.0.1:$echo_port" \
    --allow "$ida"
EXPOSE_PID=$BG_PID
wait_line "$TMPROOT/expose.out" | grep -q "^exposing 127.0.0.1:$echo_port as /fastn/forward/1.0.0 to 1 peer" ||
    fail "expose said: $(cat "$TMPROOT/expose.out" "$TMPROOT/expose.out.err")"
bg_out "$TMPROOT/fwd.out" "$FASTN_BIN_CLI" --home "$A" forward 0 "$idb"
FWD_PID=$BG_PID
port=$(fwd_port "$TMPROOT/fwd.out")
[ -n "$port" ] || fail "forward said: $(cat "$TMPROOT/fwd.out" "$TMPROOT/fwd.out.err")"
"$TOOL" check 127.0.0.1 "$port" "$SIZE" >/dev/null || fail "echo through the forward"
"$TOOL" check 127.0.0.1 "$port" 0 >/dev/null || fail "an empty connection"
checks=()
for i in 1 2 3 4; do
    "$TOOL" check 127.0.0.1 "$port" 100000 >/dev/null &
    checks+=("$!")
done
for job in "${checks[@]}"; do
    wait "$job" || fail "a parallel echo failed"
done
wait_status "$A" streams 0 || fail "A kept a forwarded stream"
wait_status "$B" streams 0 || fail "B kept a forwarded stream"
fastn --home "$A" forward --list | grep -q "127.0.0.1/tcp/$port -> $idb (/fastn/forward/1.0.0): 6 connections, 0 failed" ||
    fail "forward list: $(fastn --home "$A" forward --list)"
pass "$((SIZE / 1048576)) MiB echoed through forward and expose, an empty connection, 4 at once; streams closed on both daemons"

# --- the service ends first ----------------------------------------------
bg_out "$TMPROOT/expose2.out" "$FASTN_BIN_CLI" --home "$B" expose "127.0.0.1:$banner_port" \
    --allow "$ida" --protocol /banner/1.0.0
wait_line "$TMPROOT/expose2.out" >/dev/null
bg_out "$TMPROOT/fwd2.out" "$FASTN_BIN_CLI" --home "$A" forward 127.0.0.1:0 "$idb" -p /banner/1.0.0
port2=$(fwd_port "$TMPROOT/fwd2.out")
got=$(timeout 10 "$TOOL" read 127.0.0.1 "$port2") || fail "banner read failed"
[ "$got" = "hello from the service" ] || fail "banner: '$got'"
wait_status "$A" streams 0 || fail "A kept the banner stream"
wait_status "$B" streams 0 || fail "B kept the banner stream"
pass "a service that writes and closes: its bytes, then EOF; streams closed"

# --- a peer not on the allow list ---------------------------------------
bg_out "$TMPROOT/fwdc.out" "$FASTN_BIN_CLI" --home "$C" forward 0 "$idb"
portc=$(fwd_port "$TMPROOT/fwdc.out")
rc=0
got=$(timeout 10 "$TOOL" read 127.0.0.1 "$portc" 2>&1) || rc=$?
[ -z "$(echo "$got" | grep -v '^reset$')" ] || fail "C got data: $got"
[ $rc = 0 ] || [ $rc = 3 ] || fail "C's read ended with $rc"
wait_for grep -q "refused a stream from $idc: not on the allow list" "$B/stderr.log" ||
    fail "no log line for the refusal: $(tail -3 "$B/stderr.log")"
wait_for grep -q "refused 1 stream(s) from peers not on the allow list (last: $idc)" \
    "$TMPROOT/expose.out.err" || fail "expose did not report: $(cat "$TMPROOT/expose.out.err")"
fastn --home "$B" forward --list --json | grep -q '"target":"/ip4/127.0.0.1/tcp/'"$echo_port"'","allow":1,"connections":6,"refused":1' ||
    fail "B's list: $(fastn --home "$B" forward --list --json)"
"$TOOL" check 127.0.0.1 "$port" 1000 >/dev/null || fail "A refused after C"
pass "a peer not on the allow list: reset, logged, counted; allowed peers go on"

# --- an empty allow list ------------------------------------------------
bg_out "$TMPROOT/expose3.out" "$FASTN_BIN_CLI" --home "$B" expose "$echo_port" --protocol /nobody/1.0.0
wait_line "$TMPROOT/expose3.out" >/dev/null
grep -q "no --allow given: every peer will be refused" "$TMPROOT/expose3.out.err" ||
    fail "no warning: $(cat "$TMPROOT/expose3.out.err")"
bg_out "$TMPROOT/fwd3.out" "$FASTN_BIN_CLI" --home "$A" forward 0 "$idb" --protocol /nobody/1.0.0
port3=$(fwd_port "$TMPROOT/fwd3.out")
got=$(timeout 10 "$TOOL" read 127.0.0.1 "$port3" 2>&1) || true
[ -z "$(echo "$got" | grep -v '^reset$')" ] || fail "an empty allow list let A in"
wait_for grep -q "refused a stream from $ida" "$B/stderr.log" || fail "no refusal of A"
pass "an empty allow list refuses everyone (and says so)"

# --- a second expose of a served protocol, bad input --------------------
out=$(fastn --home "$B" expose "$echo_port" --allow "$ida" 2>&1) && fail "second expose"
echo "$out" | grep -q "served already" || fail "second expose said: $out"
out=$(fastn --home "$A" forward 127.0.0.1:99999 "$idb" 2>&1) && fail "bad port"
echo "$out" | grep -q "PORT is like" || fail "bad port said: $out"
out=$(fastn --home "$A" forward "$port" "$idb" 2>&1) && fail "port in use"
echo "$out" | grep -qi "address already in use" || fail "port in use said: $out"
out=$(fastn --home "$B" expose "$echo_port" --allow nobody 2>&1) && fail "bad allow"
echo "$out" | grep -q "allow wants a PeerID" || fail "bad allow said: $out"
pass "a served protocol, a bad port, a port in use, a bad PeerID: clear errors"

# --- the forward ends with its command -----------------------------------
kill -TERM "$FWD_PID"
wait_gone "$FWD_PID" || fail "forward did not stop"
"$TOOL" check 127.0.0.1 "$port" 10 >/dev/null 2>&1 && fail "the port still forwards"
wait_for sh -c "! fastn --home '$A' forward --list 2>/dev/null | grep -q 'tcp/$port '" ||
    fail "the forward is still listed"
pass "forward gone with its command"

# --- ssh through the forward ---------------------------------------------
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
    skip "ssh session not tested: sshd, ssh or ssh-keygen missing (openssh-server, openssh-client)"
S=$TMPROOT/ssh
mkdir -p "$S"
ssh-keygen -q -t ed25519 -N '' -f "$S/host" && ssh-keygen -q -t ed25519 -N '' -f "$S/user" ||
    skip "ssh session not tested: ssh-keygen failed"
cp "$S/user.pub" "$S/authorized_keys"
[ -d /run/sshd ] || { [ "$(id -u)" = 0 ] && mkdir -p /run/sshd && chmod 755 /run/sshd; } || true
sshd_port=
for try in 1 2 3 4 5; do
    p=$((20000 + RANDOM % 40000))
    cat >"$S/config" <<CFG
Port $p
ListenAddress 127.0.0.1
HostKey $S/host
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
CFG
    "$SSHD" -D -e -f "$S/config" 2>"$S/sshd.log" &
    SSHD_PID=$!
    STARTED_PIDS+=("$SSHD_PID")
    if wait_for grep -q "Server listening" "$S/sshd.log"; then
        sshd_port=$p
        break
    fi
    kill "$SSHD_PID" 2>/dev/null || true
    grep -q "Address already in use" "$S/sshd.log" || break
done
[ -n "$sshd_port" ] || skip "ssh session not tested: sshd did not start: $(tail -1 "$S/sshd.log")"
bg_out "$TMPROOT/expose4.out" "$FASTN_BIN_CLI" --home "$B" expose "127.0.0.1:$sshd_port" \
    --allow "$ida" --protocol /ssh/1.0.0
wait_line "$TMPROOT/expose4.out" >/dev/null
bg_out "$TMPROOT/fwd4.out" "$FASTN_BIN_CLI" --home "$A" forward 0 "$idb" --protocol /ssh/1.0.0
port4=$(fwd_port "$TMPROOT/fwd4.out")
got=$(timeout 30 ssh -p "$port4" -i "$S/user" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR \
    "$(id -un)@localhost" 'echo ssh-over-fastn; head -c 1000000 /dev/zero | wc -c' 2>&1) ||
    fail "ssh through the forward failed: $got"
[ "$got" = "ssh-over-fastn
1000000" ] || fail "ssh said: $got"
wait_status "$A" streams 0 || fail "A kept the ssh stream"
pass "an ssh session through forward and expose"
