/*
 * Kept data and peers (fastn.proto, PENDING_* and PEER_ALLOW, _BLOCK,
 * _LIST): what the quarantine keeps, read from the state database, with
 * what is offered for each protocol; approving, rejecting, allowing and
 * blocking go to the daemon (struct ipc_pending). Privileges are in
 * ext.c's table: listing kept data is the owner's (peers sent it to the
 * owner), changing anything an admin's, the peer list anyone's.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "plugin/manifest.h"
#include "store/store.h"

#define PEERS_MAX 4096

static char *dup_text(struct ipc_reply *r, const char *s)
{
    size_t n = strlen(s ? s : "");
    char *d = ipc_reply_alloc(r, n + 1);
    if (d && n)
        memcpy(d, s, n);
    return d;
}

static int need_pending(struct ipc_call *call)
{
    if (call->host->pending && call->host->state)
        return 0;
    ipc_reply_set_msg(&call->reply, "this fastnd keeps no data for unknown "
                                    "protocols (it runs no network)");
    return FASTN_ERR_UNSUPPORTED;
}

/* The offer's capabilities and apps into o. */
static int offer_lists(struct ipc_reply *r, const struct ipc_pending_offer *of,
                       Fastn__PendingItem *o)
{
    o->capabilities = ipc_reply_alloc(r, 32 * sizeof(char *));
    if (!o->capabilities)
        return FASTN_ERR_NOMEM;
    for (unsigned bit = 1; bit; bit <<= 1)
        if ((of->caps & bit) && plugin_cap_name(bit) && o->n_capabilities < 32)
            o->capabilities[o->n_capabilities++] = (char *)plugin_cap_name(bit);
    if (!of->m || !of->m->n_apps)
        return 0;
    o->apps = ipc_reply_alloc(r, of->m->n_apps * sizeof(char *));
    if (!o->apps)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < of->m->n_apps; i++)
        if (!(o->apps[o->n_apps++] = dup_text(r, of->m->apps[i])))
            return FASTN_ERR_NOMEM;
    return 0;
}

static Fastn__PendingItem *item_to_pb(struct ipc_call *call,
                                      const struct store_quarantine_item *it)
{
    const struct ipc_pending *p = call->host->pending;
    struct ipc_reply *r = &call->reply;
    Fastn__PendingItem *o = ipc_reply_alloc(r, sizeof(*o));
    struct ipc_pending_offer of;

    if (!o)
        return NULL;
    fastn__pending_item__init(o);
    p->offer(p->arg, it->protocol, &of);
    o->id = it->id;
    o->peer = dup_text(r, it->peer);
    o->protocol = dup_text(r, it->protocol);
    o->bytes = it->size;
    o->received_ms = it->received_ms;
    o->complete = it->complete;
    o->state = dup_text(r, of.state);
    if (of.plugin[0])
        o->plugin = dup_text(r, of.plugin);
    if (of.version[0])
        o->version = dup_text(r, of.version);
    if (of.source[0])
        o->source = dup_text(r, of.source);
    if (of.signer[0])
        o->signer = dup_text(r, of.signer);
    if (of.why[0])
        o->why = dup_text(r, of.why);
    if (!o->peer || !o->protocol || !o->state || offer_lists(r, &of, o))
        return NULL;
    return o;
}

int ipc_pending_list(struct ipc_call *call, const Fastn__Request *req,
                     Fastn__Response *ext)
{
    struct store_quarantine_item *v = NULL;
    size_t n = 0;
    int err;

    (void)req;
    if ((err = need_pending(call)) ||
        (err = store_quarantine_list(call->host->state, NULL, &v, &n)))
        return err;
    ext->pending = ipc_reply_alloc(&call->reply, (n ? n : 1) * sizeof(void *));
    if (!ext->pending)
        err = FASTN_ERR_NOMEM;
    for (size_t i = 0; !err && i < n; i++)
        if (!(ext->pending[ext->n_pending++] = item_to_pb(call, &v[i])))
            err = FASTN_ERR_NOMEM;
    store_quarantine_items_free(v, n);
    if (err)
        ext->n_pending = 0;
    return err;
}

/* What was done (the message), or the error with it. */
static int answer(struct ipc_call *call, Fastn__Response *ext, int err,
                  const char *msg)
{
    if (err)
        ipc_reply_set_msg(&call->reply, "%s", msg);
    else if (!(ext->message = dup_text(&call->reply, msg)))
        return FASTN_ERR_NOMEM;
    return err;
}

/* The request's item: an id or a protocol, one of them. */
static int target(struct ipc_call *call, const Fastn__PendingRequest *pr,
                  int64_t *id, const char **protocol)
{
    *id = 0;
    *protocol = NULL;
    if (pr && pr->protocol && pr->protocol[0] &&
        strlen(pr->protocol) <= STORE_PROTOCOL_MAX) {
        *protocol = pr->protocol;
        return 0;
    }
    if (pr && pr->has_id && pr->id > 0) {
        *id = pr->id;
        return 0;
    }
    ipc_reply_set_msg(&call->reply, "name kept data by its id or its "
                                    "protocol (fastn plugin pending lists "
                                    "them)");
    return FASTN_ERR_INVAL;
}

int ipc_pending_approve(struct ipc_call *call, const Fastn__Request *req,
                        Fastn__Response *ext)
{
    const struct ipc_pending *p = call->host->pending;
    const Fastn__PendingRequest *pr = req->pending;
    const char *protocol;
    unsigned grant = 0;
    char msg[600] = "";
    int64_t id;
    int err;

    if ((err = need_pending(call)) || (err = target(call, pr, &id, &protocol)))
        return err;
    for (size_t i = 0; i < pr->n_grant; i++) {
        unsigned bit = plugin_cap_from_name(pr->grant[i]);
        if (!bit) {
            ipc_reply_set_msg(&call->reply,
                              "unknown capability \"%.32s\" (streams, "
                              "storage, notify, timers)",
                              pr->grant[i]);
            return FASTN_ERR_INVAL;
        }
        grant |= bit;
    }
    err = p->approve(p->arg, id, protocol, grant, msg, sizeof(msg));
    return answer(call, ext, err, msg);
}

int ipc_pending_reject(struct ipc_call *call, const Fastn__Request *req,
                       Fastn__Response *ext)
{
    const struct ipc_pending *p = call->host->pending;
    const Fastn__PendingRequest *pr = req->pending;
    const char *protocol;
    char msg[600] = "";
    int64_t id;
    int err;

    if ((err = need_pending(call)) || (err = target(call, pr, &id, &protocol)))
        return err;
    err = p->reject(p->arg, id, protocol, pr->has_block_peer && pr->block_peer,
                    msg, sizeof(msg));
    return answer(call, ext, err, msg);
}

static int peer_of(struct ipc_call *call, const Fastn__PendingRequest *pr,
                   struct peer_id *out)
{
    if (pr && pr->has_peer &&
        peer_id_from_bytes(pr->peer.data, pr->peer.len, out) == 0)
        return 0;
    ipc_reply_set_msg(&call->reply, "name the peer by its PeerID "
                                    "(12D3KooW...)");
    return FASTN_ERR_BAD_PEER_ID;
}

/* PEER_ALLOW and PEER_BLOCK: the peer named, then the quarantine's op. */
static int peer_op(struct ipc_call *call, const Fastn__Request *req,
                   Fastn__Response *ext, bool block)
{
    const struct ipc_pending *p = call->host->pending;
    struct peer_id pid;
    char msg[600] = "";
    int err;

    if ((err = need_pending(call)) || (err = peer_of(call, req->pending, &pid)))
        return err;
    err =
        (block ? p->peer_block : p->peer_allow)(p->arg, &pid, msg, sizeof(msg));
    return answer(call, ext, err, msg);
}

int ipc_peer_allow(struct ipc_call *call, const Fastn__Request *req,
                   Fastn__Response *ext)
{
    return peer_op(call, req, ext, false);
}

int ipc_peer_block(struct ipc_call *call, const Fastn__Request *req,
                   Fastn__Response *ext)
{
    return peer_op(call, req, ext, true);
}

static int add_peer(struct ipc_reply *r, Fastn__Response *ext,
                    const struct peer_id *pid, const char *state)
{
    Fastn__PeerEntry *o = ipc_reply_alloc(r, sizeof(*o));
    char text[PEER_ID_STR_MAX];

    if (!o)
        return FASTN_ERR_NOMEM;
    fastn__peer_entry__init(o);
    o->peer = dup_text(r, peer_id_format(pid, text));
    o->state = (char *)state;
    if (!o->peer)
        return FASTN_ERR_NOMEM;
    ext->peer_entries[ext->n_peer_entries++] = o;
    return 0;
}

int ipc_peer_list(struct ipc_call *call, const Fastn__Request *req,
                  Fastn__Response *ext)
{
    const struct ipc_pending *p = call->host->pending;
    struct store_reconnect *allowed = NULL;
    struct peer_id *blocked;
    size_t n_allowed = 0, n_blocked;
    int err;

    (void)req;
    if ((err = need_pending(call)))
        return err;
    blocked = ipc_reply_alloc(&call->reply, PEERS_MAX * sizeof(*blocked));
    if (!blocked)
        return FASTN_ERR_NOMEM;
    n_blocked = p->blocked(p->arg, blocked, PEERS_MAX);
    if ((err = store_peer_allowed(call->host->state, &allowed, &n_allowed)))
        return err;
    ext->peer_entries = ipc_reply_alloc(
        &call->reply, (n_allowed + n_blocked + 1) * sizeof(void *));
    if (!ext->peer_entries)
        err = FASTN_ERR_NOMEM;
    for (size_t i = 0; !err && i < n_allowed; i++) {
        struct peer_id pid;
        if (peer_id_from_bytes(allowed[i].peer, allowed[i].len, &pid) == 0)
            err = add_peer(&call->reply, ext, &pid, "allowed");
    }
    for (size_t i = 0; !err && i < n_blocked; i++)
        err = add_peer(&call->reply, ext, &blocked[i], "blocked");
    free(allowed);
    return err;
}
