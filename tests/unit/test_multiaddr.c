/* Unit tests for src/util/multiaddr.c: known encodings from the
 * multiaddr spec's protocol table, round trips, and bad input. */
#include "identity/identity.h"
#include "util/multiaddr.h"
#include "test.h"

static void check_hex(const char *text, const char *hex)
{
    struct buf b;
    char back[MULTIADDR_MAX * 2], got[512] = "";

    buf_init(&b, 4096);
    CHECK_ERR(multiaddr_parse(text, &b), 0);
    for (size_t i = 0; i < b.len && 2 * i + 2 < sizeof(got); i++)
        sprintf(got + 2 * i, "%02x", b.data[i]);
    CHECK_STR(got, hex);
    CHECK_ERR(multiaddr_format(b.data, b.len, back, sizeof(back)), 0);
    CHECK_STR(back, text);
    buf_cleanup(&b);
}

TEST(vectors)
{
    check_hex("/ip4/127.0.0.1/tcp/4001", "047f000001060fa1");
    check_hex("/ip4/0.0.0.0/tcp/0", "0400000000060000");
    check_hex("/ip6/::1/udp/1234/quic-v1", "2900000000000000000000000000000001"
                                           "9102"
                                           "04d2"
                                           "cd03");
    check_hex("/dns4/example.com/tcp/443/wss", "36"
                                               "0b"
                                               "6578616d706c652e636f6d"
                                               "0601bb"
                                               "de03");
    check_hex("/unix/tmp/x.sock", "9003"
                                  "0b"
                                  "2f746d702f782e736f636b");
    check_hex("/p2p-circuit", "a202");
    /* /p2p/ carries the PeerID's multihash: length 0x26, then 00 24 ... */
    struct identity id;
    uint8_t seed[32] = {1};
    char pid[PEER_ID_STR_MAX], text[256], hex[256] = "0401020304060001a50326";
    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_from_seed(&id, seed), 0);
    snprintf(text, sizeof(text), "/ip4/1.2.3.4/tcp/1/p2p/%s",
             peer_id_format(&id.id, pid));
    for (size_t i = 0; i < id.id.len; i++)
        sprintf(hex + strlen(hex), "%02x", id.id.bytes[i]);
    check_hex(text, hex);
}

TEST(aliases_and_escapes)
{
    struct buf a, b;
    buf_init(&a, 4096);
    buf_init(&b, 4096);
    /* /ipfs/ is the old name of /p2p/ */
    CHECK_ERR(multiaddr_parse("/ipfs/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7"
                              "DWjhx5N",
                              &a),
              0);
    CHECK_ERR(multiaddr_parse("/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7"
                              "DWjhx5N",
                              &b),
              0);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    buf_reset(&a);
    buf_reset(&b);
    /* js writes a unix path as one URI-encoded component */
    CHECK_ERR(multiaddr_parse("/unix/%2Ftmp%2Fx.sock", &a), 0);
    CHECK_ERR(multiaddr_parse("/unix/tmp/x.sock", &b), 0);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    buf_cleanup(&a);
    buf_cleanup(&b);
}

TEST(bad_text)
{
    static const char *bad[] = {
        "",
        "ip4/1.2.3.4",
        "/ip4",
        "/ip4/1.2.3",
        "/ip4/1.2.3.4/tcp/65536",
        "/ip4/1.2.3.4/tcp/-1",
        "/tcp/x",
        "/nope/1",
        "/ip6/1::2::3",
        "/dns4//tcp/1",
        "/p2p/0OIl",
        "/unix/%zz",
        "/unix/",
        "/tcp/",
        "/unix/a%00b",
    };
    struct buf b;
    buf_init(&b, 4096);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = multiaddr_parse(bad[i], &b);
        if (rc != FASTN_ERR_BAD_MULTIADDR)
            fprintf(stderr, "accepted or wrong error for '%s'\n", bad[i]);
        CHECK_ERR(rc, FASTN_ERR_BAD_MULTIADDR);
        CHECK_EQ(b.len, 0);
    }
    buf_cleanup(&b);
}

TEST(bad_binary)
{
    static const struct {
        size_t n;
        uint8_t b[8];
    } bad[] = {
        {0, {0}},                           /* empty */
        {3, {0x04, 0x7f, 0x00}},            /* truncated ip4 */
        {2, {0x06, 0x01}},                  /* truncated port */
        {2, {0xff, 0x7f}},                  /* unknown protocol */
        {2, {0x36, 0x05}},                  /* length past the end */
        {2, {0x36, 0x00}},                  /* empty dns name */
        {4, {0x36, 0x02, 'a', '/'}},        /* slash in a name */
        {5, {0x90, 0x03, 0x01, '/', 0x04}}, /* data after a path */
        {1, {0x80}},                        /* truncated varint */
        {3, {0x84, 0x00, 1}},               /* non-minimal protocol code */
        {4, {0x36, 0x81, 0x00, 97}},        /* non-minimal length */
    };
    char out[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_ERR(multiaddr_format(bad[i].b, bad[i].n, out, sizeof(out)),
                  FASTN_ERR_BAD_MULTIADDR);
    uint8_t ok[] = {0x04, 127, 0, 0, 1};
    CHECK_ERR(multiaddr_format(ok, sizeof(ok), out, 8), FASTN_ERR_TOO_LARGE);
}

int main(void)
{
    RUN(vectors);
    RUN(aliases_and_escapes);
    RUN(bad_text);
    RUN(bad_binary);
    return test_done();
}
