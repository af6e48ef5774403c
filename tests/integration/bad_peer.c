/*
 * A misbehaving libp2p peer for the integration tests, built on the
 * sans-I/O cores with a plain socket: it dials a daemon, and either sends
 * garbage where the handshake should be, or completes the handshake and
 * then breaks the yamux protocol.
 *
 *   bad_peer PORT PEERID MODE
 *     garbage    text instead of multistream-select
 *     mss-large  a multistream-select message over 1024 bytes
 *     noise      a corrupted Noise handshake message
 *     version    (after the handshake) a yamux frame with version 1
 *     window     (after the handshake) a new stream whose first data
 *                frame is larger than the initial window
 *     stream     (after the handshake) data on a stream never opened
 *
 * Prints "closed" when the daemon hung up within 5 s, "open" otherwise;
 * exit 0 either way (the test decides), 1 if it could not get as far as
 * the mode needs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fastn/err.h"
#include "net/mss.h"
#include "net/noise.h"
#include "net/yamux.h"

static int fd;

static void send_buf(struct buf *b)
{
    for (size_t off = 0; off < b->len;) {
        ssize_t w = send(fd, b->data + off, b->len - off, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        off += (size_t)w;
    }
    buf_reset(b);
}

/* recv with a 5 s limit: -2 when nothing came. */
static ssize_t recv_some(uint8_t *p, size_t n)
{
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, 5000) <= 0)
        return -2;
    return recv(fd, p, n, 0);
}

static void wait_close(void)
{
    uint8_t b[4096];
    for (;;) {
        ssize_t r = recv_some(b, sizeof(b));
        if (r == 0 || r == -1) { /* EOF or reset */
            printf("closed\n");
            return;
        }
        if (r == -2) {
            printf("open\n");
            return;
        }
    }
}

static void die(const char *what)
{
    fprintf(stderr, "bad_peer: %s\n", what);
    exit(1);
}

/* multistream-select for /noise; leftover bytes go to the Noise buffer. */
static void negotiate(struct noise_conn *nc)
{
    static const char *const protos[] = {NOISE_PROTOCOL_ID};
    struct mss m;
    struct buf out;
    uint8_t b[4096];
    size_t used;
    int r = 0;

    buf_init(&out, 1 << 16);
    mss_init_dialer(&m, protos, 1);
    mss_start(&m, &out);
    send_buf(&out);
    while (r != MSS_DONE) {
        ssize_t n = recv_some(b, sizeof(b));
        if (n <= 0)
            die("no multistream-select answer");
        r = mss_input(&m, b, (size_t)n, &used, &out);
        send_buf(&out);
        if (r < 0)
            die("multistream-select failed");
        if (r == MSS_DONE && used < (size_t)n)
            noise_feed(nc, b + used, (size_t)n - used);
    }
    buf_cleanup(&out);
}

static void handshake(struct noise_conn *nc)
{
    struct buf out;
    uint8_t b[65536];
    int r;

    buf_init(&out, 1 << 20);
    noise_start(nc, &out);
    send_buf(&out);
    while ((r = noise_handshake(nc, &out)) == 0) {
        send_buf(&out);
        ssize_t n = recv_some(b, sizeof(b));
        if (n <= 0)
            die("handshake: no answer");
        noise_feed(nc, b, (size_t)n);
    }
    send_buf(&out);
    if (r < 0)
        die("handshake failed");
    if (!noise_early_muxer(nc))
        die("no early muxer");
    buf_cleanup(&out);
}

static void put_header(uint8_t *h, uint8_t ver, uint8_t type, uint16_t flags,
                       uint32_t id, uint32_t len)
{
    h[0] = ver;
    h[1] = type;
    h[2] = (uint8_t)(flags >> 8);
    h[3] = (uint8_t)flags;
    for (int i = 0; i < 4; i++) {
        h[4 + i] = (uint8_t)(id >> (24 - 8 * i));
        h[8 + i] = (uint8_t)(len >> (24 - 8 * i));
    }
}

static void send_plain(struct noise_conn *nc, const uint8_t *p, size_t n)
{
    struct buf out;
    buf_init(&out, 1 << 22);
    if (noise_write(nc, p, n, &out))
        die("noise_write");
    send_buf(&out);
    buf_cleanup(&out);
}

static void yamux_mode(struct noise_conn *nc, const char *mode)
{
    static uint8_t frame[YAMUX_HEADER_LEN + 300000];

    if (!strcmp(mode, "version")) {
        put_header(frame, 1, YAMUX_TYPE_PING, YAMUX_SYN, 0, 1);
        send_plain(nc, frame, YAMUX_HEADER_LEN);
    } else if (!strcmp(mode, "window")) {
        put_header(frame, 0, YAMUX_TYPE_DATA, YAMUX_SYN, 1, 300000);
        send_plain(nc, frame, sizeof(frame));
    } else if (!strcmp(mode, "stream")) {
        put_header(frame, 0, YAMUX_TYPE_DATA, 0, 99, 4);
        send_plain(nc, frame, YAMUX_HEADER_LEN + 4);
    } else {
        die("unknown mode");
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct identity id;
    struct noise_local local;
    struct noise_conn *nc;
    struct peer_id expect;
    const char *mode;
    static const char *const muxers[] = {YAMUX_PROTOCOL_ID};

    if (argc != 4)
        die("usage: bad_peer PORT PEERID MODE");
    mode = argv[3];
    if (identity_global_init() || identity_generate(&id) ||
        noise_local_init(&local, &id, muxers, 1) ||
        peer_id_parse(argv[2], &expect))
        die("setup");
    sa.sin_port = htons((uint16_t)atoi(argv[1]));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        die("connect");
    if (!strcmp(mode, "garbage")) {
        const char g[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        send(fd, g, sizeof(g) - 1, MSG_NOSIGNAL);
        wait_close();
        return 0;
    }
    if (!strcmp(mode, "mss-large")) {
        uint8_t m[2100];
        size_t n = uvarint_encode(2000, m);
        memset(m + n, 'a', 2000);
        send(fd, m, n + 2000, MSG_NOSIGNAL);
        wait_close();
        return 0;
    }
    nc = noise_conn_new(&local, true, &expect);
    negotiate(nc);
    if (!strcmp(mode, "noise")) {
        uint8_t bad[34] = {0, 32};
        memset(bad + 2, 0x5a, 32);
        send(fd, bad, sizeof(bad), MSG_NOSIGNAL); /* not an ephemeral key */
        uint8_t junk[200] = {0, 198};
        send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
        wait_close();
        noise_conn_free(nc);
        return 0;
    }
    handshake(nc);
    yamux_mode(nc, mode);
    wait_close();
    noise_conn_free(nc);
    return 0;
}
