/*
 * Adaptive busy polling: the window's rule and the budget of failed
 * spins (busypoll.h). No clock and no I/O here: the loop passes the
 * times in.
 */
#include "daemon/busypoll.h"

void busy_poll_init(struct busy_poll *bp, unsigned max_us, uint64_t now_ns)
{
    *bp = (struct busy_poll){0};
    bp->max_ns = (uint64_t)max_us * 1000;
    bp->budget_ns = BUSY_POLL_BUDGET_MAX_NS;
    bp->last_ns = now_ns;
}

uint64_t busy_poll_window(struct busy_poll *bp, uint64_t now_ns)
{
    if (!bp->max_ns)
        return 0;
    if (now_ns > bp->last_ns) {
        uint64_t add = (now_ns - bp->last_ns) >> BUSY_POLL_BUDGET_SHIFT;
        bp->budget_ns = add >= BUSY_POLL_BUDGET_MAX_NS
                            ? BUSY_POLL_BUDGET_MAX_NS
                            : bp->budget_ns + (int64_t)add;
        if (bp->budget_ns > BUSY_POLL_BUDGET_MAX_NS)
            bp->budget_ns = BUSY_POLL_BUDGET_MAX_NS;
        bp->last_ns = now_ns;
    }
    if (bp->budget_ns <= 0)
        return 0;
    return bp->window_ns < (uint64_t)bp->budget_ns ? bp->window_ns
                                                   : (uint64_t)bp->budget_ns;
}

void busy_poll_done(struct busy_poll *bp, uint64_t spun_ns, bool caught,
                    uint64_t blocked_ns)
{
    uint64_t start = bp->max_ns / 8;

    if (!bp->max_ns)
        return;
    bp->spun_ns += spun_ns;
    if (spun_ns)
        bp->spins++;
    if (caught) {
        bp->caught++;
        return;
    }
    bp->wasted_ns += spun_ns;
    bp->budget_ns -= (int64_t)spun_ns;
    if (spun_ns + blocked_ns <= bp->max_ns) {
        /* the event came soon after: a longer window would have had it */
        bp->window_ns = bp->window_ns ? bp->window_ns * 2 : start;
        if (bp->window_ns > bp->max_ns)
            bp->window_ns = bp->max_ns;
    } else {
        bp->window_ns /= 2;
        if (bp->window_ns < start)
            bp->window_ns = 0;
    }
}
