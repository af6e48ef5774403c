/*
 * A libfastn client for the network integration tests (and a quick way
 * to measure call latency).
 *
 *   net_probe calls SOCKET PEER PROTO COUNT PARALLEL SIZE
 *       COUNT one-shot calls over one control connection, PARALLEL in
 *       flight, each with SIZE random bytes; an echo must answer each
 *       with its own bytes. Prints "ok COUNT calls" and the latencies.
 *   net_probe latency SOCKET PEER PROTO COUNT [cold]
 *       COUNT sequential calls of 32 bytes (against /perf/1.0.0 the
 *       request asks for 32 bytes back): prints min/median/p99 in us.
 *       With "cold", the daemon's connection to PEER is closed before
 *       each call, so each one dials and handshakes anew.
 *   net_probe echo SOCKET PROTO [COUNT]
 *       registers a handler and echoes every stream (all at once, on one
 *       poll loop), until COUNT streams were served (default: forever).
 *   net_probe streams SOCKET PEER PROTO COUNT SIZE
 *       COUNT streams opened at once (STREAM_OPEN), SIZE bytes echoed on
 *       each; checks every byte.
 *   net_probe timing SOCKET PEER COUNT
 *       the daemon's answers as a program sees them, each COUNT times
 *       over one control connection: STATUS, PING to PEER, a call to
 *       PEER's /perf/1.0.0 (32 bytes back), and (COUNT/10 + 1 times)
 *       LIST_PEERS. Prints "status US ping US call US peers US N": the
 *       medians in microseconds and how many peers the list held.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fastn/client.h"

static struct fastn_client *client(const char *sock)
{
    struct fastn_connect_options o;
    struct fastn_client *c = NULL;
    int rc;

    fastn_connect_options_init(&o);
    o.socket_path = sock;
    o.timeout_ms = 30000;
    rc = fastn_client_connect(&o, &c);
    if (rc) {
        fprintf(stderr, "connect: %s\n", fastn_strerror(rc));
        exit(1);
    }
    return c;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(seed >> 33);
    }
}

static int calls(char **argv)
{
    struct fastn_client *c = client(argv[0]);
    long count = atol(argv[3]), parallel = atol(argv[4]);
    size_t size = (size_t)atol(argv[5]);
    uint64_t *ids = calloc((size_t)count, sizeof(*ids));
    double *start = calloc((size_t)count, sizeof(*start));
    double *lat = calloc((size_t)count, sizeof(*lat));
    uint8_t *req = malloc(size ? size : 1);
    long sent = 0, done = 0, bad = 0;

    while (done < count) {
        while (sent < count && sent - done < parallel) {
            fill(req, size, (uint64_t)sent);
            start[sent] = now_us();
            int rc =
                fastn_call_send(c, argv[1], argv[2], req, size, &ids[sent]);
            if (rc) {
                fprintf(stderr, "call %ld: %s\n", sent, fastn_strerror(rc));
                return 1;
            }
            sent++;
        }
        uint64_t id;
        int status;
        void *reply = NULL;
        size_t len = 0;
        int rc = fastn_call_recv(c, 30000, &id, &status, &reply, &len);
        if (rc || status) {
            fprintf(stderr, "recv: %s / %s: %s\n", fastn_strerror(rc),
                    fastn_strerror(status), fastn_client_error_message(c));
            return 1;
        }
        long k = (long)id - (long)ids[0];
        if (k < 0 || k >= count || ids[k] != id) {
            fprintf(stderr, "unknown call id %llu\n", (unsigned long long)id);
            return 1;
        }
        lat[done] = now_us() - start[k];
        fill(req, size, (uint64_t)k);
        bad += len != size || (size && memcmp(reply, req, size) != 0);
        free(reply);
        done++;
    }
    qsort(lat, (size_t)count, sizeof(*lat), cmp_double);
    printf("ok %ld calls, %ld bad, median %.1f us, p99 %.1f us\n", count, bad,
           lat[count / 2], lat[count * 99 / 100]);
    free(ids);
    free(start);
    free(lat);
    free(req);
    fastn_client_free(c);
    return bad ? 1 : 0;
}

static int latency(char **argv)
{
    struct fastn_client *c = client(argv[0]);
    long count = atol(argv[3]);
    double *lat = calloc((size_t)count, sizeof(*lat));
    uint8_t req[32] = {0, 0, 0, 0, 0, 0, 0, 32}; /* perf: 32 bytes back */

    bool cold = argv[4] && !strcmp(argv[4], "cold");

    for (long i = 0; i < count; i++) {
        void *reply = NULL;
        size_t len;
        if (cold && fastn_client_peer_disconnect(c, argv[1]) != 0)
            return 1;
        double t = now_us();
        int rc = fastn_client_call(c, argv[1], argv[2], req, sizeof(req),
                                   &reply, &len);
        if (rc) {
            fprintf(stderr, "call: %s: %s\n", fastn_strerror(rc),
                    fastn_client_error_message(c));
            return 1;
        }
        lat[i] = now_us() - t;
        free(reply);
    }
    qsort(lat, (size_t)count, sizeof(*lat), cmp_double);
    printf("%s latency over %ld calls: min %.1f us, median %.1f us, p99 "
           "%.1f us\n",
           cold ? "cold" : "pooled", count, lat[0], lat[count / 2],
           lat[count * 99 / 100]);
    free(lat);
    fastn_client_free(c);
    return 0;
}

/* --- echo handler: every stream on one poll loop ------------------------ */

#define MAXFD 1024

struct echo_conn {
    int fd;
    char buf[65536];
    size_t len;
    bool eof;
};

static int echo(int argc, char **argv)
{
    struct fastn_client *c = client(argv[0]);
    struct fastn_handler *h = NULL;
    static struct echo_conn conns[MAXFD];
    struct pollfd fds[MAXFD + 1];
    long limit = argc > 2 ? atol(argv[2]) : 0, served = 0, open = 0;
    int rc = fastn_handler_register(c, argv[1], 1, &h);

    if (rc) {
        fprintf(stderr, "register: %s\n", fastn_strerror(rc));
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    while (!limit || served < limit || open > 0) {
        int n = 0;
        fds[n++] = (struct pollfd){fastn_handler_fd(h), POLLIN, 0};
        for (int i = 0; i < MAXFD; i++)
            if (conns[i].fd > 0)
                fds[n++] = (struct pollfd){conns[i].fd,
                                           conns[i].len ? POLLOUT : POLLIN, 0};
        if (poll(fds, (nfds_t)n, 1000) < 0 && errno != EINTR)
            return 1;
        if (fds[0].revents && (!limit || served < limit)) {
            int fd;
            if (fastn_handler_accept(h, 0, &fd, NULL) == 0) {
                fcntl(fd, F_SETFL, O_NONBLOCK);
                for (int i = 0; i < MAXFD; i++)
                    if (conns[i].fd <= 0) {
                        conns[i].fd = fd;
                        conns[i].len = 0;
                        open++;
                        served++;
                        break;
                    }
            }
        }
        for (int k = 1; k < n; k++) {
            struct echo_conn *e = NULL;
            for (int i = 0; i < MAXFD && !e; i++)
                if (conns[i].fd == fds[k].fd)
                    e = &conns[i];
            if (!e || !fds[k].revents)
                continue;
            if (e->len) {
                ssize_t w = write(e->fd, e->buf, e->len);
                if (w > 0) {
                    memmove(e->buf, e->buf + w, e->len - (size_t)w);
                    e->len -= (size_t)w;
                } else if (w < 0 && errno != EAGAIN) {
                    e->len = 0;
                    e->eof = true;
                }
            } else {
                ssize_t r = read(e->fd, e->buf, sizeof(e->buf));
                if (r > 0)
                    e->len = (size_t)r;
                else if (r == 0 || errno != EAGAIN)
                    e->eof = true;
            }
            if (e->eof && !e->len) {
                close(e->fd);
                e->fd = 0;
                e->eof = false;
                open--;
            }
        }
    }
    fastn_handler_free(h);
    fastn_client_free(c);
    return 0;
}

/* --- many streams at once ----------------------------------------------------
 */

struct sconn {
    int fd;
    size_t sent, got;
    bool shut, done;
    uint64_t bad;
};

static int streams(char **argv)
{
    struct fastn_client *c = client(argv[0]);
    long count = atol(argv[3]);
    size_t size = (size_t)atol(argv[4]);
    struct sconn *s = calloc((size_t)count, sizeof(*s));
    struct pollfd *fds = calloc((size_t)count, sizeof(*fds));
    uint8_t *pat = malloc(size), buf[65536];
    long left = count;

    fill(pat, size, 7);
    for (long i = 0; i < count; i++) {
        int rc = fastn_client_stream_open(c, argv[1], argv[2], &s[i].fd, NULL);
        if (rc) {
            fprintf(stderr, "stream %ld: %s: %s\n", i, fastn_strerror(rc),
                    fastn_client_error_message(c));
            return 1;
        }
        fcntl(s[i].fd, F_SETFL, O_NONBLOCK);
    }
    while (left > 0) {
        for (long i = 0; i < count; i++)
            fds[i] = (struct pollfd){
                s[i].done ? -1 : s[i].fd,
                (short)(POLLIN | (s[i].sent < size ? POLLOUT : 0)), 0};
        if (poll(fds, (nfds_t)count, 30000) <= 0) {
            fprintf(stderr, "streams: stuck\n");
            return 1;
        }
        for (long i = 0; i < count; i++) {
            struct sconn *x = &s[i];
            if ((fds[i].revents & POLLOUT) && x->sent < size) {
                ssize_t w = write(x->fd, pat + x->sent, size - x->sent);
                if (w > 0)
                    x->sent += (size_t)w;
            }
            if (x->sent == size && !x->shut) {
                shutdown(x->fd, SHUT_WR);
                x->shut = true;
            }
            if (fds[i].revents & (POLLIN | POLLHUP)) {
                ssize_t r = read(x->fd, buf, sizeof(buf));
                if (r > 0) {
                    for (ssize_t j = 0; j < r; j++)
                        x->bad += x->got + (size_t)j >= size ||
                                  buf[j] != pat[x->got + (size_t)j];
                    x->got += (size_t)r;
                } else if (r == 0) {
                    x->done = true;
                    left--;
                }
            }
        }
    }
    uint64_t bad = 0;
    for (long i = 0; i < count; i++) {
        bad += s[i].bad + (s[i].got != size);
        close(s[i].fd);
    }
    printf("ok %ld streams of %zu bytes, %llu bad\n", count, size,
           (unsigned long long)bad);
    free(s);
    free(fds);
    free(pat);
    fastn_client_free(c);
    return bad ? 1 : 0;
}

static double median_of(double *v, long n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

/* One timing series: what(i) COUNT times. */
#define TIME_SERIES(out, n, expr)                                              \
    do {                                                                       \
        for (long i_ = 0; i_ < (n); i_++) {                                    \
            double t_ = now_us();                                              \
            if ((expr) != 0) {                                                 \
                fprintf(stderr, "%s: %s\n", #expr,                             \
                        fastn_client_error_message(c));                        \
                return 1;                                                      \
            }                                                                  \
            (out)[i_] = now_us() - t_;                                         \
        }                                                                      \
    } while (0)

static int timing(char **argv)
{
    struct fastn_client *c = client(argv[0]);
    const char *peer = argv[1];
    long count = atol(argv[2]), lists = count / 10 + 1;
    double *v = calloc((size_t)count * 4, sizeof(*v)), med[4];
    uint8_t req[32] = {0, 0, 0, 0, 0, 0, 0, 32};
    struct fastn_status *st = NULL;
    struct fastn_peer_list *pl = NULL;
    uint64_t rtt;
    size_t n_peers = 0;
    void *reply = NULL;
    size_t len;

    if (!v || count <= 0)
        return 2;
    TIME_SERIES(
        v, count,
        (fastn_status_free(st), st = NULL, fastn_client_status(c, &st)));
    med[0] = median_of(v, count);
    TIME_SERIES(v, count, fastn_client_ping(c, peer, &rtt));
    med[1] = median_of(v, count);
    TIME_SERIES(v, count,
                (free(reply), reply = NULL,
                 fastn_client_call(c, peer, "/perf/1.0.0", req, sizeof(req),
                                   &reply, &len)));
    med[2] = median_of(v, count);
    TIME_SERIES(
        v, lists,
        (fastn_peer_list_free(pl), pl = NULL, fastn_client_list_peers(c, &pl)));
    med[3] = median_of(v, lists);
    n_peers = pl ? pl->n_peers : 0;
    printf("status %.1f ping %.1f call %.1f peers %.1f %zu\n", med[0], med[1],
           med[2], med[3], n_peers);
    fastn_status_free(st);
    fastn_peer_list_free(pl);
    free(reply);
    free(v);
    fastn_client_free(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "timing"))
        return timing(argv + 2);
    if (argc >= 8 && !strcmp(argv[1], "calls"))
        return calls(argv + 2);
    if (argc >= 6 && !strcmp(argv[1], "latency"))
        return latency(argv + 2);
    if (argc >= 4 && !strcmp(argv[1], "echo"))
        return echo(argc - 2, argv + 2);
    if (argc >= 7 && !strcmp(argv[1], "streams"))
        return streams(argv + 2);
    fprintf(stderr, "usage: see the top of net_probe.c\n");
    return 2;
}
