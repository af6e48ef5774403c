/*
 * The control protocol's DHT request (go-libp2p-daemon's DHTRequest) over
 * the swarm's Kademlia DHT (swarm_kad_query). Answers as p2pd gives them:
 *
 *  - FIND_PEER, GET_PUBLIC_KEY, GET_VALUE: one Response{OK, dht{VALUE}}
 *    (a PeerInfo, the key, the value);
 *  - FIND_PEERS_CONNECTED_TO_PEER, FIND_PROVIDERS, GET_CLOSEST_PEERS,
 *    SEARCH_VALUE: Response{OK, dht{BEGIN}}, then bare DHTResponse VALUEs
 *    (PeerInfos; for GET_CLOSEST_PEERS the PeerIDs in value; values),
 *    then a bare DHTResponse END;
 *  - PUT_VALUE, PROVIDE: Response{OK} once the record is stored on at
 *    least one peer.
 * Reads are for every client; PUT_VALUE and PROVIDE (they publish
 * something in this daemon's name) for admins: ipc_may_dht is their
 * check in dispatch.c's table. Every query is bounded by its timeout
 * (the request's, else 60 s) and its count (at most 64 results).
 * FIND_PEERS_CONNECTED_TO_PEER (gone from go-libp2p-kad-dht) answers
 * with the peers of our routing table closest to the peer, without the
 * network.
 */
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "net/swarm.h"

#define DHT_MAX_RESULTS 64
#define DHT_MAX_VALUES 16 /* SEARCH_VALUE: each up to 16 KiB */
#define DHT_LOCAL_MAX 20

typedef P2pd__Pb__DHTRequest__Type dht_type;

struct dht_ctx {
    struct ipc_call *dc;
    struct swarm_kad_query *q;
    dht_type type;
    bool streamed;
    P2pd__Pb__DHTResponse **items;
    size_t n, max;
};

int ipc_may_dht(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    if (!req->dht)
        return 0;
    if (req->dht->type == P2PD__PB__DHTREQUEST__TYPE__PUT_VALUE)
        return ipc_refuse_admin(call, "putting a value in the DHT");
    if (req->dht->type == P2PD__PB__DHTREQUEST__TYPE__PROVIDE)
        return ipc_refuse_admin(call, "announcing this daemon as a "
                                      "provider in the DHT");
    return 0;
}

/* The multihash inside a CID (v0: the multihash itself; v1: after the
 * version and codec varints): the DHT key of its providers. */
static int cid_key(const ProtobufCBinaryData *b, const uint8_t **key, size_t *n)
{
    size_t off = 0;

    if (b->len >= 2 && b->data[0] == 0x12) { /* v0, sha2-256 */
        *key = b->data;
        *n = b->len;
        return 0;
    }
    for (int v = 0; v < 2; v++) { /* version, codec */
        while (off < b->len && off < 10 && (b->data[off] & 0x80))
            off++;
        if (off >= b->len)
            return FASTN_ERR_INVAL;
        off++;
    }
    if (b->data[0] != 1 || off >= b->len)
        return FASTN_ERR_INVAL;
    *key = b->data + off;
    *n = b->len - off;
    return 0;
}

static P2pd__Pb__PeerInfo *peer_info(struct ipc_reply *r,
                                     const struct swarm_kad_result *res)
{
    P2pd__Pb__PeerInfo *pi = ipc_reply_alloc(r, sizeof(*pi));
    size_t n = res->n_addrs;

    if (!pi)
        return NULL;
    p2pd__pb__peer_info__init(pi);
    pi->id.data = ipc_reply_alloc(r, res->peer->len);
    pi->addrs = n ? ipc_reply_alloc(r, n * sizeof(*pi->addrs)) : NULL;
    if (!pi->id.data || (n && !pi->addrs))
        return NULL;
    memcpy(pi->id.data, res->peer->bytes, res->peer->len);
    pi->id.len = res->peer->len;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = ipc_reply_alloc(r, res->addrs[i].len);
        if (!p)
            return NULL;
        memcpy(p, res->addrs[i].bytes, res->addrs[i].len);
        pi->addrs[i].data = p;
        pi->addrs[i].len = res->addrs[i].len;
    }
    pi->n_addrs = n;
    return pi;
}

static P2pd__Pb__DHTResponse *item_new(struct ipc_reply *r,
                                       P2pd__Pb__DHTResponse__Type t)
{
    P2pd__Pb__DHTResponse *d = ipc_reply_alloc(r, sizeof(*d));

    if (d) {
        p2pd__pb__dhtresponse__init(d);
        d->type = t;
    }
    return d;
}

static bool bytes_set(struct ipc_reply *r, ProtobufCBinaryData *b,
                      const uint8_t *p, size_t n)
{
    b->data = ipc_reply_alloc(r, n ? n : 1);
    if (!b->data)
        return false;
    memcpy(b->data, p, n);
    b->len = n;
    return true;
}

/* One result as a DHTResponse VALUE. */
static P2pd__Pb__DHTResponse *item_of(struct dht_ctx *c,
                                      const struct swarm_kad_result *res)
{
    struct ipc_reply *r = &c->dc->reply;
    P2pd__Pb__DHTResponse *d = item_new(r, P2PD__PB__DHTRESPONSE__TYPE__VALUE);

    if (!d)
        return NULL;
    if (res->type == SWARM_KAD_VALUE) {
        if (!bytes_set(r, &d->value, res->value, res->value_len))
            return NULL;
        d->has_value = true;
    } else if (c->type == P2PD__PB__DHTREQUEST__TYPE__GET_CLOSEST_PEERS) {
        if (!bytes_set(r, &d->value, res->peer->bytes, res->peer->len))
            return NULL;
        d->has_value = true;
    } else if (!(d->peer = peer_info(r, res))) {
        return NULL;
    }
    return d;
}

/* The answer once the query is done. */
static int dht_answer(struct dht_ctx *c, int err)
{
    struct ipc_reply *r = &c->dc->reply;

    if (c->type == P2PD__PB__DHTREQUEST__TYPE__PUT_VALUE ||
        c->type == P2PD__PB__DHTREQUEST__TYPE__PROVIDE)
        return err; /* Response{OK} once stored on a peer */
    if (!c->streamed) {
        if (err || !c->n)
            return err ? err : FASTN_ERR_NOT_FOUND;
        if (c->items[0])
            r->resp.dht = c->items[0];
        return 0;
    }
    if (err && err != FASTN_ERR_NOT_FOUND && !c->n)
        return err;
    r->resp.dht = item_new(r, P2PD__PB__DHTRESPONSE__TYPE__BEGIN);
    r->trail = ipc_reply_alloc(r, (c->n + 1) * sizeof(*r->trail));
    if (!r->resp.dht || !r->trail)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < c->n; i++)
        r->trail[i] = &c->items[i]->base;
    r->trail[c->n] =
        &item_new(r, P2PD__PB__DHTRESPONSE__TYPE__END)->base; /* NULL-safe */
    if (!r->trail[c->n])
        return FASTN_ERR_NOMEM;
    r->n_trail = c->n + 1;
    return 0;
}

static void dht_error(struct dht_ctx *c, int err)
{
    static const char *const what[] = {
        [P2PD__PB__DHTREQUEST__TYPE__FIND_PEER] = "no address of the peer",
        [P2PD__PB__DHTREQUEST__TYPE__GET_PUBLIC_KEY] = "no public key",
        [P2PD__PB__DHTREQUEST__TYPE__GET_VALUE] = "no value",
        [P2PD__PB__DHTREQUEST__TYPE__PUT_VALUE] = "no peer stored the value",
        [P2PD__PB__DHTREQUEST__TYPE__PROVIDE] = "no peer took the record",
    };
    const char *w =
        (unsigned)c->type < sizeof(what) / sizeof(*what) ? what[c->type] : NULL;

    ipc_reply_set_msg(&c->dc->reply,
                      "%s in the DHT (%s): check `fastn status` (DHT "
                      "peers), and the config's bootstrap",
                      w ? w : "nothing found", fastn_strerror(err));
}

static void dht_result(void *arg, const struct swarm_kad_result *res)
{
    struct dht_ctx *c = arg;
    struct ipc_call *dc = c->dc;
    int err;

    if (res->type != SWARM_KAD_DONE) {
        if (c->n < c->max && (c->items[c->n] = item_of(c, res)))
            c->n++;
        return;
    }
    err = dht_answer(c, res->err);
    if (err)
        dht_error(c, err);
    free(c->items);
    free(c);
    ipc_call_finish(dc, err);
}

static void dht_cancel(struct ipc_call *dc)
{
    struct dht_ctx *c = dc->data;

    swarm_kad_cancel(c->q);
    free(c->items);
    free(c);
}

/* FIND_PEERS_CONNECTED_TO_PEER and an inlined GET_PUBLIC_KEY: from what
 * this daemon holds, at once. */
static int dht_local(struct ipc_call *call, const P2pd__Pb__DHTRequest *q,
                     const struct peer_id *peer)
{
    struct dht_ctx c = {.type = q->type, .max = DHT_LOCAL_MAX};
    struct ipc_call fake = *call;
    P2pd__Pb__DHTResponse *items[DHT_LOCAL_MAX];
    struct peer_id ids[DHT_LOCAL_MAX];
    uint8_t pk[IDENTITY_PUBKEY_LEN], proto[IDENTITY_PUBKEY_PROTO_LEN];
    size_t n;
    int err;

    (void)fake;
    c.dc = call;
    c.items = items;
    if (q->type == P2PD__PB__DHTREQUEST__TYPE__GET_PUBLIC_KEY) {
        if (!peer_id_get_pubkey(peer, pk))
            return FASTN_ERR_NOT_FOUND; /* not inlined: ask the DHT */
        pubkey_encode_proto(pk, proto);
        struct swarm_kad_result r = {.type = SWARM_KAD_VALUE,
                                     .value = proto,
                                     .value_len = sizeof(proto)};
        if (!(items[0] = item_of(&c, &r)))
            return FASTN_ERR_NOMEM;
        c.n = 1;
        return dht_answer(&c, 0);
    }
    c.streamed = true;
    n = swarm_kad_closest(call->host->swarm, peer->bytes, peer->len, ids,
                          DHT_LOCAL_MAX);
    for (size_t i = 0; i < n; i++) {
        struct swarm_kad_result r = {.type = SWARM_KAD_PEER, .peer = &ids[i]};
        if (!(items[c.n] = item_of(&c, &r)))
            return FASTN_ERR_NOMEM;
        c.n++;
    }
    err = dht_answer(&c, 0);
    return err;
}

/* The swarm's request for q, or an error with its message. */
static int dht_request(struct ipc_call *call, const P2pd__Pb__DHTRequest *q,
                       struct peer_id *peer, struct swarm_kad_request *rq)
{
    static const int ops[] = {
        [P2PD__PB__DHTREQUEST__TYPE__FIND_PEER] = SWARM_KAD_FIND_PEER,
        [P2PD__PB__DHTREQUEST__TYPE__FIND_PROVIDERS] = SWARM_KAD_FIND_PROVIDERS,
        [P2PD__PB__DHTREQUEST__TYPE__GET_CLOSEST_PEERS] = SWARM_KAD_CLOSEST,
        [P2PD__PB__DHTREQUEST__TYPE__GET_PUBLIC_KEY] = SWARM_KAD_GET_VALUE,
        [P2PD__PB__DHTREQUEST__TYPE__GET_VALUE] = SWARM_KAD_GET_VALUE,
        [P2PD__PB__DHTREQUEST__TYPE__SEARCH_VALUE] = SWARM_KAD_SEARCH_VALUE,
        [P2PD__PB__DHTREQUEST__TYPE__PUT_VALUE] = SWARM_KAD_PUT_VALUE,
        [P2PD__PB__DHTREQUEST__TYPE__PROVIDE] = SWARM_KAD_PROVIDE,
    };
    dht_type t = q->type;

    rq->op = ops[t];
    rq->timeout_ms = q->has_timeout && q->timeout > 0 && q->timeout < 3600
                         ? (uint32_t)q->timeout * 1000
                         : 0;
    rq->max = q->has_count && q->count > 0 ? (size_t)q->count : 0;
    if (t == P2PD__PB__DHTREQUEST__TYPE__FIND_PROVIDERS ||
        t == P2PD__PB__DHTREQUEST__TYPE__PROVIDE) {
        if (!q->has_cid || cid_key(&q->cid, &rq->key, &rq->key_len)) {
            ipc_reply_set_msg(&call->reply, "the request's cid is not a CID");
            return FASTN_ERR_INVAL;
        }
        return 0;
    }
    if (t == P2PD__PB__DHTREQUEST__TYPE__FIND_PEER) {
        rq->key = peer->bytes;
        rq->key_len = peer->len;
        rq->max = 1;
        return 0;
    }
    if (!q->has_key) {
        ipc_reply_set_msg(&call->reply, "the DHT request has no key");
        return FASTN_ERR_INVAL;
    }
    rq->key = q->key.data;
    rq->key_len = q->key.len;
    rq->value = q->value.data;
    rq->value_len = q->has_value ? q->value.len : 0;
    return 0;
}

static bool needs_peer(dht_type t)
{
    return t == P2PD__PB__DHTREQUEST__TYPE__FIND_PEER ||
           t == P2PD__PB__DHTREQUEST__TYPE__FIND_PEERS_CONNECTED_TO_PEER ||
           t == P2PD__PB__DHTREQUEST__TYPE__GET_PUBLIC_KEY;
}

static bool is_streamed(dht_type t)
{
    return t == P2PD__PB__DHTREQUEST__TYPE__FIND_PROVIDERS ||
           t == P2PD__PB__DHTREQUEST__TYPE__GET_CLOSEST_PEERS ||
           t == P2PD__PB__DHTREQUEST__TYPE__SEARCH_VALUE;
}

/* Starts the query; the answer comes with dht_result. */
static int dht_start(struct ipc_call *call, const P2pd__Pb__DHTRequest *q,
                     struct swarm_kad_request *rq)
{
    struct dht_ctx *c = calloc(1, sizeof(*c));
    int err;

    if (!c)
        return FASTN_ERR_NOMEM;
    c->type = q->type;
    c->streamed = is_streamed(q->type);
    c->max = q->type == P2PD__PB__DHTREQUEST__TYPE__SEARCH_VALUE
                 ? DHT_MAX_VALUES
                 : DHT_MAX_RESULTS;
    if (rq->max > c->max)
        rq->max = c->max;
    if (!(c->items = calloc(c->max, sizeof(*c->items)))) {
        free(c);
        return FASTN_ERR_NOMEM;
    }
    /* the query answers from the loop: the call is deferred first */
    err = swarm_kad_query(call->host->swarm, rq, dht_result, c, &c->q);
    if (err) {
        ipc_reply_set_msg(
            &call->reply, "cannot query the DHT: %s%s", fastn_strerror(err),
            err == FASTN_ERR_NET_RECORD_INVALID
                ? " (fastn's DHT takes /pk/ records only)"
            : err == FASTN_ERR_UNSUPPORTED ? " (the config says dht = off)"
                                           : "");
    } else if (!(c->dc = ipc_call_defer(call, true, dht_cancel, c, &err))) {
        swarm_kad_cancel(c->q);
    }
    if (err) {
        free(c->items);
        free(c);
        return err;
    }
    return IPC_DEFERRED;
}

int ipc_handle_dht(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    const P2pd__Pb__DHTRequest *q = req->dht;
    struct swarm_kad_request rq = {0};
    uint8_t pkkey[4 + PEER_ID_MAX_BYTES];
    struct peer_id peer;
    int err = 0;

    if (!call->host->swarm)
        return ipc_no_network(call);
    if (!q || (unsigned)q->type > P2PD__PB__DHTREQUEST__TYPE__PROVIDE) {
        ipc_reply_set_msg(&call->reply, "DHT request without its part, or "
                                        "of an unknown type");
        return FASTN_ERR_MALFORMED;
    }
    if (needs_peer(q->type) &&
        (!q->has_peer || (err = ipc_req_peer(call, &q->peer, &peer))))
        return q->has_peer ? err : FASTN_ERR_BAD_PEER_ID;
    if (q->type == P2PD__PB__DHTREQUEST__TYPE__FIND_PEERS_CONNECTED_TO_PEER ||
        q->type == P2PD__PB__DHTREQUEST__TYPE__GET_PUBLIC_KEY) {
        err = dht_local(call, q, &peer);
        if (err != FASTN_ERR_NOT_FOUND ||
            q->type != P2PD__PB__DHTREQUEST__TYPE__GET_PUBLIC_KEY)
            return err;
        memcpy(pkkey, "/pk/", 4); /* a key not inlined: its /pk/ record */
        memcpy(pkkey + 4, peer.bytes, peer.len);
        rq.op = SWARM_KAD_GET_VALUE;
        rq.key = pkkey;
        rq.key_len = 4 + peer.len;
        return dht_start(call, q, &rq);
    }
    if ((err = dht_request(call, q, &peer, &rq)))
        return err;
    return dht_start(call, q, &rq);
}
