/*
 * libfastn's requests for trusted publishers, registries, search, install
 * from the registries or a peer, and update (include/fastn/client.h,
 * "Signed plugins"), turned from protobuf into plain C structs the caller
 * owns. What the daemon sends is checked like any outside input: strings
 * are copied with bounds, lists are bounded by what the answer holds.
 *
 * Requests that fetch (registry add, search, get, update) are answered
 * when the daemon is done, which its fetch timeouts bound: they wait up
 * to LIB_REGISTRY_TIMEOUT_MS, not the client's per-step timeout.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/fastn.pb-c.h"
#include "lib/lib_int.h"

#define NAME_OF(f) FASTN__REQUEST__TYPE__##f
#define LIB_REGISTRY_TIMEOUT_MS (15 * 60 * 1000)
#define COPY_(dst, src) snprintf(dst, sizeof(dst), "%s", (src) ? (src) : "")

static int exchange(struct fastn_client *c, int type,
                    Fastn__RegistryRequest *rr, int timeout_ms,
                    P2pd__Pb__Response **out)
{
    P2pd__Pb__Request req;
    Fastn__Request ext;

    lib_ext_request(&req, &ext, type);
    ext.registry = rr;
    return lib_ext_send(c, &req, timeout_ms, out);
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int copy_strings(char *const *in, size_t n, char ***out, size_t *n_out)
{
    char **v = calloc(n ? n : 1, sizeof(char *));

    if (!v)
        return FASTN_ERR_NOMEM;
    *out = v;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] = strdup(in[i] ? in[i] : "")))
            return FASTN_ERR_NOMEM;
        *n_out = i + 1;
    }
    return 0;
}

/* --- trusted keys -----------------------------------------------------------
 */

static int key_convert(const Fastn__TrustedKey *in, struct fastn_trusted_key *o)
{
    if (!in || !in->name || !in->key_id || !in->public_key)
        return FASTN_ERR_PROTOCOL;
    COPY_(o->name, in->name);
    COPY_(o->key_id, in->key_id);
    COPY_(o->public_key, in->public_key);
    o->system = in->has_system && in->system;
    return 0;
}

/* The one key an answer names (add, remove). */
static int one_key(struct fastn_client *c, int type, Fastn__RegistryRequest *rr,
                   struct fastn_trusted_key *out)
{
    P2pd__Pb__Response *r = NULL;
    int rc = exchange(c, type, rr, c->timeout_ms, &r);

    if (rc)
        return rc;
    if (r->fastn->n_keys != 1)
        rc = FASTN_ERR_PROTOCOL;
    else if (out)
        rc = key_convert(r->fastn->keys[0], out);
    p2pd__pb__response__free_unpacked(r, NULL);
    return rc;
}

int fastn_client_trust_add(struct fastn_client *c, const void *key, size_t len,
                           const char *name, struct fastn_trusted_key *out)
{
    Fastn__RegistryRequest rr = FASTN__REGISTRY_REQUEST__INIT;

    if (!c || !key || !len)
        return FASTN_ERR_INVAL;
    rr.has_key = true;
    rr.key.data = (uint8_t *)key;
    rr.key.len = len;
    rr.name = (char *)name;
    return one_key(c, NAME_OF(TRUST_ADD), &rr, out);
}

int fastn_client_trust_remove(struct fastn_client *c, const char *name_or_id,
                              struct fastn_trusted_key *out)
{
    Fastn__RegistryRequest rr = FASTN__REGISTRY_REQUEST__INIT;

    if (!c || !name_or_id)
        return FASTN_ERR_INVAL;
    rr.name = (char *)name_or_id;
    return one_key(c, NAME_OF(TRUST_REMOVE), &rr, out);
}

void fastn_key_list_free(struct fastn_key_list *l)
{
    if (!l)
        return;
    free(l->keys);
    free(l);
}

int fastn_client_trust_list(struct fastn_client *c, struct fastn_key_list **out)
{
    P2pd__Pb__Response *r = NULL;
    struct fastn_key_list *l;
    size_t n;
    int rc;

    if (!c || !out)
        return FASTN_ERR_INVAL;
    if ((rc = exchange(c, NAME_OF(TRUST_LIST), NULL, c->timeout_ms, &r)))
        return rc;
    n = r->fastn->n_keys;
    l = calloc(1, sizeof(*l));
    if (l)
        l->keys = calloc(n ? n : 1, sizeof(*l->keys));
    rc = l && l->keys ? 0 : FASTN_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = key_convert(r->fastn->keys[i], &l->keys[i]);
        l->n_keys = i + 1;
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_key_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

/* --- registries
 * ---------------------------------------------------------------
 */

static int registry_convert(const Fastn__RegistryInfo *in,
                            struct fastn_registry *o)
{
    if (!in || !in->name || !in->url)
        return FASTN_ERR_PROTOCOL;
    COPY_(o->name, in->name);
    o->is_default = in->has_is_default && in->is_default;
    o->read = in->has_plugins;
    o->plugins = in->plugins;
    o->error = in->has_code ? in->code : 0;
    if (!(o->url = strdup(in->url)) ||
        !(o->error_text = strdup(in->error ? in->error : "")))
        return FASTN_ERR_NOMEM;
    return 0;
}

static void registries_free(struct fastn_registry *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].url);
        free(v[i].error_text);
    }
    free(v);
}

static int registries_convert(const Fastn__Response *r,
                              struct fastn_registry **out, size_t *n_out)
{
    size_t n = r->n_registries;
    int rc = 0;

    *out = calloc(n ? n : 1, sizeof(**out));
    if (!*out)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        *n_out = i + 1;
        rc = registry_convert(r->registries[i], &(*out)[i]);
    }
    return rc;
}

void fastn_registry_list_free(struct fastn_registry_list *l)
{
    if (!l)
        return;
    registries_free(l->registries, l->n_registries);
    free(l);
}

static int registry_request(struct fastn_client *c, int type,
                            Fastn__RegistryRequest *rr, int timeout_ms,
                            struct fastn_registry_list **out)
{
    P2pd__Pb__Response *r = NULL;
    struct fastn_registry_list *l;
    int rc = exchange(c, type, rr, timeout_ms, &r);

    if (rc)
        return rc;
    if (!out) {
        p2pd__pb__response__free_unpacked(r, NULL);
        return 0;
    }
    if (!(l = calloc(1, sizeof(*l))))
        rc = FASTN_ERR_NOMEM;
    else
        rc = registries_convert(r->fastn, &l->registries, &l->n_registries);
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_registry_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

int fastn_client_registry_add(struct fastn_client *c, const char *url,
                              const char *name,
                              struct fastn_registry_list **out)
{
    Fastn__RegistryRequest rr = FASTN__REGISTRY_REQUEST__INIT;

    if (!c || !url)
        return FASTN_ERR_INVAL;
    rr.url = (char *)url;
    rr.name = (char *)name;
    return registry_request(c, NAME_OF(REGISTRY_ADD), &rr,
                            LIB_REGISTRY_TIMEOUT_MS, out);
}

int fastn_client_registry_list(struct fastn_client *c,
                               struct fastn_registry_list **out)
{
    if (!c || !out)
        return FASTN_ERR_INVAL;
    return registry_request(c, NAME_OF(REGISTRY_LIST), NULL, c->timeout_ms,
                            out);
}

int fastn_client_registry_remove(struct fastn_client *c,
                                 const char *name_or_url,
                                 struct fastn_registry_list **out)
{
    Fastn__RegistryRequest rr = FASTN__REGISTRY_REQUEST__INIT;

    if (!c || !name_or_url)
        return FASTN_ERR_INVAL;
    rr.name = (char *)name_or_url;
    return registry_request(c, NAME_OF(REGISTRY_REMOVE), &rr, c->timeout_ms,
                            out);
}

/* --- plugins the registries offer -------------------------------------------
 */

static void plugin_cleanup(struct fastn_registry_plugin *p)
{
    free(p->summary);
    free(p->publisher_note);
    free_strings(p->protocols, p->n_protocols);
    free_strings(p->capabilities, p->n_capabilities);
    free_strings(p->apps, p->n_apps);
}

void fastn_registry_plugin_free(struct fastn_registry_plugin *p)
{
    if (!p)
        return;
    plugin_cleanup(p);
    free(p);
}

static int plugin_convert(const Fastn__RegistryPlugin *in,
                          struct fastn_registry_plugin *o)
{
    int rc;

    if (!in || !in->name || !in->version)
        return FASTN_ERR_PROTOCOL;
    COPY_(o->name, in->name);
    COPY_(o->version, in->version);
    COPY_(o->registry, in->registry);
    COPY_(o->signer, in->signer);
    COPY_(o->signer_name, in->signer_name);
    COPY_(o->installed, in->installed);
    o->size = in->size;
    for (size_t i = 0; in->has_sha256 && i < in->sha256.len && i < 32; i++)
        snprintf(o->sha256 + 2 * i, 3, "%02x", in->sha256.data[i]);
    if (in->has_peer && lib_peer_id_text(&in->peer, o->peer_id) != 0)
        return FASTN_ERR_PROTOCOL;
    if (!(o->summary = strdup(in->summary ? in->summary : "")) ||
        !(o->publisher_note =
              strdup(in->publisher_note ? in->publisher_note : "")))
        return FASTN_ERR_NOMEM;
    if ((rc = copy_strings(in->protocols, in->n_protocols, &o->protocols,
                           &o->n_protocols)) ||
        (rc = copy_strings(in->capabilities, in->n_capabilities,
                           &o->capabilities, &o->n_capabilities)))
        return rc;
    return copy_strings(in->apps, in->n_apps, &o->apps, &o->n_apps);
}

void fastn_search_result_free(struct fastn_search_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->plugins && i < r->n_plugins; i++)
        plugin_cleanup(&r->plugins[i]);
    free(r->plugins);
    registries_free(r->registries, r->n_registries);
    free(r);
}

int fastn_client_plugin_search(struct fastn_client *c, const char *term,
                               struct fastn_search_result **out)
{
    Fastn__RegistryRequest rr = FASTN__REGISTRY_REQUEST__INIT;
    P2pd__Pb__Response *r = NULL;
    struct fastn_search_result *s;
    size_t n;
    int rc;

    if (!c || !out)
        return FASTN_ERR_INVAL;
    rr.term = (char *)term;
    rc = exchange(c, NAME_OF(PLUGIN_SEARCH), &rr, LIB_REGISTRY_TIMEOUT_MS, &r);
    if (rc)
        return rc;
    n = r->fastn->n_found;
    s = calloc(1, sizeof(*s));
    if (s)
        s->plugins = calloc(n ? n : 1, sizeof(*s->plugins));
    rc = s && s->plugins ? 0 : FASTN_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        s->n_plugins = i + 1;
        rc = plugin_convert(r->fastn->found[i], &s->plugins[i]);
    }
    if (!rc)
        rc = registries_convert(r->fastn, &s->registries, &s->n_registries);
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_search_result_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int fastn_client_plugin_get(struct fastn_client *c, const char *name,
                            const char *version, const char *protocol,
                            const char *peer, int replace,
                            struct fastn_registry_plugin **out)
{
    Fastn__RegistryRequest rr = FASTN__REGISTRY_REQUEST__INIT;
    P2pd__Pb__Response *r = NULL;
    struct fastn_registry_plugin *p = NULL;
    struct peer_id pid;
    int rc;

    if (!c || (!name == !protocol))
        return FASTN_ERR_INVAL;
    if (peer) {
        if ((rc = lib_parse_peer(c, peer, &pid)))
            return rc;
        rr.has_peer = true;
        rr.peer.data = pid.bytes;
        rr.peer.len = pid.len;
    }
    rr.name = (char *)name;
    rr.version = (char *)version;
    rr.protocol = (char *)protocol;
    rr.has_replace = true;
    rr.replace = replace != 0;
    rc = exchange(c, NAME_OF(PLUGIN_GET), &rr, LIB_REGISTRY_TIMEOUT_MS, &r);
    if (rc)
        return rc;
    if (!r->fastn->got)
        rc = FASTN_ERR_PROTOCOL;
    else if (out && !(p = calloc(1, sizeof(*p))))
        rc = FASTN_ERR_NOMEM;
    else if (out)
        rc = plugin_convert(r->fastn->got, p);
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_registry_plugin_free(p);
        return rc;
    }
    if (out)
        *out = p;
    return 0;
}

/* --- updates ----------------------------------------------------------------
 */

void fastn_update_list_free(struct fastn_update_list *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->updates && i < r->n_updates; i++) {
        free_strings(r->updates[i].new_capabilities,
                     r->updates[i].n_new_capabilities);
        free(r->updates[i].error_text);
    }
    free(r->updates);
    registries_free(r->registries, r->n_registries);
    free(r);
}

static int update_convert(const Fastn__PluginUpdate *in,
                          struct fastn_plugin_update *o)
{
    if (!in || !in->name)
        return FASTN_ERR_PROTOCOL;
    COPY_(o->name, in->name);
    COPY_(o->from_version, in->from_version);
    COPY_(o->to_version, in->to_version);
    COPY_(o->registry, in->registry);
    o->result = (enum fastn_update_result)in->result;
    o->error = in->has_code ? in->code : 0;
    if (!(o->error_text = strdup(in->error ? in->error : "")))
        return FASTN_ERR_NOMEM;
    return copy_strings(in->new_capabilities, in->n_new_capabilities,
                        &o->new_capabilities, &o->n_new_capabilities);
}

int fastn_client_plugin_update(struct fastn_client *c, const char *name,
                               const char *const *grant, size_t n_grant,
                               struct fastn_update_list **out)
{
    Fastn__RegistryRequest rr = FASTN__REGISTRY_REQUEST__INIT;
    P2pd__Pb__Response *r = NULL;
    struct fastn_update_list *u;
    size_t n;
    int rc;

    if (!c || !out || (n_grant && !grant))
        return FASTN_ERR_INVAL;
    for (size_t i = 0; i < n_grant; i++)
        if (!grant[i])
            return FASTN_ERR_INVAL;
    rr.name = (char *)name;
    rr.grant = (char **)grant;
    rr.n_grant = n_grant;
    rc = exchange(c, NAME_OF(PLUGIN_UPDATE), &rr, LIB_REGISTRY_TIMEOUT_MS, &r);
    if (rc)
        return rc;
    n = r->fastn->n_updates;
    u = calloc(1, sizeof(*u));
    if (u)
        u->updates = calloc(n ? n : 1, sizeof(*u->updates));
    rc = u && u->updates ? 0 : FASTN_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        u->n_updates = i + 1;
        rc = update_convert(r->fastn->updates[i], &u->updates[i]);
    }
    if (!rc)
        rc = registries_convert(r->fastn, &u->registries, &u->n_registries);
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_update_list_free(u);
        return rc;
    }
    *out = u;
    return 0;
}
