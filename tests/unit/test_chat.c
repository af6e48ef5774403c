/* Unit tests for plugins/chat: the plugin's C source built natively and
 * driven through a mock host that keeps the ABI's rules (a real plugin
 * database from src/store, streams and calls recorded, time injected).
 * A scripted peer plays the other daemon: frames in, frames out.
 * "Restart" wipes the plugin's memory and reopens its database, as a new
 * instance would see it. */
#include "../../plugins/chat/chat.c"

#include "plugin/manifest.h"
#include "store/store.h"
#include "test.h"

/* --- the mock host --- */

#define MOCK_STREAMS 16

struct mock_stream {
    int32_t handle;
    char peer[FASTN_PEER_ID_BUF];
    char proto[64];
    uint8_t out[65536];
    size_t out_len;
    int closed, reset;
};

static struct {
    char dir[64];
    struct store_pdb *db;
    struct mock_stream streams[MOCK_STREAMS];
    int n_streams;
    int32_t next_handle;
    int64_t now, mono;
    uint8_t rnd;
    int32_t reply_call, reply_status, replies;
    char reply[8192];
    int notifies;
    char notify_title[300], notify_body[5000];
    int64_t timers[8]; /* delay per armed id, -1: not armed */
} H;

static struct mock_stream *mock_find(int32_t h)
{
    for (int i = 0; i < H.n_streams; i++)
        if (H.streams[i].handle == h)
            return &H.streams[i];
    return NULL;
}

static struct mock_stream *mock_add(const char *peer, const char *proto)
{
    struct mock_stream *s = &H.streams[H.n_streams++];
    memset(s, 0, sizeof(*s));
    s->handle = ++H.next_handle;
    snprintf(s->peer, sizeof(s->peer), "%s", peer);
    snprintf(s->proto, sizeof(s->proto), "%s", proto);
    return s;
}

int32_t fastn_stream_open(const char *peer, size_t peer_len,
                          const char *protocol, size_t protocol_len)
{
    char p[FASTN_PEER_ID_BUF], proto[64];
    if (protocol_len != strlen(PROTOCOL) ||
        memcmp(protocol, PROTOCOL, protocol_len) != 0)
        return FASTN_ERR_PLUGIN_CAPABILITY; /* not its own protocol */
    if (H.n_streams == MOCK_STREAMS || peer_len >= sizeof(p))
        return FASTN_ERR_PLUGIN_LIMIT;
    snprintf(p, sizeof(p), "%.*s", (int)peer_len, peer);
    snprintf(proto, sizeof(proto), "%.*s", (int)protocol_len, protocol);
    return mock_add(p, proto)->handle;
}

int32_t fastn_stream_write(int32_t stream, const void *data, size_t len)
{
    struct mock_stream *s = mock_find(stream);
    if (!s || s->reset)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    if (s->closed)
        return FASTN_ERR_CLOSED;
    if (s->out_len + len > sizeof(s->out))
        return FASTN_ERR_AGAIN;
    memcpy(s->out + s->out_len, data, len);
    s->out_len += len;
    return (int32_t)len;
}

int32_t fastn_stream_close(int32_t stream)
{
    struct mock_stream *s = mock_find(stream);
    if (!s || s->reset)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    s->closed = 1;
    return 0;
}

int32_t fastn_stream_reset(int32_t stream)
{
    struct mock_stream *s = mock_find(stream);
    if (!s || s->reset)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    s->reset = 1;
    return 0;
}

static int32_t copy_out(const char *src, size_t n, void *buf, size_t cap)
{
    memcpy(buf, src, n < cap ? n : cap);
    return (int32_t)n;
}

int32_t fastn_stream_peer(int32_t stream, char *buf, size_t cap)
{
    struct mock_stream *s = mock_find(stream);
    return s ? copy_out(s->peer, strlen(s->peer), buf, cap)
             : FASTN_ERR_PLUGIN_BAD_HANDLE;
}

int32_t fastn_call_reply(int32_t call, int32_t status, const void *data,
                         size_t len)
{
    if (call <= 0 || len >= sizeof(H.reply))
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    H.reply_call = call;
    H.reply_status = status;
    memcpy(H.reply, data, len);
    H.reply[len] = '\0';
    H.replies++;
    return 0;
}

int32_t fastn_sql_exec(const char *sql, size_t len)
{
    return store_pdb_exec(H.db, sql, len);
}
int32_t fastn_sql_prepare(const char *sql, size_t len)
{
    return store_pdb_prepare(H.db, sql, len);
}
int32_t fastn_sql_bind_null(int32_t st, int32_t i)
{
    return store_pdb_bind_null(H.db, st, i);
}
int32_t fastn_sql_bind_int64(int32_t st, int32_t i, int64_t v)
{
    return store_pdb_bind_int64(H.db, st, i, v);
}
int32_t fastn_sql_bind_double(int32_t st, int32_t i, double v)
{
    return store_pdb_bind_double(H.db, st, i, v);
}
int32_t fastn_sql_bind_text(int32_t st, int32_t i, const char *p, size_t n)
{
    return store_pdb_bind_text(H.db, st, i, p, n);
}
int32_t fastn_sql_bind_blob(int32_t st, int32_t i, const void *p, size_t n)
{
    return store_pdb_bind_blob(H.db, st, i, p, n);
}
int32_t fastn_sql_step(int32_t st)
{
    return store_pdb_step(H.db, st);
}
int32_t fastn_sql_reset(int32_t st)
{
    return store_pdb_reset(H.db, st);
}
int32_t fastn_sql_finalize(int32_t st)
{
    return store_pdb_finalize(H.db, st);
}
int32_t fastn_sql_column_count(int32_t st)
{
    return store_pdb_column_count(H.db, st);
}
int32_t fastn_sql_column_type(int32_t st, int32_t c)
{
    return store_pdb_column_type(H.db, st, c);
}
int64_t fastn_sql_column_int64(int32_t st, int32_t c)
{
    return store_pdb_column_int64(H.db, st, c);
}
double fastn_sql_column_double(int32_t st, int32_t c)
{
    return store_pdb_column_double(H.db, st, c);
}
int32_t fastn_sql_column_bytes(int32_t st, int32_t c, void *buf, size_t cap)
{
    const uint8_t *p;
    size_t n;
    int err = store_pdb_column_bytes(H.db, st, c, &p, &n);
    return err ? err : copy_out((const char *)p, n, buf, cap);
}
int32_t fastn_sql_changes(void)
{
    return store_pdb_changes(H.db);
}
int64_t fastn_sql_last_insert_rowid(void)
{
    return store_pdb_last_insert_rowid(H.db);
}
int32_t fastn_sql_errmsg(char *buf, size_t cap)
{
    const char *m = store_pdb_errmsg(H.db);
    return copy_out(m, strlen(m), buf, cap);
}

int32_t fastn_notify(const char *title, size_t tlen, const char *body,
                     size_t blen)
{
    if (tlen == 0 || tlen > 256 || blen > 4096)
        return FASTN_ERR_TOO_LARGE;
    /* the host's rules: no control characters but \n and \t in the body */
    for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)title[i] < 0x20)
            return FASTN_ERR_INVAL;
    for (size_t i = 0; i < blen; i++)
        if ((unsigned char)body[i] < 0x20 && body[i] != '\n' && body[i] != '\t')
            return FASTN_ERR_INVAL;
    memcpy(H.notify_title, title, tlen);
    H.notify_title[tlen] = '\0';
    memcpy(H.notify_body, body, blen);
    H.notify_body[blen] = '\0';
    H.notifies++;
    return 0;
}

int32_t fastn_timer_set(int32_t id, int64_t delay_ms)
{
    if (id < 0 || id >= 8 || delay_ms < 0)
        return FASTN_ERR_INVAL;
    H.timers[id] = delay_ms;
    return 0;
}

int32_t fastn_timer_cancel(int32_t id)
{
    if (id >= 0 && id < 8)
        H.timers[id] = -1;
    return 0;
}

int64_t fastn_now_ms(void)
{
    return H.now;
}
int64_t fastn_monotonic_ms(void)
{
    return H.mono;
}
int32_t fastn_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = ++H.rnd;
    return 0;
}
int32_t fastn_log(int32_t level, const char *msg, size_t len)
{
    fprintf(stderr, "chat log %d: %.*s\n", (int)level, (int)len, msg);
    return 0;
}
int32_t fastn_local_peer_id(char *buf, size_t cap)
{
    const char *me = "12D3KooWMeMeMeMeMeMeMeMeMeMeMeMeMeMeMeMeMeMeMeMeMeMe";
    return copy_out(me, strlen(me), buf, cap);
}

/* --- driving the plugin --- */

static const char *peer_b =
    "12D3KooWBobBobBobBobBobBobBobBobBobBobBobBobBobBobB";

/* Every event ends as the host ends it: statements reset, a transaction
 * left open rolled back. */
static void ev_end(void)
{
    CHECK_EQ(store_pdb_event_end(H.db), 0); /* chat leaves none open */
}

static void open_db(void)
{
    char dir[96];
    struct store_pdb_limits lim = {.max_statements = 16};
    snprintf(dir, sizeof(dir), "%s/data", H.dir);
    CHECK_ERR(store_pdb_open(dir, "chat", &lim, &H.db), 0);
}

static void start(void)
{
    snprintf(H.dir, sizeof(H.dir), "/tmp/fastn-chat-XXXXXX");
    if (!mkdtemp(H.dir))
        abort();
    H.now = 1700000000000;
    H.mono = 1000;
    for (int i = 0; i < 8; i++)
        H.timers[i] = -1;
    open_db();
    CHECK_ERR(on_start(), 0);
    ev_end();
    CHECK(H.timers[TIMER_RETRY] >= 0);
}

/* A new instance: the plugin's memory is gone, its database is not. */
static void restart(void)
{
    store_pdb_close(H.db);
    memset(streams, 0, sizeof(streams));
    memset(pending, 0, sizeof(pending));
    memset(stmts, 0, sizeof(stmts));
    for (int i = 0; i < 8; i++)
        H.timers[i] = -1;
    open_db();
    CHECK_ERR(on_start(), 0);
    ev_end();
}

static void finish(void)
{
    char cmd[128];
    store_pdb_close(H.db);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", H.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
}

static int32_t call(int32_t id, const char *method, const char *arg)
{
    int32_t r =
        on_call(id, method, strlen(method), (const uint8_t *)arg, strlen(arg));
    ev_end();
    return r;
}

static void data(int32_t stream, const void *p, size_t n)
{
    CHECK_ERR(on_data(stream, p, n), 0);
    ev_end();
}

static size_t frame(uint8_t *out, uint8_t type, const uint8_t *id,
                    uint64_t sent, const char *text)
{
    size_t len = ID_LEN + (type == 'M' ? 8 + strlen(text) : 0);
    out[0] = type;
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    memcpy(out + 3, id, ID_LEN);
    if (type == 'M') {
        put_be64(out + 3 + ID_LEN, sent);
        memcpy(out + 3 + ID_LEN + 8, text, strlen(text));
    }
    return 3 + len;
}

/* Reads the MSG frames a stream carried: their ids and texts. */
static int parse_out(const struct mock_stream *s, uint8_t ids[][ID_LEN],
                     char texts[][64], int max)
{
    size_t off = 0;
    int n = 0;
    while (off + 3 <= s->out_len && n < max) {
        const uint8_t *f = s->out + off;
        size_t len = ((size_t)f[1] << 8) | f[2];
        if (f[0] == 'M') {
            memcpy(ids[n], f + 3, ID_LEN);
            snprintf(texts[n], 64, "%.*s", (int)(len - ID_LEN - 8),
                     (const char *)f + 3 + ID_LEN + 8);
            n++;
        }
        off += 3 + len;
    }
    return n;
}

/* --- tests --- */

TEST(native_manifest_parses)
{
    struct plugin_manifest m;
    char err[128];
    CHECK_ERR(plugin_manifest_parse(fastn_plugin_manifest,
                                    strlen(fastn_plugin_manifest), &m, err,
                                    sizeof(err)),
              0);
    CHECK_STR(m.name, "chat");
    CHECK(plugin_manifest_has_protocol(&m, PROTOCOL));
}

TEST(send_delivered)
{
    uint8_t ids[4][ID_LEN], ack[32];
    char texts[4][64];
    start();
    CHECK_ERR(call(7, "send",
                   "12D3KooWBobBobBobBobBobBobBobBobBobBobBobBobBobBobB"
                   " hello bob"),
              0);
    CHECK_EQ(H.replies, 0); /* waits for the ACK */
    CHECK_EQ(H.n_streams, 1);
    struct mock_stream *s = &H.streams[0];
    CHECK_STR(s->peer, peer_b);
    CHECK_STR(s->proto, PROTOCOL);
    CHECK_EQ(s->out_len, 0); /* nothing before on_open */
    CHECK_ERR(on_open(s->handle, 0), 0);
    ev_end();
    CHECK_EQ(parse_out(s, ids, texts, 4), 1);
    CHECK_STR(texts[0], "hello bob");
    data(s->handle, ack, frame(ack, 'A', ids[0], 0, ""));
    CHECK_EQ(H.replies, 1);
    CHECK_EQ(H.reply_call, 7);
    CHECK_EQ(H.reply_status, 0);
    CHECK(strncmp(H.reply, "delivered ", 10) == 0);
    CHECK(s->closed); /* all acknowledged: our side is done */
    CHECK_ERR(call(8, "log", ""), 0);
    CHECK(strstr(H.reply, "-> 12D3KooWBob") && strstr(H.reply, "hello bob") &&
          strstr(H.reply, "[delivered]"));
    /* nothing left to retry */
    H.now += 3600 * 1000;
    CHECK_ERR(on_timer(TIMER_RETRY), 0);
    ev_end();
    CHECK_EQ(H.n_streams, 1);
    finish();
}

TEST(send_offline_queued_then_delivered_after_restart)
{
    uint8_t ids[4][ID_LEN], ack[32];
    char texts[4][64];
    start();
    CHECK_ERR(call(1, "send",
                   "12D3KooWBobBobBobBobBobBobBobBobBobBobBobBobBobBobB"
                   " are you there?"),
              0);
    CHECK_ERR(on_open(H.streams[0].handle, FASTN_ERR_NET_UNREACHABLE), 0);
    ev_end();
    CHECK_EQ(H.replies, 1);
    CHECK(strncmp(H.reply, "queued ", 7) == 0);
    CHECK(strstr(H.reply, "not reachable") != NULL);
    CHECK(H.timers[TIMER_RETRY] >= 1000); /* a retry is armed */
    /* a second message while offline */
    CHECK_ERR(call(2, "send",
                   "12D3KooWBobBobBobBobBobBobBobBobBobBobBobBobBobBobB"
                   " second"),
              0);
    CHECK_ERR(on_open(H.streams[1].handle, FASTN_ERR_NET_UNREACHABLE), 0);
    ev_end();

    /* the daemon restarts; later the retry finds the peer */
    restart();
    H.now += 10 * 60 * 1000;
    H.mono += 10 * 60 * 1000;
    CHECK_ERR(on_timer(TIMER_RETRY), 0);
    ev_end();
    CHECK_EQ(H.n_streams, 3);
    struct mock_stream *s = &H.streams[2];
    CHECK_ERR(on_open(s->handle, 0), 0);
    ev_end();
    CHECK_EQ(parse_out(s, ids, texts, 4), 2);
    CHECK_STR(texts[0], "are you there?");
    CHECK_STR(texts[1], "second");
    data(s->handle, ack, frame(ack, 'A', ids[0], 0, ""));
    CHECK(!s->closed); /* one still in flight */
    data(s->handle, ack, frame(ack, 'A', ids[1], 0, ""));
    CHECK(s->closed);
    CHECK_ERR(call(3, "log", peer_b), 0);
    CHECK(!strstr(H.reply, "[queued]"));
    CHECK(strstr(H.reply, "second  [delivered]") != NULL);
    finish();
}

TEST(receive_stores_notifies_acks_once)
{
    uint8_t id[ID_LEN], f[128];
    memset(id, 0x42, sizeof(id));
    start();
    CHECK_ERR(
        on_stream(101, peer_b, strlen(peer_b), PROTOCOL, strlen(PROTOCOL)), 0);
    ev_end();
    H.streams[H.n_streams] = (struct mock_stream){.handle = 101};
    strcpy(H.streams[H.n_streams++].peer, peer_b);
    size_t n = frame(f, 'M', id, 1234, "hi\nthere\x01");
    data(101, f, 5); /* split across two events */
    CHECK_EQ(H.notifies, 0);
    data(101, f + 5, n - 5);
    CHECK_EQ(H.notifies, 1);
    CHECK(strstr(H.notify_title, "Message from 12D3KooW") != NULL);
    CHECK_STR(H.notify_body, "hi\nthere?"); /* the control char replaced */
    struct mock_stream *s = mock_find(101);
    CHECK_EQ(s->out_len, 3 + ID_LEN);
    CHECK(s->out[0] == 'A' && memcmp(s->out + 3, id, ID_LEN) == 0);

    /* the same message again (a lost ACK, a restart): ACK, no repeat */
    restart();
    CHECK_ERR(
        on_stream(102, peer_b, strlen(peer_b), PROTOCOL, strlen(PROTOCOL)), 0);
    H.streams[H.n_streams] = (struct mock_stream){.handle = 102};
    strcpy(H.streams[H.n_streams++].peer, peer_b);
    data(102, f, n);
    CHECK_EQ(H.notifies, 1);
    CHECK_EQ(mock_find(102)->out_len, 3 + ID_LEN);
    CHECK_ERR(on_close(102, FASTN_CLOSE_EOF), 0);
    ev_end();
    CHECK(mock_find(102)->closed);
    CHECK_ERR(call(4, "log", ""), 0);
    CHECK(strstr(H.reply, "<- 12D3KooWBob") != NULL);
    CHECK(strstr(H.reply, "2023-11-14 22:13:20") != NULL); /* stored time */
    char *second = strstr(H.reply, "<-");
    CHECK(second && !strstr(second + 2, "<-")); /* one line */
    finish();
}

TEST(bad_frames_reset_the_stream)
{
    uint8_t f[8] = {'X', 0, 1, 0};
    start();
    CHECK_ERR(
        on_stream(200, peer_b, strlen(peer_b), PROTOCOL, strlen(PROTOCOL)), 0);
    H.streams[H.n_streams] = (struct mock_stream){.handle = 200};
    strcpy(H.streams[H.n_streams++].peer, peer_b);
    data(200, f, 4);
    CHECK(mock_find(200)->reset);
    /* a MSG too short to hold its id */
    CHECK_ERR(
        on_stream(201, peer_b, strlen(peer_b), PROTOCOL, strlen(PROTOCOL)), 0);
    H.streams[H.n_streams] = (struct mock_stream){.handle = 201};
    strcpy(H.streams[H.n_streams++].peer, peer_b);
    uint8_t shortmsg[5] = {'M', 0, 2, 1, 2};
    data(201, shortmsg, sizeof(shortmsg));
    CHECK(mock_find(201)->reset);
    CHECK_EQ(H.notifies, 0);
    /* a peer that is not a PeerID is refused */
    CHECK(on_stream(202, "x y", 3, PROTOCOL, strlen(PROTOCOL)) < 0);
    finish();
}

TEST(bad_calls)
{
    start();
    CHECK_ERR(call(1, "send", ""), 0);
    CHECK_EQ(H.reply_status, FASTN_ERR_INVAL);
    CHECK_ERR(call(2, "send", "12D3KooWBobBobBobBobBobBobBobBobBob"), 0);
    CHECK_EQ(H.reply_status, FASTN_ERR_INVAL);
    CHECK_ERR(call(3, "send", "not/a/peer hello"), 0);
    CHECK_EQ(H.reply_status, FASTN_ERR_BAD_PEER_ID);
    CHECK_ERR(call(4, "log", "0OIl"), 0);
    CHECK_EQ(H.reply_status, FASTN_ERR_BAD_PEER_ID);
    CHECK_ERR(call(5, "frobnicate", ""), 0);
    CHECK_EQ(H.reply_status, FASTN_ERR_NOT_FOUND);
    CHECK_EQ(H.n_streams, 0);
    finish();
}

/* A peer that stops answering: its stream is reset after the stall time
 * and the message goes out again on a new stream (and is stored once by
 * the receiver, which de-duplicates by id). */
TEST(stalled_stream_is_retried)
{
    uint8_t ids[4][ID_LEN];
    char texts[4][64];
    start();
    CHECK_ERR(call(1, "send",
                   "12D3KooWBobBobBobBobBobBobBobBobBobBobBobBobBobBobB"
                   " ping"),
              0);
    CHECK_ERR(on_open(H.streams[0].handle, 0), 0);
    ev_end();
    CHECK_EQ(parse_out(&H.streams[0], ids, texts, 4), 1);
    H.mono += 4000;
    CHECK_ERR(on_timer(TIMER_REPLIES), 0);
    ev_end();
    CHECK(strncmp(H.reply, "queued", 6) == 0);
    H.mono += STALL_MS;
    H.now += STALL_MS;
    CHECK_ERR(on_timer(TIMER_RETRY), 0);
    ev_end();
    CHECK(H.streams[0].reset);
    CHECK_EQ(H.n_streams, 2);
    CHECK_ERR(on_open(H.streams[1].handle, 0), 0);
    ev_end();
    uint8_t ids2[4][ID_LEN];
    CHECK_EQ(parse_out(&H.streams[1], ids2, texts, 4), 1);
    CHECK(memcmp(ids[0], ids2[0], ID_LEN) == 0); /* the same message */
    finish();
}

int main(void)
{
    RUN(native_manifest_parses);
    RUN(send_delivered);
    RUN(send_offline_queued_then_delivered_after_restart);
    RUN(receive_stores_notifies_acks_once);
    RUN(bad_frames_reset_the_stream);
    RUN(bad_calls);
    RUN(stalled_stream_is_retried);
    return test_done();
}
