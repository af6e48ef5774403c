/*
 * Loopback TCP for plugins: connections and listeners (plugin_local.h).
 *
 * A connection is a uv_tcp_t and a count of the bytes its writes hold
 * (each write is copied: the plugin's memory is not kept). It ends when
 * both sides finished (our shutdown done and the program's EOF read), or
 * at the first error; either way the callback hears LOCAL_EV_CLOSED once
 * and the memory is freed when libuv has closed the handle. Callbacks
 * come from libuv's, never from a call of ours, so plugins.c may call
 * back in from any of them.
 *
 * Listeners bind 127.0.0.1 and ::1 only (IPV6ONLY), the same port on
 * both; a port that is taken on either is given up for one the system
 * picks (a few tries, as two daemons of one machine may race for it).
 * A machine without IPv6 gets 127.0.0.1 alone.
 */
#include "daemon/plugin_local.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "plugin/plugin.h"
#include "util/log.h"

#define READ_CHUNK (64u * 1024)
#define LISTEN_BACKLOG 128
#define PICK_TRIES 4

struct local_conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_shutdown_t shutdown;
    local_conn_cb cb;
    void *arg;
    size_t queued;
    bool connecting, reading, paused, eof, shutting, shut, want_writable;
    bool dead; /* CLOSED told, or reset: no more callbacks */
    char peer[PLUGIN_ADDR_MAX + 1];
    uint8_t rbuf[READ_CHUNK];
};

struct write_req {
    uv_write_t req;
    struct local_conn *lc;
    size_t n;
    uint8_t data[];
};

static void on_conn_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Ends lc: CLOSED (err) told once, the handle closed and freed. */
static void conn_end(struct local_conn *lc, int err)
{
    bool tell = !lc->dead;

    lc->dead = true;
    if (!uv_is_closing((uv_handle_t *)&lc->tcp))
        uv_close((uv_handle_t *)&lc->tcp, on_conn_closed);
    if (tell && lc->cb)
        lc->cb(lc, LOCAL_EV_CLOSED, NULL, 0, err, lc->arg);
}

static void emit(struct local_conn *lc, enum local_ev ev, const uint8_t *p,
                 size_t n)
{
    if (!lc->dead && lc->cb)
        lc->cb(lc, ev, p, n, 0, lc->arg);
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *b)
{
    struct local_conn *lc = h->data;
    (void)want;
    *b = uv_buf_init((char *)lc->rbuf, sizeof(lc->rbuf));
}

static void read_update(struct local_conn *lc);

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct local_conn *lc = s->data;

    (void)b;
    if (n > 0) {
        emit(lc, LOCAL_EV_DATA, lc->rbuf, (size_t)n);
        return;
    }
    if (n == 0)
        return;
    if (n != UV_EOF) {
        conn_end(lc, FASTN_ERR_NET_RESET);
        return;
    }
    lc->eof = true;
    read_update(lc);
    emit(lc, LOCAL_EV_FIN, NULL, 0);
    if (lc->shut && !lc->dead)
        conn_end(lc, 0);
}

/* Reads while it is open, not paused and not at its end. */
static void read_update(struct local_conn *lc)
{
    bool want = !lc->dead && !lc->connecting && !lc->paused && !lc->eof;

    if (want == lc->reading || uv_is_closing((uv_handle_t *)&lc->tcp))
        return;
    if (want && uv_read_start((uv_stream_t *)&lc->tcp, on_alloc, on_read)) {
        conn_end(lc, FASTN_ERR_NET_RESET);
        return;
    }
    if (!want)
        uv_read_stop((uv_stream_t *)&lc->tcp);
    lc->reading = want;
}

static struct local_conn *conn_new(uv_loop_t *loop)
{
    struct local_conn *lc = calloc(1, sizeof(*lc));

    if (!lc)
        return NULL;
    if (uv_tcp_init(loop, &lc->tcp)) {
        free(lc);
        return NULL;
    }
    lc->tcp.data = lc;
    uv_tcp_nodelay(&lc->tcp, 1);
    return lc;
}

static void on_connect(uv_connect_t *req, int status)
{
    struct local_conn *lc = req->data;

    lc->connecting = false;
    if (lc->dead)
        return;
    if (status) {
        conn_end(lc, FASTN_ERR_NET_UNREACHABLE);
        return;
    }
    uv_tcp_nodelay(&lc->tcp, 1);
    emit(lc, LOCAL_EV_OPEN, NULL, 0);
    read_update(lc);
}

int local_conn_connect(uv_loop_t *loop, const char *addr, local_conn_cb cb,
                       void *arg, struct local_conn **out)
{
    struct sockaddr_storage ss;
    struct plugin_addr pa;
    struct local_conn *lc;
    int err = plugin_addr_parse(addr, &pa);

    if (err)
        return err;
    memset(&ss, 0, sizeof(ss));
    if (pa.family == 4) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(pa.port);
        memcpy(&in->sin_addr, pa.ip, 4);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(pa.port);
        memcpy(&in6->sin6_addr, pa.ip, 16);
    }
    if (!(lc = conn_new(loop)))
        return FASTN_ERR_NOMEM;
    lc->cb = cb;
    lc->arg = arg;
    lc->connecting = true;
    lc->connect.data = lc;
    plugin_addr_format(&pa, lc->peer);
    if (uv_tcp_connect(&lc->connect, &lc->tcp, (struct sockaddr *)&ss,
                       on_connect)) {
        lc->dead = true;
        uv_close((uv_handle_t *)&lc->tcp, on_conn_closed);
        return FASTN_ERR_NET_UNREACHABLE;
    }
    *out = lc;
    return 0;
}

void local_conn_start(struct local_conn *lc, local_conn_cb cb, void *arg)
{
    lc->cb = cb;
    lc->arg = arg;
    read_update(lc);
}

static void on_write(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct local_conn *lc = w->lc;

    lc->queued -= w->n;
    free(w);
    if (lc->dead)
        return;
    if (status) {
        conn_end(lc, FASTN_ERR_NET_RESET);
        return;
    }
    if (lc->want_writable && lc->queued < LOCAL_CONN_BUFFER / 2) {
        lc->want_writable = false;
        emit(lc, LOCAL_EV_WRITABLE, NULL, 0);
    }
}

int local_conn_write(struct local_conn *lc, const uint8_t *p, size_t n)
{
    size_t room = LOCAL_CONN_BUFFER - lc->queued, take = n < room ? n : room;
    struct write_req *w;
    uv_buf_t b;

    if (lc->dead || lc->shutting)
        return FASTN_ERR_CLOSED;
    if (take < n)
        lc->want_writable = true;
    if (take == 0)
        return 0;
    if (!(w = malloc(sizeof(*w) + take)))
        return FASTN_ERR_NOMEM;
    memcpy(w->data, p, take);
    w->lc = lc;
    w->n = take;
    b = uv_buf_init((char *)w->data, (unsigned)take);
    if (uv_write(&w->req, (uv_stream_t *)&lc->tcp, &b, 1, on_write)) {
        free(w);
        return FASTN_ERR_CLOSED;
    }
    lc->queued += take;
    return (int)take;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct local_conn *lc = req->data;

    lc->shut = true;
    if (lc->dead)
        return;
    if (status)
        conn_end(lc, FASTN_ERR_NET_RESET);
    else if (lc->eof)
        conn_end(lc, 0);
}

int local_conn_close(struct local_conn *lc)
{
    if (lc->dead || lc->shutting)
        return FASTN_ERR_CLOSED;
    lc->shutting = true;
    lc->shutdown.data = lc;
    if (uv_shutdown(&lc->shutdown, (uv_stream_t *)&lc->tcp, on_shutdown)) {
        lc->shut = true;
        return FASTN_ERR_CLOSED;
    }
    return 0;
}

void local_conn_reset(struct local_conn *lc)
{
    lc->dead = true;
    if (uv_is_closing((uv_handle_t *)&lc->tcp))
        return;
    /* an RST for an open connection, so the program sees the abort */
    if (lc->connecting || uv_tcp_close_reset(&lc->tcp, on_conn_closed))
        uv_close((uv_handle_t *)&lc->tcp, on_conn_closed);
}

void local_conn_pause(struct local_conn *lc, bool paused)
{
    lc->paused = paused;
    read_update(lc);
}

size_t local_conn_queued(const struct local_conn *lc)
{
    return lc->queued;
}

const char *local_conn_peer(const struct local_conn *lc)
{
    return lc->peer;
}

/* --- listeners ------------------------------------------------------------ */

struct listener {
    struct local_listeners *ll;
    struct listener *next;
    char plugin[PLUGIN_NAME_MAX + 1];
    unsigned index;
    uint16_t asked, port;
    uv_tcp_t *tcp[2]; /* 127.0.0.1, ::1 (NULL: none); each freed when closed */
    bool seen;
};

struct local_listeners {
    uv_loop_t *loop;
    local_accept_fn fn;
    void *arg;
    struct listener *list;
};

static void on_handle_free(uv_handle_t *h)
{
    free(h);
}

static void handle_close(uv_tcp_t **t)
{
    if (*t)
        uv_close((uv_handle_t *)*t, on_handle_free);
    *t = NULL;
}

static void listener_close(struct listener *l)
{
    handle_close(&l->tcp[0]);
    handle_close(&l->tcp[1]);
    free(l);
}

/* The address of an accepted connection, as plugin_addr_format writes. */
static void peer_text(uv_tcp_t *t, char *out)
{
    struct sockaddr_storage ss;
    struct plugin_addr a;
    int len = sizeof(ss);

    memset(&a, 0, sizeof(a));
    snprintf(out, PLUGIN_ADDR_MAX + 1, "?");
    if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len))
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        a.family = 4;
        a.port = ntohs(in->sin_port);
        memcpy(a.ip, &in->sin_addr, 4);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        a.family = 6;
        a.port = ntohs(in6->sin6_port);
        memcpy(a.ip, &in6->sin6_addr, 16);
    }
    plugin_addr_format(&a, out);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct listener *l = server->data;
    struct local_conn *lc;

    if (status)
        return;
    if (!(lc = conn_new(server->loop)))
        return;
    if (uv_accept(server, (uv_stream_t *)&lc->tcp)) {
        local_conn_reset(lc);
        return;
    }
    peer_text(&lc->tcp, lc->peer);
    l->ll->fn(l->ll->arg, l->plugin, l->index, lc);
}

/* Binds and listens on family slot i (0: 127.0.0.1, 1: ::1) at port;
 * returns a libuv error (the handle is closed then). */
static int bind_one(struct listener *l, int i, uint16_t port)
{
    struct sockaddr_storage ss;
    uv_tcp_t *t = malloc(sizeof(*t));
    int err;

    if (!t)
        return UV_ENOMEM;
    if (i == 0)
        uv_ip4_addr("127.0.0.1", port, (struct sockaddr_in *)&ss);
    else
        uv_ip6_addr("::1", port, (struct sockaddr_in6 *)&ss);
    if ((err = uv_tcp_init(l->ll->loop, t))) {
        free(t);
        return err;
    }
    t->data = l;
    err = uv_tcp_bind(t, (struct sockaddr *)&ss, i ? UV_TCP_IPV6ONLY : 0);
    if (!err)
        err = uv_listen((uv_stream_t *)t, LISTEN_BACKLOG, on_connection);
    if (err)
        handle_close(&t);
    l->tcp[i] = t;
    return err;
}

/* 127.0.0.1 at port (0: any), then ::1 at the same port. */
static int bind_both(struct listener *l, uint16_t port)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss), err = bind_one(l, 0, port);

    if (err)
        return err;
    l->port = port;
    if (uv_tcp_getsockname(l->tcp[0], (struct sockaddr *)&ss, &len) == 0)
        l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    err = bind_one(l, 1, l->port);
    if (err == UV_EADDRINUSE) {
        handle_close(&l->tcp[0]);
        return err;
    }
    if (err)
        log_msg(LOG_INFO, "plugin",
                "%s: no ::1 for its port %u (%s): 127.0.0.1 only", l->plugin,
                l->port, uv_strerror(err));
    return 0;
}

static struct listener *listener_open(struct local_listeners *ll,
                                      const struct plugin_listen_want *w)
{
    struct listener *l = calloc(1, sizeof(*l));
    int err, tries = 0;

    if (!l)
        return NULL;
    l->ll = ll;
    snprintf(l->plugin, sizeof(l->plugin), "%s", w->plugin);
    l->index = w->index;
    l->asked = w->port;
    err = bind_both(l, w->port);
    while (err == UV_EADDRINUSE && tries++ < PICK_TRIES)
        err = bind_both(l, 0);
    if (err) {
        log_msg(LOG_ERROR, "plugin",
                "%s: cannot listen on 127.0.0.1 port "
                "%u: %s",
                l->plugin, w->port, uv_strerror(err));
        listener_close(l);
        return NULL;
    }
    if (l->port != w->port)
        log_msg(LOG_WARN, "plugin",
                "%s: port %u is taken: listening on "
                "127.0.0.1:%u%s instead (fastn plugin info %s)",
                l->plugin, w->port, l->port, l->tcp[1] ? " and [::1]" : "",
                l->plugin);
    else
        log_msg(LOG_INFO, "plugin", "%s: listening on 127.0.0.1:%u%s",
                l->plugin, l->port, l->tcp[1] ? " and [::1]" : "");
    return l;
}

struct local_listeners *local_listeners_new(uv_loop_t *loop, local_accept_fn fn,
                                            void *arg)
{
    struct local_listeners *ll = calloc(1, sizeof(*ll));

    if (ll) {
        ll->loop = loop;
        ll->fn = fn;
        ll->arg = arg;
    }
    return ll;
}

static struct listener *listener_find(struct local_listeners *ll,
                                      const struct plugin_listen_want *w)
{
    for (struct listener *l = ll->list; l; l = l->next)
        if (!strcmp(l->plugin, w->plugin) && l->index == w->index &&
            l->asked == w->port)
            return l;
    return NULL;
}

void local_listeners_sync(struct local_listeners *ll, struct plugin_host *h)
{
    struct plugin_listen_want want[64];
    size_t n = plugin_host_listens(h, want, 64);
    struct listener *l, **pp;

    if (n > 64) {
        log_msg(LOG_WARN, "plugin", "%zu local ports asked: only 64 served", n);
        n = 64;
    }
    for (l = ll->list; l; l = l->next)
        l->seen = false;
    for (size_t i = 0; i < n; i++) {
        if (!(l = listener_find(ll, &want[i])) &&
            (l = listener_open(ll, &want[i]))) {
            l->next = ll->list;
            ll->list = l;
        }
        if (l)
            l->seen = true;
        plugin_host_listen_bound(h, want[i].plugin, want[i].index,
                                 l ? l->port : 0);
    }
    for (pp = &ll->list; (l = *pp);) {
        if (l->seen) {
            pp = &l->next;
            continue;
        }
        *pp = l->next;
        plugin_host_listen_bound(h, l->plugin, l->index, 0);
        log_msg(LOG_INFO, "plugin", "%s: no longer listening on port %u",
                l->plugin, l->port);
        listener_close(l);
    }
}

void local_listeners_free(struct local_listeners *ll)
{
    if (!ll)
        return;
    while (ll->list) {
        struct listener *l = ll->list;
        ll->list = l->next;
        listener_close(l);
    }
    free(ll);
}
