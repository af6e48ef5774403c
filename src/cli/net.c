/* fastn's network commands: connect, disconnect, ping. */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

int cli_parse(struct cli *cli, int argc, char **argv,
              const struct cli_opt *opts, char **pos, int max_pos, int *n_pos)
{
    *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct cli_opt *o = NULL;
        if (!strcmp(a, "--json")) {
            cli->json = true;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli->help = true;
            continue;
        }
        if (!strcmp(a, "--")) {
            while (++i < argc && *n_pos < max_pos)
                pos[(*n_pos)++] = argv[i];
            break;
        }
        for (const struct cli_opt *p = opts; p && p->name; p++)
            if (!strcmp(a, p->name) || (p->alias && !strcmp(a, p->alias)))
                o = p;
        if (o) {
            if (i + 1 >= argc) {
                fprintf(stderr, "fastn %s: %s needs a value\n", argv[0], a);
                return CLI_EXIT_USAGE;
            }
            *o->value = argv[++i];
            continue;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr,
                    "fastn %s: unknown option '%s'; see fastn %s --help\n",
                    argv[0], a, argv[0]);
            return CLI_EXIT_USAGE;
        }
        if (*n_pos == max_pos) {
            fprintf(stderr,
                    "fastn %s: unexpected argument '%s'; see fastn %s --help\n",
                    argv[0], a, argv[0]);
            return CLI_EXIT_USAGE;
        }
        pos[(*n_pos)++] = argv[i];
    }
    return 0;
}

int cli_usage_error(const char *cmd, const char *what)
{
    fprintf(stderr, "fastn %s: %s; see fastn %s --help\n", cmd, what, cmd);
    return CLI_EXIT_USAGE;
}

int cli_resolve_peer(struct cli *cli, struct fastn_client *c, const char *arg,
                     char peer[FASTN_PEER_ID_MAX])
{
    int rc;

    (void)cli;
    if (arg[0] != '/') {
        snprintf(peer, FASTN_PEER_ID_MAX, "%s", arg);
        return 0;
    }
    rc = fastn_client_peer_connect(c, arg, peer);
    return rc ? cli_fail(c, rc) : 0;
}

int cli_cmd_connect(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    char peer[FASTN_PEER_ID_MAX];
    char *pos[1];
    int n, rc = cli_parse(cli, argc, argv, NULL, pos, 1, &n);

    if (rc || cli->help)
        return rc;
    if (n != 1)
        return cli_usage_error(argv[0], "want a MULTIADDR (or a PeerID)");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    rc = fastn_client_peer_connect(c, pos[0], peer);
    if (rc) {
        rc = cli_fail(c, rc);
    } else if (cli->json) {
        printf("{\"peer_id\":");
        json_put_string(stdout, peer);
        printf(",\"target\":");
        json_put_string(stdout, pos[0]);
        printf("}\n");
    } else {
        printf("connected to %s\n", peer);
    }
    fastn_client_free(c);
    return rc;
}

int cli_cmd_disconnect(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    char *pos[1];
    int n, rc = cli_parse(cli, argc, argv, NULL, pos, 1, &n);

    if (rc || cli->help)
        return rc;
    if (n != 1)
        return cli_usage_error(argv[0], "want a PEER");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    rc = fastn_client_peer_disconnect(c, pos[0]);
    if (rc)
        rc = cli_fail(c, rc);
    else if (cli->json)
        printf("{\"peer_id\":\"%s\",\"disconnected\":true}\n", pos[0]);
    fastn_client_free(c);
    return rc;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void sleep_secs(double secs)
{
    struct timespec ts = {(time_t)secs,
                          (long)((secs - (double)(time_t)secs) * 1e9)};
    nanosleep(&ts, NULL);
}

static void ping_summary(struct cli *cli, const char *peer, const double *ms,
                         int n, int failed)
{
    double sum = 0, min = 0, max = 0;

    for (int i = 0; i < n; i++) {
        sum += ms[i];
        min = i == 0 || ms[i] < min ? ms[i] : min;
        max = ms[i] > max ? ms[i] : max;
    }
    if (cli->json) {
        printf("{\"peer_id\":");
        json_put_string(stdout, peer);
        printf(",\"rtt_ms\":[");
        for (int i = 0; i < n; i++)
            printf(i ? ",%.3f" : "%.3f", ms[i]);
        printf("],\"failed\":%d,\"avg_ms\":%.3f,\"min_ms\":%.3f,"
               "\"max_ms\":%.3f}\n",
               failed, n ? sum / n : 0.0, min, max);
    } else if (n) {
        printf("%d pings, %d failed: min %.3f ms, avg %.3f ms, max %.3f ms\n",
               n + failed, failed, min, sum / n, max);
    }
}

int cli_cmd_ping(struct cli *cli, int argc, char **argv)
{
    const char *count_s = NULL, *interval_s = NULL;
    const struct cli_opt opts[] = {{"-c", "--count", &count_s},
                                   {"-i", "--interval", &interval_s},
                                   {NULL, NULL, NULL}};
    char peer[FASTN_PEER_ID_MAX];
    struct fastn_client *c;
    char *pos[1], *end;
    long count = 4;
    double interval = 1.0, *ms;
    int n, ok = 0, failed = 0, last = 0;
    int rc = cli_parse(cli, argc, argv, opts, pos, 1, &n);

    if (rc || cli->help)
        return rc;
    if (n != 1)
        return cli_usage_error(argv[0], "want a PEER");
    if (count_s &&
        ((count = strtol(count_s, &end, 10)) < 1 || *end || count > 100000))
        return cli_usage_error(argv[0], "-c wants a count from 1");
    if (interval_s &&
        ((interval = strtod(interval_s, &end)) < 0 || *end || interval > 3600))
        return cli_usage_error(argv[0], "-i wants seconds");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if ((rc = cli_resolve_peer(cli, c, pos[0], peer))) {
        fastn_client_free(c);
        return rc;
    }
    ms = calloc((size_t)count, sizeof(*ms));
    signal(SIGINT, on_interrupt);
    for (long i = 0; ms && i < count && !interrupted; i++) {
        uint64_t rtt;
        if (i)
            sleep_secs(interval);
        last = fastn_client_ping(c, peer, &rtt);
        if (last) {
            failed++;
            cli_fail(c, last);
            if (last == FASTN_ERR_UNSUPPORTED || last == FASTN_ERR_BAD_PEER_ID)
                break;
            continue;
        }
        ms[ok++] = (double)rtt / 1000.0;
        if (!cli->json)
            printf("%s: seq=%ld rtt=%.3f ms\n", peer, i + 1, ms[ok - 1]);
        fflush(stdout);
    }
    ping_summary(cli, peer, ms, ok, failed);
    free(ms);
    fastn_client_free(c);
    return ok ? 0 : CLI_EXIT_FAIL;
}
