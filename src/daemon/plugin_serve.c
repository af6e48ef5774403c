/*
 * Serving /fastn/plugin/1.0.0 (docs/REGISTRY.md): a peer asks for the
 * plugin that handles a protocol (or has a name or a sha256) and gets the
 * offer, then the plugin's bytes.
 *
 * Only what this daemon would install itself is served: a plugin it has
 * installed whose signature (NAME.wasm.minisig, kept at install) verifies
 * now with a key it trusts. An unsigned plugin, or one whose signature no
 * longer holds, is never served: the asker gets NOT_FOUND. The plugin is
 * read and verified into memory and those exact bytes are sent, so what
 * was checked is what goes out.
 *
 * Bounds: SERVE_STREAMS_MAX streams held at once (more are reset), one
 * request of at most PLUGIN_XFER_REQUEST_MAX bytes within
 * SERVE_REQUEST_TIMEOUT_MS, SERVE_SENDING_MAX transfers at once and
 * SERVE_PER_PEER requests of one peer per minute (beyond: BUSY), the
 * whole answer within SERVE_TIMEOUT_MS. With serve-plugins = no in the
 * config the protocol is not served at all (the router answers "na").
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/registry_int.h"
#include "fastn/err.h"
#include "net/swarm.h"
#include "plugin/plugin.h"
#include "registry/installed.h"
#include "registry/plugin_xfer.h"
#include "router/router.h"
#include "util/log.h"

#define SERVE_STREAMS_MAX 32
#define SERVE_SENDING_MAX 4
#define SERVE_PER_PEER 10
#define SERVE_RATE_WINDOW_MS 60000
#define SERVE_PEERS_TRACKED 256
#define SERVE_REQUEST_TIMEOUT_MS 10000
#define SERVE_TIMEOUT_MS 120000

struct serve_stream;

struct peer_rate {
    struct peer_id peer;
    uint64_t since_ms;
    unsigned count;
};

struct serve_state {
    struct daemon_registry *dr;
    struct serve_stream *streams;
    unsigned n_streams, n_sending;
    struct peer_rate rates[SERVE_PEERS_TRACKED];
    uint64_t served, refused;
};

struct serve_stream {
    struct serve_state *ss;
    struct swarm_stream *s;
    uint8_t in[PLUGIN_XFER_REQUEST_MAX + 16];
    size_t in_len;
    bool answered, sending;
    struct buf out; /* the offer frame, then the plugin's bytes */
    size_t off;
    struct serve_stream *next, **pprev;
};

static void stream_free(struct serve_stream *st)
{
    struct serve_state *ss = st->ss;

    *st->pprev = st->next;
    if (st->next)
        st->next->pprev = st->pprev;
    ss->n_streams--;
    if (st->sending)
        ss->n_sending--;
    buf_cleanup(&st->out);
    free(st);
}

/* Whether peer may ask once more this minute (and counts it). */
static bool rate_ok(struct serve_state *ss, const struct peer_id *peer,
                    uint64_t now)
{
    struct peer_rate *slot = &ss->rates[0];

    for (size_t i = 0; i < SERVE_PEERS_TRACKED; i++) {
        struct peer_rate *r = &ss->rates[i];
        if (r->peer.len == peer->len &&
            !memcmp(r->peer.bytes, peer->bytes, peer->len)) {
            slot = r;
            break;
        }
        if (r->since_ms < slot->since_ms)
            slot = r; /* the oldest, for a peer not tracked yet */
    }
    if (slot->peer.len != peer->len ||
        memcmp(slot->peer.bytes, peer->bytes, peer->len) ||
        now - slot->since_ms >= SERVE_RATE_WINDOW_MS) {
        slot->peer = *peer;
        slot->since_ms = now;
        slot->count = 0;
    }
    return ++slot->count <= SERVE_PER_PEER;
}

/* --- finding what to serve -------------------------------------------------
 */

static bool matches(const struct plugin_xfer_request *req,
                    const struct plugin_manifest *m)
{
    if (req->by_name)
        return !strcmp(m->name, req->name);
    if (req->by_sha256)
        return true; /* decided by the hash, once read */
    return plugin_manifest_has_protocol(m, req->protocol);
}

/* An OK offer of the plugin m with its verified bytes. */
static int fill_offer(struct plugin_xfer_offer *o,
                      const struct plugin_manifest *m,
                      const struct registry_verified *v, const uint8_t *sig,
                      size_t sig_len, bool bytes_follow)
{
    memset(o, 0, sizeof(*o));
    if (sig_len > sizeof(o->minisig))
        return FASTN_ERR_INVAL;
    snprintf(o->name, sizeof(o->name), "%s", m->name);
    snprintf(o->version, sizeof(o->version), "%s", m->version);
    snprintf(o->summary, sizeof(o->summary), "%s", m->description);
    for (size_t i = 0; i < m->n_protocols; i++)
        snprintf(o->protocols[i], sizeof(o->protocols[i]), "%s",
                 m->protocols[i]);
    o->n_protocols = m->n_protocols;
    for (unsigned bit = 1; bit && o->n_caps < REGISTRY_CAPS_MAX; bit <<= 1)
        if ((m->caps & bit) && plugin_cap_name(bit))
            snprintf(o->caps[o->n_caps++], sizeof(o->caps[0]), "%s",
                     plugin_cap_name(bit));
    for (size_t i = 0; i < m->n_apps; i++)
        snprintf(o->apps[i], sizeof(o->apps[i]), "%s", m->apps[i]);
    o->n_apps = m->n_apps;
    o->size = v->size;
    memcpy(o->sha256, v->sha256, sizeof(o->sha256));
    memcpy(o->minisig, sig, sig_len);
    o->minisig_len = sig_len;
    o->bytes_follow = bytes_follow;
    return 0;
}

/* Reads and verifies the installed plugin m; on success *wasm holds its
 * bytes and o the offer. */
static int try_plugin(struct serve_state *ss,
                      const struct plugin_xfer_request *req,
                      const struct plugin_manifest *m,
                      const struct registry_keyring *kr,
                      struct plugin_xfer_offer *o, uint8_t **wasm, size_t *len)
{
    struct daemon_registry *dr = ss->dr;
    struct registry_verified v;
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    char why[320];
    int rc =
        registry_installed_read(dr->plugins_dir, m->name, dr->opts.max_bytes,
                                wasm, len, &sig, &sig_len);

    if (rc) /* unsigned (no .minisig), or unreadable: never served */
        return FASTN_ERR_NOT_FOUND;
    rc = registry_verify_buf(kr, *wasm, *len, sig, sig_len, &v, why,
                             sizeof(why));
    if (rc) {
        LOG_RATELIMITED(LOG_WARN, "registry",
                        "not serving plugin %s: its signature does not hold "
                        "now: %s",
                        m->name, why);
        rc = rc == FASTN_ERR_NOMEM ? rc : FASTN_ERR_NOT_FOUND;
    } else if (req->by_sha256 &&
               memcmp(v.sha256, req->sha256, sizeof(v.sha256)))
        rc = FASTN_ERR_NOT_FOUND;
    else
        rc = fill_offer(o, m, &v, sig, sig_len,
                        !req->offer_only &&
                            !(req->max_size && v.size > req->max_size));
    free(sig);
    if (rc) {
        free(*wasm);
        *wasm = NULL;
    }
    return rc;
}

/* The signed installed plugin the request asks for. */
static int find_plugin(struct serve_state *ss,
                       const struct plugin_xfer_request *req,
                       struct plugin_xfer_offer *o, uint8_t **wasm, size_t *len)
{
    struct plugin_host *ph = ss->dr->d->host.plugins;
    struct registry_keyring kr;
    struct plugin_info *v = NULL;
    size_t n = 0;
    int rc = FASTN_ERR_NOT_FOUND;

    if (!ph || plugin_host_list(ph, &v, &n) != 0)
        return FASTN_ERR_NOT_FOUND;
    if (daemon_registry_keys(ss->dr, &kr) != 0) {
        free(v);
        return FASTN_ERR_NOMEM;
    }
    for (size_t i = 0; rc && i < n; i++)
        if (v[i].manifest.version[0] && matches(req, &v[i].manifest))
            rc = try_plugin(ss, req, &v[i].manifest, &kr, o, wasm, len);
    registry_keyring_cleanup(&kr);
    free(v);
    return rc;
}

/* --- answering -------------------------------------------------------------
 */

/* Writes what the stream takes; closes after the last byte. */
static void push(struct serve_stream *st)
{
    while (st->off < st->out.len) {
        int k = swarm_stream_write(st->s, st->out.data + st->off,
                                   st->out.len - st->off);
        if (k <= 0)
            return;
        st->off += (size_t)k;
    }
    if (st->sending) {
        st->sending = false;
        st->ss->n_sending--;
    }
    buf_cleanup(&st->out);
    st->off = 0;
    swarm_stream_close(st->s);
}

static int status_only(struct serve_stream *st, enum plugin_xfer_status s)
{
    struct plugin_xfer_offer o;

    memset(&o, 0, sizeof(o));
    o.status = s;
    st->ss->refused++;
    return plugin_xfer_offer_encode(&o, &st->out);
}

static int answer(struct serve_stream *st,
                  const struct plugin_xfer_request *req)
{
    struct serve_state *ss = st->ss;
    uint64_t now = uv_now(&ss->dr->d->loop);
    struct plugin_xfer_offer *o = calloc(1, sizeof(*o));
    char pid[PEER_ID_STR_MAX];
    uint8_t *wasm = NULL;
    size_t len = 0;
    int rc;

    if (!o)
        return FASTN_ERR_NOMEM;
    buf_init(&st->out, PLUGIN_XFER_OFFER_MAX + 16 + ss->dr->opts.max_bytes);
    if (!rate_ok(ss, swarm_stream_peer(st->s), now) ||
        ss->n_sending >= SERVE_SENDING_MAX)
        rc = status_only(st, PLUGIN_XFER_BUSY);
    else if ((rc = find_plugin(ss, req, o, &wasm, &len)) != 0)
        rc = rc == FASTN_ERR_NOT_FOUND ? status_only(st, PLUGIN_XFER_NOT_FOUND)
                                       : rc;
    else if (!o->bytes_follow && !req->offer_only)
        rc = status_only(st, PLUGIN_XFER_TOO_LARGE);
    else if (!(rc = plugin_xfer_offer_encode(o, &st->out)) && o->bytes_follow)
        rc = buf_append(&st->out, wasm, len);
    if (!rc && o->status == PLUGIN_XFER_OK && wasm) {
        st->sending = true;
        ss->n_sending++;
        ss->served++;
        LOG_RATELIMITED(LOG_INFO, "registry", "serving plugin %s %s to %s",
                        o->name, o->version,
                        peer_id_format(swarm_stream_peer(st->s), pid));
    }
    free(wasm);
    free(o);
    return rc;
}

static void on_data(struct serve_stream *st, const uint8_t *p, size_t n)
{
    struct plugin_xfer_request req;
    size_t used;
    int rc;

    swarm_stream_consumed(st->s, n);
    if (st->answered)
        return; /* the asker has nothing more to say: ignored */
    if (n > sizeof(st->in) - st->in_len) {
        swarm_stream_reset(st->s);
        stream_free(st);
        return;
    }
    memcpy(st->in + st->in_len, p, n);
    st->in_len += n;
    rc = plugin_xfer_request_decode(st->in, st->in_len, &used, &req);
    if (rc == FASTN_ERR_AGAIN)
        return;
    st->answered = true;
    if (rc || (rc = answer(st, &req)) != 0) {
        LOG_RATELIMITED(LOG_INFO, "registry",
                        "/fastn/plugin/1.0.0 request refused: %s",
                        fastn_strerror(rc));
        swarm_stream_reset(st->s);
        stream_free(st);
        return;
    }
    swarm_stream_set_timeout(st->s, SERVE_TIMEOUT_MS);
    push(st);
}

static void stream_cb(struct swarm_stream *s,
                      const struct swarm_stream_event *ev, void *arg)
{
    struct serve_stream *st = arg;

    (void)s;
    switch (ev->type) {
    case SWARM_STREAM_DATA:
        on_data(st, ev->data, ev->len);
        break;
    case SWARM_STREAM_WRITABLE:
        if (st->out.len)
            push(st);
        break;
    case SWARM_STREAM_CLOSED:
        stream_free(st);
        break;
    default: /* FIN: the asker finished writing; the answer goes on */
        break;
    }
}

static int on_stream(void *arg, struct swarm_stream *s)
{
    struct serve_state *ss = arg;
    struct serve_stream *st;

    if (ss->n_streams >= SERVE_STREAMS_MAX)
        return FASTN_ERR_BUSY;
    if (!(st = calloc(1, sizeof(*st))))
        return FASTN_ERR_NOMEM;
    st->ss = ss;
    st->s = s;
    st->next = ss->streams;
    st->pprev = &ss->streams;
    if (ss->streams)
        ss->streams->pprev = &st->next;
    ss->streams = st;
    ss->n_streams++;
    swarm_stream_set_cb(s, stream_cb, st);
    swarm_stream_set_timeout(s, SERVE_REQUEST_TIMEOUT_MS);
    return 0;
}

static const struct router_handler_ops serve_ops = {.on_stream = on_stream};

void daemon_plugin_serve_stop(struct daemon_registry *dr)
{
    struct serve_state *ss = dr->serve;

    if (!ss)
        return;
    dr->serve = NULL;
    dr->ipc.own_handlers = 0;
    if (dr->d && dr->d->router)
        router_remove(dr->d->router, PLUGIN_XFER_PROTOCOL, &serve_ops, ss);
    while (ss->streams) {
        swarm_stream_reset(ss->streams->s);
        stream_free(ss->streams);
    }
    free(ss);
    log_msg(LOG_INFO, "registry", "not serving plugins to peers");
}

void daemon_plugin_serve_apply(struct daemon_registry *dr)
{
    const struct daemon_config *c = &dr->d->config;
    bool on = !c->has_serve_plugins || c->serve_plugins;
    struct serve_state *ss;
    int rc;

    if (!on) {
        daemon_plugin_serve_stop(dr);
        return;
    }
    if (dr->serve || !dr->d->router)
        return;
    if (!(ss = calloc(1, sizeof(*ss))))
        return;
    ss->dr = dr;
    if ((rc =
             router_add(dr->d->router, PLUGIN_XFER_PROTOCOL, &serve_ops, ss))) {
        log_msg(LOG_WARN, "registry", "cannot serve %s: %s",
                PLUGIN_XFER_PROTOCOL, fastn_strerror(rc));
        free(ss);
        return;
    }
    dr->serve = ss;
    dr->ipc.own_handlers = 1;
    log_msg(LOG_INFO, "registry", "serving signed plugins to peers (%s)",
            PLUGIN_XFER_PROTOCOL);
}
