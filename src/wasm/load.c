/*
 * Binary decoding and module-level validation (WebAssembly 2.0, sec. 5
 * "Binary Format" and 3.4 "Modules").
 *
 * Every read goes through a checked buf_reader. Counts read from the
 * module are checked against the bytes left (each item takes at least one
 * byte) before anything of that size is allocated, so memory and time stay
 * linear in the module's size. Function bodies are validated and compiled
 * while the code section is read (compile.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "wasm/wasm_int.h"

struct rd {
    struct buf_reader r;
    size_t base; /* offset of r's first byte in the module */
    struct fastn_wasm_error *err;
};

int wasm_fail(struct fastn_wasm_error *err, int code, size_t off,
              const char *fmt, ...)
{
    if (err && err->code == 0) {
        va_list ap;
        err->code = code;
        err->offset = off;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

static size_t pos(const struct rd *d)
{
    return d->base + d->r.off;
}

#define MALFORMED(d, ...)                                                      \
    wasm_fail((d)->err, FASTN_ERR_WASM_MALFORMED, pos(d), __VA_ARGS__)
#define INVALID(d, ...)                                                        \
    wasm_fail((d)->err, FASTN_ERR_WASM_INVALID, pos(d), __VA_ARGS__)
#define UNSUPPORTED(d, ...)                                                    \
    wasm_fail((d)->err, FASTN_ERR_WASM_UNSUPPORTED, pos(d), __VA_ARGS__)

static int rd_u8(struct rd *d, uint8_t *v)
{
    if (buf_get_u8(&d->r, v) != 0)
        return MALFORMED(d, "unexpected end of section or function");
    return 0;
}

/* LEB128 as the wasm binary format defines it (sec. 5.2.2): at most
 * ceil(N/7) bytes, and the unused bits of the last byte must be zero (or
 * sign copies). buf_get_uvarint has other rules, hence this reader, shared
 * with compile.c. Returns NULL, or why the bytes are malformed. */
const char *wasm_read_leb(struct buf_reader *r, unsigned bits, bool sign,
                          uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0, maxb = (bits + 6) / 7;
    for (unsigned i = 0;; i++) {
        uint8_t b;
        if (i == maxb)
            return "integer representation too long";
        if (buf_get_u8(r, &b) != 0)
            return "unexpected end of section or function";
        if (i == maxb - 1) {
            unsigned used = bits - shift; /* value bits in this byte */
            if (b & 0x80)
                return "integer representation too long";
            if (used < 7) {
                uint8_t rest = (uint8_t)(b & 0x7f) >> used;
                bool neg = sign && ((b >> (used - 1)) & 1);
                if (rest != (neg ? (uint8_t)(0x7f >> used) : 0))
                    return "integer too large";
            }
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (sign && shift < 64 && (b & 0x40))
                v |= ~(uint64_t)0 << shift;
            break;
        }
    }
    *out = v;
    return NULL;
}

static int rd_leb(struct rd *d, unsigned bits, bool sign, uint64_t *out)
{
    const char *why = wasm_read_leb(&d->r, bits, sign, out);
    return why ? MALFORMED(d, "%s", why) : 0;
}

static int rd_u32(struct rd *d, uint32_t *v)
{
    uint64_t x;
    int rc = rd_leb(d, 32, false, &x);
    if (rc == 0)
        *v = (uint32_t)x;
    return rc;
}

/* A count of items (`what`, for messages) that each take at least `unit`
 * bytes, of which `have` were declared before (imports): the total may
 * not pass max. */
static int rd_count(struct rd *d, const char *what, uint32_t have, uint32_t max,
                    size_t unit, uint32_t *n)
{
    int rc = rd_u32(d, n);
    if (rc != 0)
        return rc;
    if ((uint64_t)*n * unit > buf_reader_left(&d->r))
        return MALFORMED(d,
                         "count %u is larger than the section (unexpected "
                         "end)",
                         *n);
    if ((uint64_t)have + *n > max)
        return wasm_fail(d->err, FASTN_ERR_WASM_LIMIT, pos(d),
                         "the module declares %llu %s%s; this engine allows "
                         "at most %u",
                         (unsigned long long)have + *n, what,
                         have ? " (imports included)" : "", max);
    return 0;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        unsigned len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* A name: stored NUL-terminated, with its length before the text (names
 * may contain NUL), see wasm_name_len. */
static int rd_name(struct rd *d, char **out)
{
    uint32_t n;
    const uint8_t *p;
    int rc = rd_u32(d, &n);
    if (rc != 0)
        return rc;
    if (buf_get_span(&d->r, n, &p) != 0)
        return MALFORMED(d, "unexpected end (name length)");
    if (!utf8_valid(p, n))
        return MALFORMED(d, "malformed UTF-8 encoding");
    char *s = malloc((size_t)n + 1 + sizeof(uint32_t));
    if (!s)
        return FASTN_ERR_NOMEM;
    memcpy(s, &n, sizeof(n));
    memcpy(s + sizeof(n), p, n);
    s[sizeof(n) + n] = '\0';
    *out = s + sizeof(n);
    return 0;
}

static void free_name(char *s)
{
    if (s)
        free(s - sizeof(uint32_t));
}

uint32_t wasm_name_len(const char *s)
{
    uint32_t n;
    memcpy(&n, s - sizeof(n), sizeof(n));
    return n;
}

static bool is_num_type(uint8_t t)
{
    return t == T_I32 || t == T_I64 || t == T_F32 || t == T_F64;
}

static bool is_ref_type(uint8_t t)
{
    return t == T_FUNCREF || t == T_EXTERNREF;
}

static int check_valtype(struct rd *d, uint8_t t)
{
    if (is_num_type(t) || is_ref_type(t))
        return 0;
    if (t == T_V128)
        return UNSUPPORTED(d, "SIMD (v128) is not supported");
    if (t >= 0x63 && t <= 0x6e)
        return UNSUPPORTED(d, "GC / typed function references are not "
                              "supported");
    return MALFORMED(d, "malformed value type 0x%02x", t);
}

static int rd_valtype(struct rd *d, uint8_t *t)
{
    int rc = rd_u8(d, t);
    return rc ? rc : check_valtype(d, *t);
}

static int rd_reftype(struct rd *d, uint8_t *t)
{
    int rc = rd_u8(d, t);
    if (rc)
        return rc;
    if (is_ref_type(*t))
        return 0;
    if (*t >= 0x63 && *t <= 0x6e)
        return UNSUPPORTED(d, "GC reference types are not supported");
    return MALFORMED(d, "malformed reference type 0x%02x", *t);
}

static int rd_limits(struct rd *d, struct wasm_limits *l, bool memory)
{
    uint8_t flags;
    int rc = rd_u8(d, &flags);
    if (rc)
        return rc;
    if (memory && (flags & 2))
        return UNSUPPORTED(d, "threads (shared memory) are not supported");
    if (memory && (flags & 4))
        return UNSUPPORTED(d, "memory64 is not supported");
    if (flags > 1)
        return MALFORMED(d, "integer too large (limits flags)");
    l->has_max = flags & 1;
    if ((rc = rd_u32(d, &l->min)) != 0)
        return rc;
    l->max = 0;
    if (l->has_max && (rc = rd_u32(d, &l->max)) != 0)
        return rc;
    if (l->has_max && l->min > l->max)
        return INVALID(d, "size minimum must not be greater than maximum");
    if (memory && (l->min > WASM_MAX_PAGES || l->max > WASM_MAX_PAGES))
        return INVALID(d, "memory size must be at most 65536 pages (4GiB)");
    return 0;
}

static int rd_tabletype(struct rd *d, struct wasm_tabletype *t)
{
    int rc = rd_reftype(d, &t->elem);
    return rc ? rc : rd_limits(d, &t->lim, false);
}

static int rd_globaltype(struct rd *d, struct wasm_globaltype *g)
{
    uint8_t mut;
    int rc = rd_valtype(d, &g->type);
    if (rc || (rc = rd_u8(d, &mut)) != 0)
        return rc;
    if (mut > 1)
        return MALFORMED(d, "malformed mutability");
    g->mut = mut;
    return 0;
}

bool wasm_type_equal(const struct wasm_functype *a,
                     const struct wasm_functype *b)
{
    return a == b ||
           (a->nparams == b->nparams && a->nresults == b->nresults &&
            memcmp(a->types, b->types, a->nparams + a->nresults) == 0);
}

/* Whether op starts an instruction of WebAssembly 2.0 (sec. 5.4). */
static bool is_opcode(uint8_t op)
{
    return op <= 0x05 || (op >= 0x0b && op <= 0x11) ||
           (op >= 0x1a && op <= 0x1c) || (op >= 0x20 && op <= 0x26) ||
           (op >= 0x28 && op <= 0xc4) || (op >= 0xd0 && op <= 0xd2) ||
           op == 0xfc || op == 0xfd;
}

/* A constant expression of type `want` (sec. 3.3.10). */
static int rd_const(struct rd *d, struct fastn_wasm_module *m, uint8_t want,
                    struct wasm_const *c)
{
    uint8_t op, end;
    uint64_t v;
    int rc = rd_u8(d, &op);
    if (rc)
        return rc;
    memset(c, 0, sizeof(*c));
    c->op = op;
    switch (op) {
    case 0x41:
        c->type = T_I32;
        rc = rd_leb(d, 32, true, &v);
        c->bits = (uint32_t)v;
        break;
    case 0x42:
        c->type = T_I64;
        rc = rd_leb(d, 64, true, &v);
        c->bits = v;
        break;
    case 0x43:
        c->type = T_F32;
        rc = buf_get_le32(&d->r, (uint32_t *)&c->index);
        c->bits = c->index;
        if (rc)
            rc = MALFORMED(d, "unexpected end");
        break;
    case 0x44:
        c->type = T_F64;
        if (buf_get_le64(&d->r, &c->bits) != 0)
            rc = MALFORMED(d, "unexpected end");
        break;
    case 0xd0:
        rc = rd_reftype(d, &c->type);
        break;
    case 0xd2:
        c->type = T_FUNCREF;
        if ((rc = rd_u32(d, &c->index)) == 0 && c->index >= m->nfuncs)
            rc = INVALID(d, "unknown function %u", c->index);
        if (rc == 0)
            m->func_refd[c->index] = 1;
        break;
    case 0x23:
        if ((rc = rd_u32(d, &c->index)) != 0)
            break;
        if (c->index >= m->nglobal_imports)
            return INVALID(d, "unknown global %u", c->index);
        if (m->globals[c->index].mut)
            return INVALID(d, "constant expression required");
        c->type = m->globals[c->index].type;
        break;
    default:
        if (op == 0x0b)
            return INVALID(d, "type mismatch (empty constant expression)");
        if (!is_opcode(op))
            return MALFORMED(d, "illegal opcode 0x%02x", op);
        return INVALID(d, "constant expression required");
    }
    if (rc)
        return rc;
    if ((rc = rd_u8(d, &end)) != 0)
        return rc;
    if (end != 0x0b) {
        if (end == 0x41 || end == 0x42 || end == 0x43 || end == 0x44 ||
            end == 0xd0 || end == 0xd2 || end == 0x23 || end == 0x1a)
            return INVALID(d, "type mismatch (constant expression; extended "
                              "constant expressions are not supported)");
        return INVALID(d, "constant expression required");
    }
    if (c->type != want)
        return INVALID(d, "type mismatch (constant expression)");
    return 0;
}

static int sec_types(struct rd *d, struct fastn_wasm_module *m)
{
    int rc = rd_count(d, "function types", 0, WASM_MAX_TYPES, 3, &m->ntypes);
    if (rc)
        return rc;
    m->types = calloc(m->ntypes ? m->ntypes : 1, sizeof(*m->types));
    if (!m->types)
        return FASTN_ERR_NOMEM;
    for (uint32_t i = 0; i < m->ntypes; i++) {
        struct wasm_functype *t = &m->types[i];
        uint8_t form;
        uint32_t np, nr;
        if ((rc = rd_u8(d, &form)) != 0)
            return rc;
        if (form != 0x60) {
            if (form == 0x5e || form == 0x5f || form == 0x50 || form == 0x4f)
                return UNSUPPORTED(d, "GC types are not supported");
            return MALFORMED(d,
                             "integer representation too long (type "
                             "form 0x%02x)",
                             form);
        }
        if ((rc = rd_count(d, "parameters in a function type", 0,
                           WASM_MAX_PARAMS, 1, &np)) != 0)
            return rc;
        t->types = malloc(np + 1);
        if (!t->types)
            return FASTN_ERR_NOMEM;
        t->nparams = np;
        for (uint32_t k = 0; k < np; k++)
            if ((rc = rd_valtype(d, &t->types[k])) != 0)
                return rc;
        if ((rc = rd_count(d, "results in a function type", 0, WASM_MAX_PARAMS,
                           1, &nr)) != 0)
            return rc;
        uint8_t *nt = realloc(t->types, np + nr + 1);
        if (!nt)
            return FASTN_ERR_NOMEM;
        t->types = nt;
        t->nresults = nr;
        for (uint32_t k = 0; k < nr; k++)
            if ((rc = rd_valtype(d, &t->types[np + k])) != 0)
                return rc;
    }
    return 0;
}

static int grow_array(void **p, size_t n, size_t size)
{
    void *q = realloc(*p, (n ? n : 1) * size);
    if (!q)
        return FASTN_ERR_NOMEM;
    *p = q;
    return 0;
}

static int import_desc(struct rd *d, struct fastn_wasm_module *m,
                       struct wasm_import *im)
{
    int rc = rd_u8(d, &im->kind);
    if (rc)
        return rc;
    switch (im->kind) {
    case EXT_FUNC:
        if ((rc = rd_u32(d, &im->index)) != 0)
            return rc;
        if (im->index >= m->ntypes)
            return INVALID(d, "unknown type %u", im->index);
        m->func_types[m->nfuncs++] = im->index;
        m->nfunc_imports++;
        return 0;
    case EXT_TABLE:
        if ((rc = rd_tabletype(d, &im->table)) != 0)
            return rc;
        if (m->ntables >= WASM_MAX_TABLES)
            return wasm_fail(d->err, FASTN_ERR_WASM_LIMIT, pos(d),
                             "the module imports more than %u tables; this "
                             "engine allows at most %u",
                             WASM_MAX_TABLES, WASM_MAX_TABLES);
        m->tables[m->ntables++] = im->table;
        m->ntable_imports++;
        return 0;
    case EXT_MEMORY:
        if ((rc = rd_limits(d, &im->mem, true)) != 0)
            return rc;
        if (m->nmems > 0)
            return INVALID(d, "multiple memories are not allowed");
        m->mems[m->nmems++] = im->mem;
        m->nmem_imports++;
        return 0;
    case EXT_GLOBAL:
        if ((rc = rd_globaltype(d, &im->global)) != 0)
            return rc;
        m->globals[m->nglobals++] = im->global;
        m->nglobal_imports++;
        return 0;
    default:
        if (im->kind == 4)
            return MALFORMED(d, "malformed import kind 4 (tags: exception "
                                "handling is not supported)");
        return MALFORMED(d, "malformed import kind %u", im->kind);
    }
}

static int sec_imports(struct rd *d, struct fastn_wasm_module *m)
{
    uint32_t n;
    int rc = rd_count(d, "imports", 0, WASM_MAX_IMPORTS, 4, &n);
    if (rc)
        return rc;
    m->imports = calloc(n ? n : 1, sizeof(*m->imports));
    m->func_types = calloc(n ? n : 1, sizeof(uint32_t));
    m->tables = calloc(n ? n : 1, sizeof(*m->tables));
    m->mems = calloc(n ? n : 1, sizeof(*m->mems));
    m->globals = calloc(n ? n : 1, sizeof(*m->globals));
    if (!m->imports || !m->func_types || !m->tables || !m->mems || !m->globals)
        return FASTN_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_import *im = &m->imports[i];
        m->nimports++; /* so that cleanup frees what was read */
        if ((rc = rd_name(d, &im->module)) != 0 ||
            (rc = rd_name(d, &im->name)) != 0)
            return rc;
        if ((rc = import_desc(d, m, im)) != 0)
            return rc;
    }
    return 0;
}

static int sec_funcs(struct rd *d, struct fastn_wasm_module *m)
{
    uint32_t n;
    int rc = rd_count(d, "functions", m->nfuncs, WASM_MAX_FUNCS, 1, &n);
    if (rc)
        return rc;
    if ((rc = grow_array((void **)&m->func_types, (size_t)m->nfuncs + n,
                         sizeof(uint32_t))) != 0)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t;
        if ((rc = rd_u32(d, &t)) != 0)
            return rc;
        if (t >= m->ntypes)
            return INVALID(d, "unknown type %u", t);
        m->func_types[m->nfuncs++] = t;
    }
    return 0;
}

static int sec_tables(struct rd *d, struct fastn_wasm_module *m)
{
    uint32_t n;
    int rc = rd_count(d, "tables", m->ntables, WASM_MAX_TABLES, 2, &n);
    if (rc)
        return rc;
    if ((rc = grow_array((void **)&m->tables, (size_t)m->ntables + n,
                         sizeof(*m->tables))) != 0)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = rd_tabletype(d, &m->tables[m->ntables++])) != 0)
            return rc;
    return 0;
}

static int sec_mems(struct rd *d, struct fastn_wasm_module *m)
{
    uint32_t n;
    int rc = rd_count(d, "memories", 0, 2, 2, &n);
    if (rc == FASTN_ERR_WASM_LIMIT || (rc == 0 && m->nmems + n > 1))
        return INVALID(d, "multiple memories are not allowed");
    if (rc)
        return rc;
    if ((rc = grow_array((void **)&m->mems, (size_t)m->nmems + n,
                         sizeof(*m->mems))) != 0)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = rd_limits(d, &m->mems[m->nmems++], true)) != 0)
            return rc;
    return 0;
}

static int sec_globals(struct rd *d, struct fastn_wasm_module *m)
{
    uint32_t n;
    int rc = rd_count(d, "globals", m->nglobals, WASM_MAX_GLOBALS, 3, &n);
    if (rc)
        return rc;
    size_t total = (size_t)m->nglobals + n;
    if ((rc = grow_array((void **)&m->globals, total, sizeof(*m->globals))) ||
        (rc = grow_array((void **)&m->global_inits, total,
                         sizeof(*m->global_inits))))
        return rc;
    memset(m->global_inits, 0, total * sizeof(*m->global_inits));
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_globaltype *g = &m->globals[m->nglobals];
        if ((rc = rd_globaltype(d, g)) != 0 ||
            (rc = rd_const(d, m, g->type, &m->global_inits[m->nglobals])))
            return rc;
        m->nglobals++;
    }
    return 0;
}

static int sec_exports(struct rd *d, struct fastn_wasm_module *m)
{
    int rc = rd_count(d, "exports", 0, WASM_MAX_EXPORTS, 3, &m->nexports);
    if (rc)
        return rc;
    m->exports = calloc(m->nexports ? m->nexports : 1, sizeof(*m->exports));
    if (!m->exports)
        return FASTN_ERR_NOMEM;
    for (uint32_t i = 0; i < m->nexports; i++) {
        struct wasm_export *e = &m->exports[i];
        uint32_t lim[4] = {m->nfuncs, m->ntables, m->nmems, m->nglobals};
        if ((rc = rd_name(d, &e->name)) != 0 || (rc = rd_u8(d, &e->kind)) ||
            (rc = rd_u32(d, &e->index)))
            return rc;
        if (e->kind > 3)
            return MALFORMED(d, "malformed export kind");
        if (e->index >= lim[e->kind])
            return INVALID(d, "unknown %s %u",
                           e->kind == 0   ? "function"
                           : e->kind == 1 ? "table"
                           : e->kind == 2 ? "memory"
                                          : "global",
                           e->index);
        if (e->kind == EXT_FUNC)
            m->func_refd[e->index] = 1;
    }
    return 0;
}

/* Export names must be unique: a hash set over the names, linear time. */
static int check_export_names(struct rd *d, struct fastn_wasm_module *m)
{
    uint32_t n = m->nexports, cap = 1;
    while (cap < n * 2)
        cap <<= 1;
    uint32_t *tab = calloc(cap, sizeof(uint32_t));
    if (!tab)
        return FASTN_ERR_NOMEM;
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const char *s = m->exports[i].name;
        uint32_t len = wasm_name_len(s), h = 2166136261u;
        for (uint32_t k = 0; k < len; k++)
            h = (h ^ (uint8_t)s[k]) * 16777619u;
        for (uint32_t j = h & (cap - 1);; j = (j + 1) & (cap - 1)) {
            if (tab[j] == 0) {
                tab[j] = i + 1;
                break;
            }
            const char *o = m->exports[tab[j] - 1].name;
            if (wasm_name_len(o) == len && memcmp(o, s, len) == 0) {
                rc = INVALID(d, "duplicate export name");
                break;
            }
        }
    }
    free(tab);
    return rc;
}

static int sec_start(struct rd *d, struct fastn_wasm_module *m)
{
    int rc = rd_u32(d, &m->start);
    if (rc)
        return rc;
    if (m->start >= m->nfuncs)
        return INVALID(d, "unknown function %u", m->start);
    const struct wasm_functype *t = &m->types[m->func_types[m->start]];
    if (t->nparams || t->nresults)
        return INVALID(d, "start function must have type [] -> []");
    m->has_start = true;
    return 0;
}

static int elem_items(struct rd *d, struct fastn_wasm_module *m,
                      struct wasm_elem *e, bool exprs)
{
    int rc = rd_count(d, "elements in element segments", m->nelem_items,
                      WASM_MAX_ELEMS, 1, &e->n);
    if (rc)
        return rc;
    m->nelem_items += e->n;
    e->items = calloc(e->n ? e->n : 1, sizeof(*e->items));
    if (!e->items)
        return FASTN_ERR_NOMEM;
    for (uint32_t i = 0; i < e->n; i++) {
        struct wasm_const *c = &e->items[i];
        if (exprs) {
            if ((rc = rd_const(d, m, e->type, c)) != 0)
                return rc;
            continue;
        }
        c->op = 0xd2;
        c->type = T_FUNCREF;
        if ((rc = rd_u32(d, &c->index)) != 0)
            return rc;
        if (c->index >= m->nfuncs)
            return INVALID(d, "unknown function %u", c->index);
        m->func_refd[c->index] = 1;
    }
    return 0;
}

static int elem_one(struct rd *d, struct fastn_wasm_module *m,
                    struct wasm_elem *e)
{
    uint32_t flags;
    int rc = rd_u32(d, &flags);
    if (rc)
        return rc;
    if (flags > 7)
        return MALFORMED(d, "malformed elements segment kind");
    bool exprs = flags & 4;
    e->mode = (flags & 1) ? ((flags & 2) ? SEG_DECLARATIVE : SEG_PASSIVE)
                          : SEG_ACTIVE;
    e->type = T_FUNCREF;
    if ((flags & 3) == 2 && (rc = rd_u32(d, &e->table)) != 0)
        return rc;
    if (e->mode == SEG_ACTIVE) {
        if (e->table >= m->ntables)
            return INVALID(d, "unknown table %u", e->table);
        if ((rc = rd_const(d, m, T_I32, &e->offset)) != 0)
            return rc;
    }
    if (flags & 3) {
        uint8_t k;
        if (exprs) {
            if ((rc = rd_reftype(d, &e->type)) != 0)
                return rc;
        } else {
            if ((rc = rd_u8(d, &k)) != 0)
                return rc;
            if (k != 0)
                return MALFORMED(d, "malformed element kind");
        }
    }
    if ((rc = elem_items(d, m, e, exprs)) != 0)
        return rc;
    if (e->mode == SEG_ACTIVE && m->tables[e->table].elem != e->type)
        return INVALID(d, "type mismatch (element segment)");
    return 0;
}

static int sec_elems(struct rd *d, struct fastn_wasm_module *m)
{
    uint32_t n;
    int rc = rd_count(d, "element segments", 0, WASM_MAX_ELEM_SEGMENTS, 2, &n);
    if (rc)
        return rc;
    m->elems = calloc(n ? n : 1, sizeof(*m->elems));
    if (!m->elems)
        return FASTN_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        m->nelems++;
        if ((rc = elem_one(d, m, &m->elems[i])) != 0)
            return rc;
    }
    return 0;
}

static int sec_datas(struct rd *d, struct fastn_wasm_module *m)
{
    int rc =
        rd_count(d, "data segments", 0, WASM_MAX_DATA_SEGMENTS, 2, &m->ndatas);
    if (rc)
        return rc;
    if (m->has_datacount && m->datacount != m->ndatas)
        return MALFORMED(d, "data count and data section have inconsistent "
                            "lengths");
    m->datas = calloc(m->ndatas ? m->ndatas : 1, sizeof(*m->datas));
    if (!m->datas)
        return FASTN_ERR_NOMEM;
    for (uint32_t i = 0; i < m->ndatas; i++) {
        struct wasm_data *s = &m->datas[i];
        uint32_t flags, mem = 0;
        const uint8_t *p;
        if ((rc = rd_u32(d, &flags)) != 0)
            return rc;
        if (flags > 2)
            return MALFORMED(d, "malformed data segment kind");
        s->mode = flags == 1 ? SEG_PASSIVE : SEG_ACTIVE;
        if (flags == 2 && (rc = rd_u32(d, &mem)) != 0)
            return rc;
        if (s->mode == SEG_ACTIVE) {
            if (mem >= m->nmems)
                return INVALID(d, "unknown memory %u", mem);
            if ((rc = rd_const(d, m, T_I32, &s->offset)) != 0)
                return rc;
        }
        if ((rc = rd_u32(d, &s->len)) != 0)
            return rc;
        if (buf_get_span(&d->r, s->len, &p) != 0)
            return MALFORMED(d, "unexpected end of section or function");
        s->bytes = malloc(s->len ? s->len : 1);
        if (!s->bytes)
            return FASTN_ERR_NOMEM;
        memcpy(s->bytes, p, s->len);
    }
    return 0;
}

static int sec_code(struct rd *d, struct fastn_wasm_module *m)
{
    uint32_t n;
    int rc = rd_count(d, "function bodies", 0, WASM_MAX_FUNCS, 2, &n);
    if (rc)
        return rc;
    if (n != m->nfuncs - m->nfunc_imports)
        return MALFORMED(d, "function and code section have inconsistent "
                            "lengths");
    m->codes = calloc(n ? n : 1, sizeof(*m->codes));
    if (!m->codes)
        return FASTN_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size;
        const uint8_t *p;
        if ((rc = rd_u32(d, &size)) != 0)
            return rc;
        if (size > WASM_MAX_BODY)
            return wasm_fail(d->err, FASTN_ERR_WASM_LIMIT, pos(d),
                             "function %u's body is %u bytes; this engine "
                             "allows at most %u",
                             m->nfunc_imports + i, size, WASM_MAX_BODY);
        size_t off = pos(d);
        if (buf_get_span(&d->r, size, &p) != 0)
            return MALFORMED(d, "unexpected end of section or function");
        rc = wasm_compile_func(m, m->nfunc_imports + i, p, size, off,
                               &m->codes[i], d->err);
        if (rc)
            return rc;
        m->data_without_count |= m->codes[i].uses_data && !m->has_datacount;
    }
    return 0;
}

/* Reads one section's content; sections may each appear once, in order. */
static int section(struct rd *d, struct fastn_wasm_module *m, uint8_t id)
{
    int rc;
    switch (id) {
    case 1:
        return sec_types(d, m);
    case 2:
        return sec_imports(d, m);
    case 3:
        return sec_funcs(d, m);
    case 4:
        return sec_tables(d, m);
    case 5:
        return sec_mems(d, m);
    case 6:
        return sec_globals(d, m);
    case 7:
        if ((rc = sec_exports(d, m)) != 0)
            return rc;
        return check_export_names(d, m);
    case 8:
        return sec_start(d, m);
    case 9:
        return sec_elems(d, m);
    case 10:
        return sec_code(d, m);
    case 11:
        return sec_datas(d, m);
    case 12:
        m->has_datacount = true;
        return rd_u32(d, &m->datacount);
    default:
        return 0;
    }
}

/* Position of each section id in the required order (0: custom). */
static int section_rank(uint8_t id)
{
    static const int8_t rank[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
    return id < 13 ? rank[id] : -1;
}

/* Allocates what later sections index (C.refs needs nfuncs known). */
static int prepare(struct fastn_wasm_module *m)
{
    if (!m->func_refd) {
        m->func_refd = calloc(m->nfuncs ? m->nfuncs : 1, 1);
        if (!m->func_refd)
            return FASTN_ERR_NOMEM;
    }
    return 0;
}

static void fnames_free(struct fastn_wasm_module *m)
{
    for (uint32_t i = 0; i < m->nfnames; i++)
        free_name(m->fnames[i].name);
    free(m->fnames);
    m->fnames = NULL;
    m->nfnames = 0;
}

/* The function names of a "name" section (its subsection 1, names in
 * increasing function order), for traps. The spec lets an engine ignore
 * a malformed name section, and so this does: it errs only for memory. */
static int name_section(struct rd *d, struct fastn_wasm_module *m)
{
    uint8_t id;
    uint32_t size, n;
    int rc = 0;

    while (buf_reader_left(&d->r) > 0) {
        if (rd_u8(d, &id) || rd_u32(d, &size) || size > buf_reader_left(&d->r))
            return 0;
        if (id == 1)
            break;
        buf_skip(&d->r, size);
    }
    if (buf_reader_left(&d->r) == 0 || rd_u32(d, &n) ||
        n > buf_reader_left(&d->r) / 2 || n > m->nfuncs)
        return 0;
    if (!(m->fnames = calloc(n ? n : 1, sizeof(*m->fnames))))
        return FASTN_ERR_NOMEM;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        struct wasm_fname *f = &m->fnames[i];
        if (rd_u32(d, &f->func) || f->func >= m->nfuncs ||
            (i > 0 && f->func <= f[-1].func))
            rc = FASTN_ERR_WASM_MALFORMED;
        else if ((rc = rd_name(d, &f->name)) == 0)
            m->nfnames++;
    }
    if (rc)
        fnames_free(m);
    return rc == FASTN_ERR_NOMEM ? rc : 0;
}

static int custom_section(struct rd *d, struct fastn_wasm_module *m)
{
    char *name = NULL;
    int rc = rd_name(d, &name);
    if (rc == 0 && !m->fnames && strcmp(name, "name") == 0) {
        struct rd sub = {.base = d->base, .err = NULL};
        const uint8_t *p;
        size_t left = buf_reader_left(&d->r);
        buf_get_span(&d->r, left, &p);
        buf_reader_init(&sub.r, p, left);
        rc = name_section(&sub, m);
    }
    free_name(name);
    if (rc)
        return rc;
    return buf_skip(&d->r, buf_reader_left(&d->r)) ? FASTN_ERR_INTERNAL : 0;
}

static int read_sections(struct rd *top, struct fastn_wasm_module *m)
{
    int last = 0, rc;
    bool had_funcs = false, had_code = false, had_data = false;
    while (buf_reader_left(&top->r) > 0) {
        uint8_t id;
        uint32_t size;
        const uint8_t *p;
        if ((rc = rd_u8(top, &id)) != 0 || (rc = rd_u32(top, &size)) != 0)
            return rc;
        if (id == 13)
            return UNSUPPORTED(top, "exception handling (tag section) is not "
                                    "supported");
        int rank = section_rank(id);
        if (rank < 0)
            return MALFORMED(top, "malformed section id %u", id);
        if (rank != 0 && rank <= last)
            return MALFORMED(top,
                             "unexpected content after last section "
                             "(section %u out of order)",
                             id);
        if (rank != 0)
            last = rank;
        size_t off = pos(top);
        if (buf_get_span(&top->r, size, &p) != 0)
            return MALFORMED(top, "unexpected end: section size mismatch");
        struct rd d = {.base = off, .err = top->err};
        buf_reader_init(&d.r, p, size);
        if (id == 0) {
            rc = custom_section(&d, m);
        } else {
            if (id > 3 && (rc = prepare(m)) != 0)
                return rc;
            rc = section(&d, m, id);
        }
        if (rc)
            return rc;
        if (buf_reader_left(&d.r) != 0)
            return MALFORMED(&d, "section size mismatch");
        had_funcs |= id == 3 && m->nfuncs > m->nfunc_imports;
        had_code |= id == 10;
        had_data |= id == 11;
    }
    /* memory.init / data.drop need the data count section (sec. 5.5.16);
     * without a data section their index is simply unknown */
    if (m->data_without_count) {
        if (had_data)
            return MALFORMED(top, "data count section required");
        return wasm_fail(top->err, FASTN_ERR_WASM_INVALID, pos(top),
                         "unknown data segment");
    }
    if (had_funcs && !had_code)
        return MALFORMED(top, "function and code section have inconsistent "
                              "lengths");
    if (m->has_datacount && m->ndatas != m->datacount)
        return MALFORMED(top, "data count and data section have "
                              "inconsistent lengths");
    return prepare(m);
}

int fastn_wasm_custom_section(const uint8_t *bytes, size_t len,
                              const char *name, const uint8_t **data,
                              size_t *size)
{
    static const uint8_t head[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    struct rd d = {.err = NULL};
    const uint8_t *p;
    size_t want = strlen(name);
    buf_reader_init(&d.r, bytes, len);
    if (buf_get_span(&d.r, 8, &p) != 0 || memcmp(p, head, 8) != 0)
        return FASTN_ERR_WASM_MALFORMED;
    while (buf_reader_left(&d.r) > 0) {
        uint8_t id;
        uint32_t secsize, nlen;
        if (rd_u8(&d, &id) || rd_u32(&d, &secsize) ||
            buf_get_span(&d.r, secsize, &p) != 0)
            return FASTN_ERR_WASM_MALFORMED;
        if (id != 0)
            continue;
        struct rd s = {.err = NULL};
        const uint8_t *n;
        buf_reader_init(&s.r, p, secsize);
        if (rd_u32(&s, &nlen) || buf_get_span(&s.r, nlen, &n) != 0)
            return FASTN_ERR_WASM_MALFORMED;
        if (nlen == want && memcmp(n, name, want) == 0) {
            *data = buf_reader_cur(&s.r);
            *size = buf_reader_left(&s.r);
            return 0;
        }
    }
    return FASTN_ERR_NOT_FOUND;
}

int wasm_module_decode(struct fastn_wasm_module *m, const uint8_t *p,
                       size_t len, struct fastn_wasm_error *err)
{
    static const uint8_t magic[4] = {0, 'a', 's', 'm'};
    struct rd d = {.err = err};
    uint32_t version;
    const uint8_t *mg;
    buf_reader_init(&d.r, p, len);
    if (buf_get_span(&d.r, 4, &mg) != 0 || memcmp(mg, magic, 4) != 0)
        return MALFORMED(&d, "magic header not detected");
    if (buf_get_le32(&d.r, &version) != 0 || version != 1) {
        if (len >= 8 && p[4] == 0x0d && p[5] == 0 && p[6] == 1 && p[7] == 0)
            return UNSUPPORTED(&d, "the component model is not supported");
        return MALFORMED(&d, "unknown binary version");
    }
    return read_sections(&d, m);
}

void wasm_module_cleanup(struct fastn_wasm_module *m)
{
    for (uint32_t i = 0; i < m->ntypes && m->types; i++)
        free(m->types[i].types);
    free(m->types);
    for (uint32_t i = 0; i < m->nimports; i++) {
        free_name(m->imports[i].module);
        free_name(m->imports[i].name);
    }
    free(m->imports);
    free(m->func_types);
    if (m->codes)
        for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++)
            wasm_code_cleanup(&m->codes[i]);
    free(m->codes);
    free(m->tables);
    free(m->mems);
    free(m->globals);
    free(m->global_inits);
    for (uint32_t i = 0; i < m->nexports && m->exports; i++)
        free_name(m->exports[i].name);
    free(m->exports);
    for (uint32_t i = 0; i < m->nelems; i++)
        free(m->elems[i].items);
    free(m->elems);
    for (uint32_t i = 0; i < m->ndatas && m->datas; i++)
        free(m->datas[i].bytes);
    free(m->datas);
    free(m->func_refd);
    fnames_free(m);
    memset(m, 0, sizeof(*m));
}
