#!/bin/bash
# fastnd as a drop-in for go-libp2p-daemon: programs that spawn
# `p2pd -listen=/unix/PATH -id=KEYFILE -q ...` can spawn fastnd. It stays
# in the foreground, answers IDENTIFY with the key file's PeerID, keeps
# no state (a temporary home, removed at exit), and two run side by side.
. "$(dirname "$0")/common.bash"

K=$TMPROOT/peer.key
"$PROBE" genkey "$K"
want=$("$PROBE" peerid "$K")
S=$TMPROOT/p2pd.sock
"$FASTND_BIN" -listen="/unix$S" -id="$K" -hostAddrs=/ip4/127.0.0.1/tcp/0 \
    -noListenAddrs -q >"$TMPROOT/q.out" 2>&1 &
p1=$!
STARTED_PIDS+=("$p1")
wait_for test -S "$S" || fail "no control socket at $S"
kill -0 "$p1" || fail "fastnd detached or died: p2pd stays in the foreground"
[ "$(fastn --socket "$S" id | sed -n 1p)" = "$want" ] || fail "CLI IDENTIFY"
[ "$("$PROBE" identify "$S")" = "$want" ] || fail "library IDENTIFY"
[ "$("$PROBE" raw "$S" 020800 | head -n 1)" = "OK identify" ] ||
    fail "raw IDENTIFY"
[ ! -s "$TMPROOT/q.out" ] || fail "-q printed: $(cat "$TMPROOT/q.out")"
pass "-listen -id -hostAddrs -noListenAddrs -q: IDENTIFY answers $want"

# the p2pd banner without -q; the same flags with two dashes and separate
# values; the key file is created when missing; a js-style encoded path
K2=$TMPROOT/new.key
S2=$TMPROOT/p2pd2.sock
"$FASTND_BIN" --listen "/unix/$(sed 's|/|%2F|g' <<<"$S2")" --id "$K2" -hostAddrs=/ip4/127.0.0.1/tcp/0 \
    >"$TMPROOT/banner.out" 2>"$TMPROOT/banner.err" &
p2=$!
STARTED_PIDS+=("$p2")
wait_for test -S "$S2" || fail "no socket at $S2: $(cat "$TMPROOT/banner.err")"
[ -f "$K2" ] && [ "$(stat -c %a "$K2")" = 600 ] || fail "-id file not created 0600"
id2=$("$PROBE" peerid "$K2")
[ "$(fastn --socket "$S2" id | sed -n 1p)" = "$id2" ] || fail "second daemon IDENTIFY"
[ "$id2" != "$want" ] || fail "two keys, one PeerID"
grep -q "^Control socket: /unix$S2$" "$TMPROOT/banner.out" || fail "banner"
grep -q "^Peer ID: $id2$" "$TMPROOT/banner.out" || fail "banner PeerID"
[ "$(fastn --socket "$S" id | sed -n 1p)" = "$want" ] || fail "first daemon disturbed"
pass "second daemon side by side, banner printed, key created"

# each has its own temporary home, gone after SIGTERM
homes=$(ls -d "$TMPDIR"/fastnd-* | wc -l)
[ "$homes" = 2 ] || fail "expected 2 temporary homes, found $homes"
kill -TERM "$p1" "$p2"
wait "$p1" || fail "fastnd exited non-zero on SIGTERM"
wait "$p2" || fail "fastnd exited non-zero on SIGTERM"
[ ! -e "$S" ] && [ ! -e "$S2" ] || fail "sockets left behind"
[ -z "$(ls -d "$TMPDIR"/fastnd-* 2>/dev/null)" ] || fail "temporary homes left"
[ -f "$K" ] && [ -f "$K2" ] || fail "key files removed"
pass "SIGTERM: sockets and temporary homes removed, key files kept"

# flags it cannot take are refused clearly
if out=$("$FASTND_BIN" -listen=/unix/ 2>&1); then fail "bad -listen accepted"; fi
grep -q "listen" <<<"$out" || fail "unclear: $out"
if out=$("$FASTND_BIN" -hostAddrs=not-a-multiaddr 2>&1); then
    fail "bad -hostAddrs accepted"
fi
grep -q "bad listen address" <<<"$out" || fail "unclear: $out"
set +e
"$FASTND_BIN" -pubsub >/dev/null 2>&1
rc=$?
set -e
[ $rc = 2 ] || fail "unknown flag: exit $rc, want 2"
pass "bad flags refused (exit 2)"

# p2pd's DHT flags set the mode over the config's (default auto); the
# last value of each counts; none (or none true): no DHT, as p2pd
for flag in -dhtServer -dhtClient -dht none -dht,-dht=false -dht=false,-dhtClient; do
    S3=$TMPROOT/dht$flag.sock
    flags=()
    [ "$flag" = none ] || IFS=, read -ra flags <<<"$flag"
    "$FASTND_BIN" -listen="/unix$S3" -hostAddrs=/ip4/127.0.0.1/tcp/0 "${flags[@]}" -q &
    p3=$!
    STARTED_PIDS+=("$p3")
    wait_for test -S "$S3" || fail "$flag: no control socket"
    mode=$(fastn --socket "$S3" status | sed -n 's/^dht .*routing table (\([a-z]*\).*/\1/p')
    case $flag in
    -dhtServer) want_mode=server ;;
    *-dhtClient) want_mode=client ;;
    none | *=false) want_mode=off ;;
    *) want_mode=auto ;;
    esac
    [ "$mode" = "$want_mode" ] || fail "$flag: dht_mode $mode, want $want_mode"
    kill -TERM "$p3"
    wait "$p3" || true
done
pass "-dhtServer, -dhtClient, -dht: the DHT in server, client, auto mode; none or -dht=false last: off"
