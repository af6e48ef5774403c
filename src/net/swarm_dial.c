/*
 * Dialing a peer: one dial per peer at a time (later requests add their
 * addresses to it and wait on the same outcome), trying its addresses
 * one after another: DNS names through uv_getaddrinfo, then a TCP
 * connect, then the upgrade, each attempt bounded by the handshake
 * timeout. The first attempt that upgrades wins and its address goes to
 * the address book; when every address failed, the waits for the peer get
 * the last error (unless a connection came in from the peer meanwhile).
 *
 * A dial stays allocated while a getaddrinfo request is in flight, since
 * libuv owns that request until its callback.
 */
#include "net/swarm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "net/dnsaddr.h"
#include "net/relay.h"
#include "util/log.h"

struct dial_connect {
    uv_connect_t req;
    struct swarm_conn *sc;
};

static int uv_err(int rc)
{
    switch (rc) {
    case UV_ECONNREFUSED:
        return FASTN_ERR_NET_REFUSED;
    case UV_ETIMEDOUT:
        return FASTN_ERR_TIMEOUT;
    case UV_ECANCELED:
        return FASTN_ERR_CANCELED;
    case UV_ECONNRESET:
    case UV_EPIPE:
        return FASTN_ERR_NET_RESET;
    default:
        return FASTN_ERR_NET_UNREACHABLE;
    }
}

/* The address without its /p2p component. */
static void strip_peer(const struct multiaddr *in, struct multiaddr *out)
{
    struct multiaddr_comp c;
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    while (multiaddr_next(in, &off, &c) == 1)
        if (c.code != MA_P2P && multiaddr_append(out, c.code, c.value, c.len))
            break;
}

/* A circuit address for d's peer: kept as TRANSPORT/p2p/RELAY/
 * p2p-circuit/p2p/PEER. */
static bool circuit_of(struct swarm_dial *d, const struct multiaddr *ma,
                       struct multiaddr *out)
{
    struct multiaddr transport;
    struct peer_id relay, target;
    bool has_target;

    if (relay_circuit_split(ma, &transport, &relay, &has_target, &target) ||
        (has_target && !peer_id_equal(&target, &d->peer)))
        return false;
    return relay_circuit_addr(&transport, &relay, &d->peer, out) == 0;
}

/* A /dnsaddr/HOST address (any /p2p after it must be d's peer). */
static bool dnsaddr_of(struct swarm_dial *d, const struct multiaddr *ma,
                       struct multiaddr *out)
{
    struct multiaddr_comp c;
    struct peer_id id;
    size_t off = 0;

    if (multiaddr_next(ma, &off, &c) != 1 || c.code != MA_DNSADDR)
        return false;
    if (multiaddr_get_peer(ma, &id) == 0 && !peer_id_equal(&id, &d->peer))
        return false;
    strip_peer(ma, out);
    return true;
}

static void add_addr(struct swarm_dial *d, const struct multiaddr *ma)
{
    struct multiaddr_tcp t;
    struct multiaddr plain;

    if (dnsaddr_of(d, ma, &plain)) {
        /* resolved when its turn comes */
    } else if (relay_is_circuit(ma)) {
        if (!circuit_of(d, ma, &plain))
            return;
    } else if (multiaddr_to_tcp(ma, &t) != 0) {
        return;
    } else if (t.has_peer && !peer_id_equal(&t.peer, &d->peer)) {
        return;
    } else {
        strip_peer(ma, &plain);
    }
    for (size_t i = 0; i < d->n; i++)
        if (multiaddr_equal(&d->addrs[i], &plain))
            return;
    if (d->n < sizeof(d->addrs) / sizeof(d->addrs[0]))
        d->addrs[d->n++] = plain;
}

/* Direct addresses first, circuit ones last, each in their order. */
static void direct_first(struct swarm_dial *d)
{
    struct multiaddr circ[SWARM_MAX_PEER_ADDRS * 2];
    size_t n = 0, nc = 0;

    for (size_t i = 0; i < d->n; i++)
        if (relay_is_circuit(&d->addrs[i]))
            circ[nc++] = d->addrs[i];
        else
            d->addrs[n++] = d->addrs[i];
    memcpy(&d->addrs[n], circ, nc * sizeof(*circ));
}

static void dial_free(struct swarm_dial *d)
{
    if (d->relay)
        swarm__relay_dial_abandon(d->relay);
    d->relay = NULL;
    if (d->exact)
        d->exact->dial = NULL;
    d->exact = NULL;
    *d->pprev = d->next;
    if (d->next)
        d->next->pprev = d->pprev;
    d->pprev = NULL;
    if (!d->resolving)
        free(d);
}

static void dial_next(struct swarm_dial *d);

static void dial_failed(struct swarm_dial *d)
{
    struct swarm *sw = d->sw;
    char pid[PEER_ID_STR_MAX];
    int err = d->last_err ? d->last_err : FASTN_ERR_NET_NO_ADDR;

    log_msg(LOG_DEBUG, "net", "dial %s failed: %s",
            peer_id_format(&d->peer, pid), fastn_strerror(err));
    if (d->exact)
        swarm__wait_done(d->exact, err);
    else if (!swarm__conn_for(sw, &d->peer))
        swarm__waits_complete(sw, &d->peer, err);
    dial_free(d);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct dial_connect *dc = (struct dial_connect *)req;
    struct swarm_conn *sc = dc->sc;

    free(dc);
    if (sc->closing)
        return; /* the attempt was given up (timeout, swarm closing) */
    if (status < 0) {
        swarm__conn_fail(sc, uv_err(status));
        return;
    }
    swarm__conn_start(sc);
}

static int start_connect(struct swarm_dial *d, const struct sockaddr *sa)
{
    struct swarm *sw = d->sw;
    struct dial_connect *dc = calloc(1, sizeof(*dc));
    struct swarm_conn *sc;
    int rc;

    if (!dc)
        return FASTN_ERR_NOMEM;
    sc = swarm__conn_new(sw, false, &d->peer);
    if (!sc) {
        free(dc);
        return FASTN_ERR_NOMEM;
    }
    dc->sc = sc;
    rc = uv_tcp_connect(&dc->req, &sc->tcp, sa, on_connect);
    if (rc) {
        free(dc);
        swarm__conn_close(sc, FASTN_ERR_CANCELED);
        return uv_err(rc);
    }
    sw->stats.dials++;
    sc->dial = d;
    d->attempt = sc;
    return 0;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
    struct swarm_dial *d = req->data;
    int err;

    d->resolving = false;
    if (!d->pprev) { /* given up while resolving */
        uv_freeaddrinfo(ai);
        free(d);
        return;
    }
    if (status < 0 || !ai) {
        d->last_err = status == UV_ECANCELED ? FASTN_ERR_CANCELED
                                             : FASTN_ERR_NET_UNREACHABLE;
        uv_freeaddrinfo(ai);
        dial_next(d);
        return;
    }
    err = start_connect(d, ai->ai_addr);
    uv_freeaddrinfo(ai);
    if (err) {
        d->last_err = err;
        dial_next(d);
    }
}

static int resolve(struct swarm_dial *d, const struct multiaddr_tcp *t)
{
    struct addrinfo hints;
    char port[8];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = t->host_code == MA_DNS4   ? AF_INET
                      : t->host_code == MA_DNS6 ? AF_INET6
                                                : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%u", t->port);
    d->gai.data = d;
    rc = uv_getaddrinfo(d->sw->loop, &d->gai, on_resolved, t->host, port,
                        &hints);
    if (rc)
        return FASTN_ERR_NET_UNREACHABLE;
    d->resolving = true;
    return 0;
}

struct dnsaddr_work {
    uv_work_t req;
    struct swarm_dial *d;
    char host[MULTIADDR_DNS_MAX + 1];
    uint8_t ans[DNSADDR_ANSWER_MAX];
    size_t n;
    int err;
};

static void dnsaddr_lookup(uv_work_t *req)
{
    struct dnsaddr_work *w = req->data;

    w->err = dnsaddr_query(w->host, w->ans, &w->n);
}

/* The name's addresses join the dial's list (further /dnsaddr names
 * among them are looked up in their turn), then the dial goes on. */
static void dnsaddr_done(uv_work_t *req, int status)
{
    struct dnsaddr_work *w = req->data;
    struct swarm_dial *d = w->d;
    struct multiaddr found[SWARM_MAX_PEER_ADDRS];
    size_t n = 0;
    int err = status ? FASTN_ERR_CANCELED : w->err;

    d->resolving = false;
    if (!d->pprev) { /* given up while resolving */
        free(w);
        free(d);
        return;
    }
    if (!err)
        err = dnsaddr_parse(w->ans, w->n, true, &d->peer, found,
                            SWARM_MAX_PEER_ADDRS, &n);
    if (err)
        log_msg(LOG_INFO, "net", "/dnsaddr/%s: %s", w->host,
                err == FASTN_ERR_NET_BAD_MESSAGE ? "a malformed DNS answer"
                                                 : fastn_strerror(err));
    else if (n == 0)
        log_msg(LOG_INFO, "net", "/dnsaddr/%s: no dnsaddr= record for %s",
                w->host, peer_id_format(&d->peer, (char[PEER_ID_STR_MAX]){0}));
    if (err || n == 0)
        err = FASTN_ERR_NET_DNSADDR;
    for (size_t i = 0; i < n; i++)
        add_addr(d, &found[i]);
    free(w);
    d->last_err = err;
    dial_next(d);
}

static int dnsaddr_start(struct swarm_dial *d, const struct multiaddr_comp *c)
{
    struct dnsaddr_work *w;

    if (d->n_dnsaddr >= DNSADDR_LOOKUPS_MAX || c->len > MULTIADDR_DNS_MAX)
        return FASTN_ERR_NET_DNSADDR;
    if (!(w = calloc(1, sizeof(*w))))
        return FASTN_ERR_NOMEM;
    memcpy(w->host, c->value, c->len);
    w->d = d;
    w->req.data = w;
    if (uv_queue_work(d->sw->loop, &w->req, dnsaddr_lookup, dnsaddr_done)) {
        free(w);
        return FASTN_ERR_NET_UNREACHABLE;
    }
    d->n_dnsaddr++;
    d->resolving = true;
    return 0;
}

static int try_addr(struct swarm_dial *d, const struct multiaddr *ma)
{
    struct multiaddr_tcp t;
    struct sockaddr_storage ss;
    struct multiaddr_comp c;
    size_t off = 0;

    if (multiaddr_next(ma, &off, &c) == 1 && c.code == MA_DNSADDR)
        return dnsaddr_start(d, &c);
    if (relay_is_circuit(ma))
        return swarm__relay_dial(d, ma);
    if (multiaddr_to_tcp(ma, &t))
        return FASTN_ERR_UNSUPPORTED;
    if (t.host_code != MA_IP4 && t.host_code != MA_IP6)
        return resolve(d, &t);
    memset(&ss, 0, sizeof(ss));
    if (t.host_code == MA_IP4) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(t.port);
        memcpy(&a->sin_addr, t.ip, 4);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(t.port);
        memcpy(&a->sin6_addr, t.ip, 16);
    }
    return start_connect(d, (struct sockaddr *)&ss);
}

static void dial_log_try(const struct swarm_dial *d)
{
    char pid[PEER_ID_STR_MAX], a[MULTIADDR_STR_MAX];

    if (log_get_level() < LOG_DEBUG)
        return;
    if (multiaddr_format(&d->addrs[d->i], a, sizeof(a)) < 0)
        strcpy(a, "?");
    log_msg(LOG_DEBUG, "net", "dial %s: trying %s (%zu of %zu)",
            peer_id_format(&d->peer, pid), a, d->i + 1, d->n);
}

static void dial_next(struct swarm_dial *d)
{
    while (d->i < d->n && !d->sw->closing) {
        dial_log_try(d);
        int err = try_addr(d, &d->addrs[d->i++]);
        if (!err)
            return;
        d->last_err = err;
    }
    dial_failed(d);
}

void swarm__dial_relay_failed(struct swarm_dial *d, int err)
{
    d->relay = NULL;
    d->last_err = err;
    dial_next(d);
}

bool swarm__dial_falls_back(const struct swarm_conn *sc)
{
    const struct swarm_dial *d = sc->dial;

    if (!d || sc->limited || sc->punch || d->attempt != sc)
        return false;
    for (size_t j = d->i; j < d->n; j++)
        if (relay_is_circuit(&d->addrs[j]))
            return true;
    return false;
}

uint32_t swarm__dial_step_timeout(const struct swarm_dial *d)
{
    uint32_t all = d->sw->cfg.handshake_timeout_ms;

    /* d->i is past the address being tried */
    if (d->i < d->n && all > 2 * SWARM_DIAL_FALLBACK_MS)
        return 2 * SWARM_DIAL_FALLBACK_MS;
    return all;
}

void swarm__dial_attempt_done(struct swarm_dial *d, int err)
{
    struct swarm *sw = d->sw;

    d->attempt = NULL;
    if (err) {
        d->last_err = err;
        dial_next(d);
        return;
    }
    if (sw->cfg.book && sw->cfg.book->remember && d->i > 0)
        sw->cfg.book->remember(sw->cfg.book_arg, &d->peer, &d->addrs[d->i - 1],
                               1, true);
    if (d->exact)
        swarm__wait_done(d->exact, 0);
    dial_free(d);
}

int swarm__dial(struct swarm *sw, const struct peer_id *peer,
                const struct multiaddr *addrs, size_t n)
{
    struct multiaddr known[SWARM_MAX_PEER_ADDRS];
    struct swarm_dial *d;
    size_t k = 0;

    for (d = sw->dials; d; d = d->next)
        if (!d->exact && peer_id_equal(&d->peer, peer))
            break;
    if (d) { /* coalesce: the dial in progress tries these too, and
              * the address book's (it may have come from the DHT alone) */
        for (size_t i = 0; i < n; i++)
            add_addr(d, &addrs[i]);
        if (sw->cfg.book && sw->cfg.book->lookup)
            k = sw->cfg.book->lookup(sw->cfg.book_arg, peer, known,
                                     SWARM_MAX_PEER_ADDRS);
        for (size_t i = 0; i < k; i++)
            add_addr(d, &known[i]);
        if (d->attempt) /* a circuit to fall back on, now perhaps */
            swarm__conn_update_timer(d->attempt);
        return 0;
    }
    d = calloc(1, sizeof(*d));
    if (!d)
        return FASTN_ERR_NOMEM;
    d->sw = sw;
    d->peer = *peer;
    for (size_t i = 0; i < n; i++)
        add_addr(d, &addrs[i]);
    if (sw->cfg.book && sw->cfg.book->lookup)
        k = sw->cfg.book->lookup(sw->cfg.book_arg, peer, known,
                                 SWARM_MAX_PEER_ADDRS);
    for (size_t i = 0; i < k; i++)
        add_addr(d, &known[i]);
    if (d->n == 0) {
        free(d);
        return FASTN_ERR_NET_NO_ADDR;
    }
    direct_first(d);
    d->next = sw->dials;
    d->pprev = &sw->dials;
    if (sw->dials)
        sw->dials->pprev = &d->next;
    sw->dials = d;
    dial_next(d);
    return 0;
}

/* Links d into the swarm's dials and starts it. */
static void dial_start(struct swarm *sw, struct swarm_dial *d)
{
    d->next = sw->dials;
    d->pprev = &sw->dials;
    if (sw->dials)
        sw->dials->pprev = &d->next;
    sw->dials = d;
    dial_next(d);
}

int swarm__dial_exact(struct swarm *sw, struct swarm_wait *w,
                      const struct multiaddr *addrs, size_t n)
{
    struct swarm_dial *d = calloc(1, sizeof(*d));

    if (!d)
        return FASTN_ERR_NOMEM;
    d->sw = sw;
    d->peer = w->peer;
    for (size_t i = 0; i < n; i++)
        add_addr(d, &addrs[i]);
    if (d->n == 0) {
        free(d);
        return FASTN_ERR_NET_NO_ADDR;
    }
    d->exact = w;
    w->dial = d;
    dial_start(sw, d);
    return 0;
}

void swarm__dials_cancel(struct swarm *sw, const struct peer_id *peer)
{
    struct swarm_dial *d, *next;

    for (d = sw->dials; d; d = next) {
        next = d->next;
        if (d->exact || !peer_id_equal(&d->peer, peer))
            continue;
        if (d->attempt) {
            struct swarm_conn *a = d->attempt;
            d->attempt = NULL;
            a->dial = NULL;
            swarm__conn_close(a, FASTN_ERR_CANCELED);
        }
        dial_free(d);
    }
}

void swarm__dials_close(struct swarm *sw)
{
    while (sw->dials) {
        struct swarm_dial *d = sw->dials;
        if (d->attempt)
            d->attempt->dial = NULL;
        if (d->resolving)
            uv_cancel((uv_req_t *)&d->gai);
        dial_free(d);
    }
}
