/*
 * The daemon's glue for signed plugins and registries (src/registry):
 * registry.c runs registry jobs on libuv's thread pool and installs what
 * they fetched; plugin_serve.c serves /fastn/plugin/1.0.0 to peers;
 * plugin_fetch.c asks a peer for a plugin. What they share is here.
 *
 * Paths: the user's trusted keys in HOME/trusted-publishers, the list of
 * registries in HOME/registries, plugins in HOME/plugins; the
 * installation's folder PREFIX/share/fastn is found from the daemon's
 * own executable (PREFIX/bin/fastnd, or PREFIX/sbin/fastnd): its
 * trusted-publishers/ are trusted, and its plugins/ (with the index.json
 * the build wrote) is the default registry.
 */
#ifndef FASTN_DAEMON_REGISTRY_INT_H
#define FASTN_DAEMON_REGISTRY_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/daemon.h"
#include "registry/job.h"

struct serve_state;
struct dr_job;

struct daemon_registry {
    struct daemon *d;
    struct ipc_registry ipc; /* what d->host.registry points at */
    char user_keys[PATH_MAX];
    char system_keys[PATH_MAX];
    char plugins_dir[PATH_MAX];
    char sources[PATH_MAX];
    char default_url[REGISTRY_URL_MAX];
    struct registry_fetch_opts opts; /* from the config */
    struct dr_job *jobs;             /* running */
    unsigned n_jobs;
    bool stopping;
    struct serve_state *serve; /* plugin_serve.c; NULL: not serving */
};

/* Jobs (of every client together) that may run at once; one more is
 * FASTN_ERR_BUSY. */
#define DAEMON_REGISTRY_JOBS_MAX 4

/* registry.c: installs a verified download of job (its plugin, its
 * signature beside it) and records the result in f. Returns 0 or the
 * error also in f->err and f->msg. */
int daemon_registry_install(struct daemon_registry *dr,
                            struct registry_job *job,
                            struct registry_job_fetch *f);
/* registry.c: the trusted keys now, into kr (empty on entry). */
int daemon_registry_keys(struct daemon_registry *dr,
                         struct registry_keyring *kr);

/* plugin_fetch.c: gets job's plugin from job->peer over
 * /fastn/plugin/1.0.0 into a verified temporary file, on the loop, then
 * calls done(job, arg) (job->err, the fetch's result). Returns 0 or an
 * error with msg set (done is then not called). */
int daemon_peer_fetch_start(struct daemon_registry *dr,
                            struct registry_job *job,
                            void (*done)(struct registry_job *job, void *arg),
                            void *arg, char *msg, size_t msglen);
/* Stops a peer fetch that has not called done: the stream is reset, the
 * temporary file removed; done is not called. */
void daemon_peer_fetch_abort(struct registry_job *job);

/* plugin_serve.c: serves /fastn/plugin/1.0.0 through the router when
 * the config says so (serve-plugins, default yes), or stops serving it;
 * called at start and after each config reload. */
void daemon_plugin_serve_apply(struct daemon_registry *dr);
/* Stops serving: the handler is removed, streams being served reset. */
void daemon_plugin_serve_stop(struct daemon_registry *dr);

#endif
