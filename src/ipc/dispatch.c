/*
 * Request dispatch and the handlers of the libp2p daemon request types.
 *
 * One handler per Request.Type, listed in `handlers`: it fills
 * call->reply and returns 0, or returns an error code (optionally after
 * ipc_reply_set_msg()) and the client gets an ERROR response with that
 * code. Types without a handler are answered FASTN_ERR_UNSUPPORTED, and
 * the session goes on: a well-formed request the daemon cannot serve is
 * not bad input.
 */
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
    const struct identity *ident = call->host->identity;
    struct multiaddr *addrs = NULL;
    size_t n = 0;

    (void)req;
    id = ipc_reply_alloc(&call->reply, sizeof(*id));
    if (!id)
        return FASTN_ERR_NOMEM;
    p2pd__pb__identify_response__init(id);
    /* Only the PeerID leaves: never the identity's secret half. */
    id->id.data = (uint8_t *)ident->id.bytes;
    id->id.len = ident->id.len;
    if (call->host->swarm) {
        addrs = ipc_reply_alloc(&call->reply, 32 * sizeof(*addrs));
        id->addrs = ipc_reply_alloc(&call->reply, 32 * sizeof(*id->addrs));
        if (!addrs || !id->addrs)
            return FASTN_ERR_NOMEM;
        n = swarm_listen_addrs(call->host->swarm, addrs, 32);
    }
    for (size_t i = 0; i < n; i++) {
        id->addrs[i].data = addrs[i].bytes;
        id->addrs[i].len = addrs[i].len;
    }
    id->n_addrs = n;
    call->reply.resp.identify = id;
    return 0;
}

static const struct {
    int type;
    ipc_handler_fn fn;
} handlers[] = {
    {P2PD__PB__REQUEST__TYPE__IDENTIFY, handle_identify},
    {P2PD__PB__REQUEST__TYPE__CONNECT, ipc_handle_connect},
    {P2PD__PB__REQUEST__TYPE__STREAM_OPEN, ipc_handle_stream_open},
    {P2PD__PB__REQUEST__TYPE__STREAM_HANDLER, ipc_handle_stream_handler},
    {P2PD__PB__REQUEST__TYPE__LIST_PEERS, ipc_handle_list_peers},
    {P2PD__PB__REQUEST__TYPE__DISCONNECT, ipc_handle_disconnect},
    {P2PD__PB__REQUEST__TYPE__REMOVE_STREAM_HANDLER,
     ipc_handle_remove_stream_handler},
    {P2PD__PB__REQUEST__TYPE__FASTN, ipc_handle_fastn},
};

const char *ipc_request_type_name(int type)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &p2pd__pb__request__type__descriptor, type);
    return v ? v->name : "UNKNOWN";
}

static ipc_handler_fn find_handler(int type)
{
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (handlers[i].type == type)
            return handlers[i].fn;
    return NULL;
}

int ipc_dispatch(struct ipc_session *s, const P2pd__Pb__Request *req,
                 uint64_t now_ms)
{
    struct ipc_call call = {.session = s, .host = s->host, .now_ms = now_ms};
    ipc_handler_fn fn = find_handler((int)req->type);
    int err;

    call.type = (int)req->type;
    ipc_reply_init(&call.reply);
    if (fn) {
        err = fn(&call, req);
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
    err = ipc_session_send(s, &call.reply.resp);
    ipc_reply_cleanup(&call.reply);
    return err == FASTN_ERR_TOO_LARGE ? 0 : err;
}
