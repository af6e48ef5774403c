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
    /* loopback TCP: serve the ports of its "local_listen", connect to
     * the addresses of its "local_connect" (docs/PLUGIN-ABI.md) */
    PLUGIN_CAP_LOCAL_LISTEN = 1 << 4,
    PLUGIN_CAP_LOCAL_CONNECT = 1 << 5,
};
#define PLUGIN_CAPS_ALL 0x3fu

#define PLUGIN_CAPS(X)                                                         \
    X(PLUGIN_CAP_STREAMS, "streams")                                           \
    X(PLUGIN_CAP_STORAGE, "storage")                                           \
    X(PLUGIN_CAP_NOTIFY, "notify")                                             \
    X(PLUGIN_CAP_TIMERS, "timers")                                             \
    X(PLUGIN_CAP_LOCAL_LISTEN, "local-listen")                                 \
    X(PLUGIN_CAP_LOCAL_CONNECT, "local-connect")

/* What imports cost, in fuel (1 unit is about 1 ns of work on the
 * reference machine, as wasm code is charged: docs/PLUGIN-ABI.md, "What
 * imports cost"). Each import pays its base price (the table below),
 * then for the work it did: */
#define PLUGIN_FUEL_CHEAP 100         /* base: returns a value it holds */
#define PLUGIN_IMPORT_FUEL 500        /* base: most imports */
#define PLUGIN_FUEL_SQL_TEXT 5000     /* base: SQL to parse (exec, prepare) */
#define PLUGIN_FUEL_SYSCALL 4000      /* base: a system call (random) */
#define PLUGIN_FUEL_NOTIFY 20000      /* base: a row in its database */
#define PLUGIN_FUEL_OPEN 50000        /* base: a stream (a dial may follow) */
#define PLUGIN_BYTES_PER_FUEL 16      /* bytes copied in or out, per unit */
#define PLUGIN_FUEL_PER_SQL_BYTE 4    /* SQL text parsed */
#define PLUGIN_FUEL_PER_SENT_BYTE 1   /* a stream write: framing, crypto */
#define PLUGIN_FUEL_PER_RANDOM_BYTE 4 /* random bytes made */
#define PLUGIN_FUEL_PER_NOTE_BYTE 1   /* a notification's text */
#define PLUGIN_FUEL_LOG_LINE 3000     /* a line written to the log (+1/byte) */
#define PLUGIN_SQL_STEP_FUEL 12       /* each SQLite VM step an sql_* took */
#define PLUGIN_FUEL_PER_HASH_BYTE 1   /* sha256: a byte hashed */
#define PLUGIN_FUEL_PER_B2B_BYTE 2    /* blake2b: a byte hashed */
#define PLUGIN_FUEL_BLOB 2000         /* base: a blob's file opened (blob_*) */
#define PLUGIN_BLOB_BYTES_PER_FUEL                                             \
    4 /* blob_put, blob_read: bytes written, read */

/* X(name, params, results, capability, fuel): the functions of module
 * "fastn", with their base price. */
#define PLUGIN_ABI_IMPORTS(X)                                                  \
    X(stream_open, "iiii", "i", PLUGIN_CAP_STREAMS, PLUGIN_FUEL_OPEN)          \
    X(stream_write, "iii", "i", 0, PLUGIN_IMPORT_FUEL)                         \
    X(stream_close, "i", "i", 0, PLUGIN_IMPORT_FUEL)                           \
    X(stream_reset, "i", "i", 0, PLUGIN_IMPORT_FUEL)                           \
    X(stream_peer, "iii", "i", 0, PLUGIN_FUEL_CHEAP)                           \
    X(stream_flags, "i", "i", 0, PLUGIN_FUEL_CHEAP)                            \
    X(local_connect, "ii", "i", PLUGIN_CAP_LOCAL_CONNECT, PLUGIN_FUEL_OPEN)    \
    X(call_reply, "iiii", "i", 0, PLUGIN_IMPORT_FUEL)                          \
    X(call_reply_v, "iiii", "i", 0, PLUGIN_IMPORT_FUEL)                        \
    X(sql_exec, "ii", "i", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_SQL_TEXT)           \
    X(sql_prepare, "ii", "i", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_SQL_TEXT)        \
    X(sql_bind_null, "ii", "i", PLUGIN_CAP_STORAGE, PLUGIN_IMPORT_FUEL)        \
    X(sql_bind_int64, "iiI", "i", PLUGIN_CAP_STORAGE, PLUGIN_IMPORT_FUEL)      \
    X(sql_bind_double, "iiF", "i", PLUGIN_CAP_STORAGE, PLUGIN_IMPORT_FUEL)     \
    X(sql_bind_text, "iiii", "i", PLUGIN_CAP_STORAGE, PLUGIN_IMPORT_FUEL)      \
    X(sql_bind_blob, "iiii", "i", PLUGIN_CAP_STORAGE, PLUGIN_IMPORT_FUEL)      \
    X(sql_step, "i", "i", PLUGIN_CAP_STORAGE, PLUGIN_IMPORT_FUEL)              \
    X(sql_reset, "i", "i", PLUGIN_CAP_STORAGE, PLUGIN_IMPORT_FUEL)             \
    X(sql_finalize, "i", "i", PLUGIN_CAP_STORAGE, PLUGIN_IMPORT_FUEL)          \
    X(sql_column_count, "i", "i", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_CHEAP)       \
    X(sql_column_type, "ii", "i", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_CHEAP)       \
    X(sql_column_int64, "ii", "I", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_CHEAP)      \
    X(sql_column_double, "ii", "F", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_CHEAP)     \
    X(sql_column_bytes, "iiii", "i", PLUGIN_CAP_STORAGE, PLUGIN_IMPORT_FUEL)   \
    X(sql_changes, "", "i", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_CHEAP)             \
    X(sql_last_insert_rowid, "", "I", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_CHEAP)   \
    X(sql_errmsg, "ii", "i", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_CHEAP)            \
    X(notify, "iiii", "i", PLUGIN_CAP_NOTIFY, PLUGIN_FUEL_NOTIFY)              \
    X(timer_set, "iI", "i", PLUGIN_CAP_TIMERS, PLUGIN_IMPORT_FUEL)             \
    X(timer_cancel, "i", "i", PLUGIN_CAP_TIMERS, PLUGIN_IMPORT_FUEL)           \
    X(now_ms, "", "I", 0, PLUGIN_FUEL_CHEAP)                                   \
    X(monotonic_ms, "", "I", 0, PLUGIN_FUEL_CHEAP)                             \
    X(random, "ii", "i", 0, PLUGIN_FUEL_SYSCALL)                               \
    X(log, "iii", "i", 0, PLUGIN_IMPORT_FUEL)                                  \
    X(local_peer_id, "ii", "i", 0, PLUGIN_FUEL_CHEAP)                          \
    X(sha256, "iii", "i", 0, PLUGIN_IMPORT_FUEL)                               \
    X(blake2b, "iiiiii", "i", 0, PLUGIN_IMPORT_FUEL)                           \
    X(hash_start, "iiiii", "i", 0, PLUGIN_IMPORT_FUEL)                         \
    X(blob_put, "iiii", "i", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_BLOB)             \
    X(blob_read, "iiIii", "i", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_BLOB)           \
    X(blob_size, "ii", "I", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_BLOB)              \
    X(blob_delete, "ii", "i", PLUGIN_CAP_STORAGE, PLUGIN_FUEL_BLOB)

/* When an export is required. */
enum plugin_export_need {
    PLUGIN_EXPORT_OPTIONAL,
    PLUGIN_EXPORT_ALWAYS,    /* every plugin */
    PLUGIN_EXPORT_PROTOCOLS, /* a plugin that lists protocols or serves
                                "local-listen" ports */
    PLUGIN_EXPORT_STREAMS,   /* a plugin with "streams" or "local-connect" */
    PLUGIN_EXPORT_TIMERS,    /* a plugin with the "timers" capability */
};

/* X(name, params, results, need): the functions a plugin exports. */
#define PLUGIN_ABI_EXPORTS(X)                                                  \
    X(fastn_alloc, "i", "i", PLUGIN_EXPORT_ALWAYS)                             \
    X(fastn_free, "i", "", PLUGIN_EXPORT_ALWAYS)                               \
    X(fastn_data_at, "ii", "i", PLUGIN_EXPORT_OPTIONAL)                        \
    X(_initialize, "", "", PLUGIN_EXPORT_OPTIONAL)                             \
    X(on_start, "", "i", PLUGIN_EXPORT_OPTIONAL)                               \
    X(on_stop, "", "i", PLUGIN_EXPORT_OPTIONAL)                                \
    X(on_stream, "iiiii", "i", PLUGIN_EXPORT_PROTOCOLS)                        \
    X(on_data, "iii", "i", PLUGIN_EXPORT_PROTOCOLS)                            \
    X(on_close, "ii", "i", PLUGIN_EXPORT_PROTOCOLS)                            \
    X(on_open, "ii", "i", PLUGIN_EXPORT_STREAMS)                               \
    X(on_writable, "i", "i", PLUGIN_EXPORT_OPTIONAL)                           \
    X(on_call, "iiiii", "i", PLUGIN_EXPORT_OPTIONAL)                           \
    X(on_timer, "i", "i", PLUGIN_EXPORT_TIMERS)                                \
    X(on_hash, "ii", "i", PLUGIN_EXPORT_OPTIONAL)

/* The memory every plugin exports. */
#define PLUGIN_MEMORY_EXPORT "memory"

/* What stream_flags returns: the stream is a replay of data kept while
 * no plugin took it (its writes fail with FASTN_ERR_PLUGIN_REPLAYED), and
 * it was handed over before (a crash came before its on_close returned). */
#define PLUGIN_STREAM_REPLAYED 0x1
#define PLUGIN_STREAM_REPEAT 0x2
/* ... and that it is a loopback TCP connection (local-listen, local-connect),
 * not a peer's stream: stream_peer gives its address, "127.0.0.1:PORT". */
#define PLUGIN_STREAM_LOCAL 0x4

/* Reasons passed to on_close (besides negative fastn_err codes). */
#define PLUGIN_CLOSE_EOF 0 /* the peer finished writing; we may still write */

/* ABI 1's limits on what crosses the boundary, in bytes. */
#define PLUGIN_DATA_CHUNK_MAX (64u * 1024) /* one on_data */
#define PLUGIN_WRITE_MAX (1u << 20)        /* one stream_write */
#define PLUGIN_STREAM_BUFFER (256u * 1024) /* queued per stream */
#define PLUGIN_CALL_METHOD_MAX 64
#define PLUGIN_CALL_ARG_MAX (1u << 20)
#define PLUGIN_CALL_REPLY_MAX (2u << 20)
#define PLUGIN_CALL_REPLY_PIECES 16 /* one call_reply_v */
#define PLUGIN_PEER_ID_MAX 128
#define PLUGIN_LOG_LINE_MAX 1024
#define PLUGIN_RANDOM_MAX (64u * 1024)
#define PLUGIN_TIMER_DELAY_MAX (30ll * 24 * 3600 * 1000)
#define PLUGIN_NOTIFY_TITLE_MAX 256
#define PLUGIN_NOTIFY_BODY_MAX 4096
#define PLUGIN_HASH_MAX (4u << 20) /* bytes hashed by one sha256/blake2b */
#define PLUGIN_HASH_JOBS_MAX 8     /* hash_start's not yet answered */
/* hash_start below this many bytes hashes at once (on the loop): less
 * than the hand-off to the thread costs */
#define PLUGIN_HASH_OFFLOAD_MIN (64u << 10)

#endif
