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

/* A command's option that takes a value: -x VALUE (alias --long). */
struct cli_opt {
    const char *name;
    const char *alias; /* may be NULL */
    const char **value;
};

/* Parses a command's arguments (argv[0] is the command): --json, --help,
 * the options in opts (NULL-terminated, may be NULL), and up to max_pos
 * positional arguments into pos (after "--" everything is positional).
 * Returns 0 or CLI_EXIT_USAGE after printing why. */
int cli_parse(struct cli *cli, int argc, char **argv,
              const struct cli_opt *opts, char **pos, int max_pos, int *n_pos);
/* Prints "fastn CMD: WHAT; see fastn CMD --help"; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *what);
/* A PEER argument: a PeerID as is, or a multiaddr with /p2p/ (connected
 * to first). Returns 0 or CLI_EXIT_FAIL after printing why. */
int cli_resolve_peer(struct cli *cli, struct fastn_client *c, const char *arg,
                     char peer[FASTN_PEER_ID_MAX]);

/* Commands in their own files (net.c, stream.c). */
int cli_cmd_connect(struct cli *cli, int argc, char **argv);
int cli_cmd_disconnect(struct cli *cli, int argc, char **argv);
int cli_cmd_ping(struct cli *cli, int argc, char **argv);
int cli_cmd_call(struct cli *cli, int argc, char **argv);
int cli_cmd_listen(struct cli *cli, int argc, char **argv);
/* Commands in their own files (plugin.c, notify.c, chat.c). */
int cli_cmd_plugin(struct cli *cli, int argc, char **argv);
int cli_cmd_notifications(struct cli *cli, int argc, char **argv);
int cli_cmd_chat(struct cli *cli, int argc, char **argv);
extern const char cli_plugin_usage[], cli_notify_usage[], cli_chat_usage[];
/* Prints a plugin call's answer: as bytes, exact, into a pipe or file;
 * escaped (util/term.h) when lines is set (text for people, as chat's)
 * or stdout is a terminal, with a newline added when it has none; or
 * {"result": "..."} with --json. */
int cli_plugin_print_result(struct cli *cli, const uint8_t *p, size_t n,
                            bool lines);
/* forward.c, perf.c: port forwarding and throughput (with their usage
 * texts, listed in commands.c). */
int cli_cmd_forward(struct cli *cli, int argc, char **argv);
int cli_cmd_expose(struct cli *cli, int argc, char **argv);
int cli_cmd_perf(struct cli *cli, int argc, char **argv);
extern const char cli_forward_usage[], cli_expose_usage[], cli_perf_usage[];

/* JSON output helpers: a string with escapes, and a list of strings. */
void json_string(FILE *f, const char *s);
void json_string_list(FILE *f, char *const *v, size_t n);

#endif
