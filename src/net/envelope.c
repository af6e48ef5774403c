/* Signed envelopes; see envelope.h. */
#include "net/envelope.h"

#include <string.h>

#include "fastn/err.h"
#include "net/envelope.pb-c.h"
#include "net/peer_key.h"

/* The bytes a signature covers, into b. */
static int signed_bytes(const char *domain, const uint8_t *type,
                        size_t type_len, const uint8_t *payload, size_t n,
                        struct buf *b)
{
    size_t dlen = strlen(domain);
    int err = buf_put_uvarint(b, dlen);

    if (!err)
        err = buf_append(b, domain, dlen);
    if (!err)
        err = buf_put_uvarint(b, type_len);
    if (!err)
        err = buf_append(b, type, type_len);
    if (!err)
        err = buf_put_uvarint(b, n);
    if (!err)
        err = buf_append(b, payload, n);
    return err;
}

int envelope_seal(const struct identity *id, const char *domain,
                  const uint8_t *type, size_t type_len, const uint8_t *payload,
                  size_t n, struct buf *out)
{
    Fastn__Envelope__Envelope m = FASTN__ENVELOPE__ENVELOPE__INIT;
    uint8_t key[IDENTITY_PUBKEY_PROTO_LEN], sig[IDENTITY_SIG_LEN];
    struct buf tbs;
    size_t len;
    int err;

    if (type_len > ENVELOPE_TYPE_MAX || n > ENVELOPE_PAYLOAD_MAX)
        return FASTN_ERR_TOO_LARGE;
    buf_init(&tbs, ENVELOPE_MAX);
    err = signed_bytes(domain, type, type_len, payload, n, &tbs);
    if (!err && identity_sign(id, tbs.data, tbs.len, sig) != 0)
        err = FASTN_ERR_CRYPTO;
    buf_cleanup(&tbs);
    if (err)
        return err;
    pubkey_encode_proto(id->pubkey, key);
    m.has_public_key = m.has_payload_type = m.has_payload = 1;
    m.has_signature = 1;
    m.public_key.data = key;
    m.public_key.len = sizeof(key);
    m.payload_type.data = (uint8_t *)type;
    m.payload_type.len = type_len;
    m.payload.data = (uint8_t *)payload;
    m.payload.len = n;
    m.signature.data = sig;
    m.signature.len = sizeof(sig);
    len = fastn__envelope__envelope__get_packed_size(&m);
    if (len > ENVELOPE_MAX)
        return FASTN_ERR_TOO_LARGE;
    err = buf_reserve(out, len);
    if (err)
        return err;
    fastn__envelope__envelope__pack(&m, out->data + out->len);
    out->len += len;
    return 0;
}

static int check(const Fastn__Envelope__Envelope *m, const char *domain,
                 struct envelope *out)
{
    struct buf tbs;
    int err;

    if (!m->has_public_key || !m->has_payload_type || !m->has_payload ||
        !m->has_signature || m->payload_type.len > ENVELOPE_TYPE_MAX ||
        m->payload.len > ENVELOPE_PAYLOAD_MAX)
        return FASTN_ERR_MALFORMED;
    err = peer_key_id(m->public_key.data, m->public_key.len, &out->signer);
    if (err)
        return err;
    buf_init(&tbs, ENVELOPE_MAX + 64);
    err = signed_bytes(domain, m->payload_type.data, m->payload_type.len,
                       m->payload.data, m->payload.len, &tbs);
    if (!err)
        err = peer_key_verify(m->public_key.data, m->public_key.len, tbs.data,
                              tbs.len, m->signature.data, m->signature.len);
    buf_cleanup(&tbs);
    if (err)
        return err;
    out->type_len = m->payload_type.len;
    out->payload_len = m->payload.len;
    if (out->type_len)
        memcpy(out->type, m->payload_type.data, out->type_len);
    if (out->payload_len)
        memcpy(out->payload, m->payload.data, out->payload_len);
    return 0;
}

int envelope_open(const uint8_t *p, size_t n, const char *domain,
                  struct envelope *out)
{
    Fastn__Envelope__Envelope *m;
    int err;

    memset(out, 0, sizeof(*out));
    if (n > ENVELOPE_MAX)
        return FASTN_ERR_MALFORMED;
    m = fastn__envelope__envelope__unpack(NULL, n, p);
    if (!m)
        return FASTN_ERR_MALFORMED;
    err = check(m, domain, out);
    fastn__envelope__envelope__free_unpacked(m, NULL);
    return err;
}
