/*
 * Identities: Ed25519 key pairs and libp2p PeerIDs.
 *
 * A struct identity holds a secret key and must be wiped with
 * identity_cleanup(). A struct peer_id is the binary multihash form of a
 * PeerID (identity multihash of the protobuf PublicKey for Ed25519; a
 * sha256 multihash for keys too long to inline), compared byte for byte.
 * Only this subsystem and net's crypto files call libsodium.
 */
#ifndef FASTN_IDENTITY_H
#define FASTN_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDENTITY_PUBKEY_LEN 32
#define IDENTITY_SECKEY_LEN 64 /* libsodium form: 32-byte seed || pubkey */
#define IDENTITY_SIG_LEN 64
/* protobuf PublicKey for Ed25519: 08 01 12 20 || key */
#define IDENTITY_PUBKEY_PROTO_LEN 36
/* Longest multihash we accept as a PeerID (sha256 form is 34 bytes). */
#define PEER_ID_MAX_BYTES 64
/* Longest base58 text of a PeerID, plus NUL. */
#define PEER_ID_STR_MAX 96

struct peer_id {
    uint8_t len;
    uint8_t bytes[PEER_ID_MAX_BYTES];
};

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

/* Encodes a raw Ed25519 public key as the 36-byte protobuf PublicKey. */
void pubkey_encode_proto(const uint8_t pubkey[IDENTITY_PUBKEY_LEN],
                         uint8_t out[IDENTITY_PUBKEY_PROTO_LEN]);
/* Decodes a protobuf PublicKey that must be Ed25519. Errors:
 * FASTN_ERR_BAD_KEY, FASTN_ERR_UNSUPPORTED (another key type). */
int pubkey_decode_proto(const uint8_t *p, size_t n,
                        uint8_t pubkey[IDENTITY_PUBKEY_LEN]);

/* The PeerID of an Ed25519 public key. */
void peer_id_from_pubkey(const uint8_t pubkey[IDENTITY_PUBKEY_LEN],
                         struct peer_id *out);
/* Wraps binary multihash bytes (from the wire) as a PeerID after checking
 * they are an identity or sha2-256 multihash. Errors: BAD_PEER_ID. */
int peer_id_from_bytes(const uint8_t *p, size_t n, struct peer_id *out);
/* Parses the text form: base58btc multihash ("12D3KooW…", "Qm…") or a
 * CIDv1 with the libp2p-key codec in base32 ("bafz…"). Errors:
 * FASTN_ERR_BAD_PEER_ID. */
int peer_id_parse(const char *s, struct peer_id *out);
/* Formats as base58btc into out (PEER_ID_STR_MAX bytes); returns out. */
char *peer_id_format(const struct peer_id *id, char out[PEER_ID_STR_MAX]);
bool peer_id_equal(const struct peer_id *a, const struct peer_id *b);
/* When the PeerID inlines an Ed25519 key, copies it out and returns true. */
bool peer_id_get_pubkey(const struct peer_id *id,
                        uint8_t pubkey[IDENTITY_PUBKEY_LEN]);

#endif
