/*
 * Registry jobs: what `fastn plugin search`, `install NAME[@VERSION]`,
 * `update` and `registry add` need from the registries, done in one
 * blocking call that the daemon runs on a worker thread (libuv's pool),
 * so the daemon keeps serving while a slow registry answers.
 *
 * Driving it: the caller (on the loop) fills the job's input (the
 * registries, the trusted keys, the fetch options, what to look for and,
 * for an update, the installed plugins), then runs registry_job_run() on
 * a worker thread, which fetches the indexes and the plugins to install
 * into verified temporary files in job->dir (registry_fetch_plugin: size,
 * sha256 and signature checked, nothing unverified left behind). Back on
 * the loop the caller installs what was fetched (job->fetches, each with
 * its download), records each result, and frees the job. The job is the
 * worker's alone while it runs, but for `canceled`, which any thread may
 * set: transfers stop at their next progress call (FASTN_ERR_CANCELED).
 *
 * A fetch of kind REGISTRY_JOB_PEER does not run here: the daemon gets
 * the plugin from the peer on its loop (/fastn/plugin/1.0.0) and uses the
 * job only to carry the result (registry_job_add_peer_fetch).
 */
#ifndef FASTN_REGISTRY_JOB_H
#define FASTN_REGISTRY_JOB_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "plugin/manifest.h"
#include "registry/fetch.h"
#include "registry/index.h"
#include "registry/keyring.h"
#include "registry/plugin_xfer.h"
#include "registry/sources.h"
#include "registry/verify.h"
#include "util/peer_id.h"

enum registry_job_kind {
    REGISTRY_JOB_SEARCH, /* every registry's index */
    REGISTRY_JOB_CHECK,  /* the one registry in sources (registry add) */
    REGISTRY_JOB_GET,    /* a plugin by name[@version] or protocol */
    REGISTRY_JOB_UPDATE, /* newer versions of installed plugins */
    REGISTRY_JOB_PEER,   /* from a peer: done by the daemon on its loop */
};

/* What an update found for one installed plugin. */
enum registry_update_result {
    REGISTRY_UPDATE_CURRENT = 0, /* no newer version listed */
    REGISTRY_UPDATE_UPDATED,     /* installed (by the caller) */
    REGISTRY_UPDATE_CONSENT,     /* it asks for more capabilities */
    REGISTRY_UPDATE_FAILED,      /* err, msg */
    REGISTRY_UPDATE_NOT_LISTED,  /* no registry lists it */
};

/* One registry asked, and what it answered. */
struct registry_job_source {
    struct registry_source src;
    bool asked;
    struct registry_index idx; /* when err is 0 */
    int err;
    char msg[320];
};

/* An installed plugin, for an update. */
struct registry_job_installed {
    char name[PLUGIN_NAME_MAX + 1];
    char version[PLUGIN_VERSION_MAX + 1];
    unsigned caps;
    /* the key of its signature, when it has one: an update must come
     * from the same publisher */
    bool signed_by;
    uint8_t signer[MINISIGN_KEYID_LEN];
};

/* One plugin to install (GET, PEER) or one installed plugin looked at
 * (UPDATE). */
struct registry_job_fetch {
    const struct registry_entry *entry; /* borrowed from a source's index,
                                           or &own for PEER */
    struct registry_entry own;
    size_t source; /* the source entry came from (not for PEER) */
    bool fetched;  /* dl holds a verified file, to install */
    struct registry_download dl;
    struct registry_verified ver;
    /* what became of it (filled by the worker, then by the caller) */
    enum registry_update_result result;
    char from_version[PLUGIN_VERSION_MAX + 1]; /* UPDATE */
    unsigned new_caps; /* CONSENT: the capabilities it would add */
    int err;
    char msg[512];
};

#define REGISTRY_JOB_FETCHES_MAX 256

struct registry_job {
    enum registry_job_kind kind;
    /* input */
    struct registry_sources sources;
    struct registry_keyring keys;
    struct registry_fetch_opts opts;        /* progress is set by the job */
    char dir[PATH_MAX];                     /* where downloads go */
    char name[PLUGIN_NAME_MAX + 1];         /* GET, UPDATE ("" all), PEER */
    char version[PLUGIN_VERSION_MAX + 1];   /* GET ("" highest) */
    char protocol[PLUGIN_PROTOCOL_MAX + 1]; /* GET, PEER */
    char term[PLUGIN_DESCRIPTION_MAX + 1];  /* SEARCH */
    unsigned grant;                         /* UPDATE */
    bool replace;                           /* GET, PEER */
    /* GET, PEER: fetch and verify only; the caller installs the download
     * (daemon_registry_install) or frees the job, which removes it */
    bool fetch_only;
    struct peer_id peer;                      /* PEER */
    struct registry_job_installed *installed; /* UPDATE, GET */
    size_t n_installed;
    atomic_int canceled;
    /* output */
    struct registry_job_source res[REGISTRY_SOURCES_MAX];
    size_t n_res;
    struct registry_job_fetch *fetches;
    size_t n_fetches;
    int err; /* the job's own failure (GET: nothing to install) */
    char msg[512];
    /* the caller's (the daemon's: its record of the job, and for PEER
     * the exchange with the peer) */
    void *data, *data2;
};

/* A new job of that kind, everything else empty (keys, sources...).
 * Errors: NULL when out of memory. */
struct registry_job *registry_job_new(enum registry_job_kind kind);
/* Frees the job; downloads not installed are removed. NULL does nothing. */
void registry_job_free(struct registry_job *job);

/* Runs the job (blocking: on a worker thread). Results in job->res,
 * job->fetches, job->err and job->msg. */
void registry_job_run(struct registry_job *job);

/* A PEER job's one fetch, described by the peer's offer (checked by the
 * plugin_xfer reader). Errors: FASTN_ERR_NOMEM. */
int registry_job_add_peer_fetch(struct registry_job *job,
                                const struct plugin_xfer_offer *o,
                                struct registry_job_fetch **out);

/* The capability bits of names, and whether one is not known. */
unsigned registry_caps_bits(char *const *names, size_t n, bool *unknown);
/* "a, b" into out (cap bytes) for the bits of caps; "none" for 0. */
void registry_caps_text(unsigned caps, char *out, size_t cap);

#endif
