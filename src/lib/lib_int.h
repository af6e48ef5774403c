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

#endif
