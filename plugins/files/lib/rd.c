/*
 * The checked read cursor, protobuf field helpers and the bounded writer
 * that every codec of the files core uses (files_int.h). No function here
 * reads past its buffer or writes past its capacity: failures are error
 * codes, and a failed get leaves the cursor where it was.
 */
#include <stdlib.h>
#include <string.h>

#include "files_int.h"

void files_rd_init(struct files_rd *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
}

size_t files_rd_left(const struct files_rd *r)
{
    return r->len - r->off;
}

int files_rd_pbvarint(struct files_rd *r, uint64_t *v)
{
    uint64_t x = 0;

    for (size_t i = 0; i < 10; i++) {
        if (r->off + i >= r->len)
            return FASTN_ERR_TRUNCATED;
        uint8_t b = r->p[r->off + i];
        /* the tenth byte holds bit 63 only */
        if (i == 9 && b > 1)
            return FASTN_ERR_OVERFLOW;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            r->off += i + 1;
            *v = x;
            return 0;
        }
    }
    return FASTN_ERR_OVERFLOW;
}

int files_rd_mfvarint(struct files_rd *r, uint64_t *v)
{
    uint64_t x = 0;

    /* multiformats/unsigned-varint: at most 9 bytes, minimal encoding */
    for (size_t i = 0; i < 9; i++) {
        if (r->off + i >= r->len)
            return FASTN_ERR_TRUNCATED;
        uint8_t b = r->p[r->off + i];
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (i > 0 && b == 0)
                return FASTN_ERR_MALFORMED; /* not minimal */
            r->off += i + 1;
            *v = x;
            return 0;
        }
    }
    return FASTN_ERR_MALFORMED;
}

int files_rd_span(struct files_rd *r, size_t n, const uint8_t **out)
{
    if (n > r->len - r->off)
        return FASTN_ERR_TRUNCATED;
    *out = r->p + r->off;
    r->off += n;
    return 0;
}

int files_rd_key(struct files_rd *r, uint32_t *field, unsigned *wire)
{
    size_t start = r->off;
    uint64_t k;
    int err = files_rd_pbvarint(r, &k);

    if (err)
        return err;
    if ((k >> 3) == 0 || (k >> 3) > 0x1fffffff) {
        r->off = start;
        return FASTN_ERR_MALFORMED;
    }
    *field = (uint32_t)(k >> 3);
    *wire = (unsigned)(k & 7);
    return 0;
}

int files_rd_lenspan(struct files_rd *r, const uint8_t **out, size_t *n)
{
    size_t start = r->off;
    uint64_t len;
    int err = files_rd_pbvarint(r, &len);

    if (err)
        return err;
    if (len > files_rd_left(r)) {
        r->off = start;
        return FASTN_ERR_TRUNCATED;
    }
    *n = (size_t)len;
    return files_rd_span(r, (size_t)len, out);
}

int files_rd_skip(struct files_rd *r, unsigned wire)
{
    const uint8_t *p;
    uint64_t v;
    size_t n;

    switch (wire) {
    case PB_VARINT:
        return files_rd_pbvarint(r, &v);
    case PB_I64:
        return files_rd_span(r, 8, &p);
    case PB_LEN:
        return files_rd_lenspan(r, &p, &n);
    case PB_I32:
        return files_rd_span(r, 4, &p);
    default: /* groups (3, 4) are gone from protobuf; 6, 7 do not exist */
        return FASTN_ERR_MALFORMED;
    }
}

/* --- the writer ---------------------------------------------------------- */

void files_wr_fixed(struct files_wr *w, uint8_t *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->p = buf;
    w->cap = cap;
    w->max = cap;
}

void files_wr_dyn(struct files_wr *w, size_t max)
{
    memset(w, 0, sizeof(*w));
    w->dyn = true;
    w->max = max;
}

void files_wr_cleanup(struct files_wr *w)
{
    if (w->dyn)
        free(w->p);
    w->p = NULL;
    w->len = w->cap = 0;
}

static bool wr_room(struct files_wr *w, size_t n)
{
    if (w->err)
        return false;
    if (n <= w->cap - w->len)
        return true;
    if (!w->dyn || n > w->max - w->len) {
        w->err = FASTN_ERR_TOO_LARGE;
        return false;
    }
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n)
        cap = cap > w->max / 2 ? w->max : cap * 2;
    uint8_t *p = realloc(w->p, cap);
    if (!p) {
        w->err = FASTN_ERR_NOMEM;
        return false;
    }
    w->p = p;
    w->cap = cap;
    return true;
}

void files_wr_bytes(struct files_wr *w, const void *p, size_t n)
{
    if (!wr_room(w, n))
        return;
    if (n)
        memcpy(w->p + w->len, p, n);
    w->len += n;
}

void files_wr_u8(struct files_wr *w, uint8_t v)
{
    files_wr_bytes(w, &v, 1);
}

size_t files_uvarint_put(uint64_t v, uint8_t *out)
{
    size_t n = 0;

    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t files_uvarint_len(uint64_t v)
{
    size_t n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void files_wr_varint(struct files_wr *w, uint64_t v)
{
    uint8_t tmp[10];

    files_wr_bytes(w, tmp, files_uvarint_put(v, tmp));
}

void files_wr_key(struct files_wr *w, uint32_t field, unsigned wire)
{
    files_wr_varint(w, ((uint64_t)field << 3) | wire);
}

void files_wr_lenfield(struct files_wr *w, uint32_t field, const void *p,
                       size_t n)
{
    files_wr_key(w, field, PB_LEN);
    files_wr_varint(w, n);
    files_wr_bytes(w, p, n);
}

void files_wr_varfield(struct files_wr *w, uint32_t field, uint64_t v)
{
    files_wr_key(w, field, PB_VARINT);
    files_wr_varint(w, v);
}
