/*
 * index.json: strict parsing (jansson) into bounded entries, writing it
 * back, and the look-ups install, search and update use. See index.h.
 */
#include "registry/index.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "registry/index_int.h"

int index_bad(struct index_ctx *c, int code, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        char what[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        if (c->entry >= 0)
            snprintf(c->err, c->errlen, "registry %s: plugins[%d].%s",
                     c->registry, c->entry, what);
        else
            snprintf(c->err, c->errlen, "registry %s: %s", c->registry, what);
    }
    return code;
}

static int top_level(struct index_ctx *c, json_t *root, json_t **plugins)
{
    const char *key;
    json_t *v;

    if (!json_is_object(root))
        return BAD(c, "index.json is not a JSON object");
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "fastn-registry") == 0) {
            if (!json_is_integer(v) ||
                json_integer_value(v) != REGISTRY_INDEX_FORMAT)
                return BAD(c,
                           "\"fastn-registry\" is not %d (a newer format? "
                           "update fastn)",
                           REGISTRY_INDEX_FORMAT);
        } else if (strcmp(key, "plugins") == 0) {
            if (!json_is_array(v))
                return BAD(c, "\"plugins\" is not an array");
        } else if (strncmp(key, "x-", 2) != 0) {
            return BAD(c, "unknown key \"%.64s\"", key);
        }
    }
    if (!json_object_get(root, "fastn-registry"))
        return BAD(c, "\"fastn-registry\": %d is missing",
                   REGISTRY_INDEX_FORMAT);
    *plugins = json_object_get(root, "plugins");
    if (!*plugins)
        return BAD(c, "\"plugins\" is missing");
    if (json_array_size(*plugins) > REGISTRY_INDEX_PLUGINS_MAX)
        return index_bad(c, FASTN_ERR_INDEX_TOO_LARGE, "more than %d plugins",
                         REGISTRY_INDEX_PLUGINS_MAX);
    return 0;
}

static int no_duplicates(struct index_ctx *c, const struct registry_index *idx)
{
    for (size_t i = 0; i < idx->n; i++)
        for (size_t j = i + 1; j < idx->n; j++)
            if (strcmp(idx->entries[i].name, idx->entries[j].name) == 0 &&
                strcmp(idx->entries[i].version, idx->entries[j].version) == 0) {
                c->entry = (int)j;
                return BAD(c, "name: %s %s is listed twice",
                           idx->entries[j].name, idx->entries[j].version);
            }
    return 0;
}

int registry_index_parse(const char *registry, const uint8_t *json, size_t len,
                         struct registry_index *out, char *err, size_t errlen)
{
    struct index_ctx c = {registry ? registry : "?", err, errlen, -1};
    struct registry_index idx = {0};
    json_t *root, *plugins = NULL;
    json_error_t jerr;
    int rc;

    if (len > REGISTRY_INDEX_MAX)
        return index_bad(&c, FASTN_ERR_INDEX_TOO_LARGE,
                         "index.json is %zu bytes, more than the %u allowed",
                         len, REGISTRY_INDEX_MAX);
    root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return BAD(&c, "index.json is not valid JSON: %s (line %d)", jerr.text,
                   jerr.line);
    rc = top_level(&c, root, &plugins);
    if (!rc && json_array_size(plugins) > 0) {
        idx.entries = calloc(json_array_size(plugins), sizeof(*idx.entries));
        if (!idx.entries)
            rc = FASTN_ERR_NOMEM;
    }
    for (size_t i = 0; !rc && i < json_array_size(plugins); i++) {
        c.entry = (int)i;
        idx.n = i + 1; /* so cleanup frees a half-parsed entry */
        rc = index_entry_parse(&c, json_array_get(plugins, i), &idx.entries[i]);
    }
    c.entry = -1;
    if (!rc)
        rc = no_duplicates(&c, &idx);
    json_decref(root);
    if (rc) {
        registry_index_cleanup(&idx);
        return rc;
    }
    *out = idx;
    return 0;
}

void registry_entry_cleanup(struct registry_entry *e)
{
    for (size_t i = 0; i < e->n_protocols; i++)
        free(e->protocols[i]);
    for (size_t i = 0; i < e->n_caps; i++)
        free(e->caps[i]);
    for (size_t i = 0; i < e->n_apps; i++)
        free(e->apps[i]);
    free(e->protocols);
    free(e->caps);
    free(e->apps);
    free(e->summary);
    memset(e, 0, sizeof(*e));
}

void registry_index_cleanup(struct registry_index *idx)
{
    for (size_t i = 0; i < idx->n; i++)
        registry_entry_cleanup(&idx->entries[i]);
    free(idx->entries);
    idx->entries = NULL;
    idx->n = 0;
}

/* --- look-ups --- */

const struct registry_entry *
registry_index_find(const struct registry_index *idx, const char *name,
                    const char *version)
{
    const struct registry_entry *best = NULL;
    int c;

    for (size_t i = 0; i < idx->n; i++) {
        const struct registry_entry *e = &idx->entries[i];
        if (strcmp(e->name, name) != 0)
            continue;
        if (version) {
            if (strcmp(e->version, version) == 0)
                return e;
            continue;
        }
        if (!best ||
            (registry_version_cmp(e->version, best->version, &c) == 0 && c > 0))
            best = e;
    }
    return best;
}

static bool has_protocol(const struct registry_entry *e, const char *protocol)
{
    for (size_t i = 0; i < e->n_protocols; i++)
        if (strcmp(e->protocols[i], protocol) == 0)
            return true;
    return false;
}

const struct registry_entry *
registry_index_find_protocol(const struct registry_index *idx,
                             const char *protocol)
{
    const struct registry_entry *best = NULL;
    int c;

    for (size_t i = 0; i < idx->n; i++) {
        const struct registry_entry *e = &idx->entries[i];
        if (!has_protocol(e, protocol))
            continue;
        if (!best || strcmp(e->name, best->name) < 0)
            best = e;
        else if (strcmp(e->name, best->name) == 0 &&
                 registry_version_cmp(e->version, best->version, &c) == 0 &&
                 c > 0)
            best = e;
    }
    return best;
}

const struct registry_entry *
registry_index_find_sha256(const struct registry_index *idx,
                           const uint8_t sha256[REGISTRY_SHA256_LEN])
{
    for (size_t i = 0; i < idx->n; i++)
        if (memcmp(idx->entries[i].sha256, sha256, REGISTRY_SHA256_LEN) == 0)
            return &idx->entries[i];
    return NULL;
}

static bool contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle), h = strlen(hay);

    for (size_t i = 0; n <= h && i <= h - n; i++) {
        size_t k = 0;
        while (k < n && tolower((unsigned char)hay[i + k]) ==
                            tolower((unsigned char)needle[k]))
            k++;
        if (k == n)
            return true;
    }
    return false;
}

bool registry_entry_matches(const struct registry_entry *e, const char *term)
{
    if (!term || !*term || contains(e->name, term) ||
        contains(e->summary ? e->summary : "", term))
        return true;
    for (size_t i = 0; i < e->n_protocols; i++)
        if (contains(e->protocols[i], term))
            return true;
    for (size_t i = 0; i < e->n_apps; i++)
        if (contains(e->apps[i], term))
            return true;
    return false;
}

void registry_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}
