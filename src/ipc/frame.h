/*
 * Control-socket framing: every message is a protobuf preceded by its
 * length as an unsigned varint (go-libp2p-daemon specs/CONTROL.md, "All
 * messages are varint-delimited").
 *
 * Sans-I/O and shared by the daemon and libfastn: ipc_frame_parse() finds
 * one frame at the start of received bytes without copying, and
 * ipc_frame_append() encodes a protobuf message with its length prefix.
 * Each reader states the largest frame it accepts, so a hostile length
 * prefix is refused before any memory is set aside for it.
 */
#ifndef FASTN_IPC_FRAME_H
#define FASTN_IPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "util/buf.h"

/* Largest request the daemon accepts from a client. */
#define IPC_MAX_REQUEST (1u << 20)
/* Largest response libfastn accepts from the daemon. */
#define IPC_MAX_RESPONSE (4u << 20)
/* Longest varint length prefix we ever need (a 64-bit value). */
#define IPC_MAX_PREFIX 10

/* Looks for one complete frame at the start of p[0..n). On success sets
 * *body and *body_len to the message bytes (borrowed from p) and *frame_len to
 * the bytes the frame occupies, prefix included. Errors:
 *   FASTN_ERR_AGAIN      more bytes are needed (nothing is set);
 *   FASTN_ERR_TOO_LARGE  the prefix declares more than max bytes (known as
 *                        soon as the prefix is complete);
 *   FASTN_ERR_MALFORMED  the prefix is not a valid varint. */
int ipc_frame_parse(const uint8_t *p, size_t n, size_t max,
                    const uint8_t **body, size_t *body_len, size_t *frame_len);

/* Encodes msg with its varint length prefix at the end of out. Errors:
 * FASTN_ERR_TOO_LARGE (out's maximum would be passed; out is unchanged),
 * FASTN_ERR_NOMEM. */
int ipc_frame_append(struct buf *out, const ProtobufCMessage *msg);

#endif
