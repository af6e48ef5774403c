/* Unit tests for plugins/files/lib/cid.c, rd.c and murmur3.c: CIDs in
 * binary and text (known CIDs from the specs and kubo), what the parsers
 * refuse, checking blocks, bitswap prefixes, varints, murmur3. */
#include "files_harness.h"
#include "test.h"

static struct files_cid parse_ok(const char *s)
{
    struct files_cid c;
    memset(&c, 0, sizeof(c));
    CHECK_ERR(files_cid_parse(s, strlen(s), &c), 0);
    return c;
}

static void check_roundtrip(const char *s)
{
    struct files_cid c = parse_ok(s);
    char out[FILES_CID_STR_MAX];
    uint8_t bin[FILES_CID_BYTES_MAX];
    struct files_cid back;

    CHECK_EQ(files_cid_format(&c, out, sizeof(out)), strlen(s));
    CHECK_STR(out, s);
    int n = files_cid_encode(&c, bin, sizeof(bin));
    CHECK(n > 0);
    CHECK_EQ(n, files_cid_encoded_len(&c));
    CHECK_ERR(files_cid_decode(bin, (size_t)n, &back), 0);
    CHECK(files_cid_eq(&c, &back));
}

TEST(known_cids)
{
    /* the empty directory, and the zero-length dag-pb block (dag-pb spec) */
    check_roundtrip("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
    check_roundtrip(
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
    check_roundtrip("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n");
    check_roundtrip(
        "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    /* "hello world" in the two IPIP-499 profiles */
    check_roundtrip(
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
    check_roundtrip("Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");

    struct files_cid c =
        parse_ok("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
    CHECK_EQ(c.version, 1);
    CHECK_EQ(c.codec, FILES_CODEC_RAW);
    CHECK_EQ(c.mh_code, FILES_MH_SHA2_256);
    CHECK_EQ(c.digest_len, 32);
    c = parse_ok("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
    CHECK_EQ(c.version, 0);
    CHECK_EQ(c.codec, FILES_CODEC_DAG_PB);
}

TEST(cid_of_blocks)
{
    struct files_cid c;
    char s[FILES_CID_STR_MAX];

    CHECK_ERR(files_cid_of(1, FILES_CODEC_RAW, "hello world", 11, &c), 0);
    files_cid_format(&c, s, sizeof(s));
    CHECK_STR(s, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
    CHECK_ERR(files_cid_of(0, FILES_CODEC_DAG_PB, "", 0, &c), 0);
    files_cid_format(&c, s, sizeof(s));
    CHECK_STR(s, "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n");
    /* CIDv0 is dag-pb only; there is no version 2 */
    CHECK_ERR(files_cid_of(0, FILES_CODEC_RAW, "", 0, &c), FASTN_ERR_INVAL);
    CHECK_ERR(files_cid_of(2, FILES_CODEC_RAW, "", 0, &c), FASTN_ERR_INVAL);
}

TEST(other_multibases)
{
    struct files_cid b32 =
        parse_ok("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
    uint8_t bin[FILES_CID_BYTES_MAX];
    int n = files_cid_encode(&b32, bin, sizeof(bin));
    char hex[2 * FILES_CID_BYTES_MAX + 2] = "f", up[sizeof(hex)] = "F";
    for (int i = 0; i < n; i++) {
        snprintf(hex + 1 + 2 * i, 3, "%02x", bin[i]);
        snprintf(up + 1 + 2 * i, 3, "%02X", bin[i]);
    }
    struct files_cid c = parse_ok(hex);
    CHECK(files_cid_eq(&c, &b32));
    c = parse_ok(up);
    CHECK(files_cid_eq(&c, &b32));
    c = parse_ok("BAFYBEICZSSCDSBS7FFQZ55ASQDF3SMV6KLCW3GOFSZVWLYARCI47BGF354");
    CHECK(files_cid_eq(&c, &b32));
    /* base58btc with the z prefix: the same CIDv1 */
    c = parse_ok("zdj7WbTaiJT1fgatdet9Ei9iDB5hdCxkbVyhyh8YTUnXMiwYi");
    CHECK_EQ(c.version, 1);
    CHECK_EQ(c.codec, FILES_CODEC_DAG_PB);
}

TEST(bad_text)
{
    struct files_cid c;
    const char *bad[] = {
        "",
        "Q",
        /* a character outside base58 (0) in a CIDv0 */
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3N0",
        /* one character short and long */
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3N",
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nnn",
        /* an unknown multibase, base32 with upper case under 'b' */
        "xafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354",
        "bAFYBEICZSSCDSBS7FFQZ55ASQDF3SMV6KLCW3GOFSZVWLYARCI47BGF354",
        /* base32: a character outside the alphabet; a dropped character
         * (stray bits), a character more */
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf351",
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf35",
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354a",
        /* a CIDv0 in a multibase is not a CID */
        "zQmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
        /* odd base16 */
        "f017",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int err = files_cid_parse(bad[i], strlen(bad[i]), &c);
        if (err != FASTN_ERR_FILES_BAD_CID)
            fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK_ERR(err, FASTN_ERR_FILES_BAD_CID);
    }
    char longs[FILES_CID_STR_MAX + 10];
    memset(longs, 'a', sizeof(longs));
    longs[0] = 'b';
    CHECK_ERR(files_cid_parse(longs, sizeof(longs), &c),
              FASTN_ERR_FILES_BAD_CID);
}

TEST(bad_binary)
{
    struct files_cid c;
    /* version 2; version 0 written as a varint; a non-minimal varint; a
     * digest longer than declared, shorter; a digest over the maximum */
    const uint8_t v2[] = {0x02, 0x55, 0x12, 0x01, 0xaa};
    const uint8_t v0var[] = {0x00, 0x70, 0x12, 0x01, 0xaa};
    const uint8_t nonmin[] = {0x01, 0xd5, 0x00, 0x12, 0x01, 0xaa};
    const uint8_t longer[] = {0x01, 0x55, 0x12, 0x01, 0xaa, 0xbb};
    const uint8_t shorter[] = {0x01, 0x55, 0x12, 0x02, 0xaa};
    uint8_t huge[8 + 200] = {0x01, 0x55, 0x00, 0xc9, 0x01};

    CHECK_ERR(files_cid_decode(v2, sizeof(v2), &c), FASTN_ERR_FILES_BAD_CID);
    CHECK_ERR(files_cid_decode(v0var, sizeof(v0var), &c),
              FASTN_ERR_FILES_BAD_CID);
    CHECK_ERR(files_cid_decode(nonmin, sizeof(nonmin), &c),
              FASTN_ERR_FILES_BAD_CID);
    CHECK_ERR(files_cid_decode(longer, sizeof(longer), &c),
              FASTN_ERR_FILES_BAD_CID);
    CHECK_ERR(files_cid_decode(shorter, sizeof(shorter), &c),
              FASTN_ERR_FILES_BAD_CID);
    CHECK_ERR(files_cid_decode(huge, 5 + 201, &c), FASTN_ERR_FILES_BAD_CID);
    CHECK_ERR(files_cid_decode(v2, 0, &c), FASTN_ERR_FILES_BAD_CID);
    /* a CIDv0 cut short */
    uint8_t v0[34] = {0x12, 0x20};
    CHECK_ERR(files_cid_decode(v0, 33, &c), FASTN_ERR_FILES_BAD_CID);
    CHECK_ERR(files_cid_decode(v0, 34, &c), 0);
    /* a small identity CID is fine (multihash 0x00) */
    const uint8_t id[] = {0x01, 0x55, 0x00, 0x02, 'h', 'i'};
    CHECK_ERR(files_cid_decode(id, sizeof(id), &c), 0);
    CHECK_EQ(c.mh_code, FILES_MH_IDENTITY);
    CHECK_ERR(files_cid_verify(&c, "hi", 2), 0);
    CHECK_ERR(files_cid_verify(&c, "ho", 2), FASTN_ERR_FILES_HASH_MISMATCH);
}

TEST(verify)
{
    struct files_cid c;
    files_cid_of(1, FILES_CODEC_RAW, "block", 5, &c);
    CHECK_ERR(files_cid_verify(&c, "block", 5), 0);
    CHECK_ERR(files_cid_verify(&c, "Block", 5), FASTN_ERR_FILES_HASH_MISMATCH);
    CHECK_ERR(files_cid_verify(&c, "block", 4), FASTN_ERR_FILES_HASH_MISMATCH);
    c.mh_code = 0x13; /* sha2-512: not hashed here */
    CHECK_ERR(files_cid_verify(&c, "block", 5), FASTN_ERR_FILES_CODEC);
    c.mh_code = FILES_MH_SHA2_256;
    c.digest_len = 20; /* a truncated sha2-256 */
    CHECK_ERR(files_cid_verify(&c, "block", 5), FASTN_ERR_FILES_CODEC);
}

TEST(prefixes)
{
    struct files_cid v0, v1, got;
    uint8_t p[32];

    files_cid_of(0, FILES_CODEC_DAG_PB, "node", 4, &v0);
    files_cid_of(1, FILES_CODEC_RAW, "leaf", 4, &v1);
    int n = files_cid_prefix_encode(&v0, p, sizeof(p));
    const uint8_t want0[] = {0x00, 0x70, 0x12, 0x20};
    CHECK_EQ(n, 4);
    CHECK_MEM(p, want0, 4);
    CHECK_ERR(files_cid_prefix_decode(p, 4, "node", 4, &got), 0);
    CHECK(files_cid_eq(&got, &v0));
    n = files_cid_prefix_encode(&v1, p, sizeof(p));
    const uint8_t want1[] = {0x01, 0x55, 0x12, 0x20};
    CHECK_EQ(n, 4);
    CHECK_MEM(p, want1, 4);
    /* the CID is what the data hashes to: other data, another CID */
    CHECK_ERR(files_cid_prefix_decode(p, 4, "LEAF", 4, &got), 0);
    CHECK(!files_cid_eq(&got, &v1));
    /* unsupported hash, bad length, trailing bytes, v0 not dag-pb */
    const uint8_t sha512[] = {0x01, 0x55, 0x13, 0x40};
    const uint8_t short256[] = {0x01, 0x55, 0x12, 0x10};
    const uint8_t trail[] = {0x01, 0x55, 0x12, 0x20, 0x00};
    const uint8_t v0raw[] = {0x00, 0x55, 0x12, 0x20};
    CHECK_ERR(files_cid_prefix_decode(sha512, 4, "x", 1, &got),
              FASTN_ERR_FILES_CODEC);
    CHECK_ERR(files_cid_prefix_decode(short256, 4, "x", 1, &got),
              FASTN_ERR_FILES_CODEC);
    CHECK_ERR(files_cid_prefix_decode(trail, 5, "x", 1, &got),
              FASTN_ERR_FILES_BAD_CID);
    CHECK_ERR(files_cid_prefix_decode(v0raw, 4, "x", 1, &got),
              FASTN_ERR_FILES_BAD_CID);
    /* identity: the data is the digest */
    const uint8_t ident[] = {0x01, 0x55, 0x00, 0x03};
    CHECK_ERR(files_cid_prefix_decode(ident, 4, "abc", 3, &got), 0);
    CHECK_EQ(got.digest_len, 3);
    CHECK_ERR(files_cid_prefix_decode(ident, 4, "abcd", 4, &got),
              FASTN_ERR_FILES_BAD_CID);
}

TEST(varints)
{
    uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT64_MAX};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        uint8_t b[10];
        size_t n = files_uvarint_put(vals[i], b);
        CHECK_EQ(n, files_uvarint_len(vals[i]));
        struct files_rd r;
        uint64_t v;
        files_rd_init(&r, b, n);
        CHECK_ERR(files_rd_pbvarint(&r, &v), 0);
        CHECK(v == vals[i]);
        files_rd_init(&r, b, n - 1);
        CHECK_ERR(files_rd_pbvarint(&r, &v), FASTN_ERR_TRUNCATED);
        CHECK_EQ(r.off, 0);
    }
    /* eleven bytes, or a tenth byte over 1: over 64 bits */
    const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                            0xff, 0xff, 0xff, 0xff, 0x02};
    struct files_rd r;
    uint64_t v;
    files_rd_init(&r, over, sizeof(over));
    CHECK_ERR(files_rd_pbvarint(&r, &v), FASTN_ERR_OVERFLOW);
    /* multiformats varints: minimal, at most 9 bytes */
    const uint8_t nonmin[] = {0x81, 0x00};
    files_rd_init(&r, nonmin, sizeof(nonmin));
    CHECK_ERR(files_rd_mfvarint(&r, &v), FASTN_ERR_MALFORMED);
    files_rd_init(&r, over, 9);
    CHECK_ERR(files_rd_mfvarint(&r, &v), FASTN_ERR_MALFORMED);
}

static void check_murmur(const char *s, const char *hex)
{
    uint8_t h[16];
    char got[33];
    files_murmur3_128(s, strlen(s), h);
    for (int i = 0; i < 16; i++)
        snprintf(got + 2 * i, 3, "%02x", h[i]);
    CHECK_STR(got, hex);
}

TEST(murmur3)
{
    /* from @multiformats/murmur3 (the hash ipfs-unixfs-importer uses):
     * every tail length class */
    check_murmur("", "00000000000000000000000000000000");
    check_murmur("a", "85555565f6597889e6b53a48510e895a");
    check_murmur("hello", "cbd8a7b341bd9b025b1e906a48ae1d19");
    check_murmur("abcdefghijklmno", "8abe2451890c2ffb6a548c2d9c962a61");
    check_murmur("abcdefghijklmnop", "c4ca3ca3224cb7234333d695b331eb1a");
    check_murmur("abcdefghijklmnopq", "7564747f88bda657ecda499da1110de4");
    check_murmur("the quick brown fox jumps over",
                 "e1762aa19b2e347d45703666c06566b7");
    /* the HAMT's bucket at depth d is byte d */
    CHECK_EQ(files_hamt_index((const uint8_t *)"hello", 5, 0), 0xcb);
    CHECK_EQ(files_hamt_index((const uint8_t *)"hello", 5, 7), 0x02);
}

TEST(format_small_buffer)
{
    struct files_cid c =
        parse_ok("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
    char s[20];
    CHECK_ERR(files_cid_format(&c, s, sizeof(s)), FASTN_ERR_TOO_LARGE);
    c = parse_ok("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
    CHECK_ERR(files_cid_format(&c, s, sizeof(s)), FASTN_ERR_TOO_LARGE);
    /* a CIDv0 that is not dag-pb sha2-256 cannot be written */
    c.codec = FILES_CODEC_RAW;
    uint8_t bin[64];
    CHECK_ERR(files_cid_encode(&c, bin, sizeof(bin)), FASTN_ERR_INVAL);
}

int main(void)
{
    RUN(known_cids);
    RUN(cid_of_blocks);
    RUN(other_multibases);
    RUN(bad_text);
    RUN(bad_binary);
    RUN(verify);
    RUN(prefixes);
    RUN(varints);
    RUN(murmur3);
    RUN(format_small_buffer);
    return test_done();
}
