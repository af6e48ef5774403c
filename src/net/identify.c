/* Identify message codec; see identify.h. */
#include "net/identify.h"

#include <string.h>

#include "fastn/err.h"
#include "net/lp.h"
#include "net/pb.h"
#include "net/peer_key.h"

static void add(struct identify_span *arr, size_t *n, size_t max,
                size_t *dropped, const struct pb_field *f)
{
    if (*n == max) {
        (*dropped)++;
        return;
    }
    arr[*n].p = f->data;
    arr[(*n)++].len = f->len;
}

static void set(struct identify_span *s, const struct pb_field *f)
{
    s->p = f->data;
    s->len = f->len;
}

int identify_decode_more(const uint8_t *p, size_t n, struct identify_msg *out)
{
    struct buf_reader r;
    struct pb_field f;
    int rc;

    buf_reader_init(&r, p, n);
    while ((rc = pb_next(&r, &f)) == 1) {
        if (f.wire != PB_LEN)
            continue; /* unknown scalar fields */
        switch (f.num) {
        case 1:
            set(&out->public_key, &f);
            break;
        case 2:
            add(out->listen, &out->n_listen, IDENTIFY_MAX_ADDRS, &out->dropped,
                &f);
            break;
        case 3:
            add(out->protocols, &out->n_protocols, IDENTIFY_MAX_PROTOCOLS,
                &out->dropped, &f);
            break;
        case 4:
            set(&out->observed_addr, &f);
            break;
        case 5:
            set(&out->protocol_version, &f);
            break;
        case 6:
            set(&out->agent_version, &f);
            break;
        case 8:
            set(&out->signed_peer_record, &f);
            break;
        default:
            break;
        }
    }
    return rc;
}

int identify_decode(const uint8_t *p, size_t n, struct identify_msg *out)
{
    memset(out, 0, sizeof(*out));
    return identify_decode_more(p, n, out);
}

static int put_str(struct buf *b, uint32_t num, const char *s)
{
    return pb_put_bytes(b, num, s, strlen(s));
}

static int encode_body(const struct identify_info *in, struct buf *b)
{
    int err = put_str(b, 5,
                      in->protocol_version ? in->protocol_version
                                           : IDENTIFY_PROTOCOL_VERSION);
    if (!err)
        err = put_str(b, 6,
                      in->agent_version ? in->agent_version
                                        : IDENTIFY_AGENT_VERSION);
    if (!err && in->public_key)
        err = pb_put_bytes(b, 1, in->public_key, in->public_key_len);
    for (size_t i = 0; !err && i < in->n_listen; i++)
        err = pb_put_bytes(b, 2, in->listen[i].bytes, in->listen[i].len);
    if (!err && in->observed)
        err = pb_put_bytes(b, 4, in->observed->bytes, in->observed->len);
    for (size_t i = 0; !err && i < in->n_protocols; i++)
        err = put_str(b, 3, in->protocols[i]);
    return err;
}

int identify_encode(const struct identify_info *in, struct buf *out)
{
    struct buf b;
    int err;

    buf_init(&b, IDENTIFY_MAX_MSG);
    err = encode_body(in, &b);
    if (!err)
        err = lp_write(out, b.data, b.len);
    buf_cleanup(&b);
    return err;
}

int identify_peer(const struct identify_msg *m, struct peer_id *out)
{
    if (!m->public_key.p)
        return FASTN_ERR_NOT_FOUND;
    return peer_key_id(m->public_key.p, m->public_key.len, out);
}
