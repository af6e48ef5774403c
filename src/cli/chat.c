/*
 * fastn chat send PEER TEXT, fastn chat log [PEER]: thin aliases of
 * `fastn plugin call chat send|log ...` for the chat plugin. The
 * plugin answers lines of text; --json turns them into objects
 * (parse.c).
 */
#include <string.h>

#include "cli/cli.h"

const char cli_chat_usage[] =
    "usage: fastn chat send PEER TEXT... [--json]\n"
    "       fastn chat log [PEER] [--json]\n"
    "\n"
    "send stores TEXT and delivers it to PEER (a PeerID, 12D3KooW...). It\n"
    "says `delivered ID` once the peer has it, `waiting ID` when the peer's\n"
    "daemon took it but keeps it until the peer accepts chat (it has no\n"
    "chat, or does not know you yet), or `queued ID` when the peer is not\n"
    "reachable now: the message waits and is sent when it is, also after\n"
    "restarts. log prints the latest messages, with one PEER or all:\n"
    "time (UTC), -> sent or <- received, the peer, the text, and for sent\n"
    "ones [delivered], [waiting] or [queued]. Both need the chat plugin:\n"
    "fastn plugin install .../chat.wasm.\n"
    "\n"
    "--json: send {\"status\": \"delivered\"|\"waiting\"|\"queued\", \"id\", "
    "\"message\"};\n"
    "log {\"messages\": [{\"time\", \"direction\": \"out\"|\"in\", "
    "\"peer_id\",\n"
    "\"text\", \"state\": \"delivered\"|\"waiting\"|\"queued\"|null}]}\n";

static const char *const subcommands[] = {"send", "log"};

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
    if (rc && strstr(fastn_client_error_message(c), "no plugin named"))
        rc = cli_error(CLI_EXIT_FAIL, rc,
                       "the chat plugin is not installed; install it with "
                       "fastn plugin install PREFIX/share/fastn/plugins/"
                       "chat.wasm");
    else if (rc)
        rc = cli_fail(c, rc);
    else if (cli->json)
        cli_emit(!strcmp(method, "send")
                     ? cli_chat_send_json((const char *)out, n)
                     : cli_chat_log_json((const char *)out, n));
    else
        rc = cli_plugin_print_result(cli, out, n, true); /* lines of text */
    fastn_free(out);
    fastn_client_free(c);
    return rc;
}

/* The words after `chat`: --json anywhere before "--" (after it all is
 * TEXT), any other option refused with the nearest named. */
static int chat_words(struct cli *cli, int argc, char **argv, char **words,
                      int *n)
{
    static const char *const opts[] = {"--json", "--help"};
    bool rest = false;
    char what[300];

    *n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!rest && !strcmp(a, "--")) {
            rest = true;
            continue;
        }
        if (!rest && !strcmp(a, "--json")) {
            cli->json = true;
            continue;
        }
        if (!rest && a[0] == '-' && a[1] && a[1] != ' ') {
            const char *near = cli_nearest(a, opts, 2);
            snprintf(what, sizeof(what),
                     "unknown option '%.200s'%s%s%s (a TEXT that starts with "
                     "'-' goes after --)",
                     a, near ? " (did you mean " : "", near ? near : "",
                     near ? "?)" : "");
            return cli_usage_error(argv[0], what);
        }
        if (*n == 256)
            return cli_usage_error(argv[0], "too many words");
        words[(*n)++] = argv[i];
    }
    return 0;
}

int cli_cmd_chat(struct cli *cli, int argc, char **argv)
{
    char *words[256], arg[8192];
    int n, rc = chat_words(cli, argc, argv, words, &n);

    if (rc)
        return rc;
    if (n && strcmp(words[0], "send") && strcmp(words[0], "log"))
        return cli_unknown_word(argv[0], "command", words[0], subcommands, 2);
    if (n >= 3 && !strcmp(words[0], "send")) {
        if ((rc = cli_check_peer(words[1])))
            return rc;
        if (join(arg, sizeof(arg), words + 1, n - 1) < 0)
            return cli_usage_error(argv[0], "the message is too long");
        return run_call(cli, "send", arg);
    }
    if ((n == 1 || n == 2) && !strcmp(words[0], "log")) {
        if (n == 2 && (rc = cli_check_peer(words[1])))
            return rc;
        return run_call(cli, "log", n == 2 ? words[1] : "");
    }
    return cli_usage_error(argv[0], n && !strcmp(words[0], "send")
                                        ? "send wants PEER TEXT"
                                    : n ? "log wants at most a PEER"
                                        : "send or log?");
}
