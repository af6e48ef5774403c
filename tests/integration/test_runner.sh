#!/bin/bash
# The runners cannot pass what they did not run (the hardening issue's
# "tests that can fail"), each checked on a tree of its own:
#  - tests/run.sh fails when a test was skipped and names it, unless
#    FASTN_TEST_ALLOW_SKIP=1; fails when it ran no test (a FILTER that
#    matches nothing); fails when a unit test's source has no built
#    program; fails on a failed test; passes only when all passed;
#  - tests/wasm-spec/run.sh counts a .wast file it could not convert as
#    failed, and fails when no spec file ran.
. "$(dirname "$0")/common.bash"

RUNNER=$TOP/tests/run.sh
T=$TMPROOT/tree
mkdir -p "$T/tests/integration"
printf '#!/bin/bash\necho fine\n' >"$T/tests/integration/a_pass.sh"
printf '#!/bin/bash\necho "needs a thing this machine lacks"\nexit 77\n' \
    >"$T/tests/integration/b_skip.sh"

# run_tree [ENV=VALUE...] -- [FILTER]: tests/run.sh in the tree; sets rc, out
run_tree() {
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    rc=0
    out=$(cd "$T" && env -u FASTN_TEST_ALLOW_SKIP "${envs[@]}" BUILD=build \
        sh "$RUNNER" "$@" 2>&1) || rc=$?
}

run_tree -- a_pass
[ "$rc" = 0 ] || fail "a passing test: exit $rc: $out"
grep -q "^tests: 1 passed, 0 failed, 0 skipped" <<<"$out" || fail "$out"
pass "one test that passes: the run passes"

run_tree --
[ "$rc" = 1 ] || fail "a skipped test: exit $rc: $out"
grep -q "^SKIP integration/b_skip: needs a thing this machine lacks" <<<"$out" ||
    fail "the skip is not named: $out"
grep -A1 "^skipped (not passed):" <<<"$out" |
    grep -q "integration/b_skip: needs a thing" || fail "no closing list: $out"
grep -q "a skipped test is not a pass" <<<"$out" || fail "$out"
pass "a skipped test fails the run and is named at its end"

run_tree FASTN_TEST_ALLOW_SKIP=1 --
[ "$rc" = 0 ] || fail "skips allowed: exit $rc: $out"
grep -q "skips allowed by FASTN_TEST_ALLOW_SKIP=1" <<<"$out" || fail "$out"
pass "FASTN_TEST_ALLOW_SKIP=1 accepts the skip, and says so"

run_tree -- no_such_test
[ "$rc" = 1 ] || fail "no test ran: exit $rc: $out"
grep -q "no test ran (none matches 'no_such_test'): nothing was tested" <<<"$out" ||
    fail "$out"
pass "a filter that matches nothing fails the run"

mkdir -p "$T/tests/unit"
echo 'int main(void) { return 0; }' >"$T/tests/unit/test_unbuilt.c"
run_tree -- unit/
[ "$rc" = 1 ] || fail "an unbuilt unit test: exit $rc: $out"
grep -q "^FAIL unit/test_unbuilt" <<<"$out" || fail "$out"
grep -q "is not built: run make" <<<"$out" || fail "$out"
rm -r "$T/tests/unit"
pass "a unit test with no built program fails"

printf '#!/bin/bash\necho broken\nexit 3\n' >"$T/tests/integration/c_fail.sh"
run_tree FASTN_TEST_ALLOW_SKIP=1 --
[ "$rc" = 1 ] || fail "a failed test: exit $rc: $out"
grep -q "^failed: integration/c_fail" <<<"$out" || fail "$out"
pass "a failed test fails the run"

# --- the spec runner ---------------------------------------------------------
command -v wast2json >/dev/null || skip "wast2json (wabt) is missing"
[ -x "$TOP/$BUILD/tests/wasm-spec/spec_runner" ] || fail "spec_runner is not built: run make"
CORE=$TMPROOT/core
mkdir -p "$CORE"
printf '(module (func (export "one") (result i32) (i32.const 1)))\n(assert_return (invoke "one") (i32.const 1))\n' \
    >"$CORE/good.wast"
printf '(module (func (export "f") (result i32) (i32.const 1)))\n(this is not a wast script\n' \
    >"$CORE/unconvertible.wast"
spec() { # FILTER: sets rc, out
    rc=0
    out=$(FASTN_SPEC_CORE=$CORE bash "$TOP/tests/wasm-spec/run.sh" "$1" 2>&1) || rc=$?
}
spec good
[ "$rc" = 0 ] || fail "a good spec file: exit $rc: $out"
grep -q "^1 passed, 0 failed" <<<"$out" || fail "$out"
spec unconvertible
[ "$rc" = 1 ] || fail "an unconvertible spec file passed: exit $rc: $out"
grep -q "^unconvertible: FAILED" <<<"$out" || fail "not said: $out"
grep -q "spec files: 1 run, 1 with failures" <<<"$out" || fail "$out"
spec nothing-matches
[ "$rc" = 1 ] || fail "no spec file ran: exit $rc: $out"
grep -q "no spec file ran (none matches 'nothing-matches')" <<<"$out" || fail "$out"
pass "the spec runner: a file it cannot convert is a failed file; no file run fails"
