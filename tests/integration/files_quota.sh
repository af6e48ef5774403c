#!/bin/bash
# The files plugin's storage quota reached (docs/FILES.md, "Full store"):
# B's quota lowered to 8 MiB with plugin-storage-mib; a 20 MiB get and a
# 20 MiB add on B end with an error that names the quota and how to raise
# it; the daemon and the plugin go on; nothing half-kept is listed; once
# the quota is raised (fastn config set, restart) the same get completes
# byte-identical, from the blocks kept so far on.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
FILES=$TOP/$BUILD/plugins/files.wasm
[ -f "$FILES" ] || skip "plugins not built (no wasm32-wasi toolchain)"
has_jq || skip "no jq (scripts/install-deps.sh test)"

files_home() { # the 100 ms slice: as integration/files
    local h
    h=$(new_home)
    printf 'plugin-slice-ms = 100\n' >>"$h/config"
    echo "$h"
}
A=$(files_home)
B=$(files_home)
printf 'plugin-storage-mib = files 8\n' >>"$B/config"
start_at "$A" 0
A_PID=$DAEMON_PID
start_at "$B" 0
B_PID=$DAEMON_PID
ida=$(peer_id "$A")
PB=$(port_of "$B")
fa plugin install "$FILES" >/dev/null
fb plugin install "$FILES" >/dev/null
fa connect "$(listen_addr "$B")" >/dev/null
fb connect "$(listen_addr "$A")" >/dev/null

D=$TMPROOT/data
mkdir -p "$D"
head -c $((20 << 20)) /dev/urandom >"$D/big"
head -c 300000 /dev/urandom >"$D/small"
out=$(fa files add "$D/big") || fail "add on A: $out"
big=$(awk '{print $2}' <<<"$out")

quota_error() { # OUTPUT WHAT
    grep -q "store is full: its storage quota is 8 MiB" <<<"$1" &&
        grep -q "fastn config set plugin-storage-mib files" <<<"$1" ||
        fail "$2: not the quota's error: $1"
}
# bounded: a store that refused the blocks' commit silently had the get
# fetch them again and again
out=$(timeout 60 "$FASTN_BIN_CLI" --home "$B" --no-autostart files get "$big" \
    --from "$ida" -o "$TMPROOT/got" 2>&1) &&
    fail "a 20 MiB get into an 8 MiB store worked: $out"
quota_error "$out" "get"
out=$(fb files add "$D/big" 2>&1) && fail "a 20 MiB add into an 8 MiB store worked: $out"
quota_error "$out" "add"
fb id >/dev/null || fail "B's daemon is gone"
out=$(fb files list) || fail "B's plugin does not answer: $out"
grep -q "$big" <<<"$out" && fail "a root half fetched is listed: $out"
pass "quota reached by a get and by an add: the error names it and how to raise it; the daemon goes on"

# raised: the same get completes, byte-identical
out=$(fb config set plugin-storage-mib files 64 2>&1) || fail "config set: $out"
grep -q "applies plugin-storage-mib at its next start" <<<"$out" || fail "config set: $out"
stop_pid "$B_PID"
wait_gone "$B_PID" || fail "B still runs"
start_at "$B" "$PB"
B_PID=$DAEMON_PID
wait_until 20 fb id || fail "B did not start again"
fb connect "$(listen_addr "$A")" >/dev/null
fa connect "$(listen_addr "$B")" >/dev/null
out=$(fb files get "$big" --from "$ida" -o "$TMPROOT/got" --json) || fail "get after raising: $out"
cmp "$D/big" "$TMPROOT/got" || fail "the copy differs"
fetched=$(tail -1 <<<"$out" | jq .fetched_blocks)
[ "$fetched" -lt 21 ] || fail "all 21 blocks fetched again, none kept: $out"
out=$(fb files add "$D/small") || fail "a small add after raising: $out"
pass "quota raised: the get completes byte-identical (fetched $fetched of 21 blocks)"
