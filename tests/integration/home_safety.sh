#!/bin/bash
# The home is the daemon's: root running fastnd on a folder another user
# controls, or one with links planted in it, refuses to start and leaves
# the files the links point at untouched (no truncated lock, no appended
# log, no chmod'ed or written key folder); a home under a folder another
# user owns, or writable by others, is refused too. A key that is a link
# to nothing (a secrets volume not mounted yet), or missing from a home
# that has state, stops the start instead of making a new identity;
# --new-identity makes one, and never over a key; a new home still gets
# its identity on its own.
. "$(dirname "$0")/common.bash"

[ "$(id -u)" = 0 ] || skip "needs root to play the victim of another uid"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
getent passwd nobody >/dev/null && getent group nogroup >/dev/null ||
    skip "no user nobody / group nogroup"
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

# victims: root's files and a folder for anyone (1777), with known content
V=$TMPROOT/victim
mkdir "$V"
printf 'root secret\n' >"$V/lock-target"
printf 'root log\n' >"$V/log-target"
printf 'root config\n' >"$V/config-target"
chmod 600 "$V"/*-target
mkdir -m 1777 "$V/public"
snapshot() { # what must not change
    (cd "$V" && stat -c '%n %a %u %s %Y' lock-target log-target \
        config-target public && cat lock-target log-target config-target &&
        ls -A public)
}
before=$(snapshot)
untouched() { # WHAT
    [ "$(snapshot)" = "$before" ] || fail "$1: the victim's files changed:
$(snapshot)"
}

# refused HOME PATTERN [ARGS...]: fastnd (background and foreground) does
# not start on HOME, says PATTERN, and the victims are untouched
refused() {
    local home=$1 want=$2 out fg
    shift 2
    for fg in "" --foreground; do
        if out=$(timeout 20 "$FASTND_BIN" --home "$home" $fg "$@" 2>&1); then
            fail "fastnd started on $home ($fg $*): $out"
        fi
        grep -q -- "$want" <<<"$out" || fail "unclear refusal ($fg $*): $out"
        untouched "$home"
        [ ! -S "$home/fastnd.sock" ] || fail "a socket in $home"
    done
    echo "$out"
}

# 1. a home another user owns, with the issue's links in it
A=$TMPROOT/attacker
mkdir -m 755 "$A"
chown nobody:nogroup "$A"
"${AS_NOBODY[@]}" sh -c "ln -s '$V/lock-target' '$A/fastnd.lock' &&
    ln -s '$V/log-target' '$A/fastnd.log' && ln -s '$V/public' '$A/keys'" ||
    fail "nobody could not plant links"
out=$(refused "$A" "belongs to uid $(id -u nobody) (nobody), not to this daemon's user uid 0 (root).*chown root $A")
[ "$(stat -c %a "$V/public")" = 1777 ] || fail "the public folder was chmod'ed"
pass "a home owned by nobody: $out"

# the same links in a home that is root's (left from before it was
# handed over): each one alone is refused by name
for link in fastnd.lock:lock-target fastnd.log:log-target keys:public \
    config:config-target state.sqlite:lock-target plugins:public \
    data:public; do
    H=$(mktemp -d "$TMPROOT/h.XXXXXX")
    ln -s "$V/${link#*:}" "$H/${link%%:*}"
    out=$(refused "$H" "$H/${link%%:*} is a symbolic link: fastnd follows no link in its home")
    [ ! -e "$H/keys/identity.key" ] || fail "a key was made beside ${link%%:*}"
done
[ -z "$(ls -A "$V/public")" ] || fail "a key was written into the public folder"
pass "links in root's own home refused one by one: $out"

# a folder of the home that another user owns
H=$(mktemp -d "$TMPROOT/h.XXXXXX")
mkdir -m 700 "$H/keys"
chown nobody "$H/keys"
out=$(refused "$H" "$H/keys belongs to uid $(id -u nobody) (nobody)")
[ -z "$(ls -A "$H/keys")" ] || fail "a key was written into nobody's keys/"
pass "keys/ of another user: $out"

# 2. a home others may write, and one inside a folder another user owns
# or anyone may write (not sticky); under a sticky folder (/tmp) is fine
H=$(mktemp -d "$TMPROOT/h.XXXXXX")
chmod 770 "$H"
out=$(refused "$H" "may be written by its group or others (mode 0770).*chmod go-w $H")
chmod 700 "$H"
pass "a home writable by its group: $out"
P=$TMPROOT/parent
mkdir -m 755 "$P"
chown nobody "$P"
mkdir -m 700 "$P/home"
out=$(refused "$P/home" "inside $P, which belongs to uid $(id -u nobody)")
chown root "$P"
chmod 777 "$P"
out2=$(refused "$P/home" "inside $P, which others may write (mode 0777)")
chmod 1777 "$P"
timeout 20 "$FASTND_BIN" --home "$P/home" || fail "refused under a sticky folder"
stop_pid "$(daemon_pid "$P/home")"
pass "parents: $out; $out2; a sticky parent is fine"

# 3. the key: a new home gets one by itself; then a link to nothing (a
# secrets volume not mounted) and a key gone from a home with state stop
# the start; --new-identity makes one, never over a key
H=$(new_home)
timeout 20 "$FASTND_BIN" --home "$H" || fail "a new home did not start"
id1=$("$PROBE" peerid "$H/keys/identity.key")
stop_pid "$(daemon_pid "$H")"
wait_gone "$(daemon_pid "$H")" || fail "the daemon did not stop"
mv "$H/keys/identity.key" "$TMPROOT/volume.key"
ln -s "$TMPROOT/secrets/identity.key" "$H/keys/identity.key"
out=$(refused "$H" "is a symbolic link to $TMPROOT/secrets/identity.key, which does not exist")
out2=$(refused "$H" "is a symbolic link to .* which does not exist" --new-identity)
[ -L "$H/keys/identity.key" ] || fail "the link was replaced"
[ ! -e "$TMPROOT/secrets" ] || fail "something was written through the link"
if out3=$(timeout 20 "$FASTN_BIN_CLI" --home "$H" id 2>&1); then
    fail "autostart started with a dangling key: $out3"
fi
grep -q "could not start fastnd: .*does not exist (a secrets volume not mounted yet?)" <<<"$out3" ||
    fail "autostart does not say why: $out3"
pass "a key linked to nothing: refused, also by autostart: $out"
# the volume comes: the link is followed, the identity is the old one
mkdir "$TMPROOT/secrets"
mv "$TMPROOT/volume.key" "$TMPROOT/secrets/identity.key"
start_fg "$H"
[ "$(fastn --home "$H" --no-autostart id | sed -n 1p)" = "$id1" ] ||
    fail "the key through the link is not the old identity"
stop_pid "$DAEMON_PID"
pass "once the volume is there, the same identity through the link"

rm "$H/keys/identity.key"
[ -e "$H/state.sqlite" ] || fail "no state.sqlite after a start"
out=$(refused "$H" "has state .* but no identity key $H/keys/identity.key.*--new-identity")
if out2=$(timeout 20 "$FASTN_BIN_CLI" --home "$H" id 2>&1); then
    fail "autostart made a new identity: $out2"
fi
grep -q "could not start fastnd: .*no identity key" <<<"$out2" ||
    fail "autostart does not say why: $out2"
[ ! -e "$H/keys/identity.key" ] || fail "a key was made anyway"
pass "a key missing from a home with state: refused, also by autostart: $out"

start_fg "$H" --new-identity
id2=$(fastn --home "$H" --no-autostart id | sed -n 1p)
[ "$id2" = "$("$PROBE" peerid "$H/keys/identity.key")" ] || fail "new key"
[ "$id2" != "$id1" ] || fail "--new-identity kept the old identity"
grep -q "created identity $id2" "$H/stderr.log" || fail "creation not logged"
stop_pid "$DAEMON_PID"
out=$(refused "$H" "--new-identity: the identity key $H/keys/identity.key is there, and fastnd never replaces a key" --new-identity)
[ "$("$PROBE" peerid "$H/keys/identity.key")" = "$id2" ] || fail "key replaced"
start_fg "$H"
[ "$(fastn --home "$H" --no-autostart id | sed -n 1p)" = "$id2" ] ||
    fail "the new identity did not last"
stop_pid "$DAEMON_PID"
pass "--new-identity makes one ($id2), never over a key: $out"

# -id=KEYFILE (p2pd): created when missing, but not through a link
S=$TMPROOT/p2pd.sock
ln -s "$TMPROOT/nowhere/p2pd.key" "$TMPROOT/p2pd.key"
if out=$(timeout 20 "$FASTND_BIN" -listen="/unix$S" -id="$TMPROOT/p2pd.key" \
    -noListenAddrs -q 2>&1); then
    fail "-id through a link to nothing started"
fi
grep -q "is a symbolic link to $TMPROOT/nowhere/p2pd.key, which does not exist" <<<"$out" ||
    fail "-id: unclear refusal: $out"
[ ! -e "$TMPROOT/nowhere" ] || fail "-id: written through the link"
pass "-id=KEYFILE linked to nothing: refused"
