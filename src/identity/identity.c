/*
 * Ed25519 identities, libp2p key encodings and PeerIDs.
 *
 * Key protobufs (libp2p/specs peer-ids/peer-ids.md): PrivateKey and
 * PublicKey are { KeyType Type = 1; bytes Data = 2; } with Ed25519 = 1.
 * The PeerID of a key whose protobuf is at most 42 bytes is the identity
 * multihash of that protobuf, otherwise its sha2-256 multihash.
 */
#include "identity/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastn/err.h"
#include "util/base58.h"
#include "util/buf.h"

enum { KEY_TYPE_ED25519 = 1 };
enum { MH_IDENTITY = 0x00, MH_SHA2_256 = 0x12 };
#define KEYFILE_MAX 4096

int identity_global_init(void)
{
    return sodium_init() < 0 ? FASTN_ERR_CRYPTO : 0;
}

static void identity_finish(struct identity *out)
{
    memcpy(out->pubkey, out->seckey + 32, 32);
    peer_id_from_pubkey(out->pubkey, &out->id);
}

int identity_generate(struct identity *out)
{
    uint8_t pk[32];
    if (crypto_sign_keypair(pk, out->seckey) != 0)
        return FASTN_ERR_CRYPTO;
    identity_finish(out);
    return 0;
}

int identity_from_seed(struct identity *out, const uint8_t seed[32])
{
    uint8_t pk[32];
    if (crypto_sign_seed_keypair(pk, out->seckey, seed) != 0)
        return FASTN_ERR_CRYPTO;
    identity_finish(out);
    return 0;
}

void identity_cleanup(struct identity *id)
{
    sodium_memzero(id->seckey, sizeof(id->seckey));
}

/* Reads the { Type = 1; Data = 2 } key message; fields may come in any
 * order, unknown fields are refused (a key file has nothing else). */
static int key_proto_read(const uint8_t *p, size_t n, uint64_t *type,
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

int identity_encode_private(const struct identity *id, uint8_t *out,
                            size_t outlen)
{
    if (outlen < 4 + IDENTITY_SECKEY_LEN)
        return FASTN_ERR_TOO_LARGE;
    out[0] = 0x08;
    out[1] = KEY_TYPE_ED25519;
    out[2] = 0x12;
    out[3] = IDENTITY_SECKEY_LEN;
    memcpy(out + 4, id->seckey, IDENTITY_SECKEY_LEN);
    return 4 + IDENTITY_SECKEY_LEN;
}

int identity_decode_private(const uint8_t *p, size_t n, struct identity *out)
{
    uint64_t type = 0;
    const uint8_t *data = NULL;
    size_t dlen = 0;
    struct identity tmp;
    int err = key_proto_read(p, n, &type, &data, &dlen);

    if (err)
        return err;
    if (type != KEY_TYPE_ED25519)
        return FASTN_ERR_UNSUPPORTED;
    if (dlen != 64 && dlen != 96)
        return FASTN_ERR_BAD_KEY;
    /* The legacy 96-byte form repeats the public key at the end. */
    if (dlen == 96 && memcmp(data + 32, data + 64, 32) != 0)
        return FASTN_ERR_BAD_KEY;
    if (identity_from_seed(&tmp, data))
        return FASTN_ERR_CRYPTO;
    if (memcmp(tmp.pubkey, data + 32, 32) != 0) {
        identity_cleanup(&tmp);
        return FASTN_ERR_BAD_KEY;
    }
    *out = tmp;
    identity_cleanup(&tmp);
    return 0;
}

int identity_load_file(const char *path, struct identity *out)
{
    uint8_t raw[KEYFILE_MAX];
    size_t n = 0;
    int err = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return errno == ENOENT ? FASTN_ERR_NOT_FOUND : FASTN_ERR_IO;
    for (;;) {
        ssize_t r = read(fd, raw + n, sizeof(raw) - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = FASTN_ERR_IO;
            goto out_wipe;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == sizeof(raw)) {
            err = FASTN_ERR_BAD_KEY;
            goto out_wipe;
        }
    }
    err = identity_decode_private(raw, n, out);
out_wipe:
    sodium_memzero(raw, sizeof(raw));
    close(fd);
    return err;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return FASTN_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int identity_save_file(const char *path, const struct identity *id)
{
    char tmp[PATH_MAX];
    uint8_t raw[4 + IDENTITY_SECKEY_LEN];
    int err, fd, n;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return FASTN_ERR_TOO_LARGE;
    n = identity_encode_private(id, raw, sizeof(raw));
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        err = FASTN_ERR_IO;
        goto out_wipe;
    }
    err = write_all(fd, raw, (size_t)n);
    if (!err && (fchmod(fd, 0600) != 0 || fsync(fd) != 0))
        err = FASTN_ERR_IO;
    if (close(fd) != 0 && !err)
        err = FASTN_ERR_IO;
    if (!err && rename(tmp, path) != 0)
        err = FASTN_ERR_IO;
    if (err)
        unlink(tmp);
out_wipe:
    sodium_memzero(raw, sizeof(raw));
    return err;
}

int identity_load_or_create(const char *dir, const char *name,
                            struct identity *out, bool *created)
{
    char path[PATH_MAX];
    int err;

    if (snprintf(path, sizeof(path), "%s/%s.key", dir, name) >=
        (int)sizeof(path))
        return FASTN_ERR_TOO_LARGE;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return FASTN_ERR_IO;
    /* The folder holds secrets: keep it private even if it pre-existed. */
    if (chmod(dir, 0700) != 0)
        return FASTN_ERR_IO;
    err = identity_load_file(path, out);
    if (err != FASTN_ERR_NOT_FOUND) {
        if (created && !err)
            *created = false;
        return err;
    }
    err = identity_generate(out);
    if (!err)
        err = identity_save_file(path, out);
    if (err) {
        identity_cleanup(out);
        return err;
    }
    if (created)
        *created = true;
    return 0;
}

int identity_sign(const struct identity *id, const uint8_t *msg, size_t n,
                  uint8_t sig[IDENTITY_SIG_LEN])
{
    return crypto_sign_detached(sig, NULL, msg, n, id->seckey) == 0
               ? 0
               : FASTN_ERR_CRYPTO;
}

bool identity_verify(const uint8_t pubkey[IDENTITY_PUBKEY_LEN],
                     const uint8_t *msg, size_t n,
                     const uint8_t sig[IDENTITY_SIG_LEN])
{
    return crypto_sign_verify_detached(sig, msg, n, pubkey) == 0;
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
