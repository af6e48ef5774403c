/*
 * Which addresses a peer may make us dial or advertise: the scope of an
 * IP address (loopback, link-local, private, reserved, public) and a
 * policy check for addresses that arrive from the network (DCUtR's
 * observed addresses, AutoNAT's dial-back list, Kademlia's peer records,
 * relay reservations, mDNS answers).
 *
 * An address that passes is a dialable TCP address, /ip4|/ip6|/dns*
 * then /tcp with a port other than 0, optionally ending in /p2p/ID (which
 * must then be the peer it is said to belong to); its IP is neither
 * unspecified, multicast nor broadcast; and its scope is one the policy
 * allows. Everything else is refused, so one garbage address cannot make
 * the daemon dial 0.0.0.0, a multicast group or, unless configured, the
 * LAN of whoever it talks to.
 *
 * struct addr_list is a bounded set of such addresses (no duplicates):
 * adding past its capacity drops the address and counts it.
 */
#ifndef FASTN_NET_ADDR_H
#define FASTN_NET_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/multiaddr.h"
#include "util/peer_id.h"

enum addr_scope {
    ADDR_SCOPE_INVALID = 0, /* unspecified, multicast, broadcast */
    ADDR_SCOPE_LOOPBACK,    /* 127/8, ::1 */
    ADDR_SCOPE_LINK,        /* 169.254/16, fe80::/10 */
    ADDR_SCOPE_PRIVATE,     /* RFC 1918, 100.64/10 (CGNAT), fc00::/7 */
    ADDR_SCOPE_RESERVED,    /* documentation, benchmarking, 240/4, ... */
    ADDR_SCOPE_PUBLIC,
    ADDR_SCOPE_DNS, /* a name: its scope is known only once resolved */
};

struct addr_policy {
    bool allow_loopback; /* tests on one machine */
    bool allow_private;  /* LAN, link-local and reserved ranges too */
    bool allow_dns;      /* /dns* names (resolved later by the dialer) */
};

/* Largest capacity of an addr_list. */
#define ADDR_LIST_MAX 16

struct addr_list {
    size_t n;
    size_t dropped; /* refused or past the capacity */
    struct multiaddr a[ADDR_LIST_MAX];
};

/* The scope of a 4- or 16-byte IP address (IPv4-mapped IPv6 addresses
 * are judged as IPv4). Any other length is ADDR_SCOPE_INVALID. */
enum addr_scope addr_ip_scope(const uint8_t *ip, size_t len);

/* The scope of a multiaddr's first component (INVALID when it is not an
 * IP address or a DNS name). */
enum addr_scope addr_scope_of(const struct multiaddr *ma);

/* Whether p allows an address of scope s. */
bool addr_policy_allows(const struct addr_policy *p, enum addr_scope s);

/* Checks a binary multiaddr from the wire against the rules above; on
 * success *out holds it. peer, when not NULL, is whom the address is
 * said to belong to: a trailing /p2p must name it. Errors:
 * FASTN_ERR_BAD_MULTIADDR (not a multiaddr, or a /p2p of another peer),
 * FASTN_ERR_NET_MULTIADDR_PROTO (a protocol fastn does not speak),
 * FASTN_ERR_TOO_LARGE, FASTN_ERR_UNSUPPORTED (not a TCP address),
 * FASTN_ERR_PERM (port 0, or a scope the policy refuses). */
int addr_check(const struct addr_policy *p, const uint8_t *raw, size_t n,
               const struct peer_id *peer, struct multiaddr *out);

/* Adds a checked address to l unless it is there already; at most cap
 * (<= ADDR_LIST_MAX) addresses are kept. Returns 1 when added, 0 when
 * it was a duplicate, or an error of addr_check / FASTN_ERR_TOO_LARGE
 * (the list is full); refused addresses count in l->dropped. */
int addr_list_add(struct addr_list *l, size_t cap, const struct addr_policy *p,
                  const uint8_t *raw, size_t n, const struct peer_id *peer);

/* Adds a multiaddr we already hold (no policy check). Same returns. */
int addr_list_put(struct addr_list *l, size_t cap, const struct multiaddr *ma);

#endif
