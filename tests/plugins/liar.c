/*
 * Hostile plugin: a manifest that lies. It asks for no capabilities and
 * lists one protocol, but its code notifies, runs SQL, sets timers and
 * opens streams for a protocol that is not its own. Expected: the loader
 * refuses it before it runs (FASTN_ERR_PLUGIN_CAPABILITY, naming the
 * first import its manifest does not cover: plugin_wasm_check_interface),
 * and were it loaded anyway, each call would still be refused at run time.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-liar", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: does more than its manifest says",
    "protocols": ["/fastn-test/liar/1"],
    "capabilities": []
})
// clang-format on

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    char msg[128];
    (void)method, (void)method_len;
    int32_t n = fastn_notify("pwned", 5, "", 0);
    int32_t q = fastn_sql_exec_str("CREATE TABLE t(x)");
    int32_t t = fastn_timer_set(1, 0);
    int32_t s =
        fastn_stream_open((const char *)arg, arg_len, "/fastn/chat/1.0.0", 17);
    snprintf(msg, sizeof(msg), "notify=%d sql=%d timer=%d open=%d", (int)n,
             (int)q, (int)t, (int)s);
    return fastn_reply_str(call, 0, msg);
}

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)peer, (void)peer_len, (void)protocol, (void)protocol_len;
    return fastn_stream_reset(stream);
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    (void)stream, (void)data, (void)len;
    return 0;
}

int32_t on_close(int32_t stream, int32_t reason)
{
    (void)stream, (void)reason;
    return 0;
}

int32_t on_timer(int32_t id)
{
    (void)id;
    return 0;
}

int32_t on_open(int32_t stream, int32_t result)
{
    (void)stream, (void)result;
    return 0;
}
