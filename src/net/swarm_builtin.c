/*
 * The swarm's built-in protocols, written against the same stream API
 * (swarm.h) as any other handler:
 *  - identify (/ipfs/id/1.0.0): served to every peer; run towards every
 *    new connection (its answer fills the connection's agent, listen
 *    addresses and protocols, and the address book);
 *    /ipfs/id/push/1.0.0 accepted (a partial update: what it leaves out
 *    stays) and sent when our addresses or protocols change
 *    (swarm_protocols_changed).
 *  - ping (/ipfs/ping/1.0.0): served (32-byte echoes), and swarm_ping().
 *  - perf (/perf/1.0.0): served; the download is sent through the
 *    in-place frame path.
 *  - AutoNAT (/libp2p/autonat/1.0.0): in swarm_reach.c, handed its
 *    streams here; identify's observed address goes there too.
 */
#include "net/swarm_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "fastn/err.h"
#include "net/autonat.h"
#include "net/autonat2.h"
#include "net/dcutr.h"
#include "net/identify.h"
#include "net/kad.h"
#include "net/lp.h"
#include "net/perf.h"
#include "net/ping.h"
#include "net/relay.h"
#include "util/log.h"

/* --- identify ------------------------------------------------------------- */

/* Our Identify message (length-prefixed) for the connection sc (NULL:
 * no observed address) into out. */
static int identify_build(struct swarm *sw, const struct swarm_conn *sc,
                          struct buf *out)
{
    struct multiaddr *listen = calloc(IDENTIFY_MAX_ADDRS, sizeof(*listen));
    const char *protos[IDENTIFY_MAX_PROTOCOLS];
    struct identify_info in;
    int err;

    memset(&in, 0, sizeof(in));
    in.public_key = sw->pubkey_proto;
    in.public_key_len = sizeof(sw->pubkey_proto);
    if (listen) {
        in.listen = listen;
        in.n_listen = swarm_advertised_addrs(sw, listen, IDENTIFY_MAX_ADDRS);
    }
    if (sc && sc->remote.len)
        in.observed = &sc->remote;
    in.protocols = protos;
    in.n_protocols = swarm__protocols(sw, protos, IDENTIFY_MAX_PROTOCOLS);
    err = identify_encode(&in, out);
    free(listen);
    return err;
}

static void identify_serve(struct swarm_stream *st)
{
    struct buf out;

    buf_init(&out, IDENTIFY_MAX_MSG + 16);
    if (identify_build(st->sw, st->sc, &out) == 0)
        swarm_stream_write(st, out.data, out.len);
    swarm_stream_close(st);
    buf_cleanup(&out);
}

/* After our answer: whatever the asker sends is dropped. */
static void identify_sink(struct swarm_stream *st,
                          const struct swarm_stream_event *ev, void *arg)
{
    (void)arg;
    if (ev->type == SWARM_STREAM_DATA)
        swarm_stream_consumed(st, ev->len);
}

struct id_reader {
    struct lp_reader lp;
    struct identify_msg msg;
    bool have;
    bool push; /* /ipfs/id/push/1.0.0: a partial update */
};

/* Keeps the protocols m lists as the connection's (up to
 * SWARM_MAX_PEER_PROTOCOLS, each without NUL and at most
 * SWARM_PEER_PROTOCOL_MAX bytes: real ids are short, and this bounds
 * what one peer makes us keep). */
static void set_protocols(struct swarm_conn *sc, const struct identify_msg *m)
{
    size_t total = 0, n = 0;
    char *v, *p;

    for (size_t i = 0; i < m->n_protocols; i++)
        total += m->protocols[i].len + 1;
    v = malloc(total ? total : 1);
    if (!v)
        return; /* keep what we had */
    p = v;
    for (size_t i = 0; i < m->n_protocols && n < SWARM_MAX_PEER_PROTOCOLS;
         i++) {
        const struct identify_span *sp = &m->protocols[i];
        if (sp->len == 0 || sp->len > SWARM_PEER_PROTOCOL_MAX ||
            memchr(sp->p, '\0', sp->len))
            continue;
        memcpy(p, sp->p, sp->len);
        p[sp->len] = '\0';
        p += sp->len + 1;
        n++;
    }
    free(sc->protos);
    sc->protos = v;
    sc->n_protos = n;
}

bool swarm__conn_may_serve(const struct swarm_conn *sc, const char *protocol)
{
    const char *p = sc->protos;

    if (!p)
        return true; /* not identified yet */
    for (size_t i = 0; i < sc->n_protos; i++, p += strlen(p) + 1)
        if (!strcmp(p, protocol))
            return true;
    return false;
}

/* Keeps the TCP addresses m lists (up to SWARM_MAX_PEER_ADDRS) as the
 * connection's, in an array as long as they are. */
/* A circuit address a peer gives as its own: TCP to a relay, then
 * /p2p/RELAY/p2p-circuit, with no target or the peer itself. */
static bool own_circuit(const struct swarm_conn *sc, const struct multiaddr *ma)
{
    struct multiaddr transport;
    struct multiaddr_tcp t;
    struct peer_id relay, target;
    bool has_target;

    return relay_circuit_split(ma, &transport, &relay, &has_target, &target) ==
               0 &&
           multiaddr_to_tcp(&transport, &t) == 0 && !t.has_peer &&
           !peer_id_equal(&relay, &sc->peer) &&
           (!has_target || peer_id_equal(&target, &sc->peer));
}

/* The peer's listen addresses: TCP ones, and circuit ones through a
 * relay (how others reach a peer behind a NAT: the DHT gives them). */
static void set_listen(struct swarm_conn *sc, const struct identify_msg *m)
{
    struct multiaddr *v, ma;
    struct multiaddr_tcp t;
    size_t n = 0, k = m->n_listen;

    if (k > SWARM_MAX_PEER_ADDRS)
        k = SWARM_MAX_PEER_ADDRS;
    v = k ? calloc(k, sizeof(*v)) : NULL;
    if (k && !v)
        return; /* keep what we had */
    for (size_t i = 0; i < m->n_listen && n < k; i++) {
        if (multiaddr_from_bytes(m->listen[i].p, m->listen[i].len, &ma))
            continue;
        if (relay_is_circuit(&ma) ? !own_circuit(sc, &ma)
                                  : multiaddr_to_tcp(&ma, &t) || t.has_peer)
            continue;
        v[n++] = ma;
    }
    free(sc->listen);
    sc->listen = v;
    sc->n_listen = n;
}

/* Records what a peer says about itself on its connection. */
static void identify_apply(struct swarm_stream *st, struct id_reader *r)
{
    struct swarm *sw = st->sw;
    struct swarm_conn *sc = st->sc;
    struct identify_msg *m = &r->msg;
    struct peer_id pid;

    if (!sc)
        return;
    /* A key must be the connection's; a push may leave it out (the
     * spec's partial updates: missing fields keep their values). */
    if (m->public_key.p || !r->push)
        if (identify_peer(m, &pid) || !peer_id_equal(&pid, &sc->peer))
            return; /* not the connection's key: ignore what it says */
    if (!r->push || m->n_protocols)
        set_protocols(sc, m);
    if (m->observed_addr.p)
        swarm__reach_observed(sc, m->observed_addr.p, m->observed_addr.len);
    swarm__reach_identified(sc);
    swarm__dcutr_identified(sc);
    if (m->agent_version.p) {
        size_t n = m->agent_version.len;
        if (n >= sizeof(sc->agent))
            n = sizeof(sc->agent) - 1;
        memcpy(sc->agent, m->agent_version.p, n);
        sc->agent[n] = '\0';
    }
    if (!r->push || m->n_listen) {
        set_listen(sc, m);
        if (sc->n_listen && sw->cfg.book && sw->cfg.book->remember)
            sw->cfg.book->remember(sw->cfg.book_arg, &sc->peer, sc->listen,
                                   sc->n_listen, false);
    }
    swarm__kad_identified(sc);
    swarm__relay_identified(sc);
}

static void identify_read(struct swarm_stream *st,
                          const struct swarm_stream_event *ev, void *arg)
{
    struct id_reader *r = arg;
    const uint8_t *p = ev->data, *msg;
    size_t n = ev->len, used, len;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        swarm_stream_consumed(st, n);
        while (n > 0) {
            int rc = lp_reader_next(&r->lp, p, n, &used, &msg, &len);
            p += used;
            n -= used;
            if (rc < 0) {
                swarm_stream_reset(st);
                lp_reader_cleanup(&r->lp);
                free(r);
                return;
            }
            if (rc == 1) {
                if ((r->have ? identify_decode_more(msg, len, &r->msg)
                             : identify_decode(msg, len, &r->msg)) == 0)
                    r->have = true;
            }
        }
        break;
    case SWARM_STREAM_FIN:
        if (r->have)
            identify_apply(st, r);
        r->have = false;
        swarm_stream_close(st);
        break;
    case SWARM_STREAM_CLOSED:
        lp_reader_cleanup(&r->lp);
        free(r);
        break;
    default:
        break;
    }
}

static struct id_reader *id_reader_new(void)
{
    struct id_reader *r = calloc(1, sizeof(*r));
    if (r)
        lp_reader_init(&r->lp, IDENTIFY_MAX_MSG);
    return r;
}

void swarm__identify_start(struct swarm_conn *sc)
{
    struct id_reader *r = id_reader_new();
    struct swarm_stream *st;

    if (!r)
        return;
    st = swarm__stream_open_on(sc, IDENTIFY_PROTOCOL_ID, identify_read, r);
    if (!st) {
        lp_reader_cleanup(&r->lp);
        free(r);
        return;
    }
    /* We send nothing: the listener answers and closes. */
    swarm_stream_close(st);
}

/* The push's stream: we write and close; the peer only closes. */
static void identify_push_cb(struct swarm_stream *st,
                             const struct swarm_stream_event *ev, void *arg)
{
    (void)arg;
    if (ev->type == SWARM_STREAM_DATA)
        swarm_stream_consumed(st, ev->len);
}

/* A push ends within this time even if the peer never closes its side. */
#define PUSH_TIMEOUT_MS 10000

void swarm__identify_push(struct swarm_conn *sc)
{
    struct swarm_stream *st;
    struct buf out;

    buf_init(&out, IDENTIFY_MAX_MSG + 16);
    if (identify_build(sc->sw, sc, &out) != 0) {
        buf_cleanup(&out);
        return;
    }
    st = swarm__stream_open_on(sc, IDENTIFY_PUSH_PROTOCOL_ID, identify_push_cb,
                               NULL);
    if (st) {
        /* one protocol proposed: the message may follow at once */
        swarm_stream_set_timeout(st, PUSH_TIMEOUT_MS);
        swarm_stream_write(st, out.data, out.len);
        swarm_stream_close(st);
    }
    buf_cleanup(&out);
}

/* --- ping ------------------------------------------------------------------
 */

/* Echoes waiting on a ping stream, at most: a peer that pings without
 * reading the answers gets its stream reset, not a queue of them. */
#define PING_QUEUE_MAX (32 * PING_SIZE)

static void ping_serve(struct swarm_stream *st,
                       const struct swarm_stream_event *ev, void *arg)
{
    struct ping_server *ps = arg;
    struct buf out;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        buf_init(&out, ev->len + PING_SIZE);
        if (ping_server_feed(ps, ev->data, ev->len, &out) >= 0 &&
            swarm_stream_write(st, out.data, out.len) == (int)out.len &&
            swarm_stream_queued(st) <= PING_QUEUE_MAX)
            swarm_stream_consumed(st, ev->len);
        else
            swarm_stream_reset(st); /* a peer that does not read: drop it */
        buf_cleanup(&out);
        if (st->owner_gone)
            free(ps);
        break;
    case SWARM_STREAM_FIN:
        swarm_stream_close(st);
        break;
    case SWARM_STREAM_CLOSED:
        free(ps);
        break;
    default:
        break;
    }
}

struct swarm_ping {
    struct swarm_stream *st;
    swarm_ping_cb cb;
    void *arg;
    struct ping_client pc;
    bool answered;
    bool sent; /* the ping went behind the proposal */
};

static void ping_result(struct swarm_ping *p, int err, uint64_t rtt)
{
    swarm_ping_cb cb = p->cb;

    p->cb = NULL;
    p->answered = true;
    if (cb)
        cb(p->arg, err, rtt);
}

/* Sends the 32 bytes and starts the clock. */
static int ping_send(struct swarm_ping *p, struct swarm_stream *st)
{
    uint8_t rnd[PING_SIZE], out[PING_SIZE];

    p->sent = true;
    if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd) ||
        ping_client_send(&p->pc, rnd, swarm__now_us(), out) ||
        swarm_stream_write(st, out, sizeof(out)) != sizeof(out))
        return FASTN_ERR_IO;
    return 0;
}

static void ping_client(struct swarm_stream *st,
                        const struct swarm_stream_event *ev, void *arg)
{
    struct swarm_ping *p = arg;
    uint64_t rtt;
    size_t used;

    switch (ev->type) {
    case SWARM_STREAM_OPEN:
        if (!p->sent && ping_send(p, st)) {
            ping_result(p, FASTN_ERR_IO, 0);
            swarm_stream_reset(st);
            free(p);
        }
        break;
    case SWARM_STREAM_DATA:
        swarm_stream_consumed(st, ev->len);
        if (p->answered)
            break;
        int r = ping_client_feed(&p->pc, ev->data, ev->len, &used,
                                 swarm__now_us(), &rtt);
        if (r == 1) {
            ping_result(p, 0, rtt);
            swarm_stream_close(st);
        } else if (r < 0) {
            ping_result(p, FASTN_ERR_PROTOCOL, 0);
            swarm_stream_reset(st);
            free(p);
        }
        break;
    case SWARM_STREAM_FIN:
        if (!p->answered)
            ping_result(p, FASTN_ERR_NET_STREAM_RESET, 0);
        swarm_stream_close(st);
        break;
    case SWARM_STREAM_CLOSED:
        if (!p->answered)
            ping_result(p, ev->err ? ev->err : FASTN_ERR_NET_STREAM_RESET, 0);
        free(p);
        break;
    default:
        break;
    }
}

int swarm_ping(struct swarm *sw, const struct peer_id *peer,
               uint32_t timeout_ms, swarm_ping_cb cb, void *arg,
               struct swarm_ping **out)
{
    static const char *const proto[] = {PING_PROTOCOL_ID};
    struct swarm_ping *p = calloc(1, sizeof(*p));
    int err = 0;

    if (!p)
        return FASTN_ERR_NOMEM;
    p->cb = cb;
    p->arg = arg;
    ping_client_init(&p->pc);
    p->st = swarm_stream_open(sw, peer, proto, 1, 0, ping_client, p, &err);
    if (!p->st) {
        free(p);
        return err;
    }
    if (timeout_ms)
        swarm_stream_set_timeout(p->st, timeout_ms);
    /* Connected: the ping goes right behind the stream's proposal (one
     * round trip, as go-libp2p's does); else after the dial and the
     * agreement, so that the time measured is the peer's round trip,
     * not the dial's. */
    if (swarm_is_connected(sw, peer) && ping_send(p, p->st)) {
        swarm_stream_reset(p->st); /* no CLOSED after the owner's reset */
        free(p);
        return FASTN_ERR_IO;
    }
    if (out)
        *out = p;
    return 0;
}

void swarm_ping_cancel(struct swarm_ping *p)
{
    if (!p)
        return;
    swarm_stream_reset(p->st);
    free(p);
}

/* --- perf --------------------------------------------------------------------
 */

struct perf_serve {
    struct perf_server ps;
    uint64_t left;
    bool sending;
};

static void perf_send(struct swarm_stream *st, struct perf_serve *pf)
{
    uint8_t *p;
    size_t room;

    while (pf->left > 0) {
        if (swarm_stream_frame(st, &p, &room) || room == 0)
            return;
        if (room > pf->left)
            room = (size_t)pf->left;
        if (swarm_stream_frame_send(st, room))
            return;
        pf->left -= room;
    }
    swarm_stream_close(st);
    pf->sending = false;
}

static void perf_serve(struct swarm_stream *st,
                       const struct swarm_stream_event *ev, void *arg)
{
    struct perf_serve *pf = arg;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        perf_server_feed(&pf->ps, ev->data, ev->len);
        swarm_stream_consumed(st, ev->len);
        break;
    case SWARM_STREAM_FIN:
        if (perf_server_finish(&pf->ps, &pf->left) != 0) {
            swarm_stream_reset(st);
            free(pf);
            return;
        }
        pf->sending = true;
        perf_send(st, pf);
        break;
    case SWARM_STREAM_WRITABLE:
        if (pf->sending)
            perf_send(st, pf);
        break;
    case SWARM_STREAM_CLOSED:
        free(pf);
        break;
    default:
        break;
    }
}

/* --- dispatch
 * ------------------------------------------------------------------ */

bool swarm__builtin_take(struct swarm_stream *st)
{
    const char *p = st->protocol;

    if (!strcmp(p, IDENTIFY_PROTOCOL_ID)) {
        swarm__stream_idle_exempt(st);
        swarm_stream_set_cb(st, identify_sink, NULL);
        identify_serve(st);
        return true;
    }
    if (!strcmp(p, IDENTIFY_PUSH_PROTOCOL_ID)) {
        struct id_reader *r = id_reader_new();
        swarm__stream_idle_exempt(st);
        if (!r)
            return false;
        r->push = true;
        swarm_stream_set_cb(st, identify_read, r);
        return true;
    }
    if (!strcmp(p, PING_PROTOCOL_ID)) {
        struct ping_server *ps = calloc(1, sizeof(*ps));
        if (!ps)
            return false;
        ping_server_init(ps);
        swarm_stream_set_cb(st, ping_serve, ps);
        return true;
    }
    if (!strcmp(p, AUTONAT_PROTOCOL_ID))
        return swarm__reach_take(st);
    if (!strcmp(p, AUTONAT2_DIAL_REQUEST_ID))
        return swarm__reach2_take(st);
    if (!strcmp(p, AUTONAT2_DIAL_BACK_ID))
        return swarm__reach2_back_take(st);
    if (!strncmp(p, "/libp2p/circuit/relay/0.2.0/", 28))
        return swarm__relay_take(st);
    if (!strcmp(p, KAD_PROTOCOL_ID))
        return swarm__kad_take(st);
    if (!strcmp(p, DCUTR_PROTOCOL_ID))
        return swarm__dcutr_take(st);
    if (!strcmp(p, PERF_PROTOCOL_ID)) {
        struct perf_serve *pf = calloc(1, sizeof(*pf));
        if (!pf)
            return false;
        perf_server_init(&pf->ps);
        swarm_stream_set_cb(st, perf_serve, pf);
        return true;
    }
    return false;
}
