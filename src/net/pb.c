/* Protobuf wire format (protobuf.dev/programming-guides/encoding); see
 * pb.h. */
#include "net/pb.h"

#include "fastn/err.h"

int pb_next(struct buf_reader *r, struct pb_field *f)
{
    uint64_t tag, len;

    if (buf_reader_left(r) == 0)
        return 0;
    if (buf_get_uvarint(r, &tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
        return FASTN_ERR_MALFORMED;
    f->num = (uint32_t)(tag >> 3);
    f->wire = (enum pb_wire)(tag & 7);
    f->data = NULL;
    f->len = 0;
    switch (tag & 7) {
    case PB_VARINT:
        return buf_get_uvarint(r, &f->varint) ? FASTN_ERR_MALFORMED : 1;
    case PB_I64:
        return buf_get_le64(r, &f->varint) ? FASTN_ERR_MALFORMED : 1;
    case PB_I32: {
        uint32_t v;
        if (buf_get_le32(r, &v))
            return FASTN_ERR_MALFORMED;
        f->varint = v;
        return 1;
    }
    case PB_LEN:
        if (buf_get_uvarint(r, &len) || len > buf_reader_left(r) ||
            buf_get_span(r, (size_t)len, &f->data))
            return FASTN_ERR_MALFORMED;
        f->len = (size_t)len;
        return 1;
    default: /* groups (3, 4) and reserved types */
        return FASTN_ERR_MALFORMED;
    }
}

int pb_put_bytes(struct buf *b, uint32_t num, const void *p, size_t n)
{
    int err = buf_put_uvarint(b, (uint64_t)num << 3 | PB_LEN);
    if (!err)
        err = buf_put_uvarint(b, n);
    if (!err)
        err = buf_append(b, p, n);
    return err;
}

int pb_put_varint(struct buf *b, uint32_t num, uint64_t v)
{
    int err = buf_put_uvarint(b, (uint64_t)num << 3 | PB_VARINT);
    return err ? err : buf_put_uvarint(b, v);
}
