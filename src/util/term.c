/* Text made safe for a terminal; see term.h. One decoder (a unit: a whole
 * UTF-8 character, or one byte that is not part of one) and one rule for
 * what is shown escaped serve the string, buffer and stream forms. */
#include "util/term.h"

#include <string.h>

/* Where escaped output goes: a caller's buffer (truncated at a whole
 * unit, the full length counted) or a sink (through a small buffer). */
struct emitter {
    char *out;
    size_t cap, len; /* buffer mode: len counts the whole output */
    bool truncated;
    term_sink_fn sink;
    void *arg;
    char buf[1024]; /* sink mode */
    size_t n;
    int err;
};

static void emitter_flush(struct emitter *e)
{
    if (e->n && !e->err && e->sink(e->arg, e->buf, e->n) != 0)
        e->err = -1;
    e->n = 0;
}

static void emit(struct emitter *e, const void *p, size_t n)
{
    if (!e->sink) {
        if (!e->truncated && e->cap && e->len + n < e->cap)
            memcpy(e->out + e->len, p, n);
        else
            e->truncated = true;
        e->len += n;
        if (!e->truncated && e->cap)
            e->out[e->len] = '\0';
        return;
    }
    if (e->n + n > sizeof(e->buf))
        emitter_flush(e);
    memcpy(e->buf + e->n, p, n); /* n <= 6: one unit or one escape */
    e->n += n;
}

/* The UTF-8 character at p (n bytes there): its length and code point;
 * 0 when p[0] starts none (RFC 3629: no overlong form, no surrogate,
 * nothing past U+10FFFF); -1 when the n bytes are a valid start of one
 * that goes on past them. */
static int utf8_char(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t b = p[0], lo = 0x80, hi = 0xbf;
    uint32_t c;
    int len;

    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) {
        len = 2, c = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3, c = b & 0x0f;
        lo = b == 0xe0 ? 0xa0 : 0x80;
        hi = b == 0xed ? 0x9f : 0xbf;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4, c = b & 0x07;
        lo = b == 0xf0 ? 0x90 : 0x80;
        hi = b == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        if (p[i] < lo || p[i] > hi)
            return 0;
        lo = 0x80, hi = 0xbf;
        c = c << 6 | (p[i] & 0x3f);
    }
    *cp = c;
    return len;
}

static bool is_bidi_control(uint32_t c)
{
    return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* Emits the unit at p and returns how many bytes it took; 0 when more
 * input is needed to tell (a cut character, only when !final). */
static size_t emit_unit(struct emitter *e, const uint8_t *p, size_t n,
                        bool final, unsigned flags)
{
    char esc[8];
    uint32_t c = 0;
    int len = utf8_char(p, n, &c);

    if (len < 0 && !final)
        return 0;
    if (len <= 0) {
        snprintf(esc, sizeof(esc), "\\x%02x", p[0]);
        emit(e, esc, 4);
        return 1;
    }
    if (c < 0x20 || c == 0x7f) {
        if ((flags & TERM_LINES) && (c == '\n' || c == '\t'))
            emit(e, p, 1);
        else if (c == '\n' || c == '\t' || c == '\r')
            emit(e, c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\r", 2);
        else
            emit(e, esc, (size_t)snprintf(esc, sizeof(esc), "\\x%02x", c));
        return 1;
    }
    if ((c >= 0x80 && c <= 0x9f) || is_bidi_control(c))
        emit(e, esc, (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c));
    else
        emit(e, p, (size_t)len);
    return (size_t)len;
}

/* Emits units from p until fewer than a whole one is left; returns the
 * bytes used. */
static size_t emit_units(struct emitter *e, const uint8_t *p, size_t n,
                         bool final, unsigned flags)
{
    size_t off = 0, used;

    while (off < n && (used = emit_unit(e, p + off, n - off, final, flags)))
        off += used;
    return off;
}

/* The held bytes of a cut character, completed from p: emits what they
 * start and returns how many bytes of p that took. */
static size_t emit_held(struct term_stream *s, struct emitter *e,
                        const uint8_t *p, size_t n, bool final)
{
    uint8_t tmp[sizeof(s->held) + 4];
    size_t take = n < 4 ? n : 4, held = s->n_held, off = 0, used;

    memcpy(tmp, s->held, held);
    memcpy(tmp + held, p, take);
    while (off < held) {
        used = emit_unit(e, tmp + off, held + take - off, final, s->flags);
        if (!used) { /* still cut: all of p (take == n) is held too */
            memmove(s->held, tmp + off, held + take - off);
            s->n_held = held + take - off;
            return n;
        }
        off += used;
    }
    s->n_held = 0;
    return off - held;
}

void term_stream_init(struct term_stream *s, unsigned flags)
{
    memset(s, 0, sizeof(*s));
    s->flags = flags;
}

static void stream_run(struct term_stream *s, struct emitter *e,
                       const uint8_t *p, size_t n, bool final)
{
    size_t off = s->n_held ? emit_held(s, e, p, n, final) : 0;

    if (s->n_held) /* p was all used to (not) complete a character */
        return;
    off += emit_units(e, p + off, n - off, final, s->flags);
    /* what is left is the start of a cut character: at most 3 bytes */
    memcpy(s->held, p + off, n - off);
    s->n_held = n - off;
}

int term_stream_write(struct term_stream *s, const void *p, size_t n,
                      bool final, term_sink_fn sink, void *arg)
{
    struct emitter e = {.sink = sink, .arg = arg};

    stream_run(s, &e, p, n, final);
    emitter_flush(&e);
    return e.err;
}

size_t term_escape(const void *p, size_t n, unsigned flags, char *out,
                   size_t cap)
{
    struct emitter e = {.out = out, .cap = cap};

    if (cap)
        out[0] = '\0';
    emit_units(&e, p, n, true, flags);
    return e.len;
}

const char *term_safe(const char *s, char *buf, size_t cap)
{
    term_escape(s, strlen(s), 0, buf, cap);
    return buf;
}

static int file_sink(void *arg, const char *p, size_t n)
{
    return fwrite(p, 1, n, arg) == n ? 0 : -1;
}

int term_fwrite(const void *p, size_t n, FILE *f, unsigned flags)
{
    struct term_stream st;

    term_stream_init(&st, flags);
    return term_stream_write(&st, p, n, true, file_sink, f) ? EOF : 0;
}

int term_fputs(const char *s, FILE *f, unsigned flags)
{
    return term_fwrite(s, strlen(s), f, flags);
}
