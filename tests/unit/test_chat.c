/* Unit tests for plugins/chat: the built chat.wasm run by real plugin
 * hosts on two nodes, each with its own home, database and state.sqlite,
 * through the plugin test library (include/fastn/plugin_test.h), as a
 * plugin author's test would. Delivery both ways, the receiver's
 * notification, the sender's acknowledgement, offline delivery after the
 * peer starts, restarts of either side, a lost acknowledgement (no
 * duplicate shown), and bad frames from a peer. Two real daemons over
 * real libp2p streams are tested in tests/integration/chat.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/plugin_test.h"
#include "plugin/manifest.h"
#include "test.h"
#include "util/file.h"

#define PROTO "/fastn/chat/1.0.0"

static char err[256];
static char wasm_path[512];
static struct fastn_test *T;

/* Node "a" or "b": new, or started again from its home after a stop. */
static struct fastn_test_node *chat_node(const char *name)
{
    struct fastn_test_node *n = fastn_test_node_get(T, name);
    if (n) {
        CHECK_ERR(fastn_test_node_start(n), 0);
    } else {
        CHECK_ERR(fastn_test_node_new(T, name, NULL, &n), 0);
        CHECK_ERR(fastn_test_install_file(n, wasm_path, false, NULL, err,
                                          sizeof(err)),
                  0);
    }
    fastn_test_run(T);
    return n;
}

static const char *reply_text(const struct fastn_test_reply *r)
{
    return r->data;
}

static const struct fastn_test_reply *call(struct fastn_test_node *n,
                                           const char *method, const char *arg)
{
    const struct fastn_test_reply *r = NULL;
    int rc = fastn_test_call(n, "chat", method, arg, strlen(arg), &r);
    return rc ? NULL : r;
}

static const struct fastn_test_reply *send_msg(struct fastn_test_node *from,
                                               struct fastn_test_node *to,
                                               const char *text)
{
    char arg[512];
    snprintf(arg, sizeof(arg), "%s %s", fastn_test_node_peer_id(to), text);
    return call(from, "send", arg);
}

static const struct fastn_test_reply *chat_log(struct fastn_test_node *n)
{
    return call(n, "log", "");
}

static int count(const char *hay, const char *needle)
{
    int c = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        c++;
    return c;
}

static int notifications(struct fastn_test_node *n)
{
    return fastn_test_notify_count(n, "chat");
}

static void start(void)
{
    T = fastn_test_new();
}

static void finish(void)
{
    fastn_test_free(T);
    T = NULL;
}

TEST(manifest)
{
    size_t len;
    uint8_t *wasm = NULL;
    struct plugin_manifest m;
    CHECK_ERR(file_read_all(wasm_path, 64u << 20, &wasm, &len), 0);
    char e[128];
    CHECK_ERR(plugin_manifest_from_wasm(wasm, len, &m, e, sizeof(e)), 0);
    CHECK_STR(m.name, "chat");
    CHECK(plugin_manifest_has_protocol(&m, PROTO));
    CHECK_EQ(m.caps, PLUGIN_CAP_STREAMS | PLUGIN_CAP_STORAGE |
                         PLUGIN_CAP_NOTIFY | PLUGIN_CAP_TIMERS);
    free(wasm);
}

TEST(send_both_ways)
{
    start();
    struct fastn_test_node *a = chat_node("a"), *b = chat_node("b");
    const struct fastn_test_reply *r;

    r = send_msg(a, b, "hello bob");
    CHECK(r && r->status == 0 && strncmp(reply_text(r), "delivered ", 10) == 0);
    /* stored on both sides, one notification on the receiver */
    r = chat_log(b);
    CHECK(r && strstr(reply_text(r), "<- ") &&
          strstr(reply_text(r), fastn_test_node_peer_id(a)) &&
          strstr(reply_text(r), "hello bob"));
    CHECK_EQ(notifications(b), 1);
    CHECK_EQ(notifications(a), 0);
    char *title = NULL, *body = NULL;
    CHECK_ERR(fastn_test_notify_get(b, "chat", 0, &title, &body), 0);
    CHECK(title && strncmp(title, "Message from 12D3KooW", 21) == 0 &&
          strcmp(body, "hello bob") == 0);
    free(title);
    free(body);
    CHECK_ERR(fastn_test_notify_get(b, "chat", 1, &title, &body),
              FASTN_ERR_NOT_FOUND);
    r = chat_log(a);
    CHECK(r && strstr(reply_text(r), "-> ") &&
          strstr(reply_text(r), "[delivered]"));
    /* and back */
    r = send_msg(b, a, "hi alice");
    CHECK(r && r->status == 0 && strncmp(reply_text(r), "delivered ", 10) == 0);
    CHECK_EQ(notifications(a), 1);
    r = chat_log(a);
    CHECK(r && count(reply_text(r), "\n") == 2 &&
          strstr(reply_text(r), "hi alice"));
    /* the log of one peer */
    r = call(a, "log", fastn_test_node_peer_id(b));
    CHECK(r && r->status == 0 && count(reply_text(r), "\n") == 2);
    /* nothing left open */
    fastn_test_advance(T, 60000);
    struct fastn_test_info info;
    CHECK_ERR(fastn_test_info(a, "chat", &info), 0);
    CHECK_EQ(info.open_streams, 0);
    CHECK_EQ(info.last_error, 0);
    finish();
}

/* `fastn plugin call chat send PEER TEXT`: two arguments, NUL-separated
 * (docs/PLUGIN-ABI.md, "Call arguments"), TEXT keeps its spaces. */
TEST(send_as_two_arguments)
{
    start();
    struct fastn_test_node *a = chat_node("a"), *b = chat_node("b");
    const struct fastn_test_reply *r = NULL;
    const char *two[] = {fastn_test_node_peer_id(b), "two  spaced words"};

    CHECK_ERR(fastn_test_call_args(a, "chat", "send", two, 2, &r), 0);
    CHECK(r && r->status == 0 && strncmp(reply_text(r), "delivered ", 10) == 0);
    r = chat_log(b);
    CHECK(r && strstr(reply_text(r), fastn_test_node_peer_id(a)) &&
          strstr(reply_text(r), "two  spaced words"));
    /* three arguments are not PEER TEXT */
    const char *three[] = {fastn_test_node_peer_id(b), "x", "y"};
    CHECK_ERR(fastn_test_call_args(a, "chat", "send", three, 3, &r), 0);
    CHECK(r && r->status == FASTN_ERR_INVAL);
    finish();
}

TEST(offline_delivery_after_the_peer_starts)
{
    start();
    struct fastn_test_node *a = chat_node("a"), *b = chat_node("b");
    const struct fastn_test_reply *r;

    fastn_test_node_stop(b); /* b is offline */
    r = send_msg(a, b, "are you there?");
    CHECK(r && r->status == 0 && strncmp(reply_text(r), "queued ", 7) == 0 &&
          strstr(reply_text(r), "not reachable"));
    r = send_msg(a, b, "second");
    CHECK(r && strncmp(reply_text(r), "queued ", 7) == 0);
    r = chat_log(a);
    CHECK(r && count(reply_text(r), "[queued]") == 2);
    /* a restarts meanwhile: the outbox survives in its database */
    fastn_test_node_stop(a);
    a = chat_node("a");
    fastn_test_advance(T, 30000);
    /* b comes back; a's retry finds it */
    b = chat_node("b");
    for (int i = 0; i < 20 && notifications(b) < 2; i++)
        fastn_test_advance(T, 60000);
    CHECK_EQ(notifications(b), 2);
    r = chat_log(b);
    CHECK(r && strstr(reply_text(r), "are you there?") &&
          strstr(reply_text(r), "second"));
    CHECK(r && count(reply_text(r), "\n") == 2);
    r = chat_log(a);
    CHECK(r && count(reply_text(r), "[delivered]") == 2 &&
          count(reply_text(r), "[queued]") == 0);
    finish();
}

TEST(lost_ack_is_not_a_duplicate)
{
    start();
    struct fastn_test_node *a = chat_node("a"), *b = chat_node("b");
    const struct fastn_test_reply *r;

    char arg[256];
    snprintf(arg, sizeof(arg), "%s only once", fastn_test_node_peer_id(b));
    uint64_t id = 0;
    CHECK_ERR(fastn_test_call_start(a, "chat", "send", arg, strlen(arg), &id),
              0);
    /* step until b has stored the message, then b dies with its ACK
     * still in flight (lost), as a kill -9 would lose it */
    /* (checked after each node's run, before the bytes it wrote move:
     * b's ACK must not reach a before it is dropped) */
    for (int i = 0; i < 1000 && notifications(b) == 0; i++) {
        fastn_test_node_run(a);
        if (notifications(b))
            break;
        fastn_test_node_run(b);
        if (notifications(b))
            break;
        fastn_test_deliver(T);
    }
    CHECK_EQ(notifications(b), 1);
    fastn_test_drop_in_flight(T); /* the ACK is lost */
    fastn_test_node_stop(b);
    fastn_test_advance(T, 3500); /* the sender answers "queued" after 3 s */
    r = fastn_test_reply_get(a, id);
    if (!r || strncmp(reply_text(r), "queued ", 7) != 0)
        fprintf(stderr, "send's reply: %s (%d)\n", r ? reply_text(r) : "none",
                r ? r->status : 0);
    CHECK(r && strncmp(reply_text(r), "queued ", 7) == 0);
    b = chat_node("b");
    for (int i = 0; i < 20; i++)
        fastn_test_advance(T, 60000);
    r = chat_log(a);
    CHECK(r && count(reply_text(r), "[delivered]") == 1);
    r = chat_log(b);
    CHECK(r && count(reply_text(r), "only once") == 1);
    CHECK_EQ(notifications(b), 1);
    finish();
}

TEST(bad_frames_reset_the_stream)
{
    start();
    struct fastn_test_node *b = chat_node("b");
    uint8_t junk[4] = {'X', 0, 1, 0};
    struct fastn_test_stream *s = fastn_test_stream_open(b, NULL, PROTO);
    uint8_t ack[64];

    fastn_test_run(T);
    CHECK_ERR(fastn_test_stream_result(s), 0);
    CHECK_ERR(fastn_test_stream_write(s, junk, sizeof(junk)), 0);
    fastn_test_run(T);
    CHECK(fastn_test_stream_was_reset(s));
    /* a MSG too short to hold its id */
    s = fastn_test_stream_open(b, NULL, PROTO);
    fastn_test_run(T);
    uint8_t shortmsg[5] = {'M', 0, 2, 1, 2};
    CHECK_ERR(fastn_test_stream_write(s, shortmsg, sizeof(shortmsg)), 0);
    fastn_test_run(T);
    CHECK(fastn_test_stream_was_reset(s));
    CHECK_EQ(notifications(b), 0);
    /* a good frame, split across writes, is stored and acknowledged */
    s = fastn_test_stream_open(b, NULL, PROTO);
    fastn_test_run(T);
    uint8_t f[64] = {'M', 0, 16 + 8 + 2};
    memset(f + 3, 0x42, 16);
    memcpy(f + 3 + 16 + 8, "hi", 2);
    CHECK_ERR(fastn_test_stream_write(s, f, 5), 0);
    fastn_test_run(T);
    CHECK_ERR(fastn_test_stream_write(s, f + 5, 3 + 16 + 8 + 2 - 5), 0);
    fastn_test_run(T);
    CHECK_EQ(notifications(b), 1);
    CHECK_EQ(fastn_test_stream_read(s, ack, sizeof(ack)), 3 + 16);
    CHECK(ack[0] == 'A');
    struct fastn_test_info info;
    CHECK_ERR(fastn_test_info(b, "chat", &info), 0);
    CHECK_EQ(info.last_error, 0);
    finish();
}

TEST(bad_calls)
{
    start();
    struct fastn_test_node *a = chat_node("a");
    const struct fastn_test_reply *r;

    r = call(a, "send", "");
    CHECK(r && r->status == FASTN_ERR_INVAL);
    r = call(a, "send", "12D3KooWBobBobBob");
    CHECK(r && r->status == FASTN_ERR_INVAL);
    r = call(a, "send", "not/a/peer hello");
    CHECK(r && r->status == FASTN_ERR_BAD_PEER_ID);
    r = call(a, "log", "0OIl");
    CHECK(r && r->status == FASTN_ERR_BAD_PEER_ID);
    r = call(a, "frobnicate", "");
    CHECK(r && r->status == FASTN_ERR_NOT_FOUND);
    /* none of them opened a stream */
    struct fastn_test_info info;
    CHECK_ERR(fastn_test_info(a, "chat", &info), 0);
    CHECK_EQ(info.open_streams, 0);
    finish();
}

int main(void)
{
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    FILE *f;

    snprintf(wasm_path, sizeof(wasm_path), "%s/%s/plugins/chat.wasm",
             top ? top : ".", build ? build : "build");
    if (!(f = fopen(wasm_path, "rb"))) {
        printf("skipped: plugins not built (no wasm32-wasi toolchain; "
               "run scripts/install-deps.sh all)\n");
        return 77;
    }
    fclose(f);
    RUN(manifest);
    RUN(send_both_ways);
    RUN(send_as_two_arguments);
    RUN(offline_delivery_after_the_peer_starts);
    RUN(lost_ack_is_not_a_duplicate);
    RUN(bad_frames_reset_the_stream);
    RUN(bad_calls);
    return test_done();
}
