# The mail tests' two daemons (sourced after common.bash, net.bash and
# chat.bash): free_port, and mail_pair, which starts A and B with the
# mail plugin's SMTP and IMAP on free loopback ports (SA, IA; SB, IB),
# installs the plugin on both and connects them both ways. Sets A, B,
# A_PID, B_PID and the four ports.
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
