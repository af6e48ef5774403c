/* Internal to src/router: the handler table, the splices, the block
 * list. */
#ifndef FASTN_ROUTER_INT_H
#define FASTN_ROUTER_INT_H

#include <uv.h>

#include "router/router.h"

/* A service (router_add), a client handler, or the plugin serving the
 * protocol (through r->plugins). */
enum handler_kind { H_INPROC, H_CLIENT, H_PLUGIN };

struct handler {
    enum handler_kind kind;
    const struct router_handler_ops *ops; /* H_INPROC */
    void *arg;
    struct multiaddr addr;    /* H_CLIENT */
    struct router_client who; /* H_CLIENT */
};

/* One protocol's handlers: the array grows as handlers join (most
 * protocols have one), so a protocol costs what it holds. */
struct entry {
    char *protocol;
    struct handler *h;
    size_t n, cap;
    size_t next; /* round robin */
};

struct result {
    uint64_t id;
    enum router_stream_state state;
    int code;
    uid_t uid; /* who opened the stream */
};

struct router_splice;

/* The block list (block.c): peers in the order they were blocked. */
struct router_block {
    struct peer_id *v;
    size_t n, cap;
    char *path; /* its file, or NULL: kept in memory only */
};

struct router {
    uv_loop_t *loop;
    struct swarm *sw;
    struct entry **entries;
    size_t n, cap;
    struct router_splice *splices;
    struct router_splice *flushes; /* splices holding pieces for a writev */
    uv_idle_t *flush_idle;         /* runs router__flush_all; NULL: none */
    struct result results[ROUTER_RESULTS];
    uint64_t next_result;
    uint64_t routed, dropped;
    uint32_t n_splices;
    uint32_t max_splices;   /* 0: no limit */
    uint32_t n_fwd_pending; /* forwarded connections waiting for a stream:
                               each holds a descriptor too */
    uint64_t refused;       /* splices refused at max_splices */
    uint64_t blocked, denied, quarantined;
    bool closing;
    /* what the policy asks (router.h): borrowed ops, NULL when none */
    const struct router_plugin_ops *plugins;
    void *plugins_arg;
    const struct router_peer_ops *peers;
    void *peers_arg;
    const struct router_quarantine_ops *quarantine;
    void *quarantine_arg;
    enum router_unknown unknown;
    struct router_block block;
    struct router_fwd *fwds; /* forwards and exposes (forward.c) */
    uint64_t next_fwd;
};

/* splice.c */
/* Takes an open stream (router_open): from now on its data is kept
 * (unconsumed: the peer's window closes) until a socket is attached.
 * *result_id names it for router_stream_result(), which tells uid how it
 * ends. NULL when out of memory or past the max splices (the stream is
 * then reset). */
struct router_splice *router_splice_new(struct router *r,
                                        struct swarm_stream *s, uid_t uid,
                                        uint64_t *result_id);
/* Splices s to the client handler h, writing StreamInfo first (once the
 * socket there proved to be h->who's). The splice owns s from here.
 * Errors (s untouched): FASTN_ERR_NOMEM, FASTN_ERR_BUSY (max splices). */
int splice_to_handler(struct router *r, struct swarm_stream *s,
                      const struct handler *h);
/* Splices s to a new connection to target (TCP or Unix), with nothing
 * written first; when the connection fails the stream is reset and
 * router__fwd_failed(fwd_id) told. The splice owns s from here. Errors
 * (s untouched): FASTN_ERR_UNSUPPORTED, FASTN_ERR_NOMEM, FASTN_ERR_IO. */
int splice_connect(struct router *r, struct swarm_stream *s,
                   const struct multiaddr *target, uint64_t fwd_id);
void splice_abort_all(struct router *r);
/* Writes out the stream data every splice holds (splice.c), and
 * router__flush_start() has it done when the loop is next idle (before
 * it would wait for events). */
void router__flush_all(struct router *r);
void router__flush_start(struct router *r);
/* Frees what is left after the loop ended (router_free). */
void splice_free_all(struct router *r);

/* router.c */
/* The client handler at addr could not be reached (err, a libuv error;
 * UV_EPERM: its socket belongs to someone else now): drops it when it
 * has gone, and returns the next client handler to try in *next (0), or
 * FASTN_ERR_NOT_FOUND when none is left to try. */
int router__client_failed(struct router *r, const char *protocol,
                          const struct multiaddr *addr, int err,
                          unsigned attempts, struct handler *next);
void router__result_set(struct router *r, uint64_t id,
                        enum router_stream_state state, int code);
uint64_t router__result_new(struct router *r, uid_t uid);

/* block.c */
void router__block_free(struct router_block *b);

/* forward.c */
/* An expose's target could not be reached (a libuv error). */
void router__fwd_failed(struct router *r, uint64_t id, int uv_err);
void router__fwd_close_all(struct router *r);

#endif
