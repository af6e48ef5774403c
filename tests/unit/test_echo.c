/* Unit tests for plugins/echo: the built echo.wasm run by the real plugin
 * host through the plugin test library (include/fastn/plugin_test.h), as
 * a plugin author's test would, with the test as the remote peer: streams
 * echoed through backpressure, peers that read slowly or never (echo
 * holds their input: on_data returns FASTN_ERR_AGAIN), calls, and the
 * plugin's stream table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/plugin_test.h"
#include "test.h"

#define PROTO "/fastn/echo/1.0.0"

static char err[256];
static char wasm_path[512];
static struct fastn_test *T;

static struct fastn_test_node *start(void)
{
    struct fastn_test_node *n = NULL;
    T = fastn_test_new();
    CHECK_ERR(fastn_test_node_new(T, "me", NULL, &n), 0);
    CHECK_ERR(
        fastn_test_install_file(n, wasm_path, false, NULL, err, sizeof(err)),
        0);
    fastn_test_run(T);
    return n;
}

static void finish(void)
{
    fastn_test_free(T);
    T = NULL;
}

TEST(echo_through_backpressure)
{
    static uint8_t in[1 << 20], out[1 << 20];
    size_t sent = 0, got = 0;
    struct fastn_test_node *n = start();
    struct fastn_test_stream *s = fastn_test_stream_open(n, NULL, PROTO);

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 131 + (i >> 9));
    fastn_test_run(T);
    CHECK_ERR(fastn_test_stream_result(s), 0);
    /* the test writes 1 MiB and reads what comes back, 48 KiB at a time:
     * more than the network holds at once, so echo's writes come back
     * short and it waits for on_writable */
    for (int turns = 0; got < sizeof(in) && turns < 10000; turns++) {
        if (sent < sizeof(in) && fastn_test_stream_unsent(s) == 0) {
            size_t k = sizeof(in) - sent < 65536 ? sizeof(in) - sent : 65536;
            CHECK_ERR(fastn_test_stream_write(s, in + sent, k), 0);
            sent += k;
        }
        fastn_test_run(T);
        got += fastn_test_stream_read(s, out + got, 48 * 1024);
    }
    CHECK_EQ(got, sizeof(in));
    CHECK(memcmp(in, out, sizeof(in)) == 0);
    CHECK(!fastn_test_stream_was_reset(s));
    fastn_test_stream_close(s);
    fastn_test_run(T);
    CHECK(fastn_test_stream_eof(s)); /* echo finished after our EOF */
    struct fastn_test_info info;
    CHECK_ERR(fastn_test_info(n, "echo", &info), 0);
    CHECK_EQ(info.open_streams, 0);
    CHECK_EQ(info.last_error, 0);
    finish();
}

/* Writes in's bytes to s whenever the network has room for them, and
 * reads at most `per_turn` of the echo each turn. Returns bytes read. */
static size_t echo_slowly(struct fastn_test_stream *s, const uint8_t *in,
                          uint8_t *out, size_t len, size_t per_turn,
                          int *paused_seen)
{
    size_t sent = 0, got = 0;

    for (int turns = 0; got < len && turns < 100000; turns++) {
        if (sent < len && fastn_test_stream_unsent(s) == 0) {
            size_t k = len - sent < 65536 ? len - sent : 65536;
            CHECK_ERR(fastn_test_stream_write(s, in + sent, k), 0);
            sent += k;
        }
        fastn_test_run(T);
        *paused_seen |= fastn_test_stream_paused(s);
        if (fastn_test_stream_was_reset(s))
            break;
        got += fastn_test_stream_read(s, out + got, per_turn);
    }
    return got;
}

TEST(echo_holds_a_peer_that_reads_slowly)
{
    static uint8_t in[8 << 20], out[8 << 20];
    struct fastn_test_node *n = start();
    struct fastn_test_stream *s = fastn_test_stream_open(n, NULL, PROTO);
    int paused = 0;

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 167 + (i >> 11));
    fastn_test_run(T);
    /* 8 MiB echoed to a reader 8 times slower than the writer: echo
     * refuses data while its echo waits, the stream is paused, no reset */
    CHECK_EQ(echo_slowly(s, in, out, sizeof(in), 8192, &paused), sizeof(in));
    CHECK(memcmp(in, out, sizeof(in)) == 0);
    CHECK(!fastn_test_stream_was_reset(s));
    CHECK(paused);
    CHECK(!fastn_test_stream_paused(s));
    struct fastn_test_info info;
    CHECK_ERR(fastn_test_info(n, "echo", &info), 0);
    CHECK_EQ(info.last_error, 0);
    finish();
}

TEST(echo_pauses_a_peer_that_never_reads)
{
    static uint8_t chunk[65536], out[1 << 20];
    struct fastn_test_node *n = start();
    struct fastn_test_stream *s = fastn_test_stream_open(n, NULL, PROTO);
    size_t sent = 0, got = 0;
    int turns;

    fastn_test_run(T);
    for (turns = 0; turns < 100; turns++) {
        if (fastn_test_stream_unsent(s) == 0) {
            CHECK_ERR(fastn_test_stream_write(s, chunk, sizeof(chunk)), 0);
            sent += sizeof(chunk);
        }
        fastn_test_run(T);
    }
    /* the network holds 256 KiB of echo, echo one delivery, the host a
     * little: then the stream is paused, and stays so without a reset */
    CHECK(!fastn_test_stream_was_reset(s));
    CHECK(fastn_test_stream_paused(s));
    CHECK(sent <= 1024 * 1024);
    CHECK(!fastn_test_step(T)); /* nothing spins */
    /* once the peer reads, everything comes back */
    for (turns = 0; got < sent && turns < 1000; turns++) {
        got += fastn_test_stream_read(s, out + got, sizeof(out) - got);
        fastn_test_run(T);
    }
    CHECK_EQ(got, sent);
    CHECK(!fastn_test_stream_was_reset(s));
    struct fastn_test_info info;
    CHECK_ERR(fastn_test_info(n, "echo", &info), 0);
    CHECK_EQ(info.open_streams, 1);
    CHECK_EQ(info.last_error, 0);
    const struct fastn_test_reply *r;
    CHECK_ERR(fastn_test_call(n, "echo", "echo", "ok", 2, &r), 0);
    CHECK(r->status == 0);
    finish();
}

TEST(echo_calls)
{
    struct fastn_test_node *n = start();
    const struct fastn_test_reply *r;
    CHECK_ERR(fastn_test_call(n, "echo", "echo", "hi there", 8, &r), 0);
    CHECK(r->status == 0 && strcmp(r->data, "hi there") == 0);
    CHECK_ERR(fastn_test_call(n, "echo", "echo", "", 0, &r), 0);
    CHECK(r->status == 0 && r->len == 0);
    CHECK_ERR(fastn_test_call(n, "echo", "id", "", 0, &r), 0);
    CHECK(r->status == 0 && strcmp(r->data, fastn_test_node_peer_id(n)) == 0);
    CHECK_ERR(fastn_test_call(n, "echo", "nope", "", 0, &r), 0);
    CHECK(r->status == FASTN_ERR_NOT_FOUND);
    CHECK_EQ(fastn_test_reply_count(n), 4);
    /* a plugin that is not there is refused at once, as fastnd does */
    CHECK_ERR(fastn_test_call(n, "ekho", "echo", "", 0, &r),
              FASTN_ERR_NOT_FOUND);
    finish();
}

TEST(echo_stream_table_full)
{
    struct fastn_test_node *n = start();
    struct fastn_test_stream *s[257];
    char buf[8];

    for (int i = 0; i < 257; i++)
        s[i] = fastn_test_stream_open(n, NULL, PROTO);
    fastn_test_run(T);
    for (int i = 0; i < 256; i++)
        CHECK_ERR(fastn_test_stream_result(s[i]), 0);
    /* the 257th is past the manifest's streams limit */
    CHECK_ERR(fastn_test_stream_result(s[256]), FASTN_ERR_PLUGIN_LIMIT);
    fastn_test_stream_close(s[3]);
    fastn_test_run(T);
    CHECK(fastn_test_stream_eof(s[3]));
    struct fastn_test_stream *again = fastn_test_stream_open(n, "other", PROTO);
    fastn_test_run(T);
    CHECK_ERR(fastn_test_stream_result(again), 0);
    CHECK_ERR(fastn_test_stream_write(again, "abc", 3), 0);
    fastn_test_run(T);
    CHECK_EQ(fastn_test_stream_readable(again), 3);
    CHECK_EQ(fastn_test_stream_read(again, buf, sizeof(buf)), 3);
    CHECK(memcmp(buf, "abc", 3) == 0);
    finish();
}

int main(void)
{
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    FILE *f;

    snprintf(wasm_path, sizeof(wasm_path), "%s/%s/plugins/echo.wasm",
             top ? top : ".", build ? build : "build");
    if (!(f = fopen(wasm_path, "rb"))) {
        printf("skipped: plugins not built (no wasm32-wasi toolchain; "
               "run scripts/install-deps.sh all)\n");
        return 77;
    }
    fclose(f);
    RUN(echo_through_backpressure);
    RUN(echo_holds_a_peer_that_reads_slowly);
    RUN(echo_pauses_a_peer_that_never_reads);
    RUN(echo_calls);
    RUN(echo_stream_table_full);
    return test_done();
}
