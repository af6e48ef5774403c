/* Unit tests for src/ipc's sans-I/O core: admission policy, sessions
 * (requests in order, bad frames, truncation, refusal) and the IDENTIFY,
 * LIST_PEERS and fastn STATUS handlers. */
#include "net_harness.h"

static struct identity ident;
static struct ipc_host host;
static const struct ipc_peer self_peer = {.pid = 42, .uid = 1000, .gid = 1000};

static void setup(void)
{
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(0xa0 + i);
    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_from_seed(&ident, seed), 0);
    memset(&host, 0, sizeof(host));
    host.identity = &ident;
    host.home = "/tmp/home";
    host.started_ms = 1000;
    host.policy.daemon_uid = 1000;
}

/* What most cases start from: the host, an input buffer of cap bytes, and
 * a session for the daemon's own user. */
static void start(struct ipc_session *s, struct buf *b, size_t cap)
{
    setup();
    buf_init(b, cap);
    nh_open_session(s, &host, &self_peer);
}

static void stop(struct ipc_session *s, struct buf *b)
{
    ipc_session_cleanup(s);
    buf_cleanup(b);
}

static void put_request(struct buf *b, int type, const Fastn__Request *ext)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    req.type = (P2pd__Pb__Request__Type)type;
    req.fastn = (Fastn__Request *)ext;
    nh_put(b, &req);
}

/* Takes the next response off the session's output; NULL when none. */
static P2pd__Pb__Response *next_response(struct ipc_session *s)
{
    const uint8_t *body;
    size_t body_len;
    if (!nh_peek_frame(s, &body, &body_len))
        return NULL;
    /* Response.type is field 1: it is always on the wire, even for OK */
    CHECK(body_len >= 2 && body[0] == 0x08);
    P2pd__Pb__Response *r = nh_next_response(s);
    CHECK(r != NULL);
    return r;
}

static int error_code(const P2pd__Pb__Response *r)
{
    if (r->type != P2PD__PB__RESPONSE__TYPE__ERROR || !r->error || !r->fastn ||
        !r->fastn->has_code)
        return 1;
    return r->fastn->code;
}

TEST(identify)
{
    struct ipc_session s;
    struct buf b;

    start(&s, &b, 1 << 20);
    put_request(&b, P2PD__PB__REQUEST__TYPE__IDENTIFY, NULL);
    nh_feed(&s, &b, 5000);
    P2pd__Pb__Response *r = next_response(&s);
    CHECK(r && r->type == P2PD__PB__RESPONSE__TYPE__OK && r->identify);
    if (r && r->identify) {
        CHECK_EQ(r->identify->id.len, ident.id.len);
        CHECK_MEM(r->identify->id.data, ident.id.bytes, ident.id.len);
        CHECK_EQ(r->identify->n_addrs, 0);
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(!s.closing);
    CHECK_EQ(host.requests, 1);
    stop(&s, &b);
}

TEST(requests_answered_in_order_bytewise)
{
    struct ipc_session s;
    struct buf b;
    static const int types[] = {P2PD__PB__REQUEST__TYPE__LIST_PEERS,
                                P2PD__PB__REQUEST__TYPE__DHT,
                                P2PD__PB__REQUEST__TYPE__IDENTIFY};

    start(&s, &b, 1 << 20);
    for (int i = 0; i < 3; i++)
        put_request(&b, types[i], NULL);
    /* one byte at a time: frames split anywhere */
    for (size_t i = 0; i < b.len; i++)
        CHECK_ERR(ipc_session_feed(&s, b.data + i, 1, 5000), 0);
    P2pd__Pb__Response *r = next_response(&s);
    CHECK(r && r->type == P2PD__PB__RESPONSE__TYPE__OK && r->n_peers == 0);
    p2pd__pb__response__free_unpacked(r, NULL);
    /* a well-formed request we do not serve: an error, not a hang-up */
    r = next_response(&s);
    CHECK(r && error_code(r) == FASTN_ERR_UNSUPPORTED);
    CHECK(r && strstr(r->error->msg, "DHT") != NULL);
    p2pd__pb__response__free_unpacked(r, NULL);
    r = next_response(&s);
    CHECK(r && r->identify);
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(next_response(&s) == NULL);
    CHECK(!s.closing);
    stop(&s, &b);
}

static void check_fails(const uint8_t *p, size_t n, int code)
{
    struct ipc_session s;
    struct buf b;

    nh_open_session(&s, &host, &self_peer);
    CHECK_ERR(ipc_session_feed(&s, p, n, 5000), code);
    CHECK(s.closing);
    P2pd__Pb__Response *r = next_response(&s);
    CHECK(r && error_code(r) == code);
    p2pd__pb__response__free_unpacked(r, NULL);
    /* a closing session answers nothing more */
    buf_init(&b, 1024);
    put_request(&b, P2PD__PB__REQUEST__TYPE__IDENTIFY, NULL);
    CHECK_ERR(ipc_session_feed(&s, b.data, b.len, 5000), 0);
    CHECK(next_response(&s) == NULL);
    CHECK(ipc_session_done(&s));
    stop(&s, &b);
}

TEST(bad_frames_close)
{
    static const uint8_t garbage[] = {0x04, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t empty[] = {0x00};
    static const uint8_t bad_varint[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t big[16];
    size_t n = uvarint_encode(IPC_MAX_REQUEST + 1, big);

    setup();
    check_fails(garbage, sizeof(garbage), FASTN_ERR_MALFORMED);
    check_fails(empty, sizeof(empty), FASTN_ERR_MALFORMED);
    check_fails(bad_varint, sizeof(bad_varint), FASTN_ERR_MALFORMED);
    check_fails(big, n, FASTN_ERR_TOO_LARGE);
}

TEST(largest_request_fits)
{
    struct ipc_session s;
    uint8_t *p = calloc(1, IPC_MAX_REQUEST + IPC_MAX_PREFIX + 3);
    size_t n;

    setup();
    /* a maximal frame: IDENTIFY followed by one big unknown field */
    n = uvarint_encode(IPC_MAX_REQUEST, p);
    p[n++] = 0x08;
    p[n++] = 0x00;
    p[n++] = 0xfa; /* field 999, length-delimited */
    p[n++] = 0x3e;
    size_t room = IPC_MAX_REQUEST - 4;
    size_t vlen = room - uvarint_len(room - 3);
    n += uvarint_encode(vlen, p + n);
    n += vlen;
    nh_open_session(&s, &host, &self_peer);
    CHECK_ERR(ipc_session_feed(&s, p, n, 5000), 0);
    P2pd__Pb__Response *r = next_response(&s);
    CHECK(r && r->identify);
    p2pd__pb__response__free_unpacked(r, NULL);
    ipc_session_cleanup(&s);
    free(p);
}

TEST(truncated_at_eof)
{
    struct ipc_session s;
    struct buf b;

    setup();
    buf_init(&b, 1024);
    put_request(&b, P2PD__PB__REQUEST__TYPE__IDENTIFY, NULL);
    nh_open_session(&s, &host, &self_peer);
    CHECK_ERR(ipc_session_feed(&s, b.data, b.len - 1, 5000), 0);
    CHECK(next_response(&s) == NULL);
    CHECK_ERR(ipc_session_eof(&s), FASTN_ERR_TRUNCATED);
    P2pd__Pb__Response *r = next_response(&s);
    CHECK(r && error_code(r) == FASTN_ERR_TRUNCATED);
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(ipc_session_done(&s));
    ipc_session_cleanup(&s);
    /* a clean EOF between requests is no error */
    nh_open_session(&s, &host, &self_peer);
    CHECK_ERR(ipc_session_eof(&s), 0);
    CHECK(ipc_session_done(&s));
    stop(&s, &b);
}

TEST(refused_before_any_request)
{
    struct ipc_session s;
    struct buf b;
    struct ipc_peer stranger = {.pid = 7, .uid = 4242, .gid = 4242};

    setup();
    buf_init(&b, 1024);
    ipc_session_init(&s, &host, &stranger);
    CHECK_ERR(ipc_session_open(&s), FASTN_ERR_NOT_ALLOWED);
    CHECK(s.closing);
    put_request(&b, P2PD__PB__REQUEST__TYPE__IDENTIFY, NULL);
    nh_feed(&s, &b, 5000);
    P2pd__Pb__Response *r = next_response(&s);
    CHECK(r && error_code(r) == FASTN_ERR_NOT_ALLOWED && !r->identify);
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(next_response(&s) == NULL);
    CHECK_EQ(host.requests, 0);
    stop(&s, &b);
}

TEST(policy)
{
    uid_t uids[] = {2000};
    gid_t gids[] = {3000};
    gid_t admins[] = {27};
    struct ipc_policy p = {.daemon_uid = 1000};
    struct ipc_peer peer = {.uid = 2000, .gid = 2000};

    CHECK_EQ(ipc_policy_admit(&p, &peer), IPC_REFUSED);
    peer.uid = 0;
    CHECK_EQ(ipc_policy_admit(&p, &peer), IPC_ADMIN);
    peer.uid = 1000;
    CHECK_EQ(ipc_policy_admit(&p, &peer), IPC_ADMIN);
    p.allow_uids = uids;
    p.n_allow_uids = 1;
    peer.uid = 2000;
    CHECK_EQ(ipc_policy_admit(&p, &peer), IPC_USER);
    peer.uid = 2001;
    CHECK_EQ(ipc_policy_admit(&p, &peer), IPC_REFUSED);
    p.allow_gids = gids;
    p.n_allow_gids = 1;
    peer.gid = 3000; /* primary group */
    CHECK_EQ(ipc_policy_admit(&p, &peer), IPC_USER);
    peer.gid = 2001;
    peer.groups[0] = 3000; /* supplementary group */
    peer.n_groups = 1;
    CHECK_EQ(ipc_policy_admit(&p, &peer), IPC_USER);
    p.admin_gids = admins;
    p.n_admin_gids = 1;
    peer.groups[1] = 27;
    peer.n_groups = 2;
    CHECK_EQ(ipc_policy_admit(&p, &peer), IPC_ADMIN);
}

TEST(fastn_status)
{
    struct ipc_session s;
    struct buf b;
    Fastn__Request ext = FASTN__REQUEST__INIT;

    start(&s, &b, 1024);
    ext.version = 1;
    ext.type = FASTN__REQUEST__TYPE__STATUS;
    ext.has_call_id = true;
    ext.call_id = 77;
    put_request(&b, P2PD__PB__REQUEST__TYPE__FASTN, &ext);
    nh_feed(&s, &b, 5000);
    P2pd__Pb__Response *r = next_response(&s);
    CHECK(r && r->type == P2PD__PB__RESPONSE__TYPE__OK && r->fastn);
    if (r && r->fastn && r->fastn->status) {
        Fastn__Status *st = r->fastn->status;
        CHECK_EQ(r->fastn->version, IPC_EXT_VERSION);
        CHECK(r->fastn->has_call_id && r->fastn->call_id == 77);
        CHECK_STR(st->version, FASTN_VERSION);
        CHECK_EQ(st->uptime_ms, 4000);
        CHECK_EQ(st->pid, getpid());
        CHECK_STR(st->home, "/tmp/home");
        CHECK_MEM(st->peer_id.data, ident.id.bytes, ident.id.len);
        CHECK_EQ(st->requests, 0);
    } else {
        CHECK(!"no status");
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    stop(&s, &b);
}

TEST(fastn_errors_keep_session)
{
    struct ipc_session s;
    struct buf b;
    Fastn__Request ext = FASTN__REQUEST__INIT;

    start(&s, &b, 1024);
    put_request(&b, P2PD__PB__REQUEST__TYPE__FASTN, NULL); /* no part */
    ext.version = 9;
    ext.type = (Fastn__Request__Type)55; /* from a newer client */
    put_request(&b, P2PD__PB__REQUEST__TYPE__FASTN, &ext);
    put_request(&b, 77, NULL); /* a Request.Type from the future */
    nh_feed(&s, &b, 5000);
    P2pd__Pb__Response *r = next_response(&s);
    CHECK(r && error_code(r) == FASTN_ERR_MALFORMED);
    p2pd__pb__response__free_unpacked(r, NULL);
    r = next_response(&s);
    CHECK(r && error_code(r) == FASTN_ERR_UNSUPPORTED);
    CHECK(r && r->fastn && r->fastn->version == IPC_EXT_VERSION);
    p2pd__pb__response__free_unpacked(r, NULL);
    r = next_response(&s);
    CHECK(r && error_code(r) == FASTN_ERR_UNSUPPORTED);
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(!s.closing);
    stop(&s, &b);
}

TEST(client_not_reading_is_closed)
{
    struct ipc_session s;
    struct buf b;

    start(&s, &b, 1 << 20);
    s.out.max = 200; /* as if the transport could not send */
    for (int i = 0; i < 100; i++)
        put_request(&b, P2PD__PB__REQUEST__TYPE__IDENTIFY, NULL);
    nh_feed(&s, &b, 5000);
    CHECK(s.closing);
    CHECK(s.out.len <= 200);
    stop(&s, &b);
}

TEST(no_secret_in_any_response)
{
    struct ipc_session s;
    struct buf b;
    Fastn__Request ext = FASTN__REQUEST__INIT;

    start(&s, &b, 1 << 16);
    ext.version = 1;
    ext.type = FASTN__REQUEST__TYPE__STATUS;
    for (int t = 0; t <= 12; t++)
        put_request(&b, t, NULL);
    put_request(&b, P2PD__PB__REQUEST__TYPE__FASTN, &ext);
    nh_feed(&s, &b, 5000);
    CHECK(s.out.len > 0);
    /* no 8-byte window of the secret seed appears anywhere */
    for (size_t i = 0; i + 8 <= 32; i++)
        CHECK(memmem(s.out.data, s.out.len, ident.seckey + i, 8) == NULL);
    stop(&s, &b);
}

int main(void)
{
    RUN(identify);
    RUN(requests_answered_in_order_bytewise);
    RUN(bad_frames_close);
    RUN(largest_request_fits);
    RUN(truncated_at_eof);
    RUN(refused_before_any_request);
    RUN(policy);
    RUN(fastn_status);
    RUN(fastn_errors_keep_session);
    RUN(client_not_reading_is_closed);
    RUN(no_secret_in_any_response);
    return test_done();
}
