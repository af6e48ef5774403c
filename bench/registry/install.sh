#!/bin/bash
# Installing a plugin: from a local file (`fastn plugin install FILE`,
# signature checked), from a registry over HTTP (nginx on loopback, the
# index fetched, then the .minisig and the plugin, verified), from a
# registry in a local folder (file://), and from a peer over
# /fastn/plugin/1.0.0 (two daemons on loopback). Each is the wall time of
# the fastn command a user runs, COUNT times (the plugin replaced each
# time), for chat (44 KiB) and chat with a 4 MiB custom section appended
# (a large plugin: hashing and transfer show). Prints median and p90 ms.
# From the peer at most 9 times per asker: a peer is served 10 requests
# a minute.
# Usage: BUILD=build bash bench/registry/install.sh [COUNT]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]:-$0}")/../env.sh"
BUILD=${BUILD:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$TOP/$BUILD/bin
COUNT=${1:-20}
CHAT=$TOP/$BUILD/plugins/chat.wasm
for t in minisign nginx; do
    command -v $t >/dev/null || [ -x /usr/sbin/$t ] || {
        echo "install.sh: $t is missing (scripts/install-deps.sh)" >&2
        exit 1
    }
done
[ -f "$CHAT" ] || { echo "install.sh: build first (make)" >&2; exit 1; }
T=$(mktemp -d /tmp/fastn-reg.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

# a key, the plugins signed with it, a registry folder with each
minisign -G -W -p "$T/k.pub" -s "$T/k.key" </dev/null >/dev/null
mkdir -p "$T/small" "$T/large" "$T/www" "$T/t"
cp "$CHAT" "$T/small/chat.wasm"
cp "$CHAT" "$T/large/chat.wasm"
# a custom section "pad" (id 0, LEB128 size, name) of 4 MiB at the end
leb() { # N: its unsigned LEB128 bytes, as printf escapes
    local n=$1 b out=""
    while :; do
        b=$((n & 127))
        n=$((n >> 7))
        [ $n -gt 0 ] && b=$((b | 128))
        out+=$(printf '\\x%02x' $b)
        [ $n -gt 0 ] || break
    done
    printf '%s' "$out"
}
{
    printf "\\x00$(leb $((4 + (4 << 20))))\\x03pad"
    head -c $((4 << 20)) /dev/zero
} >>"$T/large/chat.wasm"
for s in small large; do
    minisign -S -s "$T/k.key" -m "$T/$s/chat.wasm" -t "chat $s" </dev/null >/dev/null
    "$BIN/fastn-registry-build" --key "$T/k.pub" "$T/$s" >/dev/null
    ln -s "$T/$s" "$T/www/$s"
done
port=$((20000 + RANDOM % 30000))
cat >"$T/nginx.conf" <<NG
daemon off; master_process off; worker_processes 1;
pid $T/nginx.pid; error_log $T/error.log;
events { worker_connections 64; }
http { access_log off; client_body_temp_path $T/t; proxy_temp_path $T/t;
  fastcgi_temp_path $T/t; uwsgi_temp_path $T/t; scgi_temp_path $T/t;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$port; root $T/www; } }
NG
"$(command -v nginx || echo /usr/sbin/nginx)" -p "$T" -c "$T/nginx.conf" -e /dev/null &
pids+=($!)

for h in A B C; do
    mkdir "$T/$h"
    printf 'max-plugin-size = 64\n' >"$T/$h/config"
    "$BIN/fastnd" --home "$T/$h" --foreground --listen /ip4/127.0.0.1/tcp/0 \
        >"$T/$h.log" 2>&1 &
    pids+=($!)
done
for i in $(seq 100); do
    [ -S "$T/A/fastnd.sock" ] && [ -S "$T/B/fastnd.sock" ] &&
        [ -S "$T/C/fastnd.sock" ] && break
    sleep 0.05
done
f() { "$BIN/fastn" --home "$T/$1" --no-autostart "${@:2}"; }
for h in A B C; do f $h trust add "$T/k.pub" --name bench >/dev/null; done
f B connect "$(f A id | sed -n 2p)" >/dev/null
f C connect "$(f A id | sed -n 2p)" >/dev/null
ida=$(f A id | sed -n 1p)

# run NAME CMD...: COUNT timed runs; prints median and p90
run() {
    local name=$1 i t0 t1
    shift
    : >"$T/times"
    for i in $(seq "$COUNT"); do
        t0=$(date +%s%N)
        "$@" >/dev/null
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000)) >>"$T/times"
    done
    sort -n "$T/times" | awk -v n="$name" '{ v[NR] = $1 } END {
        printf "  %-34s median %7.1f ms   p90 %7.1f ms\n", n,
            v[int((NR + 1) / 2)] / 1000, v[int(NR * 0.9 + 0.5)] / 1000 }'
}

echo "the fastn command's own cost, for comparison:"
run "fastn id" f B id
for s in small large; do
    size=$(stat -c %s "$T/$s/chat.wasm")
    echo "chat, $size bytes ($s), $COUNT installs each (replacing):"
    f B registry remove bundled >/dev/null 2>&1 || true
    for r in http file; do f B registry remove $r >/dev/null 2>&1 || true; done
    f B plugin install --replace "$T/$s/chat.wasm" >/dev/null
    run "from a local file" f B plugin install --replace "$T/$s/chat.wasm"
    f B registry add "http://127.0.0.1:$port/$s" --name http >/dev/null
    run "from a registry over HTTP (nginx)" f B plugin install chat --replace
    f B registry remove http >/dev/null
    f B registry add "$T/$s" --name file >/dev/null
    run "from a registry folder (file://)" f B plugin install chat --replace
    f B registry remove file >/dev/null
    # a peer may ask 10 times a minute: C asks for the large one
    f A plugin install --replace "$T/$s/chat.wasm" >/dev/null
    asker=B
    [ $s = large ] && asker=C
    COUNT=$((COUNT > 9 ? 9 : COUNT)) run "from the peer (/fastn/plugin/1.0.0)" \
        f $asker plugin install --from "$ida" chat --replace
done
