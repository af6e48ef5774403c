/*
 * Ping (`/ipfs/ping/1.0.0`, libp2p/specs ping/ping.md): the dialer sends
 * 32 random bytes, the listener echoes them, the dialer measures the
 * round trip; repeated on one stream until the dialer closes. The
 * randomness and the time are passed in.
 */
#ifndef FASTN_NET_PING_H
#define FASTN_NET_PING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define PING_PROTOCOL_ID "/ipfs/ping/1.0.0"
#define PING_SIZE 32

struct ping_client {
    uint8_t sent[PING_SIZE];
    uint8_t got[PING_SIZE];
    size_t have;
    uint64_t sent_at;
    bool waiting;
};

struct ping_server {
    uint8_t buf[PING_SIZE];
    size_t have;
};

void ping_client_init(struct ping_client *pc);
/* Starts a ping with the given random bytes: copies them to out (to be
 * written to the stream). Errors: FASTN_ERR_BUSY (one is in flight). */
int ping_client_send(struct ping_client *pc, const uint8_t random[PING_SIZE],
                     uint64_t now, uint8_t out[PING_SIZE]);
/* Consumes the echo: returns 1 with *rtt when the 32 bytes came back
 * (*used bytes taken), 0 when more are needed, or FASTN_ERR_MALFORMED (the
 * echo differs), FASTN_ERR_INVAL (bytes with no ping in flight). */
int ping_client_feed(struct ping_client *pc, const uint8_t *p, size_t n,
                     size_t *used, uint64_t now, uint64_t *rtt);

void ping_server_init(struct ping_server *ps);
/* Echoes every complete 32-byte ping into out; keeps a partial one.
 * Returns how many pings were answered, or an error from out. */
int ping_server_feed(struct ping_server *ps, const uint8_t *p, size_t n,
                     struct buf *out);
/* True when the stream may end here (no partial ping). */
bool ping_server_idle(const struct ping_server *ps);

#endif
