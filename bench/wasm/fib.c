/*
 * fib: recursion. Naive Fibonacci and the Takeuchi function, so nearly all
 * the time goes to calls, returns, argument passing and compare-and-branch;
 * an engine's per-call cost (frame set-up, stack checks) dominates.
 *
 * Freestanding (no libc, no imports); exports run() returning a checksum.
 * REPS repetitions of the same work; the build makes a small variant with
 * REPS=1 for slow runners and quick checks.
 */
#include <stdint.h>

#ifndef REPS
#define REPS 20
#endif

/* volatile so the compiler cannot fold the work into constants. */
static volatile uint32_t reps = REPS;
static volatile uint32_t fib_n = 33;
static volatile int32_t tak_x = 27, tak_y = 18, tak_z = 9;

static uint32_t fib(uint32_t n)
{
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

static int32_t tak(int32_t x, int32_t y, int32_t z)
{
    if (y >= x)
        return z;
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

uint32_t run(void)
{
    uint32_t sum = 0;
    uint32_t n = reps;

    for (uint32_t i = 0; i < n; i++) {
        sum = sum * 31 + fib(fib_n) + i;
        sum = sum * 31 + (uint32_t)tak(tak_x, tak_y, tak_z);
    }
    return sum;
}
