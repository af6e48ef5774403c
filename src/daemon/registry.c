/*
 * The daemon's glue for signed plugins and registries (registry_int.h):
 * the paths and limits the control requests use (struct ipc_registry),
 * registry jobs run on libuv's thread pool, and the install of what they
 * fetched, back on the loop.
 *
 * A job's fetches block (bounded by the fetch timeouts), so they run in
 * uv_queue_work's work callback: the loop goes on serving peers and
 * clients meanwhile. The after callback installs the verified files
 * through the plugin host, exactly as an install from a file does, with
 * the signature kept beside the plugin, and answers the request. At most
 * DAEMON_REGISTRY_JOBS_MAX jobs run at once (libuv's pool has 4 threads,
 * shared with its file system work). A job whose client went away, or
 * that runs while the daemon stops, is canceled: its transfers end at
 * their next progress call and nothing is installed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/registry_int.h"
#include "fastn/err.h"
#include "plugin/plugin.h"
#include "registry/installed.h"
#include "util/file.h"
#include "util/home.h"
#include "util/log.h"

/* A running job. */
struct dr_job {
    uv_work_t req;
    struct daemon_registry *dr;
    struct registry_job *job;
    ipc_registry_done_fn done;
    void *done_arg;
    bool canceled; /* its client went away: done is not called */
    struct dr_job *next, **pprev;
};

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

int daemon_registry_keys(struct daemon_registry *dr,
                         struct registry_keyring *kr)
{
    return registry_keyring_load(kr, dr->user_keys,
                                 dr->system_keys[0] ? dr->system_keys : NULL);
}

/* --- installing what a job fetched -----------------------------------------
 */

static const struct registry_job_installed *
installed(const struct registry_job *job, const char *name)
{
    for (size_t i = 0; i < job->n_installed; i++)
        if (!strcmp(job->installed[i].name, name))
            return &job->installed[i];
    return NULL;
}

/* The plugin's own manifest against what the job asked for. */
static int check_manifest(struct registry_job *job,
                          struct registry_job_fetch *f,
                          const struct plugin_manifest *m)
{
    const struct registry_job_installed *in = installed(job, m->name);

    if (strcmp(m->name, f->entry->name))
        return fail(f->msg, sizeof(f->msg), FASTN_ERR_PLUGIN_MANIFEST,
                    "the plugin offered as %s is named %s in its manifest; "
                    "nothing was installed",
                    f->entry->name, m->name);
    if (job->protocol[0] && !plugin_manifest_has_protocol(m, job->protocol))
        return fail(f->msg, sizeof(f->msg), FASTN_ERR_PLUGIN_MANIFEST,
                    "the plugin offered for %s (%s) does not serve it; "
                    "nothing was installed",
                    job->protocol, m->name);
    if (job->kind == REGISTRY_JOB_UPDATE && in &&
        (f->new_caps = m->caps & ~in->caps & ~job->grant)) {
        f->result = REGISTRY_UPDATE_CONSENT;
        return 0;
    }
    return 0;
}

/* Reads the verified file back and checks it is still what was
 * verified, then its manifest. *wasm on success. */
static int load_fetched(struct daemon_registry *dr, struct registry_job *job,
                        struct registry_job_fetch *f, uint8_t **wasm,
                        size_t *len, struct plugin_manifest *m)
{
    uint8_t sha[REGISTRY_SHA256_LEN];
    char why[256];
    int rc = file_read_all(f->dl.path, dr->opts.max_bytes, wasm, len);

    if (rc)
        return fail(f->msg, sizeof(f->msg), rc, "cannot read %s: %s",
                    f->dl.path, fastn_strerror(rc));
    if ((rc = registry_sha256(*wasm, *len, sha)) ||
        memcmp(sha, f->ver.sha256, sizeof(sha)) != 0)
        rc = fail(f->msg, sizeof(f->msg), FASTN_ERR_SHA256_MISMATCH,
                  "%s changed after it was verified; nothing was installed",
                  f->dl.path);
    else if ((rc = plugin_manifest_from_wasm(*wasm, *len, m, why, sizeof(why))))
        rc = fail(f->msg, sizeof(f->msg), rc, "%s %s: %s", f->entry->name,
                  f->entry->version, why);
    else
        rc = check_manifest(job, f, m);
    if (rc) {
        free(*wasm);
        *wasm = NULL;
    }
    return rc;
}

static const char *source_name(const struct registry_job *job,
                               const struct registry_job_fetch *f, char *buf,
                               size_t n)
{
    char pid[PEER_ID_STR_MAX];

    if (job->kind == REGISTRY_JOB_PEER)
        snprintf(buf, n, "peer %s", peer_id_format(&job->peer, pid));
    else
        snprintf(buf, n, "registry %s", job->res[f->source].src.name);
    return buf;
}

int daemon_registry_install(struct daemon_registry *dr,
                            struct registry_job *job,
                            struct registry_job_fetch *f)
{
    struct plugin_host *ph = dr->d->host.plugins;
    struct plugin_manifest m;
    char name[PLUGIN_NAME_MAX + 1], from[128];
    uint8_t *wasm = NULL;
    size_t len = 0;
    int rc;

    if (!ph)
        rc = fail(f->msg, sizeof(f->msg), FASTN_ERR_UNSUPPORTED,
                  "this fastnd runs no plugins");
    else
        rc = load_fetched(dr, job, f, &wasm, &len, &m);
    if (!rc && f->result == REGISTRY_UPDATE_CONSENT) {
        free(wasm);
        return 0; /* it waits for the user; the download is removed */
    }
    if (!rc)
        rc = plugin_host_install(
            ph, wasm, len, job->kind == REGISTRY_JOB_UPDATE || job->replace,
            name, f->msg, sizeof(f->msg));
    free(wasm);
    if (rc)
        return f->err = rc;
    if (registry_installed_set_signature(dr->plugins_dir, name,
                                         f->dl.minisig.data, f->dl.minisig.len))
        log_msg(LOG_WARN, "registry", "%s: cannot keep its signature", name);
    unlink(f->dl.path);
    f->fetched = false;
    registry_download_cleanup(&f->dl);
    f->result = REGISTRY_UPDATE_UPDATED;
    log_msg(LOG_INFO, "registry", "installed %s %s from %s, signed by %s (%s)",
            name, m.version, source_name(job, f, from, sizeof(from)),
            f->ver.key_id, f->ver.signer.name);
    return 0;
}

/* --- running jobs ------------------------------------------------------------
 */

static void job_unlink(struct dr_job *w)
{
    *w->pprev = w->next;
    if (w->next)
        w->next->pprev = w->pprev;
    w->dr->n_jobs--;
}

static void maybe_free(struct daemon_registry *dr)
{
    if (dr->stopping && dr->n_jobs == 0 && !dr->d)
        free(dr);
}

static void install_all(struct daemon_registry *dr, struct registry_job *job)
{
    for (size_t i = 0; i < job->n_fetches; i++) {
        struct registry_job_fetch *f = &job->fetches[i];
        if (!f->fetched || job->fetch_only)
            continue;
        if (dr->stopping) {
            f->err = FASTN_ERR_CANCELED;
            snprintf(f->msg, sizeof(f->msg), "fastnd is stopping");
        } else {
            daemon_registry_install(dr, job, f);
        }
        if (f->err && job->kind == REGISTRY_JOB_UPDATE)
            f->result = REGISTRY_UPDATE_FAILED;
    }
}

/* The job is over (on the loop): install, answer, free. */
static void job_over(struct dr_job *w)
{
    struct daemon_registry *dr = w->dr;
    struct registry_job *job = w->job;

    job_unlink(w);
    if (w->canceled) {
        registry_job_free(job);
    } else {
        install_all(dr, job);
        w->done(job, w->done_arg); /* the job is the caller's now */
    }
    free(w);
    maybe_free(dr);
}

static void work_cb(uv_work_t *req)
{
    struct dr_job *w = req->data;
    registry_job_run(w->job);
}

static void after_cb(uv_work_t *req, int status)
{
    (void)status;
    job_over(req->data);
}

static void peer_done(struct registry_job *job, void *arg)
{
    (void)job;
    job_over(arg);
}

/* The key the installed plugin's signature names (checked or not: an
 * update must be by that key either way). */
static void installed_signer(struct daemon_registry *dr,
                             struct registry_job_installed *in)
{
    char path[PATH_MAX + 64];
    struct minisign_sig sig;
    uint8_t *text = NULL;
    size_t len = 0;

    snprintf(path, sizeof(path), "%s/%s.wasm.minisig", dr->plugins_dir,
             in->name);
    if (file_read_nofollow(path, MINISIGN_SIGFILE_MAX, &text, &len) == 0 &&
        minisign_sig_parse(text, len, &sig, NULL, 0) == 0) {
        in->signed_by = true;
        memcpy(in->signer, sig.key_id, sizeof(in->signer));
    }
    free(text);
}

/* The installed plugins, for an update and to refuse a second install. */
static int snapshot_installed(struct daemon_registry *dr,
                              struct registry_job *job)
{
    struct plugin_info *v = NULL;
    size_t n = 0;

    if (!dr->d->host.plugins || plugin_host_list(dr->d->host.plugins, &v, &n))
        return 0;
    job->installed = calloc(n ? n : 1, sizeof(*job->installed));
    if (!job->installed) {
        free(v);
        return FASTN_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct registry_job_installed *in = &job->installed[i];
        snprintf(in->name, sizeof(in->name), "%s", v[i].manifest.name);
        snprintf(in->version, sizeof(in->version), "%s", v[i].manifest.version);
        in->caps = v[i].manifest.caps;
        installed_signer(dr, in);
    }
    job->n_installed = n;
    free(v);
    return 0;
}

/* What the job needs from the daemon; refuses what cannot work. */
static int prepare(struct daemon_registry *dr, struct registry_job *job,
                   char *msg, size_t msglen)
{
    const struct registry_job_installed *in;
    int rc;

    if (dr->stopping)
        return fail(msg, msglen, FASTN_ERR_BUSY, "fastnd is stopping");
    if (dr->n_jobs >= DAEMON_REGISTRY_JOBS_MAX)
        return fail(msg, msglen, FASTN_ERR_BUSY,
                    "%d registry requests run already; try again when one "
                    "is done",
                    DAEMON_REGISTRY_JOBS_MAX);
    job->opts = dr->opts;
    snprintf(job->dir, sizeof(job->dir), "%s", dr->plugins_dir);
    if ((rc = daemon_registry_keys(dr, &job->keys)) ||
        (rc = snapshot_installed(dr, job)))
        return fail(msg, msglen, rc, "%s", fastn_strerror(rc));
    in = job->name[0] ? installed(job, job->name) : NULL;
    if (in && !job->replace &&
        (job->kind == REGISTRY_JOB_GET || job->kind == REGISTRY_JOB_PEER))
        return fail(msg, msglen, FASTN_ERR_EXISTS,
                    "%s %s is installed already; fastn plugin update %s "
                    "gets a newer version, --replace installs this one "
                    "over it",
                    in->name, in->version, in->name);
    return 0;
}

static int op_start(void *arg, struct registry_job *job,
                    ipc_registry_done_fn done, void *done_arg, char *msg,
                    size_t msglen)
{
    struct daemon_registry *dr = arg;
    struct dr_job *w;
    int rc = prepare(dr, job, msg, msglen);

    if (rc)
        return rc;
    if (!(w = calloc(1, sizeof(*w))))
        return FASTN_ERR_NOMEM;
    w->dr = dr;
    w->job = job;
    w->done = done;
    w->done_arg = done_arg;
    w->req.data = w;
    job->data = w;
    if (job->kind == REGISTRY_JOB_PEER)
        rc = daemon_peer_fetch_start(dr, job, peer_done, w, msg, msglen);
    else if (uv_queue_work(&dr->d->loop, &w->req, work_cb, after_cb) != 0)
        rc = fail(msg, msglen, FASTN_ERR_INTERNAL, "cannot start a worker");
    if (rc) {
        free(w);
        return rc;
    }
    w->next = dr->jobs;
    w->pprev = &dr->jobs;
    if (dr->jobs)
        dr->jobs->pprev = &w->next;
    dr->jobs = w;
    dr->n_jobs++;
    return 0;
}

static void op_cancel(void *arg, struct registry_job *job)
{
    struct dr_job *w = job->data;

    (void)arg;
    w->canceled = true;
    atomic_store(&job->canceled, 1);
    if (job->kind == REGISTRY_JOB_PEER) {
        daemon_peer_fetch_abort(job);
        job_over(w);
    }
}

/* --- start and stop ----------------------------------------------------------
 */

/* PREFIX/share/fastn of the installation this fastnd belongs to: its
 * executable is PREFIX/bin/fastnd (or sbin). "" when not found. */
static void share_dir(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    out[0] = '\0';
    if (k <= 0)
        return;
    exe[k] = '\0';
    for (int up = 0; up < 2; up++) {
        if (!(slash = strrchr(exe, '/')))
            return;
        *slash = '\0';
    }
    if (snprintf(out, n, "%s/share/fastn", exe) >= (int)n)
        out[0] = '\0';
}

static void set_paths(struct daemon_registry *dr)
{
    char share[PATH_MAX], dir[PATH_MAX + 16];
    struct stat st;

    home_path(dr->d->home, REGISTRY_TRUSTED_DIR, dr->user_keys,
              sizeof(dr->user_keys));
    home_path(dr->d->home, "plugins", dr->plugins_dir, sizeof(dr->plugins_dir));
    home_path(dr->d->home, REGISTRY_SOURCES_FILE, dr->sources,
              sizeof(dr->sources));
    share_dir(share, sizeof(share));
    if (!share[0])
        return;
    snprintf(dr->system_keys, sizeof(dr->system_keys), "%s/%s", share,
             REGISTRY_TRUSTED_DIR);
    snprintf(dir, sizeof(dir), "%s/plugins", share);
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
        snprintf(dr->default_url, sizeof(dr->default_url), "file://%s", dir) >=
            (int)sizeof(dr->default_url))
        dr->default_url[0] = '\0';
}

/* The fetch limits from the config. */
static void apply_config(struct daemon_registry *dr)
{
    const struct daemon_config *c = &dr->d->config;
    struct registry_fetch_opts *o = &dr->opts;

    registry_fetch_opts_init(o);
    if (c->has_max_plugin_size)
        o->max_bytes = (uint64_t)c->max_plugin_size << 20;
    if (c->has_fetch_connect_timeout)
        o->connect_timeout_ms = c->fetch_connect_timeout * 1000;
    if (c->has_fetch_timeout)
        o->timeout_ms = c->fetch_timeout * 1000;
    if (c->has_fetch_stall_timeout)
        o->stall_timeout_ms = c->fetch_stall_timeout * 1000;
    dr->ipc.max_plugin_size = o->max_bytes;
}

int daemon_registry_start(struct daemon *d, char *err, size_t errlen)
{
    struct daemon_registry *dr = calloc(1, sizeof(*dr));

    if (!dr || registry_fetch_global_init() != 0) {
        free(dr);
        snprintf(err, errlen, "cannot set up fetching (libcurl)");
        return FASTN_ERR_INTERNAL;
    }
    dr->d = d;
    d->registry = dr;
    set_paths(dr);
    dr->ipc = (struct ipc_registry){
        .arg = dr,
        .user_keys = dr->user_keys,
        .system_keys = dr->system_keys[0] ? dr->system_keys : NULL,
        .plugins_dir = dr->plugins_dir,
        .sources = dr->sources,
        .default_url = dr->default_url[0] ? dr->default_url : NULL,
        .start = op_start,
        .cancel = op_cancel,
    };
    apply_config(dr);
    d->host.registry = &dr->ipc;
    daemon_plugin_serve_apply(dr);
    log_msg(LOG_INFO, "registry", "trusted keys in %s%s%s; registries in %s",
            dr->user_keys, dr->system_keys[0] ? " and " : "", dr->system_keys,
            dr->sources);
    return 0;
}

void daemon_registry_reload(struct daemon *d)
{
    if (!d->registry)
        return;
    apply_config(d->registry);
    daemon_plugin_serve_apply(d->registry);
}

void daemon_registry_stop(struct daemon *d)
{
    struct daemon_registry *dr = d->registry;

    if (!dr)
        return;
    d->registry = NULL;
    d->host.registry = NULL;
    dr->stopping = true;
    daemon_plugin_serve_stop(dr);
    for (struct dr_job *w = dr->jobs, *next; w; w = next) {
        next = w->next;
        atomic_store(&w->job->canceled, 1);
        if (w->job->kind == REGISTRY_JOB_PEER) {
            daemon_peer_fetch_abort(w->job);
            w->job->err = FASTN_ERR_CANCELED;
            snprintf(w->job->msg, sizeof(w->job->msg), "fastnd is stopping");
            job_over(w);
        }
    }
    dr->d = NULL; /* the worker jobs end in after_cb, then dr goes */
    maybe_free(dr);
}
