#!/bin/bash
# The mail plugin end to end with real clients on two daemons on
# loopback: curl's SMTP and Python's smtplib submit at A, the message is
# delivered to B over /fastn/mail/1.0.0 and read there with curl's IMAP
# and imaplib (byte for byte what was sent); IDLE hears new mail at once;
# a wrong password, malformed SMTP, a message over the cap, an IMAP
# literal with a lying length and 100 idle connections get clear errors
# and the plugin serves on; kill -9 of either daemon while mail is on its
# way: every message in B's INBOX exactly once; a peer that stays away
# past give_up_ms gives the sender a failure notice.
. "$(dirname "$0")/mail.bash"
mail_needs curl
mail_pair
PA=$(port_of "$A")
PB=$(port_of "$B")
wait_until 5 is_bound "$A" smtp "$SA" || fail "A's smtp: $(bound "$A" smtp)"
wait_until 5 is_bound "$B" imap "$IB" || fail "B's imap: $(bound "$B" imap)"

JA=$(fa plugin call mail setup) || fail "setup at A"
JB=$(fb plugin call mail setup) || fail "setup at B"
AADDR=$(jq -r .address <<<"$JA") APASS=$(jq -r .password <<<"$JA")
BADDR=$(jq -r .address <<<"$JB") BPASS=$(jq -r .password <<<"$JB")
[ "$(fa plugin call mail address)" = "$AADDR" ] || fail "address"
grep -Eq '^me@b[a-z2-7]+\.fastn$' <<<"$AADDR" || fail "address form: $AADDR"
pass "setup gives an address, user and password; ports from plugin-listen"

# curl SMTP at A -> B; curl IMAP at B reads it byte for byte
M=$TMPROOT/m1.eml
printf 'From: <%s>\r\nTo: <%s>\r\nSubject: hello bob\r\n\r\nline one\r\n.dot line\r\n' \
    "$AADDR" "$BADDR" >"$M"
curl -sS --max-time 20 "smtp://127.0.0.1:$SA" --user "me:$APASS" \
    --mail-from "$AADDR" --mail-rcpt "$BADDR" -T "$M" || fail "curl smtp"
inbox_count() { # HOME
    fastn --home "$1" --no-autostart plugin call mail list | jq '.messages | length'
}
inbox_is() { test "$(inbox_count "$1")" = "$2"; }
wait_until 20 inbox_is "$B" 1 || fail "not delivered: $(fb plugin call mail outbox; fa plugin call mail outbox)"
curl -sS --max-time 20 "imap://127.0.0.1:$IB/INBOX;UID=1" --user "me:$BPASS" \
    -o "$TMPROOT/got1.eml" || fail "curl imap"
cmp "$M" "$TMPROOT/got1.eml" || fail "IMAP gave other bytes"
[ "$(fa plugin call mail list Sent | jq '.messages | length')" = 1 ] || fail "no copy in Sent"
[ "$(fa plugin call mail outbox | jq .queued)" = 0 ] || fail "outbox not empty"
fb notifications --json --limit 100 | jq -e '[.notifications[] | select(.source == "mail")] | length == 1' >/dev/null ||
    fail "no notification: $(fb notifications --json)"
pass "curl SMTP at A, delivered, curl IMAP at B: byte-identical; Sent copy; one notification"

# Python: smtplib at B -> A (AUTH PLAIN, several recipients' names), imaplib at A
python3 - "$SB" "$BPASS" "$BADDR" "$AADDR" "$IA" "$APASS" <<'PY' || fail "python smtplib/imaplib"
import imaplib, smtplib, sys, time
sp, bpass, baddr, aaddr, ip, apass = sys.argv[1:]
msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: from python\r\nMessage-ID: <p1@x>\r\n"
       "Content-Type: text/plain; charset=utf-8\r\n\r\nhi alice \xe2\x98\x83\r\n" % (baddr, aaddr)).encode('latin-1')
s = smtplib.SMTP("127.0.0.1", int(sp), timeout=20)
s.ehlo()
assert s.has_extn("size") and s.has_extn("8bitmime"), s.esmtp_features
try:
    s.login("me", "wrong"); raise SystemExit("wrong password accepted")
except smtplib.SMTPAuthenticationError:
    pass
s.login("me", bpass)
other = aaddr.replace("me@", "alice@")
s.sendmail(baddr, [aaddr, other], msg)
s.quit()
m = imaplib.IMAP4("127.0.0.1", int(ip), timeout=20)
m.login("me", apass)
typ, d = m.select("INBOX")
for _ in range(100):
    if int(m.select("INBOX")[1][0]) >= 1: break
    time.sleep(0.2)
typ, d = m.uid("SEARCH", None, "SUBJECT", "python")
uids = d[0].split()
assert len(uids) == 1, d
typ, d = m.uid("FETCH", uids[0], "(BODY.PEEK[] ENVELOPE FLAGS BODYSTRUCTURE RFC822.SIZE)")
body = d[0][1]
assert body == msg, (body, msg)
assert b"from python" in d[0][0] and b'"TEXT" "PLAIN"' in d[0][0].upper(), d[0][0]
assert b"\\Seen" not in d[0][0]
m.uid("STORE", uids[0], "+FLAGS", r"(\Flagged)")
m.create("Kept")
typ, d = m.uid("MOVE", uids[0], "Kept")
assert typ == "OK", d
assert int(m.select("INBOX")[1][0]) == 0
assert int(m.select("Kept")[1][0]) == 1
typ, d = m.fetch("1", "(FLAGS BODY[HEADER.FIELDS (SUBJECT)])")
assert b"\\Flagged" in d[0][0] and d[0][1].strip() == b"Subject: from python", d
m.logout()
PY
pass "smtplib (AUTH, two names of one peer) at B, imaplib at A: SEARCH, FETCH, STORE, CREATE, MOVE"

# IDLE: a message delivered while B idles shows at once
python3 - "$IB" "$BPASS" >"$TMPROOT/idle.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rb")
f.readline()
s.sendall(b"a LOGIN me %s\r\na2 SELECT INBOX\r\na3 IDLE\r\n" % sys.argv[2].encode())
while True:
    l = f.readline()
    if l.startswith(b"+"): break
print("IDLING", flush=True)
t = time.time()
while True:
    l = f.readline()
    if not l: raise SystemExit("closed")
    if b"EXISTS" in l:
        print("EXISTS", l.strip().decode(), flush=True)
        break
s.sendall(b"DONE\r\n")
print(f.readline().decode().strip())
PY
IDLE_PID=$!
wait_until 10 grep -q IDLING "$TMPROOT/idle.out" || fail "IDLE did not start: $(cat "$TMPROOT/idle.out")"
fa plugin call mail send "$BADDR" "while idling" "body" >/dev/null || fail "fastn plugin call send"
wait "$IDLE_PID" || fail "idle: $(cat "$TMPROOT/idle.out")"
grep -q "EXISTS \* 2 EXISTS" "$TMPROOT/idle.out" || fail "idle: $(cat "$TMPROOT/idle.out")"
grep -q "a3 OK IDLE" "$TMPROOT/idle.out" || fail "idle end: $(cat "$TMPROOT/idle.out")"
pass "IDLE at B shows a message delivered from A at once"

# the CLI: setup (with the ports), address, send, list, read, errors
fa mail --help | grep -q "fastn mail setup" || fail "mail --help"
out=$(fa mail setup --json) || fail "mail setup --json"
jq -e --argjson s "$SA" --argjson i "$IA" '.user == "me" and .smtp_host == "127.0.0.1" and
    .smtp_port == $s and .imap_host == "127.0.0.1" and .imap_port == $i and
    (.password | length) == 20' <<<"$out" >/dev/null || fail "setup --json: $out"
APASS=$(jq -r .password <<<"$out")
[ "$(jq -r .address <<<"$out")" = "$AADDR" ] || fail "setup's address"
[ "$(fa mail address)" = "$AADDR" ] || fail "mail address"
fa mail setup | grep -q "^smtp      127.0.0.1 port $SA" || fail "setup text"
APASS=$(fa mail setup --json | jq -r .password)
printf 'cli body\nline two\n' | fa mail send "$BADDR" --subject "from the cli" >/dev/null ||
    fail "mail send"
cli_arrived() { fb mail list --json | jq -e '.messages[] | select(.subject == "from the cli")'; }
wait_until 20 cli_arrived || fail "the CLI's mail did not arrive: $(fb mail list --json)"
uid=$(fb mail list --json | jq '.messages[] | select(.subject == "from the cli") | .uid')
fb mail read "$uid" | grep -q "^line two" || fail "mail read: $(fb mail read "$uid")"
fb mail list | grep -q "from the cli" || fail "mail list: $(fb mail list)"
out=$(fb mail list --folder Nope 2>&1) && fail "a folder that is not there listed"
grep -q "no such folder" <<<"$out" || fail "list --folder Nope said: $out"
out=$(fa mail send nobody@example.com --subject x </dev/null 2>&1) && fail "sent to example.com"
grep -q "not a fastn address" <<<"$out" || fail "send to a bad address said: $out"
pass "fastn mail setup --json (ports), address, send, list, read; clear errors"

# bad input: clear errors, the plugin serves on
python3 - "$SA" "$APASS" "$AADDR" "$BADDR" "$IA" <<'PY' || fail "bad input"
import smtplib, socket, sys
sp, apass, aaddr, baddr, ip = sys.argv[1:]
def chat(port, lines, want):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    f = s.makefile("rb"); f.readline()
    for l, w in zip(lines, want):
        s.sendall(l)
        r = f.readline()
        assert r.startswith(w), (l, r, w)
    s.close()
chat(sp, [b"EHLO x\r\n"], [b"250"])
chat(sp, [b"MAIL FROM:<%s>\r\n" % aaddr.encode()], [b"503"])
s = socket.create_connection(("127.0.0.1", int(sp)), timeout=10)
f = s.makefile("rb"); f.readline()
s.sendall(b"EHLO x\r\n")
while not f.readline().startswith(b"250 "): pass
for l, w in [(b"MAIL FROM:<%s>\r\n" % aaddr.encode(), b"530"), (b"FOO BAR\r\n", b"500"),
             (b"X" * 3000 + b"\r\n", b"500"), (b"RCPT TO:<x@example.com>\r\n", b"5")]:
    s.sendall(l)
    r = f.readline()
    assert r.startswith(w), (l, r, w)
s.close()
# a message over the cap (SIZE announced, then one that grows past it)
# (the 30 MiB pass through the engine within the plugin CPU budget: slow under ASan)
s = smtplib.SMTP("127.0.0.1", int(sp), timeout=300); s.login("me", apass)
code, _ = s.docmd("MAIL FROM:<%s> SIZE=31457280" % aaddr)
assert code == 552, code
s.rset()
big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * (30 * 1024 + 10)
try:
    s.sendmail(aaddr, [baddr], big); raise SystemExit("30 MiB accepted")
except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as e:
    assert e.smtp_code == 552, e
# without SIZE=: the bytes are read to the end and refused
s.rset()
r1 = s.mail(aaddr); r2 = s.rcpt(baddr)
assert r1[0] == 250 and r2[0] == 250, (r1, r2)
try:
    r3 = s.data(big)
except smtplib.SMTPDataError as e:
    r3 = (e.smtp_code, e.smtp_error)
assert r3[0] == 552, "30 MiB accepted: %r" % (r3,)
s.noop(); s.quit()
# IMAP: a literal that lies about its length, then a bad command; a NUL
s = socket.create_connection(("127.0.0.1", int(ip)), timeout=10)
f = s.makefile("rb"); f.readline()
s.sendall(b"a LOGIN {2}\r\n")
assert f.readline().startswith(b"+")
s.sendall(b"meXX\r\nb NOOP\r\n")
r = f.readline()
assert b"BAD" in r, r
assert f.readline().startswith(b"b OK"), "NOOP after the lying literal"
s.sendall(b"c FROB\r\n")
r = f.readline()
assert r.startswith(b"c BAD"), r
s.sendall(b"d LOGIN {99999999}\r\n")
r = f.readline()
assert b"BAD" in r or b"NO" in r, r
s.close()
# three failed logins end an IMAP session; a LIST pattern of many
# wildcards is answered at once
s = socket.create_connection(("127.0.0.1", int(ip)), timeout=10)
f = s.makefile("rb"); f.readline()
for i in range(3):
    s.sendall(b"l%d LOGIN me wrong\r\n" % i)
    r = f.readline()
    assert r.startswith(b"l%d NO [AUTHENTICATIONFAILED]" % i), r
assert f.readline().startswith(b"* BYE"), "no BYE after 3 failed logins"
assert f.readline() == b"", "still open after 3 failed logins"
import imaplib, time
m = imaplib.IMAP4("127.0.0.1", int(ip), timeout=20)
m.login("me", apass)
t = time.time()
typ, d = m.list('""', '"' + "%a" * 100 + "b" + '"')
assert typ == "OK" and d == [None], d
assert time.time() - t < 5, "LIST took %.1f s" % (time.time() - t)
typ, d = m.list('""', "*")
assert any(b'"Sent"' in x or b" Sent" in x for x in d), d
m.logout()
# 100 idle connections, then a real session still works
idle = [socket.create_connection(("127.0.0.1", int(ip)), timeout=10) for _ in range(100)]
import imaplib
m = imaplib.IMAP4("127.0.0.1", int(ip), timeout=20)
m.noop(); m.logout()
for c in idle: c.close()
# a client that pipelines and never reads: its session stops reading it
# once replies wait; another session is served meanwhile
nr = socket.create_connection(("127.0.0.1", int(sp)), timeout=10)
nr.setblocking(False)
sent = 0
try:
    for _ in range(4000):
        sent += nr.send(b"NOOP\r\n" * 1000)
except BlockingIOError:
    pass
assert sent < 4000 * 6000, "every byte taken: nothing paced the client"
s2 = smtplib.SMTP("127.0.0.1", int(sp), timeout=20)
assert s2.noop()[0] == 250
s2.quit()
nr.close()
PY
fa plugin info mail --json | jq -e '.state == "running" and .restarts == 0' >/dev/null ||
    fail "the plugin stopped or restarted: $(fa plugin info mail --json | jq -c '{state, restarts, last_error_text}')"
pass "malformed SMTP, a 30 MiB message, lying IMAP literals, 3 failed IMAP logins, a LIST of 200 wildcards, 100 idle connections, a client that never reads: errors, still serving"

# kill -9 during delivery, rounds alternating the side: every message once
fa plugin call mail set retry_min_ms 200 >/dev/null
fa plugin call mail set retry_max_ms 1000 >/dev/null
ROUNDS=${MAIL_KILL_ROUNDS:-20}
SENT=0
for r in $(seq 1 "$ROUNDS"); do
    for i in 1 2 3; do
        printf 'From: <%s>\r\nTo: <%s>\r\nSubject: kill %s.%s\r\n\r\n%s\r\n' "$AADDR" "$BADDR" \
            "$r" "$i" "$(head -c 600000 /dev/urandom | base64 -w 76)" >"$TMPROOT/k.eml"
        # (a submission cut off before its 250 is sent again, as clients
        # do: polled, not slept, up to 20 s)
        for try in $(seq 100); do
            curl -sS --max-time 20 "smtp://127.0.0.1:$SA" --user "me:$APASS" \
                --mail-from "$AADDR" --mail-rcpt "$BADDR" -T "$TMPROOT/k.eml" 2>>"$TMPROOT/curl.err" && break
            [ "$try" = 100 ] && fail "submit $r.$i: $(tail -n 3 "$TMPROOT/curl.err")"
            sleep 0.2
        done
        SENT=$((SENT + 1))
    done
    sleep "0.0$((RANDOM % 9))"
    if [ $((r % 2)) = 1 ]; then
        kill -KILL "$B_PID"; wait_gone "$B_PID" || fail "B lives"
        start_at "$B" "$PB"; B_PID=$DAEMON_PID
    else
        kill -KILL "$A_PID"; wait_gone "$A_PID" || fail "A lives"
        start_at "$A" "$PA"; A_PID=$DAEMON_PID
        wait_until 10 is_bound "$A" smtp "$SA" || fail "A's smtp after the restart"
    fi
done
count_kill() { fb plugin call mail list | jq '[.messages[] | select(.subject | startswith("kill "))] | length'; }
kill_all_in() { test "$(count_kill)" = "$SENT"; }
wait_until 60 kill_all_in || fail "kill -9: $(count_kill) of $SENT arrived; outbox: $(fa plugin call mail outbox)"
dups=$(fb plugin call mail list | jq -r '.messages[].subject' | sort | uniq -d)
[ -z "$dups" ] || fail "twice: $dups"
outbox_empty() { test "$(fa plugin call mail outbox | jq .queued)" = 0; }
wait_until 20 outbox_empty || fail "outbox: $(fa plugin call mail outbox)"
pass "kill -9 of either daemon in $ROUNDS rounds during delivery: $SENT messages, each exactly once"

# a lost ACK, made certain: B stores the message and acknowledges it;
# then A's database goes back to before (its outbox row there again, as
# when A dies before the ACK's delete commits): A sends again, B answers
# from its dedup row and stores nothing twice
lost_in() { test "$(fb mail list --json | jq '[.messages[] | select(.subject == "lost ack")] | length')" = "$1"; }
kill -KILL "$B_PID"; wait_gone "$B_PID"
fa mail send "$BADDR" --subject "lost ack" </dev/null >/dev/null || fail "send lost ack"
kill -KILL "$A_PID"; wait_gone "$A_PID"
cp -a "$A/data/mail" "$TMPROOT/a-mail-before"
start_at "$A" "$PA"; A_PID=$DAEMON_PID
start_at "$B" "$PB"; B_PID=$DAEMON_PID
wait_until 30 lost_in 1 || fail "lost ack: not delivered"
wait_until 20 outbox_empty || fail "lost ack: outbox: $(fa plugin call mail outbox)"
kill -KILL "$A_PID"; wait_gone "$A_PID"
rm -rf "$A/data/mail"
cp -a "$TMPROOT/a-mail-before" "$A/data/mail"
start_at "$A" "$PA"; A_PID=$DAEMON_PID
wait_until 20 outbox_empty || fail "lost ack: the resent message was not acknowledged"
# (a list call can fail on a loaded machine: asked again for a few seconds)
wait_until 10 lost_in 1 || fail "lost ack: stored twice: $(fb mail list --json)"
pass "a retry after a lost ACK is answered from the recipient's dedup row: stored once"

# a peer away for the whole retry time: a failure notice at the sender
fa plugin call mail set give_up_ms 1500 >/dev/null
kill -KILL "$B_PID"; wait_gone "$B_PID"
fa plugin call mail send "$BADDR" "never arrives" "x" >/dev/null
wait_until 30 bash -c "'$FASTN_BIN_CLI' --home '$A' --no-autostart plugin call mail list | jq -e '.messages[] | select(.subject == \"Undelivered Mail Returned to Sender\")'" ||
    fail "no failure notice: $(fa plugin call mail list)"
[ "$(fa plugin call mail outbox | jq .queued)" = 0 ] || fail "outbox kept it"
pass "a peer away past give_up_ms: a delivery failure notice in the sender's INBOX"
