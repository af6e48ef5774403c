/*
 * echo: sends every byte a peer writes on /fastn/echo/1.0.0 back to it,
 * and answers the local call "echo" with its argument. For tests and
 * benchmarks, so it does as little as it can while still honouring
 * backpressure: bytes of a delivery the stream cannot take yet wait in a
 * per-stream buffer and go out on on_writable; while any wait, on_data
 * returns FASTN_ERR_AGAIN, so the host holds the new data and pauses the
 * stream (the peer that does not read our echo is made to stop writing).
 * The buffer thus never holds more than one delivery (64 KiB).
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
/* one delivery (on_data brings at most 64 KiB): never more */
#define PENDING_MAX (64 * 1024)

struct echo_stream {
    int32_t handle; /* 0: free */
    uint8_t *pending;
    size_t len, cap;
    int eof; /* the peer finished: close once pending is flushed */
};

static struct echo_stream streams[MAX_STREAMS];

static struct echo_stream *find(int32_t h)
{
    for (int i = 0; i < MAX_STREAMS; i++)
        if (streams[i].handle == h)
            return &streams[i];
    return NULL;
}

static void drop(struct echo_stream *s)
{
    free(s->pending);
    *s = (struct echo_stream){0};
}

static int32_t keep(struct echo_stream *s, const uint8_t *p, size_t n)
{
    if (s->len + n > PENDING_MAX)
        return FASTN_ERR_TOO_LARGE;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n)
            cap *= 2;
        uint8_t *np = realloc(s->pending, cap);
        if (!np)
            return FASTN_ERR_NOMEM;
        s->pending = np;
        s->cap = cap;
    }
    memcpy(s->pending + s->len, p, n);
    s->len += n;
    return 0;
}

/* Writes what is pending; closes once all is out after the peer's EOF. */
static int32_t flush(struct echo_stream *s)
{
    while (s->len > 0) {
        int32_t n = fastn_stream_write(s->handle, s->pending, s->len);
        if (n == FASTN_ERR_AGAIN || n == 0)
            return 0; /* on_writable will call again */
        if (n < 0)
            return n;
        memmove(s->pending, s->pending + n, s->len - (size_t)n);
        s->len -= (size_t)n;
    }
    if (s->eof) {
        int32_t h = s->handle;
        drop(s);
        return fastn_stream_close(h);
    }
    return 0;
}

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)peer, (void)peer_len, (void)protocol, (void)protocol_len;
    struct echo_stream *s = find(0);
    if (!s)
        return FASTN_ERR_PLUGIN_LIMIT;
    s->handle = stream;
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    struct echo_stream *s = find(stream);
    int32_t err;
    if (!s || stream == 0)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    if (s->len > 0 && (err = flush(s)) < 0) {
        drop(s);
        return err;
    }
    if (s->len > 0)
        return FASTN_ERR_AGAIN; /* hold it: on_writable comes first */
    int32_t n = fastn_stream_write(stream, data, len); /* straight back */
    if (n < 0 && n != FASTN_ERR_AGAIN) {
        drop(s);
        return n;
    }
    if (n > 0) {
        data += n;
        len -= (size_t)n;
    }
    err = len ? keep(s, data, len) : 0;
    if (err)
        drop(s);
    return err;
}

int32_t on_writable(int32_t stream)
{
    struct echo_stream *s = find(stream);
    return s && stream ? flush(s) : 0;
}

int32_t on_close(int32_t stream, int32_t reason)
{
    struct echo_stream *s = find(stream);
    if (!s || stream == 0)
        return 0;
    if (reason != FASTN_CLOSE_EOF) {
        drop(s); /* gone: the handle is dead */
        return 0;
    }
    s->eof = 1;
    return flush(s);
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    if (method_len == 4 && memcmp(method, "echo", 4) == 0)
        return fastn_call_reply(call, 0, arg, arg_len);
    if (method_len == 2 && memcmp(method, "id", 2) == 0) {
        char id[FASTN_PEER_ID_BUF];
        int32_t n = fastn_local_peer_id_str(id, sizeof(id));
        return n < 0 ? n : fastn_reply_str(call, 0, id);
    }
    return fastn_reply_str(call, FASTN_ERR_NOT_FOUND,
                           "unknown method; echo has: echo ARG, id");
}
