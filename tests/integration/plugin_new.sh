#!/bin/bash
# `fastn plugin new` for each template, against an installed tree (make
# install PREFIX=...): the project is written outside the sources, built
# with clang --target=wasm32-wasi, tested with the installed
# fastn-plugin-test library (found through pkg-config), tried with `make
# run` (fastn plugin run), then installed into a real daemon (--unsigned)
# and called through it.
. "$(dirname "$0")/common.bash"

command -v pkg-config >/dev/null || skip "pkg-config is missing"
command -v clang >/dev/null && command -v wasm-ld >/dev/null &&
    [ -f /usr/lib/wasm32-wasi/libc.a ] ||
    skip "no wasm32-wasi toolchain (scripts/install-deps.sh all)"
P=$TMPROOT/prefix
make -C "$TOP" -s BUILD="$BUILD" SAN="${SAN:-}" install PREFIX="$P" \
    >"$TMPROOT/install.log" 2>&1 ||
    fail "make install: $(tail -5 "$TMPROOT/install.log")"
for f in lib/fastn/fastn-plugin-kit lib/libfastn-plugin-test.a \
    lib/pkgconfig/fastn-plugin-test.pc include/fastn/plugin_test.h; do
    [ -e "$P/$f" ] || fail "not installed: $f"
done
export PKG_CONFIG_PATH=$P/lib/pkgconfig
san=
[ "${SAN:-}" = 1 ] && san=-fsanitize=address,undefined
H=$(new_home)
"$P/bin/fastnd" --home "$H" || fail "installed fastnd did not start"
STARTED_PIDS+=("$(daemon_pid "$H")")
f() { timeout 30 "$P/bin/fastn" --home "$H" --no-autostart "$@"; }

W=$TMPROOT/work
mkdir -p "$W"
cd "$W"
for t in echo request-reply store; do
    name=my-$t
    out=$("$P/bin/fastn" plugin new "$name" --template "$t") ||
        fail "plugin new --template $t"
    [[ $out == "made $name/"* ]] || fail "plugin new said: $out"
    for x in "$name.c" "test_$name.c" Makefile README.md; do
        [ -s "$name/$x" ] || fail "$t: no $x"
    done
    if grep -n '@[A-Z]*@' "$name"/*; then
        fail "$t: a placeholder was left"
    fi
    make -s -C "$name" CFLAGS="-O1 -g $san" LDFLAGS="$san" \
        >"$TMPROOT/$t.build" 2>&1 ||
        fail "$t: make: $(tail -5 "$TMPROOT/$t.build")"
    make -s -C "$name" test CFLAGS="-O1 -g $san" LDFLAGS="$san" \
        >"$TMPROOT/$t.test" 2>&1 ||
        fail "$t: make test: $(tail -5 "$TMPROOT/$t.test")"
    grep -q '^ok$' "$TMPROOT/$t.test" || fail "$t: $(cat "$TMPROOT/$t.test")"
    make -s -C "$name" run FASTN="$P/bin/fastn" >"$TMPROOT/$t.run" 2>&1 ||
        fail "$t: make run: $(tail -5 "$TMPROOT/$t.run")"
    f plugin install --unsigned "$name/$name.wasm" >/dev/null ||
        fail "$t: plugin install --unsigned"
    pass "template $t: written, built, tested, run, installed"
done
# refuses to write over a project, and a bad name or template
"$P/bin/fastn" plugin new my-echo 2>/dev/null && fail "wrote over my-echo"
set +e
"$P/bin/fastn" plugin new Bad_Name >/dev/null 2>&1
[ $? = 2 ] || fail "a bad name is not a usage error"
"$P/bin/fastn" plugin new x --template nope >/dev/null 2>&1
[ $? = 2 ] || fail "an unknown template is not a usage error"
set -e

# the installed plugins answer through the daemon
[ "$(f plugin call my-echo echo hello)" = hello ] || fail "my-echo call"
[ "$(f plugin call my-request-reply answer 'make it loud')" = "MAKE IT LOUD" ] ||
    fail "my-request-reply call"
[ "$(f plugin call my-store put 'colour blue')" = stored ] || fail "my-store put"
[ "$(f plugin call my-store get colour)" = blue ] || fail "my-store get"
out=$(f notifications 2>/dev/null || true)
grep -q 'New key' <<<"$out" || fail "my-store's notification: $out"
pass "the generated plugins answer through a daemon"
