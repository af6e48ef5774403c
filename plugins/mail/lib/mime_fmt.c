/*
 * ENVELOPE and BODYSTRUCTURE (RFC 3501 7.4.2) from what mime.c read.
 * Header values go out as the message has them (RFC 3501: no decoding of
 * encoded words); address lists (RFC 5322 3.4: mailboxes, name-addr with
 * an optional route, groups) become (name adl mailbox host) lists, with a
 * group as (NIL NIL "name" NIL) ... (NIL NIL NIL NIL).
 */
#include <string.h>

#include "mail.h"

struct ar {
    const char *s;
    size_t n, i;
};

static bool at(const struct ar *r, char c)
{
    return r->i < r->n && r->s[r->i] == c;
}

static void skip_cfws(struct ar *r)
{
    int depth = 0;
    while (r->i < r->n) {
        char c = r->s[r->i];
        if (depth == 0 && (c == ' ' || c == '\t' || c == '\r' || c == '\n'))
            r->i++;
        else if (c == '(' && depth < 16)
            depth++, r->i++;
        else if (depth > 0 && c == ')')
            depth--, r->i++;
        else if (depth > 0)
            r->i += (c == '\\' && r->i + 1 < r->n) ? 2 : 1;
        else
            return;
    }
}

static bool atext(char c)
{
    unsigned char u = (unsigned char)c;
    return u >= 0x80 || (u > ' ' && u < 0x7f && !strchr("()<>[]:;@\\,.\"", c));
}

struct word {
    char b[MAIL_MIME_FIELD_MAX];
    size_t n;
};

static void word_add(struct word *w, const char *p, size_t n)
{
    if (n > sizeof(w->b) - w->n)
        n = sizeof(w->b) - w->n;
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

/* An atom or a quoted string (unquoted) appended to w. */
static bool word(struct ar *r, struct word *w)
{
    skip_cfws(r);
    if (at(r, '"')) {
        r->i++;
        while (r->i < r->n && r->s[r->i] != '"') {
            if (r->s[r->i] == '\\' && r->i + 1 < r->n)
                r->i++;
            word_add(w, r->s + r->i, 1);
            r->i++;
        }
        if (r->i < r->n)
            r->i++;
        return true;
    }
    size_t st = r->i;
    while (r->i < r->n && atext(r->s[r->i]))
        r->i++;
    word_add(w, r->s + st, r->i - st);
    return r->i > st;
}

/* A phrase (display name): words joined by one space, dots kept. */
static void phrase(struct ar *r, struct word *w)
{
    bool first = true;
    for (;;) {
        skip_cfws(r);
        if (at(r, '.')) {
            word_add(w, ".", 1);
            r->i++;
            continue;
        }
        size_t save = w->n;
        if (!first && !(w->n > 0 && w->b[w->n - 1] == '.'))
            word_add(w, " ", 1);
        if (!word(r, w)) {
            w->n = save;
            return;
        }
        first = false;
    }
}

/* A dot-atom or domain literal: the raw tokens without CFWS. */
static void dotted(struct ar *r, struct word *w)
{
    for (;;) {
        skip_cfws(r);
        if (at(r, '[')) {
            size_t st = r->i;
            while (r->i < r->n && r->s[r->i] != ']')
                r->i++;
            if (r->i < r->n)
                r->i++;
            word_add(w, r->s + st, r->i - st);
        } else if (at(r, '.')) {
            word_add(w, ".", 1);
            r->i++;
        } else if (at(r, '"')) {
            word_add(w, "\"", 1);
            word(r, w);
            word_add(w, "\"", 1);
        } else {
            size_t st = r->i;
            while (r->i < r->n && atext(r->s[r->i]))
                r->i++;
            if (r->i == st)
                return;
            word_add(w, r->s + st, r->i - st);
        }
    }
}

static void out_word(struct mail_out *o, const struct word *w)
{
    mail_imap_out_string(o, w->n ? w->b : NULL, w->n);
}

static void out_addr(struct mail_out *o, const struct word *name,
                     const struct word *adl, const struct word *box,
                     const struct word *host)
{
    mail_out_str(o, "(");
    out_word(o, name);
    mail_out_str(o, " ");
    out_word(o, adl);
    mail_out_str(o, " ");
    out_word(o, box);
    mail_out_str(o, " ");
    out_word(o, host);
    mail_out_str(o, ")");
}

static struct word w_name, w_adl, w_box, w_host;

/* One mailbox (name-addr or addr-spec) whose phrase is already in
 * w_name; emits it when it has an address. */
static void mailbox_rest(struct mail_out *o, struct ar *r, bool angle)
{
    w_adl.n = w_host.n = 0;
    if (angle) {
        w_box.n = 0;
        r->i++; /* '<' */
        skip_cfws(r);
        if (at(r, '@')) { /* obs-route: "@a,@b:" */
            size_t st = r->i;
            while (r->i < r->n && r->s[r->i] != ':' && r->s[r->i] != '>')
                r->i++;
            word_add(&w_adl, r->s + st, r->i - st);
            if (at(r, ':'))
                r->i++;
        }
        dotted(r, &w_box);
    }
    skip_cfws(r);
    if (at(r, '@')) {
        r->i++;
        dotted(r, &w_host);
    }
    skip_cfws(r);
    if (angle && at(r, '>'))
        r->i++;
    if (w_box.n)
        out_addr(o, &w_name, &w_adl, &w_box, &w_host);
}

/* One entry of an address list: a mailbox or a group. */
static void entry(struct mail_out *o, struct ar *r, bool in_group)
{
    size_t st = r->i;

    w_name.n = 0;
    phrase(r, &w_name);
    skip_cfws(r);
    if (at(r, '<')) {
        mailbox_rest(o, r, true);
    } else if (at(r, '@')) { /* addr-spec: the phrase was the local part */
        r->i = st;
        w_name.n = 0;
        w_box.n = 0;
        dotted(r, &w_box);
        mailbox_rest(o, r, false);
    } else if (at(r, ':') && !in_group) {
        struct word empty = {.n = 0};
        r->i++;
        out_addr(o, &empty, &empty, &w_name, &empty);
        for (;;) {
            skip_cfws(r);
            if (r->i >= r->n || at(r, ';'))
                break;
            size_t before = r->i;
            entry(o, r, true);
            skip_cfws(r);
            if (at(r, ','))
                r->i++;
            else if (r->i == before)
                r->i++; /* a stray character: skip it */
        }
        if (at(r, ';'))
            r->i++;
        out_addr(o, &empty, &empty, &empty, &empty);
    }
}

/* An address list, or NIL when it has no address. */
static void addr_list(struct mail_out *o, const char *s, size_t n)
{
    struct ar r = {s, n, 0};
    size_t mark = o->len;

    mail_out_str(o, "(");
    size_t empty = o->len;
    while (r.i < r.n) {
        size_t before = r.i;
        entry(o, &r, false);
        skip_cfws(&r);
        if (at(&r, ',') || r.i == before)
            r.i++;
    }
    if (o->len == empty && !o->over) {
        o->len = mark;
        mail_out_str(o, "NIL");
        return;
    }
    mail_out_str(o, ")");
}

static void env_string(struct mail_out *o, const struct mail_mime_env *e,
                       enum mail_env_field f)
{
    if (e->have[f])
        mail_imap_out_string(o, e->field[f], strlen(e->field[f]));
    else
        mail_out_str(o, "NIL");
}

static void env_addrs(struct mail_out *o, const struct mail_mime_env *e,
                      enum mail_env_field f)
{
    /* RFC 3501 7.4.2: absent or empty Sender and Reply-To are From */
    if ((f == MAIL_ENV_SENDER || f == MAIL_ENV_REPLY_TO) &&
        (!e->have[f] || e->field[f][0] == '\0'))
        f = MAIL_ENV_FROM;
    if (e->have[f])
        addr_list(o, e->field[f], strlen(e->field[f]));
    else
        mail_out_str(o, "NIL");
}

void mail_imap_out_envelope(struct mail_out *o, const struct mail_mime *m,
                            int part)
{
    static const struct mail_mime_env none;
    const struct mail_mime_env *e = &none;
    int k =
        (part >= 0 && (unsigned)part < m->nparts) ? m->part[part].message : -1;

    if (k >= 0)
        e = &m->env[k];
    mail_out_str(o, "(");
    env_string(o, e, MAIL_ENV_DATE);
    mail_out_str(o, " ");
    env_string(o, e, MAIL_ENV_SUBJECT);
    for (int f = MAIL_ENV_FROM; f <= MAIL_ENV_BCC; f++) {
        mail_out_str(o, " ");
        env_addrs(o, e, (enum mail_env_field)f);
    }
    mail_out_str(o, " ");
    env_string(o, e, MAIL_ENV_IN_REPLY_TO);
    mail_out_str(o, " ");
    env_string(o, e, MAIL_ENV_MESSAGE_ID);
    mail_out_str(o, ")");
}

static void out_cstr(struct mail_out *o, const char *s)
{
    if (s && s[0])
        mail_imap_out_string(o, s, strlen(s));
    else
        mail_out_str(o, "NIL");
}

static void param_list(struct mail_out *o, const struct mail_mime_param *p,
                       unsigned n)
{
    if (n == 0) {
        mail_out_str(o, "NIL");
        return;
    }
    mail_out_str(o, "(");
    for (unsigned k = 0; k < n; k++) {
        if (k)
            mail_out_str(o, " ");
        out_cstr(o, p[k].name);
        mail_out_str(o, " ");
        mail_imap_out_string(o, p[k].value, strlen(p[k].value));
    }
    mail_out_str(o, ")");
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
static void ext_tail(struct mail_out *o, const struct mail_mime_part *p)
{
    if (p->disp[0]) {
        mail_out_str(o, "(");
        out_cstr(o, p->disp);
        mail_out_str(o, " ");
        param_list(o, p->disp_param, p->ndisp_params);
        mail_out_str(o, ")");
    } else {
        mail_out_str(o, "NIL");
    }
    mail_out_str(o, " NIL NIL");
}

static int child_of(const struct mail_mime *m, int parent, int after)
{
    for (unsigned i = (unsigned)after + 1; i < m->nparts; i++)
        if (m->part[i].parent == parent)
            return (int)i;
    return -1;
}

static void one_part(struct mail_out *o, const struct mail_mime *m, int i,
                     bool ext);

static void multipart(struct mail_out *o, const struct mail_mime *m, int i,
                      bool ext)
{
    const struct mail_mime_part *p = &m->part[i];
    int c = child_of(m, i, i);

    mail_out_str(o, "(");
    if (c < 0) /* RFC 3501 needs one part at least: an empty text one */
        mail_out_str(o, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL "
                        "NIL \"7bit\" 0 0)");
    for (; c >= 0; c = child_of(m, i, c))
        one_part(o, m, c, ext);
    mail_out_str(o, " ");
    out_cstr(o, p->subtype);
    if (ext) {
        mail_out_str(o, " ");
        param_list(o, p->param, p->nparams);
        mail_out_str(o, " ");
        ext_tail(o, p);
    }
    mail_out_str(o, ")");
}

static void one_part(struct mail_out *o, const struct mail_mime *m, int i,
                     bool ext)
{
    const struct mail_mime_part *p = &m->part[i];
    int c;

    if (strcmp(p->type, "multipart") == 0) {
        multipart(o, m, i, ext);
        return;
    }
    mail_out_str(o, "(");
    out_cstr(o, p->type);
    mail_out_str(o, " ");
    out_cstr(o, p->subtype);
    mail_out_str(o, " ");
    param_list(o, p->param, p->nparams);
    mail_out_str(o, " ");
    out_cstr(o, p->id);
    mail_out_str(o, " ");
    out_cstr(o, p->desc);
    mail_out_str(o, " ");
    out_cstr(o, p->encoding[0] ? p->encoding : "7bit");
    mail_out_str(o, " ");
    mail_out_u64(o, p->body_len);
    if (strcmp(p->type, "message") == 0 && strcmp(p->subtype, "rfc822") == 0 &&
        (c = child_of(m, i, i)) >= 0) {
        mail_out_str(o, " ");
        mail_imap_out_envelope(o, m, c);
        mail_out_str(o, " ");
        one_part(o, m, c, ext);
        mail_out_str(o, " ");
        mail_out_u64(o, p->lines);
    } else if (strcmp(p->type, "text") == 0) {
        mail_out_str(o, " ");
        mail_out_u64(o, p->lines);
    }
    if (ext) {
        mail_out_str(o, " NIL "); /* body-fld-md5 */
        ext_tail(o, p);
    }
    mail_out_str(o, ")");
}

void mail_imap_out_bodystructure(struct mail_out *o, const struct mail_mime *m,
                                 int part, bool extensible)
{
    if (part < 0 || (unsigned)part >= m->nparts) {
        mail_out_str(o, "NIL");
        return;
    }
    one_part(o, m, part, extensible);
}
