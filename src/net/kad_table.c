/*
 * Kademlia's routing table: k-buckets by the common prefix length of a
 * peer's key with ours, each holding at most KAD_K peers (least recently
 * seen first) and a small replacement cache; and its file form. See
 * kad.h.
 *
 * Liveness replacement (Kademlia §2.2): a full bucket keeps its old,
 * live peers; a newcomer waits in the replacement cache while the caller
 * pings the least recently seen one, which is evicted only if it fails.
 * An entry not heard from for KAD_STALE_US is replaced at once.
 */
#include "net/kad.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "fastn/err.h"

void kad_table_init(struct kad_table *t, const struct peer_id *self)
{
    memset(t, 0, sizeof(*t));
    t->self = *self;
    kad_hash(self->bytes, self->len, t->self_hash);
}

void kad_table_cleanup(struct kad_table *t)
{
    for (size_t i = 0; i < KAD_BUCKETS; i++) {
        free(t->b[i]);
        t->b[i] = NULL;
    }
    t->size = 0;
}

static void entry_set(struct kad_entry *e, const struct peer_id *id,
                      const uint8_t hash[KAD_HASH_LEN],
                      const struct multiaddr *addrs, size_t n, uint64_t now)
{
    e->id = *id;
    memcpy(e->hash, hash, KAD_HASH_LEN);
    e->last_seen = now;
    if (n == 0)
        return; /* keep the addresses we knew */
    e->n_addrs = 0;
    for (size_t i = 0; i < n && e->n_addrs < KAD_ENTRY_ADDRS; i++)
        e->addrs[e->n_addrs++] = addrs[i];
}

static ssize_t index_of(const struct kad_entry *e, size_t n,
                        const struct peer_id *id)
{
    for (size_t i = 0; i < n; i++)
        if (peer_id_equal(&e[i].id, id))
            return (ssize_t)i;
    return -1;
}

/* Moves entry i to the end (most recently seen). */
static void to_back(struct kad_entry *e, size_t n, size_t i)
{
    struct kad_entry tmp = e[i];
    memmove(&e[i], &e[i + 1], (n - i - 1) * sizeof(*e));
    e[n - 1] = tmp;
}

static void remove_at(struct kad_entry *e, size_t *n, size_t i)
{
    memmove(&e[i], &e[i + 1], (*n - i - 1) * sizeof(*e));
    (*n)--;
}

static void cache_replacement(struct kad_bucket *b, const struct peer_id *id,
                              const uint8_t *hash, const struct multiaddr *a,
                              size_t n, uint64_t now)
{
    ssize_t i = index_of(b->repl, b->n_repl, id);

    if (i >= 0)
        remove_at(b->repl, &b->n_repl, (size_t)i);
    else if (b->n_repl == KAD_REPLACEMENTS)
        remove_at(b->repl, &b->n_repl, 0); /* drop the oldest */
    memset(&b->repl[b->n_repl], 0, sizeof(b->repl[0]));
    entry_set(&b->repl[b->n_repl++], id, hash, a, n, now);
}

int kad_table_add(struct kad_table *t, const struct peer_id *id,
                  const struct multiaddr *addrs, size_t n, uint64_t now,
                  struct peer_id *check)
{
    uint8_t hash[KAD_HASH_LEN];
    struct kad_bucket *b;
    unsigned cpl;
    ssize_t i;

    if (peer_id_equal(id, &t->self))
        return FASTN_ERR_INVAL;
    kad_hash(id->bytes, id->len, hash);
    cpl = kad_common_prefix(hash, t->self_hash);
    if (!t->b[cpl] && !(t->b[cpl] = calloc(1, sizeof(*t->b[cpl]))))
        return FASTN_ERR_NOMEM;
    b = t->b[cpl];
    i = index_of(b->e, b->n, id);
    if (i >= 0) {
        entry_set(&b->e[i], id, hash, addrs, n, now);
        to_back(b->e, b->n, (size_t)i);
        return KAD_ADD_UPDATED;
    }
    if (b->n == KAD_K && now - b->e[0].last_seen >= KAD_STALE_US) {
        remove_at(b->e, &b->n, 0);
        t->size--;
    }
    if (b->n < KAD_K) {
        memset(&b->e[b->n], 0, sizeof(b->e[0]));
        entry_set(&b->e[b->n++], id, hash, addrs, n, now);
        t->size++;
        return KAD_ADD_ADDED;
    }
    cache_replacement(b, id, hash, addrs, n, now);
    if (check)
        *check = b->e[0].id;
    return KAD_ADD_FULL;
}

void kad_table_failed(struct kad_table *t, const struct peer_id *id)
{
    uint8_t hash[KAD_HASH_LEN];
    struct kad_bucket *b;
    ssize_t i;

    kad_hash(id->bytes, id->len, hash);
    b = t->b[kad_common_prefix(hash, t->self_hash)];
    if (!b || (i = index_of(b->e, b->n, id)) < 0)
        return;
    remove_at(b->e, &b->n, (size_t)i);
    t->size--;
    if (b->n_repl > 0) { /* the newest replacement takes the place */
        b->e[b->n++] = b->repl[--b->n_repl];
        t->size++;
    }
}

const struct kad_entry *kad_table_find(const struct kad_table *t,
                                       const struct peer_id *id)
{
    uint8_t hash[KAD_HASH_LEN];
    const struct kad_bucket *b;
    ssize_t i;

    kad_hash(id->bytes, id->len, hash);
    b = t->b[kad_common_prefix(hash, t->self_hash)];
    if (!b || (i = index_of(b->e, b->n, id)) < 0)
        return NULL;
    return &b->e[i];
}

size_t kad_table_size(const struct kad_table *t)
{
    return t->size;
}

/* Inserts e into out (sorted by distance to target, at most max). */
static void insert_sorted(const uint8_t *target, const struct kad_entry *e,
                          const struct kad_entry **out, size_t *k, size_t max)
{
    size_t pos = *k;

    while (pos > 0 && kad_distance_cmp(target, e->hash, out[pos - 1]->hash) < 0)
        pos--;
    if (pos >= max)
        return;
    if (*k < max)
        (*k)++;
    memmove(&out[pos + 1], &out[pos], (*k - pos - 1) * sizeof(*out));
    out[pos] = e;
}

size_t kad_table_closest(const struct kad_table *t,
                         const uint8_t target[KAD_HASH_LEN],
                         const struct kad_entry **out, size_t max)
{
    size_t k = 0;

    for (size_t i = 0; i < KAD_BUCKETS; i++)
        for (size_t j = 0; t->b[i] && j < t->b[i]->n; j++)
            insert_sorted(target, &t->b[i]->e[j], out, &k, max);
    return k;
}

/* --- the file form ------------------------------------------------------- */

#define MAGIC "FKAD"
#define VERSION 1

int kad_table_save(const struct kad_table *t, struct buf *out)
{
    int err = buf_append(out, MAGIC, 4);

    if (!err)
        err = buf_put_u8(out, VERSION);
    for (size_t i = 0; !err && i < KAD_BUCKETS; i++) {
        for (size_t j = 0; !err && t->b[i] && j < t->b[i]->n; j++) {
            const struct kad_entry *e = &t->b[i]->e[j];
            err = buf_put_uvarint(out, e->id.len);
            if (!err)
                err = buf_append(out, e->id.bytes, e->id.len);
            if (!err)
                err = buf_put_u8(out, (uint8_t)e->n_addrs);
            for (size_t a = 0; !err && a < e->n_addrs; a++) {
                err = buf_put_uvarint(out, e->addrs[a].len);
                if (!err)
                    err = buf_append(out, e->addrs[a].bytes, e->addrs[a].len);
            }
        }
    }
    return err;
}

static int load_entry(struct kad_table *t, struct buf_reader *r, uint64_t now)
{
    struct multiaddr addrs[KAD_ENTRY_ADDRS];
    struct peer_id id;
    const uint8_t *p;
    uint64_t len;
    uint8_t n;
    int rc;

    if (buf_get_uvarint(r, &len) || len > PEER_ID_MAX_BYTES ||
        buf_get_span(r, (size_t)len, &p) ||
        peer_id_from_bytes(p, (size_t)len, &id) || buf_get_u8(r, &n) ||
        n > KAD_ENTRY_ADDRS)
        return FASTN_ERR_MALFORMED;
    for (uint8_t i = 0; i < n; i++)
        if (buf_get_uvarint(r, &len) || len > MULTIADDR_MAX_BYTES ||
            buf_get_span(r, (size_t)len, &p) ||
            multiaddr_from_bytes(p, (size_t)len, &addrs[i]))
            return FASTN_ERR_MALFORMED;
    rc = kad_table_add(t, &id, addrs, n, now, NULL);
    if (rc == FASTN_ERR_NOMEM)
        return rc;
    return 0; /* ourselves, or a full bucket: skipped */
}

int kad_table_load(struct kad_table *t, const uint8_t *p, size_t n,
                   uint64_t now)
{
    struct buf_reader r;
    uint8_t magic[4], version;
    int err = 0;

    buf_reader_init(&r, p, n);
    if (buf_get_bytes(&r, magic, 4) || memcmp(magic, MAGIC, 4) != 0 ||
        buf_get_u8(&r, &version))
        return FASTN_ERR_MALFORMED;
    if (version != VERSION)
        return FASTN_ERR_UNSUPPORTED;
    for (size_t i = 0; !err && buf_reader_left(&r) && i < KAD_LOAD_MAX; i++)
        err = load_entry(t, &r, now);
    return err;
}
