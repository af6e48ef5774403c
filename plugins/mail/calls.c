/*
 * The calls behind `fastn mail list|read|send` and the outbox's state
 * (mail.c dispatches them). list answers JSON; read the message's bytes;
 * send builds a plain RFC 5322 message and queues it as SMTP would.
 */
#include "mail_plugin.h"

#define LIST_MAX 500

static struct mail_mime mime;
static char out[1 << 20];

/* s as a JSON string's content (quotes and controls escaped). */
static size_t jesc(char *o, size_t cap, const char *s)
{
    size_t k = 0;
    for (; *s && k + 8 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            o[k++] = '\\';
            o[k++] = (char)ch;
        } else if (ch < 0x20)
            k += (size_t)snprintf(o + k, cap - k, "\\u%04x", ch);
        else
            o[k++] = (char)ch;
    }
    o[k] = 0;
    return k;
}

struct lst {
    size_t len;
    unsigned n;
};

static int list_cb(void *ctx, const struct mail_msg *m)
{
    struct lst *l = ctx;
    static uint8_t b[MAIL_CHUNK];
    char f[3][600], flags[100], fl[200];
    int n = mail_store_read(m->body, 0, b, sizeof(b));
    static const int fields[3] = {MAIL_ENV_FROM, MAIL_ENV_TO, MAIL_ENV_SUBJECT};
    mail_mime_init(&mime);
    for (int j = 0; j + 4 <= n; j++)
        if (!memcmp(b + j, "\r\n\r\n", 4)) {
            n = j + 4; /* the header is all list shows */
            break;
        }
    if (n > 0)
        mail_mime_feed(&mime, b, (size_t)n);
    mail_mime_end(&mime);
    for (int k = 0; k < 3; k++) {
        char v[300];
        snprintf(v, sizeof(v), "%s",
                 mime.env[0].have[fields[k]] ? mime.env[0].field[fields[k]]
                                             : "");
        jesc(f[k], sizeof(f[k]), v);
    }
    struct mail_out o;
    mail_out_init(&o, flags, sizeof(flags));
    mail_imap_out_flags(&o, m->flags);
    flags[o.len] = 0;
    jesc(fl, sizeof(fl), flags);
    n = snprintf(out + l->len, sizeof(out) - l->len,
                 "%s{\"uid\":%u,\"flags\":\"%s\",\"size\":%llu,\"date\":%lld,"
                 "\"from\":\"%s\",\"to\":\"%s\",\"subject\":\"%s\"}",
                 l->n ? "," : "", m->uid, fl, (unsigned long long)m->size,
                 (long long)m->internaldate, f[0], f[1], f[2]);
    if (n < 0 || (size_t)n >= sizeof(out) - l->len - 8)
        return 1; /* full: the newest are left out */
    l->len += (size_t)n;
    l->n++;
    return 0;
}

int32_t mail_call_list(int32_t call, const uint8_t *arg, size_t len)
{
    struct mail_folder f;
    char name[MAIL_FOLDER_NAME_MAX + 1] = "INBOX", esc[600];
    struct lst l = {0, 0};
    if (len > 0 && len < sizeof(name)) {
        memcpy(name, arg, len);
        name[len] = 0;
    }
    if (mail_store_folder_get(name, &f) != 0)
        return fastn_reply_str(call, FASTN_ERR_NOT_FOUND,
                               "no such folder (INBOX, Sent, Drafts, Trash, "
                               "Archive, or one you made)");
    jesc(esc, sizeof(esc), f.name);
    l.len = (size_t)snprintf(out, sizeof(out),
                             "{\"folder\":\"%s\",\"messages\":[", esc);
    /* the newest: at most LIST_MAX UIDs back (a mail client shows all) */
    mail_store_fetch(f.id, f.uidnext > LIST_MAX ? f.uidnext - LIST_MAX : 1,
                     UINT32_MAX - 1, list_cb, &l);
    l.len += (size_t)snprintf(out + l.len, sizeof(out) - l.len, "]}");
    return fastn_call_reply(call, 0, out, l.len);
}

static struct mail_msg found;
static int found_cb(void *ctx, const struct mail_msg *m)
{
    (void)ctx;
    found = *m;
    return 1;
}

int32_t mail_call_read(int32_t call, const uint8_t *arg, size_t len)
{
    struct fastn_arg a[2];
    char u[16], name[MAIL_FOLDER_NAME_MAX + 1] = "INBOX";
    struct mail_folder f;
    int na = fastn_args_split(arg, len, a, 2);
    if (na < 1 || fastn_arg_str(a[0], u, sizeof(u)) < 0 ||
        (na == 2 && fastn_arg_str(a[1], name, sizeof(name)) < 0))
        return fastn_reply_str(call, FASTN_ERR_INVAL,
                               "want: read UID [FOLDER]");
    uint32_t uid = (uint32_t)strtoul(u, NULL, 10);
    if (mail_store_folder_get(name, &f) != 0 || uid == 0 ||
        mail_store_fetch(f.id, uid, uid, found_cb, NULL) != 1)
        return fastn_reply_str(call, FASTN_ERR_NOT_FOUND,
                               "no such message (fastn mail list shows the "
                               "UIDs)");
    if (found.size > sizeof(out))
        return fastn_reply_str(call, FASTN_ERR_TOO_LARGE,
                               "over 1 MiB: read it with a mail client");
    size_t got = 0; /* one chunk per read: the whole message */
    while (got < found.size) {
        int n = mail_store_read(found.body, got, (uint8_t *)out + got,
                                sizeof(out) - got);
        if (n < 0)
            return fastn_reply_str(call, n, "cannot read it");
        if (n == 0)
            break;
        got += (size_t)n;
    }
    mail_store_flags(f.id, uid, uid, 1, MAIL_FLAG_SEEN);
    return fastn_call_reply(call, 0, out, got);
}

static char peers[MAIL_SMTP_RCPT_MAX][FASTN_PEER_ID_BUF];
static unsigned npeers;

static int send_hook(void *ctx, int64_t body, uint32_t uid)
{
    (void)ctx, (void)uid;
    return outbox_add_rows(body, (const char(*)[FASTN_PEER_ID_BUF])peers,
                           npeers);
}

/* A CONTENT_TYPE argument: a MIME type with parameters, one line of
 * printable ASCII (fastn mail send --attach gives multipart/mixed). */
static int ctype_get(const struct fastn_arg *a, char *ct, size_t cap)
{
    if (a->len == 0) {
        snprintf(ct, cap, "text/plain; charset=utf-8");
        return 0;
    }
    if (a->len >= cap || !memchr(a->p, '/', a->len))
        return -1;
    for (size_t i = 0; i < a->len; i++)
        if ((unsigned char)a->p[i] < 0x20 || (unsigned char)a->p[i] > 0x7e)
            return -1;
    memcpy(ct, a->p, a->len);
    ct[a->len] = 0;
    return 0;
}

/* send TO SUBJECT [BODY [CONTENT_TYPE]]: TO is one address or several,
 * comma-separated; BODY is the message's body as it goes out. */
int32_t mail_call_send(int32_t call, const uint8_t *arg, size_t len)
{
    struct fastn_arg a[4] = {{0}};
    char to[4096], subj[1000], me[MAIL_ADDR_MAX + 1], date[64], ct[200];
    uint8_t rnd[12];
    char mid[25];
    uint32_t uid;
    if (fastn_args_split(arg, len, a, 4) < 2 ||
        fastn_arg_str(a[0], to, sizeof(to)) < 0 ||
        fastn_arg_str(a[1], subj, sizeof(subj)) < 0 || strpbrk(subj, "\r\n") ||
        ctype_get(&a[3], ct, sizeof(ct)) != 0)
        return fastn_reply_str(call, FASTN_ERR_INVAL,
                               "want: send TO SUBJECT [BODY [CONTENT_TYPE]] "
                               "(one line of subject; a content type like "
                               "text/plain)");
    npeers = 0;
    for (char *t = strtok(to, ", "); t; t = strtok(NULL, ", ")) {
        struct mail_addr ad;
        if (mail_addr_parse(t, strlen(t), &ad) != 0)
            return fastn_reply_str(call, FASTN_ERR_BAD_PEER_ID,
                                   "not a fastn address: write "
                                   "NAME@<peer>.fastn (fastn mail address "
                                   "prints one)");
        if (npeers < MAIL_SMTP_RCPT_MAX &&
            peer_to_text(ad.peer, ad.peer_len, peers[npeers],
                         FASTN_PEER_ID_BUF) > 0)
            npeers++;
    }
    fastn_args_split(arg, len, a, 4); /* strtok wrote into to only */
    fastn_arg_str(a[0], to, sizeof(to));
    mail_addr_format("me", mail_self_bin, mail_self_len, me, sizeof(me));
    struct mail_out o;
    mail_out_init(&o, date, sizeof(date));
    mail_imap_out_date(&o, now_s());
    date[o.len] = 0;
    fastn_random(rnd, sizeof(rnd));
    hexify(rnd, sizeof(rnd), mid);
    int n = snprintf(out, sizeof(out),
                     "From: <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %.*s\r\n"
                     "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: %s\r\n\r\n",
                     me, to, subj, (int)strlen(date) - 2, date + 1, mid,
                     strchr(me, '@') + 1, ct);
    size_t bl = a[2].len < sizeof(out) - (size_t)n ? a[2].len : 0;
    if (a[2].len && !bl)
        return fastn_reply_str(call, FASTN_ERR_TOO_LARGE,
                               "the body is too large for a call (1 MiB): "
                               "send it with a mail client");
    memcpy(out + n, a[2].p, bl);
    int err = mail_put("Sent", out, (size_t)n + bl, MAIL_FLAG_SEEN, send_hook,
                       NULL, &uid);
    if (err)
        return fastn_reply_str(call, err, "cannot queue it");
    deliver_kick(0);
    n = snprintf(out, sizeof(out), "queued for %u peers", npeers);
    return fastn_call_reply(call, 0, out, (size_t)n);
}

int32_t mail_call_outbox(int32_t call)
{
    size_t k = (size_t)snprintf(out, sizeof(out), "{\"rows\":[");
    unsigned n = 0;
    int32_t st = fastn_sql_prepare_str(
        "SELECT peer, attempts, last_error, msg_id FROM outbox ORDER BY id");
    if (st < 0)
        return fastn_reply_str(call, st, "database error");
    while (fastn_sql_step(st) == FASTN_SQL_ROW && k + 600 < sizeof(out)) {
        char peer[FASTN_PEER_ID_BUF], err[200], id[40], e2[400];
        fastn_sql_column_str(st, 0, peer, sizeof(peer));
        fastn_sql_column_str(st, 2, err, sizeof(err));
        fastn_sql_column_str(st, 3, id, sizeof(id));
        jesc(e2, sizeof(e2), err);
        k += (size_t)snprintf(out + k, sizeof(out) - k,
                              "%s{\"msg_id\":\"%s\",\"peer\":\"%s\","
                              "\"attempts\":%lld,\"error\":\"%s\"}",
                              n++ ? "," : "", id, peer,
                              (long long)fastn_sql_column_int64(st, 1), e2);
    }
    fastn_sql_finalize(st);
    k += (size_t)snprintf(out + k, sizeof(out) - k, "],\"queued\":%u}", n);
    return fastn_call_reply(call, 0, out, k);
}
