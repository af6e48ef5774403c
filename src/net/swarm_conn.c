/*
 * One TCP connection of the swarm on libuv: reads straight into the
 * conn core's receive buffer, runs conn_poll() and routes its events,
 * writes the core's output (and in-place frames) with writev, keeps one
 * timer for the upgrade deadline, yamux keepalive and idleness, and
 * resolves duplicate connections to one peer.
 *
 * Writes: when nothing is queued in libuv the bytes go out with
 * uv_try_write at once; what the socket does not take is queued with
 * uv_write (the core's output buffer is swapped out, not copied). While
 * more than SWARM_WRITE_HIGH bytes are queued, streams are told to wait
 * (swarm_stream_frame gives no room, writes go to their queues); they are
 * kicked once it falls below SWARM_WRITE_LOW.
 *
 * Duplicates: when a second connection to a peer becomes ready, both
 * sides keep the same one (the one dialed by the smaller PeerID; between
 * two dialed the same way, the one whose dialing end has the smaller
 * address). The other drains: no new streams, closed once it has had none
 * for SWARM_DRAIN_MS.
 */
#include "net/swarm_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fastn/err.h"
#include "net/noise_pool.h"
#include "util/log.h"

#define OUTPUT_MAX (64u << 20)

/* A piece of output waiting for the socket: a sealed frame (from the
 * pool) or a run of the core's output (a buffer swapped out of it). */
struct out_chunk {
    struct out_chunk *next;
    uint8_t *frame;
    struct buf b;
    const uint8_t *p; /* the bytes not yet written */
    size_t len;
    size_t ctl; /* control bytes in it (counted in sc->ctl_pending) */
    /* A frame whose encryption waits for the flush (seal_queue), which
     * seals every such frame of the queue at once on the crypto pool. */
    bool unsealed;
    struct noise_job seal;
};

/* A uv_write of chunks; they are freed when it completes. */
struct conn_write {
    uv_write_t req;
    struct swarm_conn *sc;
    struct out_chunk *chunks;
    size_t len;
};

static void on_handle_closed(uv_handle_t *h)
{
    struct swarm_conn *sc = h->data;

    if (--sc->handles > 0)
        return;
    conn_free(sc->c);
    buf_cleanup(&sc->spare);
    free(sc->protos);
    free(sc->listen);
    swarm__closed(sc->sw);
    free(sc);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

struct swarm_conn *swarm__conn_new(struct swarm *sw, bool inbound,
                                   const struct peer_id *expect)
{
    struct swarm_conn *sc = calloc(1, sizeof(*sc));
    struct conn_config cfg;
    uint64_t now = swarm__now_us();

    if (!sc)
        return NULL;
    sc->sw = sw;
    sc->inbound = inbound;
    if (expect)
        sc->expect = *expect;
    conn_config_default(&cfg, !inbound, &sw->local);
    cfg.expect = expect ? &sc->expect : NULL;
    cfg.yamux.keepalive_us = (uint64_t)sw->cfg.keepalive_ms * 1000;
    cfg.yamux.ping_timeout_us = (uint64_t)sw->cfg.ping_timeout_ms * 1000;
    cfg.yamux.max_window = sw->cfg.max_window;
    sc->c = conn_new(&cfg, now);
    if (!sc->c) {
        free(sc);
        return NULL;
    }
    buf_init(&sc->spare, OUTPUT_MAX);
    sc->oq_tail = &sc->oq_head;
    sc->started_us = now;
    uv_tcp_init(sw->loop, &sc->tcp);
    uv_timer_init(sw->loop, &sc->timer);
    sc->tcp.data = sc->timer.data = sc;
    sc->handles = 2;
    sc->next = sw->conns;
    sc->pprev = &sw->conns;
    if (sw->conns)
        sw->conns->pprev = &sc->next;
    sw->conns = sc;
    sw->n_conns++;
    swarm__conn_update_timer(sc);
    return sc;
}

static void conn_addrs(struct swarm_conn *sc);

/* --- handshakes per source address ------------------------------------------
 * An inbound connection counts against cfg.max_handshakes and against
 * cfg.max_handshakes_per_addr of its source address from its accept
 * until it is upgraded or closed, so that one address holding hundreds
 * of half-open connections takes a few slots, not all of them. */

/* The source address as counted: IPv4 (also mapped in IPv6), IPv6 /64. */
static size_t addr_key(const struct multiaddr *ma, uint8_t key[8])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
                                       0, 0, 0, 0, 0xff, 0xff};
    struct multiaddr_tcp t;

    if (multiaddr_to_tcp(ma, &t))
        return 0;
    if (t.host_code == MA_IP4) {
        memcpy(key, t.ip, 4);
        return 4;
    }
    if (t.host_code != MA_IP6)
        return 0;
    if (!memcmp(t.ip, mapped, sizeof(mapped))) {
        memcpy(key, t.ip + 12, 4);
        return 4;
    }
    memcpy(key, t.ip, 8);
    return 8;
}

static struct swarm_addr *addr_find(struct swarm *sw, const uint8_t *key,
                                    size_t len, uint32_t h)
{
    struct swarm_hnode *n = swarm__htab_first(&sw->addrs, h);

    for (; n; n = swarm__htab_next(n)) {
        struct swarm_addr *a = (struct swarm_addr *)n;
        if (a->len == len && !memcmp(a->key, key, len))
            return a;
    }
    return NULL;
}

/* Why an inbound connection is refused; each reason has its own rate limit. */
enum busy_why { BUSY_CONNS, BUSY_HANDSHAKES, BUSY_PER_ADDR, BUSY_N };

static void busy_log(const struct swarm_conn *sc, enum busy_why why,
                     uint32_t limit)
{
    static const char *const text[BUSY_N] = {
        [BUSY_CONNS] = "connections (max-connections)",
        [BUSY_HANDSHAKES] = "handshakes at once (max-handshakes)",
        [BUSY_PER_ADDR] = ("handshakes at once from that address "
                           "(max-handshakes-per-address)"),
    };
    static struct log_ratelimit rl[BUSY_N];
    char addr[MULTIADDR_STR_MAX] = "?";

    if (!log_ratelimit_pass(&rl[why], LOG_WARN, "net"))
        return;
    if (sc->remote.len)
        multiaddr_format(&sc->remote, addr, sizeof(addr));
    log_msg(LOG_WARN, "net",
            "busy, too many connections: refusing an inbound one from %s: %u "
            "%s",
            addr, limit, text[why]);
}

bool swarm__handshake_admit(struct swarm_conn *sc)
{
    struct swarm *sw = sc->sw;
    struct swarm_addr *a;
    uint8_t key[8];
    size_t len;
    uint32_t h;

    conn_addrs(sc);
    if (sw->n_conns > sw->cfg.max_connections) { /* sc is counted */
        busy_log(sc, BUSY_CONNS, sw->cfg.max_connections);
        return false;
    }
    if (sw->n_pending_in >= sw->cfg.max_handshakes) {
        busy_log(sc, BUSY_HANDSHAKES, sw->cfg.max_handshakes);
        return false;
    }
    len = addr_key(&sc->remote, key);
    h = swarm__hash(&sw->addrs, key, len);
    a = len ? addr_find(sw, key, len, h) : NULL;
    if (a && a->pending >= sw->cfg.max_handshakes_per_addr) {
        busy_log(sc, BUSY_PER_ADDR, sw->cfg.max_handshakes_per_addr);
        return false;
    }
    if (len && !a) {
        a = calloc(1, sizeof(*a));
        if (!a || swarm__htab_add(&sw->addrs, &a->node, h)) {
            free(a);
            return false;
        }
        memcpy(a->key, key, len);
        a->len = (uint8_t)len;
    }
    if (a)
        a->pending++;
    sc->addr = a;
    sc->counted_in = true;
    sw->n_pending_in++;
    return true;
}

/* The connection is upgraded or gone: its handshake slot is free. */
static void handshake_release(struct swarm_conn *sc)
{
    struct swarm *sw = sc->sw;

    if (!sc->counted_in)
        return;
    sc->counted_in = false;
    sw->n_pending_in--;
    if (sc->addr && --sc->addr->pending == 0) {
        swarm__htab_del(&sw->addrs, &sc->addr->node);
        free(sc->addr);
    }
    sc->addr = NULL;
}

/* --- writing ---------------------------------------------------------------
 * Output goes into an ordered queue of chunks (the core's output, swapped
 * out without a copy, and sealed frames), written with one writev: at
 * once for control output, and for frames once SWARM_BATCH_BYTES have
 * gathered or before the loop next waits for I/O (uv_prepare), so bulk
 * data costs one system call per batch rather than per 64 KiB frame. */

bool swarm__conn_usable(const struct swarm_conn *sc)
{
    return sc && !sc->closing && !sc->fail_soon;
}

void swarm__conn_fail_soon(struct swarm_conn *sc, int err)
{
    struct swarm *sw = sc->sw;

    if (sc->closing || sc->fail_soon)
        return;
    sc->fail_soon = err;
    sc->fsnext = sw->failing;
    sc->fspprev = &sw->failing;
    if (sw->failing)
        sw->failing->fspprev = &sc->fsnext;
    sw->failing = sc;
    swarm__idle_start(sw);
}

static void failing_unlink(struct swarm_conn *sc)
{
    if (!sc->fspprev)
        return;
    *sc->fspprev = sc->fsnext;
    if (sc->fsnext)
        sc->fsnext->fspprev = sc->fspprev;
    sc->fspprev = NULL;
    sc->fsnext = NULL;
}

/* --- the daemon-wide budget -------------------------------------------------
 * sw->out_bytes is the output waiting in every connection (queued, or
 * handed to uv_write and not yet written). Once it reaches
 * cfg.max_buffers the swarm is under pressure: a connection then takes
 * stream data only while it has under SWARM_PRESSURE_CAP waiting, so the
 * connections whose peers do not read stop growing while those that
 * drain go on (each write that completes lets them send again). Pressure
 * ends below three quarters of the budget; the stalled connections'
 * streams are kicked then (from the loop). */

static size_t pending_of(const struct swarm_conn *sc)
{
    return sc->write_pending + sc->oq_bytes;
}

static void out_add(struct swarm_conn *sc, size_t n)
{
    struct swarm *sw = sc->sw;

    sw->out_bytes += n;
    if (!sw->pressure && sw->out_bytes >= sw->cfg.max_buffers) {
        sw->pressure = true;
        LOG_RATELIMITED(LOG_WARN, "net",
                        "connection buffers are at their budget (%zu MiB, "
                        "max-connection-buffers): streams to peers that do "
                        "not read wait",
                        sw->cfg.max_buffers >> 20);
    }
}

static void out_sub(struct swarm_conn *sc, size_t n)
{
    struct swarm *sw = sc->sw;

    sw->out_bytes -= n;
    if (sw->pressure && sw->out_bytes < sw->cfg.max_buffers / 4 * 3) {
        sw->pressure = false;
        sw->release_pending = true;
        swarm__idle_start(sw);
    }
}

static size_t cap_of(const struct swarm_conn *sc)
{
    return sc->sw->pressure ? SWARM_PRESSURE_CAP : SWARM_WRITE_HIGH;
}

bool swarm__conn_backlogged(const struct swarm_conn *sc)
{
    return pending_of(sc) >= cap_of(sc);
}

size_t swarm__conn_room(const struct swarm_conn *sc)
{
    size_t pend = pending_of(sc), cap = cap_of(sc);

    if (pend >= cap)
        return 0;
    return sc->sw->pressure ? cap - pend : SIZE_MAX;
}

static void stalled_unlink(struct swarm_conn *sc)
{
    if (!sc->spprev)
        return;
    *sc->spprev = sc->snext;
    if (sc->snext)
        sc->snext->spprev = sc->spprev;
    sc->spprev = NULL;
    sc->snext = NULL;
}

void swarm__conn_stall(struct swarm_conn *sc)
{
    struct swarm *sw = sc->sw;

    sc->stalled = true;
    if (!sw->pressure || sc->spprev || sc->closing)
        return;
    sc->snext = sw->stalled;
    sc->spprev = &sw->stalled;
    if (sw->stalled)
        sw->stalled->spprev = &sc->snext;
    sw->stalled = sc;
}

static void kick_streams(struct swarm_conn *sc);

void swarm__conns_release(struct swarm *sw)
{
    sw->release_pending = false;
    while (sw->stalled && !sw->pressure) {
        struct swarm_conn *sc = sw->stalled;
        stalled_unlink(sc);
        sc->stalled = false;
        kick_streams(sc);
    }
}

/* An empty output buffer kept for the next output at most this large:
 * an idle connection should not keep what a burst made it grow to. */
#define SPARE_KEEP (16u << 10)

static void chunk_free(struct swarm_conn *sc, struct out_chunk *ch)
{
    sc->ctl_pending -= ch->ctl;
    if (ch->unsealed)
        sc->oq_unsealed--;
    if (ch->frame) {
        swarm__frame_put(sc->sw, ch->frame);
    } else if (!sc->spare.data && ch->b.cap <= SPARE_KEEP) {
        buf_reset(&ch->b); /* keep one buffer for the next output */
        sc->spare.data = ch->b.data;
        sc->spare.cap = ch->b.cap;
    } else {
        buf_cleanup(&ch->b);
    }
    free(ch);
}

static void chunks_free(struct swarm_conn *sc, struct out_chunk *ch)
{
    while (ch) {
        struct out_chunk *next = ch->next;
        chunk_free(sc, ch);
        ch = next;
    }
}

static void oq_append(struct swarm_conn *sc, struct out_chunk *ch)
{
    ch->next = NULL;
    *sc->oq_tail = ch;
    sc->oq_tail = &ch->next;
    sc->oq_bytes += ch->len;
    sc->oq_n++;
    sc->ctl_pending += ch->ctl;
    out_add(sc, ch->len);
}

/* Moves the core's pending output to the queue (no copy: the buffer is
 * swapped with the spare one). */
static int queue_output(struct swarm_conn *sc)
{
    struct out_chunk *ch;
    const uint8_t *p;
    size_t n;
    int err = conn_output(sc->c, &p, &n);

    if (err || n == 0)
        return err;
    ch = calloc(1, sizeof(*ch));
    if (!ch)
        return FASTN_ERR_NOMEM;
    ch->b = sc->spare;
    ch->b.max = OUTPUT_MAX;
    memset(&sc->spare, 0, sizeof(sc->spare));
    sc->spare.max = OUTPUT_MAX;
    ch->ctl = conn_output_control(sc->c) + sc->ctl_extra;
    if (ch->ctl > n)
        ch->ctl = n;
    sc->ctl_extra = 0;
    err = conn_take_output(sc->c, &ch->b);
    if (err) {
        buf_cleanup(&ch->b);
        free(ch);
        return err;
    }
    ch->p = ch->b.data;
    ch->len = ch->b.len;
    oq_append(sc, ch);
    return 0;
}

static void kick_streams(struct swarm_conn *sc)
{
    struct swarm_stream *st, *next;

    for (st = sc->streams; st && !sc->closing; st = next) {
        next = st->next;
        /* and those with queued bytes: a write the queue took whole
         * leaves its owner waiting for nothing, the bytes for the kick */
        if (st->want_writable || st->q.len > st->q_off)
            swarm__stream_kick(st);
    }
}

/* Reading resumes once half the control output drained. */
static void maybe_resume(struct swarm_conn *sc)
{
    if (!sc->read_paused || sc->ctl_pending > SWARM_CTL_MAX / 2)
        return;
    if (uv_read_start((uv_stream_t *)&sc->tcp, on_alloc, on_read) != 0) {
        swarm__conn_fail(sc, FASTN_ERR_NET_RESET);
        return;
    }
    sc->read_paused = false;
    sc->reading = true;
}

static void on_write(uv_write_t *req, int status)
{
    struct conn_write *w = (struct conn_write *)req;
    struct swarm_conn *sc = w->sc;
    size_t low;

    sc->write_pending -= w->len;
    out_sub(sc, w->len);
    chunks_free(sc, w->chunks);
    free(w);
    if (sc->closing)
        return;
    if (status < 0) {
        swarm__conn_fail(sc, FASTN_ERR_NET_RESET);
        return;
    }
    low = sc->sw->pressure ? SWARM_PRESSURE_CAP / 2 : SWARM_WRITE_LOW;
    if (sc->stalled && pending_of(sc) < low) {
        stalled_unlink(sc);
        sc->stalled = false;
        kick_streams(sc);
    }
    if (!sc->closing)
        maybe_resume(sc);
}

#define MAX_IOV 64

/* Fills iov from the queue's first chunks; returns how many. */
static unsigned fill_iov(struct swarm_conn *sc, uv_buf_t *iov)
{
    unsigned n = 0;
    for (struct out_chunk *ch = sc->oq_head; ch && n < MAX_IOV; ch = ch->next)
        iov[n++] = uv_buf_init((char *)ch->p, (unsigned)ch->len);
    return n;
}

/* Drops the first k written bytes from the queue. */
static void oq_consume(struct swarm_conn *sc, size_t k)
{
    while (k && sc->oq_head) {
        struct out_chunk *ch = sc->oq_head;
        size_t take = k < ch->len ? k : ch->len;
        ch->p += take;
        ch->len -= take;
        sc->oq_bytes -= take;
        out_sub(sc, take);
        k -= take;
        if (ch->len)
            break;
        sc->oq_head = ch->next;
        if (!sc->oq_head)
            sc->oq_tail = &sc->oq_head;
        sc->oq_n--;
        chunk_free(sc, ch);
    }
}

/* Hands the whole queue to one uv_write. */
static int write_queue(struct swarm_conn *sc)
{
    struct conn_write *w;
    uv_buf_t *iov;
    unsigned n = 0;

    if (!sc->oq_head)
        return 0;
    w = calloc(1, sizeof(*w));
    iov = malloc(sc->oq_n * sizeof(*iov));
    if (!w || !iov) {
        free(w);
        free(iov);
        return FASTN_ERR_NOMEM;
    }
    for (struct out_chunk *ch = sc->oq_head; ch; ch = ch->next)
        iov[n++] = uv_buf_init((char *)ch->p, (unsigned)ch->len);
    w->sc = sc;
    w->chunks = sc->oq_head;
    w->len = sc->oq_bytes;
    if (uv_write(&w->req, (uv_stream_t *)&sc->tcp, iov, n, on_write) != 0) {
        free(iov);
        free(w);
        return FASTN_ERR_NET_RESET;
    }
    free(iov); /* libuv copied the descriptors */
    sc->write_pending += w->len;
    sc->oq_head = NULL;
    sc->oq_tail = &sc->oq_head;
    sc->oq_bytes = 0;
    sc->oq_n = 0;
    return 0;
}

static void unschedule(struct swarm_conn *sc)
{
    if (!sc->fpprev)
        return;
    *sc->fpprev = sc->fnext;
    if (sc->fnext)
        sc->fnext->fpprev = sc->fpprev;
    sc->fpprev = NULL;
    sc->fnext = NULL;
}

/* Seals the queue's frames that wait for it, MAX_IOV at a time, on the
 * crypto pool (each has its nonce already: the order does not matter). */
static int seal_queue(struct swarm_conn *sc)
{
    struct noise_job jobs[MAX_IOV];
    struct out_chunk *at[MAX_IOV];
    struct out_chunk *ch = sc->oq_head;
    int err = 0;

    while (sc->oq_unsealed && ch) {
        unsigned n = 0;
        for (; ch && n < MAX_IOV; ch = ch->next)
            if (ch->unsealed) {
                at[n] = ch;
                jobs[n++] = ch->seal;
            }
        noise_pool_run(jobs, n);
        for (unsigned i = 0; i < n; i++) {
            at[i]->unsealed = false;
            sc->oq_unsealed--;
            if (jobs[i].err && !err)
                err = jobs[i].err;
        }
    }
    return err;
}

/* Writes everything queued (and the core's output): straight out while
 * the socket takes it, the rest in one queued write. A stalled
 * connection's output always goes through uv_write: its streams are
 * kicked from on_write, and output the socket took at once would leave
 * them waiting for good (a plugin that filled the core's output and its
 * stream's queue in one event stopped for good when the socket took all
 * at once). */
static void flush_now(struct swarm_conn *sc)
{
    uv_buf_t iov[MAX_IOV];
    int err;

    unschedule(sc);
    if (sc->closing || sc->fail_soon)
        return;
    err = queue_output(sc);
    if (!err && sc->oq_unsealed)
        err = seal_queue(sc);
    while (!err && sc->oq_head && sc->write_pending == 0 && !sc->stalled) {
        unsigned n = fill_iov(sc, iov);
        size_t want = 0;
        for (unsigned i = 0; i < n; i++)
            want += iov[i].len;
        int r = uv_try_write((uv_stream_t *)&sc->tcp, iov, n);
        if (r == UV_EAGAIN)
            break;
        if (r < 0) {
            err = FASTN_ERR_NET_RESET;
            break;
        }
        oq_consume(sc, (size_t)r);
        if ((size_t)r < want)
            break; /* the socket is full: queue the rest */
    }
    if (!err)
        err = write_queue(sc);
    if (err)
        swarm__conn_fail_soon(sc, err);
}

void swarm__on_prepare(uv_prepare_t *h)
{
    struct swarm *sw = h->data;

    while (sw->flushes)
        flush_now(sw->flushes);
    swarm__opens_retry(sw);
    while (sw->flushes)
        flush_now(sw->flushes);
    if (!sw->open_waits) /* else again before the loop next waits */
        uv_prepare_stop(h);
}

/* Flushes sc before the loop next waits for I/O. */
static void schedule(struct swarm_conn *sc)
{
    struct swarm *sw = sc->sw;

    if (sc->fpprev)
        return;
    sc->fnext = sw->flushes;
    sc->fpprev = &sw->flushes;
    if (sw->flushes)
        sw->flushes->fpprev = &sc->fnext;
    sw->flushes = sc;
    uv_prepare_start(&sw->prepare, swarm__on_prepare);
}

void swarm__conn_send_frame(struct swarm_conn *sc, uint8_t *frame, size_t len,
                            const struct noise_job *seal)
{
    struct out_chunk *ch;
    int err;

    if (sc->closing || sc->fail_soon) {
        swarm__frame_put(sc->sw, frame);
        return;
    }
    if (!frame) {
        flush_now(sc);
        return;
    }
    /* the core's output so far goes before the frame */
    err = queue_output(sc);
    ch = err ? NULL : calloc(1, sizeof(*ch));
    if (!ch) {
        swarm__frame_put(sc->sw, frame);
        swarm__conn_fail_soon(sc, err ? err : FASTN_ERR_NOMEM);
        return;
    }
    ch->frame = frame;
    ch->p = frame;
    ch->len = len;
    if (seal) {
        ch->unsealed = true;
        ch->seal = *seal;
        sc->oq_unsealed++;
    }
    oq_append(sc, ch);
    if (sc->oq_bytes >= SWARM_BATCH_BYTES || sc->oq_n >= MAX_IOV - 1)
        flush_now(sc);
    else
        schedule(sc);
}

void swarm__conn_flush(struct swarm_conn *sc)
{
    flush_now(sc);
}

/* A stream's write: small ones wait for the others before the loop next
 * waits (one seal and one system call for all the streams written
 * meanwhile, as 64 streams answered in one turn are); once the core's
 * output holds SWARM_DEFER_BYTES it goes at once, as it always did, so
 * that a stream's next write finds room or the backlog (and waits for
 * it as a stalled stream). */
void swarm__conn_flush_soon(struct swarm_conn *sc)
{
    struct yamux_session *mux = conn_mux(sc->c);
    size_t n = 0;

    if (mux)
        yamux_output(mux, &n);
    if (n >= SWARM_DEFER_BYTES || n + sc->oq_bytes >= SWARM_BATCH_BYTES)
        flush_now(sc);
    else
        schedule(sc);
}

/* --- closing ----------------------------------------------------------------
 */

static int stream_err(int err)
{
    switch (err) {
    case FASTN_ERR_NET_DEAD:
    case FASTN_ERR_CANCELED:
        return err;
    default:
        return FASTN_ERR_NET_RESET;
    }
}

void swarm__conn_close(struct swarm_conn *sc, int err)
{
    const uint8_t *p;
    size_t n;

    if (sc->closing)
        return;
    sc->closing = true;
    sc->fail_err = err;
    *sc->pprev = sc->next;
    if (sc->next)
        sc->next->pprev = sc->pprev;
    sc->sw->n_conns--;
    if (sc->ready)
        sc->sw->n_ready--;
    swarm__peer_remove(sc);
    handshake_release(sc);
    stalled_unlink(sc);
    failing_unlink(sc);
    /* Best effort: the go-away saying why, if the socket takes it. */
    unschedule(sc);
    if (sc->write_pending == 0 && !sc->oq_head &&
        conn_output(sc->c, &p, &n) == 0 && n) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        uv_try_write((uv_stream_t *)&sc->tcp, &b, 1);
    }
    out_sub(sc, sc->oq_bytes);
    chunks_free(sc, sc->oq_head);
    sc->oq_head = NULL;
    sc->oq_tail = &sc->oq_head;
    sc->oq_bytes = 0;
    sc->oq_n = 0;
    while (sc->streams)
        swarm__stream_finish(sc->streams, stream_err(err));
    if (sc->dial) {
        struct swarm_dial *d = sc->dial;
        sc->dial = NULL;
        swarm__dial_attempt_done(d, sc, err);
    }
    uv_close((uv_handle_t *)&sc->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&sc->timer, on_handle_closed);
}

void swarm__conn_refuse(struct swarm_conn *sc)
{
    uv_os_fd_t fd;
    uint8_t junk[4096];

    /* Unread bytes at close make the kernel send RST; the dialer's first
     * flight (multistream-select, Noise's first message) is small. */
    if (uv_fileno((uv_handle_t *)&sc->tcp, &fd) == 0)
        for (int i = 0; i < 16; i++)
            if (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
                break;
    log_msg(LOG_DEBUG, "net", "refused an inbound connection: busy");
    swarm__conn_close(sc, FASTN_ERR_NET_BUSY);
}

void swarm__conn_fail(struct swarm_conn *sc, int err)
{
    char pid[PEER_ID_STR_MAX], addr[MULTIADDR_STR_MAX] = "?";

    if (sc->closing)
        return;
    if ((err == FASTN_ERR_NET_RESET || err == FASTN_ERR_CANCELED) &&
        log_get_level() < LOG_DEBUG) {
        swarm__conn_close(sc, err); /* nothing to log */
        return;
    }
    if (sc->remote.len)
        multiaddr_format(&sc->remote, addr, sizeof(addr));
    if (sc->ready)
        peer_id_format(&sc->peer, pid);
    else
        snprintf(pid, sizeof(pid), "%s", "(handshake)");
    if (err == FASTN_ERR_NET_RESET || err == FASTN_ERR_CANCELED)
        log_msg(LOG_DEBUG, "net", "connection %s %s closed", pid, addr);
    else
        LOG_RATELIMITED(LOG_WARN, "net", "connection %s %s ended: %s", pid,
                        addr, fastn_strerror(err));
    swarm__conn_close(sc, err);
}

/* --- readiness and duplicates ------------------------------------------------
 */

/* The address of the end that dialed: the same bytes on both sides. */
static const struct multiaddr *dialing_end(const struct swarm_conn *sc)
{
    return sc->inbound ? &sc->remote : &sc->local;
}

static int compare_bytes(const uint8_t *a, size_t an, const uint8_t *b,
                         size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* Which of two ready connections to one peer both sides keep. */
static struct swarm_conn *winner(struct swarm *sw, struct swarm_conn *a,
                                 struct swarm_conn *b)
{
    const struct peer_id *self = &sw->identity->id, *peer = &a->peer;

    if (a->limited != b->limited) /* a direct one beats a relayed one */
        return a->limited ? b : a;
    if (a->inbound != b->inbound) {
        bool self_smaller =
            compare_bytes(self->bytes, self->len, peer->bytes, peer->len) < 0;
        struct swarm_conn *outbound = a->inbound ? b : a;
        struct swarm_conn *inbound = a->inbound ? a : b;
        return self_smaller ? outbound : inbound;
    }
    const struct multiaddr *ea = dialing_end(a), *eb = dialing_end(b);
    return compare_bytes(ea->bytes, ea->len, eb->bytes, eb->len) <= 0 ? a : b;
}

/* sc drains: no new streams; it closes once it has had none a while. */
static void drain(struct swarm_conn *sc)
{
    sc->draining = true;
    if (sc->n_streams == 0)
        sc->idle_since_us = swarm__now_us();
    if (sc->pe)
        swarm__peer_update(sc->pe);
}

static void resolve_duplicates(struct swarm_conn *sc)
{
    struct swarm *sw = sc->sw;

    for (struct swarm_conn *o = sc->pe->conns; o; o = o->pnext) {
        if (o == sc || o->closing || o->draining)
            continue;
        struct swarm_conn *keep = winner(sw, o, sc);
        struct swarm_conn *lose = keep == o ? sc : o;
        drain(lose);
        log_msg(LOG_DEBUG, "net", "duplicate connection: keeping the %s one",
                keep->inbound ? "inbound" : "outbound");
        swarm__conn_update_timer(lose);
        return;
    }
}

static void on_ready(struct swarm_conn *sc)
{
    struct swarm *sw = sc->sw;
    char pid[PEER_ID_STR_MAX], addr[MULTIADDR_STR_MAX];

    sc->ready = true;
    sc->ready_us = sc->idle_since_us = swarm__now_us();
    sc->peer = *conn_remote_peer(sc->c);
    sw->stats.handshakes++;
    sw->n_ready++;
    handshake_release(sc);
    if (peer_id_equal(&sc->peer, &sw->identity->id)) {
        swarm__conn_fail(sc, FASTN_ERR_NET_DIAL_SELF);
        return;
    }
    if (sc->check_src && !peer_id_equal(&sc->peer, &sc->relay_src)) {
        swarm__conn_fail(sc, FASTN_ERR_NET_WRONG_PEER);
        return;
    }
    if (swarm__peer_add(sc)) {
        swarm__conn_fail(sc, FASTN_ERR_NOMEM);
        return;
    }
    if (log_get_level() >= LOG_DEBUG) { /* formatting costs microseconds */
        multiaddr_format(&sc->remote, addr, sizeof(addr));
        log_msg(LOG_DEBUG, "net", "%s connection with %s at %s",
                sc->inbound ? "inbound" : "outbound",
                peer_id_format(&sc->peer, pid), addr);
    }
    resolve_duplicates(sc);
    if (sc->dial) {
        struct swarm_dial *d = sc->dial;
        sc->dial = NULL;
        swarm__dial_attempt_done(d, sc, 0);
    }
    swarm__waits_complete(sw, &sc->peer, 0);
    if (!sc->limited) /* e.g. a hole punch's, while a dial tries on */
        swarm__dials_cancel(sw, &sc->peer);
    swarm__identify_start(sc);
}

/* --- reading
 * ------------------------------------------------------------------ */

static void handle_mux(struct swarm_conn *sc, const struct yamux_event *ev)
{
    struct yamux_session *mux = conn_mux(sc->c);

    switch (ev->type) {
    case YAMUX_EV_STREAM_OPEN:
        swarm__stream_incoming(sc, ev->stream_id);
        break;
    case YAMUX_EV_PING_RTT:
        sc->rtt_us = ev->rtt_us;
        break;
    case YAMUX_EV_GOAWAY:
        drain(sc);
        break;
    default:
        if (ev->user)
            swarm__stream_on_mux(ev->user, ev);
        else if (ev->type == YAMUX_EV_DATA)
            yamux_stream_consumed(mux, ev->stream_id, ev->len, swarm__now_us());
        break;
    }
}

static void pump(struct swarm_conn *sc)
{
    struct conn_event ev;
    uint64_t now = swarm__now_us();
    int r = 0;

    sc->in_pump = true;
    while (swarm__conn_usable(sc) && (r = conn_poll(sc->c, &ev, now)) == 1) {
        if (ev.type == CONN_EV_READY)
            on_ready(sc);
        else
            handle_mux(sc, &ev.mux);
    }
    sc->in_pump = false;
    if (!swarm__conn_usable(sc))
        return;
    if (r < 0) {
        swarm__conn_fail(sc, r);
        return;
    }
    swarm__conn_flush(sc);
    swarm__conn_update_timer(sc);
    /* A peer that sends but does not read would make us queue answers
     * (pings, refusals, window updates) without end: while more than
     * SWARM_CTL_MAX of them wait, it is not read (backpressure: it
     * waits on its own sends then). Stream data does not count. */
    if (sc->reading && sc->ctl_pending > SWARM_CTL_MAX &&
        swarm__conn_usable(sc)) {
        uv_read_stop((uv_stream_t *)&sc->tcp);
        sc->reading = false;
        sc->read_paused = true;
        log_msg(LOG_DEBUG, "net",
                "a peer does not read our answers: "
                "not reading it until they drain");
    }
}

/* Reads go into the swarm's one receive buffer, lent to the connection
 * for the read (conn_rx_lend); what is left after processing, a partial
 * frame at most, is kept by the connection (conn_rx_unlend). */
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct swarm_conn *sc = h->data;
    uint8_t *p;
    size_t room;

    (void)hint;
    swarm__rx_before_read(sc->sw);
    if (conn_rx_lend(sc->c, sc->sw->rx, SWARM_RX_SCRATCH, &p, &room) != 0) {
        *b = uv_buf_init(NULL, 0);
        return;
    }
    *b = uv_buf_init((char *)p, (unsigned)room);
}

/* Why a connection ended with its socket: a dialer whose peer closed
 * before sending anything was refused by a busy listener. */
static int read_error(const struct swarm_conn *sc, ssize_t n)
{
    if (sc->ready)
        return FASTN_ERR_NET_RESET;
    if (!sc->inbound && !sc->rx_any && (n == UV_EOF || n == UV_ECONNRESET))
        return FASTN_ERR_NET_BUSY;
    return FASTN_ERR_NET_HANDSHAKE;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct swarm_conn *sc = s->data;

    (void)b;
    if (n > 0 && !sc->closing) {
        sc->rx_any = true;
        conn_rx_commit(sc->c, (size_t)n);
        pump(sc);
    }
    if (conn_rx_unlend(sc->c) != 0 && !sc->closing)
        swarm__conn_fail(sc, FASTN_ERR_NOMEM);
    if (sc->closing || n >= 0)
        return;
    if (n == UV_ENOBUFS)
        swarm__conn_fail(sc, FASTN_ERR_NOMEM);
    else
        swarm__conn_fail(sc, read_error(sc, n));
}

static void sock_addr(struct multiaddr *out, const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        multiaddr_from_ip_tcp(out, (const uint8_t *)&a->sin_addr, 4,
                              ntohs(a->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        multiaddr_from_ip_tcp(out, (const uint8_t *)&a->sin6_addr, 16,
                              ntohs(a->sin6_port));
    }
}

static void conn_addrs(struct swarm_conn *sc)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if (sc->remote.len)
        return;
    if (uv_tcp_getpeername(&sc->tcp, (struct sockaddr *)&ss, &len) == 0)
        sock_addr(&sc->remote, &ss);
    len = sizeof(ss);
    if (uv_tcp_getsockname(&sc->tcp, (struct sockaddr *)&ss, &len) == 0)
        sock_addr(&sc->local, &ss);
}

int swarm__conn_start(struct swarm_conn *sc)
{
    int err;

    uv_tcp_nodelay(&sc->tcp, 1);
    conn_addrs(sc);
    err = conn_start(sc->c);
    if (!err && uv_read_start((uv_stream_t *)&sc->tcp, on_alloc, on_read))
        err = FASTN_ERR_NET_RESET;
    if (err) {
        swarm__conn_fail(sc, err);
        return err;
    }
    sc->reading = true;
    swarm__conn_flush(sc);
    return 0;
}

/* --- timer -------------------------------------------------------------------
 */

static uint64_t deadline_of(const struct swarm_conn *sc)
{
    const struct swarm_config *cfg = &sc->sw->cfg;
    uint64_t d;

    if (!sc->ready) {
        d = sc->started_us + (uint64_t)cfg->handshake_timeout_ms * 1000;
        /* no TCP connection yet, and a relay to fall back on */
        if (!sc->reading && swarm__dial_falls_back(sc) &&
            sc->started_us + SWARM_DIAL_FALLBACK_MS * 1000ull < d)
            d = sc->started_us + SWARM_DIAL_FALLBACK_MS * 1000ull;
        return d;
    }
    d = conn_next_deadline(sc->c);
    if (sc->n_user_streams == 0 && cfg->idle_timeout_ms &&
        !swarm__relay_keep(sc)) {
        uint64_t idle =
            sc->idle_since_us + (uint64_t)cfg->idle_timeout_ms * 1000;
        d = idle < d ? idle : d;
    }
    if (sc->draining && sc->n_streams == 0) {
        uint64_t drain = sc->idle_since_us + SWARM_DRAIN_MS * 1000ull;
        d = drain < d ? drain : d;
    }
    return d;
}

static void on_timer(uv_timer_t *t)
{
    struct swarm_conn *sc = t->data;
    const struct swarm_config *cfg = &sc->sw->cfg;
    uint64_t now = swarm__now_us();
    int err;

    if (sc->closing)
        return;
    if (!sc->ready) {
        if (now >= deadline_of(sc))
            swarm__conn_fail(sc, FASTN_ERR_TIMEOUT);
        else
            swarm__conn_update_timer(sc);
        return;
    }
    err = conn_tick(sc->c, now);
    if (err) {
        swarm__conn_fail(sc, err);
        return;
    }
    if (sc->n_user_streams == 0 && cfg->idle_timeout_ms &&
        now >= sc->idle_since_us + (uint64_t)cfg->idle_timeout_ms * 1000) {
        log_msg(LOG_DEBUG, "net", "closing an idle connection");
        swarm__conn_close(sc, FASTN_ERR_NET_RESET);
        return;
    }
    if (sc->draining && sc->n_streams == 0 &&
        now >= sc->idle_since_us + SWARM_DRAIN_MS * 1000ull) {
        swarm__conn_close(sc, FASTN_ERR_NET_RESET);
        return;
    }
    swarm__conn_flush(sc);
    swarm__conn_update_timer(sc);
}

void swarm__conn_update_timer(struct swarm_conn *sc)
{
    uint64_t d, now;

    if (sc->closing)
        return;
    d = deadline_of(sc);
    if (d == UINT64_MAX) {
        uv_timer_stop(&sc->timer);
        return;
    }
    now = swarm__now_us();
    uv_timer_start(&sc->timer, on_timer, d > now ? (d - now + 999) / 1000 : 0,
                   0);
}
