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
for cmd in $(sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' "$TMPROOT/help"); do
    grep -q "^  $cmd " "$TMPROOT/help" || fail "--help does not list $cmd"
    run 0 "$cmd" --help
    grep -q "^usage: fastn $cmd" "$TMPROOT/out" || fail "$cmd --help"
    run 0 help "$cmd"
    grep -q "^usage: fastn $cmd" "$TMPROOT/out" || fail "help $cmd"
    run 0 --help "$cmd"
    grep -q "^usage: fastn $cmd" "$TMPROOT/out" || fail "--help $cmd"
done
[ "$(sed -n '/^commands:/,/^$/p' "$TMPROOT/help" | grep -c '^  [a-z]')" -ge 21 ] ||
    fail "fastn --help lists too few commands: $(cat "$TMPROOT/help")"
# a subcommand's --help is its command's, whatever comes with it
for sub in "plugin install" "plugin restrict" "notifications read" \
    "chat send" "config set" "forward --list"; do
    run 0 $sub --help
    grep -q "^usage: fastn ${sub%% *}" "$TMPROOT/out" || fail "$sub --help"
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

# did you mean: the nearest command, subcommand, option or key
near() { # WANT ARGS...: exit 2, and the error suggests WANT
    local want=$1
    shift
    run 2 "$@"
    grep -qF "(did you mean $want?)" "$TMPROOT/err" ||
        fail "fastn $*: no '$want' suggested: $(cat "$TMPROOT/err")"
}
near status stauts
near peers peerss
near connect conect
near notifications notifcations
near --home --hom id
near --json id --jsno
near --count ping --cuont x
near --follow log --folow
near --balanced listen /p --balance
near install plugin instal x.wasm
near restrict plugin restirct x
near unread notifications unrea
near send chat sned
near get config gte listen
near keepalive config get keepaliv
near idle-timeout config set idle-timout 5
run 2 zzzzzz
! grep -q "did you mean" "$TMPROOT/err" || fail "a far word got a suggestion"
pass "did you mean: $(cat "$TMPROOT/err")"

H=$(new_home)
run 1 --home "$H" --no-autostart status
[ "$(wc -l <"$TMPROOT/err")" = 1 ] || fail "error is not one line"
[ ! -s "$TMPROOT/out" ] || fail "output on failure"
pass "failure exits 1: $(cat "$TMPROOT/err")"

start_fg "$H"
# a bad peer or address says which text was refused and what is wanted
run 1 --home "$H" --no-autostart ping notapeer
grep -qx "fastn ping: not a valid PeerID: 'notapeer' (a PeerID looks like 12D3KooW.*" \
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
# global options after the command (up to a "--")
run 0 status --home "$H" --no-autostart --timeout 5
grep -q "^home  *$H\$" "$TMPROOT/out" || fail "--home after the command"
run 0 id --json --home "$H" --no-autostart
grep -q '"peer_id"' "$TMPROOT/out" || fail "--json after the command"
run 1 --home "$H" --no-autostart chat log -- --home
pass "global options before and after the command"
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
