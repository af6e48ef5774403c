/*
 * Answers that come later than their request (a plugin call waits for the
 * plugin), and messages pushed to a streaming session (notifications
 * after NOTIFY_SUBSCRIBE).
 *
 * A deferred request holds its session: the session parses no further
 * request until it is answered, so answers stay in request order as the
 * protocol promises. The host keeps the waiting sessions in a list, found
 * by ticket; a session that ends leaves the list, and a late answer for
 * it is dropped.
 */
#include "fastn/err.h"
#include "ipc/ipc_int.h"

uint64_t ipc_call_defer(struct ipc_call *call)
{
    struct ipc_session *s = call->session;
    struct ipc_host *h = call->host;

    s->ticket = ++h->next_ticket;
    if (!s->ticket)
        s->ticket = ++h->next_ticket;
    s->has_call_id = call->reply.ext.has_call_id;
    s->call_id = call->reply.ext.call_id;
    s->next_waiting = h->waiting;
    s->pprev_waiting = &h->waiting;
    if (h->waiting)
        h->waiting->pprev_waiting = &s->next_waiting;
    h->waiting = s;
    return s->ticket;
}

static void unlink_waiting(struct ipc_session *s)
{
    if (!s->pprev_waiting)
        return;
    *s->pprev_waiting = s->next_waiting;
    if (s->next_waiting)
        s->next_waiting->pprev_waiting = s->pprev_waiting;
    s->next_waiting = NULL;
    s->pprev_waiting = NULL;
    s->ticket = 0;
}

void ipc_call_undefer(struct ipc_call *call)
{
    unlink_waiting(call->session);
}

void ipc_session_unwait(struct ipc_session *s)
{
    unlink_waiting(s);
}

static void kick(struct ipc_session *s)
{
    if (s->kick)
        s->kick(s);
}

int ipc_deferred_answer(struct ipc_host *host, uint64_t ticket,
                        struct ipc_reply *r)
{
    struct ipc_session *s = host->waiting;

    while (s && s->ticket != ticket)
        s = s->next_waiting;
    if (!s || !ticket)
        return FASTN_ERR_NOT_FOUND;
    unlink_waiting(s);
    if (r->resp.fastn) {
        r->ext.has_call_id = s->has_call_id;
        r->ext.call_id = s->call_id;
    }
    ipc_session_send(s, &r->resp);
    /* requests that arrived meanwhile are answered now */
    if (!s->closing)
        ipc_session_feed(s, NULL, 0, s->now_ms);
    kick(s);
    return 0;
}

int ipc_session_push(struct ipc_session *s, const P2pd__Pb__Response *resp)
{
    int err = ipc_session_send(s, resp);
    kick(s);
    return err;
}
