/*
 * DCUtR hole punching (`/libp2p/dcutr`, libp2p/specs relay/DCUtR.md),
 * sans-I/O: one object per relayed connection that tries to upgrade.
 *
 * Roles. The peer that *received* the relayed connection (it has the
 * reservation; "B" in the spec) is the initiator: it opens the stream,
 * sends CONNECT with its observed addresses and times the answer. The
 * peer that dialed through the relay ("A") is the responder: it answers
 * CONNECT with its own addresses and dials as soon as SYNC arrives. The
 * initiator dials after half the measured round trip, so that both TCP
 * SYNs cross in the network and both NATs see outgoing traffic first
 * (simultaneous open). On failure the initiator retries on the same
 * stream, up to max_attempts in all (the spec says 3).
 *
 * Addresses received are checked with addr_check() (net/addr.h): only
 * dialable TCP addresses whose scope the policy allows, at most max_addrs
 * of them, duplicates dropped; a CONNECT with none left is an error
 * (FASTN_ERR_NET_HOLEPUNCH), so garbage never reaches the dialer.
 * Messages over DCUTR_MAX_MSG are refused before they are decoded.
 *
 * Driving it:
 *  - dcutr_init(), then for the initiator dcutr_start(). Bytes to send on
 *    the stream accumulate in the output: after every call, send
 *    dcutr_output() and call dcutr_output_consume().
 *  - Bytes read from the stream go to dcutr_feed(), which returns one
 *    event at a time (call again with the rest until it returns 0).
 *  - Time is passed in (microseconds, monotonic). Call dcutr_tick() at
 *    dcutr_next_deadline(): it fires the initiator's timed dial and ends
 *    an exchange that waited too long (FASTN_ERR_TIMEOUT).
 *  - DCUTR_EV_DIAL asks the caller to dial every address of ev.addrs at
 *    once (the remote's PeerID is the relayed connection's). Report the
 *    outcome with dcutr_dial_done(): success ends the exchange (move the
 *    streams to the direct connection, close the relayed one after a
 *    grace period); failure makes the initiator try again.
 *  - Any error return ends the exchange: reset the stream; the relayed
 *    connection stays as it is. dcutr_done() says the exchange is over.
 * The object owns no heap memory besides its buffers; dcutr_cleanup()
 * frees them.
 */
#ifndef FASTN_NET_DCUTR_H
#define FASTN_NET_DCUTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"
#include "net/lp.h"
#include "util/buf.h"

#define DCUTR_PROTOCOL_ID "/libp2p/dcutr"
/* Largest message accepted or sent (the spec's SHOULD). */
#define DCUTR_MAX_MSG 4096
#define DCUTR_ATTEMPTS 3
#define DCUTR_DEFAULT_MAX_ADDRS 8
/* How long one step may wait for the other side. */
#define DCUTR_DEFAULT_STEP_TIMEOUT_US (10 * 1000000ull)

enum dcutr_msg_type { DCUTR_CONNECT = 100, DCUTR_SYNC = 300 };

struct dcutr_config {
    struct addr_policy policy; /* which remote addresses we may dial */
    size_t max_addrs;          /* 0: DCUTR_DEFAULT_MAX_ADDRS */
    unsigned max_attempts;     /* 0: DCUTR_ATTEMPTS */
    uint64_t step_timeout_us;  /* 0: DCUTR_DEFAULT_STEP_TIMEOUT_US */
};

enum dcutr_role {
    DCUTR_INITIATOR, /* received the relayed connection; opens the stream */
    DCUTR_RESPONDER, /* dialed through the relay; accepts the stream */
};

enum dcutr_event_type {
    DCUTR_EV_DIAL = 1, /* dial ev.addrs now, all at once */
};

struct dcutr_event {
    enum dcutr_event_type type;
    const struct addr_list *addrs;
    unsigned attempt; /* 1 for the first */
    uint64_t rtt_us;  /* initiator: the round trip it measured */
};

struct dcutr {
    enum dcutr_role role;
    int state;
    struct dcutr_config cfg;
    struct addr_list ours, theirs;
    struct lp_reader rd;
    struct buf out;
    unsigned attempt;
    uint64_t sent_at, rtt_us, dial_at, deadline;
};

/* One decoded message (codec, also used by the fuzz target). */
struct dcutr_msg {
    enum dcutr_msg_type type;
    struct addr_list addrs; /* the ones that passed the policy */
};

/* Sets up an exchange; ours are our observed addresses (at most
 * ADDR_LIST_MAX are sent). */
void dcutr_init(struct dcutr *d, const struct dcutr_config *cfg,
                enum dcutr_role role, const struct multiaddr *ours,
                size_t n_ours, uint64_t now);
void dcutr_cleanup(struct dcutr *d);

/* Initiator: queues the first CONNECT. Errors: FASTN_ERR_INVAL (not the
 * initiator, or already started), FASTN_ERR_NET_HOLEPUNCH (we have no
 * address to offer), NOMEM. */
int dcutr_start(struct dcutr *d, uint64_t now);

/* Takes bytes read from the stream. Returns 1 with *ev filled (*used
 * bytes taken), 0 when all n bytes were used with nothing to report, or
 * an error: FASTN_ERR_NET_BAD_MESSAGE (malformed, over DCUTR_MAX_MSG,
 * or a message this side did not expect now), FASTN_ERR_NET_HOLEPUNCH
 * (a CONNECT without one usable address), NOMEM. */
int dcutr_feed(struct dcutr *d, const uint8_t *p, size_t n, size_t *used,
               struct dcutr_event *ev, uint64_t now);

/* Runs timers: returns 1 with *ev (the initiator's dial), 0, or
 * FASTN_ERR_TIMEOUT (the other side did not answer in time). */
int dcutr_tick(struct dcutr *d, uint64_t now, struct dcutr_event *ev);
/* When dcutr_tick() must run next (UINT64_MAX: nothing pending). */
uint64_t dcutr_next_deadline(const struct dcutr *d);

/* The outcome of the dial that DCUTR_EV_DIAL asked for. Returns 0 (done,
 * or for the initiator a new CONNECT queued for the next attempt) or
 * FASTN_ERR_NET_HOLEPUNCH (no attempt left), FASTN_ERR_INVAL (no dial was
 * asked for). */
int dcutr_dial_done(struct dcutr *d, bool connected, uint64_t now);

/* The exchange is over (success, failure or error). */
bool dcutr_done(const struct dcutr *d);
bool dcutr_succeeded(const struct dcutr *d);

const uint8_t *dcutr_output(const struct dcutr *d, size_t *n);
void dcutr_output_consume(struct dcutr *d, size_t n);

/* Codec: appends one length-prefixed message with addrs (raw multiaddrs
 * of ours). Errors: FASTN_ERR_TOO_LARGE (over DCUTR_MAX_MSG), NOMEM. */
int dcutr_msg_encode(enum dcutr_msg_type type, const struct multiaddr *addrs,
                     size_t n, struct buf *out);
/* Decodes one message body (no length prefix), keeping at most max_addrs
 * addresses that pass policy. Errors: FASTN_ERR_NET_BAD_MESSAGE. */
int dcutr_msg_decode(const uint8_t *p, size_t n, const struct addr_policy *pol,
                     size_t max_addrs, struct dcutr_msg *out);

#endif
