/* Unit tests for src/identity: the peer-ids spec vectors, key files, the
 * legacy key form, PeerID text forms and signatures. */
#include <fcntl.h>
#include <sys/stat.h>

#include "identity/identity.h"
#include "test.h"

static int unhex(const char *h, uint8_t *out, size_t max)
{
    size_t n = strlen(h) / 2;
    if (n > max)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return (int)n;
}

/* libp2p/specs peer-ids/peer-ids.md, "Test vectors" */
static const char *spec_priv =
    "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d"
    "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
static const char *spec_pub =
    "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";

TEST(spec_vector)
{
    uint8_t raw[128], pub[64], proto[IDENTITY_PUBKEY_PROTO_LEN];
    struct identity id;
    int n = unhex(spec_priv, raw, sizeof(raw));
    int pn = unhex(spec_pub, pub, sizeof(pub));
    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_decode_private(raw, (size_t)n, &id), 0);
    pubkey_encode_proto(id.pubkey, proto);
    CHECK_EQ(pn, IDENTITY_PUBKEY_PROTO_LEN);
    CHECK_MEM(proto, pub, IDENTITY_PUBKEY_PROTO_LEN);
    uint8_t enc[80];
    CHECK_EQ(identity_encode_private(&id, enc, sizeof(enc)), n);
    CHECK_MEM(enc, raw, (size_t)n);
    /* the PeerID is the identity multihash of the public key protobuf */
    CHECK_EQ(id.id.len, 38);
    CHECK_EQ(id.id.bytes[0], 0);
    CHECK_EQ(id.id.bytes[1], 36);
    CHECK_MEM(id.id.bytes + 2, pub, 36);
    char s[PEER_ID_STR_MAX];
    peer_id_format(&id.id, s);
    CHECK(strncmp(s, "12D3KooW", 8) == 0);
    struct peer_id back;
    CHECK_ERR(peer_id_parse(s, &back), 0);
    CHECK(peer_id_equal(&back, &id.id));
    identity_cleanup(&id);
}

TEST(legacy_96_byte_key)
{
    uint8_t raw[128];
    struct identity a, b;
    int n = unhex(spec_priv, raw, sizeof(raw));
    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_decode_private(raw, (size_t)n, &a), 0);
    /* seed || pub || pub, data length 96 */
    raw[3] = 96;
    memcpy(raw + 4 + 64, a.pubkey, 32);
    CHECK_ERR(identity_decode_private(raw, 4 + 96, &b), 0);
    CHECK(peer_id_equal(&a.id, &b.id));
    raw[4 + 95] ^= 1; /* the repeated public key must match */
    CHECK_ERR(identity_decode_private(raw, 4 + 96, &b), FASTN_ERR_BAD_KEY);
}

TEST(bad_keys)
{
    uint8_t raw[128];
    struct identity id;
    int n = unhex(spec_priv, raw, sizeof(raw));
    CHECK_ERR(identity_global_init(), 0);
    for (int cut = 0; cut < n; cut++)
        CHECK(identity_decode_private(raw, (size_t)cut, &id) != 0);
    raw[1] = 0; /* RSA */
    CHECK_ERR(identity_decode_private(raw, (size_t)n, &id),
              FASTN_ERR_UNSUPPORTED);
    raw[1] = 1;
    raw[40] ^= 0x55; /* public half no longer matches the seed */
    CHECK_ERR(identity_decode_private(raw, (size_t)n, &id), FASTN_ERR_BAD_KEY);
}

TEST(key_file_modes)
{
    char dir[] = "/tmp/fastn-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct identity a, b, c;
    enum identity_key_state ks;
    mode_t mode = 0;
    struct stat st;
    char path[300];

    CHECK(dfd >= 0);
    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_key_state_at(dfd, "default.key", &ks), 0);
    CHECK_EQ(ks, IDENTITY_KEY_MISSING);
    CHECK_ERR(identity_load_at(dfd, "default.key", &a, NULL),
              FASTN_ERR_NOT_FOUND);
    umask(022);
    CHECK_ERR(identity_create_at(dfd, "default.key", &a), 0);
    snprintf(path, sizeof(path), "%s/default.key", dir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_EQ(st.st_size, 68);
    CHECK_ERR(identity_key_state_at(dfd, "default.key", &ks), 0);
    CHECK_EQ(ks, IDENTITY_KEY_PRESENT);
    CHECK_ERR(identity_load_at(dfd, "default.key", &b, &mode), 0);
    CHECK_EQ(mode, 0600);
    CHECK(peer_id_equal(&a.id, &b.id));
    /* a second create never replaces the key */
    CHECK_ERR(identity_create_at(dfd, "default.key", &c), FASTN_ERR_EXISTS);
    CHECK_ERR(identity_load_at(dfd, "default.key", &b, NULL), 0);
    CHECK(peer_id_equal(&a.id, &b.id));
    unlink(path);
    close(dfd);
    rmdir(dir);
}

/* A link into a secrets volume: followed for reading when it leads to a
 * key; a link to nothing is told apart and never written through. */
TEST(key_links)
{
    char dir[] = "/tmp/fastn-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    struct identity a, b;
    enum identity_key_state ks;
    char target[300];
    struct stat st;

    CHECK_ERR(identity_global_init(), 0);
    snprintf(target, sizeof(target), "%s/volume.key", dir);
    CHECK(symlinkat(target, dfd, "id.key") == 0);
    CHECK_ERR(identity_key_state_at(dfd, "id.key", &ks), 0);
    CHECK_EQ(ks, IDENTITY_KEY_DANGLING);
    CHECK_ERR(identity_create_at(dfd, "id.key", &a), FASTN_ERR_EXISTS);
    CHECK(stat(target, &st) != 0); /* nothing written through the link */
    /* the volume is there now */
    CHECK_ERR(identity_create_at(dfd, "volume.key", &a), 0);
    CHECK_ERR(identity_key_state_at(dfd, "id.key", &ks), 0);
    CHECK_EQ(ks, IDENTITY_KEY_PRESENT);
    CHECK_ERR(identity_load_at(dfd, "id.key", &b, NULL), 0);
    CHECK(peer_id_equal(&a.id, &b.id));
    /* not a regular file: refused, without hanging on a FIFO */
    CHECK(mkfifoat(dfd, "fifo.key", 0600) == 0);
    CHECK_ERR(identity_load_at(dfd, "fifo.key", &b, NULL), FASTN_ERR_PERM);
    unlinkat(dfd, "fifo.key", 0);
    unlinkat(dfd, "id.key", 0);
    unlinkat(dfd, "volume.key", 0);
    close(dfd);
    rmdir(dir);
}

TEST(sign_verify)
{
    struct identity id;
    uint8_t sig[64];
    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_generate(&id), 0);
    CHECK_ERR(identity_sign(&id, (const uint8_t *)"msg", 3, sig), 0);
    CHECK(identity_verify(id.pubkey, (const uint8_t *)"msg", 3, sig));
    CHECK(!identity_verify(id.pubkey, (const uint8_t *)"msh", 3, sig));
    uint8_t pk[32];
    CHECK(peer_id_get_pubkey(&id.id, pk));
    CHECK_MEM(pk, id.pubkey, 32);
}

TEST(peer_id_text_forms)
{
    struct peer_id p;
    /* a sha256 PeerID (RSA-era "Qm…") parses; its key is not inlined */
    CHECK_ERR(
        peer_id_parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", &p), 0);
    CHECK_EQ(p.len, 34);
    uint8_t pk[32];
    CHECK(!peer_id_get_pubkey(&p, pk));
    CHECK_ERR(peer_id_parse("", &p), FASTN_ERR_BAD_PEER_ID);
    CHECK_ERR(peer_id_parse("hello", &p), FASTN_ERR_BAD_PEER_ID);
    CHECK_ERR(peer_id_parse("12D3KooW", &p), FASTN_ERR_BAD_PEER_ID);
    CHECK_ERR(peer_id_parse("Qm0000", &p), FASTN_ERR_BAD_PEER_ID);
    /* the CIDv1 (libp2p-key, base32) form of a known PeerID */
    struct identity id;
    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_generate(&id), 0);
    uint8_t cid[64];
    cid[0] = 1;
    cid[1] = 0x72;
    memcpy(cid + 2, id.id.bytes, id.id.len);
    size_t n = 2 + id.id.len;
    char text[128] = "b";
    size_t k = 1;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | cid[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            text[k++] = "abcdefghijklmnopqrstuvwxyz234567"[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        text[k++] =
            "abcdefghijklmnopqrstuvwxyz234567"[(acc << (5 - bits)) & 31];
    text[k] = 0;
    CHECK_ERR(peer_id_parse(text, &p), 0);
    CHECK(peer_id_equal(&p, &id.id));
}

int main(void)
{
    RUN(spec_vector);
    RUN(legacy_96_byte_key);
    RUN(bad_keys);
    RUN(key_file_modes);
    RUN(key_links);
    RUN(sign_verify);
    RUN(peer_id_text_forms);
    return test_done();
}
