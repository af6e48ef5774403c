/*
 * The daemon's SQLite state: the only module that calls sqlite3.
 *
 * Two kinds of database live here:
 *
 *  - struct store: $FASTN_HOME/state.sqlite, the daemon's own state:
 *    notifications (add/list/mark read/unread count, with subscribers that
 *    are told about every change so the daemon can push them to clients)
 *    and the quarantine (data that arrived for a protocol with no plugin,
 *    kept until a plugin is installed and it can be replayed).
 *
 *  - struct store_pdb: $FASTN_HOME/data/NAME/db.sqlite, one plugin's own
 *    database, opened for the plugin host with everything that keeps a
 *    plugin inside it: an authorizer refusing ATTACH, DETACH, the temp
 *    schema, unsafe pragmas, extension loading and the host's tables; a
 *    size quota over the database and its write-ahead log; a budget of VM
 *    steps and time for each call; a limit on the memory SQLite holds for
 *    it; and statements addressed by small integer handles, as the plugin
 *    ABI passes them.
 *
 * Durability: every database is in WAL mode, and a call that returned
 * success survives kill -9 of the daemon. state.sqlite also syncs every
 * commit (synchronous=FULL), so notifications and quarantined data survive
 * a power loss too; it is written rarely. Plugin databases use
 * synchronous=NORMAL: a power loss or OS crash may undo their last
 * commits, but a commit costs ~20 us instead of an fsync (5-9 ms here),
 * which matters because plugin SQL runs on the daemon's event loop.
 * Files are created 0600, folders 0700.
 *
 * Threading: a handle is used by one thread at a time (the daemon's event
 * loop); connections are opened without SQLite's own mutexes. Time is
 * passed in, except the clock a plugin database's call reads to stop at
 * its deadline.
 *
 * Memory: the store installs SQLite's allocator (before SQLite is first
 * used: nothing else in the process may call sqlite3 first), which
 * charges what each plugin database's connection holds to that database
 * and refuses more than its limit. state.sqlite has no limit.
 *
 * A full disk: a write that fails because the file system has no room
 * returns FASTN_ERR_DISK_FULL (never FASTN_ERR_STORE_QUOTA), and changes
 * nothing: what was stored stays, and the same call succeeds once there
 * is room again.
 */
#ifndef FASTN_STORE_STORE_H
#define FASTN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------- */
/* The daemon's state database                                            */
/* ---------------------------------------------------------------------- */

#define STORE_SOURCE_MAX 64     /* bytes in a notification's source */
#define STORE_TITLE_MAX 256     /* bytes in a notification title */
#define STORE_BODY_MAX 4096     /* bytes in a notification body */
#define STORE_PEER_MAX 128      /* bytes in a PeerID (text form) */
#define STORE_PROTOCOL_MAX 1024 /* bytes in a protocol id (multistream) */

struct store;

struct store_options {
    /* Notifications kept; past it the oldest read ones, then the oldest,
     * are dropped. 0: STORE_NOTIFY_ROWS_DEFAULT. */
    size_t notify_max_rows;
    /* Bytes of quarantined data in all, and per item (one stream).
     * 0: the defaults below. */
    uint64_t quarantine_total_max;
    uint64_t quarantine_item_max;
    /* Bytes of one peer's items together, and items (streams) in all.
     * 0: the defaults below. */
    uint64_t quarantine_peer_max;
    uint64_t quarantine_count_max;
};

#define STORE_NOTIFY_ROWS_DEFAULT 10000
#define STORE_QUARANTINE_TOTAL_DEFAULT (256ull << 20)
#define STORE_QUARANTINE_ITEM_DEFAULT (1ull << 20)
#define STORE_QUARANTINE_PEER_DEFAULT (16ull << 20)
#define STORE_QUARANTINE_COUNT_DEFAULT 10000

/* Opens (creating if needed, mode 0600) the state database at path and
 * brings its schema up to date. opts may be NULL for the defaults. Items
 * of the quarantine that were still being received when a previous daemon
 * stopped are marked finished and incomplete. *out is set only on success;
 * free with store_close().
 * Errors: FASTN_ERR_INVAL, _NOMEM, _IO (cannot create or open the file),
 * _STORE_CORRUPT (not a database), _STORE (schema newer than this fastn). */
int store_open(const char *path, const struct store_options *opts,
               struct store **out);
/* Closes the database. NULL does nothing. */
void store_close(struct store *s);

/* --- notifications --- */

struct store_notification {
    int64_t id;      /* > 0, increasing */
    int64_t time_ms; /* when it was added (Unix time, ms) */
    bool read;
    char *source; /* who sent it: a plugin name, or "fastnd" */
    char *title;
    char *body;
};

/* Adds an unread notification and tells every subscriber. source is 1..
 * STORE_SOURCE_MAX bytes, title 1..STORE_TITLE_MAX, body 0..STORE_BODY_MAX;
 * all valid UTF-8 without control characters other than \n and \t in the
 * body. id_out (may be NULL) gets the new id.
 * Errors: FASTN_ERR_INVAL (a string is empty, not UTF-8 or has control
 * characters), _TOO_LARGE (a string is too long), _STORE*, _NOMEM. */
int store_notify_add(struct store *s, int64_t time_ms, const char *source,
                     const char *title, const char *body, int64_t *id_out);

/* store_notify_add, at most once per origin (a key unique to where the
 * notification came from, e.g. a plugin outbox row: store_outbox_move).
 * Returns 0 when added, 1 when a notification with that origin exists
 * (nothing is added, nobody told, *id_out = 0), or an error as
 * store_notify_add (_INVAL also for an empty origin). */
int store_notify_add_once(struct store *s, int64_t time_ms, const char *source,
                          const char *title, const char *body,
                          const char *origin, int64_t *id_out);

/* Whether store_notify_add would take these strings: 0 or its error. */
int store_notify_check(const char *source, const char *title, const char *body);

struct store_notify_query {
    int64_t after_id; /* only ids > after_id (0: all) */
    bool unread_only;
    const char *source; /* only from this source (NULL: any) */
    size_t limit;       /* at most this many (0: STORE_NOTIFY_LIST_MAX) */
    /* false: the newest `limit` matches; true: the oldest `limit` matches
     * (paging forward from after_id). Either way in increasing id order. */
    bool oldest_first;
};
#define STORE_NOTIFY_LIST_MAX 1000

/* Lists notifications matching q (NULL: the newest STORE_NOTIFY_LIST_MAX).
 * On success *out (free with store_notifications_free) and *n are set;
 * *out is NULL when *n is 0.
 * Errors: FASTN_ERR_INVAL, _NOMEM, _STORE*. */
int store_notify_list(struct store *s, const struct store_notify_query *q,
                      struct store_notification **out, size_t *n);
void store_notifications_free(struct store_notification *v, size_t n);

/* Sets one notification's read flag and tells subscribers (only when it
 * changed). Errors: FASTN_ERR_NOT_FOUND, _STORE*. */
int store_notify_mark_read(struct store *s, int64_t id, bool read);
/* Marks every notification (from source, or all when NULL) read; returns
 * how many changed (>= 0) and tells subscribers once when any did. */
int store_notify_mark_all_read(struct store *s, const char *source);
/* Deletes one notification. Errors: FASTN_ERR_NOT_FOUND, _STORE*. */
int store_notify_delete(struct store *s, int64_t id);
/* Counts unread notifications (from source, or all when NULL): >= 0 or an
 * error. */
int store_notify_unread_count(struct store *s, const char *source);

enum store_notify_event {
    STORE_NOTIFY_NEW,      /* n: the new notification */
    STORE_NOTIFY_READ,     /* n: the notification, with its new read flag */
    STORE_NOTIFY_ALL_READ, /* n: NULL; list again to see which */
    STORE_NOTIFY_DELETED,  /* n: the deleted notification */
};

/* Called after the change has been committed; n is borrowed for the call.
 * A subscriber may unsubscribe itself (or others) from inside the call;
 * it must not add or change notifications from there. */
typedef void (*store_notify_fn)(enum store_notify_event ev,
                                const struct store_notification *n, void *arg);

/* Registers fn; *sub_out gets an id for store_notify_unsubscribe.
 * Errors: FASTN_ERR_INVAL, _NOMEM. */
int store_notify_subscribe(struct store *s, store_notify_fn fn, void *arg,
                           unsigned *sub_out);
/* Unregisters; an unknown id does nothing. */
void store_notify_unsubscribe(struct store *s, unsigned sub);

/* --- quarantine: data for protocols with no plugin --- */

struct store_quarantine_item {
    int64_t id;
    int64_t received_ms;
    char *peer;
    char *protocol;
    uint64_t size;    /* bytes held */
    bool finished;    /* no more data will be appended */
    bool complete;    /* the stream ended cleanly (else cut short or capped) */
    int64_t attempts; /* replays begun (store_quarantine_attempt) */
};

/* Starts holding a stream that peer opened for protocol. *id_out is set.
 * Errors: FASTN_ERR_INVAL, _TOO_LARGE, _STORE_QUOTA (the quarantine is
 * full: its count of items, its bytes in all, or this peer's bytes),
 * _STORE*. */
int store_quarantine_begin(struct store *s, int64_t now_ms, const char *peer,
                           const char *protocol, int64_t *id_out);
/* Appends bytes to an unfinished item, durably (each call commits).
 * Errors: FASTN_ERR_NOT_FOUND, _CLOSED (item finished), _STORE_QUOTA (the
 * item, its peer's items or the whole quarantine would pass its cap:
 * nothing is appended, and the item is finished as incomplete), _STORE*. */
int store_quarantine_append(struct store *s, int64_t id, const void *p,
                            size_t n);
/* Marks an item finished; complete says whether the stream ended cleanly.
 * Errors: FASTN_ERR_NOT_FOUND, _STORE*. */
int store_quarantine_finish(struct store *s, int64_t id, bool complete);
/* Lists items (for protocol, or all when NULL), oldest first. */
int store_quarantine_list(struct store *s, const char *protocol,
                          struct store_quarantine_item **out, size_t *n);
/* Lists items for protocol and from peer (either NULL: any), oldest
 * first. */
int store_quarantine_find(struct store *s, const char *protocol,
                          const char *peer, struct store_quarantine_item **out,
                          size_t *n);
/* Counts a replay of the item as begun, durably, before its first byte
 * is handed over; *before (may be NULL) gets the count before this one
 * (> 0: the item is handed over again, after a crash). Errors:
 * FASTN_ERR_NOT_FOUND, _STORE*. */
int store_quarantine_attempt(struct store *s, int64_t id, int64_t *before);
/* Deletes every item received before before_ms; returns how many (>= 0)
 * or an error. */
int store_quarantine_expire(struct store *s, int64_t before_ms);
/* Items held now. */
uint64_t store_quarantine_count(const struct store *s);
void store_quarantine_items_free(struct store_quarantine_item *v, size_t n);

/* Called with each stored chunk of an item in order; p is borrowed. A
 * non-zero return stops the walk and is returned by store_quarantine_read. */
typedef int (*store_chunk_fn)(const uint8_t *p, size_t n, void *arg);
/* Replays an item's bytes to fn. Errors: FASTN_ERR_NOT_FOUND, _STORE*, or
 * what fn returned. */
int store_quarantine_read(struct store *s, int64_t id, store_chunk_fn fn,
                          void *arg);
/* Deletes an item and its data. Errors: FASTN_ERR_NOT_FOUND, _STORE*. */
int store_quarantine_delete(struct store *s, int64_t id);
/* Bytes held in the quarantine in all. */
uint64_t store_quarantine_total(const struct store *s);

/* ---------------------------------------------------------------------- */
/* Plugin databases                                                        */
/* ---------------------------------------------------------------------- */

struct store_pdb;

struct store_pdb_limits {
    /* What the database's files (the database, its write-ahead log and
     * journal) may take on disk together; 0: STORE_PDB_QUOTA_DEFAULT. The
     * pages may take all but 8 of the log's frames; the log, what the
     * pages leave. */
    uint64_t quota_bytes;
    /* The page size a new database is made with (a power of two, 512 to
     * 65536); 0: SQLite's. An existing database keeps its own. */
    unsigned page_size;
    unsigned max_statements; /* open statements; 0: the default */
    /* SQLite VM steps one call (exec, prepare or step) may take before it
     * is stopped with FASTN_ERR_STORE_LIMIT; 0: the default. */
    uint64_t max_vm_steps;
    /* Memory SQLite may hold for the database (its cache, schema,
     * statements, bound values, sorts and temporary tables); past it a
     * call fails with FASTN_ERR_STORE_MEMORY. 0: STORE_PDB_HEAP_DEFAULT. */
    uint64_t heap_bytes;
};

#define STORE_PDB_QUOTA_DEFAULT (16ull << 20)
#define STORE_PDB_QUOTA_MAX (1ull << 40) /* PLUGIN_QUOTA_MAX */
#define STORE_PDB_STATEMENTS_DEFAULT 32
#define STORE_PDB_STATEMENTS_MAX 256
#define STORE_PDB_VM_STEPS_DEFAULT 10000000ull
#define STORE_PDB_HEAP_DEFAULT (16ull << 20)
#define STORE_PDB_HEAP_MAX (1ull << 30)
/* Wall time one call may take unless the host says otherwise: half of the
 * plugin host's default slice, so a call that is stopped at it leaves the
 * slice room for the rest. */
#define STORE_PDB_TIME_DEFAULT_NS 5000000ull
#define STORE_PDB_SQL_MAX 100000       /* bytes of SQL text per call */
#define STORE_PDB_VALUE_MAX (1u << 20) /* bytes in one string, blob or row */

/* Column types, as SQLite numbers them (and the plugin ABI passes them). */
enum store_type {
    STORE_TYPE_INTEGER = 1,
    STORE_TYPE_FLOAT = 2,
    STORE_TYPE_TEXT = 3,
    STORE_TYPE_BLOB = 4,
    STORE_TYPE_NULL = 5,
};

/* Opens (creating data_dir/name/ 0700 and db.sqlite 0600 as needed) the
 * database of plugin `name` (1..64 of [a-z0-9_-], so it is always one path
 * component). lim may be NULL for the defaults; values above the maxima
 * are lowered to them. A quota below the database's current size stops it
 * from growing but loses nothing. *out is set only on success.
 * Errors: FASTN_ERR_INVAL (bad name), _IO, _NOMEM, _STORE_CORRUPT,
 * _STORE. */
int store_pdb_open(const char *data_dir, const char *name,
                   const struct store_pdb_limits *lim, struct store_pdb **out);
/* Finalizes every statement, rolls back an open transaction, closes.
 * NULL does nothing. */
void store_pdb_close(struct store_pdb *db);
/* Deletes plugin `name`'s database files, its blobs and its folder. A
 * missing database is not an error. Errors: FASTN_ERR_INVAL, _IO. */
int store_pdb_destroy(const char *data_dir, const char *name);

/*
 * Plugin blobs (blob.c): values of up to STORE_BLOB_MAX bytes under keys
 * of 1..STORE_BLOB_KEY_MAX bytes, appended as records to pack files in
 * data/NAME/blobs/ (pack-000001, ...; a new pack once one reached
 * STORE_BLOB_PACK_MAX bytes) and read with one pread (no page cache of
 * SQLite's, no log). The index (key -> pack, offset, length) is in
 * memory, built at open by scanning the packs: about 100 bytes a blob,
 * hence at most STORE_BLOB_COUNT_MAX blobs a plugin (~100 MiB). A put
 * replaces the blob whole (the new record appended, then the old one's
 * blocks punched): a reader sees the old blob or the new one. Each blob
 * counts in the plugin's quota as its record, a STORE_BLOB_UNIT header
 * and its data rounded up to STORE_BLOB_UNIT, together with the database
 * and its log. Nothing is synced: a killed process loses nothing; after
 * a power cut a blob put in the last seconds may be missing, or (its
 * header on disk, not its data) read as zeros. Errors of every call:
 * FASTN_ERR_INVAL (a key of 0 or more than STORE_BLOB_KEY_MAX bytes,
 * NULL), _IO, _NOMEM.
 */
#define STORE_BLOB_MAX (16u << 20)
#define STORE_BLOB_KEY_MAX 64
#define STORE_BLOB_UNIT 4096
#define STORE_BLOB_PACK_MAX (256u << 20)
#define STORE_BLOB_COUNT_MAX (1u << 20)
struct store_blobs;
struct store__acct;
/* The blobs in folder dir (made at the first put; the packs are scanned
 * and the blobs indexed and counted now, a torn append at the end of the
 * last pack cut off), within quota (0: none) together with acct's
 * database files (NULL: none; its blob_bytes is kept equal to the blobs'
 * count). Tests may lower STORE_BLOB_PACK_MAX and STORE_BLOB_COUNT_MAX
 * with the environment variables FASTN_BLOB_PACK_MAX and
 * FASTN_BLOB_COUNT_MAX (read here). */
int store_blobs_open(const char *dir, uint64_t quota, struct store__acct *acct,
                     struct store_blobs **out);
/* NULL does nothing. */
void store_blobs_close(struct store_blobs *b);
/* Deletes the folder and every file in it; a missing one is not an error.
 * Errors: FASTN_ERR_IO. */
int store_blobs_destroy(const char *dir);
/* What the blobs count for in the quota, in bytes. */
uint64_t store_blobs_used(const struct store_blobs *b);
/* Writes the blob, replacing the one under that key. Errors:
 * FASTN_ERR_TOO_LARGE (len > STORE_BLOB_MAX), _STORE_QUOTA (nothing
 * written: the quota, or STORE_BLOB_COUNT_MAX blobs, reached), _DISK_FULL
 * (the file system is full: nothing changed). */
int store_blob_put(struct store_blobs *b, const void *key, size_t key_len,
                   const void *data, size_t len);
/* Copies up to cap bytes from offset into buf with one pread; returns
 * the bytes read (0 at or after the end). before, when not NULL, is
 * called with that count before the read and may refuse it (its error is
 * returned: the host charges fuel there). Errors: FASTN_ERR_NOT_FOUND. */
int64_t store_blob_read(struct store_blobs *b, const void *key, size_t key_len,
                        uint64_t offset, void *buf, size_t cap,
                        int (*before)(void *arg, uint64_t bytes), void *arg);
/* The blob's size. Errors: FASTN_ERR_NOT_FOUND. */
int64_t store_blob_size(struct store_blobs *b, const void *key, size_t key_len);
/* Deletes the blob, crediting the quota. Errors: FASTN_ERR_NOT_FOUND. */
int store_blob_delete(struct store_blobs *b, const void *key, size_t key_len);
/* The blobs of a plugin database (opened with it). */
struct store_blobs *store_pdb_blobs(struct store_pdb *db);

/*
 * The calls below take SQL and values from the plugin (sql/p with a byte
 * length, not NUL-terminated; copied before they return) and return 0 or
 * a negative fastn_err:
 *   FASTN_ERR_STORE_DENIED     the authorizer refused the statement, or
 *                              its text names STORE_PDB_RESERVED_PREFIX
 *   FASTN_ERR_STORE_QUOTA      the database, with its write-ahead log, is
 *                              at its quota
 *   FASTN_ERR_DISK_FULL        the file system has no room
 *   FASTN_ERR_STORE_LIMIT      the call passed its VM steps (budget)
 *   FASTN_ERR_STORE_TIMEOUT    the call passed its time (budget)
 *   FASTN_ERR_STORE_MEMORY     SQLite's memory for it passed heap_bytes
 *   FASTN_ERR_STORE_SQL        syntax error, no such table or column, ...
 *   FASTN_ERR_STORE_CONSTRAINT a constraint failed
 *   FASTN_ERR_TOO_LARGE        SQL or a value longer than the limits
 *   FASTN_ERR_INVAL            empty SQL, a NUL inside SQL, bad index
 *   FASTN_ERR_PLUGIN_BAD_HANDLE no such statement handle
 *   FASTN_ERR_PLUGIN_LIMIT     max_statements already open (prepare)
 *   FASTN_ERR_BUSY, _NOMEM, _IO, _STORE_CORRUPT, _STORE
 * store_pdb_errmsg() then says more.
 */

/* Runs one or more statements, discarding any rows. */
int store_pdb_exec(struct store_pdb *db, const char *sql, size_t len);
/* Prepares exactly one statement (trailing blanks and semicolons are
 * allowed, a second statement is FASTN_ERR_INVAL). Returns a handle > 0. */
int store_pdb_prepare(struct store_pdb *db, const char *sql, size_t len);
/* Parameter indexes start at 1, as in SQLite. */
int store_pdb_bind_null(struct store_pdb *db, int32_t h, int idx);
int store_pdb_bind_int64(struct store_pdb *db, int32_t h, int idx, int64_t v);
int store_pdb_bind_double(struct store_pdb *db, int32_t h, int idx, double v);
int store_pdb_bind_text(struct store_pdb *db, int32_t h, int idx, const void *p,
                        size_t n);
int store_pdb_bind_blob(struct store_pdb *db, int32_t h, int idx, const void *p,
                        size_t n);
/* Returns 1 when a row is ready, 0 when the statement is done (stepping
 * again starts it over), or an error. */
int store_pdb_step(struct store_pdb *db, int32_t h);
/* Rewinds a statement (bindings stay). */
int store_pdb_reset(struct store_pdb *db, int32_t h);
/* Frees a statement and its handle. */
int store_pdb_finalize(struct store_pdb *db, int32_t h);

/* Columns of the current row. Columns start at 0. column_count works on
 * any statement; the others need the last step to have returned 1, and
 * return FASTN_ERR_INVAL otherwise (column_type, column_bytes) or 0
 * (column_int64, column_double). */
int store_pdb_column_count(struct store_pdb *db, int32_t h);
int store_pdb_column_type(struct store_pdb *db, int32_t h, int col);
int64_t store_pdb_column_int64(struct store_pdb *db, int32_t h, int col);
double store_pdb_column_double(struct store_pdb *db, int32_t h, int col);
/* Borrows a column's bytes (text without a NUL, or blob; numbers as
 * text): *p stays valid until the next step, reset or finalize of h. A
 * NULL column gives *p = NULL, *n = 0. */
int store_pdb_column_bytes(struct store_pdb *db, int32_t h, int col,
                           const uint8_t **p, size_t *n);

/* Rows changed by the last INSERT, UPDATE or DELETE. */
int store_pdb_changes(struct store_pdb *db);
int64_t store_pdb_last_insert_rowid(struct store_pdb *db);
/* The message of the last error (never NULL; "" before any error). Valid
 * until the next call on db. */
const char *store_pdb_errmsg(struct store_pdb *db);

/* Ends a plugin event: resets every statement (handles stay valid) and
 * rolls back a transaction the plugin left open, so nothing half done
 * outlives the event. Returns 1 when it rolled back, 0 when there was
 * nothing to undo, or an error. */
int store_pdb_event_end(struct store_pdb *db);
/* The host's upkeep between a plugin's slices: a checkpoint of a long
 * write-ahead log that a commit left due (plugin_db.c, wal_hook), when no
 * transaction is open. Returns 1 when it ran one, else 0. */
int store_pdb_maintain(struct store_pdb *db);
/*
 * Each call's budget. Fuel does not run inside the host, so the host sets
 * what each following exec, prepare or step may take before it calls, and
 * reads what the call took after (to charge the plugin's fuel):
 *   steps    SQLite VM steps (0, or above max_vm_steps: max_vm_steps);
 *            past them the call stops with FASTN_ERR_STORE_LIMIT
 *   time_ns  time from the call's start (0: STORE_PDB_TIME_DEFAULT_NS):
 *            the call stops with FASTN_ERR_STORE_TIMEOUT once it has held
 *            the daemon's thread that long: wall time, less what the
 *            thread waited for a CPU (/proc/thread-self/schedstat), so a
 *            system too loaded to run the daemon does not cut calls short,
 *            while waiting on the disk counts.
 * SQLite cannot pause a statement and resume it later: a stopped call
 * undoes its statement (and the transaction may have been rolled back),
 * so a plugin splits work that needs more. The time is checked every
 * 100 VM steps, every 256 KiB SQLite allocates and inside the SQL
 * functions that may take long in one step (LIKE, GLOB, instr, replace,
 * trim), so a call overruns its time by one step of SQLite's VM at most
 * (a few ms at most: docs/PLUGIN-ABI.md).
 */
struct store_pdb_budget {
    uint64_t steps;
    uint64_t time_ns;
};
/* Applies b (NULL: the defaults) to every call from now on. */
void store_pdb_budget_set(struct store_pdb *db,
                          const struct store_pdb_budget *b);

struct store_pdb_cost {
    uint64_t steps;       /* VM steps, counted 100 at a time */
    uint64_t alloc_bytes; /* bytes SQLite allocated (work on values) */
};
/* What the last exec, prepare or step took. */
void store_pdb_last_cost(const struct store_pdb *db,
                         struct store_pdb_cost *out);

/* Statements open now. */
int store_pdb_statement_count(const struct store_pdb *db);
/* The database's size in bytes (pages in use times page size). */
int store_pdb_size(struct store_pdb *db, uint64_t *bytes);
/* Whether a transaction is open on db (the plugin's BEGIN, not yet ended). */
bool store_pdb_in_transaction(struct store_pdb *db);

/* What the database uses of each of its budgets (for `plugin info`, and
 * the plugin's memory budget, which counts heap_bytes). */
struct store_pdb_usage {
    uint64_t disk_bytes;  /* its files now: database, log, blobs */
    uint64_t quota_bytes; /* what they may take */
    uint64_t data_bytes;  /* pages in use times page size */
    uint64_t heap_bytes;  /* memory SQLite holds for it now */
    uint64_t heap_peak;   /* the most it held since it was opened */
    uint64_t heap_limit;  /* what it may hold */
};
/* Fills *u. Errors: FASTN_ERR_INVAL, _STORE* (reading its size). */
int store_pdb_usage(struct store_pdb *db, struct store_pdb_usage *u);
/* heap_bytes of store_pdb_usage, without touching the database. */
uint64_t store_pdb_heap_bytes(const struct store_pdb *db);
/* Changes what SQLite may hold for db from the next allocation on (0:
 * STORE_PDB_HEAP_DEFAULT; at most STORE_PDB_HEAP_MAX); nothing held is
 * taken back, but nothing more is given past it. */
void store_pdb_heap_limit(struct store_pdb *db, uint64_t bytes);

/* Names the plugin's SQL may not use (refused with FASTN_ERR_STORE_DENIED
 * wherever the text has them, in any case, and by the authorizer): the
 * host's tables in the plugin's database. */
#define STORE_PDB_RESERVED_PREFIX "_fastn_"

/* ---------------------------------------------------------------------- */
/* The notification outbox of a plugin database (outbox.c)                 */
/* ---------------------------------------------------------------------- */

/*
 * A plugin's notifications are written into its own database first
 * (_fastn_outbox, created on first use), inside the plugin's open
 * transaction if it has one: they commit or roll back with its data. The
 * host then moves them into state.sqlite, each with an origin key (plugin
 * name, a random id of this database kept in _fastn_meta, the row's
 * AUTOINCREMENT id) through store_notify_add_once, and deletes the row
 * only after that commit: a crash at any point delivers each exactly once.
 */
#define STORE_OUTBOX_MAX 1000 /* rows waiting in one plugin's outbox */
#define STORE_OUTBOX_ORIGIN_MAX 128

/* Adds a notification to db's outbox (creating the host's tables on first
 * use). title and body as for store_notify_add. 0 means it is committed,
 * or will commit with the plugin's open transaction. Errors:
 * FASTN_ERR_AGAIN (STORE_OUTBOX_MAX rows wait already), _STORE_QUOTA (the
 * database is at its quota), _DISK_FULL, _INVAL, _TOO_LARGE, _STORE*;
 * then nothing was added, and an open transaction of the plugin is as it
 * was (unless SQLite rolled it back, as it does on a full disk or quota
 * when the transaction cannot go on). */
int store_outbox_add(struct store_pdb *db, int64_t time_ms, const char *title,
                     const char *body);

struct store_outbox_row {
    int64_t id;
    int64_t time_ms;
    char *title, *body;
    char origin[STORE_OUTBOX_ORIGIN_MAX];
};

/* The oldest (at most max) committed rows of db's outbox, with their
 * origin keys for a plugin called name. None while a transaction is open
 * (its rows may yet roll back) or before the first notification. */
int store_outbox_peek(struct store_pdb *db, const char *name, size_t max,
                      struct store_outbox_row **rows, size_t *n);
void store_outbox_rows_free(struct store_outbox_row *v, size_t n);
/* Deletes a row that has been moved. */
int store_outbox_ack(struct store_pdb *db, int64_t id);
/* Moves at most max rows of db's outbox into s (peek, add_once, ack), as
 * notifications of name. *moved gets how many left the outbox, *more
 * whether rows remain (still waiting, or beyond max). A row s refuses
 * (bad text) is dropped. On an error (e.g. FASTN_ERR_DISK_FULL) the rows
 * not yet moved stay, and a row added to s but not yet deleted from the
 * outbox is added once only when moved again: call again later. */
int store_outbox_move(struct store_pdb *db, struct store *s, const char *name,
                      size_t max, size_t *moved, bool *more);

/* ---------------------------------------------------------------------- */
/* The address book: where peers were reached (peers.c)                    */
/* ---------------------------------------------------------------------- */

/* Addresses kept per peer; past it the oldest are dropped (those that were
 * dialed successfully are kept over ones only announced). */
#define STORE_PEER_ADDRS_MAX 16
#define STORE_PEER_ID_MAX 64    /* bytes of a binary PeerID */
#define STORE_PEER_ADDR_MAX 512 /* bytes of a binary multiaddr */

/* Creates the address book's table in state.sqlite when it is missing;
 * call once after store_open(). Errors: FASTN_ERR_STORE*. */
int store_peers_open(struct store *s);

struct store_blob {
    const uint8_t *p;
    size_t len;
};

/* Records n addresses (binary multiaddrs) of a peer (binary PeerID) in one
 * transaction: new ones are added, known ones get the new time; dialed
 * marks addresses a connection was made to. Errors: FASTN_ERR_INVAL (an
 * empty peer or address), _TOO_LARGE (longer than the maxima), _STORE*. */
int store_peer_addrs_put(struct store *s, const struct store_blob *peer,
                         const struct store_blob *addrs, size_t n, bool dialed,
                         int64_t now_ms);

/* Records addresses as store_peer_addrs_put() does, but skips the write
 * (state.sqlite syncs each commit) when every address is stored already
 * and they were not dialed: addresses only announced again keep their
 * time, while each successful dial (dialed) refreshes the mark's time, so
 * that of a peer's dialed addresses the one dialed last comes first and
 * is the last dropped. Errors: those of store_peer_addrs_put(). */
int store_peer_addrs_note(struct store *s, const struct store_blob *peer,
                          const struct store_blob *addrs, size_t n, bool dialed,
                          int64_t now_ms);

struct store_peer_addr {
    uint8_t *addr; /* binary multiaddr */
    size_t len;
    bool dialed;
    int64_t updated_ms;
};

/* A peer's addresses, best first (dialed ones, then the most recent).
 * *out is NULL when *n is 0; free with store_peer_addrs_free(). Errors:
 * FASTN_ERR_INVAL, _NOMEM, _STORE*. */
int store_peer_addrs_get(struct store *s, const struct store_blob *peer,
                         struct store_peer_addr **out, size_t *n);
void store_peer_addrs_free(struct store_peer_addr *v, size_t n);

/* Forgets every address of a peer; returns how many were dropped (>= 0)
 * or an error. */
int store_peer_forget(struct store *s, const struct store_blob *peer);

/* Peers the user allowed (fastn peer allow: known from then on, as if
 * dialed), by binary PeerID. allow: 0, or 1 when it was allowed already;
 * disallow: 0, or FASTN_ERR_NOT_FOUND. Errors: FASTN_ERR_INVAL,
 * _TOO_LARGE, _STORE*. */
int store_peer_allow(struct store *s, const struct store_blob *peer,
                     int64_t now_ms);
int store_peer_disallow(struct store *s, const struct store_blob *peer);
bool store_peer_is_allowed(struct store *s, const struct store_blob *peer);
/* The allowed peers (*out: *n entries, NULL when none; free() it). */
struct store_reconnect;
int store_peer_allowed(struct store *s, struct store_reconnect **out,
                       size_t *n);

/* The peers to connect to again at the next start (reconnect.c), at
 * most STORE_RECONNECT_MAX: store_reconnect_save() replaces the list (a
 * clean stop records the peers it was connected to), and
 * store_reconnect_take() reads and empties it (*out: *n entries, NULL
 * when none; free() it). Errors: FASTN_ERR_INVAL (a PeerID empty or
 * longer than STORE_PEER_ID_MAX), _NOMEM, _STORE*. */
#define STORE_RECONNECT_MAX 256
struct store_reconnect {
    uint8_t peer[STORE_PEER_ID_MAX];
    size_t len;
};
int store_reconnect_save(struct store *s, const struct store_blob *peers,
                         size_t n);
int store_reconnect_take(struct store *s, struct store_reconnect **out,
                         size_t *n);

#endif
