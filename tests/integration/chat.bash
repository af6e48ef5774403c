# Shared by the two-daemon plugin tests (sourced after common.bash and
# net.bash; not a test itself): daemons with a fixed loopback port, so a
# restarted one is found where it was, and the chat plugin installed.
CHAT=$TOP/$BUILD/plugins/chat.wasm
ECHO=$TOP/$BUILD/plugins/echo.wasm

# start_at HOME PORT: a foreground daemon on 127.0.0.1:PORT (0: any).
start_at() {
    start_fg "$1" --listen "/ip4/127.0.0.1/tcp/$2"
}

# two_daemons: daemons A and B on loopback (any port). Sets A B A_PID
# B_PID ida idb PA PB; fa and fb run fastn on A and B.
two_daemons() {
    A=$(new_home)
    B=$(new_home)
    start_at "$A" 0
    A_PID=$DAEMON_PID
    start_at "$B" 0
    B_PID=$DAEMON_PID
    ida=$(peer_id "$A")
    idb=$(peer_id "$B")
    PA=$(port_of "$A")
    PB=$(port_of "$B")
}
fa() { fastn --home "$A" --no-autostart "$@"; }
fb() { fastn --home "$B" --no-autostart "$@"; }

# chat_pair: two_daemons, chat installed on both, and each connected to
# the other once (chat serves known peers only).
chat_pair() {
    two_daemons
    fa plugin install "$CHAT" >/dev/null
    fb plugin install "$CHAT" >/dev/null
    fa connect "$(listen_addr "$B")" >/dev/null
    fb connect "$(listen_addr "$A")" >/dev/null
}

port_of() { # HOME: the port it listens on
    listen_addr "$1" | sed -n 's|^/ip4/127.0.0.1/tcp/\([0-9]*\)/.*|\1|p'
}

chat_log() { # HOME [PEER]
    fastn --home "$1" --no-autostart chat log ${2:+"$2"}
}

# how many times TEXT appears as a received message in HOME's log
received() { # HOME TEXT
    local out
    out=$(chat_log "$1")
    grep -c -- "<- .*  $2\$" <<<"$out" || true
}

# received_at_least HOME TEXT N (for wait_until: evaluated on each try)
received_at_least() {
    [ "$(received "$1" "$2")" -ge "$3" ]
}

# log_has HOME PATTERN (grep pattern on the chat log)
log_has() {
    grep -q -- "$2" <<<"$(chat_log "$1")"
}

unread() { # HOME
    fastn --home "$1" --no-autostart notifications count
}
