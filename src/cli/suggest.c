/*
 * "Did you mean ...?": the candidate nearest to a mistyped command,
 * subcommand or option, by edit distance (a swap of two neighbours
 * counts once, as Damerau's does), or one the word is a prefix of.
 */
#include <ctype.h>
#include <string.h>

#include "cli/cli.h"

#define WORD_MAX 64

/* Optimal string alignment distance of a and b (each < WORD_MAX). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[WORD_MAX + 1][WORD_MAX + 1];

    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *cli_nearest(const char *word, const char *const *cands, size_t n)
{
    size_t lw = strlen(word), best_d = (size_t)-1;
    const char *best = NULL;

    if (lw == 0 || lw >= WORD_MAX)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t lc = strlen(cands[i]), d;
        if (lc >= WORD_MAX || !strcmp(cands[i], word))
            continue;
        d = distance(word, cands[i]);
        /* "--cou" for "--count": a prefix of a longer one is close */
        if (lw >= 3 && lc > lw && !strncmp(cands[i], word, lw))
            d = 1;
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    /* at most a third of the word wrong (at least one edit allowed) */
    if (best && best_d <= (lw >= 6 ? lw / 3 : lw >= 3 ? 1 : 0))
        return best;
    return NULL;
}

size_t cli_usage_options(const char *usage, char *buf, size_t cap,
                         const char **v, size_t max)
{
    size_t n = 0, used = 0;

    for (const char *p = usage; *p && n < max; p++) {
        const char *s = p, *e;
        size_t len;
        /* an option starts a word: after a space, '[', '|', '(' or a
         * line's start */
        if (*p != '-' || (p > usage && !strchr(" [|(\n", p[-1])))
            continue;
        e = s + (s[1] == '-' ? 2 : 1);
        if (!isalpha((unsigned char)*e))
            continue;
        while (isalnum((unsigned char)*e) || *e == '-')
            e++;
        len = (size_t)(e - s);
        p = e - 1;
        if (used + len + 1 > cap)
            break;
        memcpy(buf + used, s, len);
        buf[used + len] = '\0';
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++)
            dup = !strcmp(v[i], buf + used);
        if (!dup)
            v[n++] = buf + used;
        used += dup ? 0 : len + 1;
    }
    return n;
}
