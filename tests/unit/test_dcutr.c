/* Unit tests for src/net/dcutr: both roles driven against each other with
 * injected time (RTT measurement, the synchronized dial), retries, and
 * bad input: garbage and private addresses, too many addresses, lying
 * lengths, messages out of order, timeouts. */
#include "net/dcutr.h"
#include "net/pb.h"
#include "test.h"
#include "js_vectors.h"

#define MS 1000ull

static struct dcutr_config cfg;

static void addr(struct multiaddr *ma, const char *text)
{
    CHECK_ERR(multiaddr_parse(text, ma), 0);
}

/* Moves a's output into b; returns what b's feed returned last. */
static int pump(struct dcutr *a, struct dcutr *b, struct dcutr_event *ev,
                uint64_t now)
{
    size_t n, used;
    const uint8_t *p = dcutr_output(a, &n);
    int rc = 0;

    if (n == 0)
        return 0;
    rc = dcutr_feed(b, p, n, &used, ev, now);
    if (rc >= 0 && used != n && rc != 1)
        CHECK(!"feed left bytes without an event");
    dcutr_output_consume(a, n);
    return rc;
}

static void pair(struct dcutr *ini, struct dcutr *res, uint64_t now)
{
    struct multiaddr b[2], a[1];
    addr(&b[0], "/ip4/1.2.3.4/tcp/4001");
    addr(&b[1], "/ip6/2a00:1450::1/tcp/4001");
    addr(&a[0], "/ip4/5.6.7.8/tcp/5001");
    dcutr_init(ini, &cfg, DCUTR_INITIATOR, b, 2, now);
    dcutr_init(res, &cfg, DCUTR_RESPONDER, a, 1, now);
}

TEST(synchronized_dial)
{
    struct dcutr ini, res;
    struct dcutr_event ev;
    uint64_t t = 1000 * MS;

    pair(&ini, &res, t);
    CHECK_ERR(dcutr_start(&ini, t), 0);
    CHECK_EQ(pump(&ini, &res, &ev, t + 20 * MS), 0); /* CONNECT arrives */
    CHECK_EQ(pump(&res, &ini, &ev, t + 40 * MS), 0); /* answer: RTT 40 ms */
    CHECK_EQ(ini.rtt_us, 40 * MS);
    CHECK_EQ(dcutr_next_deadline(&ini), t + 60 * MS); /* half the RTT on */
    CHECK_EQ(pump(&ini, &res, &ev, t + 60 * MS), 1);  /* SYNC: A dials */
    CHECK_EQ(ev.type, DCUTR_EV_DIAL);
    CHECK_EQ(ev.addrs->n, 2);
    CHECK_ERR(dcutr_tick(&ini, t + 59 * MS, &ev), 0); /* not yet */
    CHECK_EQ(dcutr_tick(&ini, t + 60 * MS, &ev), 1);  /* B dials too */
    CHECK_EQ(ev.addrs->n, 1);
    char s[MULTIADDR_STR_MAX];
    multiaddr_format(&ev.addrs->a[0], s, sizeof(s));
    CHECK_STR(s, "/ip4/5.6.7.8/tcp/5001");
    CHECK_EQ(ev.rtt_us, 40 * MS);
    CHECK_ERR(dcutr_dial_done(&ini, true, t + 70 * MS), 0);
    CHECK_ERR(dcutr_dial_done(&res, true, t + 70 * MS), 0);
    CHECK(dcutr_succeeded(&ini) && dcutr_succeeded(&res));
    CHECK_ERR(dcutr_dial_done(&ini, true, t), FASTN_ERR_INVAL);
    dcutr_cleanup(&ini);
    dcutr_cleanup(&res);
}

TEST(three_attempts_then_fail)
{
    struct dcutr ini, res;
    struct dcutr_event ev;
    uint64_t t = 0;

    pair(&ini, &res, t);
    CHECK_ERR(dcutr_start(&ini, t), 0);
    for (unsigned i = 1; i <= DCUTR_ATTEMPTS; i++) {
        CHECK_EQ(pump(&ini, &res, &ev, t + 10 * MS), 0);
        CHECK_EQ(pump(&res, &ini, &ev, t + 20 * MS), 0);
        CHECK_EQ(pump(&ini, &res, &ev, t + 20 * MS), 1);
        CHECK_EQ(ev.attempt, i);
        CHECK_EQ(dcutr_tick(&ini, dcutr_next_deadline(&ini), &ev), 1);
        CHECK_EQ(ev.attempt, i);
        CHECK_ERR(dcutr_dial_done(&res, false, t + 40 * MS),
                  i < DCUTR_ATTEMPTS ? 0 : FASTN_ERR_NET_HOLEPUNCH);
        CHECK_ERR(dcutr_dial_done(&ini, false, t + 40 * MS),
                  i < DCUTR_ATTEMPTS ? 0 : FASTN_ERR_NET_HOLEPUNCH);
        t += 100 * MS;
    }
    CHECK(dcutr_done(&ini) && !dcutr_succeeded(&ini));
    CHECK(dcutr_done(&res));
    dcutr_cleanup(&ini);
    dcutr_cleanup(&res);
}

/* A raw CONNECT with the given binary addresses. */
static void raw_connect(struct buf *out, const uint8_t *const *addrs,
                        const size_t *lens, size_t n, unsigned copies)
{
    struct buf body;
    buf_init(&body, 1 << 20);
    pb_put_varint(&body, 1, DCUTR_CONNECT);
    for (unsigned c = 0; c < copies; c++)
        for (size_t i = 0; i < n; i++)
            pb_put_bytes(&body, 2, addrs[i], lens[i]);
    lp_write(out, body.data, body.len);
    buf_cleanup(&body);
}

TEST(garbage_addresses)
{
    struct dcutr res;
    struct dcutr_event ev;
    struct buf in;
    struct multiaddr priv, zero, loop, good, udp_like;
    size_t used;
    static const uint8_t junk[] = {0x04, 0x01};
    static const uint8_t unknown[] = {0x91, 0x02, 0x04, 0xd2};

    addr(&priv, "/ip4/192.168.1.10/tcp/4001");
    addr(&zero, "/ip4/0.0.0.0/tcp/4001");
    addr(&loop, "/ip4/127.0.0.1/tcp/4001");
    addr(&udp_like, "/ip4/9.9.9.9/tcp/0");
    addr(&good, "/ip4/9.9.9.9/tcp/4001");
    const uint8_t *bad[] = {junk,       unknown,    priv.bytes,
                            zero.bytes, loop.bytes, udp_like.bytes};
    size_t bad_len[] = {sizeof(junk), sizeof(unknown), priv.len,
                        zero.len,     loop.len,        udp_like.len};

    /* only garbage: nothing to dial, a clear error */
    dcutr_init(&res, &cfg, DCUTR_RESPONDER, &good, 1, 0);
    buf_init(&in, 1 << 20);
    raw_connect(&in, bad, bad_len, 6, 1);
    CHECK_ERR(dcutr_feed(&res, in.data, in.len, &used, &ev, 0),
              FASTN_ERR_NET_HOLEPUNCH);
    dcutr_cleanup(&res);

    /* garbage around one good address: only it is kept */
    dcutr_init(&res, &cfg, DCUTR_RESPONDER, &good, 1, 0);
    buf_reset(&in);
    const uint8_t *mixed[] = {junk, good.bytes, priv.bytes, good.bytes};
    size_t mixed_len[] = {sizeof(junk), good.len, priv.len, good.len};
    raw_connect(&in, mixed, mixed_len, 4, 1);
    CHECK_ERR(dcutr_feed(&res, in.data, in.len, &used, &ev, 0), 0);
    CHECK_EQ(res.theirs.n, 1);
    CHECK(res.theirs.dropped >= 2);
    dcutr_cleanup(&res);

    /* a LAN policy keeps the private one */
    struct dcutr_config lan = cfg;
    lan.policy.allow_private = true;
    dcutr_init(&res, &lan, DCUTR_RESPONDER, &good, 1, 0);
    CHECK_ERR(dcutr_feed(&res, in.data, in.len, &used, &ev, 0), 0);
    CHECK_EQ(res.theirs.n, 2);
    dcutr_cleanup(&res);
    buf_cleanup(&in);
}

TEST(address_count_capped)
{
    struct dcutr res;
    struct dcutr_event ev;
    struct buf in;
    static struct multiaddr many[500];
    const uint8_t *ptr[500];
    size_t lens[500], used;
    char text[64];

    for (int i = 0; i < 500; i++) {
        snprintf(text, sizeof(text), "/ip4/8.8.%d.%d/tcp/1", i / 250, i % 250);
        addr(&many[i], text);
        ptr[i] = many[i].bytes;
        lens[i] = many[i].len;
    }
    buf_init(&in, 1 << 20);
    /* 500 addresses do not fit in 4 KiB: refused before decoding */
    raw_connect(&in, ptr, lens, 500, 1);
    CHECK(in.len > DCUTR_MAX_MSG);
    dcutr_init(&res, &cfg, DCUTR_RESPONDER, many, 1, 0);
    CHECK_ERR(dcutr_feed(&res, in.data, in.len, &used, &ev, 0),
              FASTN_ERR_NET_BAD_MESSAGE);
    dcutr_cleanup(&res);
    /* 300 fit: the first max_addrs are kept */
    buf_reset(&in);
    raw_connect(&in, ptr, lens, 300, 1);
    CHECK(in.len <= DCUTR_MAX_MSG + 3);
    dcutr_init(&res, &cfg, DCUTR_RESPONDER, many, 1, 0);
    CHECK_ERR(dcutr_feed(&res, in.data, in.len, &used, &ev, 0), 0);
    CHECK_EQ(res.theirs.n, DCUTR_DEFAULT_MAX_ADDRS);
    CHECK_EQ(res.theirs.dropped, 300 - DCUTR_DEFAULT_MAX_ADDRS);
    dcutr_cleanup(&res);
    buf_cleanup(&in);
}

TEST(lying_lengths_and_order)
{
    struct dcutr res, ini;
    struct dcutr_event ev;
    struct multiaddr good;
    struct buf in;
    size_t used;
    static const uint8_t huge[] = {0x81, 0x40};      /* 8193 bytes */
    static const uint8_t cut[] = {0x40, 0x08, 0x64}; /* 64 said, 2 sent */
    static const uint8_t sync[] = {0x03, 0x08, 0xac, 0x02};
    static const uint8_t no_type[] = {0x00};
    static const uint8_t bad_type[] = {0x02, 0x08, 0x05};
    static const uint8_t bad_pb[] = {0x02, 0x12, 0x09};

    addr(&good, "/ip4/9.9.9.9/tcp/4001");
    dcutr_init(&res, &cfg, DCUTR_RESPONDER, &good, 1, 0);
    CHECK_ERR(dcutr_feed(&res, huge, sizeof(huge), &used, &ev, 0),
              FASTN_ERR_NET_BAD_MESSAGE);
    dcutr_cleanup(&res);
    /* a cut message waits, then the step times out */
    dcutr_init(&res, &cfg, DCUTR_RESPONDER, &good, 1, 0);
    CHECK_ERR(dcutr_feed(&res, cut, sizeof(cut), &used, &ev, 0), 0);
    CHECK_EQ(used, sizeof(cut));
    CHECK_ERR(dcutr_tick(&res, DCUTR_DEFAULT_STEP_TIMEOUT_US - 1, &ev), 0);
    CHECK_ERR(dcutr_tick(&res, DCUTR_DEFAULT_STEP_TIMEOUT_US, &ev),
              FASTN_ERR_TIMEOUT);
    CHECK(dcutr_done(&res));
    dcutr_cleanup(&res);
    const uint8_t *bad[] = {sync, no_type, bad_type, bad_pb};
    size_t bad_len[] = {sizeof(sync), sizeof(no_type), sizeof(bad_type),
                        sizeof(bad_pb)};
    for (int i = 0; i < 4; i++) {
        dcutr_init(&res, &cfg, DCUTR_RESPONDER, &good, 1, 0);
        CHECK_ERR(dcutr_feed(&res, bad[i], bad_len[i], &used, &ev, 0),
                  FASTN_ERR_NET_BAD_MESSAGE);
        dcutr_cleanup(&res);
    }
    /* the initiator takes no SYNC, and no CONNECT before it sent one */
    dcutr_init(&ini, &cfg, DCUTR_INITIATOR, &good, 1, 0);
    buf_init(&in, 4096);
    dcutr_msg_encode(DCUTR_CONNECT, &good, 1, &in);
    CHECK_ERR(dcutr_feed(&ini, in.data, in.len, &used, &ev, 0),
              FASTN_ERR_NET_BAD_MESSAGE);
    dcutr_cleanup(&ini);
    dcutr_init(&ini, &cfg, DCUTR_INITIATOR, &good, 1, 0);
    CHECK_ERR(dcutr_start(&ini, 0), 0);
    CHECK_ERR(dcutr_feed(&ini, sync, sizeof(sync), &used, &ev, 0),
              FASTN_ERR_NET_BAD_MESSAGE);
    dcutr_cleanup(&ini);
    buf_cleanup(&in);
}

TEST(responder_bounds_attempts)
{
    struct dcutr res;
    struct dcutr_event ev;
    struct multiaddr good;
    struct buf in;
    size_t used;

    addr(&good, "/ip4/9.9.9.9/tcp/4001");
    dcutr_init(&res, &cfg, DCUTR_RESPONDER, &good, 1, 0);
    buf_init(&in, 4096);
    dcutr_msg_encode(DCUTR_CONNECT, &good, 1, &in);
    dcutr_msg_encode(DCUTR_SYNC, NULL, 0, &in);
    for (int i = 0; i < DCUTR_ATTEMPTS; i++) {
        CHECK_EQ(dcutr_feed(&res, in.data, in.len, &used, &ev, 0), 1);
        CHECK_EQ(used, in.len);
        CHECK_ERR(dcutr_dial_done(&res, false, 0),
                  i + 1 < DCUTR_ATTEMPTS ? 0 : FASTN_ERR_NET_HOLEPUNCH);
    }
    CHECK_ERR(dcutr_feed(&res, in.data, in.len, &used, &ev, 0),
              FASTN_ERR_NET_BAD_MESSAGE);
    dcutr_cleanup(&res);
    buf_cleanup(&in);
}

TEST(nothing_to_offer)
{
    struct dcutr ini;
    dcutr_init(&ini, &cfg, DCUTR_INITIATOR, NULL, 0, 0);
    CHECK_ERR(dcutr_start(&ini, 0), FASTN_ERR_NET_HOLEPUNCH);
    CHECK(dcutr_done(&ini));
    dcutr_cleanup(&ini);
    /* an initiator whose answer never comes times out */
    struct multiaddr good;
    struct dcutr_event ev;
    addr(&good, "/ip4/9.9.9.9/tcp/4001");
    dcutr_init(&ini, &cfg, DCUTR_INITIATOR, &good, 1, 0);
    CHECK_ERR(dcutr_start(&ini, 5), 0);
    CHECK_ERR(dcutr_tick(&ini, 5 + DCUTR_DEFAULT_STEP_TIMEOUT_US, &ev),
              FASTN_ERR_TIMEOUT);
    dcutr_cleanup(&ini);
}

/* Bytes @libp2p/dcutr produced (tests/unit/js_vectors.h). */
TEST(js_connect)
{
    struct dcutr_msg m;
    struct addr_policy lan = {.allow_private = true};

    CHECK_ERR(dcutr_msg_decode(js_dcutr_connect, sizeof(js_dcutr_connect),
                               &cfg.policy, 8, &m),
              0);
    CHECK_EQ(m.type, DCUTR_CONNECT);
    CHECK_EQ(m.addrs.n, 1); /* the 192.168 one is not for strangers */
    CHECK_ERR(dcutr_msg_decode(js_dcutr_connect, sizeof(js_dcutr_connect), &lan,
                               8, &m),
              0);
    CHECK_EQ(m.addrs.n, 2);
}

int main(void)
{
    RUN(synchronized_dial);
    RUN(three_attempts_then_fail);
    RUN(garbage_addresses);
    RUN(address_count_capped);
    RUN(lying_lengths_and_order);
    RUN(responder_bounds_attempts);
    RUN(nothing_to_offer);
    RUN(js_connect);
    return test_done();
}
