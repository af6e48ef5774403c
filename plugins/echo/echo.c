/*
 * echo: sends every byte a peer writes on /fastn/echo/1.0.0 back to it,
 * and answers the local call "echo" with its argument. For tests and
 * benchmarks, so it does as little as it can while still honouring
 * backpressure: bytes of a delivery the stream cannot take yet wait in
 * the stream's buffer (the SDK's fastn_sbuf) and go out on on_writable;
 * while any wait, on_data returns FASTN_ERR_AGAIN, so the host holds the
 * new data and pauses the stream (the peer that does not read our echo
 * is made to stop writing). The buffer thus never holds more than one
 * delivery (64 KiB). The call "args" shows how the SDK splits a call's
 * arguments (`fastn plugin call echo args A B ...`).
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "echo",
    "version": "1.0.0",
    "abi": 1,
    "description": "Echoes stream data back to the sender (tests, benchmarks)",
    "protocols": ["/fastn/echo/1.0.0"],
    "capabilities": [],
    "serves": "anyone",
    "limits": {"streams": 256, "memory_pages": 64},
    "apps": ["fastn"]
})
// clang-format on

#define MAX_STREAMS 256
#define MAX_ARGS 16

/* One fastn_sbuf per open stream; its out holds what a stream could not
 * take yet, never more than one delivery (64 KiB). */
static struct fastn_sbuf streams[MAX_STREAMS];

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)peer, (void)peer_len, (void)protocol, (void)protocol_len;
    return fastn_sbuf_new(streams, MAX_STREAMS, stream)
               ? 0
               : FASTN_ERR_PLUGIN_LIMIT;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    struct fastn_sbuf *s = fastn_sbuf_find(streams, MAX_STREAMS, stream);
    int32_t err;
    if (!s)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    if (s->out_len > 0 && (err = fastn_sbuf_flush(s)) < 0)
        return err;
    if (s->out_len > 0)
        return FASTN_ERR_AGAIN;          /* hold it: on_writable comes first */
    err = fastn_sbuf_send(s, data, len); /* straight back */
    if (err < 0)
        fastn_sbuf_drop(s);
    return err;
}

int32_t on_writable(int32_t stream)
{
    return fastn_sbuf_flush(fastn_sbuf_find(streams, MAX_STREAMS, stream));
}

int32_t on_close(int32_t stream, int32_t reason)
{
    struct fastn_sbuf *s = fastn_sbuf_find(streams, MAX_STREAMS, stream);
    if (!s)
        return 0;
    if (reason != FASTN_CLOSE_EOF) {
        fastn_sbuf_drop(s); /* gone: the handle is dead */
        return 0;
    }
    s->closing = 1; /* close once what waits is out */
    return fastn_sbuf_flush(s);
}

/* "args": the arguments, one per line as "N: ARG" (what the SDK's
 * splitter made of them), so callers can see the encoding. */
static int32_t call_args(int32_t call, const uint8_t *arg, size_t arg_len)
{
    struct fastn_arg args[MAX_ARGS];
    int32_t n = fastn_args_split(arg, arg_len, args, MAX_ARGS);
    if (n < 0)
        return fastn_reply_str(call, n, "at most 16 arguments");
    size_t cap = arg_len + 16 * (size_t)MAX_ARGS + 32, len = 0;
    char *out = malloc(cap);
    if (!out)
        return FASTN_ERR_NOMEM;
    len += (size_t)snprintf(out, cap, "%d args\n", (int)n);
    for (int32_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%d: %.*s\n", (int)i,
                                (int)args[i].len, args[i].p);
    int32_t err = fastn_call_reply(call, 0, out, len);
    free(out);
    return err;
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    if (fastn_is(method, method_len, "echo"))
        return fastn_call_reply(call, 0, arg, arg_len);
    if (fastn_is(method, method_len, "args"))
        return call_args(call, arg, arg_len);
    if (fastn_is(method, method_len, "id")) {
        char id[FASTN_PEER_ID_BUF];
        int32_t n = fastn_local_peer_id_str(id, sizeof(id));
        return n < 0 ? n : fastn_reply_str(call, 0, id);
    }
    return fastn_reply_str(call, FASTN_ERR_NOT_FOUND,
                           "unknown method; echo has: echo ARG, args ARG..., "
                           "id");
}
