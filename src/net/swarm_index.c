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
