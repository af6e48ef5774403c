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

struct request {
    int32_t handle; /* 0: a free slot */
    uint8_t *buf;
    size_t len;
};

static struct request reqs[MAX_STREAMS];

static struct request *find(int32_t handle)
{
    for (int i = 0; i < MAX_STREAMS; i++)
        if (reqs[i].handle == handle)
            return &reqs[i];
    return NULL;
}

static void drop(struct request *r)
{
    free(r->buf);
    *r = (struct request){0};
}

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
    struct request *r = find(0);
    if (!r)
        return FASTN_ERR_PLUGIN_LIMIT;
    r->handle = stream;
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    struct request *r = find(stream);
    if (!r || stream == 0)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    if (r->len + len > REQUEST_MAX) {
        drop(r);
        return FASTN_ERR_TOO_LARGE; /* resets the stream */
    }
    uint8_t *nb = realloc(r->buf, r->len + len);
    if (!nb)
        return FASTN_ERR_NOMEM;
    memcpy(nb + r->len, data, len);
    r->buf = nb;
    r->len += len;
    return 0;
}

int32_t on_close(int32_t stream, int32_t reason)
{
    struct request *r = find(stream);
    int32_t rc = 0;
    if (!r || stream == 0)
        return 0;
    if (reason == FASTN_CLOSE_EOF) {
        /* the whole request is here: answer it (an answer of at most
         * 64 KiB fits the stream's buffer in one write) */
        answer(r->buf, r->len, r->buf);
        int32_t n = r->len ? fastn_stream_write(stream, r->buf, r->len) : 0;
        rc = n < 0 ? n : fastn_stream_close(stream);
    }
    drop(r);
    return rc;
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
