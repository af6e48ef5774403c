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

/* Commands in their own files (plugin.c, notify.c, chat.c). */
int cli_cmd_plugin(struct cli *cli, int argc, char **argv);
int cli_cmd_notifications(struct cli *cli, int argc, char **argv);
int cli_cmd_chat(struct cli *cli, int argc, char **argv);
extern const char cli_plugin_usage[], cli_notify_usage[], cli_chat_usage[];
/* Prints a plugin call's answer: raw (a newline added when it has none
 * and lines is set or stdout is a terminal), or {"result": "..."} with
 * --json. */
int cli_plugin_print_result(struct cli *cli, const uint8_t *p, size_t n,
                            bool lines);

/* JSON output helpers: a string with escapes, and a list of strings. */
void json_string(FILE *f, const char *s);
void json_string_list(FILE *f, char *const *v, size_t n);

#endif
