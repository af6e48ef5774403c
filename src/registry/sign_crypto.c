/*
 * libsodium behind sign_crypto.h: the one file of the registry that calls
 * it. Hash states are allocated here so their layout stays libsodium's.
 */
#include "registry/sign_crypto.h"

#include <sodium.h>
#include <stdlib.h>

#include "fastn/err.h"

struct registry_hash {
    enum registry_hash_alg alg;
    union {
        crypto_generichash_state b2;
        crypto_hash_sha256_state sha256;
    } u;
};

int registry_crypto_init(void)
{
    /* sodium_init is idempotent and thread-safe; it returns 1 when it
     * had already run. */
    return sodium_init() < 0 ? FASTN_ERR_CRYPTO : 0;
}

int registry_ed25519_verify(const uint8_t sig[REGISTRY_ED25519_SIG_LEN],
                            const uint8_t *msg, size_t len,
                            const uint8_t pk[REGISTRY_ED25519_PK_LEN])
{
    if (registry_crypto_init() != 0)
        return FASTN_ERR_CRYPTO;
    if (crypto_sign_verify_detached(sig, msg, len, pk) != 0)
        return FASTN_ERR_SIGNATURE;
    return 0;
}

int registry_hash_new(enum registry_hash_alg alg, struct registry_hash **out)
{
    struct registry_hash *h;

    if (registry_crypto_init() != 0)
        return FASTN_ERR_CRYPTO;
    /* libsodium declares its BLAKE2b state 64-byte aligned, which
     * malloc does not promise. Nothing secret is hashed here. */
    h = aligned_alloc(64, (sizeof(*h) + 63) & ~(size_t)63);
    if (!h)
        return FASTN_ERR_NOMEM;
    h->alg = alg;
    if (alg == REGISTRY_HASH_BLAKE2B_512)
        crypto_generichash_init(&h->u.b2, NULL, 0,
                                crypto_generichash_BYTES_MAX);
    else
        crypto_hash_sha256_init(&h->u.sha256);
    *out = h;
    return 0;
}

void registry_hash_update(struct registry_hash *h, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (h->alg == REGISTRY_HASH_BLAKE2B_512)
        crypto_generichash_update(&h->u.b2, p, n);
    else
        crypto_hash_sha256_update(&h->u.sha256, p, n);
}

void registry_hash_final(struct registry_hash *h, uint8_t *out)
{
    if (h->alg == REGISTRY_HASH_BLAKE2B_512)
        crypto_generichash_final(&h->u.b2, out, crypto_generichash_BYTES_MAX);
    else
        crypto_hash_sha256_final(&h->u.sha256, out);
}

void registry_hash_free(struct registry_hash *h)
{
    free(h);
}

int registry_sha256(const void *p, size_t n, uint8_t out[REGISTRY_SHA256_LEN])
{
    if (registry_crypto_init() != 0)
        return FASTN_ERR_CRYPTO;
    crypto_hash_sha256(out, p, n);
    return 0;
}

int registry_base64_decode(const char *b64, size_t len, uint8_t *out,
                           size_t max, size_t *out_len)
{
    const char *end = NULL;

    if (registry_crypto_init() != 0)
        return FASTN_ERR_CRYPTO;
    if (len == 0 ||
        sodium_base642bin(out, max, b64, len, NULL, out_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b64 + len)
        return FASTN_ERR_MALFORMED;
    return 0;
}

size_t registry_base64_len(size_t n)
{
    return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
}

void registry_base64_encode(const uint8_t *p, size_t n, char *out)
{
    sodium_bin2base64(out, registry_base64_len(n), p, n,
                      sodium_base64_VARIANT_ORIGINAL);
}
