/* Unit tests for the fastn extension's port forwarding and perf requests
 * (src/ipc/req_forward.c, req_perf.c, the router's forwards in
 * src/router/forward.c, and the session's leases and EOF cancellation):
 * sessions fed directly, with real swarms and routers on one libuv loop.
 * PERF answers at its end with the figures, PERF_PROGRESS meanwhile, the
 * client's EOF cancels a run; FORWARD and EXPOSE are listed, closed by
 * their own connection only, and gone with it; a non-admin forwards
 * from loopback and unprivileged ports only, and lists its own; bad
 * requests get their errors. */
#include "net_harness.h"
#include "router/forward.h"

static void put_ext(struct buf *b, Fastn__Request *ext, int type, uint64_t id)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    req.type = P2PD__PB__REQUEST__TYPE__FASTN;
    req.fastn = ext;
    ext->version = 1;
    ext->type = (Fastn__Request__Type)type;
    ext->has_call_id = id != 0;
    ext->call_id = id;
    nh_put(b, &req);
}

static void put_perf(struct buf *b, const struct nh_node *to, uint64_t up,
                     uint64_t down, uint64_t id)
{
    Fastn__Request ext = FASTN__REQUEST__INIT;
    Fastn__PerfRequest pr = FASTN__PERF_REQUEST__INIT;
    pr.peer.data = (uint8_t *)to->id.id.bytes;
    pr.peer.len = to->id.id.len;
    pr.upload = up;
    pr.download = down;
    ext.perf = &pr;
    put_ext(b, &ext, FASTN__REQUEST__TYPE__PERF, id);
}

static void put_progress(struct buf *b, uint64_t of, uint64_t id)
{
    Fastn__Request ext = FASTN__REQUEST__INIT;
    Fastn__PerfProgressRequest pp = FASTN__PERF_PROGRESS_REQUEST__INIT;
    pp.call_id = of;
    ext.perf_progress = &pp;
    put_ext(b, &ext, FASTN__REQUEST__TYPE__PERF_PROGRESS, id);
}

static void connect_to(struct ipc_session *s, struct nh_node *a)
{
    struct buf in;
    buf_init(&in, 1 << 16);
    nh_put_connect(&in, a, &a->addr);
    nh_feed(s, &in, 1000);
    CHECK(nh_run_until_responses(s, 1));
    P2pd__Pb__Response *r = nh_next_response(s);
    CHECK_ERR(nh_code_of(r), 0);
    p2pd__pb__response__free_unpacked(r, NULL);
    buf_cleanup(&in);
}

TEST(perf_answers_with_figures)
{
    struct nh_node a, b;
    struct ipc_session s;
    struct buf in;
    P2pd__Pb__Response *r;

    nh_setup_session(&a, &b, &s, &in);
    connect_to(&s, &a);
    put_perf(&in, &a, 3 << 20, 5 << 20, 7);
    nh_feed(&s, &in, 1000);
    CHECK_EQ(s.n_deferred, 1);
    CHECK(ipc_session_wants_input(&s)); /* unordered: the session goes on */
    CHECK(nh_run_until_responses(&s, 1));
    r = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r), 0);
    CHECK(r && r->fastn && r->fastn->call_id == 7 && r->fastn->perf);
    if (r && r->fastn && r->fastn->perf) {
        const Fastn__PerfResult *p = r->fastn->perf;
        CHECK(p->done);
        CHECK_EQ(p->uploaded, 3 << 20);
        CHECK_EQ(p->downloaded, 5 << 20);
        CHECK(p->upload_us > 0 && p->download_us > 0);
        CHECK_EQ(p->elapsed_us, p->upload_us + p->download_us);
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    /* nothing either way is a run too */
    put_perf(&in, &a, 0, 0, 8);
    nh_feed(&s, &in, 1000);
    CHECK(nh_run_until_responses(&s, 1));
    r = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r), 0);
    CHECK(r && r->fastn && r->fastn->perf && r->fastn->perf->downloaded == 0);
    p2pd__pb__response__free_unpacked(r, NULL);
    nh_teardown_session(&a, &b, &s, &in);
}

TEST(perf_progress_and_eof_cancel)
{
    struct nh_node a, b;
    struct ipc_session s;
    struct buf in;
    P2pd__Pb__Response *r;
    struct swarm_stats st;

    nh_setup_session(&a, &b, &s, &in);
    connect_to(&s, &a);
    put_perf(&in, &a, 1ull << 40, 0, 1); /* runs until cancelled */
    nh_feed(&s, &in, 1000);
    uint64_t end = uv_hrtime() + 300000000ull;
    while (uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_NOWAIT);
    CHECK_EQ(nh_count_responses(&s), 0);
    put_progress(&in, 1, 2);
    put_progress(&in, 99, 3);
    nh_feed(&s, &in, 1000);
    CHECK_EQ(nh_count_responses(&s), 2);
    r = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r), 0);
    CHECK(r && r->fastn && r->fastn->call_id == 2 && r->fastn->perf);
    if (r && r->fastn && r->fastn->perf) {
        CHECK(!r->fastn->perf->done);
        CHECK(r->fastn->perf->uploaded > 0);
        CHECK(r->fastn->perf->elapsed_us > 0);
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    r = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_NOT_FOUND);
    p2pd__pb__response__free_unpacked(r, NULL);
    /* the client's EOF cancels the run: no answer, the streams end */
    swarm_get_stats(b.sw, &st);
    CHECK_EQ(st.streams, 1);
    ipc_session_eof(&s);
    CHECK_EQ(s.n_deferred, 0);
    CHECK(ipc_session_done(&s));
    end = uv_hrtime() + 2000000000ull;
    do {
        uv_run(&nh_loop, UV_RUN_NOWAIT);
        swarm_get_stats(a.sw, &st);
    } while (st.streams && uv_hrtime() < end);
    CHECK_EQ(st.streams, 0);
    swarm_get_stats(b.sw, &st);
    CHECK_EQ(st.streams, 0);
    nh_teardown_session(&a, &b, &s, &in);
}

TEST(perf_bad_requests)
{
    struct nh_node a, b;
    struct ipc_session s;
    struct buf in;
    Fastn__Request ext = FASTN__REQUEST__INIT;

    nh_setup_session(&a, &b, &s, &in);
    put_ext(&in, &ext, FASTN__REQUEST__TYPE__PERF, 1); /* no part */
    put_ext(&in, &ext, FASTN__REQUEST__TYPE__PERF_PROGRESS, 2);
    nh_feed(&s, &in, 1000);
    {
        Fastn__PerfRequest pr = FASTN__PERF_REQUEST__INIT;
        pr.peer.data = (uint8_t *)"nope";
        pr.peer.len = 4;
        ext.perf = &pr;
        put_ext(&in, &ext, FASTN__REQUEST__TYPE__PERF, 3);
        ext.perf = NULL;
    }
    put_perf(&in, &b, 1, 1, 4); /* itself */
    nh_feed(&s, &in, 1000);
    int want[] = {FASTN_ERR_MALFORMED, FASTN_ERR_MALFORMED,
                  FASTN_ERR_BAD_PEER_ID, FASTN_ERR_NET_DIAL_SELF};
    nh_expect_codes(&s, want, 4);
    CHECK(!s.closing);
    nh_teardown_session(&a, &b, &s, &in);
}

static void put_forward(struct buf *b, const char *listen,
                        const struct peer_id *peer, const char *proto)
{
    Fastn__Request ext = FASTN__REQUEST__INIT;
    Fastn__ForwardRequest fr = FASTN__FORWARD_REQUEST__INIT;
    struct multiaddr ma;
    CHECK_ERR(multiaddr_parse(listen, &ma), 0);
    fr.listen.data = ma.bytes;
    fr.listen.len = ma.len;
    fr.peer.data = (uint8_t *)peer->bytes;
    fr.peer.len = peer->len;
    fr.protocol = (char *)proto;
    ext.forward = &fr;
    put_ext(b, &ext, FASTN__REQUEST__TYPE__FORWARD, 0);
}

static void put_expose(struct buf *b, const char *target,
                       const struct peer_id *allow, size_t n, const char *proto)
{
    Fastn__Request ext = FASTN__REQUEST__INIT;
    Fastn__ExposeRequest er = FASTN__EXPOSE_REQUEST__INIT;
    ProtobufCBinaryData pb[4];
    struct multiaddr ma;
    CHECK_ERR(multiaddr_parse(target, &ma), 0);
    for (size_t i = 0; i < n && i < 4; i++)
        pb[i] = (ProtobufCBinaryData){allow[i].len, (uint8_t *)allow[i].bytes};
    er.target.data = ma.bytes;
    er.target.len = ma.len;
    er.allow = pb;
    er.n_allow = n;
    er.protocol = (char *)proto;
    ext.expose = &er;
    put_ext(b, &ext, FASTN__REQUEST__TYPE__EXPOSE, 0);
}

static void put_close(struct buf *b, uint64_t id)
{
    Fastn__Request ext = FASTN__REQUEST__INIT;
    Fastn__ForwardCloseRequest fc = FASTN__FORWARD_CLOSE_REQUEST__INIT;
    fc.id = id;
    ext.forward_close = &fc;
    put_ext(b, &ext, FASTN__REQUEST__TYPE__FORWARD_CLOSE, 0);
}

/* FORWARDS: how many, and how many the asker made. */
static void list(struct ipc_session *s, size_t *n, size_t *mine)
{
    struct buf in;
    Fastn__Request ext = FASTN__REQUEST__INIT;
    P2pd__Pb__Response *r;

    buf_init(&in, 1 << 16);
    put_ext(&in, &ext, FASTN__REQUEST__TYPE__FORWARDS, 0);
    nh_feed(s, &in, 1000);
    r = nh_next_response(s);
    CHECK_ERR(nh_code_of(r), 0);
    *n = *mine = 0;
    if (r && r->fastn) {
        *n = r->fastn->n_forwards;
        for (size_t i = 0; i < *n; i++)
            *mine += r->fastn->forwards[i]->mine;
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    buf_cleanup(&in);
}

TEST(forward_lifetimes)
{
    struct nh_node a, b;
    struct ipc_session s, other;
    struct buf in;
    P2pd__Pb__Response *r;
    uint64_t fid = 0, eid = 0;
    size_t n, mine;

    nh_setup_session(&a, &b, &s, &in);
    nh_open_session(&other, &b.host, &nh_self);
    put_forward(&in, "/ip4/127.0.0.1/tcp/0", &a.id.id, NULL);
    put_expose(&in, "/ip4/127.0.0.1/tcp/9", &a.id.id, 1, "/svc/1.0.0");
    nh_feed(&s, &in, 1000);
    r = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r), 0);
    CHECK(r && r->fastn && r->fastn->forward);
    if (r && r->fastn && r->fastn->forward) {
        const Fastn__ForwardInfo *fi = r->fastn->forward;
        struct multiaddr ma;
        struct multiaddr_tcp t;
        fid = fi->id;
        CHECK(fi->kind == FASTN__FORWARD_INFO__KIND__FORWARD);
        CHECK_STR(fi->protocol, FORWARD_PROTOCOL_ID);
        CHECK_ERR(multiaddr_from_bytes(fi->listen.data, fi->listen.len, &ma),
                  0);
        CHECK_ERR(multiaddr_to_tcp(&ma, &t), 0);
        CHECK(t.port != 0); /* the port as bound */
        CHECK(fi->mine);
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    r = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r), 0);
    if (r && r->fastn && r->fastn->forward)
        eid = r->fastn->forward->id;
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(router_has(b.r, "/svc/1.0.0"));
    list(&other, &n, &mine);
    CHECK_EQ(n, 2);
    CHECK_EQ(mine, 0);
    list(&s, &n, &mine);
    CHECK_EQ(mine, 2);
    /* only the connection that made it may close it */
    put_close(&in, fid);
    nh_feed(&other, &in, 1000);
    r = nh_next_response(&other);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_NOT_FOUND);
    p2pd__pb__response__free_unpacked(r, NULL);
    put_close(&in, fid);
    nh_feed(&s, &in, 1000);
    r = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r), 0);
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(router_fwd_find(b.r, fid) == NULL);
    CHECK(router_fwd_find(b.r, eid) != NULL);
    /* the connection goes: its expose goes with it */
    ipc_session_cleanup(&s);
    CHECK(router_fwd_find(b.r, eid) == NULL);
    CHECK(!router_has(b.r, "/svc/1.0.0"));
    list(&other, &n, &mine);
    CHECK_EQ(n, 0);
    /* and the client's EOF ends it too, once the session closes */
    put_expose(&in, "/ip4/127.0.0.1/tcp/9", NULL, 0, NULL);
    nh_feed(&other, &in, 1000);
    r = nh_next_response(&other);
    CHECK_ERR(nh_code_of(r), 0);
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(router_has(b.r, FORWARD_PROTOCOL_ID));
    ipc_session_eof(&other);
    CHECK(ipc_session_done(&other));
    ipc_session_cleanup(&other);
    CHECK(!router_has(b.r, FORWARD_PROTOCOL_ID));
    buf_cleanup(&in);
    nh_teardown(&a, &b);
}

TEST(forward_bad_requests)
{
    struct nh_node a, b;
    struct ipc_session s;
    struct buf in;
    P2pd__Pb__Response *r;
    Fastn__Request ext = FASTN__REQUEST__INIT;

    nh_setup_session(&a, &b, &s, &in);
    put_ext(&in, &ext, FASTN__REQUEST__TYPE__FORWARD, 0);
    put_ext(&in, &ext, FASTN__REQUEST__TYPE__EXPOSE, 0);
    put_ext(&in, &ext, FASTN__REQUEST__TYPE__FORWARD_CLOSE, 0);
    put_forward(&in, "/ip4/127.0.0.1/tcp/0", &b.id.id, NULL); /* itself */
    put_forward(&in, "/unix/%2Ftmp%2Fx", &a.id.id, NULL);
    put_forward(&in, "/ip4/127.0.0.1/tcp/0", &a.id.id, "bad\nproto");
    put_expose(&in, "/dns4/example.com/tcp/22", NULL, 0, "/a/1");
    put_expose(&in, "/ip4/127.0.0.1/tcp/22", NULL, 0, "/b/1");
    put_expose(&in, "/ip4/127.0.0.1/tcp/22", NULL, 0, "/b/1"); /* served */
    put_close(&in, 12345);
    nh_feed(&s, &in, 1000);
    int want[] = {FASTN_ERR_MALFORMED,   FASTN_ERR_MALFORMED,
                  FASTN_ERR_MALFORMED,   FASTN_ERR_NET_DIAL_SELF,
                  FASTN_ERR_UNSUPPORTED, FASTN_ERR_INVAL,
                  FASTN_ERR_UNSUPPORTED, 0,
                  FASTN_ERR_EXISTS,      FASTN_ERR_NOT_FOUND};
    nh_expect_codes(&s, want, sizeof(want) / sizeof(want[0]));
    /* the port in use: a second forward on the first one's port */
    put_forward(&in, "/ip4/127.0.0.1/tcp/0", &a.id.id, NULL);
    nh_feed(&s, &in, 1000);
    r = nh_next_response(&s);
    char listen[MULTIADDR_STR_MAX] = "";
    if (r && r->fastn && r->fastn->forward) {
        struct multiaddr ma;
        multiaddr_from_bytes(r->fastn->forward->listen.data,
                             r->fastn->forward->listen.len, &ma);
        multiaddr_format(&ma, listen, sizeof(listen));
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    put_forward(&in, listen, &a.id.id, NULL);
    nh_feed(&s, &in, 1000);
    r = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_EXISTS);
    CHECK(r && r->error && strstr(r->error->msg, "cannot listen on"));
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(!s.closing);
    nh_teardown_session(&a, &b, &s, &in);
}

/* --- leases alone ---------------------------------------------------------
 */

static int released;

static void count_release(struct ipc_lease *l)
{
    (void)l;
    released++;
}

TEST(leases)
{
    struct ipc_host host = {0};
    struct identity id;
    uint8_t seed[32] = {3};
    struct ipc_session s;
    struct ipc_lease l1 = {0}, l2 = {0}, l3 = {0};

    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_from_seed(&id, seed), 0);
    host.local_id = id.id;
    host.policy.daemon_uid = 1000;
    ipc_session_init(&s, &host, &nh_self);
    ipc_session_lease(&s, &l1, count_release);
    ipc_session_lease(&s, &l2, count_release);
    ipc_session_lease(&s, &l3, count_release);
    ipc_lease_drop(&l2);
    ipc_lease_drop(&l2); /* twice: harmless */
    ipc_session_cleanup(&s);
    CHECK_EQ(released, 2);
    CHECK(l1.pprev == NULL && l3.pprev == NULL);
}

/* A non-admin client's forwards listen on loopback, on a port any user
 * could bind; it lists only its own uid's; EXPOSE is the admin's. */
TEST(forward_privileges)
{
    static const uid_t users[] = {4242};
    const struct ipc_peer user_peer = {.pid = 7, .uid = 4242, .gid = 4242};
    struct nh_node a, b;
    struct ipc_session s, u;
    struct buf in;
    P2pd__Pb__Response *r;
    size_t n, mine;

    nh_setup_session(&a, &b, &s, &in);
    b.host.policy.allow_uids = users;
    b.host.policy.n_allow_uids = 1;
    nh_open_session(&u, &b.host, &user_peer);
    put_forward(&in, "/ip4/0.0.0.0/tcp/0", &a.id.id, NULL);
    put_forward(&in, "/ip6/::/tcp/0", &a.id.id, NULL);
    put_forward(&in, "/ip4/192.0.2.1/tcp/0", &a.id.id, NULL);
    put_forward(&in, "/ip4/127.0.0.1/tcp/80", &a.id.id, NULL);
    put_expose(&in, "/ip4/127.0.0.1/tcp/9", &a.id.id, 1, "/svc/1.0.0");
    put_forward(&in, "/ip4/127.0.0.1/tcp/0", &a.id.id, NULL);
    put_forward(&in, "/ip6/::1/tcp/0", &a.id.id, NULL);
    nh_feed(&u, &in, 1000);
    for (int i = 0; i < 5; i++) {
        r = nh_next_response(&u);
        CHECK_ERR(nh_code_of(r), FASTN_ERR_ADMIN_ONLY);
        CHECK(r && r->error &&
              (strstr(r->error->msg, i < 3    ? "beyond this machine"
                                     : i == 3 ? "privileged port 80"
                                              : "exposing a local service")));
        p2pd__pb__response__free_unpacked(r, NULL);
    }
    r = nh_next_response(&u);
    CHECK_ERR(nh_code_of(r), 0);
    p2pd__pb__response__free_unpacked(r, NULL);
    r = nh_next_response(&u); /* ::1 may be missing in a container */
    CHECK(nh_code_of(r) == 0 || nh_code_of(r) == FASTN_ERR_UNSUPPORTED);
    size_t made = 1 + (nh_code_of(r) == 0);
    p2pd__pb__response__free_unpacked(r, NULL);
    /* the admin's forward on 0.0.0.0 */
    put_forward(&in, "/ip4/0.0.0.0/tcp/0", &a.id.id, NULL);
    nh_feed(&s, &in, 1000);
    nh_expect_codes(&s, (int[]){0}, 1);
    /* the user sees its own; the admin every one */
    list(&u, &n, &mine);
    CHECK(n == made && mine == made);
    list(&s, &n, &mine);
    CHECK(n == made + 1 && mine == 1);
    ipc_session_cleanup(&u);
    nh_teardown_session(&a, &b, &s, &in);
}

int main(void)
{
    RUN(perf_answers_with_figures);
    RUN(perf_progress_and_eof_cancel);
    RUN(perf_bad_requests);
    RUN(forward_lifetimes);
    RUN(forward_bad_requests);
    RUN(forward_privileges);
    RUN(leases);
    return test_done();
}
