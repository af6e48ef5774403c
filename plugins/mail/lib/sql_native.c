/*
 * Native builds only: the plugin SQL ABI's fastn_sql_* calls
 * (include/fastn/plugin.h) over the host's own implementation of them,
 * src/store's store_pdb_* (one-to-one, as src/plugin/host_imports.c maps
 * the imports), so the unit tests and fuzz targets run the mailbox code
 * against the very database, authorizer and limits the plugin gets. One
 * database at a time, as a plugin has one.
 */
#include <string.h>

#include "fastn/err.h"
#include "fastn/plugin.h"
#include "mail_native.h"
#include "store/store.h"

static struct store_pdb *db;

int mail_sql_native_open(const char *data_dir, uint64_t quota_bytes)
{
    struct store_pdb_limits lim;

    memset(&lim, 0, sizeof(lim));
    lim.quota_bytes = quota_bytes;
    lim.max_statements = 64;
    if (db)
        return FASTN_ERR_BUSY;
    return store_pdb_open(data_dir, "mail", &lim, &db);
}

void mail_sql_native_close(void)
{
    store_pdb_close(db);
    db = NULL;
}

void mail_sql_native_budget(uint64_t time_ns)
{
    struct store_pdb_budget b = {0, time_ns};
    store_pdb_budget_set(db, time_ns ? &b : NULL);
}

int mail_sql_native_event_end(void)
{
    return store_pdb_event_end(db);
}

int32_t fastn_sql_exec(const char *sql, size_t len)
{
    return store_pdb_exec(db, sql, len);
}

int32_t fastn_sql_prepare(const char *sql, size_t len)
{
    return store_pdb_prepare(db, sql, len);
}

int32_t fastn_sql_bind_null(int32_t stmt, int32_t idx)
{
    return store_pdb_bind_null(db, stmt, idx);
}

int32_t fastn_sql_bind_int64(int32_t stmt, int32_t idx, int64_t v)
{
    return store_pdb_bind_int64(db, stmt, idx, v);
}

int32_t fastn_sql_bind_double(int32_t stmt, int32_t idx, double v)
{
    return store_pdb_bind_double(db, stmt, idx, v);
}

int32_t fastn_sql_bind_text(int32_t stmt, int32_t idx, const char *p,
                            size_t len)
{
    return store_pdb_bind_text(db, stmt, idx, p, len);
}

int32_t fastn_sql_bind_blob(int32_t stmt, int32_t idx, const void *p,
                            size_t len)
{
    return store_pdb_bind_blob(db, stmt, idx, p, len);
}

int32_t fastn_sql_step(int32_t stmt)
{
    return store_pdb_step(db, stmt);
}

int32_t fastn_sql_reset(int32_t stmt)
{
    return store_pdb_reset(db, stmt);
}

int32_t fastn_sql_finalize(int32_t stmt)
{
    return store_pdb_finalize(db, stmt);
}

int32_t fastn_sql_column_count(int32_t stmt)
{
    return store_pdb_column_count(db, stmt);
}

int32_t fastn_sql_column_type(int32_t stmt, int32_t col)
{
    return store_pdb_column_type(db, stmt, col);
}

int64_t fastn_sql_column_int64(int32_t stmt, int32_t col)
{
    return store_pdb_column_int64(db, stmt, col);
}

double fastn_sql_column_double(int32_t stmt, int32_t col)
{
    return store_pdb_column_double(db, stmt, col);
}

int32_t fastn_sql_column_bytes(int32_t stmt, int32_t col, void *buf, size_t cap)
{
    const uint8_t *src;
    size_t n;
    int err = store_pdb_column_bytes(db, stmt, col, &src, &n);

    if (err)
        return err;
    if (n)
        memcpy(buf, src, n < cap ? n : cap);
    return (int32_t)n;
}

int32_t fastn_sql_changes(void)
{
    return store_pdb_changes(db);
}

int64_t fastn_sql_last_insert_rowid(void)
{
    return store_pdb_last_insert_rowid(db);
}

int32_t fastn_sql_errmsg(char *buf, size_t cap)
{
    const char *m = store_pdb_errmsg(db);
    size_t n = strlen(m);

    memcpy(buf, m, n < cap ? n : cap);
    return (int32_t)n;
}
