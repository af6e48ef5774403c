/*
 * The file importer: fixed-size chunks into a balanced tree, as
 * ipfs-unixfs-importer's balanced layout and boxo's balanced builder make
 * it (IPIP-499, "balanced"). Chunk k is leaf k; leaves are taken
 * max_links at a time into a parent node, parents max_links at a time
 * into a grandparent, and so on, until one node is left: the root. A file
 * of a single chunk is that chunk's leaf itself.
 *
 * Streaming: level i holds the links of the node being filled at height
 * i; when it holds max_links, that node is written and becomes one link
 * of level i + 1. At the end each level is closed from the bottom up,
 * which gives the same tree as batching whole levels (the last node of a
 * level may have fewer links, even one; every leaf is at the same depth).
 *
 * Leaves: raw blocks (CIDv1 raw), or dag-pb nodes holding UnixFS File
 * Data with the chunk (unixfs-v0-2015). A dag-pb leaf is built around
 * the chunk in place: the buffer keeps room for the header before it and
 * the trailer (filesize) after it, so a chunk is never copied twice.
 */
#include <stdlib.h>
#include <string.h>

#include "files_int.h"

#define LEAF_HDR 24     /* 0a L 08 02 12 L: at most 1+10+2+1+10 */
#define LEAF_TRAILER 11 /* 18 L */
#define MAX_LEVELS 12
#define OWN_CID_MAX 40 /* our CIDs: sha2-256, at most 36 bytes */

const struct files_profile files_profile_v1_2025 = {
    .name = "unixfs-v1-2025",
    .cid_version = 1,
    .raw_leaves = true,
    .chunk_size = 1048576,
    .max_links = 1024,
    .shard_rule = FILES_SHARD_BLOCK_BYTES,
    .shard_threshold = 262144,
    .fanout_bits = 8,
};

const struct files_profile files_profile_v0_2015 = {
    .name = "unixfs-v0-2015",
    .cid_version = 0,
    .raw_leaves = false,
    .chunk_size = 262144,
    .max_links = 174,
    .shard_rule = FILES_SHARD_LINKS_BYTES,
    .shard_threshold = 262144,
    .fanout_bits = 8,
};

const struct files_profile *files_profile_find(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, files_profile_v1_2025.name) == 0)
        return &files_profile_v1_2025;
    if (strcmp(name, files_profile_v0_2015.name) == 0)
        return &files_profile_v0_2015;
    return NULL;
}

struct imp_link {
    uint8_t cid[OWN_CID_MAX];
    uint8_t cid_len;
    uint64_t tsize; /* the child's cumulative DAG size */
    uint64_t fsize; /* the file bytes under the child */
};

struct files_importer {
    const struct files_profile *prof;
    files_block_cb cb;
    void *ctx;
    uint8_t *buf; /* LEAF_HDR + chunk_size + LEAF_TRAILER */
    size_t fill;
    uint64_t nchunks;
    uint64_t total;
    struct imp_link *levels[MAX_LEVELS];
    size_t nlinks[MAX_LEVELS];
    uint8_t *node; /* a parent node being encoded */
    size_t node_cap;
    uint8_t *data; /* its UnixFS Data */
    size_t data_cap;
    int err;
};

static bool profile_ok(const struct files_profile *p)
{
    return p && p->cid_version <= 1 && p->chunk_size >= 1 &&
           p->chunk_size <= FILES_MAX_BLOCK - LEAF_HDR - LEAF_TRAILER &&
           p->max_links >= 2 && p->max_links <= 8192 && p->fanout_bits == 8;
}

int files_importer_new(const struct files_profile *p, files_block_cb cb,
                       void *ctx, struct files_importer **out)
{
    struct files_importer *im;

    if (!profile_ok(p) || !cb)
        return FASTN_ERR_INVAL;
    im = calloc(1, sizeof(*im));
    if (!im)
        return FASTN_ERR_NOMEM;
    im->prof = p;
    im->cb = cb;
    im->ctx = ctx;
    /* links at most 55 bytes each; Data a type, a size, a size a link */
    im->node_cap = p->max_links * 66 + 64;
    im->data_cap = p->max_links * 11 + 32;
    im->buf = malloc(LEAF_HDR + p->chunk_size + LEAF_TRAILER);
    im->node = malloc(im->node_cap);
    im->data = malloc(im->data_cap);
    if (!im->buf || !im->node || !im->data) {
        files_importer_free(im);
        return FASTN_ERR_NOMEM;
    }
    *out = im;
    return 0;
}

void files_importer_reset(struct files_importer *im)
{
    im->fill = 0;
    im->nchunks = 0;
    im->total = 0;
    memset(im->nlinks, 0, sizeof(im->nlinks));
    im->err = 0;
}

void files_importer_free(struct files_importer *im)
{
    if (!im)
        return;
    for (size_t i = 0; i < MAX_LEVELS; i++)
        free(im->levels[i]);
    free(im->buf);
    free(im->node);
    free(im->data);
    free(im);
}

static int link_set(struct imp_link *lk, const struct files_cid *cid,
                    uint64_t tsize, uint64_t fsize)
{
    int n = files_cid_encode(cid, lk->cid, sizeof(lk->cid));

    if (n < 0)
        return n;
    lk->cid_len = (uint8_t)n;
    lk->tsize = tsize;
    lk->fsize = fsize;
    return 0;
}

static int level_flush(struct files_importer *im, size_t i);

/* Adds a link to level i, writing the level's node when it is full. */
static int level_push(struct files_importer *im, size_t i,
                      const struct imp_link *lk)
{
    if (i >= MAX_LEVELS)
        return FASTN_ERR_FILES_LIMIT;
    if (!im->levels[i]) {
        im->levels[i] = malloc(im->prof->max_links * sizeof(*lk));
        if (!im->levels[i])
            return FASTN_ERR_NOMEM;
    }
    im->levels[i][im->nlinks[i]++] = *lk;
    if (im->nlinks[i] == im->prof->max_links)
        return level_flush(im, i);
    return 0;
}

/* Encodes the UnixFS File Data of a parent over level i's links. */
static int parent_data(struct files_importer *im, size_t i, uint64_t *fsize)
{
    struct files_wr w;
    uint64_t sum = 0;
    bool over = false;

    for (size_t k = 0; k < im->nlinks[i]; k++)
        sum = files_add_sat(sum, im->levels[i][k].fsize, &over);
    if (over)
        return FASTN_ERR_FILES_LIMIT;
    files_wr_fixed(&w, im->data, im->data_cap);
    files_wr_varfield(&w, 1, FILES_UNIXFS_FILE);
    files_wr_varfield(&w, 3, sum);
    for (size_t k = 0; k < im->nlinks[i]; k++)
        files_wr_varfield(&w, 4, im->levels[i][k].fsize);
    *fsize = sum;
    return w.err ? w.err : (int)w.len;
}

/* Writes the node over level i's links and pushes it to level i + 1. */
static int level_flush(struct files_importer *im, size_t i)
{
    struct files_wr w;
    struct files_cid cid;
    struct imp_link parent;
    uint64_t fsize, tsize;
    int dlen, err;

    dlen = parent_data(im, i, &fsize);
    if (dlen < 0)
        return dlen;
    files_wr_fixed(&w, im->node, im->node_cap);
    tsize = 0;
    for (size_t k = 0; k < im->nlinks[i]; k++) {
        const struct imp_link *lk = &im->levels[i][k];
        /* file links have an empty Name, as both importers write */
        files_wr_pblink(&w, lk->cid, lk->cid_len, NULL, 0, true, lk->tsize);
        tsize += lk->tsize;
    }
    files_wr_lenfield(&w, 1, im->data, (size_t)dlen);
    if (w.err)
        return w.err;
    files_cid_of(im->prof->cid_version, FILES_CODEC_DAG_PB, w.p, w.len, &cid);
    err = im->cb(im->ctx, &cid, w.p, w.len);
    if (err)
        return err;
    err = link_set(&parent, &cid, tsize + w.len, fsize);
    if (err)
        return err;
    im->nlinks[i] = 0;
    return level_push(im, i + 1, &parent);
}

/* A dag-pb leaf around the chunk at buf + LEAF_HDR: sets *block, *blen. */
static void leaf_wrap(struct files_importer *im, size_t len,
                      const uint8_t **block, size_t *blen)
{
    uint8_t *data = im->buf + LEAF_HDR;
    uint8_t hdr[LEAF_HDR], *t = data + len;
    size_t inner, h = 0, tl = 0;

    /* UnixFS { Type: File, Data: chunk (when not empty), filesize } */
    inner = 2 + (len ? 1 + files_uvarint_len(len) + len : 0) + 1 +
            files_uvarint_len(len);
    hdr[h++] = 0x0a; /* PBNode.Data */
    h += files_uvarint_put(inner, hdr + h);
    hdr[h++] = 0x08;
    hdr[h++] = FILES_UNIXFS_FILE;
    if (len) {
        hdr[h++] = 0x12;
        h += files_uvarint_put(len, hdr + h);
    }
    memcpy(data - h, hdr, h);
    t[tl++] = 0x18;
    tl += files_uvarint_put(len, t + tl);
    *block = data - h;
    *blen = h + len + tl;
}

/* Makes the leaf of one chunk (at data, or in buf for dag-pb leaves). */
static int leaf_emit(struct files_importer *im, const uint8_t *data, size_t len)
{
    const struct files_profile *p = im->prof;
    struct files_cid cid;
    struct imp_link lk;
    const uint8_t *block = data;
    size_t blen = len;
    int err;

    if (p->raw_leaves) {
        files_cid_of(1, FILES_CODEC_RAW, block, blen, &cid);
    } else {
        leaf_wrap(im, len, &block, &blen);
        files_cid_of(p->cid_version, FILES_CODEC_DAG_PB, block, blen, &cid);
    }
    err = im->cb(im->ctx, &cid, block, blen);
    if (err)
        return err;
    im->nchunks++;
    im->fill = 0;
    err = link_set(&lk, &cid, blen, len);
    return err ? err : level_push(im, 0, &lk);
}

int files_importer_write(struct files_importer *im, const void *p, size_t n)
{
    const uint8_t *src = p;
    size_t chunk = im->prof->chunk_size;

    if (im->err)
        return im->err;
    if (n > UINT64_MAX - im->total)
        return im->err = FASTN_ERR_FILES_LIMIT;
    im->total += n;
    while (n) {
        /* a whole raw chunk straight from the caller's bytes */
        if (im->fill == 0 && n >= chunk && im->prof->raw_leaves) {
            if ((im->err = leaf_emit(im, src, chunk)))
                return im->err;
            src += chunk;
            n -= chunk;
            continue;
        }
        size_t take = chunk - im->fill < n ? chunk - im->fill : n;
        memcpy(im->buf + LEAF_HDR + im->fill, src, take);
        im->fill += take;
        src += take;
        n -= take;
        if (im->fill == chunk &&
            (im->err = leaf_emit(im, im->buf + LEAF_HDR, chunk)))
            return im->err;
    }
    return 0;
}

static bool level_above(const struct files_importer *im, size_t i)
{
    for (size_t j = i + 1; j < MAX_LEVELS; j++)
        if (im->nlinks[j])
            return true;
    return false;
}

/* Closes the levels from the bottom up; the last link left is the root. */
static int levels_close(struct files_importer *im, struct imp_link *root)
{
    int err;

    /* one chunk: its leaf is the file (reduceSingleLeafToSelf) */
    if (im->nchunks == 1) {
        *root = im->levels[0][0];
        return 0;
    }
    for (size_t i = 0; i < MAX_LEVELS; i++) {
        if (!im->nlinks[i])
            continue;
        if (im->nlinks[i] == 1 && i > 0 && !level_above(im, i)) {
            *root = im->levels[i][0];
            return 0;
        }
        if ((err = level_flush(im, i)))
            return err;
    }
    return FASTN_ERR_FILES_LIMIT;
}

int files_importer_finish(struct files_importer *im, struct files_entry *out)
{
    struct imp_link root;

    if (im->err)
        return im->err;
    /* the last, short chunk; or the one empty chunk of an empty file */
    if ((im->fill || im->nchunks == 0) &&
        (im->err = leaf_emit(im, im->buf + LEAF_HDR, im->fill)))
        return im->err;
    if ((im->err = levels_close(im, &root)))
        return im->err;
    if (files_cid_decode(root.cid, root.cid_len, &out->cid))
        return im->err = FASTN_ERR_INTERNAL;
    out->tsize = root.tsize;
    out->size = im->total;
    out->kind = FILES_KIND_FILE;
    return 0;
}
