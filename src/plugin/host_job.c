/*
 * hash_start (docs/PLUGIN-ABI.md): a SHA-256 the daemon does beside the
 * plugin. With ops->offload and an input of PLUGIN_HASH_OFFLOAD_MIN bytes
 * or more, the hash runs on the offload thread while the plugin's event
 * returns and its other events run; done() (on the loop) writes the
 * digest into the plugin's memory, charges the thread's CPU time to the
 * plugin's budget and queues on_hash. Otherwise the hash is done at once
 * and on_hash queued the same way, so a plugin sees one behaviour.
 *
 * The thread reads the plugin's linear memory in place; the memory never
 * moves (the engine reserves its largest size) and only grows. A plugin
 * that changes the bytes meanwhile gets a wrong digest, nothing worse.
 * An instance that stops (host_jobs_detach) first waits for a running
 * hash to be done with its memory; its jobs are then freed by their
 * done(), or at once when it already came.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#ifdef FASTN_NOISE_OPENSSL
#include <openssl/evp.h>
#endif

#include "fastn/err.h"
#include "plugin/host_int.h"
#include "util/log.h"

enum { JOB_QUEUED, JOB_RUNNING, JOB_FINISHED };

struct host_job {
    struct host_job *next;    /* in its instance's list */
    struct host_instance *in; /* NULL once its instance went */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;      /* JOB_*, under mu */
    bool cancelled; /* its instance went: not to be started (under mu) */
    int32_t tag;
    uint32_t out; /* where the digest goes in the plugin's memory */
    const uint8_t *p;
    size_t n;
    uint8_t digest[32];
    int rc;
    uint64_t cpu_ns;
};

int host_sha256(const uint8_t *p, size_t n, uint8_t *out)
{
#ifdef FASTN_NOISE_OPENSSL
    /* libcrypto's: the CPU's SHA extensions, as the noise cipher's */
    unsigned int len = 0;
    if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) || len != 32)
        return FASTN_ERR_NOMEM;
    return 0;
#else
    return crypto_hash_sha256(out, p, n) ? FASTN_ERR_NOMEM : 0;
#endif
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void job_free(struct host_job *j)
{
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

/* Queues on_hash(tag, rc); false when out of memory. */
static bool answer(struct host_instance *in, int32_t tag, int rc)
{
    struct host_event *ev = host_event_new(EV_HASH, tag, rc, 0, 0);
    if (!ev)
        return false;
    host_event_push(in, ev);
    return true;
}

/* On the offload thread (or on the loop, for a job that never ran). */
static void job_work(void *arg)
{
    struct host_job *j = arg;

    pthread_mutex_lock(&j->mu);
    if (j->cancelled || j->state != JOB_QUEUED) {
        j->state = JOB_FINISHED;
        pthread_mutex_unlock(&j->mu);
        return;
    }
    j->state = JOB_RUNNING;
    pthread_mutex_unlock(&j->mu);
    uint64_t t0 = thread_cpu_ns();
    j->rc = host_sha256(j->p, j->n, j->digest);
    j->cpu_ns = thread_cpu_ns() - t0;
    pthread_mutex_lock(&j->mu);
    j->state = JOB_FINISHED;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* On the loop. */
static void job_done(void *arg)
{
    struct host_job *j = arg;
    struct host_instance *in = j->in;

    if (!in) { /* its instance went (host_jobs_detach) */
        job_free(j);
        return;
    }
    if (j->state == JOB_QUEUED) /* never ran (shutdown): here, then */
        job_work(j);
    for (struct host_job **pp = &in->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    in->n_jobs--;
    host_cpu_charge_work(in->p, j->cpu_ns);
    int rc = j->rc;
    if (!rc && fastn_wasm_memory_write(in->wasm, j->out, j->digest, 32))
        rc = FASTN_ERR_PLUGIN_BAD_POINTER; /* checked at the start: never */
    if (!answer(in, j->tag, rc))
        log_msg(LOG_WARN, "plugin", "%s: on_hash(%d) lost: out of memory",
                in->p->name, (int)j->tag);
    job_free(j);
    in->p->h->ops->wake(in->p->h->ops_arg);
}

int host_hash_start(struct host_instance *in, int32_t kind, const uint8_t *p,
                    size_t n, uint32_t out, int32_t tag)
{
    const struct plugin_host_ops *ops = in->p->h->ops;
    struct host_job *j;

    if (kind != 0)
        return FASTN_ERR_INVAL;
    if (in->n_jobs >= PLUGIN_HASH_JOBS_MAX)
        return FASTN_ERR_BUSY;
    if (n >= PLUGIN_HASH_OFFLOAD_MIN && ops->offload &&
        (j = calloc(1, sizeof(*j)))) {
        pthread_mutex_init(&j->mu, NULL);
        pthread_cond_init(&j->cv, NULL);
        j->in = in;
        j->tag = tag;
        j->out = out;
        j->p = p;
        j->n = n;
        j->next = in->jobs;
        in->jobs = j;
        in->n_jobs++;
        if (ops->offload(in->p->h->ops_arg, job_work, job_done, j) == 0)
            return 0;
        in->jobs = j->next;
        in->n_jobs--;
        job_free(j);
    }
    uint8_t d[32];
    int rc = host_sha256(p, n, d);
    if (!rc && fastn_wasm_memory_write(in->wasm, out, d, 32))
        return FASTN_ERR_PLUGIN_BAD_POINTER;
    return answer(in, tag, rc) ? 0 : FASTN_ERR_NOMEM;
}

void host_jobs_detach(struct host_instance *in)
{
    struct host_job *j = in->jobs;

    in->jobs = NULL;
    in->n_jobs = 0;
    while (j) {
        struct host_job *next = j->next;
        pthread_mutex_lock(&j->mu);
        j->cancelled = true;
        while (j->state == JOB_RUNNING)
            pthread_cond_wait(&j->cv, &j->mu);
        pthread_mutex_unlock(&j->mu);
        j->in = NULL; /* its done() comes and frees it */
        j = next;
    }
}
