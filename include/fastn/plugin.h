/*
 * fastn plugin SDK: write a fastn protocol plugin in plain C.
 *
 * A plugin is one WebAssembly file that fastnd runs in a sandbox. It
 * reacts to events (a peer opened a stream, data arrived, a local program
 * called it, a timer fired) by defining the handlers declared below, and
 * acts through the fastn_* functions, which fastnd provides. Its manifest
 * (name, protocols, capabilities, limits) is declared once with
 * FASTN_MANIFEST and travels inside the .wasm. docs/PLUGIN-ABI.md is the
 * full contract; this header is ABI 1.
 *
 * Build (Debian: clang, lld, wasi-libc):
 *
 *   clang --target=wasm32-wasi -O2 -mexec-model=reactor \
 *         -I$PREFIX/include -Wl,--strip-debug -o echo.wasm echo.c
 *
 * A minimal plugin:
 *
 *   #include <fastn/plugin.h>
 *
 *   FASTN_MANIFEST({
 *       "name": "echo", "version": "1.0.0", "abi": 1,
 *       "protocols": ["/fastn/echo/1.0.0"], "serves": "anyone"
 *   })
 *
 *   int32_t on_stream(int32_t s, const char *peer, size_t peer_len,
 *                     const char *proto, size_t proto_len) { return 0; }
 *   int32_t on_data(int32_t s, const uint8_t *p, size_t n)
 *   { return fastn_stream_write(s, p, n) < 0 ? -1 : 0; }
 *   int32_t on_close(int32_t s, int32_t reason)
 *   { return fastn_stream_close(s); }
 *
 * Conventions: strings are UTF-8 with an explicit length (no NUL needed);
 * every fastn_* call returns a value >= 0 on success or a negative
 * fastn_err code (include/fastn/err.h); pointers you pass are read or
 * written only during the call; buffers the host passes to a handler are
 * valid only until the handler returns (copy what you keep). A pointer
 * outside your memory stops the plugin (FASTN_ERR_PLUGIN_BAD_POINTER).
 * Handlers return 0, or a negative fastn_err code to report a failure.
 * Events are delivered one at a time; no fastn_* call re-enters your code.
 */
#ifndef FASTN_PLUGIN_H
#define FASTN_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FASTN_PLUGIN_ABI 1

/* Room for a PeerID in text form and its NUL. */
#define FASTN_PEER_ID_BUF 129

#ifdef __wasm__
#define FASTN_IMPORT_(name)                                                    \
    __attribute__((import_module("fastn"), import_name(#name)))
#define FASTN_EXPORT_(name) __attribute__((export_name(#name)))
#else /* a native build, e.g. a test harness that provides the host */
#define FASTN_IMPORT_(name)
#define FASTN_EXPORT_(name)
#endif

/* ---------------------------------------------------------------------- */
/* The manifest                                                           */
/* ---------------------------------------------------------------------- */

/*
 * FASTN_MANIFEST({ ...JSON... }) declares the plugin's manifest, written as
 * JSON right in the C source, and puts it in the custom section
 * "fastn.manifest" of the .wasm. Use it exactly once, at file scope.
 * Fields (docs/PLUGIN-ABI.md, "The manifest"):
 *   "name"          required, [a-z][a-z0-9_-]*, at most 32 bytes
 *   "version"       required, e.g. "1.2.0"
 *   "abi"           required, 1
 *   "description"   one line, at most 256 bytes
 *   "protocols"     the protocol ids it serves (and may open), e.g.
 *                   ["/fastn/chat/1.0.0"]
 *   "capabilities"  any of "streams", "storage", "notify", "timers",
 *                   "local-listen", "local-connect"
 *   "storage_quota" bytes for its database (needs "storage")
 *   "storage_page_size" its database's page size when made: 512 to 65536,
 *                   a power of two (needs "storage"; default 4096)
 *   "limits"        {"fuel_per_event", "memory_pages", "streams",
 *                    "timers", "statements"}
 *   "serves"        "anyone" or "known-peers" (the default)
 *   "apps"          names of the apps that use it
 *   "local_listen"  with "local-listen": the loopback ports it serves,
 *                   [{"name": "smtp", "port": 2525}] (name [a-z][a-z0-9_-]*,
 *                   at most 16 bytes; at most 8 ports)
 *   "local_connect" with "local-connect": the loopback addresses it may
 *                   connect to, ["127.0.0.1:22", "[::1]:631"] (at most 8)
 *
 * It also defines the fastn_alloc/fastn_free exports the host uses to
 * hand you data (with malloc and free); define FASTN_NO_ALLOC_EXPORTS
 * before including this header to write your own.
 */
#define FASTN_Q_(x) #x
#ifdef __wasm__
#define FASTN_MANIFEST_SECTION_(json)                                          \
    __asm__(".section .custom_section.fastn.manifest,\"\",@\n"                 \
            ".ascii " FASTN_Q_(json) "\n"                                      \
                                     ".text\n");
#else
#define FASTN_MANIFEST_SECTION_(json) const char fastn_plugin_manifest[] = json;
#endif

#ifndef FASTN_NO_ALLOC_EXPORTS
#define FASTN_ALLOC_EXPORTS_                                                   \
    FASTN_EXPORT_(fastn_alloc) void *fastn_alloc(size_t n)                     \
    {                                                                          \
        return malloc(n ? n : 1);                                              \
    }                                                                          \
    FASTN_EXPORT_(fastn_free) void fastn_free(void *p)                         \
    {                                                                          \
        free(p);                                                               \
    }
#else
#define FASTN_ALLOC_EXPORTS_
#endif

/* The JSON is turned into a string before macro expansion, so words such
 * as true and false stay JSON even where <stdbool.h> defines them. */
#define FASTN_MANIFEST(...)                                                    \
    FASTN_MANIFEST_SECTION_(#__VA_ARGS__)                                      \
    FASTN_ALLOC_EXPORTS_

/* The host places data for a handler with these (exports). */
FASTN_EXPORT_(fastn_alloc) void *fastn_alloc(size_t n);
FASTN_EXPORT_(fastn_free) void fastn_free(void *p);
/* Optional: where the host writes the len bytes of stream's next on_data
 * (then called with that pointer). Return a place in your memory to save
 * a copy (a buffer you keep what you read in): it stays yours, no
 * fastn_free follows. Return NULL for a fastn_alloc block, as without
 * this export. The bytes are taken only when on_data returns 0: after
 * FASTN_ERR_AGAIN they are delivered again, after asking again, so treat
 * what was written there as not received. */
FASTN_EXPORT_(fastn_data_at) void *fastn_data_at(int32_t stream, size_t len);

/* ---------------------------------------------------------------------- */
/* Events: define the handlers your plugin needs                          */
/* ---------------------------------------------------------------------- */

/* Why a stream ended (on_close): FASTN_CLOSE_EOF, or a negative fastn_err
 * such as FASTN_ERR_NET_STREAM_RESET. */
#define FASTN_CLOSE_EOF 0

/* Once, after loading (and after each restart). Return < 0 to fail. */
FASTN_EXPORT_(on_start) int32_t on_start(void);
/* Before a clean stop (disable, removal, daemon shutdown); little fuel. */
FASTN_EXPORT_(on_stop) int32_t on_stop(void);
/* A peer opened a stream for one of your protocols. peer is its PeerID
 * text. Return < 0 to refuse (the stream is reset). Needed when the
 * manifest lists protocols. */
FASTN_EXPORT_(on_stream)
int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len);
/* Bytes arrived on a stream (at most 64 KiB per call). Return 0 when you
 * took them. Return FASTN_ERR_AGAIN to take none of them now: the host
 * keeps these bytes (and the stream's later data and its close, in
 * order), stops reading the stream (the peer is made to wait), and calls
 * on_data again with the same bytes once the stream can take more writes
 * (right after on_writable), or, when its send queue was not full, after
 * your next other event. Any other value < 0 resets the stream. */
FASTN_EXPORT_(on_data)
int32_t on_data(int32_t stream, const uint8_t *data, size_t len);
/* reason FASTN_CLOSE_EOF: the peer finished writing; the stream stays
 * open for your writes until you fastn_stream_close it. reason < 0: the
 * stream is gone (reset, connection lost); its handle is dead. */
FASTN_EXPORT_(on_close) int32_t on_close(int32_t stream, int32_t reason);
/* The result of fastn_stream_open: 0, the stream is open; < 0, it failed
 * and the handle is dead. Needed with the "streams" capability. */
FASTN_EXPORT_(on_open) int32_t on_open(int32_t stream, int32_t result);
/* A stream whose writes came back short can take more. */
FASTN_EXPORT_(on_writable) int32_t on_writable(int32_t stream);
/* A local program called the plugin (`fastn plugin call NAME METHOD
 * [ARG]...`; several arguments come NUL-separated: fastn_args_split).
 * Answer with fastn_call_reply, now or from a later event. Returning < 0
 * without replying answers the call with that error. */
FASTN_EXPORT_(on_call)
int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len);
/* A timer set with fastn_timer_set fired. */
FASTN_EXPORT_(on_timer) int32_t on_timer(int32_t id);
/* A hash started with fastn_hash_start is done: result 0 and the digest
 * is in its out, or < 0. */
FASTN_EXPORT_(on_hash) int32_t on_hash(int32_t tag, int32_t result);

/* ---------------------------------------------------------------------- */
/* Host functions                                                          */
/* ---------------------------------------------------------------------- */

/* --- streams --- */

/* Opens a stream to peer (PeerID text) for protocol, which must be one of
 * the manifest's. Returns the stream handle at once; on_open reports the
 * result, also a failure known at once (no address, a blocked peer).
 * Writes made before then are queued. Needs "streams".
 * Errors: FASTN_ERR_PLUGIN_CAPABILITY (no "streams", or a protocol not
 * in the manifest), _BAD_PEER_ID, _PLUGIN_LIMIT (streams open), _AGAIN
 * (opening too fast: try again from a timer). */
FASTN_IMPORT_(stream_open)
int32_t fastn_stream_open(const char *peer, size_t peer_len,
                          const char *protocol, size_t protocol_len);
/* Queues bytes; returns how many were taken (possibly fewer than len, and
 * then on_writable follows), or FASTN_ERR_AGAIN when the stream's buffer
 * is full. Errors: _PLUGIN_BAD_HANDLE, _CLOSED (you closed it). */
FASTN_IMPORT_(stream_write)
int32_t fastn_stream_write(int32_t stream, const void *data, size_t len);
/* Finishes your side (the peer sees end of stream once queued bytes are
 * sent). The handle is freed when both sides are done. */
FASTN_IMPORT_(stream_close) int32_t fastn_stream_close(int32_t stream);
/* Aborts the stream both ways; the handle is freed at once. */
FASTN_IMPORT_(stream_reset) int32_t fastn_stream_reset(int32_t stream);
/* Copies the remote PeerID into buf (at most cap bytes, no NUL); returns
 * its full length. */
FASTN_IMPORT_(stream_peer)
int32_t fastn_stream_peer(int32_t stream, char *buf, size_t cap);
/* What the stream is: FASTN_STREAM_REPLAYED, the daemon kept its data
 * while no plugin took it (it arrived before you were installed, or from
 * a peer the user allowed later) and hands it over now: on_stream,
 * on_data in the original order, on_close(stream, FASTN_CLOSE_EOF); its
 * sender is not on the other end, so writing fails with
 * FASTN_ERR_PLUGIN_REPLAYED (answer through a stream you open). With
 * FASTN_STREAM_REPEAT too, it was handed over before and the daemon
 * stopped before your on_close returned: handle it once (make what you
 * store of it idempotent). 0 for a live stream; or _PLUGIN_BAD_HANDLE. */
FASTN_IMPORT_(stream_flags) int32_t fastn_stream_flags(int32_t stream);
#define FASTN_STREAM_REPLAYED 0x1
#define FASTN_STREAM_REPEAT 0x2
/* A loopback TCP connection, not a peer's stream: one a local program
 * made to a "local_listen" port (on_stream's peer is the program's
 * address, "127.0.0.1:PORT" or "[::1]:PORT", and its protocol the port's
 * name, e.g. "smtp"), or one fastn_local_connect opened (fastn_stream_peer
 * gives the address). Everything else is as for a peer's stream. */
#define FASTN_STREAM_LOCAL 0x4

/* --- local apps (capabilities "local-listen", "local-connect") --- */

/* Opens a TCP connection to addr, "127.0.0.1:22" or "[::1]:22", which
 * must be one of the manifest's "local_connect" (the user may move it
 * elsewhere on loopback in the daemon's config, unseen here). Returns
 * the stream handle at once; on_open reports the result (a refused
 * connection: FASTN_ERR_NET_UNREACHABLE); then it is a stream like any
 * other, flagged FASTN_STREAM_LOCAL. Needs "local-connect".
 * Errors: _PLUGIN_CAPABILITY (an address the manifest does not name:
 * the log says so), _INVAL (not ADDRESS:PORT), _PLUGIN_LIMIT (streams
 * open), _AGAIN (opening too fast). */
FASTN_IMPORT_(local_connect)
int32_t fastn_local_connect(const char *addr, size_t addr_len);

/* --- calls from local programs --- */

/* Answers a call once: status 0 with the result bytes, or a negative
 * fastn_err with a message. Errors: _PLUGIN_BAD_HANDLE (no such call, or
 * already answered or timed out), _TOO_LARGE (over 2 MiB). */
FASTN_IMPORT_(call_reply)
int32_t fastn_call_reply(int32_t call, int32_t status, const void *data,
                         size_t len);

/* One piece of an answer: len bytes at p (8 bytes in wasm32). */
struct fastn_iov {
    const void *p;
    size_t len;
};
/* fastn_call_reply of the n pieces iov lists, one after another (at
 * most 16, 2 MiB in all): the host takes them from where they are, so an
 * answer made of bytes the plugin already holds (a block it received)
 * is not first copied into one buffer. Errors: as fastn_call_reply, and
 * _INVAL (more than 16 pieces). */
FASTN_IMPORT_(call_reply_v)
int32_t fastn_call_reply_v(int32_t call, int32_t status,
                           const struct fastn_iov *iov, size_t n);

/* --- SQL on the plugin's own database (capability "storage") --- */

#define FASTN_SQL_ROW 1  /* fastn_sql_step: a row is ready */
#define FASTN_SQL_DONE 0 /* fastn_sql_step: no more rows */
#define FASTN_SQL_INTEGER 1
#define FASTN_SQL_FLOAT 2
#define FASTN_SQL_TEXT 3
#define FASTN_SQL_BLOB 4
#define FASTN_SQL_NULL 5

/* Runs one or more statements, discarding rows (schema, BEGIN/COMMIT). */
FASTN_IMPORT_(sql_exec) int32_t fastn_sql_exec(const char *sql, size_t len);
/* Prepares one statement; returns its handle (> 0). */
FASTN_IMPORT_(sql_prepare)
int32_t fastn_sql_prepare(const char *sql, size_t len);
/* Parameters are numbered from 1; reset a statement before rebinding. */
FASTN_IMPORT_(sql_bind_null)
int32_t fastn_sql_bind_null(int32_t stmt, int32_t idx);
FASTN_IMPORT_(sql_bind_int64)
int32_t fastn_sql_bind_int64(int32_t stmt, int32_t idx, int64_t v);
FASTN_IMPORT_(sql_bind_double)
int32_t fastn_sql_bind_double(int32_t stmt, int32_t idx, double v);
FASTN_IMPORT_(sql_bind_text)
int32_t fastn_sql_bind_text(int32_t stmt, int32_t idx, const char *p,
                            size_t len);
FASTN_IMPORT_(sql_bind_blob)
int32_t fastn_sql_bind_blob(int32_t stmt, int32_t idx, const void *p,
                            size_t len);
/* FASTN_SQL_ROW, FASTN_SQL_DONE (stepping again starts over) or an error:
 * _STORE_QUOTA, _STORE_CONSTRAINT, _STORE_LIMIT, ... */
FASTN_IMPORT_(sql_step) int32_t fastn_sql_step(int32_t stmt);
FASTN_IMPORT_(sql_reset) int32_t fastn_sql_reset(int32_t stmt);
FASTN_IMPORT_(sql_finalize) int32_t fastn_sql_finalize(int32_t stmt);
FASTN_IMPORT_(sql_column_count) int32_t fastn_sql_column_count(int32_t stmt);
/* Columns are numbered from 0 and read after a step returned a row. */
FASTN_IMPORT_(sql_column_type)
int32_t fastn_sql_column_type(int32_t stmt, int32_t col);
/* 0 when there is no such column or row (check column_type first). */
FASTN_IMPORT_(sql_column_int64)
int64_t fastn_sql_column_int64(int32_t stmt, int32_t col);
FASTN_IMPORT_(sql_column_double)
double fastn_sql_column_double(int32_t stmt, int32_t col);
/* Copies a text or blob column (numbers as text) into buf, at most cap
 * bytes and no NUL; returns its full length (call again with a bigger
 * buffer when it is more than cap). */
FASTN_IMPORT_(sql_column_bytes)
int32_t fastn_sql_column_bytes(int32_t stmt, int32_t col, void *buf,
                               size_t cap);
FASTN_IMPORT_(sql_changes) int32_t fastn_sql_changes(void);
FASTN_IMPORT_(sql_last_insert_rowid) int64_t fastn_sql_last_insert_rowid(void);
/* The last SQL error's message, copied like sql_column_bytes. */
FASTN_IMPORT_(sql_errmsg) int32_t fastn_sql_errmsg(char *buf, size_t cap);

/* --- blobs beside the database (capability "storage") ---
 * Values of up to FASTN_BLOB_MAX bytes under keys of 1..FASTN_BLOB_KEY_MAX
 * bytes (any bytes), records appended to the plugin's pack files, written
 * once and read with one copy: for large values that SQL would write
 * twice (log, then database). They count in the database's storage quota
 * (each as a 4 KiB header plus its size rounded up to 4 KiB; at most
 * 1,048,576 blobs). A put replaces a blob whole: it is seen whole or not
 * at all. Not synced, as the database's commits are not: after a power
 * cut a blob put in the last seconds may be missing, or read as zeros
 * (docs/PLUGIN-ABI.md "Blobs"). Fuel: 2000
 * a call, 1 per 4 bytes written or read (and 1 per 16 of the key and the
 * data put). */
#define FASTN_BLOB_MAX (16u << 20)
#define FASTN_BLOB_KEY_MAX 64
/* Writes (or replaces) the blob. Returns 0, FASTN_ERR_TOO_LARGE (len >
 * FASTN_BLOB_MAX), _INVAL (key length), _STORE_QUOTA (the quota, or the
 * count of blobs, reached), _DISK_FULL, _IO. */
FASTN_IMPORT_(blob_put)
int32_t fastn_blob_put(const void *key, size_t key_len, const void *data,
                       size_t len);
/* Copies up to cap bytes of the blob from offset into buf; returns the
 * bytes copied (0 at or after its end), FASTN_ERR_NOT_FOUND, _INVAL. */
FASTN_IMPORT_(blob_read)
int32_t fastn_blob_read(const void *key, size_t key_len, uint64_t offset,
                        void *buf, size_t cap);
/* The blob's size in bytes, FASTN_ERR_NOT_FOUND or _INVAL. */
FASTN_IMPORT_(blob_size)
int64_t fastn_blob_size(const void *key, size_t key_len);
/* Deletes the blob: 0, FASTN_ERR_NOT_FOUND or _INVAL. */
FASTN_IMPORT_(blob_delete)
int32_t fastn_blob_delete(const void *key, size_t key_len);

/* --- the user --- */

/* Adds a notification (title at most 256 bytes, body 4096; UTF-8, no
 * control characters but newlines and tabs in the body). Needs "notify".
 * Transactional: it joins the open SQL transaction, if any (a ROLLBACK
 * drops it), and reaches the user after the commit, exactly once; the
 * rate limit delays it, never refuses it (docs/PLUGIN-ABI.md).
 * Errors: _PLUGIN_CAPABILITY, _INVAL, _TOO_LARGE, _AGAIN (1000 wait
 * already), _STORE_QUOTA, _STORE*. */
FASTN_IMPORT_(notify)
int32_t fastn_notify(const char *title, size_t title_len, const char *body,
                     size_t body_len);

/* --- timers (capability "timers") --- */

/* Sets (or moves) timer id (any value >= 0) to fire once, after delay_ms
 * (0 .. 30 days). Errors: _PLUGIN_LIMIT (too many timers), _INVAL. */
FASTN_IMPORT_(timer_set) int32_t fastn_timer_set(int32_t id, int64_t delay_ms);
FASTN_IMPORT_(timer_cancel) int32_t fastn_timer_cancel(int32_t id);

/* --- everything else --- */

/* Wall-clock time, Unix epoch, in milliseconds. */
FASTN_IMPORT_(now_ms) int64_t fastn_now_ms(void);
/* A clock that never goes back, in milliseconds from an arbitrary start. */
FASTN_IMPORT_(monotonic_ms) int64_t fastn_monotonic_ms(void);
/* Fills buf with len (at most 65536) cryptographically random bytes. */
FASTN_IMPORT_(random) int32_t fastn_random(void *buf, size_t len);
#define FASTN_LOG_ERROR 0
#define FASTN_LOG_WARN 1
#define FASTN_LOG_INFO 2
#define FASTN_LOG_DEBUG 3
#define FASTN_LOG_TRACE 4
/* One line into the daemon's log, prefixed with the plugin's name; lines
 * are cut at 1024 bytes and rate-limited. */
FASTN_IMPORT_(log)
int32_t fastn_log(int32_t level, const char *msg, size_t len);
/* This daemon's PeerID, copied like fastn_stream_peer. */
FASTN_IMPORT_(local_peer_id) int32_t fastn_local_peer_id(char *buf, size_t cap);

/* --- hashes (native speed; sha256 1 fuel a byte, blake2b 2) --- */

#define FASTN_SHA256_LEN 32
#define FASTN_HASH_MAX (4u << 20) /* bytes one call hashes */
/* SHA-256 of len bytes (at most FASTN_HASH_MAX) into out[32]. Returns 0,
 * or FASTN_ERR_TOO_LARGE. */
FASTN_IMPORT_(sha256)
int32_t fastn_sha256(const void *p, size_t len, uint8_t *out);
/* BLAKE2b of len bytes (at most FASTN_HASH_MAX) into out_len bytes of out
 * (16..64; 64 is BLAKE2b-512), keyed with key_len bytes (16..64) or, with
 * key_len 0, not keyed. Returns 0, FASTN_ERR_TOO_LARGE or
 * FASTN_ERR_INVAL (a length out of range). */
FASTN_IMPORT_(blake2b)
int32_t fastn_blake2b(const void *p, size_t len, const void *key,
                      size_t key_len, uint8_t *out, size_t out_len);
/* A hash the daemon does beside the plugin, off its loop: the plugin's
 * event returns at once and others run meanwhile; on_hash(tag, result)
 * comes once the digest (kind FASTN_HASH_SHA256: 32 bytes) is in out. The
 * len bytes at p and the digest's bytes at out must stay as they are
 * until then (the daemon's thread reads and writes them: changed bytes
 * give a wrong digest). Returns 0 (on_hash follows, exactly once), or
 * FASTN_ERR_UNSUPPORTED (the plugin has no on_hash), FASTN_ERR_BUSY
 * (FASTN_HASH_JOBS_MAX of its hashes not yet answered), FASTN_ERR_INVAL
 * (an unknown kind), FASTN_ERR_TOO_LARGE (over FASTN_HASH_MAX). Fuel as
 * fastn_sha256, when it starts. */
#define FASTN_HASH_SHA256 0
#define FASTN_HASH_JOBS_MAX 8
FASTN_IMPORT_(hash_start)
int32_t fastn_hash_start(int32_t kind, const void *p, size_t len, uint8_t *out,
                         int32_t tag);

/* ---------------------------------------------------------------------- */
/* Conveniences for NUL-terminated strings                                 */
/* ---------------------------------------------------------------------- */

static inline int32_t fastn_log_str(int32_t level, const char *s)
{
    return fastn_log(level, s, strlen(s));
}

/* printf-style logging; lines longer than 511 bytes are cut. */
static inline int32_t fastn_logf(int32_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int32_t fastn_logf(int32_t level, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return FASTN_ERR_INVAL;
    return fastn_log(level, line,
                     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static inline int32_t fastn_reply_str(int32_t call, int32_t status,
                                      const char *s)
{
    return fastn_call_reply(call, status, s, strlen(s));
}

static inline int32_t fastn_local_connect_str(const char *addr)
{
    return fastn_local_connect(addr, strlen(addr));
}

static inline int32_t fastn_write_str(int32_t stream, const char *s)
{
    return fastn_stream_write(stream, s, strlen(s));
}

static inline int32_t fastn_sql_exec_str(const char *sql)
{
    return fastn_sql_exec(sql, strlen(sql));
}

static inline int32_t fastn_sql_prepare_str(const char *sql)
{
    return fastn_sql_prepare(sql, strlen(sql));
}

static inline int32_t fastn_sql_bind_str(int32_t stmt, int32_t idx,
                                         const char *s)
{
    return fastn_sql_bind_text(stmt, idx, s, strlen(s));
}

/* Copies a text column into buf as a NUL-terminated string, cut to fit;
 * returns the column's full length or an error. */
static inline int32_t fastn_sql_column_str(int32_t stmt, int32_t col, char *buf,
                                           size_t cap)
{
    if (cap == 0)
        return FASTN_ERR_INVAL;
    int32_t n = fastn_sql_column_bytes(stmt, col, buf, cap - 1);
    buf[n < 0 ? 0 : (size_t)n < cap - 1 ? (size_t)n : cap - 1] = '\0';
    return n;
}

/* Stream peer and local PeerID as NUL-terminated strings. */
static inline int32_t fastn_stream_peer_str(int32_t stream, char *buf,
                                            size_t cap)
{
    if (cap == 0)
        return FASTN_ERR_INVAL;
    int32_t n = fastn_stream_peer(stream, buf, cap - 1);
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return n < 0 ? n : FASTN_ERR_TOO_LARGE;
    }
    buf[n] = '\0';
    return n;
}

static inline int32_t fastn_local_peer_id_str(char *buf, size_t cap)
{
    if (cap == 0)
        return FASTN_ERR_INVAL;
    int32_t n = fastn_local_peer_id(buf, cap - 1);
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return n < 0 ? n : FASTN_ERR_TOO_LARGE;
    }
    buf[n] = '\0';
    return n;
}

#ifndef FASTN_NO_SDK_HELPERS
/* ---------------------------------------------------------------------- */
/* SDK helpers (optional; define FASTN_NO_SDK_HELPERS to leave them out)   */
/* ---------------------------------------------------------------------- */

/* True when the len bytes at p are the NUL-terminated string s, e.g. a
 * method name: fastn_is(method, method_len, "echo"). */
static inline int fastn_is(const void *p, size_t len, const char *s)
{
    return strlen(s) == len && (len == 0 || memcmp(p, s, len) == 0);
}

/* --- call arguments -------------------------------------------------- */

/* One argument of a call: len bytes at p (no NUL), inside on_call's arg,
 * so valid until on_call returns. */
struct fastn_arg {
    const char *p;
    size_t len;
};

/*
 * Splits on_call's arg into the arguments `fastn plugin call NAME METHOD
 * [ARG]...` sent (docs/PLUGIN-ABI.md, "Call arguments"): none is empty;
 * one is its bytes as they are; several are joined with one NUL byte
 * between each. So the bytes are split at every NUL, and empty bytes are
 * no argument. Fills out[0..max) and returns the count, or
 * FASTN_ERR_TOO_LARGE when there are more than max (out then holds the
 * first max). A method that takes bytes (with NULs) reads arg itself.
 */
static inline int32_t fastn_args_split(const uint8_t *arg, size_t len,
                                       struct fastn_arg *out, size_t max)
{
    size_t n = 0, start = 0;
    if (len == 0)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && arg[i] != '\0')
            continue;
        if (n == max)
            return FASTN_ERR_TOO_LARGE;
        out[n].p = (const char *)arg + start;
        out[n].len = i - start;
        n++;
        start = i + 1;
    }
    return (int32_t)n;
}

/* Copies an argument into buf as a NUL-terminated string; returns its
 * length, or FASTN_ERR_TOO_LARGE (buf then holds "") when it does not
 * fit. */
static inline int32_t fastn_arg_str(struct fastn_arg a, char *buf, size_t cap)
{
    if (cap == 0)
        return FASTN_ERR_INVAL;
    if (a.len >= cap) {
        buf[0] = '\0';
        return FASTN_ERR_TOO_LARGE;
    }
    if (a.len)
        memcpy(buf, a.p, a.len);
    buf[a.len] = '\0';
    return (int32_t)a.len;
}

/* --- stream buffers -------------------------------------------------- */

/*
 * A stream buffer keeps what one stream needs between events: the request
 * bytes received so far (until EOF, or until a length-prefixed frame is
 * complete) and the reply bytes the stream could not take yet. A plugin
 * keeps a table of them, one per open stream:
 *
 *   static struct fastn_sbuf bufs[64];
 *
 *   on_stream:   fastn_sbuf_new(bufs, 64, stream) (NULL: refuse)
 *   on_data:     fastn_sbuf_take(fastn_sbuf_find(bufs, 64, stream), ...)
 *   on_close:    reason 0: answer s->in with fastn_sbuf_reply_close;
 *                reason < 0: fastn_sbuf_drop
 *   on_writable: fastn_sbuf_flush(fastn_sbuf_find(bufs, 64, stream))
 *
 * fastn_sbuf_reply_close writes what the stream takes, keeps the rest,
 * and flush writes it as room comes (on_writable), then closes the stream
 * and frees the slot. Memory is malloc'd as it grows and freed by drop.
 */
struct fastn_sbuf {
    int32_t stream; /* its handle; 0: a free slot */
    uint8_t *in;    /* bytes received and not yet consumed */
    size_t in_len, in_cap;
    uint8_t *out; /* bytes to send that the stream has not taken yet */
    size_t out_len, out_cap;
    int eof;     /* the peer finished writing (set by the plugin) */
    int closing; /* close the stream once out is sent */
    void *user;  /* the plugin's own state for this stream */
};

/* The slot of stream, or NULL (also for handle 0 or a NULL table). */
static inline struct fastn_sbuf *fastn_sbuf_find(struct fastn_sbuf *tab,
                                                 size_t n, int32_t stream)
{
    for (size_t i = 0; tab && stream > 0 && i < n; i++)
        if (tab[i].stream == stream)
            return &tab[i];
    return NULL;
}

/* Takes a free slot for stream; NULL when the table is full. */
static inline struct fastn_sbuf *fastn_sbuf_new(struct fastn_sbuf *tab,
                                                size_t n, int32_t stream)
{
    for (size_t i = 0; stream > 0 && i < n; i++)
        if (tab[i].stream == 0) {
            memset(&tab[i], 0, sizeof(tab[i]));
            tab[i].stream = stream;
            return &tab[i];
        }
    return NULL;
}

/* Frees what the slot holds and makes it free (does not touch the
 * stream: reset or close it first if it is still open). */
static inline void fastn_sbuf_drop(struct fastn_sbuf *s)
{
    if (!s)
        return;
    free(s->in);
    free(s->out);
    memset(s, 0, sizeof(*s));
}

/* Appends len bytes to *buf (of *used, room *cap), growing it to at most
 * max bytes in all. */
static inline int32_t fastn_sbuf_grow_(uint8_t **buf, size_t *used, size_t *cap,
                                       const void *p, size_t len, size_t max)
{
    if (len > max || *used > max - len)
        return FASTN_ERR_TOO_LARGE;
    if (*used + len > *cap) {
        size_t ncap = *cap ? *cap : 1024;
        while (ncap < *used + len)
            ncap = ncap > max / 2 ? max : ncap * 2;
        uint8_t *nb = (uint8_t *)realloc(*buf, ncap);
        if (!nb)
            return FASTN_ERR_NOMEM;
        *buf = nb;
        *cap = ncap;
    }
    if (len)
        memcpy(*buf + *used, p, len);
    *used += len;
    return 0;
}

/* Keeps len received bytes (on_data) after those already kept; at most
 * max bytes wait at once (FASTN_ERR_TOO_LARGE past it: a request too
 * big, the plugin resets the stream). Errors: _INVAL (no slot),
 * _TOO_LARGE, _NOMEM. */
static inline int32_t fastn_sbuf_take(struct fastn_sbuf *s, const void *data,
                                      size_t len, size_t max)
{
    if (!s)
        return FASTN_ERR_INVAL;
    return fastn_sbuf_grow_(&s->in, &s->in_len, &s->in_cap, data, len, max);
}

/* Drops the first n received bytes (a frame handled). */
static inline void fastn_sbuf_consume(struct fastn_sbuf *s, size_t n)
{
    if (n > s->in_len)
        n = s->in_len;
    memmove(s->in, s->in + n, s->in_len - n);
    s->in_len -= n;
}

/*
 * A length-prefixed frame at the start of the received bytes: an
 * unsigned varint length (LEB128, as libp2p frames its messages; at most
 * 5 bytes) and that many bytes. Returns 1 with *frame and *len set (then
 * fastn_sbuf_consume(s, *used) once handled), 0 when more bytes are
 * needed, FASTN_ERR_MALFORMED (a varint too long) or FASTN_ERR_TOO_LARGE
 * (a frame over max bytes).
 */
static inline int32_t fastn_sbuf_frame(struct fastn_sbuf *s, size_t max,
                                       const uint8_t **frame, size_t *len,
                                       size_t *used)
{
    uint64_t v = 0;
    size_t i = 0;
    for (;; i++) {
        if (i == s->in_len)
            return 0;
        if (i == 5)
            return FASTN_ERR_MALFORMED;
        v |= (uint64_t)(s->in[i] & 0x7f) << (7 * i);
        if (!(s->in[i] & 0x80))
            break;
    }
    if (v > max)
        return FASTN_ERR_TOO_LARGE;
    if (s->in_len - (i + 1) < v)
        return 0;
    *frame = s->in + i + 1;
    *len = (size_t)v;
    *used = i + 1 + (size_t)v;
    return 1;
}

/* Writes the unsigned varint of v (at most 10 bytes) to out; returns its
 * length. For a plugin's own length-prefixed replies. */
static inline size_t fastn_varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    do {
        out[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

/* Writes what waits in out; once all is out and the slot is closing,
 * closes the stream and drops the slot. Call it from on_writable.
 * Returns 0, or an error of fastn_stream_write / _close (the slot is
 * dropped then too: reset the stream if you want it gone). */
static inline int32_t fastn_sbuf_flush(struct fastn_sbuf *s)
{
    if (!s)
        return 0;
    while (s->out_len > 0) {
        int32_t n = fastn_stream_write(s->stream, s->out, s->out_len);
        if (n == FASTN_ERR_AGAIN || n == 0)
            return 0; /* on_writable comes when there is room */
        if (n < 0) {
            fastn_sbuf_drop(s);
            return n;
        }
        memmove(s->out, s->out + n, s->out_len - (size_t)n);
        s->out_len -= (size_t)n;
    }
    if (s->closing) {
        int32_t h = s->stream;
        fastn_sbuf_drop(s);
        return fastn_stream_close(h);
    }
    return 0;
}

/* Sends len bytes after those still waiting: what the stream takes now
 * goes out, the rest waits in out for fastn_sbuf_flush. Errors: _INVAL,
 * _NOMEM, and fastn_stream_write's. */
static inline int32_t fastn_sbuf_send(struct fastn_sbuf *s, const void *data,
                                      size_t len)
{
    const uint8_t *p = (const uint8_t *)data;
    if (!s)
        return FASTN_ERR_INVAL;
    if (s->out_len == 0 && len > 0) {
        int32_t n = fastn_stream_write(s->stream, p, len);
        if (n < 0 && n != FASTN_ERR_AGAIN)
            return n;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    return fastn_sbuf_grow_(&s->out, &s->out_len, &s->out_cap, p, len,
                            (size_t)-1);
}

/* Sends len bytes as the whole reply and closes the stream once they are
 * out (at once, or from fastn_sbuf_flush), freeing the slot. Errors as
 * fastn_sbuf_send (the slot is dropped). */
static inline int32_t fastn_sbuf_reply_close(struct fastn_sbuf *s,
                                             const void *data, size_t len)
{
    int32_t err = fastn_sbuf_send(s, data, len);
    if (err < 0) {
        fastn_sbuf_drop(s);
        return err;
    }
    s->closing = 1;
    return fastn_sbuf_flush(s);
}

/* A plain reply and close with no slot: writes the whole of data or, when
 * the stream does not take it all at once, resets it and returns
 * FASTN_ERR_AGAIN (use fastn_sbuf_reply_close for replies that may be
 * larger than the stream's queue, 256 KiB). */
static inline int32_t fastn_stream_reply_close(int32_t stream, const void *data,
                                               size_t len)
{
    int32_t n = len ? fastn_stream_write(stream, data, len) : 0;
    if (n >= 0 && (size_t)n == len)
        return fastn_stream_close(stream);
    fastn_stream_reset(stream);
    return n < 0 ? n : FASTN_ERR_AGAIN;
}
#endif /* FASTN_NO_SDK_HELPERS */

#ifdef __cplusplus
}
#endif
#endif /* FASTN_PLUGIN_H */
