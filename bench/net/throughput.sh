#!/bin/bash
# One stream's throughput on loopback, side by side in one run, each way:
#   fastnd -> fastnd     fastn perf: /perf/1.0.0 run by the daemons
#                        themselves (no client sockets)
#   fastn call           file -> fastn call -> fastnd -> fastnd -> fastn
#                        listen -> /dev/null (four processes)
#   fastn forward        TCP -> fastnd -> fastnd -> TCP: fastn forward and
#                        fastn expose carrying a plain TCP perf stream
#   js-libp2p            peer.mjs -> peer.mjs, /perf/1.0.0
#   OpenSSH -L           ssh -c chacha20-poly1305@openssh.com -L to a
#                        loopback sshd, the same TCP perf stream through it
#   TCP                  the TCP perf stream alone
# "up" moves BYTES from the dialer, "down" BYTES to it; each figure is
# BYTES / the time from the stream's open to the reply's end, the median
# of RUNS runs. Also the daemons' CPU seconds per GB in fastn perf.
#
#   bench/net/throughput.sh [-s BYTES] [-r RUNS] [--only "fastn call forward js ssh tcp"]
#
# Results: a markdown table on stdout and in $RESULTS/net-throughput.md.
. "$(dirname "$0")/common.bash"

SIZE=2G
RUNS=3
ONLY="fastn call forward js ssh tcp"
while [ $# -gt 0 ]; do
    case $1 in
    -s) SIZE=$2; shift ;;
    -r) RUNS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    *) echo "usage: $0 [-s BYTES] [-r RUNS] [--only LIST]" >&2; exit 2 ;;
    esac
    shift
done
BYTES=$(bytes_of "$SIZE")
mkdir -p "$RESULTS"
OUT=$RESULTS/net-throughput.md
MACHINE=$(machine)
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

declare -A UP DOWN NOTE

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# mbps BYTES SECONDS
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1e6 / s }'; }

# add NAME CMD_UP CMD_DOWN: a path to measure; each command prints the
# seconds of one run. The paths run in turns, RUNS rounds, so that a
# busy moment of this shared machine touches them all alike.
NAMES=()
declare -A CMD_UP CMD_DOWN
add() {
    NAMES+=("$1")
    CMD_UP[$1]=$2
    CMD_DOWN[$1]=$3
    : >"$WORK/$1.up"
    : >"$WORK/$1.down"
}

one() { # NAME DIR
    local t
    if [ "$2" = up ]; then t=$(eval "${CMD_UP[$1]}"); else t=$(eval "${CMD_DOWN[$1]}"); fi
    [ -n "$t" ] || { say "$1 $2 failed"; return 1; }
    mbps "$BYTES" "$t" >>"$WORK/$1.$2"
    echo >>"$WORK/$1.$2"
}

measure_all() {
    local r n
    for r in $(seq "$RUNS"); do
        say "round $r of $RUNS"
        for n in "${NAMES[@]}"; do
            one "$n" up
            one "$n" down
        done
    done
    for n in "${NAMES[@]}"; do
        UP[$n]=$(grep . "$WORK/$n.up" | median)
        DOWN[$n]=$(grep . "$WORK/$n.down" | median)
        RUNS_OF[$n]="$(grep . "$WORK/$n.up" | tr '\n' ' ')/ $(grep . "$WORK/$n.down" | tr '\n' ' ')"
        say "$n: up ${UP[$n]} MB/s, down ${DOWN[$n]} MB/s (runs: ${RUNS_OF[$n]})"
    done
}
declare -A RUNS_OF

# A plain TCP perf server, used by the forward, ssh and TCP rows.
"$TCP_TOOL" perf-server >"$WORK/perfsrv.port" &
PIDS+=("$!")
for i in $(seq 100); do [ -s "$WORK/perfsrv.port" ] && break; sleep 0.05; done
PERFPORT=$(head -1 "$WORK/perfsrv.port")
tcp_secs() { # PORT UP DOWN
    json_field "$("$TCP_TOOL" perf 127.0.0.1 "$1" "$2" "$3")" total_s
}

# --- fastnd -> fastnd ------------------------------------------------------
if want fastn || want forward || want call; then
    daemon_pair
fi
fastn_secs() { # UP DOWN
    json_field "$(fastn --home "$A" perf "$PB" --upload "$1" --download "$2" --json -q)" total_s
}
if want fastn; then
    pa=$(daemon_pid "$A")
    pb=$(daemon_pid "$B")
    ca=$(cpu_ticks "$pa")
    cb=$(cpu_ticks "$pb")
    # the daemons' CPU per GB: one run each way, alone
    fastn_secs "$BYTES" 0 >/dev/null
    fastn_secs 0 "$BYTES" >/dev/null
    hz=$(getconf CLK_TCK)
    gb=$(awk -v b="$BYTES" 'BEGIN { print 2 * b / 1e9 }')
    CPU_A=$(awk -v t=$(($(cpu_ticks "$pa") - ca)) -v hz="$hz" -v gb="$gb" 'BEGIN { printf "%.2f", t / hz / gb }')
    CPU_B=$(awk -v t=$(($(cpu_ticks "$pb") - cb)) -v hz="$hz" -v gb="$gb" 'BEGIN { printf "%.2f", t / hz / gb }')
    NOTE[fastn]="daemons' CPU: dialer ${CPU_A} s/GB, listener ${CPU_B} s/GB"
    add fastn "fastn_secs $BYTES 0" "fastn_secs 0 $BYTES"
fi

# --- fastn forward + expose ---------------------------------------------
if want forward; then
    "$FASTN_BIN" --home "$B" expose "127.0.0.1:$PERFPORT" --allow "$PA" \
        --protocol /bench/perf/1.0.0 >"$WORK/expose.out" 2>&1 &
    PIDS+=("$!")
    "$FASTN_BIN" --home "$A" forward 0 "$PB" --protocol /bench/perf/1.0.0 \
        >"$WORK/forward.out" 2>&1 &
    PIDS+=("$!")
    for i in $(seq 100); do grep -q '^forwarding' "$WORK/forward.out" 2>/dev/null && break; sleep 0.05; done
    FWDPORT=$(sed -n 's/^forwarding 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$WORK/forward.out")
    [ -n "$FWDPORT" ] || { say "forward did not start: $(cat "$WORK/forward.out")"; exit 1; }
    add forward "tcp_secs $FWDPORT $BYTES 0" "tcp_secs $FWDPORT 0 $BYTES"
    NOTE[forward]="TCP client -> fastnd -> fastnd -> TCP perf server"
fi

# --- fastn call -> fastn listen --------------------------------------------
# Four processes, two Unix sockets, one libp2p connection: `fastn call`
# reading a file (page cache) on A's side, `fastn listen` writing to
# /dev/null on B's. Down: B's listen runs `cat FILE` per stream (a fifth
# process) and A's call writes to /dev/null.
if want call; then
    head -c "$BYTES" /dev/zero >"$WORK/call.data"
    "$FASTN_BIN" --home "$B" listen /bench/sink/1.0.0 >/dev/null 2>&1 &
    PIDS+=("$!")
    "$FASTN_BIN" --home "$B" listen /bench/src/1.0.0 -- cat "$WORK/call.data" \
        >/dev/null 2>&1 &
    PIDS+=("$!")
    sleep 0.5
    call_secs() { # PROTOCOL: seconds of one call, stdin from the file or nothing
        local t0 t1 in=/dev/null
        [ "$1" = /bench/sink/1.0.0 ] && in=$WORK/call.data
        t0=$(date +%s.%N)
        "$FASTN_BIN" --home "$A" call "$PB" "$1" <"$in" >/dev/null || return 1
        t1=$(date +%s.%N)
        awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
    }
    add call "call_secs /bench/sink/1.0.0" "call_secs /bench/src/1.0.0"
    NOTE[call]="file -> fastn call -> fastnd -> fastnd -> fastn listen -> /dev/null (down: listen -- cat FILE)"
fi

# --- js-libp2p -> js-libp2p -------------------------------------------------
if want js; then
    if js_ready; then
        node "$JS_DIR/peer.mjs" --quiet --timeout 3600 >"$WORK/js.out" 2>"$WORK/js.err" &
        PIDS+=("$!")
        JSADDR=$(node "$JS_DIR/jsonl.mjs" --wait 30 "$WORK/js.out" ready addrs.0)
        js_secs() { # UP DOWN
            local out
            out=$(node "$JS_DIR/peer.mjs" --no-listen --quiet --timeout 600 --dial "$JSADDR" \
                --perf-client --upload "$1" --download "$2")
            echo "$out" | grep '"event":"perf"' | sed -n 's/.*"totalMs":\([0-9.]*\).*/\1/p' |
                awk '{ print $1 / 1000 }'
        }
        add js "js_secs $BYTES 0" "js_secs 0 $BYTES"
        NOTE[js]="peer.mjs (js-libp2p 3.3.11, Node $(node --version))"
    else
        NOTE[js]="skipped: $(tail -1 "$WORK/js-install.log")"
    fi
fi

# --- OpenSSH port forwarding ----------------------------------------------
ssh_start() {
    local S=$WORK/ssh p i try
    SSHD=$(command -v sshd || echo /usr/sbin/sshd)
    [ -x "$SSHD" ] && command -v ssh >/dev/null || { NOTE[ssh]="skipped: sshd or ssh missing"; return 1; }
    mkdir -p "$S"
    ssh-keygen -q -t ed25519 -N '' -f "$S/host" && ssh-keygen -q -t ed25519 -N '' -f "$S/user"
    cp "$S/user.pub" "$S/authorized_keys"
    [ -d /run/sshd ] || { [ "$(id -u)" = 0 ] && mkdir -p /run/sshd && chmod 755 /run/sshd; } || true
    for try in 1 2 3 4 5; do
        p=$((20000 + RANDOM % 40000))
        printf '%s\n' "Port $p" "ListenAddress 127.0.0.1" "HostKey $S/host" \
            "PidFile $S/sshd.pid" "AuthorizedKeysFile $S/authorized_keys" \
            "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
            "UsePAM no" "StrictModes no" "PermitRootLogin prohibit-password" \
            "Ciphers chacha20-poly1305@openssh.com" >"$S/config"
        "$SSHD" -D -e -f "$S/config" 2>"$S/sshd.log" &
        PIDS+=("$!")
        for i in $(seq 100); do grep -q "Server listening" "$S/sshd.log" && break; sleep 0.05; done
        grep -q "Server listening" "$S/sshd.log" && break
    done
    grep -q "Server listening" "$S/sshd.log" || { NOTE[ssh]="skipped: sshd did not start: $(tail -1 "$S/sshd.log")"; return 1; }
    SSHPORT_L=$((20000 + RANDOM % 40000))
    ssh -N -p "$p" -i "$S/user" -c chacha20-poly1305@openssh.com -o Compression=no \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
        -o LogLevel=ERROR -o ExitOnForwardFailure=yes \
        -L "$SSHPORT_L:127.0.0.1:$PERFPORT" "$(id -un)@127.0.0.1" 2>"$S/ssh.log" &
    PIDS+=("$!")
    for i in $(seq 100); do
        "$TCP_TOOL" perf 127.0.0.1 "$SSHPORT_L" 0 0 >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    NOTE[ssh]="skipped: ssh -L did not come up: $(cat "$S/ssh.log")"
    return 1
}
if want ssh && ssh_start; then
    add ssh "tcp_secs $SSHPORT_L $BYTES 0" "tcp_secs $SSHPORT_L 0 $BYTES"
    NOTE[ssh]="$(ssh -V 2>&1 | cut -d, -f1), ssh -c chacha20-poly1305@openssh.com -L"
fi

# --- plain TCP -----------------------------------------------------------
if want tcp; then
    add tcp "tcp_secs $PERFPORT $BYTES 0" "tcp_secs $PERFPORT 0 $BYTES"
    NOTE[tcp]="tcp_tool perf -> tcp_tool perf-server, 256 KiB writes"
fi

measure_all

ratio() { # A B
    [ -n "${1:-}" ] && [ -n "${2:-}" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo -
}
met() { awk -v v="$1" 'BEGIN { print (v >= 1000) ? "met" : "missed" }'; }
{
    echo "Machine: $MACHINE. One stream of $SIZE each way; the paths ran in turns, $RUNS rounds; medians (all runs, MB/s up / down, below)."
    echo
    echo "| path | up MB/s | down MB/s | fastn perf / this (up, down) | notes |"
    echo "|---|---:|---:|---:|---|"
    for n in fastn call forward js ssh tcp; do
        want "$n" || continue
        label=$(case $n in fastn) echo "fastnd -> fastnd (fastn perf)" ;;
            call) echo "fastn call -> fastn listen" ;;
            forward) echo "TCP via fastn forward + expose" ;;
            js) echo "js-libp2p -> js-libp2p" ;;
            ssh) echo "OpenSSH -L, chacha20-poly1305" ;;
            tcp) echo "plain TCP" ;; esac)
        echo "| $label | ${UP[$n]:--} | ${DOWN[$n]:--} | $(ratio "${UP[fastn]:-}" "${UP[$n]:-}"), $(ratio "${DOWN[fastn]:-}" "${DOWN[$n]:-}") | ${NOTE[$n]:-} |"
    done
    echo
    for n in "${NAMES[@]}"; do echo "- $n: ${RUNS_OF[$n]}"; done
    if want fastn; then
        echo
        echo "| target | measured (up, down) | |"
        echo "|---|---:|---|"
        echo "| >= 1000 MB/s between two daemons on loopback | ${UP[fastn]}, ${DOWN[fastn]} MB/s | up $(met "${UP[fastn]}"), down $(met "${DOWN[fastn]}") |"
    fi
} | tee "$OUT"
