/*
 * The Noise Protocol Framework (noiseprotocol.org/noise.html, revision
 * 34) for Noise_XX_25519_ChaChaPoly_SHA256, on libsodium; see noise_int.h.
 * This is the only file of src/net that calls libsodium (or libcrypto).
 *
 * ChaChaPoly itself (every byte a connection carries goes through it) uses
 * OpenSSL's libcrypto when the build found it (FASTN_NOISE_OPENSSL, see
 * src/net/module.mk): its ChaCha20 and Poly1305 use AVX-512 where the CPU
 * has it and run about 2.3x as fast as libsodium 1.0.18's (AVX2 and SSE2)
 * here, which is what lets one stream pass 1000 MB/s between two daemons.
 * The bytes are the same either way (RFC 8439's AEAD; the Noise test
 * vectors check both).
 *
 * XX:  -> e
 *      <- e, ee, s, es
 *      -> s, se
 */
#include "net/noise_int.h"

#include <sodium.h>
#include <string.h>
#ifdef FASTN_NOISE_OPENSSL
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#endif

#include "fastn/err.h"

#define PROTOCOL_NAME "Noise_XX_25519_ChaChaPoly_SHA256"

/* --- primitives --------------------------------------------------------- */

void noise_hmac_sha256(const uint8_t *key, size_t klen, const uint8_t *a,
                       size_t alen, const uint8_t *b, size_t blen,
                       uint8_t out[NOISE_HASH_LEN])
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, key, klen);
    crypto_auth_hmacsha256_update(&st, a, alen);
    if (blen)
        crypto_auth_hmacsha256_update(&st, b, blen);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void noise_hkdf2(const uint8_t ck[NOISE_HASH_LEN], const uint8_t *ikm, size_t n,
                 uint8_t out1[NOISE_HASH_LEN], uint8_t out2[NOISE_HASH_LEN])
{
    uint8_t temp[NOISE_HASH_LEN], one = 0x01, two = 0x02;
    uint8_t o1[NOISE_HASH_LEN];
    static const uint8_t none[1];

    noise_hmac_sha256(ck, NOISE_HASH_LEN, n ? ikm : none, n, NULL, 0, temp);
    noise_hmac_sha256(temp, sizeof(temp), &one, 1, NULL, 0, o1);
    noise_hmac_sha256(temp, sizeof(temp), o1, sizeof(o1), &two, 1, out2);
    memcpy(out1, o1, sizeof(o1));
    sodium_memzero(temp, sizeof(temp));
    sodium_memzero(o1, sizeof(o1));
}

void noise_x25519_pub(const uint8_t priv[NOISE_DH_LEN],
                      uint8_t pub[NOISE_DH_LEN])
{
    crypto_scalarmult_base(pub, priv);
}

void noise_random(void *p, size_t n)
{
    randombytes_buf(p, n);
}

void noise_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

static int dh(const uint8_t priv[NOISE_DH_LEN], const uint8_t pub[NOISE_DH_LEN],
              uint8_t out[NOISE_DH_LEN])
{
    /* libsodium refuses low-order points (an all-zero result). */
    return crypto_scalarmult(out, priv, pub) == 0 ? 0 : FASTN_ERR_NET_HANDSHAKE;
}

/* --- CipherState -------------------------------------------------------- */

void noise_cipher_init(struct noise_cipher *c, const uint8_t k[NOISE_KEY_LEN])
{
    memcpy(c->k, k, NOISE_KEY_LEN);
    c->n = 0;
    c->has_key = true;
}

static void make_nonce(uint64_t n, uint8_t nonce[12])
{
    memset(nonce, 0, 4);
    for (int i = 0; i < 8; i++)
        nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

#ifdef FASTN_NOISE_OPENSSL
/* One context per thread and direction, reused; it keeps the last key it
 * was given, so that the frames of one connection in a row only set
 * their nonce (a full init fetches the cipher again: a lock and a lookup
 * per frame in OpenSSL 3). */
struct evp_slot {
    EVP_CIPHER_CTX *x;
    uint8_t key[NOISE_KEY_LEN];
    bool keyed;
};
static _Thread_local struct evp_slot evp_seal, evp_open;

static int evp_init(struct evp_slot *sl, const uint8_t k[NOISE_KEY_LEN],
                    const uint8_t nonce[12], int enc)
{
    if (!sl->x && !(sl->x = EVP_CIPHER_CTX_new()))
        return -1;
    if (sl->keyed && CRYPTO_memcmp(sl->key, k, NOISE_KEY_LEN) == 0)
        return EVP_CipherInit_ex(sl->x, NULL, NULL, NULL, nonce, enc) == 1 ? 0
                                                                           : -1;
    sl->keyed = false;
    if (EVP_CipherInit_ex(sl->x, EVP_chacha20_poly1305(), NULL, k, nonce,
                          enc) != 1)
        return -1;
    memcpy(sl->key, k, NOISE_KEY_LEN);
    sl->keyed = true;
    return 0;
}

static int aead_seal(const uint8_t k[NOISE_KEY_LEN], const uint8_t nonce[12],
                     const uint8_t *ad, size_t adlen, const uint8_t *src,
                     size_t n, uint8_t *dst)
{
    EVP_CIPHER_CTX *x;
    int outl;

    if (n > INT32_MAX || adlen > INT32_MAX || evp_init(&evp_seal, k, nonce, 1))
        return FASTN_ERR_CRYPTO;
    x = evp_seal.x;
    if ((adlen && EVP_EncryptUpdate(x, NULL, &outl, ad, (int)adlen) != 1) ||
        (n && EVP_EncryptUpdate(x, dst, &outl, src, (int)n) != 1) ||
        EVP_EncryptFinal_ex(x, dst + n, &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, NOISE_AEAD_TAG,
                            dst + n) != 1) {
        evp_seal.keyed = false;
        return FASTN_ERR_CRYPTO;
    }
    return 0;
}

/* As aead_seal of head (hn bytes, may be dst) followed by src: one pass,
 * the cipher's streaming update taking the two pieces in turn. */
static int aead_seal_parts(const uint8_t k[NOISE_KEY_LEN],
                           const uint8_t nonce[12], const uint8_t *head,
                           size_t hn, const uint8_t *src, size_t n,
                           uint8_t *dst)
{
    EVP_CIPHER_CTX *x;
    int outl;

    if (n > INT32_MAX || hn > INT32_MAX || evp_init(&evp_seal, k, nonce, 1))
        return FASTN_ERR_CRYPTO;
    x = evp_seal.x;
    if ((hn && EVP_EncryptUpdate(x, dst, &outl, head, (int)hn) != 1) ||
        (n && EVP_EncryptUpdate(x, dst + hn, &outl, src, (int)n) != 1) ||
        EVP_EncryptFinal_ex(x, dst + hn + n, &outl) != 1 ||
        EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_GET_TAG, NOISE_AEAD_TAG,
                            dst + hn + n) != 1) {
        evp_seal.keyed = false;
        return FASTN_ERR_CRYPTO;
    }
    return 0;
}

/* n: the ciphertext's length, the tag after it. */
static int aead_open(const uint8_t k[NOISE_KEY_LEN], const uint8_t nonce[12],
                     const uint8_t *ad, size_t adlen, uint8_t *buf, size_t n)
{
    EVP_CIPHER_CTX *x;
    int outl;

    if (n > INT32_MAX || adlen > INT32_MAX)
        return FASTN_ERR_CRYPTO;
    if (evp_init(&evp_open, k, nonce, 0))
        return FASTN_ERR_NET_DECRYPT;
    x = evp_open.x;
    if ((adlen && EVP_DecryptUpdate(x, NULL, &outl, ad, (int)adlen) != 1) ||
        (n && EVP_DecryptUpdate(x, buf, &outl, buf, (int)n) != 1) ||
        EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, NOISE_AEAD_TAG,
                            buf + n) != 1 ||
        EVP_DecryptFinal_ex(x, buf + n, &outl) != 1) {
        evp_open.keyed = false;       /* a failed open leaves it in any state */
        return FASTN_ERR_NET_DECRYPT; /* the plaintext is not used then */
    }
    return 0;
}
#else
static int aead_seal(const uint8_t k[NOISE_KEY_LEN], const uint8_t nonce[12],
                     const uint8_t *ad, size_t adlen, const uint8_t *src,
                     size_t n, uint8_t *dst)
{
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(
        dst, dst + n, NULL, src, n, ad, adlen, NULL, nonce, k);
    return 0;
}

/* libsodium's AEAD takes one contiguous message: src joins head in dst,
 * sealed there in place. */
static int aead_seal_parts(const uint8_t k[NOISE_KEY_LEN],
                           const uint8_t nonce[12], const uint8_t *head,
                           size_t hn, const uint8_t *src, size_t n,
                           uint8_t *dst)
{
    if (head != dst)
        memmove(dst, head, hn);
    memcpy(dst + hn, src, n);
    return aead_seal(k, nonce, NULL, 0, dst, hn + n, dst);
}

static int aead_open(const uint8_t k[NOISE_KEY_LEN], const uint8_t nonce[12],
                     const uint8_t *ad, size_t adlen, uint8_t *buf, size_t n)
{
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
            buf, NULL, buf, n, buf + n, ad, adlen, nonce, k) != 0)
        return FASTN_ERR_NET_DECRYPT;
    return 0;
}
#endif

int noise_aead_at(const uint8_t k[NOISE_KEY_LEN], uint64_t n, uint8_t *buf,
                  size_t len, int seal)
{
    uint8_t nonce[12];

    if (n == UINT64_MAX)
        return FASTN_ERR_CRYPTO;
    make_nonce(n, nonce);
    if (seal)
        return aead_seal(k, nonce, NULL, 0, buf, len, buf);
    return aead_open(k, nonce, NULL, 0, buf, len);
}

void noise_crypto_thread_end(void)
{
#ifdef FASTN_NOISE_OPENSSL
    EVP_CIPHER_CTX_free(evp_seal.x);
    EVP_CIPHER_CTX_free(evp_open.x);
    noise_wipe(&evp_seal, sizeof(evp_seal));
    noise_wipe(&evp_open, sizeof(evp_open));
#endif
}

int noise_cipher_seal(struct noise_cipher *c, const uint8_t *ad, size_t adlen,
                      const uint8_t *src, size_t n, uint8_t *dst)
{
    uint8_t nonce[12];
    int err;

    /* 2^64-1 is reserved (section 5.1): the session must end first. */
    if (c->n == UINT64_MAX)
        return FASTN_ERR_CRYPTO;
    make_nonce(c->n, nonce);
    if ((err = aead_seal(c->k, nonce, ad, adlen, src, n, dst)))
        return err;
    c->n++;
    return 0;
}

int noise_cipher_seal_parts(struct noise_cipher *c, const uint8_t *head,
                            size_t hn, const uint8_t *src, size_t n,
                            uint8_t *dst)
{
    uint8_t nonce[12];
    int err;

    if (c->n == UINT64_MAX) /* reserved (section 5.1) */
        return FASTN_ERR_CRYPTO;
    make_nonce(c->n, nonce);
    if ((err = aead_seal_parts(c->k, nonce, head, hn, src, n, dst)))
        return err;
    c->n++;
    return 0;
}

int noise_cipher_open(struct noise_cipher *c, const uint8_t *ad, size_t adlen,
                      uint8_t *buf, size_t n)
{
    uint8_t nonce[12];
    int err;

    if (n < NOISE_AEAD_TAG)
        return FASTN_ERR_NET_DECRYPT;
    if (c->n == UINT64_MAX)
        return FASTN_ERR_CRYPTO;
    make_nonce(c->n, nonce);
    if ((err = aead_open(c->k, nonce, ad, adlen, buf, n - NOISE_AEAD_TAG)))
        return err;
    c->n++;
    return 0;
}

/* --- SymmetricState ----------------------------------------------------- */

static void mix_hash(struct noise_symmetric *ss, const uint8_t *p, size_t n)
{
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, ss->h, NOISE_HASH_LEN);
    crypto_hash_sha256_update(&st, p, n);
    crypto_hash_sha256_final(&st, ss->h);
}

static void mix_key(struct noise_symmetric *ss, const uint8_t *ikm, size_t n)
{
    uint8_t k[NOISE_HASH_LEN];

    noise_hkdf2(ss->ck, ikm, n, ss->ck, k);
    noise_cipher_init(&ss->cs, k);
    sodium_memzero(k, sizeof(k));
}

/* Encrypts (once there is a key) and hashes the ciphertext; dst gets
 * n bytes, plus a tag when there is a key. Returns the written length. */
static size_t encrypt_and_hash(struct noise_symmetric *ss, const uint8_t *src,
                               size_t n, uint8_t *dst)
{
    size_t len = n;

    if (ss->cs.has_key) {
        noise_cipher_seal(&ss->cs, ss->h, NOISE_HASH_LEN, src, n, dst);
        len += NOISE_AEAD_TAG;
    } else if (n) {
        memmove(dst, src, n);
    }
    mix_hash(ss, dst, len);
    return len;
}

/* Decrypts in place; *plen gets the plaintext length. */
static int decrypt_and_hash(struct noise_symmetric *ss, uint8_t *buf, size_t n,
                            size_t *plen)
{
    uint8_t h[NOISE_HASH_LEN];

    if (!ss->cs.has_key) {
        mix_hash(ss, buf, n);
        *plen = n;
        return 0;
    }
    /* The hash covers the ciphertext, which decryption overwrites. */
    memcpy(h, ss->h, sizeof(h));
    mix_hash(ss, buf, n);
    if (noise_cipher_open(&ss->cs, h, sizeof(h), buf, n))
        return FASTN_ERR_NET_HANDSHAKE;
    *plen = n - NOISE_AEAD_TAG;
    return 0;
}

/* --- HandshakeState ----------------------------------------------------- */

void noise_hs_init(struct noise_hs *hs, bool initiator, const uint8_t *prologue,
                   size_t plen, const uint8_t s_priv[NOISE_DH_LEN])
{
    memset(hs, 0, sizeof(*hs));
    hs->initiator = initiator;
    /* The protocol name is exactly HASHLEN bytes, so h = name. */
    memcpy(hs->ss.h, PROTOCOL_NAME, NOISE_HASH_LEN);
    memcpy(hs->ss.ck, hs->ss.h, NOISE_HASH_LEN);
    mix_hash(&hs->ss, prologue, plen);
    memcpy(hs->s_priv, s_priv, NOISE_DH_LEN);
    noise_x25519_pub(s_priv, hs->s_pub);
}

void noise_hs_set_ephemeral(struct noise_hs *hs,
                            const uint8_t e_priv[NOISE_DH_LEN])
{
    memcpy(hs->e_priv, e_priv, NOISE_DH_LEN);
    noise_x25519_pub(e_priv, hs->e_pub);
    hs->has_e = true;
}

bool noise_hs_done(const struct noise_hs *hs)
{
    return hs->msg == 3;
}

void noise_hs_cleanup(struct noise_hs *hs)
{
    sodium_memzero(hs, sizeof(*hs));
}

static bool my_turn(const struct noise_hs *hs)
{
    /* messages 0 and 2 are the initiator's */
    return hs->msg < 3 && ((hs->msg % 2 == 0) == hs->initiator);
}

static int mix_dh(struct noise_hs *hs, const uint8_t *priv, const uint8_t *pub)
{
    uint8_t out[NOISE_DH_LEN];
    int err = dh(priv, pub, out);
    if (!err)
        mix_key(&hs->ss, out, sizeof(out));
    sodium_memzero(out, sizeof(out));
    return err;
}

static void write_e(struct noise_hs *hs, uint8_t *out)
{
    if (!hs->has_e) {
        uint8_t e[NOISE_DH_LEN];
        noise_random(e, sizeof(e));
        noise_hs_set_ephemeral(hs, e);
        sodium_memzero(e, sizeof(e));
    }
    memcpy(out, hs->e_pub, NOISE_DH_LEN);
    mix_hash(&hs->ss, hs->e_pub, NOISE_DH_LEN);
}

/* Writes the tokens of message hs->msg before the payload; returns their
 * length or an error. */
static int write_tokens(struct noise_hs *hs, uint8_t *out)
{
    int err;

    switch (hs->msg) {
    case 0: /* -> e */
        write_e(hs, out);
        return NOISE_DH_LEN;
    case 1: /* <- e, ee, s, es */
        write_e(hs, out);
        err = mix_dh(hs, hs->e_priv, hs->re);
        if (err)
            return err;
        encrypt_and_hash(&hs->ss, hs->s_pub, NOISE_DH_LEN, out + NOISE_DH_LEN);
        err = mix_dh(hs, hs->s_priv, hs->re);
        return err ? err : NOISE_DH_LEN + NOISE_DH_LEN + NOISE_AEAD_TAG;
    default: /* -> s, se */
        encrypt_and_hash(&hs->ss, hs->s_pub, NOISE_DH_LEN, out);
        err = mix_dh(hs, hs->s_priv, hs->re);
        return err ? err : NOISE_DH_LEN + NOISE_AEAD_TAG;
    }
}

/* Length of the tokens before the payload of each message. */
static size_t tokens_len(int msg)
{
    return msg == 0 ? 32 : msg == 1 ? 32 + 48 : 48;
}

int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t plen,
                   uint8_t *out, size_t outcap, size_t *outlen)
{
    size_t tag = hs->msg == 0 ? 0 : NOISE_AEAD_TAG;
    int k;

    if (!my_turn(hs))
        return FASTN_ERR_INVAL;
    if (tokens_len(hs->msg) + plen + tag > outcap)
        return FASTN_ERR_TOO_LARGE;
    k = write_tokens(hs, out);
    if (k < 0)
        return k;
    *outlen = (size_t)k + encrypt_and_hash(&hs->ss, payload, plen, out + k);
    hs->msg++;
    return 0;
}

/* Reads the encrypted static key at p (48 bytes) into hs->rs. */
static int read_s(struct noise_hs *hs, uint8_t *p)
{
    size_t n;
    if (decrypt_and_hash(&hs->ss, p, NOISE_DH_LEN + NOISE_AEAD_TAG, &n))
        return FASTN_ERR_NET_HANDSHAKE;
    memcpy(hs->rs, p, NOISE_DH_LEN);
    return 0;
}

static int read_tokens(struct noise_hs *hs, uint8_t *msg)
{
    int err;

    if (hs->msg < 2) { /* e */
        memcpy(hs->re, msg, NOISE_DH_LEN);
        mix_hash(&hs->ss, hs->re, NOISE_DH_LEN);
    }
    switch (hs->msg) {
    case 0:
        return 0;
    case 1: /* ee, s, es */
        err = mix_dh(hs, hs->e_priv, hs->re);
        if (!err)
            err = read_s(hs, msg + NOISE_DH_LEN);
        return err ? err : mix_dh(hs, hs->e_priv, hs->rs);
    default: /* s, se */
        err = read_s(hs, msg);
        return err ? err : mix_dh(hs, hs->e_priv, hs->rs);
    }
}

int noise_hs_read(struct noise_hs *hs, uint8_t *msg, size_t n,
                  uint8_t **payload, size_t *plen)
{
    size_t k = tokens_len(hs->msg);
    size_t tag = hs->msg == 0 ? 0 : NOISE_AEAD_TAG;
    int err;

    if (hs->msg >= 3 || my_turn(hs))
        return FASTN_ERR_INVAL;
    if (n < k + tag)
        return FASTN_ERR_NET_HANDSHAKE;
    err = read_tokens(hs, msg);
    if (!err)
        err = decrypt_and_hash(&hs->ss, msg + k, n - k, plen);
    if (err)
        return FASTN_ERR_NET_HANDSHAKE;
    *payload = msg + k;
    hs->msg++;
    return 0;
}

void noise_hs_split(struct noise_hs *hs, struct noise_cipher *tx,
                    struct noise_cipher *rx)
{
    uint8_t k1[NOISE_HASH_LEN], k2[NOISE_HASH_LEN];

    noise_hkdf2(hs->ss.ck, NULL, 0, k1, k2);
    /* k1 encrypts initiator -> responder, k2 the other way. */
    noise_cipher_init(tx, hs->initiator ? k1 : k2);
    noise_cipher_init(rx, hs->initiator ? k2 : k1);
    sodium_memzero(k1, sizeof(k1));
    sodium_memzero(k2, sizeof(k2));
}
