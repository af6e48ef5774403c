/*
 * Multiaddrs (multiformats/multiaddr): the text form ("/ip4/1.2.3.4/tcp/
 * 4001/p2p/12D3KooW…") and the binary form (varint protocol code, then
 * the value: fixed size, or varint length + bytes) that libp2p puts on the
 * wire and the control protocol carries.
 *
 * Known protocols: ip4 ip6 ip6zone dns dns4 dns6 dnsaddr tcp udp dccp sctp
 * unix p2p (alias ipfs) p2p-circuit quic quic-v1 webtransport ws wss tls
 * noise http webrtc webrtc-direct. /unix takes the rest of the text as a
 * path, also URI-encoded as one component (/unix/%2Ftmp%2Fx.sock).
 */
#ifndef FASTN_UTIL_MULTIADDR_H
#define FASTN_UTIL_MULTIADDR_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Longest multiaddr we handle: binary form, and text form (which may be
 * up to about three times longer, e.g. for ip6 or escaped names). */
#define MULTIADDR_MAX 1024
#define MULTIADDR_TEXT_MAX (4 * MULTIADDR_MAX)

/* Parses the text form and appends the binary form to out. Errors:
 * FASTN_ERR_BAD_MULTIADDR (unknown protocol, bad value, empty),
 * FASTN_ERR_TOO_LARGE (out's maximum, MULTIADDR_MAX bytes of binary or
 * MULTIADDR_TEXT_MAX of text). On error out is unchanged. */
int multiaddr_parse(const char *text, struct buf *out);

/* Formats n binary bytes as text into out (outlen bytes, NUL-terminated;
 * MULTIADDR_TEXT_MAX + 1 always suffices).
 * Errors: FASTN_ERR_BAD_MULTIADDR (unknown code, truncated or bad value),
 * FASTN_ERR_TOO_LARGE (out too small). */
int multiaddr_format(const uint8_t *p, size_t n, char *out, size_t outlen);

#endif
