# Network-namespace test helpers (sourced after common.bash and
# net.bash; root): namespaces this test makes and removes, and daemons
# started inside them. Used by mdns_netns.sh and reach_netns.sh.

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
