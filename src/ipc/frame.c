/* Varint-delimited protobuf frames; see frame.h. */
#include "ipc/frame.h"

#include <stdbool.h>

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

/* --- call answers without a copy ------------------------------------------
 *
 * protobuf-c packs the fields of a message in the order of their numbers
 * (protoc-c sorts them), each set field as tag, then value. Since fastn is
 * the last field of Response and call_result comes after every other field
 * a call answer sets, the frame is: prefix, Response's fields before fastn,
 * fastn's tag and length, its fields before call_result, call_result's tag
 * and length, the result's bytes. */

#define TAG_LEN(field) (((uint32_t)(field) << 3) | 2u)
#define TAG_VARINT(field) ((uint32_t)(field) << 3)
#define RESPONSE_FASTN 100
#define EXT_VERSION_FIELD 1
#define EXT_CALL_RESULT 51

/* Whether m sets a field numbered above id, or carries unknown fields
 * (which protobuf-c packs last). Anything it cannot tell counts as set. */
static bool set_after(const ProtobufCMessage *m, uint32_t id)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;

    if (m->n_unknown_fields)
        return true;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];

        if (f->id <= id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (*(const size_t *)(const void *)(base + f->quantifier_offset))
                return true;
        } else if (f->label != PROTOBUF_C_LABEL_OPTIONAL ||
                   (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
            return true;
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE ||
                   f->type == PROTOBUF_C_TYPE_STRING) {
            if (*(const void *const *)(const void *)(base + f->offset))
                return true;
        } else if (!f->quantifier_offset ||
                   *(const protobuf_c_boolean
                         *)(const void *)(base + f->quantifier_offset)) {
            return true;
        }
    }
    return false;
}

int ipc_frame_result_head(const P2pd__Pb__Response *resp, uint8_t *head,
                          size_t cap, size_t *head_len)
{
    P2pd__Pb__Response r;
    Fastn__Response e;
    size_t rn, en, n, ext_len, body_len, k;

    if (!resp->fastn || !resp->fastn->has_call_result ||
        set_after(&resp->base, RESPONSE_FASTN) ||
        set_after(&resp->fastn->base, EXT_CALL_RESULT))
        return FASTN_ERR_UNSUPPORTED;
    r = *resp;
    r.fastn = NULL;
    e = *resp->fastn;
    e.has_call_result = false;
    rn = protobuf_c_message_get_packed_size(&r.base);
    en = protobuf_c_message_get_packed_size(&e.base);
    /* prefix, fastn's tag and length, call_result's tag and length */
    if (rn > cap || en > cap || rn + en + 5 * IPC_MAX_PREFIX > cap)
        return FASTN_ERR_UNSUPPORTED;
    n = resp->fastn->call_result.len;
    ext_len = en + uvarint_len(TAG_LEN(EXT_CALL_RESULT)) + uvarint_len(n) + n;
    body_len = rn + uvarint_len(TAG_LEN(RESPONSE_FASTN)) +
               uvarint_len(ext_len) + ext_len;
    k = uvarint_encode(body_len, head);
    if (protobuf_c_message_pack(&r.base, head + k) != rn)
        return FASTN_ERR_INTERNAL;
    k += rn;
    k += uvarint_encode(TAG_LEN(RESPONSE_FASTN), head + k);
    k += uvarint_encode(ext_len, head + k);
    if (protobuf_c_message_pack(&e.base, head + k) != en)
        return FASTN_ERR_INTERNAL;
    k += en;
    k += uvarint_encode(TAG_LEN(EXT_CALL_RESULT), head + k);
    k += uvarint_encode(n, head + k);
    *head_len = k;
    return 0;
}

/* One varint of the body, of which r holds the first avail bytes. */
static int get_varint(struct buf_reader *r, size_t body_len, uint64_t *v)
{
    int err = buf_get_uvarint(r, v);

    if (err == FASTN_ERR_TRUNCATED)
        return r->len < body_len ? FASTN_ERR_AGAIN : FASTN_ERR_MALFORMED;
    if (err)
        return FASTN_ERR_UNSUPPORTED; /* protobuf allows 10 bytes */
    return 0;
}

/* A tag that must be want, then its varint value or length. */
static int get_field(struct buf_reader *r, size_t body_len, uint32_t want,
                     uint64_t *v)
{
    uint64_t tag;
    int err;

    if (r->off == body_len) /* a message may end after any field */
        return FASTN_ERR_UNSUPPORTED;
    if ((err = get_varint(r, body_len, &tag)))
        return err;
    if (tag != want)
        return FASTN_ERR_UNSUPPORTED;
    return get_varint(r, body_len, v);
}

/* A length-delimited field that must end exactly at the body's end. */
static int check_to_end(const struct buf_reader *r, size_t body_len,
                        uint64_t len)
{
    size_t left = body_len - r->off;

    if (len > left)
        return FASTN_ERR_MALFORMED;
    return len < left ? FASTN_ERR_UNSUPPORTED : 0;
}

int ipc_frame_find_result(const uint8_t *p, size_t avail, size_t body_len,
                          size_t *off, size_t *len)
{
    struct buf_reader r;
    uint64_t v;
    int err;

    if (avail > body_len)
        avail = body_len;
    buf_reader_init(&r, p, avail);
    if ((err = get_field(&r, body_len, TAG_VARINT(1), &v)))
        return err;
    if (v != P2PD__PB__RESPONSE__TYPE__OK)
        return FASTN_ERR_UNSUPPORTED;
    if ((err = get_field(&r, body_len, TAG_LEN(RESPONSE_FASTN), &v)) ||
        (err = check_to_end(&r, body_len, v)))
        return err;
    if ((err = get_field(&r, body_len, TAG_VARINT(EXT_VERSION_FIELD), &v)))
        return err;
    if ((err = get_field(&r, body_len, TAG_LEN(EXT_CALL_RESULT), &v)) ||
        (err = check_to_end(&r, body_len, v)))
        return err;
    *off = r.off;
    *len = (size_t)v;
    return 0;
}
