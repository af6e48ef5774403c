#!/bin/bash
# Remote peers cannot exhaust the daemon (docs/NET.md, "Limits"):
#  - 2000 silent TCP connections from one address (127.0.0.2: the issue's
#    attack, which filled the 256 handshake slots) take at most
#    max-handshakes-per-address (8) handshake slots: the rest are closed
#    at once, and a legitimate peer from another address (127.0.0.1)
#    still connects and is served;
#  - once an address, or all addresses together (max-handshakes), are at
#    their limit, a new connection is refused with a clean close, our own
#    dialer says "the peer is busy", and the refusals are logged
#    (rate-limited);
#  - 100 connections (each a real identity and handshake) that send
#    yamux pings, identify requests, unknown proposals, ping-protocol
#    data and a 1 GiB perf download request but never read keep the
#    daemon's RSS bounded (max-connection-buffers, control output per
#    connection), while a legitimate peer's calls are served throughout;
#  - the issue's bound: 1000 such connections (300 under AddressSanitizer)
#    to a daemon at the default max-connection-buffers (64 MiB) cannot take
#    it past 256 MB of RSS (three times that under AddressSanitizer), and
#    it still answers its owner.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

FLOOD=$TOP/$BUILD/tests/integration/flood_peer
# RSS growth allowed under the flood: AddressSanitizer adds redzones and
# keeps freed memory in quarantine (made small here)
GROWTH_KB=40960
HOG_SECONDS=8 # long enough that a call ends within it on a loaded machine
if [ "${SAN:-}" = 1 ]; then
    GROWTH_KB=$((3 * GROWTH_KB))
    HOG_SECONDS=14 # under 15 s: the daemon's first ping times out then
    export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8
fi
A=$(new_home)
B=$(new_home)
# (handshake-timeout: the 2000 are made within it, on a loaded machine too,
# so a slot freed by a timeout cannot pass for a refusal that failed)
printf 'max-handshakes = 12\nmax-connection-buffers = 8\nhandshake-timeout = 60\n' >>"$A/config"
start_net "$A"
APID=$DAEMON_PID
start_net "$B"
ida=$(peer_id "$A")
addra=$(listen_addr "$A")
port=$(cut -d/ -f5 <<<"$addra")
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$APID/status"; }
busy_lines() { grep -c "busy, too many connections: refusing an inbound one" "$A/stderr.log" || true; }

# silent holds N connections from SRC for SECONDS; waits for "ready".
silent() { # OUT N SRC SECONDS
    "$FLOOD" silent "$port" "$2" "$3" "$4" >"$1" &
    STARTED_PIDS+=("$!")
    local i # (2000 connections take a few seconds: 60 s at most)
    for i in $(seq 600); do
        grep -q ready "$1" && return 0
        sleep 0.1
    done
    fail "flood_peer silent did not start"
}

# --- handshakes per address --------------------------------------------------
started=$SECONDS
# (2000 descriptors for flood_peer, beside its own)
[ "$(ulimit -n)" -ge 2100 ] || ulimit -n 2100 ||
    fail "cannot raise the descriptor limit to 2100 for 2000 connections"
silent "$TMPROOT/s2" 2000 127.0.0.2 30
took=$((SECONDS - started))
read -r _ made open <"$TMPROOT/s2"
[ "$made" = 2000 ] || fail "only $made of 2000 silent connections were made"
[ "$open" -le 8 ] || fail "$open silent connections from one address were kept (max 8)"
[ "$(status_num "$A" pending)" -le 8 ] || fail "pending: $(status_num "$A" pending)"
fastn --home "$B" connect "$addra" >/dev/null || fail "a peer from another address could not connect"
fastn --home "$B" ping "$ida" >/dev/null || fail "a peer from another address could not ping"
pass "2000 silent connections from 127.0.0.2 (made in $took s): $open kept; a peer from 127.0.0.1 connects and pings"
n=$(busy_lines)
[ "$n" -ge 1 ] && [ "$n" -le $((10 * (took / 5 + 2))) ] && [ "$n" -lt 100 ] ||
    fail "$n busy log lines for ~1992 refusals in $took s"
pass "refusals logged, rate-limited ($n lines)"

# --- the total: 8 from .2 and 4 from .3 fill max-handshakes = 12 ---------------
silent "$TMPROOT/s3" 4 127.0.0.3 30
read -r _ made open <"$TMPROOT/s3"
[ "$open" = 4 ] || fail "4 connections from 127.0.0.3: $open kept"
fastn --home "$B" disconnect "$ida" >/dev/null || fail "disconnect"
# (the refusals' log lines are rate-limited, 10 in 5 s, with the 2000
# above: tried again past the window)
for try in 1 2 3 4; do
    out=$(fastn --home "$B" connect "$addra" 2>&1) && fail "connected past max-handshakes: $out"
    grep -q "the peer is busy" <<<"$out" || fail "the refusal does not say busy: $out"
    grep -q "max-handshakes)" "$A/stderr.log" && break
    sleep 2
done
grep -q "max-handshakes)" "$A/stderr.log" || fail "the total refusal was not logged"
pass "past max-handshakes our dialer says: ${out#*: }"

# the slots come back when the silent ones go (or time out)
kill "${STARTED_PIDS[-1]}"
wait_for fastn --home "$B" connect "$addra" || fail "no connection once the slots were free"
pass "a slot freed, the peer connects again"

# --- 100 peers that send and never read ------------------------------------
"$FASTN_BIN_CLI" --home "$A" listen /echo/1.0.0 -- cat 2>/dev/null &
STARTED_PIDS+=("$!")
wait_status "$A" handlers 1 || fail "handler"
# a long stream from the legitimate peer runs through the flood
mkfifo "$TMPROOT/in"
(while sleep 0.05; do echo tick; done) >"$TMPROOT/in" &
STARTED_PIDS+=("$!")
"$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0 <"$TMPROOT/in" \
    >"$TMPROOT/ticks" 2>&1 &
STARTED_PIDS+=("$!")
wait_for grep -q tick "$TMPROOT/ticks" || fail "the long stream did not start"
before=$(rss)
"$FLOOD" hog "$port" "$ida" 100 "$HOG_SECONDS" 127.0.0.4 >"$TMPROOT/hog" &
hog=$!
STARTED_PIDS+=("$hog")
wait_for grep -q connected "$TMPROOT/hog" || fail "the hog did not connect"
ticks=$(grep -c tick "$TMPROOT/ticks")
# calls that end while the flood still runs were served during it (a
# busy machine makes each slow, not wrong: a generous timeout)
max=$before calls=0
while kill -0 "$hog" 2>/dev/null; do
    r=$(rss)
    [ "$r" -gt "$max" ] && max=$r
    [ $((max - before)) -lt "$GROWTH_KB" ] || { kill "$hog"; fail "RSS grew by $((max - before)) kB under the flood"; }
    [ "$(echo "call $calls" | timeout 30 "$FASTN_BIN_CLI" --home "$B" call "$ida" /echo/1.0.0)" = "call $calls" ] ||
        fail "a legitimate call failed during the flood"
    kill -0 "$hog" 2>/dev/null && calls=$((calls + 1))
    kill -0 "$hog" 2>/dev/null && ticks_during=$(grep -c tick "$TMPROOT/ticks")
    sleep 0.1
done
read -r _ mb _ dead <<<"$(grep sent "$TMPROOT/hog")"
[ "$mb" -ge 20 ] || fail "the flood sent only $mb MB"
[ "$calls" -ge 1 ] || fail "no call was served during the flood"
[ "${ticks_during:-0}" -gt "$ticks" ] || fail "the long stream stopped during the flood"
grep -q "connection buffers are at their budget" "$A/stderr.log" || fail "the budget was never reached"
pass "100 connections sent $mb MB without reading: RSS $before -> at most $max kB; $calls calls and $((ticks_during - ticks)) echoes of a long stream served meanwhile"
kill -0 "$APID" || fail "the daemon died"

# --- 1000 peers that never read, a daemon at its defaults ---------------------
# (the issue's "1000 connections that never read cannot take the daemon
# past 256 MB RSS"; the daemon before the limits passed 240 MB with 100)
MAX_KB=$((256 * 1024))
HOGS=1000
if [ "${SAN:-}" = 1 ]; then # slower handshakes; redzones and quarantine
    MAX_KB=$((3 * MAX_KB))
    HOGS=300
fi
C=$(new_home)
start_net "$C"
CPID=$DAEMON_PID
idc=$(peer_id "$C")
portc=$(cut -d/ -f5 <<<"$(listen_addr "$C")")
rssc() { awk '/^VmRSS/ { print $2 }' "/proc/$CPID/status"; }
before=$(rssc)
"$FLOOD" hog "$portc" "$idc" "$HOGS" "$HOG_SECONDS" 127.0.0.5 >"$TMPROOT/hog2" &
hog=$!
STARTED_PIDS+=("$hog")
for i in $(seq 1200); do # their handshakes, one after the other: 120 s at most
    grep -q connected "$TMPROOT/hog2" && break
    kill -0 "$hog" 2>/dev/null || fail "the hog ended: $(cat "$TMPROOT/hog2")"
    sleep 0.1
done
grep -q "connected $HOGS" "$TMPROOT/hog2" || fail "the hog did not connect: $(cat "$TMPROOT/hog2")"
max=$before
while kill -0 "$hog" 2>/dev/null; do
    r=$(rssc)
    [ "$r" -gt "$max" ] && max=$r
    [ "$max" -lt "$MAX_KB" ] || { kill "$hog"; fail "RSS reached $max kB under $HOGS connections (at most $MAX_KB)"; }
    sleep 0.2
done
read -r _ mb _ dead <<<"$(grep sent "$TMPROOT/hog2")"
[ "$mb" -ge 20 ] || fail "the flood sent only $mb MB"
grep -q "connection buffers are at their budget (64 MiB" "$C/stderr.log" ||
    fail "the default budget was never reached"
[ "$(peer_id "$C")" = "$idc" ] || fail "the flooded daemon does not answer its owner"
kill -0 "$CPID" || fail "the daemon died"
pass "$HOGS connections at the default budget sent $mb MB without reading: RSS $before -> at most $max kB (bound $MAX_KB)"
