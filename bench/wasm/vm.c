/*
 * vm: a bytecode-interpreter loop. A small stack machine with a switch
 * dispatch runs two bytecode programs: the total of the Collatz sequence
 * lengths of every number below a limit, and a sum of greatest common
 * divisors (Euclid's algorithm) over a grid. Stresses the engine's
 * handling of a dense switch (br_table), short basic blocks, a value stack
 * in linear memory and a hot loop over a few locals: an interpreter inside
 * the interpreter.
 *
 * Freestanding (no libc, no imports); exports run() returning a checksum.
 */
#include <stdint.h>

#ifndef REPS
#define REPS 20
#endif
#define STACK_SIZE 64
#define NLOCALS 8
#define CODE_SIZE 256

enum op {
    OP_HALT,
    OP_PUSH,  /* imm: push imm */
    OP_LOAD,  /* imm: push local[imm] */
    OP_STORE, /* imm: pop into local[imm] */
    OP_INC,   /* imm: local[imm]++ */
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_REM,
    OP_AND,
    OP_SHR,
    OP_LT,
    OP_EQ,
    OP_JMP, /* imm: pc = imm */
    OP_JZ,  /* imm: pop, jump if zero */
    OP_JNZ, /* imm: pop, jump if not zero */
    OP_DUP,
    OP_SWAP,
    OP_POP,
};

struct program {
    int32_t code[CODE_SIZE];
    uint32_t len;
};

static volatile uint32_t reps = REPS;
static volatile uint32_t collatz_limit = 12000;
static volatile uint32_t gcd_dim = 100;
static struct program collatz, gcd;

/* --- a tiny assembler --------------------------------------------------- */

static void emit(struct program *p, int32_t op)
{
    if (p->len < CODE_SIZE)
        p->code[p->len++] = op;
}

static void emit1(struct program *p, int32_t op, int32_t imm)
{
    emit(p, op);
    emit(p, imm);
}

/* Emits a jump to a target not known yet; returns the slot to patch. */
static uint32_t emit_jump(struct program *p, int32_t op)
{
    emit1(p, op, -1);
    return p->len - 1;
}

static void patch(struct program *p, uint32_t slot, uint32_t target)
{
    p->code[slot] = (int32_t)target;
}

/* Locals: 0 = i, 1 = limit, 2 = x, 3 = total steps. */
static void build_collatz(struct program *p)
{
    p->len = 0;
    emit1(p, OP_PUSH, 1);
    emit1(p, OP_STORE, 0);
    uint32_t loop_i = p->len; /* while (i < limit) */
    emit1(p, OP_LOAD, 0);
    emit1(p, OP_LOAD, 1);
    emit(p, OP_LT);
    uint32_t to_end = emit_jump(p, OP_JZ);
    emit1(p, OP_LOAD, 0); /* x = i */
    emit1(p, OP_STORE, 2);
    uint32_t loop_x = p->len; /* while (x != 1) */
    emit1(p, OP_LOAD, 2);
    emit1(p, OP_PUSH, 1);
    emit(p, OP_EQ);
    uint32_t to_next = emit_jump(p, OP_JNZ);
    emit1(p, OP_LOAD, 2); /* if (x & 1) */
    emit(p, OP_DUP);
    emit1(p, OP_PUSH, 1);
    emit(p, OP_AND);
    uint32_t to_even = emit_jump(p, OP_JZ);
    emit1(p, OP_PUSH, 3); /* x = 3 * x + 1 */
    emit(p, OP_MUL);
    emit1(p, OP_PUSH, 1);
    emit(p, OP_ADD);
    emit1(p, OP_STORE, 2);
    uint32_t to_count = emit_jump(p, OP_JMP);
    patch(p, to_even, p->len); /* else x = x >> 1 */
    emit1(p, OP_PUSH, 1);
    emit(p, OP_SHR);
    emit1(p, OP_STORE, 2);
    patch(p, to_count, p->len);
    emit1(p, OP_INC, 3);
    emit1(p, OP_JMP, (int32_t)loop_x);
    patch(p, to_next, p->len);
    emit1(p, OP_INC, 0);
    emit1(p, OP_JMP, (int32_t)loop_i);
    patch(p, to_end, p->len);
    emit1(p, OP_LOAD, 3);
    emit(p, OP_HALT);
}

/* Locals: 0 = i, 1 = dim, 2 = j, 3 = sum, 4 = a, 5 = b. Sums gcd(i, j) for
 * 1 <= i, j < dim. */
static void build_gcd(struct program *p)
{
    p->len = 0;
    emit1(p, OP_PUSH, 1);
    emit1(p, OP_STORE, 0);
    uint32_t loop_i = p->len;
    emit1(p, OP_LOAD, 0);
    emit1(p, OP_LOAD, 1);
    emit(p, OP_LT);
    uint32_t to_end = emit_jump(p, OP_JZ);
    emit1(p, OP_PUSH, 1);
    emit1(p, OP_STORE, 2);
    uint32_t loop_j = p->len;
    emit1(p, OP_LOAD, 2);
    emit1(p, OP_LOAD, 1);
    emit(p, OP_LT);
    uint32_t to_next_i = emit_jump(p, OP_JZ);
    emit1(p, OP_LOAD, 0); /* a = i, b = j */
    emit1(p, OP_STORE, 4);
    emit1(p, OP_LOAD, 2);
    emit1(p, OP_STORE, 5);
    uint32_t loop_euclid = p->len; /* while (b) { a, b = b, a % b } */
    emit1(p, OP_LOAD, 5);
    uint32_t to_done = emit_jump(p, OP_JZ);
    emit1(p, OP_LOAD, 4);
    emit1(p, OP_LOAD, 5);
    emit(p, OP_DUP);
    emit1(p, OP_STORE, 4);
    emit(p, OP_REM);
    emit1(p, OP_STORE, 5);
    emit1(p, OP_JMP, (int32_t)loop_euclid);
    patch(p, to_done, p->len); /* sum += a */
    emit1(p, OP_LOAD, 3);
    emit1(p, OP_LOAD, 4);
    emit(p, OP_ADD);
    emit1(p, OP_STORE, 3);
    emit1(p, OP_INC, 2);
    emit1(p, OP_JMP, (int32_t)loop_j);
    patch(p, to_next_i, p->len);
    emit1(p, OP_INC, 0);
    emit1(p, OP_JMP, (int32_t)loop_i);
    patch(p, to_end, p->len);
    emit1(p, OP_LOAD, 3);
    emit(p, OP_HALT);
}

/* --- the interpreter ---------------------------------------------------- */

/* Pops b, then replaces the top a with the value of expr. */
#define BINARY(expr)                                                           \
    b = stack[--sp];                                                           \
    a = stack[sp - 1];                                                         \
    stack[sp - 1] = (expr);                                                    \
    break

/* Runs p with the given locals; returns the top of the stack at OP_HALT.
 * The programs come from the assembler above; the loop still checks pc and
 * the stack height so that a wrong one returns a marker instead of running
 * off its arrays. */
static uint32_t execute(const struct program *p, uint32_t *local)
{
    uint32_t stack[STACK_SIZE];
    uint32_t sp = 0, pc = 0, a, b;
    const int32_t *code = p->code;

    for (;;) {
        if (pc >= p->len || sp > STACK_SIZE - 2)
            return 0xbad0bad0;
        switch ((enum op)code[pc++]) {
        case OP_HALT:
            return sp > 0 ? stack[sp - 1] : 0;
        case OP_PUSH:
            stack[sp++] = (uint32_t)code[pc++];
            break;
        case OP_LOAD:
            stack[sp++] = local[code[pc++] & (NLOCALS - 1)];
            break;
        case OP_STORE:
            local[code[pc++] & (NLOCALS - 1)] = stack[--sp];
            break;
        case OP_INC:
            local[code[pc++] & (NLOCALS - 1)]++;
            break;
        case OP_ADD:
            BINARY(a + b);
        case OP_SUB:
            BINARY(a - b);
        case OP_MUL:
            BINARY(a * b);
        case OP_REM:
            BINARY(b ? a % b : 0);
        case OP_AND:
            BINARY(a & b);
        case OP_SHR:
            BINARY(a >> (b & 31));
        case OP_LT:
            BINARY(a < b);
        case OP_EQ:
            BINARY(a == b);
        case OP_JMP:
            pc = (uint32_t)code[pc];
            break;
        case OP_JZ:
            pc = stack[--sp] == 0 ? (uint32_t)code[pc] : pc + 1;
            break;
        case OP_JNZ:
            pc = stack[--sp] != 0 ? (uint32_t)code[pc] : pc + 1;
            break;
        case OP_DUP:
            stack[sp] = stack[sp - 1];
            sp++;
            break;
        case OP_SWAP:
            a = stack[sp - 1];
            stack[sp - 1] = stack[sp - 2];
            stack[sp - 2] = a;
            break;
        case OP_POP:
            sp--;
            break;
        default:
            return 0xbad1bad1;
        }
    }
}

uint32_t run(void)
{
    uint32_t sum = 0;
    uint32_t n = reps;

    build_collatz(&collatz);
    build_gcd(&gcd);
    for (uint32_t r = 0; r < n; r++) {
        uint32_t local[NLOCALS] = {0};
        local[1] = collatz_limit + (r & 3);
        sum = sum * 31 + execute(&collatz, local);
        uint32_t local2[NLOCALS] = {0};
        local2[1] = gcd_dim + (r & 3);
        sum = sum * 31 + execute(&gcd, local2);
    }
    return sum;
}
