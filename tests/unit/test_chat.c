/* Unit tests for plugins/chat: the built chat.wasm run by real plugin
 * hosts (src/plugin) on two (or three) nodes, each with its own home,
 * database and state.sqlite, joined by the in-memory network of
 * host_harness.h. Delivery both ways, the receiver's notification, the
 * sender's acknowledgement, offline delivery after the peer starts,
 * restarts of either side, a lost acknowledgement (no duplicate shown),
 * and bad frames from a peer. Two real daemons over real libp2p streams
 * are tested in tests/integration/chat.sh. */
#include "host_harness.h"
#include "test.h"

#define PROTO "/fastn/chat/1.0.0"

static char err[256];

static struct th_node *chat_node(int i)
{
    struct th_node *n = th_start_node(i, 0);
    if (plugin_host_load_all(n->h) == 0)
        CHECK_ERR(th_install(n, "plugins/chat.wasm", err, sizeof(err)), 0);
    th_pump(1000);
    return n;
}

static struct th_reply *send_msg(struct th_node *from, struct th_node *to,
                                 const char *text, uint64_t id)
{
    char arg[512];
    snprintf(arg, sizeof(arg), "%s %s", to->peer_id, text);
    return th_call(from, "chat", "send", arg, id);
}

static struct th_reply *chat_log(struct th_node *n, uint64_t id)
{
    return th_call(n, "chat", "log", "", id);
}

static int count(const char *hay, const char *needle)
{
    int c = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        c++;
    return c;
}

static int notifications(struct th_node *n)
{
    return store_notify_unread_count(n->state, "chat");
}

TEST(manifest)
{
    size_t len;
    uint8_t *wasm = th_read_built("plugins/chat.wasm", &len);
    struct plugin_manifest m;
    char e[128];
    CHECK_ERR(plugin_manifest_from_wasm(wasm, len, &m, e, sizeof(e)), 0);
    CHECK_STR(m.name, "chat");
    CHECK(plugin_manifest_has_protocol(&m, PROTO));
    CHECK_EQ(m.caps, PLUGIN_CAPS_ALL);
    free(wasm);
}

TEST(send_both_ways)
{
    th_init_time();
    struct th_node *a = chat_node(0), *b = chat_node(1);
    struct th_reply *r;

    r = send_msg(a, b, "hello bob", 1);
    CHECK(r && r->status == 0 && strncmp(r->data, "delivered ", 10) == 0);
    /* stored on both sides, one notification on the receiver */
    r = chat_log(b, 2);
    CHECK(r && strstr(r->data, "<- ") && strstr(r->data, a->peer_id) &&
          strstr(r->data, "hello bob"));
    CHECK_EQ(notifications(b), 1);
    CHECK_EQ(notifications(a), 0);
    struct store_notification *v = NULL;
    size_t n = 0;
    CHECK_ERR(store_notify_list(b->state, NULL, &v, &n), 0);
    CHECK(n == 1 && strncmp(v[0].title, "Message from 12D3KooW", 21) == 0 &&
          strcmp(v[0].body, "hello bob") == 0 &&
          strcmp(v[0].source, "chat") == 0);
    store_notifications_free(v, n);
    r = chat_log(a, 3);
    CHECK(r && strstr(r->data, "-> ") && strstr(r->data, "[delivered]"));
    /* and back */
    r = send_msg(b, a, "hi alice", 4);
    CHECK(r && r->status == 0 && strncmp(r->data, "delivered ", 10) == 0);
    CHECK_EQ(notifications(a), 1);
    r = chat_log(a, 5);
    CHECK(r && count(r->data, "\n") == 2 && strstr(r->data, "hi alice"));
    /* the log of one peer */
    r = th_call(a, "chat", "log", b->peer_id, 6);
    CHECK(r && r->status == 0 && count(r->data, "\n") == 2);
    /* nothing left open */
    th_advance(60000);
    struct plugin_info info;
    CHECK_ERR(plugin_host_info(a->h, "chat", &info), 0);
    CHECK_EQ(info.open_streams, 0);
    CHECK_EQ(info.last_error, 0);
    th_cleanup();
}

/* `fastn plugin call chat send PEER TEXT`: two arguments, NUL-separated
 * (docs/PLUGIN-ABI.md, "Call arguments"), TEXT keeps its spaces. */
TEST(send_as_two_arguments)
{
    th_init_time();
    struct th_node *a = chat_node(0), *b = chat_node(1);
    char arg[256];
    int n = snprintf(arg, sizeof(arg), "%s%c%s", b->peer_id, '\0',
                     "two  spaced words");

    CHECK_ERR(plugin_host_call(a->h, "chat", "send", 4, (const uint8_t *)arg,
                               (size_t)n, 1),
              0);
    th_pump(100000);
    struct th_reply *r = th_reply_for(a, 1);
    CHECK(r && r->status == 0 && strncmp(r->data, "delivered ", 10) == 0);
    r = chat_log(b, 2);
    CHECK(r && strstr(r->data, a->peer_id) &&
          strstr(r->data, "two  spaced words"));
    /* three arguments are not PEER TEXT */
    n = snprintf(arg, sizeof(arg), "%s%cx%cy", b->peer_id, '\0', '\0');
    CHECK_ERR(plugin_host_call(a->h, "chat", "send", 4, (const uint8_t *)arg,
                               (size_t)n, 3),
              0);
    th_pump(100000);
    r = th_reply_for(a, 3);
    CHECK(r && r->status == FASTN_ERR_INVAL);
    th_cleanup();
}

TEST(offline_delivery_after_the_peer_starts)
{
    th_init_time();
    struct th_node *a = chat_node(0), *b = chat_node(1);
    struct th_reply *r;

    th_stop_node(b); /* b is offline */
    r = send_msg(a, b, "are you there?", 1);
    CHECK(r && r->status == 0 && strncmp(r->data, "queued ", 7) == 0 &&
          strstr(r->data, "not reachable"));
    r = send_msg(a, b, "second", 2);
    CHECK(r && strncmp(r->data, "queued ", 7) == 0);
    r = chat_log(a, 3);
    CHECK(r && count(r->data, "[queued]") == 2);
    /* a restarts meanwhile: the outbox survives in its database */
    th_stop_node(a);
    a = chat_node(0);
    th_advance(30000);
    /* b comes back; a's retry finds it */
    b = chat_node(1);
    for (int i = 0; i < 20 && notifications(b) < 2; i++)
        th_advance(60000);
    CHECK_EQ(notifications(b), 2);
    r = chat_log(b, 4);
    CHECK(r && strstr(r->data, "are you there?") && strstr(r->data, "second"));
    CHECK(r && count(r->data, "\n") == 2);
    r = chat_log(a, 5);
    CHECK(r && count(r->data, "[delivered]") == 2 &&
          count(r->data, "[queued]") == 0);
    th_cleanup();
}

TEST(lost_ack_is_not_a_duplicate)
{
    th_init_time();
    struct th_node *a = chat_node(0), *b = chat_node(1);
    struct th_reply *r;

    char arg[256];
    snprintf(arg, sizeof(arg), "%s only once", b->peer_id);
    CHECK_ERR(plugin_host_call(a->h, "chat", "send", 4, (const uint8_t *)arg,
                               strlen(arg), 2),
              0);
    /* step until b has stored the message, then b dies with its ACK
     * still in flight (lost), as a kill -9 would lose it */
    /* (checked after each node's run, before the bytes it wrote move:
     * b's ACK must not reach a before it is dropped) */
    for (int i = 0; i < 1000 && notifications(b) == 0; i++) {
        for (int k = 0; k < TH_NODES && notifications(b) == 0; k++)
            if (TH.nodes[k].h && TH.nodes[k].online)
                plugin_host_run(TH.nodes[k].h, TH.now, TH.mono, 1);
        if (notifications(b))
            break;
        for (int j = 0; j < TH_STREAMS; j++) {
            if (!TH.streams[j].used)
                continue;
            th_deliver_open(&TH.streams[j]);
            th_deliver_end(&TH.streams[j], 0);
            th_deliver_end(&TH.streams[j], 1);
        }
    }
    CHECK_EQ(notifications(b), 1);
    for (int i = 0; i < TH_STREAMS; i++)
        if (TH.streams[i].used) {
            TH.streams[i].end[0].in_len = 0; /* the ACK is lost */
            TH.streams[i].end[1].in_len = 0;
        }
    th_stop_node(b);
    th_advance(3500); /* the sender answers "queued" after 3 s */
    r = th_reply_for(a, 2);
    if (!r || strncmp(r->data, "queued ", 7) != 0)
        fprintf(stderr, "send's reply: %s (%d)\n", r ? r->data : "none",
                r ? r->status : 0);
    CHECK(r && strncmp(r->data, "queued ", 7) == 0);
    b = chat_node(1);
    for (int i = 0; i < 20; i++)
        th_advance(60000);
    r = chat_log(a, 3);
    CHECK(r && count(r->data, "[delivered]") == 1);
    r = chat_log(b, 4);
    CHECK(r && count(r->data, "only once") == 1);
    CHECK_EQ(notifications(b), 1);
    th_cleanup();
}

TEST(bad_frames_reset_the_stream)
{
    th_init_time();
    struct th_node *b = chat_node(1);
    uint8_t junk[4] = {'X', 0, 1, 0};
    struct th_stream *s = th_raw_open(b, PROTO);

    th_pump(1000);
    CHECK_ERR(s->open_result, 0);
    th_raw_write(s, junk, sizeof(junk));
    th_pump(1000);
    CHECK(s->end[0].reset_pending);
    /* a MSG too short to hold its id */
    s = th_raw_open(b, PROTO);
    th_pump(1000);
    uint8_t shortmsg[5] = {'M', 0, 2, 1, 2};
    th_raw_write(s, shortmsg, sizeof(shortmsg));
    th_pump(1000);
    CHECK(s->end[0].reset_pending);
    CHECK_EQ(notifications(b), 0);
    /* a good frame, split across writes, is stored and acknowledged */
    s = th_raw_open(b, PROTO);
    th_pump(1000);
    uint8_t f[64] = {'M', 0, 16 + 8 + 2};
    memset(f + 3, 0x42, 16);
    memcpy(f + 3 + 16 + 8, "hi", 2);
    th_raw_write(s, f, 5);
    th_pump(1000);
    th_raw_write(s, f + 5, 3 + 16 + 8 + 2 - 5);
    th_pump(1000);
    CHECK_EQ(notifications(b), 1);
    CHECK_EQ(s->end[0].in_len, 3 + 16);
    CHECK(s->end[0].inbox[0] == 'A');
    struct plugin_info info;
    CHECK_ERR(plugin_host_info(b->h, "chat", &info), 0);
    CHECK_EQ(info.last_error, 0);
    th_cleanup();
}

TEST(bad_calls)
{
    th_init_time();
    struct th_node *a = chat_node(0);
    struct th_reply *r;

    r = th_call(a, "chat", "send", "", 1);
    CHECK(r && r->status == FASTN_ERR_INVAL);
    r = th_call(a, "chat", "send", "12D3KooWBobBobBob", 2);
    CHECK(r && r->status == FASTN_ERR_INVAL);
    r = th_call(a, "chat", "send", "not/a/peer hello", 3);
    CHECK(r && r->status == FASTN_ERR_BAD_PEER_ID);
    r = th_call(a, "chat", "log", "0OIl", 4);
    CHECK(r && r->status == FASTN_ERR_BAD_PEER_ID);
    r = th_call(a, "chat", "frobnicate", "", 5);
    CHECK(r && r->status == FASTN_ERR_NOT_FOUND);
    CHECK_EQ(a->opens, 0);
    th_cleanup();
}

int main(void)
{
    size_t len;
    uint8_t *wasm = th_read_built("plugins/chat.wasm", &len);
    if (!wasm) {
        printf("skipped: plugins not built (no wasm32-wasi toolchain; "
               "run scripts/install-deps.sh all)\n");
        return 77;
    }
    free(wasm);
    RUN(manifest);
    RUN(send_both_ways);
    RUN(send_as_two_arguments);
    RUN(offline_delivery_after_the_peer_starts);
    RUN(lost_ack_is_not_a_duplicate);
    RUN(bad_frames_reset_the_stream);
    RUN(bad_calls);
    return test_done();
}
