#!/bin/bash
# IMAP commands pipelined past the mail plugin's output limit: a client
# sends 200 commands at once (UID FETCH 1:* of three 200 KB messages and
# NOOPs, interleaved) and reads nothing for 2 s, then reads: every tag
# gets its tagged OK, in order, with all its FETCH data. A client that
# pipelines FETCHes of one message and never reads: the plugin's replies
# stay bounded (it takes no more input; it was not restarted), the session is closed after idle_ms with a
# log line, and another session is served meanwhile.
. "$(dirname "$0")/mail.bash"
A=$(new_home)
IA=$(free_port) SA=$(free_port)
printf 'plugin-listen = mail smtp %s\nplugin-listen = mail imap %s\n' "$SA" "$IA" >>"$A/config"
start_at "$A" 0
A_PID=$DAEMON_PID
fa plugin install "$MAILP" >/dev/null || fail "install"
wait_until 5 is_bound "$A" imap "$IA" || fail "imap: $(bound "$A" imap)"
APASS=$(fa plugin call mail setup | jq -r .password) || fail "setup"

python3 - "$IA" "$APASS" <<'PY' || fail "pipelined commands"
import socket, sys, time
port, pw = int(sys.argv[1]), sys.argv[2]

class Conn:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
    def more(self):
        d = self.s.recv(65536)
        if not d:
            raise SystemExit("the server closed the connection")
        self.buf += d
    def line(self):
        while b"\r\n" not in self.buf:
            self.more()
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l
    def response(self):
        """One response line with its literals' bytes: (text, literal bytes)."""
        l, lits = self.line(), 0
        while l.endswith(b"}") and b"{" in l:
            n = int(l[l.rindex(b"{") + 1:-1])
            while len(self.buf) < n:
                self.more()
            lits += n
            self.buf = self.buf[n:]
            l += b"<lit>" + self.line()
        return l, lits
    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        while True:
            l, _ = self.response()
            if l.startswith(b"x "):
                assert b" OK" in l, l
                return

c = Conn()
c.line()
c.cmd("x LOGIN me " + pw)
for i in range(3):
    msg = ("Subject: p%d\r\n\r\n" % i + ("%07d " % i) * 25000 + "\r\n").encode()
    c.s.sendall(b"x APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    while not c.line().startswith(b"x "):
        pass
c.cmd("x SELECT INBOX")
tags = []
cmds = b""
for i in range(200):
    t = "t%03d" % i
    tags.append(t)
    cmds += (t + (" UID FETCH 1:* (BODY.PEEK[])" if i % 2 == 0 else " NOOP") + "\r\n").encode()
start = time.time()
c.s.sendall(cmds)
time.sleep(2)  # read nothing: the plugin's replies pile up
got, fetched = [], 0
while len(got) < len(tags):
    try:
        l, n = c.response()
    except TimeoutError:
        raise SystemExit("no reply for 30 s after %d of %d tagged replies (the last: %s)"
                         % (len(got), len(tags), got[-1:] or None))
    fetched += n
    if l[:1] == b"t":
        tag = l.split(b" ", 1)[0].decode()
        assert b" OK " in l, l
        got.append(tag)
    if time.time() - start > 120:
        raise SystemExit("after 120 s: %d of %d tagged replies" % (len(got), len(tags)))
assert got == tags, "out of order: %r" % [g for g, w in zip(got, tags) if g != w][:5]
want = 100 * 3 * len(("Subject: p0\r\n\r\n" + "0000000 " * 25000 + "\r\n"))
assert fetched == want, (fetched, want)
print("# 200 pipelined commands answered in order in %.1f s" % (time.time() - start))
PY
pass "200 pipelined IMAP commands (FETCHes of 600 KB, NOOPs) read after 2 s: every tag answered, in order, all data"

# a client that pipelines FETCHes and never reads: bounded, then closed
fa plugin call mail set idle_ms 3000 >/dev/null
python3 - "$IA" "$APASS" <<'PY' || fail "a client that never reads"
import socket, sys, time, imaplib
port, pw = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.recv(1000)
s.sendall(b"x LOGIN me %s\r\nx SELECT INBOX\r\n" % pw.encode())
time.sleep(0.5)
sent = 0
s.setblocking(False)
t0 = time.time()
while time.time() - t0 < 3:  # as many FETCHes as the plugin takes
    try:
        sent += s.send(b"f UID FETCH 3 (BODY.PEEK[])\r\n" * 100)
    except BlockingIOError:
        time.sleep(0.05)
# (what was sent waits in the kernel's buffers and the host's backlog:
# the plugin takes no more once one FETCH's replies wait)
# meanwhile, another session is served
im = imaplib.IMAP4("127.0.0.1", port, timeout=30)
im.login("me", pw)
im.select("INBOX")
typ, d = im.uid("FETCH", "1", "(RFC822.SIZE)")
assert typ == "OK", d
im.logout()
# idle_ms (3 s) later the stuck session is closed
s.setblocking(True)
s.settimeout(1)
deadline = time.time() + 90
while time.time() < deadline:
    try:
        s.send(b"f NOOP\r\n")
    except (BrokenPipeError, ConnectionResetError):
        break
    except socket.timeout:
        pass
    try:
        while s.recv(1 << 20):
            pass
        break  # EOF: closed
    except socket.timeout:
        pass
    except ConnectionResetError:
        break
else:
    raise SystemExit("the session that never reads was not closed")
print("# %d bytes of commands sent by a client that never reads" % sent)
PY
info=$(fa plugin info mail --json)
# 2000 FETCHes of 200 KB fit in one 64 KiB delivery of input: answered at
# once, they were 400 MB of replies in a plugin of 64 MiB
jq -e '.restarts == 0 and .memory.linear < 48 * 1048576' <<<"$info" >/dev/null ||
    fail "the plugin's memory: $(jq -c '{restarts, memory, last_error_text}' <<<"$info")"
echo "# the plugin's linear memory: $(jq .memory.linear <<<"$info") bytes"
# the line may reach the log a moment after the client saw the close
wait_until 5 sh -c "cat '$A'/*.log | grep -q 'imap: a session that does not read its replies closed'" ||
    fail "no log line for the closed session: $(cat "$A"/*.log | grep imap | tail -3)"
pass "a client that pipelines FETCHes and never reads: input taken stays bounded, closed after idle_ms with a log line, others served"
