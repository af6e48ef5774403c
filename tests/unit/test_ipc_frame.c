/* Unit tests for src/ipc/frame.c: varint-delimited frames with complete,
 * truncated, oversized and garbage input. */
#include "ipc/frame.h"
#include "ipc/p2pd.pb-c.h"
#include "test.h"

static size_t encode_identify(struct buf *b)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    req.type = P2PD__PB__REQUEST__TYPE__LIST_PEERS;
    CHECK_ERR(ipc_frame_append(b, &req.base), 0);
    return b->len;
}

TEST(roundtrip)
{
    struct buf b;
    const uint8_t *body;
    size_t body_len, frame_len;

    buf_init(&b, 1024);
    size_t n = encode_identify(&b);
    CHECK_EQ(n, 3); /* prefix 02, then field 1 varint 5: 08 05 */
    CHECK_EQ(b.data[0], 2);
    CHECK_EQ(b.data[1], 0x08);
    CHECK_EQ(b.data[2], 0x05);
    CHECK_ERR(
        ipc_frame_parse(b.data, b.len, 1024, &body, &body_len, &frame_len), 0);
    CHECK_EQ(body_len, 2);
    CHECK_EQ(frame_len, 3);
    CHECK(body == b.data + 1);
    P2pd__Pb__Request *req = p2pd__pb__request__unpack(NULL, body_len, body);
    CHECK(req != NULL);
    if (req) {
        CHECK_EQ(req->type, P2PD__PB__REQUEST__TYPE__LIST_PEERS);
        p2pd__pb__request__free_unpacked(req, NULL);
    }
    buf_cleanup(&b);
}

TEST(every_truncation_waits)
{
    struct buf b;
    const uint8_t *body;
    size_t body_len, frame_len;

    buf_init(&b, 1024);
    encode_identify(&b);
    encode_identify(&b);
    /* any prefix shorter than the first frame asks for more */
    for (size_t cut = 0; cut < 3; cut++)
        CHECK_ERR(
            ipc_frame_parse(b.data, cut, 1024, &body, &body_len, &frame_len),
            FASTN_ERR_AGAIN);
    /* two frames back to back: the first is found alone */
    CHECK_ERR(
        ipc_frame_parse(b.data, b.len, 1024, &body, &body_len, &frame_len), 0);
    CHECK_EQ(frame_len, 3);
    buf_cleanup(&b);
}

TEST(oversized_known_from_prefix)
{
    const uint8_t *body;
    size_t body_len, frame_len;
    uint8_t p[16];
    size_t n = uvarint_encode(IPC_MAX_REQUEST + 1, p);

    /* refused before a single body byte has arrived */
    CHECK_ERR(
        ipc_frame_parse(p, n, IPC_MAX_REQUEST, &body, &body_len, &frame_len),
        FASTN_ERR_TOO_LARGE);
    n = uvarint_encode(IPC_MAX_REQUEST, p);
    CHECK_ERR(
        ipc_frame_parse(p, n, IPC_MAX_REQUEST, &body, &body_len, &frame_len),
        FASTN_ERR_AGAIN);
    /* a 63-bit length */
    n = uvarint_encode(UINT64_MAX >> 1, p);
    CHECK_ERR(
        ipc_frame_parse(p, n, IPC_MAX_REQUEST, &body, &body_len, &frame_len),
        FASTN_ERR_TOO_LARGE);
}

TEST(garbage_prefix)
{
    const uint8_t *body;
    size_t body_len, frame_len;
    uint8_t ff[12];

    memset(ff, 0xff, sizeof(ff));
    /* nine continuation bytes: not a varint we accept */
    CHECK_ERR(ipc_frame_parse(ff, sizeof(ff), IPC_MAX_REQUEST, &body, &body_len,
                              &frame_len),
              FASTN_ERR_MALFORMED);
    /* fewer: still incomplete */
    CHECK_ERR(
        ipc_frame_parse(ff, 5, IPC_MAX_REQUEST, &body, &body_len, &frame_len),
        FASTN_ERR_AGAIN);
}

TEST(empty_frame)
{
    const uint8_t *body;
    size_t body_len, frame_len;
    uint8_t z = 0;

    CHECK_ERR(
        ipc_frame_parse(&z, 1, IPC_MAX_REQUEST, &body, &body_len, &frame_len),
        0);
    CHECK_EQ(body_len, 0);
    /* an empty body lacks the required type: not a Request */
    CHECK(p2pd__pb__request__unpack(NULL, 0, body) == NULL);
}

TEST(garbage_body_is_not_a_request)
{
    static const uint8_t junk[][6] = {
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* bad tags */
        {0x08, 0x80, 0x80, 0x80, 0x80, 0x80}, /* truncated varint */
        {0x12, 0x05, 0x00, 0x00, 0x00, 0x00}, /* length past the end */
        {0x0a, 0x00, 0x00, 0x00, 0x00, 0x00}, /* type with wrong wire type */
    };
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        CHECK(p2pd__pb__request__unpack(NULL, sizeof(junk[i]), junk[i]) ==
              NULL);
}

TEST(append_respects_max)
{
    struct buf b;
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;

    buf_init(&b, 2);
    CHECK_ERR(ipc_frame_append(&b, &req.base), FASTN_ERR_TOO_LARGE);
    CHECK_EQ(b.len, 0);
    buf_cleanup(&b);
}

int main(void)
{
    RUN(roundtrip);
    RUN(every_truncation_waits);
    RUN(oversized_known_from_prefix);
    RUN(garbage_prefix);
    RUN(empty_frame);
    RUN(garbage_body_is_not_a_request);
    RUN(append_respects_max);
    return test_done();
}
