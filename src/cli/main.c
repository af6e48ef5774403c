/*
 * fastn: the command-line client of fastnd. Global options may come
 * before or after the command (up to a "--"); a mistyped command or
 * option gets the nearest one suggested. Exit status: 0 success, 1 the
 * request failed (with one line that says what happened and what to
 * do), 2 bad usage; --json turns every result and error into JSON on
 * stdout.
 */
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>

#include "cli/cli.h"

static const char *const global_opts[] = {
    "--home",    "--socket", "--no-autostart", "--no-create",
    "--timeout", "--json",   "--help",         "--version",
};

static int parse_timeout(struct cli *cli, const char *v)
{
    char *end;
    double secs = v ? strtod(v, &end) : 0;

    if (!v || *end || secs <= 0 || secs > 3600)
        return cli_error(CLI_EXIT_USAGE, FASTN_ERR_INVAL,
                         "--timeout wants seconds (0 < SECS <= 3600)");
    cli->conn.timeout_ms = (int)(secs * 1000);
    if (cli->conn.timeout_ms < 1)
        cli->conn.timeout_ms = 1;
    return 0;
}

/* One global option at argv[*i] (a value taken from argv[*i + 1]):
 * 1 when it was one, 0 when not, or -1 after an error (*rc set). */
static int global_option(struct cli *cli, int argc, char **argv, int *i,
                         int *rc)
{
    const char *a = argv[*i], *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    bool value = !strcmp(a, "--home") || !strcmp(a, "--socket") ||
                 !strcmp(a, "--timeout");

    if (value && !next) {
        *rc = cli_error(CLI_EXIT_USAGE, FASTN_ERR_INVAL,
                        "%s needs a value; see fastn --help", a);
        return -1;
    }
    if (!strcmp(a, "--home"))
        cli->conn.home = next;
    else if (!strcmp(a, "--socket"))
        cli->conn.socket_path = next;
    else if (!strcmp(a, "--timeout") && (*rc = parse_timeout(cli, next)))
        return -1;
    else if (!strcmp(a, "--no-autostart"))
        cli->autostart = false;
    else if (!strcmp(a, "--no-create"))
        cli->no_create = true;
    else if (!strcmp(a, "--json"))
        cli->json = true;
    else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
        cli->help = true;
    else if (strcmp(a, "--timeout"))
        return 0;
    *i += value;
    return 1;
}

/* Takes the global options out of argv, wherever they are before "--",
 * and returns the rest (the command and its arguments) in out; *n_out
 * its count. --version prints the version (*rc 0, returns -1). */
static int split_globals(struct cli *cli, int argc, char **argv, char **out,
                         int *n_out, int *rc)
{
    bool rest = false;

    *n_out = 0;
    for (int i = 1; i < argc; i++) {
        int g = 0;
        if (!rest && !strcmp(argv[i], "--version")) {
            if (cli->json)
                cli_emit(json_pack("{s:s,s:s}", "fastn", FASTN_VERSION,
                                   "libfastn", fastn_version()));
            else
                printf("fastn %s\n", FASTN_VERSION);
            *rc = 0;
            return -1;
        }
        if (!rest && (g = global_option(cli, argc, argv, &i, rc)) < 0)
            return -1;
        if (g)
            continue;
        if (!strcmp(argv[i], "--"))
            rest = true;
        /* an unknown option before the command */
        if (!rest && *n_out == 0 && argv[i][0] == '-') {
            const char *near =
                cli_nearest(argv[i], global_opts,
                            sizeof(global_opts) / sizeof(*global_opts));
            *rc = near ? cli_error(CLI_EXIT_USAGE, FASTN_ERR_INVAL,
                                   "unknown option '%s' (did you mean %s?); "
                                   "see fastn --help",
                                   argv[i], near)
                       : cli_error(CLI_EXIT_USAGE, FASTN_ERR_INVAL,
                                   "unknown option '%s'; see fastn --help",
                                   argv[i]);
            return -1;
        }
        out[(*n_out)++] = argv[i];
    }
    return 0;
}

/* --json before the command's own parsing: a usage error in it is JSON
 * already. */
static void prescan_json(struct cli *cli, int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--json"))
            cli->json = true;
}

int main(int argc, char **argv)
{
    struct cli cli = {.autostart = true};
    const struct cli_command *cmd;
    char **av = calloc((size_t)argc + 1, sizeof(char *));
    int rc = 0, n;

#ifdef __GLIBC__
    /* the answers of plugin calls (files get: 256 KiB, many a second)
     * reuse freed memory instead of new zeroed pages (see fastnd) */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
    fastn_connect_options_init(&cli.conn);
    cli_out_init(&cli);
    prescan_json(&cli, argc, argv);
    if (!av)
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "out of memory");
    if (split_globals(&cli, argc, argv, av, &n, &rc) < 0)
        goto out;
    if (n == 0) {
        if (cli.help || cli.json)
            rc = cli_help_for(&cli, NULL);
        else
            cli_usage(stderr), rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (!(cmd = cli_command_find(av[0]))) {
        rc = cli_unknown_command(av[0]);
        goto out;
    }
    cli.cmd = cmd->name;
    if (cli.help) {
        cli.cmd = NULL;
        rc = cli_help_for(&cli, cmd->name);
        goto out;
    }
    rc = cmd->run(&cli, n, av);
out:
    free(av);
    return cli_out_status(rc);
}
