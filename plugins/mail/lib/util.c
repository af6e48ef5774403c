/*
 * Small helpers the mail core shares: base64 (RFC 4648 section 4, for
 * SMTP AUTH and IMAP AUTHENTICATE) and ASCII case-insensitive matching
 * (SMTP and IMAP keywords are case-insensitive, RFC 5321 2.4, RFC 3501 9).
 */
#include <string.h>

#include "fastn/err.h"
#include "mail.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

int mail_base64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
    size_t k = 0;

    if (n % 4 != 0)
        return FASTN_ERR_MALFORMED;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            bool last = i + 4 == n;
            if (s[i + j] == '=' && last && j >= 2 &&
                (j == 3 || s[i + 3] == '=')) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad || (v[j] = b64_value(s[i + j])) < 0)
                return FASTN_ERR_MALFORMED;
        }
        uint32_t w = (uint32_t)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
        /* the bits under the padding must be zero (canonical) */
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            return FASTN_ERR_MALFORMED;
        if (k + 3 - (size_t)pad > cap)
            return FASTN_ERR_TOO_LARGE;
        out[k++] = (uint8_t)(w >> 16);
        if (pad < 2)
            out[k++] = (uint8_t)(w >> 8);
        if (pad < 1)
            out[k++] = (uint8_t)w;
    }
    return (int)k;
}

int mail_base64_encode(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t k = 0;

    if (cap < (n + 2) / 3 * 4 + 1)
        return FASTN_ERR_TOO_LARGE;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            w |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            w |= p[i + 2];
        out[k++] = b64[w >> 18 & 63];
        out[k++] = b64[w >> 12 & 63];
        out[k++] = i + 1 < n ? b64[w >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? b64[w & 63] : '=';
    }
    out[k] = '\0';
    return (int)k;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool mail_ieq(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

bool mail_iprefix(const char *s, size_t n, const char *prefix)
{
    size_t pn = strlen(prefix);
    return n >= pn && mail_ieq(s, pn, prefix);
}
