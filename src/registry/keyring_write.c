/*
 * Changing the user's trusted keys: `fastn trust add` and `remove`. The
 * directory is created 0755 if missing and must be a real directory (not
 * a symbolic link); key files are written 0644 through a temporary file
 * renamed into place (util/file.h: O_NOFOLLOW, fsync), so a crash leaves
 * the old set or the new one.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastn/err.h"
#include "registry/keyring.h"
#include "util/file.h"
#include "util/errbuf.h"

static int key_path(const char *dir, const char *name, char *out, size_t n)
{
    if (snprintf(out, n, "%s/%s.pub", dir, name) >= (int)n)
        return FASTN_ERR_TOO_LARGE;
    return 0;
}

/* Creates dir 0755 if it does not exist; refuses a symbolic link or a
 * file in its place. */
static int ensure_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        return errbuf_say(err, errlen, FASTN_ERR_IO,
                          "%s is not a directory (a symbolic link or a file): "
                          "move it away",
                          dir);
    }
    /* mkdir's mode passes through the umask; chmod sets exactly 0755 */
    if (errno != ENOENT || mkdir(dir, 0755) != 0 || chmod(dir, 0755) != 0)
        return errbuf_say(err, errlen, FASTN_ERR_IO, "cannot create %s: %s",
                          dir, strerror(errno));
    return 0;
}

/* Checks that key and name are new to kr. */
static int check_new(const struct registry_keyring *kr,
                     const struct minisign_pubkey *pub, const char *name,
                     char *err, size_t errlen)
{
    const struct registry_key *k = registry_keyring_find_id(kr, pub->key_id);
    char hex[MINISIGN_KEYID_HEX_LEN + 1];
    uint8_t id[MINISIGN_KEYID_LEN];

    minisign_key_id_hex(pub->key_id, hex);
    if (k)
        return errbuf_say(
            err, errlen, FASTN_ERR_EXISTS,
            "key %s is trusted already, as \"%s\"%s", hex, k->name,
            k->source == REGISTRY_KEY_SYSTEM ? " (by the installation)" : "");
    for (size_t i = 0; i < kr->n; i++)
        if (strcmp(kr->keys[i].name, name) == 0)
            return errbuf_say(err, errlen, FASTN_ERR_EXISTS,
                              "the name \"%s\" is taken by another key; choose "
                              "another with --name",
                              name);
    /* a name that reads as another key's id would make `remove` ambiguous */
    if (minisign_key_id_parse(name, id) == 0 &&
        memcmp(id, pub->key_id, MINISIGN_KEYID_LEN) != 0)
        return errbuf_say(err, errlen, FASTN_ERR_INVAL,
                          "the name \"%s\" reads as a key id; choose another",
                          name);
    return 0;
}

static int write_key(const char *dir, const struct registry_key *k, char *err,
                     size_t errlen)
{
    char path[PATH_MAX], b64[MINISIGN_PUBKEY_B64_LEN + 1];
    char hex[MINISIGN_KEYID_HEX_LEN + 1], text[256];
    int n;

    if (key_path(dir, k->name, path, sizeof(path)) != 0)
        return errbuf_say(err, errlen, FASTN_ERR_TOO_LARGE, "%s: path too long",
                          dir);
    minisign_key_id_hex(k->pub.key_id, hex);
    minisign_pubkey_base64(&k->pub, b64);
    n = snprintf(text, sizeof(text),
                 "untrusted comment: fastn trusted publisher %s, minisign "
                 "public key %s\n%s\n",
                 k->name, hex, b64);
    if (n < 0 || n >= (int)sizeof(text))
        return errbuf_say(err, errlen, FASTN_ERR_INTERNAL, "key text too long");
    if (file_write_atomic(path, text, (size_t)n, 0644) != 0)
        return errbuf_say(err, errlen, FASTN_ERR_IO, "cannot write %s: %s",
                          path, strerror(errno));
    return 0;
}

int registry_keyring_add(const char *user_dir, const char *system_dir,
                         const uint8_t *key, size_t len, const char *name,
                         struct registry_key *out, char *err, size_t errlen)
{
    struct registry_key k = {.source = REGISTRY_KEY_USER};
    struct registry_keyring kr;
    int rc;

    if ((rc = minisign_pubkey_parse(key, len, &k.pub, err, errlen)) != 0)
        return rc;
    if (!name) {
        minisign_key_id_hex(k.pub.key_id, k.name);
    } else if (!registry_key_name_valid(name)) {
        return errbuf_say(
            err, errlen, FASTN_ERR_INVAL,
            "a key's name is 1 to %d letters, digits, '.', '_' or "
            "'-', starting with a letter or digit",
            REGISTRY_KEY_NAME_MAX);
    } else {
        snprintf(k.name, sizeof(k.name), "%s", name);
    }
    if ((rc = registry_keyring_load(&kr, user_dir, system_dir)) != 0)
        return rc;
    rc = check_new(&kr, &k.pub, k.name, err, errlen);
    registry_keyring_cleanup(&kr);
    if (!rc)
        rc = ensure_dir(user_dir, err, errlen);
    if (!rc)
        rc = write_key(user_dir, &k, err, errlen);
    if (!rc && out)
        *out = k;
    return rc;
}

int registry_keyring_remove(const char *user_dir, const char *system_dir,
                            const char *id_or_name,
                            struct registry_key *removed, char *err,
                            size_t errlen)
{
    struct registry_keyring kr;
    const struct registry_key *k;
    char path[PATH_MAX];
    int rc;

    if ((rc = registry_keyring_load(&kr, user_dir, system_dir)) != 0)
        return rc;
    k = registry_keyring_lookup(&kr, id_or_name);
    if (!k) {
        rc =
            errbuf_say(err, errlen, FASTN_ERR_KEY_NOT_FOUND,
                       "no trusted key is named \"%s\" or has that key id; see "
                       "`fastn trust list`",
                       id_or_name);
    } else if (k->source == REGISTRY_KEY_SYSTEM) {
        rc =
            errbuf_say(err, errlen, FASTN_ERR_KEY_READONLY,
                       "key \"%s\" is trusted by the installation (%s); remove "
                       "it there, as root",
                       k->name, system_dir ? system_dir : "");
    } else if (key_path(user_dir, k->name, path, sizeof(path)) != 0) {
        rc = FASTN_ERR_TOO_LARGE;
    } else if (unlink(path) != 0) {
        rc = errbuf_say(err, errlen, FASTN_ERR_IO, "cannot remove %s: %s", path,
                        strerror(errno));
    } else if (removed) {
        *removed = *k;
    }
    registry_keyring_cleanup(&kr);
    return rc;
}
