/*
 * Call latency for a small message (bench/net/latency.sh drives it):
 * COUNT sequential /perf/1.0.0 calls, each sending its 8-byte header (32
 * bytes wanted back) and closing, timed until the reply's end. Prints
 * one JSON line: {"mode", "count", "min_us", "median_us", "p90_us",
 * "p99_us", "mean_us"}.
 *
 *   latency cold MULTIADDR COUNT
 *       the old library design, in-process: for every call, what a newly
 *       started program would do after reading its key file (derive the
 *       Ed25519 key pair from the seed, make its Noise static key and
 *       sign it), then TCP connect, multistream-select, Noise XX, yamux,
 *       a stream with multistream-select, the request and the reply; the
 *       connection is closed after the clock stops. The net cores
 *       (src/net) on a blocking socket, no daemon on this side.
 *   latency pooled SOCKET PEER COUNT
 *       through the daemon: libfastn's one-shot call over one persistent
 *       control connection, the daemon's pooled connection to PEER.
 *   latency cold-daemon SOCKET PEER COUNT
 *       through the daemon, but its connection to PEER is closed before
 *       each call (not timed), so each call dials and handshakes anew.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fastn/client.h"
#include "net/conn.h"
#include "net/mss.h"
#include "net/perf.h"
#include "util/multiaddr.h"

#define REPLY 32

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "latency: %s: %s\n", what, fastn_strerror(err));
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *mode, double *v, long n)
{
    double sum = 0;

    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    for (long i = 0; i < n; i++)
        sum += v[i];
    printf("{\"mode\":\"%s\",\"count\":%ld,\"min_us\":%.1f,\"median_us\":%.1f,"
           "\"p90_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f}\n",
           mode, n, v[0], v[n / 2], v[n * 90 / 100], v[n * 99 / 100],
           sum / (double)n);
}

/* --- cold: the cores on a blocking socket --------------------------------- */

struct cold {
    int fd;
    struct conn *c;
    uint32_t id;
    bool opened, negotiated, done;
    struct mss mss;
    size_t got;
};

static uint64_t mono_us(void)
{
    return (uint64_t)now_us();
}

static void send_output(struct cold *k)
{
    const uint8_t *p;
    size_t n;
    int err = conn_output(k->c, &p, &n);

    if (err)
        die("output", err);
    while (n > 0) {
        ssize_t w = send(k->fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            die("send", FASTN_ERR_IO);
        conn_output_consume(k->c, (size_t)w);
        p += w;
        n -= (size_t)w;
    }
}

/* Opens the perf stream: the proposal, the header and FIN in one go. */
static void open_perf(struct cold *k)
{
    static const char *const proto[] = {PERF_PROTOCOL_ID};
    struct yamux_session *m = conn_mux(k->c);
    uint8_t hdr[PERF_HEADER_LEN];
    struct buf out;
    int err;

    if ((err = yamux_stream_open(m, NULL, &k->id)))
        die("open", err);
    buf_init(&out, 4096);
    if ((err = mss_init_dialer(&k->mss, proto, 1)) ||
        (err = mss_start(&k->mss, &out)))
        die("mss", err);
    perf_client_header(REPLY, hdr);
    buf_append(&out, hdr, sizeof(hdr));
    if (yamux_stream_write(m, k->id, out.data, out.len) != (int)out.len)
        die("write", FASTN_ERR_AGAIN);
    yamux_stream_close(m, k->id);
    buf_cleanup(&out);
    k->opened = true;
}

static void on_stream_data(struct cold *k, const uint8_t *p, size_t n)
{
    size_t used = 0;
    struct buf out;

    if (!k->negotiated) {
        buf_init(&out, 4096);
        int r = mss_input(&k->mss, p, n, &used, &out);
        buf_cleanup(&out);
        if (r < 0)
            die("negotiation", r);
        if (r != MSS_DONE)
            return;
        k->negotiated = true;
    }
    k->got += n - used;
}

static void on_event(struct cold *k, const struct conn_event *ev)
{
    const struct yamux_event *e = &ev->mux;
    struct yamux_session *m = conn_mux(k->c);

    if (ev->type == CONN_EV_READY) {
        open_perf(k);
        return;
    }
    if (e->type == YAMUX_EV_STREAM_OPEN) { /* the daemon's identify */
        yamux_stream_reset(m, e->stream_id);
        return;
    }
    if (!k->opened || e->stream_id != k->id)
        return;
    if (e->type == YAMUX_EV_DATA) {
        on_stream_data(k, e->data, e->len);
        yamux_stream_consumed(m, e->stream_id, e->len, mono_us());
    } else if (e->type == YAMUX_EV_FIN || e->type == YAMUX_EV_CLOSED) {
        if (k->got != REPLY)
            die("reply", FASTN_ERR_TRUNCATED);
        k->done = true;
    } else if (e->type == YAMUX_EV_RESET) {
        die("stream", FASTN_ERR_NET_STREAM_RESET);
    }
}

static int tcp_connect(const struct multiaddr_tcp *t)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int one = 1, fd;

    if (t->host_code == MA_IP4) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(t->port);
        memcpy(&a->sin_addr, t->ip, 4);
        len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(t->port);
        memcpy(&a->sin6_addr, t->ip, 16);
        len = sizeof(*a);
    }
    fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) != 0)
        die("connect", FASTN_ERR_NET_REFUSED);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* One cold call: the program's key setup, a new connection, the call. */
static void cold_call(const uint8_t seed[32], const struct multiaddr_tcp *t)
{
    static const char *const mux[] = {YAMUX_PROTOCOL_ID};
    struct identity id;
    struct noise_local local;
    struct conn_config cfg;
    struct conn_event ev;
    struct cold k = {0};
    int r;

    if ((r = identity_from_seed(&id, seed)) ||
        (r = noise_local_init(&local, &id, mux, 1)))
        die("identity", r);
    k.fd = tcp_connect(t);
    conn_config_default(&cfg, true, &local);
    cfg.expect = &t->peer;
    if (!(k.c = conn_new(&cfg, mono_us())) || (r = conn_start(k.c)))
        die("conn", FASTN_ERR_NOMEM);
    send_output(&k);
    while (!k.done) {
        uint8_t *p;
        size_t room;
        ssize_t n;
        if (conn_rx_space(k.c, 64 * 1024, &p, &room))
            die("rx", FASTN_ERR_NOMEM);
        n = recv(k.fd, p, room, 0);
        if (n <= 0)
            die("recv", FASTN_ERR_NET_RESET);
        conn_rx_commit(k.c, (size_t)n);
        while ((r = conn_poll(k.c, &ev, mono_us())) == 1)
            on_event(&k, &ev);
        if (r < 0)
            die("connection", r);
        send_output(&k);
    }
    close(k.fd);
    conn_free(k.c);
    noise_local_cleanup(&local);
}

static void run_cold(const char *ma_text, long count)
{
    struct multiaddr ma;
    struct multiaddr_tcp t;
    uint8_t seed[32];
    double *v = calloc((size_t)count, sizeof(*v));

    if (multiaddr_parse(ma_text, &ma) || multiaddr_to_tcp(&ma, &t) ||
        !t.has_peer || (t.host_code != MA_IP4 && t.host_code != MA_IP6))
        die("the address wants /ip4|/ip6/.../tcp/PORT/p2p/PEER",
            FASTN_ERR_BAD_MULTIADDR);
    if (identity_global_init() || getrandom(seed, 32, 0) != 32)
        die("init", FASTN_ERR_CRYPTO);
    cold_call(seed, &t); /* warm up the code and the server */
    for (long i = 0; i < count; i++) {
        double t0 = now_us();
        cold_call(seed, &t);
        v[i] = now_us() - t0;
    }
    report("cold", v, count);
    free(v);
}

/* --- through the daemon --------------------------------------------------- */

static struct fastn_client *client(const char *sock)
{
    struct fastn_connect_options o;
    struct fastn_client *c = NULL;
    int rc;

    fastn_connect_options_init(&o);
    o.socket_path = sock;
    o.timeout_ms = 30000;
    if ((rc = fastn_client_connect(&o, &c)))
        die("connect to the daemon", rc);
    return c;
}

static void one_call(struct fastn_client *c, const char *peer)
{
    uint8_t hdr[PERF_HEADER_LEN];
    void *reply = NULL;
    size_t len = 0;
    int rc;

    perf_client_header(REPLY, hdr);
    rc = fastn_client_call(c, peer, PERF_PROTOCOL_ID, hdr, sizeof(hdr), &reply,
                           &len);
    if (rc || len != REPLY)
        die("call", rc ? rc : FASTN_ERR_TRUNCATED);
    free(reply);
}

static void run_daemon(const char *sock, const char *peer, long count,
                       bool cold)
{
    struct fastn_client *c = client(sock);
    double *v = calloc((size_t)count, sizeof(*v));

    one_call(c, peer); /* connects, and warms up */
    for (long i = 0; i < count; i++) {
        if (cold) {
            fastn_client_peer_disconnect(c, peer);
            usleep(2000); /* let both sides finish closing */
        }
        double t0 = now_us();
        one_call(c, peer);
        v[i] = now_us() - t0;
    }
    report(cold ? "cold-daemon" : "pooled", v, count);
    free(v);
    fastn_client_free(c);
}

int main(int argc, char **argv)
{
    long count = argc > 3 ? atol(argv[argc - 1]) : 0;

    if (argc == 4 && !strcmp(argv[1], "cold") && count > 0) {
        run_cold(argv[2], count);
        return 0;
    }
    if (argc == 5 && count > 0 &&
        (!strcmp(argv[1], "pooled") || !strcmp(argv[1], "cold-daemon"))) {
        run_daemon(argv[2], argv[3], count, argv[1][0] == 'c');
        return 0;
    }
    fprintf(stderr, "usage: latency cold MULTIADDR COUNT\n"
                    "       latency pooled|cold-daemon SOCKET PEER COUNT\n");
    return 2;
}
