/* Unit tests for src/net/mdns*: the DNS codec (questions, PTR/TXT/A/AAAA/
 * SRV records, name compression) against bad input (pointer loops,
 * forward pointers, long labels and names, lying counts and lengths),
 * peer names, and discovery between two nodes with garbage answers. */
#include "identity/identity.h"
#include "net/mdns.h"
#include "test.h"
#include "js_vectors.h"

static struct peer_id pid(uint8_t n)
{
    struct identity id;
    uint8_t seed[32] = {n, 0x3d};
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

TEST(query_and_response_codec)
{
    struct mdns_msg *m = mdns_msg_new();
    struct peer_id me = pid(1);
    struct multiaddr a[2] = {ma("/ip4/192.168.1.5/tcp/4001"),
                             ma("/ip6/fe80::1/tcp/4001")};
    struct buf b;
    char want[256], pidtxt[PEER_ID_STR_MAX];

    buf_init(&b, MDNS_MAX_PACKET);
    CHECK_ERR(mdns_query_encode(&b), 0);
    CHECK_ERR(mdns_decode(b.data, b.len, m), 0);
    CHECK(!m->response);
    CHECK_EQ(m->n_q, 1);
    CHECK_STR(m->q[0].name, "_p2p._udp.local");
    CHECK_EQ(m->q[0].type, MDNS_PTR);
    buf_reset(&b);
    CHECK_ERR(mdns_response_encode("abc123", &me, a, 2, 120, &b), 0);
    CHECK_ERR(mdns_decode(b.data, b.len, m), 0);
    CHECK(m->response);
    CHECK_EQ(m->n_rr, 3);
    CHECK_EQ(m->rr[0].type, MDNS_PTR);
    CHECK_STR(m->rr[0].target, "abc123._p2p._udp.local");
    CHECK_EQ(m->rr[1].type, MDNS_TXT);
    CHECK_EQ(m->rr[1].ttl, 120);
    CHECK(m->rr[1].flush);
    peer_id_format(&me, pidtxt);
    snprintf(want, sizeof(want), "dnsaddr=/ip4/192.168.1.5/tcp/4001/p2p/%s",
             pidtxt);
    CHECK_EQ(m->rr[1].txt[0].len, strlen(want));
    CHECK_MEM(m->rr[1].txt[0].s, want, strlen(want));
    CHECK_ERR(mdns_response_encode("a.b", &me, a, 1, 120, &b), FASTN_ERR_INVAL);
    CHECK_ERR(mdns_response_encode("", &me, a, 1, 120, &b), FASTN_ERR_INVAL);
    buf_cleanup(&b);
    mdns_msg_free(m);
}

/* A packet: header with the given counts, then body bytes. */
static size_t packet(uint8_t *out, uint16_t qd, uint16_t an,
                     const uint8_t *body, size_t n)
{
    uint8_t h[12] = {0,
                     0,
                     an ? 0x84 : 0,
                     0,
                     (uint8_t)(qd >> 8),
                     (uint8_t)qd,
                     (uint8_t)(an >> 8),
                     (uint8_t)an,
                     0,
                     0,
                     0,
                     0};
    memcpy(out, h, 12);
    memcpy(out + 12, body, n);
    return 12 + n;
}

TEST(compression)
{
    struct mdns_msg *m = mdns_msg_new();
    uint8_t pkt[600];
    size_t n;
    /* question "_p2p._udp.local" at 12; an answer named by a pointer to
     * it, whose PTR data is "x" + a pointer to it too */
    static const uint8_t ok[] = {
        4,   '_', 'p', '2', 'p', 4,  '_', 'u', 'd',  'p',  5, 'l', 'o',
        'c', 'a', 'l', 0,   0,   12, 0,   1,   0xc0, 12,   0, 12,  0,
        1,   0,   0,   0,   120, 0,  4,   1,   'x',  0xc0, 12};
    n = packet(pkt, 1, 1, ok, sizeof(ok));
    CHECK_ERR(mdns_decode(pkt, n, m), 0);
    CHECK_STR(m->rr[0].name, "_p2p._udp.local");
    CHECK_STR(m->rr[0].target, "x._p2p._udp.local");
    /* a pointer to itself, a two-pointer loop, a forward pointer */
    static const uint8_t self_loop[] = {0xc0, 12, 0, 12, 0, 1};
    static const uint8_t two_loop[] = {1, 'a', 0xc0, 16, 1, 'b', 0xc0, 12};
    static const uint8_t forward[] = {0xc0, 20, 0, 12, 0, 1, 0, 0, 1, 'a', 0};
    static const uint8_t past_end[] = {0xc1, 0xff, 0, 12, 0, 1};
    static const uint8_t reserved[] = {0x40, 'a', 0, 0, 12, 0, 1};
    n = packet(pkt, 1, 0, self_loop, sizeof(self_loop));
    CHECK_ERR(mdns_decode(pkt, n, m), FASTN_ERR_NET_BAD_MESSAGE);
    n = packet(pkt, 2, 0, two_loop, sizeof(two_loop));
    CHECK_ERR(mdns_decode(pkt, n, m), FASTN_ERR_NET_BAD_MESSAGE);
    n = packet(pkt, 1, 0, forward, sizeof(forward));
    CHECK_ERR(mdns_decode(pkt, n, m), FASTN_ERR_NET_BAD_MESSAGE);
    n = packet(pkt, 1, 0, past_end, sizeof(past_end));
    CHECK_ERR(mdns_decode(pkt, n, m), FASTN_ERR_NET_BAD_MESSAGE);
    n = packet(pkt, 1, 0, reserved, sizeof(reserved));
    CHECK_ERR(mdns_decode(pkt, n, m), FASTN_ERR_NET_BAD_MESSAGE);
    /* chains of backward pointers: question i is a pointer to question
     * i-1's name, so it takes i-1 jumps; past MDNS_MAX_JUMPS: refused */
    for (int total = 10; total <= 20; total += 10) {
        uint8_t body[200];
        size_t k = 0, prev = 12;
        body[k++] = 1, body[k++] = 'a', body[k++] = 0;
        memcpy(body + k, "\x00\x0c\x00\x01", 4), k += 4;
        for (int i = 1; i < total; i++) {
            size_t here = 12 + k;
            body[k++] = 0xc0;
            body[k++] = (uint8_t)prev;
            memcpy(body + k, "\x00\x0c\x00\x01", 4), k += 4;
            prev = here;
        }
        n = packet(pkt, (uint16_t)total, 0, body, k);
        CHECK_ERR(mdns_decode(pkt, n, m),
                  total - 1 <= MDNS_MAX_JUMPS ? 0 : FASTN_ERR_NET_BAD_MESSAGE);
    }
    mdns_msg_free(m);
}

TEST(names_and_lengths)
{
    struct mdns_msg *m = mdns_msg_new();
    uint8_t pkt[1200], body[1100];
    size_t n, k = 0;

    /* a label of 64 bytes */
    body[k++] = 64;
    memset(body + k, 'a', 64);
    k += 64;
    body[k++] = 0;
    memcpy(body + k, "\x00\x0c\x00\x01", 4);
    n = packet(pkt, 1, 0, body, k + 4);
    CHECK_ERR(mdns_decode(pkt, n, m), FASTN_ERR_NET_BAD_MESSAGE);
    /* a name of 5 x 63-byte labels (> 255) */
    k = 0;
    for (int i = 0; i < 5; i++) {
        body[k++] = 63;
        memset(body + k, 'b', 63);
        k += 63;
    }
    body[k++] = 0;
    memcpy(body + k, "\x00\x0c\x00\x01", 4);
    n = packet(pkt, 1, 0, body, k + 4);
    CHECK_ERR(mdns_decode(pkt, n, m), FASTN_ERR_NET_BAD_MESSAGE);
    /* lying counts: 65535 answers in a few bytes */
    static const uint8_t tiny[] = {0,    0, 0x84, 0, 0, 0, 0xff,
                                   0xff, 0, 0,    0, 0, 0};
    CHECK_ERR(mdns_decode(tiny, sizeof(tiny), m), FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(mdns_decode(tiny, 11, m), FASTN_ERR_NET_BAD_MESSAGE);
    /* an rdlength past the end, an A record of 5 bytes, a TXT string
     * longer than its record */
    static const uint8_t rdlen[] = {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0x40};
    static const uint8_t a5[] = {0, 0, 1, 0, 1, 0, 0, 0,
                                 1, 0, 5, 1, 2, 3, 4, 5};
    static const uint8_t txt[] = {0, 0, 16, 0, 1, 0,   0,
                                  0, 1, 0,  3, 9, 'a', 'b'};
    n = packet(pkt, 0, 1, rdlen, sizeof(rdlen));
    CHECK_ERR(mdns_decode(pkt, n, m), FASTN_ERR_NET_BAD_MESSAGE);
    n = packet(pkt, 0, 1, a5, sizeof(a5));
    CHECK_ERR(mdns_decode(pkt, n, m), FASTN_ERR_NET_BAD_MESSAGE);
    n = packet(pkt, 0, 1, txt, sizeof(txt));
    CHECK_ERR(mdns_decode(pkt, n, m), FASTN_ERR_NET_BAD_MESSAGE);
    /* over the packet limit */
    static uint8_t huge[MDNS_MAX_PACKET + 1];
    CHECK_ERR(mdns_decode(huge, sizeof(huge), m), FASTN_ERR_NET_BAD_MESSAGE);
    mdns_msg_free(m);
}

TEST(many_records_bounded)
{
    struct mdns_msg *m = mdns_msg_new();
    static uint8_t pkt[MDNS_MAX_PACKET];
    size_t k = 12;
    uint16_t count = 0;

    /* 400 A records named by the root */
    while (k + 15 <= sizeof(pkt) && count < 400) {
        static const uint8_t a[] = {0, 0, 1, 0, 1, 0, 0, 0,
                                    1, 0, 4, 1, 2, 3, 4};
        memcpy(pkt + k, a, sizeof(a));
        k += sizeof(a);
        count++;
    }
    memset(pkt, 0, 12);
    pkt[2] = 0x84;
    pkt[6] = (uint8_t)(count >> 8);
    pkt[7] = (uint8_t)count;
    CHECK_ERR(mdns_decode(pkt, k, m), 0);
    CHECK_EQ(m->n_rr, MDNS_MAX_RECORDS);
    CHECK_EQ(m->dropped, count - MDNS_MAX_RECORDS);
    mdns_msg_free(m);
}

TEST(peer_names)
{
    uint8_t r1[64], r2[64];
    char a[MDNS_PEER_NAME_LEN + 1], b[MDNS_PEER_NAME_LEN + 1];

    for (int i = 0; i < 64; i++)
        r1[i] = (uint8_t)(i * 37 + 11), r2[i] = (uint8_t)(i * 91 + 3);
    mdns_peer_name(r1, sizeof(r1), a);
    mdns_peer_name(r2, sizeof(r2), b);
    CHECK_EQ(strlen(a), MDNS_PEER_NAME_LEN);
    CHECK(MDNS_PEER_NAME_LEN >= 32 && MDNS_PEER_NAME_LEN < 64);
    CHECK(strcmp(a, b) != 0);
    for (size_t i = 0; i < strlen(a); i++)
        CHECK((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9'));
}

TEST(discovery_between_two)
{
    struct mdns_config cfg;
    struct mdns a, b;
    struct peer_id ia = pid(1), ib = pid(2);
    struct multiaddr addrs_b[3] = {ma("/ip4/192.168.7.2/tcp/4001"),
                                   ma("/ip4/127.0.0.1/tcp/4001"),
                                   ma("/ip4/0.0.0.0/tcp/4001")};
    struct mdns_found found[4];
    struct buf q, reply, none;
    size_t n;
    uint8_t rnd[64] = {1};

    mdns_config_default(&cfg);
    mdns_init(&a, &cfg, &ia, rnd, sizeof(rnd), 0);
    rnd[0] = 2;
    mdns_init(&b, &cfg, &ib, rnd, sizeof(rnd), 0);
    mdns_set_addrs(&b, addrs_b, 3);
    buf_init(&q, MDNS_MAX_PACKET);
    buf_init(&reply, MDNS_MAX_PACKET);
    buf_init(&none, MDNS_MAX_PACKET);
    CHECK_EQ(mdns_poll(&a, 0, &q), 1);
    CHECK_EQ(mdns_poll(&a, 1, &q), 0);
    CHECK_EQ(mdns_next_deadline(&a), cfg.query_interval_us);
    CHECK_ERR(mdns_handle(&b, q.data, q.len, 0, &reply, found, 4, &n), 0);
    CHECK(reply.len > 0);
    CHECK_EQ(n, 0);
    /* A learns B's LAN address; loopback and 0.0.0.0 are refused */
    CHECK_ERR(mdns_handle(&a, reply.data, reply.len, 0, &none, found, 4, &n),
              0);
    CHECK_EQ(n, 1);
    CHECK(peer_id_equal(&found[0].id, &ib));
    CHECK_EQ(found[0].addrs.n, 1);
    CHECK_EQ(none.len, 0);
    /* B hears its own answer: nothing found */
    CHECK_ERR(mdns_handle(&b, reply.data, reply.len, 0, &none, found, 4, &n),
              0);
    CHECK_EQ(n, 0);
    /* a node without addresses stays quiet */
    buf_reset(&reply);
    CHECK_ERR(mdns_handle(&a, q.data, q.len, 0, &reply, found, 4, &n), 0);
    CHECK_EQ(reply.len, 0);
    buf_cleanup(&q);
    buf_cleanup(&reply);
    buf_cleanup(&none);
}

/* An answer with the given TXT strings for instance "evil". */
static size_t evil_answer(uint8_t *pkt, const char *const *txt, size_t n)
{
    struct buf b;
    size_t len;
    buf_init(&b, MDNS_MAX_PACKET);
    static const uint8_t head[] = {0, 0, 0x84, 0, 0, 0, 0, 2, 0, 0, 0, 0};
    buf_append(&b, head, sizeof(head));
    /* PTR _p2p._udp.local -> evil._p2p._udp.local */
    static const uint8_t ptr[] = {4,   '_', 'p', '2', 'p', 4,    '_', 'u', 'd',
                                  'p', 5,   'l', 'o', 'c', 'a',  'l', 0,   0,
                                  12,  0,   1,   0,   0,   0,    120, 0,   7,
                                  4,   'e', 'v', 'i', 'l', 0xc0, 12};
    buf_append(&b, ptr, sizeof(ptr));
    static const uint8_t txt_head[] = {0xc0, 12 + 27, 0, 16, 0,
                                       1,    0,       0, 0,  120};
    buf_append(&b, txt_head, sizeof(txt_head));
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += 1 + strlen(txt[i]);
    buf_put_be16(&b, (uint16_t)total);
    for (size_t i = 0; i < n; i++) {
        buf_put_u8(&b, (uint8_t)strlen(txt[i]));
        buf_append(&b, txt[i], strlen(txt[i]));
    }
    memcpy(pkt, b.data, b.len);
    len = b.len;
    buf_cleanup(&b);
    return len;
}

TEST(garbage_answers)
{
    struct mdns_config cfg;
    struct mdns a;
    struct peer_id ia = pid(1), ic = pid(3);
    struct mdns_found found[2];
    struct buf none;
    uint8_t pkt[MDNS_MAX_PACKET], rnd[40] = {0};
    char good[300], wrong_peer[400], ptxt[PEER_ID_STR_MAX];
    size_t n, len;

    mdns_config_default(&cfg);
    mdns_init(&a, &cfg, &ia, rnd, sizeof(rnd), 0);
    buf_init(&none, 100);
    peer_id_format(&ic, ptxt);
    snprintf(good, sizeof(good), "dnsaddr=/ip4/10.1.1.1/tcp/4001/p2p/%s", ptxt);
    snprintf(wrong_peer, sizeof(wrong_peer),
             "dnsaddr=/ip4/10.1.1.2/tcp/4001/p2p/%s/p2p/%s", ptxt, ptxt);
    const char *txt[] = {
        "dnsaddr=/ip4/10.1.1.1/tcp/4001", /* no /p2p */
        "dnsaddr=/ip4/300.1.1.1/tcp/4001/p2p/x",
        "dnsaddr=/ip4/10.1.1.1/udp/4001/quic-v1", /* not ours */
        "dnsaddr=",
        "dnsaddr",
        "something=else",
        wrong_peer, /* two /p2p: not a dialable address */
        good,
    };
    len = evil_answer(pkt, txt, 8);
    CHECK_ERR(mdns_handle(&a, pkt, len, 0, &none, found, 2, &n), 0);
    CHECK_EQ(n, 1);
    CHECK(peer_id_equal(&found[0].id, &ic));
    CHECK_EQ(found[0].addrs.n, 1);
    /* TXT records whose name no PTR of ours points to are ignored */
    pkt[12 + 34 + 1] = 12 + 5; /* the TXT now names "_udp.local" */
    CHECK_ERR(mdns_handle(&a, pkt, len, 0, &none, found, 2, &n), 0);
    CHECK_EQ(n, 0);
    buf_cleanup(&none);
}

TEST(meta_query)
{
    struct mdns_config cfg;
    struct mdns a;
    struct peer_id ia = pid(1);
    struct mdns_msg *m = mdns_msg_new();
    struct mdns_found found[1];
    struct buf reply;
    uint8_t rnd[40] = {0}, pkt[64];
    size_t n;
    static const uint8_t q[] = {9,   '_', 's', 'e', 'r', 'v', 'i', 'c', 'e',
                                's', 7,   '_', 'd', 'n', 's', '-', 's', 'd',
                                4,   '_', 'u', 'd', 'p', 5,   'l', 'o', 'c',
                                'a', 'l', 0,   0,   12,  0,   1};

    mdns_config_default(&cfg);
    mdns_init(&a, &cfg, &ia, rnd, sizeof(rnd), 0);
    buf_init(&reply, MDNS_MAX_PACKET);
    n = packet(pkt, 1, 0, q, sizeof(q));
    CHECK_ERR(mdns_handle(&a, pkt, n, 0, &reply, found, 1, &n), 0);
    CHECK_ERR(mdns_decode(reply.data, reply.len, m), 0);
    CHECK_EQ(m->n_rr, 1);
    CHECK_STR(m->rr[0].target, "_p2p._udp.local");
    buf_cleanup(&reply);
    mdns_msg_free(m);
}

/* Packets @libp2p/mdns (multicast-dns) produced (tests/unit/js_vectors.h). */
TEST(js_packets)
{
    struct mdns_config cfg;
    struct mdns node;
    struct mdns_msg *m = mdns_msg_new();
    struct mdns_found found[2];
    struct peer_id me = pid(9), js;
    struct multiaddr mine = ma("/ip4/192.168.1.8/tcp/4001");
    struct buf reply;
    uint8_t rnd[40] = {4};
    size_t n;

    CHECK_ERR(peer_id_parse(js_peer_id, &js), 0);
    CHECK_ERR(mdns_decode(js_mdns_answer, sizeof(js_mdns_answer), m), 0);
    CHECK(m->response);
    CHECK_EQ(m->n_rr, 3);
    CHECK_STR(m->rr[0].target,
              "fastnvectorsfastnvectorsfastnvectors1234._p2p._udp.local");
    mdns_config_default(&cfg);
    mdns_init(&node, &cfg, &me, rnd, sizeof(rnd), 0);
    mdns_set_addrs(&node, &mine, 1);
    buf_init(&reply, MDNS_MAX_PACKET);
    CHECK_ERR(mdns_handle(&node, js_mdns_answer, sizeof(js_mdns_answer), 0,
                          &reply, found, 2, &n),
              0);
    CHECK_EQ(n, 1);
    CHECK(peer_id_equal(&found[0].id, &js));
    CHECK_EQ(found[0].addrs.n, 2);
    /* js's query gets our answer */
    CHECK_ERR(mdns_handle(&node, js_mdns_query, sizeof(js_mdns_query), 0,
                          &reply, found, 2, &n),
              0);
    CHECK(reply.len > 0);
    /* and our query is js's, byte for byte */
    buf_reset(&reply);
    CHECK_ERR(mdns_query_encode(&reply), 0);
    CHECK_EQ(reply.len, sizeof(js_mdns_query));
    CHECK_MEM(reply.data, js_mdns_query, sizeof(js_mdns_query));
    buf_cleanup(&reply);
    mdns_msg_free(m);
}

int main(void)
{
    RUN(query_and_response_codec);
    RUN(compression);
    RUN(names_and_lengths);
    RUN(many_records_bounded);
    RUN(peer_names);
    RUN(discovery_between_two);
    RUN(garbage_answers);
    RUN(meta_query);
    RUN(js_packets);
    return test_done();
}
