/*
 * The plugin host's tables of streams and calls, and the entry points the
 * router and the control server call (plugin.h). Entry points only update
 * tables and queue events; plugin code runs in plugin_host_run().
 *
 * A stream is known to the router by its id and to the plugin by its
 * handle; an outgoing one is known by a token until the router has opened
 * it. Backpressure: a stream whose queued on_data bytes pass
 * PLUGIN_STREAM_BUFFER is paused (the router stops reading it, and yamux's
 * window stops the peer) until the plugin has taken half of them.
 *
 * Input flow control: an on_data that returns FASTN_ERR_AGAIN is held on
 * its stream (s->held), with every later on_data/on_close of that stream
 * behind it, and the stream stays paused while anything is held. The held
 * events go back to the head of the instance's queue when the stream's
 * send queue has room again (plugin_host_stream_writable), or, for a
 * stream whose send queue was not full, after the instance's next other
 * event (host_release_held): each redelivery follows some progress, so a
 * plugin that refuses forever costs no work, only a paused stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "plugin/host_int.h"
#include "util/log.h"
#include "util/mem.h"

/* --- streams ------------------------------------------------------------ */

struct host_stream *host_stream_by_handle(struct host_instance *in,
                                          int32_t handle)
{
    for (unsigned i = 0; handle > 0 && i < in->n_streams; i++)
        if (in->streams[i].handle == handle)
            return &in->streams[i];
    return NULL;
}

static int32_t next_handle(int32_t *counter)
{
    int32_t h = *counter;
    *counter = h == INT32_MAX ? 1 : h + 1;
    return h;
}

struct host_stream *host_stream_add(struct host_instance *in)
{
    struct host_stream *s;

    if (in->n_streams == in->cap_streams) {
        unsigned cap = in->cap_streams ? in->cap_streams * 2 : 8;
        void *v = realloc(in->streams, cap * sizeof(*in->streams));
        if (!v)
            return NULL;
        in->streams = v;
        in->cap_streams = cap;
    }
    s = &in->streams[in->n_streams++];
    memset(s, 0, sizeof(*s));
    s->handle = next_handle(&in->next_stream);
    buf_init(&s->pending, PLUGIN_STREAM_BUFFER);
    return s;
}

void host_stream_free(struct host_instance *in, struct host_stream *s)
{
    while (s->held) {
        struct host_event *ev = s->held;
        s->held = ev->next;
        in->held_bytes -= host_event_bytes(ev);
        free(ev);
    }
    buf_cleanup(&s->pending);
    *s = in->streams[--in->n_streams];
}

/* The stream with router id `id`, and its instance. */
static struct host_stream *find_stream(struct plugin_host *h, uint64_t id,
                                       struct host_instance **in_out)
{
    for (struct host_plugin *p = h->plugins; id && p; p = p->next) {
        struct host_instance *in = p->inst;
        for (unsigned i = 0; in && i < in->n_streams; i++)
            if (in->streams[i].id == id) {
                *in_out = in;
                return &in->streams[i];
            }
    }
    return NULL;
}

static struct host_stream *find_token(struct plugin_host *h, uint64_t token,
                                      struct host_instance **in_out)
{
    for (struct host_plugin *p = h->plugins; p; p = p->next) {
        struct host_instance *in = p->inst;
        for (unsigned i = 0; in && i < in->n_streams; i++)
            if (in->streams[i].opening && in->streams[i].token == token) {
                *in_out = in;
                return &in->streams[i];
            }
    }
    return NULL;
}

void host_stream_flush_pending(struct host_instance *in, struct host_stream *s)
{
    struct plugin_host *h = in->p->h;
    int n;

    if (!s->id || s->gone || s->pending.len == 0)
        return;
    n = h->ops->stream_write(h->ops_arg, s->id, s->pending.data,
                             s->pending.len);
    if (n > 0)
        buf_consume(&s->pending, (size_t)n);
}

/* Resumes a paused stream once the plugin has taken half its backlog,
 * holds none of its data and has memory for another chunk. */
static void maybe_resume(struct host_instance *in, struct host_stream *s)
{
    struct plugin_host *h = in->p->h;

    if (s->paused && s->id && !s->gone && !s->held &&
        s->queued_in < PLUGIN_STREAM_BUFFER / 2 &&
        host_memory_admits(in, PLUGIN_DATA_CHUNK_MAX)) {
        s->paused = false;
        if (h->ops->stream_pause)
            h->ops->stream_pause(h->ops_arg, s->id, false);
    }
}

void host_stream_drained(struct host_instance *in, struct host_stream *s,
                         size_t n)
{
    s->queued_in -= n < s->queued_in ? n : s->queued_in;
    maybe_resume(in, s);
}

/* A stream paused for memory whose backlog the plugin took while memory
 * was still short has no data left to drain, so nothing above would
 * resume it: after each slice, streams are resumed whose reason to wait
 * has gone (memory freed by the plugin, SQLite or the host). */
void host_streams_resume(struct host_instance *in)
{
    for (unsigned i = 0; i < in->n_streams; i++)
        maybe_resume(in, &in->streams[i]);
}

void host_stream_hold(struct host_instance *in, struct host_stream *s,
                      struct host_event *ev, bool front)
{
    struct plugin_host *h = in->p->h;

    in->held_bytes += host_event_bytes(ev);
    if (front) {
        ev->next = s->held;
        s->held = ev;
        if (!s->held_tail)
            s->held_tail = ev;
    } else {
        ev->next = NULL;
        if (s->held_tail)
            s->held_tail->next = ev;
        else
            s->held = ev;
        s->held_tail = ev;
    }
    if (!s->paused && s->id && !s->gone && h->ops->stream_pause) {
        s->paused = true;
        h->ops->stream_pause(h->ops_arg, s->id, true);
    }
}

void host_stream_release(struct host_instance *in, struct host_stream *s)
{
    struct host_event *first = s->held, *last = s->held_tail;

    if (!first)
        return;
    s->held = s->held_tail = NULL;
    for (struct host_event *ev = first; ev; ev = ev->next) {
        in->n_events++;
        in->queued_bytes += ev->len1 + ev->len2;
        in->held_bytes -= host_event_bytes(ev);
    }
    last->next = in->head;
    in->head = first;
    if (!in->tail)
        in->tail = last;
    host_wake(in->p->h);
}

bool host_stream_has_room(const struct host_stream *s)
{
    return !s->want_writable && !s->opening && s->pending.len == 0;
}

void host_release_held(struct host_instance *in)
{
    for (unsigned i = 0; i < in->n_streams; i++)
        if (in->streams[i].held && host_stream_has_room(&in->streams[i]))
            host_stream_release(in, &in->streams[i]);
}

static int push(struct host_instance *in, enum host_ev_type type,
                int32_t handle, int32_t arg, const void *p1, size_t n1,
                const void *p2, size_t n2)
{
    struct host_event *ev = host_event_new(type, handle, arg, n1, n2);

    if (!ev)
        return FASTN_ERR_NOMEM;
    if (n1)
        memcpy(ev->data, p1, n1);
    if (n2)
        memcpy(ev->data + n1, p2, n2);
    host_event_push(in, ev);
    return 0;
}

static int incoming(struct plugin_host *h, uint64_t stream, const char *peer,
                    const char *protocol, unsigned flags)
{
    const char *name;
    size_t plen = peer ? strlen(peer) : 0,
           rlen = protocol ? strlen(protocol) : 0;

    if (!stream || !plen || plen > PLUGIN_PEER_ID_MAX || !rlen ||
        rlen > PLUGIN_PROTOCOL_MAX)
        return FASTN_ERR_INVAL;
    enum plugin_serves serves;
    if (plugin_host_serves(h, protocol, &name, &serves))
        return FASTN_ERR_NOT_FOUND;
    if (serves == PLUGIN_SERVES_NOBODY) /* the router refuses these first */
        return FASTN_ERR_PERM;
    return host_stream_take(host_find(h, name), stream, peer, protocol, flags);
}

int host_stream_take(struct host_plugin *p, uint64_t stream, const char *peer,
                     const char *protocol, unsigned flags)
{
    struct host_instance *in = p->inst;
    struct host_stream *s;
    size_t plen = strlen(peer), rlen = strlen(protocol);
    int err;

    if (!in)
        return FASTN_ERR_PLUGIN_CRASHED;
    if (in->n_streams >= p->m.limits.streams ||
        !host_memory_admits(in, sizeof(*s) + plen + rlen)) {
        LOG_RATELIMITED(LOG_DEBUG, "plugin",
                        "%s: a stream not taken: at its limit of streams or "
                        "of memory",
                        p->name);
        return FASTN_ERR_PLUGIN_LIMIT;
    }
    s = host_stream_add(in);
    if (!s)
        return FASTN_ERR_NOMEM;
    s->id = stream;
    s->flags = flags;
    memcpy(s->peer, peer, plen + 1);
    err = push(in, EV_STREAM, s->handle, 0, peer, plen, protocol, rlen);
    if (err)
        host_stream_free(in, s);
    return err;
}

int plugin_host_stream_incoming(struct plugin_host *h, uint64_t stream,
                                const char *peer, const char *protocol)
{
    return incoming(h, stream, peer, protocol, 0);
}

int plugin_host_stream_replay(struct plugin_host *h, uint64_t stream,
                              const char *peer, const char *protocol,
                              unsigned flags)
{
    if (!h->ops->replay_done)
        return FASTN_ERR_UNSUPPORTED;
    flags &= PLUGIN_STREAM_REPLAYED | PLUGIN_STREAM_REPEAT;
    return incoming(h, stream, peer, protocol, flags | PLUGIN_STREAM_REPLAYED);
}

int plugin_host_stream_data(struct plugin_host *h, uint64_t stream,
                            const uint8_t *p, size_t n)
{
    struct host_instance *in = NULL;
    struct host_stream *s = find_stream(h, stream, &in);

    if (!s || s->gone || s->remote_closed)
        return FASTN_ERR_NOT_FOUND;
    while (n > 0) {
        size_t k = n < PLUGIN_DATA_CHUNK_MAX ? n : PLUGIN_DATA_CHUNK_MAX;
        int32_t handle = s->handle;
        if (push(in, EV_DATA, handle, 0, p, k, NULL, 0))
            return FASTN_ERR_NOMEM;
        s = host_stream_by_handle(in, handle);
        s->queued_in += k;
        p += k;
        n -= k;
    }
    /* past its backlog, or past the plugin's memory budget: the peer
     * waits (yamux's window) until the plugin has taken some */
    if (!s->paused &&
        (s->queued_in > PLUGIN_STREAM_BUFFER || !host_memory_admits(in, 0)) &&
        h->ops->stream_pause) {
        s->paused = true;
        h->ops->stream_pause(h->ops_arg, s->id, true);
    }
    return 0;
}

int plugin_host_stream_closed(struct plugin_host *h, uint64_t stream,
                              int reason)
{
    struct host_instance *in = NULL;
    struct host_stream *s = find_stream(h, stream, &in);

    if (!s || s->gone)
        return FASTN_ERR_NOT_FOUND;
    if (reason > 0)
        reason = FASTN_ERR_NET_STREAM_RESET;
    if (reason < 0) {
        /* the router forgets it: no more calls to ops for this id */
        s->gone = true;
        s->id = 0;
        /* no writable signal will come: held data gets one more try
         * (dropped if refused again), then the close */
        host_stream_release(in, s);
    }
    return push(in, EV_CLOSE, s->handle, reason, NULL, 0, NULL, 0);
}

int plugin_host_stream_opened(struct plugin_host *h, uint64_t token,
                              uint64_t stream, int result)
{
    struct host_instance *in = NULL;
    struct host_stream *s = find_token(h, token, &in);

    if (!s)
        return FASTN_ERR_NOT_FOUND;
    s->opening = false;
    if (result == 0 && stream) {
        s->id = stream;
        host_stream_flush_pending(in, s);
        if (s->local_closed && s->pending.len == 0)
            h->ops->stream_close(h->ops_arg, s->id);
    } else {
        s->gone = true;
        buf_reset(&s->pending); /* discarded, as the ABI says */
        if (result == 0)
            result = FASTN_ERR_NET_UNREACHABLE;
    }
    return push(in, EV_OPEN, s->handle, result, NULL, 0, NULL, 0);
}

int plugin_host_stream_writable(struct plugin_host *h, uint64_t stream)
{
    struct host_instance *in = NULL;
    struct host_stream *s = find_stream(h, stream, &in);
    struct host_event *ev;
    bool want;

    if (!s)
        return FASTN_ERR_NOT_FOUND;
    host_stream_flush_pending(in, s);
    if (s->pending.len == 0 && s->local_closed && !s->gone)
        h->ops->stream_close(h->ops_arg, s->id);
    if (s->pending.len > 0 || (!s->want_writable && !s->held))
        return 0;
    want = s->want_writable;
    s->want_writable = false;
    if (!s->held)
        return push(in, EV_WRITABLE, s->handle, 0, NULL, 0, NULL, 0);
    /* the held data goes first in the queue, on_writable before it (the
     * plugin flushes what it kept, then takes the data) */
    host_stream_release(in, s);
    if (!want)
        return 0;
    if (!(ev = host_event_new(EV_WRITABLE, s->handle, 0, 0, 0)))
        return FASTN_ERR_NOMEM;
    host_event_push_front(in, ev);
    return 0;
}

/* --- calls ------------------------------------------------------------- */

struct host_call *host_call_by_handle(struct host_instance *in, int32_t handle)
{
    for (unsigned i = 0; handle > 0 && i < in->n_calls; i++)
        if (in->calls[i].handle == handle)
            return &in->calls[i];
    return NULL;
}

void host_call_remove(struct host_instance *in, struct host_call *c)
{
    *c = in->calls[--in->n_calls];
}

void host_call_answer(struct host_instance *in, struct host_call *c, int status,
                      const uint8_t *p, size_t n)
{
    struct plugin_host *h = in->p->h;
    uint64_t id = c->id;

    host_call_remove(in, c);
    h->ops->call_reply(h->ops_arg, id, status, p, n);
}

void host_call_answer_v(struct host_instance *in, struct host_call *c,
                        int status, const struct iovec *v, size_t n)
{
    struct plugin_host *h = in->p->h;
    uint64_t id = c->id;
    size_t total;
    uint8_t *joined;

    if (h->ops->call_reply_v) {
        host_call_remove(in, c);
        h->ops->call_reply_v(h->ops_arg, id, status, v, n);
        return;
    }
    if (!(joined = mem_join(v, n, &total))) {
        static const char oom[] = "out of memory joining the answer";
        host_call_answer(in, c, FASTN_ERR_NOMEM, (const uint8_t *)oom,
                         sizeof(oom) - 1);
        return;
    }
    host_call_answer(in, c, status, joined, total);
    free(joined);
}

/* Queues a call on a running instance; deadline 0: the next tick sets
 * it (a call that waited for a restart keeps its own). */
static int call_queue(struct host_instance *in, uint64_t id, uint64_t deadline,
                      const char *method, size_t method_len, const uint8_t *arg,
                      size_t n)
{
    struct host_call *c;

    if (in->n_calls >= PLUGIN_PENDING_CALLS_MAX ||
        in->queued_bytes + n > PLUGIN_QUEUED_BYTES_MAX ||
        !host_memory_admits(in, sizeof(struct host_event) + method_len + n))
        return FASTN_ERR_BUSY;
    if (in->n_calls == in->cap_calls) {
        unsigned cap = in->cap_calls ? in->cap_calls * 2 : 4;
        void *v = realloc(in->calls, cap * sizeof(*in->calls));
        if (!v)
            return FASTN_ERR_NOMEM;
        in->calls = v;
        in->cap_calls = cap;
    }
    c = &in->calls[in->n_calls];
    c->handle = next_handle(&in->next_call);
    c->id = id;
    c->deadline = deadline;
    if (push(in, EV_CALL, c->handle, 0, method, method_len, arg, n))
        return FASTN_ERR_NOMEM;
    in->n_calls++;
    return 0;
}

/* A call to a plugin in its restart backoff waits for the restart when
 * that comes within the call's time (docs/PLUGIN-ABI.md, "Lifecycle");
 * else, or when too much waits already, it is refused at once. */
static int call_wait(struct host_plugin *p, uint64_t id, const char *method,
                     size_t method_len, const uint8_t *arg, size_t n)
{
    uint64_t deadline = p->h->mono_ms + PLUGIN_CALL_TIMEOUT_MS;
    struct host_waiting_call *w;

    if (p->state != PLUGIN_STATE_BACKOFF || p->restart_at >= deadline)
        return FASTN_ERR_PLUGIN_CRASHED;
    if (p->n_waiting >= PLUGIN_PENDING_CALLS_MAX ||
        p->waiting_bytes + method_len + n > PLUGIN_QUEUED_BYTES_MAX)
        return FASTN_ERR_BUSY;
    w = realloc(p->waiting, (p->n_waiting + 1) * sizeof(*w));
    if (!w)
        return FASTN_ERR_NOMEM;
    p->waiting = w;
    w = &p->waiting[p->n_waiting];
    if (!(w->data = malloc(method_len + n + 1)))
        return FASTN_ERR_NOMEM;
    memcpy(w->data, method, method_len);
    if (n)
        memcpy(w->data + method_len, arg, n);
    w->id = id;
    w->deadline = deadline;
    w->method_len = method_len;
    w->n = n;
    p->waiting_bytes += method_len + n;
    p->n_waiting++;
    return 0;
}

int plugin_host_call(struct plugin_host *h, const char *name,
                     const char *method, size_t method_len, const uint8_t *arg,
                     size_t n, uint64_t call)
{
    struct host_plugin *p = host_find(h, name);

    if (!p)
        return FASTN_ERR_NOT_FOUND;
    if (!p->enabled)
        return FASTN_ERR_PLUGIN_DISABLED;
    if (method_len == 0 || method_len > PLUGIN_CALL_METHOD_MAX ||
        memchr(method, 0, method_len))
        return FASTN_ERR_INVAL;
    if (n > PLUGIN_CALL_ARG_MAX)
        return FASTN_ERR_TOO_LARGE;
    if (!p->inst)
        return call_wait(p, call, method, method_len, arg, n);
    return call_queue(p->inst, call, 0, method, method_len, arg, n);
}

/* Forgets waiting call i (moving the last into its place): its id. */
static uint64_t waiting_remove(struct host_plugin *p, unsigned i)
{
    struct host_waiting_call w = p->waiting[i];

    p->waiting[i] = p->waiting[--p->n_waiting];
    p->waiting_bytes -= w.method_len + w.n;
    free(w.data);
    return w.id;
}

int plugin_host_call_cancel(struct plugin_host *h, const char *name,
                            uint64_t call)
{
    struct host_plugin *p = host_find(h, name);
    struct host_instance *in = p ? p->inst : NULL;

    if (!p)
        return FASTN_ERR_NOT_FOUND;
    for (unsigned i = 0; i < p->n_waiting; i++) {
        if (p->waiting[i].id == call) {
            waiting_remove(p, i);
            return 0;
        }
    }
    for (unsigned i = 0; in && i < in->n_calls; i++) {
        if (in->calls[i].id == call) {
            host_call_remove(in, &in->calls[i]);
            return 0;
        }
    }
    return FASTN_ERR_NOT_FOUND;
}

/* Answers waiting call i (moving the last into its place). */
static void waiting_answer(struct host_plugin *p, unsigned i, int err,
                           const char *why)
{
    uint64_t id = waiting_remove(p, i);

    p->h->ops->call_reply(p->h->ops_arg, id, err, (const uint8_t *)why,
                          why ? strlen(why) : 0);
}

void host_waiting_drop(struct host_plugin *p, int err, const char *why)
{
    while (p->n_waiting > 0)
        waiting_answer(p, p->n_waiting - 1, err, why);
    free(p->waiting);
    p->waiting = NULL;
}

bool host_waiting_due(const struct host_plugin *p)
{
    return p->n_waiting > 0 &&
           (p->inst || !p->enabled || p->state != PLUGIN_STATE_BACKOFF);
}

void host_waiting_settle(struct host_plugin *p)
{
    char why[200];

    if (!p->n_waiting)
        return;
    if (p->inst) {
        /* in the order they came */
        for (unsigned i = 0; i < p->n_waiting; i++) {
            struct host_waiting_call *w = &p->waiting[i];
            int err =
                call_queue(p->inst, w->id, w->deadline, (const char *)w->data,
                           w->method_len, w->data + w->method_len, w->n);
            free(w->data);
            if (err)
                p->h->ops->call_reply(p->h->ops_arg, w->id, err,
                                      (const uint8_t *)"the plugin is busy",
                                      18);
        }
        p->n_waiting = 0;
        p->waiting_bytes = 0;
        return;
    }
    if (!p->enabled || p->state != PLUGIN_STATE_BACKOFF) {
        snprintf(why, sizeof(why), "plugin %s %s before it restarted", p->name,
                 p->enabled ? "failed again" : "was disabled");
        host_waiting_drop(p,
                          p->enabled ? FASTN_ERR_PLUGIN_CRASHED
                                     : FASTN_ERR_PLUGIN_DISABLED,
                          why);
        return;
    }
    snprintf(why, sizeof(why),
             "plugin %s did not restart within the call's 30 s", p->name);
    for (unsigned i = 0; i < p->n_waiting;)
        if (p->waiting[i].deadline <= p->h->mono_ms)
            waiting_answer(p, i, FASTN_ERR_TIMEOUT, why);
        else
            i++;
}

/* --- an instance that ends --------------------------------------------- */

void host_instance_release(struct host_instance *in, int err, const char *why)
{
    struct plugin_host *h = in->p->h;
    char msg[300];
    int n;

    while (in->n_streams > 0) {
        struct host_stream *s = &in->streams[in->n_streams - 1];
        uint64_t id = s->gone ? 0 : s->id;
        host_stream_free(in, s);
        if (id)
            h->ops->stream_reset(h->ops_arg, id);
    }
    if (err == FASTN_ERR_PLUGIN_CRASHED)
        n = snprintf(msg, sizeof(msg), "plugin %s stopped: %s", in->p->name,
                     why ? why : "an error");
    else
        n = snprintf(msg, sizeof(msg), "plugin %s was stopped", in->p->name);
    if (n >= (int)sizeof(msg))
        n = sizeof(msg) - 1;
    while (in->n_calls > 0)
        host_call_answer(in, &in->calls[in->n_calls - 1], err,
                         (const uint8_t *)msg, (size_t)n);
    in->n_timers = 0;
}
