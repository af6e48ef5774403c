/*
 * What the loader reads from a plugin's .wasm before the engine sees it:
 * the "fastn.manifest" custom section, and the module's interface (its
 * imports and exports, with their function types) to hold against the
 * ABI and the manifest.
 *
 * This is a walker over section headers and four small sections (type,
 * import, function, export), through the checked reader; it is not a
 * decoder or validator of code, which is the engine's job. Every length
 * is checked against what is left before it is used, counts are bounded
 * by the bytes that could hold them, and nothing is allocated.
 * (WebAssembly core spec 2.0, section 5.5, "Modules".)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fastn/err.h"
#include "plugin/manifest.h"
#include "util/buf.h"

enum {
    SEC_CUSTOM = 0,
    SEC_TYPE = 1,
    SEC_IMPORT = 2,
    SEC_FUNCTION = 3,
    SEC_EXPORT = 7,
    SEC_LAST_KNOWN = 12, /* datacount */
};

/* Bounds on what a plugin's interface may have: far above what clang
 * produces, and they keep every check linear in the module's size. */
#define TYPES_MAX 1024
#define IMPORTS_MAX 512
#define EXPORTS_MAX 4096

struct span {
    const uint8_t *p;
    size_t len; /* 0 with p NULL: the section is absent */
};

/* The sections the interface check reads. */
struct module {
    struct span sec[SEC_LAST_KNOWN + 1];
    uint32_t type_off[TYPES_MAX]; /* offsets in the type section */
    uint32_t n_types;
};

/* A wasm u32 LEB128: at most 5 bytes (spec 5.2.2). */
static int get_u32(struct buf_reader *r, uint32_t *out)
{
    size_t start = r->off;
    uint64_t v;
    int err = buf_get_uvarint(r, &v);
    if (err || v > UINT32_MAX || r->off - start > 5) {
        r->off = start;
        return FASTN_ERR_WASM_MALFORMED;
    }
    *out = (uint32_t)v;
    return 0;
}

/* A name: u32 length, then that many bytes, borrowed. */
static int get_name(struct buf_reader *r, const uint8_t **p, uint32_t *n)
{
    int err = get_u32(r, n);
    if (!err)
        err = buf_get_span(r, *n, p);
    return err ? FASTN_ERR_WASM_MALFORMED : 0;
}

static bool name_is(const uint8_t *p, uint32_t n, const char *s)
{
    return strlen(s) == n && memcmp(p, s, n) == 0;
}

static int check_header(struct buf_reader *r)
{
    static const uint8_t magic[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    const uint8_t *p;
    if (buf_get_span(r, sizeof(magic), &p) != 0 ||
        memcmp(p, magic, sizeof(magic)) != 0)
        return FASTN_ERR_WASM_MALFORMED;
    return 0;
}

/* Calls fn for each section with its id and payload; stops at the first
 * non-zero return. */
typedef int (*section_fn)(uint8_t id, struct buf_reader *payload, void *arg);

static int walk_sections(const uint8_t *wasm, size_t len, section_fn fn,
                         void *arg)
{
    struct buf_reader r;
    buf_reader_init(&r, wasm, len);
    int err = check_header(&r);
    while (!err && buf_reader_left(&r) > 0) {
        uint8_t id;
        uint32_t size;
        const uint8_t *p;
        if (buf_get_u8(&r, &id) || get_u32(&r, &size) ||
            buf_get_span(&r, size, &p))
            return FASTN_ERR_WASM_MALFORMED;
        if (id > SEC_LAST_KNOWN)
            return FASTN_ERR_WASM_MALFORMED;
        struct buf_reader payload;
        buf_reader_init(&payload, p, size);
        err = fn(id, &payload, arg);
    }
    return err;
}

/* --- custom sections --- */

struct find_custom {
    const char *name;
    const uint8_t *p;
    size_t len;
    int found;
};

static int find_custom_fn(uint8_t id, struct buf_reader *r, void *arg)
{
    struct find_custom *f = arg;
    const uint8_t *name;
    uint32_t n;
    if (id != SEC_CUSTOM)
        return 0;
    if (get_name(r, &name, &n))
        return FASTN_ERR_WASM_MALFORMED;
    if (!name_is(name, n, f->name))
        return 0;
    if (f->found++)
        return FASTN_ERR_EXISTS;
    f->p = buf_reader_cur(r);
    f->len = buf_reader_left(r);
    return 0;
}

int plugin_wasm_custom_section(const uint8_t *wasm, size_t len,
                               const char *name, const uint8_t **out,
                               size_t *out_len)
{
    struct find_custom f = {.name = name};
    if (!wasm || !name || !out || !out_len)
        return FASTN_ERR_INVAL;
    int err = walk_sections(wasm, len, find_custom_fn, &f);
    if (err)
        return err;
    if (!f.found)
        return FASTN_ERR_NOT_FOUND;
    *out = f.p;
    *out_len = f.len;
    return 0;
}

static int say(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int say(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int plugin_manifest_from_wasm(const uint8_t *wasm, size_t len,
                              struct plugin_manifest *m, char *err,
                              size_t errlen)
{
    const uint8_t *p;
    size_t n;
    if (m)
        memset(m, 0, sizeof(*m));
    int rc =
        plugin_wasm_custom_section(wasm, len, PLUGIN_MANIFEST_SECTION, &p, &n);
    switch (rc) {
    case 0:
        return plugin_manifest_parse((const char *)p, n, m, err, errlen);
    case FASTN_ERR_NOT_FOUND:
        return say(err, errlen, FASTN_ERR_PLUGIN_MANIFEST,
                   "no \"fastn.manifest\" section: declare the manifest with "
                   "FASTN_MANIFEST() from <fastn/plugin.h>");
    case FASTN_ERR_EXISTS:
        return say(err, errlen, FASTN_ERR_PLUGIN_MANIFEST,
                   "more than one \"fastn.manifest\" section");
    case FASTN_ERR_WASM_MALFORMED:
        return say(err, errlen, rc,
                   "not a WebAssembly module, or its sections are cut short");
    default:
        return say(err, errlen, rc, "cannot read the module");
    }
}

/* --- the interface check --- */

static int collect_fn(uint8_t id, struct buf_reader *r, void *arg)
{
    struct module *mod = arg;
    if (id == SEC_CUSTOM)
        return 0;
    if (mod->sec[id].p) /* a repeated section: not a valid module */
        return FASTN_ERR_WASM_MALFORMED;
    mod->sec[id].p = buf_reader_cur(r);
    mod->sec[id].len = buf_reader_left(r);
    if (!mod->sec[id].p) /* an empty section still counts as present */
        mod->sec[id].p = (const uint8_t *)"";
    return 0;
}

static char valtype_letter(uint8_t t)
{
    switch (t) {
    case 0x7f:
        return 'i';
    case 0x7e:
        return 'I';
    case 0x7d:
        return 'f';
    case 0x7c:
        return 'F';
    default:
        return '?'; /* v128, references: never in the ABI */
    }
}

/* Reads a vec(valtype) as letters into out (cap bytes with the NUL); a
 * list too long for out becomes "*", which matches no ABI signature.
 * Value types are one byte each in WebAssembly 2.0, so a long list is
 * skipped, not read. */
static int get_valtypes(struct buf_reader *r, char *out, size_t cap)
{
    uint32_t n;
    if (get_u32(r, &n))
        return FASTN_ERR_WASM_MALFORMED;
    if (n >= cap) {
        strcpy(out, "*");
        return buf_skip(r, n) ? FASTN_ERR_WASM_MALFORMED : 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t t;
        if (buf_get_u8(r, &t))
            return FASTN_ERR_WASM_MALFORMED;
        out[i] = valtype_letter(t);
    }
    out[n] = '\0';
    return 0;
}

#define SIG_MAX 16

/* Notes where each of the first TYPES_MAX function types starts, so that
 * looking one up does not rescan the section. */
static int index_types(struct module *mod)
{
    struct buf_reader r;
    uint32_t count;
    char tmp[SIG_MAX];
    const struct span *s = &mod->sec[SEC_TYPE];
    if (!s->p)
        return 0;
    buf_reader_init(&r, s->p, s->len);
    if (get_u32(&r, &count))
        return FASTN_ERR_WASM_MALFORMED;
    for (uint32_t i = 0; i < count && i < TYPES_MAX; i++) {
        uint8_t form;
        mod->type_off[i] = (uint32_t)r.off;
        if (buf_get_u8(&r, &form) || form != 0x60 ||
            get_valtypes(&r, tmp, sizeof(tmp)) ||
            get_valtypes(&r, tmp, sizeof(tmp)))
            return FASTN_ERR_WASM_MALFORMED;
        mod->n_types = i + 1;
    }
    return 0;
}

/* Finds function type typeidx: its params and results as letters. */
static int func_type(const struct module *mod, uint32_t typeidx,
                     char params[SIG_MAX], char results[SIG_MAX])
{
    struct buf_reader r;
    uint8_t form;
    if (typeidx >= mod->n_types)
        return FASTN_ERR_WASM_MALFORMED;
    buf_reader_init(&r, mod->sec[SEC_TYPE].p, mod->sec[SEC_TYPE].len);
    if (buf_skip(&r, mod->type_off[typeidx]) || buf_get_u8(&r, &form) ||
        get_valtypes(&r, params, SIG_MAX) || get_valtypes(&r, results, SIG_MAX))
        return FASTN_ERR_WASM_MALFORMED;
    return 0;
}

/* Copies a wasm name for a message: printable ASCII only, bounded. */
static const char *printable(const uint8_t *p, uint32_t n, char *buf,
                             size_t cap)
{
    size_t j = 0;
    for (uint32_t i = 0; i < n && j + 1 < cap; i++)
        buf[j++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    buf[j] = '\0';
    return buf;
}

struct abi_fn {
    const char *name, *params, *results;
    int need; /* capability (imports) or enum plugin_export_need (exports) */
};

static const struct abi_fn abi_imports[] = {
#define IMPORT_ROW_(name, params, results, cap, fuel)                          \
    {#name, params, results, cap},
    PLUGIN_ABI_IMPORTS(IMPORT_ROW_)
#undef IMPORT_ROW_
};

static const struct abi_fn abi_exports[] = {
#define EXPORT_ROW_(name, params, results, need) {#name, params, results, need},
    PLUGIN_ABI_EXPORTS(EXPORT_ROW_)
#undef EXPORT_ROW_
};

/* The edit distance of a (n bytes) and s, or 99 when it is over 4. */
static unsigned distance(const uint8_t *a, size_t n, const char *s)
{
    unsigned row[48], m = (unsigned)strlen(s);

    if (n >= 47 || m >= 47 || (n > m ? n - m : m - n) > 4)
        return 99;
    for (unsigned j = 0; j <= m; j++)
        row[j] = j;
    for (size_t i = 1; i <= n; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (unsigned j = 1; j <= m; j++) {
            unsigned up = row[j];
            unsigned best = diag + (a[i - 1] != (uint8_t)s[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[m] > 4 ? 99 : row[m];
}

/* The event name nearest to an unknown on_* export (2 edits at most). */
static const char *nearest_event(const uint8_t *name, uint32_t nlen);

static const struct abi_fn *find_abi(const struct abi_fn *v, size_t n,
                                     const uint8_t *name, uint32_t len)
{
    for (size_t i = 0; i < n; i++)
        if (name_is(name, len, v[i].name))
            return &v[i];
    return NULL;
}

int plugin_import_capability(const char *name)
{
    const struct abi_fn *f =
        name ? find_abi(abi_imports, sizeof(abi_imports) / sizeof(*abi_imports),
                        (const uint8_t *)name, (uint32_t)strlen(name))
             : NULL;
    return f ? f->need : -1;
}

struct check {
    const struct module *mod;
    const struct plugin_manifest *m;
    char *err;
    size_t errlen;
    uint32_t n_func_imports;
};

static int check_fastn_import(struct check *c, const uint8_t *field,
                              uint32_t flen, uint32_t typeidx)
{
    char name[48], params[SIG_MAX], results[SIG_MAX];
    printable(field, flen, name, sizeof(name));
    const struct abi_fn *f = find_abi(
        abi_imports, sizeof(abi_imports) / sizeof(*abi_imports), field, flen);
    if (!f)
        return say(c->err, c->errlen, FASTN_ERR_PLUGIN_ABI,
                   "imports fastn.%s, which is not in plugin ABI %d", name,
                   PLUGIN_ABI_VERSION);
    if (func_type(c->mod, typeidx, params, results))
        return FASTN_ERR_WASM_MALFORMED;
    if (strcmp(params, f->params) != 0 || strcmp(results, f->results) != 0)
        return say(c->err, c->errlen, FASTN_ERR_PLUGIN_ABI,
                   "imports fastn.%s as (%s)->(%s); ABI %d has (%s)->(%s)",
                   name, params, results, PLUGIN_ABI_VERSION, f->params,
                   f->results);
    if (f->need && !(c->m->caps & (unsigned)f->need))
        return say(c->err, c->errlen, FASTN_ERR_PLUGIN_CAPABILITY,
                   "imports fastn.%s, but the manifest does not ask for the "
                   "\"%s\" capability",
                   name, plugin_cap_name((unsigned)f->need));
    return 0;
}

static int check_one_import(struct check *c, struct buf_reader *r)
{
    const uint8_t *mod, *field;
    uint32_t mlen, flen, typeidx;
    uint8_t kind;
    char mname[48], fname[48];
    if (get_name(r, &mod, &mlen) || get_name(r, &field, &flen) ||
        buf_get_u8(r, &kind))
        return FASTN_ERR_WASM_MALFORMED;
    printable(mod, mlen, mname, sizeof(mname));
    printable(field, flen, fname, sizeof(fname));
    if (kind != 0x00)
        return say(c->err, c->errlen, FASTN_ERR_PLUGIN_ABI,
                   "imports %s.%s, which is not a function: plugins import "
                   "only functions (and export their own memory)",
                   mname, fname);
    if (get_u32(r, &typeidx))
        return FASTN_ERR_WASM_MALFORMED;
    c->n_func_imports++;
    if (name_is(mod, mlen, PLUGIN_IMPORT_MODULE))
        return check_fastn_import(c, field, flen, typeidx);
    if (name_is(mod, mlen, PLUGIN_WASI_MODULE))
        return 0; /* the host answers the rest of WASI with ENOSYS */
    return say(c->err, c->errlen, FASTN_ERR_PLUGIN_ABI,
               "imports %s.%s: plugins may import only from \"fastn\" and "
               "\"wasi_snapshot_preview1\"",
               mname, fname);
}

static int check_imports(struct check *c)
{
    struct buf_reader r;
    uint32_t count;
    const struct span *s = &c->mod->sec[SEC_IMPORT];
    if (!s->p)
        return 0;
    buf_reader_init(&r, s->p, s->len);
    if (get_u32(&r, &count) || count > s->len)
        return FASTN_ERR_WASM_MALFORMED;
    if (count > IMPORTS_MAX)
        return say(c->err, c->errlen, FASTN_ERR_PLUGIN_ABI,
                   "%u imports; at most %d are allowed", count, IMPORTS_MAX);
    for (uint32_t i = 0; i < count; i++) {
        int err = check_one_import(c, &r);
        if (err)
            return err;
    }
    return 0;
}

/* The type of function funcidx, which the module itself defines. */
static int defined_func_type(const struct check *c, uint32_t funcidx,
                             uint32_t *typeidx)
{
    struct buf_reader r;
    uint32_t count;
    const struct span *s = &c->mod->sec[SEC_FUNCTION];
    if (funcidx < c->n_func_imports || !s->p)
        return FASTN_ERR_WASM_MALFORMED;
    buf_reader_init(&r, s->p, s->len);
    uint32_t k = funcidx - c->n_func_imports;
    if (get_u32(&r, &count) || k >= count)
        return FASTN_ERR_WASM_MALFORMED;
    for (uint32_t i = 0; i <= k; i++)
        if (get_u32(&r, typeidx))
            return FASTN_ERR_WASM_MALFORMED;
    return 0;
}

static int check_export_sig(struct check *c, const struct abi_fn *f,
                            uint32_t funcidx)
{
    char params[SIG_MAX], results[SIG_MAX];
    uint32_t typeidx;
    if (funcidx < c->n_func_imports)
        return say(c->err, c->errlen, FASTN_ERR_PLUGIN_ABI,
                   "exports %s as an imported function", f->name);
    if (defined_func_type(c, funcidx, &typeidx) ||
        func_type(c->mod, typeidx, params, results))
        return FASTN_ERR_WASM_MALFORMED;
    if (strcmp(params, f->params) != 0 || strcmp(results, f->results) != 0)
        return say(c->err, c->errlen, FASTN_ERR_PLUGIN_ABI,
                   "exports %s as (%s)->(%s); ABI %d has (%s)->(%s)", f->name,
                   params, results, PLUGIN_ABI_VERSION, f->params, f->results);
    return 0;
}

/* Checks one export; sets bit i of *seen for abi_exports[i] and *memory
 * for the memory. */
static const char *nearest_event(const uint8_t *name, uint32_t nlen)
{
    const char *best = NULL;
    unsigned bd = 3;
    for (size_t i = 0; i < sizeof(abi_exports) / sizeof(*abi_exports); i++) {
        unsigned d;
        if (strncmp(abi_exports[i].name, "on_", 3) != 0)
            continue;
        d = distance(name, nlen, abi_exports[i].name);
        if (d < bd) {
            bd = d;
            best = abi_exports[i].name;
        }
    }
    return best;
}

static int check_one_export(struct check *c, struct buf_reader *r,
                            uint32_t *seen, bool *memory)
{
    const uint8_t *name;
    uint32_t nlen, idx;
    uint8_t kind;
    char pname[48];
    if (get_name(r, &name, &nlen) || buf_get_u8(r, &kind) || get_u32(r, &idx))
        return FASTN_ERR_WASM_MALFORMED;
    if (kind == 0x02 && name_is(name, nlen, PLUGIN_MEMORY_EXPORT)) {
        *memory = true;
        return 0;
    }
    size_t n = sizeof(abi_exports) / sizeof(*abi_exports);
    const struct abi_fn *f = find_abi(abi_exports, n, name, nlen);
    if (!f) {
        const char *near = nearest_event(name, nlen);
        if (nlen < 3 || memcmp(name, "on_", 3) != 0)
            return 0;
        printable(name, nlen, pname, sizeof(pname));
        if (near)
            return say(c->err, c->errlen, FASTN_ERR_PLUGIN_EXPORT,
                       "unknown export %s: did you mean %s?", pname, near);
        return say(c->err, c->errlen, FASTN_ERR_PLUGIN_EXPORT,
                   "unknown export %s: ABI %d has no such event (on_start, "
                   "on_stop, on_stream, on_data, on_close, on_open, "
                   "on_writable, on_call, on_timer)",
                   pname, PLUGIN_ABI_VERSION);
    }
    if (kind != 0x00)
        return say(c->err, c->errlen, FASTN_ERR_PLUGIN_ABI,
                   "exports %s, but not as a function", f->name);
    if (*seen & (1u << (f - abi_exports)))
        return FASTN_ERR_WASM_MALFORMED; /* export names are unique */
    *seen |= 1u << (f - abi_exports);
    return check_export_sig(c, f, idx);
}

static bool export_needed(const struct plugin_manifest *m, int need)
{
    switch (need) {
    case PLUGIN_EXPORT_ALWAYS:
        return true;
    case PLUGIN_EXPORT_PROTOCOLS:
        return m->n_protocols > 0 || m->n_listen > 0;
    case PLUGIN_EXPORT_STREAMS:
        return m->caps & (PLUGIN_CAP_STREAMS | PLUGIN_CAP_LOCAL_CONNECT);
    case PLUGIN_EXPORT_TIMERS:
        return m->caps & PLUGIN_CAP_TIMERS;
    default:
        return false;
    }
}

static int check_exports(struct check *c)
{
    struct buf_reader r;
    uint32_t count, seen = 0;
    bool memory = false;
    const struct span *s = &c->mod->sec[SEC_EXPORT];
    buf_reader_init(&r, s->p, s->len);
    if (s->p && (get_u32(&r, &count) || count > s->len))
        return FASTN_ERR_WASM_MALFORMED;
    if (s->p && count > EXPORTS_MAX)
        return say(c->err, c->errlen, FASTN_ERR_PLUGIN_ABI,
                   "%u exports; at most %d are allowed", count, EXPORTS_MAX);
    for (uint32_t i = 0; s->p && i < count; i++) {
        int err = check_one_export(c, &r, &seen, &memory);
        if (err)
            return err;
    }
    if (!memory)
        return say(c->err, c->errlen, FASTN_ERR_PLUGIN_ABI,
                   "does not export its memory as \"memory\"");
    for (size_t i = 0; i < sizeof(abi_exports) / sizeof(*abi_exports); i++) {
        if (!(seen & (1u << i)) && export_needed(c->m, abi_exports[i].need))
            return say(c->err, c->errlen, FASTN_ERR_PLUGIN_ABI,
                       "does not export %s, which ABI %d needs here",
                       abi_exports[i].name, PLUGIN_ABI_VERSION);
    }
    return 0;
}

int plugin_wasm_check_interface(const uint8_t *wasm, size_t len,
                                const struct plugin_manifest *m, char *err,
                                size_t errlen)
{
    struct module mod;
    struct check c = {&mod, m, err, errlen, 0};
    if (err && errlen)
        err[0] = '\0';
    if (!wasm || !m)
        return FASTN_ERR_INVAL;
    memset(&mod, 0, sizeof(mod));
    int rc = walk_sections(wasm, len, collect_fn, &mod);
    if (!rc)
        rc = index_types(&mod);
    if (!rc)
        rc = check_imports(&c);
    if (!rc)
        rc = check_exports(&c);
    if (rc == FASTN_ERR_WASM_MALFORMED)
        say(err, errlen, rc,
            "the module's type, import, function or export "
            "section is malformed");
    return rc;
}
