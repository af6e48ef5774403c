/*
 * The plugin host: runs the installed plugins of one identity on the
 * WebAssembly engine, as docs/PLUGIN-ABI.md says (that page is the
 * contract; docs/PLUGINS.md says how it is run).
 *
 * Shape. The host owns every installed plugin of one identity (the
 * identity's PeerID is passed in, never global). It does no network or
 * socket I/O of its own: the router, the control server and the event
 * loop call in (streams, calls, time), and it calls out through struct
 * plugin_host_ops, so plugin/ depends on neither net/ nor libuv, and tests
 * drive it without sockets. It reads and writes only its own files:
 * HOME/plugins/ (NAME.wasm and the index) and, through src/store, the
 * plugins' databases under HOME/data/.
 *
 * Scheduling. Nothing runs plugin code but plugin_host_run(). Every entry
 * point below only queues an event and asks for a run (ops->wake), so no
 * call from the router or the control server can re-enter a plugin, and
 * events of one instance never overlap. plugin_host_run() gives each
 * instance with work one slice per round, in turn (the next run goes on
 * from where the last one stopped), and starts no slice (nor an instance
 * whose backoff is over) once the run has held the loop PLUGIN_RUN_MS. A slice
 * delivers the instance's events one after another, in chunks of at most
 * PLUGIN_CHUNK_FUEL of engine fuel, and reads the clock between chunks and
 * after each import: it ends when it has used slice_fuel, or has run
 * PLUGIN_SLICE_TARGET_MS, or the queue is empty. An event that needs more is
 * suspended where it stopped and resumed in the instance's next slice
 * (fastn_wasm_instance_resume), so a busy plugin delays the loop and the other
 * plugins by about one slice, while its event may still use its whole
 * fuel_per_event. An event that uses up fuel_per_event ends the instance; so
 * does a slice that held the loop longer than slice_ms (default 10) of wall
 * time, whatever it called (one import that could not be cut short:
 * FASTN_ERR_PLUGIN_TIMEOUT), as long as it kept the daemon's thread on a CPU
 * for slice_ms of it (a daemon the system did not run, or one that waited for
 * the disk, is not the plugin's doing: that slice just ends). An SQL call
 * is given the time its slice has left, so it fails with
 * FASTN_ERR_STORE_TIMEOUT first.
 *
 * CPU budget. Each plugin may take cpu_percent of one core: a bucket of
 * cpu_percent % of cpu_window_ms, refilled at cpu_percent % of real time,
 * from which every slice takes the wall time it held the loop. A plugin
 * whose bucket is empty is deferred: its events wait (none is dropped)
 * until the bucket is positive again; the limits that apply to waiting
 * work still do (a call times out after PLUGIN_CALL_TIMEOUT_MS, a stream
 * stays paused), and are logged.
 *
 * Memory budget. Everything a plugin holds counts against one budget
 * (limits.memory, the config's plugin-memory-mib): its linear memory,
 * tables, globals and the engine's stacks for it (the engine's own
 * budget, fastn_wasm_limits.max_memory_bytes, is the plugin's, and the
 * host charges it with the rest and the room kept for input,
 * PLUGIN_INPUT_ROOM_MAX, at each slice's start, so memory.grow and
 * table.grow return -1 past the whole budget), the host's
 * buffers for it (events queued or held, bytes written before a stream
 * opened or waiting in the router's send queue, its tables of streams,
 * calls and timers) and its SQLite heap. What it did itself (a write, a
 * stream opened, a timer set, data it refused and so holds) may not take
 * it past the budget: the import traps, or the slice ends it, with
 * FASTN_ERR_PLUGIN_MEMORY, and it restarts after a backoff. What others
 * send it is refused or waits instead: a stream whose data would take it
 * past the budget is paused, a call refused with FASTN_ERR_BUSY, a new
 * stream refused with FASTN_ERR_PLUGIN_LIMIT. Its SQLite is given, at
 * each SQL call, what the budget leaves after the rest: SQL past it fails
 * with FASTN_ERR_STORE_MEMORY, which the plugin sees and may handle.
 * plugin_host_info reports each part.
 *
 * Timers are coalesced: every timer due when a run starts fires in that
 * run (earliest first), its on_timer events delivered one after another
 * in the instance's slices as time allows; a timer set again from
 * on_timer, even for 0 ms, fires in a later run. So a plugin that re-arms
 * its timers at once is a busy plugin like any other, bounded by its CPU
 * budget, not a flood of tiny slices.
 *
 * Failures. A trap, a limit, a bad pointer, proc_exit or on_start < 0
 * ends the instance: its streams are reset, its calls answered with
 * FASTN_ERR_PLUGIN_CRASHED, its timers dropped, an open transaction
 * rolled back, and the error recorded (plugin_host_info). It is started
 * again after a backoff (1 s doubling to 5 min; back to 1 s after 10 min
 * without a failure). A plugin that cannot be instantiated at all (its
 * module does not fit its limits) is not retried until it is enabled or
 * installed again.
 *
 * Threading: one thread (the daemon's loop) uses a host.
 */
#ifndef FASTN_PLUGIN_PLUGIN_H
#define FASTN_PLUGIN_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "plugin/manifest.h"

struct store;
struct plugin_host;

/* What the host asks of the rest of the daemon. Stream ids are the
 * router's (opaque 64-bit values, never 0); call ids the control
 * server's. None of these may call back into the host synchronously,
 * except that they may queue (plugin_host_stream_* and _call are fine:
 * they only queue). */
struct plugin_host_ops {
    /* Dial peer for protocol; the answer comes later through
     * plugin_host_stream_opened(token, ...). Returns 0, or an error (then
     * no answer comes). */
    int (*stream_open)(void *arg, const char *peer, const char *protocol,
                       uint64_t token);
    /* Queues bytes on a stream; returns bytes taken (0..n: the stream's
     * send queue holds at most PLUGIN_STREAM_BUFFER), or an error. When it
     * took fewer than n, plugin_host_stream_writable() follows once the
     * queue fell below half. */
    int (*stream_write)(void *arg, uint64_t stream, const uint8_t *p, size_t n);
    /* Our side is done (EOF after the queued bytes). */
    int (*stream_close)(void *arg, uint64_t stream);
    /* Aborts both ways; no more callbacks for this stream are wanted. */
    int (*stream_reset)(void *arg, uint64_t stream);
    /* Stop or resume reading a stream (the plugin has a backlog). */
    void (*stream_pause)(void *arg, uint64_t stream, bool paused);
    /* Bytes the router still holds in a stream's send queue, counted in
     * the plugin's memory budget (may be NULL: none counted). */
    size_t (*stream_queued)(void *arg, uint64_t stream);
    /* Answers a local call: status 0 and the result, or a negative
     * fastn_err and a message. Exactly once per accepted call. */
    void (*call_reply)(void *arg, uint64_t call, int status, const uint8_t *p,
                       size_t n);
    /* The same with the result in pieces (a plugin's call_reply_v: its
     * memory, valid only during this call). May be NULL: the host then
     * joins the pieces and calls call_reply. */
    void (*call_reply_v)(void *arg, uint64_t call, int status,
                         const struct iovec *v, size_t n);
    /* Work was queued: call plugin_host_run() soon (e.g. from an idle
     * handle). After a run, plugin_host_next_wake() says when again. */
    void (*wake)(void *arg);
    /* The set of protocols plugins serve changed (install, remove,
     * enable, disable): the router asks plugin_host_serves() again. */
    void (*protocols_changed)(void *arg);
    /* A replayed stream (plugin_host_stream_replay) was delivered: the
     * plugin's on_close(stream, 0) returned. The id is forgotten. A
     * replayed stream that ends otherwise (refused by on_stream, reset by
     * the plugin, its instance stopped) gets stream_reset instead. May be
     * NULL (then nothing is replayed). */
    void (*replay_done)(void *arg, uint64_t stream);
    /* May be NULL. What the host does in a plugin, for `fastn plugin run
     * --trace` and the test library: kind "event" (what: the handler
     * about to run), "return" (it ended; result: its return value, or
     * the error that ended the instance), "import" (what: the fastn
     * import just called; result: its return). fuel: what the event has
     * used so far. */
    void (*trace)(void *arg, const char *plugin, const char *kind,
                  const char *what, int64_t result, uint64_t fuel);
    /* A plugin's local_connect: open a TCP connection to addr (a
     * loopback "127.0.0.1:22" or "[::1]:22" its manifest names, as the
     * config maps it); the answer comes through
     * plugin_host_stream_opened(token, ...), the stream is then used
     * with the ops above. May be NULL (local_connect fails with
     * FASTN_ERR_UNSUPPORTED). Returns 0 or an error (no answer then). */
    int (*local_connect)(void *arg, const char *addr, uint64_t token);
    /* Runs work(job) on a thread of its own, then done(job) on the thread
     * that drives the host (the loop's), exactly once each; at shutdown
     * done(job) may come without work(job) (done sees that the job never
     * ran). Returns 0, or an error (then neither is called). May be NULL:
     * hash_start then hashes on the loop (docs/PLUGIN-ABI.md,
     * "hash_start"). */
    int (*offload)(void *arg, void (*work)(void *job), void (*done)(void *job),
                   void *job);
};

/* The run-time limits of every plugin, from the daemon's config (each 0:
 * its default): slice_ms (1..PLUGIN_SLICE_MS_MAX), cpu_percent (1..100)
 * of one core over cpu_window_ms (100..3600000), memory (bytes each
 * plugin may hold in all, PLUGIN_MEMORY_MIN..PLUGIN_MEMORY_MAX; see
 * "Memory budget"). */
struct plugin_host_limits {
    unsigned slice_ms, cpu_percent, cpu_window_ms;
    uint64_t memory;
};

struct plugin_host_config {
    const char *home;          /* $FASTN_HOME: plugins/ and data/ under it */
    const char *local_peer_id; /* text, for local_peer_id */
    struct store *state;       /* notifications (may be NULL: notify fails) */
    const struct plugin_host_ops *ops;
    void *ops_arg;
    /* Fuel per scheduling slice; 0: PLUGIN_SLICE_FUEL. */
    uint64_t slice_fuel;
    struct plugin_host_limits limits; /* see plugin_host_set_limits */
};

/* Fuel one slice may take: about a millisecond of plugin code on this
 * machine (docs/PLUGINS.md). */
#define PLUGIN_SLICE_FUEL 1000000ull
/* Fuel the engine runs between two readings of the clock. */
#define PLUGIN_CHUNK_FUEL 250000ull
/* A slice ends once it has run this long, fuel left or not (a slower
 * machine, or work that fuel prices too low). */
#define PLUGIN_SLICE_TARGET_MS 2
/* plugin_host_run starts no slice after it has run this long. */
#define PLUGIN_RUN_MS 4
/* Wall time one slice may hold the loop, whatever it called: past it the
 * instance ends (FASTN_ERR_PLUGIN_TIMEOUT). The config's plugin-slice-ms.
 * Under AddressSanitizer (make SAN=1) code runs 2 to 5 times slower, so
 * the default is 4 times as long there. */
#if defined(__SANITIZE_ADDRESS__)
#define PLUGIN_SLICE_MS_DEFAULT 40
#else
#define PLUGIN_SLICE_MS_DEFAULT 10
#endif
#define PLUGIN_SLICE_MS_MAX 1000
/* The first slice of a plugin past slice_ms in this long is let go (it
 * is suspended, not ended, and may run slice_ms more): the thread's
 * CPU clock counts what the machine took from it too (interrupts, the
 * network's softirqs run on its time, a hypervisor that does not report
 * steal), so one overrun alone may not be the plugin's doing. A second
 * within this time ends the instance. */
#define PLUGIN_SLICE_PARDON_MS 60000
/* The CPU budget of each plugin: this share of one core, with bursts of
 * that share of the window (config: plugin-cpu-percent,
 * plugin-cpu-window). */
#define PLUGIN_CPU_PERCENT_DEFAULT 25
#define PLUGIN_CPU_WINDOW_MS_DEFAULT 10000
/* The memory budget of each plugin (config: plugin-memory-mib). */
#define PLUGIN_MEMORY_DEFAULT (64ull << 20)
#define PLUGIN_MEMORY_MIN (1ull << 20)
#define PLUGIN_MEMORY_MAX (1ull << 32)
/* Of the budget, linear memory and SQLite leave room for what peers and
 * clients send (streams' data, calls): a 16th of it, at most 1 MiB (the
 * default's), at least 128 KiB. Linear memory never shrinks: one
 * grown to the whole budget would leave the plugin deaf for good. */
#define PLUGIN_INPUT_ROOM_MAX (1ull << 20)
/* The engine's value stack of a plugin (reserved at its start, in its
 * memory budget) takes at most this part of the budget: 1/8, 8 MiB of
 * the default (the engine's own default, 2^20 slots); its call depth is
 * a 16th of its slots (at most the engine's 20 000). */
#define PLUGIN_STACK_SHARE 8
/* Calls waiting for one plugin at once; more get FASTN_ERR_BUSY. */
#define PLUGIN_PENDING_CALLS_MAX 64
/* Bytes of events queued for one instance past which calls are refused
 * with FASTN_ERR_BUSY (streams are paused long before). */
#define PLUGIN_QUEUED_BYTES_MAX (16u << 20)
/* Milliseconds a plugin has to answer a call. */
#define PLUGIN_CALL_TIMEOUT_MS 30000
/* Room for a failure's text: its kind, event, import and a backtrace. */
#define PLUGIN_ERROR_TEXT_MAX 480
/* Frames of a trap's backtrace in that text. */
#define PLUGIN_TRACE_FRAMES 4
/* Backoff before a failed instance starts again. */
#define PLUGIN_BACKOFF_FIRST_MS 1000
#define PLUGIN_BACKOFF_MAX_MS (5 * 60 * 1000)
#define PLUGIN_BACKOFF_RESET_MS (10 * 60 * 1000)

/* Creates the host (making HOME/plugins and HOME/data when missing);
 * loads nothing yet. *out is set only on success.
 * Errors: FASTN_ERR_INVAL, _NOMEM, _IO, _TOO_LARGE (home path). */
int plugin_host_new(const struct plugin_host_config *cfg,
                    struct plugin_host **out);
/* Stops every instance (on_stop, with 1/10 of its fuel), closes
 * databases, frees. Pending calls are answered FASTN_ERR_CANCELED. NULL
 * does nothing. */
void plugin_host_free(struct plugin_host *h);
/* Changes the run-time limits (e.g. the config was reloaded): from the
 * next slice on, and the memory budget for instances started from now
 * on. Errors: FASTN_ERR_INVAL (out of range; nothing changed). */
int plugin_host_set_limits(struct plugin_host *h,
                           const struct plugin_host_limits *lim);

/* --- installed plugins (HOME/plugins/NAME.wasm and HOME/plugins/index) */

/* Loads every installed plugin and starts the enabled ones (their
 * on_start runs at the next plugin_host_run). One that fails is recorded
 * (plugin_host_info) and skipped. Returns how many were loaded. */
int plugin_host_load_all(struct plugin_host *h);

/* Installs a plugin from its bytes: checks the manifest, the interface
 * (plugin_wasm_check_interface) and the module (the engine validates and
 * compiles it), that no other plugin serves its protocols, then writes
 * HOME/plugins/NAME.wasm (atomically), marks it enabled and starts it.
 * With replace, an installed plugin of the same name is stopped and
 * replaced (its database stays). name_out (may be NULL, PLUGIN_NAME_MAX+1
 * bytes) gets the plugin's name; err (errlen bytes) says why not.
 * Errors: FASTN_ERR_PLUGIN_MANIFEST, _PLUGIN_ABI, _PLUGIN_CAPABILITY,
 * FASTN_ERR_WASM_* (the module), FASTN_ERR_EXISTS (installed already,
 * or a protocol another plugin serves), FASTN_ERR_TOO_LARGE (over
 * PLUGIN_FILE_MAX), FASTN_ERR_IO, _NOMEM. */
int plugin_host_install(struct plugin_host *h, const uint8_t *wasm, size_t len,
                        bool replace, char *name_out, char *err, size_t errlen);
#define PLUGIN_FILE_MAX (64u << 20)

/* Stops and deletes a plugin, and its database unless keep_data.
 * Errors: FASTN_ERR_NOT_FOUND, _IO. */
int plugin_host_remove(struct plugin_host *h, const char *name, bool keep_data);
/* Enables (and starts) or disables (and stops) a plugin; remembered in
 * the index. Enabling a failed plugin starts it at once (no backoff).
 * Errors: FASTN_ERR_NOT_FOUND, _IO. */
int plugin_host_enable(struct plugin_host *h, const char *name, bool on);

/* Narrows what an installed plugin may do, as the user decides (see
 * docs/PLUGINS.md, "What the user decides"): serves (-1: unchanged) no
 * wider than its manifest asked (the manifest's own value undoes a
 * narrowing); withhold capabilities its manifest asked for, or grant
 * withheld ones back (bits of enum plugin_cap). It applies at once to the
 * running instance (a withheld import then returns
 * FASTN_ERR_PLUGIN_CAPABILITY; timers it had set are dropped when
 * "timers" is withheld) and to streams that arrive later, and is kept in
 * the index (a restart and `install --replace` keep it where it still
 * applies). err (errlen bytes) says why not. Errors: FASTN_ERR_NOT_FOUND,
 * FASTN_ERR_INVAL (serves out of range, a bit both withheld and granted,
 * a plugin that did not load), FASTN_ERR_PLUGIN_CAPABILITY (wider than
 * the manifest, or a capability it did not ask for), FASTN_ERR_IO. */
int plugin_host_restrict(struct plugin_host *h, const char *name, int serves,
                         unsigned withhold, unsigned grant, char *err,
                         size_t errlen);
/* Narrows one protocol of a plugin (restrict NAME --protocol P --serves
 * WHO): that protocol then serves the narrowest of the manifest's serves,
 * the plugin-wide narrowing and this one. serves no wider than the
 * manifest asked; the manifest's value, or the plugin-wide value now,
 * drops the protocol's own narrowing (it follows the plugin again).
 * Applied and kept as plugin_host_restrict's narrowing is; `install
 * --replace` drops it for protocols the new version no longer has.
 * Errors: FASTN_ERR_NOT_FOUND (no such plugin), FASTN_ERR_INVAL (serves
 * out of range, protocol not one of its manifest's: err names them, a
 * plugin that did not load), FASTN_ERR_PLUGIN_CAPABILITY (wider than the
 * manifest), FASTN_ERR_IO. */
int plugin_host_restrict_protocol(struct plugin_host *h, const char *name,
                                  const char *protocol, int serves, char *err,
                                  size_t errlen);

enum plugin_state {
    PLUGIN_STATE_DISABLED,
    PLUGIN_STATE_RUNNING, /* an instance exists (it may be starting) */
    PLUGIN_STATE_BACKOFF, /* failed; starts again at restart_in_ms */
    PLUGIN_STATE_FAILED,  /* cannot run (bad file, does not fit) */
};
const char *plugin_state_name(enum plugin_state s);

/* What a plugin's instance holds, by part, and its budget (bytes). */
struct plugin_memory {
    uint64_t linear; /* its linear memory */
    uint64_t engine; /* tables, globals, the engine's stacks and arrays */
    uint64_t host;   /* the host's buffers for it */
    uint64_t sqlite; /* its database connection's heap */
    uint64_t budget;
};

struct plugin_info {
    struct plugin_manifest manifest; /* name only, when it did not load */
    enum plugin_serves serves;       /* now: manifest.serves, or narrower */
    unsigned withheld;               /* caps of manifest.caps withheld */
    /* per protocol of manifest.protocols: the user's own narrowing of it
     * (-1: none, it follows serves), and whom it serves now */
    int protocol_narrowed[PLUGIN_PROTOCOLS_MAX];
    enum plugin_serves protocol_serves[PLUGIN_PROTOCOLS_MAX];
    enum plugin_state state;
    bool enabled;
    unsigned restarts; /* instances that ended with an error */
    int last_error;    /* fastn_err, 0 if none */
    /* e.g. "trap: out of fuel in on_call at loop+0x1f2 <- on_call+0x2a0" */
    char last_error_text[PLUGIN_ERROR_TEXT_MAX];
    uint64_t last_error_ms; /* Unix time */
    uint64_t restart_in_ms; /* BACKOFF: time until the next start */
    size_t file_bytes;
    uint32_t memory_pages; /* of the running instance */
    uint64_t db_bytes;
    unsigned open_streams, pending_calls, armed_timers, queued_events;
    uint64_t events;             /* events delivered since the daemon started */
    uint64_t fuel_used;          /* by those events */
    struct plugin_memory memory; /* of the running instance */
    /* CPU: loop time and fuel over the last window, its budget per
     * window, whether it waits for it now, how often it had to */
    uint64_t cpu_ns, cpu_fuel, cpu_budget_ns;
    unsigned cpu_window_ms;
    bool deferred;
    uint64_t deferrals;
    uint64_t longest_slice_ns; /* wall time, since the daemon started */
    uint64_t slice_pardons;    /* slices past slice_ms let go (above) */
    uint64_t db_wal_bytes;     /* its database's write-ahead log */
    /* of the running instance's database: its files on disk (what the
     * quota counts), the most SQLite held for it since it opened, and
     * what it may hold now (memory.sqlite is what it holds) */
    uint64_t db_disk_bytes, db_heap_peak, db_heap_limit;
    /* per manifest.listen: the port asked for now (the config's or the
     * manifest's) and the one listened on (0: none); per
     * manifest.connect: where it connects (the config's or its own) */
    uint16_t listen_port[PLUGIN_LOCAL_MAX], listen_bound[PLUGIN_LOCAL_MAX];
    struct plugin_addr connect_to[PLUGIN_LOCAL_MAX];
};
/* One plugin's state. Errors: FASTN_ERR_NOT_FOUND. */
int plugin_host_info(struct plugin_host *h, const char *name,
                     struct plugin_info *out);
/* Every installed plugin, sorted by name; *out (malloc'd, free()) and *n.
 * Errors: FASTN_ERR_NOMEM. */
int plugin_host_list(struct plugin_host *h, struct plugin_info **out,
                     size_t *n);
/* The database connection of plugin name's running instance, between its
 * events (NULL: none open, or an event is under way). For the plugin test
 * library, which reads a plugin's database through it: the database is
 * opened in EXCLUSIVE locking mode, so no second connection may. */
struct store_pdb;
struct store_pdb *plugin_host_db(struct plugin_host *h, const char *name);
/* Plugins loaded and enabled. */
unsigned plugin_host_count(const struct plugin_host *h);

/* --- from the router ------------------------------------------------- */

/* The enabled plugin serving protocol (running, starting or in backoff),
 * with whom it serves that protocol now: anyone, only known peers, or
 * nobody (the user's narrowing of the plugin or of that protocol: the
 * router refuses every stream). Errors:
 * FASTN_ERR_NOT_FOUND. */
int plugin_host_serves(struct plugin_host *h, const char *protocol,
                       const char **name_out, enum plugin_serves *serves);
/* The enabled plugin serving protocol and the user's narrowing of it,
 * for the router's policy (router/policy.h), which decides from these
 * whom it serves. Errors: FASTN_ERR_NOT_FOUND. */
struct plugin_serving {
    const char *name;            /* borrowed, as plugin_host_protocols' */
    enum plugin_serves manifest; /* what its manifest asks */
    int narrowed;          /* plugin_host_restrict's serves, or -1: none */
    int protocol_narrowed; /* plugin_host_restrict_protocol's, or -1 */
};
int plugin_host_serving(struct plugin_host *h, const char *protocol,
                        struct plugin_serving *out);
/* Fills protos (at most max) with every protocol enabled plugins serve;
 * returns how many there are (may be more than max). Borrowed strings,
 * valid until the next install/remove/enable/disable. */
size_t plugin_host_protocols(struct plugin_host *h, const char **protos,
                             size_t max);

/* A peer opened stream for protocol: queues on_stream. The router has
 * applied its policy (who may open it) already. Errors (the router then
 * resets the stream; no callback will come for it): FASTN_ERR_NOT_FOUND
 * (no plugin serves it), FASTN_ERR_PERM (it serves nobody there),
 * _PLUGIN_CRASHED (it is not running now), _PLUGIN_LIMIT (its streams limit),
 * _INVAL, _NOMEM. */
int plugin_host_stream_incoming(struct plugin_host *h, uint64_t stream,
                                const char *peer, const char *protocol);
/* A stream kept while no plugin took it, handed to the plugin serving
 * protocol as if peer opened it now: on_stream, then the kept bytes
 * (plugin_host_stream_data, in their order) and the close
 * (plugin_host_stream_closed, 0) the caller queues next; flags
 * PLUGIN_STREAM_REPLAYED (always) and PLUGIN_STREAM_REPEAT (handed over
 * before) are what the plugin's stream_flags reads. The plugin cannot
 * write to it (FASTN_ERR_PLUGIN_REPLAYED); ops->replay_done says when its
 * on_close returned. Errors: as plugin_host_stream_incoming, and
 * FASTN_ERR_UNSUPPORTED (no ops->replay_done). */
int plugin_host_stream_replay(struct plugin_host *h, uint64_t stream,
                              const char *peer, const char *protocol,
                              unsigned flags);
/* Bytes arrived on a stream (any size; delivered in chunks of at most
 * PLUGIN_DATA_CHUNK_MAX). Errors: FASTN_ERR_NOT_FOUND (not a plugin's
 * stream, or no longer: reset it), _NOMEM. */
int plugin_host_stream_data(struct plugin_host *h, uint64_t stream,
                            const uint8_t *p, size_t n);
/* The peer closed its side (reason 0), or the stream is gone (< 0:
 * FASTN_ERR_NET_STREAM_RESET, _NET_RESET, _NET_DEAD...). After a reason
 * < 0 the router forgets the stream. Errors: FASTN_ERR_NOT_FOUND. */
int plugin_host_stream_closed(struct plugin_host *h, uint64_t stream,
                              int reason);
/* The answer to ops->stream_open(token): result 0 and the new stream's
 * id, or an error. Errors: FASTN_ERR_NOT_FOUND (the plugin or its handle
 * is gone: the router resets the stream). */
int plugin_host_stream_opened(struct plugin_host *h, uint64_t token,
                              uint64_t stream, int result);
/* A stream's send queue has room again. */
int plugin_host_stream_writable(struct plugin_host *h, uint64_t stream);

/* --- local apps (local-listen, local-connect) ------------------------ */

/* What the config says of one plugin's loopback ports and addresses:
 * listen: its local_listen entry `name` is served at `port` instead of
 * the manifest's; else its local_connect address `addr` connects to `to`
 * instead (a loopback address too). */
struct plugin_local_conf {
    char plugin[PLUGIN_NAME_MAX + 1];
    /* plugin-storage-mib: the plugin's database quota in bytes instead of
     * its manifest's (then neither listen nor an address); 0 otherwise */
    uint64_t storage;
    bool listen;
    char name[PLUGIN_LISTEN_NAME_MAX + 1];
    uint16_t port;
    struct plugin_addr addr, to;
};
/* Replaces the config's entries (n at most PLUGIN_LOCAL_CONF_MAX): for
 * listeners from the next plugin_host_listens, for connections at once.
 * Errors: FASTN_ERR_INVAL. */
#define PLUGIN_LOCAL_CONF_MAX 64
int plugin_host_set_local(struct plugin_host *h,
                          const struct plugin_local_conf *v, size_t n);

/* A port a plugin asks to serve: its name, its index in the plugin's
 * manifest, and the port (the config's, or the manifest's). */
struct plugin_listen_want {
    const char *plugin; /* borrowed, as plugin_host_protocols' */
    unsigned index;
    uint16_t port;
};
/* Fills out (at most max) with the ports enabled plugins with the
 * local-listen capability (asked for and not withheld) serve; returns how
 * many there are (may be more than max). The daemon listens on
 * 127.0.0.1 and ::1 at each; ops->protocols_changed says when to ask
 * again. */
size_t plugin_host_listens(struct plugin_host *h,
                           struct plugin_listen_want *out, size_t max);
/* The port the daemon listens on for a plugin's entry now (0: none), for
 * plugin_host_info. */
void plugin_host_listen_bound(struct plugin_host *h, const char *plugin,
                              unsigned index, uint16_t port);
/* A local program connected to a plugin's port (entry index): queues
 * on_stream(stream, client, name) with stream_flags
 * PLUGIN_STREAM_LOCAL; client is its address ("127.0.0.1:PORT").
 * Counted with the plugin's streams. Errors as
 * plugin_host_stream_incoming, and FASTN_ERR_PLUGIN_CAPABILITY (no such
 * entry, or local-listen withheld). */
int plugin_host_local_incoming(struct plugin_host *h, uint64_t stream,
                               const char *plugin, unsigned index,
                               const char *client);

/* --- from the control server ----------------------------------------- */

/* A client's call (fastn plugin call NAME METHOD ARG); the answer comes
 * later, exactly once, through ops->call_reply(call) (within
 * PLUGIN_CALL_TIMEOUT_MS). Errors (then no answer comes):
 * FASTN_ERR_NOT_FOUND (no such plugin), _PLUGIN_DISABLED,
 * _PLUGIN_CRASHED (not running now, and not restarting within the call's
 * time: a call during a shorter restart backoff waits for the new
 * instance), _BUSY (too many calls waiting),
 * _INVAL (method not 1..PLUGIN_CALL_METHOD_MAX bytes), _TOO_LARGE. */
int plugin_host_call(struct plugin_host *h, const char *name,
                     const char *method, size_t method_len, const uint8_t *arg,
                     size_t n, uint64_t call);

/* The caller of call `call` to plugin name is gone (its client left):
 * the call is forgotten, so it no longer counts towards the calls
 * waiting for the plugin (PLUGIN_PENDING_CALLS_MAX); not yet delivered,
 * it never is; being handled, the plugin's answer gets
 * FASTN_ERR_PLUGIN_BAD_HANDLE. No answer comes. FASTN_ERR_NOT_FOUND:
 * no such plugin or call (answered already). */
int plugin_host_call_cancel(struct plugin_host *h, const char *name,
                            uint64_t call);

/* --- from the event loop --------------------------------------------- */

/* Fires due timers, times out calls, restarts instances whose backoff is
 * over, then delivers queued events: at most max_rounds rounds of one
 * slice per instance with work. Times are passed in (Unix ms and a
 * monotonic ms clock). Returns the number of slices run. */
int plugin_host_run(struct plugin_host *h, uint64_t now_ms,
                    uint64_t monotonic_ms, unsigned max_rounds);
/* When plugin_host_run() should run next (monotonic ms): <= now while
 * work is queued; UINT64_MAX when nothing is due. */
uint64_t plugin_host_next_wake(const struct plugin_host *h);

#endif
