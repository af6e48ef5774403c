#!/bin/bash
# A flooding peer against the quarantine (docs/ROUTER.md, "The
# quarantine"): many streams, much data, many protocols from one peer.
# What B keeps stays within each limit (per stream, per peer, in count),
# streams past a limit are reset (their sender knows), another peer's
# kept data is intact, and B serves meanwhile.
UNKNOWN_PROTOCOLS=ask
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
has_jq || skip "jq is missing"
command -v sqlite3 >/dev/null || skip "sqlite3 is missing"

two_daemons
# small limits: 64 KiB a stream, 1 MiB a peer, 40 streams in all
printf 'quarantine-stream-kib = 64\nquarantine-peer-mib = 1\nquarantine-streams = 40\n' \
    >>"$B/config"
stop_pid "$B_PID"
start_at "$B" "$PB"
B_PID=$DAEMON_PID
fb registry remove bundled >/dev/null
C=$(new_home)
start_at "$C" 0
fc() { fastn --home "$C" --no-autostart "$@"; }
fc connect "$(listen_addr "$B")" >/dev/null
fa connect "$(listen_addr "$B")" >/dev/null

# the calm peer first: 3000 bytes kept for /calm/1.0.0
head -c 3000 /dev/urandom >"$TMPROOT/calm"
fc call "$idb" /calm/1.0.0 <"$TMPROOT/calm" >/dev/null 2>&1 || true

# the flood: 60 streams of 100 KiB for 20 protocols, 4 at a time
head -c 102400 /dev/urandom >"$TMPROOT/big"
reset=0
for i in $(seq 0 14); do
    calls=()
    for j in 0 1 2 3; do
        timeout 20 "$FASTN_BIN_CLI" --home "$A" --no-autostart call "$idb" \
            "/flood/$(((i * 4 + j) % 20))/1.0.0" <"$TMPROOT/big" \
            >/dev/null 2>>"$TMPROOT/flood.err" &
        calls+=($!)
    done
    fb id >/dev/null || fail "B does not answer during the flood"
    for p in "${calls[@]}"; do wait "$p" || true; done
done
fb id >/dev/null || fail "B is gone"
grep -q "reset\|not.*taken\|closed" "$TMPROOT/flood.err" ||
    fail "no stream past a limit was reset: $(head -3 "$TMPROOT/flood.err")"

STATE=$B/state.sqlite
q() { sqlite3 "$STATE" "$1"; }
max_item=$(q "SELECT max(size) FROM quarantine")
[ "$max_item" -le 65536 ] || fail "a stream kept $max_item bytes"
flood=$(q "SELECT sum(size) FROM quarantine WHERE peer = '$ida'")
[ "$flood" -le 1048576 ] || fail "the flooding peer has $flood bytes kept"
count=$(q "SELECT count(*) FROM quarantine")
[ "$count" -le 40 ] || fail "$count streams kept"
calm=$(q "SELECT size FROM quarantine WHERE protocol = '/calm/1.0.0'")
[ "$calm" = 3000 ] || fail "the calm peer's data: $calm bytes: $(q "SELECT id, peer, protocol, size, finished, complete FROM quarantine" | head -50)"
pass "a flood stays within every limit ($count streams, $flood bytes, at most $max_item a stream); the calm peer's data intact"

# B still serves: a new peer's stream is answered, pending lists it all
fb plugin pending --json | jq -e --arg c "$(peer_id "$C")" \
    '[.pending[] | select(.peer_id == $c)] | length == 1' >/dev/null ||
    fail "pending: $(fb plugin pending | head -5)"
fb peer block "$ida" | grep -q "kept stream(s) it sent deleted" || fail "block"
[ "$(q "SELECT count(*) FROM quarantine WHERE peer = '$ida'")" = 0 ] ||
    fail "the blocked peer's data is still kept"
[ "$(q "SELECT size FROM quarantine WHERE protocol = '/calm/1.0.0'")" = 3000 ] ||
    fail "the calm peer's data went with it"
if fa call "$idb" /flood/1/1.0.0 </dev/null >/dev/null 2>&1; then
    fail "a blocked peer's stream was taken"
fi
pass "peer block deletes the flooder's data and refuses it; the rest stays"
