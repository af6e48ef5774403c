/*
 * Splices: a stream joined to a local socket, both ways, with half-close.
 * Used for client handlers (the daemon connects to the handler's address
 * and writes a varint-delimited StreamInfo first) and for STREAM_OPEN
 * (the control connection's socket, taken over after the response).
 *
 * Socket to stream: the socket is read straight into the stream's frame
 * buffer (swarm_stream_frame) and each read is sealed in place and sent,
 * so the bytes are touched once, by the cipher. A read that filled its
 * frame is followed by readv(2)s into up to SWARM_STREAM_FRAMES frames
 * at once (swarm_stream_frames; SPLICE_READV_ROUNDS at most per wakeup),
 * rather than one read(2) per 64 KiB frame. When the stream has no
 * room (window, backlog) reading stops until WRITABLE. The socket's EOF
 * becomes the stream's FIN.
 *
 * Stream to socket: data stays where the connection decrypted it, the
 * swarm holding that buffer (swarm_stream_rx_hold), and the pieces of one
 * turn of the loop (the frames of one read of the connection, up to
 * SPLICE_IOV_MAX) go to the socket together, in one writev, when the
 * loop is next idle (router__flush_all), rather than one write(2) per
 * 64 KiB frame. What the socket does not take is queued where it is, in
 * one uv_write. Pieces the swarm does not hold (small ones, too many held
 * buffers) flush what is pending first and are written at once (a small
 * message waits for nothing), copied when the socket does not take them.
 * Bytes are reported consumed (reopening the peer's window)
 * only once the socket took them, so a slow client holds back only its
 * own stream, and the daemon keeps at most one window per stream. The
 * peer's FIN becomes shutdown(SHUT_WR) once everything is written.
 *
 * A stream that ends in error closes the socket at once (a TCP socket
 * with a reset); the router remembers how it ended (router_stream_result)
 * for the clients of STREAM_OPEN.
 *
 * A client handler's Unix socket is checked once connected, before a
 * byte is written: the listener's uid (SO_PEERCRED) must be the
 * registering client's (or root's or the daemon's, for an admin's
 * handler). Registration checked the path too, but a path can be
 * swapped afterwards (a symlink, a renamed folder); this check cannot.
 * Each splice holds one file descriptor: at most r->max_splices at once.
 */
#include "router/router_int.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fastn/err.h"
#include "util/log.h"

union sock_handle {
    uv_handle_t h;
    uv_stream_t st;
    uv_pipe_t pipe;
    uv_tcp_t tcp;
};

struct sock {
    union sock_handle u;
    struct router_splice *sp;
    bool tcp;
};

/* Pieces of stream data waiting for one writev (SPLICE_IOV_MAX at most). */
#define SPLICE_IOV_MAX 32

struct piece {
    const uint8_t *p;
    size_t n;
    struct swarm_rx *rx; /* holds p */
};

struct router_splice {
    struct router *r;
    struct router_splice *next, **pprev;
    struct router_splice *fnext, **fpprev; /* r->flushes: n_pend > 0 */
    struct piece pend[SPLICE_IOV_MAX];
    unsigned n_pend;
    struct swarm_stream *s; /* NULL once the stream ended */
    struct sock *sock;      /* NULL: none (yet, or closed) */
    bool ready;             /* the socket is connected */
    bool awaiting;          /* STREAM_OPEN: attach or abort is still due */
    bool reading, read_eof, stream_fin, shutting, shut_done;
    size_t out_bytes; /* stream data queued in uv_write */
    struct buf early; /* stream data received before the socket was ready */
    struct buf in;    /* client bytes to send before reading the socket */
    size_t in_off;
    struct buf preamble; /* StreamInfo for a handler */
    struct multiaddr target;
    struct router_client who; /* a handler's: whose socket target must be */
    unsigned attempts;
    uint64_t result_id;
    uint64_t fwd_id; /* an expose's connection: no handler failover */
};

struct sock_write {
    uv_write_t req;
    struct router_splice *sp;
    size_t consume; /* stream bytes to report consumed when written */
    unsigned n_rx;  /* the bytes are in these, not in data */
    struct swarm_rx *rx[SPLICE_IOV_MAX];
    uint8_t data[];
};

static void stream_cb(struct swarm_stream *s,
                      const struct swarm_stream_event *ev, void *arg);
static void start_reading(struct router_splice *sp);
static void close_sock(struct router_splice *sp, bool reset);
static void pend_drop(struct router_splice *sp);

/* --- life ----------------------------------------------------------------- */

/* A new splice of s, or NULL: *err FASTN_ERR_NOMEM, or FASTN_ERR_BUSY
 * when r->max_splices are open (logged, rate-limited). */
static struct router_splice *splice_new(struct router *r,
                                        struct swarm_stream *s, int *err)
{
    struct router_splice *sp;

    if (router_splices_full(r)) {
        r->refused++;
        LOG_RATELIMITED(LOG_WARN, "router",
                        "%u streams are spliced to local sockets, the most "
                        "allowed (set from the file descriptor limit): "
                        "refusing another (%s)",
                        (unsigned)r->n_splices, swarm_stream_protocol(s));
        *err = FASTN_ERR_BUSY;
        return NULL;
    }
    *err = FASTN_ERR_NOMEM;
    sp = calloc(1, sizeof(*sp));
    if (!sp)
        return NULL;
    sp->r = r;
    sp->s = s;
    buf_init(&sp->early, 64u << 20);
    buf_init(&sp->in, 0); /* sized by router_splice_attach */
    buf_init(&sp->preamble, 64 * 1024);
    sp->next = r->splices;
    sp->pprev = &r->splices;
    if (r->splices)
        r->splices->pprev = &sp->next;
    r->splices = sp;
    r->n_splices++;
    swarm_stream_set_cb(s, stream_cb, sp);
    return sp;
}

/* Frees the splice once both its stream and its socket are gone (and,
 * for STREAM_OPEN, once its owner attached or aborted it: it holds the
 * pointer until then). */
static void maybe_free(struct router_splice *sp)
{
    if (sp->s || sp->sock || sp->awaiting)
        return;
    pend_drop(sp);
    *sp->pprev = sp->next;
    if (sp->next)
        sp->next->pprev = sp->pprev;
    sp->r->n_splices--;
    buf_cleanup(&sp->early);
    buf_cleanup(&sp->in);
    buf_cleanup(&sp->preamble);
    free(sp);
}

/* Ends the stream with a reset (the socket failed or went away early). */
static void abort_stream(struct router_splice *sp, int code)
{
    if (!sp->s)
        return;
    swarm_stream_reset(sp->s);
    sp->s = NULL;
    router__result_set(sp->r, sp->result_id, ROUTER_STREAM_FAILED, code);
}

static void abort_all(struct router_splice *sp, int code)
{
    abort_stream(sp, code);
    close_sock(sp, true);
    maybe_free(sp);
}

/* --- the socket --------------------------------------------------------------
 */

static void on_sock_closed(uv_handle_t *h)
{
    struct sock *k = h->data;
    struct router_splice *sp = k->sp;

    if (sp && sp->sock == k) {
        sp->sock = NULL;
        sp->ready = false;
        maybe_free(sp);
    }
    free(k);
}

static void close_sock(struct router_splice *sp, bool reset)
{
    struct sock *k = sp->sock;

    if (!k || uv_is_closing(&k->u.h))
        return;
    pend_drop(sp);
    sp->reading = false;
    if (reset && k->tcp && sp->ready)
        uv_tcp_close_reset(&k->u.tcp, on_sock_closed);
    else
        uv_close(&k->u.h, on_sock_closed);
}

/* Closes the socket once the stream is over and everything is written. */
static void maybe_close(struct router_splice *sp)
{
    if (!sp->s && sp->sock && sp->out_bytes == 0 && !sp->n_pend &&
        !sp->shutting)
        close_sock(sp, false);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct router_splice *sp = req->data;

    (void)status;
    free(req);
    sp->shutting = false;
    sp->shut_done = true;
    maybe_close(sp);
}

/* The peer finished: half-close the socket once its data is written. */
static void maybe_shutdown(struct router_splice *sp)
{
    uv_shutdown_t *req;

    if (!sp->stream_fin || sp->shut_done || sp->shutting || !sp->ready ||
        sp->out_bytes || sp->n_pend || sp->early.len || !sp->sock)
        return;
    req = malloc(sizeof(*req));
    if (!req)
        return;
    req->data = sp;
    if (uv_shutdown(req, &sp->sock->u.st, on_shutdown) != 0) {
        free(req);
        sp->shut_done = true;
        return;
    }
    sp->shutting = true;
}

static void on_sock_write(uv_write_t *req, int status)
{
    struct sock_write *w = (struct sock_write *)req;
    struct router_splice *sp = w->sp;
    size_t len = w->consume;

    for (unsigned i = 0; i < w->n_rx; i++)
        swarm_rx_release(w->rx[i]);
    free(w);
    sp->out_bytes -= len;
    if (status < 0) {
        abort_stream(sp, FASTN_ERR_CLOSED);
        close_sock(sp, true);
        maybe_free(sp);
        return;
    }
    if (sp->s && len)
        swarm_stream_consumed(sp->s, len);
    maybe_shutdown(sp);
    maybe_close(sp);
}

/* Queues a copy of p[0..n) (consume of them are stream data). */
static int queue_write(struct router_splice *sp, const uint8_t *a, size_t an,
                       const uint8_t *b, size_t bn, size_t consume)
{
    struct sock_write *w = malloc(sizeof(*w) + an + bn);
    uv_buf_t buf;

    if (!w)
        return FASTN_ERR_NOMEM;
    w->sp = sp;
    w->consume = consume;
    if (an)
        memcpy(w->data, a, an);
    if (bn)
        memcpy(w->data + an, b, bn);
    w->n_rx = 0;
    buf = uv_buf_init((char *)w->data, (unsigned)(an + bn));
    if (uv_write(&w->req, &sp->sock->u.st, &buf, 1, on_sock_write) != 0) {
        free(w);
        return FASTN_ERR_CLOSED;
    }
    sp->out_bytes += consume;
    return 0;
}

/* --- pieces held for one writev ------------------------------------------ */

static void flush_list(struct router_splice *sp)
{
    struct router *r = sp->r;

    if (sp->fpprev)
        return;
    sp->fnext = r->flushes;
    sp->fpprev = &r->flushes;
    if (r->flushes)
        r->flushes->fpprev = &sp->fnext;
    r->flushes = sp;
    router__flush_start(r);
}

static void flush_unlist(struct router_splice *sp)
{
    if (!sp->fpprev)
        return;
    *sp->fpprev = sp->fnext;
    if (sp->fnext)
        sp->fnext->fpprev = sp->fpprev;
    sp->fnext = NULL;
    sp->fpprev = NULL;
}

/* Lets go of the pieces (the socket is closing or gone). */
static void pend_drop(struct router_splice *sp)
{
    for (unsigned i = 0; i < sp->n_pend; i++)
        swarm_rx_release(sp->pend[i].rx);
    sp->n_pend = 0;
    flush_unlist(sp);
}

/* Queues pend[from..n_pend) in one uv_write (the socket did not take
 * them), moving their holds to it. */
static int pend_queue(struct router_splice *sp, unsigned from, size_t skip)
{
    uv_buf_t bufs[SPLICE_IOV_MAX];
    struct sock_write *w = malloc(sizeof(*w));
    size_t len = 0;
    unsigned k = 0;

    if (!w)
        return FASTN_ERR_NOMEM;
    w->sp = sp;
    w->n_rx = 0;
    for (unsigned i = from; i < sp->n_pend; i++, skip = 0) {
        bufs[k++] = uv_buf_init((char *)sp->pend[i].p + skip,
                                (unsigned)(sp->pend[i].n - skip));
        len += sp->pend[i].n - skip;
        w->rx[w->n_rx++] = sp->pend[i].rx;
    }
    w->consume = len;
    if (uv_write(&w->req, &sp->sock->u.st, bufs, k, on_sock_write) != 0) {
        free(w);
        return FASTN_ERR_CLOSED;
    }
    sp->n_pend = from; /* the holds are w's now */
    sp->out_bytes += len;
    return 0;
}

/* Writes the pieces: what the socket takes now in one writev (when
 * nothing is queued before them), the rest queued in one uv_write. */
static void pend_flush(struct router_splice *sp)
{
    uv_buf_t bufs[SPLICE_IOV_MAX];
    size_t done = 0;
    unsigned i = 0;

    flush_unlist(sp);
    if (!sp->n_pend || !sp->sock)
        return;
    if (sp->out_bytes == 0) {
        for (unsigned j = 0; j < sp->n_pend; j++)
            bufs[j] =
                uv_buf_init((char *)sp->pend[j].p, (unsigned)sp->pend[j].n);
        int k = uv_try_write(&sp->sock->u.st, bufs, sp->n_pend);
        if (k < 0 && k != UV_EAGAIN) {
            abort_all(sp, FASTN_ERR_CLOSED);
            return;
        }
        done = k > 0 ? (size_t)k : 0;
    }
    if (done && sp->s)
        swarm_stream_consumed(sp->s, done);
    for (; i < sp->n_pend && done >= sp->pend[i].n; i++) {
        done -= sp->pend[i].n;
        swarm_rx_release(sp->pend[i].rx);
    }
    if (i < sp->n_pend) {
        memmove(sp->pend, sp->pend + i, (sp->n_pend - i) * sizeof(sp->pend[0]));
        sp->n_pend -= i;
        if (pend_queue(sp, 0, done) != 0) {
            abort_all(sp, FASTN_ERR_CLOSED);
            return;
        }
    }
    sp->n_pend = 0;
    maybe_shutdown(sp);
    maybe_close(sp);
}

/* Holds p[0..n) for the next flush: false when the swarm does not keep
 * it (the caller writes it now). */
static bool pend_add(struct router_splice *sp, const uint8_t *p, size_t n)
{
    struct swarm_rx *rx;

    if (sp->n_pend == SPLICE_IOV_MAX) {
        pend_flush(sp);
        if (!sp->s || !sp->sock)
            return true; /* aborted: the bytes are dropped with it */
    }
    if (!(rx = swarm_stream_rx_hold(sp->s, p, n)))
        return false;
    sp->pend[sp->n_pend++] = (struct piece){p, n, rx};
    flush_list(sp);
    return true;
}

void router__flush_all(struct router *r)
{
    struct router_splice *sp;

    while ((sp = r->flushes))
        pend_flush(sp); /* unlists it */
}

/* Stream data to the socket: held for the loop's next idle moment when
 * the swarm keeps it, else (after what is held) straight out when the
 * socket takes it, else a copy queued. */
static void to_sock(struct router_splice *sp, const uint8_t *p, size_t n)
{
    if (pend_add(sp, p, n))
        return;
    if (sp->n_pend) {
        pend_flush(sp);
        if (!sp->s || !sp->sock)
            return;
    }
    if (sp->out_bytes == 0) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        int k = uv_try_write(&sp->sock->u.st, &b, 1);
        if (k < 0 && k != UV_EAGAIN) {
            abort_all(sp, FASTN_ERR_CLOSED);
            return;
        }
        if (k > 0) {
            swarm_stream_consumed(sp->s, (size_t)k);
            p += k;
            n -= (size_t)k;
        }
    }
    if (n && queue_write(sp, p, n, NULL, 0, n) != 0)
        abort_all(sp, FASTN_ERR_CLOSED);
}

/* --- socket to stream ------------------------------------------------------
 */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct sock *k = h->data;
    struct router_splice *sp = k->sp;
    uint8_t *p = NULL;
    size_t room = 0;

    (void)hint;
    if (sp->s && swarm_stream_frame(sp->s, &p, &room) != 0)
        room = 0;
    *b = uv_buf_init((char *)p, (unsigned)room);
}

/* readv(2)s after a read that filled its frame, per wakeup at most
 * (then libuv's next read, or the next wakeup, goes on). */
#define SPLICE_READV_ROUNDS 4

static void read_ended(struct router_splice *sp, ssize_t n);

/* More of the socket's bytes, several frames per system call, while it
 * has them and the stream has room. */
static void read_more(struct router_splice *sp)
{
    struct iovec iov[SWARM_STREAM_FRAMES];
    uv_os_fd_t fd;
    ssize_t n;
    size_t want;
    int k;

    if (uv_fileno(&sp->sock->u.h, &fd) != 0)
        return;
    for (int round = 0; round < SPLICE_READV_ROUNDS && sp->s; round++) {
        if ((k = swarm_stream_frames(sp->s, iov, SWARM_STREAM_FRAMES)) <= 0)
            return; /* no room: libuv's next read stops reading */
        want = 0;
        for (int i = 0; i < k; i++)
            want += iov[i].iov_len;
        do
            n = readv(fd, iov, k);
        while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            read_ended(sp, n == 0 ? UV_EOF : UV_ECONNRESET);
            return;
        }
        if (swarm_stream_frames_send(sp->s, (size_t)n) != 0) {
            abort_all(sp, FASTN_ERR_NET_RESET);
            return;
        }
        if ((size_t)n < want)
            return; /* drained */
    }
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct sock *k = st->data;
    struct router_splice *sp = k->sp;

    if (n == 0)
        return;
    if (n == UV_ENOBUFS || !sp->s) { /* no room: WRITABLE resumes */
        uv_read_stop(st);
        sp->reading = false;
        return;
    }
    if (n > 0) {
        if (swarm_stream_frame_send(sp->s, (size_t)n) != 0)
            abort_all(sp, FASTN_ERR_NET_RESET);
        else if ((size_t)n == b->len)
            read_more(sp); /* the socket likely has more */
        return;
    }
    read_ended(sp, n);
}

/* The socket's EOF (n UV_EOF) or failure ends reading. */
static void read_ended(struct router_splice *sp, ssize_t n)
{
    uv_read_stop(&sp->sock->u.st);
    sp->reading = false;
    if (n == UV_EOF) {
        sp->read_eof = true;
        swarm_stream_close(sp->s);
        return;
    }
    abort_all(sp, FASTN_ERR_CLOSED); /* the client reset its socket */
}

/* Client bytes that came with the request go to the stream first. */
static bool flush_in(struct router_splice *sp)
{
    while (sp->in_off < sp->in.len) {
        int k = swarm_stream_write(sp->s, sp->in.data + sp->in_off,
                                   sp->in.len - sp->in_off);
        if (k <= 0)
            return false;
        sp->in_off += (size_t)k;
    }
    return true;
}

static void start_reading(struct router_splice *sp)
{
    if (sp->reading || !sp->ready || sp->read_eof || !sp->s || !sp->sock ||
        uv_is_closing(&sp->sock->u.h) || !flush_in(sp))
        return;
    if (uv_read_start(&sp->sock->u.st, on_alloc, on_read) == 0)
        sp->reading = true;
}

/* --- stream events
 * ------------------------------------------------------------- */

static void stream_cb(struct swarm_stream *s,
                      const struct swarm_stream_event *ev, void *arg)
{
    struct router_splice *sp = arg;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        if (sp->ready && sp->sock && !uv_is_closing(&sp->sock->u.h))
            to_sock(sp, ev->data, ev->len);
        else if (buf_append(&sp->early, ev->data, ev->len) != 0)
            abort_all(sp, FASTN_ERR_NOMEM);
        break;
    case SWARM_STREAM_FIN:
        sp->stream_fin = true;
        router__result_set(sp->r, sp->result_id, ROUTER_STREAM_FINISHED, 0);
        maybe_shutdown(sp);
        break;
    case SWARM_STREAM_WRITABLE:
        start_reading(sp);
        break;
    case SWARM_STREAM_CLOSED:
        sp->s = NULL;
        (void)s;
        if (ev->err) {
            router__result_set(sp->r, sp->result_id, ROUTER_STREAM_FAILED,
                               ev->err);
            close_sock(sp, true);
        } else {
            router__result_set(sp->r, sp->result_id, ROUTER_STREAM_CLOSED, 0);
            maybe_close(sp);
        }
        maybe_free(sp);
        break;
    default:
        break;
    }
}

/* A local socket's send buffer, asked for (the kernel caps it at
 * net.core.wmem_max): room for a read of the connection's (1 MiB) and
 * more, so that stream data goes to the client in one write and is
 * rarely copied and queued in the daemon. */
#define SPLICE_SNDBUF (2 << 20)

static void sock_grow_sndbuf(struct sock *k)
{
    uv_os_fd_t fd;
    int v = SPLICE_SNDBUF;

    if (uv_fileno(&k->u.h, &fd) == 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

/* The socket is connected: preamble and early data out, then splice. */
static void sock_ready(struct router_splice *sp)
{
    size_t early = sp->early.len;

    sp->ready = true;
    sock_grow_sndbuf(sp->sock);
    if (sp->preamble.len || early) {
        if (queue_write(sp, sp->preamble.data, sp->preamble.len, sp->early.data,
                        early, early) != 0) {
            abort_all(sp, FASTN_ERR_CLOSED);
            return;
        }
        buf_cleanup(&sp->preamble);
        buf_cleanup(&sp->early);
    }
    start_reading(sp);
    maybe_shutdown(sp);
}

/* --- handlers
 * --------------------------------------------------------------------- */

static int connect_target(struct router_splice *sp);

/* Whether the socket a handler's splice connected to is listened on by
 * the user who registered the handler: 0, or UV_EPERM (logged). A TCP
 * target (admins only) has no such owner to check. */
static int check_listener(struct router_splice *sp, struct sock *k)
{
    struct ucred uc;
    socklen_t len = sizeof(uc);
    uv_os_fd_t fd;
    char text[MULTIADDR_STR_MAX];

    if (sp->fwd_id || k->tcp)
        return 0;
    if (uv_fileno(&k->u.h, &fd) == 0 &&
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0 &&
        router_policy_listener_ok(&sp->who, uc.uid, geteuid()))
        return 0;
    multiaddr_format(&sp->target, text, sizeof(text));
    LOG_RATELIMITED(LOG_WARN, "router",
                    "handler %s: the socket there is listened on by uid %d, "
                    "not by uid %u who registered it: nothing written",
                    text, len == sizeof(uc) ? (int)uc.uid : -1,
                    (unsigned)sp->who.uid);
    return UV_EPERM;
}

static void on_connected(uv_connect_t *req, int status)
{
    struct sock *k = req->data;
    struct router_splice *sp = k->sp;
    struct handler next;

    free(req);
    if (!sp || sp->sock != k || uv_is_closing(&k->u.h))
        return;
    if (status == 0 && sp->s)
        status = check_listener(sp, k);
    if (status == 0) {
        if (!sp->s) {
            close_sock(sp, true);
            return;
        }
        sock_ready(sp);
        return;
    }
    close_sock(sp, false);
    sp->sock->sp = NULL; /* closing: its callback must not free sp */
    sp->sock = NULL;
    if (sp->fwd_id) {
        router__fwd_failed(sp->r, sp->fwd_id, status);
        abort_stream(sp, FASTN_ERR_NET_REFUSED);
        maybe_free(sp);
        return;
    }
    if (sp->s &&
        router__client_failed(sp->r, swarm_stream_protocol(sp->s), &sp->target,
                              status, ++sp->attempts, &next) == 0) {
        sp->target = next.addr;
        sp->who = next.who;
        if (connect_target(sp) == 0)
            return;
    }
    abort_stream(sp, FASTN_ERR_NET_PROTO_NA);
    maybe_free(sp);
}

static int connect_target(struct router_splice *sp)
{
    char path[MULTIADDR_UNIX_MAX + 1];
    struct multiaddr_tcp t;
    struct sockaddr_storage ss;
    uv_connect_t *req = malloc(sizeof(*req));
    struct sock *k = calloc(1, sizeof(*k));
    int rc = 0;

    if (!req || !k) {
        free(req);
        free(k);
        return FASTN_ERR_NOMEM;
    }
    k->sp = sp;
    req->data = k;
    memset(&ss, 0, sizeof(ss));
    if (multiaddr_to_unix(&sp->target, path, sizeof(path)) == 0) {
        uv_pipe_init(sp->r->loop, &k->u.pipe, 0);
        k->u.h.data = k;
        sp->sock = k;
        uv_pipe_connect(req, &k->u.pipe, path, on_connected);
        return 0;
    }
    if (multiaddr_to_tcp(&sp->target, &t) != 0) {
        rc = FASTN_ERR_UNSUPPORTED;
    } else if (t.host_code == MA_IP4) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(t.port);
        memcpy(&a->sin_addr, t.ip, 4);
    } else if (t.host_code == MA_IP6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(t.port);
        memcpy(&a->sin6_addr, t.ip, 16);
    } else {
        rc = FASTN_ERR_UNSUPPORTED;
    }
    if (rc) {
        free(req);
        free(k);
        return rc;
    }
    uv_tcp_init(sp->r->loop, &k->u.tcp);
    uv_tcp_nodelay(&k->u.tcp, 1);
    k->tcp = true;
    k->u.h.data = k;
    sp->sock = k;
    if (uv_tcp_connect(req, &k->u.tcp, (struct sockaddr *)&ss, on_connected)) {
        free(req);
        k->sp = NULL;
        sp->sock = NULL;
        uv_close(&k->u.h, on_sock_closed);
        return FASTN_ERR_IO;
    }
    return 0;
}

/* The varint-delimited StreamInfo a handler reads first. */
static int build_preamble(struct router_splice *sp, struct swarm_stream *s)
{
    return router_stream_info_append(&sp->preamble, swarm_stream_peer(s),
                                     swarm_stream_remote_addr(s),
                                     swarm_stream_protocol(s));
}

/* Connects stream s to target and splices the two: a handler's (fwd_id
 * 0) hears the StreamInfo first, an expose's target (fwd_id set) only the
 * stream's bytes. On an error the stream is given back untouched. */
static int splice_start(struct router *r, struct swarm_stream *s,
                        const struct multiaddr *target,
                        const struct router_client *who, uint64_t fwd_id)
{
    int err;
    struct router_splice *sp = splice_new(r, s, &err);

    if (!sp)
        return err;
    sp->target = *target;
    if (who)
        sp->who = *who;
    sp->fwd_id = fwd_id;
    err = fwd_id ? 0 : build_preamble(sp, s);
    if (!err)
        err = connect_target(sp);
    if (err) {
        swarm_stream_set_cb(s, NULL, NULL);
        sp->s = NULL;
        maybe_free(sp);
    }
    return err;
}

int splice_to_handler(struct router *r, struct swarm_stream *s,
                      const struct handler *h)
{
    return splice_start(r, s, &h->addr, &h->who, 0);
}

int splice_connect(struct router *r, struct swarm_stream *s,
                   const struct multiaddr *target, uint64_t fwd_id)
{
    return splice_start(r, s, target, NULL, fwd_id);
}

void splice_abort_all(struct router *r)
{
    struct router_splice *sp, *next;

    /* a splice whose socket is still closing stays listed until then */
    for (sp = r->splices; sp; sp = next) {
        next = sp->next;
        abort_all(sp, FASTN_ERR_CANCELED);
    }
}

/* --- STREAM_OPEN
 * ---------------------------------------------------------------------- */

struct router_splice *router_splice_new(struct router *r,
                                        struct swarm_stream *s, uid_t uid,
                                        uint64_t *result_id)
{
    int err;
    struct router_splice *sp = splice_new(r, s, &err);

    if (!sp) {
        swarm_stream_reset(s);
        return NULL;
    }
    sp->result_id = router__result_new(r, uid);
    sp->awaiting = true;
    if (result_id)
        *result_id = sp->result_id;
    return sp;
}

/* Wraps a connected fd: a TCP socket as one (so that a failed stream
 * resets it), anything else as a pipe. */
static int attach_fd(struct router *r, struct sock *k, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
        (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
        uv_tcp_init(r->loop, &k->u.tcp);
        k->tcp = true;
        k->u.h.data = k;
        return uv_tcp_open(&k->u.tcp, fd);
    }
    uv_pipe_init(r->loop, &k->u.pipe, 0);
    k->u.h.data = k;
    return uv_pipe_open(&k->u.pipe, fd);
}

int router_splice_attach(struct router_splice *sp, int fd,
                         const uint8_t *initial, size_t n)
{
    struct sock *k = calloc(1, sizeof(*k));

    sp->awaiting = false;
    buf_init(&sp->in, n); /* the client's bytes, exactly */
    if (!k || (n && buf_append(&sp->in, initial, n) != 0)) {
        free(k);
        close(fd);
        abort_all(sp, FASTN_ERR_NOMEM);
        return FASTN_ERR_NOMEM;
    }
    k->sp = sp;
    k->u.h.data = k;
    sp->sock = k;
    if (attach_fd(sp->r, k, fd) != 0) {
        close(fd);
        abort_all(sp, FASTN_ERR_IO);
        return FASTN_ERR_IO;
    }
    if (!sp->s) { /* the stream ended before the socket came */
        sp->ready = true;
        maybe_close(sp);
        return 0;
    }
    sock_ready(sp);
    return 0;
}

void router_splice_abort(struct router_splice *sp)
{
    if (!sp)
        return;
    sp->awaiting = false;
    abort_all(sp, FASTN_ERR_CANCELED);
}

void splice_free_all(struct router *r)
{
    /* only splices whose owner never came back are left by now */
    while (r->splices) {
        r->splices->awaiting = false;
        r->splices->sock = NULL; /* closed with the loop */
        r->splices->s = NULL;
        maybe_free(r->splices);
    }
}
