/*
 * Identify (`/ipfs/id/1.0.0`, libp2p/specs identify/README.md): the
 * listener of the stream sends one length-prefixed Identify protobuf and
 * closes; `/ipfs/id/push/1.0.0` sends the same message the other way.
 *
 *   message Identify { string protocolVersion = 5; string agentVersion = 6;
 *     bytes publicKey = 1; repeated bytes listenAddrs = 2;
 *     bytes observedAddr = 4; repeated string protocols = 3;
 *     bytes signedPeerRecord = 8; }
 *
 * Decoding lends spans of the input; addresses stay raw bytes (check them
 * with multiaddr_from_bytes(), which refuses protocols fastn does not
 * speak) so that one unknown address does not spoil the message.
 */
#ifndef FASTN_NET_IDENTIFY_H
#define FASTN_NET_IDENTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "util/multiaddr.h"
#include "util/buf.h"

#define IDENTIFY_PROTOCOL_ID "/ipfs/id/1.0.0"
#define IDENTIFY_PUSH_PROTOCOL_ID "/ipfs/id/push/1.0.0"
#define IDENTIFY_PROTOCOL_VERSION "ipfs/0.1.0"
#define IDENTIFY_AGENT_VERSION "fastn/" FASTN_VERSION
/* Largest message accepted (js-libp2p sends at most 8 KiB). */
#define IDENTIFY_MAX_MSG (64 * 1024)
#define IDENTIFY_MAX_ADDRS 32
#define IDENTIFY_MAX_PROTOCOLS 128

struct identify_span {
    const uint8_t *p;
    size_t len;
};

struct identify_msg {
    struct identify_span protocol_version, agent_version, public_key;
    struct identify_span observed_addr, signed_peer_record;
    size_t n_listen, n_protocols;
    struct identify_span listen[IDENTIFY_MAX_ADDRS];
    struct identify_span protocols[IDENTIFY_MAX_PROTOCOLS];
    size_t dropped; /* addresses and protocols past the limits */
};

/* What we tell others about ourselves. */
struct identify_info {
    const char *protocol_version; /* NULL: IDENTIFY_PROTOCOL_VERSION */
    const char *agent_version;    /* NULL: IDENTIFY_AGENT_VERSION */
    const uint8_t *public_key;    /* protobuf PublicKey */
    size_t public_key_len;
    const struct multiaddr *listen;
    size_t n_listen;
    const struct multiaddr *observed; /* the remote's address, or NULL */
    const char *const *protocols;
    size_t n_protocols;
};

/* Decodes one Identify protobuf (without its length prefix). Errors:
 * FASTN_ERR_MALFORMED. */
int identify_decode(const uint8_t *p, size_t n, struct identify_msg *out);
/* Adds a further message to out (go-libp2p may split a large Identify in
 * two): repeated fields append, others are replaced when present. */
int identify_decode_more(const uint8_t *p, size_t n, struct identify_msg *out);

/* Appends the length-prefixed Identify message. Errors: FASTN_ERR_TOO_LARGE
 * (over IDENTIFY_MAX_MSG), NOMEM. */
int identify_encode(const struct identify_info *in, struct buf *out);

/* The PeerID of the message's public key (to compare with the
 * connection's). Errors: FASTN_ERR_NOT_FOUND (no key),
 * FASTN_ERR_BAD_KEY/UNSUPPORTED (not an Ed25519 PublicKey). */
int identify_peer(const struct identify_msg *m, struct peer_id *out);

#endif
