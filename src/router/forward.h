/*
 * TCP port forwarding over p2p streams, served by the daemon itself (the
 * router owns them; the control protocol's FORWARD and EXPOSE make them):
 *
 *  - a forward listens on a local TCP address and, for each accepted
 *    connection, opens a stream to one peer for its protocol and splices
 *    the two both ways with half-close (FIN for FIN, a reset for a reset);
 *  - an expose serves a protocol: each incoming stream from a peer on its
 *    allow list is spliced to a new connection to its target (TCP or a
 *    Unix socket); streams from any other peer are reset, with a log line.
 *    An empty allow list refuses every peer.
 *
 * The wire protocol (FORWARD_PROTOCOL_ID unless another is chosen) is
 * the raw bytes of the TCP connection after multistream-select: no
 * header, the target is the exposing side's choice (one protocol id per
 * service). Removing a forward or expose stops new connections or
 * streams; those already spliced go on to their own end.
 */
#ifndef FASTN_ROUTER_FORWARD_H
#define FASTN_ROUTER_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router/router.h"
#include "util/multiaddr.h"
#include "util/peer_id.h"

#define FORWARD_PROTOCOL_ID "/fastn/forward/1.0.0"
/* Peers on one expose's allow list, at most. */
#define FORWARD_MAX_ALLOW 256
/* How long a forwarded connection waits for its stream by default. */
#define FORWARD_OPEN_TIMEOUT_MS 30000

struct router_fwd;

struct router_fwd_info {
    uint64_t id;
    bool expose;
    const char *protocol;        /* borrowed from the forward */
    struct multiaddr listen;     /* forward: the address as bound */
    struct peer_id peer;         /* forward */
    struct multiaddr target;     /* expose */
    const struct peer_id *allow; /* expose: borrowed */
    size_t n_allow;
    uint64_t connections; /* spliced since it began */
    uint64_t refused;     /* expose: streams from peers not allowed */
    uint64_t failed;      /* streams not opened, targets not reached */
    bool has_last_refused;
    struct peer_id last_refused;
    const void *owner; /* as given when made */
};

/* Listens on listen (/ip4 or /ip6 + /tcp; port 0 picks a free one) and
 * forwards each connection to peer over protocol (NULL:
 * FORWARD_PROTOCOL_ID); a stream not open after open_timeout_ms (0: the
 * default) resets its connection. owner is an opaque tag for listings.
 * Errors (why[0..whylen) says more): FASTN_ERR_INVAL (a bad protocol),
 * FASTN_ERR_UNSUPPORTED (not an IP + TCP address), FASTN_ERR_EXISTS (the
 * address is in use), FASTN_ERR_PERM, FASTN_ERR_IO, FASTN_ERR_NOMEM,
 * FASTN_ERR_CLOSED (the router is closing). */
int router_forward_add(struct router *r, const struct multiaddr *listen,
                       const struct peer_id *peer, const char *protocol,
                       uint32_t open_timeout_ms, const void *owner, char *why,
                       size_t whylen, struct router_fwd **out);

/* Serves protocol (NULL: FORWARD_PROTOCOL_ID), splicing each stream from
 * a peer in allow[0..n_allow) to target (/ip4|/ip6 + /tcp, or /unix).
 * Errors: FASTN_ERR_INVAL (protocol, or more than FORWARD_MAX_ALLOW
 * peers), FASTN_ERR_UNSUPPORTED (target), FASTN_ERR_EXISTS (something
 * serves the protocol already), FASTN_ERR_NOMEM, FASTN_ERR_CLOSED. */
int router_expose_add(struct router *r, const struct multiaddr *target,
                      const struct peer_id *allow, size_t n_allow,
                      const char *protocol, const void *owner,
                      struct router_fwd **out);

/* Stops and frees a forward or expose (see above for its connections). */
void router_fwd_remove(struct router_fwd *f);
/* The forward or expose with this id, or NULL. */
struct router_fwd *router_fwd_find(struct router *r, uint64_t id);
void router_fwd_get(const struct router_fwd *f, struct router_fwd_info *out);
/* Calls fn for each forward and expose, newest first. */
void router_fwd_foreach(struct router *r,
                        void (*fn)(void *arg, const struct router_fwd *f),
                        void *arg);

#endif
