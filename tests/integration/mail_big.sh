#!/bin/bash
# fastn mail send past one call's 1 MiB, on two daemons on loopback: the
# CLI streams the message to the plugin in send_data calls into a staged
# append, committed into Sent and the outbox at send_end. A 5 MiB and a
# 20 MiB attachment arrive at B byte-identical (Python's email module
# decodes the part fetched over IMAP in pieces); the 20 MiB message
# fetched whole in one UID FETCH (BODY.PEEK[]), by imaplib and by mbsync,
# is byte-identical and streams (the plugin is not restarted, its memory
# stays small); a message over size_max is refused
# naming the limit and the setting, with nothing left behind; a CLI killed
# mid-send leaves nothing in Sent or the outbox, its staged bytes are
# dropped after send_idle_ms, and the plugin goes on serving.
. "$(dirname "$0")/mail.bash"
mail_needs mbsync
mail_pair
wait_until 5 is_bound "$B" imap "$IB" || fail "B's imap: $(bound "$B" imap)"
JB=$(fb plugin call mail setup) || fail "setup at B"
BADDR=$(jq -r .address <<<"$JB") BPASS=$(jq -r .password <<<"$JB")
subjects() { fb mail list --json | jq -r '.messages[].subject'; }
arrived() { subjects | grep -qx "$1"; }
sent_has() { fa mail list --folder Sent --json | jq -e --arg s "$1" 'any(.messages[]; .subject == $s)' >/dev/null; }
outbox() { fa plugin call mail outbox; }

# a 5 MiB and a 20 MiB attachment (7 and 27 MB in base64 with the 25 MiB
# limit raised for the second): byte-identical at B
head -c $((5 << 20)) /dev/urandom >"$TMPROOT/five.bin"
head -c $((20 << 20)) /dev/urandom >"$TMPROOT/twenty.pdf"
t0=$(date +%s)
out=$(echo "five" | fa mail send "$BADDR" --subject big5 -a "$TMPROOT/five.bin" --json) ||
    fail "send 5 MiB: $out"
jq -e '.queued_for == 1 and .attachments[0].size == 5242880' <<<"$out" >/dev/null || fail "send 5 MiB --json: $out"
fa plugin call mail set size_max $((30 << 20)) >/dev/null
fb plugin call mail set size_max $((30 << 20)) >/dev/null
out=$(echo "twenty" | fa mail send "$BADDR" --subject big20 -a "$TMPROOT/twenty.pdf") || fail "send 20 MiB: $out"
[ "$out" = "queued for 1 peers" ] || fail "send 20 MiB said: $out"
t1=$(date +%s)
sent_has big20 || fail "20 MiB not in A's Sent"
wait_until 120 arrived big20 || fail "20 MiB did not arrive: $(subjects); outbox: $(outbox)"
wait_until 30 arrived big5 || fail "5 MiB did not arrive: $(subjects)"
echo "# sent 25 MiB of files in $((t1 - t0)) s, delivered in $(($(date +%s) - t1)) s more (load: $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$IB" "$BPASS" "$TMPROOT" <<'PY' || fail "the attachments at B, fetched over IMAP"
import email, email.policy, hashlib, imaplib, sys
port, pw, t = sys.argv[1:]
im = imaplib.IMAP4("127.0.0.1", int(port), timeout=120)
im.login("me", pw)
im.select("INBOX")
for subj, name, text in (("big5", "five.bin", "five"), ("big20", "twenty.pdf", "twenty")):
    typ, d = im.uid("SEARCH", "SUBJECT", subj)
    uids = d[0].split()
    assert typ == "OK" and len(uids) == 1, (subj, d)
    # in pieces of 512 KiB, as Thunderbird fetches large messages
    raw, off = b"", 0
    while True:
        typ, d = im.uid("FETCH", uids[0], "(BODY.PEEK[]<%d.524288>)" % off)
        assert typ == "OK" and isinstance(d[0], tuple), d[:1]
        raw += d[0][1]
        off += 524288
        if len(d[0][1]) < 524288:
            break
    m = email.message_from_bytes(raw, policy=email.policy.default)
    parts = list(m.iter_parts())
    assert len(parts) == 2, [p.get_content_type() for p in parts]
    assert parts[0].get_content().strip() == text
    assert parts[1].get_filename() == name
    got = hashlib.sha256(parts[1].get_payload(decode=True)).hexdigest()
    want = hashlib.sha256(open(t + "/" + name, "rb").read()).hexdigest()
    assert got == want, (name, got, want)
    if subj == "big20":
        open(t + "/big20.eml", "wb").write(raw)
im.logout()
PY
pass "fastn mail send --attach of 5 MiB and 20 MiB: byte-identical at the peer (sha256 of the decoded parts)"

# the 20 MiB message whole in one FETCH, as mbsync asks for it: the
# reply streams from the store as the client reads (no event reads it
# whole, no copy of it in plugin memory), byte-identical to the pieces
restarts() { fb plugin info mail --json | jq .restarts; }
r0=$(restarts)
python3 - "$IB" "$BPASS" "$TMPROOT" <<'PY' || fail "the 20 MiB message fetched whole"
import hashlib, imaplib, sys, time
port, pw, t = sys.argv[1:]
want = open(t + "/big20.eml", "rb").read()
im = imaplib.IMAP4("127.0.0.1", int(port), timeout=120)
im.login("me", pw)
im.select("INBOX")
typ, d = im.uid("SEARCH", "SUBJECT", "big20")
uid = d[0].split()[0]
t0 = time.time()
typ, d = im.uid("FETCH", uid, "(RFC822.SIZE BODY.PEEK[])")
assert typ == "OK" and isinstance(d[0], tuple), d[:1]
got = d[0][1]
assert b"RFC822.SIZE %d " % len(want) in d[0][0], d[0][0]
assert hashlib.sha256(got).digest() == hashlib.sha256(want).digest(), (len(got), len(want))
im.logout()
# a client that reads slowly: the session waits for it
import socket
s = socket.create_connection(("127.0.0.1", int(port)), timeout=60)
f = s.makefile("rb"); f.readline()
s.sendall(b"a LOGIN me %s\r\nb SELECT INBOX\r\nc UID FETCH %s (BODY.PEEK[])\r\n" % (pw.encode(), uid))
time.sleep(2)
while not f.readline().startswith(b"b OK"): pass
head = f.readline()
assert head.endswith(b"{%d}\r\n" % len(want)), head
n = 0
while n < len(want):
    k = len(f.read(min(65536, len(want) - n)))
    assert k > 0, n
    n += k
    time.sleep(0.001)
assert f.readline() == b")\r\n" and f.readline().startswith(b"c OK")
s.close()
print("# 20 MiB fetched whole twice in %.1f s" % (time.time() - t0))
PY
mem=$(fb plugin info mail --json | jq -c '{memory_pages, linear: .memory.linear}')
echo "# plugin memory after the whole FETCH: $mem (load: $(cut -d' ' -f1-3 /proc/loadavg))"
pages=$(jq .memory_pages <<<"$mem")
[ "$pages" -lt 320 ] || fail "the plugin grew to $pages pages (20 MiB held?): $mem"
[ "$(restarts)" = "$r0" ] || fail "the plugin restarted in the FETCH: $(fb plugin info mail --json | jq -c '{restarts, last_error_text}')"
pass "UID FETCH (BODY.PEEK[]) of the 20 MiB message whole: byte-identical, streamed ($mem), no restart"

# mbsync (isync) pulls B's INBOX, the 20 MiB message with it, into a Maildir
MD=$TMPROOT/maildir
mkdir -p "$MD"
{
    mbsync_rc 120
    printf '%s\n' "Channel inbox" "Far :far:INBOX" "Near :near:INBOX" \
        "Create Near" "Sync Pull" "SyncState *"
} >"$TMPROOT/mbsyncrc"
timeout 300 mbsync -c "$TMPROOT/mbsyncrc" -a >"$TMPROOT/mbsync.out" 2>&1 ||
    fail "mbsync: $(grep -v -i login "$TMPROOT/mbsync.out" | tail -n 20)"
f=$({ grep -lx "Subject: big20" "$MD"/INBOX/cur/* "$MD"/INBOX/new/* 2>/dev/null || true; } | head -n 1)
[ -n "$f" ] || fail "the 20 MiB message is not in mbsync's Maildir: $(ls -R "$MD" | head)"
# (a Maildir keeps LF line ends; mbsync adds its X-TUID header)
sed '/^X-TUID: [A-Za-z0-9+/]\{12\}$/d' "$f" | cmp -s - <(sed 's/\r$//' "$TMPROOT/big20.eml") ||
    fail "mbsync's copy of the 20 MiB message differs"
[ "$(restarts)" = "$r0" ] || fail "the plugin restarted in mbsync's sync"
pass "mbsync pulls the 20 MiB message into a Maildir: the same bytes, no restart"

# what Thunderbird asks of a new message: its BODYSTRUCTURE and ENVELOPE,
# then a part by number (BODY[2], the attachment): the right structure
# and bytes, no restart
python3 - "$IB" "$BPASS" "$TMPROOT" <<'PY' || fail "BODYSTRUCTURE and BODY[2] of the 20 MiB message"
import base64, hashlib, imaplib, sys
port, pw, t = sys.argv[1:]
im = imaplib.IMAP4("127.0.0.1", int(port), timeout=120)
im.login("me", pw)
im.select("INBOX")
typ, d = im.uid("SEARCH", "SUBJECT", "big20")
uid = d[0].split()[0]
typ, d = im.uid("FETCH", uid, "(BODYSTRUCTURE ENVELOPE)")
assert typ == "OK", d
bs = d[0] if isinstance(d[0], bytes) else d[0][0]
assert b'"MIXED"' in bs.upper() and b'"twenty.pdf"' in bs, bs[:400]
typ, d = im.uid("FETCH", uid, "(BODY.PEEK[2])")
assert typ == "OK" and isinstance(d[0], tuple), d[:1]
got = hashlib.sha256(base64.b64decode(d[0][1])).digest()
assert got == hashlib.sha256(open(t + "/twenty.pdf", "rb").read()).digest()
im.logout()
PY
[ "$(restarts)" = "$r0" ] || fail "the plugin restarted in BODYSTRUCTURE or BODY[2]: $(fb plugin info mail --json | jq -c '{restarts, last_error_text}')"
pass "BODYSTRUCTURE, ENVELOPE and BODY[2] of the 20 MiB message: right, no restart"

# over the limit: refused, naming it and the setting; nothing left behind
fa plugin call mail set size_max $((25 << 20)) >/dev/null
head -c $((19 << 20)) /dev/urandom >"$TMPROOT/nineteen.bin"
out=$(fa mail send "$BADDR" --subject toobig -a "$TMPROOT/twenty.pdf" -a "$TMPROOT/nineteen.bin" </dev/null 2>&1) &&
    fail "39 MiB of attachments sent"
grep -q "over the mail plugin's limit of 26214400 bytes.*size_max" <<<"$out" || fail "over the limit said: $out"
out=$(head -c $((26 << 20)) /dev/zero | tr '\0' 'x' | fa mail send "$BADDR" --subject toobig2 2>&1) &&
    fail "a 26 MiB body sent"
grep -q "over the mail plugin's limit of 26214400 bytes.*size_max" <<<"$out" || fail "a 26 MiB body said: $out"
! sent_has toobig && ! sent_has toobig2 || fail "a refused message is in Sent"
o=$(outbox)
jq -e '.queued == 0 and .sending == 0 and .partial == 0' <<<"$o" >/dev/null || fail "after refusals: $o"
pass "a message over size_max (attachments, or a body from stdin): refused naming the limit and the setting, nothing left"

# a CLI killed mid-send: nothing in Sent or the outbox; the staged bytes go
# after send_idle_ms; the plugin serves on
fa plugin call mail set send_idle_ms 1000 >/dev/null
mkfifo "$TMPROOT/fifo"
(exec "$FASTN_BIN_CLI" --home "$A" --no-autostart mail send "$BADDR" --subject killed <"$TMPROOT/fifo") &
CLI=$!
exec 7>"$TMPROOT/fifo"
head -c 3000000 /dev/urandom >&7
staged() { outbox | jq -e '.sending == 1 and .partial >= 1' >/dev/null; }
wait_until 30 staged || fail "the send is not staged: $(outbox)"
kill -KILL "$CLI"
wait "$CLI" 2>/dev/null || true
exec 7>&-
! sent_has killed || fail "a killed send is in Sent"
[ "$(outbox | jq .queued)" = 0 ] || fail "a killed send is in the outbox: $(outbox)"
sleep 1.5
echo after | fa mail send "$BADDR" --subject "after the kill" >/dev/null || fail "send after the kill"
o=$(outbox)
jq -e '.sending == 0 and .partial == 0' <<<"$o" >/dev/null || fail "the killed send's bytes stayed: $o"
wait_until 30 arrived "after the kill" || fail "the plugin stopped delivering: $(subjects)"
! sent_has killed || fail "a killed send is in Sent"
grep -qs "send [0-9]*: dropped (no data for send_idle_ms" "$A"/*.log ||
    fail "no log line for the dropped send: $(cat "$A"/*.log | grep -i send | tail -5)"
pass "a CLI killed mid-send: nothing in Sent or the outbox, its bytes dropped after send_idle_ms, the plugin serves on"
