/*
 * minisign signatures and public keys (the format of jedisct1/minisign,
 * read from its documentation and source; nothing of it is copied here).
 *
 * A public key is 42 bytes in base64: the algorithm "Ed", an 8-byte key
 * id and a 32-byte Ed25519 key; its .pub file is an "untrusted comment:"
 * line and that base64 line. A .minisig file is four lines:
 *
 *   untrusted comment: <anything>
 *   base64( "Ed" or "ED" || key id (8) || signature (64) )
 *   trusted comment: <text>
 *   base64( global signature (64) )
 *
 * "Ed" (legacy) signs the file itself; "ED" (prehashed, minisign's
 * default since 0.8) signs the file's BLAKE2b-512 hash. The global
 * signature signs signature || trusted comment, so the comment (shown to
 * the user as the publisher's note) cannot be altered either.
 *
 * Parsing is sans-I/O over checked buffers (util/buf.h) and bounded; the
 * verifier is streaming, so a prehashed signature over a 16 MiB plugin is
 * checked while the plugin goes to disk, never held in memory (a legacy
 * one has to be held: Ed25519 reads the message twice).
 */
#ifndef FASTN_REGISTRY_MINISIGN_H
#define FASTN_REGISTRY_MINISIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct registry_hash;

#define MINISIGN_KEYID_LEN 8
#define MINISIGN_PK_LEN 32
#define MINISIGN_SIG_LEN 64
/* The key id as minisign prints it: 16 upper-case hex digits. */
#define MINISIGN_KEYID_HEX_LEN 16
/* The base64 line of a public key (42 bytes), without a NUL. */
#define MINISIGN_PUBKEY_B64_LEN 56
/* Longest untrusted comment line and trusted comment text minisign
 * writes or reads (its COMMENTMAXBYTES and TRUSTEDCOMMENTMAXBYTES). */
#define MINISIGN_COMMENT_MAX 1024
#define MINISIGN_TRUSTED_COMMENT_MAX 8192
/* Largest .minisig file accepted: the four lines at their maxima. */
#define MINISIGN_SIGFILE_MAX (16 * 1024)
/* Largest .pub file accepted (a comment line and the key). */
#define MINISIGN_PUBFILE_MAX (MINISIGN_COMMENT_MAX + 128)

enum minisign_alg {
    MINISIGN_ALG_LEGACY,    /* "Ed": Ed25519 over the file */
    MINISIGN_ALG_PREHASHED, /* "ED": Ed25519 over BLAKE2b-512(file) */
};

struct minisign_pubkey {
    uint8_t key_id[MINISIGN_KEYID_LEN];
    uint8_t pk[MINISIGN_PK_LEN];
};

struct minisign_sig {
    enum minisign_alg alg;
    uint8_t key_id[MINISIGN_KEYID_LEN];
    uint8_t sig[MINISIGN_SIG_LEN];
    uint8_t global_sig[MINISIGN_SIG_LEN];
    size_t trusted_comment_len;
    /* NUL-terminated; valid UTF-8 without control characters but tab */
    char trusted_comment[MINISIGN_TRUSTED_COMMENT_MAX];
};

/* Parses a public key: a .pub file ("untrusted comment: ..." line, then
 * the base64 line) or the bare base64 line, either with or without a
 * final newline (LF or CRLF). Errors: FASTN_ERR_KEY_MALFORMED (anything
 * else, said in err), FASTN_ERR_SIG_ALGORITHM (a key for another
 * algorithm than Ed25519). err (errlen bytes, may be 0) is set on
 * failure; *out only on success. */
int minisign_pubkey_parse(const uint8_t *p, size_t len,
                          struct minisign_pubkey *out, char *err,
                          size_t errlen);

/* The key's base64 line (MINISIGN_PUBKEY_B64_LEN characters and a NUL). */
void minisign_pubkey_base64(const struct minisign_pubkey *k,
                            char out[MINISIGN_PUBKEY_B64_LEN + 1]);

/* Parses a .minisig file. Errors: FASTN_ERR_SIG_MALFORMED (missing or
 * overlong lines, a wrong prefix, bad base64, an unprintable trusted
 * comment, bytes after the fourth line; said in err),
 * FASTN_ERR_SIG_ALGORITHM (neither "Ed" nor "ED"). *out only on success. */
int minisign_sig_parse(const uint8_t *p, size_t len, struct minisign_sig *out,
                       char *err, size_t errlen);

/* Writes the key id as minisign prints it ("%016" PRIX64 of the 8 bytes
 * read little-endian), NUL-terminated. */
void minisign_key_id_hex(const uint8_t id[MINISIGN_KEYID_LEN],
                         char out[MINISIGN_KEYID_HEX_LEN + 1]);
/* Parses 1 to 16 hex digits, either case (minisign 0.11, Debian 12's,
 * prints the id without leading zeros; later versions with them).
 * Errors: FASTN_ERR_INVAL. */
int minisign_key_id_parse(const char *hex, uint8_t out[MINISIGN_KEYID_LEN]);

/* Streaming verification of one file against one signature:
 *   minisign_verifier_init(&v, &sig, max);
 *   minisign_verifier_update(&v, chunk, n) ... for every chunk, in order;
 *   err = minisign_verifier_final(&v, &key);
 *   minisign_verifier_cleanup(&v);
 * A prehashed signature keeps only the hash state; a legacy one keeps the
 * file, up to max_legacy bytes. */
struct minisign_verifier {
    struct minisign_sig sig;
    struct registry_hash *hash; /* prehashed */
    struct buf msg;             /* legacy */
    uint64_t len;
    int err; /* the first update's failure, reported by final */
};

/* Errors: FASTN_ERR_NOMEM, FASTN_ERR_CRYPTO. */
int minisign_verifier_init(struct minisign_verifier *v,
                           const struct minisign_sig *sig, size_t max_legacy);
/* Feeds the next bytes of the file. Errors: FASTN_ERR_TOO_LARGE (a legacy
 * signature over more than max_legacy bytes; also returned by final). */
int minisign_verifier_update(struct minisign_verifier *v, const void *p,
                             size_t n);
/* Checks, in this order: the signature's key id is key's
 * (FASTN_ERR_SIG_KEY_MISMATCH), the signature over the file
 * (FASTN_ERR_SIGNATURE), the global signature over the trusted comment
 * (FASTN_ERR_SIG_COMMENT). Also FASTN_ERR_TOO_LARGE from update,
 * FASTN_ERR_CRYPTO. Call it once. */
int minisign_verifier_final(struct minisign_verifier *v,
                            const struct minisign_pubkey *key);
void minisign_verifier_cleanup(struct minisign_verifier *v);

/* The whole verification of msg[0..len) in one call; errors as final's. */
int minisign_verify(const struct minisign_sig *sig,
                    const struct minisign_pubkey *key, const uint8_t *msg,
                    size_t len);

/* True for valid UTF-8 without C0/C1 control characters or DEL, tab
 * allowed (what a trusted comment may hold, as minisign checks). */
bool minisign_text_is_printable(const char *s, size_t len);

#endif
