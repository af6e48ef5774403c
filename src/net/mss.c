/*
 * multistream-select 1.0 state machines; see mss.h.
 *
 * Received messages are assembled byte-exactly in m->msg: first the
 * uvarint length (at most two bytes, as MSS_MAX_MSG < 2^14), then exactly
 * that many bytes, so nothing past a message is ever consumed. A complete
 * message has its '\n' replaced by NUL and is handled by the role's state
 * machine (libp2p/specs connections/README.md, "multistream-select").
 */
#include "net/mss.h"

#include <string.h>

#include "fastn/err.h"

enum {
    ST_HEADER, /* waiting for the peer's multistream header */
    ST_NEGOTIATE,
    ST_DONE,
    ST_FAILED,
};

/* The reply to "ls" is capped so that it stays one legal message. */
#define LS_MAX_NAMES 64

int mss_write_msg(struct buf *out, const char *text, size_t len)
{
    int err;

    if (len + 1 > MSS_MAX_MSG)
        return FASTN_ERR_INVAL;
    err = buf_put_uvarint(out, len + 1);
    if (!err)
        err = buf_append(out, text, len);
    if (!err)
        err = buf_put_u8(out, '\n');
    return err;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n + 1 <= MSS_MAX_MSG && !memchr(s, '\n', n);
}

int mss_init_dialer(struct mss *m, const char *const *protos, size_t n)
{
    memset(m, 0, sizeof(*m));
    if (n == 0)
        return FASTN_ERR_INVAL;
    for (size_t i = 0; i < n; i++)
        if (!protos[i] || !name_ok(protos[i]))
            return FASTN_ERR_INVAL;
    m->role = MSS_DIALER;
    m->protos = protos;
    m->nprotos = n;
    return 0;
}

void mss_init_listener(struct mss *m, mss_supports_fn supports,
                       mss_list_fn list, void *arg)
{
    memset(m, 0, sizeof(*m));
    m->role = MSS_LISTENER;
    m->supports = supports;
    m->list = list;
    m->arg = arg;
}

static int propose(struct mss *m, struct buf *out)
{
    const char *p = m->protos[m->cur];
    return mss_write_msg(out, p, strlen(p));
}

int mss_start(struct mss *m, struct buf *out)
{
    int err = mss_write_msg(out, MSS_PROTOCOL_ID, strlen(MSS_PROTOCOL_ID));
    if (!err && m->role == MSS_DIALER)
        err = propose(m, out);
    return err;
}

/* The "ls" reply (go-multistream): one message whose text is each name
 * as its own length-prefixed message, then a final newline. */
static int write_ls(struct mss *m, struct buf *out)
{
    const char *names[LS_MAX_NAMES];
    uint8_t body[MSS_MAX_MSG];
    size_t n = m->list ? m->list(m->arg, names, LS_MAX_NAMES) : 0;
    size_t k = 0;

    for (size_t i = 0; i < n && i < LS_MAX_NAMES; i++) {
        size_t len = strlen(names[i]);
        /* varint (<= 2 bytes) + name + '\n', and room for the final '\n' */
        if (!name_ok(names[i]) || k + len + 4 > MSS_MAX_MSG - 1)
            continue;
        k += uvarint_encode(len + 1, body + k);
        memcpy(body + k, names[i], len);
        k += len;
        body[k++] = '\n';
    }
    return mss_write_msg(out, (const char *)body, k);
}

static int on_listener_msg(struct mss *m, const char *text, size_t len,
                           struct buf *out)
{
    if (strcmp(text, "ls") == 0)
        return write_ls(m, out);
    if (m->supports && m->supports(m->arg, text, len)) {
        int err = mss_write_msg(out, text, len);
        return err ? err : MSS_DONE;
    }
    if (++m->rejects > MSS_MAX_REJECTS)
        return FASTN_ERR_NET_PROTO_NA;
    return mss_write_msg(out, "na", 2);
}

static int on_dialer_msg(struct mss *m, const char *text, struct buf *out)
{
    if (strcmp(text, m->protos[m->cur]) == 0)
        return MSS_DONE;
    if (strcmp(text, "na") != 0)
        return FASTN_ERR_NET_NEGOTIATION;
    if (++m->cur == m->nprotos)
        return FASTN_ERR_NET_PROTO_NA;
    return propose(m, out);
}

/* Handles the complete message in m->msg[0..m->want). */
static int on_msg(struct mss *m, struct buf *out)
{
    char *text = (char *)m->msg;
    size_t len = m->want - 1;

    if (m->msg[len] != '\n')
        return FASTN_ERR_MALFORMED;
    if (len == 0 || memchr(text, '\0', len))
        return FASTN_ERR_MALFORMED;
    text[len] = '\0';
    if (m->state == ST_HEADER) {
        if (strcmp(text, MSS_PROTOCOL_ID) != 0)
            return FASTN_ERR_NET_NEGOTIATION;
        m->state = ST_NEGOTIATE;
        return 0;
    }
    if (m->role == MSS_LISTENER)
        return on_listener_msg(m, text, len, out);
    return on_dialer_msg(m, text, out);
}

/* Takes bytes of the uvarint length one at a time (it ends at the first
 * byte without the high bit). */
static int read_length(struct mss *m, uint8_t byte)
{
    m->msg[m->have++] = byte;
    if (byte & 0x80) {
        /* A third length byte would mean >= 2^14: over the limit. */
        return m->have >= 2 ? FASTN_ERR_TOO_LARGE : 0;
    }
    m->want = m->msg[0] & 0x7f;
    if (m->have == 2)
        m->want |= (size_t)(m->msg[1] & 0x7f) << 7;
    m->have = 0;
    if (m->want == 0)
        return FASTN_ERR_MALFORMED;
    return m->want > MSS_MAX_MSG ? FASTN_ERR_TOO_LARGE : 0;
}

int mss_input(struct mss *m, const uint8_t *p, size_t n, size_t *consumed,
              struct buf *out)
{
    size_t i = 0;
    int r = 0;

    *consumed = 0;
    if (m->state == ST_DONE || m->state == ST_FAILED)
        return FASTN_ERR_INVAL;
    while (i < n && r == 0) {
        if (m->want == 0) {
            r = read_length(m, p[i++]);
            continue;
        }
        size_t take = m->want - m->have;
        if (take > n - i)
            take = n - i;
        memcpy(m->msg + m->have, p + i, take);
        m->have += take;
        i += take;
        if (m->have < m->want)
            break;
        r = on_msg(m, out);
        if (r != MSS_DONE) {
            m->want = 0;
            m->have = 0;
        }
    }
    *consumed = i;
    if (r == MSS_DONE)
        m->state = ST_DONE;
    else if (r < 0)
        m->state = ST_FAILED;
    return r;
}

const char *mss_selected(const struct mss *m)
{
    if (m->state != ST_DONE)
        return NULL;
    if (m->role == MSS_DIALER)
        return m->protos[m->cur];
    return (const char *)m->msg;
}

size_t mss_selected_index(const struct mss *m)
{
    return m->cur;
}
