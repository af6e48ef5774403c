/* Unit tests for src/net/kad*: XOR distance, the message codec and its
 * bounds (10,000 closer peers, too many addresses, lying lengths), the
 * routing table (k-buckets, liveness replacement, persistence and a
 * damaged file), lookups over a simulated network (convergence, alpha,
 * peers that flood, loop or time out), record validation, the stores and
 * the server's answers. */
#include "identity/identity.h"
#include "net/kad.h"
#include "net/pb.h"
#include "test.h"
#include "js_vectors.h"

#define SEC 1000000ull

static struct peer_id pid(uint32_t n)
{
    struct identity id;
    uint8_t seed[32] = {0x6b};
    memcpy(seed + 1, &n, sizeof(n));
    identity_from_seed(&id, seed);
    return id.id;
}

static struct multiaddr ma(const char *s)
{
    struct multiaddr m;
    CHECK_ERR(multiaddr_parse(s, &m), 0);
    return m;
}

static const uint8_t *body(const struct buf *b, size_t *n)
{
    struct buf_reader r;
    uint64_t len;
    const uint8_t *p = NULL;
    buf_reader_init(&r, b->data, b->len);
    if (buf_get_uvarint(&r, &len) || buf_get_span(&r, (size_t)len, &p))
        return NULL;
    *n = (size_t)len;
    return p;
}

TEST(distance)
{
    static const uint8_t empty_sha256[32] = {
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
        0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
        0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
    uint8_t h[32], a[32] = {0}, b[32] = {0}, t[32] = {0};

    kad_hash(NULL, 0, h);
    CHECK_MEM(h, empty_sha256, 32);
    CHECK_EQ(kad_common_prefix(a, b), 256);
    b[0] = 0x80;
    CHECK_EQ(kad_common_prefix(a, b), 0);
    b[0] = 0;
    b[3] = 0x01;
    CHECK_EQ(kad_common_prefix(a, b), 31);
    a[0] = 0x01; /* distance 1 from t */
    b[0] = 0x02; /* distance 2 */
    CHECK(kad_distance_cmp(t, a, b) < 0);
    CHECK(kad_distance_cmp(t, b, a) > 0);
    CHECK_EQ(kad_distance_cmp(t, a, a), 0);
}

TEST(codec_roundtrip)
{
    struct kad_msg *m = kad_msg_new(), *back = kad_msg_new();
    struct peer_id p = pid(1);
    struct buf b;
    const uint8_t *q;
    size_t n;

    buf_init(&b, KAD_MAX_MSG * 2);
    CHECK_ERR(kad_request_encode(KAD_FIND_NODE, p.bytes, p.len, &b), 0);
    q = body(&b, &n);
    CHECK_ERR(kad_msg_decode(q, n, back), 0);
    CHECK_EQ(back->type, KAD_FIND_NODE);
    CHECK_EQ(back->key_len, p.len);
    CHECK_MEM(back->key, p.bytes, p.len);
    m->type = KAD_GET_VALUE;
    memcpy(m->key, "/pk/x", 5);
    m->key_len = 5;
    m->has_record = true;
    memcpy(m->rec_key, "/pk/x", 5);
    m->rec_key_len = 5;
    memcpy(m->value, "val", 3);
    m->value_len = 3;
    for (int i = 0; i < 20; i++) {
        m->closer[i].id = pid((uint32_t)i);
        m->closer[i].conn = KAD_CONNECTED;
        m->closer[i].addrs[0] = ma("/ip4/1.2.3.4/tcp/4001");
        m->closer[i].n_addrs = 1;
    }
    m->n_closer = 20;
    m->providers[0].id = pid(99);
    m->n_providers = 1;
    buf_reset(&b);
    CHECK_ERR(kad_msg_encode(m, &b), 0);
    q = body(&b, &n);
    CHECK_ERR(kad_msg_decode(q, n, back), 0);
    CHECK_EQ(back->n_closer, 20);
    CHECK_EQ(back->n_providers, 1);
    CHECK(peer_id_equal(&back->closer[7].id, &m->closer[7].id));
    CHECK_EQ(back->closer[7].conn, KAD_CONNECTED);
    CHECK(multiaddr_equal(&back->closer[7].addrs[0], &m->closer[7].addrs[0]));
    CHECK(back->has_record && back->value_len == 3);
    CHECK_MEM(back->value, "val", 3);
    buf_cleanup(&b);
    kad_msg_free(m);
    kad_msg_free(back);
}

/* A raw answer with n closer peers (each with addrs_each addresses). */
static void flood(struct buf *b, size_t n, size_t addrs_each)
{
    struct buf peer;
    struct multiaddr a = ma("/ip4/9.9.9.9/tcp/1");
    struct peer_id id = pid(5);
    buf_init(&peer, 1 << 16);
    buf_reset(b);
    pb_put_varint(b, 1, KAD_FIND_NODE);
    for (size_t i = 0; i < n; i++) {
        buf_reset(&peer);
        pb_put_bytes(&peer, 1, id.bytes, id.len);
        for (size_t j = 0; j < addrs_each; j++)
            pb_put_bytes(&peer, 2, a.bytes, a.len);
        pb_put_bytes(b, 8, peer.data, peer.len);
    }
    buf_cleanup(&peer);
}

TEST(codec_bounds)
{
    struct kad_msg *m = kad_msg_new();
    struct buf b;

    buf_init(&b, 8 << 20);
    /* 10,000 closer peers: refused (and before any allocation per peer) */
    flood(&b, 10000, 0);
    CHECK_ERR(kad_msg_decode(b.data, b.len, m), FASTN_ERR_NET_BAD_MESSAGE);
    flood(&b, 1500, 0); /* within KAD_MAX_MSG, still too many peers */
    CHECK(b.len < KAD_MAX_MSG);
    CHECK_ERR(kad_msg_decode(b.data, b.len, m), FASTN_ERR_NET_BAD_MESSAGE);
    flood(&b, KAD_MAX_PEERS_MSG + 1, 0);
    CHECK_ERR(kad_msg_decode(b.data, b.len, m), FASTN_ERR_NET_BAD_MESSAGE);
    flood(&b, KAD_MAX_PEERS_MSG, 2);
    CHECK_ERR(kad_msg_decode(b.data, b.len, m), 0);
    CHECK_EQ(m->n_closer, KAD_PEERS_LIST);
    CHECK_EQ(m->dropped, KAD_MAX_PEERS_MSG - KAD_PEERS_LIST);
    flood(&b, 2, KAD_MAX_ADDRS_MSG);
    CHECK_ERR(kad_msg_decode(b.data, b.len, m), FASTN_ERR_NET_BAD_MESSAGE);
    flood(&b, 1, 20); /* addresses past KAD_PEER_ADDRS are dropped */
    CHECK_ERR(kad_msg_decode(b.data, b.len, m), 0);
    CHECK_EQ(m->closer[0].n_addrs, KAD_PEER_ADDRS);
    CHECK_EQ(m->dropped, 20 - KAD_PEER_ADDRS);
    /* garbage: bad PeerID and address dropped, message kept */
    buf_reset(&b);
    pb_put_varint(&b, 1, KAD_FIND_NODE);
    pb_put_bytes(&b, 8, "\x0a\x02\x55\x00", 4);
    CHECK_ERR(kad_msg_decode(b.data, b.len, m), 0);
    CHECK_EQ(m->n_closer, 0);
    CHECK_EQ(m->dropped, 1);
    /* unknown type, overlong key, lying length, over the size limit */
    static const uint8_t bad_type[] = {0x08, 0x09};
    static const uint8_t lying[] = {0x08, 0x04, 0x42, 0x7f, 0x0a, 0x01};
    CHECK_ERR(kad_msg_decode(bad_type, 2, m), FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(kad_msg_decode(lying, sizeof(lying), m),
              FASTN_ERR_NET_BAD_MESSAGE);
    uint8_t key[KAD_KEY_MAX + 1] = {0};
    buf_reset(&b);
    pb_put_varint(&b, 1, KAD_GET_VALUE);
    pb_put_bytes(&b, 2, key, sizeof(key));
    CHECK_ERR(kad_msg_decode(b.data, b.len, m), FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(kad_msg_decode(b.data, KAD_MAX_MSG + 1, m),
              FASTN_ERR_NET_BAD_MESSAGE);
    CHECK_ERR(kad_request_encode(KAD_GET_VALUE, key, sizeof(key), &b),
              FASTN_ERR_INVAL);
    buf_cleanup(&b);
    kad_msg_free(m);
}

TEST(routing_table)
{
    struct kad_table t;
    struct peer_id self = pid(0), check;
    struct multiaddr a = ma("/ip4/1.2.3.4/tcp/1");
    const struct kad_entry *best[KAD_K];
    uint8_t target[32];

    identity_global_init();
    kad_table_init(&t, &self);
    CHECK_ERR(kad_table_add(&t, &self, &a, 1, 0, NULL), FASTN_ERR_INVAL);
    for (uint32_t i = 1; i <= 2000; i++) {
        struct peer_id p = pid(i);
        kad_table_add(&t, &p, &a, 1, i, &check);
    }
    /* about half the peers share no prefix bit with us: that bucket holds
     * k, the next k, ...: far fewer than 2000 */
    CHECK(kad_table_size(&t) < 300);
    CHECK(kad_table_size(&t) >= 5 * KAD_K);
    /* the closest query matches a brute force over what the table holds */
    kad_hash((const uint8_t *)"target", 6, target);
    size_t n = kad_table_closest(&t, target, best, KAD_K);
    CHECK_EQ(n, KAD_K);
    for (size_t i = 1; i < n; i++)
        CHECK(kad_distance_cmp(target, best[i - 1]->hash, best[i]->hash) < 0);
    size_t closer = 0;
    for (size_t b = 0; b < KAD_BUCKETS; b++)
        for (size_t j = 0; t.b[b] && j < t.b[b]->n; j++)
            closer += kad_distance_cmp(target, t.b[b]->e[j].hash,
                                       best[n - 1]->hash) <= 0;
    CHECK_EQ(closer, KAD_K); /* nothing in the table beats the answer */
    kad_table_cleanup(&t);
}

TEST(liveness_replacement)
{
    struct kad_table t;
    struct peer_id self = pid(0), check, first = {0}, newcomer = {0};
    uint8_t h[32];
    uint32_t i, in_bucket0 = 0;

    kad_table_init(&t, &self);
    /* fill bucket 0 (peers whose key differs from ours in the first bit) */
    for (i = 1; in_bucket0 <= KAD_K; i++) {
        struct peer_id p = pid(i);
        kad_hash(p.bytes, p.len, h);
        if (kad_common_prefix(h, t.self_hash) != 0)
            continue;
        int rc = kad_table_add(&t, &p, NULL, 0, 100, &check);
        if (in_bucket0 == 0)
            first = p;
        if (in_bucket0 < KAD_K) {
            CHECK_EQ(rc, KAD_ADD_ADDED);
        } else {
            CHECK_EQ(rc, KAD_ADD_FULL); /* live peers stay */
            CHECK(peer_id_equal(&check, &first));
            newcomer = p;
        }
        in_bucket0++;
    }
    CHECK(kad_table_find(&t, &newcomer) == NULL);
    /* the oldest does not answer: the newcomer takes its place */
    kad_table_failed(&t, &first);
    CHECK(kad_table_find(&t, &first) == NULL);
    CHECK(kad_table_find(&t, &newcomer) != NULL);
    CHECK_EQ(t.b[0]->n, KAD_K);
    /* seen again: moves to the back */
    const struct kad_entry *e = &t.b[0]->e[0];
    struct peer_id oldest = e->id;
    CHECK_EQ(kad_table_add(&t, &oldest, NULL, 0, 200, NULL), KAD_ADD_UPDATED);
    CHECK(peer_id_equal(&t.b[0]->e[KAD_K - 1].id, &oldest));
    /* a stale entry is replaced at once */
    for (;; i++) {
        struct peer_id p = pid(i);
        kad_hash(p.bytes, p.len, h);
        if (kad_common_prefix(h, t.self_hash) != 0)
            continue;
        CHECK_EQ(kad_table_add(&t, &p, NULL, 0, 100 + KAD_STALE_US, NULL),
                 KAD_ADD_ADDED);
        break;
    }
    kad_table_cleanup(&t);
}

TEST(persistence)
{
    struct kad_table t, u;
    struct peer_id self = pid(0);
    struct multiaddr a[2] = {ma("/ip4/1.2.3.4/tcp/1"),
                             ma("/ip6/2a00::1/tcp/4001")};
    struct buf b;

    kad_table_init(&t, &self);
    for (uint32_t i = 1; i <= 300; i++)
        kad_table_add(&t, (const struct peer_id[]){pid(i)}, a, 2, 0, NULL);
    buf_init(&b, 1 << 20);
    CHECK_ERR(kad_table_save(&t, &b), 0);
    kad_table_init(&u, &self);
    CHECK_ERR(kad_table_load(&u, b.data, b.len, 5), 0);
    CHECK_EQ(kad_table_size(&u), kad_table_size(&t));
    const struct kad_entry *e = kad_table_find(&u, &t.b[0]->e[3].id);
    CHECK(e && e->n_addrs == 2 && multiaddr_equal(&e->addrs[1], &a[1]));
    kad_table_cleanup(&u);
    /* damaged in the middle: what came before stays */
    kad_table_init(&u, &self);
    b.data[b.len / 2] ^= 0xff;
    b.data[b.len / 2 + 1] = 0xff;
    int rc = kad_table_load(&u, b.data, b.len, 5);
    CHECK(rc == FASTN_ERR_MALFORMED || rc == 0);
    CHECK(kad_table_size(&u) > 0);
    kad_table_cleanup(&u);
    kad_table_init(&u, &self);
    CHECK_ERR(kad_table_load(&u, b.data, b.len / 3, 5), FASTN_ERR_MALFORMED);
    CHECK_ERR(kad_table_load(&u, (const uint8_t *)"FKAD\x02", 5, 0),
              FASTN_ERR_UNSUPPORTED);
    CHECK_ERR(kad_table_load(&u, (const uint8_t *)"NOPE\x01", 5, 0),
              FASTN_ERR_MALFORMED);
    CHECK_ERR(kad_table_load(&u, (const uint8_t *)"FKAD\x01", 5, 0), 0);
    kad_table_cleanup(&u);
    kad_table_cleanup(&t);
    buf_cleanup(&b);
}

/* --- lookups over a simulated network ------------------------------------ */

#define NET 300
static struct peer_id net_id[NET];
static uint8_t net_hash[NET][32];

static int net_index(const struct peer_id *p)
{
    for (int i = 0; i < NET; i++)
        if (peer_id_equal(&net_id[i], p))
            return i;
    return -1;
}

static void net_init(void)
{
    for (int i = 0; i < NET; i++) {
        net_id[i] = pid((uint32_t)(1000 + i));
        kad_hash(net_id[i].bytes, net_id[i].len, net_hash[i]);
    }
}

/* What an honest peer answers: the k closest to target it would know
 * (here: of all peers sharing a prefix bit pattern with it, a sample). */
static void honest_answer(int who, const uint8_t *target, struct kad_msg *m)
{
    int best[KAD_K], n = 0;

    memset(m, 0, sizeof(*m));
    m->type = KAD_FIND_NODE;
    for (int i = 0; i < NET; i++) {
        if (i == who || (i * 7 + who) % 3 == 0) /* each knows 2/3 */
            continue;
        int pos = n < KAD_K ? n++ : KAD_K;
        while (pos > 0 && kad_distance_cmp(target, net_hash[i],
                                           net_hash[best[pos - 1]]) < 0) {
            if (pos < KAD_K)
                best[pos] = best[pos - 1];
            pos--;
        }
        if (pos < KAD_K)
            best[pos] = i;
    }
    for (int i = 0; i < n; i++) {
        m->closer[i].id = net_id[best[i]];
        m->closer[i].n_addrs = 0;
    }
    m->n_closer = (size_t)n;
}

static int run_lookup(struct kad_lookup *lk, const uint8_t *target,
                      int (*answer)(int who, const uint8_t *target,
                                    struct kad_msg *m),
                      unsigned *max_inflight)
{
    struct kad_query q;
    struct kad_msg *m = kad_msg_new();
    struct peer_id asked[KAD_ALPHA];
    int n_asked = 0, rc, rounds = 0;

    *max_inflight = 0;
    while ((rc = kad_lookup_next(lk, 0, &q)) != KAD_LOOKUP_DONE &&
           rounds++ < 10000) {
        if (rc == 1) {
            asked[n_asked++] = q.peer->id;
            if (lk->inflight > *max_inflight)
                *max_inflight = lk->inflight;
            continue;
        }
        /* answer the oldest query */
        struct peer_id who = asked[0];
        memmove(asked, asked + 1, sizeof(asked[0]) * (size_t)--n_asked);
        if (answer(net_index(&who), target, m) == 0)
            CHECK_ERR(kad_lookup_response(lk, &who, m), 0);
        else
            kad_lookup_failed(lk, &who);
    }
    kad_msg_free(m);
    return rc;
}

static int honest(int who, const uint8_t *target, struct kad_msg *m)
{
    if (who < 0)
        return -1;
    honest_answer(who, target, m);
    return 0;
}

TEST(lookup_converges)
{
    struct kad_lookup_config cfg;
    struct kad_lookup lk;
    struct kad_table t;
    struct peer_id self = pid(1);
    const struct kad_entry *seeds[KAD_ALPHA];
    const struct kad_cand *res[KAD_K];
    unsigned max_inflight;
    uint8_t target[32];

    net_init();
    kad_table_init(&t, &self);
    for (int i = 0; i < 10; i++) /* a few bootstrap peers */
        kad_table_add(&t, &net_id[i * 29], NULL, 0, 0, NULL);
    kad_hash(net_id[123].bytes, net_id[123].len, target);
    size_t ns = kad_table_closest(&t, target, seeds, KAD_ALPHA);
    kad_lookup_config_default(&cfg);
    CHECK_ERR(kad_lookup_init(&lk, &cfg, KAD_FIND_NODE, net_id[123].bytes,
                              net_id[123].len, &self, seeds, ns),
              0);
    CHECK_EQ(run_lookup(&lk, target, honest, &max_inflight), KAD_LOOKUP_DONE);
    CHECK(max_inflight <= KAD_ALPHA);
    CHECK(lk.queries <= cfg.max_queries);
    CHECK(kad_lookup_get(&lk, &net_id[123]) != NULL); /* found */
    /* the result is the true k closest of the network */
    size_t n = kad_lookup_closest(&lk, res, KAD_K);
    CHECK_EQ(n, KAD_K);
    int closer_than_last = 0;
    for (int i = 0; i < NET; i++)
        closer_than_last +=
            kad_distance_cmp(target, net_hash[i], res[n - 1]->hash) <= 0;
    CHECK_EQ(closer_than_last, KAD_K);
    kad_lookup_cleanup(&lk);
    kad_table_cleanup(&t);
}

/* A liar: answers with itself and a stream of new fake peers closer to
 * the target than anything real. */
static uint32_t fake_next = 500000;
static int liar(int who, const uint8_t *target, struct kad_msg *m)
{
    (void)target;
    memset(m, 0, sizeof(*m));
    m->type = KAD_FIND_NODE;
    if (who >= 0)
        m->closer[m->n_closer++].id = net_id[who]; /* itself: a loop */
    for (int i = 0; i < KAD_PEERS_LIST - 1; i++)
        m->closer[m->n_closer++].id = pid(fake_next++);
    return 0;
}

TEST(lookup_bounded_against_liars)
{
    struct kad_lookup_config cfg;
    struct kad_lookup lk;
    struct peer_id self = pid(1);
    struct kad_entry seed = {0};
    const struct kad_entry *seeds[1] = {&seed};
    unsigned max_inflight;
    uint8_t target[32];

    net_init();
    seed.id = net_id[0];
    kad_hash((const uint8_t *)"k", 1, target);
    kad_lookup_config_default(&cfg);
    cfg.max_candidates = 64;
    cfg.max_queries = 40;
    CHECK_ERR(kad_lookup_init(&lk, &cfg, KAD_GET_PROVIDERS,
                              (const uint8_t *)"k", 1, &self, seeds, 1),
              0);
    /* fake peers are unknown to the network: their queries fail */
    CHECK_EQ(run_lookup(&lk, target, liar, &max_inflight), KAD_LOOKUP_DONE);
    CHECK(lk.queries <= cfg.max_queries);
    CHECK(lk.n <= cfg.max_candidates);
    CHECK(max_inflight <= KAD_ALPHA);
    kad_lookup_cleanup(&lk);
}

TEST(lookup_timeouts)
{
    struct kad_lookup_config cfg;
    struct kad_lookup lk;
    struct peer_id self = pid(1);
    struct kad_entry seed[2] = {0};
    const struct kad_entry *seeds[2] = {&seed[0], &seed[1]};
    struct kad_query q;

    seed[0].id = pid(7);
    seed[1].id = pid(8);
    kad_lookup_config_default(&cfg);
    CHECK_ERR(kad_lookup_init(&lk, &cfg, KAD_FIND_NODE, (const uint8_t *)"x", 1,
                              &self, seeds, 2),
              0);
    CHECK_EQ(kad_lookup_next(&lk, 0, &q), 1);
    CHECK_EQ(kad_lookup_next(&lk, 5, &q), 1);
    CHECK_EQ(kad_lookup_next(&lk, 6, &q), 0);
    CHECK_EQ(kad_lookup_deadline(&lk), cfg.query_timeout_us);
    kad_lookup_tick(&lk, cfg.query_timeout_us);
    CHECK_EQ(lk.inflight, 1);
    kad_lookup_tick(&lk, cfg.query_timeout_us + 5);
    CHECK_EQ(kad_lookup_next(&lk, 0, &q), KAD_LOOKUP_DONE);
    struct kad_msg *m = kad_msg_new();
    CHECK_ERR(kad_lookup_response(&lk, &seed[0].id, m), FASTN_ERR_NOT_FOUND);
    kad_msg_free(m);
    CHECK_ERR(
        kad_lookup_init(&lk, &cfg, KAD_FIND_NODE, NULL, 0, &self, NULL, 0),
        FASTN_ERR_INVAL);
    kad_lookup_cleanup(&lk);
}

/* --- records, stores and the server -------------------------------------- */

static size_t pk_key(const struct identity *id, uint8_t *key)
{
    memcpy(key, "/pk/", 4);
    memcpy(key + 4, id->id.bytes, id->id.len);
    return 4 + id->id.len;
}

TEST(records)
{
    struct identity a, b;
    uint8_t seed[32] = {1}, key[64], val[IDENTITY_PUBKEY_PROTO_LEN];
    size_t klen;

    identity_from_seed(&a, seed);
    seed[0] = 2;
    identity_from_seed(&b, seed);
    klen = pk_key(&a, key);
    pubkey_encode_proto(a.pubkey, val);
    CHECK_ERR(kad_record_validate(key, klen, val, sizeof(val)), 0);
    pubkey_encode_proto(b.pubkey, val); /* someone else's key */
    CHECK_ERR(kad_record_validate(key, klen, val, sizeof(val)),
              FASTN_ERR_NET_RECORD_INVALID);
    CHECK_ERR(kad_record_validate((const uint8_t *)"/ipns/x", 7, val, 3),
              FASTN_ERR_NET_RECORD_INVALID);
    CHECK_ERR(kad_record_validate((const uint8_t *)"/pk/", 4, val, 3),
              FASTN_ERR_NET_RECORD_INVALID);
    CHECK_ERR(kad_record_validate(key, klen, (const uint8_t *)"\x08", 1),
              FASTN_ERR_NET_RECORD_INVALID);
}

/* The /pk/ record of the @libp2p/interop suite's DHT content-fetching
 * test: a 2048-bit RSA key, named by the sha2-256 multihash of its
 * PublicKey protobuf (RSA keys are too long for an identity hash). */
static const char interop_rsa_pk[] =
    "080012a60230820122300d06092a864886f70d01010105000382010f003082010a02"
    "82010100c2588f998971dac9e3eef76a311bf9159505aff69ea3b664c55a36aa28ee"
    "08de1127228a4d431bb9c0840240c75f6e98a0843a78d945491a3ea5e1f7cee2bc71"
    "383510db5290702383975b7bffae9fb40c84cc1220fb4a7db862fffb0de42f8fd8fb"
    "33a17deb20f30e2d0f194791fe69355a392f77df35f101e08a2fc95b2c0187689388"
    "14fcb52482f899f5e90a1905e8abbcdbb1647ad80a5b0417e1ce8320d64197a6ba38"
    "48926375c63adebabdf6eb82109bcadfee13b62bf922bbb6f74c1a26c9bc6122d143"
    "6787e0e6de3c152b1959701092abef84599f73eaedb2fcef9f87293e1bbe8e0fef3f"
    "1a7fd2e8b94c7e633f88473644a63cb948e4d25c54490203010001";
static const char interop_rsa_id[] =
    "122057793ff481bb00422ced1e1255236568fa0661d9709b6e551b22e9e15ca19722";

static size_t unhex(const char *h, uint8_t *out, size_t max)
{
    size_t n = 0;
    for (; h[0] && h[1] && n < max; h += 2) {
        unsigned v;
        sscanf(h, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

TEST(rsa_records)
{
    uint8_t key[64] = "/pk/", val[512];
    size_t klen = 4 + unhex(interop_rsa_id, key + 4, sizeof(key) - 4);
    size_t vlen = unhex(interop_rsa_pk, val, sizeof(val));

    CHECK_EQ(klen, 4 + 34);
    CHECK_EQ(vlen, 299);
    CHECK_ERR(kad_record_validate(key, klen, val, vlen), 0);
    /* one bit of the key's modulus changed: another PeerID */
    val[100] ^= 1;
    CHECK_ERR(kad_record_validate(key, klen, val, vlen),
              FASTN_ERR_NET_RECORD_INVALID);
    val[100] ^= 1;
    /* cut short: the protobuf's length lies */
    CHECK_ERR(kad_record_validate(key, klen, val, vlen - 1),
              FASTN_ERR_NET_RECORD_INVALID);
}

TEST(stores)
{
    struct kad_store s;
    struct identity a;
    uint8_t seed[32] = {1}, key[64], val[IDENTITY_PUBKEY_PROTO_LEN];
    const struct kad_provider *p[4];
    struct kad_peer prov = {0};
    size_t klen;

    identity_from_seed(&a, seed);
    klen = pk_key(&a, key);
    pubkey_encode_proto(a.pubkey, val);
    CHECK_ERR(kad_store_init(&s, 2, 1), 0);
    CHECK_ERR(kad_store_put_value(&s, key, klen, val, sizeof(val), 0), 0);
    CHECK(kad_store_get_value(&s, key, klen, 1) != NULL);
    CHECK(kad_store_get_value(&s, key, klen, KAD_RECORD_TTL_US) == NULL);
    CHECK_ERR(kad_store_put_value(&s, key, klen, val, 3, 0),
              FASTN_ERR_NET_RECORD_INVALID);
    prov.id = pid(3);
    CHECK_ERR(kad_store_add_provider(&s, (const uint8_t *)"cid1", 4, &prov, 0),
              0);
    prov.id = pid(4);
    CHECK_ERR(kad_store_add_provider(&s, (const uint8_t *)"cid1", 4, &prov, 0),
              0);
    prov.id = pid(5);
    CHECK_ERR(kad_store_add_provider(&s, (const uint8_t *)"cid2", 4, &prov, 1),
              FASTN_ERR_TOO_LARGE);
    CHECK_EQ(kad_store_providers(&s, (const uint8_t *)"cid1", 4, 1, p, 4), 2);
    /* once expired, the room is reused */
    CHECK_ERR(kad_store_add_provider(&s, (const uint8_t *)"cid2", 4, &prov,
                                     KAD_PROVIDER_TTL_US),
              0);
    CHECK_EQ(kad_store_providers(&s, (const uint8_t *)"cid1", 4,
                                 KAD_PROVIDER_TTL_US, p, 4),
             0);
    kad_store_cleanup(&s);
}

static struct kad_msg *ask(struct kad_server *srv, const struct peer_id *from,
                           const struct kad_msg *req, int *rc)
{
    struct buf in, out;
    struct kad_msg *m = kad_msg_new();
    const uint8_t *p;
    size_t n;

    buf_init(&in, KAD_MAX_MSG * 2);
    buf_init(&out, KAD_MAX_MSG * 2);
    kad_msg_encode(req, &in);
    p = body(&in, &n);
    *rc = kad_server_handle(srv, from, p, n, 0, &out);
    p = out.len ? body(&out, &n) : NULL;
    if (!p || kad_msg_decode(p, n, m) != 0) {
        kad_msg_free(m);
        m = NULL;
    }
    buf_cleanup(&in);
    buf_cleanup(&out);
    return m;
}

static struct peer_id connected_peer;
static struct multiaddr connected_ma;

static size_t connected_addrs(void *arg, const struct peer_id *peer,
                              struct multiaddr *out, size_t max)
{
    (void)arg;
    if (!peer_id_equal(peer, &connected_peer) || max < 1)
        return 0;
    out[0] = connected_ma;
    return 1;
}

TEST(server)
{
    struct kad_table t;
    struct kad_store st;
    struct kad_server srv;
    struct peer_id self = pid(0), from = pid(1), known = pid(2);
    struct kad_msg *req = kad_msg_new(), *r;
    struct identity a;
    uint8_t seed[32] = {1};
    int rc;

    kad_table_init(&t, &self);
    for (uint32_t i = 1; i < 100; i++)
        kad_table_add(&t, (const struct peer_id[]){pid(i)},
                      (const struct multiaddr[]){ma("/ip4/1.2.3.4/tcp/1")}, 1,
                      0, NULL);
    kad_store_init(&st, 16, 16);
    srv = (struct kad_server){.table = &t, .store = &st};
    connected_ma = ma("/ip4/198.18.0.4/tcp/4004/p2p/"
                      "12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8/"
                      "p2p-circuit");
    /* FIND_NODE for a peer we know: that peer first, then the closest */
    req->type = KAD_FIND_NODE;
    memcpy(req->key, known.bytes, known.len);
    req->key_len = known.len;
    r = ask(&srv, &from, req, &rc);
    CHECK(r && r->n_closer == KAD_K && peer_id_equal(&r->closer[0].id, &known));
    CHECK(r && r->closer[0].n_addrs == 1);
    for (size_t i = 1; r && i < r->n_closer; i++)
        CHECK(!peer_id_equal(&r->closer[i].id, &known));
    kad_msg_free(r);
    /* a known peer looking itself up (a bootstrap) gets its neighbours */
    r = ask(&srv, &known, req, &rc);
    CHECK(r && r->n_closer == KAD_K);
    for (size_t i = 0; r && i < r->n_closer; i++)
        CHECK(!peer_id_equal(&r->closer[i].id, &known));
    kad_msg_free(r);
    /* for anything else: k peers, never the requester */
    struct peer_id other = pid(5000);
    memcpy(req->key, other.bytes, other.len);
    req->key_len = other.len;
    r = ask(&srv, &from, req, &rc);
    CHECK(r && r->n_closer == KAD_K);
    for (size_t i = 0; r && i < r->n_closer; i++)
        CHECK(!peer_id_equal(&r->closer[i].id, &from) &&
              !peer_id_equal(&r->closer[i].id, &other));
    kad_msg_free(r);
    /* ... unless connected to it: then it comes first, with the addresses
     * it told us (a DHT client behind a NAT, by its relay) */
    connected_peer = other;
    srv.connected_addrs = connected_addrs;
    r = ask(&srv, &from, req, &rc);
    CHECK(r && r->n_closer == KAD_K && peer_id_equal(&r->closer[0].id, &other));
    CHECK(r && r->closer[0].n_addrs == 1 &&
          multiaddr_equal(&r->closer[0].addrs[0], &connected_ma));
    kad_msg_free(r);
    /* ... but a peer looking itself up does not get itself */
    r = ask(&srv, &other, req, &rc);
    for (size_t i = 0; r && i < r->n_closer; i++)
        CHECK(!peer_id_equal(&r->closer[i].id, &other));
    kad_msg_free(r);
    srv.connected_addrs = NULL;
    /* PUT_VALUE (echoed), then GET_VALUE */
    identity_from_seed(&a, seed);
    req->type = KAD_PUT_VALUE;
    req->key_len = pk_key(&a, req->key);
    req->has_record = true;
    memcpy(req->rec_key, req->key, req->key_len);
    req->rec_key_len = req->key_len;
    pubkey_encode_proto(a.pubkey, req->value);
    req->value_len = IDENTITY_PUBKEY_PROTO_LEN;
    r = ask(&srv, &from, req, &rc);
    CHECK_ERR(rc, 0);
    CHECK(r && r->type == KAD_PUT_VALUE && r->value_len == req->value_len);
    kad_msg_free(r);
    req->type = KAD_GET_VALUE;
    req->has_record = false;
    r = ask(&srv, &from, req, &rc);
    CHECK(r && r->has_record && r->value_len == IDENTITY_PUBKEY_PROTO_LEN);
    kad_msg_free(r);
    /* a forged /pk/ record is refused */
    req->type = KAD_PUT_VALUE;
    req->has_record = true;
    req->value[10] ^= 1;
    r = ask(&srv, &from, req, &rc);
    CHECK_ERR(rc, FASTN_ERR_NET_RECORD_INVALID);
    kad_msg_free(r);
    /* ADD_PROVIDER: only the sender itself, no answer */
    memset(req, 0, sizeof(*req));
    req->type = KAD_ADD_PROVIDER;
    memcpy(req->key, "cid", 3);
    req->key_len = 3;
    req->providers[0].id = from;
    req->providers[0].addrs[0] = ma("/ip4/8.8.8.8/tcp/4001");
    req->providers[0].addrs[1] = ma("/ip4/10.0.0.1/tcp/4001");
    req->providers[0].n_addrs = 2;
    req->providers[1].id = known; /* not the sender: ignored */
    req->n_providers = 2;
    r = ask(&srv, &from, req, &rc);
    CHECK(r == NULL);
    CHECK_ERR(rc, 0);
    req->type = KAD_GET_PROVIDERS;
    req->n_providers = 0;
    r = ask(&srv, &known, req, &rc);
    CHECK(r && r->n_providers == 1 &&
          peer_id_equal(&r->providers[0].id, &from));
    CHECK(r && r->providers[0].n_addrs == 1); /* the private one dropped */
    CHECK(r && r->n_closer == KAD_K);
    kad_msg_free(r);
    req->type = KAD_PING;
    req->key_len = 0;
    r = ask(&srv, &from, req, &rc);
    CHECK(r && r->type == KAD_PING);
    kad_msg_free(r);
    req->type = KAD_GET_VALUE; /* without a key */
    r = ask(&srv, &from, req, &rc);
    CHECK_ERR(rc, FASTN_ERR_NET_BAD_MESSAGE);
    kad_msg_free(r);
    kad_msg_free(req);
    kad_store_cleanup(&st);
    kad_table_cleanup(&t);
}

/* Bytes @libp2p/kad-dht produced (tests/unit/js_vectors.h). */
TEST(js_messages)
{
    struct kad_msg *m = kad_msg_new();
    struct peer_id target, relay, peer;
    struct buf b;
    struct kad_table t;
    struct kad_store st;
    struct kad_server srv;

    CHECK_ERR(peer_id_parse(js_target_id, &target), 0);
    CHECK_ERR(peer_id_parse(js_relay_id, &relay), 0);
    CHECK_ERR(peer_id_parse(js_peer_id, &peer), 0);
    CHECK_ERR(kad_msg_decode(js_kad_find_node, sizeof(js_kad_find_node), m), 0);
    CHECK_EQ(m->type, KAD_FIND_NODE);
    CHECK_EQ(m->key_len, target.len);
    CHECK_MEM(m->key, target.bytes, target.len);
    /* our request is byte for byte the same */
    buf_init(&b, 1024);
    CHECK_ERR(kad_request_encode(KAD_FIND_NODE, target.bytes, target.len, &b),
              0);
    CHECK_EQ(b.len, 1 + sizeof(js_kad_find_node));
    CHECK_MEM(b.data + 1, js_kad_find_node, sizeof(js_kad_find_node));
    /* the answer: two peers, the QUIC address of each dropped */
    CHECK_ERR(kad_msg_decode(js_kad_find_node_answer,
                             sizeof(js_kad_find_node_answer), m),
              0);
    CHECK_EQ(m->n_closer, 2);
    CHECK(peer_id_equal(&m->closer[0].id, &relay));
    CHECK(peer_id_equal(&m->closer[1].id, &peer));
    CHECK_EQ(m->closer[0].n_addrs, 1);
    CHECK_EQ(m->closer[0].conn, KAD_CONNECTED);
    CHECK_EQ(m->dropped, 2);
    /* PUT_VALUE of a /pk/ record, with js's missing type field */
    CHECK_ERR(kad_msg_decode(js_kad_put_pk, sizeof(js_kad_put_pk), m), 0);
    CHECK_EQ(m->type, KAD_PUT_VALUE);
    CHECK(m->has_record);
    CHECK_ERR(
        kad_record_validate(m->rec_key, m->rec_key_len, m->value, m->value_len),
        0);
    kad_table_init(&t, &relay);
    kad_store_init(&st, 4, 4);
    srv = (struct kad_server){.table = &t, .store = &st};
    buf_reset(&b);
    CHECK_ERR(kad_server_handle(&srv, &peer, js_kad_put_pk,
                                sizeof(js_kad_put_pk), 0, &b),
              0);
    CHECK(kad_store_get_value(&st, m->key, m->key_len, 0) != NULL);
    kad_store_cleanup(&st);
    kad_table_cleanup(&t);
    buf_cleanup(&b);
    kad_msg_free(m);
}

int main(void)
{
    identity_global_init();
    RUN(distance);
    RUN(codec_roundtrip);
    RUN(codec_bounds);
    RUN(routing_table);
    RUN(liveness_replacement);
    RUN(persistence);
    RUN(lookup_converges);
    RUN(lookup_bounded_against_liars);
    RUN(lookup_timeouts);
    RUN(records);
    RUN(rsa_records);
    RUN(stores);
    RUN(server);
    RUN(js_messages);
    return test_done();
}
