/*
 * The fastn extension's notification requests (fastn.proto, NOTIFY_*):
 * list, mark read or unread, the unread count, and subscribe. After
 * NOTIFY_SUBSCRIBE is answered, the connection carries one Response per
 * change (fastn.Response.event) for as long as the client keeps it open;
 * it reads no more requests. A client that does not read its events is
 * disconnected once IPC_MAX_PENDING_OUT bytes wait for it.
 */
#include <string.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "store/store.h"
#include "util/log.h"

static int need_state(struct ipc_call *call)
{
    if (call->host->state)
        return 0;
    ipc_reply_set_msg(&call->reply, "this fastnd keeps no notifications");
    return FASTN_ERR_UNSUPPORTED;
}

static char *reply_strdup(struct ipc_reply *r, const char *s)
{
    size_t n = strlen(s ? s : "");
    char *d = ipc_reply_alloc(r, n + 1);
    if (d && n)
        memcpy(d, s, n);
    return d;
}

/* A protobuf copy of n whose strings live as long as the reply. */
static Fastn__Notification *to_pb(struct ipc_reply *r,
                                  const struct store_notification *n)
{
    Fastn__Notification *o = ipc_reply_alloc(r, sizeof(*o));
    if (!o)
        return NULL;
    fastn__notification__init(o);
    o->id = n->id;
    o->time_ms = n->time_ms;
    o->read = n->read;
    o->source = reply_strdup(r, n->source);
    o->title = reply_strdup(r, n->title);
    o->body = reply_strdup(r, n->body);
    return o->source && o->title && o->body ? o : NULL;
}

int ipc_notify_list(struct ipc_call *call, const Fastn__Request *req,
                    Fastn__Response *ext)
{
    const Fastn__NotifyRequest *nr = req->notify;
    struct store_notify_query q = {0};
    struct store_notification *v = NULL;
    size_t n = 0;
    int err;

    if ((err = need_state(call)))
        return err;
    if (nr) {
        q.after_id = nr->has_after_id ? nr->after_id : 0;
        q.unread_only = nr->has_unread_only && nr->unread_only;
        q.source = nr->source;
        q.limit = nr->has_limit ? nr->limit : 0;
        if (q.limit > STORE_NOTIFY_LIST_MAX)
            q.limit = STORE_NOTIFY_LIST_MAX;
    }
    if ((err = store_notify_list(call->host->state, &q, &v, &n)))
        return err;
    ext->notifications =
        ipc_reply_alloc(&call->reply, (n ? n : 1) * sizeof(void *));
    err = ext->notifications ? 0 : FASTN_ERR_NOMEM;
    for (size_t i = 0; !err && i < n; i++)
        if (!(ext->notifications[i] = to_pb(&call->reply, &v[i])))
            err = FASTN_ERR_NOMEM;
    if (!err)
        ext->n_notifications = n;
    store_notifications_free(v, n);
    return err;
}

int ipc_notify_mark_read(struct ipc_call *call, const Fastn__Request *req,
                         Fastn__Response *ext)
{
    const Fastn__NotifyRequest *nr = req->notify;
    bool read = !(nr && nr->has_unread && nr->unread);
    int err;

    if ((err = need_state(call)))
        return err;
    if (nr && nr->has_id) {
        err = store_notify_mark_read(call->host->state, nr->id, read);
        if (err == FASTN_ERR_NOT_FOUND)
            ipc_reply_set_msg(&call->reply, "no notification %lld",
                              (long long)nr->id);
        if (err)
            return err;
        ext->count = 1;
    } else {
        if (!read) {
            ipc_reply_set_msg(&call->reply, "only one notification at a "
                                            "time can be marked unread");
            return FASTN_ERR_INVAL;
        }
        err = store_notify_mark_all_read(call->host->state,
                                         nr ? nr->source : NULL);
        if (err < 0)
            return err;
        ext->count = (uint32_t)err;
    }
    ext->has_count = true;
    return 0;
}

int ipc_notify_unread(struct ipc_call *call, const Fastn__Request *req,
                      Fastn__Response *ext)
{
    int err, n;

    if ((err = need_state(call)))
        return err;
    n = store_notify_unread_count(call->host->state,
                                  req->notify ? req->notify->source : NULL);
    if (n < 0)
        return n;
    ext->has_count = true;
    ext->count = (uint32_t)n;
    return 0;
}

/* --- subscriptions ------------------------------------------------------- */

static void push_event(enum store_notify_event ev,
                       const struct store_notification *n, void *arg)
{
    static const Fastn__NotifyEvent__Kind kinds[] = {
        [STORE_NOTIFY_NEW] = FASTN__NOTIFY_EVENT__KIND__NEW,
        [STORE_NOTIFY_READ] = FASTN__NOTIFY_EVENT__KIND__READ,
        [STORE_NOTIFY_ALL_READ] = FASTN__NOTIFY_EVENT__KIND__ALL_READ,
        [STORE_NOTIFY_DELETED] = FASTN__NOTIFY_EVENT__KIND__DELETED,
    };
    struct ipc_session *s = arg;
    Fastn__NotifyEvent event = FASTN__NOTIFY_EVENT__INIT;
    struct ipc_reply r;

    if (s->closing)
        return;
    ipc_reply_init(&r);
    event.kind = kinds[ev];
    if (n && !(event.notification = to_pb(&r, n))) {
        ipc_reply_cleanup(&r);
        return;
    }
    ipc_reply_ext(&r)->event = &event;
    if (ipc_session_push(s, &r.resp) != 0)
        LOG_RATELIMITED(LOG_INFO, "ipc",
                        "client pid %d does not read its notifications; "
                        "disconnected",
                        (int)s->peer.pid);
    ipc_reply_cleanup(&r);
}

static void unsubscribe(struct ipc_session *s)
{
    if (s->host->state)
        store_notify_unsubscribe(s->host->state, s->sub);
}

int ipc_notify_subscribe(struct ipc_call *call, const Fastn__Request *req,
                         Fastn__Response *ext)
{
    struct ipc_session *s = call->session;
    int err, n;

    (void)req;
    if ((err = need_state(call)))
        return err;
    if (s->streaming) /* cannot happen: a streaming session reads no more */
        return FASTN_ERR_INVAL;
    n = store_notify_unread_count(call->host->state, NULL);
    if (n < 0)
        return n;
    err = store_notify_subscribe(call->host->state, push_event, s, &s->sub);
    if (err)
        return err;
    s->streaming = true;
    s->on_end = unsubscribe;
    ext->has_count = true;
    ext->count = (uint32_t)n;
    return 0;
}
