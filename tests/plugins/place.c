/*
 * Test plugin: fastn_data_at, the plugin naming where on_data's bytes go.
 * Serves /fastn-test/place/1 (one stream at a time). It keeps what it
 * reads in one buffer, as a plugin decoding messages would, and places
 * each on_data at the buffer's end; what it does is picked by a call:
 *   mode buf    place at the end of the buffer (the default)
 *   mode zero   return 0: the host uses fastn_alloc
 *   mode bad    return a pointer past the end of memory
 *   mode hold   place at the end, but on_data refuses (FASTN_ERR_AGAIN)
 *   log         the log since the last "log": "aLEN" asked where,
 *               "d:TEXT@p" taken where placed, "d:TEXT@m" taken from a
 *               fastn_alloc block, "h" refused, "f" that block freed,
 *               "F!" the host freed the placed bytes (it must not)
 *   buf         what the buffer holds
 */
#define FASTN_NO_ALLOC_EXPORTS
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "test-place", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: names where its stream data goes",
    "protocols": ["/fastn-test/place/1"],
    "serves": "anyone"
})
// clang-format on

static uint8_t buf[4096];
static size_t len;
static char mode = 'b';
static char log_buf[2000];
static size_t log_len;
static const void *last_data; /* on_data's bytes when not placed */

static void note(const char *text)
{
    size_t room = sizeof(log_buf) - log_len;
    int n = snprintf(log_buf + log_len, room, "%s%s", log_len ? " " : "", text);
    if (n > 0 && (size_t)n < room)
        log_len += (size_t)n;
}

void *fastn_alloc(size_t n)
{
    return malloc(n ? n : 1);
}

void fastn_free(void *p)
{
    uint8_t *b = p;
    if (b >= buf && b < buf + sizeof(buf))
        note("F!");
    else if (p == last_data)
        note("f"); /* not the blocks of calls */
    if (p == last_data)
        last_data = NULL;
    free(p);
}

void *fastn_data_at(int32_t stream, size_t n)
{
    char text[16];
    (void)stream;
    snprintf(text, sizeof(text), "a%zu", n);
    note(text);
    if (mode == 'z' || len + n > sizeof(buf))
        return NULL;
    if (mode == 'x')
        return (void *)(__builtin_wasm_memory_size(0) * 65536 - 2);
    return buf + len;
}

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)stream, (void)peer, (void)peer_len, (void)protocol,
        (void)protocol_len;
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t n)
{
    char text[48];
    int placed = data == buf + len;
    (void)stream;
    if (mode == 'h') {
        note("h");
        return FASTN_ERR_AGAIN;
    }
    if (!placed) {
        last_data = data;
        if (len + n > sizeof(buf))
            return FASTN_ERR_PLUGIN_LIMIT;
        memcpy(buf + len, data, n);
    }
    len += n;
    snprintf(text, sizeof(text), "d:%.*s@%c", (int)(n < 32 ? n : 32),
             (const char *)data, placed ? 'p' : 'm');
    note(text);
    return 0;
}

int32_t on_close(int32_t stream, int32_t reason)
{
    if (reason == FASTN_CLOSE_EOF)
        fastn_stream_close(stream);
    return 0;
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    if (method_len == 3 && memcmp(method, "log", 3) == 0) {
        int32_t r = fastn_call_reply(call, 0, log_buf, log_len);
        log_len = 0;
        return r;
    }
    if (method_len == 3 && memcmp(method, "buf", 3) == 0)
        return fastn_call_reply(call, 0, buf, len);
    if (method_len == 4 && memcmp(method, "mode", 4) == 0 && arg_len > 0) {
        mode = arg[0] == 'b' && arg_len > 1 && arg[1] == 'a' ? 'x' : arg[0];
        return fastn_reply_str(call, 0, "ok");
    }
    return fastn_reply_str(call, FASTN_ERR_NOT_FOUND, "unknown method");
}
