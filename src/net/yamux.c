/*
 * yamux session state machine; see yamux.h.
 *
 * Invariants: a stream is in the table from its SYN (sent or received)
 * until both sides sent FIN or either sent RST. Ids below next_id (ours)
 * or up to max_remote_id (theirs) that are not in the table belong to
 * streams that are gone: late frames for them are dropped, as a peer may
 * still be sending when our RST reaches it. Any other unknown id is a
 * protocol error.
 *
 * The parser keeps a partial 12-byte header and, inside a data frame, the
 * bytes still to come; events wait in a small queue and are handed out
 * one per yamux_feed() call, before any further byte is parsed, so a data
 * event always points into the caller's current input.
 */
#include "net/yamux.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "util/buf.h"
#include "util/log.h"

#define EVQ 8
/* Room for control frames beyond max_output. */
#define CONTROL_SLACK (1024 * 1024)
/* Answers to pings waiting in the output, at most: a peer's further pings
 * are dropped until the output has been taken (as go-yamux drops them
 * when its pong channel is full), so a ping flood costs one frame per
 * read, not one per ping. */
#define MAX_PONGS 4
/* Control frames waiting in the output, at most (bytes): past it, a peer
 * that makes us answer faster than the output is taken (SYNs refused by
 * the thousand in one read) ends the session. */
#define CONTROL_BURST (64 * 1024)
/* Capacity an empty output keeps for the next frames. */
#define OUT_KEEP 4096
/* Grow the window when it was used up within this many round trips. */
#define AUTOTUNE_RTTS 4

struct stream {
    uint32_t id;
    bool inbound, acked, local_fin, remote_fin;
    uint32_t send_window;
    uint32_t recv_window;   /* the window we aim to offer */
    uint32_t recv_credit;   /* what the peer may still send */
    uint32_t recv_buffered; /* received, not yet consumed */
    uint64_t epoch;         /* when we last sent a window update */
    void *user;
};

struct yamux_session {
    struct yamux_config cfg;
    int failed;
    struct stream **slots;
    uint32_t nslots, count;
    uint32_t next_id, max_remote_id;
    uint32_t out_unacked, in_unacked;
    bool local_goaway, remote_goaway;
    bool ping_out;
    uint32_t ping_value;
    uint64_t ping_sent, rtt, last_rx;
    struct buf out;
    size_t out_ctl; /* bytes of control frames in out */
    unsigned pongs; /* ping answers in out */
    /* parser */
    uint8_t hdr[YAMUX_HEADER_LEN];
    size_t hdr_have;
    uint32_t cur_id;
    uint16_t cur_flags;
    size_t data_left;
    bool discard;
    /* events */
    struct yamux_event q[EVQ];
    unsigned qh, qn;
};

void yamux_config_default(struct yamux_config *cfg, bool client)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->client = client;
    cfg->max_streams = 1024;
    cfg->max_window = 16 * 1024 * 1024;
    cfg->ack_backlog = 256;
    cfg->keepalive_us = 30ull * 1000000;
    cfg->ping_timeout_us = 15ull * 1000000;
    cfg->max_output = 8 * 1024 * 1024;
}

/* --- stream table (open addressing, linear probing) --------------------- */

static uint32_t slot_of(const struct yamux_session *s, uint32_t id)
{
    return (id * 2654435761u) & (s->nslots - 1);
}

static struct stream *find(const struct yamux_session *s, uint32_t id)
{
    for (uint32_t i = slot_of(s, id);; i = (i + 1) & (s->nslots - 1)) {
        struct stream *st = s->slots[i];
        if (!st || st->id == id)
            return st;
    }
}

static void place(struct stream **slots, uint32_t nslots, struct stream *st)
{
    uint32_t i = (st->id * 2654435761u) & (nslots - 1);
    while (slots[i])
        i = (i + 1) & (nslots - 1);
    slots[i] = st;
}

/* Doubles the table once it is half full (it starts small: most sessions
 * carry a few streams, and an idle one should cost little). */
static int grow(struct yamux_session *s)
{
    uint32_t n = s->nslots * 2;
    struct stream **slots;

    if (2 * (s->count + 1) <= s->nslots)
        return 0;
    slots = calloc(n, sizeof(*slots));
    if (!slots)
        return FASTN_ERR_NOMEM;
    for (uint32_t i = 0; i < s->nslots; i++)
        if (s->slots[i])
            place(slots, n, s->slots[i]);
    free(s->slots);
    s->slots = slots;
    s->nslots = n;
    return 0;
}

static void insert(struct yamux_session *s, struct stream *st)
{
    place(s->slots, s->nslots, st);
    s->count++;
}

/* Removes and frees a stream, closing the gap behind it so that probes
 * for the entries after it still find them. */
static void delete_stream(struct yamux_session *s, struct stream *st)
{
    uint32_t mask = s->nslots - 1, i = slot_of(s, st->id), j;

    while (s->slots[i] != st)
        i = (i + 1) & mask;
    s->slots[i] = NULL;
    for (j = (i + 1) & mask; s->slots[j]; j = (j + 1) & mask) {
        uint32_t home = slot_of(s, s->slots[j]->id);
        /* move j back to i unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            s->slots[i] = s->slots[j];
            s->slots[j] = NULL;
            i = j;
        }
    }
    if (!st->acked && st->inbound)
        s->in_unacked--;
    if (!st->acked && !st->inbound)
        s->out_unacked--;
    s->count--;
    free(st);
}

static struct stream *new_stream(struct yamux_session *s, uint32_t id,
                                 bool inbound, uint64_t now)
{
    struct stream *st;

    if (grow(s))
        return NULL;
    st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->id = id;
    st->inbound = inbound;
    st->send_window = YAMUX_INITIAL_WINDOW;
    st->recv_window = YAMUX_INITIAL_WINDOW;
    st->recv_credit = YAMUX_INITIAL_WINDOW;
    st->epoch = now;
    insert(s, st);
    if (inbound)
        s->in_unacked++;
    else
        s->out_unacked++;
    return st;
}

/* --- session ------------------------------------------------------------ */

static void put_header(uint8_t h[YAMUX_HEADER_LEN], uint8_t type,
                       uint16_t flags, uint32_t id, uint32_t len)
{
    h[0] = 0;
    h[1] = type;
    h[2] = (uint8_t)(flags >> 8);
    h[3] = (uint8_t)flags;
    for (int i = 0; i < 4; i++) {
        h[4 + i] = (uint8_t)(id >> (24 - 8 * i));
        h[8 + i] = (uint8_t)(len >> (24 - 8 * i));
    }
}

static int queue_frame(struct yamux_session *s, uint8_t type, uint16_t flags,
                       uint32_t id, uint32_t len)
{
    uint8_t h[YAMUX_HEADER_LEN];
    put_header(h, type, flags, id, len);
    if (buf_append(&s->out, h, sizeof(h)))
        return FASTN_ERR_TOO_LARGE;
    s->out_ctl += sizeof(h);
    return 0;
}

/* A control frame the peer's input asks for (an answer, a refusal):
 * bounded by CONTROL_BURST until the output is taken. */
static int queue_reply(struct yamux_session *s, uint8_t type, uint16_t flags,
                       uint32_t id, uint32_t len)
{
    if (s->out_ctl + YAMUX_HEADER_LEN > CONTROL_BURST)
        return FASTN_ERR_TOO_LARGE;
    return queue_frame(s, type, flags, id, len);
}

struct yamux_session *yamux_new(const struct yamux_config *cfg, uint64_t now)
{
    struct yamux_session *s;
    uint32_t n = 8;

    if (cfg->max_streams == 0 || cfg->max_streams > (1u << 24) ||
        cfg->max_window < YAMUX_INITIAL_WINDOW)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->slots = calloc(n, sizeof(*s->slots));
    if (!s->slots) {
        free(s);
        return NULL;
    }
    s->cfg = *cfg;
    s->nslots = n;
    s->next_id = cfg->client ? 1 : 2;
    s->last_rx = now;
    buf_init(&s->out, cfg->max_output + CONTROL_SLACK);
    /* A first ping measures the round trip that window tuning needs. */
    yamux_ping(s, now);
    return s;
}

void yamux_free(struct yamux_session *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->nslots; i++)
        free(s->slots[i]);
    free(s->slots);
    buf_cleanup(&s->out);
    free(s);
}

static int fail(struct yamux_session *s, int err)
{
    if (!s->failed) {
        s->failed = err;
        queue_frame(s, YAMUX_TYPE_GOAWAY, 0, 0,
                    err == FASTN_ERR_NET_MUX || err == FASTN_ERR_NET_WINDOW
                        ? YAMUX_GOAWAY_PROTOCOL
                        : YAMUX_GOAWAY_INTERNAL);
        log_msg(LOG_DEBUG, "net", "yamux session ended: %s",
                fastn_strerror(err));
    }
    return err;
}

static void push(struct yamux_session *s, enum yamux_event_type type,
                 uint32_t id, void *user)
{
    struct yamux_event *ev = &s->q[(s->qh + s->qn) % EVQ];
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->stream_id = id;
    ev->user = user;
    s->qn++;
}

static void pop(struct yamux_session *s, struct yamux_event *ev)
{
    *ev = s->q[s->qh];
    s->qh = (s->qh + 1) % EVQ;
    s->qn--;
}

/* --- receiving ---------------------------------------------------------- */

static bool is_remote_id(const struct yamux_session *s, uint32_t id)
{
    return (id % 2 == 1) != s->cfg.client;
}

/* An id that was used once but whose stream is gone. */
static bool is_old_id(const struct yamux_session *s, uint32_t id)
{
    return is_remote_id(s, id) ? id <= s->max_remote_id : id < s->next_id;
}

/* FIN and RST take effect after the frame's data. */
static void apply_close_flags(struct yamux_session *s, uint32_t id,
                              uint16_t flags)
{
    struct stream *st = find(s, id);
    void *user;

    if (!st || !(flags & (YAMUX_FIN | YAMUX_RST)))
        return;
    user = st->user;
    if (flags & YAMUX_RST) {
        delete_stream(s, st);
        push(s, YAMUX_EV_RESET, id, user);
        return;
    }
    if (st->remote_fin)
        return;
    st->remote_fin = true;
    push(s, YAMUX_EV_FIN, id, user);
    if (st->local_fin) {
        delete_stream(s, st);
        push(s, YAMUX_EV_CLOSED, id, user);
    }
}

/* A SYN: a new stream from the peer, or a refusal when we cannot take
 * it. Returns the stream or NULL (refused: its data is dropped). */
static int on_syn(struct yamux_session *s, uint8_t type, uint32_t id,
                  uint32_t len, struct stream **out, uint64_t now)
{
    *out = NULL;
    if (find(s, id) || !is_remote_id(s, id))
        return FASTN_ERR_NET_MUX;
    if (type == YAMUX_TYPE_DATA && len > YAMUX_INITIAL_WINDOW)
        return FASTN_ERR_NET_WINDOW;
    if (id > s->max_remote_id)
        s->max_remote_id = id;
    if (s->local_goaway || s->count >= s->cfg.max_streams ||
        s->in_unacked >= s->cfg.ack_backlog) {
        LOG_RATELIMITED(LOG_INFO, "net", "yamux: refusing stream %u", id);
        return queue_reply(s, YAMUX_TYPE_WINDOW, YAMUX_RST, id, 0);
    }
    *out = new_stream(s, id, true, now);
    if (!*out)
        return FASTN_ERR_NOMEM;
    push(s, YAMUX_EV_STREAM_OPEN, id, NULL);
    return 0;
}

static int on_window(struct yamux_session *s, struct stream *st, uint32_t len)
{
    if (len == 0)
        return 0;
    if (st->send_window > UINT32_MAX - len)
        return FASTN_ERR_NET_MUX;
    st->send_window += len;
    push(s, YAMUX_EV_WRITABLE, st->id, st->user);
    return 0;
}

/* Data counts against the stream's receive window; its bytes follow. */
static int on_data(struct stream *st, uint32_t len)
{
    if (len == 0)
        return 0;
    if (st->remote_fin)
        return FASTN_ERR_NET_MUX;
    if (len > st->recv_credit)
        return FASTN_ERR_NET_WINDOW;
    st->recv_credit -= len;
    st->recv_buffered += len;
    return 0;
}

static int on_stream_frame(struct yamux_session *s, uint8_t type,
                           uint16_t flags, uint32_t id, uint32_t len,
                           uint64_t now)
{
    struct stream *st;
    int err;

    if (id == 0)
        return FASTN_ERR_NET_MUX;
    s->cur_id = id;
    s->cur_flags = flags;
    s->discard = true;
    s->data_left = type == YAMUX_TYPE_DATA ? len : 0;
    if (flags & YAMUX_SYN) {
        err = on_syn(s, type, id, len, &st, now);
        if (err || !st)
            return err;
    } else {
        st = find(s, id);
        if (!st)
            return is_old_id(s, id) ? 0 : FASTN_ERR_NET_MUX;
    }
    if ((flags & YAMUX_ACK) && !st->inbound && !st->acked) {
        st->acked = true;
        s->out_unacked--;
    }
    err = type == YAMUX_TYPE_WINDOW ? on_window(s, st, len) : on_data(st, len);
    if (err)
        return err;
    s->discard = false;
    if (s->data_left == 0)
        apply_close_flags(s, id, flags);
    return 0;
}

static int on_ping(struct yamux_session *s, uint16_t flags, uint32_t id,
                   uint32_t value, uint64_t now)
{
    if (id != 0)
        return FASTN_ERR_NET_MUX;
    if (flags & YAMUX_SYN) { /* answer with exactly ACK and the value */
        if (s->pongs >= MAX_PONGS)
            return 0; /* the peer does not wait for each answer: drop */
        s->pongs++;
        return queue_reply(s, YAMUX_TYPE_PING, YAMUX_ACK, 0, value);
    }
    if (!(flags & YAMUX_ACK))
        return FASTN_ERR_NET_MUX;
    if (s->ping_out && value == s->ping_value) {
        s->ping_out = false;
        s->rtt = now > s->ping_sent ? now - s->ping_sent : 1;
        push(s, YAMUX_EV_PING_RTT, 0, NULL);
        s->q[(s->qh + s->qn - 1) % EVQ].rtt_us = s->rtt;
    }
    return 0;
}

static int on_header(struct yamux_session *s, uint64_t now)
{
    const uint8_t *h = s->hdr;
    uint16_t flags = (uint16_t)(h[2] << 8 | h[3]);
    uint32_t id = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 |
                  (uint32_t)h[6] << 8 | h[7];
    uint32_t len = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 |
                   (uint32_t)h[10] << 8 | h[11];

    if (h[0] != 0)
        return FASTN_ERR_NET_MUX;
    switch (h[1]) {
    case YAMUX_TYPE_DATA:
    case YAMUX_TYPE_WINDOW:
        return on_stream_frame(s, h[1], flags, id, len, now);
    case YAMUX_TYPE_PING:
        return on_ping(s, flags, id, len, now);
    case YAMUX_TYPE_GOAWAY:
        if (id != 0)
            return FASTN_ERR_NET_MUX;
        s->remote_goaway = true;
        push(s, YAMUX_EV_GOAWAY, 0, NULL);
        s->q[(s->qh + s->qn - 1) % EVQ].code = len;
        return 0;
    default:
        return FASTN_ERR_NET_MUX;
    }
}

/* Hands out (part of) a data frame's payload. */
static size_t on_body(struct yamux_session *s, const uint8_t *p, size_t n)
{
    size_t take = n < s->data_left ? n : s->data_left;
    struct stream *st = s->discard ? NULL : find(s, s->cur_id);

    s->data_left -= take;
    if (st && take) {
        push(s, YAMUX_EV_DATA, st->id, st->user);
        s->q[(s->qh + s->qn - 1) % EVQ].data = p;
        s->q[(s->qh + s->qn - 1) % EVQ].len = take;
    }
    if (s->data_left == 0 && !s->discard)
        apply_close_flags(s, s->cur_id, s->cur_flags);
    return take;
}

int yamux_feed(struct yamux_session *s, const uint8_t *p, size_t n,
               size_t *used, struct yamux_event *ev, uint64_t now)
{
    size_t i = 0;

    *used = 0;
    if (s->failed)
        return s->failed;
    if (n > 0)
        s->last_rx = now;
    while (s->qn == 0 && i < n) {
        if (s->data_left > 0) {
            i += on_body(s, p + i, n - i);
            continue;
        }
        size_t take = YAMUX_HEADER_LEN - s->hdr_have;
        if (take > n - i)
            take = n - i;
        memcpy(s->hdr + s->hdr_have, p + i, take);
        s->hdr_have += take;
        i += take;
        if (s->hdr_have < YAMUX_HEADER_LEN)
            break;
        s->hdr_have = 0;
        int err = on_header(s, now);
        if (err) {
            *used = i;
            return fail(s, err);
        }
    }
    *used = i;
    if (s->qn == 0)
        return 0;
    pop(s, ev);
    return 1;
}

/* --- sending ------------------------------------------------------------ */

/* Flags every frame we send on a stream carries: ACK until we have
 * acknowledged an incoming stream. */
static uint16_t stream_flags(struct yamux_session *s, struct stream *st)
{
    if (!st->inbound || st->acked)
        return 0;
    st->acked = true;
    s->in_unacked--;
    return YAMUX_ACK;
}

int yamux_stream_open(struct yamux_session *s, void *user, uint32_t *id)
{
    struct stream *st;
    int err;

    if (s->failed)
        return FASTN_ERR_CLOSED;
    if (s->local_goaway || s->remote_goaway)
        return FASTN_ERR_NET_GOAWAY;
    if (s->count >= s->cfg.max_streams || s->next_id > UINT32_MAX - 2)
        return FASTN_ERR_NET_STREAM_LIMIT;
    if (s->out_unacked >= s->cfg.ack_backlog)
        return FASTN_ERR_AGAIN;
    err = queue_frame(s, YAMUX_TYPE_WINDOW, YAMUX_SYN, s->next_id, 0);
    if (err)
        return FASTN_ERR_AGAIN;
    st = new_stream(s, s->next_id, false, 0);
    if (!st) {
        s->out.len -= YAMUX_HEADER_LEN;
        s->out_ctl -= YAMUX_HEADER_LEN;
        return FASTN_ERR_NOMEM;
    }
    st->user = user;
    *id = s->next_id;
    s->next_id += 2;
    return 0;
}

int yamux_stream_accept(struct yamux_session *s, uint32_t id, void *user)
{
    struct stream *st = find(s, id);
    if (!st)
        return FASTN_ERR_NOT_FOUND;
    st->user = user;
    if (!st->inbound || st->acked)
        return 0;
    if (queue_frame(s, YAMUX_TYPE_WINDOW, YAMUX_ACK, id, 0))
        return FASTN_ERR_AGAIN;
    st->acked = true;
    s->in_unacked--;
    return 0;
}

int yamux_stream_set_user(struct yamux_session *s, uint32_t id, void *user)
{
    struct stream *st = find(s, id);
    if (!st)
        return FASTN_ERR_NOT_FOUND;
    st->user = user;
    return 0;
}

void *yamux_stream_user(struct yamux_session *s, uint32_t id)
{
    struct stream *st = find(s, id);
    return st ? st->user : NULL;
}

uint32_t yamux_stream_send_window(struct yamux_session *s, uint32_t id)
{
    struct stream *st = find(s, id);
    return st && !st->local_fin && !s->failed ? st->send_window : 0;
}

uint32_t yamux_stream_recv_window(struct yamux_session *s, uint32_t id)
{
    struct stream *st = find(s, id);
    return st ? st->recv_window : 0;
}

uint32_t yamux_stream_count(const struct yamux_session *s)
{
    return s->count;
}

/* After our FIN: the stream is gone once the peer's FIN came too. */
static void local_fin(struct yamux_session *s, struct stream *st)
{
    st->local_fin = true;
    if (st->remote_fin)
        delete_stream(s, st);
}

int yamux_stream_data_header(struct yamux_session *s, uint32_t id, size_t len,
                             uint8_t hdr[YAMUX_HEADER_LEN])
{
    struct stream *st = find(s, id);

    if (!st)
        return FASTN_ERR_NOT_FOUND;
    if (st->local_fin || s->failed)
        return FASTN_ERR_CLOSED;
    if (len > st->send_window)
        return FASTN_ERR_AGAIN;
    put_header(hdr, YAMUX_TYPE_DATA, stream_flags(s, st), id, (uint32_t)len);
    st->send_window -= (uint32_t)len;
    return 0;
}

int yamux_stream_write(struct yamux_session *s, uint32_t id, const uint8_t *p,
                       size_t n)
{
    struct stream *st = find(s, id);
    size_t room;
    int err;

    if (!st)
        return FASTN_ERR_NOT_FOUND;
    if (st->local_fin || s->failed)
        return FASTN_ERR_CLOSED;
    room = s->out.len + YAMUX_HEADER_LEN < s->cfg.max_output
               ? s->cfg.max_output - s->out.len - YAMUX_HEADER_LEN
               : 0;
    if (n > room)
        n = room;
    if (n > st->send_window)
        n = st->send_window;
    if (n == 0)
        return 0;
    err = buf_reserve(&s->out, YAMUX_HEADER_LEN + n);
    if (err)
        return err == FASTN_ERR_NOMEM ? err : 0;
    yamux_stream_data_header(s, id, n, s->out.data + s->out.len);
    memcpy(s->out.data + s->out.len + YAMUX_HEADER_LEN, p, n);
    s->out.len += YAMUX_HEADER_LEN + n;
    return (int)n;
}

int yamux_stream_close(struct yamux_session *s, uint32_t id)
{
    struct stream *st = find(s, id);
    uint16_t flags;

    if (!st)
        return FASTN_ERR_NOT_FOUND;
    if (st->local_fin)
        return FASTN_ERR_CLOSED;
    flags = stream_flags(s, st) | YAMUX_FIN;
    if (queue_frame(s, YAMUX_TYPE_WINDOW, flags, id, 0))
        return FASTN_ERR_AGAIN;
    local_fin(s, st);
    return 0;
}

/* Events already queued for a stream the caller ends now lose their user
 * pointer (it may free what it pointed to): a FIN's handler that resets
 * its stream must not get the CLOSED queued behind it. */
static void forget_queued(struct yamux_session *s, uint32_t id)
{
    for (unsigned i = 0; i < s->qn; i++) {
        struct yamux_event *ev = &s->q[(s->qh + i) % EVQ];
        if (ev->stream_id == id)
            ev->user = NULL;
    }
}

int yamux_stream_reset(struct yamux_session *s, uint32_t id)
{
    struct stream *st = find(s, id);

    forget_queued(s, id);
    if (!st)
        return FASTN_ERR_NOT_FOUND;
    /* Queued even past the output limit: a reset must not be lost. */
    s->out.max += YAMUX_HEADER_LEN;
    queue_frame(s, YAMUX_TYPE_WINDOW, YAMUX_RST, id, 0);
    s->out.max -= YAMUX_HEADER_LEN;
    delete_stream(s, st);
    return 0;
}

void yamux_stream_consumed(struct yamux_session *s, uint32_t id, size_t n,
                           uint64_t now)
{
    struct stream *st = find(s, id);
    uint32_t delta, max = s->cfg.max_window;

    if (!st || s->failed)
        return;
    st->recv_buffered -=
        n < st->recv_buffered ? (uint32_t)n : st->recv_buffered;
    if (st->remote_fin)
        return;
    delta = st->recv_window - st->recv_credit - st->recv_buffered;
    /* Update once half the window is free: fewer, larger updates. */
    if (delta < st->recv_window / 2)
        return;
    /* The window was used up within a few round trips: it limits the
     * throughput, so double it (go-yamux's auto-tuning). */
    if (s->rtt && now - st->epoch < AUTOTUNE_RTTS * s->rtt &&
        st->recv_window < max) {
        st->recv_window = st->recv_window > max / 2 ? max : st->recv_window * 2;
        delta = st->recv_window - st->recv_credit - st->recv_buffered;
    }
    if (queue_frame(s, YAMUX_TYPE_WINDOW, stream_flags(s, st), id, delta))
        return; /* output full: the next consumption retries */
    st->epoch = now;
    st->recv_credit += delta;
}

int yamux_ping(struct yamux_session *s, uint64_t now)
{
    if (s->failed)
        return FASTN_ERR_CLOSED;
    if (s->ping_out)
        return FASTN_ERR_BUSY;
    if (queue_frame(s, YAMUX_TYPE_PING, YAMUX_SYN, 0, s->ping_value + 1))
        return FASTN_ERR_AGAIN;
    s->ping_value++;
    s->ping_out = true;
    s->ping_sent = now;
    return 0;
}

uint64_t yamux_rtt(const struct yamux_session *s)
{
    return s->rtt;
}

int yamux_go_away(struct yamux_session *s, enum yamux_goaway code)
{
    if (s->local_goaway)
        return 0;
    if (queue_frame(s, YAMUX_TYPE_GOAWAY, 0, 0, code))
        return FASTN_ERR_AGAIN;
    s->local_goaway = true;
    return 0;
}

bool yamux_remote_went_away(const struct yamux_session *s)
{
    return s->remote_goaway;
}

int yamux_tick(struct yamux_session *s, uint64_t now)
{
    if (s->failed)
        return s->failed;
    if (s->ping_out) {
        if (s->cfg.ping_timeout_us &&
            now - s->ping_sent >= s->cfg.ping_timeout_us)
            return fail(s, FASTN_ERR_NET_DEAD);
        return 0;
    }
    if (s->cfg.keepalive_us && now - s->last_rx >= s->cfg.keepalive_us)
        yamux_ping(s, now);
    return 0;
}

uint64_t yamux_next_deadline(const struct yamux_session *s)
{
    if (s->failed)
        return UINT64_MAX;
    if (s->ping_out)
        return s->cfg.ping_timeout_us ? s->ping_sent + s->cfg.ping_timeout_us
                                      : UINT64_MAX;
    return s->cfg.keepalive_us ? s->last_rx + s->cfg.keepalive_us : UINT64_MAX;
}

void yamux_set_liveness(struct yamux_session *s, uint64_t keepalive_us,
                        uint64_t ping_timeout_us)
{
    s->cfg.keepalive_us = keepalive_us;
    s->cfg.ping_timeout_us = ping_timeout_us;
}

const uint8_t *yamux_output(const struct yamux_session *s, size_t *n)
{
    *n = s->out.len;
    return s->out.data;
}

size_t yamux_output_control(const struct yamux_session *s)
{
    return s->out_ctl < s->out.len ? s->out_ctl : s->out.len;
}

void yamux_output_consume(struct yamux_session *s, size_t n)
{
    buf_consume(&s->out, n);
    if (s->out.len == 0) {
        s->out_ctl = 0;
        s->pongs = 0;
    }
    /* An empty session keeps little: its output grew for a burst. */
    if (s->out.len == 0 && s->out.cap > OUT_KEEP)
        buf_cleanup(&s->out);
}
