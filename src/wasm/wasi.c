/*
 * wasi_snapshot_preview1, the minimal subset (see wasi.h). Every guest
 * pointer is checked through fastn_wasm_memory_read/write/span: a bad one
 * gets EFAULT, never a host fault.
 *
 * Each function charges the caller's fuel for its work before doing it
 * (fastn_wasm_fuel_charge): a base for the call, the bytes it copies or
 * produces, and a system call's price for each one the default
 * callbacks make (output, randomness, a CPU-time clock), whether or not
 * the embedder replaced them. When the fuel left is short, the function
 * does nothing and the run stops before the call, resumable. Prices are
 * in units of about 1 ns (docs/BENCHMARKS.md, "Fuel prices").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "wasm/wasi.h"
#include "wasm/wasm_int.h"

/* WASI errno values (wasi_snapshot_preview1 `errno`). */
enum {
    WASI_ESUCCESS = 0,
    WASI_EBADF = 8,
    WASI_EFAULT = 21,
    WASI_EINVAL = 28,
    WASI_EIO = 29,
    WASI_ENOSYS = 52,
};

#define WASI_MAX_IOVS 1024

/* Fuel prices (see the top of the file). */
#define WASI_CALL_FUEL 20       /* any wasi function */
#define WASI_SYSCALL_FUEL 1500  /* one system call (write, getrandom) */
#define WASI_CLOCK_FUEL 50      /* realtime and monotonic clocks (vDSO) */
#define WASI_RANDOM_BYTE_FUEL 2 /* getrandom, per byte */

static int ret(union fastn_wasm_value *results, int32_t e)
{
    results[0].i32 = e;
    return 0;
}

static int put_u32(struct fastn_wasm_instance *inst, uint32_t addr, uint32_t v)
{
    return fastn_wasm_memory_write(inst, addr, &v, 4);
}

static int default_write(void *user, int fd, const uint8_t *p, size_t n)
{
    (void)user;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return WASI_EIO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads fd_write's n iovs into iov (pairs of address, length) and checks
 * each is inside memory; *total gets their total length. */
static int read_iovs(struct fastn_wasm_instance *inst, uint32_t iovs,
                     uint32_t n, uint32_t (*iov)[2], uint64_t *total)
{
    *total = 0;
    if (fastn_wasm_memory_read(inst, iovs, iov, 8ull * n))
        return WASI_EFAULT;
    for (uint32_t i = 0; i < n; i++) {
        if (!fastn_wasm_memory_span(inst, iov[i][0], iov[i][1]))
            return WASI_EFAULT;
        *total += iov[i][1];
    }
    return 0;
}

/* fd_write(fd, iovs, iovs_len, nwritten) -> errno. Charged before any
 * byte is written: the call, a system call per iov, the bytes. */
static int wasi_fd_write(struct fastn_wasm_instance *inst, void *user,
                         const union fastn_wasm_value *a,
                         union fastn_wasm_value *results)
{
    struct fastn_wasm_wasi *w = user;
    uint32_t iov[WASI_MAX_IOVS][2]; /* 8 KiB */
    int fd = a[0].i32, e;
    uint32_t n = a[2].u32;
    uint64_t total;
    if (fd != 1 && fd != 2)
        return ret(results, WASI_EBADF);
    if (n > WASI_MAX_IOVS)
        return ret(results, WASI_EINVAL);
    if ((e = read_iovs(inst, a[1].u32, n, iov, &total)) != 0)
        return ret(results, e);
    int rc = fastn_wasm_fuel_charge(inst, WASI_CALL_FUEL +
                                              n * (uint64_t)WASI_SYSCALL_FUEL +
                                              FASTN_WASM_FUEL_COPY(total));
    if (rc)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = fastn_wasm_memory_span(inst, iov[i][0], iov[i][1]);
        if (iov[i][1] == 0)
            continue;
        e = (w->write ? w->write : default_write)(w->user, fd, p, iov[i][1]);
        if (e)
            return ret(results, e);
    }
    if (put_u32(inst, a[3].u32, (uint32_t)total))
        return ret(results, WASI_EFAULT);
    return ret(results, 0);
}

/* args_sizes_get(argc_ptr, buf_size_ptr) -> errno */
static int wasi_args_sizes_get(struct fastn_wasm_instance *inst, void *user,
                               const union fastn_wasm_value *a,
                               union fastn_wasm_value *results)
{
    struct fastn_wasm_wasi *w = user;
    uint32_t size = 0;
    int rc = fastn_wasm_fuel_charge(inst, WASI_CALL_FUEL + (uint64_t)w->argc);
    if (rc)
        return rc;
    for (int i = 0; i < w->argc; i++)
        size += (uint32_t)strlen(w->argv[i]) + 1;
    if (put_u32(inst, a[0].u32, (uint32_t)w->argc) ||
        put_u32(inst, a[1].u32, size))
        return ret(results, WASI_EFAULT);
    return ret(results, 0);
}

/* args_get(argv_ptr, buf_ptr) -> errno */
static int wasi_args_get(struct fastn_wasm_instance *inst, void *user,
                         const union fastn_wasm_value *a,
                         union fastn_wasm_value *results)
{
    struct fastn_wasm_wasi *w = user;
    uint64_t ptrs = a[0].u32, buf = a[1].u32, bytes = 0;
    for (int i = 0; i < w->argc; i++)
        bytes += strlen(w->argv[i]) + 1 + 4;
    int rc = fastn_wasm_fuel_charge(inst, WASI_CALL_FUEL + (uint64_t)w->argc +
                                              FASTN_WASM_FUEL_COPY(bytes));
    if (rc)
        return rc;
    for (int i = 0; i < w->argc; i++) {
        size_t len = strlen(w->argv[i]) + 1;
        if (put_u32(inst, ptrs + 4ull * (uint64_t)i, (uint32_t)buf) ||
            fastn_wasm_memory_write(inst, buf, w->argv[i], len))
            return ret(results, WASI_EFAULT);
        buf += len;
    }
    return ret(results, 0);
}

/* environ_sizes_get(count_ptr, size_ptr): no environment is passed. */
static int wasi_environ_sizes_get(struct fastn_wasm_instance *inst, void *user,
                                  const union fastn_wasm_value *a,
                                  union fastn_wasm_value *results)
{
    (void)user;
    int rc = fastn_wasm_fuel_charge(inst, WASI_CALL_FUEL);
    if (rc)
        return rc;
    if (put_u32(inst, a[0].u32, 0) || put_u32(inst, a[1].u32, 0))
        return ret(results, WASI_EFAULT);
    return ret(results, 0);
}

static int wasi_environ_get(struct fastn_wasm_instance *inst, void *user,
                            const union fastn_wasm_value *a,
                            union fastn_wasm_value *results)
{
    (void)user, (void)a;
    int rc = fastn_wasm_fuel_charge(inst, WASI_CALL_FUEL);
    return rc ? rc : ret(results, 0);
}

/* clock_time_get(id, precision, time_ptr) -> errno */
static int wasi_clock_time_get(struct fastn_wasm_instance *inst, void *user,
                               const union fastn_wasm_value *a,
                               union fastn_wasm_value *results)
{
    struct fastn_wasm_wasi *w = user;
    uint32_t id = a[0].u32;
    uint64_t ns = 0;
    /* realtime and monotonic are read without a system call */
    int rc = fastn_wasm_fuel_charge(
        inst, WASI_CALL_FUEL + (id < 2 ? WASI_CLOCK_FUEL : WASI_SYSCALL_FUEL));
    if (rc)
        return rc;
    if (w->clock) {
        int e = w->clock(w->user, id, &ns);
        if (e)
            return ret(results, e);
    } else {
        struct timespec ts;
        clockid_t cid = id == 0   ? CLOCK_REALTIME
                        : id == 1 ? CLOCK_MONOTONIC
                        : id == 2 ? CLOCK_PROCESS_CPUTIME_ID
                        : id == 3 ? CLOCK_THREAD_CPUTIME_ID
                                  : (clockid_t)-1;
        if (cid == (clockid_t)-1 || clock_gettime(cid, &ts) != 0)
            return ret(results, WASI_EINVAL);
        ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    }
    if (fastn_wasm_memory_write(inst, a[2].u32, &ns, 8))
        return ret(results, WASI_EFAULT);
    return ret(results, 0);
}

static int default_random(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = getrandom(p, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return WASI_EIO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* random_get(buf, len) -> errno. Charged by the byte before any is made;
 * the embedder's callback gets the whole request at once (so that a cap
 * it puts on one call holds), written straight into memory. */
static int wasi_random_get(struct fastn_wasm_instance *inst, void *user,
                           const union fastn_wasm_value *a,
                           union fastn_wasm_value *results)
{
    struct fastn_wasm_wasi *w = user;
    uint32_t len = a[1].u32;
    uint8_t *p = fastn_wasm_memory_span(inst, a[0].u32, len);
    if (!p)
        return ret(results, WASI_EFAULT);
    int rc =
        fastn_wasm_fuel_charge(inst, WASI_CALL_FUEL + WASI_SYSCALL_FUEL +
                                         (uint64_t)len * WASI_RANDOM_BYTE_FUEL);
    if (rc)
        return rc;
    if (len == 0)
        return ret(results, 0);
    if (w->random)
        return ret(results, w->random(w->user, p, len) ? WASI_EIO : 0);
    return ret(results, default_random(p, len));
}

/* proc_exit(code): ends the run with FASTN_ERR_WASM_EXIT. */
static int wasi_proc_exit(struct fastn_wasm_instance *inst, void *user,
                          const union fastn_wasm_value *a,
                          union fastn_wasm_value *results)
{
    struct fastn_wasm_wasi *w = user;
    (void)inst, (void)results;
    w->exit_code = a[0].i32;
    return FASTN_ERR_WASM_EXIT;
}

/* Any other wasi function: user encodes the errno and whether there is
 * an i32 result to write it to. */
static int wasi_stub(struct fastn_wasm_instance *inst, void *user,
                     const union fastn_wasm_value *a,
                     union fastn_wasm_value *results)
{
    uintptr_t u = (uintptr_t)user;
    (void)a;
    int rc = fastn_wasm_fuel_charge(inst, WASI_CALL_FUEL);
    if (rc)
        return rc;
    if (u & 0x10000)
        results[0].i32 = (int32_t)(u & 0xffff);
    return 0;
}

static const struct {
    const char *name, *params, *results;
    fastn_wasm_host_fn fn;
} wasi_funcs[] = {
    {"fd_write", "iiii", "i", wasi_fd_write},
    {"args_sizes_get", "ii", "i", wasi_args_sizes_get},
    {"args_get", "ii", "i", wasi_args_get},
    {"environ_sizes_get", "ii", "i", wasi_environ_sizes_get},
    {"environ_get", "ii", "i", wasi_environ_get},
    {"clock_time_get", "iIi", "i", wasi_clock_time_get},
    {"random_get", "ii", "i", wasi_random_get},
    {"proc_exit", "i", "", wasi_proc_exit},
};

#define NFUNCS (sizeof(wasi_funcs) / sizeof(wasi_funcs[0]))

static bool is_wasi(const char *module)
{
    return wasm_name_len(module) == 22 &&
           memcmp(module, "wasi_snapshot_preview1", 22) == 0;
}

/* A stub with the import's own signature. */
static int add_stub(struct fastn_wasm_imports *imps,
                    const struct fastn_wasm_module *mod,
                    const struct wasm_import *im)
{
    static const char letters[256] = {
        [T_I32] = 'i', [T_I64] = 'I',     [T_F32] = 'f',
        [T_F64] = 'F', [T_FUNCREF] = 'r', [T_EXTERNREF] = 'e'};
    const struct wasm_functype *t = &mod->types[im->index];
    char p[WASM_MAX_PARAMS + 1], r[WASM_MAX_PARAMS + 1];
    for (uint32_t i = 0; i < t->nparams; i++)
        p[i] = letters[t->types[i]];
    p[t->nparams] = '\0';
    for (uint32_t i = 0; i < t->nresults; i++)
        r[i] = letters[t->types[t->nparams + i]];
    r[t->nresults] = '\0';
    bool fd_call = strncmp(im->name, "fd_", 3) == 0;
    uintptr_t u = fd_call ? WASI_EBADF : WASI_ENOSYS;
    if (t->nresults == 1 && t->types[t->nparams] == T_I32)
        u |= 0x10000;
    return fastn_wasm_imports_add_func(imps, "wasi_snapshot_preview1", im->name,
                                       p, r, wasi_stub, (void *)u);
}

int fastn_wasm_wasi_add(struct fastn_wasm_imports *imps,
                        const struct fastn_wasm_module *mod,
                        struct fastn_wasm_wasi *w)
{
    for (uint32_t i = 0; i < mod->nimports; i++) {
        const struct wasm_import *im = &mod->imports[i];
        if (im->kind != EXT_FUNC || !is_wasi(im->module) ||
            strlen(im->name) != wasm_name_len(im->name))
            continue;
        size_t k = 0;
        while (k < NFUNCS && strcmp(wasi_funcs[k].name, im->name) != 0)
            k++;
        int rc = k < NFUNCS ? fastn_wasm_imports_add_func(
                                  imps, "wasi_snapshot_preview1", im->name,
                                  wasi_funcs[k].params, wasi_funcs[k].results,
                                  wasi_funcs[k].fn, w)
                            : add_stub(imps, mod, im);
        if (rc)
            return rc;
    }
    return 0;
}
