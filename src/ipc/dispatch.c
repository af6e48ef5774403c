/*
 * Request dispatch and the handlers of the libp2p daemon request types.
 *
 * One handler per Request.Type, listed in `handlers` with the privilege
 * it needs (as OpenSSH's monitor lists its requests): the dispatcher
 * checks it before the handler runs, so a handler never decides who may
 * call it, and a new request cannot forget to. A handler fills
 * call->reply and returns 0, or returns an error code (optionally after
 * ipc_reply_set_msg()) and the client gets an ERROR response with that
 * code. Types without a handler are answered FASTN_ERR_UNSUPPORTED, and
 * the session goes on: a well-formed request the daemon cannot serve is
 * not bad input. docs/CONTROL.md gives each request's privilege and why.
 */
#include <stdarg.h>
#include <stdio.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "net/swarm.h"
#include "util/log.h"

typedef int (*ipc_handler_fn)(struct ipc_call *call,
                              const P2pd__Pb__Request *req);

/* IDENTIFY: the PeerID this socket's identity has, and the multiaddrs it
 * listens on (as peers dial them; without /p2p, as p2pd answers). */
static int handle_identify(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    P2pd__Pb__IdentifyResponse *id;
    const struct peer_id *self = &call->host->local_id;
    struct multiaddr *addrs = NULL;
    size_t n = 0;

    (void)req;
    id = ipc_reply_alloc(&call->reply, sizeof(*id));
    if (!id)
        return FASTN_ERR_NOMEM;
    p2pd__pb__identify_response__init(id);
    id->id.data = (uint8_t *)self->bytes;
    id->id.len = self->len;
    if (call->host->swarm) {
        addrs = ipc_reply_alloc(&call->reply, 32 * sizeof(*addrs));
        id->addrs = ipc_reply_alloc(&call->reply, 32 * sizeof(*id->addrs));
        if (!addrs || !id->addrs)
            return FASTN_ERR_NOMEM;
        n = swarm_advertised_addrs(call->host->swarm, addrs, 32);
    }
    for (size_t i = 0; i < n; i++) {
        id->addrs[i].data = addrs[i].bytes;
        id->addrs[i].len = addrs[i].len;
    }
    id->n_addrs = n;
    call->reply.resp.identify = id;
    return 0;
}

#define ANY IPC_PRIV_ANY_USER, NULL, NULL
#define ADMIN(what) IPC_PRIV_ADMIN, what, NULL
#define OWNER(check) IPC_PRIV_OWNER_OF_TARGET, NULL, check

/* Every p2pd request fastnd serves, with its privilege. FASTN's is the
 * extension type's, from ext.c's table. */
static const struct {
    int type;
    ipc_handler_fn fn;
    struct ipc_rule rule;
} handlers[] = {
    {P2PD__PB__REQUEST__TYPE__IDENTIFY, handle_identify, {ANY}},
    {P2PD__PB__REQUEST__TYPE__CONNECT, ipc_handle_connect, {ANY}},
    {P2PD__PB__REQUEST__TYPE__STREAM_OPEN, ipc_handle_stream_open, {ANY}},
    {P2PD__PB__REQUEST__TYPE__STREAM_HANDLER,
     ipc_handle_stream_handler,
     {OWNER(ipc_may_stream_handler)}},
    {P2PD__PB__REQUEST__TYPE__DHT, ipc_handle_dht, {OWNER(ipc_may_dht)}},
    {P2PD__PB__REQUEST__TYPE__LIST_PEERS, ipc_handle_list_peers, {ANY}},
    {P2PD__PB__REQUEST__TYPE__DISCONNECT,
     ipc_handle_disconnect,
     {ADMIN("closing the daemon's connection to a peer (every client's "
            "and plugin's streams on it end)")}},
    {P2PD__PB__REQUEST__TYPE__REMOVE_STREAM_HANDLER,
     ipc_handle_remove_stream_handler,
     {OWNER(ipc_may_remove_stream_handler)}},
    {P2PD__PB__REQUEST__TYPE__FASTN, ipc_handle_fastn, {ANY}},
};

#undef ANY
#undef ADMIN
#undef OWNER

const char *ipc_request_type_name(int type)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &p2pd__pb__request__type__descriptor, type);
    return v ? v->name : "UNKNOWN";
}

static int find(int type)
{
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (handlers[i].type == type)
            return (int)i;
    return -1;
}

const struct ipc_rule *ipc_request_rule(int type, int fastn_type)
{
    int i = find(type);

    if (i < 0)
        return NULL;
    if (type == P2PD__PB__REQUEST__TYPE__FASTN)
        return ipc_ext_rule(fastn_type);
    return &handlers[i].rule;
}

int ipc_refuse_admin(struct ipc_call *call, const char *fmt, ...)
{
    struct ipc_session *s = call->session;
    char what[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* after the code's own text ("this request needs an admin client"):
     * what was refused and how to be admitted */
    ipc_reply_set_msg(&call->reply,
                      "%s: run it as the daemon's user or root, or add "
                      "your group to admin-gids in the daemon's config",
                      what);
    LOG_RATELIMITED(LOG_INFO, "ipc", "client pid %d uid %u: %s refused: %s",
                    (int)s->peer.pid, (unsigned)s->peer.uid,
                    ipc_request_type_name(call->type), what);
    return FASTN_ERR_ADMIN_ONLY;
}

/* The privilege check, before any handler runs: admins may do anything;
 * other clients what their rule lets them. */
static int check_privilege(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    const struct ipc_rule *rule = ipc_request_rule(
        (int)req->type, req->fastn ? (int)req->fastn->type : -1);

    if (!rule || call->session->admit == IPC_ADMIN)
        return 0; /* an unknown type: its handler says so */
    switch (rule->priv) {
    case IPC_PRIV_ANY_USER:
        return 0;
    case IPC_PRIV_OWNER_OF_TARGET:
        return rule->may(call, req);
    case IPC_PRIV_ADMIN:
    default:
        return ipc_refuse_admin(call, "%s", rule->what);
    }
}

int ipc_dispatch(struct ipc_session *s, const P2pd__Pb__Request *req,
                 uint64_t now_ms)
{
    struct ipc_call call = {.session = s, .host = s->host, .now_ms = now_ms};
    int i = find((int)req->type), err;

    call.type = (int)req->type;
    ipc_reply_init(&call.reply);
    if (i >= 0) {
        if (req->type == P2PD__PB__REQUEST__TYPE__FASTN && req->fastn) {
            /* a refusal carries the call_id too */
            Fastn__Response *ext = ipc_reply_ext(&call.reply);
            ext->has_call_id = req->fastn->has_call_id;
            ext->call_id = req->fastn->call_id;
        }
        err = check_privilege(&call, req);
        if (!err)
            err = handlers[i].fn(&call, req);
        if (err == IPC_DEFERRED) { /* answered later, ipc_call_finish() */
            s->host->requests++;
            return 0;
        }
    } else {
        ipc_reply_set_msg(
            &call.reply, "fastnd does not support %s requests (type %d)",
            ipc_request_type_name((int)req->type), (int)req->type);
        err = FASTN_ERR_UNSUPPORTED;
    }
    if (err == IPC_DEFERRED) { /* answered later: ipc_deferred_answer */
        s->host->requests++;
        ipc_reply_cleanup(&call.reply);
        return 0;
    }
    if (err)
        ipc_reply_make_error(&call.reply, err);
    s->host->requests++;
    log_msg(LOG_DEBUG, "ipc", "pid %d: %s -> %s", (int)s->peer.pid,
            ipc_request_type_name((int)req->type), fastn_err_name(err));
    err = ipc_session_send_reply(s, &call.reply, err);
    ipc_reply_cleanup(&call.reply);
    return err == FASTN_ERR_TOO_LARGE ? 0 : err;
}
