/*
 * Internals of a plugin database (store_pdb), shared by its files:
 * plugin_db.c (opening, limits, each call's budget, errors, the host's own
 * statements), pdb_auth.c (what plugin SQL may do), pdb_stmt.c (the calls
 * the sql_* imports map onto) and pdb_func.c (SQL functions replaced by
 * ones that stop at the call's deadline).
 *
 * Every call into SQLite on a plugin's connection runs inside a scope:
 * pdb_call_begin/end around a plugin's exec, prepare or step (its account
 * current, its budget of VM steps and time armed), pdb_enter/leave around
 * the lighter calls (binds, columns: memory is charged, nothing is timed),
 * store__pdb_host_begin/end around the host's own statements.
 */
#ifndef FASTN_STORE_PDB_INT_H
#define FASTN_STORE_PDB_INT_H

#include "store/store_int.h"

#define PDB_ERRMSG_MAX 256

struct pdb_stmt {
    sqlite3_stmt *st; /* NULL: free slot */
    int32_t handle;
    bool has_row; /* the last step returned a row */
};

enum pdb_stop {
    PDB_STOP_NONE,
    PDB_STOP_STEPS, /* the call's VM steps ran out */
    PDB_STOP_TIME,  /* the call ran past its time */
};

/* The call in progress on a connection (or the last one). */
struct pdb_call {
    bool timed;          /* a plugin's exec, prepare or step */
    uint64_t steps;      /* VM steps, counted PDB_PROGRESS_EVERY at a time */
    uint64_t step_limit; /* <= max_vm_steps */
    uint64_t time_limit; /* ns of wall time */
    uint64_t wall0;      /* CLOCK_MONOTONIC ns when it began */
    uint64_t mark;       /* wall ns of the first reading of the wait */
    uint64_t waited0;    /* the thread's wait for a CPU then, ns */
    uint64_t read_at;    /* wall ns of the last reading */
    uint64_t work;       /* units of work pdb_func.c reported */
    uint64_t next_work;  /* work at which the clock is read next */
    enum pdb_stop stop;
};

struct store_pdb {
    sqlite3 *db;
    struct store__acct *acct;
    struct pdb_stmt *stmts;
    unsigned cap, open;
    uint32_t gen; /* bumped on each prepare, part of the handle */
    uint64_t quota_bytes;
    uint64_t max_vm_steps;
    struct store_pdb_budget budget;
    struct pdb_call call;
    struct store_blobs *blobs; /* data/NAME/blobs/ (blob.c) */
    bool trusted;        /* the host's own SQL: the authorizer lets it pass */
    bool checkpoint_due; /* the log is long: checkpoint at the event's end */
    /* what the plugin's last statement left, kept across the host's own */
    int64_t saved_rowid;
    int saved_changes; /* -1: none kept, sqlite3_changes is the plugin's */
    const char *deny_reason;
    char deny_detail[64];
    char errmsg[PDB_ERRMSG_MAX];
};

/* VM steps between two calls of the progress handler: with the handler's
 * clock reading, under 2 % of the time of a long statement here, and a
 * step of SQLite rarely takes over 100 us, so a call overruns its time by
 * a few ms at most (docs/PLUGIN-ABI.md, "Work and time limits"). */
#define PDB_PROGRESS_EVERY 100

/* plugin_db.c, also for outbox.c: the host's own statements on a plugin's
 * connection, between begin (which returns the connection) and end. The
 * authorizer lets them pass (but no trigger or view code, and writes only
 * to the host's tables); for writes, triggers, foreign keys and views are
 * turned off too; the account is current but never refuses memory, and
 * what the plugin's last statement left (VM steps, last rowid, changes)
 * is kept. */
struct store__host {
    struct store_pdb *db;
    struct store__acct *prev;
    struct pdb_call call; /* the plugin's */
    unsigned off;         /* what begin turned off */
};
sqlite3 *store__pdb_host_begin(struct store_pdb *db, bool writes,
                               struct store__host *h);
void store__pdb_host_end(struct store__host *h);

struct store__acct *pdb_enter(struct store_pdb *db);
void pdb_leave(struct store_pdb *db, struct store__acct *prev);
struct store__acct *pdb_call_begin(struct store_pdb *db);
void pdb_call_end(struct store_pdb *db, struct store__acct *prev);
/* Turns an SQLite failure into a fastn_err and an errmsg in the plugin's
 * terms. */
int pdb_sql_fail(struct store_pdb *db, int rc);
int pdb_fail(struct store_pdb *db, int err, const char *msg);
/* Whether the call may go on after `units` more of work done by a SQL
 * function (a byte compared or copied is one); false past its deadline. */
bool pdb_work(struct store_pdb *db, uint64_t units);

/* pdb_auth.c */
int pdb_authorize(void *arg, int action, const char *a3, const char *a4,
                  const char *schema, const char *trigger);
/* Whether plugin SQL text names the host's tables (STORE_PDB_RESERVED_PREFIX
 * anywhere, in any case: quoted and bracketed names included). */
bool pdb_names_reserved(const char *sql, size_t len);

/* pdb_func.c: registers the replacements on a plugin's connection. */
int pdb_functions_register(struct store_pdb *db);

#endif
