#!/bin/bash
# Runs the official WebAssembly spec suite (WebAssembly 2.0, in
# ../shared/wasm-spec-testsuite/core) against the engine: each .wast is
# converted with wabt's wast2json into a temporary directory and executed
# by spec_runner. Prints a line per file and a closing
# "N passed, M failed" over all assertions. simd_* files are skipped (SIMD
# is not claimed); the files this wast2json cannot parse are converted by
# tests/wasm-spec/wast2json.js (npm wabt) when node and npm are available;
# a file that neither can convert counts as a failed file (with the
# reason): a file not run is not a pass.
# FASTN_SPEC_PLAIN=1 runs the code compiled without superinstructions.
# Usage: BUILD=build tests/wasm-spec/run.sh [-v] [NAME-FILTER]
set -u
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/wasm-spec"
# The suite lives beside the checkout (../shared/wasm-spec-testsuite); a
# checkout elsewhere finds it through FASTN_SPEC_CORE or the workplace's
# shared folder.
core=${FASTN_SPEC_CORE:-}
if [ -z "$core" ]; then
    for c in "$top/../shared/wasm-spec-testsuite/core" \
        /work/shared/wasm-spec-testsuite/core; do
        [ -d "$c" ] && { core=$c; break; }
    done
fi
core=${core:-$top/../shared/wasm-spec-testsuite/core}
runner="$top/$BUILD/tests/wasm-spec/spec_runner"
verbose="" plain="${FASTN_SPEC_PLAIN:+-p}"
[ "${1:-}" = "-v" ] && { verbose="-v"; shift; }
filter=${1:-}

[ -d "$core" ] || { echo "spec suite not found at $core"; exit 77; }
command -v wast2json >/dev/null || { echo "wast2json (wabt) not installed"; exit 77; }
[ -x "$runner" ] || { echo "spec_runner not built: run make"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 skipped=0 files=0 bad_files=0

# node's wabt converts what wast2json 1.0.32 cannot parse.
node_ok=""
node_reason=""
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    node_reason="node/npm not installed"
elif [ "$(node -e 'console.log(process.versions.node.split(".")[0])')" -lt 18 ]; then
    node_reason="node is older than 18"
elif [ ! -d "$here/node_modules/wabt" ] &&
    ! (cd "$here" && npm ci --silent --no-audit --no-fund >/dev/null 2>&1); then
    node_reason="npm could not install wabt (tests/wasm-spec/package.json)"
else
    node_ok=1
fi

run_json() { # name json [note]
    local out rc
    out=$("$runner" $verbose $plain "$2")
    rc=$?
    if [ -n "${3:-}" ]; then echo "$out" | sed "\$s/\$/ [$3]/"; else echo "$out"; fi
    local line
    line=$(echo "$out" | tail -n 1)
    local s
    s=$(echo "$line" | sed -n 's/.*, \([0-9]*\) skipped.*/\1/p')
    skipped=$((skipped + ${s:-0}))
    local p f
    p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
    if [ -z "$p" ]; then
        echo "$1: runner crashed (exit $rc)"
        failed=$((failed + 1))
        bad_files=$((bad_files + 1))
        return
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$f" -eq 0 ] && [ $rc -eq 0 ] || bad_files=$((bad_files + 1))
}

for wast in "$core"/*.wast; do
    name=$(basename "$wast" .wast)
    case "$name" in *"$filter"*) ;; *) continue ;; esac
    case "$name" in simd_*)
        echo "$name: skipped (SIMD is not claimed by this engine)"
        continue ;;
    esac
    files=$((files + 1))
    d="$tmp/$name"
    mkdir -p "$d"
    # (through sh, so that wast2json aborting on a script is not reported
    # by this shell as a crash)
    if sh -c 'wast2json "$1" -o "$2"; exit $?' _ "$wast" "$d/$name.json" \
        >"$d/wast2json.log" 2>&1; then
        run_json "$name" "$d/$name.json"
    elif [ -n "$node_ok" ]; then
        if node "$here/wast2json.js" "$wast" "$d/$name.json" >"$d/node.log" 2>&1; then
            run_json "$name" "$d/$name.json" "converted by npm wabt 1.0.39"
        else
            echo "$name: FAILED to convert with npm wabt: $(tail -n 1 "$d/node.log")"
            failed=$((failed + 1))
            bad_files=$((bad_files + 1))
        fi
    else
        echo "$name: FAILED: not run: wast2json 1.0.32 cannot parse it and" \
            "$node_reason (scripts/install-deps.sh all)"
        failed=$((failed + 1))
        bad_files=$((bad_files + 1))
    fi
    rm -rf "$d"
done

# The fastn-wasm command itself (wat2wasm builds its test modules).
cli_check() { # what expected-status expected-output cmd...
    local what=$1 want_rc=$2 want_out=$3 out rc
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ]; then
        cli_passed=$((cli_passed + 1))
    else
        cli_failed=$((cli_failed + 1))
        echo "  fastn-wasm $what: exit $rc, output '$out' (want $want_rc, '$want_out')"
    fi
}
cli_grep() { # what expected-status expected-part-of-output cmd...
    local what=$1 want_rc=$2 want_out=$3 out rc
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" = "$want_rc" ] && [[ "$out" == *"$want_out"* ]]; then
        cli_passed=$((cli_passed + 1))
    else
        cli_failed=$((cli_failed + 1))
        echo "  fastn-wasm $what: exit $rc, output '$out' (want $want_rc, '...$want_out...')"
    fi
}
cli="$top/$BUILD/bin/fastn-wasm"
cli_passed=0 cli_failed=0
if [ -z "$filter" ] && [ -x "$cli" ] && command -v wat2wasm >/dev/null; then
    wat2wasm "$here/cli/calc.wat" -o "$tmp/calc.wasm"
    wat2wasm "$here/cli/hello.wat" -o "$tmp/hello.wasm"
    wat2wasm "$here/cli/bomb.wat" -o "$tmp/bomb.wasm"
    cli_check "--invoke" 0 "-3" "$cli" "$tmp/calc.wasm" --invoke add -5 2
    cli_check "--invoke f64" 0 "1.25" "$cli" "$tmp/calc.wasm" --invoke half 2.5
    # a trap, and where: func[1]'s i32.div_s (no name section here)
    cli_check "trap" 134 "fastn-wasm: trap: integer divide by zero (FASTN_ERR_WASM_TRAP_DIV_ZERO)
  0: func[1] at 0x68" \
        "$cli" "$tmp/calc.wasm" --invoke div 1 0
    cli_check "fuel" 134 "fastn-wasm: trap: out of fuel (FASTN_ERR_WASM_TRAP_OUT_OF_FUEL)
  0: func[2] at 0x6c" \
        "$cli" --fuel 100000 "$tmp/calc.wasm" --invoke spin
    cli_check "wasi" 3 "hello" "$cli" "$tmp/hello.wasm"
    # issue 8: 160 MB of tables under a one-page memory cap
    cli_grep "memory budget" 2 "tables 160000000, globals" \
        "$cli" --max-memory-pages 1 "$tmp/bomb.wasm" --invoke grow 1
    cli_grep "memory budget bytes" 2 "above its memory budget of 1048576 bytes" \
        "$cli" --max-memory-bytes 1048576 "$tmp/calc.wasm" --invoke add 1 2
    # issue 8: a loop of 16 MiB memory.fill pays for its bytes
    cli_check "bulk fuel" 134 "fastn-wasm: trap: out of fuel (FASTN_ERR_WASM_TRAP_OUT_OF_FUEL)
  0: func[3] at 0x7f" \
        timeout 20 "$cli" --fuel 100000 "$tmp/calc.wasm" --invoke fill_loop
    cli_check "bad args" 2 "fastn-wasm: add takes 2 arguments, 1 given" \
        "$cli" "$tmp/calc.wasm" --invoke add 1
    echo "fastn-wasm command: $cli_passed passed, $cli_failed failed"
fi
passed=$((passed + cli_passed))
failed=$((failed + cli_failed))

echo "spec files: $files run, $bad_files with failures; skipped assertions are" \
    "text-format modules (the engine reads binaries only)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$files" -gt 0 ] || { echo "no spec file ran${filter:+ (none matches '$filter')}"; exit 1; }
[ "$failed" -eq 0 ]
