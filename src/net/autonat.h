/*
 * AutoNAT v1 (`/libp2p/autonat/1.0.0`, libp2p/specs autonat/README.md),
 * sans-I/O: is this daemon reachable from the Internet, and at which
 * address?
 *
 * The client asks a peer to dial it back (a Dial message with its
 * PeerID and the addresses it believes public) and reads one
 * DialResponse. A peer's answer is only a vote: struct autonat_client
 * turns votes of distinct peers into a status (unknown, public, private)
 * with a confidence, so one lying or broken server cannot flip it.
 * Observed addresses (what identify's observedAddr says, per peer) are
 * collected by struct autonat_observed: an address counts once peers in
 * AUTONAT_OBSERVED_CONFIRM distinct networks reported it.
 *
 * The server (struct autonat_server) follows the spec's safety rules:
 * it dials back only addresses on the IP the request came from (no
 * reflection at third parties), only public TCP ones unless configured,
 * at most AUTONAT_DIAL_MAX of them, and it rate-limits per peer and
 * overall; refusals are answered with E_DIAL_REFUSED, malformed requests
 * with E_BAD_REQUEST.
 *
 * Driving it:
 *  - Client: autonat_dial_encode() a request on a new stream to a
 *    connected peer; read one length-prefixed message (at most
 *    AUTONAT_MAX_MSG) and pass it to autonat_response_decode(); give the
 *    outcome to autonat_client_vote(). autonat_client_next_probe() says
 *    when to ask again (sooner while unknown).
 *  - Server: on a request, autonat_server_request(); when it returns 1,
 *    dial the job's addresses on a *new* connection (not one to the same
 *    peer already open) within AUTONAT_DIAL_TIMEOUT_US, then
 *    autonat_response_encode() the result; when it returns 0 the reply
 *    (a refusal) is already in out.
 * Time is passed in, in microseconds; nothing here allocates beyond the
 * output buffers and protobuf-c's bounded unpacking.
 */
#ifndef FASTN_NET_AUTONAT_H
#define FASTN_NET_AUTONAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"
#include "util/buf.h"
#include "util/peer_id.h"

#define AUTONAT_PROTOCOL_ID "/libp2p/autonat/1.0.0"
#define AUTONAT_MAX_MSG 4096
#define AUTONAT_DIAL_MAX 16 /* addresses dialed back per request */
#define AUTONAT_DIAL_TIMEOUT_US (15 * 1000000ull)
#define AUTONAT_STATUS_TEXT_MAX 256

enum autonat_status {
    AUTONAT_OK = 0,
    AUTONAT_E_DIAL_ERROR = 100,
    AUTONAT_E_DIAL_REFUSED = 101,
    AUTONAT_E_BAD_REQUEST = 200,
    AUTONAT_E_INTERNAL_ERROR = 300,
};

/* --- codec --------------------------------------------------------------- */

struct autonat_request {
    struct peer_id peer;
    size_t n_raw; /* addresses in the message, before any check */
    size_t n;     /* the first ones that are multiaddrs fastn speaks */
    struct multiaddr addrs[AUTONAT_DIAL_MAX];
};

struct autonat_response {
    enum autonat_status status;
    char text[AUTONAT_STATUS_TEXT_MAX + 1];
    bool has_addr;
    struct multiaddr addr; /* the address dialed, when valid */
};

/* Appends a length-prefixed Dial for us (self) at addrs. Errors:
 * FASTN_ERR_TOO_LARGE (over AUTONAT_MAX_MSG), NOMEM. */
int autonat_dial_encode(const struct peer_id *self,
                        const struct multiaddr *addrs, size_t n,
                        struct buf *out);
/* Decodes a Dial body; the first AUTONAT_DIAL_MAX addresses that are
 * valid multiaddrs are kept (the others only counted). Errors:
 * FASTN_ERR_NET_BAD_MESSAGE (malformed, not a DIAL, no or a bad PeerID). */
int autonat_request_decode(const uint8_t *p, size_t n,
                           struct autonat_request *out);
/* Appends a length-prefixed DialResponse (text and addr may be NULL). */
int autonat_response_encode(enum autonat_status st, const char *text,
                            const struct multiaddr *addr, struct buf *out);
/* Decodes a DialResponse body. An address that is not a valid multiaddr
 * is left out (has_addr false). Errors: FASTN_ERR_NET_BAD_MESSAGE. */
int autonat_response_decode(const uint8_t *p, size_t n,
                            struct autonat_response *out);

/* --- server -------------------------------------------------------------- */

struct autonat_server_config {
    struct addr_policy policy; /* public only, unless tests/LAN say so */
    unsigned per_peer_max;     /* requests per peer per window (3) */
    unsigned global_max;       /* requests per window, all peers (30) */
    uint64_t window_us;        /* 60 s */
};

#define AUTONAT_SERVER_PEERS 256

struct autonat_server {
    struct autonat_server_config cfg;
    uint64_t window_start;
    unsigned global_count;
    size_t n_peers;
    struct {
        struct peer_id id;
        unsigned count;
    } peers[AUTONAT_SERVER_PEERS];
};

struct autonat_dial_job {
    struct peer_id peer;
    struct addr_list addrs;
};

void autonat_server_config_default(struct autonat_server_config *cfg);
void autonat_server_init(struct autonat_server *s,
                         const struct autonat_server_config *cfg);

/* Counts one request of peer against the limits (v1's and v2's alike);
 * false when it is over one. */
bool autonat_server_admit(struct autonat_server *s, const struct peer_id *peer,
                          uint64_t now);

/* Handles one request body from peer `from`, whose connection comes from
 * IP observed_ip (4 or 16 bytes). Returns 1 with *job to dial back, 0
 * when a refusal was appended to out (E_BAD_REQUEST: malformed or another
 * PeerID; E_DIAL_REFUSED: rate limit, or no address on the requester's
 * IP that the policy allows), or NOMEM/TOO_LARGE from out. */
int autonat_server_request(struct autonat_server *s, const struct peer_id *from,
                           const uint8_t *observed_ip, size_t ip_len,
                           const uint8_t *msg, size_t n, uint64_t now,
                           struct autonat_dial_job *job, struct buf *out);

/* --- client: votes into a status ----------------------------------------- */

enum autonat_reachability {
    AUTONAT_UNKNOWN = 0,
    AUTONAT_PUBLIC,
    AUTONAT_PRIVATE,
};

enum autonat_vote {
    AUTONAT_VOTE_REACHABLE,   /* OK: it dialed us back */
    AUTONAT_VOTE_UNREACHABLE, /* E_DIAL_ERROR */
    AUTONAT_VOTE_NONE,        /* refused, bad request, error, timeout */
};

#define AUTONAT_VOTERS_MAX 8

struct autonat_client_config {
    unsigned threshold;      /* distinct agreeing peers to decide (3) */
    unsigned max_confidence; /* contrary votes needed to flip (3) */
    uint64_t retry_us;       /* next probe while unknown (60 s) */
    uint64_t refresh_us;     /* next probe once decided (15 min) */
};

struct autonat_client {
    struct autonat_client_config cfg;
    enum autonat_reachability status;
    unsigned confidence;
    size_t n_voters; /* while deciding: distinct peers and their votes */
    struct peer_id voters[AUTONAT_VOTERS_MAX];
    bool votes[AUTONAT_VOTERS_MAX];
    bool has_public_addr;
    struct multiaddr public_addr;
    uint64_t next_probe;
};

void autonat_client_config_default(struct autonat_client_config *cfg);
void autonat_client_init(struct autonat_client *c,
                         const struct autonat_client_config *cfg, uint64_t now);
/* The vote a response (or its absence: NULL) stands for. */
enum autonat_vote autonat_vote_of(const struct autonat_response *r);
/* Counts server's vote; returns true when the status changed. A vote of a
 * peer that already voted while deciding replaces its earlier one. */
bool autonat_client_vote(struct autonat_client *c, const struct peer_id *server,
                         enum autonat_vote v, const struct multiaddr *dialed,
                         uint64_t now);
/* Our addresses changed: start deciding again. */
void autonat_client_reset(struct autonat_client *c, uint64_t now);
uint64_t autonat_client_next_probe(const struct autonat_client *c);
const char *autonat_reachability_name(enum autonat_reachability r);

/* --- observed addresses -------------------------------------------------- */

/* Distinct reporting networks (an IPv4 /16, an IPv6 /56) that must agree
 * before an observed address is believed (go-libp2p uses 4). */
#define AUTONAT_OBSERVED_CONFIRM 4
#define AUTONAT_OBSERVED_MAX 16
#define AUTONAT_OBSERVED_REPORTERS 8
/* A report is forgotten after this long without being repeated. */
#define AUTONAT_OBSERVED_TTL_US (30 * 60 * 1000000ull)

struct autonat_observed_entry {
    struct multiaddr addr;
    size_t n;
    struct {
        uint8_t group[8]; /* the reporter's network */
        uint64_t seen;
    } from[AUTONAT_OBSERVED_REPORTERS];
};

struct autonat_observed {
    struct addr_policy policy;
    size_t n;
    struct autonat_observed_entry e[AUTONAT_OBSERVED_MAX];
};

void autonat_observed_init(struct autonat_observed *o,
                           const struct addr_policy *policy);
/* Records that a peer connected from reporter_ip (4 or 16 bytes) saw us
 * at the raw multiaddr obs. Addresses the policy refuses are ignored.
 * Returns true when obs just became confirmed. */
bool autonat_observed_add(struct autonat_observed *o,
                          const uint8_t *reporter_ip, size_t ip_len,
                          const uint8_t *obs, size_t obs_len, uint64_t now);
/* Copies up to max confirmed addresses (reports older than the TTL do
 * not count) into out; returns how many. */
size_t autonat_observed_confirmed(const struct autonat_observed *o,
                                  uint64_t now, struct multiaddr *out,
                                  size_t max);

#endif
