/*
 * The DHT request of the control protocol (go-libp2p-daemon's
 * DHTRequest): one Response, and for the streamed types the bare
 * DHTResponses that follow it up to END.
 */
#include <stdlib.h>
#include <string.h>

#include "fastn/client.h"
#include "fastn/err.h"
#include "lib/lib_int.h"

#define DHT_ITEMS_MAX 256

/* GET_CLOSEST_PEERS gives PeerIDs in value (as p2pd does): as peers. */
static int item_add(struct fastn_dht_result *res,
                    const P2pd__Pb__DHTResponse *d, bool ids)
{
    struct fastn_dht_item *it;
    int rc = 0;

    if (res->n == DHT_ITEMS_MAX)
        return FASTN_ERR_PROTOCOL;
    it = realloc(res->items, (res->n + 1) * sizeof(*it));
    if (!it)
        return FASTN_ERR_NOMEM;
    res->items = it;
    it = &res->items[res->n];
    memset(it, 0, sizeof(*it));
    if (d->peer) {
        rc = lib_peer_id_text(&d->peer->id, it->peer);
        if (!rc)
            rc = lib_addrs_text(d->peer->addrs, d->peer->n_addrs, &it->addrs,
                                &it->n_addrs);
    }
    if (!rc && d->has_value && ids) {
        rc = lib_peer_id_text(&d->value, it->peer);
    } else if (!rc && d->has_value) {
        it->value = malloc(d->value.len ? d->value.len : 1);
        if (!it->value)
            rc = FASTN_ERR_NOMEM;
        else
            memcpy(it->value, d->value.data, d->value.len);
        it->value_len = d->value.len;
    }
    res->n++; /* freed with the rest even when half filled */
    return rc;
}

/* The streamed part: DHTResponse VALUEs up to END. */
static int read_stream(struct fastn_client *c, int64_t deadline,
                       struct fastn_dht_result *res, bool ids)
{
    for (;;) {
        P2pd__Pb__DHTResponse *d = NULL;
        int rc = lib_read_message(c->fd, deadline,
                                  &p2pd__pb__dhtresponse__descriptor,
                                  (ProtobufCMessage **)&d);
        if (rc) {
            lib_drop_connection(c);
            return rc;
        }
        if (d->type == P2PD__PB__DHTRESPONSE__TYPE__END) {
            p2pd__pb__dhtresponse__free_unpacked(d, NULL);
            return 0;
        }
        rc = item_add(res, d, ids);
        p2pd__pb__dhtresponse__free_unpacked(d, NULL);
        if (rc) {
            lib_drop_connection(c);
            return rc;
        }
    }
}

static int fill_request(struct fastn_client *c, P2pd__Pb__DHTRequest *q,
                        enum fastn_dht_op op, const char *peer,
                        struct peer_id *pid)
{
    q->type = (P2pd__Pb__DHTRequest__Type)op;
    if (op == FASTN_DHT_FIND_PEER || op == FASTN_DHT_PUBLIC_KEY) {
        int rc = lib_parse_peer(c, peer ? peer : "", pid);
        if (rc)
            return rc;
        q->has_peer = true;
        q->peer.data = pid->bytes;
        q->peer.len = pid->len;
    }
    return 0;
}

int fastn_client_dht(struct fastn_client *c, enum fastn_dht_op op,
                     const char *peer, const uint8_t *key, size_t key_len,
                     const uint8_t *value, size_t value_len, int count,
                     int timeout_s, struct fastn_dht_result **out)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    P2pd__Pb__DHTRequest q = P2PD__PB__DHTREQUEST__INIT;
    P2pd__Pb__Response *r = NULL;
    struct fastn_dht_result *res;
    struct peer_id pid;
    int secs = timeout_s > 0 ? timeout_s : 60;
    int rc = fill_request(c, &q, op, peer, &pid);

    if (out)
        *out = NULL;
    if (rc)
        return rc;
    if (key) {
        ProtobufCBinaryData *b =
            op == FASTN_DHT_PROVIDERS || op == FASTN_DHT_PROVIDE ? &q.cid
                                                                 : &q.key;
        b->data = (uint8_t *)key;
        b->len = key_len;
        q.has_cid = b == &q.cid;
        q.has_key = b == &q.key;
    }
    q.has_value = value != NULL;
    q.value.data = (uint8_t *)value;
    q.value.len = value_len;
    q.has_count = count > 0;
    q.count = count;
    q.has_timeout = true;
    q.timeout = secs;
    req.type = P2PD__PB__REQUEST__TYPE__DHT;
    req.dht = &q;
    if (!(res = calloc(1, sizeof(*res))))
        return FASTN_ERR_NOMEM;
    rc = lib_request_within(c, &req, &r, secs * 1000 + 5000);
    if (!rc && r->dht && r->dht->type == P2PD__PB__DHTRESPONSE__TYPE__BEGIN)
        rc = read_stream(c, lib_now_ms() + 5000, res, op == FASTN_DHT_CLOSEST);
    else if (!rc && r->dht)
        rc = item_add(res, r->dht, false);
    if (r)
        p2pd__pb__response__free_unpacked(r, NULL);
    if (rc || !out)
        fastn_dht_result_free(res);
    else
        *out = res;
    return rc;
}

void fastn_dht_result_free(struct fastn_dht_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        lib_free_addrs(r->items[i].addrs, r->items[i].n_addrs);
        free(r->items[i].value);
    }
    free(r->items);
    free(r);
}
