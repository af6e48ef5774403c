/* Unit tests for src/net/identify and src/net/lp: encode and decode an
 * Identify message, the exact bytes of a small one, merging a split
 * message, limits, length-prefixed framing split at every byte, and bad
 * input. */
#include "net/identify.h"
#include "net/lp.h"
#include "net/pb.h"
#include "test.h"

static bool span_is(struct identify_span s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

TEST(roundtrip)
{
    struct identity id;
    uint8_t seed[32] = {3}, key[IDENTITY_PUBKEY_PROTO_LEN];
    struct multiaddr la[2], obs;
    const char *protos[] = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"};
    struct identify_info in = {0};
    struct identify_msg m;
    struct buf out;
    struct lp_reader r;
    size_t used, n;
    const uint8_t *msg;
    struct peer_id pid;

    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_from_seed(&id, seed), 0);
    pubkey_encode_proto(id.pubkey, key);
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1/tcp/4001", &la[0]), 0);
    CHECK_ERR(multiaddr_parse("/ip6/::1/tcp/4001", &la[1]), 0);
    CHECK_ERR(multiaddr_parse("/ip4/10.1.2.3/tcp/55555", &obs), 0);
    in.public_key = key;
    in.public_key_len = sizeof(key);
    in.listen = la;
    in.n_listen = 2;
    in.observed = &obs;
    in.protocols = protos;
    in.n_protocols = 2;
    buf_init(&out, 1 << 16);
    CHECK_ERR(identify_encode(&in, &out), 0);

    lp_reader_init(&r, IDENTIFY_MAX_MSG);
    CHECK_EQ(lp_reader_feed(&r, out.data, out.len, &used), 1);
    CHECK_EQ(used, out.len);
    msg = lp_reader_msg(&r, &n);
    CHECK_ERR(identify_decode(msg, n, &m), 0);
    CHECK(span_is(m.protocol_version, "ipfs/0.1.0"));
    CHECK(span_is(m.agent_version, "fastn/" FASTN_VERSION));
    CHECK_EQ(m.n_listen, 2);
    CHECK_EQ(m.listen[1].len, la[1].len);
    CHECK_MEM(m.listen[1].p, la[1].bytes, la[1].len);
    CHECK_EQ(m.observed_addr.len, obs.len);
    CHECK_EQ(m.n_protocols, 2);
    CHECK(span_is(m.protocols[1], "/ipfs/ping/1.0.0"));
    CHECK_ERR(identify_peer(&m, &pid), 0);
    CHECK(peer_id_equal(&pid, &id.id));
    struct multiaddr back;
    CHECK_ERR(multiaddr_from_bytes(m.listen[0].p, m.listen[0].len, &back), 0);
    CHECK(multiaddr_equal(&back, &la[0]));
    lp_reader_cleanup(&r);
    buf_cleanup(&out);
}

TEST(exact_bytes_of_a_small_message)
{
    struct identify_info in = {0};
    const char *protos[] = {"/p"};
    struct buf out;
    static const uint8_t want[] = {20,              /* length */
                                   0x2a, 0x01, 'v', /* 5: protocolVersion */
                                   0x32, 0x07, 'f',  'a',  's',
                                   't',  'n',  '/',  '1',  /* 6: agentVersion */
                                   0x0a, 0x02, 0x08, 0x01, /* 1: publicKey */
                                   0x1a, 0x02, '/',  'p'}; /* 3: protocols */
    in.protocol_version = "v";
    in.agent_version = "fastn/1";
    in.public_key = (const uint8_t *)"\x08\x01";
    in.public_key_len = 2;
    in.protocols = protos;
    in.n_protocols = 1;
    buf_init(&out, 1024);
    CHECK_ERR(identify_encode(&in, &out), 0);
    CHECK_EQ(out.len, sizeof(want));
    CHECK_MEM(out.data, want, sizeof(want));
    buf_cleanup(&out);
}

TEST(merge_and_limits)
{
    struct identify_msg m;
    struct buf a, b;
    uint8_t addr[8] = {0x04, 1, 2, 3, 4, 0x06, 0, 1};

    buf_init(&a, 1 << 16);
    buf_init(&b, 1 << 16);
    for (int i = 0; i < IDENTIFY_MAX_ADDRS + 3; i++)
        pb_put_bytes(&a, 2, addr, sizeof(addr));
    pb_put_bytes(&a, 6, "first", 5);
    pb_put_varint(&a, 7, 12345);        /* unknown scalar: skipped */
    pb_put_bytes(&a, 99, "unknown", 7); /* unknown field: skipped */
    pb_put_bytes(&b, 6, "second", 6);
    pb_put_bytes(&b, 3, "/x", 2);
    pb_put_bytes(&b, 8, "record", 6);
    CHECK_ERR(identify_decode(a.data, a.len, &m), 0);
    CHECK_EQ(m.n_listen, IDENTIFY_MAX_ADDRS);
    CHECK_EQ(m.dropped, 3);
    CHECK(span_is(m.agent_version, "first"));
    CHECK_ERR(identify_decode_more(b.data, b.len, &m), 0);
    CHECK(span_is(m.agent_version, "second"));
    CHECK_EQ(m.n_protocols, 1);
    CHECK(span_is(m.signed_peer_record, "record"));
    struct peer_id pid;
    CHECK_ERR(identify_peer(&m, &pid), FASTN_ERR_NOT_FOUND);
    buf_cleanup(&a);
    buf_cleanup(&b);
}

TEST(bad_messages)
{
    struct identify_msg m;
    struct peer_id pid;
    /* truncated length-delimited field */
    CHECK_ERR(identify_decode((const uint8_t *)"\x0a\x05"
                                               "ab",
                              4, &m),
              FASTN_ERR_MALFORMED);
    /* group wire type (3) */
    CHECK_ERR(identify_decode((const uint8_t *)"\x0b\x00", 2, &m),
              FASTN_ERR_MALFORMED);
    /* field number 0 */
    CHECK_ERR(identify_decode((const uint8_t *)"\x02\x00", 2, &m),
              FASTN_ERR_MALFORMED);
    /* a tag that never ends */
    CHECK_ERR(identify_decode((const uint8_t *)"\x8a\x80", 2, &m),
              FASTN_ERR_MALFORMED);
    /* a Secp256k1 key with no point; a key type libp2p does not have */
    CHECK_ERR(
        identify_decode((const uint8_t *)"\x0a\x04\x08\x02\x12\x00", 6, &m), 0);
    CHECK_ERR(identify_peer(&m, &pid), FASTN_ERR_BAD_KEY);
    CHECK_ERR(
        identify_decode((const uint8_t *)"\x0a\x05\x08\x07\x12\x01x", 7, &m),
        0);
    CHECK_ERR(identify_peer(&m, &pid), FASTN_ERR_UNSUPPORTED);
    CHECK_ERR(identify_decode((const uint8_t *)"\x0a\x02\x08\x01", 4, &m), 0);
    CHECK_ERR(identify_peer(&m, &pid), FASTN_ERR_BAD_KEY);
    /* the empty message is valid */
    CHECK_ERR(identify_decode((const uint8_t *)"", 0, &m), 0);
}

TEST(length_prefixed_framing)
{
    struct lp_reader r;
    struct buf b;
    size_t used, n, got = 0;
    const uint8_t *msg = NULL;
    static uint8_t big[300];

    memset(big, 'z', sizeof(big));
    buf_init(&b, 4096);
    lp_write(&b, big, sizeof(big));
    lp_write(&b, (const uint8_t *)"", 0);
    lp_write(&b, (const uint8_t *)"end", 3);
    lp_reader_init(&r, 1024);
    CHECK(lp_reader_idle(&r));
    for (size_t i = 0; i < b.len; i++) {
        int rc = lp_reader_feed(&r, b.data + i, 1, &used);
        CHECK_EQ(used, 1);
        if (rc == 1) {
            msg = lp_reader_msg(&r, &n);
            CHECK_EQ(n, got == 0 ? 300 : got == 1 ? 0 : 3);
            got++;
        } else {
            CHECK_ERR(rc, 0);
            CHECK(!lp_reader_idle(&r));
        }
    }
    CHECK_EQ(got, 3);
    CHECK(lp_reader_idle(&r));
    CHECK_MEM(msg, "end", 3);
    lp_reader_cleanup(&r);

    /* over the limit, from the length alone */
    lp_reader_init(&r, 100);
    CHECK_ERR(lp_reader_feed(&r, b.data, 2, &used), FASTN_ERR_TOO_LARGE);
    lp_reader_cleanup(&r);
    /* a length that never ends */
    lp_reader_init(&r, 100);
    static const uint8_t inf[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                    0x80, 0x80, 0x80, 0x80, 0x80};
    CHECK_ERR(lp_reader_feed(&r, inf, sizeof(inf), &used), FASTN_ERR_MALFORMED);
    lp_reader_cleanup(&r);
    buf_cleanup(&b);
}

/* lp_reader_next: the reader every protocol's stream uses; the message
 * when complete, NULL otherwise, the same caps and errors as feed. */
TEST(next_message)
{
    struct lp_reader r;
    struct buf b;
    size_t used, n;
    const uint8_t *msg;

    buf_init(&b, 256);
    lp_write(&b, (const uint8_t *)"one", 3);
    lp_write(&b, (const uint8_t *)"two!", 4);
    lp_reader_init(&r, 8);
    CHECK_EQ(lp_reader_next(&r, b.data, 2, &used, &msg, &n), 0);
    CHECK(msg == NULL && n == 0 && used == 2);
    CHECK_EQ(lp_reader_next(&r, b.data + 2, b.len - 2, &used, &msg, &n), 1);
    CHECK_EQ(used, 2); /* the rest is the next message's */
    CHECK_EQ(n, 3);
    CHECK_MEM(msg, "one", 3);
    CHECK_EQ(lp_reader_next(&r, b.data + 4, b.len - 4, &used, &msg, &n), 1);
    CHECK_EQ(n, 4);
    CHECK_MEM(msg, "two!", 4);
    lp_reader_cleanup(&r);
    /* over the cap: TOO_LARGE, no message */
    lp_reader_init(&r, 3);
    CHECK_ERR(lp_reader_next(&r, b.data + 4, b.len - 4, &used, &msg, &n),
              FASTN_ERR_TOO_LARGE);
    CHECK(msg == NULL && n == 0);
    lp_reader_cleanup(&r);
    buf_cleanup(&b);
}

int main(void)
{
    RUN(roundtrip);
    RUN(exact_bytes_of_a_small_message);
    RUN(merge_and_limits);
    RUN(bad_messages);
    RUN(length_prefixed_framing);
    RUN(next_message);
    return test_done();
}
