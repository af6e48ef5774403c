/*
 * The minimal wasi_snapshot_preview1 subset that fastn gives wasm
 * programs (fastn-wasm commands and plugins alike): fd_write to stdout and
 * stderr, args, environ (empty), clock_time_get, random_get, proc_exit.
 * Every other wasi function the module imports answers EBADF (fd_* calls)
 * or ENOSYS: no files, no sockets.
 *
 * Output, clock and randomness go through callbacks so that an embedder
 * (the plugin host) decides where they go; NULL callbacks use stdout /
 * stderr, clock_gettime and getrandom.
 */
#ifndef FASTN_WASM_WASI_H
#define FASTN_WASM_WASI_H

#include "wasm/wasm.h"

struct fastn_wasm_wasi {
    int argc;
    char **argv; /* borrowed; must outlive the instance's calls */
    /* fd is 1 or 2; returns 0 or an errno value */
    int (*write)(void *user, int fd, const uint8_t *p, size_t n);
    /* clock id as in WASI (0 realtime, 1 monotonic); returns 0 or errno */
    int (*clock)(void *user, uint32_t id, uint64_t *ns);
    int (*random)(void *user, uint8_t *p, size_t n);
    void *user;
    int exit_code; /* set by proc_exit */
};

/* Offers wasi_snapshot_preview1 to mod's imports: the functions above,
 * and a stub for every other wasi function mod imports. w must outlive
 * the instance. Errors: FASTN_ERR_NOMEM. */
int fastn_wasm_wasi_add(struct fastn_wasm_imports *imps,
                        const struct fastn_wasm_module *mod,
                        struct fastn_wasm_wasi *w);

#endif
