/*
 * The encoding of a plugin call's arguments (docs/PLUGIN-ABI.md, "Call
 * arguments"): none is empty bytes, one is its bytes as they are, several
 * are joined with one NUL byte between each. The one encoder, for
 * libfastn (fastn_plugin_args_encode) and the plugin kit.
 */
#ifndef FASTN_UTIL_ARGS_H
#define FASTN_UTIL_ARGS_H

#include <stddef.h>
#include <stdint.h>

/* A call's arguments at most (the host's PLUGIN_CALL_ARG_MAX). */
#define ARGS_MAX ((size_t)1 << 20)

/* argv[0..argc) encoded into *out (malloc'd, free() it; never NULL on
 * success), *out_len bytes. Errors: FASTN_ERR_INVAL (a NULL argument),
 * FASTN_ERR_TOO_LARGE (over ARGS_MAX), FASTN_ERR_NOMEM. */
int args_encode(const char *const *argv, size_t argc, uint8_t **out,
                size_t *out_len);

#endif
