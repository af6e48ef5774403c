/*
 * Plugin databases: data/NAME/db.sqlite, one per plugin, reached only
 * through the handle-based calls of pdb_stmt.c, which the plugin host
 * maps 1:1 onto the ABI's sql_* imports. This file opens them and keeps
 * each call within its bounds (store.h, "Plugin databases"):
 *
 *  - what SQL may do: the authorizer and the text check (pdb_auth.c);
 *    SQLITE_LIMIT_ATTACHED 0, extension loading off, defensive mode and an
 *    untrusted schema in case the authorizer is ever bypassed; tight
 *    limits on lengths, expression depth and the like (set_limits);
 *  - work and time: a progress handler every PDB_PROGRESS_EVERY VM steps
 *    stops a call past its VM steps (FASTN_ERR_STORE_LIMIT) or past its
 *    time (FASTN_ERR_STORE_TIMEOUT); the clock is also read every
 *    STORE__CHECK_BYTES the call allocates and by the SQL functions that
 *    can spend long in one step (pdb_func.c), so no single step of
 *    SQLite's VM runs on past the time by much. A statement cannot be
 *    paused and resumed, so one that needs more than its time fails, and
 *    the plugin splits its work;
 *  - memory: every allocation SQLite makes for the connection is charged
 *    to its account (mem.c) and refused past heap_bytes
 *    (FASTN_ERR_STORE_MEMORY); sorts and temporary tables are in memory,
 *    the page cache is 1 MiB;
 *  - disk: max_page_count caps the database's pages, and the VFS (vfs.c)
 *    caps its write-ahead log, so database and log stay within
 *    quota_bytes together (set_quota); a full file system is told apart
 *    from the quota (FASTN_ERR_DISK_FULL).
 *
 * The host's own statements (the outbox, outbox.c; the rollback at the
 * end of an event) run between store__pdb_host_begin and _end: trusted by
 * the authorizer, without a time limit, with triggers, foreign keys and
 * views turned off, so nothing the plugin defined can run inside them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fastn/err.h"
#include "store/pdb_int.h"

#define NAME_MAX_LEN 64
#define WORK_CHECK 65536 /* units of pdb_work between clock readings */
#define WAL_FRAME_HDR 24 /* sqlite.org/fileformat.html, 4.1 */
#define WAL_HDR 32
#define WAL_MIN_FRAMES 8
#define WAL_KEEP_FRAMES 2000 /* twice the frames the log holds at most */

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

/* Why the call was stopped, when it was: it explains whatever SQLite
 * answered then (SQLITE_INTERRUPT from the progress handler or a
 * function, SQLITE_NOMEM from a refused allocation). */
static int stopped(struct store_pdb *db)
{
    if (db->call.stop == PDB_STOP_TIME) {
        set_errmsg(db,
                   "the statement was stopped at its time limit of %.3g ms "
                   "for this call; split the work (LIMIT, resume from the "
                   "last key)",
                   (double)db->call.time_limit / 1e6);
        return FASTN_ERR_STORE_TIMEOUT;
    }
    set_errmsg(db, "the statement was stopped after %llu steps of work",
               (unsigned long long)db->call.step_limit);
    return FASTN_ERR_STORE_LIMIT;
}

static int full(struct store_pdb *db, int err)
{
    if (err == FASTN_ERR_DISK_FULL)
        set_errmsg(db, "the disk is full: the statement had no effect (a "
                       "transaction may have been rolled back); free space "
                       "on the disk of the fastn home");
    else if (store__fault() == STORE__FAULT_QUOTA)
        set_errmsg(db,
                   "the database and its write-ahead log are at their quota "
                   "of %llu bytes: commit in smaller transactions, or "
                   "delete rows",
                   (unsigned long long)db->quota_bytes);
    else
        set_errmsg(db, "the database is at its quota of %llu bytes",
                   (unsigned long long)db->quota_bytes);
    return err;
}

int pdb_sql_fail(struct store_pdb *db, int rc)
{
    int err = store__err(rc);
    if (db->deny_reason) {
        /* a denial inside name resolution (functions) comes back as a
         * plain SQLITE_ERROR: the authorizer's reason is what counts */
        err = FASTN_ERR_STORE_DENIED;
        set_errmsg(db, "not allowed for plugins: %s%s", db->deny_reason,
                   db->deny_detail);
    } else if (db->call.stop != PDB_STOP_NONE) {
        err = stopped(db);
    } else if ((rc & 0xff) == SQLITE_NOMEM && db->acct->refused) {
        err = FASTN_ERR_STORE_MEMORY;
        set_errmsg(db,
                   "the database's memory is at its limit of %llu bytes "
                   "(statements, bound values, sorting, cache)",
                   (unsigned long long)db->acct->limit);
    } else if (err == FASTN_ERR_DISK_FULL || err == FASTN_ERR_STORE_QUOTA) {
        err = full(db, err);
    } else if (store__fault() == STORE__FAULT_TEMP) {
        set_errmsg(db, "SQLite asked for a temporary file; plugins have none");
    } else if ((rc & 0xff) == SQLITE_NOMEM) {
        set_errmsg(db, "out of memory");
    } else {
        set_errmsg(db, "%s", sqlite3_errmsg(db->db));
    }
    db->deny_reason = NULL;
    return err;
}

int pdb_fail(struct store_pdb *db, int err, const char *msg)
{
    set_errmsg(db, "%s", msg);
    return err;
}

/* --- each call's budget --- */

static uint64_t clock_ns(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Nanoseconds the calling thread has waited for a CPU (on a run queue),
 * from /proc/thread-self/schedstat (kept open, one per thread); 0 where
 * the system does not say. */
static uint64_t waited_ns(void)
{
    static _Thread_local int fd = -1;
    char buf[96];
    unsigned long long run, wait;
    if (fd == -1) {
        fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
        fd = fd < 0 ? -2 : fd;
    }
    ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return sscanf(buf, "%llu %llu", &run, &wait) == 2 ? wait : 0;
}

/*
 * Whether the timed call may go on: until it has taken time_limit of the
 * daemon's own time, the wall time less what the thread waited for a CPU
 * (a daemon the system did not run is not the plugin's doing; waiting on
 * the disk is). That wait is read from a quarter of the limit on, at
 * most every eighth of it; what came before its first reading counts as
 * a quarter of the limit at most (the first check comes 100 VM steps,
 * 256 KiB or one slow function's chunk after that), and the call never
 * stops at that first reading. Until a quarter of the limit, nothing but
 * the clock is read.
 */
static bool time_ok(struct store_pdb *db)
{
    struct pdb_call *c = &db->call;
    if (!c->timed || db->trusted)
        return true;
    if (c->stop == PDB_STOP_TIME)
        return false;
    uint64_t wall = clock_ns(CLOCK_MONOTONIC) - c->wall0;
    uint64_t limit = c->time_limit, q = limit / 4;
    if (wall < q || (c->mark && wall - c->read_at < q / 2))
        return true;
    uint64_t waited = waited_ns();
    c->read_at = wall;
    if (!c->mark) {
        c->mark = wall;
        c->waited0 = waited;
        return true;
    }
    uint64_t since = wall - c->mark, w = waited - c->waited0;
    uint64_t own = (c->mark < q ? c->mark : q) + (w < since ? since - w : 0);
    if (own < limit)
        return true;
    c->stop = PDB_STOP_TIME;
    return false;
}

bool pdb_work(struct store_pdb *db, uint64_t units)
{
    struct pdb_call *c = &db->call;
    c->work += units;
    if (c->work < c->next_work)
        return c->stop != PDB_STOP_TIME;
    c->next_work = c->work + WORK_CHECK;
    return time_ok(db);
}

static bool alloc_check(void *arg)
{
    return time_ok(arg);
}

static int progress(void *arg)
{
    struct store_pdb *db = arg;
    struct pdb_call *c = &db->call;
    c->steps += PDB_PROGRESS_EVERY;
    if (db->trusted)
        return c->steps > db->max_vm_steps;
    if (c->steps > c->step_limit) {
        c->stop = PDB_STOP_STEPS;
        return 1;
    }
    return !time_ok(db);
}

struct store__acct *pdb_enter(struct store_pdb *db)
{
    db->acct->refused = false;
    store__fault_clear();
    return store__acct_enter(db->acct);
}

/* How a checkpoint leaves the log's file. RESTART keeps it: the next
 * transactions write their frames over it from the start, into pages the
 * kernel already holds, instead of the file being cut to nothing and grown
 * again (blocks allocated, page cache filled anew: a tenth of a get's CPU
 * at 64 MiB a checkpoint). The quota counts the file whole (vfs.c), so it
 * is kept only while the database's pages and twice the file fit in the
 * quota: until transactions written over it have logged as many bytes as
 * it holds, the pages they add fit beside it, so no transaction is refused
 * that an empty log would have let through. A file longer than
 * WAL_KEEP_FRAMES frames (one large transaction made it) is cut too. */
static int checkpoint_mode(const struct store__acct *a)
{
    uint64_t frame = (uint64_t)a->page_size + WAL_FRAME_HDR;
    uint64_t used = (uint64_t)a->db_pages * a->page_size + a->blob_bytes;
    if (a->wal_bytes > WAL_HDR + WAL_KEEP_FRAMES * frame)
        return SQLITE_CHECKPOINT_TRUNCATE;
    if (a->quota && used + 2 * a->wal_bytes > a->quota)
        return SQLITE_CHECKPOINT_TRUNCATE;
    return SQLITE_CHECKPOINT_RESTART;
}

/* A transaction that ended without committing logged no pages; if it
 * wrote frames to the log past its committed ones (it spilled, then failed
 * or rolled back), they are dead but still take room in the quota, and a
 * later transaction could find none: a checkpoint truncates the log when
 * the file no longer leaves that room (checkpoint_mode; rare: a rollback
 * after the cache spilled). */
void pdb_leave(struct store_pdb *db, struct store__acct *prev)
{
    struct store__acct *a = db->acct;
    if (db->db && sqlite3_get_autocommit(db->db)) {
        a->txn_pages = 0;
        if (a->quota && a->wal_bytes > a->wal_live &&
            checkpoint_mode(a) == SQLITE_CHECKPOINT_TRUNCATE)
            sqlite3_wal_checkpoint_v2(db->db, "main",
                                      SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    }
    store__acct_leave(prev);
}

struct store__acct *pdb_call_begin(struct store_pdb *db)
{
    const struct store_pdb_budget *b = &db->budget;
    uint64_t steps =
        b->steps && b->steps < db->max_vm_steps ? b->steps : db->max_vm_steps;
    db->call = (struct pdb_call){
        .timed = true,
        .step_limit = steps,
        .time_limit = b->time_ns ? b->time_ns : STORE_PDB_TIME_DEFAULT_NS,
        .wall0 = clock_ns(CLOCK_MONOTONIC),
        .next_work = WORK_CHECK,
    };
    db->deny_reason = NULL;
    store__acct_work_reset(db->acct);
    return pdb_enter(db);
}

void pdb_call_end(struct store_pdb *db, struct store__acct *prev)
{
    /* what it took stays for store_pdb_last_cost; why it stopped was
     * told (pdb_sql_fail) and must not explain a later call's failure */
    db->call.timed = false;
    db->call.stop = PDB_STOP_NONE;
    db->acct->stopping = false;
    pdb_leave(db, prev);
}

void store_pdb_budget_set(struct store_pdb *db,
                          const struct store_pdb_budget *b)
{
    if (db)
        db->budget = b ? *b : (struct store_pdb_budget){0};
}

void store_pdb_last_cost(const struct store_pdb *db, struct store_pdb_cost *out)
{
    if (!out)
        return;
    *out = (struct store_pdb_cost){0};
    if (db) {
        out->steps = db->call.steps;
        out->alloc_bytes = db->acct->allocated;
    }
}

/* --- opening --- */

/* The limits of what one statement may be (sqlite3_limit): values of at
 * most 1 MiB (the ABI's), SQL text of 100 000 bytes, 500 columns, 100
 * levels of expression, 50 terms of a compound SELECT, 50 000 VM
 * instructions in a statement (its memory counts in the heap besides),
 * 32 function arguments, no attached database, LIKE and GLOB patterns of
 * 1000 bytes (their matching stops at the deadline, pdb_func.c), 999
 * parameters, triggers 10 deep, no worker threads (the daemon's loop is
 * one thread, and a helper thread's time would not be counted). */
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

/* One integer from a pragma (which may set it first). */
static int pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(db, sql, &st);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW    ? 0
           : rc == SQLITE_DONE ? FASTN_ERR_STORE
                               : store__err(rc);
}

/* The log copied into the database, as the host's own work: no time
 * or step limit of the plugin's call applies (a commit already returned
 * must not be reported stopped by its checkpoint) and the account never
 * refuses it memory. Its failure (a full disk) is not a commit's: the log
 * then grows until the quota or the disk stops it. */
static void checkpoint(struct store_pdb *db)
{
    struct store__host h;

    db->checkpoint_due = false;
    sqlite3_wal_checkpoint_v2(store__pdb_host_begin(db, false, &h), "main",
                              checkpoint_mode(db->acct), NULL, NULL);
    store__pdb_host_end(&h);
}

/* After each commit: once the log holds half of the room the pages leave
 * it in the quota (at most SQLite's usual 1000 frames), a checkpoint
 * copies it into the database and starts it over (checkpoint_mode), so
 * the room is back before the next transaction needs it. Past 1000 frames
 * with more than half the room still free, it waits for the host's upkeep
 * between the plugin's slices (store_pdb_maintain), outside its calls and
 * its slice; at half the room, at once. Instead of SQLite's
 * autocheckpoint, which runs inside the call and leaves the log's file at
 * its largest whatever the quota. */
static int wal_hook(void *arg, sqlite3 *c, const char *name, int frames)
{
    struct store_pdb *db = arg;
    const struct store__acct *a = db->acct;
    uint64_t frame = (uint64_t)a->page_size + WAL_FRAME_HDR;
    uint64_t used = (uint64_t)a->db_pages * a->page_size + a->blob_bytes;
    uint64_t room = a->quota > used ? (a->quota - used) / frame : 0;
    uint64_t at = room / 2 < 1000 ? room / 2 : 1000;

    (void)c, (void)name;
    if ((uint64_t)frames < (at ? at : 1))
        return SQLITE_OK;
    if ((uint64_t)frames >= room / 2)
        checkpoint(db);
    else
        db->checkpoint_due = true;
    return SQLITE_OK;
}

/*
 * The quota covers the database and its write-ahead log together (the
 * journal too, while there is one; there is no -shm file, see
 * store__open_db): the VFS refuses a frame of the log when the pages and
 * the log would pass it. max_page_count keeps the pages to the quota less
 * WAL_MIN_FRAMES frames, so a database at its pages still has room in the
 * log to delete rows; the log may use all that the pages leave, so one
 * transaction may write as much as the quota has room for.
 */
static int set_quota(struct store_pdb *db)
{
    char sql[64];
    int64_t page = 0, pages = 0, count = 0;
    int err = pragma_int(db->db, "PRAGMA page_size", &page);
    if (err || page <= 0)
        return err ? err : FASTN_ERR_STORE;
    uint64_t wal_min =
        WAL_MIN_FRAMES * ((uint64_t)page + WAL_FRAME_HDR) + WAL_HDR;
    uint64_t want = db->quota_bytes > wal_min
                        ? (db->quota_bytes - wal_min) / (uint64_t)page
                        : 0;
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%llu",
             (unsigned long long)(want < 4 ? 4 : want));
    err = pragma_int(db->db, sql, &pages); /* never below the pages in use */
    if (!err)
        err = pragma_int(db->db, "PRAGMA page_count", &count);
    if (err)
        return err;
    struct store__acct *a = db->acct;
    uint64_t need = (uint64_t)pages * (uint64_t)page + wal_min;
    a->quota = db->quota_bytes > need ? db->quota_bytes : need;
    a->page_size = (uint32_t)page;
    a->db_pages = (uint32_t)count;
    a->txn_pages = 0;
    sqlite3_wal_hook(db->db, wal_hook, db);
    return store__exec(db->db, "PRAGMA cache_size=-1024;");
}

static void apply_limits(struct store_pdb *db, const struct store_pdb_limits *l,
                         uint64_t *heap)
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
    *heap = l->heap_bytes ? l->heap_bytes : STORE_PDB_HEAP_DEFAULT;
    if (*heap > STORE_PDB_HEAP_MAX)
        *heap = STORE_PDB_HEAP_MAX;
}

static int open_dirs_and_db(struct store_pdb *db, const char *data_dir,
                            const char *name, unsigned page_size)
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
        err =
            store__open_db(path, STORE__SYNC_NORMAL, true, page_size, &db->db);
    return err;
}

/* Opens and sets up the connection, db's account current. */
static int open_conn(struct store_pdb *db, const char *data_dir,
                     const char *name, unsigned page_size)
{
    struct store__acct *prev = pdb_enter(db);
    int err = open_dirs_and_db(db, data_dir, name, page_size);
    if (!err)
        err = set_quota(db);
    if (!err)
        err = pdb_functions_register(db);
    pdb_leave(db, prev);
    if (err)
        return err;
    set_limits(db->db);
    sqlite3_set_authorizer(db->db, pdb_authorize, db);
    sqlite3_progress_handler(db->db, PDB_PROGRESS_EVERY, progress, db);
    db->acct->check = alloc_check;
    db->acct->check_arg = db;
    return 0;
}

/* The blobs beside the database, counted in its quota (their folder is
 * made at the first put). */
static int open_blobs(struct store_pdb *db, const char *data_dir,
                      const char *name)
{
    char path[4096];
    int err = pdb_path(path, sizeof(path), data_dir, name, "blobs");
    if (!err)
        err = store_blobs_open(path, db->quota_bytes, db->acct, &db->blobs);
    return err;
}

struct store_blobs *store_pdb_blobs(struct store_pdb *db)
{
    return db ? db->blobs : NULL;
}

int store_pdb_open(const char *data_dir, const char *name,
                   const struct store_pdb_limits *lim, struct store_pdb **out)
{
    uint64_t heap;
    if (!data_dir || !out || !name_ok(name))
        return FASTN_ERR_INVAL;
    struct store_pdb *db = calloc(1, sizeof(*db));
    if (!db)
        return FASTN_ERR_NOMEM;
    apply_limits(db, lim, &heap);
    db->saved_changes = -1;
    int err = FASTN_ERR_NOMEM;
    db->stmts = calloc(db->cap, sizeof(*db->stmts));
    db->acct = store__acct_new(heap);
    if (!db->stmts || !db->acct)
        goto out_free;
    err = open_conn(db, data_dir, name, lim ? lim->page_size : 0);
    if (!err)
        err = open_blobs(db, data_dir, name);
    if (err)
        goto out_free;
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
    struct store__acct *prev = db->acct ? pdb_enter(db) : NULL;
    if (db->acct)
        db->acct->trusted = true; /* closing never fails for memory */
    for (unsigned i = 0; db->stmts && i < db->cap; i++)
        sqlite3_finalize(db->stmts[i].st);
    sqlite3_close_v2(db->db); /* rolls back an open transaction */
    if (db->acct)
        store__acct_leave(prev);
    store__acct_close(db->acct);
    store_blobs_close(db->blobs);
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
    int err = pdb_path(path, sizeof(path), data_dir, name, "blobs");
    if (!err)
        err = store_blobs_destroy(path);
    if (err)
        return err;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        int err = pdb_path(path, sizeof(path), data_dir, name, files[i]);
        if (err)
            return err;
        if (unlink(path) != 0 && errno != ENOENT)
            return FASTN_ERR_IO;
    }
    err = pdb_path(path, sizeof(path), data_dir, name, NULL);
    if (err)
        return err;
    if (rmdir(path) != 0 && errno != ENOENT)
        return FASTN_ERR_IO;
    return 0;
}

/* --- the host's own statements --- */

static const int host_off[] = {SQLITE_DBCONFIG_ENABLE_TRIGGER,
                               SQLITE_DBCONFIG_ENABLE_FKEY,
                               SQLITE_DBCONFIG_ENABLE_VIEW};

sqlite3 *store__pdb_host_begin(struct store_pdb *db, bool writes,
                               struct store__host *h)
{
    *h = (struct store__host){.db = db, .call = db->call};
    h->prev = pdb_enter(db);
    db->acct->trusted = true;
    db->saved_rowid = sqlite3_last_insert_rowid(db->db);
    if (db->saved_changes < 0)
        db->saved_changes = sqlite3_changes(db->db);
    db->trusted = true;
    db->call = (struct pdb_call){0};
    /* only for writes (reads fire no trigger or foreign key action, and
     * the authorizer refuses view code), and only what is on is turned
     * off: a change makes SQLite prepare the plugin's statements again at
     * their next step (~30 us each) */
    for (size_t i = 0; writes && i < sizeof(host_off) / sizeof(host_off[0]);
         i++) {
        int on = 0;
        sqlite3_db_config(db->db, host_off[i], -1, &on);
        if (on &&
            sqlite3_db_config(db->db, host_off[i], 0, (int *)NULL) == SQLITE_OK)
            h->off |= 1u << i;
    }
    return db->db;
}

void store__pdb_host_end(struct store__host *h)
{
    struct store_pdb *db = h->db;
    for (size_t i = 0; i < sizeof(host_off) / sizeof(host_off[0]); i++)
        if (h->off & (1u << i))
            sqlite3_db_config(db->db, host_off[i], 1, (int *)NULL);
    sqlite3_set_last_insert_rowid(db->db, db->saved_rowid);
    db->trusted = false;
    db->call = h->call;
    db->acct->trusted = false;
    pdb_leave(db, h->prev);
}

/* --- the rest --- */

int store_pdb_event_end(struct store_pdb *db)
{
    struct store__host h;
    if (!db)
        return FASTN_ERR_INVAL;
    struct store__acct *prev = pdb_enter(db);
    for (unsigned i = 0; i < db->cap; i++) {
        if (db->stmts[i].st) {
            sqlite3_reset(db->stmts[i].st);
            db->stmts[i].has_row = false;
        }
    }
    pdb_leave(db, prev);
    if (sqlite3_get_autocommit(db->db))
        return 0;
    int err = store__exec(store__pdb_host_begin(db, false, &h), "ROLLBACK");
    store__pdb_host_end(&h);
    return err ? err : 1;
}

int store_pdb_maintain(struct store_pdb *db)
{
    if (!db || !db->checkpoint_due || !sqlite3_get_autocommit(db->db))
        return 0;
    checkpoint(db);
    return 1;
}

bool store_pdb_in_transaction(struct store_pdb *db)
{
    return db && !sqlite3_get_autocommit(db->db);
}

int store_pdb_size(struct store_pdb *db, uint64_t *bytes)
{
    struct store__host h;
    int64_t n = 0;
    if (!db || !bytes)
        return FASTN_ERR_INVAL;
    int err = pragma_int(store__pdb_host_begin(db, false, &h),
                         "SELECT page_count * page_size FROM "
                         "pragma_page_count, pragma_page_size",
                         &n);
    store__pdb_host_end(&h);
    if (!err)
        *bytes = (uint64_t)n;
    return err;
}

int store_pdb_usage(struct store_pdb *db, struct store_pdb_usage *u)
{
    if (!db || !u)
        return FASTN_ERR_INVAL;
    *u = (struct store_pdb_usage){
        .disk_bytes =
            db->acct->db_bytes + db->acct->wal_bytes + db->acct->blob_bytes,
        .quota_bytes = db->quota_bytes,
        .heap_bytes = db->acct->bytes,
        .heap_peak = db->acct->peak,
        .heap_limit = db->acct->limit,
    };
    return store_pdb_size(db, &u->data_bytes);
}

uint64_t store_pdb_heap_bytes(const struct store_pdb *db)
{
    return db ? db->acct->bytes : 0;
}

void store_pdb_heap_limit(struct store_pdb *db, uint64_t bytes)
{
    if (!db)
        return;
    if (!bytes)
        bytes = STORE_PDB_HEAP_DEFAULT;
    db->acct->limit = bytes > STORE_PDB_HEAP_MAX ? STORE_PDB_HEAP_MAX : bytes;
}
