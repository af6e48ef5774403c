/*
 * Forwards and exposes (see forward.h). A forward's listening socket is
 * our own non-blocking one, watched with a uv_poll: accept4() hands over
 * plain fds, which wait (unread: the kernel keeps what the client sends)
 * until their stream to the peer is open, and are then spliced by
 * splice.c like any other socket. An expose is an in-process router
 * handler that checks the stream's peer and lets splice.c connect to the
 * target.
 *
 * Lifetimes: a forward owns its listener and its connections still
 * waiting for a stream; once spliced, a connection belongs to its splice.
 * Splices name their expose by id (never by pointer), so an expose may go
 * while its connections finish.
 */
#include "router/forward.h"
#include "router/router_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fastn/err.h"
#include "util/log.h"

/* Connections one wake-up of a forward's listener accepts at most. */
#define ACCEPT_BATCH 64
/* How long a listener rests when the daemon is out of file descriptors
 * (the connections wait in the kernel's backlog meanwhile). */
#define EMFILE_PAUSE_MS 1000

struct fwd_pending;

struct router_fwd {
    struct router *r;
    struct router_fwd *next, **pprev; /* r->fwds */
    uint64_t id;
    bool expose;
    char *protocol;
    const void *owner;
    uint64_t connections, refused, failed;
    bool has_last_refused;
    struct peer_id last_refused;
    /* forward */
    int lfd;
    struct fwd_poll *poll; /* freed (and lfd closed) in its close callback */
    struct multiaddr listen;
    struct peer_id peer;
    uint32_t open_timeout_ms;
    struct fwd_pending *pending;
    /* expose */
    struct multiaddr target;
    struct peer_id *allow;
    size_t n_allow;
};

/* A listener's watch; the socket is closed once libuv let go of it.
 * pause rests the watch while no file descriptor is left to accept
 * with: polling a listener that stays readable would spin. */
struct fwd_poll {
    uv_poll_t h;
    uv_timer_t pause;
    int fd;
    int closing; /* handles still to close */
};

/* An accepted connection waiting for its stream. */
struct fwd_pending {
    struct router_fwd *f;
    struct fwd_pending *next, **pprev;
    struct swarm_stream *s;
    int fd;
};

static void fwd_link(struct router *r, struct router_fwd *f)
{
    f->r = r;
    f->id = ++r->next_fwd;
    f->next = r->fwds;
    f->pprev = &r->fwds;
    if (r->fwds)
        r->fwds->pprev = &f->next;
    r->fwds = f;
}

static const char *fwd_name(const struct router_fwd *f, char *buf, size_t n)
{
    if (multiaddr_format(f->expose ? &f->target : &f->listen, buf, n) < 0)
        snprintf(buf, n, "?");
    return buf;
}

/* Closes fd so that its client sees a reset, not an orderly end. */
static void close_reset(int fd)
{
    struct linger lg = {1, 0};

    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

/* --- forward: accepted connections ------------------------------------------
 */

static void pending_free(struct fwd_pending *p)
{
    p->f->r->n_fwd_pending--;
    *p->pprev = p->next;
    if (p->next)
        p->next->pprev = p->pprev;
    free(p);
}

static void pending_cb(struct swarm_stream *s,
                       const struct swarm_stream_event *ev, void *arg)
{
    struct fwd_pending *p = arg;
    struct router_fwd *f = p->f;
    struct router_splice *sp;
    char name[MULTIADDR_STR_MAX], pid[PEER_ID_STR_MAX];

    if (ev->type == SWARM_STREAM_OPEN) {
        sp = router_splice_new(f->r, s, 0, NULL); /* resets s on failure */
        if (sp && router_splice_attach(sp, p->fd, NULL, 0) == 0)
            f->connections++;
        else if (!sp)
            close_reset(p->fd);
        pending_free(p);
        return;
    }
    if (ev->type != SWARM_STREAM_CLOSED)
        return;
    f->failed++;
    LOG_RATELIMITED(LOG_INFO, "forward",
                    "forward %s: no stream to %s for %s: %s; connection "
                    "reset",
                    fwd_name(f, name, sizeof(name)),
                    peer_id_format(&f->peer, pid), f->protocol,
                    fastn_strerror(ev->err));
    close_reset(p->fd);
    pending_free(p);
}

static void forward_accepted(struct router_fwd *f, int fd)
{
    const char *const protos[] = {f->protocol};
    struct fwd_pending *p = calloc(1, sizeof(*p));
    char pid[PEER_ID_STR_MAX];
    int one = 1, err = FASTN_ERR_NOMEM;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (p) {
        p->f = f;
        p->fd = fd;
        p->s = swarm_stream_open(f->r->sw, &f->peer, protos, 1,
                                 f->open_timeout_ms, pending_cb, p, &err);
    }
    if (!p || !p->s) {
        f->failed++;
        LOG_RATELIMITED(LOG_INFO, "forward",
                        "forward to %s: cannot open a stream: %s",
                        peer_id_format(&f->peer, pid), fastn_strerror(err));
        close_reset(fd);
        free(p);
        return;
    }
    p->next = f->pending;
    p->pprev = &f->pending;
    if (f->pending)
        f->pending->pprev = &p->next;
    f->pending = p;
    f->r->n_fwd_pending++;
}

static void on_listen_ready(uv_poll_t *h, int status, int events);

static void on_pause_end(uv_timer_t *t)
{
    struct fwd_poll *p = t->data;
    uv_poll_start(&p->h, UV_READABLE, on_listen_ready);
}

/* Out of file descriptors (e), or of splices (e 0): rest the listener
 * for a while, and say so. */
static void listen_pause(struct router_fwd *f, int e)
{
    char name[MULTIADDR_STR_MAX];

    uv_poll_stop(&f->poll->h);
    uv_timer_start(&f->poll->pause, on_pause_end, EMFILE_PAUSE_MS, 0);
    LOG_RATELIMITED(LOG_WARN, "forward",
                    "forward %s: not accepting for %d ms: %s (lower "
                    "max-clients or max-connections, or raise the file "
                    "descriptor limit)",
                    fwd_name(f, name, sizeof(name)), EMFILE_PAUSE_MS,
                    e ? strerror(e)
                      : "as many streams are spliced as the limit allows");
}

static void on_listen_ready(uv_poll_t *h, int status, int events)
{
    struct router_fwd *f = h->data;

    (void)events;
    if (status < 0)
        return;
    for (int i = 0; i < ACCEPT_BATCH && f->lfd >= 0; i++) {
        int fd;
        if (router_splices_full(f->r)) { /* each one holds a descriptor */
            listen_pause(f, 0);
            return;
        }
        fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            forward_accepted(f, fd);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
            errno == ENOMEM) {
            listen_pause(f, errno);
            return;
        }
        if (errno != EINTR && errno != ECONNABORTED)
            break; /* EAGAIN */
    }
}

/* --- forward: the listener ----------------------------------------------- */

static int listen_errno(int e)
{
    switch (e) {
    case EADDRINUSE:
        return FASTN_ERR_EXISTS;
    case EACCES:
    case EPERM:
        return FASTN_ERR_PERM;
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
        return FASTN_ERR_UNSUPPORTED;
    default:
        return FASTN_ERR_IO;
    }
}

static int sockaddr_of(const struct multiaddr *ma, struct sockaddr_storage *ss,
                       socklen_t *len)
{
    struct multiaddr_tcp t;

    memset(ss, 0, sizeof(*ss));
    if (multiaddr_to_tcp(ma, &t) != 0 || t.has_peer)
        return FASTN_ERR_UNSUPPORTED;
    if (t.host_code == MA_IP4) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(t.port);
        memcpy(&a->sin_addr, t.ip, 4);
        *len = sizeof(*a);
        return 0;
    }
    if (t.host_code == MA_IP6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(t.port);
        memcpy(&a->sin6_addr, t.ip, 16);
        *len = sizeof(*a);
        return 0;
    }
    return FASTN_ERR_UNSUPPORTED;
}

/* Binds and listens; f->listen gets the address as bound. */
static int forward_listen(struct router_fwd *f, const struct multiaddr *ma,
                          char *why, size_t whylen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1, fd, err = sockaddr_of(ma, &ss, &len);
    char text[MULTIADDR_STR_MAX];

    if (err) {
        snprintf(why, whylen, "a forward listens on /ip4 or /ip6 + /tcp");
        return err;
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        int e = errno;
        multiaddr_format(ma, text, sizeof(text));
        snprintf(why, whylen, "cannot listen on %s: %s", text, strerror(e));
        if (fd >= 0)
            close(fd);
        return listen_errno(e);
    }
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        multiaddr_from_ip_tcp(&f->listen, (const uint8_t *)&a->sin_addr, 4,
                              ntohs(a->sin_port));
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        multiaddr_from_ip_tcp(&f->listen, (const uint8_t *)&a->sin6_addr, 16,
                              ntohs(a->sin6_port));
    }
    f->lfd = fd;
    return 0;
}

static int check_protocol(const char *p)
{
    size_t n = strlen(p);
    return n == 0 || n > ROUTER_PROTOCOL_MAX || memchr(p, '\n', n)
               ? FASTN_ERR_INVAL
               : 0;
}

static struct router_fwd *fwd_new(struct router *r, const char *protocol,
                                  const void *owner, int *err)
{
    struct router_fwd *f;

    *err = 0;
    if (r->closing)
        *err = FASTN_ERR_CLOSED;
    else if (check_protocol(protocol ? protocol : FORWARD_PROTOCOL_ID))
        *err = FASTN_ERR_INVAL;
    if (*err)
        return NULL;
    f = calloc(1, sizeof(*f));
    if (f)
        f->protocol = strdup(protocol ? protocol : FORWARD_PROTOCOL_ID);
    if (!f || !f->protocol) {
        free(f);
        *err = FASTN_ERR_NOMEM;
        return NULL;
    }
    f->lfd = -1;
    f->owner = owner;
    return f;
}

static void fwd_free(struct router_fwd *f)
{
    free(f->protocol);
    free(f->allow);
    free(f);
}

int router_forward_add(struct router *r, const struct multiaddr *listen,
                       const struct peer_id *peer, const char *protocol,
                       uint32_t open_timeout_ms, const void *owner, char *why,
                       size_t whylen, struct router_fwd **out)
{
    char text[MULTIADDR_STR_MAX], pid[PEER_ID_STR_MAX];
    int err;
    struct router_fwd *f = fwd_new(r, protocol, owner, &err);

    why[0] = '\0';
    if (!f)
        return err;
    f->peer = *peer;
    f->open_timeout_ms =
        open_timeout_ms ? open_timeout_ms : FORWARD_OPEN_TIMEOUT_MS;
    if ((err = forward_listen(f, listen, why, whylen))) {
        fwd_free(f);
        return err;
    }
    f->poll = calloc(1, sizeof(*f->poll));
    if (!f->poll || uv_poll_init(r->loop, &f->poll->h, f->lfd) != 0) {
        free(f->poll);
        close(f->lfd);
        fwd_free(f);
        return FASTN_ERR_NOMEM;
    }
    uv_timer_init(r->loop, &f->poll->pause);
    f->poll->pause.data = f->poll;
    f->poll->fd = f->lfd;
    f->poll->h.data = f;
    uv_poll_start(&f->poll->h, UV_READABLE, on_listen_ready);
    fwd_link(r, f);
    log_msg(LOG_INFO, "forward", "forward %s -> %s (%s)",
            fwd_name(f, text, sizeof(text)), peer_id_format(peer, pid),
            f->protocol);
    *out = f;
    return 0;
}

/* --- expose ----------------------------------------------------------------
 */

static bool allowed(const struct router_fwd *f, const struct peer_id *peer)
{
    for (size_t i = 0; i < f->n_allow; i++)
        if (peer_id_equal(&f->allow[i], peer))
            return true;
    return false;
}

static int expose_stream(void *arg, struct swarm_stream *s)
{
    struct router_fwd *f = arg;
    const struct peer_id *peer = swarm_stream_peer(s);
    char name[MULTIADDR_STR_MAX], pid[PEER_ID_STR_MAX];

    if (!allowed(f, peer)) {
        f->refused++;
        f->has_last_refused = true;
        f->last_refused = *peer;
        LOG_RATELIMITED(LOG_WARN, "forward",
                        "expose %s (%s): refused a stream from %s: not on "
                        "the allow list",
                        fwd_name(f, name, sizeof(name)), f->protocol,
                        peer_id_format(peer, pid));
        swarm_stream_reset(s);
        return 0; /* taken: refused, not passed on */
    }
    if (splice_connect(f->r, s, &f->target, f->id) != 0) {
        f->failed++;
        swarm_stream_reset(s);
        return 0;
    }
    f->connections++;
    return 0;
}

static const struct router_handler_ops expose_ops = {expose_stream};

int router_expose_add(struct router *r, const struct multiaddr *target,
                      const struct peer_id *allow, size_t n_allow,
                      const char *protocol, const void *owner,
                      struct router_fwd **out)
{
    char text[MULTIADDR_STR_MAX], path[MULTIADDR_UNIX_MAX + 1];
    struct multiaddr_tcp t;
    struct router_fwd *f;
    int err;

    if (n_allow > FORWARD_MAX_ALLOW)
        return FASTN_ERR_INVAL;
    if (multiaddr_to_unix(target, path, sizeof(path)) != 0 &&
        (multiaddr_to_tcp(target, &t) != 0 || t.has_peer ||
         (t.host_code != MA_IP4 && t.host_code != MA_IP6)))
        return FASTN_ERR_UNSUPPORTED;
    if (!(f = fwd_new(r, protocol, owner, &err)))
        return err;
    if (router_has(r, f->protocol)) {
        fwd_free(f);
        return FASTN_ERR_EXISTS;
    }
    f->expose = true;
    f->target = *target;
    if (n_allow && !(f->allow = malloc(n_allow * sizeof(*allow)))) {
        fwd_free(f);
        return FASTN_ERR_NOMEM;
    }
    if (n_allow)
        memcpy(f->allow, allow, n_allow * sizeof(*allow));
    f->n_allow = n_allow;
    if ((err = router_add(r, f->protocol, &expose_ops, f))) {
        fwd_free(f);
        return err;
    }
    fwd_link(r, f);
    log_msg(LOG_INFO, "forward", "expose %s as %s to %zu peer(s)%s",
            fwd_name(f, text, sizeof(text)), f->protocol, n_allow,
            n_allow ? "" : ": every stream will be refused");
    *out = f;
    return 0;
}

void router__fwd_failed(struct router *r, uint64_t id, int uv_err)
{
    struct router_fwd *f = router_fwd_find(r, id);
    char name[MULTIADDR_STR_MAX];

    if (!f)
        return;
    f->failed++;
    LOG_RATELIMITED(LOG_WARN, "forward", "expose %s (%s): %s; stream reset",
                    fwd_name(f, name, sizeof(name)), f->protocol,
                    uv_strerror(uv_err));
}

/* --- common -----------------------------------------------------------------
 */

static void on_poll_closed(uv_handle_t *h)
{
    struct fwd_poll *p = h->data;

    if (--p->closing)
        return;
    close(p->fd);
    free(p);
}

void router_fwd_remove(struct router_fwd *f)
{
    char name[MULTIADDR_STR_MAX];

    if (!f)
        return;
    *f->pprev = f->next;
    if (f->next)
        f->next->pprev = f->pprev;
    log_msg(LOG_INFO, "forward", "%s %s (%s) removed",
            f->expose ? "expose" : "forward", fwd_name(f, name, sizeof(name)),
            f->protocol);
    if (f->expose)
        router_remove(f->r, f->protocol, &expose_ops, f);
    if (f->poll) {
        f->poll->closing = 2;
        f->poll->h.data = f->poll;
        uv_close((uv_handle_t *)&f->poll->h, on_poll_closed);
        uv_close((uv_handle_t *)&f->poll->pause, on_poll_closed);
    }
    while (f->pending) {
        struct fwd_pending *p = f->pending;
        swarm_stream_reset(p->s);
        close_reset(p->fd);
        pending_free(p);
    }
    fwd_free(f);
}

struct router_fwd *router_fwd_find(struct router *r, uint64_t id)
{
    for (struct router_fwd *f = r->fwds; f; f = f->next)
        if (f->id == id)
            return f;
    return NULL;
}

void router_fwd_get(const struct router_fwd *f, struct router_fwd_info *out)
{
    memset(out, 0, sizeof(*out));
    out->id = f->id;
    out->expose = f->expose;
    out->protocol = f->protocol;
    out->listen = f->listen;
    out->peer = f->peer;
    out->target = f->target;
    out->allow = f->allow;
    out->n_allow = f->n_allow;
    out->connections = f->connections;
    out->refused = f->refused;
    out->failed = f->failed;
    out->has_last_refused = f->has_last_refused;
    out->last_refused = f->last_refused;
    out->owner = f->owner;
}

void router_fwd_foreach(struct router *r,
                        void (*fn)(void *arg, const struct router_fwd *f),
                        void *arg)
{
    for (struct router_fwd *f = r->fwds; f; f = f->next)
        fn(arg, f);
}

void router__fwd_close_all(struct router *r)
{
    while (r->fwds)
        router_fwd_remove(r->fwds);
}
