/*
 * sort: sorting. Quicksort (median of three, insertion sort for short
 * runs) and heap sort of 256 Ki pseudo-random 32-bit keys each repetition.
 * Stresses unpredictable branches, indexed loads and stores, and a
 * recursive function with a loop inside.
 *
 * Freestanding (no libc, no imports); exports run() returning a checksum.
 */
#include <stdint.h>

#ifndef REPS
#define REPS 20
#endif
#define COUNT (1u << 18)

static volatile uint32_t reps = REPS;
static uint32_t keys[COUNT];
static uint32_t rng = 0x12345678;

static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void fill(uint32_t *a, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        a[i] = next_random();
}

static void swap(uint32_t *a, uint32_t i, uint32_t j)
{
    uint32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
}

static void insertion_sort(uint32_t *a, int32_t lo, int32_t hi)
{
    for (int32_t i = lo + 1; i <= hi; i++) {
        uint32_t v = a[i];
        int32_t j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

/* Sorts a[lo..hi]; recurses on the smaller side, so the depth is log n. */
static void quicksort(uint32_t *a, int32_t lo, int32_t hi)
{
    while (hi - lo > 16) {
        int32_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo])
            swap(a, mid, lo);
        if (a[hi] < a[lo])
            swap(a, hi, lo);
        if (a[hi] < a[mid])
            swap(a, hi, mid);
        uint32_t pivot = a[mid];
        int32_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j)
                swap(a, (uint32_t)i++, (uint32_t)j--);
        }
        if (j - lo < hi - i) {
            quicksort(a, lo, j);
            lo = i;
        } else {
            quicksort(a, i, hi);
            hi = j;
        }
    }
    insertion_sort(a, lo, hi);
}

static void sift_down(uint32_t *a, uint32_t root, uint32_t n)
{
    uint32_t v = a[root];
    for (;;) {
        uint32_t child = 2 * root + 1;
        if (child >= n)
            break;
        if (child + 1 < n && a[child + 1] > a[child])
            child++;
        if (a[child] <= v)
            break;
        a[root] = a[child];
        root = child;
    }
    a[root] = v;
}

static void heapsort(uint32_t *a, uint32_t n)
{
    for (uint32_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (uint32_t end = n - 1; end > 0; end--) {
        swap(a, 0, end);
        sift_down(a, 0, end);
    }
}

/* A position-weighted sum that also fails if the keys are out of order. */
static uint32_t digest(const uint32_t *a, uint32_t n)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && a[i - 1] > a[i])
            return 0;
        sum += a[i] * (i | 1);
    }
    return sum;
}

uint32_t run(void)
{
    uint32_t sum = 0;
    uint32_t n = reps;

    for (uint32_t r = 0; r < n; r++) {
        fill(keys, COUNT);
        quicksort(keys, 0, COUNT - 1);
        sum = sum * 31 + digest(keys, COUNT);
        fill(keys, COUNT / 2);
        heapsort(keys, COUNT / 2);
        sum = sum * 31 + digest(keys, COUNT / 2);
    }
    return sum;
}
