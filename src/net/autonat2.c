/*
 * AutoNAT v2 codec and the per-stream state machines of its server and
 * client; see autonat2.h. protobuf-c decodes messages already bounded by
 * AUTONAT2_MAX_MSG; every field is checked before use.
 */
#include "net/autonat2.h"

#include <string.h>

#include "fastn/err.h"
#include "net/autonat2.pb-c.h"
#include "net/lp.h"

#define BAD FASTN_ERR_NET_BAD_MESSAGE

typedef Fastn__Autonat2__Message Msg;

/* --- codec --------------------------------------------------------------- */

static int frame(size_t len, void (*packer)(const void *, uint8_t *),
                 const void *m, struct buf *out)
{
    uint8_t tmp[AUTONAT2_MAX_MSG];

    if (len > sizeof(tmp))
        return FASTN_ERR_TOO_LARGE;
    packer(m, tmp);
    return lp_write(out, tmp, len);
}

static void pack_msg(const void *m, uint8_t *p)
{
    fastn__autonat2__message__pack(m, p);
}

static int pack(const Msg *m, struct buf *out)
{
    return frame(fastn__autonat2__message__get_packed_size(m), pack_msg, m,
                 out);
}

int autonat2_request_encode(const struct multiaddr *addrs, size_t n,
                            uint64_t nonce, struct buf *out)
{
    Msg m = FASTN__AUTONAT2__MESSAGE__INIT;
    Fastn__Autonat2__DialRequest r = FASTN__AUTONAT2__DIAL_REQUEST__INIT;
    ProtobufCBinaryData bin[AUTONAT2_ADDRS_MAX];

    if (n > AUTONAT2_ADDRS_MAX)
        n = AUTONAT2_ADDRS_MAX;
    for (size_t i = 0; i < n; i++) {
        bin[i].data = (uint8_t *)addrs[i].bytes;
        bin[i].len = addrs[i].len;
    }
    r.n_addrs = n;
    r.addrs = bin;
    r.has_nonce = 1;
    r.nonce = nonce;
    m.msg_case = FASTN__AUTONAT2__MESSAGE__MSG_DIAL_REQUEST;
    m.dialrequest = &r;
    return pack(&m, out);
}

int autonat2_response_encode(enum autonat2_status st, uint32_t idx,
                             enum autonat2_dial_status ds, struct buf *out)
{
    Msg m = FASTN__AUTONAT2__MESSAGE__INIT;
    Fastn__Autonat2__DialResponse r = FASTN__AUTONAT2__DIAL_RESPONSE__INIT;

    r.has_status = 1;
    r.status = (Fastn__Autonat2__DialResponse__ResponseStatus)st;
    r.has_addridx = 1;
    r.addridx = idx;
    r.has_dialstatus = 1;
    r.dialstatus = (Fastn__Autonat2__DialStatus)ds;
    m.msg_case = FASTN__AUTONAT2__MESSAGE__MSG_DIAL_RESPONSE;
    m.dialresponse = &r;
    return pack(&m, out);
}

int autonat2_data_request_encode(uint32_t idx, uint64_t num_bytes,
                                 struct buf *out)
{
    Msg m = FASTN__AUTONAT2__MESSAGE__INIT;
    Fastn__Autonat2__DialDataRequest r =
        FASTN__AUTONAT2__DIAL_DATA_REQUEST__INIT;

    r.has_addridx = 1;
    r.addridx = idx;
    r.has_numbytes = 1;
    r.numbytes = num_bytes;
    m.msg_case = FASTN__AUTONAT2__MESSAGE__MSG_DIAL_DATA_REQUEST;
    m.dialdatarequest = &r;
    return pack(&m, out);
}

int autonat2_data_encode(uint64_t total, struct buf *out)
{
    static const uint8_t zeros[AUTONAT2_CHUNK_MAX];
    Msg m = FASTN__AUTONAT2__MESSAGE__INIT;
    Fastn__Autonat2__DialDataResponse r =
        FASTN__AUTONAT2__DIAL_DATA_RESPONSE__INIT;
    int rc = 0;

    m.msg_case = FASTN__AUTONAT2__MESSAGE__MSG_DIAL_DATA_RESPONSE;
    m.dialdataresponse = &r;
    r.has_data = 1;
    r.data.data = (uint8_t *)zeros;
    while (total > 0 && rc == 0) {
        r.data.len = total < sizeof(zeros) ? (size_t)total : sizeof(zeros);
        total -= r.data.len;
        rc = pack(&m, out);
    }
    return rc;
}

static void pack_back(const void *m, uint8_t *p)
{
    fastn__autonat2__dial_back__pack(m, p);
}

static void pack_back_resp(const void *m, uint8_t *p)
{
    fastn__autonat2__dial_back_response__pack(m, p);
}

int autonat2_dial_back_encode(uint64_t nonce, struct buf *out)
{
    Fastn__Autonat2__DialBack b = FASTN__AUTONAT2__DIAL_BACK__INIT;

    b.has_nonce = 1;
    b.nonce = nonce;
    return frame(fastn__autonat2__dial_back__get_packed_size(&b), pack_back, &b,
                 out);
}

int autonat2_dial_back_decode(const uint8_t *p, size_t n, uint64_t *nonce)
{
    Fastn__Autonat2__DialBack *b;

    if (n > AUTONAT2_MAX_MSG)
        return BAD;
    b = fastn__autonat2__dial_back__unpack(NULL, n, p);
    if (!b)
        return BAD;
    *nonce = b->has_nonce ? b->nonce : 0;
    fastn__autonat2__dial_back__free_unpacked(b, NULL);
    return 0;
}

int autonat2_dial_back_response_encode(struct buf *out)
{
    Fastn__Autonat2__DialBackResponse r =
        FASTN__AUTONAT2__DIAL_BACK_RESPONSE__INIT;

    r.has_status = 1;
    r.status = FASTN__AUTONAT2__DIAL_BACK_RESPONSE__DIAL_BACK_STATUS__OK;
    return frame(fastn__autonat2__dial_back_response__get_packed_size(&r),
                 pack_back_resp, &r, out);
}

int autonat2_dial_back_response_decode(const uint8_t *p, size_t n)
{
    Fastn__Autonat2__DialBackResponse *r;
    int rc = 0;

    if (n > AUTONAT2_MAX_MSG)
        return BAD;
    r = fastn__autonat2__dial_back_response__unpack(NULL, n, p);
    if (!r)
        return BAD;
    if (r->has_status &&
        r->status != FASTN__AUTONAT2__DIAL_BACK_RESPONSE__DIAL_BACK_STATUS__OK)
        rc = BAD;
    fastn__autonat2__dial_back_response__free_unpacked(r, NULL);
    return rc;
}

static void request_fields(const Fastn__Autonat2__DialRequest *r,
                           struct autonat2_msg *out)
{
    out->nonce = r->has_nonce ? r->nonce : 0;
    out->n_raw = r->n_addrs;
    out->n = r->n_addrs < AUTONAT2_ADDRS_MAX ? r->n_addrs : AUTONAT2_ADDRS_MAX;
    for (size_t i = 0; i < out->n; i++)
        out->valid[i] = multiaddr_from_bytes(r->addrs[i].data, r->addrs[i].len,
                                             &out->addrs[i]) == 0;
}

static bool status_known(int st)
{
    return st == AUTONAT2_E_INTERNAL_ERROR ||
           st == AUTONAT2_E_REQUEST_REJECTED || st == AUTONAT2_E_DIAL_REFUSED ||
           st == AUTONAT2_OK;
}

static bool dial_status_known(int ds)
{
    return ds == AUTONAT2_DIAL_UNUSED || ds == AUTONAT2_DIAL_ERROR ||
           ds == AUTONAT2_DIAL_BACK_ERROR || ds == AUTONAT2_DIAL_OK;
}

/* Fills out from m; proto3 senders leave zero values out, so an absent
 * field reads as zero. */
static int msg_fields(const Msg *m, struct autonat2_msg *out)
{
    switch (m->msg_case) {
    case FASTN__AUTONAT2__MESSAGE__MSG_DIAL_REQUEST:
        out->type = AUTONAT2_MSG_REQUEST;
        request_fields(m->dialrequest, out);
        return 0;
    case FASTN__AUTONAT2__MESSAGE__MSG_DIAL_RESPONSE:
        out->type = AUTONAT2_MSG_RESPONSE;
        out->status = (enum autonat2_status)m->dialresponse->status;
        out->dial_status =
            (enum autonat2_dial_status)m->dialresponse->dialstatus;
        out->addr_idx = m->dialresponse->addridx;
        return status_known(out->status) && dial_status_known(out->dial_status)
                   ? 0
                   : BAD;
    case FASTN__AUTONAT2__MESSAGE__MSG_DIAL_DATA_REQUEST:
        out->type = AUTONAT2_MSG_DATA_REQUEST;
        out->addr_idx = m->dialdatarequest->addridx;
        out->num_bytes = m->dialdatarequest->numbytes;
        return 0;
    case FASTN__AUTONAT2__MESSAGE__MSG_DIAL_DATA_RESPONSE:
        out->type = AUTONAT2_MSG_DATA_RESPONSE;
        out->data_len = m->dialdataresponse->data.len;
        return out->data_len <= AUTONAT2_CHUNK_MAX ? 0 : BAD;
    default:
        return BAD;
    }
}

int autonat2_msg_decode(const uint8_t *p, size_t n, struct autonat2_msg *out)
{
    Msg *m;
    int rc;

    memset(out, 0, sizeof(*out));
    if (n > AUTONAT2_MAX_MSG)
        return BAD;
    m = fastn__autonat2__message__unpack(NULL, n, p);
    if (!m)
        return BAD;
    rc = msg_fields(m, out);
    fastn__autonat2__message__free_unpacked(m, NULL);
    return rc;
}

/* --- server -------------------------------------------------------------- */

void autonat2_serve_init(struct autonat2_serve *s)
{
    memset(s, 0, sizeof(*s));
}

/* The IP of a TCP multiaddr we could dial into ip; its length or 0. */
static size_t dialable_ip(const struct autonat_server *srv,
                          const struct multiaddr *ma, uint8_t ip[16])
{
    struct multiaddr_tcp t;

    if (multiaddr_to_tcp(ma, &t) != 0 || t.port == 0 ||
        !addr_policy_allows(&srv->cfg.policy, addr_scope_of(ma)))
        return 0;
    if (t.host_code == MA_IP4) {
        memcpy(ip, t.ip, 4);
        return 4;
    }
    if (t.host_code == MA_IP6) {
        memcpy(ip, t.ip, 16);
        return 16;
    }
    return 0;
}

static int serve_request(struct autonat_server *srv, struct autonat2_serve *s,
                         const struct peer_id *from, const uint8_t *ip,
                         size_t ip_len, const struct autonat2_msg *m,
                         uint64_t now, struct buf *out)
{
    uint8_t aip[16];
    size_t i, alen = 0;

    s->state = AUTONAT2_SERVE_DONE;
    if (!autonat_server_admit(srv, from, now))
        return autonat2_response_encode(AUTONAT2_E_REQUEST_REJECTED, 0,
                                        AUTONAT2_DIAL_UNUSED, out);
    for (i = 0; i < m->n; i++) /* the first address we are willing to dial */
        if (m->valid[i] && (alen = dialable_ip(srv, &m->addrs[i], aip)) != 0)
            break;
    if (i == m->n)
        return autonat2_response_encode(AUTONAT2_E_DIAL_REFUSED, 0,
                                        AUTONAT2_DIAL_UNUSED, out);
    s->nonce = m->nonce;
    s->idx = (uint32_t)i;
    s->addr = m->addrs[i];
    if (alen == ip_len && memcmp(aip, ip, alen) == 0) {
        s->state = AUTONAT2_SERVE_DIALING;
        return AUTONAT2_SERVE_DIAL;
    }
    /* another IP than the asker's: it pays first (spec: Amplification
     * Attack Prevention) */
    s->state = AUTONAT2_SERVE_AWAIT_DATA;
    s->want = AUTONAT2_DATA_ASK;
    s->got = 0;
    int rc = autonat2_data_request_encode(s->idx, s->want, out);
    return rc ? rc : AUTONAT2_SERVE_MORE;
}

int autonat2_serve_feed(struct autonat_server *srv, struct autonat2_serve *s,
                        const struct peer_id *from, const uint8_t *ip,
                        size_t ip_len, const uint8_t *msg, size_t n,
                        uint64_t now, struct buf *out)
{
    struct autonat2_msg m;

    if (autonat2_msg_decode(msg, n, &m) != 0) {
        s->state = AUTONAT2_SERVE_DONE;
        return BAD;
    }
    if (s->state == AUTONAT2_SERVE_AWAIT_REQUEST &&
        m.type == AUTONAT2_MSG_REQUEST)
        return serve_request(srv, s, from, ip, ip_len, &m, now, out);
    if (s->state == AUTONAT2_SERVE_AWAIT_DATA &&
        m.type == AUTONAT2_MSG_DATA_RESPONSE) {
        s->got += m.data_len;
        if (s->got < s->want)
            return AUTONAT2_SERVE_MORE;
        s->state = AUTONAT2_SERVE_DIALING;
        return AUTONAT2_SERVE_DIAL;
    }
    s->state = AUTONAT2_SERVE_DONE;
    return BAD;
}

int autonat2_serve_result(struct autonat2_serve *s,
                          enum autonat2_dial_status ds, struct buf *out)
{
    s->state = AUTONAT2_SERVE_DONE;
    return autonat2_response_encode(AUTONAT2_OK, s->idx, ds, out);
}

/* --- client -------------------------------------------------------------- */

int autonat2_probe_start(struct autonat2_probe *p,
                         const struct multiaddr *addrs, size_t n,
                         uint64_t nonce, struct buf *out)
{
    memset(p, 0, sizeof(*p));
    p->n = n < AUTONAT2_ADDRS_MAX ? n : AUTONAT2_ADDRS_MAX;
    memcpy(p->addrs, addrs, p->n * sizeof(addrs[0]));
    p->nonce = nonce;
    return autonat2_request_encode(p->addrs, p->n, nonce, out);
}

static void probe_result(const struct autonat2_probe *p,
                         const struct autonat2_msg *m,
                         struct autonat2_result *res)
{
    memset(res, 0, sizeof(*res));
    res->vote = AUTONAT_VOTE_NONE;
    res->status = m->status;
    res->dial_status = m->dial_status;
    if (m->status != AUTONAT2_OK || m->addr_idx >= p->n)
        return;
    res->has_addr = true;
    res->addr = p->addrs[m->addr_idx];
    if (m->dial_status == AUTONAT2_DIAL_ERROR)
        res->vote = AUTONAT_VOTE_UNREACHABLE;
    else if (m->dial_status == AUTONAT2_DIAL_OK && p->dial_back_seen)
        res->vote = AUTONAT_VOTE_REACHABLE; /* spec: only with our nonce */
}

int autonat2_probe_feed(struct autonat2_probe *p, const uint8_t *msg, size_t n,
                        struct buf *out, struct autonat2_result *res)
{
    struct autonat2_msg m;

    if (autonat2_msg_decode(msg, n, &m) != 0)
        return BAD;
    switch (m.type) {
    case AUTONAT2_MSG_RESPONSE:
        probe_result(p, &m, res);
        return 1;
    case AUTONAT2_MSG_DATA_REQUEST:
        if (p->paid || m.addr_idx >= p->n ||
            m.num_bytes > AUTONAT2_DATA_PAY_MAX)
            return BAD;
        p->paid = true;
        return autonat2_data_encode(m.num_bytes, out);
    default:
        return BAD;
    }
}

bool autonat2_probe_dial_back(struct autonat2_probe *p, uint64_t nonce)
{
    if (nonce != p->nonce)
        return false;
    p->dial_back_seen = true;
    return true;
}
