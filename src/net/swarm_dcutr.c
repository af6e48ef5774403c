/*
 * DCUtR hole punching (`/libp2p/dcutr`, net/dcutr.h) on real streams and
 * sockets: a relayed (limited) connection moves to a direct one.
 *
 *  - Initiator: the peer that received the relayed connection opens a
 *    dcutr stream on it once identify says the other side serves the
 *    protocol, once per connection.
 *  - Responder: an incoming dcutr stream on a limited connection.
 *  - Our addresses: the IPs peers observe us at (identify's observedAddr,
 *    AutoNAT's public address) with our listen port, since the dials
 *    below leave from that port (a port-preserving NAT maps it to the
 *    same port outside), then the observed and listen addresses as they
 *    are.
 *  - Dialing (DCUTR_EV_DIAL): every address at once, each from a socket
 *    bound to our listen port with SO_REUSEPORT (set on the listener too)
 *    so that both SYNs cross (TCP simultaneous open). The Noise roles do
 *    not follow who connected: the DCUtR initiator is the Noise
 *    initiator, the responder acts as the listener, as go-libp2p does;
 *    with js-libp2p (its agent version), which dials as the Noise
 *    initiator in both roles, we act as the listener (punch_as_listener).
 *  - Outcome: a ready direct connection to the peer within
 *    PUNCH_WINDOW_MS is success (the relayed one loses the duplicate
 *    resolution, drains and closes once unused: the grace period);
 *    otherwise the attempts are closed and the initiator tries again,
 *    DCUTR_ATTEMPTS in all.
 */
#include "net/swarm_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fastn/err.h"
#include "net/dcutr.h"
#include "util/log.h"

#define PUNCH_WINDOW_MS 4000 /* a lost SYN is sent again after 1 s, 3 s */
#define PUNCH_CHECK_MS 50
#define PUNCH_STREAM_TIMEOUT_MS 45000
#define PUNCH_OURS_MAX ADDR_LIST_MAX

struct punch {
    struct swarm *sw;
    struct swarm_stream *st;
    struct peer_id peer;
    struct dcutr d;
    uv_timer_t timer;
    bool dialing, ended;
    uint64_t dial_until;
};

struct punch_connect {
    uv_connect_t req;
    struct swarm_conn *sc;
};

static void punch_arm(struct punch *p);

/* --- our addresses ----------------------------------------------------------
 */

static bool have(const struct multiaddr *v, size_t n, const struct multiaddr *m)
{
    for (size_t i = 0; i < n; i++)
        if (multiaddr_equal(&v[i], m))
            return true;
    return false;
}

/* Adds m unless known or loopback (a peer elsewhere cannot reach it),
 * without a trailing /p2p (an observed address may carry ours): the spec
 * sends observed addresses, and js-libp2p refuses to dial a list that
 * mixes addresses with and without a /p2p ("Multiaddrs must all have the
 * same peer id or have no peer id"), failing the whole attempt. */
static void put(struct multiaddr *v, size_t *n, const struct multiaddr *m)
{
    struct multiaddr_tcp t;
    struct multiaddr bare = *m;

    if (multiaddr_to_tcp(m, &t) == 0 && t.has_peer &&
        (t.host_code == MA_IP4 || t.host_code == MA_IP6) &&
        multiaddr_from_ip_tcp(&bare, t.ip, t.host_code == MA_IP4 ? 4 : 16,
                              t.port) != 0)
        return;
    if (*n < PUNCH_OURS_MAX && !have(v, *n, &bare) &&
        addr_scope_of(&bare) != ADDR_SCOPE_LOOPBACK)
        v[(*n)++] = bare;
}

/* The port of our first listener of family (0: none). */
static uint16_t listen_port(const struct swarm *sw, int family)
{
    struct multiaddr_tcp t;

    for (size_t i = 0; i < sw->n_listeners; i++)
        if (sw->listeners[i]->family == family &&
            multiaddr_to_tcp(&sw->listeners[i]->addr, &t) == 0)
            return t.port;
    return 0;
}

/* a with its port replaced by our listen port of its family. */
static void put_at_listen_port(const struct swarm *sw,
                               const struct multiaddr *a, struct multiaddr *v,
                               size_t *n)
{
    struct multiaddr_tcp t;
    struct multiaddr m;
    size_t len;
    uint16_t port;

    if (multiaddr_to_tcp(a, &t) != 0)
        return;
    if (t.host_code != MA_IP4 && t.host_code != MA_IP6)
        return;
    len = t.host_code == MA_IP4 ? 4 : 16;
    port = listen_port(sw, len == 4 ? AF_INET : AF_INET6);
    if (port && multiaddr_from_ip_tcp(&m, t.ip, len, port) == 0)
        put(v, n, &m);
}

static size_t our_addrs(const struct swarm *sw, struct multiaddr *out)
{
    struct swarm_reach_info ri;
    struct multiaddr tmp[SWARM_MAX_LISTEN];
    size_t n = 0, k;

    swarm_reach_get(sw, &ri);
    for (size_t i = 0; i < ri.n_public; i++)
        put_at_listen_port(sw, &ri.public_addrs[i], out, &n);
    for (size_t i = 0; i < ri.n_observed; i++)
        put_at_listen_port(sw, &ri.observed[i], out, &n);
    for (size_t i = 0; i < ri.n_public; i++)
        put(out, &n, &ri.public_addrs[i]);
    for (size_t i = 0; i < ri.n_observed; i++)
        put(out, &n, &ri.observed[i]);
    k = swarm_listen_addrs(sw, tmp, SWARM_MAX_LISTEN);
    for (size_t i = 0; i < k; i++)
        put(out, &n, &tmp[i]);
    return n;
}

/* --- dialing from the listen port -------------------------------------------
 */

static void on_punch_connect(uv_connect_t *req, int status)
{
    struct punch_connect *pc = (struct punch_connect *)req;
    struct swarm_conn *sc = pc->sc;

    free(pc);
    if (sc->closing)
        return;
    if (status < 0) {
        log_msg(LOG_DEBUG, "net", "hole punch dial: %s", uv_strerror(status));
        swarm__conn_fail(sc, FASTN_ERR_NET_UNREACHABLE);
        return;
    }
    swarm__conn_start(sc);
}

/* A non-blocking socket bound to the address our listener of family is
 * bound to (its port), with SO_REUSEPORT there and on the listener. */
static int bound_socket(struct swarm *sw, int family)
{
    struct sockaddr_storage ss;
    int one = 1, len = sizeof(ss), fd;
    uv_os_fd_t lfd;

    for (size_t i = 0; i < sw->n_listeners; i++) {
        struct swarm_listener *l = sw->listeners[i];
        if (l->family != family)
            continue;
        if (uv_fileno((uv_handle_t *)&l->tcp, &lfd) != 0 ||
            uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len) != 0)
            return -1;
        setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
            bind(fd, (struct sockaddr *)&ss, (socklen_t)len) != 0) {
            close(fd);
            return -1;
        }
        return fd;
    }
    return -1;
}

static int to_sockaddr(const struct multiaddr *ma, struct sockaddr_storage *ss)
{
    struct multiaddr_tcp t;

    memset(ss, 0, sizeof(*ss));
    if (multiaddr_to_tcp(ma, &t) != 0)
        return -1;
    if (t.host_code == MA_IP4) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(t.port);
        memcpy(&a->sin_addr, t.ip, 4);
        return AF_INET;
    }
    if (t.host_code == MA_IP6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(t.port);
        memcpy(&a->sin6_addr, t.ip, 16);
        return AF_INET6;
    }
    return -1;
}

/* The peer's agent version (identify) names js-libp2p. */
static bool peer_is_js(struct swarm *sw, const struct peer_id *peer)
{
    struct swarm_peer *pe = swarm__peer_find(sw, peer);

    for (struct swarm_conn *sc = pe ? pe->conns : NULL; sc; sc = sc->pnext)
        if (strncmp(sc->agent, "js-libp2p/", 10) == 0)
            return true;
    return false;
}

/* Whether our hole-punch dials take the listener's part in Noise and
 * yamux (both sides dialed: TCP says nothing about it; the spec is
 * silent). go- and rust-libp2p make the DCUtR initiator (B, who received
 * the relayed connection) the dialer and the responder the listener, and
 * so do we. js-libp2p dials as the dialer on both sides: @libp2p/dcutr
 * 3.0.28 asks B's dial for `initiator: false`, but libp2p 3.3.11's dial
 * queue hands the transport its own options, without that one; so with
 * js-libp2p (its agent version) we are the listener either way. */
static bool punch_as_listener(struct punch *p)
{
    return p->d.role == DCUTR_RESPONDER || peer_is_js(p->sw, &p->peer);
}

/* One dial of the punch; the connection belongs to the swarm. */
static int punch_dial_one(struct punch *p, const struct multiaddr *ma)
{
    struct swarm *sw = p->sw;
    struct sockaddr_storage ss;
    struct punch_connect *pc;
    struct swarm_conn *sc;
    int family = to_sockaddr(ma, &ss), fd;

    if (family < 0 || (fd = bound_socket(sw, family)) < 0) {
        log_msg(LOG_DEBUG, "net", "hole punch socket: %s", strerror(errno));
        return FASTN_ERR_NET_UNREACHABLE;
    }
    if (!(pc = calloc(1, sizeof(*pc)))) {
        close(fd);
        return FASTN_ERR_NOMEM;
    }
    sc = swarm__conn_new(sw, punch_as_listener(p), &p->peer);
    if (!sc) {
        free(pc);
        close(fd);
        return FASTN_ERR_NOMEM;
    }
    sc->punch = true;
    pc->sc = sc;
    if (uv_tcp_open(&sc->tcp, fd) != 0) {
        close(fd);
        goto out_fail;
    }
    if (uv_tcp_connect(&pc->req, &sc->tcp, (struct sockaddr *)&ss,
                       on_punch_connect) != 0)
        goto out_fail;
    sw->stats.dials++;
    return 0;
out_fail:
    free(pc);
    swarm__conn_close(sc, FASTN_ERR_CANCELED);
    return FASTN_ERR_NET_UNREACHABLE;
}

static void punch_dial(struct punch *p, const struct dcutr_event *ev)
{
    char pid[PEER_ID_STR_MAX];
    size_t started = 0;

    for (size_t i = 0; i < ev->addrs->n && i < ADDR_LIST_MAX; i++)
        if (punch_dial_one(p, &ev->addrs->a[i]) == 0)
            started++;
    log_msg(LOG_INFO, "net", "hole punch to %s: attempt %u, %zu addresses",
            peer_id_format(&p->peer, pid), ev->attempt, started);
    p->dialing = true;
    p->dial_until = swarm__now_us() + (uint64_t)PUNCH_WINDOW_MS * 1000;
}

/* A direct connection to the peer is up. */
static bool punch_direct(const struct punch *p)
{
    struct swarm_peer *pe = swarm__peer_find(p->sw, &p->peer);

    for (struct swarm_conn *sc = pe ? pe->conns : NULL; sc; sc = sc->pnext)
        if (sc->ready && !sc->closing && !sc->limited)
            return true;
    return false;
}

/* The attempts still upgrading or connecting are given up. */
static void punch_abandon(struct punch *p)
{
    struct swarm_conn *sc, *next;

    for (sc = p->sw->conns; sc; sc = next) {
        next = sc->next;
        if (sc->punch && !sc->ready && !sc->closing &&
            peer_id_equal(&sc->expect, &p->peer))
            swarm__conn_close(sc, FASTN_ERR_TIMEOUT);
    }
}

/* --- the exchange -----------------------------------------------------------
 */

static void on_timer_closed(uv_handle_t *h)
{
    struct punch *p = h->data;

    dcutr_cleanup(&p->d);
    free(p);
}

/* A finished exchange's stream until the peer closes it too. */
static void drain_cb(struct swarm_stream *st,
                     const struct swarm_stream_event *ev, void *arg)
{
    (void)arg;
    if (ev->type == SWARM_STREAM_DATA)
        swarm_stream_consumed(st, ev->len);
}

/* Ends the exchange (its stream closed cleanly or reset); err 0: over. */
static void punch_end(struct punch *p, int err)
{
    char pid[PEER_ID_STR_MAX];

    if (p->ended)
        return;
    p->ended = true;
    if (err)
        log_msg(LOG_INFO, "net", "hole punch to %s failed: %s",
                peer_id_format(&p->peer, pid), fastn_strerror(err));
    else if (dcutr_succeeded(&p->d))
        log_msg(LOG_INFO, "net", "hole punch to %s: direct connection",
                peer_id_format(&p->peer, pid));
    if (p->dialing && !dcutr_succeeded(&p->d))
        punch_abandon(p);
    if (p->st) {
        struct swarm_stream *st = p->st;
        p->st = NULL;
        if (err) {
            swarm_stream_reset(st);
        } else {
            swarm_stream_set_cb(st, drain_cb, NULL); /* p goes now */
            swarm_stream_close(st);
        }
    }
    uv_close((uv_handle_t *)&p->timer, on_timer_closed);
}

/* Sends what the core queued. */
static void punch_flush(struct punch *p)
{
    size_t n;
    const uint8_t *o = dcutr_output(&p->d, &n);
    int took;

    /* a few hundred bytes: the stream's queue takes them */
    if (n && p->st && (took = swarm_stream_write(p->st, o, n)) > 0)
        dcutr_output_consume(&p->d, (size_t)took);
}

static void punch_after(struct punch *p, int rc, const struct dcutr_event *ev)
{
    if (rc == 1 && ev->type == DCUTR_EV_DIAL)
        punch_dial(p, ev);
    punch_flush(p);
    if (rc < 0)
        punch_end(p, rc);
    else if (dcutr_done(&p->d))
        punch_end(p, 0);
    else
        punch_arm(p);
}

static void on_punch_timer(uv_timer_t *t)
{
    struct punch *p = t->data;
    struct dcutr_event ev;
    uint64_t now = swarm__now_us();
    int rc;

    if (p->ended)
        return;
    if (p->dialing) {
        bool up = punch_direct(p);
        if (!up && now < p->dial_until) {
            punch_arm(p);
            return;
        }
        p->dialing = false;
        memset(&ev, 0, sizeof(ev));
        if (!up)
            punch_abandon(p);
        rc = dcutr_dial_done(&p->d, up, now);
        if (rc == FASTN_ERR_INVAL) /* a new CONNECT came meanwhile */
            rc = 0;
        if (rc == 0 && !p->st && !dcutr_done(&p->d))
            rc = FASTN_ERR_NET_HOLEPUNCH; /* no stream for another attempt */
        punch_after(p, rc, &ev);
        return;
    }
    memset(&ev, 0, sizeof(ev));
    rc = dcutr_tick(&p->d, now, &ev);
    punch_after(p, rc, &ev);
}

static void punch_arm(struct punch *p)
{
    uint64_t now = swarm__now_us(), at = dcutr_next_deadline(&p->d);
    uint64_t ms;

    if (p->dialing)
        ms = PUNCH_CHECK_MS;
    else if (at == UINT64_MAX)
        return;
    else
        ms = at > now ? (at - now + 999) / 1000 : 0;
    uv_timer_start(&p->timer, on_punch_timer, ms, 0);
}

static void punch_cb(struct swarm_stream *st,
                     const struct swarm_stream_event *ev, void *arg)
{
    struct punch *p = arg;
    struct dcutr_event dev;
    size_t off = 0, used;
    int rc = 0;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        swarm_stream_consumed(st, ev->len);
        while (off < ev->len && !p->ended) {
            memset(&dev, 0, sizeof(dev));
            rc = dcutr_feed(&p->d, ev->data + off, ev->len - off, &used, &dev,
                            swarm__now_us());
            off += used;
            punch_after(p, rc, &dev);
            if (rc <= 0)
                break;
        }
        break;
    case SWARM_STREAM_FIN:
        if (!dcutr_done(&p->d) && !p->dialing)
            punch_end(p, FASTN_ERR_NET_HOLEPUNCH);
        else if (p->st)
            swarm_stream_close(st);
        break;
    case SWARM_STREAM_CLOSED:
        /* while dialing, the window decides (on_punch_timer): the peer
         * ends the exchange when its own window is over, often first.
         * Not when the relayed connection itself went (disconnected,
         * reset): the punch ends now, with a direct connection if one
         * came, so no attempt outlives its connection (a later punch's
         * log would read its failure as its own). */
        p->st = NULL;
        if (p->ended || (p->dialing && st->sc && !st->sc->closing))
            break;
        if (p->dialing && punch_direct(p) &&
            dcutr_dial_done(&p->d, true, swarm__now_us()) == 0) {
            punch_end(p, 0);
            break;
        }
        punch_end(p, ev->err ? ev->err : FASTN_ERR_NET_HOLEPUNCH);
        break;
    default:
        break;
    }
}

static struct punch *punch_new(struct swarm_conn *sc, enum dcutr_role role)
{
    struct swarm *sw = sc->sw;
    struct punch *p = calloc(1, sizeof(*p));
    struct multiaddr ours[PUNCH_OURS_MAX];
    struct dcutr_config cfg;
    size_t n;

    if (!p)
        return NULL;
    memset(&cfg, 0, sizeof(cfg));
    cfg.policy.allow_loopback = sw->cfg.reach_private;
    cfg.policy.allow_private = sw->cfg.reach_private;
    n = our_addrs(sw, ours);
    p->sw = sw;
    p->peer = sc->peer;
    dcutr_init(&p->d, &cfg, role, ours, n, swarm__now_us());
    uv_timer_init(sw->loop, &p->timer);
    p->timer.data = p;
    return p;
}

/* --- entry points -----------------------------------------------------------
 */

void swarm__dcutr_identified(struct swarm_conn *sc)
{
    struct punch *p;
    char pid[PEER_ID_STR_MAX];
    int err;

    if (!sc->limited || !sc->inbound || sc->dcutr_tried || sc->closing ||
        sc->draining || !sc->protos || sc->sw->closing ||
        !swarm__conn_may_serve(sc, DCUTR_PROTOCOL_ID))
        return;
    sc->dcutr_tried = true;
    if (!(p = punch_new(sc, DCUTR_INITIATOR)))
        return;
    err = dcutr_start(&p->d, swarm__now_us());
    if (!err) {
        p->st = swarm__stream_open_on(sc, DCUTR_PROTOCOL_ID, punch_cb, p);
        if (!p->st)
            err = FASTN_ERR_NOMEM;
    }
    if (err) {
        log_msg(LOG_INFO, "net", "hole punch to %s not tried: %s",
                peer_id_format(&p->peer, pid), fastn_strerror(err));
        p->ended = true;
        uv_close((uv_handle_t *)&p->timer, on_timer_closed);
        return;
    }
    swarm_stream_set_timeout(p->st, PUNCH_STREAM_TIMEOUT_MS);
    punch_flush(p);
    punch_arm(p);
}

bool swarm__dcutr_take(struct swarm_stream *st)
{
    struct punch *p;

    /* only over a relayed connection on which we did not start one. The
     * spec retries on the same stream; js-libp2p opens a new stream for
     * each of its attempts: DCUTR_ATTEMPTS streams per connection. */
    if (!st->sc || !st->sc->limited ||
        (st->sc->dcutr_tried && !st->sc->dcutr_served) ||
        st->sc->dcutr_served >= DCUTR_ATTEMPTS)
        return false;
    if (!(p = punch_new(st->sc, DCUTR_RESPONDER)))
        return false;
    st->sc->dcutr_tried = true;
    st->sc->dcutr_served++;
    p->st = st;
    swarm_stream_set_cb(st, punch_cb, p);
    swarm_stream_set_timeout(st, PUNCH_STREAM_TIMEOUT_MS);
    punch_arm(p);
    return true;
}
