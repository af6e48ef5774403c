/*
 * Address scopes and the policy check for addresses from peers; see
 * addr.h. Ranges: RFC 6890 (special-purpose registries), RFC 1918,
 * RFC 6598 (CGNAT), RFC 4193 (ULA), RFC 4291 (IPv6 architecture).
 */
#include "net/addr.h"

#include <string.h>

#include "fastn/err.h"

struct range4 {
    uint32_t net;
    unsigned bits;
    enum addr_scope scope;
};

/* First match wins; anything unmatched is public. */
static const struct range4 ranges4[] = {
    {0x00000000, 8, ADDR_SCOPE_INVALID},   /* 0/8 "this network" */
    {0x7f000000, 8, ADDR_SCOPE_LOOPBACK},  /* 127/8 */
    {0x0a000000, 8, ADDR_SCOPE_PRIVATE},   /* 10/8 */
    {0xac100000, 12, ADDR_SCOPE_PRIVATE},  /* 172.16/12 */
    {0xc0a80000, 16, ADDR_SCOPE_PRIVATE},  /* 192.168/16 */
    {0x64400000, 10, ADDR_SCOPE_PRIVATE},  /* 100.64/10 CGNAT */
    {0xa9fe0000, 16, ADDR_SCOPE_LINK},     /* 169.254/16 */
    {0xc0000000, 24, ADDR_SCOPE_RESERVED}, /* 192.0.0/24 */
    {0xc0000200, 24, ADDR_SCOPE_RESERVED}, /* 192.0.2/24 TEST-NET-1 */
    {0xc6120000, 15, ADDR_SCOPE_RESERVED}, /* 198.18/15 benchmarking */
    {0xc6336400, 24, ADDR_SCOPE_RESERVED}, /* 198.51.100/24 TEST-NET-2 */
    {0xcb007100, 24, ADDR_SCOPE_RESERVED}, /* 203.0.113/24 TEST-NET-3 */
    {0xffffffff, 32, ADDR_SCOPE_INVALID},  /* broadcast */
    {0xe0000000, 4, ADDR_SCOPE_INVALID},   /* 224/4 multicast */
    {0xf0000000, 4, ADDR_SCOPE_RESERVED},  /* 240/4 */
};

static enum addr_scope scope4(const uint8_t *ip)
{
    uint32_t a = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 |
                 (uint32_t)ip[2] << 8 | ip[3];

    for (size_t i = 0; i < sizeof(ranges4) / sizeof(ranges4[0]); i++) {
        uint32_t mask = ranges4[i].bits ? ~0u << (32 - ranges4[i].bits) : 0;
        if ((a & mask) == ranges4[i].net)
            return ranges4[i].scope;
    }
    return ADDR_SCOPE_PUBLIC;
}

static enum addr_scope scope6(const uint8_t *ip)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
                                       0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t zero[15] = {0};

    if (memcmp(ip, mapped, 12) == 0)
        return scope4(ip + 12);
    if (memcmp(ip, zero, 15) == 0)
        return ip[15] == 1 ? ADDR_SCOPE_LOOPBACK : ADDR_SCOPE_INVALID;
    if (ip[0] == 0xff)
        return ADDR_SCOPE_INVALID; /* multicast */
    if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80)
        return ADDR_SCOPE_LINK; /* fe80::/10 */
    if ((ip[0] & 0xfe) == 0xfc)
        return ADDR_SCOPE_PRIVATE; /* fc00::/7 */
    if (ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0x0d && ip[3] == 0xb8)
        return ADDR_SCOPE_RESERVED; /* 2001:db8::/32 documentation */
    if (memcmp(ip, zero, 10) == 0)
        return ADDR_SCOPE_RESERVED; /* deprecated IPv4-compatible */
    return ADDR_SCOPE_PUBLIC;
}

enum addr_scope addr_ip_scope(const uint8_t *ip, size_t len)
{
    if (len == 4)
        return scope4(ip);
    if (len == 16)
        return scope6(ip);
    return ADDR_SCOPE_INVALID;
}

enum addr_scope addr_scope_of(const struct multiaddr *ma)
{
    struct multiaddr_comp c;
    size_t off = 0;

    if (!multiaddr_next(ma, &off, &c))
        return ADDR_SCOPE_INVALID;
    switch (c.code) {
    case MA_IP4:
    case MA_IP6:
        return addr_ip_scope(c.value, c.len);
    case MA_DNS:
    case MA_DNS4:
    case MA_DNS6:
    case MA_DNSADDR:
        return ADDR_SCOPE_DNS;
    default:
        return ADDR_SCOPE_INVALID;
    }
}

bool addr_policy_allows(const struct addr_policy *p, enum addr_scope s)
{
    switch (s) {
    case ADDR_SCOPE_PUBLIC:
        return true;
    case ADDR_SCOPE_LOOPBACK:
        return p->allow_loopback;
    case ADDR_SCOPE_LINK:
    case ADDR_SCOPE_PRIVATE:
    case ADDR_SCOPE_RESERVED:
        return p->allow_private;
    case ADDR_SCOPE_DNS:
        return p->allow_dns;
    default:
        return false;
    }
}

int addr_check(const struct addr_policy *p, const uint8_t *raw, size_t n,
               const struct peer_id *peer, struct multiaddr *out)
{
    struct multiaddr ma;
    struct multiaddr_tcp t;
    int err = multiaddr_from_bytes(raw, n, &ma);

    if (err)
        return err;
    if (multiaddr_to_tcp(&ma, &t) != 0)
        return FASTN_ERR_UNSUPPORTED;
    if (t.has_peer && peer && !peer_id_equal(&t.peer, peer))
        return FASTN_ERR_BAD_MULTIADDR;
    if (t.port == 0 || !addr_policy_allows(p, addr_scope_of(&ma)))
        return FASTN_ERR_PERM;
    *out = ma;
    return 0;
}

int addr_list_put(struct addr_list *l, size_t cap, const struct multiaddr *ma)
{
    if (cap > ADDR_LIST_MAX)
        cap = ADDR_LIST_MAX;
    for (size_t i = 0; i < l->n; i++)
        if (multiaddr_equal(&l->a[i], ma))
            return 0;
    if (l->n >= cap) {
        l->dropped++;
        return FASTN_ERR_TOO_LARGE;
    }
    l->a[l->n++] = *ma;
    return 1;
}

int addr_list_add(struct addr_list *l, size_t cap, const struct addr_policy *p,
                  const uint8_t *raw, size_t n, const struct peer_id *peer)
{
    struct multiaddr ma;
    int err = addr_check(p, raw, n, peer, &ma);

    if (err) {
        l->dropped++;
        return err;
    }
    return addr_list_put(l, cap, &ma);
}
