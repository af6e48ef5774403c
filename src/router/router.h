/*
 * The protocol router: the one owner of "who gets a stream" a peer opened.
 * It is the swarm's stream listener (net/swarm.h), so the data path reads
 *
 *     net → router → client handler | plugin | daemon service | quarantine
 *
 * and nothing flows back up: the router reaches plugins, what the daemon
 * knows of peers and the quarantine only through the narrow ops structs
 * below, and includes nothing of the control server, the daemon, the
 * plugin host or the store (tests/integration/layers.sh checks it). For
 * each stream the policy (router/policy.h, pure functions) decides from
 * the facts gathered here; this file states the table and the ops.
 *
 *  - client handlers (the control protocol's STREAM_HANDLER, as
 *    go-libp2p-daemon has them): a Unix path or TCP address; for each
 *    stream the router connects there, writes a varint-delimited
 *    StreamInfo and splices both ways with half-close;
 *  - plugins: one struct router_plugin_ops for all of them
 *    (router_set_plugins); the router serves the protocols it lists and
 *    asks it, per stream, whom the plugin serves (anyone, known peers,
 *    nobody, with the user's narrowing) before handing the stream over;
 *  - the daemon's own services (an expose, built-ins added later):
 *    router_add() with a struct router_handler_ops;
 *  - the quarantine (struct router_quarantine_ops, when one is installed):
 *    streams for a protocol nothing serves, and a stranger's streams for
 *    a plugin that serves known peers only, unless the unknown-protocol
 *    policy is "refuse". Without one such streams are refused as they
 *    always were: "na" for an unknown protocol, a reset for a stranger;
 *  - the block list: a blocked peer's streams are refused, whatever
 *    serves the protocol ("na" at negotiation), kept in a file.
 *
 * Several handlers may serve one protocol: streams go to those the policy
 * allows in turn (round robin). A client handler whose address refuses
 * connections (its program has gone) is dropped, and the stream goes to
 * the next client handler of the protocol.
 *
 * Client handlers carry who registered them (struct router_client): the
 * registration rules are the policy's (router_client_may_add/remove);
 * the router connects to a /unix handler only when the socket listening
 * there belongs to that uid (or, for an admin's handler, to root or the
 * daemon's own uid), checked with SO_PEERCRED on every connection; a
 * handler whose socket changed hands is dropped without a byte written.
 * A plugin or service added for a protocol drops the non-admin client
 * handlers of that protocol: what the daemon serves itself is never
 * shared with an unprivileged client.
 *
 * The router also runs the streams local clients open (the other half of
 * the data path, ipc → router → net): router_open for STREAM_OPEN, whose
 * stream it splices to the client's socket (router_splice_attach), and
 * router_call for CALL; it remembers how recent spliced streams ended
 * (router_stream_result), which is how a client of a raw socket learns
 * whether its stream was reset or finished.
 */
#ifndef FASTN_ROUTER_H
#define FASTN_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/swarm.h"
#include "router/policy.h"
#include "util/buf.h"
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

/* A router serving sw's incoming streams (it installs itself as sw's
 * stream listener), with no plugins, no quarantine, nobody blocked and
 * the unknown-protocol policy ROUTER_UNKNOWN_ASK (which keeps nothing
 * until a quarantine is installed). Errors: FASTN_ERR_NOMEM. */
int router_new(struct uv_loop_s *loop, struct swarm *sw, struct router **out);
/* Aborts every splice (their sockets close, their streams are reset) and
 * drops every handler; call before swarm_close(). */
void router_close(struct router *r);
/* Frees the router after router_close() and after the loop ran the close
 * callbacks. NULL does nothing. */
void router_free(struct router *r);

/* --- the daemon's own services ------------------------------------------ */

/* An in-process handler. */
struct router_handler_ops {
    /* A peer opened s for a protocol this handler was added for
     * (swarm_stream_protocol(s)), and the policy let it through. Take it:
     * swarm_stream_set_cb(s, ...) before returning, and return 0; from
     * then on s is the handler's (see net/swarm.h for its events and
     * calls). Or return a negative error to pass: the router offers the
     * stream to the protocol's next handler, and refuses it when nobody
     * takes it. */
    int (*on_stream)(void *arg, struct swarm_stream *s);
};

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

/* --- plugins ------------------------------------------------------------ */

/* The plugin host as the router sees it (the daemon's adapter). */
struct router_plugin_ops {
    /* The enabled plugin serving protocol and whom it serves (out->name
     * borrowed until the next change of protocols). Returns 0, or
     * FASTN_ERR_NOT_FOUND (none now: the stream is not a plugin's). */
    int (*lookup)(void *arg, const char *protocol,
                  struct router_plugin_facts *out);
    /* The policy gave s to the plugin serving its protocol. Take it
     * (swarm_stream_set_cb(s, ...) before returning) and return 0; or
     * return an error (its instance is not running, its streams limit):
     * the stream goes to the protocol's next handler, or is reset. */
    int (*take)(void *arg, struct swarm_stream *s);
    /* Fills names with up to max protocol ids enabled plugins serve
     * (borrowed until the next change); returns how many there are (may
     * be more than max). */
    size_t (*protocols)(void *arg, const char **names, size_t max);
};

/* Installs the plugins' ops (borrowed; NULL: no plugins) and serves the
 * protocols they list. Errors: as router_plugins_changed. */
int router_set_plugins(struct router *r, const struct router_plugin_ops *ops,
                       void *arg);
/* The plugins' protocols changed (install, remove, enable, disable): the
 * router serves ops->protocols() again, drops the non-admin client
 * handlers of protocols a plugin serves now, and peers are told
 * (identify push). Errors: FASTN_ERR_BUSY (a protocol past
 * ROUTER_MAX_PROTOCOLS or ROUTER_MAX_HANDLERS: it is not served, logged),
 * FASTN_ERR_NOMEM. */
int router_plugins_changed(struct router *r);

/* --- peers -------------------------------------------------------------- */

/* What the daemon knows of peers. */
struct router_peer_ops {
    /* Whether peer is known: this daemon dialed it (the user connected to
     * it, or a dial of ours worked), so a plugin serving known peers
     * serves it. Asked only for such a plugin's streams. */
    bool (*is_known)(void *arg, const struct peer_id *peer);
};
/* Installs the peer ops (borrowed; NULL: no peer is known). */
void router_set_peers(struct router *r, const struct router_peer_ops *ops,
                      void *arg);

/* The block list: peers whose streams are refused. At most
 * ROUTER_BLOCK_MAX peers; its file at most ROUTER_BLOCK_FILE_MAX bytes. */
#define ROUTER_BLOCK_MAX 4096
#define ROUTER_BLOCK_FILE_MAX (1u << 20)

/* Reads the block list from path (one PeerID a line; blank lines and
 * lines starting with '#' skipped) and keeps it there from then on: each
 * change rewrites the file atomically (mode 0600). A missing file is an
 * empty list. Errors (the list in force is unchanged; why[0..whylen)
 * says what, naming the line): FASTN_ERR_MALFORMED (a line is not a
 * PeerID), FASTN_ERR_TOO_LARGE (too many peers, too big a file),
 * FASTN_ERR_PERM (a symbolic link there), FASTN_ERR_IO, FASTN_ERR_NOMEM. */
int router_block_load(struct router *r, const char *path, char *why,
                      size_t whylen);
/* Blocks peer: its streams are refused from now on (those open already
 * go on). Saved first when the list has a file. Errors: FASTN_ERR_EXISTS
 * (blocked already), FASTN_ERR_BUSY (ROUTER_BLOCK_MAX), FASTN_ERR_IO (the
 * file could not be written: nothing changed), FASTN_ERR_NOMEM. */
int router_block_add(struct router *r, const struct peer_id *peer);
/* Unblocks peer. Errors: FASTN_ERR_NOT_FOUND, FASTN_ERR_IO (as above). */
int router_block_remove(struct router *r, const struct peer_id *peer);
bool router_is_blocked(const struct router *r, const struct peer_id *peer);
/* Fills out[0..max) with the blocked peers, oldest first; returns how
 * many there are (may be more than max). */
size_t router_blocked(const struct router *r, struct peer_id *out, size_t max);

/* The block list's file format, sans I/O (fuzz/fuzz_block_list.c).
 * Parses p[0..n) into *out (malloc'd, free()) and *count, duplicates
 * once. Errors: FASTN_ERR_MALFORMED (why names the line), _TOO_LARGE,
 * _NOMEM; *out is untouched on error. */
int router_block_parse(const uint8_t *p, size_t n, struct peer_id **out,
                       size_t *count, char *why, size_t whylen);
/* Appends the file for v[0..n) (a comment line, then one PeerID a line).
 * Errors: FASTN_ERR_TOO_LARGE, FASTN_ERR_NOMEM. */
int router_block_format(const struct peer_id *v, size_t n, struct buf *out);

/* --- the quarantine ----------------------------------------------------- */

/* Where streams nobody here takes may be kept (another module stores
 * them, notifies the user and replays them once a plugin is installed or
 * the peer allowed). */
struct router_quarantine_ops {
    /* The policy sent s here: why->action is ROUTER_QUARANTINE, why->why
     * ROUTER_WHY_UNKNOWN_PROTOCOL (nothing serves why->protocol) or
     * ROUTER_WHY_STRANGER (why->plugin serves known peers only, and
     * why->peer is not one); why's pointers are borrowed for this call.
     * Keep it: swarm_stream_set_cb(s, ...) before returning and return 0;
     * its bytes are then the quarantine's to store within its own bounds
     * (resetting s tells the sender it was not taken). Or return an error
     * (full, closing): the stream is reset. */
    int (*keep)(void *arg, struct swarm_stream *s,
                const struct router_verdict *why);
    /* Whether a stream for protocol may be kept at all (may be NULL:
     * any): one the quarantine would never keep (a protocol no plugin
     * may serve, the daemon's own) is refused as without a quarantine,
     * "na" at negotiation. */
    bool (*wants)(void *arg, const char *protocol);
};
/* Installs the quarantine (borrowed; NULL: none, streams it would keep
 * are refused as fastnd always did). */
void router_set_quarantine(struct router *r,
                           const struct router_quarantine_ops *ops, void *arg);
/* The unknown-protocol policy (config unknown-protocols): under
 * ROUTER_UNKNOWN_REFUSE nothing is kept even with a quarantine. */
void router_set_unknown_policy(struct router *r, enum router_unknown u);

/* What the policy decides now for a stream from peer for protocol, as
 * router.c would route it (the peer ops asked when the decision needs
 * them); for tests, tools and the coming `peer` commands. out's
 * pointers are borrowed from the call and the plugins' ops. */
void router_decide(struct router *r, const struct peer_id *peer,
                   const char *protocol, struct router_verdict *out);

/* --- client handlers ---------------------------------------------------- */

/* Adds a client handler registered by who: streams for protocol are
 * spliced to addr (/unix/PATH, or /ip4|/ip6 + /tcp). Registering the
 * same address again is fine (who is then updated). With balanced false,
 * a protocol that has another handler is refused (FASTN_ERR_EXISTS), as
 * go-libp2p-daemon does; with balanced true the handlers share the
 * streams. Whether who may register it is router_client_may_add()'s
 * answer, which the caller asks first (the control server's privilege
 * table). Errors: FASTN_ERR_INVAL, FASTN_ERR_UNSUPPORTED (another kind
 * of address), FASTN_ERR_EXISTS, FASTN_ERR_BUSY (ROUTER_MAX_HANDLERS or
 * ROUTER_MAX_PROTOCOLS), FASTN_ERR_NOMEM. */
int router_add_client(struct router *r, const char *protocol,
                      const struct multiaddr *addr, bool balanced,
                      const struct router_client *who);
/* Errors: FASTN_ERR_NOT_FOUND. */
int router_remove_client(struct router *r, const char *protocol,
                         const struct multiaddr *addr);

/* The policy's answer (router_policy_may_add_client) to who registering a
 * handler at addr for protocol (NULL: the address alone), from what
 * serves protocol now. */
enum router_rule router_client_may_add(const struct router *r,
                                       const char *protocol,
                                       const struct multiaddr *addr,
                                       const struct router_client *who);
/* The policy's answer to who removing the handler at addr for protocol;
 * *owner (may be NULL) gets the uid that registered it. A handler that
 * is not there is ROUTER_RULE_OK (removing it fails on its own). */
enum router_rule router_client_may_remove(const struct router *r,
                                          const char *protocol,
                                          const struct multiaddr *addr,
                                          const struct router_client *who,
                                          uid_t *owner);

/* What serves protocol apart from uid's own client handlers. */
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
    uint32_t protocols;   /* protocols with a handler */
    uint32_t handlers;    /* handlers in all */
    uint32_t splices;     /* streams spliced to sockets now */
    uint32_t blocked_now; /* peers on the block list */
    uint64_t refused;     /* streams not spliced: max splices reached */
    uint64_t routed;      /* incoming streams given to a handler */
    uint64_t dropped;     /* client handlers dropped because they had gone */
    uint64_t blocked;     /* protocol proposals refused: the peer blocked */
    uint64_t denied;      /* streams the policy refused (stranger, nobody) */
    uint64_t quarantined; /* streams the quarantine kept */
};
void router_get_stats(const struct router *r, struct router_stats *st);

/* Appends the varint-delimited StreamInfo {peer, addr, proto} a client
 * handler reads first (go-libp2p-daemon's control protocol; encoded
 * here, so the router needs nothing of the control server's). Errors:
 * FASTN_ERR_TOO_LARGE (past out's maximum: out is unchanged),
 * FASTN_ERR_NOMEM. */
int router_stream_info_append(struct buf *out, const struct peer_id *peer,
                              const struct multiaddr *addr,
                              const char *protocol);

/* --- streams local clients open (STREAM_OPEN, CALL) --------------------- */

struct router_splice;
struct router_open;
struct router_call;

/* Protocols one router_open() may propose. */
#define ROUTER_OPEN_MAX_PROTOCOLS SWARM_MAX_PROPOSALS

/* What an opened stream is; borrowed for the callback's duration. */
struct router_stream_info {
    const struct peer_id *peer;   /* always set */
    const struct multiaddr *addr; /* the peer's address (opened only) */
    const char *protocol;         /* the one agreed (opened only) */
    uint64_t result_id;           /* for router_stream_result() */
};

/* router_open()'s outcome, once, from the loop: err 0 with sp, a splice
 * that keeps the stream's data until the caller attaches a socket to it
 * (router_splice_attach) or aborts it (router_splice_abort); or the
 * stream's error (FASTN_ERR_NET_PROTO_NA, _NET_REFUSED, _TIMEOUT,
 * _NOMEM...) and sp NULL. */
typedef void (*router_open_cb)(void *arg, int err, struct router_splice *sp,
                               const struct router_stream_info *info);

/* Opens a stream to peer for the first of protos[0..n) it agrees (dialing
 * when there is no connection), within timeout_ms, for the local client
 * uid: only uid learns how it ends (router_stream_result). *out lets the
 * caller cancel until cb came. Errors (no callback then): FASTN_ERR_BUSY
 * (router_splices_full), FASTN_ERR_INVAL, _NET_NO_ADDR, _NET_DIAL_SELF,
 * _NOMEM, _CLOSED (the router is closing). */
int router_open(struct router *r, const struct peer_id *peer,
                const char *const *protos, size_t n, uint32_t timeout_ms,
                uid_t uid, router_open_cb cb, void *arg,
                struct router_open **out);
/* Gives up an open whose callback has not come: the stream is reset. */
void router_open_cancel(struct router_open *o);

/* router_call()'s answer, once, from the loop: err 0 and everything the
 * peer wrote until it finished (reply[0..n), borrowed for the call), or
 * FASTN_ERR_TOO_LARGE (more than max_reply: the stream was reset), or the
 * stream's error (FASTN_ERR_NET_STREAM_RESET, _TIMEOUT, _NET_PROTO_NA...). */
typedef void (*router_call_cb)(void *arg, int err, const uint8_t *reply,
                               size_t n);

/* A one-shot call: opens a stream to peer for protocol, writes data[0..len)
 * (copied) right behind the proposal, closes its write side and collects
 * the peer's answer; the whole call within timeout_ms. *out lets the
 * caller cancel until cb came. Errors (no callback then): FASTN_ERR_INVAL,
 * _NET_NO_ADDR, _NET_DIAL_SELF, _NOMEM, _CLOSED. */
int router_call(struct router *r, const struct peer_id *peer,
                const char *protocol, const uint8_t *data, size_t len,
                uint32_t timeout_ms, size_t max_reply, router_call_cb cb,
                void *arg, struct router_call **out);
/* Gives up a call whose callback has not come: the stream is reset. */
void router_call_cancel(struct router_call *c);

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
