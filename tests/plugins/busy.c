/*
 * Hostile plugin: keeps the daemon busy in each of the ways fuel alone
 * did not bound (tests/integration/plugins_stall.sh runs several copies,
 * renamed, at once, while a client measures how long the daemon takes to
 * answer it).
 *
 *   spin          an endless loop (ends out of fuel: 1e9 units, about
 *                 a second of CPU, cut into slices)
 *   timers N [MS] arms N timers at MS ms (default 0), each re-armed at
 *                 0 ms when it fires, for ever (answers at once)
 *   grind N       for ever, from a timer: N rounds of a loop, then the
 *                 timer again at 0 ms (an event of many slices, short of
 *                 its fuel, one after another: never stopped, never done)
 *   fill N        memory.fill of N bytes in an endless loop
 *   sql N         a recursive CTE over hex(randomblob(N)), each step
 *                 heavy (few VM steps, much work)
 *   fired         how many timers fired so far
 * Expected: the daemon answers other clients within 20 ms all along; the
 * plugin is bounded by its CPU budget, its slices and its fuel.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-busy-00", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: keeps the daemon busy",
    "capabilities": ["timers", "storage"],
    "storage_quota": 1048576,
    "limits": {"fuel_per_event": 1000000000, "memory_pages": 300,
               "timers": 256}
})
// clang-format on

static volatile uint64_t counter;
static uint64_t fired;

static int is(const char *m, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(m, s, n) == 0;
}

#define GRIND_TIMER 100000

static long grind_rounds;

int32_t on_timer(int32_t id)
{
    if (id == GRIND_TIMER)
        for (long i = 0; i < grind_rounds; i++)
            counter++;
    else
        fired++;
    return fastn_timer_set(id, 0);
}

/* bulk memory for this function: memset becomes memory.fill */
__attribute__((target("bulk-memory"))) static int32_t fill(long n)
{
    static uint8_t *p;
    if (n <= 0 || n > 16 << 20)
        n = 16 << 20;
    if (!p && !(p = malloc((size_t)n)))
        abort();
    for (uint8_t v = 0;; v++)
        __builtin_memset(p, v, (size_t)n); /* memory.fill (bulk memory) */
}

static int32_t sql(int32_t call, long n)
{
    char q[200];
    snprintf(q, sizeof(q),
             "WITH RECURSIVE c(x, y) AS (SELECT 1, hex(randomblob(%ld)) "
             "UNION ALL SELECT x + 1, hex(y) FROM c WHERE x < 1000000) "
             "SELECT count(*) FROM c",
             n);
    int32_t r = fastn_sql_exec_str(q);
    char msg[64];
    snprintf(msg, sizeof(msg), "sql=%d", (int)r);
    return fastn_reply_str(call, 0, msg);
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    char a[32], msg[64];
    if (arg_len >= sizeof(a))
        arg_len = sizeof(a) - 1;
    memcpy(a, arg, arg_len);
    a[arg_len] = '\0';
    long n = strtol(a, NULL, 10);
    if (is(method, method_len, "spin"))
        for (;;)
            counter++;
    if (is(method, method_len, "timers")) {
        const char *sp = strchr(a, ' ');
        long ms = sp ? strtol(sp + 1, NULL, 10) : 0;
        for (long i = 0; i < n; i++)
            fastn_timer_set((int32_t)i, ms);
        return fastn_reply_str(call, 0, "armed");
    }
    if (is(method, method_len, "grind")) {
        grind_rounds = n;
        fastn_timer_set(GRIND_TIMER, 0);
        return fastn_reply_str(call, 0, "grinding");
    }
    if (is(method, method_len, "fill"))
        return fill(n);
    if (is(method, method_len, "sql"))
        return sql(call, n);
    snprintf(msg, sizeof(msg), "fired=%llu", (unsigned long long)fired);
    return fastn_reply_str(call, 0, msg);
}
