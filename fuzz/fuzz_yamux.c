/* Fuzz target: yamux frames. The first byte sets the chunk size and the
 * role; the rest is fed to a session whose application side reacts to
 * every event (accepts or resets streams, consumes and echoes data,
 * closes on FIN, opens streams and pings now and then). */
#include <stdint.h>
#include <string.h>

#include "net/yamux.h"

static void react(struct yamux_session *s, const struct yamux_event *ev,
                  uint64_t now)
{
    uint32_t id;
    switch (ev->type) {
    case YAMUX_EV_STREAM_OPEN:
        if (ev->stream_id % 3 == 0)
            yamux_stream_reset(s, ev->stream_id);
        else
            yamux_stream_accept(s, ev->stream_id, NULL);
        break;
    case YAMUX_EV_DATA:
        yamux_stream_consumed(s, ev->stream_id, ev->len, now);
        if (ev->len && ev->data[0] == 'e')
            yamux_stream_write(s, ev->stream_id, ev->data, ev->len);
        if (ev->len && ev->data[0] == 'o')
            yamux_stream_open(s, NULL, &id);
        if (ev->len && ev->data[0] == 'r')
            yamux_stream_reset(s, ev->stream_id);
        break;
    case YAMUX_EV_FIN:
        yamux_stream_close(s, ev->stream_id);
        break;
    case YAMUX_EV_WRITABLE:
        yamux_stream_write(s, ev->stream_id, (const uint8_t *)"w", 1);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct yamux_config cfg;
    struct yamux_session *s;
    struct yamux_event ev;
    size_t chunk, used, n;
    uint64_t now = 0;

    if (size < 1)
        return 0;
    yamux_config_default(&cfg, data[0] & 0x80);
    cfg.max_streams = 8;
    cfg.ack_backlog = 4;
    chunk = (data[0] & 0x7f) + 1;
    s = yamux_new(&cfg, now);
    data++;
    size--;
    while (size > 0) {
        size_t c = size < chunk ? size : chunk;
        int r;
        now += 1000;
        while ((r = yamux_feed(s, data, c, &used, &ev, now)) == 1) {
            react(s, &ev, now);
            data += used;
            size -= used;
            c -= used;
        }
        if (r < 0)
            break;
        data += used;
        size -= used;
        yamux_output(s, &n);
        yamux_output_consume(s, n);
        if (yamux_tick(s, now * 1000) < 0)
            break;
    }
    yamux_free(s);
    return 0;
}
