/*
 * Multiaddr text and binary forms; see multiaddr.h. Values are checked in
 * both directions, so whatever formats also parses back to the same bytes.
 */
#include "util/multiaddr.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "util/base58.h"

enum ma_kind { MA_NONE, MA_IP4, MA_IP6, MA_PORT, MA_TEXT, MA_PATH, MA_P2P };

struct ma_proto {
    uint32_t code;
    const char *name;
    enum ma_kind kind;
};

static const struct ma_proto protos[] = {
    {4, "ip4", MA_IP4},
    {6, "tcp", MA_PORT},
    {33, "dccp", MA_PORT},
    {41, "ip6", MA_IP6},
    {42, "ip6zone", MA_TEXT},
    {53, "dns", MA_TEXT},
    {54, "dns4", MA_TEXT},
    {55, "dns6", MA_TEXT},
    {56, "dnsaddr", MA_TEXT},
    {132, "sctp", MA_PORT},
    {273, "udp", MA_PORT},
    {280, "webrtc-direct", MA_NONE},
    {281, "webrtc", MA_NONE},
    {290, "p2p-circuit", MA_NONE},
    {400, "unix", MA_PATH},
    {421, "p2p", MA_P2P},
    {448, "tls", MA_NONE},
    {454, "noise", MA_NONE},
    {460, "quic", MA_NONE},
    {461, "quic-v1", MA_NONE},
    {465, "webtransport", MA_NONE},
    {477, "ws", MA_NONE},
    {478, "wss", MA_NONE},
    {480, "http", MA_NONE},
};

static const struct ma_proto *by_name(const char *name, size_t len)
{
    if (len == 4 && !strncmp(name, "ipfs", 4)) {
        name = "p2p";
        len = 3;
    }
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if (strlen(protos[i].name) == len &&
            !strncmp(protos[i].name, name, len))
            return &protos[i];
    return NULL;
}

static const struct ma_proto *by_code(uint64_t code)
{
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if (protos[i].code == code)
            return &protos[i];
    return NULL;
}

/* A /p2p/ value is a multihash: varint code, varint length, digest. */
static bool multihash_ok(const uint8_t *p, size_t n)
{
    struct buf_reader r;
    uint64_t code, len;

    buf_reader_init(&r, p, n);
    return buf_get_uvarint(&r, &code) == 0 && buf_get_uvarint(&r, &len) == 0 &&
           len == buf_reader_left(&r);
}

/* --- text to binary ------------------------------------------------------ */

/* Undoes %XX escapes (js writes a unix path as one encoded component). */
static int unescape(const char *s, size_t len, char *out, size_t outlen,
                    size_t *n)
{
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned c = (unsigned char)s[i];
        if (c == '%') {
            char hex[3] = {0};
            char *end;
            if (i + 2 >= len)
                return FASTN_ERR_BAD_MULTIADDR;
            hex[0] = s[i + 1];
            hex[1] = s[i + 2];
            c = (unsigned)strtoul(hex, &end, 16);
            if (end != hex + 2 || c == 0)
                return FASTN_ERR_BAD_MULTIADDR;
            i += 2;
        }
        if (j + 1 >= outlen)
            return FASTN_ERR_TOO_LARGE;
        out[j++] = (char)c;
    }
    out[j] = '\0';
    *n = j;
    return 0;
}

static int put_value(struct buf *b, const struct ma_proto *p, const char *v,
                     size_t len)
{
    char tmp[MULTIADDR_TEXT_MAX + 1];
    uint8_t bin[MULTIADDR_MAX];
    size_t n;
    int rc;

    if (len >= sizeof(tmp))
        return FASTN_ERR_TOO_LARGE;
    memcpy(tmp, v, len);
    tmp[len] = '\0';
    switch (p->kind) {
    case MA_IP4:
        if (inet_pton(AF_INET, tmp, bin) != 1)
            return FASTN_ERR_BAD_MULTIADDR;
        return buf_append(b, bin, 4);
    case MA_IP6:
        if (inet_pton(AF_INET6, tmp, bin) != 1)
            return FASTN_ERR_BAD_MULTIADDR;
        return buf_append(b, bin, 16);
    case MA_PORT: {
        char *end;
        unsigned long port = strtoul(tmp, &end, 10);
        if (!len || *end || tmp[0] < '0' || tmp[0] > '9' || port > 65535)
            return FASTN_ERR_BAD_MULTIADDR;
        return buf_put_be16(b, (uint16_t)port);
    }
    case MA_P2P:
        rc = base58_decode(tmp, len, bin, sizeof(bin));
        if (rc < 0 || !multihash_ok(bin, (size_t)rc))
            return FASTN_ERR_BAD_MULTIADDR;
        n = (size_t)rc;
        break;
    case MA_TEXT:
    case MA_PATH:
        rc = unescape(v, len, tmp, sizeof(tmp), &n);
        if (rc)
            return rc;
        if (!n || (p->kind == MA_TEXT && strchr(tmp, '/')))
            return FASTN_ERR_BAD_MULTIADDR;
        if (n > sizeof(bin))
            return FASTN_ERR_TOO_LARGE;
        memcpy(bin, tmp, n);
        break;
    default:
        return 0;
    }
    rc = buf_put_uvarint(b, n);
    return rc ? rc : buf_append(b, bin, n);
}

static int parse_into(const char *s, struct buf *b)
{
    if (*s != '/')
        return FASTN_ERR_BAD_MULTIADDR;
    while (*s) {
        const char *name = s + 1, *v;
        size_t nlen = strcspn(name, "/"), vlen;
        const struct ma_proto *p = by_name(name, nlen);
        int rc;

        if (!p)
            return FASTN_ERR_BAD_MULTIADDR;
        rc = buf_put_uvarint(b, p->code);
        if (rc)
            return rc;
        s = name + nlen;
        if (p->kind == MA_NONE)
            continue;
        if (*s != '/')
            return FASTN_ERR_BAD_MULTIADDR;
        v = s + 1;
        /* A path is the rest of the address: with its leading slash when
         * it has more slashes, else one URI-encoded component. */
        if (p->kind == MA_PATH && strchr(v, '/'))
            v = s;
        vlen = p->kind == MA_PATH ? strlen(v) : strcspn(v, "/");
        rc = put_value(b, p, v, vlen);
        if (rc)
            return rc;
        s = v + vlen;
    }
    return 0;
}

int multiaddr_parse(const char *text, struct buf *out)
{
    size_t start = out->len;
    int rc;

    if (strlen(text) > MULTIADDR_TEXT_MAX)
        return FASTN_ERR_TOO_LARGE;
    rc = parse_into(text, out);
    if (!rc && out->len - start > MULTIADDR_MAX)
        rc = FASTN_ERR_TOO_LARGE;
    if (rc)
        out->len = start;
    return rc;
}

/* --- binary to text ------------------------------------------------------ */

struct text_out {
    char *p;
    size_t len, cap;
};

static int emit(struct text_out *t, const char *s, size_t n)
{
    if (n >= t->cap - t->len)
        return FASTN_ERR_TOO_LARGE;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
    return 0;
}

static bool text_ok(const uint8_t *v, size_t n, bool path)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] == 0 || (!path && v[i] == '/'))
            return false;
    return true;
}

/* A text value; '%' is escaped so that the text parses back to the same
 * bytes. A path with a slash after its first byte is written as it is
 * (/unix/tmp/x.sock); any other path as one URI-encoded component
 * (/unix/%2Fx.sock, /unix/rel%2Fx.sock), which parses back the same. */
static int emit_text(struct text_out *t, const uint8_t *v, size_t n, bool path)
{
    bool raw = path && v[0] == '/' && n > 1 && memchr(v + 1, '/', n - 1);
    int rc = raw ? 0 : emit(t, "/", 1);

    for (size_t i = 0; i < n && !rc; i++) {
        if (v[i] == '%')
            rc = emit(t, "%25", 3);
        else if (v[i] == '/' && !raw)
            rc = emit(t, "%2F", 3);
        else
            rc = emit(t, (const char *)v + i, 1);
    }
    return rc;
}

static int format_value(struct text_out *t, const struct ma_proto *p,
                        const uint8_t *v, size_t n)
{
    char tmp[MULTIADDR_MAX * 2];

    switch (p->kind) {
    case MA_IP4:
    case MA_IP6:
        inet_ntop(p->kind == MA_IP4 ? AF_INET : AF_INET6, v, tmp, sizeof(tmp));
        break;
    case MA_PORT:
        snprintf(tmp, sizeof(tmp), "%u", (unsigned)(v[0] << 8 | v[1]));
        break;
    case MA_P2P:
        if (!multihash_ok(v, n) || base58_encode(v, n, tmp, sizeof(tmp)) < 0)
            return FASTN_ERR_BAD_MULTIADDR;
        break;
    case MA_TEXT:
    case MA_PATH:
        if (!text_ok(v, n, p->kind == MA_PATH))
            return FASTN_ERR_BAD_MULTIADDR;
        return emit_text(t, v, n, p->kind == MA_PATH);
    default:
        return 0;
    }
    if (emit(t, "/", 1))
        return FASTN_ERR_TOO_LARGE;
    return emit(t, tmp, strlen(tmp));
}

/* The multiformats unsigned-varint spec requires the minimal encoding;
 * without that, formatting and parsing back could change the bytes. */
static int get_minimal_uvarint(struct buf_reader *r, uint64_t *v)
{
    size_t start = r->off;
    if (buf_get_uvarint(r, v) || uvarint_len(*v) != r->off - start)
        return FASTN_ERR_BAD_MULTIADDR;
    return 0;
}

static int value_span(struct buf_reader *r, const struct ma_proto *p,
                      const uint8_t **v, size_t *n)
{
    uint64_t len;

    switch (p->kind) {
    case MA_NONE:
        *n = 0;
        *v = buf_reader_cur(r);
        return 0;
    case MA_IP4:
        *n = 4;
        break;
    case MA_IP6:
        *n = 16;
        break;
    case MA_PORT:
        *n = 2;
        break;
    default:
        if (get_minimal_uvarint(r, &len) || len > MULTIADDR_MAX)
            return FASTN_ERR_BAD_MULTIADDR;
        *n = (size_t)len;
    }
    return buf_get_span(r, *n, v) ? FASTN_ERR_BAD_MULTIADDR : 0;
}

int multiaddr_format(const uint8_t *p, size_t n, char *out, size_t outlen)
{
    struct text_out t = {out, 0, outlen};
    struct buf_reader r;

    if (outlen == 0)
        return FASTN_ERR_TOO_LARGE;
    out[0] = '\0';
    if (n == 0 || n > MULTIADDR_MAX)
        return FASTN_ERR_BAD_MULTIADDR;
    buf_reader_init(&r, p, n);
    while (buf_reader_left(&r)) {
        const struct ma_proto *proto;
        const uint8_t *v;
        uint64_t code;
        size_t vlen;
        int rc;

        if (get_minimal_uvarint(&r, &code) || !(proto = by_code(code)))
            return FASTN_ERR_BAD_MULTIADDR;
        if (value_span(&r, proto, &v, &vlen))
            return FASTN_ERR_BAD_MULTIADDR;
        if ((rc = emit(&t, "/", 1)) ||
            (rc = emit(&t, proto->name, strlen(proto->name))) ||
            (rc = format_value(&t, proto, v, vlen)))
            return rc;
        /* a path is terminal: nothing may follow it */
        if (proto->kind == MA_PATH && buf_reader_left(&r))
            return FASTN_ERR_BAD_MULTIADDR;
    }
    return 0;
}
