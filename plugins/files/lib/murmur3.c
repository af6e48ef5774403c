/*
 * murmur3 x64 128 (Austin Appleby's MurmurHash3_x64_128, seed 0), the
 * hash the UnixFS HAMT places names with (Data.hashType 0x22,
 * murmur3-x64-64: the first 64 bits of it). Not for security: HAMT
 * placement only.
 */
#include <string.h>

#include "files_int.h"

#define C1 0x87c37b91114253d5ull
#define C2 0x4cf5ad432745937full

static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t fmix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

static uint64_t le64(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = n; i > 0; i--)
        v = (v << 8) | p[i - 1];
    return v;
}

static void mix(uint64_t *h1, uint64_t *h2, uint64_t k1, uint64_t k2, bool full)
{
    k1 *= C1;
    k1 = rotl(k1, 31);
    k1 *= C2;
    *h1 ^= k1;
    if (full) {
        *h1 = rotl(*h1, 27);
        *h1 += *h2;
        *h1 = *h1 * 5 + 0x52dce729;
    }
    k2 *= C2;
    k2 = rotl(k2, 33);
    k2 *= C1;
    *h2 ^= k2;
    if (full) {
        *h2 = rotl(*h2, 31);
        *h2 += *h1;
        *h2 = *h2 * 5 + 0x38495ab5;
    }
}

static void put_be64(uint8_t *out, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

void files_murmur3_128(const void *data, size_t n, uint8_t out[16])
{
    const uint8_t *p = data;
    uint64_t h1 = 0, h2 = 0;
    size_t blocks = n / 16, tail = n % 16;

    for (size_t i = 0; i < blocks; i++)
        mix(&h1, &h2, le64(p + 16 * i, 8), le64(p + 16 * i + 8, 8), true);
    if (tail) {
        /* a short tail leaves k2 zero, which changes nothing in h2 */
        const uint8_t *t = p + 16 * blocks;
        uint64_t k1 = le64(t, tail < 8 ? tail : 8);
        uint64_t k2 = tail > 8 ? le64(t + 8, tail - 8) : 0;
        mix(&h1, &h2, k1, k2, false);
    }
    h1 ^= (uint64_t)n;
    h2 ^= (uint64_t)n;
    h1 += h2;
    h2 += h1;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 += h2;
    h2 += h1;
    put_be64(out, h1);
    put_be64(out + 8, h2);
}

unsigned files_hamt_index(const uint8_t *name, size_t n, unsigned depth)
{
    uint8_t h[16];

    if (depth < 8) {
        files_murmur3_128(name, n, h);
        return h[depth];
    }
    /* deeper than 64 bits: hash name || (depth / 8) for 64 more */
    uint8_t buf[FILES_NAME_MAX + 1];
    if (n > FILES_NAME_MAX)
        n = FILES_NAME_MAX;
    memcpy(buf, name, n);
    buf[n] = (uint8_t)(depth / 8);
    files_murmur3_128(buf, n + 1, h);
    return h[depth % 8];
}
