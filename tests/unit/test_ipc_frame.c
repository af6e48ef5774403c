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

/* --- call answers: the head encoded apart, the result found by hand --- */

static const size_t result_sizes[] = {0,     1,     127,      128,
                                      16383, 16384, 1u << 20, (1u << 20) + 1};

/* A plugin call's answer as the daemon makes it; variant 1 adds a
 * call_id, 2 a code, 3 an error part (a field of Response before fastn),
 * 4 all three. */
static void make_answer(P2pd__Pb__Response *r, Fastn__Response *e,
                        P2pd__Pb__ErrorResponse *err, uint8_t *data, size_t n,
                        int variant)
{
    P2pd__Pb__Response r0 = P2PD__PB__RESPONSE__INIT;
    Fastn__Response e0 = FASTN__RESPONSE__INIT;
    P2pd__Pb__ErrorResponse er0 = P2PD__PB__ERROR_RESPONSE__INIT;

    *r = r0;
    *e = e0;
    *err = er0;
    e->version = 1;
    e->has_call_result = true;
    e->call_result.data = data;
    e->call_result.len = n;
    if (variant == 1 || variant == 4) {
        e->has_call_id = true;
        e->call_id = 0x123456789aull;
    }
    if (variant == 2 || variant == 4) {
        e->has_code = true;
        e->code = -7;
    }
    if (variant == 3 || variant == 4) {
        err->msg = "a message before the result";
        r->error = err;
    }
    r->fastn = e;
}

TEST(result_head_is_protobuf_c)
{
    uint8_t *data = malloc((1u << 20) + 1);
    uint8_t head[IPC_FRAME_HEAD_MAX];

    CHECK(data != NULL);
    for (size_t i = 0; i < (1u << 20) + 1; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    for (size_t k = 0; k < sizeof(result_sizes) / sizeof(result_sizes[0]);
         k++) {
        for (int variant = 0; variant <= 4; variant++) {
            P2pd__Pb__Response r;
            Fastn__Response e;
            P2pd__Pb__ErrorResponse er;
            struct buf b;
            size_t n = result_sizes[k], hn = 0, off, len, body_len, frame_len;
            const uint8_t *body;

            make_answer(&r, &e, &er, data, n, variant);
            buf_init(&b, 4u << 20);
            CHECK_ERR(ipc_frame_append(&b, &r.base), 0);
            CHECK_ERR(ipc_frame_result_head(&r, head, sizeof(head), &hn), 0);
            CHECK_EQ(hn + n, b.len);
            CHECK_MEM(b.data, head, hn);
            CHECK(n == 0 || memcmp(b.data + hn, data, n) == 0);
            /* the client's parser finds it in the plain shape only */
            CHECK_ERR(ipc_frame_parse(b.data, b.len, IPC_MAX_RESPONSE, &body,
                                      &body_len, &frame_len),
                      0);
            int want = variant == 0 ? 0 : FASTN_ERR_UNSUPPORTED;
            CHECK_ERR(
                ipc_frame_find_result(body, body_len, body_len, &off, &len),
                want);
            if (variant == 0) {
                CHECK_EQ(len, n);
                CHECK_EQ((size_t)(body - b.data) + off, hn);
                /* with only the first bytes at hand */
                CHECK_ERR(
                    ipc_frame_find_result(body, off, body_len, &off, &len), 0);
                for (size_t cut = 0; cut < off; cut++)
                    CHECK_ERR(
                        ipc_frame_find_result(body, cut, body_len, &off, &len),
                        FASTN_ERR_AGAIN);
            }
            buf_cleanup(&b);
        }
    }
    free(data);
}

TEST(result_head_refuses_other_answers)
{
    uint8_t head[IPC_FRAME_HEAD_MAX], data[4] = {1, 2, 3, 4};
    P2pd__Pb__Response r;
    Fastn__Response e;
    P2pd__Pb__ErrorResponse er;
    Fastn__Notification *none[1] = {NULL};
    size_t hn;

    make_answer(&r, &e, &er, data, sizeof(data), 0);
    /* a field after call_result (53) */
    e.has_count = true;
    CHECK_ERR(ipc_frame_result_head(&r, head, sizeof(head), &hn),
              FASTN_ERR_UNSUPPORTED);
    e.has_count = false;
    e.n_notifications = 1;
    e.notifications = none;
    CHECK_ERR(ipc_frame_result_head(&r, head, sizeof(head), &hn),
              FASTN_ERR_UNSUPPORTED);
    e.n_notifications = 0;
    e.message = "text";
    CHECK_ERR(ipc_frame_result_head(&r, head, sizeof(head), &hn),
              FASTN_ERR_UNSUPPORTED);
    e.message = NULL;
    /* no result, no fastn part, no room */
    e.has_call_result = false;
    CHECK_ERR(ipc_frame_result_head(&r, head, sizeof(head), &hn),
              FASTN_ERR_UNSUPPORTED);
    e.has_call_result = true;
    CHECK_ERR(ipc_frame_result_head(&r, head, 8, &hn), FASTN_ERR_UNSUPPORTED);
    r.fastn = NULL;
    CHECK_ERR(ipc_frame_result_head(&r, head, sizeof(head), &hn),
              FASTN_ERR_UNSUPPORTED);
    r.fastn = &e;
    CHECK_ERR(ipc_frame_result_head(&r, head, sizeof(head), &hn), 0);
}

/* A body built by hand: bytes given as they go on the wire. */
static int find(const uint8_t *p, size_t n, size_t *off, size_t *len)
{
    return ipc_frame_find_result(p, n, n, off, len);
}

TEST(find_result_shapes)
{
    size_t off, len;
    /* OK, fastn{version 1, call_result "abc"} */
    static const uint8_t plain[] = {0x08, 0x00, 0xa2, 0x06, 0x08, 0x08, 0x01,
                                    0x9a, 0x03, 0x03, 'a',  'b',  'c'};
    uint8_t b[64];

    CHECK_ERR(find(plain, sizeof(plain), &off, &len), 0);
    CHECK_EQ(off, 10);
    CHECK_EQ(len, 3);
    /* every shorter body: a length or a varint past its end, or (ending
     * between fields) a body of another shape */
    for (size_t n = 0; n < sizeof(plain); n++)
        CHECK_ERR(find(plain, n, &off, &len), n == 0 || n == 2
                                                  ? FASTN_ERR_UNSUPPORTED
                                                  : FASTN_ERR_MALFORMED);
    /* a byte more after the result: a field after it */
    memcpy(b, plain, sizeof(plain));
    b[sizeof(plain)] = 0x00;
    CHECK_ERR(find(b, sizeof(plain) + 1, &off, &len), FASTN_ERR_UNSUPPORTED);
    /* ERROR */
    memcpy(b, plain, sizeof(plain));
    b[1] = 0x01;
    CHECK_ERR(find(b, sizeof(plain), &off, &len), FASTN_ERR_UNSUPPORTED);
    /* wrong wire types: type as bytes, fastn as varint, result as fixed32 */
    static const size_t at[] = {0, 2, 7};
    static const uint8_t as[] = {0x0a, 0xa0, 0x9d};
    for (size_t i = 0; i < 3; i++) {
        memcpy(b, plain, sizeof(plain));
        b[at[i]] = as[i];
        CHECK_ERR(find(b, sizeof(plain), &off, &len), FASTN_ERR_UNSUPPORTED);
    }
    /* other orders: result before version; fastn before type */
    static const uint8_t swapped[] = {0x08, 0x00, 0xa2, 0x06, 0x08, 0x9a, 0x03,
                                      0x03, 'a',  'b',  'c',  0x08, 0x01};
    CHECK_ERR(find(swapped, sizeof(swapped), &off, &len),
              FASTN_ERR_UNSUPPORTED);
    static const uint8_t first[] = {0xa2, 0x06, 0x08, 0x08, 0x01, 0x9a, 0x03,
                                    0x03, 'a',  'b',  'c',  0x08, 0x00};
    CHECK_ERR(find(first, sizeof(first), &off, &len), FASTN_ERR_UNSUPPORTED);
    /* a call_id between version and result */
    static const uint8_t with_id[] = {0x08, 0x00, 0xa2, 0x06, 0x0a,
                                      0x08, 0x01, 0x18, 0x05, 0x9a,
                                      0x03, 0x03, 'a',  'b',  'c'};
    CHECK_ERR(find(with_id, sizeof(with_id), &off, &len),
              FASTN_ERR_UNSUPPORTED);
    /* each of these decodes with protobuf-c: the fallback keeps them */
    P2pd__Pb__Response *r =
        p2pd__pb__response__unpack(NULL, sizeof(swapped), swapped);
    CHECK(r != NULL && r->fastn && r->fastn->call_result.len == 3);
    if (r)
        p2pd__pb__response__free_unpacked(r, NULL);
    r = p2pd__pb__response__unpack(NULL, sizeof(with_id), with_id);
    CHECK(r != NULL && r->fastn && r->fastn->call_id == 5);
    if (r)
        p2pd__pb__response__free_unpacked(r, NULL);
}

TEST(find_result_huge_lengths)
{
    size_t off, len, n;
    uint8_t b[64] = {0x08, 0x00, 0xa2, 0x06};

    /* fastn's length far past the body */
    n = 4 + uvarint_encode(UINT64_MAX >> 1, b + 4);
    CHECK_ERR(find(b, n, &off, &len), FASTN_ERR_MALFORMED);
    /* a ten-byte varint: protobuf-c's to judge */
    memset(b + 4, 0x80, 9);
    b[13] = 0x01;
    CHECK_ERR(find(b, 14, &off, &len), FASTN_ERR_UNSUPPORTED);
    /* the result's length past the end, in a body declared larger than
     * what is at hand: known at once */
    static const uint8_t big[] = {0x08, 0x00, 0xa2, 0x06, 0x0a, 0x08,
                                  0x01, 0x9a, 0x03, 0xff, 0xff, 0x7f};
    CHECK_ERR(ipc_frame_find_result(big, sizeof(big), 15, &off, &len),
              FASTN_ERR_MALFORMED);
    /* fastn shorter than the body: a field after it */
    CHECK_ERR(
        ipc_frame_find_result(big, sizeof(big), 12 + 0x1fffff, &off, &len),
        FASTN_ERR_UNSUPPORTED);
    static const uint8_t ok[] = {0x08, 0x00, 0xa2, 0x06, 0x88, 0x80,
                                 0x80, 0x01, 0x08, 0x01, 0x9a, 0x03,
                                 0x80, 0x80, 0x80, 0x01};
    CHECK_ERR(
        ipc_frame_find_result(ok, sizeof(ok), 16 + (1u << 21), &off, &len), 0);
    CHECK_EQ(off, 16);
    CHECK_EQ(len, 1u << 21);
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
    RUN(result_head_is_protobuf_c);
    RUN(result_head_refuses_other_answers);
    RUN(find_result_shapes);
    RUN(find_result_huge_lengths);
    return test_done();
}
