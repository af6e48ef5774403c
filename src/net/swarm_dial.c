/*
 * Dialing a peer: one dial per peer at a time (later requests add their
 * addresses to it and wait on the same outcome). Its addresses are
 * ranked (net/dial_rank.h: ones that worked, loopback, LAN, public,
 * names, ones that failed recently, circuits) and started side by
 * side, staggered as go-libp2p's dial ranker does (swarm_int.h: circuits
 * after a short delay when there are direct addresses that did not just
 * fail, public addresses
 * 250 ms apart, the next one at once when nothing is in flight), each
 * attempt bounded by the handshake timeout: DNS names through
 * uv_getaddrinfo (one at a time), then a TCP connect, then the upgrade;
 * circuits through a hop CONNECT (one at a time). The first attempt that
 * upgrades wins, its address goes to the address book and the others are
 * closed (their handles and sockets with them; a hop CONNECT in flight
 * is abandoned and its stream reset when it answers); when every address
 * failed, the waits for the peer get the last error (unless a connection
 * came in from the peer meanwhile).
 *
 * Attempts in flight are bounded per dial (slots) and for the swarm
 * (sw->n_dial_direct); one timer of the swarm wakes the dials whose next
 * address waits for its turn, or for room.
 *
 * A dial stays allocated while a getaddrinfo request is in flight, since
 * libuv owns that request until its callback.
 */
#include "net/swarm_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "net/addr.h"
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

/* Adds ma (unless d has it) with what the swarm's memory of recent dials
 * says of it, or else the address book (worked: it connected once). */
static void add_addr(struct swarm_dial *d, const struct multiaddr *ma,
                     bool worked)
{
    struct multiaddr_tcp t;
    struct multiaddr plain;
    enum dial_hint h;
    size_t i;

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
    for (i = 0; i < d->n; i++)
        if (multiaddr_equal(&d->addrs[i], &plain))
            break;
    if (i == d->n) {
        if (d->n == sizeof(d->addrs) / sizeof(d->addrs[0]))
            return;
        d->addrs[d->n++] = plain;
        d->hint[i] = DIAL_HINT_NONE;
    }
    h = dial_memo_get(&d->sw->dial_memo, &d->peer, &plain, swarm__now_us());
    if (h != DIAL_HINT_NONE)
        d->hint[i] = (uint8_t)h;
    else if (worked)
        d->hint[i] = DIAL_HINT_WORKED;
}

/* Sorts the addresses into dial order (before any started); the
 * circuits wait SWARM_DIAL_RELAY_DELAY_MS when there are direct ones
 * that did not fail just before (net/dial_rank.h). */
static void rank_addrs(struct swarm_dial *d)
{
    bool wait = dial_rank(d->addrs, d->hint, d->n);

    d->next_direct_us = d->next_relay_us = swarm__now_us();
    if (wait)
        d->next_relay_us += SWARM_DIAL_RELAY_DELAY_MS * 1000ull;
}

/* Slots: the attempts in flight. */
static struct swarm_dial_slot *slot_free(struct swarm_dial *d, bool direct)
{
    size_t used = 0, cap = direct ? SWARM_DIAL_PARALLEL : SWARM_DIAL_RELAYED;
    struct swarm_dial_slot *f = NULL;

    for (size_t k = 0; k < SWARM_DIAL_SLOTS; k++) {
        if (!d->slots[k].sc)
            f = f ? f : &d->slots[k];
        else if (d->slots[k].direct == direct)
            used++;
    }
    return used < cap ? f : NULL;
}

static void dials_timer_arm(struct swarm *sw, uint64_t due_us);

/* Forgets slot k's attempt (which stays open unless closed by the caller). */
static void slot_drop(struct swarm_dial *d, size_t k)
{
    struct swarm *sw = d->sw;

    if (d->slots[k].direct) {
        /* another dial may have waited for room */
        if (sw->n_dial_direct-- >= SWARM_DIALS_DIRECT_MAX)
            dials_timer_arm(sw, swarm__now_us());
    }
    d->slots[k].sc = NULL;
    d->slots[k].direct = false;
}

/* Closes every attempt of d in flight (they tell d nothing). */
static void slots_close(struct swarm_dial *d)
{
    for (size_t k = 0; k < SWARM_DIAL_SLOTS; k++) {
        struct swarm_conn *a = d->slots[k].sc;
        if (!a)
            continue;
        slot_drop(d, k);
        a->dial = NULL;
        if (!d->sw->closing) /* else swarm_close closes them */
            swarm__conn_close(a, FASTN_ERR_CANCELED);
    }
}

static bool in_flight(const struct swarm_dial *d)
{
    if (d->resolving || d->relay)
        return true;
    for (size_t k = 0; k < SWARM_DIAL_SLOTS; k++)
        if (d->slots[k].sc)
            return true;
    return false;
}

static void dial_free(struct swarm_dial *d)
{
    slots_close(d);
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

static void dial_pump(struct swarm_dial *d);

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

/* A TCP connect to sa for address ai of d, in a free direct slot. */
static int start_connect(struct swarm_dial *d, size_t ai,
                         const struct sockaddr *sa)
{
    struct swarm *sw = d->sw;
    struct swarm_dial_slot *slot = slot_free(d, true);
    struct dial_connect *dc;
    struct swarm_conn *sc;
    int rc;

    if (!slot) /* a resolved name while the slots filled: not expected */
        return FASTN_ERR_NET_BUSY;
    if (!(dc = calloc(1, sizeof(*dc))))
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
    sw->n_dial_direct++;
    sc->dial = d;
    slot->sc = sc;
    slot->addr = (uint8_t)ai;
    slot->direct = true;
    swarm__conn_update_timer(sc); /* the fallback deadline, now it has d */
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
        dial_pump(d);
        return;
    }
    err = start_connect(d, d->res_addr, ai->ai_addr);
    uv_freeaddrinfo(ai);
    if (err)
        d->last_err = err;
    dial_pump(d);
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
        add_addr(d, &found[i], false);
    free(w);
    d->last_err = err;
    dial_pump(d);
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

/* Whether ma is a name to look up first (DNS or /dnsaddr). */
static bool needs_lookup(const struct multiaddr *ma)
{
    struct multiaddr_tcp t;
    struct multiaddr_comp c;
    size_t off = 0;

    if (multiaddr_next(ma, &off, &c) == 1 && c.code == MA_DNSADDR)
        return true;
    return multiaddr_to_tcp(ma, &t) == 0 && t.host_code != MA_IP4 &&
           t.host_code != MA_IP6;
}

static int try_addr(struct swarm_dial *d, size_t i)
{
    const struct multiaddr *ma = &d->addrs[i];
    struct multiaddr_tcp t;
    struct sockaddr_storage ss;
    struct multiaddr_comp c;
    size_t off = 0;

    if (multiaddr_next(ma, &off, &c) == 1 && c.code == MA_DNSADDR)
        return dnsaddr_start(d, &c);
    if (relay_is_circuit(ma)) {
        d->relay_addr = (uint8_t)i;
        return swarm__relay_dial(d, ma);
    }
    if (multiaddr_to_tcp(ma, &t))
        return FASTN_ERR_UNSUPPORTED;
    if (t.host_code != MA_IP4 && t.host_code != MA_IP6) {
        d->res_addr = (uint8_t)i;
        return resolve(d, &t);
    }
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
    return start_connect(d, i, (struct sockaddr *)&ss);
}

static void dial_log_try(const struct swarm_dial *d, size_t i)
{
    char pid[PEER_ID_STR_MAX], a[MULTIADDR_STR_MAX];

    if (log_get_level() < LOG_DEBUG)
        return;
    if (multiaddr_format(&d->addrs[i], a, sizeof(a)) < 0)
        strcpy(a, "?");
    log_msg(LOG_DEBUG, "net", "dial %s: trying %s (%zu of %zu)",
            peer_id_format(&d->peer, pid), a, i + 1, d->n);
}

/* Whether address i of d may start now (idle: nothing is in flight, so
 * the stagger does not apply); else *due is lowered to when the stagger
 * lets it, if that is what holds it back. */
static bool may_start(const struct swarm_dial *d, size_t i, bool idle,
                      uint64_t now, uint64_t *due)
{
    const struct multiaddr *ma = &d->addrs[i];
    uint64_t at;

    if (relay_is_circuit(ma)) {
        if (d->relay || !slot_free((struct swarm_dial *)d, false))
            return false;
        at = d->next_relay_us;
    } else {
        if ((d->resolving && needs_lookup(ma)) ||
            !slot_free((struct swarm_dial *)d, true) ||
            d->sw->n_dial_direct >= SWARM_DIALS_DIRECT_MAX)
            return false;
        /* one that worked, loopback and LAN ones at once */
        if (dial_rank_class(ma, d->hint[i]) <= 2)
            return true;
        at = d->next_direct_us;
    }
    if (idle || now >= at)
        return true;
    if (at < *due)
        *due = at;
    return false;
}

/* Starts what d's addresses, slots and stagger allow; fails the dial
 * when nothing is left to try and nothing is in flight. */
static void dial_pump(struct swarm_dial *d)
{
    uint64_t now = swarm__now_us(), due = UINT64_MAX;
    bool pending = false;

    if (d->sw->closing)
        return;
    for (size_t i = 0; i < d->n; i++) {
        if (d->started[i])
            continue;
        if (!may_start(d, i, !in_flight(d), now, &due)) {
            pending = true;
            continue;
        }
        d->started[i] = true;
        dial_log_try(d, i);
        int err = try_addr(d, i);
        if (err) {
            d->last_err = err;
            continue;
        }
        if (relay_is_circuit(&d->addrs[i]))
            d->next_relay_us = now + SWARM_DIAL_STAGGER_MS * 1000ull;
        else
            d->next_direct_us = now + SWARM_DIAL_STAGGER_MS * 1000ull;
    }
    if (!in_flight(d) && !pending) {
        dial_failed(d);
        return;
    }
    if (due != UINT64_MAX)
        dials_timer_arm(d->sw, due);
}

static void on_dials_timer(uv_timer_t *t)
{
    struct swarm *sw = t->data;
    struct swarm_dial *d;

    sw->dial_due_us = 0;
    for (d = sw->dials; d; d = d->next)
        d->kick = true;
    /* one pump each; a pump may end other dials, so look again */
    for (;;) {
        for (d = sw->dials; d && !d->kick; d = d->next)
            ;
        if (!d)
            break;
        d->kick = false;
        dial_pump(d);
    }
}

static void dials_timer_arm(struct swarm *sw, uint64_t due_us)
{
    uint64_t now = swarm__now_us();

    if (sw->closing || (sw->dial_due_us && sw->dial_due_us <= due_us))
        return;
    sw->dial_due_us = due_us ? due_us : 1;
    uv_timer_start(&sw->dial_timer, on_dials_timer,
                   due_us > now ? (due_us - now + 999) / 1000 : 0, 0);
}

void swarm__dials_init(struct swarm *sw)
{
    uv_timer_init(sw->loop, &sw->dial_timer);
    sw->dial_timer.data = sw;
}

void swarm__dial_relay_failed(struct swarm_dial *d, int err)
{
    d->relay = NULL;
    d->last_err = err;
    dial_pump(d);
}

void swarm__dial_adopt(struct swarm_dial *d, struct swarm_conn *sc)
{
    struct swarm_dial_slot *slot = slot_free(d, false);

    /* a hop CONNECT starts only with a relayed slot free */
    if (!slot)
        return;
    sc->dial = d;
    slot->sc = sc;
    slot->addr = d->relay_addr;
    slot->direct = false;
}

bool swarm__dial_falls_back(const struct swarm_conn *sc)
{
    const struct swarm_dial *d = sc->dial;

    if (!d || sc->limited || sc->punch)
        return false;
    if (d->relay)
        return true;
    for (size_t k = 0; k < SWARM_DIAL_SLOTS; k++)
        if (d->slots[k].sc && !d->slots[k].direct)
            return true;
    for (size_t j = 0; j < d->n; j++)
        if (!d->started[j] && relay_is_circuit(&d->addrs[j]))
            return true;
    return false;
}

uint32_t swarm__dial_step_timeout(const struct swarm_dial *d)
{
    uint32_t all = d->sw->cfg.handshake_timeout_ms;
    bool more = d->resolving;

    for (size_t j = 0; j < d->n && !more; j++)
        more = !d->started[j];
    for (size_t k = 0; k < SWARM_DIAL_SLOTS && !more; k++)
        more = d->slots[k].sc != NULL;
    if (more && all > 2 * SWARM_DIAL_FALLBACK_MS)
        return 2 * SWARM_DIAL_FALLBACK_MS;
    return all;
}

void swarm__dial_attempt_done(struct swarm_dial *d, struct swarm_conn *sc,
                              int err)
{
    struct swarm *sw = d->sw;
    size_t ai = SIZE_MAX;

    for (size_t k = 0; k < SWARM_DIAL_SLOTS; k++)
        if (d->slots[k].sc == sc) {
            ai = d->slots[k].addr;
            slot_drop(d, k);
            break;
        }
    /* what the next dials to d's peer rank its addresses by (a direct
     * attempt given up for a circuit counts as failed) */
    if (ai < d->n && err != FASTN_ERR_CANCELED &&
        !relay_is_circuit(&d->addrs[ai]))
        dial_memo_put(&sw->dial_memo, &d->peer, &d->addrs[ai], !err,
                      swarm__now_us());
    if (err) {
        d->last_err = err;
        dial_pump(d);
        return;
    }
    if (sw->cfg.book && sw->cfg.book->remember && ai < d->n)
        sw->cfg.book->remember(sw->cfg.book_arg, &d->peer, &d->addrs[ai], 1,
                               true);
    if (d->exact)
        swarm__wait_done(d->exact, 0);
    dial_free(d); /* the other attempts close */
}

/* The address book's addresses of d's peer join d's (they may have come
 * from the DHT alone). */
static void add_known(struct swarm_dial *d)
{
    struct swarm *sw = d->sw;
    struct multiaddr known[SWARM_MAX_PEER_ADDRS];
    bool worked[SWARM_MAX_PEER_ADDRS] = {false};
    size_t k = 0;

    if (sw->cfg.book && sw->cfg.book->lookup)
        k = sw->cfg.book->lookup(sw->cfg.book_arg, &d->peer, known, worked,
                                 SWARM_MAX_PEER_ADDRS);
    for (size_t i = 0; i < k; i++)
        add_addr(d, &known[i], worked[i]);
}

/* Links d into the swarm's dials and starts it. */
static void dial_start(struct swarm *sw, struct swarm_dial *d)
{
    rank_addrs(d);
    d->next = sw->dials;
    d->pprev = &sw->dials;
    if (sw->dials)
        sw->dials->pprev = &d->next;
    sw->dials = d;
    dial_pump(d);
}

int swarm__dial(struct swarm *sw, const struct peer_id *peer,
                const struct multiaddr *addrs, size_t n)
{
    struct swarm_dial *d;

    for (d = sw->dials; d; d = d->next)
        if (!d->exact && peer_id_equal(&d->peer, peer))
            break;
    if (d) { /* coalesce: the dial in progress tries these too */
        for (size_t i = 0; i < n; i++)
            add_addr(d, &addrs[i], false);
        add_known(d);
        /* a circuit to fall back on, now perhaps */
        for (size_t k = 0; k < SWARM_DIAL_SLOTS; k++)
            if (d->slots[k].sc && d->slots[k].direct)
                swarm__conn_update_timer(d->slots[k].sc);
        dial_pump(d);
        return 0;
    }
    d = calloc(1, sizeof(*d));
    if (!d)
        return FASTN_ERR_NOMEM;
    d->sw = sw;
    d->peer = *peer;
    for (size_t i = 0; i < n; i++)
        add_addr(d, &addrs[i], false);
    add_known(d);
    if (d->n == 0) {
        free(d);
        return FASTN_ERR_NET_NO_ADDR;
    }
    dial_start(sw, d);
    return 0;
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
        add_addr(d, &addrs[i], false);
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
        if (!d->exact && peer_id_equal(&d->peer, peer))
            dial_free(d); /* its attempts close */
    }
}

void swarm__dials_close(struct swarm *sw)
{
    while (sw->dials) {
        struct swarm_dial *d = sw->dials;
        if (d->resolving)
            uv_cancel((uv_req_t *)&d->gai);
        dial_free(d); /* swarm_close closes the attempts */
    }
    uv_timer_stop(&sw->dial_timer);
    uv_close((uv_handle_t *)&sw->dial_timer, NULL);
}
