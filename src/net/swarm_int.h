/*
 * Internal to the swarm's files (swarm.c, swarm_conn.c, swarm_dial.c,
 * swarm_stream.c, swarm_builtin.c): the structures and the functions they
 * share. The only place in net that sees libuv.
 *
 * Ownership: the swarm owns its connections (sw->conns, every state),
 * dials, waits and streams; a connection is freed in the close callback
 * of its last handle. A stream holds one reference while it is alive and
 * one more while an event is being delivered, so that an owner may reset
 * it from inside its own callback.
 */
#ifndef FASTN_NET_SWARM_INT_H
#define FASTN_NET_SWARM_INT_H

#include <uv.h>

#include "net/conn.h"
#include "net/dial_rank.h"
#include "net/lp.h"
#include "net/mss.h"
#include "net/swarm.h"
#include "util/buf.h"

/* Bytes in flight to one connection's socket before streams must wait. */
#define SWARM_WRITE_HIGH (4u << 20)
#define SWARM_WRITE_LOW (1u << 20)
/* The same while the daemon's connection buffers are over their budget
 * (cfg.max_buffers): a connection whose peer does not drain what it has
 * holds at most about this much more. */
#define SWARM_PRESSURE_CAP (16u << 10)
/* Control output (answers, refusals, window updates, negotiation replies:
 * what the peer's input asks for) waiting for a connection's socket past
 * which the connection is not read, until half of it has drained. Stream
 * data never pauses reading (two peers sending each other bulk data must
 * not wait on each other). */
#define SWARM_CTL_MAX (16u << 10)
/* One read from a connection's socket. */
#define SWARM_READ_MAX (1024 * 1024)
/* The receive buffer all connections share: a read, and before it the
 * partial frame a connection kept from its last read. */
#define SWARM_RX_SCRATCH (SWARM_READ_MAX + NOISE_FRAME_MAX)
/* Receive buffers held past their read at most (swarm_rx.c), and the
 * smallest piece of stream data worth holding one for. */
#define SWARM_RX_HELD_MAX 8
#define SWARM_RX_HOLD_MIN (16u << 10)
/* A frame buffer: room for the largest data frame in place. */
#define SWARM_FRAME_SIZE                                                       \
    (CONN_FRAME_HEAD + CONN_FRAME_MAX_DATA + CONN_FRAME_TAIL)
/* Frames gathered before one write (unless the loop is about to wait). */
#define SWARM_BATCH_BYTES (1u << 20)
/* Stream output left for the end of the loop's turn at most. */
#define SWARM_DEFER_BYTES (64u << 10)
/* Frames kept for reuse. */
#define SWARM_FRAME_POOL 64
/* A losing duplicate connection closes after being unused this long. */
#define SWARM_DRAIN_MS 2000
/* Streams that wait on one connection for the multiplexer to open them
 * (the peer has not acknowledged enough of our opens yet, or every
 * stream slot is taken), first come first served; one past it is
 * refused, logged. A stream opened with no timeout of its own waits at
 * most SWARM_OPEN_WAIT_MS. */
#define SWARM_MAX_OPEN_WAITS 8192
#define SWARM_OPEN_WAIT_MS 30000

/* --- hash tables (swarm_index.c) -------------------------------------------
 * Intrusive, chained, seeded: embed a struct swarm_hnode, hash the key
 * with swarm__hash(), walk the nodes of one hash with
 * swarm__htab_first/next and compare the keys. */
struct swarm_hnode {
    struct swarm_hnode *next;
    uint32_t hash;
};

struct swarm_htab {
    struct swarm_hnode **b;
    uint32_t nb, count;
    uint32_t seed;
};

void swarm__htab_init(struct swarm_htab *t);
void swarm__htab_cleanup(struct swarm_htab *t);
uint32_t swarm__hash(const struct swarm_htab *t, const void *p, size_t n);
struct swarm_hnode *swarm__htab_first(const struct swarm_htab *t,
                                      uint32_t hash);
struct swarm_hnode *swarm__htab_next(const struct swarm_hnode *n);
/* Errors: FASTN_ERR_NOMEM (nothing added). */
int swarm__htab_add(struct swarm_htab *t, struct swarm_hnode *n, uint32_t hash);
void swarm__htab_del(struct swarm_htab *t, struct swarm_hnode *n);

/* A peer with upgraded connections: they, and the one its streams use,
 * found by PeerID in sw->peers (swarm_index.c). */
struct swarm_peer {
    struct swarm_hnode node; /* first */
    struct peer_id id;
    struct swarm_conn *conns; /* ready, not closing; sc->pnext */
    struct swarm_conn *best;  /* the one streams use (swarm__conn_for) */
};

/* Inbound connections still upgrading from one source address (an IPv4
 * address, an IPv6 /64). */
struct swarm_addr {
    struct swarm_hnode node; /* first */
    uint8_t key[8];
    uint8_t len;
    uint32_t pending;
};

struct swarm_frame {
    struct swarm_frame *next;
    uint8_t data[SWARM_FRAME_SIZE];
};

struct swarm_listener {
    uv_tcp_t tcp;
    struct swarm *sw;
    struct multiaddr addr; /* as bound (the real port) */
    struct multiaddr want; /* as configured (the port may be 0) */
    bool wildcard;         /* 0.0.0.0 or :: */
    int family;            /* AF_INET or AF_INET6 */
};

struct swarm_conn {
    struct swarm *sw;
    struct swarm_conn *next, **pprev; /* sw->conns */
    uv_tcp_t tcp;
    uv_timer_t timer;
    int handles; /* open uv handles; freed when it drops to 0 */
    struct conn *c;
    bool inbound, ready, closing, draining, in_pump, reading;
    bool read_paused; /* ctl_pending went over SWARM_CTL_MAX */
    bool rx_any;      /* some byte was received */
    bool stalled;     /* a stream waits for room on this connection */
    struct swarm_conn *snext, **spprev; /* sw->stalled, under pressure */
    struct swarm_addr *addr; /* inbound, upgrading: its address's count */
    bool counted_in;         /* in sw->n_pending_in (and addr) */
    int fail_err;
    int fail_soon; /* a send failed: fail from the loop (see conn_fail_soon) */
    struct swarm_conn *fsnext, **fspprev; /* sw->failing */
    struct swarm_peer *pe;                /* ready: its peer */
    struct swarm_conn *pnext, **ppprev;   /* pe->conns */
    struct peer_id peer;                  /* the remote, once ready */
    struct peer_id expect;                /* dialer: the PeerID dialed */
    struct multiaddr remote, local;
    struct swarm_dial *dial; /* set while a dial waits on this attempt */
    uint64_t started_us, ready_us, idle_since_us;
    size_t write_pending; /* bytes handed to uv_write, not yet written */
    /* output waiting to be written, in order (swarm_conn.c) */
    struct out_chunk *oq_head, **oq_tail;
    size_t oq_bytes;
    size_t ctl_pending; /* control bytes among both, by whole chunks */
    size_t ctl_extra;   /* negotiation replies not yet in a chunk */
    unsigned oq_n;
    unsigned oq_unsealed;               /* frames in the queue not yet sealed */
    struct swarm_conn *fnext, **fpprev; /* on sw->flushes */
    struct swarm_stream *streams;
    uint32_t n_streams, n_user_streams;
    /* streams waiting to be opened on it, in order (swarm_stream.c) */
    struct swarm_stream *opens, **opens_tail;
    uint32_t n_opens;
    struct swarm_conn *onext, **opprev; /* sw->open_waits */
    struct buf spare; /* an empty output buffer with capacity, reused */
    /* learned by identify */
    char agent[128];
    size_t n_listen;
    struct multiaddr *listen; /* n_listen (at most SWARM_MAX_PEER_ADDRS) */
    char *protos; /* n_protos NUL-terminated ids, one after another */
    size_t n_protos;
    uint64_t rtt_us;
    /* relayed (swarm_relay.c): limited, as the relay said */
    bool limited;
    bool check_src;           /* inbound: the peer must be relay_src */
    struct peer_id relay_src; /* who the relay said connects */
    uint32_t limit_duration_s;
    uint64_t limit_data;
    /* hole punching (swarm_dcutr.c) */
    bool punch;           /* a DCUtR dial attempt */
    bool dcutr_tried;     /* relayed: an exchange ran or runs on it */
    uint8_t dcutr_served; /* dcutr streams the peer opened on it */
};

struct swarm_wait {
    struct swarm *sw;
    struct swarm_wait *next, **pprev; /* sw->waits */
    struct peer_id peer;
    swarm_connect_cb cb;
    void *arg;
    uv_timer_t *timer;
    int result;
    bool done;
    /* swarm_connect_exact: completed by its own dial only */
    struct swarm_dial *dial;
    bool exact;
    /* swarm_connect's: how the peer was found, when (swarm_wait_info) */
    enum swarm_found found;
    uint64_t start_ns;
    struct swarm_connect_info *info;
};

/* Attempts of one dial at once: direct (TCP) ones, and relayed ones
 * (a circuit's connection while it upgrades). */
#define SWARM_DIAL_PARALLEL 8
#define SWARM_DIAL_RELAYED 2
#define SWARM_DIAL_SLOTS (SWARM_DIAL_PARALLEL + SWARM_DIAL_RELAYED)

struct swarm_dial_slot {
    struct swarm_conn *sc; /* NULL: free */
    uint8_t addr;          /* its index in addrs */
    bool direct;           /* counted in sw->n_dial_direct */
};

struct swarm_dial {
    struct swarm *sw;
    struct swarm_dial *next, **pprev; /* sw->dials */
    struct peer_id peer;
    struct multiaddr addrs[SWARM_MAX_PEER_ADDRS * 2];
    bool started[SWARM_MAX_PEER_ADDRS * 2]; /* addrs[i] was tried */
    uint8_t hint[SWARM_MAX_PEER_ADDRS * 2]; /* addrs[i]'s enum dial_hint */
    size_t n;
    struct swarm_dial_slot slots[SWARM_DIAL_SLOTS];
    uint64_t next_direct_us, next_relay_us; /* the stagger (swarm_dial.c) */
    bool kick;                              /* sw->dial_timer: pump it */
    uv_getaddrinfo_t gai;
    bool resolving;
    uint8_t res_addr;   /* the address being resolved */
    uint8_t relay_addr; /* the circuit address of relay */
    uint8_t n_dnsaddr;  /* /dnsaddr names looked up: DNSADDR_LOOKUPS_MAX */
    int last_err;
    /* swarm_connect_exact: the dial tries only the addresses it was
     * given, joins no other dial, and tells this wait alone */
    struct swarm_wait *exact;
    struct swarm_relay_dial *relay; /* a hop CONNECT in flight */
};

enum swarm_stream_state {
    SS_WAIT_CONN,   /* outgoing: waiting for a connection */
    SS_NEGOTIATING, /* multistream-select on the stream */
    SS_OPEN,
    SS_DONE, /* CLOSED delivered or pending */
};

struct swarm_stream {
    struct swarm *sw;
    struct swarm_conn *sc;              /* NULL without a connection */
    struct swarm_stream *next, **pprev; /* sc->streams */
    enum swarm_stream_state state;
    uint32_t id;
    bool has_id, inbound, idle_exempt;
    bool local_fin, fin_pending, remote_fin, want_writable, owner_gone;
    bool finished, timeout_is_open;
    unsigned refs;
    swarm_stream_cb cb;
    void *arg;
    struct peer_id peer;
    struct mss *mss;
    char **protos; /* outgoing: proposals (owned) */
    size_t n_protos;
    char *protocol; /* agreed */
    struct buf q;   /* written, not yet in yamux: q.data[q_off..q.len) */
    size_t q_off;
    uint8_t *frame; /* fast-path buffer lent to the owner */
    /* swarm_stream_frames: the frames lent past frame (NULL: none), and
     * the room lent in each, frame's first */
    uint8_t *more[SWARM_STREAM_FRAMES - 1];
    size_t lent[SWARM_STREAM_FRAMES];
    unsigned n_lent;
    struct swarm_wait *wait;
    uv_timer_t *timer;
    int final_err;
    struct swarm_stream *dnext; /* sw->deferred */
    bool deferred;
    bool counted;                         /* in sw->n_in_streams */
    struct swarm_stream *onext, **opprev; /* sc->opens, while waiting */
};

struct swarm {
    uv_loop_t *loop;
    struct swarm_config cfg;
    struct multiaddr listen_cfg[SWARM_MAX_LISTEN];
    const struct identity *identity;
    struct noise_local local;
    uint8_t pubkey_proto[IDENTITY_PUBKEY_PROTO_LEN];
    struct swarm_listener *listeners[SWARM_MAX_LISTEN];
    size_t n_listeners;
    struct swarm_conn *conns;
    struct swarm_dial *dials;
    uv_timer_t dial_timer;      /* the dials' staggered starts (swarm_dial.c) */
    uint64_t dial_due_us;       /* when it fires; 0: stopped */
    struct dial_memo dial_memo; /* recent outcomes, to rank addresses by */
    uint32_t n_dial_direct;     /* direct attempts of all dials in flight */
    struct swarm_wait *waits;
    const struct swarm_stream_listener *sl;
    void *sl_arg;
    uv_idle_t idle;
    bool idle_on;
    uv_prepare_t prepare; /* flushes batched frames before the loop waits */
    struct swarm_conn *flushes;
    struct swarm_conn *open_waits; /* connections whose opens wait */
    struct swarm_stream *deferred, **deferred_tail;
    struct swarm_frame *pool;
    size_t n_pool;
    struct swarm_stats stats;
    uint32_t n_conns;          /* connections not closing */
    uint32_t n_pending_in;     /* inbound ones still upgrading */
    uint32_t n_in_streams;     /* inbound streams alive */
    struct swarm_htab addrs;   /* struct swarm_addr by source address */
    uint8_t *rx;               /* the shared receive buffer */
    struct swarm_rx *rx_buf;   /* rx's buffer (swarm_rx.c) */
    struct swarm_rx *rx_spare; /* the next ones when rx_buf is held */
    struct swarm_rx *rx_held_list;
    unsigned rx_held, rx_n_spare;
    size_t out_bytes;           /* output waiting in all connections */
    bool pressure;              /* out_bytes reached cfg.max_buffers */
    bool release_pending;       /* pressure ended: kick the stalled */
    struct swarm_conn *stalled; /* connections whose streams wait */
    bool closing;
    struct swarm_conn *failing; /* connections with fail_soon set */
    struct swarm_htab peers;    /* struct swarm_peer by PeerID */
    uint32_t n_ready, n_peers, n_streams;
    uv_timer_t trim_timer; /* gives freed memory back after many closes */
    uint32_t closed_since_trim;
    uv_timer_t push_timer; /* identify push after changes (coalesced) */
    bool push_pending;
    uint64_t push_first_us;    /* the first change not pushed yet */
    struct swarm_reach *reach; /* observed addresses, AutoNAT */
    struct swarm_relay *relay; /* circuit relay v2 */
    struct swarm_kad *kad;     /* Kademlia DHT */
};

/* swarm_rx.c: the shared receive buffer. init: NOMEM. before_read: a
 * held rx_buf is replaced by a spare for the next read. trim: frees the
 * spares but one when none is held. */
int swarm__rx_init(struct swarm *sw);
void swarm__rx_free(struct swarm *sw);
void swarm__rx_before_read(struct swarm *sw);
void swarm__rx_trim(struct swarm *sw);
/* swarm.c: malloc_trim and swarm__rx_trim a second from now. */
void swarm__trim_soon(struct swarm *sw);

/* swarm_index.c: the peer index */
struct swarm_peer *swarm__peer_find(const struct swarm *sw,
                                    const struct peer_id *id);
/* sc became ready: it joins its peer's connections. Errors: NOMEM. */
int swarm__peer_add(struct swarm_conn *sc);
/* sc is closing: it leaves them (nothing when it never joined). */
void swarm__peer_remove(struct swarm_conn *sc);
/* Something that decides the peer's best connection changed (draining). */
void swarm__peer_update(struct swarm_peer *pe);

/* swarm.c */
uint64_t swarm__now_us(void);
/* A connection was freed: memory may go back to the system soon. */
void swarm__closed(struct swarm *sw);
uint8_t *swarm__frame_get(struct swarm *sw);
void swarm__frame_put(struct swarm *sw, uint8_t *frame);
void swarm__defer(struct swarm_stream *st);
/* The connection streams to peer use (ready, not draining), or NULL. */
struct swarm_conn *swarm__conn_for(const struct swarm *sw,
                                   const struct peer_id *peer);
bool swarm__builtin_supports(const struct swarm *sw, const char *proto);
size_t swarm__protocols(struct swarm *sw, const char **names, size_t max);
/* The DHT found addresses of peer: its waits note the time. */
void swarm__waits_found(struct swarm *sw, const struct peer_id *peer);
void swarm__waits_complete(struct swarm *sw, const struct peer_id *peer,
                           int err);

/* swarm_conn.c */
struct swarm_conn *swarm__conn_new(struct swarm *sw, bool inbound,
                                   const struct peer_id *expect);
int swarm__conn_start(struct swarm_conn *sc);
void swarm__conn_flush(struct swarm_conn *sc);
/* Flushes sc before the loop next waits, or at once past a batch. */
void swarm__conn_flush_soon(struct swarm_conn *sc);
/* The swarm's uv_prepare: batched frames flushed, waiting opens retried,
 * before the loop waits for I/O. */
void swarm__on_prepare(uv_prepare_t *h);
/* Sends the conn's output then frame[0..len) (taking the frame). */
struct noise_job;
void swarm__conn_send_frame(struct swarm_conn *sc, uint8_t *frame, size_t len,
                            const struct noise_job *seal);
void swarm__conn_fail(struct swarm_conn *sc, int err);
/* A send failed inside a stream owner's call: the connection fails from
 * the loop, so that no CLOSED reaches the owner from inside its call. */
void swarm__conn_fail_soon(struct swarm_conn *sc, int err);
/* Whether the connection may carry more data now. */
bool swarm__conn_usable(const struct swarm_conn *sc);
void swarm__idle_start(struct swarm *sw);
void swarm__conn_close(struct swarm_conn *sc, int err);
/* Closes an inbound connection the daemon is too busy to take, cleanly
 * (what it sent is read first, so that the peer gets FIN, not RST). */
void swarm__conn_refuse(struct swarm_conn *sc);
void swarm__conn_update_timer(struct swarm_conn *sc);
bool swarm__conn_backlogged(const struct swarm_conn *sc);
/* Stream data the connection takes now before it is backlogged
 * (SIZE_MAX when the daemon's buffers are under their budget: the
 * per-connection mark then stops streams, one write past it). */
size_t swarm__conn_room(const struct swarm_conn *sc);
/* A stream on sc waits for room (WRITABLE): kick it when there is. */
void swarm__conn_stall(struct swarm_conn *sc);
/* Pressure ended: kick the streams of every stalled connection. */
void swarm__conns_release(struct swarm *sw);
/* Whether an inbound connection may start its handshake, under
 * max-connections, max-handshakes and max-handshakes-per-address (counting
 * it if so); false: refuse it (the daemon is busy; logged). */
bool swarm__handshake_admit(struct swarm_conn *sc);

/* swarm_dial.c */
int swarm__dial(struct swarm *sw, const struct peer_id *peer,
                const struct multiaddr *addrs, size_t n);
/* Dials exactly addrs for w (swarm_connect_exact): no other dial joins
 * it, nor it another, and its outcome completes w alone. Errors:
 * FASTN_ERR_NET_NO_ADDR (none usable), _NOMEM. */
int swarm__dial_exact(struct swarm *sw, struct swarm_wait *w,
                      const struct multiaddr *addrs, size_t n);
/* Completes a wait (from the loop); swarm_dial.c's exact dials use it. */
void swarm__wait_done(struct swarm_wait *w, int err);
/* An attempt sc of dial d finished: ready (err 0: it wins, the other
 * attempts are closed) or failed (the dial goes on, or fails when it was
 * the last). sc->dial was cleared by the caller. */
void swarm__dial_attempt_done(struct swarm_dial *d, struct swarm_conn *sc,
                              int err);
/* sc, the connection of d's circuit dial (d->relay_addr), becomes one of
 * its attempts. */
void swarm__dial_adopt(struct swarm_dial *d, struct swarm_conn *sc);
/* Dials start their addresses staggered, as go-libp2p's dial ranker does
 * for TCP: loopback and private addresses at once, then public and DNS
 * ones SWARM_DIAL_STAGGER_MS apart, circuit addresses
 * SWARM_DIAL_RELAY_DELAY_MS after the start when the dial has direct
 * ones (else at once) and SWARM_DIAL_STAGGER_MS apart, one hop CONNECT
 * at a time; when nothing is in flight the next address starts at once.
 * At most SWARM_DIAL_PARALLEL direct and SWARM_DIAL_RELAYED relayed
 * attempts per dial, SWARM_DIALS_DIRECT_MAX direct ones in all. */
#define SWARM_DIAL_STAGGER_MS 250
#define SWARM_DIAL_RELAY_DELAY_MS 500
#define SWARM_DIALS_DIRECT_MAX 64
/* A direct attempt whose TCP connect is not answered within this time
 * gives way (closes) when the dial has a circuit address: a peer that
 * holds relay reservations is likely behind a NAT that drops unsolicited
 * SYNs, and its direct addresses (stale ones from the address book,
 * private ones) would hold their slots for a handshake timeout. */
#define SWARM_DIAL_FALLBACK_MS 2000
/* Whether sc, a dial's direct attempt, has a circuit address beside it. */
bool swarm__dial_falls_back(const struct swarm_conn *sc);
/* How long a circuit attempt of d may take to open its hop stream: twice
 * SWARM_DIAL_FALLBACK_MS when d has other addresses to try or attempts
 * in flight (a relay that went silent gives way to the next), else the
 * handshake timeout. */
uint32_t swarm__dial_step_timeout(const struct swarm_dial *d);
/* Initializes sw->dial_timer on the loop. */
void swarm__dials_init(struct swarm *sw);
/* Ends every dial and closes sw->dial_timer. */
void swarm__dials_close(struct swarm *sw);
/* A direct connection to peer is up: its dials (not exact ones) end,
 * their attempts in flight closed; their waits were told already. */
void swarm__dials_cancel(struct swarm *sw, const struct peer_id *peer);

/* swarm_stream.c */
struct swarm_stream *swarm__stream_new(struct swarm *sw, bool inbound);
/* An incoming yamux stream on sc. */
void swarm__stream_incoming(struct swarm_conn *sc, uint32_t id);
/* Starts an outgoing stream on a ready connection; one the multiplexer
 * cannot open yet waits on the connection (retried by
 * swarm__opens_retry) within its open timeout. */
int swarm__stream_attach(struct swarm_stream *st, struct swarm_conn *sc);
/* Opens the streams that wait on connections, in order, while the
 * multiplexer lets it (from the loop, before it waits for I/O). */
void swarm__opens_retry(struct swarm *sw);
void swarm__stream_on_mux(struct swarm_stream *st,
                          const struct yamux_event *ev);
/* Ends a stream now: CLOSED(err) to its owner, unless gone. */
void swarm__stream_finish(struct swarm_stream *st, int err);
/* The send window or backlog changed: drain the queue, tell the owner. */
void swarm__stream_kick(struct swarm_stream *st);
/* Runs a stream's deferred end (from the swarm's idle handler). */
void swarm__stream_run_deferred(struct swarm_stream *st);
/* An incoming identify stream does not keep its connection busy. */
void swarm__stream_idle_exempt(struct swarm_stream *st);
/* A stream that carries one length-prefixed message each way (an AutoNAT
 * request, a RESERVE, a kad RPC): on a DATA event, takes all its bytes
 * (swarm_stream_consumed) and, unless done (the message came, or the
 * state wants no more), reads them with lp_reader_next(): 1 with *msg,
 * 0 (more to come, done, or not a DATA event), or its errors
 * (FASTN_ERR_TOO_LARGE over the reader's max, FASTN_ERR_MALFORMED, NOMEM;
 * the caller resets or answers as its protocol says). */
int swarm__stream_lp_data(struct swarm_stream *st,
                          const struct swarm_stream_event *ev,
                          struct lp_reader *lp, bool done, const uint8_t **msg,
                          size_t *len);
struct swarm_stream *swarm__stream_open_on(struct swarm_conn *sc,
                                           const char *proto,
                                           swarm_stream_cb cb, void *arg);

/* swarm_builtin.c */
/* Takes an incoming stream for a built-in protocol; false if not one. */
bool swarm__builtin_take(struct swarm_stream *st);
/* Runs identify on a connection that just became ready. */
void swarm__identify_start(struct swarm_conn *sc);
/* Sends our Identify over /ipfs/id/push/1.0.0 on sc. */
void swarm__identify_push(struct swarm_conn *sc);
/* Whether the peer's identify listed protocol (true while unknown). */
bool swarm__conn_may_serve(const struct swarm_conn *sc, const char *protocol);

/* swarm_reach.c: observed addresses and AutoNAT */
/* Errors: NOMEM. The timer is initialized on sw->loop. */
int swarm__reach_new(struct swarm *sw);
void swarm__reach_close(struct swarm *sw); /* closes the timer */
void swarm__reach_free(struct swarm *sw);
/* identify on sc said the peer sees us at obs (a raw multiaddr). */
void swarm__reach_observed(struct swarm_conn *sc, const uint8_t *obs,
                           size_t len);
/* identify on sc finished: the peer may be asked for a dial-back. */
void swarm__reach_identified(struct swarm_conn *sc);
/* Takes an incoming /libp2p/autonat/1.0.0 stream; false when not served. */
bool swarm__reach_take(struct swarm_stream *st);
bool swarm__reach_serves(const struct swarm *sw);
/* swarm_reach2.c: AutoNAT v2's dial-request (server) and dial-back
 * (client) streams; false when refused */
bool swarm__reach2_take(struct swarm_stream *st);
bool swarm__reach2_back_take(struct swarm_stream *st);
bool swarm__reach2_serves(const struct swarm *sw);
/* Our public addresses as far as known (AutoNAT's, confirmed observed
 * ones); returns how many were written. */
size_t swarm__reach_public(const struct swarm *sw, struct multiaddr *out,
                           size_t max);
/* The IP of sc's remote address into ip; returns 4, 16 or 0. */
size_t swarm__conn_remote_ip(const struct swarm_conn *sc, uint8_t ip[16]);

/* swarm_relay.c: circuit relay v2 */
int swarm__relay_new(struct swarm *sw); /* Errors: NOMEM */
void swarm__relay_close(struct swarm *sw);
void swarm__relay_free(struct swarm *sw);
/* Dials d's peer through the /p2p-circuit address ma: the outcome comes
 * as d's attempt (swarm__dial_attempt_done) or swarm__dial_relay_failed.
 * Errors (nothing started): UNSUPPORTED, NOMEM, stream open errors. */
int swarm__relay_dial(struct swarm_dial *d, const struct multiaddr *ma);
/* d is gone: the relay dial in flight tells nobody. */
void swarm__relay_dial_abandon(struct swarm_relay_dial *rd);
/* swarm_dial.c: the relay dial of d failed before a connection. */
void swarm__dial_relay_failed(struct swarm_dial *d, int err);
/* Whether protocol may run over a limited (relayed) connection: not the
 * bulk or address-sensitive built-ins (perf, AutoNAT, relay hop). */
bool swarm__limited_allows(const char *protocol);
/* Takes an incoming hop or stop stream; false when not served. */
bool swarm__relay_take(struct swarm_stream *st);
bool swarm__relay_serves(const struct swarm *sw);
/* Our circuit addresses through the reservations held. */
size_t swarm__relay_addrs(const struct swarm *sw, struct multiaddr *out,
                          size_t max);
/* The last connection to peer closed. */
void swarm__relay_peer_gone(struct swarm *sw, const struct peer_id *peer);
/* identify on sc finished: with no relays configured, a peer reached
 * directly that serves hop becomes a candidate relay (autorelay). */
void swarm__relay_identified(struct swarm_conn *sc);
/* AutoNAT's verdict changed: reservations may be wanted, or not. */
void swarm__relay_reach_changed(struct swarm *sw);
/* sc is a relay we hold a reservation on, or a peer we keep one for: no
 * idle timeout. */
bool swarm__relay_keep(const struct swarm_conn *sc);

/* swarm_kad.c: the Kademlia DHT */
int swarm__kad_new(struct swarm *sw); /* Errors: NOMEM */
void swarm__kad_close(struct swarm *sw);
void swarm__kad_free(struct swarm *sw);
/* identify on sc finished: a DHT server joins the routing table. */
void swarm__kad_identified(struct swarm_conn *sc);
/* Takes an incoming /ipfs/kad/1.0.0 stream; false when not served. */
bool swarm__kad_take(struct swarm_stream *st);
bool swarm__kad_serves(const struct swarm *sw);
/* No address of peer is known: the DHT looks for it, and its addresses
 * are dialed (the waits on peer complete either way). Errors:
 * FASTN_ERR_NET_NO_ADDR (no DHT, or no query could start). */
int swarm__kad_dial(struct swarm *sw, const struct peer_id *peer);
/* swarm_dcutr.c: DCUtR hole punching */
/* identify on sc finished: a relayed inbound connection starts DCUtR. */
void swarm__dcutr_identified(struct swarm_conn *sc);
/* Takes an incoming /libp2p/dcutr stream; false when not on a relayed
 * connection or one that had its exchange. */
bool swarm__dcutr_take(struct swarm_stream *st);

#endif
