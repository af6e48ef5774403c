/* Tests of the WebAssembly engine's embedding API (src/wasm/wasm.h):
 * loading errors, every trap kind, fuel and resuming, memory caps, deep
 * recursion, host functions and imports from other instances. The
 * modules are in test_wasm_modules.h with their text. */
#include <string.h>

#include "test.h"
#include "test_wasm_modules.h"
#include "wasm/wasm.h"
#include "wasm/wasm_int.h" /* WASM_LOAD_NO_FUSE */

struct fixture {
    struct fastn_wasm_module *mod;
    struct fastn_wasm_instance *inst;
};

static int host_add(struct fastn_wasm_instance *caller, void *user,
                    const union fastn_wasm_value *args,
                    union fastn_wasm_value *results)
{
    (void)caller;
    (*(int *)user)++;
    results[0].i32 = args[0].i32 + args[1].i32;
    return 0;
}

/* Sums the bytes of guest memory [ptr, ptr+len), through the checked
 * accessors; a bad range traps. */
static int host_sum(struct fastn_wasm_instance *caller, void *user,
                    const union fastn_wasm_value *args,
                    union fastn_wasm_value *results)
{
    uint8_t buf[64];
    (void)user;
    if (args[1].u32 > sizeof(buf))
        return FASTN_ERR_WASM_TRAP_HOST;
    int rc = fastn_wasm_memory_read(caller, args[0].u32, buf, args[1].u32);
    if (rc)
        return rc;
    int32_t s = 0;
    for (uint32_t i = 0; i < args[1].u32; i++)
        s += buf[i];
    results[0].i32 = s;
    return 0;
}

static int host_fail(struct fastn_wasm_instance *caller, void *user,
                     const union fastn_wasm_value *args,
                     union fastn_wasm_value *results)
{
    (void)caller, (void)user, (void)args, (void)results;
    return FASTN_ERR_WASM_TRAP_HOST;
}

static int add_calls;

static void setup(struct fixture *f, unsigned flags,
                  const struct fastn_wasm_limits *lim)
{
    struct fastn_wasm_error err;
    memset(f, 0, sizeof(*f));
    CHECK_ERR(fastn_wasm_module_load(main_wasm, sizeof(main_wasm), flags,
                                     &f->mod, &err),
              FASTN_OK);
    struct fastn_wasm_imports *imps = fastn_wasm_imports_new();
    CHECK_ERR(fastn_wasm_imports_add_func(imps, "host", "add", "ii", "i",
                                          host_add, &add_calls),
              FASTN_OK);
    CHECK_ERR(fastn_wasm_imports_add_func(imps, "host", "sum", "ii", "i",
                                          host_sum, NULL),
              FASTN_OK);
    CHECK_ERR(fastn_wasm_imports_add_func(imps, "host", "fail", "", "",
                                          host_fail, NULL),
              FASTN_OK);
    CHECK_ERR(fastn_wasm_instance_new(f->mod, imps, lim, &f->inst, &err),
              FASTN_OK);
    fastn_wasm_imports_free(imps);
    CHECK_ERR(fastn_wasm_instance_init(f->inst), FASTN_OK);
}

static void teardown(struct fixture *f)
{
    fastn_wasm_instance_free(f->inst);
    fastn_wasm_module_free(f->mod);
}

static int call0(struct fixture *f, const char *name)
{
    union fastn_wasm_value r[1];
    char p[8], res[8];
    if (fastn_wasm_instance_func_sig(f->inst, name, p, 8, res, 8) != 0)
        return FASTN_ERR_NOT_FOUND;
    return fastn_wasm_instance_call(f->inst, name, NULL, 0, r, strlen(res));
}

static int call_i32(struct fixture *f, const char *name, int32_t a,
                    int32_t *out)
{
    union fastn_wasm_value arg = {.i32 = a}, r = {.i32 = 0};
    int rc = fastn_wasm_instance_call(f->inst, name, &arg, 1, &r, 1);
    *out = r.i32;
    return rc;
}

TEST(load_reports_offset)
{
    static const uint8_t bad[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 0x01, 0x05};
    struct fastn_wasm_module *m = NULL;
    struct fastn_wasm_error err;
    CHECK_ERR(fastn_wasm_module_load(bad, sizeof(bad), 0, &m, &err),
              FASTN_ERR_WASM_MALFORMED);
    CHECK(m == NULL);
    CHECK_EQ(err.code, FASTN_ERR_WASM_MALFORMED);
    CHECK_EQ(err.offset, 10);
    CHECK(err.message[0] != '\0');
    CHECK_ERR(fastn_wasm_module_load((const uint8_t *)"\0asn", 4, 0, &m, &err),
              FASTN_ERR_WASM_MALFORMED);
}

TEST(unsupported_features_are_named)
{
    /* a function type with a v128 parameter (SIMD) */
    static const uint8_t simd[] = {0,    'a',  's',  'm',  1,    0,    0,   0,
                                   0x01, 0x05, 0x01, 0x60, 0x01, 0x7b, 0x00};
    /* memory64 limits flag */
    static const uint8_t mem64[] = {0, 'a', 's', 'm', 1,    0,   0,
                                    0, 5,   3,   1,   0x04, 0x01};
    struct fastn_wasm_module *m = NULL;
    struct fastn_wasm_error err;
    CHECK_ERR(fastn_wasm_module_load(simd, sizeof(simd), 0, &m, &err),
              FASTN_ERR_WASM_UNSUPPORTED);
    CHECK(strstr(err.message, "SIMD") != NULL);
    CHECK_ERR(fastn_wasm_module_load(mem64, sizeof(mem64), 0, &m, &err),
              FASTN_ERR_WASM_UNSUPPORTED);
    CHECK(strstr(err.message, "memory64") != NULL);
}

TEST(huge_counts_rejected_before_allocation)
{
    /* a type section claiming 2^32-1 types in 5 bytes */
    static const uint8_t many[] = {0,    'a',  's',  'm',  1,    0,    0,   0,
                                   0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f};
    struct fastn_wasm_module *m = NULL;
    CHECK_ERR(fastn_wasm_module_load(many, sizeof(many), 0, &m, NULL),
              FASTN_ERR_WASM_MALFORMED);
}

TEST(traps_of_each_kind)
{
    struct fixture f;
    int32_t r;
    setup(&f, 0, NULL);
    CHECK_ERR(call0(&f, "unreachable"), FASTN_ERR_WASM_TRAP_UNREACHABLE);
    CHECK_ERR(call0(&f, "mem_oob"), FASTN_ERR_WASM_TRAP_MEMORY_OOB);
    CHECK_ERR(call0(&f, "table_oob"), FASTN_ERR_WASM_TRAP_TABLE_OOB);
    CHECK_ERR(call0(&f, "call_undef"), FASTN_ERR_WASM_TRAP_UNDEFINED_ELEMENT);
    CHECK_ERR(call0(&f, "call_null"),
              FASTN_ERR_WASM_TRAP_UNINITIALIZED_ELEMENT);
    CHECK_ERR(call0(&f, "call_type"), FASTN_ERR_WASM_TRAP_INDIRECT_CALL_TYPE);
    union fastn_wasm_value a[2] = {{.i32 = 1}, {.i32 = 0}}, res;
    CHECK_ERR(fastn_wasm_instance_call(f.inst, "div", a, 2, &res, 1),
              FASTN_ERR_WASM_TRAP_DIV_ZERO);
    a[0].i32 = INT32_MIN;
    a[1].i32 = -1;
    CHECK_ERR(fastn_wasm_instance_call(f.inst, "div", a, 2, &res, 1),
              FASTN_ERR_WASM_TRAP_INT_OVERFLOW);
    union fastn_wasm_value d = {.f64 = 0.0 / 0.0};
    CHECK_ERR(fastn_wasm_instance_call(f.inst, "trunc", &d, 1, &res, 1),
              FASTN_ERR_WASM_TRAP_INVALID_CONVERSION);
    d.f64 = 1e30;
    CHECK_ERR(fastn_wasm_instance_call(f.inst, "trunc", &d, 1, &res, 1),
              FASTN_ERR_WASM_TRAP_INT_OVERFLOW);
    /* the instance stays usable after traps */
    CHECK_ERR(call_i32(&f, "call_ok", 41, &r), FASTN_OK);
    CHECK_EQ(r, 42);
    teardown(&f);
}

/* A trap's backtrace: functions by index when the module has no name
 * section (named ones: test_plugin_host's traps_name_functions), the
 * byte offset of the trapping instruction, "..." past 8 frames. */
TEST(trap_backtrace)
{
    struct fixture f;
    struct fastn_wasm_frame fr[8];
    uint32_t depth = 0;
    char text[256];
    int32_t r;
    setup(&f, 0, NULL);
    CHECK_EQ(fastn_wasm_trace(f.inst, fr, 8, &depth), 0); /* none yet */
    CHECK_ERR(call0(&f, "mem_oob"), FASTN_ERR_WASM_TRAP_MEMORY_OOB);
    CHECK_EQ(fastn_wasm_trace(f.inst, fr, 8, &depth), 1);
    CHECK_EQ(depth, 1);
    CHECK_EQ(fr[0].func, 5); /* 3 imports, $inc, "unreachable", this */
    CHECK(fr[0].name == NULL);
    /* the i32.load: the byte before it is i32.const 65534's last */
    CHECK(fr[0].offset > 0 && fr[0].offset < sizeof(main_wasm));
    CHECK_EQ(main_wasm[fr[0].offset], 0x28); /* i32.load */
    CHECK(fastn_wasm_trace_text(f.inst, text, sizeof(text), 4) > 0);
    CHECK(strncmp(text, "func[5]+0x", 10) == 0);
    /* deep: the innermost frames, then "..." */
    CHECK_ERR(call_i32(&f, "recurse", 100000000, &r),
              FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED);
    CHECK_EQ(fastn_wasm_trace(f.inst, fr, 8, &depth), 8);
    CHECK(depth > 8);
    CHECK(fr[1].func == fr[0].func && fr[7].func == fr[0].func);
    CHECK_EQ(main_wasm[fr[1].offset], 0x10); /* a call */
    fastn_wasm_trace_text(f.inst, text, sizeof(text), 2);
    CHECK(strstr(text, " <- func[") && strstr(text, " <- ...") &&
          !strstr(text, " <- ... <-"));
    /* a call that returns clears it */
    CHECK_ERR(call_i32(&f, "call_ok", 41, &r), FASTN_OK);
    CHECK_EQ(fastn_wasm_trace(f.inst, fr, 8, &depth), 0);
    teardown(&f);
}

TEST(call_errors)
{
    struct fixture f;
    union fastn_wasm_value a[2] = {{.i32 = 1}, {.i32 = 2}}, r;
    setup(&f, 0, NULL);
    CHECK_ERR(fastn_wasm_instance_call(f.inst, "nope", NULL, 0, NULL, 0),
              FASTN_ERR_NOT_FOUND);
    CHECK_ERR(fastn_wasm_instance_call(f.inst, "div", a, 1, &r, 1),
              FASTN_ERR_INVAL);
    CHECK_ERR(fastn_wasm_instance_call(f.inst, "mem", NULL, 0, NULL, 0),
              FASTN_ERR_NOT_FOUND);
    teardown(&f);
}

TEST(deep_recursion_exhausts_stack_not_host)
{
    struct fixture f;
    struct fastn_wasm_limits lim;
    int32_t r;
    fastn_wasm_limits_default(&lim);
    lim.max_call_depth = 1000;
    setup(&f, 0, &lim);
    CHECK_ERR(call_i32(&f, "recurse", 500, &r), FASTN_OK);
    CHECK_EQ(r, 500);
    CHECK_ERR(call_i32(&f, "recurse", 100000000, &r),
              FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED);
    CHECK_ERR(call_i32(&f, "recurse", 10, &r), FASTN_OK);
    CHECK_EQ(r, 10);
    teardown(&f);
    /* the value stack cap is enforced too */
    fastn_wasm_limits_default(&lim);
    lim.max_stack_slots = 1000;
    setup(&f, 0, &lim);
    CHECK_ERR(call_i32(&f, "recurse", 100000, &r),
              FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED);
    teardown(&f);
}

TEST(fuel_runs_out_and_resumes)
{
    struct fixture f;
    struct fastn_wasm_limits lim;
    int32_t r;
    union fastn_wasm_value res;
    fastn_wasm_limits_default(&lim);
    lim.fuel = 1000;
    setup(&f, 0, &lim);
    CHECK_ERR(call_i32(&f, "count", 100000, &r),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK_EQ(fastn_wasm_fuel_get(f.inst) < 1000, 1);
    /* resuming without fuel stops again; with enough it finishes */
    CHECK_ERR(fastn_wasm_instance_resume(f.inst, &res, 1),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    fastn_wasm_fuel_add(f.inst, 100000000);
    CHECK_ERR(fastn_wasm_instance_resume(f.inst, &res, 1), FASTN_OK);
    CHECK_EQ((uint32_t)res.i32, (uint32_t)(100000ull * 100001 / 2));
    CHECK_ERR(fastn_wasm_instance_resume(f.inst, &res, 1), FASTN_ERR_INVAL);
    {
        uint64_t left = fastn_wasm_fuel_get(f.inst);
        fastn_wasm_fuel_add(f.inst, 0); /* no-op */
        CHECK_EQ(fastn_wasm_fuel_get(f.inst), left);
        /* leave little, so that the next call stops inside recursion */
        while (fastn_wasm_fuel_get(f.inst) > 500) {
            int32_t r2;
            call_i32(&f, "count", 10, &r2);
        }
    }
    /* running out at a call (charged by the call) resumes too */
    union fastn_wasm_value n = {.i32 = 300};
    CHECK_ERR(fastn_wasm_instance_call(f.inst, "recurse", &n, 1, &res, 1),
              FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    fastn_wasm_fuel_add(f.inst, 1000000);
    CHECK_ERR(fastn_wasm_instance_resume(f.inst, &res, 1), FASTN_OK);
    CHECK_EQ(res.i32, 300);
    /* an endless loop stops at its budget */
    CHECK_ERR(call0(&f, "spin"), FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK_EQ(fastn_wasm_fuel_get(f.inst) < 10, 1);
    teardown(&f);
}

TEST(fuel_is_deterministic)
{
    uint64_t used[2];
    for (int k = 0; k < 2; k++) {
        struct fixture f;
        struct fastn_wasm_limits lim;
        int32_t r;
        fastn_wasm_limits_default(&lim);
        lim.fuel = 1u << 30;
        setup(&f, 0, &lim);
        CHECK_ERR(call_i32(&f, "count", 5000, &r), FASTN_OK);
        CHECK_ERR(call_i32(&f, "recurse", 50, &r), FASTN_OK);
        used[k] = (1u << 30) - fastn_wasm_fuel_get(f.inst);
        teardown(&f);
    }
    CHECK(used[0] > 5000);
    CHECK_EQ(used[0], used[1]);
}

TEST(unmetered_module_ignores_fuel)
{
    struct fixture f;
    struct fastn_wasm_limits lim;
    int32_t r;
    fastn_wasm_limits_default(&lim);
    lim.fuel = 10;
    setup(&f, FASTN_WASM_LOAD_NO_FUEL, &lim);
    CHECK_ERR(call_i32(&f, "count", 100000, &r), FASTN_OK);
    teardown(&f);
}

TEST(memory_cap)
{
    struct fixture f;
    struct fastn_wasm_limits lim;
    int32_t r;
    fastn_wasm_limits_default(&lim);
    lim.max_memory_pages = 2;
    setup(&f, 0, &lim);
    CHECK_ERR(call_i32(&f, "grow", 1, &r), FASTN_OK);
    CHECK_EQ(r, 1);
    CHECK_ERR(call_i32(&f, "grow", 1, &r), FASTN_OK);
    CHECK_EQ(r, -1); /* above the cap (the module allows 4) */
    CHECK_EQ(fastn_wasm_memory_size(f.inst), 2 * 65536);
    teardown(&f);
    /* a module whose minimum is above the cap cannot be instantiated */
    struct fastn_wasm_module *m = NULL;
    struct fastn_wasm_instance *inst = NULL;
    struct fastn_wasm_error err;
    lim.max_memory_pages = 0;
    CHECK_ERR(fastn_wasm_module_load(lib_wasm, sizeof(lib_wasm), 0, &m, &err),
              FASTN_OK);
    CHECK_ERR(fastn_wasm_instance_new(m, NULL, &lim, &inst, &err),
              FASTN_ERR_WASM_LIMIT);
    CHECK(inst == NULL);
    fastn_wasm_module_free(m);
}

TEST(memory_access_is_checked)
{
    struct fixture f;
    char buf[8] = {0};
    setup(&f, 0, NULL);
    CHECK_ERR(fastn_wasm_memory_read(f.inst, 16, buf, 5), FASTN_OK);
    CHECK_MEM(buf, "hello", 5);
    CHECK_ERR(fastn_wasm_memory_write(f.inst, 65535, "ab", 2),
              FASTN_ERR_WASM_TRAP_MEMORY_OOB);
    CHECK_ERR(fastn_wasm_memory_read(f.inst, UINT64_MAX, buf, 2),
              FASTN_ERR_WASM_TRAP_MEMORY_OOB);
    CHECK_ERR(fastn_wasm_memory_write(f.inst, 65534, "ab", 2), FASTN_OK);
    teardown(&f);
}

TEST(host_functions)
{
    struct fixture f;
    union fastn_wasm_value a[2] = {{.i32 = 40}, {.i32 = 2}}, r;
    setup(&f, 0, NULL);
    add_calls = 0;
    CHECK_ERR(fastn_wasm_instance_call(f.inst, "call_add", a, 2, &r, 1),
              FASTN_OK);
    CHECK_EQ(r.i32, 42);
    CHECK_EQ(add_calls, 1);
    CHECK_ERR(fastn_wasm_instance_call(f.inst, "call_sum", NULL, 0, &r, 1),
              FASTN_OK);
    CHECK_EQ(r.i32, 'h' + 'e' + 'l' + 'l' + 'o');
    CHECK_ERR(call0(&f, "call_fail"), FASTN_ERR_WASM_TRAP_HOST);
    teardown(&f);
}

/* host "add" that calls back into its caller: call_ok(a) + b */
static int host_reenter(struct fastn_wasm_instance *caller, void *user,
                        const union fastn_wasm_value *args,
                        union fastn_wasm_value *results)
{
    union fastn_wasm_value r;
    (void)user;
    int rc = fastn_wasm_instance_call(caller, "call_ok", args, 1, &r, 1);
    if (rc)
        return rc;
    results[0].i32 = r.i32 + args[1].i32;
    return 0;
}

/* host "fail" that calls call_fail again: endless host/wasm nesting */
static int host_nest(struct fastn_wasm_instance *caller, void *user,
                     const union fastn_wasm_value *args,
                     union fastn_wasm_value *results)
{
    (void)user, (void)args, (void)results;
    return fastn_wasm_instance_call(caller, "call_fail", NULL, 0, NULL, 0);
}

TEST(host_functions_reenter)
{
    struct fastn_wasm_module *m = NULL;
    struct fastn_wasm_instance *inst = NULL;
    union fastn_wasm_value a[2] = {{.i32 = 40}, {.i32 = 2}}, r;
    CHECK_ERR(fastn_wasm_module_load(main_wasm, sizeof(main_wasm), 0, &m, NULL),
              FASTN_OK);
    struct fastn_wasm_imports *imps = fastn_wasm_imports_new();
    fastn_wasm_imports_add_func(imps, "host", "add", "ii", "i", host_reenter,
                                NULL);
    fastn_wasm_imports_add_func(imps, "host", "sum", "ii", "i", host_sum, NULL);
    fastn_wasm_imports_add_func(imps, "host", "fail", "", "", host_nest, NULL);
    CHECK_ERR(fastn_wasm_instance_new(m, imps, NULL, &inst, NULL), FASTN_OK);
    fastn_wasm_imports_free(imps);
    CHECK_ERR(fastn_wasm_instance_init(inst), FASTN_OK);
    CHECK_ERR(fastn_wasm_instance_call(inst, "call_add", a, 2, &r, 1),
              FASTN_OK);
    CHECK_EQ(r.i32, 43);
    /* nesting is bounded: a trap, not a host stack overflow */
    CHECK_ERR(fastn_wasm_instance_call(inst, "call_fail", NULL, 0, NULL, 0),
              FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED);
    /* and the instance still works afterwards */
    CHECK_ERR(fastn_wasm_instance_call(inst, "call_add", a, 2, &r, 1),
              FASTN_OK);
    CHECK_EQ(r.i32, 43);
    fastn_wasm_instance_free(inst);
    fastn_wasm_module_free(m);
}

TEST(unlinkable_imports)
{
    struct fastn_wasm_module *m = NULL;
    struct fastn_wasm_instance *inst = NULL;
    struct fastn_wasm_error err;
    CHECK_ERR(fastn_wasm_module_load(main_wasm, sizeof(main_wasm), 0, &m, &err),
              FASTN_OK);
    CHECK_ERR(fastn_wasm_instance_new(m, NULL, NULL, &inst, &err),
              FASTN_ERR_WASM_UNLINKABLE);
    CHECK(strstr(err.message, "host.add") != NULL);
    /* a host function of the wrong type */
    struct fastn_wasm_imports *imps = fastn_wasm_imports_new();
    fastn_wasm_imports_add_func(imps, "host", "add", "i", "i", host_add, NULL);
    CHECK_ERR(fastn_wasm_instance_new(m, imps, NULL, &inst, &err),
              FASTN_ERR_WASM_UNLINKABLE);
    CHECK_ERR(
        fastn_wasm_imports_add_func(imps, "host", "x", "q", "", host_add, NULL),
        FASTN_ERR_INVAL);
    fastn_wasm_imports_free(imps);
    fastn_wasm_module_free(m);
}

TEST(cross_instance_imports)
{
    struct fastn_wasm_module *lm = NULL, *um = NULL;
    struct fastn_wasm_instance *lib = NULL, *user = NULL;
    struct fastn_wasm_error err;
    union fastn_wasm_value a[2], r;
    CHECK_ERR(fastn_wasm_module_load(lib_wasm, sizeof(lib_wasm), 0, &lm, &err),
              FASTN_OK);
    CHECK_ERR(
        fastn_wasm_module_load(user_wasm, sizeof(user_wasm), 0, &um, &err),
        FASTN_OK);
    CHECK_ERR(fastn_wasm_instance_new(lm, NULL, NULL, &lib, &err), FASTN_OK);
    CHECK_ERR(fastn_wasm_instance_init(lib), FASTN_OK);
    struct fastn_wasm_imports *imps = fastn_wasm_imports_new();
    CHECK_ERR(fastn_wasm_imports_add_instance(imps, "lib", lib), FASTN_OK);
    CHECK_ERR(fastn_wasm_instance_new(um, imps, NULL, &user, &err), FASTN_OK);
    fastn_wasm_imports_free(imps);
    CHECK_ERR(fastn_wasm_instance_init(user), FASTN_OK);
    /* function */
    a[0].i32 = 5;
    CHECK_ERR(fastn_wasm_instance_call(user, "quad", a, 1, &r, 1), FASTN_OK);
    CHECK_EQ(r.i32, 20);
    /* shared memory: written by user, read by lib */
    a[0].i32 = 100;
    a[1].i32 = 77;
    CHECK_ERR(fastn_wasm_instance_call(user, "poke", a, 2, NULL, 0), FASTN_OK);
    a[0].i32 = 100;
    CHECK_ERR(fastn_wasm_instance_call(lib, "peek", a, 1, &r, 1), FASTN_OK);
    CHECK_EQ(r.i32, 77);
    /* shared mutable global */
    CHECK_ERR(fastn_wasm_instance_call(lib, "bump", NULL, 0, &r, 1), FASTN_OK);
    CHECK_EQ(r.i32, 101);
    CHECK_ERR(fastn_wasm_instance_call(user, "counter", NULL, 0, &r, 1),
              FASTN_OK);
    CHECK_EQ(r.i32, 111);
    char t;
    CHECK_ERR(fastn_wasm_instance_global_get(lib, "counter", &r, &t), FASTN_OK);
    CHECK_EQ(r.i32, 111);
    CHECK_EQ(t, 'i');
    /* shared table holding lib's function */
    a[0].i32 = 21;
    CHECK_ERR(fastn_wasm_instance_call(user, "via_table", a, 1, &r, 1),
              FASTN_OK);
    CHECK_EQ(r.i32, 42);
    fastn_wasm_instance_free(user);
    fastn_wasm_instance_free(lib);
    fastn_wasm_module_free(um);
    fastn_wasm_module_free(lm);
}

/* Fused float compare-and-branch ops keep NaN semantics: !(a < b) is not
 * a >= b. */
static int32_t fcmp(struct fastn_wasm_instance *inst, const char *name,
                    double a, double b)
{
    union fastn_wasm_value args[2], r = {.i32 = -1};
    bool f32 = strstr(name, "32") != NULL;
    if (f32) {
        args[0].f32 = (float)a;
        args[1].f32 = (float)b;
    } else {
        args[0].f64 = a;
        args[1].f64 = b;
    }
    CHECK_ERR(fastn_wasm_instance_call(inst, name, args, 2, &r, 1), FASTN_OK);
    return r.i32;
}

TEST(float_branches_and_nan)
{
    struct fastn_wasm_module *m = NULL;
    struct fastn_wasm_instance *inst = NULL;
    double nan = 0.0 / 0.0;
    CHECK_ERR(fastn_wasm_module_load(fcmp_wasm, sizeof(fcmp_wasm), 0, &m, NULL),
              FASTN_OK);
    CHECK_ERR(fastn_wasm_instance_new(m, NULL, NULL, &inst, NULL), FASTN_OK);
    CHECK_ERR(fastn_wasm_instance_init(inst), FASTN_OK);
    CHECK_EQ(fcmp(inst, "if_lt", 1, 2), 1);
    CHECK_EQ(fcmp(inst, "if_lt", 2, 1), 0);
    CHECK_EQ(fcmp(inst, "if_lt", nan, 1), 0);
    CHECK_EQ(fcmp(inst, "if_ge", 2, 1), 1);
    CHECK_EQ(fcmp(inst, "if_ge", 1, nan), 0);
    CHECK_EQ(fcmp(inst, "if_ne32", nan, nan), 1);
    CHECK_EQ(fcmp(inst, "if_ne32", 1, 1), 0);
    CHECK_EQ(fcmp(inst, "brif_le", 1, 1), 1);
    CHECK_EQ(fcmp(inst, "brif_le", nan, 1), 0);
    CHECK_EQ(fcmp(inst, "brif_gt32", 2, 1), 1);
    CHECK_EQ(fcmp(inst, "brif_gt32", nan, 1), 0);
    fastn_wasm_instance_free(inst);
    fastn_wasm_module_free(m);
}

/* An operation with NaN operands returns the first NaN operand, quieted,
 * whichever variant computes it (and in the code compiled without
 * superinstructions too), so results do not depend on how the engine was
 * compiled. */
static uint64_t fnan(struct fastn_wasm_instance *inst, const char *name,
                     uint64_t a, uint64_t b)
{
    union fastn_wasm_value args[2] = {{.u64 = a}, {.u64 = b}}, r = {.u64 = 0};
    CHECK_ERR(fastn_wasm_instance_call(inst, name, args, 2, &r, 1), FASTN_OK);
    return r.u64;
}

TEST(nan_payloads_are_deterministic)
{
    static const char *const f64s[] = {"add", "add_acc_b", "add_acc_a",
                                       "mul_acc_b", "min_acc_b"};
    const uint64_t n1 = 0x7ff0000000000001ull, n2 = 0xfff0000000000abcull;
    const uint64_t q = 0x0008000000000000ull;
    for (unsigned plain = 0; plain < 2; plain++) {
        struct fastn_wasm_module *m = NULL;
        struct fastn_wasm_instance *inst = NULL;
        CHECK_ERR(fastn_wasm_module_load(fnan_wasm, sizeof(fnan_wasm),
                                         plain ? WASM_LOAD_NO_FUSE : 0, &m,
                                         NULL),
                  FASTN_OK);
        CHECK_ERR(fastn_wasm_instance_new(m, NULL, NULL, &inst, NULL),
                  FASTN_OK);
        for (unsigned i = 0; i < sizeof(f64s) / sizeof(f64s[0]); i++) {
            CHECK_EQ(fnan(inst, f64s[i], n1, n2), n1 | q);
            CHECK_EQ(fnan(inst, f64s[i], n2, n1), n2 | q);
            CHECK_EQ(fnan(inst, f64s[i], 0x3ff0000000000000ull, n2), n2 | q);
        }
        CHECK_EQ(fnan(inst, "add32_acc_b", 0x7f800001u, 0xffc00abcu),
                 0x7fc00001u);
        CHECK_EQ(fnan(inst, "add32_acc_b", 0x3f800000u, 0xff800abcu),
                 0xffc00abcu);
        fastn_wasm_instance_free(inst);
        fastn_wasm_module_free(m);
    }
}

TEST(custom_section_lookup)
{
    /* a type section, then custom "fastn.manifest" = "{}" and "x" = "" */
    static const uint8_t mod[] = {
        0,   'a', 's', 'm', 1,   0,   0,   0,   0x01, 0x04, 0x01, 0x60, 0,
        0,   0,   17,  14,  'f', 'a', 's', 't', 'n',  '.',  'm',  'a',  'n',
        'i', 'f', 'e', 's', 't', '{', '}', 0,   2,    1,    'x'};
    const uint8_t *data = NULL;
    size_t size = 0;
    CHECK_ERR(fastn_wasm_custom_section(mod, sizeof(mod), "fastn.manifest",
                                        &data, &size),
              FASTN_OK);
    CHECK_EQ(size, 2);
    CHECK(data && memcmp(data, "{}", 2) == 0);
    CHECK_ERR(fastn_wasm_custom_section(mod, sizeof(mod), "x", &data, &size),
              FASTN_OK);
    CHECK_EQ(size, 0);
    CHECK_ERR(fastn_wasm_custom_section(mod, sizeof(mod), "nope", &data, &size),
              FASTN_ERR_NOT_FOUND);
    CHECK_ERR(
        fastn_wasm_custom_section(mod, sizeof(mod) - 3, "x", &data, &size),
        FASTN_ERR_WASM_MALFORMED);
    /* the module itself loads: custom sections are skipped */
    struct fastn_wasm_module *m = NULL;
    CHECK_ERR(fastn_wasm_module_load(mod, sizeof(mod), 0, &m, NULL), FASTN_OK);
    fastn_wasm_module_free(m);
}

TEST(bad_bytes_never_crash)
{
    /* every truncation and a byte flip at every position of a valid
     * module: each must load or fail with an error, nothing else */
    uint8_t buf[sizeof(main_wasm)];
    for (size_t n = 0; n < sizeof(main_wasm); n++) {
        struct fastn_wasm_module *m = NULL;
        if (fastn_wasm_module_load(main_wasm, n, 0, &m, NULL) == 0)
            fastn_wasm_module_free(m);
    }
    for (size_t i = 0; i < sizeof(main_wasm); i++) {
        struct fastn_wasm_module *m = NULL;
        memcpy(buf, main_wasm, sizeof(buf));
        buf[i] ^= 0xff;
        if (fastn_wasm_module_load(buf, sizeof(buf), 0, &m, NULL) == 0)
            fastn_wasm_module_free(m);
    }
}

int main(void)
{
    RUN(load_reports_offset);
    RUN(unsupported_features_are_named);
    RUN(huge_counts_rejected_before_allocation);
    RUN(traps_of_each_kind);
    RUN(trap_backtrace);
    RUN(call_errors);
    RUN(deep_recursion_exhausts_stack_not_host);
    RUN(fuel_runs_out_and_resumes);
    RUN(fuel_is_deterministic);
    RUN(unmetered_module_ignores_fuel);
    RUN(memory_cap);
    RUN(memory_access_is_checked);
    RUN(host_functions);
    RUN(host_functions_reenter);
    RUN(unlinkable_imports);
    RUN(cross_instance_imports);
    RUN(float_branches_and_nan);
    RUN(nan_payloads_are_deterministic);
    RUN(custom_section_lookup);
    RUN(bad_bytes_never_crash);
    return test_done();
}
