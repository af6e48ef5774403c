/*
 * Verifying a plugin against the trusted keys, from a file or while it
 * arrives.
 *
 * Both paths check the same things, in one pass over the bytes: the
 * signature's key is trusted (keyring.h), the size and sha256 are the ones
 * announced (by a registry's index or a peer's offer), and the minisign
 * signature and its trusted comment verify. registry_download writes the
 * bytes to a new temporary file in a given directory as they come (from
 * libcurl, or a peer's stream) and keeps that file only if all of it
 * holds; the install path then renames it into plugins/, so nothing
 * unverified is ever in plugins/.
 */
#ifndef FASTN_REGISTRY_VERIFY_H
#define FASTN_REGISTRY_VERIFY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry/keyring.h"
#include "registry/minisign.h"
#include "registry/sign_crypto.h"
#include "util/buf.h"

/* What a verified plugin was signed with, for display and records. */
struct registry_verified {
    struct registry_key signer; /* the trusted key (name, source, id) */
    char key_id[MINISIGN_KEYID_HEX_LEN + 1];
    enum minisign_alg alg;
    char trusted_comment[MINISIGN_TRUSTED_COMMENT_MAX]; /* the publisher's */
    uint8_t sha256[REGISTRY_SHA256_LEN];
    uint64_t size;
};

/* Verifies the plugin file at path against its signature (sig_path, or
 * NULL for path + ".minisig") and the trusted keys kr, reading it in
 * chunks (a legacy signature holds it in memory). Files over max_size
 * bytes are refused. Errors: FASTN_ERR_NOT_FOUND (no such file or
 * signature: err says which), FASTN_ERR_SIG_MALFORMED,
 * FASTN_ERR_SIG_ALGORITHM, FASTN_ERR_UNTRUSTED (err names the key id),
 * FASTN_ERR_SIGNATURE, FASTN_ERR_SIG_COMMENT, FASTN_ERR_TOO_LARGE,
 * FASTN_ERR_IO, FASTN_ERR_NOMEM. */
int registry_verify_file(const struct registry_keyring *kr, const char *path,
                         const char *sig_path, uint64_t max_size,
                         struct registry_verified *out, char *err,
                         size_t errlen);

struct registry_download {
    int fd;
    char path[PATH_MAX];
    struct minisign_verifier ver;
    struct registry_hash *sha;
    struct registry_key key;
    struct buf minisig; /* the signature file's bytes, to keep beside */
    uint64_t size, got, max;
    uint8_t sha256[REGISTRY_SHA256_LEN];
    bool check_sha;
    int err; /* the first failure of a write */
};

/* Starts a download into a new file dir/.fetch-XXXXXX (mode 0600,
 * O_EXCL): parses minisig[0..minisig_len) and finds its key in kr first,
 * so an untrusted plugin is refused before any byte of it is fetched.
 * size is the announced size (at most max); sha256 (may be NULL) the
 * announced hash. Errors: the signature's (FASTN_ERR_SIG_MALFORMED,
 * _SIG_ALGORITHM, _UNTRUSTED), FASTN_ERR_FETCH_TOO_LARGE (size over max),
 * FASTN_ERR_IO, FASTN_ERR_NOMEM; on error nothing is left to clean up. */
int registry_download_open(struct registry_download *d, const char *dir,
                           const struct registry_keyring *kr,
                           const uint8_t *minisig, size_t minisig_len,
                           uint64_t size, const uint8_t *sha256, uint64_t max,
                           char *err, size_t errlen);
/* Writes the next bytes. Errors: FASTN_ERR_SIZE_MISMATCH (past the
 * announced size), FASTN_ERR_IO; the download must then be aborted. */
int registry_download_write(struct registry_download *d, const void *p,
                            size_t n);
/* Checks the size, the sha256 and the signature, and syncs the file. On
 * success the file at d->path is verified and closed (the caller renames
 * it into place or unlinks it; d->minisig holds the signature file, until
 * registry_download_cleanup), and *out describes it. On failure the file
 * is removed. Errors: FASTN_ERR_SIZE_MISMATCH, FASTN_ERR_SHA256_MISMATCH,
 * FASTN_ERR_SIGNATURE, FASTN_ERR_SIG_COMMENT, FASTN_ERR_IO, a write's. */
int registry_download_finish(struct registry_download *d,
                             struct registry_verified *out, char *err,
                             size_t errlen);
/* Frees what the download holds; the file stays if finish succeeded. */
void registry_download_cleanup(struct registry_download *d);
/* Stops a download at any point: removes its file and cleans up. */
void registry_download_abort(struct registry_download *d);

#endif
