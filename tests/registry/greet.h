/*
 * Test plugin "greet", for registries (tests/integration/registry_*.sh):
 * the same code in three versions, greet-1.0.0.c, greet-1.1.0.c and
 * greet-2.0.0.c, which differ in their manifests only (2.0.0 asks for one
 * capability more, so updating to it waits for consent). It answers the
 * local call "version" with its version and closes every stream a peer
 * opens on /fastn-test/greet/1.0.0 after writing its version.
 */
#include <string.h>

#include <fastn/plugin.h>

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)peer, (void)peer_len, (void)protocol, (void)protocol_len;
    fastn_stream_write(stream, GREET_VERSION, sizeof(GREET_VERSION) - 1);
    fastn_stream_close(stream);
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    (void)stream, (void)data, (void)len;
    return 0;
}

int32_t on_close(int32_t stream, int32_t err)
{
    (void)stream, (void)err;
    return 0;
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    (void)arg, (void)arg_len;
    if (method_len == 7 && !memcmp(method, "version", 7))
        return fastn_reply_str(call, 0, GREET_VERSION);
    return fastn_reply_str(call, FASTN_ERR_NOT_FOUND, "greet has: version");
}
