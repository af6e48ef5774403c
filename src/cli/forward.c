/*
 * fastn forward and fastn expose: TCP port forwarding over p2p streams,
 * run by the daemon (no byte passes through this program). The command
 * holds the forward: it lasts until Ctrl-C / SIGTERM, or until the daemon
 * goes away (exit 1). Once a second it asks the daemon for the forward's
 * counters and reports refused and failed streams on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/term.h"

const char cli_forward_usage[] =
    "usage: fastn forward [HOST:]PORT PEER [--protocol P] [--json]\n"
    "       fastn forward --list [--json]\n"
    "\n"
    "Makes the daemon listen on HOST:PORT (HOST defaults to 127.0.0.1; PORT\n"
    "0 picks a free one; [IPV6]:PORT for IPv6) and, for each connection,\n"
    "open a stream to PEER for protocol P (default /fastn/forward/1.0.0)\n"
    "and carry the connection's bytes both ways. The peer serves it with\n"
    "`fastn expose`. The forward lasts until this command ends (Ctrl-C);\n"
    "connections already open then go on to their own end.\n"
    "\n"
    "Prints \"forwarding HOST:PORT -> PEER (P)\" once listening (--json:\n"
    "{\"id\", \"listen\", \"host\", \"port\", \"peer_id\", \"protocol\"}).\n"
    "--list prints the daemon's forwards and exposes instead.\n"
    "\n"
    "  # on the machine with sshd:   fastn expose 127.0.0.1:22 --allow ME\n"
    "  # here:                       fastn forward 2222 THAT_PEER &\n"
    "  ssh -p 2222 localhost\n";

const char cli_expose_usage[] =
    "usage: fastn expose HOST:PORT [--allow PEER]... [--protocol P] [--json]\n"
    "\n"
    "Makes the daemon serve protocol P (default /fastn/forward/1.0.0): each\n"
    "stream from a peer given with --allow is connected to HOST:PORT (a\n"
    "bare PORT means 127.0.0.1:PORT), and the bytes flow both ways. Streams\n"
    "from any other peer are reset and logged; without --allow every peer\n"
    "is refused. Expose several services under several protocol ids. It\n"
    "lasts until this command ends (Ctrl-C).\n"
    "\n"
    "Prints \"exposing HOST:PORT as P to N peer(s)\" once serving (--json:\n"
    "{\"id\", \"target\", \"protocol\", \"allow\"}); refused streams are\n"
    "reported on stderr.\n";

#define MAX_ALLOW 256

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

/* Reports what changed since the last look; false when the forward is
 * gone (the daemon went away). */
static bool watch_step(struct fastn_forward *f, struct fastn_forward_info *last)
{
    struct fastn_forward_info now;
    int rc = fastn_forward_info(f, &now);

    if (rc == FASTN_ERR_CLOSED || rc == FASTN_ERR_NOT_FOUND)
        return false;
    if (rc)
        return true; /* a slow answer: look again later */
    if (now.refused > last->refused)
        fprintf(stderr,
                "fastn: refused %" PRIu64 " stream(s) from peers not on the "
                "allow list (last: %s)\n",
                now.refused - last->refused, now.last_refused);
    if (now.failed > last->failed)
        fprintf(stderr, "fastn: %" PRIu64 " %s (see the daemon's log)\n",
                now.failed - last->failed,
                now.expose ? "stream(s) could not reach the target"
                           : "connection(s) got no stream to the peer");
    *last = now;
    return true;
}

/* Holds the forward until a signal or the daemon's end. */
static int hold(struct fastn_forward *f, const struct fastn_forward_info *info)
{
    struct fastn_forward_info last = *info;

    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    while (!stop) {
        struct pollfd p = {fastn_forward_fd(f), POLLIN, 0};
        int n = poll(&p, 1, 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 || !watch_step(f, &last)) {
            fprintf(stderr, "fastn: the daemon went away; the %s ended\n",
                    info->expose ? "expose" : "forward");
            return CLI_EXIT_FAIL;
        }
    }
    return 0;
}

static void print_forward(struct cli *cli, const struct fastn_forward_info *i)
{
    if (cli->json) {
        printf("{\"id\":%" PRIu64 ",\"listen\":", i->id);
        json_string(stdout, i->listen);
        printf(",\"host\":");
        json_string(stdout, i->host);
        printf(",\"port\":%d,\"peer_id\":", i->port);
        json_string(stdout, i->peer_id);
        printf(",\"protocol\":");
        json_string(stdout, i->protocol);
        printf("}\n");
    } else {
        printf(strchr(i->host, ':') ? "forwarding [%s]:%d -> %s (%s)\n"
                                    : "forwarding %s:%d -> %s (%s)\n",
               i->host, i->port, i->peer_id, i->protocol);
    }
    fflush(stdout);
}

static int list_forwards(struct cli *cli, struct fastn_client *c)
{
    struct fastn_forward_info *v = NULL;
    size_t n = 0;
    int rc = fastn_client_forwards(c, &v, &n);

    if (rc)
        return cli_fail(c, rc);
    if (cli->json)
        printf("{\"forwards\":[");
    for (size_t i = 0; i < n; i++) {
        const struct fastn_forward_info *f = &v[i];
        char b1[256], b2[256], b3[256];
        if (cli->json) {
            printf("%s{\"id\":%" PRIu64 ",\"kind\":\"%s\",\"protocol\":",
                   i ? "," : "", f->id, f->expose ? "expose" : "forward");
            json_string(stdout, f->protocol);
            printf(",\"%s\":", f->expose ? "target" : "listen");
            json_string(stdout, f->expose ? f->target : f->listen);
            if (!f->expose) {
                printf(",\"peer_id\":");
                json_string(stdout, f->peer_id);
            }
            printf(",\"allow\":%zu,\"connections\":%" PRIu64
                   ",\"refused\":%" PRIu64 ",\"failed\":%" PRIu64 "}",
                   f->n_allow, f->connections, f->refused, f->failed);
        } else if (f->expose) {
            /* another client's strings: escaped for the terminal */
            printf("expose  %s as %s, %zu peer(s) allowed: %" PRIu64
                   " connections, %" PRIu64 " refused, %" PRIu64 " failed\n",
                   term_safe(f->target, b1, sizeof(b1)),
                   term_safe(f->protocol, b2, sizeof(b2)), f->n_allow,
                   f->connections, f->refused, f->failed);
        } else {
            printf("forward %s -> %s (%s): %" PRIu64 " connections, %" PRIu64
                   " failed\n",
                   term_safe(f->listen, b1, sizeof(b1)),
                   term_safe(f->peer_id, b2, sizeof(b2)),
                   term_safe(f->protocol, b3, sizeof(b3)), f->connections,
                   f->failed);
        }
    }
    if (cli->json)
        printf("]}\n");
    else if (!n)
        fprintf(stderr, "fastn: no forwards or exposes\n");
    free(v);
    return 0;
}

/* Takes the flags the common parser does not know (--list, and each
 * --allow PEER) out of argv into av. */
static int split_args(int argc, char **argv, char **av, int *ac,
                      const char **allow, size_t max_allow, size_t *n_allow,
                      bool *list)
{
    *ac = 0;
    for (int i = 0; i < argc; i++) {
        if (i && !strcmp(argv[i], "--list")) {
            *list = true;
        } else if (i && !strcmp(argv[i], "--allow")) {
            if (i + 1 >= argc)
                return cli_usage_error(argv[0], "--allow wants a PeerID");
            if (*n_allow == max_allow)
                return cli_usage_error(argv[0], "too many --allow");
            allow[(*n_allow)++] = argv[++i];
        } else {
            av[(*ac)++] = argv[i];
        }
    }
    return 0;
}

int cli_cmd_forward(struct cli *cli, int argc, char **argv)
{
    const char *proto = NULL, *allow[1];
    const struct cli_opt opts[] = {{"--protocol", "-p", &proto},
                                   {NULL, NULL, NULL}};
    char peer[FASTN_PEER_ID_MAX], *pos[2], **av;
    struct fastn_forward_info info;
    struct fastn_forward *f = NULL;
    struct fastn_client *c;
    size_t n_allow = 0;
    bool list = false;
    int ac, n, rc;

    if (!(av = calloc((size_t)argc + 1, sizeof(*av))))
        return CLI_EXIT_FAIL;
    rc = split_args(argc, argv, av, &ac, allow, 1, &n_allow, &list);
    if (!rc && n_allow)
        rc = cli_usage_error(argv[0], "--allow belongs to fastn expose");
    if (!rc)
        rc = cli_parse(cli, ac, av, opts, pos, 2, &n);
    free(av);
    if (rc || cli->help)
        return rc;
    if (list ? n != 0 : n != 2)
        return cli_usage_error(argv[0], list ? "--list takes no arguments"
                                             : "want [HOST:]PORT and PEER");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if (list) {
        rc = list_forwards(cli, c);
        fastn_client_free(c);
        return rc;
    }
    if (!(rc = cli_resolve_peer(cli, c, pos[1], peer))) {
        rc = fastn_forward_open(c, pos[0], peer, proto, &f);
        if (!rc)
            rc = fastn_forward_info(f, &info);
        if (rc) {
            rc = rc == FASTN_ERR_BAD_MULTIADDR
                     ? cli_usage_error(argv[0], "[HOST:]PORT is like 2222, "
                                                "127.0.0.1:2222 or [::1]:2222")
                     : cli_fail(c, rc);
        } else {
            print_forward(cli, &info);
            rc = hold(f, &info);
        }
    }
    fastn_forward_free(f);
    fastn_client_free(c);
    return rc;
}

/* A multiaddr as people write it: /ip4/H/tcp/P -> H:P, /ip6/H/tcp/P ->
 * [H]:P; anything else (/unix/...) as it is. */
static void ma_human(const char *ma, char *out, size_t n)
{
    char host[64];
    unsigned port;
    int used = 0;

    if (sscanf(ma, "/ip4/%63[^/]/tcp/%u%n", host, &port, &used) == 2 &&
        !ma[used])
        snprintf(out, n, "%s:%u", host, port);
    else if (sscanf(ma, "/ip6/%63[^/]/tcp/%u%n", host, &port, &used) == 2 &&
             !ma[used])
        snprintf(out, n, "[%s]:%u", host, port);
    else
        snprintf(out, n, "%s", ma);
}

static void print_expose(struct cli *cli, const struct fastn_forward_info *i,
                         const char *const *allow, size_t n_allow)
{
    if (cli->json) {
        printf("{\"id\":%" PRIu64 ",\"target\":", i->id);
        json_string(stdout, i->target);
        printf(",\"protocol\":");
        json_string(stdout, i->protocol);
        printf(",\"allow\":");
        json_string_list(stdout, (char *const *)allow, n_allow);
        printf("}\n");
    } else {
        char target[300];
        ma_human(i->target, target, sizeof(target));
        printf("exposing %s as %s to %zu peer(s)\n", target, i->protocol,
               n_allow);
    }
    fflush(stdout);
}

int cli_cmd_expose(struct cli *cli, int argc, char **argv)
{
    const char *proto = NULL, *allow[MAX_ALLOW];
    const struct cli_opt opts[] = {{"--protocol", "-p", &proto},
                                   {NULL, NULL, NULL}};
    struct fastn_forward_info info;
    struct fastn_forward *f = NULL;
    struct fastn_client *c;
    char *pos[1], **av;
    size_t n_allow = 0;
    bool list = false;
    int ac, n, rc;

    if (!(av = calloc((size_t)argc + 1, sizeof(*av))))
        return CLI_EXIT_FAIL;
    rc = split_args(argc, argv, av, &ac, allow, MAX_ALLOW, &n_allow, &list);
    if (!rc && list)
        rc = cli_usage_error(argv[0], "--list belongs to fastn forward");
    if (!rc)
        rc = cli_parse(cli, ac, av, opts, pos, 1, &n);
    free(av);
    if (rc || cli->help)
        return rc;
    if (n != 1)
        return cli_usage_error(argv[0], "want HOST:PORT");
    if (!n_allow)
        fprintf(stderr, "fastn expose: no --allow given: every peer will be "
                        "refused\n");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    rc = fastn_expose_open(c, pos[0], allow, n_allow, proto, &f);
    if (!rc)
        rc = fastn_forward_info(f, &info);
    if (rc == FASTN_ERR_BAD_MULTIADDR)
        rc = cli_usage_error(argv[0], "HOST:PORT is like 127.0.0.1:22 or "
                                      "[::1]:22");
    else if (rc == FASTN_ERR_BAD_PEER_ID)
        rc = cli_usage_error(argv[0], "--allow wants a PeerID (12D3KooW...)");
    else if (rc)
        rc = cli_fail(c, rc);
    if (!rc) {
        print_expose(cli, &info, allow, n_allow);
        rc = hold(f, &info);
    }
    fastn_forward_free(f);
    fastn_client_free(c);
    return rc;
}
