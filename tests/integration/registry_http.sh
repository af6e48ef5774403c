#!/bin/bash
# Registries, served by nginx on 127.0.0.1 (its own config in the test's
# folder) and read from a local folder: `fastn registry add/list/remove`,
# `fastn plugin search`, `install NAME[@VERSION]` (size, sha256 and
# signature checked), `update` (a newer version installed; one asking for
# more capabilities waits until they are granted), and what goes wrong: a
# sha256 that does not match the index, a malformed and a huge
# index.json (each error naming the registry), an untrusted publisher,
# and a server that stalls (a timeout, while the daemon answers `fastn id`
# all along).
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/registry.bash"
has_jq || skip "jq is missing"

N=$TMPROOT/nginx
start_nginx "$N"
URL=http://127.0.0.1:$NGINX_PORT
make_key acme
make_key mallory

# acme's registry: greet 1.0.0, served by nginx
registry_dir "$N/www/acme" acme "$GREET/greet-1.0.0.wasm"
H=$(new_home)
printf 'fetch-timeout = 3\nfetch-stall-timeout = 2\n' >>"$H/config"
start_fg "$H"
f() { fastn --home "$H" --no-autostart "$@"; }

# --- registry add, list, remove -------------------------------------------------
f trust add "$TMPROOT/acme.pub" --name acme >/dev/null
out=$(f registry add "$URL/acme" --name acme 2>&1) || fail "registry add: $out"
[ "$out" = "added registry acme: $URL/acme (1 plugin)" ] || fail "add: $out"
j=$(f registry list --json)
[ "$(jq -r '[.registries[].name] | join(",")' <<<"$j")" = "bundled,acme" ] ||
    fail "list: $j"
grep -q "^acme  *$URL/acme$" <<<"$(f registry list)" || fail "list text"
if err=$(f registry add "$URL/nothing-here" 2>&1); then fail "added a 404"; fi
grep -q "the registry was not added" <<<"$err" || fail "404: $err"
if err=$(f registry add "ftp://example.org/" 2>&1); then fail "ftp added"; fi
grep -q "not a registry URL" <<<"$err" || fail "ftp: $err"
if err=$(f registry add "$URL/acme" --name again 2>&1); then fail "added twice"; fi
grep -q "is there already" <<<"$err" || fail "twice: $err"
pass "registry add (its index read first), list; a 404, ftp:// and a repeat refused"

# --- search, install by name ------------------------------------------------------
j=$(f plugin search greet --json)
[ "$(jq -r '.plugins[0] | .name + " " + .version + " " + .registry' <<<"$j")" = \
    "greet 1.0.0 acme" ] || fail "search: $j"
[ "$(jq -r '.plugins | length' <<<"$j")" = 1 ] || fail "search matched more: $j"
grep -q "^greet  *1.0.0  *acme  *-  *Test plugin: says its version$" \
    <<<"$(f plugin search)" || fail "search text: $(f plugin search)"
out=$(f plugin install greet)
grep -q "^installed greet 1.0.0 from registry acme, signed by acme (key $(key_id acme))$" \
    <<<"$out" || fail "install: $out"
[ "$(f plugin call greet version)" = 1.0.0 ] || fail "greet does not run"
[ "$(f plugin info greet --json | jq -r .signature)" = verified ] || fail "signature"
[ "$(f plugin search greet --json | jq -r '.plugins[0].installed')" = 1.0.0 ] ||
    fail "search does not say it is installed"
if err=$(f plugin install greet 2>&1); then fail "installed twice"; fi
grep -q "installed already; fastn plugin update greet" <<<"$err" || fail "twice: $err"
if err=$(f plugin install nosuch 2>&1); then fail "nosuch"; fi
grep -q "no registry lists nosuch" <<<"$err" || fail "nosuch: $err"
ls "$H/plugins" | grep -q '^\.fetch' && fail "a temporary file was left"
pass "search, install greet by name from nginx: verified, running"

# --- update ------------------------------------------------------------------------
registry_dir "$N/www/acme" acme "$GREET/greet-1.1.0.wasm"
out=$(f plugin update)
grep -q "^greet: updated 1.0.0 -> 1.1.0 (registry acme)$" <<<"$out" || fail "update: $out"
[ "$(f plugin call greet version)" = 1.1.0 ] || fail "1.1.0 does not run"
grep -q "^greet: 1.1.0 is the newest$" <<<"$(f plugin update greet)" || fail "current"
# 2.0.0 asks for notify as well: it waits for consent
registry_dir "$N/www/acme" acme "$GREET/greet-2.0.0.wasm"
if err=$(f plugin update greet 2>&1); then fail "2.0.0 installed without consent"; fi
grep -q "greet 2.0.0 asks for capabilities 1.1.0 greet does not have: notify" <<<"$err" ||
    fail "consent: $err"
grep -q "fastn plugin update greet --grant notify" <<<"$err" || fail "no command: $err"
[ "$(f plugin update greet --json | jq -r .error.code)" = FASTN_ERR_NEEDS_CONSENT ] ||
    fail "consent --json"
[ "$(f plugin call greet version)" = 1.1.0 ] || fail "changed without consent"
if out=$(f plugin update); then fail "update of all exits 0 with one waiting"; fi
grep -q "^greet: 2.0.0 waits: .*notify; to accept them: fastn plugin update greet --grant notify" \
    <<<"$out" || fail "update all: $out"
f plugin update greet --grant notify >/dev/null || fail "update with the grant"
[ "$(f plugin call greet version)" = 2.0.0 ] || fail "2.0.0 does not run"
f plugin list --json | jq -e '.plugins[] | select(.name=="greet") |
    .capabilities | index("notify")' >/dev/null || fail "notify not granted"
# a version by name
f plugin install greet@1.0.0 --replace >/dev/null
[ "$(f plugin call greet version)" = 1.0.0 ] || fail "greet@1.0.0"
pass "update: newer installed; more capabilities wait for --grant; NAME@VERSION"

# a newer greet from another (trusted) publisher is not an update
make_key bob
f trust add "$TMPROOT/bob.pub" --name bob >/dev/null
registry_dir "$N/www/bob" bob "$GREET/greet-1.1.0.wasm"
f registry remove acme >/dev/null
f registry add "$URL/bob" --name bob >/dev/null
if err=$(f plugin update greet 2>&1); then fail "another publisher's greet updated"; fi
grep -q "signed by key $(key_id bob), another publisher than the installed 1.0.0's (key $(key_id acme))" \
    <<<"$err" || fail "publisher switch: $err"
[ "$(f plugin call greet version)" = 1.0.0 ] || fail "greet was replaced"
f registry remove bob >/dev/null
f registry add "$URL/acme" --name acme >/dev/null
pass "an update from another publisher is refused"

# --- a sha256 the index does not agree with ----------------------------------------
f plugin remove greet >/dev/null
# altered after the index was written, and signed again: same size, same
# trusted key, another sha256
printf '\x01' | dd of="$N/www/acme/greet-2.0.0.wasm" bs=1 seek=1000 conv=notrunc 2>/dev/null
sign acme "$N/www/acme/greet-2.0.0.wasm"
if err=$(f plugin install greet 2>&1); then fail "a sha256 mismatch installed"; fi
grep -q "sha256 is not the one announced" <<<"$err" || fail "sha256: $err"
f plugin list | grep -q "^greet " && fail "greet installed after a sha256 mismatch"
ls "$H/plugins" | grep -q '^\.fetch' && fail "a temporary file was left"
pass "a file whose sha256 is not the index's: refused, nothing kept ($err)"

# --- signed by someone else than the index says ------------------------------------
registry_dir "$N/www/mal" mallory "$GREET/greet-1.0.0.wasm"
rm -rf "$N/www/acme"
registry_dir "$N/www/acme" acme "$GREET/greet-1.0.0.wasm"
cp "$N/www/mal/greet-1.0.0.wasm.minisig" "$N/www/acme/"
if err=$(f plugin install greet 2>&1); then fail "another key's signature installed"; fi
grep -q "signed by key $(key_id mallory), but the registry's index says $(key_id acme)" \
    <<<"$err" || fail "signer: $err"
f registry add "$URL/mal" --name mal >/dev/null
f registry remove acme >/dev/null
if err=$(f plugin install greet 2>&1); then fail "an untrusted publisher installed"; fi
grep -q "from registry mal, signed by key $(key_id mallory): signed by a key that is not trusted" <<<"$err" ||
    fail "untrusted: $err"
f registry remove mal >/dev/null
pass "a signature by another key than the index's, and an untrusted publisher, refused"

# --- malformed and huge indexes: errors name the registry ---------------------------
mkdir -p "$N/www/bad" "$N/www/huge"
printf '{"fastn-registry": 1, "plugins": [{"name": "x"}]}' >"$N/www/bad/index.json"
head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$N/www/huge/index.json"
if err=$(f registry add "$URL/bad" --name bad 2>&1); then fail "a malformed index added"; fi
grep -q "registry bad: plugins\[0\]" <<<"$err" || fail "malformed: $err"
if err=$(f registry add "$URL/huge" --name huge 2>&1); then fail "a huge index added"; fi
grep -q "larger than\|too large\|allowed maximum" <<<"$err" || fail "huge: $err"
grep -q "huge" <<<"$err" || fail "huge does not name the registry: $err"
# a registry that went bad after it was added: search names it, others answer
rm -rf "$N/www/acme"
registry_dir "$N/www/acme" acme "$GREET/greet-1.0.0.wasm"
f registry add "$URL/acme" --name acme >/dev/null
cp "$N/www/bad/index.json" "$N/www/acme/index.json"
j=$(f plugin search --json)
jq -e '.registries[] | select(.name=="acme") | .error == "FASTN_ERR_INDEX_MALFORMED"' \
    <<<"$j" >/dev/null || fail "search with a bad registry: $j"
jq -e '.plugins[] | select(.name=="chat")' <<<"$j" >/dev/null ||
    fail "the other registry did not answer: $j"
err=$(f plugin search 2>&1 >/dev/null)
grep -q "registry acme could not be read: registry acme: plugins\[0\]" <<<"$err" ||
    fail "search note: $err"
pass "malformed and huge index.json refused, each naming its registry"

# --- a local folder ---------------------------------------------------------------
registry_dir "$TMPROOT/localreg" acme "$GREET/greet-1.1.0.wasm"
f registry add "$TMPROOT/localreg" --name here >/dev/null
[ "$(f registry list --json | jq -r '.registries[] | select(.name=="here") | .url')" = \
    "file://$TMPROOT/localreg" ] || fail "a folder's path is not its file:// URL"
f plugin install greet >/dev/null
[ "$(f plugin call greet version)" = 1.1.0 ] || fail "from a folder"
f registry remove here >/dev/null
pass "a local folder as a registry"

# --- a server that stalls -----------------------------------------------------------
f registry remove acme >/dev/null
start=$(date +%s%N)
f registry add "$URL/stall/reg" --name stall >"$TMPROOT/stall.out" 2>&1 &
ADD=$!
# meanwhile the daemon answers, every 100 ms
n=0
while kill -0 "$ADD" 2>/dev/null; do
    t0=$(date +%s%N)
    f id >/dev/null || fail "fastn id failed during the stall"
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$ms" -lt 2000 ] || fail "fastn id took $ms ms during the stall"
    n=$((n + 1))
    sleep 0.1
done
wait "$ADD" && fail "a stalled registry was added"
total_ms=$((($(date +%s%N) - start) / 1000000))
secs=$((total_ms / 1000)).$((total_ms % 1000 / 100))
grep -q "did not answer in time" "$TMPROOT/stall.out" ||
    fail "stall: $(cat "$TMPROOT/stall.out")"
[ "$n" -ge 5 ] || fail "only $n answers during the stall"
[ "$total_ms" -ge 1500 ] && [ "$total_ms" -lt 15000 ] ||
    fail "the stall ended after $secs s, not the configured 2-3 s"
pass "a stalled registry times out ($secs s); fastn id answered $n times meanwhile"
