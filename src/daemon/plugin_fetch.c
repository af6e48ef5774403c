/*
 * Asking a peer for a plugin over /fastn/plugin/1.0.0 (docs/REGISTRY.md):
 * `fastn plugin install --from PEER PROTOCOL|NAME`.
 *
 * On the loop: the stream is opened (dialing the peer if needed), the
 * request written, and the answer read through the plugin_xfer reader;
 * the offer's signature must be by a trusted key before any byte of the
 * plugin is taken (registry_download_open), then the bytes stream into a
 * verified temporary file in HOME/plugins (size, sha256 and signature
 * checked at the end, the file removed on any failure). What arrives
 * after is installed by registry.c like a registry's plugin. The whole
 * exchange is bounded by fetch-timeout, the plugin by max-plugin-size.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/registry_int.h"
#include "fastn/err.h"
#include "net/swarm.h"
#include "registry/plugin_xfer.h"
#include "util/log.h"

struct peer_fetch {
    struct daemon_registry *dr;
    struct registry_job *job;
    struct swarm_stream *s;
    void (*done)(struct registry_job *job, void *arg);
    void *arg;
    struct buf req;
    size_t req_off;
    struct plugin_xfer_reader rd;
    struct registry_job_fetch *f; /* once the offer came */
    bool opened;
};

static void pf_free(struct peer_fetch *pf)
{
    buf_cleanup(&pf->req);
    plugin_xfer_reader_cleanup(&pf->rd);
    free(pf);
}

/* The exchange is over: the job carries the result. */
static void pf_finish(struct peer_fetch *pf)
{
    struct registry_job *job = pf->job;

    if (pf->s)
        swarm_stream_reset(pf->s);
    pf->s = NULL;
    job->data2 = NULL;
    pf->done(job, pf->arg);
    pf_free(pf);
}

/* It failed: nothing fetched is kept. */
static void pf_fail(struct peer_fetch *pf, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void pf_fail(struct peer_fetch *pf, int err, const char *fmt, ...)
{
    struct registry_job *job = pf->job;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(job->msg, sizeof(job->msg), fmt, ap);
    va_end(ap);
    job->err = err;
    if (pf->f && pf->f->dl.fd >= 0)
        registry_download_abort(&pf->f->dl);
    if (pf->f)
        pf->f->fetched = false;
    log_msg(LOG_INFO, "registry", "%s", job->msg);
    pf_finish(pf);
}

static void push(struct peer_fetch *pf)
{
    while (pf->req_off < pf->req.len) {
        int k = swarm_stream_write(pf->s, pf->req.data + pf->req_off,
                                   pf->req.len - pf->req_off);
        if (k <= 0)
            return;
        pf->req_off += (size_t)k;
    }
}

static const char *peer_text(struct peer_fetch *pf, char buf[PEER_ID_STR_MAX])
{
    return peer_id_format(&pf->job->peer, buf);
}

/* The plugin the peer offers is refused: its signature, key or hash. */
static void refused(struct peer_fetch *pf, int rc, const char *why)
{
    const struct registry_entry *e = pf->f->entry;
    char pid[PEER_ID_STR_MAX], what[PEER_ID_STR_MAX + 96];
    char msg[sizeof(pf->job->msg)];

    snprintf(what, sizeof(what), "%s %s from peer %s", e->name, e->version,
             peer_text(pf, pid));
    registry_refusal(msg, sizeof(msg), rc, what, &pf->job->keys, e->signer,
                     why);
    pf_fail(pf, rc, "%s", msg);
}

/* The offer came: is it what was asked, by a key we trust? */
static int on_offer(struct peer_fetch *pf)
{
    const struct plugin_xfer_offer *o = &pf->rd.offer;
    struct registry_job *job = pf->job;
    char pid[PEER_ID_STR_MAX], why[400];
    int rc;

    if (job->name[0] && strcmp(o->name, job->name)) {
        pf_fail(pf, FASTN_ERR_XFER_MALFORMED,
                "peer %s offered %s when asked for %s; nothing was "
                "installed",
                peer_text(pf, pid), o->name, job->name);
        return -1;
    }
    if (!o->bytes_follow) {
        pf_fail(pf, FASTN_ERR_XFER_MALFORMED,
                "peer %s offered %s without its bytes", peer_text(pf, pid),
                o->name);
        return -1;
    }
    if ((rc = registry_job_add_peer_fetch(job, o, &pf->f))) {
        pf_fail(pf, rc, "out of memory");
        return -1;
    }
    rc = registry_download_open(&pf->f->dl, job->dir, &job->keys, o->minisig,
                                o->minisig_len, o->size, o->sha256,
                                job->opts.max_bytes, why, sizeof(why));
    if (rc) {
        refused(pf, rc, why);
        return -1;
    }
    return 0;
}

/* The whole plugin arrived: verified, or refused. */
static void on_complete(struct peer_fetch *pf)
{
    struct registry_job_fetch *f = pf->f;
    char why[400];
    int rc = registry_download_finish(&f->dl, &f->ver, why, sizeof(why));

    if (rc) {
        refused(pf, rc, why);
        return;
    }
    f->fetched = true;
    pf_finish(pf);
}

static void on_data(struct peer_fetch *pf, const uint8_t *p, size_t n)
{
    char pid[PEER_ID_STR_MAX];

    swarm_stream_consumed(pf->s, n);
    while (n) {
        const uint8_t *body = NULL;
        size_t used = 0, body_len = 0;
        int ev =
            plugin_xfer_reader_feed(&pf->rd, p, n, &used, &body, &body_len);
        if (ev < 0) {
            pf_fail(pf, ev, "peer %s: %s", peer_text(pf, pid),
                    fastn_strerror(ev));
            return;
        }
        p += used;
        n -= used;
        if (ev == PLUGIN_XFER_EV_OFFER && on_offer(pf) != 0)
            return;
        if (ev == PLUGIN_XFER_EV_BODY &&
            (ev = registry_download_write(&pf->f->dl, body, body_len))) {
            pf_fail(pf, ev, "peer %s: writing the plugin: %s",
                    peer_text(pf, pid), fastn_strerror(ev));
            return;
        }
        if (plugin_xfer_reader_done(&pf->rd)) {
            if (n) {
                pf_fail(pf, FASTN_ERR_XFER_MALFORMED,
                        "peer %s sent bytes after the plugin",
                        peer_text(pf, pid));
                return;
            }
            on_complete(pf);
            return;
        }
        if (ev == PLUGIN_XFER_NEED_MORE)
            return;
    }
}

/* How the stream ended before the answer did. */
static void on_closed(struct peer_fetch *pf, int err)
{
    char pid[PEER_ID_STR_MAX];

    pf->s = NULL; /* it is gone: no reset */
    if (!pf->opened && err == FASTN_ERR_NET_PROTO_NA)
        pf_fail(pf, FASTN_ERR_XFER_REFUSED,
                "peer %s does not serve plugins (its fastnd has "
                "serve-plugins = no, or it is not fastn)",
                peer_text(pf, pid));
    else if (!pf->opened)
        pf_fail(pf, err ? err : FASTN_ERR_NET_UNREACHABLE,
                "cannot reach peer %s for %s: %s", peer_text(pf, pid),
                PLUGIN_XFER_PROTOCOL,
                fastn_strerror(err ? err : FASTN_ERR_NET_UNREACHABLE));
    else
        pf_fail(pf, err ? err : FASTN_ERR_XFER_MALFORMED,
                "peer %s ended the transfer early: %s", peer_text(pf, pid),
                fastn_strerror(err ? err : FASTN_ERR_XFER_MALFORMED));
}

static void stream_cb(struct swarm_stream *s,
                      const struct swarm_stream_event *ev, void *arg)
{
    struct peer_fetch *pf = arg;

    (void)s;
    switch (ev->type) {
    case SWARM_STREAM_OPEN:
        pf->opened = true;
        push(pf);
        break;
    case SWARM_STREAM_WRITABLE:
        push(pf);
        break;
    case SWARM_STREAM_DATA:
        on_data(pf, ev->data, ev->len);
        break;
    case SWARM_STREAM_FIN:
        if (plugin_xfer_reader_end(&pf->rd) != 0)
            on_closed(pf, FASTN_ERR_XFER_MALFORMED);
        break;
    case SWARM_STREAM_CLOSED:
        on_closed(pf, ev->err);
        break;
    }
}

static int make_request(struct peer_fetch *pf)
{
    struct plugin_xfer_request r;
    const struct registry_job *job = pf->job;

    memset(&r, 0, sizeof(r));
    if (job->name[0]) {
        r.by_name = true;
        snprintf(r.name, sizeof(r.name), "%s", job->name);
    } else {
        snprintf(r.protocol, sizeof(r.protocol), "%s", job->protocol);
    }
    r.max_size = job->opts.max_bytes;
    buf_init(&pf->req, PLUGIN_XFER_REQUEST_MAX + 16);
    return plugin_xfer_request_encode(&r, &pf->req);
}

int daemon_peer_fetch_start(struct daemon_registry *dr,
                            struct registry_job *job,
                            void (*done)(struct registry_job *job, void *arg),
                            void *arg, char *msg, size_t msglen)
{
    struct swarm *sw = dr->d->swarm;
    struct peer_fetch *pf;
    int err = 0;

    if (!sw) {
        snprintf(msg, msglen, "this fastnd has no network");
        return FASTN_ERR_UNSUPPORTED;
    }
    if (!(pf = calloc(1, sizeof(*pf))))
        return FASTN_ERR_NOMEM;
    pf->dr = dr;
    pf->job = job;
    pf->done = done;
    pf->arg = arg;
    plugin_xfer_reader_init(&pf->rd, job->opts.max_bytes);
    if ((err = make_request(pf))) {
        snprintf(msg, msglen, "bad plugin name or protocol");
        pf_free(pf);
        return FASTN_ERR_INVAL;
    }
    pf->s = swarm_stream_open(sw, &job->peer,
                              (const char *const[]){PLUGIN_XFER_PROTOCOL}, 1, 0,
                              stream_cb, pf, &err);
    if (!pf->s) {
        snprintf(msg, msglen, "cannot open a stream to the peer: %s",
                 fastn_strerror(err));
        pf_free(pf);
        return err ? err : FASTN_ERR_NET_UNREACHABLE;
    }
    swarm_stream_set_timeout(pf->s, job->opts.timeout_ms);
    push(pf); /* right behind the proposal */
    job->data2 = pf;
    return 0;
}

void daemon_peer_fetch_abort(struct registry_job *job)
{
    struct peer_fetch *pf = job->data2;

    if (!pf)
        return;
    job->data2 = NULL;
    if (pf->s)
        swarm_stream_reset(pf->s);
    if (pf->f && pf->f->dl.fd >= 0)
        registry_download_abort(&pf->f->dl);
    pf_free(pf);
}
