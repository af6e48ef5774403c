/* Fuzz target: the WebAssembly loader (decoder, validator, compiler),
 * linking, and the interpreter. Modules that load are instantiated with a
 * stub for every imported function and small limits, then each exported
 * function is called with zero arguments and a small fuel budget. */
#include <stdint.h>
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

static void run_exports(struct fastn_wasm_instance *inst)
{
    const struct fastn_wasm_module *m = inst->mod;
    static union fastn_wasm_value args[WASM_MAX_PARAMS], res[WASM_MAX_PARAMS];
    for (uint32_t i = 0; i < m->nexports && i < 32; i++) {
        const struct wasm_export *e = &m->exports[i];
        if (e->kind != EXT_FUNC)
            continue;
        const struct wasm_functype *t = inst->funcs[e->index]->type;
        memset(args, 0, t->nparams * sizeof(args[0]));
        fastn_wasm_fuel_add(inst, 20000);
        wasm_call_export(inst, e->name, wasm_name_len(e->name), args,
                         t->nparams, res, t->nresults);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fastn_wasm_module *m = NULL;
    struct fastn_wasm_instance *inst = NULL;
    struct fastn_wasm_limits lim;
    const uint8_t *sec;
    size_t secsize;
    fastn_wasm_custom_section(data, size, "fastn.manifest", &sec, &secsize);
    if (fastn_wasm_module_load(data, size, 0, &m, NULL) != 0)
        return 0;
    struct fastn_wasm_imports *imps = fastn_wasm_imports_new();
    if (imps)
        add_stubs(imps, m);
    fastn_wasm_limits_default(&lim);
    lim.max_memory_pages = 16;
    lim.max_table_elems = 10000;
    lim.max_stack_slots = 1 << 16;
    lim.max_call_depth = 500;
    lim.fuel = 20000;
    if (imps && fastn_wasm_instance_new(m, imps, &lim, &inst, NULL) == 0) {
        if (fastn_wasm_instance_init(inst) == 0 || inst->mod->nexports > 0)
            run_exports(inst);
        fastn_wasm_instance_free(inst);
    }
    fastn_wasm_imports_free(imps);
    fastn_wasm_module_free(m);
    return 0;
}
