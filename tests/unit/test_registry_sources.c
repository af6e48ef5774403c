/*
 * The list of registries (src/registry/sources.c): the default without a
 * file, adding (names derived from URLs, made unique; bad URLs, names
 * and repeats refused), removing by name or URL, the file written and
 * read back, and hand-edited bad lines skipped without losing the rest.
 */
#include "registry/sources.h"

#include <limits.h>

#include "test.h"

static char dir[] = "/tmp/fastn-sources-XXXXXX";
static char path[PATH_MAX];
#define DEF "file:///usr/share/fastn/plugins"

TEST(default_without_a_file)
{
    struct registry_sources s;

    CHECK_ERR(registry_sources_load(&s, path, DEF), 0);
    CHECK_EQ(s.n, 1);
    CHECK(!strcmp(s.v[0].name, "bundled") && !strcmp(s.v[0].url, DEF));
    CHECK(s.v[0].is_default);
    CHECK_ERR(registry_sources_load(&s, path, NULL), 0);
    CHECK_EQ(s.n, 0);
}

TEST(add_remove_save_load)
{
    struct registry_sources s, r;
    struct registry_source e;
    char err[256];

    CHECK_ERR(registry_sources_load(&s, path, DEF), 0);
    CHECK_ERR(registry_sources_add(&s, "https://plugins.acme.example:8443/f",
                                   NULL, DEF, &e, err, sizeof(err)),
              0);
    CHECK(!strcmp(e.name, "plugins.acme.example"));
    CHECK_ERR(registry_sources_add(&s, "http://u@plugins.acme.example/g", NULL,
                                   DEF, &e, err, sizeof(err)),
              0);
    CHECK(!strcmp(e.name, "plugins.acme.example-2"));
    CHECK_ERR(registry_sources_add(&s, "file:///srv/my reg", NULL, DEF, NULL,
                                   err, sizeof(err)),
              FASTN_ERR_INVAL); /* a space */
    CHECK_ERR(registry_sources_add(&s, "file:///srv/reg/", NULL, DEF, &e, err,
                                   sizeof(err)),
              0);
    CHECK(!strcmp(e.name, "reg"));
    static const char *bad[] = {"ftp://x/",        "https://",
                                "http:///x",       "file://relative",
                                "https://x/#frag", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_ERR(
            registry_sources_add(&s, bad[i], NULL, DEF, NULL, err, sizeof(err)),
            FASTN_ERR_INVAL);
    CHECK_ERR(registry_sources_add(&s, "https://other/", "reg", DEF, NULL, err,
                                   sizeof(err)),
              FASTN_ERR_EXISTS);
    CHECK(strstr(err, "named reg is there already"));
    CHECK_ERR(registry_sources_add(&s, "file:///srv/reg/", "x", DEF, NULL, err,
                                   sizeof(err)),
              FASTN_ERR_EXISTS);
    CHECK_ERR(registry_sources_add(&s, "https://o/", "bad name", DEF, NULL, err,
                                   sizeof(err)),
              FASTN_ERR_INVAL);
    CHECK_EQ(s.n, 4);
    CHECK_ERR(registry_sources_remove(&s, "bundled", &e, err, sizeof(err)), 0);
    CHECK_ERR(
        registry_sources_remove(&s, "file:///srv/reg/", &e, err, sizeof(err)),
        0);
    CHECK(!strcmp(e.name, "reg"));
    CHECK_ERR(registry_sources_remove(&s, "nope", NULL, err, sizeof(err)),
              FASTN_ERR_NOT_FOUND);
    CHECK_ERR(registry_sources_save(&s, path), 0);
    CHECK_ERR(registry_sources_load(&r, path, DEF), 0);
    CHECK_EQ(r.n, 2); /* the default stays removed */
    CHECK_MEM(r.v, s.v, 2 * sizeof(r.v[0]));
}

TEST(bad_lines_skipped)
{
    struct registry_sources s;
    static const char text[] =
        "# comment\n"
        "one https://one.example/reg # trailing comment\n"
        "two\n"
        "three https://three.example extra\n"
        "one https://again.example\n"
        "four https://one.example/reg\n"
        "Bad/name https://x.example\n"
        "five ftp://x\n"
        "\n"
        "six file:///srv/six\r\n";

    registry_sources_parse(&s, text, sizeof(text) - 1, "t", DEF);
    CHECK_EQ(s.n, 2);
    CHECK(!strcmp(s.v[0].name, "one") && !strcmp(s.v[1].name, "six"));
    CHECK(!strcmp(s.v[1].url, "file:///srv/six"));
}

TEST(full)
{
    struct registry_sources s;
    char url[64], err[256];

    memset(&s, 0, sizeof(s));
    for (int i = 0; i < REGISTRY_SOURCES_MAX; i++) {
        snprintf(url, sizeof(url), "https://r%d.example/", i);
        CHECK_ERR(
            registry_sources_add(&s, url, NULL, NULL, NULL, err, sizeof(err)),
            0);
    }
    CHECK_ERR(registry_sources_add(&s, "https://one-more/", NULL, NULL, NULL,
                                   err, sizeof(err)),
              FASTN_ERR_TOO_LARGE);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/registries", dir);
    RUN(default_without_a_file);
    RUN(add_remove_save_load);
    RUN(bad_lines_skipped);
    RUN(full);
    unlink(path);
    rmdir(dir);
    return test_done();
}
