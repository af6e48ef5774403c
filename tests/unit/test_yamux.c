/* Unit tests for src/net/yamux: two sessions talking, hand-made frames
 * for each rule of the spec (SYN/ACK, windows as deltas, ping echo,
 * go-away, RST, FIN half-close, stream limits), window auto-tuning,
 * keepalive and dead-peer detection, and each kind of bad input. */
#include "net/yamux.h"
#include "test.h"
#include "util/buf.h"

#define MAXEV 20000

struct side {
    struct yamux_session *s;
    struct yamux_event ev[MAXEV];
    uint8_t data[1 << 20];
    size_t nev, ndata;
    int counts[16];
    int err;
};

static void frame(struct buf *b, uint8_t type, uint16_t flags, uint32_t id,
                  uint32_t len)
{
    buf_put_u8(b, 0);
    buf_put_u8(b, type);
    buf_put_be16(b, flags);
    buf_put_be32(b, id);
    buf_put_be32(b, len);
}

/* Feeds bytes (in pieces of step) and records the events; data events
 * are copied out at once, as their spans are only lent. */
static int feed(struct side *x, const uint8_t *p, size_t n, size_t step,
                uint64_t now)
{
    for (size_t off = 0; off < n || off == 0;) {
        size_t chunk = n - off < step ? n - off : step, used;
        const uint8_t *q = p + off;
        struct yamux_event ev;
        int r;
        while ((r = yamux_feed(x->s, q, chunk, &used, &ev, now)) == 1) {
            if (x->nev < MAXEV)
                x->ev[x->nev++] = ev;
            x->counts[ev.type]++;
            if (ev.type == YAMUX_EV_DATA &&
                x->ndata + ev.len <= sizeof(x->data)) {
                memcpy(x->data + x->ndata, ev.data, ev.len);
                x->ndata += ev.len;
            }
            q += used;
            chunk -= used;
            off += used;
        }
        if (r < 0) {
            x->err = r;
            return r;
        }
        off += used;
        if (n == 0)
            break;
    }
    return 0;
}

/* Moves a's pending output to b. */
static int pump(struct side *a, struct side *b, uint64_t now)
{
    size_t n;
    const uint8_t *p = yamux_output(a->s, &n);
    struct buf copy;
    int r;
    buf_init(&copy, 64 << 20);
    buf_append(&copy, p, n);
    yamux_output_consume(a->s, n);
    r = feed(b, copy.data, copy.len, copy.len ? copy.len : 1, now);
    buf_cleanup(&copy);
    return r;
}

static int count(const struct side *x, enum yamux_event_type t)
{
    return x->counts[t];
}

static struct side *side_new(bool client, const struct yamux_config *cfg)
{
    struct side *x = calloc(1, sizeof(*x));
    struct yamux_config def;
    if (!cfg) {
        yamux_config_default(&def, client);
        cfg = &def;
    }
    x->s = yamux_new(cfg, 0);
    return x;
}

static void side_free(struct side *x)
{
    yamux_free(x->s);
    free(x);
}

/* Output bytes of a session, dropping its first 12 (the initial ping). */
static const uint8_t *out_after_ping(struct side *x, size_t *n)
{
    const uint8_t *p = yamux_output(x->s, n);
    CHECK(*n >= 12);
    *n -= 12;
    return p + 12;
}

TEST(open_write_close_between_two_sessions)
{
    struct side *c = side_new(true, NULL), *l = side_new(false, NULL);
    uint32_t id, id2;
    size_t n;
    const uint8_t *p;

    /* the first frame is a ping (for the round-trip time) */
    p = yamux_output(c->s, &n);
    CHECK_EQ(n, 12);
    CHECK_MEM(p, "\x00\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01", 12);
    CHECK_ERR(yamux_stream_open(c->s, (void *)0x1, &id), 0);
    CHECK_EQ(id, 1);
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id2), 0);
    CHECK_EQ(id2, 3);
    /* opening is a window update with SYN and delta 0 */
    p = out_after_ping(c, &n);
    CHECK_MEM(p, "\x00\x01\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00", 12);
    CHECK_EQ(yamux_stream_write(c->s, id, (const uint8_t *)"hello", 5), 5);
    CHECK_ERR(pump(c, l, 100), 0);
    CHECK_EQ(count(l, YAMUX_EV_STREAM_OPEN), 2);
    CHECK_EQ(l->ev[0].stream_id, 1);
    CHECK_EQ(l->ndata, 5);
    CHECK_MEM(l->data, "hello", 5);
    /* the listener answered the ping; its reply acks the stream */
    CHECK_ERR(yamux_stream_accept(l->s, 1, (void *)0x2), 0);
    CHECK_EQ(yamux_stream_write(l->s, 1, (const uint8_t *)"world", 5), 5);
    CHECK_ERR(pump(l, c, 140), 0);
    CHECK_EQ(count(c, YAMUX_EV_PING_RTT), 1);
    CHECK_EQ(yamux_rtt(c->s), 140);
    CHECK_EQ(c->ndata, 5);
    CHECK_MEM(c->data, "world", 5);
    CHECK(c->ev[c->nev - 1].user == (void *)0x1);
    /* half-close one way, then the other */
    CHECK_ERR(yamux_stream_close(c->s, 1), 0);
    CHECK_ERR(yamux_stream_close(c->s, 1), FASTN_ERR_CLOSED);
    CHECK_ERR(yamux_stream_write(c->s, 1, (const uint8_t *)"x", 1),
              FASTN_ERR_CLOSED);
    CHECK_ERR(pump(c, l, 200), 0);
    CHECK_EQ(count(l, YAMUX_EV_FIN), 1);
    CHECK_EQ(yamux_stream_write(l->s, 1, (const uint8_t *)"more", 4), 4);
    CHECK_ERR(yamux_stream_close(l->s, 1), 0);
    CHECK_EQ(yamux_stream_count(l->s), 1); /* stream 3 remains */
    CHECK_ERR(pump(l, c, 300), 0);
    CHECK_EQ(count(c, YAMUX_EV_FIN), 1);
    CHECK_EQ(count(c, YAMUX_EV_CLOSED), 1);
    CHECK_EQ(yamux_stream_count(c->s), 1);
    CHECK_EQ(c->ndata, 9);
    side_free(c);
    side_free(l);
}

TEST(bytewise_feeding)
{
    struct side *c = side_new(true, NULL), *l = side_new(false, NULL);
    uint32_t id;
    static uint8_t big[100000];
    size_t n;
    const uint8_t *p;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), 0);
    CHECK_EQ(yamux_stream_write(c->s, id, big, sizeof(big)), (int)sizeof(big));
    CHECK_ERR(yamux_stream_close(c->s, id), 0);
    p = yamux_output(c->s, &n);
    for (size_t step = 1; step <= 13; step += 12) {
        struct side *x = side_new(false, NULL);
        CHECK_ERR(feed(x, p, n, step, 0), 0);
        CHECK_EQ(x->ndata, sizeof(big));
        CHECK_MEM(x->data, big, sizeof(big));
        CHECK_EQ(count(x, YAMUX_EV_FIN), 1);
        side_free(x);
    }
    side_free(c);
    side_free(l);
}

TEST(ping_is_echoed_with_ack)
{
    struct side *l = side_new(false, NULL);
    struct buf b;
    size_t n;
    const uint8_t *p;

    buf_init(&b, 64);
    frame(&b, YAMUX_TYPE_PING, YAMUX_SYN, 0, 0xdeadbeef);
    CHECK_ERR(feed(l, b.data, b.len, b.len, 0), 0);
    p = out_after_ping(l, &n);
    CHECK_EQ(n, 12);
    CHECK_MEM(p, "\x00\x02\x00\x02\x00\x00\x00\x00\xde\xad\xbe\xef", 12);
    /* an unsolicited answer is ignored */
    buf_reset(&b);
    frame(&b, YAMUX_TYPE_PING, YAMUX_ACK, 0, 77);
    CHECK_ERR(feed(l, b.data, b.len, b.len, 0), 0);
    CHECK_EQ(l->nev, 0);
    buf_cleanup(&b);
    side_free(l);
}

TEST(window_is_respected_and_reopened)
{
    struct side *c = side_new(true, NULL), *l = side_new(false, NULL);
    static uint8_t big[600000];
    uint32_t id;

    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), 0);
    /* only the initial 256 KiB fit */
    CHECK_EQ(yamux_stream_write(c->s, id, big, sizeof(big)),
             YAMUX_INITIAL_WINDOW);
    CHECK_EQ(yamux_stream_send_window(c->s, id), 0);
    CHECK_EQ(yamux_stream_write(c->s, id, big, 1), 0);
    uint8_t hdr[12];
    CHECK_ERR(yamux_stream_data_header(c->s, id, 1, hdr), FASTN_ERR_AGAIN);
    CHECK_ERR(pump(c, l, 0), 0);
    CHECK_EQ(l->ndata, YAMUX_INITIAL_WINDOW);
    /* not consumed: no update; consumed: an update of the full delta */
    CHECK_ERR(pump(l, c, 0), 0);
    CHECK_EQ(count(c, YAMUX_EV_WRITABLE), 0);
    yamux_stream_consumed(l->s, id, 100000, 10000000);
    size_t n;
    yamux_output(l->s, &n);
    CHECK_EQ(n, 0); /* less than half the window is free */
    yamux_stream_consumed(l->s, id, YAMUX_INITIAL_WINDOW - 100000, 10000000);
    CHECK_ERR(pump(l, c, 0), 0);
    CHECK_EQ(count(c, YAMUX_EV_WRITABLE), 1);
    CHECK_EQ(yamux_stream_send_window(c->s, id), YAMUX_INITIAL_WINDOW);
    side_free(c);
    side_free(l);
}

TEST(window_autotuning)
{
    struct side *c = side_new(true, NULL), *l = side_new(false, NULL);
    static uint8_t chunk[16 << 20];
    uint32_t id;
    uint64_t now = 0;

    /* both measure an RTT of 100 us (their first pings left at 0) */
    CHECK_ERR(pump(c, l, now), 0);
    CHECK_ERR(pump(l, c, now + 100), 0);
    CHECK_ERR(pump(c, l, now + 100), 0);
    now += 100;
    CHECK_EQ(yamux_rtt(c->s), 100);
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), 0);
    CHECK_ERR(pump(c, l, now), 0);
    /* the listener sends quickly; the client consumes at once: doubling */
    CHECK_EQ(yamux_rtt(l->s), 100);
    uint32_t w = YAMUX_INITIAL_WINDOW;
    for (int round = 0; round < 10; round++) {
        int k = yamux_stream_write(l->s, id, chunk,
                                   yamux_stream_send_window(l->s, id));
        CHECK(k > 0);
        CHECK_ERR(pump(l, c, now), 0);
        now += 50; /* consumed within 4 RTTs of the last update */
        yamux_stream_consumed(c->s, id, (size_t)k, now);
        CHECK_ERR(pump(c, l, now), 0);
        w = yamux_stream_recv_window(c->s, id);
    }
    CHECK_EQ(w, 16 * 1024 * 1024);
    CHECK_EQ(yamux_stream_send_window(l->s, id), 16 * 1024 * 1024);

    /* a slow reader does not grow its window */
    uint32_t id2;
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id2), 0);
    CHECK_ERR(pump(c, l, now), 0);
    for (int round = 0; round < 5; round++) {
        int k = yamux_stream_write(l->s, id2, chunk,
                                   yamux_stream_send_window(l->s, id2));
        CHECK_ERR(pump(l, c, now), 0);
        now += 1000000;
        yamux_stream_consumed(c->s, id2, (size_t)k, now);
        CHECK_ERR(pump(c, l, now), 0);
    }
    CHECK_EQ(yamux_stream_recv_window(c->s, id2), YAMUX_INITIAL_WINDOW);
    side_free(c);
    side_free(l);
}

TEST(reset_and_late_frames)
{
    struct side *c = side_new(true, NULL), *l = side_new(false, NULL);
    uint32_t id;
    struct buf b;

    buf_init(&b, 1024);
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), 0);
    CHECK_ERR(pump(c, l, 0), 0);
    CHECK_ERR(yamux_stream_reset(l->s, id), 0);
    CHECK_ERR(yamux_stream_reset(l->s, id), FASTN_ERR_NOT_FOUND);
    /* data the client sent before it saw the RST is dropped quietly */
    frame(&b, YAMUX_TYPE_DATA, 0, id, 3);
    buf_append(&b, "abc", 3);
    l->nev = 0;
    CHECK_ERR(feed(l, b.data, b.len, b.len, 0), 0);
    CHECK_EQ(l->nev, 0);
    CHECK_ERR(pump(l, c, 0), 0);
    CHECK_EQ(count(c, YAMUX_EV_RESET), 1);
    CHECK_EQ(yamux_stream_count(c->s), 0);
    CHECK_EQ(yamux_stream_send_window(c->s, id), 0);
    buf_cleanup(&b);
    side_free(c);
    side_free(l);
}

/* A FIN handler that resets its stream: the CLOSED queued behind the FIN
 * (both came in one frame) no longer names the stream's owner, who may
 * have freed it. */
TEST(reset_in_fin_forgets_queued_events)
{
    struct side *c = side_new(true, NULL);
    struct yamux_event ev;
    struct buf b;
    size_t used;
    uint32_t id;

    CHECK_ERR(yamux_stream_open(c->s, (void *)0x1, &id), 0);
    CHECK_ERR(yamux_stream_close(c->s, id), 0);
    buf_init(&b, 64);
    frame(&b, YAMUX_TYPE_WINDOW, YAMUX_ACK | YAMUX_FIN, id, 0);
    CHECK_EQ(yamux_feed(c->s, b.data, b.len, &used, &ev, 1), 1);
    CHECK_EQ(ev.type, YAMUX_EV_FIN);
    CHECK(ev.user == (void *)0x1);
    /* gone already (both sides closed): NOT_FOUND, and forgotten */
    CHECK_ERR(yamux_stream_reset(c->s, id), FASTN_ERR_NOT_FOUND);
    CHECK_EQ(yamux_feed(c->s, b.data + used, b.len - used, &used, &ev, 1), 1);
    CHECK_EQ(ev.type, YAMUX_EV_CLOSED);
    CHECK(ev.user == NULL);
    buf_cleanup(&b);
    side_free(c);
}

TEST(limits_refuse_streams)
{
    struct yamux_config cfg;
    struct side *l, *c;
    struct buf b;
    uint32_t id;
    size_t n;
    const uint8_t *p;

    yamux_config_default(&cfg, false);
    cfg.max_streams = 2;
    l = side_new(false, &cfg);
    buf_init(&b, 1024);
    frame(&b, YAMUX_TYPE_WINDOW, YAMUX_SYN, 1, 0);
    frame(&b, YAMUX_TYPE_WINDOW, YAMUX_SYN, 3, 0);
    frame(&b, YAMUX_TYPE_DATA, YAMUX_SYN, 5, 4);
    buf_append(&b, "lost", 4);
    CHECK_ERR(feed(l, b.data, b.len, b.len, 0), 0);
    CHECK_EQ(count(l, YAMUX_EV_STREAM_OPEN), 2);
    CHECK_EQ(l->ndata, 0);
    p = out_after_ping(l, &n);
    CHECK_EQ(n, 12);
    CHECK_MEM(p, "\x00\x01\x00\x08\x00\x00\x00\x05\x00\x00\x00\x00", 12);
    side_free(l);

    /* ack backlog: at most this many unacknowledged outbound streams */
    yamux_config_default(&cfg, true);
    cfg.ack_backlog = 2;
    c = side_new(true, &cfg);
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), 0);
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), 0);
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), FASTN_ERR_AGAIN);
    buf_reset(&b);
    frame(&b, YAMUX_TYPE_WINDOW, YAMUX_ACK, 1, 0);
    CHECK_ERR(feed(c, b.data, b.len, b.len, 0), 0);
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), 0);
    CHECK_EQ(id, 5);
    side_free(c);

    yamux_config_default(&cfg, true);
    cfg.max_streams = 1;
    c = side_new(true, &cfg);
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), 0);
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), FASTN_ERR_NET_STREAM_LIMIT);
    side_free(c);
    buf_cleanup(&b);
}

TEST(go_away_both_ways)
{
    struct side *c = side_new(true, NULL), *l = side_new(false, NULL);
    uint32_t id;
    struct buf b;
    size_t n;
    const uint8_t *p;

    CHECK_ERR(yamux_go_away(l->s, YAMUX_GOAWAY_NORMAL), 0);
    CHECK_ERR(pump(l, c, 0), 0);
    CHECK_EQ(count(c, YAMUX_EV_GOAWAY), 1);
    CHECK(yamux_remote_went_away(c->s));
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), FASTN_ERR_NET_GOAWAY);
    /* after our go-away, a new stream from the peer is refused */
    buf_init(&b, 64);
    frame(&b, YAMUX_TYPE_WINDOW, YAMUX_SYN, 1, 0);
    CHECK_ERR(feed(l, b.data, b.len, b.len, 0), 0);
    CHECK_EQ(count(l, YAMUX_EV_STREAM_OPEN), 0);
    p = yamux_output(l->s, &n);
    CHECK_EQ(n, 12);
    CHECK_MEM(p, "\x00\x01\x00\x08\x00\x00\x00\x01", 8);
    buf_cleanup(&b);
    side_free(c);
    side_free(l);
}

TEST(keepalive_and_dead_peer)
{
    struct side *c = side_new(true, NULL), *l = side_new(false, NULL);
    uint64_t t = 0, sec = 1000000;
    size_t n;

    CHECK_ERR(pump(c, l, t), 0);
    CHECK_ERR(pump(l, c, t), 0); /* answers c's first ping, sends its own */
    CHECK_ERR(pump(c, l, t), 0); /* answers l's */
    CHECK_EQ(yamux_next_deadline(c->s), 30 * sec);
    CHECK_ERR(yamux_tick(c->s, 29 * sec), 0);
    yamux_output(c->s, &n);
    CHECK_EQ(n, 0);
    CHECK_ERR(yamux_tick(c->s, 30 * sec), 0);
    yamux_output(c->s, &n);
    CHECK_EQ(n, 12); /* a keepalive ping */
    CHECK_ERR(yamux_ping(c->s, 30 * sec), FASTN_ERR_BUSY);
    CHECK_EQ(yamux_next_deadline(c->s), 45 * sec);
    CHECK_ERR(yamux_tick(c->s, 44 * sec), 0);
    CHECK_ERR(yamux_tick(c->s, 45 * sec), FASTN_ERR_NET_DEAD);
    uint32_t id;
    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), FASTN_ERR_CLOSED);
    side_free(c);
    side_free(l);
}

TEST(liveness_changed_while_running)
{
    struct side *c = side_new(true, NULL), *l = side_new(false, NULL);
    uint64_t sec = 1000000;
    size_t n;

    CHECK_ERR(pump(c, l, 0), 0);
    CHECK_ERR(pump(l, c, 0), 0);
    CHECK_ERR(pump(c, l, 0), 0);
    /* keepalive off: nothing to do, ever */
    yamux_set_liveness(c->s, 0, 0);
    CHECK_EQ(yamux_next_deadline(c->s), UINT64_MAX);
    CHECK_ERR(yamux_tick(c->s, 100 * sec), 0);
    yamux_output(c->s, &n);
    CHECK_EQ(n, 0);
    /* 5 s keepalive, 2 s ping timeout: counted from the last input */
    yamux_set_liveness(c->s, 5 * sec, 2 * sec);
    CHECK_EQ(yamux_next_deadline(c->s), 5 * sec);
    CHECK_ERR(yamux_tick(c->s, 100 * sec), 0);
    yamux_output(c->s, &n);
    CHECK_EQ(n, 12); /* a keepalive ping */
    CHECK_EQ(yamux_next_deadline(c->s), 102 * sec);
    /* a longer ping timeout applies to the ping in flight */
    yamux_set_liveness(c->s, 5 * sec, 10 * sec);
    CHECK_ERR(yamux_tick(c->s, 105 * sec), 0);
    CHECK_ERR(yamux_tick(c->s, 110 * sec), FASTN_ERR_NET_DEAD);
    side_free(c);
    side_free(l);
}

/* Feeds frames to a fresh listener and returns its error. */
static int bad(void (*build)(struct buf *), int *goaway_code)
{
    struct side *l = side_new(false, NULL);
    struct buf b;
    int r;
    size_t n;
    const uint8_t *p;

    buf_init(&b, 1 << 20);
    build(&b);
    r = feed(l, b.data, b.len, b.len, 0);
    p = yamux_output(l->s, &n);
    *goaway_code = n >= 24 && p[n - 11] == YAMUX_TYPE_GOAWAY ? p[n - 1] : -1;
    /* a dead session stays dead */
    size_t used;
    struct yamux_event ev;
    if (r < 0)
        CHECK_ERR(yamux_feed(l->s, b.data, 1, &used, &ev, 0), r);
    buf_cleanup(&b);
    side_free(l);
    return r;
}

static void bad_version(struct buf *b)
{
    frame(b, 0, 0, 0, 0);
    b->data[0] = 1;
}
static void bad_type(struct buf *b)
{
    frame(b, 4, 0, 0, 0);
}
static void ping_on_stream(struct buf *b)
{
    frame(b, YAMUX_TYPE_PING, YAMUX_SYN, 1, 0);
}
static void ping_no_flags(struct buf *b)
{
    frame(b, YAMUX_TYPE_PING, 0, 0, 0);
}
static void data_on_stream_0(struct buf *b)
{
    frame(b, YAMUX_TYPE_DATA, 0, 0, 0);
}
static void unknown_stream(struct buf *b)
{
    frame(b, YAMUX_TYPE_DATA, 0, 7, 0);
}
static void unknown_own_stream(struct buf *b)
{
    frame(b, YAMUX_TYPE_WINDOW, 0, 2, 10);
}
static void wrong_parity_syn(struct buf *b)
{
    frame(b, YAMUX_TYPE_WINDOW, YAMUX_SYN, 2, 0);
}
static void duplicate_syn(struct buf *b)
{
    frame(b, YAMUX_TYPE_WINDOW, YAMUX_SYN, 1, 0);
    frame(b, YAMUX_TYPE_WINDOW, YAMUX_SYN, 1, 0);
}
static void data_after_fin(struct buf *b)
{
    frame(b, YAMUX_TYPE_WINDOW, YAMUX_SYN | YAMUX_FIN, 1, 0);
    frame(b, YAMUX_TYPE_DATA, 0, 1, 1);
    buf_put_u8(b, 'x');
}
static void window_overflow(struct buf *b)
{
    frame(b, YAMUX_TYPE_WINDOW, YAMUX_SYN, 1, 0xffff0000u);
    frame(b, YAMUX_TYPE_WINDOW, 0, 1, 0x10000u);
}
static void syn_data_over_window(struct buf *b)
{
    frame(b, YAMUX_TYPE_DATA, YAMUX_SYN, 1, YAMUX_INITIAL_WINDOW + 1);
}
static void data_over_window(struct buf *b)
{
    static uint8_t zero[YAMUX_INITIAL_WINDOW];
    frame(b, YAMUX_TYPE_DATA, YAMUX_SYN, 1, YAMUX_INITIAL_WINDOW);
    buf_append(b, zero, sizeof(zero));
    frame(b, YAMUX_TYPE_DATA, 0, 1, 1);
}

TEST(bad_input_ends_the_session)
{
    int code;
    CHECK_ERR(bad(bad_version, &code), FASTN_ERR_NET_MUX);
    CHECK_EQ(code, YAMUX_GOAWAY_PROTOCOL);
    CHECK_ERR(bad(bad_type, &code), FASTN_ERR_NET_MUX);
    CHECK_ERR(bad(ping_on_stream, &code), FASTN_ERR_NET_MUX);
    CHECK_ERR(bad(ping_no_flags, &code), FASTN_ERR_NET_MUX);
    CHECK_ERR(bad(data_on_stream_0, &code), FASTN_ERR_NET_MUX);
    CHECK_ERR(bad(unknown_stream, &code), FASTN_ERR_NET_MUX);
    CHECK_ERR(bad(unknown_own_stream, &code), FASTN_ERR_NET_MUX);
    CHECK_ERR(bad(wrong_parity_syn, &code), FASTN_ERR_NET_MUX);
    CHECK_ERR(bad(duplicate_syn, &code), FASTN_ERR_NET_MUX);
    CHECK_ERR(bad(data_after_fin, &code), FASTN_ERR_NET_MUX);
    CHECK_ERR(bad(window_overflow, &code), FASTN_ERR_NET_MUX);
    CHECK_ERR(bad(syn_data_over_window, &code), FASTN_ERR_NET_WINDOW);
    CHECK_EQ(code, YAMUX_GOAWAY_PROTOCOL);
    CHECK_ERR(bad(data_over_window, &code), FASTN_ERR_NET_WINDOW);
}

TEST(in_place_header_then_close)
{
    struct side *c = side_new(true, NULL), *l = side_new(false, NULL);
    uint8_t frame_buf[12 + 4];
    uint32_t id;
    size_t n;
    const uint8_t *p;

    CHECK_ERR(yamux_stream_open(c->s, NULL, &id), 0);
    CHECK_ERR(pump(c, l, 0), 0);
    CHECK_ERR(yamux_stream_data_header(c->s, id, 4, frame_buf), 0);
    CHECK_EQ(frame_buf[3], 0); /* no flags: FIN travels on its own */
    memcpy(frame_buf + 12, "done", 4);
    CHECK_EQ(yamux_stream_send_window(c->s, id), YAMUX_INITIAL_WINDOW - 4);
    CHECK_ERR(yamux_stream_close(c->s, id), 0);
    CHECK_ERR(yamux_stream_data_header(c->s, id, 0, frame_buf),
              FASTN_ERR_CLOSED);
    CHECK_ERR(feed(l, frame_buf, sizeof(frame_buf), sizeof(frame_buf), 0), 0);
    CHECK_ERR(pump(c, l, 0), 0);
    CHECK_EQ(l->ndata, 4);
    CHECK_EQ(count(l, YAMUX_EV_FIN), 1);
    /* the reply carries ACK on its first frame */
    CHECK_ERR(yamux_stream_data_header(l->s, id, 2, frame_buf), 0);
    CHECK_EQ(frame_buf[3], YAMUX_ACK);
    memcpy(frame_buf + 12, "ok", 2);
    CHECK_ERR(feed(c, frame_buf, 14, 14, 0), 0);
    CHECK_ERR(yamux_stream_close(l->s, id), 0);
    CHECK_EQ(yamux_stream_count(l->s), 0);
    p = yamux_output(l->s, &n);
    CHECK_ERR(feed(c, p, n, n, 0), 0);
    CHECK_EQ(count(c, YAMUX_EV_CLOSED), 1);
    CHECK_EQ(yamux_stream_count(c->s), 0);
    /* data and FIN in one frame from a peer: the data comes first */
    struct side *x = side_new(false, NULL);
    struct buf b;
    buf_init(&b, 64);
    frame(&b, YAMUX_TYPE_DATA, YAMUX_SYN | YAMUX_FIN, 1, 3);
    buf_append(&b, "abc", 3);
    CHECK_ERR(feed(x, b.data, b.len, b.len, 0), 0);
    CHECK_EQ(x->ndata, 3);
    CHECK_EQ(x->ev[1].type, YAMUX_EV_DATA);
    CHECK_EQ(x->ev[2].type, YAMUX_EV_FIN);
    buf_cleanup(&b);
    side_free(x);
    side_free(c);
    side_free(l);
}

TEST(many_streams_hash_table)
{
    struct side *c = side_new(true, NULL), *l = side_new(false, NULL);
    uint32_t ids[600];

    for (int i = 0; i < 600; i++) {
        CHECK_ERR(yamux_stream_open(c->s, (void *)(uintptr_t)(i + 1), &ids[i]),
                  0);
        if (i % 200 == 199) {
            CHECK_ERR(pump(c, l, 0), 0);
            for (int k = i - 199; k <= i; k++)
                yamux_stream_accept(l->s, ids[k], NULL);
            CHECK_ERR(pump(l, c, 0), 0);
        }
    }
    CHECK_EQ(yamux_stream_count(c->s), 600);
    for (int i = 0; i < 600; i += 2)
        CHECK_ERR(yamux_stream_reset(c->s, ids[i]), 0);
    for (int i = 1; i < 600; i += 2)
        CHECK(yamux_stream_user(c->s, ids[i]) == (void *)(uintptr_t)(i + 1));
    CHECK_EQ(yamux_stream_count(c->s), 300);
    CHECK_ERR(pump(c, l, 0), 0);
    CHECK_EQ(yamux_stream_count(l->s), 300);
    side_free(c);
    side_free(l);
}

/* A peer that pings without reading: a few answers per time the output
 * is taken, not one per ping; control output is counted. */
TEST(ping_flood_is_answered_boundedly)
{
    struct side *l = side_new(false, NULL);
    struct buf b;
    size_t n;

    buf_init(&b, 1 << 20);
    for (uint32_t i = 0; i < 20000; i++)
        frame(&b, YAMUX_TYPE_PING, YAMUX_SYN, 0, i);
    CHECK_ERR(feed(l, b.data, b.len, 4096, 0), 0);
    yamux_output(l->s, &n);
    CHECK_EQ(n, 12 + 4 * 12); /* our first ping, four answers */
    CHECK_EQ(yamux_output_control(l->s), n);
    yamux_output_consume(l->s, n);
    CHECK_EQ(yamux_output_control(l->s), 0);
    /* once taken, the next pings are answered again */
    CHECK_ERR(feed(l, b.data, 5 * 12, 12, 0), 0);
    yamux_output(l->s, &n);
    CHECK_EQ(n, 4 * 12);
    buf_cleanup(&b);
    side_free(l);
}

/* Refusals the output does not take in time end the session (a peer
 * opening thousands of streams past the limit in one go). */
TEST(refusal_flood_ends_the_session)
{
    struct yamux_config cfg;
    struct side *l;
    struct buf b;

    yamux_config_default(&cfg, false);
    cfg.max_streams = 1;
    l = side_new(false, &cfg);
    buf_init(&b, 1 << 20);
    for (uint32_t id = 1; id < 2 * 10000; id += 2)
        frame(&b, YAMUX_TYPE_WINDOW, YAMUX_SYN, id, 0);
    CHECK_ERR(feed(l, b.data, b.len, b.len, 0), FASTN_ERR_TOO_LARGE);
    CHECK_EQ(count(l, YAMUX_EV_STREAM_OPEN), 1);
    side_free(l);
    /* the same taken often enough is fine: each is refused */
    l = side_new(false, &cfg);
    for (size_t off = 0; off < b.len; off += 120 * 12) {
        size_t n, k = b.len - off < 120 * 12 ? b.len - off : 120 * 12;
        CHECK_ERR(feed(l, b.data + off, k, k, 0), 0);
        yamux_output(l->s, &n);
        yamux_output_consume(l->s, n);
    }
    CHECK_EQ(count(l, YAMUX_EV_STREAM_OPEN), 1);
    buf_cleanup(&b);
    side_free(l);
}

int main(void)
{
    RUN(open_write_close_between_two_sessions);
    RUN(bytewise_feeding);
    RUN(ping_is_echoed_with_ack);
    RUN(window_is_respected_and_reopened);
    RUN(window_autotuning);
    RUN(reset_and_late_frames);
    RUN(reset_in_fin_forgets_queued_events);
    RUN(limits_refuse_streams);
    RUN(go_away_both_ways);
    RUN(keepalive_and_dead_peer);
    RUN(liveness_changed_while_running);
    RUN(bad_input_ends_the_session);
    RUN(in_place_header_then_close);
    RUN(many_streams_hash_table);
    RUN(ping_flood_is_answered_boundedly);
    RUN(refusal_flood_ends_the_session);
    return test_done();
}
