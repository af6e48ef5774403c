/*
 * A test bench for the plugin host (src/plugin): real hosts running the
 * real .wasm plugins from the build, each in its own temporary home with
 * a real state.sqlite, joined by an in-memory network that plays the
 * router's part (struct plugin_host_ops): streams between the hosts'
 * plugins, opened, written, closed and reset as the router would, every
 * delivery deferred to th_pump() as an event loop would. Time is the
 * test's (th_advance). Calls from "local programs" are recorded per node.
 *
 * Included by the unit tests of the host and of the echo and chat
 * plugins; header-only so each test program stays one file.
 */
#ifndef FASTN_TEST_HOST_HARNESS_H
#define FASTN_TEST_HOST_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastn/err.h"
#include "plugin/plugin.h"
#include "store/store.h"
#include "util/log.h"
#include "util/peer_id.h"

/* not every test uses every helper */
#pragma GCC diagnostic ignored "-Wunused-function"

#define TH_NODES 4
#define TH_STREAMS 2048
#define TH_REPLIES 512
#define TH_INBOX (256 * 1024)

struct th_node;

/* One direction of a stream: what one end wrote for the other. */
struct th_end {
    uint64_t id; /* the id this end's host knows the stream by */
    struct th_node *node;
    uint8_t inbox[TH_INBOX]; /* bytes written by the other end */
    size_t in_len;
    int fin_pending, fin_sent; /* the other end closed its side */
    int reset_pending;         /* the other end reset the stream */
    int paused;
    int want_writable;
    int dead; /* reported gone to this end's host */
};

struct th_stream {
    int used;
    char proto[PLUGIN_PROTOCOL_MAX + 1];
    struct th_end end[2]; /* [0] the opener, [1] the acceptor */
    uint64_t open_token;  /* the opener's token until answered */
    int open_result;      /* answer to deliver to the opener */
    int open_pending;
    size_t bytes[2]; /* written by each end in all */
};

struct th_reply {
    uint64_t call;
    int status;
    char data[4096];
    size_t len;
};

struct th_node {
    int used, online;
    char home[64];
    char peer_id[PEER_ID_STR_MAX];
    struct store *state;
    struct plugin_host *h;
    struct th_reply replies[TH_REPLIES];
    int n_replies;
    int wakes, protocol_changes, opens;
    int refuse_opens;  /* ops->stream_open fails at once */
    int no_read;       /* its host is given no data: a peer that never reads */
    int slow_reply_ms; /* ops->call_reply keeps the CPU that long (a host
                        * operation that cannot be cut short) */
};

static struct {
    struct th_node nodes[TH_NODES];
    struct th_stream streams[TH_STREAMS];
    uint64_t next_id;
    uint64_t now, mono;
    int resets_seen;
    char raw_peer[PEER_ID_STR_MAX]; /* the test, as a remote peer */
} TH;

/* A PeerID for node i, from a made-up Ed25519 public key. */
static void th_peer_id(int i, char out[PEER_ID_STR_MAX])
{
    uint8_t key[IDENTITY_PUBKEY_LEN];
    struct peer_id id;
    memset(key, 0x11 * (i + 1), sizeof(key));
    peer_id_from_pubkey(key, &id);
    peer_id_format(&id, out);
}

/* --- the network, as ops ------------------------------------------------ */

static struct th_end *th_end_by_id(uint64_t id, struct th_stream **st,
                                   int *side)
{
    for (int i = 0; i < TH_STREAMS; i++) {
        struct th_stream *s = &TH.streams[i];
        for (int k = 0; s->used && k < 2; k++)
            if (s->end[k].id == id && !s->end[k].dead) {
                *st = s;
                *side = k;
                return &s->end[k];
            }
    }
    return NULL;
}

static struct th_node *th_node_by_peer(const char *peer)
{
    for (int i = 0; i < TH_NODES; i++)
        if (TH.nodes[i].used && strcmp(TH.nodes[i].peer_id, peer) == 0)
            return &TH.nodes[i];
    return NULL;
}

static struct th_stream *th_stream_new(void)
{
    for (int i = 0; i < TH_STREAMS; i++)
        if (!TH.streams[i].used) {
            memset(&TH.streams[i], 0, sizeof(TH.streams[i]));
            TH.streams[i].used = 1;
            return &TH.streams[i];
        }
    return NULL;
}

static int th_open(void *arg, const char *peer, const char *protocol,
                   uint64_t token)
{
    struct th_node *from = arg;
    struct th_stream *s;

    from->opens++;
    if (from->refuse_opens)
        return FASTN_ERR_NET_UNREACHABLE;
    if (!(s = th_stream_new()))
        return FASTN_ERR_NOMEM;
    snprintf(s->proto, sizeof(s->proto), "%s", protocol);
    s->open_token = token;
    s->open_pending = 1;
    s->end[0].node = from;
    s->end[1].node = th_node_by_peer(peer);
    s->open_result = 0;
    return 0;
}

static int th_write(void *arg, uint64_t id, const uint8_t *p, size_t n)
{
    struct th_stream *s;
    int side;
    struct th_end *e = th_end_by_id(id, &s, &side);
    struct th_end *o;
    size_t room;

    (void)arg;
    if (!e)
        return FASTN_ERR_CLOSED;
    o = &s->end[!side];
    room = TH_INBOX - o->in_len;
    if (n > room) {
        n = room;
        e->want_writable = 1;
    }
    memcpy(o->inbox + o->in_len, p, n);
    o->in_len += n;
    s->bytes[side] += n;
    return (int)n;
}

static int th_close(void *arg, uint64_t id)
{
    struct th_stream *s;
    int side;
    struct th_end *e = th_end_by_id(id, &s, &side);
    (void)arg;
    if (e)
        s->end[!side].fin_pending = 1;
    return e ? 0 : FASTN_ERR_CLOSED;
}

static int th_reset(void *arg, uint64_t id)
{
    struct th_stream *s;
    int side;
    struct th_end *e = th_end_by_id(id, &s, &side);
    (void)arg;
    TH.resets_seen++;
    if (!e)
        return FASTN_ERR_CLOSED;
    e->dead = 1; /* the host that reset it wants no more callbacks */
    s->end[!side].reset_pending = 1;
    return 0;
}

static void th_pause(void *arg, uint64_t id, bool paused)
{
    struct th_stream *s;
    int side;
    struct th_end *e = th_end_by_id(id, &s, &side);
    (void)arg;
    if (e)
        e->paused = paused;
}

/* What the network holds of what an end wrote (the other end's inbox),
 * as the router's send queue would. */
static size_t th_queued(void *arg, uint64_t id)
{
    struct th_stream *s;
    int side;
    struct th_end *e = th_end_by_id(id, &s, &side);
    (void)arg;
    return e ? s->end[!side].in_len : 0;
}

static void th_reply(void *arg, uint64_t call, int status, const uint8_t *p,
                     size_t n)
{
    struct th_node *node = arg;
    struct th_reply *r;
    if (node->n_replies == TH_REPLIES)
        abort();
    r = &node->replies[node->n_replies++];
    r->call = call;
    r->status = status;
    r->len = n < sizeof(r->data) - 1 ? n : sizeof(r->data) - 1;
    memcpy(r->data, p, r->len);
    r->data[r->len] = '\0';
    if (node->slow_reply_ms) {
        struct timespec t0, t;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        do
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        while ((t.tv_sec - t0.tv_sec) * 1000000000l + t.tv_nsec - t0.tv_nsec <
               node->slow_reply_ms * 1000000l);
    }
}

static void th_wake(void *arg)
{
    ((struct th_node *)arg)->wakes++;
}

static void th_protocols(void *arg)
{
    ((struct th_node *)arg)->protocol_changes++;
}

static const struct plugin_host_ops th_ops = {
    .stream_open = th_open,
    .stream_write = th_write,
    .stream_close = th_close,
    .stream_reset = th_reset,
    .stream_pause = th_pause,
    .stream_queued = th_queued,
    .call_reply = th_reply,
    .wake = th_wake,
    .protocols_changed = th_protocols,
};

/* --- nodes -------------------------------------------------------------- */

static void th_quiet_log(void)
{
    if (!getenv("FASTN_TEST_LOG"))
        log_set_level(LOG_ERROR);
    log_set_sink(log_sink_stderr, NULL);
}

/* A new host in its own home (or the node's old home, after th_stop). */
static struct th_node *th_start_node(int i, uint64_t slice_fuel)
{
    struct th_node *n = &TH.nodes[i];
    char path[128];
    struct plugin_host_config cfg;

    th_quiet_log();
    if (!n->home[0]) {
        snprintf(n->home, sizeof(n->home), "/tmp/fastn-host-XXXXXX");
        if (!mkdtemp(n->home))
            abort();
    }
    n->used = n->online = 1;
    th_peer_id(i, n->peer_id);
    snprintf(path, sizeof(path), "%s/state.sqlite", n->home);
    if (store_open(path, NULL, &n->state))
        abort();
    memset(&cfg, 0, sizeof(cfg));
    cfg.home = n->home;
    cfg.local_peer_id = n->peer_id;
    cfg.state = n->state;
    cfg.ops = &th_ops;
    cfg.ops_arg = n;
    cfg.slice_fuel = slice_fuel;
    if (plugin_host_new(&cfg, &n->h))
        abort();
    return n;
}

/* Stops a node's host as a daemon shutdown would (kill = true: as a kill
 * -9, nothing runs: the host is just dropped... which in one process
 * means freeing it without on_stop is not possible, so a kill is
 * modelled by the streams dying first). Its home stays. */
static void th_stop_node(struct th_node *n)
{
    /* every stream of this node dies, as its connections would */
    for (int i = 0; i < TH_STREAMS; i++) {
        struct th_stream *s = &TH.streams[i];
        for (int k = 0; s->used && k < 2; k++)
            if (s->end[k].node == n) {
                s->end[k].dead = 1;
                if (!s->end[!k].dead)
                    s->end[!k].reset_pending = 1;
            }
    }
    plugin_host_free(n->h);
    store_close(n->state);
    n->h = NULL;
    n->state = NULL;
    n->online = 0;
}

static void th_cleanup(void)
{
    char cmd[160];
    for (int i = 0; i < TH_NODES; i++) {
        struct th_node *n = &TH.nodes[i];
        if (n->h)
            th_stop_node(n);
        if (n->home[0]) {
            snprintf(cmd, sizeof(cmd), "rm -rf '%s'", n->home);
            if (system(cmd) != 0)
                fprintf(stderr, "cleanup of %s failed\n", n->home);
        }
    }
}

/* The bytes of a built file (BUILD/rel), or NULL. */
static uint8_t *th_read_built(const char *rel, size_t *len)
{
    char path[512];
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    FILE *f;
    uint8_t *data;

    snprintf(path, sizeof(path), "%s/%s/%s", top ? top : ".",
             build ? build : "build", rel);
    if (!(f = fopen(path, "rb")))
        return NULL;
    data = malloc(8 << 20);
    *len = fread(data, 1, 8 << 20, f);
    fclose(f);
    return data;
}

/* Installs a built plugin on a node; returns the host's code. */
static int th_install(struct th_node *n, const char *rel, char *err,
                      size_t errlen)
{
    size_t len = 0;
    uint8_t *wasm = th_read_built(rel, &len);
    char name[PLUGIN_NAME_MAX + 1];
    int rc;

    if (!wasm) {
        snprintf(err, errlen, "%s not built", rel);
        return FASTN_ERR_NOT_FOUND;
    }
    rc = plugin_host_install(n->h, wasm, len, false, name, err, errlen);
    free(wasm);
    return rc;
}

/* --- the loop ------------------------------------------------------------ */

/* Delivers what the network holds for a stream end. Returns 1 if it did
 * anything. */
static int th_deliver_end(struct th_stream *s, int k)
{
    struct th_end *e = &s->end[k];
    struct plugin_host *h = e->node && e->node->online ? e->node->h : NULL;
    int did = 0;

    if (!h || e->dead || !e->id)
        return 0;
    if (e->in_len && !e->paused && !e->node->no_read) {
        size_t n = e->in_len;
        if (plugin_host_stream_data(h, e->id, e->inbox, n) != 0) {
            e->dead = 1; /* not the plugin's any more: the router resets */
            if (!s->end[!k].dead)
                s->end[!k].reset_pending = 1;
            return 1;
        }
        e->in_len = 0;
        /* the writer may write again */
        if (s->end[!k].want_writable && !s->end[!k].dead && s->end[!k].id) {
            s->end[!k].want_writable = 0;
            struct th_node *wn = s->end[!k].node;
            if (wn && wn->online)
                plugin_host_stream_writable(wn->h, s->end[!k].id);
        }
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

/* Answers a pending open: the acceptor's host takes the stream or not.
 * An opener with no node is the test itself (th_raw_open). */
static int th_deliver_open(struct th_stream *s)
{
    struct th_node *from = s->end[0].node, *to = s->end[1].node;
    int rc;

    if (!s->open_pending)
        return 0;
    s->open_pending = 0;
    if (!to || !to->online) {
        rc = FASTN_ERR_NET_UNREACHABLE;
    } else {
        s->end[1].id = ++TH.next_id;
        rc = plugin_host_stream_incoming(
            to->h, s->end[1].id, from ? from->peer_id : TH.raw_peer, s->proto);
        if (rc == FASTN_ERR_NOT_FOUND)
            rc = FASTN_ERR_NET_PROTO_NA;
    }
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
    s->end[0].id = ++TH.next_id;
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

/* The test opens a stream to a node's plugin, as a remote peer would;
 * what the plugin writes collects in s->end[0].inbox. */
static struct th_stream *th_raw_open(struct th_node *to, const char *proto)
{
    struct th_stream *s = th_stream_new();
    if (!s)
        abort();
    snprintf(s->proto, sizeof(s->proto), "%s", proto);
    s->end[1].node = to;
    s->open_pending = 1;
    return s;
}

static void th_raw_write(struct th_stream *s, const void *p, size_t n)
{
    struct th_end *o = &s->end[1];
    if (o->in_len + n > TH_INBOX)
        abort();
    memcpy(o->inbox + o->in_len, p, n);
    o->in_len += n;
    s->bytes[0] += n;
}

/* Takes (up to max bytes of) what the plugin wrote to the test, making
 * room for more as a reading peer would. */
static size_t th_raw_read(struct th_stream *s, uint8_t *out, size_t max)
{
    struct th_end *e = &s->end[0];
    size_t n = e->in_len < max ? e->in_len : max;
    memcpy(out, e->inbox, n);
    memmove(e->inbox, e->inbox + n, e->in_len - n);
    e->in_len -= n;
    if (n && s->end[1].want_writable && !s->end[1].dead && s->end[1].node &&
        s->end[1].node->online) {
        s->end[1].want_writable = 0;
        plugin_host_stream_writable(s->end[1].node->h, s->end[1].id);
    }
    return n;
}

static void th_raw_close(struct th_stream *s)
{
    s->end[1].fin_pending = 1;
}

/* Runs hosts and the network until nothing moves (or max turns). Returns
 * the number of turns. */
static int th_pump(int max_turns)
{
    int turn;
    for (turn = 0; turn < max_turns; turn++) {
        int did = 0;
        for (int i = 0; i < TH_NODES; i++) {
            struct th_node *n = &TH.nodes[i];
            if (n->h && n->online)
                did += plugin_host_run(n->h, TH.now, TH.mono, 1);
        }
        for (int i = 0; i < TH_STREAMS; i++) {
            struct th_stream *s = &TH.streams[i];
            if (!s->used)
                continue;
            did += th_deliver_open(s);
            did += th_deliver_end(s, 0);
            did += th_deliver_end(s, 1);
            /* streams the test holds stay until it is done with them */
            if (s->end[0].dead && s->end[1].dead && s->end[0].node)
                s->used = 0;
        }
        if (!did)
            break;
    }
    return turn;
}

/* Moves time forward (both clocks), running what comes due. */
static void th_advance(uint64_t ms)
{
    TH.now += ms;
    TH.mono += ms;
    th_pump(100000);
}

/* The reply to call id on node n, or NULL. */
static struct th_reply *th_reply_for(struct th_node *n, uint64_t call)
{
    for (int i = n->n_replies - 1; i >= 0; i--)
        if (n->replies[i].call == call)
            return &n->replies[i];
    return NULL;
}

/* Calls a plugin and pumps until it answers; returns the reply or NULL. */
static struct th_reply *th_call(struct th_node *n, const char *plugin,
                                const char *method, const char *arg,
                                uint64_t id)
{
    int rc = plugin_host_call(n->h, plugin, method, strlen(method),
                              (const uint8_t *)arg, strlen(arg), id);
    if (rc) {
        static struct th_reply r;
        r.call = id;
        r.status = rc;
        snprintf(r.data, sizeof(r.data), "refused: %s", fastn_err_name(rc));
        return &r;
    }
    th_pump(100000);
    return th_reply_for(n, id);
}

static void th_init_time(void)
{
    th_peer_id(TH_NODES, TH.raw_peer);
    TH.now = 1700000000000ull;
    TH.mono = 1000000;
}

#endif
