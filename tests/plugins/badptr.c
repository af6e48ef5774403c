/*
 * Hostile plugin: out-of-bounds pointers and lengths passed to host
 * calls. The call's method picks the abuse:
 *   log        a pointer past the end of memory
 *   wrap       pointer + length that wraps around 2^32
 *   write      stream_write with a huge length
 *   sql        sql_exec reading from past the end
 *   reply      call_reply with a pointer at the very end
 *   random     random() asked to write past the end (an output buffer)
 *   errmsg     sql_errmsg asked to write past the end
 *   notify     notify with a body past the end
 *   sha256     sha256 reading past the end; sha256out writing past it
 *   hashin     hash_start reading past the end; hashout its digest
 *              written past it
 *   blake2b    blake2b writing its digest past the end
 *   blobkey    blob_put with its key past the end; blobdata its data
 *   blobread   blob_read into a buffer past the end; blobsize and
 *              blobdel with a key that wraps around 2^32
 *   ok         a well-behaved log and reply (the control case)
 * Expected: every abuse stops the instance with
 * FASTN_ERR_PLUGIN_BAD_POINTER before the host reads or writes a byte;
 * nothing is logged, stored or notified; the call gets an error.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-badptr", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: passes bad pointers to host calls",
    "capabilities": ["storage", "notify"],
    "storage_quota": 65536
})
// clang-format on

static size_t mem_end(void)
{
    return __builtin_wasm_memory_size(0) * 65536;
}

static int is(const char *m, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(m, s, n) == 0;
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    (void)arg, (void)arg_len;
    char *end = (char *)mem_end();
    int32_t r = 0;
    if (is(method, method_len, "log"))
        r = fastn_log(FASTN_LOG_INFO, end + 16, 8);
    else if (is(method, method_len, "wrap"))
        r = fastn_log(FASTN_LOG_INFO, (const char *)0xfffffff0u, 0x20);
    else if (is(method, method_len, "write"))
        r = fastn_stream_write(1, "x", 0x7fffffff);
    else if (is(method, method_len, "sql"))
        r = fastn_sql_exec(end - 4, 100);
    else if (is(method, method_len, "reply"))
        r = fastn_call_reply(call, 0, end - 1, 2);
    else if (is(method, method_len, "random"))
        r = fastn_random(end - 8, 16);
    else if (is(method, method_len, "errmsg"))
        r = fastn_sql_errmsg(end - 2, 64);
    else if (is(method, method_len, "notify"))
        r = fastn_notify("t", 1, end, 1);
    else if (is(method, method_len, "sha256"))
        r = fastn_sha256(end - 8, 16, (uint8_t *)end - 4096);
    else if (is(method, method_len, "sha256out"))
        r = fastn_sha256("abc", 3, (uint8_t *)end - 16);
    else if (is(method, method_len, "hashin"))
        r = fastn_hash_start(FASTN_HASH_SHA256, end - 8, 1u << 16,
                             (uint8_t *)end - 4096, 1);
    else if (is(method, method_len, "hashout"))
        r = fastn_hash_start(FASTN_HASH_SHA256, "abc", 3, (uint8_t *)end - 16,
                             1);
    else if (is(method, method_len, "blake2b"))
        r = fastn_blake2b("abc", 3, NULL, 0, (uint8_t *)end - 32, 64);
    else if (is(method, method_len, "blobkey"))
        r = fastn_blob_put(end - 2, 8, "x", 1);
    else if (is(method, method_len, "blobdata"))
        r = fastn_blob_put("k", 1, end - 100, 1u << 20);
    else if (is(method, method_len, "blobread")) {
        fastn_blob_put("k", 1, "abc", 3);
        r = fastn_blob_read("k", 1, 0, end - 1, 16);
    } else if (is(method, method_len, "blobsize"))
        r = (int32_t)fastn_blob_size((const void *)0xfffffff0u, 0x20);
    else if (is(method, method_len, "blobdel"))
        r = fastn_blob_delete((const void *)0xfffffff8u, 16);
    else
        return fastn_log_str(FASTN_LOG_INFO, "badptr: ok") < 0
                   ? -1
                   : fastn_reply_str(call, 0, "ok");
    /* Reaching here means the host let the bad pointer through. */
    char msg[64];
    snprintf(msg, sizeof(msg), "ESCAPED: the host returned %d", (int)r);
    return fastn_reply_str(call, 0, msg);
}
