/* Unit tests for src/plugin/manifest: the JSON rules (each bad field named
 * in the error), the custom-section walker on crafted and broken modules,
 * the interface check against the ABI and the capabilities, and the real
 * plugins and hostile test plugins as built (their manifests must parse;
 * the liar must be refused). */
#include <sys/stat.h>

#include "plugin/manifest.h"
#include "test.h"
#include "util/buf.h"

static char errmsg[256];
static struct plugin_manifest man;

static int parse(const char *json)
{
    return plugin_manifest_parse(json, strlen(json), &man, errmsg,
                                 sizeof(errmsg));
}

#define MIN_FIELDS "\"name\": \"x\", \"version\": \"1.0\", \"abi\": 1"

/* --- JSON --- */

TEST(minimal_manifest_gets_defaults)
{
    CHECK_ERR(parse("{" MIN_FIELDS "}"), 0);
    CHECK_STR(man.name, "x");
    CHECK_STR(man.version, "1.0");
    CHECK_EQ(man.abi, 1);
    CHECK_EQ(man.n_protocols, 0);
    CHECK_EQ(man.caps, 0);
    CHECK_EQ(man.storage_quota, 0);
    CHECK_EQ(man.serves, PLUGIN_SERVES_KNOWN_PEERS);
    CHECK_EQ(man.limits.fuel_per_event, PLUGIN_FUEL_DEFAULT);
    CHECK_EQ(man.limits.memory_pages, PLUGIN_PAGES_DEFAULT);
    CHECK_EQ(man.limits.streams, PLUGIN_STREAMS_DEFAULT);
    CHECK_EQ(man.limits.timers, PLUGIN_TIMERS_DEFAULT);
    CHECK_EQ(man.limits.statements, PLUGIN_STATEMENTS_DEFAULT);
    CHECK_STR(errmsg, "");
}

static const char full[] =
    "{\"name\": \"chat\", \"version\": \"2.1.0-rc1+b5\", \"abi\": 1,"
    " \"description\": \"Caf\\u00e9 chat \\u2014 ok\","
    " \"protocols\": [\"/fastn/chat/1.0.0\", \"/fastn/chat/2\"],"
    " \"capabilities\": [\"streams\", \"storage\", \"notify\", \"timers\"],"
    " \"storage_quota\": 1048576,"
    " \"limits\": {\"fuel_per_event\": 20000, \"memory_pages\": 10,"
    "   \"streams\": 0, \"timers\": 3, \"statements\": 4},"
    " \"serves\": \"anyone\", \"apps\": [\"fastn chat\", \"org.x.y\"],"
    " \"x-build\": {\"any\": [true, null]}}";

TEST(full_manifest)
{
    CHECK_ERR(parse(full), 0);
    CHECK_STR(man.name, "chat");
    CHECK_STR(man.version, "2.1.0-rc1+b5");
    CHECK_STR(man.description, "Caf\xc3\xa9 chat \xe2\x80\x94 ok");
    CHECK_EQ(man.n_protocols, 2);
    CHECK_STR(man.protocols[1], "/fastn/chat/2");
    CHECK(plugin_manifest_has_protocol(&man, "/fastn/chat/1.0.0"));
    CHECK(!plugin_manifest_has_protocol(&man, "/fastn/chat/1.0"));
    CHECK_EQ(man.caps, PLUGIN_CAP_STREAMS | PLUGIN_CAP_STORAGE |
                           PLUGIN_CAP_NOTIFY | PLUGIN_CAP_TIMERS);
    CHECK_EQ(man.storage_quota, 1048576);
    CHECK_EQ(man.limits.fuel_per_event, 20000);
    CHECK_EQ(man.limits.memory_pages, 10);
    CHECK_EQ(man.limits.streams, 0);
    CHECK_EQ(man.limits.timers, 3);
    CHECK_EQ(man.limits.statements, 4);
    CHECK_EQ(man.serves, PLUGIN_SERVES_ANYONE);
    CHECK_EQ(man.n_apps, 2);
    CHECK_STR(man.apps[0], "fastn chat");
}

TEST(storage_gets_default_quota)
{
    CHECK_ERR(parse("{" MIN_FIELDS ", \"capabilities\": [\"storage\"]}"), 0);
    CHECK_EQ(man.storage_quota, PLUGIN_QUOTA_DEFAULT);
    CHECK_EQ(man.storage_page_size, 0);
    CHECK_ERR(parse("{" MIN_FIELDS ", \"capabilities\": [\"storage\"],"
                    " \"storage_page_size\": 65536}"),
              0);
    CHECK_EQ(man.storage_page_size, 65536);
}

TEST(to_json_round_trip)
{
    struct plugin_manifest first;
    char *json = NULL;
    CHECK_ERR(parse(full), 0);
    first = man;
    CHECK_ERR(plugin_manifest_to_json(&first, &json), 0);
    CHECK(json != NULL);
    CHECK_ERR(parse(json), 0);
    CHECK(memcmp(&first, &man, sizeof(man)) == 0);
    free(json);
    /* without storage there is no quota to write back */
    CHECK_ERR(parse("{" MIN_FIELDS "}"), 0);
    first = man;
    CHECK_ERR(plugin_manifest_to_json(&first, &json), 0);
    CHECK(json && !strstr(json, "storage_quota"));
    CHECK_ERR(parse(json), 0);
    CHECK(memcmp(&first, &man, sizeof(man)) == 0);
    free(json);
}

struct bad_case {
    const char *json;
    int err;
    const char *says; /* a piece of the message */
};

static const struct bad_case bad_cases[] = {
    {"", FASTN_ERR_PLUGIN_MANIFEST, "not valid JSON"},
    {"{", FASTN_ERR_PLUGIN_MANIFEST, "not valid JSON"},
    {"[]", FASTN_ERR_PLUGIN_MANIFEST, "JSON object"},
    {"true", FASTN_ERR_PLUGIN_MANIFEST, "not valid JSON"},
    {"{" MIN_FIELDS "} {}", FASTN_ERR_PLUGIN_MANIFEST, "not valid JSON"},
    {"{" MIN_FIELDS ", \"name\": \"y\"}", FASTN_ERR_PLUGIN_MANIFEST,
     "duplicate"},
    {"{\"version\": \"1\", \"abi\": 1}", FASTN_ERR_PLUGIN_MANIFEST,
     "name: missing"},
    {"{\"name\": \"x\", \"abi\": 1}", FASTN_ERR_PLUGIN_MANIFEST,
     "version: missing"},
    {"{\"name\": \"x\", \"version\": \"1\"}", FASTN_ERR_PLUGIN_MANIFEST,
     "abi: missing"},
    {"{\"name\": \"Chat\", \"version\": \"1\", \"abi\": 1}",
     FASTN_ERR_PLUGIN_MANIFEST, "name: character 0"},
    {"{\"name\": \"a/b\", \"version\": \"1\", \"abi\": 1}",
     FASTN_ERR_PLUGIN_MANIFEST, "name: character 1"},
    {"{\"name\": \"..\", \"version\": \"1\", \"abi\": 1}",
     FASTN_ERR_PLUGIN_MANIFEST, "name"},
    {"{\"name\": \"\", \"version\": \"1\", \"abi\": 1}",
     FASTN_ERR_PLUGIN_MANIFEST, "name: must be 1 to 32"},
    {"{\"name\": \"abcdefghijabcdefghijabcdefghijabc\", \"version\": \"1\","
     " \"abi\": 1}",
     FASTN_ERR_PLUGIN_MANIFEST, "name: must be 1 to 32"},
    {"{\"name\": \"fastnd\", \"version\": \"1\", \"abi\": 1}",
     FASTN_ERR_PLUGIN_MANIFEST, "reserved"},
    {"{\"name\": 7, \"version\": \"1\", \"abi\": 1}", FASTN_ERR_PLUGIN_MANIFEST,
     "name: must be a string"},
    {"{\"name\": \"x\", \"version\": \"v1\", \"abi\": 1}",
     FASTN_ERR_PLUGIN_MANIFEST, "version: character 0"},
    {"{\"name\": \"x\", \"version\": \"1\", \"abi\": 2}", FASTN_ERR_PLUGIN_ABI,
     "speaks ABI 1"},
    {"{\"name\": \"x\", \"version\": \"1\", \"abi\": \"1\"}",
     FASTN_ERR_PLUGIN_MANIFEST, "abi: must be a whole number"},
    {"{\"name\": \"x\", \"version\": \"1\", \"abi\": 1.0}",
     FASTN_ERR_PLUGIN_MANIFEST, "abi: must be a whole number"},
    {"{\"name\": \"x\", \"version\": \"1\", \"abi\": 0}",
     FASTN_ERR_PLUGIN_MANIFEST, "abi: 0 is out of range"},
    {"{" MIN_FIELDS ", \"protocols\": \"/a\"}", FASTN_ERR_PLUGIN_MANIFEST,
     "protocols: must be an array"},
    {"{" MIN_FIELDS ", \"protocols\": [\"chat\"]}", FASTN_ERR_PLUGIN_MANIFEST,
     "protocols[0]: character 0"},
    {"{" MIN_FIELDS ", \"protocols\": [\"/a\", \"/b c\"]}",
     FASTN_ERR_PLUGIN_MANIFEST, "protocols[1]: character 2"},
    {"{" MIN_FIELDS ", \"protocols\": [\"/\"]}", FASTN_ERR_PLUGIN_MANIFEST,
     "protocols[0]: must be 2 to 256"},
    {"{" MIN_FIELDS ", \"protocols\": [\"/ipfs/ping/1.0.0\"]}",
     FASTN_ERR_PLUGIN_MANIFEST, "belongs to the daemon"},
    {"{" MIN_FIELDS ", \"protocols\": [\"/yamux/1.0.0\"]}",
     FASTN_ERR_PLUGIN_MANIFEST, "belongs to the daemon"},
    {"{" MIN_FIELDS ", \"protocols\": [\"/a\", \"/a\"]}",
     FASTN_ERR_PLUGIN_MANIFEST, "listed twice"},
    {"{" MIN_FIELDS ", \"protocols\": [\"/1\",\"/2\",\"/3\",\"/4\",\"/5\","
     "\"/6\",\"/7\",\"/8\",\"/9\",\"/10\",\"/11\",\"/12\",\"/13\",\"/14\","
     "\"/15\",\"/16\",\"/17\"]}",
     FASTN_ERR_PLUGIN_MANIFEST, "protocols: at most 16"},
    {"{" MIN_FIELDS ", \"capabilities\": [\"notfy\"]}",
     FASTN_ERR_PLUGIN_MANIFEST, "capabilities[0]: unknown"},
    {"{" MIN_FIELDS ", \"capabilities\": [\"timers\", \"timers\"]}",
     FASTN_ERR_PLUGIN_MANIFEST, "capabilities[1]: \"timers\" is listed twice"},
    {"{" MIN_FIELDS ", \"capabilities\": [1]}", FASTN_ERR_PLUGIN_MANIFEST,
     "capabilities[0]: must be a string"},
    {"{" MIN_FIELDS ", \"capabilities\": \"storage\"}",
     FASTN_ERR_PLUGIN_MANIFEST, "capabilities: must be an array"},
    {"{" MIN_FIELDS ", \"storage_quota\": 1048576}", FASTN_ERR_PLUGIN_MANIFEST,
     "does not include \"storage\""},
    {"{" MIN_FIELDS ", \"storage_page_size\": 65536}",
     FASTN_ERR_PLUGIN_MANIFEST, "storage_page_size: set, but capabilities"},
    {"{" MIN_FIELDS ", \"capabilities\": [\"storage\"],"
     " \"storage_page_size\": 3000}",
     FASTN_ERR_PLUGIN_MANIFEST, "storage_page_size: 3000 is not a power"},
    {"{" MIN_FIELDS ", \"capabilities\": [\"storage\"],"
     " \"storage_page_size\": 131072}",
     FASTN_ERR_PLUGIN_MANIFEST, "storage_page_size: 131072 is out of range"},
    {"{" MIN_FIELDS ", \"capabilities\": [\"storage\"], \"storage_quota\": 5}",
     FASTN_ERR_PLUGIN_MANIFEST, "storage_quota: 5 is out of range"},
    {"{" MIN_FIELDS ", \"capabilities\": [\"storage\"],"
     " \"storage_quota\": 99999999999999}",
     FASTN_ERR_PLUGIN_MANIFEST, "storage_quota"},
    {"{" MIN_FIELDS ", \"capabilities\": [\"storage\"],"
     " \"storage_quota\": -1}",
     FASTN_ERR_PLUGIN_MANIFEST, "storage_quota: -1 is out of range"},
    {"{" MIN_FIELDS ", \"limits\": {\"memory\": 1}}", FASTN_ERR_PLUGIN_MANIFEST,
     "limits: unknown key"},
    {"{" MIN_FIELDS ", \"limits\": {\"memory_pages\": 0}}",
     FASTN_ERR_PLUGIN_MANIFEST, "limits.memory_pages: 0 is out of range"},
    {"{" MIN_FIELDS ", \"limits\": {\"memory_pages\": 5000}}",
     FASTN_ERR_PLUGIN_MANIFEST, "limits.memory_pages: 5000"},
    {"{" MIN_FIELDS ", \"limits\": {\"fuel_per_event\": \"lots\"}}",
     FASTN_ERR_PLUGIN_MANIFEST, "limits.fuel_per_event: must be a whole"},
    {"{" MIN_FIELDS ", \"limits\": []}", FASTN_ERR_PLUGIN_MANIFEST,
     "limits: must be an object"},
    {"{" MIN_FIELDS ", \"serves\": \"everyone\"}", FASTN_ERR_PLUGIN_MANIFEST,
     "serves"},
    {"{" MIN_FIELDS ", \"apps\": [\"\"]}", FASTN_ERR_PLUGIN_MANIFEST,
     "apps[0]: must be 1 to 64"},
    {"{" MIN_FIELDS ", \"apps\": [\"a\\u0007b\"]}", FASTN_ERR_PLUGIN_MANIFEST,
     "apps[0]: character 1"},
    {"{" MIN_FIELDS ", \"description\": \"two\\nlines\"}",
     FASTN_ERR_PLUGIN_MANIFEST, "description: character 3"},
    {"{" MIN_FIELDS ", \"description\": \"c1\\u0085\"}",
     FASTN_ERR_PLUGIN_MANIFEST, "description: character 2"},
    {"{" MIN_FIELDS ", \"description\": \"nul\\u0000\"}",
     FASTN_ERR_PLUGIN_MANIFEST, "not valid JSON"},
    {"{" MIN_FIELDS ", \"capabilites\": [\"storage\"]}",
     FASTN_ERR_PLUGIN_MANIFEST, "unknown field \"capabilites\""},
};

TEST(bad_fields_are_named)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        int err = parse(c->json);
        if (err != c->err || !strstr(errmsg, c->says)) {
            fprintf(stderr, "case %zu: %s\n  got %s \"%s\", want %s \"%s\"\n",
                    i, c->json, fastn_err_name(err), errmsg,
                    fastn_err_name(c->err), c->says);
            test_case_failures++;
        }
        /* nothing half-parsed is left behind */
        CHECK(err == 0 || (man.name[0] == '\0' && man.abi == 0));
    }
}

TEST(oversized_manifest)
{
    size_t n = PLUGIN_MANIFEST_MAX + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    memcpy(big, "{" MIN_FIELDS "}", strlen("{" MIN_FIELDS "}"));
    CHECK_ERR(plugin_manifest_parse(big, n, &man, errmsg, sizeof(errmsg)),
              FASTN_ERR_TOO_LARGE);
    CHECK(strstr(errmsg, "at most") != NULL);
    CHECK_ERR(plugin_manifest_parse(big, n - 1, &man, errmsg, sizeof(errmsg)),
              0);
    free(big);
    /* a tiny error buffer is cut, not overrun */
    char tiny[8] = "xxxxxxx";
    CHECK_ERR(plugin_manifest_parse("{", 1, &man, tiny, 4),
              FASTN_ERR_PLUGIN_MANIFEST);
    CHECK_EQ(strlen(tiny), 3);
    CHECK_ERR(plugin_manifest_parse("{", 1, &man, NULL, 0),
              FASTN_ERR_PLUGIN_MANIFEST);
}

/* --- crafted modules --- */

struct wasm {
    struct buf b;
};

static void w_init(struct wasm *w)
{
    static const uint8_t hdr[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    buf_init(&w->b, 1 << 20);
    buf_append(&w->b, hdr, sizeof(hdr));
}

static void w_section(struct wasm *w, uint8_t id, const struct buf *payload)
{
    buf_put_u8(&w->b, id);
    buf_put_uvarint(&w->b, payload->len);
    buf_append(&w->b, payload->data, payload->len);
}

static void put_name(struct buf *b, const char *s)
{
    buf_put_uvarint(b, strlen(s));
    buf_append(b, s, strlen(s));
}

static void w_custom(struct wasm *w, const char *name, const char *data)
{
    struct buf p;
    buf_init(&p, 1 << 20);
    put_name(&p, name);
    buf_append(&p, data, strlen(data));
    w_section(w, 0, &p);
    buf_cleanup(&p);
}

static int from_wasm(const struct wasm *w)
{
    return plugin_manifest_from_wasm(w->b.data, w->b.len, &man, errmsg,
                                     sizeof(errmsg));
}

TEST(custom_section_found)
{
    struct wasm w;
    w_init(&w);
    w_custom(&w, "name", "whatever");
    w_custom(&w, "fastn.manifestx", "{}");
    w_custom(&w, PLUGIN_MANIFEST_SECTION, "{" MIN_FIELDS "}");
    CHECK_ERR(from_wasm(&w), 0);
    CHECK_STR(man.name, "x");
    buf_cleanup(&w.b);
}

TEST(custom_section_missing_or_twice)
{
    struct wasm w;
    w_init(&w);
    CHECK_ERR(from_wasm(&w), FASTN_ERR_PLUGIN_MANIFEST);
    CHECK(strstr(errmsg, "FASTN_MANIFEST") != NULL);
    w_custom(&w, PLUGIN_MANIFEST_SECTION, "{" MIN_FIELDS "}");
    w_custom(&w, PLUGIN_MANIFEST_SECTION,
             "{\"name\": \"other\", \"version\": \"1\", \"abi\": 1}");
    CHECK_ERR(from_wasm(&w), FASTN_ERR_PLUGIN_MANIFEST);
    CHECK(strstr(errmsg, "more than one") != NULL);
    const uint8_t *p;
    size_t n;
    CHECK_ERR(plugin_wasm_custom_section(w.b.data, w.b.len,
                                         PLUGIN_MANIFEST_SECTION, &p, &n),
              FASTN_ERR_EXISTS);
    buf_cleanup(&w.b);
}

TEST(broken_modules)
{
    const uint8_t *p;
    size_t n;
    struct wasm w;
    /* not wasm at all, and the wrong version */
    CHECK_ERR(plugin_manifest_from_wasm((const uint8_t *)"\x7f"
                                                         "ELF",
                                        4, &man, errmsg, sizeof(errmsg)),
              FASTN_ERR_WASM_MALFORMED);
    const uint8_t v2[8] = {0, 'a', 's', 'm', 2, 0, 0, 0};
    CHECK_ERR(plugin_wasm_custom_section(v2, 8, "x", &p, &n),
              FASTN_ERR_WASM_MALFORMED);
    CHECK_ERR(plugin_wasm_custom_section(v2, 3, "x", &p, &n),
              FASTN_ERR_WASM_MALFORMED);
    /* a section that claims more bytes than there are */
    w_init(&w);
    w_custom(&w, PLUGIN_MANIFEST_SECTION, "{" MIN_FIELDS "}");
    CHECK_ERR(plugin_wasm_custom_section(w.b.data, w.b.len - 1,
                                         PLUGIN_MANIFEST_SECTION, &p, &n),
              FASTN_ERR_WASM_MALFORMED);
    /* a custom name longer than its section */
    buf_reset(&w.b);
    w_init(&w);
    const uint8_t lying_name[] = {0, 3, 10, 'a', 'b'};
    buf_append(&w.b, lying_name, sizeof(lying_name));
    CHECK_ERR(plugin_wasm_custom_section(w.b.data, w.b.len, "ab", &p, &n),
              FASTN_ERR_WASM_MALFORMED);
    buf_cleanup(&w.b);
    /* a size in a 6-byte LEB128, and an unknown section id */
    const uint8_t long_leb[] = {0, 'a',  's',  'm',  1,    0,    0, 0,
                                0, 0x80, 0x80, 0x80, 0x80, 0x80, 0};
    CHECK_ERR(
        plugin_wasm_custom_section(long_leb, sizeof(long_leb), "x", &p, &n),
        FASTN_ERR_WASM_MALFORMED);
    const uint8_t id13[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 13, 0};
    CHECK_ERR(plugin_wasm_custom_section(id13, sizeof(id13), "x", &p, &n),
              FASTN_ERR_WASM_MALFORMED);
    /* a section of 4 GiB - 1 in a small file */
    const uint8_t huge[] = {0, 'a',  's',  'm',  1,    0,    0, 0,
                            1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0};
    CHECK_ERR(plugin_wasm_custom_section(huge, sizeof(huge), "x", &p, &n),
              FASTN_ERR_WASM_MALFORMED);
}

/* A module interface: types, imports, functions, exports (no code: the
 * checker does not read it). */
struct iface {
    const char *types[8][2]; /* params, results as ABI letters */
    size_t n_types;
    struct {
        const char *module, *field;
        uint8_t kind;
        uint32_t type;
    } imports[8];
    size_t n_imports;
    uint32_t funcs[16]; /* type of each defined function */
    size_t n_funcs;
    struct {
        const char *name;
        uint8_t kind;
        uint32_t idx;
    } exports[16];
    size_t n_exports;
};

static uint8_t valtype(char c)
{
    return c == 'i' ? 0x7f : c == 'I' ? 0x7e : c == 'f' ? 0x7d : 0x7c;
}

static void put_types(struct buf *b, const char *s)
{
    buf_put_uvarint(b, strlen(s));
    for (; *s; s++)
        buf_put_u8(b, valtype(*s));
}

static void build(const struct iface *f, struct wasm *w)
{
    struct buf p;
    w_init(w);
    buf_init(&p, 1 << 16);
    buf_put_uvarint(&p, f->n_types);
    for (size_t i = 0; i < f->n_types; i++) {
        buf_put_u8(&p, 0x60);
        put_types(&p, f->types[i][0]);
        put_types(&p, f->types[i][1]);
    }
    w_section(w, 1, &p);
    buf_reset(&p);
    buf_put_uvarint(&p, f->n_imports);
    for (size_t i = 0; i < f->n_imports; i++) {
        put_name(&p, f->imports[i].module);
        put_name(&p, f->imports[i].field);
        buf_put_u8(&p, f->imports[i].kind);
        if (f->imports[i].kind == 2) { /* memory: limits min 1 */
            buf_put_u8(&p, 0);
            buf_put_u8(&p, 1);
        } else {
            buf_put_uvarint(&p, f->imports[i].type);
        }
    }
    w_section(w, 2, &p);
    buf_reset(&p);
    buf_put_uvarint(&p, f->n_funcs);
    for (size_t i = 0; i < f->n_funcs; i++)
        buf_put_uvarint(&p, f->funcs[i]);
    w_section(w, 3, &p);
    buf_reset(&p);
    buf_put_uvarint(&p, f->n_exports);
    for (size_t i = 0; i < f->n_exports; i++) {
        put_name(&p, f->exports[i].name);
        buf_put_u8(&p, f->exports[i].kind);
        buf_put_uvarint(&p, f->exports[i].idx);
    }
    w_section(w, 7, &p);
    buf_cleanup(&p);
}

/* The echo-like interface every case below starts from: imports
 * fastn.log and fastn.stream_write; defines fastn_alloc, fastn_free,
 * on_stream, on_data, on_close; exports them and memory. */
static struct iface good(void)
{
    struct iface f = {
        .types =
            {{"iii", "i"}, {"i", "i"}, {"i", ""}, {"iiiii", "i"}, {"ii", "i"}},
        .n_types = 5,
        .imports = {{"fastn", "log", 0, 0}, {"fastn", "stream_write", 0, 0}},
        .n_imports = 2,
        .funcs = {1, 2, 3, 0, 4}, /* funcidx 2..6 */
        .n_funcs = 5,
        .exports = {{"memory", 2, 0},
                    {"fastn_alloc", 0, 2},
                    {"fastn_free", 0, 3},
                    {"on_stream", 0, 4},
                    {"on_data", 0, 5},
                    {"on_close", 0, 6},
                    {"helper", 0, 2}},
        .n_exports = 7,
    };
    return f;
}

static int check(const struct iface *f, const char *manifest)
{
    struct wasm w;
    CHECK_ERR(parse(manifest), 0);
    build(f, &w);
    int err = plugin_wasm_check_interface(w.b.data, w.b.len, &man, errmsg,
                                          sizeof(errmsg));
    buf_cleanup(&w.b);
    return err;
}

#define WITH_PROTO "{" MIN_FIELDS ", \"protocols\": [\"/p\"]}"

TEST(interface_good)
{
    struct iface f = good();
    CHECK_ERR(check(&f, WITH_PROTO), 0);
    CHECK_STR(errmsg, "");
}

TEST(interface_bad_imports)
{
    struct iface f = good();
    f.imports[0].module = "env";
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_ABI);
    CHECK(strstr(errmsg, "env.log") != NULL);

    f = good();
    f.imports[1].field = "stream_teleport";
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_ABI);
    CHECK(strstr(errmsg, "not in plugin ABI") != NULL);

    f = good();
    f.imports[0].type = 1; /* log as (i)->(i) */
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_ABI);
    CHECK(strstr(errmsg, "fastn.log as (i)->(i)") != NULL);

    f = good();
    f.imports[0].type = 7; /* no such type */
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_WASM_MALFORMED);

    f = good();
    f.imports[1] = (__typeof__(f.imports[1])){"env", "memory", 2, 0};
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_ABI);
    CHECK(strstr(errmsg, "not a function") != NULL);

    f = good();
    f.imports[1] =
        (__typeof__(f.imports[1])){"wasi_snapshot_preview1", "fd_write", 0, 0};
    CHECK_ERR(check(&f, WITH_PROTO), 0);
}

TEST(interface_capabilities)
{
    struct iface f = good();
    f.types[5][0] = "iiii", f.types[5][1] = "i", f.n_types = 6;
    f.imports[1] = (__typeof__(f.imports[1])){"fastn", "notify", 0, 5};
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_CAPABILITY);
    CHECK(strstr(errmsg, "fastn.notify") && strstr(errmsg, "\"notify\""));
    CHECK_ERR(check(&f, "{" MIN_FIELDS ", \"protocols\": [\"/p\"],"
                        " \"capabilities\": [\"notify\"]}"),
              0);
    CHECK_EQ(plugin_import_capability("notify"), PLUGIN_CAP_NOTIFY);
    CHECK_EQ(plugin_import_capability("sql_step"), PLUGIN_CAP_STORAGE);
    CHECK_EQ(plugin_import_capability("log"), 0);
    CHECK_EQ(plugin_import_capability("nope"), -1);
    CHECK_STR(plugin_cap_name(PLUGIN_CAP_TIMERS), "timers");
    CHECK(plugin_cap_name(3) == NULL);
}

TEST(interface_bad_exports)
{
    struct iface f = good();
    f.exports[0].name = "mem";
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_ABI);
    CHECK(strstr(errmsg, "memory") != NULL);

    f = good();
    f.exports[4].name = "on_dat";
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_EXPORT);
    CHECK_STR(errmsg, "unknown export on_dat: did you mean on_data?");
    /* a misspelt handler: the nearest event is named, not "wrong ABI" */
    f = good();
    f.exports[5].name = "on_closed";
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_EXPORT);
    CHECK_STR(errmsg, "unknown export on_closed: did you mean on_close?");
    f = good();
    f.exports[6].name = "on_frobnicate";
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_EXPORT);
    CHECK(strstr(errmsg, "unknown export on_frobnicate: ABI 1 has no such "
                         "event (on_start,") == errmsg);

    f = good();
    f.exports[4].idx = 6; /* on_data pointing at on_close's (ii)->(i) */
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_ABI);
    CHECK(strstr(errmsg, "on_data as (ii)->(i)") != NULL);

    f = good();
    f.exports[4].idx = 0; /* an import re-exported */
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_ABI);

    f = good();
    f.exports[4].idx = 99; /* past the functions */
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_WASM_MALFORMED);

    f = good();
    f.exports[1].name = "alloc";
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_ABI);
    CHECK(strstr(errmsg, "fastn_alloc") != NULL);

    /* on_stream is needed only with protocols */
    f = good();
    f.exports[3].name = "unused";
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_PLUGIN_ABI);
    CHECK(strstr(errmsg, "on_stream") != NULL);
    CHECK_ERR(check(&f, "{" MIN_FIELDS "}"), 0);

    /* streams and timers need on_open and on_timer */
    f = good();
    CHECK_ERR(check(&f, "{" MIN_FIELDS ", \"protocols\": [\"/p\"],"
                        " \"capabilities\": [\"timers\"]}"),
              FASTN_ERR_PLUGIN_ABI);
    CHECK(strstr(errmsg, "on_timer") != NULL);
    CHECK_ERR(check(&f, "{" MIN_FIELDS ", \"protocols\": [\"/p\"],"
                        " \"capabilities\": [\"streams\"]}"),
              FASTN_ERR_PLUGIN_ABI);
    CHECK(strstr(errmsg, "on_open") != NULL);

    /* the same ABI export twice */
    f = good();
    f.exports[6].name = "on_data";
    CHECK_ERR(check(&f, WITH_PROTO), FASTN_ERR_WASM_MALFORMED);
}

/* --- the plugins as built --- */

static uint8_t *read_file(const char *rel, size_t *len)
{
    char path[512];
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    snprintf(path, sizeof(path), "%s/%s/%s", top ? top : ".",
             build ? build : "build", rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: not built\n", path);
        return NULL;
    }
    uint8_t *data = malloc(4 << 20);
    *len = fread(data, 1, 4 << 20, f);
    fclose(f);
    return data;
}

/* Loads a built plugin; returns its manifest and interface results. */
static int load_built(const char *rel, int *iface_err)
{
    size_t len = 0;
    uint8_t *data = read_file(rel, &len);
    if (!data) {
        return -1;
    }
    int err =
        plugin_manifest_from_wasm(data, len, &man, errmsg, sizeof(errmsg));
    if (err)
        fprintf(stderr, "%s: %s\n", rel, errmsg);
    *iface_err = err ? err
                     : plugin_wasm_check_interface(data, len, &man, errmsg,
                                                   sizeof(errmsg));
    free(data);
    return err;
}

TEST(built_echo_and_chat)
{
    int iface;
    if (load_built("plugins/echo.wasm", &iface) < 0)
        return;
    CHECK_STR(man.name, "echo");
    CHECK(plugin_manifest_has_protocol(&man, "/fastn/echo/1.0.0"));
    CHECK_EQ(man.caps, 0);
    CHECK_EQ(man.serves, PLUGIN_SERVES_ANYONE);
    CHECK_EQ(man.limits.streams, 256);
    CHECK_ERR(iface, 0);
    if (iface)
        fprintf(stderr, "echo: %s\n", errmsg);
    if (load_built("plugins/chat.wasm", &iface) < 0)
        return;
    CHECK_STR(man.name, "chat");
    CHECK_EQ(man.caps, PLUGIN_CAP_STREAMS | PLUGIN_CAP_STORAGE |
                           PLUGIN_CAP_NOTIFY | PLUGIN_CAP_TIMERS);
    CHECK_EQ(man.storage_quota, 64ull << 20);
    CHECK_STR(man.apps[0], "fastn chat");
    CHECK_ERR(iface, 0);
    if (iface)
        fprintf(stderr, "chat: %s\n", errmsg);
}

TEST(built_hostile_plugins)
{
    static const char *const names[] = {
        "loop",  "membomb", "badptr",      "recurse", "attach",
        "quota", "streams", "liar_memory", "local",
    };
    int iface;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "tests/plugins/%s.wasm", names[i]);
        int err = load_built(rel, &iface);
        if (err < 0)
            return;
        CHECK_ERR(err, 0);
        CHECK(strncmp(man.name, "hostile-", 8) == 0);
        CHECK_ERR(iface, 0); /* they pass the loader: the host stops them */
        if (iface)
            fprintf(stderr, "%s: %s\n", names[i], errmsg);
    }
    /* the liar's manifest parses, but its imports give it away */
    if (load_built("tests/plugins/liar.wasm", &iface) < 0)
        return;
    CHECK_STR(man.name, "hostile-liar");
    CHECK_EQ(man.caps, 0);
    CHECK_ERR(iface, FASTN_ERR_PLUGIN_CAPABILITY);
    CHECK(strstr(errmsg, "the manifest does not ask for") != NULL);
    /* a misspelt handler is named, with the event it likely meant */
    if (load_built("tests/plugins/misspelt.wasm", &iface) < 0)
        return;
    CHECK_ERR(iface, FASTN_ERR_PLUGIN_EXPORT);
    CHECK_STR(errmsg, "unknown export on_closed: did you mean on_close?");
}

/* --- loopback capabilities --- */

TEST(local_fields)
{
    char a[PLUGIN_ADDR_MAX + 1], *json = NULL;

    CHECK_ERR(parse("{" MIN_FIELDS ", \"capabilities\": [\"local-listen\", "
                    "\"local-connect\"], \"local_listen\": [{\"name\": "
                    "\"smtp\", \"port\": 2525}, {\"port\": 1143, \"name\": "
                    "\"imap\"}], \"local_connect\": [\"127.0.0.1:22\", "
                    "\"[::1]:631\", \"127.1.2.3:9\"]}"),
              0);
    CHECK_EQ(man.caps, PLUGIN_CAP_LOCAL_LISTEN | PLUGIN_CAP_LOCAL_CONNECT);
    CHECK_EQ(man.n_listen, 2);
    CHECK_STR(man.listen[1].name, "imap");
    CHECK_EQ(man.listen[1].port, 1143);
    CHECK_EQ(plugin_manifest_listen_index(&man, "imap"), 1);
    CHECK_EQ(plugin_manifest_listen_index(&man, "pop"), -1);
    CHECK_EQ(man.n_connect, 3);
    CHECK_STR(plugin_addr_format(&man.connect[1], a), "[::1]:631");
    CHECK_STR(plugin_addr_format(&man.connect[2], a), "127.1.2.3:9");
    CHECK_ERR(plugin_manifest_to_json(&man, &json), 0);
    CHECK(strstr(json, "\"local_listen\":[{\"name\":\"smtp\",\"port\":2525}"));
    CHECK(strstr(json, "\"local_connect\":[\"127.0.0.1:22\",\"[::1]:631\""));
    CHECK_ERR(
        plugin_manifest_parse(json, strlen(json), &man, errmsg, sizeof(errmsg)),
        0);
    CHECK_EQ(man.n_listen, 2);
    free(json);
}

TEST(local_fields_bad)
{
    static const struct {
        const char *json, *err;
    } cases[] = {
        {"\"capabilities\": [\"local-listen\"]", "needs local_listen"},
        {"\"local_connect\": [\"127.0.0.1:22\"]", "does not include"},
        {"\"capabilities\": [\"local-connect\"], \"local_connect\": "
         "[\"10.0.0.1:22\"]",
         "not a loopback address"},
        {"\"capabilities\": [\"local-connect\"], \"local_connect\": "
         "[\"[::2]:22\"]",
         "not a loopback address"},
        {"\"capabilities\": [\"local-connect\"], \"local_connect\": "
         "[\"localhost:22\"]",
         "not ADDRESS:PORT"},
        {"\"capabilities\": [\"local-connect\"], \"local_connect\": "
         "[\"127.0.0.1:0\"]",
         "not ADDRESS:PORT"},
        {"\"capabilities\": [\"local-connect\"], \"local_connect\": "
         "[\"127.0.0.1:22\", \"127.0.0.1:22\"]",
         "listed twice"},
        {"\"capabilities\": [\"local-listen\"], \"local_listen\": "
         "[{\"name\": \"a\", \"port\": 70000}]",
         "out of range"},
        {"\"capabilities\": [\"local-listen\"], \"local_listen\": "
         "[{\"name\": \"a\", \"port\": 1, \"x\": 2}]",
         "must be {"},
        {"\"capabilities\": [\"local-listen\"], \"local_listen\": "
         "[{\"name\": \"a\", \"port\": 1}, {\"name\": \"b\", "
         "\"port\": 1}]",
         "listed twice"},
    };
    char json[512];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(json, sizeof(json), "{" MIN_FIELDS ", %s}", cases[i].json);
        CHECK_ERR(parse(json), FASTN_ERR_PLUGIN_MANIFEST);
        if (!strstr(errmsg, cases[i].err))
            fprintf(stderr, "case %zu: %s\n", i, errmsg);
        CHECK(strstr(errmsg, cases[i].err) != NULL);
    }
}

TEST(loopback_addresses)
{
    struct plugin_addr a, b;

    CHECK_ERR(plugin_addr_parse("127.0.0.1:65535", &a), 0);
    CHECK_EQ(a.port, 65535);
    CHECK_ERR(plugin_addr_parse("[::1]:22", &b), 0);
    CHECK(!plugin_addr_equal(&a, &b));
    CHECK_ERR(plugin_addr_parse("[0:0::1]:22", &a), 0);
    CHECK(plugin_addr_equal(&a, &b));
    CHECK_ERR(plugin_addr_parse("0.0.0.0:22", &a), FASTN_ERR_PERM);
    CHECK_ERR(plugin_addr_parse("[::ffff:127.0.0.1]:22", &a), FASTN_ERR_PERM);
    CHECK_ERR(plugin_addr_parse("::1:22", &a), FASTN_ERR_INVAL);
    CHECK_ERR(plugin_addr_parse("127.0.0.1:022", &a), FASTN_ERR_INVAL);
    CHECK_ERR(plugin_addr_parse("127.0.0.1:65536", &a), FASTN_ERR_INVAL);
    CHECK_ERR(plugin_addr_parse("127.0.0.1:", &a), FASTN_ERR_INVAL);
    CHECK_ERR(plugin_addr_parse(":22", &a), FASTN_ERR_INVAL);
    CHECK_ERR(plugin_addr_parse("[127.0.0.1]:22", &a), FASTN_ERR_INVAL);
    CHECK_ERR(plugin_addr_parse("127.0.0.1:22 ", &a), FASTN_ERR_INVAL);
}

int main(void)
{
    RUN(minimal_manifest_gets_defaults);
    RUN(full_manifest);
    RUN(storage_gets_default_quota);
    RUN(to_json_round_trip);
    RUN(bad_fields_are_named);
    RUN(oversized_manifest);
    RUN(custom_section_found);
    RUN(custom_section_missing_or_twice);
    RUN(broken_modules);
    RUN(interface_good);
    RUN(interface_bad_imports);
    RUN(interface_capabilities);
    RUN(interface_bad_exports);
    RUN(local_fields);
    RUN(local_fields_bad);
    RUN(loopback_addresses);
    /* The built plugins: without the wasm32-wasi toolchain they are not
     * there, and this part is skipped (said on the last line). */
    RUN(built_echo_and_chat);
    RUN(built_hostile_plugins);
    int rc = test_done();
    {
        size_t len;
        uint8_t *d = read_file("plugins/echo.wasm", &len);
        if (!d && rc == 0) {
            printf("skipped: plugins not built (no wasm32-wasi toolchain; "
                   "run scripts/install-deps.sh all)\n");
            return 77;
        }
        free(d);
    }
    return rc;
}
