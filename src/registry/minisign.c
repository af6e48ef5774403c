/*
 * minisign public keys and .minisig files: parsing (sans-I/O, through a
 * checked cursor) and streaming verification. See minisign.h for the
 * format. The cryptography is in sign_crypto.c.
 */
#include "registry/minisign.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fastn/err.h"
#include "registry/sign_crypto.h"
#include "util/errbuf.h"

#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
#define ALG_LEN 2
/* "Ed"/"ED" || key id || signature */
#define SIG_BLOB_LEN (ALG_LEN + MINISIGN_KEYID_LEN + MINISIGN_SIG_LEN)
/* "Ed" || key id || public key */
#define PK_BLOB_LEN (ALG_LEN + MINISIGN_KEYID_LEN + MINISIGN_PK_LEN)

/* Borrows the next line (without its LF, or CRLF) of at most max bytes.
 * A last line without LF counts when allow_eof is set. Errors:
 * FASTN_ERR_TRUNCATED (no more lines), FASTN_ERR_TOO_LARGE. */
static int next_line(struct buf_reader *r, size_t max, bool allow_eof,
                     const char **line, size_t *len)
{
    size_t left = buf_reader_left(r), n;
    const uint8_t *cur = buf_reader_cur(r), *lf, *span;

    if (left == 0)
        return FASTN_ERR_TRUNCATED;
    lf = memchr(cur, '\n', left);
    if (!lf && !allow_eof)
        return FASTN_ERR_TRUNCATED;
    n = lf ? (size_t)(lf - cur) : left;
    if (n > max)
        return FASTN_ERR_TOO_LARGE;
    if (buf_get_span(r, n, &span) != 0 || (lf && buf_skip(r, 1) != 0))
        return FASTN_ERR_TRUNCATED;
    if (n > 0 && span[n - 1] == '\r')
        n--;
    *line = (const char *)span;
    *len = n;
    return 0;
}

static bool has_prefix(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

/* Decodes a base64 line into exactly want bytes. */
static bool b64_exact(const char *line, size_t len, uint8_t *out, size_t want)
{
    size_t got = 0;
    return registry_base64_decode(line, len, out, want, &got) == 0 &&
           got == want;
}

/* At the end of the input only empty lines' worth of nothing may remain:
 * we accept at most the final line's own LF, already consumed. */
static bool at_end(const struct buf_reader *r)
{
    return buf_reader_left(r) == 0;
}

static int pubkey_blob(const char *line, size_t len,
                       struct minisign_pubkey *out, char *err, size_t errlen)
{
    uint8_t blob[PK_BLOB_LEN];

    if (len != MINISIGN_PUBKEY_B64_LEN ||
        !b64_exact(line, len, blob, sizeof(blob)))
        return errbuf_say(err, errlen, FASTN_ERR_KEY_MALFORMED,
                          "the key is not %d characters of base64 (a minisign "
                          "public key starts with RW)",
                          MINISIGN_PUBKEY_B64_LEN);
    if (memcmp(blob, "Ed", ALG_LEN) != 0)
        return errbuf_say(err, errlen, FASTN_ERR_SIG_ALGORITHM,
                          "the key is not an Ed25519 minisign key");
    memcpy(out->key_id, blob + ALG_LEN, MINISIGN_KEYID_LEN);
    memcpy(out->pk, blob + ALG_LEN + MINISIGN_KEYID_LEN, MINISIGN_PK_LEN);
    return 0;
}

int minisign_pubkey_parse(const uint8_t *p, size_t len,
                          struct minisign_pubkey *out, char *err, size_t errlen)
{
    struct buf_reader r;
    const char *line;
    size_t n;
    int rc;

    buf_reader_init(&r, p, len);
    rc = next_line(&r, MINISIGN_COMMENT_MAX, true, &line, &n);
    if (rc == 0 && has_prefix(line, n, UNTRUSTED_PREFIX))
        rc = next_line(&r, MINISIGN_COMMENT_MAX, true, &line, &n);
    if (rc != 0)
        return errbuf_say(err, errlen, FASTN_ERR_KEY_MALFORMED,
                          rc == FASTN_ERR_TOO_LARGE ? "a line is too long"
                                                    : "no key line");
    if (!at_end(&r))
        return errbuf_say(err, errlen, FASTN_ERR_KEY_MALFORMED,
                          "bytes after the key line");
    return pubkey_blob(line, n, out, err, errlen);
}

void minisign_pubkey_base64(const struct minisign_pubkey *k,
                            char out[MINISIGN_PUBKEY_B64_LEN + 1])
{
    uint8_t blob[PK_BLOB_LEN];

    memcpy(blob, "Ed", ALG_LEN);
    memcpy(blob + ALG_LEN, k->key_id, MINISIGN_KEYID_LEN);
    memcpy(blob + ALG_LEN + MINISIGN_KEYID_LEN, k->pk, MINISIGN_PK_LEN);
    registry_base64_encode(blob, sizeof(blob), out);
}

/* The second line: algorithm, key id, signature. */
static int sig_blob(const char *line, size_t len, struct minisign_sig *s,
                    char *err, size_t errlen)
{
    uint8_t blob[SIG_BLOB_LEN];

    if (!b64_exact(line, len, blob, sizeof(blob)))
        return errbuf_say(err, errlen, FASTN_ERR_SIG_MALFORMED,
                          "line 2 is not a base64 minisign signature");
    if (memcmp(blob, "Ed", ALG_LEN) == 0)
        s->alg = MINISIGN_ALG_LEGACY;
    else if (memcmp(blob, "ED", ALG_LEN) == 0)
        s->alg = MINISIGN_ALG_PREHASHED;
    else
        return errbuf_say(
            err, errlen, FASTN_ERR_SIG_ALGORITHM,
            "signature algorithm \"%c%c\" is not minisign's Ed or ED",
            blob[0] >= 0x20 && blob[0] < 0x7f ? blob[0] : '?',
            blob[1] >= 0x20 && blob[1] < 0x7f ? blob[1] : '?');
    memcpy(s->key_id, blob + ALG_LEN, MINISIGN_KEYID_LEN);
    memcpy(s->sig, blob + ALG_LEN + MINISIGN_KEYID_LEN, MINISIGN_SIG_LEN);
    return 0;
}

/* The third line: the trusted comment, kept for display. */
static int sig_comment(const char *line, size_t len, struct minisign_sig *s,
                       char *err, size_t errlen)
{
    size_t skip = strlen(TRUSTED_PREFIX);

    if (!has_prefix(line, len, TRUSTED_PREFIX))
        return errbuf_say(err, errlen, FASTN_ERR_SIG_MALFORMED,
                          "line 3 does not start with \"" TRUSTED_PREFIX "\"");
    if (len - skip >= sizeof(s->trusted_comment))
        return errbuf_say(err, errlen, FASTN_ERR_SIG_MALFORMED,
                          "the trusted comment is too long");
    if (!minisign_text_is_printable(line + skip, len - skip))
        return errbuf_say(err, errlen, FASTN_ERR_SIG_MALFORMED,
                          "the trusted comment has unprintable characters");
    memcpy(s->trusted_comment, line + skip, len - skip);
    s->trusted_comment[len - skip] = 0;
    s->trusted_comment_len = len - skip;
    return 0;
}

int minisign_sig_parse(const uint8_t *p, size_t len, struct minisign_sig *out,
                       char *err, size_t errlen)
{
    static struct minisign_sig zero;
    struct minisign_sig s = zero;
    struct buf_reader r;
    const char *line[4];
    size_t n[4];
    /* the longest line of each: comment, signature, trusted, global */
    static const size_t max[4] = {
        MINISIGN_COMMENT_MAX, 100,
        sizeof(TRUSTED_PREFIX) - 1 + MINISIGN_TRUSTED_COMMENT_MAX, 88};
    int rc;

    buf_reader_init(&r, p, len);
    for (int i = 0; i < 4; i++) {
        rc = next_line(&r, max[i], i == 3, &line[i], &n[i]);
        if (rc != 0)
            return errbuf_say(err, errlen, FASTN_ERR_SIG_MALFORMED,
                              rc == FASTN_ERR_TOO_LARGE ? "line %d is too long"
                                                        : "line %d is missing",
                              i + 1);
    }
    if (!at_end(&r))
        return errbuf_say(err, errlen, FASTN_ERR_SIG_MALFORMED,
                          "bytes after the fourth line");
    if (!has_prefix(line[0], n[0], UNTRUSTED_PREFIX))
        return errbuf_say(err, errlen, FASTN_ERR_SIG_MALFORMED,
                          "line 1 does not start with \"" UNTRUSTED_PREFIX
                          "\"");
    if ((rc = sig_blob(line[1], n[1], &s, err, errlen)) != 0 ||
        (rc = sig_comment(line[2], n[2], &s, err, errlen)) != 0)
        return rc;
    if (!b64_exact(line[3], n[3], s.global_sig, MINISIGN_SIG_LEN))
        return errbuf_say(err, errlen, FASTN_ERR_SIG_MALFORMED,
                          "line 4 is not a base64 global signature");
    *out = s;
    return 0;
}

void minisign_key_id_hex(const uint8_t id[MINISIGN_KEYID_LEN],
                         char out[MINISIGN_KEYID_HEX_LEN + 1])
{
    uint64_t v = 0;

    for (int i = MINISIGN_KEYID_LEN - 1; i >= 0; i--)
        v = v << 8 | id[i];
    snprintf(out, MINISIGN_KEYID_HEX_LEN + 1, "%016" PRIX64, v);
}

int minisign_key_id_parse(const char *hex, uint8_t out[MINISIGN_KEYID_LEN])
{
    uint64_t v = 0;
    size_t n = strlen(hex);

    if (n == 0 || n > MINISIGN_KEYID_HEX_LEN)
        return FASTN_ERR_INVAL;
    for (size_t i = 0; i < n; i++) {
        char c = hex[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return FASTN_ERR_INVAL;
        v = v << 4 | d;
    }
    for (int i = 0; i < MINISIGN_KEYID_LEN; i++)
        out[i] = (uint8_t)(v >> (8 * i));
    return 0;
}

/* The length of the UTF-8 sequence starting with c and the smallest code
 * point it may encode (to refuse overlong forms), or 0 if c cannot start
 * one. */
static size_t utf8_seq(unsigned char c, uint32_t *min, uint32_t *cp)
{
    if (c >= 0xc2 && c <= 0xdf) {
        *min = 0x80, *cp = c & 0x1f;
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef) {
        *min = 0x800, *cp = c & 0x0f;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        *min = 0x10000, *cp = c & 0x07;
        return 4;
    }
    return 0;
}

bool minisign_text_is_printable(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned char c = p[i];
        uint32_t min, cp;
        size_t n;

        if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
            i++;
            continue;
        }
        if ((n = utf8_seq(c, &min, &cp)) == 0 || n > len - i)
            return false;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
            (cp >= 0x80 && cp <= 0x9f))
            return false;
        i += n;
    }
    return true;
}

/* --- verification --- */

int minisign_verifier_init(struct minisign_verifier *v,
                           const struct minisign_sig *sig, size_t max_legacy)
{
    int err;

    memset(v, 0, sizeof(*v));
    v->sig = *sig;
    buf_init(&v->msg, max_legacy);
    if (sig->alg == MINISIGN_ALG_PREHASHED &&
        (err = registry_hash_new(REGISTRY_HASH_BLAKE2B_512, &v->hash)) != 0)
        return err;
    return 0;
}

int minisign_verifier_update(struct minisign_verifier *v, const void *p,
                             size_t n)
{
    if (v->err)
        return v->err;
    v->len += n;
    if (v->hash) {
        registry_hash_update(v->hash, p, n);
        return 0;
    }
    /* legacy: Ed25519 hashes the message twice, so all of it is kept */
    v->err = buf_append(&v->msg, p, n);
    return v->err;
}

/* The global signature covers signature || trusted comment. */
static int verify_comment(const struct minisign_sig *s,
                          const struct minisign_pubkey *key)
{
    uint8_t msg[MINISIGN_SIG_LEN + MINISIGN_TRUSTED_COMMENT_MAX];

    memcpy(msg, s->sig, MINISIGN_SIG_LEN);
    memcpy(msg + MINISIGN_SIG_LEN, s->trusted_comment, s->trusted_comment_len);
    int err = registry_ed25519_verify(
        s->global_sig, msg, MINISIGN_SIG_LEN + s->trusted_comment_len, key->pk);
    return err == FASTN_ERR_SIGNATURE ? FASTN_ERR_SIG_COMMENT : err;
}

int minisign_verifier_final(struct minisign_verifier *v,
                            const struct minisign_pubkey *key)
{
    uint8_t digest[REGISTRY_BLAKE2B_LEN];
    int err;

    if (v->err)
        return v->err;
    if (memcmp(v->sig.key_id, key->key_id, MINISIGN_KEYID_LEN) != 0)
        return FASTN_ERR_SIG_KEY_MISMATCH;
    if (v->hash) {
        registry_hash_final(v->hash, digest);
        registry_hash_free(v->hash);
        v->hash = NULL;
        err = registry_ed25519_verify(v->sig.sig, digest, sizeof(digest),
                                      key->pk);
    } else {
        err = registry_ed25519_verify(v->sig.sig, v->msg.data, v->msg.len,
                                      key->pk);
    }
    if (err)
        return v->err = err;
    return v->err = verify_comment(&v->sig, key);
}

void minisign_verifier_cleanup(struct minisign_verifier *v)
{
    registry_hash_free(v->hash);
    v->hash = NULL;
    buf_cleanup(&v->msg);
}

int minisign_verify(const struct minisign_sig *sig,
                    const struct minisign_pubkey *key, const uint8_t *msg,
                    size_t len)
{
    struct minisign_verifier v;
    int err = minisign_verifier_init(&v, sig, len);

    if (!err)
        err = minisign_verifier_update(&v, msg, len);
    if (!err)
        err = minisign_verifier_final(&v, key);
    minisign_verifier_cleanup(&v);
    return err;
}
