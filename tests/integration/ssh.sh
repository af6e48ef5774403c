#!/bin/bash
# fastn ssh end to end: OpenSSH's client on daemon B logs in to an sshd
# this test starts on a loopback port (a temporary host key, key
# authentication only) through daemon A's ssh plugin, whose local-connect
# address the config moves to that port; a peer not on the plugin's
# allow list is refused and logged, and so is every peer once the user
# restricts the plugin to nobody; scp copies a file both ways, whole.
. "$(dirname "$0")/common.bash"
. "$(dirname "$0")/net.bash"
. "$(dirname "$0")/chat.bash"
SSHP=$TOP/$BUILD/plugins/ssh.wasm
[ -f "$SSHP" ] || skip "plugins not built (no wasm32-wasi toolchain)"
[ -x /usr/sbin/sshd ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
    skip "OpenSSH is missing (openssh-server, openssh-client)"
has_jq || skip "jq is missing"

# sshd on a free loopback port, for this user, by key only
K=$TMPROOT/ssh
mkdir -p "$K" /run/sshd
chmod 700 "$K"
ssh-keygen -q -t ed25519 -N '' -f "$K/host" </dev/null
ssh-keygen -q -t ed25519 -N '' -f "$K/user" </dev/null
cp "$K/user.pub" "$K/authorized_keys"
for try in $(seq 20); do
    SP=$((20000 + RANDOM % 30000))
    ss -Hltn "sport = :$SP" | grep -q . || break
done
cat >"$K/sshd_config" <<CFG
Port $SP
ListenAddress 127.0.0.1
HostKey $K/host
AuthorizedKeysFile $K/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $K/sshd.pid
Subsystem sftp internal-sftp
CFG
/usr/sbin/sshd -D -e -f "$K/sshd_config" 2>"$K/sshd.log" &
STARTED_PIDS+=($!)
wait_for bash -c "exec 3<>/dev/tcp/127.0.0.1/$SP" || fail "sshd did not start: $(cat "$K/sshd.log")"

A=$(new_home)
B=$(new_home)
echo "plugin-connect = ssh 127.0.0.1:22 127.0.0.1:$SP" >>"$A/config"
start_at "$A" 0
start_at "$B" 0
ida=$(peer_id "$A")
idb=$(peer_id "$B")
out=$(fa plugin install "$SSHP")
echo "$out" | grep -q "connects to  127.0.0.1:22 -> 127.0.0.1:$SP (config)" ||
    fail "install did not show local-connect: $out"
fa connect "$(listen_addr "$B")" >/dev/null
fb connect "$(listen_addr "$A")" >/dev/null

USER_NAME=$(id -un)
sshb() { # ARGS...: fastn ssh from B to A, by key, no prompts
    timeout 30 "$FASTN_BIN_CLI" --home "$B" --no-autostart ssh "$USER_NAME@$ida" \
        -F /dev/null -i "$K/user" -o BatchMode=yes -o IdentitiesOnly=yes \
        -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$K/known_hosts" \
        "$@"
}

# not on the allow list: refused, logged
if out=$(sshb echo in 2>&1); then fail "a peer not allowed logged in: $out"; fi
wait_until 5 grep -q "ssh: refused $idb: not on the ssh allow list" "$A/stderr.log" ||
    fail "the refusal was not logged"
pass "a peer not on the ssh plugin's allow list is refused and logged"

[ "$(fa plugin call ssh allow "$idb")" = allowed ] || fail "allow"
[ "$(fa plugin call ssh list)" = "$idb" ] || fail "list: $(fa plugin call ssh list)"
out=$(sshb echo hello-from-sshd) || fail "ssh through fastn: $out"
[ "$out" = hello-from-sshd ] || fail "ssh said: $out"
grep -qi "$ida" "$K/known_hosts" || fail "the host key is not known under the PeerID"
pass "OpenSSH logs in through fastn ssh (key auth, host key kept under the PeerID)"

# scp both ways through the ProxyCommand, as ~/.ssh/config would have it
head -c $((4 * 1048576)) /dev/urandom >"$K/blob"
PROXY="$FASTN_BIN_CLI --home $B --no-autostart ssh-proxy %n"
scpb() { timeout 60 scp -q -F /dev/null -i "$K/user" -o BatchMode=yes \
    -o IdentitiesOnly=yes -o UserKnownHostsFile="$K/known_hosts" \
    -o "ProxyCommand=$PROXY" "$@"; }
scpb "$K/blob" "$USER_NAME@$ida:$K/blob.up" || fail "scp up"
scpb "$USER_NAME@$ida:$K/blob.up" "$K/blob.down" || fail "scp down"
cmp "$K/blob" "$K/blob.down" || fail "scp: the file changed"
pass "scp of 4 MiB up and down through fastn ssh-proxy: whole"

# the user's narrowing comes first: nobody is served, allow list or not
fa plugin restrict ssh --serves nobody >/dev/null
if out=$(sshb true 2>&1); then fail "served while restricted to nobody: $out"; fi
fa plugin restrict ssh --serves known-peers >/dev/null
sshb true || fail "not served after the restriction was lifted"
[ "$(fa plugin call ssh deny "$idb")" = denied ] || fail "deny"
if out=$(sshb true 2>&1); then fail "served after deny: $out"; fi
[ "$(fa plugin info ssh --json | jq .open_streams)" = 0 ] || fail "streams left open"
pass "restrict --serves nobody and deny refuse it; allowed again in between"
