/*
 * ssh: OpenSSH between peers. Serves /fastn/ssh/1.0.0 and connects each
 * stream from a peer the user allowed to the local sshd (local-connect,
 * 127.0.0.1:22; the daemon's config may move it: plugin-connect = ssh
 * 127.0.0.1:22 127.0.0.1:2222), then copies bytes both ways. The other
 * side is `fastn ssh PEER` (ssh with `fastn ssh-proxy` as its
 * ProxyCommand). ssh's own security holds end to end: this plugin sees
 * only ssh's encrypted bytes.
 *
 * Who may: the daemon's policy first (it serves known peers only,
 * narrower with `fastn plugin restrict ssh`), then its own allow list,
 * empty at first: a stream from a peer not on it is refused (reset) and
 * logged. Calls (`fastn plugin call ssh METHOD [ARG]`):
 *   allow PEERID   adds PEERID to the list
 *   deny PEERID    removes it (its open sessions go on)
 *   list           the list, one PeerID a line
 *   info           "allowed: N" and the sessions open now
 *
 * Copying: each session is two streams, the peer's and the sshd
 * connection; bytes one gives are written to the other, and what that
 * one cannot take yet waits in a fastn_sbuf (at most one delivery, 64
 * KiB): while anything waits, on_data returns FASTN_ERR_AGAIN, so the
 * host holds the giving side (and stops reading it) until the taking
 * side has room again. An end of stream is passed on once what waits is
 * out; a reset of either side resets the other.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "ssh",
    "version": "1.0.0",
    "abi": 1,
    "description": "OpenSSH between peers: fastn ssh PEER reaches the peer's sshd",
    "protocols": ["/fastn/ssh/1.0.0"],
    "capabilities": ["storage", "local-connect"],
    "storage_quota": 1048576,
    "local_connect": ["127.0.0.1:22"],
    "serves": "known-peers",
    "limits": {"streams": 128, "statements": 8},
    "apps": ["fastn ssh"]
})
// clang-format on

#define SSHD "127.0.0.1:22"
#define SESSIONS 64

/* One session: the peer's stream and the sshd connection, and what each
 * waits to be given (to_local: from the peer for sshd; to_peer: back). */
struct session {
    int32_t peer, local; /* 0: none (or closed and done) */
    struct fastn_sbuf to_local, to_peer;
    char who[FASTN_PEER_ID_BUF];
};

static struct session sessions[SESSIONS];
static int schema_ok;

static int32_t schema(void)
{
    if (schema_ok)
        return 0;
    int32_t err =
        fastn_sql_exec_str("CREATE TABLE IF NOT EXISTS allowed("
                           "peer TEXT PRIMARY KEY, added_ms INTEGER)");
    if (err < 0)
        return err;
    schema_ok = 1;
    return 0;
}

int32_t on_start(void)
{
    return schema();
}

static int allowed(const char *peer, size_t len)
{
    int32_t st = fastn_sql_prepare_str("SELECT 1 FROM allowed WHERE peer = ?");
    int ok;
    if (st < 0)
        return 0;
    fastn_sql_bind_text(st, 1, peer, len);
    ok = fastn_sql_step(st) == FASTN_SQL_ROW;
    fastn_sql_finalize(st);
    return ok;
}

static struct session *find(int32_t stream)
{
    for (size_t i = 0; stream > 0 && i < SESSIONS; i++)
        if (sessions[i].peer == stream || sessions[i].local == stream)
            return &sessions[i];
    return NULL;
}

/* The buffer that feeds stream `to` (the other side of `from`). */
static struct fastn_sbuf *feeding(struct session *s, int32_t from)
{
    return from == s->peer ? &s->to_local : &s->to_peer;
}

static void session_end(struct session *s)
{
    fastn_sbuf_drop(&s->to_local);
    fastn_sbuf_drop(&s->to_peer);
    memset(s, 0, sizeof(*s));
}

/* Resets both sides (one of them may be gone already). */
static void session_reset(struct session *s)
{
    if (s->peer)
        fastn_stream_reset(s->peer);
    if (s->local)
        fastn_stream_reset(s->local);
    session_end(s);
}

/* Both ends passed on and written: nothing left of it. */
static void session_check_done(struct session *s)
{
    if (s->to_local.stream == 0 && s->to_peer.stream == 0)
        session_end(s);
}

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    struct session *s = NULL;
    (void)protocol, (void)protocol_len;
    if (schema() < 0 || !allowed(peer, peer_len)) {
        fastn_logf(FASTN_LOG_WARN,
                   "refused %.*s: not on the ssh allow list (fastn plugin "
                   "call ssh allow %.*s)",
                   (int)peer_len, peer, (int)peer_len, peer);
        return FASTN_ERR_PERM;
    }
    for (size_t i = 0; !s && i < SESSIONS; i++)
        if (!sessions[i].peer && !sessions[i].local)
            s = &sessions[i];
    if (!s)
        return FASTN_ERR_PLUGIN_LIMIT;
    int32_t local = fastn_local_connect_str(SSHD);
    if (local < 0) {
        fastn_logf(FASTN_LOG_WARN, "cannot reach sshd at %s: %d", SSHD,
                   (int)local);
        return local;
    }
    s->peer = stream;
    s->local = local;
    s->to_local.stream = local;
    s->to_peer.stream = stream;
    snprintf(s->who, sizeof(s->who), "%.*s", (int)peer_len, peer);
    fastn_logf(FASTN_LOG_INFO, "session for %s", s->who);
    return 0;
}

int32_t on_open(int32_t stream, int32_t result)
{
    struct session *s = find(stream);
    if (!s || result >= 0)
        return 0;
    fastn_logf(FASTN_LOG_WARN, "sshd at %s did not answer (%d): is it running?",
               SSHD, (int)result);
    s->local = 0; /* its handle is dead */
    session_reset(s);
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    struct session *s = find(stream);
    struct fastn_sbuf *b;
    int32_t err;
    if (!s)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    b = feeding(s, stream);
    if (b->stream == 0 || b->closing)
        return 0; /* that side is done: nothing to give it */
    if (b->out_len > 0 && (err = fastn_sbuf_flush(b)) < 0) {
        session_reset(s);
        return 0;
    }
    if (b->out_len > 0)
        return FASTN_ERR_AGAIN; /* held until it has room */
    if ((err = fastn_sbuf_send(b, data, len)) < 0)
        session_reset(s);
    return 0;
}

int32_t on_writable(int32_t stream)
{
    struct session *s = find(stream);
    struct fastn_sbuf *b;
    if (!s)
        return 0;
    b = stream == s->peer ? &s->to_peer : &s->to_local;
    if (fastn_sbuf_flush(b) < 0) {
        session_reset(s);
        return 0;
    }
    session_check_done(s);
    return 0;
}

int32_t on_close(int32_t stream, int32_t reason)
{
    struct session *s = find(stream);
    struct fastn_sbuf *b;
    if (!s)
        return 0;
    if (reason != FASTN_CLOSE_EOF) {
        if (stream == s->peer)
            s->peer = 0;
        else
            s->local = 0;
        session_reset(s);
        return 0;
    }
    /* its end goes on to the other side once what waits is out */
    b = feeding(s, stream);
    if (b->stream) {
        b->closing = 1;
        if (fastn_sbuf_flush(b) < 0) {
            session_reset(s);
            return 0;
        }
    }
    session_check_done(s);
    return 0;
}

/* --- calls ------------------------------------------------------------- */

static int32_t call_allow(int32_t call, const uint8_t *arg, size_t len, int add)
{
    int32_t st;
    if (len == 0 || len > 128)
        return fastn_reply_str(call, FASTN_ERR_INVAL,
                               "want a PeerID (fastn id on that machine)");
    for (size_t i = 0; i < len; i++)
        if (!((arg[i] >= '0' && arg[i] <= '9') ||
              (arg[i] >= 'A' && arg[i] <= 'Z') ||
              (arg[i] >= 'a' && arg[i] <= 'z')))
            return fastn_reply_str(call, FASTN_ERR_BAD_PEER_ID,
                                   "not a PeerID (letters and digits only)");
    st = fastn_sql_prepare_str(
        add ? "INSERT OR IGNORE INTO allowed(peer, added_ms) VALUES(?, ?)"
            : "DELETE FROM allowed WHERE peer = ?");
    if (st < 0)
        return fastn_reply_str(call, st, "database error");
    fastn_sql_bind_text(st, 1, (const char *)arg, len);
    if (add)
        fastn_sql_bind_int64(st, 2, fastn_now_ms());
    int32_t rc = fastn_sql_step(st);
    fastn_sql_finalize(st);
    if (rc < 0)
        return fastn_reply_str(call, rc, "database error");
    fastn_logf(FASTN_LOG_INFO, "%s %.*s", add ? "allowed" : "denied", (int)len,
               (const char *)arg);
    return fastn_reply_str(call, 0, add ? "allowed" : "denied");
}

static int32_t call_list(int32_t call, int info)
{
    char out[8192];
    size_t n = 0, count = 0, open = 0;
    int32_t st =
        fastn_sql_prepare_str("SELECT peer FROM allowed ORDER BY peer");
    if (st < 0)
        return fastn_reply_str(call, st, "database error");
    while (fastn_sql_step(st) == FASTN_SQL_ROW) {
        char peer[FASTN_PEER_ID_BUF];
        fastn_sql_column_str(st, 0, peer, sizeof(peer));
        count++;
        if (!info && n + strlen(peer) + 2 < sizeof(out))
            n += (size_t)snprintf(out + n, sizeof(out) - n, "%s\n", peer);
    }
    fastn_sql_finalize(st);
    if (info) {
        for (size_t i = 0; i < SESSIONS; i++)
            open += sessions[i].peer || sessions[i].local;
        n = (size_t)snprintf(out, sizeof(out),
                             "allowed: %zu peers; sessions: %zu; sshd: %s",
                             count, open, SSHD);
    }
    return fastn_call_reply(call, 0, out, n);
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    int32_t err = schema();
    if (err < 0)
        return err;
    if (fastn_is(method, method_len, "allow"))
        return call_allow(call, arg, arg_len, 1);
    if (fastn_is(method, method_len, "deny"))
        return call_allow(call, arg, arg_len, 0);
    if (fastn_is(method, method_len, "list"))
        return call_list(call, 0);
    if (fastn_is(method, method_len, "info"))
        return call_list(call, 1);
    return fastn_reply_str(call, FASTN_ERR_INVAL,
                           "methods: allow PEERID, deny PEERID, list, info");
}
