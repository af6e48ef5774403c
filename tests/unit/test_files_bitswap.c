/* Unit tests for plugins/files/lib/bitswap.c: messages built and read
 * back, the exact bytes of a message as proto3 encoders write it, the
 * 1.0.0 blocks field, block CIDs taken from the data, framing, and what
 * is refused: a want-list of 100,000 CIDs, a block of 10 MiB, blocks over
 * 2 MiB, messages over 4 MiB, malformed fields, unknown enum values;
 * blocks added by reference encode to the same bytes. */
#include "files_harness.h"
#include "test.h"

static struct files_cid raw_cid(const char *s)
{
    struct files_cid c;
    files_cid_of(1, FILES_CODEC_RAW, s, strlen(s), &c);
    return c;
}

/* Frames and decodes what a builder made. */
static int read_back(struct files_bitswap_builder *b,
                     struct files_bitswap_msg *m)
{
    const uint8_t *out, *msg;
    size_t len, mlen, used;
    int err = files_bitswap_finish(b, &out, &len);
    if (err)
        return err;
    if (len != files_bitswap_builder_size(b))
        return FASTN_ERR_INTERNAL;
    err = files_bitswap_frame(out, len, &msg, &mlen, &used);
    if (err)
        return err;
    if (used != len)
        return FASTN_ERR_INTERNAL;
    return files_bitswap_decode(msg, mlen, m);
}

TEST(roundtrip)
{
    struct files_bitswap_builder b;
    struct files_bitswap_msg m;
    struct files_cid a = raw_cid("a"), c0;
    struct files_bitswap_want w = {a, -5, false, FILES_WANT_HAVE, true};

    files_cid_of(0, FILES_CODEC_DAG_PB, "node", 4, &c0);
    files_bitswap_builder_init(&b);
    CHECK_ERR(files_bitswap_add_want(&b, &w), 0);
    w = (struct files_bitswap_want){c0, 7, true, FILES_WANT_BLOCK, false};
    CHECK_ERR(files_bitswap_add_want(&b, &w), 0);
    CHECK_ERR(files_bitswap_add_block(&b, &a, (const uint8_t *)"a", 1), 0);
    CHECK_ERR(files_bitswap_add_block(&b, &c0, (const uint8_t *)"node", 4), 0);
    CHECK_ERR(files_bitswap_add_presence(&b, &c0, FILES_PRESENCE_DONT_HAVE), 0);
    CHECK_ERR(files_bitswap_add_presence(&b, &a, FILES_PRESENCE_HAVE), 0);
    b.full = true;
    b.pending_bytes = 123456;
    CHECK_ERR(read_back(&b, &m), 0);
    CHECK(m.has_wantlist && m.full);
    CHECK_EQ(m.nwants, 2);
    CHECK(files_cid_eq(&m.wants[0].cid, &a));
    CHECK_EQ(m.wants[0].priority, -5);
    CHECK_EQ(m.wants[0].type, FILES_WANT_HAVE);
    CHECK(m.wants[0].send_dont_have && !m.wants[0].cancel);
    CHECK(files_cid_eq(&m.wants[1].cid, &c0));
    CHECK(m.wants[1].cancel && m.wants[1].priority == 7);
    CHECK_EQ(m.nblocks, 2);
    CHECK(files_cid_eq(&m.blocks[0].cid, &a));
    CHECK(files_cid_eq(&m.blocks[1].cid, &c0));
    CHECK(m.blocks[1].len == 4 && !memcmp(m.blocks[1].data, "node", 4));
    CHECK_EQ(m.npresences, 2);
    CHECK_EQ(m.presences[0].type, FILES_PRESENCE_DONT_HAVE);
    CHECK(files_cid_eq(&m.presences[1].cid, &a));
    CHECK_EQ(m.pending_bytes, 123456);
    files_bitswap_msg_cleanup(&m);
    files_bitswap_builder_cleanup(&b);
    /* an empty message is two bytes: the prefix 1 and... nothing: 00 */
    files_bitswap_builder_init(&b);
    const uint8_t *out;
    size_t len;
    CHECK_ERR(files_bitswap_finish(&b, &out, &len), 0);
    CHECK(len == 1 && out[0] == 0);
    files_bitswap_builder_cleanup(&b);
}

TEST(exact_bytes)
{
    /* want-have of a CIDv0 with priority 1 and sendDontHave, as go's and
     * js's proto3 encoders write it:
     * 0a 2c                 wantlist
     *   0a 2a               entries
     *     0a 22 <cid 34>    block
     *     10 01             priority
     *     20 01             wantType Have
     *     28 01             sendDontHave */
    struct files_cid c;
    uint8_t want[1 + 46], bin[34];
    files_cid_of(0, FILES_CODEC_DAG_PB, "x", 1, &c);
    files_cid_encode(&c, bin, sizeof(bin));
    size_t k = 0;
    want[k++] = 0x2e; /* the frame's length prefix: 46 */
    want[k++] = 0x0a;
    want[k++] = 0x2c;
    want[k++] = 0x0a;
    want[k++] = 0x2a;
    want[k++] = 0x0a;
    want[k++] = 0x22;
    memcpy(want + k, bin, 34);
    k += 34;
    const uint8_t tail[] = {0x10, 0x01, 0x20, 0x01, 0x28, 0x01};
    memcpy(want + k, tail, sizeof(tail));
    k += sizeof(tail);
    struct files_bitswap_builder b;
    struct files_bitswap_want w = {c, 1, false, FILES_WANT_HAVE, true};
    const uint8_t *out;
    size_t len;
    files_bitswap_builder_init(&b);
    CHECK_ERR(files_bitswap_add_want(&b, &w), 0);
    CHECK_ERR(files_bitswap_finish(&b, &out, &len), 0);
    CHECK_EQ(len, k);
    CHECK_MEM(out, want, k);
    files_bitswap_builder_cleanup(&b);
}

/* A message of two blocks into msg (64 bytes): 1.0.0's blocks field
 * ("abcd": raw bytes, a CIDv0 of their hash), then a 1.1.0 payload whose
 * prefix says raw CIDv1 ("xyz"). Returns its length. */
static size_t two_blocks(uint8_t *msg)
{
    size_t n = 0;
    msg[n++] = 0x12;
    msg[n++] = 4;
    memcpy(msg + n, "abcd", 4);
    n += 4;
    const uint8_t payload[] = {0x1a, 0x0b, 0x0a, 0x04, 0x01, 0x55, 0x12,
                               0x20, 0x12, 0x03, 'x',  'y',  'z'};
    memcpy(msg + n, payload, sizeof(payload));
    return n + sizeof(payload);
}

TEST(blocks_named_by_their_data)
{
    uint8_t msg[64];
    size_t n = two_blocks(msg);
    struct files_bitswap_msg m;
    struct files_cid c;
    CHECK_ERR(files_bitswap_decode(msg, n, &m), 0);
    CHECK_EQ(m.nblocks, 2);
    files_cid_of(0, FILES_CODEC_DAG_PB, "abcd", 4, &c);
    CHECK(files_cid_eq(&m.blocks[0].cid, &c));
    c = raw_cid("xyz");
    CHECK(files_cid_eq(&m.blocks[1].cid, &c));
    CHECK(!m.has_wantlist);
    files_bitswap_msg_cleanup(&m);
}

static int decode_bytes(const uint8_t *p, size_t n)
{
    struct files_bitswap_msg m;
    int err = files_bitswap_decode(p, n, &m);
    if (!err)
        files_bitswap_msg_cleanup(&m);
    return err;
}

static int decode_hex(const char *hex)
{
    uint8_t b[256];
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        b[i] = (uint8_t)v;
    }
    return decode_bytes(b, n);
}

TEST(malformed)
{
    /* an identity CID (015500 03 616263) keeps these short */
    CHECK_ERR(decode_hex(""), 0);
    CHECK_ERR(decode_hex("0a0b0a090a0701550003616263"), 0);
    /* unknown fields are skipped: top level field 6, entry field 9 */
    CHECK_ERR(decode_hex("3001"), 0);
    CHECK_ERR(decode_hex("0a0d0a0b0a07015500036162634801"), 0);
    /* cut short anywhere */
    CHECK_ERR(decode_hex("0a0b0a090a070155000361626"), FASTN_ERR_FILES_BITSWAP);
    CHECK_ERR(decode_hex("0a"), FASTN_ERR_FILES_BITSWAP);
    /* wrong wire types: wantlist as a varint, pendingBytes as bytes */
    CHECK_ERR(decode_hex("0801"), FASTN_ERR_FILES_BITSWAP);
    CHECK_ERR(decode_hex("2a0100"), FASTN_ERR_FILES_BITSWAP);
    /* a want without a CID, with a bad CID, of an unknown type (2) */
    CHECK_ERR(decode_hex("0a040a021001"), FASTN_ERR_FILES_BITSWAP);
    CHECK_ERR(decode_hex("0a070a050a03020304"), FASTN_ERR_FILES_BITSWAP);
    CHECK_ERR(decode_hex("0a0d0a0b0a07015500036162632002"),
              FASTN_ERR_FILES_BITSWAP);
    /* a presence of an unknown type, a presence without a CID */
    CHECK_ERR(decode_hex("220b0a0701550003616263"
                         "1002"),
              FASTN_ERR_FILES_BITSWAP);
    CHECK_ERR(decode_hex("22021001"), FASTN_ERR_FILES_BITSWAP);
    /* a payload without a prefix, with a bad prefix, with a hash we do not
     * make (sha2-512) */
    CHECK_ERR(decode_hex("1a0312017a"), FASTN_ERR_FILES_BITSWAP);
    CHECK_ERR(decode_hex("1a060a0101"
                         "12017a"),
              FASTN_ERR_FILES_BITSWAP);
    CHECK_ERR(decode_hex("1a090a0401551340"
                         "12017a"),
              FASTN_ERR_FILES_CODEC);
    /* a group wire type, a field number 0 */
    CHECK_ERR(decode_hex("0b"), FASTN_ERR_FILES_BITSWAP);
    CHECK_ERR(decode_hex("0001"), FASTN_ERR_FILES_BITSWAP);
}

TEST(want_list_of_100000)
{
    /* 100,000 wants of CIDv1s: 4,000,005 bytes, under 4 MiB, but over the
     * entry limit: refused before anything is allocated for them */
    size_t count = 100000, n = 0;
    uint8_t *msg = malloc(count * 40 + 16);
    struct files_cid c;
    uint8_t bin[36];
    size_t body = count * 40;

    msg[n++] = 0x0a;
    n += files_uvarint_put(body, msg + n);
    for (size_t i = 0; i < count; i++) {
        uint32_t v = (uint32_t)i;
        files_cid_of(1, FILES_CODEC_RAW, &v, sizeof(v), &c);
        files_cid_encode(&c, bin, sizeof(bin));
        msg[n++] = 0x0a;
        msg[n++] = 38;
        msg[n++] = 0x0a;
        msg[n++] = 36;
        memcpy(msg + n, bin, 36);
        n += 36;
    }
    CHECK(n < FILES_BITSWAP_MAX_MSG);
    CHECK_ERR(decode_bytes(msg, n), FASTN_ERR_FILES_LIMIT);
    /* as many as the limit: fine */
    n = 0;
    body = FILES_BITSWAP_MAX_ENTRIES * 40;
    msg[n++] = 0x0a;
    n += files_uvarint_put(body, msg + n);
    for (size_t i = 0; i < FILES_BITSWAP_MAX_ENTRIES; i++) {
        msg[n++] = 0x0a;
        msg[n++] = 38;
        msg[n++] = 0x0a;
        msg[n++] = 36;
        memcpy(msg + n, bin, 36);
        n += 36;
    }
    struct files_bitswap_msg m;
    CHECK_ERR(files_bitswap_decode(msg, n, &m), 0);
    CHECK_EQ(m.nwants, FILES_BITSWAP_MAX_ENTRIES);
    files_bitswap_msg_cleanup(&m);
    free(msg);
}

/* A message of one payload block of len bytes (prefix raw CIDv1). */
static uint8_t *block_msg(size_t len, size_t *n)
{
    uint8_t *msg = calloc(1, len + 32);
    size_t k = 0, body = 6 + 1 + files_uvarint_len(len) + len;
    msg[k++] = 0x1a;
    k += files_uvarint_put(body, msg + k);
    const uint8_t prefix[] = {0x0a, 0x04, 0x01, 0x55, 0x12, 0x20};
    memcpy(msg + k, prefix, sizeof(prefix));
    k += sizeof(prefix);
    msg[k++] = 0x12;
    k += files_uvarint_put(len, msg + k);
    *n = k + len;
    return msg;
}

TEST(block_sizes)
{
    size_t n;
    uint8_t *msg;

    /* 2 MiB: the largest block */
    msg = block_msg(FILES_MAX_BLOCK, &n);
    CHECK_ERR(decode_bytes(msg, n), 0);
    free(msg);
    /* 2 MiB + 1, in a message under 4 MiB */
    msg = block_msg(FILES_MAX_BLOCK + 1, &n);
    CHECK_ERR(decode_bytes(msg, n), FASTN_ERR_FILES_LIMIT);
    free(msg);
    /* a block of 10 MiB: over the message limit, refused at the length
     * prefix, before its bytes arrive */
    msg = block_msg(10u << 20, &n);
    CHECK_ERR(decode_bytes(msg, n), FASTN_ERR_FILES_LIMIT);
    uint8_t prefix[10];
    size_t pl = files_uvarint_put(n, prefix);
    const uint8_t *body;
    size_t blen, used;
    CHECK_ERR(files_bitswap_frame(prefix, pl, &body, &blen, &used),
              FASTN_ERR_FILES_LIMIT);
    free(msg);
    /* the builder will not make them either */
    struct files_bitswap_builder b;
    struct files_cid c = raw_cid("big");
    uint8_t *big = calloc(1, FILES_MAX_BLOCK + 1);
    files_bitswap_builder_init(&b);
    CHECK_ERR(files_bitswap_add_block(&b, &c, big, FILES_MAX_BLOCK + 1),
              FASTN_ERR_FILES_LIMIT);
    CHECK_ERR(files_bitswap_add_block(&b, &c, big, FILES_MAX_BLOCK), 0);
    size_t before = files_bitswap_builder_size(&b);
    /* a second 2 MiB block would make the message over 4 MiB */
    CHECK_ERR(files_bitswap_add_block(&b, &c, big, FILES_MAX_BLOCK),
              FASTN_ERR_FILES_LIMIT);
    CHECK_EQ(files_bitswap_builder_size(&b), before);
    CHECK_ERR(files_bitswap_add_block(&b, &c, big, 1000), 0);
    struct files_bitswap_msg m;
    CHECK_ERR(read_back(&b, &m), 0);
    CHECK_EQ(m.nblocks, 2);
    files_bitswap_msg_cleanup(&m);
    files_bitswap_builder_cleanup(&b);
    free(big);
}

/* FILES_BITSWAP_NO_HASH: sha2-256 blocks get their prefix's CID with the
 * digest pending (the same once hashed), identity blocks are whole, and
 * the same messages are refused for the same reasons. */
TEST(blocks_left_unhashed)
{
    uint8_t msg[64];
    size_t n = two_blocks(msg);
    /* an identity CIDv1 (raw) of "hi" */
    const uint8_t ident[] = {0x1a, 0x0a, 0x0a, 0x04, 0x01, 0x55,
                             0x00, 0x02, 0x12, 0x02, 'h',  'i'};
    memcpy(msg + n, ident, sizeof(ident));
    n += sizeof(ident);

    struct files_bitswap_msg m, h;
    struct files_cid c;
    CHECK_ERR(files_bitswap_decode(msg, n, &h), 0);
    CHECK_ERR(files_bitswap_decode_flags(msg, n, FILES_BITSWAP_NO_HASH, &m), 0);
    CHECK_EQ(m.nblocks, 3);
    CHECK(m.blocks[0].digest_pending && m.blocks[1].digest_pending);
    CHECK(!m.blocks[2].digest_pending);
    CHECK(!h.blocks[0].digest_pending && !h.blocks[1].digest_pending);
    CHECK_EQ(m.blocks[0].cid.version, 0);
    CHECK_EQ(m.blocks[0].cid.codec, FILES_CODEC_DAG_PB);
    CHECK_EQ(m.blocks[1].cid.version, 1);
    CHECK_EQ(m.blocks[1].cid.codec, FILES_CODEC_RAW);
    CHECK_EQ(m.blocks[1].cid.mh_code, FILES_MH_SHA2_256);
    CHECK_EQ(m.blocks[1].cid.digest_len, FILES_SHA256_LEN);
    CHECK_EQ(m.blocks[1].len, 3);
    CHECK(!memcmp(m.blocks[1].data, "xyz", 3));
    for (size_t i = 0; i < 2; i++) {
        files_sha256(m.blocks[i].data, m.blocks[i].len, m.blocks[i].cid.digest);
        CHECK(files_cid_eq(&m.blocks[i].cid, &h.blocks[i].cid));
    }
    CHECK(files_cid_eq(&m.blocks[2].cid, &h.blocks[2].cid));
    CHECK_EQ(m.blocks[2].cid.mh_code, FILES_MH_IDENTITY);
    c = raw_cid("xyz");
    CHECK(files_cid_eq(&m.blocks[1].cid, &c));
    files_bitswap_msg_cleanup(&m);
    files_bitswap_msg_cleanup(&h);

    /* the prefix alone: pending for sha2-256, errors as the decoder's */
    const uint8_t v1[] = {0x01, 0x55, 0x12, 0x20};
    CHECK_EQ(files_cid_prefix_read(v1, sizeof(v1), "xyz", 3, &c), 1);
    const uint8_t short_sha[] = {0x01, 0x55, 0x12, 0x10};
    CHECK_ERR(files_cid_prefix_read(short_sha, 4, "xyz", 3, &c),
              FASTN_ERR_FILES_CODEC);
    const uint8_t v0_raw[] = {0x00, 0x55, 0x12, 0x20};
    CHECK_ERR(files_cid_prefix_read(v0_raw, 4, "xyz", 3, &c),
              FASTN_ERR_FILES_BAD_CID);

    /* the same limits: a block over 2 MiB, an unknown hash */
    uint8_t *big = block_msg(FILES_MAX_BLOCK + 1, &n);
    CHECK_ERR(files_bitswap_decode_flags(big, n, FILES_BITSWAP_NO_HASH, &m),
              FASTN_ERR_FILES_LIMIT);
    free(big);
    const uint8_t blake[] = {0x1a, 0x0b, 0x0a, 0x06, 0x01, 0x55, 0xe0,
                             0xe4, 0x02, 0x20, 0x12, 0x01, 'x'};
    CHECK_ERR(files_bitswap_decode_flags(blake, sizeof(blake),
                                         FILES_BITSWAP_NO_HASH, &m),
              files_bitswap_decode(blake, sizeof(blake), &h));
    CHECK_ERR(files_bitswap_decode_flags(blake, sizeof(blake),
                                         FILES_BITSWAP_NO_HASH, &m),
              FASTN_ERR_FILES_CODEC);
}

TEST(builder_entry_limit)
{
    struct files_bitswap_builder b;
    struct files_bitswap_want w = {raw_cid("w"), 1, false, FILES_WANT_BLOCK,
                                   false};
    files_bitswap_builder_init(&b);
    for (size_t i = 0; i < FILES_BITSWAP_MAX_ENTRIES; i++)
        CHECK_ERR(files_bitswap_add_want(&b, &w), 0);
    CHECK_ERR(files_bitswap_add_want(&b, &w), FASTN_ERR_FILES_LIMIT);
    struct files_bitswap_msg m;
    CHECK_ERR(read_back(&b, &m), 0);
    CHECK_EQ(m.nwants, FILES_BITSWAP_MAX_ENTRIES);
    files_bitswap_msg_cleanup(&m);
    files_bitswap_builder_cleanup(&b);
}

TEST(framing)
{
    uint8_t buf[64];
    const uint8_t *msg;
    size_t mlen, used;

    /* two messages back to back, read one at a time */
    const uint8_t two[] = {0x02, 0x30, 0x01, 0x00, 0x03, 0x30, 0x01, 0x00};
    CHECK_ERR(files_bitswap_frame(two, sizeof(two), &msg, &mlen, &used), 0);
    CHECK(mlen == 2 && used == 3 && msg == two + 1);
    CHECK_ERR(files_bitswap_frame(two + 3, 5, &msg, &mlen, &used), 0);
    CHECK(mlen == 0 && used == 1);
    /* not there yet: the prefix, or the body, cut */
    CHECK_ERR(files_bitswap_frame(two + 4, 3, &msg, &mlen, &used),
              FASTN_ERR_AGAIN);
    CHECK_ERR(files_bitswap_frame(two, 2, &msg, &mlen, &used), FASTN_ERR_AGAIN);
    buf[0] = 0x80;
    CHECK_ERR(files_bitswap_frame(buf, 1, &msg, &mlen, &used), FASTN_ERR_AGAIN);
    CHECK_ERR(files_bitswap_frame(buf, 0, &msg, &mlen, &used), FASTN_ERR_AGAIN);
    /* a non-minimal prefix */
    const uint8_t nonmin[] = {0x81, 0x00, 0x00};
    CHECK_ERR(files_bitswap_frame(nonmin, 3, &msg, &mlen, &used),
              FASTN_ERR_FILES_BITSWAP);
    /* exactly 4 MiB is fine; one byte more is refused */
    size_t pl = files_uvarint_put(FILES_BITSWAP_MAX_MSG, buf);
    CHECK_ERR(files_bitswap_frame(buf, pl, &msg, &mlen, &used),
              FASTN_ERR_AGAIN);
    pl = files_uvarint_put(FILES_BITSWAP_MAX_MSG + 1, buf);
    CHECK_ERR(files_bitswap_frame(buf, pl, &msg, &mlen, &used),
              FASTN_ERR_FILES_LIMIT);
}

/* Blocks added by reference: the same bytes, sizes and limits as blocks
 * added with their data, the data written by the fill function in its
 * place; a fill's error and too small a buffer end the message. */
struct ref_src {
    const uint8_t *data[4];
    int calls, fail;
};

static int ref_fill(void *ctx, const struct files_cid *cid, uint8_t *dst,
                    size_t len)
{
    struct ref_src *s = ctx;
    (void)cid;
    if (s->fail)
        return s->fail;
    memcpy(dst, s->data[s->calls++], len);
    return 0;
}

TEST(blocks_by_reference)
{
    struct files_bitswap_builder a, b;
    struct files_cid c[3] = {raw_cid("one"), raw_cid("two"), raw_cid("3")};
    uint8_t *big = malloc(FILES_MAX_BLOCK);
    struct ref_src src = {{(const uint8_t *)"one", big}, 0, 0};
    struct files_bitswap_want w = {c[2], 1, false, FILES_WANT_BLOCK, true};
    const uint8_t *out;
    size_t n, got;

    for (size_t i = 0; i < FILES_MAX_BLOCK; i++)
        big[i] = (uint8_t)(i * 7);
    files_bitswap_builder_init(&a);
    files_bitswap_builder_init(&b);
    CHECK_ERR(files_bitswap_add_want(&a, &w), 0);
    CHECK_ERR(files_bitswap_add_want(&b, &w), 0);
    CHECK_ERR(files_bitswap_add_block(&a, &c[0], src.data[0], 3), 0);
    CHECK_ERR(files_bitswap_add_block_ref(&b, &c[0], 3), 0);
    CHECK_ERR(files_bitswap_add_block(&a, &c[2], (const uint8_t *)"3", 1), 0);
    CHECK_ERR(files_bitswap_add_block(&b, &c[2], (const uint8_t *)"3", 1), 0);
    CHECK_ERR(files_bitswap_add_block(&a, &c[1], big, FILES_MAX_BLOCK), 0);
    CHECK_ERR(files_bitswap_add_block_ref(&b, &c[1], FILES_MAX_BLOCK), 0);
    CHECK_ERR(files_bitswap_add_block_ref(&b, &c[1], FILES_MAX_BLOCK + 1),
              FASTN_ERR_FILES_LIMIT);
    /* a second 2 MiB block would make the message over 4 MiB */
    CHECK_ERR(files_bitswap_add_block_ref(&b, &c[1], FILES_MAX_BLOCK),
              FASTN_ERR_FILES_LIMIT);
    CHECK_ERR(files_bitswap_add_presence(&a, &c[1], FILES_PRESENCE_HAVE), 0);
    CHECK_ERR(files_bitswap_add_presence(&b, &c[1], FILES_PRESENCE_HAVE), 0);
    CHECK_EQ(files_bitswap_builder_size(&a), files_bitswap_builder_size(&b));
    CHECK_EQ(a.nblocks, b.nblocks);
    CHECK_ERR(files_bitswap_finish(&a, &out, &n), 0);
    CHECK_ERR(files_bitswap_finish(&b, &out, &got), FASTN_ERR_INVAL);
    uint8_t *buf = malloc(n);
    CHECK_ERR(files_bitswap_finish_into(&b, buf, n, ref_fill, &src, &got), 0);
    CHECK_EQ(got, n);
    CHECK_EQ(src.calls, 2);
    CHECK(!memcmp(buf, out, n));
    src.calls = 0;
    CHECK_ERR(files_bitswap_finish_into(&b, buf, n - 1, ref_fill, &src, &got),
              FASTN_ERR_TOO_LARGE);
    src.calls = 0;
    src.fail = FASTN_ERR_IO;
    CHECK_ERR(files_bitswap_finish_into(&b, buf, n, ref_fill, &src, &got),
              FASTN_ERR_IO);
    free(buf);
    free(big);
    files_bitswap_builder_cleanup(&a);
    files_bitswap_builder_cleanup(&b);
}

int main(void)
{
    RUN(roundtrip);
    RUN(exact_bytes);
    RUN(blocks_named_by_their_data);
    RUN(malformed);
    RUN(want_list_of_100000);
    RUN(block_sizes);
    RUN(blocks_left_unhashed);
    RUN(builder_entry_limit);
    RUN(framing);
    RUN(blocks_by_reference);
    return test_done();
}
