/*
 * One libp2p connection over a byte stream (TCP), sans-I/O: the upgrade
 * pipeline multistream-select -> /noise -> (early muxer, or
 * multistream-select over the secure channel) -> /yamux/1.0.0, and then
 * the yamux session. It composes the mss, noise and yamux cores so the
 * swarm only moves bytes and routes streams.
 *
 * Driving it (the swarm's read/write loop):
 *  - conn_new(), conn_start().
 *  - Bytes read from the socket: into conn_rx_space()/conn_rx_commit()
 *    (zero copy) or conn_feed(); then call conn_poll() until it returns
 *    0. Events: CONN_EV_READY once (the remote PeerID is known and
 *    streams may be opened), then CONN_EV_STREAM carrying yamux events.
 *    Data events lend spans valid until the next conn call.
 *  - After every call into the conn or its yamux session, send
 *    conn_output() (or take it with conn_take_output()) before anything
 *    else: it holds the handshake, the encrypted control frames and data
 *    written with yamux_stream_write(), in order.
 *  - Fast path for stream data: read the data into a frame buffer at
 *    offset CONN_FRAME_HEAD, leave CONN_FRAME_TAIL bytes after it, and
 *    call conn_stream_send_frame(): it writes the yamux and Noise headers
 *    and encrypts in place. Send the conn's output first, then the frame.
 *  - Timers: conn_tick() at conn_next_deadline().
 *  - Any error from conn_poll() or conn_tick() ends the connection: send
 *    the pending output (it may say why) and close the socket. The swarm
 *    should also bound the upgrade with its own timeout.
 */
#ifndef FASTN_NET_CONN_H
#define FASTN_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/noise.h"
#include "net/yamux.h"
#include "util/buf.h"

/* Layout of a frame buffer for conn_stream_send_frame(). */
#define CONN_FRAME_HEAD (NOISE_FRAME_HEAD + YAMUX_HEADER_LEN)
#define CONN_FRAME_TAIL NOISE_TAG_LEN
#define CONN_FRAME_MAX_DATA (NOISE_MAX_PLAIN - YAMUX_HEADER_LEN)
/* Bytes received before the secure channel is set up, at most. */
#define CONN_RAW_MAX 4096

struct conn_config {
    bool dialer;
    const struct noise_local *local; /* must outlive the conn */
    const struct peer_id *expect;    /* dialer: PeerID dialed, or NULL */
    struct yamux_config yamux;       /* .client is set from dialer */
};

enum conn_event_type {
    CONN_EV_READY = 1, /* upgraded: conn_remote_peer() is known */
    CONN_EV_STREAM,    /* a yamux event, in .mux */
};

struct conn_event {
    enum conn_event_type type;
    struct yamux_event mux;
};

struct conn;

/* Defaults for cfg: yamux defaults, no expected peer. */
void conn_config_default(struct conn_config *cfg, bool dialer,
                         const struct noise_local *local);

/* NULL when out of memory. */
struct conn *conn_new(const struct conn_config *cfg, uint64_t now);
void conn_free(struct conn *c);
/* Queues the opening multistream-select messages. Errors: INVAL (twice),
 * NOMEM. */
int conn_start(struct conn *c);

/* Copies received bytes in; returns how many were taken (poll, then feed
 * the rest) or an error. */
int conn_feed(struct conn *c, const uint8_t *p, size_t n);
/* Zero-copy receive: free space to read into (see noise_rx_space), then
 * conn_rx_commit() with the count read. */
int conn_rx_space(struct conn *c, size_t want, uint8_t **p, size_t *room);
void conn_rx_commit(struct conn *c, size_t n);
/* Receiving through a buffer lent for one read (see noise_rx_lend): *p
 * and *room are where to read; after conn_rx_commit() and conn_poll() up
 * to 0 (or an error), conn_rx_unlend() gives buf back, keeping in a
 * buffer of the conn's own only what is left (a partial frame). Before
 * the secure channel the conn's small negotiation buffer is used and buf
 * is not. Errors: as noise_rx_lend / noise_rx_unlend. */
int conn_rx_lend(struct conn *c, uint8_t *buf, size_t cap, uint8_t **p,
                 size_t *room);
int conn_rx_unlend(struct conn *c);
/* Bytes of receive buffer the conn holds of its own. */
size_t conn_rx_capacity(const struct conn *c);

/* Runs the pipeline over what was received: returns 1 with *ev, 0 when
 * nothing more can be done until more bytes arrive, or an error that ends
 * the connection: FASTN_ERR_NET_NEGOTIATION, FASTN_ERR_NET_PROTO_NA (no
 * common security protocol or muxer), FASTN_ERR_NET_HANDSHAKE,
 * FASTN_ERR_NET_WRONG_PEER, FASTN_ERR_NET_DECRYPT, FASTN_ERR_NET_MUX,
 * FASTN_ERR_NET_WINDOW, FASTN_ERR_TOO_LARGE, FASTN_ERR_NOMEM. */
int conn_poll(struct conn *c, struct conn_event *ev, uint64_t now);

/* The bytes to send, in order (seals pending yamux frames first). Errors:
 * FASTN_ERR_CRYPTO, NOMEM. */
int conn_output(struct conn *c, const uint8_t **p, size_t *n);
void conn_output_consume(struct conn *c, size_t n);
/* How many bytes of that output carry yamux control frames (answers and
 * refusals the peer's input asked for, window updates...) rather than
 * stream data; reset when the output is taken. */
size_t conn_output_control(const struct conn *c);
/* Moves the bytes to send into out (swapping buffers when out is empty,
 * so large writes are not copied). Errors as conn_output. */
int conn_take_output(struct conn *c, struct buf *out);

bool conn_is_ready(const struct conn *c);
const struct peer_id *conn_remote_peer(const struct conn *c);
/* The yamux session once ready (else NULL), for opening, writing,
 * closing, resetting streams and consuming data. */
struct yamux_session *conn_mux(struct conn *c);

/* Fast path: frame[CONN_FRAME_HEAD .. +len) holds data for stream id,
 * with CONN_FRAME_TAIL bytes of room after it; len <= CONN_FRAME_MAX_DATA.
 * Writes the headers, encrypts in place, and returns the number of bytes
 * of frame to send (after the conn's pending output). Errors: as
 * yamux_stream_data_header, FASTN_ERR_INVAL (not ready, len too large),
 * FASTN_ERR_CRYPTO. */
int conn_stream_send_frame(struct conn *c, uint32_t id, uint8_t *frame,
                           size_t len);
/* As conn_stream_send_frame, but the len bytes of data come from p (the
 * caller's, which may change once this returns) and are encrypted from
 * there into the frame: the frame needs only CONN_FRAME_HEAD + len +
 * CONN_FRAME_TAIL bytes, and the data is not copied first. Errors: as
 * conn_stream_send_frame. */
int conn_stream_send_from(struct conn *c, uint32_t id, uint8_t *frame,
                          const uint8_t *p, size_t len);
/* The same, but the encryption is left to *job (noise_seal_frame_later):
 * run it with noise_pool_run(), with others, before the frame is sent;
 * the conn must outlive the job (the key is read). */
int conn_stream_frame_later(struct conn *c, uint32_t id, uint8_t *frame,
                            size_t len, struct noise_job *job);

/* Keepalive and liveness (yamux); errors as yamux_tick. */
int conn_tick(struct conn *c, uint64_t now);
uint64_t conn_next_deadline(const struct conn *c);
/* Changes the yamux keepalive and ping timeout, before or after the
 * session exists (see yamux_set_liveness). */
void conn_set_liveness(struct conn *c, uint64_t keepalive_us,
                       uint64_t ping_timeout_us);

#endif
