/* Internal to src/ipc: reply building and queueing shared by the session
 * loop and the request handlers. */
#ifndef FASTN_IPC_INT_H
#define FASTN_IPC_INT_H

#include "ipc/ipc.h"

/* An empty OK response with no parts. */
void ipc_reply_init(struct ipc_reply *r);
/* Frees every block the reply allocated. */
void ipc_reply_cleanup(struct ipc_reply *r);
/* Moves a reply (its blocks, and the parts pointing into it) from src to
 * dst; src is left empty. */
void ipc_reply_move(struct ipc_reply *dst, struct ipc_reply *src);
/* Turns the reply into an ERROR response: r->msg (or the code's standard
 * message) for every libp2p daemon client, the stable code in the fastn
 * extension. Parts a handler had filled in are dropped. */
void ipc_reply_make_error(struct ipc_reply *r, int code);

/* Queues a response on the session. When the output is full (a client
 * that does not read its answers) the session is closing. Returns 0 or
 * FASTN_ERR_TOO_LARGE / _NOMEM. */
int ipc_session_send(struct ipc_session *s, const P2pd__Pb__Response *resp);
/* Queues r's response, then (err 0) its trailing messages. */
int ipc_session_send_reply(struct ipc_session *s, struct ipc_reply *r, int err);

/* Request handlers in their own files (see dispatch.c's table): they
 * fill call->reply and return 0, an error, or IPC_DEFERRED. */
int ipc_handle_connect(struct ipc_call *call, const P2pd__Pb__Request *req);
int ipc_handle_disconnect(struct ipc_call *call, const P2pd__Pb__Request *req);
int ipc_handle_list_peers(struct ipc_call *call, const P2pd__Pb__Request *req);
/* req_dht.c: DHT, and its check (PUT_VALUE and PROVIDE for admins) */
int ipc_handle_dht(struct ipc_call *call, const P2pd__Pb__Request *req);
int ipc_handle_stream_open(struct ipc_call *call, const P2pd__Pb__Request *req);
int ipc_handle_stream_handler(struct ipc_call *call,
                              const P2pd__Pb__Request *req);
int ipc_handle_remove_stream_handler(struct ipc_call *call,
                                     const P2pd__Pb__Request *req);

/* fastn extension handlers (see ext.c's table). */
int ipc_ext_peers(struct ipc_call *call, const Fastn__Request *req,
                  Fastn__Response *ext);
int ipc_ext_call(struct ipc_call *call, const Fastn__Request *req,
                 Fastn__Response *ext);
int ipc_ext_ping(struct ipc_call *call, const Fastn__Request *req,
                 Fastn__Response *ext);
int ipc_ext_stream_result(struct ipc_call *call, const Fastn__Request *req,
                          Fastn__Response *ext);
/* port forwarding (req_forward.c) and perf (req_perf.c) */
int ipc_ext_forward(struct ipc_call *call, const Fastn__Request *req,
                    Fastn__Response *ext);
int ipc_ext_expose(struct ipc_call *call, const Fastn__Request *req,
                   Fastn__Response *ext);
int ipc_ext_forward_close(struct ipc_call *call, const Fastn__Request *req,
                          Fastn__Response *ext);
int ipc_ext_forwards(struct ipc_call *call, const Fastn__Request *req,
                     Fastn__Response *ext);
int ipc_ext_perf(struct ipc_call *call, const Fastn__Request *req,
                 Fastn__Response *ext);
int ipc_ext_perf_progress(struct ipc_call *call, const Fastn__Request *req,
                          Fastn__Response *ext);

/* Shared by the handlers: the request's PeerID (FASTN_ERR_BAD_PEER_ID
 * with a message), and the "no network" answer. */
struct peer_id;
int ipc_req_peer(struct ipc_call *call, const ProtobufCBinaryData *b,
                 struct peer_id *out);
int ipc_no_network(struct ipc_call *call);
/* Refuses a request a non-admin client may not make: sets "WHAT: run it
 * as the daemon's user or root, or ..." as the message (the CLI prints
 * it after the code's own text) and logs it (rate-limited). Returns
 * FASTN_ERR_ADMIN_ONLY. */
int ipc_refuse_admin(struct ipc_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The target checks of the privilege table (IPC_PRIV_OWNER_OF_TARGET):
 * 0 when a non-admin client may make this request, else the refusal. */
int ipc_may_stream_handler(struct ipc_call *call, const P2pd__Pb__Request *req);
int ipc_may_remove_stream_handler(struct ipc_call *call,
                                  const P2pd__Pb__Request *req);
int ipc_may_stream_result(struct ipc_call *call, const P2pd__Pb__Request *req);
int ipc_may_forward(struct ipc_call *call, const P2pd__Pb__Request *req);
int ipc_may_dht(struct ipc_call *call, const P2pd__Pb__Request *req);

/* limits.c: what a session and its uid may hold (struct ipc_limits).
 * The checks that refuse set the reply's message and log (rate-limited). */
/* Checks the connection limits for a newly admitted session and ties it
 * to its uid's counts. Returns 0, FASTN_ERR_BUSY (msg[0..n) says why) or
 * FASTN_ERR_NOMEM. */
int ipc_limits_admit(struct ipc_session *s, char *msg, size_t n);
/* Unties the session from its uid's counts (at cleanup). */
void ipc_limits_leave(struct ipc_session *s);
/* One more deferred request for the session's uid: 0 or FASTN_ERR_BUSY
 * (max-pending-per-uid). ipc_limits_pending_done() when it is answered
 * or cancelled. */
int ipc_limits_pending_take(struct ipc_call *call);
void ipc_limits_pending_done(struct ipc_session *s);
/* Reserves n reply bytes for a one-shot call: 0, or FASTN_ERR_BUSY (the
 * connection's IPC_CALL_BUDGET or its uid's budget is taken). */
int ipc_limits_reserve(struct ipc_call *call, size_t n);
void ipc_limits_unreserve(struct ipc_session *s, size_t n);
/* Whether one more process of the session's uid may be watched (a pidfd:
 * it counts as a connection does, in max-clients-per-uid and in the
 * slots not kept for the owner): 0 or FASTN_ERR_BUSY. */
int ipc_limits_proc_check(struct ipc_call *call);
/* A watched process of uid came (delta 1) or went (-1) (watch.c).
 * Errors: FASTN_ERR_NOMEM. */
int ipc_limits_proc_count(struct ipc_host *h, uid_t uid, int delta);
/* Whether the session's process and uid may register n more handlers:
 * 0 or FASTN_ERR_BUSY. tag is the process's (0: not watched, counted
 * by uid only). */
int ipc_limits_handlers(struct ipc_call *call, uint64_t tag, size_t n);
/* Fills STATUS's network counts and listen addresses. */
int ipc_status_network(struct ipc_call *call, Fastn__Status *st);
/* The daemon itself (req_daemon.c): DAEMON_STOP, DAEMON_RELOAD (admin),
 * and STATUS's fields on how it runs (borrowed from host->daemon). */
int ipc_ext_daemon_stop(struct ipc_call *call, const Fastn__Request *req,
                        Fastn__Response *ext);
int ipc_ext_daemon_reload(struct ipc_call *call, const Fastn__Request *req,
                          Fastn__Response *ext);
int ipc_status_daemon(struct ipc_call *call, Fastn__Status *st);
/* Handlers of fastn extension requests, one file each group
 * (req_plugin.c, req_notify.c). Each returns 0, IPC_DEFERRED or the
 * request's error code. */
#define IPC_EXT_HANDLER_(name)                                                 \
    int name(struct ipc_call *call, const Fastn__Request *req,                 \
             Fastn__Response *ext)
IPC_EXT_HANDLER_(ipc_plugin_install);
IPC_EXT_HANDLER_(ipc_plugin_list);
IPC_EXT_HANDLER_(ipc_plugin_info);
IPC_EXT_HANDLER_(ipc_plugin_remove);
IPC_EXT_HANDLER_(ipc_plugin_enable);
IPC_EXT_HANDLER_(ipc_plugin_disable);
IPC_EXT_HANDLER_(ipc_plugin_call);
IPC_EXT_HANDLER_(ipc_plugin_restrict);
/* req_registry.c: trusted keys, registries, search, install from the
 * registries or a peer, update */
IPC_EXT_HANDLER_(ipc_trust_add);
IPC_EXT_HANDLER_(ipc_trust_list);
IPC_EXT_HANDLER_(ipc_trust_remove);
IPC_EXT_HANDLER_(ipc_registry_add);
IPC_EXT_HANDLER_(ipc_registry_list);
IPC_EXT_HANDLER_(ipc_registry_remove);
IPC_EXT_HANDLER_(ipc_plugin_search);
IPC_EXT_HANDLER_(ipc_plugin_get);
IPC_EXT_HANDLER_(ipc_plugin_update);
IPC_EXT_HANDLER_(ipc_notify_list);
IPC_EXT_HANDLER_(ipc_notify_mark_read);
IPC_EXT_HANDLER_(ipc_notify_unread);
IPC_EXT_HANDLER_(ipc_notify_subscribe);
/* req_pending.c: kept data, its offers, and peers allowed or blocked */
IPC_EXT_HANDLER_(ipc_pending_list);
IPC_EXT_HANDLER_(ipc_pending_approve);
IPC_EXT_HANDLER_(ipc_pending_reject);
IPC_EXT_HANDLER_(ipc_peer_allow);
IPC_EXT_HANDLER_(ipc_peer_block);
IPC_EXT_HANDLER_(ipc_peer_list);
#undef IPC_EXT_HANDLER_

/* req_registry.c, for PLUGIN_INSTALL from a file: checks the plugin's
 * signature (pr->minisig) against the trusted keys, or that the client
 * allowed an unsigned one. Returns 0 or the refusal with the reply's
 * message saying which key signed it and what to do. */
int ipc_registry_check_install(struct ipc_call *call,
                               const Fastn__PluginRequest *pr,
                               const uint8_t *wasm, size_t len);
/* After an install: keeps the plugin's signature beside it (or none, for
 * an unsigned one). Logged when it fails; the install stands. */
void ipc_registry_record_install(struct ipc_call *call, const char *name,
                                 const Fastn__PluginRequest *pr);
/* After a removal: the plugin's signature goes too. */
void ipc_registry_record_remove(struct ipc_call *call, const char *name);
/* Fills the signature fields of n plugin infos (PLUGIN_LIST, _INFO). */
void ipc_registry_fill_signatures(struct ipc_call *call, Fastn__PluginInfo **v,
                                  size_t n);

#endif
