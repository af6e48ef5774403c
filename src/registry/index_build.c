/*
 * Writing index.json: from an index in memory, and from a folder of
 * signed plugins (what `fastn registry build DIR` and the build's
 * `fastn-registry-build` do). A plugin's entry comes from the plugin
 * itself (its manifest, read with src/plugin's parser, and its sha256)
 * and from its signature (the signer's key id), so the index says
 * nothing the files do not.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "registry/index_int.h"
#include "util/file.h"

int registry_index_to_json(const struct registry_index *idx, char **out)
{
    json_t *root = json_object(), *plugins = json_array();
    int rc = FASTN_ERR_NOMEM;

    if (!root || !plugins ||
        json_object_set_new(root, "fastn-registry",
                            json_integer(REGISTRY_INDEX_FORMAT)) != 0)
        goto out_free;
    for (size_t i = 0; i < idx->n; i++)
        if (json_array_append_new(plugins,
                                  index_entry_to_json(&idx->entries[i])) != 0)
            goto out_free;
    if (json_object_set(root, "plugins", plugins) != 0)
        goto out_free;
    *out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    rc = *out ? 0 : FASTN_ERR_NOMEM;
out_free:
    json_decref(plugins);
    json_decref(root);
    return rc;
}

static char **strv_dup(const char (*v)[PLUGIN_PROTOCOL_MAX + 1], size_t n)
{
    char **out = n ? calloc(n, sizeof(char *)) : NULL;
    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = strdup(v[i]))) {
            while (i-- > 0)
                free(out[i]);
            free(out);
            return NULL;
        }
    return out;
}

/* The entry's fields that come from the manifest. */
static int entry_from_manifest(struct registry_entry *e,
                               const struct plugin_manifest *m)
{
    snprintf(e->name, sizeof(e->name), "%s", m->name);
    snprintf(e->version, sizeof(e->version), "%s", m->version);
    if (!(e->summary = strdup(m->description)))
        return FASTN_ERR_NOMEM;
    if (!(e->protocols = strv_dup(m->protocols, m->n_protocols)))
        return FASTN_ERR_NOMEM;
    e->n_protocols = m->n_protocols;
    if (m->n_apps && !(e->apps = calloc(m->n_apps, sizeof(char *))))
        return FASTN_ERR_NOMEM;
    for (; e->n_apps < m->n_apps; e->n_apps++)
        if (!(e->apps[e->n_apps] = strdup(m->apps[e->n_apps])))
            return FASTN_ERR_NOMEM;
    e->caps = calloc(REGISTRY_CAPS_MAX, sizeof(char *));
    if (!e->caps)
        return FASTN_ERR_NOMEM;
    for (unsigned bit = 1; bit && bit <= PLUGIN_CAPS_ALL; bit <<= 1) {
        if (!(m->caps & bit) || e->n_caps == REGISTRY_CAPS_MAX)
            continue;
        if (!(e->caps[e->n_caps++] = strdup(plugin_cap_name(bit))))
            return FASTN_ERR_NOMEM;
    }
    e->caps_known = m->caps;
    return 0;
}

/* dir/file and its signature into *e. */
static int build_entry(struct index_ctx *c, const char *dir, const char *file,
                       const struct minisign_pubkey *key,
                       struct registry_entry *e)
{
    char path[PATH_MAX], why[256] = "";
    struct plugin_manifest m;
    struct minisign_sig sig;
    uint8_t *wasm = NULL, *text = NULL;
    size_t len = 0, text_len = 0;
    int rc;

    snprintf(e->file, sizeof(e->file), "%s", file);
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >=
        (int)sizeof(path) - 8)
        return index_bad(c, FASTN_ERR_TOO_LARGE, "%s: path too long", file);
    rc = file_read_all(path, REGISTRY_PLUGIN_SIZE_MAX, &wasm, &len);
    if (rc)
        return index_bad(c, rc, "%s: %s", file, fastn_strerror(rc));
    strcat(path, ".minisig");
    rc = file_read_all(path, MINISIGN_SIGFILE_MAX, &text, &text_len);
    if (rc == FASTN_ERR_NOT_FOUND)
        rc = index_bad(c, rc,
                       "%s has no %s.minisig: sign it with `minisign "
                       "-S -m %s`",
                       file, file, file);
    else if (rc)
        rc = index_bad(c, rc, "%s.minisig: %s", file, fastn_strerror(rc));
    if (!rc &&
        (rc = minisign_sig_parse(text, text_len, &sig, why, sizeof(why))) != 0)
        rc = index_bad(c, rc, "%s.minisig: %s", file, why);
    if (!rc && key && (rc = minisign_verify(&sig, key, wasm, len)) != 0)
        rc = index_bad(c, rc, "%s: %s", file, fastn_strerror(rc));
    if (!rc &&
        (rc = plugin_manifest_from_wasm(wasm, len, &m, why, sizeof(why))) != 0)
        rc = index_bad(c, rc, "%s: manifest: %s", file, why);
    if (!rc && !registry_version_valid(m.version))
        rc = index_bad(c, FASTN_ERR_VERSION,
                       "%s: version \"%s\" is not like "
                       "1.2.0",
                       file, m.version);
    if (!rc && (rc = entry_from_manifest(e, &m)) == 0) {
        memcpy(e->signer, sig.key_id, sizeof(e->signer));
        e->size = len;
        rc = registry_sha256(wasm, len, e->sha256);
    }
    free(text);
    free(wasm);
    return rc;
}

static bool is_wasm_name(const char *s)
{
    size_t n = strlen(s);
    return n > 5 && strcmp(s + n - 5, ".wasm") == 0;
}

static bool file_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n > REGISTRY_FILE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || (ch != '.' && ch != '_' && ch != '-')))
            return false;
    }
    return true;
}

static int by_file(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .wasm files of dir, sorted. */
static int list_wasm(struct index_ctx *c, const char *dir, char ***out,
                     size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    int rc = 0;

    if (!d)
        return index_bad(c, FASTN_ERR_IO, "cannot read %s: %s", dir,
                         strerror(errno));
    *n = 0;
    while (!rc && (e = readdir(d)) != NULL) {
        char **nv;
        if (!is_wasm_name(e->d_name))
            continue;
        if (!file_name_ok(e->d_name))
            rc = index_bad(c, FASTN_ERR_INVAL,
                           "%.64s: a registry's file names are letters, "
                           "digits, '.', '_' and '-'",
                           e->d_name);
        else if (*n == REGISTRY_INDEX_PLUGINS_MAX)
            rc = index_bad(c, FASTN_ERR_INDEX_TOO_LARGE, "more than %d plugins",
                           REGISTRY_INDEX_PLUGINS_MAX);
        else if (!(nv = realloc(v, (*n + 1) * sizeof(*v))) ||
                 !((v = nv)[*n] = strdup(e->d_name)))
            rc = FASTN_ERR_NOMEM;
        else
            (*n)++;
    }
    closedir(d);
    if (!rc)
        qsort(v, *n, sizeof(*v), by_file);
    *out = v;
    return rc;
}

static int by_name_version(const void *a, const void *b)
{
    const struct registry_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c == 0 && registry_version_cmp(x->version, y->version, &c) != 0)
        c = strcmp(x->version, y->version);
    return c;
}

int registry_index_build(const char *dir, const struct minisign_pubkey *key,
                         struct registry_index *out, char *err, size_t errlen)
{
    struct index_ctx c = {dir, err, errlen, -1};
    struct registry_index idx = {0};
    char **files = NULL;
    size_t n = 0;
    int rc = list_wasm(&c, dir, &files, &n);

    if (!rc && n && !(idx.entries = calloc(n, sizeof(*idx.entries))))
        rc = FASTN_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        idx.n = i + 1;
        rc = build_entry(&c, dir, files[i], key, &idx.entries[i]);
    }
    for (size_t i = 0; !rc && i < idx.n; i++) {
        const struct registry_entry *a = &idx.entries[i];
        for (size_t j = i + 1; !rc && j < idx.n; j++)
            if (strcmp(a->name, idx.entries[j].name) == 0 &&
                strcmp(a->version, idx.entries[j].version) == 0)
                rc = index_bad(&c, FASTN_ERR_EXISTS, "%s and %s are both %s %s",
                               a->file, idx.entries[j].file, a->name,
                               a->version);
    }
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    if (rc) {
        registry_index_cleanup(&idx);
        return rc;
    }
    if (idx.n > 1)
        qsort(idx.entries, idx.n, sizeof(*idx.entries), by_name_version);
    *out = idx;
    return 0;
}
