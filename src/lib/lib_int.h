/* Internal to libfastn: the connection, its bounded I/O and autostart. */
#ifndef FASTN_LIB_INT_H
#define FASTN_LIB_INT_H

#include <limits.h>
#include <stdint.h>

#include "fastn/client.h"
#include "ipc/p2pd.pb-c.h"

struct fastn_client {
    int fd; /* -1 when not connected */
    int timeout_ms;
    int started;
    char sock[PATH_MAX];
    char errmsg[512];
    int call_timeout_ms; /* plugin calls: the host answers within 30 s */
    int streaming;       /* subscribed: the connection only receives */
};

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
 * (FASTN_ERR_REMOTE when it sent none) and c->errmsg. */
int lib_request(struct fastn_client *c, const P2pd__Pb__Request *req,
                P2pd__Pb__Response **out);

/* As lib_request, with its own time limit. */
int lib_request_within(struct fastn_client *c, const P2pd__Pb__Request *req,
                       P2pd__Pb__Response **out, int timeout_ms);

/* Reads one Response the daemon pushed (after a subscription), waiting at
 * most timeout_ms (0: only what is there now; < 0: no limit). Errors:
 * FASTN_ERR_TIMEOUT (nothing came; the connection stays), _CLOSED,
 * _PROTOCOL, _IO, or an error the daemon sent. */
int lib_read_pushed(struct fastn_client *c, int timeout_ms,
                    P2pd__Pb__Response **out);

/* A fastn extension request of type `type` with its parts (may be NULL),
 * sent with the given time limit; *out is the answer's fastn part, owned
 * by *resp (free with p2pd__pb__response__free_unpacked). A daemon
 * without the extension: FASTN_ERR_UNSUPPORTED. */
int lib_ext_request(struct fastn_client *c, int type, void *plugin,
                    void *notify, int timeout_ms, P2pd__Pb__Response **resp);

#endif
