/* Unit tests for plugins/mail/lib/addr.c and util.c: fastn mail addresses
 * against the PeerID forms of src/util/peer_id.c (base58btc and the base32
 * CIDv1 of libp2p/specs peer-ids.md), letter case, what is refused; and
 * base64 (RFC 4648 section 10 vectors). */
#include "mail.h"
#include "test.h"
#include "util/peer_id.h"

/* peer-ids.md's example, and an Ed25519 PeerID (identity multihash) */
#define RSA_B58 "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
#define RSA_CID "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe"
#define ED_B58 "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
#define ED_CID                                                                 \
    "bafzaajaiaejcal72gwuz2or47oyxxn6b3rkwdmmkrxgkjxzy3rqt5kczyn7lcm3l"

static void check_peer(const char *b58, const char *cid)
{
    struct peer_id id, back;
    char dom[MAIL_DOMAIN_MAX], want[MAIL_DOMAIN_MAX];
    uint8_t mh[MAIL_PEER_MAX];

    CHECK_ERR(peer_id_parse(b58, &id), 0);
    snprintf(want, sizeof(want), "%s.fastn", cid);
    CHECK_EQ(mail_domain_format(id.bytes, id.len, dom, sizeof(dom)),
             strlen(want));
    CHECK_STR(dom, want);
    /* the project's own parser reads the domain's CID as the same peer */
    dom[strlen(cid)] = '\0';
    CHECK_ERR(peer_id_parse(dom, &back), 0);
    CHECK(peer_id_equal(&id, &back));
    /* and back from the domain, in any case, with a trailing dot */
    CHECK_EQ(mail_domain_parse(want, strlen(want), mh, sizeof(mh)), id.len);
    CHECK(memcmp(mh, id.bytes, id.len) == 0);
    for (char *p = want; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    strcat(want, ".");
    CHECK_EQ(mail_domain_parse(want, strlen(want), mh, sizeof(mh)), id.len);
    CHECK(memcmp(mh, id.bytes, id.len) == 0);
}

TEST(domain_matches_peer_id_forms)
{
    check_peer(ED_B58, ED_CID);
    check_peer(RSA_B58, RSA_CID);
}

TEST(domain_from_every_key)
{
    /* PeerIDs of generated keys: format, parse back, compare */
    for (int i = 0; i < 64; i++) {
        uint8_t pk[IDENTITY_PUBKEY_LEN], mh[MAIL_PEER_MAX];
        struct peer_id id;
        char dom[MAIL_DOMAIN_MAX];
        for (int j = 0; j < IDENTITY_PUBKEY_LEN; j++)
            pk[j] = (uint8_t)(i * 37 + j * 11);
        peer_id_from_pubkey(pk, &id);
        int n = mail_domain_format(id.bytes, id.len, dom, sizeof(dom));
        CHECK(n > 0);
        CHECK_EQ(mail_domain_parse(dom, (size_t)n, mh, sizeof(mh)), id.len);
        CHECK(memcmp(mh, id.bytes, id.len) == 0);
    }
}

static int parse_dom(const char *s)
{
    uint8_t mh[MAIL_PEER_MAX];
    return mail_domain_parse(s, strlen(s), mh, sizeof(mh));
}

TEST(domain_refuses)
{
    CHECK_ERR(parse_dom(ED_CID), FASTN_ERR_BAD_PEER_ID); /* no suffix */
    CHECK_ERR(parse_dom(ED_CID ".fastm"), FASTN_ERR_BAD_PEER_ID);
    CHECK_ERR(parse_dom(".fastn"), FASTN_ERR_BAD_PEER_ID);
    CHECK_ERR(parse_dom("b.fastn"), FASTN_ERR_BAD_PEER_ID);
    CHECK_ERR(parse_dom(ED_B58 ".fastn"), FASTN_ERR_BAD_PEER_ID); /* base58 */
    CHECK_ERR(parse_dom("z" ED_CID ".fastn"), FASTN_ERR_BAD_PEER_ID);
    /* a dag-pb CID (codec 0x70) is not a PeerID */
    CHECK_ERR(parse_dom("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy"
                        "55fbzdi.fastn"),
              FASTN_ERR_BAD_PEER_ID);
    /* one character less, one more, a bad character, non-zero tail bits */
    char s[128];
    snprintf(s, sizeof(s), "%.*s.fastn", (int)strlen(ED_CID) - 1, ED_CID);
    CHECK_ERR(parse_dom(s), FASTN_ERR_BAD_PEER_ID);
    snprintf(s, sizeof(s), "%sa.fastn", ED_CID);
    CHECK_ERR(parse_dom(s), FASTN_ERR_BAD_PEER_ID);
    snprintf(s, sizeof(s), "%s.fastn", ED_CID);
    s[10] = '1';
    CHECK_ERR(parse_dom(s), FASTN_ERR_BAD_PEER_ID);
    snprintf(s, sizeof(s), "%s.fastn", RSA_CID); /* 36 bytes: 2 spare bits */
    s[strlen(RSA_CID) - 1] = 'f'; /* 'e' + 1: a bit the encoder zeroes */
    CHECK_ERR(parse_dom(s), FASTN_ERR_BAD_PEER_ID);
}

TEST(addr_parse_and_format)
{
    struct mail_addr a;
    struct peer_id id;
    char s[MAIL_ADDR_MAX];
    const char *in = "Alice.B+tag@" ED_CID ".fastn";

    CHECK_ERR(peer_id_parse(ED_B58, &id), 0);
    CHECK_ERR(mail_addr_parse(in, strlen(in), &a), 0);
    CHECK_STR(a.local, "Alice.B+tag");
    CHECK_EQ(a.peer_len, id.len);
    CHECK(memcmp(a.peer, id.bytes, id.len) == 0);
    CHECK_EQ(mail_addr_format("Alice.B+tag", id.bytes, id.len, s, sizeof(s)),
             strlen(in));
    CHECK_STR(s, in);
    CHECK_ERR(mail_addr_format("a..b", id.bytes, id.len, s, sizeof(s)),
              FASTN_ERR_MALFORMED);
    CHECK_ERR(mail_addr_format("a", id.bytes, id.len, s, 20),
              FASTN_ERR_TOO_LARGE);
}

static int parse_addr(const char *s)
{
    struct mail_addr a;
    return mail_addr_parse(s, strlen(s), &a);
}

TEST(addr_refuses)
{
    char s[256];

    CHECK_ERR(parse_addr("alice"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse_addr("@" ED_CID ".fastn"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse_addr(".a@" ED_CID ".fastn"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse_addr("a.@" ED_CID ".fastn"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse_addr("a b@" ED_CID ".fastn"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse_addr("\"a\"@" ED_CID ".fastn"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse_addr("a@example.com"), FASTN_ERR_BAD_PEER_ID);
    memset(s, 'x', 65);
    snprintf(s + 65, sizeof(s) - 65, "@%s.fastn", ED_CID);
    CHECK_ERR(parse_addr(s), FASTN_ERR_MALFORMED); /* local part > 64 */
    CHECK_ERR(parse_addr(s + 1), 0);
}

static void check_b64(const char *plain, const char *enc)
{
    uint8_t d[64];
    char e[64];
    CHECK_EQ(
        mail_base64_encode((const uint8_t *)plain, strlen(plain), e, sizeof(e)),
        strlen(enc));
    CHECK_STR(e, enc);
    CHECK_EQ(mail_base64_decode(enc, strlen(enc), d, sizeof(d)), strlen(plain));
    CHECK(memcmp(d, plain, strlen(plain)) == 0);
}

TEST(base64_rfc4648)
{
    uint8_t d[8];

    check_b64("", "");
    check_b64("f", "Zg==");
    check_b64("fo", "Zm8=");
    check_b64("foo", "Zm9v");
    check_b64("foob", "Zm9vYg==");
    check_b64("fooba", "Zm9vYmE=");
    check_b64("foobar", "Zm9vYmFy");
    CHECK_ERR(mail_base64_decode("Zg=", 3, d, 8), FASTN_ERR_MALFORMED);
    CHECK_ERR(mail_base64_decode("Zh==", 4, d, 8), FASTN_ERR_MALFORMED);
    CHECK_ERR(mail_base64_decode("Z===", 4, d, 8), FASTN_ERR_MALFORMED);
    CHECK_ERR(mail_base64_decode("Zg==Zg==", 8, d, 8), FASTN_ERR_MALFORMED);
    CHECK_ERR(mail_base64_decode("Zm 9", 4, d, 8), FASTN_ERR_MALFORMED);
    CHECK_ERR(mail_base64_decode("Zm9vYmFy", 8, d, 5), FASTN_ERR_TOO_LARGE);
}

int main(void)
{
    RUN(domain_matches_peer_id_forms);
    RUN(domain_from_every_key);
    RUN(domain_refuses);
    RUN(addr_parse_and_format);
    RUN(addr_refuses);
    RUN(base64_rfc4648);
    return test_done();
}
