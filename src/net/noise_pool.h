/*
 * noise_pool: Noise transport frames sealed and opened on every core.
 *
 * A process-wide pool of worker threads (the machine's cores less one,
 * at most NOISE_POOL_MAX) that the event loop hands a batch of frames
 * to: noise_pool_run() returns when every frame of the batch is done,
 * and the calling thread works on the batch too, so a batch never waits
 * for a worker that has not started (a busy machine costs no more than
 * doing it alone). Each frame carries its own nonce, given in order by
 * the connection when the frame was made, so that the order in which
 * the frames are done does not matter: the bytes on the wire are those
 * of sealing them one by one. A job's buffer belongs to the pool from
 * noise_pool_run()'s call to its return, and to the caller otherwise;
 * the key is only read.
 *
 * Without a pool (none acquired, or another thread's batch running) the
 * caller does the batch alone, so the cores stay usable anywhere.
 */
#ifndef FASTN_NET_NOISE_POOL_H
#define FASTN_NET_NOISE_POOL_H

#include <stddef.h>
#include <stdint.h>

#define NOISE_POOL_MAX 15 /* workers: 16 cores with the loop's thread */
/* Frames go to the pool only in batches of at least this many bytes. */
#define NOISE_POOL_MIN_BATCH (128u << 10)

struct noise_job {
    const uint8_t *key; /* 32 bytes */
    uint64_t nonce;
    uint8_t *buf; /* seal: plaintext in, ciphertext and tag out (len + 16);
                     open: ciphertext and tag in (len + 16), plaintext out */
    size_t len;   /* of the plaintext */
    int seal;     /* 1: seal, 0: open */
    int err;      /* out: 0, FASTN_ERR_CRYPTO or FASTN_ERR_NET_DECRYPT */
};

/* Starts the pool's workers on the first acquire (threads: how many, 0
 * for the machine's cores less one; FASTN_CRYPTO_THREADS in the
 * environment overrides both); each acquire needs a release, the last
 * one stops and joins them. Returns 0 (also when no thread could be
 * started: the caller then works alone). */
int noise_pool_acquire(unsigned threads);
void noise_pool_release(void);
/* How many workers run (0: none). */
unsigned noise_pool_workers(void);

/* Does jobs[0..n) (each job's err says how it went) and returns when all
 * are done. Thread-safe; one batch at a time uses the workers. */
void noise_pool_run(struct noise_job *jobs, size_t n);

#endif
