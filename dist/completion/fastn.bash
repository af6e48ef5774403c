# bash completion for fastn (installed as
# share/bash-completion/completions/fastn; or `source` this file).
#
# Commands, subcommands and options come from fastn's own help (`fastn
# --help`, `fastn help CMD`), so they are those of the fastn installed.
# Plugin names and PeerIDs come from the running daemon (`fastn plugin
# list --json`, `fastn peers --json`), asked with --no-autostart and a
# short timeout: completing never starts a daemon nor hangs. The --home
# or --socket already typed on the line is passed on. No jq: the JSON is
# fastn's own, one key per field, read with sed.

# fastn with the line's global options, never autostarting.
_fastn_ask() {
    local -a g=("${_fastn_globals[@]}")
    "${_fastn_bin:-fastn}" "${g[@]}" --no-autostart --timeout 2 "$@" \
        2>/dev/null
}

# The values of one string key in JSON text on stdin, one per line.
_fastn_json_values() {
    grep -o '"'"$1"'"[[:space:]]*:[[:space:]]*"[^"]*"' |
        sed 's/.*:[[:space:]]*"\(.*\)"$/\1/'
}

_fastn_commands() {
    "${_fastn_bin:-fastn}" --help 2>/dev/null |
        sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'
}

# Options a command's help mentions: "-c", "--protocol", ...
_fastn_options() {
    {
        "${_fastn_bin:-fastn}" help "$@" 2>/dev/null |
            grep -o -- '\(^\|[[ |]\)--*[a-zA-Z][a-zA-Z-]*' | sed 's/^[[ |]//'
        printf '%s\n' --json --help
    } | sort -u
}

# Subcommands: "  install FILE..." lines of `fastn help plugin`, and
# "usage: fastn chat send ..." / "       fastn chat log ..." lines.
_fastn_subcommands() {
    "${_fastn_bin:-fastn}" help "$1" 2>/dev/null |
        sed -n -e h -e 's/^  \([a-z][a-z]*\)[ ,].*/\1/p' \
            -e g -e 's/^  [a-z]* [A-Z]*, \([a-z][a-z]*\) .*/\1/p' \
            -e g -e 's/^\(usage:\)\{0,1\} *fastn '"$1"' \([a-z][a-z]*\).*/\2/p' |
        sort -u
}

_fastn_peers() {
    _fastn_ask peers --json | _fastn_json_values peer_id
}

_fastn_plugins() {
    _fastn_ask plugin list --json | _fastn_json_values name
}

_fastn() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=""
    local i w cmd="" cmd_i=0 sub=""
    local -a pos=()
    _fastn_globals=()
    _fastn_bin=${COMP_WORDS[0]}
    [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()

    # global options before the command, then the command
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case "$w" in
        --home | --socket)
            _fastn_globals+=("$w" "${COMP_WORDS[i + 1]}")
            ((i++))
            ;;
        --timeout) ((i++)) ;;
        -*) ;;
        *)
            cmd=$w
            cmd_i=$i
            break
            ;;
        esac
    done

    case "$prev" in
    --home)
        COMPREPLY=($(compgen -d -- "$cur"))
        return
        ;;
    --socket)
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    --timeout | -c | -i | -n | --max | --limit | --upload | --download)
        return
        ;;
    --allow)
        COMPREPLY=($(compgen -W "$(_fastn_peers)" -- "$cur"))
        return
        ;;
    esac

    if [ -z "$cmd" ]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--home --socket --no-autostart
                --timeout --json --help --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_fastn_commands)" -- "$cur"))
        fi
        return
    fi

    # the command's positional words so far (options and their values
    # left out; "--" ends the options of listen)
    for ((i = cmd_i + 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case "$w" in
        -c | -i | -n | --max | --limit | --upload | --download | --protocol | \
            --allow | --serves | --withhold | --grant) ((i++)) ;;
        -*) ;;
        *) pos+=("$w") ;;
        esac
    done

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_fastn_options "$cmd")" -- "$cur"))
        return
    fi

    case "$cmd" in
    help)
        [ ${#pos[@]} -eq 0 ] &&
            COMPREPLY=($(compgen -W "$(_fastn_commands)" -- "$cur"))
        ;;
    ping | call | disconnect | perf | connect)
        [ ${#pos[@]} -eq 0 ] &&
            COMPREPLY=($(compgen -W "$(_fastn_peers)" -- "$cur"))
        ;;
    forward)
        [ ${#pos[@]} -eq 1 ] &&
            COMPREPLY=($(compgen -W "$(_fastn_peers)" -- "$cur"))
        ;;
    plugin | chat | notifications)
        sub=${pos[0]:-}
        if [ -z "$sub" ]; then
            COMPREPLY=($(compgen -W "$(_fastn_subcommands "$cmd")" -- "$cur"))
        elif [ "$cmd/$sub" = plugin/install ] && [ ${#pos[@]} -eq 1 ]; then
            COMPREPLY=($(compgen -f -X '!*.wasm' -- "$cur") $(compgen -d -- "$cur"))
        elif [ "$cmd" = plugin ] && [ ${#pos[@]} -eq 1 ]; then
            COMPREPLY=($(compgen -W "$(_fastn_plugins)" -- "$cur"))
        elif [ "$cmd" = chat ] && [ ${#pos[@]} -eq 1 ]; then
            COMPREPLY=($(compgen -W "$(_fastn_peers)" -- "$cur"))
        fi
        ;;
    esac
}

complete -F _fastn fastn
