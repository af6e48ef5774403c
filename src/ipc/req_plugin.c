/*
 * The fastn extension's plugin requests (fastn.proto, PLUGIN_*): install,
 * list, info, remove, enable, disable, restrict (admins only where they
 * change something, as ext.c's table says), and calls to a plugin's
 * on_call (admins only: a plugin's data is the owner's), which are answered
 * when the plugin replies (a deferred answer, see defer.c) or after the host's
 * 30 s timeout.
 *
 * Install takes the plugin's bytes in the request (up to the request
 * limit, 1 MiB), or the path of a file the daemon reads itself (for
 * larger plugins; the daemon must be able to read it). Either way its
 * signature is checked first (req_trust.c: the .minisig the client sent
 * must verify with a trusted key, or the client allowed an unsigned
 * plugin), then the plugin host checks the file before anything is
 * written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastn/err.h"
#include "util/file.h"
#include "ipc/ipc_int.h"
#include "plugin/plugin.h"
#include "util/log.h"

static int need_plugins(struct ipc_call *call)
{
    if (call->host->plugins)
        return 0;
    ipc_reply_set_msg(&call->reply, "this fastnd runs no plugins");
    return FASTN_ERR_UNSUPPORTED;
}

static int need_name(struct ipc_call *call, const Fastn__Request *req)
{
    if (req->plugin && req->plugin->name && req->plugin->name[0])
        return 0;
    ipc_reply_set_msg(&call->reply, "the request names no plugin");
    return FASTN_ERR_INVAL;
}

/* --- plugin_info -> protobuf ------------------------------------------- */

static char **strings(struct ipc_reply *r, size_t n)
{
    return ipc_reply_alloc(r, (n ? n : 1) * sizeof(char *));
}

static int fill_manifest(struct ipc_reply *r, const struct plugin_manifest *m,
                         Fastn__PluginInfo *o)
{
    Fastn__PluginLimits *l = ipc_reply_alloc(r, sizeof(*l));
    size_t nc = 0;

    o->protocols = strings(r, m->n_protocols);
    o->capabilities = strings(r, 32);
    o->apps = strings(r, m->n_apps);
    if (!l || !o->protocols || !o->capabilities || !o->apps)
        return FASTN_ERR_NOMEM;
    o->version = (char *)m->version;
    o->description = (char *)m->description;
    for (size_t i = 0; i < m->n_protocols; i++)
        o->protocols[i] = (char *)m->protocols[i];
    o->n_protocols = m->n_protocols;
    for (unsigned bit = 1; bit & PLUGIN_CAPS_ALL; bit <<= 1)
        if (m->caps & bit)
            o->capabilities[nc++] = (char *)plugin_cap_name(bit);
    o->n_capabilities = nc;
    for (size_t i = 0; i < m->n_apps; i++)
        o->apps[i] = (char *)m->apps[i];
    o->n_apps = m->n_apps;
    o->has_storage_quota = true;
    o->storage_quota = m->storage_quota;
    o->asked_serves = (char *)plugin_serves_name(m->serves);
    fastn__plugin_limits__init(l);
    l->has_fuel_per_event = l->has_memory_pages = l->has_streams = true;
    l->has_timers = l->has_statements = true;
    l->fuel_per_event = m->limits.fuel_per_event;
    l->memory_pages = m->limits.memory_pages;
    l->streams = m->limits.streams;
    l->timers = m->limits.timers;
    l->statements = m->limits.statements;
    o->limits = l;
    return 0;
}

/* The protocols the user narrowed on their own, with whom each serves. */
static int fill_protocol_serves(struct ipc_reply *r,
                                const struct plugin_info *in,
                                Fastn__PluginInfo *o)
{
    const struct plugin_manifest *m = &in->manifest;
    size_t n = 0;

    o->protocol_serves = ipc_reply_alloc(
        r, (m->n_protocols ? m->n_protocols : 1) * sizeof(void *));
    if (!o->protocol_serves)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < m->n_protocols; i++) {
        if (in->protocol_narrowed[i] < 0)
            continue;
        Fastn__ProtocolServes *ps = ipc_reply_alloc(r, sizeof(*ps));
        if (!ps)
            return FASTN_ERR_NOMEM;
        fastn__protocol_serves__init(ps);
        ps->protocol = (char *)m->protocols[i];
        ps->serves = (char *)plugin_serves_name(in->protocol_serves[i]);
        o->protocol_serves[n++] = ps;
    }
    o->n_protocol_serves = n;
    return 0;
}

/* Whom it serves now and what the user withholds. */
static int fill_narrowing(struct ipc_reply *r, const struct plugin_info *in,
                          Fastn__PluginInfo *o)
{
    size_t n = 0;

    o->serves = (char *)plugin_serves_name(in->serves);
    if (!(o->withheld = strings(r, 32)))
        return FASTN_ERR_NOMEM;
    for (unsigned bit = 1; bit & PLUGIN_CAPS_ALL; bit <<= 1)
        if (in->withheld & bit)
            o->withheld[n++] = (char *)plugin_cap_name(bit);
    o->n_withheld = n;
    return fill_protocol_serves(r, in, o);
}

/* Its loopback ports and addresses (local-listen, local-connect). */
static int fill_local(struct ipc_reply *r, struct plugin_info *in,
                      Fastn__PluginInfo *o)
{
    const struct plugin_manifest *m = &in->manifest;
    size_t nl = m->n_listen, nc = m->n_connect;

    o->local_listen = ipc_reply_alloc(r, (nl ? nl : 1) * sizeof(void *));
    o->local_connect = ipc_reply_alloc(r, (nc ? nc : 1) * sizeof(void *));
    if (!o->local_listen || !o->local_connect)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < nl; i++) {
        Fastn__PluginLocalPort *lp = ipc_reply_alloc(r, sizeof(*lp));
        if (!lp)
            return FASTN_ERR_NOMEM;
        fastn__plugin_local_port__init(lp);
        lp->name = (char *)m->listen[i].name;
        lp->asked = m->listen[i].port;
        lp->port = in->listen_port[i];
        lp->bound = in->listen_bound[i];
        o->local_listen[i] = lp;
    }
    o->n_local_listen = nl;
    for (size_t i = 0; i < nc; i++) {
        Fastn__PluginLocalAddr *la = ipc_reply_alloc(r, sizeof(*la));
        char *a = ipc_reply_alloc(r, PLUGIN_ADDR_MAX + 1),
             *t = ipc_reply_alloc(r, PLUGIN_ADDR_MAX + 1);
        if (!la || !a || !t)
            return FASTN_ERR_NOMEM;
        fastn__plugin_local_addr__init(la);
        la->address = plugin_addr_format(&m->connect[i], a);
        la->target = plugin_addr_format(&in->connect_to[i], t);
        o->local_connect[i] = la;
    }
    o->n_local_connect = nc;
    return 0;
}

/* What the plugin uses of its budgets. */
static Fastn__PluginUsage *usage_to_pb(struct ipc_reply *r,
                                       const struct plugin_info *in)
{
    Fastn__PluginUsage *u = ipc_reply_alloc(r, sizeof(*u));

    if (!u)
        return NULL;
    fastn__plugin_usage__init(u);
#define SET_(f, v)                                                             \
    do {                                                                       \
        u->has_##f = true;                                                     \
        u->f = (v);                                                            \
    } while (0)
    SET_(memory_linear, in->memory.linear);
    SET_(memory_tables, in->memory.engine);
    SET_(memory_host, in->memory.host);
    SET_(memory_sqlite, in->memory.sqlite);
    SET_(memory_budget, in->memory.budget);
    SET_(cpu_ns, in->cpu_ns);
    SET_(cpu_fuel, in->cpu_fuel);
    SET_(cpu_budget_ns, in->cpu_budget_ns);
    SET_(cpu_window_ms, in->cpu_window_ms);
    SET_(deferred, in->deferred);
    SET_(deferrals, in->deferrals);
    SET_(longest_slice_us, in->longest_slice_ns / 1000);
    SET_(db_wal_bytes, in->db_wal_bytes);
    SET_(db_disk_bytes, in->db_disk_bytes);
    SET_(db_heap_peak, in->db_heap_peak);
    SET_(db_heap_limit, in->db_heap_limit);
#undef SET_
    return u;
}

static Fastn__PluginInfo *info_to_pb(struct ipc_reply *r,
                                     const struct plugin_info *in)
{
    Fastn__PluginInfo *o = ipc_reply_alloc(r, sizeof(*o));
    struct plugin_info *keep = ipc_reply_alloc(r, sizeof(*keep));

    if (!o || !keep)
        return NULL;
    *keep = *in; /* the strings below point into it */
    fastn__plugin_info__init(o);
    o->name = keep->manifest.name;
    o->state = (char *)plugin_state_name(keep->state);
    o->has_enabled = true;
    o->enabled = keep->enabled;
    if (keep->manifest.version[0] &&
        (fill_manifest(r, &keep->manifest, o) != 0 ||
         fill_narrowing(r, keep, o) != 0 || fill_local(r, keep, o) != 0))
        return NULL;
#define SET_(f, v)                                                             \
    do {                                                                       \
        o->has_##f = true;                                                     \
        o->f = (v);                                                            \
    } while (0)
    SET_(restarts, keep->restarts);
    SET_(last_error, keep->last_error);
    SET_(last_error_ms, keep->last_error_ms);
    SET_(restart_in_ms, keep->restart_in_ms);
    SET_(file_bytes, keep->file_bytes);
    SET_(memory_pages, keep->memory_pages);
    SET_(db_bytes, keep->db_bytes);
    SET_(open_streams, keep->open_streams);
    SET_(pending_calls, keep->pending_calls);
    SET_(armed_timers, keep->armed_timers);
    SET_(events, keep->events);
    SET_(fuel_used, keep->fuel_used);
#undef SET_
    o->last_error_text = keep->last_error_text;
    if (!(o->usage = usage_to_pb(r, keep)))
        return NULL;
    return o;
}

static int reply_infos(struct ipc_call *call, Fastn__Response *ext,
                       const struct plugin_info *v, size_t n)
{
    ext->plugins = ipc_reply_alloc(&call->reply, (n ? n : 1) * sizeof(void *));
    if (!ext->plugins)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (!(ext->plugins[i] = info_to_pb(&call->reply, &v[i])))
            return FASTN_ERR_NOMEM;
    ext->n_plugins = n;
    ipc_registry_fill_signatures(call, ext->plugins, n);
    return 0;
}

static int reply_one(struct ipc_call *call, Fastn__Response *ext,
                     const char *name)
{
    struct plugin_info info;
    int err = plugin_host_info(call->host->plugins, name, &info);

    if (err) {
        ipc_reply_set_msg(&call->reply, "no plugin named %.64s is installed",
                          name);
        return err;
    }
    return reply_infos(call, ext, &info, 1);
}

/* --- requests ------------------------------------------------------------ */

/* Reads a file the daemon can reach (install by path). */
static int read_plugin_file(struct ipc_call *call, const char *path,
                            uint8_t **out, size_t *len)
{
    int rc;

    if (path[0] != '/') {
        ipc_reply_set_msg(&call->reply,
                          "fastnd cannot read %.150s: not an absolute path",
                          path);
        return FASTN_ERR_IO;
    }
    /* only a regular file, not through a link, opened without blocking
     * (a FIFO there would hold the daemon in open) */
    rc = file_read_nofollow(path, PLUGIN_FILE_MAX, out, len);
    if (rc == FASTN_ERR_NOT_FOUND || rc == FASTN_ERR_IO)
        ipc_reply_set_msg(&call->reply, "fastnd cannot read %.150s: %s", path,
                          strerror(errno));
    else if (rc == FASTN_ERR_INVAL)
        ipc_reply_set_msg(&call->reply,
                          "%.150s is not a plugin file: not a regular file",
                          path);
    else if (rc == FASTN_ERR_PERM)
        ipc_reply_set_msg(&call->reply,
                          "%.150s is a symbolic link; give the path of the "
                          "file itself",
                          path);
    else if (rc == FASTN_ERR_TOO_LARGE)
        ipc_reply_set_msg(&call->reply,
                          "%.150s is not a plugin file: larger than %u bytes",
                          path, PLUGIN_FILE_MAX);
    return rc == FASTN_ERR_NOT_FOUND                           ? FASTN_ERR_IO
           : rc == FASTN_ERR_TOO_LARGE || rc == FASTN_ERR_PERM ? FASTN_ERR_INVAL
                                                               : rc;
}

int ipc_plugin_install(struct ipc_call *call, const Fastn__Request *req,
                       Fastn__Response *ext)
{
    const Fastn__PluginRequest *pr = req->plugin;
    char name[PLUGIN_NAME_MAX + 1], why[256] = "";
    uint8_t *file = NULL;
    size_t len = 0;
    int err;

    if ((err = need_plugins(call)))
        return err;
    if (pr && pr->has_wasm) {
        file = pr->wasm.data;
        len = pr->wasm.len;
    } else if (pr && pr->path) {
        if ((err = read_plugin_file(call, pr->path, &file, &len)))
            return err;
    } else {
        ipc_reply_set_msg(&call->reply, "install needs the plugin's bytes "
                                        "or a path");
        return FASTN_ERR_INVAL;
    }
    err = ipc_registry_check_install(call, pr, file, len);
    if (!err) {
        err = plugin_host_install(call->host->plugins, file, len,
                                  pr->has_replace && pr->replace, name, why,
                                  sizeof(why));
        if (err)
            ipc_reply_set_msg(&call->reply, "%s", why);
    }
    if (file != pr->wasm.data)
        free(file);
    if (err)
        return err;
    ipc_registry_record_install(call, name, pr);
    return reply_one(call, ext, name);
}

int ipc_plugin_list(struct ipc_call *call, const Fastn__Request *req,
                    Fastn__Response *ext)
{
    struct plugin_info *v = NULL;
    size_t n = 0;
    int err;

    (void)req;
    if ((err = need_plugins(call)) ||
        (err = plugin_host_list(call->host->plugins, &v, &n)))
        return err;
    err = reply_infos(call, ext, v, n);
    free(v);
    return err;
}

int ipc_plugin_info(struct ipc_call *call, const Fastn__Request *req,
                    Fastn__Response *ext)
{
    int err;
    if ((err = need_plugins(call)) || (err = need_name(call, req)))
        return err;
    return reply_one(call, ext, req->plugin->name);
}

int ipc_plugin_remove(struct ipc_call *call, const Fastn__Request *req,
                      Fastn__Response *ext)
{
    const Fastn__PluginRequest *pr = req->plugin;
    int err;

    (void)ext;
    if ((err = need_plugins(call)) || (err = need_name(call, req)))
        return err;
    err = plugin_host_remove(call->host->plugins, pr->name,
                             pr->has_keep_data && pr->keep_data);
    if (!err)
        ipc_registry_record_remove(call, pr->name);
    if (err == FASTN_ERR_NOT_FOUND)
        ipc_reply_set_msg(&call->reply, "no plugin named %.64s is installed",
                          pr->name);
    return err;
}

static int enable(struct ipc_call *call, const Fastn__Request *req,
                  Fastn__Response *ext, bool on)
{
    int err;

    if ((err = need_plugins(call)) || (err = need_name(call, req)))
        return err;
    err = plugin_host_enable(call->host->plugins, req->plugin->name, on);
    if (err == FASTN_ERR_NOT_FOUND)
        ipc_reply_set_msg(&call->reply, "no plugin named %.64s is installed",
                          req->plugin->name);
    return err ? err : reply_one(call, ext, req->plugin->name);
}

int ipc_plugin_enable(struct ipc_call *call, const Fastn__Request *req,
                      Fastn__Response *ext)
{
    return enable(call, req, ext, true);
}

int ipc_plugin_disable(struct ipc_call *call, const Fastn__Request *req,
                       Fastn__Response *ext)
{
    return enable(call, req, ext, false);
}

/* Capability names to bits; the unknown one named in the reply. */
static int cap_bits(struct ipc_call *call, char **names, size_t n,
                    unsigned *out)
{
    *out = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned bit = plugin_cap_from_name(names[i]);
        if (!bit) {
            ipc_reply_set_msg(&call->reply,
                              "unknown capability \"%.32s\" (streams, "
                              "storage, notify, timers)",
                              names[i] ? names[i] : "");
            return FASTN_ERR_INVAL;
        }
        *out |= bit;
    }
    return 0;
}

int ipc_plugin_restrict(struct ipc_call *call, const Fastn__Request *req,
                        Fastn__Response *ext)
{
    const Fastn__PluginRequest *pr = req->plugin;
    unsigned withhold = 0, grant = 0;
    char why[320] = "";
    int serves = -1, err;

    if ((err = need_plugins(call)) || (err = need_name(call, req)) ||
        (err = cap_bits(call, pr->withhold, pr->n_withhold, &withhold)) ||
        (err = cap_bits(call, pr->grant, pr->n_grant, &grant)))
        return err;
    if (pr->serves && (serves = plugin_serves_from_name(pr->serves)) < 0) {
        ipc_reply_set_msg(&call->reply,
                          "serves must be anyone, known-peers or nobody, "
                          "not \"%.32s\"",
                          pr->serves);
        return FASTN_ERR_INVAL;
    }
    if (pr->protocol && (serves < 0 || withhold || grant)) {
        ipc_reply_set_msg(&call->reply,
                          "narrowing one protocol takes serves and neither "
                          "withhold nor grant (those are plugin-wide)");
        return FASTN_ERR_INVAL;
    }
    if (pr->protocol)
        err = plugin_host_restrict_protocol(call->host->plugins, pr->name,
                                            pr->protocol, serves, why,
                                            sizeof(why));
    else
        err = plugin_host_restrict(call->host->plugins, pr->name, serves,
                                   withhold, grant, why, sizeof(why));
    if (err) {
        ipc_reply_set_msg(&call->reply, "%s", why);
        return err;
    }
    return reply_one(call, ext, pr->name);
}

/* A plugin call waiting for its plugin: found by the ticket the plugin
 * host was given, holding the deferred control request. */
struct ipc_plugin_call {
    uint64_t ticket;
    char name[PLUGIN_NAME_MAX + 1]; /* the plugin's */
    struct ipc_call *call;
    struct ipc_host *host;
    struct ipc_plugin_call *next, **pprev;
};

static void unlink_call(struct ipc_plugin_call *pc)
{
    *pc->pprev = pc->next;
    if (pc->next)
        pc->next->pprev = pc->pprev;
}

/* The client went away first: its answer, when it comes, is dropped. */
static void cancel_call(struct ipc_call *dc)
{
    struct ipc_plugin_call *pc = dc->data;
    /* the client left: the plugin forgets the call (it would otherwise
     * count towards its 64 until its 30 s ran out) */
    if (pc->host->plugins)
        plugin_host_call_cancel(pc->host->plugins, pc->name, pc->ticket);
    unlink_call(pc);
    free(pc);
}

static void call_refused(struct ipc_call *call, const char *name, int err)
{
    if (err == FASTN_ERR_NOT_FOUND)
        ipc_reply_set_msg(&call->reply, "no plugin named %.64s is installed",
                          name);
    else if (err == FASTN_ERR_BUSY)
        ipc_reply_set_msg(&call->reply,
                          "plugin %.64s has too much waiting: %d calls, "
                          "%u MiB of them, or its memory at its budget "
                          "(see `fastn plugin info %.64s`); try again "
                          "once it has answered some",
                          name, PLUGIN_PENDING_CALLS_MAX,
                          PLUGIN_QUEUED_BYTES_MAX >> 20, name);
    else if (err == FASTN_ERR_PLUGIN_CRASHED)
        ipc_reply_set_msg(&call->reply,
                          "plugin %.64s is not running (it stopped with an "
                          "error; see `fastn plugin info %.64s`)",
                          name, name);
}

int ipc_plugin_call(struct ipc_call *call, const Fastn__Request *req,
                    Fastn__Response *ext)
{
    const Fastn__PluginRequest *pr = req->plugin;
    const char *method = pr ? pr->method : NULL;
    struct ipc_host *h = call->host;
    struct ipc_plugin_call *pc;
    int err;

    (void)ext;
    if ((err = need_plugins(call)) || (err = need_name(call, req)))
        return err;
    if (!method || !method[0]) {
        ipc_reply_set_msg(&call->reply, "the call names no method");
        return FASTN_ERR_INVAL;
    }
    if (!(pc = calloc(1, sizeof(*pc))))
        return FASTN_ERR_NOMEM;
    pc->ticket = ++h->next_plugin_call;
    pc->host = h;
    snprintf(pc->name, sizeof(pc->name), "%s", pr->name);
    err = plugin_host_call(h->plugins, pr->name, method, strlen(method),
                           pr->has_arg ? pr->arg.data : NULL,
                           pr->has_arg ? pr->arg.len : 0, pc->ticket);
    /* ordered: answers stay in request order on this connection */
    if (!err && !(pc->call = ipc_call_defer(call, true, cancel_call, pc, &err)))
        err = err ? err : FASTN_ERR_NOMEM; /* its answer will be dropped */
    if (err) {
        free(pc);
        call_refused(call, pr->name, err);
        return err;
    }
    pc->next = h->plugin_calls;
    pc->pprev = &h->plugin_calls;
    if (h->plugin_calls)
        h->plugin_calls->pprev = &pc->next;
    h->plugin_calls = pc;
    return IPC_DEFERRED;
}

void ipc_plugin_call_done(struct ipc_host *host, uint64_t ticket, int status,
                          const uint8_t *p, size_t n)
{
    struct iovec v = {.iov_base = (void *)p, .iov_len = n};
    ipc_plugin_call_done_v(host, ticket, status, &v, 1);
}

void ipc_plugin_call_done_v(struct ipc_host *host, uint64_t ticket, int status,
                            const struct iovec *v, size_t n)
{
    struct ipc_plugin_call *pc = host->plugin_calls;
    struct ipc_call *dc;
    Fastn__Response *ext;
    size_t total = 0, k = 0;

    while (pc && pc->ticket != ticket)
        pc = pc->next;
    if (!pc) {
        log_msg(LOG_DEBUG, "ipc",
                "plugin call %llu answered after its "
                "client left",
                (unsigned long long)ticket);
        return;
    }
    dc = pc->call;
    unlink_call(pc);
    free(pc);
    for (size_t i = 0; i < n; i++)
        total += v[i].iov_len;
    if (status == 0) {
        ext = ipc_reply_ext(&dc->reply);
        ext->has_call_result = true;
        ext->call_result.len = total;
        if (n == 1) {
            ext->call_result.data = v[0].iov_base;
        } else {
            ext->call_result.data = NULL;
            dc->reply.result_v = v;
            dc->reply.result_n = n;
        }
        ipc_call_finish(dc, 0);
        return;
    }
    /* the plugin's message, as text a person can read */
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = v[i].iov_base;
        for (size_t j = 0; j < v[i].iov_len && k < sizeof(dc->reply.msg) - 1;
             j++)
            dc->reply.msg[k++] = p[j] < 0x20 || p[j] == 0x7f ? '?' : (char)p[j];
    }
    dc->reply.msg[k] = '\0';
    ipc_call_finish(dc, status < 0 ? status : FASTN_ERR_REMOTE);
}
