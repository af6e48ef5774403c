/*
 * Hostile plugin: a long computation. The call "spin" loops until its
 * event's fuel runs out, and it asks for the most fuel a plugin may have
 * (1e9 units, about a second of work), run by the host in slices.
 * Expected: while it runs, the daemon goes on serving other plugins and
 * clients (tests/integration/plugins_hostile.sh measures that), then the
 * event ends with FASTN_ERR_WASM_TRAP_OUT_OF_FUEL.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-slow", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: computes for about a second",
    "limits": {"fuel_per_event": 1000000000}
})
// clang-format on

static volatile uint64_t counter;

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    (void)arg, (void)arg_len;
    if (method_len == 4 && memcmp(method, "spin", 4) == 0)
        for (;;)
            counter++;
    return fastn_reply_str(call, 0, "ok");
}
