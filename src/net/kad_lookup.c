/*
 * The iterative lookup (libp2p/specs kad-dht "Peer routing"); see kad.h.
 *
 * Candidates are kept sorted by distance to the target, at most
 * cfg.max_candidates of them: a newcomer farther than all of a full list
 * is dropped, a closer one pushes out the farthest not yet asked. Each
 * peer is asked once. The lookup is done when the k closest candidates
 * that have not failed have all answered, when nobody is left to ask, or
 * after cfg.max_queries requests: so neither a peer that floods us with
 * closer peers nor one that loops can keep it going.
 */
#include "net/kad.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"

void kad_lookup_config_default(struct kad_lookup_config *cfg)
{
    cfg->k = KAD_K;
    cfg->alpha = KAD_ALPHA;
    cfg->max_candidates = 200;
    cfg->max_queries = 100;
    cfg->query_timeout_us = 10 * 1000000ull;
}

static struct kad_cand *find(struct kad_lookup *lk, const struct peer_id *id)
{
    for (size_t i = 0; i < lk->n; i++)
        if (peer_id_equal(&lk->c[i].id, id))
            return &lk->c[i];
    return NULL;
}

/* Adds a candidate in distance order (bounded); ignores known peers. */
static void add_cand(struct kad_lookup *lk, const struct peer_id *id,
                     const struct multiaddr *addrs, size_t n)
{
    uint8_t hash[KAD_HASH_LEN];
    size_t pos;

    if (peer_id_equal(id, &lk->self) || find(lk, id))
        return;
    kad_hash(id->bytes, id->len, hash);
    pos = lk->n;
    while (pos > 0 &&
           kad_distance_cmp(lk->target, hash, lk->c[pos - 1].hash) < 0)
        pos--;
    if (lk->n == lk->cfg.max_candidates) {
        /* full: make room by dropping the farthest peer not yet asked */
        size_t victim = lk->n;
        while (victim > pos && lk->c[victim - 1].state != KAD_CAND_NEW)
            victim--;
        if (victim == pos)
            return;
        memmove(&lk->c[victim - 1], &lk->c[victim],
                (lk->n - victim) * sizeof(lk->c[0]));
        lk->n--;
    }
    memmove(&lk->c[pos + 1], &lk->c[pos], (lk->n - pos) * sizeof(lk->c[0]));
    memset(&lk->c[pos], 0, sizeof(lk->c[0]));
    lk->c[pos].id = *id;
    memcpy(lk->c[pos].hash, hash, KAD_HASH_LEN);
    for (size_t i = 0; i < n && i < KAD_ENTRY_ADDRS; i++)
        lk->c[pos].addrs[lk->c[pos].n_addrs++] = addrs[i];
    lk->n++;
}

int kad_lookup_init(struct kad_lookup *lk, const struct kad_lookup_config *cfg,
                    enum kad_type type, const uint8_t *key, size_t key_len,
                    const struct peer_id *self,
                    const struct kad_entry *const *seeds, size_t n_seeds)
{
    memset(lk, 0, sizeof(*lk));
    if (key_len == 0 || key_len > KAD_KEY_MAX)
        return FASTN_ERR_INVAL;
    lk->cfg = *cfg;
    if (!lk->cfg.k)
        lk->cfg.k = KAD_K;
    if (!lk->cfg.alpha)
        lk->cfg.alpha = KAD_ALPHA;
    if (!lk->cfg.max_candidates || lk->cfg.max_candidates > KAD_LOOKUP_MAX)
        lk->cfg.max_candidates = KAD_LOOKUP_MAX;
    if (lk->cfg.max_candidates < lk->cfg.k)
        lk->cfg.max_candidates = lk->cfg.k;
    lk->c = calloc(lk->cfg.max_candidates, sizeof(*lk->c));
    if (!lk->c)
        return FASTN_ERR_NOMEM;
    lk->type = type;
    memcpy(lk->key, key, key_len);
    lk->key_len = key_len;
    kad_hash(key, key_len, lk->target);
    lk->self = *self;
    for (size_t i = 0; i < n_seeds; i++)
        add_cand(lk, &seeds[i]->id, seeds[i]->addrs, seeds[i]->n_addrs);
    return 0;
}

void kad_lookup_cleanup(struct kad_lookup *lk)
{
    free(lk->c);
    lk->c = NULL;
    lk->n = 0;
}

/* The k closest live candidates have all answered. */
static bool converged(const struct kad_lookup *lk)
{
    unsigned seen = 0;

    for (size_t i = 0; i < lk->n && seen < lk->cfg.k; i++) {
        if (lk->c[i].state == KAD_CAND_FAILED)
            continue;
        if (lk->c[i].state != KAD_CAND_OK)
            return false;
        seen++;
    }
    return true;
}

int kad_lookup_next(struct kad_lookup *lk, uint64_t now, struct kad_query *q)
{
    struct kad_cand *pick = NULL;
    unsigned live = 0;

    if (lk->stopped || converged(lk) || lk->queries >= lk->cfg.max_queries)
        return lk->inflight ? 0 : KAD_LOOKUP_DONE;
    /* only the k closest live candidates are worth asking */
    for (size_t i = 0; i < lk->n && live < lk->cfg.k && !pick; i++) {
        if (lk->c[i].state == KAD_CAND_FAILED)
            continue;
        live++;
        if (lk->c[i].state == KAD_CAND_NEW)
            pick = &lk->c[i];
    }
    if (!pick)
        return lk->inflight ? 0 : KAD_LOOKUP_DONE;
    if (lk->inflight >= lk->cfg.alpha)
        return 0;
    pick->state = KAD_CAND_INFLIGHT;
    pick->sent_at = now;
    lk->inflight++;
    lk->queries++;
    q->peer = pick;
    q->type = lk->type;
    q->key = lk->key;
    q->key_len = lk->key_len;
    return 1;
}

int kad_lookup_response(struct kad_lookup *lk, const struct peer_id *peer,
                        const struct kad_msg *m)
{
    struct kad_cand *c = find(lk, peer);
    size_t take;

    if (!c || c->state != KAD_CAND_INFLIGHT)
        return FASTN_ERR_NOT_FOUND;
    c->state = KAD_CAND_OK;
    lk->inflight--;
    /* a peer's word counts for at most k peers */
    take = m->n_closer < lk->cfg.k ? m->n_closer : lk->cfg.k;
    for (size_t i = 0; i < take; i++)
        add_cand(lk, &m->closer[i].id, m->closer[i].addrs,
                 m->closer[i].n_addrs);
    return 0;
}

void kad_lookup_failed(struct kad_lookup *lk, const struct peer_id *peer)
{
    struct kad_cand *c = find(lk, peer);

    if (c && c->state == KAD_CAND_INFLIGHT) {
        c->state = KAD_CAND_FAILED;
        lk->inflight--;
    }
}

void kad_lookup_tick(struct kad_lookup *lk, uint64_t now)
{
    for (size_t i = 0; i < lk->n; i++)
        if (lk->c[i].state == KAD_CAND_INFLIGHT &&
            now - lk->c[i].sent_at >= lk->cfg.query_timeout_us) {
            lk->c[i].state = KAD_CAND_FAILED;
            lk->inflight--;
        }
}

uint64_t kad_lookup_deadline(const struct kad_lookup *lk)
{
    uint64_t t = UINT64_MAX;
    for (size_t i = 0; i < lk->n; i++)
        if (lk->c[i].state == KAD_CAND_INFLIGHT &&
            lk->c[i].sent_at + lk->cfg.query_timeout_us < t)
            t = lk->c[i].sent_at + lk->cfg.query_timeout_us;
    return t;
}

void kad_lookup_stop(struct kad_lookup *lk)
{
    lk->stopped = true;
}

size_t kad_lookup_closest(const struct kad_lookup *lk,
                          const struct kad_cand **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < lk->n && k < max; i++)
        if (lk->c[i].state == KAD_CAND_OK)
            out[k++] = &lk->c[i];
    return k;
}

const struct kad_cand *kad_lookup_get(const struct kad_lookup *lk,
                                      const struct peer_id *id)
{
    for (size_t i = 0; i < lk->n; i++)
        if (peer_id_equal(&lk->c[i].id, id))
            return &lk->c[i];
    return NULL;
}
