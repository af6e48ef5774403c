/*
 * Signed envelopes (libp2p/specs RFC/0002-signed-envelopes.md): a payload
 * with a type hint, signed by a peer's key under a domain string that is
 * never sent, so a signature made for one purpose (a relay's reservation
 * voucher, a peer record) is never valid for another.
 *
 * The signed bytes are uvarint(len(domain)) || domain || uvarint(len(type))
 * || type || uvarint(len(payload)) || payload. fastn signs and verifies
 * with Ed25519 keys (identity/identity.h); an envelope with another key
 * type is refused as unsupported.
 */
#ifndef FASTN_NET_ENVELOPE_H
#define FASTN_NET_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "util/buf.h"

#define ENVELOPE_MAX 4096
#define ENVELOPE_TYPE_MAX 32
#define ENVELOPE_PAYLOAD_MAX 2048

struct envelope {
    struct peer_id signer;
    size_t type_len, payload_len;
    uint8_t type[ENVELOPE_TYPE_MAX];
    uint8_t payload[ENVELOPE_PAYLOAD_MAX];
};

/* Appends the envelope (protobuf, no length prefix) signing payload as
 * id under domain. Errors: FASTN_ERR_TOO_LARGE (over the maxima above),
 * FASTN_ERR_CRYPTO, NOMEM. */
int envelope_seal(const struct identity *id, const char *domain,
                  const uint8_t *type, size_t type_len, const uint8_t *payload,
                  size_t n, struct buf *out);

/* Decodes p[0..n) and checks its signature under domain; on success out
 * holds the signer and copies of the type and payload. Errors:
 * FASTN_ERR_MALFORMED (not an envelope, fields missing or too large),
 * FASTN_ERR_UNSUPPORTED (a key type net/peer_key.h does not know),
 * FASTN_ERR_BAD_KEY, FASTN_ERR_SIGNATURE (the signature does not verify:
 * altered, or made for another domain). */
int envelope_open(const uint8_t *p, size_t n, const char *domain,
                  struct envelope *out);

#endif
