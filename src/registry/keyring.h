/*
 * Trusted publishers: the minisign public keys whose signatures install
 * plugins.
 *
 * Two directories hold them, one key per file NAME.pub (a minisign .pub
 * file, so a publisher's key can also simply be copied in):
 *   $FASTN_HOME/trusted-publishers/          the user's, managed by
 *                                            `fastn trust add/remove`;
 *   PREFIX/share/fastn/trusted-publishers/   the installation's, trusted
 *                                            by every daemon of it and
 *                                            read-only here.
 * A key's name is its file's name without ".pub"; a key added without a
 * name is named after its key id. A key id in both directories is listed
 * once, as the user's.
 *
 * Loading never fails for a bad file: a malformed, unreadable or
 * duplicate key file is skipped with a logged reason, so one bad file
 * cannot lock the user out of every install. Writes are atomic (a
 * temporary file renamed into place, O_NOFOLLOW), files 0644 in a 0755
 * directory: public keys are not secret, but only the owner may change
 * what is trusted.
 */
#ifndef FASTN_REGISTRY_KEYRING_H
#define FASTN_REGISTRY_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "registry/minisign.h"

#define REGISTRY_TRUSTED_DIR "trusted-publishers"
#define REGISTRY_KEY_NAME_MAX 64
/* Keys read from one directory at most (more are skipped, logged). */
#define REGISTRY_KEYRING_MAX 1024

enum registry_key_source {
    REGISTRY_KEY_USER,   /* $FASTN_HOME/trusted-publishers */
    REGISTRY_KEY_SYSTEM, /* PREFIX/share/fastn/trusted-publishers */
};

struct registry_key {
    struct minisign_pubkey pub;
    char name[REGISTRY_KEY_NAME_MAX + 1];
    enum registry_key_source source;
};

/* The keys, sorted by name. */
struct registry_keyring {
    struct registry_key *keys;
    size_t n;
};

/* Reads the keys of user_dir and system_dir (either may be NULL or not
 * exist: no keys from it) into kr, which is empty on entry. Errors:
 * FASTN_ERR_NOMEM only; bad files are skipped and logged (LOG_WARN,
 * subsystem "registry"). */
int registry_keyring_load(struct registry_keyring *kr, const char *user_dir,
                          const char *system_dir);
void registry_keyring_cleanup(struct registry_keyring *kr);

/* The key with this id, or NULL. Borrowed from kr. */
const struct registry_key *
registry_keyring_find_id(const struct registry_keyring *kr,
                         const uint8_t key_id[MINISIGN_KEYID_LEN]);
/* The key named s, or whose key id s is (hex, as minisign prints it), or
 * NULL. */
const struct registry_key *
registry_keyring_lookup(const struct registry_keyring *kr, const char *s);

/* Whether name may name a key: 1 to 64 of [A-Za-z0-9._-], starting with
 * a letter or digit. */
bool registry_key_name_valid(const char *name);

/* Trusts a key: key[0..len) is a .pub file's content or the base64 line
 * (minisign_pubkey_parse); name may be NULL (then the key id in hex).
 * Writes user_dir/NAME.pub, creating user_dir (0755) if needed; system_dir
 * (may be NULL) is read to refuse a key the installation already trusts.
 * On success *out (may be NULL) is the new key. Errors:
 * FASTN_ERR_KEY_MALFORMED, FASTN_ERR_SIG_ALGORITHM (the key);
 * FASTN_ERR_INVAL (a bad name, or one that is another key's id);
 * FASTN_ERR_EXISTS (the key id or the name is trusted already);
 * FASTN_ERR_IO (errno says why), FASTN_ERR_NOMEM. err says which. */
int registry_keyring_add(const char *user_dir, const char *system_dir,
                         const uint8_t *key, size_t len, const char *name,
                         struct registry_key *out, char *err, size_t errlen);

/* Stops trusting the key named id_or_name or with that key id: removes
 * its file from user_dir. *removed (may be NULL) is the key that was
 * removed. Errors: FASTN_ERR_KEY_NOT_FOUND; FASTN_ERR_KEY_READONLY (the
 * key is the installation's, in system_dir); FASTN_ERR_IO, _NOMEM. */
int registry_keyring_remove(const char *user_dir, const char *system_dir,
                            const char *id_or_name,
                            struct registry_key *removed, char *err,
                            size_t errlen);

/* Finds the key that made sig. On success *key borrows it from kr.
 * Errors: FASTN_ERR_UNTRUSTED, with err naming the key id and saying how
 * to trust it. */
int registry_keyring_signer(const struct registry_keyring *kr,
                            const struct minisign_sig *sig,
                            const struct registry_key **key, char *err,
                            size_t errlen);

#endif
