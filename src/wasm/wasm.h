/*
 * The fastn WebAssembly engine: embedding API.
 *
 * WebAssembly 2.0 without SIMD (MVP, mutable globals, sign extension,
 * non-trapping float-to-int, multi-value, bulk memory, reference types).
 * A module is decoded, validated and compiled once by
 * fastn_wasm_module_load(); each function becomes a compact internal code
 * run by a threaded interpreter. Instances are created from a module with
 * imports (host functions, or exports of other instances), run with a
 * fuel budget (about 1 ns of work a unit, bulk operations and growth
 * charged by size), one memory budget in bytes, and caps on memory pages,
 * value stack and call depth, and report traps as FASTN_ERR_WASM_TRAP_*
 * codes.
 *
 * Lifetimes: a module must outlive its instances; an instance whose
 * exports another instance imported (or whose functions were stored in
 * another instance's table) must outlive that instance. Nothing here is
 * thread-safe: one instance is used by one thread at a time.
 *
 * Value types are written as letters in signatures:
 *   'i' i32, 'I' i64, 'f' f32, 'F' f64, 'r' funcref, 'e' externref
 * e.g. a host function (i32, i64) -> f64 has params "iI", results "F".
 */
#ifndef FASTN_WASM_H
#define FASTN_WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fastn/err.h"

struct fastn_wasm_module;
struct fastn_wasm_instance;
struct fastn_wasm_imports;

/* A value as passed to and from the engine. Which member is valid is
 * given by the signature. References are opaque pointers, NULL is null. */
union fastn_wasm_value {
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float f32;
    double f64;
    void *ref;
};

/* Why loading or linking failed: code, a message naming the problem, and
 * the byte offset in the module where it was found (0 when not known). */
struct fastn_wasm_error {
    int code;
    size_t offset;
    char message[200];
};

/* Flags for fastn_wasm_module_load. */
enum {
    /* Compile without fuel metering: instances of this module run
     * unmetered (their fuel is ignored). Used to measure metering cost. */
    FASTN_WASM_LOAD_NO_FUEL = 1,
};

/* Decodes, validates and compiles a binary module. The bytes are not
 * referenced after return. On success *out is a new module (free it with
 * fastn_wasm_module_free). Errors (with err filled when non-NULL):
 * FASTN_ERR_WASM_MALFORMED (bad encoding), _INVALID (fails validation),
 * _UNSUPPORTED (a feature this engine refuses: the message names it),
 * _LIMIT (beyond an engine limit), FASTN_ERR_NOMEM. Time and memory are
 * linear in len. */
int fastn_wasm_module_load(const uint8_t *bytes, size_t len, unsigned flags,
                           struct fastn_wasm_module **out,
                           struct fastn_wasm_error *err);
void fastn_wasm_module_free(struct fastn_wasm_module *mod);
/* About how many bytes a loaded module holds (its compiled code, types,
 * segments, names excepted): what an embedder that runs one instance per
 * module adds to that instance's budget. Loading allocates at most about
 * 130 bytes a byte of the module (compiled code is bounded per function
 * body), and real modules far less (clang's output: under 10). */
uint64_t fastn_wasm_module_memory_used(const struct fastn_wasm_module *mod);

/* Finds the first custom section called name in a binary module (as the
 * plugin manifest) without loading the module: *data points into bytes,
 * *size is the section's content after its name. Errors:
 * FASTN_ERR_NOT_FOUND, FASTN_ERR_WASM_MALFORMED (the section headers do
 * not parse). */
int fastn_wasm_custom_section(const uint8_t *bytes, size_t len,
                              const char *name, const uint8_t **data,
                              size_t *size);

/* Host function: args and results follow its signature; results does
 * not alias args. caller is the instance whose code made the call; use it
 * for fastn_wasm_memory_read/write. Return 0, or an error code to trap
 * (FASTN_ERR_WASM_TRAP_HOST, or any other code, which the call that
 * started execution returns). */
typedef int (*fastn_wasm_host_fn)(struct fastn_wasm_instance *caller,
                                  void *user,
                                  const union fastn_wasm_value *args,
                                  union fastn_wasm_value *results);

/* A set of imports offered to fastn_wasm_instance_new. */
struct fastn_wasm_imports *fastn_wasm_imports_new(void);
void fastn_wasm_imports_free(struct fastn_wasm_imports *imps);
/* Offers a host function as module.name with the given signature (type
 * letters above). Strings are copied. Errors: FASTN_ERR_INVAL (bad
 * signature), FASTN_ERR_NOMEM. */
int fastn_wasm_imports_add_func(struct fastn_wasm_imports *imps,
                                const char *module, const char *name,
                                const char *params, const char *results,
                                fastn_wasm_host_fn fn, void *user);
/* Offers every export of inst under the module name `module` (as the
 * spec suite's `register`). inst must outlive instances linked with it.
 * Errors: FASTN_ERR_NOMEM. */
int fastn_wasm_imports_add_instance(struct fastn_wasm_imports *imps,
                                    const char *module,
                                    struct fastn_wasm_instance *inst);

/* Per-instance caps. fastn_wasm_limits_default fills safe defaults.
 *
 * max_memory_bytes is the instance's one memory budget: its linear memory
 * (the bytes it has now), its tables (8 bytes an entry allocated), its
 * globals, the engine's own allocations for it (value stack and call
 * frames, reserved at instantiation; function, table, global and segment
 * arrays) and the bytes its embedder charges with
 * fastn_wasm_instance_memory_charge. Instantiating a module that would
 * not fit fails with FASTN_ERR_WASM_LIMIT (the message gives each part);
 * memory.grow and table.grow return -1 past it, as they do past
 * max_memory_pages or max_table_elems. Memory and tables imported from
 * another instance are counted by their owner. 0 (the default) means
 * max_memory_pages x 64 KiB + FASTN_WASM_BUDGET_EXTRA, so that a cap on
 * pages alone also bounds the rest. */
struct fastn_wasm_limits {
    uint32_t max_memory_pages; /* 64 KiB pages; at most 65536 */
    uint32_t max_table_elems;  /* per table */
    uint32_t max_stack_slots;  /* value stack, 8 bytes each */
    uint32_t max_call_depth;   /* nested wasm calls */
    uint64_t fuel;             /* initial fuel (metered modules only) */
    uint64_t max_memory_bytes; /* the budget; 0: derived, see above */
};
#define FASTN_WASM_BUDGET_EXTRA (16u << 20)
void fastn_wasm_limits_default(struct fastn_wasm_limits *lim);

/* Links mod against imps (which may be NULL when it imports nothing) and
 * allocates its memory, tables and globals. Does not run anything: call
 * fastn_wasm_instance_init next. imps is not referenced after return.
 * Errors: FASTN_ERR_WASM_UNLINKABLE (a missing or mistyped import; err
 * names it), FASTN_ERR_WASM_LIMIT (memory or table above a cap),
 * FASTN_ERR_NOMEM. */
int fastn_wasm_instance_new(const struct fastn_wasm_module *mod,
                            const struct fastn_wasm_imports *imps,
                            const struct fastn_wasm_limits *lim,
                            struct fastn_wasm_instance **out,
                            struct fastn_wasm_error *err);
/* Applies element and data segments and runs the start function. A trap
 * is returned as its FASTN_ERR_WASM_TRAP_* code; segments applied before
 * it stay applied (as the spec says), so the instance must be kept while
 * tables it wrote into are in use, then freed. */
int fastn_wasm_instance_init(struct fastn_wasm_instance *inst);
void fastn_wasm_instance_free(struct fastn_wasm_instance *inst);

/* Calls the exported function `name` with nargs arguments, writing
 * nresults results. Errors: FASTN_ERR_NOT_FOUND (no such function
 * export), FASTN_ERR_INVAL (wrong argument or result count),
 * FASTN_ERR_WASM_TRAP_* (the call trapped; the instance stays usable),
 * FASTN_ERR_WASM_TRAP_OUT_OF_FUEL (see fastn_wasm_instance_resume), or
 * an error a host function returned. */
int fastn_wasm_instance_call(struct fastn_wasm_instance *inst, const char *name,
                             const union fastn_wasm_value *args, size_t nargs,
                             union fastn_wasm_value *results, size_t nresults);
/* After a call returned FASTN_ERR_WASM_TRAP_OUT_OF_FUEL, and more fuel was
 * added, continues it where it stopped; returns as the call would. Any
 * other call discards the stopped one. Errors: as _call, and
 * FASTN_ERR_INVAL when nothing is stopped (or it stopped inside a host
 * function, which cannot be resumed). */
int fastn_wasm_instance_resume(struct fastn_wasm_instance *inst,
                               union fastn_wasm_value *results,
                               size_t nresults);

/* One frame of a trap's backtrace (fastn_wasm_trace). */
struct fastn_wasm_frame {
    uint32_t func;    /* function index, imports counted */
    uint32_t offset;  /* byte offset in the module of its instruction */
    const char *name; /* from the module's name section; NULL: none */
};
/* Where the last call of inst (or its resume) trapped or stopped for
 * want of fuel: the instruction, then each call that led to it,
 * innermost first. Fills up to max frames and returns how many (0: none
 * recorded); *depth (may be NULL) gets how many frames the stack had
 * (more than returned when it was deeper than 8). Names are borrowed
 * from the module. */
size_t fastn_wasm_trace(const struct fastn_wasm_instance *inst,
                        struct fastn_wasm_frame *out, size_t max,
                        uint32_t *depth);
/* The trace as text, "NAME+0xOFF <- NAME+0xOFF <- ..." (a frame without
 * a name is func[N]; OFF is the byte offset in the module; "<- ..." ends
 * it when frames were left out), NUL-terminated and cut to cap. Returns
 * the length written (0: no trace). */
size_t fastn_wasm_trace_text(const struct fastn_wasm_instance *inst, char *buf,
                             size_t cap, size_t max_frames);

/* Signature of an exported function as type letters (NUL-terminated;
 * each buffer must hold cap bytes). Errors: FASTN_ERR_NOT_FOUND,
 * FASTN_ERR_TOO_LARGE (a buffer is too small). */
int fastn_wasm_instance_func_sig(const struct fastn_wasm_instance *inst,
                                 const char *name, char *params,
                                 size_t params_cap, char *results,
                                 size_t results_cap);
/* Reads an exported global; *type gets its type letter. Errors:
 * FASTN_ERR_NOT_FOUND. */
int fastn_wasm_instance_global_get(const struct fastn_wasm_instance *inst,
                                   const char *name,
                                   union fastn_wasm_value *out, char *type);

/* Fuel: what is left, adding more (saturating), and setting it (e.g. a
 * host function charging for its own work: it may set the caller's fuel
 * lower; when it is 0 the next metering point stops the run with
 * FASTN_ERR_WASM_TRAP_OUT_OF_FUEL, resumable as usual).
 *
 * One unit is about 1 ns of work (docs/BENCHMARKS.md, "Fuel prices"):
 * each instruction pays one, bulk memory and table instructions pay by
 * the byte or element, memory.grow and table.grow by what they add, a
 * call by the locals it sets up, a call to a host function
 * FASTN_WASM_FUEL_HOST_CALL for the engine's side of it. */
uint64_t fastn_wasm_fuel_get(const struct fastn_wasm_instance *inst);
void fastn_wasm_fuel_add(struct fastn_wasm_instance *inst, uint64_t fuel);
void fastn_wasm_fuel_set(struct fastn_wasm_instance *inst, uint64_t fuel);
/* For a host function, before it does its work: takes cost from inst's
 * fuel (the instance the host function got as caller) and returns 0, or,
 * when less is left, takes nothing and returns
 * FASTN_ERR_WASM_TRAP_OUT_OF_FUEL. The host function then returns that
 * code at once, having done nothing: the run stops before the call, and
 * fastn_wasm_instance_resume (after fuel is added) makes the call again.
 * Always 0 for an unmetered module (FASTN_WASM_LOAD_NO_FUEL). */
int fastn_wasm_fuel_charge(struct fastn_wasm_instance *inst, uint64_t cost);
/* Fuel to charge for copying n bytes in a host function, at the price of
 * memory.copy (what the engine's wasi functions charge too), and what
 * the engine charges for its side of any host call. */
#define FASTN_WASM_COPY_BYTES 4 /* bytes a unit */
#define FASTN_WASM_FUEL_COPY(n) ((uint64_t)(n) / FASTN_WASM_COPY_BYTES)
#define FASTN_WASM_FUEL_HOST_CALL 5

/* What an instance holds of its memory budget, in bytes
 * (fastn_wasm_limits.max_memory_bytes): its own linear memory and tables,
 * its globals, the engine's allocations for it, and what the embedder
 * charged; total is their sum, limit the budget. */
struct fastn_wasm_memory_usage {
    uint64_t memory, tables, globals, engine, external;
    uint64_t total, limit;
};
void fastn_wasm_instance_memory_usage(const struct fastn_wasm_instance *inst,
                                      struct fastn_wasm_memory_usage *out);
/* The total alone (what `plugin info` shows against the budget). */
uint64_t
fastn_wasm_instance_memory_used(const struct fastn_wasm_instance *inst);
/* For the embedder: charges delta bytes it holds for the instance (its
 * buffers, a database's cache) to the instance's budget, or gives back
 * -delta bytes charged before. Charged bytes leave less room for
 * memory.grow and table.grow, and growth leaves less for charges, so one
 * budget covers both. Errors: FASTN_ERR_WASM_LIMIT (a charge that does
 * not fit; nothing is charged), FASTN_ERR_INVAL (giving back more than
 * was charged; nothing changes). */
int fastn_wasm_instance_memory_charge(struct fastn_wasm_instance *inst,
                                      int64_t delta);

/* The instance's memory 0 (its own or imported): size in bytes, and
 * bounds-checked copies in and out. Errors: FASTN_ERR_WASM_TRAP_MEMORY_OOB
 * when [addr, addr+n) is not inside memory (nothing is copied). */
uint64_t fastn_wasm_memory_size(const struct fastn_wasm_instance *inst);
int fastn_wasm_memory_read(const struct fastn_wasm_instance *inst,
                           uint64_t addr, void *dst, size_t n);
int fastn_wasm_memory_write(struct fastn_wasm_instance *inst, uint64_t addr,
                            const void *src, size_t n);
/* Borrows [addr, addr+n) of memory 0 in place (no copy), or NULL when it
 * is not inside memory (n = 0 is inside when addr <= size). The pointer
 * is valid only until wasm code of the instance runs again (memory.grow
 * may move memory): host functions use it for the call's duration. */
uint8_t *fastn_wasm_memory_span(struct fastn_wasm_instance *inst, uint64_t addr,
                                size_t n);

/* A user pointer stored with the instance, for host functions. */
void fastn_wasm_instance_set_user(struct fastn_wasm_instance *inst, void *user);
void *fastn_wasm_instance_get_user(const struct fastn_wasm_instance *inst);

#endif
