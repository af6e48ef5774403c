/*
 * The kernel's floor for one stream's round trip through a relay, with
 * no fastnd in it: three processes pass SIZE bytes the way
 * `roundtrip run` does (client -> Unix socket -> relay (B) -> TCP on
 * loopback -> echo (A) and back), each doing nothing but read and
 * write. bench/plugin/roundtrip.sh prints it beside fastnd's figures.
 *
 *   relay_floor COUNT SIZE [block|spin-relays|spin-client|spin-all]
 *
 * block: every read blocks (as fastnd's loop and the bench client do);
 * spin-relays: the relay and the echo poll with MSG_DONTWAIT and
 * sched_yield instead of sleeping (what busy polling in the daemons
 * would at best achieve); spin-client: the client alone (the relays
 * block); spin-all: all three.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int spin;

static void full_read(int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, spin ? MSG_DONTWAIT : 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (spin)
                sched_yield();
            continue;
        }
        if (r <= 0)
            _exit(0); /* the other end closed: done */
        p += r;
        n -= (size_t)r;
    }
}

static void full_write(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            _exit(1);
        p += w;
        n -= (size_t)w;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int tcp_nodelay(int fd)
{
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A: echoes what the relay sends over TCP */
static void echo(int ls, char *buf, size_t size)
{
    int c = accept(ls, NULL, NULL);

    if (c < 0 || tcp_nodelay(c))
        _exit(1);
    for (;;) {
        full_read(c, buf, size);
        full_write(c, buf, size);
    }
}

/* B: the client's bytes to A and A's back */
static void relay(int client, const struct sockaddr_in *a, char *buf,
                  size_t size)
{
    int t = socket(AF_INET, SOCK_STREAM, 0);

    if (t < 0 || connect(t, (const struct sockaddr *)a, sizeof(*a)) ||
        tcp_nodelay(t))
        _exit(1);
    for (;;) {
        full_read(client, buf, size);
        full_write(t, buf, size);
        full_read(t, buf, size);
        full_write(client, buf, size);
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    long count = argc > 1 ? atol(argv[1]) : 20000;
    size_t size = argc > 2 ? (size_t)atol(argv[2]) : 64;
    const char *mode = argc > 3 ? argv[3] : "block";
    int sv[2], ls;
    char *buf;
    double t0, t1;

    if (strcmp(mode, "block") && strcmp(mode, "spin-relays") &&
        strcmp(mode, "spin-client") && strcmp(mode, "spin-all"))
        count = 0; /* the usage */
    if (count <= 0 || size == 0 || size > 65536 || !(buf = malloc(size)) ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv) ||
        (ls = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
        getsockname(ls, (struct sockaddr *)&a, &alen)) {
        fprintf(stderr, "usage: relay_floor COUNT SIZE "
                        "[block|spin-relays|spin-client|spin-all]\n");
        return 1;
    }
    spin = strcmp(mode, "block") != 0 && strcmp(mode, "spin-client") != 0;
    if (fork() == 0) {
        close(sv[0]);
        close(sv[1]);
        echo(ls, buf, size);
    }
    close(ls);
    if (fork() == 0) {
        close(sv[0]);
        relay(sv[1], &a, buf, size);
    }
    close(sv[1]);
    spin = !strcmp(mode, "spin-all") || !strcmp(mode, "spin-client");
    memset(buf, 'x', size);
    t0 = now_s();
    for (long i = 0; i < count; i++) {
        full_write(sv[0], buf, size);
        full_read(sv[0], buf, size);
    }
    t1 = now_s();
    printf("no fastnd (%s): %ld round trips of %zu bytes: %.0f/s, "
           "%.1f us each\n",
           mode, count, size, count / (t1 - t0), (t1 - t0) / count * 1e6);
    fflush(stdout);
    close(sv[0]); /* the relay reads 0, exits; then the echo */
    while (wait(NULL) > 0)
        ;
    free(buf);
    return 0;
}
