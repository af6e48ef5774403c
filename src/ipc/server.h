/*
 * The control socket on libuv: listens on a Unix socket (mode 0660),
 * reads each client's peer credentials on accept and runs one
 * ipc_session per connection (ipc.h), under host->limits (read at each
 * use, so the daemon may change them on SIGHUP): connection slots and
 * the request deadline, enforced by a timer. This file, watch.c and the
 * daemon's main loop are the only ipc code that sees libuv.
 */
#ifndef FASTN_IPC_SERVER_H
#define FASTN_IPC_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include <uv.h>

#include "ipc/ipc.h"

/* Longest socket path (sun_path less its NUL). */
#define IPC_SOCKET_PATH_MAX 107

struct ipc_conn;

struct ipc_server {
    uv_loop_t *loop;
    int fd;                /* the listening socket */
    uv_poll_t listener;    /* watches fd */
    uv_timer_t pause;      /* rests the listener when out of descriptors */
    struct ipc_host *host; /* borrowed */
    struct ipc_conn *conns;
    uv_timer_t deadlines; /* closes connections past their deadline */
    bool listening;
    bool adopted; /* the socket came from the service manager */
    char path[IPC_SOCKET_PATH_MAX + 1];
    char rbuf[64 * 1024]; /* every read lands here, then goes to a session */
};

/* Listens on path. An existing socket there is removed when no daemon
 * answers on it (left behind by a crash); sock_gid, unless (gid_t)-1,
 * becomes the socket's group. Also sets up host->watch (watch.c).
 * Errors: FASTN_ERR_TOO_LARGE (path too long), FASTN_ERR_DAEMON_RUNNING
 * (a live daemon answers on path), FASTN_ERR_EXISTS (path is something
 * other than a socket), FASTN_ERR_IO (bind/listen failed; errno-style
 * detail is logged), FASTN_ERR_NOMEM. */
int ipc_server_start(struct ipc_server *srv, uv_loop_t *loop,
                     struct ipc_host *host, const char *path, gid_t sock_gid);

/* Accepts on fd, a listening Unix socket at path that the service
 * manager bound and passed (socket activation); the server owns fd from
 * then on, even on error. Its file is not removed when the server closes.
 * Also sets up host->watch. Errors: FASTN_ERR_TOO_LARGE (path too long),
 * FASTN_ERR_IO (fd is not usable; logged), FASTN_ERR_NOMEM. */
int ipc_server_adopt(struct ipc_server *srv, uv_loop_t *loop,
                     struct ipc_host *host, int fd, const char *path);

/* Stops listening, removes the socket file (unless adopted), closes every
 * client connection and the process watch; the handles finish closing
 * on the next loop turns. */
void ipc_server_close(struct ipc_server *srv);

#endif
