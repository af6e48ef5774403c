/*
 * Hostile plugin: calls one import in a loop, to see that every import is
 * charged by the work it does (docs/PLUGIN-ABI.md, "What imports cost").
 *
 *   NAME N [SIZE]     calls import NAME N times (SIZE bytes where it
 *                     takes bytes) and answers "n=N last=R", R the last
 *                     result
 *   forever NAME [SIZE]  calls it without end
 *
 * NAME is one of now_ms monotonic_ms random log local_peer_id timer
 * sql_step sql_exec sql_bind sql_column notify wasi_clock wasi_random
 * wasi_write wasi_stub sha256 blake2b blob_put blob_read. Expected of a loop
 * that never ends: it runs out of fuel (the imports' charges, not the loop's
 * own instructions, use it up) within the few milliseconds fuel_per_event is
 * worth. plugin_bench's `imports` mode measures what each import takes per call
 * against what it is charged.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-imports", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: calls one import in a loop",
    "capabilities": ["storage", "notify", "timers"],
    "storage_quota": 1048576,
    "limits": {"fuel_per_event": 1000000000, "memory_pages": 8}
})
// clang-format on

/* WASI functions, called directly: clock_time_get, random_get, and one
 * the host answers ENOSYS. */
#define WASI_(name)                                                            \
    __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))
WASI_(clock_time_get) int32_t wasi_clock(int32_t id, int64_t prec, void *out);
WASI_(random_get) int32_t wasi_random(void *buf, size_t len);
WASI_(sched_yield) int32_t wasi_sched_yield(void);

static uint8_t buf[65536];
static int32_t stmt = -1;

static int is(const char *m, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(m, s, n) == 0;
}

static int32_t sql_stmt(void)
{
    if (stmt < 0) {
        fastn_sql_exec_str("CREATE TABLE IF NOT EXISTS t(x)");
        stmt = fastn_sql_prepare_str("SELECT ?1");
    }
    return stmt;
}

static size_t size; /* bytes for the imports that take some */

static int64_t c_now(void)
{
    return fastn_now_ms();
}
static int64_t c_mono(void)
{
    return fastn_monotonic_ms();
}
static int64_t c_random(void)
{
    return fastn_random(buf, size);
}
static int64_t c_log(void)
{
    return fastn_log(FASTN_LOG_TRACE, (const char *)buf, size);
}
static int64_t c_peer(void)
{
    return fastn_local_peer_id((char *)buf, size);
}
static int64_t c_timer(void)
{
    return fastn_timer_set(1, 1000000);
}
static int64_t c_step(void)
{
    int32_t r = fastn_sql_step(sql_stmt());
    fastn_sql_reset(sql_stmt());
    return r;
}
static int64_t c_exec(void)
{
    return fastn_sql_exec_str("SELECT 1");
}
static int64_t c_bind(void)
{
    return fastn_sql_bind_blob(sql_stmt(), 1, buf, size);
}
static int64_t c_column(void)
{
    return fastn_sql_column_int64(sql_stmt(), 0);
}
static int64_t c_notify(void)
{
    return fastn_notify("t", 1, (const char *)buf, size > 4096 ? 4096 : size);
}
static int64_t c_wclock(void)
{
    uint64_t ns;
    return wasi_clock(1, 0, &ns);
}
static int64_t c_wrandom(void)
{
    return wasi_random(buf, size);
}
static int64_t c_wwrite(void)
{
    return (int64_t)fwrite(buf, 1, size, stderr) + fflush(stderr);
}
static int64_t c_sha256(void)
{
    uint8_t out[32];
    return fastn_sha256(buf, size, out);
}
static int64_t c_blake2b(void)
{
    uint8_t out[64];
    return fastn_blake2b(buf, size, NULL, 0, out, sizeof(out));
}
static int64_t c_blob_put(void)
{
    return fastn_blob_put("k", 1, buf, size);
}
static int64_t c_blob_read(void)
{
    return fastn_blob_read("k", 1, 0, buf, size);
}
static int64_t c_wstub(void)
{
    return wasi_sched_yield();
}

static const struct {
    const char *name;
    int64_t (*fn)(void);
} imports[] = {
    {"now_ms", c_now},          {"monotonic_ms", c_mono},
    {"random", c_random},       {"log", c_log},
    {"local_peer_id", c_peer},  {"timer", c_timer},
    {"sql_step", c_step},       {"sql_exec", c_exec},
    {"sql_bind", c_bind},       {"sql_column", c_column},
    {"notify", c_notify},       {"wasi_clock", c_wclock},
    {"wasi_random", c_wrandom}, {"wasi_write", c_wwrite},
    {"wasi_stub", c_wstub},     {"sha256", c_sha256},
    {"blake2b", c_blake2b},     {"blob_put", c_blob_put},
    {"blob_read", c_blob_read},
};

static int64_t (*find(const char *name, size_t len))(void)
{
    for (size_t i = 0; i < sizeof(imports) / sizeof(imports[0]); i++)
        if (is(name, len, imports[i].name))
            return imports[i].fn;
    return NULL;
}

int32_t on_start(void)
{
    memset(buf, 'a', sizeof(buf));
    return 0;
}

int32_t on_timer(int32_t id)
{
    (void)id;
    return 0;
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    char a[64], msg[64];
    int64_t (*fn)(void), r = 0;
    long n;

    if (arg_len >= sizeof(a))
        arg_len = sizeof(a) - 1;
    memcpy(a, arg, arg_len);
    a[arg_len] = '\0';
    char *sp = strchr(a, ' ');
    long sz = sp ? strtol(sp + 1, NULL, 10) : 16;
    size = sz < 0 || sz > (long)sizeof(buf) ? 16 : (size_t)sz;
    if (is(method, method_len, "forever")) {
        if (!(fn = find(a, sp ? (size_t)(sp - a) : strlen(a))))
            return fastn_reply_str(call, FASTN_ERR_NOT_FOUND, "no such");
        for (;;)
            fn();
    }
    if (!(fn = find(method, method_len)))
        return fastn_reply_str(call, FASTN_ERR_NOT_FOUND, "no such import");
    n = strtol(a, NULL, 10);
    memset(buf, 'a', sizeof(buf));
    sql_stmt();
    fastn_sql_bind_int64(sql_stmt(), 1, 7);
    for (long i = 0; i < n; i++)
        r = fn();
    snprintf(msg, sizeof(msg), "n=%ld last=%lld", n, (long long)r);
    return fastn_reply_str(call, 0, msg);
}
