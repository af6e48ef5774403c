/*
 * Hostile plugin: opens streams without end. The call "flood PEER" opens
 * streams to PEER in a loop that never stops, resetting each one it got
 * so the open-streams limit never stops it by itself. Expected: opens are
 * refused past the plugin's streams limit and rate
 * (FASTN_ERR_PLUGIN_LIMIT, FASTN_ERR_AGAIN), the loop ends when the
 * event's fuel runs out (recorded), the peer sees at most a bounded
 * number of stream opens, and the connection to it keeps working for
 * everyone else. "hold PEER" opens streams without closing them and
 * answers "opened=N err=E" when refused: N is at most the limit (8).
 * "queue PEER" opens streams and writes 256 KiB to each as they open
 * (held by the host until the stream opens, then by the router until the
 * peer reads): "queued=N err=E". Expected under a small memory budget:
 * the writes past it end the instance with FASTN_ERR_PLUGIN_MEMORY.
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "hostile-streams", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: opens streams without end",
    "protocols": ["/fastn-test/streams/1"],
    "capabilities": ["streams"],
    "limits": {"streams": 8, "fuel_per_event": 5000000}
})
// clang-format on

#define PROTO "/fastn-test/streams/1"

static int32_t flood(const uint8_t *peer, size_t len)
{
    for (;;) {
        int32_t s =
            fastn_stream_open((const char *)peer, len, PROTO, strlen(PROTO));
        if (s > 0)
            fastn_stream_reset(s);
    }
}

static int32_t hold(int32_t call, const uint8_t *peer, size_t len)
{
    char msg[64];
    int opened = 0;
    int32_t s;
    while ((s = fastn_stream_open((const char *)peer, len, PROTO,
                                  strlen(PROTO))) > 0 &&
           opened < 100000)
        opened++;
    snprintf(msg, sizeof(msg), "opened=%d err=%d", opened, (int)s);
    return fastn_reply_str(call, 0, msg);
}

static uint8_t block[256 * 1024];
static int keep_open; /* queue's streams stay open (the others' do not) */

static int32_t queue(int32_t call, const uint8_t *peer, size_t len)
{
    char msg[64];
    int queued = 0;
    int32_t s, w = 0;
    keep_open = 1;
    while ((s = fastn_stream_open((const char *)peer, len, PROTO,
                                  strlen(PROTO))) > 0) {
        if ((w = fastn_stream_write(s, block, sizeof(block))) < 0)
            break;
        queued++;
    }
    snprintf(msg, sizeof(msg), "queued=%d err=%d", queued,
             (int)(s < 0 ? s : w));
    return fastn_reply_str(call, 0, msg);
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    if (method_len == 5 && memcmp(method, "queue", 5) == 0)
        return queue(call, arg, arg_len);
    if (method_len == 5 && memcmp(method, "flood", 5) == 0)
        return flood(arg, arg_len);
    if (method_len == 4 && memcmp(method, "hold", 4) == 0)
        return hold(call, arg, arg_len);
    return fastn_reply_str(call, 0, "ok");
}

int32_t on_stream(int32_t stream, const char *peer, size_t peer_len,
                  const char *protocol, size_t protocol_len)
{
    (void)stream, (void)peer, (void)peer_len, (void)protocol,
        (void)protocol_len;
    return 0;
}

int32_t on_data(int32_t stream, const uint8_t *data, size_t len)
{
    (void)stream, (void)data, (void)len;
    return 0;
}

int32_t on_close(int32_t stream, int32_t reason)
{
    (void)reason;
    return fastn_stream_close(stream);
}

int32_t on_open(int32_t stream, int32_t result)
{
    if (result == 0 && !keep_open)
        fastn_stream_reset(stream);
    return 0;
}
