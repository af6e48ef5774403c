#!/bin/bash
# `make install PREFIX=...` installs fastnd, fastn, libfastn (static and
# shared), its headers and a pkg-config file; a small program built
# against the installed library with pkg-config talks to a daemon.
. "$(dirname "$0")/common.bash"

command -v pkg-config >/dev/null || skip "pkg-config is missing"
P=$TMPROOT/prefix
make -C "$TOP" -s BUILD="$BUILD" SAN="${SAN:-}" install PREFIX="$P" \
    >"$TMPROOT/install.log" 2>&1 || fail "make install: $(tail -5 "$TMPROOT/install.log")"
for f in bin/fastnd bin/fastn lib/libfastn.a lib/libfastn.so.0 lib/libfastn.so \
    include/fastn/client.h include/fastn/err.h lib/pkgconfig/fastn.pc; do
    [ -e "$P/$f" ] || fail "not installed: $f"
done
# what dist/module.mk adds: units, completion, man pages (docs/SERVICE.md)
for f in lib/systemd/system/fastnd.service lib/systemd/user/fastnd.socket \
    lib/sysusers.d/fastn.conf etc/fastn/fastnd.conf \
    share/bash-completion/completions/fastn share/zsh/site-functions/_fastn; do
    [ -e "$P/$f" ] || fail "not installed: $f"
done
if command -v scdoc >/dev/null; then
    for f in man1/fastn.1 man8/fastnd.8 man5/fastn-config.5 man7/fastn-plugin.7 \
        man1/fastn-wasm.1 man3/libfastn.3; do
        [ -s "$P/share/man/$f" ] || fail "not installed: share/man/$f"
    done
fi
pass "installed into $P"

export PKG_CONFIG_PATH=$P/lib/pkgconfig
cat >"$TMPROOT/hello.c" <<'C'
#include <stdio.h>
#include <fastn/client.h>

int main(int argc, char **argv)
{
    struct fastn_connect_options o;
    struct fastn_client *c = NULL;
    struct fastn_identity *id = NULL;
    fastn_connect_options_init(&o);
    o.home = argc > 1 ? argv[1] : NULL;
    int err = fastn_client_connect(&o, &c);
    if (!err)
        err = fastn_client_identify(c, &id);
    if (err) {
        fprintf(stderr, "hello: %s\n", fastn_strerror(err));
        fastn_client_free(c);
        return 1;
    }
    printf("%s\n", id->peer_id);
    fastn_identity_free(id);
    fastn_client_free(c);
    return 0;
}
C
san=()
[ "${SAN:-}" = 1 ] && san=(-fsanitize=address,undefined)
cc -std=c11 -Wall -Wextra -Werror "${san[@]}" "$TMPROOT/hello.c" \
    -o "$TMPROOT/hello" $(pkg-config --cflags --libs fastn) ||
    fail "cannot build against the installed libfastn"
cc -std=c11 "${san[@]}" "$TMPROOT/hello.c" -o "$TMPROOT/hello-static" \
    $(pkg-config --cflags fastn) "$P/lib/libfastn.a" \
    $(pkg-config --static --libs-only-l fastn | sed 's/-lfastn//') ||
    fail "cannot build against the static libfastn"

H=$(new_home)
"$P/bin/fastnd" --home "$H" || fail "installed fastnd did not start"
want=$("$P/bin/fastn" --home "$H" id | sed -n 1p)
[ "$(LD_LIBRARY_PATH=$P/lib "$TMPROOT/hello" "$H")" = "$want" ] ||
    fail "shared-library program disagrees"
[ "$("$TMPROOT/hello-static" "$H")" = "$want" ] ||
    fail "static-library program disagrees"
if LD_LIBRARY_PATH=$P/lib "$TMPROOT/hello" "$TMPROOT/nowhere" 2>/dev/null; then
    fail "program succeeded without a daemon"
fi
pass "programs built with pkg-config against the installed libfastn work"
