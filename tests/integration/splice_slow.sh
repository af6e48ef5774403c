#!/bin/bash
# Spliced streams to slow local readers: three `fastn call` clients on B
# read their streams slower than A's `fastn listen` sends (each stalls,
# then reads 64 KiB per 2 ms), so B's daemon cannot write what it
# receives at once and queues it, keeping the connection's receive
# buffers (src/net/swarm_rx.c) instead of copying the bytes, while the
# connection goes on being read for the three streams and a fourth, fast
# one. Every stream's bytes must arrive whole and in order: a receive
# buffer used again for a later read while still queued would show as a
# checksum difference.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
SLOW=$TOP/$BUILD/tests/integration/slow_cat
[ -x "$SLOW" ] || fail "slow_cat is not built (make test-build)"

two_daemons
fb connect "$(listen_addr "$A")" >/dev/null
SIZE=$((12 * 1048576))
gen_data "$SIZE" >"$TMPROOT/base"
for n in 1 2 3 4; do # different contents and lengths
    { echo "stream $n"; head -c $((SIZE - n * 4099)) "$TMPROOT/base"; } >"$TMPROOT/data$n"
    sha256sum <"$TMPROOT/data$n" | cut -d' ' -f1 >"$TMPROOT/want$n"
    fa listen "/test/src$n/1.0.0" -- cat "$TMPROOT/data$n" >"$TMPROOT/listen$n" 2>&1 &
    STARTED_PIDS+=($!)
    wait_for grep -q listening "$TMPROOT/listen$n" ||
        fail "listen /test/src$n: $(cat "$TMPROOT/listen$n")"
done
calls=()
for n in 1 2 3; do
    (timeout 60 "$FASTN_BIN_CLI" --home "$B" call "$ida" "/test/src$n/1.0.0" </dev/null |
        "$SLOW" 65536 2 $((300 * n)) | sha256sum | cut -d' ' -f1 >"$TMPROOT/got$n") &
    calls+=($!)
done
timeout 60 "$FASTN_BIN_CLI" --home "$B" call "$ida" /test/src4/1.0.0 </dev/null |
    sha256sum | cut -d' ' -f1 >"$TMPROOT/got4"
for p in "${calls[@]}"; do wait "$p" || fail "a slow reader's call failed"; done
for n in 1 2 3 4; do
    cmp -s "$TMPROOT/want$n" "$TMPROOT/got$n" ||
        fail "stream $n: checksums differ ($(cat "$TMPROOT/got$n") against $(cat "$TMPROOT/want$n"))"
done
pass "three streams to slow readers and one fast, 12 MiB each at once through B's splices: whole"
