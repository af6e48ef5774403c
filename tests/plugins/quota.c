/*
 * Hostile plugin: writes past its storage quota. The call "fill" inserts
 * 16 KiB blobs until an insert fails and answers "rows=N err=E".
 * Expected: E is FASTN_ERR_STORE_QUOTA (-501), the database file stays
 * within the quota (64 KiB asked; the host may add a page or two of
 * overhead), and the plugin keeps working: "count" answers how many rows
 * survived, and deleting makes room again.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-quota", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: writes past its storage quota",
    "capabilities": ["storage"],
    "storage_quota": 65536
})
// clang-format on

static uint8_t blob[16384];

static int32_t fill(int32_t call)
{
    char msg[64];
    int32_t err = fastn_sql_exec_str("CREATE TABLE IF NOT EXISTS b(x BLOB)");
    int32_t st =
        err < 0 ? err : fastn_sql_prepare_str("INSERT INTO b VALUES(?)");
    int rows = 0;
    err = st;
    memset(blob, 0x5a, sizeof(blob));
    while (st > 0) {
        fastn_sql_reset(st);
        fastn_sql_bind_blob(st, 1, blob, sizeof(blob));
        err = fastn_sql_step(st);
        if (err < 0)
            break;
        rows++;
    }
    if (st > 0)
        fastn_sql_finalize(st);
    snprintf(msg, sizeof(msg), "rows=%d err=%d", rows, (int)err);
    return fastn_reply_str(call, 0, msg);
}

static int32_t count(int32_t call)
{
    char msg[32];
    int32_t st = fastn_sql_prepare_str("SELECT count(*) FROM b");
    if (st < 0 || fastn_sql_step(st) != FASTN_SQL_ROW)
        return fastn_reply_str(call, st < 0 ? st : FASTN_ERR_STORE, "no rows");
    snprintf(msg, sizeof(msg), "%lld",
             (long long)fastn_sql_column_int64(st, 0));
    fastn_sql_finalize(st);
    return fastn_reply_str(call, 0, msg);
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    (void)arg, (void)arg_len;
    if (method_len == 4 && memcmp(method, "fill", 4) == 0)
        return fill(call);
    if (method_len == 5 && memcmp(method, "count", 5) == 0)
        return count(call);
    return fastn_reply_str(call, 0, "ok");
}
