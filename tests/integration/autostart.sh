#!/bin/bash
# fastn starts the daemon on demand (as gpg starts gpg-agent) unless
# --no-autostart; when it can neither reach nor start one it says so and
# exits non-zero, quickly, never hanging.
. "$(dirname "$0")/common.bash"

# --no-autostart on a home with no daemon: a clear error, at once
H=$(new_home)
start=$(date +%s%N)
if out=$(fastn --home "$H" --no-autostart id 2>&1); then
    fail "--no-autostart succeeded without a daemon"
fi
ms=$((($(date +%s%N) - start) / 1000000))
[ "$(echo "$out" | wc -l)" = 1 ] || fail "error is not one line: $out"
grep -q "no fastnd is running" <<<"$out" || fail "unclear error: $out"
grep -q -- "--no-autostart" <<<"$out" || fail "does not say what to do"
[ $ms -lt 2000 ] || fail "took ${ms} ms"
[ ! -e "$H/fastnd.lock" ] || fail "a daemon was started anyway"
pass "--no-autostart: '$out' (${ms} ms)"

# autostart: the first call starts the daemon, later ones reuse it; the
# caller's output pipe is not held open by the daemon (no hang in $(...))
id=$(timeout 20 "$FASTN_BIN_CLI" --home "$H" id 2>"$TMPROOT/err" | sed -n 1p) ||
    fail "autostart failed: $(cat "$TMPROOT/err")"
grep -q "started fastnd" "$TMPROOT/err" || fail "no notice of the start"
pid=$(daemon_pid "$H")
kill -0 "$pid" || fail "no daemon after autostart"
[ "$("$PROBE" peerid "$H/keys/identity.key")" = "$id" ] || fail "wrong id"
id2=$(timeout 20 "$FASTN_BIN_CLI" --home "$H" id 2>"$TMPROOT/err2" | sed -n 1p)
[ "$id2" = "$id" ] || fail "second call: $id2"
! grep -q "started" "$TMPROOT/err2" || fail "a second daemon was started"
[ "$(daemon_pid "$H")" = "$pid" ] || fail "daemon replaced"
pass "autostart: started once ($id), reused after"

# FASTN_HOME is the default home for both fastn and the daemon it starts
H2=$(new_home)
FASTN_HOME=$H2 timeout 20 "$FASTN_BIN_CLI" status >/dev/null 2>&1 ||
    fail "autostart with FASTN_HOME"
[ -S "$H2/fastnd.sock" ] || fail "daemon not started in FASTN_HOME"
pass "FASTN_HOME honoured"

# many clients autostarting at once: all answer, with one daemon
H3=$(new_home)
for i in 1 2 3 4 5 6; do
    timeout 20 "$FASTN_BIN_CLI" --home "$H3" id >"$TMPROOT/par.$i" 2>&1 &
done
wait
for i in 1 2 3 4 5 6; do
    case "$(cat "$TMPROOT/par.$i")" in *12D3KooW*) ;;
    *) fail "parallel start $i: $(cat "$TMPROOT/par.$i")" ;; esac
done
[ "$(cat "$TMPROOT"/par.* | grep -o '12D3KooW[1-9A-Za-z]*' | sort -u | wc -l)" = 1 ] ||
    fail "parallel starts saw different identities"
pass "6 concurrent autostarts: one daemon, one identity"

# a daemon that cannot start: clear error, quickly
H4=$(new_home)
if out=$(FASTND=/bin/false timeout 20 "$FASTN_BIN_CLI" --home "$H4" id 2>&1); then
    fail "succeeded with a fastnd that cannot start"
fi
grep -q "could not start fastnd" <<<"$out" || fail "unclear error: $out"
if out=$(FASTND=$TMPROOT/no-such-fastnd timeout 20 "$FASTN_BIN_CLI" --home "$H4" id 2>&1); then
    fail "succeeded with no fastnd at all"
fi
grep -q "could not start fastnd" <<<"$out" || fail "unclear error: $out"
pass "unstartable daemon: '$out'"

# a daemon that hangs while starting: fastn gives up at its timeout
cat >"$TMPROOT/hang.sh" <<'HANG'
#!/bin/sh
exec sleep 60
HANG
chmod +x "$TMPROOT/hang.sh"
start=$(date +%s%N)
if out=$(FASTND=$TMPROOT/hang.sh timeout 20 "$FASTN_BIN_CLI" --home "$H4" --timeout 1 id 2>&1); then
    fail "succeeded with a hanging fastnd"
fi
ms=$((($(date +%s%N) - start) / 1000000))
[ $ms -lt 5000 ] || fail "waited ${ms} ms for a hanging daemon"
grep -q "could not start fastnd" <<<"$out" || fail "unclear error: $out"
pass "hanging daemon: gave up after ${ms} ms"

# an unusable home: clear error
if out=$(timeout 20 "$FASTN_BIN_CLI" --home /proc/no/such/home id 2>&1); then
    fail "succeeded with an impossible home"
fi
[ "$(echo "$out" | wc -l)" = 1 ] || fail "error is not one line: $out"
pass "impossible home: '$out'"
