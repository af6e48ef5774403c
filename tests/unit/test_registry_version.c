/* Version order for `fastn plugin update` (src/registry/version.c). */
#include "registry/index.h"

#include "test.h"

static int cmp(const char *a, const char *b)
{
    int c = 99;
    if (registry_version_cmp(a, b, &c) != 0)
        return 99;
    return c;
}

TEST(order)
{
    /* each lower than the next: semver 2.0.0's example, and more */
    static const char *const up[] = {
        "0.9",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2",
        "1.10.0",
        "2",
        "10.0.0",
        "999999999999999999",
    };
    size_t n = sizeof(up) / sizeof(*up);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            int want = i < j ? -1 : i > j;
            if (cmp(up[i], up[j]) != want) {
                fprintf(stderr, "%s vs %s: %d, want %d\n", up[i], up[j],
                        cmp(up[i], up[j]), want);
                test_case_failures++;
            }
        }
}

TEST(equal_forms)
{
    CHECK_EQ(cmp("1.2", "1.2.0"), 0);
    CHECK_EQ(cmp("1", "1.0.0.0"), 0);
    CHECK_EQ(cmp("1.0.0+build.5", "1.0.0"), 0);
    CHECK_EQ(cmp("1.0.0-rc.1+b", "1.0.0-rc.1"), 0);
    CHECK_EQ(cmp("01.2", "1.2"), 0);
}

TEST(not_versions)
{
    static const char *const bad[] = {
        "",        "a",
        "1.",      ".1",
        "1..2",    "1.2-",
        "1+",      "1.2-a..b",
        "1.2-a$b", "v1.2",
        "1.2.3 ",  "-1",
        "1.2+b+c", "1234567890123456789",
    };
    int c;
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        CHECK_ERR(registry_version_cmp(bad[i], "1", &c), FASTN_ERR_VERSION);
        CHECK(!registry_version_valid(bad[i]));
    }
    CHECK(registry_version_valid("1.0.0-x-y.1+20240101"));
}

int main(void)
{
    RUN(order);
    RUN(equal_forms);
    RUN(not_versions);
    return test_done();
}
