/*
 * What the files core's own files share: a checked read cursor (every get
 * is bounds-checked and leaves the cursor alone on failure), protobuf
 * field helpers, a bounded writer, and small internals of the importer.
 * Not for users of the library: files.h is its interface.
 */
#ifndef FASTN_FILES_INT_H
#define FASTN_FILES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "files.h"

/* Protobuf wire types. */
#define PB_VARINT 0
#define PB_I64 1
#define PB_LEN 2
#define PB_I32 5

struct files_rd {
    const uint8_t *p;
    size_t len;
    size_t off;
};

void files_rd_init(struct files_rd *r, const void *p, size_t len);
size_t files_rd_left(const struct files_rd *r);
/* Protobuf varint: up to 10 bytes, 64 bits. Errors: FASTN_ERR_TRUNCATED,
 * FASTN_ERR_OVERFLOW. */
int files_rd_pbvarint(struct files_rd *r, uint64_t *v);
/* Multiformats unsigned varint: minimal, at most 9 bytes (63 bits).
 * Errors: FASTN_ERR_TRUNCATED, FASTN_ERR_MALFORMED. */
int files_rd_mfvarint(struct files_rd *r, uint64_t *v);
/* Borrows n bytes. Errors: FASTN_ERR_TRUNCATED. */
int files_rd_span(struct files_rd *r, size_t n, const uint8_t **out);
/* A protobuf key: field number (>= 1) and wire type. Errors:
 * FASTN_ERR_TRUNCATED, FASTN_ERR_OVERFLOW, FASTN_ERR_MALFORMED. */
int files_rd_key(struct files_rd *r, uint32_t *field, unsigned *wire);
/* A length-delimited field's bytes. Errors: FASTN_ERR_TRUNCATED,
 * FASTN_ERR_OVERFLOW. */
int files_rd_lenspan(struct files_rd *r, const uint8_t **out, size_t *n);
/* Skips one field's value of the given wire type (unknown fields).
 * Errors: FASTN_ERR_TRUNCATED, FASTN_ERR_MALFORMED (groups, bad type). */
int files_rd_skip(struct files_rd *r, unsigned wire);
/* Reads a binary CID from a stream of bytes (its length is in it).
 * Errors: FASTN_ERR_FILES_BAD_CID. */
int files_rd_cid(struct files_rd *r, struct files_cid *out);

/*
 * A bounded writer: into a fixed buffer, or (dyn) a heap buffer that grows
 * up to max. A write that does not fit sets err (FASTN_ERR_TOO_LARGE or
 * FASTN_ERR_NOMEM) and every later write is ignored: check err once at
 * the end.
 */
struct files_wr {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max;
    bool dyn;
    int err;
};

void files_wr_fixed(struct files_wr *w, uint8_t *buf, size_t cap);
void files_wr_dyn(struct files_wr *w, size_t max);
void files_wr_cleanup(struct files_wr *w);
void files_wr_bytes(struct files_wr *w, const void *p, size_t n);
void files_wr_u8(struct files_wr *w, uint8_t v);
void files_wr_varint(struct files_wr *w, uint64_t v);
void files_wr_key(struct files_wr *w, uint32_t field, unsigned wire);
/* Key, length, bytes. */
void files_wr_lenfield(struct files_wr *w, uint32_t field, const void *p,
                       size_t n);
void files_wr_varfield(struct files_wr *w, uint32_t field, uint64_t v);

/* One PBLink, with its PBNode field key and length. */
void files_wr_pblink(struct files_wr *w, const uint8_t *cid, size_t cid_len,
                     const uint8_t *name, size_t name_len, bool has_name,
                     uint64_t tsize);

/* murmur3 x64 128 (seed 0), its 16 bytes as h1 then h2, big-endian: the
 * byte order the UnixFS HAMT reads its bucket indexes in. */
void files_murmur3_128(const void *p, size_t n, uint8_t out[16]);
/* The HAMT bucket of name at depth (8 bits per level): byte depth of the
 * name's murmur3 for depth < 8, then of murmur3(name || depth / 8)... as
 * go-unixfs and js hamt-sharding extend the hash. */
unsigned files_hamt_index(const uint8_t *name, size_t n, unsigned depth);

/* saturating add */
static inline uint64_t files_add_sat(uint64_t a, uint64_t b, bool *over)
{
    if (a > UINT64_MAX - b) {
        *over = true;
        return UINT64_MAX;
    }
    return a + b;
}

#endif
