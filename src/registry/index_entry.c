/*
 * One plugin of index.json: each field checked for type, length and
 * characters (the rules of plugin manifests, src/plugin/manifest.c, for
 * the fields both have), and written back.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "registry/index_int.h"

static bool char_ok(enum registry_charset cs, size_t i, unsigned char ch)
{
    bool lower = ch >= 'a' && ch <= 'z', digit = ch >= '0' && ch <= '9';
    bool alnum = lower || digit || (ch >= 'A' && ch <= 'Z');
    switch (cs) {
    case CS_NAME:
        return i == 0 ? lower : lower || digit || ch == '_' || ch == '-';
    case CS_FILE:
        return i == 0 ? alnum : alnum || ch == '.' || ch == '_' || ch == '-';
    case CS_PROTOCOL:
        return i == 0 ? ch == '/' : ch >= 0x21 && ch <= 0x7e;
    case CS_CAP:
        return i == 0 ? lower : lower || digit || ch == '-';
    case CS_VERSION:
    case CS_TEXT:
        return true;
    }
    return false;
}

int registry_chars_check(enum registry_charset cs, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!char_ok(cs, i, (unsigned char)s[i]) || s[i] == 0)
            return (int)i + 1;
    if (cs == CS_TEXT && !minisign_text_is_printable(s, n))
        return -1;
    if (cs == CS_VERSION && (strlen(s) != n || !registry_version_valid(s)))
        return -1;
    if (cs == CS_FILE && (n < 6 || strcmp(s + n - 5, ".wasm") != 0))
        return -1;
    return 0;
}

/* The string v (what names it) checked for length min..max and cs. */
static int string_ok(struct index_ctx *c, const json_t *v, const char *what,
                     enum registry_charset cs, size_t min, size_t max,
                     const char **out)
{
    const char *s;
    size_t n;
    int bad;

    if (!json_is_string(v))
        return BAD(c, "%s: not a string", what);
    s = json_string_value(v);
    n = json_string_length(v);
    if (n < min || n > max)
        return BAD(c, "%s: %zu bytes, not %zu to %zu", what, n, min, max);
    bad = registry_chars_check(cs, s, n);
    if (bad > 0)
        return BAD(c, "%s: character %d is not allowed", what, bad);
    if (bad < 0 && cs == CS_VERSION)
        return BAD(c, "%s: \"%.32s\" is not a version like 1.2.0", what, s);
    if (bad < 0 && cs == CS_FILE)
        return BAD(c, "%s: does not end in .wasm", what);
    if (bad < 0)
        return BAD(c, "%s: control characters are not allowed", what);
    *out = s;
    return 0;
}

static int copy_string(struct index_ctx *c, const json_t *v, const char *what,
                       enum registry_charset cs, size_t max, char *out)
{
    const char *s;
    int rc = string_ok(c, v, what, cs, 1, max, &s);
    if (!rc)
        memcpy(out, s, strlen(s) + 1);
    return rc;
}

/* A JSON array of up to max strings, each checked, into a new vector. */
static int string_list(struct index_ctx *c, const json_t *v, const char *what,
                       enum registry_charset cs, size_t max, size_t each,
                       char ***out, size_t *n)
{
    size_t count = json_array_size(v);

    if (!json_is_array(v))
        return BAD(c, "%s: not an array", what);
    if (count > max)
        return BAD(c, "%s: more than %zu", what, max);
    if (count && !(*out = calloc(count, sizeof(char *))))
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < count; i++) {
        const char *s;
        int rc = string_ok(c, json_array_get(v, i), what, cs, 1, each, &s);
        for (size_t j = 0; !rc && j < i; j++)
            if (strcmp((*out)[j], s) == 0)
                rc = BAD(c, "%s: \"%.64s\" is listed twice", what, s);
        if (rc)
            return rc;
        if (!((*out)[i] = strdup(s)))
            return FASTN_ERR_NOMEM;
        *n = i + 1;
    }
    return 0;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int hex_field(struct index_ctx *c, const json_t *v, const char *what,
                     uint8_t *out, size_t n)
{
    const char *s;
    int rc = string_ok(c, v, what, CS_TEXT, 2 * n, 2 * n, &s);

    for (size_t i = 0; !rc && i < n; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return BAD(c, "%s: not %zu hex digits", what, 2 * n);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return rc;
}

static int signer_field(struct index_ctx *c, const json_t *v, uint8_t *out)
{
    const char *s;
    int rc = string_ok(c, v, "signer", CS_TEXT, 1, MINISIGN_KEYID_HEX_LEN, &s);

    if (!rc && minisign_key_id_parse(s, out) != 0)
        rc = BAD(c, "signer: not a minisign key id (hex)");
    return rc;
}

static int caps_field(struct index_ctx *c, const json_t *v,
                      struct registry_entry *e)
{
    int rc = string_list(c, v, "capabilities", CS_CAP, REGISTRY_CAPS_MAX,
                         REGISTRY_CAP_NAME_MAX, &e->caps, &e->n_caps);

    for (size_t i = 0; !rc && i < e->n_caps; i++) {
        unsigned bit = plugin_cap_from_name(e->caps[i]);
        e->caps_known |= bit;
        e->caps_unknown |= bit == 0;
    }
    return rc;
}

static int size_field(struct index_ctx *c, const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
        (uint64_t)json_integer_value(v) > REGISTRY_PLUGIN_SIZE_MAX)
        return BAD(c, "size: not a number of bytes from 1 to %llu",
                   (unsigned long long)REGISTRY_PLUGIN_SIZE_MAX);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int summary_field(struct index_ctx *c, const json_t *v, char **out)
{
    const char *s;
    int rc = string_ok(c, v, "summary", CS_TEXT, 0, REGISTRY_SUMMARY_MAX, &s);
    if (!rc && !(*out = strdup(s)))
        rc = FASTN_ERR_NOMEM;
    return rc;
}

/* One key of an entry. */
static int entry_field(struct index_ctx *c, const char *key, const json_t *v,
                       struct registry_entry *e)
{
    if (strcmp(key, "name") == 0)
        return copy_string(c, v, key, CS_NAME, PLUGIN_NAME_MAX, e->name);
    if (strcmp(key, "version") == 0)
        return copy_string(c, v, key, CS_VERSION, PLUGIN_VERSION_MAX,
                           e->version);
    if (strcmp(key, "file") == 0)
        return copy_string(c, v, key, CS_FILE, REGISTRY_FILE_MAX, e->file);
    if (strcmp(key, "size") == 0)
        return size_field(c, v, &e->size);
    if (strcmp(key, "sha256") == 0)
        return hex_field(c, v, key, e->sha256, REGISTRY_SHA256_LEN);
    if (strcmp(key, "signer") == 0)
        return signer_field(c, v, e->signer);
    if (strcmp(key, "protocols") == 0)
        return string_list(c, v, key, CS_PROTOCOL, PLUGIN_PROTOCOLS_MAX,
                           PLUGIN_PROTOCOL_MAX, &e->protocols, &e->n_protocols);
    if (strcmp(key, "capabilities") == 0)
        return caps_field(c, v, e);
    if (strcmp(key, "summary") == 0)
        return summary_field(c, v, &e->summary);
    if (strcmp(key, "apps") == 0)
        return string_list(c, v, key, CS_TEXT, PLUGIN_APPS_MAX, PLUGIN_APP_MAX,
                           &e->apps, &e->n_apps);
    if (strncmp(key, "x-", 2) == 0)
        return 0;
    return BAD(c, "%.64s: unknown key", key);
}

int index_entry_parse(struct index_ctx *c, const json_t *v,
                      struct registry_entry *e)
{
    static const char *const required[] = {
        "name", "version", "file", "size", "sha256", "signer", "protocols"};
    const char *key;
    json_t *f;
    int rc;

    if (!json_is_object(v))
        return BAD(c, "not an object");
    for (size_t i = 0; i < sizeof(required) / sizeof(*required); i++)
        if (!json_object_get(v, required[i]))
            return BAD(c, "%s: missing", required[i]);
    json_object_foreach((json_t *)v, key, f)
    {
        if ((rc = entry_field(c, key, f, e)) != 0)
            return rc;
    }
    if (e->n_protocols == 0)
        return BAD(c, "protocols: empty (a plugin handles at least one)");
    if (!e->summary && !(e->summary = strdup("")))
        return FASTN_ERR_NOMEM;
    return 0;
}

static json_t *string_array(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *index_entry_to_json(const struct registry_entry *e)
{
    char sha[2 * REGISTRY_SHA256_LEN + 1], id[MINISIGN_KEYID_HEX_LEN + 1];
    json_t *o = json_object();

    registry_hex(e->sha256, sizeof(e->sha256), sha);
    minisign_key_id_hex(e->signer, id);
    if (!o || json_object_set_new(o, "name", json_string(e->name)) ||
        json_object_set_new(o, "version", json_string(e->version)) ||
        json_object_set_new(o, "file", json_string(e->file)) ||
        json_object_set_new(o, "size", json_integer((json_int_t)e->size)) ||
        json_object_set_new(o, "sha256", json_string(sha)) ||
        json_object_set_new(o, "signer", json_string(id)) ||
        json_object_set_new(o, "protocols",
                            string_array(e->protocols, e->n_protocols)) ||
        json_object_set_new(o, "capabilities",
                            string_array(e->caps, e->n_caps)) ||
        json_object_set_new(o, "summary",
                            json_string(e->summary ? e->summary : "")) ||
        json_object_set_new(o, "apps", string_array(e->apps, e->n_apps))) {
        json_decref(o);
        return NULL;
    }
    return o;
}
