/*
 * Many hostile connections at once, for the integration tests of the
 * swarm's limits (and bench/net/hog.sh):
 *
 *   flood_peer silent PORT N SRC SECONDS
 *       N TCP connections to 127.0.0.1:PORT from the address SRC (a
 *       127/8 address, so that the test's legitimate peer can be another
 *       one), which send nothing. Prints "ready CONNECTED OPEN" once they
 *       are made (OPEN: how many the daemon had not closed half a second
 *       later), then holds them for SECONDS.
 *   flood_peer hog PORT PEERID N SECONDS [SRC]
 *       N connections, each with an identity of its own and a full
 *       handshake, that then send without ever reading for SECONDS: yamux
 *       pings, identify requests, proposals of a protocol nobody serves,
 *       a /perf/1.0.0 request for 1 GiB back, and /ipfs/ping/1.0.0 data,
 *       respecting the windows so that the daemon has no protocol error
 *       to end them with. Their receive buffers are small: the daemon's
 *       answers pile up on its side. Prints "connected N" after the
 *       handshakes and "sent MB dead K" at the end.
 *
 * Exit 0 when the run could be made, 1 when it could not (a connect or a
 * handshake failed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fastn/err.h"
#include "identity/identity.h"
#include "net/identify.h"
#include "net/mss.h"
#include "net/noise.h"
#include "net/perf.h"
#include "net/ping.h"
#include "net/yamux.h"

static void die(const char *what)
{
    fprintf(stderr, "flood_peer: %s\n", what);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A TCP socket to 127.0.0.1:port from src (NULL: any), its receive
 * buffer small so that the daemon's answers stay on its side. */
static int dial(int port, const char *src)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    if (src) {
        struct sockaddr_in b = {.sin_family = AF_INET};
        if (inet_pton(AF_INET, src, &b.sin_addr) != 1 ||
            bind(fd, (struct sockaddr *)&b, sizeof(b)) != 0) {
            close(fd);
            return -1;
        }
    }
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* --- silent ---------------------------------------------------------------
 */

static int run_silent(int port, int n, const char *src, int seconds)
{
    int *fds = calloc((size_t)n, sizeof(int)), made = 0, open = 0;

    if (!fds)
        die("out of memory");
    for (int i = 0; i < n; i++)
        if ((fds[made] = dial(port, src)) >= 0)
            made++;
    usleep(500000);
    for (int i = 0; i < made; i++) { /* closed: EOF or reset */
        uint8_t c;
        ssize_t r = recv(fds[i], &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
            open++;
    }
    printf("ready %d %d\n", made, open);
    fflush(stdout);
    sleep((unsigned)seconds);
    for (int i = 0; i < made; i++)
        close(fds[i]);
    free(fds);
    return made ? 0 : 1;
}

/* --- hog --------------------------------------------------------------------
 */

struct hog {
    int fd;
    bool dead;
    struct identity id;
    struct noise_local local;
    struct noise_conn *nc;
    struct buf out; /* sealed, not yet sent */
    size_t out_off;
    uint32_t next_id, id_stream, na_stream, ping_stream;
    size_t ping_sent;
    bool perf_started;
    uint32_t value;
};

static void send_all(int fd, struct buf *b)
{
    for (size_t off = 0; off < b->len;) {
        ssize_t w = send(fd, b->data + off, b->len - off, MSG_NOSIGNAL);
        if (w <= 0)
            die("send during the handshake");
        off += (size_t)w;
    }
    buf_reset(b);
}

static ssize_t recv_wait(int fd, uint8_t *p, size_t n)
{
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, 5000) <= 0)
        return -1;
    return recv(fd, p, n, 0);
}

/* multistream-select for /noise, then Noise XX as the initiator. */
static void handshake(struct hog *h, const struct peer_id *expect)
{
    static const char *const protos[] = {NOISE_PROTOCOL_ID};
    uint8_t b[65536];
    struct buf out;
    struct mss m;
    size_t used;
    int r = 0;

    h->nc = noise_conn_new(&h->local, true, expect);
    buf_init(&out, 1 << 20);
    mss_init_dialer(&m, protos, 1);
    mss_start(&m, &out);
    send_all(h->fd, &out);
    while (r != MSS_DONE) {
        ssize_t n = recv_wait(h->fd, b, sizeof(b));
        if (n <= 0)
            die("no multistream-select answer");
        r = mss_input(&m, b, (size_t)n, &used, &out);
        send_all(h->fd, &out);
        if (r < 0)
            die("multistream-select failed");
        if (r == MSS_DONE && used < (size_t)n)
            noise_feed(h->nc, b + used, (size_t)n - used);
    }
    noise_start(h->nc, &out);
    send_all(h->fd, &out);
    while ((r = noise_handshake(h->nc, &out)) == 0) {
        send_all(h->fd, &out);
        ssize_t n = recv_wait(h->fd, b, sizeof(b));
        if (n <= 0)
            die("handshake: no answer");
        noise_feed(h->nc, b, (size_t)n);
    }
    send_all(h->fd, &out);
    if (r < 0 || !noise_early_muxer(h->nc))
        die("handshake failed");
    buf_cleanup(&out);
}

static void frame(struct buf *b, uint8_t type, uint16_t flags, uint32_t id,
                  uint32_t len)
{
    uint8_t h[YAMUX_HEADER_LEN] = {0, type, (uint8_t)(flags >> 8),
                                   (uint8_t)flags};
    for (int i = 0; i < 4; i++) {
        h[4 + i] = (uint8_t)(id >> (24 - 8 * i));
        h[8 + i] = (uint8_t)(len >> (24 - 8 * i));
    }
    buf_append(b, h, sizeof(h));
}

/* Opens a stream proposing proto, with extra bytes after the proposal
 * and a FIN when fin; returns its id. */
static uint32_t open_stream(struct hog *h, struct buf *b, const char *proto,
                            const uint8_t *extra, size_t n, bool fin)
{
    uint32_t id = h->next_id;
    struct buf m;

    h->next_id += 2;
    buf_init(&m, 4096);
    mss_write_msg(&m, MSS_PROTOCOL_ID, strlen(MSS_PROTOCOL_ID));
    mss_write_msg(&m, proto, strlen(proto));
    buf_append(&m, extra, n);
    frame(b, YAMUX_TYPE_WINDOW, YAMUX_SYN, id, 0);
    frame(b, YAMUX_TYPE_DATA, 0, id, (uint32_t)m.len);
    buf_append(b, m.data, m.len);
    if (fin)
        frame(b, YAMUX_TYPE_WINDOW, YAMUX_FIN, id, 0);
    buf_cleanup(&m);
    return id;
}

/* One round of everything a peer can make the daemon answer. */
static void batch(struct hog *h)
{
    uint8_t pings[16 * PING_SIZE], perf[8] = {0, 0, 0, 0, 0x40, 0, 0, 0};
    struct buf b;

    buf_init(&b, 1 << 20);
    for (int i = 0; i < 1000; i++)
        frame(&b, YAMUX_TYPE_PING, YAMUX_SYN, 0, ++h->value);
    if (h->id_stream)
        frame(&b, YAMUX_TYPE_WINDOW, YAMUX_RST, h->id_stream, 0);
    h->id_stream = open_stream(h, &b, IDENTIFY_PROTOCOL_ID, NULL, 0, false);
    if (h->na_stream)
        frame(&b, YAMUX_TYPE_WINDOW, YAMUX_RST, h->na_stream, 0);
    h->na_stream = open_stream(h, &b, "/no/such/1.0.0", NULL, 0, false);
    if (!h->perf_started) { /* 1 GiB back, please, and room for it */
        uint32_t id =
            open_stream(h, &b, PERF_PROTOCOL_ID, perf, sizeof(perf), true);
        frame(&b, YAMUX_TYPE_WINDOW, 0, id, 1u << 30);
        h->perf_started = true;
    }
    memset(pings, (int)h->value, sizeof(pings));
    if (!h->ping_stream || h->ping_sent > 200 * 1024) {
        if (h->ping_stream)
            frame(&b, YAMUX_TYPE_WINDOW, YAMUX_RST, h->ping_stream, 0);
        h->ping_stream =
            open_stream(h, &b, PING_PROTOCOL_ID, pings, sizeof(pings), false);
        h->ping_sent = sizeof(pings);
    } else {
        frame(&b, YAMUX_TYPE_DATA, 0, h->ping_stream, sizeof(pings));
        buf_append(&b, pings, sizeof(pings));
        h->ping_sent += sizeof(pings);
    }
    if (noise_write(h->nc, b.data, b.len, &h->out))
        die("noise_write");
    buf_cleanup(&b);
}

static void hog_connect(struct hog *h, int port, const struct peer_id *expect,
                        const char *src)
{
    static const char *const muxers[] = {YAMUX_PROTOCOL_ID};

    if (identity_generate(&h->id) ||
        noise_local_init(&h->local, &h->id, muxers, 1))
        die("identity");
    h->fd = dial(port, src);
    if (h->fd < 0)
        die("connect");
    handshake(h, expect);
    fcntl(h->fd, F_SETFL, fcntl(h->fd, F_GETFL) | O_NONBLOCK);
    buf_init(&h->out, 64u << 20);
    h->next_id = 1;
}

/* Sends what the socket takes; false once the daemon closed it. */
static bool hog_send(struct hog *h, uint64_t *sent)
{
    if (h->out_off == h->out.len) {
        buf_reset(&h->out);
        h->out_off = 0;
        batch(h);
    }
    ssize_t w = send(h->fd, h->out.data + h->out_off, h->out.len - h->out_off,
                     MSG_NOSIGNAL);
    if (w > 0) {
        h->out_off += (size_t)w;
        *sent += (uint64_t)w;
        return true;
    }
    return w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static int run_hog(int port, const char *peer, int n, int seconds,
                   const char *src)
{
    struct hog *hs = calloc((size_t)n, sizeof(*hs));
    struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
    struct peer_id expect;
    uint64_t sent = 0;
    double end;
    int dead = 0;

    if (!hs || !pf || peer_id_parse(peer, &expect))
        die("setup");
    for (int i = 0; i < n; i++)
        hog_connect(&hs[i], port, &expect, src);
    printf("connected %d\n", n);
    fflush(stdout);
    end = now_s() + seconds;
    while (now_s() < end && dead < n) {
        for (int i = 0; i < n; i++)
            pf[i] = (struct pollfd){hs[i].dead ? -1 : hs[i].fd, POLLOUT, 0};
        if (poll(pf, (nfds_t)n, 100) < 0)
            break;
        for (int i = 0; i < n; i++) {
            if (hs[i].dead || !(pf[i].revents & (POLLOUT | POLLERR)))
                continue;
            if (!hog_send(&hs[i], &sent)) {
                hs[i].dead = true;
                dead++;
            }
        }
    }
    printf("sent %llu MB dead %d\n", (unsigned long long)(sent >> 20), dead);
    for (int i = 0; i < n; i++) {
        close(hs[i].fd);
        noise_conn_free(hs[i].nc);
        buf_cleanup(&hs[i].out);
    }
    free(hs);
    free(pf);
    return 0;
}

int main(int argc, char **argv)
{
    if (identity_global_init())
        die("libsodium");
    if (argc == 6 && !strcmp(argv[1], "silent"))
        return run_silent(atoi(argv[2]), atoi(argv[3]), argv[4], atoi(argv[5]));
    if ((argc == 6 || argc == 7) && !strcmp(argv[1], "hog"))
        return run_hog(atoi(argv[2]), argv[3], atoi(argv[4]), atoi(argv[5]),
                       argc == 7 ? argv[6] : NULL);
    fprintf(stderr, "usage: flood_peer silent PORT N SRC SECONDS\n"
                    "       flood_peer hog PORT PEERID N SECONDS [SRC]\n");
    return 2;
}
