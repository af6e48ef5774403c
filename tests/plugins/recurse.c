/*
 * Hostile plugin: deep recursion. "frames" recurses with tiny frames, so
 * the engine's call-depth cap is what stops it
 * (FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED); "stack" recurses with 4 KiB
 * frames on the C stack, which runs off the bottom of the plugin's 64 KiB
 * stack region into unmapped addresses (an out-of-bounds memory trap) or
 * into its own data. Either way: the instance ends and is recorded, the
 * host's own stack is never at risk.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-recurse", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: recurses without end"
})
// clang-format on

static volatile int32_t sink;

__attribute__((noinline)) static int32_t frames(int32_t n)
{
    if (sink < 0) /* never true: keeps the compiler from seeing a loop */
        return 0;
    sink = n;
    return frames(n + 1) + sink;
}

__attribute__((noinline)) static int32_t stack(int32_t n)
{
    volatile char big[4096];
    if (sink < 0)
        return 0;
    big[n & 4095] = (char)n;
    return stack(n + 1) + big[(n * 7) & 4095];
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    (void)arg, (void)arg_len;
    if (method_len == 6 && memcmp(method, "frames", 6) == 0)
        return frames(0);
    if (method_len == 5 && memcmp(method, "stack", 5) == 0)
        return stack(0);
    return fastn_reply_str(call, 0, "ok");
}
