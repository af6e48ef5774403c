/*
 * fastn mail address|setup|send|list|read: thin commands over the mail
 * plugin's calls (docs/MAIL.md). setup adds the local ports the daemon
 * serves SMTP and IMAP on (plugin info), so the output is what a mail
 * client needs.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/mail.h"

/* A call carries at most 1 MiB: the body, with room for the rest. */
#define MAIL_BODY_MAX ((1u << 20) - 8192)
#define ATTACH_MAX 64

struct send_args {
    const char *to, *subject;
    char *attach[ATTACH_MAX];
    size_t n_attach;
};

const char cli_mail_usage[] =
    "usage: fastn mail address\n"
    "       fastn mail setup [USER] [--json]\n"
    "       fastn mail send ADDRESS[,ADDRESS]... --subject S [--attach "
    "FILE]...\n"
    "                       [--json] < BODY\n"
    "       fastn mail list [--folder F] [--json]\n"
    "       fastn mail read UID [--folder F]\n"
    "\n"
    "Mail between peers (the mail plugin: fastn plugin install\n"
    "PREFIX/share/fastn/plugins/mail.wasm). address prints yours\n"
    "(NAME@<peer>.fastn; any NAME reaches you). setup makes a new password\n"
    "for your mail client and prints the settings: SMTP submission and\n"
    "IMAP on 127.0.0.1 (--json: {\"address\", \"user\", \"password\",\n"
    "\"smtp_host\", \"smtp_port\", \"imap_host\", \"imap_port\"}). send "
    "queues\n"
    "a plain-text message (the body from stdin); the daemon delivers it,\n"
    "retrying until the peer is back. --attach (-a, repeated) adds files:\n"
    "the message becomes MIME multipart/mixed, each file a base64 part\n"
    "with its name and a content type from its extension; all of it at\n"
    "most 1 MiB (larger: a mail client). send --json: {\"queued_for\",\n"
    "\"attachments\": [{\"file\", \"content_type\", \"size\"}]}.\n"
    "list shows a folder (INBOX by\n"
    "default; --json as the plugin gives it), read prints one message.\n";

static int mail_call(struct fastn_client *c, const char *method,
                     const void *arg, size_t len, uint8_t **out, size_t *n)
{
    int rc = fastn_client_plugin_call(c, "mail", method, arg, len, out, n);
    if (rc && strstr(fastn_client_error_message(c), "no plugin named"))
        return cli_error(CLI_EXIT_FAIL, rc,
                         "the mail plugin is not installed; install it with "
                         "fastn plugin install PREFIX/share/fastn/plugins/"
                         "mail.wasm");
    if (rc)
        return cli_fail(c, rc);
    return 0;
}

static unsigned port_of(const struct fastn_plugin_info *p, const char *name)
{
    for (size_t i = 0; p && i < p->n_local_listen; i++)
        if (!strcmp(p->local_listen[i].name, name))
            return p->local_listen[i].bound;
    return 0;
}

static int run_setup(struct cli *cli, struct fastn_client *c, const char *user)
{
    struct fastn_plugin_info *info = NULL;
    uint8_t *out = NULL;
    size_t n = 0;
    int rc = mail_call(c, "setup", user, user ? strlen(user) : 0, &out, &n);
    json_t *j = rc ? NULL : json_loadb((char *)out, n, 0, NULL);
    if (!rc && !j)
        rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_MALFORMED,
                       "the mail plugin answered no JSON: reinstall it");
    if (!rc)
        fastn_client_plugin_info(c, "mail", &info);
    if (!rc) {
        json_object_set_new(j, "smtp_host", json_string("127.0.0.1"));
        json_object_set_new(j, "smtp_port",
                            json_integer(port_of(info, "smtp")));
        json_object_set_new(j, "imap_host", json_string("127.0.0.1"));
        json_object_set_new(j, "imap_port",
                            json_integer(port_of(info, "imap")));
        if (cli->json) {
            char *s = json_dumps(j, JSON_COMPACT);
            printf("%s\n", s);
            free(s);
        } else
            printf("address   %s\nuser      %s\npassword  %s\n"
                   "smtp      127.0.0.1 port %u (no TLS, PLAIN or LOGIN)\n"
                   "imap      127.0.0.1 port %u (no TLS, plain password)\n",
                   json_string_value(json_object_get(j, "address")),
                   json_string_value(json_object_get(j, "user")),
                   json_string_value(json_object_get(j, "password")),
                   port_of(info, "smtp"), port_of(info, "imap"));
    }
    json_decref(j);
    fastn_plugin_info_free(info);
    fastn_free(out);
    return rc;
}

/* Reads stdin into body (at most max bytes; *n), or says why not. */
static int body_read(char *body, size_t max, size_t *n)
{
    *n = 0;
    for (;;) {
        ssize_t k = read(0, body + *n, max + 1 - *n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        *n += (size_t)k;
        if (*n > max)
            return cli_error(CLI_EXIT_FAIL, FASTN_ERR_TOO_LARGE,
                             "the body is over 1 MiB: send it with a mail "
                             "client (fastn mail setup)");
    }
    return 0;
}

static void send_print(struct cli *cli, const uint8_t *out, size_t on,
                       struct send_args *sa, const size_t *sizes)
{
    if (!cli->json) {
        printf("%.*s\n", (int)on, (const char *)out);
        return;
    }
    json_t *j = json_object(), *att = json_array();
    unsigned peers = 0;
    sscanf((const char *)out, "queued for %u", &peers);
    for (size_t i = 0; i < sa->n_attach; i++) {
        const char *f = sa->attach[i], *base = strrchr(f, '/');
        base = base ? base + 1 : f;
        json_array_append_new(att,
                              json_pack("{s:s, s:s, s:I}", "file", base,
                                        "content_type", mail_attach_type(base),
                                        "size", (json_int_t)sizes[i]));
    }
    json_object_set_new(j, "queued_for", json_integer(peers));
    json_object_set_new(j, "attachments", att);
    char *s = json_dumps(j, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    json_decref(j);
}

static int run_send(struct cli *cli, struct fastn_client *c,
                    struct send_args *sa)
{
    size_t tl = strlen(sa->to), sl = strlen(sa->subject), n = 0, on = 0;
    size_t hl = tl + sl + 2, cap = hl + MAIL_BODY_MAX + 300, tn = 0;
    char *arg = malloc(cap + 1), *text = NULL;
    size_t *sizes = calloc(sa->n_attach + 1, sizeof(*sizes));
    uint8_t *out = NULL;
    int rc = 0;
    if (!arg || !sizes || (sa->n_attach && !(text = malloc(MAIL_BODY_MAX + 1))))
        rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "out of memory");
    if (!rc) {
        memcpy(arg, sa->to, tl + 1);
        memcpy(arg + tl + 1, sa->subject, sl + 1);
    }
    if (!rc && !sa->n_attach)
        rc = body_read(arg + hl, MAIL_BODY_MAX, &n);
    if (!rc && !sa->n_attach && n == 0) /* an empty argument is none */
        arg[hl + n++] = '\n';
    if (!rc && sa->n_attach)
        rc = body_read(text, MAIL_BODY_MAX, &tn);
    if (!rc && sa->n_attach) {
        char ct[100];
        rc = mail_attach_build(text, tn, sa->attach, sa->n_attach, sizes, ct,
                               sizeof(ct), arg + hl, &n, MAIL_BODY_MAX);
        if (rc == FASTN_ERR_TOO_LARGE)
            rc = cli_error(CLI_EXIT_FAIL, rc,
                           "the message with its attachments is over the "
                           "1 MiB fastn mail send carries (attachments "
                           "grow by a third in base64): send large files "
                           "with a mail client (fastn mail setup)");
        if (!rc)
            n += (size_t)snprintf(arg + hl + n, cap - hl - n, "%c%s", 0, ct);
    }
    if (!rc)
        rc = mail_call(c, "send", arg, hl + n, &out, &on);
    if (!rc)
        send_print(cli, out, on, sa, sizes);
    fastn_free(out);
    free(text);
    free(sizes);
    free(arg);
    return rc;
}

static int run_list(struct cli *cli, struct fastn_client *c, const char *f)
{
    uint8_t *out = NULL;
    size_t n = 0;
    int rc = mail_call(c, "list", f, f ? strlen(f) : 0, &out, &n);
    json_t *j = rc ? NULL : json_loadb((char *)out, n, 0, NULL);
    if (!rc && cli->json)
        printf("%.*s\n", (int)n, (char *)out);
    else if (!rc && j) {
        json_t *m;
        size_t i;
        json_array_foreach(json_object_get(j, "messages"), i, m)
        {
            printf("%5lld  %-24.24s  %-30.30s  %s\n",
                   (long long)json_integer_value(json_object_get(m, "uid")),
                   json_string_value(json_object_get(m, "flags")),
                   json_string_value(json_object_get(m, "from")),
                   json_string_value(json_object_get(m, "subject")));
        }
    }
    json_decref(j);
    fastn_free(out);
    return rc;
}

static int run_read(struct fastn_client *c, const char *uid, const char *f)
{
    char arg[400];
    uint8_t *out = NULL;
    size_t n = 0;
    int k = snprintf(arg, sizeof(arg), "%s%c%s", uid, 0, f ? f : "INBOX");
    int rc = mail_call(c, "read", arg, (size_t)k, &out, &n);
    if (!rc)
        fwrite(out, 1, n, stdout);
    fastn_free(out);
    return rc;
}

/* Takes every --attach FILE (-a FILE) out of argv into sa. */
static int attach_take(const char *cmd, int *argc, char **argv,
                       struct send_args *sa)
{
    int k = 1;
    for (int i = 1; i < *argc; i++) {
        if (!strcmp(argv[i], "--")) {
            while (i < *argc)
                argv[k++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--attach") && strcmp(argv[i], "-a")) {
            argv[k++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc)
            return cli_usage_error(cmd, "--attach needs a file");
        if (sa->n_attach == ATTACH_MAX)
            return cli_usage_error(cmd, "at most 64 attachments");
        sa->attach[sa->n_attach++] = argv[++i];
    }
    *argc = k;
    return 0;
}

int cli_cmd_mail(struct cli *cli, int argc, char **argv)
{
    static const char *const words[] = {"address", "setup", "send", "list",
                                        "read"};
    const char *subject = NULL, *folder = NULL;
    const struct cli_opt opts[] = {{"--subject", "-s", &subject},
                                   {"--folder", "-f", &folder},
                                   {NULL, NULL, NULL}};
    char *pos[3];
    struct send_args sa = {0};
    int n, rc = attach_take(argv[0], &argc, argv, &sa);
    struct fastn_client *c;
    if (!rc)
        rc = cli_parse(cli, argc, argv, opts, pos, 3, &n);
    if (rc)
        return rc;
    const char *w = n ? pos[0] : "";
    size_t k;
    for (k = 0; k < 5 && strcmp(w, words[k]); k++)
        ;
    if (!n)
        return cli_usage_error(argv[0], "address, setup, send, list or read?");
    if (k == 5)
        return cli_unknown_word(argv[0], "command", w, words, 5);
    if (sa.n_attach && k != 2)
        return cli_usage_error(argv[0], "--attach is for send");
    if ((k == 2 && (n != 2 || !subject)) || (k == 4 && n != 2) ||
        ((k == 0 || k == 3) && n != 1) || (k == 1 && n > 2))
        return cli_usage_error(argv[0], "wrong arguments (see fastn mail "
                                        "--help)");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if (k == 0) {
        uint8_t *out = NULL;
        size_t on = 0;
        if (!(rc = mail_call(c, "address", NULL, 0, &out, &on)))
            printf(cli->json ? "{\"address\":\"%.*s\"}\n" : "%.*s\n", (int)on,
                   (char *)out);
        fastn_free(out);
    } else if (k == 1)
        rc = run_setup(cli, c, n == 2 ? pos[1] : NULL);
    else if (k == 2) {
        sa.to = pos[1];
        sa.subject = subject;
        rc = run_send(cli, c, &sa);
    } else if (k == 3)
        rc = run_list(cli, c, folder);
    else
        rc = run_read(c, pos[1], folder);
    fastn_client_free(c);
    return rc;
}
