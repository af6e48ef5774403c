#!/bin/bash
# What the user decides, per protocol (fastn plugin restrict NAME
# --protocol P --serves WHO) on two daemons: test-twoproto serves two
# protocols to anyone; narrowing /fastn-test/two/a to nobody refuses the
# other daemon's `fastn call` on it while /fastn-test/two/b and local
# calls still work; `plugin info` (and --json) shows it; it stays across
# a restart; an unknown protocol is refused naming the plugin's; the
# manifest's value undoes it.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
TWO=$TOP/$BUILD/tests/plugins/twoproto.wasm
[ -f "$TWO" ] || skip "test plugins not built (no wasm32-wasi toolchain)"
has_jq || skip "jq is missing"

two_daemons
call_a() { # PROTOCOL-LETTER TEXT: B calls A's test-twoproto
    echo "$2" | timeout 10 "$FASTN_BIN_CLI" --home "$B" call "$ida" \
        "/fastn-test/two/$1" 2>&1
}
fa plugin install --unsigned "$TWO" >/dev/null
fb connect "$(listen_addr "$A")" >/dev/null
[ "$(call_a a x)" = a:x ] && [ "$(call_a b y)" = b:y ] ||
    fail "before: $(call_a a x) / $(call_a b y)"

out=$(fa plugin restrict test-twoproto --protocol /fastn-test/two/a \
    --serves nobody)
[ "$out" = "test-twoproto: /fastn-test/two/a serves nobody (plugin: anyone, manifest: anyone)" ] ||
    fail "restrict said: $out"
if out=$(call_a a refused); then fail "a call to the narrowed protocol worked: $out"; fi
[ -n "$out" ] || fail "no error for the refused call"
[ "$(call_a b still)" = b:still ] || fail "the other protocol: $(call_a b still)"
grep -q "for /fastn-test/two/a refused: served to nobody" "$A/stderr.log" ||
    fail "the refusal is not logged"
! grep -q "for /fastn-test/two/b refused" "$A/stderr.log" || fail "two/b refused"
[ "$(fa plugin call test-twoproto x local)" = local ] || fail "local call"
grep -q "^serves       /fastn-test/two/a: nobody$" <<<"$(fa plugin info test-twoproto)" ||
    fail "info: $(fa plugin info test-twoproto)"
j=$(fa plugin info test-twoproto --json)
[ "$(jq -c .protocol_serves <<<"$j")" = '{"/fastn-test/two/a":"nobody"}' ] &&
    [ "$(jq -r .serves <<<"$j")" = anyone ] || fail "json: $j"
pass "/fastn-test/two/a serves nobody: refused remotely ($out); two/b and local calls work"

if out=$(fa plugin restrict test-twoproto --protocol /fastn-test/two/c \
    --serves nobody 2>&1); then fail "an unknown protocol was taken"; fi
grep -q "has no protocol /fastn-test/two/c (it has: /fastn-test/two/a, /fastn-test/two/b)" \
    <<<"$out" || fail "unknown: $out"
[ "$(wc -l <<<"$out")" = 1 ] || fail "not one line: $out"
if out=$(fa plugin restrict test-twoproto --protocol /fastn-test/two/b 2>&1); then
    fail "--protocol without --serves taken"
fi
grep -q -- "--protocol takes --serves WHO" <<<"$out" || fail "no serves: $out"
pass "an unknown protocol and --protocol without --serves: refused in one line"

# restart: still narrowed
stop_pid "$A_PID"
start_at "$A" "$PA"
j=$(fa plugin info test-twoproto --json)
[ "$(jq -c .protocol_serves <<<"$j")" = '{"/fastn-test/two/a":"nobody"}' ] ||
    fail "after restart: $j"
fb connect "$(listen_addr "$A")" >/dev/null
if out=$(call_a a again); then fail "the narrowing was lost in the restart: $out"; fi
[ "$(call_a b again)" = b:again ] || fail "two/b after restart: $(call_a b again)"
pass "after a restart two/a still serves nobody, two/b anyone"

fa plugin restrict test-twoproto --protocol /fastn-test/two/a \
    --serves anyone >/dev/null
[ "$(call_a a back)" = a:back ] || fail "after anyone again: $(call_a a back)"
[ "$(fa plugin info test-twoproto --json | jq -c .protocol_serves)" = '{}' ] ||
    fail "json after undo"
pass "the manifest's value undoes the narrowing"
