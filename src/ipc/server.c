/*
 * libuv glue for the control socket (see server.h).
 *
 * Each connection owns an ipc_session; bytes read go to the session,
 * responses it queues are written out. Backpressure: while more than
 * WRITE_HIGH bytes wait to be written, the connection is not read, so a
 * client that does not read its answers cannot make the daemon buffer
 * without bound. A connection whose session is closing is closed once its
 * last response has been written.
 */
#include "ipc/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fastn/err.h"
#include "util/log.h"

#define WRITE_HIGH (1u << 20)
#define WRITE_LOW (256u << 10)

struct ipc_conn {
    uv_pipe_t pipe;
    struct ipc_server *srv;
    struct ipc_session session;
    struct ipc_conn *next, **pprev;
    size_t pending; /* bytes handed to uv_write and not yet written */
    bool reading;
    bool closing;
};

struct conn_write {
    uv_write_t req;
    size_t len;
    uint8_t data[];
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

/* Hands the session's queued responses to libuv. */
static void conn_flush(struct ipc_conn *c)
{
    struct ipc_session *s = &c->session;
    struct conn_write *w;
    uv_buf_t b;
    int rc;

    if (c->closing)
        return;
    if (s->out.len > 0) {
        w = malloc(sizeof(*w) + s->out.len);
        if (!w) {
            conn_close(c);
            return;
        }
        w->len = s->out.len;
        memcpy(w->data, s->out.data, s->out.len);
        buf_reset(&s->out);
        w->req.data = c;
        b = uv_buf_init((char *)w->data, (unsigned)w->len);
        rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write);
        if (rc < 0) {
            free(w);
            conn_close(c);
            return;
        }
        c->pending += w->len;
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

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct ipc_conn *c = st->data;
    uint64_t now = uv_now(c->srv->loop);

    if (n > 0) {
        ipc_session_feed(&c->session, (const uint8_t *)b->base, (size_t)n, now);
    } else if (n == UV_EOF) {
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

static void on_connection(uv_stream_t *listener, int status)
{
    struct ipc_server *srv = listener->data;
    struct ipc_peer peer;
    struct ipc_conn *c;

    if (status < 0) {
        LOG_RATELIMITED(LOG_WARN, "ipc", "accept failed: %s",
                        uv_strerror(status));
        return;
    }
    c = calloc(1, sizeof(*c));
    if (!c || uv_pipe_init(srv->loop, &c->pipe, 0) != 0) {
        free(c);
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
    if (uv_accept(listener, (uv_stream_t *)&c->pipe) != 0 ||
        peer_credentials(&c->pipe, &c->session.peer) != 0) {
        conn_close(c);
        return;
    }
    if (srv->host->clients > srv->max_clients)
        ipc_session_reject(&c->session, FASTN_ERR_BUSY,
                           "fastnd has too many clients; try again later");
    else if (ipc_session_open(&c->session) == 0)
        log_msg(LOG_DEBUG, "ipc", "client pid %d uid %u connected",
                (int)c->session.peer.pid, (unsigned)c->session.peer.uid);
    /* Even a refused client is read from: its EOF or reset ends it. */
    conn_read_start(c);
    conn_flush(c);
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

static int bind_socket(struct ipc_server *srv, gid_t sock_gid, bool *bound)
{
    mode_t old;
    int rc;

    /* Created 0660 from the start: no moment where others may connect. */
    old = umask(0117);
    rc = uv_pipe_bind(&srv->listener, srv->path);
    umask(old);
    if (rc != 0) {
        log_msg(LOG_ERROR, "ipc", "cannot bind %s: %s", srv->path,
                uv_strerror(rc));
        return rc == UV_EADDRINUSE ? FASTN_ERR_DAEMON_RUNNING : FASTN_ERR_IO;
    }
    *bound = true;
    if (chmod(srv->path, 0660) != 0 ||
        (sock_gid != (gid_t)-1 && chown(srv->path, (uid_t)-1, sock_gid))) {
        log_msg(LOG_ERROR, "ipc", "cannot set mode/group of %s: %s", srv->path,
                strerror(errno));
        return FASTN_ERR_IO;
    }
    return 0;
}

int ipc_server_start(struct ipc_server *srv, uv_loop_t *loop,
                     struct ipc_host *host, const char *path, gid_t sock_gid,
                     unsigned max_clients)
{
    bool bound = false;
    int err, rc;

    if (strlen(path) > IPC_SOCKET_PATH_MAX)
        return FASTN_ERR_TOO_LARGE;
    memset(srv, 0, sizeof(*srv));
    srv->loop = loop;
    srv->host = host;
    srv->max_clients = max_clients;
    memcpy(srv->path, path, strlen(path) + 1);
    err = clear_stale_socket(path);
    if (err)
        return err;
    if (uv_pipe_init(loop, &srv->listener, 0) != 0)
        return FASTN_ERR_IO;
    srv->listener.data = srv;
    err = bind_socket(srv, sock_gid, &bound);
    if (!err) {
        rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection);
        if (rc != 0) {
            log_msg(LOG_ERROR, "ipc", "cannot listen on %s: %s", path,
                    uv_strerror(rc));
            err = FASTN_ERR_IO;
        }
    }
    if (err) {
        uv_close((uv_handle_t *)&srv->listener, NULL);
        if (bound)
            unlink(path);
        return err;
    }
    srv->listening = true;
    return 0;
}

void ipc_server_close(struct ipc_server *srv)
{
    if (!srv->listening)
        return;
    srv->listening = false;
    uv_close((uv_handle_t *)&srv->listener, NULL);
    /* An adopted socket's file belongs to the service manager, which
     * keeps listening on it (and starts us again) after we are gone. */
    if (!srv->adopted)
        unlink(srv->path);
    while (srv->conns)
        conn_close(srv->conns);
}

/* The service manager bound and listens on the socket (socket
 * activation): we only accept on it, and leave its file alone. */
int ipc_server_adopt(struct ipc_server *srv, uv_loop_t *loop,
                     struct ipc_host *host, int fd, const char *path,
                     unsigned max_clients)
{
    int rc;

    if (strlen(path) > IPC_SOCKET_PATH_MAX) {
        close(fd);
        return FASTN_ERR_TOO_LARGE;
    }
    memset(srv, 0, sizeof(*srv));
    srv->loop = loop;
    srv->host = host;
    srv->max_clients = max_clients;
    srv->adopted = true;
    memcpy(srv->path, path, strlen(path) + 1);
    if (uv_pipe_init(loop, &srv->listener, 0) != 0) {
        close(fd);
        return FASTN_ERR_IO;
    }
    srv->listener.data = srv;
    rc = uv_pipe_open(&srv->listener, fd);
    if (rc != 0)
        close(fd); /* not the handle's yet */
    else
        rc = uv_listen((uv_stream_t *)&srv->listener, 128, on_connection);
    if (rc != 0) {
        log_msg(LOG_ERROR, "ipc", "cannot accept on the passed socket %s: %s",
                path, uv_strerror(rc));
        uv_close((uv_handle_t *)&srv->listener, NULL);
        return FASTN_ERR_IO;
    }
    srv->listening = true;
    return 0;
}
