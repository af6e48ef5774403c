/*
 * libfastn: one-shot calls over the client's one connection (the fastn
 * extension's CALL). Each call gets an id; answers come back in the order
 * the calls complete and are matched by id. Answers that arrive while
 * the client waits for something else are kept (lib_call_take).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/lib_int.h"
#include "util/peer_id.h"

#define DEFAULT_MAX_REPLY (1u << 20)
#define MAX_REPLY (4032u << 10)

void fastn_client_set_max_reply(struct fastn_client *c, size_t max_reply)
{
    c->max_reply = max_reply > MAX_REPLY ? MAX_REPLY : (uint32_t)max_reply;
}

int fastn_call_send(struct fastn_client *c, const char *peer,
                    const char *protocol, const void *request,
                    size_t request_len, uint64_t *call_id)
{
    P2pd__Pb__Request req;
    Fastn__Request ext;
    Fastn__CallRequest cr = FASTN__CALL_REQUEST__INIT;
    struct peer_id id;
    int rc;

    if (!peer || !protocol || !protocol[0] || (request_len && !request) ||
        !call_id)
        return FASTN_ERR_INVAL;
    if ((rc = lib_parse_peer(c, peer, &id)))
        return rc;
    lib_ext_request(&req, &ext, FASTN__REQUEST__TYPE__CALL);
    ext.has_call_id = true;
    ext.call_id = ++c->next_call_id;
    cr.peer.data = id.bytes;
    cr.peer.len = id.len;
    cr.protocol = (char *)protocol;
    cr.has_data = true;
    cr.data.data = (uint8_t *)request;
    cr.data.len = request_len;
    cr.has_timeout_ms = true;
    cr.timeout_ms = (uint32_t)c->timeout_ms;
    cr.has_max_reply = true;
    cr.max_reply = c->max_reply ? c->max_reply : DEFAULT_MAX_REPLY;
    ext.call = &cr;
    rc = lib_call_pending(c, ext.call_id);
    if (!rc && (rc = lib_send(c, &req)) != 0)
        lib_call_forget(c, ext.call_id); /* not sent: no answer comes */
    if (rc)
        return rc;
    *call_id = ext.call_id;
    return 0;
}

/* Hands a kept answer to the caller and frees the record. */
static void deliver(struct lib_call_done *d, uint64_t *call_id, int *status,
                    void **reply, size_t *reply_len)
{
    *call_id = d->id;
    *status = d->status;
    if (reply) {
        *reply = d->status ? NULL : d->data;
        if (!d->status)
            d->data = NULL;
    }
    if (reply_len)
        *reply_len = d->status ? 0 : d->len;
    free(d->data);
    free(d);
}

/* Waits for the answer of call id (0: any call). */
static int wait_call(struct fastn_client *c, uint64_t id, int timeout_ms,
                     uint64_t *call_id, int *status, void **reply,
                     size_t *reply_len)
{
    int64_t deadline =
        lib_now_ms() + (timeout_ms < 0 ? c->timeout_ms : timeout_ms);
    struct lib_call_done *d;
    int rc;

    for (;;) {
        if ((d = lib_call_take(c, id))) {
            deliver(d, call_id, status, reply, reply_len);
            return 0;
        }
        if (c->n_pending == 0)
            return FASTN_ERR_NOT_FOUND;
        rc = lib_read_call(c, deadline);
        if (rc && !(d = lib_call_take(c, id)))
            return rc;
        if (d) { /* the connection failed: pending calls got its error */
            deliver(d, call_id, status, reply, reply_len);
            return 0;
        }
    }
}

int fastn_call_recv(struct fastn_client *c, int timeout_ms, uint64_t *call_id,
                    int *status, void **reply, size_t *reply_len)
{
    return wait_call(c, 0, timeout_ms, call_id, status, reply, reply_len);
}

int fastn_client_call(struct fastn_client *c, const char *peer,
                      const char *protocol, const void *request,
                      size_t request_len, void **reply, size_t *reply_len)
{
    uint64_t id, got;
    int status, rc;

    c->errmsg[0] = '\0';
    rc = fastn_call_send(c, peer, protocol, request, request_len, &id);
    if (!rc)
        rc = wait_call(c, id, -1, &got, &status, reply, reply_len);
    return rc ? rc : status;
}
