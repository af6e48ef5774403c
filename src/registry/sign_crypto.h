/*
 * The registry's cryptography: the only file of src/registry that calls
 * libsodium (sign_crypto.c), as STYLE.md asks of crypto code.
 *
 * Ed25519 verification (minisign's signatures), BLAKE2b-512 (minisign's
 * prehashed "ED" algorithm), SHA-256 (the registry index's file hashes)
 * and base64 (minisign's file format), each behind a plain C interface so
 * the rest of the subsystem does not see libsodium's types. The hash
 * states live on the heap (registry_hash_new) because their sizes are
 * libsodium's business.
 */
#ifndef FASTN_REGISTRY_SIGN_CRYPTO_H
#define FASTN_REGISTRY_SIGN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define REGISTRY_ED25519_PK_LEN 32
#define REGISTRY_ED25519_SIG_LEN 64
#define REGISTRY_BLAKE2B_LEN 64
#define REGISTRY_SHA256_LEN 32

/* Initialises libsodium (idempotent, thread-safe). Errors:
 * FASTN_ERR_CRYPTO. Every function below calls it first. */
int registry_crypto_init(void);

/* Verifies an Ed25519 signature of msg by pk (libsodium's strict
 * verification: canonical encodings, no small-order keys). Returns 0, or
 * FASTN_ERR_SIGNATURE when it does not verify, FASTN_ERR_CRYPTO when
 * libsodium cannot start. */
int registry_ed25519_verify(const uint8_t sig[REGISTRY_ED25519_SIG_LEN],
                            const uint8_t *msg, size_t len,
                            const uint8_t pk[REGISTRY_ED25519_PK_LEN]);

enum registry_hash_alg {
    REGISTRY_HASH_BLAKE2B_512,
    REGISTRY_HASH_SHA256,
};

struct registry_hash; /* opaque */

/* A new hash computation. Errors: FASTN_ERR_NOMEM, FASTN_ERR_CRYPTO. */
int registry_hash_new(enum registry_hash_alg alg, struct registry_hash **out);
void registry_hash_update(struct registry_hash *h, const void *p, size_t n);
/* Writes the digest (64 bytes for BLAKE2b-512, 32 for SHA-256) to out,
 * which has room for it; the state can not be updated afterwards. */
void registry_hash_final(struct registry_hash *h, uint8_t *out);
/* Frees h (NULL does nothing). */
void registry_hash_free(struct registry_hash *h);

/* One-shot SHA-256 of p[0..n). */
int registry_sha256(const void *p, size_t n, uint8_t out[REGISTRY_SHA256_LEN]);

/* Decodes standard base64 with padding (RFC 4648 section 4, as minisign
 * writes it) of b64[0..len) into out (max bytes); no other character,
 * whitespace included, is accepted. Errors: FASTN_ERR_MALFORMED (not
 * base64, or more than max bytes). */
int registry_base64_decode(const char *b64, size_t len, uint8_t *out,
                           size_t max, size_t *out_len);
/* Encodes p[0..n) as padded base64 into out (room for
 * registry_base64_len(n) bytes, NUL included). */
void registry_base64_encode(const uint8_t *p, size_t n, char *out);
size_t registry_base64_len(size_t n);

#endif
