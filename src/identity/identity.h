/*
 * Identities: Ed25519 key pairs, key files and signatures.
 *
 * A struct identity holds a secret key and must be wiped with
 * identity_cleanup(), or, in fastnd, only the public half and a signer
 * (identity/signer.h: the key lives in another process, which signs). PeerIDs
 * and public-key encodings are in util/peer_id.h (no cryptography there). Only
 * this subsystem and net's crypto files call libsodium.
 */
#ifndef FASTN_IDENTITY_H
#define FASTN_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/peer_id.h"

#define IDENTITY_SECKEY_LEN 64 /* libsodium form: 32-byte seed || pubkey */
#define IDENTITY_SIG_LEN 64

struct signer;

struct identity {
    uint8_t seckey[IDENTITY_SECKEY_LEN]; /* all zero when signer is set */
    uint8_t pubkey[IDENTITY_PUBKEY_LEN];
    struct peer_id id;
    struct signer *signer; /* NULL: sign with seckey; else ask it */
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
/* What is at a key file's place (name in the folder dirfd, or a path
 * with AT_FDCWD), looked at without following a symbolic link. */
enum identity_key_state {
    IDENTITY_KEY_MISSING,  /* nothing at all */
    IDENTITY_KEY_PRESENT,  /* a file, or a link to something */
    IDENTITY_KEY_DANGLING, /* a symbolic link to nothing (e.g. into a
                              secrets volume that is not mounted yet) */
};
/* Errors: FASTN_ERR_IO. */
int identity_key_state_at(int dirfd, const char *name,
                          enum identity_key_state *out);

/* Reads the key file name in the folder dirfd (or a path, AT_FDCWD). A
 * symbolic link there is followed for reading, so that a key may live
 * on a secrets volume: the caller makes sure the folder is the daemon's
 * own (only its user can have put the link there). The file must be a
 * regular file of the daemon's user or root; *mode (may be NULL) gets
 * its permission bits. Errors: FASTN_ERR_NOT_FOUND, _PERM (not a regular
 * file, or another user's), _IO, _BAD_KEY, _UNSUPPORTED. */
int identity_load_at(int dirfd, const char *name, struct identity *out,
                     mode_t *mode);
/* Creates a new identity and its key file name in dirfd (mode 0600,
 * complete or not at all, file_create_at): never over a key, a file or a
 * link already there. On error out holds nothing. Errors:
 * FASTN_ERR_EXISTS, _IO, _CRYPTO, _TOO_LARGE. */
int identity_create_at(int dirfd, const char *name, struct identity *out);

/* Ed25519 signature over msg: with seckey, or by id->signer (which signs
 * only the payload kinds it knows; its errors: signer_sign()). */
int identity_sign(const struct identity *id, const uint8_t *msg, size_t n,
                  uint8_t sig[IDENTITY_SIG_LEN]);
/* Verifies an Ed25519 signature; true when valid. */
bool identity_verify(const uint8_t pubkey[IDENTITY_PUBKEY_LEN],
                     const uint8_t *msg, size_t n,
                     const uint8_t sig[IDENTITY_SIG_LEN]);

#endif
