/*
 * fastn notifications: the user's notifications (from plugins and the
 * daemon), read and unread; --follow keeps printing new ones as they
 * come (a subscription over the control socket).
 */
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "util/term.h"

const char cli_notify_usage[] =
    "usage: fastn notifications [--unread] [--limit N] [--follow] [--json]\n"
    "       fastn notifications read ID... | --all\n"
    "       fastn notifications unread ID...\n"
    "       fastn notifications count [--json]\n"
    "\n"
    "Lists the newest notifications (50 unless --limit), oldest first; an\n"
    "unread one is marked with *. --follow then prints each new one as it\n"
    "comes, until interrupted. `read` marks notifications read (--all: every\n"
    "one), `unread` marks them unread again, `count` prints how many are\n"
    "unread. --json prints one JSON object per notification (one per line\n"
    "with --follow).\n";

struct nopts {
    bool follow, unread_only, all;
    unsigned limit;
    const char *sub;
    int64_t ids[64];
    int n_ids;
};

static int usage_error(const char *msg)
{
    fprintf(stderr,
            "fastn notifications: %s; see fastn notifications "
            "--help\n",
            msg);
    return CLI_EXIT_USAGE;
}

static int parse(struct cli *cli, int argc, char **argv, struct nopts *o)
{
    memset(o, 0, sizeof(*o));
    o->limit = 50;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        char *end;
        if (!strcmp(s, "--json"))
            cli->json = true;
        else if (!strcmp(s, "--help") || !strcmp(s, "-h"))
            cli->help = true;
        else if (!strcmp(s, "--follow") || !strcmp(s, "-f"))
            o->follow = true;
        else if (!strcmp(s, "--unread"))
            o->unread_only = true;
        else if (!strcmp(s, "--all"))
            o->all = true;
        else if (!strcmp(s, "--limit") && i + 1 < argc) {
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1000)
                return usage_error("--limit wants 1..1000");
            o->limit = (unsigned)v;
        } else if (!o->sub && (!strcmp(s, "read") || !strcmp(s, "unread") ||
                               !strcmp(s, "count"))) {
            o->sub = s;
        } else if (o->sub && strcmp(o->sub, "count") && o->n_ids < 64) {
            long long v = strtoll(s, &end, 10);
            if (*end || v <= 0)
                return usage_error("IDs are positive numbers");
            o->ids[o->n_ids++] = v;
        } else {
            return usage_error("unexpected argument");
        }
    }
    return 0;
}

/* One notification as a JSON object (no newline), with "event" first
 * when given. */
static void print_json(const struct fastn_notification *n, const char *event)
{
    printf("{");
    if (event)
        printf("\"event\":\"%s\",", event);
    printf("\"id\":%" PRId64 ",\"time_ms\":%" PRId64 ",\"read\":%s,"
           "\"source\":",
           n->id, n->time_ms, n->read ? "true" : "false");
    json_string(stdout, n->source);
    printf(",\"title\":");
    json_string(stdout, n->title);
    printf(",\"body\":");
    json_string(stdout, n->body);
    printf("}");
}

static void print_one(struct cli *cli, const struct fastn_notification *n,
                      const char *event)
{
    if (cli->json) {
        print_json(n, event);
        printf("\n");
    } else {
        char t[32];
        time_t s = (time_t)(n->time_ms / 1000);
        struct tm tm;
        localtime_r(&s, &tm);
        strftime(t, sizeof(t), "%Y-%m-%d %H:%M", &tm);
        /* source, title and body come from plugins (and, through them,
         * from peers): escaped for the terminal */
        printf("%c#%-5" PRId64 " %s  ", n->read ? ' ' : '*', n->id, t);
        term_fputs(n->source, stdout, 0);
        printf(": ");
        term_fputs(n->title, stdout, 0);
        printf("\n");
        /* the body, indented line by line */
        for (const char *p = n->body; p && *p;) {
            const char *e = strchr(p, '\n');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            printf("        ");
            term_fwrite(p, len, stdout, 0);
            printf("\n");
            p = e ? e + 1 : NULL;
        }
    }
    fflush(stdout);
}

static int do_list(struct cli *cli, struct fastn_client *c, struct nopts *o,
                   int64_t *last)
{
    struct fastn_notify_query q = {.unread_only = o->unread_only,
                                   .limit = o->limit};
    struct fastn_notification_list *l = NULL;
    int rc = fastn_client_notifications(c, &q, &l);

    if (rc)
        return cli_fail(c, rc);
    if (cli->json && !o->follow)
        printf("{\"notifications\":[");
    for (size_t i = 0; i < l->n; i++) {
        if (cli->json && !o->follow && i)
            printf(",");
        if (cli->json && !o->follow) {
            print_json(&l->items[i], NULL); /* inside the list */
        } else {
            print_one(cli, &l->items[i], o->follow && cli->json ? "old" : NULL);
        }
        *last = l->items[i].id;
    }
    if (cli->json && !o->follow)
        printf("]}\n");
    else if (!cli->json && l->n == 0 && !o->follow)
        fprintf(stderr, "fastn: no notifications\n");
    fastn_notification_list_free(l);
    return 0;
}

/* Prints every new notification until the daemon goes away. */
static int follow(struct cli *cli, struct fastn_client *c, int64_t last)
{
    static const char *const kinds[] = {"", "new", "read", "all-read",
                                        "deleted"};
    struct fastn_notification *n = NULL;
    int kind, rc;

    if ((rc = fastn_client_notifications_subscribe(c, NULL)))
        return cli_fail(c, rc);
    for (;;) {
        rc = fastn_client_notifications_next(c, -1, &kind, &n);
        if (rc == FASTN_ERR_TIMEOUT)
            continue;
        if (rc)
            return cli_fail(c, rc);
        if (kind == FASTN_NOTIFY_NEW && n && n->id > last)
            print_one(cli, n, cli->json ? kinds[kind] : NULL);
        else if (cli->json && n)
            print_one(cli, n, kinds[kind]);
        else if (cli->json)
            printf("{\"event\":\"%s\"}\n", kinds[kind]), fflush(stdout);
        fastn_notification_free(n);
        n = NULL;
    }
}

static int do_mark(struct cli *cli, struct fastn_client *c, struct nopts *o)
{
    bool read = !strcmp(o->sub, "read");
    unsigned changed = 0, total = 0;
    int rc;

    if (o->all && read) {
        if ((rc = fastn_client_notifications_mark_read(c, 0, 1, &total)))
            return cli_fail(c, rc);
    } else if (o->n_ids == 0) {
        return usage_error("which notifications? give IDs (or --all)");
    }
    for (int i = 0; i < o->n_ids; i++) {
        rc = fastn_client_notifications_mark_read(c, o->ids[i], read, &changed);
        if (rc)
            return cli_fail(c, rc);
        total += changed;
    }
    if (cli->json)
        printf("{\"changed\":%u}\n", total);
    else
        printf("%u marked %s\n", total, read ? "read" : "unread");
    return 0;
}

int cli_cmd_notifications(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    struct nopts o;
    int64_t last = 0;
    unsigned count;
    int rc = parse(cli, argc, argv, &o);

    if (rc || cli->help)
        return rc;
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if (o.sub && !strcmp(o.sub, "count")) {
        rc = fastn_client_notifications_unread(c, NULL, &count);
        if (rc)
            rc = cli_fail(c, rc);
        else if (cli->json)
            printf("{\"unread\":%u}\n", count);
        else
            printf("%u\n", count);
    } else if (o.sub) {
        rc = do_mark(cli, c, &o);
    } else {
        rc = do_list(cli, c, &o, &last);
        if (!rc && o.follow)
            rc = follow(cli, c, last);
    }
    fastn_client_free(c);
    return rc;
}
