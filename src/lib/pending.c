/*
 * libfastn's requests for kept data and peers (include/fastn/client.h,
 * "Kept data and peers"): PENDING_* and PEER_ALLOW, _BLOCK, _LIST, turned
 * from protobuf into plain C structs the caller owns. What the daemon
 * sends is checked like any outside input: strings copied with bounds.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/fastn.pb-c.h"
#include "lib/lib_int.h"
#include "util/peer_id.h"

#define TYPE_(f) FASTN__REQUEST__TYPE__##f
#define COPY_(dst, src) snprintf(dst, sizeof(dst), "%s", (src) ? (src) : "")

static int exchange(struct fastn_client *c, int type, Fastn__PendingRequest *pr,
                    P2pd__Pb__Response **out)
{
    P2pd__Pb__Request req;
    Fastn__Request ext;

    lib_ext_request(&req, &ext, type);
    ext.pending = pr;
    return lib_ext_send(c, &req, c->timeout_ms, out);
}

/* A request answered with a message (what was done). */
static int act(struct fastn_client *c, int type, Fastn__PendingRequest *pr,
               char *msg, size_t msglen)
{
    P2pd__Pb__Response *r = NULL;
    int rc = exchange(c, type, pr, &r);

    if (rc)
        return rc;
    if (msg && msglen)
        snprintf(msg, msglen, "%s", r->fastn->message ? r->fastn->message : "");
    p2pd__pb__response__free_unpacked(r, NULL);
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int copy_list(char *const *in, size_t n, char ***out, size_t *n_out)
{
    *out = calloc(n ? n : 1, sizeof(char *));
    if (!*out)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!((*out)[i] = strdup(in[i] ? in[i] : "")))
            return FASTN_ERR_NOMEM;
        *n_out = i + 1;
    }
    return 0;
}

static int item_convert(const Fastn__PendingItem *in,
                        struct fastn_pending_item *o)
{
    if (!in || !in->peer || !in->protocol || !in->state)
        return FASTN_ERR_PROTOCOL;
    o->id = in->id;
    COPY_(o->peer, in->peer);
    COPY_(o->state, in->state);
    COPY_(o->plugin, in->plugin);
    COPY_(o->version, in->version);
    o->bytes = in->bytes;
    o->received_ms = in->received_ms;
    o->complete = in->complete;
    if (!(o->protocol = strdup(in->protocol)))
        return FASTN_ERR_NOMEM;
    o->source = dup_or_null(in->source);
    o->signer = dup_or_null(in->signer);
    o->why = dup_or_null(in->why);
    if ((in->source && !o->source) || (in->signer && !o->signer) ||
        (in->why && !o->why))
        return FASTN_ERR_NOMEM;
    if (copy_list(in->capabilities, in->n_capabilities, &o->capabilities,
                  &o->n_capabilities))
        return FASTN_ERR_NOMEM;
    return copy_list(in->apps, in->n_apps, &o->apps, &o->n_apps);
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void fastn_pending_list_free(struct fastn_pending_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_items; i++) {
        struct fastn_pending_item *it = &l->items[i];
        free(it->protocol);
        free(it->source);
        free(it->signer);
        free(it->why);
        free_list(it->capabilities, it->n_capabilities);
        free_list(it->apps, it->n_apps);
    }
    free(l->items);
    free(l);
}

int fastn_client_pending_list(struct fastn_client *c,
                              struct fastn_pending_list **out)
{
    P2pd__Pb__Response *r = NULL;
    struct fastn_pending_list *l;
    int rc;

    if (!c || !out)
        return FASTN_ERR_INVAL;
    if ((rc = exchange(c, TYPE_(PENDING_LIST), NULL, &r)))
        return rc;
    l = calloc(1, sizeof(*l));
    if (l)
        l->items = calloc(r->fastn->n_pending ? r->fastn->n_pending : 1,
                          sizeof(*l->items));
    rc = l && l->items ? 0 : FASTN_ERR_NOMEM;
    for (size_t i = 0; !rc && i < r->fastn->n_pending; i++) {
        l->n_items = i + 1;
        rc = item_convert(r->fastn->pending[i], &l->items[i]);
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_pending_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

int fastn_client_pending_approve(struct fastn_client *c, int64_t id,
                                 const char *protocol, const char *const *grant,
                                 size_t n_grant, char *msg, size_t msglen)
{
    Fastn__PendingRequest pr = FASTN__PENDING_REQUEST__INIT;

    if (!c || (!protocol && id <= 0) || (n_grant && !grant))
        return FASTN_ERR_INVAL;
    pr.protocol = (char *)protocol;
    pr.has_id = !protocol;
    pr.id = id;
    pr.grant = (char **)grant;
    pr.n_grant = n_grant;
    return act(c, TYPE_(PENDING_APPROVE), &pr, msg, msglen);
}

int fastn_client_pending_reject(struct fastn_client *c, int64_t id,
                                const char *protocol, int block_peer, char *msg,
                                size_t msglen)
{
    Fastn__PendingRequest pr = FASTN__PENDING_REQUEST__INIT;

    if (!c || (!protocol && id <= 0))
        return FASTN_ERR_INVAL;
    pr.protocol = (char *)protocol;
    pr.has_id = !protocol;
    pr.id = id;
    pr.has_block_peer = true;
    pr.block_peer = block_peer != 0;
    return act(c, TYPE_(PENDING_REJECT), &pr, msg, msglen);
}

static int peer_act(struct fastn_client *c, int type, const char *peer,
                    char *msg, size_t msglen)
{
    Fastn__PendingRequest pr = FASTN__PENDING_REQUEST__INIT;
    struct peer_id pid;

    if (!c || !peer)
        return FASTN_ERR_INVAL;
    if (peer_id_parse(peer, &pid))
        return FASTN_ERR_BAD_PEER_ID;
    pr.has_peer = true;
    pr.peer.data = pid.bytes;
    pr.peer.len = pid.len;
    return act(c, type, &pr, msg, msglen);
}

int fastn_client_peer_allow(struct fastn_client *c, const char *peer, char *msg,
                            size_t msglen)
{
    return peer_act(c, TYPE_(PEER_ALLOW), peer, msg, msglen);
}

int fastn_client_peer_block(struct fastn_client *c, const char *peer, char *msg,
                            size_t msglen)
{
    return peer_act(c, TYPE_(PEER_BLOCK), peer, msg, msglen);
}

void fastn_peer_rules_free(struct fastn_peer_rules *l)
{
    if (!l)
        return;
    free(l->peers);
    free(l);
}

int fastn_client_peer_rules(struct fastn_client *c,
                            struct fastn_peer_rules **out)
{
    P2pd__Pb__Response *r = NULL;
    struct fastn_peer_rules *l;
    int rc;

    if (!c || !out)
        return FASTN_ERR_INVAL;
    if ((rc = exchange(c, TYPE_(PEER_LIST), NULL, &r)))
        return rc;
    l = calloc(1, sizeof(*l));
    if (l)
        l->peers =
            calloc(r->fastn->n_peer_entries ? r->fastn->n_peer_entries : 1,
                   sizeof(*l->peers));
    rc = l && l->peers ? 0 : FASTN_ERR_NOMEM;
    for (size_t i = 0; !rc && i < r->fastn->n_peer_entries; i++) {
        const Fastn__PeerEntry *e = r->fastn->peer_entries[i];
        if (!e || !e->peer || !e->state) {
            rc = FASTN_ERR_PROTOCOL;
            break;
        }
        COPY_(l->peers[i].peer, e->peer);
        COPY_(l->peers[i].state, e->state);
        l->n_peers = i + 1;
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_peer_rules_free(l);
        return rc;
    }
    *out = l;
    return 0;
}
