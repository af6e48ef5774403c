#!/bin/bash
# The mail plugin with mail clients no one here wrote, on two daemons on
# loopback: s-nail in batch mode submits a message over SMTP at A and it
# arrives at B; mbsync (isync) syncs B's whole account over IMAP into a
# Maildir (byte for byte what was sent, with the LF line ends mbsync
# gives a Maildir) and back (byte for byte, CRLF again): flags changed on either
# side, a move between folders on either side, a delete on either side,
# and a message put in the Maildir is appended to the server unchanged.
. "$(dirname "$0")/mail.bash"
mail_needs curl mbsync s-nail
mail_pair
wait_until 5 is_bound "$A" smtp "$SA" || fail "A's smtp: $(bound "$A" smtp)"
wait_until 5 is_bound "$B" imap "$IB" || fail "B's imap: $(bound "$B" imap)"
JA=$(fa plugin call mail setup) || fail "setup at A"
JB=$(fb plugin call mail setup) || fail "setup at B"
AADDR=$(jq -r .address <<<"$JA") APASS=$(jq -r .password <<<"$JA")
BADDR=$(jq -r .address <<<"$JB") BPASS=$(jq -r .password <<<"$JB")
subjects() { fb mail list --json | jq -r '.messages[].subject'; }
arrived() { subjects | grep -qx "$1"; }

# s-nail in batch mode: SMTP AUTH PLAIN at A, delivered to B
printf 'hello from s-nail\n.a dot line\n' |
    HOME=$TMPROOT s-nail -# -:/ -Sv15-compat -Snosave -Sttycharset=utf-8 \
        -S "mta=smtp://me:$APASS@127.0.0.1:$SA" -S smtp-auth=plain \
        -r "$AADDR" -s "via s-nail" "$BADDR" 2>"$TMPROOT/snail.err" ||
    fail "s-nail: $(cat "$TMPROOT/snail.err")"
wait_until 20 arrived "via s-nail" || fail "s-nail's message did not arrive: $(subjects)"
uid=$(fb mail list --json | jq '.messages[] | select(.subject == "via s-nail") | .uid')
fb mail read "$uid" | grep -q "^\.a dot line" || fail "s-nail's body: $(fb mail read "$uid")"
pass "s-nail in batch mode submits over SMTP at A; the message arrives at B"

# fastn mail send --attach: a MIME multipart/mixed message that Python's
# email module reads back (names, types, bytes); clear errors
head -c 70000 /dev/urandom >"$TMPROOT/photo.JPG"
printf 'a,b\n1,2\n' >"$TMPROOT/t.csv"
head -c 3000 /dev/urandom >"$TMPROOT/blob"
cp "$TMPROOT/t.csv" "$TMPROOT/na\"me ü.csv"
out=$(printf 'see the files\nbye\n' | fa mail send "$BADDR" --subject "with files" \
    --attach "$TMPROOT/photo.JPG" -a "$TMPROOT/t.csv" --attach "$TMPROOT/blob" \
    -a "$TMPROOT/na\"me ü.csv" --json) || fail "send --attach: $out"
jq -e '.queued_for == 1 and (.attachments | length) == 4 and
    .attachments[0] == {"file": "photo.JPG", "content_type": "image/jpeg", "size": 70000} and
    .attachments[2].content_type == "application/octet-stream"' <<<"$out" >/dev/null ||
    fail "send --attach --json: $out"
wait_until 20 arrived "with files" || fail "the message with files did not arrive: $(subjects)"
uid=$(fb mail list --json | jq '.messages[] | select(.subject == "with files") | .uid')
fb mail read "$uid" >"$TMPROOT/files.eml" || fail "mail read of the message with files"
python3 - "$TMPROOT" <<'PY' || fail "the message with files, read by Python's email module"
import email, email.policy, sys
t = sys.argv[1]
m = email.message_from_bytes(open(t + "/files.eml", "rb").read(), policy=email.policy.default)
assert m.get_content_type() == "multipart/mixed" and m["Subject"] == "with files", m
parts = list(m.iter_parts())
assert len(parts) == 5, [p.get_content_type() for p in parts]
assert parts[0].get_content_type() == "text/plain" and parts[0].get_content().replace("\r\n", "\n") == "see the files\nbye\n", repr(parts[0].get_content())
want = [("photo.JPG", "image/jpeg", "photo.JPG"), ("t.csv", "text/csv", "t.csv"),
        ("blob", "application/octet-stream", "blob"), ('na"me ü.csv', "text/csv", 'na"me ü.csv')]
for p, (name, ctype, path) in zip(parts[1:], want):
    assert p.get_filename() == name and p.get_content_type() == ctype, (p.get_filename(), p.get_content_type())
    assert p["Content-Transfer-Encoding"] == "base64" and p.get_content_disposition() == "attachment"
    assert p.get_payload(decode=True) == open(t + "/" + path, "rb").read(), name
PY
out=$(fa mail send "$BADDR" --subject x --attach "$TMPROOT/nope.pdf" </dev/null 2>&1) && fail "a missing attachment sent"
grep -q "cannot read the attachment .*nope.pdf: No such file" <<<"$out" || fail "missing attachment said: $out"
out=$(fa mail send "$BADDR" --subject x --attach "$TMPROOT" </dev/null 2>&1) && fail "a directory attached"
grep -q "cannot read the attachment" <<<"$out" || fail "a directory as attachment said: $out"
out=$(fa mail list --attach "$TMPROOT/t.csv" 2>&1) && fail "list --attach taken"
grep -q "attach is for send" <<<"$out" || fail "list --attach said: $out"
fa mail --help | grep -q -- "--attach FILE" || fail "mail --help has no --attach"
pass "fastn mail send --attach: multipart/mixed that Python's email module reads (names, types, bytes); clear errors"

# a burst: 40 messages in one SMTP session all arrive within seconds
# (none waits for a retry: retry_min_ms is 30 s)
python3 - "$SA" "$APASS" "$AADDR" "$BADDR" <<'PY' || fail "burst submission"
import smtplib, sys
sp, pw, a, b = sys.argv[1:]
s = smtplib.SMTP("127.0.0.1", int(sp), timeout=60)
s.login("me", pw)
for i in range(40):
    s.sendmail(a, [b], "From: <%s>\r\nTo: <%s>\r\nSubject: burst %d\r\n\r\n%s" % (a, b, i, "x" * 10000))
s.quit()
PY
bursts() { fb mail list --json | jq '[.messages[] | select(.subject | startswith("burst "))] | length'; }
burst_in() { test "$(bursts)" = 40; }
wait_until 20 burst_in || fail "the burst: $(bursts) of 40 arrived in 20 s; outbox: $(fa plugin call mail outbox | head -c 600)"
pass "a burst of 40 messages in one SMTP session: all delivered within seconds"

# three messages of known bytes (one of 300 KB, one with 8-bit text) to B
for i in 1 2 3; do
    {
        printf 'From: <%s>\r\nTo: <%s>\r\nSubject: sync %s\r\n' "$AADDR" "$BADDR" "$i"
        printf 'Message-ID: <sync%s@test>\r\nDate: Mon, 7 Dec 2026 10:00:0%s +0000\r\n' "$i" "$i"
        printf 'Content-Type: text/plain; charset=utf-8\r\n\r\nbody %s \xe2\x98\x83\r\n' "$i"
        if [ "$i" = 2 ]; then head -c 225000 /dev/urandom | base64 -w 76 | sed 's/$/\r/'; fi
    } >"$TMPROOT/s$i.eml"
    curl -sS --max-time 20 "smtp://127.0.0.1:$SA" --user "me:$APASS" \
        --mail-from "$AADDR" --mail-rcpt "$BADDR" -T "$TMPROOT/s$i.eml" || fail "curl smtp $i"
done
for i in 1 2 3; do wait_until 20 arrived "sync $i" || fail "sync $i did not arrive: $(subjects)"; done

MD=$TMPROOT/maildir
mkdir -p "$MD"
{
    mbsync_rc 20 "SubFolders Verbatim"
    printf '%s\n' "Channel all" "Far :far:" "Near :near:" "Patterns *" \
        "Create Both" "Remove Both" "Expunge Both" "SyncState *"
} >"$TMPROOT/mbsyncrc"
sync_all() {
    mbsync -Dn -c "$TMPROOT/mbsyncrc" -a >"$TMPROOT/mbsync.out" 2>&1 ||
        fail "mbsync ($1): $(grep -v -i "login" "$TMPROOT/mbsync.out" | tail -n 30)"
}
in_md() { # FOLDER SUBJECT: the Maildir file holding it
    { grep -lx "Subject: $2" "$MD/$1"/cur/* "$MD/$1"/new/* 2>/dev/null || true; } | head -n 1
}
md_body() { sed '/^X-TUID: [A-Za-z0-9+/]\{12\}$/d' "$1"; }
sync_all first
for f in INBOX Sent Drafts Trash Archive; do
    [ -d "$MD/$f/cur" ] || fail "no Maildir folder $f: $(ls "$MD")"
done
for i in 1 2 3; do
    f=$(in_md INBOX "sync $i")
    [ -n "$f" ] || fail "sync $i is not in the Maildir: $(ls -R "$MD/INBOX")"
    # (mbsync keeps a Maildir's messages with LF line ends, as Maildirs
    # do, and adds its X-TUID header, its own mark for resuming a sync)
    md_body "$f" | cmp - <(sed 's/\r$//' "$TMPROOT/s$i.eml") ||
        fail "sync $i: other bytes in the Maildir: $(diff <(md_body "$f") <(sed 's/\r$//' "$TMPROOT/s$i.eml") | head -c 500)"
done
[ -n "$(in_md INBOX "via s-nail")" ] || fail "s-nail's message is not in the Maildir"
pass "mbsync copies B's whole account into a Maildir: every folder, byte-identical messages"

# the Maildir side changes: a flag, seen, a move to a new folder, a delete,
# and a new message (appended to the server as it is)
f1=$(in_md INBOX "sync 1") f2=$(in_md INBOX "sync 2") f3=$(in_md INBOX "sync 3")
mv "$f1" "${f1%%:2,*}:2,FS"
mkdir -p "$MD/Kept/cur" "$MD/Kept/new" "$MD/Kept/tmp"
mv "$f2" "$MD/Kept/cur/$(basename "${f2%%,U=*}"):2,S"
rm "$f3"
printf 'From: <%s>\r\nTo: <%s>\r\nSubject: from the maildir\r\nMessage-ID: <md1@test>\r\n\r\nput by hand\r\n' \
    "$BADDR" "$BADDR" >"$TMPROOT/md1.eml"
sed 's/\r$//' "$TMPROOT/md1.eml" >"$MD/Drafts/new/1765000000.1_1.test:2,D"
sync_all "the Maildir's changes"
python3 - "$IB" "$BPASS" "$TMPROOT" <<'PY' || fail "the server after the Maildir's changes: $(grep -E 'EXPUNGE|Deleted|CLOSE|SELECT|LOGOUT' "$TMPROOT/mbsync.out" | grep -iv login | tail -n 40)"
import imaplib, re, sys
ip, pw, tmp = sys.argv[1:]
def no_tuid(b): # the header mbsync adds to mark its copies
    return re.sub(rb"(?m)^X-TUID: [A-Za-z0-9+/]{12}\r\n", b"", b, count=1)
m = imaplib.IMAP4("127.0.0.1", int(ip), timeout=20)
m.login("me", pw)
def find(folder, subj):
    assert m.select(folder)[0] == "OK", folder
    typ, d = m.uid("SEARCH", None, "HEADER", "Subject", '"%s"' % subj)
    return d[0].split()
u = find("INBOX", "sync 1")
assert len(u) == 1, (u, m.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
typ, d = m.uid("FETCH", u[0], "(FLAGS)")
assert b"\\Flagged" in d[0] and b"\\Seen" in d[0], d
assert find("INBOX", "sync 2") == [] and find("INBOX", "sync 3") == [], ("moved/deleted still in INBOX", m.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
u = find("Kept", "sync 2")
assert len(u) == 1, u
typ, d = m.uid("FETCH", u[0], "(BODY.PEEK[])")
assert no_tuid(d[0][1]) == open(tmp + "/s2.eml", "rb").read(), ("sync 2 changed on its way back", d[0][1][:400])
for f in ("INBOX", "Kept", "Sent", "Drafts", "Trash", "Archive"):
    assert find(f, "sync 3") == [], "the deleted message is in " + f
u = find("Drafts", "from the maildir")
assert len(u) == 1, u
typ, d = m.uid("FETCH", u[0], "(FLAGS BODY.PEEK[])")
assert no_tuid(d[0][1]) == open(tmp + "/md1.eml", "rb").read(), d[0][1]
assert b"\\Draft" in d[0][0], d[0][0]
m.logout()
PY

pass "mbsync back to the server: flags, a move to a new folder, a delete, a new message (unchanged)"

# the server side changes: flags, a move, a delete; mbsync brings them
python3 - "$IB" "$BPASS" <<'PY' || fail "changes at the server"
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=20)
m.login("me", sys.argv[2])
m.select("INBOX")
u = m.uid("SEARCH", None, "SUBJECT", '"sync 1"')[1][0].split()
assert m.uid("STORE", u[0], "-FLAGS", r"(\Flagged)")[0] == "OK"
assert m.uid("STORE", u[0], "+FLAGS", r"(\Answered)")[0] == "OK"
u = m.uid("SEARCH", None, "SUBJECT", '"via s-nail"')[1][0].split()
assert m.uid("MOVE", u[0], "Archive")[0] == "OK"
m.select("Kept")
u = m.uid("SEARCH", None, "SUBJECT", '"sync 2"')[1][0].split()
m.uid("STORE", u[0], "+FLAGS", r"(\Deleted)")
m.expunge()
m.logout()
PY
sync_all "the server's changes"
f1=$(in_md INBOX "sync 1")
case "$f1" in *:2,RS) ;; *) fail "sync 1's flags in the Maildir: $f1" ;; esac
[ -z "$(in_md INBOX "via s-nail")" ] || fail "the moved message is still in the Maildir's INBOX"
[ -n "$(in_md Archive "via s-nail")" ] || fail "the moved message is not in the Maildir's Archive"
[ -z "$(in_md Kept "sync 2")" ] || fail "the deleted message is still in the Maildir"
md_body "$f1" | cmp - <(sed 's/\r$//' "$TMPROOT/s1.eml") || fail "sync 1 changed"
tree() { (cd "$MD" && find . -type f ! -name '.*' | sort); }
before=$(tree)
sync_all "nothing new"
[ "$(tree)" = "$before" ] || fail "a sync with nothing new changed the Maildir: $(diff <(echo "$before") <(tree))"
fb plugin info mail --json | jq -e '.state == "running"' >/dev/null || fail "the plugin stopped"
pass "mbsync from the server: flags, a move, a delete; a sync after that changes nothing"
