/*
 * Adaptive busy polling for the daemon's event loop: before the loop
 * sleeps, it may poll without blocking for a short window, so that an
 * event due within microseconds is taken without the cost of a sleep
 * and a wakeup (10-12 us of CPU each in a paravirtualised VM, most of a
 * round trip's latency through the daemon). Sans-I/O: this decides how
 * long to spin from what the past waits were; the loop glue
 * (daemon_run) polls and reports back.
 *
 * The rule, as Linux's cpuidle-haltpoll: a wait that ended within
 * max_ns grows the window (it doubles, from max_ns / 8, up to max_ns);
 * a spin that caught its event keeps it; a wait longer than max_ns
 * halves it, and below max_ns / 8 it is 0. So a daemon whose events
 * are sparse never spins, and one kept busy never waits at all.
 * Besides, failed spins (the window passed without an event: pure
 * waste) draw on a budget of 1/32 of the wall time (about 3 % of a
 * core, at most 10 ms saved up): when it is spent the loop does not
 * spin until it refills, whatever the pattern of events.
 */
#ifndef FASTN_DAEMON_BUSYPOLL_H
#define FASTN_DAEMON_BUSYPOLL_H

#include <stdbool.h>
#include <stdint.h>

struct busy_poll {
    uint64_t max_ns;    /* the config's busy-poll-us; 0: never spins */
    uint64_t window_ns; /* the next spin's length before the budget */
    int64_t budget_ns;  /* failed spin time it may still spend */
    uint64_t last_ns;   /* when the budget was last refilled */
    uint64_t spun_ns;   /* all spin time, for statistics and tests */
    uint64_t wasted_ns; /* spin time that caught no event */
    uint64_t spins, caught;
};

#define BUSY_POLL_BUDGET_SHIFT 5                 /* 1/32 of wall time */
#define BUSY_POLL_BUDGET_MAX_NS (10 * 1000000LL) /* saved up at most */

/* Starts with the window at 0 (the first short wait opens it) and a
 * full budget; max_us = 0 turns spinning off. */
void busy_poll_init(struct busy_poll *bp, unsigned max_us, uint64_t now_ns);

/* How long to spin now, at most (0: block at once): the window, cut to
 * what is left of the budget, which this refills for the time since the
 * last call. */
uint64_t busy_poll_window(struct busy_poll *bp, uint64_t now_ns);

/* Reports one wait: spun_ns spent polling (0 when it did not spin),
 * caught when an event came within it, else blocked_ns the loop then
 * slept before its event. Adapts the window and charges the budget. */
void busy_poll_done(struct busy_poll *bp, uint64_t spun_ns, bool caught,
                    uint64_t blocked_ns);

#endif
