/*
 * The plugin test library's network (include/fastn/plugin_test.h): the
 * router's part for the hosts of a test world, as struct plugin_host_ops,
 * and the loop that delivers what it holds. Streams go between nodes by
 * PeerID, or between the test (a simulated peer) and a node. Each
 * direction is an inbox of at most FASTN_TEST_WINDOW bytes: a writer gets
 * a short write past it and plugin_host_stream_writable() once the reader
 * took some, as from the router's send queue.
 *
 * Invariant: a stream's ends are reported to their hosts only from
 * fastn_test_step() (never from inside an op), as the daemon's loop
 * defers them; an end marked dead gets no more callbacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastn/err.h"
#include "plugin/kit_int.h"

/* --- streams ------------------------------------------------------------ */

struct fastn_test_stream *kit_stream_new(struct fastn_test *t)
{
    struct fastn_test_stream *s = NULL, **v;

    for (size_t i = 0; i < t->n_streams; i++)
        if (!t->streams[i]->used) {
            s = t->streams[i];
            break;
        }
    if (!s) {
        v = realloc(t->streams, (t->n_streams + 1) * sizeof(*v));
        if (!v || !(s = calloc(1, sizeof(*s))))
            abort(); /* the header says so: a test cannot go on */
        t->streams = v;
        t->streams[t->n_streams++] = s;
        for (int k = 0; k < 2; k++)
            if (!(s->end[k].inbox = malloc(FASTN_TEST_WINDOW)))
                abort();
    }
    uint8_t *in0 = s->end[0].inbox, *in1 = s->end[1].inbox;
    memset(s, 0, sizeof(*s));
    s->end[0].inbox = in0;
    s->end[1].inbox = in1;
    s->t = t;
    s->used = 1;
    s->open_result = 1;
    return s;
}

static struct kit_end *end_by_id(struct fastn_test *t, uint64_t id,
                                 struct fastn_test_stream **st, int *side)
{
    for (size_t i = 0; i < t->n_streams; i++) {
        struct fastn_test_stream *s = t->streams[i];
        for (int k = 0; s->used && k < 2; k++)
            if (s->end[k].id == id && !s->end[k].dead) {
                *st = s;
                *side = k;
                return &s->end[k];
            }
    }
    return NULL;
}

static struct fastn_test_node *node_by_peer(struct fastn_test *t,
                                            const char *peer)
{
    for (size_t i = 0; i < t->n_nodes; i++)
        if (strcmp(t->nodes[i]->peer_id, peer) == 0)
            return t->nodes[i];
    return NULL;
}

/* --- the router's ops --------------------------------------------------- */

static int op_open(void *arg, const char *peer, const char *protocol,
                   uint64_t token)
{
    struct fastn_test_node *from = arg;
    struct fastn_test_stream *s;

    from->opens++;
    if (from->refuse_opens)
        return FASTN_ERR_NET_UNREACHABLE;
    s = kit_stream_new(from->t);
    snprintf(s->proto, sizeof(s->proto), "%s", protocol);
    s->open_token = token;
    s->open_pending = 1;
    s->end[0].node = from;
    s->end[1].node = node_by_peer(from->t, peer);
    return 0;
}

static int op_write(void *arg, uint64_t id, const uint8_t *p, size_t n)
{
    struct fastn_test_node *node = arg;
    struct fastn_test_stream *s;
    int side;
    struct kit_end *e = end_by_id(node->t, id, &s, &side), *o;
    size_t room;

    if (!e)
        return FASTN_ERR_CLOSED;
    o = &s->end[!side];
    room = FASTN_TEST_WINDOW - o->in_len;
    if (n > room) {
        n = room;
        e->want_writable = 1;
    }
    memcpy(o->inbox + o->in_len, p, n);
    o->in_len += n;
    s->bytes[side] += n;
    return (int)n;
}

static int op_close(void *arg, uint64_t id)
{
    struct fastn_test_node *node = arg;
    struct fastn_test_stream *s;
    int side;
    struct kit_end *e = end_by_id(node->t, id, &s, &side);
    if (e)
        s->end[!side].fin_pending = 1;
    return e ? 0 : FASTN_ERR_CLOSED;
}

static int op_reset(void *arg, uint64_t id)
{
    struct fastn_test_node *node = arg;
    struct fastn_test_stream *s;
    int side;
    struct kit_end *e = end_by_id(node->t, id, &s, &side);

    node->t->resets_seen++;
    if (!e)
        return FASTN_ERR_CLOSED;
    e->dead = 1; /* the host that reset it wants no more callbacks */
    s->end[!side].reset_pending = 1;
    return 0;
}

static void op_pause(void *arg, uint64_t id, bool paused)
{
    struct fastn_test_node *node = arg;
    struct fastn_test_stream *s;
    int side;
    struct kit_end *e = end_by_id(node->t, id, &s, &side);
    if (e)
        e->paused = paused;
}

/* What the network holds of what an end wrote (the other end's inbox),
 * as the router's send queue would. */
static size_t op_queued(void *arg, uint64_t id)
{
    struct fastn_test_node *node = arg;
    struct fastn_test_stream *s;
    int side;
    struct kit_end *e = end_by_id(node->t, id, &s, &side);
    return e ? s->end[!side].in_len : 0;
}

static void spin_cpu(int ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000l + t.tv_nsec - t0.tv_nsec <
           ms * 1000000l);
}

static void op_reply(void *arg, uint64_t call, int status, const uint8_t *p,
                     size_t n)
{
    struct fastn_test_node *node = arg;
    struct fastn_test_reply *r;

    if (node->n_replies == node->cap_replies) {
        size_t cap = node->cap_replies ? 2 * node->cap_replies : 16;
        r = realloc(node->replies, cap * sizeof(*r));
        if (!r)
            abort();
        node->replies = r;
        node->cap_replies = cap;
    }
    r = &node->replies[node->n_replies];
    if (!(r->data = malloc(n + 1)))
        abort();
    node->n_replies++;
    r->id = call;
    r->status = status;
    r->len = n;
    memcpy(r->data, p, n);
    r->data[n] = '\0';
    if (node->slow_reply_ms)
        spin_cpu(node->slow_reply_ms);
}

static void op_wake(void *arg)
{
    ((struct fastn_test_node *)arg)->wakes++;
}

static void op_protocols(void *arg)
{
    ((struct fastn_test_node *)arg)->protocol_changes++;
}

static void op_trace(void *arg, const char *plugin, const char *kind,
                     const char *what, int64_t result, uint64_t fuel)
{
    struct fastn_test_node *node = arg;
    if (node->t->trace)
        node->t->trace(node->t->trace_arg, node->name, plugin, kind, what,
                       result, fuel);
}

/* A job the host handed off: done at the node's next run (kit_jobs_run). */
struct kit_job {
    struct kit_job *next;
    void (*work)(void *job);
    void (*done)(void *job);
    void *job;
};

static int op_offload(void *arg, void (*work)(void *), void (*done)(void *),
                      void *job)
{
    struct fastn_test_node *node = arg;
    struct kit_job *j = calloc(1, sizeof(*j));
    if (!j)
        return FASTN_ERR_NOMEM;
    j->work = work;
    j->done = done;
    j->job = job;
    if (!node->jobs_tail)
        node->jobs_tail = &node->jobs;
    *node->jobs_tail = j;
    node->jobs_tail = &j->next;
    return 0;
}

bool kit_jobs_run(struct fastn_test_node *n, bool run_work)
{
    struct kit_job *j = n->jobs;
    n->jobs = NULL;
    n->jobs_tail = &n->jobs;
    if (!j)
        return false;
    while (j) {
        struct kit_job *next = j->next;
        if (run_work)
            j->work(j->job);
        j->done(j->job);
        free(j);
        j = next;
    }
    return true;
}

const struct plugin_host_ops kit_ops = {
    .stream_open = op_open,
    .stream_write = op_write,
    .stream_close = op_close,
    .stream_reset = op_reset,
    .stream_pause = op_pause,
    .stream_queued = op_queued,
    .call_reply = op_reply,
    .wake = op_wake,
    .protocols_changed = op_protocols,
    .trace = op_trace,
    .offload = op_offload,
};

/* --- the loop ------------------------------------------------------------ */

static struct plugin_host *end_host(const struct kit_end *e)
{
    return e->node && e->node->online ? e->node->h : NULL;
}

/* The reader took bytes: the writer (the other end) may write again. */
static void writable_again(struct fastn_test_stream *s, int k)
{
    struct kit_end *w = &s->end[!k];
    struct plugin_host *h = end_host(w);
    if (w->want_writable && !w->dead && w->id && h) {
        w->want_writable = 0;
        plugin_host_stream_writable(h, w->id);
    }
}

int kit_deliver_end(struct fastn_test_stream *s, int k)
{
    struct kit_end *e = &s->end[k];
    struct plugin_host *h = end_host(e);
    int did = 0;

    if (!h || e->dead || !e->id)
        return 0;
    if (e->in_len && !e->paused && !e->node->no_read) {
        if (plugin_host_stream_data(h, e->id, e->inbox, e->in_len) != 0) {
            e->dead = 1; /* not the plugin's any more: the router resets */
            if (!s->end[!k].dead)
                s->end[!k].reset_pending = 1;
            return 1;
        }
        e->in_len = 0;
        writable_again(s, k);
        did = 1;
    }
    if (e->in_len == 0 && e->fin_pending && !e->fin_sent) {
        e->fin_sent = 1;
        plugin_host_stream_closed(h, e->id, 0);
        did = 1;
    }
    if (e->reset_pending) {
        e->reset_pending = 0;
        e->dead = 1;
        plugin_host_stream_closed(h, e->id, FASTN_ERR_NET_STREAM_RESET);
        did = 1;
    }
    return did;
}

/* The acceptor's host takes the stream or not: 0 or the router's error. */
static int accept_stream(struct fastn_test_stream *s)
{
    struct fastn_test_node *from = s->end[0].node, *to = s->end[1].node;
    int rc;

    if (!to || !to->online)
        return FASTN_ERR_NET_UNREACHABLE;
    s->end[1].id = ++s->t->next_id;
    if (s->local)
        return plugin_host_local_incoming(to->h, s->end[1].id, s->proto,
                                          s->local_index, KIT_LOCAL_CLIENT);
    rc = plugin_host_stream_incoming(
        to->h, s->end[1].id, from ? from->peer_id : s->from_peer, s->proto);
    return rc == FASTN_ERR_NOT_FOUND ? FASTN_ERR_NET_PROTO_NA : rc;
}

int kit_deliver_open(struct fastn_test_stream *s)
{
    struct fastn_test_node *from = s->end[0].node;
    int rc;

    if (!s->open_pending)
        return 0;
    s->open_pending = 0;
    rc = accept_stream(s);
    s->open_result = rc;
    if (rc) {
        s->end[1].dead = 1;
        s->end[0].dead = 1;
        if (from && from->online)
            plugin_host_stream_opened(from->h, s->open_token, 0, rc);
        if (from)
            s->used = 0;
        return 1;
    }
    s->end[0].id = ++s->t->next_id;
    if (!from)
        return 1;
    if (!from->online ||
        plugin_host_stream_opened(from->h, s->open_token, s->end[0].id, 0)) {
        /* the opener is gone: the router resets the stream */
        s->end[0].dead = 1;
        s->end[1].reset_pending = 1;
    }
    return 1;
}

bool fastn_test_node_run(struct fastn_test_node *n)
{
    bool jobs = n->h && n->online && kit_jobs_run(n, true);
    return (n->h && n->online &&
            plugin_host_run(n->h, n->t->now, n->t->mono, 1) > 0) ||
           jobs;
}

bool fastn_test_deliver(struct fastn_test *t)
{
    int did = 0;

    for (size_t i = 0; i < t->n_streams; i++) {
        struct fastn_test_stream *s = t->streams[i];
        if (!s->used)
            continue;
        did += kit_deliver_open(s);
        did += kit_deliver_end(s, 0);
        did += kit_deliver_end(s, 1);
        /* streams the test holds stay until the world is freed */
        if (s->end[0].dead && s->end[1].dead && s->end[0].node)
            s->used = 0;
    }
    return did != 0;
}

bool fastn_test_step(struct fastn_test *t)
{
    bool did = false;

    for (size_t i = 0; i < t->n_nodes; i++)
        did |= fastn_test_node_run(t->nodes[i]);
    did |= fastn_test_deliver(t);
    return did;
}

int fastn_test_run(struct fastn_test *t)
{
    int turn;
    for (turn = 0; turn < 100000; turn++)
        if (!fastn_test_step(t))
            break;
    return turn;
}

void fastn_test_advance(struct fastn_test *t, uint64_t ms)
{
    t->now += ms;
    t->mono += ms;
    fastn_test_run(t);
}

void fastn_test_drop_in_flight(struct fastn_test *t)
{
    for (size_t i = 0; i < t->n_streams; i++)
        if (t->streams[i]->used)
            t->streams[i]->end[0].in_len = t->streams[i]->end[1].in_len = 0;
}

/* --- the test as a peer --------------------------------------------------- */

struct fastn_test_stream *fastn_test_stream_open(struct fastn_test_node *n,
                                                 const char *from,
                                                 const char *protocol)
{
    struct fastn_test_stream *s = kit_stream_new(n->t);

    if (!from)
        from = "peer";
    if (strncmp(from, "12D3KooW", 8) == 0 || strncmp(from, "Qm", 2) == 0)
        snprintf(s->from_peer, sizeof(s->from_peer), "%s", from);
    else
        fastn_test_peer_id(from, s->from_peer);
    snprintf(s->proto, sizeof(s->proto), "%s", protocol);
    s->end[1].node = n;
    s->open_pending = 1;
    return s;
}

struct fastn_test_stream *fastn_test_local_open(struct fastn_test_node *n,
                                                const char *plugin,
                                                unsigned index)
{
    struct fastn_test_stream *s = kit_stream_new(n->t);

    snprintf(s->proto, sizeof(s->proto), "%s", plugin);
    s->local = true;
    s->local_index = index;
    s->end[1].node = n;
    s->open_pending = 1;
    return s;
}

int fastn_test_stream_result(const struct fastn_test_stream *s)
{
    return s->open_result;
}

int fastn_test_stream_write(struct fastn_test_stream *s, const void *p,
                            size_t n)
{
    struct kit_end *o = &s->end[1];
    if (s->end[0].dead || o->dead || o->fin_pending)
        return FASTN_ERR_CLOSED;
    if (o->in_len + n > FASTN_TEST_WINDOW)
        return FASTN_ERR_AGAIN;
    memcpy(o->inbox + o->in_len, p, n);
    o->in_len += n;
    s->bytes[0] += n;
    return 0;
}

size_t fastn_test_stream_read(struct fastn_test_stream *s, void *out,
                              size_t max)
{
    struct kit_end *e = &s->end[0];
    size_t n = e->in_len < max ? e->in_len : max;
    memcpy(out, e->inbox, n);
    memmove(e->inbox, e->inbox + n, e->in_len - n);
    e->in_len -= n;
    if (n)
        writable_again(s, 0);
    return n;
}

size_t fastn_test_stream_readable(const struct fastn_test_stream *s)
{
    return s->end[0].in_len;
}

size_t fastn_test_stream_unsent(const struct fastn_test_stream *s)
{
    return s->end[1].in_len;
}

void fastn_test_stream_close(struct fastn_test_stream *s)
{
    s->end[1].fin_pending = 1;
}

void fastn_test_stream_reset(struct fastn_test_stream *s)
{
    s->end[0].dead = 1;
    if (!s->end[1].dead)
        s->end[1].reset_pending = 1;
}

bool fastn_test_stream_eof(const struct fastn_test_stream *s)
{
    return s->end[0].fin_pending;
}

bool fastn_test_stream_was_reset(const struct fastn_test_stream *s)
{
    return s->end[0].reset_pending || s->end[1].dead;
}

bool fastn_test_stream_paused(const struct fastn_test_stream *s)
{
    return s->end[1].paused;
}
