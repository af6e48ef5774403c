/*
 * Plain TCP endpoints for the port-forwarding tests and the throughput
 * benchmarks (bench/net): servers listen on 127.0.0.1 (port 0 unless
 * given) and print their port on stdout once listening.
 *
 *   tcp_tool echo [PORT]            echo server: each connection's bytes
 *                                   back, its EOF passed on (half-close)
 *   tcp_tool hold [PORT]            a server that stalls: takes each
 *                                   connection's bytes, sends nothing
 *   tcp_tool banner TEXT [PORT]     writes TEXT to each connection and
 *                                   closes, reading nothing
 *   tcp_tool perf-server [PORT]     /perf/1.0.0 framing over plain TCP:
 *                                   a u64 big-endian N, the upload until
 *                                   EOF, then N bytes back and close
 *   tcp_tool check HOST PORT BYTES  sends BYTES pseudo-random bytes
 *                                   (half-close after them) while reading
 *                                   the echo; exit 0 when every byte came
 *                                   back unchanged followed by EOF
 *   tcp_tool read HOST PORT         prints what the server sends until EOF
 *                                   (exit 0), or says "reset" (exit 3)
 *   tcp_tool perf HOST PORT UP DOWN the perf client: prints one JSON line
 *                                   {"upload_bytes", "upload_s",
 *                                   "upload_MBps", "download_bytes", ...,
 *                                   "total_s"} timed as fastn perf times
 *                                   them (from the connection's open)
 *
 * Servers fork a child per connection and run until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/file.h"

#define BUF (256 * 1024)

static uint8_t buf[BUF];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- servers ---------------------------------------------------------------
 */

static void serve_echo(int fd)
{
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if (fd_write_all(fd, buf, (size_t)n))
            return;
    shutdown(fd, SHUT_WR);
}

static const char *banner_text;

/* Reads until EOF and never answers. */
static void serve_hold(int fd)
{
    uint8_t b[4096];
    while (read(fd, b, sizeof(b)) > 0)
        ;
}

static void serve_banner(int fd)
{
    fd_write_all(fd, (const uint8_t *)banner_text, strlen(banner_text));
}

static void serve_perf(int fd)
{
    uint8_t hdr[8];
    size_t have = 0;
    uint64_t want = 0;
    ssize_t n;

    while (have < 8 && (n = read(fd, hdr + have, 8 - have)) > 0)
        have += (size_t)n;
    if (have < 8)
        return;
    for (int i = 0; i < 8; i++)
        want = want << 8 | hdr[i];
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        ;
    memset(buf, 0, sizeof(buf));
    while (want > 0) {
        size_t k = want < sizeof(buf) ? (size_t)want : sizeof(buf);
        if (fd_write_all(fd, buf, k))
            return;
        want -= k;
    }
    shutdown(fd, SHUT_WR);
}

static int serve(void (*fn)(int fd), const char *port_s)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_s ? (uint16_t)atoi(port_s) : 0);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 64) ||
        getsockname(s, (struct sockaddr *)&a, &len)) {
        perror("tcp_tool: listen");
        return 1;
    }
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    signal(SIGCHLD, SIG_IGN); /* children reaped by the kernel */
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        if (fork() == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            close(s);
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            fn(c);
            close(c);
            _exit(0);
        }
        close(c);
    }
}

/* --- clients ---------------------------------------------------------------
 */

static int dial(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    int one = 1, s;

    if (getaddrinfo(host, port, &hints, &res) != 0) {
        fprintf(stderr, "tcp_tool: cannot resolve %s\n", host);
        exit(1);
    }
    s = socket(res->ai_family, SOCK_STREAM, 0);
    if (s < 0 || connect(s, res->ai_addr, res->ai_addrlen) != 0) {
        perror("tcp_tool: connect");
        exit(1);
    }
    freeaddrinfo(res);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return s;
}

static uint8_t byte_at(uint64_t i)
{
    uint64_t x = (i / 8 + 1) * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return (uint8_t)(x >> (8 * (i % 8)));
}

/* Sends n bytes and checks the echo, both at once (poll). */
static int check(const char *host, const char *port, uint64_t n)
{
    int s = dial(host, port);
    uint64_t sent = 0, got = 0;
    bool wdone = false;

    if (n == 0) {
        shutdown(s, SHUT_WR);
        wdone = true;
    }
    for (;;) {
        struct pollfd p = {s, POLLIN | (wdone ? 0 : POLLOUT), 0};
        if (poll(&p, 1, 30000) <= 0) {
            fprintf(stderr, "tcp_tool: stalled at %" PRIu64 "/%" PRIu64 "\n",
                    got, n);
            return 1;
        }
        if (p.revents & POLLOUT && !wdone) {
            size_t k = n - sent < 65536 ? (size_t)(n - sent) : 65536;
            for (size_t i = 0; i < k; i++)
                buf[i] = byte_at(sent + i);
            ssize_t w = send(s, buf, k, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN) {
                perror("tcp_tool: send");
                return 1;
            }
            if (w > 0 && (sent += (uint64_t)w) == n) {
                shutdown(s, SHUT_WR);
                wdone = true;
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            uint8_t in[65536];
            ssize_t r = read(s, in, sizeof(in));
            if (r < 0) {
                perror("tcp_tool: read");
                return 3;
            }
            if (r == 0)
                break;
            for (ssize_t i = 0; i < r; i++)
                if (in[i] != byte_at(got + (uint64_t)i)) {
                    fprintf(stderr, "tcp_tool: byte %" PRIu64 " differs\n",
                            got + (uint64_t)i);
                    return 1;
                }
            got += (uint64_t)r;
        }
    }
    if (got != n || !wdone) {
        fprintf(stderr, "tcp_tool: EOF after %" PRIu64 " of %" PRIu64 "\n", got,
                n);
        return 1;
    }
    printf("ok %" PRIu64 " bytes\n", n);
    return 0;
}

static int read_all(const char *host, const char *port)
{
    int s = dial(host, port);
    ssize_t r;

    while ((r = read(s, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)r, stdout);
    fflush(stdout);
    if (r < 0) {
        fprintf(stderr, "reset\n");
        return 3;
    }
    return 0;
}

static int perf(const char *host, const char *port, uint64_t up, uint64_t down)
{
    int s = dial(host, port);
    uint8_t hdr[8];
    uint64_t got = 0;
    double t0, t1 = 0, t2;
    ssize_t r;

    for (int i = 0; i < 8; i++)
        hdr[i] = (uint8_t)(down >> (56 - 8 * i));
    memset(buf, 0, sizeof(buf));
    t0 = now_s();
    if (fd_write_all(s, hdr, 8))
        return 1;
    for (uint64_t left = up; left > 0;) {
        size_t k = left < sizeof(buf) ? (size_t)left : sizeof(buf);
        if (fd_write_all(s, buf, k))
            return 1;
        left -= k;
    }
    shutdown(s, SHUT_WR);
    while ((r = read(s, buf, sizeof(buf))) > 0) {
        if (!got)
            t1 = now_s();
        got += (uint64_t)r;
    }
    t2 = now_s();
    if (!t1)
        t1 = t2;
    if (r < 0 || got != down) {
        fprintf(stderr, "tcp_tool: perf got %" PRIu64 " of %" PRIu64 "\n", got,
                down);
        return 1;
    }
    printf("{\"upload_bytes\":%" PRIu64 ",\"upload_s\":%.6f,"
           "\"upload_MBps\":%.1f,\"download_bytes\":%" PRIu64
           ",\"download_s\":%.6f,\"download_MBps\":%.1f,"
           "\"total_s\":%.6f}\n",
           up, t1 - t0, (double)up / 1e6 / (t1 - t0), down, t2 - t1,
           t2 > t1 ? (double)down / 1e6 / (t2 - t1) : 0.0, t2 - t0);
    return 0;
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";

    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(m, "echo"))
        return serve(serve_echo, argc > 2 ? argv[2] : NULL);
    if (!strcmp(m, "hold"))
        return serve(serve_hold, argc > 2 ? argv[2] : NULL);
    if (!strcmp(m, "banner") && argc > 2) {
        banner_text = argv[2];
        return serve(serve_banner, argc > 3 ? argv[3] : NULL);
    }
    if (!strcmp(m, "perf-server"))
        return serve(serve_perf, argc > 2 ? argv[2] : NULL);
    if (!strcmp(m, "check") && argc == 5)
        return check(argv[2], argv[3], strtoull(argv[4], NULL, 10));
    if (!strcmp(m, "read") && argc == 4)
        return read_all(argv[2], argv[3]);
    if (!strcmp(m, "perf") && argc == 6)
        return perf(argv[2], argv[3], strtoull(argv[4], NULL, 10),
                    strtoull(argv[5], NULL, 10));
    fprintf(stderr, "usage: tcp_tool echo|hold|banner TEXT|perf-server [PORT]\n"
                    "       tcp_tool check HOST PORT BYTES | read HOST PORT |\n"
                    "       perf HOST PORT UP DOWN\n");
    return 2;
}
