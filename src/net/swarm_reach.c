/*
 * The swarm's reachability: identify's observed addresses and AutoNAT v1
 * (/libp2p/autonat/1.0.0, net/autonat.h) on real streams.
 *
 *  - Observed addresses: every identify answer's observedAddr (checked by
 *    the reach policy) is kept as a candidate public address, and counted
 *    by struct autonat_observed; once peers in AUTONAT_OBSERVED_CONFIRM
 *    networks agree it is confirmed and advertised.
 *  - Client: after identify, a connected peer that serves AutoNAT is asked
 *    to dial us back (at most REACH_PROBES at once; each peer once per
 *    round; while unknown until REACH_ANSWERS peers answered, once decided
 *    until three did). Only answers count against a round: a peer that
 *    refuses, resets or goes away (churn) leaves the round open for the
 *    next one, and a peer is asked only when we have an address to give,
 *    so that peers met before identify told us one are asked once it has.
 *    Each answer is a vote for struct autonat_client. A status change is
 *    logged and pushed to connected peers (the advertised addresses
 *    change).
 *  - Server (unless cfg.autonat_server is off): one request per stream,
 *    autonat_server_request() decides, the dial back is
 *    swarm_connect_exact() (a new outbound connection through one of the
 *    addresses, not the connection the request came on), at most
 *    REACH_SERVE_MAX at once.
 */
#include "net/swarm_reach_int.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "net/autonat.h"
#include "net/identify.h"
#include "net/lp.h"
#include "util/log.h"

static void reach_kick(struct swarm_reach *r);

/* --- observed addresses ---------------------------------------------------
 */

/* The IP of a connection's remote address into ip (4 or 16 bytes). */
size_t swarm__conn_remote_ip(const struct swarm_conn *sc, uint8_t ip[16])
{
    struct multiaddr_tcp t;

    if (multiaddr_to_tcp(&sc->remote, &t) != 0)
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

static bool list_has(const struct multiaddr *v, size_t n,
                     const struct multiaddr *ma)
{
    for (size_t i = 0; i < n; i++)
        if (multiaddr_equal(&v[i], ma))
            return true;
    return false;
}

void swarm__reach_observed(struct swarm_conn *sc, const uint8_t *obs,
                           size_t len)
{
    struct swarm_reach *r = sc->sw->reach;
    struct multiaddr ma;
    uint8_t ip[16];
    size_t ip_len;

    if (!r || !len || sc->limited ||
        addr_check(&r->policy, obs, len, NULL, &ma) != 0)
        return;
    ip_len = swarm__conn_remote_ip(sc, ip);
    if (ip_len && autonat_observed_add(&r->observed, ip, ip_len, obs, len,
                                       swarm__now_us())) {
        char s[MULTIADDR_STR_MAX];
        multiaddr_format(&ma, s, sizeof(s));
        log_msg(LOG_INFO, "net", "observed address %s confirmed by peers", s);
    }
    if (list_has(r->recent, r->n_recent, &ma))
        return;
    r->recent[r->recent_next] = ma;
    r->recent_next = (r->recent_next + 1) % REACH_RECENT_MAX;
    if (r->n_recent < REACH_RECENT_MAX)
        r->n_recent++;
}

size_t swarm__reach_public(const struct swarm *sw, struct multiaddr *out,
                           size_t max)
{
    const struct swarm_reach *r = sw->reach;
    struct multiaddr conf[AUTONAT_OBSERVED_MAX];
    size_t n = 0, k;

    if (!r || max == 0)
        return 0;
    if (r->client.status == AUTONAT_PUBLIC && r->client.has_public_addr)
        out[n++] = r->client.public_addr;
    k = autonat_observed_confirmed(&r->observed, swarm__now_us(), conf,
                                   AUTONAT_OBSERVED_MAX);
    for (size_t i = 0; i < k && n < max; i++)
        if (!list_has(out, n, &conf[i]))
            out[n++] = conf[i];
    return n;
}

/* The addresses a Dial asks a server to try: our listen addresses the
 * policy allows, the public ones, the recently observed ones. */
size_t swarm__reach_candidates(const struct swarm_reach *r,
                               struct multiaddr *out, size_t max)
{
    struct multiaddr tmp[SWARM_MAX_LISTEN];
    size_t n = 0, k = swarm_listen_addrs(r->sw, tmp, SWARM_MAX_LISTEN);

    for (size_t i = 0; i < k && n < max; i++)
        if (addr_policy_allows(&r->policy, addr_scope_of(&tmp[i])))
            out[n++] = tmp[i];
    k = swarm__reach_public(r->sw, tmp, SWARM_MAX_LISTEN);
    for (size_t i = 0; i < k && n < max; i++)
        if (!list_has(out, n, &tmp[i]))
            out[n++] = tmp[i];
    for (size_t i = 0; i < r->n_recent && n < max; i++)
        if (!list_has(out, n, &r->recent[i]))
            out[n++] = r->recent[i];
    return n;
}

/* --- client ---------------------------------------------------------------
 */

struct reach_probe {
    struct swarm_reach *r;
    struct lp_reader lp;
    struct peer_id peer;
    struct multiaddr sent[AUTONAT_DIAL_MAX];
    size_t n_sent;
    bool voted;
};

void swarm__reach_vote(struct swarm_reach *r, const struct peer_id *peer,
                       enum autonat_vote v, const struct multiaddr *dialed,
                       unsigned version)
{
    enum autonat_reachability was = r->client.status;
    char s[MULTIADDR_STR_MAX] = "";

    if (v != AUTONAT_VOTE_NONE) {
        r->n_answered++;
        r->n_answers[version == 2]++;
    }
    if (v == AUTONAT_VOTE_REACHABLE && dialed)
        r->public_by = version;
    if (!autonat_client_vote(&r->client, peer, v, dialed, swarm__now_us()))
        return;
    r->decided_by = version;
    if (r->client.has_public_addr)
        multiaddr_format(&r->client.public_addr, s, sizeof(s));
    log_msg(LOG_INFO, "net", "reachability %s -> %s%s%s (AutoNAT v%u)",
            autonat_reachability_name(was),
            autonat_reachability_name(r->client.status), s[0] ? " at " : "", s,
            version);
    swarm_protocols_changed(r->sw); /* the advertised addresses changed */
    swarm__relay_reach_changed(r->sw);
}

static void probe_vote(struct reach_probe *p, const struct autonat_response *a)
{
    const struct multiaddr *dialed = NULL;

    p->voted = true;
    /* a server names the address it reached: only one we asked for */
    if (a && a->has_addr && list_has(p->sent, p->n_sent, &a->addr))
        dialed = &a->addr;
    swarm__reach_vote(p->r, &p->peer, autonat_vote_of(a), dialed, 1);
}

static void probe_cb(struct swarm_stream *st,
                     const struct swarm_stream_event *ev, void *arg)
{
    struct reach_probe *p = arg;
    struct autonat_response resp;
    const uint8_t *msg;
    size_t len;
    int rc;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        rc = swarm__stream_lp_data(st, ev, &p->lp, p->voted, &msg, &len);
        if (rc == 1) {
            probe_vote(p,
                       autonat_response_decode(msg, len, &resp) ? NULL : &resp);
            swarm_stream_close(st);
        } else if (rc < 0) {
            probe_vote(p, NULL);
            swarm_stream_reset(st);
            goto out_free;
        }
        break;
    case SWARM_STREAM_FIN:
        swarm_stream_close(st);
        break;
    case SWARM_STREAM_CLOSED:
        goto out_free;
    default:
        break;
    }
    return;
out_free:
    if (!p->voted)
        probe_vote(p, NULL);
    lp_reader_cleanup(&p->lp);
    swarm__reach_probe_done(p->r);
    free(p);
}

void swarm__reach_probe_done(struct swarm_reach *r)
{
    r->probes--;
    reach_kick(r);
}

static bool asked(const struct swarm_reach *r, const struct peer_id *peer)
{
    for (size_t i = 0; i < r->n_asked; i++)
        if (peer_id_equal(&r->asked[i], peer))
            return true;
    return false;
}

/* Asks the peer of sc to dial us back; the peer counts as asked this
 * round only when the request went out (with no address to give, it is
 * asked once we have one). */
static void probe_start(struct swarm_reach *r, struct swarm_conn *sc)
{
    struct reach_probe *p = calloc(1, sizeof(*p));
    struct swarm_stream *st;
    struct buf out;

    if (!p)
        return;
    p->r = r;
    p->peer = sc->peer;
    p->n_sent = swarm__reach_candidates(r, p->sent, AUTONAT_DIAL_MAX);
    buf_init(&out, AUTONAT_MAX_MSG);
    if (p->n_sent == 0 || autonat_dial_encode(swarm_local_peer(r->sw), p->sent,
                                              p->n_sent, &out) != 0)
        goto out_free;
    lp_reader_init(&p->lp, AUTONAT_MAX_MSG);
    st = swarm__stream_open_on(sc, AUTONAT_PROTOCOL_ID, probe_cb, p);
    if (!st) {
        lp_reader_cleanup(&p->lp);
        goto out_free;
    }
    r->asked[r->n_asked++] = sc->peer;
    r->probes++;
    r->n_probes++;
    swarm_stream_set_timeout(st, REACH_PROBE_TIMEOUT_MS);
    swarm_stream_write(st, out.data, out.len);
    swarm_stream_close(st);
    buf_cleanup(&out);
    return;
out_free:
    buf_cleanup(&out);
    free(p);
}

/* Whether this round may ask one more peer: the answers it has and the
 * probes in flight are short of what it wants, and it asked fewer than
 * REACH_ASKED_MAX peers (the bound when peers keep leaving unanswered). */
static bool round_open(const struct swarm_reach *r)
{
    size_t want =
        r->client.status == AUTONAT_UNKNOWN ? REACH_ANSWERS : REACH_PROBES;

    return r->n_answered + r->probes < want && r->n_asked < REACH_ASKED_MAX;
}

static void on_reach_timer(uv_timer_t *t)
{
    struct swarm_reach *r = t->data;

    r->n_asked = 0; /* a new round */
    r->n_answered = 0;
    r->round_start = swarm__now_us();
    reach_kick(r);
}

/* Starts the probes the state allows, then arms the timer for the next
 * round: at the client's next probe, not sooner than retry_us after this
 * round began. */
static void reach_kick(struct swarm_reach *r)
{
    struct swarm *sw = r->sw;
    uint64_t now = swarm__now_us(), at;

    if (sw->closing)
        return;
    for (struct swarm_conn *sc = sw->conns;
         sc && r->probes < REACH_PROBES && round_open(r); sc = sc->next) {
        if (!sc->ready || sc->closing || sc->draining || !sc->protos ||
            sc->limited || asked(r, &sc->peer))
            continue;
        /* v2 where the peer serves it (it tests one address, with a
         * nonce), v1 otherwise */
        if (swarm__conn_may_serve(sc, AUTONAT2_DIAL_REQUEST_ID))
            swarm__reach2_probe(r, sc);
        else if (swarm__conn_may_serve(sc, AUTONAT_PROTOCOL_ID))
            probe_start(r, sc);
    }
    at = autonat_client_next_probe(&r->client);
    if (at < r->round_start + r->client.cfg.retry_us)
        at = r->round_start + r->client.cfg.retry_us;
    uv_timer_start(&r->timer, on_reach_timer, at > now ? (at - now) / 1000 : 0,
                   0);
}

void swarm__reach_identified(struct swarm_conn *sc)
{
    if (!sc->sw->reach)
        return;
    swarm__reach2_identified(sc->sw->reach, sc);
    reach_kick(sc->sw->reach);
}

/* --- server ---------------------------------------------------------------
 */

struct reach_serve {
    struct swarm_reach *r;
    struct swarm_stream *st;
    struct lp_reader lp;
    struct swarm_wait *wait;
    struct autonat_dial_job job;
    bool answered;
};

static void serve_answer(struct reach_serve *s, struct buf *out)
{
    s->answered = true;
    swarm_stream_write(s->st, out->data, out->len);
    swarm_stream_close(s->st);
}

struct swarm_conn *swarm__reach_dialed_conn(struct swarm *sw,
                                            const struct peer_id *peer,
                                            const struct multiaddr *addr)
{
    struct swarm_peer *pe = swarm__peer_find(sw, peer);
    struct multiaddr_tcp a, b;

    if (multiaddr_to_tcp(addr, &b))
        return NULL;
    for (struct swarm_conn *sc = pe ? pe->conns : NULL; sc; sc = sc->pnext)
        if (!sc->inbound && !sc->closing &&
            !multiaddr_to_tcp(&sc->remote, &a) && a.port == b.port &&
            !memcmp(a.ip, b.ip, sizeof(a.ip)))
            return sc;
    return NULL;
}

/* The job's address our new outbound connection to its peer went
 * through (the first one when it cannot tell). */
static const struct multiaddr *dialed_addr(struct reach_serve *s)
{
    for (size_t i = 0; i < s->job.addrs.n; i++)
        if (swarm__reach_dialed_conn(s->r->sw, &s->job.peer,
                                     &s->job.addrs.a[i]))
            return &s->job.addrs.a[i];
    return &s->job.addrs.a[0];
}

static void dialback_done(void *arg, int err)
{
    struct reach_serve *s = arg;
    struct buf out;

    s->wait = NULL;
    s->r->serving--;
    buf_init(&out, 512);
    if (err == 0)
        autonat_response_encode(AUTONAT_OK, "dialed back", dialed_addr(s),
                                &out);
    else
        autonat_response_encode(AUTONAT_E_DIAL_ERROR, fastn_strerror(err), NULL,
                                &out);
    serve_answer(s, &out);
    buf_cleanup(&out);
}

/* One request: refused at once, or dialed back. */
static void serve_request(struct reach_serve *s, const uint8_t *msg, size_t len)
{
    struct swarm_reach *r = s->r;
    uint8_t ip[16];
    size_t ip_len = s->st->sc ? swarm__conn_remote_ip(s->st->sc, ip) : 0;
    struct buf out;
    int rc;

    buf_init(&out, 512);
    rc =
        autonat_server_request(&r->server, swarm_stream_peer(s->st), ip, ip_len,
                               msg, len, swarm__now_us(), &s->job, &out);
    if (rc == 1 && r->serving >= REACH_SERVE_MAX)
        rc = autonat_response_encode(AUTONAT_E_DIAL_REFUSED,
                                     "too many dial-backs at once", NULL, &out);
    if (rc == 1) {
        rc = swarm_connect_exact(r->sw, &s->job.peer, s->job.addrs.a,
                                 s->job.addrs.n,
                                 (uint32_t)(AUTONAT_DIAL_TIMEOUT_US / 1000),
                                 dialback_done, s, &s->wait);
        if (rc == 0) {
            r->serving++;
            r->n_served++;
            goto out;
        }
        rc = autonat_response_encode(AUTONAT_E_DIAL_ERROR, fastn_strerror(rc),
                                     NULL, &out);
    }
    if (rc == 0)
        serve_answer(s, &out);
    else
        swarm_stream_reset(s->st);
out:
    buf_cleanup(&out);
}

static void serve_cb(struct swarm_stream *st,
                     const struct swarm_stream_event *ev, void *arg)
{
    struct reach_serve *s = arg;
    const uint8_t *msg;
    size_t len;
    int rc;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        /* one request per stream */
        rc = swarm__stream_lp_data(st, ev, &s->lp, s->answered || s->wait, &msg,
                                   &len);
        if (rc == 1) {
            serve_request(s, msg, len);
        } else if (rc < 0) {
            struct buf out;
            buf_init(&out, 128);
            if (autonat_response_encode(AUTONAT_E_BAD_REQUEST,
                                        "message too large or malformed", NULL,
                                        &out) == 0)
                serve_answer(s, &out);
            buf_cleanup(&out);
        }
        break;
    case SWARM_STREAM_FIN:
        if (!s->wait && !s->answered)
            swarm_stream_close(st);
        break;
    case SWARM_STREAM_CLOSED:
        if (s->wait) {
            swarm_wait_cancel(s->wait);
            s->r->serving--;
        }
        lp_reader_cleanup(&s->lp);
        free(s);
        break;
    default:
        break;
    }
}

bool swarm__reach_take(struct swarm_stream *st)
{
    struct swarm_reach *r = st->sw->reach;
    struct reach_serve *s;

    if (!r || !r->serve || !st->sc || st->sc->limited)
        return false; /* not over a relay: the asker's IP is the relay's */
    if (!(s = calloc(1, sizeof(*s))))
        return false;
    s->r = r;
    s->st = st;
    lp_reader_init(&s->lp, AUTONAT_MAX_MSG);
    swarm_stream_set_cb(st, serve_cb, s);
    swarm_stream_set_timeout(st, REACH_PROBE_TIMEOUT_MS);
    return true;
}

bool swarm__reach_serves(const struct swarm *sw)
{
    return sw->reach && sw->reach->serve;
}

/* --- life and state -------------------------------------------------------
 */

int swarm__reach_new(struct swarm *sw)
{
    struct swarm_reach *r = calloc(1, sizeof(*r));
    struct autonat_client_config cc;
    struct autonat_server_config sc;

    if (!r)
        return FASTN_ERR_NOMEM;
    r->sw = sw;
    r->serve = sw->cfg.autonat_server;
    r->policy.allow_loopback = sw->cfg.reach_private;
    r->policy.allow_private = sw->cfg.reach_private;
    autonat_client_config_default(&cc);
    autonat_client_init(&r->client, &cc, swarm__now_us());
    autonat_server_config_default(&sc);
    sc.policy = r->policy;
    autonat_server_init(&r->server, &sc);
    autonat_observed_init(&r->observed, &r->policy);
    r->round_start = swarm__now_us();
    uv_timer_init(sw->loop, &r->timer);
    r->timer.data = r;
    sw->reach = r;
    return 0;
}

void swarm__reach_close(struct swarm *sw)
{
    if (sw->reach)
        uv_close((uv_handle_t *)&sw->reach->timer, NULL);
}

void swarm__reach_free(struct swarm *sw)
{
    free(sw->reach);
    sw->reach = NULL;
}

void swarm_reach_get(const struct swarm *sw, struct swarm_reach_info *out)
{
    const struct swarm_reach *r = sw->reach;

    memset(out, 0, sizeof(*out));
    out->reachability = "unknown";
    if (!r)
        return;
    out->reachability = autonat_reachability_name(r->client.status);
    out->confidence = r->client.confidence;
    out->autonat_server = r->serve;
    out->n_public =
        swarm__reach_public(sw, out->public_addrs, SWARM_REACH_ADDRS_MAX);
    out->n_observed = r->n_recent < SWARM_REACH_ADDRS_MAX
                          ? r->n_recent
                          : SWARM_REACH_ADDRS_MAX;
    memcpy(out->observed, r->recent,
           out->n_observed * sizeof(out->observed[0]));
    out->probes = r->n_probes;
    out->dialbacks = r->n_served;
    out->answers[0] = r->n_answers[0];
    out->answers[1] = r->n_answers[1];
    out->decided_by = r->decided_by;
    out->has_confirmed =
        r->client.status == AUTONAT_PUBLIC && r->client.has_public_addr;
    if (out->has_confirmed) {
        out->confirmed = r->client.public_addr;
        out->confirmed_by = r->public_by;
    }
}
