/*
 * chat: person-to-person messages between fastn daemons.
 *
 * Calls (from `fastn chat ...`, thin aliases of `fastn plugin call chat`):
 *   send PEER TEXT  store TEXT for PEER and deliver it; replies
 *                   "delivered ID" once PEER acknowledged it within a few
 *                   seconds, else "queued ID ..." (it stays in the outbox)
 *   log [PEER]      the latest messages, oldest first, one per line
 *
 * Delivery: every message is stored before anything is sent, with a
 * random 16-byte id. The outbox is the outgoing messages without a
 * delivery time; a stream to the peer carries them as MSG frames, and the
 * receiver answers each with an ACK frame after it has stored the message
 * (INSERT OR IGNORE on (peer, id): a message sent twice, after a lost ACK
 * or a restart, is stored and notified once). A timer retries what is
 * still queued with backoff, so messages wait through restarts (and
 * kill -9) of either daemon until they are acknowledged.
 *
 * Taken, not acknowledged: a daemon with no chat for us (none installed,
 * or we are a stranger to it) may keep the stream and finish its side
 * without an ACK (docs/ROUTER.md, "The quarantine"). The messages in
 * flight are then marked held (held_ms): `send` says they were sent and
 * wait for the peer to accept them, `log` shows [waiting], and they are
 * tried again only after RETRY_MAX_MS. Once the peer's chat has them
 * (replayed to it: its stream is flagged, and cannot be written to), it
 * sends the ACKs on a stream of its own (the acks table holds them until
 * they are written), and they are delivered.
 *
 * Notifications: a received message is stored and notified in one
 * transaction (BEGIN, INSERT, fastn_notify, COMMIT): the host keeps the
 * notification in our own database until it has moved it to the user's
 * list (docs/PLUGIN-ABI.md, "notify"), so the message and its
 * notification commit together, a kill -9 at any point loses neither nor
 * repeats one, and the host's rate limit delays but never drops one.
 * The notified column is from schema version 2, which did this itself;
 * version 3 notifies what version 2 left unnotified and no longer uses it.
 *
 * Wire format on /fastn/chat/1.0.0, both ways, repeated:
 *   type u8 | length u16 big-endian | body
 *   'M' body: id[16] | sent_ms u64 big-endian | text (UTF-8, <= 4000 bytes)
 *   'A' body: id[16]
 * Anything else is a protocol error and resets the stream.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "chat",
    "version": "1.0.0",
    "abi": 1,
    "description": "Person-to-person messages, delivered when the peer is reachable",
    "protocols": ["/fastn/chat/1.0.0"],
    "capabilities": ["streams", "storage", "notify", "timers"],
    "storage_quota": 67108864,
    "serves": "known-peers",
    "limits": {"streams": 64, "timers": 4, "statements": 16},
    "apps": ["fastn chat"]
})
// clang-format on

#define PROTOCOL "/fastn/chat/1.0.0"
#define ID_LEN 16
#define TEXT_MAX 4000
#define FRAME_HDR 3
#define FRAME_MAX (FRAME_HDR + ID_LEN + 8 + TEXT_MAX)
#define MAX_STREAMS 64
#define MAX_PENDING 32 /* send calls waiting for an ACK */
#define BATCH_MAX 50   /* messages written per stream open */
#define REPLY_WAIT_MS 3000
#define RETRY_FIRST_MS 2000
#define RETRY_MAX_MS (5 * 60 * 1000)
#define STALL_MS 30000 /* an outgoing stream with no ACK this long is reset */
#define LOG_LINES 50
#define TIME_BUF 128 /* room for any int64 date, for the compiler */
#define SCHEMA_VERSION 4

enum { TIMER_RETRY = 1, TIMER_REPLIES = 2 };

/* ---------------------------------------------------------------------- */
/* Small helpers                                                           */
/* ---------------------------------------------------------------------- */

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* PeerIDs in text are base58btc: this is all we check before the host. */
static int peer_ok(const char *p, size_t n)
{
    static const char b58[] =
        "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    if (n < 10 || n >= FASTN_PEER_ID_BUF)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!p[i] || !strchr(b58, p[i]))
            return 0;
    return 1;
}

/* Length of a valid UTF-8 sequence at p that is not a control character
 * (tab and newline allowed when ml), or 0. */
static size_t utf8_char(const uint8_t *p, size_t left, int ml)
{
    uint8_t c = p[0];
    if (c < 0x80)
        return (c >= 0x20 && c != 0x7f) || (ml && (c == '\n' || c == '\t'));
    size_t len = (c & 0xe0) == 0xc0   ? 2
                 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4
                                      : 0;
    if (!len || len > left)
        return 0;
    uint32_t v = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ||
        (v >= 0x80 && v <= 0x9f))
        return 0;
    return len;
}

/* Copies text into out (cap bytes with the NUL), replacing what the user
 * must not be shown raw (bad UTF-8, control characters) with '?', and
 * cutting at a character boundary, with "..." when cut. */
static void sanitize(const uint8_t *p, size_t n, char *out, size_t cap, int ml)
{
    size_t i = 0, o = 0;
    while (i < n) {
        size_t len = utf8_char(p + i, n - i, ml);
        size_t w = len ? len : 1;
        if (o + w + 4 > cap) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (len)
            memcpy(out + o, p + i, len);
        else
            out[o] = '?';
        o += w;
        i += w;
    }
    out[o] = '\0';
}

/* "1970-01-01 00:00:00" (UTC) from Unix ms: days to a civil date after
 * Howard Hinnant's days_from_civil inverse. */
static void format_time(int64_t ms, char out[TIME_BUF])
{
    int64_t s = ms / 1000, days = s / 86400, rem = s % 86400;
    if (rem < 0)
        rem += 86400, days--;
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    snprintf(out, TIME_BUF, "%04lld-%02lld-%02lld %02lld:%02lld:%02lld",
             (long long)y, (long long)m, (long long)d, (long long)(rem / 3600),
             (long long)(rem / 60 % 60), (long long)(rem % 60));
}

/* ---------------------------------------------------------------------- */
/* The database                                                            */
/* ---------------------------------------------------------------------- */

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS messages("
    " seq INTEGER PRIMARY KEY,"
    " peer TEXT NOT NULL,"
    " msg_id BLOB NOT NULL,"
    " outgoing INTEGER NOT NULL,"
    " sent_ms INTEGER NOT NULL,"
    " stored_ms INTEGER NOT NULL,"
    " text TEXT NOT NULL,"
    " delivered_ms INTEGER,"
    " tries INTEGER NOT NULL DEFAULT 0,"
    " next_try_ms INTEGER NOT NULL DEFAULT 0,"
    " notified INTEGER NOT NULL DEFAULT 1,"
    " UNIQUE(peer, msg_id, outgoing));"
    "CREATE INDEX IF NOT EXISTS outbox ON messages(outgoing, delivered_ms,"
    " next_try_ms);";

/* Version 1 had no notified column: its messages count as notified. */
static const char schema_v1_to_v2[] =
    "ALTER TABLE messages ADD COLUMN notified INTEGER NOT NULL DEFAULT 1;";

/* Version 3 no longer uses the column (after notify_unnotified). */
static const char schema_v3[] = "DROP INDEX IF EXISTS unnotified;"
                                "UPDATE messages SET notified = 1"
                                " WHERE notified = 0;"
                                "PRAGMA user_version = 3;";

/* Version 4: held messages, and ACKs owed on a stream of our own. */
static const char schema_v4[] =
    "ALTER TABLE messages ADD COLUMN held_ms INTEGER;"
    "CREATE TABLE IF NOT EXISTS acks(peer TEXT NOT NULL, msg_id BLOB NOT NULL,"
    " PRIMARY KEY(peer, msg_id));"
    "PRAGMA user_version = 4;";

/* Statements, prepared on first use and kept. */
enum {
    ST_INSERT_OUT,
    ST_INSERT_IN,
    ST_DELIVERED,
    ST_PENDING_FOR_PEER,
    ST_DUE_PEERS,
    ST_BACKOFF,
    ST_NEXT_DUE,
    ST_LOG_ALL,
    ST_LOG_PEER,
    ST_HELD,
    ST_ACK_OWED,
    ST_ACKS_FOR_PEER,
    ST_ACK_SENT,
    ST_COUNT
};

static const char *const sql_text[ST_COUNT] = {
    [ST_INSERT_OUT] = "INSERT INTO messages(peer, msg_id, outgoing, sent_ms,"
                      " stored_ms, text) VALUES(?1, ?2, 1, ?3, ?3, ?4)",
    [ST_INSERT_IN] = "INSERT OR IGNORE INTO messages(peer, msg_id, outgoing,"
                     " sent_ms, stored_ms, text)"
                     " VALUES(?1, ?2, 0, ?3, ?4, ?5)",
    [ST_DELIVERED] = "UPDATE messages SET delivered_ms = ?3 WHERE peer = ?1"
                     " AND msg_id = ?2 AND outgoing = 1"
                     " AND delivered_ms IS NULL",
    [ST_PENDING_FOR_PEER] = "SELECT msg_id, sent_ms, text FROM messages"
                            " WHERE outgoing = 1 AND delivered_ms IS NULL"
                            " AND peer = ?1 ORDER BY seq LIMIT ?2",
    [ST_DUE_PEERS] = "SELECT peer FROM messages WHERE outgoing = 1"
                     " AND delivered_ms IS NULL AND next_try_ms <= ?1"
                     " UNION SELECT peer FROM acks LIMIT 16",
    [ST_BACKOFF] = "UPDATE messages SET tries = tries + 1, next_try_ms = ?2 +"
                   " min(?3, ?4 << min(tries, 16)) WHERE outgoing = 1"
                   " AND delivered_ms IS NULL AND peer = ?1",
    [ST_NEXT_DUE] = "SELECT min(next_try_ms) FROM messages WHERE outgoing = 1"
                    " AND delivered_ms IS NULL",
    [ST_LOG_ALL] = "SELECT * FROM (SELECT seq, peer, outgoing, stored_ms, text,"
                   " delivered_ms, held_ms FROM messages"
                   " ORDER BY seq DESC LIMIT ?1) ORDER BY seq",
    [ST_LOG_PEER] =
        "SELECT * FROM (SELECT seq, peer, outgoing, stored_ms, text,"
        " delivered_ms, held_ms FROM messages WHERE peer = ?2"
        " ORDER BY seq DESC LIMIT ?1) ORDER BY seq",
    [ST_HELD] = "UPDATE messages SET held_ms = ?2, next_try_ms = ?2 + ?3"
                " WHERE outgoing = 1 AND delivered_ms IS NULL AND peer = ?1",
    [ST_ACK_OWED] = "INSERT OR IGNORE INTO acks(peer, msg_id) VALUES(?1, ?2)",
    [ST_ACKS_FOR_PEER] = "SELECT msg_id FROM acks WHERE peer = ?1 LIMIT ?2",
    [ST_ACK_SENT] = "DELETE FROM acks WHERE peer = ?1 AND msg_id = ?2",
};

static int32_t stmts[ST_COUNT];

/* Logs what failed with SQLite's message for it. */
static void log_sql_error(const char *what, int32_t err)
{
    char msg[200];
    int32_t n = fastn_sql_errmsg(msg, sizeof(msg) - 1);
    msg[n < 0                      ? 0
        : n < (int32_t)sizeof(msg) ? n
                                   : (int32_t)sizeof(msg) - 1] = '\0';
    fastn_logf(FASTN_LOG_ERROR, "%s (%d): %s", what, (int)err, msg);
}

/* The statement for id, reset and ready to bind. */
static int32_t stmt(int id)
{
    if (stmts[id] <= 0) {
        stmts[id] = fastn_sql_prepare_str(sql_text[id]);
        if (stmts[id] < 0) {
            int32_t err = stmts[id];
            stmts[id] = 0;
            log_sql_error("prepare failed", err);
            return err;
        }
    }
    fastn_sql_reset(stmts[id]);
    return stmts[id];
}

/* ---------------------------------------------------------------------- */
/* Streams                                                                 */
/* ---------------------------------------------------------------------- */

struct chat_stream {
    int32_t handle; /* 0: free slot */
    char peer[FASTN_PEER_ID_BUF];
    int outgoing;
    int open;     /* outgoing: on_open said yes; incoming: always */
    int inflight; /* MSG frames sent and not yet acknowledged */
    int64_t last_ms;
    struct fastn_sbuf rx; /* frames received, up to FRAME_MAX bytes */
};

static struct chat_stream streams[MAX_STREAMS];

static struct chat_stream *stream_find(int32_t h)
{
    for (int i = 0; h > 0 && i < MAX_STREAMS; i++)
        if (streams[i].handle == h)
            return &streams[i];
    return NULL;
}

static struct chat_stream *outgoing_to(const char *peer)
{
    for (int i = 0; i < MAX_STREAMS; i++)
        if (streams[i].handle && streams[i].outgoing &&
            strcmp(streams[i].peer, peer) == 0)
            return &streams[i];
    return NULL;
}

static struct chat_stream *stream_new(int32_t h, const char *peer,
                                      size_t peer_len, int outgoing)
{
    struct chat_stream *s = NULL;
    for (int i = 0; !s && i < MAX_STREAMS; i++)
        if (!streams[i].handle)
            s = &streams[i];
    if (!s || peer_len >= sizeof(s->peer))
        return NULL;
    memset(s, 0, sizeof(*s));
    s->handle = h;
    memcpy(s->peer, peer, peer_len);
    s->peer[peer_len] = '\0';
    s->outgoing = outgoing;
    s->open = !outgoing;
    s->last_ms = fastn_monotonic_ms();
    return s;
}

static void stream_forget(struct chat_stream *s)
{
    fastn_sbuf_drop(&s->rx);
    s->handle = 0;
}

/* Resets a stream and forgets it; what it carried stays in the outbox. */
static void stream_abort(struct chat_stream *s)
{
    fastn_stream_reset(s->handle);
    stream_forget(s);
}

static int32_t write_frame(struct chat_stream *s, uint8_t type,
                           const uint8_t *body, size_t len)
{
    uint8_t frame[FRAME_MAX];
    if (len > FRAME_MAX - FRAME_HDR)
        return FASTN_ERR_TOO_LARGE;
    frame[0] = type;
    frame[1] = (uint8_t)(len >> 8);
    frame[2] = (uint8_t)len;
    memcpy(frame + FRAME_HDR, body, len);
    int32_t n = fastn_stream_write(s->handle, frame, FRAME_HDR + len);
    /* Frames are small and the stream's buffer is large: a short write
     * means the peer is not reading; give up on this stream. */
    return n == (int32_t)(FRAME_HDR + len) ? 0 : n < 0 ? n : FASTN_ERR_AGAIN;
}

/* ---------------------------------------------------------------------- */
/* Send calls waiting for their ACK                                        */
/* ---------------------------------------------------------------------- */

struct pending_call {
    int32_t call; /* 0: free */
    uint8_t id[ID_LEN];
    char peer[FASTN_PEER_ID_BUF];
    int64_t deadline_ms;
};

static struct pending_call pending[MAX_PENDING];

/* How a send call is answered. */
enum { SENT_QUEUED = 0, SENT_DELIVERED = 1, SENT_WAITING = 2 };

static void reply_sent(struct pending_call *p, int how)
{
    char id[2 * ID_LEN + 1], msg[300];
    hex(p->id, ID_LEN, id);
    if (how == SENT_DELIVERED)
        snprintf(msg, sizeof(msg), "delivered %s", id);
    else if (how == SENT_WAITING)
        snprintf(msg, sizeof(msg),
                 "waiting %s: sent; %s's daemon took it and keeps it until "
                 "the peer accepts chat (it is acknowledged then)",
                 id, p->peer);
    else
        snprintf(msg, sizeof(msg),
                 "queued %s: %s is not reachable now; the message will be "
                 "delivered when it is",
                 id, p->peer);
    fastn_reply_str(p->call, 0, msg);
    p->call = 0;
}

static void resolve_pending(const char *peer, const uint8_t *id)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i].call && strcmp(pending[i].peer, peer) == 0 &&
            memcmp(pending[i].id, id, ID_LEN) == 0)
            reply_sent(&pending[i], SENT_DELIVERED);
}

/* Answers "waiting" to every call for peer: its daemon took the
 * messages without an ACK. */
static void held_pending(const char *peer)
{
    for (int i = 0; i < MAX_PENDING; i++)
        if (pending[i].call && strcmp(pending[i].peer, peer) == 0)
            reply_sent(&pending[i], SENT_WAITING);
}

/* Answers "queued" to every call for peer (its stream failed), or to
 * every call past its deadline when peer is NULL. */
static void expire_pending(const char *peer)
{
    int64_t now = fastn_monotonic_ms();
    int64_t next = 0;
    for (int i = 0; i < MAX_PENDING; i++) {
        struct pending_call *p = &pending[i];
        if (!p->call)
            continue;
        if (peer ? strcmp(p->peer, peer) == 0 : p->deadline_ms <= now)
            reply_sent(p, SENT_QUEUED);
        else if (!next || p->deadline_ms < next)
            next = p->deadline_ms;
    }
    if (next)
        fastn_timer_set(TIMER_REPLIES, next > now ? next - now : 0);
}

/* ---------------------------------------------------------------------- */
/* Delivery                                                                */
/* ---------------------------------------------------------------------- */

/* Writes the ACKs owed to the stream's peer (replayed messages, whose
 * own streams could not carry them), each forgotten once written. */
static int32_t send_acks(struct chat_stream *s)
{
    uint8_t ids[BATCH_MAX][ID_LEN];
    int n = 0;
    int32_t st = stmt(ST_ACKS_FOR_PEER), rc;
    if (st < 0)
        return st;
    fastn_sql_bind_str(st, 1, s->peer);
    fastn_sql_bind_int64(st, 2, BATCH_MAX);
    while (n < BATCH_MAX && (rc = fastn_sql_step(st)) == FASTN_SQL_ROW)
        if (fastn_sql_column_bytes(st, 0, ids[n], ID_LEN) == ID_LEN)
            n++;
    fastn_sql_reset(st);
    for (int i = 0; i < n; i++) {
        int32_t err = write_frame(s, 'A', ids[i], ID_LEN);
        if (err)
            return err;
        if ((st = stmt(ST_ACK_SENT)) < 0)
            return st;
        fastn_sql_bind_str(st, 1, s->peer);
        fastn_sql_bind_blob(st, 2, ids[i], ID_LEN);
        fastn_sql_step(st);
        fastn_sql_reset(st);
    }
    return 0;
}

/* Writes every queued message for the stream's peer (up to BATCH_MAX),
 * after the ACKs owed to it. */
static int32_t send_outbox(struct chat_stream *s)
{
    uint8_t body[ID_LEN + 8 + TEXT_MAX];
    int32_t st, rc = send_acks(s);
    if (rc < 0)
        return rc;
    if ((st = stmt(ST_PENDING_FOR_PEER)) < 0)
        return st;
    fastn_sql_bind_str(st, 1, s->peer);
    fastn_sql_bind_int64(st, 2, BATCH_MAX);
    while ((rc = fastn_sql_step(st)) == FASTN_SQL_ROW) {
        int32_t idn = fastn_sql_column_bytes(st, 0, body, ID_LEN);
        int64_t sent = fastn_sql_column_int64(st, 1);
        int32_t tn = fastn_sql_column_bytes(st, 2, body + ID_LEN + 8, TEXT_MAX);
        if (idn != ID_LEN || tn < 0 || tn > TEXT_MAX)
            continue; /* not one of ours: skip it */
        put_be64(body + ID_LEN, (uint64_t)sent);
        int32_t err = write_frame(s, 'M', body, ID_LEN + 8 + (size_t)tn);
        if (err) {
            fastn_sql_reset(st);
            return err;
        }
        s->inflight++;
    }
    fastn_sql_reset(st);
    return rc < 0 ? rc : 0;
}

/* Pushes the peer's calls back by the backoff for another try later. */
static void backoff(const char *peer)
{
    int32_t st = stmt(ST_BACKOFF);
    if (st < 0)
        return;
    fastn_sql_bind_str(st, 1, peer);
    fastn_sql_bind_int64(st, 2, fastn_now_ms());
    fastn_sql_bind_int64(st, 3, RETRY_MAX_MS);
    fastn_sql_bind_int64(st, 4, RETRY_FIRST_MS);
    /* without it (a full disk) the next try just comes sooner */
    int32_t err = fastn_sql_step(st);
    fastn_sql_reset(st);
    if (err < 0)
        log_sql_error("cannot record the retry", err);
}

static void schedule_retry(void);

/* Makes sure queued messages for peer are on their way: an open stream
 * gets them now, else one is opened (on_open sends them). */
static void deliver(const char *peer)
{
    struct chat_stream *s = outgoing_to(peer);
    if (s) {
        if (s->open && s->inflight == 0 && send_outbox(s) < 0)
            stream_abort(s);
        return;
    }
    backoff(peer);
    schedule_retry();
    int32_t h =
        fastn_stream_open(peer, strlen(peer), PROTOCOL, strlen(PROTOCOL));
    if (h < 0) {
        fastn_logf(FASTN_LOG_DEBUG, "cannot open a stream to %s: %d", peer,
                   (int)h);
        expire_pending(peer);
        return;
    }
    if (!stream_new(h, peer, strlen(peer), 1)) {
        fastn_stream_reset(h);
        expire_pending(peer);
    }
}

/* The next retry: when the earliest queued message is due. */
static void schedule_retry(void)
{
    int32_t st = stmt(ST_NEXT_DUE);
    if (st < 0 || fastn_sql_step(st) != FASTN_SQL_ROW ||
        fastn_sql_column_type(st, 0) == FASTN_SQL_NULL) {
        if (st > 0)
            fastn_sql_reset(st);
        return;
    }
    int64_t due = fastn_sql_column_int64(st, 0) - fastn_now_ms();
    fastn_sql_reset(st);
    fastn_timer_set(TIMER_RETRY, due < 1000 ? 1000 : due);
}

/* Resets outgoing streams whose ACKs stopped coming. */
static void reap_stalled(void)
{
    int64_t now = fastn_monotonic_ms();
    for (int i = 0; i < MAX_STREAMS; i++) {
        struct chat_stream *s = &streams[i];
        if (s->handle && s->outgoing && now - s->last_ms > STALL_MS)
            stream_abort(s);
    }
}

static void retry_due(void)
{
    char peers[16][FASTN_PEER_ID_BUF];
    int n = 0;
    int32_t st = stmt(ST_DUE_PEERS);
    if (st < 0)
        return;
    reap_stalled();
    fastn_sql_bind_int64(st, 1, fastn_now_ms());
    while (n < 16 && fastn_sql_step(st) == FASTN_SQL_ROW)
        if (fastn_sql_column_str(st, 0, peers[n], sizeof(peers[n])) <
            FASTN_PEER_ID_BUF)
            n++;
    fastn_sql_reset(st);
    for (int i = 0; i < n; i++)
        deliver(peers[i]);
    schedule_retry();
}

/* ---------------------------------------------------------------------- */
/* Receiving                                                               */
/* ---------------------------------------------------------------------- */

/* The host's answer to one notification for a message from peer. */
static int32_t notify_received(const char *peer, const uint8_t *text, size_t n)
{
    char title[96], body[260];
    size_t plen = strlen(peer);
    if (plen > 20)
        snprintf(title, sizeof(title), "Message from %.8s...%s", peer,
                 peer + plen - 6);
    else
        snprintf(title, sizeof(title), "Message from %s", peer);
    sanitize(text, n, body, sizeof(body), 1);
    return fastn_notify(title, strlen(title), body, strlen(body));
}

/* Notifies what schema version 2 stored but had not notified (a crash
 * came between its two commits), inside the upgrade's transaction. A
 * notification that cannot be stored now (a full disk, the quota) fails
 * the upgrade, which rolls back and runs again at the next start; one
 * refused for good (notify withheld, a damaged row) is skipped. */
static int32_t notify_unnotified(void)
{
    static uint8_t text[TEXT_MAX + 1];
    char peer[FASTN_PEER_ID_BUF];
    int32_t st = fastn_sql_prepare_str(
        "SELECT peer, text FROM messages WHERE notified = 0 ORDER BY seq");
    if (st < 0)
        return st;
    int32_t rc, err = 0;
    while (err >= 0 && (rc = fastn_sql_step(st)) == FASTN_SQL_ROW) {
        int32_t pn = fastn_sql_column_str(st, 0, peer, sizeof(peer));
        int32_t tn = fastn_sql_column_bytes(st, 1, text, sizeof(text));
        err = pn < 0 || pn >= FASTN_PEER_ID_BUF || tn < 0 || tn > TEXT_MAX
                  ? FASTN_ERR_MALFORMED
                  : notify_received(peer, text, (size_t)tn);
        if (err == FASTN_ERR_MALFORMED || err == FASTN_ERR_PLUGIN_CAPABILITY ||
            err == FASTN_ERR_UNSUPPORTED) {
            fastn_logf(FASTN_LOG_WARN, "no notification for a message: %d",
                       (int)err);
            err = 0;
        }
    }
    fastn_sql_finalize(st);
    return err < 0 ? err : rc < 0 ? rc : 0;
}

/* Stores a received message (once) and acknowledges it (always). */
static int32_t on_msg(struct chat_stream *s, const uint8_t *b, size_t len)
{
    if (len < ID_LEN + 8 || len - ID_LEN - 8 > TEXT_MAX)
        return FASTN_ERR_MALFORMED;
    const uint8_t *text = b + ID_LEN + 8;
    size_t tlen = len - ID_LEN - 8;
    int32_t st = stmt(ST_INSERT_IN);
    if (st < 0)
        return st;
    fastn_sql_bind_str(st, 1, s->peer);
    fastn_sql_bind_blob(st, 2, b, ID_LEN);
    fastn_sql_bind_int64(st, 3, (int64_t)get_be64(b + ID_LEN));
    fastn_sql_bind_int64(st, 4, fastn_now_ms());
    fastn_sql_bind_text(st, 5, (const char *)text, tlen);
    /* the message and its notification commit together */
    int32_t rc = fastn_sql_exec_str("BEGIN");
    if (rc >= 0)
        rc = fastn_sql_step(st);
    fastn_sql_reset(st);
    int32_t flags = fastn_stream_flags(s->handle);
    int replayed = flags > 0 && (flags & FASTN_STREAM_REPLAYED);
    if (rc >= 0 && fastn_sql_changes() == 1)
        rc = notify_received(s->peer, text, tlen);
    /* a withheld notify capability leaves the message without one */
    if (rc == FASTN_ERR_PLUGIN_CAPABILITY || rc == FASTN_ERR_UNSUPPORTED)
        rc = 0;
    if (rc >= 0 && replayed) { /* its ACK goes on a stream of our own */
        int32_t st2 = stmt(ST_ACK_OWED);
        rc = st2;
        if (st2 >= 0) {
            fastn_sql_bind_str(st2, 1, s->peer);
            fastn_sql_bind_blob(st2, 2, b, ID_LEN);
            rc = fastn_sql_step(st2);
            fastn_sql_reset(st2);
        }
    }
    int32_t end = fastn_sql_exec_str(rc < 0 ? "ROLLBACK" : "COMMIT");
    if (rc >= 0 && end < 0)
        rc = end;
    if (rc < 0)
        return rc; /* not stored: no ACK, the sender will try again */
    return replayed ? 0 : write_frame(s, 'A', b, ID_LEN);
}

static int32_t on_ack(struct chat_stream *s, const uint8_t *b, size_t len)
{
    if (len != ID_LEN)
        return FASTN_ERR_MALFORMED;
    int32_t st = stmt(ST_DELIVERED);
    if (st < 0)
        return st;
    fastn_sql_bind_str(st, 1, s->peer);
    fastn_sql_bind_blob(st, 2, b, ID_LEN);
    fastn_sql_bind_int64(st, 3, fastn_now_ms());
    int32_t rc = fastn_sql_step(st);
    fastn_sql_reset(st);
    if (rc < 0)
        return rc;
    resolve_pending(s->peer, b);
    if (s->outgoing && s->inflight > 0 && --s->inflight == 0) {
        /* All acknowledged: more may have been queued meanwhile. */
        int32_t err = send_outbox(s);
        if (err)
            return err;
        if (s->inflight == 0) {
            fastn_stream_close(s->handle);
            stream_forget(s);
        }
    }
    return 0;
}

/* Handles every complete frame in the stream's receive buffer. */
static int32_t parse_frames(struct chat_stream *s)
{
    size_t off = 0;
    int32_t err = 0;
    while (!err && s->handle && s->rx.in_len - off >= FRAME_HDR) {
        const uint8_t *f = s->rx.in + off;
        size_t len = ((size_t)f[1] << 8) | f[2];
        if (len > FRAME_MAX - FRAME_HDR)
            return FASTN_ERR_MALFORMED;
        if (s->rx.in_len - off < FRAME_HDR + len)
            break;
        if (f[0] == 'M')
            err = on_msg(s, f + FRAME_HDR, len);
        else if (f[0] == 'A')
            err = on_ack(s, f + FRAME_HDR, len);
        else
            err = FASTN_ERR_MALFORMED;
        off += FRAME_HDR + len;
    }
    if (s->handle)
        fastn_sbuf_consume(&s->rx, off);
    return err;
}

/* ---------------------------------------------------------------------- */
/* Events                                                                  */
/* ---------------------------------------------------------------------- */

/* The database's schema version (PRAGMA user_version), or an error. */
static int64_t schema_version(void)
{
    int32_t st = fastn_sql_prepare_str("PRAGMA user_version");
    if (st < 0)
        return st;
    int32_t rc = fastn_sql_step(st);
    int64_t v = rc == FASTN_SQL_ROW ? fastn_sql_column_int64(st, 0)
                : rc < 0            ? rc
                                    : 0;
    fastn_sql_finalize(st);
    return v;
}

/* Brings a database of version v up to SCHEMA_VERSION, in one
 * transaction with the notifications version 2 still owed. */
static int32_t upgrade(int64_t v)
{
    int32_t err = fastn_sql_exec_str("BEGIN");
    if (err >= 0 && v == 1)
        err = fastn_sql_exec_str(schema_v1_to_v2);
    if (err >= 0 && v == 2)
        err = notify_unnotified();
    if (err >= 0 && v < 3)
        err = fastn_sql_exec_str(schema_v3);
    if (err >= 0)
        err = fastn_sql_exec_str(schema_v4);
    if (err >= 0)
        err = fastn_sql_exec_str("COMMIT");
    return err;
}

/* Creates the schema, or brings an older one up to date. */
static int32_t open_schema(void)
{
    int32_t err = fastn_sql_exec_str(schema);
    int64_t v = err < 0 ? err : schema_version();
    if (v < 0)
        err = (int32_t)v;
    else if (v < SCHEMA_VERSION)
        err = upgrade(v);
    if (err < 0) {
        log_sql_error("cannot create the schema", err);
        fastn_sql_exec_str("ROLLBACK"); /* if a transaction is still open */
        return err;
    }
    return 0;
}

int32_t on_start(void)
{
    int32_t err = open_schema();
    if (err < 0)
        return err;
    /* Whatever waited in the outbox across a restart goes out soon. */
    return fastn_timer_set(TIMER_RETRY, 500);
}

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)protocol, (void)protocol_len;
    if (!peer_ok(peer, peer_len) || !stream_new(stream, peer, peer_len, 0))
        return FASTN_ERR_PLUGIN_LIMIT;
    return 0;
}

int32_t on_open(int32_t stream, int32_t result)
{
    struct chat_stream *s = stream_find(stream);
    if (!s)
        return 0;
    if (result < 0) {
        char peer[FASTN_PEER_ID_BUF];
        memcpy(peer, s->peer, sizeof(peer));
        stream_forget(s);
        expire_pending(peer);
        return 0;
    }
    s->open = 1;
    s->last_ms = fastn_monotonic_ms();
    int32_t err = send_outbox(s);
    if (err) {
        stream_abort(s);
        return 0;
    }
    if (s->inflight == 0) { /* delivered meanwhile by another stream */
        fastn_stream_close(stream);
        stream_forget(s);
    }
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    struct chat_stream *s = stream_find(stream);
    if (!s)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    s->last_ms = fastn_monotonic_ms();
    while (len > 0 && s->handle) {
        size_t room = FRAME_MAX - s->rx.in_len;
        size_t n = len < room ? len : room;
        int32_t err = fastn_sbuf_take(&s->rx, data, n, FRAME_MAX);
        data += n;
        len -= n;
        if (!err)
            err = parse_frames(s);
        if (err) {
            fastn_logf(FASTN_LOG_WARN, "stream from %s: error %d, reset",
                       s->peer, (int)err);
            stream_abort(s);
            return 0;
        }
    }
    return 0;
}

/* The peer's daemon took our messages and finished its side without
 * ACKs: they are held there until the peer accepts chat. */
static void held(struct chat_stream *s)
{
    int32_t st = stmt(ST_HELD);
    if (st >= 0) {
        fastn_sql_bind_str(st, 1, s->peer);
        fastn_sql_bind_int64(st, 2, fastn_now_ms());
        fastn_sql_bind_int64(st, 3, RETRY_MAX_MS);
        fastn_sql_step(st);
        fastn_sql_reset(st);
    }
    held_pending(s->peer);
    schedule_retry();
}

int32_t on_close(int32_t stream, int32_t reason)
{
    struct chat_stream *s = stream_find(stream);
    if (!s)
        return 0;
    char peer[FASTN_PEER_ID_BUF];
    int32_t flags = fastn_stream_flags(stream);
    int replayed = flags > 0 && (flags & FASTN_STREAM_REPLAYED);
    memcpy(peer, s->peer, sizeof(peer));
    if (reason == FASTN_CLOSE_EOF && s->outgoing && s->inflight > 0)
        held(s);
    if (reason == FASTN_CLOSE_EOF && !replayed)
        fastn_stream_close(stream); /* our ACKs are queued before it */
    stream_forget(s);
    if (replayed)
        deliver(peer); /* the ACKs it owes, on a stream of our own */
    return 0;
}

int32_t on_timer(int32_t id)
{
    if (id == TIMER_RETRY)
        retry_due();
    else if (id == TIMER_REPLIES)
        expire_pending(NULL);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Calls                                                                   */
/* ---------------------------------------------------------------------- */

/* send's PEER and TEXT: two arguments (`fastn plugin call chat send PEER
 * TEXT`), or one, "PEER TEXT" (`fastn chat send`). */
static int split_send(const uint8_t *arg, size_t len, struct fastn_arg *peer,
                      struct fastn_arg *text)
{
    struct fastn_arg a[2];
    if (fastn_args_split(arg, len, a, 2) == 2) {
        *peer = a[0], *text = a[1];
        return peer->len > 0;
    }
    const uint8_t *sp = len ? memchr(arg, ' ', len) : NULL;
    if (!sp || sp == arg)
        return 0;
    *peer = (struct fastn_arg){(const char *)arg, (size_t)(sp - arg)};
    *text = (struct fastn_arg){(const char *)sp + 1, len - peer->len - 1};
    return 1;
}

static int32_t call_send(int32_t call, const uint8_t *arg, size_t len)
{
    struct fastn_arg pa, ta;
    char peer[FASTN_PEER_ID_BUF];
    if (!split_send(arg, len, &pa, &ta) ||
        fastn_arg_str(pa, peer, sizeof(peer)) < 0)
        return fastn_reply_str(call, FASTN_ERR_INVAL, "usage: send PEER TEXT");
    size_t plen = pa.len;
    const uint8_t *text = (const uint8_t *)ta.p;
    size_t tlen = ta.len;
    if (!peer_ok(peer, plen))
        return fastn_reply_str(call, FASTN_ERR_BAD_PEER_ID,
                               "PEER is not a PeerID (12D3KooW...)");
    if (tlen == 0 || tlen > TEXT_MAX)
        return fastn_reply_str(call, FASTN_ERR_INVAL,
                               "TEXT must be 1 to 4000 bytes");

    struct pending_call *p = NULL;
    for (int i = 0; !p && i < MAX_PENDING; i++)
        if (!pending[i].call)
            p = &pending[i];
    uint8_t id[ID_LEN];
    int32_t err = fastn_random(id, sizeof(id));
    int32_t st = err < 0 ? err : stmt(ST_INSERT_OUT);
    if (st < 0)
        return fastn_reply_str(call, st, "cannot store the message");
    fastn_sql_bind_str(st, 1, peer);
    fastn_sql_bind_blob(st, 2, id, ID_LEN);
    fastn_sql_bind_int64(st, 3, fastn_now_ms());
    fastn_sql_bind_text(st, 4, (const char *)text, tlen);
    err = fastn_sql_step(st);
    fastn_sql_reset(st);
    if (err < 0)
        return fastn_reply_str(call, err, "cannot store the message");

    struct pending_call tmp;
    if (!p)
        p = &tmp; /* too many waiting: answer "queued" right away */
    *p = (struct pending_call){call, {0}, {0}, 0};
    memcpy(p->id, id, ID_LEN);
    memcpy(p->peer, peer, plen + 1);
    p->deadline_ms = fastn_monotonic_ms() + REPLY_WAIT_MS;
    if (p == &tmp)
        reply_sent(p, SENT_QUEUED);
    else
        expire_pending(NULL); /* sets the timer for the next deadline */
    deliver(peer);
    return 0;
}

/* Appends one message as a line to the growing reply. */
static int32_t log_line(int32_t st, char **buf, size_t *len, size_t *cap)
{
    char peer[FASTN_PEER_ID_BUF], when[TIME_BUF], text[TEXT_MAX * 2];
    uint8_t raw[TEXT_MAX];
    fastn_sql_column_str(st, 1, peer, sizeof(peer));
    int outgoing = (int)fastn_sql_column_int64(st, 2);
    format_time(fastn_sql_column_int64(st, 3), when);
    int32_t n = fastn_sql_column_bytes(st, 4, raw, sizeof(raw));
    sanitize(raw,
             n < 0                     ? 0
             : (size_t)n < sizeof(raw) ? (size_t)n
                                       : sizeof(raw),
             text, sizeof(text), 0);
    const char *state =
        !outgoing                                        ? ""
        : fastn_sql_column_type(st, 5) != FASTN_SQL_NULL ? "  [delivered]"
        : fastn_sql_column_type(st, 6) != FASTN_SQL_NULL ? "  [waiting]"
                                                         : "  [queued]";
    size_t need = strlen(peer) + strlen(text) + 64;
    if (*len + need > *cap) {
        size_t ncap = (*cap ? *cap * 2 : 4096) + need;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return FASTN_ERR_NOMEM;
        *buf = nb, *cap = ncap;
    }
    *len += (size_t)snprintf(*buf + *len, *cap - *len, "%s  %s %s  %s%s\n",
                             when, outgoing ? "->" : "<-", peer, text, state);
    return 0;
}

static int32_t call_log(int32_t call, const uint8_t *arg, size_t len)
{
    char peer[FASTN_PEER_ID_BUF];
    while (len && arg[len - 1] == ' ')
        len--;
    if (len && !peer_ok((const char *)arg, len))
        return fastn_reply_str(call, FASTN_ERR_BAD_PEER_ID,
                               "usage: log [PEER]");
    int32_t st = stmt(len ? ST_LOG_PEER : ST_LOG_ALL);
    if (st < 0)
        return fastn_reply_str(call, st, "cannot read the messages");
    fastn_sql_bind_int64(st, 1, LOG_LINES);
    if (len) {
        memcpy(peer, arg, len);
        peer[len] = '\0';
        fastn_sql_bind_str(st, 2, peer);
    }
    char *buf = NULL;
    size_t blen = 0, cap = 0;
    int32_t rc = 0, err = 0;
    while (!err && (rc = fastn_sql_step(st)) == FASTN_SQL_ROW)
        err = log_line(st, &buf, &blen, &cap);
    fastn_sql_reset(st);
    if (!err && rc < 0)
        err = rc;
    err = err ? fastn_reply_str(call, err, "cannot read the messages")
              : fastn_call_reply(call, 0, buf ? buf : "", blen);
    free(buf);
    return err;
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    if (fastn_is(method, method_len, "send"))
        return call_send(call, arg, arg_len);
    if (fastn_is(method, method_len, "log"))
        return call_log(call, arg, arg_len);
    return fastn_reply_str(call, FASTN_ERR_NOT_FOUND,
                           "unknown method; chat has: send PEER TEXT, "
                           "log [PEER]");
}
