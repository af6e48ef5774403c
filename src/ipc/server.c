/*
 * libuv glue for the control socket (see server.h).
 *
 * Each connection owns an ipc_session; bytes read go to the session,
 * responses it queues are written out. Backpressure: while more than
 * WRITE_HIGH bytes wait to be written, the connection is not read, so a
 * client that does not read its answers cannot make the daemon buffer
 * without bound. A connection whose session is closing is closed once its
 * last response has been written. Responses are not copied: the socket
 * takes them from the session's buffer, or that buffer itself waits in
 * libuv's queue (conn_write_out).
 *
 * File descriptors: the daemon derives max-clients from its limit, so
 * accept does not run out. When it does all the same (EMFILE, ENFILE),
 * the listening socket (our own, accepted from with accept4, rather
 * than libuv's, which would accept and close every waiting client, the
 * owner's included, without a word) rests for ACCEPT_PAUSE_MS: clients
 * wait in the backlog, the loop does not spin, and the log says so.
 */
#include "ipc/server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fastn/err.h"
#include "util/log.h"

/* The send buffer asked for (the kernel caps it at net.core.wmem_max)
 * once a connection gets a large answer: room for a whole one (up to 1 MiB
 * of a plugin call) and more, so that it goes out from where it is rather
 * than copied and queued (on_session_write_now). */
#define CONN_SNDBUF (2 << 20)
#define WRITE_HIGH (1u << 20)
#define WRITE_LOW (256u << 10)
/* Connections one wake-up of the listener accepts at most. */
#define ACCEPT_BATCH 64
/* How long the listener rests when no file descriptor is left. */
#define ACCEPT_PAUSE_MS 200

struct ipc_conn {
    uv_pipe_t pipe;
    struct ipc_server *srv;
    struct ipc_session session;
    struct ipc_conn *next, **pprev;
    size_t pending; /* bytes handed to uv_write and not yet written */
    bool reading;
    bool closing;
    bool big_sndbuf; /* grown for large answers (on_session_write_now) */
};

/* Output the socket did not take at once: the session's buffer itself,
 * taken over (not copied), from off on. */
struct conn_write {
    uv_write_t req;
    size_t len; /* bytes handed to uv_write, counted in pending */
    uint8_t *data;
};

static void conn_flush(struct ipc_conn *c);
static void conn_read_start(struct ipc_conn *c);
static void conn_handoff(struct ipc_conn *c);

static void on_conn_closed(uv_handle_t *h)
{
    struct ipc_conn *c = h->data;

    ipc_session_cleanup(&c->session);
    free(c);
}

static void conn_close(struct ipc_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    *c->pprev = c->next;
    if (c->next)
        c->next->pprev = c->pprev;
    c->srv->host->clients--;
    uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void on_write(uv_write_t *req, int status)
{
    struct conn_write *w = (struct conn_write *)req;
    struct ipc_conn *c = req->data;

    c->pending -= w->len;
    free(w->data);
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        log_msg(LOG_DEBUG, "ipc", "write to pid %d failed: %s",
                (int)c->session.peer.pid, uv_strerror(status));
        conn_close(c);
        return;
    }
    if (ipc_session_done(&c->session) && c->pending == 0) {
        conn_close(c);
        return;
    }
    if (c->session.handoff && c->pending == 0 && c->session.out.len == 0) {
        conn_handoff(c);
        return;
    }
    if (!c->reading && ipc_session_wants_input(&c->session) &&
        c->pending <= WRITE_LOW)
        conn_read_start(c);
}

/* The client's socket now carries a stream: a duplicate of it goes to the
 * stream's owner with what the client sent after its request, and this
 * connection ends (the socket stays open through the duplicate). */
static void conn_handoff(struct ipc_conn *c)
{
    struct ipc_session *s = &c->session;
    ipc_handoff_fn fn = s->handoff;
    uv_os_fd_t fd;
    int dup_fd = -1;

    s->handoff = NULL;
    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0)
        dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    fn(s->handoff_arg, dup_fd, s->in.data, s->in.len);
    buf_reset(&s->in);
    conn_close(c);
}

/* The session queued output outside a read (a deferred answer), or may
 * read again. */
static void on_session_wake(struct ipc_session *s, void *arg)
{
    (void)s;
    conn_flush(arg);
}

/* The session's large answer (a head, then the result in one piece or
 * several), from memory valid only during this call: what the socket
 * takes at once. uv_try_write refuses while earlier
 * writes wait, and the session has nothing queued, so the order holds. */
static size_t on_session_write_now(struct ipc_session *s, void *arg,
                                   const struct iovec *v, int n)
{
    struct ipc_conn *c = arg;
    uv_buf_t b[1 + IPC_RESULT_PIECES]; /* the head, the result's pieces */
    int rc;

    (void)s;
    if (c->closing || n < 1 || n > 1 + IPC_RESULT_PIECES)
        return 0;
    if (!c->big_sndbuf) {
        uv_os_fd_t fd;
        int v = CONN_SNDBUF;
        if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0)
            (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
        c->big_sndbuf = true;
    }
    for (int i = 0; i < n; i++)
        b[i] = uv_buf_init(v[i].iov_base, (unsigned)v[i].iov_len);
    rc = uv_try_write((uv_stream_t *)&c->pipe, b, (unsigned)n);
    return rc > 0 ? (size_t)rc : 0; /* a failure shows at the next write */
}

/* Hands the session's queued responses to the socket without copying
 * them: what the socket takes at once (uv_try_write, which refuses while
 * earlier writes wait, so the order holds) is written from the session's
 * buffer, which stays for the next responses; the rest is queued with
 * uv_write in that same buffer, taken over, and the session starts a new
 * one. */
static int conn_write_out(struct ipc_conn *c)
{
    struct buf *out = &c->session.out;
    struct conn_write *w;
    uv_buf_t b = uv_buf_init((char *)out->data, (unsigned)out->len);
    int rc = uv_try_write((uv_stream_t *)&c->pipe, &b, 1);

    if (rc < 0 && rc != UV_EAGAIN)
        return rc;
    if (rc < 0)
        rc = 0;
    if ((size_t)rc == out->len) {
        buf_reset(out);
        return 0;
    }
    if (!(w = malloc(sizeof(*w))))
        return UV_ENOMEM;
    w->data = out->data;
    w->len = out->len - (size_t)rc;
    w->req.data = c;
    b = uv_buf_init((char *)w->data + rc, (unsigned)w->len);
    out->data = NULL; /* the session's next responses go to a new buffer */
    out->len = out->cap = 0;
    rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write);
    if (rc < 0) {
        free(w->data);
        free(w);
        return rc;
    }
    c->pending += w->len;
    return 0;
}

/* Hands the session's queued responses to libuv. */
static void conn_flush(struct ipc_conn *c)
{
    struct ipc_session *s = &c->session;
    int rc;

    if (c->closing)
        return;
    if (s->out.len > 0 && (rc = conn_write_out(c)) < 0) {
        log_msg(LOG_DEBUG, "ipc", "write to pid %d failed: %s",
                (int)s->peer.pid, uv_strerror(rc));
        conn_close(c);
        return;
    }
    if (c->reading &&
        (!ipc_session_wants_input(s) || c->pending > WRITE_HIGH)) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = false;
    }
    if (ipc_session_done(s) && c->pending == 0) {
        conn_close(c);
        return;
    }
    if (s->handoff && c->pending == 0 && s->out.len == 0) {
        conn_handoff(c);
        return;
    }
    if (!c->reading && ipc_session_wants_input(s) && c->pending <= WRITE_LOW)
        conn_read_start(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct ipc_conn *c = h->data;
    (void)hint;
    *b = uv_buf_init(c->srv->rbuf, sizeof(c->srv->rbuf));
}

/* Has the client closed its end, not only shut down its writes? A Unix
 * socket whose peer is gone polls POLLHUP (both directions shut); one
 * that only shut down its writes polls POLLRDHUP and still reads. */
static bool peer_gone(struct ipc_conn *c)
{
    uv_os_fd_t fd;
    struct pollfd p = {.events = POLLIN};

    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0)
        return false;
    p.fd = fd;
    return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct ipc_conn *c = st->data;
    uint64_t now = uv_now(c->srv->loop);

    if (n > 0) {
        ipc_session_feed(&c->session, (const uint8_t *)b->base, (size_t)n, now);
    } else if (n == UV_EOF) {
        if (peer_gone(c)) /* no one reads the answers: they go */
            ipc_session_hangup(&c->session);
        else
            ipc_session_eof(&c->session);
    } else if (n < 0) {
        conn_close(c);
        return;
    }
    conn_flush(c);
}

static void conn_read_start(struct ipc_conn *c)
{
    if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) == 0)
        c->reading = true;
    else
        conn_close(c);
}

/* Reads who is connecting: uid, gid and pid, and the supplementary groups
 * where the kernel reports them (SO_PEERGROUPS, Linux 4.13). */
static int peer_credentials(uv_pipe_t *pipe, struct ipc_peer *peer)
{
    struct ucred uc;
    socklen_t len = sizeof(uc);
    uv_os_fd_t fd;

    memset(peer, 0, sizeof(*peer));
    if (uv_fileno((uv_handle_t *)pipe, &fd) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0)
        return FASTN_ERR_IO;
    peer->pid = uc.pid;
    peer->uid = uc.uid;
    peer->gid = uc.gid;
#ifdef SO_PEERGROUPS
    len = sizeof(peer->groups);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer->groups, &len) == 0)
        peer->n_groups = len / sizeof(gid_t);
#endif
    return 0;
}

/* A new client on fd: a connection, its session opened (admission,
 * then the connection limits) and read from. */
static void conn_new(struct ipc_server *srv, int fd)
{
    struct ipc_peer peer;
    struct ipc_conn *c = calloc(1, sizeof(*c));

    if (!c || uv_pipe_init(srv->loop, &c->pipe, 0) != 0) {
        free(c);
        close(fd);
        return;
    }
    c->srv = srv;
    c->pipe.data = c;
    c->next = srv->conns;
    c->pprev = &srv->conns;
    if (srv->conns)
        srv->conns->pprev = &c->next;
    srv->conns = c;
    srv->host->clients++;
    memset(&peer, 0, sizeof(peer));
    ipc_session_init(&c->session, srv->host, &peer);
    c->session.wake = on_session_wake;
    c->session.wake_arg = c;
    c->session.write_now = on_session_write_now;
    c->session.opened_ms = uv_now(srv->loop);
    if (uv_pipe_open(&c->pipe, fd) != 0) {
        close(fd);
        conn_close(c);
        return;
    }
    if (peer_credentials(&c->pipe, &c->session.peer) != 0) {
        conn_close(c);
        return;
    }
    if (ipc_session_open(&c->session) == 0)
        log_msg(LOG_DEBUG, "ipc", "client pid %d uid %u connected",
                (int)c->session.peer.pid, (unsigned)c->session.peer.uid);
    /* Even a refused client is read from: its EOF or reset ends it. */
    conn_read_start(c);
    conn_flush(c);
}

static void on_listener_ready(uv_poll_t *h, int status, int events);

static void on_pause_end(uv_timer_t *t)
{
    struct ipc_server *srv = t->data;

    if (srv->listening)
        uv_poll_start(&srv->listener, UV_READABLE, on_listener_ready);
}

/* Out of file descriptors: the listener rests (clients wait in the
 * backlog, none is dropped) rather than spin on a socket that stays
 * readable. */
static void listener_pause(struct ipc_server *srv, int e)
{
    uv_poll_stop(&srv->listener);
    uv_timer_start(&srv->pause, on_pause_end, ACCEPT_PAUSE_MS, 0);
    LOG_RATELIMITED(LOG_ERROR, "ipc",
                    "out of file descriptors with %u control connections "
                    "open (%s): not accepting for %d ms; lower max-clients "
                    "or max-connections, or raise the limit (ulimit -n)",
                    srv->host->clients, strerror(e), ACCEPT_PAUSE_MS);
}

static void on_listener_ready(uv_poll_t *h, int status, int events)
{
    struct ipc_server *srv = h->data;

    (void)events;
    if (status < 0)
        return;
    for (int i = 0; i < ACCEPT_BATCH && srv->listening; i++) {
        int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_new(srv, fd);
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                   errno == ENOMEM) {
            listener_pause(srv, errno);
            return;
        } else if (errno != EINTR && errno != ECONNABORTED) {
            if (errno != EAGAIN)
                LOG_RATELIMITED(LOG_WARN, "ipc", "accept failed: %s",
                                strerror(errno));
            return;
        }
    }
}

/* Removes a socket a crashed daemon left behind, but never a live one and
 * never a file that is not a socket. */
static int clear_stale_socket(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd, rc;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : FASTN_ERR_IO;
    if (!S_ISSOCK(st.st_mode))
        return FASTN_ERR_EXISTS;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FASTN_ERR_IO;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    if (rc == 0)
        return FASTN_ERR_DAEMON_RUNNING;
    log_msg(LOG_INFO, "ipc", "removing stale socket %s", path);
    if (unlink(path) != 0 && errno != ENOENT)
        return FASTN_ERR_IO;
    return 0;
}

/* The listening socket, our own (accept4 in on_listener_ready). */
static int bind_socket(struct ipc_server *srv, gid_t sock_gid, bool *bound)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    mode_t old;
    int rc;

    memcpy(sa.sun_path, srv->path, strlen(srv->path) + 1);
    srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (srv->fd < 0)
        return FASTN_ERR_IO;
    /* Created 0660 from the start: no moment where others may connect. */
    old = umask(0117);
    rc = bind(srv->fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0) {
        log_msg(LOG_ERROR, "ipc", "cannot bind %s: %s", srv->path,
                strerror(errno));
        return errno == EADDRINUSE ? FASTN_ERR_DAEMON_RUNNING : FASTN_ERR_IO;
    }
    *bound = true;
    if (chmod(srv->path, 0660) != 0 ||
        (sock_gid != (gid_t)-1 && chown(srv->path, (uid_t)-1, sock_gid))) {
        log_msg(LOG_ERROR, "ipc", "cannot set mode/group of %s: %s", srv->path,
                strerror(errno));
        return FASTN_ERR_IO;
    }
    if (listen(srv->fd, 128) != 0) {
        log_msg(LOG_ERROR, "ipc", "cannot listen on %s: %s", srv->path,
                strerror(errno));
        return FASTN_ERR_IO;
    }
    return 0;
}

/* How often the deadlines are checked: a quarter of the timeout, within
 * 100 ms .. 1 s, so that a connection closes at most that late. */
static uint64_t deadline_period(const struct ipc_server *srv)
{
    uint64_t t = srv->host->limits.request_timeout_ms / 4;
    return t < 100 ? 100 : t > 1000 ? 1000 : t;
}

/* Closes the connections that owe a request past its deadline, and
 * cancels the calls of clients gone. */
static void on_deadlines(uv_timer_t *t)
{
    struct ipc_server *srv = t->data;
    uint64_t now = uv_now(srv->loop);
    struct ipc_conn *c, *next;

    for (c = srv->conns; c; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        /* a connection not read while it waits for answers sees no EOF:
         * a client killed meanwhile is found here */
        if (!c->reading && c->session.n_deferred > 0 && peer_gone(c)) {
            ipc_session_hangup(&c->session);
            conn_flush(c);
            continue;
        }
        if (ipc_session_deadline(&c->session) > now)
            continue;
        ipc_session_expire(&c->session);
        conn_flush(c); /* the error goes out, then the connection closes */
    }
    uv_timer_set_repeat(t, deadline_period(srv));
}

static void server_init(struct ipc_server *srv, uv_loop_t *loop,
                        struct ipc_host *host, const char *path)
{
    memset(srv, 0, sizeof(*srv));
    srv->loop = loop;
    srv->host = host;
    srv->fd = -1;
    memcpy(srv->path, path, strlen(path) + 1);
}

/* Accepts on srv->fd from now on (the process watch, the listener's
 * poll, its pause, the deadlines). Errors (the caller closes srv->fd):
 * FASTN_ERR_NOMEM, FASTN_ERR_IO. */
static int serve(struct ipc_server *srv)
{
    uv_loop_t *loop = srv->loop;
    struct ipc_host *host = srv->host;

    if (!host->watch && ipc_watch_new(loop, host, &host->watch))
        return FASTN_ERR_NOMEM;
    if (uv_poll_init(loop, &srv->listener, srv->fd) != 0) {
        ipc_watch_close(host->watch);
        host->watch = NULL;
        return FASTN_ERR_IO;
    }
    srv->listener.data = srv;
    uv_poll_start(&srv->listener, UV_READABLE, on_listener_ready);
    uv_timer_init(loop, &srv->pause);
    srv->pause.data = srv;
    uv_timer_init(loop, &srv->deadlines);
    srv->deadlines.data = srv;
    uv_timer_start(&srv->deadlines, on_deadlines, deadline_period(srv),
                   deadline_period(srv));
    srv->listening = true;
    return 0;
}

int ipc_server_start(struct ipc_server *srv, uv_loop_t *loop,
                     struct ipc_host *host, const char *path, gid_t sock_gid)
{
    bool bound = false;
    int err;

    if (strlen(path) > IPC_SOCKET_PATH_MAX)
        return FASTN_ERR_TOO_LARGE;
    server_init(srv, loop, host, path);
    err = clear_stale_socket(path);
    if (err)
        return err;
    err = bind_socket(srv, sock_gid, &bound);
    if (!err)
        err = serve(srv);
    if (err) {
        if (srv->fd >= 0)
            close(srv->fd);
        if (bound)
            unlink(path);
    }
    return err;
}

/* The socket is closed once libuv has let go of it. */
static void on_listener_closed(uv_handle_t *h)
{
    struct ipc_server *srv = h->data;

    close(srv->fd);
    srv->fd = -1;
}

void ipc_server_close(struct ipc_server *srv)
{
    if (!srv->listening)
        return;
    srv->listening = false;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    uv_close((uv_handle_t *)&srv->pause, NULL);
    uv_close((uv_handle_t *)&srv->deadlines, NULL);
    /* An adopted socket's file belongs to the service manager, which
     * keeps listening on it (and starts us again) after we are gone. */
    if (!srv->adopted)
        unlink(srv->path);
    while (srv->conns)
        conn_close(srv->conns);
    ipc_watch_close(srv->host->watch);
    srv->host->watch = NULL;
}

/* The service manager bound and listens on the socket (socket
 * activation): we only accept on it, and leave its file alone. */
int ipc_server_adopt(struct ipc_server *srv, uv_loop_t *loop,
                     struct ipc_host *host, int fd, const char *path)
{
    int err, fl;

    if (strlen(path) > IPC_SOCKET_PATH_MAX) {
        close(fd);
        return FASTN_ERR_TOO_LARGE;
    }
    server_init(srv, loop, host, path);
    srv->adopted = true;
    srv->fd = fd;
    /* accept4 must not block: the passed socket may be a blocking one */
    fl = fcntl(fd, F_GETFL);
    err = fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ? FASTN_ERR_IO
                                                             : serve(srv);
    if (err) {
        log_msg(LOG_ERROR, "ipc", "cannot accept on the passed socket %s: %s",
                path, fastn_strerror(err));
        close(fd);
    }
    return err;
}
