/*
 * CIDs (multiformats/cid): binary and text forms, the bitswap prefix, and
 * checking a block against its CID. The multibases are written here (the
 * core links nothing but libc): base58btc for CIDv0, base32 for CIDv1 as
 * kubo and helia print them, base16 for reading. Every decoder refuses
 * what is not canonical: non-minimal varints, stray bits, unknown
 * characters, a multibase-wrapped CIDv0, versions other than 0 and 1.
 */
#include <string.h>

#include "files_int.h"

static const char b58_alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char b32_lower[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b32_upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* --- binary ----------------------------------------------------------- */

static bool is_v0_shape(const struct files_cid *c)
{
    return c->codec == FILES_CODEC_DAG_PB && c->mh_code == FILES_MH_SHA2_256 &&
           c->digest_len == FILES_SHA256_LEN;
}

int files_rd_cid(struct files_rd *r, struct files_cid *out)
{
    size_t start = r->off;
    uint64_t version, codec, code, len;
    const uint8_t *d;

    /* CIDv0: a bare sha2-256 multihash, 0x12 0x20 and 32 bytes */
    if (files_rd_left(r) >= 2 && r->p[r->off] == FILES_MH_SHA2_256 &&
        r->p[r->off + 1] == FILES_SHA256_LEN) {
        if (files_rd_span(r, 2 + FILES_SHA256_LEN, &d))
            return FASTN_ERR_FILES_BAD_CID;
        out->version = 0;
        out->codec = FILES_CODEC_DAG_PB;
        out->mh_code = FILES_MH_SHA2_256;
        out->digest_len = FILES_SHA256_LEN;
        memcpy(out->digest, d + 2, FILES_SHA256_LEN);
        return 0;
    }
    if (files_rd_mfvarint(r, &version) || version != 1 ||
        files_rd_mfvarint(r, &codec) || files_rd_mfvarint(r, &code) ||
        files_rd_mfvarint(r, &len) || len > FILES_DIGEST_MAX ||
        files_rd_span(r, (size_t)len, &d)) {
        r->off = start;
        return FASTN_ERR_FILES_BAD_CID;
    }
    out->version = 1;
    out->codec = codec;
    out->mh_code = code;
    out->digest_len = (size_t)len;
    memcpy(out->digest, d, (size_t)len);
    return 0;
}

int files_cid_decode(const uint8_t *p, size_t n, struct files_cid *out)
{
    struct files_rd r;
    struct files_cid c;

    files_rd_init(&r, p, n);
    if (files_rd_cid(&r, &c) || files_rd_left(&r) != 0)
        return FASTN_ERR_FILES_BAD_CID;
    *out = c;
    return 0;
}

size_t files_cid_encoded_len(const struct files_cid *c)
{
    if (c->version == 0)
        return 2 + c->digest_len;
    return files_uvarint_len(1) + files_uvarint_len(c->codec) +
           files_uvarint_len(c->mh_code) + files_uvarint_len(c->digest_len) +
           c->digest_len;
}

int files_cid_encode(const struct files_cid *c, uint8_t *out, size_t cap)
{
    struct files_wr w;

    if ((c->version == 0 && !is_v0_shape(c)) || c->version > 1 ||
        c->digest_len > FILES_DIGEST_MAX)
        return FASTN_ERR_INVAL;
    files_wr_fixed(&w, out, cap);
    if (c->version == 1) {
        files_wr_varint(&w, 1);
        files_wr_varint(&w, c->codec);
    }
    files_wr_varint(&w, c->mh_code);
    files_wr_varint(&w, c->digest_len);
    files_wr_bytes(&w, c->digest, c->digest_len);
    return w.err ? w.err : (int)w.len;
}

bool files_cid_eq(const struct files_cid *a, const struct files_cid *b)
{
    return a->version == b->version && a->codec == b->codec &&
           a->mh_code == b->mh_code && a->digest_len == b->digest_len &&
           memcmp(a->digest, b->digest, a->digest_len) == 0;
}

int files_cid_of(unsigned version, uint64_t codec, const void *block, size_t n,
                 struct files_cid *out)
{
    if (version > 1 || (version == 0 && codec != FILES_CODEC_DAG_PB))
        return FASTN_ERR_INVAL;
    out->version = version;
    out->codec = codec;
    out->mh_code = FILES_MH_SHA2_256;
    out->digest_len = FILES_SHA256_LEN;
    files_sha256(block, n, out->digest);
    return 0;
}

int files_cid_verify(const struct files_cid *c, const void *block, size_t n)
{
    uint8_t d[FILES_SHA256_LEN];

    switch (c->mh_code) {
    case FILES_MH_SHA2_256:
        if (c->digest_len != FILES_SHA256_LEN)
            return FASTN_ERR_FILES_CODEC;
        files_sha256(block, n, d);
        return memcmp(d, c->digest, sizeof(d)) == 0
                   ? 0
                   : FASTN_ERR_FILES_HASH_MISMATCH;
    case FILES_MH_IDENTITY:
        return n == c->digest_len && (n == 0 || !memcmp(block, c->digest, n))
                   ? 0
                   : FASTN_ERR_FILES_HASH_MISMATCH;
    default:
        return FASTN_ERR_FILES_CODEC;
    }
}

/* --- the bitswap prefix ---------------------------------------------- */

int files_cid_prefix_encode(const struct files_cid *c, uint8_t *out, size_t cap)
{
    struct files_wr w;

    files_wr_fixed(&w, out, cap);
    files_wr_varint(&w, c->version);
    files_wr_varint(&w, c->codec);
    files_wr_varint(&w, c->mh_code);
    files_wr_varint(&w, c->digest_len);
    return w.err ? w.err : (int)w.len;
}

int files_cid_prefix_decode(const uint8_t *prefix, size_t n, const void *data,
                            size_t data_len, struct files_cid *out)
{
    int r = files_cid_prefix_read(prefix, n, data, data_len, out);
    if (r == 1)
        files_sha256(data, data_len, out->digest);
    return r < 0 ? r : 0;
}

int files_cid_prefix_read(const uint8_t *prefix, size_t n, const void *data,
                          size_t data_len, struct files_cid *out)
{
    struct files_rd r;
    uint64_t version, codec, code, len;

    files_rd_init(&r, prefix, n);
    if (files_rd_mfvarint(&r, &version) || files_rd_mfvarint(&r, &codec) ||
        files_rd_mfvarint(&r, &code) || files_rd_mfvarint(&r, &len) ||
        files_rd_left(&r) != 0 || version > 1)
        return FASTN_ERR_FILES_BAD_CID;
    if (code == FILES_MH_SHA2_256) {
        if (len != FILES_SHA256_LEN)
            return FASTN_ERR_FILES_CODEC;
        if (version == 0 && codec != FILES_CODEC_DAG_PB)
            return FASTN_ERR_FILES_BAD_CID;
        out->version = (unsigned)version;
        out->codec = codec;
        out->mh_code = FILES_MH_SHA2_256;
        out->digest_len = FILES_SHA256_LEN;
        return 1; /* the digest is the caller's to compute */
    }
    if (code == FILES_MH_IDENTITY && version == 1) {
        if (data_len != len || len > FILES_DIGEST_MAX)
            return data_len > FILES_DIGEST_MAX ? FASTN_ERR_TOO_LARGE
                                               : FASTN_ERR_FILES_BAD_CID;
        out->version = 1;
        out->codec = codec;
        out->mh_code = code;
        out->digest_len = data_len;
        memcpy(out->digest, data, data_len);
        return 0;
    }
    return FASTN_ERR_FILES_CODEC;
}

/* --- base58btc --------------------------------------------------------- */

/* Encodes n (<= FILES_CID_BYTES_MAX) bytes; returns the length or
 * FASTN_ERR_TOO_LARGE. Quadratic, on at most a few hundred bytes. */
static int b58_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
    uint8_t digits[FILES_CID_BYTES_MAX * 138 / 100 + 1];
    size_t nd = 0, zeros = 0, k = 0;

    if (n > FILES_CID_BYTES_MAX)
        return FASTN_ERR_TOO_LARGE;
    while (zeros < n && in[zeros] == 0)
        zeros++;
    for (size_t i = zeros; i < n; i++) {
        unsigned carry = in[i];
        for (size_t j = 0; j < nd; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            digits[nd++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    if (zeros + nd + 1 > cap)
        return FASTN_ERR_TOO_LARGE;
    for (size_t i = 0; i < zeros; i++)
        out[k++] = '1';
    while (nd)
        out[k++] = b58_alphabet[digits[--nd]];
    out[k] = '\0';
    return (int)k;
}

static int b58_digit(char c)
{
    const char *p = c ? memchr(b58_alphabet, c, 58) : NULL;
    return p ? (int)(p - b58_alphabet) : -1;
}

/* Decodes into out (cap bytes); returns the length or -1. */
static int b58_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
    uint8_t bytes[FILES_CID_BYTES_MAX];
    size_t nb = 0, zeros = 0;

    while (zeros < n && s[zeros] == '1')
        zeros++;
    for (size_t i = zeros; i < n; i++) {
        int d = b58_digit(s[i]);
        if (d < 0)
            return -1;
        unsigned carry = (unsigned)d;
        for (size_t j = 0; j < nb; j++) {
            carry += (unsigned)bytes[j] * 58;
            bytes[j] = (uint8_t)carry;
            carry >>= 8;
        }
        for (; carry; carry >>= 8) {
            if (nb == sizeof(bytes))
                return -1;
            bytes[nb++] = (uint8_t)carry;
        }
    }
    if (zeros + nb > cap)
        return -1;
    memset(out, 0, zeros);
    for (size_t i = 0; i < nb; i++)
        out[zeros + i] = bytes[nb - 1 - i];
    return (int)(zeros + nb);
}

/* --- base32 (RFC 4648, no padding) and base16 -------------------------- */

static size_t b32_encode(const uint8_t *in, size_t n, char *out)
{
    size_t k = 0;
    unsigned acc = 0, bits = 0;

    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[k++] = b32_lower[(acc >> bits) & 31];
        }
    }
    if (bits)
        out[k++] = b32_lower[(acc << (5 - bits)) & 31];
    return k;
}

static int b32_decode(const char *s, size_t n, const char *alphabet,
                      uint8_t *out, size_t cap)
{
    size_t k = 0;
    unsigned acc = 0, bits = 0;

    for (size_t i = 0; i < n; i++) {
        const char *p = s[i] ? memchr(alphabet, s[i], 32) : NULL;
        if (!p)
            return -1;
        acc = ((acc << 5) | (unsigned)(p - alphabet)) & 0xfff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (k == cap)
                return -1;
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    /* what is left must be fewer than 5 bits, all zero */
    if (bits >= 5 || (acc & ((1u << bits) - 1)))
        return -1;
    return (int)k;
}

static int hex_value(char c, bool upper)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (!upper && c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (upper && c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int b16_decode(const char *s, size_t n, bool upper, uint8_t *out,
                      size_t cap)
{
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_value(s[i], upper), lo = hex_value(s[i + 1], upper);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(n / 2);
}

/* --- text ----------------------------------------------------------- */

int files_cid_parse(const char *s, size_t n, struct files_cid *out)
{
    uint8_t bin[FILES_CID_BYTES_MAX];
    struct files_cid c;
    int len;

    if (n < 2 || n >= FILES_CID_STR_MAX)
        return FASTN_ERR_FILES_BAD_CID;
    if (n == FILES_CIDV0_STR_LEN && s[0] == 'Q' && s[1] == 'm') {
        len = b58_decode(s, n, bin, sizeof(bin));
        if (len < 0 || files_cid_decode(bin, (size_t)len, &c) || c.version != 0)
            return FASTN_ERR_FILES_BAD_CID;
        *out = c;
        return 0;
    }
    switch (s[0]) {
    case 'b':
        len = b32_decode(s + 1, n - 1, b32_lower, bin, sizeof(bin));
        break;
    case 'B':
        len = b32_decode(s + 1, n - 1, b32_upper, bin, sizeof(bin));
        break;
    case 'z':
        len = b58_decode(s + 1, n - 1, bin, sizeof(bin));
        break;
    case 'f':
    case 'F':
        len = b16_decode(s + 1, n - 1, s[0] == 'F', bin, sizeof(bin));
        break;
    default:
        return FASTN_ERR_FILES_BAD_CID;
    }
    /* a CIDv0 is never written in a multibase */
    if (len < 0 || files_cid_decode(bin, (size_t)len, &c) || c.version != 1)
        return FASTN_ERR_FILES_BAD_CID;
    *out = c;
    return 0;
}

int files_cid_format(const struct files_cid *c, char *out, size_t cap)
{
    uint8_t bin[FILES_CID_BYTES_MAX];
    int len = files_cid_encode(c, bin, sizeof(bin));

    if (len < 0)
        return len;
    if (c->version == 0)
        return b58_encode(bin, (size_t)len, out, cap);
    if (cap < 2 + ((size_t)len * 8 + 4) / 5)
        return FASTN_ERR_TOO_LARGE;
    out[0] = 'b';
    size_t k = 1 + b32_encode(bin, (size_t)len, out + 1);
    out[k] = '\0';
    return (int)k;
}
