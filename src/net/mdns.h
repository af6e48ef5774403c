/*
 * mDNS peer discovery (libp2p/specs discovery/mdns.md over RFC 6762 and
 * RFC 6763), sans-I/O: a DNS message codec and the query/response logic.
 *
 * A peer asks `_p2p._udp.local PTR` (multicast to 224.0.0.251 / ff02::fb
 * port 5353); every peer answers, itself included, with
 *   _p2p._udp.local PTR <peer-name>._p2p._udp.local
 *   <peer-name>._p2p._udp.local TXT "dnsaddr=<multiaddr>/p2p/<id>" (one
 *   per address)
 * where peer-name is a random lower-case alphanumeric label of 32 to 63
 * characters chosen at start (not the PeerID, which may not fit a DNS
 * label). Answers go in the answer section, as js-libp2p writes them;
 * TXT records are read from any section.
 *
 * The decoder is strict and bounded: at most MDNS_MAX_PACKET bytes,
 * MDNS_MAX_QUESTIONS questions and MDNS_MAX_RECORDS records (the rest
 * counted and skipped only while the packet stays well formed), names
 * at most 255 bytes in labels of at most 63, and compression pointers
 * that must point strictly backwards with at most MDNS_MAX_JUMPS of them
 * per name, so a pointer loop ends as an error, not a hang.
 *
 * Driving it: mdns_init() with random bytes for the name; give it our
 * addresses (mdns_set_addrs, public or LAN TCP addresses with no
 * /p2p); call mdns_poll() at mdns_next_deadline() and send what it
 * appends as a multicast datagram; pass every datagram received on the
 * socket to mdns_handle(), multicast what it appends to reply, and dial
 * or remember the peers it reports. Time is passed in (microseconds).
 */
#ifndef FASTN_NET_MDNS_H
#define FASTN_NET_MDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"
#include "util/buf.h"
#include "util/peer_id.h"

#define MDNS_PORT 5353
#define MDNS_GROUP4 "224.0.0.251"
#define MDNS_GROUP6 "ff02::fb"
#define MDNS_SERVICE "_p2p._udp.local"
#define MDNS_META_QUERY "_services._dns-sd._udp.local"
#define MDNS_MAX_PACKET 9000 /* RFC 6762 §17 */
#define MDNS_NAME_MAX 255
#define MDNS_LABEL_MAX 63
#define MDNS_MAX_JUMPS 16
#define MDNS_MAX_QUESTIONS 8
#define MDNS_MAX_RECORDS 48
#define MDNS_TXT_MAX 16 /* strings kept per TXT record */
#define MDNS_TTL 120
#define MDNS_PEER_NAME_LEN 40

enum mdns_type {
    MDNS_A = 1,
    MDNS_PTR = 12,
    MDNS_TXT = 16,
    MDNS_AAAA = 28,
    MDNS_SRV = 33,
    MDNS_ANY = 255,
};

enum mdns_section { MDNS_ANSWER, MDNS_AUTHORITY, MDNS_ADDITIONAL };

struct mdns_question {
    char name[MDNS_NAME_MAX + 1];
    uint16_t type;
    bool unicast; /* QU bit */
};

struct mdns_rr {
    enum mdns_section section;
    char name[MDNS_NAME_MAX + 1];
    uint16_t type;
    bool flush; /* cache-flush bit */
    uint32_t ttl;
    char target[MDNS_NAME_MAX + 1]; /* PTR, SRV */
    uint16_t port;                  /* SRV */
    uint8_t ip[16];                 /* A (4 bytes), AAAA */
    size_t n_txt;
    struct {
        size_t len;
        uint8_t s[256];
    } txt[MDNS_TXT_MAX];
};

struct mdns_msg {
    uint16_t id;
    bool response;
    size_t n_q, n_rr, dropped;
    struct mdns_question q[MDNS_MAX_QUESTIONS];
    struct mdns_rr rr[MDNS_MAX_RECORDS];
};

/* A heap mdns_msg (it is large). */
struct mdns_msg *mdns_msg_new(void);
void mdns_msg_free(struct mdns_msg *m);

/* Decodes one DNS message. Errors: FASTN_ERR_NET_BAD_MESSAGE (truncated,
 * over MDNS_MAX_PACKET, a bad name or label, a compression loop or a
 * forward pointer, a record whose data does not fit its type). */
int mdns_decode(const uint8_t *p, size_t n, struct mdns_msg *out);

/* Appends the query for MDNS_SERVICE PTR. */
int mdns_query_encode(struct buf *out);
/* Appends our answer: the PTR and one TXT per address (each addr with
 * /p2p/self appended). Errors: FASTN_ERR_INVAL (a peer name that is not
 * one label), TOO_LARGE (over MDNS_MAX_PACKET), NOMEM. */
int mdns_response_encode(const char *peer_name, const struct peer_id *self,
                         const struct multiaddr *addrs, size_t n, uint32_t ttl,
                         struct buf *out);

/* Appends the answer to the DNS-SD meta query (RFC 6763 §9): one PTR
 * to MDNS_SERVICE. */
int mdns_meta_response_encode(struct buf *out);

/* Writes a peer name of MDNS_PEER_NAME_LEN lower-case letters and digits
 * made from rnd (at least MDNS_PEER_NAME_LEN random bytes). */
void mdns_peer_name(const uint8_t *rnd, size_t n,
                    char out[MDNS_PEER_NAME_LEN + 1]);

/* --- discovery ----------------------------------------------------------- */

#define MDNS_ADDRS_MAX 8
#define MDNS_FOUND_MAX 8

struct mdns_config {
    uint64_t query_interval_us; /* 10 s */
    struct addr_policy policy;  /* LAN by default: private allowed */
};

struct mdns_found {
    struct peer_id id;
    struct addr_list addrs; /* checked, as announced (ending in /p2p/ID) */
};

struct mdns {
    struct mdns_config cfg;
    struct peer_id self;
    char name[MDNS_PEER_NAME_LEN + 1];
    size_t n_addrs;
    struct multiaddr addrs[MDNS_ADDRS_MAX];
    uint64_t next_query;
};

void mdns_config_default(struct mdns_config *cfg);
void mdns_init(struct mdns *m, const struct mdns_config *cfg,
               const struct peer_id *self, const uint8_t *rnd, size_t rnd_len,
               uint64_t now);
void mdns_set_addrs(struct mdns *m, const struct multiaddr *addrs, size_t n);
/* Appends a query when one is due (returns 1), else 0. */
int mdns_poll(struct mdns *m, uint64_t now, struct buf *out);
uint64_t mdns_next_deadline(const struct mdns *m);
/* Handles one datagram: a query for our service (or the DNS-SD meta
 * query) appends our answer to reply; answers from other peers fill
 * found[0..*n_found) (at most max; our own answer is ignored). Errors:
 * FASTN_ERR_NET_BAD_MESSAGE (drop the datagram), NOMEM. */
int mdns_handle(struct mdns *m, const uint8_t *pkt, size_t n, uint64_t now,
                struct buf *reply, struct mdns_found *found, size_t max,
                size_t *n_found);

#endif
