#!/bin/bash
# Installing is safe from what lies at a path: a FIFO given by path (or
# put in the plugins folder) does not hold the daemon, a link or a file
# past 64 MiB is refused; what a kill -9 in the middle of an install left
# (plugins/NAME.wasm.tmp, index.tmp) is removed at the next start, and
# logged; lines and tokens of plugins/index this daemon does not
# understand are logged once and kept when it writes the index again.
. "$(dirname "$0")/common.bash"

ECHO=$TOP/$BUILD/plugins/echo.wasm
[ -f "$ECHO" ] || skip "plugins not built (no wasm32-wasi toolchain)"
has_jq || skip "jq is missing"

H=$(new_home)
f() { fastn --home "$H" --no-autostart "$@"; }
mkdir -m 700 "$H/plugins"
cp "$ECHO" "$H/plugins/echo.wasm"
# a kill -9 in the middle of installing echo, and of writing the index
head -c 1000 "$ECHO" >"$H/plugins/echo.wasm.tmp"
echo "echo disabled" >"$H/plugins/index.tmp"
cat >"$H/plugins/index" <<'EOF'
# fastn plugins: NAME enabled|disabled [serves=WHO] [withhold=CAP,...] [serves@PROTOCOL=WHO]...
# a note of the user's
echo enabled cpu=50 serves=friends withhold=storage,gpu
pin echo sha256=0123abcd
gone enabled
EOF
# (a home with plugins/ and no key yet: its identity is made at this start)
start_fg "$H" --new-identity
log=$H/stderr.log

# partial installs
[ ! -e "$H/plugins/echo.wasm.tmp" ] && [ ! -e "$H/plugins/index.tmp" ] ||
    fail "partial files left: $(ls "$H/plugins")"
grep -q "removed plugins/echo.wasm.tmp, a file a crash left" "$log" &&
    grep -q "removed plugins/index.tmp" "$log" || fail "the removals were not logged"
[ "$(f plugin info echo --json | jq -r .state)" = running ] || fail "echo not running"
pass "what a crash left in plugins/ is removed at start, and logged"

# unknown index lines and tokens: logged once, kept when written again
[ "$(grep -c "is not understood; kept as it is: pin echo sha256=0123abcd" "$log")" = 1 ] ||
    fail "the unknown line was not logged once"
grep -q "a note of the user's" "$log" && fail "a comment was logged"
f plugin disable echo >/dev/null
idx=$(cat "$H/plugins/index")
grep -qx "pin echo sha256=0123abcd" <<<"$idx" || fail "unknown line dropped: $idx"
grep -qx "# a note of the user's" <<<"$idx" || fail "comment dropped: $idx"
grep -qx "echo disabled cpu=50 serves=friends withhold=gpu" <<<"$idx" ||
    fail "unknown tokens of echo's line dropped: $idx"
grep -q "^gone " <<<"$idx" && fail "the line of a plugin without a file stayed"
f plugin enable echo >/dev/null
pass "unknown index lines and tokens are kept when the index is written"

# a FIFO by path: answered at once, the daemon goes on
mkfifo "$TMPROOT/fifo.wasm"
out=$(timeout 10 "$PROBE" install-path "$H/fastnd.sock" "$TMPROOT/fifo.wasm") &&
    fail "a FIFO was installed: $out"
grep -q "^ERROR FASTN_ERR_INVAL .*not a regular file" <<<"$out" ||
    fail "FIFO: $out"
f id >/dev/null || fail "the daemon does not answer after the FIFO"
out=$(timeout 10 "$FASTN_BIN_CLI" --home "$H" --no-autostart plugin install \
    "$TMPROOT/fifo.wasm" 2>&1) && fail "fastn installed a FIFO"
grep -q "not a regular file" <<<"$out" || fail "fastn with a FIFO: $out"
# a link, and a file past the size cap
ln -s "$ECHO" "$TMPROOT/link.wasm"
out=$("$PROBE" install-path "$H/fastnd.sock" "$TMPROOT/link.wasm") &&
    fail "a link was installed: $out"
grep -q "symbolic link" <<<"$out" || fail "link: $out"
truncate -s 65M "$TMPROOT/big.wasm"
out=$("$PROBE" install-path "$H/fastnd.sock" "$TMPROOT/big.wasm") &&
    fail "a 65 MiB file was installed: $out"
grep -q "larger than" <<<"$out" || fail "big file: $out"
pass "by path only a regular file of at most 64 MiB, opened without blocking"

# a FIFO in the plugins folder does not hold the next start
mkfifo "$H/plugins/fifo.wasm"
stop_pid "$DAEMON_PID"
start_fg "$H"
[ "$(f plugin info fifo --json | jq -r .state)" = failed ] ||
    fail "fifo.wasm: $(f plugin info fifo 2>&1)"
f plugin info fifo --json | jq -r .last_error_text | grep -q "not a regular file" ||
    fail "fifo.wasm: $(f plugin info fifo --json | jq -r .last_error_text)"
[ "$(f plugin call echo echo alive)" = alive ] || fail "echo after the restart"
[ "$(grep -c "is not understood; kept as it is: pin echo" "$H/stderr.log")" = 2 ] ||
    fail "the unknown line was not logged once at the second start"
pass "a FIFO in plugins/ is listed as failed; the daemon starts"
