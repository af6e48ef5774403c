/*
 * libfastn's plugin requests (include/fastn/client.h, "Plugins"): install,
 * list, info, remove, enable/disable, restrict and calls, turned from protobuf
 * into plain C structs the caller owns. What the daemon sends is checked like
 * any outside input: strings are copied with bounds, lists are bounded by
 * what the answer holds.
 */
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/fastn.pb-c.h"
#include "lib/lib_int.h"
#include "util/args.h"

#define NAME_OF(f) FASTN__REQUEST__TYPE__##f

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int copy_strings(char *const *in, size_t n, char ***out, size_t *n_out)
{
    char **v = calloc(n ? n : 1, sizeof(char *));
    if (!v)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = strdup(in[i] ? in[i] : ""))) {
            free_strings(v, i);
            return FASTN_ERR_NOMEM;
        }
    *out = v;
    *n_out = n;
    return 0;
}

#define COPY_(dst, src) snprintf(dst, sizeof(dst), "%s", (src) ? (src) : "")

/* The protocols the user narrowed, as two lists of the same length. */
static int protocol_serves_convert(const Fastn__PluginInfo *in,
                                   struct fastn_plugin_info *o)
{
    size_t n = in->n_protocol_serves;

    o->narrowed_protocols = calloc(n ? n : 1, sizeof(char *));
    o->protocol_serves = calloc(n ? n : 1, sizeof(char *));
    if (!o->narrowed_protocols || !o->protocol_serves)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const Fastn__ProtocolServes *ps = in->protocol_serves[i];
        if (!ps || !ps->protocol || !ps->serves)
            return FASTN_ERR_PROTOCOL;
        o->narrowed_protocols[i] = strdup(ps->protocol);
        o->protocol_serves[i] = strdup(ps->serves);
        o->n_narrowed_protocols = i + 1; /* freed from here on */
        if (!o->narrowed_protocols[i] || !o->protocol_serves[i])
            return FASTN_ERR_NOMEM;
    }
    return 0;
}

/* Its loopback ports and addresses (at most 8 of each, as ABI 1 has). */
static void local_convert(const Fastn__PluginInfo *in,
                          struct fastn_plugin_info *o)
{
    for (size_t i = 0; i < in->n_local_listen && i < 8; i++) {
        const Fastn__PluginLocalPort *lp = in->local_listen[i];
        if (!lp || !lp->name)
            continue;
        snprintf(o->local_listen[o->n_local_listen].name,
                 sizeof(o->local_listen[0].name), "%s", lp->name);
        o->local_listen[o->n_local_listen].asked = lp->asked;
        o->local_listen[o->n_local_listen].port = lp->port;
        o->local_listen[o->n_local_listen++].bound = lp->bound;
    }
    for (size_t i = 0; i < in->n_local_connect && i < 8; i++) {
        const Fastn__PluginLocalAddr *la = in->local_connect[i];
        if (!la || !la->address || !la->target)
            continue;
        snprintf(o->local_connect[o->n_local_connect].address,
                 sizeof(o->local_connect[0].address), "%s", la->address);
        snprintf(o->local_connect[o->n_local_connect++].target,
                 sizeof(o->local_connect[0].target), "%s", la->target);
    }
}

static void usage_convert(const Fastn__PluginUsage *u,
                          struct fastn_plugin_info *o)
{
    if (!u)
        return;
    o->memory_linear = u->memory_linear;
    o->memory_tables = u->memory_tables;
    o->memory_host = u->memory_host;
    o->memory_sqlite = u->memory_sqlite;
    o->memory_budget = u->memory_budget;
    o->cpu_ns = u->cpu_ns;
    o->cpu_fuel = u->cpu_fuel;
    o->cpu_budget_ns = u->cpu_budget_ns;
    o->cpu_window_ms = u->cpu_window_ms;
    o->deferred = u->deferred;
    o->deferrals = u->deferrals;
    o->longest_slice_us = u->longest_slice_us;
    o->db_wal_bytes = u->db_wal_bytes;
    o->db_disk_bytes = u->db_disk_bytes;
    o->db_heap_peak = u->db_heap_peak;
    o->db_heap_limit = u->db_heap_limit;
}

static int info_convert(const Fastn__PluginInfo *in,
                        struct fastn_plugin_info *o)
{
    const Fastn__PluginLimits *l = in->limits;
    int rc;

    if (!in->name)
        return FASTN_ERR_PROTOCOL;
    COPY_(o->name, in->name);
    COPY_(o->version, in->version);
    COPY_(o->description, in->description);
    COPY_(o->state, in->state);
    COPY_(o->serves, in->serves);
    COPY_(o->asked_serves, in->asked_serves);
    o->enabled = in->enabled;
    o->storage_quota = in->storage_quota;
    if (l) {
        o->fuel_per_event = l->fuel_per_event;
        o->max_memory_pages = l->memory_pages;
        o->max_streams = l->streams;
        o->max_timers = l->timers;
        o->max_statements = l->statements;
    }
    o->restarts = in->restarts;
    o->last_error = in->last_error;
    o->last_error_ms = in->last_error_ms;
    o->restart_in_ms = in->restart_in_ms;
    o->file_bytes = in->file_bytes;
    o->memory_pages = in->memory_pages;
    o->db_bytes = in->db_bytes;
    o->open_streams = in->open_streams;
    o->pending_calls = in->pending_calls;
    o->armed_timers = in->armed_timers;
    o->events = in->events;
    o->fuel_used = in->fuel_used;
    COPY_(o->signature, in->signature);
    COPY_(o->signer, in->signer);
    COPY_(o->signer_name, in->signer_name);
    usage_convert(in->usage, o);
    if (!(o->last_error_text =
              strdup(in->last_error_text ? in->last_error_text : "")) ||
        !(o->publisher_note =
              strdup(in->publisher_note ? in->publisher_note : "")))
        return FASTN_ERR_NOMEM;
    if ((rc = copy_strings(in->protocols, in->n_protocols, &o->protocols,
                           &o->n_protocols)) ||
        (rc = copy_strings(in->capabilities, in->n_capabilities,
                           &o->capabilities, &o->n_capabilities)) ||
        (rc = copy_strings(in->withheld, in->n_withheld, &o->withheld,
                           &o->n_withheld)))
        return rc;
    if ((rc = protocol_serves_convert(in, o)))
        return rc;
    local_convert(in, o);
    return copy_strings(in->apps, in->n_apps, &o->apps, &o->n_apps);
}

static void info_cleanup(struct fastn_plugin_info *p)
{
    free_strings(p->protocols, p->n_protocols);
    free_strings(p->capabilities, p->n_capabilities);
    free_strings(p->apps, p->n_apps);
    free_strings(p->withheld, p->n_withheld);
    free_strings(p->narrowed_protocols, p->n_narrowed_protocols);
    free_strings(p->protocol_serves, p->n_narrowed_protocols);
    free(p->last_error_text);
    free(p->publisher_note);
}

void fastn_plugin_info_free(struct fastn_plugin_info *p)
{
    if (!p)
        return;
    info_cleanup(p);
    free(p);
}

void fastn_plugin_list_free(struct fastn_plugin_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_plugins; i++)
        info_cleanup(&l->plugins[i]);
    free(l->plugins);
    free(l);
}

/* The one plugin an answer describes (install, info, enable). */
static int one_info(P2pd__Pb__Response *r, struct fastn_plugin_info **out)
{
    struct fastn_plugin_info *p;
    int rc;

    if (!out)
        return 0;
    if (r->fastn->n_plugins != 1)
        return FASTN_ERR_PROTOCOL;
    if (!(p = calloc(1, sizeof(*p))))
        return FASTN_ERR_NOMEM;
    if ((rc = info_convert(r->fastn->plugins[0], p))) {
        fastn_plugin_info_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

static int plugin_request(struct fastn_client *c, int type,
                          Fastn__PluginRequest *pr,
                          struct fastn_plugin_info **out)
{
    P2pd__Pb__Response *r = NULL;
    int rc = lib_ext_exchange(c, type, pr, NULL, c->timeout_ms, &r);

    if (rc)
        return rc;
    rc = one_info(r, out);
    p2pd__pb__response__free_unpacked(r, NULL);
    return rc;
}

int fastn_client_plugin_install(struct fastn_client *c, const void *wasm,
                                size_t len, int replace,
                                struct fastn_plugin_info **out)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;

    if (!wasm || !len)
        return FASTN_ERR_INVAL;
    pr.has_wasm = true;
    pr.wasm.data = (uint8_t *)wasm;
    pr.wasm.len = len;
    pr.has_replace = true;
    pr.replace = replace != 0;
    return plugin_request(c, NAME_OF(PLUGIN_INSTALL), &pr, out);
}

int fastn_client_plugin_install_path(struct fastn_client *c, const char *path,
                                     int replace,
                                     struct fastn_plugin_info **out)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;

    if (!path || path[0] != '/')
        return FASTN_ERR_INVAL;
    pr.path = (char *)path;
    pr.has_replace = true;
    pr.replace = replace != 0;
    return plugin_request(c, NAME_OF(PLUGIN_INSTALL), &pr, out);
}

int fastn_client_plugin_install_signed(struct fastn_client *c, const void *wasm,
                                       size_t len, const char *path,
                                       const void *minisig, size_t minisig_len,
                                       int flags,
                                       struct fastn_plugin_info **out)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;

    if (wasm ? !len : !path || path[0] != '/')
        return FASTN_ERR_INVAL;
    if (minisig ? !minisig_len : !(flags & FASTN_INSTALL_UNSIGNED))
        return FASTN_ERR_INVAL;
    if (wasm) {
        pr.has_wasm = true;
        pr.wasm.data = (uint8_t *)wasm;
        pr.wasm.len = len;
    } else {
        pr.path = (char *)path;
    }
    if (minisig) {
        pr.has_minisig = true;
        pr.minisig.data = (uint8_t *)minisig;
        pr.minisig.len = minisig_len;
    }
    pr.has_allow_unsigned = true;
    pr.allow_unsigned = (flags & FASTN_INSTALL_UNSIGNED) != 0;
    pr.has_replace = true;
    pr.replace = (flags & FASTN_INSTALL_REPLACE) != 0;
    return plugin_request(c, NAME_OF(PLUGIN_INSTALL), &pr, out);
}

int fastn_client_plugin_info(struct fastn_client *c, const char *name,
                             struct fastn_plugin_info **out)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;

    if (!name || !out)
        return FASTN_ERR_INVAL;
    pr.name = (char *)name;
    return plugin_request(c, NAME_OF(PLUGIN_INFO), &pr, out);
}

int fastn_client_plugin_remove(struct fastn_client *c, const char *name,
                               int keep_data)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;

    if (!name)
        return FASTN_ERR_INVAL;
    pr.name = (char *)name;
    pr.has_keep_data = true;
    pr.keep_data = keep_data != 0;
    return plugin_request(c, NAME_OF(PLUGIN_REMOVE), &pr, NULL);
}

int fastn_client_plugin_enable(struct fastn_client *c, const char *name, int on)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;

    if (!name)
        return FASTN_ERR_INVAL;
    pr.name = (char *)name;
    return plugin_request(
        c, on ? NAME_OF(PLUGIN_ENABLE) : NAME_OF(PLUGIN_DISABLE), &pr, NULL);
}

/* Whether every one of n names is there (a NULL one is bad input). */
static bool names_ok(const char *const *v, size_t n)
{
    if (n && !v)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!v[i])
            return false;
    return true;
}

int fastn_client_plugin_restrict(struct fastn_client *c, const char *name,
                                 const char *serves,
                                 const char *const *withhold, size_t n_withhold,
                                 const char *const *grant, size_t n_grant,
                                 struct fastn_plugin_info **out)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;

    if (!name || !names_ok(withhold, n_withhold) || !names_ok(grant, n_grant))
        return FASTN_ERR_INVAL;
    pr.name = (char *)name;
    pr.serves = (char *)serves;
    pr.withhold = (char **)withhold;
    pr.n_withhold = n_withhold;
    pr.grant = (char **)grant;
    pr.n_grant = n_grant;
    return plugin_request(c, NAME_OF(PLUGIN_RESTRICT), &pr, out);
}

int fastn_client_plugin_restrict_protocol(struct fastn_client *c,
                                          const char *name,
                                          const char *protocol,
                                          const char *serves,
                                          struct fastn_plugin_info **out)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;

    if (!name || !protocol || !serves)
        return FASTN_ERR_INVAL;
    pr.name = (char *)name;
    pr.protocol = (char *)protocol;
    pr.serves = (char *)serves;
    return plugin_request(c, NAME_OF(PLUGIN_RESTRICT), &pr, out);
}

int fastn_client_plugin_list(struct fastn_client *c,
                             struct fastn_plugin_list **out)
{
    P2pd__Pb__Response *r = NULL;
    struct fastn_plugin_list *l;
    int rc = lib_ext_exchange(c, NAME_OF(PLUGIN_LIST), NULL, NULL,
                              c->timeout_ms, &r);

    if (rc)
        return rc;
    l = calloc(1, sizeof(*l));
    if (l)
        l->plugins = calloc(r->fastn->n_plugins ? r->fastn->n_plugins : 1,
                            sizeof(*l->plugins));
    rc = l && l->plugins ? 0 : FASTN_ERR_NOMEM;
    for (size_t i = 0; !rc && i < r->fastn->n_plugins; i++) {
        l->n_plugins = i + 1;
        rc = info_convert(r->fastn->plugins[i], &l->plugins[i]);
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_plugin_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

int fastn_client_plugin_call(struct fastn_client *c, const char *name,
                             const char *method, const void *arg,
                             size_t arg_len, uint8_t **result,
                             size_t *result_len)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;
    P2pd__Pb__Response *r = NULL;
    P2pd__Pb__Request req;
    Fastn__Request ext;
    uint8_t *data = NULL;
    size_t n = 0;
    int rc;

    if (!name || !method || !result || !result_len || (arg_len && !arg))
        return FASTN_ERR_INVAL;
    pr.name = (char *)name;
    pr.method = (char *)method;
    pr.has_arg = true;
    pr.arg.data = (uint8_t *)arg;
    pr.arg.len = arg_len;
    lib_ext_request(&req, &ext, NAME_OF(PLUGIN_CALL));
    ext.plugin = &pr;
    /* the result read straight into the buffer returned, when it can */
    rc = lib_request_result(c, &req, c->call_timeout_ms, &r, &data, &n);
    if (rc == FASTN_ERR_REMOTE) /* as lib_ext_send */
        return FASTN_ERR_UNSUPPORTED;
    if (rc)
        return rc;
    if (!r) {
        *result = data;
        *result_len = n;
        return 0;
    }
    if (!r->fastn) {
        p2pd__pb__response__free_unpacked(r, NULL);
        return FASTN_ERR_PROTOCOL;
    }
    n = r->fastn->has_call_result ? r->fastn->call_result.len : 0;
    data = malloc(n + 1);
    if (!data) {
        p2pd__pb__response__free_unpacked(r, NULL);
        return FASTN_ERR_NOMEM;
    }
    if (n)
        memcpy(data, r->fastn->call_result.data, n);
    data[n] = '\0';
    p2pd__pb__response__free_unpacked(r, NULL);
    *result = data;
    *result_len = n;
    return 0;
}

int fastn_plugin_args_encode(const char *const *argv, size_t argc,
                             uint8_t **out, size_t *out_len)
{
    if (!out || !out_len || (argc && !argv))
        return FASTN_ERR_INVAL;
    return args_encode(argv, argc, out, out_len);
}

int fastn_client_plugin_call_args(struct fastn_client *c, const char *name,
                                  const char *method, const char *const *argv,
                                  size_t argc, uint8_t **result,
                                  size_t *result_len)
{
    uint8_t *arg = NULL;
    size_t len = 0;
    int rc = fastn_plugin_args_encode(argv, argc, &arg, &len);

    if (rc)
        return rc;
    rc =
        fastn_client_plugin_call(c, name, method, arg, len, result, result_len);
    free(arg);
    return rc;
}
