#!/bin/bash
# The fastn CLI's surface: --help everywhere, --version, exit codes (0
# success, 1 failure with a one-line error, 2 bad usage) and --json.
. "$(dirname "$0")/common.bash"

run() { # EXPECTED-EXIT ARGS...: runs fastn, captures stdout/stderr
    local want=$1 rc
    shift
    set +e
    "$FASTN_BIN_CLI" "$@" >"$TMPROOT/out" 2>"$TMPROOT/err"
    rc=$?
    set -e
    [ $rc = "$want" ] || fail "fastn $*: exit $rc, want $want: $(cat "$TMPROOT/err")"
}

run 0 --help
grep -q "^usage: fastn" "$TMPROOT/out" || fail "--help"
cp "$TMPROOT/out" "$TMPROOT/help"
for cmd in id status peers connect disconnect ping call listen plugin \
    notifications chat; do
    grep -q "^  $cmd " "$TMPROOT/help" || fail "--help does not list $cmd"
    run 0 "$cmd" --help
    grep -q "^usage: fastn $cmd" "$TMPROOT/out" || fail "$cmd --help"
    run 0 help "$cmd"
    grep -q "^usage: fastn $cmd" "$TMPROOT/out" || fail "help $cmd"
    run 0 --help "$cmd"
    grep -q "^usage: fastn $cmd" "$TMPROOT/out" || fail "--help $cmd"
done
run 0 help
run 0 --version
grep -q "^fastn [0-9]" "$TMPROOT/out" || fail "--version"
"$FASTND_BIN" --help | grep -q -- "-listen=/unix/PATH" || fail "fastnd --help"
"$FASTND_BIN" --version | grep -q "^fastnd [0-9]" || fail "fastnd --version"
pass "--help and --version for fastn, every command, and fastnd"

run 2
run 2 frobnicate
grep -q "unknown command 'frobnicate'" "$TMPROOT/err" || fail "unknown cmd"
run 2 --frob id
run 2 id --frob
run 2 --timeout
run 2 --timeout 0 id
run 2 connect
run 2 call onlypeer
run 2 ping -c 0 somepeer
run 2 listen
run 2 listen /p -n 0
[ "$(wc -l <"$TMPROOT/err")" = 1 ] || fail "usage error is not one line"
pass "bad usage exits 2 with one line"

H=$(new_home)
run 1 --home "$H" --no-autostart status
[ "$(wc -l <"$TMPROOT/err")" = 1 ] || fail "error is not one line"
[ ! -s "$TMPROOT/out" ] || fail "output on failure"
pass "failure exits 1: $(cat "$TMPROOT/err")"

start_fg "$H"
# a bad peer or address says which text was refused and what is wanted
run 1 --home "$H" --no-autostart ping notapeer
grep -qx "fastn: not a valid PeerID: 'notapeer' (a PeerID looks like 12D3KooW.*" \
    "$TMPROOT/err" || fail "bad PeerID: $(cat "$TMPROOT/err")"
run 1 --home "$H" --no-autostart connect /ip4/127.0.0.1/tcp/1
grep -q "/ip4/127.0.0.1/tcp/1 names no peer: add /p2p/PEERID" "$TMPROOT/err" ||
    fail "multiaddr without /p2p: $(cat "$TMPROOT/err")"
run 1 --home "$H" --no-autostart connect /ip4/127.0.0.1/tdp/1
grep -q "not a valid multiaddr: '/ip4/127.0.0.1/tdp/1'" "$TMPROOT/err" ||
    fail "bad multiaddr: $(cat "$TMPROOT/err")"
[ "$(wc -l <"$TMPROOT/err")" = 1 ] || fail "error is not one line"
pass "a bad PeerID or multiaddr is named in a one-line error"

run 0 --home "$H" --json status
run 0 --home "$H" status --json
if has_jq; then
    for cmd in id status peers; do
        run 0 --home "$H" "$cmd" --json
        jq -e . "$TMPROOT/out" >/dev/null || fail "$cmd --json: not JSON"
    done
    run 0 --home "$H" status --json
    for k in version pid uptime_ms peer_id home socket peers connections \
        streams handlers plugins clients requests listen_addrs; do
        jq -e "has(\"$k\")" "$TMPROOT/out" >/dev/null || fail "status lacks $k"
    done
    pass "--json is valid JSON with every field"
else
    echo "note: jq missing; JSON not validated"
fi
# the daemon gone mid-way: a clear error, not a hang
kill -TERM "$DAEMON_PID"
wait_gone "$DAEMON_PID" || fail "daemon did not stop"
run 1 --home "$H" --no-autostart --timeout 2 id
pass "daemon gone: $(cat "$TMPROOT/err")"
