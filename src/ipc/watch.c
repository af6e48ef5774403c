/*
 * The processes that registered stream handlers, watched through pidfds
 * on the event loop (libuv glue, as server.c): when one exits, every
 * handler it registered is dropped from the router.
 *
 * Why the process and not the control connection: go-libp2p-daemon
 * clients register a handler on one connection and may close it while
 * the handler stays in use (a connection per request), so the end of a
 * connection says nothing. The process is what SO_PEERCRED names. Limits
 * of that: the pid is the one that connected (a socket passed on to
 * another process is still its); a client in another pid namespace, or a
 * kernel without pidfd_open (before Linux 5.3), is not watched, and its
 * handlers last until their socket refuses a connection, as before.
 *
 * One pidfd per live registering process: a process registering again
 * gets the same tag; ipc_watch_sweep() gives back the pidfds of a uid's
 * processes whose handlers are all gone, so a uid holds at most as many
 * as it has handlers. A watched process counts as a control connection
 * does in its uid's limits (limits.c), so another user's processes
 * cannot take the descriptors the owner's connections need.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uv.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "router/router.h"
#include "util/log.h"

struct proc {
    uv_poll_t poll; /* first: the handle is the struct */
    struct ipc_watch *w;
    struct proc *next, **pprev;
    int pidfd;
    pid_t pid;
    uid_t uid;
    uint64_t tag;
};

struct ipc_watch {
    uv_loop_t *loop;
    struct ipc_host *host;
    struct proc *procs;
    size_t n;
    uint64_t next_tag;
    unsigned closing; /* handles still closing */
    bool closed;      /* ipc_watch_close() came: free after the last */
};

int ipc_watch_new(struct uv_loop_s *loop, struct ipc_host *host,
                  struct ipc_watch **out)
{
    struct ipc_watch *w = calloc(1, sizeof(*w));

    if (!w)
        return FASTN_ERR_NOMEM;
    w->loop = loop;
    w->host = host;
    *out = w;
    return 0;
}

static void maybe_free(struct ipc_watch *w)
{
    if (w->closed && !w->closing && !w->procs)
        free(w);
}

static void on_closed(uv_handle_t *h)
{
    struct proc *p = (struct proc *)h;
    struct ipc_watch *w = p->w;

    close(p->pidfd);
    free(p);
    w->closing--;
    maybe_free(w);
}

static void proc_drop(struct proc *p)
{
    struct ipc_watch *w = p->w;

    ipc_limits_proc_count(w->host, p->uid, -1);
    *p->pprev = p->next;
    if (p->next)
        p->next->pprev = p->pprev;
    w->n--;
    w->closing++;
    uv_close((uv_handle_t *)&p->poll, on_closed);
}

/* The pidfd is readable: the process has exited. */
static void on_proc_exit(uv_poll_t *h, int status, int events)
{
    struct proc *p = (struct proc *)h;
    struct router *r = p->w->host->router;
    size_t n = r ? router_drop_clients(r, p->tag) : 0;

    (void)status;
    (void)events;
    if (n)
        log_msg(LOG_INFO, "ipc",
                "client pid %d (uid %u) exited: its %zu handler(s) dropped",
                (int)p->pid, (unsigned)p->uid, n);
    proc_drop(p);
}

static int pidfd_open_(pid_t pid, int *err)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0)
        return fd;
    *err = errno == ESRCH                       ? FASTN_ERR_NOT_FOUND
           : errno == EMFILE || errno == ENFILE ? FASTN_ERR_BUSY
                                                : FASTN_ERR_UNSUPPORTED;
#else
    (void)pid;
    *err = FASTN_ERR_UNSUPPORTED;
#endif
    return -1;
}

static struct proc *proc_new(struct ipc_watch *w, const struct ipc_peer *peer,
                             int *err)
{
    struct proc *p = calloc(1, sizeof(*p));

    if (!p) {
        *err = FASTN_ERR_NOMEM;
        return NULL;
    }
    p->pidfd = pidfd_open_(peer->pid, err);
    if (p->pidfd < 0 || uv_poll_init(w->loop, &p->poll, p->pidfd) != 0) {
        if (p->pidfd >= 0) {
            close(p->pidfd);
            *err = FASTN_ERR_UNSUPPORTED;
        }
        free(p);
        return NULL;
    }
    if ((*err = ipc_limits_proc_count(w->host, peer->uid, 1))) {
        close(p->pidfd);
        free(p);
        return NULL;
    }
    p->w = w;
    p->pid = peer->pid;
    p->uid = peer->uid;
    p->tag = ++w->next_tag;
    uv_poll_start(&p->poll, UV_READABLE, on_proc_exit);
    p->next = w->procs;
    p->pprev = &w->procs;
    if (w->procs)
        w->procs->pprev = &p->next;
    w->procs = p;
    w->n++;
    return p;
}

uint64_t ipc_watch_find(const struct ipc_watch *w, const struct ipc_peer *peer)
{
    for (const struct proc *p = w->procs; p; p = p->next)
        if (p->pid == peer->pid && p->uid == peer->uid)
            return p->tag;
    return 0;
}

uint64_t ipc_watch_process(struct ipc_watch *w, const struct ipc_peer *peer,
                           int *err)
{
    struct proc *p;
    uint64_t tag;

    *err = 0;
    if (peer->pid <= 0) { /* another pid namespace reports 0 */
        *err = FASTN_ERR_UNSUPPORTED;
        return 0;
    }
    if ((tag = ipc_watch_find(w, peer)))
        return tag;
    p = proc_new(w, peer, err);
    return p ? p->tag : 0;
}

static int cmp_tag(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void ipc_watch_sweep(struct ipc_watch *w, uid_t uid)
{
    struct router *r = w->host->router;
    struct proc *p, *next;
    uint64_t *tags;
    size_t n;

    if (!r)
        return;
    n = router_client_tags(r, uid, NULL, 0);
    tags = malloc((n ? n : 1) * sizeof(*tags));
    if (!tags)
        return; /* kept until they exit: nothing is lost */
    router_client_tags(r, uid, tags, n);
    qsort(tags, n, sizeof(*tags), cmp_tag);
    for (p = w->procs; p; p = next) {
        next = p->next;
        if (p->uid == uid && !bsearch(&p->tag, tags, n, sizeof(*tags), cmp_tag))
            proc_drop(p);
    }
    free(tags);
}

size_t ipc_watch_count(const struct ipc_watch *w)
{
    return w ? w->n : 0;
}

void ipc_watch_close(struct ipc_watch *w)
{
    if (!w)
        return;
    w->closed = true;
    while (w->procs)
        proc_drop(w->procs);
    maybe_free(w);
}
