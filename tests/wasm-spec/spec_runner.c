/*
 * Runs one WebAssembly spec-test script, as converted by wabt's wast2json
 * (a JSON list of commands beside the .wasm files it names), against the
 * engine in src/wasm. Prints one line:
 *   NAME: N passed, M failed[, K skipped (reason)]
 * and, with -v, a line per failing command. Exit 0 when nothing failed.
 *
 * Every command kind is executed: module, register, action,
 * assert_return (nan:canonical / nan:arithmetic included), assert_trap,
 * assert_exhaustion, assert_invalid, assert_malformed, assert_unlinkable,
 * assert_uninstantiable. Modules in the text format (assert_malformed /
 * assert_invalid of `module quote`) test the text parser, which an engine
 * of binaries does not have: they are counted as skipped.
 * Usage: spec_runner [-v] [-p] FILE.json (-p: compile without
 * superinstructions)
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/wasm_int.h"

/* The spectest module's globals, table and memory (from wat2wasm). */
static const uint8_t spectest_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x04, 0x05, 0x01, 0x70,
    0x01, 0x0a, 0x14, 0x05, 0x04, 0x01, 0x01, 0x01, 0x02, 0x06, 0x21, 0x04,
    0x7f, 0x00, 0x41, 0x9a, 0x05, 0x0b, 0x7e, 0x00, 0x42, 0x9a, 0x05, 0x0b,
    0x7d, 0x00, 0x43, 0x66, 0xa6, 0x26, 0x44, 0x0b, 0x7c, 0x00, 0x44, 0xcd,
    0xcc, 0xcc, 0xcc, 0xcc, 0xd4, 0x84, 0x40, 0x0b, 0x07, 0x46, 0x06, 0x0a,
    0x67, 0x6c, 0x6f, 0x62, 0x61, 0x6c, 0x5f, 0x69, 0x33, 0x32, 0x03, 0x00,
    0x0a, 0x67, 0x6c, 0x6f, 0x62, 0x61, 0x6c, 0x5f, 0x69, 0x36, 0x34, 0x03,
    0x01, 0x0a, 0x67, 0x6c, 0x6f, 0x62, 0x61, 0x6c, 0x5f, 0x66, 0x33, 0x32,
    0x03, 0x02, 0x0a, 0x67, 0x6c, 0x6f, 0x62, 0x61, 0x6c, 0x5f, 0x66, 0x36,
    0x34, 0x03, 0x03, 0x05, 0x74, 0x61, 0x62, 0x6c, 0x65, 0x01, 0x00, 0x06,
    0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00};

#define MAX_VALS 64

struct named {
    char *name;
    struct fastn_wasm_instance *inst;
};

struct runner {
    const char *dir;
    bool verbose;
    unsigned flags; /* module load flags */
    int passed, failed, skipped;
    struct fastn_wasm_module **mods;
    struct fastn_wasm_instance **insts; /* everything, freed at the end */
    size_t nmods, ninsts;
    struct named *names, *regs;
    size_t nnames, nregs;
    struct fastn_wasm_instance *current;
    int line;
};

static int host_print(struct fastn_wasm_instance *caller, void *user,
                      const union fastn_wasm_value *args,
                      union fastn_wasm_value *results)
{
    (void)caller, (void)user, (void)args, (void)results;
    return 0;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return q;
}

static void keep_inst(struct runner *r, struct fastn_wasm_instance *inst)
{
    r->insts = xrealloc(r->insts, (r->ninsts + 1) * sizeof(*r->insts));
    r->insts[r->ninsts++] = inst;
}

static void keep_mod(struct runner *r, struct fastn_wasm_module *m)
{
    r->mods = xrealloc(r->mods, (r->nmods + 1) * sizeof(*r->mods));
    r->mods[r->nmods++] = m;
}

static void add_named(struct named **v, size_t *n, const char *name,
                      struct fastn_wasm_instance *inst)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[*n].name = strdup(name);
    (*v)[(*n)++].inst = inst;
}

static struct fastn_wasm_instance *find_named(struct runner *r,
                                              const char *name)
{
    if (!name)
        return r->current;
    for (size_t i = r->nnames; i > 0; i--)
        if (strcmp(r->names[i - 1].name, name) == 0)
            return r->names[i - 1].inst;
    return NULL;
}

static struct fastn_wasm_imports *make_imports(struct runner *r)
{
    static const char *const prints[][2] = {
        {"print", ""},           {"print_i32", "i"}, {"print_i64", "I"},
        {"print_f32", "f"},      {"print_f64", "F"}, {"print_i32_f32", "if"},
        {"print_f64_f64", "FF"},
    };
    struct fastn_wasm_imports *imps = fastn_wasm_imports_new();
    for (size_t i = 0; i < sizeof(prints) / sizeof(prints[0]); i++)
        fastn_wasm_imports_add_func(imps, "spectest", prints[i][0],
                                    prints[i][1], "", host_print, NULL);
    for (size_t i = 0; i < r->nregs; i++)
        fastn_wasm_imports_add_instance(imps, r->regs[i].name, r->regs[i].inst);
    return imps;
}

static uint8_t *read_file(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void result(struct runner *r, bool ok, const char *what,
                   const char *detail)
{
    if (ok) {
        r->passed++;
        return;
    }
    r->failed++;
    if (r->verbose)
        printf("  line %d: %s failed: %s\n", r->line, what, detail);
}

/* Loads a module file; *rc gets the load error. */
static struct fastn_wasm_module *load(struct runner *r, const char *file,
                                      int *rc, struct fastn_wasm_error *err)
{
    size_t len;
    struct fastn_wasm_module *m = NULL;
    uint8_t *bytes = read_file(r->dir, file, &len);
    if (!bytes) {
        *rc = FASTN_ERR_IO;
        snprintf(err->message, sizeof(err->message), "cannot read %s", file);
        return NULL;
    }
    *rc = fastn_wasm_module_load(bytes, len, r->flags, &m, err);
    free(bytes);
    if (m)
        keep_mod(r, m);
    return m;
}

/* Links and allocates; *rc gets the error. */
static struct fastn_wasm_instance *link_mod(struct runner *r,
                                            struct fastn_wasm_module *m,
                                            int *rc,
                                            struct fastn_wasm_error *err)
{
    struct fastn_wasm_imports *imps = make_imports(r);
    struct fastn_wasm_instance *inst = NULL;
    struct fastn_wasm_limits lim;
    fastn_wasm_limits_default(&lim);
    lim.max_call_depth = 10000;
    *rc = fastn_wasm_instance_new(m, imps, &lim, &inst, err);
    fastn_wasm_imports_free(imps);
    if (inst)
        keep_inst(r, inst);
    return inst;
}

static void cmd_module(struct runner *r, json_t *c)
{
    struct fastn_wasm_error err;
    int rc;
    char msg[300];
    const char *file = json_string_value(json_object_get(c, "filename"));
    const char *name = json_string_value(json_object_get(c, "name"));
    r->current = NULL;
    struct fastn_wasm_module *m = load(r, file, &rc, &err);
    struct fastn_wasm_instance *inst = m ? link_mod(r, m, &rc, &err) : NULL;
    if (inst)
        rc = fastn_wasm_instance_init(inst);
    if (rc) {
        snprintf(msg, sizeof(msg), "%s: %s (at %zu)", fastn_err_name(rc),
                 err.message, err.offset);
        result(r, false, "module", msg);
        return;
    }
    r->current = inst;
    if (name)
        add_named(&r->names, &r->nnames, name, inst);
}

static uint64_t parse_u64(const char *s)
{
    return strtoull(s, NULL, 10);
}

static int parse_value(json_t *v, union fastn_wasm_value *out)
{
    const char *type = json_string_value(json_object_get(v, "type"));
    const char *val = json_string_value(json_object_get(v, "value"));
    if (!type || !val)
        return -1;
    out->u64 = 0;
    if (strcmp(type, "i32") == 0 || strcmp(type, "f32") == 0)
        out->u32 = (uint32_t)parse_u64(val);
    else if (strcmp(type, "i64") == 0 || strcmp(type, "f64") == 0)
        out->u64 = parse_u64(val);
    else if (strcmp(type, "externref") == 0)
        out->ref = strcmp(val, "null") == 0
                       ? NULL
                       : (void *)(uintptr_t)(parse_u64(val) + 1);
    else if (strcmp(type, "funcref") == 0 && strcmp(val, "null") == 0)
        out->ref = NULL;
    else
        return -1;
    return 0;
}

/* Performs an invoke or get action with nres results; nres == SIZE_MAX
 * takes the function's own result count. */
static int do_action(struct runner *r, json_t *a, union fastn_wasm_value *res,
                     size_t nres)
{
    const char *type = json_string_value(json_object_get(a, "type"));
    struct fastn_wasm_instance *inst =
        find_named(r, json_string_value(json_object_get(a, "module")));
    json_t *field = json_object_get(a, "field");
    if (!inst || !field || !type)
        return FASTN_ERR_NOT_FOUND;
    const char *name = json_string_value(field);
    size_t len = json_string_length(field);
    if (strcmp(type, "get") == 0) {
        const struct wasm_export *e = wasm_find_export(inst->mod, name, len);
        if (!e || e->kind != EXT_GLOBAL || nres != 1)
            return FASTN_ERR_NOT_FOUND;
        res[0] = inst->globals[e->index]->v;
        return 0;
    }
    union fastn_wasm_value args[MAX_VALS];
    json_t *jargs = json_object_get(a, "args");
    size_t nargs = json_array_size(jargs);
    if (nargs > MAX_VALS)
        return FASTN_ERR_INVAL;
    for (size_t i = 0; i < nargs; i++)
        if (parse_value(json_array_get(jargs, i), &args[i]) != 0)
            return FASTN_ERR_UNSUPPORTED;
    if (nres == SIZE_MAX) {
        const struct wasm_export *e = wasm_find_export(inst->mod, name, len);
        if (!e || e->kind != EXT_FUNC)
            return FASTN_ERR_NOT_FOUND;
        nres = inst->funcs[e->index]->type->nresults;
        if (nres > MAX_VALS)
            return FASTN_ERR_INVAL;
    }
    return wasm_call_export(inst, name, len, args, nargs, res, nres);
}

static bool nan_match(const char *val, uint64_t bits, bool f64)
{
    uint64_t expo = f64 ? 0x7ff0000000000000ull : 0x7f800000u;
    uint64_t quiet = f64 ? 0x0008000000000000ull : 0x00400000u;
    uint64_t mag = f64 ? 0x7fffffffffffffffull : 0x7fffffffu;
    if (strcmp(val, "nan:canonical") == 0)
        return (bits & mag) == (expo | quiet);
    return (bits & (expo | quiet)) == (expo | quiet);
}

static bool value_match(json_t *e, union fastn_wasm_value got)
{
    const char *type = json_string_value(json_object_get(e, "type"));
    const char *val = json_string_value(json_object_get(e, "value"));
    if (!type)
        return false;
    if (strcmp(type, "funcref") == 0)
        return (!val || strcmp(val, "null") != 0) ? got.ref != NULL
                                                  : got.ref == NULL;
    if (!val)
        return false;
    if (strncmp(val, "nan:", 4) == 0)
        return nan_match(val, strcmp(type, "f64") == 0 ? got.u64 : got.u32,
                         strcmp(type, "f64") == 0);
    union fastn_wasm_value want;
    if (parse_value(e, &want) != 0)
        return false;
    if (strcmp(type, "i32") == 0 || strcmp(type, "f32") == 0)
        return want.u32 == got.u32;
    if (strcmp(type, "externref") == 0)
        return want.ref == got.ref;
    return want.u64 == got.u64;
}

static void cmd_return(struct runner *r, json_t *c, const char *what)
{
    union fastn_wasm_value res[MAX_VALS];
    json_t *exp = json_object_get(c, "expected");
    size_t n = json_array_size(exp);
    char msg[300];
    if (n > MAX_VALS) {
        result(r, false, what, "too many results");
        return;
    }
    int rc = do_action(r, json_object_get(c, "action"), res, n);
    if (rc) {
        snprintf(msg, sizeof(msg), "%s", fastn_err_name(rc));
        result(r, false, what, msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!value_match(json_array_get(exp, i), res[i])) {
            snprintf(msg, sizeof(msg), "result %zu is 0x%llx", i,
                     (unsigned long long)res[i].u64);
            result(r, false, what, msg);
            return;
        }
    }
    result(r, true, what, NULL);
}

/* The trap a spec message names. */
static int trap_of(const char *text)
{
    static const struct {
        const char *text;
        int code;
    } map[] = {
        {"unreachable", FASTN_ERR_WASM_TRAP_UNREACHABLE},
        {"out of bounds memory access", FASTN_ERR_WASM_TRAP_MEMORY_OOB},
        {"out of bounds table access", FASTN_ERR_WASM_TRAP_TABLE_OOB},
        {"undefined element", FASTN_ERR_WASM_TRAP_UNDEFINED_ELEMENT},
        {"uninitialized element", FASTN_ERR_WASM_TRAP_UNINITIALIZED_ELEMENT},
        {"indirect call type mismatch", FASTN_ERR_WASM_TRAP_INDIRECT_CALL_TYPE},
        {"integer divide by zero", FASTN_ERR_WASM_TRAP_DIV_ZERO},
        {"integer overflow", FASTN_ERR_WASM_TRAP_INT_OVERFLOW},
        {"invalid conversion to integer",
         FASTN_ERR_WASM_TRAP_INVALID_CONVERSION},
        {"call stack exhausted", FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strncmp(text, map[i].text, strlen(map[i].text)) == 0)
            return map[i].code;
    return 0;
}

static bool trap_matches(int got, const char *text)
{
    int want = trap_of(text ? text : "");
    if (got == want)
        return true;
    /* an index past the table and a null entry are both "undefined" in
     * some of the scripts and "uninitialized" in others */
    return (want == FASTN_ERR_WASM_TRAP_UNDEFINED_ELEMENT ||
            want == FASTN_ERR_WASM_TRAP_UNINITIALIZED_ELEMENT) &&
           (got == FASTN_ERR_WASM_TRAP_UNDEFINED_ELEMENT ||
            got == FASTN_ERR_WASM_TRAP_UNINITIALIZED_ELEMENT);
}

static void cmd_uninstantiable(struct runner *r, json_t *c);

static void cmd_trap(struct runner *r, json_t *c, const char *what)
{
    union fastn_wasm_value res[MAX_VALS];
    const char *text = json_string_value(json_object_get(c, "text"));
    char msg[300];
    if (!json_object_get(c, "action")) {
        cmd_uninstantiable(r, c);
        return;
    }
    int rc = do_action(r, json_object_get(c, "action"), res, SIZE_MAX);
    snprintf(msg, sizeof(msg), "got %s, want \"%s\"", fastn_err_name(rc),
             text ? text : "");
    result(r, trap_matches(rc, text), what, msg);
}

static bool is_text(json_t *c)
{
    const char *t = json_string_value(json_object_get(c, "module_type"));
    return t && strcmp(t, "text") == 0;
}

static void cmd_bad_module(struct runner *r, json_t *c, const char *what)
{
    struct fastn_wasm_error err;
    int rc;
    if (is_text(c)) {
        r->skipped++;
        return;
    }
    struct fastn_wasm_module *m =
        load(r, json_string_value(json_object_get(c, "filename")), &rc, &err);
    char msg[400];
    /* malformed (decoding) and invalid (validation) must not be confused */
    int want = strcmp(what, "assert_invalid") == 0 ? FASTN_ERR_WASM_INVALID
                                                   : FASTN_ERR_WASM_MALFORMED;
    snprintf(msg, sizeof(msg), "got %s (%s), want \"%s\"",
             m ? "success" : fastn_err_name(rc), m ? "" : err.message,
             json_string_value(json_object_get(c, "text")));
    result(r, m == NULL && rc == want, what, msg);
}

static void cmd_unlinkable(struct runner *r, json_t *c)
{
    struct fastn_wasm_error err;
    int rc;
    char msg[300];
    struct fastn_wasm_module *m =
        load(r, json_string_value(json_object_get(c, "filename")), &rc, &err);
    if (m)
        link_mod(r, m, &rc, &err);
    snprintf(msg, sizeof(msg), "got %s (%s)", fastn_err_name(rc), err.message);
    result(r, m && rc == FASTN_ERR_WASM_UNLINKABLE, "assert_unlinkable", msg);
}

static void cmd_uninstantiable(struct runner *r, json_t *c)
{
    struct fastn_wasm_error err;
    int rc;
    char msg[300];
    const char *text = json_string_value(json_object_get(c, "text"));
    struct fastn_wasm_module *m =
        load(r, json_string_value(json_object_get(c, "filename")), &rc, &err);
    struct fastn_wasm_instance *inst = m ? link_mod(r, m, &rc, &err) : NULL;
    if (inst)
        rc = fastn_wasm_instance_init(inst);
    snprintf(msg, sizeof(msg), "got %s, want \"%s\"", fastn_err_name(rc),
             text ? text : "");
    result(r, inst && trap_matches(rc, text), "assert_uninstantiable", msg);
}

static void cmd_register(struct runner *r, json_t *c)
{
    const char *as = json_string_value(json_object_get(c, "as"));
    struct fastn_wasm_instance *inst =
        find_named(r, json_string_value(json_object_get(c, "name")));
    if (!inst || !as) {
        result(r, false, "register", "no such module");
        return;
    }
    add_named(&r->regs, &r->nregs, as, inst);
}

static void command(struct runner *r, json_t *c)
{
    const char *type = json_string_value(json_object_get(c, "type"));
    r->line = (int)json_integer_value(json_object_get(c, "line"));
    if (!type)
        return;
    if (strcmp(type, "module") == 0)
        cmd_module(r, c);
    else if (strcmp(type, "register") == 0)
        cmd_register(r, c);
    else if (strcmp(type, "assert_return") == 0)
        cmd_return(r, c, "assert_return");
    else if (strcmp(type, "action") == 0)
        cmd_return(r, c, "action");
    else if (strcmp(type, "assert_trap") == 0)
        cmd_trap(r, c, "assert_trap");
    else if (strcmp(type, "assert_exhaustion") == 0)
        cmd_trap(r, c, "assert_exhaustion");
    else if (strcmp(type, "assert_invalid") == 0)
        cmd_bad_module(r, c, "assert_invalid");
    else if (strcmp(type, "assert_malformed") == 0)
        cmd_bad_module(r, c, "assert_malformed");
    else if (strcmp(type, "assert_unlinkable") == 0)
        cmd_unlinkable(r, c);
    else if (strcmp(type, "assert_uninstantiable") == 0)
        cmd_uninstantiable(r, c);
    else
        result(r, false, type, "unknown command");
}

static void setup_spectest(struct runner *r)
{
    struct fastn_wasm_module *m = NULL;
    struct fastn_wasm_instance *inst = NULL;
    if (fastn_wasm_module_load(spectest_wasm, sizeof(spectest_wasm), 0, &m,
                               NULL) != 0 ||
        fastn_wasm_instance_new(m, NULL, NULL, &inst, NULL) != 0 ||
        fastn_wasm_instance_init(inst) != 0) {
        fprintf(stderr, "spectest module failed\n");
        exit(2);
    }
    keep_mod(r, m);
    keep_inst(r, inst);
    add_named(&r->regs, &r->nregs, "spectest", inst);
}

static void cleanup(struct runner *r)
{
    /* importers first: instances in reverse creation order */
    for (size_t i = r->ninsts; i > 0; i--)
        fastn_wasm_instance_free(r->insts[i - 1]);
    for (size_t i = 0; i < r->nmods; i++)
        fastn_wasm_module_free(r->mods[i]);
    for (size_t i = 0; i < r->nnames; i++)
        free(r->names[i].name);
    for (size_t i = 0; i < r->nregs; i++)
        free(r->regs[i].name);
    free(r->insts);
    free(r->mods);
    free(r->names);
    free(r->regs);
}

int main(int argc, char **argv)
{
    struct runner r = {0};
    int ai = 1;
    for (; ai < argc && argv[ai][0] == '-'; ai++) {
        if (strcmp(argv[ai], "-v") == 0)
            r.verbose = true;
        else if (strcmp(argv[ai], "-p") == 0) /* plain code, no fusion */
            r.flags |= WASM_LOAD_NO_FUSE;
    }
    if (ai >= argc) {
        fprintf(stderr, "usage: spec_runner [-v] [-p] FILE.json\n");
        return 2;
    }
    json_error_t jerr;
    json_t *root = json_load_file(argv[ai], JSON_ALLOW_NUL, &jerr);
    if (!root) {
        fprintf(stderr, "%s: %s\n", argv[ai], jerr.text);
        return 2;
    }
    char *dir = strdup(argv[ai]);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    r.dir = slash ? dir : ".";
    const char *src =
        json_string_value(json_object_get(root, "source_filename"));
    setup_spectest(&r);
    json_t *cmds = json_object_get(root, "commands");
    for (size_t i = 0; i < json_array_size(cmds); i++)
        command(&r, json_array_get(cmds, i));
    const char *base = src ? strrchr(src, '/') : NULL;
    printf("%s: %d passed, %d failed",
           base  ? base + 1
           : src ? src
                 : argv[ai],
           r.passed, r.failed);
    if (r.skipped)
        printf(", %d skipped (text-format modules)", r.skipped);
    printf("\n");
    cleanup(&r);
    json_decref(root);
    free(dir);
    return r.failed ? 1 : 0;
}
