/*
 * Test plugin: an echo whose close handler is misspelt "on_closed". The
 * loader refuses it naming the export and the event it likely meant
 * ("unknown export on_closed: did you mean on_close?"), not as a plugin
 * built for another ABI.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "test-misspelt", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: a misspelt handler",
    "protocols": ["/fastn-test/misspelt/1"]
})
// clang-format on

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)stream, (void)peer, (void)peer_len, (void)protocol;
    (void)protocol_len;
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    return fastn_stream_write(stream, data, len) < 0 ? -1 : 0;
}

FASTN_EXPORT_(on_closed) int32_t on_closed(int32_t stream, int32_t reason);
int32_t on_closed(int32_t stream, int32_t reason)
{
    (void)reason;
    return fastn_stream_close(stream);
}
