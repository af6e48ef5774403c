/*
 * Plugin verification against the trusted keys: a file on disk, or a
 * download written to a temporary file as it arrives. See verify.h.
 */
#include "registry/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastn/err.h"
#include "util/file.h"
#include "util/errbuf.h"

#define CHUNK (64 * 1024)

/* Parses a signature file and finds its trusted key. */
static int signer_of(const struct registry_keyring *kr, const uint8_t *text,
                     size_t len, struct minisign_sig *sig,
                     struct registry_key *key, char *err, size_t errlen)
{
    const struct registry_key *k;
    char why[160];
    int rc = minisign_sig_parse(text, len, sig, why, sizeof(why));

    if (rc)
        return errbuf_say(err, errlen, rc, "signature: %s", why);
    if ((rc = registry_keyring_signer(kr, sig, &k, err, errlen)) != 0)
        return rc;
    *key = *k;
    return 0;
}

static void fill_verified(struct registry_verified *out,
                          const struct minisign_sig *sig,
                          const struct registry_key *key,
                          const uint8_t sha[REGISTRY_SHA256_LEN], uint64_t size)
{
    out->signer = *key;
    minisign_key_id_hex(sig->key_id, out->key_id);
    out->alg = sig->alg;
    memcpy(out->trusted_comment, sig->trusted_comment,
           sig->trusted_comment_len + 1);
    memcpy(out->sha256, sha, REGISTRY_SHA256_LEN);
    out->size = size;
}

static int final_error(int rc, const struct registry_key *key, char *err,
                       size_t errlen)
{
    if (rc == FASTN_ERR_SIGNATURE)
        return errbuf_say(
            err, errlen, rc,
            "the signature by \"%s\" does not match the file: it was "
            "altered or damaged after signing",
            key->name);
    if (rc == FASTN_ERR_SIG_COMMENT)
        return errbuf_say(err, errlen, rc,
                          "the trusted comment of the signature by \"%s\" was "
                          "altered after signing",
                          key->name);
    return errbuf_say(err, errlen, rc, "%s", fastn_strerror(rc));
}

/* Streams fd through the verifier and the sha256. */
static int verify_fd(int fd, uint64_t size, struct minisign_verifier *v,
                     struct registry_hash *sha)
{
    uint8_t *chunk = malloc(CHUNK);
    uint64_t got = 0;
    int rc = chunk ? 0 : FASTN_ERR_NOMEM;

    while (!rc) {
        ssize_t r = read(fd, chunk, CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = FASTN_ERR_IO;
        if (r <= 0)
            break;
        got += (uint64_t)r;
        if (got > size) /* the file grew while it was read */
            rc = FASTN_ERR_TOO_LARGE;
        else
            rc = minisign_verifier_update(v, chunk, (size_t)r);
        registry_hash_update(sha, chunk, (size_t)r);
    }
    free(chunk);
    return rc;
}

static int open_plugin(const char *path, uint64_t max, int *fd, uint64_t *size,
                       char *err, size_t errlen)
{
    struct stat st;

    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return errbuf_say(err, errlen,
                          errno == ENOENT ? FASTN_ERR_NOT_FOUND : FASTN_ERR_IO,
                          "%s: %s", path, strerror(errno));
    if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size > max) {
        int rc = S_ISREG(st.st_mode) ? FASTN_ERR_TOO_LARGE : FASTN_ERR_IO;
        close(*fd);
        *fd = -1;
        return errbuf_say(err, errlen, rc,
                          "%s: not a regular file of at most %llu bytes", path,
                          (unsigned long long)max);
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

static int read_sig(const char *path, const char *sig_path, uint8_t **text,
                    size_t *len, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    int rc;

    if (!sig_path) {
        if (snprintf(buf, sizeof(buf), "%s.minisig", path) >= (int)sizeof(buf))
            return FASTN_ERR_TOO_LARGE;
        sig_path = buf;
    }
    rc = file_read_all(sig_path, MINISIGN_SIGFILE_MAX, text, len);
    if (rc == FASTN_ERR_NOT_FOUND)
        return errbuf_say(
            err, errlen, rc,
            "%s has no signature (%s): a plugin must be signed by a "
            "trusted publisher",
            path, sig_path);
    if (rc == FASTN_ERR_TOO_LARGE)
        rc = FASTN_ERR_SIG_MALFORMED;
    if (rc)
        return errbuf_say(err, errlen, rc, "%s: %s", sig_path,
                          fastn_strerror(rc));
    return 0;
}

int registry_verify_file(const struct registry_keyring *kr, const char *path,
                         const char *sig_path, uint64_t max_size,
                         struct registry_verified *out, char *err,
                         size_t errlen)
{
    struct minisign_sig sig;
    struct minisign_verifier v;
    struct registry_hash *sha = NULL;
    struct registry_key key;
    uint8_t *text = NULL, digest[REGISTRY_SHA256_LEN];
    size_t len = 0;
    uint64_t size = 0;
    int fd = -1, rc;

    rc = read_sig(path, sig_path, &text, &len, err, errlen);
    if (!rc)
        rc = signer_of(kr, text, len, &sig, &key, err, errlen);
    free(text);
    if (!rc)
        rc = open_plugin(path, max_size, &fd, &size, err, errlen);
    if (rc)
        return rc;
    if ((rc = minisign_verifier_init(&v, &sig, size)) == 0 &&
        (rc = registry_hash_new(REGISTRY_HASH_SHA256, &sha)) == 0 &&
        (rc = verify_fd(fd, size, &v, sha)) == 0 &&
        (rc = minisign_verifier_final(&v, &key.pub)) == 0) {
        registry_hash_final(sha, digest);
        fill_verified(out, &sig, &key, digest, v.len);
    } else {
        final_error(rc, &key, err, errlen);
    }
    minisign_verifier_cleanup(&v);
    registry_hash_free(sha);
    close(fd);
    return rc;
}

int registry_verify_buf(const struct registry_keyring *kr, const uint8_t *p,
                        size_t len, const uint8_t *minisig, size_t minisig_len,
                        struct registry_verified *out, char *err, size_t errlen)
{
    struct minisign_sig sig;
    struct registry_key key;
    uint8_t digest[REGISTRY_SHA256_LEN];
    int rc = signer_of(kr, minisig, minisig_len, &sig, &key, err, errlen);

    if (rc)
        return rc;
    if ((rc = minisign_verify(&sig, &key.pub, p, len)) != 0)
        return final_error(rc, &key, err, errlen);
    if ((rc = registry_sha256(p, len, digest)) != 0)
        return errbuf_say(err, errlen, rc, "%s", fastn_strerror(rc));
    fill_verified(out, &sig, &key, digest, len);
    return 0;
}

void registry_refusal(char *out, size_t n, int err, const char *what,
                      const struct registry_keyring *kr, const uint8_t *key_id,
                      const char *detail)
{
    const struct registry_key *k =
        kr && key_id ? registry_keyring_find_id(kr, key_id) : NULL;
    char id[MINISIGN_KEYID_HEX_LEN + 1] = "";

    if (key_id)
        minisign_key_id_hex(key_id, id);
    if (err == FASTN_ERR_UNTRUSTED && key_id)
        snprintf(out, n,
                 "%s, signed by key %s: %s (their minisign .pub has key id "
                 "%s); nothing was installed",
                 what, id, fastn_strerror(err), id);
    else if ((err == FASTN_ERR_SIGNATURE || err == FASTN_ERR_SIG_COMMENT) && k)
        snprintf(out, n, "%s, signed by %s (key %s): %s; nothing was installed",
                 what, k->name, id, fastn_strerror(err));
    else if (detail && detail[0] && err != FASTN_ERR_SHA256_MISMATCH)
        snprintf(out, n, "%s: %s: %s; nothing was installed", what,
                 fastn_strerror(err), detail);
    else
        snprintf(out, n, "%s: %s", what, fastn_strerror(err));
}

/* --- downloads --- */

int registry_download_open(struct registry_download *d, const char *dir,
                           const struct registry_keyring *kr,
                           const uint8_t *minisig, size_t minisig_len,
                           uint64_t size, const uint8_t *sha256, uint64_t max,
                           char *err, size_t errlen)
{
    struct minisign_sig sig;
    int rc;

    memset(d, 0, sizeof(*d));
    d->fd = -1;
    buf_init(&d->minisig, MINISIGN_SIGFILE_MAX);
    d->size = size;
    d->max = max;
    if (size > max)
        return errbuf_say(
            err, errlen, FASTN_ERR_FETCH_TOO_LARGE,
            "the plugin is %llu bytes, more than the %llu allowed",
            (unsigned long long)size, (unsigned long long)max);
    if ((rc = signer_of(kr, minisig, minisig_len, &sig, &d->key, err,
                        errlen)) != 0)
        return rc;
    if (sha256) {
        memcpy(d->sha256, sha256, REGISTRY_SHA256_LEN);
        d->check_sha = true;
    }
    if ((rc = buf_append(&d->minisig, minisig, minisig_len)) != 0 ||
        (rc = minisign_verifier_init(&d->ver, &sig, size)) != 0 ||
        (rc = registry_hash_new(REGISTRY_HASH_SHA256, &d->sha)) != 0)
        goto out_cleanup;
    if (snprintf(d->path, sizeof(d->path), "%s/.fetch-XXXXXX", dir) >=
        (int)sizeof(d->path)) {
        rc = FASTN_ERR_TOO_LARGE;
        goto out_cleanup;
    }
    d->fd = mkostemp(d->path, O_CLOEXEC);
    if (d->fd < 0) {
        rc = errbuf_say(err, errlen, FASTN_ERR_IO,
                        "cannot create a file in %s: %s", dir, strerror(errno));
        goto out_cleanup;
    }
    return 0;
out_cleanup:
    registry_download_cleanup(d);
    return rc;
}

int registry_download_write(struct registry_download *d, const void *p,
                            size_t n)
{
    if (d->err)
        return d->err;
    if (n > d->size - d->got)
        return d->err = FASTN_ERR_SIZE_MISMATCH;
    if (fd_write_all(d->fd, p, n) != 0)
        return d->err = FASTN_ERR_IO;
    d->got += n;
    registry_hash_update(d->sha, p, n);
    return d->err = minisign_verifier_update(&d->ver, p, n);
}

static int download_check(struct registry_download *d, char *err, size_t errlen)
{
    uint8_t digest[REGISTRY_SHA256_LEN];
    int rc;

    if (d->err == FASTN_ERR_SIZE_MISMATCH || (!d->err && d->got != d->size))
        return errbuf_say(err, errlen, FASTN_ERR_SIZE_MISMATCH,
                          "%s %llu bytes where %llu were announced",
                          d->err ? "got more than" : "got",
                          (unsigned long long)d->got,
                          (unsigned long long)d->size);
    if (d->err)
        return errbuf_say(err, errlen, d->err, "%s", fastn_strerror(d->err));
    registry_hash_final(d->sha, digest);
    if (d->check_sha && memcmp(digest, d->sha256, sizeof(digest)) != 0)
        return errbuf_say(err, errlen, FASTN_ERR_SHA256_MISMATCH,
                          "the file's sha256 is not the one announced: it was "
                          "altered, or the registry's index is out of date");
    memcpy(d->sha256, digest, sizeof(digest));
    if ((rc = minisign_verifier_final(&d->ver, &d->key.pub)) != 0)
        return final_error(rc, &d->key, err, errlen);
    if (fsync(d->fd) != 0)
        return errbuf_say(err, errlen, FASTN_ERR_IO, "%s: %s", d->path,
                          strerror(errno));
    return 0;
}

int registry_download_finish(struct registry_download *d,
                             struct registry_verified *out, char *err,
                             size_t errlen)
{
    int rc = download_check(d, err, errlen);

    if (!rc)
        fill_verified(out, &d->ver.sig, &d->key, d->sha256, d->got);
    if (close(d->fd) != 0 && !rc)
        rc = errbuf_say(err, errlen, FASTN_ERR_IO, "%s: %s", d->path,
                        strerror(errno));
    d->fd = -1;
    if (rc)
        unlink(d->path);
    return rc;
}

void registry_download_cleanup(struct registry_download *d)
{
    minisign_verifier_cleanup(&d->ver);
    registry_hash_free(d->sha);
    d->sha = NULL;
    buf_cleanup(&d->minisig);
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

void registry_download_abort(struct registry_download *d)
{
    if (d->fd >= 0 || d->path[0])
        unlink(d->path);
    registry_download_cleanup(d);
}
