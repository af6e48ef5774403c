/*
 * PeerIDs and key protobufs (libp2p/specs peer-ids/peer-ids.md).
 *
 * PrivateKey and PublicKey are { KeyType Type = 1; bytes Data = 2; } with
 * Ed25519 = 1. The PeerID of a key whose protobuf is at most 42 bytes is
 * the identity multihash of that protobuf, otherwise its sha2-256
 * multihash. Text forms: base58btc, or a base32 CIDv1 (libp2p-key).
 */
#include "util/peer_id.h"

#include <string.h>

#include "fastn/err.h"
#include "util/base58.h"
#include "util/buf.h"

enum { KEY_TYPE_ED25519 = 1 };
enum { MH_IDENTITY = 0x00, MH_SHA2_256 = 0x12 };

/* Reads the { Type = 1; Data = 2 } key message; fields may come in any
 * order, unknown fields are refused (a key file has nothing else). */
int key_proto_read(const uint8_t *p, size_t n, uint64_t *type,
                   const uint8_t **data, size_t *dlen)
{
    struct buf_reader r;
    bool have_type = false, have_data = false;

    buf_reader_init(&r, p, n);
    while (buf_reader_left(&r) > 0) {
        uint64_t tag, v;
        if (buf_get_uvarint(&r, &tag))
            return FASTN_ERR_BAD_KEY;
        if (tag == 0x08) {
            if (buf_get_uvarint(&r, &v))
                return FASTN_ERR_BAD_KEY;
            *type = v;
            have_type = true;
        } else if (tag == 0x12) {
            if (buf_get_uvarint(&r, &v) || v > buf_reader_left(&r) ||
                buf_get_span(&r, (size_t)v, data))
                return FASTN_ERR_BAD_KEY;
            *dlen = (size_t)v;
            have_data = true;
        } else {
            return FASTN_ERR_BAD_KEY;
        }
    }
    return have_type && have_data ? 0 : FASTN_ERR_BAD_KEY;
}

void pubkey_encode_proto(const uint8_t pubkey[IDENTITY_PUBKEY_LEN],
                         uint8_t out[IDENTITY_PUBKEY_PROTO_LEN])
{
    out[0] = 0x08;
    out[1] = KEY_TYPE_ED25519;
    out[2] = 0x12;
    out[3] = IDENTITY_PUBKEY_LEN;
    memcpy(out + 4, pubkey, IDENTITY_PUBKEY_LEN);
}

int pubkey_decode_proto(const uint8_t *p, size_t n,
                        uint8_t pubkey[IDENTITY_PUBKEY_LEN])
{
    uint64_t type = 0;
    const uint8_t *data = NULL;
    size_t dlen = 0;
    int err = key_proto_read(p, n, &type, &data, &dlen);

    if (err)
        return err;
    if (type != KEY_TYPE_ED25519)
        return FASTN_ERR_UNSUPPORTED;
    if (dlen != IDENTITY_PUBKEY_LEN)
        return FASTN_ERR_BAD_KEY;
    memcpy(pubkey, data, IDENTITY_PUBKEY_LEN);
    return 0;
}

void peer_id_from_pubkey(const uint8_t pubkey[IDENTITY_PUBKEY_LEN],
                         struct peer_id *out)
{
    out->bytes[0] = MH_IDENTITY;
    out->bytes[1] = IDENTITY_PUBKEY_PROTO_LEN;
    pubkey_encode_proto(pubkey, out->bytes + 2);
    out->len = 2 + IDENTITY_PUBKEY_PROTO_LEN;
}

int peer_id_from_bytes(const uint8_t *p, size_t n, struct peer_id *out)
{
    struct buf_reader r;
    uint64_t code, len;

    buf_reader_init(&r, p, n);
    if (n > PEER_ID_MAX_BYTES || buf_get_uvarint(&r, &code) ||
        buf_get_uvarint(&r, &len) || len != buf_reader_left(&r))
        return FASTN_ERR_BAD_PEER_ID;
    if (code == MH_SHA2_256 && len != 32)
        return FASTN_ERR_BAD_PEER_ID;
    if (code != MH_SHA2_256 && (code != MH_IDENTITY || len > 42 || len == 0))
        return FASTN_ERR_BAD_PEER_ID;
    memcpy(out->bytes, p, n);
    out->len = (uint8_t)n;
    return 0;
}

/* RFC 4648 base32, lowercase, no padding: the multibase 'b' encoding. */
static int base32_decode(const char *s, size_t n, uint8_t *out, size_t max)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v;
        if (c >= 'a' && c <= 'z')
            v = c - 'a';
        else if (c >= '2' && c <= '7')
            v = c - '2' + 26;
        else
            return FASTN_ERR_MALFORMED;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (k == max)
                return FASTN_ERR_TOO_LARGE;
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    return (int)k;
}

static int peer_id_parse_cid(const char *s, struct peer_id *out)
{
    uint8_t raw[PEER_ID_MAX_BYTES + 8];
    struct buf_reader r;
    uint64_t version, codec;
    int n = base32_decode(s + 1, strlen(s + 1), raw, sizeof(raw));

    if (n < 0)
        return FASTN_ERR_BAD_PEER_ID;
    buf_reader_init(&r, raw, (size_t)n);
    /* CIDv1 with the libp2p-key multicodec (0x72), then the multihash. */
    if (buf_get_uvarint(&r, &version) || version != 1 ||
        buf_get_uvarint(&r, &codec) || codec != 0x72)
        return FASTN_ERR_BAD_PEER_ID;
    return peer_id_from_bytes(buf_reader_cur(&r), buf_reader_left(&r), out);
}

int peer_id_parse(const char *s, struct peer_id *out)
{
    uint8_t raw[PEER_ID_MAX_BYTES];
    int n;

    if (!s || !*s)
        return FASTN_ERR_BAD_PEER_ID;
    /* peer-ids.md: "1…" or "Qm…" is a bare base58btc multihash; anything
     * else is a multibase CID, of which we read base32 ('b'). */
    if (s[0] != '1' && strncmp(s, "Qm", 2) != 0)
        return s[0] == 'b' ? peer_id_parse_cid(s, out) : FASTN_ERR_BAD_PEER_ID;
    n = base58_decode(s, strlen(s), raw, sizeof(raw));
    if (n < 0)
        return FASTN_ERR_BAD_PEER_ID;
    return peer_id_from_bytes(raw, (size_t)n, out);
}

char *peer_id_format(const struct peer_id *id, char out[PEER_ID_STR_MAX])
{
    if (base58_encode(id->bytes, id->len, out, PEER_ID_STR_MAX) < 0)
        out[0] = '\0';
    return out;
}

bool peer_id_equal(const struct peer_id *a, const struct peer_id *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

bool peer_id_get_pubkey(const struct peer_id *id,
                        uint8_t pubkey[IDENTITY_PUBKEY_LEN])
{
    if (id->len != 2 + IDENTITY_PUBKEY_PROTO_LEN || id->bytes[0] != MH_IDENTITY)
        return false;
    return pubkey_decode_proto(id->bytes + 2, IDENTITY_PUBKEY_PROTO_LEN,
                               pubkey) == 0;
}
