#!/bin/bash
# The network settings apply on SIGHUP: a listen address added to the
# config is opened (`fastn id` shows it, a peer connects through it), one
# removed stops accepting while the connection made through it stays, a
# shorter idle-timeout closes an existing idle connection, a bad or taken
# address is logged and the daemon serves on, and listen addresses given
# on the command line stay in force. A protocol registered on a peer
# reaches us by identify push and shows in `fastn peers --json`.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

# free_port: a loopback TCP port nobody listens on now
free_port() {
    local port i
    for i in $(seq 50); do
        port=$((20000 + RANDOM % 30000))
        grep -qi ":$(printf '%04X' "$port") " /proc/net/tcp /proc/net/tcp6 \
            2>/dev/null || {
            echo "$port"
            return 0
        }
    done
    return 1
}

hup() { sighup "$2" "$1/stderr.log"; } # HOME PID

# connected_to HOME PEERID: whether HOME's daemon has a connection to it
connected_to() {
    fastn --home "$1" --no-autostart peers 2>/dev/null | grep -q "^$2 "
}

A=$(new_home) # listens as its config says: reloads apply
B=$(new_home)
C=$(new_home)
start_fg "$A"
A_PID=$DAEMON_PID
start_fg "$B"
start_net "$C" # --listen on the command line
C_PID=$DAEMON_PID
ida=$(peer_id "$A")
idb=$(peer_id "$B")
first=$(listen_addr "$A")
port=$(free_port) || fail "no free port found"
new="/ip4/127.0.0.1/tcp/$port"

# 1. a second address added: opened at once, shown, reachable
printf 'listen = %s\n' "$new" >>"$A/config"
hup "$A" "$A_PID"
fastn --home "$A" id | grep -qx "$new/p2p/$ida" ||
    fail "fastn id does not list $new: $(fastn --home "$A" id)"
grep -q "net: listening on $new" "$A/stderr.log" || fail "no 'listening on' line"
grep -q "SIGHUP: listen addresses: 1 opened, 0 closed, 0 failed" \
    "$A/stderr.log" || fail "no summary of the listen change"
! grep -q "apply when fastnd starts again" "$A/stderr.log" ||
    fail "the old 'next start' warning is still logged"
fastn --home "$B" connect "$new/p2p/$ida" >/dev/null ||
    fail "cannot connect through the added address"
fastn --home "$B" peers | grep -q "^$ida $new " ||
    fail "the connection did not go through $new: $(fastn --home "$B" peers)"
pass "added listen address $new opened on SIGHUP, listed by fastn id, reachable"

# 2. removed again: no longer accepts; B's connection through it stays
printf 'listen = /ip4/127.0.0.1/tcp/0\n' >"$A/config"
hup "$A" "$A_PID"
grep -q "net: stopped listening on $new" "$A/stderr.log" ||
    fail "no 'stopped listening' line"
! fastn --home "$A" id | grep -q "$new" || fail "fastn id still lists $new"
fastn --home "$A" id | grep -qx "$first" || fail "the first address is gone"
if out=$(fastn --home "$C" connect "$new/p2p/$ida" 2>&1); then
    fail "a removed address still accepts: $out"
fi
grep -qi "refused" <<<"$out" || fail "unclear error: $out"
connected_to "$B" "$ida" || fail "the connection made through $new was closed"
connected_to "$A" "$idb" || fail "A lost its connection to B"
fastn --home "$B" ping -c 1 "$ida" >/dev/null || fail "ping over it"
pass "removed address refuses ($out); the connection made through it stays"

# 2b. identify push: a handler B's client registers reaches A over the
# existing connection (no new handshake)
hs=$(status_num "$A" handshakes)
"$FASTN_BIN_CLI" --home "$B" listen /reload-push/1.0.0 -- cat 2>/dev/null &
STARTED_PIDS+=("$!")
pushed() {
    fastn --home "$A" peers --json | grep -q '"/reload-push/1.0.0"'
}
wait_for pushed || fail "A did not learn B's new protocol: $(fastn --home "$A" peers --json)"
fastn --home "$A" peers --json | grep -q '"/ipfs/id/push/1.0.0"' ||
    fail "B's built-in protocols are not listed"
[ "$(status_num "$A" handshakes)" = "$hs" ] || fail "a new connection was made"
pass "B's new protocol pushed to A over the existing connection"

# 3. a shorter idle-timeout closes the existing idle connection
printf 'idle-timeout = 1\n' >>"$A/config"
hup "$A" "$A_PID"
grep -q "SIGHUP: idle-timeout is now 1 s (was 600 s)" "$A/stderr.log" ||
    fail "the idle-timeout change is not logged"
wait_status "$A" connections 0 || fail "the idle connection stayed open"
wait_status "$B" connections 0 || fail "B did not see the idle close"
pass "idle-timeout 1 s applied to the existing connection on SIGHUP"

# 4. a taken port and a bad address are logged; the daemon serves on
taken=$(fastn --home "$B" id | sed -n 2p | sed 's|/p2p/.*||')
printf 'listen = %s\nlisten = /ip4/127.0.0.1/tcp/0\nlisten = /ip4/1.2.3/tcp/1\n' \
    "$taken" >"$A/config"
hup "$A" "$A_PID"
grep -q "cannot listen on $taken: address already in use" "$A/stderr.log" ||
    fail "the taken address is not logged"
grep -q "SIGHUP: bad listen address '/ip4/1.2.3/tcp/1'" "$A/stderr.log" ||
    fail "the bad address is not logged"
grep -q "SIGHUP: listen addresses: 0 opened, 0 closed, 2 failed" \
    "$A/stderr.log" || fail "no summary of the failure"
kill -0 "$A_PID" || fail "fastnd exited"
[ "$(fastn --home "$A" id | sed -n 2p)" = "$first" ] ||
    fail "A no longer listens where it did"
fastn --home "$B" connect "$first" >/dev/null || fail "A no longer accepts"
pass "a taken and a bad listen address logged on SIGHUP; the daemon serves on"

# 4b. only a taken address: A listens nowhere (said so), then back
printf 'listen = %s\n' "$taken" >"$A/config"
hup "$A" "$A_PID"
grep -q "SIGHUP: fastnd now listens on no network address" "$A/stderr.log" ||
    fail "listening nowhere is not logged"
[ "$(fastn --home "$A" id | wc -l)" = 1 ] || fail "fastn id still lists addresses"
printf 'listen = /ip4/127.0.0.1/tcp/0\n' >"$A/config"
hup "$A" "$A_PID"
[ "$(fastn --home "$A" id | wc -l)" = 2 ] || fail "A does not listen again"
pass "a config with no usable address is logged; a fixed one applies on the next SIGHUP"

# 5. --listen on the command line stays in force
cfirst=$(listen_addr "$C")
printf 'listen = %s\n' "$new" >>"$C/config"
hup "$C" "$C_PID"
grep -q "the listen addresses given on the command line .* stay in force" \
    "$C/stderr.log" || fail "the command line's precedence is not logged"
[ "$(fastn --home "$C" id | sed -n '2,$p')" = "$cfirst" ] ||
    fail "the config replaced the command line's listen addresses"
pass "listen addresses from the command line stay in force on SIGHUP"
