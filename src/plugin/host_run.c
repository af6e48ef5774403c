/*
 * Plugin instances: starting one, delivering its events in fuel slices,
 * and ending it (cleanly, or after a failure, with a restart after a
 * backoff). See plugin.h, "Scheduling" and "Failures".
 *
 * One event is a sequence of phases, each an export call: fastn_alloc
 * (when the event carries bytes), the handler, fastn_free. An on_data
 * event asks fastn_data_at first when the plugin has it: bytes it places
 * are the plugin's, no fastn_alloc nor fastn_free. A phase that
 * runs out of its slice's fuel is suspended by the engine and resumed in
 * the next slice; the event as a whole may take at most fuel_per_event
 * (the fuel its imports are charged included). Invariants: an instance
 * runs one event at a time (in->cur), never re-entered; the engine
 * instance is freed only between slices, never from inside a call.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "plugin/host_int.h"
#include "store/store.h"
#include "util/log.h"

#define NOTIFY_RATE (10 / 60.0) /* notifications per second: 10 a minute */
#define NOTIFY_BURST 30.0
#define OUTBOX_RETRY_MS 1000 /* after a failed move */

static const char *const export_names[EXP_COUNT] = {
#define HOST_EXPORT_NAME_(name, params, results, need) #name,
    PLUGIN_ABI_EXPORTS(HOST_EXPORT_NAME_)
#undef HOST_EXPORT_NAME_
};

static bool has_export(const struct host_instance *in, enum host_export e)
{
    return in->exports & (1u << e);
}

/* --- events ------------------------------------------------------------ */

struct host_event *host_event_new(enum host_ev_type type, int32_t handle,
                                  int32_t arg, size_t len1, size_t len2)
{
    struct host_event *ev;

    if (len1 > SIZE_MAX / 2 || len2 > SIZE_MAX / 2)
        return NULL;
    ev = malloc(sizeof(*ev) + len1 + len2);
    if (!ev)
        return NULL;
    ev->next = NULL;
    ev->type = type;
    ev->handle = handle;
    ev->arg = arg;
    ev->len1 = len1;
    ev->len2 = len2;
    return ev;
}

void host_event_push(struct host_instance *in, struct host_event *ev)
{
    if (in->tail)
        in->tail->next = ev;
    else
        in->head = ev;
    in->tail = ev;
    in->n_events++;
    in->queued_bytes += ev->len1 + ev->len2;
    host_wake(in->p->h);
}

static struct host_event *event_pop(struct host_instance *in)
{
    struct host_event *ev = in->head;

    if (!ev)
        return NULL;
    in->head = ev->next;
    if (!in->head)
        in->tail = NULL;
    in->n_events--;
    in->queued_bytes -= ev->len1 + ev->len2;
    return ev;
}

void host_event_push_front(struct host_instance *in, struct host_event *ev)
{
    ev->next = in->head;
    in->head = ev;
    if (!in->tail)
        in->tail = ev;
    in->n_events++;
    in->queued_bytes += ev->len1 + ev->len2;
    host_wake(in->p->h);
}

/* An on_data event left the stream's backlog (taken or dropped). */
static void data_done(struct host_instance *in, const struct host_event *ev)
{
    struct host_stream *s;

    if (ev->type == EV_DATA && (s = host_stream_by_handle(in, ev->handle)))
        host_stream_drained(in, s, ev->len1);
}

/* Holds ev behind its stream's held data, if it has any: on_data and
 * on_close keep their order after a refused on_data. */
static bool hold_behind(struct host_instance *in, struct host_event *ev)
{
    struct host_stream *s;

    if (ev->type != EV_DATA && ev->type != EV_CLOSE)
        return false;
    s = host_stream_by_handle(in, ev->handle);
    if (!s || !s->held)
        return false;
    host_stream_hold(in, s, ev, false);
    return true;
}

static const char *event_name(const struct host_event *ev)
{
    static const char *const names[] = {
        [EV_START] = "on_start", [EV_STREAM] = "on_stream",
        [EV_DATA] = "on_data",   [EV_CLOSE] = "on_close",
        [EV_OPEN] = "on_open",   [EV_WRITABLE] = "on_writable",
        [EV_CALL] = "on_call",   [EV_TIMER] = "on_timer",
        [EV_HASH] = "on_hash",
    };
    return ev ? names[ev->type] : "start";
}

static enum host_export event_export(enum host_ev_type t)
{
    static const enum host_export map[] = {
        [EV_START] = EXP_on_start, [EV_STREAM] = EXP_on_stream,
        [EV_DATA] = EXP_on_data,   [EV_CLOSE] = EXP_on_close,
        [EV_OPEN] = EXP_on_open,   [EV_WRITABLE] = EXP_on_writable,
        [EV_CALL] = EXP_on_call,   [EV_TIMER] = EXP_on_timer,
        [EV_HASH] = EXP_on_hash,
    };
    return map[t];
}

/* Whether ev still means something (its handle lives, its handler
 * exists); answers or drops what it cannot deliver. */
static bool event_ready(struct host_instance *in, struct host_event *ev)
{
    struct host_stream *s = NULL;
    struct host_call *c;

    switch (ev->type) {
    case EV_START:
    case EV_TIMER:
    case EV_HASH:
        return true;
    case EV_CALL:
        c = host_call_by_handle(in, ev->handle);
        if (c && !has_export(in, EXP_on_call)) {
            static const char msg[] = "the plugin takes no calls";
            host_call_answer(in, c, FASTN_ERR_UNSUPPORTED, (const uint8_t *)msg,
                             sizeof(msg) - 1);
            return false;
        }
        return c != NULL;
    default:
        s = host_stream_by_handle(in, ev->handle);
        return s != NULL && has_export(in, event_export(ev->type));
    }
}

/* --- failure ----------------------------------------------------------- */

static const char *trap_kind(int err)
{
    switch (err) {
    case FASTN_ERR_WASM_TRAP_OUT_OF_FUEL:
        return "out of fuel";
    case FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED:
        return "call stack exhausted";
    case FASTN_ERR_WASM_TRAP_MEMORY_OOB:
        return "out-of-bounds memory access";
    case FASTN_ERR_WASM_TRAP_UNREACHABLE:
        return "unreachable executed (abort?)";
    default:
        return fastn_strerror(err);
    }
}

void host_trace(struct host_instance *in, const char *kind, const char *what,
                int64_t result)
{
    const struct plugin_host *h = in->p->h;
    if (h->ops->trace)
        h->ops->trace(h->ops_arg, in->p->name, kind, what, result,
                      in->given - fastn_wasm_fuel_get(in->wasm));
}

/* Appends where the code was when it failed (" at f+0x1a <- g+0x2b"),
 * functions named from the module's name section (docs/PLUGINS.md). */
static void add_trace(struct host_instance *in, char *why, size_t cap)
{
    char t[PLUGIN_ERROR_TEXT_MAX];
    size_t n = strlen(why);

    if (!in->wasm || n + 5 >= cap ||
        !fastn_wasm_trace_text(in->wasm, t, sizeof(t), PLUGIN_TRACE_FRAMES))
        return;
    size_t k = strlen(t) < cap - n - 5 ? strlen(t) : cap - n - 5;
    memcpy(why + n, " at ", 4);
    memcpy(why + n + 4, t, k);
    why[n + 4 + k] = '\0';
}

/* Ends the instance after a failure of its current event. */
static void fail_event(struct host_instance *in, int err)
{
    struct host_plugin *p = in->p;
    const char *ev = event_name(in->cur);
    char why[PLUGIN_ERROR_TEXT_MAX];

    host_trace(in, "return", ev, err);

    if (err == FASTN_ERR_WASM_EXIT)
        snprintf(why, sizeof(why), "proc_exit(%d) in %s", in->wasi.exit_code,
                 ev);
    else if (err == FASTN_ERR_PLUGIN_TIMEOUT)
        snprintf(why, sizeof(why),
                 "held the loop past plugin-slice-ms (%u ms) in %s%s%s%s",
                 p->h->lim.slice_ms, ev, in->import_failed ? " (fastn." : "",
                 in->import_failed ? in->import_failed : "",
                 in->import_failed ? ")" : "");
    else if (err == FASTN_ERR_PLUGIN_MEMORY)
        snprintf(why, sizeof(why),
                 "past its memory budget (%llu KiB, plugin-memory-mib) in "
                 "%s (fastn.%s)",
                 (unsigned long long)(in->mem_budget >> 10), ev,
                 in->import_failed ? in->import_failed : "?");
    else if (in->import_failed)
        snprintf(why, sizeof(why), "%s in %s (fastn.%s)", fastn_strerror(err),
                 ev, in->import_failed);
    else if (err == FASTN_ERR_WASM_TRAP_OUT_OF_FUEL)
        snprintf(why, sizeof(why),
                 "trap: out of fuel in %s (fuel_per_event %" PRIu64 ")", ev,
                 p->m.limits.fuel_per_event);
    else
        snprintf(why, sizeof(why), "trap: %s in %s", trap_kind(err), ev);
    add_trace(in, why, sizeof(why));
    host_instance_stop(p, false, err, why);
}

static uint64_t backoff_next(struct host_plugin *p)
{
    uint64_t mono = p->h->mono_ms;
    if (!p->backoff_ms || mono - p->started_mono >= PLUGIN_BACKOFF_RESET_MS)
        return PLUGIN_BACKOFF_FIRST_MS;
    return p->backoff_ms * 2 > PLUGIN_BACKOFF_MAX_MS ? PLUGIN_BACKOFF_MAX_MS
                                                     : p->backoff_ms * 2;
}

/* Records an error on p; permanent ones are not retried. */
static void record_failure(struct host_plugin *p, int err, const char *why,
                           bool permanent)
{
    p->last_error = err;
    snprintf(p->last_error_text, sizeof(p->last_error_text), "%s", why);
    p->last_error_ms = p->h->now_ms;
    p->restarts++;
    if (permanent) {
        p->state = PLUGIN_STATE_FAILED;
        log_msg(LOG_ERROR, "plugin", "%s: cannot run: %s", p->name, why);
        return;
    }
    p->backoff_ms = backoff_next(p);
    p->restart_at = p->h->mono_ms + p->backoff_ms;
    p->state = PLUGIN_STATE_BACKOFF;
    log_msg(LOG_WARN, "plugin", "%s: stopped: %s; restarting in %" PRIu64 " ms",
            p->name, why, p->backoff_ms);
}

/* --- starting ---------------------------------------------------------- */

static void find_exports(struct host_instance *in)
{
    char params[16], results[8];
    for (int e = 0; e < EXP_COUNT; e++)
        if (fastn_wasm_instance_func_sig(in->wasm, export_names[e], params,
                                         sizeof(params), results,
                                         sizeof(results)) == 0)
            in->exports |= 1u << e;
}

static int open_db(struct host_instance *in, char *why, size_t whylen)
{
    const struct plugin_manifest *m = &in->p->m;
    /* its memory: the whole budget for now; each SQL call is given what
     * the rest leaves (host_memory_sqlite_room) */
    struct store_pdb_limits lim = {.quota_bytes = host_storage_quota(in->p),
                                   .page_size = m->storage_page_size,
                                   .max_statements = m->limits.statements,
                                   .heap_bytes = in->mem_budget};
    int err;

    /* notify needs it too: notifications wait in its outbox */
    if (!(m->caps & (PLUGIN_CAP_STORAGE | PLUGIN_CAP_NOTIFY)))
        return 0;
    err = store_pdb_open(in->p->h->data_dir, m->name, &lim, &in->db);
    if (err)
        snprintf(why, whylen, "cannot open its database: %s",
                 fastn_strerror(err));
    return err;
}

/* Links and initialises the engine instance. *permanent says whether
 * trying again could help. */
static int instantiate(struct host_instance *in, char *why, size_t whylen,
                       bool *permanent)
{
    struct host_plugin *p = in->p;
    struct fastn_wasm_imports *imps = NULL;
    struct fastn_wasm_limits lim;
    struct fastn_wasm_error werr = {0};
    int err = host_imports_build(in, &imps);

    if (err) {
        snprintf(why, whylen, "cannot build its imports: %s",
                 fastn_strerror(err));
        return err;
    }
    host_engine_limits(p, in->mem_budget, &lim);
    /* a start function gets one slice; plugins have none (reactors) */
    lim.fuel = p->h->slice_fuel;
    err = fastn_wasm_instance_new(p->mod, imps, &lim, &in->wasm, &werr);
    fastn_wasm_imports_free(imps);
    if (err) {
        *permanent = err != FASTN_ERR_NOMEM;
        snprintf(why, whylen, "cannot instantiate: %.170s", werr.message);
        return err;
    }
    fastn_wasm_instance_set_user(in->wasm, in);
    err = fastn_wasm_instance_init(in->wasm);
    if (err)
        snprintf(why, whylen, "trap while instantiating: %s", trap_kind(err));
    return err;
}

static void instance_free(struct host_instance *in)
{
    host_jobs_detach(in); /* before its memory goes */
    while (in->head)
        free(event_pop(in));
    free(in->cur);
    fastn_wasm_instance_free(in->wasm);
    store_pdb_close(in->db);
    free(in->streams);
    free(in->calls);
    free(in->timers);
    free(in);
}

int host_instance_start(struct host_plugin *p)
{
    struct host_instance *in;
    struct host_event *ev;
    bool permanent = false;
    char why[200] = "";
    int err;

    if (p->inst || !p->loaded)
        return p->inst ? 0 : FASTN_ERR_INVAL;
    in = calloc(1, sizeof(*in));
    if (!in)
        return FASTN_ERR_NOMEM;
    in->p = p;
    in->mem_budget = p->h->lim.memory;
    in->next_stream = in->next_call = 1;
    p->started_mono = p->h->mono_ms;
    err = open_db(in, why, sizeof(why));
    if (!err)
        err = instantiate(in, why, sizeof(why), &permanent);
    ev = err ? NULL : host_event_new(EV_START, 0, 0, 0, 0);
    if (!err && !ev)
        err = FASTN_ERR_NOMEM;
    if (err) {
        host_instance_release(in, FASTN_ERR_PLUGIN_CRASHED, why);
        instance_free(in);
        record_failure(p, err, why, permanent);
        return err;
    }
    find_exports(in);
    p->inst = in;
    p->state = PLUGIN_STATE_RUNNING;
    /* what a crash left in its outbox moves now */
    in->outbox_pending = in->db != NULL;
    host_outbox_flush(in);
    host_event_push(in, ev);
    log_msg(LOG_DEBUG, "plugin", "%s: instance started", p->name);
    return 0;
}

/* --- stopping ---------------------------------------------------------- */

/* on_stop with 1/10 of the fuel, at most a slice's, in one go (the
 * daemon is stopping it): it holds the loop as one slice may. */
static void run_on_stop(struct host_instance *in)
{
    union fastn_wasm_value r;
    uint64_t fuel = in->p->m.limits.fuel_per_event / 10;

    if (!in->wasm || !has_export(in, EXP_on_stop))
        return;
    if (fuel > in->p->h->slice_fuel)
        fuel = in->p->h->slice_fuel;
    in->budget = 0;
    host_slice_begin(in, host_now_ns());
    fastn_wasm_fuel_set(in->wasm, fuel ? fuel : 1);
    if (fastn_wasm_instance_call(in->wasm, "on_stop", NULL, 0, &r, 1) != 0)
        log_msg(LOG_DEBUG, "plugin", "%s: on_stop did not finish", in->p->name);
    in->slice_start = 0;
    if (in->db)
        store_pdb_event_end(in->db);
}

void host_instance_stop(struct host_plugin *p, bool clean, int err,
                        const char *why)
{
    struct host_instance *in = p->inst;

    if (!in)
        return;
    if (clean)
        run_on_stop(in);
    host_wasi_flush(in);
    if (in->db)
        store_pdb_event_end(in->db);
    host_outbox_flush(in); /* what is left moves at the next start */
    p->inst = NULL;
    host_instance_release(
        in, clean ? FASTN_ERR_CANCELED : FASTN_ERR_PLUGIN_CRASHED, why);
    instance_free(in);
    if (!clean)
        record_failure(p, err, why ? why : fastn_strerror(err), false);
    else
        p->state = p->enabled ? PLUGIN_STATE_RUNNING : PLUGIN_STATE_DISABLED;
}

/* --- delivering one event ---------------------------------------------- */

static bool begin_event(struct host_instance *in)
{
    struct host_event *ev;

    while ((ev = event_pop(in))) {
        if (hold_behind(in, ev))
            continue;
        if (!event_ready(in, ev)) {
            data_done(in, ev);
            free(ev);
            continue;
        }
        in->cur = ev;
        in->budget = in->p->m.limits.fuel_per_event;
        in->given = 0;
        in->block = 0;
        in->placed = false;
        in->handler_rc = 0;
        in->import_failed = NULL;
        host_trace(in, "event", event_name(ev), 0);
        if (ev->type == EV_START)
            in->phase = has_export(in, EXP__initialize) ? PH_INIT : PH_HANDLER;
        else if (!(ev->len1 + ev->len2))
            in->phase = PH_HANDLER;
        else if (ev->type == EV_DATA && has_export(in, EXP_fastn_data_at))
            in->phase = PH_PLACE;
        else
            in->phase = PH_ALLOC;
        if (ev->type == EV_START && in->phase == PH_HANDLER &&
            !has_export(in, EXP_on_start))
            in->phase = PH_DONE;
        return true;
    }
    return false;
}

/* Handler arguments for the current event. */
static size_t handler_args(struct host_instance *in, union fastn_wasm_value *a)
{
    const struct host_event *ev = in->cur;
    uint32_t b = in->block, l1 = (uint32_t)ev->len1, l2 = (uint32_t)ev->len2;

    a[0].i32 = ev->handle;
    switch (ev->type) {
    case EV_START:
        return 0;
    case EV_STREAM:
    case EV_CALL:
        a[1].u32 = b;
        a[2].u32 = l1;
        a[3].u32 = l2 ? b + l1 : 0;
        a[4].u32 = l2;
        return 5;
    case EV_DATA:
        a[1].u32 = b;
        a[2].u32 = l1;
        return 3;
    case EV_CLOSE:
    case EV_OPEN:
    case EV_HASH:
        a[1].i32 = ev->arg;
        return 2;
    default:
        return 1;
    }
}

/* Checks and fills the block fastn_alloc (or fastn_data_at) returned. */
static int place_bytes(struct host_instance *in, uint32_t ptr)
{
    size_t n = in->cur->len1 + in->cur->len2;

    in->block = ptr;
    if (ptr == 0 || fastn_wasm_memory_write(in->wasm, ptr, in->cur->data, n))
        return FASTN_ERR_PLUGIN_BAD_POINTER;
    return 0;
}

/* Calls (or resumes) the current phase. */
static int run_phase(struct host_instance *in, bool resume)
{
    union fastn_wasm_value a[5], r = {0};
    size_t nr = in->phase == PH_INIT || in->phase == PH_FREE ? 0 : 1;
    const char *fn = NULL;
    size_t na = 0;
    int err;

    if (resume) {
        err = fastn_wasm_instance_resume(in->wasm, &r, nr);
        /* nothing to resume: it stopped inside an import, a plain trap */
        if (err == FASTN_ERR_INVAL)
            err = FASTN_ERR_WASM_TRAP_OUT_OF_FUEL;
    } else {
        switch (in->phase) {
        case PH_INIT:
            fn = "_initialize";
            break;
        case PH_PLACE:
            fn = "fastn_data_at";
            a[0].i32 = in->cur->handle;
            a[1].u32 = (uint32_t)in->cur->len1;
            na = 2;
            break;
        case PH_ALLOC:
            fn = "fastn_alloc";
            a[0].u32 = (uint32_t)(in->cur->len1 + in->cur->len2);
            na = 1;
            break;
        case PH_FREE:
            fn = "fastn_free";
            a[0].u32 = in->block;
            na = 1;
            break;
        default:
            fn = export_names[event_export(in->cur->type)];
            na = handler_args(in, a);
        }
        err = fastn_wasm_instance_call(in->wasm, fn, a, na, &r, nr);
    }
    if (err)
        return err;
    switch (in->phase) {
    case PH_INIT:
        in->phase = has_export(in, EXP_on_start) ? PH_HANDLER : PH_DONE;
        return 0;
    case PH_PLACE: /* 0: fastn_alloc's block, as without it */
        if (r.u32 == 0) {
            in->phase = PH_ALLOC;
            return 0;
        }
        in->placed = true;
        in->phase = PH_HANDLER;
        return place_bytes(in, r.u32);
    case PH_ALLOC:
        in->phase = PH_HANDLER;
        return place_bytes(in, r.u32);
    case PH_HANDLER:
        in->handler_rc = r.i32;
        in->phase = in->block && !in->placed ? PH_FREE : PH_DONE;
        return 0;
    default:
        in->phase = PH_DONE;
        return 0;
    }
}

/* on_data returned FASTN_ERR_AGAIN: the plugin took none of it. Held
 * until the stream's send queue has room; returns whether ev was kept. A
 * stream the router forgot gets no writable signal, so its data is
 * dropped (the stream was reset anyway; on_close(< 0) follows). */
static bool refused_data(struct host_instance *in, struct host_stream *s,
                         struct host_event *ev)
{
    if (s->gone) {
        host_stream_drained(in, s, ev->len1);
        return false;
    }
    host_stream_hold(in, s, ev, true);
    return true;
}

/* Returns whether it kept ev (held on its stream). */
static bool finish_stream_event(struct host_instance *in, struct host_event *ev)
{
    struct host_plugin *p = in->p;
    struct host_stream *s = host_stream_by_handle(in, ev->handle);

    if (!s)
        return false;
    switch (ev->type) {
    case EV_DATA:
        if (in->handler_rc == FASTN_ERR_AGAIN)
            return refused_data(in, s, ev);
        host_stream_drained(in, s, ev->len1);
        /* fall through */
    case EV_STREAM:
        if (in->handler_rc < 0) {
            uint64_t id = s->id;
            host_stream_free(in, s);
            if (id)
                p->h->ops->stream_reset(p->h->ops_arg, id);
        }
        break;
    case EV_CLOSE:
        if (ev->arg == 0 && (s->flags & PLUGIN_STREAM_REPLAYED)) {
            /* delivered: on_close returned; nothing to write to */
            uint64_t id = s->id;
            host_stream_free(in, s);
            if (id)
                p->h->ops->replay_done(p->h->ops_arg, id);
        } else if (ev->arg < 0) {
            host_stream_free(in, s);
        } else {
            s->remote_closed = true;
            if (s->local_closed)
                host_stream_free(in, s);
        }
        break;
    case EV_OPEN:
        if (ev->arg < 0)
            host_stream_free(in, s);
        break;
    default:
        break;
    }
    return false;
}

/* The event is over: clean up after it as the ABI says. Returns false
 * when that ended the instance (on_start failed). */
static bool finish_event(struct host_instance *in)
{
    struct host_event *ev = in->cur;
    struct host_plugin *p = in->p;
    struct host_call *c;
    bool kept = false;
    char msg[96];

    /* progress: held data of streams with room may be taken now (not
     * after a refusal, or two refusing streams would take turns forever) */
    if (ev->type != EV_DATA || in->handler_rc != FASTN_ERR_AGAIN)
        host_release_held(in);
    if (in->db && store_pdb_event_end(in->db) == 1)
        LOG_RATELIMITED(LOG_WARN, "plugin",
                        "%s: rolled back a transaction left open by %s",
                        p->name, event_name(ev));
    p->events++;
    host_trace(in, "return", event_name(ev), in->handler_rc);
    p->fuel_used += in->given - fastn_wasm_fuel_get(in->wasm);
    in->cur = NULL;
    if (ev->type == EV_START && in->handler_rc < 0) {
        snprintf(msg, sizeof(msg), "on_start returned %d (%s)",
                 (int)in->handler_rc, fastn_err_name(in->handler_rc));
        free(ev);
        host_instance_stop(p, false, FASTN_ERR_PLUGIN_CRASHED, msg);
        return false;
    } else if (ev->type == EV_CALL && in->handler_rc < 0 &&
               (c = host_call_by_handle(in, ev->handle))) {
        int n = snprintf(msg, sizeof(msg), "%s: on_call returned %s", p->name,
                         fastn_err_name(in->handler_rc));
        host_call_answer(in, c, in->handler_rc, (const uint8_t *)msg,
                         (size_t)n);
    } else if (ev->type != EV_CALL && ev->type != EV_TIMER &&
               ev->type != EV_HASH && ev->type != EV_START) {
        kept = finish_stream_event(in, ev);
    }
    if (!kept)
        free(ev);
    return true;
}

/* Runs the current event for one chunk of at most `fuel` (and what the
 * event has left); *used gets the fuel it took. Returns 0 when it
 * finished or was suspended (in->suspended: it ran out of the chunk's
 * fuel; what the engine did not use goes back to the event), or the
 * error that ends it. */
static int run_chunk(struct host_instance *in, uint64_t fuel, uint64_t *used)
{
    uint64_t give = in->budget < fuel ? in->budget : fuel, g0 = in->given;
    bool resume = in->suspended;
    int err = 0;

    in->budget -= give;
    in->given += give;
    in->suspended = false;
    fastn_wasm_fuel_set(in->wasm, give);
    while (!err && in->phase != PH_DONE) {
        err = run_phase(in, resume);
        resume = false;
    }
    uint64_t left = fastn_wasm_fuel_get(in->wasm);
    *used = in->given - g0 - left;
    /* suspended only when the event has fuel beyond what it was given */
    if (err == FASTN_ERR_WASM_TRAP_OUT_OF_FUEL && in->budget > 0 &&
        !in->import_failed) {
        fastn_wasm_fuel_set(in->wasm, 0);
        in->budget += left;
        in->given -= left;
        in->suspended = true;
        return 0;
    }
    return err;
}

/* Ends the instance for err, counting the fuel its event used. */
static void fail_chunk(struct host_instance *in, int err)
{
    in->p->fuel_used += in->given - fastn_wasm_fuel_get(in->wasm);
    fail_event(in, err);
}

/* The next chunk of a slice that has used `used` of `fuel`: a chunk
 * that could not start the next metering block (a bulk instruction
 * priced above it) is followed by one twice as large, whatever the
 * slice has left; 0 ends the slice. */
static uint64_t next_chunk(uint64_t fuel, uint64_t used, uint64_t last,
                           uint64_t last_used)
{
    if (last && last_used == 0)
        return last < PLUGIN_CHUNK_FUEL ? 0 : last * 2;
    if (used >= fuel)
        return 0;
    return fuel - used < PLUGIN_CHUNK_FUEL ? fuel - used : PLUGIN_CHUNK_FUEL;
}

uint64_t host_instance_slice(struct host_instance *in, uint64_t now)
{
    struct host_plugin *p = in->p;
    uint64_t fuel = p->h->slice_fuel, used = 0, chunk = 0, got = 0;
    uint64_t start = now;
    bool alive = true;

    host_slice_begin(in, start);
    host_memory_charge(in);
    while (alive && !in->slice_over) {
        if (!in->cur && !begin_event(in))
            break;
        if (!in->suspended)
            chunk = got = 0; /* a new event */
        if (!(chunk = next_chunk(fuel, used, chunk, got)))
            break;
        int err = run_chunk(in, chunk, &got);
        used += got;
        if (!err) /* the clock once per chunk */
            err = host_slice_time(in, &now);
        if (err) {
            fail_chunk(in, err);
            alive = false;
        } else if (!in->suspended) {
            alive = finish_event(in);
        }
    }
    if (alive && !host_memory_allows(in, 0)) {
        char why[200];
        host_memory_why(in, why, sizeof(why));
        host_instance_stop(p, false, FASTN_ERR_PLUGIN_MEMORY, why);
        alive = false;
    }
    if (alive)
        in->slice_start = 0;
    else
        now = host_now_ns();
    host_cpu_charge(p, start, now, used);
    /* the host's work after the plugin's, outside its slice: notifications
     * it made move on (rate-limited), a long write-ahead log is checkpointed */
    if (alive && in->outbox_pending && !in->cur) {
        host_outbox_flush(in);
        now = host_now_ns();
    }
    if (alive && in->db && !in->cur && store_pdb_maintain(in->db) == 1)
        now = host_now_ns();
    if (alive)
        host_streams_resume(in);
    return now;
}

void host_outbox_flush(struct host_instance *in)
{
    struct plugin_host *h = in->p->h;
    size_t moved = 0;
    bool more = true;
    unsigned avail;
    int err = 0;

    if (!in->outbox_pending || !in->db || !h->state)
        return;
    avail = host_bucket_avail(&in->notify_rl, h->mono_ms, NOTIFY_RATE,
                              NOTIFY_BURST);
    if (avail)
        err = store_outbox_move(in->db, h->state, in->p->name, avail, &moved,
                                &more);
    in->notify_rl.tokens -= (double)moved;
    in->outbox_pending = more;
    if (err) {
        LOG_RATELIMITED(LOG_WARN, "plugin", "%s: cannot move notifications: %s",
                        in->p->name, fastn_strerror(err));
        in->outbox_at = h->mono_ms + OUTBOX_RETRY_MS;
    } else {
        in->outbox_at =
            h->mono_ms + host_bucket_wait(&in->notify_rl, NOTIFY_RATE);
    }
}
