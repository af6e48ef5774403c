/* Unit tests for src/net/conn: a dialer and a listener wired together in
 * memory, both our own cores: multistream-select -> Noise -> yamux (with
 * the muxer from the handshake, and through multistream-select inside the
 * secure channel), then streams that negotiate their protocol with
 * multistream-select and echo; 100 concurrent streams; a large transfer
 * through the in-place fast path; bytes split at every offset; the wrong
 * PeerID; garbage instead of a handshake. */
#include "net/conn.h"
#include "net/mss.h"
#include "test.h"

#define MAXS 256
#define ECHO "/echo/1.0.0"
#define SINK "/sink/1.0.0"

struct st {
    uint32_t id;
    bool used, negotiated, fin, sink;
    struct mss mss;
    struct buf got;     /* dialer: echoed bytes */
    struct buf pending; /* listener: echo not yet written */
    uint64_t sink_bytes, sink_sum;
};

struct node {
    struct identity id;
    struct noise_local local;
    struct conn *c;
    bool dialer, ready;
    int err;
    struct st s[MAXS];
    uint64_t now;
};

static const char *const echo_proto[] = {ECHO};
static const char *const sink_proto[] = {SINK};

static bool served(void *arg, const char *p, size_t n)
{
    (void)arg;
    return (n == strlen(ECHO) && !memcmp(p, ECHO, n)) ||
           (n == strlen(SINK) && !memcmp(p, SINK, n));
}

static struct st *st_get(struct node *x, uint32_t id, bool create)
{
    for (int i = 0; i < MAXS; i++)
        if (x->s[i].used && x->s[i].id == id)
            return &x->s[i];
    if (!create)
        return NULL;
    for (int i = 0; i < MAXS; i++)
        if (!x->s[i].used) {
            memset(&x->s[i], 0, sizeof(x->s[i]));
            x->s[i].used = true;
            x->s[i].id = id;
            buf_init(&x->s[i].got, 64 << 20);
            buf_init(&x->s[i].pending, 64 << 20);
            return &x->s[i];
        }
    return NULL;
}

static void node_init(struct node *x, uint8_t seed, bool dialer,
                      const char *const *mux, size_t nmux,
                      const struct peer_id *expect)
{
    uint8_t s[32] = {seed};
    struct conn_config cfg;
    memset(x, 0, sizeof(*x));
    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_from_seed(&x->id, s), 0);
    CHECK_ERR(noise_local_init(&x->local, &x->id, mux, nmux), 0);
    conn_config_default(&cfg, dialer, &x->local);
    cfg.expect = expect;
    x->c = conn_new(&cfg, 0);
    x->dialer = dialer;
    CHECK_ERR(conn_start(x->c), 0);
}

static void node_free(struct node *x)
{
    for (int i = 0; i < MAXS; i++)
        if (x->s[i].used) {
            buf_cleanup(&x->s[i].got);
            buf_cleanup(&x->s[i].pending);
        }
    conn_free(x->c);
    noise_local_cleanup(&x->local);
    identity_cleanup(&x->id);
}

/* Listener side: write as much pending echo as the window allows. */
static void flush_echo(struct node *x, struct st *t)
{
    struct yamux_session *m = conn_mux(x->c);
    while (t->pending.len) {
        int k = yamux_stream_write(m, t->id, t->pending.data, t->pending.len);
        if (k <= 0)
            break;
        buf_consume(&t->pending, (size_t)k);
    }
    if (!t->pending.len && t->fin)
        yamux_stream_close(m, t->id);
}

static void on_data(struct node *x, struct st *t, const uint8_t *p, size_t n)
{
    struct yamux_session *m = conn_mux(x->c);
    size_t used = 0;

    if (!t->negotiated) {
        struct buf out;
        buf_init(&out, 4096);
        int r = mss_input(&t->mss, p, n, &used, &out);
        CHECK(r >= 0);
        if (out.len)
            yamux_stream_write(m, t->id, out.data, out.len);
        buf_cleanup(&out);
        if (r != MSS_DONE)
            return;
        t->negotiated = true;
        t->sink = !strcmp(mss_selected(&t->mss), SINK);
    }
    p += used;
    n -= used;
    if (x->dialer) {
        buf_append(&t->got, p, n);
    } else if (t->sink) {
        for (size_t i = 0; i < n; i++)
            t->sink_sum = t->sink_sum * 31 + p[i];
        t->sink_bytes += n;
    } else {
        buf_append(&t->pending, p, n);
        flush_echo(x, t);
    }
}

static void handle(struct node *x, const struct conn_event *ev)
{
    struct yamux_session *m = conn_mux(x->c);
    const struct yamux_event *e = &ev->mux;
    struct st *t;

    if (ev->type == CONN_EV_READY) {
        x->ready = true;
        return;
    }
    switch (e->type) {
    case YAMUX_EV_STREAM_OPEN:
        t = st_get(x, e->stream_id, true);
        mss_init_listener(&t->mss, served, NULL, NULL);
        yamux_stream_accept(m, e->stream_id, t);
        {
            struct buf out;
            buf_init(&out, 64);
            mss_start(&t->mss, &out);
            yamux_stream_write(m, e->stream_id, out.data, out.len);
            buf_cleanup(&out);
        }
        break;
    case YAMUX_EV_DATA:
        t = st_get(x, e->stream_id, false);
        CHECK(t != NULL);
        if (t)
            on_data(x, t, e->data, e->len);
        yamux_stream_consumed(m, e->stream_id, e->len, x->now);
        break;
    case YAMUX_EV_FIN:
        t = st_get(x, e->stream_id, false);
        if (t) {
            t->fin = true;
            if (!x->dialer)
                flush_echo(x, t);
        }
        break;
    case YAMUX_EV_WRITABLE:
        t = st_get(x, e->stream_id, false);
        if (t && !x->dialer)
            flush_echo(x, t);
        break;
    default:
        break;
    }
}

static void poll_all(struct node *x)
{
    struct conn_event ev;
    int r;
    while ((r = conn_poll(x->c, &ev, x->now)) == 1)
        handle(x, &ev);
    if (r < 0 && !x->err)
        x->err = r;
}

/* Receiving as the swarm does: through one buffer lent for each read,
 * scribbled over after it is given back. */
static bool lend_mode;
static uint8_t lent[NOISE_FRAME_MAX + 70001];

static int feed_lent(struct node *b, const uint8_t *p, size_t n)
{
    uint8_t *dst;
    size_t room;

    CHECK_ERR(conn_rx_lend(b->c, lent, sizeof(lent), &dst, &room), 0);
    if (n > room)
        n = room;
    memcpy(dst, p, n);
    conn_rx_commit(b->c, n);
    poll_all(b);
    CHECK_ERR(conn_rx_unlend(b->c), 0);
    memset(lent, 0xee, sizeof(lent));
    return (int)n;
}

/* Moves a's output to b in pieces of `chunk` bytes; returns the count. */
static size_t move(struct node *a, struct node *b, size_t chunk)
{
    struct buf out;
    size_t moved = 0;
    buf_init(&out, 1 << 30);
    CHECK_ERR(conn_take_output(a->c, &out), 0);
    for (size_t off = 0; off < out.len;) {
        size_t n = out.len - off < chunk ? out.len - off : chunk;
        int k = lend_mode ? feed_lent(b, out.data + off, n)
                          : conn_feed(b->c, out.data + off, n);
        CHECK(k >= 0);
        if (k < 0)
            break;
        off += (size_t)k;
        moved += (size_t)k;
        poll_all(b);
    }
    poll_all(b);
    buf_cleanup(&out);
    return moved;
}

static void run(struct node *d, struct node *l, size_t chunk)
{
    for (int i = 0; i < 100000; i++) {
        d->now += 10;
        l->now += 10;
        poll_all(d);
        poll_all(l);
        size_t a = move(d, l, chunk);
        size_t b = move(l, d, chunk);
        if ((a == 0 && b == 0) || d->err || l->err) {
            if (d->err || l->err)
                fprintf(stderr, "run: dialer %s, listener %s\n",
                        fastn_err_name(d->err), fastn_err_name(l->err));
            return;
        }
    }
}

/* Opens a stream that speaks proto and sends msg, then FIN. */
static uint32_t open_stream(struct node *d, const char *const *proto,
                            const uint8_t *msg, size_t n, bool fin)
{
    struct yamux_session *m = conn_mux(d->c);
    struct buf out;
    uint32_t id = 0;
    struct st *t;

    CHECK_ERR(yamux_stream_open(m, NULL, &id), 0);
    t = st_get(d, id, true);
    mss_init_dialer(&t->mss, proto, 1);
    buf_init(&out, 1 << 20);
    mss_start(&t->mss, &out);
    /* lazy: the data goes right behind the proposal */
    buf_append(&out, msg, n);
    CHECK_EQ(yamux_stream_write(m, id, out.data, out.len), (int)out.len);
    if (fin)
        CHECK_ERR(yamux_stream_close(m, id), 0);
    buf_cleanup(&out);
    return id;
}

static void echo_once(const char *const *mux_d, size_t nd,
                      const char *const *mux_l, size_t nl, size_t chunk)
{
    struct node d, l;
    node_init(&l, 2, false, mux_l, nl, NULL);
    node_init(&d, 1, true, mux_d, nd, &l.id.id);
    run(&d, &l, chunk);
    CHECK_ERR(d.err, 0);
    CHECK_ERR(l.err, 0);
    CHECK(d.ready && l.ready);
    CHECK(peer_id_equal(conn_remote_peer(d.c), &l.id.id));
    CHECK(peer_id_equal(conn_remote_peer(l.c), &d.id.id));
    uint32_t id =
        open_stream(&d, echo_proto, (const uint8_t *)"hello", 5, true);
    run(&d, &l, chunk);
    struct st *t = st_get(&d, id, false);
    CHECK(t && t->negotiated && t->fin);
    CHECK_EQ(t ? t->got.len : 0, 5);
    if (t && t->got.len == 5)
        CHECK_MEM(t->got.data, "hello", 5);
    /* both sides closed: the stream is gone on both */
    CHECK_EQ(yamux_stream_count(conn_mux(d.c)), 0);
    CHECK_EQ(yamux_stream_count(conn_mux(l.c)), 0);
    node_free(&d);
    node_free(&l);
}

static const char *const yamux_only[] = {YAMUX_PROTOCOL_ID};

TEST(upgrade_with_early_muxer_and_echo)
{
    echo_once(yamux_only, 1, yamux_only, 1, 1 << 20);
}

TEST(upgrade_with_muxer_negotiated_inside_noise)
{
    echo_once(yamux_only, 1, NULL, 0, 1 << 20);
    echo_once(NULL, 0, NULL, 0, 1 << 20);
}

TEST(bytes_split_at_every_offset)
{
    echo_once(yamux_only, 1, yamux_only, 1, 1);
    echo_once(NULL, 0, yamux_only, 1, 1);
    echo_once(yamux_only, 1, yamux_only, 1, 7);
}

TEST(hundred_concurrent_streams)
{
    struct node d, l;
    uint32_t ids[100];
    static uint8_t msg[100][16384];

    node_init(&l, 2, false, yamux_only, 1, NULL);
    node_init(&d, 1, true, yamux_only, 1, &l.id.id);
    run(&d, &l, 1 << 20);
    for (int i = 0; i < 100; i++) {
        for (size_t k = 0; k < sizeof(msg[i]); k++)
            msg[i][k] = (uint8_t)(i + k * 3);
        ids[i] = open_stream(&d, echo_proto, msg[i], sizeof(msg[i]), true);
    }
    run(&d, &l, 65536);
    CHECK_ERR(d.err, 0);
    CHECK_ERR(l.err, 0);
    for (int i = 0; i < 100; i++) {
        struct st *t = st_get(&d, ids[i], false);
        CHECK(t && t->fin);
        CHECK_EQ(t->got.len, sizeof(msg[i]));
        CHECK_MEM(t->got.data, msg[i], sizeof(msg[i]));
    }
    CHECK_EQ(yamux_stream_count(conn_mux(d.c)), 0);
    node_free(&d);
    node_free(&l);
}

TEST(large_transfer_through_in_place_frames)
{
    struct node d, l;
    static uint8_t
        frame[CONN_FRAME_HEAD + CONN_FRAME_MAX_DATA + CONN_FRAME_TAIL],
        src[CONN_FRAME_MAX_DATA];
    unsigned rounds = 0;
    const uint64_t total = 64ull << 20;
    uint64_t sent = 0, sum = 0;
    uint32_t id, max_window = 0;

    node_init(&l, 2, false, yamux_only, 1, NULL);
    node_init(&d, 1, true, yamux_only, 1, &l.id.id);
    run(&d, &l, 1 << 20);
    id = open_stream(&d, sink_proto, NULL, 0, false);
    while (sent < total) {
        struct yamux_session *m = conn_mux(d.c);
        size_t n = yamux_stream_send_window(m, id);
        if (n > max_window)
            max_window = (uint32_t)n;
        if (n == 0) {
            run(&d, &l, 1 << 20);
            CHECK(yamux_stream_send_window(m, id) > 0);
            if (d.err || l.err)
                break;
            continue;
        }
        if (n > CONN_FRAME_MAX_DATA)
            n = CONN_FRAME_MAX_DATA;
        if (n > total - sent)
            n = (size_t)(total - sent);
        /* every other frame is sealed from bytes outside it */
        bool from = (rounds++ & 1) != 0;
        uint8_t *data = from ? src : frame + CONN_FRAME_HEAD;
        for (size_t k = 0; k < n; k++) {
            data[k] = (uint8_t)((sent + k) * 7);
            sum = sum * 31 + data[k];
        }
        if (from) /* what was in the frame must not leak into it */
            memset(frame, 0x5a, sizeof(frame));
        /* the conn's pending output goes first, then the frame */
        struct buf out;
        buf_init(&out, 1 << 30);
        int w = from ? conn_stream_send_from(d.c, id, frame, src, n)
                     : conn_stream_send_frame(d.c, id, frame, n);
        CHECK(w == (int)(n + CONN_FRAME_HEAD + CONN_FRAME_TAIL));
        CHECK_ERR(conn_take_output(d.c, &out), 0);
        buf_append(&out, frame, (size_t)w);
        for (size_t off = 0; off < out.len;) {
            int k = conn_feed(l.c, out.data + off, out.len - off);
            CHECK(k > 0);
            off += (size_t)k;
            poll_all(&l);
        }
        buf_cleanup(&out);
        sent += n;
    }
    CHECK_ERR(yamux_stream_close(conn_mux(d.c), id), 0);
    run(&d, &l, 1 << 20);
    struct st *t = st_get(&l, id, false);
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ(t->sink_bytes, total);
        CHECK(t->sink_sum == sum);
        CHECK(t->fin);
    }
    /* the window grew past its initial size for this fast reader */
    CHECK(max_window > YAMUX_INITIAL_WINDOW);
    CHECK_EQ(d.err, 0);
    node_free(&d);
    node_free(&l);
}

/* Reads through a lent buffer, split anywhere (frames across reads):
 * everything arrives, and a connection with nothing pending keeps no
 * receive buffer of its own. */
TEST(receive_through_a_lent_buffer)
{
    struct node d, l;
    static uint8_t msg[3 << 20];
    uint64_t sum = 0;
    uint32_t id;

    lend_mode = true;
    echo_once(yamux_only, 1, yamux_only, 1, 1000);
    node_init(&l, 2, false, yamux_only, 1, NULL);
    node_init(&d, 1, true, yamux_only, 1, &l.id.id);
    run(&d, &l, 70001);
    for (size_t k = 0; k < sizeof(msg); k++) {
        msg[k] = (uint8_t)(k * 13 + k / 777);
        sum = sum * 31 + msg[k];
    }
    id = open_stream(&d, sink_proto, NULL, 0, false);
    for (size_t off = 0; off < sizeof(msg) && !d.err && !l.err;) {
        int k =
            yamux_stream_write(conn_mux(d.c), id, msg + off, sizeof(msg) - off);
        CHECK(k >= 0);
        off += k > 0 ? (size_t)k : 0;
        run(&d, &l, 70001);
    }
    CHECK_ERR(yamux_stream_close(conn_mux(d.c), id), 0);
    run(&d, &l, 70001);
    CHECK_ERR(d.err, 0);
    CHECK_ERR(l.err, 0);
    struct st *t = st_get(&l, id, false);
    CHECK(t && t->fin && t->sink_bytes == sizeof(msg) && t->sink_sum == sum);
    CHECK_EQ(conn_rx_capacity(d.c), 0);
    CHECK_EQ(conn_rx_capacity(l.c), 0);
    node_free(&d);
    node_free(&l);
}

TEST(wrong_peer_ends_the_dial)
{
    struct node d, l, other;
    node_init(&other, 3, false, yamux_only, 1, NULL);
    node_init(&l, 2, false, yamux_only, 1, NULL);
    node_init(&d, 1, true, yamux_only, 1, &other.id.id);
    run(&d, &l, 1 << 20);
    CHECK_ERR(d.err, FASTN_ERR_NET_WRONG_PEER);
    CHECK(!d.ready && !l.ready);
    CHECK(conn_mux(d.c) == NULL);
    node_free(&d);
    node_free(&l);
    node_free(&other);
}

TEST(garbage_instead_of_negotiation)
{
    struct node l;
    node_init(&l, 2, false, yamux_only, 1, NULL);
    /* a well-framed message that is not the multistream header */
    CHECK_EQ(conn_feed(l.c, (const uint8_t *)"\x0fGET / HTTP/1.1\n", 16), 16);
    poll_all(&l);
    CHECK_ERR(l.err, FASTN_ERR_NET_NEGOTIATION);
    struct conn_event ev;
    CHECK_ERR(conn_poll(l.c, &ev, 0), FASTN_ERR_NET_NEGOTIATION);
    node_free(&l);

    /* plain HTTP: 'G' reads as a length of 71, and byte 71 is no newline */
    node_init(&l, 2, false, yamux_only, 1, NULL);
    const char *http = "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: "
                       "curl/7.88\r\nAccept: */*\r\n\r\n";
    CHECK_EQ(conn_feed(l.c, (const uint8_t *)http, strlen(http)),
             (int)strlen(http));
    poll_all(&l);
    CHECK_ERR(l.err, FASTN_ERR_MALFORMED);
    node_free(&l);

    /* a dialer that offers only TLS gets "na" and gives up */
    node_init(&l, 2, false, yamux_only, 1, NULL);
    struct buf in, out;
    buf_init(&in, 1024);
    buf_init(&out, 1024);
    mss_write_msg(&in, MSS_PROTOCOL_ID, strlen(MSS_PROTOCOL_ID));
    mss_write_msg(&in, "/tls/1.0.0", 10);
    conn_feed(l.c, in.data, in.len);
    poll_all(&l);
    CHECK_ERR(l.err, 0);
    CHECK_ERR(conn_take_output(l.c, &out), 0);
    CHECK_EQ(out.len, 20 + 4);
    CHECK_MEM(out.data + 20, "\x03na\n", 4);
    buf_cleanup(&in);
    buf_cleanup(&out);
    node_free(&l);
}

/* The dialer proposes /noise alone, so its Noise message 1 goes in the
 * same write as the proposal (a round trip less); a listener that
 * answers "na" ends the dial. */
TEST(dialer_sends_noise_behind_its_proposal)
{
    struct node d;
    struct buf out, in;

    node_init(&d, 1, true, yamux_only, 1, NULL);
    buf_init(&out, 1024);
    buf_init(&in, 1024);
    CHECK_ERR(conn_take_output(d.c, &out), 0);
    /* header (20), "/noise\n" (8), message 1: length (2) and e (32) */
    CHECK_EQ(out.len, 20 + 8 + 2 + 32);
    CHECK_MEM(out.data + 20, "\x07/noise\n", 8);
    CHECK_MEM(out.data + 28, "\x00\x20", 2);
    mss_write_msg(&in, MSS_PROTOCOL_ID, strlen(MSS_PROTOCOL_ID));
    mss_write_msg(&in, "na", 2);
    conn_feed(d.c, in.data, in.len);
    poll_all(&d);
    CHECK(d.err < 0);
    buf_cleanup(&in);
    buf_cleanup(&out);
    node_free(&d);
}

int main(void)
{
    RUN(upgrade_with_early_muxer_and_echo);
    RUN(upgrade_with_muxer_negotiated_inside_noise);
    RUN(bytes_split_at_every_offset);
    RUN(hundred_concurrent_streams);
    RUN(large_transfer_through_in_place_frames);
    RUN(receive_through_a_lent_buffer);
    RUN(wrong_peer_ends_the_dial);
    RUN(garbage_instead_of_negotiation);
    RUN(dialer_sends_noise_behind_its_proposal);
    return test_done();
}
