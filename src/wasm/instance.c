/*
 * Modules, imports, instances and the rest of the embedding API
 * (WebAssembly 2.0 sec. 4.5 "Modules": allocation, instantiation).
 *
 * An instance owns its defined functions, tables, memory and globals, and
 * points at imported ones (owned by another instance). Element segments
 * are evaluated once at instantiation into arrays of references, used by
 * table.init and dropped by elem.drop. Everything an instance holds is
 * counted in its memory budget (inst->budget): refused at instantiation
 * when it would not fit (budget_check), then kept up to date by memory
 * and table growth and by the embedder's charges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/wasm_int.h"

/* ---- modules ---------------------------------------------------------- */

int fastn_wasm_module_load(const uint8_t *bytes, size_t len, unsigned flags,
                           struct fastn_wasm_module **out,
                           struct fastn_wasm_error *err)
{
    struct fastn_wasm_error dummy;
    if (!err)
        err = &dummy;
    memset(err, 0, sizeof(*err));
    if (!bytes && len)
        return wasm_fail(err, FASTN_ERR_INVAL, 0, "no bytes");
    struct fastn_wasm_module *m = calloc(1, sizeof(*m));
    if (!m)
        return wasm_fail(err, FASTN_ERR_NOMEM, 0, "out of memory");
    m->metering = !(flags & FASTN_WASM_LOAD_NO_FUEL);
    m->fuse = !(flags & WASM_LOAD_NO_FUSE);
    int rc = wasm_module_decode(m, bytes, len, err);
    if (rc) {
        if (err->code == 0)
            wasm_fail(err, rc, 0, "%s", fastn_strerror(rc));
        wasm_module_cleanup(m);
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

uint64_t fastn_wasm_module_memory_used(const struct fastn_wasm_module *m)
{
    uint64_t n = sizeof(*m);
    n += m->ntypes * (uint64_t)sizeof(*m->types);
    for (uint32_t i = 0; i < m->ntypes; i++)
        n += m->types[i].nparams + m->types[i].nresults + 1;
    n += m->nimports * (uint64_t)sizeof(*m->imports);
    n += m->nfuncs * (sizeof(uint32_t) + 1ull);
    n += m->ntables * (uint64_t)sizeof(*m->tables);
    n += m->nglobals *
         (uint64_t)(sizeof(*m->globals) + sizeof(*m->global_inits));
    n += m->nexports * (uint64_t)sizeof(*m->exports);
    n += m->nelems * (uint64_t)sizeof(*m->elems);
    n += m->nelem_items * (uint64_t)sizeof(struct wasm_const);
    n += m->ndatas * (uint64_t)sizeof(*m->datas);
    for (uint32_t i = 0; i < m->ndatas; i++)
        n += m->datas[i].len;
    for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++) {
        const struct wasm_code *c = &m->codes[i];
        n += sizeof(*c) + c->ncells * sizeof(union wasm_cell) +
             (c->nconsts + c->ninit) * (uint64_t)sizeof(uint64_t) + c->nlocals;
    }
    return n;
}

void fastn_wasm_module_free(struct fastn_wasm_module *mod)
{
    if (!mod)
        return;
    wasm_module_cleanup(mod);
    free(mod);
}

const struct wasm_export *wasm_find_export(const struct fastn_wasm_module *m,
                                           const char *name, size_t len)
{
    for (uint32_t i = 0; i < m->nexports; i++) {
        const char *n = m->exports[i].name;
        if (wasm_name_len(n) == len && memcmp(n, name, len) == 0)
            return &m->exports[i];
    }
    return NULL;
}

/* ---- imports ---------------------------------------------------------- */

struct import_entry {
    char *module, *name; /* name NULL: every export of inst */
    struct wasm_functype type;
    fastn_wasm_host_fn fn;
    void *user;
    struct fastn_wasm_instance *inst;
};

struct fastn_wasm_imports {
    struct import_entry *v;
    size_t n, cap;
};

struct fastn_wasm_imports *fastn_wasm_imports_new(void)
{
    return calloc(1, sizeof(struct fastn_wasm_imports));
}

void fastn_wasm_imports_free(struct fastn_wasm_imports *imps)
{
    if (!imps)
        return;
    for (size_t i = 0; i < imps->n; i++) {
        free(imps->v[i].module);
        free(imps->v[i].name);
        free(imps->v[i].type.types);
    }
    free(imps->v);
    free(imps);
}

static int letter_type(char c, uint8_t *t)
{
    switch (c) {
    case 'i':
        *t = T_I32;
        return 0;
    case 'I':
        *t = T_I64;
        return 0;
    case 'f':
        *t = T_F32;
        return 0;
    case 'F':
        *t = T_F64;
        return 0;
    case 'r':
        *t = T_FUNCREF;
        return 0;
    case 'e':
        *t = T_EXTERNREF;
        return 0;
    default:
        return FASTN_ERR_INVAL;
    }
}

static char type_letter(uint8_t t)
{
    switch (t) {
    case T_I32:
        return 'i';
    case T_I64:
        return 'I';
    case T_F32:
        return 'f';
    case T_F64:
        return 'F';
    case T_FUNCREF:
        return 'r';
    default:
        return 'e';
    }
}

static struct import_entry *imports_add(struct fastn_wasm_imports *imps,
                                        const char *module, const char *name)
{
    if (imps->n == imps->cap) {
        size_t ncap = imps->cap ? imps->cap * 2 : 8;
        struct import_entry *n = realloc(imps->v, ncap * sizeof(*n));
        if (!n)
            return NULL;
        imps->v = n;
        imps->cap = ncap;
    }
    struct import_entry *e = &imps->v[imps->n];
    memset(e, 0, sizeof(*e));
    e->module = strdup(module);
    e->name = name ? strdup(name) : NULL;
    if (!e->module || (name && !e->name)) {
        free(e->module);
        free(e->name);
        return NULL;
    }
    imps->n++;
    return e;
}

int fastn_wasm_imports_add_func(struct fastn_wasm_imports *imps,
                                const char *module, const char *name,
                                const char *params, const char *results,
                                fastn_wasm_host_fn fn, void *user)
{
    if (!imps || !module || !name || !fn)
        return FASTN_ERR_INVAL;
    params = params ? params : "";
    results = results ? results : "";
    size_t np = strlen(params), nr = strlen(results);
    if (np > WASM_MAX_PARAMS || nr > WASM_MAX_PARAMS)
        return FASTN_ERR_INVAL;
    uint8_t *types = malloc(np + nr + 1);
    if (!types)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < np + nr; i++) {
        char ch = i < np ? params[i] : results[i - np];
        if (letter_type(ch, &types[i]) != 0) {
            free(types);
            return FASTN_ERR_INVAL;
        }
    }
    struct import_entry *e = imports_add(imps, module, name);
    if (!e) {
        free(types);
        return FASTN_ERR_NOMEM;
    }
    e->type = (struct wasm_functype){(uint32_t)np, (uint32_t)nr, types};
    e->fn = fn;
    e->user = user;
    return 0;
}

int fastn_wasm_imports_add_instance(struct fastn_wasm_imports *imps,
                                    const char *module,
                                    struct fastn_wasm_instance *inst)
{
    if (!imps || !module || !inst)
        return FASTN_ERR_INVAL;
    struct import_entry *e = imports_add(imps, module, NULL);
    if (!e)
        return FASTN_ERR_NOMEM;
    e->inst = inst;
    return 0;
}

/* ---- linking ---------------------------------------------------------- */

static bool name_eq(const char *want, const char *have)
{
    uint32_t n = wasm_name_len(want);
    return strlen(have) == n && memcmp(want, have, n) == 0;
}

/* Finds what satisfies import im: a host function (*host) or an export
 * of an instance (*from, *ex). Later entries win, as a later register. */
static void resolve(const struct fastn_wasm_imports *imps,
                    const struct wasm_import *im,
                    const struct import_entry **host,
                    struct fastn_wasm_instance **from,
                    const struct wasm_export **ex)
{
    *host = NULL;
    *from = NULL;
    *ex = NULL;
    for (size_t i = imps ? imps->n : 0; i > 0; i--) {
        const struct import_entry *e = &imps->v[i - 1];
        if (!name_eq(im->module, e->module))
            continue;
        if (e->name) {
            if (name_eq(im->name, e->name)) {
                *host = e;
                return;
            }
            continue;
        }
        const struct wasm_export *x =
            wasm_find_export(e->inst->mod, im->name, wasm_name_len(im->name));
        if (x) {
            *from = e->inst;
            *ex = x;
            return;
        }
    }
}

static bool limits_match(uint64_t size, bool has_max, uint64_t max,
                         const struct wasm_limits *want)
{
    if (size < want->min)
        return false;
    if (want->has_max && (!has_max || max > want->max))
        return false;
    return true;
}

static int link_one(struct fastn_wasm_instance *inst, uint32_t i,
                    const struct fastn_wasm_imports *imps, uint32_t *counts,
                    struct fastn_wasm_error *err)
{
    const struct fastn_wasm_module *m = inst->mod;
    const struct wasm_import *im = &m->imports[i];
    const struct import_entry *host;
    struct fastn_wasm_instance *from;
    const struct wasm_export *ex;
    resolve(imps, im, &host, &from, &ex);
    if (!host && !ex)
        return wasm_fail(err, FASTN_ERR_WASM_UNLINKABLE, 0,
                         "unknown import %s.%s", im->module, im->name);
    if ((host && im->kind != EXT_FUNC) || (ex && ex->kind != im->kind))
        goto incompatible;
    switch (im->kind) {
    case EXT_FUNC: {
        const struct wasm_functype *want = &m->types[im->index];
        if (host) {
            if (!wasm_type_equal(&host->type, want))
                goto incompatible;
            struct wasm_func *f = &inst->own_funcs[inst->nhost++];
            *f = (struct wasm_func){want, inst, NULL, host->fn, host->user};
            inst->funcs[counts[0]++] = f;
        } else {
            struct wasm_func *f = from->funcs[ex->index];
            if (!wasm_type_equal(f->type, want))
                goto incompatible;
            inst->funcs[counts[0]++] = f;
        }
        return 0;
    }
    case EXT_TABLE: {
        struct wasm_table *t = from->tables[ex->index];
        if (t->elem != im->table.elem ||
            !limits_match(t->size, t->has_max, t->max, &im->table.lim))
            goto incompatible;
        inst->tables[counts[1]++] = t;
        return 0;
    }
    case EXT_MEMORY: {
        struct wasm_memory *mem = from->mem;
        if (!limits_match(mem->size / WASM_PAGE, mem->has_max, mem->decl_max,
                          &im->mem))
            goto incompatible;
        inst->mem = mem;
        counts[2]++;
        return 0;
    }
    default: {
        struct wasm_global *g = from->globals[ex->index];
        if (g->type != im->global.type || g->mut != im->global.mut)
            goto incompatible;
        inst->globals[counts[3]++] = g;
        return 0;
    }
    }
incompatible:
    return wasm_fail(err, FASTN_ERR_WASM_UNLINKABLE, 0,
                     "incompatible import type for %s.%s", im->module,
                     im->name);
}

void fastn_wasm_limits_default(struct fastn_wasm_limits *lim)
{
    lim->max_memory_pages = WASM_MAX_PAGES;
    lim->max_table_elems = WASM_MAX_TABLE_SIZE;
    lim->max_stack_slots = 1u << 20;
    lim->max_call_depth = 20000;
    lim->fuel = UINT64_MAX;
    lim->max_memory_bytes = 0;
}

static void *const_ref(const struct fastn_wasm_instance *inst,
                       const struct wasm_const *c)
{
    if (c->op == 0xd2)
        return inst->funcs[c->index];
    if (c->op == 0x23)
        return inst->globals[c->index]->v.ref;
    return NULL;
}

static uint64_t const_bits(const struct fastn_wasm_instance *inst,
                           const struct wasm_const *c)
{
    if (c->op == 0x23)
        return inst->globals[c->index]->v.u64;
    if (c->op == 0xd2) {
        union fastn_wasm_value v = {.u64 = 0};
        v.ref = inst->funcs[c->index];
        return v.u64;
    }
    return c->bits;
}

static int alloc_arrays(struct fastn_wasm_instance *inst)
{
    const struct fastn_wasm_module *m = inst->mod;
    uint32_t nown = m->nfuncs - m->nfunc_imports;
    inst->funcs = calloc(m->nfuncs + 1, sizeof(*inst->funcs));
    inst->own_funcs =
        calloc(nown + m->nfunc_imports + 1, sizeof(*inst->own_funcs));
    inst->tables = calloc(m->ntables + 1, sizeof(*inst->tables));
    inst->own_tables =
        calloc(m->ntables - m->ntable_imports + 1, sizeof(*inst->own_tables));
    inst->globals = calloc(m->nglobals + 1, sizeof(*inst->globals));
    inst->own_globals = calloc(m->nglobals - m->nglobal_imports + 1,
                               sizeof(*inst->own_globals));
    inst->elem_refs = calloc(m->nelems + 1, sizeof(*inst->elem_refs));
    inst->elem_len = calloc(m->nelems + 1, sizeof(*inst->elem_len));
    inst->data_len = calloc(m->ndatas + 1, sizeof(*inst->data_len));
    if (!inst->funcs || !inst->own_funcs || !inst->tables ||
        !inst->own_tables || !inst->globals || !inst->own_globals ||
        !inst->elem_refs || !inst->elem_len || !inst->data_len)
        return FASTN_ERR_NOMEM;
    return 0;
}

/* What the instance will hold once created, by kind (before anything
 * is allocated): checked against its budget as a whole. The engine's
 * share counts its arrays, evaluated element segments and the stacks
 * (allocated at the first call, but reserved from the start). */
static void budget_need(const struct fastn_wasm_instance *inst,
                        struct wasm_budget *b)
{
    const struct fastn_wasm_module *m = inst->mod;
    uint64_t nown = m->nfuncs - m->nfunc_imports;
    uint64_t e = sizeof(*inst);
    e += (m->nfuncs + 1ull) * sizeof(*inst->funcs);
    e += (nown + m->nfunc_imports + 1) * sizeof(*inst->own_funcs);
    e += (m->ntables + 1ull) * sizeof(*inst->tables);
    e += (m->ntables - m->ntable_imports + 1ull) * sizeof(*inst->own_tables);
    e += (m->nglobals + 1ull) * sizeof(*inst->globals);
    e += (m->nelems + 1ull) * (sizeof(void **) + sizeof(uint32_t));
    e += (m->ndatas + 1ull) * sizeof(uint32_t);
    for (uint32_t i = 0; i < m->nelems; i++)
        e += (m->elems[i].n + 1ull) * sizeof(void *);
    e += (uint64_t)inst->lim.max_stack_slots * sizeof(union fastn_wasm_value);
    e += (uint64_t)(inst->lim.max_call_depth ? inst->lim.max_call_depth : 1) *
         sizeof(struct wasm_frame);
    memset(b, 0, sizeof(*b));
    b->engine = e;
    b->engine += sizeof(*inst->own_globals); /* the array's extra one */
    b->globals = (m->nglobals - m->nglobal_imports) *
                 (uint64_t)sizeof(*inst->own_globals);
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
        b->tables += (uint64_t)m->tables[i].lim.min * sizeof(void *);
    if (m->nmems > m->nmem_imports)
        b->memory = (uint64_t)m->mems[0].min * WASM_PAGE;
}

/* Refuses an instance that would not fit its budget, naming what it
 * would hold; charges the engine's and the globals' share otherwise
 * (memory and tables are charged as they are allocated). */
static int budget_check(struct fastn_wasm_instance *inst,
                        struct fastn_wasm_error *err)
{
    struct wasm_budget need;
    budget_need(inst, &need);
    uint64_t total = need.memory + need.tables + need.globals + need.engine;
    if (total > inst->budget.limit)
        return wasm_fail(
            err, FASTN_ERR_WASM_LIMIT, 0,
            "the instance needs %llu bytes (memory %llu, tables %llu, "
            "globals %llu, engine %llu), above its memory budget of %llu "
            "bytes (max_memory_bytes)",
            (unsigned long long)total, (unsigned long long)need.memory,
            (unsigned long long)need.tables, (unsigned long long)need.globals,
            (unsigned long long)need.engine,
            (unsigned long long)inst->budget.limit);
    inst->budget.engine = need.engine;
    inst->budget.globals = need.globals;
    return 0;
}

static int create_own(struct fastn_wasm_instance *inst,
                      struct fastn_wasm_error *err)
{
    const struct fastn_wasm_module *m = inst->mod;
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
        struct wasm_func *f =
            &inst->own_funcs[inst->nhost + i - m->nfunc_imports];
        const struct wasm_code *c = &m->codes[i - m->nfunc_imports];
        *f = (struct wasm_func){&m->types[c->type], inst, c, NULL, NULL};
        inst->funcs[i] = f;
    }
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
        struct wasm_table *t = &inst->own_tables[i - m->ntable_imports];
        const struct wasm_tabletype *tt = &m->tables[i];
        t->budget = &inst->budget;
        t->elem = tt->elem;
        t->has_max = tt->lim.has_max;
        t->max = tt->lim.has_max ? tt->lim.max : UINT32_MAX;
        if (tt->lim.min > inst->lim.max_table_elems)
            return wasm_fail(err, FASTN_ERR_WASM_LIMIT, 0,
                             "table of %u elements is above the cap %u",
                             tt->lim.min, inst->lim.max_table_elems);
        if (wasm_table_grow(t, tt->lim.min, NULL, UINT32_MAX) < 0)
            return FASTN_ERR_NOMEM;
        inst->tables[i] = t;
    }
    if (m->nmems > m->nmem_imports) {
        const struct wasm_limits *l = &m->mems[0];
        uint32_t max = l->has_max ? l->max : WASM_MAX_PAGES;
        if (max > inst->lim.max_memory_pages)
            max = inst->lim.max_memory_pages;
        if (l->min > max)
            return wasm_fail(err, FASTN_ERR_WASM_LIMIT, 0,
                             "memory of %u pages is above the cap %u", l->min,
                             inst->lim.max_memory_pages);
        /* no need to reserve what the budget could never let it reach */
        if (max > inst->budget.limit / WASM_PAGE)
            max = (uint32_t)(inst->budget.limit / WASM_PAGE);
        if (max < l->min)
            max = l->min;
        if (wasm_memory_init(&inst->own_mem, l->min, max, &inst->budget) != 0)
            return FASTN_ERR_NOMEM;
        inst->own_mem.has_max = l->has_max;
        inst->own_mem.decl_max = l->max;
        inst->has_own_mem = true;
        inst->mem = &inst->own_mem;
    }
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
        struct wasm_global *g = &inst->own_globals[i - m->nglobal_imports];
        g->type = m->globals[i].type;
        g->mut = m->globals[i].mut;
        g->v.u64 = const_bits(inst, &m->global_inits[i]);
        inst->globals[i] = g;
    }
    return 0;
}

static int eval_elems(struct fastn_wasm_instance *inst)
{
    const struct fastn_wasm_module *m = inst->mod;
    for (uint32_t i = 0; i < m->nelems; i++) {
        const struct wasm_elem *e = &m->elems[i];
        void **refs = calloc(e->n + 1, sizeof(void *));
        if (!refs)
            return FASTN_ERR_NOMEM;
        for (uint32_t k = 0; k < e->n; k++)
            refs[k] = const_ref(inst, &e->items[k]);
        inst->elem_refs[i] = refs;
        inst->elem_len[i] = e->mode == SEG_DECLARATIVE ? 0 : e->n;
    }
    for (uint32_t i = 0; i < m->ndatas; i++)
        inst->data_len[i] = m->datas[i].len;
    return 0;
}

int fastn_wasm_instance_new(const struct fastn_wasm_module *mod,
                            const struct fastn_wasm_imports *imps,
                            const struct fastn_wasm_limits *lim,
                            struct fastn_wasm_instance **out,
                            struct fastn_wasm_error *err)
{
    struct fastn_wasm_error dummy;
    if (!err)
        err = &dummy;
    memset(err, 0, sizeof(*err));
    if (!mod || !out)
        return FASTN_ERR_INVAL;
    struct fastn_wasm_instance *inst = calloc(1, sizeof(*inst));
    if (!inst)
        return FASTN_ERR_NOMEM;
    inst->mod = mod;
    if (lim)
        inst->lim = *lim;
    else
        fastn_wasm_limits_default(&inst->lim);
    if (inst->lim.max_memory_pages > WASM_MAX_PAGES)
        inst->lim.max_memory_pages = WASM_MAX_PAGES;
    inst->budget.limit =
        inst->lim.max_memory_bytes
            ? inst->lim.max_memory_bytes
            : (uint64_t)inst->lim.max_memory_pages * WASM_PAGE +
                  FASTN_WASM_BUDGET_EXTRA;
    inst->fuel = inst->lim.fuel;
    inst->exec.owner = inst;
    inst->mem = &inst->own_mem; /* empty unless it has or imports one */
    uint32_t counts[4] = {0, 0, 0, 0};
    int rc = budget_check(inst, err);
    if (rc == 0)
        rc = alloc_arrays(inst);
    for (uint32_t i = 0; rc == 0 && i < mod->nimports; i++)
        rc = link_one(inst, i, imps, counts, err);
    if (rc == 0)
        rc = create_own(inst, err);
    if (rc == 0)
        rc = eval_elems(inst);
    if (rc) {
        if (err->code == 0)
            wasm_fail(err, rc, 0, "%s", fastn_strerror(rc));
        fastn_wasm_instance_free(inst);
        return rc;
    }
    *out = inst;
    return 0;
}

static int init_segments(struct fastn_wasm_instance *inst)
{
    const struct fastn_wasm_module *m = inst->mod;
    for (uint32_t i = 0; i < m->nelems; i++) {
        const struct wasm_elem *e = &m->elems[i];
        if (e->mode != SEG_ACTIVE)
            continue;
        struct wasm_table *t = inst->tables[e->table];
        uint64_t off = (uint32_t)const_bits(inst, &e->offset);
        if (off + e->n > t->size)
            return FASTN_ERR_WASM_TRAP_TABLE_OOB;
        if (e->n)
            memcpy(t->refs + off, inst->elem_refs[i], e->n * sizeof(void *));
        inst->elem_len[i] = 0;
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const struct wasm_data *d = &m->datas[i];
        if (d->mode != SEG_ACTIVE)
            continue;
        uint64_t off = (uint32_t)const_bits(inst, &d->offset);
        if (off + d->len > inst->mem->size)
            return FASTN_ERR_WASM_TRAP_MEMORY_OOB;
        if (d->len)
            memcpy(inst->mem->data + off, d->bytes, d->len);
        inst->data_len[i] = 0;
    }
    return 0;
}

int fastn_wasm_instance_init(struct fastn_wasm_instance *inst)
{
    int rc = init_segments(inst);
    if (rc || !inst->mod->has_start)
        return rc;
    return wasm_invoke(inst, inst->funcs[inst->mod->start], NULL, NULL);
}

void fastn_wasm_instance_free(struct fastn_wasm_instance *inst)
{
    if (!inst)
        return;
    const struct fastn_wasm_module *m = inst->mod;
    if (inst->own_tables)
        for (uint32_t i = 0; i < m->ntables - m->ntable_imports; i++)
            free(inst->own_tables[i].refs);
    if (inst->elem_refs)
        for (uint32_t i = 0; i < m->nelems; i++)
            free(inst->elem_refs[i]);
    if (inst->has_own_mem)
        wasm_memory_cleanup(&inst->own_mem);
    free(inst->funcs);
    free(inst->own_funcs);
    free(inst->tables);
    free(inst->own_tables);
    free(inst->globals);
    free(inst->own_globals);
    free(inst->elem_refs);
    free(inst->elem_len);
    free(inst->data_len);
    free(inst->exec.stack);
    free(inst->exec.frames);
    free(inst);
}

/* ---- calls and accessors ---------------------------------------------- */

int wasm_call_export(struct fastn_wasm_instance *inst, const char *name,
                     size_t len, const union fastn_wasm_value *args,
                     size_t nargs, union fastn_wasm_value *results,
                     size_t nresults)
{
    const struct wasm_export *e = wasm_find_export(inst->mod, name, len);
    if (!e || e->kind != EXT_FUNC)
        return FASTN_ERR_NOT_FOUND;
    struct wasm_func *f = inst->funcs[e->index];
    if (nargs != f->type->nparams || nresults != f->type->nresults)
        return FASTN_ERR_INVAL;
    return wasm_invoke(inst, f, args, results);
}

int fastn_wasm_instance_call(struct fastn_wasm_instance *inst, const char *name,
                             const union fastn_wasm_value *args, size_t nargs,
                             union fastn_wasm_value *results, size_t nresults)
{
    if (!inst || !name)
        return FASTN_ERR_INVAL;
    return wasm_call_export(inst, name, strlen(name), args, nargs, results,
                            nresults);
}

int fastn_wasm_instance_resume(struct fastn_wasm_instance *inst,
                               union fastn_wasm_value *results, size_t nresults)
{
    if (!inst || !inst->exec.suspended ||
        nresults != inst->exec.s_type->nresults)
        return FASTN_ERR_INVAL;
    return wasm_resume(inst, results);
}

int fastn_wasm_instance_func_sig(const struct fastn_wasm_instance *inst,
                                 const char *name, char *params,
                                 size_t params_cap, char *results,
                                 size_t results_cap)
{
    const struct wasm_export *e =
        wasm_find_export(inst->mod, name, strlen(name));
    if (!e || e->kind != EXT_FUNC)
        return FASTN_ERR_NOT_FOUND;
    const struct wasm_functype *t = inst->funcs[e->index]->type;
    if (params_cap <= t->nparams || results_cap <= t->nresults)
        return FASTN_ERR_TOO_LARGE;
    for (uint32_t i = 0; i < t->nparams; i++)
        params[i] = type_letter(t->types[i]);
    params[t->nparams] = '\0';
    for (uint32_t i = 0; i < t->nresults; i++)
        results[i] = type_letter(t->types[t->nparams + i]);
    results[t->nresults] = '\0';
    return 0;
}

int fastn_wasm_instance_global_get(const struct fastn_wasm_instance *inst,
                                   const char *name,
                                   union fastn_wasm_value *out, char *type)
{
    const struct wasm_export *e =
        wasm_find_export(inst->mod, name, strlen(name));
    if (!e || e->kind != EXT_GLOBAL)
        return FASTN_ERR_NOT_FOUND;
    const struct wasm_global *g = inst->globals[e->index];
    *out = g->v;
    if (type)
        *type = type_letter(g->type);
    return 0;
}

uint64_t fastn_wasm_fuel_get(const struct fastn_wasm_instance *inst)
{
    return inst->fuel;
}

void fastn_wasm_fuel_add(struct fastn_wasm_instance *inst, uint64_t fuel)
{
    inst->fuel =
        inst->fuel + fuel < inst->fuel ? UINT64_MAX : inst->fuel + fuel;
}

void fastn_wasm_fuel_set(struct fastn_wasm_instance *inst, uint64_t fuel)
{
    inst->fuel = fuel;
}

int fastn_wasm_fuel_charge(struct fastn_wasm_instance *inst, uint64_t cost)
{
    if (!inst->mod->metering)
        return 0;
    if (inst->fuel < cost)
        return FASTN_ERR_WASM_TRAP_OUT_OF_FUEL;
    inst->fuel -= cost;
    return 0;
}

/* ---- the memory budget ------------------------------------------------ */

void fastn_wasm_instance_memory_usage(const struct fastn_wasm_instance *inst,
                                      struct fastn_wasm_memory_usage *out)
{
    const struct wasm_budget *b = &inst->budget;
    out->memory = b->memory;
    out->tables = b->tables;
    out->globals = b->globals;
    out->engine = b->engine;
    out->external = b->external;
    out->total = b->memory + b->tables + b->globals + b->engine + b->external;
    out->limit = b->limit;
}

uint64_t fastn_wasm_instance_memory_used(const struct fastn_wasm_instance *inst)
{
    struct fastn_wasm_memory_usage u;
    fastn_wasm_instance_memory_usage(inst, &u);
    return u.total;
}

int fastn_wasm_instance_memory_charge(struct fastn_wasm_instance *inst,
                                      int64_t delta)
{
    struct wasm_budget *b = &inst->budget;
    if (delta < 0) {
        uint64_t back = (uint64_t) - (delta + 1) + 1; /* no overflow at MIN */
        if (back > b->external)
            return FASTN_ERR_INVAL;
        b->external -= back;
        return 0;
    }
    if (!wasm_budget_fits(b, (uint64_t)delta))
        return FASTN_ERR_WASM_LIMIT;
    b->external += (uint64_t)delta;
    return 0;
}

uint64_t fastn_wasm_memory_size(const struct fastn_wasm_instance *inst)
{
    return inst->mem->size;
}

static bool in_memory(const struct fastn_wasm_instance *inst, uint64_t addr,
                      size_t n)
{
    uint64_t size = fastn_wasm_memory_size(inst);
    return addr <= size && n <= size - addr;
}

int fastn_wasm_memory_read(const struct fastn_wasm_instance *inst,
                           uint64_t addr, void *dst, size_t n)
{
    if (!in_memory(inst, addr, n))
        return FASTN_ERR_WASM_TRAP_MEMORY_OOB;
    if (n)
        memcpy(dst, inst->mem->data + addr, n);
    return 0;
}

int fastn_wasm_memory_write(struct fastn_wasm_instance *inst, uint64_t addr,
                            const void *src, size_t n)
{
    if (!in_memory(inst, addr, n))
        return FASTN_ERR_WASM_TRAP_MEMORY_OOB;
    if (n)
        memcpy(inst->mem->data + addr, src, n);
    return 0;
}

uint8_t *fastn_wasm_memory_span(struct fastn_wasm_instance *inst, uint64_t addr,
                                size_t n)
{
    if (!inst->mem || !in_memory(inst, addr, n))
        return NULL;
    return inst->mem->data + addr;
}

void fastn_wasm_instance_set_user(struct fastn_wasm_instance *inst, void *user)
{
    inst->user = user;
}

void *fastn_wasm_instance_get_user(const struct fastn_wasm_instance *inst)
{
    return inst->user;
}

/* --- traps: where they happened ------------------------------------------ */

/* The frame of the op at ip in mod's code (0 cells: none). */
static bool trace_frame(const struct fastn_wasm_module *mod,
                        const union wasm_cell *ip, struct fastn_wasm_frame *o)
{
    uint32_t ndef = mod->nfuncs - mod->nfunc_imports;
    for (uint32_t i = 0; i < ndef; i++) {
        const struct wasm_code *c = &mod->codes[i];
        if (!c->code || ip < c->code || ip >= c->code + c->ncells)
            continue;
        uint32_t cell = (uint32_t)(ip - c->code), lo = 0, hi = c->nsrc;
        while (hi - lo > 1) { /* the last entry at or before cell */
            uint32_t mid = lo + (hi - lo) / 2;
            if (c->src[mid].cell <= cell)
                lo = mid;
            else
                hi = mid;
        }
        o->func = mod->nfunc_imports + i;
        o->offset = c->nsrc ? c->src[lo].off : (uint32_t)c->body_off;
        o->name = NULL;
        for (uint32_t k = 0; k < mod->nfnames; k++)
            if (mod->fnames[k].func == o->func)
                o->name = mod->fnames[k].name;
        return true;
    }
    return false;
}

size_t fastn_wasm_trace(const struct fastn_wasm_instance *inst,
                        struct fastn_wasm_frame *out, size_t max,
                        uint32_t *depth)
{
    const struct wasm_exec *x = &inst->exec;
    size_t n = 0;

    for (uint32_t i = 0; i < x->ntrace && n < max; i++)
        if (trace_frame(x->trace_inst[i]->mod, x->trace_ip[i], &out[n]))
            n++;
    if (depth)
        *depth = x->ntrace ? x->trace_depth : 0;
    return n;
}

size_t fastn_wasm_trace_text(const struct fastn_wasm_instance *inst, char *buf,
                             size_t cap, size_t max_frames)
{
    struct fastn_wasm_frame f[WASM_TRACE_MAX];
    uint32_t depth;
    size_t n = fastn_wasm_trace(inst, f,
                                max_frames < WASM_TRACE_MAX ? max_frames
                                                            : WASM_TRACE_MAX,
                                &depth),
           len = 0;

    if (cap == 0)
        return 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        char fn[24];
        snprintf(fn, sizeof(fn), "func[%u]", (unsigned)f[i].func);
        int k = snprintf(buf + len, cap - len, "%s%.80s+0x%x", i ? " <- " : "",
                         f[i].name ? f[i].name : fn, (unsigned)f[i].offset);
        len += k < 0 ? 0 : (size_t)k;
    }
    if (n > 0 && depth > n && len < cap) {
        int k = snprintf(buf + len, cap - len, " <- ...");
        len += k < 0 ? 0 : (size_t)k;
    }
    return len < cap ? len : cap - 1;
}
