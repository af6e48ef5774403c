# The mail tests' setup (sourced instead of common.bash): common.bash,
# net.bash and chat.bash; MAILP, the built plugin (skip without it), and
# python3 and jq, which every mail test uses; mail_needs CMD... for what
# one test needs beside them. free_port, and mail_pair, which starts A
# and B with the mail plugin's SMTP and IMAP on free loopback ports (SA,
# IA; SB, IB), installs the plugin on both and connects them both ways.
# Sets A, B, A_PID, B_PID and the four ports.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
MAILP=$TOP/$BUILD/plugins/mail.wasm
[ -f "$MAILP" ] || skip "plugins not built (no wasm32-wasi toolchain)"
has_jq || skip "jq is missing"
mail_needs() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || skip "$c missing (scripts/install-deps.sh test installs it)"
    done
}
mail_needs python3
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 30000))
        ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
    fail "no free port"
}
mail_pair() {
    A=$(new_home)
    B=$(new_home)
    SA=$(free_port) IA=$(free_port) SB=$(free_port) IB=$(free_port)
    printf 'plugin-listen = mail smtp %s\nplugin-listen = mail imap %s\n' "$SA" "$IA" >>"$A/config"
    printf 'plugin-listen = mail smtp %s\nplugin-listen = mail imap %s\n' "$SB" "$IB" >>"$B/config"
    start_at "$A" 0
    A_PID=$DAEMON_PID
    start_at "$B" 0
    B_PID=$DAEMON_PID
    fa plugin install "$MAILP" >/dev/null || fail "install at A"
    fb plugin install "$MAILP" >/dev/null || fail "install at B"
    fa connect "$(listen_addr "$B")" >/dev/null
    fb connect "$(listen_addr "$A")" >/dev/null
}
# bound HOME NAME: the port the plugin's local listener NAME is bound to
bound() { fastn --home "$1" --no-autostart plugin info mail --json |
    jq ".local_listen[] | select(.name == \"$2\") | .bound"; }
is_bound() { test "$(bound "$1" "$2")" = "$3"; } # HOME NAME PORT
# mbsync_rc TIMEOUT [LINE]...: the start of an mbsync config for B's
# IMAP (IB, BPASS) and a Maildir at MD, the LINEs added to the Maildir
# store; the caller adds its channel after it.
mbsync_rc() {
    printf '%s\n' "IMAPAccount fastn" "Host 127.0.0.1" "Port $IB" "User me" \
        "Pass $BPASS" "SSLType None" "AuthMechs LOGIN PLAIN" "Timeout $1" "" \
        "IMAPStore far" "Account fastn" "" \
        "MaildirStore near" "Path $MD/" "Inbox $MD/INBOX" "${@:2}" ""
}
