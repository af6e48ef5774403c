/*
 * Checked buffers: the only way parsers read outside bytes.
 *
 * struct buf_reader is a read cursor over borrowed bytes; every get checks
 * bounds and returns FASTN_ERR_TRUNCATED instead of reading past the end,
 * and on failure leaves the cursor where it was. struct buf is a growable
 * byte buffer with a required maximum size: appends past the maximum fail
 * with FASTN_ERR_TOO_LARGE and leave the buffer unchanged.
 */
#ifndef FASTN_UTIL_BUF_H
#define FASTN_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf_reader {
    const uint8_t *p;
    size_t len;
    size_t off;
};

void buf_reader_init(struct buf_reader *r, const void *p, size_t len);
size_t buf_reader_left(const struct buf_reader *r);
const uint8_t *buf_reader_cur(const struct buf_reader *r);
int buf_get_u8(struct buf_reader *r, uint8_t *out);
int buf_get_be16(struct buf_reader *r, uint16_t *out);
int buf_get_be32(struct buf_reader *r, uint32_t *out);
int buf_get_be64(struct buf_reader *r, uint64_t *out);
int buf_get_le32(struct buf_reader *r, uint32_t *out);
int buf_get_le64(struct buf_reader *r, uint64_t *out);
/* Copies n bytes into out. */
int buf_get_bytes(struct buf_reader *r, void *out, size_t n);
/* Borrows n bytes: *out points into the reader's memory. */
int buf_get_span(struct buf_reader *r, size_t n, const uint8_t **out);
int buf_skip(struct buf_reader *r, size_t n);
/* Unsigned LEB128 as multiformats' unsigned-varint: at most 9 bytes,
 * minimal encoding not required on input. Errors: FASTN_ERR_TRUNCATED,
 * FASTN_ERR_OVERFLOW (more than 63 bits). */
int buf_get_uvarint(struct buf_reader *r, uint64_t *out);

struct buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;
};

/* An empty buffer that may grow to max bytes. */
void buf_init(struct buf *b, size_t max);
/* Frees the memory; the buffer is empty and usable again afterwards. */
void buf_cleanup(struct buf *b);
/* Like buf_cleanup, but first wipes the bytes (for secrets). */
void buf_cleanup_secret(struct buf *b);
void buf_reset(struct buf *b);
/* Makes room for n more bytes. Errors: FASTN_ERR_TOO_LARGE, _NOMEM. */
int buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_be16(struct buf *b, uint16_t v);
int buf_put_be32(struct buf *b, uint32_t v);
int buf_put_be64(struct buf *b, uint64_t v);
int buf_put_uvarint(struct buf *b, uint64_t v);
/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* Encodes v as an unsigned varint into out (at least 10 bytes); returns the
 * length. */
size_t uvarint_encode(uint64_t v, uint8_t *out);
size_t uvarint_len(uint64_t v);

#endif
