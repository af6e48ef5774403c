/*
 * libfastn's socket I/O: non-blocking sockets and poll() with a deadline
 * on every wait, so that no call can hang on a stuck daemon. Responses
 * are read exactly (the length prefix byte by byte, then the body), never
 * past their end: after STREAM_OPEN the bytes that follow belong to the
 * stream. A plugin call's answer is not decoded when it has its plain
 * shape: its result is read straight into the buffer the caller gets.
 *
 * The daemon closes a connection that sends no request for a while
 * (request-timeout, after an error response saying so): a connection
 * found closed (or with such an unasked-for answer) before a request is
 * sent on it is dropped and made again, so a program that connects
 * early and asks late is not told about it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipc/fastn.pb-c.h"
#include "ipc/frame.h"
#include "lib/lib_int.h"

int64_t lib_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    for (;;) {
        int64_t left = deadline - lib_now_ms();
        if (left <= 0)
            return FASTN_ERR_TIMEOUT;
        int rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return FASTN_ERR_IO;
    }
}

static int connect_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ECONNREFUSED:
    case ENOTDIR:
        return FASTN_ERR_NO_DAEMON;
    case EACCES:
    case EPERM:
        return FASTN_ERR_NOT_ALLOWED;
    default:
        return FASTN_ERR_IO;
    }
}

int lib_socket_connect(const char *path, int64_t deadline, int *fd_out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    int fd, rc, err = 0;

    if (len >= sizeof(sa.sun_path))
        return FASTN_ERR_TOO_LARGE;
    memcpy(sa.sun_path, path, len + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FASTN_ERR_IO;
    /* A full listen backlog answers EAGAIN: retry until the deadline. */
    while ((rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa))) != 0 &&
           (errno == EAGAIN || errno == EINTR)) {
        if (lib_now_ms() >= deadline) {
            close(fd);
            return FASTN_ERR_TIMEOUT;
        }
        usleep(2000);
    }
    if (rc != 0) {
        err = connect_errno(errno);
        close(fd);
        return err;
    }
    *fd_out = fd;
    return 0;
}

static int send_all(int fd, const uint8_t *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN)
            return errno == EPIPE || errno == ECONNRESET ? FASTN_ERR_CLOSED
                                                         : FASTN_ERR_IO;
        int rc = wait_fd(fd, POLLOUT, deadline);
        if (rc)
            return rc;
    }
    return 0;
}

int lib_recv_exact(int fd, uint8_t *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        if (r == 0)
            return FASTN_ERR_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return errno == ECONNRESET ? FASTN_ERR_CLOSED : FASTN_ERR_IO;
        int rc = wait_fd(fd, POLLIN, deadline);
        if (rc)
            return rc;
    }
    return 0;
}

int lib_set_blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        return FASTN_ERR_IO;
    return 0;
}

/* Reads a frame's length prefix. */
static int read_prefix(int fd, int64_t deadline, size_t *len)
{
    uint8_t prefix[IPC_MAX_PREFIX];
    struct buf_reader r;
    uint64_t v;
    size_t n = 0;
    int rc;

    do {
        if (n == sizeof(prefix))
            return FASTN_ERR_PROTOCOL;
        rc = lib_recv_exact(fd, prefix + n, 1, deadline);
        if (rc)
            return rc;
    } while (prefix[n++] & 0x80);
    buf_reader_init(&r, prefix, n);
    if (buf_get_uvarint(&r, &v) || v > IPC_MAX_RESPONSE)
        return FASTN_ERR_PROTOCOL;
    *len = (size_t)v;
    return 0;
}

/* Reads the rest of a body of len bytes, of which the first got are in
 * head, and decodes it. */
static int read_body(int fd, int64_t deadline, const uint8_t *head, size_t got,
                     size_t len, const ProtobufCMessageDescriptor *desc,
                     ProtobufCMessage **out)
{
    uint8_t *body = malloc(len ? len : 1);
    int rc;

    if (!body)
        return FASTN_ERR_NOMEM;
    if (got)
        memcpy(body, head, got);
    rc = lib_recv_exact(fd, body + got, len - got, deadline);
    if (!rc) {
        *out = protobuf_c_message_unpack(desc, NULL, len, body);
        rc = *out ? 0 : FASTN_ERR_PROTOCOL;
    }
    free(body);
    return rc;
}

/* Reads one varint-delimited Response. */
int lib_read_message(int fd, int64_t deadline,
                     const ProtobufCMessageDescriptor *desc,
                     ProtobufCMessage **out)
{
    size_t len;
    int rc = read_prefix(fd, deadline, &len);

    return rc ? rc : read_body(fd, deadline, NULL, 0, len, desc, out);
}

int lib_read_response(int fd, int64_t deadline, P2pd__Pb__Response **out)
{
    return lib_read_message(fd, deadline, &p2pd__pb__response__descriptor,
                            (ProtobufCMessage **)out);
}

/* Bytes of a body read to find a call answer's result: more than its
 * fields before the result take (ipc_frame_find_result). */
#define RESULT_HEAD 64

/* As lib_read_response, but when result is not NULL a plain call answer
 * (ipc_frame_find_result) is not decoded: its result is read straight
 * into *result (malloc'd, NUL-terminated, *result_len bytes) and *out is
 * NULL. Any other Response is decoded as by lib_read_response. */
static int read_response_result(int fd, int64_t deadline,
                                P2pd__Pb__Response **out, uint8_t **result,
                                size_t *result_len)
{
    uint8_t head[RESULT_HEAD], *data;
    size_t len, got, off, n;
    int rc = read_prefix(fd, deadline, &len);

    if (rc)
        return rc;
    got = len < sizeof(head) ? len : sizeof(head);
    if (!result || (rc = lib_recv_exact(fd, head, got, deadline)))
        return rc ? rc
                  : read_body(fd, deadline, NULL, 0, len,
                              &p2pd__pb__response__descriptor,
                              (ProtobufCMessage **)out);
    rc = ipc_frame_find_result(head, got, len, &off, &n);
    if (rc == FASTN_ERR_MALFORMED)
        return FASTN_ERR_PROTOCOL;
    if (rc)
        return read_body(fd, deadline, head, got, len,
                         &p2pd__pb__response__descriptor,
                         (ProtobufCMessage **)out);
    if (!(data = malloc(n + 1)))
        return FASTN_ERR_NOMEM;
    memcpy(data, head + off, got - off);
    rc = lib_recv_exact(fd, data + (got - off), n - (got - off), deadline);
    if (rc) {
        free(data);
        return rc;
    }
    data[n] = '\0';
    *out = NULL;
    *result = data;
    *result_len = n;
    return 0;
}

/* After these errors the daemon closes the connection (or its state is
 * unknown): the next request connects afresh. */
static bool ends_connection(int err)
{
    switch (err) {
    case FASTN_ERR_TIMEOUT:
    case FASTN_ERR_CLOSED:
    case FASTN_ERR_IO:
    case FASTN_ERR_PROTOCOL:
    case FASTN_ERR_NOT_ALLOWED:
    case FASTN_ERR_BUSY:
    case FASTN_ERR_MALFORMED:
    case FASTN_ERR_TRUNCATED:
    case FASTN_ERR_TOO_LARGE:
        return true;
    }
    return false;
}

int lib_response_error(const P2pd__Pb__Response *r, char *msg, size_t len)
{
    if (msg && len)
        snprintf(msg, len, "%s",
                 r->error && r->error->msg ? r->error->msg : "");
    if (r->fastn && r->fastn->has_code && r->fastn->code < 0)
        return r->fastn->code;
    return FASTN_ERR_REMOTE;
}

int lib_send_fd(int fd, const P2pd__Pb__Request *req, int64_t deadline)
{
    struct buf b;
    int rc;

    buf_init(&b, IPC_MAX_REQUEST + IPC_MAX_PREFIX);
    rc = ipc_frame_append(&b, &req->base);
    if (!rc)
        rc = send_all(fd, b.data, b.len, deadline);
    buf_cleanup(&b);
    return rc;
}

/* --- one-shot calls' answers ---------------------------------------------- */

int lib_call_pending(struct fastn_client *c, uint64_t id)
{
    if (c->n_pending == c->cap_pending) {
        size_t cap = c->cap_pending ? c->cap_pending * 2 : 16;
        uint64_t *v = realloc(c->pending, cap * sizeof(*v));
        if (!v)
            return FASTN_ERR_NOMEM;
        c->pending = v;
        c->cap_pending = cap;
    }
    c->pending[c->n_pending++] = id;
    return 0;
}

static bool take_pending(struct fastn_client *c, uint64_t id)
{
    for (size_t i = 0; i < c->n_pending; i++) {
        if (c->pending[i] == id) {
            c->pending[i] = c->pending[--c->n_pending];
            return true;
        }
    }
    return false;
}

static void keep_done(struct fastn_client *c, struct lib_call_done *d)
{
    if (!c->done_tail)
        c->done_tail = &c->done;
    d->next = NULL;
    *c->done_tail = d;
    c->done_tail = &d->next;
}

/* Keeps r when it answers a pending call; true if it did. */
static bool keep_call_answer(struct fastn_client *c,
                             const P2pd__Pb__Response *r)
{
    struct lib_call_done *d;
    const Fastn__CallResult *res;

    if (!r->fastn || !r->fastn->has_call_id || !r->fastn->call_id ||
        !take_pending(c, r->fastn->call_id))
        return false;
    d = calloc(1, sizeof(*d));
    if (!d)
        return true; /* lost: its waiter times out */
    d->id = r->fastn->call_id;
    res = r->fastn->call;
    if (r->type != P2PD__PB__RESPONSE__TYPE__OK) {
        d->status = lib_response_error(r, c->errmsg, sizeof(c->errmsg));
    } else if (!res) {
        d->status = FASTN_ERR_PROTOCOL;
    } else if (res->data.len && !(d->data = malloc(res->data.len))) {
        d->status = FASTN_ERR_NOMEM;
    } else {
        if (res->data.len)
            memcpy(d->data, res->data.data, res->data.len);
        d->len = res->data.len;
    }
    keep_done(c, d);
    return true;
}

struct lib_call_done *lib_call_take(struct fastn_client *c, uint64_t id)
{
    struct lib_call_done **pp = &c->done, *d;

    for (; (d = *pp); pp = &d->next) {
        if (id && d->id != id)
            continue;
        *pp = d->next;
        if (c->done_tail == &d->next)
            c->done_tail = pp;
        return d;
    }
    return NULL;
}

void lib_call_forget(struct fastn_client *c, uint64_t id)
{
    struct lib_call_done *d;

    take_pending(c, id);
    if ((d = lib_call_take(c, id))) {
        free(d->data);
        free(d);
    }
}

void lib_calls_fail(struct fastn_client *c, int err)
{
    while (c->n_pending) {
        struct lib_call_done *d = calloc(1, sizeof(*d));
        if (!d)
            break;
        d->id = c->pending[--c->n_pending];
        d->status = err;
        keep_done(c, d);
    }
    c->n_pending = 0;
}

static void drop_connection(struct fastn_client *c)
{
    close(c->fd);
    c->fd = -1;
    lib_calls_fail(c, FASTN_ERR_CLOSED);
}

/* With nothing asked on it, a readable connection can only be the
 * daemon's hang-up: drop it so that the next request connects anew. */
static void drop_if_hung_up(struct fastn_client *c)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};

    if (c->fd >= 0 && !c->n_pending && !c->done && !c->streaming &&
        poll(&p, 1, 0) == 1)
        drop_connection(c);
}

int lib_send(struct fastn_client *c, const P2pd__Pb__Request *req)
{
    int64_t deadline = lib_now_ms() + c->timeout_ms;
    int rc;

    drop_if_hung_up(c);
    if (c->fd < 0 && (rc = lib_socket_connect(c->sock, deadline, &c->fd)))
        return rc;
    rc = lib_send_fd(c->fd, req, deadline);
    if (rc && ends_connection(rc))
        drop_connection(c);
    return rc;
}

int lib_read_call(struct fastn_client *c, int64_t deadline)
{
    P2pd__Pb__Response *resp = NULL;
    bool kept;
    int rc;

    if (c->fd < 0)
        return FASTN_ERR_CLOSED;
    rc = lib_read_response(c->fd, deadline, &resp);
    if (rc) {
        if (ends_connection(rc) && rc != FASTN_ERR_TIMEOUT)
            drop_connection(c);
        return rc;
    }
    kept = keep_call_answer(c, resp);
    p2pd__pb__response__free_unpacked(resp, NULL);
    if (!kept) { /* an answer nobody asked for: out of step */
        drop_connection(c);
        return FASTN_ERR_PROTOCOL;
    }
    return 0;
}

int lib_request(struct fastn_client *c, const P2pd__Pb__Request *req,
                P2pd__Pb__Response **out)
{
    return lib_request_within(c, req, out, c->timeout_ms);
}

int lib_read_pushed(struct fastn_client *c, int timeout_ms,
                    P2pd__Pb__Response **out)
{
    int64_t deadline = lib_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int rc;

    if (c->fd < 0)
        return FASTN_ERR_CLOSED;
    if (timeout_ms == 0) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, 0) == 0)
            return FASTN_ERR_TIMEOUT;
        deadline = lib_now_ms() + c->timeout_ms;
    } else if (timeout_ms < 0) {
        deadline = INT64_MAX;
    }
    rc = lib_read_response(c->fd, deadline, out);
    if (!rc && (*out)->type != P2PD__PB__RESPONSE__TYPE__OK) {
        rc = lib_response_error(*out, c->errmsg, sizeof(c->errmsg));
        p2pd__pb__response__free_unpacked(*out, NULL);
        *out = NULL;
    }
    if (rc && rc != FASTN_ERR_TIMEOUT)
        drop_connection(c);
    return rc;
}

/* lib_request_within, with lib_request_result's result (may be NULL). */
static int request_within(struct fastn_client *c, const P2pd__Pb__Request *req,
                          P2pd__Pb__Response **out, int timeout_ms,
                          uint8_t **result, size_t *result_len)
{
    int64_t deadline = lib_now_ms() + timeout_ms;
    P2pd__Pb__Response *resp = NULL;
    int rc;

    c->errmsg[0] = '\0';
    if (c->streaming)
        return FASTN_ERR_INVAL;
    drop_if_hung_up(c);
    if (c->fd < 0 && (rc = lib_socket_connect(c->sock, deadline, &c->fd)))
        return rc;
    rc = lib_send_fd(c->fd, req, deadline);
    /* A refused client finds its refusal waiting even if the send failed
     * because the daemon had already hung up. */
    if (!rc || rc == FASTN_ERR_CLOSED) {
        int rrc;
        while ((rrc = read_response_result(c->fd, deadline, &resp, result,
                                           result_len)) == 0 &&
               resp && keep_call_answer(c, resp)) {
            p2pd__pb__response__free_unpacked(resp, NULL);
            resp = NULL;
        }
        rc = rrc ? (rc ? rc : rrc) : 0;
    }
    if (!rc && resp && resp->type != P2PD__PB__RESPONSE__TYPE__OK) {
        rc = lib_response_error(resp, c->errmsg, sizeof(c->errmsg));
        p2pd__pb__response__free_unpacked(resp, NULL);
        resp = NULL;
    }
    if (rc && ends_connection(rc))
        drop_connection(c);
    if (!rc)
        *out = resp;
    return rc;
}

int lib_request_within(struct fastn_client *c, const P2pd__Pb__Request *req,
                       P2pd__Pb__Response **out, int timeout_ms)
{
    return request_within(c, req, out, timeout_ms, NULL, NULL);
}

int lib_request_result(struct fastn_client *c, const P2pd__Pb__Request *req,
                       int timeout_ms, P2pd__Pb__Response **out,
                       uint8_t **result, size_t *result_len)
{
    return request_within(c, req, out, timeout_ms, result, result_len);
}

int lib_request_fd(int fd, int64_t deadline, const P2pd__Pb__Request *req,
                   P2pd__Pb__Response **out, char *errmsg, size_t errlen)
{
    P2pd__Pb__Response *resp = NULL;
    int rc = lib_send_fd(fd, req, deadline);

    if (errmsg && errlen)
        errmsg[0] = '\0';
    if (!rc || rc == FASTN_ERR_CLOSED) {
        int rrc = lib_read_response(fd, deadline, &resp);
        rc = rrc ? (rc ? rc : rrc) : 0;
    }
    if (!rc && resp->type != P2PD__PB__RESPONSE__TYPE__OK) {
        rc = lib_response_error(resp, errmsg, errlen);
        p2pd__pb__response__free_unpacked(resp, NULL);
        resp = NULL;
    }
    if (!rc)
        *out = resp;
    return rc;
}

void lib_drop_connection(struct fastn_client *c)
{
    if (c->fd >= 0)
        drop_connection(c);
}
