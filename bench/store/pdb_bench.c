/*
 * What a plugin's SQL costs through the store (src/store/plugin_db.c),
 * per call, as the sql_* imports make them (no WebAssembly in between):
 *
 *   insert   an INSERT of one small row, committed on its own
 *   select   a SELECT of one row by key (reset, bind, step)
 *   scan     one SELECT summing 200 000 rows (ns per row)
 *   like     one SELECT counting the rows LIKE '%abc%' of 200 000 (ns
 *            per row: the plugin databases' own LIKE)
 *   notify   a notification added to the outbox and moved into
 *            state.sqlite (store_outbox_add, store_outbox_move)
 *
 * Usage: pdb_bench [N]: N rounds (default 3); prints the best round of
 * each as "name: X ns per op". Compiles against older stores too (only
 * calls they share), so the same program measures before and after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fastn/err.h"
#include "store/store.h"

#define EXEC(db, sql) store_pdb_exec((db), (sql), strlen(sql))
#define PREP(db, sql) store_pdb_prepare((db), (sql), strlen(sql))

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void must(int err, const char *what)
{
    if (err < 0) {
        fprintf(stderr, "pdb_bench: %s: %s\n", what, fastn_strerror(err));
        exit(1);
    }
}

static double insert(struct store_pdb *db, int n)
{
    int h = PREP(db, "INSERT INTO k(v) VALUES(?)");
    must(h, "prepare insert");
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
        store_pdb_reset(db, h);
        store_pdb_bind_int64(db, h, 1, i);
        must(store_pdb_step(db, h), "insert");
    }
    double t = (now_ns() - t0) / n;
    store_pdb_finalize(db, h);
    return t;
}

static double select_one(struct store_pdb *db, int n)
{
    int h = PREP(db, "SELECT v FROM k WHERE id = ?");
    must(h, "prepare select");
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
        store_pdb_reset(db, h);
        store_pdb_bind_int64(db, h, 1, 1 + i % 1000);
        must(store_pdb_step(db, h), "select");
    }
    double t = (now_ns() - t0) / n;
    store_pdb_finalize(db, h);
    return t;
}

static double one_call(struct store_pdb *db, const char *sql, int rows)
{
    double t0 = now_ns();
    must(EXEC(db, sql), sql);
    return (now_ns() - t0) / rows;
}

static double notify(struct store_pdb *db, struct store *s, int n)
{
    size_t moved = 0;
    bool more = false;
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
        must(store_outbox_add(db, i, "title", "body"), "notify");
        must(store_outbox_move(db, s, "bench", 10, &moved, &more), "move");
    }
    return (now_ns() - t0) / n;
}

static void best(const char *name, double *b, double v)
{
    if (*b == 0 || v < *b)
        *b = v;
    (void)name;
}

int main(int argc, char **argv)
{
    char dir[64], path[128];
    struct store_pdb *db = NULL;
    struct store *s = NULL;
    struct store_pdb_limits lim = {.quota_bytes = 256u << 20};
    double b[5] = {0};
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    snprintf(dir, sizeof(dir), "/tmp/pdb-bench-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/state.sqlite", dir);
    must(store_open(path, NULL, &s), "state");
    must(store_pdb_open(dir, "bench", &lim, &db), "open");
#ifdef STORE_PDB_TIME_DEFAULT_NS
    struct store_pdb_budget big = {.time_ns = 60000000000ull};
    store_pdb_budget_set(db, &big);
#endif
    must(EXEC(db, "CREATE TABLE k(id INTEGER PRIMARY KEY, v);"
                  "CREATE TABLE r(x, s);"
                  "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                  " FROM c LIMIT 200000) INSERT INTO r SELECT i,"
                  " printf('row %d of the table', i) FROM c"),
         "fill");
    for (int r = 0; r < rounds; r++) {
        best("insert", &b[0], insert(db, 5000));
        best("select", &b[1], select_one(db, 50000));
        best("scan", &b[2], one_call(db, "SELECT sum(x) FROM r", 200000));
        best("like", &b[3],
             one_call(db, "SELECT count(*) FROM r WHERE s LIKE '%abc%'",
                      200000));
        best("notify", &b[4], notify(db, s, 500));
    }
    printf("insert: %.0f ns per op\nselect: %.0f ns per op\n"
           "scan: %.1f ns per row\nlike: %.1f ns per row\n"
           "notify: %.0f ns per op\n",
           b[0], b[1], b[2], b[3], b[4]);
    store_pdb_close(db);
    store_close(s);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    return system(path) == 0 ? 0 : 1;
}
