#!/bin/bash
# scp through fastn ssh against plain ssh, in the same run: an sshd on a
# loopback port (a temporary host key, key auth), two daemons A and B on
# loopback, the ssh plugin on A (its local-connect moved to that sshd,
# B allowed). Copies a file of MIB MiB (default 1024) to the sshd's
# $T/out, ROUNDS times each way of reaching it (alternating): scp
# straight to the sshd's port, and scp with `fastn ssh-proxy` as its
# ProxyCommand (B's daemon -> Noise/yamux stream -> A's daemon -> the
# ssh plugin -> local-connect -> sshd). Prints the wall time and MB/s of
# each, and the median.
# Usage: BUILD=build bash bench/ssh/scp.sh [MIB] [ROUNDS]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]:-$0}")/../env.sh"
BUILD=${BUILD:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$TOP/$BUILD/bin
MIB=${1:-1024}
ROUNDS=${2:-3}
SSHP=$TOP/$BUILD/plugins/ssh.wasm
[ -f "$SSHP" ] || { echo "scp.sh: build first (make)" >&2; exit 1; }
[ -x /usr/sbin/sshd ] || { echo "scp.sh: sshd is missing (scripts/install-deps.sh test)" >&2; exit 1; }
T=$(mktemp -d /tmp/fastn-ssh.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
fa() { "$BIN/fastn" --home "$T/a" --no-autostart "$@"; }
fb() { "$BIN/fastn" --home "$T/b" --no-autostart "$@"; }

mkdir -p /run/sshd "$T/a" "$T/b"
chmod 700 "$T"
ssh-keygen -q -t ed25519 -N '' -f "$T/host" </dev/null
ssh-keygen -q -t ed25519 -N '' -f "$T/user" </dev/null
cp "$T/user.pub" "$T/authorized_keys"
for try in $(seq 20); do
    SP=$((20000 + RANDOM % 30000))
    ss -Hltn "sport = :$SP" | grep -q . || break
done
cat >"$T/sshd_config" <<CFG
Port $SP
ListenAddress 127.0.0.1
HostKey $T/host
AuthorizedKeysFile $T/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $T/sshd.pid
Subsystem sftp internal-sftp
CFG
/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
pids+=($!)
for h in a b; do
    printf 'listen = /ip4/127.0.0.1/tcp/0\nunknown-protocols = refuse\n' >"$T/$h/config"
done
echo "plugin-connect = ssh 127.0.0.1:22 127.0.0.1:$SP" >>"$T/a/config"
for h in a b; do
    "$BIN/fastnd" --home "$T/$h" --foreground >"$T/$h/out" 2>"$T/$h/log" &
    pids+=($!)
done
for i in $(seq 100); do
    [ -S "$T/a/fastnd.sock" ] && [ -S "$T/b/fastnd.sock" ] && break
    sleep 0.05
done
ida=$(fa id | head -1)
idb=$(fb id | head -1)
fa plugin install "$SSHP" >/dev/null
fa plugin call ssh allow "$idb" >/dev/null
fb connect "$(fa id | sed -n 2p)" >/dev/null
fa connect "$(fb id | sed -n 2p)" >/dev/null

head -c $((MIB * 1048576)) /dev/urandom >"$T/blob"
U=$(id -un)
common=(-q -F /dev/null -i "$T/user" -o BatchMode=yes -o IdentitiesOnly=yes
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null)
run() { # plain|fastn: seconds for one copy
    local t0 t1
    t0=$(date +%s%N)
    if [ "$1" = plain ]; then
        scp "${common[@]}" -P "$SP" "$T/blob" "$U@127.0.0.1:$T/out"
    else
        scp "${common[@]}" -o "ProxyCommand=$BIN/fastn --home $T/b --no-autostart ssh-proxy %n" \
            "$T/blob" "$U@$ida:$T/out"
    fi
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'
}
declare -A all
for r in $(seq "$ROUNDS"); do
    for way in plain fastn; do
        s=$(run $way)
        mbs=$(awk -v m="$MIB" -v s="$s" 'BEGIN { printf "%.1f", m * 1.048576 / s }')
        echo "round $r $way: ${s} s, ${mbs} MB/s"
        all[$way]="${all[$way]:-} $s"
    done
done
for way in plain fastn; do
    med=$(echo ${all[$way]} | tr ' ' '\n' | sort -n | sed -n "$(((ROUNDS + 1) / 2))p")
    echo "median $way: ${med} s, $(awk -v m="$MIB" -v s="$med" 'BEGIN { printf "%.1f", m * 1.048576 / s }') MB/s ($MIB MiB)"
done
