/* Unit tests for src/net/multiaddr: text and binary forms of every
 * supported protocol, the unix path escaping, the TCP/unix accessors and
 * each kind of bad input. */
#include "identity/identity.h"
#include "util/multiaddr.h"
#include "test.h"

static void roundtrip(const char *text, const char *want)
{
    struct multiaddr ma, back;
    char s[MULTIADDR_STR_MAX];
    CHECK_ERR(multiaddr_parse(text, &ma), 0);
    CHECK(multiaddr_format(&ma, s, sizeof(s)) > 0);
    CHECK_STR(s, want ? want : text);
    CHECK_ERR(multiaddr_from_bytes(ma.bytes, ma.len, &back), 0);
    CHECK(multiaddr_equal(&ma, &back));
}

TEST(text_roundtrips)
{
    roundtrip("/ip4/127.0.0.1/tcp/4001", NULL);
    roundtrip("/ip6/::1/tcp/80", NULL);
    roundtrip("/ip6/2001:db8::8a2e:370:7334/tcp/443", NULL);
    roundtrip("/dns/example.com/tcp/1", NULL);
    roundtrip("/dns4/a-b.example_x.org/tcp/65535", NULL);
    roundtrip("/dns6/localhost/tcp/0", NULL);
    roundtrip("/ip4/1.2.3.4/tcp/5/", "/ip4/1.2.3.4/tcp/5");
    roundtrip("/tcp/7", NULL);
}

TEST(binary_known_bytes)
{
    struct multiaddr ma;
    static const uint8_t ip4[] = {0x04, 0x7f, 0, 0, 1, 0x06, 0x0f, 0xa1};
    static const uint8_t dns4[] = {0x36, 0x0b, 'e', 'x', 'a', 'm',  'p',  'l',
                                   'e',  '.',  'c', 'o', 'm', 0x06, 0x01, 0xbb};
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1/tcp/4001", &ma), 0);
    CHECK_EQ(ma.len, sizeof(ip4));
    CHECK_MEM(ma.bytes, ip4, sizeof(ip4));
    CHECK_ERR(multiaddr_parse("/dns4/example.com/tcp/443", &ma), 0);
    CHECK_EQ(ma.len, sizeof(dns4));
    CHECK_MEM(ma.bytes, dns4, sizeof(dns4));
    /* ip6 is code 41 (0x29) with 16 bytes */
    CHECK_ERR(multiaddr_parse("/ip6/::1/tcp/80", &ma), 0);
    CHECK_EQ(ma.len, 1 + 16 + 3);
    CHECK_EQ(ma.bytes[0], 0x29);
    CHECK_EQ(ma.bytes[16], 1);
}

TEST(p2p_and_ipfs_alias)
{
    struct identity id;
    uint8_t seed[32] = {7};
    char pid[PEER_ID_STR_MAX], text[512], want[512], s[MULTIADDR_STR_MAX];
    struct multiaddr ma;
    struct peer_id got;

    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_from_seed(&id, seed), 0);
    peer_id_format(&id.id, pid);
    snprintf(text, sizeof(text), "/ip4/10.0.0.1/tcp/4001/ipfs/%s", pid);
    snprintf(want, sizeof(want), "/ip4/10.0.0.1/tcp/4001/p2p/%s", pid);
    CHECK_ERR(multiaddr_parse(text, &ma), 0);
    multiaddr_format(&ma, s, sizeof(s));
    CHECK_STR(s, want);
    /* code 421 = varint a5 03, then the length-prefixed multihash */
    CHECK_EQ(ma.bytes[8], 0xa5);
    CHECK_EQ(ma.bytes[9], 0x03);
    CHECK_EQ(ma.bytes[10], id.id.len);
    CHECK_ERR(multiaddr_get_peer(&ma, &got), 0);
    CHECK(peer_id_equal(&got, &id.id));

    struct multiaddr bare;
    CHECK_ERR(multiaddr_parse("/ip4/10.0.0.1/tcp/4001", &bare), 0);
    CHECK_ERR(multiaddr_get_peer(&bare, &got), FASTN_ERR_NOT_FOUND);
    CHECK_ERR(multiaddr_append_peer(&bare, &id.id), 0);
    CHECK(multiaddr_equal(&bare, &ma));
}

TEST(unix_paths)
{
    struct multiaddr ma;
    char s[MULTIADDR_STR_MAX], path[MULTIADDR_UNIX_MAX + 1];

    roundtrip("/unix/%2Ftmp%2Fx.sock", NULL);
    CHECK_ERR(multiaddr_parse("/unix/%2Ftmp%2Fx.sock", &ma), 0);
    CHECK_ERR(multiaddr_to_unix(&ma, path, sizeof(path)), 0);
    CHECK_STR(path, "/tmp/x.sock");
    /* the leading slash may be omitted in the text */
    CHECK_ERR(multiaddr_parse("/unix/file.socket", &ma), 0);
    CHECK_ERR(multiaddr_to_unix(&ma, path, sizeof(path)), 0);
    CHECK_STR(path, "/file.socket");
    multiaddr_format(&ma, s, sizeof(s));
    CHECK_STR(s, "/unix/%2Ffile.socket");
    /* a literal percent sign is escaped */
    CHECK_ERR(multiaddr_parse("/unix/%2Fa%2520space", &ma), 0);
    CHECK_ERR(multiaddr_to_unix(&ma, path, sizeof(path)), 0);
    CHECK_STR(path, "/a%20space");
    struct multiaddr_tcp t;
    CHECK_ERR(multiaddr_to_tcp(&ma, &t), FASTN_ERR_UNSUPPORTED);
    /* go-multiaddr (p2pd's -listen) writes the path unescaped: the rest
     * of the text is the path */
    CHECK_ERR(multiaddr_parse("/unix/tmp/dir/x.sock", &ma), 0);
    CHECK_ERR(multiaddr_to_unix(&ma, path, sizeof(path)), 0);
    CHECK_STR(path, "/tmp/dir/x.sock");
    struct multiaddr js;
    CHECK_ERR(multiaddr_parse("/unix/%2Ftmp%2Fdir%2Fx.sock", &js), 0);
    CHECK(multiaddr_equal(&ma, &js));
}

TEST(tcp_accessor)
{
    struct multiaddr ma;
    struct multiaddr_tcp t;
    char path[MULTIADDR_UNIX_MAX + 1];

    CHECK_ERR(multiaddr_parse("/ip4/192.168.1.2/tcp/4001", &ma), 0);
    CHECK_ERR(multiaddr_to_tcp(&ma, &t), 0);
    CHECK_EQ(t.host_code, MA_IP4);
    CHECK_EQ(t.ip[0], 192);
    CHECK_EQ(t.ip[3], 2);
    CHECK_EQ(t.port, 4001);
    CHECK(!t.has_peer);
    CHECK_ERR(multiaddr_to_unix(&ma, path, sizeof(path)),
              FASTN_ERR_UNSUPPORTED);

    CHECK_ERR(multiaddr_parse("/dns/example.org/tcp/80", &ma), 0);
    CHECK_ERR(multiaddr_to_tcp(&ma, &t), 0);
    CHECK_EQ(t.host_code, MA_DNS);
    CHECK_STR(t.host, "example.org");

    CHECK_ERR(multiaddr_parse("/tcp/80/ip4/1.2.3.4", &ma), 0);
    CHECK_ERR(multiaddr_to_tcp(&ma, &t), FASTN_ERR_UNSUPPORTED);
    CHECK_ERR(multiaddr_parse("/ip4/1.2.3.4/tcp/1/tcp/2", &ma), 0);
    CHECK_ERR(multiaddr_to_tcp(&ma, &t), FASTN_ERR_UNSUPPORTED);

    uint8_t ip6[16] = {0};
    ip6[15] = 1;
    CHECK_ERR(multiaddr_from_ip_tcp(&ma, ip6, 16, 9000), 0);
    char s[MULTIADDR_STR_MAX];
    multiaddr_format(&ma, s, sizeof(s));
    CHECK_STR(s, "/ip6/::1/tcp/9000");
    CHECK_ERR(multiaddr_from_ip_tcp(&ma, ip6, 5, 1), FASTN_ERR_INVAL);
}

TEST(bad_text)
{
    struct multiaddr ma;
    CHECK_ERR(multiaddr_parse("", &ma), FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/", &ma), FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("ip4/1.2.3.4", &ma), FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/ip4/256.0.0.1", &ma), FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/ip4/1.2.3", &ma), FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/ip6/1:::2", &ma), FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/ip4/1.2.3.4/tcp/65536", &ma),
              FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/ip4/1.2.3.4/tcp/-1", &ma),
              FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/ip4/1.2.3.4/tcp", &ma),
              FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/ip4/1.2.3.4//tcp/1", &ma),
              FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/ip4/1.2.3.4/tcp/1//", &ma),
              FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/dns4/exa mple.com/tcp/1", &ma),
              FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/p2p/notapeerid", &ma), FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/unix/%zz", &ma), FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/unix/%2", &ma), FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/unix/a%00b", &ma), FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_parse("/ip4/1.2.3.4/udp/1234", &ma),
              FASTN_ERR_NET_MULTIADDR_PROTO);
    CHECK_ERR(multiaddr_parse("/ip4/1.2.3.4/tcp/1/ws", &ma),
              FASTN_ERR_NET_MULTIADDR_PROTO);

    char big[4096] = "";
    for (int i = 0; i < 100; i++)
        strcat(big, "/ip6/::1");
    CHECK_ERR(multiaddr_parse(big, &ma), FASTN_ERR_TOO_LARGE);
    char longdns[400] = "/dns/";
    memset(longdns + 5, 'a', 300);
    CHECK_ERR(multiaddr_parse(longdns, &ma), FASTN_ERR_BAD_MULTIADDR);
    char longunix[400] = "/unix/";
    memset(longunix + 6, 'a', 200);
    CHECK_ERR(multiaddr_parse(longunix, &ma), FASTN_ERR_BAD_MULTIADDR);
}

TEST(bad_binary)
{
    struct multiaddr ma;
    static const uint8_t truncated_ip4[] = {0x04, 0x7f, 0x00};
    static const uint8_t udp[] = {0x91, 0x02, 0x04, 0xd2};
    static const uint8_t dns_overlong[] = {0x35, 0x05, 'a', 'b'};
    static const uint8_t bad_varint[] = {0x80, 0x80, 0x80, 0x80, 0x80,
                                         0x80, 0x80, 0x80, 0x80, 0x80};
    static const uint8_t bad_p2p[] = {0xa5, 0x03, 0x02, 0x00, 0x00};
    static const uint8_t dns_slash[] = {0x35, 0x03, 'a', '/', 'b'};
    CHECK_ERR(multiaddr_from_bytes(truncated_ip4, 0, &ma),
              FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_from_bytes(truncated_ip4, sizeof(truncated_ip4), &ma),
              FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_from_bytes(udp, sizeof(udp), &ma),
              FASTN_ERR_NET_MULTIADDR_PROTO);
    CHECK_ERR(multiaddr_from_bytes(dns_overlong, sizeof(dns_overlong), &ma),
              FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_from_bytes(bad_varint, sizeof(bad_varint), &ma),
              FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_from_bytes(bad_p2p, sizeof(bad_p2p), &ma),
              FASTN_ERR_BAD_MULTIADDR);
    CHECK_ERR(multiaddr_from_bytes(dns_slash, sizeof(dns_slash), &ma),
              FASTN_ERR_BAD_MULTIADDR);
    uint8_t big[MULTIADDR_MAX_BYTES + 1] = {0};
    CHECK_ERR(multiaddr_from_bytes(big, sizeof(big), &ma), FASTN_ERR_TOO_LARGE);
}

TEST(longest_dns_name)
{
    char text[300] = "/dns/", s[MULTIADDR_STR_MAX];
    struct multiaddr ma;
    memset(text + 5, 'a', MULTIADDR_DNS_MAX);
    CHECK_ERR(multiaddr_parse(text, &ma), 0);
    CHECK(multiaddr_format(&ma, s, sizeof(s)) > 0);
    CHECK_STR(s, text);
}

TEST(format_buffer_too_small)
{
    struct multiaddr ma;
    char s[10];
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1/tcp/4001", &ma), 0);
    CHECK_ERR(multiaddr_format(&ma, s, sizeof(s)), FASTN_ERR_TOO_LARGE);
}

/* circuit relay v2 addresses: /p2p-circuit has no value (code 290) */
TEST(p2p_circuit)
{
    struct identity r, tg;
    uint8_t seed[32] = {1};
    char relay[PEER_ID_STR_MAX], target[PEER_ID_STR_MAX];
    char text[512], s[MULTIADDR_STR_MAX];
    struct multiaddr ma, back;
    struct peer_id last;
    struct multiaddr_tcp t;

    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_from_seed(&r, seed), 0);
    seed[0] = 2;
    CHECK_ERR(identity_from_seed(&tg, seed), 0);
    peer_id_format(&r.id, relay);
    peer_id_format(&tg.id, target);
    snprintf(text, sizeof(text),
             "/ip4/1.2.3.4/tcp/4001/p2p/%s/p2p-circuit/p2p/%s", relay, target);
    roundtrip(text, NULL);
    CHECK_ERR(multiaddr_parse(text, &ma), 0);
    CHECK_ERR(multiaddr_get_peer(&ma, &last), 0);
    CHECK(peer_id_equal(&last, &tg.id)); /* the last /p2p: the target */
    /* 0xa2 0x02 is uvarint 290, with no value after it */
    snprintf(text, sizeof(text), "/p2p/%s/p2p-circuit", relay);
    CHECK_ERR(multiaddr_parse(text, &ma), 0);
    CHECK_EQ(ma.bytes[ma.len - 2], 0xa2);
    CHECK_EQ(ma.bytes[ma.len - 1], 0x02);
    CHECK(multiaddr_format(&ma, s, sizeof(s)) > 0);
    CHECK_STR(s, text);
    CHECK_ERR(multiaddr_from_bytes(ma.bytes, ma.len, &back), 0);
    CHECK(multiaddr_equal(&ma, &back));
    roundtrip("/p2p-circuit", NULL);
    /* not something the TCP dialer takes */
    snprintf(text, sizeof(text), "/ip4/1.2.3.4/tcp/1/p2p-circuit/p2p/%s",
             target);
    CHECK_ERR(multiaddr_parse(text, &ma), 0);
    CHECK_ERR(multiaddr_to_tcp(&ma, &t), FASTN_ERR_UNSUPPORTED);
    /* what follows it is read as the next protocol's name */
    CHECK_ERR(multiaddr_parse("/p2p-circuit/x", &ma),
              FASTN_ERR_NET_MULTIADDR_PROTO);
    identity_cleanup(&r);
    identity_cleanup(&tg);
}

int main(void)
{
    RUN(text_roundtrips);
    RUN(binary_known_bytes);
    RUN(p2p_and_ipfs_alias);
    RUN(unix_paths);
    RUN(tcp_accessor);
    RUN(bad_text);
    RUN(bad_binary);
    RUN(longest_dns_name);
    RUN(format_buffer_too_small);
    RUN(p2p_circuit);
    return test_done();
}
