/*
 * libfastn: streams as file descriptors. STREAM_OPEN runs on a connection
 * of its own, which after the response is the stream; handlers listen on
 * a Unix socket in a private folder and register it with STREAM_HANDLER,
 * and each stream arrives as a connection that starts with a
 * varint-delimited StreamInfo (read exactly, never past it).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc/frame.h"
#include "lib/lib_int.h"
#include "util/buf.h"
#include "util/multiaddr.h"
#include "util/peer_id.h"

/* A StreamInfo is small: peer, address, protocol. */
#define STREAM_INFO_MAX (8 * 1024)
#define ACCEPT_INFO_MS 5000

static void info_convert(const P2pd__Pb__StreamInfo *si,
                         struct fastn_stream_info *info)
{
    struct multiaddr ma;

    memset(info, 0, sizeof(*info));
    if (lib_peer_id_text(&si->peer, info->peer_id) != 0)
        info->peer_id[0] = '\0';
    snprintf(info->protocol, sizeof(info->protocol), "%s",
             si->proto ? si->proto : "");
    if (multiaddr_from_bytes(si->addr.data, si->addr.len, &ma) != 0 ||
        multiaddr_format(&ma, info->addr, sizeof(info->addr)) < 0)
        info->addr[0] = '\0';
}

int fastn_client_stream_open(struct fastn_client *c, const char *peer,
                             const char *protocol, int *fd,
                             struct fastn_stream_info *info)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    P2pd__Pb__StreamOpenRequest so = P2PD__PB__STREAM_OPEN_REQUEST__INIT;
    P2pd__Pb__Response *r = NULL;
    int64_t deadline = lib_now_ms() + c->timeout_ms;
    char *protos[1] = {(char *)protocol};
    struct peer_id id;
    int s = -1, rc;

    if (!peer || !protocol || !protocol[0] || !fd)
        return FASTN_ERR_INVAL;
    if ((rc = lib_parse_peer(c, peer, &id)))
        return rc;
    so.peer.data = id.bytes;
    so.peer.len = id.len;
    so.proto = protos;
    so.n_proto = 1;
    so.has_timeout = true;
    so.timeout = c->timeout_ms / 1000 > 0 ? c->timeout_ms / 1000 : 1;
    req.type = P2PD__PB__REQUEST__TYPE__STREAM_OPEN;
    req.streamopen = &so;
    rc = lib_socket_connect(c->sock, deadline, &s);
    if (!rc)
        rc =
            lib_request_fd(s, deadline, &req, &r, c->errmsg, sizeof(c->errmsg));
    if (!rc && !r->streaminfo)
        rc = FASTN_ERR_PROTOCOL;
    if (!rc)
        rc = lib_set_blocking(s);
    if (!rc && info) {
        info_convert(r->streaminfo, info);
        if (r->fastn && r->fastn->stream)
            info->stream_id = r->fastn->stream->stream_id;
    }
    if (r)
        p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        if (s >= 0)
            close(s);
        return rc;
    }
    *fd = s;
    return 0;
}

int fastn_client_stream_result(struct fastn_client *c, uint64_t stream_id)
{
    P2pd__Pb__Request req;
    Fastn__Request ext;
    Fastn__StreamResultRequest sr = FASTN__STREAM_RESULT_REQUEST__INIT;
    P2pd__Pb__Response *r = NULL;
    int rc;

    lib_ext_request(&req, &ext, FASTN__REQUEST__TYPE__STREAM_RESULT);
    sr.stream_id = stream_id;
    ext.stream_result = &sr;
    rc = lib_request(c, &req, &r);
    if (rc)
        return rc == FASTN_ERR_REMOTE ? FASTN_ERR_UNSUPPORTED : rc;
    if (!r->fastn || !r->fastn->stream) {
        rc = FASTN_ERR_PROTOCOL;
    } else {
        switch (r->fastn->stream->state) {
        case FASTN__STREAM_RESULT__STATE__OPEN:
            rc = FASTN_ERR_AGAIN;
            break;
        case FASTN__STREAM_RESULT__STATE__FAILED:
            rc = r->fastn->stream->code < 0 ? r->fastn->stream->code
                                            : FASTN_ERR_NET_STREAM_RESET;
            break;
        default:
            rc = 0;
        }
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    return rc;
}

/* --- handlers
 * ------------------------------------------------------------------ */

struct fastn_handler {
    struct fastn_client *c;
    int fd;
    char dir[PATH_MAX];
    char path[108];
    char protocol[1024];
    struct multiaddr addr;
};

static int listen_private(struct fastn_handler *h)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *base = getenv("XDG_RUNTIME_DIR");

    if (!base || !base[0] || access(base, W_OK) != 0)
        base = getenv("TMPDIR");
    if (!base || !base[0])
        base = "/tmp";
    if (snprintf(h->dir, sizeof(h->dir), "%s/fastn-h-XXXXXX", base) >=
            (int)sizeof(h->dir) ||
        !mkdtemp(h->dir))
        return FASTN_ERR_IO;
    if (snprintf(h->path, sizeof(h->path), "%s/s", h->dir) >=
        (int)sizeof(h->path))
        return FASTN_ERR_TOO_LARGE;
    memcpy(sa.sun_path, h->path, strlen(h->path) + 1);
    h->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(h->fd, 128) != 0)
        return FASTN_ERR_IO;
    /* the folder is 0700: only this user (and fastnd as this user) */
    if (multiaddr_append(&h->addr, MA_UNIX, (const uint8_t *)h->path,
                         strlen(h->path)))
        return FASTN_ERR_TOO_LARGE;
    return 0;
}

static int handler_request(struct fastn_handler *h, int type, int balanced)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    P2pd__Pb__StreamHandlerRequest sh = P2PD__PB__STREAM_HANDLER_REQUEST__INIT;
    P2pd__Pb__RemoveStreamHandlerRequest rh =
        P2PD__PB__REMOVE_STREAM_HANDLER_REQUEST__INIT;
    P2pd__Pb__Response *r = NULL;
    char *protos[1] = {h->protocol};
    int rc;

    req.type = (P2pd__Pb__Request__Type)type;
    if (type == P2PD__PB__REQUEST__TYPE__STREAM_HANDLER) {
        sh.addr.data = h->addr.bytes;
        sh.addr.len = h->addr.len;
        sh.proto = protos;
        sh.n_proto = 1;
        sh.has_balanced = true;
        sh.balanced = balanced != 0;
        req.streamhandler = &sh;
    } else {
        rh.addr.data = h->addr.bytes;
        rh.addr.len = h->addr.len;
        rh.proto = protos;
        rh.n_proto = 1;
        req.removestreamhandler = &rh;
    }
    rc = lib_request(h->c, &req, &r);
    if (!rc)
        p2pd__pb__response__free_unpacked(r, NULL);
    return rc;
}

static void handler_close(struct fastn_handler *h)
{
    if (h->fd >= 0)
        close(h->fd);
    if (h->path[0])
        unlink(h->path);
    if (h->dir[0])
        rmdir(h->dir);
    free(h);
}

int fastn_handler_register(struct fastn_client *c, const char *protocol,
                           int balanced, struct fastn_handler **out)
{
    struct fastn_handler *h;
    int rc;

    if (!protocol || !protocol[0] || strlen(protocol) >= 1023 || !out)
        return FASTN_ERR_INVAL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return FASTN_ERR_NOMEM;
    h->c = c;
    h->fd = -1;
    memcpy(h->protocol, protocol, strlen(protocol) + 1);
    rc = listen_private(h);
    if (!rc)
        rc = handler_request(h, P2PD__PB__REQUEST__TYPE__STREAM_HANDLER,
                             balanced);
    if (rc) {
        handler_close(h);
        return rc;
    }
    *out = h;
    return 0;
}

int fastn_handler_fd(const struct fastn_handler *h)
{
    return h->fd;
}

/* Reads the StreamInfo a stream connection starts with, exactly. */
static int read_info(int fd, struct fastn_stream_info *info)
{
    int64_t deadline = lib_now_ms() + ACCEPT_INFO_MS;
    uint8_t prefix[IPC_MAX_PREFIX], *body;
    P2pd__Pb__StreamInfo *si;
    struct buf_reader r;
    uint64_t len;
    size_t n = 0;
    int rc;

    do {
        if (n == sizeof(prefix))
            return FASTN_ERR_PROTOCOL;
        if ((rc = lib_recv_exact(fd, prefix + n, 1, deadline)))
            return rc;
    } while (prefix[n++] & 0x80);
    buf_reader_init(&r, prefix, n);
    if (buf_get_uvarint(&r, &len) || len == 0 || len > STREAM_INFO_MAX)
        return FASTN_ERR_PROTOCOL;
    body = malloc((size_t)len);
    if (!body)
        return FASTN_ERR_NOMEM;
    rc = lib_recv_exact(fd, body, (size_t)len, deadline);
    si = rc ? NULL : p2pd__pb__stream_info__unpack(NULL, (size_t)len, body);
    free(body);
    if (rc)
        return rc;
    if (!si)
        return FASTN_ERR_PROTOCOL;
    if (info)
        info_convert(si, info);
    p2pd__pb__stream_info__free_unpacked(si, NULL);
    return 0;
}

int fastn_handler_accept(struct fastn_handler *h, int timeout_ms, int *fd,
                         struct fastn_stream_info *info)
{
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : lib_now_ms() + timeout_ms;
    /* the registration lives on the control connection: when fastnd
     * closes it (stopped, restarted), no stream comes any more */
    struct pollfd p[2] = {{.fd = h->fd, .events = POLLIN},
                          {.fd = h->c->fd, .events = POLLRDHUP}};

    for (;;) {
        int s = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), rc;
        if (s >= 0) {
            rc = read_info(s, info);
            if (!rc)
                rc = lib_set_blocking(s);
            if (rc) {
                close(s);
                continue; /* not a stream from fastnd: the next one */
            }
            *fd = s;
            return 0;
        }
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            return FASTN_ERR_IO;
        int64_t left = deadline - lib_now_ms();
        if (left <= 0)
            return FASTN_ERR_TIMEOUT;
        if (poll(p, p[1].fd >= 0 ? 2 : 1, left > 60000 ? 60000 : (int)left) <
                0 &&
            errno != EINTR)
            return FASTN_ERR_IO;
        if (p[1].fd >= 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            snprintf(h->c->errmsg, sizeof(h->c->errmsg),
                     "fastnd closed the connection this handler was "
                     "registered on (it stopped or restarted): no stream "
                     "comes any more; register again once it runs");
            return FASTN_ERR_NO_DAEMON;
        }
    }
}

int fastn_handler_run(struct fastn_handler *h, fastn_stream_fn fn, void *arg)
{
    struct fastn_stream_info info;
    int fd, rc;

    for (;;) {
        rc = fastn_handler_accept(h, -1, &fd, &info);
        if (rc)
            return rc;
        rc = fn(arg, fd, &info);
        if (rc)
            return rc;
    }
}

void fastn_handler_free(struct fastn_handler *h)
{
    if (!h)
        return;
    handler_request(h, P2PD__PB__REQUEST__TYPE__REMOVE_STREAM_HANDLER, 0);
    handler_close(h);
}
