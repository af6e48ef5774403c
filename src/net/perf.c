/* Perf protocol helpers; see perf.h. */
#include "net/perf.h"

#include <string.h>

#include "fastn/err.h"

void perf_client_header(uint64_t download, uint8_t out[PERF_HEADER_LEN])
{
    for (int i = 0; i < PERF_HEADER_LEN; i++)
        out[i] = (uint8_t)(download >> (56 - 8 * i));
}

void perf_server_init(struct perf_server *ps)
{
    memset(ps, 0, sizeof(*ps));
}

void perf_server_feed(struct perf_server *ps, const uint8_t *p, size_t n)
{
    if (ps->have < PERF_HEADER_LEN) {
        size_t take = PERF_HEADER_LEN - ps->have;
        if (take > n)
            take = n;
        memcpy(ps->hdr + ps->have, p, take);
        ps->have += take;
        n -= take;
        if (ps->have == PERF_HEADER_LEN)
            for (int i = 0; i < PERF_HEADER_LEN; i++)
                ps->to_send = ps->to_send << 8 | ps->hdr[i];
    }
    ps->uploaded += n;
}

int perf_server_finish(const struct perf_server *ps, uint64_t *to_send)
{
    if (ps->have < PERF_HEADER_LEN)
        return FASTN_ERR_TRUNCATED;
    *to_send = ps->to_send;
    return 0;
}
