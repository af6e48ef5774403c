/*
 * Stream requests as go-libp2p-daemon serves them: STREAM_OPEN (once the
 * protocol is agreed the response goes out, and then the client's socket
 * carries the stream's bytes both ways, with half-close), STREAM_HANDLER
 * and REMOVE_STREAM_HANDLER (client handlers in the router), and the
 * fastn extension's STREAM_RESULT, which tells a raw-socket client how
 * its stream ended (a reset looks like EOF on a Unix socket).
 */
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "net/swarm.h"
#include "router/router.h"

#define DEFAULT_TIMEOUT_MS 60000

/* --- STREAM_OPEN
 * -------------------------------------------------------------- */

struct open_ctx {
    struct ipc_call *dc;
    struct swarm_stream *s;
    struct router *router;
};

static void open_handoff(void *arg, int fd, const uint8_t *rest, size_t n)
{
    struct router_splice *sp = arg;

    if (fd < 0)
        router_splice_abort(sp);
    else
        router_splice_attach(sp, fd, rest, n);
}

/* The StreamInfo answer, with the fastn part naming the stream. */
static int open_reply(struct ipc_call *dc, struct swarm_stream *s,
                      uint64_t result_id)
{
    struct ipc_reply *r = &dc->reply;
    const struct peer_id *peer = swarm_stream_peer(s);
    const struct multiaddr *addr = swarm_stream_remote_addr(s);
    const char *proto = swarm_stream_protocol(s);
    P2pd__Pb__StreamInfo *si = ipc_reply_alloc(r, sizeof(*si));
    Fastn__StreamResult *res = ipc_reply_alloc(r, sizeof(*res));
    uint8_t *pb = ipc_reply_alloc(r, peer->len);
    uint8_t *ab = ipc_reply_alloc(r, addr->len + 1);
    char *pr = ipc_reply_alloc(r, strlen(proto) + 1);

    if (!si || !res || !pb || !ab || !pr)
        return FASTN_ERR_NOMEM;
    p2pd__pb__stream_info__init(si);
    memcpy(pb, peer->bytes, peer->len);
    memcpy(ab, addr->bytes, addr->len);
    memcpy(pr, proto, strlen(proto) + 1);
    si->peer = (ProtobufCBinaryData){peer->len, pb};
    si->addr = (ProtobufCBinaryData){addr->len, ab};
    si->proto = pr;
    r->resp.streaminfo = si;
    fastn__stream_result__init(res);
    res->stream_id = result_id;
    ipc_reply_ext(r)->stream = res;
    return 0;
}

static void open_cb(struct swarm_stream *s, const struct swarm_stream_event *ev,
                    void *arg)
{
    struct open_ctx *ctx = arg;
    struct ipc_call *dc = ctx->dc;
    struct router_splice *sp;
    uint64_t id = 0;
    int err;

    if (ev->type == SWARM_STREAM_OPEN) {
        /* from here the splice owns the stream and keeps its data until
         * the socket is handed over */
        sp = router_splice_new(ctx->router, s, &id);
        err = sp ? open_reply(dc, s, id) : FASTN_ERR_NOMEM;
        if (err) {
            router_splice_abort(sp);
        } else {
            ipc_session_handoff(dc->session, open_handoff, sp);
        }
        free(ctx);
        ipc_call_finish(dc, err);
        return;
    }
    if (ev->type == SWARM_STREAM_CLOSED) {
        char pid[PEER_ID_STR_MAX];
        ipc_reply_set_msg(&dc->reply, "cannot open a stream to %s: %s",
                          peer_id_format(swarm_stream_peer(s), pid),
                          fastn_strerror(ev->err));
        free(ctx);
        ipc_call_finish(dc, ev->err ? ev->err : FASTN_ERR_NET_STREAM_RESET);
    }
}

static void open_cancel(struct ipc_call *dc)
{
    struct open_ctx *ctx = dc->data;

    swarm_stream_reset(ctx->s);
    free(ctx);
}

int ipc_handle_stream_open(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    const P2pd__Pb__StreamOpenRequest *so = req->streamopen;
    struct open_ctx *ctx;
    struct peer_id peer;
    uint32_t ms = DEFAULT_TIMEOUT_MS;
    int err;

    if (!call->host->swarm || !call->host->router)
        return ipc_no_network(call);
    if (!so || so->n_proto == 0 || so->n_proto > SWARM_MAX_PROPOSALS) {
        ipc_reply_set_msg(&call->reply, "STREAM_OPEN wants a peer and 1 to "
                                        "16 protocols");
        return FASTN_ERR_MALFORMED;
    }
    err = ipc_req_peer(call, &so->peer, &peer);
    if (err)
        return err;
    if (so->has_timeout && so->timeout > 0)
        ms = so->timeout > 3600 ? 3600000u : (uint32_t)so->timeout * 1000;
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return FASTN_ERR_NOMEM;
    ctx->router = call->host->router;
    ctx->s = swarm_stream_open(call->host->swarm, &peer,
                               (const char *const *)so->proto, so->n_proto, ms,
                               open_cb, ctx, &err);
    if (ctx->s &&
        !(ctx->dc = ipc_call_defer(call, true, open_cancel, ctx, &err)))
        swarm_stream_reset(ctx->s);
    if (err) {
        free(ctx);
        if (err == FASTN_ERR_NET_NO_ADDR)
            ipc_reply_set_msg(&call->reply, "%s", fastn_strerror(err));
        return err;
    }
    return IPC_DEFERRED;
}

/* --- STREAM_HANDLER
 * -------------------------------------------------------------- */

/* A handler address: a binary multiaddr, or (older clients) a plain
 * Unix socket path. */
static int handler_addr(struct ipc_call *call, const ProtobufCBinaryData *b,
                        struct multiaddr *out)
{
    if (multiaddr_from_bytes(b->data, b->len, out) == 0)
        return 0;
    if (b->len > 1 && b->len <= MULTIADDR_UNIX_MAX && b->data[0] == '/' &&
        !memchr(b->data, 0, b->len)) {
        memset(out, 0, sizeof(*out));
        if (multiaddr_append(out, MA_UNIX, b->data, b->len) == 0)
            return 0;
    }
    ipc_reply_set_msg(&call->reply, "the handler address is neither a "
                                    "multiaddr nor a socket path");
    return FASTN_ERR_BAD_MULTIADDR;
}

int ipc_handle_stream_handler(struct ipc_call *call,
                              const P2pd__Pb__Request *req)
{
    const P2pd__Pb__StreamHandlerRequest *sh = req->streamhandler;
    struct router *r = call->host->router;
    struct multiaddr addr;
    size_t i;
    int err = 0;

    if (!r)
        return ipc_no_network(call);
    if (!sh || sh->n_proto == 0) {
        ipc_reply_set_msg(&call->reply, "STREAM_HANDLER wants an address and "
                                        "protocols");
        return FASTN_ERR_MALFORMED;
    }
    err = handler_addr(call, &sh->addr, &addr);
    for (i = 0; !err && i < sh->n_proto; i++) {
        bool had = router_has(r, sh->proto[i]);
        err = router_add_client(r, sh->proto[i], &addr, sh->balanced);
        if (err == FASTN_ERR_EXISTS && had)
            ipc_reply_set_msg(&call->reply,
                              "handler for protocol %s already "
                              "set (register with balanced to "
                              "share it)",
                              sh->proto[i]);
    }
    if (err) /* all or nothing */
        while (i-- > 1)
            router_remove_client(r, sh->proto[i - 1], &addr);
    return err;
}

int ipc_handle_remove_stream_handler(struct ipc_call *call,
                                     const P2pd__Pb__Request *req)
{
    const P2pd__Pb__RemoveStreamHandlerRequest *rh = req->removestreamhandler;
    struct router *r = call->host->router;
    struct multiaddr addr;
    int err;

    if (!r)
        return ipc_no_network(call);
    if (!rh || rh->n_proto == 0) {
        ipc_reply_set_msg(&call->reply, "REMOVE_STREAM_HANDLER wants an "
                                        "address and protocols");
        return FASTN_ERR_MALFORMED;
    }
    err = handler_addr(call, &rh->addr, &addr);
    for (size_t i = 0; !err && i < rh->n_proto; i++) {
        err = router_remove_client(r, rh->proto[i], &addr);
        if (err)
            ipc_reply_set_msg(&call->reply,
                              "no handler for protocol %s at "
                              "that address",
                              rh->proto[i]);
    }
    return err;
}

/* --- STREAM_RESULT
 * ------------------------------------------------------------------- */

int ipc_ext_stream_result(struct ipc_call *call, const Fastn__Request *req,
                          Fastn__Response *ext)
{
    enum router_stream_state state;
    Fastn__StreamResult *res;
    int code, err;

    if (!call->host->router)
        return ipc_no_network(call);
    if (!req->stream_result) {
        ipc_reply_set_msg(&call->reply, "STREAM_RESULT without its part");
        return FASTN_ERR_MALFORMED;
    }
    err = router_stream_result(call->host->router,
                               req->stream_result->stream_id, &state, &code);
    if (err) {
        ipc_reply_set_msg(&call->reply, "no such stream (or long gone)");
        return err;
    }
    res = ipc_reply_alloc(&call->reply, sizeof(*res));
    if (!res)
        return FASTN_ERR_NOMEM;
    fastn__stream_result__init(res);
    res->stream_id = req->stream_result->stream_id;
    res->has_state = res->has_code = true;
    res->state = (Fastn__StreamResult__State)state;
    res->code = code;
    ext->stream = res;
    return 0;
}
