/* Unit tests for src/net/autonat2: the v2 codec (Message and its four
 * kinds, DialBack, DialBackResponse), the server's choice of the one
 * address it dials, its amplification rule (another IP than the
 * requester's costs AUTONAT2_DATA_ASK bytes first, in chunks of at most
 * 4096), its limits, and the client's probe: it pays what is asked up to
 * its own bound and believes a dial only with its nonce. */
#include "identity/identity.h"
#include "net/autonat2.h"
#include "test.h"

#define SEC 1000000ull

static const uint8_t ip_a[4] = {1, 2, 3, 4};

static struct peer_id pid(uint8_t n)
{
    struct identity id;
    uint8_t seed[32] = {n, 0x5c};
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

/* The body of the length-prefixed message at *off in b; moves *off on. */
static const uint8_t *next_body(const struct buf *b, size_t *off, size_t *n)
{
    struct buf_reader r;
    uint64_t len;
    const uint8_t *p = NULL;
    buf_reader_init(&r, b->data + *off, b->len - *off);
    if (buf_get_uvarint(&r, &len) || buf_get_span(&r, (size_t)len, &p))
        return NULL;
    *n = (size_t)len;
    *off = b->len - buf_reader_left(&r);
    return p;
}

static const uint8_t *body(const struct buf *b, size_t *n)
{
    size_t off = 0;
    return next_body(b, &off, n);
}

static void decode_one(const struct buf *b, struct autonat2_msg *m)
{
    const uint8_t *p;
    size_t n;
    CHECK((p = body(b, &n)) != NULL);
    CHECK_ERR(autonat2_msg_decode(p, n, m), 0);
}

TEST(codec_roundtrip)
{
    struct multiaddr addrs[2] = {ma("/ip4/1.2.3.4/tcp/4001"),
                                 ma("/ip6/2a00::1/tcp/4001")};
    struct autonat2_msg m;
    struct buf b;
    const uint8_t *p;
    size_t n, off = 0, total = 0, chunks = 0;
    uint64_t nonce = 0;

    buf_init(&b, 1 << 18);
    CHECK_ERR(autonat2_request_encode(addrs, 2, 0x0123456789abcdefull, &b), 0);
    decode_one(&b, &m);
    CHECK_EQ(m.type, AUTONAT2_MSG_REQUEST);
    CHECK_EQ(m.n, 2);
    CHECK(m.valid[0] && m.valid[1]);
    CHECK(multiaddr_equal(&m.addrs[1], &addrs[1]));
    CHECK(m.nonce == 0x0123456789abcdefull);
    buf_reset(&b);
    CHECK_ERR(autonat2_response_encode(AUTONAT2_OK, 1, AUTONAT2_DIAL_OK, &b),
              0);
    decode_one(&b, &m);
    CHECK_EQ(m.type, AUTONAT2_MSG_RESPONSE);
    CHECK_EQ(m.status, AUTONAT2_OK);
    CHECK_EQ(m.addr_idx, 1);
    CHECK_EQ(m.dial_status, AUTONAT2_DIAL_OK);
    buf_reset(&b);
    CHECK_ERR(autonat2_data_request_encode(3, 30000, &b), 0);
    decode_one(&b, &m);
    CHECK_EQ(m.type, AUTONAT2_MSG_DATA_REQUEST);
    CHECK_EQ(m.addr_idx, 3);
    CHECK(m.num_bytes == 30000);
    buf_reset(&b);
    CHECK_ERR(autonat2_data_encode(30000, &b), 0);
    while ((p = next_body(&b, &off, &n)) != NULL) {
        CHECK_ERR(autonat2_msg_decode(p, n, &m), 0);
        CHECK_EQ(m.type, AUTONAT2_MSG_DATA_RESPONSE);
        CHECK(m.data_len <= AUTONAT2_CHUNK_MAX);
        total += m.data_len;
        chunks++;
    }
    CHECK_EQ(off, b.len);
    CHECK_EQ(total, 30000);
    CHECK_EQ(chunks, 8);
    buf_reset(&b);
    CHECK_ERR(autonat2_dial_back_encode(42, &b), 0);
    CHECK((p = body(&b, &n)) != NULL);
    CHECK_ERR(autonat2_dial_back_decode(p, n, &nonce), 0);
    CHECK(nonce == 42);
    buf_reset(&b);
    CHECK_ERR(autonat2_dial_back_response_encode(&b), 0);
    CHECK((p = body(&b, &n)) != NULL);
    CHECK_ERR(autonat2_dial_back_response_decode(p, n), 0);
    buf_cleanup(&b);
}

TEST(codec_bad_input)
{
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x01};
    static const uint8_t empty[] = {0};
    /* DialResponse{status: 7} */
    static const uint8_t bad_status[] = {0x12, 0x02, 0x08, 0x07};
    /* DialResponse{status: OK, dialStatus: 5} */
    static const uint8_t bad_dial[] = {0x12, 0x06, 0x08, 0xc8,
                                       0x01, 0x18, 0x05};
    /* DialBackResponse{status: 1} */
    static const uint8_t bad_back[] = {0x08, 0x01};
    /* DialDataResponse whose data claims 100 bytes and holds 2 */
    static const uint8_t lying[] = {0x22, 0x04, 0x0a, 0x64, 0, 0};
    uint8_t big[AUTONAT2_MAX_MSG + 1] = {0};
    uint8_t chunk[AUTONAT2_CHUNK_MAX + 16];
    struct autonat2_msg m;
    uint64_t nonce;

    CHECK_ERR(autonat2_msg_decode(garbage, sizeof(garbage), &m),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(autonat2_msg_decode(empty, 0, &m), FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(autonat2_msg_decode(bad_status, sizeof(bad_status), &m),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(autonat2_msg_decode(bad_dial, sizeof(bad_dial), &m),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(autonat2_msg_decode(lying, sizeof(lying), &m),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(autonat2_msg_decode(big, sizeof(big), &m),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(autonat2_dial_back_response_decode(bad_back, sizeof(bad_back)),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(autonat2_dial_back_decode(garbage, sizeof(garbage), &nonce),
              FASTN_ERR_NET_BAD_MESSAGE);
    /* a data chunk over 4096 bytes */
    memset(chunk, 0, sizeof(chunk));
    chunk[0] = 0x22; /* field 4, length-delimited: 4099 = 0x83 0x20 */
    chunk[1] = 0x83;
    chunk[2] = 0x20;
    chunk[3] = 0x0a; /* data, 4097 = 0x81 0x20 */
    chunk[4] = 0x81;
    chunk[5] = 0x20;
    CHECK_ERR(autonat2_msg_decode(chunk, 6 + 4097, &m),
              FASTN_ERR_NET_BAD_MESSAGE);
    /* a request with an address that is no multiaddr: kept, not valid */
    {
        static const uint8_t req[] = {0x0a, 0x05, 0x0a, 0x03, 0xff, 0xff, 0xff};
        CHECK_ERR(autonat2_msg_decode(req, sizeof(req), &m), 0);
        CHECK_EQ(m.n, 1);
        CHECK(!m.valid[0]);
    }
}

static void server_init(struct autonat_server *s, bool loopback)
{
    struct autonat_server_config cfg;
    autonat_server_config_default(&cfg);
    cfg.policy.allow_loopback = loopback;
    autonat_server_init(s, &cfg);
}

TEST(server_same_ip_dials_at_once)
{
    struct peer_id peer = pid(1);
    struct multiaddr addrs[3] = {ma("/ip4/10.0.0.1/tcp/4001"),
                                 ma("/ip4/1.2.3.4/tcp/0"),
                                 ma("/ip4/1.2.3.4/tcp/4001")};
    struct autonat_server srv;
    struct autonat2_serve s;
    struct autonat2_msg m;
    struct buf req, out;
    const uint8_t *p;
    size_t n;

    server_init(&srv, false);
    autonat2_serve_init(&s);
    buf_init(&req, 1 << 16);
    buf_init(&out, 1 << 16);
    CHECK_ERR(autonat2_request_encode(addrs, 3, 7, &req), 0);
    p = body(&req, &n);
    /* the private address and port 0 are skipped: it dials index 2 */
    CHECK_EQ(autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, 0, &out),
             AUTONAT2_SERVE_DIAL);
    CHECK_EQ(out.len, 0);
    CHECK_EQ(s.idx, 2);
    CHECK(multiaddr_equal(&s.addr, &addrs[2]));
    CHECK(s.nonce == 7);
    CHECK_ERR(autonat2_serve_result(&s, AUTONAT2_DIAL_OK, &out), 0);
    decode_one(&out, &m);
    CHECK_EQ(m.status, AUTONAT2_OK);
    CHECK_EQ(m.addr_idx, 2);
    CHECK_EQ(m.dial_status, AUTONAT2_DIAL_OK);
    /* nothing it would dial: E_DIAL_REFUSED */
    autonat2_serve_init(&s);
    buf_reset(&req);
    buf_reset(&out);
    CHECK_ERR(autonat2_request_encode(addrs, 2, 7, &req), 0);
    p = body(&req, &n);
    CHECK_EQ(autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, 0, &out),
             AUTONAT2_SERVE_REPLIED);
    decode_one(&out, &m);
    CHECK_EQ(m.status, AUTONAT2_E_DIAL_REFUSED);
    /* a second request on the same stream is refused as malformed */
    CHECK_EQ(autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, 0, &out),
             FASTN_ERR_NET_BAD_MESSAGE);
    buf_cleanup(&req);
    buf_cleanup(&out);
}

TEST(server_other_ip_costs_data)
{
    struct peer_id peer = pid(2);
    struct multiaddr other = ma("/ip4/5.6.7.8/tcp/4001");
    struct autonat_server srv;
    struct autonat2_serve s;
    struct autonat2_msg m;
    struct buf req, out, data;
    const uint8_t *p;
    size_t n, off = 0;
    int rc = 0;

    server_init(&srv, false);
    autonat2_serve_init(&s);
    buf_init(&req, 1 << 16);
    buf_init(&out, 1 << 16);
    buf_init(&data, 1 << 18);
    CHECK_ERR(autonat2_request_encode(&other, 1, 9, &req), 0);
    p = body(&req, &n);
    CHECK_EQ(autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, 0, &out),
             AUTONAT2_SERVE_MORE);
    decode_one(&out, &m);
    CHECK_EQ(m.type, AUTONAT2_MSG_DATA_REQUEST);
    CHECK_EQ(m.addr_idx, 0);
    CHECK(m.num_bytes >= 30000 && m.num_bytes <= 100000);
    /* one byte short is not enough */
    CHECK_ERR(autonat2_data_encode(m.num_bytes - 1, &data), 0);
    while ((p = next_body(&data, &off, &n)) != NULL) {
        rc = autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, 0, &out);
        CHECK_EQ(rc, AUTONAT2_SERVE_MORE);
    }
    buf_reset(&data);
    off = 0;
    CHECK_ERR(autonat2_data_encode(1, &data), 0);
    p = next_body(&data, &off, &n);
    CHECK_EQ(autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, 0, &out),
             AUTONAT2_SERVE_DIAL);
    CHECK(multiaddr_equal(&s.addr, &other));
    /* a request instead of the data ends the stream */
    autonat2_serve_init(&s);
    buf_reset(&out);
    p = body(&req, &n);
    CHECK_EQ(autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, 0, &out),
             AUTONAT2_SERVE_MORE);
    CHECK_EQ(autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, 0, &out),
             FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_EQ(s.state, AUTONAT2_SERVE_DONE);
    buf_cleanup(&req);
    buf_cleanup(&out);
    buf_cleanup(&data);
}

TEST(server_rate_limits)
{
    struct peer_id peer = pid(3);
    struct multiaddr a = ma("/ip4/1.2.3.4/tcp/4001");
    struct autonat_server srv;
    struct autonat2_serve s;
    struct autonat2_msg m;
    struct buf req, out;
    const uint8_t *p;
    size_t n;

    server_init(&srv, false);
    buf_init(&req, 1 << 16);
    buf_init(&out, 1 << 16);
    CHECK_ERR(autonat2_request_encode(&a, 1, 1, &req), 0);
    p = body(&req, &n);
    for (int i = 0; i < 3; i++) {
        autonat2_serve_init(&s);
        CHECK_EQ(autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, i, &out),
                 AUTONAT2_SERVE_DIAL);
    }
    autonat2_serve_init(&s);
    CHECK_EQ(autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, 3, &out),
             AUTONAT2_SERVE_REPLIED);
    decode_one(&out, &m);
    CHECK_EQ(m.status, AUTONAT2_E_REQUEST_REJECTED);
    /* the next window admits it again */
    buf_reset(&out);
    autonat2_serve_init(&s);
    CHECK_EQ(
        autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, 61 * SEC, &out),
        AUTONAT2_SERVE_DIAL);
    buf_cleanup(&req);
    buf_cleanup(&out);
}

static int feed_response(struct autonat2_probe *pr, enum autonat2_status st,
                         uint32_t idx, enum autonat2_dial_status ds,
                         struct autonat2_result *res)
{
    struct buf b, out;
    const uint8_t *p;
    size_t n;
    int rc;

    buf_init(&b, 1 << 12);
    buf_init(&out, 1 << 12);
    CHECK_ERR(autonat2_response_encode(st, idx, ds, &b), 0);
    p = body(&b, &n);
    rc = autonat2_probe_feed(pr, p, n, &out, res);
    buf_cleanup(&b);
    buf_cleanup(&out);
    return rc;
}

TEST(client_probe)
{
    struct multiaddr addrs[2] = {ma("/ip4/1.2.3.4/tcp/4001"),
                                 ma("/ip4/5.6.7.8/tcp/4001")};
    struct autonat2_probe pr;
    struct autonat2_result res;
    struct autonat2_msg m;
    struct buf b, out;
    const uint8_t *p;
    size_t n, off = 0, total = 0;

    buf_init(&b, 1 << 12);
    buf_init(&out, 1 << 18);
    CHECK_ERR(autonat2_probe_start(&pr, addrs, 2, 77, &b), 0);
    decode_one(&b, &m);
    CHECK(m.nonce == 77);
    CHECK_EQ(m.n, 2);
    /* it pays what is asked, in chunks of at most 4096 bytes, once */
    buf_reset(&b);
    CHECK_ERR(autonat2_data_request_encode(1, 30000, &b), 0);
    p = body(&b, &n);
    CHECK_EQ(autonat2_probe_feed(&pr, p, n, &out, &res), 0);
    while ((p = next_body(&out, &off, &n)) != NULL) {
        CHECK_ERR(autonat2_msg_decode(p, n, &m), 0);
        total += m.data_len;
    }
    CHECK_EQ(total, 30000);
    p = body(&b, &n);
    CHECK_EQ(autonat2_probe_feed(&pr, p, n, &out, &res),
             FASTN_ERR_NET_BAD_MESSAGE);
    /* more than it would pay, or an index it did not send: refused */
    CHECK_ERR(autonat2_probe_start(&pr, addrs, 2, 77, &b), 0);
    buf_reset(&b);
    CHECK_ERR(autonat2_data_request_encode(0, AUTONAT2_DATA_PAY_MAX + 1, &b),
              0);
    p = body(&b, &n);
    CHECK_EQ(autonat2_probe_feed(&pr, p, n, &out, &res),
             FASTN_ERR_NET_BAD_MESSAGE);
    buf_reset(&b);
    CHECK_ERR(autonat2_data_request_encode(2, 30000, &b), 0);
    p = body(&b, &n);
    CHECK_EQ(autonat2_probe_feed(&pr, p, n, &out, &res),
             FASTN_ERR_NET_BAD_MESSAGE);
    /* a dial "OK" without our nonce is discarded */
    CHECK_EQ(feed_response(&pr, AUTONAT2_OK, 1, AUTONAT2_DIAL_OK, &res), 1);
    CHECK_EQ(res.vote, AUTONAT_VOTE_NONE);
    CHECK(!autonat2_probe_dial_back(&pr, 78));
    CHECK(autonat2_probe_dial_back(&pr, 77));
    CHECK_EQ(feed_response(&pr, AUTONAT2_OK, 1, AUTONAT2_DIAL_OK, &res), 1);
    CHECK_EQ(res.vote, AUTONAT_VOTE_REACHABLE);
    CHECK(res.has_addr && multiaddr_equal(&res.addr, &addrs[1]));
    CHECK_EQ(feed_response(&pr, AUTONAT2_OK, 0, AUTONAT2_DIAL_ERROR, &res), 1);
    CHECK_EQ(res.vote, AUTONAT_VOTE_UNREACHABLE);
    CHECK(multiaddr_equal(&res.addr, &addrs[0]));
    CHECK_EQ(feed_response(&pr, AUTONAT2_OK, 0, AUTONAT2_DIAL_BACK_ERROR, &res),
             1);
    CHECK_EQ(res.vote, AUTONAT_VOTE_NONE);
    CHECK_EQ(feed_response(&pr, AUTONAT2_OK, 2, AUTONAT2_DIAL_OK, &res), 1);
    CHECK_EQ(res.vote, AUTONAT_VOTE_NONE);
    CHECK(!res.has_addr);
    CHECK_EQ(feed_response(&pr, AUTONAT2_E_REQUEST_REJECTED, 0,
                           AUTONAT2_DIAL_UNUSED, &res),
             1);
    CHECK_EQ(res.vote, AUTONAT_VOTE_NONE);
    buf_cleanup(&b);
    buf_cleanup(&out);
}

/* The two state machines talking, as on a stream: the client asks for an
 * address on another IP, pays, the server dials and the nonce comes. */
TEST(client_and_server)
{
    struct peer_id peer = pid(4);
    struct multiaddr a = ma("/ip4/9.9.9.9/tcp/4001");
    struct autonat_server srv;
    struct autonat2_serve s;
    struct autonat2_probe pr;
    struct autonat2_result res;
    struct buf c2s, s2c, back;
    const uint8_t *p;
    size_t n, off = 0, soff = 0;
    int rc = AUTONAT2_SERVE_MORE;
    uint64_t nonce;

    server_init(&srv, false);
    autonat2_serve_init(&s);
    buf_init(&c2s, 1 << 18);
    buf_init(&s2c, 1 << 12);
    buf_init(&back, 1 << 12);
    CHECK_ERR(autonat2_probe_start(&pr, &a, 1, 0xfeedull, &c2s), 0);
    p = next_body(&c2s, &off, &n);
    CHECK_EQ(autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, 0, &s2c),
             AUTONAT2_SERVE_MORE);
    p = next_body(&s2c, &soff, &n);
    CHECK_EQ(autonat2_probe_feed(&pr, p, n, &c2s, &res), 0);
    while (rc == AUTONAT2_SERVE_MORE && (p = next_body(&c2s, &off, &n)) != NULL)
        rc = autonat2_serve_feed(&srv, &s, &peer, ip_a, 4, p, n, 0, &s2c);
    CHECK_EQ(rc, AUTONAT2_SERVE_DIAL);
    CHECK_ERR(autonat2_dial_back_encode(s.nonce, &back), 0);
    p = body(&back, &n);
    CHECK_ERR(autonat2_dial_back_decode(p, n, &nonce), 0);
    CHECK(autonat2_probe_dial_back(&pr, nonce));
    CHECK_ERR(autonat2_serve_result(&s, AUTONAT2_DIAL_OK, &s2c), 0);
    p = next_body(&s2c, &soff, &n);
    CHECK_EQ(autonat2_probe_feed(&pr, p, n, &c2s, &res), 1);
    CHECK_EQ(res.vote, AUTONAT_VOTE_REACHABLE);
    CHECK(multiaddr_equal(&res.addr, &a));
    buf_cleanup(&c2s);
    buf_cleanup(&s2c);
    buf_cleanup(&back);
}

int main(void)
{
    RUN(codec_roundtrip);
    RUN(codec_bad_input);
    RUN(server_same_ip_dials_at_once);
    RUN(server_other_ip_costs_data);
    RUN(server_rate_limits);
    RUN(client_probe);
    RUN(client_and_server);
    return test_done();
}
