/*
 * Version comparison for `fastn plugin update` and "the highest version":
 * semver 2.0.0's order, made lenient where plugins' versions are (any
 * number of numeric parts, missing ones 0, so 1.2 == 1.2.0), with its
 * rules for pre-releases (section 11) and build metadata (ignored).
 */
#include <stdbool.h>
#include <string.h>

#include "fastn/err.h"
#include "registry/index.h"

/* Longest numeric part compared (fits an unsigned 64-bit number). */
#define PART_DIGITS_MAX 18

struct version {
    const char *core, *pre; /* pre is NULL without a pre-release */
    size_t core_len, pre_len;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool ident_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '-';
}

/* Checks dot-separated parts of s[0..n): numeric ones only (numeric) or
 * [0-9A-Za-z-]+ (pre-release, build). */
static bool parts_ok(const char *s, size_t n, bool numeric)
{
    size_t run = 0;

    if (n == 0)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (run == 0)
                return false;
            run = 0;
            continue;
        }
        if (numeric ? !is_digit(s[i]) : !ident_char(s[i]))
            return false;
        if (numeric && ++run > PART_DIGITS_MAX)
            return false;
        if (!numeric)
            run++;
    }
    return true;
}

static bool version_parse(const char *s, struct version *v)
{
    size_t n = strlen(s), plus = strcspn(s, "+"), dash = strcspn(s, "-");

    if (plus < n && !parts_ok(s + plus + 1, n - plus - 1, false))
        return false;
    n = plus;
    v->core = s;
    v->pre = NULL;
    v->pre_len = 0;
    if (dash < n) {
        v->pre = s + dash + 1;
        v->pre_len = n - dash - 1;
        n = dash;
        if (!parts_ok(v->pre, v->pre_len, false))
            return false;
    }
    v->core_len = n;
    return parts_ok(s, n, true);
}

bool registry_version_valid(const char *v)
{
    struct version x;
    return v && version_parse(v, &x);
}

/* The next dot-separated part of s[*i..n), as [*start, *len). */
static bool next_part(const char *s, size_t n, size_t *i, size_t *start,
                      size_t *len)
{
    if (*i > n || n == 0)
        return false;
    *start = *i;
    while (*i < n && s[*i] != '.')
        (*i)++;
    *len = *i - *start;
    (*i)++;
    return true;
}

static unsigned long long number(const char *s, size_t n)
{
    unsigned long long v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

static int cmp_numbers(unsigned long long a, unsigned long long b)
{
    return a < b ? -1 : a > b;
}

/* Numeric parts, missing ones 0. */
static int cmp_core(const struct version *a, const struct version *b)
{
    size_t ia = 0, ib = 0, sa = 0, la = 0, sb = 0, lb = 0;

    for (;;) {
        bool ha = next_part(a->core, a->core_len, &ia, &sa, &la);
        bool hb = next_part(b->core, b->core_len, &ib, &sb, &lb);
        if (!ha && !hb)
            return 0;
        int c = cmp_numbers(ha ? number(a->core + sa, la) : 0,
                            hb ? number(b->core + sb, lb) : 0);
        if (c)
            return c;
    }
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

/* One pre-release identifier: numeric ones numerically and before
 * alphanumeric ones, those in ASCII order (semver 11.4). */
static int cmp_ident(const char *a, size_t la, const char *b, size_t lb)
{
    bool na = all_digits(a, la) && la <= PART_DIGITS_MAX;
    bool nb = all_digits(b, lb) && lb <= PART_DIGITS_MAX;
    int c;

    if (na && nb)
        return cmp_numbers(number(a, la), number(b, lb));
    if (na != nb)
        return na ? -1 : 1;
    c = memcmp(a, b, la < lb ? la : lb);
    return c ? (c < 0 ? -1 : 1) : cmp_numbers(la, lb);
}

static int cmp_pre(const struct version *a, const struct version *b)
{
    size_t ia = 0, ib = 0, sa = 0, la = 0, sb = 0, lb = 0;

    /* a version without a pre-release is the higher (semver 11.3) */
    if (!a->pre || !b->pre)
        return (a->pre ? -1 : 0) + (b->pre ? 1 : 0);
    for (;;) {
        bool ha = next_part(a->pre, a->pre_len, &ia, &sa, &la);
        bool hb = next_part(b->pre, b->pre_len, &ib, &sb, &lb);
        if (!ha || !hb)
            return ha - hb; /* more identifiers is higher */
        int c = cmp_ident(a->pre + sa, la, b->pre + sb, lb);
        if (c)
            return c;
    }
}

int registry_version_cmp(const char *a, const char *b, int *out)
{
    struct version va, vb;
    int c;

    if (!version_parse(a, &va) || !version_parse(b, &vb))
        return FASTN_ERR_VERSION;
    c = cmp_core(&va, &vb);
    *out = c ? c : cmp_pre(&va, &vb);
    return 0;
}
