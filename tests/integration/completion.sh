#!/bin/bash
# Shell completion (dist/completion/): bash's, sourced as bash-completion
# would, completes commands, subcommands, options, the plugins installed
# in the daemon named by --home on the line, and the PeerIDs it is
# connected to; it never starts a daemon. zsh's offers the same through a
# real interactive zsh (zsh/zpty), when zsh is installed.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

[ -f "$TOP/$BUILD/plugins/echo.wasm" ] || skip "plugins not built (no wasm toolchain)"
export PATH="$BIN:$PATH" # completion runs `fastn` as typed
# shellcheck source=/dev/null
. "$TOP/dist/completion/fastn.bash"

complete_line() { # WORDS...: the completion of the last word, sorted
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _fastn
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect() { # WANT WORDS...
    local want=$1 got
    shift
    got=$(complete_line "$@")
    [ "$got" = "$want" ] || fail "'$*<TAB>' gave '$got', want '$want'"
    pass "'$*<TAB>' -> $got"
}

expect "status stop" fastn st
expect "peer peers perf ping plugin" fastn p
expect "call chat config connect" fastn c
expect "doctor" fastn do
expect "restart" fastn res
expect "--home" fastn --ho
expect "--no-autostart --no-create" fastn --no-
expect "get list set unset" fastn config ""
expect "--follow --help --json --level --lines --since -S -f -l -n" fastn log -
expect "debug error info warn" fastn log --level ""
expect "--help --json" fastn doctor -
expect "approve call disable enable info install list new pending reject remove restrict run search update" fastn plugin ""
expect "allow block list" fastn peer ""
expect "add list remove" fastn trust ""
expect "add build list remove" fastn registry ""
expect "disable" fastn plugin dis
expect "log send" fastn chat ""
expect "count read unread" fastn notifications ""
expect "--help --json -c -i" fastn ping -
expect "--allow --help --json --protocol" fastn expose -
expect "--replace" fastn plugin install --rep
# every command of `fastn --help` is offered
all=$(complete_line fastn "")
for c in $("$BIN/fastn" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]*\) .*/\1/p'); do
    grep -qw -- "$c" <<<"$all" || fail "command $c not offered: $all"
done
pass "every command of fastn --help is offered"

# With no daemon: no plugin, no peer, and no daemon started.
H=$(new_home)
[ -z "$(complete_line fastn --home "$H" plugin info "")" ] ||
    fail "plugins offered with no daemon"
[ -z "$(complete_line fastn --home "$H" ping "")" ] || fail "peers offered with no daemon"
[ ! -e "$H/fastnd.lock" ] || fail "completion started a daemon"
# config keys come from the file's reader, with no daemon either
expect "keepalive" fastn --home "$H" config get keep
expect "listen log-level" fastn config --home "$H" set l
[ ! -e "$H/fastnd.lock" ] || fail "completion started a daemon"
pass "no daemon: nothing offered, none started"

# A daemon with the echo plugin, connected to a second one.
start_net "$H"
H2=$(new_home)
start_net "$H2"
fastn --home "$H" plugin install "$TOP/$BUILD/plugins/echo.wasm" >/dev/null
fastn --home "$H" connect "$(listen_addr "$H2")" >/dev/null
p2=$(peer_id "$H2")
expect "echo" fastn --home "$H" plugin info ""
expect "echo" fastn --home "$H" plugin remove e
expect "$p2" fastn --home "$H" ping ""
expect "$p2" fastn --home "$H" call 12D3
expect "$p2" fastn --home "$H" forward 2222 ""
expect "$p2" fastn --home "$H" expose 22 --allow ""
expect "$p2" fastn --home "$H" chat send ""
expect "$p2" fastn --home "$H" plugin install --from ""
expect "fastn-build" fastn --home "$H" trust remove ""
expect "bundled" fastn --home "$H" registry remove ""
# the socket typed on the line is used too, also after the command
expect "echo" fastn --socket "$H/fastnd.sock" plugin enable ""
expect "echo" fastn plugin --home "$H" disable ""
[ -z "$(complete_line fastn --home "$H2" plugin info "")" ] ||
    fail "the other daemon's plugins were offered"
pass "plugins and PeerIDs of the daemon on the line"

# zsh, through an interactive shell
if ! command -v zsh >/dev/null; then
    echo "zsh is not installed: its completion is not tested"
    exit 0
fi
zcomp() { # LINE: what zsh offered
    timeout 20 zsh -f "$TOP/tests/integration/zsh_complete.zsh" \
        "$TOP/dist/completion" "$1" | tr '\n' ' ' | sed 's/ $//'
}
zexpect() { # WANT LINE
    local got
    got=$(zcomp "$2")
    grep -qF -- "$1" <<<"$got" || fail "zsh: '$2<TAB>' gave '$got', want '$1'"
    pass "zsh: '$2<TAB>' -> $got"
}
zexpect "approve call disable enable info install list new pending reject remove restrict run search update" "fastn plugin "
zexpect "add build list remove" "fastn registry "
zexpect "fastn-build" "fastn --home $H trust remove "
zexpect "--help --json -c -i" "fastn ping -"
zexpect "echo" "fastn --home $H plugin info "
zexpect "$p2" "fastn --home $H ping "
zexpect "get list set unset" "fastn config "
zexpect "keepalive" "fastn --home $H config get keep"
zexpect "error warn info debug" "fastn log --level "
