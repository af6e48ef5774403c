/*
 * words: string processing. Generates 1 MiB of pseudo-random text from
 * syllables, splits it into words, counts them in an open-addressing hash
 * table (FNV-1a, byte-wise key compares), then merge-sorts the distinct
 * words twice through a comparator function pointer: by frequency, and
 * alphabetically. Stresses byte loads and stores, short data-dependent
 * loops, and indirect calls (call_indirect).
 *
 * Freestanding (no libc, no imports); exports run() returning a checksum.
 */
#include <stdint.h>

#ifndef REPS
#define REPS 20
#endif
#define TEXT_SIZE (1u << 20)
#define TABLE_SIZE (1u << 17) /* above the vocabulary (69904) */

struct word {
    uint32_t start; /* offset in text */
    uint32_t len;
    uint32_t count;
};

typedef int (*compare_fn)(const struct word *, const struct word *);

static volatile uint32_t reps = REPS;
static uint8_t text[TEXT_SIZE];
static uint32_t table[TABLE_SIZE]; /* index + 1 into words, 0 = empty */
static struct word words[TABLE_SIZE];
static struct word scratch[TABLE_SIZE];
static uint32_t nwords;
static uint32_t rng = 0x2545f491;

static const char syllables[16][4] = {"ka",  "lo",  "mi",  "nu", "pe", "ra",
                                      "si",  "to",  "ve",  "xu", "ya", "ze",
                                      "qua", "bri", "sho", "th"};

static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Fills text with words of one to four syllables, some capitalized,
 * separated by spaces and punctuation. */
static void generate(void)
{
    uint32_t pos = 0;
    while (pos + 16 < TEXT_SIZE) {
        uint32_t x = next_random();
        uint32_t nsyl = 1 + (x & 3);
        for (uint32_t s = 0; s < nsyl; s++) {
            const char *syl = syllables[(x >> (4 + 4 * s)) & 15];
            for (uint32_t i = 0; i < 4 && syl[i]; i++)
                text[pos++] = (uint8_t)syl[i];
        }
        if ((x >> 20 & 7) == 0)
            text[pos - 1] -= 'a' - 'A';
        text[pos++] = (x >> 24 & 15) == 0 ? ',' : ' ';
        if ((x >> 28) == 0)
            text[pos++] = '\n';
    }
    while (pos < TEXT_SIZE)
        text[pos++] = ' ';
}

static int is_letter(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Case-insensitive equality of the word at a and the one at b. */
static int same_word(uint32_t a, uint32_t b, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        if (lower(text[a + i]) != lower(text[b + i]))
            return 0;
    return 1;
}

static void count_word(uint32_t start, uint32_t len)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ lower(text[start + i])) * 16777619u;
    for (uint32_t slot = h & (TABLE_SIZE - 1);;
         slot = (slot + 1) & (TABLE_SIZE - 1)) {
        uint32_t w = table[slot];
        if (w == 0) {
            if (nwords == TABLE_SIZE - 1)
                return; /* full: cannot happen with this vocabulary */
            words[nwords] = (struct word){start, len, 1};
            table[slot] = ++nwords;
            return;
        }
        struct word *e = &words[w - 1];
        if (e->len == len && same_word(e->start, start, len)) {
            e->count++;
            return;
        }
    }
}

static void count_words(void)
{
    for (uint32_t i = 0; i < TABLE_SIZE; i++)
        table[i] = 0;
    nwords = 0;
    uint32_t i = 0;
    while (i < TEXT_SIZE) {
        while (i < TEXT_SIZE && !is_letter(text[i]))
            i++;
        uint32_t start = i;
        while (i < TEXT_SIZE && is_letter(text[i]))
            i++;
        if (i > start)
            count_word(start, i - start);
    }
}

static int by_name(const struct word *a, const struct word *b)
{
    uint32_t n = a->len < b->len ? a->len : b->len;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t x = lower(text[a->start + i]), y = lower(text[b->start + i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return a->len < b->len ? -1 : a->len > b->len;
}

static int by_count(const struct word *a, const struct word *b)
{
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return by_name(a, b);
}

/* Stable merge sort of a[0..n) using tmp[0..n); noinline keeps cmp an
 * indirect call. */
__attribute__((noinline)) static void
merge_sort(struct word *a, struct word *tmp, uint32_t n, compare_fn cmp)
{
    for (uint32_t width = 1; width < n; width *= 2) {
        for (uint32_t lo = 0; lo < n; lo += 2 * width) {
            uint32_t mid = lo + width < n ? lo + width : n;
            uint32_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            uint32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp(&a[j], &a[i]) < 0 ? a[j++] : a[i++];
            while (i < mid)
                tmp[k++] = a[i++];
            while (j < hi)
                tmp[k++] = a[j++];
        }
        for (uint32_t i = 0; i < n; i++)
            a[i] = tmp[i];
    }
}

static uint32_t digest(void)
{
    uint32_t sum = nwords;
    for (uint32_t i = 0; i < nwords; i++)
        sum = sum * 31 + words[i].start + words[i].count * 7;
    return sum;
}

uint32_t run(void)
{
    static const compare_fn orders[2] = {by_count, by_name};
    uint32_t sum = 0;
    uint32_t n = reps;

    for (uint32_t r = 0; r < n; r++) {
        generate();
        count_words();
        for (uint32_t k = 0; k < 2; k++) {
            merge_sort(words, scratch, nwords, orders[(r + k) & 1]);
            sum = sum * 31 + digest();
        }
    }
    return sum;
}
