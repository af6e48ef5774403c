/* Unit tests for src/router: two swarms on one libuv loop, the router of
 * the listening one serving in-process handlers (round robin between
 * two, removal, refusal of a protocol with no handler) and client
 * handlers (a Unix socket this test listens on: StreamInfo first, then
 * the stream both ways with half-close; a handler whose socket is gone is
 * dropped and the stream goes to the next), plus the table's checks,
 * who owns a client handler (the queries the control server's privilege
 * checks use, plugins and exposes dropping non-admin handlers of their
 * protocol, handlers dropped by process) and the listener's uid checked
 * at every connection. */
#include <sys/socket.h>
#include <sys/un.h>

#include "ipc/p2pd.pb-c.h"
#include "net_harness.h"

/* --- an in-process handler that answers its name and closes ----------- */

struct namer {
    const char *name;
    int streams;
};

static void namer_cb(struct swarm_stream *s,
                     const struct swarm_stream_event *ev, void *arg)
{
    (void)arg;
    if (ev->type == SWARM_STREAM_DATA)
        swarm_stream_consumed(s, ev->len);
}

static int namer_on_stream(void *arg, struct swarm_stream *s)
{
    struct namer *n = arg;

    n->streams++;
    swarm_stream_set_cb(s, namer_cb, n);
    swarm_stream_write(s, (const uint8_t *)n->name, strlen(n->name));
    swarm_stream_close(s);
    return 0;
}

static int refuse_on_stream(void *arg, struct swarm_stream *s)
{
    (void)arg;
    (void)s;
    return FASTN_ERR_BUSY;
}

static const struct router_handler_ops namer_ops = {namer_on_stream};
/* Client handlers registered by this test's own uid, as an admin. */
static struct router_client me;
static const struct router_handler_ops refuse_ops = {refuse_on_stream};

/* A client of one stream: sends `send`, collects everything back. */
struct fetch {
    char got[256];
    size_t len;
    int done, err, opened;
    const char *send;
};

static void fetch_cb(struct swarm_stream *s,
                     const struct swarm_stream_event *ev, void *arg)
{
    struct fetch *f = arg;

    switch (ev->type) {
    case SWARM_STREAM_OPEN:
        f->opened = 1;
        break;
    case SWARM_STREAM_DATA:
        if (f->len + ev->len < sizeof(f->got)) {
            memcpy(f->got + f->len, ev->data, ev->len);
            f->len += ev->len;
        }
        swarm_stream_consumed(s, ev->len);
        break;
    case SWARM_STREAM_FIN:
        swarm_stream_close(s);
        break;
    case SWARM_STREAM_CLOSED:
        f->done = 1;
        f->err = ev->err;
        break;
    default:
        break;
    }
}

static void fetch(struct nh_node *from, struct nh_node *to, const char *proto,
                  struct fetch *f)
{
    int err = 0;
    struct swarm_stream *s;

    memset(f->got, 0, sizeof(f->got));
    f->len = 0;
    f->done = f->err = f->opened = 0;
    s = swarm_stream_open(from->sw, &to->id.id, (const char *[]){proto}, 1,
                          5000, fetch_cb, f, &err);
    CHECK(s != NULL);
    if (s && f->send) {
        swarm_stream_write(s, (const uint8_t *)f->send, strlen(f->send));
        swarm_stream_close(s);
    }
    CHECK(nh_run_until(&f->done));
}

static void connect_nodes(struct nh_node *from, struct nh_node *to)
{
    struct fetch f = {.send = NULL};
    /* a stream to an unserved protocol dials and fails with NA */
    CHECK_ERR(swarm_connect(from->sw, &to->id.id, &to->addr, 1, 0,
                            (swarm_connect_cb)NULL, NULL, NULL),
              0);
    fetch(from, to, "/nobody/1.0.0", &f);
    CHECK_ERR(f.err, FASTN_ERR_NET_PROTO_NA);
}

TEST(in_process_round_robin)
{
    struct nh_node a, b;
    struct namer one = {"one", 0}, two = {"two", 0};
    struct fetch f = {.send = NULL};
    struct router_stats st;

    nh_setup(&a, &b);
    connect_nodes(&b, &a);
    CHECK_ERR(router_add(a.r, "/who/1.0.0", &namer_ops, &one), 0);
    CHECK_ERR(router_add(a.r, "/who/1.0.0", &namer_ops, &two), 0);
    CHECK_ERR(router_add(a.r, "/who/1.0.0", &namer_ops, &two),
              FASTN_ERR_EXISTS);
    CHECK(router_has(a.r, "/who/1.0.0"));
    for (int i = 0; i < 4; i++) {
        fetch(&b, &a, "/who/1.0.0", &f);
        CHECK_ERR(f.err, 0);
        CHECK_STR(f.got, i % 2 ? "two" : "one");
    }
    CHECK_EQ(one.streams, 2);
    CHECK_EQ(two.streams, 2);
    /* a handler that passes: the next one takes the stream */
    CHECK_ERR(router_add(a.r, "/who/1.0.0", &refuse_ops, NULL), 0);
    for (int i = 0; i < 3; i++) {
        fetch(&b, &a, "/who/1.0.0", &f);
        CHECK_ERR(f.err, 0);
    }
    CHECK_EQ(one.streams + two.streams, 7);
    router_get_stats(a.r, &st);
    CHECK_EQ(st.protocols, 1);
    CHECK_EQ(st.handlers, 3);
    CHECK_EQ(st.routed, 7);
    /* removed: the protocol is refused */
    CHECK_ERR(router_remove(a.r, "/who/1.0.0", &namer_ops, &one), 0);
    CHECK_ERR(router_remove(a.r, "/who/1.0.0", &namer_ops, &one),
              FASTN_ERR_NOT_FOUND);
    CHECK_ERR(router_remove(a.r, "/who/1.0.0", &namer_ops, &two), 0);
    CHECK_ERR(router_remove(a.r, "/who/1.0.0", &refuse_ops, NULL), 0);
    CHECK(!router_has(a.r, "/who/1.0.0"));
    fetch(&b, &a, "/who/1.0.0", &f);
    CHECK_ERR(f.err, FASTN_ERR_NET_PROTO_NA);
    nh_teardown(&a, &b);
}

TEST(table_checks)
{
    struct nh_node a, b;
    struct namer one = {"one", 0};
    struct multiaddr tcp, udp, dns;
    char longp[ROUTER_PROTOCOL_MAX + 2];

    nh_setup(&a, &b);
    CHECK_ERR(router_add(a.r, "", &namer_ops, &one), FASTN_ERR_INVAL);
    CHECK_ERR(router_add(a.r, "/a\nb", &namer_ops, &one), FASTN_ERR_INVAL);
    memset(longp, 'x', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    CHECK_ERR(router_add(a.r, longp, &namer_ops, &one), FASTN_ERR_INVAL);
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1/tcp/9", &tcp), 0);
    CHECK_ERR(multiaddr_parse("/dns4/example.com/tcp/9", &dns), 0);
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1", &udp), 0);
    CHECK_ERR(router_add_client(a.r, "/p/1", &tcp, false, &me), 0);
    CHECK_ERR(router_add_client(a.r, "/p/1", &tcp, false, &me), 0); /* again */
    CHECK_ERR(router_add_client(a.r, "/p/1", &dns, false, &me),
              FASTN_ERR_UNSUPPORTED);
    CHECK_ERR(router_add_client(a.r, "/p/1", &udp, true, &me),
              FASTN_ERR_UNSUPPORTED);
    struct multiaddr other;
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1/tcp/10", &other), 0);
    CHECK_ERR(router_add_client(a.r, "/p/1", &other, false, &me),
              FASTN_ERR_EXISTS);
    CHECK_ERR(router_add_client(a.r, "/p/1", &other, true, &me), 0);
    CHECK_ERR(router_remove_client(a.r, "/p/1", &tcp), 0);
    CHECK_ERR(router_remove_client(a.r, "/p/1", &tcp), FASTN_ERR_NOT_FOUND);
    CHECK_ERR(router_remove_client(a.r, "/p/2", &tcp), FASTN_ERR_NOT_FOUND);
    const char *names[4];
    CHECK_EQ(router_protocols(a.r, names, 4), 1);
    CHECK_STR(names[0], "/p/1");
    nh_teardown(&a, &b);
}

/* --- a client handler: a Unix socket served on the same loop ------------ */

struct handler_srv {
    uv_pipe_t server;
    uv_pipe_t conn;
    bool has_conn;
    uint8_t in[4096];
    size_t in_len;
    bool info_ok, eof;
    char proto[64];
    int streams;
};

static void srv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct handler_srv *s = h->data;
    (void)hint;
    *b = uv_buf_init((char *)s->in + s->in_len,
                     (unsigned)(sizeof(s->in) - s->in_len));
}

static void srv_write_done(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void srv_shutdown_done(uv_shutdown_t *req, int status)
{
    (void)status;
    uv_close((uv_handle_t *)req->handle, NULL);
    free(req);
}

/* StreamInfo, then "hello" back for whatever came, after the EOF. */
static void srv_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct handler_srv *s = st->data;
    const uint8_t *body;
    size_t body_len, frame_len;

    (void)b;
    if (n > 0)
        s->in_len += (size_t)n;
    if (!s->info_ok && ipc_frame_parse(s->in, s->in_len, 4096, &body, &body_len,
                                       &frame_len) == 0) {
        P2pd__Pb__StreamInfo *si =
            p2pd__pb__stream_info__unpack(NULL, body_len, body);
        CHECK(si != NULL);
        if (si) {
            snprintf(s->proto, sizeof(s->proto), "%s", si->proto);
            p2pd__pb__stream_info__free_unpacked(si, NULL);
        }
        s->info_ok = true;
        memmove(s->in, s->in + frame_len, s->in_len - frame_len);
        s->in_len -= frame_len;
    }
    if (n == UV_EOF) {
        uv_write_t *w = malloc(sizeof(*w));
        uv_buf_t out = uv_buf_init("hello ", 6);
        uv_buf_t bufs[2] = {out,
                            uv_buf_init((char *)s->in, (unsigned)s->in_len)};
        uv_shutdown_t *req = malloc(sizeof(*req));
        s->eof = true;
        uv_write(w, st, bufs, 2, srv_write_done);
        uv_shutdown(req, st, srv_shutdown_done);
    }
}

static void srv_on_conn(uv_stream_t *server, int status)
{
    struct handler_srv *s = server->data;

    CHECK_EQ(status, 0);
    s->streams++;
    s->in_len = 0;
    s->info_ok = s->eof = false;
    uv_pipe_init(&nh_loop, &s->conn, 0);
    s->conn.data = s;
    CHECK_EQ(uv_accept(server, (uv_stream_t *)&s->conn), 0);
    uv_read_start((uv_stream_t *)&s->conn, srv_alloc, srv_read);
}

static void srv_start(struct handler_srv *s, const char *path)
{
    memset(s, 0, sizeof(*s));
    unlink(path);
    uv_pipe_init(&nh_loop, &s->server, 0);
    s->server.data = s;
    CHECK_EQ(uv_pipe_bind(&s->server, path), 0);
    CHECK_EQ(uv_listen((uv_stream_t *)&s->server, 16, srv_on_conn), 0);
}

static void unix_addr(struct multiaddr *ma, const char *path)
{
    memset(ma, 0, sizeof(*ma));
    CHECK_ERR(
        multiaddr_append(ma, MA_UNIX, (const uint8_t *)path, strlen(path)), 0);
}

TEST(client_handler_splice_and_dead_handler)
{
    struct nh_node a, b;
    struct handler_srv srv;
    struct fetch f = {.send = "world"};
    struct multiaddr live, dead;
    char path[64], gone[64];

    snprintf(path, sizeof(path), "/tmp/fastn-rt-%d.sock", (int)getpid());
    snprintf(gone, sizeof(gone), "/tmp/fastn-rt-%d-gone.sock", (int)getpid());
    unlink(gone);
    nh_setup(&a, &b);
    connect_nodes(&b, &a);
    srv_start(&srv, path);
    unix_addr(&live, path);
    unix_addr(&dead, gone);
    /* the dead handler is first in the rotation */
    CHECK_ERR(router_add_client(a.r, "/greet/1.0.0", &dead, true, &me), 0);
    CHECK_ERR(router_add_client(a.r, "/greet/1.0.0", &live, true, &me), 0);
    fetch(&b, &a, "/greet/1.0.0", &f);
    CHECK_ERR(f.err, 0);
    CHECK_STR(f.got, "hello world");
    CHECK(srv.info_ok);
    CHECK_STR(srv.proto, "/greet/1.0.0");
    struct router_stats st;
    router_get_stats(a.r, &st);
    CHECK_EQ(st.handlers, 1);
    CHECK_EQ(st.dropped, 1);
    /* and again, straight to the live one */
    fetch(&b, &a, "/greet/1.0.0", &f);
    CHECK_STR(f.got, "hello world");
    CHECK_EQ(srv.streams, 2);
    /* the last handler gone too: the stream is reset */
    uv_close((uv_handle_t *)&srv.server, NULL);
    uv_run(&nh_loop, UV_RUN_NOWAIT);
    unlink(path);
    fetch(&b, &a, "/greet/1.0.0", &f);
    CHECK(f.err != 0);
    CHECK(!router_has(a.r, "/greet/1.0.0"));
    nh_teardown(&a, &b);
}

TEST(client_ownership)
{
    struct nh_node a, b;
    struct namer one = {"one", 0};
    struct router_client u10 = {.uid = 10, .tag = 1};
    struct router_client u11 = {.uid = 11, .admin = true, .tag = 2};
    struct multiaddr x, y;
    uint64_t tags[4];
    size_t by_uid, by_tag;
    uid_t uid;

    nh_setup(&a, &b);
    unix_addr(&x, "/tmp/fastn-rt-x.sock");
    unix_addr(&y, "/tmp/fastn-rt-y.sock");
    CHECK_ERR(router_add_client(a.r, "/a/1", &x, false, &u10), 0);
    CHECK_EQ(router_served_by(a.r, "/a/1", 10), ROUTER_SERVED_NONE);
    CHECK_EQ(router_served_by(a.r, "/a/1", 11), ROUTER_SERVED_OTHER);
    CHECK_EQ(router_served_by(a.r, "/none/1", 11), ROUTER_SERVED_NONE);
    CHECK_ERR(router_add(a.r, "/b/1", &namer_ops, &one), 0);
    CHECK_EQ(router_served_by(a.r, "/b/1", 10), ROUTER_SERVED_DAEMON);
    CHECK_ERR(router_client_uid(a.r, "/a/1", &x, &uid), 0);
    CHECK_EQ(uid, 10);
    CHECK_ERR(router_client_uid(a.r, "/a/1", &y, &uid), FASTN_ERR_NOT_FOUND);
    /* a plugin or an expose taking a protocol drops the non-admin
     * handlers sharing it, not the admins' */
    CHECK_ERR(router_add_client(a.r, "/c/1", &x, true, &u10), 0);
    CHECK_ERR(router_add_client(a.r, "/c/1", &y, true, &u11), 0);
    CHECK_ERR(router_add(a.r, "/c/1", &namer_ops, &one), 0);
    CHECK_ERR(router_client_uid(a.r, "/c/1", &x, &uid), FASTN_ERR_NOT_FOUND);
    CHECK_ERR(router_client_uid(a.r, "/c/1", &y, &uid), 0);
    CHECK_EQ(uid, 11);
    /* counts by uid and by process, and the processes' tags */
    CHECK_ERR(router_add_client(a.r, "/d/1", &x, false, &u10), 0);
    router_client_count(a.r, 10, 1, &by_uid, &by_tag);
    CHECK(by_uid == 2 && by_tag == 2);
    router_client_count(a.r, 11, 0, &by_uid, &by_tag);
    CHECK(by_uid == 1 && by_tag == 0);
    CHECK_EQ(router_client_tags(a.r, 10, tags, 4), 2);
    CHECK(tags[0] == 1 && tags[1] == 1);
    /* registering the same address again: the latest registration's */
    struct router_client u10b = {.uid = 10, .tag = 3};
    CHECK_ERR(router_add_client(a.r, "/d/1", &x, false, &u10b), 0);
    router_client_count(a.r, 10, 1, &by_uid, &by_tag);
    CHECK(by_uid == 2 && by_tag == 1);
    /* the process tagged 1 exits: its handlers go, the others stay */
    CHECK_EQ(router_drop_clients(a.r, 1), 1);
    CHECK(!router_has(a.r, "/a/1"));
    CHECK(router_has(a.r, "/d/1") && router_has(a.r, "/c/1"));
    CHECK_EQ(router_drop_clients(a.r, 0), 0); /* untagged: never */
    CHECK_ERR(router_remove(a.r, "/b/1", &namer_ops, &one), 0);
    CHECK_ERR(router_remove(a.r, "/c/1", &namer_ops, &one), 0);
    nh_teardown(&a, &b);
}

/* A handler is spliced only to a socket its registering uid listens on
 * (or, for an admin's, root or the daemon's own uid): a path swapped to
 * another user's socket gets a connection and nothing else. */
TEST(listener_uid_checked_at_connect)
{
    struct nh_node a, b;
    struct handler_srv srv;
    struct fetch f = {.send = "world"};
    struct multiaddr ma;
    struct router_client other = {.uid = getuid() + 1};
    struct router_client self = {.uid = getuid()};
    struct router_client admin = {.uid = getuid() + 1, .admin = true};
    struct router_stats st;
    char path[64];

    snprintf(path, sizeof(path), "/tmp/fastn-rt-%d-uid.sock", (int)getpid());
    nh_setup(&a, &b);
    connect_nodes(&b, &a);
    srv_start(&srv, path);
    unix_addr(&ma, path);
    /* registered by another (non-admin) uid than the listener's */
    CHECK_ERR(router_add_client(a.r, "/uid/1.0.0", &ma, false, &other), 0);
    fetch(&b, &a, "/uid/1.0.0", &f);
    CHECK(f.err != 0);
    CHECK(f.len == 0);
    CHECK(!srv.info_ok && srv.in_len == 0); /* not a byte written */
    CHECK(!router_has(a.r, "/uid/1.0.0"));  /* and the handler dropped */
    router_get_stats(a.r, &st);
    CHECK_EQ(st.dropped, 1);
    /* the listener's own uid: served */
    CHECK_ERR(router_add_client(a.r, "/uid/1.0.0", &ma, false, &self), 0);
    fetch(&b, &a, "/uid/1.0.0", &f);
    CHECK_ERR(f.err, 0);
    CHECK_STR(f.got, "hello world");
    /* an admin's handler may be served by the daemon's own uid */
    CHECK_ERR(router_remove_client(a.r, "/uid/1.0.0", &ma), 0);
    CHECK_ERR(router_add_client(a.r, "/uid/1.0.0", &ma, false, &admin), 0);
    fetch(&b, &a, "/uid/1.0.0", &f);
    CHECK_ERR(f.err, 0);
    CHECK_STR(f.got, "hello world");
    uv_close((uv_handle_t *)&srv.server, NULL);
    unlink(path);
    nh_teardown(&a, &b);
}

/* Each splice holds a descriptor: past router_set_max_splices() a
 * peer's stream is refused (counted), and room comes back when one
 * ends. */
TEST(splices_capped)
{
    struct nh_node a, b;
    struct handler_srv srv;
    struct fetch held = {.send = NULL}, f = {.send = "world"};
    struct multiaddr ma;
    struct router_stats st;
    struct swarm_stream *s1;
    char path[64];
    int err = 0;

    snprintf(path, sizeof(path), "/tmp/fastn-rt-%d-cap.sock", (int)getpid());
    nh_setup(&a, &b);
    connect_nodes(&b, &a);
    srv_start(&srv, path);
    unix_addr(&ma, path);
    CHECK_ERR(router_add_client(a.r, "/cap/1.0.0", &ma, false, &me), 0);
    router_set_max_splices(a.r, 1);
    /* one stream held open: the one splice */
    s1 = swarm_stream_open(b.sw, &a.id.id, (const char *[]){"/cap/1.0.0"}, 1,
                           5000, fetch_cb, &held, &err);
    CHECK(s1 != NULL);
    CHECK(nh_run_until(&held.opened));
    uint64_t end = uv_hrtime() + 2000000000ull;
    while (!srv.info_ok && uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_ONCE);
    CHECK(router_splices_full(a.r));
    /* a second is refused */
    fetch(&b, &a, "/cap/1.0.0", &f);
    CHECK(f.err != 0);
    router_get_stats(a.r, &st);
    CHECK(st.refused >= 1 && st.splices == 1);
    CHECK(router_has(a.r, "/cap/1.0.0")); /* the handler is fine */
    /* the first ends: room again */
    swarm_stream_close(s1);
    CHECK(nh_run_until(&held.done));
    end = uv_hrtime() + 2000000000ull;
    while (router_splices_full(a.r) && uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_ONCE);
    fetch(&b, &a, "/cap/1.0.0", &f);
    CHECK_ERR(f.err, 0);
    CHECK_STR(f.got, "hello world");
    uv_close((uv_handle_t *)&srv.server, NULL);
    unlink(path);
    nh_teardown(&a, &b);
}

int main(void)
{
    me.uid = getuid();
    me.admin = true;
    RUN(in_process_round_robin);
    RUN(table_checks);
    RUN(client_handler_splice_and_dead_handler);
    RUN(client_ownership);
    RUN(listener_uid_checked_at_connect);
    RUN(splices_capped);
    return test_done();
}
