/* Unit tests for src/net/addr: IP scopes and the policy check applied to
 * addresses that peers send (garbage, wrong peer, port 0, private,
 * loopback, multicast, non-TCP), and the bounded address list. */
#include "identity/identity.h"
#include "net/addr.h"
#include "test.h"

static enum addr_scope scope_of_text(const char *s)
{
    struct multiaddr ma;
    if (multiaddr_parse(s, &ma))
        return (enum addr_scope) - 1;
    return addr_scope_of(&ma);
}

TEST(scopes)
{
    CHECK_EQ(scope_of_text("/ip4/8.8.8.8/tcp/1"), ADDR_SCOPE_PUBLIC);
    CHECK_EQ(scope_of_text("/ip4/127.0.0.1/tcp/1"), ADDR_SCOPE_LOOPBACK);
    CHECK_EQ(scope_of_text("/ip4/10.1.2.3/tcp/1"), ADDR_SCOPE_PRIVATE);
    CHECK_EQ(scope_of_text("/ip4/172.16.0.1/tcp/1"), ADDR_SCOPE_PRIVATE);
    CHECK_EQ(scope_of_text("/ip4/172.31.255.1/tcp/1"), ADDR_SCOPE_PRIVATE);
    CHECK_EQ(scope_of_text("/ip4/172.32.0.1/tcp/1"), ADDR_SCOPE_PUBLIC);
    CHECK_EQ(scope_of_text("/ip4/192.168.1.1/tcp/1"), ADDR_SCOPE_PRIVATE);
    CHECK_EQ(scope_of_text("/ip4/100.64.0.1/tcp/1"), ADDR_SCOPE_PRIVATE);
    CHECK_EQ(scope_of_text("/ip4/100.128.0.1/tcp/1"), ADDR_SCOPE_PUBLIC);
    CHECK_EQ(scope_of_text("/ip4/169.254.1.1/tcp/1"), ADDR_SCOPE_LINK);
    CHECK_EQ(scope_of_text("/ip4/0.0.0.0/tcp/1"), ADDR_SCOPE_INVALID);
    CHECK_EQ(scope_of_text("/ip4/224.0.0.251/tcp/1"), ADDR_SCOPE_INVALID);
    CHECK_EQ(scope_of_text("/ip4/255.255.255.255/tcp/1"), ADDR_SCOPE_INVALID);
    CHECK_EQ(scope_of_text("/ip4/198.51.100.7/tcp/1"), ADDR_SCOPE_RESERVED);
    CHECK_EQ(scope_of_text("/ip4/240.0.0.1/tcp/1"), ADDR_SCOPE_RESERVED);
    CHECK_EQ(scope_of_text("/ip6/::1/tcp/1"), ADDR_SCOPE_LOOPBACK);
    CHECK_EQ(scope_of_text("/ip6/::/tcp/1"), ADDR_SCOPE_INVALID);
    CHECK_EQ(scope_of_text("/ip6/fe80::1/tcp/1"), ADDR_SCOPE_LINK);
    CHECK_EQ(scope_of_text("/ip6/fd00::1/tcp/1"), ADDR_SCOPE_PRIVATE);
    CHECK_EQ(scope_of_text("/ip6/ff02::fb/tcp/1"), ADDR_SCOPE_INVALID);
    CHECK_EQ(scope_of_text("/ip6/2001:db8::1/tcp/1"), ADDR_SCOPE_RESERVED);
    CHECK_EQ(scope_of_text("/ip6/2a00:1450::1/tcp/1"), ADDR_SCOPE_PUBLIC);
    CHECK_EQ(scope_of_text("/ip6/::ffff:192.168.0.1/tcp/1"),
             ADDR_SCOPE_PRIVATE);
    CHECK_EQ(scope_of_text("/dns4/example.com/tcp/1"), ADDR_SCOPE_DNS);
    CHECK_EQ(scope_of_text("/tcp/1"), ADDR_SCOPE_INVALID);
}

static int check_text(const struct addr_policy *p, const char *s,
                      const struct peer_id *peer)
{
    struct multiaddr ma, out;
    int err = multiaddr_parse(s, &ma);
    return err ? err : addr_check(p, ma.bytes, ma.len, peer, &out);
}

TEST(policy_check)
{
    struct addr_policy strict = {0}, lan = {.allow_private = true},
                       local = {.allow_loopback = true, .allow_private = true};
    struct identity a, b;
    uint8_t seed[32] = {3};
    char text[256], pid[PEER_ID_STR_MAX];
    struct multiaddr out;
    static const uint8_t garbage[] = {0x04, 0x01, 0x02}; /* cut ip4 */
    static const uint8_t udp[] = {0x04, 8, 8, 8, 8, 0x91, 0x02, 0x04, 0xd2};

    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_from_seed(&a, seed), 0);
    seed[0] = 4;
    CHECK_ERR(identity_from_seed(&b, seed), 0);
    CHECK_ERR(check_text(&strict, "/ip4/8.8.8.8/tcp/4001", NULL), 0);
    CHECK_ERR(check_text(&strict, "/ip4/8.8.8.8/tcp/0", NULL), FASTN_ERR_PERM);
    CHECK_ERR(check_text(&strict, "/ip4/192.168.1.2/tcp/1", NULL),
              FASTN_ERR_PERM);
    CHECK_ERR(check_text(&lan, "/ip4/192.168.1.2/tcp/1", NULL), 0);
    CHECK_ERR(check_text(&lan, "/ip4/127.0.0.1/tcp/1", NULL), FASTN_ERR_PERM);
    CHECK_ERR(check_text(&local, "/ip4/127.0.0.1/tcp/1", NULL), 0);
    CHECK_ERR(check_text(&local, "/ip4/224.0.0.1/tcp/1", NULL), FASTN_ERR_PERM);
    CHECK_ERR(check_text(&local, "/ip4/0.0.0.0/tcp/1", NULL), FASTN_ERR_PERM);
    CHECK_ERR(check_text(&strict, "/dns4/example.com/tcp/1", NULL),
              FASTN_ERR_PERM);
    CHECK_ERR(check_text(&strict, "/unix/%2Ftmp%2Fx", NULL),
              FASTN_ERR_UNSUPPORTED);
    peer_id_format(&a.id, pid);
    snprintf(text, sizeof(text), "/ip4/8.8.8.8/tcp/1/p2p/%s", pid);
    CHECK_ERR(check_text(&strict, text, &a.id), 0);
    CHECK_ERR(check_text(&strict, text, &b.id), FASTN_ERR_BAD_MULTIADDR);
    snprintf(text, sizeof(text), "/p2p/%s/p2p-circuit", pid);
    CHECK_ERR(check_text(&strict, text, NULL), FASTN_ERR_UNSUPPORTED);
    CHECK_ERR(addr_check(&strict, garbage, sizeof(garbage), NULL, &out),
              FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(addr_check(&strict, udp, sizeof(udp), NULL, &out),
              FASTN_ERR_NET_MULTIADDR_PROTO);
    CHECK_ERR(addr_check(&strict, udp, 0, NULL, &out), FASTN_ERR_BAD_MULTIADDR);
}

TEST(bounded_list)
{
    struct addr_policy p = {0};
    struct addr_list l = {0};
    struct multiaddr ma;
    char text[64];

    for (int i = 0; i < 40; i++) {
        snprintf(text, sizeof(text), "/ip4/8.8.8.%d/tcp/1", i);
        CHECK_ERR(multiaddr_parse(text, &ma), 0);
        int rc = addr_list_add(&l, 4, &p, ma.bytes, ma.len, NULL);
        CHECK_EQ(rc, i < 4 ? 1 : FASTN_ERR_TOO_LARGE);
    }
    CHECK_EQ(l.n, 4);
    CHECK_EQ(l.dropped, 36);
    CHECK_ERR(multiaddr_parse("/ip4/8.8.8.0/tcp/1", &ma), 0);
    CHECK_EQ(addr_list_add(&l, 4, &p, ma.bytes, ma.len, NULL), 0); /* dup */
    CHECK_ERR(multiaddr_parse("/ip4/10.0.0.1/tcp/1", &ma), 0);
    CHECK_ERR(addr_list_add(&l, 8, &p, ma.bytes, ma.len, NULL), FASTN_ERR_PERM);
    CHECK_EQ(l.n, 4);
    CHECK_EQ(l.dropped, 37);
    /* a capacity over ADDR_LIST_MAX is clamped */
    struct addr_list big = {0};
    for (int i = 0; i < 40; i++) {
        snprintf(text, sizeof(text), "/ip4/9.9.9.%d/tcp/1", i);
        CHECK_ERR(multiaddr_parse(text, &ma), 0);
        addr_list_put(&big, 1000, &ma);
    }
    CHECK_EQ(big.n, ADDR_LIST_MAX);
}

int main(void)
{
    RUN(scopes);
    RUN(policy_check);
    RUN(bounded_list);
    return test_done();
}
