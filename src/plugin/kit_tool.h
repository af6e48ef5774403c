/*
 * fastn-plugin-kit: the program behind `fastn plugin run` and `fastn
 * plugin new` (installed in PREFIX/lib/fastn; fastn execs it, so the
 * CLI itself does not carry the plugin host, the engine and SQLite).
 */
#ifndef FASTN_PLUGIN_KIT_TOOL_H
#define FASTN_PLUGIN_KIT_TOOL_H

#include <stddef.h>

/* A template file (plugins/templates/, embedded at build time). */
struct kit_file {
    const char *path; /* TEMPLATE/FILE or common/FILE */
    const unsigned char *data;
    size_t len;
};
extern const struct kit_file kit_files[];
extern const size_t kit_n_files;

#define KIT_EXIT_FAIL 1
#define KIT_EXIT_USAGE 2

/* `fastn plugin run FILE.wasm ...` and `fastn plugin new NAME ...`, with
 * argv[0] the subcommand. Return the exit code. */
int kit_run_main(int argc, char **argv);
int kit_new_main(int argc, char **argv);
/* Prints "fastn: " and the message to stderr; returns code. */
int kit_error(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
