/*
 * memory: memory-heavy. A sieve of Eratosthenes over 8 MiB of flags and
 * a transpose of a 1024 x 1024 matrix of 32-bit words (4 MiB, read along
 * rows and written along columns), each repetition. The working set is
 * far beyond the caches, so the cost is in loads and stores and in each
 * engine's bounds checks on them, not in arithmetic.
 *
 * Freestanding (no libc, no imports); exports run() returning a checksum.
 */
#include <stdint.h>

#ifndef REPS
#define REPS 20
#endif
#define SIEVE_SIZE (8u << 20)
#define DIM 1024u

static volatile uint32_t reps = REPS;
static uint8_t composite[SIEVE_SIZE];
static uint32_t matrix[DIM * DIM];
static uint32_t transposed[DIM * DIM];

/* Counts the primes below SIEVE_SIZE; sums them too, for the checksum. */
static uint32_t sieve(void)
{
    uint32_t count = 0, sum = 0;

    for (uint32_t i = 0; i < SIEVE_SIZE; i++)
        composite[i] = 0;
    for (uint32_t i = 2; i * i < SIEVE_SIZE; i++) {
        if (composite[i])
            continue;
        for (uint32_t j = i * i; j < SIEVE_SIZE; j += i)
            composite[j] = 1;
    }
    for (uint32_t i = 2; i < SIEVE_SIZE; i++) {
        if (!composite[i]) {
            count++;
            sum += i;
        }
    }
    return count * 31 + sum;
}

static void transpose(uint32_t *dst, const uint32_t *src)
{
    for (uint32_t i = 0; i < DIM; i++)
        for (uint32_t j = 0; j < DIM; j++)
            dst[j * DIM + i] = src[i * DIM + j];
}

uint32_t run(void)
{
    uint32_t sum = 0;
    uint32_t n = reps;

    for (uint32_t i = 0; i < DIM * DIM; i++)
        matrix[i] = i * 2654435761u;
    for (uint32_t r = 0; r < n; r++) {
        sum = sum * 31 + sieve();
        matrix[r % (DIM * DIM)] += sum;
        transpose(transposed, matrix);
        transpose(matrix, transposed);
        sum = sum * 31 + transposed[(r * 7919) % (DIM * DIM)];
    }
    return sum;
}
