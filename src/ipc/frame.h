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

#include "ipc/p2pd.pb-c.h"
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

/* A call answer whose result (fastn.call_result) is at least this large
 * goes out without a copy: its frame's head is encoded apart and written
 * with the result's bytes where they are (see session.c). */
#define IPC_FRAME_DIRECT_MIN (16u << 10)
/* Room for any head ipc_frame_result_head() encodes; a Response whose
 * other fields need more is refused. */
#define IPC_FRAME_HEAD_MAX 256

/* Encodes the start of resp's frame, up to its fastn.call_result bytes:
 * the length prefix, the Response's fields before fastn, fastn's tag and
 * length, its fields before call_result, call_result's tag and length.
 * head[0..*head_len) followed by the result's bytes is exactly the frame
 * ipc_frame_append() makes of resp. Errors: FASTN_ERR_UNSUPPORTED (no
 * call_result, a field after it or an unknown field set, or a head of
 * more than cap bytes): append the frame whole. */
int ipc_frame_result_head(const P2pd__Pb__Response *resp, uint8_t *head,
                          size_t cap, size_t *head_len);

/* Finds the result of a plain call answer in the first avail bytes of a
 * Response body of body_len bytes (avail <= body_len): a Response of type
 * OK (field 1) whose other field is fastn (100), itself holding its version
 * (1) and then call_result (51), each once, in that order, the result
 * ending the body. On success *off is where the result's bytes begin in
 * the body and *len their number (*off + *len == body_len). Errors:
 *   FASTN_ERR_AGAIN        more than avail bytes are needed to tell;
 *   FASTN_ERR_UNSUPPORTED  another shape (other fields, order, wire types,
 *                          10-byte varints): decode it with protobuf-c;
 *   FASTN_ERR_MALFORMED    not protobuf: a varint or a length runs past
 *                          the end of the body. */
int ipc_frame_find_result(const uint8_t *p, size_t avail, size_t body_len,
                          size_t *off, size_t *len);

#endif
