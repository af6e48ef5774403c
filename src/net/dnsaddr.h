/*
 * /dnsaddr multiaddrs (multiformats/multiaddr protocols/DNSADDR.md): the
 * addresses of /dnsaddr/HOST are the "dnsaddr=MULTIADDR" strings of the
 * TXT records of _dnsaddr.HOST, which may name further /dnsaddr hosts.
 * The public libp2p bootstrap peers are published so
 * (/dnsaddr/bootstrap.libp2p.io/p2p/ID). The swarm's dial resolves them
 * (net/swarm_dial.c), each name a lookup on a worker thread, at most
 * DNSADDR_LOOKUPS_MAX per dial so that records naming each other end.
 *
 * Split in two so the part that reads outside bytes is pure and fuzzed:
 * dnsaddr_query() asks the system's resolver (res_nquery, /etc/resolv.conf)
 * and blocks; dnsaddr_parse() decodes its answer with the DNS codec of
 * net/mdns.h (bounded, compression loops refused).
 */
#ifndef FASTN_NET_DNSADDR_H
#define FASTN_NET_DNSADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/multiaddr.h"
#include "util/peer_id.h"

#define DNSADDR_ANSWER_MAX 9000 /* bytes of one answer read */
#define DNSADDR_LOOKUPS_MAX 8   /* names resolved for one dial */

/* The TXT answer for _dnsaddr.HOST: each "dnsaddr=MULTIADDR" string
 * that parses and, when has_peer, ends in /p2p/peer, into out (at most
 * max; *n_out is how many). Errors: FASTN_ERR_NET_BAD_MESSAGE (not a DNS
 * message as net/mdns.h reads them), FASTN_ERR_NOMEM. */
int dnsaddr_parse(const uint8_t *ans, size_t n, bool has_peer,
                  const struct peer_id *peer, struct multiaddr *out, size_t max,
                  size_t *n_out);

/* Asks the system's resolver for the TXT records of _dnsaddr.host;
 * blocks (call it on a worker thread). The answer goes to ans (at most
 * DNSADDR_ANSWER_MAX bytes), its length to *n. Errors:
 * FASTN_ERR_NET_UNREACHABLE (no such name, no records, no resolver
 * answered). */
int dnsaddr_query(const char *host, uint8_t *ans, size_t *n);

#endif
