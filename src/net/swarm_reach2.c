/*
 * AutoNAT v2 on real streams (net/autonat2.h), beside v1 in
 * swarm_reach.c and sharing its state (swarm_reach_int.h).
 *
 *  - Client: reach_kick() asks a peer whose identify lists
 *    /libp2p/autonat/2/dial-request through swarm__reach2_probe(): our
 *    candidate addresses and a random nonce; it pays the data a server
 *    asks for (up to AUTONAT2_DATA_PAY_MAX); the probe waits in
 *    r->probes2 so that a DialBack on /libp2p/autonat/2/dial-back (from
 *    any connection) can be matched by its nonce. The DialResponse is one
 *    vote, as a v1 answer is.
 *  - Server (unless cfg.autonat_server is off): autonat2_serve_feed()
 *    decides; the dial is swarm_connect_exact() to the one chosen
 *    address (a new outbound connection), then, once identify ran on it,
 *    the nonce goes in a DialBack on a stream over that connection and
 *    the DialBackResponse is awaited; the DialResponse tells how it went. The
 * dial-backs at once count with v1's against REACH_SERVE_MAX.
 */
#include "net/swarm_reach_int.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "net/lp.h"
#include "net/noise_int.h"
#include "util/log.h"

/* a paid request's data, framed, fits in the send queue */
#define REACH2_OUT_MAX (AUTONAT2_DATA_PAY_MAX + 1024)

/* --- client ---------------------------------------------------------------
 */

struct reach_probe2 {
    struct swarm_reach *r;
    struct reach_probe2 *next; /* r->probes2 */
    struct lp_reader lp;
    struct peer_id peer;
    struct autonat2_probe p;
    bool voted;
};

static void probe2_unlink(struct reach_probe2 *p)
{
    for (struct reach_probe2 **pp = &p->r->probes2; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

static void probe2_vote(struct reach_probe2 *p,
                        const struct autonat2_result *res)
{
    p->voted = true;
    swarm__reach_vote(
        p->r, &p->peer, res ? res->vote : AUTONAT_VOTE_NONE,
        res && res->vote == AUTONAT_VOTE_REACHABLE ? &res->addr : NULL, 2);
}

/* One message from the server: data to pay, or the answer. */
static int probe2_msg(struct reach_probe2 *p, struct swarm_stream *st,
                      const uint8_t *msg, size_t len)
{
    struct autonat2_result res;
    struct buf out;
    int rc;

    buf_init(&out, REACH2_OUT_MAX);
    rc = autonat2_probe_feed(&p->p, msg, len, &out, &res);
    if (rc == 0 && out.len)
        swarm_stream_write(st, out.data, out.len);
    else if (rc == 1)
        probe2_vote(p, &res);
    buf_cleanup(&out);
    return rc;
}

static void probe2_data(struct reach_probe2 *p, struct swarm_stream *st,
                        const uint8_t *data, size_t n)
{
    const uint8_t *msg;
    size_t used, len;
    int rc;

    while (n > 0 && !p->voted) {
        rc = lp_reader_next(&p->lp, data, n, &used, &msg, &len);
        data += used;
        n -= used;
        if (rc == 0)
            return;
        if (rc == 1)
            rc = probe2_msg(p, st, msg, len);
        if (rc < 0) {
            probe2_vote(p, NULL);
            swarm_stream_reset(st);
            return;
        }
        if (rc == 1)
            swarm_stream_close(st);
    }
}

static void probe2_cb(struct swarm_stream *st,
                      const struct swarm_stream_event *ev, void *arg)
{
    struct reach_probe2 *p = arg;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        swarm_stream_consumed(st, ev->len);
        probe2_data(p, st, ev->data, ev->len);
        break;
    case SWARM_STREAM_FIN:
        swarm_stream_close(st);
        break;
    case SWARM_STREAM_CLOSED:
        if (!p->voted)
            probe2_vote(p, NULL);
        probe2_unlink(p);
        lp_reader_cleanup(&p->lp);
        swarm__reach_probe_done(p->r);
        free(p);
        break;
    default:
        break;
    }
}

bool swarm__reach2_probe(struct swarm_reach *r, struct swarm_conn *sc)
{
    struct reach_probe2 *p = calloc(1, sizeof(*p));
    struct multiaddr addrs[AUTONAT2_ADDRS_MAX];
    struct swarm_stream *st;
    struct buf out;
    uint64_t nonce;
    size_t n;

    if (!p)
        return false;
    p->r = r;
    p->peer = sc->peer;
    n = swarm__reach_candidates(r, addrs, AUTONAT2_ADDRS_MAX);
    noise_random(&nonce, sizeof(nonce));
    buf_init(&out, AUTONAT2_MAX_MSG + 16);
    if (n == 0 || autonat2_probe_start(&p->p, addrs, n, nonce, &out) != 0)
        goto out_free;
    lp_reader_init(&p->lp, AUTONAT2_MAX_MSG);
    st = swarm__stream_open_on(sc, AUTONAT2_DIAL_REQUEST_ID, probe2_cb, p);
    if (!st) {
        lp_reader_cleanup(&p->lp);
        goto out_free;
    }
    p->next = r->probes2;
    r->probes2 = p;
    r->asked[r->n_asked++] = sc->peer;
    r->probes++;
    r->n_probes++;
    swarm_stream_set_timeout(st, REACH_PROBE_TIMEOUT_MS);
    swarm_stream_write(st, out.data, out.len);
    buf_cleanup(&out);
    return true;
out_free:
    buf_cleanup(&out);
    free(p);
    return false;
}

/* A DialBack on a dial-back stream: answered when its nonce is one of
 * our probes' (spec: the client relies on the nonce alone). */
struct reach_back_in {
    struct swarm_reach *r;
    struct lp_reader lp;
    bool done;
};

static void back_in_msg(struct reach_back_in *b, struct swarm_stream *st,
                        const uint8_t *msg, size_t len)
{
    struct reach_probe2 *p;
    uint64_t nonce;
    struct buf out;

    b->done = true;
    if (autonat2_dial_back_decode(msg, len, &nonce) != 0) {
        swarm_stream_reset(st);
        return;
    }
    for (p = b->r->probes2; p; p = p->next)
        if (autonat2_probe_dial_back(&p->p, nonce))
            break;
    if (!p) {
        swarm_stream_reset(st); /* not a nonce of ours */
        return;
    }
    buf_init(&out, 64);
    if (autonat2_dial_back_response_encode(&out) == 0)
        swarm_stream_write(st, out.data, out.len);
    swarm_stream_close(st);
    buf_cleanup(&out);
}

static void back_in_cb(struct swarm_stream *st,
                       const struct swarm_stream_event *ev, void *arg)
{
    struct reach_back_in *b = arg;
    const uint8_t *msg;
    size_t len;
    int rc;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        rc = swarm__stream_lp_data(st, ev, &b->lp, b->done, &msg, &len);
        if (rc == 1) {
            back_in_msg(b, st, msg, len);
        } else if (rc < 0) {
            b->done = true;
            swarm_stream_reset(st);
        }
        break;
    case SWARM_STREAM_FIN:
        if (!b->done)
            swarm_stream_close(st);
        break;
    case SWARM_STREAM_CLOSED:
        lp_reader_cleanup(&b->lp);
        free(b);
        break;
    default:
        break;
    }
}

bool swarm__reach2_back_take(struct swarm_stream *st)
{
    struct swarm_reach *r = st->sw->reach;
    struct reach_back_in *b;

    if (!r || !(b = calloc(1, sizeof(*b))))
        return false;
    b->r = r;
    lp_reader_init(&b->lp, AUTONAT2_MAX_MSG);
    swarm_stream_set_cb(st, back_in_cb, b);
    swarm_stream_set_timeout(st, REACH_PROBE_TIMEOUT_MS);
    return true;
}

/* --- server ---------------------------------------------------------------
 */

/* One dial-request stream; it lives until that stream's CLOSED and the
 * dial-back (dial, then its stream) are both over. */
struct reach_serve2 {
    struct swarm_reach *r;
    struct swarm_stream *st;   /* NULL once CLOSED */
    struct swarm_stream *back; /* the dial-back stream, while open */
    struct swarm_wait *wait;   /* the dial, while in flight */
    struct lp_reader lp, back_lp;
    struct autonat2_serve s;
    struct peer_id peer;
    struct reach_serve2 *next_wait; /* r->serve2_wait: for identify */
    bool dialing;                   /* counted in r->serving */
    bool answered;
    bool waiting; /* in r->serve2_wait */
};

static void serve2_unwait(struct reach_serve2 *s)
{
    struct reach_serve2 **pp = &s->r->serve2_wait;

    for (; s->waiting && *pp; pp = &(*pp)->next_wait)
        if (*pp == s) {
            *pp = s->next_wait;
            s->waiting = false;
            return;
        }
}

static void serve2_maybe_free(struct reach_serve2 *s)
{
    if (s->st || s->back || s->wait)
        return;
    serve2_unwait(s);
    lp_reader_cleanup(&s->lp);
    lp_reader_cleanup(&s->back_lp);
    free(s);
}

/* The dial-back is over with ds: answer (if the asker still listens). */
static void serve2_finish(struct reach_serve2 *s, enum autonat2_dial_status ds)
{
    struct buf out;

    if (s->dialing) {
        s->dialing = false;
        s->r->serving--;
    }
    log_msg(LOG_DEBUG, "net", "AutoNAT v2: dial-back status %d%s", (int)ds,
            s->st ? "" : " (asker gone)");
    if (!s->st || s->answered)
        return;
    s->answered = true;
    buf_init(&out, 64);
    if (autonat2_serve_result(&s->s, ds, &out) == 0)
        swarm_stream_write(s->st, out.data, out.len);
    swarm_stream_close(s->st);
    buf_cleanup(&out);
}

static void back_out_cb(struct swarm_stream *st,
                        const struct swarm_stream_event *ev, void *arg)
{
    struct reach_serve2 *s = arg;
    const uint8_t *msg;
    size_t len;
    int rc;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        rc =
            swarm__stream_lp_data(st, ev, &s->back_lp, !s->dialing, &msg, &len);
        if (rc == 1) {
            serve2_finish(s, autonat2_dial_back_response_decode(msg, len)
                                 ? AUTONAT2_DIAL_BACK_ERROR
                                 : AUTONAT2_DIAL_OK);
            swarm_stream_close(st);
        } else if (rc < 0) {
            serve2_finish(s, AUTONAT2_DIAL_BACK_ERROR);
            swarm_stream_reset(st);
        }
        break;
    case SWARM_STREAM_FIN:
        swarm_stream_close(st);
        break;
    case SWARM_STREAM_CLOSED:
        s->back = NULL;
        if (s->dialing) /* closed before its DialBackResponse */
            serve2_finish(s, AUTONAT2_DIAL_BACK_ERROR);
        serve2_maybe_free(s);
        break;
    default:
        break;
    }
}

/* The connection is up: the nonce goes on a dial-back stream over it. */
static void serve2_send_nonce(struct reach_serve2 *s)
{
    struct swarm_conn *sc =
        swarm__reach_dialed_conn(s->r->sw, &s->peer, &s->s.addr);
    struct buf out;

    if (!sc || !(s->back = swarm__stream_open_on(sc, AUTONAT2_DIAL_BACK_ID,
                                                 back_out_cb, s))) {
        serve2_finish(s, AUTONAT2_DIAL_BACK_ERROR);
        return;
    }
    lp_reader_init(&s->back_lp, AUTONAT2_MAX_MSG);
    swarm_stream_set_timeout(s->back, REACH_PROBE_TIMEOUT_MS);
    buf_init(&out, 64);
    if (autonat2_dial_back_encode(s->s.nonce, &out) == 0)
        swarm_stream_write(s->back, out.data, out.len);
    swarm_stream_close(s->back);
    buf_cleanup(&out);
}

/* The nonce goes once the new connection is identified: sent on the
 * connection just made, js-libp2p's dial-back stream failed (the
 * DialBackResponse never came). */
static void serve2_dialed(void *arg, int err)
{
    struct reach_serve2 *s = arg;
    struct swarm_conn *sc;

    s->wait = NULL;
    if (err) {
        serve2_finish(s, AUTONAT2_DIAL_ERROR);
    } else if (!s->st) {
        serve2_finish(s, AUTONAT2_DIAL_UNUSED);
    } else if ((sc =
                    swarm__reach_dialed_conn(s->r->sw, &s->peer, &s->s.addr)) &&
               !sc->protos) {
        s->waiting = true;
        s->next_wait = s->r->serve2_wait;
        s->r->serve2_wait = s;
        return; /* the request stream's timeout bounds the wait */
    } else {
        serve2_send_nonce(s);
    }
    serve2_maybe_free(s);
}

void swarm__reach2_identified(struct swarm_reach *r, struct swarm_conn *sc)
{
    struct reach_serve2 *s = r->serve2_wait, *next;

    for (; s; s = next) {
        next = s->next_wait;
        if (peer_id_equal(&s->peer, &sc->peer) &&
            swarm__reach_dialed_conn(r->sw, &s->peer, &s->s.addr) == sc) {
            serve2_unwait(s);
            serve2_send_nonce(s);
        }
    }
}

static int serve2_dial(struct reach_serve2 *s, struct buf *out)
{
    struct swarm_reach *r = s->r;
    int rc;

    if (r->serving >= REACH_SERVE_MAX)
        return autonat2_response_encode(AUTONAT2_E_REQUEST_REJECTED, 0,
                                        AUTONAT2_DIAL_UNUSED, out);
    rc = swarm_connect_exact(r->sw, &s->peer, &s->s.addr, 1,
                             (uint32_t)(AUTONAT2_DIAL_TIMEOUT_US / 1000),
                             serve2_dialed, s, &s->wait);
    if (rc != 0)
        return autonat2_serve_result(&s->s, AUTONAT2_DIAL_ERROR, out);
    s->dialing = true;
    r->serving++;
    r->n_served++;
    return AUTONAT2_SERVE_MORE;
}

/* One message on the dial-request stream; false when the stream ended. */
static bool serve2_msg(struct reach_serve2 *s, const uint8_t *msg, size_t len)
{
    struct swarm_reach *r = s->r;
    uint8_t ip[16];
    size_t ip_len = s->st->sc ? swarm__conn_remote_ip(s->st->sc, ip) : 0;
    struct buf out;
    int rc;

    buf_init(&out, 512);
    rc = autonat2_serve_feed(&r->server, &s->s, &s->peer, ip, ip_len, msg, len,
                             swarm__now_us(), &out);
    if (rc == AUTONAT2_SERVE_DIAL)
        rc = serve2_dial(s, &out);
    if (rc >= 0 && out.len)
        swarm_stream_write(s->st, out.data, out.len);
    if (rc == AUTONAT2_SERVE_REPLIED) {
        s->answered = true;
        swarm_stream_close(s->st);
    } else if (rc < 0) {
        log_msg(LOG_DEBUG, "net", "AutoNAT v2: bad request: %s",
                fastn_strerror(rc));
        s->answered = true;
        swarm_stream_reset(s->st);
    }
    buf_cleanup(&out);
    return rc == AUTONAT2_SERVE_MORE && !s->dialing;
}

static void serve2_data(struct reach_serve2 *s, const uint8_t *data, size_t n)
{
    const uint8_t *msg;
    size_t used, len;
    int rc;

    while (n > 0 && !s->answered && !s->dialing) {
        rc = lp_reader_next(&s->lp, data, n, &used, &msg, &len);
        data += used;
        n -= used;
        if (rc == 0)
            return;
        if (rc < 0) { /* a length over AUTONAT2_MAX_MSG or malformed */
            s->answered = true;
            swarm_stream_reset(s->st);
            return;
        }
        if (!serve2_msg(s, msg, len))
            return;
    }
}

static void serve2_cb(struct swarm_stream *st,
                      const struct swarm_stream_event *ev, void *arg)
{
    struct reach_serve2 *s = arg;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        swarm_stream_consumed(st, ev->len);
        serve2_data(s, ev->data, ev->len);
        break;
    case SWARM_STREAM_FIN:
        if (!s->dialing && !s->answered) { /* it gave up (did not pay) */
            s->answered = true;
            swarm_stream_close(st);
        }
        break;
    case SWARM_STREAM_CLOSED:
        s->st = NULL;
        if (s->waiting) {
            serve2_unwait(s);
            serve2_finish(s, AUTONAT2_DIAL_UNUSED);
        }
        if (s->wait) {
            swarm_wait_cancel(s->wait);
            s->wait = NULL;
            serve2_finish(s, AUTONAT2_DIAL_UNUSED);
        }
        serve2_maybe_free(s);
        break;
    default:
        break;
    }
}

bool swarm__reach2_take(struct swarm_stream *st)
{
    struct swarm_reach *r = st->sw->reach;
    struct reach_serve2 *s;

    if (!swarm__reach2_serves(st->sw) || !st->sc || st->sc->limited)
        return false; /* not over a relay: the asker's IP is the relay's */
    if (!(s = calloc(1, sizeof(*s))))
        return false;
    s->r = r;
    s->st = st;
    s->peer = *swarm_stream_peer(st);
    lp_reader_init(&s->lp, AUTONAT2_MAX_MSG);
    autonat2_serve_init(&s->s);
    swarm_stream_set_cb(st, serve2_cb, s);
    swarm_stream_set_timeout(st, REACH_PROBE_TIMEOUT_MS);
    return true;
}

bool swarm__reach2_serves(const struct swarm *sw)
{
    return sw->reach && sw->reach->serve && sw->cfg.autonat_v2_server;
}
