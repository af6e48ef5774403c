#!/bin/bash
# `make demo` (scripts/demo.sh) runs to the end and shows a PeerID.
. "$(dirname "$0")/common.bash"

out=$(cd "$TOP" && BUILD=$BUILD sh scripts/demo.sh 2>&1) ||
    fail "demo failed: $out"
grep -q "^12D3KooW" <<<"$out" || fail "no PeerID in: $out"
grep -q "^fastnd .* (pid [0-9]*), up" <<<"$out" || fail "no status in: $out"
grep -q "demo done" <<<"$out" || fail "demo did not finish: $out"
pass "make demo shows the PeerID and status, then stops fastnd"
