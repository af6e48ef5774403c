/* base58btc (the Bitcoin alphabet), as multibase and libp2p PeerIDs use. */
#ifndef FASTN_UTIL_BASE58_H
#define FASTN_UTIL_BASE58_H

#include <stddef.h>
#include <stdint.h>

/* Largest input either function accepts, in bytes. */
#define BASE58_MAX_BYTES 256

/* Encodes n bytes as a NUL-terminated string into out (outlen bytes).
 * Returns the string length, or FASTN_ERR_TOO_LARGE when n exceeds
 * BASE58_MAX_BYTES or out is too small. */
int base58_encode(const uint8_t *in, size_t n, char *out, size_t outlen);

/* Decodes a base58btc string of slen characters into out (outlen bytes).
 * Returns the number of bytes, or FASTN_ERR_MALFORMED (a character outside
 * the alphabet), FASTN_ERR_TOO_LARGE (the result does not fit). */
int base58_decode(const char *s, size_t slen, uint8_t *out, size_t outlen);

#endif
