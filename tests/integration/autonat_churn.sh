#!/bin/bash
# AutoNAT under churn, on loopback: P (private-addresses = yes) first
# meets 20 peers that serve AutoNAT but give it no vote: each one
# refuses the dial-back (it does not count loopback as an address it may
# dial: no private-addresses) and then leaves, as peers come and go on a
# real network. Then three servers that dial back connect: P must be
# public within 20 s. A round of probes used to end after 16 peers
# asked, answered or not, and the next began 60 s later, so P stayed
# "unknown" past the servers' arrival.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

reach() {
    fastn --home "$1" --no-autostart status --json |
        sed -n 's/.*"reachability":"\([a-z]*\)".*/\1/p'
}

# peer_protos HOME PEER: the protocols HOME's identify learned of PEER
peer_protos() {
    fastn --home "$1" --no-autostart peers --json | sed 's/"peer_id"/\n/g' |
        grep "$2" | sed -n 's/.*"protocols":\[\([^]]*\)\].*/\1/p'
}

P=$(new_home)
echo 'private-addresses = yes' >>"$P/config"
start_net "$P"

for i in $(seq 20); do
    h=$(new_home)
    start_net "$h"
    pid=$DAEMON_PID
    id=$(peer_id "$h")
    fastn --home "$P" connect "$(listen_addr "$h")" >/dev/null || fail "P connect churner $i"
    # P asks once identify says the peer serves AutoNAT
    for _ in $(seq 100); do
        grep -q autonat <<<"$(peer_protos "$P" "$id")" && break
        sleep 0.02
    done
    grep -q autonat <<<"$(peer_protos "$P" "$id")" || fail "no identify of churner $i"
    sleep 0.1
    stop_pid "$pid"
done
[ "$(reach "$P")" = unknown ] || fail "P after the churners: $(reach "$P")"
pass "20 peers came, refused and left: P still unknown"

for i in 1 2 3; do
    h=$(new_home)
    echo 'private-addresses = yes' >>"$h/config"
    start_net "$h"
    fastn --home "$P" connect "$(listen_addr "$h")" >/dev/null || fail "P connect S$i"
done
for i in $(seq 100); do
    [ "$(reach "$P")" = public ] && break
    sleep 0.2
done
[ "$(reach "$P")" = public ] ||
    fail "P not public 20 s after three servers came: $(fastn --home "$P" status | grep -E 'reach|public|observed')"
pass "three servers after the churn: P public"
