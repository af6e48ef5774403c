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
 * files the same mode), opens it without SQLite's mutexes and applies the
 * common settings: WAL with the given sync, defensive mode, no extension
 * loading, untrusted schema, no double-quoted string literals.
 * Errors: FASTN_ERR_IO, _NOMEM, _STORE_CORRUPT, _STORE. */
int store__open_db(const char *path, enum store__sync sync, sqlite3 **out);

/* Maps an SQLite result code (primary or extended) to a fastn_err. */
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

/* plugin_db.c, for outbox.c: a plugin database's connection, and the
 * switch that lets the host's own statements on it pass the authorizer
 * and the step limit. Returns the step count before, to restore with
 * store__pdb_trust(db, false, was) when done. */
sqlite3 *store__pdb_conn(struct store_pdb *db);
uint64_t store__pdb_trust(struct store_pdb *db, bool on, uint64_t steps);

#endif
