/*
 * Throughput of the net cores on one CPU core, through memory: how fast
 * plaintext moves through yamux framing + Noise encryption on one side
 * and Noise decryption + yamux parsing on the other, with window updates
 * flowing back, compared with the bare cipher doing the same encryption
 * and decryption. The difference is what the cores add on top of the
 * cipher; it must stay small for a daemon-to-daemon stream to reach
 * 1000 MB/s (each daemon then pays one of the two cipher passes).
 *
 * Paths measured:
 *   cipher      seal + open of 65519-byte frames (the floor)
 *   in-place    conn_stream_send_frame() building each frame straight in
 *               the receiver's buffer: no copy at all
 *   socket-copy the same plus one memcpy per frame, standing in for the
 *               kernel copy of a real socket
 *   copy-path   yamux_stream_write() (copies the data into the output)
 *   sealed-from conn_stream_send_from(): sealed from the writer's buffer
 *               into a frame, plus the socket-like copy (a plugin's
 *               swarm_stream_write of 16 KiB or more)
 *
 * Usage: core_throughput [MiB per run, default 2048]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastn/err.h"
#include "net/conn.h"
#include "net/mss.h"
#include "net/noise_int.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct side {
    struct identity id;
    struct noise_local local;
    struct conn *c;
    uint64_t bytes;
};

static void die(const char *what, int err)
{
    fprintf(stderr, "core_throughput: %s: %s\n", what, fastn_strerror(err));
    exit(1);
}

/* Polls a side, consuming all stream data at once (a sink). */
static void drain(struct side *x)
{
    struct conn_event ev;
    int r;
    while ((r = conn_poll(x->c, &ev, 0)) == 1) {
        struct yamux_session *m = conn_mux(x->c);
        if (ev.type != CONN_EV_STREAM)
            continue;
        if (ev.mux.type == YAMUX_EV_STREAM_OPEN)
            yamux_stream_accept(m, ev.mux.stream_id, NULL);
        if (ev.mux.type == YAMUX_EV_DATA) {
            x->bytes += ev.mux.len;
            yamux_stream_consumed(m, ev.mux.stream_id, ev.mux.len, 0);
        }
    }
    if (r < 0)
        die("poll", r);
}

/* Moves all pending output of a to b. */
static void pump(struct side *a, struct side *b)
{
    for (;;) {
        const uint8_t *p;
        size_t n;
        int k, err = conn_output(a->c, &p, &n);
        if (err)
            die("output", err);
        if (n == 0)
            return;
        k = conn_feed(b->c, p, n);
        if (k < 0)
            die("feed", k);
        conn_output_consume(a->c, (size_t)k);
        drain(b);
    }
}

static void setup(struct side *d, struct side *l, uint32_t *id)
{
    static const char *mux[] = {YAMUX_PROTOCOL_ID};
    struct conn_config cfg;
    uint8_t s1[32] = {1}, s2[32] = {2};

    memset(d, 0, sizeof(*d));
    memset(l, 0, sizeof(*l));
    identity_from_seed(&d->id, s1);
    identity_from_seed(&l->id, s2);
    noise_local_init(&d->local, &d->id, mux, 1);
    noise_local_init(&l->local, &l->id, mux, 1);
    conn_config_default(&cfg, true, &d->local);
    d->c = conn_new(&cfg, 0);
    conn_config_default(&cfg, false, &l->local);
    l->c = conn_new(&cfg, 0);
    conn_start(d->c);
    conn_start(l->c);
    for (int i = 0; i < 8; i++) {
        drain(d);
        drain(l);
        pump(d, l);
        pump(l, d);
    }
    if (!conn_is_ready(d->c) || !conn_is_ready(l->c))
        die("handshake", FASTN_ERR_INTERNAL);
    int err = yamux_stream_open(conn_mux(d->c), NULL, id);
    if (err)
        die("open", err);
    pump(d, l);
    pump(l, d);
}

static void teardown(struct side *d, struct side *l)
{
    conn_free(d->c);
    conn_free(l->c);
    noise_local_cleanup(&d->local);
    noise_local_cleanup(&l->local);
}

enum path { IN_PLACE, SOCKET_COPY, COPY_PATH, SEALED_FROM };

/* Returns MB/s of plaintext delivered to the receiver. */
static double run(enum path path, uint64_t total)
{
    static uint8_t
        frame[CONN_FRAME_HEAD + CONN_FRAME_MAX_DATA + CONN_FRAME_TAIL];
    static uint8_t data[CONN_FRAME_MAX_DATA];
    struct side d, l;
    uint32_t id;
    uint64_t sent = 0;
    double t0;

    setup(&d, &l, &id);
    t0 = now_s();
    while (sent < total) {
        struct yamux_session *m = conn_mux(d.c);
        size_t n = yamux_stream_send_window(m, id);
        if (n == 0) { /* window updates back to the sender */
            pump(&l, &d);
            drain(&d);
            continue;
        }
        pump(&d, &l); /* control frames go first */
        if (n > CONN_FRAME_MAX_DATA)
            n = CONN_FRAME_MAX_DATA;
        if (path == COPY_PATH) {
            int k = yamux_stream_write(m, id, data, n);
            if (k <= 0)
                die("write", k);
            sent += (uint64_t)k;
            continue;
        }
        uint8_t *p, *dst;
        size_t room;
        int err = conn_rx_space(l.c, sizeof(frame), &p, &room);
        if (err || room < sizeof(frame))
            die("rx space", err ? err : FASTN_ERR_NOMEM);
        dst = path == IN_PLACE ? p : frame;
        if (path == SEALED_FROM)
            dst = frame;
        int w = path == SEALED_FROM
                    ? conn_stream_send_from(d.c, id, dst, data, n)
                    : conn_stream_send_frame(d.c, id, dst, n);
        if (w < 0)
            die("send frame", w);
        if (path == SOCKET_COPY || path == SEALED_FROM)
            memcpy(p, frame, (size_t)w);
        conn_rx_commit(l.c, (size_t)w);
        drain(&l);
        sent += n;
    }
    pump(&d, &l);
    double dt = now_s() - t0;
    if (l.bytes != sent)
        die("lost bytes", FASTN_ERR_INTERNAL);
    teardown(&d, &l);
    return (double)sent / dt / 1e6;
}

static double cipher_only(uint64_t total)
{
    static uint8_t buf[NOISE_MAX_PLAIN + NOISE_TAG_LEN];
    struct noise_cipher tx, rx;
    uint8_t k[32] = {7};
    uint64_t done = 0;
    double t0;

    noise_cipher_init(&tx, k);
    noise_cipher_init(&rx, k);
    t0 = now_s();
    while (done < total) {
        noise_cipher_seal(&tx, NULL, 0, buf, NOISE_MAX_PLAIN, buf);
        if (noise_cipher_open(&rx, NULL, 0, buf, sizeof(buf)))
            die("open", FASTN_ERR_NET_DECRYPT);
        done += NOISE_MAX_PLAIN;
    }
    return (double)done / (now_s() - t0) / 1e6;
}

/* yamux framing alone (no cipher): headers written in place and the
 * frames parsed by the other session, windows flowing back. */
static double yamux_only(uint64_t total)
{
    static uint8_t frame[YAMUX_HEADER_LEN + CONN_FRAME_MAX_DATA];
    struct yamux_config cfg;
    struct yamux_session *a, *b;
    struct yamux_event ev;
    uint64_t sent = 0, got = 0;
    uint32_t id;
    size_t n, used;
    const uint8_t *p;
    double t0;

    yamux_config_default(&cfg, true);
    a = yamux_new(&cfg, 0);
    cfg.client = false;
    b = yamux_new(&cfg, 0);
    yamux_stream_open(a, NULL, &id);
    t0 = now_s();
    while (sent < total) {
        size_t w = yamux_stream_send_window(a, id);
        p = yamux_output(a, &n); /* control frames first */
        for (size_t off = 0; off < n; off += used)
            while (yamux_feed(b, p + off, n - off, &used, &ev, 0) == 1) {
                if (ev.type == YAMUX_EV_STREAM_OPEN)
                    yamux_stream_accept(b, ev.stream_id, NULL);
                off += used;
                used = 0;
            }
        yamux_output_consume(a, n);
        p = yamux_output(b, &n); /* window updates back */
        for (size_t off = 0; off < n; off += used)
            while (yamux_feed(a, p + off, n - off, &used, &ev, 0) == 1) {
                off += used;
                used = 0;
            }
        yamux_output_consume(b, n);
        if (w == 0)
            continue;
        if (w > CONN_FRAME_MAX_DATA)
            w = CONN_FRAME_MAX_DATA;
        yamux_stream_data_header(a, id, w, frame);
        p = frame;
        n = YAMUX_HEADER_LEN + w;
        for (size_t off = 0; off < n; off += used)
            while (yamux_feed(b, p + off, n - off, &used, &ev, 0) == 1) {
                if (ev.type == YAMUX_EV_DATA) {
                    got += ev.len;
                    yamux_stream_consumed(b, id, ev.len, 0);
                }
                off += used;
                used = 0;
            }
        sent += w;
    }
    double dt = now_s() - t0;
    if (got != sent)
        die("yamux lost bytes", FASTN_ERR_INTERNAL);
    yamux_free(a);
    yamux_free(b);
    return (double)sent / dt / 1e6;
}

int main(int argc, char **argv)
{
    uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 10) : 2048;
    uint64_t total = mib << 20;

    if (identity_global_init())
        die("init", FASTN_ERR_CRYPTO);
    double c = cipher_only(total);
    double a = run(IN_PLACE, total);
    double b = run(SOCKET_COPY, total);
    double e = run(COPY_PATH, total);
    double f = run(SEALED_FROM, total);
    double y = yamux_only(total * 8);
    printf("net core throughput, one core, %llu MiB per run "
           "(each byte encrypted and decrypted):\n",
           (unsigned long long)mib);
    printf("  cipher alone (seal+open)   %8.0f MB/s\n", c);
    printf(
        "  stack, in-place frames     %8.0f MB/s  (%.1f%% over the cipher)\n",
        a, (c / a - 1) * 100);
    printf("  stack, + socket-like copy  %8.0f MB/s  (%.1f%%)\n", b,
           (c / b - 1) * 100);
    printf("  stack, copy path (write)   %8.0f MB/s  (%.1f%%)\n", e,
           (c / e - 1) * 100);
    printf("  stack, sealed from writer  %8.0f MB/s  (%.1f%%)\n", f,
           (c / f - 1) * 100);
    printf("  yamux framing alone        %8.0f ns per %d-byte frame\n",
           CONN_FRAME_MAX_DATA / y * 1e3, CONN_FRAME_MAX_DATA);
    printf("  per side, in-place (one cipher pass each): ~%.0f MB/s\n", 2 * a);
    return 0;
}
