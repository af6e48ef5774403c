/*
 * Streams local clients open, the other half of the data path (ipc →
 * router → net): STREAM_OPEN's stream, spliced to the client's socket
 * once the protocol is agreed (router_open), and the one-shot CALL
 * (router_call: the request written behind the protocol proposal, the
 * write side closed, everything the peer wrote until its FIN collected).
 * The control server parses the request and answers the client; the
 * stream's I/O is here, so src/ipc never touches a stream.
 *
 * Both report once, from the loop, never from inside the starting call,
 * and never after the caller cancelled. A call's reply is bounded by
 * max_reply (more resets the stream: FASTN_ERR_TOO_LARGE).
 */
#include "router/router_int.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"

/* --- STREAM_OPEN ----------------------------------------------------------
 */

struct router_open {
    struct router *r;
    struct swarm_stream *s;
    uid_t uid;
    router_open_cb cb;
    void *arg;
};

static void open_cb(struct swarm_stream *s, const struct swarm_stream_event *ev,
                    void *arg)
{
    struct router_open o = *(struct router_open *)arg;
    struct router_stream_info info = {0};
    struct router_splice *sp;
    struct peer_id peer = *swarm_stream_peer(s);

    if (ev->type != SWARM_STREAM_OPEN && ev->type != SWARM_STREAM_CLOSED)
        return;
    free(arg);
    info.peer = &peer;
    if (ev->type == SWARM_STREAM_CLOSED) {
        o.cb(o.arg, ev->err ? ev->err : FASTN_ERR_NET_STREAM_RESET, NULL,
             &info);
        return;
    }
    info.addr = swarm_stream_remote_addr(s);
    info.protocol = swarm_stream_protocol(s);
    /* from here the splice owns the stream and keeps its data until the
     * socket is attached (a failure resets and frees the stream) */
    sp = router_splice_new(o.r, s, o.uid, &info.result_id);
    if (!sp) {
        info.addr = NULL;
        info.protocol = NULL;
    }
    o.cb(o.arg, sp ? 0 : FASTN_ERR_NOMEM, sp, &info);
}

int router_open(struct router *r, const struct peer_id *peer,
                const char *const *protos, size_t n, uint32_t timeout_ms,
                uid_t uid, router_open_cb cb, void *arg,
                struct router_open **out)
{
    struct router_open *o;
    int err = 0;

    if (r->closing)
        return FASTN_ERR_CLOSED;
    if (router_splices_full(r))
        return FASTN_ERR_BUSY;
    if (!(o = calloc(1, sizeof(*o))))
        return FASTN_ERR_NOMEM;
    o->r = r;
    o->uid = uid;
    o->cb = cb;
    o->arg = arg;
    o->s =
        swarm_stream_open(r->sw, peer, protos, n, timeout_ms, open_cb, o, &err);
    if (!o->s) {
        free(o);
        return err ? err : FASTN_ERR_NET_UNREACHABLE;
    }
    *out = o;
    return 0;
}

void router_open_cancel(struct router_open *o)
{
    if (!o)
        return;
    swarm_stream_reset(o->s);
    free(o);
}

/* --- CALL -------------------------------------------------------------- */

struct router_call {
    struct swarm_stream *s;
    uint8_t *req;
    size_t req_len, req_off;
    bool closed;   /* our side is closed */
    bool answered; /* cb was called: the caller's handle is gone */
    struct buf reply;
    router_call_cb cb;
    void *arg;
};

static void call_free(struct router_call *c)
{
    buf_cleanup(&c->reply);
    free(c->req);
    free(c);
}

/* Writes what the stream takes of the request; closes after the last. */
static void call_push(struct router_call *c)
{
    while (c->req_off < c->req_len) {
        int k = swarm_stream_write(c->s, c->req + c->req_off,
                                   c->req_len - c->req_off);
        if (k <= 0)
            return;
        c->req_off += (size_t)k;
    }
    if (!c->closed) {
        c->closed = true;
        swarm_stream_close(c->s);
    }
}

static void call_answer(struct router_call *c, int err)
{
    if (c->answered)
        return;
    c->answered = true;
    c->cb(c->arg, err, c->reply.data, err ? 0 : c->reply.len);
}

static void call_cb(struct swarm_stream *s, const struct swarm_stream_event *ev,
                    void *arg)
{
    struct router_call *c = arg;

    switch (ev->type) {
    case SWARM_STREAM_WRITABLE:
        call_push(c);
        break;
    case SWARM_STREAM_DATA:
        if (c->answered)
            break;
        if (buf_append(&c->reply, ev->data, ev->len) != 0) {
            call_answer(c, FASTN_ERR_TOO_LARGE);
            swarm_stream_reset(s);
            call_free(c);
            return;
        }
        swarm_stream_consumed(s, ev->len);
        break;
    case SWARM_STREAM_FIN:
        call_answer(c, 0);
        if (c->req_off < c->req_len) { /* the peer stopped reading */
            swarm_stream_reset(s);
            call_free(c);
        }
        break;
    case SWARM_STREAM_CLOSED:
        call_answer(c, ev->err ? ev->err : FASTN_ERR_NET_STREAM_RESET);
        call_free(c);
        break;
    default:
        break;
    }
}

int router_call(struct router *r, const struct peer_id *peer,
                const char *protocol, const uint8_t *data, size_t len,
                uint32_t timeout_ms, size_t max_reply, router_call_cb cb,
                void *arg, struct router_call **out)
{
    struct router_call *c;
    int err = 0;

    if (r->closing)
        return FASTN_ERR_CLOSED;
    c = calloc(1, sizeof(*c));
    if (!c || (len && !(c->req = malloc(len)))) {
        free(c);
        return FASTN_ERR_NOMEM;
    }
    if (len)
        memcpy(c->req, data, len);
    c->req_len = len;
    c->cb = cb;
    c->arg = arg;
    buf_init(&c->reply, max_reply);
    c->s = swarm_stream_open(r->sw, peer, (const char *const[]){protocol}, 1, 0,
                             call_cb, c, &err);
    if (!c->s) {
        call_free(c);
        return err ? err : FASTN_ERR_NET_UNREACHABLE;
    }
    swarm_stream_set_timeout(c->s, timeout_ms);
    call_push(c); /* right behind the proposal */
    *out = c;
    return 0;
}

void router_call_cancel(struct router_call *c)
{
    if (!c)
        return;
    swarm_stream_reset(c->s);
    call_free(c);
}
