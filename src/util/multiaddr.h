/*
 * Multiaddrs (multiformats/multiaddr): self-describing network addresses,
 * text "/ip4/1.2.3.4/tcp/4001/p2p/12D3KooW…" and binary
 * (uvarint protocol code, then the value).
 *
 * fastn knows /ip4 /ip6 /tcp /dns /dns4 /dns6 /p2p (alias /ipfs), /unix
 * and /p2p-circuit (circuit relay v2: /p2p/RELAY/p2p-circuit/p2p/TARGET);
 * any other protocol is refused with FASTN_ERR_NET_MULTIADDR_PROTO. A
 * struct multiaddr always holds a validated binary form of at most
 * MULTIADDR_MAX_BYTES, so code that holds one never re-checks it.
 * /unix takes one path segment, percent-encoded ("/unix/%2Ftmp%2Fx.sock"),
 * as multiformats' protocols/unix.md and js-multiaddr write it.
 */
#ifndef FASTN_NET_MULTIADDR_H
#define FASTN_NET_MULTIADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/peer_id.h"

/* Largest binary multiaddr we hold, and the text buffer that always fits
 * its formatted form: /p2p-circuit is 2 bytes and 12 characters, the
 * largest growth (unix paths may triple when escaped, an ip4 address
 * quadruple), so 6 characters a byte, and room for the formatter's
 * check of a last component (a slash, a name, a slash, the NUL). */
#define MULTIADDR_MAX_BYTES 512
#define MULTIADDR_STR_MAX (6 * MULTIADDR_MAX_BYTES + 8)
/* Longest DNS name and unix socket path (sun_path less its NUL). */
#define MULTIADDR_DNS_MAX 255
#define MULTIADDR_UNIX_MAX 107

/* Protocol codes (multiformats/multiaddr protocols.csv). */
enum multiaddr_code {
    MA_IP4 = 4,
    MA_TCP = 6,
    MA_IP6 = 41,
    MA_DNS = 53,
    MA_DNS4 = 54,
    MA_DNS6 = 55,
    MA_DNSADDR = 56, /* resolved through TXT records: net/dnsaddr.h */
    MA_UNIX = 400,
    MA_P2P = 421,
    MA_P2P_CIRCUIT = 290, /* no value */
};

struct multiaddr {
    uint16_t len;
    uint8_t bytes[MULTIADDR_MAX_BYTES];
};

/* One component; value points into the multiaddr it came from. */
struct multiaddr_comp {
    uint32_t code;
    const uint8_t *value;
    size_t len;
};

/* Where a TCP multiaddr points: an IP address or a DNS name, a port, and
 * the PeerID from a trailing /p2p component when there is one. */
struct multiaddr_tcp {
    uint32_t host_code; /* MA_IP4, MA_IP6, MA_DNS, MA_DNS4 or MA_DNS6 */
    uint8_t ip[16];     /* 4 or 16 bytes used, for MA_IP4/MA_IP6 */
    char host[MULTIADDR_DNS_MAX + 1]; /* NUL-terminated, for MA_DNS* */
    uint16_t port;
    bool has_peer;
    struct peer_id peer;
};

/* Parses the text form. Errors: FASTN_ERR_BAD_MULTIADDR (syntax or a bad
 * value), FASTN_ERR_NET_MULTIADDR_PROTO (a protocol fastn does not know),
 * FASTN_ERR_TOO_LARGE (longer than MULTIADDR_MAX_BYTES in binary). */
int multiaddr_parse(const char *s, struct multiaddr *out);

/* Validates and copies a binary multiaddr (from the wire). Same errors as
 * multiaddr_parse. */
int multiaddr_from_bytes(const uint8_t *p, size_t n, struct multiaddr *out);

/* Formats as text into out (outlen bytes, MULTIADDR_STR_MAX always fits).
 * Returns the string length or FASTN_ERR_TOO_LARGE. */
int multiaddr_format(const struct multiaddr *ma, char *out, size_t outlen);

/* Iterates components: start with *off = 0; returns 1 and fills c, or 0
 * at the end. */
int multiaddr_next(const struct multiaddr *ma, size_t *off,
                   struct multiaddr_comp *c);

/* Appends one component with its binary value (validated as on parse).
 * Errors: as multiaddr_from_bytes. */
int multiaddr_append(struct multiaddr *ma, uint32_t code, const uint8_t *v,
                     size_t n);

/* Builds /ip4/A/tcp/P (ip_len 4) or /ip6/A/tcp/P (ip_len 16), as for the
 * observed and listen addresses of a TCP socket. Errors: INVAL. */
int multiaddr_from_ip_tcp(struct multiaddr *out, const uint8_t *ip,
                          size_t ip_len, uint16_t port);

/* Appends /p2p/ID. Errors: TOO_LARGE. */
int multiaddr_append_peer(struct multiaddr *ma, const struct peer_id *id);

bool multiaddr_equal(const struct multiaddr *a, const struct multiaddr *b);

/* The PeerID of the last /p2p component. Errors: FASTN_ERR_NOT_FOUND. */
int multiaddr_get_peer(const struct multiaddr *ma, struct peer_id *out);

/* Decodes a dialable TCP address: (/ip4|/ip6|/dns|/dns4|/dns6)/X/tcp/P,
 * optionally followed by /p2p/ID. Errors: FASTN_ERR_UNSUPPORTED (any other
 * shape, e.g. /unix or a bare /p2p). */
int multiaddr_to_tcp(const struct multiaddr *ma, struct multiaddr_tcp *out);

/* For /unix/PATH (optionally followed by /p2p/ID): copies the path,
 * NUL-terminated, into out (MULTIADDR_UNIX_MAX + 1 bytes). Errors:
 * FASTN_ERR_UNSUPPORTED. */
int multiaddr_to_unix(const struct multiaddr *ma, char *out, size_t outlen);

#endif
