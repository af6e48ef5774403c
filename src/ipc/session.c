/*
 * Control sessions: admission by peer credentials, then a loop of
 * varint-delimited Requests answered in order (see ipc.h).
 *
 * Invariants: a Response is queued for every complete Request; once a
 * session is closing, no further input is parsed; s->in never holds more
 * than one largest request plus its prefix.
 */
#include "ipc/ipc.h"
#include "ipc/ipc_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "ipc/frame.h"
#include "util/log.h"
#include "util/mem.h"

static bool id_listed(unsigned id, const void *list, size_t n, size_t width)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = width == sizeof(uid_t) ? ((const uid_t *)list)[i]
                                            : ((const gid_t *)list)[i];
        if (v == id)
            return true;
    }
    return false;
}

static bool peer_in_groups(const struct ipc_peer *peer, const gid_t *gids,
                           size_t n)
{
    if (id_listed(peer->gid, gids, n, sizeof(gid_t)))
        return true;
    for (size_t i = 0; i < peer->n_groups; i++)
        if (id_listed(peer->groups[i], gids, n, sizeof(gid_t)))
            return true;
    return false;
}

enum ipc_admit ipc_policy_admit(const struct ipc_policy *policy,
                                const struct ipc_peer *peer)
{
    if (peer->uid == 0 || peer->uid == policy->daemon_uid)
        return IPC_ADMIN;
    if (peer_in_groups(peer, policy->admin_gids, policy->n_admin_gids))
        return IPC_ADMIN;
    if (id_listed(peer->uid, policy->allow_uids, policy->n_allow_uids,
                  sizeof(uid_t)))
        return IPC_USER;
    if (peer_in_groups(peer, policy->allow_gids, policy->n_allow_gids))
        return IPC_USER;
    return IPC_REFUSED;
}

void ipc_session_init(struct ipc_session *s, struct ipc_host *host,
                      const struct ipc_peer *peer)
{
    memset(s, 0, sizeof(*s));
    s->host = host;
    s->peer = *peer;
    s->admit = IPC_REFUSED;
    buf_init(&s->in, IPC_MAX_REQUEST + IPC_MAX_PREFIX);
    buf_init(&s->out, IPC_MAX_PENDING_OUT + IPC_CALL_BUDGET);
}

/* Drops one deferred call without an answer. */
static void cancel_one(struct ipc_session *s, struct ipc_call *c)
{
    *c->pprev = c->next;
    if (c->next)
        c->next->pprev = c->pprev;
    s->n_deferred--;
    ipc_limits_pending_done(s);
    ipc_limits_unreserve(s, c->reserved);
    if (c->ordered)
        s->blocked = false;
    c->session = NULL;
    if (c->cancel)
        c->cancel(c);
    ipc_reply_cleanup(&c->reply);
    free(c);
}

/* Drops every deferred call without an answer (the session is going
 * away, or it failed). */
static void cancel_deferred(struct ipc_session *s)
{
    while (s->deferred)
        cancel_one(s, s->deferred);
    s->blocked = false;
}

/* The client's EOF: calls that only make sense while it listens go. */
static void cancel_on_eof(struct ipc_session *s)
{
    struct ipc_call *c = s->deferred, *next;

    for (; c; c = next) {
        next = c->next;
        if (c->eof_cancels)
            cancel_one(s, c);
    }
}

void ipc_session_lease(struct ipc_session *s, struct ipc_lease *l,
                       void (*release)(struct ipc_lease *l))
{
    l->release = release;
    l->next = s->leases;
    l->pprev = &s->leases;
    if (s->leases)
        s->leases->pprev = &l->next;
    s->leases = l;
}

void ipc_lease_drop(struct ipc_lease *l)
{
    if (!l->pprev)
        return;
    *l->pprev = l->next;
    if (l->next)
        l->next->pprev = l->pprev;
    l->next = NULL;
    l->pprev = NULL;
}

/* The client has gone: what it made for as long as it stays goes too. */
static void release_leases(struct ipc_session *s)
{
    while (s->leases) {
        struct ipc_lease *l = s->leases;
        ipc_lease_drop(l);
        l->release(l);
    }
}

void ipc_session_cleanup(struct ipc_session *s)
{
    cancel_deferred(s);
    if (s->on_end)
        s->on_end(s);
    s->on_end = NULL;
    release_leases(s);
    if (s->handoff) {
        ipc_handoff_fn fn = s->handoff;
        s->handoff = NULL;
        fn(s->handoff_arg, -1, NULL, 0);
    }
    ipc_limits_leave(s);
    buf_cleanup(&s->in);
    buf_cleanup(&s->out);
}

int ipc_session_send(struct ipc_session *s, const P2pd__Pb__Response *resp)
{
    int err = ipc_frame_append(&s->out, &resp->base);
    if (err) {
        LOG_RATELIMITED(LOG_WARN, "ipc",
                        "client pid %d: response not queued: %s; closing",
                        (int)s->peer.pid, fastn_strerror(err));
        s->closing = true;
    }
    return err;
}

/* A call answer with a large result goes to the socket straight from
 * where the result is (a plugin's memory, valid only during this call,
 * in one piece or several: r->result_v): its head is encoded apart, the
 * transport writes head and result at once if nothing waits before them,
 * and only what the socket did not take is copied into s->out.
 * FASTN_ERR_UNSUPPORTED: not such an answer, nothing was done. */
static int send_direct(struct ipc_session *s, const struct ipc_reply *r)
{
    const P2pd__Pb__Response *resp = &r->resp;
    uint8_t head[IPC_FRAME_HEAD_MAX];
    struct iovec v[1 + IPC_RESULT_PIECES];
    size_t hn, w, nv = 1, total;
    int err;

    if (!s->write_now || s->out.len || !resp->fastn ||
        !resp->fastn->has_call_result ||
        resp->fastn->call_result.len < IPC_FRAME_DIRECT_MIN ||
        r->result_n > IPC_RESULT_PIECES ||
        ipc_frame_result_head(resp, head, sizeof(head), &hn))
        return FASTN_ERR_UNSUPPORTED;
    v[0] = (struct iovec){.iov_base = head, .iov_len = hn};
    if (r->result_v) {
        for (size_t i = 0; i < r->result_n; i++)
            v[nv++] = r->result_v[i];
    } else {
        v[nv++] = (struct iovec){.iov_base = resp->fastn->call_result.data,
                                 .iov_len = resp->fastn->call_result.len};
    }
    total = hn + resp->fastn->call_result.len;
    w = s->write_now(s, s->wake_arg, v, nv);
    if (w >= total)
        return 0;
    /* the rest, whole or not at all, as ipc_frame_append */
    if ((err = buf_reserve(&s->out, total - w)))
        return err;
    for (size_t i = 0; i < nv; i++) {
        size_t len = v[i].iov_len, skip = w < len ? w : len;
        w -= skip;
        buf_append(&s->out, (const uint8_t *)v[i].iov_base + skip, len - skip);
    }
    return 0;
}

/* A reply whose result is in pieces, joined for the encoder (when the
 * socket could not take it straight). */
static int send_joined(struct ipc_session *s, struct ipc_reply *r)
{
    ProtobufCBinaryData *res = &r->resp.fastn->call_result;
    size_t len;
    uint8_t *joined = mem_join(r->result_v, r->result_n, &len);
    int err;

    if (!joined) { /* as ipc_session_send */
        LOG_RATELIMITED(LOG_WARN, "ipc",
                        "client pid %d: response not queued: out of "
                        "memory; closing",
                        (int)s->peer.pid);
        s->closing = true;
        return FASTN_ERR_NOMEM;
    }
    res->data = joined;
    err = ipc_session_send(s, &r->resp);
    res->data = NULL;
    free(joined);
    return err;
}

int ipc_session_send_reply(struct ipc_session *s, struct ipc_reply *r, int err)
{
    int rc = send_direct(s, r);

    if (rc == FASTN_ERR_UNSUPPORTED) {
        rc = r->result_v && !err && r->resp.fastn
                 ? send_joined(s, r)
                 : ipc_session_send(s, &r->resp);
    } else if (rc) {
        LOG_RATELIMITED(LOG_WARN, "ipc",
                        "client pid %d: response not queued: %s; closing",
                        (int)s->peer.pid, fastn_strerror(rc));
        s->closing = true;
    }

    for (size_t i = 0; !rc && !err && i < r->n_trail; i++)
        if ((rc = ipc_frame_append(&s->out, r->trail[i])))
            s->closing = true; /* as ipc_session_send */
    return rc;
}

/* Queues an error response and closes the session: used for input that
 * cannot be answered request by request. */
static int session_fail(struct ipc_session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int session_fail(struct ipc_session *s, int code, const char *fmt, ...)
{
    struct ipc_reply r;
    va_list ap;

    ipc_reply_init(&r);
    va_start(ap, fmt);
    vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
    va_end(ap);
    ipc_reply_make_error(&r, code);
    /* a limit reached is a warning: the owner may want to change it */
    LOG_RATELIMITED(code == FASTN_ERR_BUSY ? LOG_WARN : LOG_INFO, "ipc",
                    "client pid %d uid %u: %s; closing", (int)s->peer.pid,
                    (unsigned)s->peer.uid, r.msg);
    cancel_deferred(s);
    ipc_session_send(s, &r.resp);
    ipc_reply_cleanup(&r);
    s->closing = true;
    return code;
}

int ipc_session_open(struct ipc_session *s)
{
    char msg[240];
    int err;

    s->admit = ipc_policy_admit(&s->host->policy, &s->peer);
    if (s->admit == IPC_REFUSED)
        return session_fail(s, FASTN_ERR_NOT_ALLOWED,
                            "fastnd refused uid %u: not allowed by the "
                            "config (allow-uids/allow-gids)",
                            (unsigned)s->peer.uid);
    if ((err = ipc_limits_admit(s, msg, sizeof(msg)))) {
        s->admit = IPC_REFUSED;
        return session_fail(s, err, "%s", msg);
    }
    return 0;
}

uint64_t ipc_session_deadline(const struct ipc_session *s)
{
    uint64_t t = s->host->limits.request_timeout_ms;

    if (s->closing || s->handoff || s->streaming || !t)
        return UINT64_MAX;
    if (!s->served)
        return s->opened_ms + t;
    if (s->partial_ms)
        return s->partial_ms + t;
    return UINT64_MAX;
}

void ipc_session_expire(struct ipc_session *s)
{
    unsigned t = s->host->limits.request_timeout_ms;

    session_fail(s, FASTN_ERR_TIMEOUT,
                 "no complete request within %u.%u s of %s (request-timeout "
                 "in the daemon's config)",
                 t / 1000, t % 1000 / 100,
                 s->served ? "its first byte" : "connecting");
}

/* Decodes and answers the frame at the start of s->in. Returns 0 when one
 * was answered, FASTN_ERR_AGAIN when it is not complete yet, or the error
 * that closed the session. */
static int session_step(struct ipc_session *s, uint64_t now_ms)
{
    const uint8_t *body;
    size_t body_len, frame_len;
    P2pd__Pb__Request *req;
    int err;

    if (s->streaming)
        return FASTN_ERR_AGAIN; /* a subscribed client only receives */
    err = ipc_frame_parse(s->in.data, s->in.len, IPC_MAX_REQUEST, &body,
                          &body_len, &frame_len);
    if (err == FASTN_ERR_AGAIN)
        return err;
    if (err == FASTN_ERR_TOO_LARGE)
        return session_fail(s, err, "request frame larger than %u bytes",
                            IPC_MAX_REQUEST);
    if (err)
        return session_fail(s, err,
                            "bad frame: length prefix is not a "
                            "valid varint");
    req = p2pd__pb__request__unpack(NULL, body_len, body);
    if (!req)
        return session_fail(s, FASTN_ERR_MALFORMED,
                            "bad frame: not a valid control Request");
    s->served++;
    s->partial_ms = 0;
    err = ipc_dispatch(s, req, now_ms);
    p2pd__pb__request__free_unpacked(req, NULL);
    buf_consume(&s->in, frame_len);
    if (err)
        return session_fail(s, err, "could not answer the request");
    return 0;
}

/* Answers the requests waiting in s->in while the session may. A frame
 * left incomplete starts the clock of ipc_session_deadline(). */
static int session_run(struct ipc_session *s, uint64_t now_ms)
{
    while (!s->closing && !s->blocked && !s->handoff && !s->streaming) {
        int err = session_step(s, now_ms);
        if (err == FASTN_ERR_AGAIN) {
            if (s->in.len && !s->partial_ms)
                s->partial_ms = now_ms ? now_ms : 1;
            return 0;
        }
        if (err)
            return err;
    }
    return 0;
}

int ipc_session_feed(struct ipc_session *s, const uint8_t *p, size_t n,
                     uint64_t now_ms)
{
    int err = 0;

    s->last_now_ms = now_ms;
    if (s->streaming)
        return 0; /* a subscribed client only receives */
    while (n > 0 && !s->closing) {
        /* Take what fits: a complete largest frame always does, and
         * answering it makes room for the rest. Only a client that keeps
         * sending while a request is pending can fill it. */
        size_t take = s->in.max - s->in.len;
        if (take > n)
            take = n;
        if (take == 0)
            return session_fail(s, FASTN_ERR_TOO_LARGE,
                                "more than %u bytes sent while a request "
                                "was pending",
                                IPC_MAX_REQUEST);
        err = buf_append(&s->in, p, take);
        if (err)
            return session_fail(s, err, "out of memory");
        p += take;
        n -= take;
        err = session_run(s, now_ms);
        if (err)
            return err;
    }
    return err;
}

bool ipc_session_wants_input(const struct ipc_session *s)
{
    return !s->closing && !s->blocked && !s->handoff && !s->eof;
}

void ipc_session_handoff(struct ipc_session *s, ipc_handoff_fn fn, void *arg)
{
    s->handoff = fn;
    s->handoff_arg = arg;
}

static void wake(struct ipc_session *s)
{
    if (s->wake)
        s->wake(s, s->wake_arg);
}

int ipc_session_push(struct ipc_session *s, const P2pd__Pb__Response *resp)
{
    int err = ipc_session_send(s, resp);
    wake(s);
    return err;
}

struct ipc_call *ipc_call_defer(struct ipc_call *call, bool ordered,
                                void (*cancel)(struct ipc_call *call),
                                void *data, int *err)
{
    struct ipc_session *s = call->session;
    struct ipc_call *dc;

    if (s->n_deferred >= IPC_MAX_DEFERRED) {
        ipc_reply_set_msg(&call->reply,
                          "%d requests wait for an answer on this "
                          "connection, the most one may; try again once "
                          "some are answered",
                          IPC_MAX_DEFERRED);
        *err = FASTN_ERR_BUSY;
        return NULL;
    }
    if ((*err = ipc_limits_pending_take(call)))
        return NULL;
    dc = malloc(sizeof(*dc));
    if (!dc) {
        ipc_limits_pending_done(s);
        *err = FASTN_ERR_NOMEM;
        return NULL;
    }
    *dc = *call;
    ipc_reply_move(&dc->reply, &call->reply);
    dc->ordered = ordered;
    dc->cancel = cancel;
    dc->data = data;
    dc->next = s->deferred;
    dc->pprev = &s->deferred;
    if (s->deferred)
        s->deferred->pprev = &dc->next;
    s->deferred = dc;
    s->n_deferred++;
    if (ordered)
        s->blocked = true;
    return dc;
}

void ipc_call_finish(struct ipc_call *dc, int err)
{
    struct ipc_session *s = dc->session;

    *dc->pprev = dc->next;
    if (dc->next)
        dc->next->pprev = dc->pprev;
    s->n_deferred--;
    ipc_limits_pending_done(s);
    ipc_limits_unreserve(s, dc->reserved);
    if (err)
        ipc_reply_make_error(&dc->reply, err);
    log_msg(LOG_DEBUG, "ipc", "pid %d: %s -> %s (deferred)", (int)s->peer.pid,
            ipc_request_type_name(dc->type), fastn_err_name(err));
    if (!s->closing)
        ipc_session_send_reply(s, &dc->reply, err);
    ipc_reply_cleanup(&dc->reply);
    if (dc->ordered) {
        s->blocked = false;
        session_run(s, s->last_now_ms);
        if (s->eof && !s->blocked && !s->handoff)
            ipc_session_eof(s);
    }
    free(dc);
    wake(s);
}

int ipc_session_hangup(struct ipc_session *s)
{
    cancel_deferred(s);
    return ipc_session_eof(s);
}

int ipc_session_eof(struct ipc_session *s)
{
    cancel_on_eof(s);
    if (s->closing)
        return 0;
    if (s->streaming) { /* a subscriber leaving: nothing was pending */
        s->closing = true;
        return 0;
    }
    if (s->blocked || s->handoff) {
        /* what is buffered may still be requests (or a stream's first
         * bytes): decide once the pending request is answered */
        s->eof = true;
        return 0;
    }
    s->closing = true;
    if (s->in.len == 0)
        return 0;
    return session_fail(s, FASTN_ERR_TRUNCATED,
                        "truncated frame: the connection ended inside a "
                        "request");
}

bool ipc_session_done(const struct ipc_session *s)
{
    /* after the client's EOF, pending answers still go out */
    return s->closing && s->out.len == 0 && s->n_deferred == 0 && !s->handoff;
}
