/*
 * IMAP4rev1 sessions (RFC 3501) for local clients: each connection to
 * the "imap" port reads commands with lib/imap_read.c, parses them with
 * lib/imap_parse.c and answers from the store (lib/store.c). A session
 * keeps its selected folder's UIDs (sequence number i is uids[i-1]). A
 * FETCH whose replies pass OUT_HIGH (unsent, or made in this event) stops
 * between messages or inside a body literal (streaming: its {N} is the
 * stored size, its bytes are read from the store as the client takes
 * them), and input after a command whose replies did waits (kept in
 * rest); both go on when the client has read (on_writable) or from timer
 * 4, in order, so memory stays bounded by OUT_HIGH and a chunk, whatever
 * the message's size, and no event reads much more than OUT_HIGH from the
 * store. IDLE (RFC 2177) hears of new mail at once (imap_new_mail).
 */
#include <stdarg.h>

#include "mail_plugin.h"

struct imap_sess {
    struct conn *c;
    bool authed, selected, readonly, idling, auth_wait, appending;
    unsigned failures;               /* failed logins: 3 end the session */
    char tag[MAIL_IMAP_TAG_MAX + 1]; /* IDLE's or AUTHENTICATE's */
    int app_err;
    struct mail_folder f;
    uint32_t *uids;
    size_t nuids, cap;
    char *pending; /* a FETCH stopped at pending_at */
    size_t pending_len, pending_at;
    /* stopped inside message pending_at's body literal: its rest is
     * st_left bytes of body st_body from st_off, then sections st_sec on */
    bool streaming;
    int64_t st_body;
    uint64_t st_off, st_left;
    unsigned st_sec;
    uint8_t *rest; /* input that came after it */
    size_t rest_len;
    struct mail_append app;
    struct mail_imap_reader rd;
};

static struct mail_imap_cmd cmd;
static struct mail_mime mime;
static uint8_t buf[MAIL_CHUNK];
static char hdr[65536];

static void say(struct imap_sess *s, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0)
        conn_send(s->c, line,
                  (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void out_send(struct imap_sess *s, struct mail_out *o)
{
    conn_send(s->c, o->p, o->len);
}

/* --- the selected folder ------------------------------------------------ */

static int uids_load(struct imap_sess *s)
{
    int n = mail_store_uids(s->f.id, s->uids, s->cap);
    if (n >= 0 && (size_t)n > s->cap) {
        size_t cap = (size_t)n + 1024;
        uint32_t *u = realloc(s->uids, cap * sizeof(*u));
        if (!u)
            return FASTN_ERR_NOMEM;
        s->uids = u;
        s->cap = cap;
        n = mail_store_uids(s->f.id, s->uids, s->cap);
    }
    if (n < 0)
        return n;
    s->nuids = (size_t)n;
    return 0;
}

/* New messages (UIDs past the last known) become EXISTS. */
static void refresh(struct imap_sess *s)
{
    size_t old = s->nuids;
    if (!s->selected || uids_load(s) != 0)
        return;
    if (s->nuids != old)
        say(s, "* %zu EXISTS\r\n", s->nuids);
}

void imap_new_mail(int64_t folder)
{
    for (size_t i = 0; i < CONNS; i++) {
        struct conn *c = conn_each(i);
        struct imap_sess *s = c ? c->state : NULL;
        if (c && c->kind == CONN_IMAP && s && s->selected &&
            s->f.id == folder && s->idling)
            refresh(s);
    }
}

static void unselect(struct imap_sess *s)
{
    s->selected = false;
    s->nuids = 0;
}

static size_t seq_of(struct imap_sess *s, uint32_t uid)
{
    for (size_t i = 0; i < s->nuids; i++)
        if (s->uids[i] == uid)
            return i + 1;
    return 0;
}

static void forget(struct imap_sess *s, uint32_t uid)
{
    size_t q = seq_of(s, uid);
    if (!q)
        return;
    memmove(s->uids + q - 1, s->uids + q, (s->nuids - q) * sizeof(*s->uids));
    s->nuids--;
    say(s, "* %zu EXPUNGE\r\n", q);
}

static void expunged(void *ctx, uint32_t uid)
{
    forget(ctx, uid);
}

/* Is message i (0-based) in set (sequence numbers, or UIDs)? */
static bool in_set(struct imap_sess *s, const struct mail_seq_set *set,
                   bool uid, size_t i)
{
    uint32_t v = uid ? s->uids[i] : (uint32_t)(i + 1);
    uint32_t max = uid ? s->uids[s->nuids - 1] : (uint32_t)s->nuids;
    for (unsigned k = 0; k < set->n; k++) {
        uint32_t lo = set->r[k].lo, hi = set->r[k].hi;
        if (hi == MAIL_SEQ_STAR)
            hi = max;
        if (lo == MAIL_SEQ_STAR)
            lo = max;
        if (lo > hi) {
            uint32_t t = lo;
            lo = hi;
            hi = t;
        }
        if (v >= lo && v <= hi)
            return true;
    }
    return false;
}

/* --- one message -------------------------------------------------------- */

static struct mail_msg cur;
static int got_msg(void *ctx, const struct mail_msg *m)
{
    (void)ctx;
    cur = *m;
    return 1;
}

static bool msg_get(struct imap_sess *s, uint32_t uid)
{
    return mail_store_fetch(s->f.id, uid, uid, got_msg, NULL) == 1;
}

/* The message's structure; header_only: only its header (ENVELOPE and
 * the root's sections need no more, and a large message is not read). */
static void mime_load(int64_t body, bool header_only)
{
    uint64_t off = 0;
    int n;
    mail_mime_init(&mime);
    while ((n = mail_store_read(body, off, buf, sizeof(buf))) > 0) {
        size_t k = (size_t)n;
        bool end = false;
        for (size_t j = 0; header_only && j + 4 <= k; j++)
            if (!memcmp(buf + j, "\r\n\r\n", 4)) {
                k = j + 4;
                end = true;
                break;
            }
        mail_mime_feed(&mime, buf, k);
        off += k;
        if (end)
            break;
    }
    mail_mime_end(&mime);
    if (header_only) /* the body's size, as the store has it */
        mime.part[0].body_len = cur.size - mime.part[0].body_off;
}

/* The header (at most sizeof(hdr)) of the message: its length. */
static size_t header_load(int64_t body, uint64_t hlen)
{
    if (hlen > sizeof(hdr))
        hlen = sizeof(hdr);
    int n = mail_store_read(body, 0, (uint8_t *)hdr, (size_t)hlen);
    return n > 0 ? (size_t)n : 0;
}

/* Enough for now: replies wait unsent past OUT_HIGH (the client does not
 * keep up), or this event made OUT_HIGH of them (reading the store for
 * more would hold the loop past the plugin's slice; it goes on from
 * timer 4). */
static bool busy(const struct conn *c)
{
    return c->out_len > OUT_HIGH || c->out_now > OUT_HIGH;
}

/* len bytes of body from off, while not busy: false when some are left
 * (kept in st_*, to go on later). A body that cannot be read (gone: an
 * EXPUNGE by another session) breaks the literal's promise: the session
 * ends. */
static bool body_send(struct imap_sess *s, int64_t body, uint64_t off,
                      uint64_t len)
{
    s->streaming = false;
    while (len > 0) {
        if (busy(s->c)) {
            s->streaming = true;
            s->st_body = body;
            s->st_off = off;
            s->st_left = len;
            return false;
        }
        size_t want = len < sizeof(buf) ? (size_t)len : sizeof(buf);
        int n = mail_store_read(body, off, buf, want);
        if (n <= 0) {
            fastn_logf(FASTN_LOG_WARN,
                       "imap: a message's body could not be read (%d) "
                       "with %llu bytes of its literal left: closing",
                       n, (unsigned long long)len);
            s->c->closing = 1;
            return true;
        }
        conn_send(s->c, buf, (size_t)n);
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return true;
}

/* Part by number path (RFC 3501 6.4.5): -1 when there is none. */
static int part_find(const struct mail_fetch_section *sec)
{
    int p = 0;
    for (unsigned d = 0; d < sec->nparts; d++) {
        uint32_t k = sec->part[d], seen = 0;
        int found = -1;
        if (!strcmp(mime.part[p].type, "message") &&
            !strcmp(mime.part[p].subtype, "rfc822") && d > 0) {
            for (unsigned j = 0; j < mime.nparts && found < 0; j++)
                if (mime.part[j].parent == p)
                    found = (int)j;
            if (found < 0)
                return -1;
            p = found;
            found = -1;
        }
        if (!strcmp(mime.part[p].type, "multipart")) {
            for (unsigned j = 0; j < mime.nparts && found < 0; j++)
                if (mime.part[j].parent == p && ++seen == k)
                    found = (int)j;
        } else if (k == 1)
            found = p;
        if (found < 0)
            return -1;
        p = found;
    }
    return p;
}

/* HEADER.FIELDS (NOT): the fields of h[0..n) named (or not) in sec. */
static size_t fields_filter(const struct mail_fetch_section *sec, char *h,
                            size_t n, bool not )
{
    size_t w = 0, i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n) { /* a field: to a line end not followed by WSP */
            char *lf = memchr(h + e, '\n', n - e);
            e = lf ? (size_t)(lf - h) + 1 : n;
            if (e >= n || (h[e] != ' ' && h[e] != '\t'))
                break;
        }
        size_t colon = i;
        while (colon < e && h[colon] != ':')
            colon++;
        bool named = false;
        for (unsigned f = 0; f < sec->nfields && colon < e; f++)
            named |= mail_ieq(h + i, colon - i, sec->field[f]);
        if (colon < e && named != not &&e - i > 2) {
            memmove(h + w, h + i, e - i);
            w += e - i;
        }
        i = e;
    }
    memcpy(h + w, "\r\n", 2);
    return w + 2;
}

static void section_name(struct mail_out *o,
                         const struct mail_fetch_section *sec)
{
    static const char *kinds[] = {
        "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"};
    if (sec->as) {
        mail_out_str(o, sec->as);
        return;
    }
    mail_out_str(o, "BODY[");
    for (unsigned d = 0; d < sec->nparts; d++) {
        if (d)
            mail_out_str(o, ".");
        mail_out_u64(o, sec->part[d]);
    }
    if (sec->nparts && sec->kind != MAIL_SECTION_ALL)
        mail_out_str(o, ".");
    mail_out_str(o, kinds[sec->kind]);
    if (sec->kind == MAIL_SECTION_FIELDS ||
        sec->kind == MAIL_SECTION_FIELDS_NOT) {
        mail_out_str(o, " (");
        for (unsigned f = 0; f < sec->nfields; f++) {
            if (f)
                mail_out_str(o, " ");
            mail_out_str(o, sec->field[f]);
        }
        mail_out_str(o, ")");
    }
    mail_out_str(o, "]");
    if (sec->partial) {
        mail_out_str(o, "<");
        mail_out_u64(o, sec->offset);
        mail_out_str(o, ">");
    }
}

/* Sends a section; false when its body literal is left unfinished. */
static bool section_send(struct imap_sess *s,
                         const struct mail_fetch_section *sec)
{
    char tmp[1024];
    struct mail_out o;
    uint64_t off = 0, len = cur.size;
    bool inmem = false;
    size_t hn = 0;
    int p = part_find(sec);
    mail_out_init(&o, tmp, sizeof(tmp));
    mail_out_str(&o, " ");
    section_name(&o, sec);
    if (p < 0) {
        len = 0;
    } else {
        const struct mail_mime_part *pt = &mime.part[p];
        bool msgroot = pt->message >= 0;
        switch (sec->kind) {
        case MAIL_SECTION_ALL:
            if (sec->nparts) {
                off = pt->body_off;
                len = pt->body_len;
            }
            break;
        case MAIL_SECTION_HEADER:
        case MAIL_SECTION_MIME:
            off = pt->hdr_off;
            len = pt->body_off - pt->hdr_off;
            (void)msgroot;
            break;
        case MAIL_SECTION_TEXT:
            off = pt->body_off;
            len = pt->body_len;
            break;
        case MAIL_SECTION_FIELDS:
        case MAIL_SECTION_FIELDS_NOT:
            hn = header_load(cur.body, pt->body_off);
            hn = fields_filter(sec, hdr, hn,
                               sec->kind == MAIL_SECTION_FIELDS_NOT);
            inmem = true;
            len = hn;
            break;
        }
    }
    if (sec->partial) {
        uint64_t o2 = sec->offset > len ? len : sec->offset;
        uint64_t c2 = len - o2 < sec->count ? len - o2 : sec->count;
        if (inmem)
            memmove(hdr, hdr + o2, (size_t)c2);
        off += o2;
        len = c2;
    }
    mail_out_str(&o, " {");
    mail_out_u64(&o, len);
    mail_out_str(&o, "}\r\n");
    out_send(s, &o);
    if (!inmem)
        return body_send(s, cur.body, off, len);
    conn_send(s->c, hdr, (size_t)len);
    return true;
}

/* The message's structure as far as the command's items need it. */
static void mime_for_cmd(void)
{
    bool need_mime = cmd.fetch & (MAIL_FETCH_ENVELOPE |
                                  MAIL_FETCH_BODYSTRUCTURE | MAIL_FETCH_BODY);
    bool whole = cmd.fetch & (MAIL_FETCH_BODYSTRUCTURE | MAIL_FETCH_BODY);
    for (unsigned k = 0; k < cmd.nsections; k++) {
        need_mime = true;
        whole |= cmd.section[k].nparts > 0;
    }
    if (need_mime)
        mime_load(cur.body, !whole);
}

/* Sections from k on, then the reply's end: false when one stopped. */
static bool sections_send(struct imap_sess *s, unsigned k)
{
    for (; k < cmd.nsections; k++)
        if (!section_send(s, &cmd.section[k])) {
            s->st_sec = k + 1;
            return false;
        }
    conn_send_str(s->c, ")\r\n");
    return true;
}

/* A reply stopped inside a body literal goes on; false when it stopped
 * again. */
static bool fetch_go_on(struct imap_sess *s, size_t i)
{
    if (!body_send(s, s->st_body, s->st_off, s->st_left))
        return false;
    if (s->c->closing)
        return true;
    if (s->st_sec < cmd.nsections) { /* the structure again: cur is shared */
        if (!msg_get(s, s->uids[i])) {
            fastn_logf(FASTN_LOG_WARN,
                       "imap: a message went away in its FETCH: closing");
            s->c->closing = 1;
            return true;
        }
        mime_for_cmd();
    }
    return sections_send(s, s->st_sec);
}

/* Message i's reply: false when it stopped inside a body literal. */
static bool fetch_one(struct imap_sess *s, size_t i)
{
    static char tmp[65536];
    struct mail_out o;
    bool seen = false;
    if (!msg_get(s, s->uids[i]))
        return true;
    for (unsigned k = 0; k < cmd.nsections; k++)
        seen |= !cmd.section[k].peek;
    if (seen && !s->readonly && !(cur.flags & MAIL_FLAG_SEEN)) {
        mail_store_flags(s->f.id, cur.uid, cur.uid, 1, MAIL_FLAG_SEEN);
        cur.flags |= MAIL_FLAG_SEEN;
    } else
        seen = false;
    mime_for_cmd();
    mail_out_init(&o, tmp, sizeof(tmp));
    mail_out_str(&o, "* ");
    mail_out_u64(&o, i + 1);
    mail_out_str(&o, " FETCH (UID ");
    mail_out_u64(&o, cur.uid);
    if ((cmd.fetch & MAIL_FETCH_FLAGS) || seen) {
        mail_out_str(&o, " FLAGS ");
        mail_imap_out_flags(&o, cur.flags);
    }
    if (cmd.fetch & MAIL_FETCH_INTERNALDATE) {
        mail_out_str(&o, " INTERNALDATE ");
        mail_imap_out_date(&o, cur.internaldate);
    }
    if (cmd.fetch & MAIL_FETCH_RFC822_SIZE) {
        mail_out_str(&o, " RFC822.SIZE ");
        mail_out_u64(&o, cur.size);
    }
    if (cmd.fetch & MAIL_FETCH_ENVELOPE) {
        mail_out_str(&o, " ENVELOPE ");
        mail_imap_out_envelope(&o, &mime, 0);
    }
    if (cmd.fetch & MAIL_FETCH_BODYSTRUCTURE) {
        mail_out_str(&o, " BODYSTRUCTURE ");
        mail_imap_out_bodystructure(&o, &mime, 0, true);
    }
    if (cmd.fetch & MAIL_FETCH_BODY) {
        mail_out_str(&o, " BODY ");
        mail_imap_out_bodystructure(&o, &mime, 0, false);
    }
    out_send(s, &o);
    return sections_send(s, 0);
}

/* FETCH from message pending_at on (inside its reply when streaming);
 * stops when busy, between messages or inside a body literal. */
static void fetch_run(struct imap_sess *s, const char *text, size_t len)
{
    size_t i = s->pending_at;
    for (; i < s->nuids; i++) {
        bool done;
        if (s->streaming)
            done = fetch_go_on(s, i);
        else if (!in_set(s, &cmd.sets[0], cmd.uid, i))
            continue;
        else
            done = fetch_one(s, i);
        if (s->c->closing)
            break;
        if (!done || (busy(s->c) && i + 1 < s->nuids)) {
            if (!s->pending) {
                s->pending = malloc(len);
                if (!s->pending) {
                    s->c->closing = 1; /* a reply cut short: no more */
                    break;
                }
                memcpy(s->pending, text, len);
                s->pending_len = len;
            }
            s->pending_at = done ? i + 1 : i;
            return;
        }
    }
    free(s->pending);
    s->pending = NULL;
    s->pending_at = 0;
    s->streaming = false;
    if (!s->c->closing)
        say(s, "%s OK %sFETCH completed\r\n", cmd.tag, cmd.uid ? "UID " : "");
}

/* --- SEARCH ------------------------------------------------------------- */

static bool hdr_has(size_t hn, const char *field, const char *needle)
{
    size_t fl = strlen(field), nl = strlen(needle);
    for (size_t i = 0; i + fl < hn; i++) {
        if ((i == 0 || hdr[i - 1] == '\n') && hdr[i + fl] == ':' &&
            mail_ieq(hdr + i, fl, field)) {
            size_t e = i + fl + 1;
            while (e < hn && !(hdr[e] == '\n' && e + 1 < hn &&
                               hdr[e + 1] != ' ' && hdr[e + 1] != '\t'))
                e++;
            for (size_t j = i + fl + 1; j + nl <= e; j++)
                if (mail_ieq(hdr + j, nl, needle))
                    return true;
            if (!nl)
                return true;
        }
    }
    return false;
}

static bool bytes_has(int64_t body, uint64_t from, const char *needle)
{
    size_t nl = strlen(needle);
    uint64_t off = from;
    int n;
    if (nl == 0)
        return true;
    if (nl > 1024)
        return false;
    while ((n = mail_store_read(body, off, buf, sizeof(buf))) > 0) {
        for (size_t j = 0; j + nl <= (size_t)n; j++)
            if (mail_ieq((char *)buf + j, nl, needle))
                return true;
        if ((size_t)n < sizeof(buf))
            break;
        off += (uint64_t)n - nl; /* overlap: a match across chunks */
    }
    return false;
}

static bool eval(struct imap_sess *s, unsigned k, size_t i, size_t hn)
{
    const struct mail_search_node *nd = &cmd.node[k];
    int64_t day = cur.internaldate / 86400;
    static const char *const hf[] = {"From", "To", "Cc", "Bcc", "Subject"};
    switch (nd->key) {
    case MAIL_SK_AND:
        for (unsigned j = 0; j < nd->count; j++)
            if (!eval(s, cmd.kids[nd->first + j], i, hn))
                return false;
        return true;
    case MAIL_SK_OR:
        return eval(s, cmd.kids[nd->first], i, hn) ||
               eval(s, cmd.kids[nd->first + 1], i, hn);
    case MAIL_SK_NOT:
        return !eval(s, cmd.kids[nd->first], i, hn);
    case MAIL_SK_ALL:
    case MAIL_SK_OLD:
        return true;
    case MAIL_SK_NEW:
        return false;
    case MAIL_SK_FLAG:
        return nd->flag != MAIL_FLAG_RECENT && (cur.flags & nd->flag);
    case MAIL_SK_UNFLAG:
        return nd->flag == MAIL_FLAG_RECENT || !(cur.flags & nd->flag);
    case MAIL_SK_FROM:
    case MAIL_SK_TO:
    case MAIL_SK_CC:
    case MAIL_SK_BCC:
    case MAIL_SK_SUBJECT:
        return hdr_has(hn, hf[nd->key - MAIL_SK_FROM], nd->str);
    case MAIL_SK_HEADER:
        return hdr_has(hn, nd->field, nd->str);
    case MAIL_SK_BODY:
        return bytes_has(cur.body, hn, nd->str);
    case MAIL_SK_TEXT:
        return bytes_has(cur.body, 0, nd->str);
    case MAIL_SK_KEYWORD:
        return false;
    case MAIL_SK_UNKEYWORD:
        return true;
    case MAIL_SK_BEFORE:
    case MAIL_SK_SENTBEFORE:
        return day < nd->num;
    case MAIL_SK_ON:
    case MAIL_SK_SENTON:
        return day == nd->num;
    case MAIL_SK_SINCE:
    case MAIL_SK_SENTSINCE:
        return day >= nd->num;
    case MAIL_SK_LARGER:
        return cur.size > (uint64_t)nd->num;
    case MAIL_SK_SMALLER:
        return cur.size < (uint64_t)nd->num;
    case MAIL_SK_UID:
        return in_set(s, &cmd.sets[nd->set], true, i);
    case MAIL_SK_SEQ:
        return in_set(s, &cmd.sets[nd->set], false, i);
    }
    return false;
}

static void do_search(struct imap_sess *s)
{
    conn_send_str(s->c, "* SEARCH");
    for (size_t i = 0; i < s->nuids; i++) {
        if (!msg_get(s, s->uids[i]))
            continue;
        size_t hn = header_load(cur.body, cur.size);
        for (size_t j = 0; j + 4 <= hn; j++)
            if (!memcmp(hdr + j, "\r\n\r\n", 4)) {
                hn = j + 4;
                break;
            }
        if (eval(s, 0, i, hn))
            say(s, " %lu", (unsigned long)(cmd.uid ? s->uids[i] : i + 1));
    }
    say(s, "\r\n%s OK %sSEARCH completed\r\n", cmd.tag, cmd.uid ? "UID " : "");
}

/* --- STORE, COPY, MOVE, EXPUNGE ---------------------------------------- */

static void do_store(struct imap_sess *s)
{
    for (size_t i = 0; i < s->nuids; i++) {
        if (!in_set(s, &cmd.sets[0], cmd.uid, i))
            continue;
        uint32_t u = s->uids[i];
        mail_store_flags(s->f.id, u, u, cmd.store_op,
                         cmd.flags & ~(unsigned)MAIL_FLAG_RECENT);
        if (!cmd.silent && msg_get(s, u)) {
            char tmp[160];
            struct mail_out o;
            mail_out_init(&o, tmp, sizeof(tmp));
            mail_out_str(&o, "* ");
            mail_out_u64(&o, i + 1);
            mail_out_str(&o, " FETCH (FLAGS ");
            mail_imap_out_flags(&o, cur.flags);
            if (cmd.uid) {
                mail_out_str(&o, " UID ");
                mail_out_u64(&o, u);
            }
            mail_out_str(&o, ")\r\n");
            out_send(s, &o);
        }
    }
    say(s, "%s OK %sSTORE completed\r\n", cmd.tag, cmd.uid ? "UID " : "");
}

struct copied {
    struct mail_out from, to;
    char fb[4096], tb[4096];
    unsigned n;
};

static void on_copied(void *ctx, uint32_t from, uint32_t to)
{
    struct copied *c = ctx;
    if (c->n++) {
        mail_out_str(&c->from, ",");
        mail_out_str(&c->to, ",");
    }
    mail_out_u64(&c->from, from);
    mail_out_u64(&c->to, to);
}

static void do_copy(struct imap_sess *s, bool move)
{
    static struct copied cp;
    struct mail_folder dst;
    uint32_t moved[1024];
    size_t nm = 0;
    const char *verb = move ? "MOVE" : "COPY";
    if (mail_store_folder_get(cmd.arg[0], &dst) != 0) {
        say(s, "%s NO [TRYCREATE] No folder %s: CREATE it first\r\n", cmd.tag,
            cmd.arg[0]);
        return;
    }
    cp.n = 0;
    mail_out_init(&cp.from, cp.fb, sizeof(cp.fb));
    mail_out_init(&cp.to, cp.tb, sizeof(cp.tb));
    for (size_t i = 0; i < s->nuids; i++) {
        if (!in_set(s, &cmd.sets[0], cmd.uid, i))
            continue;
        uint32_t u = s->uids[i];
        int n = mail_store_copy(s->f.id, u, u, cmd.arg[0], move && !s->readonly,
                                on_copied, &cp);
        if (n < 0) {
            say(s, "%s NO %s failed (%d): try again\r\n", cmd.tag, verb, n);
            return;
        }
        if (move && n > 0 && nm < 1024)
            moved[nm++] = u;
    }
    if (move) {
        if (cp.n && !cp.from.over && !cp.to.over)
            say(s, "* OK [COPYUID %u %.*s %.*s] Moved\r\n", dst.uidvalidity,
                (int)cp.from.len, cp.fb, (int)cp.to.len, cp.tb);
        for (size_t k = 0; k < nm; k++)
            forget(s, moved[k]);
        say(s, "%s OK %sMOVE completed\r\n", cmd.tag, cmd.uid ? "UID " : "");
    } else if (cp.n && !cp.from.over && !cp.to.over)
        say(s, "%s OK [COPYUID %u %.*s %.*s] %sCOPY completed\r\n", cmd.tag,
            dst.uidvalidity, (int)cp.from.len, cp.fb, (int)cp.to.len, cp.tb,
            cmd.uid ? "UID " : "");
    else
        say(s, "%s OK %sCOPY completed\r\n", cmd.tag, cmd.uid ? "UID " : "");
}

/* 0, or the store's error (the expunge undid itself: nothing is gone). */
static int do_expunge(struct imap_sess *s, bool quiet)
{
    int err = 0;
    if (cmd.uid) {
        for (size_t i = 0; i < s->nuids && err >= 0;) {
            uint32_t u = s->uids[i];
            size_t before = s->nuids;
            if (in_set(s, &cmd.sets[0], true, i))
                err = mail_store_expunge(s->f.id, u, u, expunged, s);
            if (s->nuids == before)
                i++;
        }
    } else
        err = mail_store_expunge(s->f.id, 1, UINT32_MAX - 1,
                                 quiet ? NULL : expunged, s);
    if (err < 0)
        fastn_logf(FASTN_LOG_WARN, "imap: expunge failed: %d (%s)", err,
                   mail_store_why);
    return err < 0 ? err : 0;
}

/* --- folders ------------------------------------------------------------ */

/* LIST's pattern (RFC 3501 6.3.8: '*' matches anything, '%' anything but
 * the hierarchy delimiter) against a name, by dynamic programming: time
 * p x n and room n, however many wildcards. */
static bool wild(const char *p, const char *n)
{
    static bool row[2][MAIL_FOLDER_NAME_MAX + 2];
    size_t pl = strlen(p), nl = strlen(n);
    if (nl > MAIL_FOLDER_NAME_MAX)
        return false;
    bool *prev = row[0], *cur = row[1];
    memset(prev, 0, nl + 1);
    prev[0] = true;
    for (size_t i = 1; i <= pl; i++) {
        char c = p[i - 1];
        cur[0] = prev[0] && (c == '*' || c == '%');
        for (size_t j = 1; j <= nl; j++) {
            if (c == '*')
                cur[j] = prev[j] || cur[j - 1];
            else if (c == '%')
                cur[j] = prev[j] || (cur[j - 1] && n[j - 1] != '/');
            else
                cur[j] = prev[j - 1] && c == n[j - 1];
        }
        bool *t = prev;
        prev = cur;
        cur = t;
    }
    return prev[nl];
}

struct lister {
    struct imap_sess *s;
    char pat[600];
    bool lsub;
};

static int list_one(void *ctx, const struct mail_folder *f)
{
    struct lister *l = ctx;
    char tmp[700];
    struct mail_out o;
    if ((l->lsub && !f->subscribed) || !wild(l->pat, f->name))
        return 0;
    mail_out_init(&o, tmp, sizeof(tmp));
    mail_out_str(&o, l->lsub ? "* LSUB (" : "* LIST (");
    mail_out_str(&o, f->special);
    mail_out_str(&o, ") \"/\" ");
    mail_imap_out_astring(&o, f->name, strlen(f->name));
    mail_out_str(&o, "\r\n");
    if (!o.over)
        out_send(l->s, &o);
    return 0;
}

static void do_list(struct imap_sess *s, bool lsub)
{
    static struct lister l;
    l.s = s;
    l.lsub = lsub;
    if (!cmd.arg[1][0]) {
        say(s, "* %s (\\Noselect) \"/\" \"\"\r\n%s OK %s completed\r\n",
            lsub ? "LSUB" : "LIST", cmd.tag, lsub ? "LSUB" : "LIST");
        return;
    }
    snprintf(l.pat, sizeof(l.pat), "%s%s", cmd.arg[0], cmd.arg[1]);
    if (mail_ieq(l.pat, 5, "INBOX") && (!l.pat[5] || l.pat[5] == '/'))
        memcpy(l.pat, "INBOX", 5);
    mail_store_folder_list(list_one, &l);
    say(s, "%s OK %s completed\r\n", cmd.tag, lsub ? "LSUB" : "LIST");
}

static const char *why(int err)
{
    switch (err) {
    case FASTN_ERR_EXISTS:
        return "[ALREADYEXISTS] That folder exists";
    case FASTN_ERR_NOT_FOUND:
        return "[NONEXISTENT] No such folder";
    case FASTN_ERR_PERM:
        return "[CANNOT] INBOX cannot be deleted or renamed";
    case FASTN_ERR_INVAL:
        return "[CANNOT] Not a valid folder name (1..255 bytes, no % * or "
               "control characters)";
    case FASTN_ERR_TOO_LARGE:
        return "[TOOBIG] Message too large";
    case FASTN_ERR_STORE_QUOTA:
        return "[OVERQUOTA] The mail database is full";
    }
    return "[SERVERBUG] Storage failed: try again";
}

static void done(struct imap_sess *s, int err, const char *what)
{
    if (err < 0)
        say(s, "%s NO %s\r\n", cmd.tag, why(err));
    else
        say(s, "%s OK %s completed\r\n", cmd.tag, what);
}

static void do_select(struct imap_sess *s, bool ro)
{
    unselect(s);
    int err = mail_store_folder_get(cmd.arg[0], &s->f);
    if (err || (err = uids_load(s)) != 0) {
        done(s, err, "");
        return;
    }
    s->selected = true;
    s->readonly = ro;
    say(s,
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
        "\\Draft)] Flags kept\r\n* %zu EXISTS\r\n* 0 RECENT\r\n"
        "* OK [UIDVALIDITY %u] UIDs valid\r\n* OK [UIDNEXT %u] Next UID\r\n"
        "%s OK [%s] %s completed\r\n",
        s->nuids, s->f.uidvalidity, s->f.uidnext, cmd.tag,
        ro ? "READ-ONLY" : "READ-WRITE", ro ? "EXAMINE" : "SELECT");
}

static void do_status(struct imap_sess *s)
{
    struct mail_folder f;
    char tmp[600];
    struct mail_out o;
    int err = mail_store_folder_get(cmd.arg[0], &f);
    if (err) {
        done(s, err, "");
        return;
    }
    mail_out_init(&o, tmp, sizeof(tmp));
    mail_out_str(&o, "* STATUS ");
    mail_imap_out_astring(&o, f.name, strlen(f.name));
    mail_out_str(&o, " (");
    const char *sep = "";
    static const char *names[] = {"MESSAGES", "RECENT", "UIDNEXT",
                                  "UIDVALIDITY", "UNSEEN"};
    uint64_t vals[] = {f.messages, 0, f.uidnext, f.uidvalidity, f.unseen};
    for (int k = 0; k < 5; k++)
        if (cmd.status & (1u << k)) {
            mail_out_str(&o, sep);
            mail_out_str(&o, names[k]);
            mail_out_str(&o, " ");
            mail_out_u64(&o, vals[k]);
            sep = " ";
        }
    mail_out_str(&o, ")\r\n");
    out_send(s, &o);
    done(s, 0, "STATUS");
}

/* APPEND: begun at the literal's header (streamed) or whole (inline). */
static int append_begin(struct imap_sess *s)
{
    s->app_err = mail_store_append_begin(&s->app, cmd.arg[0], cmd.flags,
                                         cmd.date >= 0 ? cmd.date : now_s(),
                                         mail_cfg.size_max);
    s->appending = s->app_err == 0;
    return s->app_err;
}

static void append_end(struct imap_sess *s)
{
    uint32_t uid = 0;
    int err = s->app_err;
    if (!err && !cmd.streamed && !s->appending) {
        if ((err = append_begin(s)) == 0)
            err = mail_store_append_data(&s->app, (const uint8_t *)cmd.msg,
                                         (size_t)cmd.msg_size);
    }
    if (!err && s->appending)
        err = mail_store_append_end(&s->app, &uid);
    if (err && s->appending)
        mail_store_append_abort(&s->app);
    s->appending = false;
    s->app_err = 0;
    if (err == FASTN_ERR_NOT_FOUND) {
        say(s, "%s NO [TRYCREATE] No such folder: CREATE it first\r\n",
            cmd.tag);
        return;
    }
    if (err) {
        done(s, err, "");
        return;
    }
    struct mail_folder f;
    if (mail_store_folder_get(cmd.arg[0], &f) == 0) {
        say(s, "%s OK [APPENDUID %u %u] APPEND completed\r\n", cmd.tag,
            f.uidvalidity, uid);
        imap_new_mail(f.id);
    } else
        done(s, 0, "APPEND");
}

/* --- commands ----------------------------------------------------------- */

#define CAPS "IMAP4rev1 LITERAL+ SASL-IR IDLE UIDPLUS MOVE ENABLE ID AUTH=PLAIN"

static void login(struct imap_sess *s, const char *u, size_t ul, const char *p,
                  size_t pl, const char *tag)
{
    if (mail_password_check(u, ul, p, pl) == 0) {
        s->authed = true;
        say(s, "%s OK [CAPABILITY " CAPS "] Logged in\r\n", tag);
    } else {
        fastn_logf(FASTN_LOG_WARN, "imap: a failed login");
        say(s,
            "%s NO [AUTHENTICATIONFAILED] Wrong user or password (fastn "
            "mail setup makes a new one)\r\n",
            tag);
        if (++s->failures == 3) {
            say(s, "* BYE Too many failed logins\r\n");
            s->c->closing = 1;
        }
    }
}

/* AUTHENTICATE PLAIN's response: authzid NUL user NUL password. */
static void auth_plain(struct imap_sess *s, const char *b64, size_t n,
                       const char *tag)
{
    uint8_t raw[600];
    int k = mail_base64_decode(b64, n, raw, sizeof(raw));
    uint8_t *z1 = k > 0 ? memchr(raw, 0, (size_t)k) : NULL;
    uint8_t *z2 = z1 ? memchr(z1 + 1, 0, (size_t)(raw + k - z1 - 1)) : NULL;
    if (!z2) {
        say(s,
            "%s BAD Not a SASL PLAIN response (base64 of "
            "authzid NUL user NUL password)\r\n",
            tag);
        return;
    }
    login(s, (char *)z1 + 1, (size_t)(z2 - z1 - 1), (char *)z2 + 1,
          (size_t)(raw + k - z2 - 1), tag);
}

static void command_authed(struct imap_sess *s, const char *text, size_t len)
{
    switch (cmd.verb) {
    case MAIL_IMAP_SELECT:
    case MAIL_IMAP_EXAMINE:
        do_select(s, cmd.verb == MAIL_IMAP_EXAMINE);
        return;
    case MAIL_IMAP_CREATE:
        done(s, mail_store_folder_create(cmd.arg[0], now_s()), "CREATE");
        return;
    case MAIL_IMAP_DELETE:
        done(s, mail_store_folder_delete(cmd.arg[0]), "DELETE");
        return;
    case MAIL_IMAP_RENAME:
        done(s, mail_store_folder_rename(cmd.arg[0], cmd.arg[1], now_s()),
             "RENAME");
        return;
    case MAIL_IMAP_SUBSCRIBE:
    case MAIL_IMAP_UNSUBSCRIBE:
        done(s,
             mail_store_folder_subscribe(cmd.arg[0],
                                         cmd.verb == MAIL_IMAP_SUBSCRIBE),
             "SUBSCRIBE");
        return;
    case MAIL_IMAP_LIST:
    case MAIL_IMAP_LSUB:
        do_list(s, cmd.verb == MAIL_IMAP_LSUB);
        return;
    case MAIL_IMAP_STATUS:
        do_status(s);
        return;
    case MAIL_IMAP_APPEND:
        append_end(s);
        return;
    case MAIL_IMAP_IDLE:
        refresh(s);
        s->idling = true;
        snprintf(s->tag, sizeof(s->tag), "%s", cmd.tag);
        conn_send_str(s->c, "+ idling\r\n");
        return;
    default:
        break;
    }
    if (!s->selected) {
        say(s, "%s BAD Select a folder first (SELECT INBOX)\r\n", cmd.tag);
        return;
    }
    switch (cmd.verb) {
    case MAIL_IMAP_CHECK:
        refresh(s);
        done(s, 0, "CHECK");
        return;
    case MAIL_IMAP_CLOSE: {
        int err = s->readonly ? 0 : do_expunge(s, true);
        unselect(s); /* RFC 3501 6.4.2: deselected even when it fails */
        done(s, err, "CLOSE");
        return;
    }
    case MAIL_IMAP_EXPUNGE:
        if (s->readonly) {
            say(s, "%s NO [READ-ONLY] EXAMINE'd: SELECT to expunge\r\n",
                cmd.tag);
            return;
        }
        done(s, do_expunge(s, false), "EXPUNGE");
        return;
    case MAIL_IMAP_SEARCH:
        do_search(s);
        return;
    case MAIL_IMAP_FETCH:
        s->pending_at = 0;
        s->streaming = false;
        fetch_run(s, text, len);
        return;
    case MAIL_IMAP_STORE:
        if (s->readonly) {
            say(s, "%s NO [READ-ONLY] EXAMINE'd: SELECT to change flags\r\n",
                cmd.tag);
            return;
        }
        do_store(s);
        return;
    case MAIL_IMAP_COPY:
    case MAIL_IMAP_MOVE:
        do_copy(s, cmd.verb == MAIL_IMAP_MOVE);
        return;
    default:
        say(s, "%s BAD Not supported here\r\n", cmd.tag);
    }
}

static void command(struct imap_sess *s, const char *text, size_t len)
{
    char bad[256];
    if (s->idling) {
        s->idling = false;
        if (mail_ieq(text, len, "DONE"))
            say(s, "%s OK IDLE terminated\r\n", s->tag);
        else
            say(s, "%s BAD Expected DONE to end IDLE\r\n", s->tag);
        return;
    }
    if (s->auth_wait) {
        s->auth_wait = false;
        if (len == 1 && text[0] == '*')
            say(s, "%s BAD AUTHENTICATE cancelled\r\n", s->tag);
        else
            auth_plain(s, text, len, s->tag);
        return;
    }
    if (mail_imap_parse(text, len, &cmd, bad, sizeof(bad)) != 0) {
        conn_send_str(s->c, bad);
        return;
    }
    switch (cmd.verb) {
    case MAIL_IMAP_CAPABILITY:
        say(s, "* CAPABILITY " CAPS "\r\n%s OK CAPABILITY completed\r\n",
            cmd.tag);
        return;
    case MAIL_IMAP_NOOP:
        refresh(s);
        done(s, 0, "NOOP");
        return;
    case MAIL_IMAP_LOGOUT:
        say(s, "* BYE fastn mail logging out\r\n%s OK LOGOUT completed\r\n",
            cmd.tag);
        s->c->closing = 1;
        return;
    case MAIL_IMAP_ID:
        say(s, "* ID (\"name\" \"fastn\")\r\n%s OK ID completed\r\n", cmd.tag);
        return;
    case MAIL_IMAP_ENABLE:
        say(s, "* ENABLED\r\n%s OK ENABLE completed\r\n", cmd.tag);
        return;
    case MAIL_IMAP_LOGIN:
        login(s, cmd.arg[0], cmd.arg_len[0], cmd.arg[1], cmd.arg_len[1],
              cmd.tag);
        return;
    case MAIL_IMAP_AUTHENTICATE:
        if (!mail_ieq(cmd.arg[0], cmd.arg_len[0], "PLAIN")) {
            say(s, "%s NO Only AUTHENTICATE PLAIN is supported\r\n", cmd.tag);
            return;
        }
        if (cmd.arg[1]) {
            auth_plain(s, cmd.arg[1], cmd.arg_len[1], cmd.tag);
            return;
        }
        s->auth_wait = true;
        snprintf(s->tag, sizeof(s->tag), "%s", cmd.tag);
        conn_send_str(s->c, "+ \r\n");
        return;
    default:
        break;
    }
    if (!s->authed) {
        say(s, "%s BAD Log in first (LOGIN or AUTHENTICATE PLAIN)\r\n",
            cmd.tag);
        return;
    }
    command_authed(s, text, len);
}

/* At a streamed APPEND's literal: the command so far names the folder. */
static void literal_start(struct imap_sess *s, const struct mail_imap_event *e)
{
    char bad[256];
    s->app_err = FASTN_ERR_INVAL;
    if (s->authed &&
        mail_imap_parse(s->rd.buf, s->rd.len, &cmd, bad, sizeof(bad)) == 0 &&
        cmd.verb == MAIL_IMAP_APPEND)
        append_begin(s);
    if (e->sync)
        conn_send_str(s->c, "+ Ready\r\n");
}

/* Keeps p[0..n) (input after a command whose replies wait) for later;
 * it replaces what was kept, which the caller is done with. */
static int rest_keep(struct imap_sess *s, const uint8_t *p, size_t n)
{
    uint8_t *r = malloc(n);
    if (!r)
        return FASTN_ERR_NOMEM;
    memcpy(r, p, n);
    free(s->rest);
    s->rest = r;
    s->rest_len = n;
    return 0;
}

/* Runs the commands in p[0..n) until one leaves replies waiting past
 * OUT_HIGH (or a FETCH stopped between messages): the input after it is
 * kept in rest, taken up again from on_writable once the client has read,
 * so pipelined commands are answered in order and no more than one
 * command's replies pile up on a client that does not read. */
static int feed(struct imap_sess *s, const uint8_t *p, size_t n)
{
    struct conn *c = s->c;
    struct mail_imap_event e;
    while (n > 0 && !c->closing) {
        size_t used, len;
        enum mail_imap_ev ev = mail_imap_read(&s->rd, p, n, &used, &e);
        p += used;
        n -= used;
        switch (ev) {
        case MAIL_IMAP_EV_MORE:
            break;
        case MAIL_IMAP_EV_CONTINUE:
            conn_send_str(c, "+ Ready\r\n");
            break;
        case MAIL_IMAP_EV_LITERAL:
            literal_start(s, &e);
            break;
        case MAIL_IMAP_EV_DATA:
            if (s->appending && !s->app_err)
                s->app_err = mail_store_append_data(&s->app, e.data, e.len);
            break;
        case MAIL_IMAP_EV_COMMAND: {
            const char *text = mail_imap_reader_command(&s->rd, &len);
            command(s, text, len);
            if ((s->pending || busy(c)) && n > 0)
                return rest_keep(s, p, n); /* after the replies are read */
            break;
        }
        case MAIL_IMAP_EV_BAD:
            conn_send_str(c, e.reply);
            if (e.close)
                c->closing = 1;
            break;
        }
    }
    return 0;
}

/* Work left (a FETCH stopped, input kept) goes on from on_writable when
 * replies wait unsent, else from timer 4. */
static int go_on_later(struct imap_sess *s)
{
    int err = conn_flush(s->c);
    if (!err && !s->c->closing && (s->pending || s->rest) && s->c->out_len == 0)
        fastn_timer_set(4, 1);
    return err;
}

int imap_data(struct conn *c, const uint8_t *p, size_t n)
{
    struct imap_sess *s = c->state;
    if (c->closing)
        return 0;
    if (c->out_len > OUT_HIGH || s->pending || s->rest)
        return FASTN_ERR_AGAIN; /* the host holds it: what waits goes first */
    c->out_now = 0;
    int err = feed(s, p, n);
    return err ? err : go_on_later(s);
}

/* The client read: a stopped FETCH goes on, then the input kept after
 * it, each only while the replies waiting are under OUT_HIGH / 2. */
int imap_writable(struct conn *c)
{
    struct imap_sess *s = c->state;
    char bad[256];
    c->out_now = 0;
    while (!c->closing && c->out_len <= OUT_HIGH / 2 && !busy(c) &&
           (s->pending || s->rest)) {
        if (s->pending) {
            if (mail_imap_parse(s->pending, s->pending_len, &cmd, bad,
                                sizeof(bad))) {
                free(s->pending); /* parsed before: cannot happen */
                s->pending = NULL;
                continue;
            }
            fetch_run(s, s->pending, s->pending_len);
            continue;
        }
        uint8_t *r = s->rest;
        size_t rn = s->rest_len;
        s->rest = NULL;
        s->rest_len = 0;
        int err = feed(s, r, rn);
        free(r);
        if (err)
            return err;
    }
    return go_on_later(s);
}

void imap_resume(void)
{
    for (size_t i = 0; i < CONNS; i++) {
        struct conn *c = conn_each(i);
        struct imap_sess *s = c ? c->state : NULL;
        if (c && c->kind == CONN_IMAP && s && (s->pending || s->rest) &&
            c->out_len <= OUT_HIGH / 2 && imap_writable(c) < 0) {
            fastn_stream_reset(c->stream);
            imap_end(c);
            conn_free(c);
        }
    }
}

int imap_start(int32_t stream)
{
    struct conn *c = conn_new(stream, CONN_IMAP);
    struct imap_sess *s;
    if (!c)
        return FASTN_ERR_PLUGIN_LIMIT;
    if (!(s = calloc(1, sizeof(*s)))) {
        conn_free(c);
        return FASTN_ERR_NOMEM;
    }
    c->state = s;
    s->c = c;
    mail_imap_reader_init(&s->rd, mail_cfg.size_max);
    conn_send_str(c, "* OK [CAPABILITY " CAPS "] fastn mail ready\r\n");
    return 0;
}

void imap_end(struct conn *c)
{
    struct imap_sess *s = c->state;
    if (!s)
        return;
    if (s->appending)
        mail_store_append_abort(&s->app);
    free(s->uids);
    free(s->pending);
    free(s->rest);
}
