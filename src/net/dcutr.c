/*
 * DCUtR: the codec (protobuf-c over dcutr.proto) and the two roles'
 * state machine; see dcutr.h. Every step that waits for the other side
 * has a deadline, attempts are counted on both sides, and addresses are
 * filtered before anything sees them.
 */
#include "net/dcutr.h"

#include <string.h>

#include "fastn/err.h"
#include "net/dcutr.pb-c.h"

#define BAD FASTN_ERR_NET_BAD_MESSAGE

enum {
    ST_IDLE,         /* initiator, not started */
    ST_WAIT_CONNECT, /* initiator: CONNECT sent; responder: awaiting one */
    ST_WAIT_TIMER,   /* initiator: SYNC sent, dial at dial_at */
    ST_WAIT_SYNC,    /* responder: answered CONNECT, awaiting SYNC */
    ST_DIALING,      /* a DIAL event is out, awaiting dcutr_dial_done */
    ST_SUCCEEDED,
    ST_FAILED,
};

/* --- codec --------------------------------------------------------------- */

int dcutr_msg_encode(enum dcutr_msg_type type, const struct multiaddr *addrs,
                     size_t n, struct buf *out)
{
    Fastn__Dcutr__HolePunch m = FASTN__DCUTR__HOLE_PUNCH__INIT;
    ProtobufCBinaryData bin[ADDR_LIST_MAX];
    uint8_t frame[DCUTR_MAX_MSG];
    size_t len;

    if (n > ADDR_LIST_MAX)
        n = ADDR_LIST_MAX;
    for (size_t i = 0; i < n; i++) {
        bin[i].data = (uint8_t *)addrs[i].bytes;
        bin[i].len = addrs[i].len;
    }
    m.has_type = 1;
    m.type = (Fastn__Dcutr__HolePunch__Type)type;
    m.n_obsaddrs = n;
    m.obsaddrs = bin;
    len = fastn__dcutr__hole_punch__get_packed_size(&m);
    if (len > sizeof(frame))
        return FASTN_ERR_TOO_LARGE;
    fastn__dcutr__hole_punch__pack(&m, frame);
    return lp_write(out, frame, len);
}

int dcutr_msg_decode(const uint8_t *p, size_t n, const struct addr_policy *pol,
                     size_t max_addrs, struct dcutr_msg *out)
{
    Fastn__Dcutr__HolePunch *m;
    int rc = 0;

    if (n > DCUTR_MAX_MSG)
        return BAD;
    m = fastn__dcutr__hole_punch__unpack(NULL, n, p);
    if (!m)
        return BAD;
    memset(out, 0, sizeof(*out));
    if (!m->has_type || (m->type != FASTN__DCUTR__HOLE_PUNCH__TYPE__CONNECT &&
                         m->type != FASTN__DCUTR__HOLE_PUNCH__TYPE__SYNC)) {
        rc = BAD;
        goto out_free;
    }
    out->type = (enum dcutr_msg_type)m->type;
    for (size_t i = 0; i < m->n_obsaddrs; i++)
        addr_list_add(&out->addrs, max_addrs, pol, m->obsaddrs[i].data,
                      m->obsaddrs[i].len, NULL);
out_free:
    fastn__dcutr__hole_punch__free_unpacked(m, NULL);
    return rc;
}

/* --- the exchange --------------------------------------------------------- */

void dcutr_init(struct dcutr *d, const struct dcutr_config *cfg,
                enum dcutr_role role, const struct multiaddr *ours,
                size_t n_ours, uint64_t now)
{
    memset(d, 0, sizeof(*d));
    d->role = role;
    d->cfg = *cfg;
    if (!d->cfg.max_addrs || d->cfg.max_addrs > ADDR_LIST_MAX)
        d->cfg.max_addrs = DCUTR_DEFAULT_MAX_ADDRS;
    if (!d->cfg.max_attempts)
        d->cfg.max_attempts = DCUTR_ATTEMPTS;
    if (!d->cfg.step_timeout_us)
        d->cfg.step_timeout_us = DCUTR_DEFAULT_STEP_TIMEOUT_US;
    for (size_t i = 0; i < n_ours; i++)
        addr_list_put(&d->ours, ADDR_LIST_MAX, &ours[i]);
    lp_reader_init(&d->rd, DCUTR_MAX_MSG);
    buf_init(&d->out, 4 * DCUTR_MAX_MSG);
    d->state = role == DCUTR_INITIATOR ? ST_IDLE : ST_WAIT_CONNECT;
    d->deadline =
        role == DCUTR_INITIATOR ? UINT64_MAX : now + d->cfg.step_timeout_us;
}

void dcutr_cleanup(struct dcutr *d)
{
    lp_reader_cleanup(&d->rd);
    buf_cleanup(&d->out);
}

static int send_msg(struct dcutr *d, enum dcutr_msg_type type)
{
    if (type == DCUTR_SYNC)
        return dcutr_msg_encode(type, NULL, 0, &d->out);
    return dcutr_msg_encode(type, d->ours.a, d->ours.n, &d->out);
}

static int send_connect(struct dcutr *d, uint64_t now)
{
    int err = send_msg(d, DCUTR_CONNECT);

    if (err)
        return err;
    d->attempt++;
    d->sent_at = now;
    d->deadline = now + d->cfg.step_timeout_us;
    d->state = ST_WAIT_CONNECT;
    return 0;
}

int dcutr_start(struct dcutr *d, uint64_t now)
{
    if (d->role != DCUTR_INITIATOR || d->state != ST_IDLE)
        return FASTN_ERR_INVAL;
    if (d->ours.n == 0) {
        d->state = ST_FAILED;
        return FASTN_ERR_NET_HOLEPUNCH;
    }
    return send_connect(d, now);
}

static void dial_event(struct dcutr *d, struct dcutr_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = DCUTR_EV_DIAL;
    ev->addrs = &d->theirs;
    ev->attempt = d->attempt;
    ev->rtt_us = d->rtt_us;
    d->state = ST_DIALING;
    d->deadline = UINT64_MAX; /* the dialer has its own timeout */
}

/* A CONNECT or SYNC for the initiator. */
static int initiator_msg(struct dcutr *d, const struct dcutr_msg *m,
                         uint64_t now)
{
    int err;

    if (d->state != ST_WAIT_CONNECT || m->type != DCUTR_CONNECT)
        return BAD;
    if (m->addrs.n == 0)
        return FASTN_ERR_NET_HOLEPUNCH;
    d->theirs = m->addrs;
    d->rtt_us = now - d->sent_at;
    err = send_msg(d, DCUTR_SYNC);
    if (err)
        return err;
    d->dial_at = now + d->rtt_us / 2;
    d->deadline = d->dial_at;
    d->state = ST_WAIT_TIMER;
    return 0;
}

/* A CONNECT or SYNC for the responder; 1 with *ev on SYNC. */
static int responder_msg(struct dcutr *d, const struct dcutr_msg *m,
                         struct dcutr_event *ev, uint64_t now)
{
    int err;

    if (m->type == DCUTR_SYNC) {
        if (d->state != ST_WAIT_SYNC)
            return BAD;
        dial_event(d, ev);
        return 1;
    }
    /* a CONNECT starts an attempt: the first, or a retry after ours */
    if (d->state != ST_WAIT_CONNECT && d->state != ST_DIALING)
        return BAD;
    if (d->attempt >= d->cfg.max_attempts)
        return BAD;
    if (m->addrs.n == 0)
        return FASTN_ERR_NET_HOLEPUNCH;
    d->theirs = m->addrs;
    err = send_msg(d, DCUTR_CONNECT);
    if (err)
        return err;
    d->attempt++;
    d->state = ST_WAIT_SYNC;
    d->deadline = now + d->cfg.step_timeout_us;
    return 0;
}

int dcutr_feed(struct dcutr *d, const uint8_t *p, size_t n, size_t *used,
               struct dcutr_event *ev, uint64_t now)
{
    size_t off = 0;

    *used = 0;
    while (off < n) {
        struct dcutr_msg m;
        const uint8_t *body;
        size_t took, len;
        int rc = lp_reader_next(&d->rd, p + off, n - off, &took, &body, &len);

        off += took;
        *used = off;
        if (rc == FASTN_ERR_MALFORMED || rc == FASTN_ERR_TOO_LARGE)
            return BAD;
        if (rc <= 0)
            return rc;
        if (d->state == ST_SUCCEEDED || d->state == ST_FAILED)
            return BAD; /* nothing may follow the end */
        rc = dcutr_msg_decode(body, len, &d->cfg.policy, d->cfg.max_addrs, &m);
        if (rc)
            return rc;
        rc = d->role == DCUTR_INITIATOR ? initiator_msg(d, &m, now)
                                        : responder_msg(d, &m, ev, now);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int dcutr_tick(struct dcutr *d, uint64_t now, struct dcutr_event *ev)
{
    if (now < d->deadline)
        return 0;
    if (d->state == ST_WAIT_TIMER) {
        dial_event(d, ev);
        return 1;
    }
    if (d->state == ST_WAIT_CONNECT || d->state == ST_WAIT_SYNC) {
        d->state = ST_FAILED;
        d->deadline = UINT64_MAX;
        return FASTN_ERR_TIMEOUT;
    }
    return 0;
}

uint64_t dcutr_next_deadline(const struct dcutr *d)
{
    return d->deadline;
}

int dcutr_dial_done(struct dcutr *d, bool connected, uint64_t now)
{
    if (d->state != ST_DIALING)
        return FASTN_ERR_INVAL;
    if (connected) {
        d->state = ST_SUCCEEDED;
        return 0;
    }
    if (d->role == DCUTR_RESPONDER) {
        /* the initiator decides whether to try again */
        d->state =
            d->attempt < d->cfg.max_attempts ? ST_WAIT_CONNECT : ST_FAILED;
        d->deadline =
            d->state == ST_FAILED ? UINT64_MAX : now + d->cfg.step_timeout_us;
        return d->state == ST_FAILED ? FASTN_ERR_NET_HOLEPUNCH : 0;
    }
    if (d->attempt >= d->cfg.max_attempts) {
        d->state = ST_FAILED;
        return FASTN_ERR_NET_HOLEPUNCH;
    }
    return send_connect(d, now);
}

bool dcutr_done(const struct dcutr *d)
{
    return d->state == ST_SUCCEEDED || d->state == ST_FAILED;
}

bool dcutr_succeeded(const struct dcutr *d)
{
    return d->state == ST_SUCCEEDED;
}

const uint8_t *dcutr_output(const struct dcutr *d, size_t *n)
{
    *n = d->out.len;
    return d->out.data;
}

void dcutr_output_consume(struct dcutr *d, size_t n)
{
    buf_consume(&d->out, n);
}
