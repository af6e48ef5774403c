/*
 * Plugin databases: data/NAME/db.sqlite, one per plugin, reached only
 * through this file's handle-based calls, which the plugin host maps 1:1
 * onto the ABI's sql_* imports.
 *
 * What keeps a plugin inside its own database:
 *  - an authorizer (run when each statement is prepared, for triggers and
 *    views too) that refuses ATTACH and DETACH, any schema but "main"
 *    (so no temp tables either: they would escape the quota), pragmas
 *    outside a short read-mostly list, load_extension() and
 *    fts3_tokenizer(), and virtual tables other than fts5 and rtree;
 *  - SQLITE_LIMIT_ATTACHED 0 and extension loading off, in case the
 *    authorizer is ever bypassed; defensive mode (no writable_schema);
 *  - max_page_count as the size quota (writes past it fail with
 *    FASTN_ERR_STORE_QUOTA, and the plugin cannot raise it: that pragma
 *    may only be read);
 *  - a progress handler that stops any one call after max_vm_steps of
 *    SQLite VM work, since fuel does not run inside the host;
 *  - tight SQLite limits on lengths, expression depth and the like.
 * Tables whose names start with "_fastn_" are the host's (the
 * notification outbox, outbox.c): the authorizer refuses any statement of
 * the plugin that names one; the host's own statements run trusted.
 * Statements live in a fixed table of max_statements slots; a handle
 * encodes its slot and a generation, so a stale handle is refused
 * rather than reaching a newer statement.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastn/err.h"
#include "store/store_int.h"

#define NAME_MAX_LEN 64
#define PROGRESS_EVERY 1000 /* VM steps between progress handler calls */
#define ERRMSG_MAX 256

struct pdb_stmt {
    sqlite3_stmt *st; /* NULL: free slot */
    int32_t handle;
    bool has_row; /* the last step returned a row */
};

struct store_pdb {
    sqlite3 *db;
    struct pdb_stmt *stmts;
    unsigned cap, open;
    uint32_t gen; /* bumped on each prepare, part of the handle */
    uint64_t quota_bytes;
    uint64_t max_vm_steps, vm_steps;
    uint64_t call_steps; /* this call's limit: <= max_vm_steps */
    bool trusted;        /* the host's own SQL: the authorizer lets it pass */
    /* what the plugin's last statement left, kept across the host's own */
    int64_t saved_rowid;
    int saved_changes; /* -1: none kept, sqlite3_changes is the plugin's */
    const char *deny_reason;
    char deny_detail[64];
    char errmsg[ERRMSG_MAX];
};

/* --- names and paths --- */

static bool name_ok(const char *name)
{
    size_t n = name ? strnlen(name, NAME_MAX_LEN + 1) : 0;
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return FASTN_ERR_IO;
}

static int pdb_path(char *out, size_t cap, const char *dir, const char *name,
                    const char *file)
{
    int n = snprintf(out, cap, "%s/%s%s%s", dir, name, file ? "/" : "",
                     file ? file : "");
    return n > 0 && (size_t)n < cap ? 0 : FASTN_ERR_TOO_LARGE;
}

/* --- errors --- */

static void set_errmsg(struct store_pdb *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_errmsg(struct store_pdb *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(db->errmsg, sizeof(db->errmsg), fmt, ap);
    va_end(ap);
}

/* Turns an SQLite failure into a fastn_err and an errmsg that says what
 * happened in the plugin's terms. */
static int sql_fail(struct store_pdb *db, int rc)
{
    int err = store__err(rc);
    /* A denial inside name resolution (functions) comes back as a plain
     * SQLITE_ERROR: the reason recorded by the authorizer is what counts. */
    if (db->deny_reason)
        err = FASTN_ERR_STORE_DENIED;
    if (err == FASTN_ERR_STORE_DENIED && db->deny_reason)
        set_errmsg(db, "not allowed for plugins: %s%s", db->deny_reason,
                   db->deny_detail);
    else if (err == FASTN_ERR_STORE_QUOTA)
        set_errmsg(db, "the database is at its quota of %llu bytes",
                   (unsigned long long)db->quota_bytes);
    else if (err == FASTN_ERR_STORE_LIMIT)
        set_errmsg(db, "the statement was stopped after %llu steps of work",
                   (unsigned long long)db->call_steps);
    else
        set_errmsg(db, "%s", sqlite3_errmsg(db->db));
    db->deny_reason = NULL;
    return err;
}

static int fail(struct store_pdb *db, int err, const char *msg)
{
    set_errmsg(db, "%s", msg);
    return err;
}

/* --- the authorizer --- */

enum { PRAGMA_READ = 1, PRAGMA_ARG = 2, PRAGMA_SET = 4 };

static const struct {
    const char *name;
    int how; /* PRAGMA_READ: bare; _ARG: with an argument; _SET: = value */
} pragmas[] = {
    {"table_info", PRAGMA_ARG},
    {"table_xinfo", PRAGMA_ARG},
    {"table_list", PRAGMA_READ | PRAGMA_ARG},
    {"index_list", PRAGMA_ARG},
    {"index_info", PRAGMA_ARG},
    {"index_xinfo", PRAGMA_ARG},
    {"foreign_key_list", PRAGMA_ARG},
    {"foreign_key_check", PRAGMA_READ | PRAGMA_ARG},
    {"integrity_check", PRAGMA_READ | PRAGMA_ARG},
    {"quick_check", PRAGMA_READ | PRAGMA_ARG},
    {"page_count", PRAGMA_READ},
    {"page_size", PRAGMA_READ},
    {"max_page_count", PRAGMA_READ},
    {"freelist_count", PRAGMA_READ},
    {"data_version", PRAGMA_READ},
    {"schema_version", PRAGMA_READ},
    {"user_version", PRAGMA_READ | PRAGMA_SET},
    {"application_id", PRAGMA_READ | PRAGMA_SET},
    {"foreign_keys", PRAGMA_READ | PRAGMA_SET},
    {"defer_foreign_keys", PRAGMA_READ | PRAGMA_SET},
    {"recursive_triggers", PRAGMA_READ | PRAGMA_SET},
};

/* arg is NULL for a bare pragma, else its argument or value (SQLite does
 * not tell `PRAGMA x(v)` from `PRAGMA x = v`, so a pragma is either
 * argument-taking or settable, never both). */
static bool pragma_allowed(const char *name, const char *arg)
{
    if (!name)
        return false;
    for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
        if (strcasecmp(name, pragmas[i].name) != 0)
            continue;
        if (!arg)
            return pragmas[i].how & PRAGMA_READ;
        return pragmas[i].how & (PRAGMA_ARG | PRAGMA_SET);
    }
    return false;
}

static bool function_allowed(const char *name)
{
    return !name || (strcasecmp(name, "load_extension") != 0 &&
                     strcasecmp(name, "fts3_tokenizer") != 0);
}

static bool vtab_module_allowed(const char *module)
{
    return module && (strcasecmp(module, "fts5") == 0 ||
                      strcasecmp(module, "rtree") == 0);
}

static int deny(struct store_pdb *db, const char *reason, const char *detail)
{
    db->deny_reason = reason;
    snprintf(db->deny_detail, sizeof(db->deny_detail), "%s%s",
             detail ? " " : "", detail ? detail : "");
    return SQLITE_DENY;
}

static bool reserved(const char *name)
{
    return name && strncasecmp(name, STORE_PDB_RESERVED_PREFIX,
                               sizeof(STORE_PDB_RESERVED_PREFIX) - 1) == 0;
}

static int authorize(void *arg, int action, const char *a3, const char *a4,
                     const char *schema, const char *trigger)
{
    struct store_pdb *db = arg;
    (void)trigger;
    if (db->trusted)
        return SQLITE_OK;
    if (schema && strcmp(schema, "main") != 0)
        return deny(db, "only the plugin's own database (main) is reachable;",
                    schema);
    /* a3 or a4 names the table, index, trigger, view or savepoint of
     * every action, except a4 of a read or update: a column of the
     * plugin's own table may have any name */
    if (reserved(a3) ||
        (action != SQLITE_READ && action != SQLITE_UPDATE && reserved(a4)))
        return deny(db,
                    "names starting with " STORE_PDB_RESERVED_PREFIX
                    " are the host's:",
                    reserved(a3) ? a3 : a4);
    switch (action) {
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
        return deny(db, "ATTACH and DETACH", NULL);
    case SQLITE_PRAGMA:
        return pragma_allowed(a3, a4) ? SQLITE_OK : deny(db, "PRAGMA", a3);
    case SQLITE_FUNCTION:
        return function_allowed(a4) ? SQLITE_OK : deny(db, "function", a4);
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
        return vtab_module_allowed(a4) ? SQLITE_OK
                                       : deny(db, "virtual table module", a4);
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW:
        return deny(db, "temporary tables, views, indexes and triggers", NULL);
    default:
        return SQLITE_OK;
    }
}

static int progress(void *arg)
{
    struct store_pdb *db = arg;
    db->vm_steps += PROGRESS_EVERY;
    /* the host's statements are small; bounded all the same, in case
     * one ever fires something of the plugin's (a trigger on a _fastn_
     * table cannot be made: created on one is refused, and so is ALTER
     * TABLE ... RENAME, which touches the temp schema) */
    return db->vm_steps > (db->trusted ? db->max_vm_steps : db->call_steps);
}

/* --- opening --- */

static void set_limits(sqlite3 *db)
{
    static const int lim[][2] = {
        {SQLITE_LIMIT_LENGTH, STORE_PDB_VALUE_MAX},
        {SQLITE_LIMIT_SQL_LENGTH, STORE_PDB_SQL_MAX},
        {SQLITE_LIMIT_COLUMN, 500},
        {SQLITE_LIMIT_EXPR_DEPTH, 100},
        {SQLITE_LIMIT_COMPOUND_SELECT, 50},
        {SQLITE_LIMIT_VDBE_OP, 50000},
        {SQLITE_LIMIT_FUNCTION_ARG, 32},
        {SQLITE_LIMIT_ATTACHED, 0},
        {SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 1000},
        {SQLITE_LIMIT_VARIABLE_NUMBER, 999},
        {SQLITE_LIMIT_TRIGGER_DEPTH, 10},
        {SQLITE_LIMIT_WORKER_THREADS, 0},
    };
    for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++)
        sqlite3_limit(db, lim[i][0], lim[i][1]);
}

/* Sets the size quota: max_page_count from quota_bytes, at least the
 * pages SQLite needs for an empty schema. */
static int set_quota(struct store_pdb *db)
{
    char sql[160];
    sqlite3_stmt *st = NULL;
    int err = store__prepare(db->db, "PRAGMA page_size", &st);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    int64_t page = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (page <= 0)
        return rc == SQLITE_ROW ? FASTN_ERR_STORE : store__err(rc);
    uint64_t pages = db->quota_bytes / (uint64_t)page;
    uint64_t journal =
        db->quota_bytes < (4u << 20) ? db->quota_bytes : (4u << 20);
    snprintf(sql, sizeof(sql),
             "PRAGMA max_page_count=%llu; PRAGMA journal_size_limit=%llu;"
             "PRAGMA cache_size=-1024;",
             (unsigned long long)(pages < 4 ? 4 : pages),
             (unsigned long long)journal);
    return store__exec(db->db, sql);
}

static void apply_limits(struct store_pdb *db, const struct store_pdb_limits *l)
{
    struct store_pdb_limits d = {0};
    if (!l)
        l = &d;
    db->quota_bytes = l->quota_bytes ? l->quota_bytes : STORE_PDB_QUOTA_DEFAULT;
    if (db->quota_bytes > STORE_PDB_QUOTA_MAX)
        db->quota_bytes = STORE_PDB_QUOTA_MAX;
    db->cap =
        l->max_statements ? l->max_statements : STORE_PDB_STATEMENTS_DEFAULT;
    if (db->cap > STORE_PDB_STATEMENTS_MAX)
        db->cap = STORE_PDB_STATEMENTS_MAX;
    db->max_vm_steps =
        l->max_vm_steps ? l->max_vm_steps : STORE_PDB_VM_STEPS_DEFAULT;
    db->call_steps = db->max_vm_steps;
}

static int open_dirs_and_db(struct store_pdb *db, const char *data_dir,
                            const char *name)
{
    char path[4096];
    int err = make_dir(data_dir);
    if (!err)
        err = pdb_path(path, sizeof(path), data_dir, name, NULL);
    if (!err)
        err = make_dir(path);
    if (!err)
        err = pdb_path(path, sizeof(path), data_dir, name, "db.sqlite");
    if (!err)
        err = store__open_db(path, STORE__SYNC_NORMAL, &db->db);
    return err;
}

int store_pdb_open(const char *data_dir, const char *name,
                   const struct store_pdb_limits *lim, struct store_pdb **out)
{
    if (!data_dir || !out || !name_ok(name))
        return FASTN_ERR_INVAL;
    struct store_pdb *db = calloc(1, sizeof(*db));
    if (!db)
        return FASTN_ERR_NOMEM;
    apply_limits(db, lim);
    db->saved_changes = -1;
    int err = FASTN_ERR_NOMEM;
    db->stmts = calloc(db->cap, sizeof(*db->stmts));
    if (!db->stmts)
        goto out_free;
    err = open_dirs_and_db(db, data_dir, name);
    if (!err)
        err = set_quota(db);
    if (err)
        goto out_free;
    set_limits(db->db);
    sqlite3_set_authorizer(db->db, authorize, db);
    sqlite3_progress_handler(db->db, PROGRESS_EVERY, progress, db);
    *out = db;
    return 0;
out_free:
    store_pdb_close(db);
    return err;
}

void store_pdb_close(struct store_pdb *db)
{
    if (!db)
        return;
    for (unsigned i = 0; db->stmts && i < db->cap; i++)
        sqlite3_finalize(db->stmts[i].st);
    sqlite3_close_v2(db->db); /* rolls back an open transaction */
    free(db->stmts);
    free(db);
}

int store_pdb_destroy(const char *data_dir, const char *name)
{
    static const char *files[] = {"db.sqlite", "db.sqlite-wal", "db.sqlite-shm",
                                  "db.sqlite-journal"};
    char path[4096];
    if (!data_dir || !name_ok(name))
        return FASTN_ERR_INVAL;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        int err = pdb_path(path, sizeof(path), data_dir, name, files[i]);
        if (err)
            return err;
        if (unlink(path) != 0 && errno != ENOENT)
            return FASTN_ERR_IO;
    }
    int err = pdb_path(path, sizeof(path), data_dir, name, NULL);
    if (err)
        return err;
    if (rmdir(path) != 0 && errno != ENOENT)
        return FASTN_ERR_IO;
    return 0;
}

/* --- statements --- */

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
        return fail(db, FASTN_ERR_INVAL, "no SQL text");
    if (len > STORE_PDB_SQL_MAX)
        return fail(db, FASTN_ERR_TOO_LARGE, "SQL text too long");
    if (len && memchr(sql, '\0', len))
        return fail(db, FASTN_ERR_INVAL, "NUL byte inside SQL text");
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

int store_pdb_prepare(struct store_pdb *db, const char *sql, size_t len)
{
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    unsigned i;
    if (!db)
        return FASTN_ERR_INVAL;
    int err = check_sql(db, sql, len);
    if (err)
        return err;
    for (i = 0; i < db->cap && db->stmts[i].st; i++)
        ;
    if (i == db->cap)
        return fail(db, FASTN_ERR_PLUGIN_LIMIT,
                    "too many open statements: finalize some");
    db->deny_reason = NULL;
    int rc = sqlite3_prepare_v3(db->db, len ? sql : "", (int)len,
                                SQLITE_PREPARE_PERSISTENT, &st, &tail);
    if (rc != SQLITE_OK)
        return sql_fail(db, rc);
    if (!st)
        return fail(db, FASTN_ERR_INVAL, "no SQL statement");
    if (tail && !only_blanks(tail, sql + len)) {
        sqlite3_finalize(st);
        return fail(db, FASTN_ERR_INVAL,
                    "prepare takes one statement; use exec for several");
    }
    db->stmts[i] = (struct pdb_stmt){st, new_handle(db, i), false};
    db->open++;
    return db->stmts[i].handle;
}

int store_pdb_finalize(struct store_pdb *db, int32_t h)
{
    struct pdb_stmt *s = lookup(db, h);
    if (!s)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    sqlite3_finalize(s->st);
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
    sqlite3_reset(s->st); /* its return repeats the last step's error */
    return 0;
}

int store_pdb_step(struct store_pdb *db, int32_t h)
{
    struct pdb_stmt *s = lookup(db, h);
    if (!s)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    db->vm_steps = 0;
    db->deny_reason = NULL;
    db->saved_changes = -1;
    int rc = sqlite3_step(s->st);
    s->has_row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    int err = sql_fail(db, rc);
    sqlite3_reset(s->st);
    return err;
}

uint64_t store_pdb_last_steps(const struct store_pdb *db)
{
    return db ? db->vm_steps : 0;
}

void store_pdb_step_limit(struct store_pdb *db, uint64_t steps)
{
    if (db)
        db->call_steps = steps < db->max_vm_steps ? steps : db->max_vm_steps;
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
    db->vm_steps = 0;
    db->deny_reason = NULL;
    db->saved_changes = -1;
    int rc = sqlite3_exec(db->db, copy, NULL, NULL, NULL);
    free(copy);
    return rc == SQLITE_OK ? 0 : sql_fail(db, rc);
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
        return fail(db, FASTN_ERR_INVAL, "reset the statement before binding");
    if (idx < 1 || idx > sqlite3_bind_parameter_count(s->st))
        return fail(db, FASTN_ERR_INVAL, "no such parameter index");
    *out = s;
    return 0;
}

static int bind_done(struct store_pdb *db, int rc)
{
    return rc == SQLITE_OK ? 0 : sql_fail(db, rc);
}

int store_pdb_bind_null(struct store_pdb *db, int32_t h, int idx)
{
    struct pdb_stmt *s;
    int err = bind_target(db, h, idx, &s);
    return err ? err : bind_done(db, sqlite3_bind_null(s->st, idx));
}

int store_pdb_bind_int64(struct store_pdb *db, int32_t h, int idx, int64_t v)
{
    struct pdb_stmt *s;
    int err = bind_target(db, h, idx, &s);
    return err ? err : bind_done(db, sqlite3_bind_int64(s->st, idx, v));
}

int store_pdb_bind_double(struct store_pdb *db, int32_t h, int idx, double v)
{
    struct pdb_stmt *s;
    int err = bind_target(db, h, idx, &s);
    return err ? err : bind_done(db, sqlite3_bind_double(s->st, idx, v));
}

/* bind_target, then checks a text or blob value of n bytes at p. */
static int bind_value_target(struct store_pdb *db, int32_t h, int idx,
                             const void *p, size_t n, const char *missing,
                             struct pdb_stmt **s)
{
    int err = bind_target(db, h, idx, s);
    if (err)
        return err;
    if (n > STORE_PDB_VALUE_MAX)
        return fail(db, FASTN_ERR_TOO_LARGE, "value too long");
    if (!p && n)
        return fail(db, FASTN_ERR_INVAL, missing);
    return 0;
}

/* Text and blob values are copied (SQLITE_TRANSIENT): the plugin's memory
 * may move or change once the call returns. */
int store_pdb_bind_text(struct store_pdb *db, int32_t h, int idx, const void *p,
                        size_t n)
{
    struct pdb_stmt *s;
    int err = bind_value_target(db, h, idx, p, n, "no text", &s);
    if (err)
        return err;
    return bind_done(db, sqlite3_bind_text(s->st, idx, n ? p : "", (int)n,
                                           SQLITE_TRANSIENT));
}

int store_pdb_bind_blob(struct store_pdb *db, int32_t h, int idx, const void *p,
                        size_t n)
{
    struct pdb_stmt *s;
    int err = bind_value_target(db, h, idx, p, n, "no blob", &s);
    if (err)
        return err;
    if (n == 0)
        return bind_done(db, sqlite3_bind_zeroblob(s->st, idx, 0));
    return bind_done(
        db, sqlite3_bind_blob(s->st, idx, p, (int)n, SQLITE_TRANSIENT));
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
        return fail(db, FASTN_ERR_INVAL, "no current row: step first");
    if (col < 0 || col >= sqlite3_column_count(s->st))
        return fail(db, FASTN_ERR_INVAL, "no such column");
    *out = s;
    return 0;
}

int store_pdb_column_type(struct store_pdb *db, int32_t h, int col)
{
    struct pdb_stmt *s;
    int err = row_target(db, h, col, &s);
    return err ? err : sqlite3_column_type(s->st, col);
}

int64_t store_pdb_column_int64(struct store_pdb *db, int32_t h, int col)
{
    struct pdb_stmt *s;
    return row_target(db, h, col, &s) ? 0 : sqlite3_column_int64(s->st, col);
}

double store_pdb_column_double(struct store_pdb *db, int32_t h, int col)
{
    struct pdb_stmt *s;
    return row_target(db, h, col, &s) ? 0.0 : sqlite3_column_double(s->st, col);
}

int store_pdb_column_bytes(struct store_pdb *db, int32_t h, int col,
                           const uint8_t **p, size_t *n)
{
    struct pdb_stmt *s;
    int err = row_target(db, h, col, &s);
    if (err)
        return err;
    int type = sqlite3_column_type(s->st, col);
    const void *v = NULL;
    if (type == SQLITE_BLOB)
        v = sqlite3_column_blob(s->st, col);
    else if (type != SQLITE_NULL)
        v = sqlite3_column_text(s->st, col);
    int len = sqlite3_column_bytes(s->st, col);
    if (type != SQLITE_NULL && !v && len > 0)
        return fail(db, FASTN_ERR_NOMEM, "out of memory reading a column");
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

int store_pdb_event_end(struct store_pdb *db)
{
    if (!db)
        return FASTN_ERR_INVAL;
    for (unsigned i = 0; i < db->cap; i++) {
        if (db->stmts[i].st) {
            sqlite3_reset(db->stmts[i].st);
            db->stmts[i].has_row = false;
        }
    }
    if (sqlite3_get_autocommit(db->db))
        return 0;
    db->trusted = true;
    int err = store__exec(db->db, "ROLLBACK");
    db->trusted = false;
    return err ? err : 1;
}

sqlite3 *store__pdb_conn(struct store_pdb *db)
{
    return db->db;
}

uint64_t store__pdb_trust(struct store_pdb *db, bool on, uint64_t steps)
{
    uint64_t was = db->vm_steps;
    if (on && !db->trusted) {
        db->saved_rowid = sqlite3_last_insert_rowid(db->db);
        if (db->saved_changes < 0)
            db->saved_changes = sqlite3_changes(db->db);
    } else if (!on && db->trusted) {
        sqlite3_set_last_insert_rowid(db->db, db->saved_rowid);
    }
    db->trusted = on;
    db->vm_steps = steps; /* the plugin's count stays as it was */
    return was;
}

bool store_pdb_in_transaction(struct store_pdb *db)
{
    return db && !sqlite3_get_autocommit(db->db);
}

int store_pdb_size(struct store_pdb *db, uint64_t *bytes)
{
    sqlite3_stmt *st = NULL;
    if (!db || !bytes)
        return FASTN_ERR_INVAL;
    db->trusted = true;
    int err = store__prepare(db->db,
                             "SELECT page_count * page_size FROM "
                             "pragma_page_count, pragma_page_size",
                             &st);
    if (!err) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *bytes = (uint64_t)sqlite3_column_int64(st, 0);
        else
            err = rc == SQLITE_DONE ? FASTN_ERR_STORE : store__err(rc);
    }
    sqlite3_finalize(st);
    db->trusted = false;
    return err;
}
