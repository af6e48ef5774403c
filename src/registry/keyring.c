/*
 * Trusted publisher keys in their two directories; see keyring.h. Only
 * files named NAME.pub are read (a left-over NAME.pub.tmp is not a key).
 */
#include "registry/keyring.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastn/err.h"
#include "util/file.h"
#include "util/log.h"
#include "util/errbuf.h"

#define PUB_SUFFIX ".pub"

bool registry_key_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > REGISTRY_KEY_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

/* The name of a key file NAME.pub, or false for any other file. */
static bool key_file_name(const char *file,
                          char name[REGISTRY_KEY_NAME_MAX + 1])
{
    size_t n = strlen(file), s = strlen(PUB_SUFFIX);

    if (n <= s || n - s > REGISTRY_KEY_NAME_MAX ||
        strcmp(file + n - s, PUB_SUFFIX) != 0)
        return false;
    memcpy(name, file, n - s);
    name[n - s] = 0;
    return registry_key_name_valid(name);
}

static int grow(struct registry_keyring *kr)
{
    /* grown one at a time: keyrings are small, loaded rarely */
    struct registry_key *k = realloc(kr->keys, (kr->n + 1) * sizeof(*k));
    if (!k)
        return FASTN_ERR_NOMEM;
    kr->keys = k;
    return 0;
}

/* Reads dir/file into *k, or logs why not and returns nonzero. */
static int read_key(const char *dir, const char *file, struct registry_key *k)
{
    char path[PATH_MAX], why[128] = "";
    uint8_t *data = NULL;
    size_t len = 0;
    int err;

    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
        return FASTN_ERR_TOO_LARGE;
    err = file_read_all(path, MINISIGN_PUBFILE_MAX, &data, &len);
    if (!err)
        err = minisign_pubkey_parse(data, len, &k->pub, why, sizeof(why));
    free(data);
    if (err)
        log_msg(LOG_WARN, "registry", "trusted key %s skipped: %s%s%s", path,
                fastn_strerror(err), why[0] ? ": " : "", why);
    return err;
}

static int load_dir(struct registry_keyring *kr, const char *dir,
                    enum registry_key_source source)
{
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    size_t count = 0;
    int err = 0;

    if (!d) {
        if (dir && errno != ENOENT)
            log_msg(LOG_WARN, "registry", "cannot read trusted keys in %s: %s",
                    dir, strerror(errno));
        return 0;
    }
    while (!err && (e = readdir(d)) != NULL) {
        struct registry_key k = {.source = source};
        if (!key_file_name(e->d_name, k.name))
            continue;
        if (count >= REGISTRY_KEYRING_MAX) {
            log_msg(LOG_WARN, "registry", "more than %d keys in %s: %s skipped",
                    REGISTRY_KEYRING_MAX, dir, e->d_name);
            continue;
        }
        if (read_key(dir, e->d_name, &k) != 0)
            continue;
        count++;
        if (registry_keyring_find_id(kr, k.pub.key_id)) {
            char hex[MINISIGN_KEYID_HEX_LEN + 1];
            minisign_key_id_hex(k.pub.key_id, hex);
            log_msg(LOG_DEBUG, "registry", "key %s in %s/%s is trusted already",
                    hex, dir, e->d_name);
            continue;
        }
        if ((err = grow(kr)) == 0)
            kr->keys[kr->n++] = k;
    }
    closedir(d);
    return err;
}

static int by_name(const void *a, const void *b)
{
    const struct registry_key *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (int)x->source - (int)y->source;
}

int registry_keyring_load(struct registry_keyring *kr, const char *user_dir,
                          const char *system_dir)
{
    int err;

    kr->keys = NULL;
    kr->n = 0;
    /* the user's first: a key in both is listed once, as the user's */
    err = load_dir(kr, user_dir, REGISTRY_KEY_USER);
    if (!err)
        err = load_dir(kr, system_dir, REGISTRY_KEY_SYSTEM);
    if (err) {
        registry_keyring_cleanup(kr);
        return err;
    }
    if (kr->n > 1)
        qsort(kr->keys, kr->n, sizeof(*kr->keys), by_name);
    return 0;
}

void registry_keyring_cleanup(struct registry_keyring *kr)
{
    free(kr->keys);
    kr->keys = NULL;
    kr->n = 0;
}

const struct registry_key *
registry_keyring_find_id(const struct registry_keyring *kr,
                         const uint8_t key_id[MINISIGN_KEYID_LEN])
{
    for (size_t i = 0; i < kr->n; i++)
        if (memcmp(kr->keys[i].pub.key_id, key_id, MINISIGN_KEYID_LEN) == 0)
            return &kr->keys[i];
    return NULL;
}

const struct registry_key *
registry_keyring_lookup(const struct registry_keyring *kr, const char *s)
{
    uint8_t id[MINISIGN_KEYID_LEN];

    for (size_t i = 0; i < kr->n; i++)
        if (strcmp(kr->keys[i].name, s) == 0)
            return &kr->keys[i];
    if (minisign_key_id_parse(s, id) == 0)
        return registry_keyring_find_id(kr, id);
    return NULL;
}

int registry_keyring_signer(const struct registry_keyring *kr,
                            const struct minisign_sig *sig,
                            const struct registry_key **key, char *err,
                            size_t errlen)
{
    const struct registry_key *k = registry_keyring_find_id(kr, sig->key_id);
    char hex[MINISIGN_KEYID_HEX_LEN + 1];

    if (!k) {
        minisign_key_id_hex(sig->key_id, hex);
        return errbuf_say(
            err, errlen, FASTN_ERR_UNTRUSTED,
            "signed by key %s, which is not trusted; if you trust "
            "its publisher, get their public key (minisign .pub, "
            "key id %s) and run `fastn trust add THEIR-KEY.pub`",
            hex, hex);
    }
    *key = k;
    return 0;
}
