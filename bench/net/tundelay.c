/*
 * A delayed link between two network namespaces, for kernels without the
 * netem qdisc: a TUN device in each namespace, and this process moving
 * every IP packet from one to the other after DELAY_MS (each way, so the
 * round trip gains twice that). Packets keep their order; a direction
 * holding QUEUE packets drops new ones, as a full queue would.
 *
 *   tundelay NS_A DEV_A NS_B DEV_B DELAY_MS
 *
 * The devices must exist (ip netns exec NS ip tuntap add dev DEV mode
 * tun) with their addresses set; prints "ready" once attached to both,
 * runs until killed. Linux only, needs CAP_NET_ADMIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define QUEUE 8192
#define MTU_MAX 65536

struct pkt {
    uint64_t due_ns;
    uint32_t len;
    uint8_t *data;
};

struct dir {
    int in, out;
    struct pkt q[QUEUE];
    size_t head, n;
    uint64_t dropped;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Opens DEV's TUN queue inside namespace NS. */
static int tun_in(const char *ns, const char *dev)
{
    char path[256];
    struct ifreq ifr;
    int nsfd, fd;

    snprintf(path, sizeof(path), "/run/netns/%s", ns);
    nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
        fprintf(stderr, "tundelay: cannot enter %s: %s\n", path,
                strerror(errno));
        exit(1);
    }
    close(nsfd);
    fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
        fprintf(stderr, "tundelay: cannot attach to %s in %s: %s\n", dev, ns,
                strerror(errno));
        exit(1);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void take(struct dir *d, uint64_t delay)
{
    static uint8_t buf[MTU_MAX];

    for (;;) {
        ssize_t n = read(d->in, buf, sizeof(buf));
        if (n <= 0)
            return;
        if (d->n == QUEUE) {
            d->dropped++;
            continue;
        }
        struct pkt *p = &d->q[(d->head + d->n) % QUEUE];
        p->data = malloc((size_t)n);
        if (!p->data)
            continue;
        memcpy(p->data, buf, (size_t)n);
        p->len = (uint32_t)n;
        p->due_ns = now_ns() + delay;
        d->n++;
    }
}

/* Sends what is due; returns the next due time (0: nothing queued). */
static uint64_t give(struct dir *d)
{
    uint64_t now = now_ns();

    while (d->n) {
        struct pkt *p = &d->q[d->head];
        if (p->due_ns > now)
            return p->due_ns;
        if (write(d->out, p->data, p->len) < 0 && errno == EAGAIN)
            return now + 100000; /* device queue full: retry shortly */
        free(p->data);
        d->head = (d->head + 1) % QUEUE;
        d->n--;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct dir ab, ba;
    uint64_t delay;

    if (argc != 6) {
        fprintf(stderr, "usage: tundelay NS_A DEV_A NS_B DEV_B DELAY_MS\n");
        return 2;
    }
    delay = (uint64_t)(atof(argv[5]) * 1e6);
    ab.in = ba.out = tun_in(argv[1], argv[2]);
    ab.out = ba.in = tun_in(argv[3], argv[4]);
    signal(SIGPIPE, SIG_IGN);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        struct pollfd fds[2] = {{ab.in, POLLIN, 0}, {ba.in, POLLIN, 0}};
        uint64_t next = 0, a = give(&ab), b = give(&ba), now = now_ns();
        struct timespec ts = {1, 0};

        next = a && b ? (a < b ? a : b) : (a ? a : b);
        if (next) {
            uint64_t wait = next > now ? next - now : 0;
            ts.tv_sec = (time_t)(wait / 1000000000ull);
            ts.tv_nsec = (long)(wait % 1000000000ull);
        }
        if (ppoll(fds, 2, &ts, NULL) < 0 && errno != EINTR)
            return 1;
        if (fds[0].revents & POLLIN)
            take(&ab, delay);
        if (fds[1].revents & POLLIN)
            take(&ba, delay);
    }
}
