/*
 * Internals shared by the store's files: opening a connection with the
 * settings every fastn database gets, mapping SQLite result codes to
 * fastn_err, and checking strings that come from outside.
 */
#ifndef FASTN_STORE_INT_H
#define FASTN_STORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store__sub {
    unsigned id; /* 0: free slot (unsubscribed) */
    store_notify_fn fn;
    void *arg;
};

struct store {
    sqlite3 *db;
    struct store_options opts;
    uint64_t quarantine_total; /* bytes held, kept in step with the table */
    uint64_t quarantine_count; /* items held, likewise */
    struct store__sub *subs;
    size_t n_subs, cap_subs;
    unsigned next_sub;
    int dispatching; /* > 0 while subscribers are being called */
};

enum store__sync {
    STORE__SYNC_FULL,   /* every commit synced: survives a power loss */
    STORE__SYNC_NORMAL, /* survives kill -9; a power loss may undo the last */
};

/* Creates path with mode 0600 when missing (SQLite gives its -wal and -shm
 * files the same mode), opens it through the "fastn" VFS without SQLite's
 * mutexes and applies the common settings: WAL with the given sync,
 * defensive mode, no extension loading, untrusted schema, no double-quoted
 * string literals, temp_store MEMORY, no mmap. plugin: a plugin database,
 * opened with its account current, in EXCLUSIVE locking mode (its WAL
 * index in heap memory, no -shm file). page_size: a new database's page
 * size (0: SQLite's); an existing one keeps its own.
 * Errors: FASTN_ERR_IO, _NOMEM, _STORE_CORRUPT, _STORE, _INTERNAL. */
int store__open_db(const char *path, enum store__sync sync, bool plugin,
                   unsigned page_size, sqlite3 **out);

/* Maps an SQLite result code (primary or extended) to a fastn_err: a
 * SQLITE_FULL or I/O error after the file system ran out of room
 * (store__fault) is FASTN_ERR_DISK_FULL, another SQLITE_FULL is
 * FASTN_ERR_STORE_QUOTA. */
int store__err(int rc);

/* Runs SQL without results on a connection the daemon trusts. */
int store__exec(sqlite3 *db, const char *sql);

/* True when p[0..n) is valid UTF-8 with no control characters other than
 * those allowed (e.g. "\n\t"; NULL for none). */
bool store__text_ok(const char *p, size_t n, const char *allowed_ctl);

/* Prepares a statement of the daemon's own (not plugin) SQL. */
int store__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out);

/* Quarantine set-up at open: totals, and items a dead daemon left open. */
int store__quarantine_open(struct store *s);

/* strdup that returns NULL for NULL. */
char *store__strdup(const char *s);

/* --- accounts (mem.c, vfs.c): what one plugin database uses ---------- */

/*
 * SQLite's allocator is process-wide; fastn replaces it (mem.c) with one
 * that charges every allocation to the account current on the calling
 * thread (store__acct_enter), as the plugin database's calls set it, and
 * refuses one past the account's limit (SQLite answers SQLITE_NOMEM).
 * Each block remembers its account, so it is uncharged from the right
 * one wherever it is freed. The same account counts the plugin's files
 * (vfs.c: files opened while it is current are its own): the database,
 * and the write-ahead log and journal, which may grow only while the
 * database's pages (as of its last commit, or the log's transaction) and
 * the log together stay within quota.
 * An account lives until its owner has closed it and its last block and
 * file are gone. With no account current (state.sqlite), nothing is
 * charged or limited.
 */
struct store__acct {
    uint64_t bytes;      /* heap held now (blocks and their headers) */
    uint64_t peak;       /* the most it held */
    uint64_t limit;      /* heap it may hold; 0: none */
    uint64_t refs;       /* live blocks and open files */
    bool closed;         /* its owner is gone: freed with the last ref */
    bool trusted;        /* the host's own statements: charged, never refused */
    bool refused;        /* an allocation was refused for the limit */
    bool stopping;       /* check said stop: allocations are refused */
    uint64_t allocated;  /* bytes allocated since store__acct_work_reset */
    uint64_t next_check; /* allocated at which check is called next */
    /* Called every STORE__CHECK_BYTES allocated (the call's clock); false
     * stops the call: allocations are refused until the next reset. */
    bool (*check)(void *arg);
    void *check_arg;
    /* files (vfs.c) */
    uint64_t db_bytes;   /* the database file */
    uint64_t wal_bytes;  /* -wal and -journal */
    uint64_t quota;      /* pages and log together; 0: no limit */
    uint32_t page_size;  /* 0: not known yet (no limit either) */
    uint32_t db_pages;   /* the database's pages as of its last commit */
    uint32_t txn_pages;  /* the highest page the open transaction logged */
    uint64_t wal_live;   /* where the log's committed frames end */
    uint64_t blob_bytes; /* the blobs beside it (blob.c), in the quota too */
};

#define STORE__CHECK_BYTES (256u << 10)

/* A blob record's header (blob.c), as parsed from a pack. */
struct store__blob_header {
    uint8_t key[STORE_BLOB_KEY_MAX];
    uint8_t key_len;
    bool dead; /* deleted where punching was refused */
    uint64_t data_len;
};

/* Parses the first n bytes of a record's header block: its magic (live
 * or dead), CRC, version, key length (1..STORE_BLOB_KEY_MAX) and data
 * length (at most STORE_BLOB_MAX). Errors: FASTN_ERR_INVAL. */
int store__blob_header_parse(const uint8_t *h, size_t n,
                             struct store__blob_header *out);
/* The bytes a record of data_len bytes takes in its pack (and in the
 * quota): a STORE_BLOB_UNIT header, the data rounded up to the unit. */
uint64_t store__blob_record_size(uint64_t data_len);

/* Once per process, before any other SQLite call: installs the allocator
 * and registers the "fastn" VFS. accounted: the caller needs accounts
 * (a plugin database). Errors: FASTN_ERR_INTERNAL (SQLite could not be
 * set up, or was set up before the store could install its allocator and
 * accounted was asked for). */
int store__init(bool accounted);
/* A new account with that heap limit (0: none). NULL when out of memory. */
struct store__acct *store__acct_new(uint64_t limit);
/* Its owner is done with it; freed once nothing is charged to it. NULL
 * does nothing. */
void store__acct_close(struct store__acct *a);
/* Makes a the account charged on this thread (NULL: none); returns the
 * one before, to restore with store__acct_leave. */
struct store__acct *store__acct_enter(struct store__acct *a);
void store__acct_leave(struct store__acct *prev);
/* Starts a call's count of allocated bytes; clears refused and stopping. */
void store__acct_work_reset(struct store__acct *a);
/* For vfs.c: an open file holds a reference too; the current account. */
void store__acct_ref(struct store__acct *a);
void store__acct_unref(struct store__acct *a);
struct store__acct *store__acct_current(void);

/* The VFS every store connection uses (vfs.c): the system's, which also
 * counts an account's files, holds its pages and log within quota, refuses
 * temporary files while an account is current (temp_store is MEMORY: none
 * should be asked for, none may land outside the home), and notes why the
 * last write failed. */
#define STORE__VFS "fastn"
int store__vfs_register(void);

enum store__fault {
    STORE__FAULT_NONE,
    STORE__FAULT_DISK_FULL, /* no room: ENOSPC, EDQUOT, EFBIG */
    STORE__FAULT_QUOTA,     /* pages and log would pass the quota */
    STORE__FAULT_TEMP,      /* a temporary file was asked for and refused */
};
/* Why the last write on this thread failed. A write to the daemon's own
 * files that succeeds clears it; for a plugin's, only
 * store__fault_clear (at each call) does. */
enum store__fault store__fault(void);
void store__fault_clear(void);

#endif
