# Network-namespace test helpers (sourced after common.bash and
# net.bash; root): namespaces this test makes and removes, and daemons
# started inside them, and home networks behind NATs. Used by
# mdns_netns.sh, reach_netns.sh and interop/relay_js_netns.sh.

# netns_make NS...: creates the namespaces with loopback up, removed at
# exit with the test's daemons; skips the test when namespaces are not
# allowed here.
netns_make() {
    NETNS_ALL="$*"
    trap 'cleanup; netns_cleanup' EXIT
    ip netns add "$1" 2>/dev/null || skip "ip netns is not allowed here"
    local ns
    for ns in "${@:2}"; do ip netns add "$ns"; done
    for ns in "$@"; do in_ns "$ns" ip link set lo up; done
}
netns_cleanup() {
    local ns
    for ns in $NETNS_ALL; do ip netns del "$ns" 2>/dev/null || true; done
}
in_ns() { ip netns exec "$@"; }

# netns_start NS HOME [CONFIG LINES]: fastnd in namespace NS, with
# unknown-protocols = refuse and the lines given as its config; waits
# for its socket.
netns_start() {
    local ns=$1 home=$2
    shift 2
    {
        echo "unknown-protocols = refuse"
        for l in "$@"; do echo "$l"; done
    } >"$home/config"
    in_ns "$ns" "$FASTND_BIN" --home "$home" --foreground \
        >>"$home/stdout.log" 2>>"$home/stderr.log" &
    STARTED_PIDS+=("$!")
    wait_for test -S "$home/fastnd.sock" ||
        fail "fastnd in $ns did not start: $(cat "$home/stderr.log")"
}

f() { # HOME ARGS...: the CLI on a daemon of this test
    local h=$1
    shift
    fastn --home "$h" --no-autostart "$@"
}

# The home-network topology: a "public" namespace routes 198.18.N.0/24
# to router namespace N (its wan 198.18.N.2), which routes its home
# namespace's 10.0.N.0/24 (the home's eth0 10.0.N.2). NETNS_WAN replaces
# 198.18 (js-libp2p counts 198.18.0.0/15 as private and will not
# hole-punch to it: dcutr_js_netns.sh uses a public-looking prefix).
# netns_home ROUTER HOME N: links ROUTER to the public namespace $PUB and
# HOME to ROUTER; the public namespace forwards.
netns_home() { # ROUTER HOME N
    ip link add wan netns "$1" type veth peer name p$3 netns "$PUB"
    ip link add eth0 netns "$2" type veth peer name lan netns "$1"
    in_ns "$PUB" ip addr add ${NETNS_WAN:-198.18}.$3.1/24 dev p$3
    in_ns "$PUB" ip link set p$3 up
    in_ns "$1" ip addr add ${NETNS_WAN:-198.18}.$3.2/24 dev wan
    in_ns "$1" ip addr add 10.0.$3.1/24 dev lan
    in_ns "$1" ip link set wan up
    in_ns "$1" ip link set lan up
    in_ns "$1" ip route add default via ${NETNS_WAN:-198.18}.$3.1
    in_ns "$1" sysctl -qw net.ipv4.ip_forward=1
    in_ns "$2" ip addr add 10.0.$3.2/24 dev eth0
    in_ns "$2" ip link set eth0 up
    in_ns "$2" ip route add default via 10.0.$3.1
    # a peer's address can come back right after a direct connection
    # to it closed: reuse the 4-tuple from TIME_WAIT (attempts in a row)
    in_ns "$2" sysctl -qw net.ipv4.tcp_tw_reuse=1
}
# netns_nat ROUTER [random]: masquerade on its wan (randomizing ports
# with random), unsolicited inbound connections dropped, as home routers
# do.
netns_nat() {
    in_ns "$1" nft flush ruleset
    in_ns "$1" nft -f - <<NFT
table ip nat {
    chain post {
        type nat hook postrouting priority 100;
        oifname "wan" masquerade ${2:-}
    }
}
table ip filter {
    chain fw {
        type filter hook forward priority 0;
        iifname "wan" ct state new drop
    }
    chain inp {
        type filter hook input priority 0;
        iifname "wan" ct state new drop
    }
}
NFT
}
