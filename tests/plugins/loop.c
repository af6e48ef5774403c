/*
 * Hostile plugin: an infinite loop. The call "spin" (and any data on its
 * protocol) never returns. Expected: the host stops the event when its
 * fuel runs out (FASTN_ERR_WASM_TRAP_OUT_OF_FUEL), records it for
 * `fastn plugin info`, answers the call with an error, and restarts the
 * instance with backoff; the daemon and other plugins carry on.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-loop", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: loops forever",
    "protocols": ["/fastn-test/loop/1"],
    "limits": {"fuel_per_event": 1000000}
})
// clang-format on

static volatile uint64_t counter;

static int32_t spin(void)
{
    for (;;)
        counter++;
    return 0;
}

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)stream, (void)peer, (void)peer_len, (void)protocol,
        (void)protocol_len;
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    (void)stream, (void)data, (void)len;
    return spin();
}

int32_t on_close(int32_t stream, int32_t reason)
{
    (void)reason;
    return fastn_stream_close(stream);
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    (void)arg, (void)arg_len;
    if (method_len == 4 && memcmp(method, "spin", 4) == 0)
        return spin();
    return fastn_reply_str(call, 0, "ok");
}
