/*
 * Hostile plugin: a manifest that lies about memory. It asks for 2 pages
 * (128 KiB) but its module declares about 2 MiB of initial memory (a
 * large zeroed array). Its manifest and interface pass the loader's
 * checks; expected: instantiation is refused because the module's
 * initial memory is over the plugin's memory_pages (the engine's cap),
 * recorded, and never retried in a tight loop.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-liar-memory", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: declares more memory than it asks for",
    "limits": {"memory_pages": 2}
})
// clang-format on

static uint8_t hoard[2 << 20];

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    (void)method, (void)method_len;
    hoard[arg_len & (sizeof(hoard) - 1)] = arg_len ? arg[0] : 0;
    return fastn_reply_str(call, 0, (const char *)hoard);
}
