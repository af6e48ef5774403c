/* The fastn CLI: shared state of one invocation, commands and JSON output.
 * The CLI uses only libfastn (include/fastn/client.h). */
#ifndef FASTN_CLI_H
#define FASTN_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "fastn/client.h"

/* Exit codes: 0 success, 1 the request failed, 2 bad usage. */
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

struct cli {
    struct fastn_connect_options conn;
    bool json;
    bool help;
};

struct cli_command {
    const char *name;
    const char *summary;
    const char *usage; /* the text of `fastn NAME --help` */
    int (*run)(struct cli *cli, int argc, char **argv);
};

extern const struct cli_command cli_commands[];
extern const size_t cli_n_commands;

/* Connects as the options say; on failure prints the one-line error and
 * returns NULL. */
struct fastn_client *cli_connect(struct cli *cli);
/* Prints "fastn: WHAT" for err, with the daemon's message when it sent
 * one, and returns CLI_EXIT_FAIL. */
int cli_fail(struct fastn_client *c, int err);

/* JSON output helpers: a string with escapes, and a list of strings. */
void json_string(FILE *f, const char *s);
void json_string_list(FILE *f, char *const *v, size_t n);

#endif
