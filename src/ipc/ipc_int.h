/* Internal to src/ipc: reply building and queueing shared by the session
 * loop and the request handlers. */
#ifndef FASTN_IPC_INT_H
#define FASTN_IPC_INT_H

#include "ipc/ipc.h"

/* An empty OK response with no parts. */
void ipc_reply_init(struct ipc_reply *r);
/* Frees every block the reply allocated. */
void ipc_reply_cleanup(struct ipc_reply *r);
/* Turns the reply into an ERROR response: r->msg (or the code's standard
 * message) for every libp2p daemon client, the stable code in the fastn
 * extension. Parts a handler had filled in are dropped. */
void ipc_reply_make_error(struct ipc_reply *r, int code);

/* Queues a response on the session. When the output is full (a client
 * that does not read its answers) the session is closing. Returns 0 or
 * FASTN_ERR_TOO_LARGE / _NOMEM. */
int ipc_session_send(struct ipc_session *s, const P2pd__Pb__Response *resp);

#endif
