/*
 * Internal to the plugin host (src/plugin/host*.c): the plugin, instance,
 * event, stream, call and timer records, and the functions the host's
 * files share. See plugin.h for the model.
 *
 *   host.c          the host, installed plugins, the index, info
 *   host_run.c      instances: start, events, slices, failure, backoff
 *   host_sched.c    the run loop, the clock, CPU budgets, timers
 *   host_mem.c      the memory budget
 *   host_imports.c  the "fastn" imports and the WASI glue
 *   host_io.c       entry points from the router and the control server
 */
#ifndef FASTN_PLUGIN_HOST_INT_H
#define FASTN_PLUGIN_HOST_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "plugin/plugin.h"
#include "util/buf.h"
#include "wasm/wasi.h"
#include "wasm/wasm.h"

enum host_ev_type {
    EV_START, /* _initialize, then on_start */
    EV_STREAM,
    EV_DATA,
    EV_CLOSE,
    EV_OPEN,
    EV_WRITABLE,
    EV_CALL,
    EV_TIMER,
    EV_HASH, /* a fastn_hash_start answered: handle the tag, arg the result */
};

/* One queued event. Bytes (peer+protocol, method+arg, data) follow it. */
struct host_event {
    struct host_event *next;
    enum host_ev_type type;
    int32_t handle; /* stream, call or timer id */
    int32_t arg;    /* close reason, open result */
    size_t len1, len2;
    uint8_t data[];
};

/* Handles are positive i32 values from a per-instance counter, so a stale
 * one is never confused with a newer object for 2^31 allocations. */
struct host_stream {
    int32_t handle;
    uint64_t id;    /* the router's; 0 while opening */
    uint64_t token; /* outgoing: what ops->stream_open was given */
    bool outgoing, opening;
    bool local_closed;  /* the plugin closed its side */
    bool remote_closed; /* on_close(s, 0) delivered or queued */
    bool gone;          /* the router forgot it; on_close(< 0) queued */
    bool reset_on_open; /* reset by the plugin before it opened */
    bool want_writable; /* a write was short: on_writable when room */
    bool paused;        /* the router stopped reading it */
    unsigned flags;     /* PLUGIN_STREAM_REPLAYED, _REPEAT */
    size_t queued_in;   /* bytes of on_data events queued or held */
    /* on_data the plugin refused (FASTN_ERR_AGAIN), then the stream's later
     * on_data/on_close, in order: out of the instance's queue until
     * host_stream_release() puts them back at its head */
    struct host_event *held, *held_tail;
    struct buf pending; /* writes made before it opened */
    char peer[PLUGIN_PEER_ID_MAX + 1];
};

struct host_call {
    int32_t handle;
    uint64_t id;       /* the control server's */
    uint64_t deadline; /* monotonic ms */
};

/* A call that came while its plugin waited to restart (BACKOFF). */
struct host_waiting_call {
    uint64_t id;
    uint64_t deadline; /* monotonic ms */
    size_t method_len, n;
    uint8_t *data; /* the method, then the argument */
};

struct host_timer {
    int32_t id;
    uint64_t due; /* monotonic ms */
    uint64_t seq; /* when it was set first: ties fire in that order */
};

/* A token bucket for rate limits. */
struct host_bucket {
    bool init;
    double tokens;
    uint64_t last_ms;
    unsigned dropped;
};

enum host_phase {
    PH_INIT,
    PH_PLACE, /* fastn_data_at: where on_data's bytes go */
    PH_ALLOC,
    PH_HANDLER,
    PH_FREE,
    PH_DONE
};

struct host_instance {
    struct host_plugin *p;
    struct fastn_wasm_instance *wasm;
    struct fastn_wasm_wasi wasi;
    struct store_pdb *db;
    unsigned exports; /* bit per PLUGIN_ABI_EXPORTS row that exists */

    struct host_event *head, *tail;
    unsigned n_events;
    size_t queued_bytes;
    uint64_t held_bytes; /* of events held on its streams */
    /* what the router's send queues hold of its streams, summed at most
     * once a millisecond (a look-up per stream: not on every event) */
    uint64_t router_bytes, router_at_ns;
    uint64_t mem_budget;  /* h->lim.memory when it started */
    uint64_t mem_charged; /* to the engine's budget (host_memory_charge) */

    /* the event being delivered */
    struct host_event *cur;
    enum host_phase phase;
    bool suspended;  /* its phase ran out of a chunk's fuel: resume it */
    uint32_t block;  /* fastn_alloc'd, or placed by fastn_data_at */
    bool placed;     /* block is the plugin's (fastn_data_at): no free */
    uint64_t budget; /* fuel of the event not yet handed out */
    uint64_t given;  /* fuel handed out for the event */
    int32_t handler_rc;
    const char *import_failed; /* set by an import that trapped */
    uint64_t charged;          /* by the import being run, for its work */
    /* hash_start's on the offload thread (host_job.c), not yet answered */
    struct host_job *jobs;
    unsigned n_jobs;

    /* the slice being run (host_instance_slice), in host clock ns */
    uint64_t slice_start;
    bool slice_over; /* past its time target: it ends at the next chunk */
    /* past slice_ms and let go: it may run slice_ms more from there
     * (slice_pardoned_ns: the time it had run then) */
    bool slice_pardoned;
    uint64_t slice_pardoned_ns;
    /* how long SQL calls ran past the time they were given in it (the
     * store stops a call within a step of SQLite's VM, which may be
     * heavy): not counted against slice_ms, up to slice_ms */
    uint64_t slice_excused;
    uint64_t sql_start, sql_time; /* the SQL call being run: its clock */

    struct host_stream *streams;
    unsigned n_streams, cap_streams;
    struct host_call *calls;
    unsigned n_calls, cap_calls;
    struct host_timer *timers;
    unsigned n_timers, cap_timers;
    int32_t next_stream, next_call;
    uint64_t timer_seq;

    struct host_bucket log_rl, notify_rl, open_rl;
    /* the outbox in its database may hold notifications to move into
     * state.sqlite (host_outbox_flush), no earlier than outbox_at */
    bool outbox_pending;
    uint64_t outbox_at;                    /* monotonic ms */
    char line[2][PLUGIN_LOG_LINE_MAX + 1]; /* fd 1, fd 2 partial lines */
    size_t line_len[2];
};

#define HOST_EXPORT_ENUM_(name, params, results, need) EXP_##name,
enum host_export { PLUGIN_ABI_EXPORTS(HOST_EXPORT_ENUM_) EXP_COUNT };
#undef HOST_EXPORT_ENUM_

/* Slots of a plugin's usage record over the CPU window. */
#define HOST_SLOTS 10

/* The user's narrowing of one protocol of a plugin. */
struct host_proto_serves {
    char protocol[PLUGIN_PROTOCOL_MAX + 1];
    enum plugin_serves serves;
};

struct host_plugin {
    struct plugin_host *h;
    struct host_plugin *next;
    char name[PLUGIN_NAME_MAX + 1];
    bool loaded; /* manifest and module are valid */
    struct plugin_manifest m;
    struct fastn_wasm_module *mod;
    size_t file_bytes;
    bool enabled;
    enum plugin_state state;
    struct host_instance *inst;
    unsigned restarts;
    int last_error;
    char last_error_text[PLUGIN_ERROR_TEXT_MAX];
    uint64_t last_error_ms;
    uint64_t backoff_ms, restart_at, started_mono;
    uint64_t events, fuel_used;
    /* the CPU budget: ns of loop time it may still take (a bucket,
     * refilled as of cpu_at), and whether it waits for it now */
    int64_t cpu_tokens;
    uint64_t cpu_at;
    bool deferred;
    uint64_t deferrals;        /* times it was deferred */
    uint64_t defer_logged;     /* host clock of the last log of it */
    uint64_t longest_slice_ns; /* since the daemon started */
    /* slices past slice_ms let go (PLUGIN_SLICE_PARDON_MS): how many,
     * and the host clock of the last */
    uint64_t slice_pardons, pardoned_at;
    /* loop time and fuel per tenth of the CPU window, for info */
    uint64_t slot_ns[HOST_SLOTS], slot_fuel[HOST_SLOTS];
    uint64_t slot_epoch; /* the slot counter of slot_*[epoch % HOST_SLOTS] */
    /* the user's narrowing (plugin_host_restrict), kept in the index */
    bool narrowed;                  /* user_serves applies */
    enum plugin_serves user_serves; /* narrower than m.serves */
    unsigned withheld;              /* caps of m.caps the user withholds */
    /* per protocol (restrict --protocol): narrower than m.serves, and one
     * of m's protocols once the plugin loaded */
    size_t n_proto;
    struct host_proto_serves proto[PLUGIN_PROTOCOLS_MAX];
    char *index_unknown; /* tokens of its index line not understood */
    /* calls that came during its restart backoff: queued on its next
     * instance, or answered at their deadline (host_waiting_settle) */
    struct host_waiting_call *waiting;
    unsigned n_waiting;
    size_t waiting_bytes;
    /* local-listen: the port the daemon listens on per entry (0: none) */
    uint16_t listen_bound[PLUGIN_LOCAL_MAX];
};

struct plugin_host {
    char plugins_dir[PATH_MAX];
    char data_dir[PATH_MAX];
    char local_peer_id[PLUGIN_PEER_ID_MAX + 1];
    struct store *state;
    const struct plugin_host_ops *ops;
    void *ops_arg;
    uint64_t slice_fuel;
    struct plugin_host_limits lim; /* every field set */
    uint64_t now_ms, mono_ms;      /* as of the last run or entry */
    /* the thread's CPU clock at wall time cpu_mark_wall (host clock ns),
     * read at most every few ms: whether a long slice kept a CPU busy */
    uint64_t cpu_mark, cpu_mark_wall;
    char run_from[PLUGIN_NAME_MAX + 1]; /* where the next run starts */
    char *index_unknown; /* index lines not understood, kept ("...\n") */
    struct plugin_local_conf *local; /* the config's (plugin_host_set_local) */
    size_t n_local;
    uint64_t next_token;
    struct host_plugin *plugins; /* sorted by name */
    bool running;                /* inside plugin_host_run */
};

/* host.c */
struct host_plugin *host_find(struct plugin_host *h, const char *name);
/* The host's clock: monotonic ns. */
uint64_t host_now_ns(void);
/* Wakes the loop (ops->wake). */
void host_wake(struct plugin_host *h);
/* Writes the index (name, enabled state and narrowing of each plugin). */
int host_index_save(struct plugin_host *h);
/* Whom p serves now: its manifest's value, narrowed by the user. */
enum plugin_serves host_serves_now(const struct host_plugin *p);
/* Whom p serves on protocol now: host_serves_now(p), narrowed further by
 * the user's narrowing of that protocol. */
enum plugin_serves host_serves_protocol(const struct host_plugin *p,
                                        const char *protocol);
/* The capabilities p may use now: asked for and not withheld. */
unsigned host_caps_now(const struct host_plugin *p);

/* host_local.c */
/* Where p's local_connect entry i connects: the config's or its own. */
struct plugin_addr host_local_target(const struct host_plugin *p, size_t i);
/* p's database quota: the config's plugin-storage-mib, else its
 * manifest's storage_quota. */
uint64_t host_storage_quota(const struct host_plugin *p);
/* The port p's local_listen entry i asks for now. */
uint16_t host_local_port(const struct host_plugin *p, size_t i);

/* host_run.c */
/* Creates an instance of p and queues its start. Errors are recorded on
 * p (FAILED or BACKOFF) and returned. */
int host_instance_start(struct host_plugin *p);
/* Ends p's instance (if any). clean: run on_stop first (bounded), no
 * error recorded; else err/why are recorded and a restart scheduled. */
void host_instance_stop(struct host_plugin *p, bool clean, int err,
                        const char *why);
/* Queues an event on an instance (takes ownership of ev). */
void host_event_push(struct host_instance *in, struct host_event *ev);
/* Tells ops->trace (when set) what the instance's current event did. */
void host_trace(struct host_instance *in, const char *kind, const char *what,
                int64_t result);
/* Queues an event before every other (takes ownership of ev). */
void host_event_push_front(struct host_instance *in, struct host_event *ev);
/* A new event with room for n bytes; NULL when out of memory. */
struct host_event *host_event_new(enum host_ev_type type, int32_t handle,
                                  int32_t arg, size_t len1, size_t len2);
/* One slice of work for an instance, started at host clock `now`
 * (charged to its plugin's CPU budget). Returns the host clock when it
 * ended. The instance may have ended in it (p->inst is then NULL). */
uint64_t host_instance_slice(struct host_instance *in, uint64_t now);
/* Fires due timers and times out calls of an instance; moves waiting
 * notifications. */
void host_instance_tick(struct host_instance *in);

/* host_io.c: calls that wait for a restart */
/* Queues p's waiting calls on its instance once it runs; answers them
 * when it will not run (disabled, failed) or at their deadline. */
void host_waiting_settle(struct host_plugin *p);
/* Answers every waiting call of p with err and frees them. */
void host_waiting_drop(struct host_plugin *p, int err, const char *why);
/* Whether p has waiting calls to settle now (not only to wait for). */
bool host_waiting_due(const struct host_plugin *p);

/* host_mem.c: the memory budget */
/* What in holds now (the parts into *m, when not NULL): the total. */
uint64_t host_memory(const struct host_instance *in, struct plugin_memory *m);
/* Whether `more` bytes sent to in (data, a call, a stream) fit in its
 * budget with all it holds, what is queued for it included. */
bool host_memory_admits(const struct host_instance *in, uint64_t more);

/* What linear memory and SQLite leave of the budget for what others send
 * (host_mem.c): a sixteenth of the budget, 2 chunks to
 * PLUGIN_INPUT_ROOM_MAX. */
uint64_t host_memory_input_room(const struct host_instance *in);

/* Whether `more` bytes in makes the host hold for it (a write, a stream
 * opened, a timer) fit in its budget with what it holds by its own doing
 * (all but the events queued for it). */
bool host_memory_allows(const struct host_instance *in, uint64_t more);
/* Lets in's database hold, from its next allocation on, what the budget
 * leaves after the rest it holds by its own doing (linear memory, tables
 * and globals, the host's buffers but the router's send queues, which
 * only the slice's end counts: a look-up per stream), and at most
 * STORE_PDB_HEAP_DEFAULT (what SQLite holds is freed in calls that
 * cannot be cut short: finalize, reset): an SQL call past it fails with
 * FASTN_ERR_STORE_MEMORY, the plugin's to handle. Called before each SQL
 * call that may allocate. */
void host_memory_sqlite_room(struct host_instance *in);
/* Charges the engine's budget of in with what the host holds for it by
 * its own doing and its SQLite (the difference since the last time), so
 * that memory.grow and table.grow see the whole budget. At each slice's
 * start. */
void host_memory_charge(struct host_instance *in);
/* "memory: ... past its budget (parts)" for the failure record. */
void host_memory_why(const struct host_instance *in, char *why, size_t len);
/* The engine limits for an instance of p under a memory budget. */
void host_engine_limits(const struct host_plugin *p, uint64_t budget,
                        struct fastn_wasm_limits *lim);
/* The bytes an event takes. */
uint64_t host_event_bytes(const struct host_event *ev);

/* host_sched.c */
/* Sets h->lim from l (NULL or 0 fields: defaults). Errors:
 * FASTN_ERR_INVAL. */
int host_limits_init(struct plugin_host *h, const struct plugin_host_limits *l);
/* A slice of in starts at host clock now. */
void host_slice_begin(struct host_instance *in, uint64_t now);
/* Reads the clock (into *now, when not NULL) and checks the time the
 * current slice has run: past its target it is marked over
 * (in->slice_over: it ends at the next chunk); past slice_ms of wall
 * time, with the thread on a CPU for slice_ms of it (both less
 * in->slice_excused), returns FASTN_ERR_PLUGIN_TIMEOUT (the instance is
 * to end), unless the plugin's first such slice in PLUGIN_SLICE_PARDON_MS:
 * that one is let go (marked over; ended only slice_ms later). */
int host_slice_time(struct host_instance *in, uint64_t *now);
/* host_slice_time after an import: a slice newly over its target also
 * stops at the next metering point (the chunk's fuel goes back to the
 * event's budget; the next slice resumes it). */
int host_slice_check(struct host_instance *in);
/* The time the next SQL call of in may take (store_pdb_budget.time_ns):
 * STORE_PDB_TIME_DEFAULT_NS, or less when the slice has less left of
 * slice_ms (less a margin), so that an SQL call fails with
 * FASTN_ERR_STORE_TIMEOUT before its slice could end the instance with
 * FASTN_ERR_PLUGIN_TIMEOUT. At least 1. Reads the clock for
 * host_slice_sql_end. */
uint64_t host_slice_sql_ns(struct host_instance *in);
/* After that SQL call: what it ran past the time it was given is the
 * store's overrun (one step of SQLite's VM), not counted against
 * slice_ms (in all, at most slice_ms more in a slice). */
void host_slice_sql_end(struct host_instance *in);
/* Takes a slice that ran from host clock `start` to `now` from p's CPU
 * budget, and records it (and the fuel it used) in p's usage. */
void host_cpu_charge(struct host_plugin *p, uint64_t start, uint64_t now,
                     uint64_t fuel);
/* p's loop time and fuel over the last CPU window. */
void host_cpu_usage(struct host_plugin *p, uint64_t *ns, uint64_t *fuel);
/* Moves notifications from the instance's outbox into state.sqlite, as
 * many as the rate limit lets now; the rest wait for outbox_at. */
void host_outbox_flush(struct host_instance *in);

/* host_job.c: hash_start (docs/PLUGIN-ABI.md): the hash on the offload
 * thread (ops->offload) or, without one or for a short input, here; the
 * answer is an EV_HASH event. */
int host_hash_start(struct host_instance *in, int32_t kind, const uint8_t *p,
                    size_t n, uint32_t out, int32_t tag);
/* The instance goes: waits until the thread no longer reads or writes its
 * memory; each job is freed now or by its done(). */
void host_jobs_detach(struct host_instance *in);
/* SHA-256 of [p, p+n) into out[32]: 0, or an error. */
int host_sha256(const uint8_t *p, size_t n, uint8_t *out);
/* Takes ns of a thread's CPU time (work off the loop) from p's CPU
 * budget, and records it in p's usage. */
void host_cpu_charge_work(struct host_plugin *p, uint64_t ns);

/* host_imports.c */
/* Offers the "fastn" imports and WASI to an instance of p's module. */
int host_imports_build(struct host_instance *in,
                       struct fastn_wasm_imports **out);
/* Flushes partial WASI output lines into the log. */
void host_wasi_flush(struct host_instance *in);
/* Takes a token from a bucket (rate per second, burst); false if none. */
bool host_bucket_take(struct host_bucket *b, uint64_t now_ms, double rate,
                      double burst);
/* The whole tokens a bucket holds now (refilled first). */
unsigned host_bucket_avail(struct host_bucket *b, uint64_t now_ms, double rate,
                           double burst);
/* Milliseconds until a bucket holds a whole token (0: it does). */
uint64_t host_bucket_wait(const struct host_bucket *b, double rate);

/* host_io.c: tables of an instance */
struct host_stream *host_stream_by_handle(struct host_instance *in,
                                          int32_t handle);
struct host_stream *host_stream_add(struct host_instance *in);
/* Takes a peer's or a local program's stream for p (router id `stream`,
 * flags PLUGIN_STREAM_*): on_stream(peer, protocol) queued. Errors:
 * FASTN_ERR_PLUGIN_CRASHED (not running), _PLUGIN_LIMIT, _NOMEM. */
int host_stream_take(struct host_plugin *p, uint64_t stream, const char *peer,
                     const char *protocol, unsigned flags);
/* Frees a handle (the router is not told). */
void host_stream_free(struct host_instance *in, struct host_stream *s);
/* Resets every stream and tells the router; answers every call with err
 * (and why, for a failure); drops timers. For an instance that ends. */
void host_instance_release(struct host_instance *in, int err, const char *why);
struct host_call *host_call_by_handle(struct host_instance *in, int32_t handle);
void host_call_remove(struct host_instance *in, struct host_call *c);
/* Answers a call and forgets it. */
void host_call_answer(struct host_instance *in, struct host_call *c, int status,
                      const uint8_t *p, size_t n);
/* The same with the answer in n pieces (at most PLUGIN_CALL_REPLY_PIECES). */
void host_call_answer_v(struct host_instance *in, struct host_call *c,
                        int status, const struct iovec *v, size_t n);
/* Pushes bytes queued before a stream opened to the router. */
void host_stream_flush_pending(struct host_instance *in, struct host_stream *s);
/* An on_data event was delivered or dropped: resume reading when the
 * backlog fell below half and nothing is held. */
void host_stream_drained(struct host_instance *in, struct host_stream *s,
                         size_t n);
/* After a slice: resumes the paused streams whose backlog is taken and
 * for which memory has room again (host_stream_drained's check). */
void host_streams_resume(struct host_instance *in);
/* Holds ev (an on_data or on_close of s; takes ownership): at the front
 * (the refused on_data, which came before the rest) or at the back (an
 * event that came after held ones). Pauses the stream. */
void host_stream_hold(struct host_instance *in, struct host_stream *s,
                      struct host_event *ev, bool front);
/* Puts the held events of s back at the head of the instance's queue, in
 * their order. */
void host_stream_release(struct host_instance *in, struct host_stream *s);
/* Whether no writable signal is to come for s because its send queue is
 * not full: held data of such a stream goes back after the instance's
 * next other event instead. */
bool host_stream_has_room(const struct host_stream *s);
/* Releases the held events of every stream that has room. */
void host_release_held(struct host_instance *in);

#endif
