/*
 * @NAME@: a small key-value store in the plugin's own database, through
 * local calls: `put KEY VALUE`, `get KEY`, `list`. A key stored for the
 * first time raises a notification. The database (HOME/data/@NAME@/)
 * outlives restarts and `install --replace`.
 *
 * Arguments: `fastn plugin call @NAME@ put KEY VALUE` sends KEY and VALUE
 * joined by a NUL byte; a single argument "KEY VALUE" works too (split at
 * its first space).
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "@NAME@",
    "version": "0.1.0",
    "abi": 1,
    "description": "A key-value store (made by fastn plugin new)",
    "protocols": [],
    "capabilities": ["storage", "notify"],
    "serves": "known-peers",
    "apps": ["fastn"]
})
// clang-format on

#define VALUE_MAX 4096

int32_t on_start(void)
{
    return fastn_sql_exec_str("CREATE TABLE IF NOT EXISTS kv("
                              "key TEXT PRIMARY KEY, value TEXT NOT NULL)");
}

/* Splits arg into its first argument and the rest (NUL, else a space). */
static size_t split(const uint8_t *arg, size_t len, size_t *rest)
{
    const uint8_t *sep = memchr(arg, '\0', len);
    if (!sep)
        sep = memchr(arg, ' ', len);
    *rest = sep ? (size_t)(sep - arg) + 1 : len;
    return sep ? (size_t)(sep - arg) : len;
}

static int32_t put(int32_t call, const uint8_t *arg, size_t len)
{
    size_t rest, klen = split(arg, len, &rest);
    int32_t st, rc, fresh;

    if (klen == 0 || rest >= len)
        return fastn_reply_str(call, FASTN_ERR_INVAL, "put wants KEY VALUE");
    st = fastn_sql_prepare_str("INSERT INTO kv VALUES (?1, ?2) ON CONFLICT"
                               " (key) DO UPDATE SET value = ?2");
    if (st < 0)
        return st;
    fastn_sql_bind_text(st, 1, (const char *)arg, klen);
    fastn_sql_bind_text(st, 2, (const char *)arg + rest, len - rest);
    /* a new key: no row had it before (changes() counts an update too) */
    int32_t q = fastn_sql_prepare_str("SELECT 1 FROM kv WHERE key = ?1");
    fastn_sql_bind_text(q, 1, (const char *)arg, klen);
    fresh = fastn_sql_step(q) == FASTN_SQL_DONE;
    fastn_sql_finalize(q);
    rc = fastn_sql_step(st);
    fastn_sql_finalize(st);
    if (rc < 0)
        return rc; /* answers the call with the error (e.g. the quota) */
    if (fresh)
        fastn_notify("New key", 7, (const char *)arg, klen);
    return fastn_reply_str(call, 0, "stored");
}

static int32_t get(int32_t call, const uint8_t *arg, size_t len)
{
    char value[VALUE_MAX];
    int32_t st = fastn_sql_prepare_str("SELECT value FROM kv WHERE key = ?1");
    int32_t rc, n = 0;

    if (st < 0)
        return st;
    fastn_sql_bind_text(st, 1, (const char *)arg, len);
    rc = fastn_sql_step(st);
    if (rc == FASTN_SQL_ROW)
        n = fastn_sql_column_bytes(st, 0, value, sizeof(value));
    fastn_sql_finalize(st);
    if (rc != FASTN_SQL_ROW)
        return fastn_reply_str(call, FASTN_ERR_NOT_FOUND, "no such key");
    if (n < 0)
        return n;
    return fastn_call_reply(
        call, 0, value, (size_t)n < sizeof(value) ? (size_t)n : sizeof(value));
}

/* Every key, one a line. */
static int32_t list(int32_t call)
{
    char out[VALUE_MAX];
    size_t len = 0;
    int32_t st = fastn_sql_prepare_str("SELECT key FROM kv ORDER BY key");

    if (st < 0)
        return st;
    while (fastn_sql_step(st) == FASTN_SQL_ROW && len < sizeof(out)) {
        int32_t n =
            fastn_sql_column_bytes(st, 0, out + len, sizeof(out) - len - 1);
        if (n < 0 || (size_t)n >= sizeof(out) - len - 1)
            break; /* the list is cut where it no longer fits */
        len += (size_t)n;
        out[len++] = '\n';
    }
    fastn_sql_finalize(st);
    return fastn_call_reply(call, 0, out, len);
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    if (method_len == 3 && memcmp(method, "put", 3) == 0)
        return put(call, arg, arg_len);
    if (method_len == 3 && memcmp(method, "get", 3) == 0)
        return get(call, arg, arg_len);
    if (method_len == 4 && memcmp(method, "list", 4) == 0)
        return list(call);
    return fastn_reply_str(call, FASTN_ERR_NOT_FOUND,
                           "unknown method; @NAME@ has: put KEY VALUE, get "
                           "KEY, list");
}
