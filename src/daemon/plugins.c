/*
 * The daemon's glue for the plugin host (src/plugin): creates the host for
 * the daemon's identity with the daemon's state (notifications), loads the
 * installed plugins, and runs the host on the event loop: a uv_idle handle
 * while events are queued (one round of slices per loop iteration, so the
 * network and clients are served between slices), a uv_timer for the next
 * timer, call timeout or restart.
 *
 * Streams: the plugin host is the router's struct router_plugin_ops (the
 * router serves every protocol of an enabled plugin, and its policy asks
 * here whom a plugin serves before handing it a stream); a stream the
 * router hands over becomes a struct pstream, known to the host by an id
 * of ours, and its swarm events become host entry points.
 * A plugin's stream_open becomes swarm_stream_open. Data a plugin has not
 * taken yet is not acknowledged to the swarm (swarm_stream_consumed) while
 * the host has paused the stream, so yamux's window stops the peer.
 * Answers of plugins to calls go to the control server.
 *
 * Local apps: a loopback TCP connection (plugin_local.c) accepted at a
 * plugin's local-listen port, or opened by its local_connect, is a
 * pstream with a struct local_conn in place of the swarm stream, and
 * the same ops serve both; a paused one is simply not read.
 *
 * Replays: a stream the quarantine kept is handed over as a pstream with
 * no swarm stream (daemon_plugins_replay): on_stream, its chunks, its
 * close, all queued at once; the host says when its on_close returned
 * (replay_done: delivered) or that it ended otherwise (stream_reset: not
 * delivered, kept for another try).
 *
 * A stream for a plugin at its limit of streams waits (as a dialer's
 * open waits for the peer's multiplexer): its data is held, not
 * acknowledged (the yamux window stops the peer), and it is handed over,
 * in order of arrival, once the plugin has room; past PLUGIN_WAIT_MS, or
 * beyond PLUGIN_WAIT_MAX streams or PLUGIN_WAIT_BYTES held, it is reset
 * and the log says why.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/plugin_local.h"
#include "fastn/err.h"
#include "net/swarm.h"
#include "plugin/plugin.h"
#include "router/router.h"
#include "store/store.h"
#include "util/log.h"
#include "util/peer_id.h"

/* How long a plugin's outgoing stream may take to open (dial included). */
#define OPEN_TIMEOUT_MS 30000
/* Incoming streams waiting for room in their plugin (see the top). */
#define PLUGIN_WAIT_MS 30000
#define PLUGIN_WAIT_MAX 4096
#define PLUGIN_WAIT_BYTES (16u << 20)

struct pstream;

/* A plugin's long import, done on the offload thread (plugin.h, "Work
 * off the loop"). */
struct offload_job {
    struct offload_job *next;
    void (*work)(void *job);
    void (*done)(void *job);
    void *job;
};

/* One thread, started at the first job, does them in order; the async
 * handle brings each done() back to the loop. */
struct offloader {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    bool started, stop;
    struct offload_job *todo, **todo_tail, *done, **done_tail;
    uv_async_t async;
};

struct daemon_plugins {
    struct daemon *d;
    struct plugin_host *host;
    uv_idle_t idle;
    uv_timer_t timer;
    bool idle_on, handles;
    int closing; /* handles still closing */
    struct pstream *streams;
    uint64_t next_id;
    /* the streams with an id, by id (ids count up: id % size spreads
     * them), so that the host's calls find one in constant time */
    struct pstream **by_id;
    size_t by_id_size, n_ids;
    daemon_replay_fn replay_fn; /* the quarantine's, told of each replay */
    void *replay_arg;
    /* incoming streams waiting for room in their plugin, oldest first */
    struct pstream *waiting, **waiting_tail;
    size_t n_waiting, waiting_bytes;
    uv_timer_t wait_timer;
    struct local_listeners *listeners; /* local-listen ports */
    struct offloader off;
};

/* One plugin stream: the swarm's stream and the id the host knows. */
struct pstream {
    struct daemon_plugins *dp;
    struct swarm_stream *s;
    struct local_conn *lc; /* a loopback connection instead of s */
    uint64_t id;           /* the host's name for it (0 until open, outgoing) */
    uint64_t token;        /* outgoing: the host's token until OPEN */
    size_t unconsumed;
    bool paused;
    bool replay;  /* a kept stream handed over: no swarm stream */
    int64_t item; /* replay: the quarantine's item */
    struct pstream *next, **pprev;
    struct pstream *id_next; /* in dp->by_id[id % size] */
    /* waiting for room in its plugin: the data that came meanwhile */
    bool waiting, wait_fin;
    uint64_t wait_since; /* uv_now */
    struct buf held;
    struct pstream *wnext, **wpprev; /* dp->waiting */
};

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- running the host --------------------------------------------------- */

static void schedule(struct daemon_plugins *dp);
static void wait_retry(struct daemon_plugins *dp);

static void on_idle(uv_idle_t *h)
{
    struct daemon_plugins *dp = h->data;

    uv_update_time(h->loop);
    plugin_host_run(dp->host, wall_ms(), uv_now(h->loop), 1);
    if (dp->waiting)
        wait_retry(dp);
    schedule(dp);
}

static void on_timer(uv_timer_t *h)
{
    on_idle(&((struct daemon_plugins *)h->data)->idle);
}

/* Keeps the idle handle on while work is queued, else arms the timer for
 * the next thing due. */
static void schedule(struct daemon_plugins *dp)
{
    uint64_t now = uv_now(&dp->d->loop);
    uint64_t next = plugin_host_next_wake(dp->host);

    if (next <= now) {
        if (!dp->idle_on)
            uv_idle_start(&dp->idle, on_idle);
        dp->idle_on = true;
        return;
    }
    if (dp->idle_on)
        uv_idle_stop(&dp->idle);
    dp->idle_on = false;
    if (next == UINT64_MAX)
        uv_timer_stop(&dp->timer);
    else
        uv_timer_start(&dp->timer, on_timer, next - now, 0);
}

/* --- plugin streams ----------------------------------------------------- */

static struct pstream *pstream_new(struct daemon_plugins *dp,
                                   struct swarm_stream *s)
{
    struct pstream *ps = calloc(1, sizeof(*ps));
    if (!ps)
        return NULL;
    ps->dp = dp;
    ps->s = s;
    ps->next = dp->streams;
    ps->pprev = &dp->streams;
    if (dp->streams)
        dp->streams->pprev = &ps->next;
    dp->streams = ps;
    return ps;
}

/* Takes ps out of the id table (if it has an id). */
static void id_unlink(struct pstream *ps)
{
    struct daemon_plugins *dp = ps->dp;
    struct pstream **pp;

    if (!ps->id || !dp->by_id_size)
        return;
    for (pp = &dp->by_id[ps->id % dp->by_id_size]; *pp; pp = &(*pp)->id_next)
        if (*pp == ps) {
            *pp = ps->id_next;
            dp->n_ids--;
            return;
        }
}

/* Doubles the id table when it holds as many streams as it has slots
 * (built again from the list of streams: out of memory, it stays as it
 * was, with longer chains, or none, and the list is searched). */
static void id_grow(struct daemon_plugins *dp)
{
    size_t size = dp->by_id_size ? dp->by_id_size * 2 : 64;
    struct pstream **v;

    if (dp->n_ids < dp->by_id_size || !(v = calloc(size, sizeof(*v))))
        return;
    dp->n_ids = 0;
    for (struct pstream *ps = dp->streams; ps; ps = ps->next) {
        if (!ps->id)
            continue;
        ps->id_next = v[ps->id % size];
        v[ps->id % size] = ps;
        dp->n_ids++;
    }
    free(dp->by_id);
    dp->by_id = v;
    dp->by_id_size = size;
}

/* Gives ps a new id (the host's name for the stream). */
static void pstream_set_id(struct pstream *ps)
{
    struct daemon_plugins *dp = ps->dp;

    id_unlink(ps);
    ps->id = 0;
    id_grow(dp);
    ps->id = ++dp->next_id;
    if (!dp->by_id_size)
        return; /* no table: found by the list */
    ps->id_next = dp->by_id[ps->id % dp->by_id_size];
    dp->by_id[ps->id % dp->by_id_size] = ps;
    dp->n_ids++;
}

static void wait_unlink(struct pstream *ps)
{
    struct daemon_plugins *dp = ps->dp;

    if (!ps->waiting)
        return;
    ps->waiting = false;
    *ps->wpprev = ps->wnext;
    if (ps->wnext)
        ps->wnext->wpprev = ps->wpprev;
    else
        dp->waiting_tail = ps->wpprev;
    dp->n_waiting--;
    dp->waiting_bytes -= ps->held.len;
    if (!dp->waiting)
        uv_timer_stop(&dp->wait_timer);
}

static void pstream_free(struct pstream *ps)
{
    wait_unlink(ps);
    buf_cleanup(&ps->held);
    id_unlink(ps);
    *ps->pprev = ps->next;
    if (ps->next)
        ps->next->pprev = ps->pprev;
    free(ps);
}

static struct pstream *pstream_find(struct daemon_plugins *dp, uint64_t id)
{
    if (!id)
        return NULL;
    for (struct pstream *ps = dp->by_id_size ? dp->by_id[id % dp->by_id_size]
                                             : dp->streams;
         ps; ps = dp->by_id_size ? ps->id_next : ps->next)
        if (ps->id == id)
            return ps;
    return NULL;
}

/* Aborts ps's stream or connection (the pstream stays). */
static void ps_reset(struct pstream *ps)
{
    if (ps->lc)
        local_conn_reset(ps->lc);
    else if (ps->s)
        swarm_stream_reset(ps->s);
    ps->lc = NULL;
    ps->s = NULL;
}

static void data_event(struct pstream *ps, const uint8_t *p, size_t n)
{
    if (plugin_host_stream_data(ps->dp->host, ps->id, p, n) != 0) {
        ps_reset(ps); /* no longer a plugin's */
        pstream_free(ps);
        return;
    }
    if (ps->lc)
        return; /* a paused connection is not read: nothing to count */
    if (ps->paused)
        ps->unconsumed += n;
    else
        swarm_stream_consumed(ps->s, n);
}

/* An outgoing stream's OPEN or early CLOSED: the host's answer. */
static void open_event(struct pstream *ps, int err)
{
    struct daemon_plugins *dp = ps->dp;

    if (!err)
        pstream_set_id(ps);
    if (plugin_host_stream_opened(dp->host, ps->token, err ? 0 : ps->id, err) !=
            0 &&
        !err) {
        ps_reset(ps); /* the plugin let go of it meanwhile */
        pstream_free(ps);
        return;
    }
    ps->token = 0;
    if (err)
        pstream_free(ps);
}

/* --- incoming streams waiting for room in their plugin ------------------ */

static void wait_fail(struct pstream *ps, const char *why)
{
    char peer[PEER_ID_STR_MAX];

    LOG_RATELIMITED(LOG_WARN, "plugin", "stream from %s for %s reset: %s",
                    peer_id_format(swarm_stream_peer(ps->s), peer),
                    swarm_stream_protocol(ps->s), why);
    swarm_stream_reset(ps->s);
    pstream_free(ps);
}

static void on_wait_timer(uv_timer_t *t)
{
    wait_retry(t->data);
}

/* The router's stream for a plugin at its limit of streams waits. */
static int wait_start(struct pstream *ps)
{
    struct daemon_plugins *dp = ps->dp;

    char peer[PEER_ID_STR_MAX];

    if (dp->n_waiting >= PLUGIN_WAIT_MAX)
        return FASTN_ERR_PLUGIN_LIMIT;
    LOG_RATELIMITED(LOG_INFO, "plugin",
                    "stream from %s for %s waits: its plugin is at its "
                    "limit of streams or of memory",
                    peer_id_format(swarm_stream_peer(ps->s), peer),
                    swarm_stream_protocol(ps->s));
    buf_init(&ps->held, PLUGIN_WAIT_BYTES);
    ps->waiting = true;
    ps->wait_since = uv_now(&dp->d->loop);
    ps->wnext = NULL;
    ps->wpprev = dp->waiting ? dp->waiting_tail : &dp->waiting;
    *ps->wpprev = ps;
    dp->waiting_tail = &ps->wnext;
    if (dp->n_waiting++ == 0)
        uv_timer_start(&dp->wait_timer, on_wait_timer, 1000, 1000);
    return 0;
}

static void wait_event(struct pstream *ps, const struct swarm_stream_event *ev)
{
    struct daemon_plugins *dp = ps->dp;

    switch (ev->type) {
    case SWARM_STREAM_DATA: /* held, not consumed: the window stops it */
        if (dp->waiting_bytes + ev->len > PLUGIN_WAIT_BYTES ||
            buf_append(&ps->held, ev->data, ev->len) != 0) {
            wait_fail(ps, "its plugin is at its limit of streams and the "
                          "data of those that wait is at its limit");
            return;
        }
        dp->waiting_bytes += ev->len;
        return;
    case SWARM_STREAM_FIN:
        ps->wait_fin = true;
        return;
    case SWARM_STREAM_CLOSED:
        pstream_free(ps);
        return;
    default:
        return;
    }
}

/* Hands a waiting stream to its plugin; -1 while the plugin has no room,
 * 0 when handed over (or ended). */
static int wait_hand_over(struct pstream *ps, uint64_t now)
{
    struct daemon_plugins *dp = ps->dp;
    char peer[PEER_ID_STR_MAX], why[128];
    struct buf held;
    uint64_t id;
    int err;

    err = plugin_host_stream_incoming(
        dp->host, ps->id, peer_id_format(swarm_stream_peer(ps->s), peer),
        swarm_stream_protocol(ps->s));
    if (err == FASTN_ERR_PLUGIN_LIMIT && now - ps->wait_since < PLUGIN_WAIT_MS)
        return -1;
    if (err) {
        snprintf(why, sizeof(why), "%s%s", fastn_strerror(err),
                 err == FASTN_ERR_PLUGIN_LIMIT ? " (for 30 s: streams)" : "");
        wait_fail(ps, why);
        return 0;
    }
    wait_unlink(ps);
    held = ps->held;
    buf_init(&ps->held, 0);
    id = ps->id;
    if (held.len)
        data_event(ps, held.data, held.len); /* may end ps */
    buf_cleanup(&held);
    if ((ps = pstream_find(dp, id)) && ps->wait_fin)
        plugin_host_stream_closed(dp->host, ps->id, 0);
    return 0;
}

/* Hands over what waits, oldest first, while plugins have room. */
static void wait_retry(struct daemon_plugins *dp)
{
    uint64_t now = uv_now(&dp->d->loop);
    struct pstream *ps = dp->waiting, *next;

    for (; ps && dp->host; ps = next) {
        next = ps->wnext;
        wait_hand_over(ps, now);
    }
}

static void stream_cb(struct swarm_stream *s,
                      const struct swarm_stream_event *ev, void *arg)
{
    struct pstream *ps = arg;
    struct plugin_host *h = ps->dp->host;

    (void)s;
    if (ps->waiting) {
        wait_event(ps, ev);
        return;
    }
    if (ps->token) { /* still opening */
        if (ev->type == SWARM_STREAM_OPEN)
            open_event(ps, 0);
        else if (ev->type == SWARM_STREAM_CLOSED)
            open_event(ps, ev->err ? ev->err : FASTN_ERR_NET_RESET);
        return;
    }
    switch (ev->type) {
    case SWARM_STREAM_DATA:
        data_event(ps, ev->data, ev->len);
        return;
    case SWARM_STREAM_FIN:
        plugin_host_stream_closed(h, ps->id, 0);
        return;
    case SWARM_STREAM_WRITABLE:
        plugin_host_stream_writable(h, ps->id);
        return;
    case SWARM_STREAM_CLOSED:
        /* 0: both sides finished, which the host knows already */
        if (ev->err)
            plugin_host_stream_closed(h, ps->id, ev->err);
        pstream_free(ps);
        return;
    default:
        return;
    }
}

/* A loopback connection's events, as stream_cb's. */
static void local_cb(struct local_conn *lc, enum local_ev ev, const uint8_t *p,
                     size_t n, int err, void *arg)
{
    struct pstream *ps = arg;
    struct plugin_host *h = ps->dp->host;

    (void)lc;
    if (ev == LOCAL_EV_CLOSED)
        ps->lc = NULL; /* freed after this */
    if (ps->token) {   /* still connecting */
        if (ev == LOCAL_EV_OPEN)
            open_event(ps, 0);
        else if (ev == LOCAL_EV_CLOSED)
            open_event(ps, err ? err : FASTN_ERR_NET_UNREACHABLE);
        return;
    }
    switch (ev) {
    case LOCAL_EV_DATA:
        data_event(ps, p, n);
        return;
    case LOCAL_EV_FIN:
        plugin_host_stream_closed(h, ps->id, 0);
        return;
    case LOCAL_EV_WRITABLE:
        plugin_host_stream_writable(h, ps->id);
        return;
    case LOCAL_EV_CLOSED:
        if (err)
            plugin_host_stream_closed(h, ps->id, err);
        pstream_free(ps);
        return;
    default:
        return;
    }
}

/* A local program connected to a plugin's port. */
static void on_local_accept(void *arg, const char *plugin, unsigned index,
                            struct local_conn *lc)
{
    struct daemon_plugins *dp = arg;
    struct pstream *ps;
    int err = FASTN_ERR_NOMEM;

    if (dp->host && (ps = pstream_new(dp, NULL))) {
        ps->lc = lc;
        pstream_set_id(ps);
        err = plugin_host_local_incoming(dp->host, ps->id, plugin, index,
                                         local_conn_peer(lc));
        if (!err) {
            local_conn_start(lc, local_cb, ps);
            return;
        }
        ps->lc = NULL;
        pstream_free(ps);
    }
    LOG_RATELIMITED(LOG_INFO, "plugin",
                    "%s: local connection from %s refused: %s", plugin,
                    local_conn_peer(lc), fastn_strerror(err));
    local_conn_reset(lc);
}

/* --- the router's plugin ops ---------------------------------------- */

static enum router_serves serves_of(enum plugin_serves w)
{
    switch (w) {
    case PLUGIN_SERVES_ANYONE:
        return ROUTER_SERVES_ANYONE;
    case PLUGIN_SERVES_KNOWN_PEERS:
        return ROUTER_SERVES_KNOWN;
    default:
        return ROUTER_SERVES_NOBODY;
    }
}

/* A narrowing as the router counts it (-1: none). */
static int narrowing_of(int w)
{
    return w < 0 ? -1 : (int)serves_of((enum plugin_serves)w);
}

/* Whom the plugin serving protocol serves: the policy decides from it. */
static int on_router_lookup(void *arg, const char *protocol,
                            struct router_plugin_facts *out)
{
    struct daemon_plugins *dp = arg;
    struct plugin_serving sv;

    if (!dp->host || plugin_host_serving(dp->host, protocol, &sv) != 0)
        return FASTN_ERR_NOT_FOUND;
    out->name = sv.name;
    out->manifest = serves_of(sv.manifest);
    out->narrowed = narrowing_of(sv.narrowed);
    out->protocol_narrowed = narrowing_of(sv.protocol_narrowed);
    return 0;
}

/* The router hands over a stream its policy gave to a plugin. */
static int on_router_take(void *arg, struct swarm_stream *s)
{
    struct daemon_plugins *dp = arg;
    char peer[PEER_ID_STR_MAX];
    struct pstream *ps;
    int err;

    peer_id_format(swarm_stream_peer(s), peer);
    if (!(ps = pstream_new(dp, s)))
        return FASTN_ERR_NOMEM;
    pstream_set_id(ps);
    err = plugin_host_stream_incoming(dp->host, ps->id, peer,
                                      swarm_stream_protocol(s));
    if (err == FASTN_ERR_PLUGIN_LIMIT)
        err = wait_start(ps);
    if (err) {
        LOG_RATELIMITED(LOG_INFO, "plugin",
                        "stream from %s for %s refused: "
                        "%s",
                        peer, swarm_stream_protocol(s), fastn_strerror(err));
        pstream_free(ps);
        return err;
    }
    swarm_stream_set_cb(s, stream_cb, ps);
    return 0;
}

static size_t on_router_protocols(void *arg, const char **names, size_t max)
{
    struct daemon_plugins *dp = arg;
    return dp->host ? plugin_host_protocols(dp->host, names, max) : 0;
}

static const struct router_plugin_ops router_ops = {
    .lookup = on_router_lookup,
    .take = on_router_take,
    .protocols = on_router_protocols,
};

/* --- ops ---------------------------------------------------------------- */

static int op_stream_open(void *arg, const char *peer, const char *protocol,
                          uint64_t token)
{
    struct daemon_plugins *dp = arg;
    struct peer_id pid;
    struct pstream *ps;
    int err = 0;

    if (!dp->d->swarm)
        return FASTN_ERR_NET_UNREACHABLE;
    if (peer_id_parse(peer, &pid) != 0)
        return FASTN_ERR_BAD_PEER_ID;
    if (!(ps = pstream_new(dp, NULL)))
        return FASTN_ERR_NOMEM;
    ps->token = token;
    ps->s = swarm_stream_open(dp->d->swarm, &pid, &protocol, 1, OPEN_TIMEOUT_MS,
                              stream_cb, ps, &err);
    if (!ps->s) {
        pstream_free(ps);
        return err ? err : FASTN_ERR_NET_UNREACHABLE;
    }
    return 0;
}

static int op_stream_write(void *arg, uint64_t stream, const uint8_t *p,
                           size_t n)
{
    struct pstream *ps = pstream_find(arg, stream);
    if (ps && ps->replay)
        return FASTN_ERR_PLUGIN_REPLAYED;
    if (ps && ps->lc)
        return local_conn_write(ps->lc, p, n);
    return ps && ps->s ? swarm_stream_write(ps->s, p, n) : FASTN_ERR_CLOSED;
}

static int op_stream_close(void *arg, uint64_t stream)
{
    struct pstream *ps = pstream_find(arg, stream);
    if (ps && ps->replay)
        return 0; /* nobody on the other end */
    if (ps && ps->lc)
        return local_conn_close(ps->lc);
    return ps && ps->s ? swarm_stream_close(ps->s) : FASTN_ERR_CLOSED;
}

/* A replay is over: delivered (its on_close returned) or not. */
static void replay_over(struct pstream *ps, bool delivered)
{
    struct daemon_plugins *dp = ps->dp;
    int64_t item = ps->item;

    pstream_free(ps);
    if (dp->replay_fn)
        dp->replay_fn(dp->replay_arg, item, delivered);
}

static int op_stream_reset(void *arg, uint64_t stream)
{
    struct pstream *ps = pstream_find(arg, stream);
    if (!ps)
        return FASTN_ERR_CLOSED;
    if (ps->replay) {
        replay_over(ps, false);
        return 0;
    }
    ps_reset(ps);
    pstream_free(ps);
    return 0;
}

static void op_replay_done(void *arg, uint64_t stream)
{
    struct pstream *ps = pstream_find(arg, stream);
    if (ps && ps->replay)
        replay_over(ps, true);
}

static void op_stream_pause(void *arg, uint64_t stream, bool paused)
{
    struct pstream *ps = pstream_find(arg, stream);
    if (!ps || ps->replay)
        return;
    ps->paused = paused;
    if (ps->lc) {
        local_conn_pause(ps->lc, paused);
        return;
    }
    if (!paused && ps->unconsumed) {
        swarm_stream_consumed(ps->s, ps->unconsumed);
        ps->unconsumed = 0;
    }
}

static size_t op_stream_queued(void *arg, uint64_t stream)
{
    struct pstream *ps = pstream_find(arg, stream);
    if (ps && ps->lc)
        return local_conn_queued(ps->lc);
    return ps && ps->s ? swarm_stream_queued(ps->s) : 0;
}

static void op_call_reply(void *arg, uint64_t call, int status,
                          const uint8_t *p, size_t n)
{
    struct daemon_plugins *dp = arg;
    ipc_plugin_call_done(&dp->d->host, call, status, p, n);
}

static void op_call_reply_v(void *arg, uint64_t call, int status,
                            const struct iovec *v, size_t n)
{
    struct daemon_plugins *dp = arg;
    ipc_plugin_call_done_v(&dp->d->host, call, status, v, n);
}
_Static_assert(PLUGIN_CALL_REPLY_PIECES <= IPC_RESULT_PIECES,
               "a plugin's pieces fit a control answer");

static void op_wake(void *arg)
{
    struct daemon_plugins *dp = arg;
    if (dp->handles && !dp->idle_on) {
        uv_idle_start(&dp->idle, on_idle);
        dp->idle_on = true;
    }
}

/* The router serves exactly the protocols of the enabled plugins. */
static void op_protocols_changed(void *arg)
{
    struct daemon_plugins *dp = arg;

    if (dp->d->router && dp->host)
        router_plugins_changed(dp->d->router);
    if (dp->listeners && dp->host)
        local_listeners_sync(dp->listeners, dp->host);
}

/* A plugin's local_connect (the host checked addr against its manifest). */
static int op_local_connect(void *arg, const char *addr, uint64_t token)
{
    struct daemon_plugins *dp = arg;
    struct pstream *ps = pstream_new(dp, NULL);
    int err;

    if (!ps)
        return FASTN_ERR_NOMEM;
    ps->token = token;
    err = local_conn_connect(&dp->d->loop, addr, local_cb, ps, &ps->lc);
    if (err)
        pstream_free(ps);
    return err;
}

/* --- work off the loop (ops.offload) ------------------------------------ */

static void *offload_main(void *arg)
{
    struct offloader *o = arg;

    pthread_mutex_lock(&o->mu);
    for (;;) {
        while (!o->todo && !o->stop)
            pthread_cond_wait(&o->cv, &o->mu);
        if (o->stop) /* what is left gets done() alone (offload_stop) */
            break;
        struct offload_job *j = o->todo;
        if (!(o->todo = j->next))
            o->todo_tail = &o->todo;
        pthread_mutex_unlock(&o->mu);
        j->work(j->job);
        pthread_mutex_lock(&o->mu);
        j->next = NULL;
        *o->done_tail = j;
        o->done_tail = &j->next;
        uv_async_send(&o->async);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

/* On the loop: done() of every job the thread finished (and, at stop, of
 * those it never started). */
static void offload_deliver(struct offloader *o, bool all)
{
    pthread_mutex_lock(&o->mu);
    if (all) { /* the ones never started, after the done ones */
        *o->done_tail = o->todo;
        o->todo = NULL;
        o->todo_tail = &o->todo;
    }
    struct offload_job *list = o->done;
    o->done = NULL;
    o->done_tail = &o->done;
    pthread_mutex_unlock(&o->mu);
    while (list) {
        struct offload_job *j = list;
        list = j->next;
        j->done(j->job);
        free(j);
    }
}

static void on_offload_async(uv_async_t *a)
{
    struct daemon_plugins *dp = a->data;
    offload_deliver(&dp->off, false);
}

static int op_offload(void *arg, void (*work)(void *), void (*done)(void *),
                      void *job)
{
    struct daemon_plugins *dp = arg;
    struct offloader *o = &dp->off;
    struct offload_job *j;

    if (!dp->handles)
        return FASTN_ERR_UNSUPPORTED;
    if (!o->started) {
        sigset_t all, old;
        sigfillset(&all); /* signals stay the loop's */
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int e = pthread_create(&o->th, NULL, offload_main, o);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (e) {
            LOG_RATELIMITED(LOG_WARN, "plugin",
                            "cannot start the thread for plugins' hashes "
                            "(%s): they are done on the loop",
                            strerror(e));
            return FASTN_ERR_NOMEM;
        }
        o->started = true;
    }
    if (!(j = calloc(1, sizeof(*j))))
        return FASTN_ERR_NOMEM;
    j->work = work;
    j->done = done;
    j->job = job;
    pthread_mutex_lock(&o->mu);
    *o->todo_tail = j;
    o->todo_tail = &j->next;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
    return 0;
}

static void offload_init(struct offloader *o)
{
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    o->todo_tail = &o->todo;
    o->done_tail = &o->done;
}

/* After the host is gone: the thread joined, every job's done() run. */
static void offload_stop(struct offloader *o)
{
    if (o->started) {
        pthread_mutex_lock(&o->mu);
        o->stop = true;
        pthread_cond_signal(&o->cv);
        pthread_mutex_unlock(&o->mu);
        pthread_join(o->th, NULL);
        o->started = false;
    }
    offload_deliver(o, true);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
}

static const struct plugin_host_ops ops = {
    .stream_open = op_stream_open,
    .stream_write = op_stream_write,
    .stream_close = op_stream_close,
    .stream_reset = op_stream_reset,
    .stream_pause = op_stream_pause,
    .stream_queued = op_stream_queued,
    .call_reply = op_call_reply,
    .call_reply_v = op_call_reply_v,
    .wake = op_wake,
    .protocols_changed = op_protocols_changed,
    .replay_done = op_replay_done,
    .local_connect = op_local_connect,
    .offload = op_offload,
};

/* --- replays ------------------------------------------------------------ */

void daemon_plugins_set_replay(struct daemon *d, daemon_replay_fn fn, void *arg)
{
    if (d->plugins) {
        d->plugins->replay_fn = fn;
        d->plugins->replay_arg = arg;
    }
}

static int replay_chunk(const uint8_t *p, size_t n, void *arg)
{
    struct pstream *ps = arg;
    return n ? plugin_host_stream_data(ps->dp->host, ps->id, p, n) : 0;
}

int daemon_plugins_replay(struct daemon *d, int64_t item, const char *peer,
                          const char *protocol, unsigned flags)
{
    struct daemon_plugins *dp = d->plugins;
    struct pstream *ps;
    int err;

    if (!dp || !dp->host || !d->store)
        return FASTN_ERR_UNSUPPORTED;
    if (!(ps = pstream_new(dp, NULL)))
        return FASTN_ERR_NOMEM;
    ps->replay = true;
    ps->item = item;
    pstream_set_id(ps);
    err = plugin_host_stream_replay(dp->host, ps->id, peer, protocol, flags);
    if (err) {
        pstream_free(ps);
        return err;
    }
    /* on_stream, every chunk and the close are queued now: the host runs
     * them later, in order */
    err = store_quarantine_read(d->store, item, replay_chunk, ps);
    if (!err)
        err = plugin_host_stream_closed(dp->host, ps->id, 0);
    if (err) { /* the host forgets it: on_close(< 0), no more calls */
        plugin_host_stream_closed(dp->host, ps->id, FASTN_ERR_NET_RESET);
        pstream_free(ps);
    }
    return err;
}

/* --- start and stop ----------------------------------------------------- */

/* The plugin limits the config sets (0: the host's defaults). */
static struct plugin_host_limits config_limits(const struct daemon_config *c)
{
    return (struct plugin_host_limits){
        .slice_ms = c->plugin_slice_ms,
        .cpu_percent = c->plugin_cpu_percent,
        .cpu_window_ms = c->plugin_cpu_window * 1000,
        .memory = (uint64_t)c->plugin_memory_mib << 20,
    };
}

void daemon_plugins_local_config(struct daemon *d)
{
    struct daemon_plugins *dp = d->plugins;

    if (!dp || !dp->host)
        return;
    plugin_host_set_local(dp->host, d->config.plugin_local,
                          d->config.n_plugin_local);
    if (dp->listeners)
        local_listeners_sync(dp->listeners, dp->host);
}

void daemon_plugins_reload(struct daemon *d)
{
    struct plugin_host_limits lim = config_limits(&d->config);

    if (d->plugins && d->plugins->host &&
        plugin_host_set_limits(d->plugins->host, &lim) != 0)
        log_msg(LOG_ERROR, "plugin", "SIGHUP: plugin limits out of range");
    daemon_plugins_local_config(d);
}

int daemon_plugins_start(struct daemon *d, char *err, size_t errlen)
{
    struct daemon_plugins *dp = calloc(1, sizeof(*dp));
    struct plugin_host_config cfg;
    char pid[PEER_ID_STR_MAX];
    int rc;

    if (!dp)
        return FASTN_ERR_NOMEM;
    dp->d = d;
    d->plugins = dp;
    memset(&cfg, 0, sizeof(cfg));
    cfg.home = d->home;
    cfg.local_peer_id = peer_id_format(&d->identity.id, pid);
    cfg.state = d->store;
    cfg.ops = &ops;
    cfg.ops_arg = dp;
    cfg.limits = config_limits(&d->config);
    rc = plugin_host_new(&cfg, &dp->host);
    if (rc) {
        snprintf(err, errlen, "cannot set up plugins in %s: %s", d->home,
                 fastn_strerror(rc));
        return rc;
    }
    uv_idle_init(&d->loop, &dp->idle);
    uv_timer_init(&d->loop, &dp->timer);
    uv_timer_init(&d->loop, &dp->wait_timer);
    offload_init(&dp->off);
    uv_async_init(&d->loop, &dp->off.async, on_offload_async);
    dp->idle.data = dp->timer.data = dp->wait_timer.data = dp;
    dp->off.async.data = dp;
    dp->handles = true;
    d->host.plugins = dp->host;
    d->host.state = d->store;
    if (d->router)
        router_set_plugins(d->router, &router_ops, dp);
    daemon_plugins_local_config(d); /* plugin-storage-mib: before they open */
    plugin_host_load_all(dp->host);
    dp->listeners = local_listeners_new(&d->loop, on_local_accept, dp);
    if (dp->listeners)
        local_listeners_sync(dp->listeners, dp->host);
    schedule(dp);
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct daemon_plugins *dp = h->data;
    if (--dp->closing == 0)
        free(dp);
}

void daemon_plugins_stop(struct daemon *d)
{
    struct daemon_plugins *dp = d->plugins;

    if (!dp)
        return;
    d->plugins = NULL;
    d->host.plugins = NULL;
    d->host.state = NULL;
    if (d->router)
        router_set_plugins(d->router, NULL, NULL);
    local_listeners_free(dp->listeners);
    dp->listeners = NULL;
    /* on_stop of every plugin; calls still waiting are answered, streams
     * reset (through the ops, while the swarm still runs) */
    plugin_host_free(dp->host);
    dp->host = NULL;
    if (dp->handles) /* the host's jobs, each freed by its done() */
        offload_stop(&dp->off);
    while (dp->streams) {
        ps_reset(dp->streams);
        pstream_free(dp->streams);
    }
    free(dp->by_id);
    dp->by_id = NULL;
    dp->by_id_size = dp->n_ids = 0;
    if (!dp->handles) {
        free(dp);
        return;
    }
    dp->closing = 4;
    uv_close((uv_handle_t *)&dp->off.async, on_handle_closed);
    uv_close((uv_handle_t *)&dp->wait_timer, on_handle_closed);
    uv_close((uv_handle_t *)&dp->timer, on_handle_closed);
    uv_close((uv_handle_t *)&dp->idle, on_handle_closed);
}
