/*
 * fastnd's quarantine (docs/ROUTER.md, "The quarantine"): the router's
 * struct router_quarantine_ops, the store behind it, the offer and the
 * replay.
 *
 * Keeping. A stream the router's policy gives the quarantine (a protocol
 * no plugin handles, or a stranger's stream for a plugin that serves
 * known peers only) is taken: our side is finished at once (the sender
 * sees its stream taken and not answered) and its bytes are appended to
 * an item of state.sqlite's quarantine as they come, each append one
 * synced commit (store/quarantine.c), within the limits per stream, per
 * peer, in all and in count; past one the stream is reset, so its sender
 * knows it was not taken, and what was kept stays.
 *
 * Offering. For a protocol with kept data and no plugin, one lookup runs
 * at a time: the registries (a registry GET job, fetch only), then the
 * peer that sent it (/fastn/plugin/1.0.0), each download verified (size,
 * sha256, a trusted publisher's signature) before it counts. Under
 * unknown-protocols = trusted, a plugin whose manifest asks only for
 * capabilities in auto-grant is installed at once and the data replayed,
 * with a notification saying what, from where, signed by whom, for whose
 * data; otherwise the user gets an offer notification (or "no plugin
 * found") and `fastn plugin approve` installs the verified download and
 * replays. A stranger's streams wait for `fastn peer allow`.
 *
 * Replaying. Items are handed to their plugin one at a time
 * (daemon_plugins_replay), each counted as begun in the store first (so
 * one begun before a crash is flagged as a repeat) and deleted only once
 * the plugin's on_close returned; one not delivered stays.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/quarantine.h"
#include "daemon/registry_int.h"
#include "fastn/err.h"
#include "plugin/plugin.h"
#include "registry/sources.h"
#include "router/router.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/log.h"
#include "util/peer_id.h"

#define SOURCE "fastnd"
/* Idle time after which a kept stream is cut (its bytes kept). */
#define KEEP_TIMEOUT_MS 60000
/* A kept stream's bytes go to the store in batches: once KEEP_BATCH
 * bytes wait, at its end, and every KEEP_FLUSH_MS (each batch is one
 * synced commit; a peer sending one-byte frames must not make one
 * each). Bytes are acknowledged to the sender (consumed) only once
 * stored, so yamux's window bounds what waits in memory. */
#define KEEP_BATCH (64 * 1024)
#define KEEP_FLUSH_MS 20
/* Protocols looked up or offered at once. */
#define OFFERS_MAX 64
#define EXPIRE_EVERY_MS (3600 * 1000)

enum offer_state {
    OFFER_LOOKING_REGISTRY,
    OFFER_LOOKING_PEER,
    OFFER_FOUND, /* job holds the verified download */
    OFFER_NONE,  /* nothing found: why says so */
};

struct offer {
    struct offer *next;
    char protocol[STORE_PROTOCOL_MAX + 1];
    char peer[PEER_ID_STR_MAX]; /* who sent it first: asked for the plugin */
    enum offer_state state;
    struct registry_job *job; /* running, or FOUND's */
    struct plugin_manifest m; /* FOUND: the download's own manifest */
    char source[160];         /* FOUND: "registry X" or "peer X" */
    char why[400];            /* NONE: what was tried */
    bool notified;
};

struct kept {
    struct daemon_quarantine *q;
    struct swarm_stream *s;
    int64_t item;
    bool stranger;   /* kept for a plugin that serves known peers only */
    bool closed;     /* our side finished: taken, not answered */
    struct buf pend; /* received, not yet stored (nor consumed) */
    struct kept *next, **pprev;
};

struct daemon_quarantine {
    struct daemon *d;
    struct kept *kept;
    struct offer *offers;
    unsigned n_offers;
    unsigned auto_grant; /* plugin_cap bits */
    uv_timer_t kick;     /* replays, from the loop */
    uv_timer_t expire;
    uv_timer_t flush; /* stores what kept streams hold (KEEP_FLUSH_MS) */
    bool flush_on;
    int closing;
    bool replaying;      /* one item handed over, waiting for its end */
    int64_t replay_item; /* that item */
    int64_t *queue;      /* items to replay, in order */
    size_t n_queue, cap_queue;
    bool stopping;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void notify(struct daemon_quarantine *q, const char *title,
                   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void notify(struct daemon_quarantine *q, const char *title,
                   const char *fmt, ...)
{
    char body[STORE_BODY_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    if (store_notify_add(q->d->store, wall_ms(), SOURCE, title, body, NULL))
        log_msg(LOG_WARN, "quarantine", "cannot add a notification: %s", title);
}

/* --- replays ------------------------------------------------------------ */

static void kick(struct daemon_quarantine *q);

static int queue_push(struct daemon_quarantine *q, int64_t item)
{
    for (size_t i = 0; i < q->n_queue; i++)
        if (q->queue[i] == item)
            return 0;
    if (q->replaying && q->replay_item == item)
        return 0;
    if (q->n_queue == q->cap_queue) {
        size_t cap = q->cap_queue ? q->cap_queue * 2 : 64;
        int64_t *v = realloc(q->queue, cap * sizeof(*v));
        if (!v)
            return FASTN_ERR_NOMEM;
        q->queue = v, q->cap_queue = cap;
    }
    q->queue[q->n_queue++] = item;
    return 0;
}

/* Queues every finished item (of protocol and peer, either NULL: any)
 * whose protocol a plugin serves now; returns how many. */
static size_t queue_served(struct daemon_quarantine *q, const char *protocol,
                           const char *peer)
{
    struct plugin_host *h = q->d->host.plugins;
    struct store_quarantine_item *v = NULL;
    struct plugin_serving sv;
    size_t n = 0, queued = 0;

    if (!h || store_quarantine_find(q->d->store, protocol, peer, &v, &n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].finished && plugin_host_serving(h, v[i].protocol, &sv) == 0 &&
            queue_push(q, v[i].id) == 0)
            queued++;
    store_quarantine_items_free(v, n);
    if (queued)
        kick(q);
    return queued;
}

/* The peer and protocol of item id. Errors: FASTN_ERR_NOT_FOUND. */
static int item_text(struct daemon_quarantine *q, int64_t id, char *peer,
                     size_t pn, char *protocol, size_t rn)
{
    struct store_quarantine_item *v = NULL;
    size_t n = 0;
    int err = store_quarantine_list(q->d->store, NULL, &v, &n);

    for (size_t i = 0; !err && i < n; i++)
        if (v[i].id == id) {
            snprintf(peer, pn, "%s", v[i].peer);
            snprintf(protocol, rn, "%s", v[i].protocol);
            store_quarantine_items_free(v, n);
            return 0;
        }
    store_quarantine_items_free(v, n);
    return err ? err : FASTN_ERR_NOT_FOUND;
}

/* Hands the next queued item over. */
static void replay_next(struct daemon_quarantine *q)
{
    while (!q->replaying && q->n_queue && !q->stopping) {
        char peer[STORE_PEER_MAX + 1], protocol[STORE_PROTOCOL_MAX + 1];
        int64_t id = q->queue[0], before = 0;
        int err;

        memmove(q->queue, q->queue + 1, --q->n_queue * sizeof(*q->queue));
        if (item_text(q, id, peer, sizeof(peer), protocol, sizeof(protocol)))
            continue; /* deleted meanwhile */
        err = store_quarantine_attempt(q->d->store, id, &before);
        if (!err)
            err = daemon_plugins_replay(q->d, id, peer, protocol,
                                        before > 0 ? PLUGIN_STREAM_REPEAT : 0);
        if (err) {
            log_msg(LOG_WARN, "quarantine",
                    "cannot hand %s's kept stream for %s (item %lld) to "
                    "its plugin: %s; it stays kept",
                    peer, protocol, (long long)id, fastn_strerror(err));
            continue;
        }
        q->replaying = true;
        q->replay_item = id;
    }
}

static void on_kick(uv_timer_t *t)
{
    replay_next(t->data);
}

static void kick(struct daemon_quarantine *q)
{
    if (!q->stopping)
        uv_timer_start(&q->kick, on_kick, 0, 0);
}

/* From the plugin host's run: the item's on_close returned (delivered),
 * or it ended otherwise. */
static void on_replayed(void *arg, int64_t item, bool delivered)
{
    struct daemon_quarantine *q = arg;
    int err = 0;

    if (delivered)
        err = store_quarantine_delete(q->d->store, item);
    if (!delivered || err)
        log_msg(LOG_WARN, "quarantine",
                "item %lld %s; it stays kept and is handed over again at "
                "the next approve, allow or start",
                (long long)item,
                delivered ? "was delivered but cannot be deleted"
                          : "was not taken by its plugin");
    if (q->replaying && q->replay_item == item)
        q->replaying = false;
    kick(q);
}

/* --- offers ------------------------------------------------------------- */

static struct offer *offer_find(struct daemon_quarantine *q,
                                const char *protocol)
{
    for (struct offer *o = q->offers; o; o = o->next)
        if (!strcmp(o->protocol, protocol))
            return o;
    return NULL;
}

static void offer_free(struct daemon_quarantine *q, struct offer *o)
{
    for (struct offer **pp = &q->offers; *pp; pp = &(*pp)->next)
        if (*pp == o) {
            *pp = o->next;
            q->n_offers--;
            break;
        }
    if (o->job && o->state == OFFER_FOUND)
        registry_job_free(o->job); /* removes the download */
    else if (o->job)               /* running: it stops; its done frees it */
        q->d->registry->ipc.cancel(q->d->registry->ipc.arg, o->job);
    free(o);
}

/* Streams and bytes kept for protocol. */
static void kept_totals(struct daemon_quarantine *q, const char *protocol,
                        size_t *streams, uint64_t *bytes, char *peers,
                        size_t cap)
{
    struct store_quarantine_item *v = NULL;
    size_t n = 0, len = 0;

    *streams = 0, *bytes = 0;
    if (peers && cap)
        peers[0] = '\0';
    if (store_quarantine_find(q->d->store, protocol, NULL, &v, &n))
        return;
    *streams = n;
    for (size_t i = 0; i < n; i++) {
        *bytes += v[i].size;
        if (peers && !strstr(peers, v[i].peer) && len + 64 < cap)
            len += (size_t)snprintf(peers + len, cap - len, "%s%s",
                                    len ? ", " : "", v[i].peer);
    }
    store_quarantine_items_free(v, n);
}

static void caps_text(unsigned caps, char *out, size_t cap)
{
    registry_caps_text(caps, out, cap);
}

static void apps_text(const struct plugin_manifest *m, char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < m->n_apps && len + 4 < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? ", " : "",
                                m->apps[i]);
    if (!m->n_apps)
        snprintf(out, cap, "none listed");
}

static void notify_offer(struct daemon_quarantine *q, struct offer *o)
{
    char peers[600], caps[160], apps[400], title[STORE_TITLE_MAX];
    const struct registry_verified *ver;
    size_t streams;
    uint64_t bytes;

    kept_totals(q, o->protocol, &streams, &bytes, peers, sizeof(peers));
    snprintf(title, sizeof(title), "Data waits for %.200s", o->protocol);
    if (o->state == OFFER_NONE) {
        notify(q, title,
               "%s sent %zu stream(s), %llu bytes for %s, which no "
               "installed plugin handles. No plugin found for it: %s.\n"
               "It is kept. Install a plugin for it, then: fastn plugin "
               "approve %s; or delete it: fastn plugin reject %s",
               peers, streams, (unsigned long long)bytes, o->protocol, o->why,
               o->protocol, o->protocol);
        return;
    }
    ver = &o->job->fetches[0].ver;
    caps_text(o->m.caps, caps, sizeof(caps));
    apps_text(&o->m, apps, sizeof(apps));
    notify(q, title,
           "%s sent %zu stream(s), %llu bytes for %s, which no installed "
           "plugin handles. It is kept.\n"
           "Plugin %s %s (from %s, signed by %s, key %s) handles it; it "
           "asks for: %s. Apps: %s.\n"
           "Install it and hand it the data: fastn plugin approve %s "
           "(--grant CAP for what auto-grant lacks); delete the data: "
           "fastn plugin reject %s",
           peers, streams, (unsigned long long)bytes, o->protocol, o->m.name,
           o->m.version, o->source, ver->signer.name, ver->key_id, caps, apps,
           o->protocol, o->protocol);
}

/* Installs a FOUND offer's download; then its data is replayed. */
static int offer_install(struct daemon_quarantine *q, struct offer *o,
                         char *msg, size_t msglen)
{
    struct registry_job_fetch *f = &o->job->fetches[0];
    int err = daemon_registry_install(q->d->registry, o->job, f);

    if (err) {
        snprintf(msg, msglen, "%s", f->msg);
        return err;
    }
    return 0;
}

static void offer_found(struct daemon_quarantine *q, struct offer *o)
{
    struct registry_job_fetch *f = &o->job->fetches[0];
    char caps[160], peers[600], msg[512] = "";
    size_t streams;
    uint64_t bytes;
    bool trusted = q->d->config.unknown_protocols == CONFIG_UNKNOWN_TRUSTED;

    if (!trusted || (o->m.caps & ~q->auto_grant)) {
        notify_offer(q, o);
        return;
    }
    kept_totals(q, o->protocol, &streams, &bytes, peers, sizeof(peers));
    if (offer_install(q, o, msg, sizeof(msg))) {
        log_msg(LOG_WARN, "quarantine", "cannot install %s for %s: %s",
                o->m.name, o->protocol, msg);
        notify_offer(q, o);
        return;
    }
    caps_text(o->m.caps, caps, sizeof(caps));
    notify(q, "Plugin installed for waiting data",
           "Installed %s %s from %s, signed by %s (key %s), with %s: it "
           "handles %s, for which %s sent %zu stream(s), %llu bytes; they "
           "are handed to it now. Remove it: fastn plugin remove %s",
           o->m.name, o->m.version, o->source, f->ver.signer.name,
           f->ver.key_id, caps, o->protocol, peers, streams,
           (unsigned long long)bytes, o->m.name);
    offer_free(q, o);
    queue_served(q, NULL, NULL);
}

static int offer_start_job(struct daemon_quarantine *q, struct offer *o,
                           enum registry_job_kind kind);

/* A lookup's job is over (on the loop); the job is ours now. */
static void on_job_done(struct registry_job *job, void *arg)
{
    struct daemon_quarantine *q = arg;
    struct offer *o = NULL;
    char why[256];

    for (struct offer *x = q->offers; x; x = x->next)
        if (x->job == job)
            o = x;
    if (!o || q->stopping) {
        registry_job_free(job);
        return;
    }
    if (!job->err && job->n_fetches && job->fetches[0].fetched) {
        struct registry_job_fetch *f = &job->fetches[0];
        uint8_t *wasm = NULL;
        size_t len = 0;
        char pid[PEER_ID_STR_MAX];
        int err = file_read_all(f->dl.path, q->d->registry->opts.max_bytes,
                                &wasm, &len);
        if (!err)
            err = plugin_manifest_from_wasm(wasm, len, &o->m, why, sizeof(why));
        free(wasm);
        if (!err) {
            o->state = OFFER_FOUND;
            if (job->kind == REGISTRY_JOB_PEER)
                snprintf(o->source, sizeof(o->source), "peer %s",
                         peer_id_format(&job->peer, pid));
            else
                snprintf(o->source, sizeof(o->source), "registry %s",
                         job->res[f->source].src.name);
            offer_found(q, o);
            return;
        }
        snprintf(job->msg, sizeof(job->msg), "its manifest: %s", why);
        job->err = err;
    }
    /* not found here: the registries' answer, then the peer's */
    {
        size_t len = strlen(o->why);
        snprintf(o->why + len, sizeof(o->why) - len, "%s%s: %s",
                 len ? "; " : "",
                 job->kind == REGISTRY_JOB_PEER ? "the peer" : "the registries",
                 job->msg[0] ? job->msg : fastn_strerror(job->err));
    }
    registry_job_free(job);
    o->job = NULL;
    if (o->state == OFFER_LOOKING_REGISTRY &&
        offer_start_job(q, o, REGISTRY_JOB_PEER) == 0)
        return;
    o->state = OFFER_NONE;
    log_msg(LOG_INFO, "quarantine", "no plugin found for %s: %s", o->protocol,
            o->why);
    notify_offer(q, o);
}

static int offer_start_job(struct daemon_quarantine *q, struct offer *o,
                           enum registry_job_kind kind)
{
    struct daemon_registry *dr = q->d->registry;
    struct registry_job *job = registry_job_new(kind);
    char msg[256] = "";
    int err;

    size_t plen = strlen(o->protocol);

    if (plen >= sizeof(job->protocol)) { /* no plugin can serve it */
        registry_job_free(job);
        snprintf(o->why, sizeof(o->why),
                 "its protocol id is longer than a plugin's may be");
        return FASTN_ERR_TOO_LARGE;
    }
    if (!job)
        return FASTN_ERR_NOMEM;
    job->fetch_only = true;
    memcpy(job->protocol, o->protocol, plen + 1);
    if (kind == REGISTRY_JOB_PEER)
        err = peer_id_parse(o->peer, &job->peer);
    else
        err =
            registry_sources_load(&job->sources, dr->sources,
                                  dr->default_url[0] ? dr->default_url : NULL);
    if (!err && kind == REGISTRY_JOB_GET && job->sources.n == 0)
        err = FASTN_ERR_NOT_FOUND; /* no registry: straight to the peer */
    o->job = job;
    o->state =
        kind == REGISTRY_JOB_PEER ? OFFER_LOOKING_PEER : OFFER_LOOKING_REGISTRY;
    if (!err)
        err = dr->ipc.start(dr->ipc.arg, job, on_job_done, q, msg, sizeof(msg));
    if (err) {
        size_t len = strlen(o->why);
        snprintf(o->why + len, sizeof(o->why) - len, "%s%s: %s",
                 len ? "; " : "",
                 kind == REGISTRY_JOB_PEER ? "the peer" : "the registries",
                 msg[0]                       ? msg
                 : err == FASTN_ERR_NOT_FOUND ? "none is listed"
                                              : fastn_strerror(err));
        registry_job_free(job);
        o->job = NULL;
    }
    return err;
}

/* Data for protocol arrived from peer and no plugin handles it: look for
 * one, once per protocol. */
static void offer_look(struct daemon_quarantine *q, const char *protocol,
                       const char *peer)
{
    struct offer *o = offer_find(q, protocol);

    if (o || !q->d->registry || q->n_offers >= OFFERS_MAX)
        return;
    if (!(o = calloc(1, sizeof(*o))))
        return;
    snprintf(o->protocol, sizeof(o->protocol), "%s", protocol);
    snprintf(o->peer, sizeof(o->peer), "%s", peer);
    o->next = q->offers;
    q->offers = o;
    q->n_offers++;
    if (offer_start_job(q, o, REGISTRY_JOB_GET) &&
        offer_start_job(q, o, REGISTRY_JOB_PEER)) {
        o->state = OFFER_NONE;
        notify_offer(q, o);
    }
}

/* A stranger's data for plugin: the user is told once per peer and
 * plugin while this daemon runs. */
static void notify_stranger(struct daemon_quarantine *q, const char *peer,
                            const char *plugin, const char *protocol)
{
    char title[STORE_TITLE_MAX], origin[256];

    snprintf(origin, sizeof(origin), "stranger %s %s", peer, plugin);
    snprintf(title, sizeof(title), "%.60s wants to use %.64s", peer, plugin);
    if (store_notify_add_once(
            q->d->store, wall_ms(), SOURCE, title,
            "A peer that is not known sent data for a plugin that serves "
            "known peers only; it is kept. Let it in (what waits is "
            "delivered): fastn peer allow PEER; refuse it from now on and "
            "delete what it sent: fastn peer block PEER",
            origin, NULL) < 0)
        log_msg(LOG_WARN, "quarantine", "cannot notify about %s (%s)", peer,
                protocol);
}

/* --- keeping streams ---------------------------------------------------- */

/* The kept stream has ended: a plugin that serves its protocol now (one
 * installed or approved while it was still coming, or a stranger's the
 * user allowed meanwhile) gets it. */
static void kept_done(struct kept *k)
{
    struct daemon_quarantine *q = k->q;
    struct plugin_serving sv;
    const char *protocol = swarm_stream_protocol(k->s);
    struct store_blob b = {swarm_stream_peer(k->s)->bytes,
                           swarm_stream_peer(k->s)->len};

    if (!q->d->host.plugins ||
        plugin_host_serving(q->d->host.plugins, protocol, &sv) != 0)
        return;
    if (k->stranger && !store_peer_is_allowed(q->d->store, &b))
        return;
    if (queue_push(q, k->item) == 0)
        kick(q);
}

static void kept_free(struct kept *k)
{
    buf_cleanup(&k->pend);
    *k->pprev = k->next;
    if (k->next)
        k->next->pprev = k->pprev;
    free(k);
}

/* Stores n bytes of k's as one commit and acknowledges them to the
 * sender; false when the stream was cut (a limit, the disk): k is gone
 * then. */
static bool kept_append(struct kept *k, const uint8_t *p, size_t n)
{
    struct store *st = k->q->d->store;
    int err;

    if (n == 0)
        return true;
    err = store_quarantine_append(st, k->item, p, n);
    if (err) {
        LOG_RATELIMITED(LOG_INFO, "quarantine",
                        "a kept stream for %s was cut: %s",
                        swarm_stream_protocol(k->s), fastn_strerror(err));
        store_quarantine_finish(st, k->item, false);
        swarm_stream_reset(k->s);
        kept_free(k);
        return false;
    }
    swarm_stream_consumed(k->s, n);
    return true;
}

/* Stores what k holds (see kept_append). */
static bool kept_store(struct kept *k)
{
    if (!kept_append(k, k->pend.data, k->pend.len))
        return false;
    buf_reset(&k->pend);
    return true;
}

static void on_flush(uv_timer_t *t)
{
    struct daemon_quarantine *q = t->data;
    struct kept *k, *next;

    q->flush_on = false;
    for (k = q->kept; k; k = next) {
        next = k->next;
        kept_store(k);
    }
}

static void kept_cb(struct swarm_stream *s, const struct swarm_stream_event *ev,
                    void *arg)
{
    struct kept *k = arg;
    struct daemon_quarantine *q = k->q;
    struct store *st = q->d->store;

    switch (ev->type) {
    case SWARM_STREAM_DATA:
        if (k->pend.len + ev->len > KEEP_BATCH && !kept_store(k))
            return;
        if (ev->len >= KEEP_BATCH) { /* a batch of its own */
            if (!kept_append(k, ev->data, ev->len))
                return;
            break;
        }
        if (buf_append(&k->pend, ev->data, ev->len) != 0) {
            swarm_stream_reset(s);
            store_quarantine_finish(st, k->item, false);
            kept_free(k);
            return;
        }
        if (!q->flush_on) {
            q->flush_on = true;
            uv_timer_start(&q->flush, on_flush, KEEP_FLUSH_MS, 0);
        }
        break;
    case SWARM_STREAM_FIN:
        if (!kept_store(k))
            return;
        store_quarantine_finish(st, k->item, true);
        break;
    case SWARM_STREAM_CLOSED: /* what came before an error is kept too */
        if (!kept_store(k))
            return;
        store_quarantine_finish(st, k->item, ev->err == 0);
        kept_done(k);
        kept_free(k);
        return;
    default:
        return;
    }
    /* once its first bytes (or its end) are here, our side is finished:
     * the sender sees its stream taken and not answered (closing before
     * would end a request-reply sender's exchange before it wrote) */
    if (!k->closed) {
        k->closed = true;
        swarm_stream_close(s);
    }
}

static int on_keep(void *arg, struct swarm_stream *s,
                   const struct router_verdict *why)
{
    struct daemon_quarantine *q = arg;
    char peer[PEER_ID_STR_MAX];
    struct kept *k;
    int err;

    if (q->stopping || !q->d->store)
        return FASTN_ERR_BUSY;
    peer_id_format(why->peer, peer);
    if (!(k = calloc(1, sizeof(*k))))
        return FASTN_ERR_NOMEM;
    err = store_quarantine_begin(q->d->store, wall_ms(), peer, why->protocol,
                                 &k->item);
    if (err) {
        LOG_RATELIMITED(LOG_INFO, "quarantine",
                        "a stream from %s for %s not kept: %s", peer,
                        why->protocol, fastn_strerror(err));
        free(k);
        return err;
    }
    k->q = q;
    k->s = s;
    buf_init(&k->pend, KEEP_BATCH);
    k->stranger = why->why == ROUTER_WHY_STRANGER;
    k->next = q->kept;
    k->pprev = &q->kept;
    if (q->kept)
        q->kept->pprev = &k->next;
    q->kept = k;
    swarm_stream_set_cb(s, kept_cb, k);
    swarm_stream_set_timeout(s, KEEP_TIMEOUT_MS);
    if (why->why == ROUTER_WHY_STRANGER)
        notify_stranger(q, peer, why->plugin ? why->plugin : "?",
                        why->protocol);
    else
        offer_look(q, why->protocol, peer);
    return 0;
}

/* Only what a plugin could serve is kept: not the daemon's own
 * protocols (libp2p's, /fastn/plugin/), nor an id too long for a
 * manifest. */
static bool on_wants(void *arg, const char *protocol)
{
    (void)arg;
    return strlen(protocol) <= PLUGIN_PROTOCOL_MAX &&
           !plugin_protocol_is_reserved(protocol) &&
           strncmp(protocol, "/fastn/plugin/", 14) != 0;
}

static const struct router_quarantine_ops keep_ops = {.keep = on_keep,
                                                      .wants = on_wants};

/* --- what the control requests do (daemon/quarantine.h) ----------------- */

void daemon_quarantine_offer(struct daemon *d, const char *protocol,
                             struct ipc_pending_offer *out)
{
    struct daemon_quarantine *q = d->quarantine;
    struct plugin_serving sv;
    struct offer *o = q ? offer_find(q, protocol) : NULL;

    memset(out, 0, sizeof(*out));
    if (d->host.plugins &&
        plugin_host_serving(d->host.plugins, protocol, &sv) == 0) {
        out->state = "stranger";
        snprintf(out->plugin, sizeof(out->plugin), "%s", sv.name);
        return;
    }
    if (!o) {
        out->state = "none";
        snprintf(out->why, sizeof(out->why),
                 "not looked for yet (it is looked for again at start)");
        return;
    }
    switch (o->state) {
    case OFFER_FOUND: {
        const struct registry_verified *ver = &o->job->fetches[0].ver;
        out->state = "offered";
        snprintf(out->plugin, sizeof(out->plugin), "%s", o->m.name);
        snprintf(out->version, sizeof(out->version), "%s", o->m.version);
        snprintf(out->source, sizeof(out->source), "%s", o->source);
        snprintf(out->signer, sizeof(out->signer), "%s (key %s)",
                 ver->signer.name, ver->key_id);
        out->caps = o->m.caps;
        out->m = &o->m;
        return;
    }
    case OFFER_NONE:
        out->state = "none";
        snprintf(out->why, sizeof(out->why), "%s", o->why);
        return;
    default:
        out->state = "looking";
        return;
    }
}

/* The protocol of request (id, or protocol itself). */
static int which_protocol(struct daemon_quarantine *q, int64_t id,
                          const char *protocol, char *out, size_t n, char *msg,
                          size_t msglen)
{
    char peer[STORE_PEER_MAX + 1];

    if (protocol && protocol[0]) {
        snprintf(out, n, "%s", protocol);
        return 0;
    }
    if (item_text(q, id, peer, sizeof(peer), out, n) == 0)
        return 0;
    snprintf(msg, msglen,
             "nothing kept has id %lld; fastn plugin pending lists what is",
             (long long)id);
    return FASTN_ERR_NOT_FOUND;
}

int daemon_quarantine_approve(struct daemon *d, int64_t id,
                              const char *protocol, unsigned grant, char *msg,
                              size_t msglen)
{
    struct daemon_quarantine *q = d->quarantine;
    char proto[STORE_PROTOCOL_MAX + 1], caps[160];
    struct plugin_serving sv;
    struct offer *o;
    unsigned lacking;
    int err;

    if (!q)
        return FASTN_ERR_UNSUPPORTED;
    if ((err = which_protocol(q, id, protocol, proto, sizeof(proto), msg,
                              msglen)))
        return err;
    if (d->host.plugins &&
        plugin_host_serving(d->host.plugins, proto, &sv) == 0) {
        /* served already (a stranger's data, or installed by hand) */
        size_t n = queue_served(q, proto, NULL);
        snprintf(msg, msglen, "%zu kept stream(s) for %s handed to %s", n,
                 proto, sv.name);
        return 0;
    }
    o = offer_find(q, proto);
    if (!o || o->state == OFFER_NONE) {
        snprintf(msg, msglen,
                 "no plugin was found for %s%s%s; install one (fastn plugin "
                 "install FILE|NAME), then approve again",
                 proto, o ? ": " : "", o ? o->why : "");
        return FASTN_ERR_NOT_FOUND;
    }
    if (o->state != OFFER_FOUND) {
        snprintf(msg, msglen,
                 "the plugin for %s is still being looked for; try again "
                 "in a moment",
                 proto);
        return FASTN_ERR_BUSY;
    }
    if ((lacking = o->m.caps & ~(q->auto_grant | grant))) {
        caps_text(lacking, caps, sizeof(caps));
        snprintf(msg, msglen,
                 "%s %s asks for %s, which auto-grant does not give; nothing "
                 "was installed. To accept: fastn plugin approve %s "
                 "--grant CAP for each",
                 o->m.name, o->m.version, caps, proto);
        return FASTN_ERR_NEEDS_CONSENT;
    }
    if ((err = offer_install(q, o, msg, msglen)))
        return err;
    snprintf(msg, msglen, "installed %s %s from %s", o->m.name, o->m.version,
             o->source);
    offer_free(q, o);
    {
        size_t len = strlen(msg);
        snprintf(msg + len, msglen - len,
                 "; %zu kept stream(s) for %s handed to it",
                 queue_served(q, proto, NULL), proto);
    }
    return 0;
}

/* Deletes the kept items of protocol (or the one id); blocks their peers
 * when asked. */
int daemon_quarantine_reject(struct daemon *d, int64_t id, const char *protocol,
                             bool block, char *msg, size_t msglen)
{
    struct daemon_quarantine *q = d->quarantine;
    struct store_quarantine_item *v = NULL;
    char proto[STORE_PROTOCOL_MAX + 1];
    size_t n = 0, deleted = 0, blocked = 0;
    struct offer *o;
    int err;

    if (!q)
        return FASTN_ERR_UNSUPPORTED;
    if ((err = which_protocol(q, id, protocol, proto, sizeof(proto), msg,
                              msglen)) ||
        (err = store_quarantine_find(d->store, proto, NULL, &v, &n)))
        return err;
    for (size_t i = 0; i < n; i++) {
        struct peer_id pid;
        if (!(protocol && protocol[0]) && v[i].id != id)
            continue;
        if (q->replaying && q->replay_item == v[i].id)
            continue; /* being handed over now */
        if (store_quarantine_delete(d->store, v[i].id) == 0)
            deleted++;
        if (block && peer_id_parse(v[i].peer, &pid) == 0 &&
            router_block_add(d->router, &pid) == 0)
            blocked++;
    }
    store_quarantine_items_free(v, n);
    if ((protocol && protocol[0]) && (o = offer_find(q, proto)))
        offer_free(q, o);
    snprintf(msg, msglen, "%zu kept stream(s) for %s deleted%s", deleted, proto,
             blocked ? "; their peers blocked" : "");
    return deleted || blocked ? 0 : FASTN_ERR_NOT_FOUND;
}

int daemon_quarantine_peer_allow(struct daemon *d, const struct peer_id *p,
                                 char *msg, size_t msglen)
{
    struct daemon_quarantine *q = d->quarantine;
    struct store_blob b = {p->bytes, p->len};
    char text[PEER_ID_STR_MAX];
    int err;

    if (!d->store)
        return FASTN_ERR_UNSUPPORTED;
    peer_id_format(p, text);
    if (router_is_blocked(d->router, p)) {
        snprintf(msg, msglen,
                 "%s is blocked; unblock it first (remove its line from "
                 "HOME/blocked-peers and send SIGHUP), then allow it",
                 text);
        return FASTN_ERR_PERM;
    }
    if ((err = store_peer_allow(d->store, &b, wall_ms())) < 0)
        return err;
    snprintf(msg, msglen,
             "%s is known%s; %zu kept stream(s) it sent handed "
             "to their plugins",
             text, err == 1 ? " already" : " now",
             q ? queue_served(q, NULL, text) : (size_t)0);
    return 0;
}

int daemon_quarantine_peer_block(struct daemon *d, const struct peer_id *p,
                                 char *msg, size_t msglen)
{
    struct daemon_quarantine *q = d->quarantine;
    struct store_blob b = {p->bytes, p->len};
    struct store_quarantine_item *v = NULL;
    char text[PEER_ID_STR_MAX];
    size_t n = 0, deleted = 0;
    int err = router_block_add(d->router, p);

    peer_id_format(p, text);
    if (err && err != FASTN_ERR_EXISTS) {
        snprintf(msg, msglen, "cannot block %s: %s", text, fastn_strerror(err));
        return err;
    }
    store_peer_disallow(d->store, &b);
    if (store_quarantine_find(d->store, NULL, text, &v, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (!(q && q->replaying && q->replay_item == v[i].id) &&
                store_quarantine_delete(d->store, v[i].id) == 0)
                deleted++;
    store_quarantine_items_free(v, n);
    snprintf(msg, msglen,
             "%s is blocked%s; %zu kept stream(s) it sent "
             "deleted",
             text, err ? " already" : "", deleted);
    return 0;
}

static void op_offer(void *arg, const char *protocol,
                     struct ipc_pending_offer *out)
{
    daemon_quarantine_offer(arg, protocol, out);
}

static int op_approve(void *arg, int64_t id, const char *protocol,
                      unsigned grant, char *msg, size_t msglen)
{
    return daemon_quarantine_approve(arg, id, protocol, grant, msg, msglen);
}

static int op_reject(void *arg, int64_t id, const char *protocol, bool block,
                     char *msg, size_t msglen)
{
    return daemon_quarantine_reject(arg, id, protocol, block, msg, msglen);
}

static int op_allow(void *arg, const struct peer_id *p, char *msg,
                    size_t msglen)
{
    return daemon_quarantine_peer_allow(arg, p, msg, msglen);
}

static int op_block(void *arg, const struct peer_id *p, char *msg,
                    size_t msglen)
{
    return daemon_quarantine_peer_block(arg, p, msg, msglen);
}

static size_t op_blocked(void *arg, struct peer_id *out, size_t max)
{
    struct daemon *d = arg;
    return d->router ? router_blocked(d->router, out, max) : 0;
}

static struct ipc_pending pending_ops = {
    .offer = op_offer,
    .approve = op_approve,
    .reject = op_reject,
    .peer_allow = op_allow,
    .peer_block = op_block,
    .blocked = op_blocked,
};

/* --- start and stop ----------------------------------------------------- */

static void auto_grant_apply(struct daemon_quarantine *q)
{
    const struct daemon_config *c = &q->d->config;

    q->auto_grant = PLUGIN_CAP_STORAGE | PLUGIN_CAP_NOTIFY | PLUGIN_CAP_TIMERS;
    if (!c->has_auto_grant)
        return;
    q->auto_grant = 0;
    for (size_t i = 0; i < c->n_auto_grant; i++) {
        unsigned bit = plugin_cap_from_name(c->auto_grant[i]);
        if (!bit)
            log_msg(LOG_WARN, "quarantine",
                    "auto-grant: unknown capability %s skipped",
                    c->auto_grant[i]);
        q->auto_grant |= bit;
    }
}

static void expire_now(struct daemon_quarantine *q)
{
    unsigned days =
        q->d->config.quarantine_days ? q->d->config.quarantine_days : 30;
    int n = store_quarantine_expire(q->d->store,
                                    wall_ms() - (int64_t)days * 86400000);
    if (n > 0)
        log_msg(LOG_INFO, "quarantine",
                "%d kept stream(s) older than %u days deleted", n, days);
}

static void on_expire(uv_timer_t *t)
{
    expire_now(t->data);
}

/* At start: what was kept before is looked at again, and handed over
 * where a plugin serves it. */
static void resume(struct daemon_quarantine *q)
{
    struct store_quarantine_item *v = NULL;
    size_t n = 0;
    struct plugin_serving sv;

    if (store_quarantine_list(q->d->store, NULL, &v, &n))
        return;
    for (size_t i = 0; i < n; i++)
        if (!q->d->host.plugins ||
            plugin_host_serving(q->d->host.plugins, v[i].protocol, &sv) != 0)
            offer_look(q, v[i].protocol, v[i].peer);
    store_quarantine_items_free(v, n);
    if (n)
        log_msg(LOG_INFO, "quarantine", "%zu kept stream(s) wait", n);
}

void daemon_quarantine_reload(struct daemon *d)
{
    struct daemon_quarantine *q = d->quarantine;
    enum router_unknown u = ROUTER_UNKNOWN_ASK;

    if (!q || !d->router)
        return;
    auto_grant_apply(q);
    if (d->config.unknown_protocols == CONFIG_UNKNOWN_REFUSE)
        u = ROUTER_UNKNOWN_REFUSE;
    else if (d->config.unknown_protocols == CONFIG_UNKNOWN_TRUSTED)
        u = ROUTER_UNKNOWN_TRUSTED;
    router_set_unknown_policy(d->router, u);
}

int daemon_quarantine_start(struct daemon *d, char *err, size_t errlen)
{
    struct daemon_quarantine *q;

    (void)err, (void)errlen;
    if (!d->router || !d->store)
        return 0; /* no network: nothing arrives */
    if (!(q = calloc(1, sizeof(*q))))
        return FASTN_ERR_NOMEM;
    q->d = d;
    d->quarantine = q;
    uv_timer_init(&d->loop, &q->kick);
    uv_timer_init(&d->loop, &q->expire);
    uv_timer_init(&d->loop, &q->flush);
    q->kick.data = q->expire.data = q->flush.data = q;
    daemon_plugins_set_replay(d, on_replayed, q);
    daemon_quarantine_reload(d);
    router_set_quarantine(d->router, &keep_ops, q);
    pending_ops.arg = d;
    d->host.pending = &pending_ops;
    expire_now(q);
    uv_timer_start(&q->expire, on_expire, EXPIRE_EVERY_MS, EXPIRE_EVERY_MS);
    resume(q);
    queue_served(q, NULL, NULL);
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    struct daemon_quarantine *q = h->data;
    if (--q->closing == 0)
        free(q);
}

void daemon_quarantine_stop(struct daemon *d)
{
    struct daemon_quarantine *q = d->quarantine;

    if (!q)
        return;
    q->stopping = true;
    d->quarantine = NULL;
    d->host.pending = NULL;
    if (d->router)
        router_set_quarantine(d->router, NULL, NULL);
    daemon_plugins_set_replay(d, NULL, NULL);
    while (q->kept) {
        if (!kept_store(q->kept))
            continue; /* cut (and freed) */
        store_quarantine_finish(d->store, q->kept->item, false);
        swarm_stream_reset(q->kept->s); /* what it kept stays */
        kept_free(q->kept);
    }
    while (q->offers)
        offer_free(q, q->offers);
    free(q->queue);
    q->closing = 3;
    uv_close((uv_handle_t *)&q->flush, on_closed);
    uv_close((uv_handle_t *)&q->kick, on_closed);
    uv_close((uv_handle_t *)&q->expire, on_closed);
}
