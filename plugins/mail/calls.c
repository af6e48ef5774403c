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

/* Answers call with an error; -1 tells the caller it is answered. */
static int answered(int32_t call, int32_t err, const char *why)
{
    fastn_reply_str(call, err, why);
    return -1;
}

/* The header of a message from this daemon: From, To (a[0], one address
 * or several, comma-separated), Subject (a[1]), Date, Message-ID, MIME,
 * Content-Type (a[ct], or text/plain); the recipients' peers into pp/np.
 * Returns its length, or < 0 after replying to call with why not. */
static int head_build(int32_t call, struct fastn_arg *a, size_t na, int ct_i,
                      char (*pp)[FASTN_PEER_ID_BUF], unsigned *np, char *o,
                      size_t cap)
{
    char to[4096], subj[1000], me[MAIL_ADDR_MAX + 1], date[64], ct[200];
    struct fastn_arg none = {0};
    uint8_t rnd[12];
    char mid[25];
    if (na < 2 || fastn_arg_str(a[0], to, sizeof(to)) < 0 ||
        fastn_arg_str(a[1], subj, sizeof(subj)) < 0 || strpbrk(subj, "\r\n") ||
        ctype_get((size_t)ct_i < na ? &a[ct_i] : &none, ct, sizeof(ct)) != 0)
        return answered(call, FASTN_ERR_INVAL,
                        "want: send TO SUBJECT [BODY [CONTENT_TYPE]] (one "
                        "line of subject; a content type like text/plain)");
    *np = 0;
    for (char *t = strtok(to, ", "); t; t = strtok(NULL, ", ")) {
        struct mail_addr ad;
        if (mail_addr_parse(t, strlen(t), &ad) != 0)
            return answered(call, FASTN_ERR_BAD_PEER_ID,
                            "not a fastn address: write NAME@<peer>.fastn "
                            "(fastn mail address prints one)");
        if (*np < MAIL_SMTP_RCPT_MAX &&
            peer_to_text(ad.peer, ad.peer_len, pp[*np], FASTN_PEER_ID_BUF) > 0)
            (*np)++;
    }
    fastn_arg_str(a[0], to, sizeof(to)); /* strtok wrote into to */
    mail_addr_format("me", mail_self_bin, mail_self_len, me, sizeof(me));
    struct mail_out mo;
    mail_out_init(&mo, date, sizeof(date));
    mail_imap_out_date(&mo, now_s());
    date[mo.len] = 0;
    fastn_random(rnd, sizeof(rnd));
    hexify(rnd, sizeof(rnd), mid);
    return snprintf(o, cap,
                    "From: <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %.*s\r\n"
                    "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: %s\r\n\r\n",
                    me, to, subj, (int)strlen(date) - 2, date + 1, mid,
                    strchr(me, '@') + 1, ct);
}

/* send TO SUBJECT [BODY [CONTENT_TYPE]]: TO is one address or several,
 * comma-separated; BODY is the message's body as it goes out. */
int32_t mail_call_send(int32_t call, const uint8_t *arg, size_t len)
{
    struct fastn_arg a[4] = {{0}};
    uint32_t uid;
    int na = fastn_args_split(arg, len, a, 4);
    int n = head_build(call, a, na < 0 ? 0 : (size_t)na, 3, peers, &npeers, out,
                       sizeof(out));
    if (n < 0)
        return 0; /* answered */
    size_t bl = a[2].len < sizeof(out) - (size_t)n ? a[2].len : 0;
    if (a[2].len && !bl)
        return fastn_reply_str(call, FASTN_ERR_TOO_LARGE,
                               "the body is too large for a call (1 MiB): "
                               "use send_begin, send_data, send_end");
    memcpy(out + n, a[2].p, bl);
    int err = mail_put("Sent", out, (size_t)n + bl, MAIL_FLAG_SEEN, send_hook,
                       NULL, &uid);
    if (err)
        return fastn_reply_str(call, err, "cannot queue it");
    deliver_kick(0);
    n = snprintf(out, sizeof(out), "queued for %u peers", npeers);
    return fastn_call_reply(call, 0, out, (size_t)n);
}

/* --- staged sends -------------------------------------------------------
 * `fastn mail send` of any size up to size_max, in calls of at most 1 MiB:
 *   send_begin TO SUBJECT [CONTENT_TYPE]   answers "ID SIZE_MAX"
 *   send_data ID(4 bytes LE) BYTES...      the body, in order
 *   send_end ID                            into Sent and the outbox at once
 *   send_abort ID
 * The message streams into the store as SMTP's DATA does (an append that
 * commits each chunk and becomes visible only at its end), so no more
 * than a call's bytes and one chunk are in plugin memory. A send left
 * untouched for send_idle_ms (the CLI died) is dropped with its bytes;
 * a restart drops it too (mail_store_open drops unfinished appends). */

#define STAGE_MAX 4

struct stage {
    uint32_t id; /* 0: free */
    int64_t last_ms;
    int32_t call;  /* a send_data answered when left is stored */
    uint8_t *left; /* its bytes a store stopped at its time left */
    size_t left_len;
    unsigned tries;
    unsigned npeers;
    char peers[MAIL_SMTP_RCPT_MAX][FASTN_PEER_ID_BUF];
    struct mail_append app;
};

static struct stage stages[STAGE_MAX];
static uint32_t stage_next;

static void stage_drop(struct stage *s, const char *why)
{
    if (why)
        fastn_logf(FASTN_LOG_INFO, "send %u: dropped (%s) after %llu bytes",
                   s->id, why, (unsigned long long)s->app.size);
    mail_store_append_abort(&s->app);
    free(s->left);
    s->left = NULL;
    s->id = 0;
}

void mail_stage_expire(void)
{
    int64_t now = fastn_monotonic_ms();
    for (int i = 0; i < STAGE_MAX; i++)
        if (stages[i].id && !stages[i].left &&
            now - stages[i].last_ms > mail_cfg.send_idle_ms)
            stage_drop(&stages[i], "no data for send_idle_ms: the sender "
                                   "went away");
}

int mail_stage_count(void)
{
    int n = 0;
    for (int i = 0; i < STAGE_MAX; i++)
        n += stages[i].id != 0;
    return n;
}

static struct stage *stage_find(const uint8_t *arg, size_t len)
{
    uint32_t id;
    if (len < 4)
        return NULL;
    id = (uint32_t)arg[0] | (uint32_t)arg[1] << 8 | (uint32_t)arg[2] << 16 |
         (uint32_t)arg[3] << 24;
    for (int i = 0; id && i < STAGE_MAX; i++)
        if (stages[i].id == id) {
            stages[i].last_ms = fastn_monotonic_ms();
            return &stages[i];
        }
    return NULL;
}

static int32_t too_large(int32_t call)
{
    unsigned long long m = (unsigned long long)mail_cfg.size_max;
    int n = snprintf(out, sizeof(out),
                     "the message is over the mail plugin's limit of %llu "
                     "bytes (%.1f MiB, the setting size_max: fastn plugin "
                     "call mail set size_max BYTES, at most 1 GiB)",
                     m, (double)m / (1 << 20));
    return fastn_call_reply(call, FASTN_ERR_TOO_LARGE, out, (size_t)n);
}

static int32_t stage_begin(int32_t call, const uint8_t *arg, size_t len)
{
    struct fastn_arg a[3] = {{0}};
    struct stage *s = NULL;
    int na = fastn_args_split(arg, len, a, 3), err;
    mail_stage_expire();
    for (int i = 0; !s && i < STAGE_MAX; i++)
        if (!stages[i].id)
            s = &stages[i];
    if (!s)
        return fastn_reply_str(call, FASTN_ERR_PLUGIN_LIMIT,
                               "4 messages are being sent already: try "
                               "again when one is done");
    int n = head_build(call, a, na < 0 ? 0 : (size_t)na, 2, s->peers,
                       &s->npeers, out, sizeof(out));
    if (n < 0)
        return 0; /* answered */
    err = mail_store_append_begin(&s->app, "Sent", MAIL_FLAG_SEEN, now_s(),
                                  mail_cfg.size_max);
    if (!err &&
        (err = mail_store_append_data(&s->app, (uint8_t *)out, (size_t)n)) != 0)
        mail_store_append_abort(&s->app);
    if (err)
        return fastn_reply_str(call, err, "cannot store it");
    if (++stage_next == 0)
        stage_next = 1;
    s->id = stage_next;
    s->last_ms = fastn_monotonic_ms();
    n = snprintf(out, sizeof(out), "%u %llu", s->id,
                 (unsigned long long)mail_cfg.size_max);
    return fastn_call_reply(call, 0, out, (size_t)n);
}

/* Stores p[0..n) for s's send_data call and answers it; what a store
 * stopped at its time (a loaded machine) left waits for timer 5, and
 * the call is answered when it is stored (or after 50 tries). */
static int32_t stage_feed(struct stage *s, const uint8_t *p, size_t n)
{
    size_t used = 0;
    int err = mail_store_append_feed(&s->app, p, n, &used);
    if (err == FASTN_ERR_STORE_TIMEOUT && ++s->tries < 50) {
        uint8_t *left = used < n ? malloc(n - used) : NULL;
        if (used < n && !left)
            err = FASTN_ERR_NOMEM;
        else {
            if (left)
                memmove(left, p + used, n - used);
            free(s->left);
            s->left = left ? left : (uint8_t *)malloc(1);
            s->left_len = n - used;
            fastn_timer_set(5, 20);
            return 0; /* answered from timer 5 */
        }
    }
    free(s->left);
    s->left = NULL;
    if (err == FASTN_ERR_TOO_LARGE) {
        stage_drop(s, "over size_max");
        return too_large(s->call);
    }
    if (err) {
        stage_drop(s, "cannot store it");
        return fastn_reply_str(s->call, err, "cannot store it");
    }
    s->last_ms = fastn_monotonic_ms();
    return fastn_reply_str(s->call, 0, "ok");
}

void mail_stage_timer(void)
{
    for (int i = 0; i < STAGE_MAX; i++) {
        struct stage *s = &stages[i];
        if (!s->id || !s->left)
            continue;
        uint8_t *p = s->left;
        size_t n = s->left_len;
        s->left = NULL; /* stage_feed keeps what is left again */
        stage_feed(s, p, n);
        free(p);
    }
}

static int stage_hook(void *ctx, int64_t body, uint32_t uid)
{
    struct stage *s = ctx;
    (void)uid;
    return outbox_add_rows(body, (const char(*)[FASTN_PEER_ID_BUF])s->peers,
                           s->npeers);
}

static int32_t stage_end(int32_t call, struct stage *s)
{
    uint32_t uid = 0;
    struct mail_folder f;
    int err = mail_store_append_end_with(&s->app, &uid, stage_hook, s);
    if (err == FASTN_ERR_TOO_LARGE) {
        stage_drop(s, NULL);
        return too_large(call);
    }
    if (err) {
        stage_drop(s, "cannot queue it");
        return fastn_reply_str(call, err, "cannot queue it");
    }
    s->app.body = 0; /* visible now: nothing to abort */
    s->id = 0;
    if (mail_store_folder_get("Sent", &f) == 0)
        imap_new_mail(f.id);
    fastn_logf(FASTN_LOG_INFO,
               "send: queued a message of %llu bytes for %u "
               "peers",
               (unsigned long long)s->app.size, s->npeers);
    deliver_kick(0);
    int n = snprintf(out, sizeof(out), "queued for %u peers", s->npeers);
    return fastn_call_reply(call, 0, out, (size_t)n);
}

int32_t mail_call_stage(int32_t call, const char *method, size_t method_len,
                        const uint8_t *arg, size_t len)
{
    struct stage *s;
    if (fastn_is(method, method_len, "send_begin"))
        return stage_begin(call, arg, len);
    if (!(s = stage_find(arg, len)))
        return fastn_reply_str(call, FASTN_ERR_NOT_FOUND,
                               "no such send (it ended, or waited longer "
                               "than send_idle_ms and was dropped)");
    if (s->left && !fastn_is(method, method_len, "send_abort"))
        return fastn_reply_str(call, FASTN_ERR_AGAIN,
                               "the previous send_data is not answered yet");
    if (fastn_is(method, method_len, "send_data")) {
        s->call = call;
        s->tries = 0;
        return stage_feed(s, arg + 4, len - 4);
    }
    if (fastn_is(method, method_len, "send_end"))
        return stage_end(call, s);
    if (fastn_is(method, method_len, "send_abort")) {
        stage_drop(s, NULL);
        return fastn_reply_str(call, 0, "aborted");
    }
    return fastn_reply_str(call, FASTN_ERR_INVAL,
                           "send_begin, send_data, send_end or send_abort");
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
    int64_t partial = -1;
    if ((st = fastn_sql_prepare_str("SELECT count(*) FROM body WHERE NOT "
                                    "complete")) >= 0) {
        if (fastn_sql_step(st) == FASTN_SQL_ROW)
            partial = fastn_sql_column_int64(st, 0);
        fastn_sql_finalize(st);
    }
    k += (size_t)snprintf(out + k, sizeof(out) - k,
                          "],\"queued\":%u,\"sending\":%d,\"partial\":%lld}", n,
                          mail_stage_count(), (long long)partial);
    return fastn_call_reply(call, 0, out, k);
}
