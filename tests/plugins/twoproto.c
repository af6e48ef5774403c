/*
 * Test plugin (not hostile): serves two protocols, /fastn-test/two/a and
 * /fastn-test/two/b, to anyone, echoing what a peer writes on either,
 * prefixed by the protocol's last letter ("a:" or "b:") so a test sees
 * which one answered. For the user's narrowing of one protocol
 * (`fastn plugin restrict NAME --protocol P`). Small writes only: a test
 * sends a line at a time, and what the stream cannot take is dropped.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "test-twoproto", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: echoes on two protocols",
    "protocols": ["/fastn-test/two/a", "/fastn-test/two/b"],
    "capabilities": [],
    "serves": "anyone"
})
// clang-format on

#define MAX_STREAMS 16

static struct {
    int32_t handle;
    char tag; /* 'a' or 'b' */
} streams[MAX_STREAMS];

static int find(int32_t h)
{
    for (int i = 0; i < MAX_STREAMS; i++)
        if (streams[i].handle == h)
            return i;
    return -1;
}

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)peer, (void)peer_len;
    int i = find(0);
    if (i < 0 || protocol_len == 0)
        return FASTN_ERR_PLUGIN_LIMIT;
    streams[i].handle = stream;
    streams[i].tag = protocol[protocol_len - 1];
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    int i = find(stream);
    char tag[2];
    if (i < 0 || stream == 0)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    tag[0] = streams[i].tag;
    tag[1] = ':';
    int32_t n = fastn_stream_write(stream, tag, 2);
    if (n >= 0)
        n = fastn_stream_write(stream, data, len);
    return n < 0 && n != FASTN_ERR_AGAIN ? n : 0;
}

int32_t on_close(int32_t stream, int32_t reason)
{
    int i = find(stream);
    if (i < 0 || stream == 0)
        return 0;
    streams[i].handle = 0;
    return reason == FASTN_CLOSE_EOF ? fastn_stream_close(stream) : 0;
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    (void)method, (void)method_len;
    return fastn_call_reply(call, 0, arg, arg_len);
}
