/* Unit tests for src/net/swarm*: two (or three) swarms on one libuv loop
 * over loopback TCP: dial and identify, echo streams with the copy and
 * the in-place paths, 100 streams over one connection, dial coalescing,
 * simultaneous dials resolving to one connection, the wrong PeerID, an
 * unknown protocol, ping, perf, a connection dying under its streams;
 * and changes while running: identify push of new protocols and
 * addresses (coalesced), listen addresses opened and closed, timing and
 * limits applied to existing connections. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "net/identify.h"
#include "net/perf.h"
#include "net/swarm_int.h"
#include "net_harness.h"

#define ECHO_P "/echo/1.0.0"

struct node {
    struct identity id;
    struct swarm *sw;
    struct multiaddr addr; /* listen address with its real port */
    int echo_streams;
};

static bool echo_supports(void *arg, const struct peer_id *peer, const char *p)
{
    (void)arg;
    CHECK(peer != NULL && peer->len > 0); /* who asks, for the router */
    return !strcmp(p, ECHO_P);
}

/* Echo: everything back, then FIN after the peer's FIN. What the stream
 * does not take waits (unconsumed, so the peer's window closes) until
 * WRITABLE: the pattern every handler follows. */
struct echo {
    struct node *n;
    uint8_t *pending;
    size_t len;
    bool fin;
};

static void echo_flush(struct swarm_stream *s, struct echo *e)
{
    while (e->len) {
        int k = swarm_stream_write(s, e->pending, e->len);
        CHECK(k >= 0);
        if (k <= 0)
            return;
        memmove(e->pending, e->pending + k, e->len - (size_t)k);
        e->len -= (size_t)k;
        swarm_stream_consumed(s, (size_t)k);
    }
    if (e->fin) {
        swarm_stream_close(s);
        e->fin = false;
    }
}

static void echo_cb(struct swarm_stream *s, const struct swarm_stream_event *ev,
                    void *arg)
{
    struct echo *e = arg;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        e->pending = realloc(e->pending, e->len + ev->len);
        memcpy(e->pending + e->len, ev->data, ev->len);
        e->len += ev->len;
        echo_flush(s, e);
        break;
    case SWARM_STREAM_WRITABLE:
        echo_flush(s, e);
        break;
    case SWARM_STREAM_FIN:
        e->fin = true;
        echo_flush(s, e);
        break;
    case SWARM_STREAM_CLOSED:
        free(e->pending);
        free(e);
        break;
    default:
        break;
    }
}

static void echo_on_stream(void *arg, struct swarm_stream *s)
{
    struct node *n = arg;
    struct echo *e = calloc(1, sizeof(*e));
    e->n = n;
    n->echo_streams++;
    swarm_stream_set_cb(s, echo_cb, e);
}

static const struct swarm_stream_listener echo_listener = {
    echo_supports, echo_on_stream, NULL};

static void node_init(struct node *n, uint8_t seed_byte, bool listen)
{
    memset(n, 0, sizeof(*n));
    nh_swarm_start(&n->id, seed_byte, listen, &n->sw, &n->addr);
    swarm_set_stream_listener(n->sw, &echo_listener, n);
}

static void node_close(struct node *n)
{
    swarm_close(n->sw);
}

static void teardown(struct node **nodes, int count)
{
    for (int i = 0; i < count; i++)
        node_close(nodes[i]);
    uv_run(&nh_loop, UV_RUN_DEFAULT);
    for (int i = 0; i < count; i++)
        swarm_free(nodes[i]->sw);
    CHECK_EQ(uv_loop_close(&nh_loop), 0);
}

static void timer_done(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop for ms. Ends when the timer fires, not by the clock: the
 * loop's cached time may fire it a little before uv_hrtime() reaches the
 * end, and one more UV_RUN_ONCE could then wait for the next event (a
 * keepalive, 30 s away). */
static void run_for_ms(unsigned ms)
{
    int done = 0;
    uv_timer_t t;
    uv_timer_init(&nh_loop, &t);
    t.data = &done;
    uv_timer_start(&t, timer_done, ms, 0);
    while (!done)
        uv_run(&nh_loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&nh_loop, UV_RUN_NOWAIT);
}

struct connect_result {
    int done;
    int err;
};

static void on_connected(void *arg, int err)
{
    struct connect_result *r = arg;
    r->done = 1;
    r->err = err;
}

static int connect_nodes(struct node *from, struct node *to)
{
    struct connect_result r = {0, 0};
    CHECK_ERR(swarm_connect(from->sw, &to->id.id, &to->addr, 1, 0, on_connected,
                            &r, NULL),
              0);
    CHECK(nh_run_until(&r.done));
    return r.err;
}

static void count_conn(void *arg, const struct swarm_peer_info *info)
{
    (void)info;
    (*(int *)arg)++;
}

static int peer_count(struct node *n)
{
    int c = 0;
    swarm_foreach_peer(n->sw, count_conn, &c);
    return c;
}

static uint32_t conn_count(struct node *n)
{
    struct swarm_stats st;
    swarm_get_stats(n->sw, &st);
    return st.connections;
}

struct agent_check {
    char agent[128];
    size_t n_listen;
};

static void get_agent(void *arg, const struct swarm_peer_info *info)
{
    struct agent_check *a = arg;
    memcpy(a->agent, info->agent, sizeof(a->agent));
    a->n_listen = info->n_listen;
}

TEST(connect_and_identify)
{
    struct node a, b;
    struct agent_check ag = {{0}, 0};

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    CHECK(swarm_is_connected(b.sw, &a.id.id));
    run_for_ms(200);
    CHECK(swarm_is_connected(a.sw, &b.id.id));
    CHECK_EQ(peer_count(&a), 1);
    CHECK_EQ(peer_count(&b), 1);
    swarm_foreach_peer(b.sw, get_agent, &ag);
    CHECK_STR(ag.agent, IDENTIFY_AGENT_VERSION);
    CHECK_EQ(ag.n_listen, 1);
    /* connecting again reuses the connection: no new handshake */
    struct swarm_stats st;
    swarm_get_stats(b.sw, &st);
    CHECK_EQ(st.handshakes, 1);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    swarm_get_stats(b.sw, &st);
    CHECK_EQ(st.handshakes, 1);
    CHECK_EQ(st.dials, 1);
    /* dialing ourselves is refused at once */
    CHECK_ERR(
        swarm_connect(b.sw, &b.id.id, &a.addr, 1, 0, on_connected, NULL, NULL),
        FASTN_ERR_NET_DIAL_SELF);
    teardown((struct node *[]){&a, &b}, 2);
}

TEST(wrong_peer_refused)
{
    struct node a, b;
    struct identity other;
    uint8_t seed[32];

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    memset(seed, 9, sizeof(seed));
    CHECK_ERR(identity_from_seed(&other, seed), 0);
    struct connect_result r = {0, 0};
    CHECK_ERR(
        swarm_connect(b.sw, &other.id, &a.addr, 1, 0, on_connected, &r, NULL),
        0);
    CHECK(nh_run_until(&r.done));
    CHECK_ERR(r.err, FASTN_ERR_NET_WRONG_PEER);
    CHECK(!swarm_is_connected(b.sw, &other.id));
    /* a refused port */
    struct multiaddr dead;
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1/tcp/1", &dead), 0);
    r.done = 0;
    CHECK_ERR(
        swarm_connect(b.sw, &other.id, &dead, 1, 0, on_connected, &r, NULL), 0);
    CHECK(nh_run_until(&r.done));
    CHECK_ERR(r.err, FASTN_ERR_NET_REFUSED);
    /* no address at all */
    CHECK_ERR(
        swarm_connect(b.sw, &other.id, NULL, 0, 0, on_connected, &r, NULL),
        FASTN_ERR_NET_NO_ADDR);
    teardown((struct node *[]){&a, &b}, 2);
}

static struct swarm_dial *dial_to(struct swarm *sw, const struct peer_id *p)
{
    for (struct swarm_dial *d = sw->dials; d; d = d->next)
        if (peer_id_equal(&d->peer, p))
            return d;
    return NULL;
}

/* Dials remember how each address did: the next dial to that peer tries
 * one that worked first and one that just failed last, and its circuits
 * do not wait for direct addresses that all failed a moment ago. */
TEST(dials_rank_by_recent_outcomes)
{
    struct node a, b;
    struct identity other;
    struct multiaddr dead, lo2, circ, addrs[3];
    struct connect_result r = {0, 0};
    char text[MULTIADDR_STR_MAX + 128], pid[PEER_ID_STR_MAX];
    struct swarm_dial *d;
    uint8_t seed[32];
    uint64_t t0;

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    memset(seed, 9, sizeof(seed));
    CHECK_ERR(identity_from_seed(&other, seed), 0);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    CHECK_EQ(
        dial_memo_get(&b.sw->dial_memo, &a.id.id, &a.addr, swarm__now_us()),
        DIAL_HINT_WORKED);
    /* a refused port: failed, for that peer only */
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1/tcp/1", &dead), 0);
    CHECK_ERR(
        swarm_connect(b.sw, &other.id, &dead, 1, 0, on_connected, &r, NULL), 0);
    CHECK(nh_run_until(&r.done));
    CHECK_ERR(r.err, FASTN_ERR_NET_REFUSED);
    CHECK_EQ(dial_memo_get(&b.sw->dial_memo, &other.id, &dead, swarm__now_us()),
             DIAL_HINT_FAILED);
    CHECK_EQ(dial_memo_get(&b.sw->dial_memo, &a.id.id, &dead, swarm__now_us()),
             DIAL_HINT_NONE);
    /* the failed address and a circuit (through a, which serves no hop):
     * the circuit does not wait */
    multiaddr_format(&a.addr, text, sizeof(text));
    strcat(text, "/p2p/");
    strcat(text, peer_id_format(&a.id.id, pid));
    strcat(text, "/p2p-circuit");
    CHECK_ERR(multiaddr_parse(text, &circ), 0);
    addrs[0] = circ;
    addrs[1] = dead;
    r.done = 0;
    CHECK_ERR(
        swarm_connect(b.sw, &other.id, addrs, 2, 0, on_connected, &r, NULL), 0);
    CHECK((d = dial_to(b.sw, &other.id)) != NULL);
    CHECK_EQ(d->n, 2);
    CHECK(multiaddr_equal(&d->addrs[0], &dead));
    CHECK_EQ(d->hint[0], DIAL_HINT_FAILED);
    CHECK(d->started[0] && d->started[1]); /* both at once */
    CHECK(nh_run_until(&r.done));
    CHECK(r.err != 0);
    /* with an address not tried yet (another loopback one, first): the
     * failed one after it, and the circuit waits for them */
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.2/tcp/1", &lo2), 0);
    addrs[0] = circ;
    addrs[1] = dead;
    addrs[2] = lo2;
    r.done = 0;
    t0 = swarm__now_us();
    CHECK_ERR(
        swarm_connect(b.sw, &other.id, addrs, 3, 0, on_connected, &r, NULL), 0);
    CHECK((d = dial_to(b.sw, &other.id)) != NULL);
    CHECK_EQ(d->n, 3);
    CHECK(multiaddr_equal(&d->addrs[0], &lo2));
    CHECK(multiaddr_equal(&d->addrs[1], &dead));
    CHECK(!d->started[2]);
    CHECK(d->next_relay_us >= t0 + SWARM_DIAL_RELAY_DELAY_MS * 1000ull);
    CHECK(nh_run_until(&r.done));
    teardown((struct node *[]){&a, &b}, 2);
}

/* A client stream: sends `size` bytes of a pattern, reads them back. */
struct client {
    struct swarm_stream *s;
    size_t size, sent, got;
    uint64_t bad;
    int opened, closed, err;
    bool frames; /* send with the in-place path */
    bool multi;  /* with it, several frames at once (swarm_stream_frames) */
    unsigned rounds;
    int *done_counter;
};

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 7 + (i >> 8));
}

/* Fills some of the frames swarm_stream_frames lends (all of them, or
 * part of one: as a readv(2) would) and sends them; false: no room. */
static bool client_send_multi(struct client *c)
{
    struct iovec iov[SWARM_STREAM_FRAMES];
    size_t n = c->size - c->sent, lent = 0, k = 0;
    int got = swarm_stream_frames(c->s, iov, SWARM_STREAM_FRAMES);

    CHECK(got >= 0);
    if (got <= 0)
        return false;
    CHECK(got <= SWARM_STREAM_FRAMES);
    for (int i = 0; i < got; i++) {
        CHECK(iov[i].iov_len > 0);
        lent += iov[i].iov_len;
    }
    if (++c->rounds % 3 == 0 && lent > 1)
        lent = lent / 2 + 1; /* a short read: ends inside a frame */
    if (n > lent)
        n = lent;
    for (int i = 0; i < got && k < n; i++) {
        uint8_t *p = iov[i].iov_base;
        for (size_t j = 0; j < iov[i].iov_len && k < n; j++, k++)
            p[j] = pattern(c->sent + k);
    }
    CHECK_ERR(swarm_stream_frames_send(c->s, n), 0);
    c->sent += n;
    return true;
}

static void client_send(struct client *c)
{
    while (c->sent < c->size) {
        size_t n = c->size - c->sent;
        if (c->multi) {
            if (!client_send_multi(c))
                return;
            continue;
        }
        if (c->frames) {
            uint8_t *p;
            size_t room;
            CHECK_ERR(swarm_stream_frame(c->s, &p, &room), 0);
            if (room == 0)
                return;
            if (n > room)
                n = room;
            for (size_t i = 0; i < n; i++)
                p[i] = pattern(c->sent + i);
            CHECK_ERR(swarm_stream_frame_send(c->s, n), 0);
        } else {
            uint8_t buf[4096];
            if (n > sizeof(buf))
                n = sizeof(buf);
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern(c->sent + i);
            int k = swarm_stream_write(c->s, buf, n);
            CHECK(k >= 0);
            if (k <= 0)
                return;
            n = (size_t)k;
        }
        c->sent += n;
    }
    if (c->sent == c->size) {
        swarm_stream_close(c->s);
        c->sent++; /* closed */
    }
}

static void client_cb(struct swarm_stream *s,
                      const struct swarm_stream_event *ev, void *arg)
{
    struct client *c = arg;

    switch (ev->type) {
    case SWARM_STREAM_OPEN:
        c->opened = 1;
        CHECK_STR(swarm_stream_protocol(s), ECHO_P);
        if (c->frames || c->multi)
            client_send(c);
        break;
    case SWARM_STREAM_WRITABLE:
        client_send(c);
        break;
    case SWARM_STREAM_DATA:
        for (size_t i = 0; i < ev->len; i++)
            c->bad += ev->data[i] != pattern(c->got + i);
        c->got += ev->len;
        swarm_stream_consumed(s, ev->len);
        break;
    case SWARM_STREAM_CLOSED:
        c->closed = 1;
        c->err = ev->err;
        if (c->done_counter)
            (*c->done_counter)++;
        break;
    default:
        break;
    }
}

static void start_client(struct node *from, struct node *to, struct client *c,
                         const char *proto)
{
    int err = 0;
    c->s = swarm_stream_open(from->sw, &to->id.id, (const char *[]){proto}, 1,
                             5000, client_cb, c, &err);
    CHECK(c->s != NULL);
    CHECK_ERR(err, 0);
    if (!c->frames && !c->multi)
        client_send(c); /* optimistic: data right behind the proposal */
}

TEST(echo_streams)
{
    struct node a, b;
    struct client c1 = {.size = 1000000},
                  c2 = {.size = 3000000, .frames = true},
                  c3 = {.size = 5000000, .multi = true};

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    /* no connect first: opening the stream dials (a's address given once
     * by a connect that the stream's dial coalesces with) */
    struct connect_result r = {0, 0};
    CHECK_ERR(
        swarm_connect(b.sw, &a.id.id, &a.addr, 1, 0, on_connected, &r, NULL),
        0);
    start_client(&b, &a, &c1, ECHO_P);
    start_client(&b, &a, &c2, ECHO_P);
    start_client(&b, &a, &c3, ECHO_P);
    CHECK(nh_run_until(&c1.closed));
    CHECK(nh_run_until(&c2.closed));
    CHECK(nh_run_until(&c3.closed));
    CHECK_EQ(r.err, 0);
    CHECK_ERR(c1.err, 0);
    CHECK_ERR(c2.err, 0);
    CHECK_ERR(c3.err, 0);
    CHECK_EQ(c1.got, c1.size);
    CHECK_EQ(c2.got, c2.size);
    CHECK_EQ(c3.got, c3.size);
    CHECK(c3.rounds > 1);
    CHECK_EQ(c1.bad + c2.bad + c3.bad, 0);
    CHECK_EQ(a.echo_streams, 3);
    struct swarm_stats st;
    swarm_get_stats(b.sw, &st);
    CHECK_EQ(st.dials, 1);
    teardown((struct node *[]){&a, &b}, 2);
}

TEST(hundred_streams_one_connection)
{
    struct node a, b;
    static struct client cs[100];
    int done = 0;

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    for (int i = 0; i < 100; i++) {
        memset(&cs[i], 0, sizeof(cs[i]));
        cs[i].size = 100000 + (size_t)i * 1000;
        cs[i].frames = i % 3 == 1;
        cs[i].multi = i % 3 == 2;
        cs[i].done_counter = &done;
        start_client(&b, &a, &cs[i], ECHO_P);
    }
    uint64_t end = uv_hrtime() + 20000000000ull;
    while (done < 100 && uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_ONCE);
    CHECK_EQ(done, 100);
    for (int i = 0; i < 100; i++) {
        CHECK_ERR(cs[i].err, 0);
        CHECK_EQ(cs[i].got, cs[i].size);
        CHECK_EQ(cs[i].bad, 0);
    }
    CHECK_EQ(conn_count(&a), 1);
    CHECK_EQ(conn_count(&b), 1);
    teardown((struct node *[]){&a, &b}, 2);
}

/* More streams opened at once than the peer has acknowledged (yamux's
 * backlog of 256) and than a session holds (1024): the opens wait for
 * room, in order, and every one completes. */
TEST(opens_wait_for_the_peer)
{
    enum { N = 1500 };
    struct node a, b;
    static struct client cs[N];
    int done = 0;

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    for (int i = 0; i < N; i++) {
        memset(&cs[i], 0, sizeof(cs[i]));
        cs[i].size = 1000;
        cs[i].done_counter = &done;
        start_client(&b, &a, &cs[i], ECHO_P);
    }
    uint64_t end = uv_hrtime() + 30000000000ull;
    while (done < N && uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_ONCE);
    CHECK_EQ(done, N);
    for (int i = 0; i < N; i++) {
        CHECK_ERR(cs[i].err, 0);
        CHECK_EQ(cs[i].got, cs[i].size);
        CHECK_EQ(cs[i].bad, 0);
    }
    CHECK_EQ(a.echo_streams, N);
    CHECK_EQ(conn_count(&b), 1);
    teardown((struct node *[]){&a, &b}, 2);
}

TEST(unknown_protocol)
{
    struct node a, b;
    struct client c = {.size = 10};

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    start_client(&b, &a, &c, "/nobody/1.0.0");
    CHECK(nh_run_until(&c.closed));
    CHECK_ERR(c.err, FASTN_ERR_NET_PROTO_NA);
    CHECK(!c.opened);
    /* the connection survives */
    CHECK(swarm_is_connected(b.sw, &a.id.id));
    teardown((struct node *[]){&a, &b}, 2);
}

TEST(simultaneous_dials)
{
    struct node a, b;
    struct connect_result ra = {0, 0}, rb = {0, 0};

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    CHECK_ERR(
        swarm_connect(a.sw, &b.id.id, &b.addr, 1, 0, on_connected, &ra, NULL),
        0);
    CHECK_ERR(
        swarm_connect(b.sw, &a.id.id, &a.addr, 1, 0, on_connected, &rb, NULL),
        0);
    CHECK(nh_run_until(&ra.done));
    CHECK(nh_run_until(&rb.done));
    CHECK_ERR(ra.err, 0);
    CHECK_ERR(rb.err, 0);
    /* streams work right away, whichever connection each side uses */
    struct client c = {.size = 50000};
    start_client(&a, &b, &c, ECHO_P);
    CHECK(nh_run_until(&c.closed));
    CHECK_ERR(c.err, 0);
    CHECK_EQ(c.got, c.size);
    /* the loser drains and closes: one connection, the same on both sides */
    run_for_ms(SWARM_DRAIN_MS + 500);
    CHECK_EQ(conn_count(&a), 1);
    CHECK_EQ(conn_count(&b), 1);
    CHECK_EQ(peer_count(&a), 1);
    struct swarm_conn *ca = swarm__conn_for(a.sw, &b.id.id);
    struct swarm_conn *cb = swarm__conn_for(b.sw, &a.id.id);
    CHECK(ca && cb);
    if (ca && cb) {
        CHECK(multiaddr_equal(&ca->local, &cb->remote));
        CHECK(multiaddr_equal(&ca->remote, &cb->local));
    }
    teardown((struct node *[]){&a, &b}, 2);
}

struct ping_result {
    int done, err;
    uint64_t rtt;
};

static void on_ping(void *arg, int err, uint64_t rtt)
{
    struct ping_result *p = arg;
    p->done = 1;
    p->err = err;
    p->rtt = rtt;
}

TEST(ping)
{
    struct node a, b;
    struct ping_result p = {0, 0, 0};

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    for (int i = 0; i < 3; i++) {
        p.done = 0;
        CHECK_ERR(swarm_ping(b.sw, &a.id.id, 5000, on_ping, &p, NULL), 0);
        CHECK(nh_run_until(&p.done));
        CHECK_ERR(p.err, 0);
        CHECK(p.rtt > 0 && p.rtt < 1000000);
    }
    teardown((struct node *[]){&a, &b}, 2);
}

/* Perf: upload then download through the built-in server. */
struct perf_client {
    uint64_t up, down, sent, got;
    int closed, err;
    struct swarm_stream *s;
};

static void perf_push(struct perf_client *pc)
{
    while (pc->sent < pc->up) {
        uint8_t *p;
        size_t room;
        CHECK_ERR(swarm_stream_frame(pc->s, &p, &room), 0);
        if (room == 0)
            return;
        if (room > pc->up - pc->sent)
            room = (size_t)(pc->up - pc->sent);
        memset(p, 0xab, room);
        CHECK_ERR(swarm_stream_frame_send(pc->s, room), 0);
        pc->sent += room;
    }
    if (pc->sent == pc->up) {
        swarm_stream_close(pc->s);
        pc->sent++;
    }
}

static void perf_cb(struct swarm_stream *s, const struct swarm_stream_event *ev,
                    void *arg)
{
    struct perf_client *pc = arg;
    uint8_t hdr[PERF_HEADER_LEN];

    switch (ev->type) {
    case SWARM_STREAM_OPEN:
        perf_client_header(pc->down, hdr);
        CHECK_EQ(swarm_stream_write(s, hdr, sizeof(hdr)), sizeof(hdr));
        perf_push(pc);
        break;
    case SWARM_STREAM_WRITABLE:
        perf_push(pc);
        break;
    case SWARM_STREAM_DATA:
        pc->got += ev->len;
        swarm_stream_consumed(s, ev->len);
        break;
    case SWARM_STREAM_CLOSED:
        pc->closed = 1;
        pc->err = ev->err;
        break;
    default:
        break;
    }
}

TEST(perf)
{
    struct node a, b;
    struct perf_client pc = {.up = 20u << 20, .down = 30u << 20};
    int err = 0;

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    uint64_t t0 = uv_hrtime();
    pc.s = swarm_stream_open(b.sw, &a.id.id, (const char *[]){PERF_PROTOCOL_ID},
                             1, 0, perf_cb, &pc, &err);
    CHECK(pc.s != NULL);
    CHECK(nh_run_until(&pc.closed));
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    CHECK_ERR(pc.err, 0);
    CHECK_EQ(pc.got, pc.down);
    fprintf(stderr, "perf in one process: %.0f MB/s\n",
            (double)(pc.up + pc.down) / secs / 1e6);
    teardown((struct node *[]){&a, &b}, 2);
}

TEST(connection_dies_under_streams)
{
    struct node a, b;
    struct client c = {.size = 1u << 30, .frames = true};

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    start_client(&b, &a, &c, ECHO_P);
    CHECK(nh_run_until(&c.opened));
    run_for_ms(50);
    /* a goes away: b's stream ends with an error, not a hang */
    node_close(&a);
    CHECK(nh_run_until(&c.closed));
    CHECK(c.err == FASTN_ERR_NET_RESET);
    CHECK(!swarm_is_connected(b.sw, &a.id.id));
    node_close(&b);
    uv_run(&nh_loop, UV_RUN_DEFAULT);
    swarm_free(a.sw);
    swarm_free(b.sw);
    CHECK_EQ(uv_loop_close(&nh_loop), 0);
}

TEST(stream_timeout_and_reset)
{
    struct node a, b;
    struct client c = {.size = 100};

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    start_client(&b, &a, &c, ECHO_P);
    /* the echo never ends because we never close... we did: set a short
     * timeout on a stream that waits for more */
    struct client w = {.size = 0};
    int err = 0;
    w.s = swarm_stream_open(b.sw, &a.id.id, (const char *[]){ECHO_P}, 1, 0,
                            client_cb, &w, &err);
    CHECK(w.s != NULL);
    CHECK_ERR(swarm_stream_set_timeout(w.s, 100), 0);
    CHECK(nh_run_until(&w.closed));
    CHECK_ERR(w.err, FASTN_ERR_TIMEOUT);
    CHECK(nh_run_until(&c.closed));
    CHECK_ERR(c.err, 0);
    /* reset by the owner: no event, and the other side sees it */
    struct client x = {.size = 0};
    x.s = swarm_stream_open(b.sw, &a.id.id, (const char *[]){ECHO_P}, 1, 0,
                            client_cb, &x, &err);
    CHECK(x.s != NULL);
    CHECK(nh_run_until(&x.opened));
    swarm_stream_reset(x.s);
    run_for_ms(50);
    CHECK(!x.closed);
    CHECK(swarm_is_connected(b.sw, &a.id.id));
    teardown((struct node *[]){&a, &b}, 2);
}

/* --- changes while running: identify push, listen addresses, timing --- */

/* What a node serves beyond the built-ins: a list the test edits. */
static const char *served[4];
static size_t n_served;

static bool served_supports(void *arg, const struct peer_id *peer,
                            const char *p)
{
    (void)arg;
    (void)peer;
    for (size_t i = 0; i < n_served; i++)
        if (!strcmp(p, served[i]))
            return true;
    return false;
}

static size_t served_list(void *arg, const char **names, size_t max)
{
    size_t n = 0;
    (void)arg;
    for (; n < n_served && n < max; n++)
        names[n] = served[n];
    return n;
}

static const struct swarm_stream_listener served_listener = {
    served_supports, echo_on_stream, served_list};

/* What b knows of its one peer. */
struct view {
    bool has_new;
    size_t n_protocols, n_listen;
};

static void get_view(void *arg, const struct swarm_peer_info *info)
{
    struct view *v = arg;
    v->n_protocols = info->n_protocols;
    v->n_listen = info->n_listen;
    v->has_new = false;
    for (size_t i = 0; i < info->n_protocols; i++)
        v->has_new |= !strcmp(info->protocols[i], "/new/1.0.0");
}

static struct view view_of(struct node *n)
{
    struct view v = {false, 0, 0};
    swarm_foreach_peer(n->sw, get_view, &v);
    return v;
}

/* Runs the loop until b's view says `want` about /new/1.0.0 (2 s at most). */
static bool run_until_new(struct node *b, bool want)
{
    uint64_t end = uv_hrtime() + 2000000000ull;
    while (view_of(b).has_new != want && uv_hrtime() < end)
        run_for_ms(10);
    return view_of(b).has_new == want;
}

static uint64_t streams_total(struct node *n)
{
    struct swarm_stats st;
    swarm_get_stats(n->sw, &st);
    return st.streams_total;
}

TEST(identify_push_protocols)
{
    struct node a, b;
    uint64_t before;

    nh_start();
    n_served = 0;
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    swarm_set_stream_listener(a.sw, &served_listener, &a);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    run_for_ms(200);
    /* identify told b a's built-in protocols (identify, push, ping,
     * perf, autonat v1, v2's dial-request and dial-back, circuit relay
     * stop, dcutr) */
    CHECK_EQ(view_of(&b).n_protocols, 9);
    CHECK(!view_of(&b).has_new);
    /* a burst of changes on a: b learns the new protocol by one push */
    before = streams_total(&b);
    served[n_served++] = "/new/1.0.0";
    for (int i = 0; i < 5; i++)
        swarm_protocols_changed(a.sw);
    CHECK(run_until_new(&b, true));
    CHECK_EQ(view_of(&b).n_protocols, 10);
    run_for_ms(300);
    CHECK_EQ(streams_total(&b) - before, 1);
    /* removed again: b forgets it */
    n_served = 0;
    swarm_protocols_changed(a.sw);
    CHECK(run_until_new(&b, false));
    CHECK_EQ(view_of(&b).n_protocols, 9);
    /* the connection stayed the one connection */
    CHECK_EQ(conn_count(&b), 1);
    teardown((struct node *[]){&a, &b}, 2);
}

static void push_sink(struct swarm_stream *s,
                      const struct swarm_stream_event *ev, void *arg)
{
    if (ev->type == SWARM_STREAM_DATA)
        swarm_stream_consumed(s, ev->len);
    if (ev->type == SWARM_STREAM_CLOSED)
        (*(int *)arg)++;
}

/* Pushes an Identify from `from` to `to` with the given key (or none),
 * agent and protocols, and no addresses; waits for the stream's end. */
static void push_raw(struct node *from, struct node *to, const uint8_t *key,
                     size_t key_len, const char *agent, const char *proto)
{
    const char *proto_id = IDENTIFY_PUSH_PROTOCOL_ID;
    struct identify_info in = {.agent_version = agent,
                               .public_key = key,
                               .public_key_len = key_len,
                               .protocols = &proto,
                               .n_protocols = 1};
    struct swarm_stream *st;
    struct buf out;
    int closed = 0, err = 0;

    buf_init(&out, IDENTIFY_MAX_MSG + 16);
    CHECK_ERR(identify_encode(&in, &out), 0);
    st = swarm_stream_open(from->sw, &to->id.id, &proto_id, 1, 0, push_sink,
                           &closed, &err);
    CHECK(st != NULL);
    CHECK_EQ(swarm_stream_write(st, out.data, out.len), (int)out.len);
    CHECK_ERR(swarm_stream_close(st), 0);
    CHECK(nh_run_until(&closed));
    buf_cleanup(&out);
}

TEST(identify_push_partial_update)
{
    struct node a, b, c;
    struct agent_check ag = {{0}, 0};
    uint8_t key[IDENTITY_PUBKEY_PROTO_LEN];

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    node_init(&c, 3, false);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    run_for_ms(200);
    CHECK_EQ(view_of(&a).n_listen, 1);
    /* no key, no addresses: the protocols and the agent change, the
     * addresses stay (missing fields keep their values) */
    push_raw(&b, &a, NULL, 0, "other/1", "/partial/1.0.0");
    CHECK_EQ(view_of(&a).n_protocols, 1);
    CHECK_EQ(view_of(&a).n_listen, 1);
    swarm_foreach_peer(a.sw, get_agent, &ag);
    CHECK_STR(ag.agent, "other/1");
    /* another peer's key: ignored as a whole */
    pubkey_encode_proto(c.id.pubkey, key);
    push_raw(&b, &a, key, sizeof(key), "liar/1", "/new/1.0.0");
    CHECK_EQ(view_of(&a).n_protocols, 1);
    CHECK(!view_of(&a).has_new);
    swarm_foreach_peer(a.sw, get_agent, &ag);
    CHECK_STR(ag.agent, "other/1");
    /* its own key: applied */
    pubkey_encode_proto(b.id.pubkey, key);
    push_raw(&b, &a, key, sizeof(key), "fastn/x", "/new/1.0.0");
    CHECK(view_of(&a).has_new);
    teardown((struct node *[]){&a, &b, &c}, 3);
}

/* A loopback address with a port that is free now. */
static void free_addr(struct multiaddr *out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char text[64];

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(fd >= 0);
    CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    CHECK_EQ(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    snprintf(text, sizeof(text), "/ip4/127.0.0.1/tcp/%u", ntohs(sa.sin_port));
    CHECK_ERR(multiaddr_parse(text, out), 0);
}

TEST(listen_addresses_change)
{
    struct node a, b, c;
    struct multiaddr want[3], got[4];
    struct swarm_listen_change ch;

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, false);
    node_init(&c, 3, false);
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1/tcp/0", &want[0]), 0);
    free_addr(&want[1]);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    run_for_ms(100);
    CHECK_EQ(view_of(&b).n_listen, 1);
    /* one address added: a listens on both, and b hears of it (push) */
    CHECK_ERR(swarm_set_listen(a.sw, want, 2, &ch), 0);
    CHECK_EQ(ch.opened, 1);
    CHECK_EQ(ch.closed, 0);
    CHECK_EQ(swarm_listen_addrs(a.sw, got, 4), 2);
    CHECK(multiaddr_equal(&got[0], &a.addr));
    CHECK(multiaddr_equal(&got[1], &want[1]));
    for (int i = 0; i < 200 && view_of(&b).n_listen != 2; i++)
        run_for_ms(10);
    CHECK_EQ(view_of(&b).n_listen, 2);
    /* the same list again changes nothing */
    CHECK_ERR(swarm_set_listen(a.sw, want, 2, &ch), 0);
    CHECK_EQ(ch.opened + ch.closed + ch.failed, 0);
    /* c reaches a through the new address */
    struct connect_result r = {0, 0};
    CHECK_ERR(
        swarm_connect(c.sw, &a.id.id, &want[1], 1, 0, on_connected, &r, NULL),
        0);
    CHECK(nh_run_until(&r.done));
    CHECK_ERR(r.err, 0);
    CHECK_ERR(swarm_disconnect(c.sw, &a.id.id), 0);
    run_for_ms(50);
    /* the first address removed: its listener closes, b's connection
     * (accepted through it) stays, and a new dial there is refused */
    CHECK_ERR(swarm_set_listen(a.sw, &want[1], 1, &ch), 0);
    CHECK_EQ(ch.closed, 1);
    CHECK_EQ(ch.opened, 0);
    CHECK_EQ(swarm_listen_addrs(a.sw, got, 4), 1);
    run_for_ms(100);
    CHECK(swarm_is_connected(b.sw, &a.id.id));
    r.done = 0;
    CHECK_ERR(
        swarm_connect(c.sw, &a.id.id, &a.addr, 1, 0, on_connected, &r, NULL),
        0);
    CHECK(nh_run_until(&r.done));
    CHECK_ERR(r.err, FASTN_ERR_NET_REFUSED);
    /* a bad address and one in use fail alone; the rest goes on */
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1", &want[0]), 0);
    CHECK_ERR(swarm_set_listen(a.sw, want, 2, &ch), FASTN_ERR_UNSUPPORTED);
    CHECK_EQ(ch.failed, 1);
    CHECK_EQ(ch.opened + ch.closed, 0);
    CHECK_EQ(swarm_listen_addrs(a.sw, got, 4), 1);
    CHECK_ERR(swarm_set_listen(a.sw, want, SWARM_MAX_LISTEN + 1, &ch),
              FASTN_ERR_INVAL);
    teardown((struct node *[]){&a, &b, &c}, 3);
}

TEST(listen_address_in_use)
{
    struct node a, b;
    struct multiaddr want[2];
    struct swarm_listen_change ch;

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    /* b's port is taken: a keeps its own listener and reports the one */
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1/tcp/0", &want[0]), 0);
    want[1] = b.addr;
    CHECK_ERR(swarm_set_listen(a.sw, want, 2, &ch), FASTN_ERR_IO);
    CHECK_EQ(ch.failed, 1);
    CHECK_EQ(ch.opened + ch.closed, 0);
    CHECK_EQ(connect_nodes(&b, &a), 0);
    teardown((struct node *[]){&a, &b}, 2);
}

TEST(timing_applies_to_existing_connections)
{
    struct node a, b, c;
    struct swarm_config cfg;
    int n = 0;

    nh_start();
    node_init(&a, 1, true);
    node_init(&b, 2, true);
    node_init(&c, 3, false);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    run_for_ms(300);
    CHECK_EQ(conn_count(&a), 1);
    /* a's idle timeout shortened: the idle connection closes soon */
    swarm_config_default(&cfg, &a.id);
    cfg.idle_timeout_ms = 200;
    cfg.keepalive_ms = 50;
    swarm_set_timing(a.sw, &cfg);
    CHECK(a.sw->cfg.idle_timeout_ms == 200);
    CHECK(a.sw->cfg.handshake_timeout_ms == 10000);
    run_for_ms(600);
    CHECK_EQ(conn_count(&a), 0);
    n = peer_count(&b);
    CHECK_EQ(n, 0);
    /* 0 limits take their defaults, as in swarm_new */
    cfg.handshake_timeout_ms = 0;
    cfg.max_connections = 0;
    swarm_set_timing(a.sw, &cfg);
    CHECK(a.sw->cfg.handshake_timeout_ms == 10000);
    CHECK(a.sw->cfg.max_connections == 1024);
    /* max-connections 1 lets one connection in and refuses the next */
    cfg.idle_timeout_ms = 0;
    cfg.max_connections = 1;
    swarm_set_timing(a.sw, &cfg);
    CHECK_ERR(connect_nodes(&b, &a), 0);
    CHECK(connect_nodes(&c, &a) != 0);
    CHECK(swarm_is_connected(b.sw, &a.id.id));
    teardown((struct node *[]){&a, &b, &c}, 3);
}

/* The swarm's hash tables: ten thousand entries found, half removed,
 * the rest still found, the table shrinking with them and gone when
 * empty. */
struct hkey {
    struct swarm_hnode node;
    uint32_t k;
};

static struct hkey *hfind(struct swarm_htab *t, uint32_t k)
{
    struct swarm_hnode *n = swarm__htab_first(t, swarm__hash(t, &k, 4));
    for (; n; n = swarm__htab_next(n))
        if (((struct hkey *)n)->k == k)
            return (struct hkey *)n;
    return NULL;
}

TEST(hash_tables)
{
    enum { N = 10000 };
    static struct hkey keys[N];
    struct swarm_htab t;
    uint32_t big;

    swarm__htab_init(&t);
    for (uint32_t i = 0; i < N; i++) {
        keys[i].k = i * 7919u;
        CHECK_ERR(
            swarm__htab_add(&t, &keys[i].node, swarm__hash(&t, &keys[i].k, 4)),
            0);
    }
    CHECK_EQ(t.count, N);
    for (uint32_t i = 0; i < N; i++)
        CHECK(hfind(&t, i * 7919u) == &keys[i]);
    CHECK(hfind(&t, 1) == NULL);
    big = t.nb;
    for (uint32_t i = 0; i < N; i += 2)
        swarm__htab_del(&t, &keys[i].node);
    for (uint32_t i = 0; i < N; i++)
        CHECK(hfind(&t, i * 7919u) == (i % 2 ? &keys[i] : NULL));
    for (uint32_t i = 1; i < N - 100; i += 2)
        swarm__htab_del(&t, &keys[i].node);
    CHECK_EQ(t.count, 50);
    CHECK(t.nb < big / 8);
    for (uint32_t i = N - 99; i < N; i += 2)
        CHECK(hfind(&t, i * 7919u) == &keys[i]);
    for (uint32_t i = N - 99; i < N; i += 2)
        swarm__htab_del(&t, &keys[i].node);
    CHECK_EQ(t.count, 0);
    CHECK(t.b == NULL);
    swarm__htab_cleanup(&t);
}

int main(void)
{
    RUN(connect_and_identify);
    RUN(wrong_peer_refused);
    RUN(echo_streams);
    RUN(hundred_streams_one_connection);
    RUN(opens_wait_for_the_peer);
    RUN(unknown_protocol);
    RUN(simultaneous_dials);
    RUN(ping);
    RUN(perf);
    RUN(connection_dies_under_streams);
    RUN(stream_timeout_and_reset);
    RUN(identify_push_protocols);
    RUN(identify_push_partial_update);
    RUN(listen_addresses_change);
    RUN(listen_address_in_use);
    RUN(dials_rank_by_recent_outcomes);
    RUN(timing_applies_to_existing_connections);
    RUN(hash_tables);
    return test_done();
}
