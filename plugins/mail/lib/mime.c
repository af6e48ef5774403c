/*
 * A streaming reader of a message's MIME structure (RFC 5322 2.2 header
 * fields, RFC 2045 Content-* fields, RFC 2046 5.1 multipart boundaries,
 * message/rfc822 encapsulation): it sees each byte once, keeps the start
 * of the current line and one header field, and records for each part
 * where its header and body are, its size in bytes and lines, its type,
 * parameters, ID, description, encoding and disposition, and for the
 * message and encapsulated messages the header fields ENVELOPE needs.
 * Everything is bounded (mail.h); what passes a bound is body or is cut.
 */
#include <string.h>

#include "mail.h"

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void copy_cut(char *dst, size_t cap, const char *s, size_t n)
{
    if (n > cap - 1)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static void part_init(struct mail_mime *m, int i, int parent)
{
    struct mail_mime_part *p = &m->part[i];

    memset(p, 0, sizeof(*p));
    p->parent = parent;
    p->message = -1;
    p->hdr_off = m->off;
}

void mail_mime_init(struct mail_mime *m)
{
    memset(m, 0, offsetof(struct mail_mime, field));
    m->field_len = 0;
    part_init(m, 0, -1);
    m->part[0].message = 0;
    m->nparts = m->nmsgs = 1;
    m->cur = 0;
    m->in_header = true;
    m->line_start = true;
}

static unsigned depth_of(const struct mail_mime *m, int i)
{
    unsigned d = 0;
    while (i > 0) {
        i = m->part[i].parent;
        d++;
    }
    return d;
}

/* --- header fields ------------------------------------------------------ */

/* RFC 2045 5.1: token characters */
static bool tchar(char c)
{
    return (unsigned char)c > ' ' && (unsigned char)c < 0x7f &&
           !strchr("()<>@,;:\\\"/[]?=", c);
}

struct rd {
    const char *s;
    size_t n, i;
};

/* Skips white space and (nested, bounded) comments. */
static void cfws(struct rd *r)
{
    int depth = 0;
    while (r->i < r->n) {
        char c = r->s[r->i];
        if (depth == 0 && (c == ' ' || c == '\t')) {
            r->i++;
        } else if (c == '(' && depth < 16) {
            depth++;
            r->i++;
        } else if (depth > 0 && c == ')') {
            depth--;
            r->i++;
        } else if (depth > 0) {
            r->i += (c == '\\' && r->i + 1 < r->n) ? 2 : 1;
        } else {
            return;
        }
    }
}

static size_t token(struct rd *r, char *out, size_t cap, bool low)
{
    size_t k = 0;
    cfws(r);
    while (r->i < r->n && tchar(r->s[r->i])) {
        char c = r->s[r->i++];
        if (k + 1 < cap)
            out[k++] = low ? lower(c) : c;
    }
    out[k] = '\0';
    return k;
}

/* token / quoted-string, unquoted into out */
static bool value(struct rd *r, char *out, size_t cap)
{
    size_t k = 0;

    cfws(r);
    if (r->i < r->n && r->s[r->i] == '"') {
        r->i++;
        while (r->i < r->n && r->s[r->i] != '"') {
            if (r->s[r->i] == '\\' && r->i + 1 < r->n)
                r->i++;
            if (k + 1 < cap)
                out[k++] = r->s[r->i];
            r->i++;
        }
        out[k] = '\0';
        if (r->i == r->n)
            return false;
        r->i++;
        return true;
    }
    return token(r, out, cap, false) > 0;
}

/* *(";" attribute "=" value) into params (at most max kept) */
static unsigned params(struct rd *r, struct mail_mime_param *pm, unsigned max)
{
    unsigned n = 0;
    struct mail_mime_param tmp;

    for (;;) {
        memset(&tmp, 0, sizeof(tmp));
        cfws(r);
        if (r->i >= r->n || r->s[r->i] != ';')
            return n;
        r->i++;
        if (!token(r, tmp.name, sizeof(tmp.name), true))
            continue; /* ";;" or a trailing ";" */
        cfws(r);
        if (r->i >= r->n || r->s[r->i] != '=')
            return n;
        r->i++;
        if (!value(r, tmp.value, sizeof(tmp.value)))
            return n;
        if (n < max)
            pm[n++] = tmp;
    }
}

static void content_type(struct mail_mime_part *p, const char *v, size_t n)
{
    struct rd r = {v, n, 0};
    char t[32] = "", st[64] = "";

    if (!token(&r, t, sizeof(t), true))
        return;
    cfws(&r);
    if (r.i >= r.n || v[r.i] != '/')
        return;
    r.i++;
    if (!token(&r, st, sizeof(st), true))
        return;
    memcpy(p->type, t, sizeof(t));
    memcpy(p->subtype, st, sizeof(st));
    p->nparams = params(&r, p->param, MAIL_MIME_PARAMS_MAX);
}

static void content_disposition(struct mail_mime_part *p, const char *v,
                                size_t n)
{
    struct rd r = {v, n, 0};
    if (!token(&r, p->disp, sizeof(p->disp), true))
        return;
    p->ndisp_params = params(&r, p->disp_param, 2);
}

static const char *const env_names[MAIL_ENV_COUNT] = {
    "date", "subject", "from", "sender",      "reply-to",
    "to",   "cc",      "bcc",  "in-reply-to", "message-id",
};

/* The field in m->field ended: keep what the part or ENVELOPE needs. */
static void field_done(struct mail_mime *m)
{
    struct mail_mime_part *p = &m->part[m->cur];
    const char *f = m->field, *colon = memchr(f, ':', m->field_len);
    size_t nn, vn;
    const char *v;

    if (!colon)
        return;
    nn = (size_t)(colon - f);
    while (nn > 0 && (f[nn - 1] == ' ' || f[nn - 1] == '\t'))
        nn--;
    v = colon + 1;
    vn = (size_t)(f + m->field_len - v);
    while (vn > 0 && (*v == ' ' || *v == '\t'))
        v++, vn--;
    while (vn > 0 && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
        vn--;
    if (mail_ieq(f, nn, "content-type"))
        content_type(p, v, vn);
    else if (mail_ieq(f, nn, "content-transfer-encoding"))
        copy_cut(p->encoding, sizeof(p->encoding), v, vn);
    else if (mail_ieq(f, nn, "content-id"))
        copy_cut(p->id, sizeof(p->id), v, vn);
    else if (mail_ieq(f, nn, "content-description"))
        copy_cut(p->desc, sizeof(p->desc), v, vn);
    else if (mail_ieq(f, nn, "content-disposition"))
        content_disposition(p, v, vn);
    if (p->message < 0)
        return;
    struct mail_mime_env *e = &m->env[p->message];
    for (int k = 0; k < MAIL_ENV_COUNT; k++) {
        if (!e->have[k] && mail_ieq(f, nn, env_names[k])) {
            e->have[k] = true;
            copy_cut(e->field[k], sizeof(e->field[k]), v, vn);
        }
    }
}

/* --- structure ---------------------------------------------------------- */

static const char *param_get(const struct mail_mime_part *p, const char *name)
{
    for (unsigned k = 0; k < p->nparams; k++)
        if (strcmp(p->param[k].name, name) == 0)
            return p->param[k].value;
    return NULL;
}

/* A new part under parent, its header starting at m->off; -1 when full. */
static int part_new(struct mail_mime *m, int parent)
{
    if (m->nparts == MAIL_MIME_PARTS_MAX ||
        depth_of(m, parent) + 1 > MAIL_MIME_DEPTH_MAX)
        return -1;
    part_init(m, (int)m->nparts, parent);
    return (int)m->nparts++;
}

/* RFC 2046 5.1.1: a part's default type is text/plain; us-ascii, but
 * message/rfc822 in a multipart/digest. */
static void defaults(struct mail_mime *m, struct mail_mime_part *p)
{
    if (p->type[0])
        return;
    const struct mail_mime_part *up =
        p->parent >= 0 ? &m->part[p->parent] : NULL;
    if (up && strcmp(up->type, "multipart") == 0 &&
        strcmp(up->subtype, "digest") == 0) {
        strcpy(p->type, "message");
        strcpy(p->subtype, "rfc822");
        return;
    }
    strcpy(p->type, "text");
    strcpy(p->subtype, "plain");
    strcpy(p->param[0].name, "charset");
    strcpy(p->param[0].value, "us-ascii");
    p->nparams = 1;
}

/* The blank line after cur's header was read: its body starts. */
static void header_end(struct mail_mime *m)
{
    struct mail_mime_part *p = &m->part[m->cur];
    const char *b;
    int c;

    if (m->field_len)
        field_done(m);
    m->field_len = 0;
    defaults(m, p);
    p->body_off = m->off;
    p->in_body = true;
    m->in_header = false;
    if (strcmp(p->type, "multipart") == 0 && (b = param_get(p, "boundary")) &&
        b[0] && strlen(b) <= MAIL_MIME_BOUNDARY_MAX &&
        m->nbound < MAIL_MIME_DEPTH_MAX) {
        m->bound_part[m->nbound] = m->cur;
        strcpy(m->bound[m->nbound++], b);
    } else if (strcmp(p->type, "message") == 0 &&
               strcmp(p->subtype, "rfc822") == 0 &&
               m->nmsgs < MAIL_MIME_MESSAGES_MAX &&
               (c = part_new(m, m->cur)) >= 0) {
        m->part[c].message = (int)m->nmsgs++;
        m->cur = c;
        m->in_header = true;
    }
}

/* Ends cur and its ancestors up to (not including) stop at end. */
static void close_to(struct mail_mime *m, int stop, uint64_t end)
{
    for (int i = m->cur; i >= 0 && i != stop; i = m->part[i].parent) {
        struct mail_mime_part *p = &m->part[i];
        if (p->ended)
            continue;
        if (!p->in_body) {
            defaults(m, p);
            p->body_off = end > p->hdr_off ? end : p->hdr_off;
        }
        p->body_len = end > p->body_off ? end - p->body_off : 0;
        p->ended = true;
    }
}

/* Is the line just read "--boundary" or "--boundary--" of an open
 * multipart (innermost first)? Returns its stack index, or -1. */
static int delimiter(const struct mail_mime *m, bool *close)
{
    size_t n = m->line_len;

    if (n > sizeof(m->line) - 1)
        return -1; /* longer than any boundary line we keep */
    while (n > 0 && (m->line[n - 1] == ' ' || m->line[n - 1] == '\t'))
        n--;
    if (n < 3 || m->line[0] != '-' || m->line[1] != '-')
        return -1;
    for (int k = (int)m->nbound - 1; k >= 0; k--) {
        size_t bl = strlen(m->bound[k]);
        if (n != bl + 2 && n != bl + 4)
            continue;
        if (memcmp(m->line + 2, m->bound[k], bl) != 0)
            continue;
        if (n == bl + 4 && memcmp(m->line + 2 + bl, "--", 2) != 0)
            continue;
        *close = n == bl + 4;
        return k;
    }
    return -1;
}

/* A body line of cur ended (m->off is past its end of line). */
static void body_line_end(struct mail_mime *m)
{
    bool close = false;
    int k = delimiter(m, &close), mp, c;
    uint64_t end;

    if (k < 0)
        return;
    mp = m->bound_part[k];
    /* the delimiter line is no line of the parts it ends */
    for (int i = m->cur; i >= 0 && i != mp; i = m->part[i].parent)
        if (m->part[i].in_body && !m->part[i].ended && m->part[i].lines)
            m->part[i].lines--;
    /* the CRLF before the delimiter is the delimiter's (RFC 2046 5.1.1) */
    end = m->line_off >= m->eol_before ? m->line_off - m->eol_before : 0;
    close_to(m, mp, end);
    m->nbound = (unsigned)k + 1;
    m->cur = mp;
    m->in_header = false;
    if (close) {
        m->nbound = (unsigned)k;
        return;
    }
    if ((c = part_new(m, mp)) >= 0) {
        m->cur = c;
        m->in_header = true;
    }
}

static void header_line_start(struct mail_mime *m, char c)
{
    if (c == ' ' || c == '\t')
        return; /* a continuation (RFC 5322 2.2.3: unfolding) */
    if (m->field_len)
        field_done(m);
    m->field_len = 0;
    m->field_cut = false;
}

static void header_byte(struct mail_mime *m, char c)
{
    if (c == '\r' || c == '\n')
        return;
    if (m->field_len < MAIL_MIME_FIELD_MAX + 32)
        m->field[m->field_len++] = c;
    else
        m->field_cut = true;
}

static void line_begin(struct mail_mime *m, char c)
{
    m->line_off = m->off;
    m->line_len = 0;
    m->line_start = false;
    m->eol_before = m->prev_eol;
    /* a blank line ends the header at its LF (mail_mime_feed) */
    if (m->in_header && c != '\r' && c != '\n')
        header_line_start(m, c);
    /* the line counts for every part whose body holds it */
    for (int i = m->cur; i >= 0; i = m->part[i].parent)
        if (m->part[i].in_body && !m->part[i].ended)
            m->part[i].lines++;
}

/* In a body, a line that does not start with "--" is no delimiter: the
 * bytes up to its LF need no look, and are skipped in one run (a large
 * attachment's base64 lines cost a memchr, not the state machine per
 * byte). Returns how many of p[0..n) it took. */
static size_t body_run(struct mail_mime *m, const uint8_t *p, size_t n)
{
    const uint8_t *lf;
    size_t run;

    if (m->in_header || m->line_start || m->line_len < 2 ||
        (m->line[0] == '-' && m->line[1] == '-'))
        return 0;
    lf = memchr(p, '\n', n);
    run = lf ? (size_t)(lf - p) : n;
    if (run) {
        m->line_len += run;
        m->off += run;
        m->last_cr = p[run - 1] == '\r';
    }
    return run;
}

void mail_mime_feed(struct mail_mime *m, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((i += body_run(m, p + i, n - i)) == n)
            break;
        char c = (char)p[i];
        if (m->line_start)
            line_begin(m, c);
        if (m->line_len < sizeof(m->line))
            m->line[m->line_len] = c;
        m->line_len++;
        m->off++;
        if (m->in_header)
            header_byte(m, c);
        bool cr = m->last_cr;
        m->last_cr = c == '\r';
        if (c != '\n')
            continue;
        m->prev_eol = cr ? 2 : 1;
        m->line_len -= m->prev_eol; /* the line without its end */
        m->line_start = true;
        if (m->in_header && m->line_len == 0)
            header_end(m);
        else if (!m->in_header)
            body_line_end(m);
    }
}

void mail_mime_end(struct mail_mime *m)
{
    if (m->in_header) {
        if (m->field_len)
            field_done(m);
        m->field_len = 0;
    }
    close_to(m, -1, m->off);
}
