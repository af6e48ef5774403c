/*
 * The notification outbox of a plugin database (store.h, "The
 * notification outbox"): the host's tables _fastn_outbox and _fastn_meta
 * in data/NAME/db.sqlite, written through the plugin's own connection so
 * that a notification joins the plugin's transaction, and the move of
 * committed rows into state.sqlite, exactly once.
 *
 * Why a random database id in the key: a plugin removed and installed
 * again starts a new database whose rows count from 1 again; the new id
 * keeps its keys apart from those state.sqlite holds from before. Why
 * AUTOINCREMENT: a plain rowid is reused once the table empties, and a
 * reused id would make a new notification look like one already moved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "fastn/err.h"
#include "store/pdb_int.h"

static const char tables[] = "CREATE TABLE IF NOT EXISTS _fastn_meta("
                             " key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                             "CREATE TABLE IF NOT EXISTS _fastn_outbox("
                             " id INTEGER PRIMARY KEY AUTOINCREMENT,"
                             " time_ms INTEGER NOT NULL,"
                             " title TEXT NOT NULL,"
                             " body TEXT NOT NULL);";

/* The host's statements on the plugin's connection (pdb_int.h). */
struct trusted {
    struct store__host h;
    sqlite3 *c;
};

static void trust_begin(struct trusted *t, struct store_pdb *db, bool writes)
{
    t->c = store__pdb_host_begin(db, writes, &t->h);
}

static void trust_end(struct trusted *t)
{
    store__pdb_host_end(&t->h);
}

/* One integer from a query with at most one text parameter; *out is left
 * alone when there is no row. */
static int query_int(sqlite3 *c, const char *sql, const char *arg, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(c, sql, &st);
    if (err)
        return err;
    if (arg)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        err = store__err(rc);
    sqlite3_finalize(st);
    return err;
}

/* Whether the outbox and the database id are there. */
static bool has_outbox(sqlite3 *c)
{
    int64_t n = 0;
    query_int(c,
              "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
              " AND name IN ('_fastn_outbox', '_fastn_meta')",
              NULL, &n);
    if (n == 2)
        query_int(c,
                  "SELECT count(*) + 2 FROM _fastn_meta"
                  " WHERE key = 'outbox_id'",
                  NULL, &n);
    return n == 3;
}

/* Creates the tables and the database id, if not there yet. */
static int ensure_tables(sqlite3 *c)
{
    uint8_t r[8];
    char sql[160];
    if (has_outbox(c))
        return 0;
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return FASTN_ERR_IO;
    int err = store__exec(c, tables);
    if (err)
        return err;
    snprintf(sql, sizeof(sql),
             "INSERT OR IGNORE INTO _fastn_meta VALUES('outbox_id',"
             " '%02x%02x%02x%02x%02x%02x%02x%02x')",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    return store__exec(c, sql);
}

static int insert_row(sqlite3 *c, int64_t time_ms, const char *title,
                      const char *body)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(
        c, "INSERT INTO _fastn_outbox(time_ms, title, body) VALUES(?, ?, ?)",
        &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, time_ms);
    sqlite3_bind_text(st, 2, title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, body, -1, SQLITE_STATIC);
    err = store__err(sqlite3_step(st));
    sqlite3_finalize(st);
    return err;
}

/* After a failure inside the savepoint: undoes the host's part, and the
 * transaction the savepoint began if the plugin had none (SQLite may have
 * rolled it all back already: then there is nothing left to undo). */
static void outbox_undo(sqlite3 *c, bool plugin_txn)
{
    if (sqlite3_get_autocommit(c))
        return;
    if (store__exec(c, "ROLLBACK TO _fastn_outbox_add") == 0)
        store__exec(c, "RELEASE _fastn_outbox_add");
    if (!plugin_txn && !sqlite3_get_autocommit(c))
        store__exec(c, "ROLLBACK");
}

/* In a transaction of the plugin, a failed statement must not end it: a
 * savepoint undoes just the host's part. Outside one, the RELEASE is the
 * commit, and its failure (a full disk) is the call's. */
int store_outbox_add(struct store_pdb *db, int64_t time_ms, const char *title,
                     const char *body)
{
    struct trusted t;
    int64_t waiting = 0;
    if (!db)
        return FASTN_ERR_INVAL;
    int err = store_notify_check("x", title, body);
    if (err)
        return err;
    trust_begin(&t, db, true);
    bool plugin_txn = !sqlite3_get_autocommit(t.c);
    err = store__exec(t.c, "SAVEPOINT _fastn_outbox_add");
    if (err)
        goto out;
    err = ensure_tables(t.c);
    if (!err)
        err = query_int(t.c, "SELECT count(*) FROM _fastn_outbox", NULL,
                        &waiting);
    if (!err && waiting >= STORE_OUTBOX_MAX)
        err = FASTN_ERR_AGAIN;
    if (!err)
        err = insert_row(t.c, time_ms, title, body);
    if (!err)
        err = store__exec(t.c, "RELEASE _fastn_outbox_add");
    if (err)
        outbox_undo(t.c, plugin_txn);
out:
    trust_end(&t);
    return err;
}

void store_outbox_rows_free(struct store_outbox_row *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].title);
        free(v[i].body);
    }
    free(v);
}

static int read_rows(sqlite3 *c, const char *name, const char *dbid, size_t max,
                     struct store_outbox_row *v, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc, err = store__prepare(c,
                                 "SELECT id, time_ms, title, body FROM"
                                 " _fastn_outbox ORDER BY id LIMIT ?",
                                 &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
    while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_outbox_row *r = &v[(*n)++];
        r->id = sqlite3_column_int64(st, 0);
        r->time_ms = sqlite3_column_int64(st, 1);
        r->title = store__strdup((const char *)sqlite3_column_text(st, 2));
        r->body = store__strdup((const char *)sqlite3_column_text(st, 3));
        snprintf(r->origin, sizeof(r->origin), "%s/%s/%lld", name, dbid,
                 (long long)r->id);
        if (!r->title || !r->body) {
            err = FASTN_ERR_NOMEM;
            break;
        }
    }
    if (!err && *n < max && rc != SQLITE_DONE)
        err = store__err(rc);
    sqlite3_finalize(st);
    return err;
}

/* The database id, as text (NUL-terminated in out). */
static int read_dbid(sqlite3 *c, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(
        c, "SELECT value FROM _fastn_meta WHERE key = 'outbox_id'", &st);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    else
        err = rc == SQLITE_DONE ? FASTN_ERR_STORE : store__err(rc);
    sqlite3_finalize(st);
    return err;
}

int store_outbox_peek(struct store_pdb *db, const char *name, size_t max,
                      struct store_outbox_row **rows, size_t *n)
{
    char dbid[40];
    if (!db || !name || !rows || !n)
        return FASTN_ERR_INVAL;
    *rows = NULL;
    *n = 0;
    if (max == 0 || store_pdb_in_transaction(db))
        return 0;
    if (max > STORE_OUTBOX_MAX)
        max = STORE_OUTBOX_MAX;
    struct trusted t;
    trust_begin(&t, db, false);
    struct store_outbox_row *v = NULL;
    int err = 0;
    if (!has_outbox(t.c))
        goto out;
    err = read_dbid(t.c, dbid, sizeof(dbid));
    if (err)
        goto out;
    v = calloc(max, sizeof(*v));
    if (!v) {
        err = FASTN_ERR_NOMEM;
        goto out;
    }
    err = read_rows(t.c, name, dbid, max, v, n);
out:
    trust_end(&t);
    if (err) {
        store_outbox_rows_free(v, *n);
        *n = 0;
        return err;
    }
    *rows = v;
    return 0;
}

int store_outbox_ack(struct store_pdb *db, int64_t id)
{
    sqlite3_stmt *st = NULL;
    if (!db)
        return FASTN_ERR_INVAL;
    struct trusted t;
    trust_begin(&t, db, true);
    int err =
        store__prepare(t.c, "DELETE FROM _fastn_outbox WHERE id = ?", &st);
    if (!err) {
        sqlite3_bind_int64(st, 1, id);
        err = store__err(sqlite3_step(st));
        sqlite3_finalize(st);
    }
    trust_end(&t);
    return err;
}

int store_outbox_move(struct store_pdb *db, struct store *s, const char *name,
                      size_t max, size_t *moved, bool *more)
{
    struct store_outbox_row *v = NULL;
    size_t n = 0, done = 0;
    if (!db || !s || !name || !moved || !more)
        return FASTN_ERR_INVAL;
    *moved = 0;
    *more = store_pdb_in_transaction(db);
    /* one more than wanted: tells whether rows remain */
    int err = store_outbox_peek(db, name, max + 1, &v, &n);
    if (err)
        return err;
    for (; !err && done < n && done < max; done++) {
        struct store_outbox_row *r = &v[done];
        err = store_notify_add_once(s, r->time_ms, name, r->title, r->body,
                                    r->origin, NULL);
        if (err == FASTN_ERR_INVAL || err == FASTN_ERR_TOO_LARGE || err == 1)
            err = 0; /* refused (dropped) or moved before a crash */
        if (!err)
            err = store_outbox_ack(db, r->id);
    }
    *moved = err ? done - 1 : done;
    *more = *more || n > done || err;
    store_outbox_rows_free(v, n);
    return err < 0 ? err : 0;
}
