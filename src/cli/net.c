/* fastn's network commands: connect, disconnect, ping; and the argument
 * parser the commands share. */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "util/peer_id.h"
#include "util/term.h"

static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *a)
{
    for (const struct cli_opt *p = opts; p && p->name; p++)
        if (!strcmp(a, p->name) || (p->alias && !strcmp(a, p->alias)))
            return p;
    return NULL;
}

static const struct cli_flag *find_flag(const struct cli_flag *flags,
                                        const char *a)
{
    for (const struct cli_flag *p = flags; p && p->name; p++)
        if (!strcmp(a, p->name) || (p->alias && !strcmp(a, p->alias)))
            return p;
    return NULL;
}

/* An option neither of opts nor flags: the nearest of them suggested. */
static int unknown(const char *cmd, const char *a, const struct cli_opt *opts,
                   const struct cli_flag *flags)
{
    const char *known[64];
    size_t n = 0;

    for (const struct cli_opt *p = opts; p && p->name && n < 62; p++) {
        known[n++] = p->name;
        if (p->alias)
            known[n++] = p->alias;
    }
    for (const struct cli_flag *p = flags; p && p->name && n < 62; p++) {
        known[n++] = p->name;
        if (p->alias)
            known[n++] = p->alias;
    }
    return cli_unknown_option_of(cmd, a, known, n);
}

int cli_parse_flags(struct cli *cli, int argc, char **argv,
                    const struct cli_opt *opts, const struct cli_flag *flags,
                    char **pos, int max_pos, int *n_pos)
{
    *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct cli_opt *o = find_opt(opts, a);
        const struct cli_flag *f = find_flag(flags, a);
        if (!strcmp(a, "--json")) {
            cli->json = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            cli->help = true;
        } else if (!strcmp(a, "--")) {
            while (++i < argc && *n_pos < max_pos)
                pos[(*n_pos)++] = argv[i];
            if (i < argc)
                return cli_usage_error(argv[0], "too many arguments");
            break;
        } else if (f) {
            *f->value = true;
        } else if (o) {
            if (i + 1 >= argc) {
                char what[128];
                snprintf(what, sizeof(what), "%s needs a value", a);
                return cli_usage_error(argv[0], what);
            }
            *o->value = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return unknown(argv[0], a, opts, flags);
        } else if (*n_pos == max_pos) {
            char what[300];
            snprintf(what, sizeof(what), "unexpected argument '%.200s'", a);
            return cli_usage_error(argv[0], what);
        } else {
            pos[(*n_pos)++] = argv[i];
        }
    }
    return 0;
}

int cli_parse(struct cli *cli, int argc, char **argv,
              const struct cli_opt *opts, char **pos, int max_pos, int *n_pos)
{
    return cli_parse_flags(cli, argc, argv, opts, NULL, pos, max_pos, n_pos);
}

int cli_check_peer(const char *arg)
{
    struct peer_id id;

    if (peer_id_parse(arg, &id) == 0)
        return 0;
    return cli_error(CLI_EXIT_FAIL, FASTN_ERR_BAD_PEER_ID,
                     "not a valid PeerID: '%.80s' (a PeerID looks like "
                     "12D3KooW... and is what `fastn id` prints on that "
                     "machine)",
                     arg);
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

int cli_fail_protocol(struct fastn_client *c, const char *peer,
                      const char *protocol)
{
    struct fastn_peer_list *l = NULL;
    const struct fastn_peer *p = NULL;
    char list[2048] = "", b[512];
    const char *near = NULL;
    size_t used = 0;

    if (fastn_client_list_peers(c, &l) == 0)
        for (size_t i = 0; i < l->n_peers && !p; i++)
            if (!strcmp(l->peers[i].peer_id, peer))
                p = &l->peers[i];
    for (size_t i = 0; p && i < p->n_protocols && used < sizeof(list); i++)
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
                                 i ? ", " : "",
                                 term_safe(p->protocols[i], b, sizeof(b)));
    if (p)
        near = cli_nearest(protocol, (const char *const *)p->protocols,
                           p->n_protocols);
    if (p && near)
        cli_error(CLI_EXIT_FAIL, FASTN_ERR_NET_PROTO_NA,
                  "%s does not support the protocol %s (did you mean %s?); it "
                  "serves: %s",
                  peer, term_safe(protocol, b, sizeof(b)), near, list);
    else if (p && p->n_protocols)
        cli_error(CLI_EXIT_FAIL, FASTN_ERR_NET_PROTO_NA,
                  "%s does not support the protocol %s; it serves: %s", peer,
                  term_safe(protocol, b, sizeof(b)), list);
    else
        cli_fail(c, FASTN_ERR_NET_PROTO_NA);
    fastn_peer_list_free(l);
    return CLI_EXIT_FAIL;
}

/* What to do when a dial failed so. */
static const char *dial_hint(int err)
{
    switch (err) {
    case FASTN_ERR_NET_REFUSED:
    case FASTN_ERR_NET_UNREACHABLE:
    case FASTN_ERR_TIMEOUT:
    case FASTN_ERR_NET_HANDSHAKE:
        return "is fastnd running there, and is that its address? `fastn "
               "id` on that machine prints its addresses";
    case FASTN_ERR_NET_WRONG_PEER:
        return "another peer answers there: `fastn id` on that machine "
               "prints its PeerID and addresses";
    default:
        return NULL;
    }
}

static void sleep_secs(double secs)
{
    struct timespec ts = {(time_t)secs,
                          (long)((secs - (double)(time_t)secs) * 1e9)};
    nanosleep(&ts, NULL);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Whether peer is connected, and whether through a relay only. */
static int peer_path(struct fastn_client *c, const char *peer, bool *relayed)
{
    struct fastn_peer_list *l = NULL;
    bool found = false;
    int rc = fastn_client_list_peers(c, &l);

    if (rc)
        return rc;
    for (size_t i = 0; i < l->n_peers; i++)
        if (!strcmp(l->peers[i].peer_id, peer)) {
            found = true;
            *relayed = l->peers[i].relayed;
        }
    fastn_peer_list_free(l);
    return found ? 0 : FASTN_ERR_NOT_FOUND;
}

/* --wait-direct: after a relayed connect, the DCUtR upgrade, polled
 * every 10 ms until deadline (ms, as now_ms). Sets *punch_ms (from the
 * connect's answer) and returns NULL when direct, else why not. */
static const char *wait_direct(struct fastn_client *c, const char *peer,
                               double deadline, double *punch_ms)
{
    double t0 = now_ms();
    bool relayed = true;

    while (now_ms() < deadline) {
        if (peer_path(c, peer, &relayed) != 0)
            return "the connection closed";
        if (!relayed) {
            *punch_ms = now_ms() - t0;
            return NULL;
        }
        sleep_secs(0.01);
    }
    return "still relayed at --timeout: no hole punch succeeded (a NAT "
           "that changes ports, or the peer's addresses unreachable; "
           "fastnd's log says each attempt)";
}

static const char *found_name(enum fastn_found f)
{
    switch (f) {
    case FASTN_FOUND_CONNECTED:
        return "connected";
    case FASTN_FOUND_KNOWN:
        return "known";
    case FASTN_FOUND_DHT:
        return "dht";
    default:
        return "address";
    }
}

struct connect_run {
    char peer[FASTN_PEER_ID_MAX];
    struct fastn_connect_info info;
    double total_ms, punch_ms;
    bool asked, waited; /* --wait-direct; and the connection was relayed */
    const char *why;    /* still relayed after --wait-direct: why */
};

static void connect_print(struct cli *cli, const char *target,
                          const struct connect_run *r)
{
    const struct fastn_connect_info *in = &r->info;
    bool relayed = r->waited ? r->why != NULL : in->relayed;
    json_t *o;

    if (!cli->json) {
        printf("connected to %s\n", r->peer);
        if (!r->asked) /* the line scripts match, alone */
            return;
        if (in->found == FASTN_FOUND_DHT)
            printf("found in the DHT in %.1f ms; ", in->lookup_us / 1e3);
        else if (in->found == FASTN_FOUND_KNOWN)
            printf("known addresses; ");
        else if (in->found == FASTN_FOUND_CONNECTED)
            printf("connected already; ");
        printf("%s connection", in->relayed ? "relayed" : "direct");
        if (in->found != FASTN_FOUND_UNKNOWN)
            printf(" in %.1f ms", in->connect_us / 1e3);
        if (r->waited && !r->why)
            printf("; direct after %.1f ms more (hole punch)", r->punch_ms);
        printf("\n");
        if (r->why)
            printf("still relayed: %s\n", r->why);
        return;
    }
    o = json_pack("{s:o,s:o,s:o,s:o}", "peer_id", jstr(r->peer), "target",
                  jstr(target), "found", jstr(found_name(in->found)), "path",
                  jstr(relayed ? "relayed" : "direct"));
    if (in->found != FASTN_FOUND_UNKNOWN) {
        json_object_set_new(o, "lookup_ms", json_real(in->lookup_us / 1e3));
        json_object_set_new(o, "connect_ms", json_real(in->connect_us / 1e3));
        json_object_set_new(o, "connect_path",
                            jstr(in->relayed ? "relayed" : "direct"));
    }
    if (r->waited && in->relayed && !r->why)
        json_object_set_new(o, "punch_ms", json_real(r->punch_ms));
    if (r->why)
        json_object_set_new(o, "relayed_why", jstr(r->why));
    json_object_set_new(o, "total_ms", json_real(r->total_ms));
    cli_emit(o);
}

int cli_cmd_connect(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    struct connect_run r = {.punch_ms = 0};
    bool wait = false;
    const struct cli_flag flags[] = {{"--wait-direct", NULL, &wait},
                                     {NULL, NULL, NULL}};
    char *pos[1];
    double t0 = now_ms();
    int n, rc = cli_parse_flags(cli, argc, argv, NULL, flags, pos, 1, &n);

    if (rc)
        return rc;
    if (n != 1)
        return cli_usage_error(argv[0], "want a MULTIADDR (or a PeerID)");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    rc = fastn_client_peer_connect_info(c, pos[0], r.peer, &r.info);
    if (rc) {
        rc = cli_fail_hint(c, rc, dial_hint(rc));
        goto out;
    }
    r.asked = wait;
    if (wait && r.info.relayed) {
        r.waited = true;
        r.why = wait_direct(c, r.peer, t0 + cli->conn.timeout_ms, &r.punch_ms);
    } else if (wait) {
        bool relayed = false;
        /* the connection was there, or a multiaddr named: ask */
        if (peer_path(c, r.peer, &relayed) == 0 && relayed) {
            r.info.relayed = 1;
            r.waited = true;
            r.why =
                wait_direct(c, r.peer, t0 + cli->conn.timeout_ms, &r.punch_ms);
        }
    }
    r.total_ms = now_ms() - t0;
    connect_print(cli, pos[0], &r);
    if (r.waited && r.why)
        rc = CLI_EXIT_FAIL;
out:
    fastn_client_free(c);
    return rc;
}

int cli_cmd_disconnect(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    char *pos[1];
    int n, rc = cli_parse(cli, argc, argv, NULL, pos, 1, &n);

    if (rc)
        return rc;
    if (n != 1)
        return cli_usage_error(argv[0], "want a PEER");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    rc = fastn_client_peer_disconnect(c, pos[0]);
    if (rc)
        rc = cli_fail(c, rc);
    else if (cli->json)
        cli_emit(
            json_pack("{s:o,s:b}", "peer_id", jstr(pos[0]), "disconnected", 1));
    fastn_client_free(c);
    return rc;
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct ping_run {
    long count;
    double interval;
    double *ms;
    bool *relayed; /* the path each answer took */
    int ok, failed, last;
};

static void ping_summary(struct cli *cli, const char *peer,
                         const struct ping_run *r)
{
    double sum = 0, min = 0, max = 0;
    const double *ms = r->ms;
    int n = r->ok, failed = r->failed;
    json_t *a, *paths;

    for (int i = 0; i < n; i++) {
        sum += ms[i];
        min = i == 0 || ms[i] < min ? ms[i] : min;
        max = ms[i] > max ? ms[i] : max;
    }
    if (cli->json) {
        a = json_array();
        paths = json_array();
        for (int i = 0; i < n; i++) {
            json_array_append_new(a, json_real(ms[i]));
            json_array_append_new(paths,
                                  jstr(r->relayed[i] ? "relayed" : "direct"));
        }
        cli_emit(json_pack("{s:o,s:o,s:o,s:i,s:f,s:f,s:f}", "peer_id",
                           jstr(peer), "rtt_ms", a, "path", paths, "failed",
                           failed, "avg_ms", n ? sum / n : 0.0, "min_ms", min,
                           "max_ms", max));
    } else if (n) {
        printf("%d pings, %d failed: min %.3f ms, avg %.3f ms, max %.3f ms\n",
               n + failed, failed, min, sum / n, max);
    }
}

/* Whether the connection to peer (the one pings use) goes through a
 * relay: the daemon's peer list says. */
static bool ping_relayed(struct fastn_client *c, const char *peer)
{
    struct fastn_peer_list *l = NULL;
    bool relayed = false;

    if (fastn_client_list_peers(c, &l) != 0)
        return false;
    for (size_t i = 0; i < l->n_peers; i++)
        if (!strcmp(l->peers[i].peer_id, peer))
            relayed = l->peers[i].relayed;
    fastn_peer_list_free(l);
    return relayed;
}

/* The pings, each failure said at once (text) or kept for the end. */
static void ping_loop(struct cli *cli, struct fastn_client *c, const char *peer,
                      struct ping_run *r)
{
    for (long i = 0; i < r->count && !interrupted; i++) {
        uint64_t rtt;
        if (i)
            sleep_secs(r->interval);
        r->last = fastn_client_ping(c, peer, &rtt);
        if (r->last) {
            r->failed++;
            if (!cli->json)
                cli_fail(c, r->last);
            /* no point in asking again */
            if (r->last == FASTN_ERR_UNSUPPORTED ||
                r->last == FASTN_ERR_BAD_PEER_ID ||
                r->last == FASTN_ERR_NET_DIAL_SELF)
                break;
            continue;
        }
        r->relayed[r->ok] = ping_relayed(c, peer);
        r->ms[r->ok++] = (double)rtt / 1000.0;
        if (!cli->json)
            printf("%s: seq=%ld rtt=%.3f ms %s\n", peer, i + 1,
                   r->ms[r->ok - 1],
                   r->relayed[r->ok - 1] ? "relayed" : "direct");
        fflush(stdout);
    }
}

int cli_cmd_ping(struct cli *cli, int argc, char **argv)
{
    const char *count_s = NULL, *interval_s = NULL;
    const struct cli_opt opts[] = {{"-c", "--count", &count_s},
                                   {"-i", "--interval", &interval_s},
                                   {NULL, NULL, NULL}};
    struct ping_run r = {.count = 4, .interval = 1.0};
    char peer[FASTN_PEER_ID_MAX];
    struct fastn_client *c;
    char *pos[1], *end;
    int n, rc = cli_parse(cli, argc, argv, opts, pos, 1, &n);

    if (rc)
        return rc;
    if (n != 1)
        return cli_usage_error(argv[0], "want a PEER");
    if (count_s &&
        ((r.count = strtol(count_s, &end, 10)) < 1 || *end || r.count > 100000))
        return cli_usage_error(argv[0], "-c wants a count from 1");
    if (interval_s && ((r.interval = strtod(interval_s, &end)) < 0 || *end ||
                       r.interval > 3600))
        return cli_usage_error(argv[0], "-i wants seconds");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if ((rc = cli_resolve_peer(cli, c, pos[0], peer))) {
        fastn_client_free(c);
        return rc;
    }
    r.ms = calloc((size_t)r.count, sizeof(*r.ms));
    r.relayed = calloc((size_t)r.count, sizeof(*r.relayed));
    if (!r.ms || !r.relayed) {
        free(r.ms);
        free(r.relayed);
        fastn_client_free(c);
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "out of memory");
    }
    signal(SIGINT, on_interrupt);
    ping_loop(cli, c, peer, &r);
    /* with nothing answered, the failure is the result (JSON: its error
     * object, never a summary of pings that did not happen) */
    if (r.ok == 0 && r.last && cli->json)
        cli_fail(c, r.last);
    else
        ping_summary(cli, peer, &r);
    free(r.ms);
    free(r.relayed);
    fastn_client_free(c);
    return r.ok ? 0 : CLI_EXIT_FAIL;
}
