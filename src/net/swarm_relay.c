/*
 * Circuit relay v2 (net/relay.h) on the swarm's streams:
 *  - a relayed connection is a swarm connection like any other, whose
 *    "socket" is one end of a socketpair; the other end is spliced with
 *    the hop (dialer) or stop (listener) stream by struct relay_pipe.
 *    The upgrade (Noise, yamux) then runs over the relay as over TCP.
 *    Such connections are *limited* (sc->limited): a direct connection to
 *    the same peer is preferred to them.
 *  - dialing: swarm_dial.c hands a /p2p-circuit address to
 *    swarm__relay_dial(): a hop stream to the relay (dialed at the
 *    address's transport part when not connected), CONNECT, and on OK
 *    the connection is adopted as the dial's attempt.
 *  - accepting: a stop stream from a relay we hold a reservation on
 *    (relay_client_stop) becomes an inbound connection; the peer that
 *    authenticates must be the one the relay named.
 *  - reservations on the relays swarm_relay_add() names, while AutoNAT
 *    does not say we are public: RESERVE on a hop stream, renewed before
 *    the expiry, another candidate when a relay's connection closes; the
 *    circuit addresses join the advertised ones (swarm_advertised_addrs).
 *    With none configured, as go-libp2p's autorelay does: peers reached
 *    directly whose identify lists hop become candidates (at most
 *    RELAY_CLIENT_MAX, the first ones found), reserved on while AutoNAT
 *    says private; one whose last connection closes stops being one, and
 *    the next candidate takes its place.
 *  - the service (cfg.relay_service): hop RESERVE and CONNECT from
 *    others, the stop stream to the target, and the two streams spliced
 *    within the circuit's limits (relay_circuit_pass; its duration as the
 *    streams' timeout).
 */
#include "net/swarm_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fastn/err.h"
#include "net/lp.h"
#include "net/relay.h"
#include "util/log.h"

#define RELAY_READ_MAX 65536
/* Bytes a circuit holds for a stream that does not take them yet: one
 * window's worth at most, since the source's are consumed once passed. */
#define RELAY_PEND_MAX (SWARM_STREAM_QUEUE_MAX + (1u << 20))
/* A source's bytes after its CONNECT, before the target answered. */
#define RELAY_EARLY_MAX (64u << 10)
#define RELAY_SERVICE_TICK_MS 30000

struct swarm_relay {
    struct swarm *sw;
    struct relay_client client;
    size_t n_relays;
    struct {
        struct peer_id id;
        struct multiaddr transport;
        bool found; /* among connected peers, not configured */
    } relays[RELAY_CLIENT_MAX];
    size_t n_config; /* relays configured (the first n_config) */
    bool service_on;
    struct relay_service service;
    uv_timer_t timer;
    bool reserving; /* reservations wanted (not public) */
};

static uint64_t unix_now(void)
{
    return (uint64_t)time(NULL);
}

static void relay_kick(struct swarm_relay *rl);

/* --- a stream spliced with one end of a socketpair ------------------------
 */

struct relay_pipe {
    struct swarm_stream *st;
    uv_pipe_t pipe;
    struct buf pend; /* from the pipe, not yet taken by the stream */
    bool reading, eof;
};

struct pipe_write {
    uv_write_t req;
    struct relay_pipe *p;
    size_t len;
    uint8_t data[];
};

static void pipe_closed(uv_handle_t *h)
{
    struct relay_pipe *p = h->data;

    buf_cleanup(&p->pend);
    free(p);
}

/* Ends the pipe side; the stream (if any) was dealt with by the caller. */
static void pipe_end(struct relay_pipe *p)
{
    if (!uv_is_closing((uv_handle_t *)&p->pipe))
        uv_close((uv_handle_t *)&p->pipe, pipe_closed);
}

static void on_pipe_write(uv_write_t *req, int status)
{
    struct pipe_write *w = (struct pipe_write *)req;
    struct relay_pipe *p = w->p;

    if (p->st && status == 0)
        swarm_stream_consumed(p->st, w->len);
    free(w);
}

/* Stream bytes to the socketpair (consumed once written). */
static int pipe_send(struct relay_pipe *p, const uint8_t *data, size_t n)
{
    struct pipe_write *w = malloc(sizeof(*w) + n);
    uv_buf_t b;

    if (!w)
        return FASTN_ERR_NOMEM;
    w->p = p;
    w->len = n;
    memcpy(w->data, data, n);
    b = uv_buf_init((char *)w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&p->pipe, &b, 1, on_pipe_write)) {
        free(w);
        return FASTN_ERR_NET_RESET;
    }
    return 0;
}

static void on_pipe_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)h;
    (void)hint;
    b->base = malloc(RELAY_READ_MAX);
    b->len = b->base ? RELAY_READ_MAX : 0;
}

/* Moves what the stream did not take yet; true when all went. */
static bool pipe_flush(struct relay_pipe *p)
{
    int k;

    if (!p->pend.len)
        return true;
    k = swarm_stream_write(p->st, p->pend.data, p->pend.len);
    if (k < 0)
        return false;
    memmove(p->pend.data, p->pend.data + k, p->pend.len - (size_t)k);
    p->pend.len -= (size_t)k;
    return p->pend.len == 0;
}

static void on_pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct relay_pipe *p = s->data;

    if (n > 0 && p->st && buf_append(&p->pend, b->base, (size_t)n) == 0) {
        if (!pipe_flush(p)) {
            uv_read_stop(s);
            p->reading = false;
        }
    } else if (n == UV_EOF && p->st) {
        p->eof = true;
        uv_read_stop(s);
        p->reading = false;
        if (pipe_flush(p))
            swarm_stream_close(p->st);
    } else if (n < 0 || (n > 0 && p->st)) {
        if (p->st)
            swarm_stream_reset(p->st);
        p->st = NULL;
        pipe_end(p);
    }
    free(b->base);
}

static void on_pipe_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    free(req);
}

static void pipe_stream_cb(struct swarm_stream *st,
                           const struct swarm_stream_event *ev, void *arg)
{
    struct relay_pipe *p = arg;
    uv_shutdown_t *req;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        if (pipe_send(p, ev->data, ev->len)) {
            p->st = NULL;
            swarm_stream_reset(st);
            pipe_end(p);
        }
        break;
    case SWARM_STREAM_FIN:
        req = malloc(sizeof(*req));
        if (req && uv_shutdown(req, (uv_stream_t *)&p->pipe, on_pipe_shutdown))
            free(req);
        break;
    case SWARM_STREAM_WRITABLE:
        if (pipe_flush(p)) {
            if (p->eof)
                swarm_stream_close(st);
            else if (!p->reading && !uv_read_start((uv_stream_t *)&p->pipe,
                                                   on_pipe_alloc, on_pipe_read))
                p->reading = true;
        }
        break;
    case SWARM_STREAM_CLOSED:
        p->st = NULL;
        pipe_end(p);
        break;
    default:
        break;
    }
}

/* Splices st with fd; first[0..n) are stream bytes already read (after
 * the relay's answer), not yet consumed. Errors: NOMEM, NET_RESET (fd is
 * closed then; the stream is the caller's). */
static int pipe_new(struct swarm_stream *st, int fd, const uint8_t *first,
                    size_t n)
{
    struct relay_pipe *p = calloc(1, sizeof(*p));

    if (!p) {
        close(fd);
        return FASTN_ERR_NOMEM;
    }
    p->st = st;
    buf_init(&p->pend, RELAY_READ_MAX);
    uv_pipe_init(st->sw->loop, &p->pipe, 0);
    p->pipe.data = p;
    if (uv_pipe_open(&p->pipe, fd)) {
        close(fd); /* not the handle's */
        p->st = NULL;
        pipe_end(p);
        return FASTN_ERR_NET_RESET;
    }
    if (uv_read_start((uv_stream_t *)&p->pipe, on_pipe_alloc, on_pipe_read) ||
        (n && pipe_send(p, first, n))) {
        p->st = NULL;
        pipe_end(p); /* closes fd */
        return FASTN_ERR_NET_RESET;
    }
    p->reading = true;
    swarm_stream_set_cb(st, pipe_stream_cb, p);
    return 0;
}

/* A relayed connection: sc over one end of a socketpair, st spliced with
 * the other. peer: the one dialed (outbound) or the relay's source
 * (inbound). d: the dial it is an attempt of (outbound). */
static int relayed_conn(struct swarm_stream *st, bool inbound,
                        const struct peer_id *peer,
                        const struct multiaddr *remote,
                        const struct relay_limit *lim, const uint8_t *first,
                        size_t n, struct swarm_dial *d)
{
    struct swarm *sw = st->sw;
    struct swarm_conn *sc;
    int fds[2], err;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds))
        return FASTN_ERR_IO;
    sc = swarm__conn_new(sw, inbound, inbound ? NULL : peer);
    if (!sc) {
        close(fds[0]);
        close(fds[1]);
        return FASTN_ERR_NOMEM;
    }
    if (uv_tcp_open(&sc->tcp, fds[0])) {
        close(fds[0]);
        close(fds[1]);
        swarm__conn_close(sc, FASTN_ERR_IO);
        return FASTN_ERR_IO;
    }
    sc->remote = *remote;
    sc->limited = true;
    sc->limit_duration_s = lim ? lim->duration_s : 0;
    sc->limit_data = lim ? lim->data : 0;
    if (inbound) {
        sc->relay_src = *peer;
        sc->check_src = true;
    }
    err = pipe_new(st, fds[1], first, n);
    if (err) {
        swarm__conn_close(sc, err);
        return err;
    }
    if (d)
        swarm__dial_adopt(d, sc);
    swarm__conn_start(sc); /* a failure ends the dial's attempt */
    return 0;
}

/* --- dialing through a relay ----------------------------------------------
 */

struct swarm_relay_dial {
    struct swarm_dial *d;
    struct swarm_stream *st;
    struct lp_reader lp;
    struct multiaddr addr;
};

static void rdial_free(struct swarm_relay_dial *rd)
{
    if (rd->d)
        rd->d->relay = NULL;
    lp_reader_cleanup(&rd->lp);
    free(rd);
}

static void rdial_fail(struct swarm_relay_dial *rd, int err)
{
    struct swarm_dial *d = rd->d;

    rdial_free(rd);
    if (d)
        swarm__dial_relay_failed(d, err);
}

void swarm__relay_dial_abandon(struct swarm_relay_dial *rd)
{
    rd->d = NULL;
}

static void rdial_answer(struct swarm_relay_dial *rd, const uint8_t *rest,
                         size_t n_rest)
{
    struct swarm_stream *st = rd->st;
    struct swarm_dial *d = rd->d;
    struct relay_limit lim;
    const uint8_t *msg;
    size_t len;
    int err;

    msg = lp_reader_msg(&rd->lp, &len);
    err = relay_connect_result(msg, len, &lim);
    if (!err && !d)
        err = FASTN_ERR_CANCELED;
    if (err) {
        swarm_stream_reset(st);
        rdial_fail(rd, err);
        return;
    }
    rd->d = NULL;
    d->relay = NULL;
    err = relayed_conn(st, false, &d->peer, &rd->addr, &lim, rest, n_rest, d);
    rdial_free(rd);
    if (err) {
        swarm_stream_reset(st); /* nothing was adopted */
        swarm__dial_relay_failed(d, err);
    }
}

static void rdial_cb(struct swarm_stream *st,
                     const struct swarm_stream_event *ev, void *arg)
{
    struct swarm_relay_dial *rd = arg;
    const uint8_t *msg;
    size_t used, len;
    int rc;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        rc = lp_reader_next(&rd->lp, ev->data, ev->len, &used, &msg, &len);
        if (rc < 0) {
            swarm_stream_reset(st);
            rdial_fail(rd, FASTN_ERR_NET_BAD_MESSAGE);
        } else if (rc == 1) {
            swarm_stream_consumed(st, used);
            rdial_answer(rd, ev->data + used, ev->len - used);
        } else {
            swarm_stream_consumed(st, used);
        }
        break;
    case SWARM_STREAM_FIN:
        swarm_stream_reset(st);
        rdial_fail(rd, FASTN_ERR_NET_RELAY_FAILED);
        break;
    case SWARM_STREAM_CLOSED: /* a peer without hop is no relay */
        rdial_fail(rd, ev->err == FASTN_ERR_NET_PROTO_NA
                           ? FASTN_ERR_NET_RELAY_REFUSED
                       : ev->err ? ev->err
                                 : FASTN_ERR_NET_RELAY_FAILED);
        break;
    default:
        break;
    }
}

/* Opens a stream to relay, dialing transport first when not connected. */
static struct swarm_stream *relay_open(struct swarm *sw,
                                       const struct peer_id *relay,
                                       const struct multiaddr *transport,
                                       const char *proto, uint32_t timeout_ms,
                                       swarm_stream_cb cb, void *arg, int *err)
{
    if (!swarm__conn_for(sw, relay) && transport->len)
        swarm__dial(sw, relay, transport, 1);
    return swarm_stream_open(sw, relay, &proto, 1, timeout_ms, cb, arg, err);
}

int swarm__relay_dial(struct swarm_dial *d, const struct multiaddr *ma)
{
    struct swarm *sw = d->sw;
    struct swarm_relay_dial *rd;
    struct multiaddr transport;
    struct peer_id relay, target;
    bool has_target;
    struct buf out;
    int err = 0;

    if (relay_circuit_split(ma, &transport, &relay, &has_target, &target))
        return FASTN_ERR_UNSUPPORTED;
    if (peer_id_equal(&relay, &d->peer) ||
        peer_id_equal(&relay, &sw->identity->id))
        return FASTN_ERR_UNSUPPORTED;
    if (!(rd = calloc(1, sizeof(*rd))))
        return FASTN_ERR_NOMEM;
    rd->addr = *ma;
    lp_reader_init(&rd->lp, RELAY_MAX_MSG);
    buf_init(&out, 256);
    if ((err = relay_connect_encode(&d->peer, &out)) == 0 &&
        !(rd->st = relay_open(sw, &relay, &transport, RELAY_HOP_PROTOCOL_ID,
                              swarm__dial_step_timeout(d), rdial_cb, rd, &err)))
        err = err ? err : FASTN_ERR_NET_RELAY_FAILED;
    if (err) {
        buf_cleanup(&out);
        lp_reader_cleanup(&rd->lp);
        free(rd);
        return err;
    }
    swarm_stream_write(rd->st, out.data, out.len);
    buf_cleanup(&out);
    rd->d = d;
    d->relay = rd;
    return 0;
}

/* --- accepting a relayed connection (stop) --------------------------------
 */

struct relay_stop {
    struct swarm_relay *rl;
    struct lp_reader lp;
};

static void stop_cb(struct swarm_stream *st,
                    const struct swarm_stream_event *ev, void *arg)
{
    struct relay_stop *s = arg;
    struct swarm_relay *rl = s->rl;
    struct relay_limit lim;
    struct peer_id src;
    struct multiaddr remote;
    const uint8_t *msg;
    struct buf out;
    size_t used, len;
    int rc;

    if (ev->type == SWARM_STREAM_CLOSED)
        goto out_free;
    if (ev->type == SWARM_STREAM_FIN) { /* ended before its CONNECT */
        swarm_stream_reset(st);
        goto out_free;
    }
    if (ev->type != SWARM_STREAM_DATA)
        return;
    rc = lp_reader_next(&s->lp, ev->data, ev->len, &used, &msg, &len);
    swarm_stream_consumed(st, used);
    if (rc == 0)
        return;
    if (rc < 0) {
        swarm_stream_reset(st);
        goto out_free;
    }
    buf_init(&out, 256);
    rc = relay_client_stop(&rl->client, &st->peer, msg, len, swarm__now_us(),
                           &src, &lim, &out);
    swarm_stream_write(st, out.data, out.len);
    buf_cleanup(&out);
    if (!rc && st->sc &&
        relay_circuit_addr(&st->sc->remote, &st->peer, &src, &remote))
        rc = FASTN_ERR_TOO_LARGE;
    if (rc) {
        swarm_stream_close(st);
        goto out_free_keep;
    }
    if (relayed_conn(st, true, &src, &remote, &lim, ev->data + used,
                     ev->len - used, NULL))
        swarm_stream_reset(st);
out_free:
    lp_reader_cleanup(&s->lp);
    free(s);
    return;
out_free_keep: /* the stream ends after the refusal: nothing more to read */
    swarm_stream_set_cb(st, NULL, NULL);
    goto out_free;
}

/* --- reservations ---------------------------------------------------------
 */

struct relay_rsv_req {
    struct swarm_relay *rl;
    struct peer_id relay;
    struct lp_reader lp;
    bool answered;
};

/* Once per backoff step: the relay, why, and when it is asked again. */
static void rsv_log_failure(struct swarm_relay *rl, const struct peer_id *relay,
                            int err)
{
    const struct relay_rsv *r = relay_client_find(&rl->client, relay);
    char pid[PEER_ID_STR_MAX];
    uint64_t now = swarm__now_us(), in_ms;

    if (!r || r->state != RELAY_RSV_BACKOFF)
        return;
    in_ms = r->retry_at > now ? (r->retry_at - now) / 1000 : 0;
    if (r->last_status && err == relay_status_error(r->last_status))
        log_msg(
            LOG_INFO, "net",
            "relay %s refused a reservation: %s; asked again in %llu.%03llu "
            "s (refusal %u in a row)",
            peer_id_format(relay, pid), relay_status_name(r->last_status),
            (unsigned long long)(in_ms / 1000),
            (unsigned long long)(in_ms % 1000), r->failures);
    else
        log_msg(LOG_INFO, "net",
                "relay %s: no reservation: %s; asked again in %llu.%03llu s "
                "(failure %u in a row)",
                peer_id_format(relay, pid), fastn_strerror(err),
                (unsigned long long)(in_ms / 1000),
                (unsigned long long)(in_ms % 1000), r->failures);
}

static void rsv_cb(struct swarm_stream *st, const struct swarm_stream_event *ev,
                   void *arg)
{
    struct relay_rsv_req *q = arg;
    struct swarm_relay *rl = q->rl;
    char pid[PEER_ID_STR_MAX];
    const uint8_t *msg;
    size_t len;
    int rc;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        rc = swarm__stream_lp_data(st, ev, &q->lp, q->answered, &msg, &len);
        if (rc == 0)
            break;
        q->answered = true;
        rc = msg ? relay_client_reserved(&rl->client, &q->relay, msg, len,
                                         swarm__now_us(), unix_now())
                 : FASTN_ERR_NET_BAD_MESSAGE;
        if (rc == 0) {
            log_msg(LOG_INFO, "net", "relay %s: reservation held",
                    peer_id_format(&q->relay, pid));
            swarm_protocols_changed(rl->sw); /* new circuit addresses */
        } else {
            if (!msg)
                relay_client_failed(&rl->client, &q->relay, swarm__now_us());
            rsv_log_failure(rl, &q->relay, rc);
        }
        swarm_stream_close(st);
        break;
    case SWARM_STREAM_FIN:
        swarm_stream_close(st);
        break;
    case SWARM_STREAM_CLOSED:
        if (!q->answered) {
            relay_client_failed(&rl->client, &q->relay, swarm__now_us());
            rsv_log_failure(rl, &q->relay,
                            ev->err ? ev->err : FASTN_ERR_NET_RESET);
        }
        lp_reader_cleanup(&q->lp);
        free(q);
        relay_kick(rl);
        break;
    default:
        break;
    }
}

static const struct multiaddr *relay_transport(const struct swarm_relay *rl,
                                               const struct peer_id *relay)
{
    for (size_t i = 0; i < rl->n_relays; i++)
        if (peer_id_equal(&rl->relays[i].id, relay))
            return &rl->relays[i].transport;
    return NULL;
}

static void rsv_send(struct swarm_relay *rl, const struct peer_id *relay,
                     struct buf *msg)
{
    const struct multiaddr *tr = relay_transport(rl, relay);
    struct multiaddr none = {0};
    struct relay_rsv_req *q = calloc(1, sizeof(*q));
    struct swarm_stream *st;
    int err = 0;

    if (!q) {
        relay_client_failed(&rl->client, relay, swarm__now_us());
        rsv_log_failure(rl, relay, FASTN_ERR_NOMEM);
        return;
    }
    q->rl = rl;
    q->relay = *relay;
    lp_reader_init(&q->lp, RELAY_MAX_MSG);
    st = relay_open(rl->sw, relay, tr ? tr : &none, RELAY_HOP_PROTOCOL_ID,
                    rl->sw->cfg.handshake_timeout_ms, rsv_cb, q, &err);
    if (!st) {
        lp_reader_cleanup(&q->lp);
        free(q);
        relay_client_failed(&rl->client, relay, swarm__now_us());
        rsv_log_failure(rl, relay, err ? err : FASTN_ERR_NET_RESET);
        return;
    }
    swarm_stream_set_timeout(st, 20000);
    swarm_stream_write(st, msg->data, msg->len);
}

static void on_relay_timer(uv_timer_t *t)
{
    relay_kick(t->data);
}

static void relay_kick(struct swarm_relay *rl)
{
    struct swarm *sw = rl->sw;
    struct swarm_reach_info ri;
    uint64_t now = swarm__now_us(), next, delay = RELAY_SERVICE_TICK_MS;
    struct peer_id relay;
    struct buf out;

    if (sw->closing)
        return;
    if (rl->service_on)
        relay_service_tick(&rl->service, now);
    swarm_reach_get(sw, &ri);
    /* configured relays unless public; found ones once private */
    rl->reserving = rl->n_config
                        ? strcmp(ri.reachability, "public") != 0
                        : rl->n_relays && !strcmp(ri.reachability, "private");
    buf_init(&out, RELAY_MAX_MSG);
    while (rl->reserving && relay_client_poll(&rl->client, now, &relay, &out)) {
        rsv_send(rl, &relay, &out);
        out.len = 0;
    }
    buf_cleanup(&out);
    if (rl->reserving) {
        next = relay_client_next_deadline(&rl->client);
        if (next > now && (next - now) / 1000 < delay)
            delay = (next - now) / 1000;
        else if (next <= now)
            delay = 100; /* a request is in flight */
    }
    uv_timer_start(&rl->timer, on_relay_timer, delay ? delay : 1, 0);
}

/* Drops the candidates found among connected peers. */
static void found_drop_all(struct swarm_relay *rl)
{
    while (rl->n_relays > rl->n_config) {
        rl->n_relays--;
        relay_client_remove(&rl->client, &rl->relays[rl->n_relays].id);
    }
}

int swarm_relay_add(struct swarm *sw, const struct multiaddr *addr)
{
    struct swarm_relay *rl = sw->relay;
    struct multiaddr transport;
    struct peer_id id;
    int err;

    if (multiaddr_get_peer(addr, &id) != 0)
        return FASTN_ERR_BAD_MULTIADDR;
    found_drop_all(rl); /* configured relays take their place */
    err = relay_client_add(&rl->client, &id);
    if (err)
        return err;
    memset(&transport, 0, sizeof(transport));
    /* the address without its /p2p: what to dial */
    {
        struct multiaddr_comp c;
        size_t off = 0;
        while (multiaddr_next(addr, &off, &c) == 1)
            if (c.code != MA_P2P &&
                multiaddr_append(&transport, c.code, c.value, c.len))
                break;
    }
    rl->relays[rl->n_relays].id = id;
    rl->relays[rl->n_relays].found = false;
    rl->relays[rl->n_relays++].transport = transport;
    rl->n_config++;
    uv_timer_start(&rl->timer, on_relay_timer, 1, 0);
    return 0;
}

void swarm__relay_identified(struct swarm_conn *sc)
{
    struct swarm *sw = sc->sw;
    struct swarm_relay *rl = sw->relay;
    char pid[PEER_ID_STR_MAX];

    if (!rl || sw->closing || rl->n_config || sc->limited || !sc->ready ||
        rl->n_relays >= RELAY_CLIENT_MAX || relay_transport(rl, &sc->peer) ||
        !sc->n_protos || !swarm__conn_may_serve(sc, RELAY_HOP_PROTOCOL_ID))
        return;
    if (relay_client_add(&rl->client, &sc->peer))
        return;
    /* no transport: a connection is up, and the address book has more */
    memset(&rl->relays[rl->n_relays], 0, sizeof(rl->relays[0]));
    rl->relays[rl->n_relays].id = sc->peer;
    rl->relays[rl->n_relays++].found = true;
    log_msg(LOG_INFO, "net", "relay candidate %s: a connected peer serving hop",
            peer_id_format(&sc->peer, pid));
    relay_kick(rl);
}

void swarm__relay_reach_changed(struct swarm *sw)
{
    if (sw->relay && !sw->closing)
        relay_kick(sw->relay);
}

/* A candidate found among connected peers whose last connection closed
 * stops being one (its reservation went with it). */
static bool found_gone(struct swarm_relay *rl, const struct peer_id *peer)
{
    for (size_t i = rl->n_config; i < rl->n_relays; i++) {
        if (!peer_id_equal(&rl->relays[i].id, peer))
            continue;
        relay_client_remove(&rl->client, peer);
        memmove(&rl->relays[i], &rl->relays[i + 1],
                (rl->n_relays - i - 1) * sizeof(rl->relays[0]));
        rl->n_relays--;
        return true;
    }
    return false;
}

size_t swarm__relay_addrs(const struct swarm *sw, struct multiaddr *out,
                          size_t max)
{
    const struct swarm_relay *rl = sw->relay;

    size_t n;

    if (!rl || !rl->n_relays)
        return 0;
    n = relay_client_addrs(&rl->client, swarm__now_us(), out, max);
    /* advertised as listen addresses are: without our own /p2p */
    for (size_t i = 0; i < n; i++) {
        struct multiaddr t = {0};
        struct multiaddr_comp c;
        size_t off = 0;
        while (multiaddr_next(&out[i], &off, &c) == 1 &&
               !(c.code == MA_P2P && off == out[i].len))
            if (multiaddr_append(&t, c.code, c.value, c.len))
                break;
        out[i] = t;
    }
    return n;
}

void swarm__relay_peer_gone(struct swarm *sw, const struct peer_id *peer)
{
    struct swarm_relay *rl = sw->relay;

    if (!rl || sw->closing)
        return;
    if (rl->service_on)
        relay_service_peer_gone(&rl->service, peer);
    if (found_gone(rl, peer)) {
        swarm_protocols_changed(sw);
        relay_kick(rl);
    } else if (relay_transport(rl, peer)) {
        relay_client_relay_lost(&rl->client, peer, swarm__now_us());
        swarm_protocols_changed(sw);
        relay_kick(rl);
    }
}

bool swarm__relay_keep(const struct swarm_conn *sc)
{
    const struct swarm_relay *rl = sc->sw->relay;
    uint64_t now = swarm__now_us();

    if (!rl || !sc->ready)
        return false;
    if (rl->service_on &&
        relay_service_has_reservation(&rl->service, &sc->peer, now))
        return true;
    for (size_t i = 0; i < rl->client.n; i++)
        if (peer_id_equal(&rl->client.r[i].relay, &sc->peer) &&
            (rl->client.r[i].state == RELAY_RSV_ACTIVE ||
             rl->client.r[i].state == RELAY_RSV_PENDING))
            return true;
    return false;
}

void swarm_relay_get(const struct swarm *sw, struct swarm_relay_info *out)
{
    const struct swarm_relay *rl = sw->relay;
    uint64_t now = swarm__now_us();

    memset(out, 0, sizeof(*out));
    if (!rl)
        return;
    out->service = rl->service_on;
    out->candidates = rl->n_relays;
    for (size_t i = rl->n_config; i < rl->n_relays && out->n_found < 8; i++)
        out->found[out->n_found++] = rl->relays[i].id;
    out->reservations = relay_client_active(&rl->client, now);
    if (rl->service_on) {
        out->served_reservations = rl->service.n_rsv;
        out->circuits = rl->service.n_circuits;
    }
}

/* --- the service: hop streams and circuits --------------------------------
 */

struct circuit {
    struct swarm_relay *rl;
    struct relay_circuit *c;
    struct swarm_stream *s[2]; /* 0: the source's hop, 1: the target's stop */
    struct buf pend[2];        /* bytes for s[i] it did not take yet */
    size_t owed[2];            /* ... consumed from s[1 - i] once taken */
    bool fin[2];               /* s[i] finished: close s[1 - i] once flushed */
};

static void circuit_maybe_free(struct circuit *k)
{
    if (k->s[0] || k->s[1])
        return;
    relay_service_circuit_end(&k->rl->service, k->c);
    buf_cleanup(&k->pend[0]);
    buf_cleanup(&k->pend[1]);
    free(k);
}

static void circuit_reset(struct circuit *k)
{
    for (int i = 0; i < 2; i++) {
        if (k->s[i])
            swarm_stream_reset(k->s[i]);
        k->s[i] = NULL;
    }
    circuit_maybe_free(k);
}

/* Writes pend[i] to s[i]; true when empty. */
static bool circuit_flush(struct circuit *k, int i)
{
    int n;

    if (!k->pend[i].len || !k->s[i])
        return true;
    n = swarm_stream_write(k->s[i], k->pend[i].data, k->pend[i].len);
    if (n < 0)
        return false;
    memmove(k->pend[i].data, k->pend[i].data + n, k->pend[i].len - (size_t)n);
    k->pend[i].len -= (size_t)n;
    if (k->s[1 - i]) {
        size_t c = (size_t)n < k->owed[i] ? (size_t)n : k->owed[i];
        swarm_stream_consumed(k->s[1 - i], c);
        k->owed[i] -= c;
    }
    if (k->pend[i].len == 0 && k->fin[1 - i])
        swarm_stream_close(k->s[i]);
    return k->pend[i].len == 0;
}

/* n bytes arrived on s[i] for s[1 - i]. */
static void circuit_data(struct circuit *k, int i, const uint8_t *p, size_t n)
{
    int o = 1 - i, ok = relay_circuit_pass(k->c, i, n, swarm__now_us());

    if (ok < 0 || (size_t)ok < n || !k->s[o] || buf_append(&k->pend[o], p, n)) {
        char pid[PEER_ID_STR_MAX];
        LOG_RATELIMITED(
            LOG_INFO, "net", "relay: circuit for %s ended: %s",
            peer_id_format(&k->c->dst, pid),
            fastn_strerror(ok < 0 ? ok : FASTN_ERR_NET_RELAY_LIMIT));
        circuit_reset(k);
        return;
    }
    k->owed[o] += n;
    circuit_flush(k, o);
}

static void circuit_cb(struct swarm_stream *st,
                       const struct swarm_stream_event *ev, void *arg)
{
    struct circuit *k = arg;
    int i = st == k->s[0] ? 0 : 1;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        circuit_data(k, i, ev->data, ev->len);
        break;
    case SWARM_STREAM_FIN:
        k->fin[i] = true;
        if (k->s[1 - i] && !k->pend[1 - i].len)
            swarm_stream_close(k->s[1 - i]);
        break;
    case SWARM_STREAM_WRITABLE:
        circuit_flush(k, i);
        break;
    case SWARM_STREAM_CLOSED:
        k->s[i] = NULL;
        if (ev->err && k->s[1 - i]) {
            swarm_stream_reset(k->s[1 - i]);
            k->s[1 - i] = NULL;
        }
        circuit_maybe_free(k);
        break;
    default:
        break;
    }
}

struct hop_serve {
    struct swarm_relay *rl;
    struct swarm_stream *hop, *stop;
    struct lp_reader lp, slp;
    struct relay_circuit *c;
    struct buf early; /* source bytes after its CONNECT, before the splice */
};

static void hop_free(struct hop_serve *h)
{
    lp_reader_cleanup(&h->lp);
    lp_reader_cleanup(&h->slp);
    buf_cleanup(&h->early);
    free(h);
}

static void hop_cb(struct swarm_stream *st, const struct swarm_stream_event *ev,
                   void *arg);

/* Both streams agreed: splice them. rest: stop-stream bytes after the
 * target's answer. */
static void hop_splice(struct hop_serve *h, const uint8_t *rest, size_t n)
{
    struct circuit *k = calloc(1, sizeof(*k));
    uint32_t ms = h->c->deadline == UINT64_MAX
                      ? 0
                      : (uint32_t)((h->c->deadline - swarm__now_us()) / 1000);

    if (!k) {
        swarm_stream_reset(h->hop);
        swarm_stream_reset(h->stop);
        relay_service_circuit_end(&h->rl->service, h->c);
        hop_free(h);
        return;
    }
    k->rl = h->rl;
    k->c = h->c;
    k->s[0] = h->hop;
    k->s[1] = h->stop;
    buf_init(&k->pend[0], RELAY_PEND_MAX);
    buf_init(&k->pend[1], RELAY_PEND_MAX);
    swarm_stream_set_cb(h->hop, circuit_cb, k);
    swarm_stream_set_cb(h->stop, circuit_cb, k);
    if (ms) {
        swarm_stream_set_timeout(h->hop, ms);
        swarm_stream_set_timeout(h->stop, ms);
    }
    /* consumed once passed on (circuit_flush) */
    if (h->early.len)
        circuit_data(k, 0, h->early.data, h->early.len);
    if (n && k->s[1])
        circuit_data(k, 1, rest, n);
    hop_free(h);
}

static void hop_stop_cb(struct swarm_stream *st,
                        const struct swarm_stream_event *ev, void *arg)
{
    struct hop_serve *h = arg;
    const uint8_t *msg = NULL;
    size_t used = 0, len = 0;
    struct buf out;
    int rc = 0;

    if (ev->type == SWARM_STREAM_DATA) {
        rc = lp_reader_next(&h->slp, ev->data, ev->len, &used, &msg, &len);
        if (rc == 0) {
            swarm_stream_consumed(st, used);
            return;
        }
        if (rc == 1)
            swarm_stream_consumed(st, used);
    } else if (ev->type != SWARM_STREAM_FIN &&
               ev->type != SWARM_STREAM_CLOSED) {
        return;
    }
    buf_init(&out, 256);
    rc = relay_service_stop_result(&h->rl->service, h->c, msg, len,
                                   swarm__now_us(), &out);
    swarm_stream_write(h->hop, out.data, out.len);
    buf_cleanup(&out);
    if (rc == 0 && msg) {
        hop_splice(h, ev->data + used, ev->len - used);
        return;
    }
    if (ev->type != SWARM_STREAM_CLOSED)
        swarm_stream_reset(st);
    swarm_stream_close(h->hop);
    swarm_stream_set_cb(h->hop, NULL, NULL);
    hop_free(h);
}

/* A hop message from the stream's peer. */
static void hop_request(struct hop_serve *h, const uint8_t *msg, size_t len,
                        const uint8_t *rest, size_t n_rest)
{
    struct swarm_relay *rl = h->rl;
    struct swarm *sw = rl->sw;
    struct multiaddr adv[SWARM_MAX_LISTEN];
    uint8_t ip[16];
    size_t ip_len = h->hop->sc ? swarm__conn_remote_ip(h->hop->sc, ip) : 0;
    size_t k = swarm_advertised_addrs(sw, adv, SWARM_MAX_LISTEN);
    const char *stop = RELAY_STOP_PROTOCOL_ID;
    uint64_t refused = rl->service.refused;
    char pid[PEER_ID_STR_MAX];
    struct buf out;
    int rc, err = 0;

    for (size_t i = 0; i < k; i++)
        multiaddr_append_peer(&adv[i], &sw->identity->id);
    relay_service_set_addrs(&rl->service, adv, k);
    buf_init(&out, RELAY_MAX_MSG);
    rc = relay_service_hop(&rl->service, &h->hop->peer, ip, ip_len, msg, len,
                           swarm__now_us(), unix_now(), &h->c, &out);
    if (rl->service.refused != refused)
        log_msg(LOG_DEBUG, "net",
                "relay: refused a reservation to %s (%llu refused in all)",
                peer_id_format(&h->hop->peer, pid),
                (unsigned long long)rl->service.refused);
    if (rc == RELAY_ACT_STOP) {
        out.len = 0;
        relay_service_stop_encode(&rl->service, h->c, &out);
        h->stop = swarm_stream_open(sw, &h->c->dst, &stop, 1, 10000,
                                    hop_stop_cb, h, &err);
        if (h->stop) {
            swarm_stream_write(h->stop, out.data, out.len);
            buf_append(&h->early, rest, n_rest);
            buf_cleanup(&out);
            return;
        }
        out.len = 0;
        relay_service_stop_result(&rl->service, h->c, NULL, 0, swarm__now_us(),
                                  &out);
    }
    if (rc >= 0)
        swarm_stream_write(h->hop, out.data, out.len);
    buf_cleanup(&out);
    swarm_stream_close(h->hop);
    swarm_stream_set_cb(h->hop, NULL, NULL);
    hop_free(h);
}

static void hop_cb(struct swarm_stream *st, const struct swarm_stream_event *ev,
                   void *arg)
{
    struct hop_serve *h = arg;
    const uint8_t *msg;
    size_t used, len;
    int rc;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        if (h->stop) { /* the source writes before the answer: keep it */
            if (buf_append(&h->early, ev->data, ev->len)) {
                swarm_stream_reset(h->stop);
                relay_service_circuit_end(&h->rl->service, h->c);
                swarm_stream_reset(st);
                hop_free(h);
            }
            break;
        }
        rc = lp_reader_next(&h->lp, ev->data, ev->len, &used, &msg, &len);
        swarm_stream_consumed(st, used);
        if (rc < 0) {
            swarm_stream_reset(st);
            hop_free(h);
        } else if (rc == 1) {
            hop_request(h, msg, len, ev->data + used, ev->len - used);
        }
        break;
    case SWARM_STREAM_CLOSED:
        if (h->stop) {
            swarm_stream_reset(h->stop);
            relay_service_circuit_end(&h->rl->service, h->c);
        }
        hop_free(h);
        break;
    default:
        break;
    }
}

bool swarm__relay_take(struct swarm_stream *st)
{
    struct swarm_relay *rl = st->sw->relay;

    if (!rl)
        return false;
    if (!strcmp(st->protocol, RELAY_STOP_PROTOCOL_ID)) {
        struct relay_stop *s = calloc(1, sizeof(*s));
        if (!s)
            return false;
        s->rl = rl;
        lp_reader_init(&s->lp, RELAY_MAX_MSG);
        swarm_stream_set_cb(st, stop_cb, s);
        swarm_stream_set_timeout(st, 20000);
        return true;
    }
    if (rl->service_on && !strcmp(st->protocol, RELAY_HOP_PROTOCOL_ID) &&
        st->sc && !st->sc->limited) {
        struct hop_serve *h = calloc(1, sizeof(*h));
        if (!h)
            return false;
        h->rl = rl;
        h->hop = st;
        lp_reader_init(&h->lp, RELAY_MAX_MSG);
        lp_reader_init(&h->slp, RELAY_MAX_MSG);
        buf_init(&h->early, RELAY_EARLY_MAX);
        swarm_stream_set_cb(st, hop_cb, h);
        return true;
    }
    return false;
}

bool swarm__limited_allows(const char *protocol)
{
    static const char *const direct_only[] = {
        "/perf/1.0.0",
        "/libp2p/autonat/1.0.0",
        RELAY_HOP_PROTOCOL_ID,
    };

    for (size_t i = 0; i < sizeof(direct_only) / sizeof(direct_only[0]); i++)
        if (!strcmp(protocol, direct_only[i]))
            return false;
    return true;
}

bool swarm__relay_serves(const struct swarm *sw)
{
    return sw->relay && sw->relay->service_on;
}

/* --- life -----------------------------------------------------------------
 */

int swarm__relay_new(struct swarm *sw)
{
    struct swarm_relay *rl = calloc(1, sizeof(*rl));
    struct relay_client_config cc;
    struct relay_service_config sc;
    int err;

    if (!rl)
        return FASTN_ERR_NOMEM;
    rl->sw = sw;
    relay_client_config_default(&cc);
    cc.policy.allow_loopback = cc.policy.allow_private = sw->cfg.reach_private;
    if (sw->cfg.relay_retry_first_ms)
        cc.retry_first_us = sw->cfg.relay_retry_first_ms * 1000ull;
    if (sw->cfg.relay_refused_first_ms)
        cc.refused_first_us = sw->cfg.relay_refused_first_ms * 1000ull;
    relay_client_init(&rl->client, &cc, &sw->identity->id);
    if (sw->cfg.relay_service) {
        relay_service_config_default(&sc);
        if (sw->cfg.relay_duration_s)
            sc.limit_duration_s = sw->cfg.relay_duration_s;
        if (sw->cfg.relay_data)
            sc.limit_data = sw->cfg.relay_data;
        if (sw->cfg.relay_reservations_set)
            sc.max_reservations = sw->cfg.relay_reservations;
        err = relay_service_init(&rl->service, &sc, sw->identity);
        if (err) {
            free(rl);
            return err;
        }
        rl->service_on = true;
    }
    uv_timer_init(sw->loop, &rl->timer);
    rl->timer.data = rl;
    if (rl->service_on)
        uv_timer_start(&rl->timer, on_relay_timer, RELAY_SERVICE_TICK_MS, 0);
    sw->relay = rl;
    return 0;
}

void swarm__relay_close(struct swarm *sw)
{
    if (sw->relay)
        uv_close((uv_handle_t *)&sw->relay->timer, NULL);
}

void swarm__relay_free(struct swarm *sw)
{
    if (!sw->relay)
        return;
    if (sw->relay->service_on)
        relay_service_cleanup(&sw->relay->service);
    free(sw->relay);
    sw->relay = NULL;
}
