/*
 * Control requests about peers and connections: CONNECT, DISCONNECT and
 * LIST_PEERS (as go-libp2p-daemon answers them), and the fastn extension's
 * PEERS (with details), PING and the network part of STATUS. DISCONNECT
 * is for admins (dispatch.c's table); the others for every client.
 *
 * CONNECT and PING are deferred (ipc_call_defer): the handler starts the
 * work and the swarm's callback answers; both are ordered, so a client
 * that pipelines requests gets its answers in order.
 */
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "net/swarm.h"
#include "router/router.h"

/* go-libp2p-daemon's default for CONNECT and STREAM_OPEN. */
#define DEFAULT_TIMEOUT_MS 60000
#define PING_TIMEOUT_MS 10000
#define MAX_ADDRS 16

int ipc_no_network(struct ipc_call *call)
{
    ipc_reply_set_msg(&call->reply, "fastnd runs without a network here");
    return FASTN_ERR_UNSUPPORTED;
}

int ipc_req_peer(struct ipc_call *call, const ProtobufCBinaryData *b,
                 struct peer_id *out)
{
    if (peer_id_from_bytes(b->data, b->len, out) != 0) {
        ipc_reply_set_msg(&call->reply, "the request's peer is not a valid "
                                        "PeerID");
        return FASTN_ERR_BAD_PEER_ID;
    }
    return 0;
}

static uint32_t timeout_ms(int64_t secs, bool has)
{
    if (!has || secs <= 0)
        return DEFAULT_TIMEOUT_MS;
    return secs > 3600 ? 3600000u : (uint32_t)secs * 1000;
}

/* --- CONNECT ---------------------------------------------------------------
 */

struct connect_ctx {
    struct ipc_call *dc;
    struct swarm_wait *wait;
    struct peer_id peer;
    struct swarm *swarm;
    struct multiaddr addrs[MAX_ADDRS];
    size_t n;
    bool exact;    /* ConnectRequest.exact: those addresses or fail */
    bool remember; /* an admin's: its addresses go to the address book */
    struct swarm_connect_info info;
};

/* "cannot connect to PEER: why", naming the address for an exact
 * CONNECT (the one tried last, when there were several). */
static void connect_error(struct ipc_reply *r, const struct connect_ctx *ctx,
                          int err)
{
    char pid[PEER_ID_STR_MAX], addr[MULTIADDR_STR_MAX] = "";

    peer_id_format(&ctx->peer, pid);
    if (ctx->exact && ctx->n &&
        multiaddr_format(&ctx->addrs[ctx->n - 1], addr, sizeof(addr)) > 0)
        ipc_reply_set_msg(r, "cannot connect to %s at %s%s: %s", pid, addr,
                          ctx->n > 1 ? " (the last address tried)" : "",
                          fastn_strerror(err));
    else
        ipc_reply_set_msg(r, "cannot connect to %s: %s", pid,
                          fastn_strerror(err));
}

static uint32_t us_between(uint64_t from_ns, uint64_t to_ns)
{
    uint64_t us = to_ns > from_ns ? (to_ns - from_ns) / 1000 : 0;
    return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* The fastn extension's ConnectInfo in the OK: how the peer was found,
 * the lookup's and the connection's time, the path. */
static int connect_info_reply(struct ipc_reply *r, struct connect_ctx *ctx)
{
    struct swarm_connect_info *in = &ctx->info;
    Fastn__ConnectInfo *ci = ipc_reply_alloc(r, sizeof(*ci));
    uint64_t mid = in->lookup_ns ? in->lookup_ns : in->start_ns;

    if (!ci)
        return FASTN_ERR_NOMEM;
    swarm_connect_info_finish(ctx->swarm, &ctx->peer, in);
    fastn__connect_info__init(ci);
    ci->has_found = true;
    ci->found = in->found == SWARM_FOUND_DHT ? FASTN__CONNECT_INFO__FOUND__DHT
                : in->found == SWARM_FOUND_KNOWN
                    ? FASTN__CONNECT_INFO__FOUND__KNOWN
                    : FASTN__CONNECT_INFO__FOUND__CONNECTED;
    ci->has_lookup_us = ci->has_connect_us = ci->has_relayed = true;
    ci->lookup_us = us_between(in->start_ns, mid);
    ci->connect_us = us_between(mid, in->end_ns);
    ci->relayed = in->relayed;
    ipc_reply_ext(r)->connect = ci;
    return 0;
}

static void connect_done(void *arg, int err)
{
    struct connect_ctx *ctx = arg;
    struct ipc_call *dc = ctx->dc;

    if (!err && !ctx->exact)
        err = connect_info_reply(&dc->reply, ctx);
    if (err)
        connect_error(&dc->reply, ctx, err);
    /* also when a connection was there already (an exact one dialed
     * them, and the swarm keeps the address that worked) */
    else if (ctx->remember && !ctx->exact)
        swarm_remember(ctx->swarm, &ctx->peer, ctx->addrs, ctx->n);
    free(ctx);
    ipc_call_finish(dc, err);
}

static void connect_cancel(struct ipc_call *dc)
{
    struct connect_ctx *ctx = dc->data;

    swarm_wait_cancel(ctx->wait);
    free(ctx);
}

/* The request's addresses; ones fastn cannot use are skipped (a peer may
 * announce QUIC or WebSocket addresses too). */
static size_t request_addrs(const P2pd__Pb__ConnectRequest *c,
                            struct multiaddr *out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < c->n_addrs && n < max; i++)
        if (multiaddr_from_bytes(c->addrs[i].data, c->addrs[i].len, &out[n]) ==
            0)
            n++;
    return n;
}

int ipc_handle_connect(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    struct multiaddr addrs[MAX_ADDRS];
    struct connect_ctx *ctx;
    size_t n;
    int err;

    if (!call->host->swarm)
        return ipc_no_network(call);
    if (!req->connect) {
        ipc_reply_set_msg(&call->reply, "CONNECT without its part");
        return FASTN_ERR_MALFORMED;
    }
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return FASTN_ERR_NOMEM;
    err = ipc_req_peer(call, &req->connect->peer, &ctx->peer);
    n = request_addrs(req->connect, addrs, MAX_ADDRS);
    ctx->swarm = call->host->swarm;
    memcpy(ctx->addrs, addrs, n * sizeof(*addrs));
    ctx->n = n;
    ctx->exact = req->connect->has_exact && req->connect->exact && n > 0;
    /* A non-admin's addresses are used, but go to the shared address book
     * only as the swarm dials them successfully: never unverified ones
     * next to the owner's peers (a reused connection proves nothing). */
    ctx->remember = call->session->admit == IPC_ADMIN;
    if (!err)
        err = (ctx->exact ? swarm_connect_exact : swarm_connect)(
            call->host->swarm, &ctx->peer, addrs, n,
            timeout_ms(req->connect->timeout, req->connect->has_timeout),
            connect_done, ctx, &ctx->wait);
    if (!err && !ctx->exact)
        swarm_wait_info(ctx->wait, &ctx->info);
    if (!err &&
        !(ctx->dc = ipc_call_defer(call, true, connect_cancel, ctx, &err)))
        swarm_wait_cancel(ctx->wait);
    if (err) {
        if (err != FASTN_ERR_BAD_PEER_ID)
            connect_error(&call->reply, ctx, err);
        free(ctx);
        return err;
    }
    return IPC_DEFERRED;
}

/* --- DISCONNECT -------------------------------------------------------------
 */

int ipc_handle_disconnect(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    struct peer_id peer;
    int err;

    if (!call->host->swarm)
        return ipc_no_network(call);
    if (!req->disconnect) {
        ipc_reply_set_msg(&call->reply, "DISCONNECT without its part");
        return FASTN_ERR_MALFORMED;
    }
    err = ipc_req_peer(call, &req->disconnect->peer, &peer);
    if (err)
        return err;
    /* as go-libp2p-daemon: not being connected is no error */
    swarm_disconnect(call->host->swarm, &peer);
    return 0;
}

/* --- LIST_PEERS and PEERS ----------------------------------------------------
 */

struct peer_walk {
    struct ipc_call *call;
    size_t n, max;
    P2pd__Pb__PeerInfo **infos; /* LIST_PEERS */
    Fastn__PeerConn **conns;    /* PEERS */
    size_t proto_bytes;         /* PEERS: protocol ids so far */
    int err;
};

/* Protocol ids in one PEERS reply at most (the rest are left out), so
 * that many peers with long lists stay within IPC_MAX_RESPONSE. */
#define PEERS_PROTO_BUDGET (1u << 20)

/* How many peers swarm_foreach_peer() walks (kept by the swarm: a list
 * of ten thousand is not walked twice). */
static size_t peer_count(struct swarm *sw)
{
    struct swarm_stats st;

    swarm_get_stats(sw, &st);
    return st.peers;
}

static void *copy_bytes(struct ipc_call *call, const void *p, size_t n,
                        ProtobufCBinaryData *out)
{
    uint8_t *c = ipc_reply_alloc(&call->reply, n ? n : 1);
    if (c) {
        memcpy(c, p, n);
        out->data = c;
        out->len = n;
    }
    return c;
}

static void add_peer_info(void *arg, const struct swarm_peer_info *info)
{
    struct peer_walk *w = arg;
    struct ipc_reply *r = &w->call->reply;
    P2pd__Pb__PeerInfo *pi;

    if (w->err || w->n >= w->max)
        return;
    pi = ipc_reply_alloc(r, sizeof(*pi));
    if (pi) {
        p2pd__pb__peer_info__init(pi);
        pi->addrs = ipc_reply_alloc(r, sizeof(*pi->addrs));
    }
    if (!pi || !pi->addrs ||
        !copy_bytes(w->call, info->peer.bytes, info->peer.len, &pi->id) ||
        !copy_bytes(w->call, info->remote.bytes, info->remote.len,
                    &pi->addrs[0])) {
        w->err = FASTN_ERR_NOMEM;
        return;
    }
    pi->n_addrs = info->remote.len ? 1 : 0;
    w->infos[w->n++] = pi;
}

int ipc_handle_list_peers(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    struct peer_walk w = {.call = call};

    (void)req;
    if (!call->host->swarm)
        return 0; /* no network: no peers */
    w.max = peer_count(call->host->swarm);
    if (!w.max)
        return 0;
    w.infos = ipc_reply_alloc(&call->reply, w.max * sizeof(*w.infos));
    if (!w.infos)
        return FASTN_ERR_NOMEM;
    swarm_foreach_peer(call->host->swarm, add_peer_info, &w);
    call->reply.resp.peers = w.infos;
    call->reply.resp.n_peers = w.n;
    return w.err;
}

static int fill_protocols(struct peer_walk *w, Fastn__PeerConn *pc,
                          const struct swarm_peer_info *info)
{
    struct ipc_reply *r = &w->call->reply;
    size_t n = info->n_protocols, k = 0;

    pc->protocols = ipc_reply_alloc(r, (n + 1) * sizeof(*pc->protocols));
    if (!pc->protocols)
        return FASTN_ERR_NOMEM;
    for (; k < n; k++) {
        size_t len = strlen(info->protocols[k]) + 1;
        if (w->proto_bytes + len > PEERS_PROTO_BUDGET)
            break;
        if (!(pc->protocols[k] = ipc_reply_alloc(r, len)))
            return FASTN_ERR_NOMEM;
        memcpy(pc->protocols[k], info->protocols[k], len);
        w->proto_bytes += len;
    }
    pc->n_protocols = k;
    return 0;
}

static int fill_conn(struct peer_walk *w, Fastn__PeerConn *pc,
                     const struct swarm_peer_info *info)
{
    struct ipc_call *call = w->call;
    char *agent;

    if (!copy_bytes(call, info->peer.bytes, info->peer.len, &pc->peer_id) ||
        !copy_bytes(call, info->remote.bytes, info->remote.len, &pc->addr))
        return FASTN_ERR_NOMEM;
    pc->has_addr = info->remote.len > 0;
    pc->has_inbound = true;
    pc->inbound = info->inbound;
    pc->has_relayed = true;
    pc->relayed = info->limited;
    agent = ipc_reply_alloc(&call->reply, sizeof(info->agent));
    if (!agent)
        return FASTN_ERR_NOMEM;
    memcpy(agent, info->agent, sizeof(info->agent));
    pc->agent = agent;
    pc->has_rtt_us = pc->has_streams = pc->has_connected_ms = true;
    pc->rtt_us = info->rtt_us;
    pc->streams = info->streams;
    pc->connected_ms = info->connected_ms;
    pc->listen_addrs = ipc_reply_alloc(
        &call->reply, (info->n_listen + 1) * sizeof(*pc->listen_addrs));
    if (!pc->listen_addrs)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < info->n_listen; i++)
        if (!copy_bytes(call, info->listen[i].bytes, info->listen[i].len,
                        &pc->listen_addrs[i]))
            return FASTN_ERR_NOMEM;
    pc->n_listen_addrs = info->n_listen;
    return fill_protocols(w, pc, info);
}

static void add_peer_conn(void *arg, const struct swarm_peer_info *info)
{
    struct peer_walk *w = arg;
    Fastn__PeerConn *pc;

    if (w->err || w->n >= w->max)
        return;
    pc = ipc_reply_alloc(&w->call->reply, sizeof(*pc));
    if (!pc) {
        w->err = FASTN_ERR_NOMEM;
        return;
    }
    fastn__peer_conn__init(pc);
    w->err = fill_conn(w, pc, info);
    w->conns[w->n++] = pc;
}

int ipc_ext_peers(struct ipc_call *call, const Fastn__Request *req,
                  Fastn__Response *ext)
{
    struct peer_walk w = {.call = call};

    (void)req;
    if (!call->host->swarm)
        return 0;
    w.max = peer_count(call->host->swarm);
    if (!w.max)
        return 0;
    w.conns = ipc_reply_alloc(&call->reply, w.max * sizeof(*w.conns));
    if (!w.conns)
        return FASTN_ERR_NOMEM;
    swarm_foreach_peer(call->host->swarm, add_peer_conn, &w);
    ext->peers = w.conns;
    ext->n_peers = w.n;
    return w.err;
}

/* --- PING
 * --------------------------------------------------------------------- */

struct ping_ctx {
    struct ipc_call *dc;
    struct swarm_ping *ping;
    struct peer_id peer;
};

static void ping_done(void *arg, int err, uint64_t rtt)
{
    struct ping_ctx *ctx = arg;
    struct ipc_call *dc = ctx->dc;
    Fastn__PingResult *pr;
    char pid[PEER_ID_STR_MAX];

    if (!err) {
        pr = ipc_reply_alloc(&dc->reply, sizeof(*pr));
        if (pr) {
            fastn__ping_result__init(pr);
            pr->rtt_us = rtt;
            dc->reply.ext.ping = pr;
        } else {
            err = FASTN_ERR_NOMEM;
        }
    } else {
        ipc_reply_set_msg(&dc->reply, "cannot ping %s: %s",
                          peer_id_format(&ctx->peer, pid), fastn_strerror(err));
    }
    free(ctx);
    ipc_call_finish(dc, err);
}

static void ping_cancel(struct ipc_call *dc)
{
    struct ping_ctx *ctx = dc->data;

    swarm_ping_cancel(ctx->ping);
    free(ctx);
}

int ipc_ext_ping(struct ipc_call *call, const Fastn__Request *req,
                 Fastn__Response *ext)
{
    struct ping_ctx *ctx;
    uint32_t ms;
    int err;

    (void)ext;
    if (!call->host->swarm)
        return ipc_no_network(call);
    if (!req->ping) {
        ipc_reply_set_msg(&call->reply, "PING without its part");
        return FASTN_ERR_MALFORMED;
    }
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return FASTN_ERR_NOMEM;
    ms = req->ping->has_timeout_ms && req->ping->timeout_ms
             ? req->ping->timeout_ms
             : PING_TIMEOUT_MS;
    err = ipc_req_peer(call, &req->ping->peer, &ctx->peer);
    if (!err)
        err = swarm_ping(call->host->swarm, &ctx->peer, ms, ping_done, ctx,
                         &ctx->ping);
    if (!err && !(ctx->dc = ipc_call_defer(call, true, ping_cancel, ctx, &err)))
        swarm_ping_cancel(ctx->ping);
    if (err) {
        free(ctx);
        return err;
    }
    return IPC_DEFERRED;
}

/* --- STATUS
 * ------------------------------------------------------------------------ */

/* Binary multiaddrs of v[0..n) into the reply, as a protobuf list. */
static ProtobufCBinaryData *reply_addrs(struct ipc_call *call,
                                        const struct multiaddr *v, size_t n)
{
    ProtobufCBinaryData *b =
        ipc_reply_alloc(&call->reply, (n + 1) * sizeof(*b));
    struct multiaddr *copy =
        ipc_reply_alloc(&call->reply, (n + 1) * sizeof(*v));

    if (!b || !copy)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        copy[i] = v[i];
        b[i].data = copy[i].bytes;
        b[i].len = copy[i].len;
    }
    return b;
}

/* Reachability: AutoNAT's verdict, public and observed addresses. */
static int status_dht(struct ipc_call *call, struct swarm *sw,
                      Fastn__Status *st)
{
    struct swarm_kad_info ki;

    (void)call;
    swarm_kad_get(sw, &ki);
    st->dht_mode = (char *)ki.mode; /* a static string */
    st->has_dht_server = st->has_dht_peers = true;
    st->dht_server = ki.server;
    st->dht_peers = (uint32_t)ki.table_size;
    return 0;
}

static int status_reach(struct ipc_call *call, struct swarm *sw,
                        Fastn__Status *st)
{
    struct swarm_reach_info *ri = ipc_reply_alloc(&call->reply, sizeof(*ri));
    struct swarm_relay_info rl;

    if (!ri)
        return FASTN_ERR_NOMEM;
    swarm_reach_get(sw, ri);
    st->reachability = (char *)ri->reachability;
    st->has_autonat_server = true;
    st->autonat_server = ri->autonat_server;
    st->public_addrs = reply_addrs(call, ri->public_addrs, ri->n_public);
    st->observed_addrs = reply_addrs(call, ri->observed, ri->n_observed);
    if (!st->public_addrs || !st->observed_addrs)
        return FASTN_ERR_NOMEM;
    st->n_public_addrs = ri->n_public;
    st->n_observed_addrs = ri->n_observed;
    st->has_autonat_v1_answers = st->has_autonat_v2_answers = true;
    st->has_reach_decided_by = true;
    st->autonat_v1_answers = (uint32_t)ri->answers[0];
    st->autonat_v2_answers = (uint32_t)ri->answers[1];
    st->reach_decided_by = ri->decided_by;
    if (ri->has_confirmed) {
        st->has_reach_confirmed_addr = st->has_reach_confirmed_by = true;
        st->reach_confirmed_addr.data = ri->confirmed.bytes;
        st->reach_confirmed_addr.len = ri->confirmed.len;
        st->reach_confirmed_by = ri->confirmed_by;
    }
    swarm_relay_get(sw, &rl);
    st->has_relays = st->has_relay_reservations = st->has_relay_service = true;
    st->relays = (uint32_t)rl.candidates;
    st->relay_reservations = (uint32_t)rl.reservations;
    st->relay_service = rl.service;
    st->has_relay_served = st->has_relay_circuits = rl.service;
    st->relay_served = (uint32_t)rl.served_reservations;
    st->relay_circuits = (uint32_t)rl.circuits;
    if (rl.n_found) {
        ProtobufCBinaryData *b =
            ipc_reply_alloc(&call->reply, rl.n_found * sizeof(*b));
        struct peer_id *ids =
            ipc_reply_alloc(&call->reply, rl.n_found * sizeof(*ids));
        if (!b || !ids)
            return FASTN_ERR_NOMEM;
        for (size_t i = 0; i < rl.n_found; i++) {
            ids[i] = rl.found[i];
            b[i].data = ids[i].bytes;
            b[i].len = ids[i].len;
        }
        st->relays_found = b;
        st->n_relays_found = rl.n_found;
    }
    return status_dht(call, sw, st);
}

int ipc_status_network(struct ipc_call *call, Fastn__Status *st)
{
    struct swarm *sw = call->host->swarm;
    struct multiaddr *addrs;
    struct swarm_stats ss;
    struct router_stats rs;
    size_t n;

    if (!sw)
        return 0;
    swarm_get_stats(sw, &ss);
    st->peers = ss.peers;
    st->connections = ss.connections;
    st->streams = ss.streams;
    st->has_dials = st->has_handshakes = st->has_pending = true;
    st->has_streams_total = true;
    st->dials = ss.dials;
    st->handshakes = ss.handshakes;
    st->pending = ss.pending;
    st->streams_total = ss.streams_total;
    if (call->host->router) {
        router_get_stats(call->host->router, &rs);
        /* a client's or a plugin's: not the daemon's own protocols */
        st->handlers =
            rs.handlers -
            (call->host->registry ? call->host->registry->own_handlers : 0);
    }
    addrs = ipc_reply_alloc(&call->reply, 32 * sizeof(*addrs));
    st->listen_addrs =
        ipc_reply_alloc(&call->reply, 32 * sizeof(*st->listen_addrs));
    if (!addrs || !st->listen_addrs)
        return FASTN_ERR_NOMEM;
    n = swarm_listen_addrs(sw, addrs, 32);
    for (size_t i = 0; i < n; i++) {
        st->listen_addrs[i].data = addrs[i].bytes;
        st->listen_addrs[i].len = addrs[i].len;
    }
    st->n_listen_addrs = n;
    return status_reach(call, sw, st);
}
