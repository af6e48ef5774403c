/*
 * mDNS discovery: when to ask, what to answer, and which peers an answer
 * names (libp2p/specs discovery/mdns.md); see mdns.h.
 */
#include "net/mdns.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fastn/err.h"

void mdns_config_default(struct mdns_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->query_interval_us = 10 * 1000000ull;
    cfg->policy.allow_private = true; /* a LAN is what mDNS is for */
}

void mdns_init(struct mdns *m, const struct mdns_config *cfg,
               const struct peer_id *self, const uint8_t *rnd, size_t rnd_len,
               uint64_t now)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    m->self = *self;
    mdns_peer_name(rnd, rnd_len, m->name);
    m->next_query = now;
}

void mdns_set_addrs(struct mdns *m, const struct multiaddr *addrs, size_t n)
{
    m->n_addrs = 0;
    for (size_t i = 0; i < n && m->n_addrs < MDNS_ADDRS_MAX; i++)
        m->addrs[m->n_addrs++] = addrs[i];
}

int mdns_poll(struct mdns *m, uint64_t now, struct buf *out)
{
    int err;

    if (now < m->next_query)
        return 0;
    err = mdns_query_encode(out);
    if (err)
        return err;
    m->next_query = now + m->cfg.query_interval_us;
    return 1;
}

uint64_t mdns_next_deadline(const struct mdns *m)
{
    return m->next_query;
}

static bool name_is(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

static int answer_query(struct mdns *m, const struct mdns_msg *q,
                        struct buf *reply)
{
    for (size_t i = 0; i < q->n_q; i++) {
        const struct mdns_question *qu = &q->q[i];
        if (qu->type != MDNS_PTR && qu->type != MDNS_ANY)
            continue;
        if (name_is(qu->name, MDNS_SERVICE) && m->n_addrs)
            return mdns_response_encode(m->name, &m->self, m->addrs, m->n_addrs,
                                        MDNS_TTL, reply);
        if (name_is(qu->name, MDNS_META_QUERY))
            return mdns_meta_response_encode(reply);
    }
    return 0;
}

/* The instance a PTR of the service points to, or NULL. */
static bool is_instance(const struct mdns_msg *r, const char *name)
{
    for (size_t i = 0; i < r->n_rr; i++)
        if (r->rr[i].type == MDNS_PTR && name_is(r->rr[i].name, MDNS_SERVICE) &&
            name_is(r->rr[i].target, name))
            return true;
    return false;
}

static struct mdns_found *slot(const struct peer_id *id,
                               struct mdns_found *found, size_t max,
                               size_t *n_found)
{
    for (size_t i = 0; i < *n_found; i++)
        if (peer_id_equal(&found[i].id, id))
            return &found[i];
    if (*n_found == max)
        return NULL;
    memset(&found[*n_found], 0, sizeof(found[0]));
    found[*n_found].id = *id;
    return &found[(*n_found)++];
}

/* One TXT string "dnsaddr=MULTIADDR/p2p/ID". */
static void take_dnsaddr(struct mdns *m, const uint8_t *s, size_t len,
                         struct mdns_found *found, size_t max, size_t *n_found)
{
    char text[256];
    struct multiaddr ma;
    struct peer_id id;
    struct mdns_found *f;

    if (len <= 8 || memcmp(s, "dnsaddr=", 8) != 0)
        return;
    memcpy(text, s + 8, len - 8);
    text[len - 8] = '\0';
    if (multiaddr_parse(text, &ma) != 0 || multiaddr_get_peer(&ma, &id) != 0 ||
        peer_id_equal(&id, &m->self))
        return;
    f = slot(&id, found, max, n_found);
    if (f)
        addr_list_add(&f->addrs, MDNS_ADDRS_MAX, &m->cfg.policy, ma.bytes,
                      ma.len, &id);
}

static void read_answer(struct mdns *m, const struct mdns_msg *r,
                        struct mdns_found *found, size_t max, size_t *n_found)
{
    for (size_t i = 0; i < r->n_rr; i++) {
        const struct mdns_rr *rr = &r->rr[i];
        if (rr->type != MDNS_TXT || !is_instance(r, rr->name))
            continue;
        for (size_t j = 0; j < rr->n_txt; j++)
            take_dnsaddr(m, rr->txt[j].s, rr->txt[j].len, found, max, n_found);
    }
    /* peers whose every address was refused are not worth reporting */
    size_t k = 0;
    for (size_t i = 0; i < *n_found; i++)
        if (found[i].addrs.n)
            found[k++] = found[i];
    *n_found = k;
}

int mdns_handle(struct mdns *m, const uint8_t *pkt, size_t n, uint64_t now,
                struct buf *reply, struct mdns_found *found, size_t max,
                size_t *n_found)
{
    struct mdns_msg *msg = mdns_msg_new();
    int err;

    (void)now;
    *n_found = 0;
    if (!msg)
        return FASTN_ERR_NOMEM;
    err = mdns_decode(pkt, n, msg);
    if (!err && !msg->response)
        err = answer_query(m, msg, reply);
    else if (!err)
        read_answer(m, msg, found, max, n_found);
    mdns_msg_free(msg);
    return err;
}
