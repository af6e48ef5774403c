#!/bin/bash
# IMAP: mbsync of a whole account, the mail plugin against Dovecot, in the
# same run. One daemon with the mail plugin and one Dovecot (Debian's
# dovecot-imapd, started here on loopback as an unprivileged process with
# its own config in a temporary directory) get the same N messages of
# 50 MiB in all (APPEND with imaplib; Dovecot keeps them in a Maildir).
# Then mbsync pulls INBOX into an empty Maildir from each, ROUNDS times in
# turn; each run is timed and checked (N messages in the Maildir).
# Usage: BUILD=build bash bench/mail/imap.sh [N] [ROUNDS]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]:-$0}")/../env.sh"
BUILD=${BUILD:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$TOP/$BUILD/bin
N=${1:-1000}
ROUNDS=${2:-3}
MAILP=$TOP/$BUILD/plugins/mail.wasm
[ -f "$MAILP" ] || { echo "imap.sh: build first (make)" >&2; exit 1; }
DOVECOT=$(command -v dovecot || echo /usr/sbin/dovecot)
for c in mbsync python3 jq "$DOVECOT"; do
    command -v "$c" >/dev/null || {
        echo "imap.sh: $c is missing: install isync, python3, jq and" \
            "dovecot-imapd (sh scripts/install-deps.sh test)" >&2
        exit 1
    }
done
T=$(mktemp -d /tmp/fastn-imapbench.XXXXXX)
chmod 755 "$T"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 30000))
        ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
    echo "imap.sh: no free port" >&2
    exit 1
}

# the mail plugin
fa() { "$BIN/fastn" --home "$T/a" --no-autostart "$@"; }
mkdir -p "$T/a" && chmod 700 "$T/a"
IP=$(free_port)
printf 'listen = /ip4/127.0.0.1/tcp/0\nplugin-listen = mail imap %s\n' "$IP" >"$T/a/config"
"$BIN/fastnd" --home "$T/a" --foreground >"$T/a/out" 2>"$T/a/log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$T/a/fastnd.sock" ] && break; sleep 0.05; done
fa plugin install "$MAILP" >/dev/null
S=$(fa mail setup --json)
IP=$(jq .imap_port <<<"$S") PW=$(jq -r .password <<<"$S")

# Dovecot: as this user, or as nobody when this is root
D=$T/dovecot DP=$(free_port)
mkdir -p "$D"
if [ "$(id -u)" = 0 ]; then
    DU=nobody DG=$(id -gn nobody) AS=(setpriv --reuid=nobody --regid="$DG" --clear-groups)
else
    DU=$(id -un) DG=$(id -gn) AS=()
fi
cat >"$D/dovecot.conf" <<EOF
protocols = imap
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/state
log_path = $D/log
instance_name = fastn-bench-$$
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = $DU
default_internal_group = $DG
default_login_user = $DU
mail_location = maildir:$D/mail
passdb {
  driver = static
  args = password=bench
}
userdb {
  driver = static
  args = uid=$DU gid=$DG home=$D/home
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $DP
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
EOF
[ "$(id -u)" = 0 ] && chown -R "$DU:$DG" "$D"
"${AS[@]}" "$DOVECOT" -F -c "$D/dovecot.conf" &
pids+=($!)
for _ in $(seq 100); do ss -Hltn "sport = :$DP" | grep -q . && break; sleep 0.05; done

# the same messages in both: N of 50 MiB / N bytes each
t0=$(date +%s%N)
python3 - "$N" "$IP" "$PW" "$DP" <<'PY'
import base64, imaplib, random, sys
n, ip, pw, dp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
size = 50 * 1024 * 1024 // n
rnd = random.Random(1)
msgs = []
for i in range(n):
    h = ("From: <me@example.fastn>\r\nTo: <me@example.fastn>\r\n"
         "Subject: bench %d\r\nMessage-ID: <b%d@bench>\r\n"
         "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
         "Content-Type: text/plain\r\n\r\n" % (i, i)).encode()
    raw = rnd.randbytes((size - len(h)) // 78 * 57)  # 57 bytes: a line of 78
    b = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    msgs.append(h + b)
for port, user, password in ((ip, "me", pw), (dp, "me", "bench")):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=120)
    m.login(user, password)
    for x in msgs:
        typ, d = m.append("INBOX", None, None, x)
        assert typ == "OK", d
    typ, d = m.select("INBOX")
    assert int(d[0]) == n, d
    m.logout()
print("%d messages of %d bytes, %.1f MiB in all" % (n, len(msgs[0]), sum(map(len, msgs)) / 1048576))
PY
t1=$(date +%s%N)
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "loaded both in %.1f s\n", (b - a) / 1e9 }'

sync_one() { # NAME PORT USER PASS: seconds of one mbsync pull into an empty Maildir
    local md=$T/md-$1
    rm -rf "$md" && mkdir -p "$md"
    cat >"$T/rc-$1" <<EOF
IMAPAccount $1
Host 127.0.0.1
Port $2
User $3
Pass $4
SSLType None
AuthMechs LOGIN PLAIN
Timeout 120

IMAPStore $1-far
Account $1

MaildirStore $1-near
Path $md/
Inbox $md/INBOX

Channel $1
Far :$1-far:
Near :$1-near:
Patterns INBOX
Create Near
Sync Pull
SyncState *
EOF
    local a b
    a=$(date +%s%N)
    mbsync -q -c "$T/rc-$1" -a || true # (counted below)
    b=$(date +%s%N)
    local got
    got=$(find "$md/INBOX/cur" "$md/INBOX/new" -type f | wc -l)
    [ "$got" = "$N" ] || {
        echo "imap.sh: $1: $got of $N messages; the daemon's log ends:" >&2
        tail -n 20 "$T/a/log" >&2
        exit 1
    }
    awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
    echo "round $r: fastn mail plugin $(sync_one fastn "$IP" me "$PW") s," \
        "dovecot $(sync_one dovecot "$DP" me bench) s"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
