/*
 * Tests of @NAME@, run by `make test`: the plugin in fastn's real plugin
 * host (the fastn-plugin-test library), with this test as two peers.
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

/* Sends a request in two pieces and checks the answer. */
static void request(struct fastn_test *t, struct fastn_test_node *n,
                    const char *peer, const char *req, const char *want)
{
    char buf[256] = "";
    size_t half = strlen(req) / 2;
    struct fastn_test_stream *s = fastn_test_stream_open(n, peer, PROTO);
    CHECK(fastn_test_stream_write(s, req, half) == 0);
    fastn_test_run(t);
    CHECK(fastn_test_stream_readable(s) == 0); /* no answer before EOF */
    CHECK(fastn_test_stream_write(s, req + half, strlen(req) - half) == 0);
    fastn_test_stream_close(s);
    fastn_test_run(t);
    CHECK(fastn_test_stream_read(s, buf, sizeof(buf) - 1) == strlen(want));
    CHECK(strcmp(buf, want) == 0);
    CHECK(fastn_test_stream_eof(s));
}

int main(int argc, char **argv)
{
    struct fastn_test *t = fastn_test_new();
    struct fastn_test_node *n = NULL;
    const struct fastn_test_reply *r = NULL;
    char err[256] = "";

    if (!t || fastn_test_node_new(t, "me", NULL, &n) ||
        fastn_test_install_file(n, argc > 1 ? argv[1] : "@NAME@.wasm", false,
                                NULL, err, sizeof(err))) {
        fprintf(stderr, "cannot install the plugin: %s\n", err);
        return 1;
    }
    fastn_test_run(t);
    request(t, n, "alice", "hello there", "HELLO THERE");
    request(t, n, "bob", "second request", "SECOND REQUEST");
    CHECK(fastn_test_call(n, "@NAME@", "answer", "abc", 3, &r) == 0);
    CHECK(r && r->status == 0 && strcmp(r->data, "ABC") == 0);
    fastn_test_free(t);
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures != 0;
}
