/*
 * An SMTP submission server (RFC 5321, RFC 6409) as a state machine: bytes
 * from the client in (mail_smtp_feed), replies out (mail_smtp_output),
 * callbacks for credentials, addresses and the message, which is passed on
 * dot-unstuffed in chunks as it arrives and never held whole.
 *
 * Extensions: PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152),
 * ENHANCEDSTATUSCODES (RFC 2034, codes of RFC 3463), AUTH PLAIN and LOGIN
 * (RFC 4954, RFC 4616). The end of the message is only <CRLF>.<CRLF>
 * (RFC 5321 4.1.1.4), never a bare LF form, so no message can smuggle a
 * second one past us. Invariant: out_len stays under MAIL_SMTP_OUT_MAX,
 * because feed stops reading commands once half of it is waiting and one
 * command's replies are far smaller than that half.
 */
#include <stdio.h>
#include <string.h>

#include "fastn/err.h"
#include "mail.h"

#define ERRORS_MAX 10
#define AUTH_FAILURES_MAX 3
#define PATH_MAX_LEN 256 /* RFC 5321 4.5.3.1.3 */

/* where the message stands in matching <CRLF>.<CRLF> (see data_byte) */
enum { D_LINE, D_MID, D_CR, D_DOT, D_DOTCR };

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

static int reply(struct mail_smtp *s, const char *text)
{
    size_t n = strlen(text);
    if (s->out_len + n + 2 > sizeof(s->out))
        return 0; /* cannot happen (see the invariant above) */
    memcpy(s->out + s->out_len, text, n);
    memcpy(s->out + s->out_len + n, "\r\n", 2);
    s->out_len += n + 2;
    return 0;
}

/* A client error: after ERRORS_MAX of them the session ends (RFC 5321
 * 4.3.2 allows 421 when the server must close). */
static int reply_error(struct mail_smtp *s, const char *text)
{
    reply(s, text);
    if (++s->errors >= ERRORS_MAX) {
        reply(s, "421 4.7.0 Too many errors, closing the connection");
        s->state = MAIL_SMTP_CLOSED;
    }
    return 0;
}

static void txn_abort(struct mail_smtp *s)
{
    if (s->in_txn && s->cb.data_abort)
        s->cb.data_abort(s->cb.ctx);
    s->in_txn = false;
    s->rcpts = 0;
    if (s->state == MAIL_SMTP_MAIL || s->state == MAIL_SMTP_RCPT)
        s->state = MAIL_SMTP_READY;
}

void mail_smtp_init(struct mail_smtp *s, const char *host, uint64_t size_max,
                    const struct mail_smtp_cb *cb)
{
    char g[128];

    memset(s, 0, sizeof(*s));
    snprintf(s->host, sizeof(s->host), "%s", host);
    s->size_max = size_max ? size_max : MAIL_SMTP_SIZE_DEFAULT;
    if (cb)
        s->cb = *cb;
    s->state = MAIL_SMTP_GREET;
    snprintf(g, sizeof(g), "220 %s ESMTP fastn mail submission", s->host);
    reply(s, g);
}

void mail_smtp_cleanup(struct mail_smtp *s)
{
    txn_abort(s);
    wipe(s->user, sizeof(s->user));
    wipe(s->line, sizeof(s->line));
    s->state = MAIL_SMTP_CLOSED;
}

const uint8_t *mail_smtp_output(const struct mail_smtp *s, size_t *len)
{
    *len = s->out_len;
    return s->out;
}

void mail_smtp_consume(struct mail_smtp *s, size_t n)
{
    if (n > s->out_len)
        n = s->out_len;
    memmove(s->out, s->out + n, s->out_len - n);
    s->out_len -= n;
}

bool mail_smtp_is_closed(const struct mail_smtp *s)
{
    return s->state == MAIL_SMTP_CLOSED;
}

/* --- the message ------------------------------------------------------- */

struct chunk {
    uint8_t b[4096];
    size_t n;
};

static void data_flush(struct mail_smtp *s, struct chunk *c)
{
    if (c->n && !s->too_big && !s->data_failed && s->cb.data &&
        s->cb.data(s->cb.ctx, c->b, c->n) != 0) {
        s->data_failed = true;
        txn_abort(s);
    }
    c->n = 0;
}

static void data_emit(struct mail_smtp *s, struct chunk *c, const char *p,
                      size_t n)
{
    s->data_size += n;
    if (!s->too_big && s->data_size > s->size_max) {
        s->too_big = true; /* RFC 1870 6.2: refuse at the end, 552 */
        txn_abort(s);
    }
    while (n > 0) {
        if (c->n == sizeof(c->b))
            data_flush(s, c);
        size_t k = sizeof(c->b) - c->n < n ? sizeof(c->b) - c->n : n;
        memcpy(c->b + c->n, p, k);
        c->n += k;
        p += k;
        n -= k;
    }
}

/* One byte of the message. Held back: a CR (is a LF next?), a dot at the
 * start of a line (stuffing, RFC 5321 4.5.2, or the end) and ".\r".
 * Returns true at the end of the message. */
static bool data_byte(struct mail_smtp *s, struct chunk *c, char ch)
{
    switch (s->data_at) {
    case D_LINE:
        if (ch == '.') {
            s->data_at = D_DOT;
            return false;
        }
        /* fall through */
    case D_MID:
        if (ch == '\r')
            s->data_at = D_CR;
        else {
            data_emit(s, c, &ch, 1);
            s->data_at = D_MID;
        }
        return false;
    case D_DOT: /* the line's first dot is dropped */
        s->data_at = ch == '\r' ? D_DOTCR : D_MID;
        if (ch != '\r')
            data_emit(s, c, &ch, 1);
        return false;
    case D_DOTCR:
        if (ch == '\n')
            return true;
        /* the '\r' after the dropped dot is held: as in D_CR */
        /* fall through */
    case D_CR:
    default:
        if (ch == '\n') {
            data_emit(s, c, "\r\n", 2);
            s->data_at = D_LINE;
        } else if (ch == '\r') {
            data_emit(s, c, "\r", 1);
            s->data_at = D_CR;
        } else {
            data_emit(s, c, "\r", 1);
            data_emit(s, c, &ch, 1);
            s->data_at = D_MID;
        }
        return false;
    }
}

static void data_end(struct mail_smtp *s)
{
    s->state = MAIL_SMTP_READY;
    if (s->too_big)
        reply(s, "552 5.3.4 Message too big for this system: "
                 "send a smaller message");
    else if (s->data_failed)
        reply(s, "451 4.3.0 Could not store the message: try again later");
    else if (s->cb.data_end && s->cb.data_end(s->cb.ctx) != 0)
        reply(s, "451 4.3.0 Could not queue the message: try again later");
    else
        reply(s, "250 2.0.0 Message accepted for delivery");
    s->in_txn = false;
    s->rcpts = 0;
}

/* Reads message bytes; returns how many it used (up to the end). */
static size_t data_feed(struct mail_smtp *s, const uint8_t *p, size_t n)
{
    struct chunk c;
    size_t i = 0;

    c.n = 0;
    while (i < n) {
        /* a run with no CR inside a line, or from a line's start that is
         * no dot: the bytes as they are, at once (a bare LF starts no
         * line: data_byte keeps D_MID for it too) */
        if (s->data_at == D_MID || (s->data_at == D_LINE && p[i] != '.')) {
            const uint8_t *cr = memchr(p + i, '\r', n - i);
            size_t e = cr ? (size_t)(cr - p) : n;
            if (e > i) {
                data_emit(s, &c, (const char *)p + i, e - i);
                s->data_at = D_MID;
                i = e;
                continue;
            }
        }
        if (data_byte(s, &c, (char)p[i++])) {
            data_flush(s, &c);
            data_end(s);
            return i;
        }
    }
    data_flush(s, &c);
    return i;
}

/* --- commands ---------------------------------------------------------- */

static void cmd_ehlo(struct mail_smtp *s, const char *arg, size_t n, bool ehlo)
{
    char r[256];

    (void)arg; /* the client's name is not checked (RFC 5321 4.1.4) */
    if (n == 0) {
        reply_error(s, ehlo ? "501 5.5.4 Syntax: EHLO hostname"
                            : "501 5.5.4 Syntax: HELO hostname");
        return;
    }
    txn_abort(s); /* RFC 5321 4.1.4: EHLO resets the transaction */
    if (s->state == MAIL_SMTP_GREET)
        s->state = MAIL_SMTP_READY;
    if (!ehlo) {
        snprintf(r, sizeof(r), "250 %s", s->host);
        reply(s, r);
        return;
    }
    snprintf(r, sizeof(r), "250-%s", s->host);
    reply(s, r);
    snprintf(r, sizeof(r), "250-SIZE %llu", (unsigned long long)s->size_max);
    reply(s, r);
    reply(s, "250-PIPELINING");
    reply(s, "250-8BITMIME");
    reply(s, "250-ENHANCEDSTATUSCODES");
    reply(s, s->authed ? "250 HELP" : "250 AUTH PLAIN LOGIN");
}

/* <path> at p: copies the address (source route dropped, RFC 5321
 * 4.1.1.3) and returns where the parameters start, or NULL. */
static const char *parse_path(const char *p, const char *end, char *addr,
                              size_t *alen)
{
    const char *gt, *a;

    while (p < end && *p == ' ')
        p++;
    if (p == end || *p != '<')
        return NULL;
    gt = memchr(p, '>', (size_t)(end - p));
    if (!gt)
        return NULL;
    a = p + 1;
    if (a < gt && *a == '@') { /* "@a,@b:user@c" */
        const char *colon = memchr(a, ':', (size_t)(gt - a));
        if (!colon)
            return NULL;
        a = colon + 1;
    }
    if ((size_t)(gt - a) > PATH_MAX_LEN)
        return NULL;
    for (const char *q = a; q < gt; q++)
        if ((unsigned char)*q <= ' ' || *q == '<' || *q == 0x7f || *q == '"' ||
            *q == '\\')
            return NULL;
    memcpy(addr, a, (size_t)(gt - a));
    *alen = (size_t)(gt - a);
    return gt + 1;
}

/* MAIL FROM's parameters (RFC 1870 SIZE=, RFC 6152 BODY=, RFC 4954 AUTH=).
 * Returns the reply for a refused one, or NULL. */
static const char *mail_params(struct mail_smtp *s, const char *p,
                               const char *end)
{
    while (p < end) {
        const char *sp;
        size_t n;
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        sp = memchr(p, ' ', (size_t)(end - p));
        n = (size_t)((sp ? sp : end) - p);
        if (mail_iprefix(p, n, "SIZE=")) {
            uint64_t v = 0;
            if (n == 5 || n > 5 + 19)
                return "501 5.5.4 Bad SIZE= parameter";
            for (size_t i = 5; i < n; i++) {
                if (p[i] < '0' || p[i] > '9')
                    return "501 5.5.4 Bad SIZE= parameter";
                v = v * 10 + (uint64_t)(p[i] - '0');
            }
            if (v > s->size_max)
                return "552 5.3.4 Message size exceeds the fixed maximum "
                       "message size";
        } else if (!mail_ieq(p, n, "BODY=7BIT") &&
                   !mail_ieq(p, n, "BODY=8BITMIME") &&
                   !mail_iprefix(p, n, "AUTH=")) {
            return "555 5.5.4 Unsupported MAIL FROM parameter";
        }
        p += n;
    }
    return NULL;
}

static int cmd_mail(struct mail_smtp *s, const char *arg, size_t n)
{
    char addr[PATH_MAX_LEN + 1];
    size_t alen = 0;
    const char *end = arg + n, *p, *bad;
    int err;

    if (s->state == MAIL_SMTP_GREET)
        return reply_error(s, "503 5.5.1 Send EHLO first");
    if (s->state != MAIL_SMTP_READY)
        return reply_error(s, "503 5.5.1 Nested MAIL command: send RSET");
    if (s->cb.auth && !s->authed)
        return reply_error(s, "530 5.7.0 Authentication required: "
                              "log in with AUTH first");
    if (!mail_iprefix(arg, n, "FROM:") ||
        !(p = parse_path(arg + 5, end, addr, &alen)))
        return reply_error(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
    if ((bad = mail_params(s, p, end)) != NULL)
        return bad[0] == '5' && bad[2] == '2' ? reply(s, bad)
                                              : reply_error(s, bad);
    err = s->cb.mail_from ? s->cb.mail_from(s->cb.ctx, addr, alen) : 0;
    if (err == FASTN_ERR_PERM)
        return reply(s, "550 5.7.1 Not allowed to send as that address: "
                        "use your fastn address");
    if (err)
        return reply(s, "451 4.3.0 Temporary failure: try again later");
    s->in_txn = true;
    s->rcpts = 0;
    s->data_size = 0;
    s->too_big = s->data_failed = false;
    s->state = MAIL_SMTP_MAIL;
    return reply(s, "250 2.1.0 Sender OK");
}

static int cmd_rcpt(struct mail_smtp *s, const char *arg, size_t n)
{
    char addr[PATH_MAX_LEN + 1];
    size_t alen = 0;
    const char *p;
    int err;

    if (s->state != MAIL_SMTP_MAIL && s->state != MAIL_SMTP_RCPT)
        return reply_error(s, "503 5.5.1 Need MAIL command first");
    if (!mail_iprefix(arg, n, "TO:") ||
        !(p = parse_path(arg + 3, arg + n, addr, &alen)) || alen == 0)
        return reply_error(s, "501 5.5.4 Syntax: RCPT TO:<address>");
    while (p < arg + n && *p == ' ')
        p++;
    if (p != arg + n)
        return reply_error(s, "555 5.5.4 Unsupported RCPT TO parameter");
    if (s->rcpts >= MAIL_SMTP_RCPT_MAX)
        return reply(s, "452 4.5.3 Too many recipients");
    err = s->cb.rcpt ? s->cb.rcpt(s->cb.ctx, addr, alen) : 0;
    if (err == FASTN_ERR_MALFORMED || err == FASTN_ERR_BAD_PEER_ID)
        return reply(s, "553 5.1.3 Not a fastn address: "
                        "write NAME@<peer>.fastn");
    if (err == FASTN_ERR_NOT_FOUND)
        return reply(s, "550 5.1.1 No such recipient");
    if (err)
        return reply(s, "451 4.3.0 Temporary failure: try again later");
    s->rcpts++;
    s->state = MAIL_SMTP_RCPT;
    return reply(s, "250 2.1.5 Recipient OK");
}

static int cmd_data(struct mail_smtp *s, size_t n)
{
    if (n)
        return reply_error(s, "501 5.5.4 Syntax: DATA (no arguments)");
    if (s->state == MAIL_SMTP_MAIL)
        return reply_error(s, "554 5.5.1 No valid recipients");
    if (s->state != MAIL_SMTP_RCPT)
        return reply_error(s, "503 5.5.1 Need MAIL and RCPT commands first");
    s->state = MAIL_SMTP_DATA;
    s->data_at = D_LINE; /* the DATA line's CRLF starts the first line */
    s->data_size = 0;
    return reply(s, "354 Start mail input; end with <CRLF>.<CRLF>");
}

/* --- AUTH (RFC 4954) --------------------------------------------------- */

static int auth_check(struct mail_smtp *s, const char *user, size_t ulen,
                      const char *pass, size_t plen)
{
    int err = s->cb.auth ? s->cb.auth(s->cb.ctx, user, ulen, pass, plen) : 0;

    s->state = s->after_auth;
    if (err == 0) {
        s->authed = true;
        return reply(s, "235 2.7.0 Authentication successful");
    }
    if (err != FASTN_ERR_PERM)
        return reply(s, "454 4.7.0 Temporary authentication failure: "
                        "try again later");
    reply(s, "535 5.7.8 Authentication credentials invalid: "
             "check the user and password (fastn mail setup)");
    if (++s->auth_failures >= AUTH_FAILURES_MAX) {
        reply(s, "421 4.7.0 Too many failed logins, closing the connection");
        s->state = MAIL_SMTP_CLOSED;
    }
    return 0;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd; authzid empty or authcid. */
static int auth_plain(struct mail_smtp *s, const char *b64, size_t n)
{
    uint8_t d[768];
    int k = mail_base64_decode(b64, n, d, sizeof(d));
    const uint8_t *n1, *n2;

    if (k < 0) {
        s->state = s->after_auth;
        return reply_error(s, "501 5.5.2 Cannot decode the AUTH response");
    }
    n1 = memchr(d, 0, (size_t)k);
    n2 = n1 ? memchr(n1 + 1, 0, (size_t)(d + k - n1 - 1)) : NULL;
    if (!n2 || memchr(n2 + 1, 0, (size_t)(d + k - n2 - 1)) ||
        (n1 != d &&
         (n1 - d != n2 - n1 - 1 || memcmp(d, n1 + 1, (size_t)(n1 - d)))) ||
        n2 == n1 + 1) {
        wipe(d, sizeof(d));
        s->state = s->after_auth;
        return reply_error(s, "501 5.5.2 Malformed AUTH PLAIN response");
    }
    auth_check(s, (const char *)n1 + 1, (size_t)(n2 - n1 - 1),
               (const char *)n2 + 1, (size_t)(d + k - n2 - 1));
    wipe(d, sizeof(d));
    return 0;
}

/* AUTH LOGIN: the username, then the password, each in base64. */
static int auth_login(struct mail_smtp *s, const char *b64, size_t n)
{
    uint8_t d[256];
    int k = mail_base64_decode(b64, n, d, sizeof(d));

    if (k < 0 || memchr(d, 0, (size_t)k)) {
        wipe(d, sizeof(d));
        s->state = s->after_auth;
        return reply_error(s, "501 5.5.2 Cannot decode the AUTH response");
    }
    if (s->state != MAIL_SMTP_AUTH_PASS) {
        memcpy(s->user, d, (size_t)k);
        s->user_len = (size_t)k;
        s->state = MAIL_SMTP_AUTH_PASS;
        return reply(s, "334 UGFzc3dvcmQ6"); /* "Password:" */
    }
    auth_check(s, s->user, s->user_len, (const char *)d, (size_t)k);
    wipe(d, sizeof(d));
    wipe(s->user, sizeof(s->user));
    return 0;
}

/* A line while an AUTH exchange waits for the client. */
static int auth_line(struct mail_smtp *s, const char *line, size_t n)
{
    if (n == 1 && line[0] == '*') { /* RFC 4954 4: the client cancels */
        s->state = s->after_auth;
        return reply(s, "501 5.0.0 Authentication canceled");
    }
    if (s->state == MAIL_SMTP_AUTH_PLAIN)
        return auth_plain(s, line, n);
    return auth_login(s, line, n);
}

static int cmd_auth(struct mail_smtp *s, const char *arg, size_t n)
{
    const char *sp = memchr(arg, ' ', n);
    size_t mn = sp ? (size_t)(sp - arg) : n;
    const char *ir = sp ? sp + 1 : NULL;
    size_t irn = sp ? n - mn - 1 : 0;

    if (s->state == MAIL_SMTP_GREET)
        return reply_error(s, "503 5.5.1 Send EHLO first");
    if (s->authed)
        return reply_error(s, "503 5.5.1 Already authenticated");
    if (s->state != MAIL_SMTP_READY)
        return reply_error(s, "503 5.5.1 AUTH not allowed during a mail "
                              "transaction");
    s->after_auth = s->state;
    if (mail_ieq(arg, mn, "PLAIN")) {
        s->state = MAIL_SMTP_AUTH_PLAIN;
        if (!ir)
            return reply(s, "334 ");
        return auth_plain(s, ir, irn == 1 && ir[0] == '=' ? 0 : irn);
    }
    if (mail_ieq(arg, mn, "LOGIN")) {
        s->state = MAIL_SMTP_AUTH_USER;
        if (!ir)
            return reply(s, "334 VXNlcm5hbWU6"); /* "Username:" */
        return auth_login(s, ir, irn);
    }
    return reply_error(s, "504 5.5.4 Unrecognized authentication type: "
                          "use PLAIN or LOGIN");
}

/* --- dispatch ---------------------------------------------------------- */

static void command(struct mail_smtp *s, const char *line, size_t n)
{
    const char *sp = memchr(line, ' ', n);
    size_t vn = sp ? (size_t)(sp - line) : n;
    const char *arg = sp ? sp + 1 : line + n;
    size_t an = sp ? n - vn - 1 : 0;

    while (an > 0 && arg[an - 1] == ' ')
        an--;
    if (mail_ieq(line, vn, "EHLO") || mail_ieq(line, vn, "HELO"))
        cmd_ehlo(s, arg, an, mail_ieq(line, vn, "EHLO"));
    else if (mail_ieq(line, vn, "AUTH"))
        cmd_auth(s, arg, an);
    else if (mail_ieq(line, vn, "MAIL"))
        cmd_mail(s, arg, an);
    else if (mail_ieq(line, vn, "RCPT"))
        cmd_rcpt(s, arg, an);
    else if (mail_ieq(line, vn, "DATA"))
        cmd_data(s, an);
    else if (mail_ieq(line, vn, "RSET")) {
        txn_abort(s);
        reply(s, "250 2.0.0 OK");
    } else if (mail_ieq(line, vn, "NOOP"))
        reply(s, "250 2.0.0 OK");
    else if (mail_ieq(line, vn, "QUIT")) {
        txn_abort(s);
        reply(s, "221 2.0.0 Bye");
        s->state = MAIL_SMTP_CLOSED;
    } else if (mail_ieq(line, vn, "VRFY"))
        reply(s, "252 2.5.0 Cannot VRFY user, but will accept the message");
    else if (mail_ieq(line, vn, "HELP"))
        reply(s, "214 2.0.0 Commands: EHLO HELO AUTH MAIL RCPT DATA RSET "
                 "NOOP QUIT");
    else if (mail_ieq(line, vn, "STARTTLS") || mail_ieq(line, vn, "BDAT") ||
             mail_ieq(line, vn, "EXPN") || mail_ieq(line, vn, "ETRN"))
        reply_error(s, "502 5.5.1 Command not implemented");
    else
        reply_error(s, "500 5.5.2 Command unrecognized");
}

static void line_done(struct mail_smtp *s)
{
    size_t n = s->line_len;

    s->line_len = 0;
    if (s->line_too_long) {
        s->line_too_long = false;
        if (s->state >= MAIL_SMTP_AUTH_PLAIN && s->state <= MAIL_SMTP_AUTH_PASS)
            s->state = s->after_auth;
        reply_error(s, "500 5.5.2 Line too long");
        return;
    }
    if (n > 0 && s->line[n - 1] == '\r')
        n--;
    if (memchr(s->line, '\0', n)) {
        reply_error(s, "500 5.5.2 NUL byte in a command");
        return;
    }
    if (s->state >= MAIL_SMTP_AUTH_PLAIN && s->state <= MAIL_SMTP_AUTH_PASS)
        auth_line(s, s->line, n);
    else
        command(s, s->line, n);
    wipe(s->line, n);
}

size_t mail_smtp_feed(struct mail_smtp *s, const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n && s->state != MAIL_SMTP_CLOSED &&
           s->out_len < MAIL_SMTP_OUT_MAX / 2) {
        if (s->state == MAIL_SMTP_DATA) {
            i += data_feed(s, p + i, n - i);
            continue;
        }
        uint8_t c = p[i++];
        if (c == '\n')
            line_done(s);
        else if (s->line_len < sizeof(s->line))
            s->line[s->line_len++] = (char)c;
        else
            s->line_too_long = true;
    }
    return i;
}
