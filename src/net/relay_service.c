/*
 * Circuit relay v2, the relay's side; see relay.h. Every resource a peer
 * can make us hold is counted against a limit of the config: the
 * reservations (in all, per IP), the circuits (in all, per peer as source
 * or target), and each circuit's time and bytes. Tables are allocated
 * once at their configured size; nothing grows with what peers send.
 */
#include "net/relay.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"

void relay_service_config_default(struct relay_service_config *cfg)
{
    cfg->reservation_ttl_s = 3600;
    cfg->max_reservations = 128;
    cfg->max_per_ip = 8;
    cfg->max_circuits = 64;
    cfg->max_circuits_per_peer = 4;
    cfg->limit_duration_s = 120;
    cfg->limit_data = 128 * 1024;
}

int relay_service_init(struct relay_service *s,
                       const struct relay_service_config *cfg,
                       const struct identity *self)
{
    memset(s, 0, sizeof(*s));
    if (!cfg->max_circuits || !cfg->reservation_ttl_s || !cfg->max_per_ip ||
        !cfg->max_circuits_per_peer)
        return FASTN_ERR_INVAL;
    s->cfg = *cfg;
    s->self = self;
    /* max_reservations 0: every RESERVE is refused */
    s->rsv = calloc(cfg->max_reservations ? cfg->max_reservations : 1,
                    sizeof(*s->rsv));
    s->circuits = calloc(cfg->max_circuits, sizeof(*s->circuits));
    if (!s->rsv || !s->circuits) {
        relay_service_cleanup(s);
        return FASTN_ERR_NOMEM;
    }
    return 0;
}

void relay_service_cleanup(struct relay_service *s)
{
    free(s->rsv);
    free(s->circuits);
    s->rsv = NULL;
    s->circuits = NULL;
}

void relay_service_set_addrs(struct relay_service *s,
                             const struct multiaddr *addrs, size_t n)
{
    s->n_addrs = 0;
    for (size_t i = 0; i < n && s->n_addrs < ADDR_LIST_MAX; i++) {
        struct multiaddr a = addrs[i];
        struct peer_id last;
        if (multiaddr_get_peer(&a, &last) != 0 &&
            multiaddr_append_peer(&a, &s->self->id) != 0)
            continue;
        s->addrs[s->n_addrs++] = a;
    }
}

size_t relay_service_tick(struct relay_service *s, uint64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_rsv; i++)
        if (now < s->rsv[i].expire_at)
            s->rsv[k++] = s->rsv[i];
    s->n_rsv = k;
    return k;
}

static struct relay_service_rsv *rsv_find(const struct relay_service *s,
                                          const struct peer_id *p, uint64_t now)
{
    for (size_t i = 0; i < s->n_rsv; i++)
        if (peer_id_equal(&s->rsv[i].peer, p) && now < s->rsv[i].expire_at)
            return &s->rsv[i];
    return NULL;
}

bool relay_service_has_reservation(const struct relay_service *s,
                                   const struct peer_id *peer, uint64_t now)
{
    return rsv_find(s, peer, now) != NULL;
}

void relay_service_peer_gone(struct relay_service *s,
                             const struct peer_id *peer)
{
    struct relay_service_rsv *r = rsv_find(s, peer, 0);
    if (r)
        *r = s->rsv[--s->n_rsv];
}

static int reply(enum relay_status st, const struct relay_limit *limit,
                 struct buf *out)
{
    struct relay_msg m;

    memset(&m, 0, sizeof(m));
    m.kind = RELAY_HOP;
    m.type = RELAY_STATUS;
    m.has_status = true;
    m.status = st;
    if (limit)
        m.limit = *limit;
    return relay_msg_encode(&m, out);
}

static struct relay_limit our_limit(const struct relay_service *s)
{
    struct relay_limit l = {.present =
                                s->cfg.limit_duration_s || s->cfg.limit_data,
                            .duration_s = s->cfg.limit_duration_s,
                            .data = s->cfg.limit_data};
    return l;
}

/* A RESERVE: a new or refreshed slot, within the limits. */
static int reserve(struct relay_service *s, const struct peer_id *from,
                   const uint8_t *ip, size_t ip_len, uint64_t now,
                   uint64_t unix_s, struct buf *out)
{
    struct relay_service_rsv *r;
    struct relay_msg m;
    struct buf v;
    unsigned same_ip = 0;
    int err;

    relay_service_tick(s, now);
    r = rsv_find(s, from, now);
    if (!r) {
        for (size_t i = 0; i < s->n_rsv; i++)
            same_ip += s->rsv[i].ip_len == ip_len &&
                       memcmp(s->rsv[i].ip, ip, ip_len) == 0;
        if (s->n_rsv >= s->cfg.max_reservations ||
            same_ip >= s->cfg.max_per_ip) {
            s->refused++;
            return reply(RELAY_RESERVATION_REFUSED, NULL, out);
        }
        r = &s->rsv[s->n_rsv++];
        r->peer = *from;
    }
    r->ip_len = (uint8_t)(ip_len <= 16 ? ip_len : 0);
    memcpy(r->ip, ip, r->ip_len);
    r->expire_at = now + s->cfg.reservation_ttl_s * 1000000ull;
    memset(&m, 0, sizeof(m));
    m.kind = RELAY_HOP;
    m.type = RELAY_STATUS;
    m.has_status = true;
    m.status = RELAY_OK;
    m.has_rsv = true;
    m.rsv_expire = unix_s + s->cfg.reservation_ttl_s;
    for (size_t i = 0; i < s->n_addrs; i++)
        addr_list_put(&m.rsv_addrs, ADDR_LIST_MAX, &s->addrs[i]);
    m.limit = our_limit(s);
    buf_init(&v, ENVELOPE_MAX);
    err = relay_voucher_seal(s->self, from, m.rsv_expire, &v);
    if (!err && v.len <= sizeof(m.voucher)) {
        memcpy(m.voucher, v.data, v.len);
        m.voucher_len = v.len;
    }
    buf_cleanup(&v);
    return relay_msg_encode(&m, out);
}

static unsigned circuits_of(const struct relay_service *s,
                            const struct peer_id *p)
{
    unsigned n = 0;
    for (size_t i = 0; i < s->cfg.max_circuits; i++)
        n += s->circuits[i].active && (peer_id_equal(&s->circuits[i].src, p) ||
                                       peer_id_equal(&s->circuits[i].dst, p));
    return n;
}

/* A CONNECT: a circuit to a reserved peer, within the limits. */
static int circuit_open(struct relay_service *s, const struct peer_id *from,
                        const struct relay_msg *m, uint64_t now,
                        struct relay_circuit **circuit, struct buf *out)
{
    struct relay_circuit *c = NULL;

    if (!m->has_peer)
        return reply(RELAY_MALFORMED_MESSAGE, NULL, out);
    if (peer_id_equal(&m->peer, from))
        return reply(RELAY_PERMISSION_DENIED, NULL, out);
    if (!rsv_find(s, &m->peer, now))
        return reply(RELAY_NO_RESERVATION, NULL, out);
    if (s->n_circuits >= s->cfg.max_circuits ||
        circuits_of(s, from) >= s->cfg.max_circuits_per_peer ||
        circuits_of(s, &m->peer) >= s->cfg.max_circuits_per_peer)
        return reply(RELAY_RESOURCE_LIMIT_EXCEEDED, NULL, out);
    for (size_t i = 0; i < s->cfg.max_circuits && !c; i++)
        if (!s->circuits[i].active)
            c = &s->circuits[i];
    memset(c, 0, sizeof(*c));
    c->active = true;
    c->src = *from;
    c->dst = m->peer;
    c->deadline = UINT64_MAX;
    c->data_limit = s->cfg.limit_data;
    s->n_circuits++;
    *circuit = c;
    return RELAY_ACT_STOP;
}

int relay_service_hop(struct relay_service *s, const struct peer_id *from,
                      const uint8_t *ip, size_t ip_len, const uint8_t *msg,
                      size_t n, uint64_t now, uint64_t unix_s,
                      struct relay_circuit **circuit, struct buf *out)
{
    struct relay_msg m;

    *circuit = NULL;
    if (relay_msg_decode(RELAY_HOP, msg, n, &m) != 0)
        return reply(RELAY_MALFORMED_MESSAGE, NULL, out);
    switch (m.type) {
    case RELAY_RESERVE:
        return reserve(s, from, ip, ip_len, now, unix_s, out);
    case RELAY_CONNECT:
        return circuit_open(s, from, &m, now, circuit, out);
    default:
        return reply(RELAY_UNEXPECTED_MESSAGE, NULL, out);
    }
}

int relay_service_stop_encode(const struct relay_service *s,
                              const struct relay_circuit *c, struct buf *out)
{
    struct relay_msg m;

    memset(&m, 0, sizeof(m));
    m.kind = RELAY_STOP;
    m.type = RELAY_CONNECT;
    m.has_peer = true;
    m.peer = c->src;
    m.limit = our_limit(s);
    return relay_msg_encode(&m, out);
}

void relay_service_circuit_end(struct relay_service *s, struct relay_circuit *c)
{
    if (c && c->active) {
        c->active = false;
        s->n_circuits--;
    }
}

int relay_service_stop_result(struct relay_service *s, struct relay_circuit *c,
                              const uint8_t *msg, size_t n, uint64_t now,
                              struct buf *hop_out)
{
    struct relay_msg m;
    struct relay_limit l = our_limit(s);
    int err = msg ? relay_msg_decode(RELAY_STOP, msg, n, &m)
                  : FASTN_ERR_NET_RELAY_FAILED;

    if (!err && (m.type != RELAY_STATUS || !m.has_status))
        err = FASTN_ERR_NET_BAD_MESSAGE;
    if (!err && m.status != RELAY_OK)
        err = FASTN_ERR_NET_RELAY_FAILED;
    if (err) {
        reply(RELAY_CONNECTION_FAILED, NULL, hop_out);
        relay_service_circuit_end(s, c);
        return err;
    }
    if (s->cfg.limit_duration_s)
        c->deadline = now + s->cfg.limit_duration_s * 1000000ull;
    return reply(RELAY_OK, l.present ? &l : NULL, hop_out);
}

int relay_circuit_pass(struct relay_circuit *c, int dir, size_t n, uint64_t now)
{
    uint64_t left;

    if (dir != 0 && dir != 1)
        return FASTN_ERR_INVAL;
    if (now >= c->deadline)
        return FASTN_ERR_NET_RELAY_LIMIT;
    if (n > INT_MAX)
        n = INT_MAX;
    if (c->data_limit) {
        left = c->data_limit - c->bytes[dir];
        if (left == 0)
            return FASTN_ERR_NET_RELAY_LIMIT;
        if (n > left)
            n = (size_t)left;
    }
    c->bytes[dir] += n;
    return (int)n;
}
