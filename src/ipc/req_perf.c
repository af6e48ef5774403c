/*
 * The fastn extension's PERF and PERF_PROGRESS: /perf/1.0.0 run by the
 * daemon itself (net/swarm.h swarm_perf), so that measuring throughput
 * between two daemons moves no byte through a client socket.
 *
 * PERF is deferred unordered: it is answered when the run ends, matched
 * by call_id, while the connection goes on serving requests. PERF_PROGRESS
 * names a running PERF of the same connection by that call_id and is
 * answered at once with the figures so far. A connection that closes
 * cancels its runs (the stream is reset).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "net/swarm.h"

struct perf_ctx {
    struct ipc_call *dc;
    struct swarm_perf *p;
    struct peer_id peer;
    uint64_t call_id, download;
};

/* The figures of a run (done or not) as a PerfResult. */
static Fastn__PerfResult *
perf_result(struct ipc_reply *r, const struct swarm_perf_stats *st, bool done)
{
    Fastn__PerfResult *res = ipc_reply_alloc(r, sizeof(*res));
    uint64_t now = st->now_us, open = st->open_us;

    if (!res)
        return NULL;
    fastn__perf_result__init(res);
    res->has_done = res->has_uploaded = res->has_downloaded = true;
    res->done = done;
    res->uploaded = st->uploaded;
    res->downloaded = st->downloaded;
    if (!open)
        return res;
    res->has_open_us = res->has_elapsed_us = true;
    res->has_upload_us = res->has_download_us = true;
    res->open_us = open - st->start_us;
    res->elapsed_us = (st->end_us ? st->end_us : now) - open;
    res->upload_us = (st->reply_us ? st->reply_us : now) - open;
    if (st->reply_us)
        res->download_us = (st->end_us ? st->end_us : now) - st->reply_us;
    return res;
}

static void perf_done(void *arg, int err, const struct swarm_perf_stats *st)
{
    struct perf_ctx *ctx = arg;
    struct ipc_call *dc = ctx->dc;
    char pid[PEER_ID_STR_MAX];

    if (!err && !(dc->reply.ext.perf = perf_result(&dc->reply, st, true)))
        err = FASTN_ERR_NOMEM;
    if (err == FASTN_ERR_MALFORMED)
        ipc_reply_set_msg(&dc->reply,
                          "perf with %s: the peer sent %" PRIu64
                          " bytes back (asked for %" PRIu64 "), or answered "
                          "before the upload's end",
                          peer_id_format(&ctx->peer, pid), st->downloaded,
                          ctx->download);
    else if (err)
        ipc_reply_set_msg(&dc->reply, "perf with %s failed: %s",
                          peer_id_format(&ctx->peer, pid), fastn_strerror(err));
    free(ctx);
    ipc_call_finish(dc, err);
}

static void perf_cancel(struct ipc_call *dc)
{
    struct perf_ctx *ctx = dc->data;

    swarm_perf_cancel(ctx->p);
    free(ctx);
}

int ipc_ext_perf(struct ipc_call *call, const Fastn__Request *req,
                 Fastn__Response *ext)
{
    const Fastn__PerfRequest *pr = req->perf;
    struct perf_ctx *ctx;
    int err;

    (void)ext;
    if (!call->host->swarm)
        return ipc_no_network(call);
    if (!pr) {
        ipc_reply_set_msg(&call->reply, "PERF without its part");
        return FASTN_ERR_MALFORMED;
    }
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return FASTN_ERR_NOMEM;
    ctx->call_id = req->call_id;
    ctx->download = pr->download;
    err = ipc_req_peer(call, &pr->peer, &ctx->peer);
    if (!err)
        err = swarm_perf(call->host->swarm, &ctx->peer, pr->upload,
                         pr->download, pr->has_timeout_ms ? pr->timeout_ms : 0,
                         perf_done, ctx, &ctx->p);
    if (!err &&
        !(ctx->dc = ipc_call_defer(call, false, perf_cancel, ctx, &err)))
        swarm_perf_cancel(ctx->p);
    else if (!err)
        ctx->dc->eof_cancels = true;
    if (err) {
        free(ctx);
        return err;
    }
    return IPC_DEFERRED;
}

int ipc_ext_perf_progress(struct ipc_call *call, const Fastn__Request *req,
                          Fastn__Response *ext)
{
    struct swarm_perf_stats st;
    struct ipc_call *dc;

    if (!req->perf_progress) {
        ipc_reply_set_msg(&call->reply, "PERF_PROGRESS without its part");
        return FASTN_ERR_MALFORMED;
    }
    for (dc = call->session->deferred; dc; dc = dc->next) {
        struct perf_ctx *ctx = dc->data;
        if (dc->cancel != perf_cancel ||
            ctx->call_id != req->perf_progress->call_id)
            continue;
        swarm_perf_get(ctx->p, &st);
        ext->perf = perf_result(&call->reply, &st, false);
        return ext->perf ? 0 : FASTN_ERR_NOMEM;
    }
    ipc_reply_set_msg(&call->reply,
                      "no perf with call_id %" PRIu64 " runs on this "
                      "connection",
                      req->perf_progress->call_id);
    return FASTN_ERR_NOT_FOUND;
}
