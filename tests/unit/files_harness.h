/*
 * What the tests of plugins/files/lib share: an in-memory block store (the
 * importer's block callback puts, the walker's get callback reads), a
 * deterministic byte stream, reading a DAG back into memory through the
 * walker, and hand-built dag-pb/UnixFS nodes for hostile inputs.
 * Header-only; every function is static (each test is one program).
 */
#ifndef FASTN_TEST_FILES_HARNESS_H
#define FASTN_TEST_FILES_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "files_int.h"

/* every helper: a test uses some of them */
#define FH static __attribute__((unused))

struct blk {
    uint8_t cid[FILES_CID_BYTES_MAX];
    size_t cid_len;
    uint8_t *data;
    size_t len;
    struct blk *next;
};

#define STORE_BUCKETS 4096

struct store {
    struct blk *b[STORE_BUCKETS];
    size_t count;
    size_t bytes;
    /* the order blocks came in, for tests of the importer's order */
    struct files_cid last;
};

FH unsigned store_hash(const uint8_t *p, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h % STORE_BUCKETS;
}

FH struct blk *store_find(struct store *s, const struct files_cid *cid)
{
    uint8_t key[FILES_CID_BYTES_MAX];
    int n = files_cid_encode(cid, key, sizeof(key));
    if (n < 0)
        return NULL;
    for (struct blk *b = s->b[store_hash(key, (size_t)n)]; b; b = b->next)
        if (b->cid_len == (size_t)n && !memcmp(b->cid, key, (size_t)n))
            return b;
    return NULL;
}

/* Puts (or replaces) the block of cid. */
FH void store_put_raw(struct store *s, const struct files_cid *cid,
                      const uint8_t *data, size_t len)
{
    struct blk *b = store_find(s, cid);
    if (!b) {
        b = calloc(1, sizeof(*b));
        b->cid_len = (size_t)files_cid_encode(cid, b->cid, sizeof(b->cid));
        unsigned h = store_hash(b->cid, b->cid_len);
        b->next = s->b[h];
        s->b[h] = b;
        s->count++;
    } else {
        s->bytes -= b->len;
        free(b->data);
    }
    b->data = malloc(len ? len : 1);
    memcpy(b->data, data, len);
    b->len = len;
    s->bytes += len;
}

/* files_block_cb: keeps every block, checking it against its CID. */
FH int store_put(void *ctx, const struct files_cid *cid, const uint8_t *block,
                 size_t len)
{
    struct store *s = ctx;
    if (files_cid_verify(cid, block, len))
        abort();
    store_put_raw(s, cid, block, len);
    s->last = *cid;
    return 0;
}

/* files_get_cb */
FH int store_get(void *ctx, const struct files_cid *cid, const uint8_t **block,
                 size_t *len)
{
    struct blk *b = store_find(ctx, cid);
    if (!b)
        return FASTN_ERR_NOT_FOUND;
    *block = b->data;
    *len = b->len;
    return 0;
}

FH void store_free(struct store *s)
{
    for (size_t i = 0; i < STORE_BUCKETS; i++) {
        struct blk *b = s->b[i];
        while (b) {
            struct blk *n = b->next;
            free(b->data);
            free(b);
            b = n;
        }
        s->b[i] = NULL;
    }
    s->count = s->bytes = 0;
}

/* Byte i of a deterministic test stream. */
FH uint8_t stream_byte(uint64_t i)
{
    uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull;
    x ^= x >> 31;
    return (uint8_t)(x * 0xbf58476d1ce4e5b9ull >> 56);
}

FH void stream_fill(uint8_t *p, size_t n, uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        p[i] = stream_byte(off + i);
}

/* Imports n bytes of the test stream in writes of `step` bytes. */
FH int import_stream(const struct files_profile *prof, uint64_t n, size_t step,
                     struct store *s, struct files_entry *e)
{
    struct files_importer *im;
    uint8_t *buf = malloc(step);
    int err = files_importer_new(prof, store_put, s, &im);
    for (uint64_t off = 0; !err && off < n; off += step) {
        size_t k = n - off < step ? (size_t)(n - off) : step;
        stream_fill(buf, k, off);
        err = files_importer_write(im, buf, k);
    }
    if (!err)
        err = files_importer_finish(im, e);
    files_importer_free(im);
    free(buf);
    return err;
}

FH void cid_text(const struct files_cid *c, char *out)
{
    if (files_cid_format(c, out, FILES_CID_STR_MAX) < 0)
        strcpy(out, "(bad cid)");
}

/* --- reading back: every event, and a file's bytes ------------------- */

struct readback {
    uint8_t *data; /* all DATA bytes, concatenated */
    size_t len, cap;
    char log[8192]; /* one line an event: "F name size", "D name", ... */
    size_t log_len;
    size_t events;
    uint64_t stop_after; /* stop the walk (error) after this many events */
};

FH int readback_event(void *ctx, const struct files_walk_event *ev)
{
    struct readback *rb = ctx;
    char line[600];
    int n = 0;

    if (rb->stop_after && rb->events >= rb->stop_after)
        return FASTN_ERR_CANCELED;
    rb->events++;
    switch (ev->type) {
    case FILES_WALK_DATA:
        if (ev->len == 0)
            return 0;
        if (rb->len + ev->len > rb->cap) {
            rb->cap = (rb->len + ev->len) * 2;
            rb->data = realloc(rb->data, rb->cap);
        }
        memcpy(rb->data + rb->len, ev->data, ev->len);
        rb->len += ev->len;
        return 0;
    case FILES_WALK_FILE:
        n = snprintf(line, sizeof(line), "%uF %.*s %llu\n", ev->depth,
                     (int)ev->name_len, (const char *)ev->name,
                     (unsigned long long)ev->size);
        break;
    case FILES_WALK_DIR:
        n = snprintf(line, sizeof(line), "%uD %.*s\n", ev->depth,
                     (int)ev->name_len, (const char *)ev->name);
        break;
    case FILES_WALK_SYMLINK:
        n = snprintf(line, sizeof(line), "%uL %.*s -> %.*s\n", ev->depth,
                     (int)ev->name_len, (const char *)ev->name, (int)ev->len,
                     (const char *)ev->data);
        break;
    case FILES_WALK_FILE_END:
        n = snprintf(line, sizeof(line), "%uf\n", ev->depth);
        break;
    case FILES_WALK_DIR_END:
        n = snprintf(line, sizeof(line), "%ud\n", ev->depth);
        break;
    default:
        return FASTN_ERR_INTERNAL;
    }
    if (n > 0 && rb->log_len + (size_t)n < sizeof(rb->log)) {
        memcpy(rb->log + rb->log_len, line, (size_t)n);
        rb->log_len += (size_t)n;
        rb->log[rb->log_len] = '\0';
    }
    return 0;
}

/* files_walk with one context for both callbacks. */
struct walk_ctx {
    struct store *s;
    struct readback rb;
};

FH int walk_get(void *ctx, const struct files_cid *cid, const uint8_t **block,
                size_t *len)
{
    struct walk_ctx *w = ctx;
    return store_get(w->s, cid, block, len);
}

FH int walk_event(void *ctx, const struct files_walk_event *ev)
{
    struct walk_ctx *w = ctx;
    return readback_event(&w->rb, ev);
}

/* Walks root in s; w->rb has what came out. */
FH int walk_all(struct store *s, const struct files_cid *root,
                const struct files_walk_limits *lim, unsigned flags,
                struct walk_ctx *w)
{
    memset(w, 0, sizeof(*w));
    w->s = s;
    return files_walk(root, lim, flags, walk_get, walk_event, w);
}

FH void walk_ctx_free(struct walk_ctx *w)
{
    free(w->rb.data);
    w->rb.data = NULL;
}

/* --- hand-built nodes ------------------------------------------------ */

struct hlink {
    const struct files_cid *cid;
    const char *name; /* NULL: no Name field */
    size_t name_len;  /* 0: strlen(name) */
    uint64_t tsize;
};

/* A dag-pb node: links (in the order given), then Data. Returns its length
 * in out (cap bytes). */
FH size_t node_build(const struct hlink *links, size_t n, const uint8_t *data,
                     size_t dlen, uint8_t *out, size_t cap)
{
    struct files_wr w;
    files_wr_fixed(&w, out, cap);
    for (size_t i = 0; i < n; i++) {
        uint8_t c[FILES_CID_BYTES_MAX];
        int cl = files_cid_encode(links[i].cid, c, sizeof(c));
        size_t nl = links[i].name ? (links[i].name_len ? links[i].name_len
                                                       : strlen(links[i].name))
                                  : 0;
        files_wr_pblink(&w, c, (size_t)cl, (const uint8_t *)links[i].name, nl,
                        links[i].name != NULL, links[i].tsize);
    }
    if (data)
        files_wr_lenfield(&w, 1, data, dlen);
    if (w.err)
        abort();
    return w.len;
}

/* UnixFS Data of a type, with optional data, filesize, blocksizes. */
FH size_t unixfs_build(enum files_unixfs_type type, const uint8_t *data,
                       size_t dlen, const uint64_t *filesize,
                       const uint64_t *bs, size_t nbs, uint8_t *out, size_t cap)
{
    struct files_unixfs u;
    memset(&u, 0, sizeof(u));
    u.type = type;
    u.data = data;
    u.data_len = dlen;
    u.has_data = data != NULL;
    if (filesize) {
        u.filesize = *filesize;
        u.has_filesize = true;
    }
    int n = files_unixfs_encode(&u, bs, nbs, out, cap);
    if (n < 0)
        abort();
    return (size_t)n;
}

/* Puts a dag-pb node under its real CIDv1 and returns that CID. */
FH struct files_cid store_node(struct store *s, const uint8_t *node, size_t len)
{
    struct files_cid c;
    files_cid_of(1, FILES_CODEC_DAG_PB, node, len, &c);
    store_put_raw(s, &c, node, len);
    return c;
}

FH struct files_cid store_raw(struct store *s, const void *data, size_t len)
{
    struct files_cid c;
    files_cid_of(1, FILES_CODEC_RAW, data, len, &c);
    store_put_raw(s, &c, data, len);
    return c;
}

#endif
