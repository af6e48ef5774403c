/*
 * @NAME@: a request-reply protocol on /@NAME@/1.0.0. A peer opens a
 * stream, writes its request and closes its side; @NAME@ collects the
 * request until that EOF, answers it (answer() below: here the request
 * upper-cased, in place of your own work) and closes. The local call
 * "answer ARG" gives the same answer, to try it from the shell.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "@NAME@",
    "version": "0.1.0",
    "abi": 1,
    "description": "Answers requests (made by fastn plugin new)",
    "protocols": ["/@NAME@/1.0.0"],
    "capabilities": [],
    "serves": "anyone",
    "limits": {"streams": 64},
    "apps": ["fastn"]
})
// clang-format on

#define MAX_STREAMS 64
#define REQUEST_MAX (64 * 1024) /* a longer request is refused */

/* A stream's request as it comes, and what waits to be sent (the SDK's
 * per-stream buffers, <fastn/plugin.h>). */
static struct fastn_sbuf bufs[MAX_STREAMS];

/* The work: the answer to a request, written into out (len bytes). */
static void answer(const uint8_t *req, size_t len, uint8_t *out)
{
    for (size_t i = 0; i < len; i++)
        out[i] = req[i] >= 'a' && req[i] <= 'z' ? req[i] - 'a' + 'A' : req[i];
}

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)peer, (void)peer_len, (void)protocol, (void)protocol_len;
    return fastn_sbuf_new(bufs, MAX_STREAMS, stream) ? 0
                                                     : FASTN_ERR_PLUGIN_LIMIT;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    struct fastn_sbuf *s = fastn_sbuf_find(bufs, MAX_STREAMS, stream);
    int32_t rc = fastn_sbuf_take(s, data, len, REQUEST_MAX);

    if (rc)
        fastn_sbuf_drop(s); /* too long: the error resets the stream */
    return rc;
}

int32_t on_close(int32_t stream, int32_t reason)
{
    struct fastn_sbuf *s = fastn_sbuf_find(bufs, MAX_STREAMS, stream);

    if (!s)
        return 0;
    if (reason != FASTN_CLOSE_EOF) {
        fastn_sbuf_drop(s);
        return 0;
    }
    /* the whole request is here: answer it; what the stream does not
     * take at once goes out from on_writable, then the stream closes */
    answer(s->in, s->in_len, s->in);
    return fastn_sbuf_reply_close(s, s->in, s->in_len);
}

int32_t on_writable(int32_t stream)
{
    return fastn_sbuf_flush(fastn_sbuf_find(bufs, MAX_STREAMS, stream));
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    if (method_len == 6 && memcmp(method, "answer", 6) == 0) {
        uint8_t *out = malloc(arg_len + 1);
        if (!out)
            return FASTN_ERR_NOMEM;
        answer(arg, arg_len, out);
        int32_t rc = fastn_call_reply(call, 0, out, arg_len);
        free(out);
        return rc;
    }
    return fastn_reply_str(call, FASTN_ERR_NOT_FOUND,
                           "unknown method; @NAME@ has: answer REQUEST");
}
