/*
 * The plugin host: PROPOSED API, NOT IMPLEMENTED YET.
 *
 * This header sketches how the host that runs plugins (issue 5) plugs
 * into the engine (src/wasm), the store (src/store) and the router, for
 * whoever builds it; nothing defines these functions yet and nothing may
 * call them until something does. What exists today: the ABI tables
 * (plugin/abi.h), manifests and the load-time interface check
 * (plugin/manifest.h), plugin databases and notifications (store/store.h),
 * the SDK (include/fastn/plugin.h) and docs/PLUGIN-ABI.md, which is the
 * contract this host implements.
 *
 * Shape. The host owns every installed plugin of one identity (the
 * identity is passed in, never global). It does no I/O of its own: the
 * router, the control server and the event loop call in (streams, calls,
 * time), and it calls out through struct plugin_host_ops, so plugin/
 * depends on neither net/ nor libuv, and tests drive it without sockets.
 *
 * Scheduling. Each instance has a queue of events; plugin_host_run()
 * delivers at most one event per instance per round, each with that
 * instance's fuel_per_event, so a busy plugin delays others by at most
 * one fuel slice, and the loop stays responsive (the caller bounds the
 * rounds per loop iteration). A stream whose plugin queue is long stops
 * being read (backpressure to the peer) instead of queueing without end.
 *
 * One event, step by step (docs/PLUGIN-ABI.md, "Memory and ownership"):
 * fastn_alloc(total) in the guest -> bounds-check the block -> copy the
 * bytes in -> call the handler -> fastn_free(block) ->
 * store_pdb_event_end(db) -> record a trap if there was one.
 *
 * Imports: one host function per row of PLUGIN_ABI_IMPORTS, registered
 * with the engine under module "fastn" with the row's signature. Each
 * first checks every (ptr, len) against the instance's memory (a failure
 * traps with FASTN_ERR_PLUGIN_BAD_POINTER), then its capability, then
 * does the work:
 *   stream_*       -> the instance's stream table and ops->stream_*
 *   call_reply     -> the call table and ops->call_reply
 *   sql_*          -> store_pdb_* one-to-one (handles pass through;
 *                     sql_column_bytes copies from store_pdb_column_bytes
 *                     into guest memory, min(len, cap), returns len)
 *   notify         -> rate limit, then store_notify_add(state, now,
 *                     plugin name, title, body) (subscribers push it)
 *   timer_*        -> the instance's timer table; ops->wake_at
 *   now_ms, monotonic_ms -> the times passed to plugin_host_run
 *   random         -> randombytes_buf
 *   log            -> log_msg(level, "plugin", "NAME: ...") rate-limited
 *   local_peer_id  -> the identity's PeerID text
 * WASI: fd_write/clock_time_get/random_get/proc_exit/args/environ as the
 * ABI page says, every other preview1 function ENOSYS, typed from the
 * module's own import (the engine needs a signature per host function).
 */
#ifndef FASTN_PLUGIN_PLUGIN_H
#define FASTN_PLUGIN_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin/manifest.h"

struct store;
struct plugin_host;

/* What the host asks of the rest of the daemon. Stream and call ids are
 * the router's and the control server's own (opaque 64-bit values). */
struct plugin_host_ops {
    /* Dial peer for protocol; later plugin_host_stream_opened(token).
     * Returns 0 or an error (then no callback comes). */
    int (*stream_open)(void *arg, const char *peer, const char *protocol,
                       uint64_t token);
    /* Queue bytes on a stream; returns bytes taken (>= 0) or an error. */
    int (*stream_write)(void *arg, uint64_t stream, const uint8_t *p, size_t n);
    int (*stream_close)(void *arg, uint64_t stream); /* our side: EOF */
    int (*stream_reset)(void *arg, uint64_t stream);
    /* Stop or resume reading a stream (a plugin's queue is full). */
    void (*stream_pause)(void *arg, uint64_t stream, bool paused);
    /* Answer a local call (status 0 or a fastn_err; p: result or message). */
    void (*call_reply)(void *arg, uint64_t call, int status, const uint8_t *p,
                       size_t n);
    /* Call plugin_host_run no later than this monotonic time (timers,
     * restarts with backoff, call timeouts). */
    void (*wake_at)(void *arg, uint64_t monotonic_ms);
    /* The set of protocols served by plugins changed (install, enable,
     * crash): the router re-reads plugin_host_serves(). */
    void (*protocols_changed)(void *arg);
};

struct plugin_host_config {
    const char *home;          /* $FASTN_HOME: plugins/ and data/ under it */
    const char *local_peer_id; /* text, for local_peer_id */
    struct store *state;       /* notifications */
    const struct plugin_host_ops *ops;
    void *ops_arg;
};

/* Creates the host; loads nothing yet. */
int plugin_host_new(const struct plugin_host_config *cfg,
                    struct plugin_host **out);
/* Stops every instance (on_stop), closes databases, frees. */
void plugin_host_free(struct plugin_host *h);

/* --- installed plugins ($FASTN_HOME/plugins/NAME.wasm + index) --- */

/* Loads and starts every enabled plugin; one that fails is recorded and
 * skipped. */
int plugin_host_load_all(struct plugin_host *h, uint64_t now_ms);
/* Checks (plugin_manifest_from_wasm, plugin_wasm_check_interface, engine
 * validation), copies the file in, starts it. err says why not.
 * Errors: FASTN_ERR_PLUGIN_MANIFEST, _PLUGIN_ABI, _PLUGIN_CAPABILITY,
 * FASTN_ERR_WASM_*, FASTN_ERR_EXISTS (a plugin of that name: remove it
 * first, or pass replace), FASTN_ERR_IO. */
int plugin_host_install(struct plugin_host *h, const uint8_t *wasm, size_t len,
                        bool replace, char *err, size_t errlen);
/* Stops and deletes it; its database too unless keep_data. */
int plugin_host_remove(struct plugin_host *h, const char *name, bool keep_data);
int plugin_host_enable(struct plugin_host *h, const char *name, bool on);

struct plugin_info {
    struct plugin_manifest manifest;
    bool enabled, running;
    unsigned restarts;
    int last_error;            /* fastn_err, 0 if none */
    char last_error_text[160]; /* e.g. "trap: out of fuel in on_data" */
    uint64_t last_error_ms;
    uint32_t memory_pages;
    uint64_t db_bytes;
    unsigned open_streams, pending_calls, armed_timers;
};
/* For `fastn plugin list` and `info NAME`. */
int plugin_host_info(struct plugin_host *h, const char *name,
                     struct plugin_info *out);
int plugin_host_list(struct plugin_host *h, struct plugin_info **out,
                     size_t *n);

/* --- from the router --- */

/* The plugin serving protocol (enabled and running or restartable), or
 * FASTN_ERR_NOT_FOUND (the router then tries clients, then quarantine). */
int plugin_host_serves(struct plugin_host *h, const char *protocol,
                       const char **name_out);
/* A peer opened stream for protocol: queues on_stream. serves_known says
 * whether the peer is known (for manifests with "serves": "known-peers"). */
int plugin_host_stream_incoming(struct plugin_host *h, uint64_t stream,
                                const char *peer, const char *protocol,
                                bool peer_known);
int plugin_host_stream_data(struct plugin_host *h, uint64_t stream,
                            const uint8_t *p, size_t n);
/* reason 0: the peer's EOF; < 0: reset or lost. */
int plugin_host_stream_closed(struct plugin_host *h, uint64_t stream,
                              int reason);
/* The result of ops->stream_open(token): stream is valid when result 0. */
int plugin_host_stream_opened(struct plugin_host *h, uint64_t token,
                              uint64_t stream, int result);
int plugin_host_stream_writable(struct plugin_host *h, uint64_t stream);

/* --- from the control server --- */

/* A client's call (fastn plugin call NAME METHOD ARG); the answer comes
 * through ops->call_reply(call). Errors (then no reply comes):
 * FASTN_ERR_NOT_FOUND, _PLUGIN_DISABLED, _TOO_LARGE. */
int plugin_host_call(struct plugin_host *h, const char *name,
                     const char *method, const uint8_t *arg, size_t n,
                     uint64_t call);

/* --- from the event loop --- */

/* Delivers queued events (at most max_rounds rounds of one event per
 * instance), fires due timers, restarts failed instances whose backoff
 * is over, times out calls. Times are passed in. Returns the number of
 * events delivered. */
int plugin_host_run(struct plugin_host *h, uint64_t now_ms,
                    uint64_t monotonic_ms, unsigned max_rounds);

#endif
