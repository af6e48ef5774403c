/*
 * Manifest JSON: parsing (jansson) and validation into a bounded struct.
 *
 * The rules are strict, because a manifest is what the user is shown and
 * what capabilities are granted from: duplicate keys are refused (two
 * parsers could read different values), unknown keys are refused (a
 * misspelt "capabilites" must not silently mean "none") unless they start
 * with "x-", every string has a length and character set, and every
 * number a range. Each error names the field.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "fastn/err.h"
#include "plugin/manifest.h"

struct ctx {
    struct plugin_manifest *m;
    char *err;
    size_t errlen;
};

static int bad(struct ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(struct ctx *c, int code, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

#define BAD(c, ...) bad((c), FASTN_ERR_PLUGIN_MANIFEST, __VA_ARGS__)

/* --- strings --- */

enum charset {
    CS_NAME,     /* [a-z][a-z0-9_-]* */
    CS_VERSION,  /* [0-9][0-9A-Za-z.+-]* */
    CS_PROTOCOL, /* /[!-~]* */
    CS_TEXT,     /* UTF-8 without control characters */
};

static bool char_ok(enum charset cs, size_t i, unsigned char ch)
{
    bool lower = ch >= 'a' && ch <= 'z', digit = ch >= '0' && ch <= '9';
    bool upper = ch >= 'A' && ch <= 'Z';
    switch (cs) {
    case CS_NAME:
        return i == 0 ? lower : lower || digit || ch == '_' || ch == '-';
    case CS_VERSION:
        return i == 0 ? digit
                      : lower || upper || digit || ch == '.' || ch == '+' ||
                            ch == '-';
    case CS_PROTOCOL:
        return i == 0 ? ch == '/' : ch >= 0x21 && ch <= 0x7e;
    case CS_TEXT:
        /* jansson has checked the UTF-8; refuse C0 controls and DEL (C1
         * controls are two-byte sequences starting 0xc2 0x80..0x9f). */
        return ch >= 0x20 && ch != 0x7f;
    }
    return false;
}

static bool c1_control(const char *s, size_t i)
{
    return (unsigned char)s[i] == 0xc2 && (unsigned char)s[i + 1] >= 0x80 &&
           (unsigned char)s[i + 1] <= 0x9f;
}

/* Copies a JSON string into out (max bytes plus a NUL) after checking its
 * length (min..max) and characters. what names the field for errors. */
static int get_string(struct ctx *c, const json_t *v, const char *what,
                      enum charset cs, size_t min, size_t max, char *out)
{
    if (!json_is_string(v))
        return BAD(c, "%s: must be a string", what);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n < min || n > max)
        return BAD(c, "%s: must be %zu to %zu bytes long (is %zu)", what, min,
                   max, n);
    for (size_t i = 0; i < n; i++) {
        if (!char_ok(cs, i, (unsigned char)s[i]) ||
            (cs == CS_TEXT && i + 1 < n && c1_control(s, i)))
            return BAD(c, "%s: character %zu is not allowed here", what, i);
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* --- numbers --- */

static int get_uint(struct ctx *c, const json_t *v, const char *what,
                    uint64_t min, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v))
        return BAD(c, "%s: must be a whole number", what);
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x < min || (uint64_t)x > max)
        return BAD(c, "%s: %lld is out of range (%llu to %llu)", what,
                   (long long)x, (unsigned long long)min,
                   (unsigned long long)max);
    *out = (uint64_t)x;
    return 0;
}

/* --- fields --- */

static const char *const reserved_protocols[] = {
    "/ipfs/", "/libp2p/", "/multistream/", "/noise",      "/yamux/",
    "/perf/", "/p2p/",    "/mplex/",       "/plaintext/", "/tls/",
};

/* Under those prefixes but served by plugins: the daemon does not speak
 * them (bitswap: the files plugin, docs/FILES.md). */
static const char *const plugin_protocols_open[] = {"/ipfs/bitswap/"};

static bool protocol_is_open(const char *p)
{
    for (size_t r = 0;
         r < sizeof(plugin_protocols_open) / sizeof(plugin_protocols_open[0]);
         r++)
        if (!strncmp(p, plugin_protocols_open[r],
                     strlen(plugin_protocols_open[r])))
            return true;
    return false;
}

bool plugin_protocol_is_reserved(const char *p)
{
    if (protocol_is_open(p))
        return false;
    for (size_t r = 0;
         r < sizeof(reserved_protocols) / sizeof(reserved_protocols[0]); r++)
        if (strncmp(p, reserved_protocols[r], strlen(reserved_protocols[r])) ==
            0)
            return true;
    return false;
}

static int get_protocols(struct ctx *c, const json_t *v)
{
    struct plugin_manifest *m = c->m;
    if (!json_is_array(v))
        return BAD(c, "protocols: must be an array of protocol ids");
    if (json_array_size(v) > PLUGIN_PROTOCOLS_MAX)
        return BAD(c, "protocols: at most %d", PLUGIN_PROTOCOLS_MAX);
    for (size_t i = 0; i < json_array_size(v); i++) {
        char what[32];
        char *p = m->protocols[i];
        snprintf(what, sizeof(what), "protocols[%zu]", i);
        int err = get_string(c, json_array_get(v, i), what, CS_PROTOCOL, 2,
                             PLUGIN_PROTOCOL_MAX, p);
        if (err)
            return err;
        if (plugin_protocol_is_reserved(p))
            return BAD(c, "%s: \"%s\" belongs to the daemon, not plugins", what,
                       p);
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->protocols[j], p) == 0)
                return BAD(c, "%s: \"%s\" is listed twice", what, p);
        m->n_protocols = i + 1;
    }
    return 0;
}

static int get_capabilities(struct ctx *c, const json_t *v)
{
    if (!json_is_array(v))
        return BAD(c, "capabilities: must be an array of strings");
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        const char *s = json_string_value(e);
        unsigned cap = 0;
        if (!s)
            return BAD(c, "capabilities[%zu]: must be a string", i);
#define CAP_MATCH_(bit, str)                                                   \
    if (strcmp(s, str) == 0)                                                   \
        cap = bit;
        PLUGIN_CAPS(CAP_MATCH_)
#undef CAP_MATCH_
        if (!cap || strlen(s) != json_string_length(e))
            return BAD(c,
                       "capabilities[%zu]: unknown capability (known: "
                       "streams, storage, notify, timers, local-listen, "
                       "local-connect)",
                       i);
        if (c->m->caps & cap)
            return BAD(c, "capabilities[%zu]: \"%s\" is listed twice", i, s);
        c->m->caps |= cap;
    }
    return 0;
}

/* --- loopback addresses (plugin_addr_*: addr.c) --- */

int plugin_manifest_listen_index(const struct plugin_manifest *m,
                                 const char *name)
{
    for (size_t i = 0; m && name && i < m->n_listen; i++)
        if (strcmp(m->listen[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* "local_listen": [{"name": "smtp", "port": 2525}, ...] */
static int get_listen_entry(struct ctx *c, size_t i, const json_t *e)
{
    struct plugin_manifest *m = c->m;
    struct plugin_listen *l = &m->listen[i];
    char what[48];
    const char *key;
    json_t *v;
    uint64_t port = 0;
    int err;

    if (!json_is_object(e) || json_object_size(e) != 2)
        return BAD(c, "local_listen[%zu]: must be {\"name\": N, \"port\": P}",
                   i);
    json_object_foreach((json_t *)e, key, v)
    {
        snprintf(what, sizeof(what), "local_listen[%zu].%s", i,
                 strcmp(key, "name") ? "port" : "name");
        if (!strcmp(key, "name"))
            err = get_string(c, v, what, CS_NAME, 1, PLUGIN_LISTEN_NAME_MAX,
                             l->name);
        else if (!strcmp(key, "port"))
            err = get_uint(c, v, what, 1, 65535, &port);
        else
            err = BAD(c, "local_listen[%zu]: unknown key (name, port)", i);
        if (err)
            return err;
    }
    l->port = (uint16_t)port;
    for (size_t j = 0; j < i; j++)
        if (!strcmp(m->listen[j].name, l->name) || m->listen[j].port == l->port)
            return BAD(c, "local_listen[%zu]: name or port listed twice", i);
    return 0;
}

static int get_local_listen(struct ctx *c, const json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return BAD(c, "local_listen: must be an array of {\"name\", "
                      "\"port\"} objects");
    if (json_array_size(v) > PLUGIN_LOCAL_MAX)
        return BAD(c, "local_listen: at most %d ports", PLUGIN_LOCAL_MAX);
    for (size_t i = 0; i < json_array_size(v); i++) {
        int err = get_listen_entry(c, i, json_array_get(v, i));
        if (err)
            return err;
        c->m->n_listen = i + 1;
    }
    return 0;
}

/* "local_connect": ["127.0.0.1:22", "[::1]:631"] */
static int get_local_connect(struct ctx *c, const json_t *v)
{
    struct plugin_manifest *m = c->m;

    if (!json_is_array(v) || json_array_size(v) == 0)
        return BAD(c, "local_connect: must be an array of addresses such as "
                      "\"127.0.0.1:22\"");
    if (json_array_size(v) > PLUGIN_LOCAL_MAX)
        return BAD(c, "local_connect: at most %d addresses", PLUGIN_LOCAL_MAX);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        const char *s = json_string_value(e);
        int err;
        if (!s || strlen(s) != json_string_length(e))
            return BAD(c, "local_connect[%zu]: must be a string", i);
        if ((err = plugin_addr_parse(s, &m->connect[i])))
            return BAD(c,
                       err == FASTN_ERR_PERM
                           ? "local_connect[%zu]: not a loopback address "
                             "(127.0.0.0/8 or [::1] only)"
                           : "local_connect[%zu]: not ADDRESS:PORT, e.g. "
                             "\"127.0.0.1:22\" or \"[::1]:22\"",
                       i);
        for (size_t j = 0; j < i; j++)
            if (plugin_addr_equal(&m->connect[j], &m->connect[i]))
                return BAD(c, "local_connect[%zu]: listed twice", i);
        m->n_connect = i + 1;
    }
    return 0;
}

/* Each loopback capability comes with its list, and each list with its
 * capability. */
static int check_local(struct ctx *c)
{
    const struct plugin_manifest *m = c->m;

    if (!(m->caps & PLUGIN_CAP_LOCAL_LISTEN) != !m->n_listen)
        return BAD(c, m->n_listen ? "local_listen: set, but capabilities does "
                                    "not include \"local-listen\""
                                  : "capabilities: \"local-listen\" needs "
                                    "local_listen (the ports it serves)");
    if (!(m->caps & PLUGIN_CAP_LOCAL_CONNECT) != !m->n_connect)
        return BAD(c, m->n_connect ? "local_connect: set, but capabilities "
                                     "does not include \"local-connect\""
                                   : "capabilities: \"local-connect\" needs "
                                     "local_connect (the addresses it uses)");
    return 0;
}

static int get_limit(struct ctx *c, const char *key, const json_t *v)
{
    static const struct {
        const char *key;
        uint64_t min, max;
    } limits[] = {
        {"fuel_per_event", PLUGIN_FUEL_MIN, PLUGIN_FUEL_MAX},
        {"memory_pages", 1, PLUGIN_PAGES_MAX},
        {"streams", 0, PLUGIN_STREAMS_MAX},
        {"timers", 0, PLUGIN_TIMERS_MAX},
        {"statements", 1, PLUGIN_STATEMENTS_MAX},
    };
    struct plugin_limits *l = &c->m->limits;
    uint64_t x = 0;
    char what[48];
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        if (strcmp(key, limits[i].key) != 0)
            continue;
        snprintf(what, sizeof(what), "limits.%s", key);
        int err = get_uint(c, v, what, limits[i].min, limits[i].max, &x);
        if (err)
            return err;
        switch (i) {
        case 0:
            l->fuel_per_event = x;
            break;
        case 1:
            l->memory_pages = (uint32_t)x;
            break;
        case 2:
            l->streams = (uint32_t)x;
            break;
        case 3:
            l->timers = (uint32_t)x;
            break;
        default:
            l->statements = (uint32_t)x;
            break;
        }
        return 0;
    }
    return BAD(c, "limits: unknown key (known: fuel_per_event, memory_pages, "
                  "streams, timers, statements)");
}

static int get_limits(struct ctx *c, const json_t *v)
{
    const char *key;
    json_t *val;
    if (!json_is_object(v))
        return BAD(c, "limits: must be an object");
    json_object_foreach((json_t *)v, key, val)
    {
        int err = get_limit(c, key, val);
        if (err)
            return err;
    }
    return 0;
}

static int get_serves(struct ctx *c, const json_t *v)
{
    const char *s = json_string_value(v);
    if (s && strcmp(s, "anyone") == 0)
        c->m->serves = PLUGIN_SERVES_ANYONE;
    else if (s && strcmp(s, "known-peers") == 0)
        c->m->serves = PLUGIN_SERVES_KNOWN_PEERS;
    else
        return BAD(c, "serves: must be \"anyone\" or \"known-peers\"");
    return 0;
}

static int get_apps(struct ctx *c, const json_t *v)
{
    if (!json_is_array(v))
        return BAD(c, "apps: must be an array of strings");
    if (json_array_size(v) > PLUGIN_APPS_MAX)
        return BAD(c, "apps: at most %d", PLUGIN_APPS_MAX);
    for (size_t i = 0; i < json_array_size(v); i++) {
        char what[32];
        snprintf(what, sizeof(what), "apps[%zu]", i);
        int err = get_string(c, json_array_get(v, i), what, CS_TEXT, 1,
                             PLUGIN_APP_MAX, c->m->apps[i]);
        if (err)
            return err;
        c->m->n_apps = i + 1;
    }
    return 0;
}

static int get_abi(struct ctx *c, const json_t *v)
{
    uint64_t abi = 0;
    int err = get_uint(c, v, "abi", 1, 1000000, &abi);
    if (err)
        return err;
    if (abi != PLUGIN_ABI_VERSION)
        return bad(c, FASTN_ERR_PLUGIN_ABI,
                   "abi: the plugin needs plugin ABI %llu; this fastn "
                   "speaks ABI %d",
                   (unsigned long long)abi, PLUGIN_ABI_VERSION);
    c->m->abi = (unsigned)abi;
    return 0;
}

/* One top-level key. */
static int get_field(struct ctx *c, const char *key, const json_t *v,
                     const json_t **quota, const json_t **page)
{
    struct plugin_manifest *m = c->m;
    if (strcmp(key, "name") == 0)
        return get_string(c, v, "name", CS_NAME, 1, PLUGIN_NAME_MAX, m->name);
    if (strcmp(key, "version") == 0)
        return get_string(c, v, "version", CS_VERSION, 1, PLUGIN_VERSION_MAX,
                          m->version);
    if (strcmp(key, "description") == 0)
        return get_string(c, v, "description", CS_TEXT, 0,
                          PLUGIN_DESCRIPTION_MAX, m->description);
    if (strcmp(key, "abi") == 0)
        return get_abi(c, v);
    if (strcmp(key, "protocols") == 0)
        return get_protocols(c, v);
    if (strcmp(key, "capabilities") == 0)
        return get_capabilities(c, v);
    if (strcmp(key, "storage_quota") == 0) {
        *quota = v; /* checked once capabilities are known */
        return 0;
    }
    if (strcmp(key, "storage_page_size") == 0) {
        *page = v;
        return 0;
    }
    if (strcmp(key, "limits") == 0)
        return get_limits(c, v);
    if (strcmp(key, "serves") == 0)
        return get_serves(c, v);
    if (strcmp(key, "apps") == 0)
        return get_apps(c, v);
    if (strcmp(key, "local_listen") == 0)
        return get_local_listen(c, v);
    if (strcmp(key, "local_connect") == 0)
        return get_local_connect(c, v);
    if (strncmp(key, "x-", 2) == 0)
        return 0;
    return BAD(c,
               "unknown field \"%.40s\" (fields of ABI 1: name, version, "
               "description, abi, protocols, capabilities, storage_quota, "
               "storage_page_size, limits, serves, apps, local_listen, "
               "local_connect; x-* for "
               "your own)",
               key);
}

static int check_required(struct ctx *c, const json_t *root)
{
    static const char *const required[] = {"name", "version", "abi"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!json_object_get(root, required[i]))
            return BAD(c, "%s: missing (required)", required[i]);
    if (strcmp(c->m->name, "fastn") == 0 || strcmp(c->m->name, "fastnd") == 0)
        return BAD(c, "name: \"%s\" is reserved for the daemon", c->m->name);
    return 0;
}

/* storage_page_size: a power of two from 512 to 65536, SQLite's page
 * sizes (a plugin storing large blobs writes and reads far fewer pages
 * with 64 KiB ones); it applies when the database is made. */
static int set_page_size(struct ctx *c, const json_t *page)
{
    uint64_t v = 0;
    int err = get_uint(c, page, "storage_page_size", 512, 65536, &v);
    if (!err && (v & (v - 1)))
        err = BAD(c,
                  "storage_page_size: %llu is not a power of two (512, "
                  "1024, ... 65536)",
                  (unsigned long long)v);
    c->m->storage_page_size = (unsigned)v;
    return err;
}

static int set_quota(struct ctx *c, const json_t *quota, const json_t *page)
{
    struct plugin_manifest *m = c->m;
    if (!(m->caps & PLUGIN_CAP_STORAGE)) {
        if (quota || page)
            return BAD(c,
                       "%s: set, but capabilities does not include "
                       "\"storage\"",
                       quota ? "storage_quota" : "storage_page_size");
        return 0;
    }
    m->storage_quota = PLUGIN_QUOTA_DEFAULT;
    int err = page ? set_page_size(c, page) : 0;
    if (err || !quota)
        return err;
    return get_uint(c, quota, "storage_quota", PLUGIN_QUOTA_MIN,
                    PLUGIN_QUOTA_MAX, &m->storage_quota);
}

static void set_defaults(struct plugin_manifest *m)
{
    m->limits = (struct plugin_limits){
        .fuel_per_event = PLUGIN_FUEL_DEFAULT,
        .memory_pages = PLUGIN_PAGES_DEFAULT,
        .streams = PLUGIN_STREAMS_DEFAULT,
        .timers = PLUGIN_TIMERS_DEFAULT,
        .statements = PLUGIN_STATEMENTS_DEFAULT,
    };
    m->serves = PLUGIN_SERVES_KNOWN_PEERS;
}

static int parse_root(struct ctx *c, const json_t *root)
{
    const json_t *quota = NULL, *page = NULL;
    const char *key;
    json_t *val;
    if (!json_is_object(root))
        return BAD(c, "the manifest must be a JSON object");
    json_object_foreach((json_t *)root, key, val)
    {
        int err = get_field(c, key, val, &quota, &page);
        if (err)
            return err;
    }
    int err = check_required(c, root);
    if (!err)
        err = check_local(c);
    return err ? err : set_quota(c, quota, page);
}

int plugin_manifest_parse(const char *json, size_t len,
                          struct plugin_manifest *m, char *err, size_t errlen)
{
    struct ctx c = {m, err, errlen};
    json_error_t jerr;
    if (err && errlen)
        err[0] = '\0';
    if (!m || (!json && len))
        return bad(&c, FASTN_ERR_INVAL, "no manifest");
    memset(m, 0, sizeof(*m));
    if (len > PLUGIN_MANIFEST_MAX)
        return bad(&c, FASTN_ERR_TOO_LARGE,
                   "the manifest is %zu bytes; at most %d are allowed", len,
                   PLUGIN_MANIFEST_MAX);
    set_defaults(m);
    json_t *root =
        json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        memset(m, 0, sizeof(*m));
        return BAD(&c,
                   "the manifest is not valid JSON: %s (line %d, column %d)",
                   jerr.text, jerr.line, jerr.column);
    }
    int rc = parse_root(&c, root);
    json_decref(root);
    if (rc)
        memset(m, 0, sizeof(*m));
    return rc;
}

/* --- helpers --- */

const char *plugin_cap_name(unsigned cap)
{
#define CAP_NAME_(bit, str)                                                    \
    if (cap == (unsigned)(bit))                                                \
        return str;
    PLUGIN_CAPS(CAP_NAME_)
#undef CAP_NAME_
    return NULL;
}

unsigned plugin_cap_from_name(const char *name)
{
#define CAP_BIT_(bit, str)                                                     \
    if (name && strcmp(name, str) == 0)                                        \
        return (unsigned)(bit);
    PLUGIN_CAPS(CAP_BIT_)
#undef CAP_BIT_
    return 0;
}

const char *plugin_serves_name(enum plugin_serves s)
{
    switch (s) {
    case PLUGIN_SERVES_ANYONE:
        return "anyone";
    case PLUGIN_SERVES_KNOWN_PEERS:
        return "known-peers";
    case PLUGIN_SERVES_NOBODY:
        return "nobody";
    }
    return "nobody";
}

int plugin_serves_from_name(const char *name)
{
    static const enum plugin_serves all[] = {
        PLUGIN_SERVES_ANYONE, PLUGIN_SERVES_KNOWN_PEERS, PLUGIN_SERVES_NOBODY};
    for (size_t i = 0; name && i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(name, plugin_serves_name(all[i])) == 0)
            return (int)all[i];
    return -1;
}

/* nobody 0, known-peers 1, anyone 2 */
static int serves_rank(enum plugin_serves s)
{
    return s == PLUGIN_SERVES_ANYONE        ? 2
           : s == PLUGIN_SERVES_KNOWN_PEERS ? 1
                                            : 0;
}

bool plugin_serves_narrower_eq(enum plugin_serves a, enum plugin_serves b)
{
    return serves_rank(a) <= serves_rank(b);
}

bool plugin_manifest_has_protocol(const struct plugin_manifest *m,
                                  const char *protocol)
{
    for (size_t i = 0; m && protocol && i < m->n_protocols; i++)
        if (strcmp(m->protocols[i], protocol) == 0)
            return true;
    return false;
}

static json_t *string_array(const char (*v)[PLUGIN_PROTOCOL_MAX + 1], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *limits_json(const struct plugin_limits *l)
{
    return json_pack("{sI sI sI sI sI}", "fuel_per_event",
                     (json_int_t)l->fuel_per_event, "memory_pages",
                     (json_int_t)l->memory_pages, "streams",
                     (json_int_t)l->streams, "timers", (json_int_t)l->timers,
                     "statements", (json_int_t)l->statements);
}

static json_t *caps_json(unsigned caps)
{
    json_t *a = json_array();
    for (unsigned bit = 1; a && bit <= PLUGIN_CAPS_ALL; bit <<= 1)
        if (caps & bit)
            json_array_append_new(a, json_string(plugin_cap_name(bit)));
    return a;
}

static json_t *apps_json(const struct plugin_manifest *m)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < m->n_apps; i++)
        json_array_append_new(a, json_string(m->apps[i]));
    return a;
}

/* local_listen and local_connect, as the manifest writes them. */
static int local_json(const struct plugin_manifest *m, json_t *o)
{
    json_t *l = json_array(), *c = json_array();
    char a[PLUGIN_ADDR_MAX + 1];
    int err = 0;

    for (size_t i = 0; l && i < m->n_listen; i++)
        json_array_append_new(l,
                              json_pack("{ss sI}", "name", m->listen[i].name,
                                        "port", (json_int_t)m->listen[i].port));
    for (size_t i = 0; c && i < m->n_connect; i++)
        json_array_append_new(
            c, json_string(plugin_addr_format(&m->connect[i], a)));
    if (m->n_listen && json_object_set(o, "local_listen", l))
        err = FASTN_ERR_NOMEM;
    if (m->n_connect && json_object_set(o, "local_connect", c))
        err = FASTN_ERR_NOMEM;
    json_decref(l);
    json_decref(c);
    return err;
}

int plugin_manifest_to_json(const struct plugin_manifest *m, char **out)
{
    if (!m || !out)
        return FASTN_ERR_INVAL;
    json_t *o = json_pack(
        "{ss ss ss sI so so so ss so}", "name", m->name, "version", m->version,
        "description", m->description, "abi", (json_int_t)m->abi, "protocols",
        string_array(m->protocols, m->n_protocols), "capabilities",
        caps_json(m->caps), "limits", limits_json(&m->limits), "serves",
        plugin_serves_name(m->serves), "apps", apps_json(m));
    /* storage_quota only with storage, as the parser demands */
    if (o && (m->caps & PLUGIN_CAP_STORAGE) &&
        json_object_set_new(o, "storage_quota",
                            json_integer((json_int_t)m->storage_quota))) {
        json_decref(o);
        o = NULL;
    }
    if (o && local_json(m, o)) {
        json_decref(o);
        o = NULL;
    }
    if (!o)
        return FASTN_ERR_NOMEM;
    *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return *out ? 0 : FASTN_ERR_NOMEM;
}
