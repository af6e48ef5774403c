/* Unit tests for plugins/echo: the plugin's C source built natively,
 * driven by a mock host whose streams take only so many bytes at a time,
 * to check that echo keeps every byte, in order, through backpressure,
 * closes after the peer's EOF once all is sent, and answers its calls. */
#include "../../plugins/echo/echo.c"

#include "test.h"

static uint8_t sent[1 << 20];
static size_t sent_len, room;
static int closed, replies;
static int32_t reply_status;
static char reply[256];

int32_t fastn_stream_write(int32_t stream, const void *data, size_t len)
{
    (void)stream;
    if (closed)
        return FASTN_ERR_CLOSED;
    if (room == 0)
        return FASTN_ERR_AGAIN;
    size_t n = len < room ? len : room;
    memcpy(sent + sent_len, data, n);
    sent_len += n;
    room -= n;
    return (int32_t)n;
}

int32_t fastn_stream_close(int32_t stream)
{
    (void)stream;
    closed = 1;
    return 0;
}

int32_t fastn_call_reply(int32_t call, int32_t status, const void *data,
                         size_t len)
{
    (void)call;
    reply_status = status;
    snprintf(reply, sizeof(reply), "%.*s", (int)len, (const char *)data);
    replies++;
    return 0;
}

int32_t fastn_local_peer_id(char *buf, size_t cap)
{
    const char *me = "12D3KooWEcho";
    memcpy(buf, me, strlen(me) < cap ? strlen(me) : cap);
    return (int32_t)strlen(me);
}

TEST(echo_through_backpressure)
{
    static uint8_t in[300000];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 7 + i / 251);
    CHECK_ERR(on_stream(5, "p", 1, "/fastn/echo/1.0.0", 17), 0);
    room = 1000;
    size_t off = 0;
    int rounds = 0;
    while (off < sizeof(in)) { /* 64 KiB per event, as the host sends */
        size_t n = sizeof(in) - off < 65536 ? sizeof(in) - off : 65536;
        if (on_data(5, in + off, n) != 0)
            break;
        off += n;
        room += 20000; /* the peer reads some */
        CHECK_ERR(on_writable(5), 0);
        rounds++;
    }
    CHECK_EQ(off, sizeof(in));
    CHECK_ERR(on_close(5, FASTN_CLOSE_EOF), 0);
    CHECK(!closed); /* bytes still waiting */
    while (sent_len < sizeof(in) && rounds++ < 1000) {
        room += 50000;
        CHECK_ERR(on_writable(5), 0);
    }
    CHECK_EQ(sent_len, sizeof(in));
    CHECK(memcmp(sent, in, sizeof(in)) == 0);
    CHECK(closed);
}

TEST(echo_gives_up_on_a_peer_that_never_reads)
{
    static uint8_t in[65536];
    CHECK_ERR(on_stream(9, "p", 1, "/fastn/echo/1.0.0", 17), 0);
    room = 0;
    int err = 0, events = 0;
    while (!err && events++ < 100)
        err = on_data(9, in, sizeof(in));
    CHECK_ERR(err, FASTN_ERR_TOO_LARGE); /* past 256 KiB: reset by the host */
    CHECK(events <= 6);
}

TEST(echo_calls)
{
    CHECK_ERR(on_call(1, "echo", 4, (const uint8_t *)"hi there", 8), 0);
    CHECK_EQ(reply_status, 0);
    CHECK_STR(reply, "hi there");
    CHECK_ERR(on_call(2, "echo", 4, NULL, 0), 0);
    CHECK_STR(reply, "");
    CHECK_ERR(on_call(3, "id", 2, NULL, 0), 0);
    CHECK_STR(reply, "12D3KooWEcho");
    CHECK_ERR(on_call(4, "nope", 4, NULL, 0), 0);
    CHECK_EQ(reply_status, FASTN_ERR_NOT_FOUND);
    CHECK_EQ(replies, 4);
}

TEST(echo_stream_table_full)
{
    for (int i = 1; i <= MAX_STREAMS; i++)
        CHECK_ERR(on_stream(i, "p", 1, "/x", 2), 0);
    CHECK_ERR(on_stream(MAX_STREAMS + 1, "p", 1, "/x", 2),
              FASTN_ERR_PLUGIN_LIMIT);
    CHECK_ERR(on_close(3, FASTN_ERR_NET_STREAM_RESET), 0); /* frees a slot */
    CHECK_ERR(on_stream(MAX_STREAMS + 1, "p", 1, "/x", 2), 0);
}

int main(void)
{
    RUN(echo_through_backpressure);
    RUN(echo_gives_up_on_a_peer_that_never_reads);
    RUN(echo_calls);
    RUN(echo_stream_table_full);
    return test_done();
}
