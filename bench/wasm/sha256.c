/*
 * sha256: hashing. SHA-256 (FIPS 180-4) of a 1 MiB buffer, six times per
 * repetition, chained: each hash folds its digest into the buffer. Stresses
 * 32-bit integer arithmetic, rotates, big-endian loads and a long straight-line
 * compression function with many live values.
 *
 * Freestanding (no libc, no imports); exports run() returning a checksum.
 */
#include <stdint.h>

#ifndef REPS
#define REPS 20
#endif
#define BUF_SIZE (1u << 20)
#define HASHES_PER_REP 6

static volatile uint32_t reps = REPS;
static uint8_t buf[BUF_SIZE];

static const uint32_t k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* One 64-byte block into the state h[8]. */
static void compress(uint32_t h[8], const uint8_t *block)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = load_be32(block + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
                      ((e & f) ^ (~e & g)) + k[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) +
                      ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

/* SHA-256 of data[0..len) into out[32]. */
static void sha256(const uint8_t *data, uint32_t len, uint8_t out[32])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint8_t last[128];
    uint32_t full = len & ~63u, rest = len - full;

    for (uint32_t off = 0; off < full; off += 64)
        compress(h, data + off);
    for (uint32_t i = 0; i < 128; i++)
        last[i] = i < rest ? data[full + i] : 0;
    last[rest] = 0x80;
    uint32_t nlast = rest < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        last[nlast - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (uint32_t off = 0; off < nlast; off += 64)
        compress(h, last + off);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

uint32_t run(void)
{
    uint8_t digest[32];
    uint32_t x = 0x9e3779b9, sum = 0;
    uint32_t n = reps;

    /* xorshift32 fill, so the input is the same on every runner. */
    for (uint32_t i = 0; i < BUF_SIZE; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    for (uint32_t r = 0; r < n * HASHES_PER_REP; r++) {
        sha256(buf, BUF_SIZE - r, digest);
        for (int i = 0; i < 32; i++)
            buf[(r * 32 + i) % BUF_SIZE] ^= digest[i];
        sum = sum * 31 + load_be32(digest) + load_be32(digest + 28);
    }
    return sum;
}

#ifdef SHA256_SELFTEST
uint32_t sha256_selftest(void)
{
    static const uint8_t abc[3] = {'a', 'b', 'c'};
    uint8_t d[32];
    sha256(abc, 3, d);
    return load_be32(d);
}
#endif
