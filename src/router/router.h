/*
 * The protocol router: which handler gets a stream a peer opened, once
 * multistream-select has agreed its protocol. It sits between the swarm
 * (net/swarm.h, whose stream listener it is) and everything that serves
 * protocols:
 *
 *  - in-process handlers (the plugin host, built-in services): router_add()
 *    with a struct router_handler_ops; the handler takes the stream with
 *    swarm_stream_set_cb() and uses the stream API of net/swarm.h;
 *  - client handlers (the control protocol's STREAM_HANDLER, as
 *    go-libp2p-daemon has them): a Unix path or TCP address; for each
 *    stream the router connects there, writes a varint-delimited
 *    StreamInfo and splices both ways with half-close.
 *
 * Several handlers may serve one protocol: streams go to them in turn
 * (round robin). A client handler whose address refuses connections (its
 * program has gone) is dropped, and the stream goes to the next client
 * handler of the protocol. A protocol with no handler is refused with
 * multistream-select's "na".
 *
 * Client handlers carry who registered them (struct router_client): the
 * router connects to a /unix handler only when the socket listening there
 * belongs to that uid (or, for an admin's handler, to root or the
 * daemon's own uid), checked with SO_PEERCRED on every connection; a
 * handler whose socket changed hands is dropped without a byte written.
 * An in-process handler added for a protocol (a plugin, an expose) drops
 * the non-admin client handlers of that protocol: what the daemon serves
 * itself is never shared with an unprivileged client.
 *
 * The router also splices the streams that STREAM_OPEN hands to a
 * control connection (router_splice_new/attach) and remembers how recent
 * spliced streams ended (router_stream_result), which is how a client of
 * a raw socket learns whether its stream was reset or finished.
 */
#ifndef FASTN_ROUTER_H
#define FASTN_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/swarm.h"
#include "util/multiaddr.h"

struct uv_loop_s;
struct router;

/* The longest protocol id (multistream-select's limit less its newline). */
#define ROUTER_PROTOCOL_MAX 1022
/* Handlers of one protocol, at most. */
#define ROUTER_MAX_HANDLERS 64
/* Spliced stream results remembered. */
#define ROUTER_RESULTS 1024
/* Protocols with a handler, at most (plugins, exposes and clients). */
#define ROUTER_MAX_PROTOCOLS 8192

/* An in-process handler. */
struct router_handler_ops {
    /* A peer opened s for a protocol this handler was added for
     * (swarm_stream_protocol(s)). Take it: swarm_stream_set_cb(s, ...)
     * before returning, and return 0; from then on s is the handler's
     * (see net/swarm.h for its events and calls). Or return a negative
     * error to pass: the router offers the stream to the protocol's next
     * handler, and refuses it when nobody takes it. */
    int (*on_stream)(void *arg, struct swarm_stream *s);
};

/* A router serving sw's incoming streams (it installs itself as sw's
 * stream listener). Errors: FASTN_ERR_NOMEM. */
int router_new(struct uv_loop_s *loop, struct swarm *sw, struct router **out);
/* Aborts every splice (their sockets close, their streams are reset) and
 * drops every handler; call before swarm_close(). */
void router_close(struct router *r);
/* Frees the router after router_close() and after the loop ran the close
 * callbacks. NULL does nothing. */
void router_free(struct router *r);

/* Adds an in-process handler for protocol (ops and arg are borrowed until
 * router_remove()). Errors: FASTN_ERR_INVAL (an empty protocol, one with
 * '\n' or longer than ROUTER_PROTOCOL_MAX), FASTN_ERR_EXISTS (the same
 * ops and arg already serve it), FASTN_ERR_BUSY (ROUTER_MAX_HANDLERS),
 * FASTN_ERR_NOMEM. */
int router_add(struct router *r, const char *protocol,
               const struct router_handler_ops *ops, void *arg);
/* Errors: FASTN_ERR_NOT_FOUND. Streams the handler took stay its own. */
int router_remove(struct router *r, const char *protocol,
                  const struct router_handler_ops *ops, void *arg);

/* Who registered a client handler. */
struct router_client {
    uid_t uid;    /* the registering client's uid (SO_PEERCRED) */
    bool admin;   /* the client was an admin when it registered */
    uint64_t tag; /* the registering process, for router_drop_clients();
                     0: not watched */
};

/* Adds a client handler registered by who: streams for protocol are
 * spliced to addr (/unix/PATH, or /ip4|/ip6 + /tcp). Registering the
 * same address again is fine (who is then updated). With balanced false,
 * a protocol that has another handler is refused (FASTN_ERR_EXISTS), as
 * go-libp2p-daemon does; with balanced true the handlers share the
 * streams. Whether who may join the protocol's other handlers is the
 * caller's decision (router_served_by). Errors: FASTN_ERR_INVAL,
 * FASTN_ERR_UNSUPPORTED (another kind of address), FASTN_ERR_EXISTS,
 * FASTN_ERR_BUSY (ROUTER_MAX_HANDLERS or ROUTER_MAX_PROTOCOLS),
 * FASTN_ERR_NOMEM. */
int router_add_client(struct router *r, const char *protocol,
                      const struct multiaddr *addr, bool balanced,
                      const struct router_client *who);
/* Errors: FASTN_ERR_NOT_FOUND. */
int router_remove_client(struct router *r, const char *protocol,
                         const struct multiaddr *addr);

/* What serves protocol apart from uid's own client handlers. */
enum router_served {
    ROUTER_SERVED_NONE = 0, /* nothing, or only uid's client handlers */
    ROUTER_SERVED_DAEMON,   /* an in-process handler: a plugin, an expose */
    ROUTER_SERVED_OTHER,    /* a client handler of another uid */
};
enum router_served router_served_by(const struct router *r,
                                    const char *protocol, uid_t uid);
/* The uid that registered the client handler at addr for protocol.
 * Errors: FASTN_ERR_NOT_FOUND. */
int router_client_uid(const struct router *r, const char *protocol,
                      const struct multiaddr *addr, uid_t *uid);
/* Client handlers registered now by uid (*by_uid) and by the process
 * tagged tag (*by_tag; tag 0 counts nothing). */
void router_client_count(const struct router *r, uid_t uid, uint64_t tag,
                         size_t *by_uid, size_t *by_tag);
/* Fills tags[0..max) with the process tags of uid's client handlers (in
 * no order, repeats included); returns how many there are (may be more
 * than max). */
size_t router_client_tags(const struct router *r, uid_t uid, uint64_t *tags,
                          size_t max);
/* Drops every client handler the process tagged tag registered (it has
 * exited); returns how many. */
size_t router_drop_clients(struct router *r, uint64_t tag);

/* Streams spliced to local sockets at once, at most (each holds a file
 * descriptor); 0: no limit. One more is reset (a peer's) or refused (a
 * client's STREAM_OPEN). */
void router_set_max_splices(struct router *r, uint32_t max);
/* True when no further splice may start now. */
bool router_splices_full(const struct router *r);

bool router_has(const struct router *r, const char *protocol);
/* Fills names with up to max borrowed protocol ids; returns how many. */
size_t router_protocols(const struct router *r, const char **names, size_t max);

struct router_stats {
    uint32_t protocols; /* protocols with a handler */
    uint32_t handlers;  /* handlers in all */
    uint32_t splices;   /* streams spliced to sockets now */
    uint64_t refused;   /* streams not spliced: max splices reached */
    uint64_t routed;    /* incoming streams given to a handler */
    uint64_t dropped;   /* client handlers dropped because they had gone */
};
void router_get_stats(const struct router *r, struct router_stats *st);

/* --- streams spliced to a control connection (STREAM_OPEN) -------------- */

struct router_splice;

/* Takes an open stream: from now on its data is kept (unconsumed: the
 * peer's window closes) until a socket is attached. *result_id (may be
 * NULL) names the stream for router_stream_result(), which tells uid
 * (the client that opened it) how it ends. Returns NULL when out of
 * memory or past router_set_max_splices() (the stream is then reset). */
struct router_splice *router_splice_new(struct router *r,
                                        struct swarm_stream *s, uid_t uid,
                                        uint64_t *result_id);
/* Splices the stream to a connected socket fd (taken over, closed with
 * the splice); initial[0..n) are bytes the client sent already, which go
 * to the stream first. Errors: FASTN_ERR_IO (the fd cannot be used: the
 * splice is aborted). */
int router_splice_attach(struct router_splice *sp, int fd,
                         const uint8_t *initial, size_t n);
/* Resets the stream and frees the splice (before attach). */
void router_splice_abort(struct router_splice *sp);

enum router_stream_state {
    ROUTER_STREAM_OPEN = 0,     /* both ways open */
    ROUTER_STREAM_FINISHED = 1, /* the peer finished writing, cleanly */
    ROUTER_STREAM_CLOSED = 2,   /* both sides finished cleanly */
    ROUTER_STREAM_FAILED = 3,   /* reset or lost: *code says why */
};
/* How a spliced stream stands, or ended, and (*uid, may be NULL) who
 * opened it. Errors: FASTN_ERR_NOT_FOUND (an unknown id, or one too old
 * to be remembered). */
int router_stream_result(const struct router *r, uint64_t id,
                         enum router_stream_state *state, int *code,
                         uid_t *uid);

#endif
