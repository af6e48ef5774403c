/*
 * libfastn: the C client library of fastnd, the fastn-p2p daemon.
 *
 * A program talks to its user's fastnd over the daemon's Unix control
 * socket and never sees a key. One struct fastn_client is one connection;
 * requests on it are answered in order. A client is not thread-safe: use
 * it from one thread at a time (or one client per thread).
 *
 *   struct fastn_connect_options o;
 *   struct fastn_client *c = NULL;
 *   struct fastn_identity *id = NULL;
 *   fastn_connect_options_init(&o);
 *   o.autostart = 1;
 *   int err = fastn_client_connect(&o, &c);
 *   if (!err)
 *       err = fastn_client_identify(c, &id);
 *   if (!err)
 *       printf("%s\n", id->peer_id);
 *   else
 *       fprintf(stderr, "%s\n", fastn_strerror(err));
 *   fastn_identity_free(id);
 *   fastn_client_free(c);
 *
 * Every function returns 0 or a negative error code from fastn/err.h
 * (fastn_strerror() gives its message). Out-parameters are set only on
 * success; whatever a function returns through them belongs to the caller
 * and is freed with the matching _free function, which accepts NULL.
 * Every wait is bounded by the client's timeout: no call hangs.
 */
#ifndef FASTN_CLIENT_H
#define FASTN_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "fastn/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Room for a PeerID in text form, NUL included. */
#define FASTN_PEER_ID_MAX 96

/* How to reach the daemon. Initialise with fastn_connect_options_init(). */
struct fastn_connect_options {
    /* The fastn home; NULL: $FASTN_HOME, else ~/.fastn. */
    const char *home;
    /* The control socket; NULL: HOME/fastnd.sock. Set it to reach a daemon
     * started with -listen=/unix/PATH (then there is no autostart). */
    const char *socket_path;
    /* Non-zero: when no daemon answers, start one on the home (fastnd
     * detaches and the call waits until it is ready), as gpg does with
     * gpg-agent. */
    int autostart;
    /* The fastnd to start; NULL: $FASTND, else fastnd beside the running
     * program, else fastnd on $PATH. */
    const char *fastnd_path;
    /* Limit for connecting (including a start) and for each request, in
     * milliseconds; 0 means 10000. */
    int timeout_ms;
    /* Optional: when fastn_client_connect() fails, a one-line reason
     * (e.g. why the started daemon could not start) is written here, NUL
     * terminated, or "" when there is nothing to add to the error code. */
    char *error_buf;
    size_t error_buf_len;
};

/* An opaque connection to fastnd. */
struct fastn_client;

/* Fills o with the defaults (no autostart, default home and timeout). */
FASTN_API void fastn_connect_options_init(struct fastn_connect_options *o);

/* Connects to the daemon (opts may be NULL for the defaults). On success
 * *out is a new client, freed with fastn_client_free(). Errors:
 * FASTN_ERR_NO_DAEMON (none answers and autostart is off),
 * FASTN_ERR_DAEMON_START (autostart failed or timed out),
 * FASTN_ERR_NOT_ALLOWED (the socket's permissions refuse this user),
 * FASTN_ERR_TOO_LARGE (socket path too long), FASTN_ERR_NOMEM,
 * FASTN_ERR_IO. */
FASTN_API int fastn_client_connect(const struct fastn_connect_options *opts,
                                   struct fastn_client **out);

/* Closes the connection and frees the client. NULL does nothing. */
FASTN_API void fastn_client_free(struct fastn_client *c);

/* 1 when fastn_client_connect() started the daemon, else 0. */
FASTN_API int fastn_client_started_daemon(const struct fastn_client *c);

/* The control socket path the client uses (borrowed, lives as long as
 * the client). */
FASTN_API const char *fastn_client_socket_path(const struct fastn_client *c);

/* The daemon's own message for the last request that failed with an
 * error the daemon reported (borrowed; "" when there is none). */
FASTN_API const char *fastn_client_error_message(const struct fastn_client *c);

/* The daemon's identity: its PeerID and the multiaddrs it listens on. */
struct fastn_identity {
    char peer_id[FASTN_PEER_ID_MAX]; /* base58btc, "12D3KooW…" */
    size_t n_addrs;
    char **addrs; /* text multiaddrs */
};

/* IDENTIFY. On success *out is freed with fastn_identity_free(). Errors:
 * FASTN_ERR_NOT_ALLOWED (the daemon refused this user), FASTN_ERR_TIMEOUT,
 * FASTN_ERR_CLOSED (the daemon went away), FASTN_ERR_PROTOCOL (an answer
 * that is not a valid Response), FASTN_ERR_REMOTE or another code the
 * daemon sent (see fastn_client_error_message()), FASTN_ERR_NOMEM. */
FASTN_API int fastn_client_identify(struct fastn_client *c,
                                    struct fastn_identity **out);
FASTN_API void fastn_identity_free(struct fastn_identity *id);

/* A connected peer. */
struct fastn_peer {
    char peer_id[FASTN_PEER_ID_MAX];
    size_t n_addrs;
    char **addrs; /* text multiaddrs */
};

struct fastn_peer_list {
    size_t n_peers;
    struct fastn_peer *peers;
};

/* LIST_PEERS: the peers the daemon has connections to. On success *out is
 * freed with fastn_peer_list_free(). Errors as fastn_client_identify(). */
FASTN_API int fastn_client_list_peers(struct fastn_client *c,
                                      struct fastn_peer_list **out);
FASTN_API void fastn_peer_list_free(struct fastn_peer_list *list);

/* The daemon's state (fastn extension STATUS). */
struct fastn_status {
    char version[32];     /* fastnd's version */
    unsigned ext_version; /* control-protocol extension version */
    uint64_t uptime_ms;
    uint32_t pid;
    char peer_id[FASTN_PEER_ID_MAX];
    char *home; /* the daemon's home ("" when not reported) */
    uint32_t peers, connections, streams, clients, handlers, plugins;
    uint32_t identities;
    uint64_t requests; /* control requests served since start */
    size_t n_listen_addrs;
    char **listen_addrs; /* text multiaddrs */
};

/* STATUS. On success *out is freed with fastn_status_free(). Errors as
 * fastn_client_identify(), plus FASTN_ERR_UNSUPPORTED from a daemon
 * without the fastn extension (e.g. go-libp2p-daemon). */
FASTN_API int fastn_client_status(struct fastn_client *c,
                                  struct fastn_status **out);
FASTN_API void fastn_status_free(struct fastn_status *st);

/* The library's version, e.g. "0.1.0". */
FASTN_API const char *fastn_version(void);

#ifdef __cplusplus
}
#endif
#endif /* FASTN_CLIENT_H */
