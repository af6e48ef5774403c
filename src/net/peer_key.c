/*
 * Remote identity keys of every libp2p key type: see peer_key.h. The
 * non-Ed25519 keys are decoded and checked by libcrypto (OpenSSL 3's
 * EVP interfaces); a build without libcrypto refuses them as
 * unsupported, as fastn did before it knew them.
 */
#include "net/peer_key.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "fastn/err.h"
#include "identity/identity.h"

#ifdef FASTN_HAVE_LIBCRYPTO
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#endif

/* The PeerID's multihash inlines keys up to this long. */
#define ID_INLINE_MAX 42
#define SECP256K1_POINT_MAX 65 /* uncompressed; compressed is 33 */
#define ECDSA_DER_MAX 160      /* a P-521 signature is at most 139 */

const char *peer_key_type_name(uint64_t type)
{
    switch (type) {
    case PEER_KEY_RSA:
        return "RSA";
    case PEER_KEY_ED25519:
        return "Ed25519";
    case PEER_KEY_SECP256K1:
        return "Secp256k1";
    case PEER_KEY_ECDSA:
        return "ECDSA";
    default:
        return "unknown";
    }
}

#ifdef FASTN_HAVE_LIBCRYPTO
/* A DER SubjectPublicKeyInfo (RSA, ECDSA), which must be of base type
 * want and nothing after it. */
static int pkix_read(const uint8_t *p, size_t n, int want, EVP_PKEY **out)
{
    const unsigned char *q = p;
    EVP_PKEY *k;

    if (n > PEER_KEY_PROTO_MAX || !(k = d2i_PUBKEY(NULL, &q, (long)n)))
        return FASTN_ERR_BAD_KEY;
    if ((size_t)(q - p) != n || EVP_PKEY_get_base_id(k) != want) {
        EVP_PKEY_free(k);
        return FASTN_ERR_BAD_KEY;
    }
    if (want == EVP_PKEY_RSA &&
        (EVP_PKEY_get_bits(k) < PEER_KEY_RSA_MIN_BITS ||
         EVP_PKEY_get_bits(k) > PEER_KEY_RSA_MAX_BITS)) {
        EVP_PKEY_free(k);
        return FASTN_ERR_BAD_KEY;
    }
    *out = k;
    return 0;
}

/* An EC public key from its curve's name and its point's octets (which
 * libcrypto checks are on the curve). */
static int ec_point_read(const char *group, const uint8_t *p, size_t n,
                         EVP_PKEY **out)
{
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int err = FASTN_ERR_BAD_KEY;

    *out = NULL;
    if (!(bld = OSSL_PARAM_BLD_new()) ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                         0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, p, n) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
        EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto out;
    err = 0;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return err;
}

/* A Secp256k1 point as Bitcoin encodes it (33 bytes compressed, 65
 * uncompressed). */
static int secp256k1_read(const uint8_t *p, size_t n, EVP_PKEY **out)
{
    if ((n != 33 && n != SECP256K1_POINT_MAX) ||
        (n == 33 && p[0] != 2 && p[0] != 3) || (n == 65 && p[0] != 4))
        return FASTN_ERR_BAD_KEY;
    return ec_point_read("secp256k1", p, n, out);
}

/* One DER element of tag `tag` at *p (short or 1-2 byte long lengths):
 * its contents, and *p moved past it. */
static bool der_take(const uint8_t **p, const uint8_t *end, uint8_t tag,
                     const uint8_t **body, size_t *len)
{
    const uint8_t *q = *p;
    size_t l;

    if (end - q < 2 || *q++ != tag)
        return false;
    l = *q++;
    if (l == 0x81 || l == 0x82) {
        size_t k = l - 0x80;
        if ((size_t)(end - q) < k)
            return false;
        l = k == 1 ? q[0] : ((size_t)q[0] << 8 | q[1]);
        q += k;
    } else if (l > 0x7f) {
        return false;
    }
    if ((size_t)(end - q) < l)
        return false;
    *body = q;
    *len = l;
    *p = q + l;
    return true;
}

/* js-libp2p's form of an ECDSA public key: SEQUENCE { INTEGER 1,
 * [0] { OID of the curve }, [1] { BIT STRING point } } (the fields of
 * RFC 5915's ECPrivateKey without the private key), on P-256, P-384 or
 * P-521. go-libp2p sends a SubjectPublicKeyInfo, read by pkix_read. */
static int ecdsa_js_read(const uint8_t *p, size_t n, EVP_PKEY **out)
{
    static const struct {
        const char *name;
        uint8_t len, oid[8];
    } curves[] = {
        {"P-256", 8, {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}},
        {"P-384", 5, {0x2b, 0x81, 0x04, 0x00, 0x22}},
        {"P-521", 5, {0x2b, 0x81, 0x04, 0x00, 0x23}},
    };
    const uint8_t *end = p + n, *seq, *v, *oid, *bits;
    size_t len, vlen, olen, blen;

    if (!der_take(&p, end, 0x30, &seq, &len) || p != end)
        return FASTN_ERR_BAD_KEY;
    end = seq + len;
    if (!der_take(&seq, end, 0x02, &v, &vlen) || vlen != 1 || v[0] != 1 ||
        !der_take(&seq, end, 0xa0, &v, &vlen) ||
        !der_take(&v, v + vlen, 0x06, &oid, &olen) ||
        !der_take(&seq, end, 0xa1, &v, &vlen) ||
        !der_take(&v, v + vlen, 0x03, &bits, &blen) || seq != end || blen < 2 ||
        bits[0] != 0)
        return FASTN_ERR_BAD_KEY;
    for (size_t i = 0; i < sizeof(curves) / sizeof(*curves); i++)
        if (olen == curves[i].len && !memcmp(oid, curves[i].oid, olen))
            return ec_point_read(curves[i].name, bits + 1, blen - 1, out);
    return FASTN_ERR_BAD_KEY;
}

/* RSASSA-PKCS1-v1_5 (RSA) or DER ECDSA (the EC keys) over SHA-256(msg). */
static int evp_verify(EVP_PKEY *k, const uint8_t *msg, size_t mlen,
                      const uint8_t *sig, size_t slen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    if (!ctx)
        return FASTN_ERR_NOMEM;
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
         EVP_DigestVerify(ctx, sig, slen, msg, mlen) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : FASTN_ERR_SIGNATURE;
}

/* WebCrypto's ECDSA signature (js-libp2p signs so), r || s of the
 * curve's size each, as the DER the spec asks for; false when sig is not
 * of that form. */
static bool ecdsa_raw_to_der(EVP_PKEY *k, const uint8_t *sig, size_t slen,
                             uint8_t *der, size_t *dlen)
{
    size_t half = ((size_t)EVP_PKEY_get_bits(k) + 7) / 8;
    ECDSA_SIG *e = ECDSA_SIG_new();
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *q = der;
    bool ok = false;

    if (!e || slen != 2 * half || !(r = BN_bin2bn(sig, (int)half, NULL)) ||
        !(s = BN_bin2bn(sig + half, (int)half, NULL)) ||
        !ECDSA_SIG_set0(e, r, s))
        goto out;
    r = s = NULL; /* e owns them */
    ok = i2d_ECDSA_SIG(e, NULL) <= ECDSA_DER_MAX &&
         (*dlen = (size_t)i2d_ECDSA_SIG(e, &q)) > 0;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(e);
    return ok;
}

static int other_verify(uint64_t type, const uint8_t *data, size_t dlen,
                        const uint8_t *msg, size_t mlen, const uint8_t *sig,
                        size_t slen)
{
    uint8_t der[ECDSA_DER_MAX];
    EVP_PKEY *k = NULL;
    size_t derlen;
    int err;

    if (type == PEER_KEY_RSA)
        err = pkix_read(data, dlen, EVP_PKEY_RSA, &k);
    else if (type == PEER_KEY_ECDSA && pkix_read(data, dlen, EVP_PKEY_EC, &k))
        err = ecdsa_js_read(data, dlen, &k);
    else if (type == PEER_KEY_ECDSA)
        err = 0;
    else if (type == PEER_KEY_SECP256K1)
        err = secp256k1_read(data, dlen, &k);
    else
        return FASTN_ERR_UNSUPPORTED;
    if (!err)
        err = evp_verify(k, msg, mlen, sig, slen);
    if (err == FASTN_ERR_SIGNATURE && type == PEER_KEY_ECDSA &&
        ecdsa_raw_to_der(k, sig, slen, der, &derlen))
        err = evp_verify(k, msg, mlen, der, derlen);
    EVP_PKEY_free(k);
    return err;
}
#else
static int other_verify(uint64_t type, const uint8_t *data, size_t dlen,
                        const uint8_t *msg, size_t mlen, const uint8_t *sig,
                        size_t slen)
{
    (void)type, (void)data, (void)dlen, (void)msg, (void)mlen, (void)sig;
    (void)slen;
    return FASTN_ERR_UNSUPPORTED;
}
#endif

int peer_key_verify(const uint8_t *proto, size_t n, const uint8_t *msg,
                    size_t mlen, const uint8_t *sig, size_t slen)
{
    const uint8_t *data;
    size_t dlen;
    uint64_t type;

    if (n > PEER_KEY_PROTO_MAX || key_proto_read(proto, n, &type, &data, &dlen))
        return FASTN_ERR_BAD_KEY;
    if (type == PEER_KEY_ED25519) {
        if (dlen != IDENTITY_PUBKEY_LEN)
            return FASTN_ERR_BAD_KEY;
        if (slen != IDENTITY_SIG_LEN)
            return FASTN_ERR_SIGNATURE;
        return identity_verify(data, msg, mlen, sig) ? 0 : FASTN_ERR_SIGNATURE;
    }
    return other_verify(type, data, dlen, msg, mlen, sig, slen);
}

int peer_key_id(const uint8_t *proto, size_t n, struct peer_id *out)
{
    uint8_t canon[PEER_KEY_PROTO_MAX + 16];
    const uint8_t *data;
    size_t dlen, len = 0;
    uint64_t type;

    if (n > PEER_KEY_PROTO_MAX || key_proto_read(proto, n, &type, &data, &dlen))
        return FASTN_ERR_BAD_KEY;
    if (type > PEER_KEY_ECDSA)
        return FASTN_ERR_UNSUPPORTED;
    if ((type == PEER_KEY_ED25519 && dlen != IDENTITY_PUBKEY_LEN) ||
        (type == PEER_KEY_SECP256K1 && dlen != 33 &&
         dlen != SECP256K1_POINT_MAX) ||
        dlen == 0)
        return FASTN_ERR_BAD_KEY;
    canon[len++] = 0x08;
    canon[len++] = (uint8_t)type;
    canon[len++] = 0x12;
    for (size_t v = dlen;; v >>= 7) {
        canon[len++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        if (v <= 0x7f)
            break;
    }
    memcpy(canon + len, data, dlen);
    len += dlen;
    if (len <= ID_INLINE_MAX) {
        out->bytes[0] = 0x00; /* identity */
        out->bytes[1] = (uint8_t)len;
        memcpy(out->bytes + 2, canon, len);
        out->len = (uint8_t)(len + 2);
    } else {
        out->bytes[0] = 0x12; /* sha2-256 */
        out->bytes[1] = 32;
        crypto_hash_sha256(out->bytes + 2, canon, len);
        out->len = 34;
    }
    return 0;
}
