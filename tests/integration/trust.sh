#!/bin/bash
# Signed plugins and trusted publishers, with signatures made by the real
# minisign (docs/REGISTRY.md): `fastn trust add/list/remove`; `fastn
# plugin install FILE` takes a plugin signed by a trusted key with either
# algorithm (prehashed ED, legacy Ed) and shows the signer and the
# publisher's note; a flipped bit, a tampered trusted comment and a key
# not trusted are each refused with their own message (which key, what to
# do) and nothing is installed; an unsigned file needs --unsigned and is
# shown as unsigned; errors under --json have the shape {"error":
# {"code", "message"}}. A client admitted as a plain user may list keys
# and registries, not trust a key, add a registry or install.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/registry.bash"
has_jq || skip "jq is missing"

CHAT=$TOP/$BUILD/plugins/chat.wasm
ECHO=$TOP/$BUILD/plugins/echo.wasm
H=$(new_home)
start_fg "$H"
f() { fastn --home "$H" --no-autostart "$@"; }
make_key alice
make_key mallory
A=$(key_id alice)
M=$(key_id mallory)

# --- trust add, list, remove --------------------------------------------------
out=$(f trust add "$TMPROOT/alice.pub" --name alice)
grep -q "^trusted alice (key id $A)" <<<"$out" || fail "trust add: $out"
[ -f "$H/trusted-publishers/alice.pub" ] || fail "no alice.pub in the home"
j=$(f trust list --json)
[ "$(jq -r '.keys[] | select(.name=="alice") | .key_id' <<<"$j")" = "$A" ] ||
    fail "trust list: $j"
[ "$(jq -r '.keys[] | select(.name=="alice") | .system' <<<"$j")" = false ] ||
    fail "alice is not the user's: $j"
grep -q "^alice  *$A  *you$" <<<"$(f trust list)" || fail "list: $(f trust list)"
if err=$(f trust add "$TMPROOT/alice.pub" 2>&1); then fail "added twice"; fi
grep -q "alice" <<<"$err" || fail "twice: $err"
# the base64 line alone, named after its key id
f trust add "$(sed -n 2p "$TMPROOT/mallory.pub")" >/dev/null
grep -q "^$M  *$M  *you$" <<<"$(f trust list)" || fail "base64 add: $(f trust list)"
f trust remove "$M" >/dev/null
if f trust list | grep -q "$M"; then fail "mallory still trusted"; fi
if err=$(f trust add "not a key" 2>&1); then fail "junk key"; fi
grep -q "give a minisign .pub file or its base64 line" <<<"$err" ||
    fail "junk key: $err"
printf 'untrusted comment: x\nRWQAAAAAAAAA\n' >"$TMPROOT/junk.pub"
if err=$(f trust add "$TMPROOT/junk.pub" 2>&1); then fail "junk key file"; fi
grep -q "malformed public key" <<<"$err" || fail "junk key file: $err"
pass "trust add (file, base64 line), list, remove; twice and junk refused"

# --- installs from signed files -----------------------------------------------
cp "$ECHO" "$TMPROOT/echo.wasm"
sign alice "$TMPROOT/echo.wasm" "echo 1.0.0 by alice"
out=$(f plugin install "$TMPROOT/echo.wasm")
grep -q "^installed echo 1.0.0 (running), signed by alice (key $A): echo 1.0.0 by alice$" \
    <<<"$out" || fail "prehashed install: $out"
[ -f "$H/plugins/echo.wasm.minisig" ] || fail "the signature was not kept"
info=$(f plugin info echo)
grep -q "^signature    verified: signed by alice (key $A)$" <<<"$info" ||
    fail "info: $info"
grep -q "^publisher    echo 1.0.0 by alice$" <<<"$info" || fail "info note: $info"
j=$(f plugin info echo --json)
[ "$(jq -r '.signature + " " + .signer + " " + .publisher_note' <<<"$j")" = \
    "verified $A echo 1.0.0 by alice" ] || fail "info --json: $j"
cp "$CHAT" "$TMPROOT/chat.wasm"
sign alice "$TMPROOT/chat.wasm" "chat, legacy" -l
grep -q "^Ed" <<<"$(sed -n 2p "$TMPROOT/chat.wasm.minisig" | base64 -d 2>/dev/null | head -c 2)" ||
    fail "minisign -l did not make a legacy signature"
f plugin install "$TMPROOT/chat.wasm" >/dev/null || fail "legacy install"
grep -q "^chat  *1.0.0  *running  *verified " <<<"$(f plugin list)" ||
    fail "list: $(f plugin list)"
pass "signed by a trusted key, prehashed and legacy: installed, signer and note shown"

# --- refusals: each with its own message, nothing installed --------------------
f plugin remove echo >/dev/null
refused() { # WHAT FILE WANT-CODE WANT-TEXT
    local err j
    if err=$(f plugin install "$2" 2>&1); then fail "$1 was installed"; fi
    grep -q "$4" <<<"$err" || fail "$1: unclear refusal: $err"
    j=$(f plugin install "$2" --json || true)
    [ "$(jq -r .error.code <<<"$j")" = "$3" ] || fail "$1 --json: $j"
    jq -e '.error.message | length > 0' <<<"$j" >/dev/null || fail "$1: $j"
    [ ! -e "$H/plugins/echo.wasm" ] || fail "$1: a file was written"
    f plugin list | grep -q "^echo " && fail "$1: listed"
    pass "$1 refused: $err"
}
# a flipped bit in the plugin
cp "$ECHO" "$TMPROOT/flip.wasm"
sign alice "$TMPROOT/flip.wasm"
printf '\x01' | dd of="$TMPROOT/flip.wasm" bs=1 seek=2000 conv=notrunc 2>/dev/null
refused "a flipped bit" "$TMPROOT/flip.wasm" FASTN_ERR_SIGNATURE \
    "signed by alice (key $A): bad signature: the file is not the one its publisher signed"
# a tampered trusted comment (the global signature no longer holds)
cp "$ECHO" "$TMPROOT/note.wasm"
sign alice "$TMPROOT/note.wasm" "echo by alice"
sed -i '3s/.*/trusted comment: echo by alice, approved by everyone/' \
    "$TMPROOT/note.wasm.minisig"
refused "a tampered trusted comment" "$TMPROOT/note.wasm" FASTN_ERR_SIG_COMMENT \
    "signed by alice (key $A): the signature's trusted comment was altered after signing"
# a key that is not trusted: the message names it and says what to do
cp "$ECHO" "$TMPROOT/mal.wasm"
sign mallory "$TMPROOT/mal.wasm"
refused "a key not trusted" "$TMPROOT/mal.wasm" FASTN_ERR_UNTRUSTED \
    "signed by key $M: signed by a key that is not trusted.*fastn trust add"
# no signature at all
cp "$ECHO" "$TMPROOT/bare.wasm"
refused "an unsigned file" "$TMPROOT/bare.wasm" FASTN_ERR_UNSIGNED "\-\-unsigned"

# --- --unsigned ---------------------------------------------------------------
out=$(f plugin install --unsigned "$TMPROOT/bare.wasm")
grep -q "^installed echo 1.0.0 (running), unsigned$" <<<"$out" || fail "--unsigned: $out"
[ ! -e "$H/plugins/echo.wasm.minisig" ] || fail "a signature kept for an unsigned plugin"
grep -q "^echo  *1.0.0  *running  *unsigned " <<<"$(f plugin list)" ||
    fail "list: $(f plugin list)"
grep -q "^signature    unsigned" <<<"$(f plugin info echo)" || fail "info unsigned"
[ "$(f plugin info echo --json | jq -r .signature)" = unsigned ] || fail "json unsigned"
# a signed install over it keeps its signature; an unsigned one drops it
f plugin install --replace "$TMPROOT/echo.wasm" >/dev/null
[ "$(f plugin info echo --json | jq -r .signature)" = verified ] || fail "re-signed"
pass "--unsigned installs, shown as unsigned; a signed --replace is verified again"

# --- a key no longer trusted --------------------------------------------------
f trust remove alice >/dev/null
[ "$(f plugin info chat --json | jq -r .signature)" = untrusted ] ||
    fail "chat after alice went: $(f plugin info chat --json | jq -c .)"
grep -q "no longer trusted" <<<"$(f plugin info chat)" || fail "info untrusted"
# the installation's key cannot be removed here
sys=$(f trust list --json | jq -r '.keys[] | select(.system) | .name' | head -1)
if [ -n "$sys" ]; then
    if err=$(f trust remove "$sys" 2>&1); then fail "removed the installation's key"; fi
    grep -q "trusted by the installation" <<<"$err" || fail "readonly: $err"
fi
j=$(f trust remove nosuchkey --json || true)
[ "$(jq -r .error.code <<<"$j")" = FASTN_ERR_KEY_NOT_FOUND ] || fail "not found: $j"
pass "a removed key leaves its plugins shown untrusted; the installation's keys stay"

# --- a plain user ----------------------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
    getent passwd nobody >/dev/null && getent group nogroup >/dev/null; then
    AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    if "${AS_NOBODY[@]}" "$FASTN_BIN_CLI" --version >/dev/null 2>&1; then
        H2=$(new_home)
        chmod 711 "$H2"
        printf 'socket-group = nogroup\nallow-uids = nobody\nlisten = /ip4/127.0.0.1/tcp/0\n' \
            >"$H2/config"
        start_fg "$H2"
        nb() { "${AS_NOBODY[@]}" "$FASTN_BIN_CLI" --home "$H2" --no-autostart "$@"; }
        chmod a+r "$TMPROOT/alice.pub" "$TMPROOT/bare.wasm"
        for cmd in "trust add $TMPROOT/alice.pub" "trust remove fastn-build" \
            "registry add file://$TMPROOT" "registry remove bundled" \
            "plugin install chat" "plugin update" \
            "plugin install --unsigned $TMPROOT/bare.wasm"; do
            # shellcheck disable=SC2086
            if err=$(nb $cmd 2>&1); then fail "a plain user could: $cmd"; fi
            grep -q "admin" <<<"$err" || fail "$cmd: unclear refusal: $err"
        done
        [ ! -e "$H2/trusted-publishers/alice.pub" ] || fail "a plain user's key was added"
        nb trust list >/dev/null || fail "a plain user cannot list keys"
        nb registry list >/dev/null || fail "a plain user cannot list registries"
        pass "a plain user may list keys and registries, not trust, add or install"
    fi
fi
