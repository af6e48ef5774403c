/*
 * The control server's core: admission, sessions and request dispatch,
 * sans-I/O (bytes in, bytes out, time passed in). The libuv glue in
 * server.c moves bytes between sockets and sessions (and watch.c watches
 * the processes that registered handlers); unit tests and the fuzzer
 * drive sessions directly.
 *
 * A session is one client connection. It is admitted (or refused) once,
 * from the peer credentials the glue read on accept, then reads
 * varint-delimited Requests one after another and queues one Response for
 * each, in order. Bad input (a malformed, truncated or oversized frame)
 * queues an error Response and closes the session; nothing a client sends
 * can affect another session. Every Response carries its type; none
 * carries secret key bytes: the control server is handed the identity's
 * PeerID, never the identity (src/ipc does not include its header;
 * tests/integration/layers.sh checks that).
 *
 * New request types are one handler function each, listed in the tables
 * of dispatch.c (p2pd types) and ext.c (fastn extension types) with the
 * privilege they need: the session checks it before the handler runs
 * (docs/CONTROL.md has the table and the reasons).
 *
 * Limits (struct ipc_limits, limits.c): connections at once (the last
 * owner_slots kept for the daemon's own uid and root), per uid, pending
 * requests and reply bytes per uid, handlers per process and per uid,
 * and a deadline for a request to arrive. The daemon's own uid and root
 * (the "owner") are held to the connection and per-process limits only.
 */
#ifndef FASTN_IPC_H
#define FASTN_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ipc/fastn.pb-c.h"
#include "ipc/p2pd.pb-c.h"
#include "util/buf.h"
#include "util/peer_id.h"

/* The fastn extension version this daemon speaks (fastn.proto). */
#define IPC_EXT_VERSION 1
/* Bytes a session queues for the client before it stops reading. */
#define IPC_MAX_PENDING_OUT (8u << 20)
/* Reply bytes one session's pending one-shot calls may reserve in all;
 * their answers may be queued on top of IPC_MAX_PENDING_OUT. */
#define IPC_CALL_BUDGET (256u << 20)
/* Supplementary groups of a client that we look at. */
#define IPC_MAX_GROUPS 64
/* Protocols one STREAM_HANDLER or REMOVE_STREAM_HANDLER may name. */
#define IPC_MAX_PROTOCOLS_PER_REQUEST 64

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
/* True for the daemon's own uid and root: the owner, whom the per-uid
 * limits do not hold and for whom the last connection slots are kept. */
bool ipc_policy_is_owner(const struct ipc_policy *policy, uid_t uid);

/* Who may send a request (the tables of dispatch.c and ext.c). */
enum ipc_priv {
    IPC_PRIV_ANY_USER = 0,    /* every admitted client */
    IPC_PRIV_OWNER_OF_TARGET, /* every admitted client for what it owns
                                 (the rule's check decides), admins for
                                 anything */
    IPC_PRIV_ADMIN,           /* admins only */
};

/* What one client and one uid may hold (config keys in brackets). */
struct ipc_limits {
    unsigned max_clients;             /* connections at once [max-clients] */
    unsigned owner_slots;             /* of those, kept for the owner */
    unsigned max_clients_per_uid;     /* of one uid [max-clients-per-uid] */
    unsigned max_handlers_per_client; /* registered by one process
                                         [max-handlers-per-client] */
    unsigned max_handlers_per_uid;    /* [max-handlers-per-uid] */
    unsigned max_pending_per_uid;     /* deferred requests of one uid
                                         [max-pending-per-uid] */
    size_t call_budget_per_uid;       /* reply bytes one uid's calls
                                         reserve (IPC_CALL_BUDGET) */
    uint32_t request_timeout_ms;      /* for the first request, and for
                                         one begun [request-timeout] */
};

/* The defaults for max_clients connections (owner_slots: a sixteenth,
 * at least 4; per uid: a quarter). */
void ipc_limits_default(struct ipc_limits *l, unsigned max_clients);

/* What one uid holds now (limits.c), shared by its sessions. */
struct ipc_uid_use {
    uid_t uid;
    unsigned clients; /* control connections */
    unsigned procs;   /* processes watched for their handlers (a pidfd
                         each: they count as connections do) */
    unsigned pending; /* deferred requests */
    size_t reserved;  /* reply bytes its calls reserved */
    struct ipc_uid_use *next;
};

struct swarm;
struct router;
struct plugin_host;
struct store;
struct ipc_plugin_call;

/* What the daemon hands to the control server: the PeerID of the
 * identity this socket serves (its keys stay with the daemon and the
 * swarm) and the state requests report. Owned by the daemon; sessions
 * borrow it. */
struct plugin_manifest;

/* What is offered for a protocol with kept data (daemon/quarantine.c). */
struct ipc_pending_offer {
    const char *state; /* "stranger", "offered", "looking", "none" */
    char plugin[65], version[65], source[160], signer[200], why[400];
    unsigned caps;                   /* enum plugin_cap bits */
    const struct plugin_manifest *m; /* offered: its apps (borrowed) */
};

/* The kept data's requests (PENDING_*, PEER_*), from the daemon. Each
 * returns 0 or an error with msg saying what happened. */
struct ipc_pending {
    void *arg;
    void (*offer)(void *arg, const char *protocol,
                  struct ipc_pending_offer *out);
    int (*approve)(void *arg, int64_t id, const char *protocol, unsigned grant,
                   char *msg, size_t msglen);
    int (*reject)(void *arg, int64_t id, const char *protocol, bool block,
                  char *msg, size_t msglen);
    int (*peer_allow)(void *arg, const struct peer_id *p, char *msg,
                      size_t msglen);
    int (*peer_block)(void *arg, const struct peer_id *p, char *msg,
                      size_t msglen);
    size_t (*blocked)(void *arg, struct peer_id *out, size_t max);
};

struct ipc_host {
    struct peer_id local_id;
    const char *home;    /* may be NULL */
    uint64_t started_ms; /* same clock as the now_ms passed to sessions */
    struct ipc_policy policy;
    struct ipc_limits limits;
    struct ipc_uid_use *uids; /* uids with a session or pending work */
    /* the processes that registered handlers (watch.c); NULL: none
     * watched, handlers then last until their socket refuses */
    struct ipc_watch *watch;
    unsigned clients;      /* control connections open now (server.c) */
    unsigned procs_others; /* watched processes of users but the owner */
    uint64_t requests;     /* requests served since start */
    /* The network (NULL without one: unit tests, the fuzzer; requests
     * that need it then answer FASTN_ERR_UNSUPPORTED). */
    struct swarm *swarm;
    struct router *router;
    struct plugin_host *plugins; /* may be NULL: no plugin requests */
    struct store *state;         /* may be NULL: no notification requests */
    /* plugin calls waiting for their plugin's answer (req_plugin.c) */
    struct ipc_plugin_call *plugin_calls;
    uint64_t next_plugin_call;
    /* signed plugins and registries (req_registry.c); NULL: no trusted
     * keys, no registries, and only --unsigned installs */
    const struct ipc_registry *registry;
    /* kept data and peers (req_pending.c); NULL: none kept */
    const struct ipc_pending *pending;
    /* the daemon itself (req_daemon.c); NULL: no DAEMON_* requests */
    const struct ipc_daemon *daemon;
};

struct registry_job;
typedef void (*ipc_registry_done_fn)(struct registry_job *job, void *arg);

/* What the daemon gives the registry requests (src/daemon/registry.c):
 * where the trusted keys and the list of registries are, and a way to
 * run a registry job (src/registry/job.h). Owned by the daemon. */
struct ipc_registry {
    void *arg;
    const char *user_keys;   /* HOME/trusted-publishers */
    const char *system_keys; /* PREFIX/share/fastn/trusted-publishers,
                                or NULL */
    const char *plugins_dir; /* HOME/plugins */
    const char *sources;     /* HOME/registries */
    const char *default_url; /* file://PREFIX/share/fastn/plugins, or NULL */
    uint64_t max_plugin_size;
    /* router handlers that are the daemon's own (/fastn/plugin/1.0.0
     * when served): not counted in STATUS's handlers */
    unsigned own_handlers;
    /* Runs job: fills in the trusted keys, the fetch options and the
     * installed plugins; fetches (off the loop, or from job->peer on
     * it), installs what it fetched (GET, UPDATE, PEER), then calls
     * done(job, done_arg) on the loop, which owns the job from then on.
     * Returns 0, or an error with msg (msglen bytes) saying why (nothing
     * runs then, done is not called; the caller still owns the job):
     * FASTN_ERR_BUSY (too many at once), FASTN_ERR_UNSUPPORTED (no
     * network, for PEER), FASTN_ERR_NOMEM. */
    int (*start)(void *arg, struct registry_job *job, ipc_registry_done_fn done,
                 void *done_arg, char *msg, size_t msglen);
    /* The client went away: the job stops as soon as it can and nothing
     * more is installed; done is not called and the daemon frees it. */
    void (*cancel)(void *arg, struct registry_job *job);
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
    uint32_t signer_pid; /* the key's process (privilege separation) */
    const char *seccomp; /* "on", "log" or "off" */
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
    struct ipc_uid_use *use; /* its uid's counts, once admitted */
    /* the request deadline (ipc_session_deadline) */
    uint64_t opened_ms;  /* set by the transport when it accepted */
    uint64_t partial_ms; /* since when a begun request waits; 0: none */
    uint64_t served;     /* requests dispatched */
    struct buf in;       /* received bytes not yet parsed */
    struct buf out;      /* encoded responses not yet taken by the transport */
    bool closing;        /* read no more; close once out has been sent */
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
    /* The transport's hook for a large call answer, called with wake_arg
     * while nothing is queued in out: writes what the socket takes at
     * once of the n spans (none while earlier output waits) and returns
     * how many bytes that was. The spans are valid only during the call.
     * NULL: answers are queued in out. */
    size_t (*write_now)(struct ipc_session *s, void *arg, const struct iovec *v,
                        int n);
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

/* Admits the client by the host's policy, then by the connection limits
 * (host->clients counts this one already). A refused client gets an
 * error Response queued and the session is closing. Returns 0,
 * FASTN_ERR_NOT_ALLOWED, or FASTN_ERR_BUSY (max-clients reached, the
 * slots left kept for the owner, or its uid's max-clients-per-uid; the
 * message says which, and a rate-limited log line too). */
int ipc_session_open(struct ipc_session *s);

/* Feeds received bytes: every complete Request is answered (its Response
 * appended to s->out). Returns 0, or the error that closed the session
 * (FASTN_ERR_TOO_LARGE, _MALFORMED, _NOMEM); bytes fed to a closing
 * session are ignored. */
int ipc_session_feed(struct ipc_session *s, const uint8_t *p, size_t n,
                     uint64_t now_ms);

/* The client closed its side. A partly received frame is answered with a
 * FASTN_ERR_TRUNCATED error, which is returned; the session is closing. */
int ipc_session_eof(struct ipc_session *s);

/* The client closed its end (not only its writes): as ipc_session_eof,
 * after every pending call is cancelled (its cancel function told: a
 * plugin call is forgotten by the plugin), since no answer can be read. */
int ipc_session_hangup(struct ipc_session *s);

/* True when the transport should close the connection now. */
bool ipc_session_done(const struct ipc_session *s);

/* When the session must have completed a request (its first, or one it
 * began sending) by host->limits.request_timeout_ms, or UINT64_MAX when
 * it owes none: an idle connection that has been answered (a
 * subscriber, a p2pd client between requests) stays open. */
uint64_t ipc_session_deadline(const struct ipc_session *s);
/* The deadline passed: an error Response (FASTN_ERR_TIMEOUT) is queued
 * and the session is closing (logged, rate-limited). */
void ipc_session_expire(struct ipc_session *s);

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
    char msg[512]; /* error text, when a handler sets one */
    /* messages sent bare after an OK response of a deferred call, in
     * order (a DHT request's streamed DHTResponses), in the blocks */
    const ProtobufCMessage **trail;
    size_t n_trail;
    /* ext.call_result in pieces (ipc_plugin_call_done_v): its len is
     * their total and its data NULL; valid only until the reply is
     * sent */
    const struct iovec *result_v;
    size_t result_n;
};
/* The most pieces a result may come in (ipc_plugin_call_done_v). */
#define IPC_RESULT_PIECES 16

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
    /* reply bytes it reserved (ipc_limits_reserve), given back when it
     * is answered or cancelled */
    size_t reserved;
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
 * pending on the session or max-pending-per-uid on its uid; *err says
 * which, the reply's message why). */
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
/* The same with the result in n pieces (a plugin's call_reply_v, valid
 * only during this call): written to the socket from where they are
 * when it takes them at once, else joined into the session's output. */
void ipc_plugin_call_done_v(struct ipc_host *host, uint64_t ticket, int status,
                            const struct iovec *v, size_t n);

/* Answers one decoded Request: finds its handler and privilege, checks
 * the privilege, runs the handler and queues the Response on the
 * session. Returns 0 or FASTN_ERR_NOMEM. */
int ipc_dispatch(struct ipc_session *s, const P2pd__Pb__Request *req,
                 uint64_t now_ms);

/* Handlers of fastn extension requests (ext.c); called by ipc_dispatch
 * for Request.Type FASTN. Returns 0 or the request's error code. */
int ipc_handle_fastn(struct ipc_call *call, const P2pd__Pb__Request *req);

/* The name of a Request.Type, e.g. "IDENTIFY" (never NULL). */
const char *ipc_request_type_name(int type);

/* A request's entry in the privilege table: what it needs, how a refusal
 * names it, and (IPC_PRIV_OWNER_OF_TARGET) the check of its target for
 * a non-admin client, which returns 0 or the refusal's code with the
 * reply's message set. */
struct ipc_rule {
    enum ipc_priv priv;
    const char *what;
    int (*may)(struct ipc_call *call, const P2pd__Pb__Request *req);
};
/* The rule of a p2pd Request.Type (for FASTN, of the fastn type given),
 * or NULL for a type fastnd does not serve. */
const struct ipc_rule *ipc_request_rule(int type, int fastn_type);
/* The rule of a fastn extension type (ext.c), or NULL. */
const struct ipc_rule *ipc_ext_rule(int fastn_type);

/* --- watching the processes that registered handlers (watch.c) ------- */

struct ipc_watch;
struct uv_loop_s;
/* Watches on loop; the processes' handlers are dropped from
 * host->router when they exit. Errors: FASTN_ERR_NOMEM. */
int ipc_watch_new(struct uv_loop_s *loop, struct ipc_host *host,
                  struct ipc_watch **out);
/* Stops every watch; the handles close on the next loop turns, then the
 * watch frees itself. NULL does nothing. */
void ipc_watch_close(struct ipc_watch *w);
/* The tag of peer's process if it is watched already, else 0. */
uint64_t ipc_watch_find(const struct ipc_watch *w, const struct ipc_peer *peer);
/* The tag of peer's process for router_client.tag (the same for every
 * registration while it lives), or 0 with *err: FASTN_ERR_NOT_FOUND (it
 * has exited already), FASTN_ERR_UNSUPPORTED (no pidfd on this kernel,
 * or a pid from another namespace: not watched), FASTN_ERR_BUSY (no file
 * descriptor left). A process newly watched counts in its uid's limits
 * (ipc_limits_proc_check). */
uint64_t ipc_watch_process(struct ipc_watch *w, const struct ipc_peer *peer,
                           int *err);
/* Stops watching uid's processes that no longer have a handler. */
void ipc_watch_sweep(struct ipc_watch *w, uid_t uid);
/* Processes watched now. */
size_t ipc_watch_count(const struct ipc_watch *w);

#endif
