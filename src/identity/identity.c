/*
 * Ed25519 identities: generation, libp2p PrivateKey protobufs (64-byte and
 * legacy 96-byte forms), key files (0600, written atomically, a new key
 * never over anything already there), signatures.
 * PeerIDs and the key protobuf reader are in util/peer_id.c.
 */
#include "identity/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastn/err.h"
#include "identity/signer.h"
#include "util/file.h"

enum { KEY_TYPE_ED25519 = 1 };
#define KEYFILE_MAX 4096

int identity_global_init(void)
{
    return sodium_init() < 0 ? FASTN_ERR_CRYPTO : 0;
}

static void identity_finish(struct identity *out)
{
    memcpy(out->pubkey, out->seckey + 32, 32);
    peer_id_from_pubkey(out->pubkey, &out->id);
    out->signer = NULL;
}

int identity_generate(struct identity *out)
{
    uint8_t pk[32];
    if (crypto_sign_keypair(pk, out->seckey) != 0)
        return FASTN_ERR_CRYPTO;
    identity_finish(out);
    return 0;
}

int identity_from_seed(struct identity *out, const uint8_t seed[32])
{
    uint8_t pk[32];
    if (crypto_sign_seed_keypair(pk, out->seckey, seed) != 0)
        return FASTN_ERR_CRYPTO;
    identity_finish(out);
    return 0;
}

void identity_cleanup(struct identity *id)
{
    sodium_memzero(id->seckey, sizeof(id->seckey));
}

int identity_encode_private(const struct identity *id, uint8_t *out,
                            size_t outlen)
{
    if (outlen < 4 + IDENTITY_SECKEY_LEN)
        return FASTN_ERR_TOO_LARGE;
    out[0] = 0x08;
    out[1] = KEY_TYPE_ED25519;
    out[2] = 0x12;
    out[3] = IDENTITY_SECKEY_LEN;
    memcpy(out + 4, id->seckey, IDENTITY_SECKEY_LEN);
    return 4 + IDENTITY_SECKEY_LEN;
}

int identity_decode_private(const uint8_t *p, size_t n, struct identity *out)
{
    uint64_t type = 0;
    const uint8_t *data = NULL;
    size_t dlen = 0;
    struct identity tmp;
    int err = key_proto_read(p, n, &type, &data, &dlen);

    if (err)
        return err;
    if (type != KEY_TYPE_ED25519)
        return FASTN_ERR_UNSUPPORTED;
    if (dlen != 64 && dlen != 96)
        return FASTN_ERR_BAD_KEY;
    /* The legacy 96-byte form repeats the public key at the end. */
    if (dlen == 96 && memcmp(data + 32, data + 64, 32) != 0)
        return FASTN_ERR_BAD_KEY;
    if (identity_from_seed(&tmp, data))
        return FASTN_ERR_CRYPTO;
    if (memcmp(tmp.pubkey, data + 32, 32) != 0) {
        identity_cleanup(&tmp);
        return FASTN_ERR_BAD_KEY;
    }
    *out = tmp;
    identity_cleanup(&tmp);
    return 0;
}

/* Reads a key from fd (closed here). */
static int load_fd(int fd, struct identity *out)
{
    uint8_t raw[KEYFILE_MAX];
    size_t n = 0;
    int err = 0;

    for (;;) {
        ssize_t r = read(fd, raw + n, sizeof(raw) - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = FASTN_ERR_IO;
            goto out_wipe;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == sizeof(raw)) {
            err = FASTN_ERR_BAD_KEY;
            goto out_wipe;
        }
    }
    err = identity_decode_private(raw, n, out);
out_wipe:
    sodium_memzero(raw, sizeof(raw));
    close(fd);
    return err;
}

int identity_load_file(const char *path, struct identity *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return errno == ENOENT ? FASTN_ERR_NOT_FOUND : FASTN_ERR_IO;
    return load_fd(fd, out);
}

int identity_key_state_at(int dirfd, const char *name,
                          enum identity_key_state *out)
{
    struct stat st;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT)
            return FASTN_ERR_IO;
        *out = IDENTITY_KEY_MISSING;
        return 0;
    }
    if (S_ISLNK(st.st_mode) && fstatat(dirfd, name, &st, 0) != 0) {
        if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
            return FASTN_ERR_IO;
        *out = IDENTITY_KEY_DANGLING;
        return 0;
    }
    *out = IDENTITY_KEY_PRESENT;
    return 0;
}

int identity_load_at(int dirfd, const char *name, struct identity *out,
                     mode_t *mode)
{
    struct stat st;
    /* O_NONBLOCK: a FIFO there does not hang the open (fstat refuses it) */
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0)
        return errno == ENOENT ? FASTN_ERR_NOT_FOUND : FASTN_ERR_IO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (st.st_uid != geteuid() && st.st_uid != 0)) {
        close(fd);
        return FASTN_ERR_PERM;
    }
    if (mode)
        *mode = st.st_mode & 07777;
    return load_fd(fd, out);
}

int identity_create_at(int dirfd, const char *name, struct identity *out)
{
    uint8_t raw[4 + IDENTITY_SECKEY_LEN];
    int err = identity_generate(out), n;

    if (err)
        return err;
    n = identity_encode_private(out, raw, sizeof(raw));
    err = file_create_at(dirfd, name, raw, (size_t)n, 0600);
    sodium_memzero(raw, sizeof(raw));
    if (err)
        identity_cleanup(out);
    return err;
}

int identity_save_file(const char *path, const struct identity *id)
{
    uint8_t raw[4 + IDENTITY_SECKEY_LEN];
    int n = identity_encode_private(id, raw, sizeof(raw));
    int err = file_write_atomic(path, raw, (size_t)n, 0600);

    sodium_memzero(raw, sizeof(raw));
    return err;
}

int identity_sign(const struct identity *id, const uint8_t *msg, size_t n,
                  uint8_t sig[IDENTITY_SIG_LEN])
{
    if (id->signer)
        return signer_sign(id->signer, msg, n, sig);
    return crypto_sign_detached(sig, NULL, msg, n, id->seckey) == 0
               ? 0
               : FASTN_ERR_CRYPTO;
}

bool identity_verify(const uint8_t pubkey[IDENTITY_PUBKEY_LEN],
                     const uint8_t *msg, size_t n,
                     const uint8_t sig[IDENTITY_SIG_LEN])
{
    return crypto_sign_verify_detached(sig, msg, n, pubkey) == 0;
}
