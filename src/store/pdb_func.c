/*
 * SQL functions that can spend long in one step of SQLite's VM, replaced
 * on plugin connections by ones that give the same results (SQLite 3.40's
 * documented behaviour, checked against its own functions by
 * tests/unit/test_store_sql.c and fuzz/fuzz_pdb_like.c) but stop at the
 * call's deadline (pdb_work), which SQLite's own cannot: the progress
 * handler runs only between VM steps, and one call of these may take
 * seconds on values of 1 MiB:
 *
 *  - like() (the LIKE operator, with or without ESCAPE) and glob() (GLOB):
 *    a pattern such as '%aaa...ab' against 'aaa...a' does work in the
 *    product of the two lengths; here it is counted and stopped;
 *  - instr() and replace(): SQLite tries the needle at every position; here
 *    memmem (linear) finds it;
 *  - trim(), ltrim(), rtrim() with a set of characters: SQLite tries every
 *    character of the set at each position; here a table does it for a set
 *    of one-byte characters, and other sets are counted and stopped.
 *
 * Text is read as SQLite reads it (lenient UTF-8: invalid bytes are
 * characters of their own, and strings end at their first NUL where
 * SQLite's functions stop there too). A stopped function fails its
 * statement with SQLITE_INTERRUPT, which the call reports as
 * FASTN_ERR_STORE_TIMEOUT.
 */
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "store/pdb_int.h"

enum { M_MATCH, M_NOMATCH, M_NOWILD, M_STOP };

/* What LIKE and GLOB treat specially (0: nothing). */
struct rules {
    uint32_t all;   /* '%' or '*' */
    uint32_t one;   /* '_' or '?' */
    uint32_t other; /* LIKE's ESCAPE character, or GLOB's '[' */
    bool nocase;    /* LIKE: ASCII letters match either case */
    bool sets;      /* GLOB: '[...]' sets */
};

static const struct rules like_rules = {'%', '_', 0, true, false};
static const struct rules glob_rules = {'*', '?', '[', false, true};

struct matcher {
    struct store_pdb *db;
    const struct rules *r;
};

/* --- characters, as SQLite reads them --------------------------------- */

static uint32_t lead_bits(uint32_t c)
{
    if (c < 0xe0)
        return c & 0x1f;
    if (c < 0xf0)
        return c & 0x0f;
    if (c < 0xf8)
        return c & 0x07;
    if (c < 0xfc)
        return c & 0x03;
    return c < 0xfe ? c & 0x01 : 0;
}

/* One character at *z, moving past it (past a NUL too: callers stop at
 * the 0 it returns). */
static uint32_t rd(const uint8_t **z)
{
    uint32_t c = *(*z)++;
    if (c < 0xc0)
        return c;
    c = lead_bits(c);
    while ((**z & 0xc0) == 0x80)
        c = (c << 6) + (0x3f & *(*z)++);
    if (c < 0x80 || (c & 0xfffff800) == 0xd800 || (c & 0xfffffffe) == 0xfffe)
        c = 0xfffd;
    return c;
}

/* Moves past one character without decoding it. */
static void skip(const uint8_t **z)
{
    if (*(*z)++ >= 0xc0)
        while ((**z & 0xc0) == 0x80)
            (*z)++;
}

static uint32_t lower(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static uint32_t upper(uint32_t c)
{
    return c >= 'a' && c <= 'z' ? c - 32 : c;
}

/* --- LIKE and GLOB ---------------------------------------------------- */

static int match(struct matcher *m, const uint8_t *p, const uint8_t *s);

/* A '[...]' set at *p (past its '['), against one character of *s. */
static int match_set(const uint8_t **p, const uint8_t **s)
{
    uint32_t prior = 0, c = rd(s), c2;
    bool seen = false, invert = false;
    if (c == 0)
        return M_NOMATCH;
    c2 = rd(p);
    if (c2 == '^') {
        invert = true;
        c2 = rd(p);
    }
    if (c2 == ']') {
        seen = c == ']';
        c2 = rd(p);
    }
    while (c2 && c2 != ']') {
        if (c2 == '-' && (*p)[0] != ']' && (*p)[0] != 0 && prior > 0) {
            c2 = rd(p);
            seen = seen || (c >= prior && c <= c2);
            prior = 0;
        } else {
            seen = seen || c == c2;
            prior = c2;
        }
        c2 = rd(p);
    }
    return c2 == 0 || seen == invert ? M_NOMATCH : M_MATCH;
}

/* Every place in s where the literal c is, continuing the match there. */
static int find_then_match(struct matcher *m, uint32_t c, const uint8_t *p,
                           const uint8_t *s)
{
    if (c >= 0x80) {
        uint32_t c2;
        while ((c2 = rd(&s)) != 0) {
            if (!pdb_work(m->db, 1))
                return M_STOP;
            int k = c2 == c ? match(m, p, s) : M_NOMATCH;
            if (k != M_NOMATCH)
                return k;
        }
        return M_NOWILD;
    }
    char stop[3] = {(char)c, 0, 0};
    if (m->r->nocase) {
        stop[0] = (char)upper(c);
        stop[1] = (char)lower(c);
    }
    for (;;) {
        size_t k = strcspn((const char *)s, stop);
        if (!pdb_work(m->db, k + 1))
            return M_STOP;
        s += k;
        if (!*s++)
            return M_NOWILD;
        int res = match(m, p, s);
        if (res != M_NOMATCH)
            return res;
    }
}

/* The pattern had `all` just before p. */
static int match_star(struct matcher *m, const uint8_t *p, const uint8_t *s)
{
    const struct rules *r = m->r;
    uint32_t c;
    /* more `all`, and each `one` among them takes a character */
    while ((c = rd(&p)) == r->all || (c == r->one && r->one != 0))
        if (c == r->one && rd(&s) == 0)
            return M_NOWILD;
    if (c == 0)
        return M_MATCH;
    if (c == r->other && !r->sets) {
        if ((c = rd(&p)) == 0)
            return M_NOWILD;
    } else if (c == r->other) {
        /* a set right after the star: tried at every place */
        for (; *s; skip(&s)) {
            if (!pdb_work(m->db, 1))
                return M_STOP;
            int k = match(m, p - 1, s);
            if (k != M_NOMATCH)
                return k;
        }
        return M_NOWILD;
    }
    return find_then_match(m, c, p, s);
}

static int match(struct matcher *m, const uint8_t *p, const uint8_t *s)
{
    const struct rules *r = m->r;
    const uint8_t *escaped = NULL; /* just past an escaped character */
    uint32_t c, c2;
    while ((c = rd(&p)) != 0) {
        if (!pdb_work(m->db, 1))
            return M_STOP;
        if (c == r->all)
            return match_star(m, p, s);
        if (c == r->other && r->sets) {
            int k = match_set(&p, &s);
            if (k != M_MATCH)
                return k;
            continue;
        }
        if (c == r->other) {
            if ((c = rd(&p)) == 0)
                return M_NOMATCH;
            escaped = p;
        }
        c2 = rd(&s);
        if (c == c2)
            continue;
        if (r->nocase && c < 0x80 && c2 < 0x80 && lower(c) == lower(c2))
            continue;
        if (c == r->one && p != escaped && c2 != 0)
            continue;
        return M_NOMATCH;
    }
    return *s == 0 ? M_MATCH : M_NOMATCH;
}

static bool blobs_never_match;

/* like(P, S[, E]) and glob(P, S): "S LIKE P ESCAPE E", "S GLOB P". */
static void pattern_func(sqlite3_context *ctx, int argc, sqlite3_value **argv,
                         const struct rules *base)
{
    struct rules r = *base;
    struct matcher m = {sqlite3_user_data(ctx), &r};
    if (blobs_never_match && (sqlite3_value_type(argv[0]) == SQLITE_BLOB ||
                              sqlite3_value_type(argv[1]) == SQLITE_BLOB)) {
        sqlite3_result_int(ctx, 0);
        return;
    }
    int max = sqlite3_limit(sqlite3_context_db_handle(ctx),
                            SQLITE_LIMIT_LIKE_PATTERN_LENGTH, -1);
    if (sqlite3_value_bytes(argv[0]) > max) {
        sqlite3_result_error(ctx, "LIKE or GLOB pattern too complex", -1);
        return;
    }
    if (argc == 3) {
        const uint8_t *e = sqlite3_value_text(argv[2]), *one = e;
        if (!e)
            return;
        if (*e)
            skip(&one);
        if (!*e || *one) {
            sqlite3_result_error(
                ctx, "ESCAPE expression must be a single character", -1);
            return;
        }
        r.other = rd(&e);
        r.all = r.other == r.all ? 0 : r.all;
        r.one = r.other == r.one ? 0 : r.one;
    }
    const uint8_t *pat = sqlite3_value_text(argv[0]);
    const uint8_t *str = sqlite3_value_text(argv[1]);
    if (!pat || !str)
        return;
    int k = match(&m, pat, str);
    if (k == M_STOP)
        sqlite3_result_error_code(ctx, SQLITE_INTERRUPT);
    else
        sqlite3_result_int(ctx, k == M_MATCH);
}

static void like_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    pattern_func(ctx, argc, argv, &like_rules);
}

static void glob_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    pattern_func(ctx, argc, argv, &glob_rules);
}

/* --- instr ------------------------------------------------------------ */

/* The first place at or after from where n is in h, at the start of a
 * character for text (a match inside a character does not count); NULL
 * for none, or (const uint8_t *)1 when stopped. */
static const uint8_t *find(struct store_pdb *db, const uint8_t *h, size_t nh,
                           const uint8_t *from, const uint8_t *n, size_t nn,
                           bool text)
{
    const uint8_t *end = h + nh;
    while ((size_t)(end - from) >= nn) {
        const uint8_t *hit = memmem(from, (size_t)(end - from), n, nn);
        /* a call costs more than the bytes it scanned (under a sanitizer,
         * all of the rest of h): the clock is read every 64 calls */
        if (!pdb_work(db, (size_t)((hit ? hit + nn : end) - from) + 1024))
            return (const uint8_t *)1;
        if (!hit || !text || hit == h || (*hit & 0xc0) != 0x80)
            return hit;
        from = hit + 1;
    }
    return NULL;
}

/* instr(H, N): the character (blobs: byte) position of N in H, from 1;
 * 0 when not there, 1 for an empty N, NULL when either is NULL. Text and a
 * blob are both compared as text. */
static void instr_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct store_pdb *db = sqlite3_user_data(ctx);
    sqlite3_value *v0 = argv[0], *v1 = argv[1], *d0 = NULL, *d1 = NULL;
    int t0 = sqlite3_value_type(v0), t1 = sqlite3_value_type(v1);
    (void)argc;
    if (t0 == SQLITE_NULL || t1 == SQLITE_NULL)
        return;
    if (sqlite3_value_bytes(v1) == 0) {
        sqlite3_result_int(ctx, 1);
        return;
    }
    bool text = !(t0 == SQLITE_BLOB && t1 == SQLITE_BLOB);
    if (text && (t0 == SQLITE_BLOB || t1 == SQLITE_BLOB)) {
        v0 = d0 = sqlite3_value_dup(argv[0]);
        v1 = d1 = sqlite3_value_dup(argv[1]);
    }
    const uint8_t *h = text ? sqlite3_value_text(v0) : sqlite3_value_blob(v0);
    const uint8_t *n = text ? sqlite3_value_text(v1) : sqlite3_value_blob(v1);
    size_t nh = (size_t)sqlite3_value_bytes(v0);
    size_t nn = (size_t)sqlite3_value_bytes(v1);
    if (!n || (nh && !h)) {
        sqlite3_result_error_nomem(ctx);
    } else if (nn == 0) {
        sqlite3_result_int(ctx, 1);
    } else {
        const uint8_t *hit = find(db, h, nh, h, n, nn, text);
        if (hit == (const uint8_t *)1) {
            sqlite3_result_error_code(ctx, SQLITE_INTERRUPT);
        } else {
            int64_t pos = 0;
            for (const uint8_t *q = h; hit && q <= hit; q++)
                pos += q == h || !text || (*q & 0xc0) != 0x80;
            sqlite3_result_int64(ctx, pos);
        }
    }
    sqlite3_value_free(d0);
    sqlite3_value_free(d1);
}

/* --- replace ---------------------------------------------------------- */

/* Copies s into out (NULL: only counts), each non-overlapping pat, from
 * the left, replaced by rep; the output's length, or -1 when stopped. */
static int64_t substitute(struct store_pdb *db, const uint8_t *s, size_t ns,
                          const uint8_t *pat, size_t np, const uint8_t *rep,
                          size_t nr, uint8_t *out)
{
    const uint8_t *from = s;
    int64_t len = 0;
    for (;;) {
        const uint8_t *hit = find(db, s, ns, from, pat, np, false);
        if (hit == (const uint8_t *)1)
            return -1;
        size_t keep = (size_t)((hit ? hit : s + ns) - from);
        if (out) {
            memcpy(out + len, from, keep);
            if (hit)
                memcpy(out + len + keep, rep, nr);
        }
        len += (int64_t)keep;
        if (!hit)
            return len;
        len += (int64_t)nr;
        from = hit + np;
    }
}

/* replace(S, P, R): S with every P (from the left, not overlapping)
 * replaced by R, as text; S itself when P is empty; NULL when any is. */
static void replace_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct store_pdb *db = sqlite3_user_data(ctx);
    (void)argc;
    const uint8_t *s = sqlite3_value_text(argv[0]);
    if (!s)
        return;
    size_t ns = (size_t)sqlite3_value_bytes(argv[0]);
    const uint8_t *pat = sqlite3_value_text(argv[1]);
    if (!pat)
        return;
    if (pat[0] == 0) {
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    size_t np = (size_t)sqlite3_value_bytes(argv[1]);
    const uint8_t *rep = sqlite3_value_text(argv[2]);
    if (!rep)
        return;
    size_t nr = (size_t)sqlite3_value_bytes(argv[2]);
    int64_t len = substitute(db, s, ns, pat, np, rep, nr, NULL);
    int max =
        sqlite3_limit(sqlite3_context_db_handle(ctx), SQLITE_LIMIT_LENGTH, -1);
    uint8_t *out = NULL;
    if (len < 0) {
        sqlite3_result_error_code(ctx, SQLITE_INTERRUPT);
    } else if (nr > np && len > max) {
        sqlite3_result_error_toobig(ctx);
    } else if (!(out = sqlite3_malloc64((uint64_t)len + 1))) {
        sqlite3_result_error_nomem(ctx);
    } else if (substitute(db, s, ns, pat, np, rep, nr, out) < 0) {
        sqlite3_free(out);
        sqlite3_result_error_code(ctx, SQLITE_INTERRUPT);
    } else {
        out[len] = 0;
        sqlite3_result_text64(ctx, (char *)out, (uint64_t)len, sqlite3_free,
                              SQLITE_UTF8);
    }
}

/* --- trim, ltrim, rtrim with a set ------------------------------------ */

enum { TRIM_LEFT = 1, TRIM_RIGHT = 2 };

/* The set's characters (as SQLite splits it: a byte and the continuation
 * bytes after it), in order. */
struct charset {
    const uint8_t *z;
    uint32_t *off, *len;
    size_t n;
    bool bytes; /* every one is a single byte: table says which */
    bool table[256];
};

static int charset_init(struct charset *cs, const uint8_t *z)
{
    size_t n = 0;
    *cs = (struct charset){.z = z, .bytes = true};
    for (const uint8_t *q = z; *q; n++) {
        const uint8_t *start = q;
        skip(&q);
        cs->bytes = cs->bytes && q - start == 1;
        cs->table[*start] = true;
    }
    cs->n = n;
    if (cs->bytes || n == 0)
        return 0;
    cs->off = sqlite3_malloc64(n * 2 * sizeof(uint32_t));
    if (!cs->off)
        return SQLITE_NOMEM;
    cs->len = cs->off + n;
    n = 0;
    for (const uint8_t *q = z; *q; n++) {
        const uint8_t *start = q;
        skip(&q);
        cs->off[n] = (uint32_t)(start - z);
        cs->len[n] = (uint32_t)(q - start);
    }
    return 0;
}

/* The length of the set's first character (in its order) that s[0..n)
 * starts (left) or ends (right) with; 0 for none, -1 when stopped. */
static int64_t charset_at(struct store_pdb *db, const struct charset *cs,
                          const uint8_t *s, size_t n, bool right)
{
    if (cs->bytes)
        return cs->table[s[right ? n - 1 : 0]] ? 1 : 0;
    if (!pdb_work(db, cs->n))
        return -1;
    for (size_t i = 0; i < cs->n; i++) {
        size_t len = cs->len[i];
        if (len <= n &&
            memcmp(right ? s + n - len : s, cs->z + cs->off[i], len) == 0)
            return (int64_t)len;
    }
    return 0;
}

#define TRIM_FUNC(name_, flags_)                                               \
    static void name_##_func(sqlite3_context *ctx, int argc,                   \
                             sqlite3_value **argv)                             \
    {                                                                          \
        (void)argc;                                                            \
        trim_set(ctx, argv, flags_);                                           \
    }

static void trim_set(sqlite3_context *ctx, sqlite3_value **argv, int flags)
{
    struct store_pdb *db = sqlite3_user_data(ctx);
    struct charset cs;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return;
    const uint8_t *in = sqlite3_value_text(argv[0]);
    if (!in)
        return;
    size_t n = (size_t)sqlite3_value_bytes(argv[0]);
    const uint8_t *set = sqlite3_value_text(argv[1]);
    if (!set)
        return;
    if (charset_init(&cs, set) != 0) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    int64_t k = 0;
    while ((flags & TRIM_LEFT) && n > 0 &&
           (k = charset_at(db, &cs, in, n, false)) > 0)
        in += k, n -= (size_t)k;
    while (k >= 0 && (flags & TRIM_RIGHT) && n > 0 &&
           (k = charset_at(db, &cs, in, n, true)) > 0)
        n -= (size_t)k;
    sqlite3_free(cs.off);
    if (k < 0)
        sqlite3_result_error_code(ctx, SQLITE_INTERRUPT);
    else
        sqlite3_result_text64(ctx, (const char *)in, n, SQLITE_TRANSIENT,
                              SQLITE_UTF8);
}

TRIM_FUNC(ltrim, TRIM_LEFT)
TRIM_FUNC(rtrim, TRIM_RIGHT)
TRIM_FUNC(trim2, TRIM_LEFT | TRIM_RIGHT)

/* --- registration ----------------------------------------------------- */

int pdb_functions_register(struct store_pdb *db)
{
    static const struct {
        const char *name;
        int args;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
    } fns[] = {
        {"like", 2, like_func},       {"like", 3, like_func},
        {"glob", 2, glob_func},       {"instr", 2, instr_func},
        {"replace", 3, replace_func}, {"trim", 2, trim2_func},
        {"ltrim", 2, ltrim_func},     {"rtrim", 2, rtrim_func},
    };
    blobs_never_match = sqlite3_compileoption_used("LIKE_DOESNT_MATCH_BLOBS");
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        int rc = sqlite3_create_function_v2(db->db, fns[i].name, fns[i].args,
                                            SQLITE_UTF8 | SQLITE_DETERMINISTIC |
                                                SQLITE_INNOCUOUS,
                                            db, fns[i].fn, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return store__err(rc);
    }
    return 0;
}
