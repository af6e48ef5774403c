#!/bin/bash
# Call latency for a small message, cold vs pooled, fastn and js-libp2p side
# by side in one run: on loopback, then across two network namespaces
# joined by a link with DELAY ms each way (veth + netem where the kernel
# has netem, else TUN devices and bench/net/tundelay; skipped with a
# message where namespaces cannot be made).
#
#   bench/net/latency.sh [-n N] [--delay MS] [--no-netns] [--no-js]
#
# Every call is /perf/1.0.0 with an 8-byte request asking for 32 bytes
# back (the daemons' built-in perf server, a js-libp2p perf server of
# bench/net/js_latency.mjs). Modes:
#   cold         a new connection per call with the net cores in-process,
#                as the old library design did (bench/net/latency.c says
#                exactly what is timed)
#   cold-daemon  through fastnd, its connection to the peer closed before
#                each call
#   pooled       through fastnd: libfastn's one-shot call on a persistent
#                control connection, the daemon's pooled connection
#   js-cold      js-libp2p: dial, Noise, yamux, stream, call per call
#   js-pooled    js-libp2p: a new stream per call on one connection
# Results: a markdown table on stdout and in $RESULTS/net-latency.md.
. "$(dirname "$0")/common.bash"

N=2000
DELAY=20
NETNS=1
JS=1
while [ $# -gt 0 ]; do
    case $1 in
    -n) N=$2; shift ;;
    --delay) DELAY=$2; shift ;;
    --no-netns) NETNS=0 ;;
    --no-js) JS=0 ;;
    *) echo "usage: $0 [-n N] [--delay MS] [--no-netns] [--no-js]" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$RESULTS"
OUT=$RESULTS/net-latency.md
ROWS=()
MACHINE=$(machine)

if [ $JS = 1 ] && ! js_ready; then
    say "js-libp2p rows skipped: $(tail -1 "$WORK/js-install.log")"
    JS=0
fi

# row SETTING JSON [TARGET]: a table row from a latency JSON line
row() {
    local j=$2
    ROWS+=("| $1 | $(json_field "$j" mode) | $(json_field "$j" count) | $(json_field "$j" median_us) | $(json_field "$j" p90_us) | $(json_field "$j" p99_us) | $(json_field "$j" min_us) | ${3:-} |")
    echo "$j" >>"$WORK/raw.jsonl"
}

# under(VALUE_US, LIMIT_US): "met" or "missed"
verdict() {
    awk -v v="$1" -v l="$2" 'BEGIN { print (v <= l) ? "met" : "missed" }'
}

# js_server LISTEN [PREFIX...]: a js perf server (in PREFIX's namespace);
# sets JS_SERVER to its address (not in a subshell: its pid is kept)
js_server() {
    local listen=$1 out=$WORK/js-$RANDOM.out i
    shift
    "$@" node "$TOP/bench/net/js_latency.mjs" serve "$listen" >"$out" 2>&1 &
    PIDS+=("$!")
    for i in $(seq 200); do
        if [ -s "$out" ]; then
            JS_SERVER=$(head -1 "$out")
            return 0
        fi
        sleep 0.05
    done
    say "the js server did not start: $(cat "$out")"
    return 1
}

# run_set LABEL ADDR_B PEER_B SOCK_A JS_ADDR NCOLD NPOOLED PREFIX...
run_set() {
    local label=$1 addr=$2 peer=$3 sock=$4 jsaddr=$5 ncold=$6 npooled=$7 j
    shift 7
    say "$label: cold (cores, new connection per call) x $ncold"
    j=$("$@" "$LATENCY" cold "$addr" "$ncold")
    row "$label" "$j" "${TARGET_COLD:-}"
    say "$label: cold through the daemon x $((ncold / 2))"
    row "$label" "$("$@" "$LATENCY" cold-daemon "$sock" "$peer" $((ncold / 2)))"
    say "$label: pooled through the daemon x $npooled"
    j=$("$@" "$LATENCY" pooled "$sock" "$peer" "$npooled")
    row "$label" "$j" "${TARGET_POOLED:-}"
    POOLED_MEDIAN=$(json_field "$j" median_us)
    POOLED_P99=$(json_field "$j" p99_us)
    COLD_MEDIAN=
    if [ $JS = 1 ] && [ -n "$jsaddr" ]; then
        say "$label: js-libp2p cold x $((ncold / 2)), pooled x $npooled"
        row "$label" "$("$@" node "$TOP/bench/net/js_latency.mjs" cold "$jsaddr" $((ncold / 2)))"
        row "$label" "$("$@" node "$TOP/bench/net/js_latency.mjs" pooled "$jsaddr" "$npooled")"
    fi
}

# --- loopback -----------------------------------------------------------
A=$(new_home)
B=$(new_home)
start_daemon "$A"
start_daemon "$B"
fastn --home "$A" connect "$(addr_of "$B")" >/dev/null
JS_SERVER=
[ $JS = 1 ] && js_server /ip4/127.0.0.1/tcp/0
JSADDR=$JS_SERVER
# targets: pooled <= 0.2 ms and cold <= 2 ms (medians)
j=$("$LATENCY" cold "$(addr_of "$B")" 3) # warm-up
run_set loopback "$(addr_of "$B")" "$(peer_of "$B")" "$A/fastnd.sock" "$JSADDR" \
    $((N / 10 > 20 ? N / 10 : 20)) "$N"
lo_pooled=$POOLED_MEDIAN
lo_cold=$(sed -n 's/.*"mode":"cold","count":[0-9]*,"min_us":[0-9.]*,"median_us":\([0-9.]*\).*/\1/p' "$WORK/raw.jsonl" | head -1)
TARGETS=("| loopback pooled median <= 0.2 ms | ${lo_pooled} us | $(verdict "$lo_pooled" 200) |"
    "| loopback cold median <= 2 ms | ${lo_cold} us | $(verdict "$lo_cold" 2000) |")

# --- two namespaces, a delayed link -------------------------------------
netns_set() {
    local ns1=fnb$$a ns2=fnb$$b link rtt_us
    delayed_link "$ns1" "$ns2" 10.201.0 fnb || { NETNS_SKIP=$LINK_ERR; return 1; }
    link=$LINK
    local A2 B2
    A2=$(new_home /ip4/10.201.0.1/tcp/0)
    B2=$(new_home /ip4/10.201.0.2/tcp/0)
    start_daemon "$A2" ip netns exec "$ns1"
    start_daemon "$B2" ip netns exec "$ns2"
    fastn --home "$A2" connect "$(addr_of "$B2")" >/dev/null
    rtt_us=$(fastn --home "$A2" ping "$(peer_of "$B2")" -c 5 -i 0.2 --json |
        sed -n 's/.*"min_ms":\([0-9.]*\).*/\1/p' | awk '{ printf "%d", $1 * 1000 }')
    JS_SERVER=
    [ $JS = 1 ] && js_server /ip4/10.201.0.2/tcp/0 ip netns exec "$ns2"
    local jsaddr2=$JS_SERVER
    LINK=$link
    RTT_US=$rtt_us
    local ncold=$((N / 100 > 10 ? N / 100 : 10)) npooled=$((N / 10 > 50 ? N / 10 : 50))
    run_set "${DELAY} ms each way" "$(addr_of "$B2")" "$(peer_of "$B2")" "$A2/fastnd.sock" \
        "$jsaddr2" "$ncold" "$npooled" ip netns exec "$ns1"
    TARGETS+=("| delayed link pooled median <= RTT ($((rtt_us / 1000)).$((rtt_us % 1000 / 100)) ms, fastn ping) + 1 ms | ${POOLED_MEDIAN} us | $(verdict "$POOLED_MEDIAN" $((rtt_us + 1000))) |")
}
NETNS_SKIP=
LINK=
if [ $NETNS = 1 ]; then
    netns_set || say "delayed link skipped: $NETNS_SKIP"
else
    NETNS_SKIP="--no-netns"
fi

{
    echo "Machine: $MACHINE."
    echo
    echo "| setting | mode | calls | median us | p90 us | p99 us | min us | |"
    echo "|---|---|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    [ -n "$LINK" ] && echo "Delayed link: $LINK; round trip measured by fastn ping: $((RTT_US / 1000)).$((RTT_US % 1000 / 100)) ms." && echo
    [ -n "$NETNS_SKIP" ] && echo "Delayed link not measured: $NETNS_SKIP." && echo
    echo "| target | measured | |"
    echo "|---|---:|---|"
    printf '%s\n' "${TARGETS[@]}"
} | tee "$OUT"
