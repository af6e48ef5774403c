/* Unit tests for src/net/relay*: hop/stop codecs, reservation vouchers
 * (signed envelopes), circuit addresses, a whole reservation and circuit
 * between two clients and a relay service, the service's limits, renewal,
 * a relay that vanishes, and bad input: lying lengths, stale
 * reservations, forged vouchers, too many addresses, unknown relays. */
#include "identity/identity.h"
#include "net/lp.h"
#include "net/pb.h"
#include "net/relay.h"
#include "test.h"
#include "js_vectors.h"

#define SEC 1000000ull
#define UNIX0 1700000000ull

static struct identity idn(uint8_t n)
{
    struct identity id;
    uint8_t seed[32] = {n, 0x5e};
    identity_global_init();
    identity_from_seed(&id, seed);
    return id;
}

/* The first length-prefixed body in b (NULL if none). */
/* A backoff's end: now + wait less a jitter of up to a quarter. */
#define IN_WAIT(at, now, wait)                                                 \
    ((at) >= (now) + (wait) - (wait) / 4 && (at) <= (now) + (wait))

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
    struct identity a = idn(1);
    struct relay_msg m, back;
    struct buf b;
    const uint8_t *p;
    size_t n;

    memset(&m, 0, sizeof(m));
    m.kind = RELAY_STOP;
    m.type = RELAY_CONNECT;
    m.has_peer = true;
    m.peer = a.id;
    m.limit = (struct relay_limit){true, 120, 131072};
    buf_init(&b, 1 << 16);
    CHECK_ERR(relay_msg_encode(&m, &b), 0);
    p = body(&b, &n);
    CHECK_ERR(relay_msg_decode(RELAY_STOP, p, n, &back), 0);
    CHECK_EQ(back.type, RELAY_CONNECT);
    CHECK(back.has_peer && peer_id_equal(&back.peer, &a.id));
    CHECK(back.limit.present);
    CHECK_EQ(back.limit.duration_s, 120);
    CHECK_EQ(back.limit.data, 131072);
    /* on the wire: type 0 is written, as the spec requires the field */
    CHECK_EQ(p[0], 0x08);
    CHECK_EQ(p[1], 0x00);
    CHECK_ERR(relay_status_error(RELAY_NO_RESERVATION),
              FASTN_ERR_NET_RELAY_NO_RESERVATION);
    CHECK_ERR(relay_status_error(RELAY_RESOURCE_LIMIT_EXCEEDED),
              FASTN_ERR_NET_RELAY_REFUSED);
    CHECK_ERR(relay_status_error(RELAY_CONNECTION_FAILED),
              FASTN_ERR_NET_RELAY_FAILED);
    CHECK_STR(relay_status_name(RELAY_NO_RESERVATION), "NO_RESERVATION");
    buf_cleanup(&b);
}

TEST(codec_bad_input)
{
    struct relay_msg m;
    struct buf b, peer;
    static uint8_t big[RELAY_MAX_MSG + 1];
    static const uint8_t no_type[] = {0x28, 0x64};  /* status only */
    static const uint8_t bad_type[] = {0x08, 0x07}; /* type 7 */
    static const uint8_t bad_status[] = {0x08, 0x02, 0x28, 0x05};
    static const uint8_t lying[] = {0x08, 0x01, 0x12, 0x7f, 0x0a};
    static const uint8_t bad_peer[] = {0x08, 0x01, 0x12, 0x04,
                                       0x0a, 0x02, 0x55, 0x00};

    CHECK_ERR(relay_msg_decode(RELAY_HOP, big, sizeof(big), &m),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(relay_msg_decode(RELAY_HOP, no_type, sizeof(no_type), &m),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(relay_msg_decode(RELAY_HOP, bad_type, sizeof(bad_type), &m),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(relay_msg_decode(RELAY_HOP, bad_status, sizeof(bad_status), &m),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(relay_msg_decode(RELAY_HOP, lying, sizeof(lying), &m),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(relay_msg_decode(RELAY_STOP, bad_peer, sizeof(bad_peer), &m),
              FASTN_ERR_NET_BAD_MESSAGE);
    /* 300 addresses fit in 4 KiB: the first ADDR_LIST_MAX are kept, the
     * garbage one is counted */
    struct identity a = idn(1);
    struct multiaddr ma;
    char text[64];
    buf_init(&b, 1 << 16);
    buf_init(&peer, 1 << 16);
    pb_put_bytes(&peer, 1, a.id.bytes, a.id.len);
    pb_put_bytes(&peer, 2, "\x04\x01", 2);
    for (int i = 0; i < 300; i++) {
        snprintf(text, sizeof(text), "/ip4/9.9.%d.%d/tcp/1", i / 200, i % 200);
        CHECK_ERR(multiaddr_parse(text, &ma), 0);
        pb_put_bytes(&peer, 2, ma.bytes, ma.len);
    }
    pb_put_varint(&b, 1, RELAY_CONNECT);
    pb_put_bytes(&b, 2, peer.data, peer.len);
    CHECK(b.len <= RELAY_MAX_MSG);
    CHECK_ERR(relay_msg_decode(RELAY_HOP, b.data, b.len, &m), 0);
    CHECK_EQ(m.peer_addrs.n, ADDR_LIST_MAX);
    CHECK_EQ(m.peer_addrs.dropped, 300 - ADDR_LIST_MAX + 1);
    buf_cleanup(&b);
    buf_cleanup(&peer);
}

TEST(vouchers)
{
    struct identity r = idn(1), p = idn(2), x = idn(3);
    struct relay_voucher v;
    struct envelope env;
    struct buf b;

    buf_init(&b, ENVELOPE_MAX);
    CHECK_ERR(relay_voucher_seal(&r, &p.id, UNIX0 + 3600, &b), 0);
    CHECK_ERR(relay_voucher_open(b.data, b.len, &v), 0);
    CHECK(peer_id_equal(&v.relay, &r.id));
    CHECK(peer_id_equal(&v.peer, &p.id));
    CHECK_EQ(v.expiration, UNIX0 + 3600);
    /* the signature covers the domain: another one does not verify */
    CHECK_ERR(envelope_open(b.data, b.len, "libp2p-routing-state", &env),
              FASTN_ERR_SIGNATURE);
    /* any byte altered */
    for (size_t i = 0; i < b.len; i += 7) {
        b.data[i] ^= 0x20;
        CHECK(relay_voucher_open(b.data, b.len, &v) != 0);
        b.data[i] ^= 0x20;
    }
    /* signed by x, naming r as the relay */
    struct identity forger = x;
    forger.id = r.id; /* says it is r */
    buf_reset(&b);
    CHECK_ERR(relay_voucher_seal(&forger, &p.id, UNIX0, &b), 0);
    CHECK_ERR(relay_voucher_open(b.data, b.len, &v), FASTN_ERR_SIGNATURE);
    /* another payload type */
    buf_reset(&b);
    CHECK_ERR(envelope_seal(&r, RELAY_VOUCHER_DOMAIN,
                            (const uint8_t *)"\x03\x01", 2, (const uint8_t *)"",
                            0, &b),
              0);
    CHECK_ERR(relay_voucher_open(b.data, b.len, &v), FASTN_ERR_MALFORMED);
    CHECK_ERR(relay_voucher_open((const uint8_t *)"\x0a\xff", 2, &v),
              FASTN_ERR_MALFORMED);
    buf_cleanup(&b);
}

TEST(circuit_addresses)
{
    struct identity r = idn(1), t = idn(2);
    struct multiaddr ra, ca, tr;
    struct peer_id relay, target;
    char text[MULTIADDR_STR_MAX], want[MULTIADDR_STR_MAX], rs[PEER_ID_STR_MAX],
        ts[PEER_ID_STR_MAX];
    bool has;

    peer_id_format(&r.id, rs);
    peer_id_format(&t.id, ts);
    CHECK_ERR(multiaddr_parse("/ip4/1.2.3.4/tcp/4001", &ra), 0);
    CHECK_ERR(relay_circuit_addr(&ra, &r.id, &t.id, &ca), 0);
    multiaddr_format(&ca, text, sizeof(text));
    snprintf(want, sizeof(want),
             "/ip4/1.2.3.4/tcp/4001/p2p/%s/p2p-circuit/p2p/%s", rs, ts);
    CHECK_STR(text, want);
    CHECK(relay_is_circuit(&ca) && !relay_is_circuit(&ra));
    CHECK_ERR(relay_circuit_split(&ca, &tr, &relay, &has, &target), 0);
    CHECK(has && peer_id_equal(&target, &t.id) && peer_id_equal(&relay, &r.id));
    CHECK(multiaddr_equal(&tr, &ra));
    CHECK_ERR(relay_circuit_addr(&ra, NULL, &t.id, &ca), FASTN_ERR_INVAL);
    snprintf(text, sizeof(text), "/p2p/%s/p2p-circuit", rs);
    CHECK_ERR(multiaddr_parse(text, &ca), 0);
    CHECK_ERR(relay_circuit_split(&ca, &tr, &relay, &has, &target), 0);
    CHECK(!has && tr.len == 0);
    /* chains of relays, circuits without a relay, two targets */
    snprintf(text, sizeof(text), "/p2p/%s/p2p-circuit/p2p/%s/p2p-circuit", rs,
             ts);
    CHECK_ERR(multiaddr_parse(text, &ca), 0);
    CHECK_ERR(relay_circuit_split(&ca, &tr, &relay, &has, &target),
              FASTN_ERR_UNSUPPORTED);
    CHECK_ERR(multiaddr_parse("/ip4/1.2.3.4/tcp/1/p2p-circuit", &ca), 0);
    CHECK_ERR(relay_circuit_split(&ca, &tr, &relay, &has, &target),
              FASTN_ERR_UNSUPPORTED);
    snprintf(text, sizeof(text), "/p2p/%s/p2p-circuit/p2p/%s/p2p/%s", rs, ts,
             ts);
    CHECK_ERR(multiaddr_parse(text, &ca), 0);
    CHECK_ERR(relay_circuit_split(&ca, &tr, &relay, &has, &target),
              FASTN_ERR_UNSUPPORTED);
}

struct world {
    struct identity r, a, b;
    struct relay_service svc;
    struct relay_client ca;
    struct buf out, reply;
};

static const uint8_t ip_a[4] = {5, 5, 5, 5}, ip_b[4] = {6, 6, 6, 6};

static void world_init(struct world *w, const struct relay_service_config *cfg)
{
    struct relay_client_config cc;
    struct multiaddr pub;

    w->r = idn(10);
    w->a = idn(11);
    w->b = idn(12);
    CHECK_ERR(relay_service_init(&w->svc, cfg, &w->r), 0);
    CHECK_ERR(multiaddr_parse("/ip4/1.2.3.4/tcp/4001", &pub), 0);
    relay_service_set_addrs(&w->svc, &pub, 1);
    relay_client_config_default(&cc);
    relay_client_init(&w->ca, &cc, &w->a.id);
    CHECK_ERR(relay_client_add(&w->ca, &w->r.id), 0);
    buf_init(&w->out, 1 << 16);
    buf_init(&w->reply, 1 << 16);
}

static void world_free(struct world *w)
{
    relay_service_cleanup(&w->svc);
    buf_cleanup(&w->out);
    buf_cleanup(&w->reply);
}

/* A reserves on R at time now. */
static int reserve_a(struct world *w, uint64_t now)
{
    struct relay_circuit *c;
    struct peer_id relay;
    const uint8_t *p;
    size_t n;

    buf_reset(&w->out);
    buf_reset(&w->reply);
    if (relay_client_poll(&w->ca, now, &relay, &w->out) != 1)
        return FASTN_ERR_AGAIN;
    CHECK(peer_id_equal(&relay, &w->r.id));
    p = body(&w->out, &n);
    CHECK_EQ(relay_service_hop(&w->svc, &w->a.id, ip_a, 4, p, n, now,
                               UNIX0 + now / SEC, &c, &w->reply),
             RELAY_ACT_REPLIED);
    p = body(&w->reply, &n);
    return relay_client_reserved(&w->ca, &relay, p, n, now, UNIX0 + now / SEC);
}

TEST(reservation_and_circuit)
{
    struct relay_service_config cfg;
    struct world w;
    struct relay_circuit *c;
    struct relay_limit limit;
    struct peer_id src;
    struct multiaddr ours[4];
    struct buf stop, stop_reply;
    const uint8_t *p;
    size_t n;

    relay_service_config_default(&cfg);
    world_init(&w, &cfg);
    CHECK_ERR(reserve_a(&w, 0), 0);
    CHECK_EQ(relay_client_active(&w.ca, 0), 1);
    CHECK(relay_service_has_reservation(&w.svc, &w.a.id, 0));
    CHECK_EQ(relay_client_addrs(&w.ca, 0, ours, 4), 1);
    CHECK(relay_is_circuit(&ours[0]));
    /* B connects to A through R */
    buf_reset(&w.out);
    buf_reset(&w.reply);
    CHECK_ERR(relay_connect_encode(&w.a.id, &w.out), 0);
    p = body(&w.out, &n);
    CHECK_EQ(relay_service_hop(&w.svc, &w.b.id, ip_b, 4, p, n, 10, UNIX0, &c,
                               &w.reply),
             RELAY_ACT_STOP);
    CHECK(c && peer_id_equal(&c->dst, &w.a.id));
    buf_init(&stop, 1 << 16);
    buf_init(&stop_reply, 1 << 16);
    CHECK_ERR(relay_service_stop_encode(&w.svc, c, &stop), 0);
    p = body(&stop, &n);
    CHECK_ERR(
        relay_client_stop(&w.ca, &w.r.id, p, n, 10, &src, &limit, &stop_reply),
        0);
    CHECK(peer_id_equal(&src, &w.b.id));
    CHECK_EQ(limit.data, cfg.limit_data);
    p = body(&stop_reply, &n);
    CHECK_ERR(relay_service_stop_result(&w.svc, c, p, n, 20, &w.reply), 0);
    p = body(&w.reply, &n);
    CHECK_ERR(relay_connect_result(p, n, &limit), 0);
    CHECK_EQ(limit.duration_s, cfg.limit_duration_s);
    /* the circuit's data limit, each way, and its time limit */
    CHECK_EQ(relay_circuit_pass(c, 0, 100000, 30), 100000);
    CHECK_EQ(relay_circuit_pass(c, 0, 100000, 30), 128 * 1024 - 100000);
    CHECK_ERR(relay_circuit_pass(c, 0, 1, 30), FASTN_ERR_NET_RELAY_LIMIT);
    CHECK_EQ(relay_circuit_pass(c, 1, 10, 30), 10);
    CHECK_ERR(relay_circuit_pass(c, 1, 10, 20 + cfg.limit_duration_s * SEC),
              FASTN_ERR_NET_RELAY_LIMIT);
    relay_service_circuit_end(&w.svc, c);
    CHECK_EQ(w.svc.n_circuits, 0);
    buf_cleanup(&stop);
    buf_cleanup(&stop_reply);
    world_free(&w);
}

static enum relay_status hop_status(struct world *w, const struct peer_id *from,
                                    const uint8_t *ip, const struct buf *req,
                                    uint64_t now, struct relay_circuit **c)
{
    struct relay_msg m;
    const uint8_t *p;
    size_t n;
    int act;

    buf_reset(&w->reply);
    p = body(req, &n);
    act =
        relay_service_hop(&w->svc, from, ip, 4, p, n, now, UNIX0, c, &w->reply);
    if (act == RELAY_ACT_STOP)
        return RELAY_OK;
    p = body(&w->reply, &n);
    CHECK_ERR(relay_msg_decode(RELAY_HOP, p, n, &m), 0);
    return m.status;
}

TEST(service_limits)
{
    struct relay_service_config cfg;
    struct world w;
    struct relay_circuit *c;
    struct relay_msg m;
    struct buf rsv, conn;

    relay_service_config_default(&cfg);
    cfg.max_reservations = 4;
    cfg.max_per_ip = 2;
    cfg.max_circuits_per_peer = 2;
    world_init(&w, &cfg);
    buf_init(&rsv, 1 << 16);
    buf_init(&conn, 1 << 16);
    memset(&m, 0, sizeof(m));
    m.kind = RELAY_HOP;
    relay_msg_encode(&m, &rsv);
    /* per IP, then in all */
    struct identity peers[6];
    uint8_t ip[4] = {7, 7, 7, 7};
    for (int i = 0; i < 6; i++)
        peers[i] = idn((uint8_t)(40 + i));
    CHECK_EQ(hop_status(&w, &peers[0].id, ip, &rsv, 0, &c), RELAY_OK);
    CHECK_EQ(hop_status(&w, &peers[1].id, ip, &rsv, 0, &c), RELAY_OK);
    CHECK_EQ(hop_status(&w, &peers[2].id, ip, &rsv, 0, &c),
             RELAY_RESERVATION_REFUSED);
    /* a renewal is not a new slot */
    CHECK_EQ(hop_status(&w, &peers[1].id, ip, &rsv, 0, &c), RELAY_OK);
    for (int i = 2; i < 5; i++) {
        ip[0] = (uint8_t)(10 + i);
        hop_status(&w, &peers[i].id, ip, &rsv, 0, &c);
    }
    CHECK_EQ(w.svc.n_rsv, 4);
    ip[0] = 99;
    CHECK_EQ(hop_status(&w, &peers[5].id, ip, &rsv, 0, &c),
             RELAY_RESERVATION_REFUSED);
    /* circuits: to no reservation, to oneself, too many per peer */
    relay_connect_encode(&w.b.id, &conn);
    CHECK_EQ(hop_status(&w, &peers[0].id, ip, &conn, 0, &c),
             RELAY_NO_RESERVATION);
    buf_reset(&conn);
    relay_connect_encode(&peers[0].id, &conn);
    CHECK_EQ(hop_status(&w, &peers[0].id, ip, &conn, 0, &c),
             RELAY_PERMISSION_DENIED);
    struct relay_circuit *c2;
    CHECK_EQ(hop_status(&w, &w.b.id, ip, &conn, 0, &c), RELAY_OK);
    CHECK_EQ(hop_status(&w, &w.b.id, ip, &conn, 0, &c2), RELAY_OK);
    CHECK_EQ(hop_status(&w, &w.b.id, ip, &conn, 0, &c),
             RELAY_RESOURCE_LIMIT_EXCEEDED);
    CHECK(c == NULL);
    /* a failed stop releases the circuit */
    buf_reset(&w.reply);
    CHECK_ERR(relay_service_stop_result(&w.svc, c2, NULL, 0, 0, &w.reply),
              FASTN_ERR_NET_RELAY_FAILED);
    CHECK_EQ(w.svc.n_circuits, 1);
    /* the target's connection closes: its reservation ends */
    relay_service_peer_gone(&w.svc, &peers[0].id);
    CHECK_EQ(hop_status(&w, &w.b.id, ip, &conn, 0, &c), RELAY_NO_RESERVATION);
    /* reservations expire */
    CHECK_EQ(relay_service_tick(&w.svc, cfg.reservation_ttl_s * SEC), 0);
    /* a STATUS sent to the relay, and garbage */
    memset(&m, 0, sizeof(m));
    m.kind = RELAY_HOP;
    m.type = RELAY_STATUS;
    buf_reset(&conn);
    relay_msg_encode(&m, &conn);
    CHECK_EQ(hop_status(&w, &w.b.id, ip, &conn, 0, &c),
             RELAY_UNEXPECTED_MESSAGE);
    buf_reset(&conn);
    lp_write(&conn, (const uint8_t *)"\xff\xff", 2);
    CHECK_EQ(hop_status(&w, &w.b.id, ip, &conn, 0, &c),
             RELAY_MALFORMED_MESSAGE);
    buf_cleanup(&rsv);
    buf_cleanup(&conn);
    world_free(&w);
}

TEST(renewal_and_expiry)
{
    struct relay_service_config cfg;
    struct world w;
    struct peer_id relay;
    uint64_t life;

    relay_service_config_default(&cfg);
    world_init(&w, &cfg);
    CHECK_ERR(reserve_a(&w, 0), 0);
    life = cfg.reservation_ttl_s * SEC;
    CHECK_EQ(relay_client_next_deadline(&w.ca), life - 120 * SEC);
    buf_reset(&w.out);
    CHECK_EQ(relay_client_poll(&w.ca, life - 121 * SEC, &relay, &w.out), 0);
    /* renewing: still active meanwhile */
    CHECK_ERR(reserve_a(&w, life - 120 * SEC), 0);
    CHECK_EQ(relay_client_active(&w.ca, life + 10 * SEC), 1);
    /* an answer that never comes: backoff, then the slot expires */
    buf_reset(&w.out);
    CHECK_EQ(relay_client_poll(&w.ca, 2 * life - 200 * SEC, &relay, &w.out), 1);
    CHECK_EQ(relay_client_active(&w.ca, 2 * life - 199 * SEC), 1);
    CHECK_EQ(relay_client_poll(&w.ca, 2 * life - 170 * SEC, &relay, &w.out), 0);
    CHECK_EQ(w.ca.r[0].state, RELAY_RSV_BACKOFF);
    CHECK_EQ(relay_client_active(&w.ca, 2 * life - 170 * SEC), 0);
    world_free(&w);
}

/* A renewal cut by a network change (the relay's connection lost) is
 * asked again within 2 s, not 30: until then the peer is unreachable by
 * PeerID. Failures then double the wait; a reservation resets it. */
TEST(cut_reservation_retries_within_seconds)
{
    struct relay_service_config cfg;
    struct world w;
    struct peer_id relay;

    relay_service_config_default(&cfg);
    world_init(&w, &cfg);
    CHECK_EQ(w.ca.cfg.retry_first_us, 2 * SEC);
    CHECK_ERR(reserve_a(&w, 0), 0);
    relay_client_relay_lost(&w.ca, &w.r.id, 100 * SEC);
    CHECK_EQ(relay_client_active(&w.ca, 100 * SEC), 0);
    CHECK(IN_WAIT(relay_client_next_deadline(&w.ca), 100 * SEC, 2 * SEC));
    CHECK_ERR(reserve_a(&w, relay_client_next_deadline(&w.ca) - 1),
              FASTN_ERR_AGAIN);
    CHECK_ERR(reserve_a(&w, 102 * SEC), 0);
    CHECK_EQ(relay_client_active(&w.ca, 102 * SEC), 1);
    /* cut again, and the first retry fails too: 4 s, then 8 s */
    relay_client_relay_lost(&w.ca, &w.r.id, 200 * SEC);
    buf_reset(&w.out);
    CHECK_EQ(relay_client_poll(&w.ca, 202 * SEC, &relay, &w.out), 1);
    relay_client_failed(&w.ca, &w.r.id, 203 * SEC);
    CHECK(IN_WAIT(relay_client_next_deadline(&w.ca), 203 * SEC, 4 * SEC));
    buf_reset(&w.out);
    CHECK_EQ(relay_client_poll(&w.ca, 207 * SEC, &relay, &w.out), 1);
    relay_client_failed(&w.ca, &w.r.id, 207 * SEC);
    CHECK(IN_WAIT(relay_client_next_deadline(&w.ca), 207 * SEC, 8 * SEC));
    CHECK_ERR(reserve_a(&w, 215 * SEC), 0);
    /* held again: the next cut is retried within 2 s once more */
    relay_client_relay_lost(&w.ca, &w.r.id, 300 * SEC);
    CHECK(IN_WAIT(relay_client_next_deadline(&w.ca), 300 * SEC, 2 * SEC));
    world_free(&w);
}

/* The wait: first, doubled per failure up to max, less a jitter of at
 * most a quarter. */
TEST(backoff_computation)
{
    uint64_t first = 30 * SEC, max = 1800 * SEC;

    CHECK_EQ(relay_backoff_us(first, max, 0, 0), 30 * SEC);
    CHECK_EQ(relay_backoff_us(first, max, 1, 0), 60 * SEC);
    CHECK_EQ(relay_backoff_us(first, max, 5, 0), 960 * SEC);
    CHECK_EQ(relay_backoff_us(first, max, 6, 0), 1800 * SEC);
    CHECK_EQ(relay_backoff_us(first, max, 1000, 0), 1800 * SEC);
    CHECK_EQ(relay_backoff_us(first, max, 0, 1024), 30 * SEC - 30 * SEC / 4);
    for (uint32_t rnd = 0; rnd < 5000; rnd += 7) {
        uint64_t w = relay_backoff_us(first, max, 2, rnd * 2654435761u);
        CHECK(w >= 90 * SEC && w <= 120 * SEC);
        w = relay_backoff_us(first, max, 40, rnd * 2654435761u);
        CHECK(w >= 1350 * SEC && w <= 1800 * SEC);
    }
    /* a first wait over max: max */
    CHECK_EQ(relay_backoff_us(max * 2, max, 0, 0), max);
}

/* A relay that refuses (a service holding no reservation) is asked again
 * after 30 s, then 60 s, 120 s ...: a few times an hour at most, not
 * every few seconds; meanwhile the other candidate is asked. Once it
 * accepts, the count starts over. */
TEST(refusing_relay_backs_off)
{
    struct relay_service_config cfg;
    struct world w;
    struct identity r2 = idn(13);
    struct peer_id relay;
    uint64_t now = 0, wait = 30 * SEC;
    unsigned asked = 0;
    const struct relay_rsv *r;

    relay_service_config_default(&cfg);
    cfg.max_reservations = 0;
    world_init(&w, &cfg);
    CHECK_ERR(relay_client_add(&w.ca, &r2.id), 0);
    for (int i = 0; i < 6; i++) {
        CHECK_ERR(reserve_a(&w, now), FASTN_ERR_NET_RELAY_REFUSED);
        asked++;
        r = relay_client_find(&w.ca, &w.r.id);
        CHECK(r && r->state == RELAY_RSV_BACKOFF);
        CHECK_EQ(r->last_status, RELAY_RESERVATION_REFUSED);
        CHECK_EQ(r->failures, (unsigned)i + 1);
        CHECK(IN_WAIT(r->retry_at, now, wait));
        /* the other candidate is asked at once (and left pending) */
        if (i == 0) {
            buf_reset(&w.out);
            CHECK_EQ(relay_client_poll(&w.ca, now, &relay, &w.out), 1);
            CHECK(peer_id_equal(&relay, &r2.id));
            relay_client_remove(&w.ca, &r2.id); /* its answer: never */
        }
        CHECK_ERR(reserve_a(&w, r->retry_at - 1), FASTN_ERR_AGAIN);
        now = r->retry_at;
        wait *= 2;
    }
    CHECK_EQ(w.svc.refused, asked);
    CHECK(now < 2000 * SEC); /* 30 + 60 + ... + 960 s, less jitter */
    /* the relay takes reservations again: held, and the count resets */
    relay_service_cleanup(&w.svc);
    relay_service_config_default(&cfg);
    CHECK_ERR(relay_service_init(&w.svc, &cfg, &w.r), 0);
    CHECK_ERR(reserve_a(&w, now), 0);
    r = relay_client_find(&w.ca, &w.r.id);
    CHECK_EQ(r->failures, 0);
    CHECK_EQ(r->last_status, 0);
    relay_client_relay_lost(&w.ca, &w.r.id, now + SEC);
    CHECK(IN_WAIT(r->retry_at, now + SEC, 2 * SEC));
    world_free(&w);
}

TEST(relay_vanishes)
{
    struct relay_service_config cfg;
    struct relay_client_config cc;
    struct relay_client c;
    struct identity self = idn(1), r1 = idn(2), r2 = idn(3);
    struct relay_service s1, s2;
    struct peer_id relay;
    struct relay_circuit *circ;
    struct buf out, reply;
    const uint8_t *p;
    size_t n;

    relay_service_config_default(&cfg);
    relay_service_init(&s1, &cfg, &r1);
    relay_service_init(&s2, &cfg, &r2);
    relay_client_config_default(&cc);
    cc.want = 1;
    relay_client_init(&c, &cc, &self.id);
    CHECK_ERR(relay_client_add(&c, &r1.id), 0);
    CHECK_ERR(relay_client_add(&c, &r2.id), 0);
    CHECK_ERR(relay_client_add(&c, &r2.id), FASTN_ERR_EXISTS);
    CHECK_ERR(relay_client_add(&c, &self.id), FASTN_ERR_INVAL);
    buf_init(&out, 1 << 16);
    buf_init(&reply, 1 << 16);
    for (int round = 0; round < 2; round++) {
        struct relay_service *s = round == 0 ? &s1 : &s2;
        buf_reset(&out);
        buf_reset(&reply);
        CHECK_EQ(relay_client_poll(&c, 100 * round, &relay, &out), 1);
        CHECK(peer_id_equal(&relay, round == 0 ? &r1.id : &r2.id));
        p = body(&out, &n);
        relay_service_hop(s, &self.id, ip_a, 4, p, n, 0, UNIX0, &circ, &reply);
        p = body(&reply, &n);
        CHECK_ERR(relay_client_reserved(&c, &relay, p, n, 100 * round, UNIX0),
                  0);
        /* holding want=1: nothing more to ask */
        CHECK_EQ(relay_client_poll(&c, 100 * round + 1, &relay, &out), 0);
        if (round == 0)
            relay_client_relay_lost(&c, &r1.id, 50);
    }
    CHECK_EQ(c.r[0].state, RELAY_RSV_BACKOFF);
    CHECK(IN_WAIT(c.r[0].retry_at, 50, cc.retry_first_us));
    CHECK_EQ(relay_client_active(&c, 200), 1);
    /* backoff doubles with each failure */
    relay_client_relay_lost(&c, &r2.id, 1000);
    relay_client_relay_lost(&c, &r2.id, 1000); /* not active: no change */
    CHECK(IN_WAIT(c.r[1].retry_at, 1000, cc.retry_first_us));
    c.r[1].state = RELAY_RSV_PENDING;
    relay_client_failed(&c, &r2.id, 2000);
    CHECK(IN_WAIT(c.r[1].retry_at, 2000, 2 * cc.retry_first_us));
    /* a candidate found among connected peers goes when its peer does:
     * its answer then comes for no relay we asked */
    relay_client_remove(&c, &r1.id);
    relay_client_remove(&c, &r1.id); /* no such candidate: no-op */
    CHECK_EQ(c.n, 1);
    CHECK(peer_id_equal(&c.r[0].relay, &r2.id));
    CHECK_ERR(relay_client_reserved(&c, &r1.id, p, n, 3000, UNIX0),
              FASTN_ERR_NOT_FOUND);
    /* back, it keeps its backoff (one failure): asked once it ends */
    CHECK_ERR(relay_client_add(&c, &r1.id), 0);
    CHECK_EQ(c.r[1].state, RELAY_RSV_BACKOFF);
    CHECK_EQ(c.r[1].failures, 1);
    c.r[0].state = RELAY_RSV_ACTIVE; /* r2 holds, so want=1 is met... */
    c.r[0].expire_at = c.r[0].renew_at = UINT64_MAX;
    CHECK_EQ(relay_client_poll(&c, 2 * SEC + 50, &relay, &out), 0);
    c.r[0].state = RELAY_RSV_BACKOFF; /* ... until it does not */
    c.r[0].retry_at = UINT64_MAX;
    buf_reset(&out);
    CHECK_EQ(relay_client_poll(&c, 2 * SEC + 50, &relay, &out), 1);
    CHECK(peer_id_equal(&relay, &r1.id));
    relay_service_cleanup(&s1);
    relay_service_cleanup(&s2);
    buf_cleanup(&out);
    buf_cleanup(&reply);
}

/* A relay's answer to a RESERVE, as a (possibly lying) relay writes it. */
static void rsv_answer(struct buf *out, uint64_t expire,
                       const struct identity *signer,
                       const struct peer_id *for_peer)
{
    struct relay_msg m;
    struct buf v;

    memset(&m, 0, sizeof(m));
    m.kind = RELAY_HOP;
    m.type = RELAY_STATUS;
    m.has_status = true;
    m.status = RELAY_OK;
    m.has_rsv = true;
    m.rsv_expire = expire;
    if (signer) {
        buf_init(&v, ENVELOPE_MAX);
        relay_voucher_seal(signer, for_peer, expire, &v);
        memcpy(m.voucher, v.data, v.len);
        m.voucher_len = v.len;
        buf_cleanup(&v);
    }
    buf_reset(out);
    relay_msg_encode(&m, out);
}

TEST(lying_relays)
{
    struct relay_client_config cc;
    struct relay_client c;
    struct identity self = idn(1), r = idn(2), x = idn(3);
    struct peer_id relay;
    struct buf out, ans;
    const uint8_t *p;
    size_t n;

    relay_client_config_default(&cc);
    cc.retry_first_us = 1;
    relay_client_init(&c, &cc, &self.id);
    relay_client_add(&c, &r.id);
    buf_init(&out, 1 << 16);
    buf_init(&ans, 1 << 16);
    struct {
        uint64_t expire;
        const struct identity *signer;
        const struct peer_id *for_peer;
        int want;
    } cases[] = {
        {UNIX0 - 1, &r, &self.id, FASTN_ERR_NET_BAD_MESSAGE},  /* stale */
        {UNIX0 + 60, &x, &self.id, FASTN_ERR_NET_BAD_MESSAGE}, /* not r */
        {UNIX0 + 60, &r, &x.id, FASTN_ERR_NET_BAD_MESSAGE},    /* not us */
        {UNIX0 + 60, NULL, NULL, 0}, /* no voucher: advisory */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_reset(&out);
        CHECK_EQ(relay_client_poll(&c, 10 * i + 5, &relay, &out), 1);
        rsv_answer(&ans, cases[i].expire, cases[i].signer, cases[i].for_peer);
        p = body(&ans, &n);
        CHECK_ERR(relay_client_reserved(&c, &relay, p, n, 10 * i + 5, UNIX0),
                  cases[i].want);
        c.r[0].retry_at = 0;
    }
    /* a relay's year-long expiry is bounded to a day */
    CHECK(c.r[0].expire_at <= 35 + 24 * 3600 * SEC);
    /* an answer nobody asked for */
    CHECK_ERR(relay_client_reserved(&c, &x.id, p, n, 0, UNIX0),
              FASTN_ERR_NOT_FOUND);
    /* a stop CONNECT from a relay we hold nothing with */
    struct relay_msg m;
    struct peer_id src;
    struct relay_limit limit;
    memset(&m, 0, sizeof(m));
    m.kind = RELAY_STOP;
    m.type = RELAY_CONNECT;
    m.has_peer = true;
    m.peer = x.id;
    buf_reset(&out);
    relay_msg_encode(&m, &out);
    p = body(&out, &n);
    buf_reset(&ans);
    CHECK_ERR(relay_client_stop(&c, &x.id, p, n, 40, &src, &limit, &ans),
              FASTN_ERR_PERM);
    struct relay_msg back;
    const uint8_t *q;
    size_t qn;
    q = body(&ans, &qn);
    CHECK_ERR(relay_msg_decode(RELAY_STOP, q, qn, &back), 0);
    CHECK_EQ(back.status, RELAY_PERMISSION_DENIED);
    CHECK_ERR(relay_client_stop(&c, &r.id, p, n, 40, &src, &limit, &ans), 0);
    buf_reset(&ans);
    CHECK_ERR(relay_client_stop(&c, &r.id, (const uint8_t *)"\x08\x09", 2, 40,
                                &src, &limit, &ans),
              FASTN_ERR_NET_BAD_MESSAGE);
    buf_cleanup(&out);
    buf_cleanup(&ans);
}

/* Bytes @libp2p/circuit-relay-v2 produced (tests/unit/js_vectors.h). */
TEST(js_messages)
{
    struct identity r = idn(0), me = idn(0);
    uint8_t seed[32];
    struct relay_voucher v;
    struct relay_client_config cc;
    struct relay_client c;
    struct relay_limit limit;
    struct peer_id relay_id, peer_id, target_id, got, src;
    struct multiaddr ours[2];
    struct buf b;

    CHECK_ERR(peer_id_parse(js_relay_id, &relay_id), 0);
    CHECK_ERR(peer_id_parse(js_peer_id, &peer_id), 0);
    CHECK_ERR(peer_id_parse(js_target_id, &target_id), 0);
    memset(seed, 1, sizeof(seed));
    identity_from_seed(&r, seed);
    memset(seed, 2, sizeof(seed));
    identity_from_seed(&me, seed);
    CHECK(peer_id_equal(&r.id, &relay_id));
    CHECK(peer_id_equal(&me.id, &peer_id));
    /* js's voucher opens, and ours is the same bytes */
    CHECK_ERR(
        relay_voucher_open(js_relay_voucher, sizeof(js_relay_voucher), &v), 0);
    CHECK(peer_id_equal(&v.relay, &relay_id));
    CHECK(peer_id_equal(&v.peer, &peer_id));
    CHECK_EQ(v.expiration, 1700003600);
    buf_init(&b, ENVELOPE_MAX);
    CHECK_ERR(relay_voucher_seal(&r, &peer_id, 1700003600, &b), 0);
    CHECK_EQ(b.len, sizeof(js_relay_voucher));
    CHECK_MEM(b.data, js_relay_voucher, sizeof(js_relay_voucher));
    /* the relay server's answer to RESERVE */
    relay_client_config_default(&cc);
    relay_client_init(&c, &cc, &peer_id);
    relay_client_add(&c, &relay_id);
    buf_reset(&b);
    CHECK_EQ(relay_client_poll(&c, 0, &got, &b), 1);
    CHECK_ERR(relay_client_reserved(&c, &relay_id, js_relay_reserve_ok,
                                    sizeof(js_relay_reserve_ok), 0, 1700000000),
              0);
    CHECK_EQ(c.r[0].limit.duration_s, 120);
    CHECK_EQ(c.r[0].limit.data, 131072);
    CHECK_EQ(relay_client_addrs(&c, 1, ours, 2), 1);
    /* then a stop CONNECT through it */
    buf_reset(&b);
    CHECK_ERR(relay_client_stop(&c, &relay_id, js_relay_stop_connect,
                                sizeof(js_relay_stop_connect), 1, &src, &limit,
                                &b),
              0);
    CHECK(peer_id_equal(&src, &target_id));
    CHECK_EQ(limit.duration_s, 120);
    /* a year later the same answer is stale */
    c.r[0].state = RELAY_RSV_PENDING;
    CHECK_ERR(relay_client_reserved(&c, &relay_id, js_relay_reserve_ok,
                                    sizeof(js_relay_reserve_ok), 0, 1700003600),
              FASTN_ERR_NET_BAD_MESSAGE);
    buf_cleanup(&b);
}

int main(void)
{
    RUN(codec_roundtrip);
    RUN(codec_bad_input);
    RUN(vouchers);
    RUN(circuit_addresses);
    RUN(reservation_and_circuit);
    RUN(service_limits);
    RUN(renewal_and_expiry);
    RUN(cut_reservation_retries_within_seconds);
    RUN(backoff_computation);
    RUN(refusing_relay_backs_off);
    RUN(relay_vanishes);
    RUN(lying_relays);
    RUN(js_messages);
    return test_done();
}
