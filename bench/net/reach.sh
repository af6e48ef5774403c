#!/bin/bash
# Issue 12's benchmark: reaching a peer by its PeerID alone, across two
# NATs, with DELAY ms (default 20) each way on every WAN link; fastn and
# js-libp2p side by side, in network namespaces this script makes (root;
# no namespaces: it says so and exits 1). Nothing leaves the machine.
#
#   bench/net/reach.sh [--delay MS] [-n RUNS] [--js-runs RUNS] [--size SIZE]
#
# Topology: a "public" namespace with a fastnd relay R (relay-service =
# on, its circuit limits raised for the transfer below:
# relay-service-duration and relay-service-data) and a fastnd DHT
# bootstrap node D (dht = server), at 11.0.0.1 and 11.0.0.2 (js-libp2p
# counts 198.18.0.0/15 as private and does not hole-punch to it); two
# home namespaces (10.0.N.2) each behind its own router namespace doing
# port-preserving nftables masquerade and dropping unsolicited inbound
# connections (tests/integration/netns.bash's rules). Each router's WAN
# link to the public namespace is a pair of TUN devices joined by
# bench/net/tundelay (DELAY ms each way; this kernel has no netem), so
# A to R is DELAY one way, A to B 2 x DELAY.
#
# Rows (median, min, max of RUNS, default 10):
#  - fastn: B (fastnd, home 2) holds a reservation on R and knows D; each
#    run starts a new fastnd A in home 1 (empty address book, D as its
#    bootstrap peer, a new listen port so that no conntrack entry of an
#    earlier run helps) and times `fastn connect B_PEERID --wait-direct
#    --json`: lookup (the DHT FIND_PEER), relayed connection (the dial
#    to the circuit address the DHT gave), hole punch (DCUtR, until
#    `fastn peers` says direct), total (the CLI's wall time).
#  - js-libp2p: the same with two js-libp2p nodes
#    (tests/interop/js/reach-bench.mjs: kad-dht client, circuit relay
#    v2 transport, dcutr): JB reserves on a relay and knows D; each run
#    a new JA does peerRouting.findPeer(JB), dial(JB), then waits for a
#    connection that is not limited (--js-punch-wait, default 8 s:
#    dcutr first spends up to 5 s on a unilateral dial; --js-runs,
#    default 3). Three rows: through a js-libp2p relay
#    (relay-peer.mjs, circuitRelayServer, at 11.0.0.3), through the
#    fastn relay R, and through R with js-libp2p's two faults here
#    worked around (the routers' nf_conntrack_tcp_be_liberal = 1 for
#    that row, and reach-bench.mjs --keep-initiator; docs/REACH.md
#    says why). The js nodes run with DEBUG=$JS_DEBUG (default
#    libp2p:dcutr*): the notes quote dcutr's own error lines;
#    JS_LOGS=DIR keeps the whole logs.
#  - fastn A -> JB (a mix): `fastn connect JB_PEERID --wait-direct`.
#  - throughput: SIZE (default 8M) from A to B in one stream (`fastn
#    call` into a `fastn listen ... -- wc -c` on B), direct (after the
#    hole punch) and through R (both NATs switched to randomized ports,
#    so that no hole punch can succeed, the connection dialed at B's
#    circuit address); two in a row on each connection (the first one
#    also pays for TCP's slow start on a new connection).
# Results: a markdown table on stdout and in $RESULTS/net-reach.md, with
# the load average before and after.
. "$(dirname "$0")/common.bash"
# netns_nat ROUTER [random] (and in_ns): the tests' home-router NAT
. "$(dirname "$0")/../../tests/integration/netns.bash"
say() { echo "bench: [${SECONDS}s] $*" >&2; }

DELAY=20
N=10
NJS=3
JS_WAIT=8
# the js nodes' debug log (DEBUG): dcutr's by default
JS_DEBUG=${JS_DEBUG:-libp2p:dcutr*}
SIZE=8M
while [ $# -gt 0 ]; do
    case $1 in
    --delay) DELAY=$2; shift ;;
    -n) N=$2; shift ;;
    --js-runs) NJS=$2; shift ;;
    --js-punch-wait) JS_WAIT=$2; shift ;;
    --size) SIZE=$2; shift ;;
    *) echo "usage: $0 [--delay MS] [-n RUNS] [--js-runs RUNS] [--js-punch-wait S] [--size SIZE]" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$RESULTS"
OUT=$RESULTS/net-reach.md
MACHINE=$(machine)
[ "$(id -u)" = 0 ] || { say "needs root for network namespaces"; exit 1; }
command -v nft >/dev/null || { say "needs nft (Debian nftables)"; exit 1; }
JS_OK=1
js_ready || { JS_OK=0; say "js-libp2p: $(tail -1 "$WORK/js-install.log"): js rows skipped"; }
JS=$JS_DIR

# --- the topology --------------------------------------------------------
S=$$
PUB=frp$S RA=fra$S RB=frb$S HA=fha$S HB=fhb$S
for ns in $PUB $RA $RB $HA $HB; do
    ip netns add "$ns" 2>"$WORK/netns.err" || { say "ip netns: $(cat "$WORK/netns.err")"; exit 1; }
    CLEANUPS+=("ip netns del $ns 2>/dev/null")
    in_ns "$ns" ip link set lo up
done
in_ns "$PUB" ip addr add 11.0.0.1/32 dev lo
in_ns "$PUB" ip addr add 11.0.0.2/32 dev lo
in_ns "$PUB" sysctl -qw net.ipv4.ip_forward=1

# home N ROUTER HOME: ROUTER's wan 11.0.N.2 joined to the public side's
# 11.0.N.1 by a delayed TUN pair; HOME's eth0 10.0.N.2 on a veth to ROUTER
home() {
    local n=$1 r=$2 h=$3
    in_ns "$PUB" ip tuntap add dev t$n mode tun
    in_ns "$r" ip tuntap add dev wan mode tun
    in_ns "$PUB" ip addr add 11.0.$n.1/24 dev t$n
    in_ns "$r" ip addr add 11.0.$n.2/24 dev wan
    in_ns "$PUB" ip link set t$n up
    in_ns "$r" ip link set wan up
    "$TUNDELAY" "$PUB" t$n "$r" wan "$DELAY" >"$WORK/tundelay$n.out" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 100); do
        grep -q ready "$WORK/tundelay$n.out" && break
        sleep 0.05
    done
    grep -q ready "$WORK/tundelay$n.out" || { say "tundelay: $(cat "$WORK/tundelay$n.out")"; exit 1; }
    ip link add eth0 netns "$h" type veth peer name lan netns "$r"
    in_ns "$r" ip addr add 10.0.$n.1/24 dev lan
    in_ns "$r" ip link set lan up
    in_ns "$r" ip route add default via 11.0.$n.1
    in_ns "$r" sysctl -qw net.ipv4.ip_forward=1
    in_ns "$h" ip addr add 10.0.$n.2/24 dev eth0
    in_ns "$h" ip link set eth0 up
    in_ns "$h" ip route add default via 10.0.$n.1
    in_ns "$h" sysctl -qw net.ipv4.tcp_tw_reuse=1
}
home 1 "$RA" "$HA"
home 2 "$RB" "$HB"
netns_nat "$RA"
netns_nat "$RB"
LINK="TUN pairs joined by bench/net/tundelay, $DELAY ms each way on each router's WAN link (A-R RTT $((4 * DELAY / 2)) ms, A-B $((4 * DELAY)) ms)"

# --- the daemons ---------------------------------------------------------
# start_in NS HOME CONFIG-LINES...
start_in() {
    local ns=$1 h=$2
    shift 2
    printf '%s\n' "log-level = info" "unknown-protocols = refuse" "mdns = off" "$@" >"$h/config"
    start_daemon "$h" ip netns exec "$ns"
}
R=$(mktemp -d "$WORK/r.XXXXXX") D=$(mktemp -d "$WORK/d.XXXXXX") B=$(mktemp -d "$WORK/b.XXXXXX")
start_in "$PUB" "$R" "listen = /ip4/11.0.0.1/tcp/4004" "relay-service = on" \
    "relay-service-duration = 3600" "relay-service-data = 4194304" "bootstrap = none" "dht = client"
start_in "$PUB" "$D" "listen = /ip4/11.0.0.2/tcp/4004" "dht = server" "bootstrap = none"
addrr=/ip4/11.0.0.1/tcp/4004/p2p/$(peer_of "$R")
addrd=/ip4/11.0.0.2/tcp/4004/p2p/$(peer_of "$D")
start_in "$HB" "$B" "listen = /ip4/0.0.0.0/tcp/4004" "relays = $addrr" "bootstrap = $addrd"
idb=$(peer_of "$B")
for _ in $(seq 200); do
    fastn --home "$B" id | grep -q p2p-circuit && break
    sleep 0.05
done
fastn --home "$B" id | grep -q p2p-circuit || { say "B holds no reservation on R: $(tail -5 "$B/err.log")"; exit 1; }
rtt=$(fastn --home "$B" ping "$(peer_of "$R")" -c 3 -i 0.1 --json |
    sed -n 's/.*"min_ms":\([0-9.]*\).*/\1/p' | awk '{ printf "%.1f", $1 }')
say "B holds a reservation on R; B-R RTT $rtt ms (fastn ping, min of 3)"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.0f", v[int((NR + 1) / 2)]; else printf "—" }'; }
stats() { # FILE: "median (min–max)" of its numbers, or "—"
    if [ -s "$1" ]; then
        printf '%s ms (%s–%s)' "$(median <"$1")" "$(sort -n "$1" | head -1 | awk '{ printf "%.0f", $1 }')" \
            "$(sort -n "$1" | tail -1 | awk '{ printf "%.0f", $1 }')"
    else
        printf '—'
    fi
}
jnum() { # JSON FIELD: a number field's value, or nothing
    echo "$1" | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p"
}
jstrf() { echo "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"; }

# new_a I: a new fastnd A in home 1 on port 4100+I, D as its bootstrap
# peer; waits until D is in its routing table
new_a() {
    A=$(mktemp -d "$WORK/a.XXXXXX")
    start_in "$HA" "$A" "listen = /ip4/0.0.0.0/tcp/$((4100 + $1))" "bootstrap = $addrd"
    for _ in $(seq 200); do
        fastn --home "$A" status --json | grep -q '"dht_peers":[1-9]' && return 0
        sleep 0.025
    done
    say "A: D never in the routing table"
    return 1
}
stop_a() {
    local pid
    pid=$(daemon_pid "$A")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
}

# fastn_runs TAG TARGET_ID: N runs of connect --wait-direct from new A's
fastn_runs() {
    local tag=$1 target=$2 i j
    : >"$WORK/$tag.lookup"; : >"$WORK/$tag.relayed"; : >"$WORK/$tag.punch"; : >"$WORK/$tag.total"
    : >"$WORK/$tag.notes"
    for i in $(seq "$N"); do
        new_a "$i" || continue
        j=$(fastn --home "$A" --timeout 20 connect "$target" --wait-direct --json 2>&1) || true
        echo "$j" >>"$WORK/$tag.json"
        if [ "$(jstrf "$j" found)" != dht ]; then
            echo "run $i: $j" >>"$WORK/$tag.notes"
        else
            jnum "$j" lookup_ms >>"$WORK/$tag.lookup"
            if [ "$(jstrf "$j" connect_path)" = relayed ]; then
                jnum "$j" connect_ms >>"$WORK/$tag.relayed"
            else
                echo "run $i: connected direct at once" >>"$WORK/$tag.notes"
            fi
            [ -n "$(jnum "$j" punch_ms)" ] && jnum "$j" punch_ms >>"$WORK/$tag.punch"
            [ "$(jstrf "$j" path)" = direct ] && jnum "$j" total_ms >>"$WORK/$tag.total"
            [ -n "$(jstrf "$j" relayed_why)" ] && echo "run $i: $(jstrf "$j" relayed_why)" >>"$WORK/$tag.notes"
        fi
        stop_a
    done
}

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); }
frow() { # TAG LABEL
    row "$2" "$(stats "$WORK/$1.lookup")" "$(stats "$WORK/$1.relayed")" \
        "$(stats "$WORK/$1.punch")" "$(stats "$WORK/$1.total")" \
        "$(wc -l <"$WORK/$1.punch") of $N"
}

say "fastn A -> B by PeerID x $N"
fastn_runs fastn "$idb"
frow fastn "fastn → fastn (\`fastn connect PEERID --wait-direct\`)"

# --- js-libp2p -----------------------------------------------------------
# js_rows TAG RELAY PORT LABEL [JS-ARGS...]: JB (a js node in home 2,
# listening on PORT, dialing from PORT+1) reserves on RELAY; NJS runs of
# a new JA in home 1 finding, dialing and waiting for the punch; adds
# the row and dcutr's error lines (WORK/TAG.dcutr). JS-ARGS go to both
# js nodes. Leaves JB running (JB_PID), its PeerID in idjb (empty when
# it got no reservation).
js_rows() {
    local tag=$1 relay=$2 port=$3 label=$4 jb_out=$WORK/$1.jb.out i p j
    shift 4
    idjb=
    DEBUG="$JS_DEBUG" ip netns exec "$HB" node "$JS/reach-bench.mjs" --listen /ip4/0.0.0.0/tcp/$port \
        --dial-port $((port + 1)) --announce /ip4/11.0.2.2/tcp/$((port + 1)) --relay "$relay" \
        --bootstrap "$addrd" --timeout 900 "$@" >"$jb_out" 2>"$WORK/$tag.jb.err" &
    PIDS+=("$!")
    JB_PID=$!
    for _ in $(seq 400); do
        grep -q '"reservation"' "$jb_out" && break
        sleep 0.05
    done
    if ! grep -q '"reservation"' "$jb_out"; then
        say "JB holds no reservation on $relay: $(tail -3 "$jb_out") $(tail -3 "$WORK/$tag.jb.err")"
        return 0
    fi
    idjb=$(sed -n 's/.*"event":"ready","peer_id":"\([^"]*\)".*/\1/p' "$jb_out")
    say "js-libp2p JA -> JB by PeerID x $NJS ($tag)"
    : >"$WORK/$tag.lookup"; : >"$WORK/$tag.relayed"; : >"$WORK/$tag.punch"; : >"$WORK/$tag.total"; : >"$WORK/$tag.notes"
    for i in $(seq "$NJS"); do
        p=$((port + 100 + 2 * i))
        j=$(DEBUG="$JS_DEBUG" ip netns exec "$HA" node "$JS/reach-bench.mjs" --listen /ip4/0.0.0.0/tcp/$p \
            --dial-port $((p + 1)) --announce /ip4/11.0.1.2/tcp/$((p + 1)) \
            --bootstrap "$addrd" --find "$idjb" --punch-wait "$JS_WAIT" --timeout 90 "$@" 2>>"$WORK/$tag.ja.err" |
            grep '"reach"') || true
        echo "$j" >>"$WORK/$tag.json"
        [ -n "$(jnum "$j" lookup_ms)" ] && jnum "$j" lookup_ms >>"$WORK/$tag.lookup"
        if grep -q '"limited":true' <<<"$j"; then
            jnum "$j" connect_ms >>"$WORK/$tag.relayed"
        else
            echo "run $i: $j" >>"$WORK/$tag.notes"
        fi
        if [ -n "$(jnum "$j" punch_ms)" ]; then
            jnum "$j" punch_ms >>"$WORK/$tag.punch"
            awk -v a="$(jnum "$j" lookup_ms)" -v b="$(jnum "$j" connect_ms)" -v c="$(jnum "$j" punch_ms)" \
                'BEGIN { print a + b + c }' >>"$WORK/$tag.total"
        else
            echo "run $i: $(jstrf "$j" punch_error)$(jstrf "$j" error)" >>"$WORK/$tag.notes"
        fi
    done
    N=$NJS frow "$tag" "$label"
    # JS_LOGS=DIR keeps the js nodes' whole debug logs
    [ -n "${JS_LOGS:-}" ] && mkdir -p "$JS_LOGS" && cp "$WORK/$tag".j?.err "$JS_LOGS/"
    # dcutr's own words on why (its debug log, both nodes)
    grep -ih "dcutr.*\(error\|fail\|abort\|timeout\)" "$WORK/$tag.jb.err" "$WORK/$tag.ja.err" 2>/dev/null |
        sed 's/\x1b\[[0-9;]*m//g; s/^ *//; s/^[0-9TZ:.-]* //' | cut -c1-160 | sort | uniq -c | sort -rn | head -4 >"$WORK/$tag.dcutr" || true
}
if [ "$JS_OK" = 1 ]; then
    # through a js-libp2p relay (@libp2p/circuit-relay-v2's server, its
    # default limits: 2 min and 128 KiB a circuit) at 11.0.0.3
    in_ns "$PUB" ip addr add 11.0.0.3/32 dev lo
    ip netns exec "$PUB" node "$JS/relay-peer.mjs" --listen /ip4/11.0.0.3/tcp/4004 --timeout 900 \
        >"$WORK/jr.out" 2>"$WORK/jr.err" &
    PIDS+=("$!")
    for _ in $(seq 200); do
        grep -q '"ready"' "$WORK/jr.out" && break
        sleep 0.05
    done
    idjr=$(sed -n 's/.*"event":"ready","peer_id":"\([^"]*\)".*/\1/p' "$WORK/jr.out")
    if [ -n "$idjr" ]; then
        js_rows jsr "/ip4/11.0.0.3/tcp/4004/p2p/$idjr" 4205 \
            "js-libp2p → js-libp2p, js-libp2p relay (findPeer, dial, dcutr)"
        [ -n "$JB_PID" ] && kill "$JB_PID" 2>/dev/null
    else
        say "the js-libp2p relay did not start: $(tail -3 "$WORK/jr.err")"
    fi
    js_rows js "$addrr" 4225 "js-libp2p → js-libp2p, fastn relay R (findPeer, dial, dcutr)"
    idjb_stock=$idjb
    # the same with js-libp2p's two faults here worked around (see
    # docs/REACH.md): the routers' conntrack liberal about TCP windows
    # (js's own dials to the peer's public address and dcutr's
    # unilateral attempt leave entries on the punch's ports that make
    # its SYNs invalid otherwise), and --keep-initiator (the dial queue
    # drops dcutr's initiator: false); the NATs are as strict after it
    for r in $RA $RB; do in_ns "$r" sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=1; done
    js_rows jsw "$addrr" 4245 "js-libp2p → js-libp2p, fastn relay R, worked around" --keep-initiator
    for r in $RA $RB; do in_ns "$r" sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=0; done
    [ -n "$JB_PID" ] && kill "$JB_PID" 2>/dev/null
    idjb=$idjb_stock
    if [ -n "$idjb" ]; then
        say "fastn A -> JB (js-libp2p) by PeerID x $N"
        fastn_runs mix "$idjb"
        frow mix "fastn → js-libp2p (\`fastn connect JB --wait-direct\`)"
    fi
fi

# --- throughput: direct and through R -------------------------------------
say "throughput: $SIZE A -> B, direct and through R"
new_a 0
ida=$(peer_of "$A")
fastn --home "$B" peer allow "$ida" >/dev/null 2>&1 || true
fastn --home "$B" listen /bench/sink/1.0.0 -- wc -c >"$WORK/sink.out" 2>&1 &
PIDS+=("$!")
sleep 0.3
bytes=$(numfmt --from=iec "$SIZE")
transfer() { # prints "S s, X MB/s" (or why not)
    local t0 t1 got
    t0=$(date +%s%N)
    got=$(head -c "$bytes" /dev/zero | fastn --home "$A" --timeout 300 call "$idb" /bench/sink/1.0.0 2>&1 | tr -d ' \n')
    t1=$(date +%s%N)
    if [ "$got" != "$bytes" ]; then
        echo "failed: $got"
        return
    fi
    awk -v ns=$((t1 - t0)) -v b="$bytes" 'BEGIN { printf "%.2f s, %.1f MB/s", ns / 1e9, b / (ns / 1e9) / 1e6 }'
}
j=$(fastn --home "$A" --timeout 20 connect "$idb" --wait-direct --json 2>&1) || true
if [ "$(jstrf "$j" path)" = direct ]; then
    tp_direct="$(transfer); $(transfer)"
else
    tp_direct="no direct connection: $j"
fi
# randomized ports: no punch; B's reservation may be cut by the change
fastn --home "$A" disconnect "$idb" >/dev/null 2>&1 || true
netns_nat "$RA" random
netns_nat "$RB" random
stop_a
new_a 50
ida=$(peer_of "$A")
fastn --home "$B" peer allow "$ida" >/dev/null 2>&1 || true
tp_relay="no relayed connection"
for _ in $(seq 60); do
    if fastn --home "$A" connect "$addrr/p2p-circuit/p2p/$idb" >/dev/null 2>&1; then
        path=$(fastn --home "$A" peers | awk -v p="$idb" '$1 == p { print $NF }')
        [ "$path" = relayed ] && tp_relay="$(transfer); $(transfer)"
        break
    fi
    sleep 1
done

{
    echo "Link: $LINK; B-R RTT $rtt ms (fastn ping)."
    echo "Machine: $MACHINE; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; the run took $SECONDS s."
    echo
    echo "Reaching a peer by PeerID alone: median (min–max) of $N runs ($NJS for js-libp2p → js-libp2p), each from a new node A with an empty address book; the total is to the direct connection:"
    echo
    echo "| from → to | lookup (DHT) | relayed connection | hole punch | total | punched |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Throughput, $SIZE A → B in one stream (\`fastn call\` into \`fastn listen -- wc -c\`):"
    echo
    echo "| path | time, rate (two transfers in a row on one connection) |"
    echo "|---|---|"
    echo "| direct (after the hole punch) | $tp_direct |"
    echo "| through the fastn relay R (NATs randomizing ports) | $tp_relay |"
    for t in jsr js jsw; do
        if [ -s "$WORK/$t.dcutr" ]; then
            echo
            echo "js-libp2p dcutr's debug log ($t, its most frequent error lines):"
            sed 's/^/    /' "$WORK/$t.dcutr"
        fi
    done
    for t in fastn jsr js jsw mix; do
        if [ -s "$WORK/$t.notes" ]; then
            echo
            echo "Notes ($t):"
            sed 's/^/    /' "$WORK/$t.notes" | sort | uniq -c | head -5
        fi
    done
} | tee "$OUT"
