/*
 * AutoNAT v2 (libp2p/specs autonat/autonat-v2.md), sans-I/O: is this
 * one address of ours reachable from the Internet?
 *
 * The client opens `/libp2p/autonat/2/dial-request`, sends a DialRequest
 * (addresses in order of priority and a random 64-bit nonce) and reads
 * Messages until a DialResponse. The server picks the first address it
 * is willing to dial; when that address's IP is not the one the request
 * came from it first asks for AUTONAT2_DATA_ASK bytes of DialDataResponse
 * (the spec's amplification-attack rule: a stranger's dial costs the
 * asker more bandwidth than the handshake costs the victim). It then
 * dials exactly that address on a new connection, sends the nonce in a
 * DialBack on a `/libp2p/autonat/2/dial-back` stream, and answers with a
 * DialResponse naming the index it dialed and how the dial went. The
 * client believes a dial succeeded only when a DialBack with its nonce
 * came in (on any connection: the spec lets the server dial with
 * another PeerID).
 *
 * A result is one vote of struct autonat_client (autonat.h), as a v1
 * answer is; the server shares v1's struct autonat_server limits.
 *
 * Driving it:
 *  - Client: autonat2_probe_start() on a new dial-request stream; pass
 *    each length-prefixed message (at most AUTONAT2_MAX_MSG) to
 *    autonat2_probe_feed() and write what it appended to out (the paid
 *    data); a DialBack that arrives on a dial-back stream is
 *    autonat2_dial_back_decode()d, matched with autonat2_probe_dial_back()
 *    and answered with autonat2_dial_back_response_encode().
 *  - Server: autonat2_serve_feed() each message; AUTONAT2_SERVE_DIAL
 *    means dial s->addr within AUTONAT2_DIAL_TIMEOUT_US, send
 *    autonat2_dial_back_encode(s->nonce) on the new connection, then
 *    autonat2_serve_result() the outcome.
 * Time is passed in; nothing here allocates beyond the output buffers
 * and protobuf-c's unpacking of messages bounded by AUTONAT2_MAX_MSG.
 */
#ifndef FASTN_NET_AUTONAT2_H
#define FASTN_NET_AUTONAT2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"
#include "net/autonat.h"
#include "util/buf.h"
#include "util/peer_id.h"

#define AUTONAT2_DIAL_REQUEST_ID "/libp2p/autonat/2/dial-request"
#define AUTONAT2_DIAL_BACK_ID "/libp2p/autonat/2/dial-back"
#define AUTONAT2_MAX_MSG 8192
#define AUTONAT2_ADDRS_MAX 16        /* addresses of a request considered */
#define AUTONAT2_CHUNK_MAX 4096      /* data bytes per DialDataResponse */
#define AUTONAT2_DATA_ASK 30000      /* what our server asks (spec: 30k-100k) */
#define AUTONAT2_DATA_PAY_MAX 100000 /* what our client pays at most */
#define AUTONAT2_DIAL_TIMEOUT_US AUTONAT_DIAL_TIMEOUT_US

enum autonat2_status { /* DialResponse.ResponseStatus */
                       AUTONAT2_E_INTERNAL_ERROR = 0,
                       AUTONAT2_E_REQUEST_REJECTED = 100,
                       AUTONAT2_E_DIAL_REFUSED = 101,
                       AUTONAT2_OK = 200,
};

enum autonat2_dial_status { /* DialStatus */
                            AUTONAT2_DIAL_UNUSED = 0,
                            AUTONAT2_DIAL_ERROR = 100,
                            AUTONAT2_DIAL_BACK_ERROR = 101,
                            AUTONAT2_DIAL_OK = 200,
};

/* --- codec --------------------------------------------------------------- */

enum autonat2_msg_type {
    AUTONAT2_MSG_REQUEST = 1,
    AUTONAT2_MSG_RESPONSE,
    AUTONAT2_MSG_DATA_REQUEST,
    AUTONAT2_MSG_DATA_RESPONSE,
};

struct autonat2_msg {
    enum autonat2_msg_type type;
    /* DialRequest: the first AUTONAT2_ADDRS_MAX addresses, each with
     * whether it is a multiaddr fastn speaks; n_raw counts them all */
    uint64_t nonce;
    size_t n_raw, n;
    bool valid[AUTONAT2_ADDRS_MAX];
    struct multiaddr addrs[AUTONAT2_ADDRS_MAX];
    /* DialResponse */
    enum autonat2_status status;
    enum autonat2_dial_status dial_status;
    uint32_t addr_idx; /* and DialDataRequest's */
    /* DialDataRequest */
    uint64_t num_bytes;
    /* DialDataResponse */
    size_t data_len;
};

/* Decodes one Message body. Errors: FASTN_ERR_NET_BAD_MESSAGE (malformed,
 * over AUTONAT2_MAX_MSG, no message set, a status the spec does not
 * define, data over AUTONAT2_CHUNK_MAX). */
int autonat2_msg_decode(const uint8_t *p, size_t n, struct autonat2_msg *out);
/* Each appends one length-prefixed message. Errors: FASTN_ERR_TOO_LARGE
 * (over AUTONAT2_MAX_MSG), NOMEM (out is full). */
int autonat2_request_encode(const struct multiaddr *addrs, size_t n,
                            uint64_t nonce, struct buf *out);
int autonat2_response_encode(enum autonat2_status st, uint32_t idx,
                             enum autonat2_dial_status ds, struct buf *out);
int autonat2_data_request_encode(uint32_t idx, uint64_t num_bytes,
                                 struct buf *out);
/* Appends DialDataResponses of zeros, each at most AUTONAT2_CHUNK_MAX
 * data bytes, carrying total bytes in all. */
int autonat2_data_encode(uint64_t total, struct buf *out);
/* The dial-back stream's messages (not wrapped in Message). */
int autonat2_dial_back_encode(uint64_t nonce, struct buf *out);
int autonat2_dial_back_decode(const uint8_t *p, size_t n, uint64_t *nonce);
int autonat2_dial_back_response_encode(struct buf *out);
/* Errors: FASTN_ERR_NET_BAD_MESSAGE (malformed, a status but OK). */
int autonat2_dial_back_response_decode(const uint8_t *p, size_t n);

/* --- server: one dial-request stream ------------------------------------- */

enum autonat2_serve_state {
    AUTONAT2_SERVE_AWAIT_REQUEST = 0,
    AUTONAT2_SERVE_AWAIT_DATA,
    AUTONAT2_SERVE_DIALING,
    AUTONAT2_SERVE_DONE,
};

/* What autonat2_serve_feed() wants done next. */
#define AUTONAT2_SERVE_REPLIED 0 /* out holds the final answer: close */
#define AUTONAT2_SERVE_MORE 1    /* write out (if any), read the next */
#define AUTONAT2_SERVE_DIAL 2    /* dial s->addr now */

struct autonat2_serve {
    enum autonat2_serve_state state;
    uint64_t nonce;
    uint32_t idx;
    struct multiaddr addr;
    uint64_t want, got; /* DialDataResponse bytes asked and received */
};

void autonat2_serve_init(struct autonat2_serve *s);
/* Handles one message from peer `from`, connected from IP ip (4 or 16
 * bytes), against srv's policy and rate limits. Returns one of the
 * AUTONAT2_SERVE_ values above; a request over the limits is answered
 * E_REQUEST_REJECTED, one with no address we would dial E_DIAL_REFUSED.
 * Errors (reset the stream): FASTN_ERR_NET_BAD_MESSAGE (malformed, not
 * what this state expects, data too long), NOMEM/TOO_LARGE from out. */
int autonat2_serve_feed(struct autonat_server *srv, struct autonat2_serve *s,
                        const struct peer_id *from, const uint8_t *ip,
                        size_t ip_len, const uint8_t *msg, size_t n,
                        uint64_t now, struct buf *out);
/* The dial is over: appends the DialResponse for ds. */
int autonat2_serve_result(struct autonat2_serve *s,
                          enum autonat2_dial_status ds, struct buf *out);

/* --- client: one probe --------------------------------------------------- */

struct autonat2_probe {
    uint64_t nonce;
    size_t n;
    struct multiaddr addrs[AUTONAT2_ADDRS_MAX];
    bool paid;           /* answered a DialDataRequest */
    bool dial_back_seen; /* a DialBack with our nonce came */
};

struct autonat2_result {
    enum autonat_vote vote;
    bool has_addr;
    struct multiaddr addr; /* the address it was about */
    enum autonat2_status status;
    enum autonat2_dial_status dial_status;
};

/* Starts a probe of addrs (at most AUTONAT2_ADDRS_MAX are sent) with a
 * random nonce: appends the DialRequest. Errors as the encoders'. */
int autonat2_probe_start(struct autonat2_probe *p,
                         const struct multiaddr *addrs, size_t n,
                         uint64_t nonce, struct buf *out);
/* Handles one message from the server. Returns 0 (read on; out may hold
 * the data a DialDataRequest asked for), 1 (done: *res holds the vote),
 * or FASTN_ERR_NET_BAD_MESSAGE (malformed, an index we did not send, a
 * second DialDataRequest, over AUTONAT2_DATA_PAY_MAX: reset the stream).
 * The vote is REACHABLE only for a dial OK whose DialBack came with our
 * nonce, UNREACHABLE for E_DIAL_ERROR, NONE for anything else. */
int autonat2_probe_feed(struct autonat2_probe *p, const uint8_t *msg, size_t n,
                        struct buf *out, struct autonat2_result *res);
/* A DialBack carried nonce: true (and remembered) when it is p's. */
bool autonat2_probe_dial_back(struct autonat2_probe *p, uint64_t nonce);

#endif
