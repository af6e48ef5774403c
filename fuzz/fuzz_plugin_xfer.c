/* Fuzz target: /fastn/plugin/1.0.0 messages from a peer. The first byte
 * picks where the rest is split into two reads. The rest is decoded as a
 * request (what a serving daemon reads) and fed to an asker's reader
 * (offer, then body). Checks that a decoded request or offer encodes and
 * decodes back the same, and that the body never exceeds the offer's
 * size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "registry/plugin_xfer.h"

static void check_request(const uint8_t *p, size_t n)
{
    struct plugin_xfer_request a, b;
    struct buf out;
    size_t used = 0;

    if (plugin_xfer_request_decode(p, n, &used, &a) != 0)
        return;
    if (used > n)
        abort();
    buf_init(&out, 1 << 16);
    if (plugin_xfer_request_encode(&a, &out) != 0 ||
        plugin_xfer_request_decode(out.data, out.len, &used, &b) != 0 ||
        memcmp(&a, &b, sizeof(a)) != 0)
        abort();
    buf_cleanup(&out);
}

/* The offer the reader took encodes and reads back the same. */
static void check_offer(const struct plugin_xfer_offer *o)
{
    struct plugin_xfer_reader *r = malloc(sizeof(*r));
    struct buf out;
    const uint8_t *body;
    size_t used, body_len;

    buf_init(&out, 1 << 20);
    if (!r || plugin_xfer_offer_encode(o, &out) != 0)
        abort();
    plugin_xfer_reader_init(r, UINT64_MAX);
    if (plugin_xfer_reader_feed(r, out.data, out.len, &used, &body,
                                &body_len) != PLUGIN_XFER_EV_OFFER ||
        used != out.len || memcmp(&r->offer, o, sizeof(*o)) != 0)
        abort();
    plugin_xfer_reader_cleanup(r);
    free(r);
    buf_cleanup(&out);
}

static void read_answer(const uint8_t *p, size_t n, size_t split)
{
    struct plugin_xfer_reader *r = malloc(sizeof(*r));
    uint64_t body_total = 0;
    int rc = 0;

    if (!r)
        return;
    plugin_xfer_reader_init(r, 1 << 20);
    for (size_t off = 0; off < n && rc >= 0;) {
        size_t end = off < split && split < n ? split : n, used = 0;
        const uint8_t *body = NULL;
        size_t body_len = 0;
        rc = plugin_xfer_reader_feed(r, p + off, end - off, &used, &body,
                                     &body_len);
        if (used > end - off)
            abort();
        off += used;
        if (rc == PLUGIN_XFER_EV_OFFER)
            check_offer(&r->offer);
        if (rc == PLUGIN_XFER_EV_BODY)
            body_total += body_len;
        if (rc == PLUGIN_XFER_NEED_MORE && used == 0 && end - off > 0)
            abort(); /* no progress */
    }
    if (body_total > r->offer.size)
        abort();
    plugin_xfer_reader_end(r);
    plugin_xfer_reader_cleanup(r);
    free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t split = size > 1 ? data[0] % size : 0;
    check_request(data + 1, size - 1);
    read_answer(data + 1, size - 1, split);
    return 0;
}
