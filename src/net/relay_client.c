/*
 * Circuit relay v2, client side: reservations on relays and accepting
 * relayed connections; see relay.h.
 *
 * Candidates are tried in the order they were added; at most cfg.want
 * are ACTIVE or PENDING at once. A failure (refusal, bad answer, stream
 * error, lost connection) puts that relay in BACKOFF (doubling from
 * retry_first_us to retry_max_us), and the next candidate fills the gap:
 * that is how a reservation "moves" when a relay vanishes. The first
 * retry comes soon (2 s): a renewal cut by a network change (a new
 * address, a NAT rebinding) is most often fine on the next try, and until
 * it is, the peer cannot be reached by its PeerID. A relay that answered
 * with a refusal (RESERVATION_REFUSED, RESOURCE_LIMIT_EXCEEDED,
 * PERMISSION_DENIED, ...) said it will not serve us for now: its first
 * wait is refused_first_us (30 s). Each wait is cut by a jitter of up
 * to a quarter, so that peers refused together do not come back
 * together; a reservation held resets the count. A candidate dropped
 * while backing off (one found among connected peers whose connection
 * closed) keeps its backoff when it comes back. A reservation
 * is renewed a quarter of its lifetime (at most two minutes) before it
 * expires.
 */
#include "net/relay.h"

#include <string.h>

#include "fastn/err.h"

#define RENEW_MARGIN_MAX_US (120 * 1000000ull)

void relay_client_config_default(struct relay_client_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->want = 2;
    cfg->retry_first_us = 2 * 1000000ull;
    cfg->refused_first_us = 30 * 1000000ull;
    cfg->retry_max_us = 30 * 60 * 1000000ull;
    cfg->request_timeout_us = 20 * 1000000ull;
}

void relay_client_init(struct relay_client *c,
                       const struct relay_client_config *cfg,
                       const struct peer_id *self)
{
    memset(c, 0, sizeof(*c));
    c->cfg = *cfg;
    if (c->cfg.want == 0 || c->cfg.want > RELAY_CLIENT_MAX)
        c->cfg.want = 2;
    c->self = *self;
    c->rng = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < sizeof(self->bytes) && i < self->len; i++)
        c->rng = (c->rng ^ self->bytes[i]) * 0x100000001b3ull;
}

uint64_t relay_backoff_us(uint64_t first, uint64_t max, unsigned failures,
                          uint32_t rnd)
{
    uint64_t wait = first;

    for (unsigned i = 0; i < failures && wait < max; i++)
        wait *= 2;
    if (wait > max)
        wait = max;
    /* up to a quarter less, in 1/1024 steps (no overflow: wait is at
     * most max, hours in microseconds) */
    return wait - wait / 4 * (rnd % 1025) / 1024;
}

static uint32_t next_rnd(struct relay_client *c, uint64_t now)
{
    uint64_t x = c->rng ^ now;

    x ^= x << 13; /* xorshift64 */
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return (uint32_t)(x >> 32);
}

static struct relay_rsv *find(struct relay_client *c, const struct peer_id *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (peer_id_equal(&c->r[i].relay, id))
            return &c->r[i];
    return NULL;
}

int relay_client_add(struct relay_client *c, const struct peer_id *relay)
{
    if (peer_id_equal(relay, &c->self))
        return FASTN_ERR_INVAL;
    if (find(c, relay))
        return FASTN_ERR_EXISTS;
    if (c->n == RELAY_CLIENT_MAX)
        return FASTN_ERR_TOO_LARGE;
    memset(&c->r[c->n], 0, sizeof(c->r[0]));
    c->r[c->n].relay = *relay;
    for (size_t i = 0; i < c->n_penalty; i++) {
        struct relay_penalty *p = &c->penalty[i];
        if (!peer_id_equal(&p->relay, relay))
            continue;
        c->r[c->n].state = RELAY_RSV_BACKOFF; /* IDLE once retry_at passed */
        c->r[c->n].failures = p->failures;
        c->r[c->n].refusals = p->refusals;
        c->r[c->n].retry_at = p->retry_at;
        memset(p, 0, sizeof(*p)); /* an empty slot: matches no PeerID */
        break;
    }
    c->n++;
    return 0;
}

/* Remembers r's backoff (the oldest memory makes room). */
static void penalize(struct relay_client *c, const struct relay_rsv *r)
{
    struct relay_penalty *p = NULL;

    for (size_t i = 0; i < c->n_penalty && !p; i++)
        if (peer_id_equal(&c->penalty[i].relay, &r->relay))
            p = &c->penalty[i];
    for (size_t i = 0; i < c->n_penalty && !p; i++)
        if (!c->penalty[i].relay.len) /* emptied when taken back */
            p = &c->penalty[i];
    if (!p && c->n_penalty < RELAY_PENALTY_MAX)
        p = &c->penalty[c->n_penalty++];
    if (!p) {
        p = &c->penalty[c->next_penalty];
        c->next_penalty = (c->next_penalty + 1) % RELAY_PENALTY_MAX;
    }
    p->relay = r->relay;
    p->failures = r->failures;
    p->refusals = r->refusals;
    p->retry_at = r->retry_at;
}

void relay_client_remove(struct relay_client *c, const struct peer_id *relay)
{
    struct relay_rsv *r = find(c, relay);

    if (!r)
        return;
    if (r->failures && r->state != RELAY_RSV_ACTIVE)
        penalize(c, r);
    memmove(r, r + 1, (size_t)(&c->r[c->n] - (r + 1)) * sizeof(*r));
    c->n--;
}

static bool is_active(const struct relay_rsv *r, uint64_t now)
{
    return (r->state == RELAY_RSV_ACTIVE ||
            (r->state == RELAY_RSV_PENDING && r->renewing)) &&
           now < r->expire_at;
}

size_t relay_client_active(const struct relay_client *c, uint64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += is_active(&c->r[i], now);
    return n;
}

/* status: the relay's refusal (a relay_status), 0 for another failure. */
static void back_off(struct relay_client *c, struct relay_rsv *r, uint64_t now,
                     int status)
{
    uint64_t first =
        status || r->refusals ? c->cfg.refused_first_us : c->cfg.retry_first_us;

    if (status) {
        r->refusals++;
        r->last_status = status;
    }
    r->retry_at = now + relay_backoff_us(first, c->cfg.retry_max_us,
                                         r->failures, next_rnd(c, now));
    r->failures++;
    r->state = RELAY_RSV_BACKOFF;
    r->renewing = false;
    r->addrs.n = 0;
}

/* Expired reservations and unanswered requests become failures. */
static void expire(struct relay_client *c, uint64_t now)
{
    for (size_t i = 0; i < c->n; i++) {
        struct relay_rsv *r = &c->r[i];
        if (r->state == RELAY_RSV_PENDING &&
            now - r->sent_at >= c->cfg.request_timeout_us)
            back_off(c, r, now, 0);
        else if (r->state == RELAY_RSV_ACTIVE && now >= r->expire_at)
            r->state = RELAY_RSV_IDLE; /* ask again, no penalty */
        else if (r->state == RELAY_RSV_BACKOFF && now >= r->retry_at)
            r->state = RELAY_RSV_IDLE;
    }
}

static int send_reserve(struct relay_rsv *r, uint64_t now, struct buf *out,
                        struct peer_id *relay)
{
    struct relay_msg m;
    int err;

    memset(&m, 0, sizeof(m));
    m.kind = RELAY_HOP;
    m.type = RELAY_RESERVE;
    err = relay_msg_encode(&m, out);
    if (err)
        return err;
    r->renewing = r->state == RELAY_RSV_ACTIVE;
    r->state = RELAY_RSV_PENDING;
    r->sent_at = now;
    *relay = r->relay;
    return 1;
}

int relay_client_poll(struct relay_client *c, uint64_t now,
                      struct peer_id *relay, struct buf *out)
{
    size_t busy = 0;

    expire(c, now);
    for (size_t i = 0; i < c->n; i++) {
        struct relay_rsv *r = &c->r[i];
        if (r->state == RELAY_RSV_ACTIVE && now >= r->renew_at)
            return send_reserve(r, now, out, relay);
        busy += r->state == RELAY_RSV_ACTIVE || r->state == RELAY_RSV_PENDING;
    }
    for (size_t i = 0; i < c->n && busy < c->cfg.want; i++)
        if (c->r[i].state == RELAY_RSV_IDLE)
            return send_reserve(&c->r[i], now, out, relay);
    return 0;
}

/* Checks an OK answer's reservation and records it in r. */
static int take_reservation(struct relay_client *c, struct relay_rsv *r,
                            const struct relay_msg *m, uint64_t now,
                            uint64_t unix_s)
{
    struct relay_voucher v;
    uint64_t life, margin;

    if (!m->has_rsv || m->rsv_expire <= unix_s)
        return FASTN_ERR_NET_BAD_MESSAGE;
    if (m->voucher_len &&
        (relay_voucher_open(m->voucher, m->voucher_len, &v) != 0 ||
         !peer_id_equal(&v.relay, &r->relay) ||
         !peer_id_equal(&v.peer, &c->self)))
        return FASTN_ERR_NET_BAD_MESSAGE;
    life = (m->rsv_expire - unix_s) * 1000000ull;
    if (life > 24 * 3600 * 1000000ull) /* a relay's word, bounded */
        life = 24 * 3600 * 1000000ull;
    margin = life / 4 < RENEW_MARGIN_MAX_US ? life / 4 : RENEW_MARGIN_MAX_US;
    r->state = RELAY_RSV_ACTIVE;
    r->renewing = false;
    r->failures = 0;
    r->refusals = 0;
    r->last_status = 0;
    r->expire_unix = m->rsv_expire;
    r->expire_at = now + life;
    r->renew_at = now + life - margin;
    r->limit = m->limit;
    r->addrs.n = 0;
    r->addrs.dropped = 0;
    /* the relay's addresses, as we will advertise them: dialable, in a
     * scope the policy allows, and (when they say) the relay's own */
    for (size_t i = 0; i < m->rsv_addrs.n; i++) {
        const struct multiaddr *a = &m->rsv_addrs.a[i];
        struct multiaddr ok;
        if (addr_check(&c->cfg.policy, a->bytes, a->len, &r->relay, &ok) == 0)
            addr_list_put(&r->addrs, ADDR_LIST_MAX, &ok);
    }
    return 0;
}

int relay_client_reserved(struct relay_client *c, const struct peer_id *relay,
                          const uint8_t *msg, size_t n, uint64_t now,
                          uint64_t unix_s)
{
    struct relay_rsv *r = find(c, relay);
    struct relay_msg m;
    int err, status = 0;

    if (!r || r->state != RELAY_RSV_PENDING)
        return FASTN_ERR_NOT_FOUND;
    err = relay_msg_decode(RELAY_HOP, msg, n, &m);
    if (!err && (m.type != RELAY_STATUS || !m.has_status))
        err = FASTN_ERR_NET_BAD_MESSAGE;
    if (!err && m.status != RELAY_OK) {
        err = relay_status_error(m.status);
        status = (int)m.status;
    }
    if (!err)
        err = take_reservation(c, r, &m, now, unix_s);
    if (err)
        back_off(c, r, now, status);
    return err;
}

const struct relay_rsv *relay_client_find(const struct relay_client *c,
                                          const struct peer_id *relay)
{
    return find((struct relay_client *)c, relay);
}

void relay_client_failed(struct relay_client *c, const struct peer_id *relay,
                         uint64_t now)
{
    struct relay_rsv *r = find(c, relay);
    if (r && r->state == RELAY_RSV_PENDING)
        back_off(c, r, now, 0);
}

void relay_client_relay_lost(struct relay_client *c,
                             const struct peer_id *relay, uint64_t now)
{
    struct relay_rsv *r = find(c, relay);
    if (r && (r->state == RELAY_RSV_ACTIVE || r->state == RELAY_RSV_PENDING))
        back_off(c, r, now, 0);
}

size_t relay_client_addrs(const struct relay_client *c, uint64_t now,
                          struct multiaddr *out, size_t max)
{
    size_t k = 0;

    for (size_t i = 0; i < c->n; i++) {
        const struct relay_rsv *r = &c->r[i];
        if (!is_active(r, now))
            continue;
        for (size_t j = 0; j < r->addrs.n && k < max; j++)
            if (relay_circuit_addr(&r->addrs.a[j], &r->relay, &c->self,
                                   &out[k]) == 0)
                k++;
    }
    return k;
}

uint64_t relay_client_next_deadline(const struct relay_client *c)
{
    uint64_t t = UINT64_MAX;
    size_t busy = 0;

    for (size_t i = 0; i < c->n; i++) {
        const struct relay_rsv *r = &c->r[i];
        uint64_t at = UINT64_MAX;
        if (r->state == RELAY_RSV_ACTIVE)
            at = r->renew_at;
        else if (r->state == RELAY_RSV_PENDING)
            at = r->sent_at + c->cfg.request_timeout_us;
        else if (r->state == RELAY_RSV_BACKOFF)
            at = r->retry_at;
        busy += r->state == RELAY_RSV_ACTIVE || r->state == RELAY_RSV_PENDING;
        if (at < t)
            t = at;
    }
    for (size_t i = 0; i < c->n && busy < c->cfg.want; i++)
        if (c->r[i].state == RELAY_RSV_IDLE)
            return 0; /* a candidate waits: now */
    return t;
}

static int stop_answer(enum relay_status st, struct buf *out)
{
    struct relay_msg m;

    memset(&m, 0, sizeof(m));
    m.kind = RELAY_STOP;
    m.type = RELAY_STATUS;
    m.has_status = true;
    m.status = st;
    return relay_msg_encode(&m, out);
}

int relay_client_stop(const struct relay_client *c, const struct peer_id *from,
                      const uint8_t *msg, size_t n, uint64_t now,
                      struct peer_id *src, struct relay_limit *limit,
                      struct buf *out)
{
    struct relay_msg m;
    const struct relay_rsv *r = NULL;
    int err = relay_msg_decode(RELAY_STOP, msg, n, &m);

    if (err || m.type != RELAY_CONNECT || !m.has_peer) {
        stop_answer(err ? RELAY_MALFORMED_MESSAGE : RELAY_UNEXPECTED_MESSAGE,
                    out);
        return FASTN_ERR_NET_BAD_MESSAGE;
    }
    for (size_t i = 0; i < c->n; i++)
        if (peer_id_equal(&c->r[i].relay, from))
            r = &c->r[i];
    if (!r || !is_active(r, now)) {
        stop_answer(RELAY_PERMISSION_DENIED, out);
        return FASTN_ERR_PERM;
    }
    err = stop_answer(RELAY_OK, out);
    if (err)
        return err;
    *src = m.peer;
    *limit = m.limit;
    return 0;
}
