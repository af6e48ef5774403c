/* Fuzz target: DCUtR messages as a peer sends them, in two pieces, to a
 * responder and to an initiator that has started. Properties: whatever
 * the input, every address a DIAL event hands out passes the policy (a
 * public TCP address, at most max_addrs), and everything the exchange
 * writes decodes as one of its own messages. */
#include <stdint.h>
#include <stdlib.h>

#include "net/dcutr.h"

static const struct dcutr_config cfg = {.max_addrs = 4};

static void check_output(const struct dcutr *d)
{
    struct dcutr_msg m;
    struct buf_reader r;
    const uint8_t *p, *body;
    uint64_t len;
    size_t n;

    p = dcutr_output(d, &n);
    buf_reader_init(&r, p, n);
    while (buf_reader_left(&r)) {
        if (buf_get_uvarint(&r, &len) || len > DCUTR_MAX_MSG ||
            buf_get_span(&r, (size_t)len, &body) ||
            dcutr_msg_decode(body, (size_t)len, &cfg.policy, 16, &m) != 0)
            abort();
    }
}

static void check_event(const struct dcutr_event *ev)
{
    if (ev->addrs->n == 0 || ev->addrs->n > cfg.max_addrs)
        abort();
    for (size_t i = 0; i < ev->addrs->n; i++)
        if (addr_scope_of(&ev->addrs->a[i]) != ADDR_SCOPE_PUBLIC)
            abort();
}

static void run(enum dcutr_role role, const uint8_t *data, size_t size)
{
    struct dcutr d;
    struct dcutr_event ev;
    struct multiaddr ours;
    size_t split = size ? data[0] % (size + 1) : 0, off = 0, used;
    uint64_t now = 1;
    int rc = 0;

    multiaddr_parse("/ip4/1.2.3.4/tcp/4001", &ours);
    dcutr_init(&d, &cfg, role, &ours, 1, now);
    if (role == DCUTR_INITIATOR)
        dcutr_start(&d, now);
    for (int piece = 0; piece < 2 && rc >= 0; piece++) {
        size_t end = piece == 0 ? split : size;
        while (off < end && rc >= 0) {
            rc = dcutr_feed(&d, data + off, end - off, &used, &ev, now += 7);
            off += used;
            if (rc == 1)
                check_event(&ev), dcutr_dial_done(&d, false, now);
            if (rc == 0 && used == 0)
                break;
        }
        if (rc >= 0 && dcutr_tick(&d, dcutr_next_deadline(&d), &ev) == 1)
            check_event(&ev), dcutr_dial_done(&d, false, now);
    }
    check_output(&d);
    dcutr_cleanup(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(DCUTR_RESPONDER, data, size);
    run(DCUTR_INITIATOR, data, size);
    return 0;
}
