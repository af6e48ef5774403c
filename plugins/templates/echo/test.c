/*
 * Tests of @NAME@, run by `make test`: the plugin in fastn's real plugin
 * host (the fastn-plugin-test library), with this test as a peer.
 */
#include <stdio.h>
#include <string.h>

#include <fastn/plugin_test.h>

#define PROTO "/@NAME@/1.0.0"

static int failures;
#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #c);    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static void test_call(struct fastn_test_node *n)
{
    const struct fastn_test_reply *r = NULL;
    CHECK(fastn_test_call(n, "@NAME@", "echo", "hello", 5, &r) == 0);
    CHECK(r && r->status == 0 && strcmp(r->data, "hello") == 0);
    CHECK(fastn_test_call(n, "@NAME@", "nope", "", 0, &r) == 0);
    CHECK(r && r->status == FASTN_ERR_NOT_FOUND);
}

static void test_stream(struct fastn_test *t, struct fastn_test_node *n)
{
    char buf[64] = "";
    struct fastn_test_stream *s = fastn_test_stream_open(n, "alice", PROTO);
    fastn_test_run(t);
    CHECK(fastn_test_stream_result(s) == 0);
    CHECK(fastn_test_stream_write(s, "ping", 4) == 0);
    fastn_test_stream_close(s);
    fastn_test_run(t);
    CHECK(fastn_test_stream_read(s, buf, sizeof(buf) - 1) == 4);
    CHECK(strcmp(buf, "ping") == 0);
    CHECK(fastn_test_stream_eof(s)); /* it closed after our EOF */
}

int main(int argc, char **argv)
{
    struct fastn_test *t = fastn_test_new();
    struct fastn_test_node *n = NULL;
    struct fastn_test_info info;
    char err[256] = "";

    if (!t || fastn_test_node_new(t, "me", NULL, &n) ||
        fastn_test_install_file(n, argc > 1 ? argv[1] : "@NAME@.wasm", false,
                                NULL, err, sizeof(err))) {
        fprintf(stderr, "cannot install the plugin: %s\n", err);
        return 1;
    }
    fastn_test_run(t);
    test_call(n);
    test_stream(t, n);
    CHECK(fastn_test_info(n, "@NAME@", &info) == 0 && info.last_error == 0);
    fastn_test_free(t);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
