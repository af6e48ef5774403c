/* Unit tests for src/ipc's sans-I/O core: admission policy, sessions
 * (requests in order, bad frames, truncation, refusal), the privilege
 * table (every request type walked), the limits (connection slots,
 * per-uid connections and pending requests, the request deadline) and
 * the IDENTIFY, LIST_PEERS and fastn STATUS handlers. */
#include "ipc/ipc_int.h"
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
    host.local_id = ident.id;
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
                                P2PD__PB__REQUEST__TYPE__PUBSUB,
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
    CHECK(r && strstr(r->error->msg, "PUBSUB") != NULL);
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

/* --- the privilege table ------------------------------------------------ */

/* The requests a non-admin client may not make at all, as docs/CONTROL.md
 * lists them: the table must say exactly this (a change to it is a
 * decision, made here and in the docs too). */
static bool admin_only(int type, int fastn_type)
{
    static const int p2pd_admin[] = {P2PD__PB__REQUEST__TYPE__DISCONNECT};
    static const int fastn_admin[] = {
        FASTN__REQUEST__TYPE__DAEMON_STOP,
        FASTN__REQUEST__TYPE__DAEMON_RELOAD,
        FASTN__REQUEST__TYPE__PLUGIN_INSTALL,
        FASTN__REQUEST__TYPE__PLUGIN_REMOVE,
        FASTN__REQUEST__TYPE__PLUGIN_ENABLE,
        FASTN__REQUEST__TYPE__PLUGIN_DISABLE,
        FASTN__REQUEST__TYPE__PLUGIN_CALL,
        FASTN__REQUEST__TYPE__PLUGIN_RESTRICT,
        FASTN__REQUEST__TYPE__NOTIFY_LIST,
        FASTN__REQUEST__TYPE__NOTIFY_MARK_READ,
        FASTN__REQUEST__TYPE__NOTIFY_UNREAD,
        FASTN__REQUEST__TYPE__NOTIFY_SUBSCRIBE,
        FASTN__REQUEST__TYPE__EXPOSE,
        FASTN__REQUEST__TYPE__TRUST_ADD,
        FASTN__REQUEST__TYPE__TRUST_REMOVE,
        FASTN__REQUEST__TYPE__REGISTRY_ADD,
        FASTN__REQUEST__TYPE__REGISTRY_REMOVE,
        FASTN__REQUEST__TYPE__PLUGIN_GET,
        FASTN__REQUEST__TYPE__PLUGIN_UPDATE,
        FASTN__REQUEST__TYPE__PENDING_LIST,
        FASTN__REQUEST__TYPE__PENDING_APPROVE,
        FASTN__REQUEST__TYPE__PENDING_REJECT,
        FASTN__REQUEST__TYPE__PEER_ALLOW,
        FASTN__REQUEST__TYPE__PEER_BLOCK,
    };
    if (type != P2PD__PB__REQUEST__TYPE__FASTN) {
        for (size_t i = 0; i < sizeof(p2pd_admin) / sizeof(int); i++)
            if (p2pd_admin[i] == type)
                return true;
        return false;
    }
    for (size_t i = 0; i < sizeof(fastn_admin) / sizeof(int); i++)
        if (fastn_admin[i] == fastn_type)
            return true;
    return false;
}

/* p2pd types fastnd does not serve (no rule: FASTN_ERR_UNSUPPORTED). */
static bool unserved(int type)
{
    return type == P2PD__PB__REQUEST__TYPE__CONNMANAGER ||
           type == P2PD__PB__REQUEST__TYPE__PUBSUB ||
           type == P2PD__PB__REQUEST__TYPE__PEERSTORE;
}

/* Sends one request of type (fastn_type for FASTN) with no parts on s;
 * returns its response (the caller frees). */
static P2pd__Pb__Response *ask(struct ipc_session *s, int type, int fastn_type)
{
    Fastn__Request ext = FASTN__REQUEST__INIT;
    struct buf b;

    buf_init(&b, 1024);
    ext.version = 1;
    ext.type = (Fastn__Request__Type)fastn_type;
    put_request(&b, type, type == P2PD__PB__REQUEST__TYPE__FASTN ? &ext : NULL);
    nh_feed(s, &b, 5000);
    buf_cleanup(&b);
    return next_response(s);
}

/* Checks one request type against a user and an admin session. */
static void walk_one(struct ipc_session *user, struct ipc_session *admin,
                     int type, int fastn_type)
{
    const struct ipc_rule *rule = ipc_request_rule(type, fastn_type);
    bool admin_rule = rule && rule->priv == IPC_PRIV_ADMIN;
    P2pd__Pb__Response *r;

    CHECK_EQ(admin_rule, admin_only(type, fastn_type));
    if (admin_rule)
        CHECK(rule->what && rule->what[0]);
    if (rule && rule->priv == IPC_PRIV_OWNER_OF_TARGET)
        CHECK(rule->may != NULL);
    r = ask(user, type, fastn_type);
    if (admin_rule) {
        CHECK_ERR(error_code(r), FASTN_ERR_ADMIN_ONLY);
        CHECK(r && r->error && strstr(r->error->msg, rule->what));
        CHECK(r && strstr(r->error->msg, "admin-gids"));
    } else {
        CHECK(error_code(r) != FASTN_ERR_ADMIN_ONLY);
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    r = ask(admin, type, fastn_type);
    CHECK(error_code(r) != FASTN_ERR_ADMIN_ONLY);
    p2pd__pb__response__free_unpacked(r, NULL);
}

TEST(privilege_table_walk)
{
    const ProtobufCEnumDescriptor *pd = &p2pd__pb__request__type__descriptor;
    const ProtobufCEnumDescriptor *fd = &fastn__request__type__descriptor;
    static const uid_t users[] = {4242};
    const struct ipc_peer user_peer = {.pid = 43, .uid = 4242, .gid = 4242};
    struct ipc_session user, admin;
    struct buf b;
    unsigned admins = 0;

    start(&admin, &b, 1024);
    host.policy.allow_uids = users;
    host.policy.n_allow_uids = 1;
    nh_open_session(&user, &host, &user_peer);
    CHECK_EQ(user.admit, IPC_USER);
    for (unsigned i = 0; i < pd->n_values; i++) {
        int type = pd->values[i].value;
        if (type == P2PD__PB__REQUEST__TYPE__FASTN)
            continue;
        /* every type fastnd serves has a rule; the others none */
        CHECK_EQ(ipc_request_rule(type, -1) == NULL, unserved(type));
        walk_one(&user, &admin, type, -1);
        admins += admin_only(type, -1);
    }
    for (unsigned i = 0; i < fd->n_values; i++) {
        int type = fd->values[i].value;
        /* every extension type has a rule, but the never valid 0 */
        CHECK_EQ(ipc_ext_rule(type) == NULL,
                 type == FASTN__REQUEST__TYPE__UNSPECIFIED);
        walk_one(&user, &admin, P2PD__PB__REQUEST__TYPE__FASTN, type);
        admins += admin_only(P2PD__PB__REQUEST__TYPE__FASTN, type);
    }
    CHECK_EQ(admins, 25); /* every admin-only request was walked */
    /* the sessions went on through every refusal */
    CHECK(!user.closing && !admin.closing);
    ipc_session_cleanup(&user);
    stop(&admin, &b);
}

/* --- limits ------------------------------------------------------------- */

/* Opens a session as server.c does: counted first, then admitted. */
static int open_counted(struct ipc_session *s, uid_t uid)
{
    const struct ipc_peer peer = {
        .pid = (pid_t)(100 + host.clients), .uid = uid, .gid = uid};
    ipc_session_init(s, &host, &peer);
    host.clients++;
    return ipc_session_open(s);
}

static void close_counted(struct ipc_session *s)
{
    ipc_session_cleanup(s);
    host.clients--;
}

TEST(connection_slots)
{
    static const uid_t users[] = {4242, 4243};
    struct ipc_session s[24];
    size_t n = 0;
    P2pd__Pb__Response *r;

    setup();
    host.policy.allow_uids = users;
    host.policy.n_allow_uids = 2;
    ipc_limits_default(&host.limits, 20);
    CHECK_EQ(host.limits.owner_slots, 4);
    CHECK_EQ(host.limits.max_clients_per_uid, 5);
    /* one user: 5 connections, the sixth refused by its per-uid cap */
    for (int i = 0; i < 5; i++)
        CHECK_ERR(open_counted(&s[n++], 4242), 0);
    CHECK_ERR(open_counted(&s[n], 4242), FASTN_ERR_BUSY);
    r = next_response(&s[n]);
    CHECK(r && strstr(r->error->msg, "max-clients-per-uid"));
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(s[n].closing);
    close_counted(&s[n]);
    /* another user, then the owner's slots: 16 non-owner at most */
    for (int i = 0; i < 5; i++)
        CHECK_ERR(open_counted(&s[n++], 4243), 0);
    for (int i = 0; i < 6; i++)
        CHECK_ERR(open_counted(&s[n++], 1000), 0); /* the owner */
    CHECK_EQ(host.clients, 16);
    host.limits.max_clients_per_uid = 100;
    CHECK_ERR(open_counted(&s[n], 4243), FASTN_ERR_BUSY);
    r = next_response(&s[n]);
    CHECK(r && strstr(r->error->msg, "kept for the daemon's own user"));
    p2pd__pb__response__free_unpacked(r, NULL);
    close_counted(&s[n]);
    /* the owner and root still get the last four */
    for (int i = 0; i < 4; i++)
        CHECK_ERR(open_counted(&s[n++], i % 2 ? 0 : 1000), 0);
    CHECK_ERR(open_counted(&s[n], 0), FASTN_ERR_BUSY);
    r = next_response(&s[n]);
    CHECK(r && strstr(r->error->msg, "max-clients"));
    p2pd__pb__response__free_unpacked(r, NULL);
    close_counted(&s[n]);
    /* a slot freed is a slot for anyone again; the counts follow */
    while (n > 0)
        close_counted(&s[--n]);
    CHECK(host.uids == NULL);
    CHECK_ERR(open_counted(&s[0], 4242), 0);
    CHECK(host.uids && host.uids->clients == 1);
    close_counted(&s[0]);
    CHECK(host.uids == NULL);
}

static int cancels;
static void count_cancel(struct ipc_call *c)
{
    (void)c;
    cancels++;
}

TEST(pending_per_uid)
{
    static const uid_t users[] = {4242};
    struct ipc_session u1, u2, owner;
    struct ipc_call call, *dc[8];
    int err;

    setup();
    host.policy.allow_uids = users;
    host.policy.n_allow_uids = 1;
    ipc_limits_default(&host.limits, 64);
    host.limits.max_pending_per_uid = 3;
    CHECK_ERR(open_counted(&u1, 4242), 0);
    CHECK_ERR(open_counted(&u2, 4242), 0);
    CHECK_ERR(open_counted(&owner, 1000), 0);
    cancels = 0;
    /* three waiting requests over two connections of one uid... */
    for (int i = 0; i < 3; i++) {
        call = (struct ipc_call){.session = i ? &u2 : &u1, .host = &host};
        ipc_reply_init(&call.reply);
        dc[i] = ipc_call_defer(&call, false, count_cancel, NULL, &err);
        CHECK(dc[i] != NULL);
    }
    /* ...and the fourth is refused, on either */
    call = (struct ipc_call){.session = &u1, .host = &host};
    ipc_reply_init(&call.reply);
    CHECK(ipc_call_defer(&call, false, count_cancel, NULL, &err) == NULL);
    CHECK_ERR(err, FASTN_ERR_BUSY);
    CHECK(strstr(call.reply.msg, "max-pending-per-uid"));
    /* the owner is not held to it */
    for (int i = 3; i < 8; i++) {
        call = (struct ipc_call){.session = &owner, .host = &host};
        ipc_reply_init(&call.reply);
        CHECK((dc[i] = ipc_call_defer(&call, false, count_cancel, NULL,
                                      &err)) != NULL);
    }
    /* one answered frees a place; a connection gone frees its own */
    ipc_call_finish(dc[0], 0);
    call = (struct ipc_call){.session = &u2, .host = &host};
    ipc_reply_init(&call.reply);
    CHECK(ipc_call_defer(&call, false, count_cancel, NULL, &err) != NULL);
    close_counted(&u2);
    CHECK_EQ(cancels, 3);
    CHECK_EQ(u1.use->pending, 0);
    close_counted(&u1);
    close_counted(&owner);
    CHECK_EQ(cancels, 8);
    CHECK(host.uids == NULL);
}

TEST(request_deadline)
{
    struct ipc_session s;
    struct buf b;
    P2pd__Pb__Response *r;

    start(&s, &b, 1024);
    ipc_session_cleanup(&s);
    ipc_limits_default(&host.limits, 16);
    host.limits.request_timeout_ms = 5000;
    nh_open_session(&s, &host, &self_peer);
    s.opened_ms = 1000;
    /* nothing yet: the first request is due 5 s after connecting */
    CHECK_EQ(ipc_session_deadline(&s), 6000);
    put_request(&b, P2PD__PB__REQUEST__TYPE__IDENTIFY, NULL);
    ipc_session_feed(&s, b.data, 1, 2000); /* a first byte only */
    CHECK_EQ(ipc_session_deadline(&s), 6000);
    ipc_session_feed(&s, b.data + 1, b.len - 1, 3000);
    buf_reset(&b);
    p2pd__pb__response__free_unpacked(next_response(&s), NULL);
    /* answered and idle: no deadline (a p2pd client between requests) */
    CHECK_EQ(ipc_session_deadline(&s), UINT64_MAX);
    /* a request begun must end within 5 s of its first byte */
    put_request(&b, P2PD__PB__REQUEST__TYPE__IDENTIFY, NULL);
    ipc_session_feed(&s, b.data, 1, 4000);
    CHECK_EQ(ipc_session_deadline(&s), 9000);
    ipc_session_expire(&s);
    r = next_response(&s);
    CHECK_ERR(error_code(r), FASTN_ERR_TIMEOUT);
    CHECK(r && strstr(r->error->msg, "request-timeout"));
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(s.closing);
    CHECK_EQ(ipc_session_deadline(&s), UINT64_MAX);
    stop(&s, &b);
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

/* A transport that takes `take` bytes at once (SIZE_MAX: all) into
 * `wire`, as a socket would, from spans that are gone after the call. */
static struct buf wire;
static size_t take, write_calls;

static size_t take_some(struct ipc_session *s, void *arg, const struct iovec *v,
                        int n)
{
    size_t left = take;

    (void)s;
    (void)arg;
    write_calls++;
    for (int i = 0; i < n && left; i++) {
        size_t k = v[i].iov_len < left ? v[i].iov_len : left;
        CHECK_ERR(buf_append(&wire, v[i].iov_base, k), 0);
        left -= k;
    }
    return take - left;
}

/* Splits size bytes at base into np pieces for r (np 1: as one result;
 * more: a plugin's call_reply_v, the first piece empty). */
static void result_pieces(struct ipc_reply *r, struct iovec *v, uint8_t *base,
                          size_t size, size_t np)
{
    Fastn__Response *ext = ipc_reply_ext(r);
    size_t at = 0;

    ext->has_call_result = true;
    ext->call_result.len = size;
    ext->call_result.data = np == 1 ? base : NULL;
    r->result_v = np == 1 ? NULL : v;
    r->result_n = np == 1 ? 0 : np;
    if (np == 1)
        return;
    v[0] = (struct iovec){.iov_base = base, .iov_len = 0};
    for (size_t i = 1; i < np; i++) {
        size_t len = i + 1 == np ? size - at : size / (np - 1);
        v[i] = (struct iovec){.iov_base = base + at, .iov_len = len};
        at += len;
    }
}

/* A large plugin call answer goes out from the plugin's memory, in one
 * piece or several (call_reply_v): what the transport took, then what
 * was queued, is exactly the frame protobuf-c makes, whatever the socket
 * took; small ones (joined, when in pieces) and busy sessions queue. */
TEST(call_answer_written_from_its_memory)
{
    static const size_t takes[] = {0, 1, 9, 12, 100, 70000, SIZE_MAX};
    static const size_t sizes[] = {100, IPC_FRAME_DIRECT_MIN - 1,
                                   IPC_FRAME_DIRECT_MIN, 70000, 1u << 20};
    static const size_t pieces[] = {1, 4, IPC_RESULT_PIECES};
    uint8_t *data = malloc(1u << 20);
    struct buf want;

    CHECK(data != NULL);
    for (size_t i = 0; i < (1u << 20); i++)
        data[i] = (uint8_t)(i ^ (i >> 8));
    setup();
    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++)
        for (size_t t = 0; t < sizeof(takes) / sizeof(takes[0]); t++)
            for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
                struct ipc_session s;
                struct ipc_reply r;
                struct iovec v[IPC_RESULT_PIECES];
                uint8_t *copy = malloc(sizes[z]);

                CHECK(copy != NULL);
                memcpy(copy, data, sizes[z]);
                nh_open_session(&s, &host, &self_peer);
                s.write_now = take_some;
                buf_init(&wire, 8u << 20);
                buf_init(&want, 8u << 20);
                take = takes[t];
                write_calls = 0;
                ipc_reply_init(&r);
                result_pieces(&r, v, data, sizes[z], 1);
                CHECK_ERR(ipc_frame_append(&want, &r.resp.base), 0);
                result_pieces(&r, v, copy, sizes[z], pieces[p]);
                CHECK_ERR(ipc_session_send_reply(&s, &r, 0), 0);
                memset(copy, 0, sizes[z]); /* the plugin's memory is gone */
                free(copy);
                CHECK_EQ(write_calls, sizes[z] >= IPC_FRAME_DIRECT_MIN ? 1 : 0);
                CHECK_ERR(buf_append(&wire, s.out.data, s.out.len), 0);
                CHECK_EQ(wire.len, want.len);
                CHECK(wire.len == want.len &&
                      memcmp(wire.data, want.data, want.len) == 0);
                /* with output queued before it, it queues after it */
                bool queued = s.out.len > 0;
                buf_reset(&wire);
                write_calls = 0;
                result_pieces(&r, v, data, sizes[z], pieces[p]);
                CHECK_ERR(ipc_session_send_reply(&s, &r, 0), 0);
                CHECK_EQ(write_calls,
                         !queued && sizes[z] >= IPC_FRAME_DIRECT_MIN ? 1 : 0);
                ipc_reply_cleanup(&r);
                buf_cleanup(&want);
                buf_cleanup(&wire);
                ipc_session_cleanup(&s);
            }
    free(data);
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
    RUN(call_answer_written_from_its_memory);
    RUN(privilege_table_walk);
    RUN(connection_slots);
    RUN(pending_per_uid);
    RUN(request_deadline);
    return test_done();
}
