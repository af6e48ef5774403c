/*
 * The swarm's top level (see swarm.h): life cycle, TCP listeners, the pool
 * of frame buffers, the deferred-event queue, connect waits, and the
 * views of connected peers that the control protocol reports.
 *
 * Deferred work: events that must not be delivered from inside the
 * owner's own call (a stream's CLOSED after the owner closed it, connect
 * results that are known at once) are queued and delivered from a uv_idle
 * handle that runs only while the queue is non-empty.
 */
#include "net/swarm_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "fastn/err.h"
#include "net/autonat.h"
#include "net/autonat2.h"
#include "net/dcutr.h"
#include "net/identify.h"
#include "net/noise_pool.h"
#include "net/perf.h"
#include "net/kad.h"
#include "net/relay.h"
#include "net/ping.h"
#include "util/log.h"

uint64_t swarm__now_us(void)
{
    return uv_hrtime() / 1000;
}

void swarm_config_default(struct swarm_config *cfg,
                          const struct identity *identity)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->identity = identity;
    cfg->handshake_timeout_ms = 10000;
    cfg->idle_timeout_ms = 600000;
    cfg->keepalive_ms = 30000;
    cfg->ping_timeout_ms = 15000;
    cfg->max_window = 16u << 20;
    cfg->max_connections = SWARM_DEFAULT_CONNECTIONS;
    cfg->max_handshakes = SWARM_DEFAULT_HANDSHAKES;
    cfg->max_handshakes_per_addr = SWARM_DEFAULT_HANDSHAKES_PER_ADDR;
    cfg->max_inbound_streams = SWARM_DEFAULT_INBOUND_STREAMS;
    cfg->max_buffers = SWARM_DEFAULT_BUFFERS;
    cfg->autonat_server = true;
    cfg->autonat_v2_server = true;
}

/* Zero limits mean their defaults (swarm_new, swarm_set_timing). */
static void limits_default(struct swarm_config *c)
{
    if (!c->handshake_timeout_ms)
        c->handshake_timeout_ms = 10000;
    if (!c->max_connections)
        c->max_connections = SWARM_DEFAULT_CONNECTIONS;
    if (!c->max_handshakes)
        c->max_handshakes = SWARM_DEFAULT_HANDSHAKES;
    if (!c->max_handshakes_per_addr)
        c->max_handshakes_per_addr = SWARM_DEFAULT_HANDSHAKES_PER_ADDR;
    if (!c->max_inbound_streams)
        c->max_inbound_streams = SWARM_DEFAULT_INBOUND_STREAMS;
    if (!c->max_buffers)
        c->max_buffers = SWARM_DEFAULT_BUFFERS;
}

/* --- frames ----------------------------------------------------------------
 * Calloc'd once and reused: after use a frame holds only ciphertext, so
 * handing one out again never exposes plaintext of another stream. */

uint8_t *swarm__frame_get(struct swarm *sw)
{
    struct swarm_frame *f = sw->pool;

    if (f) {
        sw->pool = f->next;
        sw->n_pool--;
    } else {
        f = calloc(1, sizeof(*f));
        if (!f)
            return NULL;
    }
    return f->data;
}

void swarm__frame_put(struct swarm *sw, uint8_t *frame)
{
    struct swarm_frame *f;

    if (!frame)
        return;
    f = (struct swarm_frame *)(frame - offsetof(struct swarm_frame, data));
    if (sw->n_pool >= SWARM_FRAME_POOL) {
        free(f);
        return;
    }
    f->next = sw->pool;
    sw->pool = f;
    sw->n_pool++;
}

/* --- deferred events ------------------------------------------------------ */

static void process_waits(struct swarm *sw);

/* The connections whose sends failed inside an owner's call. */
static void fail_conns(struct swarm *sw)
{
    while (sw->failing)
        swarm__conn_fail(sw->failing, sw->failing->fail_soon); /* unlinks */
}

static void on_idle(uv_idle_t *h)
{
    struct swarm *sw = h->data;

    if (sw->failing)
        fail_conns(sw);
    if (sw->release_pending)
        swarm__conns_release(sw);
    while (sw->deferred) {
        struct swarm_stream *st = sw->deferred;
        sw->deferred = st->dnext;
        if (!sw->deferred)
            sw->deferred_tail = &sw->deferred;
        swarm__stream_run_deferred(st);
    }
    process_waits(sw);
    if (!sw->deferred) {
        bool pending = false;
        for (struct swarm_wait *w = sw->waits; w; w = w->next)
            pending |= w->done;
        if (!pending) {
            uv_idle_stop(&sw->idle);
            sw->idle_on = false;
        }
    }
}

void swarm__idle_start(struct swarm *sw)
{
    if (!sw->idle_on && !uv_is_closing((uv_handle_t *)&sw->idle)) {
        uv_idle_start(&sw->idle, on_idle);
        sw->idle_on = true;
    }
}

void swarm__defer(struct swarm_stream *st)
{
    if (st->deferred)
        return;
    st->deferred = true;
    st->dnext = NULL;
    *st->sw->deferred_tail = st;
    st->sw->deferred_tail = &st->dnext;
    swarm__idle_start(st->sw);
}

/* --- waits ------------------------------------------------------------------
 */

static void wait_free(struct swarm_wait *w)
{
    if (w->dial) /* an exact dial goes on without it */
        w->dial->exact = NULL;
    if (w->next)
        w->next->pprev = w->pprev;
    *w->pprev = w->next;
    if (w->timer) {
        w->timer->data = w;
        uv_close((uv_handle_t *)w->timer, (uv_close_cb)free);
        w->timer = NULL;
    }
    free(w);
}

static void process_waits(struct swarm *sw)
{
    struct swarm_wait *w = sw->waits, *next;

    for (; w; w = next) {
        next = w->next;
        if (!w->done)
            continue;
        swarm_connect_cb cb = w->cb;
        void *arg = w->arg;
        int result = w->result;
        wait_free(w);
        if (cb)
            cb(arg, result);
        /* cb may have freed other waits: start over */
        next = sw->waits;
    }
}

static void wait_done(struct swarm_wait *w, int err)
{
    if (w->done)
        return;
    w->done = true;
    w->result = err;
    swarm__idle_start(w->sw);
}

void swarm__wait_done(struct swarm_wait *w, int err)
{
    wait_done(w, err);
}

static void on_wait_timeout(uv_timer_t *t)
{
    wait_done(t->data, FASTN_ERR_TIMEOUT);
}

void swarm__waits_complete(struct swarm *sw, const struct peer_id *peer,
                           int err)
{
    for (struct swarm_wait *w = sw->waits; w; w = w->next)
        if (!w->exact && peer_id_equal(&w->peer, peer))
            wait_done(w, err);
}

void swarm__waits_found(struct swarm *sw, const struct peer_id *peer)
{
    uint64_t now = uv_hrtime();

    for (struct swarm_wait *w = sw->waits; w; w = w->next)
        if (!w->exact && w->info && !w->info->lookup_ns &&
            peer_id_equal(&w->peer, peer))
            w->info->lookup_ns = now;
}

void swarm_wait_info(struct swarm_wait *w, struct swarm_connect_info *info)
{
    w->info = info;
    info->found = w->found;
    info->start_ns = w->start_ns;
    info->lookup_ns = info->end_ns = 0;
    info->relayed = false;
}

void swarm_connect_info_finish(struct swarm *sw, const struct peer_id *peer,
                               struct swarm_connect_info *info)
{
    const struct swarm_conn *sc = swarm__conn_for(sw, peer);

    info->end_ns = uv_hrtime();
    info->relayed = sc && sc->limited;
}

void swarm_wait_cancel(struct swarm_wait *w)
{
    if (w)
        wait_free(w);
}

static int wait_new(struct swarm *sw, const struct peer_id *peer,
                    uint32_t timeout_ms, swarm_connect_cb cb, void *arg,
                    struct swarm_wait **out)
{
    struct swarm_wait *w = calloc(1, sizeof(*w));

    if (!w)
        return FASTN_ERR_NOMEM;
    w->sw = sw;
    w->peer = *peer;
    w->cb = cb;
    w->arg = arg;
    if (timeout_ms) {
        w->timer = malloc(sizeof(*w->timer));
        if (!w->timer) {
            free(w);
            return FASTN_ERR_NOMEM;
        }
        uv_timer_init(sw->loop, w->timer);
        w->timer->data = w;
        uv_timer_start(w->timer, on_wait_timeout, timeout_ms, 0);
    }
    w->next = sw->waits;
    w->pprev = &sw->waits;
    if (sw->waits)
        sw->waits->pprev = &w->next;
    sw->waits = w;
    *out = w;
    return 0;
}

int swarm_connect(struct swarm *sw, const struct peer_id *peer,
                  const struct multiaddr *addrs, size_t n, uint32_t timeout_ms,
                  swarm_connect_cb cb, void *arg, struct swarm_wait **out)
{
    struct swarm_wait *w;
    int err;

    if (sw->closing)
        return FASTN_ERR_CLOSED;
    if (peer_id_equal(peer, &sw->identity->id))
        return FASTN_ERR_NET_DIAL_SELF;
    /* The wait exists before the dial starts, so that a dial that fails
     * at once still reaches it (from the loop). */
    err = wait_new(sw, peer, timeout_ms, cb, arg, &w);
    if (err)
        return err;
    w->start_ns = uv_hrtime();
    w->found = SWARM_FOUND_KNOWN;
    if (swarm__conn_for(sw, peer)) {
        w->found = SWARM_FOUND_CONNECTED;
        wait_done(w, 0);
    } else if ((err = swarm__dial(sw, peer, addrs, n)) != 0) {
        if (err != FASTN_ERR_NET_NO_ADDR || swarm__kad_dial(sw, peer)) {
            wait_free(w); /* no address known, and no DHT lookup either */
            return err;
        }
        w->found = SWARM_FOUND_DHT;
    }
    if (out)
        *out = w;
    return 0;
}

/* The same IP address and port (a /p2p part aside). */
static bool same_endpoint(const struct multiaddr *a, const struct multiaddr *b)
{
    struct multiaddr_tcp x, y;

    if (multiaddr_to_tcp(a, &x) || multiaddr_to_tcp(b, &y))
        return false;
    return x.host_code == y.host_code && x.port == y.port &&
           (x.host_code == MA_IP4   ? !memcmp(x.ip, y.ip, 4)
            : x.host_code == MA_IP6 ? !memcmp(x.ip, y.ip, 16)
                                    : false);
}

/* Whether an outbound connection to peer through one of addrs is up. */
static bool connected_at(const struct swarm *sw, const struct peer_id *peer,
                         const struct multiaddr *addrs, size_t n)
{
    for (struct swarm_conn *sc = sw->conns; sc; sc = sc->next) {
        if (!sc->ready || sc->closing || sc->inbound ||
            !peer_id_equal(&sc->peer, peer))
            continue;
        for (size_t i = 0; i < n; i++)
            if (same_endpoint(&addrs[i], &sc->remote))
                return true;
    }
    return false;
}

int swarm_connect_exact(struct swarm *sw, const struct peer_id *peer,
                        const struct multiaddr *addrs, size_t n,
                        uint32_t timeout_ms, swarm_connect_cb cb, void *arg,
                        struct swarm_wait **out)
{
    struct swarm_wait *w;
    int err;

    if (sw->closing)
        return FASTN_ERR_CLOSED;
    if (!n)
        return FASTN_ERR_INVAL;
    if (peer_id_equal(peer, &sw->identity->id))
        return FASTN_ERR_NET_DIAL_SELF;
    err = wait_new(sw, peer, timeout_ms, cb, arg, &w);
    if (err)
        return err;
    w->exact = true;
    if (connected_at(sw, peer, addrs, n)) {
        wait_done(w, 0);
    } else if ((err = swarm__dial_exact(sw, w, addrs, n)) != 0) {
        wait_free(w);
        return err;
    }
    if (out)
        *out = w;
    return 0;
}

/* --- connections ------------------------------------------------------------
 */

struct swarm_conn *swarm__conn_for(const struct swarm *sw,
                                   const struct peer_id *peer)
{
    struct swarm_peer *pe = swarm__peer_find(sw, peer);
    return pe ? pe->best : NULL;
}

void swarm_remember(struct swarm *sw, const struct peer_id *peer,
                    const struct multiaddr *addrs, size_t n)
{
    if (n && sw->cfg.book && sw->cfg.book->remember)
        sw->cfg.book->remember(sw->cfg.book_arg, peer, addrs, n, true);
}

bool swarm_is_connected(const struct swarm *sw, const struct peer_id *peer)
{
    return swarm__conn_for(sw, peer) != NULL;
}

int swarm_disconnect(struct swarm *sw, const struct peer_id *peer)
{
    struct swarm_peer *pe = swarm__peer_find(sw, peer);

    if (!pe)
        return FASTN_ERR_NOT_FOUND;
    /* each close leaves the peer's list; the last one frees pe */
    while ((pe = swarm__peer_find(sw, peer)) != NULL)
        swarm__conn_close(pe->conns, FASTN_ERR_NET_RESET);
    return 0;
}

static void ma_copy(struct multiaddr *dst, const struct multiaddr *src)
{
    dst->len = src->len;
    memcpy(dst->bytes, src->bytes, src->len);
}

void swarm_foreach_peer(struct swarm *sw, swarm_peer_fn fn, void *arg)
{
    struct swarm_peer_info *info = malloc(sizeof(*info));
    uint64_t now = swarm__now_us();

    if (!info)
        return;
    /* Only what each peer has is copied (ten thousand peers would
     * otherwise mean 50 MB of copying per walk). */
    for (struct swarm_conn *sc = sw->conns; sc; sc = sc->next) {
        if (!sc->pe || sc->pe->best != sc)
            continue;
        info->peer = sc->peer;
        ma_copy(&info->remote, &sc->remote);
        info->inbound = sc->inbound;
        info->limited = sc->limited;
        info->connected_ms = (now - sc->ready_us) / 1000;
        info->rtt_us = sc->rtt_us;
        info->streams = sc->n_streams;
        memcpy(info->agent, sc->agent, strlen(sc->agent) + 1);
        info->n_listen = sc->n_listen;
        for (size_t i = 0; i < sc->n_listen; i++)
            ma_copy(&info->listen[i], &sc->listen[i]);
        const char *p = sc->protos;
        info->n_protocols = 0;
        for (size_t i = 0; i < sc->n_protos; i++) {
            info->protocols[info->n_protocols++] = p;
            p += strlen(p) + 1;
        }
        fn(arg, info);
    }
    free(info);
}

void swarm_get_stats(const struct swarm *sw, struct swarm_stats *st)
{
    *st = sw->stats;
    st->peers = sw->n_peers;
    st->connections = sw->n_ready;
    st->pending = sw->n_conns - sw->n_ready;
    st->streams = sw->n_streams;
}

/* --- memory
 * ------------------------------------------------------------------- After
 * many connections closed, free memory goes back to the system (glibc keeps
 * freed heap otherwise: 10,000 peers that left would leave their memory with
 * the daemon). Once a second at most, after a burst. */

#define TRIM_AFTER 256
#define TRIM_DELAY_MS 1000

static void on_trim(uv_timer_t *t)
{
    struct swarm *sw = t->data;

    sw->closed_since_trim = 0;
    swarm__rx_trim(sw);
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

void swarm__trim_soon(struct swarm *sw)
{
    if (!sw->closing)
        uv_timer_start(&sw->trim_timer, on_trim, TRIM_DELAY_MS, 0);
}

void swarm__closed(struct swarm *sw)
{
    if (++sw->closed_since_trim < TRIM_AFTER || sw->closing ||
        uv_is_active((uv_handle_t *)&sw->trim_timer))
        return;
    uv_timer_start(&sw->trim_timer, on_trim, TRIM_DELAY_MS, 0);
}

/* --- protocols -------------------------------------------------------------
 */

static const char *const builtin_protos[] = {
    IDENTIFY_PROTOCOL_ID,
    IDENTIFY_PUSH_PROTOCOL_ID,
    PING_PROTOCOL_ID,
    PERF_PROTOCOL_ID,
};
#define N_BUILTIN (sizeof(builtin_protos) / sizeof(builtin_protos[0]))

bool swarm__builtin_supports(const struct swarm *sw, const char *proto)
{
    for (size_t i = 0; i < N_BUILTIN; i++)
        if (!strcmp(proto, builtin_protos[i]))
            return true;
    if (!strcmp(proto, RELAY_STOP_PROTOCOL_ID) ||
        !strcmp(proto, DCUTR_PROTOCOL_ID))
        return true;
    if (swarm__relay_serves(sw) && !strcmp(proto, RELAY_HOP_PROTOCOL_ID))
        return true;
    if (swarm__kad_serves(sw) && !strcmp(proto, KAD_PROTOCOL_ID))
        return true;
    if (!strcmp(proto, AUTONAT2_DIAL_BACK_ID))
        return true;
    if (swarm__reach2_serves(sw) && !strcmp(proto, AUTONAT2_DIAL_REQUEST_ID))
        return true;
    return swarm__reach_serves(sw) && !strcmp(proto, AUTONAT_PROTOCOL_ID);
}

size_t swarm__protocols(struct swarm *sw, const char **names, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < N_BUILTIN && n < max; i++)
        names[n++] = builtin_protos[i];
    if (swarm__reach_serves(sw) && n < max)
        names[n++] = AUTONAT_PROTOCOL_ID;
    if (swarm__reach2_serves(sw) && n < max)
        names[n++] = AUTONAT2_DIAL_REQUEST_ID;
    if (n < max)
        names[n++] = AUTONAT2_DIAL_BACK_ID;
    if (swarm__relay_serves(sw) && n < max)
        names[n++] = RELAY_HOP_PROTOCOL_ID;
    if (n < max)
        names[n++] = RELAY_STOP_PROTOCOL_ID;
    if (swarm__kad_serves(sw) && n < max)
        names[n++] = KAD_PROTOCOL_ID;
    if (n < max)
        names[n++] = DCUTR_PROTOCOL_ID;
    if (sw->sl && sw->sl->list && n < max)
        n += sw->sl->list(sw->sl_arg, names + n, max - n);
    return n;
}

void swarm_set_stream_listener(struct swarm *sw,
                               const struct swarm_stream_listener *l, void *arg)
{
    sw->sl = l;
    sw->sl_arg = arg;
}

/* --- changes while running ------------------------------------------------
 */

void swarm_set_timing(struct swarm *sw, const struct swarm_config *cfg)
{
    struct swarm_config *c = &sw->cfg;

    c->handshake_timeout_ms = cfg->handshake_timeout_ms;
    c->idle_timeout_ms = cfg->idle_timeout_ms;
    c->keepalive_ms = cfg->keepalive_ms;
    c->ping_timeout_ms = cfg->ping_timeout_ms;
    c->max_connections = cfg->max_connections;
    c->max_handshakes = cfg->max_handshakes;
    c->max_handshakes_per_addr = cfg->max_handshakes_per_addr;
    c->max_inbound_streams = cfg->max_inbound_streams;
    c->max_buffers = cfg->max_buffers;
    limits_default(c);
    for (struct swarm_conn *sc = sw->conns; sc; sc = sc->next) {
        if (sc->closing)
            continue;
        conn_set_liveness(sc->c, (uint64_t)c->keepalive_ms * 1000,
                          (uint64_t)c->ping_timeout_ms * 1000);
        swarm__conn_update_timer(sc);
    }
}

static void on_push_timer(uv_timer_t *t)
{
    struct swarm *sw = t->data;
    struct swarm_conn *sc, *next;

    sw->push_pending = false;
    for (sc = sw->conns; sc; sc = next) {
        next = sc->next; /* kept: a failing send may unlink sc */
        if (!sc->closing && sc->pe && sc->pe->best == sc &&
            swarm__conn_may_serve(sc, IDENTIFY_PUSH_PROTOCOL_ID))
            swarm__identify_push(sc);
    }
}

/* Debounced: the timer restarts with each change, up to
 * SWARM_PUSH_MAX_DELAY_MS after the first one of the burst. */
void swarm_protocols_changed(struct swarm *sw)
{
    uint64_t now = swarm__now_us(), waited;

    if (sw->closing)
        return;
    if (!sw->push_pending) {
        sw->push_pending = true;
        sw->push_first_us = now;
    }
    waited = (now - sw->push_first_us) / 1000;
    if (waited + SWARM_PUSH_DELAY_MS > SWARM_PUSH_MAX_DELAY_MS &&
        uv_is_active((uv_handle_t *)&sw->push_timer))
        return;
    uv_timer_start(&sw->push_timer, on_push_timer, SWARM_PUSH_DELAY_MS, 0);
}

const struct peer_id *swarm_local_peer(const struct swarm *sw)
{
    return &sw->identity->id;
}

/* --- listening
 * ---------------------------------------------------------------- */

static void on_inbound(uv_stream_t *server, int status)
{
    struct swarm_listener *l = server->data;
    struct swarm *sw = l->sw;
    struct swarm_conn *sc;

    if (status < 0) {
        LOG_RATELIMITED(LOG_WARN, "net", "accept failed: %s",
                        uv_strerror(status));
        return;
    }
    sc = swarm__conn_new(sw, true, NULL);
    if (!sc)
        return;
    if (uv_accept(server, (uv_stream_t *)&sc->tcp) != 0) {
        swarm__conn_close(sc, FASTN_ERR_IO);
        return;
    }
    if (!swarm__handshake_admit(sc)) {
        swarm__conn_refuse(sc);
        return;
    }
    swarm__conn_start(sc);
}

static int sockaddr_of(const struct multiaddr_tcp *t, uint16_t port,
                       struct sockaddr_storage *ss, int *family)
{
    memset(ss, 0, sizeof(*ss));
    if (t->host_code == MA_IP4) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        memcpy(&a->sin_addr, t->ip, 4);
        *family = AF_INET;
        return 0;
    }
    if (t->host_code == MA_IP6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        memcpy(&a->sin6_addr, t->ip, 16);
        *family = AF_INET6;
        return 0;
    }
    return FASTN_ERR_UNSUPPORTED;
}

/* Binds and listens on one address and port; 0 or a libuv error. */
static int bind_listen(struct swarm_listener *l, const struct sockaddr *sa,
                       int family)
{
    int rc = uv_tcp_init_ex(l->sw->loop, &l->tcp, (unsigned)family);

    if (rc)
        return rc;
    l->tcp.data = l;
    rc = uv_tcp_bind(&l->tcp, sa, family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&l->tcp, 128, on_inbound);
    return rc;
}

static int record_bound(struct swarm_listener *l)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len))
        return FASTN_ERR_IO;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        l->wildcard = a->sin_addr.s_addr == htonl(INADDR_ANY);
        return multiaddr_from_ip_tcp(&l->addr, (uint8_t *)&a->sin_addr, 4,
                                     ntohs(a->sin_port));
    }
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    l->wildcard = IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr);
    return multiaddr_from_ip_tcp(&l->addr, (uint8_t *)&a->sin6_addr, 16,
                                 ntohs(a->sin6_port));
}

static int listen_one(struct swarm *sw, const struct multiaddr *ma)
{
    char text[MULTIADDR_STR_MAX];
    struct multiaddr_tcp t;
    struct sockaddr_storage ss;
    struct swarm_listener *l;
    int family, rc;

    multiaddr_format(ma, text, sizeof(text));
    if (multiaddr_to_tcp(ma, &t) || t.has_peer ||
        sockaddr_of(&t, t.port, &ss, &family)) {
        log_msg(LOG_ERROR, "net",
                "cannot listen on %s: want /ip4/ADDR/tcp/PORT or "
                "/ip6/ADDR/tcp/PORT",
                text);
        return FASTN_ERR_UNSUPPORTED;
    }
    l = calloc(1, sizeof(*l));
    if (!l)
        return FASTN_ERR_NOMEM;
    l->sw = sw;
    l->family = family;
    l->want = *ma;
    rc = bind_listen(l, (struct sockaddr *)&ss, family);
    if (rc == UV_EADDRINUSE && t.port == SWARM_DEFAULT_PORT) {
        log_msg(LOG_WARN, "net",
                "port %d is taken on %s: listening on a port the system "
                "picks instead",
                SWARM_DEFAULT_PORT, text);
        uv_close((uv_handle_t *)&l->tcp, (uv_close_cb)free);
        l = calloc(1, sizeof(*l));
        if (!l)
            return FASTN_ERR_NOMEM;
        l->sw = sw;
        l->family = family;
        l->want = *ma;
        sockaddr_of(&t, 0, &ss, &family);
        rc = bind_listen(l, (struct sockaddr *)&ss, family);
    }
    if (rc || record_bound(l)) {
        log_msg(LOG_ERROR, "net", "cannot listen on %s: %s", text,
                rc ? uv_strerror(rc) : "no address");
        uv_close((uv_handle_t *)&l->tcp, (uv_close_cb)free);
        return FASTN_ERR_IO;
    }
    sw->listeners[sw->n_listeners++] = l;
    multiaddr_format(&l->addr, text, sizeof(text));
    log_msg(LOG_INFO, "net", "listening on %s", text);
    return 0;
}

int swarm_listen(struct swarm *sw)
{
    for (size_t i = 0; i < sw->cfg.n_listen; i++) {
        int err = listen_one(sw, &sw->listen_cfg[i]);
        if (err)
            return err;
    }
    return 0;
}

static bool listed(const struct multiaddr *addrs, size_t n,
                   const struct multiaddr *ma)
{
    for (size_t i = 0; i < n; i++)
        if (multiaddr_equal(&addrs[i], ma))
            return true;
    return false;
}

/* Closes the listeners whose configured address is not in addrs; the
 * connections they accepted have their own sockets and stay. */
static unsigned close_unlisted(struct swarm *sw, const struct multiaddr *addrs,
                               size_t n)
{
    char text[MULTIADDR_STR_MAX];
    unsigned closed = 0;

    for (size_t i = 0; i < sw->n_listeners;) {
        struct swarm_listener *l = sw->listeners[i];
        if (listed(addrs, n, &l->want)) {
            i++;
            continue;
        }
        multiaddr_format(&l->addr, text, sizeof(text));
        log_msg(LOG_INFO, "net", "stopped listening on %s", text);
        uv_close((uv_handle_t *)&l->tcp, (uv_close_cb)free);
        sw->listeners[i] = sw->listeners[--sw->n_listeners];
        closed++;
    }
    return closed;
}

static bool is_listening(const struct swarm *sw, const struct multiaddr *ma)
{
    for (size_t i = 0; i < sw->n_listeners; i++)
        if (multiaddr_equal(&sw->listeners[i]->want, ma))
            return true;
    return false;
}

int swarm_set_listen(struct swarm *sw, const struct multiaddr *addrs, size_t n,
                     struct swarm_listen_change *ch)
{
    struct swarm_listen_change c = {0, 0, 0};
    int err = 0;

    if (n > SWARM_MAX_LISTEN)
        return FASTN_ERR_INVAL;
    if (sw->closing)
        return FASTN_ERR_CLOSED;
    c.closed = close_unlisted(sw, addrs, n);
    for (size_t i = 0; i < n; i++) {
        if (is_listening(sw, &addrs[i]))
            continue;
        int rc = listen_one(sw, &addrs[i]);
        if (rc) {
            c.failed++;
            err = rc;
        } else {
            c.opened++;
        }
    }
    if (n) /* addrs may be NULL then */
        memmove(sw->listen_cfg, addrs, n * sizeof(*addrs));
    sw->cfg.n_listen = n;
    if (c.opened || c.closed)
        swarm_protocols_changed(sw);
    if (ch)
        *ch = c;
    return err;
}

/* Interface addresses for a wildcard listener of that family. */
static size_t expand_wildcard(const struct swarm_listener *l,
                              struct multiaddr *out, size_t max)
{
    uv_interface_address_t *ifs;
    struct multiaddr_tcp t;
    int count;
    size_t n = 0;

    if (multiaddr_to_tcp(&l->addr, &t) || uv_interface_addresses(&ifs, &count))
        return 0;
    for (int i = 0; i < count && n < max; i++) {
        const struct sockaddr *sa = (const struct sockaddr *)&ifs[i].address;
        if (sa->sa_family != l->family)
            continue;
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *a = &ifs[i].address.address4;
            multiaddr_from_ip_tcp(&out[n++], (const uint8_t *)&a->sin_addr, 4,
                                  t.port);
        } else {
            const struct sockaddr_in6 *a = &ifs[i].address.address6;
            if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr))
                continue; /* needs a zone: not dialable as a multiaddr */
            multiaddr_from_ip_tcp(&out[n++], (const uint8_t *)&a->sin6_addr, 16,
                                  t.port);
        }
    }
    uv_free_interface_addresses(ifs, count);
    return n;
}

size_t swarm_listen_addrs(const struct swarm *sw, struct multiaddr *out,
                          size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < sw->n_listeners && n < max; i++) {
        const struct swarm_listener *l = sw->listeners[i];
        size_t k = l->wildcard ? expand_wildcard(l, out + n, max - n) : 0;
        if (k == 0)
            out[n + k++] = l->addr;
        /* drop duplicates (two wildcards, or a wildcard and an address) */
        for (size_t j = n; j < n + k;) {
            bool dup = false;
            for (size_t m = 0; m < n && !dup; m++)
                dup = multiaddr_equal(&out[m], &out[j]);
            if (dup) {
                out[j] = out[n + k - 1];
                k--;
            } else {
                j++;
            }
        }
        n += k;
    }
    return n;
}

size_t swarm_advertised_addrs(const struct swarm *sw, struct multiaddr *out,
                              size_t max)
{
    struct multiaddr pub[SWARM_REACH_ADDRS_MAX];
    size_t n = swarm_listen_addrs(sw, out, max);
    size_t k = swarm__reach_public(sw, pub, SWARM_REACH_ADDRS_MAX);

    k += swarm__relay_addrs(sw, pub + k, SWARM_REACH_ADDRS_MAX - k);

    for (size_t i = 0; i < k && n < max; i++) {
        bool dup = false;
        for (size_t j = 0; j < n && !dup; j++)
            dup = multiaddr_equal(&out[j], &pub[i]);
        if (!dup)
            out[n++] = pub[i];
    }
    return n;
}

/* --- life cycle
 * ---------------------------------------------------------------- */

int swarm_new(struct uv_loop_s *loop, const struct swarm_config *cfg,
              struct swarm **out)
{
    static const char *const muxers[] = {YAMUX_PROTOCOL_ID};
    struct swarm *sw;
    int err;

    if (cfg->n_listen > SWARM_MAX_LISTEN || !cfg->identity)
        return FASTN_ERR_INVAL;
    sw = calloc(1, sizeof(*sw));
    if (!sw)
        return FASTN_ERR_NOMEM;
    sw->loop = loop;
    sw->cfg = *cfg;
    sw->identity = cfg->identity;
    if (cfg->n_listen) /* listen may be NULL then */
        memcpy(sw->listen_cfg, cfg->listen,
               cfg->n_listen * sizeof(*cfg->listen));
    sw->cfg.listen = sw->listen_cfg;
    limits_default(&sw->cfg);
    if (!sw->cfg.max_window)
        sw->cfg.max_window = 16u << 20;
    if (swarm__rx_init(sw)) {
        free(sw);
        return FASTN_ERR_NOMEM;
    }
    err = noise_local_init(&sw->local, cfg->identity, muxers, 1);
    if (!err && (err = swarm__reach_new(sw)))
        noise_local_cleanup(&sw->local);
    if (!err && (err = swarm__relay_new(sw))) {
        swarm__reach_close(sw);
        noise_local_cleanup(&sw->local);
    }
    if (!err && (err = swarm__kad_new(sw))) {
        swarm__reach_close(sw);
        swarm__relay_close(sw);
        noise_local_cleanup(&sw->local);
    }
    if (err) {
        swarm__rx_free(sw);
        free(sw);
        return err;
    }
    swarm__htab_init(&sw->addrs);
    swarm__htab_init(&sw->peers);
    uv_timer_init(loop, &sw->trim_timer);
    sw->trim_timer.data = sw;
    pubkey_encode_proto(cfg->identity->pubkey, sw->pubkey_proto);
    sw->deferred_tail = &sw->deferred;
    uv_idle_init(loop, &sw->idle);
    sw->idle.data = sw;
    uv_prepare_init(loop, &sw->prepare);
    sw->prepare.data = sw;
    uv_timer_init(loop, &sw->push_timer);
    sw->push_timer.data = sw;
    swarm__dials_init(sw);
    noise_pool_acquire(cfg->crypto_threads); /* bulk crypto on every core */
    *out = sw;
    return 0;
}

void swarm_close(struct swarm *sw)
{
    if (!sw || sw->closing)
        return;
    sw->closing = true;
    swarm__kad_close(sw);
    for (size_t i = 0; i < sw->n_listeners; i++)
        uv_close((uv_handle_t *)&sw->listeners[i]->tcp, (uv_close_cb)free);
    sw->n_listeners = 0;
    swarm__dials_close(sw);
    while (sw->conns)
        swarm__conn_close(sw->conns, FASTN_ERR_CANCELED);
    /* Deliver what is pending, then cancel the waits left. */
    on_idle(&sw->idle);
    while (sw->waits) {
        struct swarm_wait *w = sw->waits;
        swarm_connect_cb cb = w->cb;
        void *arg = w->arg;
        wait_free(w);
        if (cb)
            cb(arg, FASTN_ERR_CANCELED);
    }
    uv_idle_stop(&sw->idle);
    uv_close((uv_handle_t *)&sw->idle, NULL);
    uv_close((uv_handle_t *)&sw->prepare, NULL);
    uv_close((uv_handle_t *)&sw->push_timer, NULL);
    uv_close((uv_handle_t *)&sw->trim_timer, NULL);
    swarm__reach_close(sw);
    swarm__relay_close(sw);
}

void swarm_free(struct swarm *sw)
{
    if (!sw)
        return;
    while (sw->pool) {
        struct swarm_frame *f = sw->pool;
        sw->pool = f->next;
        free(f);
    }
    swarm__reach_free(sw);
    swarm__relay_free(sw);
    swarm__kad_free(sw);
    noise_local_cleanup(&sw->local);
    swarm__htab_cleanup(&sw->addrs);
    swarm__htab_cleanup(&sw->peers);
    swarm__rx_free(sw); /* wiped: held plaintext */
    free(sw);
    noise_pool_release();
}
