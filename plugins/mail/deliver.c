/*
 * Delivery between peers over /fastn/mail/1.0.0 (docs/MAIL.md,
 * "Delivery between peers"). One message per stream: the sender writes a
 * header frame (varint length, then "msg_id=HEX\nsize=N\n"), the
 * message's bytes, and closes its side; the recipient stores the bytes in
 * INBOX as they come and, at the end, commits the message together with
 * the row (sender, msg_id) in `received`, then answers "ACK\n" (or
 * "REFUSE reason\n": permanent). The sender deletes its outbox row at the
 * ACK. A retry of a message already committed finds the row and is
 * answered ACK at once: exactly once, whichever side dies when.
 * Retries back off from retry_min_ms, doubling to retry_max_ms; a row
 * older than give_up_ms becomes a failure notice in the sender's INBOX.
 */
#include "mail_plugin.h"

#define HDR_MAX 4096
#define TX_MAX 32

struct rx {
    char peer[FASTN_PEER_ID_BUF];
    char msg_id[40];
    uint8_t hdr[HDR_MAX + 8];
    size_t hdr_len;
    bool hdr_done, dup, appending;
    uint64_t size, got;
    struct mail_append app;
};

struct tx {
    int64_t row, body;
    char peer[FASTN_PEER_ID_BUF];
    char msg_id[40];
    uint64_t size, off;
    bool open, sent, done;
    char reply[256];
    size_t reply_len;
};

static int64_t inflight[TX_MAX];
static uint8_t chunk[MAIL_CHUNK];

int deliver_schema(void)
{
    return fastn_sql_exec_str(
        "CREATE TABLE IF NOT EXISTS received(peer TEXT NOT NULL, msg_id TEXT "
        "NOT NULL, uid INTEGER NOT NULL, at INTEGER NOT NULL, "
        "PRIMARY KEY(peer, msg_id)) WITHOUT ROWID");
}

void deliver_kick(int64_t delay_ms)
{
    fastn_timer_set(1, delay_ms);
}

int outbox_add_rows(int64_t body, const char (*peers)[FASTN_PEER_ID_BUF],
                    unsigned n)
{
    uint8_t r[16];
    char id[33];
    int64_t now = fastn_now_ms();
    fastn_random(r, sizeof(r));
    hexify(r, sizeof(r), id);
    for (unsigned i = 0; i < n; i++) {
        int32_t st = fastn_sql_prepare_str(
            "INSERT INTO outbox(msg_id, peer, body, next_try, created) "
            "VALUES(?, ?, ?, ?, ?)");
        if (st < 0)
            return st;
        fastn_sql_bind_str(st, 1, id);
        fastn_sql_bind_str(st, 2, peers[i]);
        fastn_sql_bind_int64(st, 3, body);
        fastn_sql_bind_int64(st, 4, now);
        fastn_sql_bind_int64(st, 5, now);
        int32_t rc = fastn_sql_step(st);
        fastn_sql_finalize(st);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int mail_put(const char *folder, const void *p, size_t n, unsigned flags,
             int (*in_txn)(void *ctx, int64_t body, uint32_t uid), void *ctx,
             uint32_t *uid)
{
    static struct mail_append a;
    int err = mail_store_append_begin(&a, folder, flags, now_s(), 0);
    if (!err)
        err = mail_store_append_data(&a, p, n);
    if (!err)
        err = mail_store_append_end_with(&a, uid, in_txn, ctx);
    if (err)
        mail_store_append_abort(&a);
    return err;
}

/* --- the sender -------------------------------------------------------- */

static int row_delete(void *ctx, int64_t body, uint32_t uid)
{
    int64_t row = *(int64_t *)ctx;
    (void)body, (void)uid;
    int32_t st = fastn_sql_prepare_str("DELETE FROM outbox WHERE id = ?");
    if (st < 0)
        return st;
    fastn_sql_bind_int64(st, 1, row);
    int32_t rc = fastn_sql_step(st);
    fastn_sql_finalize(st);
    return rc < 0 ? rc : 0;
}

/* The headers of the message that was not delivered (at most 2 KiB). */
static size_t orig_headers(int64_t body, char *out, size_t cap)
{
    int n = mail_store_read(body, 0, (uint8_t *)out, cap - 1);
    size_t k = n > 0 ? (size_t)n : 0;
    out[k] = 0;
    char *end = strstr(out, "\r\n\r\n");
    if (end)
        k = (size_t)(end - out) + 2;
    out[k] = 0;
    return k;
}

/* A delivery failure notice (RFC 3464's shape) into INBOX, in one
 * transaction with the outbox row's removal. */
static void fail_notice(int64_t row, int64_t body, const char *peer,
                        const char *why)
{
    static char msg[8192];
    char hdrs[2048], me[MAIL_ADDR_MAX + 1], when[64];
    uint32_t uid;
    struct mail_out o;
    mail_addr_format("me", mail_self_bin, mail_self_len, me, sizeof(me));
    mail_out_init(&o, when, sizeof(when));
    mail_imap_out_date(&o, now_s());
    when[o.len] = 0;
    orig_headers(body, hdrs, sizeof(hdrs));
    int n = snprintf(
        msg, sizeof(msg),
        "From: Mail Delivery System <mailer-daemon@%s>\r\nTo: <%s>\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status; "
        "boundary=\"fastn-report\"\r\n\r\n--fastn-report\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Your message could not be delivered to the peer %s:\r\n%s\r\n"
        "(the outbox tried since it was sent; time given at %s)\r\n\r\n"
        "--fastn-report\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; %s\r\n\r\nFinal-Recipient: rfc822; %s\r\n"
        "Action: failed\r\nStatus: 5.4.7\r\n\r\n--fastn-report\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n%s\r\n--fastn-report--\r\n",
        strchr(me, '@') + 1, me, peer, why, when, strchr(me, '@') + 1, peer,
        hdrs);
    if (n < 0 || (size_t)n >= sizeof(msg))
        n = (int)strlen(msg);
    if (mail_put("INBOX", msg, (size_t)n, 0, row_delete, &row, &uid) == 0) {
        struct mail_folder f;
        fastn_logf(FASTN_LOG_WARN, "undelivered to %s: %s", peer, why);
        mail_store_gc();
        if (mail_store_folder_get("INBOX", &f) == 0)
            imap_new_mail(f.id);
    }
}

static int inflight_has(int64_t row)
{
    for (int i = 0; i < TX_MAX; i++)
        if (inflight[i] == row)
            return 1;
    return 0;
}

static int64_t backoff(int64_t attempts)
{
    int64_t d = mail_cfg.retry_min_ms;
    for (int64_t i = 0; i < attempts && d < mail_cfg.retry_max_ms; i++)
        d *= 2;
    if (d > mail_cfg.retry_max_ms)
        d = mail_cfg.retry_max_ms;
    uint8_t r;
    fastn_random(&r, 1);
    return d + d * r / 1024; /* jitter: up to a quarter more */
}

/* A try the host refused before it reached the peer (streams opened too
 * fast, too many open): not an attempt; the row is due again at once. */
static void tx_untry(int64_t row)
{
    int32_t st =
        fastn_sql_prepare_str("UPDATE outbox SET attempts = "
                              "attempts - 1, next_try = ? WHERE id = ?");
    if (st < 0)
        return;
    fastn_sql_bind_int64(st, 1, fastn_now_ms());
    fastn_sql_bind_int64(st, 2, row);
    fastn_sql_step(st);
    fastn_sql_finalize(st);
}

/* Starts a try: 0, or 1 when no more can start now (all TX_MAX slots
 * busy, or the host asks to wait: try again from the timer soon). */
static int tx_start(int64_t row, const char *msg_id, const char *peer,
                    int64_t body, int64_t attempts)
{
    int slot = -1;
    for (int i = 0; i < TX_MAX && slot < 0; i++)
        if (!inflight[i])
            slot = i;
    if (slot < 0)
        return 1;
    /* the next try is set before this one starts: a crash retries */
    int32_t st = fastn_sql_prepare_str(
        "UPDATE outbox SET attempts = attempts + 1, next_try = ? WHERE id = ?");
    if (st < 0)
        return 0;
    fastn_sql_bind_int64(st, 1, fastn_now_ms() + backoff(attempts));
    fastn_sql_bind_int64(st, 2, row);
    int32_t rc = fastn_sql_step(st);
    fastn_sql_finalize(st);
    if (rc < 0)
        return 0;
    int32_t s = fastn_stream_open(peer, strlen(peer), MAIL_PROTOCOL,
                                  strlen(MAIL_PROTOCOL));
    if (s == FASTN_ERR_AGAIN || s == FASTN_ERR_PLUGIN_LIMIT) {
        tx_untry(row);
        return 1;
    }
    if (s < 0) {
        fastn_logf(FASTN_LOG_INFO, "mail to %s waits: %d", peer, (int)s);
        return 0;
    }
    struct conn *c = conn_new(s, CONN_TX);
    struct tx *t = calloc(1, sizeof(*t));
    if (!c || !t) {
        free(t);
        if (c)
            conn_free(c);
        fastn_stream_reset(s);
        return 0;
    }
    c->state = t;
    t->row = row;
    t->body = body;
    snprintf(t->peer, sizeof(t->peer), "%s", peer);
    snprintf(t->msg_id, sizeof(t->msg_id), "%s", msg_id);
    st = fastn_sql_prepare_str("SELECT size FROM body WHERE id = ?");
    if (st >= 0) {
        fastn_sql_bind_int64(st, 1, body);
        if (fastn_sql_step(st) == FASTN_SQL_ROW)
            t->size = (uint64_t)fastn_sql_column_int64(st, 0);
        fastn_sql_finalize(st);
    }
    inflight[slot] = row;
    return 0;
}

void deliver_timer(void)
{
    int64_t now = fastn_now_ms(), next = -1;
    int32_t st = fastn_sql_prepare_str(
        "SELECT id, msg_id, peer, body, attempts, created, next_try "
        "FROM outbox ORDER BY next_try LIMIT 64");
    if (st < 0) {
        deliver_kick(1000);
        return;
    }
    while (fastn_sql_step(st) == FASTN_SQL_ROW) {
        int64_t row = fastn_sql_column_int64(st, 0);
        int64_t body = fastn_sql_column_int64(st, 3);
        int64_t attempts = fastn_sql_column_int64(st, 4);
        int64_t created = fastn_sql_column_int64(st, 5);
        int64_t due = fastn_sql_column_int64(st, 6);
        char id[40], peer[FASTN_PEER_ID_BUF];
        fastn_sql_column_str(st, 1, id, sizeof(id));
        fastn_sql_column_str(st, 2, peer, sizeof(peer));
        if (inflight_has(row))
            continue;
        if (due > now) {
            if (next < 0 || due < next)
                next = due;
            continue;
        }
        if (now - created > mail_cfg.give_up_ms) {
            char why[128];
            snprintf(why, sizeof(why),
                     "the peer could not be reached for %lld s (%lld tries)",
                     (long long)(mail_cfg.give_up_ms / 1000),
                     (long long)attempts);
            fail_notice(row, body, peer, why);
            continue;
        }
        if (tx_start(row, id, peer, body, attempts)) {
            next = now + 50; /* a slot or the host: again soon */
            break;
        }
        if (next < 0 || now + mail_cfg.retry_min_ms < next)
            next = now + mail_cfg.retry_min_ms;
    }
    fastn_sql_finalize(st);
    if (next >= 0)
        deliver_kick(next - now < 50 ? 50 : next - now);
}

static void tx_pump(struct conn *c)
{
    struct tx *t = c->state;
    while (t->open && !t->sent && c->out_len == 0) {
        if (t->off == t->size) {
            t->sent = true;
            fastn_stream_close(c->stream); /* our side: the message ends */
            return;
        }
        int n = mail_store_read(t->body, t->off, chunk, sizeof(chunk));
        if (n <= 0) {
            fastn_logf(FASTN_LOG_ERROR, "outbox: cannot read a message: %d", n);
            fastn_stream_reset(c->stream);
            deliver_tx_close(c, FASTN_ERR_IO);
            return;
        }
        t->off += (uint64_t)n;
        if (conn_send(c, chunk, (size_t)n) < 0) {
            fastn_stream_reset(c->stream);
            deliver_tx_close(c, FASTN_ERR_IO);
            return;
        }
    }
}

void deliver_tx_open(struct conn *c, int32_t result)
{
    struct tx *t = c->state;
    uint8_t hdr[128];
    if (result < 0) {
        fastn_logf(FASTN_LOG_INFO,
                   "mail to %s waits: the peer is not "
                   "reachable now (%d)",
                   t->peer, (int)result);
        c->stream = -1; /* its handle is dead */
        deliver_tx_close(c, result);
        return;
    }
    char text[96];
    int n = snprintf(text, sizeof(text), "msg_id=%s\nsize=%llu\n", t->msg_id,
                     (unsigned long long)t->size);
    size_t k = fastn_varint_put(hdr, (uint64_t)n);
    memcpy(hdr + k, text, (size_t)n);
    t->open = true;
    conn_send(c, hdr, k + (size_t)n);
    tx_pump(c);
}

void deliver_tx_writable(struct conn *c)
{
    tx_pump(c);
}

int deliver_tx_data(struct conn *c, const uint8_t *p, size_t n)
{
    struct tx *t = c->state;
    if (t->reply_len + n >= sizeof(t->reply))
        n = sizeof(t->reply) - 1 - t->reply_len;
    memcpy(t->reply + t->reply_len, p, n);
    t->reply_len += n;
    t->reply[t->reply_len] = 0;
    if (!strchr(t->reply, '\n') || t->done)
        return 0;
    t->done = true;
    if (!strncmp(t->reply, "ACK\n", 4)) {
        row_delete(&t->row, 0, 0);
        mail_store_gc();
        fastn_logf(FASTN_LOG_INFO, "delivered %s to %s", t->msg_id, t->peer);
    } else {
        char why[200];
        snprintf(why, sizeof(why), "the peer refused it: %.*s",
                 (int)strcspn(t->reply, "\n"), t->reply);
        fail_notice(t->row, t->body, t->peer, why);
    }
    return 0;
}

void deliver_tx_close(struct conn *c, int32_t reason)
{
    struct tx *t = c->state;
    for (int i = 0; i < TX_MAX; i++)
        if (inflight[i] == t->row)
            inflight[i] = 0;
    if (!t->done) {
        int32_t st = fastn_sql_prepare_str(
            "UPDATE outbox SET last_error = ? WHERE id = ?");
        if (st >= 0) {
            char why[64];
            snprintf(why, sizeof(why), "stream ended without an ACK (%d)",
                     (int)reason);
            fastn_sql_bind_str(st, 1, why);
            fastn_sql_bind_int64(st, 2, t->row);
            fastn_sql_step(st);
            fastn_sql_finalize(st);
        }
    }
    conn_free(c);
    deliver_kick(t->done ? 0 : 100);
}

/* --- the recipient ----------------------------------------------------- */

int deliver_rx_start(int32_t stream, const char *peer, size_t peer_len)
{
    struct conn *c = conn_new(stream, CONN_RX);
    struct rx *r;
    if (!c)
        return FASTN_ERR_PLUGIN_LIMIT;
    if (!(r = calloc(1, sizeof(*r)))) {
        conn_free(c);
        return FASTN_ERR_NOMEM;
    }
    c->state = r;
    snprintf(r->peer, sizeof(r->peer), "%.*s", (int)peer_len, peer);
    return 0;
}

static int rx_refuse(struct conn *c, const char *why)
{
    struct rx *r = c->state;
    char line[160];
    int n = snprintf(line, sizeof(line), "REFUSE %s\n", why);
    fastn_logf(FASTN_LOG_WARN, "mail from %s refused: %s", r->peer, why);
    fastn_stream_write(c->stream, line, (size_t)n);
    fastn_stream_close(c->stream);
    if (r->appending)
        mail_store_append_abort(&r->app);
    conn_free(c);
    return 0;
}

static int received_has(const char *peer, const char *id)
{
    int32_t st = fastn_sql_prepare_str(
        "SELECT 1 FROM received WHERE peer = ? AND msg_id = ?");
    int has;
    if (st < 0)
        return 0;
    fastn_sql_bind_str(st, 1, peer);
    fastn_sql_bind_str(st, 2, id);
    has = fastn_sql_step(st) == FASTN_SQL_ROW;
    fastn_sql_finalize(st);
    return has;
}

static int rx_header(struct conn *c)
{
    struct rx *r = c->state;
    uint64_t len = 0;
    size_t k = 0;
    unsigned shift = 0;
    for (;; k++, shift += 7) {
        if (k == r->hdr_len)
            return 0; /* more to come */
        if (k == 3)
            return rx_refuse(c, "malformed header");
        len |= (uint64_t)(r->hdr[k] & 0x7f) << shift;
        if (!(r->hdr[k] & 0x80))
            break;
    }
    k++;
    if (len > HDR_MAX)
        return rx_refuse(c, "header too large");
    if (r->hdr_len < k + len)
        return 0;
    char text[HDR_MAX + 1];
    unsigned long long size;
    memcpy(text, r->hdr + k, len);
    text[len] = 0;
    if (sscanf(text, "msg_id=%32[0-9a-f]\nsize=%llu\n", r->msg_id, &size) !=
            2 ||
        strlen(r->msg_id) != 32)
        return rx_refuse(c, "malformed header");
    if (size > mail_cfg.size_max)
        return rx_refuse(c, "too large: the recipient's limit is smaller");
    r->size = size;
    r->hdr_done = true;
    r->dup = received_has(r->peer, r->msg_id);
    size_t rest = r->hdr_len - k - len;
    if (!r->dup) {
        int err = mail_store_append_begin(&r->app, "INBOX", 0, now_s(),
                                          mail_cfg.size_max);
        if (err)
            return err; /* a reset: the sender tries again */
        r->appending = true;
    }
    if (rest)
        return deliver_rx_data(c, r->hdr + k + len, rest);
    return 0;
}

int deliver_rx_data(struct conn *c, const uint8_t *p, size_t n)
{
    struct rx *r = c->state;
    if (!r->hdr_done) {
        size_t k = n > HDR_MAX + 8 - r->hdr_len ? HDR_MAX + 8 - r->hdr_len : n;
        memcpy(r->hdr + r->hdr_len, p, k);
        r->hdr_len += k;
        int err = rx_header(c);
        if (err || !conn_find(c->stream) || !r->hdr_done)
            return err;
        if (k < n)
            return deliver_rx_data(c, p + k, n - k);
        return 0;
    }
    if (n > r->size - r->got)
        return rx_refuse(c, "more bytes than the header announced");
    r->got += n;
    if (r->dup)
        return 0;
    return mail_store_append_data(&r->app, p, n);
}

static int rx_commit_hook(void *ctx, int64_t body, uint32_t uid)
{
    struct rx *r = ctx;
    char from[MAIL_ADDR_MAX + 1] = "", title[200];
    (void)body;
    int32_t st = fastn_sql_prepare_str(
        "INSERT INTO received(peer, msg_id, uid, at) VALUES(?, ?, ?, ?)");
    if (st < 0)
        return st;
    fastn_sql_bind_str(st, 1, r->peer);
    fastn_sql_bind_str(st, 2, r->msg_id);
    fastn_sql_bind_int64(st, 3, uid);
    fastn_sql_bind_int64(st, 4, now_s());
    int32_t rc = fastn_sql_step(st);
    fastn_sql_finalize(st);
    if (rc < 0)
        return rc;
    snprintf(from, sizeof(from), "%.20s...", r->peer);
    snprintf(title, sizeof(title), "New mail from %s", from);
    fastn_notify(title, strlen(title), "fastn mail list", 15);
    return 0;
}

void deliver_rx_close(struct conn *c, int32_t reason)
{
    struct rx *r = c->state;
    uint32_t uid;
    if (reason != FASTN_CLOSE_EOF || !r->hdr_done || r->got != r->size) {
        if (r->appending)
            mail_store_append_abort(&r->app);
        if (reason == FASTN_CLOSE_EOF)
            fastn_stream_reset(c->stream);
        conn_free(c);
        return;
    }
    if (!r->dup) {
        int err = mail_store_append_end_with(&r->app, &uid, rx_commit_hook, r);
        if (err) {
            mail_store_append_abort(&r->app);
            if (!received_has(r->peer, r->msg_id)) {
                fastn_logf(FASTN_LOG_WARN, "cannot store mail from %s: %d",
                           r->peer, err);
                fastn_stream_reset(c->stream);
                conn_free(c);
                return;
            }
        } else {
            struct mail_folder f;
            fastn_logf(FASTN_LOG_INFO, "new mail %s from %s", r->msg_id,
                       r->peer);
            if (mail_store_folder_get("INBOX", &f) == 0)
                imap_new_mail(f.id);
        }
    }
    fastn_stream_write(c->stream, "ACK\n", 4);
    fastn_stream_close(c->stream);
    conn_free(c);
}
