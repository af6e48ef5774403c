/* Fuzz target: the connection pipeline as a listener sees it from a
 * stranger: multistream-select, then the Noise handshake, fed in chunks.
 * With the first byte odd, a valid negotiation for /noise is prepended so
 * the rest reaches the Noise layer; with its bit 0x40 set, the bytes go
 * through a lent receive buffer as the swarm reads them (conn_rx_lend),
 * scribbled over after each read. */
#include <stdint.h>
#include <string.h>

#include "net/conn.h"
#include "net/mss.h"

static const char *mux[] = {YAMUX_PROTOCOL_ID};
static struct identity id;
static struct noise_local local;
static uint8_t lent[NOISE_FRAME_MAX + 64];

/* Like conn_feed, through the lent buffer; polls before giving it back. */
static int feed_lent(struct conn *c, const uint8_t *p, size_t n, int *r)
{
    struct conn_event ev;
    uint8_t *dst;
    size_t room;

    if (conn_rx_lend(c, lent, sizeof(lent), &dst, &room) != 0)
        return -1;
    if (n > room)
        n = room;
    memcpy(dst, p, n);
    conn_rx_commit(c, n);
    while ((*r = conn_poll(c, &ev, 0)) == 1)
        ;
    if (conn_rx_unlend(c) != 0)
        return -1;
    memset(lent, 0xa5, sizeof(lent));
    return (int)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct conn_config cfg;
    struct conn *c;
    struct conn_event ev;
    struct buf in;
    size_t chunk;

    if (size < 1)
        return 0;
    if (!ready) {
        uint8_t seed[32] = {2};
        identity_global_init();
        identity_from_seed(&id, seed);
        noise_local_init(&local, &id, mux, 1);
        ready = 1;
    }
    chunk = data[0] / 2 % 32 + 1;
    buf_init(&in, 1 << 20);
    if (data[0] & 1) {
        mss_write_msg(&in, MSS_PROTOCOL_ID, strlen(MSS_PROTOCOL_ID));
        mss_write_msg(&in, NOISE_PROTOCOL_ID, strlen(NOISE_PROTOCOL_ID));
    }
    buf_append(&in, data + 1, size - 1);
    conn_config_default(&cfg, false, &local);
    c = conn_new(&cfg, 0);
    conn_start(c);
    for (size_t off = 0; off < in.len;) {
        size_t n = in.len - off < chunk ? in.len - off : chunk;
        int r = 0, k = (data[0] & 0x40) ? feed_lent(c, in.data + off, n, &r)
                                        : conn_feed(c, in.data + off, n);
        if (k <= 0)
            break;
        off += (size_t)k;
        while (!(data[0] & 0x40) && (r = conn_poll(c, &ev, 0)) == 1)
            ;
        if (r < 0)
            break;
        const uint8_t *p;
        size_t pn;
        conn_output(c, &p, &pn);
        conn_output_consume(c, pn);
    }
    conn_free(c);
    buf_cleanup(&in);
    return 0;
}
