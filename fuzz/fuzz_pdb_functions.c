/* Fuzz target: the SQL functions a plugin database replaces with its own
 * (src/store/pdb_func.c: LIKE with and without ESCAPE, GLOB, instr,
 * replace, trim, ltrim, rtrim), which parse patterns and character sets
 * a plugin gives. The property: on every input they answer as SQLite's
 * own functions do, on a plain connection with the same limits (the
 * same value, or the same error). The input is three values: two
 * length bytes, then the bytes of the first two, the rest the third;
 * bound as text, or as blobs when the first length byte is odd. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

static const char *const queries[] = {
    "SELECT ?2 LIKE ?1",          "SELECT ?2 LIKE ?1 ESCAPE ?3",
    "SELECT ?2 GLOB ?1",          "SELECT instr(?2, ?1)",
    "SELECT replace(?2, ?1, ?3)", "SELECT trim(?2, ?1)",
    "SELECT ltrim(?2, ?3)",       "SELECT rtrim(?1, ?3)",
};

static struct store_pdb *db;
static sqlite3 *raw;
static char dir[64];

static void cleanup(void)
{
    char cmd[96];
    store_pdb_close(db);
    sqlite3_close(raw);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", dir);
}

static void setup(void)
{
    struct store_pdb_budget b = {.time_ns = 60000000000ull};
    snprintf(dir, sizeof(dir), "/tmp/fuzz-pdb-XXXXXX");
    if (!mkdtemp(dir) || store_pdb_open(dir, "f", NULL, &db) != 0 ||
        sqlite3_open(":memory:", &raw) != SQLITE_OK)
        abort();
    store_pdb_budget_set(db, &b);
    sqlite3_limit(raw, SQLITE_LIMIT_LENGTH, STORE_PDB_VALUE_MAX);
    sqlite3_limit(raw, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 1000);
    atexit(cleanup);
}

/* The answer as text: "E:message", "N", "I:n" or "T:" and the bytes. */
static size_t answer_raw(const char *sql, const uint8_t *const v[3],
                         const size_t n[3], int blobs, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int len;
    if (sqlite3_prepare_v2(raw, sql, -1, &st, NULL) != SQLITE_OK)
        abort();
    for (int i = 0; i < 3; i++) {
        if (blobs && i < 2)
            sqlite3_bind_blob(st, i + 1, v[i], (int)n[i], SQLITE_STATIC);
        else
            sqlite3_bind_text(st, i + 1, (const char *)v[i], (int)n[i],
                              SQLITE_STATIC);
    }
    if (sqlite3_step(st) != SQLITE_ROW)
        len = snprintf(out, cap, "E:%s", sqlite3_errmsg(raw));
    else if (sqlite3_column_type(st, 0) == SQLITE_NULL)
        len = snprintf(out, cap, "N");
    else if (sqlite3_column_type(st, 0) == SQLITE_INTEGER)
        len = snprintf(out, cap, "I:%lld", sqlite3_column_int64(st, 0));
    else
        len = snprintf(out, cap, "T:%.*s", sqlite3_column_bytes(st, 0),
                       (const char *)sqlite3_column_blob(st, 0));
    sqlite3_finalize(st);
    return len < 0 ? 0 : (size_t)len < cap ? (size_t)len : cap - 1;
}

static size_t answer_pdb(const char *sql, const uint8_t *const v[3],
                         const size_t n[3], int blobs, char *out, size_t cap)
{
    int h = store_pdb_prepare(db, sql, strlen(sql)), len;
    const uint8_t *p = NULL;
    size_t pn = 0;
    if (h <= 0)
        abort();
    for (int i = 0; i < 3; i++) {
        if (blobs && i < 2)
            store_pdb_bind_blob(db, h, i + 1, v[i], n[i]);
        else
            store_pdb_bind_text(db, h, i + 1, v[i], n[i]);
    }
    int rc = store_pdb_step(db, h);
    if (rc != 1) {
        len = snprintf(out, cap, "E:%s", store_pdb_errmsg(db));
    } else if (store_pdb_column_type(db, h, 0) == STORE_TYPE_NULL) {
        len = snprintf(out, cap, "N");
    } else if (store_pdb_column_type(db, h, 0) == STORE_TYPE_INTEGER) {
        len = snprintf(out, cap, "I:%lld",
                       (long long)store_pdb_column_int64(db, h, 0));
    } else {
        store_pdb_column_bytes(db, h, 0, &p, &pn);
        len = snprintf(out, cap, "T:%.*s", (int)pn, p ? (const char *)p : "");
    }
    store_pdb_finalize(db, h);
    return len < 0 ? 0 : (size_t)len < cap ? (size_t)len : cap - 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char a[70000], b[70000];
    if (!db)
        setup();
    if (size < 2 || size > 8192)
        return 0;
    size_t n[3] = {data[0], data[1], 0};
    int blobs = data[0] & 1;
    data += 2, size -= 2;
    if (n[0] > size)
        n[0] = size;
    if (n[1] > size - n[0])
        n[1] = size - n[0];
    n[2] = size - n[0] - n[1];
    const uint8_t *v[3] = {data, data + n[0], data + n[0] + n[1]};
    for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
        size_t la = answer_raw(queries[q], v, n, blobs, a, sizeof(a));
        size_t lb = answer_pdb(queries[q], v, n, blobs, b, sizeof(b));
        if (la != lb || memcmp(a, b, la) != 0) {
            fprintf(stderr, "%s: sqlite %.200s, plugin database %.200s\n",
                    queries[q], a, b);
            abort();
        }
    }
    return 0;
}
