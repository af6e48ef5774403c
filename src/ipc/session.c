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
    buf_init(&s->out, IPC_MAX_PENDING_OUT);
}

void ipc_session_cleanup(struct ipc_session *s)
{
    ipc_session_unwait(s);
    if (s->on_end)
        s->on_end(s);
    s->on_end = NULL;
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
    LOG_RATELIMITED(LOG_INFO, "ipc", "client pid %d uid %u: %s; closing",
                    (int)s->peer.pid, (unsigned)s->peer.uid, r.msg);
    ipc_session_send(s, &r.resp);
    ipc_reply_cleanup(&r);
    s->closing = true;
    return code;
}

int ipc_session_reject(struct ipc_session *s, int code, const char *msg)
{
    return session_fail(s, code, "%s", msg);
}

int ipc_session_open(struct ipc_session *s)
{
    s->admit = ipc_policy_admit(&s->host->policy, &s->peer);
    if (s->admit != IPC_REFUSED)
        return 0;
    return session_fail(s, FASTN_ERR_NOT_ALLOWED,
                        "fastnd refused uid %u: not allowed by the config "
                        "(allow-uids/allow-gids)",
                        (unsigned)s->peer.uid);
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

    if (s->ticket || s->streaming)
        return FASTN_ERR_AGAIN; /* answers stay in order */
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
    err = ipc_dispatch(s, req, now_ms);
    p2pd__pb__request__free_unpacked(req, NULL);
    buf_consume(&s->in, frame_len);
    if (err)
        return session_fail(s, err, "could not answer the request");
    return 0;
}

int ipc_session_feed(struct ipc_session *s, const uint8_t *p, size_t n,
                     uint64_t now_ms)
{
    int err = 0;

    s->now_ms = now_ms;
    if (s->streaming)
        return 0; /* a subscribed client only receives */
    if (n == 0) { /* a deferred answer went out: read what waited */
        while (!s->closing && (err = session_step(s, now_ms)) == 0)
            ;
        return err == FASTN_ERR_AGAIN ? 0 : err;
    }
    while (n > 0 && !s->closing) {
        /* Take what fits: a complete largest frame always does, and
         * answering it makes room for the rest. */
        size_t take = s->in.max - s->in.len;
        if (take > n)
            take = n;
        if (take == 0) /* a client pipelining past a waiting answer */
            return session_fail(s, FASTN_ERR_TOO_LARGE,
                                "too many requests sent while one waits");
        err = buf_append(&s->in, p, take);
        if (err)
            return session_fail(s, err, "out of memory");
        p += take;
        n -= take;
        while (!s->closing && (err = session_step(s, now_ms)) == 0)
            ;
        if (err != FASTN_ERR_AGAIN)
            return err;
        err = 0;
    }
    return err;
}

int ipc_session_eof(struct ipc_session *s)
{
    if (s->closing)
        return 0;
    s->closing = true;
    if (s->in.len == 0)
        return 0;
    return session_fail(s, FASTN_ERR_TRUNCATED,
                        "truncated frame: the connection ended inside a "
                        "request");
}

bool ipc_session_done(const struct ipc_session *s)
{
    return s->closing && s->out.len == 0;
}
