/* Unit tests for src/net/noise and noise_crypto: HMAC and HKDF known
 * answers, the published Noise_XX_25519_ChaChaPoly_SHA256 vectors
 * (cacophony and snow), the libp2p handshake between two connections and
 * against a hand-built peer, the PeerID check, early muxer negotiation,
 * the transport phase and each way a handshake or a frame can be bad. */
#include "net/noise.h"

#include <pthread.h>
#include <stdlib.h>

#include "net/noise_int.h"
#include "net/noise_pool.h"
#include "test.h"

static size_t unhex(const char *h, uint8_t *out, size_t max)
{
    size_t n = strlen(h) / 2;
    if (n > max)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* RFC 4231 test case 2 and RFC 5869 test case 3 (empty salt = an all-zero
 * chaining key, no info: exactly Noise's HKDF). */
TEST(hmac_hkdf_known_answers)
{
    uint8_t out[32], o1[32], o2[32], want[64], ck[32] = {0}, ikm[22];
    const char *msg = "what do ya want for nothing?";

    noise_hmac_sha256((const uint8_t *)"Jefe", 4, (const uint8_t *)msg,
                      strlen(msg), NULL, 0, out);
    unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
          want, 32);
    CHECK_MEM(out, want, 32);
    memset(ikm, 0x0b, sizeof(ikm));
    noise_hkdf2(ck, ikm, sizeof(ikm), o1, o2);
    unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
          "9d201395faa4b61a96c8",
          want, 42);
    CHECK_MEM(o1, want, 32);
    CHECK_MEM(o2, want + 32, 10);
}

/* Test vectors (data) from the cacophony and snow vector files, every
 * message of the Noise_XX_25519_ChaChaPoly_SHA256 entries. */
struct vector {
    const char *prologue, *init_static, *init_eph, *resp_static, *resp_eph;
    const char *hash; /* may be NULL */
    const char *msgs[6][2];
};

static const struct vector vectors[] = {
    {"4a6f686e2047616c74",
     "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
     "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
     "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
     "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
     "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e",
     {{"4c756477696720766f6e204d69736573",
       "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
       "4c756477696720766f6e204d69736573"},
      {"4d757272617920526f746862617264",
       "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843"
       "81cbad1f276e038c48378ffce2b65285e08d6b68aaa3629a5a8639392490e5b9"
       "bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f"
       "8814c7194e83f23dbd8d162c9326ad"},
      {"462e20412e20486179656b",
       "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a8"
       "0ae475b9df0f169ae80a89be0865b57f58c9fea0d4ec82a286427402f113e4b6"
       "ae769a1d95941d49b25030"},
      {"4361726c204d656e676572",
       "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df"},
      {"4a65616e2d426170746973746520536179",
       "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5"},
      {"457567656e2042f6686d20766f6e2042617765726b",
       "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a5"
       "8502ae3f"}}},
    {"5468657265206973206e6f20726967687420616e642077726f6e672e2054686572"
     "652773206f6e6c792066756e20616e6420626f72696e672e",
     "7dec208517a3b81a2861d7a71266d5d6dc944c5a8816634a86fe63198a0148ee",
     "a32daf21e93c0131495ce1d903181fde81cc46937daaeb990bae7c992709421e",
     "4d0aed5098e3b4ef20357e9f686ce66204c792b358da2e475017d6c485304881",
     "4eece0f195d026db035ff987597c429d3ad3bcc2944df37d649528951b2a27c5",
     NULL,
     {{"d03c489139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34",
       "f9fa868ba97ab8a2686deccfaad5a484ee10a5bb85e3d1dce015a84797f92818"
       "d03c489139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34"},
      {"d8190a92f7dc0c93dbea9118ba8055751fb7c6590c416ffbd419964132b99a85",
       "8c4e6fdb7d09d501a86f7eca5c234522751706ed409182c05cdf5f827d4dae47"
       "b81c6c5f43b025692c24391eefee725c17d8cb0fbe3e4abb8aedf42c4fd2592d"
       "4ea48ac08989d6ae8b4adae08b2c34087c808c7aa55a63c02b0fab9e93061233"
       "6bd43eaea04d3c670a0a146691aa9cc9d357872320dc735dbc48580cffb553db"},
      {"77891b19dcb92ef7c055b672c4a5aa7fdf1c84146b8b303459022729473ce254",
       "933ca6b5ed60df3df66121f0ab49a09e49efa45c613a86a3cecbf4c535cef2f8"
       "3f72b42837b18e3572f2fdc2b74c331e2368a545cef54bdca081678ab0e9dd53"
       "48122459e0c034c851984d88ce610963d43cde6cfe73a67fbd5a63e8bfca96d0"},
      {"d7efdf988072881941db045a42882433817555128fbf5663e56081712ec7d212",
       "54ef0ff0629e1aaa7685a2806ab111cba76b52331f2642276736f415868eacb6"
       "9ab2577f3bda0cbf72f879685f6ed25f"},
      {"dd7bf01a588bafb52c6cfba952e5d8fe35cc2b3f92b4730ae2474615157345ce",
       "356be70f110306d5c699bb834bb9d58d909e325924dfbec972e406e6f294dc63"
       "e1daebefe8a62a334facc8048ab4ad66"},
      {NULL, NULL}}},
};

static void run_vector(const struct vector *v)
{
    struct noise_hs hs[2];
    struct noise_cipher tx[2], rx[2];
    uint8_t pro[128], key[32], buf[512], want[512], pay[256];
    size_t plen = unhex(v->prologue, pro, sizeof(pro));

    unhex(v->init_static, key, 32);
    noise_hs_init(&hs[0], true, pro, plen, key);
    unhex(v->init_eph, key, 32);
    noise_hs_set_ephemeral(&hs[0], key);
    unhex(v->resp_static, key, 32);
    noise_hs_init(&hs[1], false, pro, plen, key);
    unhex(v->resp_eph, key, 32);
    noise_hs_set_ephemeral(&hs[1], key);

    for (int i = 0; i < 6 && v->msgs[i][0]; i++) {
        int s = i % 2; /* even messages are the initiator's */
        size_t n = unhex(v->msgs[i][0], pay, sizeof(pay)), len;
        size_t wn = unhex(v->msgs[i][1], want, sizeof(want));
        uint8_t *got;
        size_t gotlen;
        if (i < 3) {
            CHECK_ERR(noise_hs_write(&hs[s], pay, n, buf, sizeof(buf), &len),
                      0);
            CHECK_EQ(len, wn);
            CHECK_MEM(buf, want, wn);
            CHECK_ERR(noise_hs_read(&hs[1 - s], buf, len, &got, &gotlen), 0);
            CHECK_EQ(gotlen, n);
            CHECK_MEM(got, pay, n);
            if (i == 2) {
                CHECK_MEM(hs[0].ss.h, hs[1].ss.h, 32);
                if (v->hash) {
                    unhex(v->hash, key, 32);
                    CHECK_MEM(hs[0].ss.h, key, 32);
                }
                noise_hs_split(&hs[0], &tx[0], &rx[0]);
                noise_hs_split(&hs[1], &tx[1], &rx[1]);
            }
            continue;
        }
        CHECK_ERR(noise_cipher_seal(&tx[s], NULL, 0, pay, n, buf), 0);
        CHECK_EQ(n + 16, wn);
        CHECK_MEM(buf, want, wn);
        CHECK_ERR(noise_cipher_open(&rx[1 - s], NULL, 0, buf, wn), 0);
        CHECK_MEM(buf, pay, n);
    }
}

TEST(cacophony_vector)
{
    CHECK_ERR(identity_global_init(), 0);
    run_vector(&vectors[0]);
}

TEST(snow_vector)
{
    CHECK_ERR(identity_global_init(), 0);
    run_vector(&vectors[1]);
}

/* --- libp2p handshakes -------------------------------------------------- */

static const char *yamux[] = {"/yamux/1.0.0"};

struct peer {
    struct identity id;
    struct noise_local local;
    struct noise_conn *c;
    struct buf out;
};

static void peer_init(struct peer *p, uint8_t seed, const char *const *mux,
                      size_t nmux)
{
    uint8_t s[32] = {seed};
    p->c = NULL;
    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_from_seed(&p->id, s), 0);
    CHECK_ERR(noise_local_init(&p->local, &p->id, mux, nmux), 0);
    buf_init(&p->out, 1 << 20);
}

static void peer_cleanup(struct peer *p)
{
    noise_conn_free(p->c);
    noise_local_cleanup(&p->local);
    identity_cleanup(&p->id);
    buf_cleanup(&p->out);
}

/* Moves a peer's output into the other's input, one byte at a time when
 * bytewise (messages split across reads). */
static void transfer(struct peer *from, struct peer *to, bool bytewise)
{
    size_t step = bytewise ? 1 : from->out.len;
    for (size_t i = 0; i < from->out.len; i += step)
        CHECK_EQ(noise_feed(to->c, from->out.data + i, step), (int)step);
    buf_reset(&from->out);
}

/* Runs the handshake; returns the first error or NOISE_DONE. */
static int handshake(struct peer *d, struct peer *l, bool bytewise)
{
    int r;
    CHECK_ERR(noise_start(d->c, &d->out), 0);
    CHECK_ERR(noise_start(l->c, &l->out), 0);
    CHECK(l->out.len == 0);
    transfer(d, l, bytewise);
    r = noise_handshake(l->c, &l->out);
    if (r < 0)
        return r;
    transfer(l, d, bytewise);
    r = noise_handshake(d->c, &d->out);
    if (r != NOISE_DONE)
        return r;
    transfer(d, l, bytewise);
    return noise_handshake(l->c, &l->out);
}

static void read_all(struct noise_conn *c, struct buf *into)
{
    uint8_t *p;
    size_t n;
    int r;
    while ((r = noise_read(c, &p, &n)) == 1) {
        buf_append(into, p, n);
        noise_consume(c, n);
    }
    CHECK_ERR(r, 0);
}

TEST(libp2p_handshake_and_transport)
{
    struct peer d, l;
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        peer_init(&d, 1, yamux, 1);
        peer_init(&l, 2, yamux, 1);
        d.c = noise_conn_new(&d.local, true, &l.id.id);
        l.c = noise_conn_new(&l.local, false, NULL);
        CHECK_ERR(handshake(&d, &l, bytewise), NOISE_DONE);
        CHECK(noise_is_established(d.c) && noise_is_established(l.c));
        CHECK(peer_id_equal(noise_remote_peer(d.c), &l.id.id));
        CHECK(peer_id_equal(noise_remote_peer(l.c), &d.id.id));
        CHECK_STR(noise_early_muxer(d.c), "/yamux/1.0.0");
        CHECK_STR(noise_early_muxer(l.c), "/yamux/1.0.0");

        /* 200 KB one way (several frames), a short reply the other */
        static uint8_t big[200000];
        for (size_t i = 0; i < sizeof(big); i++)
            big[i] = (uint8_t)(i * 31);
        struct buf got;
        buf_init(&got, 1 << 20);
        CHECK_ERR(noise_write(d.c, big, sizeof(big), &d.out), 0);
        CHECK_EQ(d.out.len, sizeof(big) + 4 * 18);
        transfer(&d, &l, bytewise);
        read_all(l.c, &got);
        CHECK_EQ(got.len, sizeof(big));
        CHECK_MEM(got.data, big, sizeof(big));
        buf_reset(&got);
        CHECK_ERR(noise_write(l.c, (const uint8_t *)"pong", 4, &l.out), 0);
        transfer(&l, &d, bytewise);
        read_all(d.c, &got);
        CHECK_EQ(got.len, 4);
        CHECK_MEM(got.data, "pong", 4);
        buf_cleanup(&got);
        peer_cleanup(&d);
        peer_cleanup(&l);
    }
}

TEST(wrong_peer_is_refused_before_message_3)
{
    struct peer d, l, other;
    peer_init(&d, 1, yamux, 1);
    peer_init(&l, 2, yamux, 1);
    peer_init(&other, 3, yamux, 1);
    d.c = noise_conn_new(&d.local, true, &other.id.id);
    l.c = noise_conn_new(&l.local, false, NULL);
    CHECK_ERR(handshake(&d, &l, false), FASTN_ERR_NET_WRONG_PEER);
    CHECK_EQ(d.out.len, 0); /* nothing of ours was sent */
    CHECK(!noise_is_established(d.c));
    CHECK(noise_remote_peer(d.c) == NULL);
    /* a failed connection keeps failing */
    CHECK_ERR(noise_handshake(d.c, &d.out), FASTN_ERR_NET_WRONG_PEER);
    uint8_t *p;
    size_t n;
    CHECK_ERR(noise_read(d.c, &p, &n), FASTN_ERR_NET_WRONG_PEER);
    peer_cleanup(&d);
    peer_cleanup(&l);
    peer_cleanup(&other);
}

TEST(early_muxer_cases)
{
    static const char *mplex_yamux[] = {"/mplex/6.7.0", "/yamux/1.0.0"};
    static const char *yamux_mplex[] = {"/yamux/1.0.0", "/mplex/6.7.0"};
    static const char *mplex[] = {"/mplex/6.7.0"};
    struct peer d, l;

    /* the initiator's preference wins (inlined-muxer-negotiation.md) */
    peer_init(&d, 1, yamux_mplex, 2);
    peer_init(&l, 2, mplex_yamux, 2);
    d.c = noise_conn_new(&d.local, true, NULL);
    l.c = noise_conn_new(&l.local, false, NULL);
    CHECK_ERR(handshake(&d, &l, false), NOISE_DONE);
    CHECK_STR(noise_early_muxer(d.c), "/yamux/1.0.0");
    CHECK_STR(noise_early_muxer(l.c), "/yamux/1.0.0");
    peer_cleanup(&d);
    peer_cleanup(&l);

    /* one side sends no list: multistream-select will choose */
    peer_init(&d, 1, yamux, 1);
    peer_init(&l, 2, NULL, 0);
    d.c = noise_conn_new(&d.local, true, NULL);
    l.c = noise_conn_new(&l.local, false, NULL);
    CHECK_ERR(handshake(&d, &l, false), NOISE_DONE);
    CHECK(noise_early_muxer(d.c) == NULL);
    CHECK(noise_early_muxer(l.c) == NULL);
    peer_cleanup(&d);
    peer_cleanup(&l);

    /* both send lists without overlap: the handshake must fail */
    peer_init(&d, 1, mplex, 1);
    peer_init(&l, 2, yamux, 1);
    d.c = noise_conn_new(&d.local, true, NULL);
    l.c = noise_conn_new(&l.local, false, NULL);
    CHECK_ERR(handshake(&d, &l, false), FASTN_ERR_NET_HANDSHAKE);
    peer_cleanup(&d);
    peer_cleanup(&l);
}

/* Builds the payload a libp2p peer sends, byte by byte as the spec
 * describes it, independently of noise.c's encoder. */
static size_t spec_payload(const struct identity *id, const uint8_t spub[32],
                           const char *muxer, uint8_t *out)
{
    uint8_t msg[24 + 32];
    size_t k = 0, m = muxer ? strlen(muxer) : 0;
    memcpy(msg, "noise-libp2p-static-key:", 24);
    memcpy(msg + 24, spub, 32);
    out[k++] = 0x0a; /* field 1, bytes */
    out[k++] = 36;
    memcpy(out + k, "\x08\x01\x12\x20", 4);
    memcpy(out + k + 4, id->pubkey, 32);
    k += 36;
    out[k++] = 0x12; /* field 2, bytes */
    out[k++] = 64;
    identity_sign(id, msg, sizeof(msg), out + k);
    k += 64;
    if (muxer) {
        out[k++] = 0x22; /* field 4: NoiseExtensions */
        out[k++] = (uint8_t)(m + 2);
        out[k++] = 0x12; /* stream_muxers */
        out[k++] = (uint8_t)m;
        memcpy(out + k, muxer, m);
        k += m;
    }
    return k;
}

/* The initiator against a responder assembled from the vector-checked
 * HandshakeState and a hand-encoded payload, with fixed keys: message 1
 * is exactly the ephemeral key, and message 3 carries exactly the payload
 * the spec describes. */
TEST(initiator_against_hand_built_responder)
{
    struct peer d;
    struct identity rid;
    struct noise_hs hs;
    uint8_t seed[32] = {9}, rs[32] = {5}, re[32] = {6}, de[32] = {4};
    uint8_t rspub[32], depub[32], dspub[32], payload[256], msg[512];
    size_t plen, n;
    uint8_t *got;
    size_t gotlen;

    peer_init(&d, 1, yamux, 1);
    CHECK_ERR(identity_from_seed(&rid, seed), 0);
    d.c = noise_conn_new(&d.local, true, &rid.id);
    noise_conn_set_ephemeral(d.c, de);
    noise_x25519_pub(de, depub);
    noise_x25519_pub(rs, rspub);
    CHECK_ERR(noise_start(d.c, &d.out), 0);
    CHECK_EQ(d.out.len, 2 + 32);
    CHECK_MEM(d.out.data, "\x00\x20", 2);
    CHECK_MEM(d.out.data + 2, depub, 32);

    noise_hs_init(&hs, false, NULL, 0, rs);
    noise_hs_set_ephemeral(&hs, re);
    CHECK_ERR(noise_hs_read(&hs, d.out.data + 2, 32, &got, &gotlen), 0);
    CHECK_EQ(gotlen, 0);
    buf_reset(&d.out);
    plen = spec_payload(&rid, rspub, "/yamux/1.0.0", payload);
    CHECK_ERR(noise_hs_write(&hs, payload, plen, msg + 2, 510, &n), 0);
    msg[0] = (uint8_t)(n >> 8);
    msg[1] = (uint8_t)n;
    CHECK_EQ(noise_feed(d.c, msg, n + 2), (int)(n + 2));
    CHECK_ERR(noise_handshake(d.c, &d.out), NOISE_DONE);
    CHECK_STR(noise_early_muxer(d.c), "/yamux/1.0.0");

    /* message 3: s, se, and our payload, exactly as the spec lays it out */
    CHECK_EQ((size_t)(d.out.data[0] << 8 | d.out.data[1]), d.out.len - 2);
    CHECK_ERR(noise_hs_read(&hs, d.out.data + 2, d.out.len - 2, &got, &gotlen),
              0);
    noise_x25519_pub(d.local.static_priv, dspub);
    CHECK_MEM(hs.rs, dspub, 32);
    plen = spec_payload(&d.id, dspub, "/yamux/1.0.0", payload);
    CHECK_EQ(gotlen, plen);
    CHECK_MEM(got, payload, plen);

    /* and the transport keys agree */
    struct noise_cipher tx, rx;
    noise_hs_split(&hs, &tx, &rx);
    buf_reset(&d.out);
    CHECK_ERR(noise_write(d.c, (const uint8_t *)"hello", 5, &d.out), 0);
    CHECK_ERR(noise_cipher_open(&rx, NULL, 0, d.out.data + 2, 21), 0);
    CHECK_MEM(d.out.data + 2, "hello", 5);
    identity_cleanup(&rid);
    peer_cleanup(&d);
}

/* A responder that answers message 1 with a payload we control. */
static int respond_with(struct peer *d, const uint8_t *payload, size_t plen,
                        const uint8_t rs[32])
{
    struct noise_hs hs;
    uint8_t msg[1024], *got;
    size_t n, gotlen;

    noise_hs_init(&hs, false, NULL, 0, rs);
    noise_start(d->c, &d->out);
    noise_hs_read(&hs, d->out.data + 2, d->out.len - 2, &got, &gotlen);
    buf_reset(&d->out);
    noise_hs_write(&hs, payload, plen, msg + 2, sizeof(msg) - 2, &n);
    msg[0] = (uint8_t)(n >> 8);
    msg[1] = (uint8_t)n;
    noise_feed(d->c, msg, n + 2);
    return noise_handshake(d->c, &d->out);
}

TEST(bad_payloads)
{
    struct peer d;
    struct identity rid;
    uint8_t seed[32] = {9}, rs[32] = {5}, rspub[32], payload[256];
    size_t plen;

    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_from_seed(&rid, seed), 0);
    noise_x25519_pub(rs, rspub);
    plen = spec_payload(&rid, rspub, NULL, payload);

    /* the good payload is accepted */
    peer_init(&d, 1, yamux, 1);
    d.c = noise_conn_new(&d.local, true, NULL);
    CHECK_ERR(respond_with(&d, payload, plen, rs), NOISE_DONE);
    peer_cleanup(&d);

    /* a signature over another key */
    payload[40] ^= 1;
    peer_init(&d, 1, yamux, 1);
    d.c = noise_conn_new(&d.local, true, NULL);
    CHECK_ERR(respond_with(&d, payload, plen, rs), FASTN_ERR_NET_HANDSHAKE);
    peer_cleanup(&d);
    payload[40] ^= 1;

    /* a secp256k1 identity key (type 2): not supported */
    payload[3] = 2;
    peer_init(&d, 1, yamux, 1);
    d.c = noise_conn_new(&d.local, true, NULL);
    CHECK_ERR(respond_with(&d, payload, plen, rs), FASTN_ERR_NET_HANDSHAKE);
    peer_cleanup(&d);
    payload[3] = 1;

    /* no signature field, and a truncated protobuf */
    peer_init(&d, 1, yamux, 1);
    d.c = noise_conn_new(&d.local, true, NULL);
    CHECK_ERR(respond_with(&d, payload, 38, rs), FASTN_ERR_NET_HANDSHAKE);
    peer_cleanup(&d);
    peer_init(&d, 1, yamux, 1);
    d.c = noise_conn_new(&d.local, true, NULL);
    CHECK_ERR(respond_with(&d, payload, plen - 1, rs), FASTN_ERR_NET_HANDSHAKE);
    peer_cleanup(&d);
    identity_cleanup(&rid);
}

TEST(bad_handshake_messages)
{
    struct peer d, l;
    peer_init(&d, 1, yamux, 1);
    peer_init(&l, 2, yamux, 1);

    /* message 1 shorter than a key */
    l.c = noise_conn_new(&l.local, false, NULL);
    noise_start(l.c, &l.out);
    CHECK_EQ(noise_feed(l.c,
                        (const uint8_t *)"\x00\x0a"
                                         "0123456789",
                        12),
             12);
    CHECK_ERR(noise_handshake(l.c, &l.out), FASTN_ERR_NET_HANDSHAKE);
    noise_conn_free(l.c);

    /* a flipped bit in message 2 */
    d.c = noise_conn_new(&d.local, true, NULL);
    l.c = noise_conn_new(&l.local, false, NULL);
    noise_start(d.c, &d.out);
    noise_start(l.c, &l.out);
    transfer(&d, &l, false);
    CHECK_ERR(noise_handshake(l.c, &l.out), 0);
    l.out.data[60] ^= 0x40;
    transfer(&l, &d, false);
    CHECK_ERR(noise_handshake(d.c, &d.out), FASTN_ERR_NET_HANDSHAKE);
    noise_conn_free(d.c);
    noise_conn_free(l.c);

    /* a flipped bit in message 3 */
    d.c = noise_conn_new(&d.local, true, NULL);
    l.c = noise_conn_new(&l.local, false, NULL);
    noise_start(d.c, &d.out);
    noise_start(l.c, &l.out);
    transfer(&d, &l, false);
    noise_handshake(l.c, &l.out);
    transfer(&l, &d, false);
    CHECK_ERR(noise_handshake(d.c, &d.out), NOISE_DONE);
    d.out.data[d.out.len - 1] ^= 1;
    transfer(&d, &l, false);
    CHECK_ERR(noise_handshake(l.c, &l.out), FASTN_ERR_NET_HANDSHAKE);

    /* transport before the handshake, and calls out of turn */
    uint8_t *p;
    size_t n;
    CHECK_ERR(noise_start(d.c, &d.out), FASTN_ERR_INVAL);
    noise_conn_free(l.c);
    l.c = noise_conn_new(&l.local, false, NULL);
    CHECK_ERR(noise_read(l.c, &p, &n), FASTN_ERR_INVAL);
    CHECK_ERR(noise_write(l.c, p, 0, &l.out), FASTN_ERR_INVAL);
    uint8_t frame[64];
    CHECK_ERR(noise_seal_frame(l.c, frame, 1), FASTN_ERR_INVAL);
    peer_cleanup(&d);
    peer_cleanup(&l);
}

static void established(struct peer *d, struct peer *l)
{
    peer_init(d, 1, yamux, 1);
    peer_init(l, 2, yamux, 1);
    d->c = noise_conn_new(&d->local, true, NULL);
    l->c = noise_conn_new(&l->local, false, NULL);
    CHECK_ERR(handshake(d, l, false), NOISE_DONE);
}

TEST(bad_transport_frames)
{
    struct peer d, l;
    uint8_t *p;
    size_t n;

    established(&d, &l);
    noise_write(d.c, (const uint8_t *)"abc", 3, &d.out);
    noise_write(d.c, (const uint8_t *)"def", 3, &d.out);
    /* replayed, reordered or corrupted frames fail authentication */
    CHECK_EQ(noise_feed(l.c, d.out.data + 21, 21), 21);
    CHECK_ERR(noise_read(l.c, &p, &n), FASTN_ERR_NET_DECRYPT);
    CHECK_ERR(noise_read(l.c, &p, &n), FASTN_ERR_NET_DECRYPT);
    peer_cleanup(&d);
    peer_cleanup(&l);

    established(&d, &l);
    /* a frame shorter than its tag */
    CHECK_EQ(noise_feed(l.c,
                        (const uint8_t *)"\x00\x03"
                                         "abc",
                        5),
             5);
    CHECK_ERR(noise_read(l.c, &p, &n), FASTN_ERR_NET_DECRYPT);
    peer_cleanup(&d);
    peer_cleanup(&l);
}

/* Two sessions in one thread, frames alternating between them (the
 * cipher context of a thread keeps the last key: each frame must still
 * use its own session's), and a forged frame on one between good frames
 * of the other. */
TEST(interleaved_sessions)
{
    struct peer d1, l1, d2, l2;
    struct buf got1, got2;
    uint8_t *p;
    size_t n;

    established(&d1, &l1);
    established(&d2, &l2);
    buf_init(&got1, 1 << 16);
    buf_init(&got2, 1 << 16);
    /* the same bytes under the same nonce seal differently in each */
    CHECK_ERR(noise_write(d1.c, (const uint8_t *)"same", 4, &d1.out), 0);
    CHECK_ERR(noise_write(d2.c, (const uint8_t *)"same", 4, &d2.out), 0);
    CHECK_EQ(d1.out.len, d2.out.len);
    CHECK(memcmp(d1.out.data, d2.out.data, d1.out.len) != 0);
    transfer(&d1, &l1, false);
    transfer(&d2, &l2, false);
    read_all(l1.c, &got1);
    read_all(l2.c, &got2);
    CHECK(got1.len == 4 && got2.len == 4);
    buf_reset(&got1);
    buf_reset(&got2);
    for (int i = 0; i < 50; i++) {
        uint8_t m1[3] = {'a', (uint8_t)i, 1}, m2[3] = {'b', (uint8_t)i, 2};
        CHECK_ERR(noise_write(d1.c, m1, 3, &d1.out), 0);
        CHECK_ERR(noise_write(d2.c, m2, 3, &d2.out), 0);
        CHECK_ERR(noise_write(l1.c, m2, 3, &l1.out), 0); /* the other way */
        transfer(&d1, &l1, false);
        transfer(&d2, &l2, false);
        transfer(&l1, &d1, false);
        read_all(l1.c, &got1);
        read_all(l2.c, &got2);
        read_all(d1.c, &got1);
    }
    CHECK_EQ(got1.len, 300);
    CHECK_EQ(got2.len, 150);
    for (int i = 0; i < 50; i++) {
        CHECK_EQ(got1.data[6 * i], 'a');
        CHECK_EQ(got1.data[6 * i + 1], i);
        CHECK_EQ(got1.data[6 * i + 3], 'b');
        CHECK_EQ(got2.data[3 * i], 'b');
        CHECK_EQ(got2.data[3 * i + 1], i);
    }
    /* a forged frame for session 1, then session 2 and 1's sender go on */
    CHECK_ERR(noise_write(d1.c, (const uint8_t *)"xyz", 3, &d1.out), 0);
    d1.out.data[4] ^= 1;
    transfer(&d1, &l1, false);
    CHECK_ERR(noise_read(l1.c, &p, &n), FASTN_ERR_NET_DECRYPT);
    buf_reset(&got2);
    CHECK_ERR(noise_write(d2.c, (const uint8_t *)"ok", 2, &d2.out), 0);
    transfer(&d2, &l2, false);
    read_all(l2.c, &got2);
    CHECK_EQ(got2.len, 2);
    CHECK(!memcmp(got2.data, "ok", 2));
    buf_cleanup(&got1);
    buf_cleanup(&got2);
    peer_cleanup(&d1);
    peer_cleanup(&l1);
    peer_cleanup(&d2);
    peer_cleanup(&l2);
}

TEST(in_place_frames_and_partial_consumption)
{
    struct peer d, l;
    static uint8_t frame[NOISE_FRAME_MAX];
    uint8_t *p;
    size_t n, room;
    int len;

    established(&d, &l);
    for (size_t i = 0; i < NOISE_MAX_PLAIN; i++)
        frame[2 + i] = (uint8_t)i;
    len = noise_seal_frame(d.c, frame, NOISE_MAX_PLAIN);
    CHECK_EQ(len, NOISE_FRAME_MAX);
    CHECK_EQ(frame[0], 0xff);
    CHECK_EQ(frame[1], 0xff);
    CHECK_ERR(noise_seal_frame(d.c, frame, NOISE_MAX_PLAIN + 1),
              FASTN_ERR_INVAL);

    /* zero-copy receive: read straight into the connection's buffer */
    CHECK_ERR(noise_rx_space(l.c, (size_t)len, &p, &room), 0);
    CHECK(room >= (size_t)len);
    memcpy(p, frame, (size_t)len);
    noise_rx_commit(l.c, (size_t)len);
    CHECK_EQ(noise_read(l.c, &p, &n), 1);
    CHECK_EQ(n, NOISE_MAX_PLAIN);
    CHECK_EQ(p[1000], (uint8_t)1000);
    noise_consume(l.c, 1000);
    /* more data arrives before the rest was used: nothing is lost */
    noise_write(d.c, (const uint8_t *)"tail", 4, &d.out);
    transfer(&d, &l, true);
    CHECK_EQ(noise_read(l.c, &p, &n), 1);
    CHECK_EQ(n, NOISE_MAX_PLAIN - 1000);
    CHECK_EQ(p[0], (uint8_t)1000);
    CHECK_EQ(noise_rx_pending(l.c), NOISE_MAX_PLAIN - 1000 + 22);
    noise_consume(l.c, n);
    CHECK_EQ(noise_read(l.c, &p, &n), 1);
    CHECK_EQ(n, 4);
    CHECK_MEM(p, "tail", 4);
    noise_consume(l.c, n);
    CHECK_EQ(noise_read(l.c, &p, &n), 0);
    peer_cleanup(&d);
    peer_cleanup(&l);
}

/* --- frames on the crypto pool (noise_pool.h) ---------------------------- */

#define POOL_FRAMES 24

/* Frame i's plaintext: its index and a pattern, of a length that varies. */
static size_t pool_plain(size_t i, uint8_t *p)
{
    size_t n = NOISE_MAX_PLAIN - (i % 3) * 20000 - i;
    for (size_t j = 0; j < n; j++)
        p[j] = (uint8_t)(i * 7 + j);
    return n;
}

/* d's frames, sealed "later" (every third one sealed at once with
 * noise_write instead, between them), then the later ones sealed on the
 * pool in reverse order; all the frames in one buffer, in order. */
static void pool_seal_all(struct peer *d, struct buf *wire)
{
    static uint8_t frames[POOL_FRAMES][NOISE_FRAME_MAX];
    static uint8_t plain[NOISE_MAX_PLAIN];
    struct noise_job jobs[POOL_FRAMES];
    size_t at[POOL_FRAMES], len[POOL_FRAMES], k = 0;

    for (size_t i = 0; i < POOL_FRAMES; i++) {
        size_t n = pool_plain(i, plain);
        if (i % 3 == 2) {
            CHECK_ERR(noise_write(d->c, plain, n, wire), 0);
            continue;
        }
        memcpy(frames[i] + NOISE_FRAME_HEAD, plain, n);
        int w = noise_seal_frame_later(d->c, frames[i], n, &jobs[k]);
        CHECK_EQ(w, (int)(n + NOISE_FRAME_HEAD + NOISE_TAG_LEN));
        at[k] = wire->len;
        len[k] = (size_t)w;
        CHECK_ERR(buf_reserve(wire, (size_t)w), 0);
        wire->len += (size_t)w; /* filled once sealed */
        k++;
    }
    for (size_t a = 0, b = k - 1; a < b; a++, b--) { /* reverse order */
        struct noise_job t = jobs[a];
        jobs[a] = jobs[b];
        jobs[b] = t;
    }
    noise_pool_run(jobs, k);
    for (size_t j = 0; j < k; j++) {
        CHECK_ERR(jobs[j].err, 0);
        size_t i = k - 1 - j; /* the job's frame, in taking order */
        const uint8_t *f = jobs[j].buf - NOISE_FRAME_HEAD;
        CHECK_EQ(at[i] + len[i] <= wire->len, 1);
        memcpy(wire->data + at[i], f, len[i]);
    }
}

/* Reads every frame of wire (fed in pieces of step bytes through a lent
 * buffer, as the swarm reads) and checks each frame's bytes in order;
 * returns how many frames were read before an error (*err). */
static size_t pool_read_all(struct peer *l, const struct buf *wire, size_t step,
                            int *err)
{
    static uint8_t lend[4 << 20], want[NOISE_MAX_PLAIN];
    size_t off = 0, frames = 0;
    uint8_t *p, *dst;
    size_t n, room;
    int r = 0;

    for (;;) {
        size_t take = wire->len - off < step ? wire->len - off : step;
        bool stopped = false;
        CHECK_ERR(noise_rx_lend(l->c, lend, sizeof(lend), &dst, &room), 0);
        CHECK(room >= take);
        memcpy(dst, wire->data + off, take);
        noise_rx_commit(l->c, take);
        off += take;
        while ((r = noise_read(l->c, &p, &n)) == 1) {
            CHECK_EQ(n, pool_plain(frames, want));
            CHECK_MEM(p, want, n);
            noise_consume(l->c, n);
            frames++;
            if (frames % 5 == 1) {
                stopped = true; /* mid-batch: the rest moves with unlend */
                break;
            }
        }
        CHECK_ERR(noise_rx_unlend(l->c), 0);
        if (r < 0 || (off == wire->len && !stopped))
            break;
    }
    *err = r < 0 ? r : 0;
    return frames;
}
/* A frame sealed from a head in the frame and data elsewhere (split at
 * lengths on and off the cipher's 64-byte blocks) opens as the same
 * bytes sealed in one piece, and the nonces stay in step with
 * noise_write's frames after it. */
TEST(frames_sealed_from_outside_bytes)
{
    static const size_t heads[] = {0, 1, 12, 63, 64, 65, 200};
    static const size_t lens[] = {0, 1, 52, 64, 100, 4096, 65000};
    static uint8_t frame[NOISE_FRAME_MAX], src[NOISE_MAX_PLAIN];
    struct peer d, l;
    uint8_t *p;
    size_t n, room;

    established(&d, &l);
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7 + 3);
    for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
        for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
            size_t hn = heads[h], len = lens[k];
            if (hn + len > NOISE_MAX_PLAIN)
                continue;
            memset(frame + 2, 0xa5, hn);
            int w = noise_seal_frame_from(d.c, frame, hn, src, len);
            CHECK_EQ(w, (int)(2 + hn + len + 16));
            CHECK_ERR(noise_rx_space(l.c, (size_t)w, &p, &room), 0);
            memcpy(p, frame, (size_t)w);
            noise_rx_commit(l.c, (size_t)w);
            if (hn + len == 0) { /* an empty frame carries nothing */
                CHECK_EQ(noise_read(l.c, &p, &n), 0);
                continue;
            }
            CHECK_EQ(noise_read(l.c, &p, &n), 1);
            CHECK_EQ(n, hn + len);
            for (size_t i = 0; i < hn; i++)
                CHECK_EQ(p[i], 0xa5);
            CHECK(!memcmp(p + hn, src, len));
            noise_consume(l.c, n);
        }
    }
    CHECK_ERR(noise_seal_frame_from(d.c, frame, 12, src, NOISE_MAX_PLAIN - 11),
              FASTN_ERR_INVAL);
    CHECK_ERR(noise_write(d.c, (const uint8_t *)"next", 4, &d.out), 0);
    transfer(&d, &l, true);
    CHECK_EQ(noise_read(l.c, &p, &n), 1);
    CHECK_MEM(p, "next", 4);
    peer_cleanup(&d);
    peer_cleanup(&l);
}

/* Frames sealed out of order on the pool and opened in batches arrive
 * as if sealed and opened one by one, whatever the pieces they come in
 * and however many workers there are (none, 1, 3). */
TEST(pool_frames_keep_their_order)
{
    static const unsigned workers[] = {0, 1, 3};
    static const size_t steps[] = {4 << 20, 300000, 65536, 7};

    for (size_t w = 0; w < 3; w++) {
        /* 0 in the environment: none (0 as the argument: the cores) */
        setenv("FASTN_CRYPTO_THREADS", workers[w] ? "" : "0", 1);
        CHECK_ERR(noise_pool_acquire(workers[w]), 0);
        CHECK_EQ(noise_pool_workers(), workers[w]);
        for (size_t s = 0; s < 4; s++) {
            struct peer d, l;
            struct buf wire;
            int err;
            established(&d, &l);
            buf_init(&wire, 8 << 20);
            pool_seal_all(&d, &wire);
            CHECK_EQ(pool_read_all(&l, &wire, steps[s], &err), POOL_FRAMES);
            CHECK_ERR(err, 0);
            buf_cleanup(&wire);
            peer_cleanup(&d);
            peer_cleanup(&l);
        }
        noise_pool_release();
        CHECK_EQ(noise_pool_workers(), 0);
    }
    unsetenv("FASTN_CRYPTO_THREADS");
}

/* A forged frame in the middle of a batch: the frames before it are
 * delivered, then the connection fails, and stays failed. */
TEST(pool_forged_frame_in_a_batch)
{
    struct peer d, l;
    struct buf wire;
    uint8_t *p;
    size_t n;
    int err;

    CHECK_ERR(noise_pool_acquire(2), 0);
    established(&d, &l);
    buf_init(&wire, 8 << 20);
    pool_seal_all(&d, &wire);
    /* frame 7's first ciphertext byte (frames 0..6 come before it) */
    size_t at = 0;
    for (int i = 0; i < 7; i++)
        at +=
            NOISE_FRAME_HEAD + ((size_t)wire.data[at] << 8 | wire.data[at + 1]);
    wire.data[at + NOISE_FRAME_HEAD] ^= 1;
    CHECK_EQ(pool_read_all(&l, &wire, wire.len, &err), 7);
    CHECK_ERR(err, FASTN_ERR_NET_DECRYPT);
    CHECK_ERR(noise_read(l.c, &p, &n), FASTN_ERR_NET_DECRYPT);
    buf_cleanup(&wire);
    peer_cleanup(&d);
    peer_cleanup(&l);
    noise_pool_release();
}

/* Batches from several threads at once: each is done whole, by its
 * caller alone when another holds the workers. */
struct pool_thread_arg {
    uint8_t key[32];
    int ok;
};

static void *pool_thread(void *arg)
{
    struct pool_thread_arg *a = arg;
    static _Thread_local uint8_t bufs[8][4096 + 16];
    struct noise_job jobs[8];

    a->ok = 1;
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 8; i++) {
            memset(bufs[i], (uint8_t)(i + round), 4096);
            jobs[i] = (struct noise_job){.key = a->key,
                                         .nonce = (uint64_t)(round * 8 + i),
                                         .buf = bufs[i],
                                         .len = 4096,
                                         .seal = 1};
        }
        noise_pool_run(jobs, 8);
        for (int i = 0; i < 8; i++) {
            jobs[i].seal = 0;
            jobs[i].err = -1;
        }
        noise_pool_run(jobs, 8);
        for (int i = 0; i < 8; i++)
            if (jobs[i].err || bufs[i][4095] != (uint8_t)(i + round))
                a->ok = 0;
    }
    noise_crypto_thread_end();
    return NULL;
}

TEST(pool_batches_from_many_threads)
{
    pthread_t th[4];
    struct pool_thread_arg args[4];

    CHECK_ERR(noise_pool_acquire(2), 0);
    CHECK_ERR(noise_pool_acquire(0), 0); /* a second user: no new threads */
    CHECK_EQ(noise_pool_workers(), 2);
    for (int i = 0; i < 4; i++) {
        memset(args[i].key, i + 1, sizeof(args[i].key));
        CHECK_EQ(pthread_create(&th[i], NULL, pool_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(args[i].ok, 1);
    }
    noise_pool_release();
    CHECK_EQ(noise_pool_workers(), 2); /* one user left */
    noise_pool_release();
    CHECK_EQ(noise_pool_workers(), 0);
}

TEST(nonce_exhaustion)
{
    struct noise_cipher c;
    uint8_t k[32] = {1}, buf[64] = {0};
    noise_cipher_init(&c, k);
    c.n = UINT64_MAX - 1;
    CHECK_ERR(noise_cipher_seal(&c, NULL, 0, buf, 8, buf), 0);
    CHECK_ERR(noise_cipher_seal(&c, NULL, 0, buf, 8, buf), FASTN_ERR_CRYPTO);
    c.n = UINT64_MAX;
    CHECK_ERR(noise_cipher_open(&c, NULL, 0, buf, 24), FASTN_ERR_CRYPTO);
}

TEST(local_init_limits)
{
    struct identity id;
    struct noise_local l;
    uint8_t seed[32] = {1};
    const char *many[] = {"/a", "/b", "/c", "/d", "/e"};
    char longname[80];
    const char *lng[] = {longname};
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_from_seed(&id, seed), 0);
    CHECK_ERR(noise_local_init(&l, &id, many, 5), FASTN_ERR_INVAL);
    CHECK_ERR(noise_local_init(&l, &id, lng, 1), FASTN_ERR_INVAL);
    CHECK_ERR(noise_local_init(&l, &id, many, 4), 0);
    struct noise_payload pl;
    CHECK_ERR(noise_payload_decode(l.payload, l.payload_len, &pl), 0);
    CHECK_EQ(pl.n_muxers, 4);
    CHECK_EQ(pl.identity_sig_len, 64);
    noise_local_cleanup(&l);
    identity_cleanup(&id);
}

int main(void)
{
    RUN(hmac_hkdf_known_answers);
    RUN(cacophony_vector);
    RUN(snow_vector);
    RUN(libp2p_handshake_and_transport);
    RUN(wrong_peer_is_refused_before_message_3);
    RUN(early_muxer_cases);
    RUN(initiator_against_hand_built_responder);
    RUN(bad_payloads);
    RUN(bad_handshake_messages);
    RUN(bad_transport_frames);
    RUN(interleaved_sessions);
    RUN(in_place_frames_and_partial_consumption);
    RUN(frames_sealed_from_outside_bytes);
    RUN(pool_frames_keep_their_order);
    RUN(pool_forged_frame_in_a_batch);
    RUN(pool_batches_from_many_threads);
    RUN(nonce_exhaustion);
    RUN(local_init_limits);
    return test_done();
}
