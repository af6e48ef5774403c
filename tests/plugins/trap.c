/*
 * Test plugin: traps three calls deep, for the trap reports. The call
 * "crash" (and the export "crash", for fastn-wasm --invoke) runs
 * trap_outer -> trap_middle -> trap_inner, which stores out of bounds.
 * The module keeps its name section (the build strips only debug
 * sections), so a trap names these functions. It imports nothing from
 * fastn, so fastn-wasm runs it as it is; any other call is answered
 * with FASTN_ERR_NOT_FOUND (on_call's return, with no reply).
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "test-trap", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: traps three calls deep"
})
// clang-format on

static volatile int32_t sink;

__attribute__((noinline)) static int32_t trap_inner(int32_t n)
{
    /* far past any memory the plugin has: an out-of-bounds trap */
    volatile int32_t *p = (volatile int32_t *)(uintptr_t)(0xfffff000u + n);
    *p = n;
    return sink;
}

__attribute__((noinline)) static int32_t trap_middle(int32_t n)
{
    sink = n;
    return trap_inner(n + 4) + sink;
}

__attribute__((noinline)) static int32_t trap_outer(int32_t n)
{
    sink = n;
    return trap_middle(n + 4) + sink;
}

FASTN_EXPORT_(crash) int32_t crash(void)
{
    return trap_outer((int32_t)(sink & 0xff));
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    (void)call, (void)arg, (void)arg_len;
    if (method_len == 5 && memcmp(method, "crash", 5) == 0)
        return trap_outer((int32_t)(sink & 0xff));
    return FASTN_ERR_NOT_FOUND;
}
