/*
 * The plugin ABI (docs/PLUGIN-ABI.md) as tables, so that the loader's
 * checks and the host's import bindings come from one list and cannot
 * drift apart from each other.
 *
 * Signatures are strings of WebAssembly value types, one letter each:
 * 'i' i32, 'I' i64, 'f' f32, 'F' f64; "" is no values.
 */
#ifndef FASTN_PLUGIN_ABI_H
#define FASTN_PLUGIN_ABI_H

#define PLUGIN_ABI_VERSION 1
#define PLUGIN_IMPORT_MODULE "fastn"
#define PLUGIN_WASI_MODULE "wasi_snapshot_preview1"

/* Capabilities a manifest asks for; what each one unlocks is in the
 * imports table below (0: every plugin may call it). */
enum plugin_cap {
    PLUGIN_CAP_STREAMS = 1 << 0, /* open streams to peers */
    PLUGIN_CAP_STORAGE = 1 << 1, /* its own SQLite database */
    PLUGIN_CAP_NOTIFY = 1 << 2,  /* notifications to the user */
    PLUGIN_CAP_TIMERS = 1 << 3,  /* timers */
};
#define PLUGIN_CAPS_ALL 0xfu

#define PLUGIN_CAPS(X)                                                         \
    X(PLUGIN_CAP_STREAMS, "streams")                                           \
    X(PLUGIN_CAP_STORAGE, "storage")                                           \
    X(PLUGIN_CAP_NOTIFY, "notify")                                             \
    X(PLUGIN_CAP_TIMERS, "timers")

/* X(name, params, results, capability): the functions of module "fastn". */
#define PLUGIN_ABI_IMPORTS(X)                                                  \
    X(stream_open, "iiii", "i", PLUGIN_CAP_STREAMS)                            \
    X(stream_write, "iii", "i", 0)                                             \
    X(stream_close, "i", "i", 0)                                               \
    X(stream_reset, "i", "i", 0)                                               \
    X(stream_peer, "iii", "i", 0)                                              \
    X(call_reply, "iiii", "i", 0)                                              \
    X(sql_exec, "ii", "i", PLUGIN_CAP_STORAGE)                                 \
    X(sql_prepare, "ii", "i", PLUGIN_CAP_STORAGE)                              \
    X(sql_bind_null, "ii", "i", PLUGIN_CAP_STORAGE)                            \
    X(sql_bind_int64, "iiI", "i", PLUGIN_CAP_STORAGE)                          \
    X(sql_bind_double, "iiF", "i", PLUGIN_CAP_STORAGE)                         \
    X(sql_bind_text, "iiii", "i", PLUGIN_CAP_STORAGE)                          \
    X(sql_bind_blob, "iiii", "i", PLUGIN_CAP_STORAGE)                          \
    X(sql_step, "i", "i", PLUGIN_CAP_STORAGE)                                  \
    X(sql_reset, "i", "i", PLUGIN_CAP_STORAGE)                                 \
    X(sql_finalize, "i", "i", PLUGIN_CAP_STORAGE)                              \
    X(sql_column_count, "i", "i", PLUGIN_CAP_STORAGE)                          \
    X(sql_column_type, "ii", "i", PLUGIN_CAP_STORAGE)                          \
    X(sql_column_int64, "ii", "I", PLUGIN_CAP_STORAGE)                         \
    X(sql_column_double, "ii", "F", PLUGIN_CAP_STORAGE)                        \
    X(sql_column_bytes, "iiii", "i", PLUGIN_CAP_STORAGE)                       \
    X(sql_changes, "", "i", PLUGIN_CAP_STORAGE)                                \
    X(sql_last_insert_rowid, "", "I", PLUGIN_CAP_STORAGE)                      \
    X(sql_errmsg, "ii", "i", PLUGIN_CAP_STORAGE)                               \
    X(notify, "iiii", "i", PLUGIN_CAP_NOTIFY)                                  \
    X(timer_set, "iI", "i", PLUGIN_CAP_TIMERS)                                 \
    X(timer_cancel, "i", "i", PLUGIN_CAP_TIMERS)                               \
    X(now_ms, "", "I", 0)                                                      \
    X(monotonic_ms, "", "I", 0)                                                \
    X(random, "ii", "i", 0)                                                    \
    X(log, "iii", "i", 0)                                                      \
    X(local_peer_id, "ii", "i", 0)

/* When an export is required. */
enum plugin_export_need {
    PLUGIN_EXPORT_OPTIONAL,
    PLUGIN_EXPORT_ALWAYS,    /* every plugin */
    PLUGIN_EXPORT_PROTOCOLS, /* a plugin that lists protocols */
    PLUGIN_EXPORT_STREAMS,   /* a plugin with the "streams" capability */
    PLUGIN_EXPORT_TIMERS,    /* a plugin with the "timers" capability */
};

/* X(name, params, results, need): the functions a plugin exports. */
#define PLUGIN_ABI_EXPORTS(X)                                                  \
    X(fastn_alloc, "i", "i", PLUGIN_EXPORT_ALWAYS)                             \
    X(fastn_free, "i", "", PLUGIN_EXPORT_ALWAYS)                               \
    X(_initialize, "", "", PLUGIN_EXPORT_OPTIONAL)                             \
    X(on_start, "", "i", PLUGIN_EXPORT_OPTIONAL)                               \
    X(on_stop, "", "i", PLUGIN_EXPORT_OPTIONAL)                                \
    X(on_stream, "iiiii", "i", PLUGIN_EXPORT_PROTOCOLS)                        \
    X(on_data, "iii", "i", PLUGIN_EXPORT_PROTOCOLS)                            \
    X(on_close, "ii", "i", PLUGIN_EXPORT_PROTOCOLS)                            \
    X(on_open, "ii", "i", PLUGIN_EXPORT_STREAMS)                               \
    X(on_writable, "i", "i", PLUGIN_EXPORT_OPTIONAL)                           \
    X(on_call, "iiiii", "i", PLUGIN_EXPORT_OPTIONAL)                           \
    X(on_timer, "i", "i", PLUGIN_EXPORT_TIMERS)

/* The memory every plugin exports. */
#define PLUGIN_MEMORY_EXPORT "memory"

/* Reasons passed to on_close (besides negative fastn_err codes). */
#define PLUGIN_CLOSE_EOF 0 /* the peer finished writing; we may still write */

/* ABI 1's limits on what crosses the boundary, in bytes. */
#define PLUGIN_DATA_CHUNK_MAX (64u * 1024) /* one on_data */
#define PLUGIN_WRITE_MAX (1u << 20)        /* one stream_write */
#define PLUGIN_STREAM_BUFFER (256u * 1024) /* queued per stream */
#define PLUGIN_CALL_METHOD_MAX 64
#define PLUGIN_CALL_ARG_MAX (1u << 20)
#define PLUGIN_CALL_REPLY_MAX (1u << 20)
#define PLUGIN_PEER_ID_MAX 128
#define PLUGIN_LOG_LINE_MAX 1024
#define PLUGIN_RANDOM_MAX (64u * 1024)
#define PLUGIN_TIMER_DELAY_MAX (30ll * 24 * 3600 * 1000)
#define PLUGIN_NOTIFY_TITLE_MAX 256
#define PLUGIN_NOTIFY_BODY_MAX 4096

#endif
