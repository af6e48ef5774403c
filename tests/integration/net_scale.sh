#!/bin/bash
# 500 peers on one daemon (the small version of bench/net/scale.sh): each
# with its own identity and a full handshake (bench/net/conns), all up at
# once; `status` counts them, `peers` lists them, each idle one costs a
# few KiB of the daemon's memory (no receive buffer while idle), a call to
# another peer goes on meanwhile, and when they leave the daemon's
# counters go back to the one peer left and its memory goes back too.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

CONNS=$TOP/$BUILD/bench/net/conns
N=500
# KiB per idle connection at most; AddressSanitizer adds redzones and
# keeps freed memory
PER_CONN=16
[ "${SAN:-}" = 1 ] && PER_CONN=64
# file descriptors for the peers and the clients, and enough that the
# limits the daemon derives from them (daemon/fds.c) are the defaults
# (max-handshakes 256 needs max-connections 1024)
ulimit -n $((4 * N + 1024))
A=$(new_home)
B=$(new_home)
start_net "$A"
APID=$DAEMON_PID
start_net "$B"
ida=$(peer_id "$A")
idb=$(peer_id "$B")
port=$(cut -d/ -f5 <<<"$(listen_addr "$A")")
fastn --home "$A" connect "$(listen_addr "$B")" >/dev/null || fail "connect"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$APID/status"; }

sleep 0.5
before=$(rss)
mkfifo "$TMPROOT/ctl"
exec 7<>"$TMPROOT/ctl"
"$CONNS" "$port" "$ida" "$N" <&7 >"$TMPROOT/conns" 2>&1 &
conns=$!
STARTED_PIDS+=("$conns")
for i in $(seq 600); do
    grep -q '^up' "$TMPROOT/conns" && break
    kill -0 "$conns" 2>/dev/null || fail "conns: $(cat "$TMPROOT/conns")"
    sleep 0.1
done
read -r _ up secs <"$TMPROOT/conns" || fail "the connections did not come up"
[ "$up" = "$N" ] || fail "$up of $N up"
[ "$(status_num "$A" peers)" = $((N + 1)) ] || fail "status: $(status_num "$A" peers) peers"
[ "$(status_num "$A" connections)" = $((N + 1)) ] || fail "status: connections"
[ "$(fastn --home "$A" peers | grep -c 12D3KooW)" = $((N + 1)) ] ||
    fail "peers does not list $((N + 1))"
during=$(rss)
per=$(((during - before) / N))
[ "$per" -le "$PER_CONN" ] || fail "$per KiB per idle connection (max $PER_CONN)"
[ "$(fastn --home "$A" ping "$idb" -c 2 -i 0.05 | grep -c "rtt=")" = 2 ] ||
    fail "ping to another peer under load"
pass "$N peers up in $secs s; status and peers count them; $per KiB each; another peer answers"

echo close >&7
wait "$conns" || fail "conns: $(cat "$TMPROOT/conns")"
for i in $(seq 100); do
    [ "$(status_num "$A" connections)" = 1 ] && break
    sleep 0.1
done
[ "$(status_num "$A" connections)" = 1 ] || fail "connections left: $(status_num "$A" connections)"
[ "$(status_num "$A" peers)" = 1 ] || fail "peers left: $(status_num "$A" peers)"
[ "$(status_num "$A" pending)" = 0 ] || fail "pending left"
if [ "${SAN:-}" != 1 ]; then
    sleep 1.5 # freed memory goes back a second after a burst of closes
    after=$(rss)
    [ $((after - before)) -lt $(((during - before) / 2 + 1024)) ] ||
        fail "RSS $before -> $during -> $after kB: not given back"
    pass "all gone: counters back to one peer; RSS $before -> $during -> $after kB"
else
    pass "all gone: counters back to one peer"
fi
fastn --home "$A" ping "$idb" -c 1 >/dev/null || fail "the remaining peer"
