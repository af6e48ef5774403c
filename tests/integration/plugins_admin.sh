#!/bin/bash
# Who may change plugins: a client admitted as a plain user (allow-uids)
# may list and read plugins, but installing, removing, enabling,
# disabling and restricting need an admin (FASTN_ERR_ADMIN_ONLY), and so
# do calling a plugin and the notifications: those are the owner's data
# (docs/CONTROL.md, "Privileges").
. "$(dirname "$0")/common.bash"

[ "$(id -u)" = 0 ] || skip "needs root to run a client as another uid"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
getent passwd nobody >/dev/null && getent group nogroup >/dev/null ||
    skip "no user nobody / group nogroup"
ECHO=$TOP/$BUILD/plugins/echo.wasm
[ -f "$ECHO" ] || skip "plugins not built (no wasm32-wasi toolchain)"
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
"${AS_NOBODY[@]}" "$FASTN_BIN_CLI" --version >/dev/null 2>&1 ||
    skip "user nobody cannot run $FASTN_BIN_CLI (build folder not readable)"
"${AS_NOBODY[@]}" cat "$ECHO" >/dev/null 2>&1 ||
    skip "user nobody cannot read $ECHO"

H=$(new_home)
chmod 711 "$H"
printf 'socket-group = nogroup\nallow-uids = nobody\n' >"$H/config"
start_fg "$H"
f() { fastn --home "$H" --no-autostart "$@"; }
nb() { "${AS_NOBODY[@]}" "$FASTN_BIN_CLI" --home "$H" --no-autostart "$@"; }

if err=$(nb plugin install "$ECHO" 2>&1); then fail "non-admin installed"; fi
grep -q "admin" <<<"$err" || fail "unclear refusal: $err"
[ ! -e "$H/plugins/echo.wasm" ] || fail "the file was written"
pass "a non-admin client cannot install: $err"

f plugin install "$ECHO" >/dev/null
for sub in disable enable remove; do
    if err=$(nb plugin "$sub" echo 2>&1); then fail "non-admin $sub"; fi
    grep -q "admin" <<<"$err" || fail "$sub: $err"
done
if err=$(nb plugin restrict echo --serves nobody 2>&1); then
    fail "non-admin restrict"
fi
grep -q "admin" <<<"$err" || fail "restrict: $err"
grep -q "^serves       anyone$" <<<"$(f plugin info echo)" ||
    fail "a non-admin narrowed echo"
grep -q "^echo " <<<"$(nb plugin list)" || fail "non-admin list"
nb plugin info echo >/dev/null || fail "non-admin info"
pass "a non-admin client may list and read plugins, not change them"

if err=$(nb plugin call echo echo hi 2>&1); then fail "non-admin call"; fi
grep -q "needs an admin client.*calling a plugin (the daemon's owner's data)" \
    <<<"$err" || fail "unclear refusal: $err"
[ "$(f plugin call echo echo hi)" = hi ] || fail "the owner's call"
for sub in "" count "read --all"; do
    # shellcheck disable=SC2086
    if err=$(nb notifications $sub 2>&1); then fail "non-admin notifications $sub"; fi
    grep -q "needs an admin client.*notifications (the daemon's owner's data)" \
        <<<"$err" || fail "notifications $sub: $err"
done
f notifications count >/dev/null || fail "the owner's notifications"
pass "calling plugins and notifications are the owner's: $err"
