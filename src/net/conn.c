/*
 * The connection upgrade pipeline and the established connection; see
 * conn.h. States follow libp2p/specs connections/README.md, "Upgrading
 * connections": multistream-select picks /noise on the raw bytes, Noise
 * secures the channel, the muxer comes from the Noise handshake
 * (inlined-muxer-negotiation.md) or from multistream-select inside it.
 *
 * Before Noise, received bytes collect in raw; afterwards they go straight
 * into the Noise receive buffer and are decrypted in place. All output
 * (raw negotiation, handshake, sealed yamux frames) goes through tx in
 * order; yamux's own output is sealed into tx whenever output is asked
 * for or a data frame is sealed in place.
 */
#include "net/conn.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "net/mss.h"
#include "util/log.h"

enum { ST_NEW, ST_MSS_SEC, ST_NOISE, ST_MSS_MUX, ST_READY, ST_FAILED };

#define TX_MAX (64u * 1024 * 1024)

struct conn {
    struct conn_config cfg;
    int state;
    int err;
    bool ready_reported;
    bool noise_started; /* the dialer's message 1 went with its proposal */
    struct mss *mss;    /* while negotiating: not kept once ready */
    struct buf raw;
    struct buf tx;
    size_t tx_ctl; /* bytes of tx that carry yamux control frames */
    struct noise_conn *noise;
    struct yamux_session *mux;
};

static const char *const sec_protos[] = {NOISE_PROTOCOL_ID};
static const char *const mux_protos[] = {YAMUX_PROTOCOL_ID};

static bool is_noise(void *arg, const char *p, size_t n)
{
    (void)arg;
    return n == strlen(NOISE_PROTOCOL_ID) &&
           memcmp(p, NOISE_PROTOCOL_ID, n) == 0;
}

static bool is_yamux(void *arg, const char *p, size_t n)
{
    (void)arg;
    return n == strlen(YAMUX_PROTOCOL_ID) &&
           memcmp(p, YAMUX_PROTOCOL_ID, n) == 0;
}

void conn_config_default(struct conn_config *cfg, bool dialer,
                         const struct noise_local *local)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->dialer = dialer;
    cfg->local = local;
    yamux_config_default(&cfg->yamux, dialer);
}

struct conn *conn_new(const struct conn_config *cfg, uint64_t now)
{
    struct conn *c = calloc(1, sizeof(*c));

    (void)now;
    if (!c)
        return NULL;
    c->cfg = *cfg;
    c->cfg.yamux.client = cfg->dialer;
    c->noise = noise_conn_new(cfg->local, cfg->dialer, cfg->expect);
    if (!c->noise) {
        free(c);
        return NULL;
    }
    buf_init(&c->raw, CONN_RAW_MAX);
    buf_init(&c->tx, TX_MAX);
    return c;
}

void conn_free(struct conn *c)
{
    if (!c)
        return;
    noise_conn_free(c->noise);
    yamux_free(c->mux);
    free(c->mss);
    buf_cleanup(&c->raw);
    buf_cleanup(&c->tx);
    free(c);
}

int conn_start(struct conn *c)
{
    if (c->state != ST_NEW)
        return FASTN_ERR_INVAL;
    c->mss = malloc(sizeof(*c->mss));
    if (!c->mss)
        return FASTN_ERR_NOMEM;
    if (c->cfg.dialer)
        mss_init_dialer(c->mss, sec_protos, 1);
    else
        mss_init_listener(c->mss, is_noise, NULL, NULL);
    c->state = ST_MSS_SEC;
    int err = mss_start(c->mss, &c->tx);
    /* The dialer proposes /noise alone, so its first Noise message goes
     * with the proposal (multistream-select's "lazy" dialer, which
     * listeners must accept): one round trip less per new connection. A
     * listener without /noise answers "na" and the dial fails, as it
     * would have. */
    if (!err && c->cfg.dialer) {
        err = noise_start(c->noise, &c->tx);
        c->noise_started = !err;
    }
    return err;
}

/* --- input -------------------------------------------------------------- */

static bool before_noise(const struct conn *c)
{
    return c->state <= ST_MSS_SEC;
}

int conn_feed(struct conn *c, const uint8_t *p, size_t n)
{
    if (before_noise(c)) {
        size_t room = c->raw.max - c->raw.len;
        if (n > room)
            n = room;
        if (buf_append(&c->raw, p, n))
            return FASTN_ERR_NOMEM;
        return (int)n;
    }
    return noise_feed(c->noise, p, n);
}

int conn_rx_space(struct conn *c, size_t want, uint8_t **p, size_t *room)
{
    if (before_noise(c)) {
        /* Negotiation messages are small: read little at a time, so that
         * what follows them lands in the Noise buffer without a copy. */
        size_t n = c->raw.max - c->raw.len;
        int err = buf_reserve(&c->raw, n);
        if (err)
            return err;
        *p = c->raw.data + c->raw.len;
        *room = n < want ? n : want;
        return 0;
    }
    return noise_rx_space(c->noise, want, p, room);
}

void conn_rx_commit(struct conn *c, size_t n)
{
    if (before_noise(c))
        c->raw.len += n;
    else
        noise_rx_commit(c->noise, n);
}

int conn_rx_lend(struct conn *c, uint8_t *buf, size_t cap, uint8_t **p,
                 size_t *room)
{
    if (before_noise(c))
        return conn_rx_space(c, cap, p, room);
    return noise_rx_lend(c->noise, buf, cap, p, room);
}

int conn_rx_unlend(struct conn *c)
{
    return noise_rx_unlend(c->noise);
}

size_t conn_rx_capacity(const struct conn *c)
{
    return c->raw.cap + noise_rx_capacity(c->noise);
}

/* --- pipeline ----------------------------------------------------------- */

static int fail(struct conn *c, int err)
{
    if (c->state != ST_FAILED) {
        c->state = ST_FAILED;
        c->err = err;
        log_msg(LOG_DEBUG, "net", "connection ended: %s", fastn_strerror(err));
    }
    return err;
}

static int start_mux(struct conn *c, uint64_t now)
{
    c->mux = yamux_new(&c->cfg.yamux, now);
    if (!c->mux)
        return FASTN_ERR_NOMEM;
    c->state = ST_READY;
    free(c->mss); /* negotiation is over */
    c->mss = NULL;
    return 0;
}

/* Security negotiation on the raw bytes. */
static int step_mss_sec(struct conn *c)
{
    size_t used;
    int r = mss_input(c->mss, c->raw.data, c->raw.len, &used, &c->tx);

    if (r < 0)
        return r;
    if (r == 0) {
        buf_reset(&c->raw);
        return 0;
    }
    /* What follows the agreement is the start of the Noise handshake. */
    if (used < c->raw.len &&
        noise_feed(c->noise, c->raw.data + used, c->raw.len - used) !=
            (int)(c->raw.len - used))
        return FASTN_ERR_NOMEM;
    buf_cleanup(&c->raw); /* not needed again */
    c->state = ST_NOISE;
    return c->noise_started ? 0 : noise_start(c->noise, &c->tx);
}

/* Writes multistream-select output through the secure channel. */
static int write_secure(struct conn *c, struct buf *plain)
{
    int err = noise_write(c->noise, plain->data, plain->len, &c->tx);
    buf_reset(plain);
    return err;
}

static int step_noise(struct conn *c, uint64_t now)
{
    struct buf plain;
    int r = noise_handshake(c->noise, &c->tx);

    if (r <= 0)
        return r;
    if (noise_early_muxer(c->noise))
        return start_mux(c, now);
    /* No muxer agreed in the handshake: multistream-select inside. */
    if (c->cfg.dialer)
        mss_init_dialer(c->mss, mux_protos, 1);
    else
        mss_init_listener(c->mss, is_yamux, NULL, NULL);
    c->state = ST_MSS_MUX;
    buf_init(&plain, MSS_MAX_MSG * 4);
    r = mss_start(c->mss, &plain);
    if (!r)
        r = write_secure(c, &plain);
    buf_cleanup(&plain);
    return r;
}

static int step_mss_mux(struct conn *c, uint64_t now)
{
    struct buf plain;
    uint8_t *p;
    size_t n, used;
    int r;

    buf_init(&plain, MSS_MAX_MSG * 4);
    while ((r = noise_read(c->noise, &p, &n)) == 1) {
        r = mss_input(c->mss, p, n, &used, &plain);
        noise_consume(c->noise, used);
        if (r != 0)
            break;
    }
    if (r >= 0 && plain.len)
        r = write_secure(c, &plain) ? FASTN_ERR_NOMEM : r;
    buf_cleanup(&plain);
    if (r == MSS_DONE)
        return start_mux(c, now);
    return r;
}

/* Decrypted bytes into yamux, one event out. */
static int step_ready(struct conn *c, struct conn_event *ev, uint64_t now)
{
    uint8_t *p;
    size_t n, used;
    int r;

    for (;;) {
        r = noise_read(c->noise, &p, &n);
        if (r < 0)
            return r;
        if (r == 0)
            n = 0; /* still let yamux hand out queued events */
        r = yamux_feed(c->mux, r ? p : NULL, n, &used, &ev->mux, now);
        if (n)
            noise_consume(c->noise, used);
        if (r < 0)
            return r;
        if (r == 1) {
            ev->type = CONN_EV_STREAM;
            return 1;
        }
        if (n == 0)
            return 0;
    }
}

int conn_poll(struct conn *c, struct conn_event *ev, uint64_t now)
{
    for (;;) {
        int prev = c->state, r;
        switch (c->state) {
        case ST_MSS_SEC:
            r = c->raw.len ? step_mss_sec(c) : 0;
            break;
        case ST_NOISE:
            r = step_noise(c, now);
            break;
        case ST_MSS_MUX:
            r = step_mss_mux(c, now);
            break;
        case ST_READY:
            if (!c->ready_reported) {
                c->ready_reported = true;
                ev->type = CONN_EV_READY;
                return 1;
            }
            r = step_ready(c, ev, now);
            return r < 0 ? fail(c, r) : r;
        case ST_FAILED:
            return c->err;
        default: /* not started */
            return FASTN_ERR_INVAL;
        }
        if (r < 0)
            return fail(c, r);
        if (c->state == prev)
            return 0; /* waiting for more input */
    }
}

/* --- output ------------------------------------------------------------- */

/* Seals yamux's pending frames into tx. */
static int flush_mux(struct conn *c)
{
    const uint8_t *p;
    size_t n;
    int err;

    if (!c->mux)
        return 0;
    p = yamux_output(c->mux, &n);
    if (!n)
        return 0;
    err = noise_write(c->noise, p, n, &c->tx);
    if (!err) {
        c->tx_ctl += yamux_output_control(c->mux);
        yamux_output_consume(c->mux, n);
    }
    return err;
}

int conn_output(struct conn *c, const uint8_t **p, size_t *n)
{
    int err = flush_mux(c);
    *p = c->tx.data;
    *n = c->tx.len;
    return err;
}

size_t conn_output_control(const struct conn *c)
{
    return c->tx_ctl < c->tx.len ? c->tx_ctl : c->tx.len;
}

void conn_output_consume(struct conn *c, size_t n)
{
    buf_consume(&c->tx, n);
    c->tx_ctl = c->tx_ctl > n ? c->tx_ctl - n : 0;
}

int conn_take_output(struct conn *c, struct buf *out)
{
    int err = flush_mux(c);
    if (err)
        return err;
    if (out->len == 0 && out->max >= c->tx.len) {
        struct buf tmp = *out;
        size_t max = out->max;
        *out = c->tx;
        out->max = max;
        c->tx = tmp;
        c->tx.max = TX_MAX;
        buf_reset(&c->tx);
        c->tx_ctl = 0;
        return 0;
    }
    err = buf_append(out, c->tx.data, c->tx.len);
    if (!err) {
        buf_reset(&c->tx);
        c->tx_ctl = 0;
    }
    return err;
}

bool conn_is_ready(const struct conn *c)
{
    return c->state == ST_READY;
}

const struct peer_id *conn_remote_peer(const struct conn *c)
{
    return noise_remote_peer(c->noise);
}

struct yamux_session *conn_mux(struct conn *c)
{
    return c->state == ST_READY ? c->mux : NULL;
}

/* A data frame's yamux header, after the control frames waiting before
 * it; the caller seals it (now or later). */
static int stream_frame_head(struct conn *c, uint32_t id, uint8_t *frame,
                             size_t len)
{
    int err;

    if (c->state != ST_READY || len > CONN_FRAME_MAX_DATA)
        return FASTN_ERR_INVAL;
    err = flush_mux(c);
    if (err)
        return err;
    return yamux_stream_data_header(c->mux, id, len, frame + NOISE_FRAME_HEAD);
}

int conn_stream_send_frame(struct conn *c, uint32_t id, uint8_t *frame,
                           size_t len)
{
    int err = stream_frame_head(c, id, frame, len);

    return err ? err
               : noise_seal_frame(c->noise, frame, YAMUX_HEADER_LEN + len);
}

int conn_stream_send_from(struct conn *c, uint32_t id, uint8_t *frame,
                          const uint8_t *p, size_t len)
{
    int err = stream_frame_head(c, id, frame, len);

    return err ? err
               : noise_seal_frame_from(c->noise, frame, YAMUX_HEADER_LEN, p,
                                       len);
}

int conn_stream_frame_later(struct conn *c, uint32_t id, uint8_t *frame,
                            size_t len, struct noise_job *job)
{
    int err = stream_frame_head(c, id, frame, len);

    return err ? err
               : noise_seal_frame_later(c->noise, frame, YAMUX_HEADER_LEN + len,
                                        job);
}

int conn_tick(struct conn *c, uint64_t now)
{
    int err;
    if (c->state == ST_FAILED)
        return c->err;
    if (c->state != ST_READY)
        return 0;
    err = yamux_tick(c->mux, now);
    return err ? fail(c, err) : 0;
}

uint64_t conn_next_deadline(const struct conn *c)
{
    return c->state == ST_READY ? yamux_next_deadline(c->mux) : UINT64_MAX;
}

void conn_set_liveness(struct conn *c, uint64_t keepalive_us,
                       uint64_t ping_timeout_us)
{
    c->cfg.yamux.keepalive_us = keepalive_us;
    c->cfg.yamux.ping_timeout_us = ping_timeout_us;
    if (c->mux)
        yamux_set_liveness(c->mux, keepalive_us, ping_timeout_us);
}
