/*
 * One memory budget per plugin (plugin.h, "Memory budget"): what an
 * instance holds, by part, against h->lim.memory as it was when the
 * instance started.
 *
 * The parts: the engine's (linear memory, and its tables, globals, value
 * stack, call frames and arrays, as the engine counts them:
 * fastn_wasm_instance_memory_usage), the host's buffers for it (events
 * queued, held on streams and being delivered, bytes written before a
 * stream opened or queued in the router's send queue, its tables of
 * streams, calls and timers) and its SQLite (the heap of its database
 * connection). The engine and the store account for their own parts;
 * engine_bytes() and sqlite_bytes() are the only places that ask them.
 *
 * Each enforces the budget where it allocates: the engine is given the
 * whole budget (fastn_wasm_limits.max_memory_bytes) and charged, at each
 * slice's start, with what the host and SQLite hold for the plugin and
 * the room its input needs (host_memory_charge), so memory.grow and
 * table.grow return -1 past the whole of it; the database is given what
 * the budget leaves after the rest and that room
 * (host_memory_sqlite_room, before each SQL call): SQL past it
 * fails with FASTN_ERR_STORE_MEMORY, an answer the plugin may handle,
 * not an end.
 *
 * The input room (host_memory_input_room: a sixteenth of the budget,
 * 128 KiB to 1 MiB) is what linear memory and SQLite leave for what
 * others send. Linear memory never shrinks: a plugin whose memory.grow
 * could take the budget whole would, once it peaked there, have every
 * stream paused and every call refused for good, though its malloc had
 * room inside. With the room kept, its grow fails first (a malloc that
 * returns NULL, which it handles) and input goes on.
 *
 * Who pays for going past it: the plugin, when it was the plugin's doing
 * (a write, a stream opened, a timer set: the import traps with
 * FASTN_ERR_PLUGIN_MEMORY and the instance restarts after a backoff);
 * never the plugin for what peers or clients send it (a stream is paused,
 * a call refused with FASTN_ERR_BUSY, a new stream refused).
 */
#include <stdio.h>

#include "fastn/err.h"
#include "plugin/host_int.h"
#include "store/store.h"
#include "util/log.h"

/* The engine's part: linear memory, and the rest the engine holds for
 * the instance (its tables, globals, value stack, call frames and
 * arrays). Not what the host charged it (host_memory_charge): the host
 * counts its own. */
static void engine_bytes(const struct host_instance *in, uint64_t *linear,
                         uint64_t *other)
{
    struct fastn_wasm_memory_usage u;

    *linear = *other = 0;
    if (!in->wasm)
        return;
    fastn_wasm_instance_memory_usage(in->wasm, &u);
    *linear = u.memory;
    *other = u.tables + u.globals + u.engine;
}

/* The SQLite heap of its database connection: everything SQLite holds
 * for it (cache, schema, statements, bound values, sorts). */
static uint64_t sqlite_bytes(const struct host_instance *in)
{
    return store_pdb_heap_bytes(in->db);
}

uint64_t host_event_bytes(const struct host_event *ev)
{
    return ev ? sizeof(*ev) + ev->len1 + ev->len2 : 0;
}

/* The events queued for the instance (what others sent it). */
static uint64_t queued_bytes(const struct host_instance *in)
{
    return in->queued_bytes +
           (uint64_t)in->n_events * sizeof(struct host_event);
}

/* How long a sum of the router's queues stands for them. */
#define ROUTER_SUM_NS 1000000u

/* The bytes the instance wrote that the router's send queues still hold:
 * summed again once the last sum is a millisecond old. */
static uint64_t router_bytes(const struct host_instance *in)
{
    const struct plugin_host *h = in->p->h;
    struct host_instance *cache = (struct host_instance *)in;
    uint64_t now = host_now_ns(), n = 0;

    if (in->router_at_ns && now - in->router_at_ns < ROUTER_SUM_NS)
        return in->router_bytes;
    for (unsigned i = 0; h->ops->stream_queued && i < in->n_streams; i++) {
        const struct host_stream *s = &in->streams[i];
        if (s->id && !s->gone)
            n += h->ops->stream_queued(h->ops_arg, s->id);
    }
    cache->router_bytes = n;
    cache->router_at_ns = now;
    return n;
}

/* The host's buffers for the instance; with `router`, the bytes it
 * wrote that the router's send queues still hold too. */
static uint64_t host_bytes(const struct host_instance *in, bool router)
{
    uint64_t n = sizeof(*in) + queued_bytes(in) + in->held_bytes +
                 host_event_bytes(in->cur) +
                 (uint64_t)in->cap_streams * sizeof(*in->streams) +
                 (uint64_t)in->cap_calls * sizeof(*in->calls) +
                 (uint64_t)in->cap_timers * sizeof(*in->timers);

    for (unsigned i = 0; i < in->n_streams; i++)
        n += in->streams[i].pending.cap;
    return router ? n + router_bytes(in) : n;
}

uint64_t host_memory(const struct host_instance *in, struct plugin_memory *m)
{
    struct plugin_memory x;

    engine_bytes(in, &x.linear, &x.engine);
    x.host = host_bytes(in, true);
    x.sqlite = sqlite_bytes(in);
    x.budget = in->mem_budget;
    if (m)
        *m = x;
    return x.linear + x.engine + x.host + x.sqlite;
}

uint64_t host_memory_input_room(const struct host_instance *in)
{
    uint64_t room = in->mem_budget / 16;

    if (room < 2 * PLUGIN_DATA_CHUNK_MAX)
        room = 2 * PLUGIN_DATA_CHUNK_MAX;
    return room < PLUGIN_INPUT_ROOM_MAX ? room : PLUGIN_INPUT_ROOM_MAX;
}

bool host_memory_admits(const struct host_instance *in, uint64_t more)
{
    return host_memory(in, NULL) + more <= in->mem_budget;
}

bool host_memory_allows(const struct host_instance *in, uint64_t more)
{
    return host_memory(in, NULL) - queued_bytes(in) + more <= in->mem_budget;
}

void host_memory_sqlite_room(struct host_instance *in)
{
    uint64_t linear, engine, other, room;

    if (!in->db)
        return;
    engine_bytes(in, &linear, &engine);
    other = linear + engine + host_bytes(in, false) - queued_bytes(in) +
            host_memory_input_room(in);
    room = other < in->mem_budget ? in->mem_budget - other : 0;
    if (room > STORE_PDB_HEAP_DEFAULT)
        room = STORE_PDB_HEAP_DEFAULT;
    /* 0 would be the store's default: 1 byte refuses every allocation */
    store_pdb_heap_limit(in->db, room ? room : 1);
}

void host_memory_charge(struct host_instance *in)
{
    uint64_t want;
    int64_t delta;

    if (!in->wasm)
        return;
    want = host_bytes(in, false) - queued_bytes(in) + sqlite_bytes(in) +
           host_memory_input_room(in);
    delta = (int64_t)want - (int64_t)in->mem_charged;
    /* one that does not fit stays as it was: the slice's end checks */
    if (delta && fastn_wasm_instance_memory_charge(in->wasm, delta) == 0)
        in->mem_charged = want;
}

void host_memory_why(const struct host_instance *in, char *why, size_t len)
{
    struct plugin_memory m;
    uint64_t total = host_memory(in, &m);

    snprintf(why, len,
             "memory: %llu KiB past its budget of %llu KiB (linear memory "
             "%llu KiB, tables, globals and stacks %llu KiB, host buffers "
             "%llu KiB, database cache %llu KiB)",
             (unsigned long long)(total >> 10),
             (unsigned long long)(m.budget >> 10),
             (unsigned long long)(m.linear >> 10),
             (unsigned long long)(m.engine >> 10),
             (unsigned long long)(m.host >> 10),
             (unsigned long long)(m.sqlite >> 10));
}

void host_engine_limits(const struct host_plugin *p, uint64_t budget,
                        struct fastn_wasm_limits *lim)
{
    uint64_t pages = budget / 65536;
    uint64_t slots =
        budget / PLUGIN_STACK_SHARE / sizeof(union fastn_wasm_value);

    fastn_wasm_limits_default(lim);
    lim->max_memory_pages = p->m.limits.memory_pages < pages
                                ? p->m.limits.memory_pages
                                : (uint32_t)pages;
    /* the budget bounds tables (8 bytes an entry), memory.grow and
     * table.grow too, and the engine's own: its value stack, reserved at
     * the start, may take a share of it */
    lim->max_memory_bytes = budget;
    if (slots < lim->max_stack_slots)
        lim->max_stack_slots = (uint32_t)slots;
    if (lim->max_call_depth > lim->max_stack_slots / 16)
        lim->max_call_depth = lim->max_stack_slots / 16;
}
