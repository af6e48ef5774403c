/*
 * fastn plugin test library: run a plugin (.wasm) in the real plugin host
 * of fastnd, without a daemon or a network, and drive it from C tests.
 *
 * A test world (struct fastn_test) holds nodes, each a plugin host with
 * its own home folder (plugins, databases, notifications) and PeerID, and
 * an in-memory network between them that plays the daemon's router:
 * streams one node's plugin opens to another node's PeerID reach that
 * node's plugin; the test itself can open streams to a node's plugin as a
 * simulated remote peer (any name: its PeerID is made from the name) and
 * read what the plugin answers. Time is the test's: nothing runs, and no
 * timer fires, until fastn_test_run() or fastn_test_advance(). Every
 * delivery is deferred to those, as the daemon's event loop would.
 *
 * Build a test with pkg-config:
 *     cc test.c $(pkg-config --cflags --libs fastn-plugin-test)
 *
 * Errors are the daemon's codes (<fastn/err.h>, fastn_strerror()); the
 * plugin's own limits, capabilities and failures behave as in fastnd
 * (docs/PLUGINS.md, docs/PLUGIN-ABI.md).
 *
 * Threading: a world and everything in it belong to one thread.
 */
#ifndef FASTN_PLUGIN_TEST_H
#define FASTN_PLUGIN_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fastn/err.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fastn_test;
struct fastn_test_node;
struct fastn_test_stream;

/* Room for a PeerID in text, with its NUL. */
#define FASTN_TEST_PEER_ID_MAX 128

/* A world with no nodes; its clocks start at a fixed time (Unix ms
 * 1700000000000). NULL when out of memory. */
struct fastn_test *fastn_test_new(void);
/* Stops every node (each plugin's on_stop runs), deletes the homes the
 * world made (not the ones given to fastn_test_node_new), frees all.
 * NULL does nothing. */
void fastn_test_free(struct fastn_test *t);

/* What the host did, for --trace-like output: kind is "event" (a handler
 * starts: what is its name), "return" (it ended: result is its return or
 * the error that ended the instance), "import" (a host call: what is its
 * name, result its return) or "log" (what is the line). fuel is what the
 * current event used so far. */
typedef void (*fastn_test_trace_fn)(void *arg, const char *node,
                                    const char *plugin, const char *kind,
                                    const char *what, int64_t result,
                                    uint64_t fuel);
void fastn_test_set_trace(struct fastn_test *t, fastn_test_trace_fn fn,
                          void *arg);

/* Runs the hosts and delivers what the network holds until nothing moves
 * (bounded). Returns the number of turns it took. */
int fastn_test_run(struct fastn_test *t);
/* One turn only: each host runs once, each stream delivers once. Returns
 * whether anything moved. A node's hash_start of 64 KiB or more is done
 * at its next turn (before its host runs), on the test's thread, in the
 * order started: on_hash comes after the event that started it, as in
 * the daemon, the same way on every run. */
bool fastn_test_step(struct fastn_test *t);
/* The halves of a step: one node's host runs once (its plugins' queued
 * events, due timers); the network delivers once what it holds (opens,
 * data, closes). Each returns whether anything moved. */
bool fastn_test_node_run(struct fastn_test_node *n);
bool fastn_test_deliver(struct fastn_test *t);
/* Moves the clock forward by ms and runs what comes due (timers, call
 * timeouts, restarts after a backoff). */
void fastn_test_advance(struct fastn_test *t, uint64_t ms);
/* The world's clock: Unix ms. */
uint64_t fastn_test_now(const struct fastn_test *t);
/* Everything in flight on every stream is lost (a network that drops
 * bytes already written, to test what a plugin does without an answer). */
void fastn_test_drop_in_flight(struct fastn_test *t);

/* The PeerID a simulated peer or node called name has (made from the
 * name: the same name gives the same PeerID). */
void fastn_test_peer_id(const char *name, char out[FASTN_TEST_PEER_ID_MAX]);

/* --- nodes ------------------------------------------------------------- */

/* A new node called name (its PeerID: fastn_test_peer_id(name)), with a
 * plugin host in home (NULL: a new temporary folder the world deletes),
 * that loads the plugins already installed there. *out is set only on
 * success. Errors: FASTN_ERR_EXISTS (a node of that name), _INVAL, _IO,
 * _NOMEM. */
int fastn_test_node_new(struct fastn_test *t, const char *name,
                        const char *home, struct fastn_test_node **out);
/* The node called name, or NULL. */
struct fastn_test_node *fastn_test_node_get(struct fastn_test *t,
                                            const char *name);
const char *fastn_test_node_peer_id(const struct fastn_test_node *n);
const char *fastn_test_node_home(const struct fastn_test_node *n);

/* Installs a plugin file (or its bytes) with the checks of `fastn plugin
 * install --unsigned` (manifest, interface, module) and starts it; its
 * on_start runs at the next run. name_out (may be NULL, 65 bytes) gets its
 * name, err (errlen bytes) why not. With replace, replaces one of the same
 * name, keeping its database. Errors: as plugin install (FASTN_ERR_
 * PLUGIN_MANIFEST, _PLUGIN_ABI, _WASM_*, _EXISTS, _TOO_LARGE), and
 * FASTN_ERR_NOT_FOUND / _IO for the file. */
int fastn_test_install_file(struct fastn_test_node *n, const char *path,
                            bool replace, char *name_out, char *err,
                            size_t errlen);
int fastn_test_install(struct fastn_test_node *n, const uint8_t *wasm,
                       size_t len, bool replace, char *name_out, char *err,
                       size_t errlen);

/* Stops the node as a daemon shutdown would (on_stop runs; its streams
 * are reset on the other side) and starts it again from its home: its
 * plugins start fresh (on_start), their databases and notifications
 * stay. */
int fastn_test_node_restart(struct fastn_test_node *n);
/* Stops it (offline: streams to it are unreachable) or starts it again. */
void fastn_test_node_stop(struct fastn_test_node *n);
int fastn_test_node_start(struct fastn_test_node *n);

/* --- calls (fastn plugin call NAME METHOD ARG) ------------------------ */

struct fastn_test_reply {
    uint64_t id;
    int status; /* 0, or the error the daemon would answer */
    char *data; /* the result or the error's text; a NUL follows */
    size_t len;
};

/* Calls plugin's on_call and runs until it answers (or the call times
 * out: the world's clock moves on while nothing else is due). Returns 0
 * and *out (owned by the node, valid until it is freed) with the answer's
 * status, or the error with which the host refused the call at once
 * (FASTN_ERR_NOT_FOUND: no such plugin, _PLUGIN_DISABLED, _PLUGIN_CRASHED:
 * not running now, _BUSY, _INVAL, _TOO_LARGE). */
int fastn_test_call(struct fastn_test_node *n, const char *plugin,
                    const char *method, const void *arg, size_t len,
                    const struct fastn_test_reply **out);
/* As fastn_test_call, with argc arguments encoded as `fastn plugin call
 * NAME METHOD [ARG]...` sends them: none is empty bytes, one is its bytes
 * as they are, several are joined with one NUL byte between each
 * (docs/PLUGIN-ABI.md, "Call arguments"). Errors: as fastn_test_call, and
 * FASTN_ERR_NOMEM. */
int fastn_test_call_args(struct fastn_test_node *n, const char *plugin,
                         const char *method, const char *const *argv,
                         size_t argc, const struct fastn_test_reply **out);
/* Sends a call without waiting; *id names it for fastn_test_reply_get. */
int fastn_test_call_start(struct fastn_test_node *n, const char *plugin,
                          const char *method, const void *arg, size_t len,
                          uint64_t *id);
/* The answer to call id, or NULL (not yet). */
const struct fastn_test_reply *fastn_test_reply_get(struct fastn_test_node *n,
                                                    uint64_t id);
/* How many answers the node has had. */
size_t fastn_test_reply_count(const struct fastn_test_node *n);

/* --- streams from a simulated peer ------------------------------------ */

/* The test, as peer `from` (a name or a PeerID; NULL: "peer"), opens a
 * stream for protocol to the node; the plugin's on_stream runs at the
 * next run. Never NULL (aborts when out of memory); the world frees it. */
struct fastn_test_stream *fastn_test_stream_open(struct fastn_test_node *n,
                                                 const char *from,
                                                 const char *protocol);
/* A local program connects to the plugin's local_listen entry index (as a
 * mail client to the mail plugin's SMTP port, entry 0): the plugin's
 * on_stream runs at the next run with FASTN_STREAM_LOCAL and the client
 * 127.0.0.1:40000. Used as a stream from fastn_test_stream_open; its
 * result is FASTN_ERR_PLUGIN_CAPABILITY when the plugin has no such
 * entry or local-listen is withheld. */
struct fastn_test_stream *fastn_test_local_open(struct fastn_test_node *n,
                                                const char *plugin,
                                                unsigned index);
/* 1 while the open waits for a run, 0 once the plugin took the stream,
 * or the error with which the daemon would have refused it
 * (FASTN_ERR_NET_PROTO_NA: no plugin serves it, _PLUGIN_LIMIT...). */
int fastn_test_stream_result(const struct fastn_test_stream *s);
/* Queues bytes for the plugin (delivered at the next run). Errors:
 * FASTN_ERR_AGAIN (the network holds FASTN_TEST_WINDOW bytes the plugin
 * has not taken yet: run first), _CLOSED (closed or reset). */
int fastn_test_stream_write(struct fastn_test_stream *s, const void *p,
                            size_t n);
#define FASTN_TEST_WINDOW (256 * 1024)
/* Takes up to max bytes the plugin wrote (then it may write more). */
size_t fastn_test_stream_read(struct fastn_test_stream *s, void *out,
                              size_t max);
/* Bytes the plugin wrote that the test has not read. */
size_t fastn_test_stream_readable(const struct fastn_test_stream *s);
/* Bytes the test wrote that the plugin has not taken yet. */
size_t fastn_test_stream_unsent(const struct fastn_test_stream *s);
/* The test's side is done (the plugin gets on_close with EOF). */
void fastn_test_stream_close(struct fastn_test_stream *s);
/* The test aborts the stream (on_close with FASTN_ERR_NET_STREAM_RESET). */
void fastn_test_stream_reset(struct fastn_test_stream *s);
/* The plugin closed its side (EOF after what it wrote). */
bool fastn_test_stream_eof(const struct fastn_test_stream *s);
/* The plugin reset the stream, or it ended (the instance failed). */
bool fastn_test_stream_was_reset(const struct fastn_test_stream *s);
/* The plugin's host stopped reading it (backpressure: on_data returned
 * FASTN_ERR_AGAIN). */
bool fastn_test_stream_paused(const struct fastn_test_stream *s);

/* --- what a plugin left --------------------------------------------- */

struct fastn_test_info {
    char state[16];            /* running, backoff, disabled, failed */
    unsigned restarts;         /* instances that ended with an error */
    int last_error;            /* 0 if none */
    char last_error_text[480]; /* a trap with its backtrace */
    unsigned open_streams, pending_calls, armed_timers;
    uint64_t events, fuel_used;
    uint64_t db_bytes;
};
/* Errors: FASTN_ERR_NOT_FOUND. */
int fastn_test_info(struct fastn_test_node *n, const char *plugin,
                    struct fastn_test_info *out);

/* Unread notifications from plugin (NULL: from anyone). */
int fastn_test_notify_count(struct fastn_test_node *n, const char *plugin);
/* The i-th notification from plugin, oldest first: title and body
 * (malloc'd; free()). Errors: FASTN_ERR_NOT_FOUND (no i-th one). */
int fastn_test_notify_get(struct fastn_test_node *n, const char *plugin,
                          size_t i, char **title, char **body);

/* Runs sql on plugin's database (a second connection, as the plugin's
 * is kept) and gives the rows as text (*out, malloc'd, free()): one line
 * per row, columns separated by '|', NULL as an empty field, as the
 * sqlite3 shell prints. Errors: FASTN_ERR_NOT_FOUND (no database yet),
 * FASTN_ERR_STORE (bad SQL), _NOMEM. */
int fastn_test_sql(struct fastn_test_node *n, const char *plugin,
                   const char *sql, char **out);

#ifdef __cplusplus
}
#endif
#endif
