/* Tests of the WebAssembly engine's limits (issue 8): fuel charged by size
 * for bulk memory and table instructions, growth, frame set-up, host
 * calls and the WASI functions, stopping before the work and resuming to
 * the result an unmetered run gets; every loop back-edge charged; one
 * memory budget per instance (memory, tables, globals, the engine's own
 * allocations, the embedder's charges); absurd counts refused at load.
 * The modules are in test_wasm_limits_modules.h with their text. */
#include <string.h>
#include <sys/resource.h>

#include "test.h"
#include "test_wasm_limits_modules.h"
#include "wasm/wasi.h"
#include "wasm/wasm.h"
#include "wasm/wasm_int.h" /* the engine's limits and prices */

static struct fastn_wasm_module *load(const uint8_t *b, size_t n,
                                      unsigned flags)
{
    struct fastn_wasm_module *m = NULL;
    struct fastn_wasm_error err;
    CHECK_ERR(fastn_wasm_module_load(b, n, flags, &m, &err), FASTN_OK);
    return m;
}

static struct fastn_wasm_instance *
instance(const struct fastn_wasm_module *m,
         const struct fastn_wasm_imports *imps,
         const struct fastn_wasm_limits *lim)
{
    struct fastn_wasm_instance *inst = NULL;
    struct fastn_wasm_error err;
    CHECK_ERR(fastn_wasm_instance_new(m, imps, lim, &inst, &err), FASTN_OK);
    if (inst)
        CHECK_ERR(fastn_wasm_instance_init(inst), FASTN_OK);
    return inst;
}

/* Calls name with up to three i32 arguments; *res gets an i32 result
 * when the function has one. */
static int call(struct fastn_wasm_instance *inst, const char *name, int na,
                uint32_t a0, uint32_t a1, uint32_t a2, int32_t *res)
{
    union fastn_wasm_value a[3] = {{.u32 = a0}, {.u32 = a1}, {.u32 = a2}}, r;
    char p[8], rs[8];
    r.u64 = 0;
    if (fastn_wasm_instance_func_sig(inst, name, p, 8, rs, 8) != 0)
        return FASTN_ERR_NOT_FOUND;
    int rc =
        fastn_wasm_instance_call(inst, name, a, (size_t)na, &r, strlen(rs));
    if (res)
        *res = r.i32;
    return rc;
}

/* Fuel a call uses (it must succeed). */
static uint64_t used_by(struct fastn_wasm_instance *inst, const char *name,
                        int na, uint32_t a0, uint32_t a1, uint32_t a2)
{
    uint64_t before = fastn_wasm_fuel_get(inst);
    CHECK_ERR(call(inst, name, na, a0, a1, a2, NULL), FASTN_OK);
    return before - fastn_wasm_fuel_get(inst);
}

static struct fastn_wasm_instance *bulk_instance(struct fastn_wasm_module **m,
                                                 unsigned flags, uint64_t fuel)
{
    struct fastn_wasm_limits lim;
    fastn_wasm_limits_default(&lim);
    lim.fuel = fuel;
    *m = load(bulk_wasm, sizeof(bulk_wasm), flags);
    return *m ? instance(*m, NULL, &lim) : NULL;
}

static uint8_t *mem(struct fastn_wasm_instance *inst)
{
    return fastn_wasm_memory_span(inst, 0, 0);
}

TEST(memory_fill_is_charged_per_byte)
{
    struct fastn_wasm_module *m;
    struct fastn_wasm_instance *inst = bulk_instance(&m, 0, 1u << 30);
    int32_t r;
    /* the price of the bytes, exactly: a fill of N against one of 0 */
    uint64_t none = used_by(inst, "fill", 3, 0, 5, 0);
    uint64_t full = used_by(inst, "fill", 3, 0, 5, 160000);
    CHECK_EQ(full - none, 160000 / WASM_FUEL_FILL_BYTES);
    CHECK_EQ(mem(inst)[159999], 5);
    /* under less fuel than that, it stops without finishing... */
    fastn_wasm_fuel_set(inst, 1000);
    CHECK_ERR(call(inst, "fill", 3, 0, 7, 160000, NULL),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK_EQ(fastn_wasm_fuel_get(inst), 0);
    CHECK_EQ(mem(inst)[0], 7);                           /* what it paid for */
    CHECK_EQ(mem(inst)[1000 * WASM_FUEL_FILL_BYTES], 5); /* not the rest */
    CHECK_EQ(mem(inst)[159999], 5);
    /* ...and resuming finishes it, with what was left to pay */
    CHECK_ERR(fastn_wasm_instance_resume(inst, NULL, 0),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    fastn_wasm_fuel_add(inst, 160000 / WASM_FUEL_FILL_BYTES);
    CHECK_ERR(fastn_wasm_instance_resume(inst, NULL, 0), FASTN_OK);
    CHECK_EQ(mem(inst)[159999], 7);
    CHECK_EQ(mem(inst)[160000], 0);
    /* what was done before the stop was not charged again */
    CHECK(fastn_wasm_fuel_get(inst) >= 990);
    /* bounds are checked before anything is charged or written */
    CHECK_ERR(call(inst, "fill", 3, 200000, 9, 100000, &r),
              FASTN_ERR_WASM_TRAP_MEMORY_OOB);
    CHECK_EQ(mem(inst)[200000], 0);
    fastn_wasm_instance_free(inst);
    fastn_wasm_module_free(m);
}

TEST(memory_copy_and_init_are_charged_per_byte)
{
    struct fastn_wasm_module *m;
    struct fastn_wasm_instance *inst = bulk_instance(&m, 0, 1u << 30);
    uint64_t none = used_by(inst, "copy", 3, 0, 100000, 0);
    CHECK_EQ(used_by(inst, "copy", 3, 0, 100000, 80000) - none,
             80000 / WASM_FUEL_COPY_BYTES);
    none = used_by(inst, "init", 3, 0, 0, 0);
    CHECK_EQ(used_by(inst, "init", 3, 100, 0, 16) - none,
             16 / WASM_FUEL_COPY_BYTES);
    CHECK_MEM(mem(inst) + 100, "0123456789abcdef", 16);
    /* a copy under short fuel stops part way, then resumes; one to a
     * higher address (it may overlap) moves its end first */
    memset(mem(inst), 3, 100000);
    memset(mem(inst) + 100000, 0, 100000);
    fastn_wasm_fuel_set(inst, 100);
    CHECK_ERR(call(inst, "copy", 3, 100000, 0, 100000, NULL),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK_EQ(mem(inst)[199999], 3);
    CHECK_EQ(mem(inst)[100000], 0);
    fastn_wasm_fuel_add(inst, 1000000);
    CHECK_ERR(fastn_wasm_instance_resume(inst, NULL, 0), FASTN_OK);
    CHECK_EQ(mem(inst)[100000], 3);
    fastn_wasm_instance_free(inst);
    fastn_wasm_module_free(m);
}

TEST(table_operations_are_charged_per_element)
{
    struct fastn_wasm_module *m;
    struct fastn_wasm_instance *inst = bulk_instance(&m, 0, 1u << 30);
    int32_t r;
    uint64_t none = used_by(inst, "tfill", 2, 0, 0, 0);
    CHECK_EQ(used_by(inst, "tfill", 2, 0, 1000, 0) - none,
             1000 / WASM_FUEL_TABLE_ELEMS);
    none = used_by(inst, "tcopy", 3, 0, 500, 0);
    CHECK_EQ(used_by(inst, "tcopy", 3, 0, 500, 500) - none,
             500 / WASM_FUEL_TABLE_ELEMS);
    none = used_by(inst, "tinit", 3, 0, 0, 0);
    CHECK_EQ(used_by(inst, "tinit", 3, 0, 0, 16) - none,
             16 / WASM_FUEL_TABLE_ELEMS);
    none = used_by(inst, "tgrow", 1, 0, 0, 0);
    CHECK_EQ(used_by(inst, "tgrow", 1, 10000, 0, 0) - none,
             10000 * WASM_FUEL_TABLE_GROW);
    CHECK_ERR(call(inst, "tsize", 0, 0, 0, 0, &r), FASTN_OK);
    CHECK_EQ(r, 11000);
    fastn_wasm_instance_free(inst);
    /* a table.fill under short fuel stops part way and resumes */
    struct fastn_wasm_limits lim;
    fastn_wasm_limits_default(&lim);
    lim.fuel = 10;
    inst = instance(m, NULL, &lim);
    CHECK_ERR(call(inst, "tfill", 2, 0, 1000, 0, NULL),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    const struct wasm_table *t = inst->tables[0];
    CHECK(t->refs[0] != NULL);
    CHECK(t->refs[999] == NULL);
    fastn_wasm_fuel_add(inst, 1000);
    CHECK_ERR(fastn_wasm_instance_resume(inst, NULL, 0), FASTN_OK);
    CHECK(t->refs[999] != NULL);
    CHECK(t->refs[1000 - 1] == t->refs[0]);
    fastn_wasm_instance_free(inst);
    fastn_wasm_module_free(m);
}

TEST(growth_is_charged_before_it_is_done)
{
    struct fastn_wasm_module *m;
    struct fastn_wasm_instance *inst = bulk_instance(&m, 0, 1u << 30);
    union fastn_wasm_value res;
    uint64_t none = used_by(inst, "grow", 1, 0, 0, 0);
    CHECK_EQ(used_by(inst, "grow", 1, 2, 0, 0) - none, 2 * WASM_FUEL_PAGE);
    CHECK_EQ(fastn_wasm_memory_size(inst), 6 * 65536);
    /* a grow not allowed costs nothing more: it returns -1 */
    CHECK_EQ(used_by(inst, "grow", 1, 1000, 0, 0), none);
    /* short of fuel, growth is paid in installments, one per resume, and
     * happens once paid */
    fastn_wasm_fuel_set(inst, 1000);
    CHECK_ERR(call(inst, "grow", 1, 10, 0, 0, NULL),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK_EQ(fastn_wasm_memory_size(inst), 6 * 65536);
    fastn_wasm_fuel_set(inst, 10 * WASM_FUEL_PAGE / 2);
    CHECK_ERR(fastn_wasm_instance_resume(inst, &res, 1),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK_EQ(fastn_wasm_memory_size(inst), 6 * 65536);
    fastn_wasm_fuel_set(inst, 10 * WASM_FUEL_PAGE / 2);
    CHECK_ERR(fastn_wasm_instance_resume(inst, &res, 1), FASTN_OK);
    CHECK_EQ(res.i32, 6);
    CHECK_EQ(fastn_wasm_memory_size(inst), 16 * 65536);
    CHECK(fastn_wasm_fuel_get(inst) < 1000);
    fastn_wasm_instance_free(inst);
    fastn_wasm_module_free(m);
}

/* The same bulk work (fills, inits, overlapping copies both ways, table
 * fill/init/copy/grow, memory.grow) metered with a little fuel at a time,
 * stopped and resumed many times, ends as an unmetered run does. */
TEST(resume_after_bulk_stops_matches_unmetered_run)
{
    struct fastn_wasm_module *mf, *mp;
    struct fastn_wasm_instance *plain =
        bulk_instance(&mp, FASTN_WASM_LOAD_NO_FUEL, 0);
    struct fastn_wasm_instance *inst = bulk_instance(&mf, 0, 300);
    union fastn_wasm_value want, got;
    int stops = 0, rc;
    CHECK_ERR(fastn_wasm_instance_call(plain, "work", NULL, 0, &want, 1),
              FASTN_OK);
    rc = fastn_wasm_instance_call(inst, "work", NULL, 0, &got, 1);
    while (rc == FASTN_ERR_WASM_TRAP_OUT_OF_FUEL && stops < 100000) {
        stops++;
        fastn_wasm_fuel_add(inst, 777);
        rc = fastn_wasm_instance_resume(inst, &got, 1);
    }
    CHECK_ERR(rc, FASTN_OK);
    CHECK(stops > 100);
    CHECK_EQ(got.i32, want.i32);
    CHECK_EQ(fastn_wasm_memory_size(inst), fastn_wasm_memory_size(plain));
    CHECK(memcmp(mem(inst), mem(plain), fastn_wasm_memory_size(inst)) == 0);
    fastn_wasm_instance_free(inst);
    fastn_wasm_instance_free(plain);
    fastn_wasm_module_free(mf);
    fastn_wasm_module_free(mp);
}

/* Every way to run longer than the code is long pays: loops closed by
 * br_table or by a br_if that moves values, and a call_indirect cycle. */
TEST(every_back_edge_and_call_is_charged)
{
    struct fastn_wasm_module *m;
    struct fastn_wasm_instance *inst = bulk_instance(&m, 0, 100000);
    CHECK_ERR(call(inst, "spin_table", 0, 0, 0, 0, NULL),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    fastn_wasm_fuel_set(inst, 100000);
    CHECK_ERR(call(inst, "spin_moves", 1, 1, 0, 0, NULL),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    fastn_wasm_fuel_set(inst, 1000);
    CHECK_ERR(call(inst, "spin_indirect", 0, 0, 0, 0, NULL),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    fastn_wasm_instance_free(inst);
    fastn_wasm_module_free(m);
}

TEST(frame_setup_is_charged_by_its_locals)
{
    struct fastn_wasm_module *m = load(locals_wasm, sizeof(locals_wasm), 0);
    struct fastn_wasm_limits lim;
    fastn_wasm_limits_default(&lim);
    lim.fuel = 1u << 30;
    struct fastn_wasm_instance *inst = instance(m, NULL, &lim);
    uint64_t small = used_by(inst, "call_small", 0, 0, 0, 0);
    uint64_t big = used_by(inst, "call_big", 0, 0, 0, 0);
    CHECK(big - small >= 40000 / WASM_FUEL_FRAME_SLOTS);
    fastn_wasm_instance_free(inst);
    fastn_wasm_module_free(m);
}

/* --- host functions and WASI --------------------------------------------- */

static int charge_calls;

static int host_charge(struct fastn_wasm_instance *caller, void *user,
                       const union fastn_wasm_value *args,
                       union fastn_wasm_value *results)
{
    (void)user;
    int rc = fastn_wasm_fuel_charge(caller, args[0].u32);
    if (rc)
        return rc;
    results[0].i32 = ++charge_calls;
    return 0;
}

static struct fastn_wasm_instance *host_instance(struct fastn_wasm_module *m,
                                                 uint64_t fuel)
{
    struct fastn_wasm_imports *imps = fastn_wasm_imports_new();
    struct fastn_wasm_limits lim;
    fastn_wasm_limits_default(&lim);
    lim.fuel = fuel;
    CHECK_ERR(fastn_wasm_imports_add_func(imps, "host", "charge", "i", "i",
                                          host_charge, NULL),
              FASTN_OK);
    struct fastn_wasm_instance *inst = instance(m, imps, &lim);
    fastn_wasm_imports_free(imps);
    return inst;
}

TEST(host_function_charges_before_its_work)
{
    struct fastn_wasm_module *m = load(host_wasm, sizeof(host_wasm), 0);
    struct fastn_wasm_instance *inst = host_instance(m, 1u << 20);
    union fastn_wasm_value res;
    int32_t r;
    /* the engine's share of a host call, and the host's own charge */
    uint64_t base = used_by(inst, "charge", 1, 0, 0, 0);
    CHECK(base >= FASTN_WASM_FUEL_HOST_CALL);
    CHECK_EQ(used_by(inst, "charge", 1, 5000, 0, 0), base + 5000);
    /* short of fuel the host function does nothing, the run stops before
     * the call, and resuming makes the call again */
    charge_calls = 0;
    fastn_wasm_fuel_set(inst, 500);
    CHECK_ERR(call(inst, "charge", 1, 1000, 0, 0, &r),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK_EQ(charge_calls, 0);
    fastn_wasm_fuel_add(inst, 1000);
    CHECK_ERR(fastn_wasm_instance_resume(inst, &res, 1), FASTN_OK);
    CHECK_EQ(res.i32, 1);
    CHECK_EQ(charge_calls, 1);
    fastn_wasm_instance_free(inst);
    fastn_wasm_module_free(m);
    /* an unmetered module is never charged */
    m = load(host_wasm, sizeof(host_wasm), FASTN_WASM_LOAD_NO_FUEL);
    inst = host_instance(m, 10);
    CHECK_ERR(call(inst, "charge", 1, 1000000, 0, 0, &r), FASTN_OK);
    CHECK_EQ(fastn_wasm_fuel_get(inst), 10);
    fastn_wasm_instance_free(inst);
    fastn_wasm_module_free(m);
}

struct wasi_probe {
    int random_calls;
    size_t random_max, written;
    int write_calls;
};

/* A randomness callback with a cap on one call, as the plugin host has. */
static int probe_random(void *user, uint8_t *p, size_t n)
{
    struct wasi_probe *w = user;
    w->random_calls++;
    if (n > w->random_max)
        w->random_max = n;
    if (n > 65536)
        return 28; /* EINVAL: over the cap */
    memset(p, 0xab, n);
    return 0;
}

static int probe_write(void *user, int fd, const uint8_t *p, size_t n)
{
    struct wasi_probe *w = user;
    (void)fd, (void)p;
    w->write_calls++;
    w->written += n;
    return 0;
}

static struct fastn_wasm_instance *wasi_instance(struct fastn_wasm_module *m,
                                                 struct fastn_wasm_wasi *w,
                                                 struct wasi_probe *probe)
{
    struct fastn_wasm_imports *imps = fastn_wasm_imports_new();
    struct fastn_wasm_limits lim;
    memset(w, 0, sizeof(*w));
    memset(probe, 0, sizeof(*probe));
    w->random = probe_random;
    w->write = probe_write;
    w->user = probe;
    fastn_wasm_limits_default(&lim);
    lim.fuel = 1u << 30;
    CHECK_ERR(fastn_wasm_wasi_add(imps, m, w), FASTN_OK);
    struct fastn_wasm_instance *inst = instance(m, imps, &lim);
    fastn_wasm_imports_free(imps);
    return inst;
}

TEST(wasi_random_get_is_charged_per_byte)
{
    struct fastn_wasm_module *m = load(wasi_wasm, sizeof(wasi_wasm), 0);
    struct fastn_wasm_wasi w;
    struct wasi_probe probe;
    struct fastn_wasm_instance *inst = wasi_instance(m, &w, &probe);
    union fastn_wasm_value res;
    int32_t r;
    uint64_t none = used_by(inst, "random", 2, 1024, 0, 0);
    CHECK_EQ(used_by(inst, "random", 2, 1024, 60000, 0) - none,
             60000 * 2); /* WASI_RANDOM_BYTE_FUEL */
    /* the callback gets the whole request in one call */
    CHECK_EQ(probe.random_calls, 1);
    CHECK_EQ(probe.random_max, 60000);
    CHECK_EQ(mem(inst)[1024 + 59999], 0xab);
    /* so that a cap on one call holds (it was checked per 256 bytes) */
    CHECK_ERR(call(inst, "random", 2, 0, 100000, 0, &r), FASTN_OK);
    CHECK_EQ(r, 29); /* EIO */
    CHECK_EQ(probe.random_max, 100000);
    CHECK_EQ(mem(inst)[70000], 0);
    /* short of fuel: nothing is made, the run stops before the call */
    probe.random_calls = 0;
    fastn_wasm_fuel_set(inst, 10000);
    CHECK_ERR(call(inst, "random", 2, 70000, 50000, 0, &r),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK_EQ(probe.random_calls, 0);
    CHECK_EQ(mem(inst)[70000], 0);
    fastn_wasm_fuel_add(inst, 200000);
    CHECK_ERR(fastn_wasm_instance_resume(inst, &res, 1), FASTN_OK);
    CHECK_EQ(res.i32, 0);
    CHECK_EQ(probe.random_calls, 1);
    CHECK_EQ(mem(inst)[70000 + 49999], 0xab);
    /* a bad pointer is EFAULT, before any charge for bytes */
    CHECK_ERR(call(inst, "random", 2, 131000, 1000, 0, &r), FASTN_OK);
    CHECK_EQ(r, 21);
    fastn_wasm_instance_free(inst);
    fastn_wasm_module_free(m);
}

TEST(wasi_functions_are_charged_by_their_work)
{
    struct fastn_wasm_module *m = load(wasi_wasm, sizeof(wasi_wasm), 0);
    struct fastn_wasm_wasi w;
    struct wasi_probe probe;
    struct fastn_wasm_instance *inst = wasi_instance(m, &w, &probe);
    int32_t r;
    /* fd_write: the call, a system call, the bytes */
    uint64_t none = used_by(inst, "write", 2, 100, 0, 0);
    CHECK_EQ(used_by(inst, "write", 2, 100, 64000, 0) - none,
             FASTN_WASM_FUEL_COPY(64000));
    CHECK(none >= 1500);
    CHECK_EQ(probe.written, 64000);
    /* short of fuel, nothing is written */
    probe.written = 0;
    fastn_wasm_fuel_set(inst, 1000);
    CHECK_ERR(call(inst, "write", 2, 100, 5000, 0, &r),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK_EQ(probe.written, 0);
    fastn_wasm_fuel_set(inst, 1u << 20);
    /* a bad iov is EFAULT, before anything is written */
    CHECK_ERR(call(inst, "write", 2, 131000, 1000, 0, &r), FASTN_OK);
    CHECK_EQ(r, 21);
    CHECK_EQ(probe.written, 0);
    /* the clock and the stubs pay for their call */
    CHECK(used_by(inst, "clock", 0, 0, 0, 0) >= 50);
    CHECK(used_by(inst, "close", 0, 0, 0, 0) >= 20);
    fastn_wasm_instance_free(inst);
    fastn_wasm_module_free(m);
}

/* --- the memory budget ---------------------------------------------------- */

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

TEST(memory_bomb_is_refused_by_the_budget)
{
    struct fastn_wasm_module *m = load(bomb_wasm, sizeof(bomb_wasm), 0);
    struct fastn_wasm_instance *inst = NULL;
    struct fastn_wasm_limits lim;
    struct fastn_wasm_error err;
    long rss0 = max_rss_kib();
    /* a cap on pages alone bounds the tables too (the derived budget) */
    fastn_wasm_limits_default(&lim);
    lim.max_memory_pages = 1;
    CHECK_ERR(fastn_wasm_instance_new(m, NULL, &lim, &inst, &err),
              FASTN_ERR_WASM_LIMIT);
    CHECK(inst == NULL);
    CHECK(strstr(err.message, "tables 160000000") != NULL);
    CHECK(strstr(err.message, "budget") != NULL);
    /* and so does an explicit budget with the default page cap */
    fastn_wasm_limits_default(&lim);
    lim.max_memory_bytes = 32u << 20;
    CHECK_ERR(fastn_wasm_instance_new(m, NULL, &lim, &inst, &err),
              FASTN_ERR_WASM_LIMIT);
    /* refused before allocating: the process stayed small */
    CHECK(max_rss_kib() - rss0 < 20 * 1024);
    fastn_wasm_module_free(m);
}

TEST(budget_bounds_growth_of_memory_and_tables)
{
    struct fastn_wasm_module *m = load(bulk_wasm, sizeof(bulk_wasm), 0);
    struct fastn_wasm_limits lim;
    struct fastn_wasm_memory_usage u;
    int32_t r;
    fastn_wasm_limits_default(&lim);
    lim.max_stack_slots = 1024;
    lim.max_call_depth = 64;
    lim.fuel = 1u << 30;
    /* what the instance holds at the start */
    struct fastn_wasm_instance *inst = instance(m, NULL, &lim);
    fastn_wasm_instance_memory_usage(inst, &u);
    CHECK_EQ(u.memory, 4 * 65536);
    CHECK_EQ(u.tables, (1000 + 16 + 1) * sizeof(void *));
    CHECK(u.engine >= 1024 * 8 + 64 * 24);
    CHECK_EQ(u.external, 0);
    CHECK_EQ(u.total, u.memory + u.tables + u.globals + u.engine);
    CHECK_EQ(fastn_wasm_instance_memory_used(inst), u.total);
    uint64_t start = u.total;
    fastn_wasm_instance_free(inst);
    /* a budget with room for 5 more pages and a few table entries */
    lim.max_memory_bytes = start + 5 * 65536 + 1000;
    inst = instance(m, NULL, &lim);
    CHECK_EQ(fastn_wasm_instance_memory_used(inst), start);
    CHECK_ERR(call(inst, "grow", 1, 6, 0, 0, &r), FASTN_OK);
    CHECK_EQ(r, -1); /* the page cap (64) allows it, the budget not */
    CHECK_ERR(call(inst, "grow", 1, 5, 0, 0, &r), FASTN_OK);
    CHECK_EQ(r, 4);
    CHECK_ERR(call(inst, "tgrow", 1, 1000, 0, 0, &r), FASTN_OK);
    CHECK_EQ(r, -1);
    CHECK_ERR(call(inst, "tgrow", 1, 100, 0, 0, &r), FASTN_OK);
    CHECK_EQ(r, 1000);
    CHECK(fastn_wasm_instance_memory_used(inst) <= lim.max_memory_bytes);
    /* the embedder's charges come out of the same budget */
    CHECK_ERR(fastn_wasm_instance_memory_charge(inst, 100000),
              FASTN_ERR_WASM_LIMIT);
    CHECK_ERR(fastn_wasm_instance_memory_charge(inst, -1), FASTN_ERR_INVAL);
    fastn_wasm_instance_free(inst);
    inst = instance(m, NULL, &lim);
    CHECK_ERR(fastn_wasm_instance_memory_charge(inst, 3 * 65536), FASTN_OK);
    fastn_wasm_instance_memory_usage(inst, &u);
    CHECK_EQ(u.external, 3 * 65536);
    CHECK_ERR(call(inst, "grow", 1, 5, 0, 0, &r), FASTN_OK);
    CHECK_EQ(r, -1);
    CHECK_ERR(fastn_wasm_instance_memory_charge(inst, -3 * 65536), FASTN_OK);
    CHECK_ERR(call(inst, "grow", 1, 5, 0, 0, &r), FASTN_OK);
    CHECK_EQ(r, 4);
    CHECK_ERR(fastn_wasm_instance_memory_charge(inst, 65536),
              FASTN_ERR_WASM_LIMIT);
    fastn_wasm_instance_free(inst);
    /* a budget below what the engine itself needs refuses the instance,
     * naming the parts */
    struct fastn_wasm_instance *none = NULL;
    struct fastn_wasm_error err;
    fastn_wasm_limits_default(&lim);
    lim.max_memory_bytes = 1u << 20; /* the default stack is 8 MiB */
    CHECK_ERR(fastn_wasm_instance_new(m, NULL, &lim, &none, &err),
              FASTN_ERR_WASM_LIMIT);
    CHECK(strstr(err.message, "engine") != NULL);
    fastn_wasm_module_free(m);
}

/* --- counts refused at load ----------------------------------------------- */

struct mbuf {
    uint8_t *p;
    size_t n, cap;
};

static void put(struct mbuf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_leb(struct mbuf *b, uint32_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        if (v)
            c |= 0x80;
        put(b, &c, 1);
    } while (v);
}

/* Appends section id with the given content. */
static void put_section(struct mbuf *b, uint8_t id, const struct mbuf *c)
{
    put(b, &id, 1);
    put_leb(b, (uint32_t)c->n);
    put(b, c->p, c->n);
}

/* A module with section id declaring count items, each `unit` filler
 * bytes `fill` (enough for the count to be believed), after a type
 * section with one type [] -> [] when with_type. */
static struct mbuf counted_module(uint8_t id, uint32_t count, size_t unit,
                                  uint8_t fill, bool with_type)
{
    static const uint8_t head[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    static const uint8_t one_type[] = {1, 0x60, 0, 0};
    struct mbuf b = {0}, c = {0}, t = {0};
    put(&b, head, 8);
    if (with_type) {
        put(&t, one_type, sizeof(one_type));
        put_section(&b, 1, &t);
    }
    put_leb(&c, count);
    for (size_t i = 0; i < (size_t)count * unit; i++)
        put(&c, &fill, 1);
    put_section(&b, id, &c);
    free(c.p);
    free(t.p);
    return b;
}

/* Loading b fails with FASTN_ERR_WASM_LIMIT and a message with want. */
static void check_limit(struct mbuf b, const char *want)
{
    struct fastn_wasm_module *m = NULL;
    struct fastn_wasm_error err;
    CHECK_ERR(fastn_wasm_module_load(b.p, b.n, 0, &m, &err),
              FASTN_ERR_WASM_LIMIT);
    CHECK(m == NULL);
    if (!strstr(err.message, want)) {
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err.message, want);
        CHECK(0);
    }
    free(b.p);
}

TEST(module_with_100000_tables_is_refused)
{
    static const uint8_t head[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    static const uint8_t table[3] = {0x70, 0, 0}; /* funcref, 0 entries */
    struct mbuf b = {0}, c = {0};
    put(&b, head, 8);
    put_leb(&c, 100000);
    for (int i = 0; i < 100000; i++)
        put(&c, table, 3);
    put_section(&b, 4, &c);
    free(c.p);
    check_limit(b, "100000 tables");
    /* the limit counts imported tables too */
    b = (struct mbuf){0};
    c = (struct mbuf){0};
    put(&b, head, 8);
    put_leb(&c, WASM_MAX_TABLES + 1);
    for (uint32_t i = 0; i <= WASM_MAX_TABLES; i++) {
        static const uint8_t imp[] = {1, 'm', 1, 't', 1, 0x70, 0, 0};
        put(&c, imp, sizeof(imp));
    }
    put_section(&b, 2, &c);
    free(c.p);
    check_limit(b, "tables");
}

TEST(absurd_counts_are_refused)
{
    check_limit(counted_module(1, WASM_MAX_TYPES + 1, 3, 0, false),
                "function types");
    check_limit(counted_module(2, WASM_MAX_IMPORTS + 1, 4, 0, true), "imports");
    check_limit(counted_module(3, WASM_MAX_FUNCS + 1, 1, 0, true), "functions");
    check_limit(counted_module(6, WASM_MAX_GLOBALS + 1, 3, 0, true), "globals");
    check_limit(counted_module(7, WASM_MAX_EXPORTS + 1, 3, 0, true), "exports");
    check_limit(counted_module(9, WASM_MAX_ELEM_SEGMENTS + 1, 2, 0, true),
                "element segments");
    check_limit(counted_module(11, WASM_MAX_DATA_SEGMENTS + 1, 2, 0, true),
                "data segments");
    /* a function type with too many parameters */
    struct mbuf b = {0}, c = {0};
    static const uint8_t head[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    uint8_t x = 0x60, i32 = 0x7f;
    put(&b, head, 8);
    put_leb(&c, 1);
    put(&c, &x, 1);
    put_leb(&c, WASM_MAX_PARAMS + 1);
    for (uint32_t i = 0; i <= WASM_MAX_PARAMS; i++)
        put(&c, &i32, 1);
    put_leb(&c, 0);
    put_section(&b, 1, &c);
    free(c.p);
    check_limit(b, "parameters");
    /* elements in all segments: one passive segment of too many */
    b = (struct mbuf){0};
    c = (struct mbuf){0};
    static const uint8_t funcs[] = {1, 0};
    static const uint8_t seg_head[] = {1, 1, 0}; /* passive, funcref idx */
    static const uint8_t one_type[] = {1, 0x60, 0, 0};
    struct mbuf t = {0}, f = {0};
    put(&b, head, 8);
    put(&t, one_type, sizeof(one_type));
    put_section(&b, 1, &t);
    put(&f, funcs, sizeof(funcs));
    put_section(&b, 3, &f);
    put(&c, seg_head, sizeof(seg_head));
    put_leb(&c, WASM_MAX_ELEMS + 1);
    for (uint32_t i = 0; i <= WASM_MAX_ELEMS; i++)
        put(&c, funcs + 1, 1);
    put_section(&b, 9, &c);
    free(t.p);
    free(f.p);
    free(c.p);
    check_limit(b, "elements");
    /* a function body over the size limit */
    b = (struct mbuf){0};
    c = (struct mbuf){0};
    t = (struct mbuf){0};
    f = (struct mbuf){0};
    put(&b, head, 8);
    put(&t, one_type, sizeof(one_type));
    put_section(&b, 1, &t);
    put(&f, funcs, sizeof(funcs));
    put_section(&b, 3, &f);
    put_leb(&c, 1);
    put_leb(&c, WASM_MAX_BODY + 1);
    for (uint32_t i = 0; i <= WASM_MAX_BODY; i++)
        put(&c, funcs + 1, 1);
    put_section(&b, 10, &c);
    free(t.p);
    free(f.p);
    free(c.p);
    check_limit(b, "body");
}

int main(void)
{
    RUN(memory_fill_is_charged_per_byte);
    RUN(memory_copy_and_init_are_charged_per_byte);
    RUN(table_operations_are_charged_per_element);
    RUN(growth_is_charged_before_it_is_done);
    RUN(resume_after_bulk_stops_matches_unmetered_run);
    RUN(every_back_edge_and_call_is_charged);
    RUN(frame_setup_is_charged_by_its_locals);
    RUN(host_function_charges_before_its_work);
    RUN(wasi_random_get_is_charged_per_byte);
    RUN(wasi_functions_are_charged_by_their_work);
    RUN(memory_bomb_is_refused_by_the_budget);
    RUN(budget_bounds_growth_of_memory_and_tables);
    RUN(module_with_100000_tables_is_refused);
    RUN(absurd_counts_are_refused);
    return test_done();
}
