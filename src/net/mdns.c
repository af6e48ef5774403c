/*
 * mDNS: the DNS message codec (RFC 1035 §4, with RFC 6762's QU and
 * cache-flush bits) and libp2p's discovery profile; see mdns.h.
 */
#include "net/mdns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fastn/err.h"

#define BAD FASTN_ERR_NET_BAD_MESSAGE

struct mdns_msg *mdns_msg_new(void)
{
    return calloc(1, sizeof(struct mdns_msg));
}

void mdns_msg_free(struct mdns_msg *m)
{
    free(m);
}

/* --- decoding ------------------------------------------------------------ */

/* Reads a name at *off (following compression pointers, each strictly
 * backwards from where the name being read began) as dotted text; *off
 * moves past the name's bytes in place. */
static int read_name(const uint8_t *pkt, size_t n, size_t *off, char *out)
{
    size_t pos = *off, end = 0, k = 0, lowest = *off;
    unsigned jumps = 0;

    for (;;) {
        uint8_t len;
        if (pos >= n)
            return BAD;
        len = pkt[pos];
        if ((len & 0xc0) == 0xc0) {
            size_t ptr;
            if (pos + 1 >= n)
                return BAD;
            ptr = (size_t)(len & 0x3f) << 8 | pkt[pos + 1];
            if (ptr >= lowest || ++jumps > MDNS_MAX_JUMPS)
                return BAD; /* forward, self or a loop */
            if (!end)
                end = pos + 2;
            pos = lowest = ptr;
            continue;
        }
        if (len & 0xc0)
            return BAD; /* reserved label types */
        if (len == 0)
            break;
        if (pos + 1 + len > n || k + (k != 0) + len > MDNS_NAME_MAX)
            return BAD;
        if (k)
            out[k++] = '.';
        for (size_t i = 0; i < len; i++) {
            uint8_t c = pkt[pos + 1 + i];
            if (c == '.' || c == 0)
                return BAD; /* would change the name's meaning as text */
            out[k++] = (char)c;
        }
        pos += 1 + len;
    }
    out[k] = '\0';
    *off = end ? end : pos + 1;
    return 0;
}

static int get16(const uint8_t *p, size_t n, size_t *off, uint16_t *v)
{
    if (*off + 2 > n)
        return BAD;
    *v = (uint16_t)(p[*off] << 8 | p[*off + 1]);
    *off += 2;
    return 0;
}

static int get32(const uint8_t *p, size_t n, size_t *off, uint32_t *v)
{
    uint16_t hi, lo;
    if (get16(p, n, off, &hi) || get16(p, n, off, &lo))
        return BAD;
    *v = (uint32_t)hi << 16 | lo;
    return 0;
}

static int read_txt(const uint8_t *p, size_t start, size_t end,
                    struct mdns_rr *rr, size_t *dropped)
{
    size_t pos = start;

    while (pos < end) {
        size_t len = p[pos];
        if (pos + 1 + len > end)
            return BAD;
        if (rr->n_txt < MDNS_TXT_MAX) {
            memcpy(rr->txt[rr->n_txt].s, p + pos + 1, len);
            rr->txt[rr->n_txt++].len = len;
        } else {
            (*dropped)++;
        }
        pos += 1 + len;
    }
    return 0;
}

/* The type-specific data of rr at [start, end). */
static int read_rdata(const uint8_t *p, size_t n, size_t start, size_t end,
                      struct mdns_rr *rr, size_t *dropped)
{
    size_t off = start;
    uint16_t skip;

    switch (rr->type) {
    case MDNS_A:
    case MDNS_AAAA:
        if (end - start != (rr->type == MDNS_A ? 4u : 16u))
            return BAD;
        memcpy(rr->ip, p + start, end - start);
        return 0;
    case MDNS_PTR:
        if (read_name(p, end, &off, rr->target))
            return BAD;
        return off == end ? 0 : BAD;
    case MDNS_SRV:
        if (get16(p, end, &off, &skip) || get16(p, end, &off, &skip) ||
            get16(p, end, &off, &rr->port) ||
            read_name(p, end, &off, rr->target))
            return BAD;
        return off == end ? 0 : BAD;
    case MDNS_TXT:
        return read_txt(p, start, end, rr, dropped);
    default:
        (void)n;
        return 0; /* other types: skipped */
    }
}

static int read_rr(const uint8_t *p, size_t n, size_t *off, struct mdns_rr *rr,
                   size_t *dropped)
{
    uint16_t cls, rdlen;
    int err;

    memset(rr, 0, offsetof(struct mdns_rr, txt));
    rr->n_txt = 0;
    if (read_name(p, n, off, rr->name) || get16(p, n, off, &rr->type) ||
        get16(p, n, off, &cls) || get32(p, n, off, &rr->ttl) ||
        get16(p, n, off, &rdlen) || *off + rdlen > n)
        return BAD;
    rr->flush = cls & 0x8000;
    err = read_rdata(p, n, *off, *off + rdlen, rr, dropped);
    *off += rdlen;
    return err;
}

static int read_question(const uint8_t *p, size_t n, size_t *off,
                         struct mdns_question *q)
{
    uint16_t cls;
    if (read_name(p, n, off, q->name) || get16(p, n, off, &q->type) ||
        get16(p, n, off, &cls))
        return BAD;
    q->unicast = cls & 0x8000;
    return 0;
}

int mdns_decode(const uint8_t *p, size_t n, struct mdns_msg *out)
{
    uint16_t flags, count[4];
    struct mdns_rr scratch_rr; /* records past the limit, read and dropped */
    struct mdns_question scratch_q;
    size_t off = 0;

    out->n_q = out->n_rr = out->dropped = 0;
    if (n > MDNS_MAX_PACKET || get16(p, n, &off, &out->id) ||
        get16(p, n, &off, &flags))
        return BAD;
    for (int i = 0; i < 4; i++)
        if (get16(p, n, &off, &count[i]))
            return BAD;
    out->response = flags & 0x8000;
    for (unsigned i = 0; i < count[0]; i++) {
        bool keep = out->n_q < MDNS_MAX_QUESTIONS;
        if (read_question(p, n, &off, keep ? &out->q[out->n_q] : &scratch_q))
            return BAD;
        keep ? out->n_q++ : out->dropped++;
    }
    for (int s = 0; s < 3; s++) {
        for (unsigned i = 0; i < count[s + 1]; i++) {
            bool keep = out->n_rr < MDNS_MAX_RECORDS;
            struct mdns_rr *rr = keep ? &out->rr[out->n_rr] : &scratch_rr;
            if (read_rr(p, n, &off, rr, &out->dropped))
                return BAD;
            rr->section = (enum mdns_section)s;
            keep ? out->n_rr++ : out->dropped++;
        }
    }
    return 0;
}

/* --- encoding ------------------------------------------------------------ */

static int put_name(struct buf *b, const char *name)
{
    const char *p = name;
    int err = 0;

    while (*p && !err) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0 || len > MDNS_LABEL_MAX)
            return FASTN_ERR_INVAL;
        err = buf_put_u8(b, (uint8_t)len);
        if (!err)
            err = buf_append(b, p, len);
        p += len + (dot != NULL);
    }
    return err ? err : buf_put_u8(b, 0);
}

static int put_header(struct buf *b, bool response, uint16_t qd, uint16_t an)
{
    int err = buf_put_be16(b, 0); /* id: 0 in multicast (RFC 6762 §18.1) */
    if (!err)
        err = buf_put_be16(b, response ? 0x8400 : 0); /* QR, AA */
    if (!err)
        err = buf_put_be16(b, qd);
    if (!err)
        err = buf_put_be16(b, an);
    if (!err)
        err = buf_put_be16(b, 0);
    return err ? err : buf_put_be16(b, 0);
}

/* Name, type, class IN (flush bit), TTL; then rdata written by caller
 * after a length placeholder at *len_at. */
static int put_rr_head(struct buf *b, const char *name, uint16_t type,
                       bool flush, uint32_t ttl, size_t *len_at)
{
    int err = put_name(b, name);
    if (!err)
        err = buf_put_be16(b, type);
    if (!err)
        err = buf_put_be16(b, flush ? 0x8001 : 0x0001);
    if (!err)
        err = buf_put_be32(b, ttl);
    *len_at = b->len;
    return err ? err : buf_put_be16(b, 0);
}

static void set_rdlen(struct buf *b, size_t len_at)
{
    size_t len = b->len - len_at - 2;
    b->data[len_at] = (uint8_t)(len >> 8);
    b->data[len_at + 1] = (uint8_t)len;
}

int mdns_query_encode(struct buf *out)
{
    int err = put_header(out, false, 1, 0);
    if (!err)
        err = put_name(out, MDNS_SERVICE);
    if (!err)
        err = buf_put_be16(out, MDNS_PTR);
    return err ? err : buf_put_be16(out, 1);
}

static int put_ptr(struct buf *b, const char *name, const char *target,
                   uint32_t ttl)
{
    size_t at;
    int err = put_rr_head(b, name, MDNS_PTR, false, ttl, &at);
    if (!err)
        err = put_name(b, target);
    if (!err)
        set_rdlen(b, at);
    return err;
}

static int put_txt(struct buf *b, const char *name, const struct multiaddr *a,
                   const struct peer_id *self, uint32_t ttl)
{
    char text[9 + MULTIADDR_STR_MAX];
    struct multiaddr full = *a;
    size_t at, len;
    struct peer_id last;
    int err;

    if (multiaddr_get_peer(&full, &last) != 0 &&
        multiaddr_append_peer(&full, self) != 0)
        return 0; /* no room for /p2p: leave it out */
    memcpy(text, "dnsaddr=", 8);
    if (multiaddr_format(&full, text + 8, sizeof(text) - 8) < 0)
        return 0;
    len = strlen(text);
    if (len > 255)
        return 0; /* one TXT string holds 255 bytes */
    err = put_rr_head(b, name, MDNS_TXT, true, ttl, &at);
    if (!err)
        err = buf_put_u8(b, (uint8_t)len);
    if (!err)
        err = buf_append(b, text, len);
    if (!err)
        set_rdlen(b, at);
    return err;
}

int mdns_response_encode(const char *peer_name, const struct peer_id *self,
                         const struct multiaddr *addrs, size_t n, uint32_t ttl,
                         struct buf *out)
{
    char inst[MDNS_NAME_MAX + 1];
    size_t start = out->len, count_at;
    uint16_t answers = 1;
    int err;

    if (!*peer_name || strchr(peer_name, '.') ||
        strlen(peer_name) > MDNS_LABEL_MAX)
        return FASTN_ERR_INVAL;
    snprintf(inst, sizeof(inst), "%s.%s", peer_name, MDNS_SERVICE);
    err = put_header(out, true, 0, 0);
    count_at = start + 6;
    if (!err)
        err = put_ptr(out, MDNS_SERVICE, inst, ttl);
    for (size_t i = 0; !err && i < n; i++) {
        size_t before = out->len;
        err = put_txt(out, inst, &addrs[i], self, ttl);
        answers += out->len != before;
    }
    if (!err && out->len - start > MDNS_MAX_PACKET)
        err = FASTN_ERR_TOO_LARGE;
    if (err) {
        out->len = start;
        return err;
    }
    out->data[count_at] = (uint8_t)(answers >> 8);
    out->data[count_at + 1] = (uint8_t)answers;
    return 0;
}

void mdns_peer_name(const uint8_t *rnd, size_t n,
                    char out[MDNS_PEER_NAME_LEN + 1])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < MDNS_PEER_NAME_LEN; i++)
        out[i] = alphabet[(i < n ? rnd[i] : (uint8_t)i) % 36];
    out[MDNS_PEER_NAME_LEN] = '\0';
}

int mdns_meta_response_encode(struct buf *out)
{
    size_t start = out->len;
    int err = put_header(out, true, 0, 1);
    if (!err)
        err = put_ptr(out, MDNS_META_QUERY, MDNS_SERVICE, MDNS_TTL);
    if (err)
        out->len = start;
    return err;
}
