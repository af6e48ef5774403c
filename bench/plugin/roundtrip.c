/*
 * Round trips per second over one libp2p stream between two daemons,
 * through libfastn (bench/plugin/roundtrip.sh drives it):
 *
 *   roundtrip serve SOCKET PROTOCOL
 *       registers PROTOCOL on the daemon at SOCKET (a client-registered
 *       handler) and echoes every stream it gets, until killed;
 *   roundtrip run SOCKET PEER PROTOCOL COUNT SIZE
 *       opens a stream to PEER for PROTOCOL through the daemon at SOCKET,
 *       then COUNT times writes SIZE bytes and reads them back; prints
 *       round trips per second and the median round trip;
 *   roundtrip many SOCKET PEER PROTOCOL STREAMS COUNT SIZE
 *       opens STREAMS streams at once, each with one message of SIZE
 *       bytes in flight at a time, COUNT round trips in all; prints the
 *       round trips per second of all of them together.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fastn/client.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int full_write(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int full_read(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static struct fastn_client *connect_to(const char *sock)
{
    struct fastn_connect_options o;
    struct fastn_client *c = NULL;
    int rc;

    fastn_connect_options_init(&o);
    o.socket_path = sock;
    o.timeout_ms = 30000;
    if ((rc = fastn_client_connect(&o, &c))) {
        fprintf(stderr, "roundtrip: %s\n", fastn_strerror(rc));
        exit(1);
    }
    return c;
}

static int echo_stream(void *arg, int fd, const struct fastn_stream_info *info)
{
    char buf[65536];
    ssize_t r;

    (void)arg, (void)info;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        if (full_write(fd, buf, (size_t)r))
            break;
    close(fd);
    return 0;
}

static int serve(const char *sock, const char *proto)
{
    struct fastn_client *c = connect_to(sock);
    struct fastn_handler *h = NULL;
    int rc = fastn_handler_register(c, proto, 0, &h);

    if (rc) {
        fprintf(stderr, "roundtrip: register: %s\n", fastn_strerror(rc));
        return 1;
    }
    printf("serving %s\n", proto);
    fflush(stdout);
    rc = fastn_handler_run(h, echo_stream, NULL);
    fastn_handler_free(h);
    fastn_client_free(c);
    return rc ? 1 : 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run(const char *sock, const char *peer, const char *proto,
               long count, size_t size)
{
    struct fastn_client *c = connect_to(sock);
    char *out = malloc(size), *in = malloc(size);
    double *rt = malloc(sizeof(double) * (size_t)count), t0, t1;
    int fd = -1, rc;

    rc = fastn_client_stream_open(c, peer, proto, &fd, NULL);
    if (rc) {
        fprintf(stderr, "roundtrip: open %s: %s: %s\n", proto,
                fastn_strerror(rc), fastn_client_error_message(c));
        return 1;
    }
    memset(out, 'x', size);
    t0 = now_s();
    for (long i = 0; i < count; i++) {
        double s = now_s();
        memcpy(out, &i, sizeof(i) < size ? sizeof(i) : size);
        if (full_write(fd, out, size) || full_read(fd, in, size) ||
            memcmp(in, out, size)) {
            fprintf(stderr, "roundtrip: stream broke at %ld\n", i);
            return 1;
        }
        rt[i] = now_s() - s;
    }
    t1 = now_s();
    shutdown(fd, SHUT_WR);
    close(fd);
    qsort(rt, (size_t)count, sizeof(*rt), cmp);
    printf("%s: %ld round trips of %zu bytes: %.0f/s, median %.0f us, "
           "p99 %.0f us\n",
           proto, count, size, count / (t1 - t0), rt[count / 2] * 1e6,
           rt[count * 99 / 100] * 1e6);
    free(out);
    free(in);
    free(rt);
    fastn_client_free(c);
    return 0;
}

struct lane {
    int fd;
    size_t got;
};

static int lanes_open(struct fastn_client *c, const char *peer,
                      const char *proto, struct lane *l, long k)
{
    for (long i = 0; i < k; i++) {
        int rc = fastn_client_stream_open(c, peer, proto, &l[i].fd, NULL);
        if (rc) {
            fprintf(stderr, "roundtrip: open %s: %s: %s\n", proto,
                    fastn_strerror(rc), fastn_client_error_message(c));
            return -1;
        }
        l[i].got = 0;
    }
    return 0;
}

/* One lane's answer came in part or whole; a whole one sends the next. */
static int lane_read(struct lane *l, char *in, const char *out, size_t size,
                     long *sent, long count, long *done)
{
    ssize_t r = read(l->fd, in + l->got, size - l->got);

    if (r <= 0)
        return -1;
    l->got += (size_t)r;
    if (l->got < size)
        return 0;
    l->got = 0;
    (*done)++;
    if (*sent < count) {
        (*sent)++;
        return full_write(l->fd, out, size);
    }
    return 0;
}

static int many(const char *sock, const char *peer, const char *proto, long k,
                long count, size_t size)
{
    struct fastn_client *c = connect_to(sock);
    struct lane *l = calloc((size_t)k, sizeof(*l));
    struct pollfd *p = calloc((size_t)k, sizeof(*p));
    char *out = malloc(size), *in = malloc(size);
    long sent = 0, done = 0;
    double t0;

    if (!l || !p || !out || !in || lanes_open(c, peer, proto, l, k))
        return 1;
    memset(out, 'x', size);
    t0 = now_s();
    for (long i = 0; i < k && sent < count; i++, sent++)
        if (full_write(l[i].fd, out, size))
            return 1;
    while (done < count) {
        for (long i = 0; i < k; i++)
            p[i] = (struct pollfd){.fd = l[i].fd, .events = POLLIN};
        if (poll(p, (nfds_t)k, 30000) <= 0) {
            fprintf(stderr, "roundtrip: no answer for 30 s\n");
            return 1;
        }
        for (long i = 0; i < k; i++)
            if ((p[i].revents & (POLLIN | POLLHUP)) &&
                lane_read(&l[i], in, out, size, &sent, count, &done)) {
                fprintf(stderr, "roundtrip: stream %ld broke\n", i);
                return 1;
            }
    }
    printf("%s: %ld streams, %ld round trips of %zu bytes: %.0f/s\n", proto, k,
           count, size, count / (now_s() - t0));
    for (long i = 0; i < k; i++)
        close(l[i].fd);
    free(l), free(p), free(out), free(in);
    fastn_client_free(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "serve"))
        return serve(argv[2], argv[3]);
    if (argc == 7 && !strcmp(argv[1], "run"))
        return run(argv[2], argv[3], argv[4], atol(argv[5]),
                   (size_t)atol(argv[6]));
    if (argc == 8 && !strcmp(argv[1], "many"))
        return many(argv[2], argv[3], argv[4], atol(argv[5]), atol(argv[6]),
                    (size_t)atol(argv[7]));
    fprintf(stderr,
            "usage: roundtrip serve SOCKET PROTOCOL\n"
            "       roundtrip run SOCKET PEER PROTOCOL COUNT SIZE\n"
            "       roundtrip many SOCKET PEER PROTOCOL STREAMS COUNT SIZE\n");
    return 2;
}
