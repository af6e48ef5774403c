/*
 * fastn-wasm: runs a WebAssembly module on fastn's engine.
 *
 *   fastn-wasm [OPTIONS] FILE.wasm [ARGS...]          run a wasi command
 *   fastn-wasm [OPTIONS] FILE.wasm --invoke NAME [ARGS...]
 *
 * A wasi command gets the same minimal wasi_snapshot_preview1 subset as
 * plugins (src/wasm/wasi.h). --invoke calls an export and prints its
 * results, one per line. A trap prints its kind and a short backtrace
 * (functions by their names in the name section, byte offsets in the
 * module) and exits with 134.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "wasm/wasi.h"
#include "wasm/wasm.h"

#define EXIT_USAGE 2
#define EXIT_TRAP 134

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fastn-wasm [OPTIONS] FILE.wasm [ARGS...]\n"
            "       fastn-wasm [OPTIONS] FILE.wasm --invoke NAME [ARGS...]\n"
            "\n"
            "Runs a wasm32-wasi command's _start (with a minimal\n"
            "wasi_snapshot_preview1: fd_write to stdout/stderr, args,\n"
            "clock_time_get, random_get, proc_exit; no files, no sockets),\n"
            "or with --invoke calls the export NAME with ARGS (parsed by\n"
            "its parameter types) and prints its results, one per line.\n"
            "\n"
            "options:\n"
            "  --fuel N              meter execution: stop with the trap\n"
            "                        'out of fuel' after N units (one per\n"
            "                        instruction, bulk memory and table\n"
            "                        operations, growth and wasi calls by\n"
            "                        size: about 1 ns of work a unit)\n"
            "  --no-fuel             run unmetered (the default when --fuel\n"
            "                        is not given; for comparisons)\n"
            "  --max-memory-pages N  cap linear memory at N 64 KiB pages\n"
            "                        (default 65536, i.e. 4 GiB)\n"
            "  --max-memory-bytes N  the instance's memory budget: memory,\n"
            "                        tables, globals and the engine's own\n"
            "                        allocations (default: the page cap\n"
            "                        plus 16 MiB)\n"
            "  --max-call-depth N    cap nested calls (default 20000)\n"
            "  -h, --help            this help\n"
            "\n"
            "exit status: the program's (proc_exit, or 0), 134 on a trap,\n"
            "2 on bad usage or a module that cannot be loaded.\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static int parse_arg(char type, const char *s, union fastn_wasm_value *v)
{
    char *end;
    errno = 0;
    v->u64 = 0;
    switch (type) {
    case 'i': {
        long long x = strtoll(s, &end, 0);
        if (x < INT32_MIN || x > UINT32_MAX)
            return -1;
        v->u32 = (uint32_t)x;
        break;
    }
    case 'I':
        if (s[0] == '-')
            v->i64 = strtoll(s, &end, 0);
        else
            v->u64 = strtoull(s, &end, 0);
        break;
    case 'f':
        v->f32 = strtof(s, &end);
        break;
    case 'F':
        v->f64 = strtod(s, &end);
        break;
    default:
        return -1;
    }
    return (errno || end == s || *end) ? -1 : 0;
}

static void print_value(char type, union fastn_wasm_value v)
{
    switch (type) {
    case 'i':
        printf("%" PRId32 "\n", v.i32);
        break;
    case 'I':
        printf("%" PRId64 "\n", v.i64);
        break;
    case 'f':
        printf("%.9g\n", (double)v.f32);
        break;
    case 'F':
        printf("%.17g\n", v.f64);
        break;
    default:
        printf("%s\n", v.ref ? "ref" : "null");
        break;
    }
}

/* A trap's kind, then where: each frame's function (from the name
 * section, else func[N]) and byte offset in the module, innermost first. */
static int report(int rc, const struct fastn_wasm_instance *inst,
                  struct fastn_wasm_wasi *w)
{
    struct fastn_wasm_frame f[8];
    uint32_t depth = 0;
    size_t n;

    if (rc == FASTN_ERR_WASM_EXIT) {
        fflush(stdout);
        return w->exit_code;
    }
    if (rc == 0)
        return 0;
    fflush(stdout);
    fprintf(stderr, "fastn-wasm: %s (%s)\n", fastn_strerror(rc),
            fastn_err_name(rc));
    n = inst ? fastn_wasm_trace(inst, f, 8, &depth) : 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i].name)
            fprintf(stderr, "  %zu: %s at 0x%x\n", i, f[i].name,
                    (unsigned)f[i].offset);
        else
            fprintf(stderr, "  %zu: func[%u] at 0x%x\n", i, (unsigned)f[i].func,
                    (unsigned)f[i].offset);
    }
    if (depth > n)
        fprintf(stderr, "  ... %u more\n", (unsigned)(depth - n));
    return EXIT_TRAP;
}

static int invoke(struct fastn_wasm_instance *inst, const char *name, int argc,
                  char **argv, struct fastn_wasm_wasi *w)
{
    char ptypes[1024], rtypes[1024];
    union fastn_wasm_value args[1000], res[1000];
    int rc = fastn_wasm_instance_func_sig(inst, name, ptypes, sizeof(ptypes),
                                          rtypes, sizeof(rtypes));
    if (rc) {
        fprintf(stderr, "fastn-wasm: no exported function '%s'\n", name);
        return EXIT_USAGE;
    }
    size_t np = strlen(ptypes), nr = strlen(rtypes);
    if ((size_t)argc != np) {
        fprintf(stderr, "fastn-wasm: %s takes %zu arguments, %d given\n", name,
                np, argc);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < np; i++) {
        if (parse_arg(ptypes[i], argv[i], &args[i]) != 0) {
            fprintf(stderr, "fastn-wasm: bad argument '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    rc = fastn_wasm_instance_call(inst, name, args, np, res, nr);
    if (rc)
        return report(rc, inst, w);
    for (size_t i = 0; i < nr; i++)
        print_value(rtypes[i], res[i]);
    return 0;
}

struct opts {
    bool metered;
    struct fastn_wasm_limits lim;
    const char *file, *invoke;
    int argc;
    char **argv;
};

/* Parses argv into o; returns -1 after printing a usage error, 1 for
 * --help. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    int i = 1;
    fastn_wasm_limits_default(&o->lim);
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        uint64_t v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return 1;
        if (strcmp(a, "--no-fuel") == 0) {
            o->metered = false;
            continue;
        }
        if (i + 1 >= argc || parse_u64(argv[i + 1], &v) != 0) {
            fprintf(stderr, "fastn-wasm: %s needs a number\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--fuel") == 0) {
            o->metered = true;
            o->lim.fuel = v;
        } else if (strcmp(a, "--max-memory-pages") == 0 && v <= 65536) {
            o->lim.max_memory_pages = (uint32_t)v;
        } else if (strcmp(a, "--max-memory-bytes") == 0 && v > 0) {
            o->lim.max_memory_bytes = v;
        } else if (strcmp(a, "--max-call-depth") == 0 && v > 0 &&
                   v <= 1000000) {
            o->lim.max_call_depth = (uint32_t)v;
        } else {
            fprintf(stderr, "fastn-wasm: bad option %s %s\n", a, argv[i]);
            return -1;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return -1;
    }
    o->file = argv[i++];
    if (i < argc && strcmp(argv[i], "--invoke") == 0) {
        if (i + 1 >= argc) {
            fprintf(stderr, "fastn-wasm: --invoke needs a NAME\n");
            return -1;
        }
        o->invoke = argv[i + 1];
        i += 2;
    }
    o->argc = argc - i;
    o->argv = argv + i;
    return 0;
}

static int run(struct opts *o, struct fastn_wasm_module *mod)
{
    struct fastn_wasm_error err;
    struct fastn_wasm_instance *inst = NULL;
    char *wargv[1024];
    struct fastn_wasm_wasi w = {0};
    if (o->argc + 1 > 1024)
        return EXIT_USAGE;
    wargv[0] = (char *)o->file;
    for (int k = 0; k < o->argc; k++)
        wargv[k + 1] = o->argv[k];
    w.argc = o->argc + 1;
    w.argv = wargv;
    struct fastn_wasm_imports *imps = fastn_wasm_imports_new();
    int rc = imps ? fastn_wasm_wasi_add(imps, mod, &w) : FASTN_ERR_NOMEM;
    if (rc == 0)
        rc = fastn_wasm_instance_new(mod, imps, &o->lim, &inst, &err);
    fastn_wasm_imports_free(imps);
    if (rc) {
        fprintf(stderr, "fastn-wasm: %s: %s\n", o->file,
                inst || rc == FASTN_ERR_NOMEM ? fastn_strerror(rc)
                                              : err.message);
        return EXIT_USAGE;
    }
    rc = fastn_wasm_instance_init(inst);
    if (rc == 0 && o->invoke)
        rc = invoke(inst, o->invoke, o->argc, o->argv, &w);
    else if (rc == 0)
        rc = report(fastn_wasm_instance_call(inst, "_start", NULL, 0, NULL, 0),
                    inst, &w);
    else
        rc = report(rc, inst, &w);
    fastn_wasm_instance_free(inst);
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    int rc = parse_opts(argc, argv, &o);
    if (rc) {
        if (rc > 0)
            usage(stdout);
        return rc > 0 ? 0 : EXIT_USAGE;
    }
    size_t len;
    uint8_t *bytes = NULL;
    /* modules are at most 1 GiB; the loader bounds everything inside */
    rc = file_read_all(o.file, (size_t)1 << 30, &bytes, &len);
    if (rc) {
        fprintf(stderr, "fastn-wasm: cannot read %s: %s\n", o.file,
                rc == FASTN_ERR_IO ? strerror(errno) : fastn_strerror(rc));
        return EXIT_USAGE;
    }
    struct fastn_wasm_module *mod = NULL;
    struct fastn_wasm_error err;
    rc = fastn_wasm_module_load(
        bytes, len, o.metered ? 0 : FASTN_WASM_LOAD_NO_FUEL, &mod, &err);
    free(bytes);
    if (rc) {
        fprintf(stderr, "fastn-wasm: %s: %s at byte %zu (%s)\n", o.file,
                err.message, err.offset, fastn_err_name(rc));
        return EXIT_USAGE;
    }
    rc = run(&o, mod);
    fastn_wasm_module_free(mod);
    fflush(stdout);
    return rc;
}
