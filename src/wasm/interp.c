/*
 * The interpreter: runs the internal code of compile.c.
 *
 * Threaded dispatch: under GCC/clang each op cell holds the address of
 * its handler and every handler ends by jumping to the next one
 * (computed goto); elsewhere a switch over op indices does the same job.
 * Calls between wasm functions do not recurse on the host stack: frames
 * live in the instance's bounded frame array and value stack, and both
 * limits are checked on every call (a trap, "call stack exhausted", not a
 * host crash). Only host functions run on the host stack, and wasm
 * re-entered from them is limited to WASM_MAX_NEST levels.
 *
 * Fuel is charged by FUEL ops at function entries and loop heads, and by
 * size by the bulk memory and table operations and growth (see
 * bulk_take); when it runs out, the state is kept so the call can be
 * resumed, a bulk operation where it stopped. Memory and tables grow
 * within their owner's memory budget (struct wasm_budget).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wasm/wasm_int.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the wasm engine assumes a little-endian host"
#endif

const uint8_t wasm_op_words[OP_COUNT_] = {
#define OPW_(name, nw, mask) nw,
    WASM_OPS(OPW_)
#undef OPW_
};
const uint8_t wasm_op_slots[OP_COUNT_] = {
#define OPM_(name, nw, mask) mask,
    WASM_OPS(OPM_)
#undef OPM_
};

/* ---- memory and tables ------------------------------------------------ */

bool wasm_budget_fits(const struct wasm_budget *b, uint64_t n)
{
    if (!b)
        return true;
    uint64_t used =
        b->memory + b->tables + b->globals + b->engine + b->external;
    return used <= b->limit && n <= b->limit - used;
}

/* Bytes budget b has left (UINT64_MAX without one). */
static uint64_t budget_room(const struct wasm_budget *b)
{
    if (!b)
        return UINT64_MAX;
    uint64_t used =
        b->memory + b->tables + b->globals + b->engine + b->external;
    return used < b->limit ? b->limit - used : 0;
}

int wasm_memory_init(struct wasm_memory *mem, uint32_t min, uint32_t max_pages,
                     struct wasm_budget *budget)
{
    memset(mem, 0, sizeof(*mem));
    mem->max_pages = max_pages;
    mem->budget = budget;
    mem->reserved = (uint64_t)max_pages * WASM_PAGE;
    if (mem->reserved == 0)
        return 0;
    /* Reserve the largest size once, so that the memory never moves and
     * growing it is one mprotect. */
    void *p = mmap(NULL, mem->reserved, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        mem->reserved = 0;
        return FASTN_ERR_NOMEM;
    }
    mem->data = p;
    if (min && wasm_memory_grow(mem, min) < 0) {
        wasm_memory_cleanup(mem);
        return FASTN_ERR_NOMEM;
    }
    return 0;
}

void wasm_memory_cleanup(struct wasm_memory *mem)
{
    if (mem->data)
        munmap(mem->data, mem->reserved);
    if (mem->budget)
        mem->budget->memory -= mem->size;
    memset(mem, 0, sizeof(*mem));
}

bool wasm_memory_can_grow(const struct wasm_memory *mem, uint32_t delta)
{
    uint64_t old = mem->size / WASM_PAGE;
    return old + delta <= mem->max_pages &&
           wasm_budget_fits(mem->budget, (uint64_t)delta * WASM_PAGE);
}

int64_t wasm_memory_grow(struct wasm_memory *mem, uint32_t delta)
{
    uint64_t old = mem->size / WASM_PAGE;
    if (delta == 0)
        return (int64_t)old;
    if (!wasm_memory_can_grow(mem, delta))
        return -1;
    uint64_t nsize = (old + delta) * WASM_PAGE;
    if (mprotect(mem->data + mem->size, nsize - mem->size,
                 PROT_READ | PROT_WRITE) != 0)
        return -1;
    if (mem->budget)
        mem->budget->memory += nsize - mem->size;
    mem->size = nsize;
    return (int64_t)old;
}

bool wasm_table_can_grow(const struct wasm_table *t, uint32_t delta,
                         uint32_t cap)
{
    uint64_t nsize = (uint64_t)t->size + delta;
    if (nsize > t->max || nsize > cap)
        return false;
    return nsize <= t->cap ||
           wasm_budget_fits(t->budget, (nsize - t->cap) * sizeof(void *));
}

/* The entries to allocate for a table growing to nsize: twice what it
 * has (so that growing one by one costs linear time in all), but not
 * past its maximum, cap or budget. */
static uint64_t table_new_cap(const struct wasm_table *t, uint64_t nsize,
                              uint32_t cap)
{
    uint64_t want = (uint64_t)t->cap * 2;
    uint64_t room = budget_room(t->budget) / sizeof(void *) + t->cap;
    if (want > t->max)
        want = t->max;
    if (want > cap)
        want = cap;
    if (want > room)
        want = room;
    return want > nsize ? want : nsize;
}

int64_t wasm_table_grow(struct wasm_table *t, uint32_t delta, void *init,
                        uint32_t cap)
{
    uint32_t old = t->size;
    uint64_t nsize = (uint64_t)old + delta;
    if (!wasm_table_can_grow(t, delta, cap))
        return -1;
    if (delta == 0)
        return old;
    if (nsize > t->cap) {
        uint64_t ncap = table_new_cap(t, nsize, cap);
        void **n = realloc(t->refs, ncap * sizeof(void *));
        if (!n)
            return -1;
        if (t->budget)
            t->budget->tables += (ncap - t->cap) * sizeof(void *);
        t->refs = n;
        t->cap = (uint32_t)ncap;
    }
    for (uint64_t i = old; i < nsize; i++)
        t->refs[i] = init;
    t->size = (uint32_t)nsize;
    return old;
}

/* ---- numeric helpers (WebAssembly 2.0 sec. 4.3) ----------------------- */

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float f32_from(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint64_t f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static double f64_from(uint64_t u)
{
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* NaN results are made deterministic: an operation with a NaN operand
 * returns the first NaN operand, quieted (what x86 and ARM return when
 * only one operand is NaN); one that creates a NaN returns the
 * hardware's default NaN. The C compiler may otherwise put either operand
 * of a commutative operation first, so the payload would depend on how a
 * handler was compiled (and on which accumulator variant runs). All these
 * are arithmetic NaNs, as the spec requires. */
static float f32_nan2(float a, float b)
{
    return f32_from(f32_bits(isnan(a) ? a : b) | 0x00400000u);
}

static double f64_nan2(double a, double b)
{
    return f64_from(f64_bits(isnan(a) ? a : b) | 0x0008000000000000ull);
}

static inline float f32_arith(float r, float a, float b)
{
    if (__builtin_expect(r == r, 1) || (!isnan(a) && !isnan(b)))
        return r;
    return f32_nan2(a, b);
}

static inline double f64_arith(double r, double a, double b)
{
    if (__builtin_expect(r == r, 1) || (!isnan(a) && !isnan(b)))
        return r;
    return f64_nan2(a, b);
}

static float f32_min(float a, float b)
{
    if (isnan(a) || isnan(b))
        return f32_nan2(a, b);
    if (a == b) /* -0 is below +0 */
        return f32_from(f32_bits(a) | f32_bits(b));
    return a < b ? a : b;
}

static float f32_max(float a, float b)
{
    if (isnan(a) || isnan(b))
        return f32_nan2(a, b);
    if (a == b)
        return f32_from(f32_bits(a) & f32_bits(b));
    return a > b ? a : b;
}

static double f64_min(double a, double b)
{
    if (isnan(a) || isnan(b))
        return f64_nan2(a, b);
    if (a == b)
        return f64_from(f64_bits(a) | f64_bits(b));
    return a < b ? a : b;
}

static double f64_max(double a, double b)
{
    if (isnan(a) || isnan(b))
        return f64_nan2(a, b);
    if (a == b)
        return f64_from(f64_bits(a) & f64_bits(b));
    return a > b ? a : b;
}

/* Rounding functions must return a quiet NaN for any NaN (the C library
 * may pass a signalling NaN through unchanged). */
static float f32_round(float x, int how)
{
    if (isnan(x))
        return x + x;
    switch (how) {
    case 0:
        return ceilf(x);
    case 1:
        return floorf(x);
    case 2:
        return truncf(x);
    default:
        return rintf(x);
    }
}

static double f64_round(double x, int how)
{
    if (isnan(x))
        return x + x;
    switch (how) {
    case 0:
        return ceil(x);
    case 1:
        return floor(x);
    case 2:
        return trunc(x);
    default:
        return rint(x);
    }
}

static uint32_t clz32(uint32_t x)
{
    unsigned n = 0;
    if (x == 0)
        return 32;
#if defined(__GNUC__)
    n = (unsigned)__builtin_clz(x);
#else
    while (!(x & 0x80000000u))
        x <<= 1, n++;
#endif
    return n;
}

static uint64_t clz64(uint64_t x)
{
    unsigned n = 0;
    if (x == 0)
        return 64;
#if defined(__GNUC__)
    n = (unsigned)__builtin_clzll(x);
#else
    while (!(x & 0x8000000000000000ull))
        x <<= 1, n++;
#endif
    return n;
}

static uint32_t ctz32(uint32_t x)
{
    unsigned n = 0;
    if (x == 0)
        return 32;
#if defined(__GNUC__)
    n = (unsigned)__builtin_ctz(x);
#else
    while (!(x & 1))
        x >>= 1, n++;
#endif
    return n;
}

static uint64_t ctz64(uint64_t x)
{
    unsigned n = 0;
    if (x == 0)
        return 64;
#if defined(__GNUC__)
    n = (unsigned)__builtin_ctzll(x);
#else
    while (!(x & 1))
        x >>= 1, n++;
#endif
    return n;
}

static uint32_t popcnt64(uint64_t x)
{
#if defined(__GNUC__)
    return (uint32_t)__builtin_popcountll(x);
#else
    uint32_t n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
#endif
}

static uint32_t rotl32(uint32_t a, uint32_t k)
{
    k &= 31;
    return (a << k) | (a >> ((32 - k) & 31));
}

static uint64_t rotl64(uint64_t a, uint64_t k)
{
    k &= 63;
    return (a << k) | (a >> ((64 - k) & 63));
}

/* Saturating truncations: NaN is 0, out of range clamps. */
static int32_t sat_i32(double d)
{
    if (isnan(d))
        return 0;
    if (d <= -2147483649.0)
        return INT32_MIN;
    if (d >= 2147483648.0)
        return INT32_MAX;
    return (int32_t)d;
}

static uint32_t sat_u32(double d)
{
    if (isnan(d) || d <= -1.0)
        return 0;
    if (d >= 4294967296.0)
        return UINT32_MAX;
    return (uint32_t)d;
}

static int64_t sat_i64(double d)
{
    if (isnan(d))
        return 0;
    if (d < -9223372036854775808.0)
        return INT64_MIN;
    if (d >= 9223372036854775808.0)
        return INT64_MAX;
    return (int64_t)d;
}

static uint64_t sat_u64(double d)
{
    if (isnan(d) || d <= -1.0)
        return 0;
    if (d >= 18446744073709551616.0)
        return UINT64_MAX;
    return (uint64_t)d;
}

/* Trapping truncation checks: 0 when d converts, else the trap. */
static int trunc_check(double d, double lo, double hi)
{
    if (isnan(d))
        return FASTN_ERR_WASM_TRAP_INVALID_CONVERSION;
    if (!(d > lo && d < hi))
        return FASTN_ERR_WASM_TRAP_INT_OVERFLOW;
    return 0;
}

/* ---- the interpreter -------------------------------------------------- */

/* Operand word k. Read through the cell's 64-bit value: two operands then
 * cost one load (load ports, not ALUs, are what an interpreter runs out
 * of: about 30% faster on a loop of independent adds). */
#define W(k) ((uint32_t)(ip[1 + (k) / 2].u64 >> (32 * ((k) % 2))))
#define S(k) (fp[W(k)])
#define TRAP(code)                                                             \
    do {                                                                       \
        err = (code);                                                          \
        goto trap;                                                             \
    } while (0)

/* Computed goto under GCC/clang; -DWASM_NO_THREADED selects the portable
 * switch (used to test it). */
#if defined(__GNUC__) && !defined(WASM_NO_THREADED)
#define THREADED 1
#else
#define THREADED 0
#endif

#if defined(WASM_PROFILE) /* development: count executed ops */
#include "wasm/prof.h"
#define PROF(name) wasm_prof_hit(ip, OP_##name);
#else
#define PROF(name)
#endif
#if THREADED
#define OP(name) L_##name : PROF(name)
#define DISPATCH() goto * ip->op
#else
#define OP(name)                                                               \
    case OP_##name:                                                            \
        PROF(name)
#define DISPATCH() goto dispatch
#endif
#define NEXT(cells)                                                            \
    do {                                                                       \
        ip += (cells);                                                         \
        DISPATCH();                                                            \
    } while (0)
/* Stops a bulk operation that did part of its work (see bulk_take). */
#define BULK_STOP(part)                                                        \
    do {                                                                       \
        x->s_part = (part);                                                    \
        x->s_part_ip = ip;                                                     \
        goto bulk_stop;                                                        \
    } while (0)
/* Jumps by the offset in word k: bytes relative to the cell holding the
 * word (a multiple of 8, so the next ip is one add away), plus 1 for a
 * branch back to a metered loop's head: the branch charges that head's
 * FUEL op itself, saving a dispatch per turn. When fuel is short it stops
 * at the FUEL op, as if that op had run. */
#define JUMP(k) JUMP_TO(ip + 1 + (k) / 2, (int32_t)W(k))
#define JUMP_TO(base, off)                                                     \
    do {                                                                       \
        int32_t o_ = (off);                                                    \
        ip = (const union wasm_cell *)((const char *)(base) + o_);             \
        if (o_ & 1) {                                                          \
            ip = (const union wasm_cell *)((const char *)ip - 1);              \
            uint32_t n_ = ip[1].w[0];                                          \
            if (fuel < n_) {                                                   \
                err = FASTN_ERR_WASM_TRAP_OUT_OF_FUEL;                         \
                goto out_of_fuel;                                              \
            }                                                                  \
            fuel -= n_;                                                        \
            ip += 2;                                                           \
        }                                                                      \
        DISPATCH();                                                            \
    } while (0)

/* Results are always stored as 8 bytes: a 4-byte store followed by an
 * 8-byte load of the same slot (a MOV) defeats store forwarding. */
#define SET_u32(k, v) (S(k).u64 = (uint32_t)(v))
#define SET_i32(k, v) (S(k).u64 = (uint32_t)(int32_t)(v))
#define SET_u64(k, v) (S(k).u64 = (v))
#define SET_i64(k, v) (S(k).i64 = (v))
#define SET_f32(k, v) (S(k).u64 = f32_bits(v))
#define SET_f64(k, v) (S(k).f64 = (v))
#define SET_ref(k, v) (S(k).ref = (v))
/* The accumulator (see wasm_int.h): ACCIN_t reads a value of type t
 * from it, ACCOUT_t writes one; f64 values live in facc, the others in
 * acc (f32 as its bits). */
#define CT_u32 uint32_t
#define CT_i32 int32_t
#define CT_u64 uint64_t
#define CT_i64 int64_t
#define CT_f32 float
#define CT_f64 double
#define SLOT_u32(k) S(k).u32
#define SLOT_i32(k) S(k).i32
#define SLOT_u64(k) S(k).u64
#define SLOT_i64(k) S(k).i64
#define SLOT_f32(k) S(k).f32
#define SLOT_f64(k) S(k).f64
#define ACCIN_u32 ((uint32_t)acc)
#define ACCIN_i32 ((int32_t)(uint32_t)acc)
#define ACCIN_u64 (acc)
#define ACCIN_i64 ((int64_t)acc)
#define ACCIN_f32 f32_from((uint32_t)acc)
#define ACCIN_f64 (facc)
#define ACCOUT_u32(v) (acc = (uint32_t)(v))
#define ACCOUT_i32(v) (acc = (uint32_t)(int32_t)(v))
#define ACCOUT_u64(v) (acc = (v))
#define ACCOUT_i64(v) (acc = (uint64_t)(v))
#define ACCOUT_f32(v) (acc = f32_bits(v))
#define ACCOUT_f64(v) (facc = (v))
/* A result to slot 0 and the accumulator (M), or to the accumulator
 * only (R). */
#define OUT_M(TO, v)                                                           \
    do {                                                                       \
        CT_##TO r_ = (v);                                                      \
        SET_##TO(0, r_);                                                       \
        ACCOUT_##TO(r_);                                                       \
    } while (0)
#define OUT_R(TO, v) ACCOUT_##TO(v)
#define BIN_ONE(N, TI, TO, expr, A, B, OUT)                                    \
    OP(N)                                                                      \
    {                                                                          \
        CT_##TI a = A;                                                         \
        CT_##TI b = B;                                                         \
        OUT(TO, expr);                                                         \
        NEXT(3);                                                               \
    }
/* The six variants of a binary operation (ACC6). */
#define BIN6(N, TI, TO, expr)                                                  \
    BIN_ONE(N, TI, TO, expr, SLOT_##TI(1), SLOT_##TI(2), OUT_M)                \
    BIN_ONE(N##_SS_R, TI, TO, expr, SLOT_##TI(1), SLOT_##TI(2), OUT_R)         \
    BIN_ONE(N##_RS_M, TI, TO, expr, ACCIN_##TI, SLOT_##TI(2), OUT_M)           \
    BIN_ONE(N##_SR_M, TI, TO, expr, SLOT_##TI(1), ACCIN_##TI, OUT_M)           \
    BIN_ONE(N##_RS_R, TI, TO, expr, ACCIN_##TI, SLOT_##TI(2), OUT_R)           \
    BIN_ONE(N##_SR_R, TI, TO, expr, SLOT_##TI(1), ACCIN_##TI, OUT_R)
/* A unary operation (dst, a) and its _X variant (a from acc); expr is in
 * terms of a. */
#define UN_ONE(N, TI, TO, expr, A)                                             \
    OP(N)                                                                      \
    {                                                                          \
        CT_##TI a = A;                                                         \
        OUT_M(TO, expr);                                                       \
        NEXT(2);                                                               \
    }
#define UN(N, TI, TO, expr)                                                    \
    UN_ONE(N, TI, TO, expr, SLOT_##TI(1))                                      \
    UN_ONE(N##_X, TI, TO, expr, ACCIN_##TI)
/* Trapping float-to-integer conversions. */
#define TRUNC_ONE(N, TI, TO, T, lo, hi, A)                                     \
    OP(N)                                                                      \
    {                                                                          \
        CT_##TI a = A;                                                         \
        int e_ = trunc_check(a, lo, hi);                                       \
        if (e_)                                                                \
            TRAP(e_);                                                          \
        OUT_M(TO, (T)a);                                                       \
        NEXT(2);                                                               \
    }
#define TRUNC(N, TI, TO, T, lo, hi)                                            \
    TRUNC_ONE(N, TI, TO, T, lo, hi, SLOT_##TI(1))                              \
    TRUNC_ONE(N##_X, TI, TO, T, lo, hi, ACCIN_##TI)
/* A compare-and-branch (a, b, offset) and its _RS and _SR variants;
 * cond is in terms of a and b. */
#define CMPBR_ONE(N, TI, cond, A, B)                                           \
    OP(N)                                                                      \
    {                                                                          \
        CT_##TI a = A;                                                         \
        CT_##TI b = B;                                                         \
        if (cond)                                                              \
            JUMP(2);                                                           \
        NEXT(3);                                                               \
    }
#define CMPBR(N, TI, cond)                                                     \
    CMPBR_ONE(N, TI, cond, SLOT_##TI(0), SLOT_##TI(1))                         \
    CMPBR_ONE(N##_RS, TI, cond, ACCIN_##TI, SLOT_##TI(1))                      \
    CMPBR_ONE(N##_SR, TI, cond, SLOT_##TI(0), ACCIN_##TI)
/* A branch on one value (x, offset) and its _X variant. */
#define BRX(N, TI, cond)                                                       \
    OP(N)                                                                      \
    {                                                                          \
        CT_##TI a = SLOT_##TI(0);                                              \
        if (cond)                                                              \
            JUMP(1);                                                           \
        NEXT(2);                                                               \
    }                                                                          \
    OP(N##_X)                                                                  \
    {                                                                          \
        CT_##TI a = ACCIN_##TI;                                                \
        if (cond)                                                              \
            JUMP(1);                                                           \
        NEXT(2);                                                               \
    }
/* Loads and stores: EA is the effective address (a slot plus the offset,
 * two slots plus it, or acc plus it), OUT where the loaded value goes, V
 * the value stored. */
#define EA_PLAIN ((uint64_t)S(1).u32 + W(2))
#define EA_ADD ((uint64_t)(uint32_t)(S(1).u32 + S(2).u32) + W(3))
#define EA_ACC ((uint64_t)(uint32_t)acc + W(2))
#define LOADX(name, T, EA, OUT)                                                \
    OP(name)                                                                   \
    {                                                                          \
        uint64_t ea = EA;                                                      \
        T v_;                                                                  \
        if (ea + sizeof(T) > msize)                                            \
            TRAP(FASTN_ERR_WASM_TRAP_MEMORY_OOB);                              \
        memcpy(&v_, mem + ea, sizeof(T));                                      \
        OUT;                                                                   \
        NEXT(3);                                                               \
    }
#define STOREX(name, T, EA, V)                                                 \
    OP(name)                                                                   \
    {                                                                          \
        uint64_t ea = EA;                                                      \
        T v_ = (T)(V);                                                         \
        if (ea + sizeof(T) > msize)                                            \
            TRAP(FASTN_ERR_WASM_TRAP_MEMORY_OOB);                              \
        memcpy(mem + ea, &v_, sizeof(T));                                      \
        NEXT(3);                                                               \
    }
/* A load in its six forms (LOAD6): address from a slot, a sum or acc,
 * value to slot and accumulator or to the accumulator only. A 64-bit
 * load fills both acc and facc (it may be read as i64 or f64). */
#define LOAD_M(field, v) OUT_M(field, v)
#define LOAD_R(field, v) OUT_R(field, v)
#define LOAD_M64(field, v)                                                     \
    do {                                                                       \
        S(0).u64 = acc = (v);                                                  \
        facc = f64_from(acc);                                                  \
    } while (0)
#define LOAD_R64(field, v)                                                     \
    do {                                                                       \
        acc = (v);                                                             \
        facc = f64_from(acc);                                                  \
    } while (0)
#define LOADS6(name, T, field, cast, M, R)                                     \
    LOADX(name, T, EA_PLAIN, M(field, cast v_))                                \
    LOADX(name##_A, T, EA_ADD, M(field, cast v_))                              \
    LOADX(name##_X, T, EA_ACC, M(field, cast v_))                              \
    LOADX(name##_R, T, EA_PLAIN, R(field, cast v_))                            \
    LOADX(name##_A_R, T, EA_ADD, R(field, cast v_))                            \
    LOADX(name##_X_R, T, EA_ACC, R(field, cast v_))
#define STORES5(name, T)                                                       \
    STOREX(name, T, EA_PLAIN, S(0).u64)                                        \
    STOREX(name##_A, T, EA_ADD, S(0).u64)                                      \
    STOREX(name##_X, T, EA_ACC, S(0).u64)                                      \
    STOREX(name##_V, T, EA_PLAIN, acc)                                         \
    STOREX(name##_A_V, T, EA_ADD, acc)

static void reload_mem(const struct fastn_wasm_instance *inst, uint8_t **mem,
                       uint64_t *msize)
{
    *mem = inst->mem->data; /* never moves (see wasm_memory_init) */
    *msize = inst->mem->size;
}

/* Sets up c's frame at fp (its arguments are in place): zeroes the other
 * locals and copies the constants, from one template. A plain loop: the
 * counts are small, a libc call costs more. */
static inline void init_frame(const struct wasm_code *c,
                              union fastn_wasm_value *fp)
{
    uint64_t *d = &fp[c->nparams].u64;
    const uint64_t *s = c->init;
    for (uint32_t i = 0, n = c->ninit; i < n; i++)
        d[i] = s[i];
}

static int enter(const struct wasm_exec *x, const struct wasm_code *c,
                 union fastn_wasm_value *fp)
{
    if (c->frame > (size_t)(x->stack_end - fp))
        return FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED;
    init_frame(c, fp);
    return 0;
}

/* Bulk operations (memory.fill/copy/init, table.fill/copy/init) are
 * charged by size as they run, at `per` bytes or elements a unit. One
 * whose price is more than the fuel left does as much as the fuel pays
 * for, then stops the run, resumable: x->s_part keeps how far it got (for
 * the op at x->s_part_ip), and resuming continues the same operation.
 * bulk_take returns how many of the `left` items to do now and takes
 * their fuel. */
static uint64_t bulk_take(uint64_t *fuel, uint64_t left, unsigned per)
{
    uint64_t cost = left / per;
    if (cost <= *fuel) {
        *fuel -= cost;
        return left;
    }
    left = *fuel * per; /* less than left: *fuel < left / per */
    *fuel = 0;
    return left;
}

/* What a stopped run left for the op at ip (0 for any other op, or when
 * no run stopped), consumed: the first op a resumed run executes is the
 * one that stopped, and every other run starts with nothing kept. */
static uint64_t part_take(struct wasm_exec *x, const union wasm_cell *ip)
{
    uint64_t p = x->s_part_ip == ip ? x->s_part : 0;
    x->s_part = 0;
    x->s_part_ip = NULL;
    return p;
}

/* The items a stopped bulk operation of n items at ip had done. */
static uint64_t bulk_done(struct wasm_exec *x, const union wasm_cell *ip,
                          uint64_t n)
{
    uint64_t p = part_take(x, ip);
    return p < n ? p : 0;
}

/* Growth (memory.grow, table.grow) is paid before it is done, in
 * installments when the fuel left is short: x->s_part keeps what was
 * paid, the run stops, and resuming pays the rest and grows. paid is what
 * earlier attempts paid (part_take). True when the price is paid. */
static bool grow_pay(struct wasm_exec *x, const union wasm_cell *ip,
                     uint64_t *fuel, uint64_t paid, uint64_t cost)
{
    if (paid > cost)
        paid = 0;
    if (*fuel < cost - paid) {
        x->s_part = paid + *fuel;
        x->s_part_ip = ip;
        *fuel = 0;
        return false;
    }
    *fuel -= cost - paid;
    return true;
}

/* memmove of n items of size sz from src to dst, of which done were
 * moved already, k more now: front to back when dst <= src, else back to
 * front, so that the pieces of an overlapping move compose to one. */
static void move_part(uint8_t *dst, const uint8_t *src, uint64_t n,
                      uint64_t done, uint64_t k, size_t sz)
{
    uint64_t at = dst <= src ? done : n - done - k;
    if (k)
        memmove(dst + at * sz, src + at * sz, k * sz);
}

/* Runs from ip in frame fp until the frame at depth base_depth returns.
 * With x NULL, stores the handler table in *table instead. */
/* Keeps where a run trapped or stopped: the op at ip in inst, then the
 * return address of each call below it down to base (fastn_wasm_trace). */
static void trace_note(struct wasm_exec *x, const union wasm_cell *ip,
                       const struct fastn_wasm_instance *inst,
                       const struct wasm_frame *fr,
                       const struct wasm_frame *base)
{
    uint32_t n = 0;
    x->trace_ip[n] = ip;
    x->trace_inst[n++] = inst;
    x->trace_depth = (uint32_t)(fr - base) + 1;
    while (fr > base && n < WASM_TRACE_MAX) {
        fr--;
        x->trace_ip[n] = fr->ip - 1; /* inside the call op */
        x->trace_inst[n++] = fr->inst;
    }
    x->ntrace = n;
}

static int run(struct wasm_exec *x, struct fastn_wasm_instance *inst,
               const union wasm_cell *ip, union fastn_wasm_value *fp,
               uint32_t base_depth, const void *const **table)
{
#if THREADED
    static const void *const labels[] = {
#define OPL_(name, nw, mask) &&L_##name,
        WASM_OPS(OPL_)
#undef OPL_
    };
#else
    static const void *const labels[] = {
#define OPL_(name, nw, mask) (const void *)(uintptr_t)OP_##name,
        WASM_OPS(OPL_)
#undef OPL_
    };
#endif
    if (!x) {
        *table = labels;
        return 0;
    }
    uint8_t *mem;
    uint64_t msize;
    uint64_t fuel = x->owner->fuel;
    int err = 0;
    struct wasm_func *f;
    const struct wasm_code *callee;
    struct fastn_wasm_instance *callee_inst;
    union fastn_wasm_value *nfp;
    const union wasm_cell *ret;
    /* the caller frames: fr is the next free one (x->depth is written
     * back when leaving run() or calling a host function) */
    struct wasm_frame *fr = x->frames + x->depth;
    struct wasm_frame *fr_base = x->frames + base_depth;
    uint64_t acc = 0;  /* the accumulator (see wasm_int.h) */
    double facc = 0.0; /* its f64 half */
    reload_mem(inst, &mem, &msize);
    DISPATCH();

#if !THREADED
dispatch:
    switch ((uintptr_t)ip->op) {
#endif
        OP(UNREACHABLE) TRAP(FASTN_ERR_WASM_TRAP_UNREACHABLE);
        OP(BR) JUMP(0);
        BRX(BR_IF, u32, a != 0)
        BRX(BR_IF_NOT, u32, a == 0)
        BRX(BR_I64_EQZ, u64, a == 0)
        BRX(BR_I64_NEZ, u64, a != 0)
        OP(BR_TABLE)
        {
            uint32_t i = S(0).u32, n = W(1);
            if (i > n)
                i = n;
            JUMP_TO(ip + 1 + (2 + i) / 2, (int32_t)W(2 + i));
        }
        OP(BR_TABLE_X)
        {
            uint32_t i = (uint32_t)acc, n = W(1);
            if (i > n)
                i = n;
            JUMP_TO(ip + 1 + (2 + i) / 2, (int32_t)W(2 + i));
        }
        OP(CALL)
        {
            f = inst->funcs[W(0)];
            nfp = fp + W(1);
            ret = ip + 2;
            goto do_call;
        }
        OP(CALL_INDIRECT)
        {
            const struct wasm_table *t = inst->tables[W(0)];
            uint32_t i = S(2).u32;
            if (i >= t->size)
                TRAP(FASTN_ERR_WASM_TRAP_UNDEFINED_ELEMENT);
            f = t->refs[i];
            if (!f)
                TRAP(FASTN_ERR_WASM_TRAP_UNINITIALIZED_ELEMENT);
            const struct wasm_functype *want = &inst->mod->types[W(1)];
            if (f->type != want && !wasm_type_equal(f->type, want))
                TRAP(FASTN_ERR_WASM_TRAP_INDIRECT_CALL_TYPE);
            nfp = fp + W(3);
            ret = ip + 3;
            goto do_call;
        }
        OP(CALL_DIRECT)
        {
            callee = (const struct wasm_code *)(uintptr_t)ip[1].u64;
            callee_inst = inst;
            nfp = fp + W(2);
            ret = ip + 3;
            goto call_code;
        }
        OP(RET)
        {
        do_ret:
            if (fr == fr_base)
                goto done;
            fr--;
            ip = fr->ip;
            fp = fr->fp;
            /* the same instance's memory size is up to date: memory.grow
             * reloads it, and so do host calls and instance switches */
            if (fr->inst != inst) {
                inst = fr->inst;
                reload_mem(inst, &mem, &msize);
            }
            DISPATCH();
        }
        OP(FUEL)
        {
            if (fuel < W(0)) {
                err = FASTN_ERR_WASM_TRAP_OUT_OF_FUEL;
                goto out_of_fuel;
            }
            fuel -= W(0);
            NEXT(2);
        }
        OP(MOV)
        {
            S(0) = S(1);
            NEXT(2);
        }
        OP(SELECT)
        {
            S(0) = S(3).u32 ? S(1) : S(2);
            NEXT(3);
        }
        OP(SELECT_X)
        {
            S(0) = (uint32_t)acc ? S(1) : S(2);
            NEXT(3);
        }
        OP(GLOBAL_GET)
        {
            S(0) = inst->globals[W(1)]->v;
            NEXT(2);
        }
        OP(GLOBAL_SET)
        {
            inst->globals[W(0)]->v = S(1);
            NEXT(2);
        }
        LOADS6(LOAD32, uint32_t, u32, , LOAD_M, LOAD_R)
        LOADS6(LOAD64, uint64_t, u64, , LOAD_M64, LOAD_R64)
        LOADS6(LOAD8_S32, int8_t, i32, (int32_t), LOAD_M, LOAD_R)
        LOADS6(LOAD8_U32, uint8_t, u32, (uint32_t), LOAD_M, LOAD_R)
        LOADS6(LOAD16_S32, int16_t, i32, (int32_t), LOAD_M, LOAD_R)
        LOADS6(LOAD16_U32, uint16_t, u32, (uint32_t), LOAD_M, LOAD_R)
        LOADS6(LOAD8_S64, int8_t, i64, (int64_t), LOAD_M, LOAD_R)
        LOADS6(LOAD8_U64, uint8_t, u64, (uint64_t), LOAD_M, LOAD_R)
        LOADS6(LOAD16_S64, int16_t, i64, (int64_t), LOAD_M, LOAD_R)
        LOADS6(LOAD16_U64, uint16_t, u64, (uint64_t), LOAD_M, LOAD_R)
        LOADS6(LOAD32_S64, int32_t, i64, (int64_t), LOAD_M, LOAD_R)
        LOADS6(LOAD32_U64, uint32_t, u64, (uint64_t), LOAD_M, LOAD_R)
        STORES5(STORE32, uint32_t)
        STORES5(STORE64, uint64_t)
        STORES5(STORE8, uint8_t)
        STORES5(STORE16, uint16_t)
        STOREX(STORE64_F, uint64_t, EA_PLAIN, f64_bits(facc))
        STOREX(STORE64_A_F, uint64_t, EA_ADD, f64_bits(facc))
        OP(MEMORY_SIZE)
        {
            SET_u32(0, msize / WASM_PAGE);
            NEXT(2);
        }
        OP(MEMORY_GROW)
        {
            uint32_t delta = S(1).u32;
            uint64_t paid = part_take(x, ip);
            if (inst->mod->metering && delta &&
                wasm_memory_can_grow(inst->mem, delta) &&
                !grow_pay(x, ip, &fuel, paid, (uint64_t)delta * WASM_FUEL_PAGE))
                goto bulk_stop;
            SET_u32(0, wasm_memory_grow(inst->mem, delta));
            reload_mem(inst, &mem, &msize);
            NEXT(2);
        }
        OP(MEMORY_FILL)
        {
            uint64_t d = S(0).u32, n = S(2).u32;
            if (d + n > msize)
                TRAP(FASTN_ERR_WASM_TRAP_MEMORY_OOB);
            uint64_t done = bulk_done(x, ip, n), k = n - done;
            if (inst->mod->metering)
                k = bulk_take(&fuel, k, WASM_FUEL_FILL_BYTES);
            memset(mem + d + done, (int)(uint8_t)S(1).u32, k);
            if (done + k < n)
                BULK_STOP(done + k);
            NEXT(3);
        }
        OP(MEMORY_COPY)
        {
            uint64_t d = S(0).u32, s = S(1).u32, n = S(2).u32;
            if (d + n > msize || s + n > msize)
                TRAP(FASTN_ERR_WASM_TRAP_MEMORY_OOB);
            uint64_t done = bulk_done(x, ip, n), k = n - done;
            if (inst->mod->metering)
                k = bulk_take(&fuel, k, WASM_FUEL_COPY_BYTES);
            move_part(mem + d, mem + s, n, done, k, 1);
            if (done + k < n)
                BULK_STOP(done + k);
            NEXT(3);
        }
        OP(MEMORY_INIT)
        {
            uint64_t d = S(1).u32, s = S(2).u32, n = S(3).u32;
            const struct wasm_data *seg = &inst->mod->datas[W(0)];
            if (d + n > msize || s + n > inst->data_len[W(0)])
                TRAP(FASTN_ERR_WASM_TRAP_MEMORY_OOB);
            uint64_t done = bulk_done(x, ip, n), k = n - done;
            if (inst->mod->metering)
                k = bulk_take(&fuel, k, WASM_FUEL_COPY_BYTES);
            if (k)
                memcpy(mem + d + done, seg->bytes + s + done, k);
            if (done + k < n)
                BULK_STOP(done + k);
            NEXT(3);
        }
        OP(DATA_DROP)
        {
            inst->data_len[W(0)] = 0;
            NEXT(2);
        }
        OP(TABLE_GET)
        {
            const struct wasm_table *t = inst->tables[W(1)];
            uint32_t i = S(2).u32;
            if (i >= t->size)
                TRAP(FASTN_ERR_WASM_TRAP_TABLE_OOB);
            S(0).ref = t->refs[i];
            NEXT(3);
        }
        OP(TABLE_SET)
        {
            struct wasm_table *t = inst->tables[W(0)];
            uint32_t i = S(1).u32;
            if (i >= t->size)
                TRAP(FASTN_ERR_WASM_TRAP_TABLE_OOB);
            t->refs[i] = S(2).ref;
            NEXT(3);
        }
        OP(TABLE_SIZE)
        {
            SET_u32(0, inst->tables[W(1)]->size);
            NEXT(2);
        }
        OP(TABLE_GROW)
        {
            struct wasm_table *t = inst->tables[W(1)];
            uint32_t delta = S(3).u32, cap = inst->lim.max_table_elems;
            uint64_t paid = part_take(x, ip);
            if (inst->mod->metering && delta &&
                wasm_table_can_grow(t, delta, cap) &&
                !grow_pay(x, ip, &fuel, paid,
                          (uint64_t)delta * WASM_FUEL_TABLE_GROW))
                goto bulk_stop;
            SET_u32(0, wasm_table_grow(t, delta, S(2).ref, cap));
            NEXT(3);
        }
        OP(TABLE_FILL)
        {
            struct wasm_table *t = inst->tables[W(0)];
            uint64_t i = S(1).u32, n = S(3).u32;
            if (i + n > t->size)
                TRAP(FASTN_ERR_WASM_TRAP_TABLE_OOB);
            uint64_t done = bulk_done(x, ip, n), k = n - done;
            if (inst->mod->metering)
                k = bulk_take(&fuel, k, WASM_FUEL_TABLE_ELEMS);
            for (uint64_t e = i + done; e < i + done + k; e++)
                t->refs[e] = S(2).ref;
            if (done + k < n)
                BULK_STOP(done + k);
            NEXT(3);
        }
        OP(TABLE_COPY)
        {
            struct wasm_table *td = inst->tables[W(0)];
            const struct wasm_table *ts = inst->tables[W(1)];
            uint64_t d = S(2).u32, s = S(3).u32, n = S(4).u32;
            if (d + n > td->size || s + n > ts->size)
                TRAP(FASTN_ERR_WASM_TRAP_TABLE_OOB);
            uint64_t done = bulk_done(x, ip, n), k = n - done;
            if (inst->mod->metering)
                k = bulk_take(&fuel, k, WASM_FUEL_TABLE_ELEMS);
            move_part((uint8_t *)(td->refs + d),
                      (const uint8_t *)(ts->refs + s), n, done, k,
                      sizeof(void *));
            if (done + k < n)
                BULK_STOP(done + k);
            NEXT(4);
        }
        OP(TABLE_INIT)
        {
            struct wasm_table *t = inst->tables[W(0)];
            uint32_t e = W(1);
            uint64_t d = S(2).u32, s = S(3).u32, n = S(4).u32;
            if (d + n > t->size || s + n > inst->elem_len[e])
                TRAP(FASTN_ERR_WASM_TRAP_TABLE_OOB);
            uint64_t done = bulk_done(x, ip, n), k = n - done;
            if (inst->mod->metering)
                k = bulk_take(&fuel, k, WASM_FUEL_TABLE_ELEMS);
            if (k)
                memcpy(t->refs + d + done, inst->elem_refs[e] + s + done,
                       k * sizeof(void *));
            if (done + k < n)
                BULK_STOP(done + k);
            NEXT(4);
        }
        OP(ELEM_DROP)
        {
            inst->elem_len[W(0)] = 0;
            NEXT(2);
        }
        OP(REF_IS_NULL)
        {
            SET_u32(0, S(1).ref == NULL);
            NEXT(2);
        }
        OP(REF_FUNC)
        {
            SET_ref(0, inst->funcs[W(1)]);
            NEXT(2);
        }
        UN(I32_EQZ, u32, u32, a == 0)
        UN(I64_EQZ, u64, u32, a == 0)
        UN(I32_CLZ, u32, u32, clz32(a))
        UN(I32_CTZ, u32, u32, ctz32(a))
        UN(I32_POPCNT, u32, u32, popcnt64(a))
        UN(I64_CLZ, u64, u64, clz64(a))
        UN(I64_CTZ, u64, u64, ctz64(a))
        UN(I64_POPCNT, u64, u64, popcnt64(a))
        UN(F32_ABS, u32, u32, a & 0x7fffffffu)
        UN(F32_NEG, u32, u32, a ^ 0x80000000u)
        UN(F32_CEIL, f32, f32, f32_round(a, 0))
        UN(F32_FLOOR, f32, f32, f32_round(a, 1))
        UN(F32_TRUNC, f32, f32, f32_round(a, 2))
        UN(F32_NEAREST, f32, f32, f32_round(a, 3))
        UN(F32_SQRT, f32, f32, sqrtf(a))
        UN(F64_ABS, f64, f64, f64_from(f64_bits(a) & 0x7fffffffffffffffull))
        UN(F64_NEG, f64, f64, f64_from(f64_bits(a) ^ 0x8000000000000000ull))
        UN(F64_CEIL, f64, f64, f64_round(a, 0))
        UN(F64_FLOOR, f64, f64, f64_round(a, 1))
        UN(F64_TRUNC, f64, f64, f64_round(a, 2))
        UN(F64_NEAREST, f64, f64, f64_round(a, 3))
        UN(F64_SQRT, f64, f64, sqrt(a))
        TRUNC(I32_TRUNC_F32_S, f32, i32, int32_t, -2147483649.0, 2147483648.0)
        TRUNC(I32_TRUNC_F32_U, f32, u32, uint32_t, -1.0, 4294967296.0)
        TRUNC(I32_TRUNC_F64_S, f64, i32, int32_t, -2147483649.0, 2147483648.0)
        TRUNC(I32_TRUNC_F64_U, f64, u32, uint32_t, -1.0, 4294967296.0)
        UN(I64_EXTEND_I32_S, i32, i64, (int64_t)a)
        UN(I64_EXTEND_I32_U, u32, u64, (uint64_t)a)
        TRUNC(I64_TRUNC_F32_S, f32, i64, int64_t, -9223372036854777856.0,
              9223372036854775808.0)
        TRUNC(I64_TRUNC_F32_U, f32, u64, uint64_t, -1.0, 18446744073709551616.0)
        TRUNC(I64_TRUNC_F64_S, f64, i64, int64_t, -9223372036854777856.0,
              9223372036854775808.0)
        TRUNC(I64_TRUNC_F64_U, f64, u64, uint64_t, -1.0, 18446744073709551616.0)
        UN(F32_CONVERT_I32_S, i32, f32, (float)a)
        UN(F32_CONVERT_I32_U, u32, f32, (float)a)
        UN(F32_CONVERT_I64_S, i64, f32, (float)a)
        UN(F32_CONVERT_I64_U, u64, f32, (float)a)
        UN(F32_DEMOTE_F64, f64, f32, (float)a)
        UN(F64_CONVERT_I32_S, i32, f64, (double)a)
        UN(F64_CONVERT_I32_U, u32, f64, (double)a)
        UN(F64_CONVERT_I64_S, i64, f64, (double)a)
        UN(F64_CONVERT_I64_U, u64, f64, (double)a)
        UN(F64_PROMOTE_F32, f32, f64, (double)a)
        UN(I32_EXTEND8_S, u32, i32, (int32_t)(int8_t)a)
        UN(I32_EXTEND16_S, u32, i32, (int32_t)(int16_t)a)
        UN(I64_EXTEND8_S, u64, i64, (int64_t)(int8_t)a)
        UN(I64_EXTEND16_S, u64, i64, (int64_t)(int16_t)a)
        UN(I64_EXTEND32_S, u64, i64, (int64_t)(int32_t)a)
        UN(I32_TRUNC_SAT_F32_S, f32, i32, sat_i32(a))
        UN(I32_TRUNC_SAT_F32_U, f32, u32, sat_u32(a))
        UN(I32_TRUNC_SAT_F64_S, f64, i32, sat_i32(a))
        UN(I32_TRUNC_SAT_F64_U, f64, u32, sat_u32(a))
        UN(I64_TRUNC_SAT_F32_S, f32, i64, sat_i64(a))
        UN(I64_TRUNC_SAT_F32_U, f32, u64, sat_u64(a))
        UN(I64_TRUNC_SAT_F64_S, f64, i64, sat_i64(a))
        UN(I64_TRUNC_SAT_F64_U, f64, u64, sat_u64(a))
        BIN6(I32_EQ, u32, u32, a == b)
        BIN6(I32_NE, u32, u32, a != b)
        BIN6(I32_LT_S, i32, u32, a < b)
        BIN6(I32_LT_U, u32, u32, a < b)
        BIN6(I32_GT_S, i32, u32, a > b)
        BIN6(I32_GT_U, u32, u32, a > b)
        BIN6(I32_LE_S, i32, u32, a <= b)
        BIN6(I32_LE_U, u32, u32, a <= b)
        BIN6(I32_GE_S, i32, u32, a >= b)
        BIN6(I32_GE_U, u32, u32, a >= b)
        BIN6(I64_EQ, u64, u32, a == b)
        BIN6(I64_NE, u64, u32, a != b)
        BIN6(I64_LT_S, i64, u32, a < b)
        BIN6(I64_LT_U, u64, u32, a < b)
        BIN6(I64_GT_S, i64, u32, a > b)
        BIN6(I64_GT_U, u64, u32, a > b)
        BIN6(I64_LE_S, i64, u32, a <= b)
        BIN6(I64_LE_U, u64, u32, a <= b)
        BIN6(I64_GE_S, i64, u32, a >= b)
        BIN6(I64_GE_U, u64, u32, a >= b)
        BIN6(F32_EQ, f32, u32, a == b)
        BIN6(F32_NE, f32, u32, a != b)
        BIN6(F32_LT, f32, u32, a < b)
        BIN6(F32_GT, f32, u32, a > b)
        BIN6(F32_LE, f32, u32, a <= b)
        BIN6(F32_GE, f32, u32, a >= b)
        BIN6(F64_EQ, f64, u32, a == b)
        BIN6(F64_NE, f64, u32, a != b)
        BIN6(F64_LT, f64, u32, a < b)
        BIN6(F64_GT, f64, u32, a > b)
        BIN6(F64_LE, f64, u32, a <= b)
        BIN6(F64_GE, f64, u32, a >= b)
        BIN6(I32_ADD, u32, u32, a + b)
        BIN6(I32_SUB, u32, u32, a - b)
        BIN6(I32_MUL, u32, u32, a * b)
        BIN6(I32_AND, u32, u32, a & b)
        BIN6(I32_OR, u32, u32, a | b)
        BIN6(I32_XOR, u32, u32, a ^ b)
        BIN6(I32_SHL, u32, u32, a << (b & 31))
        BIN6(I32_SHR_S, i32, i32, a >> (b & 31))
        BIN6(I32_SHR_U, u32, u32, a >> (b & 31))
        BIN6(I32_ROTL, u32, u32, rotl32(a, b))
        BIN6(I32_ROTR, u32, u32, rotl32(a, (32 - (b & 31)) & 31))
        BIN6(I64_ADD, u64, u64, a + b)
        BIN6(I64_SUB, u64, u64, a - b)
        BIN6(I64_MUL, u64, u64, a * b)
        BIN6(I64_AND, u64, u64, a & b)
        BIN6(I64_OR, u64, u64, a | b)
        BIN6(I64_XOR, u64, u64, a ^ b)
        BIN6(I64_SHL, u64, u64, a << (b & 63))
        BIN6(I64_SHR_S, i64, i64, a >> (b & 63))
        BIN6(I64_SHR_U, u64, u64, a >> (b & 63))
        BIN6(I64_ROTL, u64, u64, rotl64(a, b))
        BIN6(I64_ROTR, u64, u64, rotl64(a, (64 - (b & 63)) & 63))
        BIN6(F32_ADD, f32, f32, f32_arith(a + b, a, b))
        BIN6(F32_SUB, f32, f32, f32_arith(a - b, a, b))
        BIN6(F32_MUL, f32, f32, f32_arith(a * b, a, b))
        BIN6(F32_DIV, f32, f32, f32_arith(a / b, a, b))
        BIN6(F32_MIN, f32, f32, f32_min(a, b))
        BIN6(F32_MAX, f32, f32, f32_max(a, b))
        BIN6(
            F32_COPYSIGN, f32, f32,
            f32_from((f32_bits(a) & 0x7fffffffu) | (f32_bits(b) & 0x80000000u)))
        BIN6(F64_ADD, f64, f64, f64_arith(a + b, a, b))
        BIN6(F64_SUB, f64, f64, f64_arith(a - b, a, b))
        BIN6(F64_MUL, f64, f64, f64_arith(a * b, a, b))
        BIN6(F64_DIV, f64, f64, f64_arith(a / b, a, b))
        BIN6(F64_MIN, f64, f64, f64_min(a, b))
        BIN6(F64_MAX, f64, f64, f64_max(a, b))
        BIN6(F64_COPYSIGN, f64, f64,
             f64_from((f64_bits(a) & 0x7fffffffffffffffull) |
                      (f64_bits(b) & 0x8000000000000000ull)))
        OP(I32_DIV_S)
        {
            int32_t a = S(1).i32, b = S(2).i32;
            if (b == 0)
                TRAP(FASTN_ERR_WASM_TRAP_DIV_ZERO);
            if (a == INT32_MIN && b == -1)
                TRAP(FASTN_ERR_WASM_TRAP_INT_OVERFLOW);
            OUT_M(i32, a / b);
            NEXT(3);
        }
        OP(I32_DIV_U)
        {
            uint32_t a = S(1).u32, b = S(2).u32;
            if (b == 0)
                TRAP(FASTN_ERR_WASM_TRAP_DIV_ZERO);
            OUT_M(u32, a / b);
            NEXT(3);
        }
        OP(I32_REM_S)
        {
            int32_t a = S(1).i32, b = S(2).i32;
            if (b == 0)
                TRAP(FASTN_ERR_WASM_TRAP_DIV_ZERO);
            OUT_M(i32, b == -1 ? 0 : a % b);
            NEXT(3);
        }
        OP(I32_REM_U)
        {
            uint32_t a = S(1).u32, b = S(2).u32;
            if (b == 0)
                TRAP(FASTN_ERR_WASM_TRAP_DIV_ZERO);
            OUT_M(u32, a % b);
            NEXT(3);
        }
        OP(I64_DIV_S)
        {
            int64_t a = S(1).i64, b = S(2).i64;
            if (b == 0)
                TRAP(FASTN_ERR_WASM_TRAP_DIV_ZERO);
            if (a == INT64_MIN && b == -1)
                TRAP(FASTN_ERR_WASM_TRAP_INT_OVERFLOW);
            OUT_M(i64, a / b);
            NEXT(3);
        }
        OP(I64_DIV_U)
        {
            uint64_t a = S(1).u64, b = S(2).u64;
            if (b == 0)
                TRAP(FASTN_ERR_WASM_TRAP_DIV_ZERO);
            OUT_M(u64, a / b);
            NEXT(3);
        }
        OP(I64_REM_S)
        {
            int64_t a = S(1).i64, b = S(2).i64;
            if (b == 0)
                TRAP(FASTN_ERR_WASM_TRAP_DIV_ZERO);
            OUT_M(i64, b == -1 ? 0 : a % b);
            NEXT(3);
        }
        OP(I64_REM_U)
        {
            uint64_t a = S(1).u64, b = S(2).u64;
            if (b == 0)
                TRAP(FASTN_ERR_WASM_TRAP_DIV_ZERO);
            OUT_M(u64, a % b);
            NEXT(3);
        }
        OP(I32_ADD_SHL)
        {
            OUT_M(u32, S(1).u32 + (S(2).u32 << W(3)));
            NEXT(3);
        }
        OP(BR_AND_NZ)
        {
            if (S(0).u32 & S(1).u32)
                JUMP(2);
            NEXT(3);
        }
        OP(BR_AND_Z)
        {
            if (!(S(0).u32 & S(1).u32))
                JUMP(2);
            NEXT(3);
        }
        OP(MOV2)
        {
            S(0) = S(1);
            S(2) = S(3);
            NEXT(3);
        }
        OP(MOV_BR)
        {
            S(1) = S(2);
            JUMP(0);
        }
        OP(MOV_RET)
        {
            S(0) = S(1);
            goto do_ret;
        }
        CMPBR(BR_F32_EQ, f32, a == b)
        CMPBR(BR_F32_NE, f32, a != b)
        CMPBR(BR_F32_LT, f32, a < b)
        CMPBR(BR_F32_GT, f32, a > b)
        CMPBR(BR_F32_LE, f32, a <= b)
        CMPBR(BR_F32_GE, f32, a >= b)
        CMPBR(BR_F32_NLT, f32, !(a < b))
        CMPBR(BR_F32_NGT, f32, !(a > b))
        CMPBR(BR_F32_NLE, f32, !(a <= b))
        CMPBR(BR_F32_NGE, f32, !(a >= b))
        CMPBR(BR_F64_EQ, f64, a == b)
        CMPBR(BR_F64_NE, f64, a != b)
        CMPBR(BR_F64_LT, f64, a < b)
        CMPBR(BR_F64_GT, f64, a > b)
        CMPBR(BR_F64_LE, f64, a <= b)
        CMPBR(BR_F64_GE, f64, a >= b)
        CMPBR(BR_F64_NLT, f64, !(a < b))
        CMPBR(BR_F64_NGT, f64, !(a > b))
        CMPBR(BR_F64_NLE, f64, !(a <= b))
        CMPBR(BR_F64_NGE, f64, !(a >= b))
        CMPBR(BR_I32_EQ, u32, a == b)
        CMPBR(BR_I32_NE, u32, a != b)
        CMPBR(BR_I32_LT_S, i32, a < b)
        CMPBR(BR_I32_LT_U, u32, a < b)
        CMPBR(BR_I32_GT_S, i32, a > b)
        CMPBR(BR_I32_GT_U, u32, a > b)
        CMPBR(BR_I32_LE_S, i32, a <= b)
        CMPBR(BR_I32_LE_U, u32, a <= b)
        CMPBR(BR_I32_GE_S, i32, a >= b)
        CMPBR(BR_I32_GE_U, u32, a >= b)
        CMPBR(BR_I64_EQ, u64, a == b)
        CMPBR(BR_I64_NE, u64, a != b)
        CMPBR(BR_I64_LT_S, i64, a < b)
        CMPBR(BR_I64_LT_U, u64, a < b)
        CMPBR(BR_I64_GT_S, i64, a > b)
        CMPBR(BR_I64_GT_U, u64, a > b)
        CMPBR(BR_I64_LE_S, i64, a <= b)
        CMPBR(BR_I64_LE_U, u64, a <= b)
        CMPBR(BR_I64_GE_S, i64, a >= b)
        CMPBR(BR_I64_GE_U, u64, a >= b)
#if !THREADED
    default:
        TRAP(FASTN_ERR_INTERNAL);
    }
#endif

do_call:
    if (f->code) {
        callee = f->code;
        callee_inst = f->inst;
    call_code: /* callee, callee_inst, nfp (its args) and ret are set */
        if (fr >= x->frames_end)
            TRAP(FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED);
        /* the callee's entry FUEL op is charged here, saving a dispatch;
         * when fuel is short, the call itself is resumed later */
        if (fuel < callee->entry_fuel) {
            err = FASTN_ERR_WASM_TRAP_OUT_OF_FUEL;
            goto out_of_fuel;
        }
        if (callee->frame > (size_t)(x->stack_end - nfp))
            TRAP(FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED);
        fuel -= callee->entry_fuel;
        init_frame(callee, nfp);
        fr->ip = ret;
        fr->fp = fp;
        fr->inst = inst;
        fr++;
        fp = nfp;
        ip = callee->code + callee->entry_skip;
        if (callee_inst != inst) {
            inst = callee_inst;
            reload_mem(inst, &mem, &msize);
        }
        DISPATCH();
    } else {
        uint32_t np = f->type->nparams, nr = f->type->nresults;
        union fastn_wasm_value *res = nfp + np;
        if ((size_t)(res + nr - x->stack) > x->stack_slots)
            TRAP(FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED);
        /* the engine's own work for a host call; the host function
         * charges for its own (fastn_wasm_fuel_charge) */
        if (inst->mod->metering) {
            if (fuel < WASM_FUEL_HOST_CALL) {
                err = FASTN_ERR_WASM_TRAP_OUT_OF_FUEL;
                goto out_of_fuel;
            }
            fuel -= WASM_FUEL_HOST_CALL;
        }
        x->top = res + nr;
        x->owner->fuel = fuel;
        x->depth = (uint32_t)(fr - x->frames); /* for nested calls */
        err = f->host(inst, f->user, nfp, res);
        fuel = x->owner->fuel;
        /* out of fuel before doing anything (fastn_wasm_fuel_charge):
         * stop at the call, which resuming makes again */
        if (err == FASTN_ERR_WASM_TRAP_OUT_OF_FUEL)
            goto out_of_fuel;
        if (err)
            goto trap;
        memmove(nfp, res, nr * sizeof(*res));
        reload_mem(inst, &mem, &msize);
        ip = ret;
        DISPATCH();
    }

bulk_stop:
    err = FASTN_ERR_WASM_TRAP_OUT_OF_FUEL;
out_of_fuel:
    x->owner->fuel = fuel;
    trace_note(x, ip, inst, fr, fr_base);
    if (x->nest == 1) {
        x->suspended = true;
        x->depth = (uint32_t)(fr - x->frames);
        x->s_ip = ip;
        x->s_fp = fp;
        x->s_inst = inst;
        return err;
    }
    x->s_part = 0; /* a nested run's stop is a plain trap */
    x->s_part_ip = NULL;
    x->depth = base_depth;
    return err;
trap:
    x->owner->fuel = fuel;
    trace_note(x, ip, inst, fr, fr_base);
    x->s_part = 0;
    x->s_part_ip = NULL;
    x->depth = base_depth;
    return err;
done:
    x->owner->fuel = fuel;
    x->depth = base_depth;
    return 0;
}

static const void *const *handler_table;

static void init_handlers(void)
{
    run(NULL, NULL, NULL, NULL, 0, &handler_table);
}

const void *const *wasm_handlers(void)
{
    /* labels exist only inside run(); fetch them once, thread-safely */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_handlers);
    return handler_table;
}

static int exec_alloc(struct fastn_wasm_instance *inst)
{
    struct wasm_exec *x = &inst->exec;
    if (x->stack)
        return 0;
    x->owner = inst;
    x->stack_slots = inst->lim.max_stack_slots;
    x->max_depth = inst->lim.max_call_depth;
    x->stack = malloc(x->stack_slots * sizeof(*x->stack));
    x->frames = malloc((x->max_depth ? x->max_depth : 1) * sizeof(*x->frames));
    if (!x->stack || !x->frames) {
        free(x->stack);
        free(x->frames);
        x->stack = NULL;
        x->frames = NULL;
        return FASTN_ERR_NOMEM;
    }
    x->stack_end = x->stack + x->stack_slots;
    x->frames_end = x->frames + x->max_depth;
    return 0;
}

static void copy_results(const struct wasm_functype *t,
                         const union fastn_wasm_value *base,
                         union fastn_wasm_value *results)
{
    if (t->nresults)
        memcpy(results, base, t->nresults * sizeof(*results));
}

int wasm_invoke(struct fastn_wasm_instance *inst, struct wasm_func *f,
                const union fastn_wasm_value *args,
                union fastn_wasm_value *results)
{
    struct wasm_exec *x = &inst->exec;
    const struct wasm_functype *t = f->type;
    int rc = exec_alloc(inst);
    if (rc)
        return rc;
    if (x->nest == 0)
        x->ntrace = 0;                  /* a new call: no trap yet */
    if (x->nest == 0 && x->suspended) { /* discard the stopped call */
        x->suspended = false;
        x->depth = 0;
        x->s_part = 0;
        x->s_part_ip = NULL;
    }
    if (x->nest >= WASM_MAX_NEST)
        return FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED;
    union fastn_wasm_value *base = x->nest ? x->top : x->stack;
    size_t need = t->nparams > t->nresults ? t->nparams : t->nresults;
    if ((size_t)(base - x->stack) + need > x->stack_slots)
        return FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED;
    if (t->nparams)
        memcpy(base, args, t->nparams * sizeof(*args));
    if (!f->code) {
        union fastn_wasm_value *saved = x->top;
        x->top = base + t->nparams;
        rc = f->host(f->inst, f->user, args, results);
        x->top = saved;
        return rc;
    }
    if ((rc = enter(x, f->code, base)) != 0)
        return rc;
    union fastn_wasm_value *saved_top = x->top;
    uint32_t depth0 = x->depth;
    x->nest++;
    rc = run(x, f->inst, f->code->code, base, depth0, NULL);
    x->nest--;
    x->top = saved_top;
    if (rc == FASTN_ERR_WASM_TRAP_OUT_OF_FUEL && x->suspended) {
        x->s_base = base;
        x->s_depth = depth0;
        x->s_type = t;
    }
    if (rc == 0)
        copy_results(t, base, results);
    return rc;
}

int wasm_resume(struct fastn_wasm_instance *inst,
                union fastn_wasm_value *results)
{
    struct wasm_exec *x = &inst->exec;
    if (!x->suspended || x->nest != 0)
        return FASTN_ERR_INVAL;
    x->suspended = false;
    x->nest++;
    int rc = run(x, x->s_inst, x->s_ip, x->s_fp, x->s_depth, NULL);
    x->nest--;
    if (rc == 0)
        copy_results(x->s_type, x->s_base, results);
    return rc;
}
