/*
 * IMAP4rev1 command framing (RFC 3501 2.2, 4.3; RFC 7888 LITERAL+): reads
 * a client's bytes into whole commands, lines joined with their literals,
 * within fixed bounds. A literal's length is checked when its header
 * arrives, before any of its bytes: one too large for its command is
 * refused then (a synchronizing one with a tagged reply, and the client
 * sends nothing more of it; a non-synchronizing one, already on its way,
 * ends the connection), so a lying length never makes us buffer or wait
 * for more than the limits. APPEND's message may be larger than what is
 * kept inline: it is streamed out as it arrives.
 */
#include <stdio.h>
#include <string.h>

#include "fastn/err.h"
#include "mail.h"

void mail_imap_reader_init(struct mail_imap_reader *r, uint64_t message_max)
{
    memset(r, 0, sizeof(*r));
    r->message_max = message_max ? message_max : MAIL_SMTP_SIZE_DEFAULT;
}

const char *mail_imap_reader_command(const struct mail_imap_reader *r,
                                     size_t *len)
{
    *len = r->len;
    return r->buf;
}

/* The command's tag for a reply, or "*" when it has none we can echo. */
static void tag_of(const struct mail_imap_reader *r, char *tag, size_t cap)
{
    size_t n = 0;

    while (n < r->len && n < MAIL_IMAP_TAG_MAX && r->buf[n] != ' ') {
        unsigned char c = (unsigned char)r->buf[n];
        if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\+", c))
            break;
        n++;
    }
    if (n == 0 || n >= cap || n == r->len || r->buf[n] != ' ')
        snprintf(tag, cap, "*");
    else
        snprintf(tag, cap, "%.*s", (int)n, r->buf);
}

static enum mail_imap_ev bad(struct mail_imap_reader *r,
                             struct mail_imap_event *ev, const char *what,
                             bool close)
{
    char tag[MAIL_IMAP_TAG_MAX + 1];

    tag_of(r, tag, sizeof(tag));
    ev->kind = MAIL_IMAP_EV_BAD;
    ev->close = close;
    snprintf(ev->reply, sizeof(ev->reply), "%s %s\r\n", tag, what);
    r->len = r->line_start = 0;
    r->in_literal = r->streaming = false;
    if (close)
        r->closed = true;
    return ev->kind;
}

/* Does the line [line_start, len) end in "{n}" or "{n+}"? */
static bool literal_header(const struct mail_imap_reader *r, size_t *at,
                           uint64_t *size, bool *sync)
{
    size_t e = r->len, i;
    uint64_t v = 0;

    if (e - r->line_start < 3 || r->buf[e - 1] != '}')
        return false;
    e--;
    *sync = !(r->buf[e - 1] == '+');
    if (!*sync)
        e--;
    for (i = e;
         i > r->line_start && r->buf[i - 1] >= '0' && r->buf[i - 1] <= '9'; i--)
        ;
    if (i == e || i == r->line_start || r->buf[i - 1] != '{' || e - i > 19)
        return false;
    for (size_t k = i; k < e; k++)
        v = v * 10 + (uint64_t)(r->buf[k] - '0');
    *at = i - 1;
    *size = v;
    return true;
}

static bool is_append(const struct mail_imap_reader *r)
{
    const char *sp = memchr(r->buf, ' ', r->len);
    size_t rest = sp ? r->len - (size_t)(sp + 1 - r->buf) : 0;
    return sp && mail_iprefix(sp + 1, rest, "APPEND ");
}

/* A line ended (its CRLF is not in buf): a literal follows, or the
 * command is whole. */
static enum mail_imap_ev line_end(struct mail_imap_reader *r,
                                  struct mail_imap_event *ev)
{
    size_t at;
    uint64_t size;
    bool sync;

    if (!literal_header(r, &at, &size, &sync)) {
        r->complete = true;
        ev->kind = MAIL_IMAP_EV_COMMAND;
        return ev->kind;
    }
    ev->sync = sync;
    if (size + 2 <= sizeof(r->buf) - r->len) { /* it fits inline */
        memcpy(r->buf + r->len, "\r\n", 2);
        r->len += 2;
        r->line_start = r->len + size;
        r->in_literal = size > 0;
        r->lit_left = size;
        if (!sync)
            return MAIL_IMAP_EV_MORE;
        ev->kind = MAIL_IMAP_EV_CONTINUE;
        return ev->kind;
    }
    if (!is_append(r))
        return bad(r, ev, "BAD Literal too large for this command", !sync);
    if (size > r->message_max || r->len + 1 >= sizeof(r->buf))
        return bad(r, ev, "NO [TOOBIG] Message too large for this server",
                   !sync);
    /* the literal streams out: "{n}" becomes NUL "{n}" in the command */
    memmove(r->buf + at + 1, r->buf + at, r->len - at);
    r->buf[at] = '\0';
    r->len++;
    r->line_start = r->len;
    r->in_literal = r->streaming = true;
    r->lit_left = size;
    ev->kind = MAIL_IMAP_EV_LITERAL;
    ev->size = size;
    return ev->kind;
}

/* Literal bytes: kept inline, or handed out as EV_DATA. */
static enum mail_imap_ev literal_bytes(struct mail_imap_reader *r,
                                       const uint8_t *p, size_t n, size_t *used,
                                       struct mail_imap_event *ev)
{
    size_t k = n < r->lit_left ? n : (size_t)r->lit_left;

    r->lit_left -= k;
    *used = k;
    if (r->lit_left == 0)
        r->in_literal = false;
    if (r->streaming) {
        if (r->lit_left == 0)
            r->streaming = false;
        ev->kind = MAIL_IMAP_EV_DATA;
        ev->data = p;
        ev->len = k;
        return ev->kind;
    }
    memcpy(r->buf + r->len, p, k);
    r->len += k;
    return MAIL_IMAP_EV_MORE;
}

enum mail_imap_ev mail_imap_read(struct mail_imap_reader *r, const uint8_t *p,
                                 size_t n, size_t *used,
                                 struct mail_imap_event *ev)
{
    size_t i = 0;

    memset(ev, 0, sizeof(*ev));
    *used = 0;
    if (r->closed)
        return bad(r, ev, "BAD The connection is closing", true);
    if (r->complete) {
        r->complete = false;
        r->len = r->line_start = 0;
    }
    while (i < n) {
        if (r->in_literal) {
            size_t k;
            enum mail_imap_ev e = literal_bytes(r, p + i, n - i, &k, ev);
            i += k;
            if (e != MAIL_IMAP_EV_MORE) {
                *used = i;
                return e;
            }
            continue;
        }
        char c = (char)p[i++];
        if (c == '\n') {
            if (r->len > r->line_start && r->buf[r->len - 1] == '\r')
                r->len--;
            enum mail_imap_ev e = line_end(r, ev);
            if (e != MAIL_IMAP_EV_MORE) {
                *used = i;
                return e;
            }
        } else if (c == '\0') {
            *used = i;
            return bad(r, ev, "BAD NUL byte in a command line", true);
        } else if (r->len - r->line_start >= MAIL_IMAP_LINE_MAX ||
                   r->len >= sizeof(r->buf) - 1) {
            *used = i;
            return bad(r, ev, "BAD Command line too long", true);
        } else {
            r->buf[r->len++] = c;
        }
    }
    *used = i;
    return MAIL_IMAP_EV_MORE;
}
