/*
 * Internals of the WebAssembly engine, shared by its stages:
 *   load.c     binary decoding and module-level validation
 *   compile.c  per-function validation and compilation to internal code
 *   interp.c   the threaded interpreter
 *   instance.c linking, instantiation and the embedding API
 *
 * Internal code: an array of 8-byte cells. The first cell of an
 * instruction holds its handler (a label address under GCC/clang, an
 * index otherwise); the operands follow as 32-bit words packed two per
 * cell. Slot operands index the frame: [params+locals][temps][consts].
 * Branch offsets are signed cell counts relative to the cell holding them.
 */
#ifndef FASTN_WASM_INT_H
#define FASTN_WASM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wasm/wasm.h"

/* Value types as encoded in the binary format. */
enum {
    T_I32 = 0x7f,
    T_I64 = 0x7e,
    T_F32 = 0x7d,
    T_F64 = 0x7c,
    T_V128 = 0x7b,
    T_FUNCREF = 0x70,
    T_EXTERNREF = 0x6f,
    T_UNKNOWN = 0, /* the polymorphic type of unreachable code */
};

enum { EXT_FUNC = 0, EXT_TABLE = 1, EXT_MEMORY = 2, EXT_GLOBAL = 3 };

/* Engine limits: beyond the spec's own, chosen so that no module can make
 * loading, compiling or instantiating use unbounded memory or time, yet
 * generous for real programs (clang's wasm32-wasi output declares one
 * table, one memory, a few globals and a few data segments). A module
 * over one is refused at load with FASTN_ERR_WASM_LIMIT naming the count
 * (docs/WASM.md, "Limits"). Counts of functions, tables, memories and
 * globals include the imported ones. */
#define WASM_MAX_TYPES 10000
#define WASM_MAX_FUNCS 100000
#define WASM_MAX_IMPORTS 10000
#define WASM_MAX_EXPORTS 10000
#define WASM_MAX_GLOBALS 100000
#define WASM_MAX_TABLES 100
#define WASM_MAX_ELEM_SEGMENTS 10000
#define WASM_MAX_DATA_SEGMENTS 10000
#define WASM_MAX_ELEMS 1000000 /* in all element segments together */
#define WASM_MAX_PARAMS 1000   /* and results */
#define WASM_MAX_LOCALS 50000
#define WASM_MAX_BODY (1u << 20) /* bytes of one function body */
#define WASM_MAX_FRAME 200000    /* slots in one frame */
#define WASM_TRACE_MAX 8         /* frames a trap's backtrace keeps */
#define WASM_MAX_PAGES 65536u
#define WASM_MAX_TABLE_SIZE 10000000u
#define WASM_PAGE 65536u
#define WASM_MAX_NEST 32 /* host->wasm re-entries */

/* Fuel prices: what one unit (about 1 ns of work on the reference
 * machine: docs/BENCHMARKS.md, "Fuel prices", measured by
 * bench/wasm/price) buys beyond the unit every instruction pays. Bulk
 * operations and growth are charged by these when they run (interp.c),
 * frame set-up by the callee's entry charge (compile.c). Growth is priced
 * by the first touch of what it adds: the kernel zeroing a new page on
 * its first write, by far the larger part of the work. */
#define WASM_FUEL_FILL_BYTES 8 /* memory.fill: bytes a unit */
#define WASM_FUEL_COPY_BYTES FASTN_WASM_COPY_BYTES /* memory.copy, .init */
#define WASM_FUEL_TABLE_ELEMS 2                    /* table.fill/copy/init */
#define WASM_FUEL_TABLE_GROW 32 /* table.grow: units an entry */
#define WASM_FUEL_PAGE 200000   /* memory.grow: units a page */
#define WASM_FUEL_FRAME_SLOTS 2 /* locals zeroed, constants copied a call */
#define WASM_FUEL_HOST_CALL FASTN_WASM_FUEL_HOST_CALL

union wasm_cell {
    const void *op;
    uint32_t w[2];
    uint64_t u64;
};

struct wasm_functype {
    uint32_t nparams, nresults;
    uint8_t *types; /* params, then results */
};

struct wasm_limits {
    uint32_t min, max;
    bool has_max;
};

struct wasm_tabletype {
    uint8_t elem;
    struct wasm_limits lim;
};

struct wasm_globaltype {
    uint8_t type;
    bool mut;
};

/* A constant expression (2.0: one constant, ref.null, ref.func or
 * global.get of an imported global). */
struct wasm_const {
    uint8_t op; /* 0x41 0x42 0x43 0x44 0xd0 0xd2 0x23 */
    uint8_t type;
    uint32_t index;
    uint64_t bits;
};

struct wasm_import {
    char *module, *name;
    uint8_t kind;
    uint32_t index; /* type index (func) */
    struct wasm_tabletype table;
    struct wasm_limits mem;
    struct wasm_globaltype global;
};

struct wasm_export {
    char *name;
    uint8_t kind;
    uint32_t index;
};

enum { SEG_ACTIVE, SEG_PASSIVE, SEG_DECLARATIVE };

struct wasm_elem {
    uint8_t mode, type;
    uint32_t table;
    struct wasm_const offset;
    uint32_t n;
    struct wasm_const *items;
};

struct wasm_data {
    uint8_t mode;
    struct wasm_const offset;
    uint32_t len;
    uint8_t *bytes;
};

/* One step of a function's source map (struct wasm_code). */
struct wasm_src {
    uint32_t cell, off;
};

/* A function's name from the module's "name" section. */
struct wasm_fname {
    uint32_t func;
    char *name;
};

/* A compiled function body. */
struct wasm_code {
    uint32_t type;
    uint32_t nparams, nlocals; /* nlocals counts params too */
    uint32_t nconsts, const_base;
    uint32_t frame; /* slots the frame needs */
    union wasm_cell *code;
    size_t ncells;
    uint64_t *consts;
    /* what a call copies above the params: zeros for the other locals,
     * then the constants (ninit = nlocals - nparams + nconsts) */
    uint64_t *init;
    uint32_t ninit;
    uint8_t *local_types;
    size_t body_off; /* byte offset of the body, for messages */
    bool uses_data;  /* memory.init or data.drop */
    /* the entry FUEL op (when metered), charged by calls: its amount and
     * the cells a call skips */
    uint32_t entry_fuel, entry_skip;
    /* where the code came from, for traps: pairs (first cell, byte offset
     * in the module of the instruction that made it), by cell */
    struct wasm_src *src;
    uint32_t nsrc;
};

struct fastn_wasm_module {
    uint32_t ntypes;
    struct wasm_functype *types;
    uint32_t nimports;
    struct wasm_import *imports;
    uint32_t nfuncs, nfunc_imports;
    uint32_t *func_types;
    struct wasm_code *codes; /* nfuncs - nfunc_imports */
    uint32_t ntables, ntable_imports;
    struct wasm_tabletype *tables;
    uint32_t nmems, nmem_imports;
    struct wasm_limits *mems;
    uint32_t nglobals, nglobal_imports;
    struct wasm_globaltype *globals;
    struct wasm_const *global_inits;
    uint32_t nexports;
    struct wasm_export *exports;
    bool has_start;
    uint32_t start;
    uint32_t nelems, nelem_items; /* segments, and items in all */
    struct wasm_elem *elems;
    uint32_t ndatas;
    bool has_datacount;
    uint32_t datacount;
    struct wasm_data *datas;
    uint8_t *func_refd;      /* functions named outside bodies (C.refs) */
    bool data_without_count; /* a data index used with no data count */
    bool metering;
    bool fuse; /* superinstructions and peepholes (off: for testing) */
    /* function names from the "name" custom section, sorted by func */
    struct wasm_fname *fnames;
    uint32_t nfnames;
};

/* Internal load flag: compile without superinstructions or peepholes, so
 * that a fuzzer can compare the two codes' behaviour. */
#define WASM_LOAD_NO_FUSE 0x100u

/* Runtime objects. */
struct wasm_func {
    const struct wasm_functype *type;
    struct fastn_wasm_instance *inst; /* owner; caller for host funcs */
    const struct wasm_code *code;     /* NULL for host functions */
    fastn_wasm_host_fn host;
    void *user;
};

/* An instance's memory budget (fastn_wasm_limits.max_memory_bytes): what
 * it holds now, by kind, in bytes. Memories and tables point at their
 * owner's budget, so that growing an imported one is charged there. */
struct wasm_budget {
    uint64_t limit;
    uint64_t memory, tables, globals, engine, external;
};

struct wasm_memory {
    uint8_t *data;
    uint64_t size; /* bytes */
    uint64_t reserved;
    uint32_t max_pages; /* effective max (declared and cap) */
    bool has_max;       /* the declared type, for import matching */
    uint32_t decl_max;
    struct wasm_budget *budget; /* the owner's; NULL: none */
};

struct wasm_table {
    uint8_t elem;
    bool has_max;
    uint32_t size, max;
    uint32_t cap; /* entries allocated (charged to the budget) */
    void **refs;
    struct wasm_budget *budget; /* the owner's */
};

struct wasm_global {
    union fastn_wasm_value v;
    uint8_t type;
    bool mut;
};

struct wasm_frame {
    const union wasm_cell *ip;
    union fastn_wasm_value *fp;
    struct fastn_wasm_instance *inst;
};

/* Execution context: the stacks of an instance (and of the instances its
 * code calls into). */
struct wasm_exec {
    struct fastn_wasm_instance *owner; /* whose fuel is charged */
    union fastn_wasm_value *stack;
    size_t stack_slots;
    struct wasm_frame *frames;
    uint32_t max_depth;
    union fastn_wasm_value *stack_end; /* stack + stack_slots */
    struct wasm_frame *frames_end;     /* frames + max_depth */
    uint32_t depth;                    /* frames in use */
    union fastn_wasm_value *top; /* first free slot when a host function runs */
    uint32_t nest;
    /* a call stopped for want of fuel */
    bool suspended;
    const union wasm_cell *s_ip;
    union fastn_wasm_value *s_fp;
    struct fastn_wasm_instance *s_inst;
    union fastn_wasm_value *s_base;
    uint32_t s_depth;
    const struct wasm_functype *s_type;
    /* progress of the bulk operation at s_part_ip when it stopped: bytes
     * or elements done (fill, copy, init), or fuel paid (grow) */
    uint64_t s_part;
    const union wasm_cell *s_part_ip;
    /* where the last trap or stop was: the op, then the calls into it
     * (return addresses), innermost first, at most WASM_TRACE_MAX */
    const union wasm_cell *trace_ip[WASM_TRACE_MAX];
    const struct fastn_wasm_instance *trace_inst[WASM_TRACE_MAX];
    uint32_t ntrace, trace_depth; /* recorded; frames there were */
};

struct fastn_wasm_instance {
    const struct fastn_wasm_module *mod;
    struct wasm_func **funcs;
    struct wasm_func *own_funcs; /* defined + host imports */
    struct wasm_table **tables;
    struct wasm_table *own_tables;
    struct wasm_memory *mem; /* never NULL: own_mem (maybe empty) or import */
    struct wasm_memory own_mem;
    bool has_own_mem;
    struct wasm_global **globals;
    struct wasm_global *own_globals;
    struct wasm_functype *host_types;
    uint32_t nhost;
    void ***elem_refs;  /* per segment; NULL once dropped */
    uint32_t *elem_len; /* 0 once dropped */
    uint32_t *data_len; /* 0 once dropped */
    struct fastn_wasm_limits lim;
    uint64_t fuel;
    struct wasm_exec exec;
    struct wasm_budget budget;
    void *user;
};

/* The internal operations: X(name, operand words, slot-operand mask).
 *
 * The accumulator: an operation that computes a value (the binary and
 * unary operations, loads, I32_ADD_SHL) also leaves it in a register,
 * acc (integers and f32 bits) or facc (f64; 64-bit loads set both), so
 * that the next operation may read it from there instead of from its
 * slot: that takes a store-to-load round trip through memory off the
 * dependency chain. Variants that read an operand from the accumulator
 * are marked _X (one operand), _RS or _SR (a or b of two); variants whose
 * result goes to the accumulator only (a temporary that only the next
 * operation reads) end in _R. compile.c chooses them.
 */
#define WASM_OPS(X)                                                            \
    X(UNREACHABLE, 0, 0)                                                       \
    X(BR, 1, 0)                                                                \
    WASM_BRIFS(BRX2, X)                                                        \
    X(BR_TABLE, 2, 1)                                                          \
    X(BR_TABLE_X, 2, 1)                                                        \
    X(CALL, 2, 2)                                                              \
    X(CALL_INDIRECT, 4, 12)                                                    \
    X(CALL_DIRECT, 3, 4) /* (code pointer: 2 words, args): own function */     \
    X(RET, 0, 0)                                                               \
    X(FUEL, 1, 0)                                                              \
    X(MOV, 2, 3)                                                               \
    X(SELECT, 4, 15)                                                           \
    X(SELECT_X, 4, 15) /* the condition from acc */                            \
    X(GLOBAL_GET, 2, 1)                                                        \
    X(GLOBAL_SET, 2, 2)                                                        \
    WASM_LOADS(LOAD6, X)                                                       \
    WASM_STORES(STORE5, X)                                                     \
    X(STORE64_F, 3, 3) /* the value from facc */                               \
    X(STORE64_A_F, 4, 7)                                                       \
    X(MEMORY_SIZE, 1, 1)                                                       \
    X(MEMORY_GROW, 2, 3)                                                       \
    X(MEMORY_FILL, 3, 7)                                                       \
    X(MEMORY_COPY, 3, 7)                                                       \
    X(MEMORY_INIT, 4, 14)                                                      \
    X(DATA_DROP, 1, 0)                                                         \
    X(TABLE_GET, 3, 5)                                                         \
    X(TABLE_SET, 3, 6)                                                         \
    X(TABLE_SIZE, 2, 1)                                                        \
    X(TABLE_GROW, 4, 13)                                                       \
    X(TABLE_FILL, 4, 14)                                                       \
    X(TABLE_COPY, 5, 28)                                                       \
    X(TABLE_INIT, 5, 28)                                                       \
    X(ELEM_DROP, 1, 0)                                                         \
    X(REF_IS_NULL, 2, 3)                                                       \
    X(REF_FUNC, 2, 1)                                                          \
    WASM_UNOPS(UN2, X)                                                         \
    WASM_BINOPS(X)                                                             \
    WASM_CMPBR(CMPBR3, X)                                                      \
    X(I32_ADD_SHL, 4, 7) /* dst = a + (x << k): (dst, a, x, k) */              \
    X(BR_AND_NZ, 3, 3)   /* (a, b, offset): taken when a & b != 0 */           \
    X(BR_AND_Z, 3, 3)                                                          \
    X(MOV2, 4, 15)   /* two MOVs: (d1, s1, d2, s2) */                          \
    X(MOV_BR, 3, 6)  /* (offset, dst, src): MOV then BR */                     \
    X(MOV_RET, 2, 3) /* MOV then RET */

/* Conditional branches on one value (x, offset), and the same reading x
 * from acc: BR_IF (x != 0), BR_IF_NOT, BR_I64_EQZ, BR_I64_NEZ. */
#define BRX2(X, N) X(N, 2, 1) X(N##_X, 2, 1)
#define WASM_BRIFS(Y, X)                                                       \
    Y(X, BR_IF) Y(X, BR_IF_NOT) Y(X, BR_I64_EQZ) Y(X, BR_I64_NEZ)

/* Loads: (dst, address, offset); _A: (dst, a, b, offset), the address is
 * a + b (an i32.add fused into the access); _X: the address is in acc;
 * _R: the value goes to the accumulator only. Six consecutive variants
 * per access type (compile.c relies on the order). */
#define LOAD6(X, N)                                                            \
    X(N, 3, 3)                                                                 \
    X(N##_A, 4, 7)                                                             \
    X(N##_X, 3, 3) X(N##_R, 3, 3) X(N##_A_R, 4, 7) X(N##_X_R, 3, 3)
#define WASM_LOADS(Y, X)                                                       \
    Y(X, LOAD32)                                                               \
    Y(X, LOAD64)                                                               \
    Y(X, LOAD8_S32)                                                            \
    Y(X, LOAD8_U32)                                                            \
    Y(X, LOAD16_S32)                                                           \
    Y(X, LOAD16_U32)                                                           \
    Y(X, LOAD8_S64)                                                            \
    Y(X, LOAD8_U64)                                                            \
    Y(X, LOAD16_S64)                                                           \
    Y(X, LOAD16_U64)                                                           \
    Y(X, LOAD32_S64)                                                           \
    Y(X, LOAD32_U64)

/* Stores: (value, address, offset); _A as for loads; _X: the address is in
 * acc; _V: the value is in acc. Five consecutive variants per type. */
#define STORE5(X, N)                                                           \
    X(N, 3, 3) X(N##_A, 4, 7) X(N##_X, 3, 3) X(N##_V, 3, 3) X(N##_A_V, 4, 7)
#define WASM_STORES(Y, X)                                                      \
    Y(X, STORE32)                                                              \
    Y(X, STORE64)                                                              \
    Y(X, STORE8)                                                               \
    Y(X, STORE16)

/* Operations of one operand (dst, a), then the same reading a from the
 * accumulator (_X). */
#define UN2(X, N) X(N, 2, 3) X(N##_X, 2, 3)
#define WASM_UNOPS(Y, X)                                                       \
    Y(X, I32_EQZ)                                                              \
    Y(X, I64_EQZ)                                                              \
    Y(X, I32_CLZ)                                                              \
    Y(X, I32_CTZ)                                                              \
    Y(X, I32_POPCNT)                                                           \
    Y(X, I64_CLZ)                                                              \
    Y(X, I64_CTZ)                                                              \
    Y(X, I64_POPCNT)                                                           \
    Y(X, F32_ABS)                                                              \
    Y(X, F32_NEG)                                                              \
    Y(X, F32_CEIL)                                                             \
    Y(X, F32_FLOOR)                                                            \
    Y(X, F32_TRUNC)                                                            \
    Y(X, F32_NEAREST)                                                          \
    Y(X, F32_SQRT)                                                             \
    Y(X, F64_ABS)                                                              \
    Y(X, F64_NEG)                                                              \
    Y(X, F64_CEIL)                                                             \
    Y(X, F64_FLOOR)                                                            \
    Y(X, F64_TRUNC)                                                            \
    Y(X, F64_NEAREST)                                                          \
    Y(X, F64_SQRT)                                                             \
    Y(X, I32_TRUNC_F32_S)                                                      \
    Y(X, I32_TRUNC_F32_U)                                                      \
    Y(X, I32_TRUNC_F64_S)                                                      \
    Y(X, I32_TRUNC_F64_U)                                                      \
    Y(X, I64_EXTEND_I32_S)                                                     \
    Y(X, I64_EXTEND_I32_U)                                                     \
    Y(X, I64_TRUNC_F32_S)                                                      \
    Y(X, I64_TRUNC_F32_U)                                                      \
    Y(X, I64_TRUNC_F64_S)                                                      \
    Y(X, I64_TRUNC_F64_U)                                                      \
    Y(X, F32_CONVERT_I32_S)                                                    \
    Y(X, F32_CONVERT_I32_U)                                                    \
    Y(X, F32_CONVERT_I64_S)                                                    \
    Y(X, F32_CONVERT_I64_U)                                                    \
    Y(X, F32_DEMOTE_F64)                                                       \
    Y(X, F64_CONVERT_I32_S)                                                    \
    Y(X, F64_CONVERT_I32_U)                                                    \
    Y(X, F64_CONVERT_I64_S)                                                    \
    Y(X, F64_CONVERT_I64_U)                                                    \
    Y(X, F64_PROMOTE_F32)                                                      \
    Y(X, I32_EXTEND8_S)                                                        \
    Y(X, I32_EXTEND16_S)                                                       \
    Y(X, I64_EXTEND8_S)                                                        \
    Y(X, I64_EXTEND16_S)                                                       \
    Y(X, I64_EXTEND32_S)                                                       \
    Y(X, I32_TRUNC_SAT_F32_S)                                                  \
    Y(X, I32_TRUNC_SAT_F32_U)                                                  \
    Y(X, I32_TRUNC_SAT_F64_S)                                                  \
    Y(X, I32_TRUNC_SAT_F64_U)                                                  \
    Y(X, I64_TRUNC_SAT_F32_S)                                                  \
    Y(X, I64_TRUNC_SAT_F32_U)                                                  \
    Y(X, I64_TRUNC_SAT_F64_S)                                                  \
    Y(X, I64_TRUNC_SAT_F64_U)

/* Binary operations. Those in WASM_ACC_BINOPS come in six variants (see
 * ACC6) that pass a result to the next operation in a register.
 */
#define WASM_BINOPS(X)                                                         \
    WASM_ACC_BINOPS(ACC6, X)                                                   \
    X(I32_DIV_S, 3, 7)                                                         \
    X(I32_DIV_U, 3, 7)                                                         \
    X(I32_REM_S, 3, 7)                                                         \
    X(I32_REM_U, 3, 7)                                                         \
    X(I64_DIV_S, 3, 7)                                                         \
    X(I64_DIV_U, 3, 7)                                                         \
    X(I64_REM_S, 3, 7)                                                         \
    X(I64_REM_U, 3, 7)

/* Variants of an operation N (dst, a, b): the result goes to slot dst
 * and the accumulator (M) or to the accumulator only (R); a and b are
 * both slots (SS), or a (RS) or b (SR) is the accumulator. Their order is
 * relied on by compile.c: N, N_SS_R, N_RS_M, N_SR_M, N_RS_R, N_SR_R. */
#define ACC6(X, N)                                                             \
    X(N, 3, 7)                                                                 \
    X(N##_SS_R, 3, 7)                                                          \
    X(N##_RS_M, 3, 7) X(N##_SR_M, 3, 7) X(N##_RS_R, 3, 7) X(N##_SR_R, 3, 7)
#define WASM_ACC_BINOPS(Y, X)                                                  \
    Y(X, I32_EQ)                                                               \
    Y(X, I32_NE)                                                               \
    Y(X, I32_LT_S)                                                             \
    Y(X, I32_LT_U)                                                             \
    Y(X, I32_GT_S)                                                             \
    Y(X, I32_GT_U)                                                             \
    Y(X, I32_LE_S)                                                             \
    Y(X, I32_LE_U)                                                             \
    Y(X, I32_GE_S)                                                             \
    Y(X, I32_GE_U)                                                             \
    Y(X, I64_EQ)                                                               \
    Y(X, I64_NE)                                                               \
    Y(X, I64_LT_S)                                                             \
    Y(X, I64_LT_U)                                                             \
    Y(X, I64_GT_S)                                                             \
    Y(X, I64_GT_U)                                                             \
    Y(X, I64_LE_S)                                                             \
    Y(X, I64_LE_U)                                                             \
    Y(X, I64_GE_S)                                                             \
    Y(X, I64_GE_U)                                                             \
    Y(X, F32_EQ)                                                               \
    Y(X, F32_NE)                                                               \
    Y(X, F32_LT)                                                               \
    Y(X, F32_GT)                                                               \
    Y(X, F32_LE)                                                               \
    Y(X, F32_GE)                                                               \
    Y(X, F64_EQ)                                                               \
    Y(X, F64_NE)                                                               \
    Y(X, F64_LT)                                                               \
    Y(X, F64_GT)                                                               \
    Y(X, F64_LE)                                                               \
    Y(X, F64_GE)                                                               \
    Y(X, I32_ADD)                                                              \
    Y(X, I32_SUB)                                                              \
    Y(X, I32_MUL)                                                              \
    Y(X, I32_AND)                                                              \
    Y(X, I32_OR)                                                               \
    Y(X, I32_XOR)                                                              \
    Y(X, I32_SHL)                                                              \
    Y(X, I32_SHR_S)                                                            \
    Y(X, I32_SHR_U)                                                            \
    Y(X, I32_ROTL)                                                             \
    Y(X, I32_ROTR)                                                             \
    Y(X, I64_ADD)                                                              \
    Y(X, I64_SUB)                                                              \
    Y(X, I64_MUL)                                                              \
    Y(X, I64_AND)                                                              \
    Y(X, I64_OR)                                                               \
    Y(X, I64_XOR)                                                              \
    Y(X, I64_SHL)                                                              \
    Y(X, I64_SHR_S)                                                            \
    Y(X, I64_SHR_U)                                                            \
    Y(X, I64_ROTL)                                                             \
    Y(X, I64_ROTR)                                                             \
    Y(X, F32_ADD)                                                              \
    Y(X, F32_SUB)                                                              \
    Y(X, F32_MUL)                                                              \
    Y(X, F32_DIV)                                                              \
    Y(X, F32_MIN)                                                              \
    Y(X, F32_MAX)                                                              \
    Y(X, F32_COPYSIGN)                                                         \
    Y(X, F64_ADD)                                                              \
    Y(X, F64_SUB)                                                              \
    Y(X, F64_MUL)                                                              \
    Y(X, F64_DIV)                                                              \
    Y(X, F64_MIN)                                                              \
    Y(X, F64_MAX)                                                              \
    Y(X, F64_COPYSIGN)

/* Fused compare-and-branch (a, b, offset): taken when the compare holds;
 * then the same with a (_RS) or b (_SR) read from the accumulator. */
#define CMPBR3(X, N) X(N, 3, 3) X(N##_RS, 3, 3) X(N##_SR, 3, 3)
#define WASM_CMPBR(Y, X)                                                       \
    Y(X, BR_F32_EQ)                                                            \
    Y(X, BR_F32_NE)                                                            \
    Y(X, BR_F32_LT)                                                            \
    Y(X, BR_F32_GT)                                                            \
    Y(X, BR_F32_LE)                                                            \
    Y(X, BR_F32_GE)                                                            \
    Y(X, BR_F32_NLT)                                                           \
    Y(X, BR_F32_NGT)                                                           \
    Y(X, BR_F32_NLE)                                                           \
    Y(X, BR_F32_NGE)                                                           \
    Y(X, BR_F64_EQ)                                                            \
    Y(X, BR_F64_NE)                                                            \
    Y(X, BR_F64_LT)                                                            \
    Y(X, BR_F64_GT)                                                            \
    Y(X, BR_F64_LE)                                                            \
    Y(X, BR_F64_GE)                                                            \
    Y(X, BR_F64_NLT)                                                           \
    Y(X, BR_F64_NGT)                                                           \
    Y(X, BR_F64_NLE)                                                           \
    Y(X, BR_F64_NGE)                                                           \
    Y(X, BR_I32_EQ)                                                            \
    Y(X, BR_I32_NE)                                                            \
    Y(X, BR_I32_LT_S)                                                          \
    Y(X, BR_I32_LT_U)                                                          \
    Y(X, BR_I32_GT_S)                                                          \
    Y(X, BR_I32_GT_U)                                                          \
    Y(X, BR_I32_LE_S)                                                          \
    Y(X, BR_I32_LE_U)                                                          \
    Y(X, BR_I32_GE_S)                                                          \
    Y(X, BR_I32_GE_U)                                                          \
    Y(X, BR_I64_EQ)                                                            \
    Y(X, BR_I64_NE)                                                            \
    Y(X, BR_I64_LT_S)                                                          \
    Y(X, BR_I64_LT_U)                                                          \
    Y(X, BR_I64_GT_S)                                                          \
    Y(X, BR_I64_GT_U)                                                          \
    Y(X, BR_I64_LE_S)                                                          \
    Y(X, BR_I64_LE_U)                                                          \
    Y(X, BR_I64_GE_S)                                                          \
    Y(X, BR_I64_GE_U)

enum wasm_op {
#define WASM_OP_ENUM_(name, nw, mask) OP_##name,
    WASM_OPS(WASM_OP_ENUM_)
#undef WASM_OP_ENUM_
        OP_COUNT_
};

/* Operand words and slot masks of each op (BR_TABLE has n+1 more). */
extern const uint8_t wasm_op_words[OP_COUNT_];
extern const uint8_t wasm_op_slots[OP_COUNT_];

/* load.c */
int wasm_module_decode(struct fastn_wasm_module *m, const uint8_t *p,
                       size_t len, struct fastn_wasm_error *err);
void wasm_module_cleanup(struct fastn_wasm_module *m);
/* Length of a name read from a module (names may hold NUL bytes). */
uint32_t wasm_name_len(const char *name);
bool wasm_type_equal(const struct wasm_functype *a,
                     const struct wasm_functype *b);
struct buf_reader;
/* load.c: reads an N-bit LEB128 as the binary format defines it; NULL, or
 * why the bytes are malformed. compile.c uses it too. */
const char *wasm_read_leb(struct buf_reader *r, unsigned bits, bool sign,
                          uint64_t *out);
/* Sets err (when not NULL) and returns code. */
int wasm_fail(struct fastn_wasm_error *err, int code, size_t off,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* compile.c: validates and compiles body bytes [p, p+len) of function
 * fidx (a defined function) into c. */
int wasm_compile_func(const struct fastn_wasm_module *m, uint32_t fidx,
                      const uint8_t *p, size_t len, size_t base_off,
                      struct wasm_code *c, struct fastn_wasm_error *err);
void wasm_code_cleanup(struct wasm_code *c);

/* interp.c */
/* The handler of each op (for compile.c to place in op cells). */
const void *const *wasm_handlers(void);
/* Runs f on inst's stacks with args (nparams values) and writes its
 * results. */
int wasm_invoke(struct fastn_wasm_instance *inst, struct wasm_func *f,
                const union fastn_wasm_value *args,
                union fastn_wasm_value *results);
int wasm_resume(struct fastn_wasm_instance *inst,
                union fastn_wasm_value *results);
/* Creates a memory of min pages that may grow to max_pages, charged to
 * budget (may be NULL). */
int wasm_memory_init(struct wasm_memory *mem, uint32_t min, uint32_t max_pages,
                     struct wasm_budget *budget);
void wasm_memory_cleanup(struct wasm_memory *mem);
/* Whether budget b has room for n more bytes (NULL: always). */
bool wasm_budget_fits(const struct wasm_budget *b, uint64_t n);

/* instance.c: exports by name (names may hold NUL bytes) */
const struct wasm_export *wasm_find_export(const struct fastn_wasm_module *m,
                                           const char *name, size_t len);
int wasm_call_export(struct fastn_wasm_instance *inst, const char *name,
                     size_t len, const union fastn_wasm_value *args,
                     size_t nargs, union fastn_wasm_value *results,
                     size_t nresults);
/* Grows memory by delta pages; returns the old size in pages or -1 (past
 * its maximum or its owner's budget). */
int64_t wasm_memory_grow(struct wasm_memory *mem, uint32_t delta);
/* Whether memory.grow / table.grow by delta would succeed (as far as the
 * limits say: allocation may still fail). */
bool wasm_memory_can_grow(const struct wasm_memory *mem, uint32_t delta);
bool wasm_table_can_grow(const struct wasm_table *t, uint32_t delta,
                         uint32_t cap);
/* Grows a table by delta entries set to init; old size or -1 (past its
 * maximum, cap or its owner's budget). */
int64_t wasm_table_grow(struct wasm_table *t, uint32_t delta, void *init,
                        uint32_t cap);

#endif
