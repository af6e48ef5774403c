/*
 * Circuit relay v2 (libp2p/specs relay/circuit-v2.md), sans-I/O: the
 * message codecs, reservation vouchers, circuit addresses, the client
 * (reservations on relays, dialing through one, accepting relayed
 * connections) and the relay service with its limits.
 *
 * A peer that is not reachable reserves a slot on a relay R (hop RESERVE,
 * answered with STATUS OK, an expiry, R's addresses and a voucher signed
 * by R) and keeps its connection to R open, renewing before the expiry.
 * It then advertises /…/p2p/R/p2p-circuit/p2p/SELF. A peer B that dials
 * that address connects to R, opens a hop stream and sends CONNECT(SELF);
 * R opens a stop stream to SELF with CONNECT(B) and the circuit's limits;
 * SELF answers STATUS OK, R answers B's hop stream with OK, and from then
 * on the two streams, spliced by R, are one byte stream between B and
 * SELF: B runs the usual upgrade over it as dialer (Noise, yamux), SELF
 * as listener. The connection is *limited* (duration and bytes each way,
 * as the relay said): protocols that need more wait for a direct one
 * (DCUtR).
 *
 * Limits: messages over RELAY_MAX_MSG are refused unread; at most
 * ADDR_LIST_MAX addresses per Peer or Reservation are kept (the others
 * counted and dropped); vouchers are at most ENVELOPE_MAX bytes and must
 * be signed by the relay for the reserving peer.
 *
 * Driving it (every exchange is one request and one answer on a new
 * stream; read each message with an lp_reader bounded by RELAY_MAX_MSG,
 * which stops at the message's end: after a CONNECT's OK, the bytes that
 * follow on the same stream are the relayed connection's own):
 *  - Client reservations: relay_client_add() relays (from the config,
 *    the DHT or connected peers); at relay_client_next_deadline() call
 *    relay_client_poll(), which says which relay to send a RESERVE to
 *    (bytes in out); give its answer to relay_client_reserved(), or
 *    report a failed stream with relay_client_failed(). When the
 *    connection to a relay closes, relay_client_relay_lost(): the
 *    reservation is void (spec) and another candidate takes its place.
 *    relay_client_addrs() lists the circuit addresses to advertise.
 *  - Dialing through a relay: relay_connect_encode() on a hop stream to R,
 *    relay_connect_result() on the answer.
 *  - Accepting: on a stop stream from a relay, relay_client_stop().
 *  - Service: see struct relay_service below.
 * Time: `now` is monotonic microseconds; `unix_s` (wall-clock seconds)
 * only where the wire carries UNIX times (expiry, vouchers).
 */
#ifndef FASTN_NET_RELAY_H
#define FASTN_NET_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "net/addr.h"
#include "net/envelope.h"
#include "util/buf.h"

#define RELAY_HOP_PROTOCOL_ID "/libp2p/circuit/relay/0.2.0/hop"
#define RELAY_STOP_PROTOCOL_ID "/libp2p/circuit/relay/0.2.0/stop"
#define RELAY_MAX_MSG 4096
#define RELAY_VOUCHER_DOMAIN "libp2p-relay-rsvp"
/* The voucher's payload type: the multicodec 0x0302 as js- and
 * go-libp2p write it (two bytes, not a varint). */
#define RELAY_VOUCHER_TYPE "\x03\x02"
#define RELAY_VOUCHER_TYPE_LEN 2

enum relay_status {
    RELAY_OK = 100,
    RELAY_RESERVATION_REFUSED = 200,
    RELAY_RESOURCE_LIMIT_EXCEEDED = 201,
    RELAY_PERMISSION_DENIED = 202,
    RELAY_CONNECTION_FAILED = 203,
    RELAY_NO_RESERVATION = 204,
    RELAY_MALFORMED_MESSAGE = 400,
    RELAY_UNEXPECTED_MESSAGE = 401,
};

enum relay_kind { RELAY_HOP, RELAY_STOP };
/* Message types: hop RESERVE 0, CONNECT 1, STATUS 2; stop CONNECT 0,
 * STATUS 1. */
enum relay_type { RELAY_RESERVE, RELAY_CONNECT, RELAY_STATUS };

struct relay_limit {
    bool present;
    uint32_t duration_s; /* 0: none */
    uint64_t data;       /* bytes each way; 0: none */
};

struct relay_msg {
    enum relay_kind kind;
    enum relay_type type;
    bool has_status;
    enum relay_status status;
    bool has_peer;
    struct peer_id peer;
    struct addr_list peer_addrs; /* valid multiaddrs, not yet judged */
    bool has_rsv;
    uint64_t rsv_expire; /* UNIX seconds */
    struct addr_list rsv_addrs;
    size_t voucher_len;
    uint8_t voucher[ENVELOPE_MAX];
    struct relay_limit limit;
};

/* Appends m as one length-prefixed message of its kind. Errors:
 * FASTN_ERR_TOO_LARGE (over RELAY_MAX_MSG), NOMEM. */
int relay_msg_encode(const struct relay_msg *m, struct buf *out);
/* Decodes one message body of the given kind. Errors:
 * FASTN_ERR_NET_BAD_MESSAGE (malformed, over RELAY_MAX_MSG, a missing
 * type, an unknown type or status, a Peer without a valid PeerID). */
int relay_msg_decode(enum relay_kind kind, const uint8_t *p, size_t n,
                     struct relay_msg *out);
/* The error a non-OK status stands for. */
int relay_status_error(enum relay_status st);
const char *relay_status_name(enum relay_status st);

/* --- vouchers ------------------------------------------------------------ */

struct relay_voucher {
    struct peer_id relay, peer;
    uint64_t expiration; /* UNIX seconds */
};

/* Appends a voucher envelope signed by relay for peer. */
int relay_voucher_seal(const struct identity *relay, const struct peer_id *peer,
                       uint64_t expiration, struct buf *out);
/* Opens and checks a voucher: a valid envelope in the relay domain whose
 * signer is the voucher's relay. Errors: those of envelope_open(),
 * FASTN_ERR_MALFORMED (another payload type, a bad Voucher),
 * FASTN_ERR_SIGNATURE (signed by someone else than its relay). */
int relay_voucher_open(const uint8_t *p, size_t n, struct relay_voucher *out);

/* --- circuit addresses --------------------------------------------------- */

/* Builds RELAY_ADDR/p2p-circuit/p2p/TARGET. relay_addr must end in
 * /p2p/RELAY (it is added when missing and relay is given). Errors:
 * FASTN_ERR_TOO_LARGE, FASTN_ERR_INVAL (no relay PeerID known). */
int relay_circuit_addr(const struct multiaddr *relay_addr,
                       const struct peer_id *relay,
                       const struct peer_id *target, struct multiaddr *out);
/* Splits [TRANSPORT]/p2p/RELAY/p2p-circuit[/p2p/TARGET]: the relay's
 * PeerID, its transport address (empty when the multiaddr starts with
 * /p2p), and the target (has_target false without it). Errors:
 * FASTN_ERR_UNSUPPORTED (not a circuit address, or one that chains two
 * relays). */
int relay_circuit_split(const struct multiaddr *ma, struct multiaddr *transport,
                        struct peer_id *relay, bool *has_target,
                        struct peer_id *target);
bool relay_is_circuit(const struct multiaddr *ma);

/* --- dialing through a relay and accepting from one ---------------------- */

/* Appends a hop CONNECT to target. */
int relay_connect_encode(const struct peer_id *target, struct buf *out);
/* The relay's answer to CONNECT: 0 with *limit when the circuit is up,
 * else FASTN_ERR_NET_RELAY_NO_RESERVATION, _RELAY_REFUSED (limits,
 * permission), _RELAY_FAILED, _BAD_MESSAGE. */
int relay_connect_result(const uint8_t *p, size_t n, struct relay_limit *limit);

/* --- client: reservations ------------------------------------------------ */

#define RELAY_CLIENT_MAX 8 /* candidate relays */

struct relay_client_config {
    unsigned want;               /* reservations to hold at once (2) */
    uint64_t retry_first_us;     /* backoff after a failure (2 s) ... */
    uint64_t refused_first_us;   /* ... after a refusal (30 s) ... */
    uint64_t retry_max_us;       /* ... doubling up to (30 min) */
    uint64_t request_timeout_us; /* a RESERVE unanswered this long (20 s) */
    struct addr_policy policy;   /* which relay addresses to advertise */
};

enum relay_rsv_state {
    RELAY_RSV_IDLE,    /* a candidate, nothing asked */
    RELAY_RSV_PENDING, /* RESERVE sent, waiting */
    RELAY_RSV_ACTIVE,  /* reserved until expire_at */
    RELAY_RSV_BACKOFF, /* failed; try again at retry_at */
};

struct relay_rsv {
    struct peer_id relay;
    enum relay_rsv_state state;
    bool renewing;     /* PENDING for an ACTIVE one */
    unsigned failures; /* since the last reservation held */
    unsigned refusals; /* of those, refusals (a STATUS other than OK) */
    int last_status;   /* the last refusal's relay_status; 0: none */
    uint64_t sent_at, expire_at, renew_at, retry_at; /* monotonic */
    uint64_t expire_unix;
    struct relay_limit limit;
    struct addr_list addrs; /* the relay's addresses, policy-checked */
};

/* A candidate dropped while backing off, remembered so that it is not
 * asked again at once when it comes back (a relay found among connected
 * peers reconnects). */
struct relay_penalty {
    struct peer_id relay;
    unsigned failures, refusals;
    uint64_t retry_at;
};

#define RELAY_PENALTY_MAX 16

struct relay_client {
    struct relay_client_config cfg;
    struct peer_id self;
    size_t n;
    struct relay_rsv r[RELAY_CLIENT_MAX];
    size_t n_penalty, next_penalty;
    struct relay_penalty penalty[RELAY_PENALTY_MAX];
    uint64_t rng; /* jitter */
};

/* The wait before asking a relay again after `failures` failures in a
 * row (0: the first): first doubled per failure up to max, then cut by
 * a jitter of up to a quarter from rnd (any value): within
 * [w - w/4, w]. Pure. */
uint64_t relay_backoff_us(uint64_t first, uint64_t max, unsigned failures,
                          uint32_t rnd);

void relay_client_config_default(struct relay_client_config *cfg);
void relay_client_init(struct relay_client *c,
                       const struct relay_client_config *cfg,
                       const struct peer_id *self);
/* Adds a candidate relay. Errors: FASTN_ERR_EXISTS, FASTN_ERR_TOO_LARGE
 * (RELAY_CLIENT_MAX candidates), FASTN_ERR_INVAL (ourselves). */
int relay_client_add(struct relay_client *c, const struct peer_id *relay);
/* Drops a candidate and its reservation (an answer still on its way is
 * then for no relay we asked: FASTN_ERR_NOT_FOUND); no candidate, no-op.
 * A candidate that was backing off is remembered (the last
 * RELAY_PENALTY_MAX): added again, it keeps its backoff. */
void relay_client_remove(struct relay_client *c, const struct peer_id *relay);
/* Returns 1 with *relay and a RESERVE appended to out when one should be
 * sent now (a new reservation to fill `want`, or a renewal), else 0. */
int relay_client_poll(struct relay_client *c, uint64_t now,
                      struct peer_id *relay, struct buf *out);
/* The relay's answer to our RESERVE. 0 when reserved (or renewed), else
 * the error (the relay backs off): FASTN_ERR_NET_RELAY_REFUSED, _BAD_MESSAGE
 * (malformed, no or an expired reservation, a voucher that is not the
 * relay's for us), FASTN_ERR_NOT_FOUND (we asked no such relay). */
int relay_client_reserved(struct relay_client *c, const struct peer_id *relay,
                          const uint8_t *msg, size_t n, uint64_t now,
                          uint64_t unix_s);
/* The candidate relay (NULL: none), for its state, failures, last
 * refusal and retry_at (to log when it will be asked again). */
const struct relay_rsv *relay_client_find(const struct relay_client *c,
                                          const struct peer_id *relay);
/* The RESERVE stream failed (reset, timeout, no connection). */
void relay_client_failed(struct relay_client *c, const struct peer_id *relay,
                         uint64_t now);
/* The connection to relay closed: its reservation is void. */
void relay_client_relay_lost(struct relay_client *c,
                             const struct peer_id *relay, uint64_t now);
/* Our circuit addresses through active reservations (at most max). */
size_t relay_client_addrs(const struct relay_client *c, uint64_t now,
                          struct multiaddr *out, size_t max);
size_t relay_client_active(const struct relay_client *c, uint64_t now);
uint64_t relay_client_next_deadline(const struct relay_client *c);

/* A stop CONNECT from relay `from`: appends our STATUS answer to out and
 * returns 0 with the initiator in *src and the circuit's *limit (the
 * stream is now a relayed connection: run the upgrade as listener), or
 * an error after appending a refusal: FASTN_ERR_NET_BAD_MESSAGE,
 * FASTN_ERR_PERM (we hold no reservation on that relay). */
int relay_client_stop(const struct relay_client *c, const struct peer_id *from,
                      const uint8_t *msg, size_t n, uint64_t now,
                      struct peer_id *src, struct relay_limit *limit,
                      struct buf *out);

/* --- the relay service --------------------------------------------------- */

struct relay_service_config {
    uint64_t reservation_ttl_s;     /* 3600 */
    unsigned max_reservations;      /* 128 */
    unsigned max_per_ip;            /* reservations from one IP (8) */
    unsigned max_circuits;          /* circuits at once (64) */
    unsigned max_circuits_per_peer; /* as source or target (4) */
    uint32_t limit_duration_s;      /* per circuit (120) */
    uint64_t limit_data;            /* bytes each way per circuit (128 KiB) */
};

struct relay_service_rsv {
    struct peer_id peer;
    uint8_t ip[16];
    uint8_t ip_len;
    uint64_t expire_at; /* monotonic */
};

struct relay_circuit {
    struct peer_id src, dst;
    uint64_t deadline;   /* monotonic; UINT64_MAX: none */
    uint64_t data_limit; /* 0: none */
    uint64_t bytes[2];   /* src->dst, dst->src */
    bool active;
};

struct relay_service {
    struct relay_service_config cfg;
    const struct identity *self;
    size_t n_addrs;
    struct multiaddr addrs[ADDR_LIST_MAX]; /* ours, with /p2p/SELF */
    size_t n_rsv;
    struct relay_service_rsv *rsv; /* cfg.max_reservations */
    uint64_t refused;              /* RESERVEs refused (limits), in all */
    size_t n_circuits;
    struct relay_circuit *circuits; /* cfg.max_circuits */
};

enum relay_action {
    RELAY_ACT_REPLIED = 0, /* out holds the answer; close the stream */
    RELAY_ACT_STOP = 1,    /* open a stop stream to circuit->dst */
};

void relay_service_config_default(struct relay_service_config *cfg);
/* Allocates the tables. Errors: NOMEM, INVAL (zero limits). */
int relay_service_init(struct relay_service *s,
                       const struct relay_service_config *cfg,
                       const struct identity *self);
void relay_service_cleanup(struct relay_service *s);
/* Our public addresses, given to reserving peers (with /p2p/SELF). */
void relay_service_set_addrs(struct relay_service *s,
                             const struct multiaddr *addrs, size_t n);

/* A hop message from peer `from` connected from ip. RESERVE and refusals
 * are answered at once in out (RELAY_ACT_REPLIED). A CONNECT that passes
 * the checks (target reserved, circuit limits) returns RELAY_ACT_STOP
 * with *circuit taken: append relay_service_stop_encode() to a new stop
 * stream to circuit->dst, then relay_service_stop_result(). Errors
 * (only from out): NOMEM, TOO_LARGE. */
int relay_service_hop(struct relay_service *s, const struct peer_id *from,
                      const uint8_t *ip, size_t ip_len, const uint8_t *msg,
                      size_t n, uint64_t now, uint64_t unix_s,
                      struct relay_circuit **circuit, struct buf *out);
/* The stop CONNECT for a circuit. */
int relay_service_stop_encode(const struct relay_service *s,
                              const struct relay_circuit *c, struct buf *out);
/* The target's answer (msg NULL: the stop stream failed). Appends the
 * answer for the hop stream to hop_out; returns 0 when the circuit is up
 * (splice the streams, counting bytes with relay_circuit_pass()), else
 * the error, and the circuit is released. */
int relay_service_stop_result(struct relay_service *s, struct relay_circuit *c,
                              const uint8_t *msg, size_t n, uint64_t now,
                              struct buf *hop_out);
/* How many of n bytes may cross the circuit in direction dir (0:
 * src->dst, 1: dst->src) now; counts them. FASTN_ERR_NET_RELAY_LIMIT
 * when its time or data is used up: close both streams and
 * relay_service_circuit_end(). */
int relay_circuit_pass(struct relay_circuit *c, int dir, size_t n,
                       uint64_t now);
void relay_service_circuit_end(struct relay_service *s,
                               struct relay_circuit *c);
/* The peer's connection closed: its reservation ends (spec). */
void relay_service_peer_gone(struct relay_service *s,
                             const struct peer_id *peer);
/* Drops expired reservations; returns how many remain. */
size_t relay_service_tick(struct relay_service *s, uint64_t now);
bool relay_service_has_reservation(const struct relay_service *s,
                                   const struct peer_id *peer, uint64_t now);

#endif
