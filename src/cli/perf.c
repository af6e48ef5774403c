/*
 * fastn perf: throughput to a peer measured by the daemon itself
 * (/perf/1.0.0: it generates the upload and discards the download, so no
 * byte passes through this program). Progress once a second on stderr;
 * a run that moves no byte for --timeout seconds is stopped.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

const char cli_perf_usage[] =
    "usage: fastn perf PEER [--upload BYTES] [--download BYTES] [-q] "
    "[--json]\n"
    "\n"
    "Measures throughput to PEER over one /perf/1.0.0 stream, run by the\n"
    "daemon itself: it sends BYTES up, the peer sends BYTES back, and the\n"
    "daemon generates and discards them (no byte passes through this\n"
    "program). BYTES is a number with an optional binary suffix: 1K = 1024,\n"
    "1M, 1G, 1T (default 0 each way). PEER is a PeerID or a multiaddr with\n"
    "/p2p/.\n"
    "\n"
    "Prints, for each direction, the bytes, the seconds and MB/s (MB = 10^6\n"
    "bytes). The upload is timed from the stream's open to the first byte\n"
    "of the reply (the peer answers once it has read everything), the\n"
    "download from then to the reply's end. Progress goes to stderr once a\n"
    "second (-q: none). A run that moves no byte for --timeout seconds\n"
    "(default 10) is stopped.\n"
    "\n"
    "--json: {\"peer_id\", \"upload_bytes\", \"upload_s\", \"upload_MBps\",\n"
    "\"download_bytes\", \"download_s\", \"download_MBps\", \"open_ms\",\n"
    "\"total_s\"}\n";

/* "123", "64K", "1M", "2G", "1T" (binary multiples). */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    if (!s || *s < '0' || *s > '9')
        return -1;
    v = strtoull(s, &end, 10);
    switch (*end) {
    case 'K':
    case 'k':
        shift = 10;
        end++;
        break;
    case 'M':
    case 'm':
        shift = 20;
        end++;
        break;
    case 'G':
    case 'g':
        shift = 30;
        end++;
        break;
    case 'T':
    case 't':
        shift = 40;
        end++;
        break;
    default:
        break;
    }
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static double secs(uint64_t us)
{
    return (double)us / 1e6;
}

static double mbps(uint64_t bytes, uint64_t us)
{
    return us ? (double)bytes / (double)us : 0.0; /* bytes/us = MB/s */
}

static void human(char *out, size_t n, uint64_t bytes)
{
    if (bytes >= (1ull << 30))
        snprintf(out, n, "%.2f GiB", (double)bytes / (1ull << 30));
    else if (bytes >= (1ull << 20))
        snprintf(out, n, "%.1f MiB", (double)bytes / (1ull << 20));
    else
        snprintf(out, n, "%" PRIu64 " B", bytes);
}

struct perf_watch {
    bool quiet;
    int stall_ms;
    uint64_t last_bytes, last_us;
    int64_t still_since;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int on_progress(void *arg, const struct fastn_perf_result *r)
{
    struct perf_watch *w = arg;
    uint64_t moved = r->uploaded + r->downloaded;
    char up[32], down[32];

    if (moved != w->last_bytes || !w->still_since) {
        w->still_since = mono_ms();
    } else if (mono_ms() - w->still_since >= w->stall_ms) {
        return 1; /* said by the caller */
    }
    if (!w->quiet && r->elapsed_us) {
        uint64_t dt = r->elapsed_us - w->last_us;
        human(up, sizeof(up), r->uploaded);
        human(down, sizeof(down), r->downloaded);
        fprintf(stderr,
                "fastn perf: %.1f s: sent %s, received %s (%.0f MB/s)\n",
                secs(r->elapsed_us), up, down, mbps(moved - w->last_bytes, dt));
    }
    w->last_bytes = moved;
    w->last_us = r->elapsed_us;
    return 0;
}

static void perf_print(struct cli *cli, const char *peer,
                       const struct fastn_perf_result *r)
{
    double up = mbps(r->uploaded, r->upload_us);
    double down = mbps(r->downloaded, r->download_us);

    if (cli->json) {
        cli_emit(json_pack("{s:o,s:I,s:f,s:f,s:I,s:f,s:f,s:f,s:f}", "peer_id",
                           jstr(peer), "upload_bytes", (json_int_t)r->uploaded,
                           "upload_s", secs(r->upload_us), "upload_MBps", up,
                           "download_bytes", (json_int_t)r->downloaded,
                           "download_s", secs(r->download_us), "download_MBps",
                           down, "open_ms", (double)r->open_us / 1000.0,
                           "total_s", secs(r->elapsed_us)));
        return;
    }
    printf("upload    %15" PRIu64 " bytes in %8.3f s: %9.1f MB/s\n",
           r->uploaded, secs(r->upload_us), up);
    printf("download  %15" PRIu64 " bytes in %8.3f s: %9.1f MB/s\n",
           r->downloaded, secs(r->download_us), down);
}

int cli_cmd_perf(struct cli *cli, int argc, char **argv)
{
    const char *up_s = NULL, *down_s = NULL;
    const struct cli_opt opts[] = {{"--upload", "-u", &up_s},
                                   {"--download", "-d", &down_s},
                                   {NULL, NULL, NULL}};
    struct perf_watch w = {.stall_ms = 10000};
    const struct cli_flag flags[] = {{"-q", "--quiet", &w.quiet},
                                     {NULL, NULL, NULL}};
    struct fastn_perf_result res;
    char peer[FASTN_PEER_ID_MAX];
    struct fastn_client *c;
    uint64_t up = 0, down = 0;
    char *pos[2];
    int n, rc = cli_parse_flags(cli, argc, argv, opts, flags, pos, 2, &n);

    if (rc)
        return rc;
    if (n != 1)
        return cli_usage_error(argv[0], "want a PEER");
    if ((up_s && parse_size(up_s, &up)) ||
        (down_s && parse_size(down_s, &down)))
        return cli_usage_error(argv[0], "BYTES is a number with an optional "
                                        "K, M, G or T");
    if (cli->conn.timeout_ms > 0)
        w.stall_ms = cli->conn.timeout_ms;
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if ((rc = cli_resolve_peer(cli, c, pos[0], peer))) {
        fastn_client_free(c);
        return rc;
    }
    rc = fastn_client_perf(c, peer, up, down, 0, 1000, on_progress, &w, &res);
    if (rc == FASTN_ERR_CANCELED)
        rc = cli_error(CLI_EXIT_FAIL, rc, "no byte moved for %d s; stopped",
                       w.stall_ms / 1000);
    else if (rc == FASTN_ERR_NET_PROTO_NA)
        rc = cli_fail_protocol(c, peer, "/perf/1.0.0");
    else if (rc)
        rc = cli_fail(c, rc);
    else
        perf_print(cli, peer, &res);
    fastn_client_free(c);
    return rc;
}
