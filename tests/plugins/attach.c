/*
 * Hostile plugin: SQL that reaches outside its own database. The call
 * "escape" tries each in turn and answers with what the host returned for
 * each, e.g. "attach=-502 detach=-502 ...". Expected: every one is an
 * error (FASTN_ERR_STORE_DENIED for most), no file appears at
 * /tmp/fastn-hostile-attach.sqlite, and the answer contains no "=0".
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-attach", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: tries ATTACH and other escapes in SQL",
    "capabilities": ["storage"],
    "storage_quota": 1048576
})
// clang-format on

static const struct {
    const char *name, *sql;
} attempts[] = {
    {"attach", "ATTACH DATABASE '/tmp/fastn-hostile-attach.sqlite' AS x"},
    {"attach_uri", "ATTACH 'file:/tmp/fastn-hostile-attach.sqlite?mode=rwc'"
                   " AS y"},
    {"detach", "DETACH DATABASE main"},
    {"vacuum_into", "VACUUM INTO '/tmp/fastn-hostile-attach.sqlite'"},
    {"temp_table", "CREATE TEMP TABLE t(x)"},
    {"quota_pragma", "PRAGMA max_page_count = 1000000"},
    {"journal_pragma", "PRAGMA journal_mode = OFF"},
    {"schema_pragma", "PRAGMA writable_schema = ON"},
    {"load_extension", "SELECT load_extension('/tmp/x.so')"},
    {"tokenizer", "SELECT fts3_tokenizer('simple', x'4141414141414141')"},
    {"temp_schema", "SELECT * FROM temp.sqlite_master"},
};

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    char out[1024];
    size_t len = 0;
    (void)arg, (void)arg_len;
    if (!(method_len == 6 && memcmp(method, "escape", 6) == 0))
        return fastn_reply_str(call, 0, "ok");
    for (size_t i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
        int32_t r = fastn_sql_exec_str(attempts[i].sql);
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s=%d",
                                i ? " " : "", attempts[i].name, (int)r);
    }
    /* and the same through a prepared statement */
    int32_t r = fastn_sql_prepare_str(attempts[0].sql);
    snprintf(out + len, sizeof(out) - len, " prepare_attach=%d", (int)r);
    return fastn_reply_str(call, 0, out);
}
