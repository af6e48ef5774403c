#!/bin/bash
# The README's examples ("Using it") and CLIENT.md's commands run as
# written, against two daemons: every line of the README's block but the
# build, with PEER, the example address and the ports put in, through
# fastn and fastnd on $PATH and $FASTN_HOME (a new home, so the first
# line starts its daemon). The lines that run until interrupted (listen,
# expose, forward, notifications --follow, fastnd --foreground) run in
# the background and are used: a stream to the listener, a TCP
# connection through the forward and the expose, a chat message that
# shows up as a notification. A line that is added to the README without
# this test knowing how to check it still has to exit 0.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

[ -f "$TOP/$BUILD/plugins/echo.wasm" ] && [ -f "$TOP/$BUILD/plugins/chat.wasm" ] ||
    skip "plugins not built (no wasm toolchain)"
command -v pkg-config >/dev/null || skip "pkg-config is missing"
TCP_TOOL=$TOP/$BUILD/tests/integration/tcp_tool
export PATH="$BIN:$PATH"

# README.md's "Using it" block, less the build line
block() { # FILE HEADING: the first ``` block after the heading
    awk -v h="$2" '$0 == h { f = 1; next } f && /^```/ { if (b) exit; b = 1; next }
        b { print }' "$1"
}
lines=$(block "$TOP/README.md" "## Using it" | grep -v '^make ')
[ "$(wc -l <<<"$lines")" -ge 15 ] || fail "the README's examples are not found: $lines"

A=$(new_home) # you
B=$(new_home) # PEER, a daemon the test runs
start_net "$B"
fastn --home "$B" plugin install "$TOP/$BUILD/plugins/echo.wasm" >/dev/null
fastn --home "$B" plugin install "$TOP/$BUILD/plugins/chat.wasm" >/dev/null
idb=$(peer_id "$B")
"$TCP_TOOL" echo >"$TMPROOT/echo.port" &
STARTED_PIDS+=("$!")
wait_for test -s "$TMPROOT/echo.port" || fail "tcp_tool echo did not start"
ECHO_PORT=$(cat "$TMPROOT/echo.port")
FWD_PORT=$(
    "$TCP_TOOL" echo >"$TMPROOT/free.port" &
    p=$!
    wait_for test -s "$TMPROOT/free.port"
    kill "$p"
    cat "$TMPROOT/free.port"
)
BG=()

# substitute LINE ROLE: the command with the placeholders put in
substitute() {
    local peer=$idb
    [ "$2" = server ] && peer=$ida
    sed -e "s|/ip4/192.0.2.7/tcp/4004/p2p/12D3KooW\.\.\.|$(listen_addr "$B")|" \
        -e "s|\bPEER\b|$peer|g" -e "s|build/plugins/|$TOP/$BUILD/plugins/|g" \
        -e "s|127\.0\.0\.1:22\b|127.0.0.1:$ECHO_PORT|" \
        -e "s|forward 2222 |forward $FWD_PORT |" <<<"$1"
}

# after CMD: what it must have done
check() {
    local cmd=$1 out=$TMPROOT/out err=$TMPROOT/err
    case "$cmd" in
    "fastn id")
        grep -q "^12D3KooW" "$out" && grep -q "with a NEW identity" "$err" ||
            fail "fastn id: $(cat "$out" "$err")"
        ida=$(sed -n 1p "$out")
        # PEER knows you too (chat serves known peers)
        fastn --home "$B" connect "$(sed -n 2p "$out")" >/dev/null
        ;;
    "fastn status") grep -q "^log  *$A/fastnd.log" "$out" || fail "status: $(cat "$out")" ;;
    "fastn connect "*) grep -qx "connected to $idb" "$out" || fail "connect: $(cat "$out")" ;;
    "fastn ping "*) [ "$(grep -c "seq=" "$out")" = 3 ] || fail "ping: $(cat "$out")" ;;
    *"fastn call "*) [ "$(cat "$out")" = hi ] || fail "call: $(cat "$out" "$err")" ;;
    "fastn perf "*) grep -q "^upload  *104857600 bytes" "$out" &&
        grep -q "^download  *104857600 bytes" "$out" || fail "perf: $(cat "$out")" ;;
    "fastn chat send "*) grep -q "^delivered " "$out" || fail "chat: $(cat "$out" "$err")" ;;
    "fastn config set "*) grep -q "applied by fastnd" "$err" || fail "config: $(cat "$err")" ;;
    "fastn doctor") grep -q "^all checks passed" "$out" || fail "doctor: $(cat "$out")" ;;
    "fastn restart") grep -q "^fastnd restarted: pid" "$out" || fail "restart: $(cat "$out")" ;;
    "fastn stop") grep -q "^fastnd (pid [0-9]*) stopped" "$out" || fail "stop: $(cat "$out")" ;;
    esac
}

notified() { # FILE: fastn notifications shows chat's notification
    tr '\n' ' ' <"$1" | grep -q "chat: Message from 12D3KooW.*hello back"
}

# a command that runs until interrupted: started, then used
background() {
    local cmd=$1 home=$2 out
    out=$TMPROOT/bg.${#BG[@]}
    FASTN_HOME=$home eval "$cmd" >"$out" 2>"$out.err" &
    BG+=("$!")
    STARTED_PIDS+=("$!")
    case "$cmd" in
    "fastn listen "*)
        wait_for grep -q "listening for" "$out.err" || fail "listen: $(cat "$out.err")"
        [ "$(echo hi | fastn --home "$B" call "$ida" /echo/1.0.0)" = hi ] ||
            fail "a stream to the listener"
        ;;
    "fastn expose "*) wait_for grep -q "^exposing" "$out" || fail "expose: $(cat "$out.err")" ;;
    "fastn forward "*)
        wait_for grep -q "^forwarding" "$out" || fail "forward: $(cat "$out.err")"
        "$TCP_TOOL" check 127.0.0.1 "$FWD_PORT" 100000 ||
            fail "no echo through the forward and the expose"
        ;;
    "fastn notifications --follow")
        sleep 0.5
        fastn --home "$B" chat send "$ida" "hello back" | grep -q "^delivered" ||
            fail "chat from PEER"
        wait_for notified "$out" ||
            fail "no notification: $(cat "$out" "$out.err")"
        ;;
    "fastnd --foreground")
        wait_for grep -q "^Peer ID:" "$out" || fail "fastnd --foreground: $(cat "$out.err")"
        ;;
    *) fail "a background command this test does not know: $cmd" ;;
    esac
    echo "  (in the background) $cmd"
}

n=0
while IFS= read -r line; do
    cmd=$(sed 's/  *#.*$//' <<<"$line")
    [ -n "$cmd" ] || continue
    role=client
    grep -q "# on the server" <<<"$line" && role=server
    run=$(substitute "$cmd" "$role")
    home=$A
    [ "$role" = server ] && home=$B
    case "$cmd" in
    "fastnd --foreground") background "$run" "$(new_home)" ;;
    "fastn listen "* | "fastn expose "* | "fastn forward "* | *--follow*)
        background "$run" "$home"
        ;;
    *)
        FASTN_HOME=$home timeout 60 bash -c "$run" >"$TMPROOT/out" 2>"$TMPROOT/err" ||
            fail "README: '$cmd' ($run): exit $?: $(cat "$TMPROOT/out" "$TMPROOT/err")"
        check "$cmd"
        echo "  $cmd"
        ;;
    esac
    n=$((n + 1))
done <<<"$lines"
pass "the README's $n examples run as written"

# CLIENT.md: the example program built with pkg-config and run against
# PEER's echo plugin (through an installation, as a reader has one)
P=$TMPROOT/prefix
make -C "$TOP" -s BUILD="$BUILD" SAN="${SAN:-}" install PREFIX="$P" \
    >"$TMPROOT/install.log" 2>&1 || fail "make install: $(tail -5 "$TMPROOT/install.log")"
export PKG_CONFIG_PATH=$P/lib/pkgconfig LD_LIBRARY_PATH=$P/lib
if nm "$P/lib/libfastn.a" 2>/dev/null | grep __asan_ >/dev/null; then
    cc() { command cc -fsanitize=address,undefined "$@"; } # a SAN build
fi
mkdir "$TMPROOT/ex"
cp "$TOP/docs/examples/echo_client.c" "$TMPROOT/ex/"
cmds=$(block "$TOP/docs/CLIENT.md" "## Building against libfastn")
[ "$(wc -l <<<"$cmds")" = 2 ] || fail "CLIENT.md's commands are not found: $cmds"
while IFS= read -r cmd; do
    run=$(sed "s|/ip4/127.0.0.1/tcp/4004/p2p/12D3KooW\.\.\.|$(listen_addr "$B")|" <<<"$cmd")
    (cd "$TMPROOT/ex" && FASTN_HOME=$A eval "$run") >"$TMPROOT/out" 2>"$TMPROOT/err" ||
        fail "CLIENT.md: '$cmd': exit $?: $(cat "$TMPROOT/out" "$TMPROOT/err")"
    echo "  $cmd"
done <<<"$cmds"
[ "$(tail -n 1 "$TMPROOT/out")" = hi ] || fail "echo_client: $(cat "$TMPROOT/out")"
pass "CLIENT.md's commands: the example built with pkg-config, its line echoed by PEER"
