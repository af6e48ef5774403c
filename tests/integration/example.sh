#!/bin/bash
# docs/examples/echo_client.c, the complete libfastn program of the docs,
# built and run against real daemons: once against the build tree (the
# shared library found through an rpath), once against `make install
# PREFIX=...` through pkg-config (shared, with the rpath libfastn.3
# documents, and static). Each connects, identifies, pings the other
# daemon and gets its line back over a stream; a peer that is not there
# is a clear error.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"

command -v pkg-config >/dev/null || skip "pkg-config is missing"
EX=$TOP/docs/examples/echo_client.c
san=()
[ "${SAN:-}" = 1 ] && san=(-fsanitize=address,undefined)
CFLAGS=(-std=c11 -Wall -Wextra -Werror "${san[@]}")

A=$(new_home)
B=$(new_home)
start_net "$A"
start_net "$B"
PROTO=/example/echo/1.0.0
fastn --home "$B" listen "$PROTO" -- cat >"$B/listen.out" 2>"$B/listen.err" &
STARTED_PIDS+=("$!")
wait_for grep -q . "$B/listen.err" || sleep 0.3
TARGET=$(listen_addr "$B")
BID=$(peer_id "$B")
AID=$(peer_id "$A")

check_run() { # PROGRAM LABEL
    local out
    out=$("$1" --home "$A" "$TARGET" "$PROTO" "hello from $2" 2>"$TMPROOT/$2.err") ||
        fail "$2: exit $?: $(cat "$TMPROOT/$2.err")"
    grep -qx "me: $AID (fastn [0-9.]*)" <<<"$out" || fail "$2: no identity: $out"
    [ "$(grep -c '^ping [123]: [0-9.]* ms$' <<<"$out")" = 3 ] ||
        fail "$2: pings: $out"
    grep -q "^stream to $BID ($PROTO) over /ip4/127.0.0.1/tcp/" <<<"$out" ||
        fail "$2: stream: $out"
    [ "$(tail -n 1 <<<"$out")" = "hello from $2" ] || fail "$2: echo: $out"
    pass "$2: identified, pinged 3 times, echoed over $PROTO"
}

# 1. Against the build tree.
cc "${CFLAGS[@]}" -I"$TOP/include" "$EX" -o "$TMPROOT/ex-tree" \
    -L"$TOP/$BUILD" -lfastn -Wl,-rpath,"$TOP/$BUILD" ||
    fail "cannot build the example against the build tree"
check_run "$TMPROOT/ex-tree" build-tree

# 2. Against an installation, through pkg-config.
P=$TMPROOT/prefix
make -C "$TOP" -s BUILD="$BUILD" SAN="${SAN:-}" install PREFIX="$P" \
    >"$TMPROOT/install.log" 2>&1 || fail "make install: $(tail -5 "$TMPROOT/install.log")"
export PKG_CONFIG_PATH=$P/lib/pkgconfig
libdir=$(pkg-config --variable=libdir fastn)
[ "$libdir" = "$P/lib" ] || fail "pkg-config libdir is $libdir"
cc "${CFLAGS[@]}" "$EX" -o "$TMPROOT/ex-shared" $(pkg-config --cflags --libs fastn) \
    -Wl,-rpath,"$libdir" || fail "cannot build with pkg-config"
readelf -d "$TMPROOT/ex-shared" | grep -q "NEEDED.*libfastn.so.0" ||
    fail "not linked against libfastn.so.0"
check_run "$TMPROOT/ex-shared" installed-shared
cc "${CFLAGS[@]}" "$EX" -o "$TMPROOT/ex-static" $(pkg-config --cflags fastn) \
    "$libdir/libfastn.a" $(pkg-config --static --libs libprotobuf-c) ||
    fail "cannot build statically"
readelf -d "$TMPROOT/ex-static" | grep -q "NEEDED.*libfastn" &&
    fail "the static build still needs libfastn.so"
check_run "$TMPROOT/ex-static" installed-static

# 3. A peer that is not there (a daemon that has stopped): exit 1, the
# reason on stderr.
C=$(new_home)
start_net "$C"
gone=$(listen_addr "$C")
stop_pid "$DAEMON_PID"
if "$TMPROOT/ex-shared" --home "$A" "$gone" "$PROTO" >/dev/null 2>"$TMPROOT/gone.err"; then
    fail "succeeded with no peer at $gone"
fi
grep -q "^echo_client: connect: " "$TMPROOT/gone.err" ||
    fail "unclear error: $(cat "$TMPROOT/gone.err")"
pass "no peer there: $(cat "$TMPROOT/gone.err")"
