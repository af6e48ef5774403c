/*
 * Streams of the swarm (see swarm.h): multistream-select on each yamux
 * stream, the owner's events, the write queue and the in-place frame
 * path, half-close and reset.
 *
 * Life: a stream starts with one reference (alive); every delivery of an
 * event holds one more, and so does a place in the deferred queue, so an
 * owner may reset the stream from inside its callback. swarm__stream_finish()
 * ends it once: it unlinks it from its connection, delivers CLOSED (unless
 * the owner reset it) and drops the alive reference.
 *
 * Sending is possible once the stream has a yamux id and either its
 * protocol was agreed or it is an outgoing stream proposing one protocol
 * (multistream-select lets such a dialer send right behind its proposal).
 * Until then writes wait in the queue.
 */
#include "net/swarm_int.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "net/noise_pool.h"
#include "util/log.h"

static size_t qlen(const struct swarm_stream *st)
{
    return st->q.len - st->q_off;
}

static int q_append(struct swarm_stream *st, const uint8_t *p, size_t n)
{
    if (st->q_off && st->q.len + n > st->q.cap) {
        memmove(st->q.data, st->q.data + st->q_off, qlen(st));
        st->q.len -= st->q_off;
        st->q_off = 0;
    }
    return buf_append(&st->q, p, n);
}

static void q_consume(struct swarm_stream *st, size_t n)
{
    st->q_off += n;
    if (st->q_off >= st->q.len) {
        buf_reset(&st->q);
        st->q_off = 0;
    }
}

static void stream_free(struct swarm_stream *st)
{
    if (st->counted)
        st->sw->n_in_streams--;
    for (size_t i = 0; i < st->n_protos; i++)
        free(st->protos[i]);
    free(st->protos);
    free(st->protocol);
    free(st->mss);
    buf_cleanup(&st->q);
    free(st);
}

static void hold(struct swarm_stream *st)
{
    st->refs++;
}

static void release(struct swarm_stream *st)
{
    if (--st->refs == 0)
        stream_free(st);
}

struct swarm_stream *swarm__stream_new(struct swarm *sw, bool inbound)
{
    struct swarm_stream *st = calloc(1, sizeof(*st));

    if (!st)
        return NULL;
    st->sw = sw;
    st->inbound = inbound;
    st->refs = 1;
    buf_init(&st->q, SWARM_STREAM_QUEUE_MAX);
    sw->stats.streams_total++;
    return st;
}

static void link_conn(struct swarm_stream *st, struct swarm_conn *sc)
{
    st->sc = sc;
    st->next = sc->streams;
    st->pprev = &sc->streams;
    if (sc->streams)
        sc->streams->pprev = &st->next;
    sc->streams = st;
    sc->n_streams++;
    sc->sw->n_streams++;
    if (!st->idle_exempt)
        sc->n_user_streams++;
}

/* --- streams waiting to open (sc->opens, sw->open_waits) --- */

static void opens_conn_unlink(struct swarm_conn *sc)
{
    if (!sc->opprev)
        return;
    *sc->opprev = sc->onext;
    if (sc->onext)
        sc->onext->opprev = sc->opprev;
    sc->onext = NULL;
    sc->opprev = NULL;
}

static void opens_conn_push(struct swarm_conn **list, struct swarm_conn *sc)
{
    if (sc->opprev)
        return;
    sc->onext = *list;
    sc->opprev = list;
    if (*list)
        (*list)->opprev = &sc->onext;
    *list = sc;
}

static void open_unwait(struct swarm_stream *st)
{
    struct swarm_conn *sc = st->sc;

    if (!st->opprev)
        return;
    *st->opprev = st->onext;
    if (st->onext)
        st->onext->opprev = st->opprev;
    else
        sc->opens_tail = st->opprev;
    st->onext = NULL;
    st->opprev = NULL;
    sc->n_opens--;
    if (!sc->opens)
        opens_conn_unlink(sc);
}

static void unlink_conn(struct swarm_stream *st)
{
    struct swarm_conn *sc = st->sc;

    if (!sc)
        return;
    open_unwait(st);
    *st->pprev = st->next;
    if (st->next)
        st->next->pprev = st->pprev;
    sc->n_streams--;
    sc->sw->n_streams--;
    if (!st->idle_exempt)
        sc->n_user_streams--;
    if (sc->n_user_streams == 0 || sc->n_streams == 0)
        sc->idle_since_us = swarm__now_us();
    st->sc = NULL;
    if (!sc->in_pump)
        swarm__conn_update_timer(sc);
}

/* The stream stops counting towards its connection's idleness. */
static void set_idle_exempt(struct swarm_stream *st)
{
    if (st->idle_exempt)
        return;
    st->idle_exempt = true;
    if (st->sc && --st->sc->n_user_streams == 0)
        st->sc->idle_since_us = swarm__now_us();
}

static struct yamux_session *mux_of(const struct swarm_stream *st)
{
    return st->sc ? conn_mux(st->sc->c) : NULL;
}

static void flush(struct swarm_stream *st)
{
    if (swarm__conn_usable(st->sc) && !st->sc->in_pump)
        swarm__conn_flush_soon(st->sc);
}

static bool can_send(const struct swarm_stream *st)
{
    if (!st->has_id || !swarm__conn_usable(st->sc) || st->finished)
        return false;
    return st->state == SS_OPEN ||
           (st->state == SS_NEGOTIATING && !st->inbound && st->n_protos == 1);
}

static void emit(struct swarm_stream *st, enum swarm_stream_event_type type,
                 const uint8_t *data, size_t len, int err)
{
    struct swarm_stream_event ev = {type, data, len, err};

    if (st->owner_gone || !st->cb)
        return;
    hold(st);
    st->cb(st, &ev, st->arg);
    release(st);
}

static void timer_closed(uv_handle_t *h)
{
    free(h);
}

void swarm__stream_finish(struct swarm_stream *st, int err)
{
    if (st->finished)
        return;
    st->finished = true;
    st->state = SS_DONE;
    if (st->timer) {
        uv_close((uv_handle_t *)st->timer, timer_closed);
        st->timer = NULL;
    }
    if (st->wait) {
        swarm_wait_cancel(st->wait);
        st->wait = NULL;
    }
    if (st->has_id && st->sc && !st->sc->closing) {
        /* ended by us (timeout, failure): tell the peer */
        yamux_stream_reset(conn_mux(st->sc->c), st->id);
        flush(st);
    }
    st->has_id = false;
    unlink_conn(st);
    if (st->frame) { /* lent and never sent: may hold plaintext */
        memset(st->frame, 0, SWARM_FRAME_SIZE);
        swarm__frame_put(st->sw, st->frame);
        st->frame = NULL;
    }
    for (unsigned i = 0; i < SWARM_STREAM_FRAMES - 1; i++) {
        if (!st->more[i])
            continue;
        memset(st->more[i], 0, SWARM_FRAME_SIZE);
        swarm__frame_put(st->sw, st->more[i]);
        st->more[i] = NULL;
    }
    st->n_lent = 0;
    hold(st);
    emit(st, SWARM_STREAM_CLOSED, NULL, 0, err);
    st->owner_gone = true;
    release(st);
    release(st); /* the alive reference */
}

/* Ends the stream from the loop (not inside the owner's own call). */
static void finish_later(struct swarm_stream *st, int err)
{
    if (st->deferred || st->finished)
        return;
    st->final_err = err;
    st->state = SS_DONE;
    unlink_conn(st);
    hold(st); /* released by the deferred queue */
    swarm__defer(st);
}

/* --- sending ----------------------------------------------------------------
 */

static bool window_open(const struct swarm_stream *st)
{
    return yamux_stream_send_window(mux_of(st), st->id) > 0;
}

static bool writable_now(const struct swarm_stream *st)
{
    return can_send(st) && qlen(st) <= SWARM_STREAM_QUEUE_MAX / 2 &&
           !swarm__conn_backlogged(st->sc) && window_open(st);
}

/* The owner must wait for WRITABLE: the connection kicks its streams
 * once it has room again. */
static void wait_writable(struct swarm_stream *st)
{
    st->want_writable = true;
    if (st->sc)
        swarm__conn_stall(st->sc);
}

/* Writes of at least this many bytes go out as frames sealed straight
 * from the caller's bytes; smaller ones are copied into yamux's output,
 * where they share a Noise frame with what else is written meanwhile. */
#define FRAMED_MIN (16u << 10)

/* n bytes (within the stream's window and the connection's room) as
 * frames from the pool, each encrypted from p into the frame (the only
 * pass over the bytes before the socket: yamux's output is not used).
 * Returns the bytes taken (> 0), or an error when none was. */
static int write_frames(struct swarm_stream *st, const uint8_t *p, size_t n)
{
    struct swarm_conn *sc = st->sc;
    size_t done = 0;

    while (done < n && swarm__conn_usable(sc)) {
        size_t k =
            n - done < CONN_FRAME_MAX_DATA ? n - done : CONN_FRAME_MAX_DATA;
        uint8_t *frame = swarm__frame_get(st->sw);
        int w;
        if (!frame)
            return done ? (int)done : FASTN_ERR_NOMEM;
        w = conn_stream_send_from(sc->c, st->id, frame, p + done, k);
        if (w < 0) {
            swarm__frame_put(st->sw, frame);
            return done ? (int)done : w;
        }
        swarm__conn_send_frame(sc, frame, (size_t)w, NULL);
        done += k;
    }
    return (int)done;
}

/* Queued bytes into yamux while the connection has room: at most its
 * room (under the daemon's buffer budget), in pieces of the queue. */
static int write_direct(struct swarm_stream *st, const uint8_t *p, size_t n)
{
    size_t room = swarm__conn_room(st->sc);
    uint32_t w;

    if (n > room)
        n = room;
    if (n == 0)
        return 0;
    if (n >= FRAMED_MIN && st->state == SS_OPEN) {
        w = yamux_stream_send_window(mux_of(st), st->id);
        return write_frames(st, p, n < w ? n : w);
    }
    return yamux_stream_write(mux_of(st), st->id, p, n);
}

/* FIN once everything queued is out. */
static void maybe_fin(struct swarm_stream *st)
{
    struct yamux_session *mux = mux_of(st);

    if (!st->fin_pending || st->local_fin || qlen(st) || !can_send(st))
        return;
    if (yamux_stream_close(mux, st->id) != 0)
        return; /* output full: retried on the next kick */
    st->local_fin = true;
    if (st->remote_fin) { /* yamux dropped it: both sides are done */
        struct swarm_conn *sc = st->sc;
        st->has_id = false;
        finish_later(st, 0); /* unlinks: send the FIN through sc */
        if (swarm__conn_usable(sc) && !sc->in_pump)
            swarm__conn_flush(sc);
    }
}

void swarm__stream_kick(struct swarm_stream *st)
{
    if (!can_send(st))
        return;
    hold(st);
    while (qlen(st) && !swarm__conn_backlogged(st->sc)) {
        int k = write_direct(st, st->q.data + st->q_off, qlen(st));
        if (k <= 0)
            break;
        q_consume(st, (size_t)k);
    }
    /* what is left waits for the connection's next completed write (its
     * output or its backlog kept it) or the window's update */
    if (qlen(st))
        swarm__conn_stall(st->sc);
    maybe_fin(st);
    flush(st);
    if (st->want_writable && !st->finished) {
        if (writable_now(st)) {
            st->want_writable = false;
            emit(st, SWARM_STREAM_WRITABLE, NULL, 0, 0);
        } else if (st->sc && swarm__conn_backlogged(st->sc)) {
            /* streams kicked before it filled the connection again: the
             * next completed write kicks it again (without this, when
             * none of them waits, the connection is not stalled and the
             * stream waits for good) */
            swarm__conn_stall(st->sc);
        }
    }
    release(st);
}

int swarm_stream_write(struct swarm_stream *s, const uint8_t *p, size_t n)
{
    size_t taken = 0, add;

    if (s->finished || s->state == SS_DONE || s->local_fin || s->fin_pending)
        return FASTN_ERR_CLOSED;
    if (qlen(s) == 0 && can_send(s) && !swarm__conn_backlogged(s->sc)) {
        int k = write_direct(s, p, n);
        if (k > 0)
            taken = (size_t)k;
    }
    add = n - taken;
    if (add > SWARM_STREAM_QUEUE_MAX - qlen(s))
        add = SWARM_STREAM_QUEUE_MAX - qlen(s);
    if (add && q_append(s, p + taken, add))
        add = 0;
    if (taken + add < n)
        wait_writable(s);
    else if (add && can_send(s))
        swarm__conn_stall(s->sc); /* the queue goes on once there is room */
    if (taken)
        flush(s);
    return (int)(taken + add);
}

int swarm_stream_frame(struct swarm_stream *s, uint8_t **p, size_t *room)
{
    uint32_t w;

    *room = 0;
    if (s->finished || s->state == SS_DONE || s->local_fin || s->fin_pending)
        return FASTN_ERR_CLOSED;
    if (s->state != SS_OPEN || qlen(s) || !can_send(s) ||
        swarm__conn_backlogged(s->sc) ||
        (w = yamux_stream_send_window(mux_of(s), s->id)) == 0) {
        wait_writable(s);
        return 0;
    }
    if (!s->frame && !(s->frame = swarm__frame_get(s->sw)))
        return FASTN_ERR_NOMEM;
    *p = s->frame + CONN_FRAME_HEAD;
    *room = w < CONN_FRAME_MAX_DATA ? w : CONN_FRAME_MAX_DATA;
    if (*room > swarm__conn_room(s->sc))
        *room = swarm__conn_room(s->sc); /* > 0: not backlogged */
    return 0;
}

int swarm_stream_frame_send(struct swarm_stream *s, size_t n)
{
    uint8_t *frame = s->frame;
    struct noise_job seal;
    int w;

    if (!frame || n == 0 || n > CONN_FRAME_MAX_DATA)
        return FASTN_ERR_INVAL;
    if (!can_send(s) || s->local_fin || s->fin_pending)
        return FASTN_ERR_CLOSED;
    w = conn_stream_frame_later(s->sc->c, s->id, frame, n, &seal);
    if (w < 0)
        return w;
    s->frame = NULL;
    swarm__conn_send_frame(s->sc, frame, (size_t)w, &seal);
    return 0;
}

int swarm_stream_frames(struct swarm_stream *s, struct iovec *iov, unsigned max)
{
    size_t room, left;
    uint8_t *p;
    unsigned k = 1;
    int err;

    s->n_lent = 0;
    if (max == 0)
        return FASTN_ERR_INVAL;
    if ((err = swarm_stream_frame(s, &p, &room)) != 0 || room == 0)
        return err;
    left = yamux_stream_send_window(mux_of(s), s->id);
    if (left > swarm__conn_room(s->sc))
        left = swarm__conn_room(s->sc);
    left -= room; /* room is within both */
    iov[0] = (struct iovec){p, room};
    s->lent[0] = room;
    if (max > SWARM_STREAM_FRAMES)
        max = SWARM_STREAM_FRAMES;
    for (; k < max && left; k++) {
        uint8_t **f = &s->more[k - 1];
        size_t r = left < CONN_FRAME_MAX_DATA ? left : CONN_FRAME_MAX_DATA;
        if (!*f && !(*f = swarm__frame_get(s->sw)))
            break; /* fewer, then */
        iov[k] = (struct iovec){*f + CONN_FRAME_HEAD, r};
        s->lent[k] = r;
        left -= r;
    }
    s->n_lent = k;
    return (int)k;
}

int swarm_stream_frames_send(struct swarm_stream *s, size_t n)
{
    size_t lent = 0;
    int err = 0;

    for (unsigned i = 0; i < s->n_lent; i++)
        lent += s->lent[i];
    if (n == 0 || n > lent)
        return FASTN_ERR_INVAL;
    if ((err = swarm_stream_frame_send(s, n < s->lent[0] ? n : s->lent[0])) !=
        0)
        return err;
    n -= n < s->lent[0] ? n : s->lent[0];
    for (unsigned i = 1; i < s->n_lent && n && !err; i++) {
        size_t take = n < s->lent[i] ? n : s->lent[i];
        s->frame = s->more[i - 1]; /* sent as the stream's frame */
        s->more[i - 1] = NULL;
        err = swarm_stream_frame_send(s, take);
        n -= take;
    }
    s->n_lent = 0;
    return err;
}

int swarm_stream_close(struct swarm_stream *s)
{
    if (s->finished || s->state == SS_DONE || s->local_fin || s->fin_pending)
        return FASTN_ERR_CLOSED;
    s->fin_pending = true;
    maybe_fin(s);
    flush(s);
    return 0;
}

void swarm_stream_reset(struct swarm_stream *s)
{
    s->owner_gone = true;
    if (s->deferred || s->finished)
        return; /* the pending end will not be reported */
    swarm__stream_finish(s, FASTN_ERR_CANCELED);
}

int swarm__stream_lp_data(struct swarm_stream *st,
                          const struct swarm_stream_event *ev,
                          struct lp_reader *lp, bool done, const uint8_t **msg,
                          size_t *len)
{
    size_t used;

    *msg = NULL;
    *len = 0;
    if (ev->type != SWARM_STREAM_DATA)
        return 0;
    swarm_stream_consumed(st, ev->len);
    if (done)
        return 0;
    return lp_reader_next(lp, ev->data, ev->len, &used, msg, len);
}

void swarm_stream_consumed(struct swarm_stream *s, size_t n)
{
    if (!s->has_id || !s->sc || s->sc->closing || n == 0)
        return;
    yamux_stream_consumed(mux_of(s), s->id, n, swarm__now_us());
    flush(s);
}

/* --- negotiation
 * -------------------------------------------------------------- */

/* mss's question for an inbound stream (arg): the built-in protocols,
 * then the stream listener, which sees who asks. */
static bool listener_supports(void *arg, const char *proto, size_t len)
{
    struct swarm_stream *st = arg;
    struct swarm *sw = st->sw;

    (void)len;
    if (st->sc && st->sc->limited && !swarm__limited_allows(proto))
        return false; /* needs a direct connection */
    return swarm__builtin_supports(sw, proto) ||
           (sw->sl && sw->sl->supports(sw->sl_arg, &st->peer, proto));
}

static size_t listener_list(void *arg, const char **names, size_t max)
{
    struct swarm_stream *st = arg;
    return swarm__protocols(st->sw, names, max);
}

/* Writes multistream-select output straight into yamux (it always fits
 * the initial window). */
static int write_mss(struct swarm_stream *st, struct buf *out)
{
    int k;

    if (!out->len)
        return 0;
    /* The listener's replies are what the peer asked for: they count
     * as control output (SWARM_CTL_MAX) with the connection. */
    if (st->inbound)
        st->sc->ctl_extra += out->len;
    k = yamux_stream_write(mux_of(st), st->id, out->data, out->len);
    buf_reset(out);
    return k < 0 ? k : 0;
}

static void fail_negotiation(struct swarm_stream *st, int err)
{
    if (err != FASTN_ERR_NET_PROTO_NA)
        LOG_RATELIMITED(LOG_INFO, "net", "stream negotiation failed: %s",
                        fastn_strerror(err));
    swarm__stream_finish(st, err);
}

static void agreed(struct swarm_stream *st)
{
    struct swarm *sw = st->sw;

    st->protocol = strdup(mss_selected(st->mss));
    free(st->mss);
    st->mss = NULL;
    if (!st->protocol) {
        swarm__stream_finish(st, FASTN_ERR_NOMEM);
        return;
    }
    st->state = SS_OPEN;
    if (!st->inbound) {
        if (st->timer && st->timeout_is_open)
            swarm_stream_set_timeout(st, 0);
        emit(st, SWARM_STREAM_OPEN, NULL, 0, 0);
        return;
    }
    if (!swarm__builtin_take(st) && sw->sl)
        sw->sl->on_stream(sw->sl_arg, st);
    if (!st->cb && !st->finished) { /* nobody took it */
        st->owner_gone = true;
        swarm__stream_finish(st, FASTN_ERR_NET_PROTO_NA);
    }
}

static void negotiate(struct swarm_stream *st, const uint8_t *p, size_t n)
{
    struct buf out;
    size_t used = 0;
    int r;

    buf_init(&out, 4 * MSS_MAX_MSG);
    r = mss_input(st->mss, p, n, &used, &out);
    if (write_mss(st, &out) < 0 && r >= 0)
        r = FASTN_ERR_NOMEM;
    buf_cleanup(&out);
    yamux_stream_consumed(mux_of(st), st->id, used, swarm__now_us());
    if (r < 0) {
        fail_negotiation(st, r);
        return;
    }
    if (r != MSS_DONE)
        return;
    agreed(st);
    if (st->finished || st->state != SS_OPEN)
        return;
    swarm__stream_kick(st);
    if (used < n && !st->finished)
        emit(st, SWARM_STREAM_DATA, p + used, n - used, 0);
}

void swarm__stream_on_mux(struct swarm_stream *st, const struct yamux_event *ev)
{
    hold(st);
    switch (ev->type) {
    case YAMUX_EV_DATA:
        if (st->finished)
            break;
        if (st->state == SS_NEGOTIATING)
            negotiate(st, ev->data, ev->len);
        else
            emit(st, SWARM_STREAM_DATA, ev->data, ev->len, 0);
        break;
    case YAMUX_EV_FIN:
        st->remote_fin = true;
        if (st->state == SS_NEGOTIATING)
            swarm__stream_finish(st, FASTN_ERR_NET_NEGOTIATION);
        else if (!st->finished)
            emit(st, SWARM_STREAM_FIN, NULL, 0, 0);
        break;
    case YAMUX_EV_RESET:
        st->has_id = false;
        swarm__stream_finish(st, st->state == SS_NEGOTIATING && !st->inbound
                                     ? FASTN_ERR_NET_PROTO_NA
                                     : FASTN_ERR_NET_STREAM_RESET);
        break;
    case YAMUX_EV_CLOSED:
        st->has_id = false;
        swarm__stream_finish(st, 0);
        break;
    case YAMUX_EV_WRITABLE:
        swarm__stream_kick(st);
        break;
    default:
        break;
    }
    release(st);
}

/* The daemon's limit of inbound streams: a refused one is reset. */
static bool inbound_admit(struct swarm_conn *sc)
{
    struct swarm *sw = sc->sw;
    char pid[PEER_ID_STR_MAX];

    if (sw->n_in_streams < sw->cfg.max_inbound_streams)
        return true;
    LOG_RATELIMITED(LOG_WARN, "net",
                    "busy: refused a stream from %s: %u inbound streams open "
                    "(max-inbound-streams)",
                    peer_id_format(&sc->peer, pid),
                    sw->cfg.max_inbound_streams);
    return false;
}

void swarm__stream_incoming(struct swarm_conn *sc, uint32_t id)
{
    struct yamux_session *mux = conn_mux(sc->c);
    struct swarm_stream *st;
    struct buf out;

    if (!inbound_admit(sc)) {
        yamux_stream_reset(mux, id);
        return;
    }
    st = swarm__stream_new(sc->sw, true);
    if (st) {
        st->counted = true;
        sc->sw->n_in_streams++;
        st->mss = malloc(sizeof(*st->mss));
    }
    if (!st || !st->mss) {
        if (st)
            stream_free(st);
        yamux_stream_reset(mux, id);
        return;
    }
    st->peer = sc->peer;
    st->id = id;
    st->has_id = true;
    st->state = SS_NEGOTIATING;
    link_conn(st, sc);
    yamux_stream_accept(mux, id, st);
    mss_init_listener(st->mss, listener_supports, listener_list, st);
    buf_init(&out, 2 * MSS_MAX_MSG);
    if (mss_start(st->mss, &out) || write_mss(st, &out))
        swarm__stream_finish(st, FASTN_ERR_NOMEM);
    buf_cleanup(&out);
}

/* The multiplexer opened st (id in st->id) on sc: negotiation starts. */
static int stream_opened(struct swarm_stream *st, struct swarm_conn *sc)
{
    struct buf out;
    int err;

    st->has_id = true;
    st->peer = sc->peer;
    st->state = SS_NEGOTIATING;
    if (!st->sc)
        link_conn(st, sc);
    buf_init(&out, 2 * MSS_MAX_MSG);
    err = mss_start(st->mss, &out);
    if (!err)
        err = write_mss(st, &out);
    buf_cleanup(&out);
    if (err)
        return err;
    swarm__stream_kick(st);
    flush(st);
    return 0;
}

/* Too many opens unacknowledged by the peer, the session's output full,
 * or every stream slot taken: st waits on sc, as go-yamux's opens do,
 * rather than fail; within its open timeout (SWARM_OPEN_WAIT_MS when it
 * has none). */
static int open_wait(struct swarm_stream *st, struct swarm_conn *sc, int why)
{
    struct swarm *sw = sc->sw;
    char pid[PEER_ID_STR_MAX];

    if (sc->n_opens >= SWARM_MAX_OPEN_WAITS) {
        LOG_RATELIMITED(LOG_WARN, "net",
                        "a stream to %s refused: %u wait to be opened "
                        "already (%s)",
                        peer_id_format(&sc->peer, pid), sc->n_opens,
                        fastn_strerror(why));
        return why;
    }
    if (!st->timer) {
        if (swarm_stream_set_timeout(st, SWARM_OPEN_WAIT_MS))
            return FASTN_ERR_NOMEM;
        st->timeout_is_open = true;
    }
    st->peer = sc->peer;
    link_conn(st, sc);
    st->onext = NULL;
    st->opprev = sc->opens ? sc->opens_tail : &sc->opens;
    *st->opprev = st;
    sc->opens_tail = &st->onext;
    sc->n_opens++;
    opens_conn_push(&sw->open_waits, sc);
    uv_prepare_start(&sw->prepare, swarm__on_prepare);
    return 0;
}

static bool open_can_wait(int err)
{
    return err == FASTN_ERR_AGAIN || err == FASTN_ERR_NET_STREAM_LIMIT;
}

int swarm__stream_attach(struct swarm_stream *st, struct swarm_conn *sc)
{
    struct yamux_session *mux = conn_mux(sc->c);
    int err;

    st->mss = malloc(sizeof(*st->mss));
    if (!st->mss)
        return FASTN_ERR_NOMEM;
    err =
        mss_init_dialer(st->mss, (const char *const *)st->protos, st->n_protos);
    if (err)
        return err;
    if (sc->opens) /* behind those that wait already */
        return open_wait(st, sc, FASTN_ERR_AGAIN);
    err = yamux_stream_open(mux, st, &st->id);
    if (open_can_wait(err))
        return open_wait(st, sc, err);
    return err ? err : stream_opened(st, sc);
}

/* Opens what waits on sc, in order, until the multiplexer says wait. */
static void opens_retry_conn(struct swarm_conn *sc)
{
    struct swarm_stream *st;
    int err;

    while ((st = sc->opens) && swarm__conn_usable(sc)) {
        err = yamux_stream_open(conn_mux(sc->c), st, &st->id);
        if (open_can_wait(err))
            return;
        open_unwait(st);
        if (!err)
            err = stream_opened(st, sc);
        if (err)
            finish_later(st, err);
    }
}

void swarm__opens_retry(struct swarm *sw)
{
    struct swarm_conn *todo = sw->open_waits, *sc;

    if (!todo)
        return;
    sw->open_waits = NULL;
    todo->opprev = &todo;
    while ((sc = todo)) {
        opens_conn_unlink(sc);
        opens_retry_conn(sc);
        if (sc->opens)
            opens_conn_push(&sw->open_waits, sc);
    }
}

/* --- opening
 * ------------------------------------------------------------------- */

static int set_protos(struct swarm_stream *st, const char *const *protos,
                      size_t n)
{
    if (n == 0 || n > SWARM_MAX_PROPOSALS)
        return FASTN_ERR_INVAL;
    st->protos = calloc(n, sizeof(char *));
    if (!st->protos)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t len = protos[i] ? strlen(protos[i]) : 0;
        if (len == 0 || len >= MSS_MAX_MSG - 1 || memchr(protos[i], '\n', len))
            return FASTN_ERR_INVAL;
        st->protos[i] = strdup(protos[i]);
        if (!st->protos[i])
            return FASTN_ERR_NOMEM;
        st->n_protos = i + 1;
    }
    return 0;
}

/* Whether every protocol st proposes may run over sc (a relayed
 * connection is limited: bulk protocols wait for a direct one). */
static bool limited_ok(const struct swarm_stream *st,
                       const struct swarm_conn *sc)
{
    if (!sc->limited)
        return true;
    for (size_t i = 0; i < st->n_protos; i++)
        if (!swarm__limited_allows(st->protos[i]))
            return false;
    return true;
}

static void on_conn_ready(void *arg, int err)
{
    struct swarm_stream *st = arg;
    struct swarm_conn *sc;

    st->wait = NULL;
    if (st->finished)
        return;
    sc = err ? NULL : swarm__conn_for(st->sw, &st->peer);
    if (!err && !sc)
        err = FASTN_ERR_NET_RESET;
    if (!err && !limited_ok(st, sc))
        err = FASTN_ERR_NET_LIMITED;
    if (!err)
        err = swarm__stream_attach(st, sc);
    if (err)
        swarm__stream_finish(st, err);
}

struct swarm_stream *swarm_stream_open(struct swarm *sw,
                                       const struct peer_id *peer,
                                       const char *const *protos, size_t n,
                                       uint32_t open_timeout_ms,
                                       swarm_stream_cb cb, void *arg, int *err)
{
    struct swarm_stream *st = swarm__stream_new(sw, false);
    struct swarm_conn *sc;
    int e;

    if (!st) {
        *err = FASTN_ERR_NOMEM;
        return NULL;
    }
    st->peer = *peer;
    st->cb = cb;
    st->arg = arg;
    st->state = SS_WAIT_CONN;
    e = set_protos(st, protos, n);
    if (!e && open_timeout_ms) {
        e = swarm_stream_set_timeout(st, open_timeout_ms);
        st->timeout_is_open = true;
    }
    if (e)
        goto out_free;
    sc = swarm__conn_for(sw, peer);
    if (sc && !limited_ok(st, sc))
        e = FASTN_ERR_NET_LIMITED;
    else if (sc)
        e = swarm__stream_attach(st, sc);
    else
        e = swarm_connect(sw, peer, NULL, 0, 0, on_conn_ready, st, &st->wait);
    if (e)
        goto out_free;
    return st;
out_free:
    st->owner_gone = true;
    swarm__stream_finish(st, e);
    *err = e;
    return NULL;
}

struct swarm_stream *swarm__stream_open_on(struct swarm_conn *sc,
                                           const char *proto,
                                           swarm_stream_cb cb, void *arg)
{
    struct swarm_stream *st = swarm__stream_new(sc->sw, false);

    if (!st)
        return NULL;
    st->cb = cb;
    st->arg = arg;
    st->idle_exempt = true;
    if (set_protos(st, &proto, 1) || swarm__stream_attach(st, sc)) {
        st->owner_gone = true;
        swarm__stream_finish(st, FASTN_ERR_NOMEM);
        return NULL;
    }
    return st;
}

/* --- odds and ends
 * ---------------------------------------------------------------- */

static void on_stream_timeout(uv_timer_t *t)
{
    struct swarm_stream *st = t->data;

    LOG_RATELIMITED(LOG_DEBUG, "net", "stream timed out");
    swarm__stream_finish(st, FASTN_ERR_TIMEOUT);
}

int swarm_stream_set_timeout(struct swarm_stream *s, uint32_t ms)
{
    s->timeout_is_open = false;
    if (ms == 0) {
        if (s->timer) {
            uv_close((uv_handle_t *)s->timer, timer_closed);
            s->timer = NULL;
        }
        return 0;
    }
    if (!s->timer) {
        s->timer = malloc(sizeof(*s->timer));
        if (!s->timer)
            return FASTN_ERR_NOMEM;
        uv_timer_init(s->sw->loop, s->timer);
        s->timer->data = s;
    }
    uv_timer_start(s->timer, on_stream_timeout, ms, 0);
    return 0;
}

void swarm_stream_set_cb(struct swarm_stream *s, swarm_stream_cb cb, void *arg)
{
    s->cb = cb;
    s->arg = arg;
}

const struct peer_id *swarm_stream_peer(const struct swarm_stream *s)
{
    return &s->peer;
}

const char *swarm_stream_protocol(const struct swarm_stream *s)
{
    return s->protocol;
}

const struct multiaddr *swarm_stream_remote_addr(const struct swarm_stream *s)
{
    static const struct multiaddr none;
    return s->sc ? &s->sc->remote : &none;
}

bool swarm_stream_is_inbound(const struct swarm_stream *s)
{
    return s->inbound;
}

size_t swarm_stream_queued(const struct swarm_stream *s)
{
    return qlen(s);
}

void swarm__stream_idle_exempt(struct swarm_stream *st)
{
    set_idle_exempt(st);
}

void swarm__stream_run_deferred(struct swarm_stream *st)
{
    st->deferred = false;
    swarm__stream_finish(st, st->final_err);
    release(st);
}
