/* Ping protocol helpers; see ping.h. */
#include "net/ping.h"

#include <string.h>

#include "fastn/err.h"

void ping_client_init(struct ping_client *pc)
{
    memset(pc, 0, sizeof(*pc));
}

int ping_client_send(struct ping_client *pc, const uint8_t random[PING_SIZE],
                     uint64_t now, uint8_t out[PING_SIZE])
{
    if (pc->waiting)
        return FASTN_ERR_BUSY;
    memcpy(pc->sent, random, PING_SIZE);
    memcpy(out, random, PING_SIZE);
    pc->have = 0;
    pc->sent_at = now;
    pc->waiting = true;
    return 0;
}

int ping_client_feed(struct ping_client *pc, const uint8_t *p, size_t n,
                     size_t *used, uint64_t now, uint64_t *rtt)
{
    size_t take = PING_SIZE - pc->have;

    *used = 0;
    if (n == 0)
        return 0;
    if (!pc->waiting)
        return FASTN_ERR_INVAL;
    if (take > n)
        take = n;
    memcpy(pc->got + pc->have, p, take);
    pc->have += take;
    *used = take;
    if (pc->have < PING_SIZE)
        return 0;
    pc->waiting = false;
    if (memcmp(pc->got, pc->sent, PING_SIZE) != 0)
        return FASTN_ERR_MALFORMED;
    *rtt = now - pc->sent_at;
    return 1;
}

void ping_server_init(struct ping_server *ps)
{
    memset(ps, 0, sizeof(*ps));
}

int ping_server_feed(struct ping_server *ps, const uint8_t *p, size_t n,
                     struct buf *out)
{
    int pings = 0;

    while (n > 0) {
        size_t take = PING_SIZE - ps->have;
        if (take > n)
            take = n;
        memcpy(ps->buf + ps->have, p, take);
        ps->have += take;
        p += take;
        n -= take;
        if (ps->have < PING_SIZE)
            break;
        int err = buf_append(out, ps->buf, PING_SIZE);
        if (err)
            return err;
        ps->have = 0;
        pings++;
    }
    return pings;
}

bool ping_server_idle(const struct ping_server *ps)
{
    return ps->have == 0;
}
