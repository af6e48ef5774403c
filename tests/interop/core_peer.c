/*
 * A minimal peer built directly on the net cores (conn, mss, identify,
 * ping) with blocking sockets, to check the cores against js-libp2p before
 * the daemon's swarm exists. It serves /echo/1.0.0, /ipfs/id/1.0.0 and
 * /ipfs/ping/1.0.0, and on every connection runs identify, ping and a
 * 16 MiB echo against the other side, sending the echo through the
 * in-place fast path.
 *
 * Usage: core_peer dial IP PORT PEERID   (prints a JSON result line)
 *        core_peer listen                (prints its multiaddr, serves one
 *                                         connection until it closes)
 * NO_EARLY=1 in the environment leaves the muxer to multistream-select.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fastn/err.h"
#include "net/conn.h"
#include "net/identify.h"
#include "net/lp.h"
#include "net/mss.h"
#include "net/ping.h"

enum kind {
    K_NONE,
    K_ECHO_SRV,
    K_ID_SRV,
    K_PING_SRV,
    K_ECHO_CLI,
    K_ID_CLI,
    K_PING_CLI
};

struct cs {
    bool used, negotiated, fin;
    uint32_t id;
    enum kind kind;
    struct mss mss;
    struct lp_reader lp;
    struct ping_server ps;
    struct ping_client pc;
    uint64_t got, bad;
};

static struct cs S[64];
static struct conn *C;
static int fd;
static struct identity ID;
static struct multiaddr observed;
static int done_echo, done_id, done_ping;
static const char *const echo_p[] = {"/echo/1.0.0"};
static const char *const id_p[] = {IDENTIFY_PROTOCOL_ID};
static const char *const ping_p[] = {PING_PROTOCOL_ID};
#define ECHO_TOTAL (16u << 20)

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void die(const char *w, int e)
{
    fprintf(stderr, "cpeer: %s: %s (%s)\n", w, fastn_strerror(e),
            fastn_err_name(e));
    exit(1);
}

static void flush(void)
{
    struct buf out;
    buf_init(&out, 1u << 30);
    int err = conn_take_output(C, &out);
    if (err)
        die("output", err);
    for (size_t off = 0; off < out.len;) {
        ssize_t w = send(fd, out.data + off, out.len - off, 0);
        if (w <= 0)
            die("send", FASTN_ERR_IO);
        off += (size_t)w;
    }
    buf_cleanup(&out);
}

static struct cs *get(uint32_t id, bool create)
{
    for (int i = 0; i < 64; i++)
        if (S[i].used && S[i].id == id)
            return &S[i];
    if (!create)
        return NULL;
    for (int i = 0; i < 64; i++)
        if (!S[i].used) {
            memset(&S[i], 0, sizeof(S[i]));
            S[i].used = true;
            S[i].id = id;
            lp_reader_init(&S[i].lp, IDENTIFY_MAX_MSG);
            return &S[i];
        }
    die("streams", FASTN_ERR_NET_STREAM_LIMIT);
    return NULL;
}

static void write_all(uint32_t id, const uint8_t *p, size_t n)
{
    struct yamux_session *m = conn_mux(C);
    while (n) {
        int k = yamux_stream_write(m, id, p, n);
        if (k < 0)
            die("write", k);
        if (k == 0) { /* window: pump until it opens */
            flush();
            return;
        }
        p += k;
        n -= (size_t)k;
    }
}

static bool serves(void *arg, const char *p, size_t n)
{
    (void)arg;
    (void)n;
    return !strcmp(p, "/echo/1.0.0") || !strcmp(p, IDENTIFY_PROTOCOL_ID) ||
           !strcmp(p, PING_PROTOCOL_ID);
}

static void send_identify(uint32_t id)
{
    uint8_t key[IDENTITY_PUBKEY_PROTO_LEN];
    const char *protos[] = {"/echo/1.0.0", IDENTIFY_PROTOCOL_ID,
                            PING_PROTOCOL_ID};
    struct identify_info in = {0};
    struct buf b;
    pubkey_encode_proto(ID.pubkey, key);
    in.public_key = key;
    in.public_key_len = sizeof(key);
    in.protocols = protos;
    in.n_protocols = 3;
    in.observed = &observed;
    buf_init(&b, 1 << 16);
    identify_encode(&in, &b);
    write_all(id, b.data, b.len);
    buf_cleanup(&b);
    yamux_stream_close(conn_mux(C), id);
}

static void open_client(const char *const *proto, enum kind kind)
{
    struct yamux_session *m = conn_mux(C);
    struct buf b;
    uint32_t id;
    int err = yamux_stream_open(m, NULL, &id);
    if (err)
        die("open", err);
    struct cs *t = get(id, true);
    t->kind = kind;
    mss_init_dialer(&t->mss, proto, 1);
    buf_init(&b, 4096);
    mss_start(&t->mss, &b);
    write_all(id, b.data, b.len);
    buf_cleanup(&b);
}

static void on_negotiated(struct cs *t)
{
    const char *p = mss_selected(&t->mss);
    fprintf(stderr, "stream %u: %s\n", t->id, p);
    if (t->kind == K_NONE) {
        t->kind = !strcmp(p, "/echo/1.0.0")          ? K_ECHO_SRV
                  : !strcmp(p, IDENTIFY_PROTOCOL_ID) ? K_ID_SRV
                                                     : K_PING_SRV;
        if (t->kind == K_ID_SRV)
            send_identify(t->id);
        return;
    }
    if (t->kind == K_PING_CLI) {
        uint8_t rnd[PING_SIZE], out[PING_SIZE];
        for (int i = 0; i < PING_SIZE; i++)
            rnd[i] = (uint8_t)rand();
        ping_client_send(&t->pc, rnd, now_us(), out);
        write_all(t->id, out, PING_SIZE);
    }
}

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)(i & 0xff);
}

static void on_payload(struct cs *t, const uint8_t *p, size_t n)
{
    struct buf b;
    size_t used;
    uint64_t rtt;
    switch (t->kind) {
    case K_ECHO_SRV:
        write_all(t->id, p, n);
        break;
    case K_PING_SRV:
        buf_init(&b, 1 << 16);
        ping_server_feed(&t->ps, p, n, &b);
        write_all(t->id, b.data, b.len);
        buf_cleanup(&b);
        break;
    case K_ECHO_CLI:
        for (size_t i = 0; i < n; i++)
            t->bad += p[i] != pattern(t->got + i);
        t->got += n;
        break;
    case K_PING_CLI:
        if (ping_client_feed(&t->pc, p, n, &used, now_us(), &rtt) == 1) {
            fprintf(stderr, "ping rtt %llu us\n", (unsigned long long)rtt);
            done_ping = 1;
            yamux_stream_close(conn_mux(C), t->id);
        }
        break;
    case K_ID_CLI:
        while (n) {
            int r = lp_reader_feed(&t->lp, p, n, &used);
            p += used;
            n -= used;
            if (r < 0)
                die("identify framing", r);
            if (r == 1) {
                struct identify_msg im;
                struct peer_id pid;
                size_t len;
                const uint8_t *msg = lp_reader_msg(&t->lp, &len);
                if (identify_decode(msg, len, &im))
                    die("identify", FASTN_ERR_MALFORMED);
                if (identify_peer(&im, &pid) ||
                    !peer_id_equal(&pid, conn_remote_peer(C)))
                    die("identify key", FASTN_ERR_NET_WRONG_PEER);
                fprintf(stderr,
                        "identify: agent %.*s, %zu protocols, %zu addrs\n",
                        (int)im.agent_version.len, im.agent_version.p,
                        im.n_protocols, im.n_listen);
                done_id = 1;
            }
        }
        break;
    default:
        break;
    }
}

static void on_data(struct cs *t, const uint8_t *p, size_t n)
{
    if (!t->negotiated) {
        struct buf out;
        size_t used;
        buf_init(&out, 4096);
        int r = mss_input(&t->mss, p, n, &used, &out);
        if (out.len)
            write_all(t->id, out.data, out.len);
        buf_cleanup(&out);
        if (r < 0)
            die("stream mss", r);
        if (r != MSS_DONE)
            return;
        t->negotiated = true;
        on_negotiated(t);
        p += used;
        n -= used;
    }
    if (n)
        on_payload(t, p, n);
}

static void start_clients(void)
{
    open_client(id_p, K_ID_CLI);
    open_client(ping_p, K_PING_CLI);
    open_client(echo_p, K_ECHO_CLI);
}

static void send_echo(void)
{
    static uint64_t sent;
    static uint8_t
        frame[CONN_FRAME_HEAD + CONN_FRAME_MAX_DATA + CONN_FRAME_TAIL];
    struct cs *t = NULL;
    for (int i = 0; i < 64; i++)
        if (S[i].used && S[i].kind == K_ECHO_CLI)
            t = &S[i];
    if (!t || sent >= ECHO_TOTAL)
        return;
    struct yamux_session *m = conn_mux(C);
    for (;;) {
        size_t n = yamux_stream_send_window(m, t->id);
        if (n == 0 || sent >= ECHO_TOTAL)
            return;
        if (n > CONN_FRAME_MAX_DATA)
            n = CONN_FRAME_MAX_DATA;
        if (n > ECHO_TOTAL - sent)
            n = ECHO_TOTAL - sent;
        for (size_t i = 0; i < n; i++)
            frame[CONN_FRAME_HEAD + i] = pattern(sent + i);
        int w = conn_stream_send_frame(C, t->id, frame, n);
        if (w < 0)
            die("send frame", w);
        flush(); /* pending output first, then the frame */
        for (int off = 0; off < w;) {
            ssize_t k = send(fd, frame + off, (size_t)(w - off), 0);
            if (k <= 0)
                die("send", FASTN_ERR_IO);
            off += (int)k;
        }
        sent += n;
        if (sent == ECHO_TOTAL)
            yamux_stream_close(m, t->id);
    }
}

static void handle(const struct conn_event *ev)
{
    const struct yamux_event *e = &ev->mux;
    struct yamux_session *m = conn_mux(C);
    struct cs *t;
    if (ev->type == CONN_EV_READY) {
        char s[PEER_ID_STR_MAX];
        fprintf(stderr, "ready with %s\n",
                peer_id_format(conn_remote_peer(C), s));
        start_clients();
        return;
    }
    switch (e->type) {
    case YAMUX_EV_STREAM_OPEN: {
        struct buf b;
        t = get(e->stream_id, true);
        mss_init_listener(&t->mss, serves, NULL, NULL);
        yamux_stream_accept(m, e->stream_id, NULL);
        buf_init(&b, 64);
        mss_start(&t->mss, &b);
        write_all(t->id, b.data, b.len);
        buf_cleanup(&b);
        break;
    }
    case YAMUX_EV_DATA:
        t = get(e->stream_id, false);
        if (t)
            on_data(t, e->data, e->len);
        yamux_stream_consumed(m, e->stream_id, e->len, now_us());
        break;
    case YAMUX_EV_FIN:
    case YAMUX_EV_CLOSED:
    case YAMUX_EV_RESET:
        t = get(e->stream_id, false);
        if (!t)
            break;
        if (t->kind == K_ECHO_CLI && e->type != YAMUX_EV_RESET) {
            fprintf(stderr, "echo: got %llu bytes, %llu bad\n",
                    (unsigned long long)t->got, (unsigned long long)t->bad);
            done_echo = t->got == ECHO_TOTAL && !t->bad ? 1 : -1;
        }
        if (e->type == YAMUX_EV_FIN && t->kind != K_ECHO_CLI &&
            t->kind != K_PING_CLI && t->kind != K_ID_SRV)
            yamux_stream_close(m, e->stream_id);
        if (e->type != YAMUX_EV_FIN)
            t->used = false;
        break;
    case YAMUX_EV_PING_RTT:
        fprintf(stderr, "yamux rtt %llu us\n", (unsigned long long)e->rtt_us);
        break;
    default:
        break;
    }
}

static void loop(bool client)
{
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        struct conn_event ev;
        int r;
        send_echo();
        flush();
        if (client && done_echo && done_id && done_ping) {
            printf("{\"echo\": %d, \"identify\": %d, \"ping\": %d}\n",
                   done_echo, done_id, done_ping);
            return;
        }
        poll(&pfd, 1, 100);
        if (!(pfd.revents & (POLLIN | POLLHUP)))
            continue;
        uint8_t *p;
        size_t room;
        if (conn_rx_space(C, 256 * 1024, &p, &room))
            die("rx", FASTN_ERR_NOMEM);
        ssize_t n = recv(fd, p, room, 0);
        if (n <= 0) {
            fprintf(stderr, "connection closed\n");
            return;
        }
        conn_rx_commit(C, (size_t)n);
        while ((r = conn_poll(C, &ev, now_us())) == 1) {
            handle(&ev);
            flush();
        }
        if (r < 0)
            die("poll", r);
    }
}

int main(int argc, char **argv)
{
    static const char *mux[] = {YAMUX_PROTOCOL_ID};
    struct noise_local local;
    struct conn_config cfg;
    struct peer_id expect;
    struct sockaddr_in sa = {0};
    bool dial = argc > 1 && !strcmp(argv[1], "dial");
    int one = 1;

    identity_global_init();
    identity_generate(&ID);
    noise_local_init(&local, &ID, mux, getenv("NO_EARLY") ? 0 : 1);
    conn_config_default(&cfg, dial, &local);
    sa.sin_family = AF_INET;
    if (dial) {
        if (argc < 5 || peer_id_parse(argv[4], &expect))
            die("usage: core_peer dial IP PORT PEERID | core_peer listen",
                FASTN_ERR_INVAL);
        cfg.expect = &expect;
        inet_pton(AF_INET, argv[2], &sa.sin_addr);
        sa.sin_port = htons((uint16_t)atoi(argv[3]));
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
            die("connect", FASTN_ERR_NET_REFUSED);
    } else {
        int lfd = socket(AF_INET, SOCK_STREAM, 0);
        char s[PEER_ID_STR_MAX];
        socklen_t len = sizeof(sa);
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1) ||
            getsockname(lfd, (struct sockaddr *)&sa, &len))
            die("listen", FASTN_ERR_IO);
        printf("/ip4/127.0.0.1/tcp/%u/p2p/%s\n", ntohs(sa.sin_port),
               peer_id_format(&ID.id, s));
        fflush(stdout);
        len = sizeof(sa);
        fd = accept(lfd, (struct sockaddr *)&sa, &len);
        close(lfd);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    uint8_t ip[4];
    memcpy(ip, &sa.sin_addr, 4);
    multiaddr_from_ip_tcp(&observed, ip, 4, ntohs(sa.sin_port));
    C = conn_new(&cfg, now_us());
    conn_start(C);
    loop(dial);
    conn_free(C);
    return 0;
}
