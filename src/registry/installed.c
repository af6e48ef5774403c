/*
 * The signatures of installed plugins (installed.h): NAME.wasm.minisig
 * beside NAME.wasm in the plugin host's folder.
 */
#include "registry/installed.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastn/err.h"
#include "plugin/manifest.h"
#include "util/file.h"

const char *registry_sig_state_name(enum registry_sig_state s)
{
    switch (s) {
    case REGISTRY_SIG_UNSIGNED:
        return "unsigned";
    case REGISTRY_SIG_VERIFIED:
        return "verified";
    case REGISTRY_SIG_UNTRUSTED:
        return "untrusted";
    case REGISTRY_SIG_INVALID:
        return "invalid";
    }
    return "invalid";
}

/* A plugin's name as the host names its files: [a-z][a-z0-9_-]*. */
static bool name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > PLUGIN_NAME_MAX || name[0] < 'a' || name[0] > 'z')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') ||
              (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
              name[i] == '-'))
            return false;
    return true;
}

static int path_of(const char *dir, const char *name, const char *suffix,
                   char out[PATH_MAX])
{
    if (!name_ok(name))
        return FASTN_ERR_INVAL;
    if (snprintf(out, PATH_MAX, "%s/%s.wasm%s", dir, name, suffix) >= PATH_MAX)
        return FASTN_ERR_TOO_LARGE;
    return 0;
}

int registry_installed_read(const char *plugins_dir, const char *name,
                            uint64_t max, uint8_t **wasm, size_t *wasm_len,
                            uint8_t **sig, size_t *sig_len)
{
    char path[PATH_MAX], sig_path[PATH_MAX];
    int rc;

    if ((rc = path_of(plugins_dir, name, "", path)) ||
        (rc = path_of(plugins_dir, name, ".minisig", sig_path)))
        return rc == FASTN_ERR_INVAL ? FASTN_ERR_NOT_FOUND : rc;
    rc = file_read_nofollow(sig_path, MINISIGN_SIGFILE_MAX, sig, sig_len);
    if (rc == FASTN_ERR_TOO_LARGE)
        rc = FASTN_ERR_IO;
    if (rc)
        return rc == FASTN_ERR_PERM ? FASTN_ERR_IO : rc;
    rc = file_read_nofollow(path, max, wasm, wasm_len);
    if (rc) {
        free(*sig);
        *sig = NULL;
        return rc == FASTN_ERR_PERM ? FASTN_ERR_IO : rc;
    }
    return 0;
}

/* What a signature that does not verify still says: its key id. */
static void note_key(const uint8_t *sig, size_t len,
                     struct registry_sig_info *out)
{
    struct minisign_sig s;

    if (minisign_sig_parse(sig, len, &s, NULL, 0) == 0)
        minisign_key_id_hex(s.key_id, out->key_id);
}

int registry_installed_signature(const struct registry_keyring *kr,
                                 const char *plugins_dir, const char *name,
                                 uint64_t max, struct registry_sig_info *out)
{
    struct registry_verified v;
    uint8_t *wasm = NULL, *sig = NULL;
    size_t wasm_len = 0, sig_len = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = registry_installed_read(plugins_dir, name, max, &wasm, &wasm_len, &sig,
                                 &sig_len);
    if (rc == FASTN_ERR_NOT_FOUND) {
        char path[PATH_MAX];
        /* no signature (unsigned) or no plugin (an error) */
        if (path_of(plugins_dir, name, "", path) != 0 || access(path, F_OK))
            return FASTN_ERR_NOT_FOUND;
        out->state = REGISTRY_SIG_UNSIGNED;
        return 0;
    }
    if (rc)
        return rc;
    rc = registry_verify_buf(kr, wasm, wasm_len, sig, sig_len, &v, NULL, 0);
    if (rc == 0) {
        out->state = REGISTRY_SIG_VERIFIED;
        snprintf(out->key_id, sizeof(out->key_id), "%s", v.key_id);
        snprintf(out->signer_name, sizeof(out->signer_name), "%s",
                 v.signer.name);
        snprintf(out->note, sizeof(out->note), "%s", v.trusted_comment);
    } else {
        out->state = rc == FASTN_ERR_UNTRUSTED ? REGISTRY_SIG_UNTRUSTED
                                               : REGISTRY_SIG_INVALID;
        note_key(sig, sig_len, out);
    }
    free(wasm);
    free(sig);
    return rc == FASTN_ERR_NOMEM ? rc : 0;
}

int registry_installed_set_signature(const char *plugins_dir, const char *name,
                                     const uint8_t *minisig, size_t len)
{
    char path[PATH_MAX];
    int rc = path_of(plugins_dir, name, ".minisig", path);

    if (rc)
        return rc == FASTN_ERR_TOO_LARGE ? FASTN_ERR_IO : rc;
    if (!minisig)
        return unlink(path) == 0 || errno == ENOENT ? 0 : FASTN_ERR_IO;
    return file_write_atomic(path, minisig, len, 0600) ? FASTN_ERR_IO : 0;
}
