/*
 * The fastn extension's one-shot calls: CALL(peer, protocol, data) opens
 * a stream, writes data right behind the protocol proposal, closes its
 * write side, and answers with everything the peer wrote until it closed
 * its own. Calls are deferred unordered: many run at once on one control
 * connection, each answered when it completes, matched by call_id.
 *
 * Bounds: the reply is at most max_reply bytes (else FASTN_ERR_TOO_LARGE
 * and the stream is reset), the call at most timeout_ms, and a session's
 * calls together may reserve at most IPC_CALL_BUDGET bytes of replies,
 * a uid's (but the owner's) as much (ipc_limits_reserve).
 */
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "ipc/frame.h"
#include "ipc/ipc_int.h"
#include "router/router.h"

#define CALL_TIMEOUT_MS 30000
#define CALL_TIMEOUT_MAX_MS 600000
#define CALL_REPLY_DEFAULT (1u << 20)
/* Room for the envelope in a response libfastn accepts. */
#define CALL_REPLY_MAX (IPC_MAX_RESPONSE - (64u << 10))

/* The router runs the call's stream; this answers the client. */
struct call_ctx {
    struct ipc_call *dc;
    struct router_call *rc;
    struct peer_id peer;
    size_t max_reply;
};

static void call_done(void *arg, int err, const uint8_t *p, size_t n)
{
    struct call_ctx *ctx = arg;
    struct ipc_call *dc = ctx->dc;
    Fastn__CallResult *res;
    char pid[PEER_ID_STR_MAX];

    if (!err) {
        res = ipc_reply_alloc(&dc->reply, sizeof(*res));
        if (res) {
            fastn__call_result__init(res);
            res->data.data = (uint8_t *)p;
            res->data.len = n;
            dc->reply.ext.call = res;
        } else {
            err = FASTN_ERR_NOMEM;
        }
    } else if (err == FASTN_ERR_TOO_LARGE) {
        ipc_reply_set_msg(&dc->reply,
                          "the reply is larger than max_reply (%zu bytes)",
                          ctx->max_reply);
    } else {
        ipc_reply_set_msg(&dc->reply, "call to %s failed: %s",
                          peer_id_format(&ctx->peer, pid), fastn_strerror(err));
    }
    free(ctx);
    ipc_call_finish(dc, err); /* packs the reply: p may go after */
}

static void call_cancel(struct ipc_call *dc)
{
    struct call_ctx *ctx = dc->data;

    router_call_cancel(ctx->rc);
    free(ctx);
}

static int parse(struct ipc_call *call, const Fastn__CallRequest *c,
                 struct peer_id *peer, uint32_t *timeout, size_t *max_reply)
{
    int err = ipc_req_peer(call, &c->peer, peer);

    if (err)
        return err;
    if (!c->protocol || !c->protocol[0]) {
        ipc_reply_set_msg(&call->reply, "CALL without a protocol");
        return FASTN_ERR_MALFORMED;
    }
    *timeout =
        c->has_timeout_ms && c->timeout_ms ? c->timeout_ms : CALL_TIMEOUT_MS;
    if (*timeout > CALL_TIMEOUT_MAX_MS)
        *timeout = CALL_TIMEOUT_MAX_MS;
    *max_reply =
        c->has_max_reply && c->max_reply ? c->max_reply : CALL_REPLY_DEFAULT;
    if (*max_reply > CALL_REPLY_MAX)
        *max_reply = CALL_REPLY_MAX;
    return 0;
}

int ipc_ext_call(struct ipc_call *call, const Fastn__Request *req,
                 Fastn__Response *ext)
{
    const Fastn__CallRequest *c = req->call;
    struct call_ctx *ctx;
    uint32_t timeout;
    size_t max_reply;
    int err;

    (void)ext;
    if (!call->host->router)
        return ipc_no_network(call);
    if (!c) {
        ipc_reply_set_msg(&call->reply, "CALL without its part");
        return FASTN_ERR_MALFORMED;
    }
    if (!(ctx = calloc(1, sizeof(*ctx))))
        return FASTN_ERR_NOMEM;
    if ((err = parse(call, c, &ctx->peer, &timeout, &max_reply)) ||
        (err = ipc_limits_reserve(call, max_reply))) {
        free(ctx);
        return err;
    }
    call->reserved = max_reply; /* given back with the answer */
    ctx->max_reply = max_reply;
    err = router_call(call->host->router, &ctx->peer, c->protocol,
                      c->has_data ? c->data.data : NULL,
                      c->has_data ? c->data.len : 0, timeout, max_reply,
                      call_done, ctx, &ctx->rc);
    if (!err &&
        !(ctx->dc = ipc_call_defer(call, false, call_cancel, ctx, &err)))
        router_call_cancel(ctx->rc);
    if (err) {
        ipc_limits_unreserve(call->session, max_reply);
        call->reserved = 0;
        free(ctx);
        return err;
    }
    return IPC_DEFERRED;
}
