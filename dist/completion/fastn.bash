# bash completion for fastn (installed as
# share/bash-completion/completions/fastn; or `source` this file).
#
# Commands, subcommands and options come from fastn's own help (`fastn
# --help`, `fastn help CMD`), so they are those of the fastn installed.
# Plugin names, PeerIDs, trusted keys and registries come from the
# running daemon (`fastn plugin list --json`, `fastn peers --json`, ...),
# config keys from `fastn config list --json`, asked with --no-autostart
# and a short timeout: completing never starts a daemon nor hangs. The
# --home or --socket already typed on the line (before or after the
# command) is passed on. No jq: the JSON is
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

# The names of the trusted keys and of the registries.
_fastn_names() {
    _fastn_ask "$1" list --json | _fastn_json_values name
}

# The config keys fastnd knows (fastn config list reads the file; it
# starts no daemon)
_fastn_config_keys() {
    _fastn_ask config list --json | _fastn_json_values key
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
    --timeout | -c | -i | -n | --max | --limit | --upload | --download | \
        --lines | --since | -S)
        return
        ;;
    --level | -l)
        COMPREPLY=($(compgen -W "error warn info debug" -- "$cur"))
        return
        ;;
    --allow | --from)
        COMPREPLY=($(compgen -W "$(_fastn_peers)" -- "$cur"))
        return
        ;;
    --name)
        return
        ;;
    esac

    if [ -z "$cmd" ]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--home --socket --no-autostart
                --no-create --timeout --json --help --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_fastn_commands)" -- "$cur"))
        fi
        return
    fi

    # the command's positional words so far (options and their values
    # left out; "--" ends the options of listen); global options may
    # come after the command too
    for ((i = cmd_i + 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case "$w" in
        --home | --socket)
            _fastn_globals+=("$w" "${COMP_WORDS[i + 1]}")
            ((i++))
            ;;
        -c | -i | -n | --max | --limit | --upload | --download | --protocol | \
            --allow | --serves | --withhold | --grant | --timeout | --level | \
            -l | --since | -S | --lines | --from | --name | --key | --output) ((i++)) ;;
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
    ping | call | disconnect | perf | connect | ssh | ssh-proxy)
        [ ${#pos[@]} -eq 0 ] &&
            COMPREPLY=($(compgen -W "$(_fastn_peers)" -- "$cur"))
        ;;
    forward)
        [ ${#pos[@]} -eq 1 ] &&
            COMPREPLY=($(compgen -W "$(_fastn_peers)" -- "$cur"))
        ;;
    config)
        sub=${pos[0]:-}
        if [ -z "$sub" ]; then
            COMPREPLY=($(compgen -W "$(_fastn_subcommands "$cmd")" -- "$cur"))
        elif [ "$sub" != list ] && [ ${#pos[@]} -eq 1 ]; then
            COMPREPLY=($(compgen -W "$(_fastn_config_keys)" -- "$cur"))
        fi
        ;;
    plugin | chat | notifications | trust | registry | peer)
        sub=${pos[0]:-}
        if [ -z "$sub" ]; then
            COMPREPLY=($(compgen -W "$(_fastn_subcommands "$cmd")" -- "$cur"))
        elif [ ${#pos[@]} -ne 1 ] || [ "$sub" = list ]; then
            return
        elif [ "$cmd/$sub" = trust/add ]; then
            COMPREPLY=($(compgen -f -X '!*.pub' -- "$cur") $(compgen -d -- "$cur"))
        elif [ "$cmd/$sub" = registry/add ] || [ "$cmd/$sub" = registry/build ]; then
            COMPREPLY=($(compgen -d -- "$cur"))
        elif [ "$cmd" = trust ] || [ "$cmd" = registry ]; then
            COMPREPLY=($(compgen -W "$(_fastn_names "$cmd")" -- "$cur"))
        elif [ "$cmd/$sub" = plugin/install ] && [ ${#pos[@]} -eq 1 ]; then
            COMPREPLY=($(compgen -f -X '!*.wasm' -- "$cur") $(compgen -d -- "$cur"))
        elif [ "$cmd" = plugin ] && [ ${#pos[@]} -eq 1 ]; then
            COMPREPLY=($(compgen -W "$(_fastn_plugins)" -- "$cur"))
        elif [ "$cmd" = peer ] && [ ${#pos[@]} -eq 1 ]; then
            COMPREPLY=($(compgen -W "$(_fastn_peers)" -- "$cur"))
        elif [ "$cmd" = chat ] && [ ${#pos[@]} -eq 1 ]; then
            COMPREPLY=($(compgen -W "$(_fastn_peers)" -- "$cur"))
        fi
        ;;
    esac
}

complete -F _fastn fastn
