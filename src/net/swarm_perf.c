/*
 * The perf client (/perf/1.0.0, libp2p/specs perf/perf.md) run inside the
 * daemon: it asks for `download` bytes back, sends `upload` bytes through
 * the in-place frame path and closes its side, then counts the reply. The
 * bytes are neither generated nor kept: a lent frame is sent as it is
 * (frames are zeroed when allocated and hold only ciphertext once
 * reused), and received data is only counted, so a run measures the
 * network stack and nothing else.
 *
 * Timing (microseconds on the swarm's clock): the upload phase runs from
 * the stream's open to the first byte (or the end) of the reply, since
 * the server answers only once it has read the whole upload; the
 * download phase from then to the reply's end.
 */
#include "net/swarm_int.h"

#include <stdlib.h>

#include "fastn/err.h"
#include "net/perf.h"

struct swarm_perf {
    struct swarm_stream *st;
    swarm_perf_cb cb;
    void *arg;
    uint64_t upload, download;
    bool sent_all;
    struct swarm_perf_stats stats;
};

static void perf_end(struct swarm_perf *p, int err)
{
    swarm_perf_cb cb = p->cb;

    p->cb = NULL;
    p->stats.now_us = swarm__now_us();
    if (cb)
        cb(p->arg, err, &p->stats);
}

/* Sends upload bytes while the stream has room; closes after the last. */
static void perf_push(struct swarm_perf *p)
{
    uint8_t *buf;
    size_t room;

    while (p->stats.uploaded < p->upload) {
        if (swarm_stream_frame(p->st, &buf, &room) || room == 0)
            return;
        if (room > p->upload - p->stats.uploaded)
            room = (size_t)(p->upload - p->stats.uploaded);
        if (swarm_stream_frame_send(p->st, room))
            return; /* the stream failed: CLOSED follows */
        p->stats.uploaded += room;
    }
    if (!p->sent_all) {
        p->sent_all = true;
        swarm_stream_close(p->st);
    }
}

static void reply_started(struct swarm_perf *p)
{
    if (!p->stats.reply_us)
        p->stats.reply_us = swarm__now_us();
}

/* Ends the run with err before the stream's end (reset, freed). */
static void perf_fail(struct swarm_perf *p, int err)
{
    perf_end(p, err);
    swarm_stream_reset(p->st);
    free(p);
}

static void perf_cb(struct swarm_stream *st,
                    const struct swarm_stream_event *ev, void *arg)
{
    struct swarm_perf *p = arg;

    switch (ev->type) {
    case SWARM_STREAM_OPEN:
        p->stats.open_us = swarm__now_us();
        perf_push(p);
        break;
    case SWARM_STREAM_WRITABLE:
        perf_push(p);
        break;
    case SWARM_STREAM_DATA:
        reply_started(p);
        p->stats.downloaded += ev->len;
        if (p->stats.downloaded > p->download || !p->sent_all) {
            perf_fail(p, FASTN_ERR_MALFORMED); /* more than asked, or early */
            return;
        }
        swarm_stream_consumed(st, ev->len);
        break;
    case SWARM_STREAM_FIN:
        reply_started(p);
        p->stats.end_us = swarm__now_us();
        if (p->stats.downloaded != p->download || !p->sent_all)
            perf_fail(p, FASTN_ERR_MALFORMED);
        break;
    case SWARM_STREAM_CLOSED:
        perf_end(p, ev->err);
        free(p);
        break;
    default:
        break;
    }
}

int swarm_perf(struct swarm *sw, const struct peer_id *peer, uint64_t upload,
               uint64_t download, uint32_t timeout_ms, swarm_perf_cb cb,
               void *arg, struct swarm_perf **out)
{
    static const char *const proto[] = {PERF_PROTOCOL_ID};
    uint8_t hdr[PERF_HEADER_LEN];
    struct swarm_perf *p = calloc(1, sizeof(*p));
    int err = 0;

    if (!p)
        return FASTN_ERR_NOMEM;
    p->cb = cb;
    p->arg = arg;
    p->upload = upload;
    p->download = download;
    p->stats.start_us = swarm__now_us();
    p->st = swarm_stream_open(sw, peer, proto, 1, SWARM_PERF_OPEN_TIMEOUT_MS,
                              perf_cb, p, &err);
    if (!p->st) {
        free(p);
        return err;
    }
    /* the header follows the proposal without waiting (one protocol) */
    perf_client_header(download, hdr);
    if (swarm_stream_write(p->st, hdr, sizeof(hdr)) != (int)sizeof(hdr) ||
        (timeout_ms && swarm_stream_set_timeout(p->st, timeout_ms))) {
        swarm_stream_reset(p->st);
        free(p);
        return FASTN_ERR_NOMEM;
    }
    if (out)
        *out = p;
    return 0;
}

void swarm_perf_get(const struct swarm_perf *p, struct swarm_perf_stats *st)
{
    *st = p->stats;
    st->now_us = swarm__now_us();
}

void swarm_perf_cancel(struct swarm_perf *p)
{
    if (!p)
        return;
    swarm_stream_reset(p->st);
    free(p);
}
