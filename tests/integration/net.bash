# Shared by the network integration tests (sourced after common.bash; not
# a test itself): daemons listening on loopback, and what they report.
NET_PROBE=$TOP/$BUILD/tests/integration/net_probe

# start_net HOME [ARGS...]: a foreground daemon listening on loopback.
start_net() {
    local home=$1
    shift
    start_fg "$home" --listen /ip4/127.0.0.1/tcp/0 "$@"
}

peer_id() { # HOME
    fastn --home "$1" --no-autostart id | sed -n 1p
}

listen_addr() { # HOME: the first listen multiaddr, with /p2p/
    fastn --home "$1" --no-autostart id | sed -n 2p
}

# status_num HOME FIELD: a number from `fastn status --json`.
status_num() {
    fastn --home "$1" --no-autostart status --json |
        sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

# wait_status HOME FIELD VALUE [SECONDS]: up to 5 s (or SECONDS) for the
# count to be VALUE.
wait_status() {
    local i
    for i in $(seq $((${4:-5} * 20))); do
        [ "$(status_num "$1" "$2")" = "$3" ] && return 0
        sleep 0.05
    done
    return 1
}

# A SIZE-byte stream of pseudo-random data, fast (no /dev/urandom per
# byte): a random MiB repeated, each copy with its index prepended.
gen_data() { # BYTES
    local seed=$TMPROOT/seed.bin
    [ -f "$seed" ] || head -c 1048576 /dev/urandom >"$seed"
    local n=$(($1 / 1048576)) i
    for ((i = 0; i < n; i++)); do
        printf '%08d' "$i"
        head -c 1048568 "$seed"
    done
}
