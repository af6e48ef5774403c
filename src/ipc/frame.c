/* Varint-delimited protobuf frames; see frame.h. */
#include "ipc/frame.h"

#include "fastn/err.h"

int ipc_frame_parse(const uint8_t *p, size_t n, size_t max,
                    const uint8_t **body, size_t *body_len, size_t *frame_len)
{
    struct buf_reader r;
    uint64_t len;
    int err;

    buf_reader_init(&r, p, n);
    err = buf_get_uvarint(&r, &len);
    if (err == FASTN_ERR_TRUNCATED)
        return FASTN_ERR_AGAIN;
    if (err)
        return FASTN_ERR_MALFORMED;
    if (len > max)
        return FASTN_ERR_TOO_LARGE;
    if (buf_reader_left(&r) < len)
        return FASTN_ERR_AGAIN;
    *body = buf_reader_cur(&r);
    *body_len = (size_t)len;
    *frame_len = r.off + (size_t)len;
    return 0;
}

int ipc_frame_append(struct buf *out, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    size_t start = out->len;
    int err;

    err = buf_reserve(out, uvarint_len(len) + len);
    if (err)
        return err;
    err = buf_put_uvarint(out, len);
    if (err)
        return err;
    /* buf_reserve made room: pack straight into the buffer. */
    if (protobuf_c_message_pack(msg, out->data + out->len) != len) {
        out->len = start;
        return FASTN_ERR_INTERNAL;
    }
    out->len += len;
    return 0;
}
