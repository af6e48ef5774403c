/*
 * Stream requests as go-libp2p-daemon serves them: STREAM_OPEN (once the
 * protocol is agreed the response goes out, and then the client's socket
 * carries the stream's bytes both ways, with half-close), STREAM_HANDLER
 * and REMOVE_STREAM_HANDLER (client handlers in the router), and the
 * fastn extension's STREAM_RESULT, which tells a raw-socket client how
 * its stream ended (a reset looks like EOF on a Unix socket).
 *
 * Handlers and privileges: the daemon connects to a handler's address
 * for every remote peer, with its own rights. The rules are the router's
 * policy (router/policy.h: a non-admin client may register only a Unix
 * socket, may not share a protocol the daemon serves itself, a plugin or
 * an expose, or another uid's handler, and may remove only its own
 * handlers); this file asks it (router_client_may_add/remove), says the
 * refusal to the client, and checks the path the client gave: a socket
 * of its own uid, not reached through another user's symlink (lstat;
 * the router checks the listener again through SO_PEERCRED each time it
 * connects, which a path swapped after registering cannot pass). Every handler
 * is tagged with its registering process (watch.c): when that process exits its
 * handlers go, while the control connection that registered them may close long
 * before (as go-libp2p-daemon clients do).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "router/router.h"

#define DEFAULT_TIMEOUT_MS 60000

/* --- STREAM_OPEN
 * -------------------------------------------------------------- */

/* The router opens the stream; this asks it and answers the client. */
struct open_ctx {
    struct ipc_call *dc;
    struct router_open *o;
};

static void open_handoff(void *arg, int fd, const uint8_t *rest, size_t n)
{
    struct router_splice *sp = arg;

    if (fd < 0)
        router_splice_abort(sp);
    else
        router_splice_attach(sp, fd, rest, n);
}

static void *copy_out(struct ipc_reply *r, const void *p, size_t n)
{
    void *q = ipc_reply_alloc(r, n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

/* The StreamInfo answer, with the fastn part naming the stream. */
static int open_reply(struct ipc_call *dc, const struct router_stream_info *in)
{
    struct ipc_reply *r = &dc->reply;
    P2pd__Pb__StreamInfo *si = ipc_reply_alloc(r, sizeof(*si));
    Fastn__StreamResult *res = ipc_reply_alloc(r, sizeof(*res));
    uint8_t *pb = copy_out(r, in->peer->bytes, in->peer->len);
    uint8_t *ab = copy_out(r, in->addr->bytes, in->addr->len);
    char *pr = copy_out(r, in->protocol, strlen(in->protocol) + 1);

    if (!si || !res || !pb || !ab || !pr)
        return FASTN_ERR_NOMEM;
    p2pd__pb__stream_info__init(si);
    si->peer = (ProtobufCBinaryData){in->peer->len, pb};
    si->addr = (ProtobufCBinaryData){in->addr->len, ab};
    si->proto = pr;
    r->resp.streaminfo = si;
    fastn__stream_result__init(res);
    res->stream_id = in->result_id;
    ipc_reply_ext(r)->stream = res;
    return 0;
}

static void open_done(void *arg, int err, struct router_splice *sp,
                      const struct router_stream_info *info)
{
    struct open_ctx *ctx = arg;
    struct ipc_call *dc = ctx->dc;
    char pid[PEER_ID_STR_MAX];

    free(ctx);
    if (!err) {
        err = open_reply(dc, info);
        if (err)
            router_splice_abort(sp);
        else
            ipc_session_handoff(dc->session, open_handoff, sp);
    } else if (err != FASTN_ERR_NOMEM) {
        ipc_reply_set_msg(&dc->reply, "cannot open a stream to %s: %s",
                          peer_id_format(info->peer, pid), fastn_strerror(err));
    }
    ipc_call_finish(dc, err);
}

static void open_cancel(struct ipc_call *dc)
{
    struct open_ctx *ctx = dc->data;

    router_open_cancel(ctx->o);
    free(ctx);
}

int ipc_handle_stream_open(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    const P2pd__Pb__StreamOpenRequest *so = req->streamopen;
    struct open_ctx *ctx;
    struct peer_id peer;
    uint32_t ms = DEFAULT_TIMEOUT_MS;
    int err;

    if (!call->host->router)
        return ipc_no_network(call);
    if (!so || so->n_proto == 0 || so->n_proto > ROUTER_OPEN_MAX_PROTOCOLS) {
        ipc_reply_set_msg(&call->reply, "STREAM_OPEN wants a peer and 1 to "
                                        "16 protocols");
        return FASTN_ERR_MALFORMED;
    }
    err = ipc_req_peer(call, &so->peer, &peer);
    if (err)
        return err;
    if (so->has_timeout && so->timeout > 0)
        ms = so->timeout > 3600 ? 3600000u : (uint32_t)so->timeout * 1000;
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return FASTN_ERR_NOMEM;
    err = router_open(call->host->router, &peer, (const char *const *)so->proto,
                      so->n_proto, ms, call->session->peer.uid, open_done, ctx,
                      &ctx->o);
    if (!err && !(ctx->dc = ipc_call_defer(call, true, open_cancel, ctx, &err)))
        router_open_cancel(ctx->o);
    if (err) {
        free(ctx);
        if (err == FASTN_ERR_BUSY)
            ipc_reply_set_msg(&call->reply,
                              "fastnd has as many streams spliced to local "
                              "sockets as its file descriptor limit allows; "
                              "try again later");
        else if (err == FASTN_ERR_NET_NO_ADDR)
            ipc_reply_set_msg(&call->reply, "%s", fastn_strerror(err));
        return err;
    }
    return IPC_DEFERRED;
}

/* --- STREAM_HANDLER
 * -------------------------------------------------------------- */

/* A handler address: a binary multiaddr, or (older clients) a plain
 * Unix socket path. Errors: FASTN_ERR_BAD_MULTIADDR. */
static int parse_handler_addr(const ProtobufCBinaryData *b,
                              struct multiaddr *out)
{
    if (multiaddr_from_bytes(b->data, b->len, out) == 0)
        return 0;
    if (b->len > 1 && b->len <= MULTIADDR_UNIX_MAX && b->data[0] == '/' &&
        !memchr(b->data, 0, b->len)) {
        memset(out, 0, sizeof(*out));
        if (multiaddr_append(out, MA_UNIX, b->data, b->len) == 0)
            return 0;
    }
    return FASTN_ERR_BAD_MULTIADDR;
}

static int handler_addr(struct ipc_call *call, const ProtobufCBinaryData *b,
                        struct multiaddr *out)
{
    if (parse_handler_addr(b, out) == 0)
        return 0;
    ipc_reply_set_msg(&call->reply, "the handler address is neither a "
                                    "multiaddr nor a socket path");
    return FASTN_ERR_BAD_MULTIADDR;
}

/* The protocols of a (REMOVE_)STREAM_HANDLER: 1 to
 * IPC_MAX_PROTOCOLS_PER_REQUEST ids a router takes. */
static int check_protocols(struct ipc_call *call, char **proto, size_t n)
{
    if (n > IPC_MAX_PROTOCOLS_PER_REQUEST) {
        ipc_reply_set_msg(&call->reply,
                          "%zu protocols in one request; at most %d (send "
                          "more requests)",
                          n, IPC_MAX_PROTOCOLS_PER_REQUEST);
        return FASTN_ERR_TOO_LARGE;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = proto[i] ? strlen(proto[i]) : 0;
        if (len == 0 || len > ROUTER_PROTOCOL_MAX ||
            memchr(proto[i], '\n', len)) {
            ipc_reply_set_msg(&call->reply,
                              "protocol %zu is not a protocol id (1 to %d "
                              "bytes, no newline)",
                              i + 1, ROUTER_PROTOCOL_MAX);
            return FASTN_ERR_INVAL;
        }
    }
    return 0;
}

/* No directory of path is a symlink that someone but uid or root owns
 * (it could be pointed elsewhere behind the client's back). */
static int check_path_links(struct ipc_call *call, const char *path, uid_t uid)
{
    char prefix[MULTIADDR_UNIX_MAX + 1];
    struct stat st;

    for (const char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        size_t n = (size_t)(p - path);
        memcpy(prefix, path, n);
        prefix[n] = '\0';
        if (lstat(prefix, &st) == 0 && S_ISLNK(st.st_mode) &&
            st.st_uid != uid && st.st_uid != 0)
            return ipc_refuse_admin(call,
                                    "a handler reached through %.60s, a "
                                    "symlink of uid %u",
                                    prefix, (unsigned)st.st_uid);
    }
    return 0;
}

/* The client, as the router's registration rules see it. */
static struct router_client client_of(const struct ipc_call *call)
{
    struct router_client who = {.uid = call->session->peer.uid,
                                .admin = call->session->admit == IPC_ADMIN};
    return who;
}

/* A non-admin's handler address: a Unix socket of its own uid (the
 * router checks the listener again at each connection). */
static int check_own_socket(struct ipc_call *call, const struct multiaddr *ma)
{
    char path[MULTIADDR_UNIX_MAX + 1];
    struct router_client who = client_of(call);
    uid_t uid = who.uid;
    struct stat st;

    if (router_client_may_add(call->host->router, NULL, ma, &who) ==
        ROUTER_RULE_TCP)
        return ipc_refuse_admin(call, "a handler at a TCP address (the "
                                      "daemon would connect there for "
                                      "every peer: use a Unix socket of "
                                      "your own)");
    if (multiaddr_to_unix(ma, path, sizeof(path)) != 0)
        return 0; /* an admin's TCP handler */
    if (path[0] != '/' || lstat(path, &st) != 0) {
        ipc_reply_set_msg(
            &call->reply,
            "no socket at %.100s (%s): listen there before "
            "registering the handler",
            path, path[0] == '/' ? strerror(errno) : "not an absolute path");
        return FASTN_ERR_NOT_FOUND;
    }
    if (!S_ISSOCK(st.st_mode) || st.st_uid != uid)
        return ipc_refuse_admin(call,
                                "a handler at %.80s, which is not a socket "
                                "of uid %u",
                                path, (unsigned)uid);
    return check_path_links(call, path, uid);
}

int ipc_may_stream_handler(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    const P2pd__Pb__StreamHandlerRequest *sh = req->streamhandler;
    struct router *r = call->host->router;
    struct router_client who = client_of(call);
    struct multiaddr addr;
    int err;

    if (!r || !sh || sh->n_proto > IPC_MAX_PROTOCOLS_PER_REQUEST ||
        parse_handler_addr(&sh->addr, &addr) != 0)
        return 0; /* a request the handler refuses anyway */
    if ((err = check_own_socket(call, &addr)))
        return err;
    for (size_t i = 0; i < sh->n_proto; i++) {
        if (!sh->proto[i])
            continue;
        switch (router_client_may_add(r, sh->proto[i], &addr, &who)) {
        case ROUTER_RULE_DAEMON_SERVES:
            return ipc_refuse_admin(call,
                                    "sharing %.80s, which the daemon "
                                    "serves itself (a plugin or an expose)",
                                    sh->proto[i]);
        case ROUTER_RULE_OTHER_UID:
            return ipc_refuse_admin(call,
                                    "sharing %.80s with another user's "
                                    "handler",
                                    sh->proto[i]);
        default:
            break;
        }
    }
    return 0;
}

/* The tag of the registering process (0 when it cannot be watched: its
 * handlers then last until their socket refuses). */
static int client_tag(struct ipc_call *call, uint64_t *tag)
{
    struct ipc_session *s = call->session;
    int err = 0;

    *tag = 0;
    if (!s->host->watch)
        return 0;
    ipc_watch_sweep(s->host->watch, s->peer.uid);
    if (!ipc_watch_find(s->host->watch, &s->peer) &&
        (err = ipc_limits_proc_check(call)))
        return err;
    *tag = ipc_watch_process(s->host->watch, &s->peer, &err);
    if (err == FASTN_ERR_NOT_FOUND)
        ipc_reply_set_msg(&call->reply,
                          "the registering process (pid %d) has exited",
                          (int)s->peer.pid);
    else if (err == FASTN_ERR_BUSY)
        ipc_reply_set_msg(&call->reply, "fastnd is out of file descriptors "
                                        "to watch the registering process; "
                                        "try again later");
    return err == FASTN_ERR_UNSUPPORTED ? 0 : err;
}

int ipc_handle_stream_handler(struct ipc_call *call,
                              const P2pd__Pb__Request *req)
{
    const P2pd__Pb__StreamHandlerRequest *sh = req->streamhandler;
    struct router *r = call->host->router;
    struct router_client who = client_of(call);
    struct multiaddr addr;
    size_t i;
    int err = 0;

    if (!r)
        return ipc_no_network(call);
    if (!sh || sh->n_proto == 0) {
        ipc_reply_set_msg(&call->reply, "STREAM_HANDLER wants an address and "
                                        "protocols");
        return FASTN_ERR_MALFORMED;
    }
    if ((err = check_protocols(call, sh->proto, sh->n_proto)) ||
        (err = handler_addr(call, &sh->addr, &addr)) ||
        (err = client_tag(call, &who.tag)) ||
        (err = ipc_limits_handlers(call, who.tag, sh->n_proto)))
        return err;
    for (i = 0; !err && i < sh->n_proto; i++) {
        bool had = router_has(r, sh->proto[i]);
        err = router_add_client(r, sh->proto[i], &addr, sh->balanced, &who);
        if (err == FASTN_ERR_EXISTS && had)
            ipc_reply_set_msg(&call->reply,
                              "handler for protocol %.100s already "
                              "set (register with balanced to "
                              "share it)",
                              sh->proto[i]);
        else if (err == FASTN_ERR_BUSY)
            ipc_reply_set_msg(&call->reply,
                              "protocol %.100s has %d handlers, or fastnd "
                              "serves %d protocols: the most it takes",
                              sh->proto[i], ROUTER_MAX_HANDLERS,
                              ROUTER_MAX_PROTOCOLS);
    }
    if (err) /* all or nothing */
        while (i-- > 1)
            router_remove_client(r, sh->proto[i - 1], &addr);
    return err;
}

int ipc_may_remove_stream_handler(struct ipc_call *call,
                                  const P2pd__Pb__Request *req)
{
    const P2pd__Pb__RemoveStreamHandlerRequest *rh = req->removestreamhandler;
    struct router *r = call->host->router;
    struct router_client who = client_of(call);
    struct multiaddr addr;
    uid_t uid;

    if (!r || !rh || rh->n_proto > IPC_MAX_PROTOCOLS_PER_REQUEST ||
        parse_handler_addr(&rh->addr, &addr) != 0)
        return 0;
    for (size_t i = 0; i < rh->n_proto; i++)
        if (rh->proto[i] &&
            router_client_may_remove(r, rh->proto[i], &addr, &who, &uid) != 0)
            return ipc_refuse_admin(call,
                                    "removing the handler of uid %u for "
                                    "%.80s",
                                    (unsigned)uid, rh->proto[i]);
    return 0;
}

int ipc_handle_remove_stream_handler(struct ipc_call *call,
                                     const P2pd__Pb__Request *req)
{
    const P2pd__Pb__RemoveStreamHandlerRequest *rh = req->removestreamhandler;
    struct router *r = call->host->router;
    struct multiaddr addr;
    int err;

    if (!r)
        return ipc_no_network(call);
    if (!rh || rh->n_proto == 0) {
        ipc_reply_set_msg(&call->reply, "REMOVE_STREAM_HANDLER wants an "
                                        "address and protocols");
        return FASTN_ERR_MALFORMED;
    }
    if ((err = check_protocols(call, rh->proto, rh->n_proto)) ||
        (err = handler_addr(call, &rh->addr, &addr)))
        return err;
    for (size_t i = 0; !err && i < rh->n_proto; i++) {
        err = router_remove_client(r, rh->proto[i], &addr);
        if (err)
            ipc_reply_set_msg(&call->reply,
                              "no handler for protocol %.100s at "
                              "that address",
                              rh->proto[i]);
    }
    return err;
}

/* --- STREAM_RESULT
 * ------------------------------------------------------------------- */

int ipc_may_stream_result(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    const Fastn__StreamResultRequest *sr = req->fastn->stream_result;
    enum router_stream_state state;
    int code;
    uid_t uid;

    if (call->host->router && sr &&
        router_stream_result(call->host->router, sr->stream_id, &state, &code,
                             &uid) == 0 &&
        uid != call->session->peer.uid)
        return ipc_refuse_admin(call, "the result of another user's stream");
    return 0;
}

int ipc_ext_stream_result(struct ipc_call *call, const Fastn__Request *req,
                          Fastn__Response *ext)
{
    enum router_stream_state state;
    Fastn__StreamResult *res;
    int code, err;

    if (!call->host->router)
        return ipc_no_network(call);
    if (!req->stream_result) {
        ipc_reply_set_msg(&call->reply, "STREAM_RESULT without its part");
        return FASTN_ERR_MALFORMED;
    }
    err = router_stream_result(
        call->host->router, req->stream_result->stream_id, &state, &code, NULL);
    if (err) {
        ipc_reply_set_msg(&call->reply, "no such stream (or long gone)");
        return err;
    }
    res = ipc_reply_alloc(&call->reply, sizeof(*res));
    if (!res)
        return FASTN_ERR_NOMEM;
    fastn__stream_result__init(res);
    res->stream_id = req->stream_result->stream_id;
    res->has_state = res->has_code = true;
    res->state = (Fastn__StreamResult__State)state;
    res->code = code;
    ext->stream = res;
    return 0;
}
