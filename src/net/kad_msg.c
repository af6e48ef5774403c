/*
 * Kademlia messages and XOR distance; see kad.h. Before protobuf-c
 * unpacks a message (allocating per peer and per address), scan() counts
 * its peers and addresses with the checked reader of net/pb.h, so what a
 * peer can make us allocate is bounded by the counts, not only by the
 * message size.
 */
#include "net/kad.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "net/kad.pb-c.h"
#include "net/lp.h"
#include "net/pb.h"

#define BAD FASTN_ERR_NET_BAD_MESSAGE

typedef Fastn__Kad__Message Msg;
typedef Fastn__Kad__Message__Peer PbPeer;

struct kad_msg *kad_msg_new(void)
{
    return calloc(1, sizeof(struct kad_msg));
}

void kad_msg_free(struct kad_msg *m)
{
    free(m);
}

/* --- distance ------------------------------------------------------------ */

unsigned kad_common_prefix(const uint8_t a[KAD_HASH_LEN],
                           const uint8_t b[KAD_HASH_LEN])
{
    for (unsigned i = 0; i < KAD_HASH_LEN; i++) {
        uint8_t x = a[i] ^ b[i];
        if (x)
            return i * 8 + (unsigned)__builtin_clz(x) - 24;
    }
    return KAD_HASH_LEN * 8;
}

int kad_distance_cmp(const uint8_t target[KAD_HASH_LEN],
                     const uint8_t a[KAD_HASH_LEN],
                     const uint8_t b[KAD_HASH_LEN])
{
    for (unsigned i = 0; i < KAD_HASH_LEN; i++) {
        uint8_t da = a[i] ^ target[i], db = b[i] ^ target[i];
        if (da != db)
            return da < db ? -1 : 1;
    }
    return 0;
}

/* --- encoding ------------------------------------------------------------ */

struct peers_pb {
    PbPeer pb[KAD_PEERS_LIST];
    PbPeer *ptr[KAD_PEERS_LIST];
    ProtobufCBinaryData addrs[KAD_PEERS_LIST][KAD_PEER_ADDRS];
};

static void peers_out(const struct kad_peer *in, size_t n, struct peers_pb *pp)
{
    for (size_t i = 0; i < n; i++) {
        PbPeer *p = &pp->pb[i];
        fastn__kad__message__peer__init(p);
        p->has_id = 1;
        p->id.data = (uint8_t *)in[i].id.bytes;
        p->id.len = in[i].id.len;
        for (size_t j = 0; j < in[i].n_addrs; j++) {
            pp->addrs[i][j].data = (uint8_t *)in[i].addrs[j].bytes;
            pp->addrs[i][j].len = in[i].addrs[j].len;
        }
        p->n_addrs = in[i].n_addrs;
        p->addrs = pp->addrs[i];
        p->has_connection = 1;
        p->connection = (Fastn__Kad__Message__ConnectionType)in[i].conn;
        pp->ptr[i] = p;
    }
}

static int pack_into(const Msg *m, struct buf *out)
{
    size_t len = fastn__kad__message__get_packed_size(m), start = out->len;
    int err;

    if (len > KAD_MAX_MSG)
        return FASTN_ERR_TOO_LARGE;
    err = buf_put_uvarint(out, len);
    if (!err)
        err = buf_reserve(out, len);
    if (err) {
        out->len = start;
        return err;
    }
    fastn__kad__message__pack(m, out->data + out->len);
    out->len += len;
    return 0;
}

int kad_msg_encode(const struct kad_msg *in, struct buf *out)
{
    Msg m = FASTN__KAD__MESSAGE__INIT;
    Fastn__Kad__Record rec = FASTN__KAD__RECORD__INIT;
    struct peers_pb *closer, *prov;
    int err;

    if (in->n_closer > KAD_PEERS_LIST || in->n_providers > KAD_PEERS_LIST)
        return FASTN_ERR_INVAL;
    closer = malloc(sizeof(*closer));
    prov = malloc(sizeof(*prov));
    if (!closer || !prov) {
        err = FASTN_ERR_NOMEM;
        goto out_free;
    }
    m.has_type = 1;
    m.type = (Fastn__Kad__Message__MessageType)in->type;
    m.has_key = in->key_len > 0;
    m.key.data = (uint8_t *)in->key;
    m.key.len = in->key_len;
    if (in->has_record) {
        rec.has_key = rec.has_value = 1;
        rec.key.data = (uint8_t *)in->rec_key;
        rec.key.len = in->rec_key_len;
        rec.value.data = (uint8_t *)in->value;
        rec.value.len = in->value_len;
        m.record = &rec;
    }
    peers_out(in->closer, in->n_closer, closer);
    peers_out(in->providers, in->n_providers, prov);
    m.n_closerpeers = in->n_closer;
    m.closerpeers = closer->ptr;
    m.n_providerpeers = in->n_providers;
    m.providerpeers = prov->ptr;
    err = pack_into(&m, out);
out_free:
    free(closer);
    free(prov);
    return err;
}

int kad_request_encode(enum kad_type type, const uint8_t *key, size_t n,
                       struct buf *out)
{
    Msg m = FASTN__KAD__MESSAGE__INIT;

    if (n > KAD_KEY_MAX)
        return FASTN_ERR_INVAL;
    m.has_type = 1;
    m.type = (Fastn__Kad__Message__MessageType)type;
    m.has_key = n > 0;
    m.key.data = (uint8_t *)key;
    m.key.len = n;
    return pack_into(&m, out);
}

/* --- decoding ------------------------------------------------------------ */

/* Counts the addresses of one Peer body. */
static int scan_peer(const uint8_t *p, size_t n, size_t *addrs)
{
    struct buf_reader r;
    struct pb_field f;
    int rc;

    buf_reader_init(&r, p, n);
    while ((rc = pb_next(&r, &f)) == 1)
        if (f.num == 2 && f.wire == PB_LEN && ++*addrs > KAD_MAX_ADDRS_MSG)
            return BAD;
    return rc == 0 ? 0 : BAD;
}

/* Refuses messages with more peers or addresses than we would keep
 * anywhere near, before protobuf-c allocates for each. */
static int scan(const uint8_t *p, size_t n)
{
    struct buf_reader r;
    struct pb_field f;
    size_t peers = 0, addrs = 0;
    int rc;

    buf_reader_init(&r, p, n);
    while ((rc = pb_next(&r, &f)) == 1) {
        if ((f.num != 8 && f.num != 9) || f.wire != PB_LEN)
            continue;
        if (++peers > KAD_MAX_PEERS_MSG ||
            scan_peer(f.data, f.len, &addrs) != 0)
            return BAD;
    }
    return rc == 0 ? 0 : BAD;
}

static size_t peers_in(PbPeer **in, size_t n, struct kad_peer *out,
                       size_t *dropped)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        struct kad_peer *kp = &out[k];
        if (k == KAD_PEERS_LIST || !in[i]->has_id ||
            peer_id_from_bytes(in[i]->id.data, in[i]->id.len, &kp->id) != 0) {
            (*dropped)++;
            continue;
        }
        kp->conn = in[i]->has_connection && in[i]->connection <= 3
                       ? (enum kad_conn)in[i]->connection
                       : KAD_NOT_CONNECTED;
        kp->n_addrs = 0;
        for (size_t j = 0; j < in[i]->n_addrs; j++) {
            if (kp->n_addrs == KAD_PEER_ADDRS ||
                multiaddr_from_bytes(in[i]->addrs[j].data, in[i]->addrs[j].len,
                                     &kp->addrs[kp->n_addrs]) != 0)
                (*dropped)++;
            else
                kp->n_addrs++;
        }
        k++;
    }
    return k;
}

static int fields_in(const Msg *m, struct kad_msg *out)
{
    /* js-libp2p writes proto3: a PUT_VALUE (0) has no type field */
    if (m->has_type && m->type > FASTN__KAD__MESSAGE__MESSAGE_TYPE__PING)
        return BAD;
    out->type = m->has_type ? (enum kad_type)m->type : KAD_PUT_VALUE;
    if (m->has_key) {
        if (m->key.len > KAD_KEY_MAX)
            return BAD;
        memcpy(out->key, m->key.data, m->key.len);
        out->key_len = m->key.len;
    }
    if (m->record) {
        const Fastn__Kad__Record *r = m->record;
        if (r->key.len > KAD_KEY_MAX || r->value.len > KAD_VALUE_MAX)
            return BAD;
        out->has_record = true;
        if (r->has_key && r->key.len)
            memcpy(out->rec_key, r->key.data, r->key.len);
        out->rec_key_len = r->has_key ? r->key.len : 0;
        if (r->has_value && r->value.len)
            memcpy(out->value, r->value.data, r->value.len);
        out->value_len = r->has_value ? r->value.len : 0;
    }
    out->n_closer =
        peers_in(m->closerpeers, m->n_closerpeers, out->closer, &out->dropped);
    out->n_providers = peers_in(m->providerpeers, m->n_providerpeers,
                                out->providers, &out->dropped);
    return 0;
}

int kad_msg_decode(const uint8_t *p, size_t n, struct kad_msg *out)
{
    Msg *m;
    int err;

    memset(out, 0, offsetof(struct kad_msg, value));
    out->value_len = out->n_closer = out->n_providers = out->dropped = 0;
    if (n > KAD_MAX_MSG || scan(p, n) != 0)
        return BAD;
    m = fastn__kad__message__unpack(NULL, n, p);
    if (!m)
        return BAD;
    err = fields_in(m, out);
    fastn__kad__message__free_unpacked(m, NULL);
    return err;
}
