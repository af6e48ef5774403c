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
#include "util/file.h"

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

/* The router's own StreamInfo encoder writes exactly what protobuf-c
 * writes for the control protocol's message (short and long fields, so
 * one- and two-byte lengths), and a buffer too small is left as it was. */
TEST(stream_info_encoding)
{
    struct peer_id peer;
    struct multiaddr addr;
    char proto[ROUTER_PROTOCOL_MAX + 1];
    const size_t lens[] = {1, 12, 127, 128, 300, ROUTER_PROTOCOL_MAX};

    peer.len = 38;
    for (int i = 0; i < peer.len; i++)
        peer.bytes[i] = (uint8_t)(i * 7);
    CHECK_ERR(multiaddr_parse("/ip6/::1/tcp/4004", &addr), 0);
    for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
        P2pd__Pb__StreamInfo info = P2PD__PB__STREAM_INFO__INIT;
        struct buf mine, theirs;
        memset(proto, 'a' + (int)t, lens[t]);
        proto[lens[t]] = '\0';
        info.peer = (ProtobufCBinaryData){peer.len, peer.bytes};
        info.addr = (ProtobufCBinaryData){addr.len, addr.bytes};
        info.proto = proto;
        buf_init(&mine, 4096);
        buf_init(&theirs, 4096);
        CHECK_ERR(buf_append(&mine, "x", 1), 0); /* appends, after what is */
        CHECK_ERR(buf_append(&theirs, "x", 1), 0);
        CHECK_ERR(router_stream_info_append(&mine, &peer, &addr, proto), 0);
        CHECK_ERR(ipc_frame_append(&theirs, &info.base), 0);
        CHECK_EQ(mine.len, theirs.len);
        CHECK(memcmp(mine.data, theirs.data, mine.len) == 0);
        buf_cleanup(&mine);
        buf_cleanup(&theirs);
    }
    struct buf small;
    buf_init(&small, 40);
    CHECK_ERR(buf_append(&small, "keep", 4), 0);
    CHECK_ERR(router_stream_info_append(&small, &peer, &addr, "/p/1"),
              FASTN_ERR_TOO_LARGE);
    CHECK_EQ(small.len, 4);
    buf_cleanup(&small);
}

/* --- the policy in the router: plugins, peers, quarantine, block list -- */

/* The plugin host as the router sees it: /chat/1.0.0 served to known
 * peers, /echo/1.0.0 to anyone; a stream it takes is answered "plugin". */
struct plugins {
    const char *protos[3];
    size_t n;
    int taken, lookups;
};

static int plugins_lookup(void *arg, const char *protocol,
                          struct router_plugin_facts *out)
{
    struct plugins *p = arg;

    p->lookups++;
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->protos[i], protocol))
            continue;
        out->name = "test-plugin";
        out->manifest = strcmp(protocol, "/chat/1.0.0") ? ROUTER_SERVES_ANYONE
                                                        : ROUTER_SERVES_KNOWN;
        out->narrowed = out->protocol_narrowed = -1;
        return 0;
    }
    return FASTN_ERR_NOT_FOUND;
}

static int plugins_take(void *arg, struct swarm_stream *s)
{
    static struct namer n = {"plugin", 0};
    ((struct plugins *)arg)->taken++;
    return namer_on_stream(&n, s);
}

static size_t plugins_protocols(void *arg, const char **names, size_t max)
{
    struct plugins *p = arg;
    for (size_t i = 0; i < p->n && i < max; i++)
        names[i] = p->protos[i];
    return p->n;
}

static const struct router_plugin_ops plugin_ops = {
    plugins_lookup, plugins_take, plugins_protocols};

/* Known peers: those listed. */
struct peers {
    const struct peer_id *known[2];
    int asked;
};

static bool peers_is_known(void *arg, const struct peer_id *peer)
{
    struct peers *p = arg;
    p->asked++;
    for (int i = 0; i < 2; i++)
        if (p->known[i] && peer_id_equal(p->known[i], peer))
            return true;
    return false;
}

static const struct router_peer_ops peer_ops = {peers_is_known};

/* A quarantine that keeps each stream's bytes and the verdict. */
struct kept {
    int n;
    enum router_why why;
    struct peer_id peer;
    char protocol[64], plugin[64], data[64];
    size_t len;
};

static void kept_cb(struct swarm_stream *s, const struct swarm_stream_event *ev,
                    void *arg)
{
    struct kept *k = arg;

    if (ev->type == SWARM_STREAM_DATA) {
        if (k->len + ev->len < sizeof(k->data)) {
            memcpy(k->data + k->len, ev->data, ev->len);
            k->len += ev->len;
        }
        swarm_stream_consumed(s, ev->len);
    } else if (ev->type == SWARM_STREAM_FIN) {
        swarm_stream_close(s);
    }
}

static int kept_keep(void *arg, struct swarm_stream *s,
                     const struct router_verdict *why)
{
    struct kept *k = arg;

    CHECK_EQ(why->action, ROUTER_QUARANTINE);
    k->n++;
    k->why = why->why;
    k->peer = *why->peer;
    k->len = 0;
    snprintf(k->protocol, sizeof(k->protocol), "%s", why->protocol);
    snprintf(k->plugin, sizeof(k->plugin), "%s",
             why->plugin ? why->plugin : "");
    swarm_stream_set_cb(s, kept_cb, k);
    return 0;
}

static const struct router_quarantine_ops quarantine_ops = {.keep = kept_keep};

/* Runs the loop until the quarantine has its bytes (2 s at most). */
static void wait_kept(const struct kept *k, size_t len)
{
    uint64_t end = uv_hrtime() + 2000000000ull;
    while (k->len < len && uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_ONCE);
}

TEST(policy_in_the_router)
{
    struct nh_node a, b, c;
    struct plugins pl = {{"/chat/1.0.0", "/echo/1.0.0"}, 2, 0, 0};
    struct peers known = {{NULL, NULL}, 0};
    struct kept k = {0};
    struct fetch f = {.send = "hello"};
    struct router_stats st;
    struct router_verdict v;

    nh_setup(&a, &b);
    nh_node_init(&c, 3);
    connect_nodes(&b, &a);
    connect_nodes(&c, &a);
    CHECK_ERR(router_set_plugins(a.r, &plugin_ops, &pl), 0);
    router_set_peers(a.r, &peer_ops, &known);
    CHECK(router_has(a.r, "/chat/1.0.0") && router_has(a.r, "/echo/1.0.0"));
    /* a known-peers plugin: a stranger's stream is reset, unread */
    fetch(&b, &a, "/chat/1.0.0", &f);
    CHECK(f.err != 0 && f.len == 0);
    CHECK(known.asked >= 1);
    router_get_stats(a.r, &st);
    CHECK_EQ(st.denied, 1);
    /* once b is known it is served */
    known.known[0] = &b.id.id;
    fetch(&b, &a, "/chat/1.0.0", &f);
    CHECK_ERR(f.err, 0);
    CHECK_STR(f.got, "plugin");
    /* anyone's protocol: c, a stranger, is served, and nobody is asked */
    known.asked = 0;
    fetch(&c, &a, "/echo/1.0.0", &f);
    CHECK_STR(f.got, "plugin");
    CHECK_EQ(known.asked, 0);
    /* with a quarantine: the stranger's stream is kept, bytes and all */
    router_set_quarantine(a.r, &quarantine_ops, &k);
    fetch(&c, &a, "/chat/1.0.0", &f);
    wait_kept(&k, 5);
    CHECK_EQ(k.n, 1);
    CHECK_EQ(k.why, ROUTER_WHY_STRANGER);
    CHECK(peer_id_equal(&k.peer, &c.id.id));
    CHECK_STR(k.protocol, "/chat/1.0.0");
    CHECK_STR(k.plugin, "test-plugin");
    CHECK(k.len == 5 && memcmp(k.data, "hello", 5) == 0);
    /* and so is a protocol nothing serves (it was "na" without one) */
    fetch(&b, &a, "/unknown/1.0.0", &f);
    wait_kept(&k, 5);
    CHECK_EQ(k.n, 2);
    CHECK_EQ(k.why, ROUTER_WHY_UNKNOWN_PROTOCOL);
    CHECK_STR(k.plugin, "");
    CHECK(k.len == 5 && memcmp(k.data, "hello", 5) == 0);
    /* under the policy "refuse" nothing is kept */
    router_set_unknown_policy(a.r, ROUTER_UNKNOWN_REFUSE);
    fetch(&b, &a, "/unknown/1.0.0", &f);
    CHECK_ERR(f.err, FASTN_ERR_NET_PROTO_NA);
    fetch(&c, &a, "/chat/1.0.0", &f);
    CHECK(f.err != 0 && f.len == 0);
    CHECK_EQ(k.n, 2);
    router_set_unknown_policy(a.r, ROUTER_UNKNOWN_ASK);
    /* a blocked peer: "na" for everything, others served meanwhile */
    CHECK_ERR(router_block_add(a.r, &b.id.id), 0);
    CHECK_ERR(router_block_add(a.r, &b.id.id), FASTN_ERR_EXISTS);
    fetch(&b, &a, "/echo/1.0.0", &f);
    CHECK_ERR(f.err, FASTN_ERR_NET_PROTO_NA);
    fetch(&b, &a, "/unknown/1.0.0", &f); /* not kept either */
    CHECK_ERR(f.err, FASTN_ERR_NET_PROTO_NA);
    CHECK_EQ(k.n, 2);
    fetch(&c, &a, "/echo/1.0.0", &f);
    CHECK_STR(f.got, "plugin");
    router_decide(a.r, &b.id.id, "/echo/1.0.0", &v);
    CHECK(v.action == ROUTER_REFUSE && v.why == ROUTER_WHY_BLOCKED);
    router_get_stats(a.r, &st);
    CHECK(st.blocked >= 2 && st.blocked_now == 1 && st.quarantined == 2);
    CHECK_ERR(router_block_remove(a.r, &b.id.id), 0);
    CHECK_ERR(router_block_remove(a.r, &b.id.id), FASTN_ERR_NOT_FOUND);
    fetch(&b, &a, "/echo/1.0.0", &f);
    CHECK_STR(f.got, "plugin");
    /* a plugin taking a protocol drops a non-admin's handler of it */
    struct router_client u10 = {.uid = 10};
    struct multiaddr x;
    uid_t uid;
    unix_addr(&x, "/tmp/fastn-rt-x.sock");
    CHECK_ERR(router_add_client(a.r, "/new/1.0.0", &x, true, &u10), 0);
    CHECK_EQ(router_client_may_add(a.r, "/new/1.0.0", &x, &u10),
             ROUTER_RULE_OK);
    pl.protos[pl.n++] = "/new/1.0.0";
    CHECK_ERR(router_plugins_changed(a.r), 0);
    CHECK_ERR(router_client_uid(a.r, "/new/1.0.0", &x, &uid),
              FASTN_ERR_NOT_FOUND);
    CHECK_EQ(router_served_by(a.r, "/new/1.0.0", 10), ROUTER_SERVED_DAEMON);
    CHECK_EQ(router_client_may_add(a.r, "/new/1.0.0", &x, &u10),
             ROUTER_RULE_DAEMON_SERVES);
    /* the plugins gone: their protocols are not served */
    CHECK_ERR(router_set_plugins(a.r, NULL, NULL), 0);
    CHECK(!router_has(a.r, "/chat/1.0.0") && !router_has(a.r, "/new/1.0.0"));
    router_set_quarantine(a.r, NULL, NULL);
    fetch(&b, &a, "/echo/1.0.0", &f);
    CHECK_ERR(f.err, FASTN_ERR_NET_PROTO_NA);
    router_close(c.r);
    swarm_close(c.sw);
    nh_teardown(&a, &b);
    router_free(c.r);
    swarm_free(c.sw);
}

/* The block list's file: read, written at each change, refused whole
 * when a line is bad, never through a link; a write that fails changes
 * nothing. */
TEST(block_list_file)
{
    struct nh_node a, b;
    char dir[] = "/tmp/fastn-block-XXXXXX", path[128], moved[160], why[128];
    struct peer_id v[4];
    uint8_t *data = NULL;
    size_t len = 0;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/blocked-peers", dir);
    nh_setup(&a, &b);
    CHECK_ERR(router_block_load(a.r, path, why, sizeof(why)), 0); /* none */
    CHECK_EQ(router_blocked(a.r, v, 4), 0);
    CHECK_ERR(router_block_add(a.r, &b.id.id), 0);
    CHECK_ERR(router_block_add(a.r, &a.id.id), 0);
    CHECK_EQ(router_blocked(a.r, v, 4), 2);
    CHECK(peer_id_equal(&v[0], &b.id.id) && peer_id_equal(&v[1], &a.id.id));
    /* what a restart reads: another router loading the file */
    CHECK_ERR(router_block_load(b.r, path, why, sizeof(why)), 0);
    CHECK(router_is_blocked(b.r, &b.id.id) && router_is_blocked(b.r, &a.id.id));
    CHECK_ERR(router_block_remove(b.r, &b.id.id), 0);
    CHECK_ERR(router_block_load(a.r, path, why, sizeof(why)), 0);
    CHECK(!router_is_blocked(a.r, &b.id.id) &&
          router_is_blocked(a.r, &a.id.id));
    CHECK_ERR(file_read_all(path, 4096, &data, &len), 0);
    CHECK(data && data[0] == '#'); /* it says what it is */
    free(data);
    /* a bad line: refused whole, naming it; the list in force stays */
    FILE *fp = fopen(path, "w");
    char text[PEER_ID_STR_MAX];
    fprintf(fp, "# mine\n%s\nnot-a-peer\n", peer_id_format(&b.id.id, text));
    fclose(fp);
    CHECK_ERR(router_block_load(a.r, path, why, sizeof(why)),
              FASTN_ERR_MALFORMED);
    CHECK_STR(why, "line 3 is not a PeerID");
    CHECK(router_is_blocked(a.r, &a.id.id) &&
          !router_is_blocked(a.r, &b.id.id));
    /* a symbolic link there is not followed */
    snprintf(moved, sizeof(moved), "%s/elsewhere", dir);
    CHECK_EQ(rename(path, moved), 0);
    CHECK_EQ(symlink(moved, path), 0);
    CHECK_ERR(router_block_load(a.r, path, why, sizeof(why)), FASTN_ERR_PERM);
    unlink(path);
    unlink(moved);
    /* the folder gone: the change is not made, since it was not kept */
    CHECK_ERR(router_block_load(a.r, path, why, sizeof(why)), 0);
    CHECK_EQ(rmdir(dir), 0);
    CHECK_ERR(router_block_add(a.r, &b.id.id), FASTN_ERR_IO);
    CHECK(!router_is_blocked(a.r, &b.id.id));
    nh_teardown(&a, &b);
}

/* The file format: comments, blanks, CRLF, spaces, repeats; bad lines,
 * too many peers, too big a file; format and parse agree. */
TEST(block_list_format)
{
    struct identity ids[3];
    char t0[PEER_ID_STR_MAX], t1[PEER_ID_STR_MAX], text[1024], why[128];
    struct peer_id *v = NULL, in[3];
    size_t n = 0;
    struct buf out;

    CHECK_ERR(identity_global_init(), 0);
    for (int i = 0; i < 3; i++) {
        uint8_t seed[32];
        memset(seed, 40 + i, sizeof(seed));
        CHECK_ERR(identity_from_seed(&ids[i], seed), 0);
        in[i] = ids[i].id;
    }
    peer_id_format(&in[0], t0);
    peer_id_format(&in[1], t1);
    snprintf(text, sizeof(text), "# blocked\n\n  %s \r\n\t%s\n%s", t0, t1, t0);
    CHECK_ERR(router_block_parse((const uint8_t *)text, strlen(text), &v, &n,
                                 why, sizeof(why)),
              0);
    CHECK_EQ(n, 2); /* the repeat once */
    CHECK(v && peer_id_equal(&v[0], &in[0]) && peer_id_equal(&v[1], &in[1]));
    free(v);
    v = NULL;
    const char *bad[] = {"x\n", "# ok\n12D3KooW\n", "12D3KooWx y\n"};
    for (size_t i = 0; i < 3; i++) {
        CHECK_ERR(router_block_parse((const uint8_t *)bad[i], strlen(bad[i]),
                                     &v, &n, why, sizeof(why)),
                  FASTN_ERR_MALFORMED);
        CHECK(v == NULL);
    }
    CHECK_STR(why, "line 1 is not a PeerID");
    /* a NUL inside a line, and an overlong line */
    char nul[PEER_ID_STR_MAX + 8];
    snprintf(nul, sizeof(nul), "%s", t0);
    nul[5] = '\0';
    CHECK_ERR(router_block_parse((const uint8_t *)nul, strlen(t0), &v, &n, why,
                                 sizeof(why)),
              FASTN_ERR_MALFORMED);
    memset(text, 'z', 300);
    CHECK_ERR(router_block_parse((const uint8_t *)text, 300, &v, &n, why,
                                 sizeof(why)),
              FASTN_ERR_MALFORMED);
    /* round trip, and past ROUTER_BLOCK_MAX */
    buf_init(&out, ROUTER_BLOCK_FILE_MAX);
    CHECK_ERR(router_block_format(in, 3, &out), 0);
    CHECK_ERR(router_block_parse(out.data, out.len, &v, &n, why, sizeof(why)),
              0);
    CHECK_EQ(n, 3);
    for (size_t i = 0; v && i < n && i < 3; i++)
        CHECK(peer_id_equal(&v[i], &in[i]));
    free(v);
    v = NULL;
    buf_reset(&out);
    for (int i = 0; i <= ROUTER_BLOCK_MAX; i++) { /* distinct PeerIDs */
        struct peer_id p = in[0];
        p.bytes[p.len - 1] = (uint8_t)i;
        p.bytes[p.len - 2] = (uint8_t)(i >> 8);
        peer_id_format(&p, t1);
        CHECK_ERR(buf_append(&out, t1, strlen(t1)), 0);
        CHECK_ERR(buf_put_u8(&out, '\n'), 0);
    }
    CHECK_ERR(router_block_parse(out.data, out.len, &v, &n, why, sizeof(why)),
              FASTN_ERR_TOO_LARGE);
    CHECK(v == NULL);
    uint8_t *big = calloc(1, ROUTER_BLOCK_FILE_MAX + 1);
    CHECK_ERR(router_block_parse(big, ROUTER_BLOCK_FILE_MAX + 1, &v, &n, why,
                                 sizeof(why)),
              FASTN_ERR_TOO_LARGE);
    free(big);
    buf_cleanup(&out);
    for (int i = 0; i < 3; i++)
        identity_cleanup(&ids[i]);
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
    RUN(stream_info_encoding);
    RUN(policy_in_the_router);
    RUN(block_list_file);
    RUN(block_list_format);
    return test_done();
}
