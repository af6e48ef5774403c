/* Internal to libfastn: the connection, its bounded I/O and autostart. */
#ifndef FASTN_LIB_INT_H
#define FASTN_LIB_INT_H

#include <limits.h>
#include <stdint.h>

#include "fastn/client.h"
#include "ipc/fastn.pb-c.h"
#include "ipc/p2pd.pb-c.h"
#include "util/peer_id.h"

/* A one-shot call's answer that arrived while waiting for something else. */
struct lib_call_done {
    struct lib_call_done *next;
    uint64_t id;
    int status;
    uint8_t *data;
    size_t len;
};

struct fastn_client {
    int fd; /* -1 when not connected */
    int timeout_ms;
    int started;
    int system; /* talks to the system daemon (discover.c): no autostart */
    char sock[PATH_MAX];
    char errmsg[512];
    int call_timeout_ms; /* plugin calls: the host answers within 30 s */
    int streaming;       /* subscribed: the connection only receives */
    /* one-shot calls on fd: sent and not yet answered, answered and not
     * yet taken */
    uint64_t next_call_id;
    uint64_t *pending;
    size_t n_pending, cap_pending;
    struct lib_call_done *done, **done_tail;
    uint32_t max_reply;
};

/* The system daemon's control socket (docs/SERVICE.md); the environment's
 * $FASTN_SYSTEM_SOCKET overrides it. */
#ifndef FASTN_SYSTEM_SOCKET
#define FASTN_SYSTEM_SOCKET "/run/fastn/fastnd.sock"
#endif

/* discover.c: true, with its path in out (n bytes), when a client that
 * named no socket should use the system daemon's: no home was named (no
 * o->home, no $FASTN_HOME), the default home does not exist, and this
 * user may connect to the system socket (its group, or root). */
bool lib_system_socket(const struct fastn_connect_options *o, const char *home,
                       char *out, size_t n);

/* Monotonic milliseconds. */
int64_t lib_now_ms(void);

/* Connects a non-blocking Unix socket to path before the deadline.
 * Errors: FASTN_ERR_NO_DAEMON (nothing listens there),
 * FASTN_ERR_NOT_ALLOWED (permissions), FASTN_ERR_TOO_LARGE (path),
 * FASTN_ERR_TIMEOUT, FASTN_ERR_IO. */
int lib_socket_connect(const char *path, int64_t deadline, int *fd_out);

/* Starts fastnd on home and waits (until the deadline) for it to report
 * ready or failed; on failure why (whylen bytes, may be 0) gets the
 * reason in one line. Errors: FASTN_ERR_DAEMON_START. */
int lib_autostart(const char *fastnd_path, const char *home, int64_t deadline,
                  char *why, size_t whylen);

/* Sends req and reads its Response (caller frees it with
 * p2pd__pb__response__free_unpacked). A daemon ERROR becomes its code
 * (FASTN_ERR_REMOTE when it sent none) and c->errmsg. Answers of pending
 * one-shot calls that arrive meanwhile are kept for lib_call_take(). */
int lib_request(struct fastn_client *c, const P2pd__Pb__Request *req,
                P2pd__Pb__Response **out);
/* Reads one length-prefixed message of type desc (a DHT request's bare
 * DHTResponses). Errors as lib_read_response. */
int lib_read_message(int fd, int64_t deadline,
                     const ProtobufCMessageDescriptor *desc,
                     ProtobufCMessage **out);
/* Drops the connection (its state is unknown after a failed read). */
void lib_drop_connection(struct fastn_client *c);

/* As lib_request, with its own time limit. */
int lib_request_within(struct fastn_client *c, const P2pd__Pb__Request *req,
                       P2pd__Pb__Response **out, int timeout_ms);

/* Reads one Response the daemon pushed (after a subscription), waiting at
 * most timeout_ms (0: only what is there now; < 0: no limit). Errors:
 * FASTN_ERR_TIMEOUT (nothing came; the connection stays), _CLOSED,
 * _PROTOCOL, _IO, or an error the daemon sent. */
int lib_read_pushed(struct fastn_client *c, int timeout_ms,
                    P2pd__Pb__Response **out);

/* As lib_request_within, but a plain call answer (ipc_frame_find_result:
 * OK, its result alone) is not decoded: *result (malloc'd, one NUL byte
 * after its *result_len bytes) gets the result read straight from the
 * socket, and *out is NULL. Any other answer is in *out as before. */
int lib_request_result(struct fastn_client *c, const P2pd__Pb__Request *req,
                       int timeout_ms, P2pd__Pb__Response **out,
                       uint8_t **result, size_t *result_len);

/* A fastn extension request of type `type` with its parts (may be NULL),
 * sent with the given time limit; *out is the answer's fastn part, owned
 * by *resp (free with p2pd__pb__response__free_unpacked). A daemon
 * without the extension: FASTN_ERR_UNSUPPORTED. */
int lib_ext_exchange(struct fastn_client *c, int type, void *plugin,
                     void *notify, int timeout_ms, P2pd__Pb__Response **resp);
/* The same for a request made with lib_ext_request() and its other
 * parts filled in. */
int lib_ext_send(struct fastn_client *c, const P2pd__Pb__Request *req,
                 int timeout_ms, P2pd__Pb__Response **resp);
/* Sends req on c's connection without waiting. */
int lib_send(struct fastn_client *c, const P2pd__Pb__Request *req);
/* Reads responses until a call's answer arrives (kept for lib_call_take)
 * or the deadline. Errors: TIMEOUT, CLOSED, PROTOCOL, IO. */
int lib_read_call(struct fastn_client *c, int64_t deadline);
/* Marks call id pending on c. */
int lib_call_pending(struct fastn_client *c, uint64_t id);
/* Takes a kept answer: of call id, or of any call when id is 0; NULL when
 * there is none. The caller frees it (data, then the struct). */
struct lib_call_done *lib_call_take(struct fastn_client *c, uint64_t id);
/* Forgets call id entirely (it was never sent). */
void lib_call_forget(struct fastn_client *c, uint64_t id);
/* Turns every pending call into a kept answer with err (the connection
 * failed). */
void lib_calls_fail(struct fastn_client *c, int err);

/* One request on a connection of its own (fd): sends req, reads exactly
 * its Response. errmsg (errlen bytes) gets the daemon's text of an
 * ERROR. */
int lib_request_fd(int fd, int64_t deadline, const P2pd__Pb__Request *req,
                   P2pd__Pb__Response **out, char *errmsg, size_t errlen);
/* Sends one Request on fd (a connection of its own). */
int lib_send_fd(int fd, const P2pd__Pb__Request *req, int64_t deadline);
/* Reads exactly one varint-delimited Response from fd. Errors:
 * FASTN_ERR_PROTOCOL (not a Response, or too large), TIMEOUT, CLOSED,
 * IO, NOMEM. */
int lib_read_response(int fd, int64_t deadline, P2pd__Pb__Response **out);
/* The error code of an ERROR response (FASTN_ERR_REMOTE when it has no
 * fastn code); msg (len bytes, may be NULL) gets the daemon's text. */
int lib_response_error(const P2pd__Pb__Response *r, char *msg, size_t len);
/* Reads exactly n bytes before the deadline. */
int lib_recv_exact(int fd, uint8_t *p, size_t n, int64_t deadline);
/* Clears O_NONBLOCK. */
int lib_set_blocking(int fd);

/* The extension version libfastn speaks. */
#define EXT_VERSION 1

/* Conversions shared by the request files (client.c): a binary PeerID to
 * text (FASTN_PEER_ID_MAX bytes), binary multiaddrs to a malloc'd array of
 * strings (lib_free_addrs). */
int lib_peer_id_text(const ProtobufCBinaryData *id, char *out);
int lib_addrs_text(const ProtobufCBinaryData *in, size_t n, char ***out,
                   size_t *n_out);
void lib_free_addrs(char **addrs, size_t n);
/* Parses a PeerID given by the program (NULL: FASTN_ERR_INVAL); a bad
 * one is FASTN_ERR_BAD_PEER_ID with c's error message saying which text
 * was refused (fastn_client_error_message). */
int lib_parse_peer(struct fastn_client *c, const char *text,
                   struct peer_id *out);
/* A Request{FASTN, fastn{version, type}} ready for its fields. */
void lib_ext_request(P2pd__Pb__Request *req, Fastn__Request *ext, int type);

#endif
