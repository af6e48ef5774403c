/*
 * yamux (`/yamux/1.0.0`; hashicorp/yamux spec.md, libp2p/specs
 * yamux/README.md), sans-I/O: a session multiplexes streams over one
 * secure byte stream.
 *
 * Frames: a 12-byte big-endian header (version 0, type, flags, stream id,
 * length). Data frames carry length bytes; window updates add length to
 * the stream's send window; pings echo an opaque value; go-away carries
 * an error code. SYN opens a stream, ACK accepts it, FIN half-closes,
 * RST resets. The dialer of the connection uses odd stream ids, the
 * listener even ones. Each stream starts with a 256 KiB window in both
 * directions; only data counts against it.
 *
 * Driving it:
 *  - Received plaintext goes to yamux_feed(), which returns one event at a
 *    time (with how many bytes it used). Call it until it returns 0; data
 *    events lend spans of the input. When the data has been handed on
 *    (written to a client), call yamux_stream_consumed(): that is what
 *    reopens the peer's window (backpressure), and what grows it when it
 *    is consumed quickly (auto-tuning up to max_window, as go-yamux does).
 *  - Control frames (window updates, acks, pings, go-away, FIN, RST, SYN)
 *    and data written with yamux_stream_write() accumulate in the
 *    session's output: send yamux_output(), then yamux_output_consume().
 *    For the zero-copy path, yamux_stream_data_header() writes just the
 *    header of a data frame into the caller's buffer, right before the
 *    data; the caller must send the session's pending output first, so
 *    that a SYN precedes the data of its stream and a FIN follows it.
 *  - Time is passed in (microseconds, any monotonic origin). yamux_tick()
 *    sends keepalive pings and reports a dead connection;
 *    yamux_next_deadline() says when to call it next.
 * After any error return from yamux_feed() or yamux_tick() the session is
 * dead: send its output (a go-away explaining why) and close the
 * connection.
 */
#ifndef FASTN_NET_YAMUX_H
#define FASTN_NET_YAMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define YAMUX_PROTOCOL_ID "/yamux/1.0.0"
#define YAMUX_HEADER_LEN 12
#define YAMUX_INITIAL_WINDOW (256 * 1024)

enum yamux_type {
    YAMUX_TYPE_DATA = 0,
    YAMUX_TYPE_WINDOW = 1,
    YAMUX_TYPE_PING = 2,
    YAMUX_TYPE_GOAWAY = 3,
};

enum yamux_flag {
    YAMUX_SYN = 1,
    YAMUX_ACK = 2,
    YAMUX_FIN = 4,
    YAMUX_RST = 8,
};

enum yamux_goaway {
    YAMUX_GOAWAY_NORMAL = 0,
    YAMUX_GOAWAY_PROTOCOL = 1,
    YAMUX_GOAWAY_INTERNAL = 2,
};

struct yamux_config {
    bool client;              /* this side dialed the connection: odd ids */
    uint32_t max_streams;     /* streams open at once, both directions */
    uint32_t max_window;      /* receive window auto-tuning limit */
    uint32_t ack_backlog;     /* unacknowledged streams, each direction */
    uint64_t keepalive_us;    /* ping after this long without input; 0 = no */
    uint64_t ping_timeout_us; /* a ping unanswered this long: dead */
    size_t max_output;        /* bytes yamux_stream_write() may queue */
};

enum yamux_event_type {
    /* The remote opened stream_id. Accept it (yamux_stream_accept, or
     * just write to it) or refuse it (yamux_stream_reset). */
    YAMUX_EV_STREAM_OPEN = 1,
    /* data/len arrived on stream_id; call yamux_stream_consumed() when
     * the bytes have been handed on. */
    YAMUX_EV_DATA,
    /* The remote half-closed stream_id: no more data will come. */
    YAMUX_EV_FIN,
    /* The remote reset (or refused) stream_id; the stream is gone. */
    YAMUX_EV_RESET,
    /* Both directions of stream_id are closed; the stream is gone. */
    YAMUX_EV_CLOSED,
    /* The send window of stream_id grew: write more. */
    YAMUX_EV_WRITABLE,
    /* A ping we sent was answered after rtt_us. */
    YAMUX_EV_PING_RTT,
    /* The remote opens no more streams (code: enum yamux_goaway). */
    YAMUX_EV_GOAWAY,
};

struct yamux_event {
    enum yamux_event_type type;
    uint32_t stream_id;
    void *user; /* the stream's user pointer (NULL for a new stream) */
    const uint8_t *data;
    size_t len;
    uint32_t code;
    uint64_t rtt_us;
};

struct yamux_session;

/* Defaults: 1024 streams, 16 MiB max window, backlog 256, keepalive
 * after 30 s idle, 15 s ping timeout, 8 MiB of queued writes. */
void yamux_config_default(struct yamux_config *cfg, bool client);

/* A new session; queues a first ping to measure the round-trip time (it
 * drives window auto-tuning). Returns NULL when out of memory or cfg is
 * unusable. */
struct yamux_session *yamux_new(const struct yamux_config *cfg, uint64_t now);
/* Frees the session and its streams; NULL does nothing. */
void yamux_free(struct yamux_session *s);

/* Consumes received bytes: returns 1 with *ev filled (*used bytes taken;
 * call again with the rest, even if none is left), 0 when all n bytes were
 * used and nothing more happened, or an error that ends the session:
 * FASTN_ERR_NET_MUX (bad version or type, unknown stream, flags or ids
 * that break the protocol, data after FIN), FASTN_ERR_NET_WINDOW (data
 * beyond the window), FASTN_ERR_TOO_LARGE (the peer makes us queue
 * replies faster than the output is taken: over 64 KiB of control frames,
 * such as refusals of streams). Pings are answered, at most 4 until the
 * output is taken; further ones are dropped. Data spans point into p. */
int yamux_feed(struct yamux_session *s, const uint8_t *p, size_t n,
               size_t *used, struct yamux_event *ev, uint64_t now);

/* Opens a stream; *id gets its id. Errors: FASTN_ERR_NET_GOAWAY (either
 * side sent go-away), FASTN_ERR_NET_STREAM_LIMIT (too many streams or ids
 * used up), FASTN_ERR_AGAIN (too many streams the peer has not yet
 * acknowledged), FASTN_ERR_CLOSED (the session failed). */
int yamux_stream_open(struct yamux_session *s, void *user, uint32_t *id);
/* Acknowledges an incoming stream now (otherwise the first frame we send
 * on it does). Errors: FASTN_ERR_NOT_FOUND. */
int yamux_stream_accept(struct yamux_session *s, uint32_t id, void *user);
int yamux_stream_set_user(struct yamux_session *s, uint32_t id, void *user);
void *yamux_stream_user(struct yamux_session *s, uint32_t id);
/* How many bytes may be sent now (0 when the window is closed, the
 * stream is write-closed or unknown). */
uint32_t yamux_stream_send_window(struct yamux_session *s, uint32_t id);
/* Writes the header of a data frame of len bytes into hdr and takes len
 * from the send window. FIN is never set here: js-libp2p's yamux (8.x)
 * handles a FIN before the data of its frame and drops that data, so end
 * a stream with yamux_stream_close() after the last data frame. Errors:
 * FASTN_ERR_NOT_FOUND, FASTN_ERR_CLOSED (already half-closed by us),
 * FASTN_ERR_AGAIN (len is more than the send window). */
int yamux_stream_data_header(struct yamux_session *s, uint32_t id, size_t len,
                             uint8_t hdr[YAMUX_HEADER_LEN]);
/* Queues a data frame with a copy of p[0..n) in the output. Returns the
 * number of bytes taken (limited by the send window and max_output; 0
 * when none fit) or an error as yamux_stream_data_header. */
int yamux_stream_write(struct yamux_session *s, uint32_t id, const uint8_t *p,
                       size_t n);
/* Half-closes our direction (FIN). When the remote has closed its own,
 * the stream is gone. Errors: NOT_FOUND, CLOSED (already closed). */
int yamux_stream_close(struct yamux_session *s, uint32_t id);
/* Resets the stream (RST); it is gone. Events already queued for it
 * (a CLOSED behind the FIN being handled) come with a NULL user, also
 * when it was gone already (NOT_FOUND). Errors: NOT_FOUND. */
int yamux_stream_reset(struct yamux_session *s, uint32_t id);
/* n bytes of received data were handed on: may queue a window update,
 * growing the window up to max_window when the peer fills it within a few
 * round trips. Unknown streams are ignored. */
void yamux_stream_consumed(struct yamux_session *s, uint32_t id, size_t n,
                           uint64_t now);
/* The current receive window size of a stream (0 if unknown). */
uint32_t yamux_stream_recv_window(struct yamux_session *s, uint32_t id);
uint32_t yamux_stream_count(const struct yamux_session *s);

/* Queues a ping; its answer comes back as YAMUX_EV_PING_RTT. Errors:
 * FASTN_ERR_BUSY (one is already outstanding), CLOSED. */
int yamux_ping(struct yamux_session *s, uint64_t now);
/* The last measured round-trip time (0 before the first answer). */
uint64_t yamux_rtt(const struct yamux_session *s);
/* Queues go-away: no more streams will be accepted. */
int yamux_go_away(struct yamux_session *s, enum yamux_goaway code);
bool yamux_remote_went_away(const struct yamux_session *s);

/* Sends keepalive pings and checks liveness. Errors: FASTN_ERR_NET_DEAD
 * (a ping went unanswered for ping_timeout_us). */
int yamux_tick(struct yamux_session *s, uint64_t now);
/* When yamux_tick() needs to run next (UINT64_MAX: never). */
uint64_t yamux_next_deadline(const struct yamux_session *s);
/* Changes keepalive_us and ping_timeout_us of a running session (0: no
 * keepalive / no timeout); they count from the last input and the ping
 * in flight, so the next yamux_tick() may act at once. */
void yamux_set_liveness(struct yamux_session *s, uint64_t keepalive_us,
                        uint64_t ping_timeout_us);

/* The frames waiting to be sent, in order. */
const uint8_t *yamux_output(const struct yamux_session *s, size_t *n);
/* How many of those bytes are control frames (everything but data
 * frames): what the swarm counts as output the peer made us queue. */
size_t yamux_output_control(const struct yamux_session *s);
/* Drops the first n bytes of the output (they were sent). Once it is
 * empty, ping answers may be queued again and a large buffer is freed. */
void yamux_output_consume(struct yamux_session *s, size_t n);

#endif
