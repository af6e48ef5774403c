/*
 * fastn mail address|setup|send|list|read: thin commands over the mail
 * plugin's calls (docs/MAIL.md). setup adds the local ports the daemon
 * serves SMTP and IMAP on (plugin info), so the output is what a mail
 * client needs.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/mail.h"

/* send_data's id and body bytes: a call may carry 1 MiB, but the plugin
 * stores what a call brings within its slice of the event loop (10 ms by
 * default), interpreted: 64 KiB, one chunk of its store, keeps it far
 * within, on a loaded machine too (1 MiB did not). */
#define MAIL_CALL_MAX (4u + 65536)
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
    "with its name and a content type from its extension. The message\n"
    "streams to the plugin in pieces, up to its limit (25 MiB unless the\n"
    "setting size_max says otherwise). send --json: {\"queued_for\",\n"
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

static void send_print(struct cli *cli, const uint8_t *out, size_t on,
                       struct send_args *sa, const uint64_t *sizes)
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

/* A staged send: the body goes to the plugin in send_data calls of at
 * most a call's size (buf: 4 bytes of the send's id, then body bytes). */
struct sender {
    struct fastn_client *c;
    uint8_t *buf;
    size_t len;
    uint64_t sent, total; /* total: an estimate, for the progress line */
    bool progress;
};

static int sender_flush(struct sender *s)
{
    uint8_t *out = NULL;
    size_t n = 0;
    if (s->len <= 4)
        return 0;
    int rc = mail_call(s->c, "send_data", s->buf, s->len, &out, &n);
    fastn_free(out);
    s->sent += s->len - 4;
    s->len = 4;
    if (!rc && s->progress)
        fprintf(stderr, "\rsending: %.1f of %.1f MiB", s->sent / 1048576.0,
                (s->total > s->sent ? s->total : s->sent) / 1048576.0);
    return rc;
}

static int sender_write(void *ctx, const void *p, size_t n)
{
    struct sender *s = ctx;
    int rc = 0;
    while (!rc && n) {
        if (s->len == MAIL_CALL_MAX && (rc = sender_flush(s)))
            break;
        size_t k = MAIL_CALL_MAX - s->len < n ? MAIL_CALL_MAX - s->len : n;
        memcpy(s->buf + s->len, p, k);
        s->len += k;
        p = (const uint8_t *)p + k;
        n -= k;
    }
    return rc;
}

/* The body without attachments: stdin as it is (an empty one: a newline). */
static int send_plain(struct sender *s)
{
    uint8_t in[65536];
    uint64_t got = 0;
    int rc = 0;
    while (!rc) {
        ssize_t k = read(0, in, sizeof(in));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO,
                             "reading the body: %s", strerror(errno));
        if (k == 0)
            break;
        got += (uint64_t)k;
        rc = sender_write(s, in, (size_t)k);
    }
    return rc ? rc : got ? 0 : sender_write(s, "\n", 1);
}

/* send_begin: the id into s->buf, the plugin's size limit into *max. */
static int send_begin(struct sender *s, struct send_args *sa, const char *ct,
                      uint64_t *max)
{
    size_t tl = strlen(sa->to), sl = strlen(sa->subject), cl = strlen(ct);
    char *arg = malloc(tl + sl + cl + 3);
    uint8_t *out = NULL;
    size_t n = 0;
    unsigned long id = 0;
    unsigned long long m = 0;
    if (!arg)
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "out of memory");
    memcpy(arg, sa->to, tl + 1);
    memcpy(arg + tl + 1, sa->subject, sl + 1);
    memcpy(arg + tl + sl + 2, ct, cl + 1);
    int rc = mail_call(s->c, "send_begin", arg, tl + sl + cl + 2, &out, &n);
    free(arg);
    if (!rc) {
        char line[64];
        snprintf(line, sizeof(line), "%.*s", (int)n, (char *)out);
        if (sscanf(line, "%lu %llu", &id, &m) != 2 || !id)
            rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_MALFORMED,
                           "the mail plugin does not know send_begin: "
                           "update it (fastn plugin install ...)");
    }
    fastn_free(out);
    for (int i = 0; i < 4; i++)
        s->buf[i] = (uint8_t)(id >> (8 * i));
    s->len = 4;
    *max = m;
    return rc;
}

static int send_end(struct cli *cli, struct sender *s, struct send_args *sa,
                    const uint64_t *sizes)
{
    uint8_t *out = NULL;
    size_t n = 0;
    int rc = sender_flush(s);
    if (s->progress)
        fputc('\n', stderr);
    if (!rc)
        rc = mail_call(s->c, "send_end", s->buf, 4, &out, &n);
    if (!rc)
        send_print(cli, out, n, sa, sizes);
    fastn_free(out);
    return rc;
}

static int too_large(uint64_t max)
{
    return cli_error(CLI_EXIT_FAIL, FASTN_ERR_TOO_LARGE,
                     "the message with its attachments (about a third larger "
                     "in base64) is over the mail plugin's limit of %llu "
                     "bytes (%.1f MiB; the setting size_max: fastn plugin "
                     "call mail set size_max BYTES)",
                     (unsigned long long)max, max / 1048576.0);
}

/* send: send_begin, the body in send_data calls as it is read (stdin,
 * the files in base64), send_end; send_abort after an error. */
static int run_send(struct cli *cli, struct fastn_client *c,
                    struct send_args *sa)
{
    struct sender s = {.c = c, .buf = malloc(MAIL_CALL_MAX)};
    uint64_t sizes[ATTACH_MAX] = {0}, max = 0;
    int fds[ATTACH_MAX];
    char bd[40] = "", ct[100] = "";
    struct mail_sink sink = {sender_write, &s};
    int rc = s.buf ? 0 : cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "no memory");
    if (!rc && sa->n_attach &&
        !(rc = mail_attach_ctype(bd, sizeof(bd), ct, sizeof(ct))))
        rc = mail_attach_open(sa->attach, sa->n_attach, fds, sizes);
    if (rc) {
        free(s.buf);
        return rc;
    }
    s.total = mail_attach_size(sizes, sa->n_attach);
    s.progress = !cli->json && isatty(2) && s.total > 4u << 20;
    rc = send_begin(&s, sa, ct, &max);
    if (!rc && sa->n_attach && s.total > max)
        rc = too_large(max);
    if (!rc && sa->n_attach)
        rc = mail_attach_write(0, sa->attach, fds, sa->n_attach, bd, &sink);
    else if (!rc)
        rc = send_plain(&s);
    if (!rc)
        rc = send_end(cli, &s, sa, sizes);
    else if (s.len >= 4 && (s.buf[0] | s.buf[1] | s.buf[2] | s.buf[3])) {
        uint8_t *out = NULL; /* ends the staged message, if it still is */
        size_t n = 0;
        if (s.progress)
            fputc('\n', stderr);
        fastn_client_plugin_call(c, "mail", "send_abort", s.buf, 4, &out, &n);
        fastn_free(out);
    }
    for (size_t i = 0; i < sa->n_attach; i++)
        close(fds[i]);
    free(s.buf);
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
