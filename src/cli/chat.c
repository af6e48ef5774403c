/*
 * fastn chat send PEER TEXT, fastn chat log [PEER]: thin aliases of
 * `fastn plugin call chat send|log ...` for the chat plugin.
 */
#include <string.h>

#include "cli/cli.h"

const char cli_chat_usage[] =
    "usage: fastn chat send PEER TEXT... [--json]\n"
    "       fastn chat log [PEER] [--json]\n"
    "\n"
    "send stores TEXT and delivers it to PEER (a PeerID, 12D3KooW...). It\n"
    "says `delivered` once the peer has it, or `queued` when the peer is\n"
    "not reachable now: the message waits and is sent when it is, also\n"
    "after restarts. log prints the latest messages, with one PEER or all.\n"
    "Both need the chat plugin: fastn plugin install .../chat.wasm.\n";

static int usage_error(const char *msg)
{
    fprintf(stderr, "fastn chat: %s; see fastn chat --help\n", msg);
    return CLI_EXIT_USAGE;
}

/* The words of TEXT joined by spaces, after PEER. */
static int join(char *out, size_t cap, char **words, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        size_t w = strlen(words[i]);
        if (len + w + 2 > cap)
            return -1;
        if (i)
            out[len++] = ' ';
        memcpy(out + len, words[i], w);
        len += w;
    }
    out[len] = '\0';
    return (int)len;
}

static int run_call(struct cli *cli, const char *method, const char *arg)
{
    struct fastn_client *c = cli_connect(cli);
    uint8_t *out = NULL;
    size_t n = 0;
    int rc;

    if (!c)
        return CLI_EXIT_FAIL;
    rc =
        fastn_client_plugin_call(c, "chat", method, arg, strlen(arg), &out, &n);
    if (rc) {
        if (strstr(fastn_client_error_message(c), "no plugin named"))
            fprintf(stderr, "fastn chat: the chat plugin is not installed; "
                            "install it with fastn plugin install "
                            "PREFIX/share/fastn/plugins/chat.wasm\n");
        else
            cli_fail(c, rc);
        fastn_client_free(c);
        return CLI_EXIT_FAIL;
    }
    rc = cli_plugin_print_result(cli, out, n, true); /* lines of text */
    fastn_free(out);
    fastn_client_free(c);
    return rc;
}

int cli_cmd_chat(struct cli *cli, int argc, char **argv)
{
    char *words[256], arg[8192];
    int n = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            cli->json = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            cli->help = true;
        else if (n < 256)
            words[n++] = argv[i];
        else
            return usage_error("too many words");
    }
    if (cli->help)
        return 0;
    if (n >= 3 && !strcmp(words[0], "send")) {
        if (join(arg, sizeof(arg), words + 1, n - 1) < 0)
            return usage_error("the message is too long");
        return run_call(cli, "send", arg);
    }
    if ((n == 1 || n == 2) && !strcmp(words[0], "log"))
        return run_call(cli, "log", n == 2 ? words[1] : "");
    return usage_error(n && !strcmp(words[0], "send") ? "send wants PEER TEXT"
                                                      : "send or log?");
}
