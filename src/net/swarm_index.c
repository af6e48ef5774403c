/*
 * The swarm's hash tables (swarm_int.h): intrusive chained tables keyed
 * by bytes, so that finding a peer's connections or the handshakes from
 * one address costs the same with ten thousand peers as with one.
 *
 * Keys come from the network (PeerIDs, addresses), so the hash is seeded
 * with a random value per table: a peer cannot choose keys that all land
 * in one chain without knowing it. The table doubles when it holds as
 * many entries as buckets and halves when it holds under an eighth, so
 * its memory follows the number of entries both ways.
 */
#include "net/swarm_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "fastn/err.h"

#define HTAB_MIN 16

void swarm__htab_init(struct swarm_htab *t)
{
    memset(t, 0, sizeof(*t));
    if (getrandom(&t->seed, sizeof(t->seed), 0) != sizeof(t->seed))
        t->seed = (uint32_t)(uintptr_t)t ^ (uint32_t)uv_hrtime();
}

void swarm__htab_cleanup(struct swarm_htab *t)
{
    free(t->b);
    t->b = NULL;
    t->nb = t->count = 0;
}

/* FNV-1a over the seed and the bytes, then murmur3's finalizer so that
 * the low bits (the bucket) depend on every byte. */
uint32_t swarm__hash(const struct swarm_htab *t, const void *p, size_t n)
{
    const uint8_t *s = p;
    uint32_t h = 2166136261u ^ t->seed;

    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 16777619u;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static int rehash(struct swarm_htab *t, uint32_t nb)
{
    struct swarm_hnode **b = calloc(nb, sizeof(*b));

    if (!b)
        return FASTN_ERR_NOMEM;
    for (uint32_t i = 0; i < t->nb; i++) {
        struct swarm_hnode *n = t->b[i], *next;
        for (; n; n = next) {
            next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
    return 0;
}

struct swarm_hnode *swarm__htab_first(const struct swarm_htab *t, uint32_t hash)
{
    struct swarm_hnode *n = t->nb ? t->b[hash & (t->nb - 1)] : NULL;

    while (n && n->hash != hash)
        n = n->next;
    return n;
}

struct swarm_hnode *swarm__htab_next(const struct swarm_hnode *n)
{
    uint32_t hash = n->hash;

    for (n = n->next; n && n->hash != hash; n = n->next)
        ;
    return (struct swarm_hnode *)n;
}

int swarm__htab_add(struct swarm_htab *t, struct swarm_hnode *n, uint32_t hash)
{
    uint32_t i;

    if (t->count >= t->nb) {
        int err = rehash(t, t->nb ? t->nb * 2 : HTAB_MIN);
        if (err)
            return err;
    }
    n->hash = hash;
    i = hash & (t->nb - 1);
    n->next = t->b[i];
    t->b[i] = n;
    t->count++;
    return 0;
}

void swarm__htab_del(struct swarm_htab *t, struct swarm_hnode *n)
{
    struct swarm_hnode **pp = &t->b[n->hash & (t->nb - 1)];

    while (*pp != n)
        pp = &(*pp)->next;
    *pp = n->next;
    n->next = NULL;
    if (--t->count == 0)
        swarm__htab_cleanup(t);
    else if (t->nb > HTAB_MIN && t->count < t->nb / 8)
        rehash(t, t->nb / 2); /* on failure it stays as large: harmless */
}

/* --- the peer index ----------------------------------------------------------
 * One entry per peer with upgraded connections; its best connection is
 * the one ready longest that is neither closing nor draining (what both
 * sides of a duplicate keep), so finding the connection a stream should
 * use is one lookup, whatever the number of peers. */

static uint32_t peer_hash(const struct swarm *sw, const struct peer_id *id)
{
    return swarm__hash(&sw->peers, id->bytes, id->len);
}

struct swarm_peer *swarm__peer_find(const struct swarm *sw,
                                    const struct peer_id *id)
{
    struct swarm_hnode *n = swarm__htab_first(&sw->peers, peer_hash(sw, id));

    for (; n; n = swarm__htab_next(n)) {
        struct swarm_peer *pe = (struct swarm_peer *)n;
        if (peer_id_equal(&pe->id, id))
            return pe;
    }
    return NULL;
}

void swarm__peer_update(struct swarm_peer *pe)
{
    struct swarm_conn *best = NULL;

    for (struct swarm_conn *sc = pe->conns; sc; sc = sc->pnext)
        if (!sc->closing && !sc->draining &&
            (!best || (best->limited && !sc->limited) ||
             (best->limited == sc->limited && sc->ready_us < best->ready_us)))
            best = sc;
    if (pe->conns) /* the swarm is reached through any of them */
        pe->conns->sw->n_peers += (best != NULL) - (pe->best != NULL);
    pe->best = best;
}

int swarm__peer_add(struct swarm_conn *sc)
{
    struct swarm *sw = sc->sw;
    struct swarm_peer *pe = swarm__peer_find(sw, &sc->peer);

    if (!pe) {
        pe = calloc(1, sizeof(*pe));
        if (!pe)
            return FASTN_ERR_NOMEM;
        pe->id = sc->peer;
        if (swarm__htab_add(&sw->peers, &pe->node, peer_hash(sw, &sc->peer))) {
            free(pe);
            return FASTN_ERR_NOMEM;
        }
    }
    sc->pe = pe;
    sc->pnext = pe->conns;
    sc->ppprev = &pe->conns;
    if (pe->conns)
        pe->conns->ppprev = &sc->pnext;
    pe->conns = sc;
    swarm__peer_update(pe);
    return 0;
}

void swarm__peer_remove(struct swarm_conn *sc)
{
    struct swarm_peer *pe = sc->pe;
    struct swarm *sw = sc->sw;

    if (!pe)
        return;
    *sc->ppprev = sc->pnext;
    if (sc->pnext)
        sc->pnext->ppprev = sc->ppprev;
    sc->pe = NULL;
    sc->pnext = NULL;
    sc->ppprev = NULL;
    if (pe->conns) {
        swarm__peer_update(pe);
        return;
    }
    if (pe->best)
        sw->n_peers--;
    swarm__htab_del(&sw->peers, &pe->node);
    swarm__relay_peer_gone(sw, &pe->id);
    free(pe);
}
