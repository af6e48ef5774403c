/* Checked read cursor and bounded growable buffer; see buf.h. */
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "util/mem.h"

void buf_reader_init(struct buf_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
}

size_t buf_reader_left(const struct buf_reader *r)
{
    return r->len - r->off;
}

const uint8_t *buf_reader_cur(const struct buf_reader *r)
{
    return r->p + r->off;
}

int buf_get_span(struct buf_reader *r, size_t n, const uint8_t **out)
{
    if (n > buf_reader_left(r))
        return FASTN_ERR_TRUNCATED;
    *out = r->p + r->off;
    r->off += n;
    return 0;
}

int buf_get_bytes(struct buf_reader *r, void *out, size_t n)
{
    const uint8_t *s;
    int err = buf_get_span(r, n, &s);
    if (err)
        return err;
    if (n)
        memcpy(out, s, n);
    return 0;
}

int buf_skip(struct buf_reader *r, size_t n)
{
    const uint8_t *s;
    return buf_get_span(r, n, &s);
}

int buf_get_u8(struct buf_reader *r, uint8_t *out)
{
    if (buf_reader_left(r) < 1)
        return FASTN_ERR_TRUNCATED;
    *out = r->p[r->off++];
    return 0;
}

static int get_be(struct buf_reader *r, size_t n, uint64_t *out)
{
    const uint8_t *s;
    uint64_t v = 0;
    int err = buf_get_span(r, n, &s);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | s[i];
    *out = v;
    return 0;
}

static int get_le(struct buf_reader *r, size_t n, uint64_t *out)
{
    const uint8_t *s;
    uint64_t v = 0;
    int err = buf_get_span(r, n, &s);
    if (err)
        return err;
    for (size_t i = n; i > 0; i--)
        v = (v << 8) | s[i - 1];
    *out = v;
    return 0;
}

int buf_get_be16(struct buf_reader *r, uint16_t *out)
{
    uint64_t v;
    int err = get_be(r, 2, &v);
    if (!err)
        *out = (uint16_t)v;
    return err;
}

int buf_get_be32(struct buf_reader *r, uint32_t *out)
{
    uint64_t v;
    int err = get_be(r, 4, &v);
    if (!err)
        *out = (uint32_t)v;
    return err;
}

int buf_get_be64(struct buf_reader *r, uint64_t *out)
{
    return get_be(r, 8, out);
}

int buf_get_le32(struct buf_reader *r, uint32_t *out)
{
    uint64_t v;
    int err = get_le(r, 4, &v);
    if (!err)
        *out = (uint32_t)v;
    return err;
}

int buf_get_le64(struct buf_reader *r, uint64_t *out)
{
    return get_le(r, 8, out);
}

int buf_get_uvarint(struct buf_reader *r, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    /* multiformats unsigned-varint: at most 9 bytes (63 bits). */
    for (i = 0; i < 9; i++) {
        if (r->off + i >= r->len)
            return FASTN_ERR_TRUNCATED;
        uint8_t byte = r->p[r->off + i];
        v |= (uint64_t)(byte & 0x7f) << (7 * i);
        if (!(byte & 0x80)) {
            r->off += i + 1;
            *out = v;
            return 0;
        }
    }
    return FASTN_ERR_OVERFLOW;
}

size_t uvarint_encode(uint64_t v, uint8_t *out)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t uvarint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_cleanup(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_cleanup_secret(struct buf *b)
{
    if (b->data)
        mem_wipe(b->data, b->cap);
    buf_cleanup(b);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
}

int buf_reserve(struct buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return FASTN_ERR_TOO_LARGE;
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > b->max)
        cap = b->max;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return FASTN_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int err = buf_reserve(b, n);
    if (err)
        return err;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
    return buf_append(b, &v, 1);
}

int buf_put_be16(struct buf *b, uint16_t v)
{
    uint8_t s[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return buf_append(b, s, 2);
}

int buf_put_be32(struct buf *b, uint32_t v)
{
    uint8_t s[4];
    for (int i = 0; i < 4; i++)
        s[i] = (uint8_t)(v >> (24 - 8 * i));
    return buf_append(b, s, 4);
}

int buf_put_be64(struct buf *b, uint64_t v)
{
    uint8_t s[8];
    for (int i = 0; i < 8; i++)
        s[i] = (uint8_t)(v >> (56 - 8 * i));
    return buf_append(b, s, 8);
}

int buf_put_uvarint(struct buf *b, uint64_t v)
{
    uint8_t s[10];
    return buf_append(b, s, uvarint_encode(v, s));
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}
