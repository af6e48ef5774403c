/*
 * Registries and what comes from them (fastn.proto, REGISTRY_*,
 * PLUGIN_SEARCH, PLUGIN_GET, PLUGIN_UPDATE). The list of registries is a
 * file the daemon writes (registry/sources.h); everything that fetches
 * is a registry job (registry/job.h) the daemon runs off its loop
 * (struct ipc_registry's start), so these requests are deferred and
 * answered when the job is done; a client that goes away cancels its
 * job, and nothing more is installed for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "plugin/plugin.h"
#include "registry/job.h"
#include "registry/sources.h"
#include "util/log.h"

static char *reply_strdup(struct ipc_reply *r, const char *s)
{
    size_t n = strlen(s ? s : "");
    char *d = ipc_reply_alloc(r, n + 1);
    if (d && n)
        memcpy(d, s, n);
    return d;
}

static int need_registry(struct ipc_call *call)
{
    if (call->host->registry)
        return 0;
    ipc_reply_set_msg(&call->reply, "this fastnd has no registries");
    return FASTN_ERR_UNSUPPORTED;
}

static int load_sources(struct ipc_call *call, struct registry_sources *s)
{
    const struct ipc_registry *r = call->host->registry;
    int err = registry_sources_load(s, r->sources, r->default_url);

    if (err)
        ipc_reply_set_msg(&call->reply, "cannot read %s", r->sources);
    return err;
}

static Fastn__RegistryInfo *source_to_pb(struct ipc_reply *rep,
                                         const struct registry_source *s)
{
    Fastn__RegistryInfo *o = ipc_reply_alloc(rep, sizeof(*o));

    if (!o)
        return NULL;
    fastn__registry_info__init(o);
    o->name = reply_strdup(rep, s->name);
    o->url = reply_strdup(rep, s->url);
    o->has_is_default = true;
    o->is_default = s->is_default;
    return o->name && o->url ? o : NULL;
}

/* Each registry asked, with its plugin count or its error. */
static int reply_asked(struct ipc_call *call, Fastn__Response *ext,
                       const struct registry_job *job)
{
    ext->registries = ipc_reply_alloc(
        &call->reply, (job->n_res ? job->n_res : 1) * sizeof(void *));
    if (!ext->registries)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < job->n_res; i++) {
        const struct registry_job_source *r = &job->res[i];
        Fastn__RegistryInfo *o = source_to_pb(&call->reply, &r->src);
        if (!o)
            return FASTN_ERR_NOMEM;
        o->has_plugins = !r->err;
        o->plugins = (uint32_t)r->idx.n;
        o->has_code = r->err != 0;
        o->code = r->err;
        o->error = r->err ? reply_strdup(&call->reply, r->msg) : NULL;
        ext->registries[i] = o;
    }
    ext->n_registries = job->n_res;
    return 0;
}

/* --- running a job for a request ---------------------------------------- */

struct job_call {
    struct ipc_call *dc;
    struct ipc_host *host;
    /* the daemon's, kept: host->registry is gone once it stops, and a
     * job still running must then be canceled through this */
    const struct ipc_registry *reg;
    struct registry_job *job;
    void (*answer)(struct job_call *jc);
};

static void job_done(struct registry_job *job, void *arg)
{
    struct job_call *jc = arg;

    jc->job = job;
    jc->answer(jc); /* finishes jc->dc */
    registry_job_free(job);
    free(jc);
}

static void job_cancel(struct ipc_call *dc)
{
    struct job_call *jc = dc->data;

    jc->reg->cancel(jc->reg->arg, jc->job); /* the daemon frees the job */
    free(jc);
}

/* Starts job for call; on success the request is deferred (the daemon
 * never calls done before start returned). */
static int start_job(struct ipc_call *call, struct registry_job *job,
                     void (*answer)(struct job_call *jc))
{
    const struct ipc_registry *r = call->host->registry;
    struct job_call *jc = calloc(1, sizeof(*jc));
    char why[sizeof(call->reply.msg)] = "";
    int err;

    if (!jc) {
        registry_job_free(job);
        return FASTN_ERR_NOMEM;
    }
    jc->host = call->host;
    jc->reg = r;
    jc->job = job;
    jc->answer = answer;
    if ((err = r->start(r->arg, job, job_done, jc, why, sizeof(why)))) {
        ipc_reply_set_msg(&call->reply, "%s", why);
        registry_job_free(job);
        free(jc);
        return err;
    }
    if (!(jc->dc = ipc_call_defer(call, true, job_cancel, jc, &err))) {
        r->cancel(r->arg, job);
        free(jc);
        return err;
    }
    return IPC_DEFERRED;
}

static void finish(struct job_call *jc, int err)
{
    if (err && !jc->dc->reply.msg[0] && jc->job->msg[0])
        ipc_reply_set_msg(&jc->dc->reply, "%s", jc->job->msg);
    ipc_call_finish(jc->dc, err);
}

/* --- registries ---------------------------------------------------------- */

int ipc_registry_list(struct ipc_call *call, const Fastn__Request *req,
                      Fastn__Response *ext)
{
    struct registry_sources *s;
    int err;

    (void)req;
    if ((err = need_registry(call)))
        return err;
    if (!(s = malloc(sizeof(*s))))
        return FASTN_ERR_NOMEM;
    if ((err = load_sources(call, s)))
        goto out_free;
    ext->registries =
        ipc_reply_alloc(&call->reply, (s->n ? s->n : 1) * sizeof(void *));
    err = ext->registries ? 0 : FASTN_ERR_NOMEM;
    for (size_t i = 0; !err && i < s->n; i++)
        if (!(ext->registries[i] = source_to_pb(&call->reply, &s->v[i])))
            err = FASTN_ERR_NOMEM;
    ext->n_registries = err ? 0 : s->n;
out_free:
    free(s);
    return err;
}

/* REGISTRY_ADD, once the new registry's index was read: added (to the
 * list as it is now) and saved. */
static void add_answer(struct job_call *jc)
{
    const struct ipc_registry *r = jc->reg;
    struct registry_job *job = jc->job;
    struct ipc_reply *rep = &jc->dc->reply;
    struct registry_source added;
    char why[sizeof(rep->msg)] = "";
    int err = job->err;

    if (err) {
        ipc_reply_set_msg(rep,
                          "%s; the registry was not added (check its URL: "
                          "the folder that holds index.json)",
                          job->msg);
        finish(jc, err);
        return;
    }
    if (registry_sources_load(&job->sources, r->sources, r->default_url) ||
        (err = registry_sources_add(&job->sources, job->res[0].src.url,
                                    job->res[0].src.name, r->default_url,
                                    &added, why, sizeof(why))) ||
        (err = registry_sources_save(&job->sources, r->sources))) {
        ipc_reply_set_msg(rep, "%s", why[0] ? why : "cannot write the list");
        finish(jc, err ? err : FASTN_ERR_IO);
        return;
    }
    log_msg(LOG_INFO, "registry", "registry %s added: %s", added.name,
            added.url);
    job->res[0].src = added;
    finish(jc, reply_asked(jc->dc, ipc_reply_ext(rep), job));
}

int ipc_registry_add(struct ipc_call *call, const Fastn__Request *req,
                     Fastn__Response *ext)
{
    const Fastn__RegistryRequest *rr = req->registry;
    const struct ipc_registry *r = call->host->registry;
    struct registry_job *job;
    struct registry_source added;
    char why[sizeof(call->reply.msg)] = "";
    int err;

    (void)ext;
    if ((err = need_registry(call)))
        return err;
    if (!rr || !rr->url) {
        ipc_reply_set_msg(&call->reply, "REGISTRY_ADD without a URL");
        return FASTN_ERR_INVAL;
    }
    if (!(job = registry_job_new(REGISTRY_JOB_CHECK)))
        return FASTN_ERR_NOMEM;
    /* checked against the list now (and again once its index was read) */
    if ((err = load_sources(call, &job->sources)) ||
        (err =
             registry_sources_add(&job->sources, rr->url, rr->name,
                                  r->default_url, &added, why, sizeof(why)))) {
        if (why[0])
            ipc_reply_set_msg(&call->reply, "%s", why);
        registry_job_free(job);
        return err;
    }
    job->sources.v[0] = added;
    job->sources.n = 1;
    return start_job(call, job, add_answer);
}

int ipc_registry_remove(struct ipc_call *call, const Fastn__Request *req,
                        Fastn__Response *ext)
{
    const Fastn__RegistryRequest *rr = req->registry;
    const struct ipc_registry *r = call->host->registry;
    struct registry_sources *s;
    struct registry_source gone;
    char why[sizeof(call->reply.msg)] = "";
    int err;

    if ((err = need_registry(call)))
        return err;
    if (!rr || !rr->name || !rr->name[0]) {
        ipc_reply_set_msg(&call->reply, "REGISTRY_REMOVE names no registry");
        return FASTN_ERR_INVAL;
    }
    if (!(s = malloc(sizeof(*s))))
        return FASTN_ERR_NOMEM;
    if (!(err = load_sources(call, s)) &&
        (err = registry_sources_remove(s, rr->name, &gone, why, sizeof(why))))
        ipc_reply_set_msg(&call->reply, "%s", why);
    if (!err && (err = registry_sources_save(s, r->sources)))
        ipc_reply_set_msg(&call->reply, "cannot write %s", r->sources);
    free(s);
    if (err)
        return err;
    log_msg(LOG_INFO, "registry", "registry %s removed", gone.name);
    ext->registries = ipc_reply_alloc(&call->reply, sizeof(void *));
    if (!ext->registries ||
        !(ext->registries[0] = source_to_pb(&call->reply, &gone)))
        return FASTN_ERR_NOMEM;
    ext->n_registries = 1;
    return 0;
}

/* --- what the registries offer ------------------------------------------- */

static char **str_list(struct ipc_reply *r, char *const *v, size_t n)
{
    char **o = ipc_reply_alloc(r, (n ? n : 1) * sizeof(char *));
    for (size_t i = 0; o && i < n; i++)
        if (!(o[i] = reply_strdup(r, v[i])))
            return NULL;
    return o;
}

/* The installed version of name ("" if none). */
static const char *installed_version(struct ipc_host *h, const char *name,
                                     char out[PLUGIN_VERSION_MAX + 1])
{
    struct plugin_info info;

    out[0] = '\0';
    if (h->plugins && plugin_host_info(h->plugins, name, &info) == 0)
        snprintf(out, PLUGIN_VERSION_MAX + 1, "%s", info.manifest.version);
    return out;
}

static Fastn__RegistryPlugin *entry_to_pb(struct ipc_call *call,
                                          const struct registry_entry *e,
                                          const char *registry)
{
    struct ipc_reply *r = &call->reply;
    Fastn__RegistryPlugin *o = ipc_reply_alloc(r, sizeof(*o));
    char id[MINISIGN_KEYID_HEX_LEN + 1], ver[PLUGIN_VERSION_MAX + 1];

    if (!o)
        return NULL;
    fastn__registry_plugin__init(o);
    minisign_key_id_hex(e->signer, id);
    o->name = reply_strdup(r, e->name);
    o->version = reply_strdup(r, e->version);
    o->registry = reply_strdup(r, registry);
    o->summary = reply_strdup(r, e->summary);
    o->signer = reply_strdup(r, id);
    o->installed = reply_strdup(r, installed_version(call->host, e->name, ver));
    o->protocols = str_list(r, e->protocols, e->n_protocols);
    o->capabilities = str_list(r, e->caps, e->n_caps);
    o->apps = str_list(r, e->apps, e->n_apps);
    if (!o->name || !o->version || !o->registry || !o->summary || !o->signer ||
        !o->installed || !o->protocols || !o->capabilities || !o->apps)
        return NULL;
    o->n_protocols = e->n_protocols;
    o->n_capabilities = e->n_caps;
    o->n_apps = e->n_apps;
    o->has_size = o->has_sha256 = true;
    o->size = e->size;
    o->sha256.data = (uint8_t *)e->sha256;
    o->sha256.len = sizeof(e->sha256);
    return o;
}

/* Whether e is the highest version of its name in its index. */
static bool highest(const struct registry_index *idx,
                    const struct registry_entry *e)
{
    return registry_index_find(idx, e->name, NULL) == e;
}

static void search_answer(struct job_call *jc)
{
    struct registry_job *job = jc->job;
    Fastn__Response *ext = ipc_reply_ext(&jc->dc->reply);
    size_t n = 0, cap = 0;
    int err = reply_asked(jc->dc, ext, job);

    for (size_t i = 0; i < job->n_res; i++)
        cap += job->res[i].idx.n;
    ext->found =
        ipc_reply_alloc(&jc->dc->reply, (cap ? cap : 1) * sizeof(void *));
    if (!ext->found)
        err = FASTN_ERR_NOMEM;
    for (size_t i = 0; !err && i < job->n_res; i++) {
        const struct registry_index *idx = &job->res[i].idx;
        for (size_t k = 0; !err && k < idx->n; k++) {
            const struct registry_entry *e = &idx->entries[k];
            if (!highest(idx, e) || !registry_entry_matches(e, job->term))
                continue;
            if (!(ext->found[n++] =
                      entry_to_pb(jc->dc, e, job->res[i].src.name)))
                err = FASTN_ERR_NOMEM;
        }
    }
    ext->n_found = err ? 0 : n;
    finish(jc, err);
}

int ipc_plugin_search(struct ipc_call *call, const Fastn__Request *req,
                      Fastn__Response *ext)
{
    const Fastn__RegistryRequest *rr = req->registry;
    struct registry_job *job;
    int err;

    (void)ext;
    if ((err = need_registry(call)))
        return err;
    if (!(job = registry_job_new(REGISTRY_JOB_SEARCH)))
        return FASTN_ERR_NOMEM;
    if (rr && rr->term)
        snprintf(job->term, sizeof(job->term), "%s", rr->term);
    if ((err = load_sources(call, &job->sources))) {
        registry_job_free(job);
        return err;
    }
    return start_job(call, job, search_answer);
}

/* --- installing ------------------------------------------------------------
 */

static void get_answer(struct job_call *jc)
{
    struct registry_job *job = jc->job;
    const struct registry_job_fetch *f = job->n_fetches ? job->fetches : NULL;
    Fastn__Response *ext = ipc_reply_ext(&jc->dc->reply);
    const char *from = "";
    int err = job->err;

    if (!err && f && f->err)
        err = f->err, snprintf(job->msg, sizeof(job->msg), "%s", f->msg);
    if (err || !f) {
        finish(jc, err ? err : FASTN_ERR_INTERNAL);
        return;
    }
    if (job->kind != REGISTRY_JOB_PEER)
        from = job->res[f->source].src.name;
    if (!(ext->got = entry_to_pb(jc->dc, f->entry, from))) {
        finish(jc, FASTN_ERR_NOMEM);
        return;
    }
    ext->got->publisher_note =
        reply_strdup(&jc->dc->reply, f->ver.trusted_comment);
    ext->got->signer_name = reply_strdup(&jc->dc->reply, f->ver.signer.name);
    if (job->kind == REGISTRY_JOB_PEER) {
        ext->got->has_peer = true;
        ext->got->peer.data = job->peer.bytes;
        ext->got->peer.len = job->peer.len;
    }
    finish(jc, 0);
}

static int get_names(struct ipc_call *call, const Fastn__RegistryRequest *rr,
                     struct registry_job *job)
{
    if (rr->name && strlen(rr->name) < sizeof(job->name))
        snprintf(job->name, sizeof(job->name), "%s", rr->name);
    if (rr->version && strlen(rr->version) < sizeof(job->version))
        snprintf(job->version, sizeof(job->version), "%s", rr->version);
    if (rr->protocol && strlen(rr->protocol) < sizeof(job->protocol))
        snprintf(job->protocol, sizeof(job->protocol), "%s", rr->protocol);
    if ((rr->name && !job->name[0]) || (rr->version && !job->version[0]) ||
        (rr->protocol && !job->protocol[0]) ||
        (!job->name[0]) == (!job->protocol[0])) {
        ipc_reply_set_msg(&call->reply,
                          "PLUGIN_GET takes a plugin's name (of at most %d "
                          "bytes, with an optional version) or a protocol, "
                          "not both",
                          PLUGIN_NAME_MAX);
        return FASTN_ERR_INVAL;
    }
    job->replace = rr->has_replace && rr->replace;
    return 0;
}

int ipc_plugin_get(struct ipc_call *call, const Fastn__Request *req,
                   Fastn__Response *ext)
{
    const Fastn__RegistryRequest *rr = req->registry;
    struct registry_job *job;
    bool peer = rr && rr->has_peer;
    int err;

    (void)ext;
    if ((err = need_registry(call)))
        return err;
    if (!rr) {
        ipc_reply_set_msg(&call->reply, "PLUGIN_GET without its part");
        return FASTN_ERR_INVAL;
    }
    if (!(job = registry_job_new(peer ? REGISTRY_JOB_PEER : REGISTRY_JOB_GET)))
        return FASTN_ERR_NOMEM;
    if ((err = get_names(call, rr, job)) ||
        (peer && (err = ipc_req_peer(call, &rr->peer, &job->peer))) ||
        (!peer && (err = load_sources(call, &job->sources)))) {
        registry_job_free(job);
        return err;
    }
    return start_job(call, job, get_answer);
}

/* --- updates ---------------------------------------------------------------
 */

static Fastn__PluginUpdate *update_to_pb(struct ipc_call *call,
                                         const struct registry_job *job,
                                         const struct registry_job_fetch *f)
{
    struct ipc_reply *r = &call->reply;
    Fastn__PluginUpdate *o = ipc_reply_alloc(r, sizeof(*o));
    size_t n = 0;

    if (!o)
        return NULL;
    fastn__plugin_update__init(o);
    o->name = reply_strdup(r, f->own.name);
    o->result = (Fastn__PluginUpdate__Result)f->result;
    o->from_version = reply_strdup(r, f->from_version);
    o->to_version = reply_strdup(r, f->entry ? f->entry->version : "");
    o->registry = reply_strdup(r, f->entry ? job->res[f->source].src.name : "");
    o->new_capabilities = ipc_reply_alloc(r, 32 * sizeof(char *));
    if (!o->name || !o->from_version || !o->to_version || !o->registry ||
        !o->new_capabilities)
        return NULL;
    for (unsigned bit = 1; bit; bit <<= 1)
        if ((f->new_caps & bit) && plugin_cap_name(bit))
            o->new_capabilities[n++] = (char *)plugin_cap_name(bit);
    o->n_new_capabilities = n;
    o->has_code = f->err != 0;
    o->code = f->err;
    o->error = f->err ? reply_strdup(r, f->msg) : NULL;
    return o;
}

/* The one plugin named waits for consent: an error that says which
 * capabilities and how to accept them. */
static int consent_error(struct job_call *jc,
                         const struct registry_job_fetch *f)
{
    char caps[128], grants[256] = "";
    size_t n = 0;

    registry_caps_text(f->new_caps, caps, sizeof(caps));
    for (unsigned bit = 1; bit; bit <<= 1)
        if ((f->new_caps & bit) && plugin_cap_name(bit) && n < sizeof(grants))
            n += (size_t)snprintf(grants + n, sizeof(grants) - n, " --grant %s",
                                  plugin_cap_name(bit));
    ipc_reply_set_msg(&jc->dc->reply,
                      "%s %s asks for capabilities %s %s does not have: %s; "
                      "nothing was changed. To accept them: fastn plugin "
                      "update %s%s",
                      f->own.name, f->entry->version, f->from_version,
                      f->own.name, caps, f->own.name, grants);
    return FASTN_ERR_NEEDS_CONSENT;
}

static void update_answer(struct job_call *jc)
{
    struct registry_job *job = jc->job;
    Fastn__Response *ext = ipc_reply_ext(&jc->dc->reply);
    int err = job->err;

    if (!err && job->name[0] && job->n_fetches == 1 &&
        job->fetches[0].result == REGISTRY_UPDATE_CONSENT) {
        finish(jc, consent_error(jc, &job->fetches[0]));
        return;
    }
    if (!err)
        err = reply_asked(jc->dc, ext, job);
    ext->updates = ipc_reply_alloc(
        &jc->dc->reply, (job->n_fetches ? job->n_fetches : 1) * sizeof(void *));
    if (!err && !ext->updates)
        err = FASTN_ERR_NOMEM;
    for (size_t i = 0; !err && i < job->n_fetches; i++)
        if (!(ext->updates[i] = update_to_pb(jc->dc, job, &job->fetches[i])))
            err = FASTN_ERR_NOMEM;
    ext->n_updates = err ? 0 : job->n_fetches;
    finish(jc, err);
}

int ipc_plugin_update(struct ipc_call *call, const Fastn__Request *req,
                      Fastn__Response *ext)
{
    const Fastn__RegistryRequest *rr = req->registry;
    struct registry_job *job;
    int err;

    (void)ext;
    if ((err = need_registry(call)))
        return err;
    if (!(job = registry_job_new(REGISTRY_JOB_UPDATE)))
        return FASTN_ERR_NOMEM;
    if (rr && rr->name)
        snprintf(job->name, sizeof(job->name), "%s", rr->name);
    for (size_t i = 0; rr && i < rr->n_grant; i++) {
        unsigned bit = plugin_cap_from_name(rr->grant[i]);
        if (!bit) {
            ipc_reply_set_msg(&call->reply,
                              "unknown capability \"%.32s\" (streams, "
                              "storage, notify, timers)",
                              rr->grant[i]);
            registry_job_free(job);
            return FASTN_ERR_INVAL;
        }
        job->grant |= bit;
    }
    if ((err = load_sources(call, &job->sources))) {
        registry_job_free(job);
        return err;
    }
    return start_job(call, job, update_answer);
}
