/*
 * Identities: Ed25519 key pairs, key files and signatures.
 *
 * A struct identity holds a secret key and must be wiped with
 * identity_cleanup(). PeerIDs and public-key encodings are in
 * util/peer_id.h (no cryptography there). Only this subsystem and net's
 * crypto files call libsodium.
 */
#ifndef FASTN_IDENTITY_H
#define FASTN_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/peer_id.h"

#define IDENTITY_SECKEY_LEN 64 /* libsodium form: 32-byte seed || pubkey */
#define IDENTITY_SIG_LEN 64

struct identity {
    uint8_t seckey[IDENTITY_SECKEY_LEN];
    uint8_t pubkey[IDENTITY_PUBKEY_LEN];
    struct peer_id id;
};

/* Initialises libsodium; call once per process before anything else here.
 * Errors: FASTN_ERR_CRYPTO. */
int identity_global_init(void);

/* Creates a new random identity. */
int identity_generate(struct identity *out);
/* Derives an identity from a 32-byte seed (tests, vectors). */
int identity_from_seed(struct identity *out, const uint8_t seed[32]);
/* Wipes the secret key. */
void identity_cleanup(struct identity *id);

/* Encodes the secret key as libp2p's protobuf PrivateKey (type Ed25519,
 * 64-byte data) into out; returns the length (68) or FASTN_ERR_TOO_LARGE. */
int identity_encode_private(const struct identity *id, uint8_t *out,
                            size_t outlen);
/* Decodes a protobuf PrivateKey: Ed25519 with 64-byte data (seed || pub)
 * or the legacy 96-byte form (seed || pub || pub). The public half must
 * match the seed. Errors: FASTN_ERR_BAD_KEY, FASTN_ERR_UNSUPPORTED (a key
 * type other than Ed25519). */
int identity_decode_private(const uint8_t *p, size_t n, struct identity *out);

/* Reads a key file (at most 4 KiB). Errors: FASTN_ERR_NOT_FOUND, _IO,
 * _BAD_KEY, _UNSUPPORTED. */
int identity_load_file(const char *path, struct identity *out);
/* Writes a key file with mode 0600, atomically (temp file + rename).
 * Errors: FASTN_ERR_IO. */
int identity_save_file(const char *path, const struct identity *id);
/* Loads dir/name.key, creating dir (0700) and a new key (0600) when there
 * is none. *created says which happened (may be NULL). */
int identity_load_or_create(const char *dir, const char *name,
                            struct identity *out, bool *created);

/* Ed25519 signature over msg. */
int identity_sign(const struct identity *id, const uint8_t *msg, size_t n,
                  uint8_t sig[IDENTITY_SIG_LEN]);
/* Verifies an Ed25519 signature; true when valid. */
bool identity_verify(const uint8_t pubkey[IDENTITY_PUBKEY_LEN],
                     const uint8_t *msg, size_t n,
                     const uint8_t sig[IDENTITY_SIG_LEN]);

#endif
