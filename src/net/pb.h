/*
 * A minimal protobuf wire-format reader and writer for the few libp2p
 * messages net handles by hand (Noise handshake payload, identify).
 * Reading goes through the checked buf_reader; length-delimited fields
 * are lent as spans into the input.
 */
#ifndef FASTN_NET_PB_H
#define FASTN_NET_PB_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum pb_wire { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

struct pb_field {
    uint32_t num;
    enum pb_wire wire;
    uint64_t varint;     /* PB_VARINT (and the raw value of I64/I32) */
    const uint8_t *data; /* PB_LEN */
    size_t len;
};

/* Reads the next field. Returns 1 with *f filled, 0 at the end of the
 * input, or FASTN_ERR_MALFORMED (bad tag, field number 0, group wire
 * types, truncated value). */
int pb_next(struct buf_reader *r, struct pb_field *f);

/* Appends a length-delimited field. Errors from buf. */
int pb_put_bytes(struct buf *b, uint32_t num, const void *p, size_t n);
/* Appends a varint field. Errors from buf. */
int pb_put_varint(struct buf *b, uint32_t num, uint64_t v);

#endif
