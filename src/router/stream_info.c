/*
 * The StreamInfo a client handler reads before a stream's bytes, encoded
 * here so that the router depends on nothing above it: go-libp2p-daemon's
 * specs/CONTROL.md message
 *
 *     message StreamInfo { required bytes peer = 1;
 *                          required bytes addr = 2;
 *                          required string proto = 3; }
 *
 * as protobuf's wire format writes it (field key = number << 3 | 2 for a
 * length-delimited field, then the length as a varint, then the bytes),
 * the whole preceded by its length as a varint, as every message on the
 * control socket is. Fields go out in number order, as protobuf-c writes
 * them, so a handler sees the same bytes as before.
 */
#include "router/router.h"

#include <string.h>

#include "fastn/err.h"

/* One length-delimited field: its key, length and bytes. */
static size_t field_len(size_t n)
{
    return 1 + uvarint_len(n) + n;
}

static int put_field(struct buf *out, uint8_t number, const void *p, size_t n)
{
    int err = buf_put_u8(out, (uint8_t)(number << 3 | 2));
    if (!err)
        err = buf_put_uvarint(out, n);
    if (!err)
        err = buf_append(out, p, n);
    return err;
}

int router_stream_info_append(struct buf *out, const struct peer_id *peer,
                              const struct multiaddr *addr,
                              const char *protocol)
{
    size_t plen = strlen(protocol);
    size_t body = field_len(peer->len) + field_len(addr->len) + field_len(plen);
    size_t was = out->len;
    int err = buf_reserve(out, uvarint_len(body) + body);

    if (!err)
        err = buf_put_uvarint(out, body);
    if (!err)
        err = put_field(out, 1, peer->bytes, peer->len);
    if (!err)
        err = put_field(out, 2, addr->bytes, addr->len);
    if (!err)
        err = put_field(out, 3, protocol, plen);
    if (err)
        out->len = was;
    return err;
}
