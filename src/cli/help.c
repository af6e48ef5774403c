/*
 * fastn's usage and help: the list of commands (from the table in
 * commands.c) with the global options, a command's own usage text, and
 * an unknown command with the nearest one suggested.
 */
#include <string.h>

#include "cli/cli.h"

void cli_usage(FILE *f)
{
    fprintf(f, "usage: fastn [OPTIONS] COMMAND [ARGS] [OPTIONS]\n"
               "\n"
               "The command-line client of fastnd, the fastn-p2p daemon. It\n"
               "starts the daemon when none is running.\n"
               "\n"
               "commands:\n");
    for (size_t i = 0; i < cli_n_commands; i++)
        fprintf(f, "  %-14s %s\n", cli_commands[i].name,
                cli_commands[i].summary);
    fprintf(f,
            "\n"
            "options (before or after the command):\n"
            "  --home DIR        the fastn home (default $FASTN_HOME, else\n"
            "                    ~/.fastn)\n"
            "  --socket PATH     talk to the daemon on this control socket\n"
            "                    (e.g. one started with -listen=/unix/PATH)\n"
            "  --no-autostart    fail instead of starting fastnd\n"
            "  --no-create       start fastnd only on a home that has an\n"
            "                    identity (never make a new PeerID)\n"
            "  --timeout SECS    limit for each step (default 10)\n"
            "  --json            machine-readable output, errors included:\n"
            "                    {\"error\": {\"code\", \"message\"}}\n"
            "  --help, --version\n");
}

const struct cli_command *cli_command_find(const char *name)
{
    for (size_t i = 0; i < cli_n_commands; i++)
        if (!strcmp(cli_commands[i].name, name))
            return &cli_commands[i];
    return NULL;
}

int cli_unknown_command(const char *name)
{
    const char *names[64];
    const char *near;
    size_t n = 0;

    for (size_t i = 0; i < cli_n_commands && n < 64; i++)
        names[n++] = cli_commands[i].name;
    near = cli_nearest(name, names, n);
    if (near)
        return cli_error(CLI_EXIT_USAGE, FASTN_ERR_INVAL,
                         "unknown command '%s' (did you mean %s?); see "
                         "fastn --help",
                         name, near);
    return cli_error(CLI_EXIT_USAGE, FASTN_ERR_INVAL,
                     "unknown command '%s'; see fastn --help", name);
}

int cli_help_for(struct cli *cli, const char *name)
{
    const struct cli_command *cmd = name ? cli_command_find(name) : NULL;
    json_t *a;

    if (name && !cmd)
        return cli_unknown_command(name);
    if (!cli->json) {
        if (cmd)
            fputs(cmd->usage, stdout);
        else
            cli_usage(stdout);
        return 0;
    }
    if (cmd) {
        cli_emit(
            json_pack("{s:s,s:s}", "command", cmd->name, "usage", cmd->usage));
        return 0;
    }
    a = json_array();
    for (size_t i = 0; i < cli_n_commands; i++)
        json_array_append_new(a, json_pack("{s:s,s:s}", "name",
                                           cli_commands[i].name, "summary",
                                           cli_commands[i].summary));
    cli_emit(json_pack("{s:o}", "commands", a));
    return 0;
}

int cli_cmd_help(struct cli *cli, int argc, char **argv)
{
    char *pos[1];
    int n, rc = cli_parse(cli, argc, argv, NULL, pos, 1, &n);

    return rc ? rc : cli_help_for(cli, n ? pos[0] : NULL);
}
