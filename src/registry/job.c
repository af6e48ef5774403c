/*
 * Registry jobs (job.h): the blocking part of search, install by name,
 * update and registry add, run on a worker thread. Indexes are fetched
 * one registry after the other (a registry that fails is recorded and the
 * others still answer); plugins are fetched into verified temporary
 * files. Nothing here touches the plugin host: installing is the
 * caller's, back on its loop.
 */
#include "registry/job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"

static int fail(char *out, size_t cap, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *out, size_t cap, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return code;
}

unsigned registry_caps_bits(char *const *names, size_t n, bool *unknown)
{
    unsigned bits = 0;

    *unknown = false;
    for (size_t i = 0; i < n; i++) {
        unsigned bit = plugin_cap_from_name(names[i]);
        if (!bit)
            *unknown = true;
        bits |= bit;
    }
    return bits;
}

void registry_caps_text(unsigned caps, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    for (unsigned bit = 1; bit && n < cap; bit <<= 1)
        if ((caps & bit) && plugin_cap_name(bit))
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "",
                                  plugin_cap_name(bit));
    if (!n)
        snprintf(out, cap, "none");
}

struct registry_job *registry_job_new(enum registry_job_kind kind)
{
    struct registry_job *job = calloc(1, sizeof(*job));

    if (!job)
        return NULL;
    job->kind = kind;
    registry_fetch_opts_init(&job->opts);
    atomic_init(&job->canceled, 0);
    return job;
}

void registry_job_free(struct registry_job *job)
{
    if (!job)
        return;
    for (size_t i = 0; i < job->n_fetches; i++) {
        struct registry_job_fetch *f = &job->fetches[i];
        if (f->fetched)
            registry_download_abort(&f->dl); /* not installed: removed */
        else
            registry_download_cleanup(&f->dl);
        registry_entry_cleanup(&f->own);
    }
    free(job->fetches);
    for (size_t i = 0; i < job->n_res; i++)
        registry_index_cleanup(&job->res[i].idx);
    registry_keyring_cleanup(&job->keys);
    free(job->installed);
    free(job);
}

static int on_progress(void *arg, uint64_t got, uint64_t total)
{
    struct registry_job *job = arg;

    (void)got;
    (void)total;
    return atomic_load(&job->canceled);
}

/* Every registry's index, one after the other. */
static void fetch_indexes(struct registry_job *job)
{
    job->n_res = job->sources.n;
    for (size_t i = 0; i < job->sources.n; i++) {
        struct registry_job_source *r = &job->res[i];
        r->src = job->sources.v[i];
        r->asked = true;
        if (atomic_load(&job->canceled)) {
            r->err = FASTN_ERR_CANCELED;
            snprintf(r->msg, sizeof(r->msg), "canceled");
            continue;
        }
        r->err = registry_fetch_index(r->src.name, r->src.url, &job->opts,
                                      &r->idx, r->msg, sizeof(r->msg));
    }
}

static struct registry_job_fetch *new_fetch(struct registry_job *job)
{
    struct registry_job_fetch *v, *f;

    if (job->n_fetches == REGISTRY_JOB_FETCHES_MAX)
        return NULL;
    v = realloc(job->fetches, (job->n_fetches + 1) * sizeof(*v));
    if (!v)
        return NULL;
    job->fetches = v;
    f = &v[job->n_fetches++];
    memset(f, 0, sizeof(*f));
    f->dl.fd = -1;
    return f;
}

/* Whether a is a better pick than b (NULL): a higher version. */
static bool better(const struct registry_entry *a,
                   const struct registry_entry *b)
{
    int c;
    return !b ||
           (registry_version_cmp(a->version, b->version, &c) == 0 && c > 0);
}

/* The best entry across the registries: name (version exactly, or the
 * highest), or the highest of a plugin handling protocol. */
static const struct registry_entry *pick(const struct registry_job *job,
                                         const char *name, const char *version,
                                         const char *protocol, size_t *source)
{
    const struct registry_entry *best = NULL;

    for (size_t i = 0; i < job->n_res; i++) {
        const struct registry_index *idx = &job->res[i].idx;
        const struct registry_entry *e;
        if (job->res[i].err)
            continue;
        e = protocol && protocol[0]
                ? registry_index_find_protocol(idx, protocol)
                : registry_index_find(idx, name,
                                      version && version[0] ? version : NULL);
        if (e && better(e, best)) {
            best = e;
            *source = i;
        }
    }
    return best;
}

/* A plugin into a verified temporary file. */
static void fetch_one(struct registry_job *job, struct registry_job_fetch *f)
{
    const struct registry_job_source *r = &job->res[f->source];

    if (f->entry->caps_unknown) {
        f->err = fail(f->msg, sizeof(f->msg), FASTN_ERR_PLUGIN_CAPABILITY,
                      "%s %s from registry %s asks for a capability this "
                      "fastnd does not know; update fastn",
                      f->entry->name, f->entry->version, r->src.name);
        return;
    }
    char why[320];

    f->err =
        registry_fetch_plugin(r->src.url, f->entry, &job->keys, job->dir,
                              &job->opts, &f->dl, &f->ver, why, sizeof(why));
    f->fetched = f->err == 0;
    if (f->err) { /* which plugin, from where: the registry to tell */
        char what[PLUGIN_NAME_MAX + PLUGIN_VERSION_MAX + REGISTRY_KEY_NAME_MAX +
                  32];
        snprintf(what, sizeof(what), "%s %s from registry %s", f->entry->name,
                 f->entry->version, r->src.name);
        if (f->err == FASTN_ERR_UNTRUSTED || f->err == FASTN_ERR_SIGNATURE ||
            f->err == FASTN_ERR_SIG_COMMENT ||
            f->err == FASTN_ERR_SHA256_MISMATCH)
            registry_refusal(f->msg, sizeof(f->msg), f->err, what, &job->keys,
                             f->entry->signer, NULL);
        else
            snprintf(f->msg, sizeof(f->msg), "%s: %s", what, why);
    }
}

/* What a GET without a match says: what was asked, and where. */
static void not_listed(struct registry_job *job)
{
    size_t n = 0, failed = 0;

    for (size_t i = 0; i < job->n_res; i++)
        failed += job->res[i].err != 0;
    if (job->protocol[0])
        n = (size_t)snprintf(job->msg, sizeof(job->msg),
                             "no registry lists a plugin for %s",
                             job->protocol);
    else
        n = (size_t)snprintf(job->msg, sizeof(job->msg),
                             "no registry lists %s%s%s", job->name,
                             job->version[0] ? " " : "", job->version);
    if (n < sizeof(job->msg))
        snprintf(job->msg + n, sizeof(job->msg) - n,
                 " (%zu registr%s asked%s; see fastn plugin search, "
                 "fastn registry list)",
                 job->n_res, job->n_res == 1 ? "y" : "ies",
                 failed ? ", some could not be read" : "");
    job->err = FASTN_ERR_NOT_FOUND;
}

static void run_get(struct registry_job *job)
{
    struct registry_job_fetch *f;
    const struct registry_entry *e;
    size_t source = 0;

    e = pick(job, job->name, job->version, job->protocol, &source);
    if (!e) {
        not_listed(job);
        return;
    }
    if (!(f = new_fetch(job))) {
        job->err = FASTN_ERR_NOMEM;
        return;
    }
    f->entry = e;
    f->source = source;
    fetch_one(job, f);
    if (f->err) {
        job->err = f->err;
        snprintf(job->msg, sizeof(job->msg), "%s", f->msg);
    }
}

/* One installed plugin against the registries. */
static void update_one(struct registry_job *job,
                       const struct registry_job_installed *in,
                       struct registry_job_fetch *f)
{
    bool unknown;
    unsigned caps;
    int c;

    snprintf(f->own.name, sizeof(f->own.name), "%s", in->name);
    snprintf(f->from_version, sizeof(f->from_version), "%s", in->version);
    f->entry = pick(job, in->name, NULL, NULL, &f->source);
    if (!f->entry) {
        f->result = REGISTRY_UPDATE_NOT_LISTED;
        return;
    }
    if (registry_version_cmp(f->entry->version, in->version, &c) != 0 ||
        c <= 0) {
        f->result = REGISTRY_UPDATE_CURRENT;
        return;
    }
    if (in->signed_by &&
        memcmp(in->signer, f->entry->signer, MINISIGN_KEYID_LEN) != 0) {
        char was[MINISIGN_KEYID_HEX_LEN + 1], now[MINISIGN_KEYID_HEX_LEN + 1];
        minisign_key_id_hex(in->signer, was);
        minisign_key_id_hex(f->entry->signer, now);
        f->result = REGISTRY_UPDATE_FAILED;
        f->err = fail(f->msg, sizeof(f->msg), FASTN_ERR_SIG_KEY_MISMATCH,
                      "%s %s in registry %s is signed by key %s, another "
                      "publisher than the installed %s's (key %s): not "
                      "updated; `fastn plugin install %s --replace` switches "
                      "on purpose",
                      in->name, f->entry->version, job->res[f->source].src.name,
                      now, in->version, was, in->name);
        return;
    }
    caps = registry_caps_bits(f->entry->caps, f->entry->n_caps, &unknown);
    f->new_caps = caps & ~in->caps & ~job->grant;
    if (f->new_caps && !unknown) {
        f->result = REGISTRY_UPDATE_CONSENT;
        return;
    }
    fetch_one(job, f);
    f->result = f->err ? REGISTRY_UPDATE_FAILED : REGISTRY_UPDATE_UPDATED;
}

static void run_update(struct registry_job *job)
{
    for (size_t i = 0; i < job->n_installed; i++) {
        struct registry_job_fetch *f;
        if (job->name[0] && strcmp(job->name, job->installed[i].name))
            continue;
        if (!(f = new_fetch(job))) {
            job->err = FASTN_ERR_NOMEM;
            return;
        }
        update_one(job, &job->installed[i], f);
    }
    if (job->name[0] && job->n_fetches == 0)
        job->err = fail(job->msg, sizeof(job->msg), FASTN_ERR_NOT_FOUND,
                        "no plugin named %s is installed (fastn plugin "
                        "install %s)",
                        job->name, job->name);
}

void registry_job_run(struct registry_job *job)
{
    job->opts.progress = on_progress;
    job->opts.progress_arg = job;
    fetch_indexes(job);
    switch (job->kind) {
    case REGISTRY_JOB_CHECK:
        if (job->n_res && job->res[0].err) {
            job->err = job->res[0].err;
            snprintf(job->msg, sizeof(job->msg), "%s", job->res[0].msg);
        }
        break;
    case REGISTRY_JOB_GET:
        run_get(job);
        break;
    case REGISTRY_JOB_UPDATE:
        run_update(job);
        break;
    case REGISTRY_JOB_SEARCH:
    case REGISTRY_JOB_PEER:
        break;
    }
}

static int copy_list(char ***out, size_t *n_out, const void *src, size_t n,
                     size_t stride)
{
    *out = calloc(n ? n : 1, sizeof(char *));
    if (!*out)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!((*out)[i] = strdup((const char *)src + i * stride)))
            return FASTN_ERR_NOMEM;
        *n_out = i + 1;
    }
    return 0;
}

int registry_job_add_peer_fetch(struct registry_job *job,
                                const struct plugin_xfer_offer *o,
                                struct registry_job_fetch **out)
{
    struct registry_job_fetch *f = new_fetch(job);
    struct registry_entry *e;
    struct minisign_sig sig;
    bool unknown;

    if (!f)
        return FASTN_ERR_NOMEM;
    if (minisign_sig_parse(o->minisig, o->minisig_len, &sig, NULL, 0) == 0)
        memcpy(f->own.signer, sig.key_id, sizeof(f->own.signer));
    e = &f->own;
    f->entry = e;
    snprintf(e->name, sizeof(e->name), "%s", o->name);
    snprintf(e->version, sizeof(e->version), "%s", o->version);
    e->size = o->size;
    memcpy(e->sha256, o->sha256, sizeof(e->sha256));
    if (!(e->summary = strdup(o->summary)) ||
        copy_list(&e->protocols, &e->n_protocols, o->protocols, o->n_protocols,
                  sizeof(o->protocols[0])) ||
        copy_list(&e->caps, &e->n_caps, o->caps, o->n_caps,
                  sizeof(o->caps[0])) ||
        copy_list(&e->apps, &e->n_apps, o->apps, o->n_apps, sizeof(o->apps[0])))
        return FASTN_ERR_NOMEM;
    e->caps_known = registry_caps_bits(e->caps, e->n_caps, &unknown);
    e->caps_unknown = unknown;
    *out = f;
    return 0;
}
