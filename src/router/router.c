/*
 * The protocol table (see router.h): protocol id -> handlers, round robin
 * among them, and the swarm's stream listener that consults it. Also the
 * ring of spliced streams' results.
 *
 * The table is a small array of entries searched linearly: a daemon
 * serves tens of protocols, and the lookup happens once per stream.
 */
#include "router/router_int.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "util/log.h"

static struct entry *find(const struct router *r, const char *protocol)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->entries[i]->protocol, protocol))
            return r->entries[i];
    return NULL;
}

static int check_protocol(const char *p)
{
    size_t n = p ? strlen(p) : 0;
    if (n == 0 || n > ROUTER_PROTOCOL_MAX || memchr(p, '\n', n))
        return FASTN_ERR_INVAL;
    return 0;
}

static struct entry *find_or_add(struct router *r, const char *protocol)
{
    struct entry *e = find(r, protocol);

    if (e)
        return e;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        struct entry **v = realloc(r->entries, cap * sizeof(*v));
        if (!v)
            return NULL;
        r->entries = v;
        r->cap = cap;
    }
    e = calloc(1, sizeof(*e));
    if (!e || !(e->protocol = strdup(protocol))) {
        free(e);
        return NULL;
    }
    r->entries[r->n++] = e;
    return e;
}

/* The set of protocols served changed: peers are told (identify push). */
static void protocols_changed(struct router *r)
{
    if (!r->closing)
        swarm_protocols_changed(r->sw);
}

static void drop_entry_if_empty(struct router *r, struct entry *e)
{
    if (e->n)
        return;
    for (size_t i = 0; i < r->n; i++) {
        if (r->entries[i] != e)
            continue;
        r->entries[i] = r->entries[--r->n];
        free(e->protocol);
        free(e);
        protocols_changed(r);
        return;
    }
}

static void remove_at(struct entry *e, size_t i)
{
    memmove(&e->h[i], &e->h[i + 1], (e->n - i - 1) * sizeof(e->h[0]));
    e->n--;
    if (e->next > i)
        e->next--;
}

int router_add(struct router *r, const char *protocol,
               const struct router_handler_ops *ops, void *arg)
{
    struct entry *e;
    int err = check_protocol(protocol);

    if (err || !ops || !ops->on_stream)
        return FASTN_ERR_INVAL;
    e = find_or_add(r, protocol);
    if (!e)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < e->n; i++)
        if (e->h[i].kind == H_INPROC && e->h[i].ops == ops &&
            e->h[i].arg == arg)
            return FASTN_ERR_EXISTS;
    if (e->n == ROUTER_MAX_HANDLERS)
        return FASTN_ERR_BUSY;
    e->h[e->n++] = (struct handler){.kind = H_INPROC, .ops = ops, .arg = arg};
    if (e->n == 1)
        protocols_changed(r);
    return 0;
}

int router_remove(struct router *r, const char *protocol,
                  const struct router_handler_ops *ops, void *arg)
{
    struct entry *e = protocol ? find(r, protocol) : NULL;

    for (size_t i = 0; e && i < e->n; i++) {
        if (e->h[i].kind == H_INPROC && e->h[i].ops == ops &&
            e->h[i].arg == arg) {
            remove_at(e, i);
            drop_entry_if_empty(r, e);
            return 0;
        }
    }
    return FASTN_ERR_NOT_FOUND;
}

static int check_client_addr(const struct multiaddr *addr)
{
    char path[MULTIADDR_UNIX_MAX + 1];
    struct multiaddr_tcp t;

    if (multiaddr_to_unix(addr, path, sizeof(path)) == 0)
        return 0;
    if (multiaddr_to_tcp(addr, &t) == 0 &&
        (t.host_code == MA_IP4 || t.host_code == MA_IP6))
        return 0;
    return FASTN_ERR_UNSUPPORTED;
}

int router_add_client(struct router *r, const char *protocol,
                      const struct multiaddr *addr, bool balanced)
{
    struct entry *e;
    int err = check_protocol(protocol);

    if (err)
        return err;
    if ((err = check_client_addr(addr)))
        return err;
    e = find(r, protocol);
    for (size_t i = 0; e && i < e->n; i++)
        if (e->h[i].kind == H_CLIENT && multiaddr_equal(&e->h[i].addr, addr))
            return 0;
    if (e && e->n && !balanced)
        return FASTN_ERR_EXISTS;
    if (!e && !(e = find_or_add(r, protocol)))
        return FASTN_ERR_NOMEM;
    if (e->n == ROUTER_MAX_HANDLERS)
        return FASTN_ERR_BUSY;
    e->h[e->n++] = (struct handler){.kind = H_CLIENT, .addr = *addr};
    if (e->n == 1)
        protocols_changed(r);
    return 0;
}

int router_remove_client(struct router *r, const char *protocol,
                         const struct multiaddr *addr)
{
    struct entry *e = protocol ? find(r, protocol) : NULL;

    for (size_t i = 0; e && i < e->n; i++) {
        if (e->h[i].kind == H_CLIENT && multiaddr_equal(&e->h[i].addr, addr)) {
            remove_at(e, i);
            drop_entry_if_empty(r, e);
            return 0;
        }
    }
    return FASTN_ERR_NOT_FOUND;
}

bool router_has(const struct router *r, const char *protocol)
{
    return find(r, protocol) != NULL;
}

size_t router_protocols(const struct router *r, const char **names, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n && n < max; i++)
        names[n++] = r->entries[i]->protocol;
    return n;
}

void router_get_stats(const struct router *r, struct router_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->protocols = (uint32_t)r->n;
    for (size_t i = 0; i < r->n; i++)
        st->handlers += (uint32_t)r->entries[i]->n;
    st->splices = r->n_splices;
    st->routed = r->routed;
    st->dropped = r->dropped;
}

/* --- routing
 * ------------------------------------------------------------------ */

/* Offers s to the protocol's handlers in turn, starting with the next in
 * the rotation; returns true when one took it. */
static bool dispatch(struct router *r, struct swarm_stream *s)
{
    struct entry *e = find(r, swarm_stream_protocol(s));
    size_t tries = e ? e->n : 0;

    for (size_t t = 0; t < tries && e->n; t++) {
        struct handler h = e->h[e->next % e->n];
        e->next = (e->next + 1) % e->n;
        if (h.kind == H_INPROC && h.ops->on_stream(h.arg, s) == 0)
            return true;
        if (h.kind == H_CLIENT && splice_to_handler(r, s, &h.addr) == 0)
            return true;
        e = find(r,
                 swarm_stream_protocol(s)); /* a handler may have changed it */
        if (!e)
            break;
    }
    return false;
}

static bool on_supports(void *arg, const char *protocol)
{
    return router_has(arg, protocol);
}

static void on_stream(void *arg, struct swarm_stream *s)
{
    struct router *r = arg;

    if (r->closing)
        return; /* untaken: the swarm refuses it */
    if (dispatch(r, s))
        r->routed++;
}

static size_t on_list(void *arg, const char **names, size_t max)
{
    return router_protocols(arg, names, max);
}

static const struct swarm_stream_listener listener = {on_supports, on_stream,
                                                      on_list};

static bool client_gone(int err)
{
    return err == UV_ECONNREFUSED || err == UV_ENOENT || err == UV_ENOTSOCK ||
           err == UV_ENOTDIR || err == UV_EACCES;
}

int router__client_failed(struct router *r, const char *protocol,
                          const struct multiaddr *addr, int err,
                          unsigned attempts, struct multiaddr *next)
{
    struct entry *e = find(r, protocol);
    char text[MULTIADDR_STR_MAX];

    multiaddr_format(addr, text, sizeof(text));
    if (e && client_gone(err) && router_remove_client(r, protocol, addr) == 0) {
        r->dropped++;
        log_msg(LOG_INFO, "router", "handler %s for %s is gone (%s): dropped",
                text, protocol, uv_strerror(err));
        e = find(r, protocol);
    } else {
        LOG_RATELIMITED(LOG_WARN, "router", "handler %s for %s: %s", text,
                        protocol, uv_strerror(err));
    }
    if (!e || r->closing)
        return FASTN_ERR_NOT_FOUND;
    /* the next client handler in the rotation, within one round */
    for (size_t t = 0; t < e->n && attempts < ROUTER_MAX_HANDLERS; t++) {
        struct handler *h = &e->h[e->next % e->n];
        e->next = (e->next + 1) % e->n;
        if (h->kind == H_CLIENT && attempts <= e->n) {
            *next = h->addr;
            return 0;
        }
    }
    return FASTN_ERR_NOT_FOUND;
}

/* --- results
 * ------------------------------------------------------------------- */

uint64_t router__result_new(struct router *r)
{
    uint64_t id = ++r->next_result;
    struct result *res = &r->results[id % ROUTER_RESULTS];

    res->id = id;
    res->state = ROUTER_STREAM_OPEN;
    res->code = 0;
    return id;
}

void router__result_set(struct router *r, uint64_t id,
                        enum router_stream_state state, int code)
{
    struct result *res = &r->results[id % ROUTER_RESULTS];

    if (id && res->id == id) {
        res->state = state;
        res->code = code;
    }
}

int router_stream_result(const struct router *r, uint64_t id,
                         enum router_stream_state *state, int *code)
{
    const struct result *res = &r->results[id % ROUTER_RESULTS];

    if (!id || res->id != id)
        return FASTN_ERR_NOT_FOUND;
    *state = res->state;
    *code = res->code;
    return 0;
}

/* --- life cycle
 * ------------------------------------------------------------------ */

int router_new(struct uv_loop_s *loop, struct swarm *sw, struct router **out)
{
    struct router *r = calloc(1, sizeof(*r));

    if (!r)
        return FASTN_ERR_NOMEM;
    r->loop = loop;
    r->sw = sw;
    swarm_set_stream_listener(sw, &listener, r);
    *out = r;
    return 0;
}

void router_close(struct router *r)
{
    if (!r || r->closing)
        return;
    r->closing = true;
    router__fwd_close_all(r);
    splice_abort_all(r);
    while (r->n) {
        struct entry *e = r->entries[--r->n];
        free(e->protocol);
        free(e);
    }
}

void router_free(struct router *r)
{
    if (!r)
        return;
    splice_free_all(r);
    free(r->entries);
    free(r);
}
