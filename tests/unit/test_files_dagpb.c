/* Unit tests for plugins/files/lib/dagpb.c and unixfs.c: the dag-pb
 * fixtures of ipld/codec-fixtures decode and re-encode to the same bytes
 * and CIDs; what the dag-pb spec's strictness rules refuse; UnixFS Data
 * in and out, and what its decoder refuses. */
#include "files_harness.h"
#include "test.h"

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = strlen(s) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

struct fixture {
    const char *name, *hex, *cid;
};

/* ipld/ipld specs/codecs/dag-pb/fixtures/cross-codec: bytes and CIDs */
static const struct fixture fixtures[] = {
    {"empty", "",
     "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"},
    {"Data_zero", "0a00",
     "bafybeiaqfni3s5s2k2r6rgpxz4hohdsskh44ka5tk6ztbjerqpvxwfkwaq"},
    {"Data_some", "0a050001020304",
     "bafybeibazl2z4vqp2tmwcfag6wirmtpnomxknqcgrauj7m2yisrz3qjbom"},
    {"Links_Hash_some", "120b0a09015500050001020304",
     "bafybeia53f5n75ituvc3yupuf7tdnxf6fqetrmo2alc6g6iljkmk7ys5mm"},
    {"Links_Hash_some_Name_zero", "120d0a090155000500010203041200",
     "bafybeie7fstnkm4yshfwnmpp7d3mlh4f4okmk7a54d6c3ffr755q7qzk44"},
    {"Links_Hash_some_Tsize_some",
     "12140a0901550005000102030418ffffffffffffff0f",
     "bafybeiezymjvhwfuharanxmzxwuomzjjuzqjewjolr4phaiyp6l7qfwo64"},
    {"1link",
     "12240a2212207521fe19c374a97759226dc5c0c8e674e73950e81b211f7dd3b6b30883a"
     "08a51",
     "bafybeihyivpglm6o6wrafbe36fp5l67abmewk7i2eob5wacdbhz7as5obe"},
    {"2link+data",
     "12340a2212208ab7a6c5e74737878ac73863cb76739d15d4666de44e5756bf55a2f9e9"
     "ab5f431209736f6d65206c696e6b1880c2d72f12370a2212208ab7a6c5e74737878ac7"
     "3863cb76739d15d4666de44e5756bf55a2f9e9ab5f44120f736f6d65206f7468657220"
     "6c696e6b18080a09736f6d652064617461",
     "bafybeibh647pmxyksmdm24uad6b5f7tx4dhvilzbg2fiqgzll4yek7g7y4"},
    {"4namedlinks+data",
     "12390a221220b4397c02da5513563d33eef894bf68f2ccdf1bdfc14a976956ab3d1c72"
     "f735a0120e617564696f5f6f6e6c792e6d346118cda88f0b12310a221220025c13fcd1"
     "a885df444f64a4a82a26aea867b1148c68cb671e83589f971149321208636861742e74"
     "787418e40712340a2212205d44a305b9b328ab80451d0daa72a12a7bf2763c5f8bbe32"
     "7597a31ee40d1e48120c706c61796261636b2e6d3375187412360a2212202539ed6e85"
     "f2a6f9097db9d76cffd49bf3042eb2e3e8e9af4a3ce842d49dea22120a7a6f6f6d5f30"
     "2e6d70341897fb8592010a020801",
     "bafybeigcsevw74ssldzfwhiijzmg7a35lssfmjkuoj2t5qs5u5aztj47tq"},
    {"simple_forms_2",
     "120b0a0901550005000102030412100a09015500050001020304120362617212100a09"
     "0155000500010203041203666f6f",
     "bafybeiahfgovhod2uvww72vwdgatl5r6qkoeegg7at2bghiokupfphqcku"},
};

TEST(fixtures_roundtrip)
{
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        const struct fixture *f = &fixtures[i];
        uint8_t in[1024], out[1024];
        size_t n = unhex(f->hex, in);
        struct files_pbnode nd;
        struct files_pblink links[16];
        struct files_pblink_iter it;
        size_t k = 0;
        char cid[FILES_CID_STR_MAX];
        struct files_cid c;

        CHECK_ERR(files_pbnode_decode(in, n, &nd), 0);
        files_pbnode_links(&nd, &it);
        while (k < 16 && files_pblink_next(&it, &links[k]))
            k++;
        CHECK_EQ(k, nd.nlinks);
        int m = files_pbnode_encode(links, k, nd.data, nd.data_len, nd.has_data,
                                    out, sizeof(out));
        if (m != (int)n || memcmp(in, out, n))
            fprintf(stderr, "fixture %s does not re-encode\n", f->name);
        CHECK_EQ(m, n);
        CHECK_MEM(in, out, n);
        files_cid_of(1, FILES_CODEC_DAG_PB, in, n, &c);
        files_cid_format(&c, cid, sizeof(cid));
        CHECK_STR(cid, f->cid);
    }
}

TEST(fixture_fields)
{
    uint8_t in[1024];
    size_t n = unhex(fixtures[8].hex, in); /* 4namedlinks+data */
    struct files_pbnode nd;
    struct files_pblink l;
    struct files_pblink_iter it;

    CHECK_ERR(files_pbnode_decode(in, n, &nd), 0);
    CHECK_EQ(nd.nlinks, 4);
    CHECK(nd.has_data);
    CHECK_EQ(nd.data_len, 2);
    files_pbnode_links(&nd, &it);
    CHECK_EQ(files_pblink_next(&it, &l), 1);
    CHECK(l.has_name && l.name_len == 14 &&
          !memcmp(l.name, "audio_only.m4a", 14));
    CHECK(l.has_tsize && l.tsize == 23319629);
    CHECK_EQ(l.cid.version, 0);
}

static int decode_hex(const char *hex)
{
    uint8_t in[512];
    struct files_pbnode nd;
    return files_pbnode_decode(in, unhex(hex, in), &nd);
}

TEST(strictness)
{
    /* the link: 0a09 015500050001020304 (an identity CID), name 1203 "bar" */
    /* Data first, then Links: accepted (IPFS data exists in both forms) */
    CHECK_ERR(decode_hex("0a0101120b0a09015500050001020304"), 0);
    /* Links, Data, Links: not contiguous */
    CHECK_ERR(decode_hex("120b0a090155000500010203040a0101"
                         "120b0a09015500050001020304"),
              FASTN_ERR_FILES_BAD_DAG);
    /* two Data fields */
    CHECK_ERR(decode_hex("0a01010a0102"), FASTN_ERR_FILES_BAD_DAG);
    /* a PBNode field 3; a varint where Data should be */
    CHECK_ERR(decode_hex("1a0101"), FASTN_ERR_FILES_BAD_DAG);
    CHECK_ERR(decode_hex("0801"), FASTN_ERR_FILES_BAD_DAG);
    /* link fields out of order (Name before Hash), twice (two Hashes,
     * two Tsizes), missing (no Hash), unknown (field 4), bad wire type */
    CHECK_ERR(decode_hex("12101203626172"
                         "0a09015500050001020304"),
              FASTN_ERR_FILES_BAD_DAG);
    CHECK_ERR(decode_hex("12160a090155000500010203040a09015500050001020304"),
              FASTN_ERR_FILES_BAD_DAG);
    CHECK_ERR(decode_hex("120f0a0901550005000102030418011802"),
              FASTN_ERR_FILES_BAD_DAG);
    CHECK_ERR(decode_hex("12051203626172"), FASTN_ERR_FILES_BAD_DAG);
    CHECK_ERR(decode_hex("120d0a090155000500010203042001"),
              FASTN_ERR_FILES_BAD_DAG);
    CHECK_ERR(decode_hex("120d0a090155000500010203041001"),
              FASTN_ERR_FILES_BAD_DAG);
    /* a Hash that is not a CID */
    CHECK_ERR(decode_hex("12050a03020304"), FASTN_ERR_FILES_BAD_DAG);
    /* cut short: inside a length, inside a link */
    CHECK_ERR(decode_hex("0a05010203"), FASTN_ERR_FILES_BAD_DAG);
    CHECK_ERR(decode_hex("120b0a090155000500010203"), FASTN_ERR_FILES_BAD_DAG);
    /* a field number 0 */
    CHECK_ERR(decode_hex("0201"), FASTN_ERR_FILES_BAD_DAG);
}

TEST(pblink_size_matches)
{
    struct files_pblink l;
    uint8_t out[256];
    memset(&l, 0, sizeof(l));
    files_cid_of(1, FILES_CODEC_RAW, "x", 1, &l.cid);
    l.name = (const uint8_t *)"a name";
    l.name_len = 6;
    l.has_name = true;
    l.tsize = 300;
    l.has_tsize = true;
    int n = files_pbnode_encode(&l, 1, NULL, 0, false, out, sizeof(out));
    CHECK_EQ(n, files_pblink_size(36, 6, true, 300, true));
    /* too small a buffer */
    CHECK_ERR(files_pbnode_encode(&l, 1, NULL, 0, false, out, 10),
              FASTN_ERR_TOO_LARGE);
}

TEST(unixfs_roundtrip)
{
    uint8_t buf[256];
    uint64_t bs[3] = {262144, 262144, 5};
    struct files_unixfs u, d;
    memset(&u, 0, sizeof(u));
    u.type = FILES_UNIXFS_FILE;
    u.filesize = 524293;
    u.has_filesize = true;
    u.mode = 0755;
    u.has_mode = true;
    u.mtime_secs = 1700000000;
    u.mtime_nsecs = 5;
    u.has_mtime = u.has_mtime_nsecs = true;
    int n = files_unixfs_encode(&u, bs, 3, buf, sizeof(buf));
    CHECK(n > 0);
    CHECK_ERR(files_unixfs_decode(buf, (size_t)n, &d), 0);
    CHECK_EQ(d.type, FILES_UNIXFS_FILE);
    CHECK(d.has_filesize && d.filesize == 524293);
    CHECK_EQ(d.nblocksizes, 3);
    CHECK(d.blocksizes_sum == 524293);
    CHECK(d.has_mode && d.mode == 0755);
    CHECK(d.has_mtime && d.mtime_secs == 1700000000 && d.mtime_nsecs == 5);
    size_t off = 0;
    uint64_t v;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(files_unixfs_blocksize_next(&d, &off, &v), 1);
        CHECK(v == bs[i]);
    }
    CHECK_EQ(files_unixfs_blocksize_next(&d, &off, &v), 0);
    /* the canonical bytes of a leaf: Type, Data, filesize (as both
     * importers write them) */
    memset(&u, 0, sizeof(u));
    u.type = FILES_UNIXFS_FILE;
    u.data = (const uint8_t *)"hi";
    u.data_len = 2;
    u.has_data = true;
    u.filesize = 2;
    u.has_filesize = true;
    n = files_unixfs_encode(&u, NULL, 0, buf, sizeof(buf));
    const uint8_t want[] = {0x08, 0x02, 0x12, 0x02, 'h', 'i', 0x18, 0x02};
    CHECK_EQ(n, sizeof(want));
    CHECK_MEM(buf, want, sizeof(want));
}

static int unixfs_hex(const char *hex)
{
    uint8_t in[256];
    struct files_unixfs u;
    return files_unixfs_decode(in, unhex(hex, in), &u);
}

TEST(unixfs_refused)
{
    CHECK_ERR(unixfs_hex("0802"), 0);
    /* unknown fields are skipped (varint, fixed64, bytes, fixed32) */
    CHECK_ERR(unixfs_hex("08024801510102030405060708520100"
                         "5d01020304"),
              0);
    CHECK_ERR(unixfs_hex(""), FASTN_ERR_FILES_BAD_DAG);         /* no Type */
    CHECK_ERR(unixfs_hex("1801"), FASTN_ERR_FILES_BAD_DAG);     /* no Type */
    CHECK_ERR(unixfs_hex("0806"), FASTN_ERR_FILES_BAD_DAG);     /* Type 6 */
    CHECK_ERR(unixfs_hex("08020802"), FASTN_ERR_FILES_BAD_DAG); /* twice */
    CHECK_ERR(unixfs_hex("080218011801"), FASTN_ERR_FILES_BAD_DAG);
    CHECK_ERR(unixfs_hex("0802120012"), FASTN_ERR_FILES_BAD_DAG); /* cut */
    CHECK_ERR(unixfs_hex("0a0102"), FASTN_ERR_FILES_BAD_DAG);     /* Type LEN */
    CHECK_ERR(unixfs_hex("08022201"), FASTN_ERR_FILES_BAD_DAG);   /* packed */
    CHECK_ERR(unixfs_hex("08023b"), FASTN_ERR_FILES_BAD_DAG);     /* group */
    /* mode over 32 bits */
    CHECK_ERR(unixfs_hex("0802388080808010"), FASTN_ERR_FILES_BAD_DAG);
    /* mtime: nanoseconds 0 and 10^9 refused, 999999999 fine */
    CHECK_ERR(unixfs_hex("0802420715000000000801"), FASTN_ERR_FILES_BAD_DAG);
    CHECK_ERR(unixfs_hex("0802420708011500ca9a3b"), FASTN_ERR_FILES_BAD_DAG);
    CHECK_ERR(unixfs_hex("08024207080115ffc99a3b"), 0);
    /* blocksizes that overflow 64 bits add up as "overflow" */
    uint8_t in[64];
    struct files_unixfs u;
    size_t n = unhex("080220ffffffffffffffffff0120ffffffffffffffffff01", in);
    CHECK_ERR(files_unixfs_decode(in, n, &u), 0);
    CHECK(u.blocksizes_overflow);
}

int main(void)
{
    RUN(fixtures_roundtrip);
    RUN(fixture_fields);
    RUN(strictness);
    RUN(pblink_size_matches);
    RUN(unixfs_roundtrip);
    RUN(unixfs_refused);
    return test_done();
}
