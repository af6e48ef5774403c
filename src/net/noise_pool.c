/*
 * noise_pool: worker threads that seal and open Noise frames in batches
 * (noise_pool.h). One batch at a time: the submitting thread publishes
 * it under the lock, wakes as many workers as the batch has frames
 * beyond its own, and takes frames too; a frame is claimed by an atomic
 * counter, so each is done exactly once, by whoever comes first. A
 * worker joins a batch only under the lock and leaves it under the lock;
 * the submitter returns once every frame is done and no worker is still
 * inside, so nothing refers to the batch (on the submitter's stack)
 * after it returns. Frames carry their nonce: the order of doing them
 * does not matter.
 */
#include "net/noise_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "fastn/err.h"
#include "net/noise_int.h"
#include "util/log.h"

struct batch {
    struct noise_job *jobs;
    size_t n;
    atomic_size_t next; /* the next frame to claim */
};

static struct {
    pthread_mutex_t mu;     /* everything below but the batch's counters */
    pthread_cond_t work;    /* workers wait for a batch or the stop */
    pthread_cond_t idle;    /* the submitter waits for the batch's end */
    pthread_mutex_t submit; /* one batch at a time */
    struct batch *cur;      /* the batch workers may join */
    unsigned long gen;      /* counts batches published */
    unsigned inside;        /* workers in cur */
    unsigned users;         /* acquires not yet released */
    unsigned n;             /* workers started */
    bool stop;
    pthread_t th[NOISE_POOL_MAX];
} P = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .work = PTHREAD_COND_INITIALIZER,
       .idle = PTHREAD_COND_INITIALIZER,
       .submit = PTHREAD_MUTEX_INITIALIZER};

static void job_do(struct noise_job *j)
{
    j->err = noise_aead_at(j->key, j->nonce, j->buf, j->len, j->seal);
}

/* Claims and does frames of b until none is left. */
static void batch_work(struct batch *b)
{
    size_t i;

    while ((i = atomic_fetch_add(&b->next, 1)) < b->n) {
        job_do(&b->jobs[i]);
    }
}

static void *worker_main(void *arg)
{
    unsigned long seen = 0;

    (void)arg;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        while (!P.stop && (!P.cur || P.gen == seen))
            pthread_cond_wait(&P.work, &P.mu);
        if (P.stop)
            break;
        struct batch *b = P.cur;
        seen = P.gen;
        P.inside++;
        pthread_mutex_unlock(&P.mu);
        batch_work(b);
        pthread_mutex_lock(&P.mu);
        if (--P.inside == 0)
            pthread_cond_signal(&P.idle);
    }
    pthread_mutex_unlock(&P.mu);
    noise_crypto_thread_end();
    return NULL;
}

static unsigned workers_wanted(unsigned threads)
{
    const char *env = getenv("FASTN_CRYPTO_THREADS");
    long cores;

    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v >= 0)
            return v > NOISE_POOL_MAX ? NOISE_POOL_MAX : (unsigned)v;
    }
    if (threads)
        return threads > NOISE_POOL_MAX ? NOISE_POOL_MAX : threads;
    cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores <= 1)
        return 0;
    return cores - 1 > NOISE_POOL_MAX ? NOISE_POOL_MAX : (unsigned)cores - 1;
}

int noise_pool_acquire(unsigned threads)
{
    pthread_mutex_lock(&P.mu);
    if (P.users++ == 0) {
        unsigned want = workers_wanted(threads);
        P.stop = false;
        for (P.n = 0; P.n < want; P.n++)
            if (pthread_create(&P.th[P.n], NULL, worker_main, NULL) != 0)
                break;
        if (P.n < want)
            log_msg(LOG_WARN, "net",
                    "started %u of %u crypto threads: bulk transfer uses "
                    "fewer cores (raise the process's thread limit)",
                    P.n, want);
    }
    pthread_mutex_unlock(&P.mu);
    return 0;
}

void noise_pool_release(void)
{
    unsigned n;

    pthread_mutex_lock(&P.mu);
    if (P.users == 0 || --P.users > 0) {
        pthread_mutex_unlock(&P.mu);
        return;
    }
    P.stop = true;
    n = P.n;
    pthread_cond_broadcast(&P.work);
    pthread_mutex_unlock(&P.mu);
    for (unsigned i = 0; i < n; i++)
        pthread_join(P.th[i], NULL);
    pthread_mutex_lock(&P.mu);
    if (P.users == 0)
        P.n = 0;
    pthread_mutex_unlock(&P.mu);
}

unsigned noise_pool_workers(void)
{
    unsigned n;

    pthread_mutex_lock(&P.mu);
    n = P.stop ? 0 : P.n;
    pthread_mutex_unlock(&P.mu);
    return n;
}

static void run_alone(struct noise_job *jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        job_do(&jobs[i]);
}

void noise_pool_run(struct noise_job *jobs, size_t n)
{
    struct batch b = {.jobs = jobs, .n = n};
    unsigned wake;

    if (n < 2 || pthread_mutex_trylock(&P.submit) != 0) {
        run_alone(jobs, n);
        return;
    }
    pthread_mutex_lock(&P.mu);
    if (P.stop || P.n == 0) {
        pthread_mutex_unlock(&P.mu);
        pthread_mutex_unlock(&P.submit);
        run_alone(jobs, n);
        return;
    }
    P.cur = &b;
    P.gen++;
    wake = n - 1 < P.n ? (unsigned)(n - 1) : P.n;
    while (wake--)
        pthread_cond_signal(&P.work);
    pthread_mutex_unlock(&P.mu);

    batch_work(&b);

    pthread_mutex_lock(&P.mu);
    P.cur = NULL; /* no worker joins it from now on */
    while (P.inside > 0)
        pthread_cond_wait(&P.idle, &P.mu);
    pthread_mutex_unlock(&P.mu);
    pthread_mutex_unlock(&P.submit);
}
