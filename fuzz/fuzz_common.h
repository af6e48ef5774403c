/*
 * What the fuzz targets of the control protocol share: feeding the input
 * to a session as a client's bytes, split in two reads where its first
 * byte says, and checking the session's output. Failures abort, as a
 * fuzzer wants. Header-only: each target stays one program.
 */
#ifndef FASTN_FUZZ_COMMON_H
#define FASTN_FUZZ_COMMON_H

#include <stdint.h>
#include <stdlib.h>

#include "ipc/frame.h"
#include "ipc/ipc.h"

/* Feeds data to s in two reads (at t1, then t2), split at data[0] modulo
 * size + 1, so that frames are cut anywhere. */
static inline void fuzz_feed_split(struct ipc_session *s, const uint8_t *data,
                                   size_t size, uint64_t t1, uint64_t t2)
{
    size_t split = size ? data[0] % (size + 1) : 0;
    ipc_session_feed(s, data, split, t1);
    ipc_session_feed(s, data + split, size - split, t2);
}

/* Aborts unless s's output is whole frames, each a Response that decodes
 * and carries its type (field 1, always on the wire). */
static inline void fuzz_check_responses(const struct ipc_session *s)
{
    const uint8_t *body;
    size_t body_len, frame_len, off = 0;

    while (off < s->out.len &&
           ipc_frame_parse(s->out.data + off, s->out.len - off,
                           IPC_MAX_RESPONSE, &body, &body_len,
                           &frame_len) == 0) {
        P2pd__Pb__Response *r =
            p2pd__pb__response__unpack(NULL, body_len, body);
        if (!r || body_len < 2 || body[0] != 0x08)
            abort();
        p2pd__pb__response__free_unpacked(r, NULL);
        off += frame_len;
    }
    if (off != s->out.len)
        abort();
}

#endif
