/*
 * libfastn's notification requests (include/fastn/client.h,
 * "Notifications"): list, mark read, unread count, and subscriptions,
 * after which the connection only receives the daemon's pushed changes.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/fastn.pb-c.h"
#include "lib/lib_int.h"

#define NAME_OF(f) FASTN__REQUEST__TYPE__##f

static void notification_cleanup(struct fastn_notification *n)
{
    free(n->source);
    free(n->title);
    free(n->body);
}

void fastn_notification_free(struct fastn_notification *n)
{
    if (!n)
        return;
    notification_cleanup(n);
    free(n);
}

void fastn_notification_list_free(struct fastn_notification_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        notification_cleanup(&l->items[i]);
    free(l->items);
    free(l);
}

static int convert(const Fastn__Notification *in, struct fastn_notification *o)
{
    if (!in->source || !in->title)
        return FASTN_ERR_PROTOCOL;
    o->id = in->id;
    o->time_ms = in->time_ms;
    o->read = in->read;
    o->source = strdup(in->source);
    o->title = strdup(in->title);
    o->body = strdup(in->body ? in->body : "");
    return o->source && o->title && o->body ? 0 : FASTN_ERR_NOMEM;
}

int fastn_client_notifications(struct fastn_client *c,
                               const struct fastn_notify_query *q,
                               struct fastn_notification_list **out)
{
    Fastn__NotifyRequest nr = FASTN__NOTIFY_REQUEST__INIT;
    P2pd__Pb__Response *r = NULL;
    struct fastn_notification_list *l;
    int rc;

    if (!out)
        return FASTN_ERR_INVAL;
    if (q) {
        nr.has_after_id = true;
        nr.after_id = q->after_id;
        nr.has_unread_only = true;
        nr.unread_only = q->unread_only != 0;
        nr.source = (char *)q->source;
        nr.has_limit = q->limit != 0;
        nr.limit = q->limit;
    }
    rc =
        lib_ext_exchange(c, NAME_OF(NOTIFY_LIST), NULL, &nr, c->timeout_ms, &r);
    if (rc)
        return rc;
    size_t n = r->fastn->n_notifications;
    l = calloc(1, sizeof(*l));
    if (l)
        l->items = calloc(n ? n : 1, sizeof(*l->items));
    rc = l && l->items ? 0 : FASTN_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        l->n = i + 1;
        rc = convert(r->fastn->notifications[i], &l->items[i]);
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_notification_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

static int count_request(struct fastn_client *c, int type,
                         Fastn__NotifyRequest *nr, unsigned *count)
{
    P2pd__Pb__Response *r = NULL;
    int rc = lib_ext_exchange(c, type, NULL, nr, c->timeout_ms, &r);

    if (rc)
        return rc;
    if (count)
        *count = r->fastn->count;
    p2pd__pb__response__free_unpacked(r, NULL);
    return 0;
}

int fastn_client_notifications_mark_read(struct fastn_client *c, int64_t id,
                                         int read, unsigned *changed)
{
    Fastn__NotifyRequest nr = FASTN__NOTIFY_REQUEST__INIT;

    if (id < 0 || (id == 0 && !read))
        return FASTN_ERR_INVAL;
    nr.has_id = id > 0;
    nr.id = id;
    nr.has_unread = !read;
    nr.unread = !read;
    return count_request(c, NAME_OF(NOTIFY_MARK_READ), &nr, changed);
}

int fastn_client_notifications_unread(struct fastn_client *c,
                                      const char *source, unsigned *count)
{
    Fastn__NotifyRequest nr = FASTN__NOTIFY_REQUEST__INIT;

    nr.source = (char *)source;
    return count_request(c, NAME_OF(NOTIFY_UNREAD), &nr, count);
}

int fastn_client_notifications_subscribe(struct fastn_client *c,
                                         unsigned *unread)
{
    int rc = count_request(c, NAME_OF(NOTIFY_SUBSCRIBE), NULL, unread);
    if (!rc)
        c->streaming = 1;
    return rc;
}

int fastn_client_notifications_next(struct fastn_client *c, int timeout_ms,
                                    int *kind, struct fastn_notification **n)
{
    P2pd__Pb__Response *r = NULL;
    struct fastn_notification *o = NULL;
    const Fastn__NotifyEvent *ev;
    int rc;

    if (!c->streaming || !kind || !n)
        return FASTN_ERR_INVAL;
    rc = lib_read_pushed(c, timeout_ms, &r);
    if (rc)
        return rc;
    ev = r->fastn ? r->fastn->event : NULL;
    if (!ev || (int)ev->kind < FASTN_NOTIFY_NEW ||
        (int)ev->kind > FASTN_NOTIFY_DELETED)
        rc = FASTN_ERR_PROTOCOL;
    else if (ev->notification && !(o = calloc(1, sizeof(*o))))
        rc = FASTN_ERR_NOMEM;
    else if (o)
        rc = convert(ev->notification, o);
    if (!rc) {
        *kind = (int)ev->kind;
        *n = o;
        o = NULL;
    }
    fastn_notification_free(o);
    p2pd__pb__response__free_unpacked(r, NULL);
    return rc;
}
