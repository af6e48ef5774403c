/*
 * PeerIDs and libp2p public-key protobufs, without any cryptography, so
 * that libfastn (which holds no keys) can parse and print them too.
 *
 * A struct peer_id is the binary multihash form of a PeerID (identity
 * multihash of the protobuf PublicKey for Ed25519; a sha256 multihash for
 * keys too long to inline), compared byte for byte.
 */
#ifndef FASTN_UTIL_PEER_ID_H
#define FASTN_UTIL_PEER_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDENTITY_PUBKEY_LEN 32
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

/* Reads a libp2p key protobuf { KeyType Type = 1; bytes Data = 2; }: the
 * type and a borrowed pointer to the data. Unknown fields are refused.
 * Errors: FASTN_ERR_BAD_KEY. */
int key_proto_read(const uint8_t *p, size_t n, uint64_t *type,
                   const uint8_t **data, size_t *dlen);

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
