# Shared by bench/net/*.sh (sourced): the build, temporary homes, daemons,
# cleanup of everything started (by pid), the machine's description.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]:-$0}")/../env.sh"

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
BIN=$TOP/$BUILD/bin
FASTND_BIN=$BIN/fastnd
FASTN_BIN=$BIN/fastn
LATENCY=$TOP/$BUILD/bench/net/latency
TUNDELAY=$TOP/$BUILD/bench/net/tundelay
TCP_TOOL=$TOP/$BUILD/tests/integration/tcp_tool
JS_DIR=$TOP/tests/interop/js
RESULTS=${RESULTS:-$TOP/bench/results}
export FASTND=$FASTND_BIN
unset FASTN_HOME

for b in "$FASTND_BIN" "$FASTN_BIN" "$LATENCY" "$TUNDELAY" "$TCP_TOOL"; do
    [ -x "$b" ] || {
        echo "bench: $b is missing; run: make $BUILD/bench/net/latency $BUILD/bench/net/tundelay $BUILD/tests/integration/tcp_tool (or make bench-net)" >&2
        exit 1
    }
done

WORK=$(mktemp -d /tmp/fastn-bench.XXXXXX)
PIDS=()
CLEANUPS=()

bench_cleanup() {
    local pid c
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    sleep 0.3
    for pid in "${PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    for c in "${CLEANUPS[@]}"; do
        eval "$c" || true
    done
    rm -rf "$WORK"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench: $*" >&2; }

# new_home [LISTEN]: a temporary home listening on LISTEN (default
# /ip4/127.0.0.1/tcp/0).
new_home() {
    local h
    h=$(mktemp -d "$WORK/h.XXXXXX")
    printf 'listen = %s\nlog-level = warn\n' "${1:-/ip4/127.0.0.1/tcp/0}" >"$h/config"
    echo "$h"
}

# start_daemon HOME [PREFIX...]: fastnd in the foreground (PREFIX, e.g.
# "ip netns exec NS", runs it elsewhere); waits for its socket.
start_daemon() {
    local home=$1 i
    shift
    "$@" "$FASTND_BIN" --home "$home" --foreground >"$home/out.log" 2>"$home/err.log" &
    PIDS+=("$!")
    for i in $(seq 100); do
        [ -S "$home/fastnd.sock" ] && return 0
        sleep 0.05
    done
    say "fastnd did not start: $(cat "$home/err.log")"
    exit 1
}

fastn() { "$FASTN_BIN" --no-autostart "$@"; }
peer_of() { fastn --home "$1" id | sed -n 1p; }
addr_of() { fastn --home "$1" id | sed -n 2p; }

# daemon_pid HOME
daemon_pid() { cat "$1/fastnd.lock"; }

# cpu_ticks PID: user+system clock ticks so far
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# js_ready: 0 when node and the js peers are usable (installs them)
js_ready() {
    bash "$JS_DIR/install.sh" >"$WORK/js-install.log" 2>&1
}

# json_field JSON FIELD
json_field() {
    echo "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}

machine() {
    local cpu
    cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
    echo "$(nproc) cores ($cpu), $(free -g | awk '/^Mem:/ { print $2 }') GB," \
        "Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)" \
        "at start; fastnd $(fastn --version | cut -d' ' -f2)" \
        "$(command -v node >/dev/null && echo ", node $(node --version)")"
}
