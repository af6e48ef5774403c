#!/bin/bash
# Plugins in a real fastnd, through the fastn CLI: install, list, info,
# call, disable/enable, remove, refusals (a second install, a manifest
# that lies, bad files), and plugins coming back after a restart with
# their enabled state.
. "$(dirname "$0")/common.bash"

ECHO=$TOP/$BUILD/plugins/echo.wasm
PROBE=$TOP/$BUILD/tests/plugins/probe.wasm
LIAR=$TOP/$BUILD/tests/plugins/liar.wasm
[ -f "$ECHO" ] && [ -f "$PROBE" ] && [ -f "$LIAR" ] ||
    skip "plugins not built (no wasm32-wasi toolchain)"
has_jq || skip "jq is missing"

H=$(new_home)
start_fg "$H"
f() { fastn --home "$H" --no-autostart "$@"; }

out=$(f plugin install "$ECHO")
[[ "$out" == "installed echo 1.0.0 (running), signed by fastn-build (key "* ]] ||
    fail "install: $out"
f plugin install --unsigned "$PROBE" >/dev/null
[ -f "$H/plugins/echo.wasm" ] || fail "no plugins/echo.wasm"
grep -q "^echo enabled$" "$H/plugins/index" || fail "index: $(cat "$H/plugins/index")"
pass "install echo and the probe"

# hash_start: 256 KiB hashed on the daemon's offload thread (started at
# the first), eight in flight, the ninth refused (FASTN_ERR_BUSY, -19);
# the digests right
pid=$(cat "$H/fastnd.lock")
t0=$(ls "/proc/$pid/task" | wc -l)
[ "$(f plugin call test-probe hashprep 262144)" = ok ] || fail "hashprep"
out=$(f plugin call test-probe hashstart 9)
d=$(python3 -c 'import hashlib; print(hashlib.sha256(bytes((j * 7 + 3) % 256 for j in range(262144))).hexdigest())')
want="codes=0,0,0,0,0,0,0,0,-19 digests=$d,$d,$d,$d,$d,$d,$d,$d"
[ "$out" = "$want" ] || fail "hashstart: $out"
[ "$(ls "/proc/$pid/task" | wc -l)" = $((t0 + 1)) ] ||
    fail "no offload thread: $t0 then $(ls "/proc/$pid/task" | wc -l) threads"
pass "hash_start: eight hashes off the loop, the ninth FASTN_ERR_BUSY, digests right"

# call_reply_v: an answer in pieces goes to the client as one result,
# written from where the pieces are (16 pieces, 266 KiB: past what the
# socket takes at once) or joined (4 pieces, 14 KiB); 17 pieces refused
pieces_want() { # N: the bytes of probe's "pieces N"
    python3 -c 'import sys; n = int(sys.argv[1]); sys.stdout.buffer.write(b"".join(bytes([97 + i % 26]) * (0 if i == 2 else (i + 1) * 2048) for i in range(n)))' "$1" | sha256sum
}
for n in 16 4; do
    got=$(f plugin call test-probe pieces $n | sha256sum)
    [ "$got" = "$(pieces_want $n)" ] || fail "pieces $n: $(f plugin call test-probe pieces $n | head -c 100)"
done
[ "$(f plugin call test-probe pieces 17)" = "err=-2" ] ||
    fail "17 pieces: $(f plugin call test-probe pieces 17)"
pass "call_reply_v: 16 pieces (266 KiB) and 4 (14 KiB) arrive whole, 17 refused"

# 64 calls waiting for one plugin at once: the 65th is refused with a
# reason (FASTN_ERR_BUSY); clients that leave take their calls with them
# (before, each counted until its 30 s ran out)
pids=()
for _ in $(seq 64); do
    "$FASTN_BIN_CLI" --home "$H" --no-autostart plugin call test-probe never \
        >/dev/null 2>&1 &
    pids+=($!)
done
busy=""
for _ in $(seq 100); do
    out=$(timeout 2 "$FASTN_BIN_CLI" --home "$H" --no-autostart plugin call test-probe \
        never 2>&1) && fail "a never call answered: $out"
    if [[ "$out" == *"plugin test-probe has too much waiting: 64 calls"* ]]; then
        busy=1
        break
    fi
    sleep 0.1
done
[ -n "$busy" ] || fail "no call refused with 64 waiting: $out"
kill "${pids[@]}" 2>/dev/null
wait "${pids[@]}" 2>/dev/null || true
# the daemon looks for clients gone every second at most
me=$(f id | sed -n 1p)
for _ in $(seq 30); do
    out=$(timeout 5 "$FASTN_BIN_CLI" --home "$H" --no-autostart plugin call \
        test-probe peer 2>&1) && break
    sleep 0.1
done
[ "$out" = "$me" ] || fail "calls refused after their clients left: $out"
pass "the 65th call waiting for a plugin is refused with a reason; calls of clients gone no longer count"

grep -q "^echo  *1.0.0  *running  *verified  */fastn/echo/1.0.0$" <<<"$(f plugin list)" ||
    fail "list: $(f plugin list)"
[ "$(f plugin list --json | jq -r '[.plugins[].name] | join(",")')" = \
    "echo,test-probe" ] || fail "list --json"
j=$(f plugin info echo --json)
[ "$(jq -r .state <<<"$j")" = running ] || fail "info: $j"
[ "$(jq -r '.protocols[0]' <<<"$j")" = /fastn/echo/1.0.0 ] || fail "info: $j"
[ "$(jq -r .limits.streams <<<"$j")" = 256 ] || fail "info limits: $j"
grep -q "^protocols    /fastn/echo/1.0.0" <<<"$(f plugin info echo)" || fail "info text"
[ "$(f status --json | jq .plugins)" = 2 ] || fail "status: plugins"
pass "list, info (text and --json), status counts plugins"

[ "$(f plugin call echo echo 'hello world')" = "hello world" ] || fail "call"
[ "$(echo -n 'from stdin' | f plugin call echo echo -)" = "from stdin" ] ||
    fail "call with stdin"
[ "$(f plugin call echo id)" = "$(f id | sed -n 1p)" ] || fail "call id"
[ "$(f plugin call echo echo x --json | jq -r .result)" = x ] || fail "--json"
# several arguments: NUL-separated (docs/PLUGIN-ABI.md), split by the SDK
out=$(f plugin call echo args 12D3KooWx "hello world" "" -- -n)
[ "$out" = "$(printf '4 args\n0: 12D3KooWx\n1: hello world\n2: \n3: -n')" ] ||
    fail "args: $out"
[ "$(f plugin call echo echo a b | od -An -c | tr -s ' ')" = " a \0 b" ] ||
    fail "several args are not NUL-separated"
[ "$(f plugin call echo args 'one arg')" = "$(printf '1 args\n0: one arg')" ] ||
    fail "one arg"
[ "$(f plugin call echo args)" = "0 args" ] || fail "no args"
if err=$(f plugin call echo nope 2>&1); then fail "unknown method: $err"; fi
grep -q "unknown method" <<<"$err" || fail "unknown method: $err"
if err=$(f plugin call nosuch x 2>&1); then fail "no such plugin"; fi
grep -q "no plugin named nosuch" <<<"$err" || fail "no such plugin: $err"
pass "calls: answers, stdin, --json, errors"

if err=$(f plugin install "$ECHO" 2>&1); then fail "second install"; fi
grep -q "installed already" <<<"$err" || fail "second install: $err"
f plugin install --replace "$ECHO" >/dev/null || fail "--replace"
if err=$(f plugin install --unsigned "$LIAR" 2>&1); then fail "the liar got in"; fi
grep -q 'manifest does not ask for the "notify" capability' <<<"$err" ||
    fail "liar: $err"
[ ! -f "$H/plugins/hostile-liar.wasm" ] || fail "the liar's file was written"
printf 'not a plugin' >"$TMPROOT/junk.wasm"
if err=$(f plugin install --unsigned "$TMPROOT/junk.wasm" 2>&1); then fail "junk"; fi
pass "refused: a second install, a lying manifest ($err), junk"

# a plugin larger than a request travels by path
big=$TMPROOT/big.wasm
cp "$PROBE" "$big"
head -c 1200000 /dev/zero >>"$big" # trailing bytes: a malformed module
if err=$(f plugin install --unsigned "$big" 2>&1); then fail "big junk"; fi
grep -qi "malformed\|does not load" <<<"$err" || fail "big by path: $err"
pass "a large file is read by the daemon from its path: $err"

f plugin disable echo >/dev/null
if err=$(f plugin call echo echo x 2>&1); then fail "disabled but called"; fi
grep -q "disabled" <<<"$err" || fail "disabled: $err"
[ "$(f plugin info echo --json | jq -r .state)" = disabled ] || fail "state"
grep -q "^echo disabled$" "$H/plugins/index" || fail "index not updated"
f plugin enable echo >/dev/null
[ "$(f plugin call echo echo back)" = back ] || fail "enable"
f plugin disable test-probe >/dev/null
pass "disable and enable"

# a restart keeps what is installed and what is disabled
stop_pid "$DAEMON_PID"
start_fg "$H"
[ "$(f plugin info echo --json | jq -r .state)" = running ] || fail "restart"
[ "$(f plugin info test-probe --json | jq -r .state)" = disabled ] ||
    fail "restart: disabled state lost"
[ "$(f plugin call echo echo again)" = again ] || fail "call after restart"
pass "after a restart: echo running, the probe still disabled"

f plugin enable test-probe >/dev/null
f plugin call test-probe txn >/dev/null
[ -d "$H/data/test-probe" ] || fail "no database folder"
f plugin remove test-probe >/dev/null
[ ! -e "$H/data/test-probe" ] || fail "remove left its data"
[ ! -e "$H/plugins/test-probe.wasm" ] || fail "remove left its file"
if f plugin info test-probe >/dev/null 2>&1; then fail "still listed"; fi
f plugin install --unsigned "$PROBE" >/dev/null
f plugin call test-probe txn >/dev/null
f plugin remove --keep-data test-probe >/dev/null
[ -d "$H/data/test-probe" ] || fail "--keep-data did not keep it"
pass "remove (and --keep-data)"

for sub in install list info remove enable disable call search update; do
    grep -q "^usage: fastn plugin" <<<"$(f plugin "$sub" --help)" || fail "$sub --help"
done
set +e
f plugin frob >/dev/null 2>&1
[ $? = 2 ] || fail "bad usage exit code"
set -e
pass "--help and usage errors"
