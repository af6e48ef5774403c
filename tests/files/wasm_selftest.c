/*
 * The files core built for wasm32-wasi, run as a wasi command on
 * fastn-wasm (tests/integration/files_wasm.sh): the same known CIDs as
 * natively (from ipfs-unixfs-importer), a file read back through the
 * walker, folders at and over the HAMT threshold, a bitswap message built
 * and read. It proves the library compiles with -Werror for the plugin's
 * target, fits the plugin's 64 KiB stack, and computes the same there.
 *
 * The plugin will give files_sha256() over the host's import; this test
 * gives a portable SHA-256 (FIPS 180-4) of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

/* --- SHA-256 -------------------------------------------------------------- */

static const uint32_t K[64] = {
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

static uint32_t ror(uint32_t x, int n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64], s[8];

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3;
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10;
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(s, h, sizeof(s));
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = s[7] + (ror(s[4], 6) ^ ror(s[4], 11) ^ ror(s[4], 25)) +
                      ((s[4] & s[5]) ^ (~s[4] & s[6])) + K[i] + w[i];
        uint32_t t2 = (ror(s[0], 2) ^ ror(s[0], 13) ^ ror(s[0], 22)) +
                      ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
        memmove(s + 1, s, 7 * sizeof(s[0]));
        s[4] += t1;
        s[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        h[i] += s[i];
}

void files_sha256(const void *data, size_t n, uint8_t out[FILES_SHA256_LEN])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = data;
    uint8_t last[128] = {0};
    size_t full = n / 64, rest = n % 64, tail;

    for (size_t i = 0; i < full; i++)
        sha256_block(h, p + 64 * i);
    memcpy(last, p + 64 * full, rest);
    last[rest] = 0x80;
    tail = rest < 56 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        last[tail - 1 - i] = (uint8_t)((uint64_t)n * 8 >> (8 * i));
    sha256_block(h, last);
    if (tail == 128)
        sha256_block(h, last + 64);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

/* --- checks --------------------------------------------------------------- */

static int failures;

static void expect(const char *what, const struct files_cid *c,
                   const char *want)
{
    char s[FILES_CID_STR_MAX];
    files_cid_format(c, s, sizeof(s));
    if (strcmp(s, want)) {
        printf("FAIL %s: %s, want %s\n", what, s, want);
        failures++;
    } else {
        printf("ok   %s: %s\n", what, s);
    }
}

/* Keeps the blocks of small imports in memory, in a list. */
struct blk {
    struct files_cid cid;
    uint8_t *data;
    size_t len;
    struct blk *next;
};
static struct blk *blocks;

static int keep(void *ctx, const struct files_cid *cid, const uint8_t *b,
                size_t len)
{
    struct blk *k = malloc(sizeof(*k));
    (void)ctx;
    if (!k || !(k->data = malloc(len ? len : 1)))
        return FASTN_ERR_NOMEM;
    k->cid = *cid;
    memcpy(k->data, b, len);
    k->len = len;
    k->next = blocks;
    blocks = k;
    return 0;
}

static int count(void *ctx, const struct files_cid *cid, const uint8_t *b,
                 size_t len)
{
    (void)cid;
    (void)b;
    (void)len;
    ++*(size_t *)ctx;
    return 0;
}

static int get(void *ctx, const struct files_cid *cid, const uint8_t **b,
               size_t *len)
{
    (void)ctx;
    for (struct blk *k = blocks; k; k = k->next)
        if (files_cid_eq(&k->cid, cid)) {
            *b = k->data;
            *len = k->len;
            return 0;
        }
    return FASTN_ERR_NOT_FOUND;
}

static uint8_t gen_byte(size_t i)
{
    return (uint8_t)(i * 131 + (i >> 9));
}

struct got {
    size_t len;
    int bad;
};

static int on_event(void *ctx, const struct files_walk_event *ev)
{
    struct got *g = ctx;
    if (ev->type == FILES_WALK_DATA)
        for (size_t i = 0; i < ev->len; i++, g->len++)
            g->bad |= ev->data[i] != gen_byte(g->len);
    return 0;
}

static void small_files(void)
{
    const struct files_profile *p[2] = {&files_profile_v1_2025,
                                        &files_profile_v0_2015};
    const char *want[2] = {
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
        "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"};
    for (int k = 0; k < 2; k++) {
        struct files_importer *im;
        struct files_entry e;
        size_t n = 0;
        if (files_importer_new(p[k], count, &n, &im) ||
            files_importer_write(im, "hello world", 11) ||
            files_importer_finish(im, &e))
            failures++;
        files_importer_free(im);
        expect(p[k]->name, &e.cid, want[k]);
    }
}

static void read_back(void)
{
    /* 3 chunks and a bit in unixfs-v0-2015: dag-pb leaves, a file node */
    static uint8_t buf[262144 * 3 + 99];
    struct files_importer *im;
    struct files_entry e;
    struct got g = {0, 0};

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = gen_byte(i);
    if (files_importer_new(&files_profile_v0_2015, keep, NULL, &im) ||
        files_importer_write(im, buf, sizeof(buf)) ||
        files_importer_finish(im, &e))
        failures++;
    files_importer_free(im);
    int err = files_walk(&e.cid, NULL, 0, get, on_event, &g);
    if (err || g.len != sizeof(buf) || g.bad) {
        printf("FAIL read back: error %d, %zu bytes\n", err, g.len);
        failures++;
    } else {
        printf("ok   read back: %zu bytes through the walker\n", g.len);
    }
}

static void hamt(const struct files_profile *p, int count_, int width,
                 bool longer, const char *want)
{
    struct files_tree *t;
    struct files_entry e;
    size_t n = 0;
    char name[300];
    int err = files_tree_new(p, count, &n, &t);

    if (!err)
        err = files_tree_dir_begin(t, "", 0);
    for (int i = 0; !err && i < count_; i++) {
        int k = snprintf(name, sizeof(name), "f%d-", i);
        int w = width + (longer && i == 0);
        memset(name + k, 'n', (size_t)(w - k));
        if (!(err = files_tree_file_begin(t, name, (size_t)w)) &&
            !(err = files_tree_write(t, "x", 1)))
            err = files_tree_file_end(t);
    }
    if (!err && !(err = files_tree_dir_end(t)))
        err = files_tree_root(t, &e);
    files_tree_free(t);
    if (err) {
        printf("FAIL folder: error %d\n", err);
        failures++;
        return;
    }
    expect(longer ? "HAMT over the threshold" : "folder at the threshold",
           &e.cid, want);
}

static void bitswap(void)
{
    struct files_bitswap_builder b;
    struct files_bitswap_msg m;
    struct files_cid c;
    const uint8_t *out, *msg;
    size_t len, mlen, used;

    files_cid_of(1, FILES_CODEC_RAW, "leaf", 4, &c);
    files_bitswap_builder_init(&b);
    struct files_bitswap_want w = {c, 1, false, FILES_WANT_HAVE, true};
    if (files_bitswap_add_want(&b, &w) ||
        files_bitswap_add_block(&b, &c, (const uint8_t *)"leaf", 4) ||
        files_bitswap_finish(&b, &out, &len) ||
        files_bitswap_frame(out, len, &msg, &mlen, &used) ||
        files_bitswap_decode(msg, mlen, &m) || m.nwants != 1 ||
        m.nblocks != 1 || !files_cid_eq(&m.blocks[0].cid, &c)) {
        printf("FAIL bitswap message\n");
        failures++;
        return;
    }
    files_bitswap_msg_cleanup(&m);
    files_bitswap_builder_cleanup(&b);
    printf("ok   bitswap message: %zu bytes\n", len);
}

int main(void)
{
    small_files();
    read_back();
    hamt(&files_profile_v0_2015, 1024, 222, false,
         "QmRfpb74EhG5jMfrsYU7tq7ciioBTJnsLcFxCw7Ti5AbTf");
    hamt(&files_profile_v0_2015, 1024, 222, true,
         "QmZTy4i1WQWHXtyPnXATeK4154u8S3PZyG8fRkTqsgpvag");
    hamt(&files_profile_v1_2025, 1020, 211, true,
         "bafybeiete4kasaulw4tresahgwewjmbtztq6u7sy6ph2lhwr54qcfc2dhi");
    bitswap();
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
