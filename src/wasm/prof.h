/*
 * Development aid (a build with -DWASM_PROFILE only): counts executed
 * internal operations, pairs of consecutive operations and executions per
 * code location, and prints them to stderr at exit, the hottest code
 * locations as a listing in code order with their operands. This is how
 * the superinstructions were chosen; the product never defines
 * WASM_PROFILE.
 */
#ifndef FASTN_WASM_PROF_H
#define FASTN_WASM_PROF_H

#include <stdio.h>
#include <stdlib.h>

#include "wasm/wasm_int.h"

static const char *const wasm_prof_names[] = {
#define OPN_(name, nw, mask) #name,
    WASM_OPS(OPN_)
#undef OPN_
};

#define WASM_PROF_IPS (1u << 18)
static uint64_t wasm_prof_ops[OP_COUNT_];
static uint64_t wasm_prof_pairs[OP_COUNT_][OP_COUNT_];
static unsigned wasm_prof_last = OP_COUNT_;
static struct {
    const union wasm_cell *ip;
    uint64_t n;
    unsigned op;
} wasm_prof_at[WASM_PROF_IPS];

static void wasm_prof_hit(const union wasm_cell *ip, unsigned op)
{
    wasm_prof_ops[op]++;
    if (wasm_prof_last < OP_COUNT_)
        wasm_prof_pairs[wasm_prof_last][op]++;
    wasm_prof_last = op;
    size_t h = ((uintptr_t)ip >> 3) * 0x9e3779b97f4a7c15ull >> 46;
    for (size_t i = 0; i < WASM_PROF_IPS; i++) {
        size_t j = (h + i) & (WASM_PROF_IPS - 1);
        if (wasm_prof_at[j].ip == ip || !wasm_prof_at[j].ip) {
            wasm_prof_at[j].ip = ip;
            wasm_prof_at[j].op = op;
            wasm_prof_at[j].n++;
            return;
        }
    }
}

static int wasm_prof_cmp_n(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int wasm_prof_cmp_ip(const void *a, const void *b)
{
    const union wasm_cell *x = *(const union wasm_cell *const *)a;
    const union wasm_cell *y = *(const union wasm_cell *const *)b;
    return x < y ? -1 : x > y;
}

__attribute__((destructor)) static void wasm_prof_print(void)
{
    uint64_t total = 0, v[OP_COUNT_ * 2];
    size_t n = 0;
    for (unsigned i = 0; i < OP_COUNT_; i++)
        total += wasm_prof_ops[i];
    if (!total)
        return;
    fprintf(stderr, "wasm profile: %llu ops\n", (unsigned long long)total);
    for (unsigned i = 0; i < OP_COUNT_; i++)
        if (wasm_prof_ops[i])
            v[2 * n] = wasm_prof_ops[i], v[2 * n + 1] = i, n++;
    qsort(v, n, 2 * sizeof(uint64_t), wasm_prof_cmp_n);
    for (size_t i = 0; i < n && i < 40; i++)
        fprintf(stderr, "  %6.2f%% %s\n", 100.0 * v[2 * i] / total,
                wasm_prof_names[v[2 * i + 1]]);
    static uint64_t pv[3 * 4096];
    size_t np = 0;
    for (unsigned a = 0; a < OP_COUNT_; a++)
        for (unsigned b = 0; b < OP_COUNT_; b++)
            if (wasm_prof_pairs[a][b] * 1000 > total && np < 4096)
                pv[3 * np] = wasm_prof_pairs[a][b], pv[3 * np + 1] = a,
                       pv[3 * np + 2] = b, np++;
    qsort(pv, np, 3 * sizeof(uint64_t), wasm_prof_cmp_n);
    fprintf(stderr, "pairs:\n");
    for (size_t i = 0; i < np && i < 40; i++)
        fprintf(stderr, "  %6.2f%% %s %s\n", 100.0 * pv[3 * i] / total,
                wasm_prof_names[pv[3 * i + 1]], wasm_prof_names[pv[3 * i + 2]]);
    /* the hottest locations (over 0.2% each), in code order */
    static const union wasm_cell *hot[WASM_PROF_IPS];
    size_t nh = 0;
    for (size_t i = 0; i < WASM_PROF_IPS; i++)
        if (wasm_prof_at[i].ip && wasm_prof_at[i].n * 500 > total)
            hot[nh++] = wasm_prof_at[i].ip;
    qsort(hot, nh, sizeof(hot[0]), wasm_prof_cmp_ip);
    fprintf(stderr, "hot code:\n");
    for (size_t k = 0; k < nh; k++) {
        const union wasm_cell *ip = hot[k];
        size_t h = ((uintptr_t)ip >> 3) * 0x9e3779b97f4a7c15ull >> 46, j = h;
        while (wasm_prof_at[j].ip != ip)
            j = (j + 1) & (WASM_PROF_IPS - 1);
        unsigned op = wasm_prof_at[j].op, nw = wasm_op_words[op];
        if (op == OP_BR_TABLE || op == OP_BR_TABLE_X)
            nw = 2;
        fprintf(stderr, "  %p %6.2f%% %-16s", (const void *)ip,
                100.0 * wasm_prof_at[j].n / total, wasm_prof_names[op]);
        for (unsigned w = 0; w < nw; w++)
            fprintf(stderr, " %s%d", (wasm_op_slots[op] >> w & 1) ? "$" : "",
                    (int32_t)ip[1 + w / 2].w[w % 2]);
        fprintf(stderr, "\n");
    }
}

#endif
