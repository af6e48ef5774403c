/*
 * Scheduling of plugin work (plugin.h, "Scheduling" and "CPU budget"):
 * the run loop that gives instances their slices in turn, the clock
 * checks that bound a slice in wall time, each plugin's CPU budget, and
 * timers.
 *
 * Two clocks: the caller's (Unix and monotonic ms, passed to
 * plugin_host_run: timers, call deadlines, backoff) and the host's own
 * monotonic ns clock (host_now_ns), read where plugin code may have run
 * for a while: at the start of a slice, between chunks of fuel and after
 * imports. The thread's CPU clock costs a system call (microseconds on a
 * virtual machine), so it is read only every CPU_MARK_MS at a slice's
 * start, again when a slice has run past slice_ms, to tell a plugin
 * that kept the CPU busy from a daemon the system did not run, and
 * before an SQL call late in a slice (host_slice_sql_ns: the time the
 * call may take is what the slice has left).
 *
 * Invariants: an instance is given a slice only when its plugin's CPU
 * bucket is positive; a run starts no slice after PLUGIN_RUN_MS, so one
 * loop iteration holds the loop for at most PLUGIN_RUN_MS plus one slice
 * (itself at most slice_ms, and what SQL calls in it ran past the time
 * they were given: the store stops a call within one step of SQLite's
 * VM, so that is a few ms; slice_ms at most).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastn/err.h"
#include "plugin/host_int.h"
#include "store/store.h"
#include "util/log.h"

#define MS 1000000ull /* ns */
#define CPU_MARK_MS 5 /* the CPU clock is read at most this often */
/* What an SQL call's time leaves of the slice's bound: the store stops a
 * call within a step of SQLite's VM past its time, this covers that */
#define SQL_MARGIN_NS (1 * MS)
#define CALL_TIMEOUT_TEXT "the plugin did not answer within 30 s"

uint64_t host_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- limits ------------------------------------------------------------- */

static int limits_fill(const struct plugin_host_limits *in,
                       struct plugin_host_limits *out)
{
    struct plugin_host_limits l = in ? *in : (struct plugin_host_limits){0};

    if (!l.slice_ms)
        l.slice_ms = PLUGIN_SLICE_MS_DEFAULT;
    if (!l.cpu_percent)
        l.cpu_percent = PLUGIN_CPU_PERCENT_DEFAULT;
    if (!l.cpu_window_ms)
        l.cpu_window_ms = PLUGIN_CPU_WINDOW_MS_DEFAULT;
    if (!l.memory)
        l.memory = PLUGIN_MEMORY_DEFAULT;
    if (l.slice_ms > PLUGIN_SLICE_MS_MAX || l.cpu_percent > 100 ||
        l.cpu_window_ms < 100 || l.cpu_window_ms > 3600000 ||
        l.memory < PLUGIN_MEMORY_MIN || l.memory > PLUGIN_MEMORY_MAX)
        return FASTN_ERR_INVAL;
    *out = l;
    return 0;
}

int host_limits_init(struct plugin_host *h, const struct plugin_host_limits *l)
{
    return limits_fill(l, &h->lim);
}

int plugin_host_set_limits(struct plugin_host *h,
                           const struct plugin_host_limits *lim)
{
    struct plugin_host_limits l;
    int err = limits_fill(lim, &l);

    if (err)
        return err;
    if (memcmp(&l, &h->lim, sizeof(l)) != 0)
        log_msg(LOG_INFO, "plugin",
                "limits: slices of %u ms, %u%% of a core over %u s, "
                "%" PRIu64 " MiB of memory per plugin",
                l.slice_ms, l.cpu_percent, l.cpu_window_ms / 1000,
                l.memory >> 20);
    h->lim = l;
    return 0;
}

/* --- the CPU budget ----------------------------------------------------- */

/* The most a plugin's bucket holds: its share of the window. */
static int64_t cpu_burst(const struct plugin_host *h)
{
    return (int64_t)((uint64_t)h->lim.cpu_window_ms * MS / 100 *
                     h->lim.cpu_percent);
}

/* The bucket as of now (not stored). */
static int64_t cpu_tokens_at(const struct host_plugin *p, uint64_t now)
{
    const struct plugin_host *h = p->h;
    int64_t burst = cpu_burst(h), t = p->cpu_tokens;
    uint64_t add;

    if (!p->cpu_at)
        return burst;
    add = (now - p->cpu_at) / 100 * h->lim.cpu_percent;
    if (add > (uint64_t)(burst - (t < burst ? t : burst)))
        return burst;
    return t + (int64_t)add;
}

/* Whether p may have a slice now; logs when it starts waiting for its
 * budget, and when it goes on. */
static bool cpu_allows(struct host_plugin *p, uint64_t now)
{
    p->cpu_tokens = cpu_tokens_at(p, now);
    p->cpu_at = now;
    if (p->cpu_tokens > 0) {
        if (p->deferred)
            log_msg(LOG_DEBUG, "plugin", "%s: within its CPU budget again",
                    p->name);
        p->deferred = false;
        return true;
    }
    if (!p->deferred) {
        p->deferred = true;
        p->deferrals++;
        /* once a minute at most, with how often since */
        if (!p->defer_logged || now - p->defer_logged >= 60000 * MS) {
            log_msg(LOG_WARN, "plugin",
                    "%s: used its CPU budget (%u%% of a core over %u ms): "
                    "its events wait (%" PRIu64 " times so far; "
                    "plugin-cpu-percent in the config)",
                    p->name, p->h->lim.cpu_percent, p->h->lim.cpu_window_ms,
                    p->deferrals);
            p->defer_logged = now;
        }
    }
    return false;
}

/* The slot of the usage record that time `now` falls in, cleared when it
 * is a new one. */
static unsigned usage_slot(struct host_plugin *p, uint64_t now)
{
    uint64_t width = (uint64_t)p->h->lim.cpu_window_ms * MS / HOST_SLOTS;
    uint64_t epoch = now / width;

    if (epoch != p->slot_epoch) {
        uint64_t n = epoch - p->slot_epoch;
        for (uint64_t i = 1; i <= n && i <= HOST_SLOTS; i++) {
            unsigned k = (unsigned)((p->slot_epoch + i) % HOST_SLOTS);
            p->slot_ns[k] = p->slot_fuel[k] = 0;
        }
        p->slot_epoch = epoch;
    }
    return (unsigned)(epoch % HOST_SLOTS);
}

void host_cpu_charge(struct host_plugin *p, uint64_t start, uint64_t now,
                     uint64_t fuel)
{
    uint64_t ran = now - start;
    unsigned k = usage_slot(p, now);

    p->cpu_tokens = cpu_tokens_at(p, now) - (int64_t)ran;
    p->cpu_at = now;
    p->slot_ns[k] += ran;
    p->slot_fuel[k] += fuel;
    if (ran > p->longest_slice_ns)
        p->longest_slice_ns = ran;
}

void host_cpu_charge_work(struct host_plugin *p, uint64_t ns)
{
    uint64_t now = host_now_ns();
    unsigned k = usage_slot(p, now);

    p->cpu_tokens = cpu_tokens_at(p, now) - (int64_t)ns;
    p->cpu_at = now;
    p->slot_ns[k] += ns;
}

void host_cpu_usage(struct host_plugin *p, uint64_t *ns, uint64_t *fuel)
{
    usage_slot(p, host_now_ns());
    *ns = *fuel = 0;
    for (unsigned k = 0; k < HOST_SLOTS; k++) {
        *ns += p->slot_ns[k];
        *fuel += p->slot_fuel[k];
    }
}

/* --- the time a slice has run ------------------------------------------- */

void host_slice_begin(struct host_instance *in, uint64_t now)
{
    struct plugin_host *h = in->p->h;

    if (!h->cpu_mark_wall || now - h->cpu_mark_wall >= CPU_MARK_MS * MS) {
        h->cpu_mark = thread_cpu_ns();
        h->cpu_mark_wall = now;
    }
    in->slice_start = now;
    in->slice_over = false;
    in->slice_pardoned = false;
    in->slice_excused = 0;
}

/* Whether the thread was on a CPU for slice_ms in the slice that started
 * at `start`: the CPU time since the mark, less the whole wall time
 * between the mark and the slice (the most it can have used there). A
 * loop the system did not run for a while (a loaded machine), or one that
 * waited for the disk, is not the plugin's doing; a plugin that kept it
 * busy that long is, even when it was given only part of a CPU. */
static uint64_t slice_cpu_ns(struct plugin_host *h, uint64_t start)
{
    uint64_t cpu = thread_cpu_ns() - h->cpu_mark;
    uint64_t before = start - h->cpu_mark_wall;

    return cpu > before ? cpu - before : 0;
}

/* slice_ms, or for a slice let go (host_slice_time) slice_ms more than
 * it had run then */
static uint64_t slice_bound_ns(const struct host_instance *in)
{
    uint64_t bound = (uint64_t)in->p->h->lim.slice_ms * MS;
    return (in->slice_pardoned ? in->slice_pardoned_ns + bound : bound) +
           in->slice_excused;
}

static bool slice_was_busy(struct host_instance *in)
{
    return slice_cpu_ns(in->p->h, in->slice_start) >= slice_bound_ns(in);
}

/* Whether a slice past its bound is let go: the plugin's first in
 * PLUGIN_SLICE_PARDON_MS (plugin.h). */
static bool slice_pardon(struct host_instance *in, uint64_t now, uint64_t ran)
{
    struct host_plugin *p = in->p;

    if (in->slice_pardoned ||
        (p->pardoned_at && now - p->pardoned_at < PLUGIN_SLICE_PARDON_MS * MS))
        return false;
    p->pardoned_at = now;
    p->slice_pardons++;
    log_msg(LOG_INFO, "plugin",
            "%s: a slice held the loop %.1f ms, past plugin-slice-ms (%u ms); "
            "let go once a minute (the machine may have taken that time), "
            "ended the next time",
            p->name, (double)ran / MS, p->h->lim.slice_ms);
    in->slice_pardoned = true;
    in->slice_pardoned_ns = ran;
    in->slice_over = true;
    return true;
}

uint64_t host_slice_sql_ns(struct host_instance *in)
{
    struct plugin_host *h = in->p->h;
    uint64_t bound = (uint64_t)h->lim.slice_ms * MS, used = 0, left, margin;

    in->sql_start = host_now_ns();
    if (in->slice_start) {
        used = in->sql_start - in->slice_start;
        /* early in a slice (nearly always: a slice ends at its target)
         * the wall time says enough; later, the CPU time the bound
         * counts (a system call) */
        if (used + STORE_PDB_TIME_DEFAULT_NS + SQL_MARGIN_NS >
            bound + in->slice_excused)
            used = slice_cpu_ns(h, in->slice_start);
        else
            used = 0;
        used = used > in->slice_excused ? used - in->slice_excused : 0;
    }
    left = used < bound ? bound - used : 0;
    margin = left / 2 < SQL_MARGIN_NS ? left / 2 : SQL_MARGIN_NS;
    left -= margin;
    if (left > STORE_PDB_TIME_DEFAULT_NS)
        left = STORE_PDB_TIME_DEFAULT_NS;
    in->sql_time = left ? left : 1; /* 0 would be the store's default */
    return in->sql_time;
}

void host_slice_sql_end(struct host_instance *in)
{
    uint64_t took = host_now_ns() - in->sql_start;
    uint64_t most = (uint64_t)in->p->h->lim.slice_ms * MS;

    if (!in->slice_start || took <= in->sql_time)
        return;
    in->slice_excused += took - in->sql_time;
    if (in->slice_excused > most)
        in->slice_excused = most;
}

int host_slice_time(struct host_instance *in, uint64_t *now_out)
{
    struct plugin_host *h = in->p->h;
    uint64_t now = host_now_ns(), ran;

    if (now_out)
        *now_out = now;
    if (!in->slice_start)
        return 0; /* outside a slice: instantiation, on_stop */
    ran = now - in->slice_start;
    if (ran >= slice_bound_ns(in) && slice_was_busy(in) &&
        !slice_pardon(in, now, ran))
        return FASTN_ERR_PLUGIN_TIMEOUT;
    /* the target, or half the bound when that is shorter */
    if (ran >= PLUGIN_SLICE_TARGET_MS * MS ||
        ran >= (uint64_t)h->lim.slice_ms * MS / 2)
        in->slice_over = true;
    return 0;
}

int host_slice_check(struct host_instance *in)
{
    bool was_over = in->slice_over;
    int err = host_slice_time(in, NULL);

    if (err || (in->slice_over && !was_over)) {
        /* the fuel left of the chunk goes back to the event: the next
         * metering point suspends it, the next slice resumes it */
        uint64_t left = fastn_wasm_fuel_get(in->wasm);
        fastn_wasm_fuel_set(in->wasm, 0);
        in->budget += left;
        in->given -= left;
    }
    return err;
}

/* --- timers and calls --------------------------------------------------- */

static int timer_cmp(const void *a, const void *b)
{
    const struct host_timer *x = a, *y = b;
    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Queues on_timer for every due timer, earliest first (ties: the first
 * set), all in one pass. */
static void fire_timers(struct host_instance *in, uint64_t mono)
{
    struct host_timer due[PLUGIN_TIMERS_MAX];
    unsigned n = 0, kept = 0;

    for (unsigned i = 0; i < in->n_timers; i++) {
        if (in->timers[i].due <= mono && n < PLUGIN_TIMERS_MAX)
            due[n++] = in->timers[i];
        else
            in->timers[kept++] = in->timers[i];
    }
    in->n_timers = kept;
    qsort(due, n, sizeof(due[0]), timer_cmp);
    for (unsigned i = 0; i < n; i++) {
        struct host_event *ev = host_event_new(EV_TIMER, due[i].id, 0, 0, 0);
        if (!ev) { /* it stays armed: fires at the next tick */
            in->timers[in->n_timers++] = due[i];
            continue;
        }
        host_event_push(in, ev);
    }
}

void host_instance_tick(struct host_instance *in)
{
    uint64_t mono = in->p->h->mono_ms;

    /* not inside an event: its transaction may be open */
    if (in->outbox_pending && in->outbox_at <= mono && !in->cur)
        host_outbox_flush(in);
    fire_timers(in, mono);
    for (unsigned i = 0; i < in->n_calls;) {
        if (!in->calls[i].deadline)
            in->calls[i].deadline = mono + PLUGIN_CALL_TIMEOUT_MS;
        if (in->calls[i].deadline > mono) {
            i++;
            continue;
        }
        if (in->p->deferred)
            LOG_RATELIMITED(LOG_WARN, "plugin",
                            "%s: a call timed out while the plugin waited "
                            "for its CPU budget",
                            in->p->name);
        host_call_answer(in, &in->calls[i], FASTN_ERR_TIMEOUT,
                         (const uint8_t *)CALL_TIMEOUT_TEXT,
                         sizeof(CALL_TIMEOUT_TEXT) - 1);
    }
}

/* --- the loop's entry points -------------------------------------------- */

static bool has_work(const struct host_plugin *p)
{
    return p->inst && (p->inst->cur || p->inst->head);
}

/* The plugin the run starts with: the first at or after run_from. */
static struct host_plugin *run_first(struct plugin_host *h)
{
    for (struct host_plugin *p = h->plugins; p; p = p->next)
        if (strcmp(p->name, h->run_from) >= 0)
            return p;
    return h->plugins;
}

/* One round: a slice for each instance with work and budget, from the
 * cursor on; false when the run's time is up (the cursor is where the
 * next run starts). *now is the host clock as last read (each slice
 * returns the time it ended). */
static bool run_round(struct plugin_host *h, uint64_t t0, uint64_t *now,
                      int *slices, bool *any)
{
    struct host_plugin *first = run_first(h), *p = first;

    while (p) {
        struct host_plugin *next = p->next ? p->next : h->plugins;
        if (has_work(p) && cpu_allows(p, *now)) {
            if (*slices > 0 && *now - t0 >= PLUGIN_RUN_MS * MS) {
                memcpy(h->run_from, p->name, sizeof(h->run_from));
                return false;
            }
            *now = host_instance_slice(p->inst, *now);
            (*slices)++;
            *any = true;
        }
        p = next == first ? NULL : next;
    }
    h->run_from[0] = '\0';
    return true;
}

int plugin_host_run(struct plugin_host *h, uint64_t now_ms,
                    uint64_t monotonic_ms, unsigned max_rounds)
{
    uint64_t t0 = host_now_ns(), now = t0;
    int slices = 0;

    h->now_ms = now_ms;
    h->mono_ms = monotonic_ms;
    for (struct host_plugin *p = h->plugins; p; p = p->next) {
        /* restarts past the run's time wait for the next run */
        if (!p->inst && p->enabled && p->state == PLUGIN_STATE_BACKOFF &&
            p->restart_at <= monotonic_ms &&
            host_now_ns() - t0 < PLUGIN_RUN_MS * MS) {
            host_instance_start(p);
            now = 0;
        }
        host_waiting_settle(p);
        if (p->inst)
            host_instance_tick(p->inst);
    }
    if (!now) /* instances started: their time is not a slice's */
        now = host_now_ns();
    for (unsigned round = 0; round < max_rounds; round++) {
        bool any = false;
        if (!run_round(h, t0, &now, &slices, &any) || !any)
            break;
    }
    return slices;
}

/* When p's instance, which has work, may run again (monotonic ms). */
static uint64_t budget_wake(const struct host_plugin *p)
{
    const struct plugin_host *h = p->h;
    int64_t t = cpu_tokens_at(p, host_now_ns());
    uint64_t ns;

    if (t > 0)
        return 0;
    ns = ((uint64_t)(-t) + 1) * 100 / h->lim.cpu_percent;
    return h->mono_ms + ns / MS + 1;
}

uint64_t plugin_host_next_wake(const struct plugin_host *h)
{
    uint64_t next = UINT64_MAX;

    for (const struct host_plugin *p = h->plugins; p; p = p->next) {
        const struct host_instance *in = p->inst;
        if (host_waiting_due(p))
            return 0;
        for (unsigned i = 0; i < p->n_waiting; i++)
            if (p->waiting[i].deadline < next)
                next = p->waiting[i].deadline;
        if (!in) {
            if (p->enabled && p->state == PLUGIN_STATE_BACKOFF &&
                p->restart_at < next)
                next = p->restart_at;
            continue;
        }
        if (in->cur || in->head) {
            uint64_t w = budget_wake(p);
            if (w == 0)
                return 0;
            if (w < next)
                next = w;
        }
        if (in->outbox_pending && in->outbox_at < next)
            next = in->outbox_at;
        for (unsigned i = 0; i < in->n_timers; i++)
            if (in->timers[i].due < next)
                next = in->timers[i].due;
        for (unsigned i = 0; i < in->n_calls; i++)
            if (in->calls[i].deadline < next)
                next = in->calls[i].deadline;
    }
    return next;
}
