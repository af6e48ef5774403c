/* base58btc encode/decode by repeated division; inputs are bounded
 * (BASE58_MAX_BYTES), so the quadratic cost stays small. */
#include "util/base58.h"

#include <string.h>

#include "fastn/err.h"

static const char alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int base58_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
    uint8_t digits[BASE58_MAX_BYTES * 138 / 100 + 1];
    size_t ndigits = 0, zeros = 0;

    if (n > BASE58_MAX_BYTES)
        return FASTN_ERR_TOO_LARGE;
    while (zeros < n && in[zeros] == 0)
        zeros++;
    for (size_t i = zeros; i < n; i++) {
        unsigned carry = in[i];
        for (size_t j = 0; j < ndigits; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            digits[ndigits++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    if (zeros + ndigits + 1 > outlen)
        return FASTN_ERR_TOO_LARGE;
    size_t k = 0;
    for (size_t i = 0; i < zeros; i++)
        out[k++] = '1';
    for (size_t i = ndigits; i > 0; i--)
        out[k++] = alphabet[digits[i - 1]];
    out[k] = '\0';
    return (int)k;
}

static int digit_of(char c)
{
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

int base58_decode(const char *s, size_t slen, uint8_t *out, size_t outlen)
{
    uint8_t bytes[BASE58_MAX_BYTES];
    size_t nbytes = 0, zeros = 0;

    if (slen > BASE58_MAX_BYTES * 138 / 100 + 1)
        return FASTN_ERR_TOO_LARGE;
    while (zeros < slen && s[zeros] == '1')
        zeros++;
    for (size_t i = zeros; i < slen; i++) {
        int d = digit_of(s[i]);
        if (d < 0)
            return FASTN_ERR_MALFORMED;
        unsigned carry = (unsigned)d;
        for (size_t j = 0; j < nbytes; j++) {
            carry += (unsigned)bytes[j] * 58;
            bytes[j] = (uint8_t)carry;
            carry >>= 8;
        }
        while (carry) {
            if (nbytes == sizeof(bytes))
                return FASTN_ERR_TOO_LARGE;
            bytes[nbytes++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    if (zeros + nbytes > outlen || zeros + nbytes > BASE58_MAX_BYTES)
        return FASTN_ERR_TOO_LARGE;
    memset(out, 0, zeros);
    for (size_t i = 0; i < nbytes; i++)
        out[zeros + i] = bytes[nbytes - 1 - i];
    return (int)(zeros + nbytes);
}
