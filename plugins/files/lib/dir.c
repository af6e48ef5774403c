/*
 * Folders: a UnixFS Directory node with one link per entry, sorted by
 * name bytes (dag-pb's rule), or, when the profile's estimate of that
 * node is over its threshold (IPIP-499: strictly greater), a HAMT of
 * HAMTShard nodes as go-unixfs and js ipfs-unixfs-importer build it:
 * 256 buckets a node, the bucket of a name at depth d being byte d of
 * murmur3-x64-128(name) (h1, big-endian), a bucket with one entry a link
 * "XX" + name, a bucket with more a sub-shard linked as "XX" (XX the
 * bucket in upper-case hex), the node's Data the bitfield of the buckets
 * in use (big-endian, without leading zero bytes), hashType 0x22, fanout
 * 256.
 *
 * The estimate counts every link, sub-folders included (as kubo does;
 * the js importer leaves out sub-folders not yet written when it decides,
 * so a folder of many sub-folders and few files shards in kubo and here
 * but not in helia).
 */
#include <stdlib.h>
#include <string.h>

#include "files_int.h"

/* 128 bits of hash; deeper means names crafted to collide */
#define HAMT_MAX_DEPTH 16
#define FANOUT 256

struct dir_ent {
    uint8_t *mem; /* name, then the child's binary CID */
    uint16_t name_len;
    uint8_t cid_len;
    uint64_t tsize;
    uint64_t hash; /* the first 64 bits of murmur3(name), for the HAMT */
};

struct files_dir {
    const struct files_profile *prof;
    files_block_cb cb;
    void *ctx;
    struct dir_ent *ents;
    size_t n, cap;
    int err;
};

bool files_name_is_valid(const uint8_t *name, size_t n)
{
    if (n == 0 || n > FILES_NAME_MAX)
        return false;
    if ((n == 1 && name[0] == '.') || (n == 2 && !memcmp(name, "..", 2)))
        return false;
    return !memchr(name, '/', n) && !memchr(name, '\0', n);
}

int files_dir_new(const struct files_profile *p, files_block_cb cb, void *ctx,
                  struct files_dir **out)
{
    struct files_dir *d;

    if (!p || !cb || p->cid_version > 1 || p->fanout_bits != 8)
        return FASTN_ERR_INVAL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return FASTN_ERR_NOMEM;
    d->prof = p;
    d->cb = cb;
    d->ctx = ctx;
    *out = d;
    return 0;
}

void files_dir_free(struct files_dir *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->ents[i].mem);
    free(d->ents);
    free(d);
}

int files_dir_add(struct files_dir *d, const char *name, size_t n,
                  const struct files_entry *child)
{
    uint8_t cid[FILES_CID_BYTES_MAX];
    struct dir_ent *e;
    int clen;

    if (!files_name_is_valid((const uint8_t *)name, n))
        return FASTN_ERR_FILES_BAD_NAME;
    if (d->n == FILES_DIR_MAX_ENTRIES)
        return FASTN_ERR_FILES_LIMIT;
    clen = files_cid_encode(&child->cid, cid, sizeof(cid));
    if (clen < 0)
        return clen;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        e = realloc(d->ents, cap * sizeof(*e));
        if (!e)
            return FASTN_ERR_NOMEM;
        d->ents = e;
        d->cap = cap;
    }
    e = &d->ents[d->n];
    e->mem = malloc(n + (size_t)clen);
    if (!e->mem)
        return FASTN_ERR_NOMEM;
    memcpy(e->mem, name, n);
    memcpy(e->mem + n, cid, (size_t)clen);
    e->name_len = (uint16_t)n;
    e->cid_len = (uint8_t)clen;
    e->tsize = child->tsize;
    d->n++;
    return 0;
}

static int ent_cmp(const void *a, const void *b)
{
    const struct dir_ent *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->mem, y->mem, n);

    if (c)
        return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* Writes a node and reports it: *cid and *tsize (block + link sizes). */
static int node_emit(struct files_dir *d, struct files_wr *w,
                     uint64_t links_tsize, struct files_entry *out)
{
    int err;

    if (w->err)
        return w->err;
    files_cid_of(d->prof->cid_version, FILES_CODEC_DAG_PB, w->p, w->len,
                 &out->cid);
    err = d->cb(d->ctx, &out->cid, w->p, w->len);
    if (err)
        return err;
    out->tsize = links_tsize + w->len;
    out->size = 0;
    out->kind = FILES_KIND_DIR;
    return 0;
}

static int flat_emit(struct files_dir *d, struct files_entry *out)
{
    static const uint8_t dir_data[] = {0x08, FILES_UNIXFS_DIRECTORY};
    struct files_wr w;
    uint64_t tsize = 0;
    int err;

    files_wr_dyn(&w, FILES_MAX_BLOCK);
    for (size_t i = 0; i < d->n; i++) {
        const struct dir_ent *e = &d->ents[i];
        files_wr_pblink(&w, e->mem + e->name_len, e->cid_len, e->mem,
                        e->name_len, true, e->tsize);
        tsize += e->tsize;
    }
    files_wr_lenfield(&w, 1, dir_data, sizeof(dir_data));
    if (w.err == FASTN_ERR_TOO_LARGE)
        w.err = FASTN_ERR_FILES_LIMIT;
    err = node_emit(d, &w, tsize, out);
    files_wr_cleanup(&w);
    return err;
}

/* Would the flat node be over the profile's threshold? */
static bool over_threshold(const struct files_dir *d)
{
    const struct files_profile *p = d->prof;
    /* a Directory's Data field: 0a 02 08 01 */
    uint64_t size = p->shard_rule == FILES_SHARD_BLOCK_BYTES ? 4 : 0;

    for (size_t i = 0; i < d->n; i++) {
        const struct dir_ent *e = &d->ents[i];
        if (p->shard_rule == FILES_SHARD_BLOCK_BYTES)
            size += files_pblink_size(e->cid_len, e->name_len, true, e->tsize,
                                      true);
        else
            size += (uint64_t)e->name_len + e->cid_len;
    }
    return size > p->shard_threshold;
}

static unsigned ent_index(const struct dir_ent *e, unsigned depth)
{
    if (depth < 8)
        return (unsigned)(e->hash >> (56 - 8 * depth)) & 0xff;
    return files_hamt_index(e->mem, e->name_len, depth);
}

/* Orders ents[0..n) by bucket at depth (counting sort through tmp). */
static void bucket_sort(struct dir_ent *ents, struct dir_ent *tmp, size_t n,
                        unsigned depth, uint32_t start[FANOUT + 1])
{
    uint32_t count[FANOUT] = {0};

    for (size_t i = 0; i < n; i++)
        count[ent_index(&ents[i], depth)]++;
    start[0] = 0;
    for (size_t b = 0; b < FANOUT; b++)
        start[b + 1] = start[b] + count[b];
    memset(count, 0, sizeof(count));
    for (size_t i = 0; i < n; i++) {
        unsigned b = ent_index(&ents[i], depth);
        tmp[start[b] + count[b]++] = ents[i];
    }
    memcpy(ents, tmp, n * sizeof(*ents));
}

static void shard_data(struct files_wr *w, const uint32_t start[FANOUT + 1])
{
    uint8_t bits[FANOUT / 8] = {0}, data[64];
    int hi = -1;
    struct files_wr u;

    for (int b = 0; b < FANOUT; b++) {
        if (start[b + 1] > start[b]) {
            bits[b / 8] |= (uint8_t)(1u << (b % 8));
            hi = b;
        }
    }
    /* the bitfield big-endian, without leading zero bytes */
    size_t nb = (size_t)hi / 8 + 1;
    uint8_t be[FANOUT / 8];
    for (size_t j = 0; j < nb; j++)
        be[nb - 1 - j] = bits[j];
    files_wr_fixed(&u, data, sizeof(data));
    files_wr_varfield(&u, 1, FILES_UNIXFS_HAMT_SHARD);
    files_wr_lenfield(&u, 2, be, nb);
    files_wr_varfield(&u, 5, FILES_MH_MURMUR3_X64_64);
    files_wr_varfield(&u, 6, FANOUT);
    files_wr_lenfield(w, 1, data, u.len);
}

static int shard_build(struct files_dir *d, struct dir_ent *ents,
                       struct dir_ent *tmp, size_t n, unsigned depth,
                       struct files_entry *out);

/* Builds a sub-shard and links it from w as label[0..2). */
static int sub_link(struct files_dir *d, struct dir_ent *ents,
                    struct dir_ent *tmp, size_t n, unsigned depth,
                    const uint8_t *label, struct files_wr *w, uint64_t *tsize)
{
    uint8_t cid[FILES_CID_BYTES_MAX];
    struct files_entry sub;
    int err = shard_build(d, ents, tmp, n, depth, &sub);
    int clen = err ? err : files_cid_encode(&sub.cid, cid, sizeof(cid));

    if (clen < 0)
        return clen;
    files_wr_pblink(w, cid, (size_t)clen, label, 2, true, sub.tsize);
    *tsize += sub.tsize;
    return 0;
}

/* Builds the shard over ents[0..n) at depth; its children first. */
static int shard_build(struct files_dir *d, struct dir_ent *ents,
                       struct dir_ent *tmp, size_t n, unsigned depth,
                       struct files_entry *out)
{
    uint32_t start[FANOUT + 1]; /* 1 KiB: the plugin's stack is 64 KiB */
    struct files_wr w;
    uint64_t tsize = 0;
    uint8_t label[2 + FILES_NAME_MAX];
    int err = 0;

    if (depth >= HAMT_MAX_DEPTH)
        return FASTN_ERR_FILES_LIMIT;
    bucket_sort(ents, tmp, n, depth, start);
    files_wr_dyn(&w, FILES_MAX_BLOCK);
    for (unsigned b = 0; b < FANOUT && !err; b++) {
        size_t lo = start[b], cnt = start[b + 1] - lo;
        static const char hex[] = "0123456789ABCDEF";
        label[0] = (uint8_t)hex[b >> 4];
        label[1] = (uint8_t)hex[b & 15];
        if (cnt == 1) {
            const struct dir_ent *e = &ents[lo];
            memcpy(label + 2, e->mem, e->name_len);
            files_wr_pblink(&w, e->mem + e->name_len, e->cid_len, label,
                            2 + (size_t)e->name_len, true, e->tsize);
            tsize += e->tsize;
        } else if (cnt > 1) {
            err = sub_link(d, ents + lo, tmp + lo, cnt, depth + 1, label, &w,
                           &tsize);
        }
    }
    if (!err) {
        shard_data(&w, start);
        err = node_emit(d, &w, tsize, out);
    }
    files_wr_cleanup(&w);
    return err;
}

static int hamt_emit(struct files_dir *d, struct files_entry *out)
{
    struct dir_ent *tmp = malloc(d->n * sizeof(*tmp));
    uint8_t h[16];
    int err;

    if (!tmp)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < d->n; i++) {
        struct dir_ent *e = &d->ents[i];
        files_murmur3_128(e->mem, e->name_len, h);
        e->hash = 0;
        for (int k = 0; k < 8; k++)
            e->hash = (e->hash << 8) | h[k];
    }
    err = shard_build(d, d->ents, tmp, d->n, 0, out);
    free(tmp);
    return err;
}

int files_dir_finish(struct files_dir *d, struct files_entry *out)
{
    if (d->err)
        return d->err;
    if (d->n > 1)
        qsort(d->ents, d->n, sizeof(*d->ents), ent_cmp);
    for (size_t i = 1; i < d->n; i++)
        if (ent_cmp(&d->ents[i - 1], &d->ents[i]) == 0)
            return d->err = FASTN_ERR_EXISTS;
    if (over_threshold(d))
        d->err = hamt_emit(d, out);
    else
        d->err = flat_emit(d, out);
    return d->err;
}

int files_symlink_import(const struct files_profile *p, const char *target,
                         size_t n, files_block_cb cb, void *ctx,
                         struct files_entry *out)
{
    struct files_wr w, u;
    int err;

    /* UnixFS { Type: Symlink, Data: target }, as go-unixfs SymlinkData */
    files_wr_dyn(&u, FILES_MAX_BLOCK);
    files_wr_varfield(&u, 1, FILES_UNIXFS_SYMLINK);
    files_wr_lenfield(&u, 2, target, n);
    files_wr_dyn(&w, FILES_MAX_BLOCK);
    files_wr_lenfield(&w, 1, u.p, u.len);
    err = w.err ? w.err : u.err;
    if (!err) {
        files_cid_of(p->cid_version, FILES_CODEC_DAG_PB, w.p, w.len, &out->cid);
        err = cb(ctx, &out->cid, w.p, w.len);
        out->tsize = w.len;
        out->size = 0;
        out->kind = FILES_KIND_SYMLINK;
    }
    files_wr_cleanup(&u);
    files_wr_cleanup(&w);
    return err;
}
