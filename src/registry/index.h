/*
 * Registry indexes: the index.json of a registry, a static folder served
 * by any web server (or read from disk) that holds signed plugins:
 *
 *   { "fastn-registry": 1,
 *     "plugins": [ { "name": "chat", "version": "1.0.0",
 *                    "file": "chat.wasm", "size": 51234,
 *                    "sha256": "<64 hex digits>", "signer": "<key id>",
 *                    "protocols": ["/fastn/chat/1.0.0"],
 *                    "capabilities": ["streams", "storage"],
 *                    "summary": "...", "apps": ["fastn chat"] } ] }
 *
 * "file" is relative to the index (FILE and FILE.minisig sit beside it);
 * "signer" is the minisign key id (hex, as minisign prints it) of the key
 * that signed FILE.minisig. docs/REGISTRY.md describes every field.
 *
 * Parsing is strict and bounded, as for a plugin manifest: duplicate or
 * unknown keys (but "x-..." ones) are refused, every string has a length
 * and a character set, every number a range, and the whole index a size;
 * every error names the registry and the field, so a user can tell its
 * publisher what is wrong. Capabilities are kept as names (a newer
 * registry may list ones this daemon does not know: such a plugin is
 * listed, and refused at install by the manifest check); caps holds the
 * bits of the known ones.
 */
#ifndef FASTN_REGISTRY_INDEX_H
#define FASTN_REGISTRY_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin/manifest.h"
#include "registry/minisign.h"
#include "registry/sign_crypto.h"

#define REGISTRY_INDEX_NAME "index.json"
#define REGISTRY_INDEX_FORMAT 1
/* Largest index.json read (bytes) and plugins listed in one. */
#define REGISTRY_INDEX_MAX (4u << 20)
#define REGISTRY_INDEX_PLUGINS_MAX 4096
/* Largest plugin an index may list; what is fetched is bounded lower by
 * the fetch options (default REGISTRY_FETCH_MAX_DEFAULT). */
#define REGISTRY_PLUGIN_SIZE_MAX (64ull << 20)
#define REGISTRY_FILE_MAX 128 /* "file": [A-Za-z0-9._-], ends .wasm */
#define REGISTRY_SUMMARY_MAX PLUGIN_DESCRIPTION_MAX
#define REGISTRY_CAP_NAME_MAX 32 /* [a-z][a-z0-9-]* */
#define REGISTRY_CAPS_MAX 16

struct registry_entry {
    char name[PLUGIN_NAME_MAX + 1];
    char version[PLUGIN_VERSION_MAX + 1];
    char file[REGISTRY_FILE_MAX + 1];
    uint64_t size;
    uint8_t sha256[REGISTRY_SHA256_LEN];
    uint8_t signer[MINISIGN_KEYID_LEN];
    size_t n_protocols;
    char **protocols;
    size_t n_caps;
    char **caps;         /* names, as listed */
    unsigned caps_known; /* enum plugin_cap bits of the known names */
    bool caps_unknown;   /* a name this daemon does not know */
    char *summary;       /* "" when absent */
    size_t n_apps;
    char **apps;
};

struct registry_index {
    struct registry_entry *entries;
    size_t n;
};

/* Parses index.json bytes (no NUL needed) into *out, which is empty on
 * entry and must be cleaned up on success. registry names the registry
 * in messages (its name or URL). Errors: FASTN_ERR_INDEX_MALFORMED (bad
 * JSON, a missing, unknown, repeated or bad field; a plugin listed twice
 * with one version), FASTN_ERR_INDEX_TOO_LARGE (over REGISTRY_INDEX_MAX
 * bytes or REGISTRY_INDEX_PLUGINS_MAX plugins), FASTN_ERR_NOMEM; err says
 * which field, prefixed by the registry. */
int registry_index_parse(const char *registry, const uint8_t *json, size_t len,
                         struct registry_index *out, char *err, size_t errlen);
void registry_index_cleanup(struct registry_index *idx);
/* Frees what an entry holds and zeroes it. */
void registry_entry_cleanup(struct registry_entry *e);

/* Writes idx as index.json (2-space indented, plugins in idx's order);
 * *out is malloc'd, NUL-terminated. Errors: FASTN_ERR_NOMEM. */
int registry_index_to_json(const struct registry_index *idx, char **out);

/* Builds the index of the signed plugins in dir: every FILE.wasm with its
 * FILE.wasm.minisig, reading the manifest from the plugin (its
 * fastn.manifest section) and the signer from the signature; with key
 * (may be NULL) each signature is also verified against it. Entries are
 * sorted by name, then version. Errors: FASTN_ERR_NOT_FOUND (a plugin
 * without its .minisig), FASTN_ERR_EXISTS (a name and version twice),
 * the manifest's and minisign's errors, FASTN_ERR_TOO_LARGE (a plugin
 * over REGISTRY_PLUGIN_SIZE_MAX), FASTN_ERR_IO; err names the file. */
int registry_index_build(const char *dir, const struct minisign_pubkey *key,
                         struct registry_index *out, char *err, size_t errlen);

/* The entry for name: version exactly, or the highest version when
 * version is NULL; NULL if none. Borrowed from idx. */
const struct registry_entry *
registry_index_find(const struct registry_index *idx, const char *name,
                    const char *version);
/* The highest version of a plugin that handles protocol (among several
 * plugins, the first by name), or NULL. */
const struct registry_entry *
registry_index_find_protocol(const struct registry_index *idx,
                             const char *protocol);
/* The entry whose file has this sha256, or NULL. */
const struct registry_entry *
registry_index_find_sha256(const struct registry_index *idx,
                           const uint8_t sha256[REGISTRY_SHA256_LEN]);
/* Whether term (ASCII case-insensitive) is in the entry's name, summary,
 * protocols or apps; an empty term matches everything. */
bool registry_entry_matches(const struct registry_entry *e, const char *term);

/* Compares two versions (numbers separated by dots, missing ones 0, then
 * an optional -prerelease, ordered as semver 2.0.0 section 11 orders it,
 * and an ignored +build): *out is <0, 0 or >0. Errors: FASTN_ERR_VERSION
 * (either is not such a version). */
int registry_version_cmp(const char *a, const char *b, int *out);
bool registry_version_valid(const char *v);

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void registry_hex(const uint8_t *p, size_t n, char *out);

#endif
