/*
 * fastn mail addresses: NAME@DOMAIN where DOMAIN is the recipient's PeerID
 * as a CIDv1 with the libp2p-key multicodec (0x72) in lowercase base32
 * (multibase 'b'), under the fixed suffix ".fastn" (docs/MAIL.md).
 * Base32 has no case distinction, so the domain survives mail software
 * that lowercases (or uppercases) domains; parsing takes any case.
 */
#include <string.h>

#include "fastn/err.h"
#include "mail.h"

enum { CID_V1 = 0x01, CODEC_LIBP2P_KEY = 0x72 };
enum { MH_IDENTITY = 0x00, MH_SHA2_256 = 0x12 };

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

bool mail_peer_is_valid(const uint8_t *p, size_t n)
{
    /* <code><len><digest>, both varints fit one byte for these codes */
    if (n < 2 || n > MAIL_PEER_MAX || (size_t)p[1] + 2 != n)
        return false;
    if (p[0] == MH_SHA2_256)
        return p[1] == 32;
    return p[0] == MH_IDENTITY && p[1] > 0 && p[1] <= 42;
}

static size_t base32_encode(const uint8_t *in, size_t n, char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[k++] = b32[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[k++] = b32[(acc << (5 - bits)) & 31];
    return k;
}

/* Canonical unpadded base32: trailing bits must be zero and the length
 * must be one an encoder produces, so each domain names one PeerID. */
static int base32_decode(const char *s, size_t n, uint8_t *out, size_t max)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;

    if (n % 8 == 1 || n % 8 == 3 || n % 8 == 6)
        return FASTN_ERR_BAD_PEER_ID;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c >= 'a' && c <= 'z')
            v = c - 'a';
        else if (c >= '2' && c <= '7')
            v = c - '2' + 26;
        else
            return FASTN_ERR_BAD_PEER_ID;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (k == max)
                return FASTN_ERR_BAD_PEER_ID;
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return FASTN_ERR_BAD_PEER_ID;
    return (int)k;
}

int mail_domain_format(const uint8_t *peer, size_t n, char *out, size_t cap)
{
    uint8_t raw[2 + MAIL_PEER_MAX];
    size_t sl = strlen(MAIL_DOMAIN_SUFFIX);

    if (!mail_peer_is_valid(peer, n))
        return FASTN_ERR_BAD_PEER_ID;
    raw[0] = CID_V1;
    raw[1] = CODEC_LIBP2P_KEY;
    memcpy(raw + 2, peer, n);
    if (cap < 1 + ((n + 2) * 8 + 4) / 5 + sl + 1)
        return FASTN_ERR_TOO_LARGE;
    out[0] = 'b';
    size_t k = 1 + base32_encode(raw, n + 2, out + 1);
    memcpy(out + k, MAIL_DOMAIN_SUFFIX, sl + 1);
    return (int)(k + sl);
}

static bool suffix_is(const char *s, size_t n, const char *suf)
{
    size_t sl = strlen(suf);
    if (n < sl)
        return false;
    for (size_t i = 0; i < sl; i++) {
        char c = s[n - sl + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != suf[i])
            return false;
    }
    return true;
}

int mail_domain_parse(const char *s, size_t n, uint8_t *peer, size_t cap)
{
    uint8_t raw[2 + MAIL_PEER_MAX];
    size_t sl = strlen(MAIL_DOMAIN_SUFFIX);

    if (n > 0 && s[n - 1] == '.') /* a fully qualified name */
        n--;
    if (!suffix_is(s, n, MAIL_DOMAIN_SUFFIX) || n < sl + 2 ||
        (s[0] != 'b' && s[0] != 'B'))
        return FASTN_ERR_BAD_PEER_ID;
    int k = base32_decode(s + 1, n - sl - 1, raw, sizeof(raw));
    if (k < 0)
        return k;
    if (k < 2 || raw[0] != CID_V1 || raw[1] != CODEC_LIBP2P_KEY ||
        !mail_peer_is_valid(raw + 2, (size_t)k - 2))
        return FASTN_ERR_BAD_PEER_ID;
    if ((size_t)k - 2 > cap)
        return FASTN_ERR_TOO_LARGE;
    memcpy(peer, raw + 2, (size_t)k - 2);
    return k - 2;
}

/* RFC 5322 3.2.3 atext */
static bool is_atext(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool is_dot_atom(const char *s, size_t n)
{
    if (n == 0 || n > MAIL_LOCAL_MAX || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' ? s[i + 1] == '.' : !is_atext(s[i]))
            return false;
    }
    return true;
}

int mail_addr_parse(const char *s, size_t n, struct mail_addr *out)
{
    const char *at = NULL;

    for (size_t i = n; i > 0; i--) {
        if (s[i - 1] == '@') {
            at = s + i - 1;
            break;
        }
    }
    if (!at || !is_dot_atom(s, (size_t)(at - s)))
        return FASTN_ERR_MALFORMED;
    int k = mail_domain_parse(at + 1, n - (size_t)(at - s) - 1, out->peer,
                              sizeof(out->peer));
    if (k < 0)
        return k;
    out->peer_len = (size_t)k;
    memcpy(out->local, s, (size_t)(at - s));
    out->local[at - s] = '\0';
    return 0;
}

int mail_addr_format(const char *local, const uint8_t *peer, size_t n,
                     char *out, size_t cap)
{
    size_t ll = strlen(local);

    if (!is_dot_atom(local, ll))
        return FASTN_ERR_MALFORMED;
    if (cap < ll + 2)
        return FASTN_ERR_TOO_LARGE;
    memcpy(out, local, ll);
    out[ll] = '@';
    int k = mail_domain_format(peer, n, out + ll + 1, cap - ll - 1);
    return k < 0 ? k : (int)ll + 1 + k;
}
