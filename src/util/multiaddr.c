/*
 * Multiaddr text and binary codecs; see multiaddr.h.
 *
 * Every value is checked on the way in (from text or from the wire), so
 * a struct multiaddr is always well formed: formatting and iteration can
 * then not fail on content. Values: ip4 4 bytes, ip6 16, tcp 2 (big
 * endian), p2p-circuit none; dns*, unix and p2p are
 * uvarint-length-prefixed.
 */
#include "util/multiaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "fastn/err.h"
#include "util/buf.h"

struct proto_info {
    uint32_t code;
    const char *name;
    int size; /* fixed value size in bytes, or -1 for length-prefixed */
};

static const struct proto_info protos[] = {
    {MA_IP4, "ip4", 4},
    {MA_TCP, "tcp", 2},
    {MA_IP6, "ip6", 16},
    {MA_DNS, "dns", -1},
    {MA_DNS4, "dns4", -1},
    {MA_DNS6, "dns6", -1},
    {MA_DNSADDR, "dnsaddr", -1},
    {MA_UNIX, "unix", -1},
    {MA_P2P, "p2p", -1},
    {MA_P2P, "ipfs", -1},
    {MA_P2P_CIRCUIT, "p2p-circuit", 0},
};

static const struct proto_info *proto_by_code(uint64_t code)
{
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if (protos[i].code == code)
            return &protos[i];
    return NULL;
}

static const struct proto_info *proto_by_name(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if (strlen(protos[i].name) == n && memcmp(protos[i].name, s, n) == 0)
            return &protos[i];
    return NULL;
}

static bool is_dns_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* Checks a binary value for its protocol. */
static int check_value(uint32_t code, const uint8_t *v, size_t n)
{
    struct peer_id id;

    switch (code) {
    case MA_DNS:
    case MA_DNS4:
    case MA_DNS6:
    case MA_DNSADDR:
        if (n == 0 || n > MULTIADDR_DNS_MAX)
            return FASTN_ERR_BAD_MULTIADDR;
        for (size_t i = 0; i < n; i++)
            if (!is_dns_char(v[i]))
                return FASTN_ERR_BAD_MULTIADDR;
        return 0;
    case MA_UNIX:
        /* Absolute paths only: a socket path relative to the daemon's
         * working directory would mean different things to each side. */
        if (n == 0 || n > MULTIADDR_UNIX_MAX || v[0] != '/' || memchr(v, 0, n))
            return FASTN_ERR_BAD_MULTIADDR;
        return 0;
    case MA_P2P:
        return peer_id_from_bytes(v, n, &id) ? FASTN_ERR_BAD_MULTIADDR : 0;
    default:
        return 0; /* fixed-size values: any bytes are valid */
    }
}

int multiaddr_append(struct multiaddr *ma, uint32_t code, const uint8_t *v,
                     size_t n)
{
    const struct proto_info *pi = proto_by_code(code);
    uint8_t hdr[20];
    size_t h;
    int err;

    if (!pi)
        return FASTN_ERR_NET_MULTIADDR_PROTO;
    if (pi->size >= 0 && n != (size_t)pi->size)
        return FASTN_ERR_BAD_MULTIADDR;
    err = check_value(code, v, n);
    if (err)
        return err;
    h = uvarint_encode(code, hdr);
    if (pi->size < 0)
        h += uvarint_encode(n, hdr + h);
    if (h + n > (size_t)(MULTIADDR_MAX_BYTES - ma->len))
        return FASTN_ERR_TOO_LARGE;
    memcpy(ma->bytes + ma->len, hdr, h);
    if (n)
        memcpy(ma->bytes + ma->len + h, v, n);
    ma->len = (uint16_t)(ma->len + h + n);
    return 0;
}

int multiaddr_from_bytes(const uint8_t *p, size_t n, struct multiaddr *out)
{
    struct buf_reader r;
    struct multiaddr tmp = {0};

    if (n == 0)
        return FASTN_ERR_BAD_MULTIADDR;
    if (n > MULTIADDR_MAX_BYTES)
        return FASTN_ERR_TOO_LARGE;
    buf_reader_init(&r, p, n);
    while (buf_reader_left(&r) > 0) {
        uint64_t code, len;
        const uint8_t *v;
        const struct proto_info *pi;
        int err;

        if (buf_get_uvarint(&r, &code))
            return FASTN_ERR_BAD_MULTIADDR;
        pi = proto_by_code(code);
        if (!pi)
            return FASTN_ERR_NET_MULTIADDR_PROTO;
        if (pi->size >= 0)
            len = (uint64_t)pi->size;
        else if (buf_get_uvarint(&r, &len))
            return FASTN_ERR_BAD_MULTIADDR;
        if (len > buf_reader_left(&r) || buf_get_span(&r, (size_t)len, &v))
            return FASTN_ERR_BAD_MULTIADDR;
        err = multiaddr_append(&tmp, (uint32_t)code, v, (size_t)len);
        if (err)
            return err;
    }
    *out = tmp;
    return 0;
}

int multiaddr_next(const struct multiaddr *ma, size_t *off,
                   struct multiaddr_comp *c)
{
    struct buf_reader r;
    uint64_t code, len;
    const struct proto_info *pi;

    if (*off >= ma->len)
        return 0;
    buf_reader_init(&r, ma->bytes, ma->len);
    r.off = *off;
    /* The bytes were validated when the multiaddr was built. */
    if (buf_get_uvarint(&r, &code))
        return 0;
    pi = proto_by_code(code);
    if (!pi)
        return 0;
    len = (uint64_t)pi->size;
    if (pi->size < 0 && buf_get_uvarint(&r, &len))
        return 0;
    if (buf_get_span(&r, (size_t)len, &c->value))
        return 0;
    c->code = (uint32_t)code;
    c->len = (size_t)len;
    *off = r.off;
    return 1;
}

/* --- text -------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes one unix path segment. The leading '/' of the path may
 * be omitted in the text (protocols/unix.md), so it is restored. */
static int unix_from_text(const char *s, size_t n, uint8_t *out, size_t *len)
{
    uint8_t tmp[MULTIADDR_UNIX_MAX + 1];
    size_t k = 0;

    if (n == 0)
        return FASTN_ERR_BAD_MULTIADDR;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return FASTN_ERR_BAD_MULTIADDR;
            c = hi << 4 | lo;
            i += 2;
        }
        if (k == sizeof(tmp))
            return FASTN_ERR_BAD_MULTIADDR;
        tmp[k++] = (uint8_t)c;
    }
    *len = 0;
    if (tmp[0] != '/')
        out[(*len)++] = '/';
    if (*len + k > MULTIADDR_UNIX_MAX)
        return FASTN_ERR_BAD_MULTIADDR;
    memcpy(out + *len, tmp, k);
    *len += k;
    return 0;
}

static int port_from_text(const char *s, size_t n, uint8_t out[2])
{
    unsigned v = 0;

    if (n == 0 || n > 5)
        return FASTN_ERR_BAD_MULTIADDR;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return FASTN_ERR_BAD_MULTIADDR;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return FASTN_ERR_BAD_MULTIADDR;
    out[0] = (uint8_t)(v >> 8);
    out[1] = (uint8_t)v;
    return 0;
}

/* Converts one text value to its binary form in out (room for the
 * largest value). */
static int value_from_text(uint32_t code, const char *s, size_t n, uint8_t *out,
                           size_t *len)
{
    char tmp[PEER_ID_STR_MAX + 64];
    struct peer_id id;

    switch (code) {
    case MA_IP4:
    case MA_IP6:
        if (n == 0 || n >= sizeof(tmp))
            return FASTN_ERR_BAD_MULTIADDR;
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        if (inet_pton(code == MA_IP4 ? AF_INET : AF_INET6, tmp, out) != 1)
            return FASTN_ERR_BAD_MULTIADDR;
        *len = code == MA_IP4 ? 4 : 16;
        return 0;
    case MA_TCP:
        *len = 2;
        return port_from_text(s, n, out);
    case MA_P2P:
        if (n == 0 || n >= sizeof(tmp))
            return FASTN_ERR_BAD_MULTIADDR;
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        if (peer_id_parse(tmp, &id))
            return FASTN_ERR_BAD_MULTIADDR;
        memcpy(out, id.bytes, id.len);
        *len = id.len;
        return 0;
    case MA_UNIX:
        return unix_from_text(s, n, out, len);
    default: /* dns, dns4, dns6: checked by multiaddr_append */
        if (n > MULTIADDR_DNS_MAX)
            return FASTN_ERR_BAD_MULTIADDR;
        memcpy(out, s, n);
        *len = n;
        return 0;
    }
}

int multiaddr_parse(const char *s, struct multiaddr *out)
{
    struct multiaddr tmp = {0};
    uint8_t val[MULTIADDR_DNS_MAX + 1];
    const char *p = s;

    if (!s || *p != '/' || p[1] == '\0')
        return FASTN_ERR_BAD_MULTIADDR;
    while (*p == '/' && p[1] != '\0') {
        const char *name = p + 1, *v, *end;
        const struct proto_info *pi;
        size_t vlen;
        int err;

        end = strchr(name, '/');
        if (!end)
            end = name + strlen(name);
        pi = proto_by_name(name, (size_t)(end - name));
        if (!pi)
            return end == name ? FASTN_ERR_BAD_MULTIADDR
                               : FASTN_ERR_NET_MULTIADDR_PROTO;
        if (pi->size == 0) { /* /p2p-circuit: a name alone */
            err = multiaddr_append(&tmp, pi->code, NULL, 0);
            if (err)
                return err;
            p = end;
            continue;
        }
        if (*end != '/')
            return FASTN_ERR_BAD_MULTIADDR; /* the others have a value */
        v = end + 1;
        end = strchr(v, '/');
        if (!end)
            end = v + strlen(v);
        /* /unix is a path protocol: js writes the path as one
         * percent-encoded segment, go as the rest of the text
         * (/unix/tmp/x.sock). Without a '%' we read it as go does. */
        if (pi->code == MA_UNIX && !memchr(v, '%', (size_t)(end - v)))
            end = v + strlen(v);
        err = value_from_text(pi->code, v, (size_t)(end - v), val, &vlen);
        if (!err)
            err = multiaddr_append(&tmp, pi->code, val, vlen);
        if (err)
            return err;
        p = end;
    }
    /* One trailing slash is tolerated; anything else is not. */
    if (*p != '\0' && !(p[0] == '/' && p[1] == '\0'))
        return FASTN_ERR_BAD_MULTIADDR;
    *out = tmp;
    return 0;
}

static bool is_unreserved(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

/* Appends the text of one value; returns the new length or TOO_LARGE. */
static int value_to_text(const struct multiaddr_comp *c, char *out,
                         size_t outlen, size_t k)
{
    char tmp[MULTIADDR_DNS_MAX + 1]; /* fits every value but unix */
    size_t n;

    switch (c->code) {
    case MA_IP4:
    case MA_IP6:
        inet_ntop(c->code == MA_IP4 ? AF_INET : AF_INET6, c->value, tmp,
                  sizeof(tmp));
        break;
    case MA_TCP:
        snprintf(tmp, sizeof(tmp), "%u",
                 (unsigned)(c->value[0] << 8 | c->value[1]));
        break;
    case MA_P2P: {
        struct peer_id id;
        peer_id_from_bytes(c->value, c->len, &id);
        peer_id_format(&id, tmp);
        break;
    }
    case MA_UNIX:
        for (size_t i = 0; i < c->len; i++) {
            if (k + 4 > outlen)
                return FASTN_ERR_TOO_LARGE;
            if (is_unreserved(c->value[i]))
                out[k++] = (char)c->value[i];
            else
                k += (size_t)snprintf(out + k, 4, "%%%02X", c->value[i]);
        }
        return (int)k;
    default:
        if (c->len >= sizeof(tmp))
            return FASTN_ERR_TOO_LARGE;
        memcpy(tmp, c->value, c->len);
        tmp[c->len] = '\0';
        break;
    }
    n = strlen(tmp);
    if (k + n + 1 > outlen)
        return FASTN_ERR_TOO_LARGE;
    memcpy(out + k, tmp, n);
    return (int)(k + n);
}

int multiaddr_format(const struct multiaddr *ma, char *out, size_t outlen)
{
    struct multiaddr_comp c;
    size_t off = 0, k = 0;

    if (outlen == 0)
        return FASTN_ERR_TOO_LARGE;
    while (multiaddr_next(ma, &off, &c)) {
        const char *name = proto_by_code(c.code)->name;
        size_t n = strlen(name);
        int r;
        if (k + n + 3 > outlen)
            return FASTN_ERR_TOO_LARGE;
        out[k++] = '/';
        memcpy(out + k, name, n);
        k += n;
        if (proto_by_code(c.code)->size == 0)
            continue; /* no value */
        out[k++] = '/';
        r = value_to_text(&c, out, outlen, k);
        if (r < 0)
            return r;
        k = (size_t)r;
    }
    out[k] = '\0';
    return (int)k;
}

/* --- helpers for the swarm ---------------------------------------------- */

int multiaddr_from_ip_tcp(struct multiaddr *out, const uint8_t *ip,
                          size_t ip_len, uint16_t port)
{
    uint8_t p[2] = {(uint8_t)(port >> 8), (uint8_t)port};
    int err;

    if (ip_len != 4 && ip_len != 16)
        return FASTN_ERR_INVAL;
    out->len = 0;
    err = multiaddr_append(out, ip_len == 4 ? MA_IP4 : MA_IP6, ip, ip_len);
    return err ? err : multiaddr_append(out, MA_TCP, p, 2);
}

int multiaddr_append_peer(struct multiaddr *ma, const struct peer_id *id)
{
    return multiaddr_append(ma, MA_P2P, id->bytes, id->len);
}

bool multiaddr_equal(const struct multiaddr *a, const struct multiaddr *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

int multiaddr_get_peer(const struct multiaddr *ma, struct peer_id *out)
{
    struct multiaddr_comp c;
    size_t off = 0;
    int found = FASTN_ERR_NOT_FOUND;

    while (multiaddr_next(ma, &off, &c))
        if (c.code == MA_P2P && peer_id_from_bytes(c.value, c.len, out) == 0)
            found = 0;
    return found;
}

/* Reads an optional trailing /p2p component and requires the end. */
static int read_peer_tail(const struct multiaddr *ma, size_t off,
                          bool *has_peer, struct peer_id *peer)
{
    struct multiaddr_comp c;

    *has_peer = false;
    if (!multiaddr_next(ma, &off, &c))
        return 0;
    if (c.code != MA_P2P || peer_id_from_bytes(c.value, c.len, peer))
        return FASTN_ERR_UNSUPPORTED;
    *has_peer = true;
    return multiaddr_next(ma, &off, &c) ? FASTN_ERR_UNSUPPORTED : 0;
}

int multiaddr_to_tcp(const struct multiaddr *ma, struct multiaddr_tcp *out)
{
    struct multiaddr_comp host, port;
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    if (!multiaddr_next(ma, &off, &host) || !multiaddr_next(ma, &off, &port) ||
        port.code != MA_TCP)
        return FASTN_ERR_UNSUPPORTED;
    switch (host.code) {
    case MA_IP4:
    case MA_IP6:
        memcpy(out->ip, host.value, host.len);
        break;
    case MA_DNS:
    case MA_DNS4:
    case MA_DNS6:
        memcpy(out->host, host.value, host.len);
        out->host[host.len] = '\0';
        break;
    default:
        return FASTN_ERR_UNSUPPORTED;
    }
    out->host_code = host.code;
    out->port = (uint16_t)(port.value[0] << 8 | port.value[1]);
    return read_peer_tail(ma, off, &out->has_peer, &out->peer);
}

int multiaddr_to_unix(const struct multiaddr *ma, char *out, size_t outlen)
{
    struct multiaddr_comp c;
    struct peer_id peer;
    bool has_peer;
    size_t off = 0;

    if (!multiaddr_next(ma, &off, &c) || c.code != MA_UNIX || c.len >= outlen ||
        read_peer_tail(ma, off, &has_peer, &peer))
        return FASTN_ERR_UNSUPPORTED;
    memcpy(out, c.value, c.len);
    out[c.len] = '\0';
    return 0;
}
