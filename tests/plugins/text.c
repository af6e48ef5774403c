/*
 * Hostile plugin: text meant to fool a terminal. Its manifest's
 * description carries a right-to-left override (U+202E); "say ARG"
 * answers with the bytes of ARG (escape sequences, C1 controls, anything);
 * "notify ARG" notifies with ARG as the title and the body (where the
 * host lets through what is not a control character: a bidi override).
 * Expected: fastn shows each escaped on a terminal, --json exactly.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-text", "version": "1.0.0", "abi": 1,
    "description": "invoice \u202Etxt.exe",
    "capabilities": ["notify"]
})
// clang-format on

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    char msg[32];
    if (method_len == 3 && memcmp(method, "say", 3) == 0)
        return fastn_call_reply(call, 0, arg, arg_len);
    if (method_len == 6 && memcmp(method, "notify", 6) == 0) {
        int32_t rc = fastn_notify((const char *)arg, arg_len, (const char *)arg,
                                  arg_len);
        snprintf(msg, sizeof(msg), "%d", (int)rc);
        return fastn_reply_str(call, rc ? 1 : 0, msg);
    }
    return fastn_reply_str(call, 1, "unknown method");
}
