/*
 * fastn chat send PEER TEXT, fastn chat log [PEER]: thin aliases of
 * `fastn plugin call chat send|log ...` for the chat plugin. The
 * plugin answers lines of text; --json turns them into objects (the
 * plugin's line format is in plugins/chat/chat.c, log_line and
 * resolve_pending).
 */
#include <string.h>

#include "cli/cli.h"

const char cli_chat_usage[] =
    "usage: fastn chat send PEER TEXT... [--json]\n"
    "       fastn chat log [PEER] [--json]\n"
    "\n"
    "send stores TEXT and delivers it to PEER (a PeerID, 12D3KooW...). It\n"
    "says `delivered ID` once the peer has it, or `queued ID` when the peer\n"
    "is not reachable now: the message waits and is sent when it is, also\n"
    "after restarts. log prints the latest messages, with one PEER or all:\n"
    "time (UTC), -> sent or <- received, the peer, the text, and for sent\n"
    "ones [delivered] or [queued]. Both need the chat plugin: fastn plugin\n"
    "install .../chat.wasm.\n"
    "\n"
    "--json: send {\"status\": \"delivered\"|\"queued\", \"id\", "
    "\"message\"};\n"
    "log {\"messages\": [{\"time\", \"direction\": \"out\"|\"in\", "
    "\"peer_id\",\n"
    "\"text\", \"state\": \"delivered\"|\"queued\"|null}]}\n";

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

/* "delivered ID" or "queued ID: why" as an object. */
static json_t *send_json(const char *p, size_t n)
{
    const char *sp = memchr(p, ' ', n);
    size_t id_len;

    if (!sp)
        return json_pack("{s:n,s:n,s:o}", "status", "id", "message",
                         jstrn(p, n));
    id_len = strcspn(sp + 1, ":\n");
    if (id_len > n - (size_t)(sp + 1 - p))
        id_len = n - (size_t)(sp + 1 - p);
    return json_pack("{s:o,s:o,s:o}", "status", jstrn(p, (size_t)(sp - p)),
                     "id", jstrn(sp + 1, id_len), "message", jstrn(p, n));
}

/* One log line: "YYYY-MM-DD HH:MM:SS  -> PEER  TEXT[  [state]]". */
static json_t *log_line_json(const char *l, size_t n)
{
    static const char *const states[] = {"  [delivered]", "  [queued]"};
    const char *peer, *gap, *text;
    json_t *state = json_null();
    char when[32];
    bool out;

    if (n < 24 || l[19] != ' ' || l[20] != ' ' || l[23] != ' ')
        return NULL;
    out = l[21] == '-' && l[22] == '>';
    snprintf(when, sizeof(when), "%.10sT%.8sZ", l, l + 11);
    peer = l + 24;
    gap = memmem(peer, n - 24, "  ", 2);
    if (!gap)
        return NULL;
    text = gap + 2;
    n -= (size_t)(text - l);
    for (size_t i = 0; out && i < 2; i++) {
        size_t k = strlen(states[i]);
        if (n >= k && !memcmp(text + n - k, states[i], k)) {
            json_decref(state);
            state = json_string(i ? "queued" : "delivered");
            n -= k;
        }
    }
    return json_pack("{s:o,s:s,s:o,s:o,s:o}", "time", jstr(when), "direction",
                     out ? "out" : "in", "peer_id",
                     jstrn(peer, (size_t)(gap - peer)), "text", jstrn(text, n),
                     "state", state);
}

static json_t *log_json(const char *p, size_t n)
{
    json_t *a = json_array();

    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) : n;
        json_t *m = log_line_json(p, len);
        if (m)
            json_array_append_new(a, m);
        else if (len) /* a line of another form: kept as text */
            json_array_append_new(a, json_pack("{s:o}", "text", jstrn(p, len)));
        p += len + (nl ? 1 : 0);
        n -= len + (nl ? 1 : 0);
    }
    return json_pack("{s:o}", "messages", a);
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
        cli_emit(!strcmp(method, "send") ? send_json((const char *)out, n)
                                         : log_json((const char *)out, n));
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
