#!/bin/bash
# Many peers on one daemon (issue 15): N connections (default 10,000),
# each with an Ed25519 identity of its own and a full handshake, made by
# bench/net/conns (the net cores on one epoll loop), idle or pinging.
# Figures: the time to establish them; the daemon's RSS before, while they
# are connected and after they left; STATUS, PING and a call to another
# peer (/perf/1.0.0, 32 bytes back) as a program sees them
# (net_probe timing, medians), and LIST_PEERS, with no load and with it;
# `fastn peers` as a command.
#
#   bench/net/scale.sh [-n N] [--active MS] [-c COUNT]
#
# Results: a markdown table on stdout and in $RESULTS/net-scale.md.
. "$(dirname "$0")/common.bash"

N=10000
ACTIVE=
COUNT=200
while [ $# -gt 0 ]; do
    case $1 in
    -n) N=$2; shift ;;
    --active) ACTIVE=$2; shift ;;
    -c) COUNT=$2; shift ;;
    *) echo "usage: $0 [-n N] [--active MS] [-c COUNT]" >&2; exit 2 ;;
    esac
    shift
done
CONNS=$TOP/$BUILD/bench/net/conns
PROBE=$TOP/$BUILD/tests/integration/net_probe
for b in "$CONNS" "$PROBE"; do
    [ -x "$b" ] || { say "$b is missing: make bench-scale builds it"; exit 1; }
done
mkdir -p "$RESULTS"
OUT=$RESULTS/net-scale.md
MACHINE=$(machine)
ulimit -n $((N + 4096))

A=$(new_home)
B=$(new_home)
printf 'max-connections = %d\n' $((N + 256)) >>"$A/config"
start_daemon "$A"
start_daemon "$B"
apid=$(daemon_pid "$A")
ida=$(peer_of "$A")
idb=$(peer_of "$B")
port=$(addr_of "$A" | cut -d/ -f5)
fastn --home "$A" connect "$(addr_of "$B")" >/dev/null
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$apid/status"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
status_num() { fastn --home "$A" status --json | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
timing() { "$PROBE" timing "$A/fastnd.sock" "$idb" "$COUNT"; }
# peers_cmd: the median wall time of `fastn peers` (5 runs), in ms
peers_cmd() {
    local i t
    for i in 1 2 3 4 5; do
        t=$(date +%s%N)
        fastn --home "$A" peers >/dev/null
        echo $((($(date +%s%N) - t) / 1000))
    done | sort -n | sed -n 3p | awk '{ printf "%.1f", $1 / 1000 }'
}

read -r _ st0 _ pg0 _ ca0 _ pl0 np0 <<<"$(timing)"
cmd0=$(peers_cmd)
sleep 1
rss0=$(rss)
mkfifo "$WORK/ctl"
exec 7<>"$WORK/ctl"
say "$N connections${ACTIVE:+, each pinging every $ACTIVE ms}"
"$CONNS" "$port" "$ida" "$N" ${ACTIVE:+--active "$ACTIVE"} <&7 >"$WORK/conns" 2>&1 &
conns=$!
PIDS+=("$conns")
for i in $(seq 1200); do
    grep -q '^up' "$WORK/conns" && break
    kill -0 "$conns" 2>/dev/null || { say "conns: $(cat "$WORK/conns")"; exit 1; }
    sleep 0.1
done
read -r _ up secs <"$WORK/conns"
sleep 2
rss1=$(rss)
peers=$(status_num peers)
read -r _ st1 _ pg1 _ ca1 _ pl1 np1 <<<"$(timing)"
cmd1=$(peers_cmd)
rss1b=$(rss)
[ "$rss1b" -gt "$rss1" ] && rss1=$rss1b
echo close >&7
wait "$conns" || true
left=$(sed -n 's/^closed //p' "$WORK/conns")
for i in $(seq 300); do
    [ "$(status_num connections)" -le 1 ] && break
    sleep 0.1
done
sleep 3 # memory goes back to the system a second after a burst of closes
rss2=$(rss)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
met() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "met" : "missed" }'; }
per_conn=$(awk -v a="$rss1" -v b="$rss0" -v n="$N" 'BEGIN { printf "%.1f", (a - b) / n }')

{
    echo "Machine: $MACHINE."
    echo
    echo "$up connections${ACTIVE:+ pinging every $ACTIVE ms} (each its own identity and handshake); $peers peers in \`status\` while up; at the end: $left."
    echo
    echo "| what | no load | $N connections | ratio |"
    echo "|---|---:|---:|---:|"
    echo "| STATUS, median us | $st0 | $st1 | $(ratio "$st1" "$st0") |"
    echo "| PING another peer, median us | $pg0 | $pg1 | $(ratio "$pg1" "$pg0") |"
    echo "| call another peer (/perf/1.0.0), median us | $ca0 | $ca1 | $(ratio "$ca1" "$ca0") |"
    echo "| LIST_PEERS, median us | $pl0 ($np0 peers) | $pl1 ($np1 peers) | |"
    echo "| \`fastn peers\`, median ms | $cmd0 | $cmd1 | |"
    echo
    echo "| daemon RSS | MB |"
    echo "|---|---:|"
    echo "| before | $(mb "$rss0") |"
    echo "| $N connected | $(mb "$rss1") ($per_conn KiB per connection) |"
    echo "| after they left | $(mb "$rss2") |"
    echo
    echo "| target (issue 15) | measured | |"
    echo "|---|---:|---|"
    echo "| establish $N in <= 10 s | $secs s | $(met "$secs" 10) |"
    echo "| RSS while connected <= 100 MB | $(mb "$rss1") MB | $(met "$rss1" 102400) |"
    echo "| <= 10 KiB per idle connection | $per_conn KiB | $(met "$per_conn" 10) |"
    echo "| back within 20 MB of the start | +$(mb $((rss2 - rss0))) MB | $(met $((rss2 - rss0)) 20480) |"
    echo "| STATUS, PING, call within 1.5x | $(ratio "$st1" "$st0"), $(ratio "$pg1" "$pg0"), $(ratio "$ca1" "$ca0") | $(awk -v a="$(ratio "$st1" "$st0")" -v b="$(ratio "$pg1" "$pg0")" -v c="$(ratio "$ca1" "$ca0")" 'BEGIN { print (a <= 1.5 && b <= 1.5 && c <= 1.5) ? "met" : "missed" }') |"
    echo "| LIST_PEERS of $np1 in <= 50 ms | $(awk -v u="$pl1" 'BEGIN { printf "%.1f", u / 1000 }') ms | $(met "$pl1" 50000) |"
} | tee "$OUT"
