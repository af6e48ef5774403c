#!/bin/bash
# fastn call and fastn listen pass bytes they do not change with
# sendfile(2) (a regular file on call's stdin) and splice(2) (stream data
# to a stdout that is not a terminal), falling back to read/write where
# the kernel refuses (src/cli/stream.c). Each way the bytes must arrive
# whole: call < FILE to listen > FILE and listen | PIPE; listen -- cat
# to call > FILE and call | PIPE; stdout opened for appending (splice
# refuses O_APPEND: the fallback, with bytes already in the pipe); a
# /proc file on stdin; and a reader of call's stdout that goes away
# early, which must end the call, not hang it.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"

two_daemons
fb connect "$(listen_addr "$A")" >/dev/null
{ gen_data $((20 * 1048576)); head -c 4099 /dev/urandom; } >"$TMPROOT/data"
want=$(sha256sum <"$TMPROOT/data" | cut -d' ' -f1)
sum() { sha256sum <"$1" | cut -d' ' -f1; }

# up: a file on call's stdin (sendfile) to listen's stdout
fa listen /test/file/1.0.0 -n 1 >"$TMPROOT/up.file" 2>"$TMPROOT/l1" &
L1=$!
STARTED_PIDS+=($L1)
fa listen /test/pipe/1.0.0 -n 1 2>"$TMPROOT/l2" | sha256sum | cut -d' ' -f1 >"$TMPROOT/up.pipe" &
L2=$!
fa listen /test/append/1.0.0 -n 1 >>"$TMPROOT/up.append" 2>"$TMPROOT/l3" &
L3=$!
STARTED_PIDS+=($L3)
wait_status "$A" handlers 3 || fail "three listeners"
timeout 60 "$FASTN_BIN_CLI" --home "$B" call "$ida" /test/file/1.0.0 <"$TMPROOT/data" >/dev/null ||
    fail "call < FILE"
timeout 60 "$FASTN_BIN_CLI" --home "$B" call "$ida" /test/pipe/1.0.0 <"$TMPROOT/data" >/dev/null ||
    fail "call < FILE to listen | PIPE"
timeout 60 "$FASTN_BIN_CLI" --home "$B" call "$ida" /test/append/1.0.0 <"$TMPROOT/data" >/dev/null ||
    fail "call < FILE to listen >> FILE"
for p in $L1 $L2 $L3; do timeout 30 tail --pid="$p" -f /dev/null || fail "listen -n 1 did not exit"; done
[ "$(sum "$TMPROOT/up.file")" = "$want" ] || fail "call < FILE, listen > FILE: $(stat -c %s "$TMPROOT/up.file") bytes, checksums differ"
[ "$(cat "$TMPROOT/up.pipe")" = "$want" ] || fail "listen | PIPE: checksums differ"
[ "$(sum "$TMPROOT/up.append")" = "$want" ] || fail "listen >> FILE (no splice): $(stat -c %s "$TMPROOT/up.append") bytes, checksums differ"

# a /proc file (size 0 in stat) on call's stdin
fa listen /test/proc/1.0.0 -n 1 >"$TMPROOT/proc.got" 2>/dev/null &
L4=$!
STARTED_PIDS+=($L4)
wait_status "$A" handlers 1 || fail "listener for /proc"
timeout 30 "$FASTN_BIN_CLI" --home "$B" call "$ida" /test/proc/1.0.0 </proc/version >/dev/null ||
    fail "call < /proc/version"
timeout 30 tail --pid="$L4" -f /dev/null || fail "listen -n 1 (proc) did not exit"
cat /proc/version >"$TMPROOT/proc.want" # (cmp trusts stat's size 0)
cmp -s "$TMPROOT/proc.want" "$TMPROOT/proc.got" || fail "call < /proc/version: got $(cat "$TMPROOT/proc.got")"

# down: listen -- cat FILE to call's stdout (a file, a pipe, appended)
fa listen /test/src/1.0.0 -- cat "$TMPROOT/data" >/dev/null 2>&1 &
STARTED_PIDS+=($!)
wait_status "$A" handlers 1 || fail "listener for /test/src"
timeout 60 "$FASTN_BIN_CLI" --home "$B" call "$ida" /test/src/1.0.0 </dev/null >"$TMPROOT/down.file" ||
    fail "call > FILE"
[ "$(sum "$TMPROOT/down.file")" = "$want" ] || fail "call > FILE: $(stat -c %s "$TMPROOT/down.file") bytes, checksums differ"
got=$(timeout 60 "$FASTN_BIN_CLI" --home "$B" call "$ida" /test/src/1.0.0 </dev/null | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "call | PIPE: checksums differ"
: >"$TMPROOT/down.append"
timeout 60 "$FASTN_BIN_CLI" --home "$B" call "$ida" /test/src/1.0.0 </dev/null >>"$TMPROOT/down.append" ||
    fail "call >> FILE"
[ "$(sum "$TMPROOT/down.append")" = "$want" ] || fail "call >> FILE (no splice): checksums differ"

# the reader of call's stdout goes away after 1000 bytes: call ends
n=$( (timeout 30 "$FASTN_BIN_CLI" --home "$B" call "$ida" /test/src/1.0.0 </dev/null 2>/dev/null
    echo "exit $?" >"$TMPROOT/early.rc") | head -c 1000 | wc -c)
[ "$n" = 1000 ] || fail "head -c 1000 read $n bytes"
grep -q "exit 124" "$TMPROOT/early.rc" && fail "call hung once its stdout's reader went away"
{ timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" /test/src/1.0.0 </dev/null 2>/dev/null || :; } |
    head -c 1000 >"$TMPROOT/again"
head -c 1000 "$TMPROOT/data" | cmp -s - "$TMPROOT/again" ||
    fail "the daemons do not serve on after a reader went away"
pass "20 MiB each way through call and listen, to files, pipes and appended files, and /proc on stdin: whole; a reader gone ends the call"
