#!/bin/bash
# `make install` puts the bundled plugins' signatures and index.json beside
# them in PREFIX/share/fastn/plugins and the build's public key in
# PREFIX/share/fastn/trusted-publishers (src/registry/sign.mk): each
# installed plugin verifies with minisign against that key, the index lists
# each one with its size and sha256, and the secret key is not installed.
# The installed fastnd then trusts that key and has that folder as its
# default registry: the bundled plugins install by name, no server needed.
. "$(dirname "$0")/common.bash"

command -v minisign >/dev/null || skip "minisign is missing"
[ -f "$TOP/$BUILD/plugins/index.json" ] ||
    skip "the plugins are not built (no wasm32-wasi toolchain)"
P=$TMPROOT/prefix
make -C "$TOP" -s BUILD="$BUILD" SAN="${SAN:-}" install PREFIX="$P" \
    >"$TMPROOT/install.log" 2>&1 || fail "make install: $(tail -5 "$TMPROOT/install.log")"
S=$P/share/fastn
KEY=$S/trusted-publishers/fastn-build.pub
[ -f "$KEY" ] || fail "no public key in $S/trusted-publishers"
[ "$(stat -c %a "$KEY")" = 644 ] || fail "the key is not 0644"
[ -f "$S/plugins/index.json" ] || fail "no index.json in $S/plugins"
if find "$P" -name '*.key' | grep -q .; then
    fail "a secret key was installed: $(find "$P" -name '*.key')"
fi
n=0
for w in "$S"/plugins/*.wasm; do
    f=$(basename "$w")
    minisign -Vq -p "$KEY" -m "$w" || fail "$f does not verify with $KEY"
    size=$(stat -c %s "$w")
    sha=$(sha256sum "$w" | cut -c1-64)
    jq -e --arg f "$f" --argjson s "$size" --arg h "$sha" \
        '.plugins[] | select(.file == $f and .size == $s and .sha256 == $h)' \
        "$S/plugins/index.json" >/dev/null ||
        fail "index.json does not list $f with its size and sha256"
    n=$((n + 1))
done
[ $n -ge 2 ] || fail "only $n plugins installed"
[ "$(jq '.plugins | length' "$S/plugins/index.json")" = $n ] ||
    fail "index.json lists another number of plugins than $n"
pass "$n plugins installed, signed by the build's key and listed in index.json"

# a plugin altered after the build does not verify
cp "$S/plugins/echo.wasm" "$TMPROOT/echo.wasm"
cp "$S/plugins/echo.wasm.minisig" "$TMPROOT/echo.wasm.minisig"
printf x >>"$TMPROOT/echo.wasm"
if minisign -Vq -p "$KEY" -m "$TMPROOT/echo.wasm" 2>/dev/null; then
    fail "an altered plugin verified"
fi
pass "an altered plugin does not verify"

# The installed daemon trusts its installation's key and has its plugin
# folder as the default registry: the bundled plugins are found and
# installed by name with no server anywhere.
H=$(new_home)
"$P/bin/fastnd" --home "$H" --foreground >"$H/stdout.log" 2>"$H/stderr.log" &
STARTED_PIDS+=($!)
wait_for test -S "$H/fastnd.sock" || fail "the installed fastnd did not start"
fp() { "$P/bin/fastn" --home "$H" --no-autostart "$@"; }
j=$(fp registry list --json)
[ "$(jq -r '.registries[0] | .name + " " + .url' <<<"$j")" = \
    "bundled file://$S/plugins" ] || fail "default registry: $j"
[ "$(fp trust list --json | jq -r '.keys[0] | .name + " " + (.system|tostring)')" = \
    "fastn-build true" ] || fail "trusted keys: $(fp trust list --json)"
[ "$(fp plugin search --json | jq -r '[.plugins[].name] | sort | join(",")')" = \
    "$(jq -r '[.plugins[].name] | sort | join(",")' "$S/plugins/index.json")" ] ||
    fail "search: $(fp plugin search --json)"
out=$(fp plugin install chat)
grep -q "^installed chat .* from registry bundled, signed by fastn-build" <<<"$out" ||
    fail "install chat: $out"
[ "$(fp plugin info chat --json | jq -r .signature)" = verified ] || fail "chat unsigned"
cmp -s "$S/plugins/chat.wasm" "$H/plugins/chat.wasm" || fail "not the installed chat"
pass "a fresh installation finds and installs its bundled plugins by name, no server"

# the installed fastn builds a registry with the installed tool
mkdir "$TMPROOT/reg"
cp "$S/plugins/echo.wasm" "$S/plugins/echo.wasm.minisig" "$TMPROOT/reg/"
"$P/bin/fastn" registry build --key "$KEY" "$TMPROOT/reg" >/dev/null ||
    fail "fastn registry build with the installed tool"
[ "$(jq -r '.plugins[0].name' "$TMPROOT/reg/index.json")" = echo ] ||
    fail "index: $(cat "$TMPROOT/reg/index.json")"
j=$("$P/bin/fastn" registry build --json "$TMPROOT/reg")
[ "$(jq -r '.plugins' <<<"$j")" = 1 ] &&
    [ "$(jq -r '.index' <<<"$j")" = "$TMPROOT/reg/index.json" ] ||
    fail "registry build --json: $j"
j=$("$P/bin/fastn" registry build --json "$TMPROOT/nowhere") &&
    fail "a missing folder built: $j"
[ "$(jq -r '.error.code' <<<"$j")" != null ] || fail "registry build's error: $j"
pass "fastn registry build runs the installed fastn-registry-build (--json too)"
