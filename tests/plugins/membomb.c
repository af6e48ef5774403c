/*
 * Hostile plugin: a memory bomb. The call "grow" grows the memory a page
 * at a time until the host refuses (memory.grow returns -1 at the
 * plugin's memory_pages cap), touches every page, then keeps asking for
 * more with malloc and aborts when that fails. Expected: memory never
 * passes the cap, the instance ends with a trap (unreachable, from
 * abort) that is recorded, and it is restarted with backoff.
 * "grow-once" grows by 16 MiB once and answers with memory.grow's result,
 * so a test can see the cap from inside (-1 when over it); "grow-all"
 * grows a page at a time until refused and answers with the pages it
 * then has (the cap, when the cap holds).
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-membomb", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: grows its memory without end",
    "limits": {"memory_pages": 32}
})
// clang-format on

static int32_t bomb(void)
{
    for (;;) {
        size_t before = __builtin_wasm_memory_size(0);
        if (__builtin_wasm_memory_grow(0, 1) == (size_t)-1)
            break;
        volatile uint8_t *page = (uint8_t *)(before * 65536);
        page[0] = 1;
        page[65535] = 1;
    }
    for (;;) {
        char *p = malloc(1 << 20);
        if (!p)
            abort();
        memset(p, 0xaa, 1 << 20);
    }
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    char msg[64];
    (void)arg, (void)arg_len;
    if (method_len == 4 && memcmp(method, "grow", 4) == 0)
        return bomb();
    if (method_len == 9 && memcmp(method, "grow-once", 9) == 0) {
        size_t r = __builtin_wasm_memory_grow(0, 256);
        snprintf(msg, sizeof(msg), "%ld", r == (size_t)-1 ? -1L : (long)r);
        return fastn_reply_str(call, 0, msg);
    }
    if (method_len == 8 && memcmp(method, "grow-all", 8) == 0)
        while (__builtin_wasm_memory_grow(0, 1) != (size_t)-1)
            ;
    snprintf(msg, sizeof(msg), "pages=%lu",
             (unsigned long)__builtin_wasm_memory_size(0));
    return fastn_reply_str(call, 0, msg);
}
