/* The fastn CLI: shared state of one invocation, commands and output.
 * The CLI talks to the daemon through libfastn (include/fastn/client.h)
 * only; its --json output is built with jansson. */
#ifndef FASTN_CLI_H
#define FASTN_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "fastn/client.h"

/* Exit codes: 0 success, 1 the request failed, 2 bad usage. */
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

struct cli {
    struct fastn_connect_options conn;
    bool autostart;  /* start fastnd when none runs (not --no-autostart) */
    bool no_create;  /* --no-create: never start one on a home without an
                        identity (it would make a new PeerID) */
    bool json;       /* --json: one JSON object (a line per event) */
    bool help;       /* --help: the command's usage, nothing run */
    const char *cmd; /* the command's name, for messages */
};

struct cli_command {
    const char *name;
    const char *summary;
    const char *usage; /* the text of `fastn NAME --help` */
    int (*run)(struct cli *cli, int argc, char **argv);
};

extern const struct cli_command cli_commands[];
extern const size_t cli_n_commands;
const struct cli_command *cli_command_find(const char *name);
/* help.c: fastn's usage (the commands and global options) into f; the
 * usage of name, or fastn's (name NULL), on stdout (--json: {"command",
 * "usage"} or {"commands": [{"name", "summary"}]}); an unknown command,
 * with the nearest suggested (returns CLI_EXIT_USAGE). */
void cli_usage(FILE *f);
int cli_help_for(struct cli *cli, const char *name);
int cli_unknown_command(const char *name);

/* --- output (out.c) ---------------------------------------------------------
 * Text for people goes to stdout (results) and stderr (notes, errors).
 * With --json, stdout carries only JSON: one object per command (one per
 * line for commands that follow events), and an error is the object
 * {"error": {"code": "FASTN_ERR_...", "message": "..."}} with the same
 * non-zero exit code. */

/* Registers the invocation whose output mode the helpers follow. */
void cli_out_init(struct cli *cli);
/* Prints o (taken: it is freed) as one line of JSON on stdout; NULL (a
 * json_pack that failed) prints an error object in its place. */
void cli_emit(json_t *o);
/* The exit code: rc, or CLI_EXIT_FAIL when rc is 0 but an output could
 * not be built or written. */
int cli_out_status(int rc);
/* A JSON string from bytes that should be text: each byte that is not
 * part of valid UTF-8 (and a NUL) becomes U+FFFD, so the output is
 * always valid JSON. Never NULL (json_null() when out of memory, which
 * json_object_set_new takes). */
json_t *jstr(const char *s);
json_t *jstrn(const char *p, size_t n);
json_t *jstr_list(char *const *v, size_t n);
/* o[key] = v (taken), the key made UTF-8 as jstr does. */
void cli_json_set(json_t *o, const char *key, json_t *v);
/* What decided reachability (fastn status, fastn netcheck): the
 * "autonat      ..." line, and its JSON fields added to o. */
void cli_reach_evidence_print(const struct fastn_status *st);
void cli_reach_evidence_json(json_t *o, const struct fastn_status *st);
/* True when n bytes at p are valid UTF-8 without NUL. */
bool cli_is_utf8(const char *p, size_t n);
/* {"KEY": text} or, for bytes that are not UTF-8 text, {"KEY_base64":
 * base64} in o. */
void cli_json_bytes(json_t *o, const char *key, const void *p, size_t n);

/* Reports an error: "fastn[ CMD]: MESSAGE" on stderr, or the error
 * object with code err (a fastn_err) under --json. Returns exit. */
int cli_error(int exit, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The error of a request: the daemon's message when it sent one (escaped
 * for a terminal: it may quote a peer), else fastn_strerror(err).
 * Returns CLI_EXIT_FAIL. */
int cli_fail(struct fastn_client *c, int err);
/* The same, with what to do (hint, may be NULL) after "; ". */
int cli_fail_hint(struct fastn_client *c, int err, const char *hint);
/* Bad usage: "fastn CMD: WHAT; see fastn CMD --help". Returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *what);
/* An option the command does not have, with the nearest it has (from its
 * --help) suggested. Returns CLI_EXIT_USAGE. */
int cli_unknown_option(const char *cmd, const char *opt);
/* The same, the command's parser's own names (known) counted too. */
int cli_unknown_option_of(const char *cmd, const char *opt,
                          const char *const *known, size_t n_known);
/* A word that is none of words[0..n) (a subcommand), with the nearest
 * suggested. Returns CLI_EXIT_USAGE. */
int cli_unknown_word(const char *cmd, const char *what, const char *word,
                     const char *const *words, size_t n);
/* A command over a set the daemon keeps (`fastn trust`, `fastn
 * registry`): `add X [--name N]`, `list`, `remove X`. */
struct cli_set_ops {
    const char *cmd;   /* "trust" */
    const char *thing; /* what add and remove want one of: "key" */
    const char *extra; /* a fourth command the caller runs itself, or NULL */
    int (*add)(struct cli *cli, struct fastn_client *c, const char *arg,
               const char *name);
    int (*list)(struct cli *cli, struct fastn_client *c);
    int (*remove)(struct cli *cli, struct fastn_client *c, const char *what);
};
/* Checks the words (pos[0..n), the options' --name) and runs one of the
 * three on a connection; returns the exit code. */
int cli_set_run(struct cli *cli, const struct cli_set_ops *ops, char **pos,
                int n, const char *name);
/* A note for people on stderr ("fastn: ..."), in both modes. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* suggest.c: the candidate nearest to word (edit distance, at most a
 * third of its length, or a prefix of it), or NULL. */
const char *cli_nearest(const char *word, const char *const *cands, size_t n);
/* The options a usage text names ("-c", "--count", ...), into v (max),
 * returns how many; the strings point into buf (cap bytes). */
size_t cli_usage_options(const char *usage, char *buf, size_t cap,
                         const char **v, size_t max);

/* --- the daemon ------------------------------------------------------------
 */

/* Connects as the options say, starting fastnd when none runs (unless
 * --no-autostart): a start says so on stderr, with the new identity's
 * PeerID, home and listen addresses when the home had none (and
 * --no-create refuses to start one there). On failure prints the error
 * and returns NULL. */
struct fastn_client *cli_connect(struct cli *cli);
/* Connects without ever starting a daemon; NULL (nothing printed) when
 * none answers, with the error in *err. */
struct fastn_client *cli_connect_running(struct cli *cli, int *err);
/* The home the options name (absolute), into out (n bytes). */
int cli_home(const struct cli *cli, char *out, size_t n);
/* Where the daemon's log is, for messages: "HOME/fastnd.log", "the
 * journal (journalctl --user -u fastnd.service)", ...; st may be NULL
 * (asked of c then, which may be NULL too). */
const char *cli_log_where(struct fastn_client *c, const struct fastn_status *st,
                          char *buf, size_t n);

/* A command's option that takes a value: -x VALUE (alias --long). */
struct cli_opt {
    const char *name;
    const char *alias; /* may be NULL */
    const char **value;
};
/* A command's flag: -x (alias --long). */
struct cli_flag {
    const char *name;
    const char *alias; /* may be NULL */
    bool *value;
};

/* Parses a command's arguments (argv[0] is the command): --json,
 * --help, the options in opts and flags in flags (NULL-terminated, may
 * be NULL), and up to max_pos positional arguments into pos (after "--"
 * everything is positional). Returns 0 or CLI_EXIT_USAGE after printing
 * why. */
int cli_parse_flags(struct cli *cli, int argc, char **argv,
                    const struct cli_opt *opts, const struct cli_flag *flags,
                    char **pos, int max_pos, int *n_pos);
int cli_parse(struct cli *cli, int argc, char **argv,
              const struct cli_opt *opts, char **pos, int max_pos, int *n_pos);
/* A PEER argument that must be a PeerID: 0, or CLI_EXIT_FAIL after
 * saying what a PeerID looks like. */
int cli_check_peer(const char *arg);
/* A PEER argument: a PeerID as is, or a multiaddr with /p2p/ (connected
 * to first). Returns 0 or CLI_EXIT_FAIL after printing why. */
int cli_resolve_peer(struct cli *cli, struct fastn_client *c, const char *arg,
                     char peer[FASTN_PEER_ID_MAX]);
/* After FASTN_ERR_NET_PROTO_NA from peer for protocol: the error, with
 * what the peer serves (as identify told the daemon) and the nearest.
 * Returns CLI_EXIT_FAIL. */
int cli_fail_protocol(struct fastn_client *c, const char *peer,
                      const char *protocol);

/* Commands in their own files. */
int cli_cmd_connect(struct cli *cli, int argc, char **argv);
int cli_cmd_disconnect(struct cli *cli, int argc, char **argv);
int cli_cmd_ping(struct cli *cli, int argc, char **argv);
int cli_cmd_dht(struct cli *cli, int argc, char **argv);
int cli_cmd_netcheck(struct cli *cli, int argc, char **argv);
int cli_cmd_call(struct cli *cli, int argc, char **argv);
/* stream.c: moves the bytes both ways, stdin to the stream fd and the
 * stream to stdout, until both sides are done (as `fastn call`); the
 * exit status, with the reason on stderr when the stream was cut. */
struct fastn_stream_info;
int cli_stream_pump(struct cli *cli, struct fastn_client *c, int fd,
                    const struct fastn_stream_info *info, const char *peer,
                    const char *protocol);
/* ssh.c */
int cli_cmd_ssh(struct cli *cli, int argc, char **argv);
int cli_cmd_ssh_proxy(struct cli *cli, int argc, char **argv);
int cli_cmd_listen(struct cli *cli, int argc, char **argv);
int cli_cmd_plugin(struct cli *cli, int argc, char **argv);
int cli_cmd_notifications(struct cli *cli, int argc, char **argv);
int cli_cmd_chat(struct cli *cli, int argc, char **argv);
int cli_cmd_files(struct cli *cli, int argc, char **argv);
int cli_cmd_mail(struct cli *cli, int argc, char **argv);
extern const char cli_mail_usage[];
extern const char cli_files_usage[];
int cli_cmd_forward(struct cli *cli, int argc, char **argv);
int cli_cmd_expose(struct cli *cli, int argc, char **argv);
int cli_cmd_perf(struct cli *cli, int argc, char **argv);
int cli_cmd_stop(struct cli *cli, int argc, char **argv);
int cli_cmd_restart(struct cli *cli, int argc, char **argv);
int cli_cmd_config(struct cli *cli, int argc, char **argv);
int cli_cmd_log(struct cli *cli, int argc, char **argv);
int cli_cmd_doctor(struct cli *cli, int argc, char **argv);
int cli_cmd_help(struct cli *cli, int argc, char **argv);
extern const char cli_plugin_usage[], cli_notify_usage[], cli_chat_usage[];
extern const char cli_forward_usage[], cli_expose_usage[], cli_perf_usage[];
extern const char cli_stop_usage[], cli_restart_usage[], cli_config_usage[];
extern const char cli_log_usage[], cli_doctor_usage[];

/* --- parse.c: text from outside, as JSON ----------------------------------
 * Every input is bounded by its length; what comes out is valid JSON
 * whatever the bytes (fuzz/fuzz_cli_text.c). */

/* The chat plugin's answer to send ("delivered ID", "queued ID: why")
 * as {"status", "id", "message"}, and to log (its lines) as
 * {"messages": [{"time", "direction", "peer_id", "text", "state"}]}. */
json_t *cli_chat_send_json(const char *p, size_t n);
json_t *cli_chat_log_json(const char *p, size_t n);

/* A line of the daemon's log: "2025-01-31T12:00:00Z LEVEL subsys: msg"
 * (a file), "LEVEL subsys: msg" (stderr) or anything else. */
#define CLI_LOG_LEVELS 5
extern const char *const cli_log_levels[CLI_LOG_LEVELS]; /* error..trace */
struct cli_log_line {
    time_t t;                 /* 0: none */
    int level;                /* index in cli_log_levels, -1: unknown */
    const char *subsys, *msg; /* into the line; subsys may be NULL */
    size_t subsys_len;
};
/* The index of a level's name (n bytes at s), or -1. */
int cli_log_level(const char *s, size_t n);
/* Parses the NUL-terminated line l (pointers into it). */
void cli_log_parse(const char *l, struct cli_log_line *out);
/* {"time", "level", "subsystem", "message"}. */
json_t *cli_log_line_json(const struct cli_log_line *ln);
/* One entry of journalctl -o json (n bytes) as the same object, or NULL
 * when it is not one. */
json_t *cli_journal_json(const char *text, size_t n);

/* The key of a config line ("  key = value  # note") into out (n bytes:
 * "key\0value"), *value pointing at its trimmed value; false for a
 * comment, a blank line or a key that does not fit. */
bool cli_config_line_key(const char *line, char *out, size_t n,
                         const char **value);

/* plugin.c: prints a plugin call's answer: as bytes, exact, into a pipe
 * or file; escaped (util/term.h) when lines is set (text for people, as
 * chat's) or stdout is a terminal, with a newline added when it has
 * none; or {"result": "..."} with --json. */
int cli_plugin_print_result(struct cli *cli, const uint8_t *p, size_t n,
                            bool lines);
/* plugin.c: a plugin's info as a JSON object. */
json_t *cli_plugin_info_json(const struct fastn_plugin_info *p);

/* trust.c, registry.c: the commands of signed plugins' publishers and
 * registries (docs/REGISTRY.md). */
int cli_cmd_trust(struct cli *cli, int argc, char **argv);
int cli_cmd_registry(struct cli *cli, int argc, char **argv);
extern const char cli_trust_usage[], cli_registry_usage[];
/* pending.c: fastn plugin pending|approve|reject, fastn peer */
int cli_plugin_pending(struct cli *cli, int argc, char **argv);
int cli_cmd_peer(struct cli *cli, int argc, char **argv);
extern const char cli_pending_usage[], cli_peer_usage[];
/* registry.c: registries (and how reading each went) as a JSON array. */
json_t *cli_registries_json(const struct fastn_registry *v, size_t n);
/* plugin_get.c: plugin search, install (a signed file, from the
 * registries or a peer), update; the signature lines of plugin info. */
int cli_plugin_search(struct cli *cli, struct fastn_client *c,
                      const char *term);
int cli_plugin_install(struct cli *cli, struct fastn_client *c,
                       const char *what, const char *from, bool replace,
                       bool allow_unsigned);
int cli_plugin_update(struct cli *cli, struct fastn_client *c, const char *name,
                      const char *const *grant, size_t n_grant);
void cli_plugin_sig_text(const struct fastn_plugin_info *p);
/* Its loopback ports and addresses (local-listen, local-connect), one
 * line each; nothing when it has none. */
void cli_plugin_local_text(const struct fastn_plugin_info *p);

#endif
