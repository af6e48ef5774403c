/*
 * libfastn: TCP port forwarding through the daemon (the fastn extension's
 * FORWARD, EXPOSE and FORWARDS). A forward or expose is tied to the
 * control connection that made it, so each handle has a connection of its
 * own: freeing the handle (or the program's end) closes it and the daemon
 * ends the forward.
 *
 * Addresses are "PORT", "HOST:PORT", "[IPV6]:PORT" or multiaddrs; host
 * names are resolved here (IPv4 first), so the daemon gets an IP.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/lib_int.h"
#include "util/multiaddr.h"
#include "util/peer_id.h"

struct fastn_forward {
    struct fastn_client *c;
    int fd;
    uint64_t id;
};

/* --- addresses ------------------------------------------------------------
 */

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (!*s || *end || v < 0 || v > 65535)
        return FASTN_ERR_BAD_MULTIADDR;
    *port = (uint16_t)v;
    return 0;
}

/* host to an IP: a literal, or a name (its first IPv4 address, else its
 * first IPv6 one). */
static int resolve(const char *host, uint8_t ip[16], size_t *len)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *a;
    int rc = FASTN_ERR_BAD_MULTIADDR;

    if (inet_pton(AF_INET, host, ip) == 1) {
        *len = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, ip) == 1) {
        *len = 16;
        return 0;
    }
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return FASTN_ERR_BAD_MULTIADDR;
    for (a = res; a && rc; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            memcpy(ip, &((struct sockaddr_in *)a->ai_addr)->sin_addr, 4);
            *len = 4;
            rc = 0;
        }
    }
    for (a = res; a && rc; a = a->ai_next) {
        if (a->ai_family == AF_INET6) {
            memcpy(ip, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, 16);
            *len = 16;
            rc = 0;
        }
    }
    freeaddrinfo(res);
    return rc;
}

/* "PORT" | "HOST:PORT" | "[IPV6]:PORT" | a multiaddr -> a multiaddr. */
static int parse_hostport(const char *s, struct multiaddr *out)
{
    char host[256];
    const char *colon, *port;
    uint8_t ip[16] = {127, 0, 0, 1};
    size_t iplen = 4, hl;
    uint16_t p;
    int rc;

    if (!s || !*s)
        return FASTN_ERR_BAD_MULTIADDR;
    if (s[0] == '/')
        return multiaddr_parse(s, out) ? FASTN_ERR_BAD_MULTIADDR : 0;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return FASTN_ERR_BAD_MULTIADDR;
        colon = close + 1;
        s++;
        hl = (size_t)(close - s);
    } else {
        colon = strrchr(s, ':');
        if (colon && strchr(s, ':') != colon)
            return FASTN_ERR_BAD_MULTIADDR; /* IPv6 wants brackets */
        hl = colon ? (size_t)(colon - s) : 0;
    }
    port = colon ? colon + 1 : s;
    if (parse_port(port, &p))
        return FASTN_ERR_BAD_MULTIADDR;
    if (hl) {
        if (hl >= sizeof(host))
            return FASTN_ERR_BAD_MULTIADDR;
        memcpy(host, s, hl);
        host[hl] = '\0';
        if ((rc = resolve(host, ip, &iplen)))
            return rc;
    }
    return multiaddr_from_ip_tcp(out, ip, iplen, p) ? FASTN_ERR_BAD_MULTIADDR
                                                    : 0;
}

/* --- info ------------------------------------------------------------------
 */

static void bytes_ma_text(const ProtobufCBinaryData *b, char *out, size_t n)
{
    struct multiaddr ma;

    out[0] = '\0';
    if (b->len && multiaddr_from_bytes(b->data, b->len, &ma) == 0)
        multiaddr_format(&ma, out, n);
}

static void info_of(const Fastn__ForwardInfo *fi,
                    struct fastn_forward_info *out)
{
    struct multiaddr ma;
    struct multiaddr_tcp t;

    memset(out, 0, sizeof(*out));
    out->id = fi->id;
    out->expose = fi->kind == FASTN__FORWARD_INFO__KIND__EXPOSE;
    out->mine = fi->mine;
    snprintf(out->protocol, sizeof(out->protocol), "%s",
             fi->protocol ? fi->protocol : "");
    bytes_ma_text(&fi->listen, out->listen, sizeof(out->listen));
    bytes_ma_text(&fi->target, out->target, sizeof(out->target));
    if (fi->has_listen &&
        multiaddr_from_bytes(fi->listen.data, fi->listen.len, &ma) == 0 &&
        multiaddr_to_tcp(&ma, &t) == 0) {
        inet_ntop(t.host_code == MA_IP4 ? AF_INET : AF_INET6, t.ip, out->host,
                  sizeof(out->host));
        out->port = t.port;
    }
    if (fi->has_peer && lib_peer_id_text(&fi->peer, out->peer_id) != 0)
        out->peer_id[0] = '\0';
    if (fi->has_last_refused &&
        lib_peer_id_text(&fi->last_refused, out->last_refused) != 0)
        out->last_refused[0] = '\0';
    out->n_allow = fi->n_allow;
    out->connections = fi->connections;
    out->refused = fi->refused;
    out->failed = fi->failed;
}

/* --- requests --------------------------------------------------------------
 */

/* Sends req on a new connection of its own; on success *out owns it. */
static int open_with(struct fastn_client *c, P2pd__Pb__Request *req,
                     struct fastn_forward **out)
{
    int64_t deadline = lib_now_ms() + c->timeout_ms;
    struct fastn_forward *f = calloc(1, sizeof(*f));
    P2pd__Pb__Response *r = NULL;
    int rc;

    if (!f)
        return FASTN_ERR_NOMEM;
    f->c = c;
    f->fd = -1;
    c->errmsg[0] = '\0';
    rc = lib_socket_connect(c->sock, deadline, &f->fd);
    if (!rc)
        rc = lib_request_fd(f->fd, deadline, req, &r, c->errmsg,
                            sizeof(c->errmsg));
    if (!rc && (!r->fastn || !r->fastn->forward))
        rc = FASTN_ERR_PROTOCOL;
    if (!rc)
        f->id = r->fastn->forward->id;
    if (r)
        p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        if (f->fd >= 0)
            close(f->fd);
        free(f);
        return rc == FASTN_ERR_REMOTE ? FASTN_ERR_UNSUPPORTED : rc;
    }
    *out = f;
    return 0;
}

int fastn_forward_open(struct fastn_client *c, const char *listen,
                       const char *peer, const char *protocol,
                       struct fastn_forward **out)
{
    P2pd__Pb__Request req;
    Fastn__Request ext;
    Fastn__ForwardRequest fr = FASTN__FORWARD_REQUEST__INIT;
    struct multiaddr ma;
    struct peer_id id;
    int rc;

    if (!out || !peer)
        return FASTN_ERR_INVAL;
    if ((rc = parse_hostport(listen, &ma)) ||
        (rc = lib_parse_peer(c, peer, &id)))
        return rc;
    lib_ext_request(&req, &ext, FASTN__REQUEST__TYPE__FORWARD);
    fr.listen.data = ma.bytes;
    fr.listen.len = ma.len;
    fr.peer.data = id.bytes;
    fr.peer.len = id.len;
    fr.protocol = (char *)protocol;
    ext.forward = &fr;
    return open_with(c, &req, out);
}

int fastn_expose_open(struct fastn_client *c, const char *target,
                      const char *const *allow, size_t n_allow,
                      const char *protocol, struct fastn_forward **out)
{
    P2pd__Pb__Request req;
    Fastn__Request ext;
    Fastn__ExposeRequest er = FASTN__EXPOSE_REQUEST__INIT;
    ProtobufCBinaryData *pb = NULL;
    struct peer_id *ids = NULL;
    struct multiaddr ma;
    int rc;

    if (!out || (n_allow && !allow))
        return FASTN_ERR_INVAL;
    if ((rc = parse_hostport(target, &ma)))
        return rc;
    if (n_allow && (!(ids = calloc(n_allow, sizeof(*ids))) ||
                    !(pb = calloc(n_allow, sizeof(*pb))))) {
        free(ids);
        return FASTN_ERR_NOMEM;
    }
    for (size_t i = 0; i < n_allow && !rc; i++) {
        rc = lib_parse_peer(c, allow[i], &ids[i]);
        pb[i].data = ids[i].bytes;
        pb[i].len = ids[i].len;
    }
    if (!rc) {
        lib_ext_request(&req, &ext, FASTN__REQUEST__TYPE__EXPOSE);
        er.target.data = ma.bytes;
        er.target.len = ma.len;
        er.allow = pb;
        er.n_allow = n_allow;
        er.protocol = (char *)protocol;
        ext.expose = &er;
        rc = open_with(c, &req, out);
    }
    free(pb);
    free(ids);
    return rc;
}

/* FORWARDS on fd; *out / *n as fastn_client_forwards. */
static int list_on(struct fastn_client *c, int fd, int64_t deadline,
                   struct fastn_forward_info **out, size_t *n)
{
    P2pd__Pb__Request req;
    Fastn__Request ext;
    P2pd__Pb__Response *r = NULL;
    struct fastn_forward_info *v = NULL;
    size_t k = 0;
    int rc;

    lib_ext_request(&req, &ext, FASTN__REQUEST__TYPE__FORWARDS);
    rc = lib_request_fd(fd, deadline, &req, &r, c->errmsg, sizeof(c->errmsg));
    if (rc)
        return rc == FASTN_ERR_REMOTE ? FASTN_ERR_UNSUPPORTED : rc;
    if (r->fastn && r->fastn->n_forwards) {
        k = r->fastn->n_forwards;
        v = calloc(k, sizeof(*v));
        for (size_t i = 0; v && i < k; i++)
            info_of(r->fastn->forwards[i], &v[i]);
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    if (k && !v)
        return FASTN_ERR_NOMEM;
    *out = v;
    *n = k;
    return 0;
}

int fastn_client_forwards(struct fastn_client *c,
                          struct fastn_forward_info **out, size_t *n)
{
    int64_t deadline = lib_now_ms() + c->timeout_ms;
    int fd, rc;

    if (!out || !n)
        return FASTN_ERR_INVAL;
    c->errmsg[0] = '\0';
    if ((rc = lib_socket_connect(c->sock, deadline, &fd)))
        return rc;
    rc = list_on(c, fd, deadline, out, n);
    close(fd);
    return rc;
}

int fastn_forward_info(struct fastn_forward *f, struct fastn_forward_info *out)
{
    struct fastn_forward_info *v = NULL;
    size_t n = 0;
    int rc = list_on(f->c, f->fd, lib_now_ms() + f->c->timeout_ms, &v, &n);

    if (rc)
        return rc;
    rc = FASTN_ERR_NOT_FOUND;
    for (size_t i = 0; i < n; i++) {
        if (v[i].id == f->id) {
            *out = v[i];
            rc = 0;
        }
    }
    free(v);
    return rc;
}

int fastn_forward_fd(const struct fastn_forward *f)
{
    return f->fd;
}

void fastn_forward_free(struct fastn_forward *f)
{
    if (!f)
        return;
    close(f->fd);
    free(f);
}
