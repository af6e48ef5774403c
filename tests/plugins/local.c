/*
 * hostile-local: the loopback capabilities under test. Its port "echo"
 * (local-listen) echoes each local connection's bytes back with the
 * SDK's stream buffers, and the call `last` says what the host told it of
 * the latest one ("flags=F from=ADDR port=NAME"); `hold on` makes it refuse
 * every byte (FASTN_ERR_AGAIN: a plugin that does not read), `hold off` reads
 * again. The call `connect ADDR` opens ADDR with local_connect, sends
 * "hello", closes its side and answers the call with what came back
 * until EOF, so a test sees both a granted address (the manifest's,
 * which the config moves to the test's server) and one it did not ask
 * for (refused: the call's error).
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-local",
    "version": "1.0.0",
    "abi": 1,
    "description": "Tests local-listen and local-connect",
    "capabilities": ["local-listen", "local-connect"],
    "local_listen": [{"name": "echo", "port": 47311}],
    "local_connect": ["127.0.0.1:47312"],
    "limits": {"streams": 4}
})
// clang-format on

#define MAX 8

static struct fastn_sbuf bufs[MAX];
static int holding;
static int32_t conn_call, conn_stream; /* the call `connect` answers */
static char got[4096], last[160];
static size_t got_len;

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *proto, size_t proto_len)
{
    if (!fastn_sbuf_new(bufs, MAX, stream))
        return FASTN_ERR_PLUGIN_LIMIT;
    snprintf(last, sizeof(last), "flags=%d from=%.*s port=%.*s",
             (int)fastn_stream_flags(stream), (int)peer_len, peer,
             (int)proto_len, proto);
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    struct fastn_sbuf *s = fastn_sbuf_find(bufs, MAX, stream);
    if (stream == conn_stream) {
        size_t k = len < sizeof(got) - got_len ? len : sizeof(got) - got_len;
        memcpy(got + got_len, data, k);
        got_len += k;
        return 0;
    }
    if (!s)
        return FASTN_ERR_PLUGIN_BAD_HANDLE;
    if (holding)
        return FASTN_ERR_AGAIN;
    if (s->out_len > 0 && fastn_sbuf_flush(s) < 0)
        return FASTN_ERR_CLOSED;
    if (s->out_len > 0)
        return FASTN_ERR_AGAIN;
    return fastn_sbuf_send(s, data, len);
}

int32_t on_writable(int32_t stream)
{
    return fastn_sbuf_flush(fastn_sbuf_find(bufs, MAX, stream));
}

int32_t on_close(int32_t stream, int32_t reason)
{
    struct fastn_sbuf *s = fastn_sbuf_find(bufs, MAX, stream);
    if (stream == conn_stream) {
        char out[4200];
        int n = snprintf(out, sizeof(out), "flags=%d got=%.*s",
                         (int)fastn_stream_flags(stream), (int)got_len, got);
        fastn_call_reply(conn_call, reason, out, (size_t)n);
        if (reason == FASTN_CLOSE_EOF)
            fastn_stream_close(stream);
        conn_stream = 0;
        return 0;
    }
    if (!s)
        return 0;
    if (reason != FASTN_CLOSE_EOF) {
        fastn_sbuf_drop(s);
        return 0;
    }
    s->closing = 1;
    return fastn_sbuf_flush(s);
}

int32_t on_open(int32_t stream, int32_t result)
{
    if (stream != conn_stream)
        return 0;
    if (result < 0) {
        conn_stream = 0;
        return fastn_reply_str(conn_call, result, "connect failed");
    }
    fastn_write_str(stream, "hello\n");
    return fastn_stream_close(stream);
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    if (fastn_is(method, method_len, "hold")) {
        holding = fastn_is(arg, arg_len, "on");
        return fastn_reply_str(call, 0, holding ? "holding" : "reading");
    }
    if (fastn_is(method, method_len, "last"))
        return fastn_reply_str(call, 0, last);
    if (!fastn_is(method, method_len, "connect"))
        return FASTN_ERR_INVAL;
    if (conn_stream)
        return FASTN_ERR_BUSY;
    int32_t h = fastn_local_connect((const char *)arg, arg_len);
    if (h < 0)
        return fastn_reply_str(call, h, "local_connect refused");
    conn_call = call;
    conn_stream = h;
    got_len = 0;
    return 0;
}
