/*
 * Test plugin: an echo that takes at most 4 streams at once. Serves
 * /fastn-test/narrow/1: each stream's bytes are written back as they
 * come (small requests: a write takes them whole) and the stream is
 * closed once the peer finished. With many callers at once the daemon
 * must make the streams past the fourth wait for a free one, not reset
 * them (tests/integration/many_clients.sh).
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "test-narrow", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: an echo of 4 streams at once",
    "protocols": ["/fastn-test/narrow/1"],
    "serves": "anyone",
    "limits": {"streams": 4}
})
// clang-format on

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)stream, (void)peer, (void)peer_len, (void)protocol,
        (void)protocol_len;
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    int32_t n = fastn_stream_write(stream, data, len);

    if (n >= 0 && (size_t)n < len)
        return FASTN_ERR_TOO_LARGE; /* requests are small here */
    return n < 0 ? n : 0;
}

int32_t on_close(int32_t stream, int32_t reason)
{
    (void)reason;
    return fastn_stream_close(stream);
}
