/* Unit tests for src/net/autonat: Dial/DialResponse codecs, the server's
 * rules (dial back only the requester's IP, public addresses, rate limits
 * per peer and overall, PeerID checks), the client's votes into a status,
 * and observed addresses confirmed by distinct networks. */
#include "identity/identity.h"
#include "net/autonat.h"
#include "net/pb.h"
#include "test.h"
#include "js_vectors.h"

#define SEC 1000000ull

static struct peer_id pid(uint8_t n)
{
    struct identity id;
    uint8_t seed[32] = {n, 0xa7};
    identity_global_init();
    identity_from_seed(&id, seed);
    return id.id;
}

static struct multiaddr ma(const char *s)
{
    struct multiaddr m;
    CHECK_ERR(multiaddr_parse(s, &m), 0);
    return m;
}

/* The body of the first length-prefixed message in b. */
static const uint8_t *body(const struct buf *b, size_t *n)
{
    struct buf_reader r;
    uint64_t len;
    const uint8_t *p = NULL;
    buf_reader_init(&r, b->data, b->len);
    if (buf_get_uvarint(&r, &len) || buf_get_span(&r, (size_t)len, &p))
        return NULL;
    *n = (size_t)len;
    return p;
}

TEST(codec_roundtrip)
{
    struct peer_id me = pid(1);
    struct multiaddr addrs[2] = {ma("/ip4/1.2.3.4/tcp/4001"),
                                 ma("/ip6/2a00::1/tcp/4001")};
    struct autonat_request req;
    struct autonat_response resp;
    struct buf b;
    const uint8_t *p;
    size_t n;

    buf_init(&b, 1 << 16);
    CHECK_ERR(autonat_dial_encode(&me, addrs, 2, &b), 0);
    p = body(&b, &n);
    CHECK_ERR(autonat_request_decode(p, n, &req), 0);
    CHECK(peer_id_equal(&req.peer, &me));
    CHECK_EQ(req.n, 2);
    CHECK(multiaddr_equal(&req.addrs[1], &addrs[1]));
    buf_reset(&b);
    CHECK_ERR(autonat_response_encode(AUTONAT_OK, "dialed", &addrs[0], &b), 0);
    p = body(&b, &n);
    CHECK_ERR(autonat_response_decode(p, n, &resp), 0);
    CHECK_EQ(resp.status, AUTONAT_OK);
    CHECK_STR(resp.text, "dialed");
    CHECK(resp.has_addr && multiaddr_equal(&resp.addr, &addrs[0]));
    CHECK_EQ(autonat_vote_of(&resp), AUTONAT_VOTE_REACHABLE);
    /* a request is not a response, and the other way round */
    CHECK_ERR(autonat_response_decode(NULL, 0, &resp),
              FASTN_ERR_NET_BAD_MESSAGE);
    buf_reset(&b);
    autonat_dial_encode(&me, addrs, 2, &b);
    p = body(&b, &n);
    CHECK_ERR(autonat_response_decode(p, n, &resp), FASTN_ERR_NET_BAD_MESSAGE);
    buf_cleanup(&b);
}

TEST(codec_bad_input)
{
    struct autonat_request req;
    struct autonat_response resp;
    struct buf b, inner, peer;
    static uint8_t big[AUTONAT_MAX_MSG + 1];

    buf_init(&b, 1 << 16);
    buf_init(&inner, 1 << 16);
    buf_init(&peer, 1 << 16);
    /* a DIAL without a peer, and with a bad PeerID */
    pb_put_varint(&b, 1, 0);
    CHECK_ERR(autonat_request_decode(b.data, b.len, &req),
              FASTN_ERR_NET_BAD_MESSAGE);
    pb_put_bytes(&peer, 1, "\x55\x03xyz", 5); /* not a PeerID */
    pb_put_bytes(&inner, 1, peer.data, peer.len);
    pb_put_bytes(&b, 2, inner.data, inner.len);
    CHECK_ERR(autonat_request_decode(b.data, b.len, &req),
              FASTN_ERR_NET_BAD_MESSAGE);
    /* an unknown status */
    buf_reset(&b);
    buf_reset(&inner);
    pb_put_varint(&b, 1, 1);
    pb_put_varint(&inner, 1, 42);
    pb_put_bytes(&b, 3, inner.data, inner.len);
    CHECK_ERR(autonat_response_decode(b.data, b.len, &resp),
              FASTN_ERR_NET_BAD_MESSAGE);
    /* a lying length inside, and an oversized message */
    static const uint8_t lying[] = {0x08, 0x01, 0x1a, 0x40, 0x08};
    CHECK_ERR(autonat_response_decode(lying, sizeof(lying), &resp),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(autonat_request_decode(big, sizeof(big), &req),
              FASTN_ERR_NET_BAD_MESSAGE);
    /* a garbage address in a response is left out, not fatal */
    buf_reset(&b);
    buf_reset(&inner);
    pb_put_varint(&b, 1, 1);
    pb_put_varint(&inner, 1, 100);
    pb_put_bytes(&inner, 3, "\x04\x01", 2);
    pb_put_bytes(&b, 3, inner.data, inner.len);
    CHECK_ERR(autonat_response_decode(b.data, b.len, &resp), 0);
    CHECK(!resp.has_addr);
    CHECK_EQ(autonat_vote_of(&resp), AUTONAT_VOTE_UNREACHABLE);
    buf_cleanup(&b);
    buf_cleanup(&inner);
    buf_cleanup(&peer);
}

static int serve(struct autonat_server *s, struct peer_id from,
                 struct peer_id claimed, const uint8_t *ip, size_t ip_len,
                 const struct multiaddr *addrs, size_t n, uint64_t now,
                 struct autonat_dial_job *job, enum autonat_status *st)
{
    struct buf req, out;
    struct autonat_response resp;
    const uint8_t *p;
    size_t len;
    int rc;

    buf_init(&req, 1 << 16);
    buf_init(&out, 1 << 16);
    autonat_dial_encode(&claimed, addrs, n, &req);
    p = body(&req, &len);
    rc = autonat_server_request(s, &from, ip, ip_len, p, len, now, job, &out);
    *st = AUTONAT_OK;
    if (rc == 0) {
        p = body(&out, &len);
        CHECK_ERR(autonat_response_decode(p, len, &resp), 0);
        *st = resp.status;
    }
    buf_cleanup(&req);
    buf_cleanup(&out);
    return rc;
}

TEST(server_dials_only_the_requester)
{
    struct autonat_server_config cfg;
    struct autonat_server s;
    struct autonat_dial_job job;
    enum autonat_status st;
    struct peer_id a = pid(1), b = pid(2);
    const uint8_t ip[4] = {1, 2, 3, 4};
    struct multiaddr addrs[5] = {
        ma("/ip4/1.2.3.4/tcp/4001"), ma("/ip4/5.6.7.8/tcp/4001"), /* victim */
        ma("/ip4/1.2.3.4/tcp/0"), ma("/dns4/victim.example/tcp/80"),
        ma("/ip4/1.2.3.4/tcp/4002")};

    autonat_server_config_default(&cfg);
    autonat_server_init(&s, &cfg);
    CHECK_EQ(serve(&s, a, a, ip, 4, addrs, 5, 0, &job, &st), 1);
    CHECK_EQ(job.addrs.n, 2); /* 1.2.3.4:4001 and :4002 only */
    CHECK(multiaddr_equal(&job.addrs.a[0], &addrs[0]));
    CHECK(multiaddr_equal(&job.addrs.a[1], &addrs[4]));
    CHECK(peer_id_equal(&job.peer, &a));
    /* only third parties: refused */
    CHECK_EQ(serve(&s, a, a, ip, 4, addrs + 1, 1, 0, &job, &st), 0);
    CHECK_EQ(st, AUTONAT_E_DIAL_REFUSED);
    /* someone else's PeerID */
    CHECK_EQ(serve(&s, a, b, ip, 4, addrs, 1, 0, &job, &st), 0);
    CHECK_EQ(st, AUTONAT_E_BAD_REQUEST);
    /* a private requester address, unless the policy allows it */
    const uint8_t lan[4] = {192, 168, 1, 5};
    struct multiaddr l = ma("/ip4/192.168.1.5/tcp/4001");
    CHECK_EQ(serve(&s, b, b, lan, 4, &l, 1, 0, &job, &st), 0);
    CHECK_EQ(st, AUTONAT_E_DIAL_REFUSED);
    cfg.policy.allow_private = true;
    autonat_server_init(&s, &cfg);
    CHECK_EQ(serve(&s, b, b, lan, 4, &l, 1, 0, &job, &st), 1);
}

TEST(server_rate_limits)
{
    struct autonat_server_config cfg;
    struct autonat_server s;
    struct autonat_dial_job job;
    enum autonat_status st;
    const uint8_t ip[4] = {1, 2, 3, 4};
    struct multiaddr a = ma("/ip4/1.2.3.4/tcp/4001");
    struct peer_id p = pid(9);

    autonat_server_config_default(&cfg);
    autonat_server_init(&s, &cfg);
    for (unsigned i = 0; i < cfg.per_peer_max; i++)
        CHECK_EQ(serve(&s, p, p, ip, 4, &a, 1, i, &job, &st), 1);
    CHECK_EQ(serve(&s, p, p, ip, 4, &a, 1, 10, &job, &st), 0);
    CHECK_EQ(st, AUTONAT_E_DIAL_REFUSED);
    /* a new window */
    CHECK_EQ(serve(&s, p, p, ip, 4, &a, 1, cfg.window_us + 1, &job, &st), 1);
    /* the global limit, across many peers */
    autonat_server_init(&s, &cfg);
    unsigned ok = 0;
    for (int i = 0; i < 40; i++) {
        struct peer_id q = pid((uint8_t)(20 + i));
        ok += serve(&s, q, q, ip, 4, &a, 1, 5, &job, &st) == 1;
    }
    CHECK_EQ(ok, cfg.global_max);
    CHECK_EQ(st, AUTONAT_E_DIAL_REFUSED);
}

TEST(client_votes)
{
    struct autonat_client_config cfg;
    struct autonat_client c;
    struct peer_id p1 = pid(1), p2 = pid(2), p3 = pid(3), p4 = pid(4);
    struct multiaddr pub = ma("/ip4/1.2.3.4/tcp/4001");

    autonat_client_config_default(&cfg);
    autonat_client_init(&c, &cfg, 0);
    /* one peer repeating itself decides nothing */
    for (int i = 0; i < 5; i++)
        CHECK(!autonat_client_vote(&c, &p1, AUTONAT_VOTE_REACHABLE, &pub, 0));
    CHECK_EQ(c.status, AUTONAT_UNKNOWN);
    CHECK_EQ(autonat_client_next_probe(&c), cfg.retry_us);
    CHECK(!autonat_client_vote(&c, &p2, AUTONAT_VOTE_NONE, NULL, 0));
    CHECK(!autonat_client_vote(&c, &p2, AUTONAT_VOTE_REACHABLE, &pub, 0));
    CHECK(autonat_client_vote(&c, &p3, AUTONAT_VOTE_REACHABLE, &pub, 0));
    CHECK_EQ(c.status, AUTONAT_PUBLIC);
    CHECK(c.has_public_addr && multiaddr_equal(&c.public_addr, &pub));
    CHECK_EQ(autonat_client_next_probe(&c), cfg.refresh_us);
    /* confidence builds; contrary votes wear it down before a flip */
    for (int i = 0; i < 3; i++)
        autonat_client_vote(&c, &p1, AUTONAT_VOTE_REACHABLE, &pub, 0);
    CHECK_EQ(c.confidence, 3);
    for (int i = 0; i < 3; i++)
        CHECK(!autonat_client_vote(&c, &p4, AUTONAT_VOTE_UNREACHABLE, NULL, 0));
    CHECK_EQ(c.status, AUTONAT_PUBLIC);
    CHECK(autonat_client_vote(&c, &p4, AUTONAT_VOTE_UNREACHABLE, NULL, 0));
    CHECK_EQ(c.status, AUTONAT_UNKNOWN);
    CHECK(!c.has_public_addr);
    autonat_client_vote(&c, &p1, AUTONAT_VOTE_UNREACHABLE, NULL, 0);
    CHECK(autonat_client_vote(&c, &p2, AUTONAT_VOTE_UNREACHABLE, NULL, 0));
    CHECK_EQ(c.status, AUTONAT_PRIVATE);
    CHECK_STR(autonat_reachability_name(c.status), "private");
    autonat_client_reset(&c, 7);
    CHECK_EQ(c.status, AUTONAT_UNKNOWN);
    CHECK_EQ(autonat_client_next_probe(&c), 7);
}

TEST(observed_addresses)
{
    struct addr_policy pol = {0};
    struct autonat_observed o;
    struct multiaddr obs = ma("/ip4/1.2.3.4/tcp/4001"), out[4];
    struct multiaddr priv = ma("/ip4/10.0.0.1/tcp/4001");
    uint8_t ip[4] = {9, 9, 0, 1};

    autonat_observed_init(&o, &pol);
    /* many reporters in one /16 count once */
    for (int i = 0; i < 10; i++) {
        ip[3] = (uint8_t)i;
        CHECK(!autonat_observed_add(&o, ip, 4, obs.bytes, obs.len, 0));
    }
    CHECK_EQ(autonat_observed_confirmed(&o, 0, out, 4), 0);
    for (int g = 1; g < AUTONAT_OBSERVED_CONFIRM; g++) {
        ip[1] = (uint8_t)g;
        bool now_confirmed =
            autonat_observed_add(&o, ip, 4, obs.bytes, obs.len, 10);
        CHECK_EQ(now_confirmed, g == AUTONAT_OBSERVED_CONFIRM - 1);
    }
    CHECK_EQ(autonat_observed_confirmed(&o, 10, out, 4), 1);
    CHECK(multiaddr_equal(&out[0], &obs));
    /* reports expire */
    CHECK_EQ(
        autonat_observed_confirmed(&o, AUTONAT_OBSERVED_TTL_US + 10, out, 4),
        0);
    /* private and garbage observations are ignored */
    CHECK(!autonat_observed_add(&o, ip, 4, priv.bytes, priv.len, 0));
    CHECK(!autonat_observed_add(&o, ip, 4, (const uint8_t *)"\x04\x01", 2, 0));
    /* a peer that reports a new address on every connection fills a
     * bounded table */
    char text[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(text, sizeof(text), "/ip4/1.2.3.4/tcp/%d", 1000 + i);
        struct multiaddr m = ma(text);
        autonat_observed_add(&o, ip, 4, m.bytes, m.len, 20);
    }
    CHECK_EQ(o.n, AUTONAT_OBSERVED_MAX);
}

/* Bytes @libp2p/autonat produced (tests/unit/js_vectors.h). */
TEST(js_messages)
{
    struct autonat_request req;
    struct autonat_response resp;
    struct autonat_server_config cfg;
    struct autonat_server s;
    struct autonat_dial_job job;
    struct peer_id peer;
    struct multiaddr a = ma("/ip4/1.2.3.4/tcp/4001");
    const uint8_t ip[4] = {1, 2, 3, 4};
    struct buf b;

    CHECK_ERR(peer_id_parse(js_peer_id, &peer), 0);
    CHECK_ERR(
        autonat_request_decode(js_autonat_dial, sizeof(js_autonat_dial), &req),
        0);
    CHECK(peer_id_equal(&req.peer, &peer));
    CHECK_EQ(req.n, 1);
    CHECK(multiaddr_equal(&req.addrs[0], &a));
    buf_init(&b, 4096);
    CHECK_ERR(autonat_dial_encode(&peer, &a, 1, &b), 0);
    CHECK_EQ(b.len, 1 + sizeof(js_autonat_dial));
    CHECK_MEM(b.data + 1, js_autonat_dial, sizeof(js_autonat_dial));
    autonat_server_config_default(&cfg);
    autonat_server_init(&s, &cfg);
    buf_reset(&b);
    CHECK_EQ(autonat_server_request(&s, &peer, ip, 4, js_autonat_dial,
                                    sizeof(js_autonat_dial), 0, &job, &b),
             1);
    CHECK_ERR(
        autonat_response_decode(js_autonat_ok, sizeof(js_autonat_ok), &resp),
        0);
    CHECK_EQ(resp.status, AUTONAT_OK);
    CHECK(resp.has_addr && multiaddr_equal(&resp.addr, &a));
    buf_cleanup(&b);
}

int main(void)
{
    RUN(codec_roundtrip);
    RUN(codec_bad_input);
    RUN(server_dials_only_the_requester);
    RUN(server_rate_limits);
    RUN(client_votes);
    RUN(observed_addresses);
    RUN(js_messages);
    return test_done();
}
