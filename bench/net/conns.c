/*
 * Connection load for a daemon (bench/net/scale.sh, and the 500-peer
 * integration test tests/integration/net_scale.sh): N peers, each with
 * an Ed25519 identity of its own and a full handshake (TCP,
 * multistream-select, Noise XX, yamux), all from one process on one
 * epoll loop, driving the net cores (src/net/conn.h) directly.
 *
 *   conns PORT PEERID N [--active MS] [--parallel K] [--hold SECONDS]
 *
 * Connections go to 127.0.0.1:PORT from source addresses 127.2.x.y, a
 * new one for each of 2000 connections in turn (the daemon lets one
 * address have 8 handshakes at once), at most K (default 128) handshakes
 * in flight. Once all are up the tool prints
 *   up N SECONDS
 * (the time from the first connect to the last one upgraded), then keeps
 * them: answering the daemon's pings, refusing its identify streams, and
 * with --active each peer pings the daemon over /ipfs/ping/1.0.0 every MS
 * milliseconds. With --hold SECONDS it closes them all that much later,
 * else at a line "close" on stdin or stdin's end, and prints
 *   closed PINGS_ANSWERED
 * Exit 1 when connections fail (it says how many and why).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fastn/err.h"
#include "net/conn.h"
#include "net/mss.h"
#include "net/ping.h"

#define READ_MAX (256 * 1024)

struct peer {
    int fd;
    bool connected, ready, dead, ping_open, ping_wait;
    struct identity id;
    struct noise_local local;
    struct conn *c;
    uint32_t ping_id;
    struct mss mss;
    bool ping_agreed;
    size_t echo_have;
    uint64_t next_ping_ms;
};

static const char *const ping_proto[] = {PING_PROTOCOL_ID};
static struct peer *peers;
static int n_peers, n_started, n_ready, n_failed, in_flight, ep;
static uint64_t answered;
static uint8_t rxbuf[READ_MAX + NOISE_FRAME_MAX];
static int last_err;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "conns: %s\n", what);
    exit(1);
}

static void watch(struct peer *p, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0),
                             .data.ptr = p};
    epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
}

static void fail(struct peer *p, int err)
{
    if (p->dead)
        return;
    p->dead = true;
    if (!p->ready) {
        n_failed++;
        in_flight--;
        last_err = err;
    }
    close(p->fd);
}

/* Writes the conn's output; what the socket does not take waits there
 * (EPOLLOUT). */
static void flush(struct peer *p)
{
    const uint8_t *b;
    size_t n;

    if (p->dead || conn_output(p->c, &b, &n) != 0)
        return;
    while (n) {
        ssize_t w = send(p->fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w <= 0) {
            fail(p, FASTN_ERR_NET_RESET);
            return;
        }
        conn_output_consume(p->c, (size_t)w);
        conn_output(p->c, &b, &n);
    }
    watch(p, n > 0);
}

static int start(struct peer *p, int i, int port, const struct peer_id *expect)
{
    static const char *const muxers[] = {YAMUX_PROTOCOL_ID};
    struct sockaddr_in sa = {.sin_family = AF_INET},
                       src = {.sin_family = AF_INET};
    struct conn_config cfg;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = p};
    int a = i % 2000, one = 1;

    if (identity_generate(&p->id) ||
        noise_local_init(&p->local, &p->id, muxers, 1))
        die("identity");
    conn_config_default(&cfg, true, &p->local);
    cfg.expect = expect;
    cfg.yamux.keepalive_us = 0; /* the daemon pings; we answer */
    p->c = conn_new(&cfg, 0);
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (!p->c || p->fd < 0)
        die("socket (raise ulimit -n)");
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    src.sin_addr.s_addr =
        htonl(0x7f020000u | (uint32_t)(a / 250) << 8 | (uint32_t)(a % 250 + 1));
    if (bind(p->fd, (struct sockaddr *)&src, sizeof(src)) != 0)
        die("bind to a 127.2.x.y address");
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
        errno != EINPROGRESS)
        return -1;
    epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
    in_flight++;
    return 0;
}

static void open_ping(struct peer *p)
{
    struct yamux_session *m = conn_mux(p->c);
    struct buf out;

    if (yamux_stream_open(m, p, &p->ping_id) != 0)
        return;
    mss_init_dialer(&p->mss, ping_proto, 1);
    buf_init(&out, 4096);
    mss_start(&p->mss, &out);
    yamux_stream_write(m, p->ping_id, out.data, out.len);
    buf_cleanup(&out);
    p->ping_open = true;
}

static void send_ping(struct peer *p, uint64_t now)
{
    uint8_t ping[PING_SIZE];

    if (!p->ping_open)
        open_ping(p);
    if (!p->ping_open || p->ping_wait)
        return;
    memset(ping, (int)(now & 0xff), sizeof(ping));
    if (yamux_stream_write(conn_mux(p->c), p->ping_id, ping, sizeof(ping)) ==
        sizeof(ping))
        p->ping_wait = true;
}

/* Our ping stream's bytes: the listener's negotiation, then echoes. */
static void ping_data(struct peer *p, const uint8_t *d, size_t n)
{
    struct yamux_session *m = conn_mux(p->c);
    size_t used = 0;

    yamux_stream_consumed(m, p->ping_id, n, 0);
    if (!p->ping_agreed) {
        struct buf out;
        buf_init(&out, 4096);
        int r = mss_input(&p->mss, d, n, &used, &out);
        buf_cleanup(&out);
        if (r < 0) {
            yamux_stream_reset(m, p->ping_id);
            p->ping_open = false;
            return;
        }
        if (r != MSS_DONE)
            return;
        p->ping_agreed = true;
    }
    p->echo_have += n - used;
    while (p->echo_have >= PING_SIZE) {
        p->echo_have -= PING_SIZE;
        p->ping_wait = false;
        answered++;
    }
}

static void on_event(struct peer *p, const struct conn_event *ev)
{
    const struct yamux_event *e = &ev->mux;
    struct yamux_session *m = conn_mux(p->c);

    if (ev->type == CONN_EV_READY) {
        p->ready = true;
        n_ready++;
        in_flight--;
        return;
    }
    switch (e->type) {
    case YAMUX_EV_STREAM_OPEN: /* the daemon's identify: not served */
        yamux_stream_reset(m, e->stream_id);
        break;
    case YAMUX_EV_DATA:
        if (p->ping_open && e->stream_id == p->ping_id)
            ping_data(p, e->data, e->len);
        else
            yamux_stream_consumed(m, e->stream_id, e->len, 0);
        break;
    case YAMUX_EV_RESET:
    case YAMUX_EV_CLOSED:
        if (p->ping_open && e->stream_id == p->ping_id)
            p->ping_open = p->ping_agreed = p->ping_wait = false;
        break;
    default:
        break;
    }
}

static void on_readable(struct peer *p)
{
    struct conn_event ev;
    uint8_t *dst;
    size_t room;
    ssize_t n;
    int r;

    if (conn_rx_lend(p->c, rxbuf, sizeof(rxbuf), &dst, &room) != 0) {
        fail(p, FASTN_ERR_NOMEM);
        return;
    }
    n = recv(p->fd, dst, room, 0);
    if (n > 0) {
        conn_rx_commit(p->c, (size_t)n);
        while ((r = conn_poll(p->c, &ev, 0)) == 1)
            on_event(p, &ev);
        if (r < 0)
            n = r;
    }
    conn_rx_unlend(p->c);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        fail(p, n < 0 ? (int)n : FASTN_ERR_NET_RESET);
        return;
    }
    flush(p);
}

static void on_io(struct peer *p, uint32_t events)
{
    if (p->dead)
        return;
    if (!p->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int e = 0;
        socklen_t len = sizeof(e);
        getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &len);
        if (e) {
            fail(p, FASTN_ERR_NET_REFUSED);
            return;
        }
        p->connected = true;
        conn_start(p->c);
        flush(p);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(p);
    else if (events & EPOLLOUT)
        flush(p);
}

static void run_loop(int timeout_ms)
{
    struct epoll_event evs[512];
    int k = epoll_wait(ep, evs, 512, timeout_ms);

    for (int i = 0; i < k; i++)
        on_io(evs[i].data.ptr, evs[i].events);
}

static bool stdin_says_close(void)
{
    char line[64];
    fd_set fds;
    struct timeval tv = {0, 0};

    FD_ZERO(&fds);
    FD_SET(0, &fds);
    if (select(1, &fds, NULL, NULL, &tv) <= 0)
        return false;
    return !fgets(line, sizeof(line), stdin) || !strncmp(line, "close", 5);
}

static void hold(int active_ms, int hold_s)
{
    uint64_t end = hold_s ? now_ms() + (uint64_t)hold_s * 1000 : UINT64_MAX;
    int slice = 0;

    while (now_ms() < end) {
        run_loop(50);
        if (!hold_s && stdin_says_close())
            break;
        if (!active_ms)
            continue;
        uint64_t now = now_ms();
        /* a slice of the peers per turn, each every active_ms */
        for (int i = slice; i < n_peers; i += 20) {
            struct peer *p = &peers[i];
            if (p->dead || !p->ready || now < p->next_ping_ms)
                continue;
            p->next_ping_ms = now + (uint64_t)active_ms;
            send_ping(p, now);
            flush(p);
        }
        slice = (slice + 1) % 20;
    }
}

int main(int argc, char **argv)
{
    int port, parallel = 128, active_ms = 0, hold_s = 0, dead = 0;
    struct peer_id expect;
    uint64_t t0, t1;

    if (argc < 4 || peer_id_parse(argv[2], &expect) ||
        (n_peers = atoi(argv[3])) <= 0) {
        fprintf(stderr, "usage: conns PORT PEERID N [--active MS] "
                        "[--parallel K] [--hold SECONDS]\n");
        return 2;
    }
    port = atoi(argv[1]);
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--active"))
            active_ms = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--parallel"))
            parallel = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--hold"))
            hold_s = atoi(argv[i + 1]);
    }
    if (identity_global_init() || (ep = epoll_create1(0)) < 0)
        die("setup");
    peers = calloc((size_t)n_peers, sizeof(*peers));
    if (!peers)
        die("out of memory");
    t0 = now_ms();
    while (n_ready + n_failed < n_peers) {
        while (n_started < n_peers && in_flight < parallel)
            if (start(&peers[n_started], n_started, port, &expect) == 0)
                n_started++;
            else
                die("connect");
        run_loop(10);
        if (now_ms() - t0 > 120000)
            die("not all up within 120 s");
    }
    t1 = now_ms();
    if (n_failed) {
        fprintf(stderr, "conns: %d of %d failed: %s\n", n_failed, n_peers,
                fastn_strerror(last_err));
        return 1;
    }
    printf("up %d %.3f\n", n_ready, (double)(t1 - t0) / 1000);
    fflush(stdout);
    hold(active_ms, hold_s);
    for (int i = 0; i < n_peers; i++) {
        dead += peers[i].dead;
        if (!peers[i].dead)
            close(peers[i].fd);
        conn_free(peers[i].c);
        noise_local_cleanup(&peers[i].local);
        identity_cleanup(&peers[i].id);
    }
    printf("closed %llu answered, %d dropped by the daemon\n",
           (unsigned long long)answered, dead);
    free(peers);
    return 0;
}
