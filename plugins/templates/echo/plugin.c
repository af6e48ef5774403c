/*
 * @NAME@: sends every byte a peer writes on /@NAME@/1.0.0 back to it, and
 * answers the local call "echo" with its argument.
 *
 * Backpressure: a write may take fewer bytes than asked (the peer reads
 * slowly). What is left waits in the stream's buffer and goes out from
 * on_writable; meanwhile on_data returns FASTN_ERR_AGAIN, so the host
 * keeps the new bytes and stops reading the stream: the peer waits too.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "@NAME@",
    "version": "0.1.0",
    "abi": 1,
    "description": "Echoes what a peer sends (made by fastn plugin new)",
    "protocols": ["/@NAME@/1.0.0"],
    "capabilities": [],
    "serves": "anyone",
    "limits": {"streams": 64},
    "apps": ["fastn"]
})
// clang-format on

#define MAX_STREAMS 64

struct echo {
    int32_t handle; /* 0: a free slot */
    uint8_t *left;  /* bytes not written yet (one delivery at most) */
    size_t len;
    int eof; /* the peer is done: close once all is written */
};

static struct echo streams[MAX_STREAMS];

static struct echo *find(int32_t handle)
{
    for (int i = 0; i < MAX_STREAMS; i++)
        if (streams[i].handle == handle)
            return &streams[i];
    return NULL;
}

static void drop(struct echo *e)
{
    free(e->left);
    *e = (struct echo){0};
}

/* Writes what is left; closes after the peer's EOF once all is out. */
static int32_t flush(struct echo *e)
{
    while (e->len > 0) {
        int32_t n = fastn_stream_write(e->handle, e->left, e->len);
        if (n == FASTN_ERR_AGAIN || n == 0)
            return 0; /* on_writable comes when there is room */
        if (n < 0)
            return n;
        memmove(e->left, e->left + n, e->len - (size_t)n);
        e->len -= (size_t)n;
    }
    if (e->eof) {
        int32_t h = e->handle;
        drop(e);
        return fastn_stream_close(h);
    }
    return 0;
}

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)peer, (void)peer_len, (void)protocol, (void)protocol_len;
    struct echo *e = find(0);
    if (!e)
        return FASTN_ERR_PLUGIN_LIMIT; /* refused: the stream is reset */
    e->handle = stream;
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    struct echo *e = find(stream);
    if (!e || stream == 0)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    if (e->len > 0)
        return FASTN_ERR_AGAIN; /* the host keeps these bytes for later */
    int32_t n = fastn_stream_write(stream, data, len);
    if (n == FASTN_ERR_AGAIN)
        n = 0;
    if (n < 0)
        return n;
    if ((size_t)n < len) {
        if (!(e->left = malloc(len - (size_t)n)))
            return FASTN_ERR_NOMEM;
        memcpy(e->left, data + n, len - (size_t)n);
        e->len = len - (size_t)n;
    }
    return 0;
}

int32_t on_writable(int32_t stream)
{
    struct echo *e = find(stream);
    return e && stream ? flush(e) : 0;
}

int32_t on_close(int32_t stream, int32_t reason)
{
    struct echo *e = find(stream);
    if (!e || stream == 0)
        return 0;
    if (reason != FASTN_CLOSE_EOF) {
        drop(e); /* reset: the handle is dead */
        return 0;
    }
    e->eof = 1;
    return flush(e);
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    if (method_len == 4 && memcmp(method, "echo", 4) == 0)
        return fastn_call_reply(call, 0, arg, arg_len);
    return fastn_reply_str(call, FASTN_ERR_NOT_FOUND,
                           "unknown method; @NAME@ has: echo ARG");
}
