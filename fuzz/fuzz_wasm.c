/* Fuzz target: the WebAssembly loader (decoder, validator, compiler),
 * linking, and the interpreter. A module that loads is compiled twice,
 * with and without superinstructions and peepholes; both are instantiated
 * with a stub for every imported function and small limits, and each
 * exported function is called in both with zero arguments and the same
 * small fuel budget; a call that runs out of fuel is resumed a few times
 * with a little more (so that bulk operations and growth stopped half way
 * are continued). Any difference in outcome, results, memory or fuel is
 * a miscompilation (or a resume that went wrong) and aborts. So is a trap
 * whose backtrace (fastn_wasm_trace) differs between the two codes in its
 * functions, or names an offset outside the module. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/wasm_int.h"

static int stub(struct fastn_wasm_instance *caller, void *user,
                const union fastn_wasm_value *args,
                union fastn_wasm_value *results)
{
    (void)caller, (void)args;
    /* results has as many slots as the signature; user holds the count */
    for (uintptr_t i = 0; i < (uintptr_t)user; i++)
        results[i].u64 = 0;
    return 0;
}

static void add_stubs(struct fastn_wasm_imports *imps,
                      const struct fastn_wasm_module *m)
{
    static const char letters[256] = {
        [T_I32] = 'i', [T_I64] = 'I',     [T_F32] = 'f',
        [T_F64] = 'F', [T_FUNCREF] = 'r', [T_EXTERNREF] = 'e'};
    static char p[WASM_MAX_PARAMS + 1], r[WASM_MAX_PARAMS + 1];
    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wasm_import *im = &m->imports[i];
        if (im->kind != EXT_FUNC)
            continue;
        const struct wasm_functype *t = &m->types[im->index];
        for (uint32_t k = 0; k < t->nparams; k++)
            p[k] = letters[t->types[k]];
        p[t->nparams] = '\0';
        for (uint32_t k = 0; k < t->nresults; k++)
            r[k] = letters[t->types[t->nparams + k]];
        r[t->nresults] = '\0';
        fastn_wasm_imports_add_func(imps, im->module, im->name, p, r, stub,
                                    (void *)(uintptr_t)t->nresults);
    }
}

static struct fastn_wasm_instance *instantiate(struct fastn_wasm_module *m,
                                               int *init_rc)
{
    struct fastn_wasm_instance *inst = NULL;
    struct fastn_wasm_limits lim;
    struct fastn_wasm_imports *imps = fastn_wasm_imports_new();
    if (!imps)
        return NULL;
    add_stubs(imps, m);
    fastn_wasm_limits_default(&lim);
    lim.max_memory_pages = 16;
    lim.max_table_elems = 10000;
    lim.max_stack_slots = 1 << 16;
    lim.max_call_depth = 500;
    lim.fuel = 0;
    if (fastn_wasm_instance_new(m, imps, &lim, &inst, NULL) == 0) {
        fastn_wasm_fuel_add(inst, 20000);
        *init_rc = fastn_wasm_instance_init(inst);
    }
    fastn_wasm_imports_free(imps);
    return inst;
}

static bool same_memory(const struct fastn_wasm_instance *a,
                        const struct fastn_wasm_instance *b)
{
    uint64_t n = fastn_wasm_memory_size(a);
    if (n != fastn_wasm_memory_size(b))
        return false;
    return n == 0 || memcmp(a->mem->data, b->mem->data, n) == 0;
}

/* Calls every exported function in both instances; false on the first
 * difference. A call that exhausts the stack ends the comparison (frame
 * sizes differ between the two codes, so that limit is met at different
 * depths). */
static size_t module_size;

/* The two codes trapped in the same functions, at offsets in the module
 * (fused instructions may take a later instruction's offset). */
static bool same_trace(const struct fastn_wasm_instance *x,
                       const struct fastn_wasm_instance *y)
{
    struct fastn_wasm_frame fx[8], fy[8];
    uint32_t dx, dy;
    size_t nx = fastn_wasm_trace(x, fx, 8, &dx);
    size_t ny = fastn_wasm_trace(y, fy, 8, &dy);
    char text[256];

    if (nx != ny || dx != dy)
        return false;
    for (size_t i = 0; i < nx; i++)
        if (fx[i].func != fy[i].func || fx[i].offset >= module_size ||
            fy[i].offset >= module_size)
            return false;
    fastn_wasm_trace_text(x, text, sizeof(text), 4);
    return strlen(text) < sizeof(text);
}

static bool run_exports(struct fastn_wasm_instance *x,
                        struct fastn_wasm_instance *y)
{
    static union fastn_wasm_value args[WASM_MAX_PARAMS], rx[WASM_MAX_PARAMS],
        ry[WASM_MAX_PARAMS];
    const struct fastn_wasm_module *m = x->mod;
    for (uint32_t i = 0; i < m->nexports && i < 32; i++) {
        const struct wasm_export *e = &m->exports[i];
        if (e->kind != EXT_FUNC)
            continue;
        const struct wasm_functype *t = x->funcs[e->index]->type;
        memset(args, 0, t->nparams * sizeof(args[0]));
        memset(rx, 0, t->nresults * sizeof(rx[0]));
        memset(ry, 0, t->nresults * sizeof(ry[0]));
        fastn_wasm_fuel_add(x, 20000);
        fastn_wasm_fuel_add(y, 20000);
        uint32_t len = wasm_name_len(e->name);
        int a = wasm_call_export(x, e->name, len, args, t->nparams, rx,
                                 t->nresults);
        int b = wasm_call_export(y, e->name, len, args, t->nparams, ry,
                                 t->nresults);
        for (int k = 0; k < 3 && a == b && a == FASTN_ERR_WASM_TRAP_OUT_OF_FUEL;
             k++) {
            if (!same_memory(x, y) ||
                fastn_wasm_fuel_get(x) != fastn_wasm_fuel_get(y))
                return false;
            fastn_wasm_fuel_add(x, 5000);
            fastn_wasm_fuel_add(y, 5000);
            a = fastn_wasm_instance_resume(x, rx, t->nresults);
            b = fastn_wasm_instance_resume(y, ry, t->nresults);
        }
        if (a == FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED ||
            b == FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED)
            return true;
        if (a != 0 && a == b && !same_trace(x, y))
            return false;
        if (a != b || !same_memory(x, y) ||
            fastn_wasm_fuel_get(x) != fastn_wasm_fuel_get(y) ||
            fastn_wasm_instance_memory_used(x) !=
                fastn_wasm_instance_memory_used(y))
            return false;
        for (uint32_t k = 0; a == 0 && k < t->nresults; k++) {
            bool ref = t->types[t->nparams + k] == T_FUNCREF ||
                       t->types[t->nparams + k] == T_EXTERNREF;
            if (ref ? (rx[k].ref == NULL) != (ry[k].ref == NULL)
                    : rx[k].u64 != ry[k].u64)
                return false;
        }
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fastn_wasm_module *m = NULL, *plain = NULL;
    const uint8_t *sec;
    size_t secsize;
    fastn_wasm_custom_section(data, size, "fastn.manifest", &sec, &secsize);
    module_size = size;
    if (fastn_wasm_module_load(data, size, 0, &m, NULL) != 0)
        return 0;
    if (fastn_wasm_module_load(data, size, WASM_LOAD_NO_FUSE, &plain, NULL) ==
        0) {
        int rx = 0, ry = 0;
        struct fastn_wasm_instance *x = instantiate(m, &rx);
        struct fastn_wasm_instance *y = instantiate(plain, &ry);
        bool deep = rx == FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED ||
                    ry == FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED;
        if ((x == NULL) != (y == NULL) || (rx != ry && !deep))
            abort();
        if (x && !deep && !run_exports(x, y))
            abort();
        fastn_wasm_instance_free(x);
        fastn_wasm_instance_free(y);
    }
    fastn_wasm_module_free(plain);
    fastn_wasm_module_free(m);
    return 0;
}
