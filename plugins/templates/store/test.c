/*
 * Tests of @NAME@, run by `make test`: the plugin in fastn's real plugin
 * host (the fastn-plugin-test library): calls, its database (read by the
 * test), its notifications, and a restart that keeps what it stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fastn/plugin_test.h>

static int failures;
#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #c);    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static const char *call(struct fastn_test_node *n, const char *method,
                        const char *arg, size_t len, int want_status)
{
    const struct fastn_test_reply *r = NULL;
    CHECK(fastn_test_call(n, "@NAME@", method, arg, len, &r) == 0);
    CHECK(r && r->status == want_status);
    return r ? r->data : "";
}

int main(int argc, char **argv)
{
    struct fastn_test *t = fastn_test_new();
    struct fastn_test_node *n = NULL;
    char err[256] = "", *rows = NULL, *title = NULL, *body = NULL;

    if (!t || fastn_test_node_new(t, "me", NULL, &n) ||
        fastn_test_install_file(n, argc > 1 ? argv[1] : "@NAME@.wasm", false,
                                NULL, err, sizeof(err))) {
        fprintf(stderr, "cannot install the plugin: %s\n", err);
        return 1;
    }
    fastn_test_run(t);
    CHECK(strcmp(call(n, "put", "colour\0blue", 11, 0), "stored") == 0);
    CHECK(strcmp(call(n, "put", "size large", 10, 0), "stored") == 0);
    CHECK(strcmp(call(n, "put", "colour\0green", 12, 0), "stored") == 0);
    CHECK(strcmp(call(n, "get", "colour", 6, 0), "green") == 0);
    call(n, "get", "weight", 6, FASTN_ERR_NOT_FOUND);
    call(n, "put", "lonely", 6, FASTN_ERR_INVAL);
    /* what it stored, read straight from its database */
    CHECK(fastn_test_sql(n, "@NAME@", "SELECT key, value FROM kv ORDER BY key",
                         &rows) == 0);
    CHECK(rows && strcmp(rows, "colour|green\nsize|large\n") == 0);
    free(rows);
    /* one notification per new key */
    CHECK(fastn_test_notify_count(n, "@NAME@") == 2);
    CHECK(fastn_test_notify_get(n, "@NAME@", 0, &title, &body) == 0);
    CHECK(title && strcmp(title, "New key") == 0 &&
          strcmp(body, "colour") == 0);
    free(title);
    free(body);
    /* a restart keeps the database */
    CHECK(fastn_test_node_restart(n) == 0);
    fastn_test_run(t);
    CHECK(strcmp(call(n, "list", "", 0, 0), "colour\nsize\n") == 0);
    fastn_test_free(t);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
