/*
 * Registry indexes (src/registry/index.c, index_entry.c, index_build.c):
 * strict parsing with errors that name the registry and the field, huge
 * and malformed indexes, look-ups, writing back, and building the index
 * of a folder of plugins signed by the real minisign.
 */
#include "registry/index.h"

#include "registry_harness.h"
#include "test.h"

#define SHA "408eeb1a4bce2b30d8fe9e1831b97f10aa8742547e4bcc36d76746b2e2548770"

static const char good[] =
    "{\"fastn-registry\": 1, \"x-note\": \"ok\", \"plugins\": ["
    "{\"name\": \"chat\", \"version\": \"1.0.0\", \"file\": \"chat.wasm\","
    " \"size\": 44092, \"sha256\": \"" SHA
    "\", \"signer\": \"27014CF614D5387A\","
    " \"protocols\": [\"/fastn/chat/1.0.0\"],"
    " \"capabilities\": [\"streams\", \"storage\", \"teleport\"],"
    " \"summary\": \"Person-to-person messages\", \"apps\": [\"fastn chat\"]},"
    "{\"name\": \"chat\", \"version\": \"1.10.0\", \"file\": "
    "\"chat-1.10.wasm\","
    " \"size\": 50000, \"sha256\": \"" SHA
    "\", \"signer\": \"27014cf614d5387a\","
    " \"protocols\": [\"/fastn/chat/1.0.0\", \"/fastn/chat/2.0.0\"]},"
    "{\"name\": \"echo\", \"version\": \"1.2.0\", \"file\": \"echo.wasm\","
    " \"size\": 17299, \"sha256\": \"" SHA "\", \"signer\": \"1\","
    " \"protocols\": [\"/fastn/echo/1.0.0\"], \"x-future\": {\"a\": 1}}"
    "]}";

static int parse(const char *json, struct registry_index *idx, char *err,
                 size_t errlen)
{
    return registry_index_parse("test", (const uint8_t *)json, strlen(json),
                                idx, err, errlen);
}

TEST(good_index)
{
    struct registry_index idx;
    char err[256] = "";
    CHECK_ERR(parse(good, &idx, err, sizeof(err)), 0);
    if (err[0])
        fprintf(stderr, "%s\n", err);
    CHECK_EQ(idx.n, 3);
    const struct registry_entry *e = &idx.entries[0];
    CHECK_STR(e->name, "chat");
    CHECK_EQ(e->size, 44092);
    CHECK_EQ(e->sha256[0], 0x40);
    CHECK_EQ(e->sha256[31], 0x70);
    CHECK_EQ(e->signer[0], 0x7a); /* little-endian, as minisign's key id */
    CHECK_EQ(e->n_caps, 3);
    CHECK_EQ(e->caps_known, PLUGIN_CAP_STREAMS | PLUGIN_CAP_STORAGE);
    CHECK(e->caps_unknown);
    CHECK_STR(idx.entries[1].summary, "");
    CHECK_EQ(idx.entries[1].n_caps, 0);
    CHECK(!idx.entries[1].caps_unknown);
    /* the highest version, a version, a protocol, a hash */
    CHECK_STR(registry_index_find(&idx, "chat", NULL)->version, "1.10.0");
    CHECK_STR(registry_index_find(&idx, "chat", "1.0.0")->file, "chat.wasm");
    CHECK(registry_index_find(&idx, "chat", "2.0.0") == NULL);
    CHECK(registry_index_find(&idx, "mail", NULL) == NULL);
    CHECK_STR(registry_index_find_protocol(&idx, "/fastn/chat/1.0.0")->version,
              "1.10.0");
    CHECK_STR(registry_index_find_protocol(&idx, "/fastn/echo/1.0.0")->name,
              "echo");
    CHECK(registry_index_find_protocol(&idx, "/fastn/mail/1.0.0") == NULL);
    CHECK(registry_index_find_sha256(&idx, e->sha256) == e);
    /* search */
    CHECK(registry_entry_matches(e, "PERSON"));
    CHECK(registry_entry_matches(e, "fastn chat"));
    CHECK(registry_entry_matches(e, "/chat/"));
    CHECK(registry_entry_matches(e, ""));
    CHECK(!registry_entry_matches(e, "mail"));
    registry_index_cleanup(&idx);
}

/* What is written back is read back the same. */
TEST(round_trip)
{
    struct registry_index a, b;
    char *json = NULL, *again = NULL;
    CHECK_ERR(parse(good, &a, NULL, 0), 0);
    CHECK_ERR(registry_index_to_json(&a, &json), 0);
    CHECK_ERR(parse(json, &b, NULL, 0), 0);
    CHECK_EQ(a.n, b.n);
    CHECK_ERR(registry_index_to_json(&b, &again), 0);
    CHECK_STR(json, again);
    free(json);
    free(again);
    registry_index_cleanup(&a);
    registry_index_cleanup(&b);
}

/* good with `from` replaced by `to`, parsed: the error and its text. */
static int mutate(const char *from, const char *to, char *err, size_t errlen)
{
    char json[8192];
    const char *at = strstr(good, from);
    struct registry_index idx;
    if (!at) {
        fprintf(stderr, "no %s in the index\n", from);
        return -999;
    }
    snprintf(json, sizeof(json), "%.*s%s%s", (int)(at - good), good, to,
             at + strlen(from));
    err[0] = 0;
    int rc = parse(json, &idx, err, errlen);
    if (!rc)
        registry_index_cleanup(&idx);
    return rc;
}

#define REFUSED(from, to, field)                                               \
    do {                                                                       \
        char e_[256];                                                          \
        CHECK_ERR(mutate(from, to, e_, sizeof(e_)),                            \
                  FASTN_ERR_INDEX_MALFORMED);                                  \
        if (!strstr(e_, "registry test") || !strstr(e_, field)) {              \
            fprintf(stderr, "%s -> %s: \"%s\" does not name %s\n", from, to,   \
                    e_, field);                                                \
            test_case_failures++;                                              \
        }                                                                      \
    } while (0)

TEST(wrong_types)
{
    REFUSED("\"fastn-registry\": 1", "\"fastn-registry\": \"1\"",
            "fastn-registry");
    REFUSED("\"fastn-registry\": 1", "\"fastn-registry\": 2", "fastn-registry");
    REFUSED("\"name\": \"chat\"", "\"name\": 7", "plugins[0].name");
    REFUSED("\"version\": \"1.0.0\"", "\"version\": 1.0", "plugins[0].version");
    REFUSED("\"size\": 44092", "\"size\": \"44092\"", "plugins[0].size");
    REFUSED("\"size\": 44092", "\"size\": 44092.5", "plugins[0].size");
    REFUSED("\"protocols\": [\"/fastn/chat/1.0.0\"]",
            "\"protocols\": \"/fastn/chat/1.0.0\"", "plugins[0].protocols");
    REFUSED("\"protocols\": [\"/fastn/chat/1.0.0\"]", "\"protocols\": [7]",
            "plugins[0].protocols");
    REFUSED("\"apps\": [\"fastn chat\"]", "\"apps\": {}", "plugins[0].apps");
    REFUSED("\"summary\": \"Person-to-person messages\"", "\"summary\": null",
            "plugins[0].summary");
    REFUSED("{\"name\": \"echo\"", "7, {\"name\": \"echo\"", "plugins[2]");
    REFUSED("\"plugins\": [", "\"plugins\": {\"a\": 1}, \"x-b\": [", "plugins");
}

TEST(bad_values)
{
    REFUSED("\"name\": \"chat\"", "\"name\": \"Chat\"", "plugins[0].name");
    REFUSED("\"name\": \"chat\"", "\"name\": \"\"", "plugins[0].name");
    REFUSED("\"version\": \"1.0.0\"", "\"version\": \"one\"",
            "plugins[0].version");
    REFUSED("\"file\": \"chat.wasm\"", "\"file\": \"../chat.wasm\"",
            "plugins[0].file");
    REFUSED("\"file\": \"chat.wasm\"", "\"file\": \"sub/chat.wasm\"",
            "plugins[0].file");
    REFUSED("\"file\": \"chat.wasm\"", "\"file\": \"chat.exe\"",
            "plugins[0].file");
    REFUSED("\"size\": 44092", "\"size\": 0", "plugins[0].size");
    REFUSED("\"size\": 44092", "\"size\": -1", "plugins[0].size");
    REFUSED("\"size\": 44092", "\"size\": 68719476736", "plugins[0].size");
    REFUSED("\"sha256\": \"40", "\"sha256\": \"zz", "plugins[0].sha256");
    REFUSED("\"sha256\": \"" SHA "\"", "\"sha256\": \"abcd\"",
            "plugins[0].sha256");
    REFUSED("\"signer\": \"27014CF614D5387A\"", "\"signer\": \"nothex\"",
            "plugins[0].signer");
    REFUSED("\"signer\": \"27014CF614D5387A\"",
            "\"signer\": \"27014CF614D5387A0\"", "plugins[0].signer");
    REFUSED("\"protocols\": [\"/fastn/chat/1.0.0\"]", "\"protocols\": []",
            "plugins[0].protocols");
    REFUSED("\"protocols\": [\"/fastn/chat/1.0.0\"]",
            "\"protocols\": [\"fastn/chat\"]", "plugins[0].protocols");
    REFUSED("\"protocols\": [\"/fastn/chat/1.0.0\"]",
            "\"protocols\": [\"/a\", \"/a\"]", "plugins[0].protocols");
    REFUSED("\"capabilities\": [\"streams\"", "\"capabilities\": [\"Streams\"",
            "plugins[0].capabilities");
    REFUSED("\"summary\": \"Person-to-person messages\"",
            "\"summary\": \"\\u001b[31mred\"", "plugins[0].summary");
    REFUSED("\"x-note\": \"ok\"", "\"note\": \"ok\"", "note");
    REFUSED("\"apps\": [\"fastn chat\"]", "\"aps\": [\"fastn chat\"]",
            "plugins[0].aps");
    REFUSED("\"name\": \"chat\", \"version\": \"1.0.0\"",
            "\"version\": \"1.0\"", "plugins[0].name: missing");
    /* a name and version listed twice */
    REFUSED("\"version\": \"1.10.0\"", "\"version\": \"1.0.0\"", "twice");
}

TEST(malformed_json)
{
    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "null",
        "{\"fastn-registry\": 1}",
        "{\"plugins\": []}",
        "{\"fastn-registry\": 1, \"plugins\": [], \"plugins\": []}",
        "{\"fastn-registry\": 1, \"plugins\": []} trailing",
        "{\"fastn-registry\": 1, \"plugins\": [\"\\u0000\"]}",
    };
    struct registry_index idx;
    char err[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        CHECK_ERR(parse(bad[i], &idx, err, sizeof(err)),
                  FASTN_ERR_INDEX_MALFORMED);
        CHECK(strncmp(err, "registry test: ", 15) == 0);
    }
    /* not even UTF-8 */
    const char latin1[] = "{\"fastn-registry\": 1, \"x-a\": \"\xe9\", "
                          "\"plugins\": []}";
    CHECK_ERR(parse(latin1, &idx, err, sizeof(err)), FASTN_ERR_INDEX_MALFORMED);
    /* an empty registry is fine */
    CHECK_ERR(parse("{\"fastn-registry\": 1, \"plugins\": []}", &idx, err,
                    sizeof(err)),
              0);
    CHECK_EQ(idx.n, 0);
    registry_index_cleanup(&idx);
}

TEST(huge_index)
{
    struct registry_index idx;
    char err[256] = "";
    /* over the byte limit: refused before parsing */
    size_t n = REGISTRY_INDEX_MAX + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    CHECK_ERR(
        registry_index_parse("big", (uint8_t *)big, n, &idx, err, sizeof(err)),
        FASTN_ERR_INDEX_TOO_LARGE);
    CHECK(strstr(err, "registry big") != NULL);
    free(big);
    /* over the plugin count, within the byte limit */
    size_t cap = 64 + (REGISTRY_INDEX_PLUGINS_MAX + 1) * 3, off = 0;
    big = malloc(cap);
    off += (size_t)sprintf(big, "{\"fastn-registry\": 1, \"plugins\": [");
    for (int i = 0; i <= REGISTRY_INDEX_PLUGINS_MAX; i++)
        off += (size_t)sprintf(big + off, "%s{}", i ? "," : "");
    off += (size_t)sprintf(big + off, "]}");
    CHECK_ERR(registry_index_parse("many", (uint8_t *)big, off, &idx, err,
                                   sizeof(err)),
              FASTN_ERR_INDEX_TOO_LARGE);
    free(big);
    /* deep nesting is refused as malformed, without a crash */
    big = malloc(200000);
    off = (size_t)sprintf(big, "{\"fastn-registry\": 1, \"x-a\": ");
    for (int i = 0; i < 50000; i++)
        big[off++] = '[';
    big[off] = 0;
    CHECK_ERR(parse(big, &idx, err, sizeof(err)), FASTN_ERR_INDEX_MALFORMED);
    free(big);
}

/* The index of a folder: plugins signed here by the real minisign. */
TEST(build_from_folder)
{
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    struct registry_index idx;
    struct minisign_pubkey key, other;
    char err[512] = "", dir[512];
    size_t len;
    uint8_t *text;
    tmp_new();
    if (run("cp '%s/%s/plugins/chat.wasm' '%s/%s/plugins/echo.wasm' '%s/'",
            top ? top : ".", build ? build : "build", top ? top : ".",
            build ? build : "build", harness_dir) != 0) {
        fprintf(stderr, "the plugins are not built\n");
        test_case_failures++;
        tmp_done();
        return;
    }
    make_key("pub");
    make_key("other");
    text = get("pub.pub", &len);
    CHECK_ERR(minisign_pubkey_parse(text, len, &key, NULL, 0), 0);
    free(text);
    text = get("other.pub", &len);
    CHECK_ERR(minisign_pubkey_parse(text, len, &other, NULL, 0), 0);
    free(text);
    snprintf(dir, sizeof(dir), "%s", harness_dir);
    /* echo is not signed yet */
    sign_file("pub", "chat.wasm", false, "chat");
    CHECK_ERR(registry_index_build(dir, &key, &idx, err, sizeof(err)),
              FASTN_ERR_NOT_FOUND);
    CHECK(strstr(err, "echo.wasm.minisig") != NULL);
    sign_file("pub", "echo.wasm", true, "echo, legacy");
    CHECK_ERR(registry_index_build(dir, &key, &idx, err, sizeof(err)), 0);
    CHECK_EQ(idx.n, 2);
    CHECK_STR(idx.entries[0].name, "chat");
    CHECK_STR(idx.entries[0].file, "chat.wasm");
    CHECK_STR(idx.entries[1].name, "echo");
    CHECK_MEM(idx.entries[0].signer, key.key_id, MINISIGN_KEYID_LEN);
    CHECK_EQ(idx.entries[0].caps_known,
             PLUGIN_CAP_STREAMS | PLUGIN_CAP_STORAGE | PLUGIN_CAP_NOTIFY |
                 PLUGIN_CAP_TIMERS);
    CHECK_STR(idx.entries[0].protocols[0], "/fastn/chat/1.0.0");
    CHECK_STR(idx.entries[0].apps[0], "fastn chat");
    text = get("chat.wasm", &len);
    CHECK_EQ(idx.entries[0].size, len);
    uint8_t sha[32];
    registry_sha256(text, len, sha);
    CHECK_MEM(idx.entries[0].sha256, sha, 32);
    free(text);
    registry_index_cleanup(&idx);
    /* verified against another key: refused */
    CHECK_ERR(registry_index_build(dir, &other, &idx, err, sizeof(err)),
              FASTN_ERR_SIG_KEY_MISMATCH);
    /* a tampered plugin: refused when verified */
    CHECK_EQ(run("cd '%s' && printf x >>chat.wasm", harness_dir), 0);
    CHECK_ERR(registry_index_build(dir, &key, &idx, err, sizeof(err)),
              FASTN_ERR_SIGNATURE);
    CHECK(strstr(err, "chat.wasm") != NULL);
    tmp_done();
}

/* The index the build wrote (src/registry/sign.mk) lists the bundled
 * plugins as they are, signed by the build's key. */
TEST(built_index)
{
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    char path[512];
    struct registry_index idx;
    uint8_t *text = NULL;
    size_t len = 0;
    char err[256] = "";
    snprintf(path, sizeof(path), "%s/%s/plugins/index.json", top ? top : ".",
             build ? build : "build");
    CHECK_ERR(file_read_all(path, REGISTRY_INDEX_MAX, &text, &len), 0);
    if (!text)
        return;
    CHECK_ERR(registry_index_parse("build", text, len, &idx, err, sizeof(err)),
              0);
    free(text);
    CHECK(registry_index_find(&idx, "chat", NULL) != NULL);
    CHECK(registry_index_find(&idx, "echo", NULL) != NULL);
    for (size_t i = 0; i < idx.n; i++) {
        CHECK_EQ(run("cd '%s/%s' && minisign -Vq -p keys/fastn-build.pub -m "
                     "plugins/%s && test $(stat -c %%s plugins/%s) = %llu",
                     top ? top : ".", build ? build : "build",
                     idx.entries[i].file, idx.entries[i].file,
                     (unsigned long long)idx.entries[i].size),
                 0);
    }
    registry_index_cleanup(&idx);
}

int main(void)
{
    if (!have_minisign()) {
        printf("minisign is not installed (scripts/install-deps.sh test)\n");
        return 77;
    }
    RUN(good_index);
    RUN(round_trip);
    RUN(wrong_types);
    RUN(bad_values);
    RUN(malformed_json);
    RUN(huge_index);
    RUN(build_from_folder);
    RUN(built_index);
    return test_done();
}
