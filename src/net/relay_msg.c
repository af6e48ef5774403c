/*
 * Circuit relay v2 messages, vouchers and circuit addresses; see
 * relay.h. protobuf-c decodes bodies already bounded by RELAY_MAX_MSG
 * (so it allocates at most a small multiple of that); the C form keeps
 * bounded copies, checked.
 */
#include "net/relay.h"

#include <string.h>

#include "fastn/err.h"
#include "net/lp.h"
#include "net/relay.pb-c.h"

#define BAD FASTN_ERR_NET_BAD_MESSAGE

typedef Fastn__Relay__HopMessage Hop;
typedef Fastn__Relay__StopMessage Stop;
typedef Fastn__Relay__Peer PbPeer;
typedef Fastn__Relay__Limit PbLimit;
typedef Fastn__Relay__Reservation PbRsv;

static bool status_known(int st)
{
    switch (st) {
    case RELAY_OK:
    case RELAY_RESERVATION_REFUSED:
    case RELAY_RESOURCE_LIMIT_EXCEEDED:
    case RELAY_PERMISSION_DENIED:
    case RELAY_CONNECTION_FAILED:
    case RELAY_NO_RESERVATION:
    case RELAY_MALFORMED_MESSAGE:
    case RELAY_UNEXPECTED_MESSAGE:
        return true;
    default:
        return false;
    }
}

const char *relay_status_name(enum relay_status st)
{
    switch (st) {
    case RELAY_OK:
        return "OK";
    case RELAY_RESERVATION_REFUSED:
        return "RESERVATION_REFUSED";
    case RELAY_RESOURCE_LIMIT_EXCEEDED:
        return "RESOURCE_LIMIT_EXCEEDED";
    case RELAY_PERMISSION_DENIED:
        return "PERMISSION_DENIED";
    case RELAY_CONNECTION_FAILED:
        return "CONNECTION_FAILED";
    case RELAY_NO_RESERVATION:
        return "NO_RESERVATION";
    case RELAY_MALFORMED_MESSAGE:
        return "MALFORMED_MESSAGE";
    case RELAY_UNEXPECTED_MESSAGE:
        return "UNEXPECTED_MESSAGE";
    }
    return "unknown";
}

int relay_status_error(enum relay_status st)
{
    switch (st) {
    case RELAY_OK:
        return 0;
    case RELAY_RESERVATION_REFUSED:
    case RELAY_RESOURCE_LIMIT_EXCEEDED:
    case RELAY_PERMISSION_DENIED:
        return FASTN_ERR_NET_RELAY_REFUSED;
    case RELAY_NO_RESERVATION:
        return FASTN_ERR_NET_RELAY_NO_RESERVATION;
    case RELAY_CONNECTION_FAILED:
        return FASTN_ERR_NET_RELAY_FAILED;
    default:
        return BAD;
    }
}

/* --- encoding ------------------------------------------------------------ */

struct pb_parts {
    PbPeer peer;
    PbLimit limit;
    PbRsv rsv;
    ProtobufCBinaryData peer_addrs[ADDR_LIST_MAX], rsv_addrs[ADDR_LIST_MAX];
};

static void addrs_out(const struct addr_list *l, ProtobufCBinaryData *bin,
                      size_t *n, ProtobufCBinaryData **arr)
{
    for (size_t i = 0; i < l->n; i++) {
        bin[i].data = (uint8_t *)l->a[i].bytes;
        bin[i].len = l->a[i].len;
    }
    *n = l->n;
    *arr = bin;
}

static void parts_fill(const struct relay_msg *m, struct pb_parts *pp)
{
    fastn__relay__peer__init(&pp->peer);
    fastn__relay__limit__init(&pp->limit);
    fastn__relay__reservation__init(&pp->rsv);
    pp->peer.has_id = 1;
    pp->peer.id.data = (uint8_t *)m->peer.bytes;
    pp->peer.id.len = m->peer.len;
    addrs_out(&m->peer_addrs, pp->peer_addrs, &pp->peer.n_addrs,
              &pp->peer.addrs);
    pp->limit.has_duration = m->limit.duration_s != 0;
    pp->limit.duration = m->limit.duration_s;
    pp->limit.has_data = m->limit.data != 0;
    pp->limit.data = m->limit.data;
    pp->rsv.has_expire = 1;
    pp->rsv.expire = m->rsv_expire;
    addrs_out(&m->rsv_addrs, pp->rsv_addrs, &pp->rsv.n_addrs, &pp->rsv.addrs);
    pp->rsv.has_voucher = m->voucher_len != 0;
    pp->rsv.voucher.data = (uint8_t *)m->voucher;
    pp->rsv.voucher.len = m->voucher_len;
}

static int put_frame(struct buf *out, size_t len, const void *msg, bool hop)
{
    uint8_t frame[RELAY_MAX_MSG];

    if (len > sizeof(frame))
        return FASTN_ERR_TOO_LARGE;
    if (hop)
        fastn__relay__hop_message__pack(msg, frame);
    else
        fastn__relay__stop_message__pack(msg, frame);
    return lp_write(out, frame, len);
}

int relay_msg_encode(const struct relay_msg *m, struct buf *out)
{
    struct pb_parts pp;

    parts_fill(m, &pp);
    if (m->kind == RELAY_HOP) {
        Hop h = FASTN__RELAY__HOP_MESSAGE__INIT;
        h.has_type = 1;
        h.type = (Fastn__Relay__HopMessage__Type)m->type;
        h.peer = m->has_peer ? &pp.peer : NULL;
        h.reservation = m->has_rsv ? &pp.rsv : NULL;
        h.limit = m->limit.present ? &pp.limit : NULL;
        h.has_status = m->has_status;
        h.status = (Fastn__Relay__Status)m->status;
        return put_frame(out, fastn__relay__hop_message__get_packed_size(&h),
                         &h, true);
    }
    Stop s = FASTN__RELAY__STOP_MESSAGE__INIT;
    s.has_type = 1;
    /* stop numbers CONNECT 0 and STATUS 1 */
    s.type = m->type == RELAY_STATUS
                 ? FASTN__RELAY__STOP_MESSAGE__TYPE__STATUS
                 : FASTN__RELAY__STOP_MESSAGE__TYPE__CONNECT;
    s.peer = m->has_peer ? &pp.peer : NULL;
    s.limit = m->limit.present ? &pp.limit : NULL;
    s.has_status = m->has_status;
    s.status = (Fastn__Relay__Status)m->status;
    return put_frame(out, fastn__relay__stop_message__get_packed_size(&s), &s,
                     false);
}

/* --- decoding ------------------------------------------------------------ */

static void addrs_in(ProtobufCBinaryData *arr, size_t n, struct addr_list *l)
{
    struct multiaddr ma;
    for (size_t i = 0; i < n; i++) {
        if (multiaddr_from_bytes(arr[i].data, arr[i].len, &ma) == 0)
            addr_list_put(l, ADDR_LIST_MAX, &ma);
        else
            l->dropped++;
    }
}

static int peer_in(const PbPeer *p, struct relay_msg *out)
{
    if (!p)
        return 0;
    if (!p->has_id || peer_id_from_bytes(p->id.data, p->id.len, &out->peer))
        return BAD;
    out->has_peer = true;
    addrs_in(p->addrs, p->n_addrs, &out->peer_addrs);
    return 0;
}

static void limit_in(const PbLimit *l, struct relay_limit *out)
{
    if (!l)
        return;
    out->present = true;
    out->duration_s = l->has_duration ? l->duration : 0;
    out->data = l->has_data ? l->data : 0;
}

static int rsv_in(const PbRsv *r, struct relay_msg *out)
{
    if (!r)
        return 0;
    if (r->has_voucher && r->voucher.len > sizeof(out->voucher))
        return BAD;
    out->has_rsv = true;
    out->rsv_expire = r->has_expire ? r->expire : 0;
    addrs_in(r->addrs, r->n_addrs, &out->rsv_addrs);
    if (r->has_voucher && r->voucher.len) {
        memcpy(out->voucher, r->voucher.data, r->voucher.len);
        out->voucher_len = r->voucher.len;
    }
    return 0;
}

static int status_in(protobuf_c_boolean has, int st, struct relay_msg *out)
{
    if (!has)
        return 0;
    if (!status_known(st))
        return BAD;
    out->has_status = true;
    out->status = (enum relay_status)st;
    return 0;
}

static int hop_in(const Hop *h, struct relay_msg *out)
{
    int err;
    if (!h->has_type || h->type > FASTN__RELAY__HOP_MESSAGE__TYPE__STATUS)
        return BAD;
    out->type = (enum relay_type)h->type;
    limit_in(h->limit, &out->limit);
    err = peer_in(h->peer, out);
    if (!err)
        err = rsv_in(h->reservation, out);
    if (!err)
        err = status_in(h->has_status, h->status, out);
    return err;
}

static int stop_in(const Stop *s, struct relay_msg *out)
{
    int err;
    if (!s->has_type || s->type > FASTN__RELAY__STOP_MESSAGE__TYPE__STATUS)
        return BAD;
    out->type = s->type == FASTN__RELAY__STOP_MESSAGE__TYPE__STATUS
                    ? RELAY_STATUS
                    : RELAY_CONNECT;
    limit_in(s->limit, &out->limit);
    err = peer_in(s->peer, out);
    if (!err)
        err = status_in(s->has_status, s->status, out);
    return err;
}

int relay_msg_decode(enum relay_kind kind, const uint8_t *p, size_t n,
                     struct relay_msg *out)
{
    int err;

    memset(out, 0, sizeof(*out));
    out->kind = kind;
    if (n > RELAY_MAX_MSG)
        return BAD;
    if (kind == RELAY_HOP) {
        Hop *h = fastn__relay__hop_message__unpack(NULL, n, p);
        if (!h)
            return BAD;
        err = hop_in(h, out);
        fastn__relay__hop_message__free_unpacked(h, NULL);
        return err;
    }
    Stop *s = fastn__relay__stop_message__unpack(NULL, n, p);
    if (!s)
        return BAD;
    err = stop_in(s, out);
    fastn__relay__stop_message__free_unpacked(s, NULL);
    return err;
}

/* --- vouchers ------------------------------------------------------------ */

int relay_voucher_seal(const struct identity *relay, const struct peer_id *peer,
                       uint64_t expiration, struct buf *out)
{
    Fastn__Relay__Voucher v = FASTN__RELAY__VOUCHER__INIT;
    uint8_t payload[256];
    size_t len;

    v.has_relay = v.has_peer = v.has_expiration = 1;
    v.relay.data = (uint8_t *)relay->id.bytes;
    v.relay.len = relay->id.len;
    v.peer.data = (uint8_t *)peer->bytes;
    v.peer.len = peer->len;
    v.expiration = expiration;
    len = fastn__relay__voucher__get_packed_size(&v);
    if (len > sizeof(payload))
        return FASTN_ERR_TOO_LARGE;
    fastn__relay__voucher__pack(&v, payload); /* field order: canonical */
    return envelope_seal(relay, RELAY_VOUCHER_DOMAIN,
                         (const uint8_t *)RELAY_VOUCHER_TYPE,
                         RELAY_VOUCHER_TYPE_LEN, payload, len, out);
}

int relay_voucher_open(const uint8_t *p, size_t n, struct relay_voucher *out)
{
    struct envelope env;
    Fastn__Relay__Voucher *v;
    int err = envelope_open(p, n, RELAY_VOUCHER_DOMAIN, &env);

    if (err)
        return err;
    if (env.type_len != RELAY_VOUCHER_TYPE_LEN ||
        memcmp(env.type, RELAY_VOUCHER_TYPE, RELAY_VOUCHER_TYPE_LEN) != 0)
        return FASTN_ERR_MALFORMED;
    v = fastn__relay__voucher__unpack(NULL, env.payload_len, env.payload);
    if (!v)
        return FASTN_ERR_MALFORMED;
    err = FASTN_ERR_MALFORMED;
    if (v->has_relay && v->has_peer && v->has_expiration &&
        peer_id_from_bytes(v->relay.data, v->relay.len, &out->relay) == 0 &&
        peer_id_from_bytes(v->peer.data, v->peer.len, &out->peer) == 0) {
        out->expiration = v->expiration;
        err = peer_id_equal(&out->relay, &env.signer) ? 0 : FASTN_ERR_SIGNATURE;
    }
    fastn__relay__voucher__free_unpacked(v, NULL);
    return err;
}

/* --- circuit addresses --------------------------------------------------- */

bool relay_is_circuit(const struct multiaddr *ma)
{
    struct multiaddr_comp c;
    size_t off = 0;
    while (multiaddr_next(ma, &off, &c))
        if (c.code == MA_P2P_CIRCUIT)
            return true;
    return false;
}

int relay_circuit_addr(const struct multiaddr *relay_addr,
                       const struct peer_id *relay,
                       const struct peer_id *target, struct multiaddr *out)
{
    struct peer_id last;
    int err;

    *out = *relay_addr;
    if (multiaddr_get_peer(relay_addr, &last) != 0) {
        if (!relay)
            return FASTN_ERR_INVAL;
        err = multiaddr_append_peer(out, relay);
        if (err)
            return err;
    }
    err = multiaddr_append(out, MA_P2P_CIRCUIT, NULL, 0);
    return err ? err : multiaddr_append_peer(out, target);
}

int relay_circuit_split(const struct multiaddr *ma, struct multiaddr *transport,
                        struct peer_id *relay, bool *has_target,
                        struct peer_id *target)
{
    struct multiaddr_comp c, prev = {0};
    struct multiaddr tr = {0}; /* transport may be ma itself */
    size_t off = 0, before = 0, circuits = 0, prev_off = 0;
    bool has = false;

    while (multiaddr_next(ma, &off, &c)) {
        if (c.code == MA_P2P_CIRCUIT) {
            if (++circuits > 1 || prev.code != MA_P2P ||
                peer_id_from_bytes(prev.value, prev.len, relay) != 0)
                return FASTN_ERR_UNSUPPORTED;
            memcpy(tr.bytes, ma->bytes, prev_off);
            tr.len = (uint16_t)prev_off;
        } else if (circuits == 1) {
            if (c.code != MA_P2P || has ||
                peer_id_from_bytes(c.value, c.len, target) != 0)
                return FASTN_ERR_UNSUPPORTED;
            has = true;
        }
        prev = c;
        prev_off = before;
        before = off;
    }
    if (circuits != 1)
        return FASTN_ERR_UNSUPPORTED;
    *transport = tr;
    *has_target = has;
    return 0;
}

/* --- dialing through a relay -------------------------------------------- */

int relay_connect_encode(const struct peer_id *target, struct buf *out)
{
    struct relay_msg m;

    memset(&m, 0, sizeof(m));
    m.kind = RELAY_HOP;
    m.type = RELAY_CONNECT;
    m.has_peer = true;
    m.peer = *target;
    return relay_msg_encode(&m, out);
}

int relay_connect_result(const uint8_t *p, size_t n, struct relay_limit *limit)
{
    struct relay_msg m;
    int err = relay_msg_decode(RELAY_HOP, p, n, &m);

    if (err)
        return err;
    if (m.type != RELAY_STATUS || !m.has_status)
        return BAD;
    if (m.status != RELAY_OK)
        return relay_status_error(m.status);
    *limit = m.limit;
    return 0;
}
