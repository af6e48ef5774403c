/* base58btc encode/decode by repeated division; inputs are bounded
 * (BASE58_MAX_BYTES), so the quadratic cost stays small (the encoder,
 * used for every PeerID a program lists, works in larger limbs). */
#include "util/base58.h"

#include <string.h>

#include "fastn/err.h"

static const char alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* 58^5: the encoder works on limbs of five base58 digits and takes the
 * input two bytes at a time, ten times fewer steps than digit by byte
 * (listing ten thousand peers encodes ten thousand PeerIDs). */
#define LIMB 656356768u

/* The number in[0..n) as little-endian limbs of base 58^5; their count. */
static size_t to_limbs(const uint8_t *in, size_t n, uint32_t *limbs)
{
    size_t nl = 0, i = 0;

    while (i < n) {
        unsigned bits = n - i == 1 ? 8 : 16;
        uint64_t carry = bits == 8 ? in[i] : (uint64_t)in[i] << 8 | in[i + 1];
        i += bits / 8;
        for (size_t j = 0; j < nl; j++) {
            carry += (uint64_t)limbs[j] << bits;
            limbs[j] = (uint32_t)(carry % LIMB);
            carry /= LIMB;
        }
        while (carry) {
            limbs[nl++] = (uint32_t)(carry % LIMB);
            carry /= LIMB;
        }
    }
    return nl;
}

int base58_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
    uint8_t digits[BASE58_MAX_BYTES * 138 / 100 + 6];
    uint32_t limbs[BASE58_MAX_BYTES * 138 / 100 / 5 + 2];
    size_t ndigits = 0, zeros = 0, nl;

    if (n > BASE58_MAX_BYTES)
        return FASTN_ERR_TOO_LARGE;
    while (zeros < n && in[zeros] == 0)
        zeros++;
    nl = to_limbs(in + zeros, n - zeros, limbs);
    for (size_t j = 0; j < nl; j++)
        for (int k = 0; k < 5; k++) {
            digits[ndigits++] = (uint8_t)(limbs[j] % 58);
            limbs[j] /= 58;
        }
    while (ndigits && digits[ndigits - 1] == 0) /* the top limb's padding */
        ndigits--;
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
