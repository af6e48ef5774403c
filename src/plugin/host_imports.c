/*
 * The imports a plugin calls (module "fastn", docs/PLUGIN-ABI.md,
 * "Imports"), and the WASI glue: one host function per row of
 * PLUGIN_ABI_IMPORTS.
 *
 * Every import, in this order: charges its base price (the table's fuel
 * column: fuel does not run inside the host, so imports pay for
 * themselves, about 1 unit per ns of the work they do, as wasm code
 * does), checks its capability (asked for in the manifest and not
 * withheld by the user: plugin_host_restrict, so a withheld one fails at
 * once, not at the next start), then checks every (ptr, len) against the
 * plugin's memory before reading or writing a byte (a bad one traps the
 * instance with FASTN_ERR_PLUGIN_BAD_POINTER), then does the work,
 * charging for bytes copied, parsed, sent or made, rows and SQL steps,
 * notifications and log lines (abi.h has the prices). Last, an import
 * that may have taken a while (any but the cheapest, or one that charged
 * more than PLUGIN_IMPORT_FUEL for its work) reads the clock
 * (host_slice_check): past the slice's time the plugin stops at its next
 * metering point, past slice_ms it ends (FASTN_ERR_PLUGIN_TIMEOUT). Nothing
 * here calls back into the plugin.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <sodium.h>
#ifdef FASTN_NOISE_OPENSSL
#include <openssl/evp.h>
#endif

#include "fastn/err.h"
#include "plugin/host_int.h"
#include "store/store.h"
#include "util/log.h"
#include "util/peer_id.h"

#define LOG_RATE 100.0 /* lines per second */
#define OPEN_RATE 32.0 /* stream opens per second */

typedef union fastn_wasm_value wval;

unsigned host_bucket_avail(struct host_bucket *b, uint64_t now_ms, double rate,
                           double burst)
{
    if (!b->init) {
        b->init = true;
        b->tokens = burst;
        b->last_ms = now_ms;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
        if (b->tokens > burst)
            b->tokens = burst;
        b->last_ms = now_ms;
    }
    return b->tokens < 1.0 ? 0 : (unsigned)b->tokens;
}

bool host_bucket_take(struct host_bucket *b, uint64_t now_ms, double rate,
                      double burst)
{
    if (!host_bucket_avail(b, now_ms, rate, burst))
        return false;
    b->tokens -= 1.0;
    return true;
}

uint64_t host_bucket_wait(const struct host_bucket *b, double rate)
{
    if (b->tokens >= 1.0)
        return 0;
    return (uint64_t)((1.0 - b->tokens) * 1000.0 / rate) + 1;
}

/* --- fuel and pointers -------------------------------------------------- */

/* Takes fuel for work done in the host: from the slice, then from the
 * event's budget; when both are spent the instance traps (out of fuel). */
static int charge(struct host_instance *in, uint64_t cost)
{
    uint64_t left = fastn_wasm_fuel_get(in->wasm);

    in->charged += cost;
    if (left >= cost) {
        fastn_wasm_fuel_set(in->wasm, left - cost);
        return 0;
    }
    cost -= left;
    fastn_wasm_fuel_set(in->wasm, 0);
    if (in->budget >= cost) {
        /* the next metering point suspends; the next slice resumes */
        in->budget -= cost;
        in->given += cost;
        return 0;
    }
    in->given += in->budget;
    in->budget = 0;
    return FASTN_ERR_WASM_TRAP_OUT_OF_FUEL;
}

/* Borrows [ptr, ptr+len) of the plugin's memory, or traps; charges
 * nothing (the caller pays for the bytes it uses). */
static int span_free(struct host_instance *in, const char *imp, uint32_t ptr,
                     uint32_t len, uint8_t **out)
{
    static uint8_t empty[1];

    if (len == 0) {
        *out = empty;
        return 0;
    }
    *out = fastn_wasm_memory_span(in->wasm, ptr, len);
    if (!*out) {
        in->import_failed = imp;
        LOG_RATELIMITED(LOG_WARN, "plugin",
                        "%s: fastn.%s: pointer %u + %u is outside its "
                        "memory of %llu bytes",
                        in->p->name, imp, ptr, len,
                        (unsigned long long)fastn_wasm_memory_size(in->wasm));
        return FASTN_ERR_PLUGIN_BAD_POINTER;
    }
    return 0;
}

/* Borrows [ptr, ptr+len) of the plugin's memory, or traps; charges for
 * copying it. */
static int span(struct host_instance *in, const char *imp, uint32_t ptr,
                uint32_t len, uint8_t **out)
{
    int err = span_free(in, imp, ptr, len, out);
    return err ? err : charge(in, len / PLUGIN_BYTES_PER_FUEL);
}

/* Traps with FASTN_ERR_PLUGIN_MEMORY when what the import is about to
 * make the host hold (`more` bytes) would take the plugin past its
 * memory budget. */
static int over_budget(struct host_instance *in, const char *imp, uint64_t more)
{
    if (host_memory_allows(in, more))
        return 0;
    in->import_failed = imp;
    LOG_RATELIMITED(LOG_WARN, "plugin", "%s: fastn.%s: past its memory budget",
                    in->p->name, imp);
    return FASTN_ERR_PLUGIN_MEMORY;
}

/* Copies n bytes to an output buffer (already checked): min(n, cap). */
static int32_t copy_out(uint8_t *buf, uint32_t cap, const void *src, size_t n)
{
    if (n)
        memcpy(buf, src, n < cap ? n : cap);
    return (int32_t)n;
}

static int ret32(wval *r, int32_t v)
{
    r[0].i32 = v;
    return 0;
}

/* A NUL-terminated copy of a plugin string (no NUL inside). */
static int cstr(const uint8_t *p, uint32_t n, char *out, size_t cap)
{
    if (n >= cap)
        return FASTN_ERR_TOO_LARGE;
    if (memchr(p, 0, n))
        return FASTN_ERR_INVAL;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* --- streams ------------------------------------------------------------ */

static int x_stream_open(struct host_instance *in, const wval *a, wval *r)
{
    struct plugin_host *h = in->p->h;
    char peer[PLUGIN_PEER_ID_MAX + 1], proto[PLUGIN_PROTOCOL_MAX + 1];
    struct peer_id pid;
    struct host_stream *s;
    uint8_t *pp, *rp;
    int err;

    if ((err = span(in, "stream_open", a[0].u32, a[1].u32, &pp)) ||
        (err = span(in, "stream_open", a[2].u32, a[3].u32, &rp)))
        return err;
    if (cstr(pp, a[1].u32, peer, sizeof(peer)) || peer_id_parse(peer, &pid))
        return ret32(r, FASTN_ERR_BAD_PEER_ID);
    if (cstr(rp, a[3].u32, proto, sizeof(proto)) ||
        !plugin_manifest_has_protocol(&in->p->m, proto))
        return ret32(r, FASTN_ERR_PLUGIN_CAPABILITY);
    if (in->n_streams >= in->p->m.limits.streams)
        return ret32(r, FASTN_ERR_PLUGIN_LIMIT);
    if (!host_bucket_take(&in->open_rl, h->mono_ms, OPEN_RATE, OPEN_RATE))
        return ret32(r, FASTN_ERR_AGAIN);
    if ((err = over_budget(in, "stream_open", sizeof(*s))))
        return err;
    if (!(s = host_stream_add(in)))
        return ret32(r, FASTN_ERR_NOMEM);
    s->outgoing = s->opening = true;
    s->token = h->next_token++;
    memcpy(s->peer, peer, strlen(peer) + 1);
    int32_t handle = s->handle;
    err = h->ops->stream_open(h->ops_arg, peer, proto, s->token);
    /* a dial that fails at once (no address, a blocked peer, no network)
     * is reported like one that fails later: the handle, then on_open
     * with the error (docs/PLUGIN-ABI.md, "Streams"); only the checks
     * above answer synchronously */
    if (err && plugin_host_stream_opened(
                   h, s->token, 0, err < 0 ? err : FASTN_ERR_NET_UNREACHABLE)) {
        host_stream_free(in, host_stream_by_handle(in, handle));
        return ret32(r, FASTN_ERR_NOMEM);
    }
    return ret32(r, handle);
}

/* The local_connect entry of p's manifest that addr names, or -1 (the
 * log says why: a plugin that tries an address it did not ask for). */
static int connect_entry(struct host_instance *in, const char *addr)
{
    const struct plugin_manifest *m = &in->p->m;
    char a[PLUGIN_ADDR_MAX + 1];
    struct plugin_addr pa;
    int err = plugin_addr_parse(addr, &pa);

    for (size_t i = 0; !err && i < m->n_connect; i++)
        if (plugin_addr_equal(&pa, &m->connect[i]))
            return (int)i;
    LOG_RATELIMITED(LOG_WARN, "plugin",
                    "%s: local_connect to \"%.64s\" refused: %s (its "
                    "manifest names %s%s)",
                    in->p->name, addr,
                    err == FASTN_ERR_INVAL ? "not ADDRESS:PORT"
                    : err                  ? "not a loopback address"
                                           : "not in its manifest",
                    m->n_connect ? plugin_addr_format(&m->connect[0], a) : "",
                    m->n_connect > 1 ? " and others" : "");
    return -1;
}

/* local_connect(addr): a TCP connection to a loopback address the
 * manifest names, opened like stream_open's (on_open says how it went). */
static int x_local_connect(struct host_instance *in, const wval *a, wval *r)
{
    struct plugin_host *h = in->p->h;
    char addr[PLUGIN_ADDR_MAX + 1], to[PLUGIN_ADDR_MAX + 1];
    struct plugin_addr target;
    struct host_stream *s;
    uint8_t *ap;
    int err, i;

    if ((err = span(in, "local_connect", a[0].u32, a[1].u32, &ap)))
        return err;
    if (cstr(ap, a[1].u32, addr, sizeof(addr)))
        return ret32(r, FASTN_ERR_INVAL);
    if ((i = connect_entry(in, addr)) < 0)
        return ret32(r, FASTN_ERR_PLUGIN_CAPABILITY);
    if (!h->ops->local_connect)
        return ret32(r, FASTN_ERR_UNSUPPORTED);
    if (in->n_streams >= in->p->m.limits.streams)
        return ret32(r, FASTN_ERR_PLUGIN_LIMIT);
    if (!host_bucket_take(&in->open_rl, h->mono_ms, OPEN_RATE, OPEN_RATE))
        return ret32(r, FASTN_ERR_AGAIN);
    if ((err = over_budget(in, "local_connect", sizeof(*s))))
        return err;
    if (!(s = host_stream_add(in)))
        return ret32(r, FASTN_ERR_NOMEM);
    s->outgoing = s->opening = true;
    s->flags = PLUGIN_STREAM_LOCAL;
    s->token = h->next_token++;
    plugin_addr_format(&in->p->m.connect[i], s->peer);
    target = host_local_target(in->p, (size_t)i);
    int32_t handle = s->handle;
    err = h->ops->local_connect(h->ops_arg, plugin_addr_format(&target, to),
                                s->token);
    if (err && plugin_host_stream_opened(
                   h, s->token, 0, err < 0 ? err : FASTN_ERR_NET_UNREACHABLE)) {
        host_stream_free(in, host_stream_by_handle(in, handle));
        return ret32(r, FASTN_ERR_NOMEM);
    }
    return ret32(r, handle);
}

/* Queues bytes behind earlier ones that the router did not take yet. */
static int32_t write_pending(struct host_instance *in, struct host_stream *s,
                             const uint8_t *p, size_t n)
{
    size_t room = s->pending.max - s->pending.len;
    size_t take = n < room ? n : room;

    if (take && buf_append(&s->pending, p, take))
        return FASTN_ERR_NOMEM;
    if (take < n)
        s->want_writable = true;
    host_stream_flush_pending(in, s);
    return take ? (int32_t)take : FASTN_ERR_AGAIN;
}

static int x_stream_write(struct host_instance *in, const wval *a, wval *r)
{
    struct plugin_host *h = in->p->h;
    struct host_stream *s;
    size_t n = a[2].u32;
    uint8_t *p;
    int err = span(in, "stream_write", a[1].u32, a[2].u32, &p);

    if (err)
        return err;
    if (!(s = host_stream_by_handle(in, a[0].i32)))
        return ret32(r, FASTN_ERR_PLUGIN_BAD_HANDLE);
    if (s->flags & PLUGIN_STREAM_REPLAYED)
        return ret32(r, FASTN_ERR_PLUGIN_REPLAYED);
    if (s->local_closed || s->gone)
        return ret32(r, FASTN_ERR_CLOSED);
    if (n > PLUGIN_WRITE_MAX)
        n = PLUGIN_WRITE_MAX;
    if (n == 0)
        return ret32(r, 0);
    /* the router's send queue, or ours before it opened, takes at most
     * PLUGIN_STREAM_BUFFER of it */
    if ((err =
             over_budget(in, "stream_write",
                         n < PLUGIN_STREAM_BUFFER ? n : PLUGIN_STREAM_BUFFER)))
        return err;
    if (s->opening || s->pending.len > 0) {
        int32_t w = write_pending(in, s, p, n);
        if (w > 0 &&
            (err = charge(in, (uint64_t)w * PLUGIN_FUEL_PER_SENT_BYTE)))
            return err;
        return ret32(r, w);
    }
    int w = h->ops->stream_write(h->ops_arg, s->id, p, n);
    if (w < 0)
        return ret32(r, w);
    if ((size_t)w < n)
        s->want_writable = true;
    if ((err = charge(in, (uint64_t)w * PLUGIN_FUEL_PER_SENT_BYTE)))
        return err;
    return ret32(r, w ? w : FASTN_ERR_AGAIN);
}

static int x_stream_close(struct host_instance *in, const wval *a, wval *r)
{
    struct plugin_host *h = in->p->h;
    struct host_stream *s = host_stream_by_handle(in, a[0].i32);

    if (!s)
        return ret32(r, FASTN_ERR_PLUGIN_BAD_HANDLE);
    if (s->local_closed)
        return ret32(r, FASTN_ERR_CLOSED);
    s->local_closed = true;
    if (s->id && !s->gone && s->pending.len == 0)
        h->ops->stream_close(h->ops_arg, s->id);
    if (s->remote_closed)
        host_stream_free(in, s);
    return ret32(r, 0);
}

static int x_stream_reset(struct host_instance *in, const wval *a, wval *r)
{
    struct plugin_host *h = in->p->h;
    struct host_stream *s = host_stream_by_handle(in, a[0].i32);
    uint64_t id;

    if (!s)
        return ret32(r, FASTN_ERR_PLUGIN_BAD_HANDLE);
    id = s->gone ? 0 : s->id;
    /* an opening stream's token is forgotten: when the router reports it
     * open, plugin_host_stream_opened says NOT_FOUND and it is reset */
    host_stream_free(in, s);
    if (id)
        h->ops->stream_reset(h->ops_arg, id);
    return ret32(r, 0);
}

static int x_stream_peer(struct host_instance *in, const wval *a, wval *r)
{
    struct host_stream *s;
    uint8_t *buf;
    int err = span(in, "stream_peer", a[1].u32, a[2].u32, &buf);

    if (err)
        return err;
    if (!(s = host_stream_by_handle(in, a[0].i32)))
        return ret32(r, FASTN_ERR_PLUGIN_BAD_HANDLE);
    return ret32(r, copy_out(buf, a[2].u32, s->peer, strlen(s->peer)));
}

static int x_stream_flags(struct host_instance *in, const wval *a, wval *r)
{
    struct host_stream *s = host_stream_by_handle(in, a[0].i32);

    return ret32(r, s ? (int32_t)s->flags : FASTN_ERR_PLUGIN_BAD_HANDLE);
}

/* --- calls -------------------------------------------------------------- */

static int x_call_reply(struct host_instance *in, const wval *a, wval *r)
{
    struct host_call *c;
    uint8_t *p;
    int err = span(in, "call_reply", a[2].u32, a[3].u32, &p);

    if (err)
        return err;
    if (a[3].u32 > PLUGIN_CALL_REPLY_MAX)
        return ret32(r, FASTN_ERR_TOO_LARGE);
    if (a[1].i32 > 0)
        return ret32(r, FASTN_ERR_INVAL);
    if (!(c = host_call_by_handle(in, a[0].i32)))
        return ret32(r, FASTN_ERR_PLUGIN_BAD_HANDLE);
    host_call_answer(in, c, a[1].i32, p, a[3].u32);
    return ret32(r, 0);
}

/* call_reply_v(call, status, iov, n): the answer is the n pieces the
 * iov array lists (8 bytes each: a 32-bit address and a 32-bit length),
 * taken from the plugin's memory as they are (no copy into one). */
static int x_call_reply_v(struct host_instance *in, const wval *a, wval *r)
{
    struct iovec v[PLUGIN_CALL_REPLY_PIECES];
    struct buf_reader list;
    struct host_call *c;
    uint8_t *lp;
    uint64_t total = 0;
    uint32_t n = a[3].u32;
    int err;

    if (n > PLUGIN_CALL_REPLY_PIECES)
        return ret32(r, FASTN_ERR_INVAL);
    if ((err = span(in, "call_reply_v", a[2].u32, n * 8, &lp)))
        return err;
    buf_reader_init(&list, lp, n * 8);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t ptr = 0, len = 0;
        uint8_t *p;
        /* cannot fail: the span holds n entries */
        (void)buf_get_le32(&list, &ptr);
        (void)buf_get_le32(&list, &len);
        if ((err = span(in, "call_reply_v", ptr, len, &p)))
            return err;
        v[i] = (struct iovec){.iov_base = p, .iov_len = len};
        total += len;
    }
    if (total > PLUGIN_CALL_REPLY_MAX)
        return ret32(r, FASTN_ERR_TOO_LARGE);
    if (a[1].i32 > 0)
        return ret32(r, FASTN_ERR_INVAL);
    if (!(c = host_call_by_handle(in, a[0].i32)))
        return ret32(r, FASTN_ERR_PLUGIN_BAD_HANDLE);
    host_call_answer_v(in, c, a[1].i32, v, n);
    return ret32(r, 0);
}

/* --- SQL ---------------------------------------------------------------- */

/* Lets the next SQL call take only the steps the event can still pay
 * for, STORE_PDB_TIME_DEFAULT_NS of time or what the slice has left of
 * slice_ms when that is less, and the memory the plugin's budget leaves:
 * SQL cannot be suspended mid-call, so a call that needs more fails
 * (FASTN_ERR_STORE_LIMIT, _TIMEOUT, _MEMORY), the loop is held by one
 * call for a few ms at most, and never long enough to end the instance
 * for time. */
static void sql_limit(struct host_instance *in)
{
    uint64_t fuel = fastn_wasm_fuel_get(in->wasm) + in->budget;
    struct store_pdb_budget b = {.steps = fuel / PLUGIN_SQL_STEP_FUEL + 1000,
                                 .time_ns = host_slice_sql_ns(in)};
    store_pdb_budget_set(in->db, &b);
    host_memory_sqlite_room(in);
}

/* Charges the SQLite work of the call just made: its VM steps, and the
 * bytes it allocated (work on values, as copies are charged). */
static int sql_charge(struct host_instance *in, int rc, wval *r)
{
    struct store_pdb_cost c;
    host_slice_sql_end(in);
    store_pdb_last_cost(in->db, &c);
    int err = charge(in, c.steps * PLUGIN_SQL_STEP_FUEL +
                             c.alloc_bytes / PLUGIN_BYTES_PER_FUEL);
    if (err)
        return err;
    return ret32(r, rc);
}

static int x_sql_exec(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *p;
    int err = span(in, "sql_exec", a[0].u32, a[1].u32, &p);
    if (!err)
        err = charge(in, (uint64_t)a[1].u32 * PLUGIN_FUEL_PER_SQL_BYTE);
    if (err)
        return err;
    sql_limit(in);
    return sql_charge(in, store_pdb_exec(in->db, (char *)p, a[1].u32), r);
}

static int x_sql_prepare(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *p;
    int err = span(in, "sql_prepare", a[0].u32, a[1].u32, &p);
    if (!err)
        err = charge(in, (uint64_t)a[1].u32 * PLUGIN_FUEL_PER_SQL_BYTE);
    if (err)
        return err;
    sql_limit(in);
    return sql_charge(in, store_pdb_prepare(in->db, (char *)p, a[1].u32), r);
}

static int x_sql_bind_null(struct host_instance *in, const wval *a, wval *r)
{
    return ret32(r, store_pdb_bind_null(in->db, a[0].i32, a[1].i32));
}

static int x_sql_bind_int64(struct host_instance *in, const wval *a, wval *r)
{
    return ret32(r, store_pdb_bind_int64(in->db, a[0].i32, a[1].i32, a[2].i64));
}

static int x_sql_bind_double(struct host_instance *in, const wval *a, wval *r)
{
    return ret32(r,
                 store_pdb_bind_double(in->db, a[0].i32, a[1].i32, a[2].f64));
}

static int x_sql_bind_text(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *p;
    int err = span(in, "sql_bind_text", a[2].u32, a[3].u32, &p);
    if (err)
        return err;
    host_memory_sqlite_room(in);
    return ret32(r,
                 store_pdb_bind_text(in->db, a[0].i32, a[1].i32, p, a[3].u32));
}

static int x_sql_bind_blob(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *p;
    int err = span(in, "sql_bind_blob", a[2].u32, a[3].u32, &p);
    if (err)
        return err;
    host_memory_sqlite_room(in);
    return ret32(r,
                 store_pdb_bind_blob(in->db, a[0].i32, a[1].i32, p, a[3].u32));
}

static int x_sql_step(struct host_instance *in, const wval *a, wval *r)
{
    sql_limit(in);
    return sql_charge(in, store_pdb_step(in->db, a[0].i32), r);
}

static int x_sql_reset(struct host_instance *in, const wval *a, wval *r)
{
    return ret32(r, store_pdb_reset(in->db, a[0].i32));
}

static int x_sql_finalize(struct host_instance *in, const wval *a, wval *r)
{
    return ret32(r, store_pdb_finalize(in->db, a[0].i32));
}

static int x_sql_column_count(struct host_instance *in, const wval *a, wval *r)
{
    return ret32(r, store_pdb_column_count(in->db, a[0].i32));
}

static int x_sql_column_type(struct host_instance *in, const wval *a, wval *r)
{
    return ret32(r, store_pdb_column_type(in->db, a[0].i32, a[1].i32));
}

static int x_sql_column_int64(struct host_instance *in, const wval *a, wval *r)
{
    r[0].i64 = store_pdb_column_int64(in->db, a[0].i32, a[1].i32);
    return 0;
}

static int x_sql_column_double(struct host_instance *in, const wval *a, wval *r)
{
    r[0].f64 = store_pdb_column_double(in->db, a[0].i32, a[1].i32);
    return 0;
}

static int x_sql_column_bytes(struct host_instance *in, const wval *a, wval *r)
{
    const uint8_t *src;
    size_t n;
    uint8_t *buf;
    int err = span(in, "sql_column_bytes", a[2].u32, a[3].u32, &buf);

    if (err)
        return err;
    err = store_pdb_column_bytes(in->db, a[0].i32, a[1].i32, &src, &n);
    if (err)
        return ret32(r, err);
    if ((err = charge(in, n / PLUGIN_BYTES_PER_FUEL)))
        return err;
    return ret32(r, copy_out(buf, a[3].u32, src, n));
}

static int x_sql_changes(struct host_instance *in, const wval *a, wval *r)
{
    (void)a;
    return ret32(r, store_pdb_changes(in->db));
}

static int x_sql_last_insert_rowid(struct host_instance *in, const wval *a,
                                   wval *r)
{
    (void)a;
    r[0].i64 = store_pdb_last_insert_rowid(in->db);
    return 0;
}

static int x_sql_errmsg(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *buf;
    int err = span(in, "sql_errmsg", a[0].u32, a[1].u32, &buf);
    const char *m;

    if (err)
        return err;
    m = store_pdb_errmsg(in->db);
    return ret32(r, copy_out(buf, a[1].u32, m, strlen(m)));
}

/* --- notifications, timers ---------------------------------------------- */

static int x_notify(struct host_instance *in, const wval *a, wval *r)
{
    struct plugin_host *h = in->p->h;
    char title[PLUGIN_NOTIFY_TITLE_MAX + 1], body[PLUGIN_NOTIFY_BODY_MAX + 1];
    uint8_t *tp, *bp;
    int err;

    if ((err = span(in, "notify", a[0].u32, a[1].u32, &tp)) ||
        (err = span(in, "notify", a[2].u32, a[3].u32, &bp)) ||
        (err = charge(in, ((uint64_t)a[1].u32 + a[3].u32) *
                              PLUGIN_FUEL_PER_NOTE_BYTE)))
        return err;
    if (a[1].u32 == 0)
        return ret32(r, FASTN_ERR_INVAL);
    if ((err = cstr(tp, a[1].u32, title, sizeof(title))) ||
        (err = cstr(bp, a[3].u32, body, sizeof(body))))
        return ret32(r, err);
    if (!h->state || !in->db)
        return ret32(r, FASTN_ERR_UNSUPPORTED);
    /* into the outbox, with the plugin's transaction if one is open; the
     * rate limit applies when it moves on (host_outbox_flush) */
    err = store_outbox_add(in->db, (int64_t)h->now_ms, title, body);
    if (!err)
        in->outbox_pending = true;
    return ret32(r, err);
}

static int x_timer_set(struct host_instance *in, const wval *a, wval *r)
{
    int err;
    int32_t id = a[0].i32;
    int64_t delay = a[1].i64;
    uint64_t due = in->p->h->mono_ms + (uint64_t)delay;

    if (id < 0 || delay < 0 || delay > PLUGIN_TIMER_DELAY_MAX)
        return ret32(r, FASTN_ERR_INVAL);
    for (unsigned i = 0; i < in->n_timers; i++)
        if (in->timers[i].id == id) {
            in->timers[i].due = due;
            return ret32(r, 0);
        }
    if (in->n_timers >= in->p->m.limits.timers)
        return ret32(r, FASTN_ERR_PLUGIN_LIMIT);
    if ((err = over_budget(in, "timer_set", sizeof(*in->timers))))
        return err;
    if (in->n_timers == in->cap_timers) {
        unsigned cap = in->cap_timers ? in->cap_timers * 2 : 4;
        void *v = realloc(in->timers, cap * sizeof(*in->timers));
        if (!v)
            return ret32(r, FASTN_ERR_NOMEM);
        in->timers = v;
        in->cap_timers = cap;
    }
    in->timers[in->n_timers++] = (struct host_timer){id, due, in->timer_seq++};
    return ret32(r, 0);
}

static int x_timer_cancel(struct host_instance *in, const wval *a, wval *r)
{
    for (unsigned i = 0; i < in->n_timers; i++)
        if (in->timers[i].id == a[0].i32) {
            memmove(&in->timers[i], &in->timers[i + 1],
                    (in->n_timers - i - 1) * sizeof(*in->timers));
            in->n_timers--;
            break;
        }
    return ret32(r, 0);
}

/* --- time, randomness, log, identity ------------------------------------ */

static int x_now_ms(struct host_instance *in, const wval *a, wval *r)
{
    (void)a;
    r[0].i64 = (int64_t)in->p->h->now_ms;
    return 0;
}

static int x_monotonic_ms(struct host_instance *in, const wval *a, wval *r)
{
    (void)a;
    r[0].i64 = (int64_t)in->p->h->mono_ms;
    return 0;
}

static int fill_random(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = getrandom(p, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return FASTN_ERR_IO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int x_random(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *p;
    int err = span(in, "random", a[0].u32, a[1].u32, &p);
    if (err)
        return err;
    if (a[1].u32 > PLUGIN_RANDOM_MAX)
        return ret32(r, FASTN_ERR_TOO_LARGE);
    if ((err = charge(in, (uint64_t)a[1].u32 * PLUGIN_FUEL_PER_RANDOM_BYTE)))
        return err;
    return ret32(r, fill_random(p, a[1].u32));
}

/* One line of plugin output into the daemon's log: cut, control
 * characters replaced, rate-limited per plugin. Returns what writing it
 * cost in fuel (0 when the rate limit dropped it). */
static uint64_t log_line(struct host_instance *in, int level, const uint8_t *p,
                         size_t n)
{
    char line[PLUGIN_LOG_LINE_MAX + 1];

    if (!host_bucket_take(&in->log_rl, in->p->h->mono_ms, LOG_RATE, LOG_RATE)) {
        in->log_rl.dropped++;
        return 0;
    }
    if (in->log_rl.dropped) {
        log_msg(LOG_WARN, "plugin", "%s: %u log lines dropped (over %d/s)",
                in->p->name, in->log_rl.dropped, (int)LOG_RATE);
        in->log_rl.dropped = 0;
    }
    if (n > PLUGIN_LOG_LINE_MAX)
        n = PLUGIN_LOG_LINE_MAX;
    for (size_t i = 0; i < n; i++)
        line[i] = p[i] < 0x20 || p[i] == 0x7f ? '?' : (char)p[i];
    line[n] = '\0';
    log_msg((enum log_level)level, "plugin", "%s: %s", in->p->name, line);
    return PLUGIN_FUEL_LOG_LINE + n;
}

static int x_log(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *p;
    int err = span(in, "log", a[1].u32, a[2].u32, &p);
    if (err)
        return err;
    if (a[0].i32 < LOG_ERROR || a[0].i32 > LOG_TRACE)
        return ret32(r, FASTN_ERR_INVAL);
    if ((err = charge(in, log_line(in, a[0].i32, p, a[2].u32))))
        return err;
    return ret32(r, 0);
}

static int x_local_peer_id(struct host_instance *in, const wval *a, wval *r)
{
    const char *id = in->p->h->local_peer_id;
    uint8_t *buf;
    int err = span(in, "local_peer_id", a[0].u32, a[1].u32, &buf);
    if (err)
        return err;
    return ret32(r, copy_out(buf, a[1].u32, id, strlen(id)));
}

/* --- hashes ------------------------------------------------------------- */

/* SHA-256 natively: libcrypto's (the CPU's SHA extensions) when the build
 * has it, as the noise cipher does, else libsodium's (host_sha256). */
static int x_sha256(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *p, *out;
    int err = span(in, "sha256", a[0].u32, a[1].u32, &p);
    if (!err)
        err = span(in, "sha256", a[2].u32, 32, &out);
    if (err)
        return err;
    if (a[1].u32 > PLUGIN_HASH_MAX)
        return ret32(r, FASTN_ERR_TOO_LARGE);
    if ((err = charge(in, (uint64_t)a[1].u32 * PLUGIN_FUEL_PER_HASH_BYTE)))
        return err;
    return ret32(r, host_sha256(p, a[1].u32, out));
}

/* A SHA-256 beside the plugin (host_job.c): on_hash answers it. */
static int x_hash_start(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *p, *out;
    int err = span(in, "hash_start", a[1].u32, a[2].u32, &p);
    if (!err)
        err = span(in, "hash_start", a[3].u32, 32, &out);
    if (err)
        return err;
    if (!(in->exports & (1u << EXP_on_hash)))
        return ret32(r, FASTN_ERR_UNSUPPORTED);
    if (a[2].u32 > PLUGIN_HASH_MAX)
        return ret32(r, FASTN_ERR_TOO_LARGE);
    if (a[0].i32 != 0)
        return ret32(r, FASTN_ERR_INVAL);
    if (in->n_jobs >= PLUGIN_HASH_JOBS_MAX)
        return ret32(r, FASTN_ERR_BUSY);
    if ((err = charge(in, (uint64_t)a[2].u32 * PLUGIN_FUEL_PER_HASH_BYTE)))
        return err;
    (void)out;
    err = host_hash_start(in, a[0].i32, p, a[2].u32, a[3].u32, a[4].i32);
    if (err == FASTN_ERR_PLUGIN_BAD_POINTER) /* checked above: never */
        return err;
    return ret32(r, err);
}

/* BLAKE2b (libsodium's generichash): a digest of 16..64 bytes, keyed by
 * 16..64 bytes or not at all. */
static int x_blake2b(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *p, *key, *out;
    uint32_t n = a[1].u32, klen = a[3].u32, olen = a[5].u32;
    int err = span(in, "blake2b", a[0].u32, n, &p);
    if (!err)
        err = span(in, "blake2b", a[2].u32, klen, &key);
    if (!err)
        err = span(in, "blake2b", a[4].u32, olen, &out);
    if (err)
        return err;
    if (n > PLUGIN_HASH_MAX)
        return ret32(r, FASTN_ERR_TOO_LARGE);
    if (olen < crypto_generichash_BYTES_MIN ||
        olen > crypto_generichash_BYTES_MAX ||
        (klen && (klen < crypto_generichash_KEYBYTES_MIN ||
                  klen > crypto_generichash_KEYBYTES_MAX)))
        return ret32(r, FASTN_ERR_INVAL);
    if ((err = charge(in, (uint64_t)n * PLUGIN_FUEL_PER_B2B_BYTE)))
        return err;
    if (crypto_generichash(out, olen, p, n, klen ? key : NULL, klen))
        return ret32(r, FASTN_ERR_INVAL);
    return ret32(r, 0);
}

/* --- blobs ------------------------------------------------------------- */

/* The plugin's blobs (store.h, "Plugin blobs"): the key and the data are
 * checked against its memory, then the bytes written or read are paid for
 * before the file is touched; blob_read reads straight into its memory. */
static int x_blob_put(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *key, *p;
    int err = span(in, "blob_put", a[0].u32, a[1].u32, &key);
    if (!err)
        err = span(in, "blob_put", a[2].u32, a[3].u32, &p);
    if (err)
        return err;
    if (a[3].u32 > STORE_BLOB_MAX)
        return ret32(r, FASTN_ERR_TOO_LARGE);
    if ((err = charge(in, a[3].u32 / PLUGIN_BLOB_BYTES_PER_FUEL)))
        return err;
    return ret32(
        r, store_blob_put(store_pdb_blobs(in->db), key, a[1].u32, p, a[3].u32));
}

struct blob_read_ctx {
    struct host_instance *in;
    int trap;
};

static int blob_read_charge(void *arg, uint64_t bytes)
{
    struct blob_read_ctx *c = arg;
    c->trap = charge(c->in, bytes / PLUGIN_BLOB_BYTES_PER_FUEL);
    return c->trap;
}

static int x_blob_read(struct host_instance *in, const wval *a, wval *r)
{
    struct blob_read_ctx c = {.in = in};
    uint8_t *key, *buf;
    int err = span(in, "blob_read", a[0].u32, a[1].u32, &key);
    if (!err) /* only the bytes read are paid for (a miss costs no copy) */
        err = span_free(in, "blob_read", a[3].u32, a[4].u32, &buf);
    if (err)
        return err;
    /* the count returned is an i32 (a blob holds 16 MiB at most) */
    uint32_t cap = a[4].u32 > INT32_MAX ? INT32_MAX : a[4].u32;
    int64_t n = store_blob_read(store_pdb_blobs(in->db), key, a[1].u32,
                                a[2].u64, buf, cap, blob_read_charge, &c);
    if (c.trap)
        return c.trap;
    return ret32(r, (int32_t)n);
}

static int x_blob_size(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *key;
    int err = span(in, "blob_size", a[0].u32, a[1].u32, &key);
    if (err)
        return err;
    r[0].i64 = store_blob_size(store_pdb_blobs(in->db), key, a[1].u32);
    return 0;
}

static int x_blob_delete(struct host_instance *in, const wval *a, wval *r)
{
    uint8_t *key;
    int err = span(in, "blob_delete", a[0].u32, a[1].u32, &key);
    if (err)
        return err;
    return ret32(r, store_blob_delete(store_pdb_blobs(in->db), key, a[1].u32));
}

/* --- the table ---------------------------------------------------------- */

/* After an import: one that may have taken a while reads the clock (a
 * slice over its time stops at the next metering point, or, past
 * slice_ms, the instance ends). The cheapest ones, which only return what
 * the host holds, skip it unless they copied much. */
static int timed(struct host_instance *in, const char *name, uint64_t base)
{
    int err;

    if (base < PLUGIN_IMPORT_FUEL && in->charged < PLUGIN_IMPORT_FUEL)
        return 0;
    if ((err = host_slice_check(in)))
        in->import_failed = name;
    return err;
}

/* The wrapper every import goes through: fuel, then capability (only a
 * withheld one can be missing: the loader refused imports the manifest
 * did not ask for). */
#define HOST_IMPORT_WRAP_(nm_, params, results, cap, fuel)                     \
    static int w_##nm_(struct fastn_wasm_instance *w, void *user,              \
                       const wval *a, wval *r)                                 \
    {                                                                          \
        struct host_instance *in = fastn_wasm_instance_get_user(w);            \
        int err_;                                                              \
        (void)user;                                                            \
        if ((err_ = charge(in, (fuel))))                                       \
            return err_;                                                       \
        in->charged = 0;                                                       \
        if ((cap) && !(host_caps_now(in->p) & (unsigned)(cap))) {              \
            LOG_RATELIMITED(LOG_WARN, "plugin",                                \
                            "%s: fastn." #nm_ " refused: capability "          \
                            "withheld",                                        \
                            in->p->name);                                      \
            r[0].i64 = 0;                                                      \
            if ((results)[0] == 'i')                                           \
                r[0].i32 = FASTN_ERR_PLUGIN_CAPABILITY;                        \
            return 0;                                                          \
        }                                                                      \
        err_ = x_##nm_(in, a, r);                                              \
        host_trace(in, "import", #nm_,                                         \
                   (results)[0] == 'i'   ? r[0].i32                            \
                   : (results)[0] == 'F' ? (int64_t)r[0].f64                   \
                                         : r[0].i64);                          \
        /* past slice_ms it ends so, even when it also ran out of fuel */      \
        if (timed(in, #nm_, (fuel)) == FASTN_ERR_PLUGIN_TIMEOUT)               \
            return FASTN_ERR_PLUGIN_TIMEOUT;                                   \
        return err_;                                                           \
    }
PLUGIN_ABI_IMPORTS(HOST_IMPORT_WRAP_)
#undef HOST_IMPORT_WRAP_

/* --- WASI glue ---------------------------------------------------------- */

/* The WASI functions are charged by the engine before they call the
 * callbacks below (wasm/wasi.c: a base, a system call's price where the
 * engine's own callback would make one, the bytes copied or made); the
 * callbacks charge only the host's work beyond that (log lines written)
 * and check the slice's time. One whose fuel ran out (or whose slice ran
 * past slice_ms) answers EIO, and the instance stops or ends at its next
 * metering point. */
static int wasi_charge(struct host_instance *in, uint64_t cost)
{
    if (charge(in, cost))
        return 29; /* EIO */
    /* past slice_ms the chunk's check ends it (a WASI call cannot trap) */
    return host_slice_check(in) ? 29 : 0;
}

/* fd 1 and 2 go to the log line by line (info and warn). */
static int wasi_write(void *user, int fd, const uint8_t *p, size_t n)
{
    struct host_instance *in = user;
    int k = fd == 2;
    char *line = in->line[k];
    uint64_t cost = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\n' && in->line_len[k] < PLUGIN_LOG_LINE_MAX) {
            line[in->line_len[k]++] = (char)p[i];
            continue;
        }
        cost += log_line(in, k ? LOG_WARN : LOG_INFO, (uint8_t *)line,
                         in->line_len[k]);
        in->line_len[k] = 0;
        if (p[i] != '\n')
            line[in->line_len[k]++] = (char)p[i];
    }
    return wasi_charge(in, cost);
}

void host_wasi_flush(struct host_instance *in)
{
    for (int k = 0; k < 2; k++)
        if (in->line_len[k]) {
            log_line(in, k ? LOG_WARN : LOG_INFO, (uint8_t *)in->line[k],
                     in->line_len[k]);
            in->line_len[k] = 0;
        }
}

static int wasi_clock(void *user, uint32_t id, uint64_t *ns)
{
    struct host_instance *in = user;
    if (id == 0)
        *ns = in->p->h->now_ms * 1000000ull;
    else if (id == 1)
        *ns = in->p->h->mono_ms * 1000000ull;
    else
        return 28; /* EINVAL */
    return 0;
}

/* Called with the whole request (the engine charged it by the byte):
 * at most PLUGIN_RANDOM_MAX bytes, as the random import. */
static int wasi_random(void *user, uint8_t *p, size_t n)
{
    struct host_instance *in = user;
    if (n > PLUGIN_RANDOM_MAX)
        return 28;
    if (fill_random(p, n))
        return 29;
    return wasi_charge(in, 0);
}

int host_imports_build(struct host_instance *in,
                       struct fastn_wasm_imports **out)
{
    struct fastn_wasm_imports *imps = fastn_wasm_imports_new();
    int err = imps ? 0 : FASTN_ERR_NOMEM;

#define HOST_IMPORT_ADD_(name, params, results, cap, fuel)                     \
    if (!err)                                                                  \
        err = fastn_wasm_imports_add_func(imps, PLUGIN_IMPORT_MODULE, #name,   \
                                          params, results, w_##name, NULL);
    PLUGIN_ABI_IMPORTS(HOST_IMPORT_ADD_)
#undef HOST_IMPORT_ADD_
    in->wasi = (struct fastn_wasm_wasi){.write = wasi_write,
                                        .clock = wasi_clock,
                                        .random = wasi_random,
                                        .user = in};
    if (!err)
        err = fastn_wasm_wasi_add(imps, in->p->mod, &in->wasi);
    if (err) {
        fastn_wasm_imports_free(imps);
        return err;
    }
    *out = imps;
    return 0;
}
