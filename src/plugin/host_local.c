/*
 * Local apps: the loopback ports plugins serve (local-listen) and the
 * loopback addresses they connect to (local-connect), as their manifests
 * name them and the config moves them (docs/PLUGIN-ABI.md, "Local apps").
 *
 * The host does no socket I/O: the daemon asks which ports to listen on
 * (plugin_host_listens), says which it got (plugin_host_listen_bound), and
 * hands each accepted connection over as a stream flagged
 * PLUGIN_STREAM_LOCAL (plugin_host_local_incoming), which from then on is
 * a stream like a peer's: the same tables, limits, backpressure and ops.
 * The import local_connect (host_imports.c) checks the address against
 * the manifest before the daemon is asked to connect.
 */
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "plugin/host_int.h"
#include "util/log.h"

int plugin_host_set_local(struct plugin_host *h,
                          const struct plugin_local_conf *v, size_t n)
{
    struct plugin_local_conf *c = NULL;

    if (n > PLUGIN_LOCAL_CONF_MAX || (n && !v))
        return FASTN_ERR_INVAL;
    if (n && !(c = malloc(n * sizeof(*c))))
        return FASTN_ERR_NOMEM;
    if (n)
        memcpy(c, v, n * sizeof(*c));
    free(h->local);
    h->local = c;
    h->n_local = n;
    return 0;
}

uint64_t host_storage_quota(const struct host_plugin *p)
{
    const struct plugin_host *h = p->h;
    uint64_t q = p->m.storage_quota;

    for (size_t k = 0; q && k < h->n_local; k++)
        if (h->local[k].storage && !strcmp(h->local[k].plugin, p->name))
            q = h->local[k].storage;
    return q;
}

struct plugin_addr host_local_target(const struct host_plugin *p, size_t i)
{
    const struct plugin_host *h = p->h;

    for (size_t k = 0; k < h->n_local; k++) {
        const struct plugin_local_conf *c = &h->local[k];
        if (!c->listen && !c->storage && !strcmp(c->plugin, p->name) &&
            plugin_addr_equal(&c->addr, &p->m.connect[i]))
            return c->to;
    }
    return p->m.connect[i];
}

uint16_t host_local_port(const struct host_plugin *p, size_t i)
{
    const struct plugin_host *h = p->h;

    for (size_t k = 0; k < h->n_local; k++) {
        const struct plugin_local_conf *c = &h->local[k];
        if (c->listen && !strcmp(c->plugin, p->name) &&
            !strcmp(c->name, p->m.listen[i].name))
            return c->port;
    }
    return p->m.listen[i].port;
}

/* Whether p serves its local ports now: enabled, loaded, not failed for
 * good, local-listen asked for and not withheld. */
static bool listening(const struct host_plugin *p)
{
    return p->loaded && p->enabled && p->state != PLUGIN_STATE_FAILED &&
           (host_caps_now(p) & PLUGIN_CAP_LOCAL_LISTEN);
}

size_t plugin_host_listens(struct plugin_host *h,
                           struct plugin_listen_want *out, size_t max)
{
    size_t n = 0;

    for (struct host_plugin *p = h->plugins; p; p = p->next) {
        if (!listening(p))
            continue;
        for (size_t i = 0; i < p->m.n_listen; i++, n++)
            if (n < max)
                out[n] = (struct plugin_listen_want){
                    .plugin = p->name,
                    .index = (unsigned)i,
                    .port = host_local_port(p, i),
                };
    }
    return n;
}

void plugin_host_listen_bound(struct plugin_host *h, const char *plugin,
                              unsigned index, uint16_t port)
{
    struct host_plugin *p = host_find(h, plugin);

    if (p && index < PLUGIN_LOCAL_MAX)
        p->listen_bound[index] = port;
}

int plugin_host_local_incoming(struct plugin_host *h, uint64_t stream,
                               const char *plugin, unsigned index,
                               const char *client)
{
    struct host_plugin *p = host_find(h, plugin);
    size_t n = client ? strlen(client) : 0;

    if (!stream || !n || n > PLUGIN_PEER_ID_MAX)
        return FASTN_ERR_INVAL;
    if (!p)
        return FASTN_ERR_NOT_FOUND;
    if (!listening(p) || index >= p->m.n_listen)
        return FASTN_ERR_PLUGIN_CAPABILITY;
    return host_stream_take(p, stream, client, p->m.listen[index].name,
                            PLUGIN_STREAM_LOCAL);
}
