/*
 * The protocol table (see router.h): protocol id -> handlers (services,
 * client handlers, the plugin serving it), and the swarm's stream
 * listener, which gathers the facts about each stream (the table, the
 * block list, the plugin's and the peer's facts through their ops),
 * asks the policy (policy.c) and acts on its verdict: the allowed
 * handlers in turn (round robin), the quarantine, or a refusal. Also the
 * ring of spliced streams' results.
 *
 * The table is a small array of entries searched linearly: a daemon
 * serves tens of protocols, and the lookup happens once per stream.
 * Bounds: ROUTER_MAX_PROTOCOLS entries, ROUTER_MAX_HANDLERS handlers
 * each, an entry's handler array as large as it holds (the control
 * server caps what one client and one uid may register).
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

static struct entry *find_or_add(struct router *r, const char *protocol,
                                 int *err)
{
    struct entry *e = find(r, protocol);

    *err = FASTN_ERR_NOMEM;
    if (e)
        return e;
    if (r->n == ROUTER_MAX_PROTOCOLS) {
        *err = FASTN_ERR_BUSY;
        return NULL;
    }
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

static void entry_free(struct entry *e)
{
    free(e->protocol);
    free(e->h);
    free(e);
}

static void drop_entry_if_empty(struct router *r, struct entry *e)
{
    if (e->n)
        return;
    for (size_t i = 0; i < r->n; i++) {
        if (r->entries[i] != e)
            continue;
        r->entries[i] = r->entries[--r->n];
        entry_free(e);
        protocols_changed(r);
        return;
    }
}

/* Appends h to e, growing its array. Errors: FASTN_ERR_BUSY
 * (ROUTER_MAX_HANDLERS), FASTN_ERR_NOMEM. */
static int entry_append(struct entry *e, const struct handler *h)
{
    if (e->n == ROUTER_MAX_HANDLERS)
        return FASTN_ERR_BUSY;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 1;
        struct handler *v = realloc(e->h, cap * sizeof(*v));
        if (!v)
            return FASTN_ERR_NOMEM;
        e->h = v;
        e->cap = cap;
    }
    e->h[e->n++] = *h;
    return 0;
}

static void remove_at(struct entry *e, size_t i)
{
    memmove(&e->h[i], &e->h[i + 1], (e->n - i - 1) * sizeof(e->h[0]));
    e->n--;
    if (e->next > i)
        e->next--;
}

/* The daemon serves e's protocol itself now: a non-admin client's
 * handler must not share its streams (it would receive some of them, the
 * allow-listed peers' included). */
static void drop_unprivileged(struct router *r, struct entry *e)
{
    char text[MULTIADDR_STR_MAX];

    for (size_t i = e->n; i-- > 0;) {
        struct handler *h = &e->h[i];
        if (h->kind != H_CLIENT || router_policy_client_shares(&h->who))
            continue;
        multiaddr_format(&h->addr, text, sizeof(text));
        log_msg(LOG_WARN, "router",
                "handler %s (uid %u) for %s dropped: the daemon serves "
                "that protocol itself now (a plugin or an expose)",
                text, (unsigned)h->who.uid, e->protocol);
        remove_at(e, i);
        r->dropped++;
    }
}

int router_add(struct router *r, const char *protocol,
               const struct router_handler_ops *ops, void *arg)
{
    struct handler h = {.kind = H_INPROC, .ops = ops, .arg = arg};
    struct entry *e;
    int err = check_protocol(protocol);

    if (err || !ops || !ops->on_stream)
        return FASTN_ERR_INVAL;
    e = find_or_add(r, protocol, &err);
    if (!e)
        return err;
    for (size_t i = 0; i < e->n; i++)
        if (e->h[i].kind == H_INPROC && e->h[i].ops == ops &&
            e->h[i].arg == arg)
            return FASTN_ERR_EXISTS;
    if ((err = entry_append(e, &h))) {
        drop_entry_if_empty(r, e);
        return err;
    }
    drop_unprivileged(r, e);
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

/* --- plugins --------------------------------------------------------- */

/* Drops every plugin handler (their protocols' entries when left empty). */
static void unroute_plugins(struct router *r)
{
    for (size_t i = r->n; i-- > 0;) {
        struct entry *e = r->entries[i];
        for (size_t j = e->n; j-- > 0;)
            if (e->h[j].kind == H_PLUGIN)
                remove_at(e, j);
        drop_entry_if_empty(r, e);
    }
}

/* Serves protocol for the plugins: a plugin handler in its entry, the
 * non-admin client handlers there dropped. */
static int route_plugin(struct router *r, const char *protocol)
{
    struct handler h = {.kind = H_PLUGIN};
    struct entry *e;
    int err = check_protocol(protocol);

    if (err)
        return err;
    if (!(e = find_or_add(r, protocol, &err)))
        return err;
    for (size_t i = 0; i < e->n; i++)
        if (e->h[i].kind == H_PLUGIN)
            return 0; /* listed twice */
    if ((err = entry_append(e, &h))) {
        drop_entry_if_empty(r, e);
        return err;
    }
    drop_unprivileged(r, e);
    if (e->n == 1)
        protocols_changed(r);
    return 0;
}

int router_plugins_changed(struct router *r)
{
    const char *small[256], **names = small;
    size_t n;
    int err = 0;

    unroute_plugins(r);
    if (!r->plugins || r->closing)
        return 0;
    n = r->plugins->protocols(r->plugins_arg, small, 256);
    if (n > 256) {
        size_t want = n;
        if (!(names = calloc(want, sizeof(*names))))
            return FASTN_ERR_NOMEM;
        n = r->plugins->protocols(r->plugins_arg, names, want);
        n = n < want ? n : want;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = route_plugin(r, names[i]);
        if (rc) {
            log_msg(LOG_WARN, "router", "cannot serve %s for its plugin: %s",
                    names[i], fastn_strerror(rc));
            err = err ? err : rc;
        }
    }
    if (names != small)
        free(names);
    return err;
}

int router_set_plugins(struct router *r, const struct router_plugin_ops *ops,
                       void *arg)
{
    r->plugins = ops;
    r->plugins_arg = arg;
    return router_plugins_changed(r);
}

void router_set_peers(struct router *r, const struct router_peer_ops *ops,
                      void *arg)
{
    r->peers = ops;
    r->peers_arg = arg;
}

void router_set_quarantine(struct router *r,
                           const struct router_quarantine_ops *ops, void *arg)
{
    r->quarantine = ops;
    r->quarantine_arg = arg;
}

void router_set_unknown_policy(struct router *r, enum router_unknown u)
{
    r->unknown = u;
}

/* --- client handlers ------------------------------------------------- */

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
                      const struct multiaddr *addr, bool balanced,
                      const struct router_client *who)
{
    struct handler h = {.kind = H_CLIENT, .addr = *addr, .who = *who};
    struct entry *e;
    int err = check_protocol(protocol);

    if (err)
        return err;
    if ((err = check_client_addr(addr)))
        return err;
    e = find(r, protocol);
    for (size_t i = 0; e && i < e->n; i++) {
        if (e->h[i].kind == H_CLIENT && multiaddr_equal(&e->h[i].addr, addr)) {
            e->h[i].who = *who; /* registered again: the latest one's */
            return 0;
        }
    }
    if (e && e->n && !balanced)
        return FASTN_ERR_EXISTS;
    if (!e && !(e = find_or_add(r, protocol, &err)))
        return err;
    if ((err = entry_append(e, &h))) {
        drop_entry_if_empty(r, e);
        return err;
    }
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

static bool is_unix(const struct multiaddr *addr)
{
    char path[MULTIADDR_UNIX_MAX + 1];
    return multiaddr_to_unix(addr, path, sizeof(path)) == 0;
}

enum router_rule router_client_may_add(const struct router *r,
                                       const char *protocol,
                                       const struct multiaddr *addr,
                                       const struct router_client *who)
{
    enum router_served served =
        protocol ? router_served_by(r, protocol, who->uid) : ROUTER_SERVED_NONE;
    return router_policy_may_add_client(who, is_unix(addr), served);
}

enum router_rule router_client_may_remove(const struct router *r,
                                          const char *protocol,
                                          const struct multiaddr *addr,
                                          const struct router_client *who,
                                          uid_t *owner)
{
    uid_t uid;

    if (router_client_uid(r, protocol, addr, &uid) != 0)
        return ROUTER_RULE_OK;
    if (owner)
        *owner = uid;
    return router_policy_may_remove_client(who, uid);
}

bool router_has(const struct router *r, const char *protocol)
{
    return find(r, protocol) != NULL;
}

enum router_served router_served_by(const struct router *r,
                                    const char *protocol, uid_t uid)
{
    const struct entry *e = find(r, protocol);
    enum router_served v = ROUTER_SERVED_NONE;

    for (size_t i = 0; e && i < e->n; i++) {
        if (e->h[i].kind != H_CLIENT)
            return ROUTER_SERVED_DAEMON;
        if (e->h[i].who.uid != uid)
            v = ROUTER_SERVED_OTHER;
    }
    return v;
}

int router_client_uid(const struct router *r, const char *protocol,
                      const struct multiaddr *addr, uid_t *uid)
{
    const struct entry *e = find(r, protocol);

    for (size_t i = 0; e && i < e->n; i++) {
        if (e->h[i].kind == H_CLIENT && multiaddr_equal(&e->h[i].addr, addr)) {
            *uid = e->h[i].who.uid;
            return 0;
        }
    }
    return FASTN_ERR_NOT_FOUND;
}

void router_client_count(const struct router *r, uid_t uid, uint64_t tag,
                         size_t *by_uid, size_t *by_tag)
{
    *by_uid = *by_tag = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct entry *e = r->entries[i];
        for (size_t j = 0; j < e->n; j++) {
            if (e->h[j].kind != H_CLIENT)
                continue;
            *by_uid += e->h[j].who.uid == uid;
            *by_tag += tag && e->h[j].who.tag == tag;
        }
    }
}

size_t router_client_tags(const struct router *r, uid_t uid, uint64_t *tags,
                          size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < r->n; i++) {
        const struct entry *e = r->entries[i];
        for (size_t j = 0; j < e->n; j++) {
            if (e->h[j].kind != H_CLIENT || e->h[j].who.uid != uid)
                continue;
            if (n < max)
                tags[n] = e->h[j].who.tag;
            n++;
        }
    }
    return n;
}

size_t router_drop_clients(struct router *r, uint64_t tag)
{
    size_t n = 0;

    for (size_t i = r->n; tag && i-- > 0;) {
        struct entry *e = r->entries[i];
        for (size_t j = e->n; j-- > 0;) {
            if (e->h[j].kind == H_CLIENT && e->h[j].who.tag == tag) {
                remove_at(e, j);
                n++;
            }
        }
        drop_entry_if_empty(r, e);
    }
    return n;
}

void router_set_max_splices(struct router *r, uint32_t max)
{
    r->max_splices = max;
}

bool router_splices_full(const struct router *r)
{
    return r->max_splices && r->n_splices + r->n_fwd_pending >= r->max_splices;
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
    st->refused = r->refused;
    st->routed = r->routed;
    st->dropped = r->dropped;
    st->blocked_now = (uint32_t)r->block.n;
    st->blocked = r->blocked;
    st->denied = r->denied;
    st->quarantined = r->quarantined;
}

/* --- routing
 * ------------------------------------------------------------------ */

static unsigned kind_bit(enum handler_kind k)
{
    return k == H_CLIENT   ? ROUTER_TO_CLIENT
           : k == H_PLUGIN ? ROUTER_TO_PLUGIN
                           : ROUTER_TO_SERVICE;
}

/* The facts the policy needs about a stream from peer for protocol;
 * whether peer is known is asked only when the decision reads it, and
 * only when want_known (not at negotiation, where it never matters). */
static void gather(struct router *r, const struct peer_id *peer,
                   const char *protocol, bool want_known,
                   struct router_policy_in *in)
{
    const struct entry *e = find(r, protocol);

    memset(in, 0, sizeof(*in));
    in->peer = peer;
    in->protocol = protocol;
    in->blocked = router_is_blocked(r, peer);
    in->unknown = r->unknown;
    in->quarantine = r->quarantine != NULL &&
                     (!r->quarantine->wants ||
                      r->quarantine->wants(r->quarantine_arg, protocol));
    for (size_t i = 0; e && i < e->n; i++)
        in->handlers |= kind_bit(e->h[i].kind);
    if ((in->handlers & ROUTER_TO_PLUGIN) &&
        (!r->plugins ||
         r->plugins->lookup(r->plugins_arg, protocol, &in->plugin) != 0))
        in->handlers &= ~ROUTER_TO_PLUGIN; /* not a plugin's any more */
    if (want_known && router_policy_needs_known(in))
        in->known = r->peers && r->peers->is_known(r->peers_arg, peer);
}

void router_decide(struct router *r, const struct peer_id *peer,
                   const char *protocol, struct router_verdict *out)
{
    struct router_policy_in in;

    gather(r, peer, protocol, true, &in);
    router_policy_decide(&in, out);
}

static int take(struct router *r, struct swarm_stream *s,
                const struct handler *h)
{
    switch (h->kind) {
    case H_INPROC:
        return h->ops->on_stream(h->arg, s);
    case H_CLIENT:
        return splice_to_handler(r, s, h);
    case H_PLUGIN:
        return r->plugins ? r->plugins->take(r->plugins_arg, s)
                          : FASTN_ERR_NOT_FOUND;
    }
    return FASTN_ERR_INVAL;
}

/* Offers s to the protocol's handlers of the kinds in `to`, in turn,
 * starting with the next in the rotation; true when one took it. */
static bool deliver(struct router *r, struct swarm_stream *s, unsigned to)
{
    struct entry *e = find(r, swarm_stream_protocol(s));
    size_t tries = e ? e->n : 0;

    for (size_t t = 0; t < tries && e->n; t++) {
        struct handler h = e->h[e->next % e->n];
        e->next = (e->next + 1) % e->n;
        if (!(kind_bit(h.kind) & to))
            continue;
        if (take(r, s, &h) == 0)
            return true;
        /* a handler may have changed the table */
        if (!(e = find(r, swarm_stream_protocol(s))))
            break;
    }
    return false;
}

/* One line for a stream the policy refused (rate-limited: a peer can
 * cause them), saying what the user can do. */
static void log_refusal(const struct router_verdict *v)
{
    char peer[PEER_ID_STR_MAX];
    const char *what;

    switch (v->why) {
    case ROUTER_WHY_STRANGER:
        what = "not a known peer (connect to it first)";
        break;
    case ROUTER_WHY_SERVES_NOBODY:
        what = "served to nobody (fastn plugin restrict)";
        break;
    case ROUTER_WHY_BLOCKED:
        what = "the peer is blocked";
        break;
    default:
        what = "nothing serves it";
        break;
    }
    LOG_RATELIMITED(LOG_INFO, "router", "stream from %s for %s refused: %s",
                    peer_id_format(v->peer, peer), v->protocol, what);
}

/* multistream-select asks: agree to protocol for this peer? */
static bool on_supports(void *arg, const struct peer_id *peer,
                        const char *protocol)
{
    struct router *r = arg;
    struct router_policy_in in;
    struct router_verdict v;

    if (r->closing)
        return false;
    gather(r, peer, protocol, false, &in);
    if (router_policy_negotiates(&in))
        return true;
    if (in.blocked) {
        r->blocked++;
        router_policy_decide(&in, &v);
        log_refusal(&v);
    }
    return false;
}

static void on_stream(void *arg, struct swarm_stream *s)
{
    struct router *r = arg;
    struct router_verdict v;

    if (r->closing)
        return; /* untaken: the swarm refuses it */
    router_decide(r, swarm_stream_peer(s), swarm_stream_protocol(s), &v);
    if (v.action == ROUTER_DELIVER) {
        if (deliver(r, s, v.to))
            r->routed++;
        return;
    }
    if (v.action == ROUTER_QUARANTINE && r->quarantine &&
        r->quarantine->keep(r->quarantine_arg, s, &v) == 0) {
        r->quarantined++;
        return;
    }
    r->denied++;
    log_refusal(&v); /* untaken: the swarm resets it */
}

static size_t on_list(void *arg, const char **names, size_t max)
{
    return router_protocols(arg, names, max);
}

static const struct swarm_stream_listener listener = {on_supports, on_stream,
                                                      on_list};

/* UV_EPERM: the socket there belongs to someone else now (splice.c). */
static bool client_gone(int err)
{
    return err == UV_ECONNREFUSED || err == UV_ENOENT || err == UV_ENOTSOCK ||
           err == UV_ENOTDIR || err == UV_EACCES || err == UV_EPERM;
}

int router__client_failed(struct router *r, const char *protocol,
                          const struct multiaddr *addr, int err,
                          unsigned attempts, struct handler *next)
{
    struct entry *e = find(r, protocol);
    char text[MULTIADDR_STR_MAX];

    multiaddr_format(addr, text, sizeof(text));
    if (e && client_gone(err) && router_remove_client(r, protocol, addr) == 0) {
        r->dropped++;
        if (err == UV_EPERM)
            log_msg(LOG_WARN, "router",
                    "handler %s for %s dropped: the socket there does not "
                    "belong to the user who registered it",
                    text, protocol);
        else
            log_msg(LOG_INFO, "router",
                    "handler %s for %s is gone (%s): dropped", text, protocol,
                    uv_strerror(err));
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
            *next = *h;
            return 0;
        }
    }
    return FASTN_ERR_NOT_FOUND;
}

/* --- results
 * ------------------------------------------------------------------- */

uint64_t router__result_new(struct router *r, uid_t uid)
{
    uint64_t id = ++r->next_result;
    struct result *res = &r->results[id % ROUTER_RESULTS];

    res->id = id;
    res->state = ROUTER_STREAM_OPEN;
    res->code = 0;
    res->uid = uid;
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
                         enum router_stream_state *state, int *code, uid_t *uid)
{
    const struct result *res = &r->results[id % ROUTER_RESULTS];

    if (!id || res->id != id)
        return FASTN_ERR_NOT_FOUND;
    *state = res->state;
    *code = res->code;
    if (uid)
        *uid = res->uid;
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
    r->unknown = ROUTER_UNKNOWN_ASK;
    swarm_set_stream_listener(sw, &listener, r);
    *out = r;
    return 0;
}

static void flush_idle_cb(uv_idle_t *h)
{
    struct router *r = h->data;

    router__flush_all(r);
    if (!r->flushes)
        uv_idle_stop(h);
}

static void flush_idle_closed(uv_handle_t *h)
{
    free(h);
}

void router__flush_start(struct router *r)
{
    if (!r->flush_idle) {
        if (r->closing || !(r->flush_idle = malloc(sizeof(*r->flush_idle)))) {
            router__flush_all(r); /* now, then */
            return;
        }
        uv_idle_init(r->loop, r->flush_idle);
        r->flush_idle->data = r;
    }
    uv_idle_start(r->flush_idle, flush_idle_cb);
}

void router_close(struct router *r)
{
    if (!r || r->closing)
        return;
    r->closing = true;
    router__fwd_close_all(r);
    splice_abort_all(r);
    if (r->flush_idle) {
        uv_close((uv_handle_t *)r->flush_idle, flush_idle_closed);
        r->flush_idle = NULL;
    }
    while (r->n)
        entry_free(r->entries[--r->n]);
}

void router_free(struct router *r)
{
    if (!r)
        return;
    splice_free_all(r);
    router__block_free(&r->block);
    free(r->entries);
    free(r);
}
