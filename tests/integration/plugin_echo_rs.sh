#!/bin/bash
# The echo plugin written in Rust (plugins/echo-rs, on the SDK crate
# sdk/rust/fastn-plugin, built with Debian's rustc for
# wasm32-unknown-unknown) checked as the C echo is: installed unsigned
# into a real fastnd, it answers `fastn call` over a real libp2p stream
# from another daemon (a line; 8 MiB checksummed; 32 MiB to a reader
# slower than the writer, which its backpressure must survive without a
# reset) and the local calls echo, args (several arguments, split by the
# SDK's args_split) and id.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
RS=$TOP/$BUILD/rust/echo-rs.wasm
[ -f "$RS" ] ||
    skip "echo-rs not built (no rustc for wasm32: scripts/install-deps.sh all)"
has_jq || skip "jq is missing"

two_daemons
out=$(fa plugin install --unsigned "$RS") || fail "install: $out"
grep -q "^installed echo-rs 1.0.0 (running)" <<<"$out" || fail "install: $out"
fb connect "$(listen_addr "$A")" >/dev/null
call() { timeout 60 "$FASTN_BIN_CLI" --home "$B" call "$ida" /fastn/echo-rs/1.0.0; }

[ "$(echo hello | call)" = hello ] || fail "echo-rs over a stream"
SIZE=$((8 * 1048576))
ours=$(gen_data "$SIZE" | sha256sum | cut -d' ' -f1)
theirs=$(gen_data "$SIZE" | call | sha256sum | cut -d' ' -f1)
[ "$ours" = "$theirs" ] || fail "8 MiB through echo-rs: checksums differ"
[ "$(fa plugin info echo-rs --json | jq .open_streams)" = 0 ] ||
    fail "echo-rs kept a stream open"
pass "echo-rs over a real stream: a line, and 8 MiB with checksums"

SIZE=$((32 * 1048576))
ours=$(gen_data "$SIZE" | sha256sum | cut -d' ' -f1)
theirs=$(gen_data "$SIZE" | call |
    "$TOP/$BUILD/tests/integration/slow_cat" 65536 4 1500 |
    sha256sum | cut -d' ' -f1)
[ "$ours" = "$theirs" ] || fail "32 MiB to a slow reader: checksums differ"
[ "$(fa plugin info echo-rs --json | jq .open_streams)" = 0 ] ||
    fail "echo-rs kept the slow reader's stream open"
[ "$(fa plugin info echo-rs --json | jq -r .last_error)" = 0 ] ||
    fail "echo-rs failed: $(fa plugin info echo-rs --json | jq -r .last_error_text)"
pass "32 MiB through echo-rs to a slow reader (its output waits, its input is held)"

[ "$(fa plugin call echo-rs echo 'hello world')" = "hello world" ] ||
    fail "call echo"
[ "$(echo -n 'from stdin' | fa plugin call echo-rs echo -)" = "from stdin" ] ||
    fail "call with stdin"
[ "$(fa plugin call echo-rs id)" = "$ida" ] || fail "call id"
out=$(fa plugin call echo-rs args 12D3KooWx "hello world" "" -- -n)
[ "$out" = "$(printf '4 args\n0: 12D3KooWx\n1: hello world\n2: \n3: -n')" ] ||
    fail "args: $out"
if err=$(fa plugin call echo-rs nope 2>&1); then fail "unknown method: $err"; fi
grep -q "unknown method; echo-rs has" <<<"$err" || fail "unknown method: $err"
pass "echo-rs calls: echo, stdin, id, several arguments, an unknown method"
