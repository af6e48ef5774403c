/*
 * Plugin benchmarks without a network (bench/plugin/run.sh runs them and
 * the two-daemon round trips):
 *
 *   load        fastn_wasm_module_load of echo.wasm and chat.wasm
 *               (decode, validate, compile), and a whole install
 *               (checks + load + write the file + instantiate + on_start);
 *   memory      resident memory per idle plugin: N copies of echo (same
 *               code, other names) installed and started in one host;
 *   calls       local calls through the host to echo's on_call, per
 *               second (host path only: no socket);
 *   imports     what each import takes per call against the fuel it is
 *               charged (tests/plugins/imports.c).
 *
 * Usage: plugin_bench [load|memory|calls|imports] [N]; BUILD/FASTN_TOP find the
 * built plugins. Prints one line per figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fastn/err.h"
#include "plugin/plugin.h"
#include "store/store.h"
#include "util/log.h"
#include "wasm/wasm.h"

static char home[64];
static uint64_t replies;
static char last_reply[128];
static bool keep_reply; /* bench_imports shows the answers */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t *read_built(const char *rel, size_t *len)
{
    char path[512];
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    FILE *f;
    uint8_t *d;

    snprintf(path, sizeof(path), "%s/%s/%s", top ? top : ".",
             build ? build : "build", rel);
    if (!(f = fopen(path, "rb"))) {
        fprintf(stderr, "plugin_bench: %s not built\n", path);
        exit(77);
    }
    d = malloc(8 << 20);
    *len = fread(d, 1, 8 << 20, f);
    fclose(f);
    return d;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

static void on_reply(void *arg, uint64_t call, int status, const uint8_t *p,
                     size_t n)
{
    (void)arg, (void)call;
    if (status == 0)
        replies++;
    if (keep_reply)
        snprintf(last_reply, sizeof(last_reply), "%.*s",
                 (int)(n < 100 ? n : 100), (const char *)p);
}

static void nop_wake(void *arg)
{
    (void)arg;
}

static const struct plugin_host_ops ops = {.call_reply = on_reply,
                                           .wake = nop_wake};

/* A host in a new home; with st, a state.sqlite there too (notify). */
static struct plugin_host *new_host_state(struct store **st)
{
    struct plugin_host_config cfg = {0};
    struct plugin_host *h;
    char path[128];

    snprintf(home, sizeof(home), "/tmp/fastn-bench-XXXXXX");
    if (!mkdtemp(home))
        exit(1);
    snprintf(path, sizeof(path), "%s/state.sqlite", home);
    if (st && store_open(path, NULL, st))
        exit(1);
    cfg.state = st ? *st : NULL;
    cfg.home = home;
    cfg.local_peer_id = "12D3KooWDiujcij5r7T3YTmKCdZRkAct8UcQicZCBUnKjd7Nnbvd";
    cfg.ops = &ops;
    if (plugin_host_new(&cfg, &h))
        exit(1);
    return h;
}

static struct plugin_host *new_host(void)
{
    return new_host_state(NULL);
}

static void drop_host(struct plugin_host *h)
{
    char cmd[128];
    plugin_host_free(h);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", home);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp);
    return v[n / 2];
}

/* What a daemon start costs per plugin: read the file, check it,
 * compile it, instantiate it, _initialize and on_start. */
static void bench_start(const uint8_t *wasm, size_t len, int n,
                        const char *file)
{
    struct plugin_host_config cfg = {0};
    struct plugin_host *h = new_host();
    char name[64], err[256];
    double t[1000];

    if (plugin_host_install(h, wasm, len, false, name, err, sizeof(err)))
        exit(1);
    plugin_host_free(h);
    cfg.home = home;
    cfg.local_peer_id = "12D3KooWDiujcij5r7T3YTmKCdZRkAct8UcQicZCBUnKjd7Nnbvd";
    cfg.ops = &ops;
    for (int i = 0; i < n; i++) {
        double t0 = now_s();
        if (plugin_host_new(&cfg, &h) || plugin_host_load_all(h) != 1)
            exit(1);
        plugin_host_run(h, 1, 1, 10);
        t[i] = now_s() - t0;
        plugin_host_free(h);
    }
    h = NULL;
    if (plugin_host_new(&cfg, &h) == 0)
        drop_host(h);
    printf("start %s (read, check, load, instantiate, _initialize, "
           "on_start): %.0f us (median of %d)\n",
           file, median(t, n) * 1e6, n);
}

static void bench_load(int n)
{
    static const char *const files[] = {"plugins/echo.wasm",
                                        "plugins/chat.wasm"};
    double t[1000];

    if (n > 1000)
        n = 1000;
    for (int k = 0; k < 2; k++) {
        size_t len;
        uint8_t *wasm = read_built(files[k], &len);
        for (int i = 0; i < n; i++) {
            struct fastn_wasm_module *m = NULL;
            double t0 = now_s();
            if (fastn_wasm_module_load(wasm, len, 0, &m, NULL))
                exit(1);
            t[i] = now_s() - t0;
            fastn_wasm_module_free(m);
        }
        printf("load %s (%zu bytes): %.0f us to decode, validate and "
               "compile (median of %d)\n",
               files[k], len, median(t, n) * 1e6, n);
        for (int i = 0; i < n; i++) {
            struct plugin_host *h = new_host();
            char name[64], err[256];
            double t0 = now_s();
            if (plugin_host_install(h, wasm, len, false, name, err,
                                    sizeof(err))) {
                fprintf(stderr, "install: %s\n", err);
                exit(1);
            }
            plugin_host_run(h, 1, 1, 10); /* _initialize + on_start */
            t[i] = now_s() - t0;
            drop_host(h);
        }
        printf("install %s (checks, load, write with fsync, instantiate, "
               "on_start): %.0f us (median of %d)\n",
               files[k], median(t, n) * 1e6, n);
        bench_start(wasm, len, n, files[k]);
        free(wasm);
    }
}

/* Replaces every occurrence of a by b (same length) in the file. */
static void patch(uint8_t *p, size_t n, const char *a, const char *b)
{
    size_t k = strlen(a);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(p + i, a, k))
            memcpy(p + i, b, k);
}

/* N copies of a plugin whose name is 4 letters (echo, chat), renamed in
 * its manifest (e000, e001, ...) with its protocol, installed and started
 * in one host. */
static void bench_memory(int n, const char *which)
{
    char rel[64], from_name[16], from_proto[32];
    size_t len;
    snprintf(rel, sizeof(rel), "plugins/%s.wasm", which);
    snprintf(from_name, sizeof(from_name), "\"%s\"", which);
    snprintf(from_proto, sizeof(from_proto), "/fastn/%s/1.0.0", which);
    uint8_t *echo = read_built(rel, &len);
    uint8_t *copy = malloc(len);
    struct plugin_host *h = new_host();
    char name[64], err[256], alias[8];
    long before, after;

    before = rss_kib();
    for (int i = 0; i < n; i++) {
        memcpy(copy, echo, len);
        char quoted[16], proto[32];
        snprintf(alias, sizeof(alias), "%c%03d", which[0], i % 1000);
        snprintf(quoted, sizeof(quoted), "\"%s\"", alias);
        patch(copy, len, from_name, quoted);
        snprintf(proto, sizeof(proto), "/fastn/%s/1.0.0", alias);
        patch(copy, len, from_proto, proto);
        if (plugin_host_install(h, copy, len, false, name, err, sizeof(err))) {
            fprintf(stderr, "install %d: %s\n", i, err);
            exit(1);
        }
    }
    plugin_host_run(h, 1, 1, 10);
    after = rss_kib();
    struct plugin_info info;
    snprintf(alias, sizeof(alias), "%c000", which[0]);
    plugin_host_info(h, alias, &info);
    printf("memory: %d idle %s plugins: %.0f KiB resident each "
           "(module, instance%s; linear memory %u pages = %u KiB)\n",
           n, which, (double)(after - before) / n,
           info.db_bytes ? ", open database" : "", info.memory_pages,
           info.memory_pages * 64);
    drop_host(h);
    free(copy);
    free(echo);
}

static void bench_calls(int n)
{
    size_t len;
    uint8_t *echo = read_built("plugins/echo.wasm", &len);
    struct plugin_host *h = new_host();
    char name[64], err[256];

    if (plugin_host_install(h, echo, len, false, name, err, sizeof(err)))
        exit(1);
    plugin_host_run(h, 1, 1, 10);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        plugin_host_call(h, "echo", "echo", 4, (const uint8_t *)"ping", 4,
                         (uint64_t)i + 1);
        plugin_host_run(h, 1, 1, 1);
    }
    double dt = now_s() - t0;
    printf("calls: %.0f echo calls/s through the host (%.1f us each, %llu "
           "answered)\n",
           n / dt, dt / n * 1e6, (unsigned long long)replies);
    drop_host(h);
    free(echo);
}

/* What each import takes per call (wall time, the loop in wasm around it
 * included) against the fuel it is charged: hostile-imports calls one
 * import n times in one event. Units per ns should be about 1 or more. */
static void bench_imports(int n)
{
    static const struct {
        const char *name;
        long size, n;
    } v[] = {
        {"now_ms", 0, 1},        {"local_peer_id", 64, 1},
        {"random", 16, 1},       {"random", 65536, 50},
        {"log", 64, 10},         {"timer", 0, 1},
        {"sql_bind", 16, 1},     {"sql_bind", 65536, 10},
        {"sql_column", 0, 1},    {"sql_step", 0, 10},
        {"sql_exec", 0, 10},     {"notify", 64, 50},
        {"wasi_clock", 0, 1},    {"wasi_random", 16, 1},
        {"wasi_random", 256, 1}, {"wasi_write", 64, 10},
        {"wasi_stub", 0, 1},     {"sha256", 65536, 50},
        {"blake2b", 65536, 50},
    };
    size_t len;
    uint8_t *wasm = read_built("tests/plugins/imports.wasm", &len);
    struct store *st = NULL;
    struct plugin_host *h = new_host_state(&st);
    struct plugin_host_limits lim = {.cpu_percent = 100};
    struct plugin_info info;
    char name[64], err[256], arg[64];

    keep_reply = true;
    if (plugin_host_set_limits(h, &lim) ||
        plugin_host_install(h, wasm, len, false, name, err, sizeof(err)))
        exit(1);
    plugin_host_run(h, 1, 1, 10);
    /* once unmeasured: the first call creates its table and statement */
    plugin_host_call(h, name, "now_ms", 6, (const uint8_t *)"1 0", 3, 1);
    while (!replies)
        plugin_host_run(h, 1, 1, 1);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        long k = n / v[i].n;
        uint64_t before = replies;
        snprintf(arg, sizeof(arg), "%ld %ld", k, v[i].size);
        plugin_host_info(h, name, &info);
        uint64_t fuel0 = info.fuel_used;
        double t0 = now_s();
        plugin_host_call(h, name, v[i].name, strlen(v[i].name),
                         (const uint8_t *)arg, strlen(arg), 1);
        while (replies == before)
            plugin_host_run(h, 1, 1, 1);
        double ns = (now_s() - t0) * 1e9 / (double)k;
        plugin_host_info(h, name, &info);
        double fuel = (double)(info.fuel_used - fuel0) / (double)k;
        printf("import %-13s %6ld B: %8.0f ns, %8.0f units a call (%.2f "
               "units/ns; %s)\n",
               v[i].name, v[i].size, ns, fuel, fuel / ns, last_reply);
    }
    drop_host(h);
    store_close(st);
    free(wasm);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";
    int n = argc > 2 ? atoi(argv[2]) : 0;

    log_set_level(LOG_ERROR);
    if (!strcmp(what, "load") || !strcmp(what, "all"))
        bench_load(n ? n : 30);
    if (!strcmp(what, "memory") || !strcmp(what, "all"))
        bench_memory(n ? n : 100, "echo");
    if (!strcmp(what, "memory-chat") || !strcmp(what, "all"))
        bench_memory(n ? n : 50, "chat");
    if (!strcmp(what, "calls") || !strcmp(what, "all"))
        bench_calls(n ? n : 100000);
    if (!strcmp(what, "imports") || !strcmp(what, "all"))
        bench_imports(n ? n : 20000);
    return 0;
}
