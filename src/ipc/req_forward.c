/*
 * The fastn extension's port forwarding: FORWARD (listen on a local TCP
 * address, each connection to a peer), EXPOSE (serve a forwarding
 * protocol, each allowed peer's stream to a target), FORWARD_CLOSE and
 * FORWARDS (the list). The router runs them (router/forward.h); here
 * they are tied to the control connection that made them: a lease ends
 * each one when that connection closes, so `fastn forward` and `fastn
 * expose` last exactly as long as the command runs.
 *
 * Privileges (ext.c's table): EXPOSE is for admins (the daemon connects
 * to the target with its own rights); a non-admin's FORWARD listens on
 * loopback only, on port 0 or one any user could bind (the daemon must
 * not lend the network, or a privileged port, its own rights reach);
 * FORWARDS shows a non-admin the forwards of its own uid only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "router/forward.h"

struct fwd_lease {
    struct ipc_lease lease; /* first: the lease is the struct */
    struct router *r;
    uint64_t id;
};

/* The connection went away: its forward or expose goes too (unless the
 * router already ended it, at shutdown). */
static void fwd_release(struct ipc_lease *l)
{
    struct fwd_lease *fl = (struct fwd_lease *)l;

    router_fwd_remove(router_fwd_find(fl->r, fl->id));
    free(fl);
}

static void *copy_bytes(struct ipc_reply *r, const void *p, size_t n)
{
    void *q = ipc_reply_alloc(r, n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

static int set_bytes(struct ipc_reply *r, ProtobufCBinaryData *b, const void *p,
                     size_t n)
{
    if (!(b->data = copy_bytes(r, p, n)))
        return FASTN_ERR_NOMEM;
    b->len = n;
    return 0;
}

static int fill_allow(struct ipc_reply *r, Fastn__ForwardInfo *fi,
                      const struct router_fwd_info *in)
{
    if (!in->n_allow)
        return 0;
    fi->allow = ipc_reply_alloc(r, in->n_allow * sizeof(*fi->allow));
    if (!fi->allow)
        return FASTN_ERR_NOMEM;
    fi->n_allow = in->n_allow;
    for (size_t i = 0; i < in->n_allow; i++)
        if (set_bytes(r, &fi->allow[i], in->allow[i].bytes, in->allow[i].len))
            return FASTN_ERR_NOMEM;
    return 0;
}

/* A ForwardInfo describing f, allocated in r. */
static Fastn__ForwardInfo *
forward_info(struct ipc_reply *r, const struct router_fwd *f, const void *asker)
{
    Fastn__ForwardInfo *fi = ipc_reply_alloc(r, sizeof(*fi));
    struct router_fwd_info in;
    int err = 0;

    if (!fi)
        return NULL;
    router_fwd_get(f, &in);
    fastn__forward_info__init(fi);
    fi->id = in.id;
    fi->kind = in.expose ? FASTN__FORWARD_INFO__KIND__EXPOSE
                         : FASTN__FORWARD_INFO__KIND__FORWARD;
    fi->protocol = copy_bytes(r, in.protocol, strlen(in.protocol) + 1);
    fi->has_connections = fi->has_failed = fi->has_mine = true;
    fi->connections = in.connections;
    fi->failed = in.failed;
    fi->mine = in.owner == asker;
    if (in.expose) {
        fi->has_target = fi->has_refused = true;
        fi->refused = in.refused;
        err = set_bytes(r, &fi->target, in.target.bytes, in.target.len);
        if (!err)
            err = fill_allow(r, fi, &in);
        if (!err && in.has_last_refused) {
            fi->has_last_refused = true;
            err = set_bytes(r, &fi->last_refused, in.last_refused.bytes,
                            in.last_refused.len);
        }
    } else {
        fi->has_listen = fi->has_peer = true;
        err = set_bytes(r, &fi->listen, in.listen.bytes, in.listen.len);
        if (!err)
            err = set_bytes(r, &fi->peer, in.peer.bytes, in.peer.len);
    }
    return err || !fi->protocol ? NULL : fi;
}

/* Ties f to the asking connection and answers with its description. */
static int made(struct ipc_call *call, Fastn__Response *ext,
                struct router_fwd *f)
{
    struct fwd_lease *fl = calloc(1, sizeof(*fl));

    if (!fl || !(ext->forward = forward_info(&call->reply, f, call->session))) {
        free(fl);
        router_fwd_remove(f);
        return FASTN_ERR_NOMEM;
    }
    fl->r = call->host->router;
    fl->id = ext->forward->id;
    ipc_session_lease(call->session, &fl->lease, fwd_release);
    return 0;
}

static int req_addr(struct ipc_call *call, const ProtobufCBinaryData *b,
                    const char *what, struct multiaddr *out)
{
    if (multiaddr_from_bytes(b->data, b->len, out) == 0)
        return 0;
    ipc_reply_set_msg(&call->reply, "the %s is not a valid multiaddr", what);
    return FASTN_ERR_BAD_MULTIADDR;
}

/* Ports below this are privileged (a user could not bind them). */
#define FORWARD_FIRST_USER_PORT 1024

static bool is_loopback(const struct multiaddr_tcp *t)
{
    static const uint8_t v6_loopback[16] = {[15] = 1};

    if (t->host_code == MA_IP4)
        return t->ip[0] == 127;
    return t->host_code == MA_IP6 && !memcmp(t->ip, v6_loopback, 16);
}

int ipc_may_forward(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    const Fastn__ForwardRequest *fr = req->fastn->forward;
    char text[MULTIADDR_STR_MAX];
    struct multiaddr listen;
    struct multiaddr_tcp t;

    if (!fr ||
        multiaddr_from_bytes(fr->listen.data, fr->listen.len, &listen) != 0 ||
        multiaddr_to_tcp(&listen, &t) != 0 ||
        (t.host_code != MA_IP4 && t.host_code != MA_IP6))
        return 0; /* not a forward it could make: the handler says why */
    multiaddr_format(&listen, text, sizeof(text));
    if (!is_loopback(&t))
        return ipc_refuse_admin(call,
                                "a forward listening on %s, beyond this "
                                "machine (a non-admin forward listens on "
                                "127.0.0.1 or ::1)",
                                text);
    if (t.port && t.port < FORWARD_FIRST_USER_PORT)
        return ipc_refuse_admin(call,
                                "a forward on privileged port %u (use a "
                                "port from %d, or 0)",
                                (unsigned)t.port, FORWARD_FIRST_USER_PORT);
    return 0;
}

int ipc_ext_forward(struct ipc_call *call, const Fastn__Request *req,
                    Fastn__Response *ext)
{
    const Fastn__ForwardRequest *fr = req->forward;
    struct router_fwd *f = NULL;
    struct multiaddr listen;
    struct peer_id peer;
    char why[256];
    int err;

    if (!call->host->router)
        return ipc_no_network(call);
    if (!fr) {
        ipc_reply_set_msg(&call->reply, "FORWARD without its part");
        return FASTN_ERR_MALFORMED;
    }
    if ((err = req_addr(call, &fr->listen, "listen address", &listen)) ||
        (err = ipc_req_peer(call, &fr->peer, &peer)))
        return err;
    if (peer_id_equal(&peer, &call->host->local_id)) {
        ipc_reply_set_msg(&call->reply, "a forward to this daemon itself");
        return FASTN_ERR_NET_DIAL_SELF;
    }
    err = router_forward_add(call->host->router, &listen, &peer, fr->protocol,
                             fr->has_open_timeout_ms ? fr->open_timeout_ms : 0,
                             call->session, why, sizeof(why), &f);
    if (err) {
        if (why[0])
            ipc_reply_set_msg(&call->reply, "%s", why);
        else if (err == FASTN_ERR_INVAL)
            ipc_reply_set_msg(&call->reply, "not a valid protocol id");
        return err;
    }
    return made(call, ext, f);
}

static int req_allow(struct ipc_call *call, const Fastn__ExposeRequest *er,
                     struct peer_id **out)
{
    struct peer_id *v;

    if (er->n_allow > FORWARD_MAX_ALLOW) {
        ipc_reply_set_msg(&call->reply, "more than %d peers to allow",
                          FORWARD_MAX_ALLOW);
        return FASTN_ERR_INVAL;
    }
    v = calloc(er->n_allow ? er->n_allow : 1, sizeof(*v));
    if (!v)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < er->n_allow; i++) {
        int err = ipc_req_peer(call, &er->allow[i], &v[i]);
        if (err) {
            free(v);
            return err;
        }
    }
    *out = v;
    return 0;
}

int ipc_ext_expose(struct ipc_call *call, const Fastn__Request *req,
                   Fastn__Response *ext)
{
    const Fastn__ExposeRequest *er = req->expose;
    struct router_fwd *f = NULL;
    struct peer_id *allow = NULL;
    struct multiaddr target;
    const char *proto;
    int err;

    if (!call->host->router)
        return ipc_no_network(call);
    if (!er) {
        ipc_reply_set_msg(&call->reply, "EXPOSE without its part");
        return FASTN_ERR_MALFORMED;
    }
    if ((err = req_addr(call, &er->target, "target", &target)) ||
        (err = req_allow(call, er, &allow)))
        return err;
    proto = er->protocol ? er->protocol : FORWARD_PROTOCOL_ID;
    err = router_expose_add(call->host->router, &target, allow, er->n_allow,
                            proto, call->session, &f);
    free(allow);
    if (err == FASTN_ERR_EXISTS)
        ipc_reply_set_msg(&call->reply,
                          "%s is served already (expose another service "
                          "under another protocol id)",
                          proto);
    else if (err == FASTN_ERR_UNSUPPORTED)
        ipc_reply_set_msg(&call->reply, "an expose connects to /ip4 or /ip6 "
                                        "+ /tcp, or to /unix/PATH");
    else if (err == FASTN_ERR_INVAL)
        ipc_reply_set_msg(&call->reply, "not a valid protocol id");
    return err ? err : made(call, ext, f);
}

int ipc_ext_forward_close(struct ipc_call *call, const Fastn__Request *req,
                          Fastn__Response *ext)
{
    struct ipc_lease *l;

    (void)ext;
    if (!req->forward_close) {
        ipc_reply_set_msg(&call->reply, "FORWARD_CLOSE without its part");
        return FASTN_ERR_MALFORMED;
    }
    for (l = call->session->leases; l; l = l->next) {
        struct fwd_lease *fl = (struct fwd_lease *)l;
        if (l->release != fwd_release || fl->id != req->forward_close->id)
            continue;
        ipc_lease_drop(l);
        fwd_release(l);
        return 0;
    }
    ipc_reply_set_msg(&call->reply, "this connection made no forward or "
                                    "expose with that id");
    return FASTN_ERR_NOT_FOUND;
}

struct fwd_walk {
    struct ipc_call *call;
    Fastn__ForwardInfo **v;
    size_t n, max;
    int err;
};

static void count_fwd(void *arg, const struct router_fwd *f)
{
    (void)f;
    ((struct fwd_walk *)arg)->max++;
}

/* Whether the asking client may see f: an admin every one, another
 * client those its uid made (the owner of each is a live session: a
 * forward ends with the session that made it). */
static bool visible(const struct ipc_session *asker, const struct router_fwd *f)
{
    struct router_fwd_info in;
    const struct ipc_session *owner;

    if (asker->admit == IPC_ADMIN)
        return true;
    router_fwd_get(f, &in);
    owner = in.owner;
    return owner && owner->peer.uid == asker->peer.uid;
}

static void add_fwd(void *arg, const struct router_fwd *f)
{
    struct fwd_walk *w = arg;
    Fastn__ForwardInfo *fi;

    if (w->err || w->n == w->max || !visible(w->call->session, f))
        return;
    fi = forward_info(&w->call->reply, f, w->call->session);
    if (!fi)
        w->err = FASTN_ERR_NOMEM;
    else
        w->v[w->n++] = fi;
}

int ipc_ext_forwards(struct ipc_call *call, const Fastn__Request *req,
                     Fastn__Response *ext)
{
    struct fwd_walk w = {.call = call};

    (void)req;
    if (!call->host->router)
        return 0;
    router_fwd_foreach(call->host->router, count_fwd, &w);
    if (!w.max)
        return 0;
    w.v = ipc_reply_alloc(&call->reply, w.max * sizeof(*w.v));
    if (!w.v)
        return FASTN_ERR_NOMEM;
    router_fwd_foreach(call->host->router, add_fwd, &w);
    ext->forwards = w.v;
    ext->n_forwards = w.n;
    return w.err;
}
