/*
 * AutoNAT v1 codec and server; see autonat.h. protobuf-c decodes
 * messages already bounded by AUTONAT_MAX_MSG; every field is then
 * checked before use.
 */
#include "net/autonat.h"

#include <string.h>

#include "fastn/err.h"
#include "net/autonat.pb-c.h"
#include "net/lp.h"

#define BAD FASTN_ERR_NET_BAD_MESSAGE

typedef Fastn__Autonat__Message Msg;

static int pack(const Msg *m, struct buf *out)
{
    uint8_t frame[AUTONAT_MAX_MSG];
    size_t len = fastn__autonat__message__get_packed_size(m);

    if (len > sizeof(frame))
        return FASTN_ERR_TOO_LARGE;
    fastn__autonat__message__pack(m, frame);
    return lp_write(out, frame, len);
}

int autonat_dial_encode(const struct peer_id *self,
                        const struct multiaddr *addrs, size_t n,
                        struct buf *out)
{
    Msg m = FASTN__AUTONAT__MESSAGE__INIT;
    Fastn__Autonat__Message__Dial dial = FASTN__AUTONAT__MESSAGE__DIAL__INIT;
    Fastn__Autonat__Message__PeerInfo pi =
        FASTN__AUTONAT__MESSAGE__PEER_INFO__INIT;
    ProtobufCBinaryData bin[AUTONAT_DIAL_MAX];

    if (n > AUTONAT_DIAL_MAX)
        n = AUTONAT_DIAL_MAX;
    for (size_t i = 0; i < n; i++) {
        bin[i].data = (uint8_t *)addrs[i].bytes;
        bin[i].len = addrs[i].len;
    }
    pi.has_id = 1;
    pi.id.data = (uint8_t *)self->bytes;
    pi.id.len = self->len;
    pi.n_addrs = n;
    pi.addrs = bin;
    dial.peer = &pi;
    m.has_type = 1;
    m.type = FASTN__AUTONAT__MESSAGE__MESSAGE_TYPE__DIAL;
    m.dial = &dial;
    return pack(&m, out);
}

static int request_fields(const Msg *m, struct autonat_request *out)
{
    const Fastn__Autonat__Message__PeerInfo *pi;

    if (!m->has_type ||
        m->type != FASTN__AUTONAT__MESSAGE__MESSAGE_TYPE__DIAL || !m->dial ||
        !m->dial->peer)
        return BAD;
    pi = m->dial->peer;
    if (!pi->has_id || peer_id_from_bytes(pi->id.data, pi->id.len, &out->peer))
        return BAD;
    out->n_raw = pi->n_addrs;
    for (size_t i = 0; i < pi->n_addrs && out->n < AUTONAT_DIAL_MAX; i++)
        if (multiaddr_from_bytes(pi->addrs[i].data, pi->addrs[i].len,
                                 &out->addrs[out->n]) == 0)
            out->n++;
    return 0;
}

int autonat_request_decode(const uint8_t *p, size_t n,
                           struct autonat_request *out)
{
    Msg *m;
    int rc;

    memset(out, 0, sizeof(*out));
    if (n > AUTONAT_MAX_MSG)
        return BAD;
    m = fastn__autonat__message__unpack(NULL, n, p);
    if (!m)
        return BAD;
    rc = request_fields(m, out);
    fastn__autonat__message__free_unpacked(m, NULL);
    return rc;
}

int autonat_response_encode(enum autonat_status st, const char *text,
                            const struct multiaddr *addr, struct buf *out)
{
    Msg m = FASTN__AUTONAT__MESSAGE__INIT;
    Fastn__Autonat__Message__DialResponse r =
        FASTN__AUTONAT__MESSAGE__DIAL_RESPONSE__INIT;

    r.has_status = 1;
    r.status = (Fastn__Autonat__Message__ResponseStatus)st;
    r.statustext = (char *)text;
    if (addr) {
        r.has_addr = 1;
        r.addr.data = (uint8_t *)addr->bytes;
        r.addr.len = addr->len;
    }
    m.has_type = 1;
    m.type = FASTN__AUTONAT__MESSAGE__MESSAGE_TYPE__DIAL_RESPONSE;
    m.dialresponse = &r;
    return pack(&m, out);
}

static bool status_known(int st)
{
    return st == AUTONAT_OK || st == AUTONAT_E_DIAL_ERROR ||
           st == AUTONAT_E_DIAL_REFUSED || st == AUTONAT_E_BAD_REQUEST ||
           st == AUTONAT_E_INTERNAL_ERROR;
}

static int response_fields(const Msg *m, struct autonat_response *out)
{
    const Fastn__Autonat__Message__DialResponse *r = m->dialresponse;
    size_t len;

    if (!m->has_type ||
        m->type != FASTN__AUTONAT__MESSAGE__MESSAGE_TYPE__DIAL_RESPONSE || !r ||
        !r->has_status || !status_known(r->status))
        return BAD;
    out->status = (enum autonat_status)r->status;
    if (r->statustext) {
        len = strnlen(r->statustext, AUTONAT_STATUS_TEXT_MAX);
        memcpy(out->text, r->statustext, len);
        out->text[len] = '\0';
    }
    if (r->has_addr &&
        multiaddr_from_bytes(r->addr.data, r->addr.len, &out->addr) == 0)
        out->has_addr = true;
    return 0;
}

int autonat_response_decode(const uint8_t *p, size_t n,
                            struct autonat_response *out)
{
    Msg *m;
    int rc;

    memset(out, 0, sizeof(*out));
    if (n > AUTONAT_MAX_MSG)
        return BAD;
    m = fastn__autonat__message__unpack(NULL, n, p);
    if (!m)
        return BAD;
    rc = response_fields(m, out);
    fastn__autonat__message__free_unpacked(m, NULL);
    return rc;
}

/* --- server -------------------------------------------------------------- */

void autonat_server_config_default(struct autonat_server_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->per_peer_max = 3;
    cfg->global_max = 30;
    cfg->window_us = 60 * 1000000ull;
}

void autonat_server_init(struct autonat_server *s,
                         const struct autonat_server_config *cfg)
{
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
}

bool autonat_server_admit(struct autonat_server *s, const struct peer_id *peer,
                          uint64_t now)
{
    size_t i;

    if (now - s->window_start >= s->cfg.window_us) {
        s->window_start = now;
        s->global_count = 0;
        s->n_peers = 0;
    }
    if (s->global_count >= s->cfg.global_max)
        return false;
    for (i = 0; i < s->n_peers; i++)
        if (peer_id_equal(&s->peers[i].id, peer))
            break;
    if (i == s->n_peers) {
        if (s->n_peers == AUTONAT_SERVER_PEERS)
            return false;
        s->peers[s->n_peers].id = *peer;
        s->peers[s->n_peers++].count = 0;
    }
    if (s->peers[i].count >= s->cfg.per_peer_max)
        return false;
    s->peers[i].count++;
    s->global_count++;
    return true;
}

/* The address's IP is ip (the requester's) and the policy allows it. */
static bool same_ip(const struct multiaddr *ma, const uint8_t *ip, size_t len)
{
    struct multiaddr_tcp t;
    size_t want;

    if (multiaddr_to_tcp(ma, &t) != 0 || t.port == 0)
        return false;
    want = t.host_code == MA_IP4 ? 4 : t.host_code == MA_IP6 ? 16 : 0;
    return want == len && memcmp(t.ip, ip, len) == 0;
}

static void pick_addrs(const struct autonat_server *s,
                       const struct autonat_request *req, const uint8_t *ip,
                       size_t ip_len, struct autonat_dial_job *job)
{
    for (size_t i = 0; i < req->n; i++) {
        const struct multiaddr *ma = &req->addrs[i];
        if (same_ip(ma, ip, ip_len) &&
            addr_policy_allows(&s->cfg.policy, addr_scope_of(ma)))
            addr_list_put(&job->addrs, AUTONAT_DIAL_MAX, ma);
    }
}

int autonat_server_request(struct autonat_server *s, const struct peer_id *from,
                           const uint8_t *observed_ip, size_t ip_len,
                           const uint8_t *msg, size_t n, uint64_t now,
                           struct autonat_dial_job *job, struct buf *out)
{
    struct autonat_request req;

    memset(job, 0, sizeof(*job));
    if (autonat_request_decode(msg, n, &req) != 0)
        return autonat_response_encode(AUTONAT_E_BAD_REQUEST,
                                       "malformed dial request", NULL, out);
    if (!peer_id_equal(&req.peer, from))
        return autonat_response_encode(AUTONAT_E_BAD_REQUEST,
                                       "peer id mismatch", NULL, out);
    if (!autonat_server_admit(s, from, now))
        return autonat_response_encode(AUTONAT_E_DIAL_REFUSED, "too many dials",
                                       NULL, out);
    pick_addrs(s, &req, observed_ip, ip_len, job);
    if (job->addrs.n == 0)
        return autonat_response_encode(AUTONAT_E_DIAL_REFUSED,
                                       "no dialable addresses", NULL, out);
    job->peer = req.peer;
    return 1;
}
