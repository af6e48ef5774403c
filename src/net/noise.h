/*
 * libp2p Noise (`/noise`, libp2p/specs noise/README.md), sans-I/O:
 * Noise_XX_25519_ChaChaPoly_SHA256 with an empty prologue, every message
 * framed by a 2-byte big-endian length (at most 65535 bytes), the libp2p
 * handshake payload (Ed25519 identity key, its signature over
 * "noise-libp2p-static-key:" || the X25519 static key, and the
 * stream_muxers extension for early muxer negotiation,
 * connections/inlined-muxer-negotiation.md), then the transport phase.
 *
 * Driving it:
 *  1. Once per identity: noise_local_init() (static key, signed payload).
 *  2. Per connection: noise_conn_new(), then noise_start() (the initiator
 *     writes message 1 into out).
 *  3. Received bytes go into the connection's receive buffer, either
 *     copied with noise_feed() or read straight into it with
 *     noise_rx_space()/noise_rx_commit() (libuv's alloc_cb can return the
 *     space). Then call noise_handshake() until it returns NOISE_DONE,
 *     sending whatever it appended to out. The remote PeerID is checked
 *     against the expected one (when dialing) before message 3 is sent.
 *  4. Transport: noise_read() decrypts the next frame in place and lends
 *     its plaintext; noise_consume() says how much of it was used (the
 *     rest is returned again). Decrypted bytes are a stream: a frame of
 *     the protocol above may span Noise frames.
 *     Sending: noise_seal_frame() encrypts a caller's frame buffer in place
 *     (fast path, no copy), noise_write() encrypts any bytes into a buf.
 */
#ifndef FASTN_NET_NOISE_H
#define FASTN_NET_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "util/buf.h"

#define NOISE_PROTOCOL_ID "/noise"
/* One Noise message on the wire (without its length prefix). */
#define NOISE_MAX_MSG 65535
#define NOISE_TAG_LEN 16
#define NOISE_FRAME_HEAD 2
/* Most plaintext one transport frame carries. */
#define NOISE_MAX_PLAIN (NOISE_MAX_MSG - NOISE_TAG_LEN)
/* Largest frame on the wire, length prefix included. */
#define NOISE_FRAME_MAX (NOISE_FRAME_HEAD + NOISE_MAX_MSG)
/* Muxers offered in the handshake, and the longest name. */
#define NOISE_MAX_MUXERS 4
#define NOISE_MUXER_NAME_MAX 64
/* The largest the receive buffer grows to. */
#define NOISE_RX_MAX (1024 * 1024)

/* noise_handshake() result once the handshake is complete. */
#define NOISE_DONE 1

/* Our side, shared by every connection of one identity. */
struct noise_local {
    uint8_t static_priv[32];
    uint8_t static_pub[32];
    struct peer_id id;
    const char *muxers[NOISE_MAX_MUXERS]; /* borrowed */
    size_t n_muxers;
    size_t payload_len;
    uint8_t payload[512]; /* our encoded NoiseHandshakePayload */
};

/* A decoded NoiseHandshakePayload; spans point into the decoded bytes. */
struct noise_payload {
    const uint8_t *identity_key;
    size_t identity_key_len;
    const uint8_t *identity_sig;
    size_t identity_sig_len;
    bool has_extensions;
    size_t n_muxers; /* at most NOISE_MAX_MUXERS kept */
    const uint8_t *muxers[NOISE_MAX_MUXERS];
    size_t muxer_lens[NOISE_MAX_MUXERS];
};

struct noise_conn;

/* Makes a fresh static key and signs it with id. muxers (borrowed, may be
 * empty) are offered in the handshake, most preferred first; with none,
 * the muxer is left to multistream-select. Errors: FASTN_ERR_INVAL (too
 * many or too long names), FASTN_ERR_CRYPTO. */
int noise_local_init(struct noise_local *l, const struct identity *id,
                     const char *const *muxers, size_t n_muxers);
/* Same with a given static private key (tests). */
int noise_local_init_static(struct noise_local *l, const struct identity *id,
                            const uint8_t static_priv[32],
                            const char *const *muxers, size_t n_muxers);
/* Wipes the static key. */
void noise_local_cleanup(struct noise_local *l);

/* A connection as initiator (dialer) or responder. expect (dialer, may be
 * NULL) is the PeerID that was dialed. local must outlive it. Returns
 * NULL when out of memory. */
struct noise_conn *noise_conn_new(const struct noise_local *local,
                                  bool initiator, const struct peer_id *expect);
/* Wipes and frees; NULL does nothing. */
void noise_conn_free(struct noise_conn *c);
/* Fixes the ephemeral key (tests). */
void noise_conn_set_ephemeral(struct noise_conn *c, const uint8_t e_priv[32]);

/* Initiator: appends message 1 to out. Responder: nothing. Errors:
 * FASTN_ERR_INVAL (called twice), TOO_LARGE/NOMEM from out. */
int noise_start(struct noise_conn *c, struct buf *out);

/* Copies received bytes into the receive buffer; returns how many were
 * taken (all, unless the buffer is full of unread frames: read them and
 * feed the rest) or FASTN_ERR_NOMEM. */
int noise_feed(struct noise_conn *c, const uint8_t *p, size_t n);
/* Zero-copy receive: *p and *room give free space of at least want bytes (or
 * as much as the buffer allows) to read into; then noise_rx_commit() with
 * the number of bytes read. Invalidates lent plaintext. Errors: NOMEM. */
int noise_rx_space(struct noise_conn *c, size_t want, uint8_t **p,
                   size_t *room);
void noise_rx_commit(struct noise_conn *c, size_t n);
/* Receiving through a buffer the caller lends (the swarm's one read
 * buffer, shared by all its connections), so that a connection with
 * nothing pending holds no receive buffer at all:
 * noise_rx_lend() moves what is still unprocessed (at most a partial
 * frame, NOISE_FRAME_MAX bytes, when used this way) to the front of buf
 * and frees the connection's own buffer; *p and *room give the space
 * after it to read into (then noise_rx_commit(), noise_handshake(),
 * noise_read() as usual). noise_rx_unlend(), once everything readable
 * was processed, copies what is left into a buffer of the connection's
 * own exactly that size (none when nothing is left) and gives buf back;
 * it must be called before any other receive call. Errors: lend:
 * FASTN_ERR_TOO_LARGE (more is pending than cap holds; nothing done),
 * FASTN_ERR_INVAL (already lent); unlend: FASTN_ERR_NOMEM (the
 * connection is unusable then). */
int noise_rx_lend(struct noise_conn *c, uint8_t *buf, size_t cap, uint8_t **p,
                  size_t *room);
int noise_rx_unlend(struct noise_conn *c);
/* Capacity of the connection's own receive buffer (0 when it has none). */
size_t noise_rx_capacity(const struct noise_conn *c);

/* Processes buffered handshake messages, appending our replies to out.
 * Returns NOISE_DONE when the handshake is complete (bytes after it stay
 * buffered for noise_read()), 0 when more input is needed, or an error:
 * FASTN_ERR_NET_HANDSHAKE (a malformed, forged or badly signed message, an
 * identity key that is not Ed25519, no muxer in common),
 * FASTN_ERR_NET_WRONG_PEER (dialer: not the PeerID dialed). After an error
 * the connection is dead: close it. */
int noise_handshake(struct noise_conn *c, struct buf *out);

bool noise_is_established(const struct noise_conn *c);
/* The remote PeerID, once the handshake is complete (else NULL). */
const struct peer_id *noise_remote_peer(const struct noise_conn *c);
/* The muxer agreed in the handshake (one of local's names), or NULL when
 * it must be negotiated with multistream-select over the secure channel. */
const char *noise_early_muxer(const struct noise_conn *c);

/* Lends the next decrypted plaintext: returns 1 and sets *p and *n (valid
 * until the next noise_read, noise_feed or noise_rx_space call), 0 when no
 * complete frame is buffered, or FASTN_ERR_NET_DECRYPT (a corrupted or
 * forged frame: the connection is dead), FASTN_ERR_INVAL (handshake not
 * done). The same bytes are lent again until noise_consume() uses them. */
int noise_read(struct noise_conn *c, uint8_t **p, size_t *n);
/* Marks n bytes of the lent plaintext as used. */
void noise_consume(struct noise_conn *c, size_t n);
/* Bytes received but not yet decrypted or consumed. */
size_t noise_rx_pending(const struct noise_conn *c);

/* Encrypts in place one transport frame: frame[0..2) receives the length,
 * frame[2..2+n) holds the plaintext, frame[2+n..2+n+16) receives the tag.
 * Returns the frame's wire length (n + 18). Errors: FASTN_ERR_INVAL
 * (n > NOISE_MAX_PLAIN or handshake not done), FASTN_ERR_CRYPTO (nonce
 * space exhausted). */
int noise_seal_frame(struct noise_conn *c, uint8_t *frame, size_t n);
/* As noise_seal_frame of frame[2..2+head) followed by src's n bytes,
 * which are encrypted straight into frame[2+head..) (not copied first:
 * the encryption is the copy, where the cipher takes its message in
 * pieces). Returns the frame's wire length (head + n + 18). Errors: as
 * noise_seal_frame (head + n > NOISE_MAX_PLAIN is FASTN_ERR_INVAL). */
int noise_seal_frame_from(struct noise_conn *c, uint8_t *frame, size_t head,
                          const uint8_t *src, size_t n);
/* As noise_seal_frame, but only writes the length and takes the frame's
 * nonce: *job (net/noise_pool.h) seals it later, on any thread, with
 * noise_pool_run(). Frames taken this way must be sealed before they are
 * sent, and sent in the order taken, among the others. */
struct noise_job;
int noise_seal_frame_later(struct noise_conn *c, uint8_t *frame, size_t n,
                           struct noise_job *job);
/* Encrypts n bytes into out as as many frames as needed. Errors: as
 * noise_seal_frame, TOO_LARGE/NOMEM from out. */
int noise_write(struct noise_conn *c, const uint8_t *p, size_t n,
                struct buf *out);

/* Decodes a NoiseHandshakePayload protobuf (unknown fields skipped).
 * Errors: FASTN_ERR_MALFORMED. */
int noise_payload_decode(const uint8_t *p, size_t n, struct noise_payload *out);

#endif
