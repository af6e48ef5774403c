/*
 * The receive buffer all connections share (SWARM_RX_SCRATCH), kept past
 * a read for stream data its owner could not pass on at once: a spliced
 * stream whose local socket is full queues a reference to the bytes
 * where the connection decrypted them (swarm_stream_rx_hold) instead of
 * copying them. The next read then goes into a spare buffer. At most
 * SWARM_RX_HELD_MAX buffers are held at once and pieces under
 * SWARM_RX_HOLD_MIN are not held (the owner copies them), so what a
 * slow local client can pin is bounded. Released buffers are kept as
 * spares (reused without a page fault) until a second after the last
 * hold ended, then all but one are freed (swarm__rx_trim). A buffer is
 * wiped before it is freed (it held plaintext).
 */
#include "net/swarm_int.h"

#include <stdlib.h>

#include "fastn/err.h"
#include "util/mem.h"

struct swarm_rx {
    struct swarm *sw;               /* NULL once the swarm is freed */
    struct swarm_rx *next, **pprev; /* sw's held buffers */
    unsigned refs;
    uint8_t data[SWARM_RX_SCRATCH];
};

static void rx_destroy(struct swarm_rx *b)
{
    mem_wipe(b->data, sizeof(b->data));
    free(b);
}

int swarm__rx_init(struct swarm *sw)
{
    sw->rx_buf = calloc(1, sizeof(*sw->rx_buf));
    if (!sw->rx_buf)
        return FASTN_ERR_NOMEM;
    sw->rx_buf->sw = sw;
    sw->rx = sw->rx_buf->data;
    return 0;
}

/* Frees the spares past keep. */
static void spares_free(struct swarm *sw, unsigned keep)
{
    struct swarm_rx *b;

    while (sw->rx_n_spare > keep) {
        b = sw->rx_spare;
        sw->rx_spare = b->next;
        sw->rx_n_spare--;
        rx_destroy(b);
    }
}

void swarm__rx_trim(struct swarm *sw)
{
    if (!sw->rx_held)
        spares_free(sw, 1);
}

void swarm__rx_free(struct swarm *sw)
{
    struct swarm_rx *b = sw->rx_held_list, *next;

    for (; b; b = next) { /* their owners release them later */
        next = b->next;
        b->sw = NULL;
        b->pprev = NULL;
    }
    sw->rx_held_list = NULL;
    if (sw->rx_buf && !sw->rx_buf->refs)
        rx_destroy(sw->rx_buf);
    spares_free(sw, 0);
    sw->rx_buf = NULL;
    sw->rx = NULL;
}

void swarm__rx_before_read(struct swarm *sw)
{
    if (!sw->rx_buf->refs)
        return;
    sw->rx_buf = sw->rx_spare; /* hold made sure there is one */
    sw->rx_spare = sw->rx_buf->next;
    sw->rx_n_spare--;
    sw->rx = sw->rx_buf->data;
}

struct swarm_rx *swarm_stream_rx_hold(struct swarm_stream *s, const uint8_t *p,
                                      size_t n)
{
    struct swarm *sw = s->sw;
    struct swarm_rx *b = sw->rx_buf;

    if (n < SWARM_RX_HOLD_MIN || p < b->data ||
        (size_t)(p - b->data) > sizeof(b->data) - n)
        return NULL;
    if (!b->refs) {
        if (sw->rx_held >= SWARM_RX_HELD_MAX)
            return NULL;
        if (!sw->rx_spare) {
            if (!(sw->rx_spare = malloc(sizeof(*b))))
                return NULL;
            sw->rx_spare->sw = sw;
            sw->rx_spare->refs = 0;
            sw->rx_spare->next = NULL;
            sw->rx_spare->pprev = NULL;
            sw->rx_n_spare = 1;
        }
        b->next = sw->rx_held_list;
        b->pprev = &sw->rx_held_list;
        if (b->next)
            b->next->pprev = &b->next;
        sw->rx_held_list = b;
        sw->rx_held++;
    }
    b->refs++;
    return b;
}

void swarm_rx_release(struct swarm_rx *b)
{
    struct swarm *sw = b->sw;

    if (--b->refs)
        return;
    if (b->pprev) {
        *b->pprev = b->next;
        if (b->next)
            b->next->pprev = b->pprev;
        b->pprev = NULL;
    }
    if (!sw) {
        rx_destroy(b);
        return;
    }
    if (!--sw->rx_held && sw->rx_n_spare > 1)
        swarm__trim_soon(sw);
    if (b == sw->rx_buf)
        return; /* still the one reads go into */
    b->next = sw->rx_spare;
    sw->rx_spare = b;
    sw->rx_n_spare++;
}
