/*
 * Validation and compilation of one function body (WebAssembly 2.0, sec.
 * 3.3 "Instructions", with the validation algorithm of its appendix).
 *
 * One pass: each instruction is type-checked against a stack of operand
 * entries and control frames, and code is emitted at once. An operand
 * entry records where its value lives: a temp slot (its own stack
 * position), a local slot (a `local.get` not yet copied: no code), or a
 * constant slot (constants are copied into the frame at each call). So
 * `local.get`, `*.const` and `local.set` after an operation mostly cost no
 * instruction. Frame layout: [params+locals][constants][temps]; temps are
 * tagged with TEMP_TAG while compiling (the number of constants is known
 * only at the end) and renumbered by fix_slots. A call's frame starts at
 * its first argument's temp. Invariants:
 *  - a temp entry at stack position p always lives in slot nlocals + p;
 *  - lazy local entries are copied to their temp before the local is
 *    written, and at every block start (so that all paths into a label
 *    agree on where values live);
 *  - values passed to a label are moved to the label's canonical temps.
 * The code is bounded by a fixed multiple of the body size.
 */
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "wasm/wasm_int.h"

#define TEMP_TAG 0x80000000u
#define NO_CELL ((size_t)-1)

enum { C_BLOCK, C_LOOP, C_IF, C_ELSE, C_FUNC };

struct vs {
    uint8_t type;
    uint32_t slot;
};

struct ctl {
    uint8_t kind;
    bool unreachable; /* the stack is polymorphic (validation) */
    bool dead;        /* the block starts in unreachable code: no code */
    uint32_t height;  /* stack height below the block's params */
    uint32_t nparams, nresults;
    const uint8_t *params, *results;
    uint32_t patch;      /* chain of forward branch words (index + 1) */
    uint32_t else_patch; /* the if's branch-to-else word (index + 1) */
    size_t loop_cell;
};

struct cc {
    const struct fastn_wasm_module *m;
    struct buf_reader r;
    size_t base;
    struct fastn_wasm_error *err;
    const void *const *h;
    union wasm_cell *code;
    size_t ncells, cap, max_cells;
    /* the source map (wasm_code.src) and the current instruction's
     * offset in the module */
    struct wasm_src *src;
    uint32_t nsrc, srccap;
    uint32_t instr_off;
    struct vs *st;
    uint32_t sp, scap, max_height, watermark;
    struct ctl *ctl;
    uint32_t nctl, ccap;
    uint32_t nlocals;
    uint8_t *ltypes;
    uint32_t *lrefs;
    uint64_t *consts;
    uint32_t nconsts, kcap;
    uint32_t *khash; /* open addressing: const index + 1 */
    uint32_t khcap;
    /* the last instruction, when it wrote the slot in its word 0 (and
     * nothing has been emitted since): last_acc tells whether it left
     * that value in the accumulator too (ACC_GP, ACC_FP, both or none) */
    bool last_valid;
    size_t last_cell;
    enum wasm_op last_op;
    unsigned last_acc;
    /* the same for the instruction before the last one (restored when a
     * compare fuses into a branch) */
    bool prev_valid;
    size_t prev_cell;
    enum wasm_op prev_op;
    unsigned prev_acc;
    size_t fuel_cell;
    uint32_t ninstr;
    bool uses_data;
    size_t last_mov; /* cell of the last instruction if it is a MOV */
    size_t label_at; /* the last cell a branch may target */
};

static const uint8_t valtypes[] = {T_I32, T_I64,     T_F32,
                                   T_F64, T_FUNCREF, T_EXTERNREF};

static size_t pos(const struct cc *c)
{
    return c->base + c->r.off;
}

#define MALFORMED(c, ...)                                                      \
    wasm_fail((c)->err, FASTN_ERR_WASM_MALFORMED, pos(c), __VA_ARGS__)
#define INVALID(c, ...)                                                        \
    wasm_fail((c)->err, FASTN_ERR_WASM_INVALID, pos(c), __VA_ARGS__)
#define UNSUPPORTED(c, ...)                                                    \
    wasm_fail((c)->err, FASTN_ERR_WASM_UNSUPPORTED, pos(c), __VA_ARGS__)
#define TRY(x)                                                                 \
    do {                                                                       \
        int rc_ = (x);                                                         \
        if (rc_ != 0)                                                          \
            return rc_;                                                        \
    } while (0)

/* ---- reading ---------------------------------------------------------- */

static int rd_u8(struct cc *c, uint8_t *v)
{
    if (buf_get_u8(&c->r, v) != 0)
        return MALFORMED(c, "unexpected end of function");
    return 0;
}

static int rd_leb(struct cc *c, unsigned bits, bool sign, uint64_t *out)
{
    const char *why = wasm_read_leb(&c->r, bits, sign, out);
    return why ? MALFORMED(c, "%s", why) : 0;
}

static int rd_u32(struct cc *c, uint32_t *v)
{
    uint64_t x;
    TRY(rd_leb(c, 32, false, &x));
    *v = (uint32_t)x;
    return 0;
}

/* ---- emitting --------------------------------------------------------- */

static struct ctl *cur(struct cc *c)
{
    return &c->ctl[c->nctl - 1];
}

/* No code is emitted for code that cannot run. */
static bool is_dead(struct cc *c)
{
    return cur(c)->unreachable || cur(c)->dead;
}

static uint32_t *word(struct cc *c, uint32_t w)
{
    return &c->code[w / 2].w[w % 2];
}

static int reserve(struct cc *c, size_t cells)
{
    if (c->ncells + cells <= c->cap)
        return 0;
    if (c->ncells + cells > c->max_cells)
        return wasm_fail(c->err, FASTN_ERR_WASM_LIMIT, pos(c),
                         "function compiles to too much code");
    size_t ncap = c->cap ? c->cap * 2 : 64;
    while (ncap < c->ncells + cells)
        ncap *= 2;
    union wasm_cell *n = realloc(c->code, ncap * sizeof(*n));
    if (!n)
        return FASTN_ERR_NOMEM;
    c->code = n;
    c->cap = ncap;
    return 0;
}

/* Appends op with n operand words; *at gets the op's cell (if not NULL).
 * Emits nothing in unreachable code. */
/* A MOV followed by a MOV, BR or RET becomes one op, unless a branch
 * targets the second. Returns true when w was merged into the MOV. */
static bool merge_mov(struct cc *c, enum wasm_op op, const uint32_t *w,
                      size_t *at)
{
    size_t m = c->last_mov;
    if (m == NO_CELL || m + 2 != c->ncells || c->label_at == c->ncells)
        return false;
    union wasm_cell *p = &c->code[m];
    if (op == OP_MOV) { /* [MOV][d s] -> [MOV2][d s][d2 s2] */
        p->u64 = OP_MOV2;
        p[2].w[0] = w[0];
        p[2].w[1] = w[1];
    } else if (op == OP_BR) { /* -> [MOV_BR][off d][s] */
        p->u64 = OP_MOV_BR;
        p[2].w[0] = p[1].w[1];
        p[2].w[1] = 0;
        p[1].w[1] = p[1].w[0];
        p[1].w[0] = w[0];
    } else { /* RET */
        p->u64 = OP_MOV_RET;
        c->ncells--;
    }
    c->ncells++;
    c->last_mov = NO_CELL;
    if (at)
        *at = m;
    return true;
}

/* Notes that the code from cell on comes from the current instruction;
 * entries past cell were overwritten (a fused or rewound op). */
static int src_note(struct cc *c, size_t cell)
{
    while (c->nsrc > 0 && c->src[c->nsrc - 1].cell >= cell)
        c->nsrc--;
    if (c->nsrc > 0 && c->src[c->nsrc - 1].off == c->instr_off)
        return 0;
    if (c->nsrc == c->srccap) {
        uint32_t ncap = c->srccap ? c->srccap * 2 : 64;
        struct wasm_src *n = realloc(c->src, ncap * sizeof(*n));
        if (!n)
            return FASTN_ERR_NOMEM;
        c->src = n;
        c->srccap = ncap;
    }
    c->src[c->nsrc++] = (struct wasm_src){(uint32_t)cell, c->instr_off};
    return 0;
}

static int emit(struct cc *c, enum wasm_op op, const uint32_t *w, unsigned n,
                size_t *at)
{
    c->last_valid = false;
    if (at)
        *at = NO_CELL;
    if (is_dead(c))
        return 0;
    TRY(src_note(c, c->ncells));
    if ((op == OP_MOV || op == OP_BR || op == OP_RET) && reserve(c, 1) == 0 &&
        merge_mov(c, op, w, at))
        return 0;
    c->last_mov = op == OP_MOV && c->m->fuse ? c->ncells : NO_CELL;
    size_t cells = 1 + (n + 1) / 2;
    TRY(reserve(c, cells));
    union wasm_cell *p = &c->code[c->ncells];
    memset(p, 0, cells * sizeof(*p));
    p->u64 = op; /* the handler replaces it in fix_slots */
    for (unsigned i = 0; i < n; i++)
        p[1 + i / 2].w[i % 2] = w[i];
    if (at)
        *at = c->ncells;
    c->ncells += cells;
    return 0;
}

static uint32_t tslot(const struct cc *c, uint32_t p)
{
    (void)c;
    return TEMP_TAG | p;
}

static bool is_local(const struct cc *c, uint32_t slot)
{
    return slot < c->nlocals;
}

/* ---- constants -------------------------------------------------------- */

static uint32_t khash(uint64_t v)
{
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdull;
    v ^= v >> 33;
    return (uint32_t)v;
}

static int kh_rebuild(struct cc *c, uint32_t cap)
{
    uint32_t *t = calloc(cap, sizeof(*t));
    if (!t)
        return FASTN_ERR_NOMEM;
    free(c->khash);
    c->khash = t;
    c->khcap = cap;
    for (uint32_t i = 0; i < c->nconsts; i++) {
        uint32_t j = khash(c->consts[i]) & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = i + 1;
    }
    return 0;
}

/* The slot of a constant, shared by equal bit patterns. */
static int const_slot(struct cc *c, uint64_t bits, uint32_t *slot)
{
    if (c->nconsts * 2 >= c->khcap)
        TRY(kh_rebuild(c, c->khcap ? c->khcap * 2 : 64));
    uint32_t j = khash(bits) & (c->khcap - 1);
    for (; c->khash[j]; j = (j + 1) & (c->khcap - 1)) {
        if (c->consts[c->khash[j] - 1] == bits) {
            *slot = c->nlocals + c->khash[j] - 1;
            return 0;
        }
    }
    if (c->nconsts == c->kcap) {
        uint32_t ncap = c->kcap ? c->kcap * 2 : 16;
        uint64_t *n = realloc(c->consts, ncap * sizeof(*n));
        if (!n)
            return FASTN_ERR_NOMEM;
        c->consts = n;
        c->kcap = ncap;
    }
    c->consts[c->nconsts] = bits;
    if (c->nlocals + c->nconsts >= WASM_MAX_FRAME)
        return wasm_fail(c->err, FASTN_ERR_WASM_LIMIT, pos(c),
                         "too many constants in one function");
    c->khash[j] = ++c->nconsts;
    *slot = c->nlocals + c->nconsts - 1;
    return 0;
}

/* ---- operand stack ---------------------------------------------------- */

static int push(struct cc *c, uint8_t type, uint32_t slot)
{
    if (c->sp == c->scap) {
        uint32_t ncap = c->scap ? c->scap * 2 : 64;
        struct vs *n = realloc(c->st, ncap * sizeof(*n));
        if (!n)
            return FASTN_ERR_NOMEM;
        c->st = n;
        c->scap = ncap;
    }
    if (c->sp >= WASM_MAX_FRAME)
        return wasm_fail(c->err, FASTN_ERR_WASM_LIMIT, pos(c),
                         "operand stack too deep");
    if (is_local(c, slot)) {
        c->lrefs[slot]++;
        if (c->watermark > c->sp)
            c->watermark = c->sp;
    }
    c->st[c->sp++] = (struct vs){type, slot};
    if (c->sp > c->max_height)
        c->max_height = c->sp;
    return 0;
}

/* Pushes a value computed into its own temp. */
static int push_temp(struct cc *c, uint8_t type)
{
    return push(c, type, tslot(c, c->sp));
}

static int pop_any(struct cc *c, struct vs *out)
{
    struct ctl *k = cur(c);
    if (c->sp == k->height) {
        if (k->unreachable) {
            *out = (struct vs){T_UNKNOWN, 0};
            return 0;
        }
        return INVALID(c, "type mismatch (operand stack is empty)");
    }
    *out = c->st[--c->sp];
    if (is_local(c, out->slot) && out->type != T_UNKNOWN)
        c->lrefs[out->slot]--;
    if (c->watermark > c->sp)
        c->watermark = c->sp;
    return 0;
}

static int pop(struct cc *c, uint8_t want, struct vs *out)
{
    TRY(pop_any(c, out));
    if (out->type != want && out->type != T_UNKNOWN && want != T_UNKNOWN)
        return INVALID(c, "type mismatch");
    if (out->type == T_UNKNOWN)
        out->type = want;
    return 0;
}

/* Copies entry i into its own temp, if it lives elsewhere. */
static int materialize(struct cc *c, uint32_t i)
{
    struct vs *e = &c->st[i];
    uint32_t t = tslot(c, i);
    if (e->slot == t)
        return 0;
    uint32_t w[2] = {t, e->slot};
    TRY(emit(c, OP_MOV, w, 2, NULL));
    if (is_local(c, e->slot) && e->type != T_UNKNOWN)
        c->lrefs[e->slot]--;
    e->slot = t;
    return 0;
}

/* Copies every lazy local entry into its temp (block starts). */
static int flush_locals(struct cc *c)
{
    for (uint32_t i = c->watermark; i < c->sp; i++)
        if (is_local(c, c->st[i].slot))
            TRY(materialize(c, i));
    c->watermark = c->sp;
    return 0;
}

/* Before local x is written: copies entries that still read it. */
static int detach_local(struct cc *c, uint32_t x)
{
    for (uint32_t i = c->sp; i > c->watermark && c->lrefs[x] > 0; i--)
        if (c->st[i - 1].slot == x)
            TRY(materialize(c, i - 1));
    return 0;
}

/* ---- the accumulator (see wasm_int.h) -------------------------------- */

/* Where a value of type t lives in the accumulator. */
enum { ACC_GP = 1, ACC_FP = 2 };

static unsigned acc_class(uint8_t t)
{
    return t == T_F64 ? ACC_FP : ACC_GP;
}

/* The ops that leave their result in the accumulator too. */
static const uint8_t acc_writer[OP_COUNT_] = {
#define ACCW_(name, nw, mask) [OP_##name] = 1,
    WASM_LOADS(LOAD6, ACCW_) WASM_UNOPS(UN2, ACCW_) WASM_BINOPS(ACCW_)
        ACCW_(I32_ADD_SHL, 4, 7)
#undef ACCW_
};

/* Binary ops with accumulator variants (ACC6 in wasm_int.h). */
static const uint8_t acc_base[OP_COUNT_] = {
#define ACC_MARK_(X, N) [OP_##N] = 1,
    WASM_ACC_BINOPS(ACC_MARK_, _)
#undef ACC_MARK_
};

/* Unary ops, followed by their _X variant. */
static const uint8_t unop_base[OP_COUNT_] = {
#define UN_MARK_(X, N) [OP_##N] = 1,
    WASM_UNOPS(UN_MARK_, _)
#undef UN_MARK_
};

/* The first op of a load's six variants (LOAD6), or OP_COUNT_. */
static enum wasm_op load_base(enum wasm_op op)
{
    if (op < OP_LOAD32 || op >= OP_STORE32)
        return OP_COUNT_;
    return OP_LOAD32 + (op - OP_LOAD32) / 6 * 6;
}

/* Which variant op is: 0 none, else 1 + its offset from the base op. */
static unsigned acc_variant(enum wasm_op op)
{
    for (unsigned k = 0; k < 6 && k <= (unsigned)op; k++)
        if (acc_base[op - k])
            return k + 1;
    return 0;
}

/* Whether the operand in slot, of type t, can be read from the
 * accumulator: the last instruction computed it and left it there. When
 * it does and the slot is a temp (read once, here), the producer switches
 * to a variant that skips the slot (_R), if it has one. */
static bool acc_take(struct cc *c, uint32_t slot, uint8_t t)
{
    if (!c->last_valid || is_dead(c) || !(c->last_acc & acc_class(t)) ||
        c->code[c->last_cell + 1].w[0] != slot)
        return false;
    enum wasm_op lo = c->last_op, to = lo, lb = load_base(lo);
    unsigned pv = acc_variant(lo); /* 1 SS_M, 3 RS_M, 4 SR_M */
    if (pv == 1 || pv == 3 || pv == 4)
        to = lo + (pv == 1 ? 1 : 2);
    else if (lb != OP_COUNT_ && lo - lb < 3) /* N, N_A, N_X -> _R */
        to = lo + 3;
    if (slot & TEMP_TAG)
        c->code[c->last_cell].u64 = to;
    c->last_valid = false;
    return true;
}

/* ---- control ---------------------------------------------------------- */

static const uint8_t *label_types(const struct ctl *k, uint32_t *n)
{
    *n = k->kind == C_LOOP ? k->nparams : k->nresults;
    return k->kind == C_LOOP ? k->params : k->results;
}

static void set_unreachable(struct cc *c)
{
    struct ctl *k = cur(c);
    while (c->sp > k->height) {
        struct vs e = c->st[--c->sp];
        if (is_local(c, e.slot) && e.type != T_UNKNOWN)
            c->lrefs[e.slot]--;
    }
    if (c->watermark > c->sp)
        c->watermark = c->sp;
    k->unreachable = true;
    c->last_valid = false;
}

/* Checks the top n entries against types without popping. */
static int check_top(struct cc *c, const uint8_t *types, uint32_t n)
{
    struct ctl *k = cur(c);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t depth = n - i; /* 1 = top */
        if (c->sp - k->height < depth) {
            if (!k->unreachable)
                return INVALID(c, "type mismatch (not enough operands)");
            continue;
        }
        uint8_t t = c->st[c->sp - depth].type;
        if (t != types[i] && t != T_UNKNOWN)
            return INVALID(c, "type mismatch");
    }
    return 0;
}

/* Pops n values of the given types and pushes them back with those
 * types (validation's pop_vals + push_vals): in unreachable code, values
 * missing from the polymorphic stack appear. */
static int retype_top(struct cc *c, const uint8_t *types, uint32_t n)
{
    TRY(check_top(c, types, n));
    uint32_t have = c->sp - cur(c)->height;
    if (have < n) {
        struct vs tmp;
        while (c->sp > cur(c)->height)
            TRY(pop_any(c, &tmp));
        for (uint32_t i = 0; i < n; i++)
            TRY(push_temp(c, types[i]));
        return 0;
    }
    for (uint32_t i = 0; i < n; i++)
        c->st[c->sp - n + i].type = types[i];
    return 0;
}

/* Moves the top n values into a label's canonical temps. */
static int move_values(struct cc *c, uint32_t n, uint32_t dst0)
{
    for (uint32_t i = 0; i < n; i++) {
        struct vs *e = &c->st[c->sp - n + i];
        if (e->slot != dst0 + i) {
            uint32_t w[2] = {dst0 + i, e->slot};
            TRY(emit(c, OP_MOV, w, 2, NULL));
        }
    }
    return 0;
}

static bool needs_moves(const struct cc *c, uint32_t n, uint32_t dst0)
{
    for (uint32_t i = 0; i < n; i++)
        if (c->st[c->sp - n + i].slot != dst0 + i)
            return true;
    return false;
}

/* Return sequence: results to slots 0..n-1, then RET. */
static int emit_return(struct cc *c)
{
    const struct ctl *f = &c->ctl[0];
    uint32_t n = f->nresults;
    if (is_dead(c))
        return 0;
    /* Results go to slots 0..n-1, which may be locals or constants that
     * a later result reads: then copy all of them to their temps first.
     * The entries are left as they are (br_if's other path needs them). */
    bool hazard = false;
    /* one result just computed: compute it straight into slot 0 */
    if (n == 1 && c->last_valid &&
        c->st[c->sp - 1].slot == tslot(c, c->sp - 1) &&
        c->code[c->last_cell + 1].w[0] == c->st[c->sp - 1].slot) {
        c->code[c->last_cell + 1].w[0] = 0;
        return emit(c, OP_RET, NULL, 0, NULL);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s = c->st[c->sp - n + i].slot;
        hazard |= !(s & TEMP_TAG) && s < n && s != i;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p = c->sp - n + i, s = c->st[p].slot;
        uint32_t src = hazard ? tslot(c, p) : s;
        if (hazard && s != src) {
            uint32_t w[2] = {src, s};
            TRY(emit(c, OP_MOV, w, 2, NULL));
        }
        if (src != i) {
            uint32_t w[2] = {i, src};
            TRY(emit(c, OP_MOV, w, 2, NULL));
        }
    }
    return emit(c, OP_RET, NULL, 0, NULL);
}

/* The value of branch word w (index) that jumps to cell target: the
 * distance in bytes from w's cell, plus the loop bit (see JUMP in
 * interp.c). */
static uint32_t branch_offset(size_t target, uint32_t w, bool loop)
{
    int64_t d = (int64_t)target - (int64_t)(w / 2);
    return (uint32_t)(d * (int64_t)sizeof(union wasm_cell)) | (loop ? 1u : 0u);
}

/* Links the branch word w (index) to control frame k's label. */
static void link_branch(struct cc *c, struct ctl *k, uint32_t w)
{
    if (k->kind == C_LOOP) {
        /* a metered loop starts with FUEL: the branch charges it (the
         * loop bit, see JUMP in interp.c) */
        *word(c, w) = branch_offset(k->loop_cell, w, c->m->metering);
    } else {
        *word(c, w) = k->patch;
        k->patch = w + 1;
    }
}

static void resolve_chain(struct cc *c, uint32_t link, size_t target)
{
    c->label_at = target;
    while (link) {
        uint32_t w = link - 1;
        link = *word(c, w);
        *word(c, w) = branch_offset(target, w, false);
    }
}

/* Unconditional branch to label depth d (values already checked). */
static int emit_br(struct cc *c, uint32_t d)
{
    struct ctl *k = &c->ctl[c->nctl - 1 - d];
    uint32_t n;
    size_t at;
    if (is_dead(c))
        return 0;
    if (k->kind == C_FUNC)
        return emit_return(c);
    label_types(k, &n);
    TRY(move_values(c, n, tslot(c, k->height)));
    uint32_t w = 0;
    TRY(emit(c, OP_BR, &w, 1, &at));
    if (at != NO_CELL)
        link_branch(c, k, (uint32_t)(at + 1) * 2);
    return 0;
}

static int read_label(struct cc *c, uint32_t *d)
{
    TRY(rd_u32(c, d));
    if (*d >= c->nctl)
        return INVALID(c, "unknown label %u", *d);
    return 0;
}

static int read_blocktype(struct cc *c, struct ctl *k)
{
    uint8_t b;
    uint64_t idx;
    if (c->r.off >= c->r.len)
        return MALFORMED(c, "unexpected end");
    b = c->r.p[c->r.off];
    k->nparams = k->nresults = 0;
    k->params = k->results = valtypes;
    if (b == 0x40) {
        c->r.off++;
        return 0;
    }
    for (unsigned i = 0; i < sizeof(valtypes); i++) {
        if (b == valtypes[i]) {
            c->r.off++;
            k->results = &valtypes[i];
            k->nresults = 1;
            return 0;
        }
    }
    if (b == T_V128)
        return UNSUPPORTED(c, "SIMD (v128) is not supported");
    TRY(rd_leb(c, 33, true, &idx));
    if ((int64_t)idx < 0)
        return MALFORMED(c, "malformed block type");
    if (idx >= c->m->ntypes)
        return INVALID(c, "unknown type %u", (unsigned)idx);
    const struct wasm_functype *t = &c->m->types[idx];
    k->nparams = t->nparams;
    k->nresults = t->nresults;
    k->params = t->types;
    k->results = t->types + t->nparams;
    return 0;
}

static int push_ctl(struct cc *c, const struct ctl *k)
{
    if (c->nctl == c->ccap) {
        uint32_t ncap = c->ccap ? c->ccap * 2 : 16;
        struct ctl *n = realloc(c->ctl, ncap * sizeof(*n));
        if (!n)
            return FASTN_ERR_NOMEM;
        c->ctl = n;
        c->ccap = ncap;
    }
    c->ctl[c->nctl++] = *k;
    return 0;
}

/* Emits a FUEL op and closes the previous one's count. */
static int emit_fuel(struct cc *c)
{
    if (!c->m->metering)
        return 0;
    if (c->fuel_cell != NO_CELL)
        c->code[c->fuel_cell + 1].w[0] = c->ninstr ? c->ninstr : 1;
    uint32_t w = 1;
    size_t at;
    TRY(emit(c, OP_FUEL, &w, 1, &at));
    if (at != NO_CELL) {
        c->fuel_cell = at;
        c->ninstr = 0;
    }
    return 0;
}

/* The compare-and-branch op of a compare, or OP_COUNT_. */
static enum wasm_op cmp_branch(enum wasm_op op)
{
    static const struct {
        uint16_t cmp, br;
    } map[] = {
        {OP_I32_EQ, OP_BR_I32_EQ},     {OP_I32_NE, OP_BR_I32_NE},
        {OP_I32_LT_S, OP_BR_I32_LT_S}, {OP_I32_LT_U, OP_BR_I32_LT_U},
        {OP_I32_GT_S, OP_BR_I32_GT_S}, {OP_I32_GT_U, OP_BR_I32_GT_U},
        {OP_I32_LE_S, OP_BR_I32_LE_S}, {OP_I32_LE_U, OP_BR_I32_LE_U},
        {OP_I32_GE_S, OP_BR_I32_GE_S}, {OP_I32_GE_U, OP_BR_I32_GE_U},
        {OP_I64_EQ, OP_BR_I64_EQ},     {OP_I64_NE, OP_BR_I64_NE},
        {OP_I64_LT_S, OP_BR_I64_LT_S}, {OP_I64_LT_U, OP_BR_I64_LT_U},
        {OP_I64_GT_S, OP_BR_I64_GT_S}, {OP_I64_GT_U, OP_BR_I64_GT_U},
        {OP_I64_LE_S, OP_BR_I64_LE_S}, {OP_I64_LE_U, OP_BR_I64_LE_U},
        {OP_I64_GE_S, OP_BR_I64_GE_S}, {OP_I64_GE_U, OP_BR_I64_GE_U},
        {OP_F32_EQ, OP_BR_F32_EQ},     {OP_F32_NE, OP_BR_F32_NE},
        {OP_F32_LT, OP_BR_F32_LT},     {OP_F32_GT, OP_BR_F32_GT},
        {OP_F32_LE, OP_BR_F32_LE},     {OP_F32_GE, OP_BR_F32_GE},
        {OP_F64_EQ, OP_BR_F64_EQ},     {OP_F64_NE, OP_BR_F64_NE},
        {OP_F64_LT, OP_BR_F64_LT},     {OP_F64_GT, OP_BR_F64_GT},
        {OP_F64_LE, OP_BR_F64_LE},     {OP_F64_GE, OP_BR_F64_GE},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].cmp == op)
            return map[i].br;
    return OP_COUNT_;
}

/* Fused compare-and-branch: if the condition was just computed by an
 * integer compare, removes that compare and returns its fused op. */
static bool take_compare(struct cc *c, const struct vs *cond, enum wasm_op *op,
                         uint32_t *a, uint32_t *b)
{
    if (!c->last_valid || is_dead(c) || cond->slot != tslot(c, c->sp) ||
        c->code[c->last_cell + 1].w[0] != cond->slot)
        return false;
    enum wasm_op lo = c->last_op;
    const union wasm_cell *p = &c->code[c->last_cell];
    if (cmp_branch(lo) != OP_COUNT_) {
        *op = cmp_branch(lo);
    } else if (lo == OP_I32_AND) {
        *op = OP_BR_AND_NZ;
    } else if (lo == OP_I32_EQZ || lo == OP_I64_EQZ) {
        *op = lo == OP_I32_EQZ ? OP_BR_IF_NOT : OP_BR_I64_EQZ;
    } else {
        return false;
    }
    *a = p[1].w[1];
    if (lo != OP_I32_EQZ && lo != OP_I64_EQZ)
        *b = p[2].w[0];
    /* the compare goes; the instruction before it is the last one again
     * (the branch may read an operand from the accumulator) */
    c->ncells = c->last_cell;
    c->last_valid = c->prev_valid;
    c->last_cell = c->prev_cell;
    c->last_op = c->prev_op;
    c->last_acc = c->prev_acc;
    return true;
}

/* Compare-and-branch ops come in threes (CMPBR3): a and b in slots, a in
 * the accumulator (_RS), b in it (_SR). */
static bool is_cmpbr(enum wasm_op op)
{
    return op >= OP_BR_F32_EQ && op <= OP_BR_I64_GE_U_SR;
}

/* The branch taken exactly when op's is not (floats: !(a < b) is not
 * a >= b when a NaN is involved, hence the N* ops). */
static enum wasm_op invert(enum wasm_op op)
{
    static const struct {
        uint16_t a, b;
    } pairs[] = {
        {OP_BR_I32_EQ, OP_BR_I32_NE},     {OP_BR_I32_LT_S, OP_BR_I32_GE_S},
        {OP_BR_I32_LT_U, OP_BR_I32_GE_U}, {OP_BR_I32_GT_S, OP_BR_I32_LE_S},
        {OP_BR_I32_GT_U, OP_BR_I32_LE_U}, {OP_BR_I64_EQ, OP_BR_I64_NE},
        {OP_BR_I64_LT_S, OP_BR_I64_GE_S}, {OP_BR_I64_LT_U, OP_BR_I64_GE_U},
        {OP_BR_I64_GT_S, OP_BR_I64_LE_S}, {OP_BR_I64_GT_U, OP_BR_I64_LE_U},
        {OP_BR_F32_EQ, OP_BR_F32_NE},     {OP_BR_F32_LT, OP_BR_F32_NLT},
        {OP_BR_F32_GT, OP_BR_F32_NGT},    {OP_BR_F32_LE, OP_BR_F32_NLE},
        {OP_BR_F32_GE, OP_BR_F32_NGE},    {OP_BR_F64_EQ, OP_BR_F64_NE},
        {OP_BR_F64_LT, OP_BR_F64_NLT},    {OP_BR_F64_GT, OP_BR_F64_NGT},
        {OP_BR_F64_LE, OP_BR_F64_NLE},    {OP_BR_F64_GE, OP_BR_F64_NGE},
        {OP_BR_IF, OP_BR_IF_NOT},         {OP_BR_I64_EQZ, OP_BR_I64_NEZ},
        {OP_BR_AND_NZ, OP_BR_AND_Z},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        if (pairs[i].a == op)
            return pairs[i].b;
        if (pairs[i].b == op)
            return pairs[i].a;
    }
    return OP_COUNT_; /* not reached: every branch op is listed */
}

struct cond {
    enum wasm_op op;
    uint32_t a, b;
};

/* Pops an i32 condition, fusing a preceding compare when possible. */
static int pop_cond(struct cc *c, struct cond *k)
{
    struct vs e;
    TRY(pop(c, T_I32, &e));
    if (!take_compare(c, &e, &k->op, &k->a, &k->b)) {
        k->op = OP_BR_IF;
        k->a = e.slot;
    }
    return 0;
}

/* Emits a conditional branch (taken when k holds, or fails if !sense);
 * *w gets the offset word to link (0 when nothing was emitted). */
static int emit_cond(struct cc *c, const struct cond *k, bool sense,
                     uint32_t *w)
{
    enum wasm_op op = sense ? k->op : invert(k->op);
    uint32_t ws[3] = {k->a, k->b, 0};
    unsigned n = (op == OP_BR_IF || op == OP_BR_IF_NOT || op == OP_BR_I64_EQZ ||
                  op == OP_BR_I64_NEZ)
                     ? 2
                     : 3;
    ws[n - 1] = 0; /* the offset word starts an empty chain */
    if (n == 2 && acc_take(c, k->a, op <= OP_BR_IF_NOT_X ? T_I32 : T_I64)) {
        op++; /* BR_IF_X etc.: the value is in acc */
    } else if (is_cmpbr(op)) {
        uint8_t t = op >= OP_BR_F64_EQ && op < OP_BR_I32_EQ ? T_F64 : T_I64;
        if (acc_take(c, k->a, t))
            op += 1; /* _RS */
        else if (acc_take(c, k->b, t))
            op += 2; /* _SR */
    }
    size_t at;
    TRY(emit(c, op, ws, n, &at));
    *w = at == NO_CELL ? 0 : (uint32_t)(at + 1) * 2 + n - 1;
    return 0;
}

static int op_block(struct cc *c, uint8_t kind)
{
    struct ctl k = {.kind = kind, .loop_cell = NO_CELL};
    struct cond cond = {0};
    TRY(read_blocktype(c, &k));
    if (kind == C_IF)
        TRY(pop_cond(c, &cond));
    TRY(retype_top(c, k.params, k.nparams));
    TRY(flush_locals(c));
    for (uint32_t i = 0; i < k.nparams; i++)
        TRY(materialize(c, c->sp - k.nparams + i));
    c->last_valid = false;
    k.height = c->sp - k.nparams;
    k.dead = is_dead(c);
    if (kind == C_LOOP) {
        k.loop_cell = c->ncells; /* the FUEL op, so each turn pays */
        c->label_at = c->ncells;
        TRY(emit_fuel(c));
    }
    if (kind == C_IF) {
        uint32_t w;
        TRY(emit_cond(c, &cond, false, &w));
        k.else_patch = w ? w + 1 : 0;
    }
    return push_ctl(c, &k);
}

/* Checks that the stack holds exactly the frame's results and moves them
 * to their canonical temps. */
static int close_results(struct cc *c)
{
    struct ctl *k = cur(c);
    TRY(check_top(c, k->results, k->nresults));
    if (c->sp - k->height > k->nresults)
        return INVALID(c, "type mismatch (values remain at block end)");
    if (is_dead(c))
        return 0;
    for (uint32_t i = 0; i < k->nresults; i++)
        TRY(materialize(c, k->height + i));
    return 0;
}

static void reset_stack(struct cc *c, uint32_t height)
{
    struct vs tmp;
    while (c->sp > height)
        (void)pop_any(c, &tmp);
}

static int op_else(struct cc *c)
{
    struct ctl *k = cur(c);
    if (k->kind != C_IF)
        return INVALID(c, "else without a matching if");
    TRY(close_results(c));
    if (!k->unreachable) {
        size_t at;
        uint32_t w = 0;
        TRY(emit(c, OP_BR, &w, 1, &at));
        if (at != NO_CELL) {
            *word(c, (uint32_t)(at + 1) * 2) = k->patch;
            k->patch = (uint32_t)(at + 1) * 2 + 1;
        }
    }
    resolve_chain(c, k->else_patch, c->ncells);
    k->else_patch = 0;
    k->kind = C_ELSE;
    k->unreachable = false;
    reset_stack(c, k->height);
    for (uint32_t i = 0; i < k->nparams; i++)
        TRY(push_temp(c, k->params[i]));
    c->last_valid = false;
    return 0;
}

static int op_end(struct cc *c, bool *done)
{
    struct ctl *k = cur(c);
    TRY(close_results(c));
    if (k->kind == C_FUNC) {
        TRY(emit_return(c));
        *done = true;
        return 0;
    }
    if (k->kind == C_IF) {
        if (k->nparams != k->nresults ||
            memcmp(k->params, k->results, k->nparams) != 0)
            return INVALID(c, "type mismatch (if without else)");
    }
    resolve_chain(c, k->else_patch, c->ncells);
    resolve_chain(c, k->patch, c->ncells);
    struct ctl done_k = *k;
    reset_stack(c, k->height);
    c->nctl--;
    for (uint32_t i = 0; i < done_k.nresults; i++)
        TRY(push_temp(c, done_k.results[i]));
    c->last_valid = false;
    return 0;
}

static int op_br(struct cc *c)
{
    uint32_t d, n;
    TRY(read_label(c, &d));
    const uint8_t *t = label_types(&c->ctl[c->nctl - 1 - d], &n);
    TRY(check_top(c, t, n));
    TRY(emit_br(c, d));
    set_unreachable(c);
    return 0;
}

static int op_br_if(struct cc *c)
{
    uint32_t d, n, w;
    struct cond cond;
    TRY(read_label(c, &d));
    TRY(pop_cond(c, &cond));
    struct ctl *k = &c->ctl[c->nctl - 1 - d];
    const uint8_t *t = label_types(k, &n);
    TRY(retype_top(c, t, n));
    if (is_dead(c))
        return 0;
    uint32_t dst = k->kind == C_FUNC ? 0 : tslot(c, k->height);
    if (k->kind == C_FUNC || needs_moves(c, n, dst)) {
        TRY(emit_cond(c, &cond, false, &w));
        TRY(emit_br(c, d));
        resolve_chain(c, w + 1, c->ncells);
    } else {
        TRY(emit_cond(c, &cond, true, &w));
        link_branch(c, k, w);
    }
    return 0;
}

/* br_table: the labels are checked, and their moves (if any) emitted as
 * one stub, once per distinct label, so that time and code stay linear
 * in the table's size. memo[d]: 0 unseen, 1 checked, 2 direct, else the
 * stub's cell + 3. */
static int br_table_targets(struct cc *c, const uint32_t *labels, uint32_t n,
                            uint32_t *memo, size_t at, uint32_t arity)
{
    for (uint32_t i = 0; i <= n; i++) {
        uint32_t ew = (uint32_t)(at + 1) * 2 + 2 + i, d = labels[i];
        struct ctl *k = &c->ctl[c->nctl - 1 - d];
        if (memo[d] == 1) {
            uint32_t dst = k->kind == C_FUNC ? 0 : tslot(c, k->height);
            bool direct = k->kind != C_FUNC && !needs_moves(c, arity, dst);
            if (!direct) {
                memo[d] = (uint32_t)c->ncells + 3;
                c->label_at = c->ncells;
                TRY(emit_br(c, d));
            } else {
                memo[d] = 2;
            }
        }
        if (memo[d] == 2)
            link_branch(c, k, ew);
        else
            *word(c, ew) = branch_offset(memo[d] - 3, ew, false);
    }
    return 0;
}

static int br_table_check(struct cc *c, const uint32_t *labels, uint32_t n,
                          uint32_t *memo, uint32_t arity)
{
    for (uint32_t i = 0; i <= n; i++) {
        uint32_t na, d = labels[i];
        const uint8_t *t = label_types(&c->ctl[c->nctl - 1 - d], &na);
        if (na != arity)
            return INVALID(c, "type mismatch (br_table arity)");
        if (memo[d] == 0) {
            TRY(check_top(c, t, na));
            memo[d] = 1;
        }
    }
    return 0;
}

static int op_br_table(struct cc *c)
{
    uint32_t n, arity;
    struct vs idx;
    TRY(rd_u32(c, &n));
    if (n > buf_reader_left(&c->r))
        return MALFORMED(c, "unexpected end (br_table)");
    uint32_t *labels = malloc(((size_t)n + 1) * sizeof(*labels));
    uint32_t *memo = calloc(c->nctl, sizeof(*memo));
    int rc = labels && memo ? 0 : FASTN_ERR_NOMEM;
    for (uint32_t i = 0; i <= n && rc == 0; i++)
        rc = read_label(c, &labels[i]);
    if (rc == 0)
        rc = pop(c, T_I32, &idx);
    if (rc == 0) {
        label_types(&c->ctl[c->nctl - 1 - labels[n]], &arity);
        rc = br_table_check(c, labels, n, memo, arity);
    }
    if (rc == 0 && !is_dead(c)) {
        size_t at, cells = 2 + (n + 2) / 2;
        rc = reserve(c, cells);
        if (rc == 0) {
            uint32_t w[2] = {idx.slot, n};
            bool ax = acc_take(c, idx.slot, T_I32);
            emit(c, ax ? OP_BR_TABLE_X : OP_BR_TABLE, w, 2, &at);
            memset(&c->code[c->ncells], 0, (cells - 2) * sizeof(*c->code));
            c->ncells = at + cells;
            rc = br_table_targets(c, labels, n, memo, at, arity);
        }
    }
    free(labels);
    free(memo);
    if (rc == 0)
        set_unreachable(c);
    return rc;
}

/* ---- calls ------------------------------------------------------------ */

static int do_call(struct cc *c, const struct wasm_functype *t, enum wasm_op op,
                   uint32_t *w, unsigned nw)
{
    TRY(check_top(c, t->types, t->nparams));
    uint32_t have = c->sp - cur(c)->height;
    uint32_t np = t->nparams < have ? t->nparams : have;
    for (uint32_t i = 0; i < np; i++)
        TRY(materialize(c, c->sp - np + i));
    w[nw - 1] = tslot(c, c->sp - np);
    TRY(emit(c, op, w, nw, NULL));
    reset_stack(c, c->sp - np);
    for (uint32_t i = 0; i < t->nresults; i++)
        TRY(push_temp(c, t->types[t->nparams + i]));
    /* a frame must hold the callee's results where its args were */
    return 0;
}

static int op_call(struct cc *c)
{
    uint32_t f;
    TRY(rd_u32(c, &f));
    if (f >= c->m->nfuncs)
        return INVALID(c, "unknown function %u", f);
    const struct wasm_functype *t = &c->m->types[c->m->func_types[f]];
    if (f >= c->m->nfunc_imports) {
        /* a function of this module runs in the caller's instance: the
         * call names its code directly (m->codes does not move) */
        uintptr_t code = (uintptr_t)&c->m->codes[f - c->m->nfunc_imports];
        uint32_t w[3] = {(uint32_t)code, (uint32_t)((uint64_t)code >> 32), 0};
        return do_call(c, t, OP_CALL_DIRECT, w, 3);
    }
    uint32_t w[2] = {f, 0};
    return do_call(c, t, OP_CALL, w, 2);
}

static int op_call_indirect(struct cc *c)
{
    uint32_t ti, tab;
    struct vs idx;
    TRY(rd_u32(c, &ti));
    TRY(rd_u32(c, &tab));
    if (tab >= c->m->ntables)
        return INVALID(c, "unknown table %u", tab);
    if (ti >= c->m->ntypes)
        return INVALID(c, "unknown type %u", ti);
    if (c->m->tables[tab].elem != T_FUNCREF)
        return INVALID(c, "type mismatch (call_indirect on a table of "
                          "externref)");
    TRY(pop(c, T_I32, &idx));
    uint32_t w[4] = {tab, ti, idx.slot, 0};
    return do_call(c, &c->m->types[ti], OP_CALL_INDIRECT, w, 4);
}

/* ---- locals, globals, memory ------------------------------------------ */

/* Emits an op whose result goes to a new temp on top. */
static int emit_result(struct cc *c, enum wasm_op op, uint32_t *w, unsigned n,
                       uint8_t type)
{
    size_t at;
    bool pv = c->last_valid;
    size_t pc = c->last_cell;
    enum wasm_op po = c->last_op;
    unsigned pa = c->last_acc;
    w[0] = tslot(c, c->sp);
    TRY(emit(c, op, w, n, &at));
    TRY(push_temp(c, type));
    if (at != NO_CELL && c->m->fuse) {
        c->prev_valid = pv;
        c->prev_cell = pc;
        c->prev_op = po;
        c->prev_acc = pa;
        c->last_valid = true;
        c->last_cell = at;
        c->last_op = op;
        c->last_acc = 0;
        if (acc_writer[op]) /* a 64-bit load fills both halves */
            c->last_acc =
                load_base(op) == OP_LOAD64 ? ACC_GP | ACC_FP : acc_class(type);
    }
    return 0;
}

/* local.set / local.tee of x from entry v (already popped). */
static int set_local(struct cc *c, uint32_t x, struct vs v)
{
    if (v.slot == x)
        return 0;
    if (c->lrefs[x] == 0 && c->last_valid && v.slot == tslot(c, c->sp) &&
        c->code[c->last_cell + 1].w[0] == v.slot) {
        c->code[c->last_cell + 1].w[0] = x; /* write straight to x */
        return 0; /* the value is still in the accumulator (tee) */
    }
    TRY(detach_local(c, x));
    uint32_t w[2] = {x, v.slot};
    return emit(c, OP_MOV, w, 2, NULL);
}

static int op_local(struct cc *c, uint8_t op)
{
    uint32_t x;
    struct vs v;
    TRY(rd_u32(c, &x));
    if (x >= c->nlocals)
        return INVALID(c, "unknown local %u", x);
    uint8_t t = c->ltypes[x];
    if (op == 0x20)
        return push(c, t, x);
    TRY(pop(c, t, &v));
    TRY(set_local(c, x, v));
    if (op == 0x22)
        return push(c, t, is_dead(c) ? tslot(c, c->sp) : x);
    return 0;
}

static int op_global(struct cc *c, uint8_t op)
{
    uint32_t x;
    struct vs v;
    TRY(rd_u32(c, &x));
    if (x >= c->m->nglobals)
        return INVALID(c, "unknown global %u", x);
    const struct wasm_globaltype *g = &c->m->globals[x];
    if (op == 0x23) {
        uint32_t w[2] = {0, x};
        return emit_result(c, OP_GLOBAL_GET, w, 2, g->type);
    }
    if (!g->mut)
        return INVALID(c, "global is immutable");
    TRY(pop(c, g->type, &v));
    uint32_t w[2] = {x, v.slot};
    return emit(c, OP_GLOBAL_SET, w, 2, NULL);
}

struct memop {
    uint8_t opcode;
    enum wasm_op op;
    uint8_t type, align;
    bool store;
};

static const struct memop memops[] = {
    {0x28, OP_LOAD32, T_I32, 2, false},
    {0x29, OP_LOAD64, T_I64, 3, false},
    {0x2a, OP_LOAD32, T_F32, 2, false},
    {0x2b, OP_LOAD64, T_F64, 3, false},
    {0x2c, OP_LOAD8_S32, T_I32, 0, false},
    {0x2d, OP_LOAD8_U32, T_I32, 0, false},
    {0x2e, OP_LOAD16_S32, T_I32, 1, false},
    {0x2f, OP_LOAD16_U32, T_I32, 1, false},
    {0x30, OP_LOAD8_S64, T_I64, 0, false},
    {0x31, OP_LOAD8_U64, T_I64, 0, false},
    {0x32, OP_LOAD16_S64, T_I64, 1, false},
    {0x33, OP_LOAD16_U64, T_I64, 1, false},
    {0x34, OP_LOAD32_S64, T_I64, 2, false},
    {0x35, OP_LOAD32_U64, T_I64, 2, false},
    {0x36, OP_STORE32, T_I32, 2, true},
    {0x37, OP_STORE64, T_I64, 3, true},
    {0x38, OP_STORE32, T_F32, 2, true},
    {0x39, OP_STORE64, T_F64, 3, true},
    {0x3a, OP_STORE8, T_I32, 0, true},
    {0x3b, OP_STORE16, T_I32, 1, true},
    {0x3c, OP_STORE8, T_I64, 0, true},
    {0x3d, OP_STORE16, T_I64, 1, true},
    {0x3e, OP_STORE32, T_I64, 2, true},
};

/* Address fusion: if entry e (at stack position p) was just computed by
 * an i32.add, removes the add and returns its operands. */
static bool take_add(struct cc *c, const struct vs *e, uint32_t p, uint32_t *a,
                     uint32_t *b)
{
    if (!c->last_valid || is_dead(c) || c->last_op != OP_I32_ADD ||
        e->slot != tslot(c, p) || c->code[c->last_cell + 1].w[0] != e->slot)
        return false;
    *a = c->code[c->last_cell + 1].w[1];
    *b = c->code[c->last_cell + 2].w[0];
    c->ncells = c->last_cell;
    c->last_valid = false;
    return true;
}

static int need_memory(struct cc *c)
{
    if (c->m->nmems == 0)
        return INVALID(c, "unknown memory 0");
    return 0;
}

static int op_memory(struct cc *c, uint8_t opcode)
{
    const struct memop *mo = &memops[opcode - 0x28];
    uint32_t align, off;
    struct vs v, a;
    TRY(rd_u32(c, &align));
    if (align >= 32) /* 0x40 would be multi-memory's memory index flag */
        return MALFORMED(c, "malformed memop flags%s",
                         (align & 0x40) ? " (multiple memories are not "
                                          "supported)"
                                        : "");
    TRY(rd_u32(c, &off));
    TRY(need_memory(c));
    if (align > mo->align)
        return INVALID(c, "alignment must not be larger than natural");
    uint32_t x, y;
    /* the variants: loads N, N_A, N_X (LOAD6); stores N, N_A, N_X, N_V
     * (STORE5) */
    if (mo->store) {
        TRY(pop(c, mo->type, &v));
        TRY(pop(c, T_I32, &a));
        if (take_add(c, &a, c->sp, &x, &y)) {
            uint32_t w[4] = {v.slot, x, y, off};
            return emit(c, mo->op + 1, w, 4, NULL);
        }
        uint32_t w[3] = {v.slot, a.slot, off};
        enum wasm_op op = mo->op;
        if (mo->type == T_F64 && c->last_valid && c->last_acc == ACC_FP &&
            acc_take(c, v.slot, T_F64))
            op = OP_STORE64_F; /* an f64 result is in facc only */
        else if (acc_take(c, v.slot, mo->type == T_F64 ? T_I64 : mo->type))
            op = mo->op + 3;
        else if (acc_take(c, a.slot, T_I32))
            op = mo->op + 2;
        return emit(c, op, w, 3, NULL);
    }
    TRY(pop(c, T_I32, &a));
    if (take_add(c, &a, c->sp, &x, &y)) {
        uint32_t w[4] = {0, x, y, off};
        return emit_result(c, mo->op + 1, w, 4, mo->type);
    }
    uint32_t w[3] = {0, a.slot, off};
    bool ax = acc_take(c, a.slot, T_I32);
    return emit_result(c, ax ? mo->op + 2 : mo->op, w, 3, mo->type);
}

static int zero_byte(struct cc *c)
{
    uint8_t b;
    TRY(rd_u8(c, &b));
    if (b != 0)
        return MALFORMED(c, "zero byte expected");
    return 0;
}

/* ---- numeric ---------------------------------------------------------- */

/* 0x45..0xc4: op, operand type, operand count, result type. Opcodes whose
 * op is 0 and count 1 are bit reinterpretations that need no code. */
struct numop {
    uint16_t op;
    uint8_t in, n, out;
};

#define U(o, i, r)                                                             \
    {                                                                          \
        OP_##o, T_##i, 1, T_##r                                                \
    }
#define B(o, i, r)                                                             \
    {                                                                          \
        OP_##o, T_##i, 2, T_##r                                                \
    }
#define NOP(i, r)                                                              \
    {                                                                          \
        0, T_##i, 1, T_##r                                                     \
    }
static const struct numop numops[] = {
    U(I32_EQZ, I32, I32),
    B(I32_EQ, I32, I32),
    B(I32_NE, I32, I32),
    B(I32_LT_S, I32, I32),
    B(I32_LT_U, I32, I32),
    B(I32_GT_S, I32, I32),
    B(I32_GT_U, I32, I32),
    B(I32_LE_S, I32, I32),
    B(I32_LE_U, I32, I32),
    B(I32_GE_S, I32, I32),
    B(I32_GE_U, I32, I32),
    U(I64_EQZ, I64, I32),
    B(I64_EQ, I64, I32),
    B(I64_NE, I64, I32),
    B(I64_LT_S, I64, I32),
    B(I64_LT_U, I64, I32),
    B(I64_GT_S, I64, I32),
    B(I64_GT_U, I64, I32),
    B(I64_LE_S, I64, I32),
    B(I64_LE_U, I64, I32),
    B(I64_GE_S, I64, I32),
    B(I64_GE_U, I64, I32),
    B(F32_EQ, F32, I32),
    B(F32_NE, F32, I32),
    B(F32_LT, F32, I32),
    B(F32_GT, F32, I32),
    B(F32_LE, F32, I32),
    B(F32_GE, F32, I32),
    B(F64_EQ, F64, I32),
    B(F64_NE, F64, I32),
    B(F64_LT, F64, I32),
    B(F64_GT, F64, I32),
    B(F64_LE, F64, I32),
    B(F64_GE, F64, I32),
    U(I32_CLZ, I32, I32),
    U(I32_CTZ, I32, I32),
    U(I32_POPCNT, I32, I32),
    B(I32_ADD, I32, I32),
    B(I32_SUB, I32, I32),
    B(I32_MUL, I32, I32),
    B(I32_DIV_S, I32, I32),
    B(I32_DIV_U, I32, I32),
    B(I32_REM_S, I32, I32),
    B(I32_REM_U, I32, I32),
    B(I32_AND, I32, I32),
    B(I32_OR, I32, I32),
    B(I32_XOR, I32, I32),
    B(I32_SHL, I32, I32),
    B(I32_SHR_S, I32, I32),
    B(I32_SHR_U, I32, I32),
    B(I32_ROTL, I32, I32),
    B(I32_ROTR, I32, I32),
    U(I64_CLZ, I64, I64),
    U(I64_CTZ, I64, I64),
    U(I64_POPCNT, I64, I64),
    B(I64_ADD, I64, I64),
    B(I64_SUB, I64, I64),
    B(I64_MUL, I64, I64),
    B(I64_DIV_S, I64, I64),
    B(I64_DIV_U, I64, I64),
    B(I64_REM_S, I64, I64),
    B(I64_REM_U, I64, I64),
    B(I64_AND, I64, I64),
    B(I64_OR, I64, I64),
    B(I64_XOR, I64, I64),
    B(I64_SHL, I64, I64),
    B(I64_SHR_S, I64, I64),
    B(I64_SHR_U, I64, I64),
    B(I64_ROTL, I64, I64),
    B(I64_ROTR, I64, I64),
    U(F32_ABS, F32, F32),
    U(F32_NEG, F32, F32),
    U(F32_CEIL, F32, F32),
    U(F32_FLOOR, F32, F32),
    U(F32_TRUNC, F32, F32),
    U(F32_NEAREST, F32, F32),
    U(F32_SQRT, F32, F32),
    B(F32_ADD, F32, F32),
    B(F32_SUB, F32, F32),
    B(F32_MUL, F32, F32),
    B(F32_DIV, F32, F32),
    B(F32_MIN, F32, F32),
    B(F32_MAX, F32, F32),
    B(F32_COPYSIGN, F32, F32),
    U(F64_ABS, F64, F64),
    U(F64_NEG, F64, F64),
    U(F64_CEIL, F64, F64),
    U(F64_FLOOR, F64, F64),
    U(F64_TRUNC, F64, F64),
    U(F64_NEAREST, F64, F64),
    U(F64_SQRT, F64, F64),
    B(F64_ADD, F64, F64),
    B(F64_SUB, F64, F64),
    B(F64_MUL, F64, F64),
    B(F64_DIV, F64, F64),
    B(F64_MIN, F64, F64),
    B(F64_MAX, F64, F64),
    B(F64_COPYSIGN, F64, F64),
    NOP(I64, I32), /* i32.wrap_i64: i32 readers use the low 32 bits */
    U(I32_TRUNC_F32_S, F32, I32),
    U(I32_TRUNC_F32_U, F32, I32),
    U(I32_TRUNC_F64_S, F64, I32),
    U(I32_TRUNC_F64_U, F64, I32),
    U(I64_EXTEND_I32_S, I32, I64),
    U(I64_EXTEND_I32_U, I32, I64),
    U(I64_TRUNC_F32_S, F32, I64),
    U(I64_TRUNC_F32_U, F32, I64),
    U(I64_TRUNC_F64_S, F64, I64),
    U(I64_TRUNC_F64_U, F64, I64),
    U(F32_CONVERT_I32_S, I32, F32),
    U(F32_CONVERT_I32_U, I32, F32),
    U(F32_CONVERT_I64_S, I64, F32),
    U(F32_CONVERT_I64_U, I64, F32),
    U(F32_DEMOTE_F64, F64, F32),
    U(F64_CONVERT_I32_S, I32, F64),
    U(F64_CONVERT_I32_U, I32, F64),
    U(F64_CONVERT_I64_S, I64, F64),
    U(F64_CONVERT_I64_U, I64, F64),
    U(F64_PROMOTE_F32, F32, F64),
    NOP(F32, I32),
    NOP(F64, I64),
    NOP(I32, F32),
    NOP(I64, F64),
    U(I32_EXTEND8_S, I32, I32),
    U(I32_EXTEND16_S, I32, I32),
    U(I64_EXTEND8_S, I64, I64),
    U(I64_EXTEND16_S, I64, I64),
    U(I64_EXTEND32_S, I64, I64),
};

static const struct numop satops[8] = {
    U(I32_TRUNC_SAT_F32_S, F32, I32), U(I32_TRUNC_SAT_F32_U, F32, I32),
    U(I32_TRUNC_SAT_F64_S, F64, I32), U(I32_TRUNC_SAT_F64_U, F64, I32),
    U(I64_TRUNC_SAT_F32_S, F32, I64), U(I64_TRUNC_SAT_F32_U, F32, I64),
    U(I64_TRUNC_SAT_F64_S, F64, I64), U(I64_TRUNC_SAT_F64_U, F64, I64),
};
#undef U
#undef B
#undef NOP

/* i32.add of a value just shifted left by a constant (array indexing)
 * becomes one I32_ADD_SHL. e is the operand at position p that the
 * shift produced; other is the add's other operand. */
static bool fuse_add_shl(struct cc *c, const struct vs *e, uint32_t p,
                         uint32_t other)
{
    if (!c->last_valid || is_dead(c) || c->last_op != OP_I32_SHL ||
        e->slot != tslot(c, p) || c->code[c->last_cell + 1].w[0] != e->slot)
        return false;
    uint32_t k = c->code[c->last_cell + 2].w[0];
    if (k < c->nlocals || k >= c->nlocals + c->nconsts)
        return false; /* the shift count is not a constant */
    uint32_t x = c->code[c->last_cell + 1].w[1];
    c->ncells = c->last_cell;
    uint32_t w[4] = {0, other, x, (uint32_t)c->consts[k - c->nlocals] & 31};
    return emit_result(c, OP_I32_ADD_SHL, w, 4, T_I32) == 0;
}

/* A binary op whose operand (a at stack position sp, or b at sp + 1) was
 * just computed: it reads it from the accumulator. Returns the op to
 * emit. Compares are left alone: they fuse with a following br_if
 * instead. */
static enum wasm_op use_acc(struct cc *c, enum wasm_op op, const struct vs *a,
                            const struct vs *b)
{
    if (!acc_base[op] || cmp_branch(op) != OP_COUNT_)
        return op;
    if (acc_take(c, b->slot, b->type))
        return op + 3; /* SR_M */
    if (acc_take(c, a->slot, a->type))
        return op + 2; /* RS_M */
    return op;
}

static int op_numeric(struct cc *c, const struct numop *no)
{
    struct vs a, b;
    if (no->n == 2) {
        TRY(pop(c, no->in, &b));
        TRY(pop(c, no->in, &a));
        if (no->op == OP_I32_ADD && (fuse_add_shl(c, &b, c->sp + 1, a.slot) ||
                                     fuse_add_shl(c, &a, c->sp, b.slot)))
            return 0;
        uint32_t w[3] = {0, a.slot, b.slot};
        return emit_result(c, use_acc(c, no->op, &a, &b), w, 3, no->out);
    }
    TRY(pop(c, no->in, &a));
    if (no->op == 0) { /* reinterpretation: same bits, new type */
        TRY(push(c, no->out, a.slot));
        c->last_valid = false;
        return 0;
    }
    uint32_t w[2] = {0, a.slot};
    enum wasm_op op = no->op;
    /* eqz is left alone: it fuses with a following br_if */
    if (unop_base[op] && op != OP_I32_EQZ && op != OP_I64_EQZ &&
        acc_take(c, a.slot, no->in))
        op++; /* _X */
    return emit_result(c, op, w, 2, no->out);
}

static int op_const(struct cc *c, uint8_t op)
{
    uint64_t v = 0;
    uint32_t slot, v32;
    uint8_t t;
    switch (op) {
    case 0x41:
        TRY(rd_leb(c, 32, true, &v));
        v = (uint32_t)v;
        t = T_I32;
        break;
    case 0x42:
        TRY(rd_leb(c, 64, true, &v));
        t = T_I64;
        break;
    case 0x43:
        if (buf_get_le32(&c->r, &v32) != 0)
            return MALFORMED(c, "unexpected end");
        v = v32;
        t = T_F32;
        break;
    default:
        if (buf_get_le64(&c->r, &v) != 0)
            return MALFORMED(c, "unexpected end");
        t = T_F64;
        break;
    }
    /* no code: the last instruction stays fusable with what follows */
    TRY(const_slot(c, v, &slot));
    return push(c, t, slot);
}

/* ---- tables, bulk memory, references ---------------------------------- */

static int table_index(struct cc *c, uint32_t *t)
{
    TRY(rd_u32(c, t));
    if (*t >= c->m->ntables)
        return INVALID(c, "unknown table %u", *t);
    return 0;
}

static int elem_index(struct cc *c, uint32_t *e)
{
    TRY(rd_u32(c, e));
    if (*e >= c->m->nelems)
        return INVALID(c, "unknown elem segment %u", *e);
    return 0;
}

static int data_index(struct cc *c, uint32_t *d)
{
    TRY(rd_u32(c, d));
    c->uses_data = true;
    if (!c->m->has_datacount) /* load.c decides which error it is */
        return 0;
    if (*d >= c->m->datacount)
        return INVALID(c, "unknown data segment %u", *d);
    return 0;
}

/* Pops n i32 operands into slots w[first..first+n-1] (in stack order). */
static int pop_i32s(struct cc *c, uint32_t *w, unsigned n)
{
    struct vs v;
    for (unsigned i = n; i > 0; i--) {
        TRY(pop(c, T_I32, &v));
        w[i - 1] = v.slot;
    }
    return 0;
}

static int op_table(struct cc *c, uint32_t sub)
{
    uint32_t t, t2, e;
    struct vs v;
    switch (sub) {
    case 12: { /* table.init */
        TRY(elem_index(c, &e));
        TRY(table_index(c, &t));
        if (c->m->elems[e].type != c->m->tables[t].elem)
            return INVALID(c, "type mismatch (table.init)");
        uint32_t w[5] = {t, e};
        TRY(pop_i32s(c, w + 2, 3));
        return emit(c, OP_TABLE_INIT, w, 5, NULL);
    }
    case 13:
        TRY(elem_index(c, &e));
        return emit(c, OP_ELEM_DROP, &e, 1, NULL);
    case 14: { /* table.copy */
        TRY(table_index(c, &t));
        TRY(table_index(c, &t2));
        if (c->m->tables[t].elem != c->m->tables[t2].elem)
            return INVALID(c, "type mismatch (table.copy)");
        uint32_t w[5] = {t, t2};
        TRY(pop_i32s(c, w + 2, 3));
        return emit(c, OP_TABLE_COPY, w, 5, NULL);
    }
    case 15: { /* table.grow */
        TRY(table_index(c, &t));
        struct vs n;
        TRY(pop(c, T_I32, &n));
        TRY(pop(c, c->m->tables[t].elem, &v));
        uint32_t w[4] = {0, t, v.slot, n.slot};
        return emit_result(c, OP_TABLE_GROW, w, 4, T_I32);
    }
    case 16: {
        TRY(table_index(c, &t));
        uint32_t w[2] = {0, t};
        return emit_result(c, OP_TABLE_SIZE, w, 2, T_I32);
    }
    default: { /* 17 table.fill */
        TRY(table_index(c, &t));
        struct vs i, n;
        TRY(pop(c, T_I32, &n));
        TRY(pop(c, c->m->tables[t].elem, &v));
        TRY(pop(c, T_I32, &i));
        uint32_t w[4] = {t, i.slot, v.slot, n.slot};
        return emit(c, OP_TABLE_FILL, w, 4, NULL);
    }
    }
}

static int op_prefix_fc(struct cc *c)
{
    uint32_t sub, d;
    TRY(rd_u32(c, &sub));
    if (sub < 8)
        return op_numeric(c, &satops[sub]);
    switch (sub) {
    case 8: { /* memory.init */
        TRY(data_index(c, &d));
        TRY(zero_byte(c));
        TRY(need_memory(c));
        uint32_t w[4] = {d};
        TRY(pop_i32s(c, w + 1, 3));
        if (!c->m->has_datacount) /* the module will be refused */
            return 0;
        return emit(c, OP_MEMORY_INIT, w, 4, NULL);
    }
    case 9:
        TRY(data_index(c, &d));
        if (!c->m->has_datacount) /* the module will be refused */
            return 0;
        return emit(c, OP_DATA_DROP, &d, 1, NULL);
    case 10:
    case 11: {
        TRY(zero_byte(c));
        if (sub == 10)
            TRY(zero_byte(c));
        TRY(need_memory(c));
        uint32_t w[3];
        TRY(pop_i32s(c, w, 3));
        if (sub == 11) { /* memory.fill's value is an i32 too */
            return emit(c, OP_MEMORY_FILL, w, 3, NULL);
        }
        return emit(c, OP_MEMORY_COPY, w, 3, NULL);
    }
    case 12:
    case 13:
    case 14:
    case 15:
    case 16:
    case 17:
        return op_table(c, sub);
    default:
        return MALFORMED(c, "illegal opcode 0xfc %u", sub);
    }
}

static int op_select(struct cc *c, bool typed)
{
    struct vs a, b, k;
    uint8_t t = T_UNKNOWN;
    if (typed) {
        uint32_t n;
        TRY(rd_u32(c, &n));
        if (n != 1)
            return INVALID(c, "invalid result arity (select)");
        TRY(rd_u8(c, &t));
        if (t == T_V128)
            return UNSUPPORTED(c, "SIMD (v128) is not supported");
        bool ok = false;
        for (unsigned i = 0; i < sizeof(valtypes); i++)
            ok |= t == valtypes[i];
        if (!ok)
            return MALFORMED(c, "malformed value type");
    }
    TRY(pop(c, T_I32, &k));
    TRY(pop_any(c, &b));
    TRY(pop_any(c, &a));
    if (!typed) {
        if (a.type == T_FUNCREF || a.type == T_EXTERNREF ||
            b.type == T_FUNCREF || b.type == T_EXTERNREF)
            return INVALID(c, "type mismatch (select needs a type for "
                              "references)");
        if (a.type != b.type && a.type != T_UNKNOWN && b.type != T_UNKNOWN)
            return INVALID(c, "type mismatch");
        t = a.type != T_UNKNOWN ? a.type : b.type;
    } else if ((a.type != t && a.type != T_UNKNOWN) ||
               (b.type != t && b.type != T_UNKNOWN)) {
        return INVALID(c, "type mismatch");
    }
    uint32_t w[4] = {0, a.slot, b.slot, k.slot};
    bool kx = acc_take(c, k.slot, T_I32);
    return emit_result(c, kx ? OP_SELECT_X : OP_SELECT, w, 4, t);
}

static int op_ref(struct cc *c, uint8_t op)
{
    struct vs v;
    uint32_t x, slot;
    switch (op) {
    case 0xd0: {
        uint8_t t;
        TRY(rd_u8(c, &t));
        if (t != T_FUNCREF && t != T_EXTERNREF)
            return MALFORMED(c, "malformed reference type");
        TRY(const_slot(c, 0, &slot));
        c->last_valid = false;
        return push(c, t, slot);
    }
    case 0xd1: {
        TRY(pop_any(c, &v));
        if (v.type != T_FUNCREF && v.type != T_EXTERNREF && v.type != T_UNKNOWN)
            return INVALID(c, "type mismatch (ref.is_null)");
        uint32_t w[2] = {0, v.slot};
        return emit_result(c, OP_REF_IS_NULL, w, 2, T_I32);
    }
    default: {
        TRY(rd_u32(c, &x));
        if (x >= c->m->nfuncs)
            return INVALID(c, "unknown function %u", x);
        if (!c->m->func_refd[x])
            return INVALID(c, "undeclared function reference");
        uint32_t w[2] = {0, x};
        return emit_result(c, OP_REF_FUNC, w, 2, T_FUNCREF);
    }
    }
}

static int op_table_getset(struct cc *c, uint8_t op)
{
    uint32_t t;
    struct vs i, v;
    TRY(table_index(c, &t));
    uint8_t et = c->m->tables[t].elem;
    if (op == 0x25) {
        TRY(pop(c, T_I32, &i));
        uint32_t w[3] = {0, t, i.slot};
        return emit_result(c, OP_TABLE_GET, w, 3, et);
    }
    TRY(pop(c, et, &v));
    TRY(pop(c, T_I32, &i));
    uint32_t w[3] = {t, i.slot, v.slot};
    return emit(c, OP_TABLE_SET, w, 3, NULL);
}

static int unsupported_op(struct cc *c, uint8_t op)
{
    switch (op) {
    case 0x06:
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x18:
    case 0x19:
    case 0x1f:
    case 0x0a:
        return UNSUPPORTED(c, "exception handling is not supported");
    case 0x12:
    case 0x13:
        return UNSUPPORTED(c, "tail calls are not supported");
    case 0x14:
    case 0x15:
    case 0xd3:
    case 0xd4:
    case 0xd5:
    case 0xd6:
        return UNSUPPORTED(c, "typed function references are not "
                              "supported");
    case 0xfb:
        return UNSUPPORTED(c, "GC instructions are not supported");
    case 0xfd:
        return UNSUPPORTED(c, "SIMD instructions are not supported");
    case 0xfe:
        return UNSUPPORTED(c, "threads (atomic instructions) are not "
                              "supported");
    default:
        return MALFORMED(c, "illegal opcode 0x%02x", op);
    }
}

/* One instruction; *done is set by the function's final `end`. */
static int instr(struct cc *c, bool *done)
{
    uint8_t op;
    c->instr_off = (uint32_t)pos(c);
    TRY(rd_u8(c, &op));
    c->ninstr++;
    switch (op) {
    case 0x00:
        TRY(emit(c, OP_UNREACHABLE, NULL, 0, NULL));
        set_unreachable(c);
        return 0;
    case 0x01:
        return 0;
    case 0x02:
        return op_block(c, C_BLOCK);
    case 0x03:
        return op_block(c, C_LOOP);
    case 0x04:
        return op_block(c, C_IF);
    case 0x05:
        return op_else(c);
    case 0x0b:
        return op_end(c, done);
    case 0x0c:
        return op_br(c);
    case 0x0d:
        return op_br_if(c);
    case 0x0e:
        return op_br_table(c);
    case 0x0f:
        TRY(check_top(c, c->ctl[0].results, c->ctl[0].nresults));
        TRY(emit_return(c));
        set_unreachable(c);
        return 0;
    case 0x10:
        return op_call(c);
    case 0x11:
        return op_call_indirect(c);
    case 0x1a: {
        struct vs v;
        c->last_valid = false;
        return pop_any(c, &v);
    }
    case 0x1b:
        return op_select(c, false);
    case 0x1c:
        return op_select(c, true);
    case 0x20:
    case 0x21:
    case 0x22:
        return op_local(c, op);
    case 0x23:
    case 0x24:
        return op_global(c, op);
    case 0x25:
    case 0x26:
        return op_table_getset(c, op);
    case 0x3f:
    case 0x40: {
        uint32_t w[2] = {0, 0};
        struct vs n;
        TRY(zero_byte(c));
        TRY(need_memory(c));
        if (op == 0x3f)
            return emit_result(c, OP_MEMORY_SIZE, w, 1, T_I32);
        TRY(pop(c, T_I32, &n));
        w[1] = n.slot;
        return emit_result(c, OP_MEMORY_GROW, w, 2, T_I32);
    }
    case 0x41:
    case 0x42:
    case 0x43:
    case 0x44:
        return op_const(c, op);
    case 0xd0:
    case 0xd1:
    case 0xd2:
        return op_ref(c, op);
    case 0xfc:
        return op_prefix_fc(c);
    default:
        if (op >= 0x28 && op <= 0x3e)
            return op_memory(c, op);
        if (op >= 0x45 && op <= 0xc4)
            return op_numeric(c, &numops[op - 0x45]);
        return unsupported_op(c, op);
    }
}

/* ---- function --------------------------------------------------------- */

static int read_locals(struct cc *c, const struct wasm_functype *t)
{
    uint32_t ngroups, total = t->nparams;
    TRY(rd_u32(c, &ngroups));
    if (ngroups > buf_reader_left(&c->r))
        return MALFORMED(c, "unexpected end (local declarations)");
    size_t save = c->r.off;
    /* first pass: count, so that one allocation of the right size is
     * made after the total is known to be within the limit */
    for (uint32_t i = 0; i < ngroups; i++) {
        uint32_t n;
        uint8_t ty;
        TRY(rd_u32(c, &n));
        TRY(rd_u8(c, &ty));
        if ((uint64_t)total + n > UINT32_MAX)
            return MALFORMED(c, "too many locals");
        total += n;
    }
    if (total > WASM_MAX_LOCALS)
        return wasm_fail(c->err, FASTN_ERR_WASM_LIMIT, pos(c),
                         "too many locals (%u; this engine allows %u)", total,
                         WASM_MAX_LOCALS);
    c->ltypes = malloc(total + 1);
    c->lrefs = calloc(total + 1, sizeof(uint32_t));
    if (!c->ltypes || !c->lrefs)
        return FASTN_ERR_NOMEM;
    memcpy(c->ltypes, t->types, t->nparams);
    c->r.off = save;
    uint32_t at = t->nparams;
    for (uint32_t i = 0; i < ngroups; i++) {
        uint32_t n;
        uint8_t ty;
        TRY(rd_u32(c, &n));
        TRY(rd_u8(c, &ty));
        if (ty == T_V128)
            return UNSUPPORTED(c, "SIMD (v128) is not supported");
        bool ok = false;
        for (unsigned k = 0; k < sizeof(valtypes); k++)
            ok |= ty == valtypes[k];
        if (!ok)
            return MALFORMED(c, "malformed value type 0x%02x", ty);
        memset(c->ltypes + at, ty, n);
        at += n;
    }
    c->nlocals = total;
    return 0;
}

/* Renumbers tagged temp operands and puts handlers in op cells. */
static void fix_slots(struct cc *c, uint32_t temp_base)
{
    size_t i = 0;
    while (i < c->ncells) {
        unsigned op = (unsigned)c->code[i].u64;
        unsigned nw = wasm_op_words[op];
        if (op == OP_BR_TABLE || op == OP_BR_TABLE_X)
            nw = 3 + c->code[i + 1].w[1];
        for (unsigned k = 0; k < wasm_op_words[op]; k++) {
            uint32_t *w = &c->code[i + 1 + k / 2].w[k % 2];
            if ((wasm_op_slots[op] >> k & 1) && (*w & TEMP_TAG))
                *w = temp_base + (*w & ~TEMP_TAG);
        }
        c->code[i].op = c->h[op];
        i += 1 + (nw + 1) / 2;
    }
}

static int finish(struct cc *c, struct wasm_code *out,
                  const struct wasm_functype *t)
{
    if (c->fuel_cell != NO_CELL)
        c->code[c->fuel_cell + 1].w[0] = c->ninstr ? c->ninstr : 1;
    uint32_t temp_base = c->nlocals + c->nconsts;
    uint64_t frame = (uint64_t)temp_base + c->max_height;
    if (frame < t->nresults)
        frame = t->nresults;
    if (frame > WASM_MAX_FRAME)
        return wasm_fail(c->err, FASTN_ERR_WASM_LIMIT, pos(c),
                         "function frame too large");
    fix_slots(c, temp_base);
    out->code = c->code;
    out->ncells = c->ncells;
    c->code = NULL;
    uint32_t nzero = c->nlocals - t->nparams;
    out->ninit = nzero + c->nconsts;
    out->init = calloc(out->ninit ? out->ninit : 1, sizeof(uint64_t));
    if (!out->init)
        return FASTN_ERR_NOMEM;
    if (c->nconsts)
        memcpy(out->init + nzero, c->consts, c->nconsts * sizeof(uint64_t));
    out->consts = c->consts;
    c->consts = NULL;
    out->local_types = c->ltypes;
    c->ltypes = NULL;
    out->nconsts = c->nconsts;
    out->const_base = c->nlocals;
    out->frame = (uint32_t)frame;
    out->uses_data = c->uses_data;
    out->src = c->src;
    out->nsrc = c->nsrc;
    c->src = NULL;
    if (c->m->metering) { /* compile_body emitted FUEL first */
        /* the entry charge pays for setting up the frame too: a call
         * zeroes the locals and copies the constants (init_frame), work
         * that grows with their number, not with the instructions run */
        out->code[1].w[0] +=
            (out->ninit + WASM_FUEL_FRAME_SLOTS - 1) / WASM_FUEL_FRAME_SLOTS;
        out->entry_fuel = out->code[1].w[0];
        out->entry_skip = 2;
    }
    return 0;
}

static int compile_body(struct cc *c, const struct wasm_functype *t,
                        struct wasm_code *out)
{
    TRY(read_locals(c, t));
    out->nparams = t->nparams;
    out->nlocals = c->nlocals;
    struct ctl f = {.kind = C_FUNC,
                    .nresults = t->nresults,
                    .results = t->types + t->nparams,
                    .params = t->types,
                    .loop_cell = NO_CELL};
    TRY(push_ctl(c, &f));
    TRY(emit_fuel(c));
    bool done = false;
    while (!done) {
        if (buf_reader_left(&c->r) == 0)
            return MALFORMED(c, "unexpected end of function (END opcode "
                                "expected)");
        TRY(instr(c, &done));
    }
    if (buf_reader_left(&c->r) != 0)
        return MALFORMED(c, "section size mismatch (code after the "
                            "function's end)");
    return finish(c, out, t);
}

int wasm_compile_func(const struct fastn_wasm_module *m, uint32_t fidx,
                      const uint8_t *p, size_t len, size_t base_off,
                      struct wasm_code *out, struct fastn_wasm_error *err)
{
    struct cc c = {.m = m,
                   .base = base_off,
                   .err = err,
                   .h = wasm_handlers(),
                   .fuel_cell = NO_CELL,
                   .last_mov = NO_CELL,
                   .label_at = NO_CELL,
                   /* real code needs under 3 cells a byte (clang's
                    * output, the spec suite); the bound keeps what a
                    * hostile body can make the loader allocate within
                    * 128 bytes a byte (len <= WASM_MAX_BODY) */
                   .max_cells = 16 * (size_t)len + 1024};
    const struct wasm_functype *t = &m->types[m->func_types[fidx]];
    buf_reader_init(&c.r, p, len);
    out->type = m->func_types[fidx];
    out->body_off = base_off;
    int rc = compile_body(&c, t, out);
    free(c.code);
    free(c.st);
    free(c.ctl);
    free(c.ltypes);
    free(c.lrefs);
    free(c.consts);
    free(c.khash);
    free(c.src);
    return rc;
}

void wasm_code_cleanup(struct wasm_code *c)
{
    free(c->code);
    free(c->consts);
    free(c->init);
    free(c->local_types);
    free(c->src);
    memset(c, 0, sizeof(*c));
}
