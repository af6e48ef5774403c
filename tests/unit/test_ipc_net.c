/* Unit tests for the control requests that use the network
 * (src/ipc/req_peer.c, req_stream.c, req_call.c and the deferred answers
 * in session.c): sessions fed directly, with real swarms and routers on
 * one libuv loop. CONNECT is answered later but in order (a pipelined
 * IDENTIFY waits for it); one-shot calls answer as they complete,
 * matched by call_id; a reply over max_reply is refused; STREAM_OPEN hands
 * the socket over with the bytes the client sent after its request; the
 * handler requests' errors; what a non-admin client may register (its
 * own Unix sockets, not joining what the daemon or another uid serves,
 * within its caps); handlers dropped when their process exits; a session
 * that goes away with requests pending cancels them. */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

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
    /* how the stream ended is told to its own user, not another */
    static const uid_t users[] = {4242};
    const struct ipc_peer user_peer = {.pid = 7, .uid = 4242, .gid = 4242};
    struct ipc_session u;
    Fastn__Request ext = FASTN__REQUEST__INIT;
    Fastn__StreamResultRequest srr = FASTN__STREAM_RESULT_REQUEST__INIT;
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    b.host.policy.allow_uids = users;
    b.host.policy.n_allow_uids = 1;
    nh_open_session(&u, &b.host, &user_peer);
    srr.stream_id = sid;
    ext.version = 1;
    ext.type = FASTN__REQUEST__TYPE__STREAM_RESULT;
    ext.stream_result = &srr;
    req.type = P2PD__PB__REQUEST__TYPE__FASTN;
    req.fastn = &ext;
    nh_put(&in, &req);
    nh_feed(&u, &in, 1000);
    nh_expect_codes(&u, (int[]){FASTN_ERR_ADMIN_ONLY}, 1);
    ipc_session_cleanup(&u);
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

/* A handler request naming n protocols at addr_text (a multiaddr). */
static void put_handler_n(struct buf *b, int type, const char *addr_text,
                          char **protos, size_t n, bool balanced)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    P2pd__Pb__StreamHandlerRequest sh = P2PD__PB__STREAM_HANDLER_REQUEST__INIT;
    P2pd__Pb__RemoveStreamHandlerRequest rh =
        P2PD__PB__REMOVE_STREAM_HANDLER_REQUEST__INIT;
    struct multiaddr ma;

    CHECK_ERR(multiaddr_parse(addr_text, &ma), 0);
    req.type = (P2pd__Pb__Request__Type)type;
    if (type == P2PD__PB__REQUEST__TYPE__STREAM_HANDLER) {
        req.streamhandler = &sh;
        sh.addr = (ProtobufCBinaryData){ma.len, ma.bytes};
        sh.proto = protos;
        sh.n_proto = n;
        sh.has_balanced = true;
        sh.balanced = balanced;
    } else {
        req.removestreamhandler = &rh;
        rh.addr = (ProtobufCBinaryData){ma.len, ma.bytes};
        rh.proto = protos;
        rh.n_proto = n;
    }
    nh_put(b, &req);
}

/* The code of one handler request on s, and its message in msg. */
static int handler_code(struct ipc_session *s, int type, const char *addr,
                        const char *proto, bool balanced, char *msg)
{
    struct buf in;
    char *protos[] = {(char *)proto};
    P2pd__Pb__Response *r;
    int c;

    buf_init(&in, 1 << 16);
    put_handler_n(&in, type, addr, protos, 1, balanced);
    nh_feed(s, &in, 1000);
    buf_cleanup(&in);
    r = nh_next_response(s);
    c = nh_code_of(r);
    snprintf(msg, 256, "%s", r && r->error ? r->error->msg : "");
    p2pd__pb__response__free_unpacked(r, NULL);
    return c;
}

/* A Unix socket listening at path, owned by uid. */
static int listen_at(const char *path, uid_t uid)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    unlink(path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_EQ(listen(fd, 4), 0);
    if (uid != getuid())
        CHECK_EQ(chown(path, uid, (gid_t)-1), 0);
    return fd;
}

#define SH P2PD__PB__REQUEST__TYPE__STREAM_HANDLER
#define RM P2PD__PB__REQUEST__TYPE__REMOVE_STREAM_HANDLER

/* What a non-admin client (uid 4242) may register: only Unix sockets of
 * its own, not sharing a protocol the daemon serves itself or another
 * uid's handler, removing its own only. Needs root to give a socket to
 * uid 4242. */
TEST(handler_privileges)
{
    static const uid_t users[] = {4242};
    const struct ipc_peer user_peer = {.pid = 7, .uid = 4242, .gid = 4242};
    struct nh_node a, b;
    struct ipc_session u, adm;
    char msg[256], mine[64], root[64], file[64], dir[64], link[80], via[96];
    int fd1, fd2;

    if (getuid() != 0) {
        printf("  (skipped without root: sockets of another uid)\n");
        return;
    }
    snprintf(mine, sizeof(mine), "/tmp/fastn-hp-%d-u.sock", (int)getpid());
    snprintf(root, sizeof(root), "/tmp/fastn-hp-%d-r.sock", (int)getpid());
    snprintf(file, sizeof(file), "/tmp/fastn-hp-%d-f", (int)getpid());
    snprintf(dir, sizeof(dir), "/tmp/fastn-hp-%d-d", (int)getpid());
    snprintf(link, sizeof(link), "%s-link", dir);
    nh_setup(&a, &b);
    serve(&a);
    a.host.policy.allow_uids = users;
    a.host.policy.n_allow_uids = 1;
    nh_open_session(&u, &a.host, &user_peer);
    nh_open_session(&adm, &a.host, &nh_self);
    fd1 = listen_at(mine, 4242);
    fd2 = listen_at(root, 0);
    close(open(file, O_CREAT | O_WRONLY, 0600));
    CHECK_EQ(chown(file, 4242, (gid_t)-1), 0);
    mkdir(dir, 0755);
    CHECK_EQ(symlink(dir, link), 0);
    CHECK_EQ(lchown(link, 4343, (gid_t)-1), 0);
    /* a TCP address: the daemon would connect there for every peer */
    CHECK_ERR(handler_code(&u, SH, "/ip4/127.0.0.1/tcp/22", "/p/1", 0, msg),
              FASTN_ERR_ADMIN_ONLY);
    CHECK(strstr(msg, "TCP address"));
    /* the owner's socket, a file, nothing at all: refused */
    char ma[160];
    snprintf(ma, sizeof(ma), "/unix%s", root);
    CHECK_ERR(handler_code(&u, SH, ma, "/p/1", 0, msg), FASTN_ERR_ADMIN_ONLY);
    CHECK(strstr(msg, "not a socket of uid 4242"));
    snprintf(ma, sizeof(ma), "/unix%s", file);
    CHECK_ERR(handler_code(&u, SH, ma, "/p/1", 0, msg), FASTN_ERR_ADMIN_ONLY);
    snprintf(ma, sizeof(ma), "/unix%s-none", file);
    CHECK_ERR(handler_code(&u, SH, ma, "/p/1", 0, msg), FASTN_ERR_NOT_FOUND);
    CHECK(strstr(msg, "listen there before"));
    /* its own socket, reached through another user's symlink: refused */
    snprintf(via, sizeof(via), "%s/s.sock", link);
    int fd3 = listen_at(via, 4242);
    snprintf(ma, sizeof(ma), "/unix%s", via);
    CHECK_ERR(handler_code(&u, SH, ma, "/p/1", 0, msg), FASTN_ERR_ADMIN_ONLY);
    CHECK(strstr(msg, "a symlink of uid 4343"));
    /* its own socket: fine; the admin may register anywhere */
    snprintf(ma, sizeof(ma), "/unix%s", mine);
    CHECK_ERR(handler_code(&u, SH, ma, "/u/1", 0, msg), 0);
    CHECK_ERR(handler_code(&u, SH, ma, "/u/1", 1, msg), 0); /* again */
    char rma[160];
    snprintf(rma, sizeof(rma), "/unix%s", root);
    CHECK_ERR(handler_code(&adm, SH, rma, "/o/1", 0, msg), 0);
    CHECK_ERR(handler_code(&adm, SH, "/ip4/127.0.0.1/tcp/9", "/o/2", 0, msg),
              0);
    /* joining what the daemon serves, or another uid's handler: refused,
     * balanced or not */
    CHECK_ERR(handler_code(&u, SH, ma, "/echo/1.0.0", 1, msg),
              FASTN_ERR_ADMIN_ONLY);
    CHECK(strstr(msg, "serves itself"));
    CHECK_ERR(handler_code(&u, SH, ma, "/o/1", 1, msg), FASTN_ERR_ADMIN_ONLY);
    CHECK(strstr(msg, "another user's handler"));
    /* an admin may join a user's */
    CHECK_ERR(handler_code(&adm, SH, rma, "/u/1", 1, msg), 0);
    CHECK_ERR(handler_code(&adm, RM, rma, "/u/1", 0, msg), 0);
    /* removing: its own only */
    CHECK_ERR(handler_code(&u, RM, rma, "/o/1", 0, msg), FASTN_ERR_ADMIN_ONLY);
    CHECK(router_has(a.r, "/o/1"));
    CHECK_ERR(handler_code(&u, RM, ma, "/u/1", 0, msg), 0);
    CHECK(!router_has(a.r, "/u/1"));
    ipc_session_cleanup(&u);
    ipc_session_cleanup(&adm);
    close(fd1);
    close(fd2);
    close(fd3);
    unlink(mine);
    unlink(root);
    unlink(file);
    unlink(via);
    unlink(link);
    rmdir(dir);
    nh_teardown(&a, &b);
}

/* Protocols per request, protocol ids, and the handler caps. */
TEST(handler_caps)
{
    static const uid_t users[] = {4242};
    const struct ipc_peer user_peer = {.pid = 7, .uid = 4242, .gid = 4242};
    struct nh_node a, b;
    struct ipc_session u, adm;
    struct buf in;
    char *protos[IPC_MAX_PROTOCOLS_PER_REQUEST + 1];
    char names[IPC_MAX_PROTOCOLS_PER_REQUEST + 1][16], path[64], ma[96];
    char longp[ROUTER_PROTOCOL_MAX + 2];
    P2pd__Pb__Response *r;
    int fd;

    snprintf(path, sizeof(path), "/tmp/fastn-hc-%d.sock", (int)getpid());
    snprintf(ma, sizeof(ma), "/unix%s", path);
    for (int i = 0; i <= IPC_MAX_PROTOCOLS_PER_REQUEST; i++) {
        snprintf(names[i], sizeof(names[i]), "/cap/%d", i);
        protos[i] = names[i];
    }
    nh_setup(&a, &b);
    ipc_limits_default(&a.host.limits, 64);
    a.host.limits.max_handlers_per_uid = 3;
    a.host.policy.allow_uids = users;
    a.host.policy.n_allow_uids = 1;
    nh_open_session(&adm, &a.host, &nh_self);
    buf_init(&in, 1 << 16);
    /* more protocols than one request may name: refused, none added */
    put_handler_n(&in, SH, ma, protos, IPC_MAX_PROTOCOLS_PER_REQUEST + 1,
                  false);
    nh_feed(&adm, &in, 1000);
    r = nh_next_response(&adm);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_TOO_LARGE);
    CHECK(strstr(r->error->msg, "at most 64"));
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(!router_has(a.r, "/cap/0"));
    /* a protocol id longer than multistream-select takes */
    memset(longp, 'x', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    char *lp[] = {longp};
    put_handler_n(&in, SH, ma, lp, 1, false);
    nh_feed(&adm, &in, 1000);
    r = nh_next_response(&adm);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_INVAL);
    CHECK(strstr(r->error->msg, "not a protocol id"));
    p2pd__pb__response__free_unpacked(r, NULL);
    /* 64 at once is fine */
    put_handler_n(&in, SH, ma, protos, IPC_MAX_PROTOCOLS_PER_REQUEST, false);
    nh_feed(&adm, &in, 1000);
    nh_expect_codes(&adm, (int[]){0}, 1);
    CHECK(router_has(a.r, "/cap/63"));
    /* a non-owner uid's cap (3 here); the owner is not held to it */
    if (getuid() == 0) {
        nh_open_session(&u, &a.host, &user_peer);
        fd = listen_at(path, 4242);
        char *three[] = {"/u/1", "/u/2", "/u/3"}, *four[] = {"/u/4"};
        put_handler_n(&in, SH, ma, three, 3, false);
        put_handler_n(&in, SH, ma, four, 1, false);
        nh_feed(&u, &in, 1000);
        nh_expect_codes(&u, (int[]){0, FASTN_ERR_BUSY}, 2);
        CHECK(!router_has(a.r, "/u/4"));
        ipc_session_cleanup(&u);
        close(fd);
        unlink(path);
    }
    ipc_session_cleanup(&adm);
    buf_cleanup(&in);
    nh_teardown(&a, &b);
}

/* Handlers belong to the process that registered them: they outlive its
 * control connection (go-libp2p-daemon clients close it) and go when the
 * process exits. */
TEST(handlers_of_an_exited_process)
{
    struct nh_node a, b;
    struct ipc_session s;
    struct ipc_peer p = nh_self;
    char msg[256];
    uint64_t end;
    pid_t child, gone;
    int status;

    nh_setup(&a, &b);
    CHECK_ERR(ipc_watch_new(&nh_loop, &a.host, &a.host.watch), 0);
    if ((child = fork()) == 0) {
        pause();
        _exit(0);
    }
    p.pid = child;
    nh_open_session(&s, &a.host, &p);
    CHECK_ERR(handler_code(&s, SH, "/unix/tmp/fastn-w1.sock", "/w/1", 0, msg),
              0);
    CHECK_EQ(ipc_watch_count(a.host.watch), 1);
    ipc_session_cleanup(&s); /* the control connection closes... */
    nh_open_session(&s, &a.host, &p);
    CHECK_ERR(handler_code(&s, SH, "/unix/tmp/fastn-w1.sock", "/w/2", 0, msg),
              0);
    ipc_session_cleanup(&s);
    CHECK_EQ(ipc_watch_count(a.host.watch), 1); /* one process, one watch */
    uv_run(&nh_loop, UV_RUN_NOWAIT);
    CHECK(router_has(a.r, "/w/1") && router_has(a.r, "/w/2")); /* ...kept */
    kill(child, SIGKILL); /* the process exits: its handlers go */
    end = uv_hrtime() + 5000000000ull;
    while (router_has(a.r, "/w/1") && uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_ONCE);
    CHECK(!router_has(a.r, "/w/1") && !router_has(a.r, "/w/2"));
    CHECK_EQ(ipc_watch_count(a.host.watch), 0);
    waitpid(child, &status, 0);
    /* a process already gone cannot register */
    if ((gone = fork()) == 0)
        _exit(0);
    waitpid(gone, &status, 0);
    p.pid = gone;
    nh_open_session(&s, &a.host, &p);
    CHECK_ERR(handler_code(&s, SH, "/unix/tmp/fastn-w1.sock", "/w/3", 0, msg),
              FASTN_ERR_NOT_FOUND);
    CHECK(strstr(msg, "has exited"));
    ipc_session_cleanup(&s);
    /* a watch whose handlers were all removed is given back at the next
     * registration of its uid */
    p.pid = getpid();
    nh_open_session(&s, &a.host, &p);
    CHECK_ERR(handler_code(&s, SH, "/unix/tmp/fastn-w1.sock", "/w/4", 0, msg),
              0);
    CHECK_ERR(handler_code(&s, RM, "/unix/tmp/fastn-w1.sock", "/w/4", 0, msg),
              0);
    CHECK_EQ(ipc_watch_count(a.host.watch), 1);
    CHECK_ERR(handler_code(&s, SH, "/unix/tmp/fastn-w1.sock", "/w/5", 0, msg),
              0);
    CHECK_EQ(ipc_watch_count(a.host.watch), 1);
    ipc_session_cleanup(&s);
    ipc_watch_close(a.host.watch);
    a.host.watch = NULL;
    nh_teardown(&a, &b);
}

/* A watched process holds a pidfd: another user's count as its
 * connections do, so they cannot take the owner's descriptors. */
TEST(watched_processes_count_as_connections)
{
    static const uid_t users[] = {4242};
    struct ipc_peer p = {.uid = 4242, .gid = 4242};
    struct nh_node a, b;
    struct ipc_session s;
    char msg[256], path[64], ma[96];
    pid_t kids[2];
    int fd = -1, status;

    if (getuid() != 0) {
        printf("  (skipped without root: a socket of another uid)\n");
        return;
    }
    snprintf(path, sizeof(path), "/tmp/fastn-wp-%d.sock", (int)getpid());
    snprintf(ma, sizeof(ma), "/unix%s", path);
    nh_setup(&a, &b);
    ipc_limits_default(&a.host.limits, 64);
    a.host.limits.max_clients_per_uid = 2;
    a.host.policy.allow_uids = users;
    a.host.policy.n_allow_uids = 1;
    CHECK_ERR(ipc_watch_new(&nh_loop, &a.host, &a.host.watch), 0);
    fd = listen_at(path, 4242);
    for (int i = 0; i < 2; i++)
        if ((kids[i] = fork()) == 0) {
            pause();
            _exit(0);
        }
    /* the first process: its connection, then its pidfd */
    p.pid = kids[0];
    nh_open_session(&s, &a.host, &p);
    CHECK_ERR(handler_code(&s, SH, ma, "/wp/1", 0, msg), 0);
    ipc_session_cleanup(&s);
    CHECK(a.host.uids && a.host.uids->procs == 1 && a.host.procs_others == 1);
    /* a second: one watched and its own connection make the two */
    p.pid = kids[1];
    nh_open_session(&s, &a.host, &p);
    CHECK_ERR(handler_code(&s, SH, ma, "/wp/2", 0, msg), FASTN_ERR_BUSY);
    CHECK(strstr(msg, "processes with handlers"));
    ipc_session_cleanup(&s);
    /* the first exits: its pidfd and its count go */
    kill(kids[0], SIGKILL);
    uint64_t end = uv_hrtime() + 5000000000ull;
    while (a.host.procs_others && uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_ONCE);
    CHECK_EQ(a.host.procs_others, 0);
    nh_open_session(&s, &a.host, &p);
    CHECK_ERR(handler_code(&s, SH, ma, "/wp/2", 0, msg), 0);
    ipc_session_cleanup(&s);
    kill(kids[1], SIGKILL);
    waitpid(kids[0], &status, 0);
    waitpid(kids[1], &status, 0);
    ipc_watch_close(a.host.watch);
    a.host.watch = NULL;
    CHECK(a.host.uids == NULL && a.host.procs_others == 0);
    close(fd);
    unlink(path);
    nh_teardown(&a, &b);
}

int main(void)
{
    RUN(connect_answered_in_order);
    RUN(calls_answer_as_they_complete);
    RUN(stream_open_hands_the_socket_over);
    RUN(stream_reset_before_hand_off);
    RUN(handler_requests);
    RUN(handler_privileges);
    RUN(handler_caps);
    RUN(handlers_of_an_exited_process);
    RUN(watched_processes_count_as_connections);
    RUN(session_gone_cancels_pending);
    return test_done();
}
