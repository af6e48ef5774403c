/*
 * Test plugin: input flow control. Serves /fastn-test/hold/1; streams are
 * numbered 0, 1... in the order they open. on_data of a stream told to
 * hold returns FASTN_ERR_AGAIN (the host keeps the bytes and delivers them
 * again later); every event is written to a log the test reads:
 *   "hN:LEN" on_data refused, "dN:BYTES" on_data taken (bytes as text),
 *   "cN:REASON" on_close, "wN" on_writable.
 * Calls:
 *   hold N    stream N refuses its data from now on
 *   take N    stream N takes its data again
 *   fill N    writes to stream N until its send queue is full: "filled"
 *   log       the log since the last "log"
 *   grow      mallocs 60 000 bytes at a time until malloc fails, then
 *             frees them all: linear memory as large as the host lets it
 *             grow, with room inside for malloc; "pages=N"
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "test-hold", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: refuses stream data on request",
    "protocols": ["/fastn-test/hold/1"],
    "serves": "anyone",
    "limits": {"streams": 8, "fuel_per_event": 50000000}
})
// clang-format on

#define MAX 8

static int32_t handles[MAX];
static int holding[MAX];
static int n_streams;
static char log_buf[3000];
static size_t log_len;

static int index_of(int32_t stream)
{
    for (int i = 0; i < n_streams; i++)
        if (handles[i] == stream)
            return i;
    return -1;
}

/* Appends "KIND INDEX : TEXT" to the log. */
static void note(char kind, int i, const char *text)
{
    size_t room = sizeof(log_buf) - log_len;
    int n = snprintf(log_buf + log_len, room, "%s%c%d%s%s", log_len ? " " : "",
                     kind, i, *text ? ":" : "", text);
    if (n > 0 && (size_t)n < room)
        log_len += (size_t)n;
}

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)peer, (void)peer_len, (void)protocol, (void)protocol_len;
    if (n_streams == MAX)
        return FASTN_ERR_PLUGIN_LIMIT;
    handles[n_streams++] = stream;
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    char text[33];
    int i = index_of(stream);
    size_t k = len < sizeof(text) - 1 ? len : sizeof(text) - 1;

    if (i < 0)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    if (holding[i]) {
        snprintf(text, sizeof(text), "%zu", len);
        note('h', i, text);
        return FASTN_ERR_AGAIN;
    }
    memcpy(text, data, k);
    text[k] = '\0';
    note('d', i, text);
    return 0;
}

int32_t on_close(int32_t stream, int32_t reason)
{
    char text[16];
    int i = index_of(stream);
    snprintf(text, sizeof(text), "%d", (int)reason);
    note('c', i, text);
    if (i >= 0 && reason == FASTN_CLOSE_EOF)
        fastn_stream_close(stream);
    return 0;
}

int32_t on_writable(int32_t stream)
{
    note('w', index_of(stream), "");
    return 0;
}

static int32_t fill(int32_t call, int i)
{
    static uint8_t junk[65536];
    int32_t n;

    if (i < 0 || i >= n_streams)
        return fastn_reply_str(call, FASTN_ERR_INVAL, "no such stream");
    while ((n = fastn_stream_write(handles[i], junk, sizeof(junk))) ==
           (int32_t)sizeof(junk))
        ;
    return fastn_reply_str(
        call, 0, n >= 0 || n == FASTN_ERR_AGAIN ? "filled" : "write failed");
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    int i = arg_len > 0 ? arg[0] - '0' : -1;

    if (method_len == 3 && memcmp(method, "log", 3) == 0) {
        int32_t r = fastn_call_reply(call, 0, log_buf, log_len);
        log_len = 0;
        return r;
    }
    if (method_len == 4 && memcmp(method, "grow", 4) == 0) {
        char msg[32];
        void **head = NULL, **b;
        while ((b = malloc(60000))) {
            *b = head;
            head = b;
        }
        while ((b = head)) {
            head = *b;
            free(b);
        }
        snprintf(msg, sizeof(msg), "pages=%lu",
                 (unsigned long)__builtin_wasm_memory_size(0));
        return fastn_reply_str(call, 0, msg);
    }
    if (i < 0 || i >= MAX)
        return fastn_reply_str(call, FASTN_ERR_INVAL, "bad stream number");
    if (method_len == 4 && memcmp(method, "hold", 4) == 0)
        holding[i] = 1;
    else if (method_len == 4 && memcmp(method, "take", 4) == 0)
        holding[i] = 0;
    else if (method_len == 4 && memcmp(method, "fill", 4) == 0)
        return fill(call, i);
    else
        return fastn_reply_str(call, FASTN_ERR_NOT_FOUND, "unknown method");
    return fastn_reply_str(call, 0, "ok");
}
