/*
 * mail: mail between fastn peers for the mail clients people have
 * (docs/MAIL.md). SMTP submission (port "smtp", 2525) and IMAP4rev1
 * (port "imap", 1143) on loopback for local clients (smtp.c, imap.c),
 * delivery between peers over /fastn/mail/1.0.0 (deliver.c), the mail in
 * the plugin's database (lib/store.c). This file: the manifest, the
 * events, the account (one user; the password stored as a salted,
 * iterated BLAKE2b), the settings and the calls of `fastn mail`:
 *   address            this daemon's address (NAME@<peer>.fastn, NAME "me")
 *   setup [USER]       a new password: {"address","user","password"}
 *   list [FOLDER]      {"folder", "messages": [{uid, flags, size, date,
 *                      from, to, subject}]} (INBOX by default)
 *   read UID [FOLDER]  the message's bytes (sets \Seen)
 *   send TO SUBJECT BODY  queues a message (TO: addresses, comma-separated)
 *   outbox             {"queued": N, "rows": [{peer, attempts, error}]}
 *   set KEY VALUE      retry_min_ms, retry_max_ms, give_up_ms, idle_ms,
 *                      size_max
 */
#include "mail_plugin.h"

// clang-format off
FASTN_MANIFEST({
    "name": "mail",
    "version": "1.0.0",
    "abi": 1,
    "description": "Mail between peers: SMTP and IMAP on loopback for your mail client",
    "protocols": ["/fastn/mail/1.0.0"],
    "capabilities": ["streams", "storage", "notify", "timers", "local-listen"],
    "storage_quota": 1073741824,
    "local_listen": [{"name": "smtp", "port": 2525}, {"name": "imap", "port": 1143}],
    "limits": {"fuel_per_event": 1000000000, "memory_pages": 1024,
               "streams": 256, "timers": 4, "statements": 64},
    "serves": "known-peers",
    "apps": ["fastn mail"]
})
// clang-format on

struct mail_settings mail_cfg = {
    .retry_min_ms = 30000,
    .retry_max_ms = 3600000,
    .give_up_ms = 5LL * 24 * 3600 * 1000,
    .idle_ms = 30LL * 60 * 1000,
    .send_idle_ms = 60000,
    .size_max = MAIL_SMTP_SIZE_DEFAULT,
};
char mail_self_text[FASTN_PEER_ID_BUF];
uint8_t mail_self_bin[MAIL_PEER_MAX];
size_t mail_self_len;

static struct conn conns[CONNS];
static int started;

int64_t now_s(void)
{
    return fastn_now_ms() / 1000;
}

void hexify(const uint8_t *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* --- PeerIDs: base58btc text <-> binary multihash ---------------------- */

static const char b58[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int peer_to_text(const uint8_t *p, size_t n, char *out, size_t cap)
{
    uint8_t d[100];
    size_t nd = 0, z = 0, k = 0;
    while (z < n && p[z] == 0)
        z++;
    for (size_t i = z; i < n; i++) {
        unsigned carry = p[i];
        for (size_t j = 0; j < nd; j++) {
            carry += (unsigned)d[j] << 8;
            d[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            if (nd == sizeof(d))
                return FASTN_ERR_TOO_LARGE;
            d[nd++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    if (z + nd + 1 > cap)
        return FASTN_ERR_TOO_LARGE;
    for (size_t i = 0; i < z; i++)
        out[k++] = '1';
    while (nd)
        out[k++] = b58[d[--nd]];
    out[k] = 0;
    return (int)k;
}

static int peer_from_text(const char *s, size_t n, uint8_t *out, size_t cap)
{
    size_t len = 0, z = 0;
    while (z < n && s[z] == '1')
        z++;
    for (size_t i = z; i < n; i++) {
        const char *q = memchr(b58, s[i], 58);
        unsigned carry;
        if (!q || !s[i])
            return FASTN_ERR_BAD_PEER_ID;
        carry = (unsigned)(q - b58);
        for (size_t j = 0; j < len; j++) {
            carry += out[j] * 58u;
            out[j] = (uint8_t)carry;
            carry >>= 8;
        }
        while (carry) {
            if (len == cap)
                return FASTN_ERR_TOO_LARGE;
            out[len++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    if (len + z > cap)
        return FASTN_ERR_TOO_LARGE;
    for (size_t i = 0; i < len / 2; i++) {
        uint8_t t = out[i];
        out[i] = out[len - 1 - i];
        out[len - 1 - i] = t;
    }
    memmove(out + z, out, len);
    memset(out, 0, z);
    return (int)(len + z);
}

/* --- connections ------------------------------------------------------- */

struct conn *conn_find(int32_t stream)
{
    for (size_t i = 0; stream > 0 && i < CONNS; i++)
        if (conns[i].stream == stream)
            return &conns[i];
    return NULL;
}

struct conn *conn_each(size_t i)
{
    return i < CONNS && conns[i].stream ? &conns[i] : NULL;
}

struct conn *conn_new(int32_t stream, enum conn_kind kind)
{
    for (size_t i = 0; i < CONNS; i++)
        if (!conns[i].stream) {
            memset(&conns[i], 0, sizeof(conns[i]));
            conns[i].stream = stream;
            conns[i].kind = kind;
            conns[i].last_ms = fastn_monotonic_ms();
            return &conns[i];
        }
    return NULL;
}

void conn_free(struct conn *c)
{
    free(c->out);
    free(c->state);
    memset(c, 0, sizeof(*c));
}

/* The replies waiting are out[out_off .. out_off + out_len): what the
 * stream took is skipped, not moved, so a large reply taken in many
 * small writes costs no copy per write (moving the rest each time made a
 * 25 MiB FETCH quadratic: out of fuel). */
int conn_flush(struct conn *c)
{
    while (c->out_len > 0) {
        int32_t n =
            fastn_stream_write(c->stream, c->out + c->out_off, c->out_len);
        if (n == FASTN_ERR_AGAIN || n == 0)
            return 0;
        if (n < 0)
            return n;
        c->out_off += (size_t)n;
        c->out_len -= (size_t)n;
    }
    c->out_off = 0;
    if (c->closing == 1) {
        c->closing = 2;
        return fastn_stream_close(c->stream);
    }
    return 0;
}

int conn_send(struct conn *c, const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t all = n;
    if (c->out_len == 0 && n > 0) {
        int32_t k = fastn_stream_write(c->stream, b, n);
        if (k < 0 && k != FASTN_ERR_AGAIN)
            return k;
        if (k > 0) {
            b += k;
            n -= (size_t)k;
        }
    }
    c->out_now += all;
    if (n == 0)
        return 0;
    if (c->out_off + c->out_len + n > c->out_cap && c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len); /* once per fill */
        c->out_off = 0;
    }
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        uint8_t *q = realloc(c->out, cap);
        if (!q)
            return FASTN_ERR_NOMEM;
        c->out = q;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_off + c->out_len, b, n);
    c->out_len += n;
    return 0;
}

int conn_send_str(struct conn *c, const char *s)
{
    return conn_send(c, s, strlen(s));
}

/* --- settings and the account ----------------------------------------- */

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS setting(k TEXT PRIMARY KEY, v INTEGER);"
    "CREATE TABLE IF NOT EXISTS account(user TEXT NOT NULL, salt BLOB NOT "
    "NULL, hash BLOB NOT NULL);";

static struct {
    const char *name;
    int64_t *v;
} knobs[] = {
    {"retry_min_ms", &mail_cfg.retry_min_ms},
    {"retry_max_ms", &mail_cfg.retry_max_ms},
    {"give_up_ms", &mail_cfg.give_up_ms},
    {"idle_ms", &mail_cfg.idle_ms},
    {"send_idle_ms", &mail_cfg.send_idle_ms},
};

static void settings_load(void)
{
    int32_t st = fastn_sql_prepare_str("SELECT k, v FROM setting");
    if (st < 0)
        return;
    while (fastn_sql_step(st) == FASTN_SQL_ROW) {
        char k[32];
        int64_t v = fastn_sql_column_int64(st, 1);
        fastn_sql_column_str(st, 0, k, sizeof(k));
        for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
            if (!strcmp(k, knobs[i].name))
                *knobs[i].v = v;
        if (!strcmp(k, "size_max") && v > 0 && v <= (1LL << 30))
            mail_cfg.size_max = (uint64_t)v;
    }
    fastn_sql_finalize(st);
}

#define HASH_ROUNDS 2000

/* BLAKE2b-256 keyed with the salt, iterated: slow enough to make guessing
 * a leaked hash costly, fast enough for each login. */
static void pw_hash(const uint8_t salt[16], const char *pass, size_t plen,
                    uint8_t out[32])
{
    uint8_t buf[32 + 256];
    size_t n = plen > 256 ? 256 : plen;
    fastn_blake2b(pass, n, salt, 16, out, 32);
    for (int i = 0; i < HASH_ROUNDS; i++) {
        memcpy(buf, out, 32);
        memcpy(buf + 32, pass, n);
        fastn_blake2b(buf, 32 + n, salt, 16, out, 32);
    }
}

int mail_password_check(const char *user, size_t ulen, const char *pass,
                        size_t plen)
{
    int32_t st = fastn_sql_prepare_str("SELECT user, salt, hash FROM account");
    uint8_t salt[16], want[32], got[32];
    char u[256];
    int ok = 0;
    if (st < 0)
        return st;
    if (fastn_sql_step(st) == FASTN_SQL_ROW) {
        int ul = fastn_sql_column_str(st, 0, u, sizeof(u));
        fastn_sql_column_bytes(st, 1, salt, sizeof(salt));
        fastn_sql_column_bytes(st, 2, want, sizeof(want));
        pw_hash(salt, pass, plen, got);
        unsigned diff = 0;
        for (int i = 0; i < 32; i++)
            diff |= (unsigned)(want[i] ^ got[i]);
        ok = diff == 0 && ul >= 0 && (size_t)ul == ulen &&
             !memcmp(u, user, ulen);
    }
    fastn_sql_finalize(st);
    return ok ? 0 : FASTN_ERR_PERM;
}

static int self_address(char *out, size_t cap)
{
    return mail_addr_format("me", mail_self_bin, mail_self_len, out, cap);
}

static int32_t call_setup(int32_t call, const uint8_t *arg, size_t len)
{
    static const char a32[] = "abcdefghijkmnpqrstuvwxyz23456789";
    uint8_t salt[16], hash[32], r[20];
    char pass[24], addr[MAIL_ADDR_MAX + 1], out[1024], user[64] = "me";
    int32_t st, err;
    if (len > 0 && len < sizeof(user)) {
        for (size_t i = 0; i < len; i++)
            if (arg[i] <= ' ' || arg[i] == '"' || arg[i] == '\\' ||
                arg[i] > 126)
                return fastn_reply_str(call, FASTN_ERR_INVAL,
                                       "a user name is printable ASCII "
                                       "without spaces or quotes");
        memcpy(user, arg, len);
        user[len] = 0;
    }
    fastn_random(salt, sizeof(salt));
    fastn_random(r, sizeof(r));
    for (size_t i = 0; i < 20; i++)
        pass[i] = a32[r[i] % 32];
    pass[20] = 0;
    pw_hash(salt, pass, 20, hash);
    fastn_sql_exec_str("BEGIN IMMEDIATE");
    fastn_sql_exec_str("DELETE FROM account");
    st = fastn_sql_prepare_str(
        "INSERT INTO account(user, salt, hash) VALUES(?, ?, ?)");
    if (st < 0)
        err = st;
    else {
        fastn_sql_bind_str(st, 1, user);
        fastn_sql_bind_blob(st, 2, salt, 16);
        fastn_sql_bind_blob(st, 3, hash, 32);
        err = fastn_sql_step(st);
        fastn_sql_finalize(st);
    }
    if (err < 0 || (err = fastn_sql_exec_str("COMMIT")) < 0) {
        fastn_sql_exec_str("ROLLBACK");
        return fastn_reply_str(call, err, "cannot store the account");
    }
    self_address(addr, sizeof(addr));
    int n = snprintf(out, sizeof(out),
                     "{\"address\":\"%s\",\"user\":\"%s\",\"password\":\"%s\"}",
                     addr, user, pass);
    fastn_logf(FASTN_LOG_INFO, "a new password for %s", user);
    return fastn_call_reply(call, 0, out, (size_t)n);
}

static int32_t call_set(int32_t call, const uint8_t *arg, size_t len)
{
    struct fastn_arg a[2];
    char k[32], v[32];
    if (fastn_args_split(arg, len, a, 2) != 2 ||
        fastn_arg_str(a[0], k, sizeof(k)) < 0 ||
        fastn_arg_str(a[1], v, sizeof(v)) < 0)
        return fastn_reply_str(call, FASTN_ERR_INVAL, "want: set KEY VALUE");
    char *end;
    long long x = strtoll(v, &end, 10);
    if (*end || x < 0)
        return fastn_reply_str(call, FASTN_ERR_INVAL, "VALUE is a number >= 0");
    int32_t st = fastn_sql_prepare_str("INSERT OR REPLACE INTO setting(k, v) "
                                       "VALUES(?, ?)");
    if (st < 0)
        return fastn_reply_str(call, st, "database error");
    fastn_sql_bind_str(st, 1, k);
    fastn_sql_bind_int64(st, 2, x);
    fastn_sql_step(st);
    fastn_sql_finalize(st);
    settings_load();
    deliver_kick(0);
    fastn_timer_set(2, 500); /* idle_ms may be shorter now: timer 2's pace */
    return fastn_reply_str(call, 0, "set");
}

int32_t mail_call_list(int32_t call, const uint8_t *arg, size_t len);
int32_t mail_call_read(int32_t call, const uint8_t *arg, size_t len);
int32_t mail_call_send(int32_t call, const uint8_t *arg, size_t len);
int32_t mail_call_outbox(int32_t call);
int32_t mail_call_stage(int32_t call, const char *method, size_t method_len,
                        const uint8_t *arg, size_t len);

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    char addr[MAIL_ADDR_MAX + 1];
    if (!started)
        return fastn_reply_str(call, FASTN_ERR_AGAIN,
                               "the mail store is opening: try again in a "
                               "second");
    if (fastn_is(method, method_len, "address")) {
        int n = self_address(addr, sizeof(addr));
        return fastn_call_reply(call, n < 0 ? n : 0, addr,
                                n < 0 ? 0 : (size_t)n);
    }
    if (fastn_is(method, method_len, "setup"))
        return call_setup(call, arg, arg_len);
    if (fastn_is(method, method_len, "list"))
        return mail_call_list(call, arg, arg_len);
    if (fastn_is(method, method_len, "read"))
        return mail_call_read(call, arg, arg_len);
    if (fastn_is(method, method_len, "send"))
        return mail_call_send(call, arg, arg_len);
    if (fastn_is(method, method_len, "outbox"))
        return mail_call_outbox(call);
    if (method_len > 5 && !memcmp(method, "send_", 5))
        return mail_call_stage(call, method, method_len, arg, arg_len);
    if (fastn_is(method, method_len, "set"))
        return call_set(call, arg, arg_len);
    return fastn_reply_str(call, FASTN_ERR_INVAL,
                           "methods: address, setup [USER], list [FOLDER], "
                           "read UID [FOLDER], send TO SUBJECT BODY, "
                           "send_begin TO SUBJECT [CONTENT_TYPE], send_data, "
                           "send_end, send_abort, outbox, set KEY VALUE");
}

/* --- events ------------------------------------------------------------ */

/* Opens the store (after a crash it drops half-written messages first).
 * A call stopped at its time (a loaded machine) undid itself: the open is
 * tried again from timer 3, and until it is done nothing is served. */
static int32_t store_start(void)
{
    int err = fastn_sql_exec_str(schema_sql);
    if (!err)
        err = mail_store_open(now_s());
    if (!err)
        err = deliver_schema();
    if (err == FASTN_ERR_STORE_TIMEOUT) {
        fastn_logf(FASTN_LOG_INFO, "opening the mail store: again soon");
        fastn_timer_set(3, 200);
        return 0;
    }
    if (err < 0)
        return err;
    settings_load();
    started = 1;
    deliver_kick(0); /* what a restart left in the outbox goes now */
    return 0;
}

int32_t on_start(void)
{
    int n = fastn_local_peer_id_str(mail_self_text, sizeof(mail_self_text));
    if (n < 0)
        return n;
    n = peer_from_text(mail_self_text, strlen(mail_self_text), mail_self_bin,
                       sizeof(mail_self_bin));
    if (n < 0)
        return n;
    mail_self_len = (size_t)n;
    fastn_timer_set(2, 60000);
    return store_start();
}

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    if (!started)
        return FASTN_ERR_AGAIN; /* the store is opening: a reset, retried */
    if (fastn_stream_flags(stream) & FASTN_STREAM_LOCAL) {
        if (fastn_is(protocol, protocol_len, "smtp"))
            return smtp_start(stream);
        if (fastn_is(protocol, protocol_len, "imap"))
            return imap_start(stream);
        return FASTN_ERR_INVAL;
    }
    return deliver_rx_start(stream, peer, peer_len);
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    struct conn *c = conn_find(stream);
    int32_t rc = 0;
    if (!c)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    switch (c->kind) {
    case CONN_SMTP:
        rc = smtp_data(c, data, len);
        break;
    case CONN_IMAP:
        rc = imap_data(c, data, len);
        break;
    case CONN_RX:
        rc = deliver_rx_data(c, data, len);
        break;
    case CONN_TX:
        rc = deliver_tx_data(c, data, len);
        break;
    }
    /* input held back (AGAIN) is no sign of life: a client that sends
     * and never reads is silent, and ends after idle_ms */
    if (rc != FASTN_ERR_AGAIN && conn_find(stream) == c)
        c->last_ms = fastn_monotonic_ms();
    return rc;
}

static void conn_end(struct conn *c, int32_t reason)
{
    switch (c->kind) {
    case CONN_SMTP:
        smtp_end(c);
        break;
    case CONN_IMAP:
        imap_end(c);
        break;
    case CONN_RX:
        deliver_rx_close(c, reason);
        return; /* it frees c itself */
    case CONN_TX:
        deliver_tx_close(c, reason);
        return;
    }
    if (reason == FASTN_CLOSE_EOF && c->closing != 2)
        fastn_stream_close(c->stream);
    conn_free(c);
}

int32_t on_close(int32_t stream, int32_t reason)
{
    struct conn *c = conn_find(stream);
    if (c && c->kind == CONN_SMTP && reason == FASTN_CLOSE_EOF &&
        smtp_close_later(c))
        return 0;
    if (c)
        conn_end(c, reason);
    return 0;
}

int32_t on_open(int32_t stream, int32_t result)
{
    struct conn *c = conn_find(stream);
    if (c && c->kind == CONN_TX)
        deliver_tx_open(c, result);
    return 0;
}

int32_t on_writable(int32_t stream)
{
    struct conn *c = conn_find(stream);
    if (!c)
        return 0;
    c->last_ms = fastn_monotonic_ms(); /* the client reads */
    if (conn_flush(c) < 0) {
        fastn_stream_reset(stream);
        conn_end(c, FASTN_ERR_NET_STREAM_RESET);
        return 0;
    }
    if (c->kind == CONN_TX)
        deliver_tx_writable(c);
    else if (c->kind == CONN_IMAP)
        imap_writable(c);
    return 0;
}

/* Timer 2 looks for sessions silent past idle_ms (and staged sends past
 * send_idle_ms) every minute, or sooner when idle_ms is short. */
static void timer_idle_set(void)
{
    int64_t t = mail_cfg.idle_ms / 2;
    fastn_timer_set(2, t < 500 ? 500 : t > 60000 ? 60000 : t);
}

/* Timer 1: the outbox; timer 2: local sessions idle too long end. */
int32_t on_timer(int32_t id)
{
    if (id == 3 && !started)
        return store_start();
    if (!started)
        return 0;
    if (id == 1) {
        deliver_timer();
        return 0;
    }
    if (id == 4) {
        imap_resume();
        smtp_resume();
        return 0;
    }
    if (id == 5) {
        mail_stage_timer();
        return 0;
    }
    int64_t now = fastn_monotonic_ms();
    mail_stage_expire();
    for (size_t i = 0; i < CONNS; i++) {
        struct conn *c = &conns[i];
        if (c->stream && (c->kind == CONN_SMTP || c->kind == CONN_IMAP) &&
            now - c->last_ms > mail_cfg.idle_ms) {
            const char *k = c->kind == CONN_SMTP ? "smtp" : "imap";
            if (c->out_len)
                fastn_logf(FASTN_LOG_WARN,
                           "%s: a session that does not read its replies "
                           "closed (%zu bytes waiting, silent %lld ms)",
                           k, c->out_len, (long long)(now - c->last_ms));
            else
                fastn_logf(FASTN_LOG_INFO,
                           "%s: a session silent %lld ms "
                           "closed",
                           k, (long long)(now - c->last_ms));
            fastn_stream_reset(c->stream);
            conn_end(c, FASTN_ERR_NET_STREAM_RESET);
        }
    }
    timer_idle_set();
    return 0;
}

int32_t on_stop(void)
{
    return 0;
}
