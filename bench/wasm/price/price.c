/*
 * fuel_price: what one unit of fuel costs, in CPU nanoseconds, for each
 * class of work the engine charges (docs/BENCHMARKS.md, "Fuel prices").
 *
 *   fuel_price [-n RUNS] PRICE.wasm [PROGRAM.wasm...]
 *
 * PRICE.wasm is bench/wasm/price/price.wat built by wat2wasm: each of its
 * exports repeats one class of work (plain instructions, memory.fill,
 * memory.copy, memory.init, the table operations, memory.grow with the
 * first touch of every page, random_get, fd_write, clock_time_get, host
 * calls, calls that set up many locals). Each PROGRAM.wasm (the
 * benchmark programs, exporting run()) is plain compiled C. Every class
 * runs in a fresh instance with a huge fuel budget; its CPU time
 * (CLOCK_PROCESS_CPUTIME_ID, so that other programs on the machine do not
 * count) divided by the fuel it was charged is its price. The median of
 * RUNS runs (default 5) is printed as a markdown table. Prices at or
 * below about 1 ns a unit mean the work is charged at least what it
 * costs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/file.h"
#include "wasm/wasi.h"
#include "wasm/wasm.h"

#define MAX_RUNS 21

struct klass {
    const char *what, *export;
    uint32_t n, size;
    int nargs;
};

static const struct klass classes[] = {
    {"plain instructions (an i32 loop)", "plain", 20000000, 0, 1},
    {"memory.fill, 64 KiB (in cache)", "fill", 20000, 65536, 2},
    {"memory.fill, 16 MiB", "fill", 40, 16u << 20, 2},
    {"memory.copy, 64 KiB (in cache)", "copy", 20000, 65536, 2},
    {"memory.copy, 16 MiB", "copy", 40, 16u << 20, 2},
    {"memory.init, 1 KiB", "init", 200000, 0, 1},
    {"table.fill, 64 Ki elements", "tfill", 2000, 65536, 2},
    {"table.fill, 512 Ki elements", "tfill", 100, 524288, 2},
    {"table.copy, 512 Ki elements", "tcopy", 100, 524288, 2},
    {"table.init, 64 elements", "tinit", 200000, 0, 1},
    {"table.grow, 1 Ki elements at a time", "tgrow", 8000, 1024, 2},
    {"memory.grow 1 page + first touch of it", "grow", 2000, 0, 1},
    {"random_get, 64 KiB", "random", 200, 65536, 2},
    {"random_get, 16 bytes", "random", 20000, 16, 2},
    {"fd_write, 4 KiB to /dev/null", "write", 20000, 4096, 2},
    {"clock_time_get (monotonic)", "clock", 200000, 0, 1},
    {"host call (a function doing nothing)", "host", 2000000, 0, 1},
    {"call setting up 1000 locals", "locals", 200000, 0, 1},
};

static int devnull = -1;

static int nop(struct fastn_wasm_instance *caller, void *user,
               const union fastn_wasm_value *args,
               union fastn_wasm_value *results)
{
    (void)caller, (void)user, (void)args, (void)results;
    return 0;
}

/* fd_write's output goes to /dev/null: a real system call. */
static int to_null(void *user, int fd, const uint8_t *p, size_t n)
{
    (void)user, (void)fd;
    return write(devnull, p, n) == (ssize_t)n ? 0 : 29;
}

static double cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Runs export name once in a fresh instance of mod: *ns gets the CPU
 * time, *units the fuel charged. */
static int run_once(const struct fastn_wasm_module *mod, const char *name,
                    const union fastn_wasm_value *args, size_t nargs,
                    size_t nres, double *ns, double *units)
{
    struct fastn_wasm_wasi w = {.write = to_null};
    struct fastn_wasm_imports *imps = fastn_wasm_imports_new();
    struct fastn_wasm_instance *inst = NULL;
    struct fastn_wasm_limits lim;
    struct fastn_wasm_error err;
    union fastn_wasm_value res;
    int rc = imps ? fastn_wasm_wasi_add(imps, mod, &w) : FASTN_ERR_NOMEM;
    if (rc == 0)
        rc = fastn_wasm_imports_add_func(imps, "bench", "nop", "", "", nop,
                                         NULL);
    fastn_wasm_limits_default(&lim);
    lim.fuel = UINT64_MAX / 2;
    if (rc == 0)
        rc = fastn_wasm_instance_new(mod, imps, &lim, &inst, &err);
    fastn_wasm_imports_free(imps);
    if (rc == 0)
        rc = fastn_wasm_instance_init(inst);
    if (rc == 0) {
        double t0 = cpu_ns();
        rc = fastn_wasm_instance_call(inst, name, args, nargs, &res, nres);
        *ns = cpu_ns() - t0;
        *units = (double)(UINT64_MAX / 2 - fastn_wasm_fuel_get(inst));
    }
    fastn_wasm_instance_free(inst);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Prints one row: the median over runs of ns per unit. */
static int measure(const struct fastn_wasm_module *mod, const char *what,
                   const char *name, const union fastn_wasm_value *args,
                   size_t nargs, size_t nres, int runs)
{
    double per[MAX_RUNS], ns = 0, units = 0;
    for (int i = 0; i < runs; i++) {
        int rc = run_once(mod, name, args, nargs, nres, &ns, &units);
        if (rc) {
            fprintf(stderr, "fuel_price: %s: %s\n", what, fastn_err_name(rc));
            return -1;
        }
        per[i] = units > 0 ? ns / units : 0;
    }
    qsort(per, (size_t)runs, sizeof(double), cmp_double);
    printf("| %s | %.0f | %.3f |\n", what, units, per[runs / 2]);
    fflush(stdout);
    return 0;
}

static struct fastn_wasm_module *load(const char *path)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    struct fastn_wasm_module *mod = NULL;
    struct fastn_wasm_error err;
    if (file_read_all(path, (size_t)1 << 26, &bytes, &len) != 0) {
        fprintf(stderr, "fuel_price: cannot read %s\n", path);
        return NULL;
    }
    if (fastn_wasm_module_load(bytes, len, 0, &mod, &err) != 0)
        fprintf(stderr, "fuel_price: %s: %s\n", path, err.message);
    free(bytes);
    return mod;
}

int main(int argc, char **argv)
{
    int runs = 5, i = 1, bad = 0;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        runs = atoi(argv[2]);
        i = 3;
    }
    if (i >= argc || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: fuel_price [-n RUNS] PRICE.wasm "
                        "[PROGRAM.wasm...]\n");
        return 2;
    }
    devnull = open("/dev/null", O_WRONLY);
    struct fastn_wasm_module *mod = load(argv[i]);
    if (!mod || devnull < 0)
        return 1;
    printf("| work | units charged (one run) | ns per unit |\n"
           "|---|---:|---:|\n");
    for (size_t k = 0; k < sizeof(classes) / sizeof(classes[0]); k++) {
        const struct klass *c = &classes[k];
        union fastn_wasm_value a[2] = {{.u32 = c->n}, {.u32 = c->size}};
        size_t nres = strcmp(c->export, "plain") == 0;
        bad |=
            measure(mod, c->what, c->export, a, (size_t)c->nargs, nres, runs);
    }
    fastn_wasm_module_free(mod);
    for (i++; i < argc; i++) {
        struct fastn_wasm_module *prog = load(argv[i]);
        const char *base = strrchr(argv[i], '/');
        char what[200];
        if (!prog)
            return 1;
        snprintf(what, sizeof(what), "program %s", base ? base + 1 : argv[i]);
        bad |= measure(prog, what, "run", NULL, 0, 1, runs);
        fastn_wasm_module_free(prog);
    }
    close(devnull);
    return bad ? 1 : 0;
}
