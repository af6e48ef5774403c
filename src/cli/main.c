/*
 * fastn: the command-line client of fastnd. Global options come before
 * the command; --json and --help are accepted anywhere. Exit status: 0
 * success, 1 the request failed (with a one-line error that says what to
 * do), 2 bad usage.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/term.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: fastn [OPTIONS] COMMAND [--json] [--help]\n"
               "\n"
               "The command-line client of fastnd, the fastn-p2p daemon. It\n"
               "starts the daemon when none is running.\n"
               "\n"
               "commands:\n");
    for (size_t i = 0; i < cli_n_commands; i++)
        fprintf(f, "  %-14s %s\n", cli_commands[i].name,
                cli_commands[i].summary);
    fprintf(f,
            "  help           this help, or a command's: fastn help CMD\n"
            "\n"
            "options:\n"
            "  --home DIR        the fastn home (default $FASTN_HOME, else\n"
            "                    ~/.fastn)\n"
            "  --socket PATH     talk to the daemon on this control socket\n"
            "                    (e.g. one started with -listen=/unix/PATH)\n"
            "  --no-autostart    fail instead of starting fastnd\n"
            "  --timeout SECS    limit for each step (default 10)\n"
            "  --json            machine-readable output\n"
            "  --help, --version\n");
}

struct fastn_client *cli_connect(struct cli *cli)
{
    struct fastn_client *c = NULL;
    char why[512];
    int rc;

    cli->conn.error_buf = why;
    cli->conn.error_buf_len = sizeof(why);
    rc = fastn_client_connect(&cli->conn, &c);
    if (rc == FASTN_ERR_DAEMON_START && why[0]) {
        fprintf(stderr, "fastn: could not start fastnd: %s\n", why);
        return NULL;
    }
    if (rc) {
        cli_fail(NULL, rc);
        return NULL;
    }
    if (fastn_client_started_daemon(c))
        fprintf(stderr, "fastn: started fastnd\n");
    return c;
}

int cli_fail(struct fastn_client *c, int err)
{
    char remote[1024];

    /* the daemon's message may quote a plugin or a peer */
    term_safe(c ? fastn_client_error_message(c) : "", remote, sizeof(remote));
    if (remote[0] && strstr(remote, fastn_strerror(err)))
        fprintf(stderr, "fastn: %s\n", remote); /* it says it all */
    else if (remote[0])
        fprintf(stderr, "fastn: %s: %s\n", fastn_strerror(err), remote);
    else
        fprintf(stderr, "fastn: %s\n", fastn_strerror(err));
    return CLI_EXIT_FAIL;
}

static const struct cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < cli_n_commands; i++)
        if (!strcmp(cli_commands[i].name, name))
            return &cli_commands[i];
    return NULL;
}

static int help_for(const char *name)
{
    const struct cli_command *cmd = name ? find_command(name) : NULL;

    if (!name) {
        usage(stdout);
        return 0;
    }
    if (!cmd) {
        fprintf(stderr, "fastn: unknown command '%s'; see fastn --help\n",
                name);
        return CLI_EXIT_USAGE;
    }
    fputs(cmd->usage, stdout);
    return 0;
}

static int parse_timeout(struct cli *cli, const char *v)
{
    char *end;
    double secs = v ? strtod(v, &end) : 0;

    if (!v || *end || secs <= 0 || secs > 3600) {
        fprintf(stderr, "fastn: --timeout wants seconds (0 < SECS <= 3600)\n");
        return CLI_EXIT_USAGE;
    }
    cli->conn.timeout_ms = (int)(secs * 1000);
    if (cli->conn.timeout_ms < 1)
        cli->conn.timeout_ms = 1;
    return 0;
}

/* Global options; returns the index of the command, or -1 after printing
 * an error (*rc set). */
static int parse_globals(struct cli *cli, int argc, char **argv, int *rc)
{
    int i;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--home") && next) {
            cli->conn.home = argv[++i];
        } else if (!strcmp(a, "--socket") && next) {
            cli->conn.socket_path = argv[++i];
        } else if (!strcmp(a, "--no-autostart")) {
            cli->conn.autostart = 0;
        } else if (!strcmp(a, "--timeout")) {
            if ((*rc = parse_timeout(cli, next)))
                return -1;
            i++;
        } else if (!strcmp(a, "--json")) {
            cli->json = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli->help = true;
        } else if (!strcmp(a, "--version")) {
            printf("fastn %s\n", fastn_version());
            *rc = 0;
            return -1;
        } else {
            fprintf(stderr,
                    "fastn: unknown or incomplete option '%s'; see "
                    "fastn --help\n",
                    a);
            *rc = CLI_EXIT_USAGE;
            return -1;
        }
    }
    return i;
}

int main(int argc, char **argv)
{
    struct cli cli = {.json = false};
    const struct cli_command *cmd;
    int rc = 0, i;

    fastn_connect_options_init(&cli.conn);
    cli.conn.autostart = 1;
    i = parse_globals(&cli, argc, argv, &rc);
    if (i < 0)
        return rc;
    if (i == argc) {
        usage(cli.help ? stdout : stderr);
        return cli.help ? 0 : CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[i], "help"))
        return help_for(i + 1 < argc ? argv[i + 1] : NULL);
    if (!strcmp(argv[i], "version")) {
        printf("fastn %s\n", fastn_version());
        return 0;
    }
    cmd = find_command(argv[i]);
    if (!cmd) {
        fprintf(stderr, "fastn: unknown command '%s'; see fastn --help\n",
                argv[i]);
        return CLI_EXIT_USAGE;
    }
    rc = cmd->run(&cli, argc - i, argv + i);
    if (rc == 0 && cli.help)
        fputs(cmd->usage, stdout);
    return rc;
}
