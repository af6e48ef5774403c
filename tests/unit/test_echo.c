/* Unit tests for plugins/echo: the built echo.wasm run by the real plugin
 * host (src/plugin), with the test as the remote peer on the in-memory
 * network of host_harness.h: streams echoed through backpressure, peers
 * that read slowly or never (echo holds their input: on_data returns
 * FASTN_ERR_AGAIN), calls, and the plugin's stream table. */
#include "host_harness.h"
#include "test.h"

#define PROTO "/fastn/echo/1.0.0"

static char err[256];

static struct th_node *start(void)
{
    th_init_time();
    struct th_node *n = th_start_node(0, 0);
    CHECK_ERR(th_install(n, "plugins/echo.wasm", err, sizeof(err)), 0);
    th_pump(1000);
    return n;
}

TEST(echo_through_backpressure)
{
    static uint8_t in[1 << 20], out[1 << 20];
    size_t sent = 0, got = 0;
    struct th_node *n = start();
    struct th_stream *s = th_raw_open(n, PROTO);

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 131 + (i >> 9));
    th_pump(1000);
    CHECK_ERR(s->open_result, 0);
    /* the test writes 1 MiB and reads what comes back, 48 KiB at a time:
     * more than the network holds at once, so echo's writes come back
     * short and it waits for on_writable */
    for (int turns = 0; got < sizeof(in) && turns < 10000; turns++) {
        if (sent < sizeof(in) && s->end[1].in_len == 0) {
            size_t k = sizeof(in) - sent < 65536 ? sizeof(in) - sent : 65536;
            th_raw_write(s, in + sent, k);
            sent += k;
        }
        th_pump(1000);
        got += th_raw_read(s, out + got, 48 * 1024);
    }
    CHECK_EQ(got, sizeof(in));
    CHECK(memcmp(in, out, sizeof(in)) == 0);
    CHECK(!s->end[0].reset_pending);
    th_raw_close(s);
    th_pump(1000);
    CHECK(s->end[0].fin_pending); /* echo finished after our EOF */
    struct plugin_info info;
    CHECK_ERR(plugin_host_info(n->h, "echo", &info), 0);
    CHECK_EQ(info.open_streams, 0);
    CHECK_EQ(info.last_error, 0);
    th_cleanup();
}

/* Writes in's bytes to s whenever the network has room for them, and
 * reads at most `per_turn` of the echo each turn. Returns bytes read. */
static size_t echo_slowly(struct th_stream *s, const uint8_t *in, uint8_t *out,
                          size_t len, size_t per_turn, int *paused_seen)
{
    size_t sent = 0, got = 0;

    for (int turns = 0; got < len && turns < 100000; turns++) {
        if (sent < len && s->end[1].in_len == 0) {
            size_t k = len - sent < 65536 ? len - sent : 65536;
            th_raw_write(s, in + sent, k);
            sent += k;
        }
        th_pump(1000);
        *paused_seen |= s->end[1].paused;
        if (s->end[0].reset_pending)
            break;
        got += th_raw_read(s, out + got, per_turn);
    }
    return got;
}

TEST(echo_holds_a_peer_that_reads_slowly)
{
    static uint8_t in[8 << 20], out[8 << 20];
    struct th_node *n = start();
    struct th_stream *s = th_raw_open(n, PROTO);
    int paused = 0;

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 167 + (i >> 11));
    th_pump(1000);
    /* 8 MiB echoed to a reader 8 times slower than the writer: echo
     * refuses data while its echo waits, the stream is paused, no reset */
    CHECK_EQ(echo_slowly(s, in, out, sizeof(in), 8192, &paused), sizeof(in));
    CHECK(memcmp(in, out, sizeof(in)) == 0);
    CHECK(!s->end[0].reset_pending);
    CHECK(paused);
    CHECK(!s->end[1].paused);
    struct plugin_info info;
    CHECK_ERR(plugin_host_info(n->h, "echo", &info), 0);
    CHECK_EQ(info.last_error, 0);
    th_cleanup();
}

TEST(echo_pauses_a_peer_that_never_reads)
{
    static uint8_t chunk[65536], out[1 << 20];
    struct th_node *n = start();
    struct th_stream *s = th_raw_open(n, PROTO);
    size_t sent = 0, got = 0;
    int turns;

    th_pump(1000);
    for (turns = 0; turns < 100; turns++) {
        if (s->end[1].in_len == 0) {
            th_raw_write(s, chunk, sizeof(chunk));
            sent += sizeof(chunk);
        }
        th_pump(1000);
    }
    /* the network holds 256 KiB of echo, echo one delivery, the host a
     * little: then the stream is paused, and stays so without a reset */
    CHECK(!s->end[0].reset_pending);
    CHECK(s->end[1].paused);
    CHECK(sent <= 1024 * 1024);
    CHECK_EQ(plugin_host_next_wake(n->h), UINT64_MAX); /* nothing spins */
    /* once the peer reads, everything comes back */
    for (turns = 0; got < sent && turns < 1000; turns++) {
        got += th_raw_read(s, out + got, sizeof(out) - got);
        th_pump(1000);
    }
    CHECK_EQ(got, sent);
    CHECK(!s->end[0].reset_pending);
    struct plugin_info info;
    CHECK_ERR(plugin_host_info(n->h, "echo", &info), 0);
    CHECK_EQ(info.open_streams, 1);
    CHECK_EQ(info.last_error, 0);
    struct th_reply *r = th_call(n, "echo", "echo", "ok", 1);
    CHECK(r && r->status == 0);
    th_cleanup();
}

TEST(echo_calls)
{
    struct th_node *n = start();
    struct th_reply *r = th_call(n, "echo", "echo", "hi there", 1);
    CHECK(r && r->status == 0 && strcmp(r->data, "hi there") == 0);
    r = th_call(n, "echo", "echo", "", 2);
    CHECK(r && r->status == 0 && r->len == 0);
    r = th_call(n, "echo", "id", "", 3);
    CHECK(r && r->status == 0 && strcmp(r->data, n->peer_id) == 0);
    r = th_call(n, "echo", "nope", "", 4);
    CHECK(r && r->status == FASTN_ERR_NOT_FOUND);
    CHECK_EQ(n->n_replies, 4);
    th_cleanup();
}

TEST(echo_stream_table_full)
{
    struct th_node *n = start();
    struct th_stream *s[257];

    for (int i = 0; i < 257; i++)
        s[i] = th_raw_open(n, PROTO);
    th_pump(10000);
    for (int i = 0; i < 256; i++)
        CHECK_ERR(s[i]->open_result, 0);
    /* the 257th is past the manifest's streams limit */
    CHECK_ERR(s[256]->open_result, FASTN_ERR_PLUGIN_LIMIT);
    th_raw_close(s[3]);
    th_pump(1000);
    CHECK(s[3]->end[0].fin_pending);
    struct th_stream *again = th_raw_open(n, PROTO);
    th_pump(1000);
    CHECK_ERR(again->open_result, 0);
    th_raw_write(again, "abc", 3);
    th_pump(1000);
    CHECK_EQ(again->end[0].in_len, 3);
    th_cleanup();
}

int main(void)
{
    size_t len;
    uint8_t *wasm = th_read_built("plugins/echo.wasm", &len);
    if (!wasm) {
        printf("skipped: plugins not built (no wasm32-wasi toolchain; "
               "run scripts/install-deps.sh all)\n");
        return 77;
    }
    free(wasm);
    RUN(echo_through_backpressure);
    RUN(echo_holds_a_peer_that_reads_slowly);
    RUN(echo_pauses_a_peer_that_never_reads);
    RUN(echo_calls);
    RUN(echo_stream_table_full);
    return test_done();
}
