/*
 * SMTP submission sessions (RFC 6409) for local clients: each local
 * connection to the "smtp" port drives a struct mail_smtp (lib/smtp.c).
 * The message streams into Sent as it arrives; at its end, in the one
 * transaction that makes it visible, one outbox row per recipient peer
 * joins it (deliver.c), so a 250 means it is queued durably. Mail to this
 * daemon's own address is copied into INBOX.
 */
#include "mail_plugin.h"

struct smtp_sess {
    struct mail_smtp sm;
    struct conn *c;
    bool appending, to_self;
    unsigned npeers;
    char peers[MAIL_SMTP_RCPT_MAX][FASTN_PEER_ID_BUF];
    struct mail_append app;
    uint8_t *held; /* input an event left: held[held_off .. held_len) */
    size_t held_off, held_len;
    bool eof; /* the client closed with input held: end after it */
};

/* The input one event takes (the rest is held and taken from timer 4):
 * the work of an event stays small whatever the message's size. */
#define SMTP_BUDGET (32u * 1024)

static int cb_auth(void *ctx, const char *u, size_t ul, const char *p,
                   size_t pl)
{
    (void)ctx;
    int err = mail_password_check(u, ul, p, pl);
    if (err)
        fastn_logf(FASTN_LOG_WARN, "smtp: a failed login as %.*s",
                   (int)(ul > 64 ? 64 : ul), u);
    return err == FASTN_ERR_PERM ? FASTN_ERR_PERM : err;
}

static int cb_mail_from(void *ctx, const char *a, size_t n)
{
    struct smtp_sess *s = ctx;
    struct mail_addr ad;
    s->npeers = 0;
    s->to_self = false;
    if (mail_addr_parse(a, n, &ad) != 0 || ad.peer_len != mail_self_len ||
        memcmp(ad.peer, mail_self_bin, mail_self_len))
        return FASTN_ERR_PERM;
    return 0;
}

static int cb_rcpt(void *ctx, const char *a, size_t n)
{
    struct smtp_sess *s = ctx;
    struct mail_addr ad;
    char text[FASTN_PEER_ID_BUF];
    int err = mail_addr_parse(a, n, &ad);
    if (err)
        return err;
    if (ad.peer_len == mail_self_len &&
        !memcmp(ad.peer, mail_self_bin, mail_self_len)) {
        s->to_self = true;
        return 0;
    }
    if ((err = peer_to_text(ad.peer, ad.peer_len, text, sizeof(text))) < 0)
        return FASTN_ERR_BAD_PEER_ID;
    for (unsigned i = 0; i < s->npeers; i++)
        if (!strcmp(s->peers[i], text))
            return 0; /* one delivery per peer, whatever the NAMEs */
    if (s->npeers == MAIL_SMTP_RCPT_MAX)
        return FASTN_ERR_TOO_LARGE;
    memcpy(s->peers[s->npeers++], text, sizeof(text));
    return 0;
}

static int cb_data(void *ctx, const uint8_t *p, size_t n)
{
    struct smtp_sess *s = ctx;
    int err;
    if (!s->appending) {
        err = mail_store_append_begin(&s->app, "Sent", MAIL_FLAG_SEEN, now_s(),
                                      mail_cfg.size_max);
        if (err)
            return err;
        s->appending = true;
    }
    return mail_store_append_data(&s->app, p, n);
}

static int rows_hook(void *ctx, int64_t body, uint32_t uid)
{
    struct smtp_sess *s = ctx;
    (void)uid;
    return outbox_add_rows(body, (const char(*)[FASTN_PEER_ID_BUF])s->peers,
                           s->npeers);
}

static int cb_data_end(void *ctx)
{
    struct smtp_sess *s = ctx;
    uint32_t uid = 0;
    int err;
    if (!s->appending && (err = cb_data(ctx, NULL, 0)) != 0)
        return err;
    err = mail_store_append_end_with(&s->app, &uid, rows_hook, s);
    if (err) {
        mail_store_append_abort(&s->app);
        s->appending = false;
        fastn_logf(FASTN_LOG_WARN, "smtp: cannot queue a message: %d", err);
        return err;
    }
    s->appending = false;
    struct mail_folder f;
    if (mail_store_folder_get("Sent", &f) == 0)
        imap_new_mail(f.id);
    if (s->to_self &&
        mail_store_copy(f.id, uid, uid, "INBOX", false, NULL, NULL) > 0 &&
        mail_store_folder_get("INBOX", &f) == 0)
        imap_new_mail(f.id);
    fastn_logf(FASTN_LOG_INFO,
               "smtp: queued a message of %llu bytes for %u "
               "peers",
               (unsigned long long)s->app.size, s->npeers);
    deliver_kick(0);
    return 0;
}

static void cb_data_abort(void *ctx)
{
    struct smtp_sess *s = ctx;
    if (s->appending)
        mail_store_append_abort(&s->app);
    s->appending = false;
}

int smtp_start(int32_t stream)
{
    struct conn *c = conn_new(stream, CONN_SMTP);
    struct smtp_sess *s;
    size_t len;
    if (!c)
        return FASTN_ERR_PLUGIN_LIMIT;
    if (!(s = calloc(1, sizeof(*s)))) {
        conn_free(c);
        return FASTN_ERR_NOMEM;
    }
    c->state = s;
    s->c = c;
    struct mail_smtp_cb cb = {s,       cb_auth,     cb_mail_from, cb_rcpt,
                              cb_data, cb_data_end, cb_data_abort};
    mail_smtp_init(&s->sm, "fastn", mail_cfg.size_max, &cb);
    const uint8_t *o = mail_smtp_output(&s->sm, &len);
    conn_send(c, o, len);
    mail_smtp_consume(&s->sm, len);
    return 0;
}

/* Feeds at most SMTP_BUDGET of p[0..n) to the session: *took. */
static int feed(struct smtp_sess *s, const uint8_t *p, size_t n, size_t *took)
{
    struct conn *c = s->c;
    size_t budget = n < SMTP_BUDGET ? n : SMTP_BUDGET;
    *took = 0;
    while (*took < budget) {
        size_t len, k = mail_smtp_feed(&s->sm, p + *took, budget - *took);
        const uint8_t *o = mail_smtp_output(&s->sm, &len);
        int err = conn_send(c, o, len);
        mail_smtp_consume(&s->sm, len);
        if (err)
            return err;
        *took += k;
        if (mail_smtp_is_closed(&s->sm)) {
            c->closing = 1;
            return conn_flush(c);
        }
        if (k == 0 && len == 0)
            break;
    }
    return 0;
}

int smtp_data(struct conn *c, const uint8_t *p, size_t n)
{
    struct smtp_sess *s = c->state;
    size_t took;
    if (c->closing)
        return 0;
    if (c->out_len > 0 || s->held)
        return FASTN_ERR_AGAIN; /* the client does not read, or input waits */
    int err = feed(s, p, n, &took);
    if (err || c->closing || took >= n)
        return err;
    if (!(s->held = malloc(n - took)))
        return FASTN_ERR_NOMEM;
    memcpy(s->held, p + took, n - took);
    s->held_off = 0;
    s->held_len = n - took;
    fastn_timer_set(4, 0);
    return 0;
}

/* Timer 4: sessions with input held take the next piece. */
void smtp_resume(void)
{
    for (size_t i = 0; i < CONNS; i++) {
        struct conn *c = conn_each(i);
        struct smtp_sess *s = c ? c->state : NULL;
        size_t took;
        if (!c || c->kind != CONN_SMTP || !s || !s->held)
            continue;
        int err = c->closing ? 0
                             : feed(s, s->held + s->held_off,
                                    s->held_len - s->held_off, &took);
        if (err) {
            fastn_stream_reset(c->stream);
            smtp_end(c);
            conn_free(c);
            continue;
        }
        if (!c->closing && (s->held_off += took) < s->held_len) {
            fastn_timer_set(4, 0);
            continue;
        }
        free(s->held);
        s->held = NULL;
        if (s->eof) { /* as on_close would have done */
            conn_flush(c);
            if (c->closing != 2)
                fastn_stream_close(c->stream);
            smtp_end(c);
            conn_free(c);
        }
    }
}

bool smtp_close_later(struct conn *c)
{
    struct smtp_sess *s = c->state;
    if (!s || !s->held || c->closing)
        return false;
    s->eof = true;
    return true;
}

void smtp_end(struct conn *c)
{
    struct smtp_sess *s = c->state;
    if (s) {
        mail_smtp_cleanup(&s->sm);
        free(s->held);
        s->held = NULL;
    }
}
