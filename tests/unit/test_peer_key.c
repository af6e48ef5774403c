/* Identity keys of every libp2p key type (net/peer_key.h): signatures
 * and PeerIDs made by js-libp2p's @libp2p/crypto (peer_key_vectors.h),
 * and the keys and signatures fastn must refuse. */
#include <string.h>

#include "identity/identity.h"
#include "net/peer_key.h"
#include "test.h"

#include "peer_key_vectors.h"

#define U8(s) ((const uint8_t *)(s))
#define MSG U8(PEER_KEY_VEC_MESSAGE), (sizeof(PEER_KEY_VEC_MESSAGE) - 1)

/* A 1024-bit RSA key (openssl genrsa 1024): too small to trust. */
static const char rsa1024_key[] =
    "\x08\x00\x12\xa2\x01\x30\x81\x9f\x30\x0d\x06\x09\x2a\x86\x48\x86"
    "\xf7\x0d\x01\x01\x01\x05\x00\x03\x81\x8d\x00\x30\x81\x89\x02\x81"
    "\x81\x00\xbb\xbf\xc8\x4b\xad\x0b\xd7\x54\xeb\xe5\x70\x68\x5f\xd4"
    "\xc1\x05\xd4\x89\x1b\x72\x7e\x6d\xb2\x48\x48\x5f\x28\xeb\x25\xd9"
    "\x65\x43\xb3\x78\x99\x9a\xf1\x69\x0d\xe7\x80\x64\x59\x37\xd1\x1f"
    "\x6a\x85\xf6\x06\xd4\xda\x5e\xd4\x4a\x1e\xa1\x85\xde\x51\x6f\xc0"
    "\x65\x2c\x6d\x08\xe7\xd4\x2c\x19\x6e\x6c\xf7\x9f\xba\x31\x7c\xf0"
    "\x92\xd9\xd5\xa0\xb9\x3f\xf7\x69\xff\x28\x03\x1c\x74\xad\x1e\xd1"
    "\x30\xcb\xad\xb8\xd3\xa4\xf5\xd6\xf5\x59\x28\x09\x27\x72\xd4\x47"
    "\x53\x82\xe4\xd3\xac\xc4\x65\x38\xa7\xbc\xe2\xdc\x2b\x18\x91\xe8"
    "\x04\x71\x02\x03\x01\x00\x01";

/* ECDSA as go-libp2p and the spec encode it (a SubjectPublicKeyInfo, a
 * DER signature), made by OpenSSL's command line (ecparam -genkey
 * prime256v1; dgst -sha256 -sign) over PEER_KEY_VEC_MESSAGE; the PeerID
 * is the sha2-256 multihash of the protobuf. */
static const char ecdsa_pkix_key[] =
    "\x08\x03\x12\x5b\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02"
    "\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x42\x00\x04\x42"
    "\x75\xd5\xc7\x0e\x40\xb2\xe1\xfd\xcc\xea\xf0\xd8\x04\x8c\x9d\x8d"
    "\xd2\xcd\x78\x96\x28\xa7\xd8\x35\xad\xff\x5a\x2b\xb5\x0c\x2d\xb1"
    "\x52\xd1\xae\x76\xee\x7f\x5e\x18\xff\x99\x5e\x01\x82\x88\xcc\xb5"
    "\x9e\x2b\x18\x2e\x65\x3e\x3f\xc8\x59\x93\xa7\x82\xf1\xe0\xc0";
static const char ecdsa_pkix_sig[] =
    "\x30\x45\x02\x20\x06\x6b\xa9\x8d\xcc\x4f\xc7\xba\x60\xc5\x30\x88"
    "\x94\xd4\x2d\x13\xd0\x3f\xf1\x68\x7b\x00\xd1\xab\xd1\x14\x20\xf3"
    "\xbb\x3a\x1d\x96\x02\x21\x00\xd7\x22\x7a\x40\xdf\x3c\x0b\x74\x8f"
    "\x2c\x25\xaf\x38\xcf\xf5\x32\x4c\xeb\x4c\xad\x24\x6f\x0e\x27\x8a"
    "\xc7\x1d\xd2\xe6\xe0\xb5\xf4";
static const char ecdsa_pkix_id[] =
    "Qme86nTwStVJFdeeuXEVQRaq68QuLPziEkb54bt1FBaHY3";

static void check_vector(const char *key, size_t klen, const char *sig,
                         size_t slen, const char *want_id)
{
    char text[PEER_ID_STR_MAX];
    struct peer_id id;
    uint8_t bad[1100];

    CHECK_ERR(peer_key_verify(U8(key), klen, MSG, U8(sig), slen), 0);
    CHECK_ERR(peer_key_id(U8(key), klen, &id), 0);
    CHECK_STR(peer_id_format(&id, text), want_id);
    /* one bit of the signature, of the message, of the key flipped */
    CHECK(slen <= sizeof(bad));
    memcpy(bad, sig, slen);
    bad[slen / 2] ^= 1;
    CHECK_ERR(peer_key_verify(U8(key), klen, MSG, bad, slen),
              FASTN_ERR_SIGNATURE);
    CHECK_ERR(peer_key_verify(U8(key), klen, U8("noise-libp2p-static-key:x"),
                              25, U8(sig), slen),
              FASTN_ERR_SIGNATURE);
    CHECK_ERR(peer_key_verify(U8(key), klen, MSG, U8(sig), slen - 1),
              FASTN_ERR_SIGNATURE);
    memcpy(bad, key, klen);
    bad[klen - 3] ^= 0x10;
    CHECK(peer_key_verify(bad, klen, MSG, U8(sig), slen) != 0);
}

#define VEC(n)                                                                 \
    check_vector(peer_key_vec_##n##_key, sizeof(peer_key_vec_##n##_key) - 1,   \
                 peer_key_vec_##n##_sig, sizeof(peer_key_vec_##n##_sig) - 1,   \
                 peer_key_vec_##n##_id)

#define VEC2(n)                                                                \
    check_vector(n##_key, sizeof(n##_key) - 1, n##_sig, sizeof(n##_sig) - 1,   \
                 n##_id)

TEST(rsa_from_js)
{
    VEC(rsa);
}
TEST(secp256k1_from_js)
{
    VEC(secp256k1);
}
TEST(ecdsa_from_js)
{
    VEC(ecdsa);
}

/* An Ed25519 key gets the PeerID fastn always gave it, and verifies. */
TEST(ecdsa_pkix_der)
{
    VEC2(ecdsa_pkix);
}

TEST(ed25519_as_before)
{
    uint8_t pub[IDENTITY_PUBKEY_LEN], proto[IDENTITY_PUBKEY_PROTO_LEN];
    uint8_t sig[IDENTITY_SIG_LEN];
    struct identity me;
    struct peer_id id;

    CHECK_ERR(identity_generate(&me), 0);
    memcpy(pub, me.pubkey, sizeof(pub));
    pubkey_encode_proto(pub, proto);
    CHECK_ERR(peer_key_id(proto, sizeof(proto), &id), 0);
    CHECK(peer_id_equal(&id, &me.id));
    CHECK_ERR(identity_sign(&me, MSG, sig), 0);
    CHECK_ERR(peer_key_verify(proto, sizeof(proto), MSG, sig, sizeof(sig)), 0);
    sig[0] ^= 1;
    CHECK_ERR(peer_key_verify(proto, sizeof(proto), MSG, sig, sizeof(sig)),
              FASTN_ERR_SIGNATURE);
    CHECK_ERR(peer_key_verify(proto, sizeof(proto), MSG, sig, 10),
              FASTN_ERR_SIGNATURE);
}

TEST(refused_keys)
{
    const char *rsa = peer_key_vec_rsa_key, *ec = peer_key_vec_ecdsa_key;
    size_t rlen = sizeof(peer_key_vec_rsa_key) - 1;
    size_t elen = sizeof(peer_key_vec_ecdsa_key) - 1;
    uint8_t k[1100];
    struct peer_id id;

    /* an RSA modulus under 2048 bits */
    CHECK_ERR(peer_key_verify(U8(rsa1024_key), sizeof(rsa1024_key) - 1, MSG,
                              U8(peer_key_vec_rsa_sig), 256),
              FASTN_ERR_BAD_KEY);
    /* an EC key sent as RSA and an RSA key sent as ECDSA */
    memcpy(k, ec, elen);
    k[1] = PEER_KEY_RSA;
    CHECK_ERR(peer_key_verify(k, elen, MSG, U8("x"), 1), FASTN_ERR_BAD_KEY);
    memcpy(k, rsa, rlen);
    k[1] = PEER_KEY_ECDSA;
    CHECK_ERR(peer_key_verify(k, rlen, MSG, U8("x"), 1), FASTN_ERR_BAD_KEY);
    /* a byte after the DER key (its length in the protobuf grown by one) */
    memcpy(k, ec, elen);
    k[3]++;
    k[elen] = 0;
    CHECK_ERR(peer_key_verify(k, elen + 1, MSG, U8("x"), 1), FASTN_ERR_BAD_KEY);
    /* a Secp256k1 point that is not on the curve */
    memcpy(k, peer_key_vec_secp256k1_key, 37);
    memset(k + 5, 0xff, 32);
    CHECK_ERR(peer_key_verify(k, 37, MSG, U8("x"), 1), FASTN_ERR_BAD_KEY);
    /* a key type libp2p does not have; an empty or truncated message */
    CHECK_ERR(peer_key_verify(U8("\x08\x09\x12\x01x"), 5, MSG, U8("x"), 1),
              FASTN_ERR_UNSUPPORTED);
    CHECK_ERR(peer_key_id(U8("\x08\x09\x12\x01x"), 5, &id),
              FASTN_ERR_UNSUPPORTED);
    CHECK_ERR(peer_key_verify(U8(""), 0, MSG, U8("x"), 1), FASTN_ERR_BAD_KEY);
    CHECK_ERR(peer_key_id(U8(rsa), rlen - 1, &id), FASTN_ERR_BAD_KEY);
}

/* Fields in another order name the same peer as the canonical form. */
TEST(canonical_id)
{
    const char *s = peer_key_vec_secp256k1_key;
    uint8_t swapped[37];
    struct peer_id a, b;

    memcpy(swapped, s + 2, 35);
    memcpy(swapped + 35, s, 2);
    CHECK_ERR(peer_key_id(U8(s), 37, &a), 0);
    CHECK_ERR(peer_key_id(swapped, 37, &b), 0);
    CHECK(peer_id_equal(&a, &b));
}

int main(void)
{
    RUN(rsa_from_js);
    RUN(secp256k1_from_js);
    RUN(ecdsa_from_js);
    RUN(ecdsa_pkix_der);
    RUN(ed25519_as_before);
    RUN(refused_keys);
    RUN(canonical_id);
    return test_done();
}
