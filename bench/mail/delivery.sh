#!/bin/bash
# Mail delivery between two daemons on loopback: daemons A and B, the mail
# plugin on both; SENDERS SMTP sessions at A (python smtplib, at once)
# submit N messages of 10 KB in all to B's address; timed from the first
# submission until B's INBOX has every one (each submitted, queued,
# streamed over /fastn/mail/1.0.0, committed at B, acknowledged). Prints
# messages per second for 1 sender and for 8.
# Usage: BUILD=build bash bench/mail/delivery.sh [N]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]:-$0}")/../env.sh"
BUILD=${BUILD:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$TOP/$BUILD/bin
N=${1:-400}
MAILP=$TOP/$BUILD/plugins/mail.wasm
[ -f "$MAILP" ] || { echo "delivery.sh: build first (make)" >&2; exit 1; }
T=$(mktemp -d /tmp/fastn-mail.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
fa() { "$BIN/fastn" --home "$T/a" --no-autostart "$@"; }
fb() { "$BIN/fastn" --home "$T/b" --no-autostart "$@"; }
mkdir -p "$T/a" "$T/b"
chmod 700 "$T" "$T/a" "$T/b"
for h in a b; do
    printf 'listen = /ip4/127.0.0.1/tcp/0\n' >"$T/$h/config"
    "$BIN/fastnd" --home "$T/$h" --foreground >"$T/$h/out" 2>"$T/$h/log" &
    pids+=($!)
done
for i in $(seq 100); do
    [ -S "$T/a/fastnd.sock" ] && [ -S "$T/b/fastnd.sock" ] && break
    sleep 0.05
done
fa plugin install "$MAILP" >/dev/null
fb plugin install "$MAILP" >/dev/null
fb connect "$(fa id | sed -n 2p)" >/dev/null
fa connect "$(fb id | sed -n 2p)" >/dev/null
SA=$(fa mail setup --json)
SB=$(fb mail setup --json)
BADDR=$(jq -r .address <<<"$SB")

count() { # B's INBOX, by IMAP STATUS
    curl -sS "imap://127.0.0.1:$(jq .imap_port <<<"$SB")" \
        --user "me:$(jq -r .password <<<"$SB")" -X 'STATUS INBOX (MESSAGES)' |
        sed -n 's/.*MESSAGES \([0-9]*\).*/\1/p'
}
run() { # SENDERS: messages per second
    local before t0 t1 want
    before=$(count)
    want=$((before + N))
    t0=$(date +%s%N)
    python3 - "$1" "$N" "$(jq .smtp_port <<<"$SA")" "$(jq -r .password <<<"$SA")" \
        "$(jq -r .address <<<"$SA")" "$BADDR" <<'PY'
import smtplib, sys, threading
senders, n, port, pw, frm, to = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
body = ("x" * 76 + "\r\n") * 128  # 10 KB
def send(k):
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    s.login("me", pw)
    for i in range(k):
        s.sendmail(frm, [to], "From: <%s>\r\nTo: <%s>\r\nSubject: bench\r\n\r\n%s" % (frm, to, body))
    s.quit()
ts = [threading.Thread(target=send, args=(n // senders,)) for _ in range(senders)]
for t in ts: t.start()
for t in ts: t.join()
PY
    ts=$(date +%s%N)
    until [ "$(count)" -ge "$want" ]; do sleep 0.1; done
    t1=$(date +%s%N)
    awk -v n="$N" -v a="$t0" -v s="$ts" -v b="$t1" 'BEGIN { printf "%.1f msgs/s (%.2f s; all submitted after %.2f s)", n / ((b - a) / 1e9), (b - a) / 1e9, (s - a) / 1e9 }'
}
echo "1 sender:  $(run 1) for $N messages of 10 KB"
echo "8 senders: $(run 8) for $N messages of 10 KB"
