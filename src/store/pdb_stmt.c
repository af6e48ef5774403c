/*
 * A plugin database's statements (store.h, "Plugin databases"): the
 * calls the plugin host maps 1:1 onto the ABI's sql_* imports.
 *
 * Statements live in a fixed table of max_statements slots; a handle
 * encodes its slot and a generation, so a stale handle is refused rather
 * than reaching a newer statement. exec, prepare and step run with the
 * call's budget of VM steps and time (pdb_call_begin); binds and column
 * reads only charge their memory to the plugin's account (pdb_enter).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "store/pdb_int.h"

static struct pdb_stmt *lookup(struct store_pdb *db, int32_t h)
{
    if (!db || h <= 0)
        return NULL;
    struct pdb_stmt *s = &db->stmts[(uint32_t)(h - 1) % db->cap];
    return s->st && s->handle == h ? s : NULL;
}

/* The handle for slot i: (gen * cap + i + 1), kept within int32. */
static int32_t new_handle(struct store_pdb *db, unsigned i)
{
    db->gen++;
    if ((uint64_t)db->gen * db->cap + i + 1 > INT32_MAX)
        db->gen = 0;
    return (int32_t)(db->gen * db->cap + i + 1);
}

static int check_sql(struct store_pdb *db, const char *sql, size_t len)
{
    if (!sql && len)
        return pdb_fail(db, FASTN_ERR_INVAL, "no SQL text");
    if (len > STORE_PDB_SQL_MAX)
        return pdb_fail(db, FASTN_ERR_TOO_LARGE, "SQL text too long");
    if (len && memchr(sql, '\0', len))
        return pdb_fail(db, FASTN_ERR_INVAL, "NUL byte inside SQL text");
    if (pdb_names_reserved(sql, len))
        return pdb_fail(db, FASTN_ERR_STORE_DENIED,
                        "not allowed for plugins: names starting "
                        "with " STORE_PDB_RESERVED_PREFIX
                        " are the host's (in any "
                        "case, quoted or not; bind text that has it)");
    return 0;
}

/* True when the rest of the SQL is only blanks, semicolons and comments. */
static bool only_blanks(const char *p, const char *end)
{
    while (p < end) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' ||
            *p == ';') {
            p++;
        } else if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            while (p < end && *p != '\n')
                p++;
        } else if (end - p >= 2 && p[0] == '/' && p[1] == '*') {
            p += 2;
            while (end - p >= 2 && !(p[0] == '*' && p[1] == '/'))
                p++;
            p = end - p >= 2 ? p + 2 : end;
        } else {
            return false;
        }
    }
    return true;
}

/* Prepares sql into slot i; 0 or an error (errmsg set). */
static int prepare_slot(struct store_pdb *db, const char *sql, size_t len,
                        unsigned i)
{
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    struct store__acct *prev = pdb_call_begin(db);
    int rc = sqlite3_prepare_v3(db->db, len ? sql : "", (int)len,
                                SQLITE_PREPARE_PERSISTENT, &st, &tail);
    int err = rc == SQLITE_OK ? 0 : pdb_sql_fail(db, rc);
    if (!err && !st)
        err = pdb_fail(db, FASTN_ERR_INVAL, "no SQL statement");
    if (!err && tail && !only_blanks(tail, sql + len))
        err = pdb_fail(db, FASTN_ERR_INVAL,
                       "prepare takes one statement; use exec for several");
    if (err)
        sqlite3_finalize(st);
    else
        db->stmts[i] = (struct pdb_stmt){st, new_handle(db, i), false};
    pdb_call_end(db, prev);
    return err;
}

int store_pdb_prepare(struct store_pdb *db, const char *sql, size_t len)
{
    unsigned i;
    if (!db)
        return FASTN_ERR_INVAL;
    int err = check_sql(db, sql, len);
    if (err)
        return err;
    for (i = 0; i < db->cap && db->stmts[i].st; i++)
        ;
    if (i == db->cap)
        return pdb_fail(db, FASTN_ERR_PLUGIN_LIMIT,
                        "too many open statements: finalize some");
    err = prepare_slot(db, sql, len, i);
    if (err)
        return err;
    db->open++;
    return db->stmts[i].handle;
}

int store_pdb_finalize(struct store_pdb *db, int32_t h)
{
    struct pdb_stmt *s = lookup(db, h);
    if (!s)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    struct store__acct *prev = pdb_enter(db);
    sqlite3_finalize(s->st);
    pdb_leave(db, prev);
    *s = (struct pdb_stmt){0};
    db->open--;
    return 0;
}

int store_pdb_reset(struct store_pdb *db, int32_t h)
{
    struct pdb_stmt *s = lookup(db, h);
    if (!s)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    s->has_row = false;
    struct store__acct *prev = pdb_enter(db);
    sqlite3_reset(s->st); /* its return repeats the last step's error */
    pdb_leave(db, prev);
    return 0;
}

int store_pdb_step(struct store_pdb *db, int32_t h)
{
    struct pdb_stmt *s = lookup(db, h);
    if (!s)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    struct store__acct *prev = pdb_call_begin(db);
    db->saved_changes = -1;
    int rc = sqlite3_step(s->st);
    int err = rc == SQLITE_ROW ? 1 : 0;
    s->has_row = rc == SQLITE_ROW;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err = pdb_sql_fail(db, rc);
        sqlite3_reset(s->st);
    }
    pdb_call_end(db, prev);
    return err;
}

int store_pdb_exec(struct store_pdb *db, const char *sql, size_t len)
{
    if (!db)
        return FASTN_ERR_INVAL;
    int err = check_sql(db, sql, len);
    if (err)
        return err;
    char *copy = malloc(len + 1); /* sqlite3_exec wants a NUL */
    if (!copy)
        return FASTN_ERR_NOMEM;
    if (len)
        memcpy(copy, sql, len);
    copy[len] = '\0';
    struct store__acct *prev = pdb_call_begin(db);
    db->saved_changes = -1;
    int rc = sqlite3_exec(db->db, copy, NULL, NULL, NULL);
    err = rc == SQLITE_OK ? 0 : pdb_sql_fail(db, rc);
    pdb_call_end(db, prev);
    free(copy);
    return err;
}

/* --- bindings --- */

/* Finds h for binding: a statement mid-way through its rows must be reset
 * first (SQLite would call it misuse). */
static int bind_target(struct store_pdb *db, int32_t h, int idx,
                       struct pdb_stmt **out)
{
    struct pdb_stmt *s = lookup(db, h);
    if (!s)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    if (sqlite3_stmt_busy(s->st))
        return pdb_fail(db, FASTN_ERR_INVAL,
                        "reset the statement before binding");
    if (idx < 1 || idx > sqlite3_bind_parameter_count(s->st))
        return pdb_fail(db, FASTN_ERR_INVAL, "no such parameter index");
    *out = s;
    return 0;
}

enum bind_kind { B_NULL, B_INT64, B_DOUBLE, B_TEXT, B_BLOB };

struct bind_value {
    enum bind_kind kind;
    int64_t i;
    double d;
    const void *p;
    size_t n;
};

/* Binds v (text and blobs copied, SQLITE_TRANSIENT: the plugin's memory
 * may move or change once the call returns; charged to its account). */
static int bind(struct store_pdb *db, int32_t h, int idx,
                const struct bind_value *v)
{
    struct pdb_stmt *s = NULL;
    int err = bind_target(db, h, idx, &s);
    if (err)
        return err;
    if ((v->kind == B_TEXT || v->kind == B_BLOB) && v->n > STORE_PDB_VALUE_MAX)
        return pdb_fail(db, FASTN_ERR_TOO_LARGE, "value too long");
    if ((v->kind == B_TEXT || v->kind == B_BLOB) && !v->p && v->n)
        return pdb_fail(db, FASTN_ERR_INVAL,
                        v->kind == B_TEXT ? "no text" : "no blob");
    struct store__acct *prev = pdb_enter(db);
    int rc = SQLITE_OK;
    if (v->kind == B_NULL)
        rc = sqlite3_bind_null(s->st, idx);
    else if (v->kind == B_INT64)
        rc = sqlite3_bind_int64(s->st, idx, v->i);
    else if (v->kind == B_DOUBLE)
        rc = sqlite3_bind_double(s->st, idx, v->d);
    else if (v->kind == B_TEXT)
        rc = sqlite3_bind_text(s->st, idx, v->n ? v->p : "", (int)v->n,
                               SQLITE_TRANSIENT);
    else if (v->n == 0)
        rc = sqlite3_bind_zeroblob(s->st, idx, 0);
    else
        rc = sqlite3_bind_blob(s->st, idx, v->p, (int)v->n, SQLITE_TRANSIENT);
    err = rc == SQLITE_OK ? 0 : pdb_sql_fail(db, rc);
    pdb_leave(db, prev);
    return err;
}

int store_pdb_bind_null(struct store_pdb *db, int32_t h, int idx)
{
    return bind(db, h, idx, &(struct bind_value){.kind = B_NULL});
}

int store_pdb_bind_int64(struct store_pdb *db, int32_t h, int idx, int64_t v)
{
    return bind(db, h, idx, &(struct bind_value){.kind = B_INT64, .i = v});
}

int store_pdb_bind_double(struct store_pdb *db, int32_t h, int idx, double v)
{
    return bind(db, h, idx, &(struct bind_value){.kind = B_DOUBLE, .d = v});
}

int store_pdb_bind_text(struct store_pdb *db, int32_t h, int idx, const void *p,
                        size_t n)
{
    return bind(db, h, idx,
                &(struct bind_value){.kind = B_TEXT, .p = p, .n = n});
}

int store_pdb_bind_blob(struct store_pdb *db, int32_t h, int idx, const void *p,
                        size_t n)
{
    return bind(db, h, idx,
                &(struct bind_value){.kind = B_BLOB, .p = p, .n = n});
}

/* --- columns --- */

int store_pdb_column_count(struct store_pdb *db, int32_t h)
{
    struct pdb_stmt *s = lookup(db, h);
    return s ? sqlite3_column_count(s->st) : FASTN_ERR_PLUGIN_BAD_HANDLE;
}

/* Finds h's current row and checks col. */
static int row_target(struct store_pdb *db, int32_t h, int col,
                      struct pdb_stmt **out)
{
    struct pdb_stmt *s = lookup(db, h);
    if (!s)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    if (!s->has_row)
        return pdb_fail(db, FASTN_ERR_INVAL, "no current row: step first");
    if (col < 0 || col >= sqlite3_column_count(s->st))
        return pdb_fail(db, FASTN_ERR_INVAL, "no such column");
    *out = s;
    return 0;
}

int store_pdb_column_type(struct store_pdb *db, int32_t h, int col)
{
    struct pdb_stmt *s = NULL;
    int err = row_target(db, h, col, &s);
    return err ? err : sqlite3_column_type(s->st, col);
}

int64_t store_pdb_column_int64(struct store_pdb *db, int32_t h, int col)
{
    struct pdb_stmt *s = NULL;
    if (row_target(db, h, col, &s))
        return 0;
    struct store__acct *prev = pdb_enter(db);
    int64_t v = sqlite3_column_int64(s->st, col);
    pdb_leave(db, prev);
    return v;
}

double store_pdb_column_double(struct store_pdb *db, int32_t h, int col)
{
    struct pdb_stmt *s = NULL;
    if (row_target(db, h, col, &s))
        return 0.0;
    struct store__acct *prev = pdb_enter(db);
    double v = sqlite3_column_double(s->st, col);
    pdb_leave(db, prev);
    return v;
}

int store_pdb_column_bytes(struct store_pdb *db, int32_t h, int col,
                           const uint8_t **p, size_t *n)
{
    struct pdb_stmt *s = NULL;
    int err = row_target(db, h, col, &s);
    if (err)
        return err;
    struct store__acct *prev = pdb_enter(db);
    int type = sqlite3_column_type(s->st, col);
    const void *v = NULL;
    if (type == SQLITE_BLOB)
        v = sqlite3_column_blob(s->st, col);
    else if (type != SQLITE_NULL)
        v = sqlite3_column_text(s->st, col);
    int len = sqlite3_column_bytes(s->st, col);
    if (type != SQLITE_NULL && !v && len > 0)
        err = pdb_sql_fail(db, SQLITE_NOMEM);
    pdb_leave(db, prev);
    if (err)
        return err;
    *p = len > 0 ? v : NULL;
    *n = len > 0 ? (size_t)len : 0;
    return 0;
}

/* --- the rest --- */

int store_pdb_changes(struct store_pdb *db)
{
    if (!db)
        return FASTN_ERR_INVAL;
    return db->saved_changes >= 0 ? db->saved_changes : sqlite3_changes(db->db);
}

int64_t store_pdb_last_insert_rowid(struct store_pdb *db)
{
    return db ? sqlite3_last_insert_rowid(db->db) : 0;
}

const char *store_pdb_errmsg(struct store_pdb *db)
{
    return db ? db->errmsg : "";
}

int store_pdb_statement_count(const struct store_pdb *db)
{
    return db ? (int)db->open : 0;
}
