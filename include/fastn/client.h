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

/* The message for the last request that failed: the daemon's own for an
 * error the daemon reported, or libfastn's naming a PeerID or multiaddr
 * it refused before sending (FASTN_ERR_BAD_PEER_ID,
 * FASTN_ERR_BAD_MULTIADDR). Borrowed; "" when there is none. */
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
    char **addrs; /* text multiaddrs: the connection's remote address */
    /* From a daemon with the fastn extension (else zero / ""): */
    int inbound;           /* the peer dialed us */
    char agent[128];       /* what identify reported, e.g. "fastn/0.1.0" */
    uint64_t rtt_us;       /* last measured round trip */
    uint32_t streams;      /* open on the connection now */
    uint64_t connected_ms; /* how long ago it was made */
    size_t n_protocols;
    char **protocols; /* what the peer serves, as identify (and its
                       * pushes since) said */
    int relayed;      /* the connection goes through a relay (limited) */
};

struct fastn_peer_list {
    size_t n_peers;
    struct fastn_peer *peers;
};

/* The peers the daemon has connections to, inbound and outbound (the
 * fastn extension's PEERS, or LIST_PEERS from a daemon without it). On
 * success *out is freed with fastn_peer_list_free(). Errors as
 * fastn_client_identify(). */
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
    char **listen_addrs;    /* text multiaddrs */
    uint64_t dials;         /* TCP dials started */
    uint64_t handshakes;    /* connections upgraded since start */
    uint32_t pending;       /* connections still upgrading */
    uint64_t streams_total; /* streams since start */
    /* How the daemon runs ("" / 0 from a daemon older than these): */
    char log_target[16];  /* "file", "journal" or "stderr" */
    char *log_file;       /* the log's file, "" when it has none */
    char *config;         /* the config file it reads */
    char unit[256];       /* its systemd unit, "" when none */
    int user_unit;        /* the unit is a user's (systemctl --user) */
    int socket_activated; /* its control socket was passed in */
    int foreground;       /* not detached (a service manager, a terminal) */
    /* config keys it takes from the config file only when it starts */
    size_t n_restart_keys;
    char **restart_keys;
    /* Privilege separation: the process holding the identity key (0:
     * none reported), and the seccomp filters ("on", "log", "off"; ""
     * from an older daemon) */
    uint32_t signer_pid;
    char seccomp[8];
    /* Reaching peers ("" / none from an older daemon): "public",
     * "private" or "unknown" (AutoNAT's verdict), our public addresses as
     * far as known, and those peers said they see us at (text
     * multiaddrs); whether we answer others' AutoNAT dial-backs */
    char reachability[16];
    size_t n_public_addrs;
    char **public_addrs;
    size_t n_observed_addrs;
    char **observed_addrs;
    int autonat_server;
    /* Circuit relay v2: relays configured and reservations held on them;
     * whether it relays for others, for how many peers, circuits now */
    uint32_t relays, relay_reservations;
    /* the relays among them found among connected peers (PeerIDs; the
     * daemon reserves on such peers when no relays are configured) */
    size_t n_relays_found;
    char **relays_found;
    int relay_service;
    uint32_t relay_served, relay_circuits;
    /* The Kademlia DHT ("" / 0 from an older daemon): its mode ("auto",
     * "client", "server", "off"), whether it answers other peers' DHT
     * requests now, and the peers in its routing table */
    char dht_mode[8];
    int dht_server;
    uint32_t dht_peers;
    /* What decided reachability (0 / "" from an older daemon): AutoNAT
     * answers counted since start, per version; the version (1 or 2)
     * whose answer last changed reachability (0: none yet); while public,
     * the address a server confirmed (text multiaddr, "" when none) and
     * the version that confirmed it */
    uint32_t autonat_v1_answers, autonat_v2_answers;
    unsigned reach_decided_by;
    char *reach_confirmed_addr;
    unsigned reach_confirmed_by;
};

/* The daemon's Kademlia DHT (the control protocol's DHT request). */
enum fastn_dht_op {
    FASTN_DHT_FIND_PEER = 0,  /* peer: its addresses */
    FASTN_DHT_PROVIDERS = 2,  /* key: a CID's bytes; its providers */
    FASTN_DHT_CLOSEST = 3,    /* key: the closest peers (no addresses) */
    FASTN_DHT_PUBLIC_KEY = 4, /* peer: its public key (protobuf) */
    FASTN_DHT_GET = 5,        /* key: a value */
    FASTN_DHT_PUT = 7,        /* key, value (admin) */
    FASTN_DHT_PROVIDE = 8,    /* key: a CID's bytes (admin) */
};
struct fastn_dht_item {
    char peer[FASTN_PEER_ID_MAX]; /* "" for a value */
    size_t n_addrs;
    char **addrs; /* text multiaddrs */
    uint8_t *value;
    size_t value_len;
};
struct fastn_dht_result {
    size_t n;
    struct fastn_dht_item *items;
};
/* One DHT request; count bounds the results (0: the daemon's default),
 * timeout_s the query (0: 60 s). On success *out (may be NULL for PUT
 * and PROVIDE) is freed with fastn_dht_result_free(). Errors: the
 * daemon's (FASTN_ERR_NOT_FOUND: nothing found; _ADMIN_ONLY;
 * _NET_RECORD_INVALID...), with fastn_client_error_message(). */
FASTN_API int fastn_client_dht(struct fastn_client *c, enum fastn_dht_op op,
                               const char *peer, const uint8_t *key,
                               size_t key_len, const uint8_t *value,
                               size_t value_len, int count, int timeout_s,
                               struct fastn_dht_result **out);
FASTN_API void fastn_dht_result_free(struct fastn_dht_result *r);

/* STATUS. On success *out is freed with fastn_status_free(). Errors as
 * fastn_client_identify(), plus FASTN_ERR_UNSUPPORTED from a daemon
 * without the fastn extension (e.g. go-libp2p-daemon). */
FASTN_API int fastn_client_status(struct fastn_client *c,
                                  struct fastn_status **out);
FASTN_API void fastn_status_free(struct fastn_status *st);

/* Asks the daemon to stop (an admin request): it answers, then shuts
 * down cleanly (plugins stopped, connections closed, socket removed). It
 * has not necessarily exited on return: wait for its pid (STATUS) to go.
 * Under socket activation the service manager starts it again at the
 * next client. Errors: FASTN_ERR_ADMIN_ONLY, FASTN_ERR_UNSUPPORTED (a
 * daemon without it), and those of fastn_client_identify(). */
FASTN_API int fastn_client_daemon_stop(struct fastn_client *c);
/* Asks the daemon to re-read its config file and apply it, as SIGHUP
 * does (an admin request); STATUS's restart_keys name the keys that wait
 * for a restart. Errors: FASTN_ERR_INVAL (a bad file: the running config
 * is kept, fastn_client_error_message() says which line), and those of
 * fastn_client_daemon_stop(). */
FASTN_API int fastn_client_daemon_reload(struct fastn_client *c);

/* --- the network ------------------------------------------------------------
 *
 * PEER arguments are PeerIDs in text ("12D3KooW…"). Network errors the
 * daemon reports include FASTN_ERR_NET_REFUSED, _NET_UNREACHABLE,
 * _NET_WRONG_PEER, _NET_HANDSHAKE, _NET_NO_ADDR (no known address: connect
 * with a multiaddr first), _NET_PROTO_NA (the peer does not serve the
 * protocol), _NET_STREAM_RESET, _NET_RESET, _TIMEOUT;
 * fastn_client_error_message() has the daemon's text. */

/* Makes sure the daemon has a connection to a peer. target is a multiaddr
 * ending in /p2p/PEERID ("/ip4/192.0.2.7/tcp/4004/p2p/12D3KooW…"): that
 * address is dialed (also when the peer is connected through another
 * one) and remembered, and when it does not answer the call fails, with
 * the address in fastn_client_error_message(); or a bare PeerID, done
 * at once when connected, else dialed at the addresses the daemon
 * knows. peer_out (FASTN_PEER_ID_MAX bytes, may be NULL) gets the
 * PeerID. Errors: FASTN_ERR_BAD_MULTIADDR, FASTN_ERR_BAD_PEER_ID (neither,
 * or no /p2p/ component), the network errors above. */
FASTN_API int fastn_client_peer_connect(struct fastn_client *c,
                                        const char *target, char *peer_out);
/* How fastn_client_peer_connect_info reached a peer. */
enum fastn_found {
    FASTN_FOUND_UNKNOWN = -1,  /* an address was named, or an old daemon */
    FASTN_FOUND_CONNECTED = 0, /* a connection was there */
    FASTN_FOUND_KNOWN = 1,     /* addresses the daemon knew (the address
                                * book, where mDNS puts what it finds) */
    FASTN_FOUND_DHT = 2,       /* a FIND_PEER in the DHT */
};
struct fastn_connect_info {
    enum fastn_found found;
    uint64_t lookup_us;  /* the DHT lookup (0 unless FASTN_FOUND_DHT) */
    uint64_t connect_us; /* then to the connection */
    int relayed;         /* the connection goes through a relay */
};
/* As fastn_client_peer_connect, and info (may be NULL) says how the
 * daemon reached the peer: for a bare PeerID, whether it was connected,
 * known or looked up in the DHT, each phase's time, and whether the
 * connection is relayed (found is FASTN_FOUND_UNKNOWN for a multiaddr
 * target, whose dial is exact, and from a daemon without the field). */
FASTN_API int fastn_client_peer_connect_info(struct fastn_client *c,
                                             const char *target, char *peer_out,
                                             struct fastn_connect_info *info);
/* Closes the daemon's connections to peer (none is no error). */
FASTN_API int fastn_client_peer_disconnect(struct fastn_client *c,
                                           const char *peer);
/* One /ipfs/ping/1.0.0 round trip (dialing if needed), in microseconds. */
FASTN_API int fastn_client_ping(struct fastn_client *c, const char *peer,
                                uint64_t *rtt_us);

/* What a stream is: who is at the other end, for which protocol. */
struct fastn_stream_info {
    char peer_id[FASTN_PEER_ID_MAX];
    char protocol[1024];
    char addr[256];     /* the connection's remote multiaddr ("" if none) */
    uint64_t stream_id; /* for fastn_client_stream_result() (0: none) */
};

/* Opens a stream to peer for protocol. On success *fd is a connected,
 * blocking Unix socket that carries the stream both ways: write to send,
 * shutdown(fd, SHUT_WR) to finish sending, read until 0 for the peer's
 * end; close it when done. info (may be NULL) describes the stream. The
 * client's own connection is not used up (the stream gets a new one).
 * Errors: the network errors above, FASTN_ERR_INVAL. */
FASTN_API int fastn_client_stream_open(struct fastn_client *c, const char *peer,
                                       const char *protocol, int *fd,
                                       struct fastn_stream_info *info);
/* After reading 0 from a stream's fd (a reset also looks like that): 0
 * when the peer finished cleanly, or the error that ended the stream
 * (FASTN_ERR_NET_STREAM_RESET, _NET_RESET, _NET_DEAD...), or
 * FASTN_ERR_AGAIN while the peer has not finished. FASTN_ERR_NOT_FOUND:
 * the daemon no longer remembers the stream. */
FASTN_API int fastn_client_stream_result(struct fastn_client *c,
                                         uint64_t stream_id);

/* --- throughput: perf run by the daemon -----------------------------------
 * The daemon itself runs /perf/1.0.0 (libp2p/specs perf/perf.md) against a
 * peer: it sends `upload` bytes, asks for `download` bytes back, and
 * generates and discards them, so no byte passes through this program. */

struct fastn_perf_result {
    int done;                      /* 1 in the final result */
    uint64_t uploaded, downloaded; /* bytes so far */
    uint64_t open_us;     /* from the request to the stream's open (dialing
                             and negotiation included) */
    uint64_t upload_us;   /* from the open to the reply's first byte (the
                             peer answers after reading the whole upload) */
    uint64_t download_us; /* from then to the reply's end */
    uint64_t elapsed_us;  /* from the open to now / the end */
};

/* Progress: called about every interval_ms with the figures so far; a
 * non-zero return stops the run (FASTN_ERR_CANCELED). */
typedef int (*fastn_perf_fn)(void *arg, const struct fastn_perf_result *r);

/* Runs perf against peer on a connection of its own (c's stays free) and
 * waits for its end; *out gets the final figures. timeout_ms bounds the
 * whole run (0: no limit; progress_fn can stop a stalled one). Errors:
 * the network errors above, FASTN_ERR_MALFORMED (the peer sent back
 * another amount), FASTN_ERR_TIMEOUT, FASTN_ERR_CANCELED,
 * FASTN_ERR_UNSUPPORTED (a daemon without it). */
FASTN_API int fastn_client_perf(struct fastn_client *c, const char *peer,
                                uint64_t upload, uint64_t download,
                                uint32_t timeout_ms, int interval_ms,
                                fastn_perf_fn progress_fn, void *arg,
                                struct fastn_perf_result *out);

/* --- TCP port forwarding
 * --------------------------------------------------- The daemon forwards
 * TCP connections over p2p streams (docs/NET.md): a forward listens on a
 * local address and sends each connection to a peer; an expose, on the
 * peer, connects each stream from an allowed peer to a local service. Each
 * lives as long as its handle (a control connection of its own): freeing
 * it, or the program's exit, ends it. */

#define FASTN_FORWARD_PROTOCOL "/fastn/forward/1.0.0"

struct fastn_forward;

struct fastn_forward_info {
    uint64_t id;
    int expose; /* 0: a forward, 1: an expose */
    int mine;   /* made through the asking handle */
    char protocol[1024];
    char listen[256]; /* forward: the multiaddr as bound */
    char host[64];    /* forward: its address, e.g. "127.0.0.1" */
    int port;         /* forward: its port */
    char peer_id[FASTN_PEER_ID_MAX]; /* forward: where connections go */
    char target[256];     /* expose: the multiaddr streams connect to */
    size_t n_allow;       /* expose: peers on its allow list */
    uint64_t connections; /* spliced since it began */
    uint64_t refused;     /* expose: streams from peers not allowed */
    uint64_t failed;      /* streams not opened, target not reached */
    char last_refused[FASTN_PEER_ID_MAX]; /* expose: "" if none */
};

/* Makes the daemon listen on `listen` ("[HOST:]PORT", "[IPV6]:PORT", or
 * an /ip4|/ip6 + /tcp multiaddr; the host defaults to 127.0.0.1, port 0
 * picks a free one) and forward each connection to peer over protocol
 * (NULL: FASTN_FORWARD_PROTOCOL). Errors: FASTN_ERR_BAD_MULTIADDR (a bad
 * address), FASTN_ERR_EXISTS (the address is in use), FASTN_ERR_PERM,
 * FASTN_ERR_BAD_PEER_ID, the client's. */
FASTN_API int fastn_forward_open(struct fastn_client *c, const char *listen,
                                 const char *peer, const char *protocol,
                                 struct fastn_forward **out);
/* Makes the daemon serve protocol (NULL: FASTN_FORWARD_PROTOCOL) by
 * connecting each stream from a peer in allow[0..n_allow) to target
 * ("HOST:PORT", "[IPV6]:PORT", or a multiaddr: /ip4|/ip6 + /tcp or
 * /unix/PATH). Streams from other peers are reset; with n_allow 0 every
 * peer is refused. Errors: FASTN_ERR_EXISTS (the protocol is served
 * already), FASTN_ERR_BAD_MULTIADDR, FASTN_ERR_BAD_PEER_ID, the
 * client's. */
FASTN_API int fastn_expose_open(struct fastn_client *c, const char *target,
                                const char *const *allow, size_t n_allow,
                                const char *protocol,
                                struct fastn_forward **out);
/* The forward's figures now (asks the daemon). Errors: FASTN_ERR_CLOSED
 * (the daemon went away: the forward is over), the client's. */
FASTN_API int fastn_forward_info(struct fastn_forward *f,
                                 struct fastn_forward_info *out);
/* Its control connection, for poll(): readable (EOF) when the daemon
 * went away. */
FASTN_API int fastn_forward_fd(const struct fastn_forward *f);
/* Ends the forward or expose and frees the handle. NULL does nothing. */
FASTN_API void fastn_forward_free(struct fastn_forward *f);

/* Every forward and expose of the daemon (FORWARDS). On success *out
 * (n entries) is freed with free(). */
FASTN_API int fastn_client_forwards(struct fastn_client *c,
                                    struct fastn_forward_info **out, size_t *n);

/* A protocol handler: the daemon hands each incoming stream for the
 * protocol to this process, as a connection on a Unix socket the library
 * listens on (in a private folder). */
struct fastn_handler;

/* Registers a handler for protocol. balanced non-zero shares the protocol
 * with other handlers (streams go to each in turn); zero fails with
 * FASTN_ERR_EXISTS when another program serves it. The handler uses c for
 * its registration: free the handler before the client. Errors:
 * FASTN_ERR_EXISTS, FASTN_ERR_INVAL, FASTN_ERR_IO, FASTN_ERR_NOMEM, the
 * client's. */
FASTN_API int fastn_handler_register(struct fastn_client *c,
                                     const char *protocol, int balanced,
                                     struct fastn_handler **out);
/* fd per stream: waits up to timeout_ms (-1: no limit) for the next
 * incoming stream; *fd is a blocking socket carrying it (the caller
 * closes it), info (may be NULL) describes it. Errors: FASTN_ERR_TIMEOUT,
 * FASTN_ERR_PROTOCOL (the connection did not start with a StreamInfo),
 * FASTN_ERR_IO, FASTN_ERR_NO_DAEMON (fastnd closed the connection the
 * handler was registered on: it stopped or restarted, and no stream comes
 * any more; fastn_client_error_message() says so). */
FASTN_API int fastn_handler_accept(struct fastn_handler *h, int timeout_ms,
                                   int *fd, struct fastn_stream_info *info);
/* The listening socket, for poll(): readable when a stream waits. */
FASTN_API int fastn_handler_fd(const struct fastn_handler *h);
/* Callback-driven: calls fn for each incoming stream (fn owns fd) until fn
 * returns non-zero, which is returned, or an accept fails (its error). */
typedef int (*fastn_stream_fn)(void *arg, int fd,
                               const struct fastn_stream_info *info);
FASTN_API int fastn_handler_run(struct fastn_handler *h, fastn_stream_fn fn,
                                void *arg);
/* Unregisters the handler, closes its socket and frees it. NULL does
 * nothing. */
FASTN_API void fastn_handler_free(struct fastn_handler *h);

/* --- one-shot calls
 * ----------------------------------------------------------- call(peer,
 * protocol, request) -> reply: the request bytes go to a new stream, whose
 * write side is then closed; the reply is everything the peer writes until it
 * closes its side. Many calls share the client's one connection to the daemon
 * (and the daemon's one connection to the peer). A reply is at most max_reply
 * bytes (FASTN_ERR_TOO_LARGE); a call takes at most the client's timeout. */

/* Sends a call and waits for its reply. On success *reply (malloc'd,
 * freed with free(); NULL when empty) and *reply_len are set. */
FASTN_API int fastn_client_call(struct fastn_client *c, const char *peer,
                                const char *protocol, const void *request,
                                size_t request_len, void **reply,
                                size_t *reply_len);
/* Sends a call without waiting; *call_id names it. */
FASTN_API int fastn_call_send(struct fastn_client *c, const char *peer,
                              const char *protocol, const void *request,
                              size_t request_len, uint64_t *call_id);
/* Waits up to timeout_ms (-1: the client's timeout) for the next call to
 * complete: returns 0 with *call_id, its outcome in *status (0, or the
 * call's error), and on success its *reply / *reply_len (free() it); or
 * the error of the wait itself (FASTN_ERR_TIMEOUT, FASTN_ERR_NOT_FOUND
 * when no call is pending, _CLOSED...). */
FASTN_API int fastn_call_recv(struct fastn_client *c, int timeout_ms,
                              uint64_t *call_id, int *status, void **reply,
                              size_t *reply_len);
/* The maximum reply of later calls (default 1 MiB, at most 4032 KiB). */
FASTN_API void fastn_client_set_max_reply(struct fastn_client *c,
                                          size_t max_reply);
/* The client's connection to the daemon, for poll() (readable when a
 * call's answer is waiting); -1 when not connected. */
FASTN_API int fastn_client_fd(const struct fastn_client *c);
/* ---------------------------------------------------------------------- */
/* Plugins (fastn extension PLUGIN_*)                                      */
/* ---------------------------------------------------------------------- */

/* An installed plugin: its manifest and how it is doing. */
struct fastn_plugin_info {
    char name[40];
    char version[40];
    char description[260];
    char state[16]; /* "running", "disabled", "restarting", "failed" */
    int enabled;
    size_t n_protocols;
    char **protocols;
    size_t n_capabilities;
    char **capabilities; /* "streams", "storage", "notify", "timers" */
    size_t n_apps;
    char **apps;
    /* whom it serves now: "anyone", "known-peers" or "nobody" (the user's
     * narrowing of asked_serves, at the end) */
    char serves[16];
    uint64_t storage_quota;
    uint64_t fuel_per_event;
    uint32_t max_memory_pages, max_streams, max_timers, max_statements;
    unsigned restarts;      /* instances that ended with an error */
    int last_error;         /* a fastn_err code, 0 if none */
    char *last_error_text;  /* "" if none */
    uint64_t last_error_ms; /* Unix time */
    uint64_t restart_in_ms; /* "restarting": when it starts again */
    uint64_t file_bytes;
    uint32_t memory_pages; /* 64 KiB pages the running instance has */
    uint64_t db_bytes;
    unsigned open_streams, pending_calls, armed_timers;
    uint64_t events;       /* events delivered since the daemon started */
    uint64_t fuel_used;    /* by those events */
    char asked_serves[16]; /* what its manifest asked: "anyone" or
                              "known-peers" ("" from an older daemon) */
    size_t n_withheld;
    char **withheld; /* capabilities the user withholds (of capabilities) */
    /* protocols the user narrowed on their own (of protocols;
     * fastn_client_plugin_restrict_protocol), and whom each serves now:
     * narrowed_protocols[i] serves protocol_serves[i] ("known-peers" or
     * "nobody"); the other protocols serve what serves says */
    size_t n_narrowed_protocols;
    char **narrowed_protocols;
    char **protocol_serves;
    /* what it uses of its budgets (0 from an older daemon): memory by
     * part and its budget, in bytes (tables: its tables, globals and the
     * engine's stacks and arrays for it;
     * host: the daemon's buffers for it; sqlite: its database's heap) */
    uint64_t memory_linear, memory_tables, memory_host, memory_sqlite;
    uint64_t memory_budget;
    /* the daemon's loop time (ns) and fuel it used over the last
     * cpu_window_ms, and its CPU budget per window (ns); deferred: it
     * waits for that budget now (deferrals: how often it had to) */
    uint64_t cpu_ns, cpu_fuel, cpu_budget_ns;
    unsigned cpu_window_ms;
    int deferred;
    uint64_t deferrals;
    uint64_t longest_slice_us; /* the longest it held the loop at once */
    uint64_t db_wal_bytes;     /* its write-ahead log (in its quota) */
    /* its database, while it runs: its files on disk (what the quota
     * counts), the most memory SQLite held for it since it started, and
     * what SQLite may hold for it now (memory_sqlite: what it holds) */
    uint64_t db_disk_bytes, db_heap_peak, db_heap_limit;
    /* Its signature (docs/REGISTRY.md), checked again now: "verified" (by
     * a trusted key, matching the file), "unsigned" (installed with
     * --unsigned), "untrusted" (by a key no longer trusted), "invalid"
     * (altered), or "" from an older daemon. */
    char signature[16];
    char signer[20];      /* the key id, as minisign prints it; "" none */
    char signer_name[72]; /* the trusted key's name (verified only) */
    char *publisher_note; /* the signature's trusted comment, "" if none */
    /* local-listen (docs/PLUGINS.md, "Local apps"): each loopback port it
     * serves: its name, the manifest's port, the port asked now (the
     * config may move it) and the one listened on (0: none); when the
     * asked one was taken, bound is one the system picked.
     * local-connect: each address its manifest names and where it
     * connects now (the config may move it) */
    size_t n_local_listen, n_local_connect;
    struct {
        char name[20];
        unsigned asked, port, bound;
    } local_listen[8];
    struct {
        char address[56], target[56];
    } local_connect[8];
};

struct fastn_plugin_list {
    size_t n_plugins;
    struct fastn_plugin_info *plugins;
};

/* Installs (replace non-zero: or replaces) a plugin from its .wasm bytes
 * (at most about 1 MiB: use fastn_client_plugin_install_path beyond). An
 * admin request. On success *out (may be NULL) describes it; free with
 * fastn_plugin_info_free(). Errors: FASTN_ERR_ADMIN_ONLY,
 * FASTN_ERR_PLUGIN_MANIFEST, _PLUGIN_ABI, _PLUGIN_CAPABILITY,
 * FASTN_ERR_WASM_*, FASTN_ERR_EXISTS, FASTN_ERR_TOO_LARGE, and those of
 * fastn_client_identify(); fastn_client_error_message() says why. */
FASTN_API int fastn_client_plugin_install(struct fastn_client *c,
                                          const void *wasm, size_t len,
                                          int replace,
                                          struct fastn_plugin_info **out);
/* The same, with the daemon reading the file at an absolute path (it must
 * be able to read it). */
FASTN_API int fastn_client_plugin_install_path(struct fastn_client *c,
                                               const char *path, int replace,
                                               struct fastn_plugin_info **out);
/* Every installed plugin, by name. Free with fastn_plugin_list_free(). */
FASTN_API int fastn_client_plugin_list(struct fastn_client *c,
                                       struct fastn_plugin_list **out);
/* One plugin. Errors: FASTN_ERR_NOT_FOUND, and the usual ones. */
FASTN_API int fastn_client_plugin_info(struct fastn_client *c, const char *name,
                                       struct fastn_plugin_info **out);
/* Stops and deletes a plugin (and its data unless keep_data). Admin. */
FASTN_API int fastn_client_plugin_remove(struct fastn_client *c,
                                         const char *name, int keep_data);
/* Enables (on non-zero) or disables a plugin. Admin. */
FASTN_API int fastn_client_plugin_enable(struct fastn_client *c,
                                         const char *name, int on);
/* Narrows what a plugin may do (an admin request; docs/PLUGINS.md, "What
 * the user decides"): serves (NULL: unchanged) "anyone", "known-peers" or
 * "nobody", no wider than its manifest asked; withhold (n_withhold names,
 * e.g. "notify") capabilities its manifest asked for; grant (n_grant)
 * withheld ones back. Applies at once and is remembered. The strings are
 * borrowed for the call. On success *out (may be NULL) describes the
 * plugin; free with fastn_plugin_info_free(). Errors:
 * FASTN_ERR_ADMIN_ONLY, FASTN_ERR_NOT_FOUND, FASTN_ERR_INVAL (an unknown
 * name, a capability both withheld and granted),
 * FASTN_ERR_PLUGIN_CAPABILITY (wider than the manifest asked, or a
 * capability it did not ask for), and the usual ones;
 * fastn_client_error_message() says why. */
FASTN_API int
fastn_client_plugin_restrict(struct fastn_client *c, const char *name,
                             const char *serves, const char *const *withhold,
                             size_t n_withhold, const char *const *grant,
                             size_t n_grant, struct fastn_plugin_info **out);
/* Narrows one protocol of a plugin (an admin request; `fastn plugin
 * restrict NAME --protocol P --serves WHO`): protocol (one of its
 * manifest's protocols) then serves the narrowest of what the manifest
 * asked, the plugin-wide narrowing and serves ("anyone", "known-peers" or
 * "nobody", no wider than the manifest asked). The manifest's value, or
 * the plugin-wide one, drops the protocol's own narrowing. Applies at
 * once and is remembered (across restarts, and `install --replace` while
 * the new version has that protocol). The strings are borrowed for the
 * call. On success *out (may be NULL) describes the plugin; free with
 * fastn_plugin_info_free(). Errors: FASTN_ERR_ADMIN_ONLY,
 * FASTN_ERR_NOT_FOUND (no such plugin), FASTN_ERR_INVAL (NULL name,
 * protocol or serves; an unknown serves; a protocol the plugin does not
 * have: the message lists its protocols), FASTN_ERR_PLUGIN_CAPABILITY
 * (wider than the manifest asked), and the usual ones;
 * fastn_client_error_message() says why. A fastnd older than this call
 * (0.1.0 before it) ignores protocol and applies serves to the whole
 * plugin. */
FASTN_API int
fastn_client_plugin_restrict_protocol(struct fastn_client *c, const char *name,
                                      const char *protocol, const char *serves,
                                      struct fastn_plugin_info **out);
/* Calls a plugin's on_call with method (1..64 bytes) and arg (0..1 MiB)
 * and waits for its answer (up to 35 s unless the connect options set a
 * timeout; the daemon gives a plugin 30 s). On success *result (malloc'd,
 * free with fastn_free(); NUL-terminated for convenience, not counted in
 * *result_len) holds the answer. Errors: what the plugin answered (e.g.
 * FASTN_ERR_NOT_FOUND for an unknown method, with its message in
 * fastn_client_error_message()), FASTN_ERR_NOT_FOUND (no such plugin),
 * _PLUGIN_DISABLED, _PLUGIN_CRASHED (it is not running, or failed
 * during the call), _TIMEOUT, _BUSY, _INVAL, _TOO_LARGE. */
FASTN_API int fastn_client_plugin_call(struct fastn_client *c, const char *name,
                                       const char *method, const void *arg,
                                       size_t arg_len, uint8_t **result,
                                       size_t *result_len);
/* The bytes of a call's argument made of argc strings (docs/PLUGIN-ABI.md,
 * "Call arguments"; the plugin SDK's fastn_args_split reads them back):
 * none, empty; one, its bytes as they are (so a call with one argument is
 * what fastn_client_plugin_call sends); several, joined with one NUL byte
 * between each. On success *out (malloc'd, free with fastn_free(); at
 * least one byte is allocated) holds *out_len bytes. Errors:
 * FASTN_ERR_INVAL (NULL pointers), FASTN_ERR_TOO_LARGE (over 1 MiB in
 * all), FASTN_ERR_NOMEM. */
FASTN_API int fastn_plugin_args_encode(const char *const *argv, size_t argc,
                                       uint8_t **out, size_t *out_len);
/* fastn_client_plugin_call with argc string arguments, encoded by
 * fastn_plugin_args_encode. Results and errors as that call. */
FASTN_API int fastn_client_plugin_call_args(
    struct fastn_client *c, const char *name, const char *method,
    const char *const *argv, size_t argc, uint8_t **result, size_t *result_len);
FASTN_API void fastn_plugin_info_free(struct fastn_plugin_info *p);
FASTN_API void fastn_plugin_list_free(struct fastn_plugin_list *l);
/* Frees memory libfastn returned as a plain buffer. */
FASTN_API void fastn_free(void *p);

/* ---------------------------------------------------------------------- */
/* Notifications (fastn extension NOTIFY_*)                                */
/* ---------------------------------------------------------------------- */

struct fastn_notification {
    int64_t id;      /* > 0, increasing */
    int64_t time_ms; /* Unix time */
    int read;
    char *source; /* the plugin that sent it, or "fastnd" */
    char *title;
    char *body;
};

struct fastn_notification_list {
    size_t n;
    struct fastn_notification *items; /* oldest first */
};

struct fastn_notify_query {
    int64_t after_id;   /* only ids above it (0: any) */
    int unread_only;    /* non-zero: unread ones only */
    const char *source; /* only from this source (NULL: any) */
    unsigned limit;     /* the newest this many (0: up to 1000) */
};

/* Lists notifications (q may be NULL: the newest 1000). Free with
 * fastn_notification_list_free(). */
FASTN_API int fastn_client_notifications(struct fastn_client *c,
                                         const struct fastn_notify_query *q,
                                         struct fastn_notification_list **out);
/* Marks notification id read (read non-zero) or unread; id 0 marks every
 * one read. *changed (may be NULL) gets how many changed. Errors:
 * FASTN_ERR_NOT_FOUND (no such id), and the usual ones. */
FASTN_API int fastn_client_notifications_mark_read(struct fastn_client *c,
                                                   int64_t id, int read,
                                                   unsigned *changed);
/* How many notifications (from source, or all when NULL) are unread. */
FASTN_API int fastn_client_notifications_unread(struct fastn_client *c,
                                                const char *source,
                                                unsigned *count);

enum fastn_notify_kind {
    FASTN_NOTIFY_NEW = 1,      /* n: the new notification */
    FASTN_NOTIFY_READ = 2,     /* n: one changed its read flag */
    FASTN_NOTIFY_ALL_READ = 3, /* n: NULL; list again */
    FASTN_NOTIFY_DELETED = 4,  /* n: the deleted one */
};

/* Subscribes: from now on this connection only receives changes (read
 * them with fastn_client_notifications_next; use another client for other
 * requests: they get FASTN_ERR_INVAL). *unread (may be NULL) gets the
 * unread count at the time of subscribing. */
FASTN_API int fastn_client_notifications_subscribe(struct fastn_client *c,
                                                   unsigned *unread);
/* Waits up to timeout_ms (0: returns at once, < 0: no limit) for the next
 * change. On success *kind is set and *n (NULL for ALL_READ) is freed
 * with fastn_notification_free(). Errors: FASTN_ERR_TIMEOUT (nothing
 * came), FASTN_ERR_CLOSED (the daemon went away), _PROTOCOL, _IO. */
FASTN_API int fastn_client_notifications_next(struct fastn_client *c,
                                              int timeout_ms, int *kind,
                                              struct fastn_notification **n);
/* (Poll fastn_client_fd() for readability while subscribed.) */
FASTN_API void fastn_notification_free(struct fastn_notification *n);
FASTN_API void fastn_notification_list_free(struct fastn_notification_list *l);

/* ---------------------------------------------------------------------- */
/* Signed plugins, trusted publishers, registries (docs/REGISTRY.md)       */
/* ---------------------------------------------------------------------- */

/* Installs a plugin from a file's bytes (wasm, len) or, for a larger one,
 * from a path the daemon reads itself (wasm NULL, path absolute), with
 * the file's minisign signature minisig[0..minisig_len) (its
 * FILE.wasm.minisig), which must verify with a trusted publisher's key.
 * Flags: FASTN_INSTALL_REPLACE replaces an installed plugin of that
 * name; FASTN_INSTALL_UNSIGNED allows a plugin without a signature
 * (minisig NULL), shown as unsigned. An admin request. On success *out
 * (may be NULL) describes it; free with fastn_plugin_info_free().
 * Errors: FASTN_ERR_UNSIGNED (no signature, no FASTN_INSTALL_UNSIGNED),
 * FASTN_ERR_UNTRUSTED (signed by a key that is not trusted),
 * FASTN_ERR_SIGNATURE (altered), FASTN_ERR_SIG_COMMENT,
 * FASTN_ERR_SIG_MALFORMED, and those of fastn_client_plugin_install();
 * fastn_client_error_message() says which key and what to do. */
#define FASTN_INSTALL_REPLACE 1
#define FASTN_INSTALL_UNSIGNED 2
FASTN_API int
fastn_client_plugin_install_signed(struct fastn_client *c, const void *wasm,
                                   size_t len, const char *path,
                                   const void *minisig, size_t minisig_len,
                                   int flags, struct fastn_plugin_info **out);

/* A trusted publisher key. */
struct fastn_trusted_key {
    char name[72];
    char key_id[20];     /* as minisign prints it (hex) */
    char public_key[60]; /* the base64 line of its .pub file */
    int system;          /* the installation's (read-only) */
};
struct fastn_key_list {
    size_t n_keys;
    struct fastn_trusted_key *keys;
};
/* Trusts a publisher's key: key[0..len) is a minisign .pub file's
 * content or its base64 line; name may be NULL (then the key id). An
 * admin request. *out (may be NULL) gets the key as added. Errors:
 * FASTN_ERR_KEY_MALFORMED, FASTN_ERR_EXISTS (trusted already),
 * FASTN_ERR_INVAL (a bad name), FASTN_ERR_ADMIN_ONLY, FASTN_ERR_IO. */
FASTN_API int fastn_client_trust_add(struct fastn_client *c, const void *key,
                                     size_t len, const char *name,
                                     struct fastn_trusted_key *out);
/* The trusted keys, the user's and the installation's, by name. */
FASTN_API int fastn_client_trust_list(struct fastn_client *c,
                                      struct fastn_key_list **out);
/* Stops trusting the key with that name or key id; *out (may be NULL)
 * gets it. Errors: FASTN_ERR_KEY_NOT_FOUND, FASTN_ERR_KEY_READONLY (the
 * installation's), FASTN_ERR_ADMIN_ONLY. */
FASTN_API int fastn_client_trust_remove(struct fastn_client *c,
                                        const char *name_or_id,
                                        struct fastn_trusted_key *out);
FASTN_API void fastn_key_list_free(struct fastn_key_list *l);

/* A registry, and (search, update) how reading it went. */
struct fastn_registry {
    char name[72];
    char *url;
    int is_default; /* the installation's own plugin folder */
    int read;       /* its index was read: plugins is its count */
    uint32_t plugins;
    int error; /* a fastn_err reading it, 0 if none */
    char *error_text;
};
struct fastn_registry_list {
    size_t n_registries;
    struct fastn_registry *registries;
};
/* Adds a registry (url: https://, http:// or file://, the folder that
 * holds index.json; name may be NULL). Its index is fetched first: a
 * registry that cannot be read is not added. An admin request. *out (may
 * be NULL) lists the one added. Errors: FASTN_ERR_INVAL (a bad URL or
 * name), FASTN_ERR_EXISTS, the fetch's and the index's errors
 * (FASTN_ERR_FETCH_*, FASTN_ERR_INDEX_*). */
FASTN_API int fastn_client_registry_add(struct fastn_client *c, const char *url,
                                        const char *name,
                                        struct fastn_registry_list **out);
/* The registries, in the order they are asked. */
FASTN_API int fastn_client_registry_list(struct fastn_client *c,
                                         struct fastn_registry_list **out);
/* Removes the registry with that name or URL. An admin request. Errors:
 * FASTN_ERR_NOT_FOUND. */
FASTN_API int fastn_client_registry_remove(struct fastn_client *c,
                                           const char *name_or_url,
                                           struct fastn_registry_list **out);
FASTN_API void fastn_registry_list_free(struct fastn_registry_list *l);

/* A plugin a registry or a peer offers. */
struct fastn_registry_plugin {
    char name[40];
    char version[40];
    char registry[72]; /* "" when it came from a peer */
    char *summary;
    size_t n_protocols;
    char **protocols;
    size_t n_capabilities;
    char **capabilities;
    size_t n_apps;
    char **apps;
    uint64_t size;
    char sha256[68];      /* hex */
    char signer[20];      /* key id */
    char signer_name[72]; /* the trusted key's name (installs) */
    char installed[40];   /* the installed version, "" if none */
    char *publisher_note; /* installs: the signature's trusted comment */
    char peer_id[FASTN_PEER_ID_MAX]; /* from a peer: its PeerID */
};
struct fastn_search_result {
    size_t n_plugins;
    struct fastn_registry_plugin *plugins;
    size_t n_registries; /* each registry asked, with its error */
    struct fastn_registry *registries;
};
/* The highest version of each plugin the registries list whose name,
 * summary, protocols or apps contain term (NULL or "": all). The
 * registries are fetched by the daemon: a registry that cannot be read
 * is listed with its error in registries, the others still answer. */
FASTN_API int fastn_client_plugin_search(struct fastn_client *c,
                                         const char *term,
                                         struct fastn_search_result **out);
FASTN_API void fastn_search_result_free(struct fastn_search_result *r);

/* Installs a plugin from the registries: name (version NULL: the highest
 * listed) or, with name NULL, the plugin that handles protocol; or, with
 * peer (a PeerID) set, asks that peer for it over /fastn/plugin/1.0.0.
 * Its size, sha256 and signature (by a trusted key) are checked before
 * anything is installed. replace non-zero replaces an installed one. An
 * admin request. *out (may be NULL) describes what was installed; free
 * with fastn_registry_plugin_free(). Errors: FASTN_ERR_NOT_FOUND (no
 * registry lists it), FASTN_ERR_EXISTS (installed already), the fetch's,
 * FASTN_ERR_UNTRUSTED, _SIGNATURE, _SHA256_MISMATCH, _SIZE_MISMATCH,
 * FASTN_ERR_XFER_* (from a peer), and the install's. */
FASTN_API int fastn_client_plugin_get(struct fastn_client *c, const char *name,
                                      const char *version, const char *protocol,
                                      const char *peer, int replace,
                                      struct fastn_registry_plugin **out);
FASTN_API void fastn_registry_plugin_free(struct fastn_registry_plugin *p);

enum fastn_update_result {
    FASTN_UPDATE_CURRENT = 0,    /* no newer version listed */
    FASTN_UPDATE_UPDATED = 1,    /* the newer version was installed */
    FASTN_UPDATE_CONSENT = 2,    /* it asks for more capabilities: see
                                    new_capabilities; grant them */
    FASTN_UPDATE_FAILED = 3,     /* error, error_text */
    FASTN_UPDATE_NOT_LISTED = 4, /* no registry lists it */
};
struct fastn_plugin_update {
    char name[40];
    enum fastn_update_result result;
    char from_version[40], to_version[40];
    char registry[72];
    size_t n_new_capabilities;
    char **new_capabilities;
    int error;
    char *error_text;
};
struct fastn_update_list {
    size_t n_updates;
    struct fastn_plugin_update *updates;
    size_t n_registries;
    struct fastn_registry *registries;
};
/* Updates the installed plugin name (NULL: every one) to the highest
 * version the registries list. A version that asks for capabilities the
 * installed one does not have waits for consent: it is installed only
 * when each of them is in grant[0..n_grant). An admin request. Errors:
 * FASTN_ERR_NEEDS_CONSENT (name given, and it waits: the error message
 * says which capabilities and how to accept them), FASTN_ERR_NOT_FOUND
 * (no such plugin installed), FASTN_ERR_INVAL (an unknown capability). */
FASTN_API int fastn_client_plugin_update(struct fastn_client *c,
                                         const char *name,
                                         const char *const *grant,
                                         size_t n_grant,
                                         struct fastn_update_list **out);
FASTN_API void fastn_update_list_free(struct fastn_update_list *r);

/* --- Kept data and peers (docs/ROUTER.md, "The quarantine") --- */

/* One stream the daemon keeps (a protocol no plugin handled, or a
 * stranger's), and what is offered for it. state: "offered" (plugin,
 * version, source, signer, capabilities, apps say what), "looking",
 * "none" (why), or "stranger" (plugin serves it to known peers only). */
struct fastn_pending_item {
    int64_t id;
    char peer[64];
    char *protocol;
    uint64_t bytes;
    int64_t received_ms;
    int complete; /* its stream ended cleanly */
    char state[16];
    char plugin[72], version[40];
    char *source, *signer, *why;
    size_t n_capabilities;
    char **capabilities;
    size_t n_apps;
    char **apps;
};
struct fastn_pending_list {
    size_t n_items;
    struct fastn_pending_item *items;
};
/* What the daemon keeps, oldest first. Needs the owner's rights. */
FASTN_API int fastn_client_pending_list(struct fastn_client *c,
                                        struct fastn_pending_list **out);
FASTN_API void fastn_pending_list_free(struct fastn_pending_list *l);
/* Installs the plugin offered for the kept data of protocol (or of item
 * id, when protocol is NULL) and hands the data to it; capabilities
 * beyond the config's auto-grant must be in grant[0..n_grant). A plugin
 * that serves it already just gets the data. msg (msglen bytes, may be
 * NULL) says what was done. An admin request. Errors:
 * FASTN_ERR_NEEDS_CONSENT (grant lacks a capability it asks for),
 * FASTN_ERR_NOT_FOUND (nothing kept, or no plugin found), FASTN_ERR_BUSY
 * (still looking for one), FASTN_ERR_INVAL. */
FASTN_API int fastn_client_pending_approve(struct fastn_client *c, int64_t id,
                                           const char *protocol,
                                           const char *const *grant,
                                           size_t n_grant, char *msg,
                                           size_t msglen);
/* Deletes the kept data of protocol (or item id); block_peer blocks the
 * peers that sent it. An admin request. */
FASTN_API int fastn_client_pending_reject(struct fastn_client *c, int64_t id,
                                          const char *protocol, int block_peer,
                                          char *msg, size_t msglen);
/* Makes peer (PeerID text) known, and hands what it sent to the plugins;
 * or blocks it and deletes what it sent. Admin requests. */
FASTN_API int fastn_client_peer_allow(struct fastn_client *c, const char *peer,
                                      char *msg, size_t msglen);
FASTN_API int fastn_client_peer_block(struct fastn_client *c, const char *peer,
                                      char *msg, size_t msglen);
struct fastn_peer_entry {
    char peer[64];
    char state[16]; /* "allowed" or "blocked" */
};
struct fastn_peer_rules {
    size_t n_peers;
    struct fastn_peer_entry *peers;
};
FASTN_API int fastn_client_peer_rules(struct fastn_client *c,
                                      struct fastn_peer_rules **out);
FASTN_API void fastn_peer_rules_free(struct fastn_peer_rules *l);

/* The library's version, e.g. "0.1.0". */
FASTN_API const char *fastn_version(void);

#ifdef __cplusplus
}
#endif
#endif /* FASTN_CLIENT_H */
