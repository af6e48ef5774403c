#!/bin/bash
# The man pages (docs/man/*.scd, built by scdoc) are true to the code:
# every command and option the programs' own --help lists, every config
# key the parser takes, every function libfastn exports, every plugin
# event and import of the ABI tables, and every man page a systemd unit
# names is there. A command, option or key added without its man page
# fails here.
. "$(dirname "$0")/common.bash"

command -v scdoc >/dev/null || skip "scdoc is missing (scripts/install-deps.sh build)"
M=$TOP/docs/man
for src in "$M"/*.scd; do
    page=$TOP/$BUILD/man/$(basename "$src" .scd)
    [ -s "$page" ] || fail "not built: $page (make man)"
    grep -q '^\.TH ' "$page" || fail "$page is not a man page"
done
pass "$(ls "$M"/*.scd | wc -l) man pages built"

has() { # PAGE WORD: WORD appears bold (*WORD*, or *WORD...* with a value)
    grep -qF -- "*$2" "$M/$1.scd"
}
missing=()
need() { # PAGE WHAT WORDS...
    local page=$1 what=$2 w
    shift 2
    for w in "$@"; do
        has "$page" "$w" || missing+=("$page: $what $w")
    done
}

# fastn(1): its commands, global options and each command's options
cmds=$("$BIN/fastn" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
need fastn.1 command $cmds version
need fastn.1 option $("$BIN/fastn" --help | sed -n '/^options:/,$p' |
    grep -o -- '--[a-z-]*' | sort -u)
for c in $cmds; do
    [ "$c" = help ] && continue
    # (an example's "ssh -p 2222" is not fastn's)
    need fastn.1 "option of $c:" $("$BIN/fastn" help "$c" | grep -v 'ssh ' |
        grep -o -- '\(^\|[[ |]\)--*[a-zA-Z][a-zA-Z-]*' | sed 's/^[[ |]//' |
        grep -vx -- '--json\|--help\|--timeout' | sort -u)
done
# fastnd(8): every option of its --help
need fastnd.8 option $("$BIN/fastnd" --help | grep -o -- '^ *--*[a-zA-Z][a-zA-Z-]*' |
    tr -d ' ' | sort -u)
# fastn-wasm(1)
[ -x "$BIN/fastn-wasm" ] && need fastn-wasm.1 option $("$BIN/fastn-wasm" --help |
    grep -o -- '^ *--*[a-zA-Z][a-zA-Z-]*' | tr -d ' ' | sort -u)
# fastn-config(5): every key the parser takes
keys=$(grep -o 'strcmp(key, "[a-z-]*")\|{"[a-z-]*", offsetof' "$TOP/src/daemon/config.c" |
    sed 's/.*"\([a-z-]*\)".*/\1/' | sort -u)
[ "$(wc -w <<<"$keys")" -ge 10 ] || fail "found too few config keys: $keys"
need fastn-config.5 key $keys
# libfastn(3): every exported function
fns=$(grep -A3 '^FASTN_API' "$TOP/include/fastn/client.h" |
    grep -o 'fastn_[a-z_]*(' | tr -d '(' | sort -u)
[ "$(wc -w <<<"$fns")" -ge 40 ] || fail "found too few functions: $fns"
need libfastn.3 function $fns
# fastn-plugin(7): the ABI's events, imports and capabilities
abi=$TOP/src/plugin/abi.h
need fastn-plugin.7 event $(grep -o 'X(on_[a-z]*' "$abi" | sed 's/X(//' | sort -u)
imps=$(sed -n '/define PLUGIN_ABI_IMPORTS/,/^$/p' "$abi" | grep -o 'X([a-z_]*' |
    sed 's/X(//' | sort -u)
[ "$(wc -w <<<"$imps")" -ge 25 ] || fail "found too few imports: $imps"
for imp in $imps; do
    case "$imp" in
    sql_bind_*) has fastn-plugin.7 'fastn_sql_bind_\*' ;;
    sql_column_*) [ "$imp" = sql_column_count ] ||
        has fastn-plugin.7 'fastn_sql_column_\*' ;;
    *) false ;;
    esac || has fastn-plugin.7 "fastn_$imp" || missing+=("fastn-plugin.7: import $imp")
done
need fastn-plugin.7 capability streams storage notify timers
# man pages the units name
for u in "$TOP"/dist/systemd/*.service.in "$TOP"/dist/systemd/*.socket; do
    for ref in $(grep -o 'man:[a-z.-]*([0-9])' "$u"); do
        n=${ref#man:}
        f="$M/${n%(*}.${n//[^0-9]/}.scd"
        [ -f "$f" ] || missing+=("$(basename "$u"): names $ref, which is not in docs/man")
    done
done

if [ ${#missing[@]} -gt 0 ]; then
    printf '  %s\n' "${missing[@]}" >&2
    fail "${#missing[@]} things the man pages do not mention"
fi
pass "commands, options, config keys, functions, events and imports all documented"
