/*
 * Hostile plugin: SQL that tries to hold the daemon, its memory and its
 * disk, and to run code inside the host's statements. Each call answers
 * with what the host returned ("err=E ..."); E is a fastn_err code.
 *   cte        the stall: a recursive CTE over
 *              hex(randomblob(500000)). Expected: -507 (time), fast
 *   spill      the spill: ORDER BY over 700 MB of generated
 *              blobs, which SQLite would sort in a temporary file outside
 *              the home. Expected: -509 (memory) or -507 (time), no file
 *   slow       LIKE and instr that take seconds in SQLite's own
 *              functions. Expected: -507 or 0, fast
 *   fill       16 KiB rows, one transaction each, until an error:
 *              "rows=N err=E" (N committed). Expected: -501, files
 *              within the quota
 *   bigtx      one transaction of 100 rows of 16 KiB: "rows=0 err=-501"
 *   cascade    a table of its own hanging on the host's outbox by a
 *              foreign key, then a notification moved by the host.
 *              Expected: -502 for the table, notify 0
 *   bind       1 MiB blobs bound to one statement's 999 parameters:
 *              "bound=N err=E". Expected: -509 long before 999
 *   stmts      statements of 20 KB of SQL until an error:
 *              "made=N err=E". Expected: -509 or -402
 *   notify N   N notifications: "ok=A full=B other=C last=E"
 *   count      rows and notifications waiting: "rows=N"
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-sql", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: SQL that tries to escape its budgets",
    "capabilities": ["storage", "notify"],
    "storage_quota": 1048576,
    "limits": {"statements": 256, "fuel_per_event": 500000000}
})
// clang-format on

static uint8_t blob[1 << 20];
static char sql[20000];

static int32_t answer(int32_t call, const char *fmt, long a, long b)
{
    char msg[160];
    snprintf(msg, sizeof(msg), fmt, a, b);
    return fastn_reply_str(call, 0, msg);
}

static int32_t run(int32_t call, const char *q)
{
    return answer(call, "err=%ld", fastn_sql_exec_str(q), 0);
}

static int32_t slow(int32_t call)
{
    static char pat[1000];
    int32_t st = fastn_sql_prepare_str("SELECT ?1 LIKE ?2, instr(?1, ?3)");
    if (st < 0)
        return answer(call, "err=%ld", st, 0);
    memset(blob, 'a', sizeof(blob));
    pat[0] = '%';
    memset(pat + 1, 'a', sizeof(pat) - 3);
    pat[sizeof(pat) - 2] = 'b';
    fastn_sql_bind_text(st, 1, (const char *)blob, 1000000);
    fastn_sql_bind_text(st, 2, pat, sizeof(pat) - 1);
    fastn_sql_bind_text(st, 3, (const char *)blob, 500000);
    int32_t err = fastn_sql_step(st);
    fastn_sql_finalize(st);
    return answer(call, "err=%ld", err < 0 ? err : 0, 0);
}

/* 16 KiB rows, in transactions of `per` rows, until an error or `max`. */
static int32_t fill(int32_t call, int per, int max)
{
    int32_t err = fastn_sql_exec_str("CREATE TABLE IF NOT EXISTS b(x BLOB)");
    int32_t st =
        err < 0 ? err : fastn_sql_prepare_str("INSERT INTO b VALUES(?)");
    int rows = 0;
    err = st < 0 ? st : 0;
    memset(blob, 0x5a, 16384);
    while (err >= 0 && rows < max) {
        if (per > 1)
            err = fastn_sql_exec_str("BEGIN");
        int added = 0;
        for (int i = 0; err >= 0 && i < per; i++) {
            fastn_sql_reset(st);
            fastn_sql_bind_blob(st, 1, blob, 16384);
            err = fastn_sql_step(st);
            added += err >= 0;
        }
        if (err >= 0 && per > 1)
            err = fastn_sql_exec_str("COMMIT");
        rows += err >= 0 ? added : 0;
    }
    if (per > 1)
        fastn_sql_exec_str("ROLLBACK");
    if (st > 0)
        fastn_sql_finalize(st);
    return answer(call, "rows=%ld err=%ld", rows, err < 0 ? err : 0);
}

static int32_t cascade(int32_t call)
{
    int32_t n = fastn_notify("made", 4, "", 0); /* the host's tables */
    int32_t t = fastn_sql_exec_str(
        "CREATE TABLE c(id REFERENCES _fastn_outbox(id) ON DELETE CASCADE);"
        "CREATE TABLE log(x);"
        "CREATE TRIGGER tr AFTER DELETE ON c BEGIN"
        " INSERT INTO log VALUES(1); END;"
        "PRAGMA foreign_keys=ON");
    return answer(call, "err=%ld notify=%ld", t, n);
}

static int32_t bind(int32_t call)
{
    int32_t st = fastn_sql_prepare_str("SELECT ?999");
    int32_t err = st;
    long n = 0;
    memset(blob, 1, sizeof(blob));
    for (int i = 1; st > 0 && i <= 999; i++, n++)
        if ((err = fastn_sql_bind_blob(st, i, blob, sizeof(blob))) < 0)
            break;
    if (st > 0)
        fastn_sql_finalize(st);
    return answer(call, "bound=%ld err=%ld", n, err < 0 ? err : 0);
}

static int32_t stmts(int32_t call)
{
    size_t len = (size_t)snprintf(sql, sizeof(sql), "SELECT CASE ?");
    for (int i = 0; len < sizeof(sql) - 64; i++)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                                " WHEN %d THEN %d", i, i);
    len += (size_t)snprintf(sql + len, sizeof(sql) - len, " END");
    static int32_t h[256];
    long made = 0;
    int32_t st = 0;
    while (made < 256 && (st = fastn_sql_prepare(sql, len)) > 0)
        h[made++] = st;
    /* give them back: the next call starts from nothing */
    for (long i = 0; i < made; i++)
        fastn_sql_finalize(h[i]);
    return answer(call, "made=%ld err=%ld", made, st);
}

static int32_t notify(int32_t call, long n)
{
    long ok = 0, full = 0, other = 0, last = 0;
    for (long i = 0; i < n; i++) {
        char title[32];
        snprintf(title, sizeof(title), "note %ld", i);
        int32_t r = fastn_notify(title, strlen(title), "", 0);
        ok += r == 0;
        full += r == FASTN_ERR_DISK_FULL;
        other += r != 0 && r != FASTN_ERR_DISK_FULL;
        if (r)
            last = r;
    }
    char msg[96];
    snprintf(msg, sizeof(msg), "ok=%ld full=%ld other=%ld last=%ld", ok, full,
             other, last);
    return fastn_reply_str(call, 0, msg);
}

static int is(const char *m, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(m, s, n) == 0;
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    char a[32];
    snprintf(a, sizeof(a), "%.*s", (int)(arg_len < 31 ? arg_len : 31), arg);
    if (is(method, method_len, "cte"))
        return run(call, "WITH RECURSIVE r(i, x) AS (SELECT 0,"
                         " hex(randomblob(500000)) UNION ALL SELECT i + 1,"
                         " hex(randomblob(500000)) FROM r WHERE i < 100000)"
                         " SELECT count(*) FROM r");
    if (is(method, method_len, "spill"))
        return run(call, "WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL"
                         " SELECT i + 1 FROM r WHERE i < 7000)"
                         " SELECT randomblob(100000) AS x FROM r ORDER BY x");
    if (is(method, method_len, "slow"))
        return slow(call);
    if (is(method, method_len, "fill"))
        return fill(call, 1, 1000);
    if (is(method, method_len, "bigtx"))
        return fill(call, 100, 100);
    if (is(method, method_len, "cascade"))
        return cascade(call);
    if (is(method, method_len, "bind"))
        return bind(call);
    if (is(method, method_len, "stmts"))
        return stmts(call);
    if (is(method, method_len, "notify"))
        return notify(call, strtol(a, NULL, 10));
    if (is(method, method_len, "count")) {
        int32_t st = fastn_sql_prepare_str("SELECT count(*) FROM b");
        long n = st > 0 && fastn_sql_step(st) == FASTN_SQL_ROW
                     ? (long)fastn_sql_column_int64(st, 0)
                     : (long)st;
        if (st > 0)
            fastn_sql_finalize(st);
        return answer(call, "rows=%ld", n, 0);
    }
    return fastn_reply_str(call, 0, "ok");
}
