/*
 * The swarm's Kademlia DHT (/ipfs/kad/1.0.0, net/kad.h) on real streams.
 *
 *  - Routing table: a peer whose identify lists the protocol (a DHT
 *    server) joins it with its listen addresses (the reach policy decides
 *    which scopes count); a peer that answered a query is refreshed, one
 *    that failed leaves. The daemon loads and saves it
 *    (swarm_kad_load/save).
 *  - Bootstrap: the configured peers are dialed shortly after start and
 *    whenever the table is empty at a refresh; every KAD_REFRESH_MS a
 *    lookup of our own PeerID fills the buckets near us. Nothing waits on
 *    it: a daemon whose bootstrap peers do not answer just has an empty
 *    table.
 *  - Queries (swarm_kad_query): an iterative kad_lookup whose requests
 *    each go on a new stream (connect, one request, one answer, 10 s);
 *    PUT_VALUE and PROVIDE then send their record to the k closest.
 *    At most KAD_QUERIES_MAX at once, each bounded by its deadline and by
 *    the lookup's own bounds.
 *  - Server (mode server, or auto once AutoNAT says public): incoming
 *    streams answered by kad_server_handle(), one request after another.
 *  - A dial to a PeerID with no known address asks the DHT
 *    (swarm__kad_dial): the addresses found are dialed, direct ones
 *    first.
 */
#include "net/swarm_int.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "net/kad.h"
#include "net/lp.h"
#include "net/relay.h"
#include "util/log.h"

#define KAD_QUERIES_MAX 64
#define KAD_RPC_TIMEOUT_MS 10000
#define KAD_QUERY_TIMEOUT_MS 60000
#define KAD_REFRESH_MS (5 * 60 * 1000)
#define KAD_FIRST_REFRESH_MS 200
#define KAD_STORE_PROVIDERS 4096
#define KAD_STORE_VALUES 1024
#define KAD_SEEN_MAX 64 /* providers or values told per query */
#define KAD_SERVER_STREAMS 256

struct kad_rpc;

struct swarm_kad_query {
    struct swarm_kad *k;
    struct swarm_kad_query *next, **pprev;
    enum swarm_kad_op op;
    struct kad_lookup lk;
    bool has_lk, storing, finished;
    struct peer_id target; /* FIND_PEER */
    uint8_t key[KAD_KEY_MAX];
    size_t key_len, max, told;
    uint8_t *value; /* PUT_VALUE */
    size_t value_len;
    uint8_t seen[KAD_SEEN_MAX][KAD_HASH_LEN]; /* told providers/values */
    size_t n_seen;
    swarm_kad_cb cb;
    void *arg;
    uv_timer_t timer;
    uint32_t timeout_ms;
    struct kad_rpc *rpcs;
    unsigned pending, stored;
    int last_err;
};

struct kad_rpc {
    struct swarm_kad_query *q;
    struct kad_rpc *next, **pprev;
    struct peer_id peer;
    size_t n_addrs;
    struct multiaddr addrs[KAD_ENTRY_ADDRS];
    struct swarm_wait *wait;
    struct swarm_stream *st;
    struct lp_reader lp;
    struct buf req;
    bool want_reply;
    bool sent; /* the request and our FIN are queued */
};

struct swarm_kad {
    struct swarm *sw;
    struct kad_table table;
    struct kad_store store;
    struct addr_policy policy;
    enum swarm_kad_mode mode;
    size_t n_boot;
    struct multiaddr boot[SWARM_KAD_BOOTSTRAP_MAX];
    struct peer_id boot_id[SWARM_KAD_BOOTSTRAP_MAX];
    uv_timer_t timer;
    struct swarm_kad_query *queries;
    unsigned n_queries, n_serving;
    bool refreshing;
    uint64_t n_rpcs, n_served;
};

static void query_drive(struct swarm_kad_query *q);
static void query_finish(struct swarm_kad_query *q, int err);

/* --- the table ------------------------------------------------------------ */

/* The addresses of v the policy allows, direct ones (at most max). */
static size_t usable_addrs(const struct swarm_kad *k, const struct multiaddr *v,
                           size_t n, struct multiaddr *out, size_t max)
{
    size_t m = 0;

    for (size_t i = 0; i < n && m < max; i++)
        if (!relay_is_circuit(&v[i]) &&
            addr_policy_allows(&k->policy, addr_scope_of(&v[i])))
            out[m++] = v[i];
    return m;
}

static void table_add(struct swarm_kad *k, const struct peer_id *id,
                      const struct multiaddr *addrs, size_t n)
{
    struct multiaddr use[KAD_ENTRY_ADDRS];
    struct peer_id check;
    size_t m = usable_addrs(k, addrs, n, use, KAD_ENTRY_ADDRS);

    if (m == 0 && !kad_table_find(&k->table, id))
        return; /* a peer we could not dial is no use to others */
    if (m == 0) {
        const struct kad_entry *e = kad_table_find(&k->table, id);
        m = e->n_addrs;
        memcpy(use, e->addrs, m * sizeof(*use));
    }
    kad_table_add(&k->table, id, use, m, swarm__now_us(), &check);
}

void swarm__kad_identified(struct swarm_conn *sc)
{
    struct swarm_kad *k = sc->sw->kad;

    if (!k || k->mode == SWARM_KAD_OFF || sc->limited || !sc->protos ||
        !swarm__conn_may_serve(sc, KAD_PROTOCOL_ID))
        return;
    table_add(k, &sc->peer, sc->listen, sc->n_listen);
}

static bool serving(const struct swarm_kad *k)
{
    if (k->mode == SWARM_KAD_SERVER)
        return true;
    if (k->mode != SWARM_KAD_AUTO)
        return false;
    struct swarm_reach_info ri;
    swarm_reach_get(k->sw, &ri);
    return !strcmp(ri.reachability, "public");
}

bool swarm__kad_serves(const struct swarm *sw)
{
    return sw->kad && serving(sw->kad);
}

/* --- one request on its own stream ------------------------------------------
 */

static void rpc_free(struct kad_rpc *r)
{
    if (r->wait)
        swarm_wait_cancel(r->wait);
    if (r->st)
        swarm_stream_reset(r->st);
    *r->pprev = r->next;
    if (r->next)
        r->next->pprev = r->pprev;
    lp_reader_cleanup(&r->lp);
    buf_cleanup(&r->req);
    free(r);
}

static void query_answer(struct swarm_kad_query *q, struct kad_rpc *r, int err,
                         const struct kad_msg *m);

/* The request ended: the query hears of it, the request is gone. */
static void rpc_done(struct kad_rpc *r, int err, const struct kad_msg *m)
{
    struct swarm_kad_query *q = r->q;
    struct peer_id peer = r->peer;
    struct multiaddr addrs[KAD_ENTRY_ADDRS];
    size_t n = r->n_addrs;

    memcpy(addrs, r->addrs, n * sizeof(*addrs));
    if (r->st) {
        swarm_stream_reset(r->st);
        r->st = NULL;
    }
    r->wait = NULL;
    rpc_free(r);
    if (!err)
        table_add(q->k, &peer, addrs, n);
    else if (err != FASTN_ERR_CANCELED)
        kad_table_failed(&q->k->table, &peer);
    if (err && err != FASTN_ERR_CANCELED)
        q->last_err = err;
    query_answer(q, &(struct kad_rpc){.peer = peer}, err, m);
}

static void rpc_message(struct kad_rpc *r, const uint8_t *p, size_t n)
{
    struct kad_msg *m = kad_msg_new();
    int err = m ? kad_msg_decode(p, n, m) : FASTN_ERR_NOMEM;

    if (err) {
        char pid[PEER_ID_STR_MAX];
        log_msg(LOG_DEBUG, "kad", "%s: bad answer: %s",
                peer_id_format(&r->peer, pid), fastn_strerror(err));
    }
    rpc_done(r, err, err ? NULL : m);
    kad_msg_free(m);
}

/* ADD_PROVIDER has no answer (the kad spec): once the peer took the
 * stream and our request and FIN went out, its reset counts as delivered,
 * as go- and js-libp2p count a request they only write. js-libp2p's
 * kad-dht resets such a stream after handling the request when our FIN
 * comes while it waits for a next one. */
static bool unanswered_delivered(const struct kad_rpc *r, int err)
{
    return !r->want_reply && r->sent && err == FASTN_ERR_NET_STREAM_RESET;
}

static void rpc_stream_cb(struct swarm_stream *st,
                          const struct swarm_stream_event *ev, void *arg)
{
    struct kad_rpc *r = arg;
    const uint8_t *msg;
    size_t len;
    int rc;

    switch (ev->type) {
    case SWARM_STREAM_OPEN:
        if (swarm_stream_write(st, r->req.data, r->req.len) !=
                (int)r->req.len ||
            swarm_stream_close(st))
            rpc_done(r, FASTN_ERR_NET_STREAM_RESET, NULL);
        else
            r->sent = true;
        break;
    case SWARM_STREAM_DATA:
        rc = swarm__stream_lp_data(st, ev, &r->lp, !r->want_reply, &msg, &len);
        if (rc < 0)
            rpc_done(r, FASTN_ERR_NET_BAD_MESSAGE, NULL);
        else if (rc == 1)
            rpc_message(r, msg, len);
        break;
    case SWARM_STREAM_CLOSED:
        r->st = NULL;
        rpc_done(r,
                 ev->err && !unanswered_delivered(r, ev->err) ? ev->err
                 : r->want_reply ? FASTN_ERR_NET_BAD_MESSAGE
                                 : 0,
                 NULL);
        break;
    default:
        break;
    }
}

static void rpc_connected(void *arg, int err)
{
    struct kad_rpc *r = arg;
    const char *proto = KAD_PROTOCOL_ID;
    char pid[PEER_ID_STR_MAX];

    log_msg(LOG_DEBUG, "kad", "%s: %s", peer_id_format(&r->peer, pid),
            err ? fastn_strerror(err) : "connected, sending the request");
    r->wait = NULL;
    if (!err) {
        r->st = swarm_stream_open(r->q->k->sw, &r->peer, &proto, 1,
                                  KAD_RPC_TIMEOUT_MS, rpc_stream_cb, r, &err);
        if (r->st && swarm_stream_set_timeout(r->st, KAD_RPC_TIMEOUT_MS))
            err = FASTN_ERR_NOMEM;
    }
    if (err)
        rpc_done(r, err, NULL);
}

/* Sends request req (taken) to peer: the answer comes to query_answer. */
static int rpc_start(struct swarm_kad_query *q, const struct peer_id *peer,
                     const struct multiaddr *addrs, size_t n, struct buf *req,
                     bool want_reply)
{
    struct swarm_kad *k = q->k;
    struct kad_rpc *r = calloc(1, sizeof(*r));
    int err;

    if (!r)
        return FASTN_ERR_NOMEM;
    r->q = q;
    r->peer = *peer;
    r->n_addrs = usable_addrs(k, addrs, n, r->addrs, KAD_ENTRY_ADDRS);
    r->req = *req;
    memset(req, 0, sizeof(*req));
    r->want_reply = want_reply;
    lp_reader_init(&r->lp, KAD_MAX_MSG);
    r->next = q->rpcs;
    r->pprev = &q->rpcs;
    if (q->rpcs)
        q->rpcs->pprev = &r->next;
    q->rpcs = r;
    k->n_rpcs++;
    /* never a DHT lookup to reach a DHT peer: no address, no request */
    if (r->n_addrs == 0 && !swarm__conn_for(k->sw, peer))
        err = FASTN_ERR_NET_NO_ADDR;
    else
        err = swarm_connect(k->sw, peer, r->addrs, r->n_addrs,
                            KAD_RPC_TIMEOUT_MS, rpc_connected, r, &r->wait);
    if (err) {
        char pid[PEER_ID_STR_MAX];
        log_msg(LOG_DEBUG, "kad", "request to %s not sent: %s",
                peer_id_format(peer, pid), fastn_strerror(err));
        r->wait = NULL;
        rpc_free(r);
    }
    return err;
}

/* --- queries ---------------------------------------------------------------
 */

static bool seen_add(struct swarm_kad_query *q, const uint8_t *p, size_t n)
{
    uint8_t h[KAD_HASH_LEN];

    kad_hash(p, n, h);
    for (size_t i = 0; i < q->n_seen; i++)
        if (!memcmp(q->seen[i], h, KAD_HASH_LEN))
            return false;
    if (q->n_seen == KAD_SEEN_MAX)
        return false;
    memcpy(q->seen[q->n_seen++], h, KAD_HASH_LEN);
    return true;
}

static void tell_peer(struct swarm_kad_query *q, const struct peer_id *id,
                      const struct multiaddr *addrs, size_t n)
{
    struct swarm_kad_result res = {
        .type = SWARM_KAD_PEER, .peer = id, .addrs = addrs, .n_addrs = n};
    q->told++;
    if (q->cb)
        q->cb(q->arg, &res);
}

static void tell_value(struct swarm_kad_query *q, const uint8_t *v, size_t n)
{
    struct swarm_kad_result res = {
        .type = SWARM_KAD_VALUE, .value = v, .value_len = n};
    q->told++;
    if (q->cb)
        q->cb(q->arg, &res);
}

static void on_provider(struct swarm_kad_query *q, const struct kad_peer *p)
{
    const struct kad_entry *e;

    if (q->told >= q->max || !seen_add(q, p->id.bytes, p->id.len))
        return;
    /* a record without addresses: the table may know them */
    if (!p->n_addrs && (e = kad_table_find(&q->k->table, &p->id)))
        tell_peer(q, &p->id, e->addrs, e->n_addrs);
    else
        tell_peer(q, &p->id, p->addrs, p->n_addrs);
}

/* An answer that may end the query early: true when it did. */
static bool answer_goal(struct swarm_kad_query *q, const struct kad_msg *m)
{
    switch (q->op) {
    case SWARM_KAD_FIND_PEER:
        for (size_t i = 0; i < m->n_closer; i++)
            if (peer_id_equal(&m->closer[i].id, &q->target) &&
                m->closer[i].n_addrs) {
                tell_peer(q, &q->target, m->closer[i].addrs,
                          m->closer[i].n_addrs);
                query_finish(q, 0);
                return true;
            }
        return false;
    case SWARM_KAD_FIND_PROVIDERS:
        for (size_t i = 0; i < m->n_providers; i++)
            on_provider(q, &m->providers[i]);
        break;
    case SWARM_KAD_GET_VALUE:
    case SWARM_KAD_SEARCH_VALUE:
        if (m->has_record && m->rec_key_len == q->key_len &&
            !memcmp(m->rec_key, q->key, q->key_len) &&
            !kad_record_validate(q->key, q->key_len, m->value, m->value_len) &&
            seen_add(q, m->value, m->value_len)) {
            kad_store_put_value(&q->k->store, q->key, q->key_len, m->value,
                                m->value_len, swarm__now_us());
            tell_value(q, m->value, m->value_len);
            if (q->op == SWARM_KAD_GET_VALUE || q->told >= q->max) {
                query_finish(q, 0);
                return true;
            }
        }
        break;
    default:
        break;
    }
    if (q->op == SWARM_KAD_FIND_PROVIDERS && q->told >= q->max) {
        query_finish(q, 0);
        return true;
    }
    return false;
}

static void query_answer(struct swarm_kad_query *q, struct kad_rpc *r, int err,
                         const struct kad_msg *m)
{
    if (q->finished)
        return;
    if (q->storing) {
        q->pending--;
        if (!err)
            q->stored++;
        if (!q->pending)
            query_finish(q, q->stored ? 0 : q->last_err);
        return;
    }
    if (err) {
        kad_lookup_failed(&q->lk, &r->peer);
    } else {
        kad_lookup_response(&q->lk, &r->peer, m);
        if (answer_goal(q, m))
            return;
    }
    query_drive(q);
}

/* PUT_VALUE and PROVIDE: the record goes to the k closest found. */
static int store_request(struct swarm_kad_query *q, struct buf *out)
{
    struct kad_msg *m = kad_msg_new();
    struct swarm *sw = q->k->sw;
    int err;

    if (!m)
        return FASTN_ERR_NOMEM;
    m->key_len = q->key_len;
    memcpy(m->key, q->key, q->key_len);
    if (q->op == SWARM_KAD_PUT_VALUE) {
        m->type = KAD_PUT_VALUE;
        m->has_record = true;
        m->rec_key_len = q->key_len;
        memcpy(m->rec_key, q->key, q->key_len);
        m->value_len = q->value_len;
        memcpy(m->value, q->value, q->value_len);
    } else {
        struct multiaddr a[KAD_PEER_ADDRS];
        size_t n = swarm_advertised_addrs(sw, a, KAD_PEER_ADDRS);
        m->type = KAD_ADD_PROVIDER;
        m->n_providers = 1;
        m->providers[0].id = sw->identity->id;
        m->providers[0].n_addrs =
            usable_addrs(q->k, a, n, m->providers[0].addrs, KAD_PEER_ADDRS);
    }
    err = kad_msg_encode(m, out);
    kad_msg_free(m);
    return err;
}

static void store_start(struct swarm_kad_query *q)
{
    const struct kad_cand *c[KAD_K];
    size_t n = kad_lookup_closest(&q->lk, c, KAD_K);

    q->storing = true;
    for (size_t i = 0; i < n; i++) {
        struct buf req = {.max = KAD_MAX_MSG + 16};
        int err = store_request(q, &req);
        if (!err)
            err = rpc_start(q, &c[i]->id, c[i]->addrs, c[i]->n_addrs, &req,
                            q->op == SWARM_KAD_PUT_VALUE);
        buf_cleanup(&req);
        if (err)
            q->last_err = err;
        else
            q->pending++;
    }
    if (!q->pending)
        query_finish(q, q->stored ? 0 : n ? q->last_err : FASTN_ERR_NOT_FOUND);
}

static void lookup_done(struct swarm_kad_query *q)
{
    const struct kad_cand *c[KAD_K];
    size_t n;

    switch (q->op) {
    case SWARM_KAD_PUT_VALUE:
    case SWARM_KAD_PROVIDE:
        store_start(q);
        return;
    case SWARM_KAD_CLOSEST:
        n = kad_lookup_closest(&q->lk, c, q->max < KAD_K ? q->max : KAD_K);
        for (size_t i = 0; i < n; i++)
            tell_peer(q, &c[i]->id, c[i]->addrs, c[i]->n_addrs);
        query_finish(q, n ? 0 : FASTN_ERR_NOT_FOUND);
        return;
    case SWARM_KAD_FIND_PROVIDERS:
        query_finish(q, 0);
        return;
    default:
        query_finish(q, q->told ? 0 : FASTN_ERR_NOT_FOUND);
    }
}

static void query_drive(struct swarm_kad_query *q)
{
    struct kad_query kq;
    int rc;

    while (!q->finished &&
           (rc = kad_lookup_next(&q->lk, swarm__now_us(), &kq)) == 1) {
        struct peer_id peer = kq.peer->id;
        struct buf req = {.max = KAD_MAX_MSG + 16};
        int err = kad_request_encode(kq.type, kq.key, kq.key_len, &req);
        if (!err)
            err = rpc_start(q, &peer, kq.peer->addrs, kq.peer->n_addrs, &req,
                            true);
        buf_cleanup(&req);
        if (err)
            kad_lookup_failed(&q->lk, &peer);
    }
    if (!q->finished && rc == KAD_LOOKUP_DONE)
        lookup_done(q);
}

static void query_free_cb(uv_handle_t *h)
{
    struct swarm_kad_query *q = h->data;

    free(q->value);
    free(q);
}

/* Ends q: its requests are dropped, DONE told (unless cancelled). */
static void query_finish(struct swarm_kad_query *q, int err)
{
    struct swarm_kad_result res = {
        .type = SWARM_KAD_DONE, .err = err, .stored = q->stored};

    if (q->finished)
        return;
    q->finished = true;
    while (q->rpcs)
        rpc_free(q->rpcs);
    if (q->has_lk)
        kad_lookup_cleanup(&q->lk);
    *q->pprev = q->next;
    if (q->next)
        q->next->pprev = q->pprev;
    q->k->n_queries--;
    uv_close((uv_handle_t *)&q->timer, query_free_cb);
    if (q->cb)
        q->cb(q->arg, &res);
}

static void query_timeout(uv_timer_t *t)
{
    struct swarm_kad_query *q = t->data;

    if (q->op == SWARM_KAD_CLOSEST || q->op == SWARM_KAD_PUT_VALUE ||
        q->op == SWARM_KAD_PROVIDE) {
        /* what was found so far is the answer */
        while (q->rpcs)
            rpc_free(q->rpcs);
        if (!q->storing) {
            kad_lookup_stop(&q->lk);
            q->lk.inflight = 0;
            lookup_done(q);
            if (q->finished || !q->storing)
                return;
            uv_timer_start(&q->timer, query_timeout, KAD_RPC_TIMEOUT_MS, 0);
            return;
        }
        query_finish(q, q->stored ? 0 : FASTN_ERR_TIMEOUT);
        return;
    }
    query_finish(
        q, q->told && q->op != SWARM_KAD_FIND_PEER ? 0 : FASTN_ERR_TIMEOUT);
}

/* The lookup's seeds: the table's closest, else the bootstrap peers. */
static int query_seed(struct swarm_kad_query *q, enum kad_type type)
{
    struct swarm_kad *k = q->k;
    const struct kad_entry *seeds[KAD_K];
    struct kad_entry *boot = NULL;
    struct kad_lookup_config cfg;
    uint8_t target[KAD_HASH_LEN];
    size_t n;
    int err;

    kad_hash(q->key, q->key_len, target);
    n = kad_table_closest(&k->table, target, seeds, KAD_K);
    if (n == 0 && k->n_boot) {
        boot = calloc(k->n_boot, sizeof(*boot));
        if (!boot)
            return FASTN_ERR_NOMEM;
        for (size_t i = 0; i < k->n_boot && n < KAD_K; i++) {
            boot[n].id = k->boot_id[i];
            kad_hash(boot[n].id.bytes, boot[n].id.len, boot[n].hash);
            boot[n].n_addrs = 1;
            boot[n].addrs[0] = k->boot[i];
            seeds[n] = &boot[n];
            n++;
        }
    }
    kad_lookup_config_default(&cfg);
    err = kad_lookup_init(&q->lk, &cfg, type, q->key, q->key_len,
                          &k->sw->identity->id, seeds, n);
    free(boot);
    q->has_lk = !err;
    return err;
}

static const enum kad_type op_type[] = {
    [SWARM_KAD_FIND_PEER] = KAD_FIND_NODE,
    [SWARM_KAD_CLOSEST] = KAD_FIND_NODE,
    [SWARM_KAD_FIND_PROVIDERS] = KAD_GET_PROVIDERS,
    [SWARM_KAD_GET_VALUE] = KAD_GET_VALUE,
    [SWARM_KAD_SEARCH_VALUE] = KAD_GET_VALUE,
    [SWARM_KAD_PUT_VALUE] = KAD_FIND_NODE,
    [SWARM_KAD_PROVIDE] = KAD_FIND_NODE,
};

/* What we hold ourselves is told first (our providers, values, a peer
 * we know): true when that already answers the query. */
static bool query_local(struct swarm_kad_query *q)
{
    struct swarm_kad *k = q->k;
    uint64_t now = swarm__now_us();

    if (q->op == SWARM_KAD_FIND_PEER) {
        const struct kad_entry *e = kad_table_find(&k->table, &q->target);
        struct swarm_conn *sc = swarm__conn_for(k->sw, &q->target);
        if (sc && sc->n_listen) {
            tell_peer(q, &q->target, sc->listen, sc->n_listen);
            return true;
        }
        if (e && e->n_addrs) {
            tell_peer(q, &q->target, e->addrs, e->n_addrs);
            return true;
        }
    } else if (q->op == SWARM_KAD_FIND_PROVIDERS) {
        const struct kad_provider *p[KAD_PEERS_LIST];
        size_t n = kad_store_providers(&k->store, q->key, q->key_len, now, p,
                                       KAD_PEERS_LIST);
        for (size_t i = 0; i < n && q->told < q->max; i++)
            if (seen_add(q, p[i]->id.bytes, p[i]->id.len))
                tell_peer(q, &p[i]->id, p[i]->addrs, p[i]->n_addrs);
        return q->told >= q->max;
    } else if (q->op == SWARM_KAD_GET_VALUE ||
               q->op == SWARM_KAD_SEARCH_VALUE) {
        const struct kad_value *v =
            kad_store_get_value(&k->store, q->key, q->key_len, now);
        if (v && seen_add(q, v->value, v->len)) {
            tell_value(q, v->value, v->len);
            return q->op == SWARM_KAD_GET_VALUE;
        }
    } else if (q->op == SWARM_KAD_PUT_VALUE) {
        kad_store_put_value(&k->store, q->key, q->key_len, q->value,
                            q->value_len, now);
    } else if (q->op == SWARM_KAD_PROVIDE) {
        struct kad_peer self = {.id = k->sw->identity->id};
        struct multiaddr a[KAD_PEER_ADDRS];
        size_t n = swarm_advertised_addrs(k->sw, a, KAD_PEER_ADDRS);
        self.n_addrs = usable_addrs(k, a, n, self.addrs, KAD_PEER_ADDRS);
        kad_store_add_provider(&k->store, q->key, q->key_len, &self, now);
    }
    return false;
}

static int query_check(struct swarm_kad *k, enum swarm_kad_op op,
                       const uint8_t *key, size_t key_len, size_t value_len,
                       const uint8_t *value)
{
    if (!k || k->mode == SWARM_KAD_OFF)
        return FASTN_ERR_UNSUPPORTED;
    if (k->sw->closing)
        return FASTN_ERR_CLOSED;
    if ((unsigned)op > SWARM_KAD_PROVIDE || key_len == 0 ||
        key_len > KAD_KEY_MAX)
        return FASTN_ERR_INVAL;
    if (op == SWARM_KAD_PUT_VALUE &&
        (value_len > KAD_VALUE_MAX ||
         kad_record_validate(key, key_len, value, value_len)))
        return FASTN_ERR_NET_RECORD_INVALID;
    if (k->n_queries >= KAD_QUERIES_MAX)
        return FASTN_ERR_BUSY;
    return 0;
}

/* The query's first turn, from the loop: what we hold, then the
 * lookup, within its deadline. */
static void query_begin(uv_timer_t *t)
{
    struct swarm_kad_query *q = t->data;

    uv_timer_start(&q->timer, query_timeout, q->timeout_ms, 0);
    log_msg(LOG_DEBUG, "kad", "query %d: %zu candidates", (int)q->op, q->lk.n);
    if (query_local(q)) {
        query_finish(q, 0);
        return;
    }
    query_drive(q);
}

int swarm_kad_query(struct swarm *sw, const struct swarm_kad_request *rq,
                    swarm_kad_cb cb, void *arg, struct swarm_kad_query **out)
{
    struct swarm_kad *k = sw->kad;
    struct swarm_kad_query *q;
    int err =
        query_check(k, rq->op, rq->key, rq->key_len, rq->value_len, rq->value);

    if (err)
        return err;
    if (!(q = calloc(1, sizeof(*q))))
        return FASTN_ERR_NOMEM;
    q->k = k;
    q->op = rq->op;
    q->key_len = rq->key_len;
    memcpy(q->key, rq->key, rq->key_len);
    q->max = rq->max ? rq->max : KAD_K;
    if (q->max > KAD_SEEN_MAX)
        q->max = KAD_SEEN_MAX;
    if (rq->op == SWARM_KAD_FIND_PEER &&
        peer_id_from_bytes(rq->key, rq->key_len, &q->target)) {
        free(q);
        return FASTN_ERR_BAD_PEER_ID;
    }
    if (rq->value_len && !(q->value = malloc(rq->value_len))) {
        free(q);
        return FASTN_ERR_NOMEM;
    }
    if (rq->value_len)
        memcpy(q->value, rq->value, rq->value_len);
    q->value_len = rq->value_len;
    if ((err = query_seed(q, op_type[rq->op]))) {
        free(q->value);
        free(q);
        return err;
    }
    uv_timer_init(sw->loop, &q->timer);
    q->timer.data = q;
    q->next = k->queries;
    q->pprev = &k->queries;
    if (k->queries)
        k->queries->pprev = &q->next;
    k->queries = q;
    k->n_queries++;
    if (out)
        *out = q;
    q->cb = cb;
    q->arg = arg;
    q->timeout_ms = rq->timeout_ms ? rq->timeout_ms : KAD_QUERY_TIMEOUT_MS;
    /* answers go to cb from the loop, never from inside this call */
    uv_timer_start(&q->timer, query_begin, 0, 0);
    return 0;
}

void swarm_kad_cancel(struct swarm_kad_query *q)
{
    if (!q)
        return;
    q->cb = NULL;
    query_finish(q, FASTN_ERR_CANCELED);
}

/* --- the server ------------------------------------------------------------
 */

struct kad_srv {
    struct swarm_kad *k;
    struct lp_reader lp;
};

static void srv_free(struct swarm_stream *st, struct kad_srv *s, bool reset)
{
    if (reset)
        swarm_stream_reset(st);
    s->k->n_serving--;
    lp_reader_cleanup(&s->lp);
    free(s);
}

/* kad_server's connected_addrs: the listen addresses (circuit ones
 * included) a peer connected to us directly told in identify, those the
 * policy allows. */
static size_t srv_connected_addrs(void *arg, const struct peer_id *peer,
                                  struct multiaddr *out, size_t max)
{
    struct swarm_kad *k = arg;
    struct swarm_conn *sc = swarm__conn_for(k->sw, peer);
    size_t m = 0;

    if (!sc || sc->limited)
        return 0;
    for (size_t i = 0; i < sc->n_listen && m < max; i++)
        if (addr_policy_allows(&k->policy, addr_scope_of(&sc->listen[i])))
            out[m++] = sc->listen[i];
    return m;
}

/* One request: its answer written. Errors end the stream. */
static int srv_request(struct swarm_stream *st, struct kad_srv *s,
                       const uint8_t *msg, size_t n)
{
    struct swarm_kad *k = s->k;
    struct kad_server srv = {.table = &k->table,
                             .store = &k->store,
                             .policy = k->policy,
                             .connected_addrs = srv_connected_addrs,
                             .arg = k};
    struct buf out = {.max = KAD_MAX_MSG + 16};
    int err = kad_server_handle(&srv, swarm_stream_peer(st), msg, n,
                                swarm__now_us(), &out);

    if (!err && out.len &&
        swarm_stream_write(st, out.data, out.len) != (int)out.len)
        err = FASTN_ERR_BUSY;
    buf_cleanup(&out);
    k->n_served++;
    return err;
}

static void srv_cb(struct swarm_stream *st, const struct swarm_stream_event *ev,
                   void *arg)
{
    struct kad_srv *s = arg;
    const uint8_t *p = ev->data, *msg;
    size_t n = ev->len, used, len;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        swarm_stream_consumed(st, n);
        while (n > 0) {
            int rc = lp_reader_next(&s->lp, p, n, &used, &msg, &len);
            p += used;
            n -= used;
            if (rc == 1) {
                rc = srv_request(st, s, msg, len);
                if (rc == 0)
                    continue;
            }
            if (rc < 0) {
                char pid[PEER_ID_STR_MAX];
                LOG_RATELIMITED(LOG_INFO, "kad", "%s: request refused: %s",
                                peer_id_format(swarm_stream_peer(st), pid),
                                fastn_strerror(rc));
                srv_free(st, s, true);
                return;
            }
        }
        break;
    case SWARM_STREAM_FIN:
        swarm_stream_close(st);
        break;
    case SWARM_STREAM_CLOSED:
        srv_free(st, s, false);
        break;
    default:
        break;
    }
}

bool swarm__kad_take(struct swarm_stream *st)
{
    struct swarm_kad *k = st->sw->kad;
    struct kad_srv *s;

    if (!k || !serving(k) || k->n_serving >= KAD_SERVER_STREAMS ||
        !(s = calloc(1, sizeof(*s))))
        return false;
    s->k = k;
    lp_reader_init(&s->lp, KAD_MAX_MSG);
    k->n_serving++;
    swarm_stream_set_cb(st, srv_cb, s);
    swarm_stream_set_timeout(st, KAD_QUERY_TIMEOUT_MS);
    return true;
}

/* --- a dial to a PeerID alone ----------------------------------------------
 */

struct kad_dial {
    struct swarm *sw;
    struct peer_id peer;
    bool dialed;
};

static void kad_dial_cb(void *arg, const struct swarm_kad_result *r)
{
    struct kad_dial *d = arg;
    int err;

    if (r->type == SWARM_KAD_PEER && !d->dialed) {
        char pid[PEER_ID_STR_MAX];
        log_msg(LOG_INFO, "kad", "%s: %zu address(es) found in the DHT",
                peer_id_format(&d->peer, pid), r->n_addrs);
        struct multiaddr ok[KAD_PEER_ADDRS];
        size_t n = 0;
        d->dialed = true;
        swarm__waits_found(d->sw, &d->peer);
        /* what a stranger says: only addresses the reach policy allows
         * (a circuit address by its relay's) */
        for (size_t i = 0; i < r->n_addrs && n < KAD_PEER_ADDRS; i++)
            if (addr_policy_allows(&d->sw->kad->policy,
                                   addr_scope_of(&r->addrs[i])))
                ok[n++] = r->addrs[i];
        err = swarm__dial(d->sw, &d->peer, ok, n);
        if (err)
            swarm__waits_complete(d->sw, &d->peer, err);
    } else if (r->type == SWARM_KAD_DONE) {
        if (!d->dialed)
            swarm__waits_complete(d->sw, &d->peer, FASTN_ERR_NET_NO_ADDR);
        free(d);
    }
}

int swarm__kad_dial(struct swarm *sw, const struct peer_id *peer)
{
    struct swarm_kad *k = sw->kad;
    struct swarm_kad_request rq = {.op = SWARM_KAD_FIND_PEER,
                                   .key = peer->bytes,
                                   .key_len = peer->len,
                                   .max = 1};
    struct kad_dial *d;
    int err;

    /* no DHT, or no peer to ask: no address, at once */
    if (!k || k->mode == SWARM_KAD_OFF ||
        (!kad_table_size(&k->table) && !k->n_boot))
        return FASTN_ERR_NET_NO_ADDR;
    for (struct swarm_kad_query *q = k->queries; q; q = q->next)
        if (q->cb == kad_dial_cb && peer_id_equal(&q->target, peer))
            return 0; /* one lookup for every wait */
    if (!(d = calloc(1, sizeof(*d))))
        return FASTN_ERR_NOMEM;
    d->sw = sw;
    d->peer = *peer;
    err = swarm_kad_query(sw, &rq, kad_dial_cb, d, NULL);
    if (err)
        free(d);
    return err ? FASTN_ERR_NET_NO_ADDR : 0;
}

/* --- refresh, life -----------------------------------------------------------
 */

static void refresh_cb(void *arg, const struct swarm_kad_result *r)
{
    struct swarm_kad *k = arg;

    if (r->type == SWARM_KAD_DONE)
        k->refreshing = false;
}

static void kad_refresh(uv_timer_t *t)
{
    struct swarm_kad *k = t->data;
    const struct peer_id *self = &k->sw->identity->id;
    struct swarm_kad_request rq = {
        .op = SWARM_KAD_CLOSEST, .key = self->bytes, .key_len = self->len};

    if (!k->refreshing && (kad_table_size(&k->table) || k->n_boot) &&
        swarm_kad_query(k->sw, &rq, refresh_cb, k, NULL) == 0)
        k->refreshing = true;
    uv_timer_start(&k->timer, kad_refresh, KAD_REFRESH_MS, 0);
}

int swarm__kad_new(struct swarm *sw)
{
    const struct swarm_config *c = &sw->cfg;
    struct swarm_kad *k = calloc(1, sizeof(*k));

    if (!k)
        return FASTN_ERR_NOMEM;
    if (kad_store_init(&k->store, KAD_STORE_PROVIDERS, KAD_STORE_VALUES)) {
        free(k);
        return FASTN_ERR_NOMEM;
    }
    k->sw = sw;
    kad_table_init(&k->table, &sw->identity->id);
    k->policy.allow_loopback = k->policy.allow_private = c->reach_private;
    k->policy.allow_dns = true;
    k->mode = c->kad_mode;
    for (size_t i = 0;
         i < c->n_bootstrap && k->n_boot < SWARM_KAD_BOOTSTRAP_MAX; i++)
        if (multiaddr_get_peer(&c->bootstrap[i], &k->boot_id[k->n_boot]) == 0 &&
            !peer_id_equal(&k->boot_id[k->n_boot], &sw->identity->id))
            k->boot[k->n_boot++] = c->bootstrap[i];
    uv_timer_init(sw->loop, &k->timer);
    k->timer.data = k;
    if (k->mode != SWARM_KAD_OFF)
        uv_timer_start(&k->timer, kad_refresh, KAD_FIRST_REFRESH_MS, 0);
    sw->kad = k;
    return 0;
}

void swarm__kad_close(struct swarm *sw)
{
    struct swarm_kad *k = sw->kad;

    if (!k)
        return;
    uv_close((uv_handle_t *)&k->timer, NULL);
    while (k->queries)
        query_finish(k->queries, FASTN_ERR_CANCELED);
}

void swarm__kad_free(struct swarm *sw)
{
    struct swarm_kad *k = sw->kad;

    if (!k)
        return;
    kad_table_cleanup(&k->table);
    kad_store_cleanup(&k->store);
    free(k);
    sw->kad = NULL;
}

static const char *mode_name(enum swarm_kad_mode m)
{
    switch (m) {
    case SWARM_KAD_CLIENT:
        return "client";
    case SWARM_KAD_SERVER:
        return "server";
    case SWARM_KAD_OFF:
        return "off";
    default:
        return "auto";
    }
}

void swarm_kad_get(const struct swarm *sw, struct swarm_kad_info *out)
{
    const struct swarm_kad *k = sw->kad;

    memset(out, 0, sizeof(*out));
    out->mode = "off";
    if (!k)
        return;
    out->mode = mode_name(k->mode);
    out->server = k->mode != SWARM_KAD_OFF && serving(k);
    out->table_size = kad_table_size(&k->table);
    out->queries = k->n_queries;
    out->providers = k->store.n_providers;
    out->values = k->store.n_values;
    out->requests = k->n_rpcs;
    out->served = k->n_served;
    out->bootstrap = k->n_boot;
}

size_t swarm_kad_closest(const struct swarm *sw, const uint8_t *key, size_t n,
                         struct peer_id *out, size_t max)
{
    const struct kad_entry *e[KAD_K];
    uint8_t h[KAD_HASH_LEN];
    size_t k;

    if (!sw->kad)
        return 0;
    kad_hash(key, n, h);
    k = kad_table_closest(&sw->kad->table, h, e, max < KAD_K ? max : KAD_K);
    for (size_t i = 0; i < k; i++)
        out[i] = e[i]->id;
    return k;
}

int swarm_kad_save(const struct swarm *sw, struct buf *out)
{
    return sw->kad ? kad_table_save(&sw->kad->table, out)
                   : FASTN_ERR_UNSUPPORTED;
}

int swarm_kad_load(struct swarm *sw, const uint8_t *p, size_t n)
{
    return sw->kad ? kad_table_load(&sw->kad->table, p, n, swarm__now_us())
                   : FASTN_ERR_UNSUPPORTED;
}
