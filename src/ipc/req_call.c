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
#include "net/swarm.h"

#define CALL_TIMEOUT_MS 30000
#define CALL_TIMEOUT_MAX_MS 600000
#define CALL_REPLY_DEFAULT (1u << 20)
/* Room for the envelope in a response libfastn accepts. */
#define CALL_REPLY_MAX (IPC_MAX_RESPONSE - (64u << 10))

struct call_ctx {
    struct ipc_call *dc; /* NULL once answered */
    struct swarm_stream *s;
    uint8_t *req;
    size_t req_len, req_off;
    bool closed;
    struct buf reply;
};

static void ctx_free(struct call_ctx *ctx)
{
    buf_cleanup(&ctx->reply);
    free(ctx->req);
    free(ctx);
}

/* Writes what the stream takes of the request; closes after the last. */
static void push(struct call_ctx *ctx)
{
    while (ctx->req_off < ctx->req_len) {
        int k = swarm_stream_write(ctx->s, ctx->req + ctx->req_off,
                                   ctx->req_len - ctx->req_off);
        if (k <= 0)
            return;
        ctx->req_off += (size_t)k;
    }
    if (!ctx->closed) {
        ctx->closed = true;
        swarm_stream_close(ctx->s);
    }
}

static void answer(struct call_ctx *ctx, int err)
{
    struct ipc_call *dc = ctx->dc;
    Fastn__CallResult *res;

    ctx->dc = NULL;
    if (!dc)
        return;
    if (!err) {
        res = ipc_reply_alloc(&dc->reply, sizeof(*res));
        if (res) {
            fastn__call_result__init(res);
            res->data.data = ctx->reply.data;
            res->data.len = ctx->reply.len;
            dc->reply.ext.call = res;
        } else {
            err = FASTN_ERR_NOMEM;
        }
    } else if (!dc->reply.msg[0]) {
        char pid[PEER_ID_STR_MAX];
        ipc_reply_set_msg(&dc->reply, "call to %s failed: %s",
                          peer_id_format(swarm_stream_peer(ctx->s), pid),
                          fastn_strerror(err));
    }
    ipc_call_finish(dc, err); /* packs the reply: ctx->reply may go after */
}

static void call_cb(struct swarm_stream *s, const struct swarm_stream_event *ev,
                    void *arg)
{
    struct call_ctx *ctx = arg;

    switch (ev->type) {
    case SWARM_STREAM_WRITABLE:
        push(ctx);
        break;
    case SWARM_STREAM_DATA:
        if (!ctx->dc)
            break;
        if (buf_append(&ctx->reply, ev->data, ev->len) != 0) {
            ipc_reply_set_msg(&ctx->dc->reply,
                              "the reply is larger than "
                              "max_reply (%zu bytes)",
                              ctx->reply.max);
            answer(ctx, FASTN_ERR_TOO_LARGE);
            swarm_stream_reset(s);
            ctx_free(ctx);
            return;
        }
        swarm_stream_consumed(s, ev->len);
        break;
    case SWARM_STREAM_FIN:
        answer(ctx, 0);
        if (ctx->req_off < ctx->req_len) { /* the peer stopped reading */
            swarm_stream_reset(s);
            ctx_free(ctx);
        }
        break;
    case SWARM_STREAM_CLOSED:
        answer(ctx, ev->err ? ev->err : FASTN_ERR_NET_STREAM_RESET);
        ctx_free(ctx);
        break;
    default:
        break;
    }
}

static void call_cancel(struct ipc_call *dc)
{
    struct call_ctx *ctx = dc->data;

    ctx->dc = NULL;
    swarm_stream_reset(ctx->s);
    ctx_free(ctx);
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
    struct peer_id peer;
    uint32_t timeout;
    size_t max_reply;
    int err;

    (void)ext;
    if (!call->host->swarm)
        return ipc_no_network(call);
    if (!c) {
        ipc_reply_set_msg(&call->reply, "CALL without its part");
        return FASTN_ERR_MALFORMED;
    }
    if ((err = parse(call, c, &peer, &timeout, &max_reply)))
        return err;
    if ((err = ipc_limits_reserve(call, max_reply)))
        return err;
    call->reserved = max_reply; /* given back with the answer */
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx ||
        (c->has_data && c->data.len && !(ctx->req = malloc(c->data.len)))) {
        free(ctx);
        ipc_limits_unreserve(call->session, max_reply);
        return FASTN_ERR_NOMEM;
    }
    if (c->has_data && c->data.len) {
        memcpy(ctx->req, c->data.data, c->data.len);
        ctx->req_len = c->data.len;
    }
    buf_init(&ctx->reply, max_reply);
    ctx->s = swarm_stream_open(call->host->swarm, &peer,
                               (const char *const[]){c->protocol}, 1, 0,
                               call_cb, ctx, &err);
    if (ctx->s) {
        swarm_stream_set_timeout(ctx->s, timeout);
        push(ctx); /* right behind the proposal */
        if (!(ctx->dc = ipc_call_defer(call, false, call_cancel, ctx, &err)))
            swarm_stream_reset(ctx->s);
    }
    if (err) {
        ipc_limits_unreserve(call->session, max_reply);
        ctx_free(ctx);
        return err;
    }
    return IPC_DEFERRED;
}
