/*
 * The control server's core: admission, sessions and request dispatch,
 * sans-I/O (bytes in, bytes out, time passed in). The libuv glue in
 * server.c moves bytes between sockets and sessions; unit tests and the
 * fuzzer drive sessions directly.
 *
 * A session is one client connection. It is admitted (or refused) once,
 * from the peer credentials the glue read on accept, then reads
 * varint-delimited Requests one after another and queues one Response for
 * each, in order. Bad input (a malformed, truncated or oversized frame)
 * queues an error Response and closes the session; nothing a client sends
 * can affect another session. Every Response carries its type; none
 * carries secret key bytes (handlers see the identity only to read its
 * PeerID).
 *
 * New request types are one handler function each, listed in the tables
 * of dispatch.c (p2pd types) and ext.c (fastn extension types).
 */
#ifndef FASTN_IPC_H
#define FASTN_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "identity/identity.h"
#include "ipc/fastn.pb-c.h"
#include "ipc/p2pd.pb-c.h"
#include "util/buf.h"

/* The fastn extension version this daemon speaks (fastn.proto). */
#define IPC_EXT_VERSION 1
/* Bytes a session queues for the client before it stops reading. */
#define IPC_MAX_PENDING_OUT (8u << 20)
/* Reply bytes one session's pending one-shot calls may reserve in all;
 * their answers may be queued on top of IPC_MAX_PENDING_OUT. */
#define IPC_CALL_BUDGET (256u << 20)
/* Supplementary groups of a client that we look at. */
#define IPC_MAX_GROUPS 64

/* Who is on the other end of a control connection (SO_PEERCRED). */
struct ipc_peer {
    pid_t pid;
    uid_t uid;
    gid_t gid;
    size_t n_groups;
    gid_t groups[IPC_MAX_GROUPS];
};

/* Who may connect. The daemon's own uid and root are always admitted (and
 * are admins); other uids and groups only when listed. */
struct ipc_policy {
    uid_t daemon_uid;
    const uid_t *allow_uids;
    size_t n_allow_uids;
    const gid_t *allow_gids;
    size_t n_allow_gids;
    const gid_t *admin_gids;
    size_t n_admin_gids;
};

enum ipc_admit { IPC_REFUSED = 0, IPC_USER, IPC_ADMIN };

/* Decides whether a client may use the socket, and as what. */
enum ipc_admit ipc_policy_admit(const struct ipc_policy *policy,
                                const struct ipc_peer *peer);

struct swarm;
struct router;
struct plugin_host;
struct store;
struct ipc_plugin_call;

/* What the daemon hands to the control server: the identity this socket
 * serves and the state requests report. Owned by the daemon; sessions
 * borrow it. Later subsystems (plugin host) join here. */
struct ipc_host {
    const struct identity *identity;
    const char *home;    /* may be NULL */
    uint64_t started_ms; /* same clock as the now_ms passed to sessions */
    struct ipc_policy policy;
    unsigned clients;  /* control connections open now (server.c) */
    uint64_t requests; /* requests served since start */
    /* The network (NULL without one: unit tests, the fuzzer; requests
     * that need it then answer FASTN_ERR_UNSUPPORTED). */
    struct swarm *swarm;
    struct router *router;
    struct plugin_host *plugins; /* may be NULL: no plugin requests */
    struct store *state;         /* may be NULL: no notification requests */
    /* plugin calls waiting for their plugin's answer (req_plugin.c) */
    struct ipc_plugin_call *plugin_calls;
    uint64_t next_plugin_call;
    /* the daemon itself (req_daemon.c); NULL: no DAEMON_* requests */
    const struct ipc_daemon *daemon;
};

/* What the daemon lets clients do to it (DAEMON_STOP, DAEMON_RELOAD) and
 * tells them about how it runs (STATUS). Owned by the daemon. */
struct ipc_daemon {
    void *arg;
    /* Begins a clean shutdown, after the current request is answered
     * (from a later turn of the loop); why goes to the log. */
    void (*stop)(void *arg, const char *why);
    /* Re-reads the config and applies it, as SIGHUP does. Returns 0, or
     * an error code with a one-line reason in err (the running config
     * is kept). */
    int (*reload)(void *arg, char *err, size_t errlen);
    const char *log_target; /* "file", "journal" or "stderr" */
    const char *log_file;   /* "" when the log has no file */
    const char *config;     /* the config file */
    const char *unit;       /* the systemd unit ("" none) */
    bool user_unit, socket_activated, foreground;
    /* config keys taken only at the next start */
    const char *const *restart_keys;
    size_t n_restart_keys;
};

struct ipc_call;

/* Something a request made that lives as long as the control connection
 * that asked for it (a forward, an expose): release() is called when the
 * session ends, unless ipc_lease_drop() came first. Embedded in the
 * owner's state; the session only links it. */
struct ipc_lease {
    struct ipc_lease *next, **pprev;
    void (*release)(struct ipc_lease *l);
};

/* After the queued output, the client's socket belongs to a stream:
 * fd is a duplicate of it (the callee owns it), rest[0..n) are bytes the
 * client sent after its request. fd is -1 when the session ended first. */
typedef void (*ipc_handoff_fn)(void *arg, int fd, const uint8_t *rest,
                               size_t n);

struct ipc_session {
    struct ipc_host *host;
    struct ipc_peer peer;
    enum ipc_admit admit;
    struct buf in;  /* received bytes not yet parsed */
    struct buf out; /* encoded responses not yet taken by the transport */
    bool closing;   /* read no more; close once out has been sent */
    /* Requests answered later (ipc_call_defer); an ordered one holds back
     * the requests after it, so responses stay in order. */
    struct ipc_call *deferred;
    unsigned n_deferred;
    bool blocked;
    bool eof;        /* the client's EOF came while a request was pending */
    size_t reserved; /* reply bytes pending one-shot calls may take */
    /* Set by a STREAM_OPEN: the transport hands the socket over once the
     * output has been written, and the session reads no more requests. */
    ipc_handoff_fn handoff;
    void *handoff_arg;
    /* The transport's hook: output was queued outside ipc_session_feed()
     * (a deferred answer), or the session may read again. */
    void (*wake)(struct ipc_session *s, void *arg);
    void *wake_arg;
    uint64_t last_now_ms;
    /* After NOTIFY_SUBSCRIBE the connection only receives pushed
     * messages; on_end undoes the subscription when the session ends. */
    bool streaming;
    void (*on_end)(struct ipc_session *s);
    unsigned sub;
    struct ipc_lease *leases; /* released by ipc_session_cleanup() */
};

/* Sets up a session for a newly accepted client; borrows host. */
void ipc_session_init(struct ipc_session *s, struct ipc_host *host,
                      const struct ipc_peer *peer);
void ipc_session_cleanup(struct ipc_session *s);

/* Admits the client by the host's policy. A refused client gets an error
 * Response queued (FASTN_ERR_NOT_ALLOWED) and the session is closing.
 * Returns 0 or FASTN_ERR_NOT_ALLOWED. */
int ipc_session_open(struct ipc_session *s);

/* Refuses the client with an error Response carrying code and msg (e.g.
 * FASTN_ERR_BUSY when the daemon has too many clients); the session is
 * closing. Returns code. */
int ipc_session_reject(struct ipc_session *s, int code, const char *msg);

/* Feeds received bytes: every complete Request is answered (its Response
 * appended to s->out). Returns 0, or the error that closed the session
 * (FASTN_ERR_TOO_LARGE, _MALFORMED, _NOMEM); bytes fed to a closing
 * session are ignored. */
int ipc_session_feed(struct ipc_session *s, const uint8_t *p, size_t n,
                     uint64_t now_ms);

/* The client closed its side. A partly received frame is answered with a
 * FASTN_ERR_TRUNCATED error, which is returned; the session is closing. */
int ipc_session_eof(struct ipc_session *s);

/* True when the transport should close the connection now. */
bool ipc_session_done(const struct ipc_session *s);

/* True when the transport should read from the client: not closing, not
 * waiting on an ordered request, not handed to a stream. */
bool ipc_session_wants_input(const struct ipc_session *s);

/* Ties l to the session: release(l) runs when the session is cleaned up
 * (the client went away), unless the lease was dropped before. */
void ipc_session_lease(struct ipc_session *s, struct ipc_lease *l,
                       void (*release)(struct ipc_lease *l));
/* Unties a lease (its owner ended it); release() will not be called.
 * A lease never tied, or dropped already, is left alone. */
void ipc_lease_drop(struct ipc_lease *l);

/* Marks the session's socket for a stream (see ipc_handoff_fn). */
void ipc_session_handoff(struct ipc_session *s, ipc_handoff_fn fn, void *arg);

/* One response being built. Handlers allocate the parts of their response
 * with ipc_reply_alloc(); all of it is freed with the reply. */
struct ipc_reply_block;
struct ipc_reply {
    P2pd__Pb__Response resp;
    P2pd__Pb__ErrorResponse error;
    Fastn__Response ext;
    struct ipc_reply_block *blocks;
    char msg[256]; /* error text, when a handler sets one */
};

/* The context a handler runs in. */
struct ipc_call {
    struct ipc_session *session;
    struct ipc_host *host;
    uint64_t now_ms;
    struct ipc_reply reply;
    int type; /* Request.Type, for the log */
    /* deferred calls (ipc_call_defer) */
    bool ordered;
    /* Cancelled at the client's EOF rather than answered after it (a
     * perf run, whose only use is its answer to a client still there). */
    bool eof_cancels;
    void (*cancel)(struct ipc_call *call);
    void *data; /* the handler's state */
    struct ipc_call *next, **pprev;
};

/* A handler's return: it answers later with ipc_call_finish(). */
#define IPC_DEFERRED 1
/* Deferred calls one session may have at once. */
#define IPC_MAX_DEFERRED 256

/* Makes a call outlive its handler, which then returns IPC_DEFERRED and
 * must not touch call again. ordered holds back the session's later
 * requests until this one is answered (CONNECT, STREAM_OPEN); unordered
 * ones (one-shot calls, matched by call_id) do not. cancel is called
 * instead of an answer when the session goes away first: it releases
 * what data holds; ipc then frees the call. Returns the call to finish,
 * or NULL (FASTN_ERR_NOMEM, or FASTN_ERR_BUSY when IPC_MAX_DEFERRED are
 * pending; *err says which). */
struct ipc_call *ipc_call_defer(struct ipc_call *call, bool ordered,
                                void (*cancel)(struct ipc_call *call),
                                void *data, int *err);
/* Answers a deferred call: err 0 sends call->reply, else an error
 * response (with call->reply.msg if set). Frees the call. */
void ipc_call_finish(struct ipc_call *call, int err);

/* Returns n zeroed bytes that live as long as the reply, or NULL. */
void *ipc_reply_alloc(struct ipc_reply *r, size_t n);
/* Attaches the fastn extension part to the response and returns it. */
Fastn__Response *ipc_reply_ext(struct ipc_reply *r);
/* Sets the error text a failing handler's response carries. */
void ipc_reply_set_msg(struct ipc_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Queues a pushed message on a streaming session and wakes the
 * transport. Errors: as ipc_session_send. */
int ipc_session_push(struct ipc_session *s, const P2pd__Pb__Response *resp);

/* A plugin answered the call whose ticket is `ticket` (the plugin host's
 * ops->call_reply): status 0 and the result, or an error and a message.
 * Dropped when the client went away. */
void ipc_plugin_call_done(struct ipc_host *host, uint64_t ticket, int status,
                          const uint8_t *p, size_t n);

/* Answers one decoded Request: finds its handler, runs it and queues the
 * Response on the session. Returns 0 or FASTN_ERR_NOMEM. */
int ipc_dispatch(struct ipc_session *s, const P2pd__Pb__Request *req,
                 uint64_t now_ms);

/* Handlers of fastn extension requests (ext.c); called by ipc_dispatch
 * for Request.Type FASTN. Returns 0 or the request's error code. */
int ipc_handle_fastn(struct ipc_call *call, const P2pd__Pb__Request *req);

/* The name of a Request.Type, e.g. "IDENTIFY" (never NULL). */
const char *ipc_request_type_name(int type);

#endif
