#!/bin/bash
# The net cores (no daemon: tests/interop/core_peer.c drives them with
# plain sockets) against js-libp2p from npm, both ways, with the muxer
# agreed in the Noise handshake and through multistream-select: Noise
# handshake with PeerID checks, identify both ways, ping, and a 16 MiB echo
# in each direction. Skipped (exit 77) without Node.js >= 20.
set -u
top=${FASTN_TOP:-$(pwd)}
BUILD=${BUILD:-build}
peer="$top/$BUILD/tests/interop/core_peer"
dir="$top/tests/interop/js"
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# the pinned js-libp2p packages (skips with the reason without Node >= 20)
sh "$dir/install.sh" || exit $?
[ -x "$peer" ] || { echo "missing $peer (build it with make)"; exit 1; }

fail=0
check() { # name json-line jq-like-expression (node evaluates it)
    if echo "$2" | node -e "
        const r = JSON.parse(require('fs').readFileSync(0, 'utf8'));
        process.exit(($3) ? 0 : 1)"; then
        echo "ok   $1: $2"
    else
        echo "FAIL $1: ${2:-no result}"
        fail=1
    fi
}

# 1. js listens, the cores dial.
js_listens() { # label, env
    node "$dir/cores-peer.mjs" listen >"$tmp/js.out" 2>"$tmp/js.err" &
    local js=$!
    pids="$pids $js"
    # node takes a while to start on a loaded machine: up to 30 s
    for _ in $(seq 300); do
        [ -s "$tmp/js.out" ] && break
        kill -0 "$js" 2>/dev/null || break
        sleep 0.1
    done
    local addr port id
    addr=$(node -p "JSON.parse(require('fs').readFileSync('$tmp/js.out')).addr")
    id=$(node -p "JSON.parse(require('fs').readFileSync('$tmp/js.out')).peer")
    port=$(echo "$addr" | cut -d/ -f5)
    local res
    res=$(env $2 timeout 60 "$peer" dial 127.0.0.1 "$port" "$id" 2>"$tmp/c.err")
    check "$1" "$res" 'r.echo === 1 && r.identify === 1 && r.ping === 1'
    [ -n "$res" ] || tail -n 5 "$tmp/c.err"
    kill "$js" 2>/dev/null
    wait "$js" 2>/dev/null
}

# 2. the cores listen, js dials.
cores_listen() { # label, env
    env $2 timeout 60 "$peer" listen >"$tmp/c.out" 2>"$tmp/c.err" &
    local c=$!
    pids="$pids $c"
    for _ in $(seq 300); do
        [ -s "$tmp/c.out" ] && break
        kill -0 "$c" 2>/dev/null || break
        sleep 0.1
    done
    local res
    res=$(timeout 60 node "$dir/cores-peer.mjs" dial "$(head -n 1 "$tmp/c.out")" \
        2>"$tmp/js.err" | tail -n 1)
    check "$1" "$res" "r.got === 16777216 && r.bad === 0 &&
        r.agent.startsWith('fastn/') && r.protocols.includes('/echo/1.0.0')"
    [ -n "$res" ] || tail -n 5 "$tmp/js.err"
    wait "$c" 2>/dev/null
    grep -q 'echo: got 16777216 bytes, 0 bad' "$tmp/c.err" ||
        { echo "FAIL $1: the cores' own echo through js did not complete"; fail=1; }
}

js_listens "cores dial js, muxer from the handshake" ""
js_listens "cores dial js, muxer by multistream-select" "NO_EARLY=1"
cores_listen "js dials the cores, muxer from the handshake" ""
cores_listen "js dials the cores, muxer by multistream-select" "NO_EARLY=1"
exit $fail
