/*
 * IMAP reply formatting (RFC 3501 4, 7): strings as quoted strings when
 * they can be, literals when not (CR, LF, NUL, 8-bit, or long), flags,
 * dates and sequence sets, into a bounded buffer that records overflow
 * instead of writing past its end.
 */
#include <stdio.h>
#include <string.h>

#include "mail.h"

void mail_out_init(struct mail_out *o, char *p, size_t cap)
{
    o->p = p;
    o->len = 0;
    o->cap = cap;
    o->over = false;
}

void mail_out_bytes(struct mail_out *o, const void *p, size_t n)
{
    if (o->over || n > o->cap - o->len) {
        o->over = true;
        return;
    }
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

void mail_out_str(struct mail_out *o, const char *s)
{
    mail_out_bytes(o, s, strlen(s));
}

void mail_out_u64(struct mail_out *o, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
    mail_out_bytes(o, b, (size_t)n);
}

static bool quotable(const char *s, size_t n)
{
    if (n > 1024)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == 0 || ch == '\r' || ch == '\n' || ch >= 0x80)
            return false;
    }
    return true;
}

void mail_imap_out_string(struct mail_out *o, const char *s, size_t n)
{
    if (!s) {
        mail_out_str(o, "NIL");
        return;
    }
    if (!quotable(s, n)) {
        mail_out_str(o, "{");
        mail_out_u64(o, n);
        mail_out_str(o, "}\r\n");
        mail_out_bytes(o, s, n);
        return;
    }
    mail_out_str(o, "\"");
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            mail_out_str(o, "\\");
        mail_out_bytes(o, s + i, 1);
    }
    mail_out_str(o, "\"");
}

void mail_imap_out_astring(struct mail_out *o, const char *s, size_t n)
{
    bool atom = n > 0 && !(n == 3 && mail_ieq(s, 3, "NIL"));
    for (size_t i = 0; atom && i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        atom = ch > ' ' && ch < 0x7f && !strchr("(){%*\"\\]", ch);
    }
    if (atom)
        mail_out_bytes(o, s, n);
    else
        mail_imap_out_string(o, s, n);
}

void mail_imap_out_flags(struct mail_out *o, unsigned flags)
{
    static const char *const names[] = {"\\Seen",    "\\Answered", "\\Flagged",
                                        "\\Deleted", "\\Draft",    "\\Recent"};
    bool first = true;

    mail_out_str(o, "(");
    for (unsigned k = 0; k < 6; k++) {
        if (!(flags & (1u << k)))
            continue;
        if (!first)
            mail_out_str(o, " ");
        mail_out_str(o, names[k]);
        first = false;
    }
    mail_out_str(o, ")");
}

/* civil_from_days (H. Hinnant) */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void mail_imap_out_date(struct mail_out *o, int64_t t)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t sec = t - days * 86400, y;
    unsigned m, d;
    char b[48];

    civil(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = 1970, m = 1, d = 1, sec = 0;
    snprintf(b, sizeof(b), "\"%02u-%.3s-%04d %02d:%02d:%02d +0000\"", d,
             months + 3 * (m - 1), (int)y, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60));
    mail_out_str(o, b);
}

void mail_imap_out_seq_set(struct mail_out *o, const struct mail_seq_set *s)
{
    for (unsigned k = 0; k < s->n; k++) {
        if (k)
            mail_out_str(o, ",");
        if (s->r[k].lo == MAIL_SEQ_STAR)
            mail_out_str(o, "*");
        else
            mail_out_u64(o, s->r[k].lo);
        if (s->r[k].hi == s->r[k].lo)
            continue;
        mail_out_str(o, ":");
        if (s->r[k].hi == MAIL_SEQ_STAR)
            mail_out_str(o, "*");
        else
            mail_out_u64(o, s->r[k].hi);
    }
}
