/*
 * Length-prefixed messages (a uvarint length, then that many bytes), as
 * identify and many libp2p protocols frame protobufs on a stream. The
 * reader assembles one message from pieces, bounded by a maximum size.
 */
#ifndef FASTN_NET_LP_H
#define FASTN_NET_LP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct lp_reader {
    struct buf msg;
    size_t max;
    size_t want; /* message length, once known */
    bool have_len;
    uint8_t len[10]; /* the uvarint so far */
    size_t len_have;
};

void lp_reader_init(struct lp_reader *r, size_t max);
void lp_reader_cleanup(struct lp_reader *r);
/* Consumes bytes up to the end of one message: returns 1 when a message is
 * complete (lp_reader_msg() lends it; *used bytes were taken), 0 when all
 * n bytes were taken and more are needed, or FASTN_ERR_TOO_LARGE (longer
 * than max), FASTN_ERR_MALFORMED (a bad length), FASTN_ERR_NOMEM. */
int lp_reader_feed(struct lp_reader *r, const uint8_t *p, size_t n,
                   size_t *used);
/* The complete message (valid until the next feed). */
const uint8_t *lp_reader_msg(const struct lp_reader *r, size_t *n);
/* One step of reading messages from a stream, as every protocol here
 * does (identify, AutoNAT v1 and v2, the relay, kad, DCUtR; each with its
 * own max): lp_reader_feed(), and when it returns 1 the message in *msg
 * and *len (as lp_reader_msg()); else *msg is NULL and *len 0. */
int lp_reader_next(struct lp_reader *r, const uint8_t *p, size_t n,
                   size_t *used, const uint8_t **msg, size_t *len);
/* True between messages (a clean place for the stream to end). */
bool lp_reader_idle(const struct lp_reader *r);

/* Appends uvarint(n) and the n bytes. Errors from buf. */
int lp_write(struct buf *out, const uint8_t *p, size_t n);

#endif
