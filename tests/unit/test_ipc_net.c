/* Unit tests for the control requests that use the network
 * (src/ipc/req_peer.c, req_stream.c, req_call.c and the deferred answers
 * in session.c): sessions fed directly, with real swarms and routers on
 * one libuv loop. CONNECT is answered later but in order (a pipelined
 * IDENTIFY waits for it); one-shot calls answer as they complete,
 * matched by call_id; a reply over max_reply is refused; STREAM_OPEN hands
 * the socket over with the bytes the client sent after its request; the
 * handler requests' errors; a session that goes away with requests
 * pending cancels them. */
#include <sys/socket.h>

#include "net_harness.h"

/* In-process handlers on A: /echo (echo, then close) and /slow (answers
 * "slow" 300 ms after the peer finished). */
struct echo_state {
    uint8_t buf[1 << 16];
    size_t len;
};

static void echo_cb(struct swarm_stream *s, const struct swarm_stream_event *ev,
                    void *arg)
{
    struct echo_state *e = arg;
    switch (ev->type) {
    case SWARM_STREAM_DATA:
        swarm_stream_write(s, ev->data, ev->len);
        swarm_stream_consumed(s, ev->len);
        break;
    case SWARM_STREAM_FIN:
        swarm_stream_close(s);
        break;
    case SWARM_STREAM_CLOSED:
        free(e);
        break;
    default:
        break;
    }
}

static int echo_on_stream(void *arg, struct swarm_stream *s)
{
    (void)arg;
    swarm_stream_set_cb(s, echo_cb, calloc(1, sizeof(struct echo_state)));
    return 0;
}

struct slow {
    uv_timer_t t;
    struct swarm_stream *s;
};

static void slow_fire(uv_timer_t *t)
{
    struct slow *sl = t->data;
    swarm_stream_write(sl->s, (const uint8_t *)"slow", 4);
    swarm_stream_close(sl->s);
}

static void slow_cb(struct swarm_stream *s, const struct swarm_stream_event *ev,
                    void *arg)
{
    struct slow *sl = arg;
    switch (ev->type) {
    case SWARM_STREAM_DATA:
        swarm_stream_consumed(s, ev->len);
        break;
    case SWARM_STREAM_FIN:
        uv_timer_start(&sl->t, slow_fire, 300, 0);
        break;
    case SWARM_STREAM_CLOSED:
        uv_close((uv_handle_t *)&sl->t, (uv_close_cb)free);
        break;
    default:
        break;
    }
}

static int slow_on_stream(void *arg, struct swarm_stream *s)
{
    struct slow *sl = calloc(1, sizeof(*sl));
    (void)arg;
    uv_timer_init(&nh_loop, &sl->t);
    sl->t.data = sl;
    sl->s = s;
    swarm_stream_set_cb(s, slow_cb, sl);
    return 0;
}

static void noop_cb(struct swarm_stream *s, const struct swarm_stream_event *ev,
                    void *arg)
{
    (void)s;
    (void)ev;
    (void)arg;
}

/* Takes the stream and resets it at once. */
static int reset_on_stream(void *arg, struct swarm_stream *s)
{
    (void)arg;
    swarm_stream_set_cb(s, noop_cb, NULL);
    swarm_stream_reset(s);
    return 0;
}

static const struct router_handler_ops reset_ops = {reset_on_stream};
static const struct router_handler_ops echo_ops = {echo_on_stream};
static const struct router_handler_ops slow_ops = {slow_on_stream};

/* A serves /echo, /slow and /reset. */
static void serve(struct nh_node *a)
{
    CHECK_ERR(router_add(a->r, "/echo/1.0.0", &echo_ops, NULL), 0);
    CHECK_ERR(router_add(a->r, "/slow/1.0.0", &slow_ops, NULL), 0);
    CHECK_ERR(router_add(a->r, "/reset/1.0.0", &reset_ops, NULL), 0);
}

/* nh_setup_session with A serving, and b dialed to A when `connected`. */
static void setup(struct nh_node *a, struct nh_node *b, struct ipc_session *s,
                  struct buf *in, bool connected)
{
    nh_setup_session(a, b, s, in);
    serve(a);
    if (connected)
        CHECK_ERR(
            swarm_connect(b->sw, &a->id.id, &a->addr, 1, 0, NULL, NULL, NULL),
            0);
}

static void put_simple(struct buf *b, int type)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    req.type = (P2pd__Pb__Request__Type)type;
    nh_put(b, &req);
}

static void put_call(struct buf *b, const struct nh_node *to, const char *proto,
                     const char *data, uint64_t id, uint32_t max_reply)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    Fastn__Request ext = FASTN__REQUEST__INIT;
    Fastn__CallRequest c = FASTN__CALL_REQUEST__INIT;
    req.type = P2PD__PB__REQUEST__TYPE__FASTN;
    req.fastn = &ext;
    ext.version = 1;
    ext.type = FASTN__REQUEST__TYPE__CALL;
    ext.has_call_id = true;
    ext.call_id = id;
    ext.call = &c;
    c.peer.data = (uint8_t *)to->id.id.bytes;
    c.peer.len = to->id.id.len;
    c.protocol = (char *)proto;
    c.has_data = true;
    c.data.data = (uint8_t *)data;
    c.data.len = strlen(data);
    c.has_max_reply = max_reply != 0;
    c.max_reply = max_reply;
    nh_put(b, &req);
}

TEST(connect_answered_in_order)
{
    struct nh_node a, b;
    struct ipc_session s;
    struct buf in;

    setup(&a, &b, &s, &in, false);
    nh_put_connect(&in, &a, &a.addr);
    put_simple(&in, P2PD__PB__REQUEST__TYPE__IDENTIFY);
    nh_feed(&s, &in, 1000);
    /* CONNECT takes a round trip: nothing answered yet, IDENTIFY waits */
    CHECK_EQ(nh_count_responses(&s), 0);
    CHECK(s.blocked);
    CHECK(!ipc_session_wants_input(&s));
    CHECK(nh_run_until_responses(&s, 2));
    P2pd__Pb__Response *r1 = nh_next_response(&s), *r2 = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r1), 0);
    CHECK(r1 && !r1->identify);
    CHECK_ERR(nh_code_of(r2), 0);
    CHECK(r2 && r2->identify && r2->identify->n_addrs == 1);
    p2pd__pb__response__free_unpacked(r1, NULL);
    p2pd__pb__response__free_unpacked(r2, NULL);
    CHECK(swarm_is_connected(b.sw, &a.id.id));
    /* LIST_PEERS now shows A */
    put_simple(&in, P2PD__PB__REQUEST__TYPE__LIST_PEERS);
    nh_feed(&s, &in, 1000);
    r1 = nh_next_response(&s);
    CHECK(r1 && r1->n_peers == 1);
    if (r1 && r1->n_peers == 1)
        CHECK(r1->peers[0]->id.len == a.id.id.len &&
              !memcmp(r1->peers[0]->id.data, a.id.id.bytes, a.id.id.len));
    p2pd__pb__response__free_unpacked(r1, NULL);
    /* a refused port: the error comes back with the network's code */
    struct multiaddr dead;
    CHECK_ERR(swarm_disconnect(b.sw, &a.id.id), 0);
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1/tcp/1", &dead), 0);
    nh_put_connect(&in, &a, &dead);
    nh_feed(&s, &in, 1000);
    CHECK(nh_run_until_responses(&s, 1));
    r1 = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r1), FASTN_ERR_NET_REFUSED);
    p2pd__pb__response__free_unpacked(r1, NULL);
    nh_teardown_session(&a, &b, &s, &in);
}

TEST(calls_answer_as_they_complete)
{
    struct nh_node a, b;
    struct ipc_session s;
    struct buf in;
    static char big[5000];

    setup(&a, &b, &s, &in, true);
    put_call(&in, &a, "/slow/1.0.0", "x", 7, 0);
    put_call(&in, &a, "/echo/1.0.0", "ping", 8, 0);
    memset(big, 'b', sizeof(big) - 1);
    put_call(&in, &a, "/echo/1.0.0", big, 9, 100);
    put_call(&in, &a, "/none/1.0.0", "x", 10, 0);
    nh_feed(&s, &in, 1000);
    CHECK(!s.blocked); /* calls do not hold the session back */
    CHECK(nh_run_until_responses(&s, 4));
    uint64_t order[4];
    for (int i = 0; i < 4; i++) {
        P2pd__Pb__Response *r = nh_next_response(&s);
        CHECK(r && r->fastn && r->fastn->has_call_id);
        if (!r || !r->fastn)
            continue;
        order[i] = r->fastn->call_id;
        switch (r->fastn->call_id) {
        case 7:
            CHECK_ERR(nh_code_of(r), 0);
            CHECK(r->fastn->call && r->fastn->call->data.len == 4 &&
                  !memcmp(r->fastn->call->data.data, "slow", 4));
            break;
        case 8:
            CHECK_ERR(nh_code_of(r), 0);
            CHECK(r->fastn->call && r->fastn->call->data.len == 4 &&
                  !memcmp(r->fastn->call->data.data, "ping", 4));
            break;
        case 9:
            CHECK_ERR(nh_code_of(r), FASTN_ERR_TOO_LARGE);
            break;
        case 10:
            CHECK_ERR(nh_code_of(r), FASTN_ERR_NET_PROTO_NA);
            break;
        default:
            CHECK(false);
        }
        p2pd__pb__response__free_unpacked(r, NULL);
    }
    CHECK_EQ(order[3], 7); /* the slow one last, though it was first */
    CHECK_EQ(s.reserved, 0);
    nh_teardown_session(&a, &b, &s, &in);
}

/* A STREAM_OPEN to `to` for the first of protos[0..n-1] it speaks. */
static void put_stream_open(struct buf *b, struct nh_node *to, char **protos,
                            size_t n)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    P2pd__Pb__StreamOpenRequest so = P2PD__PB__STREAM_OPEN_REQUEST__INIT;
    req.type = P2PD__PB__REQUEST__TYPE__STREAM_OPEN;
    req.streamopen = &so;
    so.peer.data = to->id.id.bytes;
    so.peer.len = to->id.id.len;
    so.proto = protos;
    so.n_proto = n;
    nh_put(b, &req);
}

struct handoff {
    int fd;
    uint8_t rest[64];
    size_t n;
    int called;
};

TEST(stream_open_hands_the_socket_over)
{
    struct nh_node a, b;
    struct ipc_session s;
    struct buf in;
    int sv[2];

    setup(&a, &b, &s, &in, true);
    char *protos[] = {"/nope/1.0.0", "/echo/1.0.0"};
    put_stream_open(&in, &a, protos, 2);
    buf_append(&in, "early bytes", 11); /* the client did not wait */
    nh_feed(&s, &in, 1000);
    CHECK(nh_run_until_responses(&s, 1));
    P2pd__Pb__Response *r = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r), 0);
    CHECK(r && r->streaminfo && !strcmp(r->streaminfo->proto, "/echo/1.0.0"));
    CHECK(r && r->fastn && r->fastn->stream && r->fastn->stream->stream_id);
    uint64_t sid =
        r && r->fastn && r->fastn->stream ? r->fastn->stream->stream_id : 0;
    p2pd__pb__response__free_unpacked(r, NULL);
    /* the transport's part: hand a socket over with what followed */
    CHECK(s.handoff != NULL);
    CHECK_EQ(s.in.len, 11);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ipc_handoff_fn fn = s.handoff;
    s.handoff = NULL;
    fn(s.handoff_arg, sv[1], s.in.data, s.in.len);
    shutdown(sv[0], SHUT_WR);
    /* the echo comes back on the client's end, then EOF */
    char got[64] = {0};
    size_t len = 0;
    uint64_t end = uv_hrtime() + 10000000000ull;
    for (;;) {
        uv_run(&nh_loop, UV_RUN_NOWAIT);
        ssize_t k = recv(sv[0], got + len, sizeof(got) - 1 - len, MSG_DONTWAIT);
        if (k > 0)
            len += (size_t)k;
        if (k == 0 || uv_hrtime() > end)
            break;
    }
    CHECK_STR(got, "early bytes");
    enum router_stream_state state;
    int code;
    CHECK_ERR(router_stream_result(b.r, sid, &state, &code, NULL), 0);
    CHECK(state == ROUTER_STREAM_FINISHED || state == ROUTER_STREAM_CLOSED);
    CHECK_ERR(router_stream_result(b.r, sid + 1000, &state, &code, NULL),
              FASTN_ERR_NOT_FOUND);
    close(sv[0]);
    nh_teardown_session(&a, &b, &s, &in);
}

TEST(stream_reset_before_hand_off)
{
    struct nh_node a, b;
    struct ipc_session s;
    struct buf in;
    int sv[2];

    setup(&a, &b, &s, &in, true);
    char *protos[] = {"/reset/1.0.0"};
    put_stream_open(&in, &a, protos, 1);
    nh_feed(&s, &in, 1000);
    CHECK(nh_run_until_responses(&s, 1));
    P2pd__Pb__Response *r = nh_next_response(&s);
    uint64_t sid =
        r && r->fastn && r->fastn->stream ? r->fastn->stream->stream_id : 0;
    p2pd__pb__response__free_unpacked(r, NULL);
    /* the reset arrives while the response is still being written */
    uint64_t end = uv_hrtime() + 500000000ull;
    while (uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_NOWAIT);
    enum router_stream_state state;
    int code;
    CHECK_ERR(router_stream_result(b.r, sid, &state, &code, NULL), 0);
    CHECK_EQ(state, ROUTER_STREAM_FAILED);
    CHECK_ERR(code, FASTN_ERR_NET_STREAM_RESET);
    /* the hand-off still works: the client reads EOF at once */
    CHECK(s.handoff != NULL);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ipc_handoff_fn fn = s.handoff;
    s.handoff = NULL;
    fn(s.handoff_arg, sv[1], NULL, 0);
    char c;
    ssize_t k = -1;
    end = uv_hrtime() + 5000000000ull;
    while (uv_hrtime() < end && (k = recv(sv[0], &c, 1, MSG_DONTWAIT)) < 0)
        uv_run(&nh_loop, UV_RUN_NOWAIT);
    CHECK_EQ(k, 0);
    close(sv[0]);
    nh_teardown_session(&a, &b, &s, &in);
}

static void put_handler(struct buf *b, int type, const char *addr_text,
                        const char *proto, bool balanced)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    P2pd__Pb__StreamHandlerRequest sh = P2PD__PB__STREAM_HANDLER_REQUEST__INIT;
    P2pd__Pb__RemoveStreamHandlerRequest rh =
        P2PD__PB__REMOVE_STREAM_HANDLER_REQUEST__INIT;
    struct multiaddr ma;
    char *protos[] = {(char *)proto};
    ProtobufCBinaryData a;

    if (multiaddr_parse(addr_text, &ma) == 0)
        a = (ProtobufCBinaryData){ma.len, ma.bytes};
    else
        a = (ProtobufCBinaryData){strlen(addr_text), (uint8_t *)addr_text};
    req.type = (P2pd__Pb__Request__Type)type;
    if (type == P2PD__PB__REQUEST__TYPE__STREAM_HANDLER) {
        req.streamhandler = &sh;
        sh.addr = a;
        sh.proto = protos;
        sh.n_proto = 1;
        sh.has_balanced = true;
        sh.balanced = balanced;
    } else {
        req.removestreamhandler = &rh;
        rh.addr = a;
        rh.proto = protos;
        rh.n_proto = 1;
    }
    nh_put(b, &req);
}

static int one_code(struct ipc_session *s, struct buf *in)
{
    nh_feed(s, in, 1000);
    P2pd__Pb__Response *r = nh_next_response(s);
    int c = nh_code_of(r);
    p2pd__pb__response__free_unpacked(r, NULL);
    return c;
}

TEST(handler_requests)
{
    struct nh_node a, b;
    struct ipc_session s;
    struct buf in;
    const int SH = P2PD__PB__REQUEST__TYPE__STREAM_HANDLER;
    const int RM = P2PD__PB__REQUEST__TYPE__REMOVE_STREAM_HANDLER;

    nh_setup(&a, &b);
    serve(&a);
    nh_open_session(&s, &a.host, &nh_self);
    buf_init(&in, 1 << 20);
    put_handler(&in, SH, "/unix/%2Ftmp%2Fh1.sock", "/x/1", false);
    CHECK_ERR(one_code(&s, &in), 0);
    put_handler(&in, SH, "/tmp/h2.sock", "/x/1", false); /* an old client */
    CHECK_ERR(one_code(&s, &in), FASTN_ERR_EXISTS);
    put_handler(&in, SH, "/tmp/h2.sock", "/x/1", true);
    CHECK_ERR(one_code(&s, &in), 0);
    put_handler(&in, SH, "not an address", "/x/1", true);
    CHECK_ERR(one_code(&s, &in), FASTN_ERR_BAD_MULTIADDR);
    put_handler(&in, SH, "/dns4/example.com/tcp/1", "/x/1", true);
    CHECK_ERR(one_code(&s, &in), FASTN_ERR_UNSUPPORTED);
    put_handler(&in, RM, "/unix/%2Ftmp%2Fh1.sock", "/x/1", false);
    CHECK_ERR(one_code(&s, &in), 0);
    put_handler(&in, RM, "/unix/%2Ftmp%2Fh1.sock", "/x/1", false);
    CHECK_ERR(one_code(&s, &in), FASTN_ERR_NOT_FOUND);
    CHECK(router_has(a.r, "/x/1"));
    nh_teardown_session(&a, &b, &s, &in);
}

TEST(session_gone_cancels_pending)
{
    struct nh_node a, b;
    struct ipc_session s;
    struct buf in;

    setup(&a, &b, &s, &in, false);
    nh_put_connect(&in, &a, &a.addr);
    nh_feed(&s, &in, 1000);
    put_call(&in, &a, "/slow/1.0.0", "x", 1, 0);
    CHECK(s.blocked);
    /* the client goes while CONNECT (and the call queued behind) wait */
    ipc_session_cleanup(&s);
    /* a call in flight, then the client goes */
    nh_open_session(&s, &b.host, &nh_self);
    uint64_t end = uv_hrtime() + 2000000000ull;
    while (!swarm_is_connected(b.sw, &a.id.id) && uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_ONCE);
    nh_feed(&s, &in, 1000);
    CHECK_EQ(s.n_deferred, 1);
    ipc_session_cleanup(&s);
    /* the loop goes on without touching the freed sessions */
    end = uv_hrtime() + 500000000ull;
    while (uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_NOWAIT);
    struct swarm_stats st;
    swarm_get_stats(b.sw, &st);
    CHECK_EQ(st.streams, 0);
    buf_cleanup(&in);
    nh_teardown(&a, &b);
}

int main(void)
{
    RUN(connect_answered_in_order);
    RUN(calls_answer_as_they_complete);
    RUN(stream_open_hands_the_socket_over);
    RUN(stream_reset_before_hand_off);
    RUN(handler_requests);
    RUN(session_gone_cancels_pending);
    return test_done();
}
