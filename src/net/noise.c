/*
 * libp2p Noise: handshake payloads, message framing, the receive buffer
 * and the transport phase; see noise.h. The cryptography is in
 * noise_crypto.c.
 *
 * Receive buffer: buf[0..end) holds received bytes. [rd, end) has not
 * been processed yet; [pl_off, pl_off + pl_len) is decrypted plaintext
 * lent by noise_read() and not yet consumed (it lies before rd, as frames
 * are decrypted in place). Space is reclaimed only when more room is
 * needed, so a frame is moved at most rarely.
 *
 * The payload (noise/README.md, "The libp2p Handshake Payload"):
 *   message NoiseExtensions { repeated bytes webtransport_certhashes = 1;
 *                             repeated string stream_muxers = 2; }
 *   message NoiseHandshakePayload { bytes identity_key = 1;
 *       bytes identity_sig = 2; NoiseExtensions extensions = 4; }
 */
#include "net/noise.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "net/noise_int.h"
#include "net/noise_pool.h"
#include "net/pb.h"
#include "net/peer_key.h"
#include "util/log.h"

#define SIG_PREFIX "noise-libp2p-static-key:"
#define SIG_PREFIX_LEN (sizeof(SIG_PREFIX) - 1)
#define RX_INITIAL 16384

enum { ST_NEW, ST_HANDSHAKE, ST_DONE, ST_FAILED };

struct noise_conn {
    const struct noise_local *local;
    bool initiator;
    int state;
    int err; /* why it failed */
    struct noise_hs hs;
    struct noise_cipher tx, rx;
    bool has_expect;
    struct peer_id expect;
    struct peer_id remote;
    const char *muxer;
    uint8_t *buf;
    size_t cap, end, rd, pl_off, pl_len;
    bool lent; /* buf is the caller's (noise_rx_lend) */
    /* Frames from rd on opened ahead by a batch (open_batch): their bytes
     * (length prefixes included), and whether the frame after them failed
     * to open. Relative to rd, so moving the buffer keeps them. */
    size_t opened;
    bool open_bad;
};

/* --- our payload -------------------------------------------------------- */

static int encode_payload(struct noise_local *l, const struct identity *id)
{
    uint8_t msg[SIG_PREFIX_LEN + 32], sig[IDENTITY_SIG_LEN];
    uint8_t key[IDENTITY_PUBKEY_PROTO_LEN];
    struct buf b, ext;
    int err;

    memcpy(msg, SIG_PREFIX, SIG_PREFIX_LEN);
    memcpy(msg + SIG_PREFIX_LEN, l->static_pub, 32);
    err = identity_sign(id, msg, sizeof(msg), sig);
    if (err)
        return err;
    pubkey_encode_proto(id->pubkey, key);
    buf_init(&b, sizeof(l->payload));
    buf_init(&ext, sizeof(l->payload));
    err = pb_put_bytes(&b, 1, key, sizeof(key));
    if (!err)
        err = pb_put_bytes(&b, 2, sig, sizeof(sig));
    for (size_t i = 0; !err && i < l->n_muxers; i++)
        err = pb_put_bytes(&ext, 2, l->muxers[i], strlen(l->muxers[i]));
    if (!err && l->n_muxers)
        err = pb_put_bytes(&b, 4, ext.data, ext.len);
    if (!err) {
        memcpy(l->payload, b.data, b.len);
        l->payload_len = b.len;
    }
    buf_cleanup(&b);
    buf_cleanup(&ext);
    return err;
}

int noise_local_init_static(struct noise_local *l, const struct identity *id,
                            const uint8_t static_priv[32],
                            const char *const *muxers, size_t n_muxers)
{
    memset(l, 0, sizeof(*l));
    if (n_muxers > NOISE_MAX_MUXERS)
        return FASTN_ERR_INVAL;
    for (size_t i = 0; i < n_muxers; i++) {
        size_t n = strlen(muxers[i]);
        if (n == 0 || n > NOISE_MUXER_NAME_MAX)
            return FASTN_ERR_INVAL;
        l->muxers[i] = muxers[i];
    }
    l->n_muxers = n_muxers;
    memcpy(l->static_priv, static_priv, 32);
    noise_x25519_pub(static_priv, l->static_pub);
    l->id = id->id;
    return encode_payload(l, id);
}

int noise_local_init(struct noise_local *l, const struct identity *id,
                     const char *const *muxers, size_t n_muxers)
{
    uint8_t priv[32];
    int err;

    noise_random(priv, sizeof(priv));
    err = noise_local_init_static(l, id, priv, muxers, n_muxers);
    noise_wipe(priv, sizeof(priv));
    return err;
}

void noise_local_cleanup(struct noise_local *l)
{
    noise_wipe(l->static_priv, sizeof(l->static_priv));
}

/* --- remote payload ----------------------------------------------------- */

static int decode_extensions(const uint8_t *p, size_t n,
                             struct noise_payload *out)
{
    struct buf_reader r;
    struct pb_field f;
    int rc;

    out->has_extensions = true;
    buf_reader_init(&r, p, n);
    while ((rc = pb_next(&r, &f)) == 1) {
        if (f.num != 2 || f.wire != PB_LEN)
            continue;
        if (out->n_muxers < NOISE_MAX_MUXERS) {
            out->muxers[out->n_muxers] = f.data;
            out->muxer_lens[out->n_muxers++] = f.len;
        }
    }
    return rc;
}

int noise_payload_decode(const uint8_t *p, size_t n, struct noise_payload *out)
{
    struct buf_reader r;
    struct pb_field f;
    int rc;

    memset(out, 0, sizeof(*out));
    buf_reader_init(&r, p, n);
    while ((rc = pb_next(&r, &f)) == 1) {
        if (f.wire != PB_LEN)
            continue;
        if (f.num == 1) {
            out->identity_key = f.data;
            out->identity_key_len = f.len;
        } else if (f.num == 2) {
            out->identity_sig = f.data;
            out->identity_sig_len = f.len;
        } else if (f.num == 4) {
            out->n_muxers = 0;
            rc = decode_extensions(f.data, f.len, out);
            if (rc < 0)
                return rc;
        }
    }
    return rc;
}

/* Checks the remote's signature over its static key, made with its
 * identity key of any libp2p key type (net/peer_key.h), and works out
 * who it is. */
static int verify_payload(struct noise_conn *c, const struct noise_payload *pl)
{
    uint8_t msg[SIG_PREFIX_LEN + 32];

    if (!pl->identity_key || !pl->identity_sig)
        return FASTN_ERR_NET_HANDSHAKE;
    memcpy(msg, SIG_PREFIX, SIG_PREFIX_LEN);
    memcpy(msg + SIG_PREFIX_LEN, c->hs.rs, 32);
    if (peer_key_verify(pl->identity_key, pl->identity_key_len, msg,
                        sizeof(msg), pl->identity_sig, pl->identity_sig_len) ||
        peer_key_id(pl->identity_key, pl->identity_key_len, &c->remote))
        return FASTN_ERR_NET_HANDSHAKE;
    if (c->has_expect && !peer_id_equal(&c->remote, &c->expect))
        return FASTN_ERR_NET_WRONG_PEER;
    return 0;
}

static bool remote_has(const struct noise_payload *pl, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < pl->n_muxers; i++)
        if (pl->muxer_lens[i] == n && memcmp(pl->muxers[i], name, n) == 0)
            return true;
    return false;
}

/* Early muxer choice (inlined-muxer-negotiation.md): the first of the
 * initiator's list that both support; with either list missing, none
 * (multistream-select decides); with no overlap, the handshake fails. */
static int choose_muxer(struct noise_conn *c, const struct noise_payload *pl)
{
    const struct noise_local *l = c->local;

    c->muxer = NULL;
    if (l->n_muxers == 0 || pl->n_muxers == 0)
        return 0;
    if (c->initiator) {
        for (size_t i = 0; i < l->n_muxers; i++)
            if (remote_has(pl, l->muxers[i])) {
                c->muxer = l->muxers[i];
                return 0;
            }
        return FASTN_ERR_NET_HANDSHAKE;
    }
    for (size_t i = 0; i < pl->n_muxers; i++)
        for (size_t j = 0; j < l->n_muxers; j++)
            if (pl->muxer_lens[i] == strlen(l->muxers[j]) &&
                memcmp(pl->muxers[i], l->muxers[j], pl->muxer_lens[i]) == 0) {
                c->muxer = l->muxers[j];
                return 0;
            }
    return FASTN_ERR_NET_HANDSHAKE;
}

/* --- connection --------------------------------------------------------- */

struct noise_conn *noise_conn_new(const struct noise_local *local,
                                  bool initiator, const struct peer_id *expect)
{
    struct noise_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->local = local;
    c->initiator = initiator;
    if (expect) {
        c->has_expect = true;
        c->expect = *expect;
    }
    /* libp2p uses an empty prologue. */
    noise_hs_init(&c->hs, initiator, NULL, 0, local->static_priv);
    return c;
}

void noise_conn_free(struct noise_conn *c)
{
    if (!c)
        return;
    noise_hs_cleanup(&c->hs);
    if (c->buf && !c->lent) {
        noise_wipe(c->buf, c->cap);
        free(c->buf);
    }
    noise_wipe(c, sizeof(*c));
    free(c);
}

void noise_conn_set_ephemeral(struct noise_conn *c, const uint8_t e_priv[32])
{
    noise_hs_set_ephemeral(&c->hs, e_priv);
}

/* Appends one framed handshake message carrying payload. */
static int write_hs_msg(struct noise_conn *c, const uint8_t *payload,
                        size_t plen, struct buf *out)
{
    size_t room = 32 + 48 + 16 + plen, len;
    uint8_t *dst;
    int err = buf_reserve(out, NOISE_FRAME_HEAD + room);

    if (err)
        return err;
    dst = out->data + out->len;
    err = noise_hs_write(&c->hs, payload, plen, dst + NOISE_FRAME_HEAD, room,
                         &len);
    if (err)
        return err;
    if (len > NOISE_MAX_MSG)
        return FASTN_ERR_INTERNAL;
    dst[0] = (uint8_t)(len >> 8);
    dst[1] = (uint8_t)len;
    out->len += NOISE_FRAME_HEAD + len;
    return 0;
}

int noise_start(struct noise_conn *c, struct buf *out)
{
    if (c->state != ST_NEW)
        return FASTN_ERR_INVAL;
    c->state = ST_HANDSHAKE;
    if (!c->initiator)
        return 0;
    /* Message 1 carries no payload: it would not be secret (spec). */
    return write_hs_msg(c, NULL, 0, out);
}

/* Finds the next complete frame at rd: its body and length. */
static bool next_frame(struct noise_conn *c, uint8_t **body, size_t *len)
{
    size_t avail = c->end - c->rd, n;

    if (avail < NOISE_FRAME_HEAD)
        return false;
    n = (size_t)c->buf[c->rd] << 8 | c->buf[c->rd + 1];
    if (avail - NOISE_FRAME_HEAD < n)
        return false;
    *body = c->buf + c->rd + NOISE_FRAME_HEAD;
    *len = n;
    return true;
}

static void finish(struct noise_conn *c)
{
    noise_hs_split(&c->hs, &c->tx, &c->rx);
    noise_hs_cleanup(&c->hs);
    c->state = ST_DONE;
}

/* Handles one handshake message (message 1 for a responder, 2 for an
 * initiator, 3 for a responder). */
static int on_hs_msg(struct noise_conn *c, uint8_t *msg, size_t n,
                     struct buf *out)
{
    struct noise_payload pl;
    uint8_t *payload;
    size_t plen;
    int err;
    int index = c->hs.msg;

    err = noise_hs_read(&c->hs, msg, n, &payload, &plen);
    if (err)
        return err;
    if (index == 0) /* responder: answer with e, ee, s, es + payload */
        return write_hs_msg(c, c->local->payload, c->local->payload_len, out);
    if (noise_payload_decode(payload, plen, &pl))
        return FASTN_ERR_NET_HANDSHAKE;
    err = verify_payload(c, &pl);
    if (!err)
        err = choose_muxer(c, &pl);
    if (err)
        return err;
    if (index == 1) {
        err = write_hs_msg(c, c->local->payload, c->local->payload_len, out);
        if (err)
            return err;
    }
    finish(c);
    return NOISE_DONE;
}

int noise_handshake(struct noise_conn *c, struct buf *out)
{
    uint8_t *msg;
    size_t n;
    int rc = 0;

    if (c->state == ST_DONE)
        return NOISE_DONE;
    if (c->state == ST_FAILED)
        return c->err;
    if (c->state != ST_HANDSHAKE)
        return FASTN_ERR_INVAL;
    while (rc == 0 && next_frame(c, &msg, &n)) {
        rc = on_hs_msg(c, msg, n, out);
        c->rd += NOISE_FRAME_HEAD + n;
    }
    if (rc < 0) {
        c->state = ST_FAILED;
        c->err = rc;
        log_msg(LOG_DEBUG, "net", "noise handshake failed: %s",
                fastn_strerror(rc));
    }
    return rc;
}

bool noise_is_established(const struct noise_conn *c)
{
    return c->state == ST_DONE;
}

const struct peer_id *noise_remote_peer(const struct noise_conn *c)
{
    return c->state == ST_DONE ? &c->remote : NULL;
}

const char *noise_early_muxer(const struct noise_conn *c)
{
    return c->state == ST_DONE ? c->muxer : NULL;
}

/* --- receive buffer ----------------------------------------------------- */

static void compact(struct noise_conn *c)
{
    size_t base = c->pl_len ? c->pl_off : c->rd;

    if (base == 0)
        return;
    memmove(c->buf, c->buf + base, c->end - base);
    c->end -= base;
    c->rd -= base;
    c->pl_off = c->pl_len ? c->pl_off - base : 0;
}

int noise_rx_space(struct noise_conn *c, size_t want, uint8_t **p, size_t *room)
{
    /* Everything processed: start over at the front for free. */
    if (c->rd == c->end && c->pl_len == 0)
        c->end = c->rd = c->pl_off = 0;
    if (c->cap - c->end < want)
        compact(c);
    if (c->cap - c->end < want && c->cap < NOISE_RX_MAX && !c->lent) {
        size_t cap = c->cap ? c->cap * 2 : RX_INITIAL;
        while (cap < c->end + want && cap < NOISE_RX_MAX)
            cap *= 2;
        if (cap > NOISE_RX_MAX)
            cap = NOISE_RX_MAX;
        uint8_t *nb = realloc(c->buf, cap);
        if (!nb)
            return FASTN_ERR_NOMEM;
        c->buf = nb;
        c->cap = cap;
    }
    *p = c->buf + c->end;
    *room = c->cap - c->end;
    return 0;
}

void noise_rx_commit(struct noise_conn *c, size_t n)
{
    c->end += n;
}

/* Where the bytes still needed begin: lent plaintext, or unprocessed. */
static size_t rx_base(const struct noise_conn *c)
{
    return c->pl_len ? c->pl_off : c->rd;
}

/* Moves buf[base..end) to dst (cap bytes) and makes dst the buffer. */
static void rx_move(struct noise_conn *c, uint8_t *dst, size_t cap)
{
    size_t base = rx_base(c), keep = c->end - base;

    if (keep)
        memmove(dst, c->buf + base, keep);
    c->end = keep;
    c->rd -= base;
    c->pl_off = c->pl_len ? c->pl_off - base : 0;
    c->buf = dst;
    c->cap = cap;
}

int noise_rx_lend(struct noise_conn *c, uint8_t *buf, size_t cap, uint8_t **p,
                  size_t *room)
{
    uint8_t *own = c->buf;
    size_t own_cap = c->cap;

    if (c->lent)
        return FASTN_ERR_INVAL;
    if (c->end - rx_base(c) > cap)
        return FASTN_ERR_TOO_LARGE;
    rx_move(c, buf, cap);
    c->lent = true;
    if (own) {
        noise_wipe(own, own_cap);
        free(own);
    }
    *p = c->buf + c->end;
    *room = c->cap - c->end;
    return 0;
}

int noise_rx_unlend(struct noise_conn *c)
{
    size_t keep;
    uint8_t *own = NULL;

    if (!c->lent)
        return 0;
    keep = c->end - rx_base(c);
    if (keep && !(own = malloc(keep))) {
        c->buf = NULL;
        c->cap = c->end = c->rd = c->pl_off = c->pl_len = 0;
        c->lent = false;
        c->state = ST_FAILED;
        c->err = FASTN_ERR_NOMEM;
        return FASTN_ERR_NOMEM;
    }
    rx_move(c, own, keep);
    c->lent = false;
    return 0;
}

size_t noise_rx_capacity(const struct noise_conn *c)
{
    return c->lent ? 0 : c->cap;
}

int noise_feed(struct noise_conn *c, const uint8_t *p, size_t n)
{
    uint8_t *dst;
    size_t room;
    int err;

    if (n == 0)
        return 0;
    err = noise_rx_space(c, n, &dst, &room);
    if (err)
        return err;
    if (n > room)
        n = room;
    memcpy(dst, p, n);
    noise_rx_commit(c, n);
    return (int)(n > INT32_MAX ? INT32_MAX : n);
}

size_t noise_rx_pending(const struct noise_conn *c)
{
    return c->end - c->rd + c->pl_len;
}

/* --- transport ---------------------------------------------------------- */

#define OPEN_BATCH_MAX 32 /* frames: 2 MiB of the largest */

/* Opens the complete frames from rd on as one batch on the crypto pool
 * (noise_pool.h) when there are at least two and NOISE_POOL_MIN_BATCH
 * bytes; each gets the nonce it would have had one by one. Returns
 * whether it did (then opened/open_bad say how it went). */
static bool open_batch(struct noise_conn *c)
{
    struct noise_job jobs[OPEN_BATCH_MAX];
    size_t k = 0, bytes = 0, at = c->rd, i;

    while (k < OPEN_BATCH_MAX && c->end - at >= NOISE_FRAME_HEAD) {
        size_t n = (size_t)c->buf[at] << 8 | c->buf[at + 1];
        if (c->end - at - NOISE_FRAME_HEAD < n || n < NOISE_TAG_LEN ||
            c->rx.n + k >= UINT64_MAX - 1)
            break;
        jobs[k] = (struct noise_job){.key = c->rx.k,
                                     .nonce = c->rx.n + k,
                                     .buf = c->buf + at + NOISE_FRAME_HEAD,
                                     .len = n - NOISE_TAG_LEN};
        bytes += n;
        at += NOISE_FRAME_HEAD + n;
        k++;
    }
    if (k < 2 || bytes < NOISE_POOL_MIN_BATCH)
        return false;
    noise_pool_run(jobs, k);
    for (i = 0; i < k && jobs[i].err == 0; i++)
        c->opened += NOISE_FRAME_HEAD + jobs[i].len + NOISE_TAG_LEN;
    c->rx.n += i;
    c->open_bad = i < k;
    return true;
}

int noise_read(struct noise_conn *c, uint8_t **p, size_t *n)
{
    uint8_t *body;
    size_t len;

    if (c->state != ST_DONE)
        return c->state == ST_FAILED ? c->err : FASTN_ERR_INVAL;
    while (c->pl_len == 0) {
        int err = 0;
        if (!next_frame(c, &body, &len))
            return 0;
        if (c->opened)
            c->opened -= NOISE_FRAME_HEAD + len;
        else if (c->open_bad)
            err = FASTN_ERR_NET_DECRYPT;
        else if (open_batch(c))
            continue;
        else
            err = noise_cipher_open(&c->rx, NULL, 0, body, len);
        if (err) {
            c->state = ST_FAILED;
            c->err = err;
            return err;
        }
        c->pl_off = c->rd + NOISE_FRAME_HEAD;
        c->pl_len = len - NOISE_TAG_LEN;
        c->rd += NOISE_FRAME_HEAD + len;
    }
    *p = c->buf + c->pl_off;
    *n = c->pl_len;
    return 1;
}

void noise_consume(struct noise_conn *c, size_t n)
{
    if (n > c->pl_len)
        n = c->pl_len;
    c->pl_off += n;
    c->pl_len -= n;
}

int noise_seal_frame(struct noise_conn *c, uint8_t *frame, size_t n)
{
    int err;

    if (c->state != ST_DONE || n > NOISE_MAX_PLAIN)
        return FASTN_ERR_INVAL;
    err = noise_cipher_seal(&c->tx, NULL, 0, frame + NOISE_FRAME_HEAD, n,
                            frame + NOISE_FRAME_HEAD);
    if (err)
        return err;
    frame[0] = (uint8_t)((n + NOISE_TAG_LEN) >> 8);
    frame[1] = (uint8_t)(n + NOISE_TAG_LEN);
    return (int)(NOISE_FRAME_HEAD + n + NOISE_TAG_LEN);
}

int noise_seal_frame_from(struct noise_conn *c, uint8_t *frame, size_t head,
                          const uint8_t *src, size_t n)
{
    uint8_t *dst = frame + NOISE_FRAME_HEAD;
    int err;

    if (c->state != ST_DONE || head > NOISE_MAX_PLAIN ||
        n > NOISE_MAX_PLAIN - head)
        return FASTN_ERR_INVAL;
    err = noise_cipher_seal_parts(&c->tx, dst, head, src, n, dst);
    if (err)
        return err;
    n += head;
    frame[0] = (uint8_t)((n + NOISE_TAG_LEN) >> 8);
    frame[1] = (uint8_t)(n + NOISE_TAG_LEN);
    return (int)(NOISE_FRAME_HEAD + n + NOISE_TAG_LEN);
}

int noise_seal_frame_later(struct noise_conn *c, uint8_t *frame, size_t n,
                           struct noise_job *job)
{
    if (c->state != ST_DONE || n > NOISE_MAX_PLAIN)
        return FASTN_ERR_INVAL;
    if (c->tx.n == UINT64_MAX) /* reserved (Noise, section 5.1) */
        return FASTN_ERR_CRYPTO;
    *job = (struct noise_job){.key = c->tx.k,
                              .nonce = c->tx.n++,
                              .buf = frame + NOISE_FRAME_HEAD,
                              .len = n,
                              .seal = 1};
    frame[0] = (uint8_t)((n + NOISE_TAG_LEN) >> 8);
    frame[1] = (uint8_t)(n + NOISE_TAG_LEN);
    return (int)(NOISE_FRAME_HEAD + n + NOISE_TAG_LEN);
}

int noise_write(struct noise_conn *c, const uint8_t *p, size_t n,
                struct buf *out)
{
    if (c->state != ST_DONE)
        return FASTN_ERR_INVAL;
    while (n > 0) {
        size_t chunk = n < NOISE_MAX_PLAIN ? n : NOISE_MAX_PLAIN;
        uint8_t *dst;
        int err = buf_reserve(out, NOISE_FRAME_HEAD + chunk + NOISE_TAG_LEN);
        if (err)
            return err;
        dst = out->data + out->len;
        err = noise_cipher_seal(&c->tx, NULL, 0, p, chunk,
                                dst + NOISE_FRAME_HEAD);
        if (err)
            return err;
        dst[0] = (uint8_t)((chunk + NOISE_TAG_LEN) >> 8);
        dst[1] = (uint8_t)(chunk + NOISE_TAG_LEN);
        out->len += NOISE_FRAME_HEAD + chunk + NOISE_TAG_LEN;
        p += chunk;
        n -= chunk;
    }
    return 0;
}
