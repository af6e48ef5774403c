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

# bytes_of SIZE: SIZE (a count with an optional K, M or G) in bytes
bytes_of() {
    local n=${1%[KMGkmg]} m=1
    case $1 in *[Kk]) m=1024 ;; *[Mm]) m=1048576 ;; *[Gg]) m=1073741824 ;; esac
    echo $((n * m))
}

# daemon_pair: daemons A and B on loopback, A connected to B; sets A, B
# (their homes), PA and PB (their PeerIDs)
daemon_pair() {
    A=$(new_home)
    B=$(new_home)
    start_daemon "$A"
    start_daemon "$B"
    fastn --home "$A" connect "$(addr_of "$B")" >/dev/null
    PA=$(peer_of "$A")
    PB=$(peer_of "$B")
}

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

# delayed_link NS1 NS2 NET TAG: two network namespaces joined by a link
# that delays each packet DELAY ms each way (NS1 has NET.1, NS2 NET.2 on
# a /24; devices named TAG + v/w/t + the pid): a veth pair with netem, or,
# where the kernel has no netem qdisc, TUN devices joined by
# bench/net/tundelay. Sets LINK (what it is), or LINK_ERR and returns 1.
delayed_link() {
    local ns1=$1 ns2=$2 net=$3 v=$4v$$ w=$4w$$ t=$4t$$
    if [ "$(id -u)" != 0 ] || ! ip netns add "$ns1" 2>"$WORK/netns.err"; then
        LINK_ERR="network namespaces cannot be made here ($(cat "$WORK/netns.err" 2>/dev/null || echo "not root"))"
        return 1
    fi
    CLEANUPS+=("ip netns del $ns1 2>/dev/null")
    ip netns add "$ns2"
    CLEANUPS+=("ip netns del $ns2 2>/dev/null")
    ip -n "$ns1" link set lo up
    ip -n "$ns2" link set lo up
    ip link add "$v" netns "$ns1" type veth peer name "$w" netns "$ns2"
    ip -n "$ns1" addr add "$net.1/24" dev "$v"
    ip -n "$ns2" addr add "$net.2/24" dev "$w"
    ip -n "$ns1" link set "$v" up
    ip -n "$ns2" link set "$w" up
    if ip netns exec "$ns1" tc qdisc add dev "$v" root netem delay "${DELAY}ms" 2>/dev/null &&
        ip netns exec "$ns2" tc qdisc add dev "$w" root netem delay "${DELAY}ms" 2>/dev/null; then
        LINK="veth pair, netem delay ${DELAY} ms each way"
        return 0
    fi
    # no netem in this kernel: TUN devices joined by a delaying relay
    ip -n "$ns1" link del "$v"
    ip -n "$ns1" tuntap add dev "$t" mode tun
    ip -n "$ns2" tuntap add dev "$t" mode tun
    ip -n "$ns1" addr add "$net.1/24" dev "$t"
    ip -n "$ns2" addr add "$net.2/24" dev "$t"
    ip -n "$ns1" link set "$t" up
    ip -n "$ns2" link set "$t" up
    "$TUNDELAY" "$ns1" "$t" "$ns2" "$t" "$DELAY" >"$WORK/tundelay.out" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 100); do
        grep -q ready "$WORK/tundelay.out" && break
        sleep 0.05
    done
    if ! grep -q ready "$WORK/tundelay.out"; then
        LINK_ERR="tundelay: $(cat "$WORK/tundelay.out")"
        return 1
    fi
    LINK="TUN devices joined by bench/net/tundelay, ${DELAY} ms each way (this kernel has no netem qdisc)"
}
