/*
 * A remote peer's identity key of any of libp2p's four key types
 * (peer-ids.md): the signature a peer makes with it (the Noise handshake
 * payload's, a signed record's) and the PeerID it names. Ed25519 goes
 * through libsodium as fastn's own keys do; RSA (which the spec makes as
 * compulsory as Ed25519 and which older go-libp2p and kubo nodes, the
 * public bootstrap peers among them, still use), Secp256k1 and ECDSA
 * through OpenSSL's libcrypto. fastn itself only ever has an Ed25519 key.
 */
#ifndef FASTN_NET_PEER_KEY_H
#define FASTN_NET_PEER_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "util/peer_id.h"

enum peer_key_type {
    PEER_KEY_RSA = 0,
    PEER_KEY_ED25519 = 1,
    PEER_KEY_SECP256K1 = 2,
    PEER_KEY_ECDSA = 3,
};

/* RSA moduli fastn takes, as go-libp2p does: smaller ones are forgeable,
 * larger ones a way to make a verifier spend seconds. */
#define PEER_KEY_RSA_MIN_BITS 2048
#define PEER_KEY_RSA_MAX_BITS 8192
/* The longest PublicKey protobuf taken (an 8192-bit RSA key is ~1.1 KB). */
#define PEER_KEY_PROTO_MAX 2048

/* Checks sig over msg by the key in a libp2p PublicKey protobuf. Errors:
 * FASTN_ERR_BAD_KEY (a malformed key, or an RSA key outside the sizes
 * above), FASTN_ERR_UNSUPPORTED (an unknown key type, or one that needs
 * libcrypto in a build without it), FASTN_ERR_SIGNATURE (the signature
 * does not verify). */
int peer_key_verify(const uint8_t *proto, size_t n, const uint8_t *msg,
                    size_t mlen, const uint8_t *sig, size_t slen);

/* The PeerID of a PublicKey protobuf: the key re-encoded canonically
 * (Type, then Data), then the identity multihash of it when it is 42
 * bytes or less (Ed25519, Secp256k1), else its sha2-256 multihash (RSA,
 * ECDSA). Errors: FASTN_ERR_BAD_KEY (malformed, or Data of a length
 * the type never has), FASTN_ERR_UNSUPPORTED (an unknown key type). */
int peer_key_id(const uint8_t *proto, size_t n, struct peer_id *out);

/* The key type's name ("RSA", "Ed25519", ...), "unknown" for others. */
const char *peer_key_type_name(uint64_t type);

#endif
