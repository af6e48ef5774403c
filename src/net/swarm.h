/*
 * The swarm: fastnd's libp2p network on the event loop. It listens on TCP,
 * dials peers, runs every connection through the sans-I/O cores (conn.h:
 * multistream-select -> Noise -> yamux), keeps at most one connection per
 * peer and reuses it for every stream, serves the built-in protocols
 * (identify, ping, perf) and hands every other incoming stream to a
 * listener (the router) after multistream-select agreed its protocol.
 *
 * Streams (struct swarm_stream) are the unit everything above uses: the
 * client splice, the control protocol's one-shot calls, the plugin host.
 * A stream is owned by one party, which gets its events through one
 * callback:
 *
 *   SWARM_STREAM_OPEN      an outgoing stream's protocol was agreed
 *                          (swarm_stream_protocol() says which)
 *   SWARM_STREAM_DATA      data/len arrived; valid only during the call.
 *                          Call swarm_stream_consumed(len) once the bytes
 *                          have left the daemon (written to a client,
 *                          copied into a plugin): that reopens the peer's
 *                          window, so a slow consumer stalls only its own
 *                          stream and the daemon holds at most one window
 *                          of unconsumed data per stream.
 *   SWARM_STREAM_FIN       the peer finished writing (half-close)
 *   SWARM_STREAM_WRITABLE  a write that was short (or a frame with no
 *                          room) may be retried
 *   SWARM_STREAM_CLOSED    the last event, exactly once: err 0 when both
 *                          sides finished cleanly, else why it ended
 *                          (FASTN_ERR_NET_STREAM_RESET, _NET_RESET the
 *                          connection is gone, _NET_DEAD, _NET_PROTO_NA,
 *                          _TIMEOUT, a dial error...). The stream is freed
 *                          when the callback returns.
 *
 * swarm_stream_reset() also ends a stream, at once and without a CLOSED
 * event. No callback is made from inside a call the owner made on the
 * same stream (CLOSED after the owner's own close comes from the loop).
 *
 * Writing: swarm_stream_write() copies and queues (at most
 * SWARM_STREAM_QUEUE_MAX beyond what the window takes; the return says how
 * many bytes were taken). The fast path, for bulk data: swarm_stream_frame()
 * lends a buffer inside a frame to read the data straight into, and
 * swarm_stream_frame_send() encrypts it in place and sends it, so the only
 * pass over the bytes is the cipher's; swarm_stream_frames() and
 * swarm_stream_frames_send() do the same with several frames, for one
 * readv(2) of up to a megabyte.
 *
 * libuv types stay inside the swarm's files: this header only names the
 * loop as struct uv_loop_s.
 */
#ifndef FASTN_NET_SWARM_H
#define FASTN_NET_SWARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/multiaddr.h"
#include "util/peer_id.h"

/* identity/identity.h: the swarm borrows the identity (its Noise key);
 * code that only uses the swarm never sees the secret key's layout. */
struct identity;

struct uv_loop_s;
struct swarm;
struct swarm_stream;

/* fastnd's listen port when none is configured: stable, so that peers
 * can keep its address; when it is taken the swarm falls back to a port
 * the system picks (and says so in the log). */
#define SWARM_DEFAULT_PORT 4004
#define SWARM_MAX_LISTEN 32
/* Addresses kept per peer (identify, the address book, a dial). */
#define SWARM_MAX_PEER_ADDRS 8
/* Protocols kept per peer (identify), and the longest id kept. */
#define SWARM_MAX_PEER_PROTOCOLS 128
#define SWARM_PEER_PROTOCOL_MAX 256
/* Bytes swarm_stream_write() queues beyond the send window. */
#define SWARM_STREAM_QUEUE_MAX (256 * 1024)
/* Frames swarm_stream_frames() lends at once at most (one readv of 1
 * MiB). */
#define SWARM_STREAM_FRAMES 16
/* Protocols one swarm_stream_open() may propose. */
#define SWARM_MAX_PROPOSALS 16

/* Where the swarm finds and keeps peers' addresses (the daemon backs it
 * with the store). Both may be NULL. */
struct swarm_book_ops {
    /* Fills out with up to max known addresses of peer, and worked[i]
     * with whether out[i] is one a dial to peer connected to (dialed);
     * returns how many. */
    size_t (*lookup)(void *arg, const struct peer_id *peer,
                     struct multiaddr *out, bool *worked, size_t max);
    /* Addresses that worked (dialed) or that the peer announced. */
    void (*remember)(void *arg, const struct peer_id *peer,
                     const struct multiaddr *addrs, size_t n, bool dialed);
};

struct swarm_config {
    const struct identity *identity; /* borrowed; outlives the swarm */
    const struct multiaddr *listen;  /* copied; /ip4 or /ip6 + /tcp */
    size_t n_listen;
    uint32_t handshake_timeout_ms;    /* TCP connect to upgraded; 10 s */
    uint32_t idle_timeout_ms;         /* no streams this long: close; 0 never */
    uint32_t keepalive_ms;            /* yamux ping when quiet; 0 never */
    uint32_t ping_timeout_ms;         /* unanswered ping: the conn is dead */
    uint32_t max_window;              /* yamux receive window limit */
    uint32_t max_connections;         /* at once, both directions */
    uint32_t max_handshakes;          /* inbound ones upgrading at once */
    uint32_t max_handshakes_per_addr; /* ... from one IPv4 or IPv6 /64 */
    uint32_t max_inbound_streams;     /* inbound streams at once, in all */
    size_t max_buffers; /* bytes of output waiting in all connections
                         * before those whose peers do not read wait */
    const struct swarm_book_ops *book;
    void *book_arg;
    bool autonat_server;    /* serve /libp2p/autonat/1.0.0 (default on) */
    bool autonat_v2_server; /* and /libp2p/autonat/2/dial-request (on) */
    /* Loopback and private addresses count as reachable ones (observed
     * addresses, AutoNAT dial-backs): tests and closed networks. */
    bool reach_private;
    bool relay_service; /* serve circuit relay v2 hop (default off) */
    /* its limits per circuit (0: the spec's 120 s, 128 KiB each way) */
    uint32_t relay_duration_s;
    uint64_t relay_data;
    /* reservations it holds for others at once (unset: the spec's 128;
     * 0 refuses every one) */
    bool relay_reservations_set;
    unsigned relay_reservations;
    /* the first wait before asking a relay again after a failure and a
     * refusal (0: 2 s and 30 s); tests shorten them */
    uint32_t relay_retry_first_ms, relay_refused_first_ms;
    /* threads sealing and opening large Noise frames besides the loop's;
     * 0: the machine's cores less one (net/noise_pool.h) */
    unsigned crypto_threads;
    /* Kademlia DHT (swarm_kad.c): mode (SWARM_KAD_AUTO: a server once
     * AutoNAT says public), and the bootstrap peers (each ending in
     * /p2p/PEER; copied, at most SWARM_KAD_BOOTSTRAP_MAX) */
    int kad_mode;
    const struct multiaddr *bootstrap;
    size_t n_bootstrap;
};

/* Defaults: handshake 10 s, idle 10 min, keepalive 30 s, ping timeout
 * 15 s, window 16 MiB, 1024 connections, 256 handshakes (8 per source
 * address), 16384 inbound streams, 64 MiB of connection buffers, no
 * listen addresses. */
#define SWARM_DEFAULT_CONNECTIONS 1024
#define SWARM_DEFAULT_HANDSHAKES 256
#define SWARM_DEFAULT_HANDSHAKES_PER_ADDR 8
#define SWARM_DEFAULT_INBOUND_STREAMS 16384
#define SWARM_DEFAULT_BUFFERS (64u << 20)
void swarm_config_default(struct swarm_config *cfg,
                          const struct identity *identity);

/* A swarm on loop. Errors: FASTN_ERR_INVAL (too many listen addresses),
 * _NOMEM, _CRYPTO. */
int swarm_new(struct uv_loop_s *loop, const struct swarm_config *cfg,
              struct swarm **out);
/* Binds and listens on every configured address. A configured port of
 * SWARM_DEFAULT_PORT that is taken falls back to a system-chosen one.
 * Errors: FASTN_ERR_IO (an address cannot be bound; logged),
 * FASTN_ERR_UNSUPPORTED (not an /ip4 or /ip6 TCP address). */
int swarm_listen(struct swarm *sw);
/* Closes every listener, connection and stream (their owners get CLOSED
 * with FASTN_ERR_CANCELED); handles finish closing on the next loop
 * turns. */
void swarm_close(struct swarm *sw);
/* Frees the swarm after swarm_close() and after the loop has run the
 * close callbacks (uv_run returned). NULL does nothing. */
void swarm_free(struct swarm *sw);

const struct peer_id *swarm_local_peer(const struct swarm *sw);
/* The addresses the swarm listens on, as peers can dial them: wildcard
 * addresses become one per local interface; no /p2p component. Returns
 * how many were written to out (up to max). */
size_t swarm_listen_addrs(const struct swarm *sw, struct multiaddr *out,
                          size_t max);

/* --- changes while running ---------------------------------------------- */

/* Applies cfg's handshake_timeout_ms, idle_timeout_ms, keepalive_ms,
 * ping_timeout_ms and max_connections (0 for the handshake timeout and
 * the limit: their defaults, as in swarm_new) to the running swarm; its
 * other fields are ignored. They hold for new connections and for the
 * existing ones, whose timers are set again: a connection idle for
 * longer than a new, shorter idle timeout closes at once. Connections
 * above a lowered max_connections stay; new inbound ones are refused
 * until the count is below it. */
void swarm_set_timing(struct swarm *sw, const struct swarm_config *cfg);

struct swarm_listen_change {
    unsigned opened; /* addresses listened on now */
    unsigned closed; /* listeners closed */
    unsigned failed; /* addresses that could not be listened on (logged) */
};
/* Makes the swarm listen on addrs[0..n) (as configured: a listener is
 * kept while its configured address stays in the list, whatever port it
 * got). Listeners whose address left the list close; the connections
 * they accepted stay. New addresses are bound as swarm_listen() does;
 * one that fails is logged with the reason and counted in ch->failed,
 * and the others go on. When the set of listeners changed, connected
 * peers are told (identify push, see swarm_protocols_changed). ch may be
 * NULL. Errors: FASTN_ERR_INVAL (n > SWARM_MAX_LISTEN; nothing done),
 * FASTN_ERR_CLOSED (the swarm is closing), else the error of the last
 * address that failed (FASTN_ERR_IO, _UNSUPPORTED, _NOMEM) after the
 * rest was done. */
int swarm_set_listen(struct swarm *sw, const struct multiaddr *addrs, size_t n,
                     struct swarm_listen_change *ch);

/* A push waits this long after the last change, so that a burst of
 * changes (a plugin's protocols, a client's handlers) gives one push. */
#define SWARM_PUSH_DELAY_MS 100
/* ...but no longer than this after the first change of the burst. */
#define SWARM_PUSH_MAX_DELAY_MS 1000
/* The protocols the stream listener serves changed: every connected peer
 * gets our Identify again over /ipfs/id/push/1.0.0 (libp2p identify
 * spec), once per burst of changes (SWARM_PUSH_DELAY_MS after the last
 * one). Peers whose identify did not list the push protocol are
 * skipped. */
void swarm_protocols_changed(struct swarm *sw);

/* --- incoming streams ---------------------------------------------------- */

/* Who gets incoming streams for protocols other than the built-in ones. */
struct swarm_stream_listener {
    /* Whether multistream-select should agree to protocol
     * (NUL-terminated) on a stream peer opened: false answers "na". */
    bool (*supports)(void *arg, const struct peer_id *peer,
                     const char *protocol);
    /* A stream whose protocol was agreed: take it (swarm_stream_set_cb())
     * or reset it. */
    void (*on_stream)(void *arg, struct swarm_stream *s);
    /* Fills names with up to max borrowed protocol ids; returns how many
     * (for identify and multistream "ls"). May be NULL. */
    size_t (*list)(void *arg, const char **names, size_t max);
};
void swarm_set_stream_listener(struct swarm *sw,
                               const struct swarm_stream_listener *l,
                               void *arg);

/* --- connections --------------------------------------------------------- */

typedef void (*swarm_connect_cb)(void *arg, int err);
struct swarm_wait;

/* Makes sure there is a connection to peer: at once when there is one,
 * else dialing addrs (may be empty: the address book's and those learned
 * by identify are tried too). Dials to one peer coalesce. cb gets 0 or
 * the error of the last address tried (FASTN_ERR_NET_REFUSED,
 * _NET_UNREACHABLE, _NET_WRONG_PEER, _NET_HANDSHAKE, _TIMEOUT...), from
 * the loop, never from inside this call. *out (may be NULL) lets the
 * caller cancel. Errors (no callback then): FASTN_ERR_NET_NO_ADDR,
 * _NET_DIAL_SELF, _INVAL, _NOMEM, _CLOSED (the swarm is closing). */
int swarm_connect(struct swarm *sw, const struct peer_id *peer,
                  const struct multiaddr *addrs, size_t n, uint32_t timeout_ms,
                  swarm_connect_cb cb, void *arg, struct swarm_wait **out);
/* As swarm_connect, through one of addrs (n >= 1) only: done at once
 * when an outbound connection to peer through one of them is up, else
 * they are dialed, in order, even when the peer is connected through
 * another address, and neither the address book nor what identify
 * learned is tried. cb gets 0 once one of them is upgraded (then
 * remembered as dialed), or the error of the last one tried; another
 * connection to the peer does not complete it. Errors as swarm_connect,
 * plus FASTN_ERR_INVAL (n 0). */
int swarm_connect_exact(struct swarm *sw, const struct peer_id *peer,
                        const struct multiaddr *addrs, size_t n,
                        uint32_t timeout_ms, swarm_connect_cb cb, void *arg,
                        struct swarm_wait **out);
/* The callback will not be called; the dial itself goes on. */
void swarm_wait_cancel(struct swarm_wait *w);

/* How swarm_connect found the peer, and when (for `fastn connect`'s
 * phases): the caller's, filled while the wait lives. */
enum swarm_found {
    SWARM_FOUND_CONNECTED, /* a connection was there */
    SWARM_FOUND_KNOWN,     /* the address book (mDNS's too), identify, addrs */
    SWARM_FOUND_DHT,       /* a FIND_PEER in the DHT */
};
struct swarm_connect_info {
    enum swarm_found found;
    uint64_t start_ns;  /* uv_hrtime() when swarm_connect ran */
    uint64_t lookup_ns; /* when the DHT answered with addresses (0: not) */
    uint64_t end_ns;    /* set by swarm_connect_info_finish: now */
    bool relayed;       /* and: whether the connection is relayed */
};
/* Lets w fill *info (how the peer is found, when the DHT answered);
 * info must outlive w (until its callback or swarm_wait_cancel). */
void swarm_wait_info(struct swarm_wait *w, struct swarm_connect_info *info);
/* After a successful connect: the time, and whether the connection
 * streams use now is a relayed (limited) one. */
void swarm_connect_info_finish(struct swarm *sw, const struct peer_id *peer,
                               struct swarm_connect_info *info);
/* Puts addrs of a connected peer in the address book as dialed ones: the
 * user named them (a CONNECT) and the peer is reached, even when an
 * existing connection was reused instead of dialing them. */
void swarm_remember(struct swarm *sw, const struct peer_id *peer,
                    const struct multiaddr *addrs, size_t n);

/* Closes every connection to peer. Errors: FASTN_ERR_NOT_FOUND. */
int swarm_disconnect(struct swarm *sw, const struct peer_id *peer);
bool swarm_is_connected(const struct swarm *sw, const struct peer_id *peer);

struct swarm_peer_info {
    struct peer_id peer;
    struct multiaddr remote; /* the connection's remote address */
    bool inbound;
    bool limited;          /* relayed (circuit relay v2) */
    uint64_t connected_ms; /* how long ago */
    uint64_t rtt_us;       /* last yamux round trip (0: not yet) */
    uint32_t streams;
    char agent[128]; /* from identify ("" until known) */
    size_t n_listen;
    struct multiaddr listen[SWARM_MAX_PEER_ADDRS]; /* from identify */
    /* the protocols the peer serves, from identify and its pushes
     * (borrowed: valid during the callback only) */
    size_t n_protocols;
    const char *protocols[SWARM_MAX_PEER_PROTOCOLS];
};
typedef void (*swarm_peer_fn)(void *arg, const struct swarm_peer_info *info);
/* Calls fn for each connected peer (its connection in use). */
void swarm_foreach_peer(struct swarm *sw, swarm_peer_fn fn, void *arg);

struct swarm_stats {
    uint32_t peers;       /* peers with a connection (swarm_foreach_peer's) */
    uint32_t connections; /* upgraded connections */
    uint32_t pending;     /* connections still upgrading */
    uint32_t streams;     /* streams open now */
    uint64_t dials;       /* TCP dials started */
    uint64_t handshakes;  /* connections upgraded since start */
    uint64_t streams_total;
};
void swarm_get_stats(const struct swarm *sw, struct swarm_stats *st);

/* --- reachability (identify's observed addresses, AutoNAT) --------------- */

#define SWARM_REACH_ADDRS_MAX 16
struct swarm_reach_info {
    const char *reachability; /* "public", "private" or "unknown" */
    unsigned confidence;      /* contrary votes it takes to flip */
    bool autonat_server;      /* we answer dial-back requests */
    size_t n_public;          /* AutoNAT's address, confirmed observed ones */
    struct multiaddr public_addrs[SWARM_REACH_ADDRS_MAX];
    size_t n_observed; /* what peers said they see (not confirmed) */
    struct multiaddr observed[SWARM_REACH_ADDRS_MAX];
    uint64_t probes;    /* dial-backs we asked for */
    uint64_t dialbacks; /* dial-backs we made for others */
    /* the evidence: AutoNAT answers counted (votes) since start, per
     * version ([0] v1, [1] v2); the version whose answer last changed
     * reachability (0: none yet); the address a server confirmed while
     * public and the version that confirmed it */
    uint64_t answers[2];
    unsigned decided_by;
    bool has_confirmed;
    struct multiaddr confirmed;
    unsigned confirmed_by;
};
void swarm_reach_get(const struct swarm *sw, struct swarm_reach_info *out);
/* The addresses we tell peers (identify): the listen addresses, then the
 * public ones. Returns how many were written to out (up to max). */
size_t swarm_advertised_addrs(const struct swarm *sw, struct multiaddr *out,
                              size_t max);

/* --- circuit relay v2 ---------------------------------------------------- */

/* A static relay (a multiaddr ending in /p2p/RELAY): reservations are
 * held on it while we are not known to be public. Errors:
 * FASTN_ERR_BAD_MULTIADDR (no /p2p), _EXISTS, _TOO_LARGE (8 relays),
 * _INVAL (ourselves). */
int swarm_relay_add(struct swarm *sw, const struct multiaddr *addr);
struct swarm_relay_info {
    bool service;      /* relay-service on */
    size_t candidates; /* relays configured or found */
    /* the candidates found among connected peers (no relays configured) */
    size_t n_found;
    struct peer_id found[8];              /* RELAY_CLIENT_MAX */
    size_t reservations;                  /* held on them now */
    size_t served_reservations, circuits; /* the service's */
};
void swarm_relay_get(const struct swarm *sw, struct swarm_relay_info *out);

/* --- Kademlia DHT (/ipfs/kad/1.0.0, swarm_kad.c) ---------------------------
 */

enum swarm_kad_mode {
    SWARM_KAD_AUTO = 0, /* client; server while AutoNAT says public */
    SWARM_KAD_CLIENT,
    SWARM_KAD_SERVER,
    SWARM_KAD_OFF,
};
#define SWARM_KAD_BOOTSTRAP_MAX 16

enum swarm_kad_op {
    SWARM_KAD_FIND_PEER,      /* key: a PeerID's bytes; one PEER */
    SWARM_KAD_CLOSEST,        /* the max peers closest to key */
    SWARM_KAD_FIND_PROVIDERS, /* up to max providers of key */
    SWARM_KAD_GET_VALUE,      /* the first valid value of key */
    SWARM_KAD_SEARCH_VALUE,   /* up to max distinct valid values */
    SWARM_KAD_PUT_VALUE,      /* value under key, on the k closest */
    SWARM_KAD_PROVIDE,        /* us as a provider of key, on the k closest */
};

struct swarm_kad_request {
    enum swarm_kad_op op;
    const uint8_t *key; /* 1..256 bytes (copied) */
    size_t key_len;
    const uint8_t *value; /* PUT_VALUE (copied) */
    size_t value_len;
    size_t max;          /* results told at most (0: 20; capped at 64) */
    uint32_t timeout_ms; /* the whole query (0: 60 s) */
};

enum swarm_kad_event { SWARM_KAD_PEER = 1, SWARM_KAD_VALUE, SWARM_KAD_DONE };
struct swarm_kad_result {
    enum swarm_kad_event type;
    const struct peer_id *peer; /* PEER */
    const struct multiaddr *addrs;
    size_t n_addrs;
    const uint8_t *value; /* VALUE */
    size_t value_len;
    int err;         /* DONE: 0, FASTN_ERR_NOT_FOUND, _TIMEOUT, a peer's */
    unsigned stored; /* DONE of PUT_VALUE and PROVIDE: peers that took it */
};
typedef void (*swarm_kad_cb)(void *arg, const struct swarm_kad_result *r);
struct swarm_kad_query;

/* Starts a DHT query: cb gets PEER or VALUE results as they come, then
 * DONE, once, always from the loop; the handle is gone after DONE. What
 * this daemon holds (its table, its records) answers first. Errors (no
 * callback then): FASTN_ERR_UNSUPPORTED (dht = off), _INVAL (a key of 0
 * or over 256 bytes), _BAD_PEER_ID (FIND_PEER), _NET_RECORD_INVALID (a
 * PUT_VALUE the validators refuse: only /pk/ records are known),
 * _BUSY (64 queries run), _CLOSED, _NOMEM. */
int swarm_kad_query(struct swarm *sw, const struct swarm_kad_request *rq,
                    swarm_kad_cb cb, void *arg, struct swarm_kad_query **out);
/* Ends a query before its DONE; cb is not called again. */
void swarm_kad_cancel(struct swarm_kad_query *q);

struct swarm_kad_info {
    const char *mode;  /* "auto", "client", "server", "off" */
    bool server;       /* we answer DHT requests now */
    size_t table_size; /* peers in the routing table */
    unsigned queries;  /* running */
    size_t providers, values, bootstrap;
    uint64_t requests, served; /* sent and answered since start */
};
void swarm_kad_get(const struct swarm *sw, struct swarm_kad_info *out);
/* The up to max peers of the routing table closest to key (no network). */
size_t swarm_kad_closest(const struct swarm *sw, const uint8_t *key, size_t n,
                         struct peer_id *out, size_t max);
/* The routing table's file form (net/kad.h), appended to out; and loading
 * it back. Errors: as kad_table_save/load, FASTN_ERR_UNSUPPORTED. */
struct buf;
int swarm_kad_save(const struct swarm *sw, struct buf *out);
int swarm_kad_load(struct swarm *sw, const uint8_t *p, size_t n);

/* --- streams ------------------------------------------------------------- */

enum swarm_stream_event_type {
    SWARM_STREAM_OPEN = 1,
    SWARM_STREAM_DATA,
    SWARM_STREAM_FIN,
    SWARM_STREAM_WRITABLE,
    SWARM_STREAM_CLOSED,
};

struct swarm_stream_event {
    enum swarm_stream_event_type type;
    const uint8_t *data; /* DATA */
    size_t len;          /* DATA */
    int err;             /* CLOSED */
};

typedef void (*swarm_stream_cb)(struct swarm_stream *s,
                                const struct swarm_stream_event *ev, void *arg);

/* Opens a stream to peer proposing protos[0..n) in order (copied),
 * dialing first when there is no connection. The stream may be written
 * and closed at once: with one protocol proposed, the data follows the
 * proposal without waiting (multistream-select's optimistic mode); with
 * several it waits for the agreement. Then OPEN, or CLOSED with the
 * reason (FASTN_ERR_NET_PROTO_NA, a dial error, FASTN_ERR_TIMEOUT when
 * not open after open_timeout_ms, 0 = none). Returns NULL with *err
 * (FASTN_ERR_INVAL, a swarm_connect() error) when it cannot start. */
struct swarm_stream *swarm_stream_open(struct swarm *sw,
                                       const struct peer_id *peer,
                                       const char *const *protos, size_t n,
                                       uint32_t open_timeout_ms,
                                       swarm_stream_cb cb, void *arg, int *err);
/* Sets who gets the stream's events (an incoming stream's new owner). */
void swarm_stream_set_cb(struct swarm_stream *s, swarm_stream_cb cb, void *arg);

/* Copies up to n bytes: returns how many were taken (0..n; fewer when the
 * queue is full: WRITABLE follows) or FASTN_ERR_CLOSED (write side
 * closed or the stream failed). */
int swarm_stream_write(struct swarm_stream *s, const uint8_t *p, size_t n);
/* Fast path: lends *p with *room bytes (> 0) to fill with stream data,
 * then swarm_stream_frame_send(). *room 0 means not now (window, queue
 * or the connection's send backlog): WRITABLE follows. Errors:
 * FASTN_ERR_CLOSED, _NOMEM. */
int swarm_stream_frame(struct swarm_stream *s, uint8_t **p, size_t *room);
/* Sends the first n bytes (1..room) of the lent frame. Errors: as
 * swarm_stream_frame, FASTN_ERR_INVAL, _CRYPTO. */
int swarm_stream_frame_send(struct swarm_stream *s, size_t n);
/* The same for several frames at once, for one readv(2): lends iov[0..k)
 * (k <= max, <= SWARM_STREAM_FRAMES), iov[0] swarm_stream_frame's and
 * the others whole frames, their room in all within the send window and
 * the connection's room, and returns k; 0 means not now (WRITABLE
 * follows). Errors: as swarm_stream_frame. */
int swarm_stream_frames(struct swarm_stream *s, struct iovec *iov,
                        unsigned max);
/* Sends the first n bytes (1..the room lent) of the frames that
 * swarm_stream_frames() lent, filled in order, one frame each; the frames
 * past them are kept for the next lending. Errors: as
 * swarm_stream_frame_send. */
int swarm_stream_frames_send(struct swarm_stream *s, size_t n);
/* Half-closes our side once the queued bytes are out. Errors:
 * FASTN_ERR_CLOSED (already closed). */
int swarm_stream_close(struct swarm_stream *s);
/* Aborts both directions; the stream is freed now, with no event. */
void swarm_stream_reset(struct swarm_stream *s);
/* n bytes of DATA have left the daemon: reopen the peer's window. */
void swarm_stream_consumed(struct swarm_stream *s, size_t n);
/* Keeps the n bytes at p, a DATA event's bytes, where they are past the
 * event (the connection's receive buffer) until swarm_rx_release; NULL
 * when that is not offered (the bytes are elsewhere, fewer than 16 KiB,
 * or the swarm holds as many buffers as it lets hold): copy them then. */
struct swarm_rx;
struct swarm_rx *swarm_stream_rx_hold(struct swarm_stream *s, const uint8_t *p,
                                      size_t n);
void swarm_rx_release(struct swarm_rx *b);
/* Ends the stream with FASTN_ERR_TIMEOUT if it is not CLOSED within ms
 * from now (0 removes the limit). Errors: FASTN_ERR_NOMEM. */
int swarm_stream_set_timeout(struct swarm_stream *s, uint32_t ms);

const struct peer_id *swarm_stream_peer(const struct swarm_stream *s);
/* The agreed protocol (NULL before OPEN). */
const char *swarm_stream_protocol(const struct swarm_stream *s);
/* The connection's remote address (zero length before it has one). */
const struct multiaddr *swarm_stream_remote_addr(const struct swarm_stream *s);
bool swarm_stream_is_inbound(const struct swarm_stream *s);
/* Bytes accepted by swarm_stream_write() and not yet sent. */
size_t swarm_stream_queued(const struct swarm_stream *s);

/* --- built-in protocol clients ------------------------------------------ */

typedef void (*swarm_ping_cb)(void *arg, int err, uint64_t rtt_us);
struct swarm_ping;
/* Pings peer once over /ipfs/ping/1.0.0 (dialing if needed): cb gets the
 * round trip or an error (stream errors, FASTN_ERR_TIMEOUT), once, from
 * the loop. *out (may be NULL) lets the caller cancel before cb; the
 * handle is gone once cb was called. Errors as swarm_stream_open. */
int swarm_ping(struct swarm *sw, const struct peer_id *peer,
               uint32_t timeout_ms, swarm_ping_cb cb, void *arg,
               struct swarm_ping **out);
void swarm_ping_cancel(struct swarm_ping *p);

/* How far a perf run has got (times on the swarm's microsecond clock; 0
 * for a moment not reached yet). */
struct swarm_perf_stats {
    uint64_t uploaded, downloaded; /* bytes so far */
    uint64_t start_us;             /* swarm_perf() called */
    uint64_t open_us;              /* the stream's protocol agreed */
    uint64_t reply_us;             /* the reply's first byte (or its end) */
    uint64_t end_us;               /* the reply's end */
    uint64_t now_us;               /* when these figures were taken */
};
typedef void (*swarm_perf_cb)(void *arg, int err,
                              const struct swarm_perf_stats *st);
struct swarm_perf;
/* A stream opens at most this long after swarm_perf(). */
#define SWARM_PERF_OPEN_TIMEOUT_MS 30000
/* Runs /perf/1.0.0 against peer (dialing if needed): sends upload bytes,
 * asks for download bytes back, and generates and discards them here. cb
 * gets 0 when exactly download bytes came back, or why not (stream
 * errors, FASTN_ERR_MALFORMED: the peer sent another amount or answered
 * before the upload's end, FASTN_ERR_TIMEOUT past timeout_ms (0: no
 * limit)), once, from the loop; the handle is gone after cb. *out (may be
 * NULL) lets the caller read progress and cancel. Errors (no callback):
 * as swarm_stream_open, FASTN_ERR_NOMEM. */
int swarm_perf(struct swarm *sw, const struct peer_id *peer, uint64_t upload,
               uint64_t download, uint32_t timeout_ms, swarm_perf_cb cb,
               void *arg, struct swarm_perf **out);
void swarm_perf_get(const struct swarm_perf *p, struct swarm_perf_stats *st);
/* Resets the stream; cb will not be called. NULL does nothing. */
void swarm_perf_cancel(struct swarm_perf *p);

#endif
