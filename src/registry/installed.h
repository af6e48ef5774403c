/*
 * The signatures of installed plugins: HOME/plugins/NAME.wasm.minisig
 * beside HOME/plugins/NAME.wasm (the plugin host's file).
 *
 * A plugin installed from a signed file, a registry or a peer keeps the
 * .minisig it was verified with; one installed with --unsigned has none.
 * `fastn plugin list/info` show what the signature says now (checked
 * again against the file and the keys trusted now), and only a plugin
 * whose signature verifies is ever served to a peer.
 */
#ifndef FASTN_REGISTRY_INSTALLED_H
#define FASTN_REGISTRY_INSTALLED_H

#include <stddef.h>
#include <stdint.h>

#include "registry/keyring.h"
#include "registry/verify.h"

enum registry_sig_state {
    REGISTRY_SIG_UNSIGNED = 0, /* no NAME.wasm.minisig */
    REGISTRY_SIG_VERIFIED,     /* by a trusted key, matching the file */
    REGISTRY_SIG_UNTRUSTED,    /* by a key that is not trusted (now) */
    REGISTRY_SIG_INVALID,      /* it does not match the file, or does not
                                  parse */
};

struct registry_sig_info {
    enum registry_sig_state state;
    char key_id[MINISIGN_KEYID_HEX_LEN + 1];     /* "" when unsigned */
    char signer_name[REGISTRY_KEY_NAME_MAX + 1]; /* VERIFIED only */
    /* VERIFIED only: the trusted comment, the publisher's note */
    char note[MINISIGN_TRUSTED_COMMENT_MAX];
};

/* "verified", "unsigned", "untrusted", "invalid". */
const char *registry_sig_state_name(enum registry_sig_state s);

/* How the installed plugin name in plugins_dir is signed, checked against
 * its file (at most max bytes) and kr. Errors: FASTN_ERR_NOT_FOUND (no
 * such plugin file), FASTN_ERR_TOO_LARGE, FASTN_ERR_IO, FASTN_ERR_NOMEM;
 * a signature that does not hold is a state, not an error. */
int registry_installed_signature(const struct registry_keyring *kr,
                                 const char *plugins_dir, const char *name,
                                 uint64_t max, struct registry_sig_info *out);

/* Writes plugins_dir/NAME.wasm.minisig (0600, atomically), or removes it
 * when minisig is NULL (the plugin is now unsigned). Errors:
 * FASTN_ERR_INVAL (a bad name), FASTN_ERR_IO. */
int registry_installed_set_signature(const char *plugins_dir, const char *name,
                                     const uint8_t *minisig, size_t len);

/* Reads the installed plugin name and its signature file: *wasm and *sig
 * (malloc'd, free()), at most max bytes of plugin. Errors:
 * FASTN_ERR_NOT_FOUND (no plugin, or no signature: it is unsigned),
 * FASTN_ERR_TOO_LARGE, FASTN_ERR_IO, FASTN_ERR_NOMEM. */
int registry_installed_read(const char *plugins_dir, const char *name,
                            uint64_t max, uint8_t **wasm, size_t *wasm_len,
                            uint8_t **sig, size_t *sig_len);

#endif
