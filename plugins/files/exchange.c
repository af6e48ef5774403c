/*
 * Bitswap 1.2.0 with peers (also answering 1.1.0), as IPFS nodes speak
 * it: each side sends its messages on a stream it opened, and reads the
 * other's on the streams the other opened. Inbound messages are framed
 * and decoded by the library (its limits: 4 MiB a message, 8192 entries
 * of each kind, 2 MiB a block); wants are answered from the store (a
 * want-have with have or dont-have, a want-block with the block) for the
 * peers the daemon lets reach the plugin (its serves setting); blocks
 * and presences go to the fetch sessions (get.c). A block nobody asked
 * this peer for, which a wrong block for a wanted CID is (its CID is
 * computed from its bytes), drops the peer and is logged (a block asked
 * of it for a get that has ended since is late, and ignored). Fetched
 * blocks are hashed by the daemon off its loop (fastn_hash_start, on_hash:
 * "fetched blocks hashed beside the plugin" below); served blocks are not
 * hashed. Memory is bounded: at most SERVE_QUEUE_MAX wants a peer, blocks
 * read only while its stream has taken what was sent, INBOUND_HELD_MAX
 * bytes of unread messages, HASH_PENDING_BYTES of blocks being hashed.
 */
#include "files_plugin.h"

#define PEERS_MAX 64
#define INBOUND_MAX 128
/* The blocks last asked of a peer (their digests' first 8 bytes): one
 * that comes after its get ended is late, not wrong. */
#define ASKED_RING 1024
/* A stream of ours closed by the peer after this long without a write
 * was closed for being idle, not lost. */
#define IDLE_CLOSE_MS 5000

struct xpeer {
    char id[FASTN_PEER_ID_BUF];
    int32_t out;   /* our stream to it; 0 none */
    int out_ready; /* on_open said it is open */
    int v110;      /* it speaks 1.1.0: no presences */
    uint8_t *obuf; /* messages its stream has not taken yet: olen bytes */
    size_t ooff, olen, ocap;      /* at obuf + ooff (moved down when needed) */
    struct files_bitswap_want *q; /* wants to answer, oldest first */
    size_t qn, qcap;
    unsigned dropped_wants;
    uint64_t asked[ASKED_RING];
    unsigned asked_at;
    int64_t last_write_ms; /* when its stream last took bytes */
};

/* An inbound stream's bytes not handled yet, len of them at rb->bytes
 * (rb->size: its capacity, counted in held). The blocks of its whole
 * messages that are hashed beside the plugin keep references to rb: it
 * is then left to them, and the bytes after those messages move to a
 * buffer of its own. */
struct inbound {
    int32_t s;
    struct xpeer *p;
    struct rbuf *rb;
    size_t len;
};

static struct xpeer peers[PEERS_MAX];
static struct inbound ins[INBOUND_MAX];
static size_t held; /* bytes of every inbound rb */

struct rbuf *rbuf_new(size_t size)
{
    struct rbuf *rb = malloc(sizeof(*rb) + size);
    if (rb) {
        rb->refs = 1;
        rb->size = size;
    }
    return rb;
}

void rbuf_unref(void *p)
{
    struct rbuf *rb = p;
    if (rb && --rb->refs == 0)
        free(rb);
}

/* Is [data, data + n) inside rb's bytes? */
static int rbuf_holds(const struct rbuf *rb, const uint8_t *data, size_t n)
{
    return rb && data >= rb->bytes && n <= rb->size &&
           (size_t)(data - rb->bytes) <= rb->size - n;
}

struct xpeer *xpeer_get(const char *id, size_t n)
{
    struct xpeer *free_slot = NULL;
    if (n == 0 || n >= FASTN_PEER_ID_BUF)
        return NULL;
    for (size_t i = 0; i < PEERS_MAX; i++) {
        if (peers[i].id[0] == '\0') {
            free_slot = free_slot ? free_slot : &peers[i];
            continue;
        }
        if (strlen(peers[i].id) == n && !memcmp(peers[i].id, id, n))
            return &peers[i];
    }
    if (free_slot) {
        memset(free_slot, 0, sizeof(*free_slot));
        memcpy(free_slot->id, id, n);
        free_slot->id[n] = '\0';
    }
    return free_slot;
}

const char *xpeer_id(const struct xpeer *p)
{
    return p->id;
}

/* Writes what the peer's stream takes; then reads more blocks for it. */
static void serve_pump(struct xpeer *p);

static void flush(struct xpeer *p)
{
    while (p->out_ready && p->olen > 0) {
        size_t k = p->olen < FILES_WRITE_MAX ? p->olen : FILES_WRITE_MAX;
        int32_t w = fastn_stream_write(p->out, p->obuf + p->ooff, k);
        if (w == FASTN_ERR_AGAIN || w == 0)
            return; /* on_writable comes */
        if (w < 0) {
            p->olen = p->ooff = 0;
            return;
        }
        p->olen -= (size_t)w;
        p->ooff = p->olen ? p->ooff + (size_t)w : 0;
        p->last_write_ms = fastn_monotonic_ms();
    }
}

static void peer_reset_out(struct xpeer *p)
{
    p->out = 0;
    p->out_ready = 0;
    p->olen = p->ooff = 0;
    p->qn = 0;
}

static int fill_block(void *ctx, const struct files_cid *c, uint8_t *dst,
                      size_t n)
{
    (void)ctx;
    return store_blob_read(c, dst, n);
}

/* Encodes the message straight into the peer's buffer (the blocks read
 * from the store into their place in it: their one copy here), opening
 * its stream if needed. */
static int send_msg(struct xpeer *p, struct files_bitswap_builder *b)
{
    size_t n = files_bitswap_builder_size(b);
    int err;

    if (p->ooff + p->olen + n > p->ocap && p->ooff) {
        memmove(p->obuf, p->obuf + p->ooff, p->olen);
        p->ooff = 0;
    }
    if (p->olen + n > p->ocap) {
        size_t cap = p->ocap ? p->ocap : 65536;
        while (cap < p->olen + n)
            cap *= 2;
        uint8_t *g = realloc(p->obuf, cap);
        if (!g)
            return FASTN_ERR_NOMEM;
        p->obuf = g;
        p->ocap = cap;
    }
    err = files_bitswap_finish_into(b, p->obuf + p->ooff + p->olen,
                                    p->ocap - p->ooff - p->olen, fill_block,
                                    NULL, &n);
    if (err)
        return err;
    p->olen += n;
    if (p->out == 0) {
        int32_t s = fastn_stream_open(p->id, strlen(p->id), BITSWAP_120,
                                      strlen(BITSWAP_120));
        if (s < 0) {
            fastn_logf(FASTN_LOG_WARN,
                       "bitswap: cannot open a stream to "
                       "%s: %s",
                       p->id, fastn_err_name_(s));
            p->olen = p->ooff = 0;
            return s;
        }
        p->out = s;
    }
    flush(p);
    return 0;
}

static uint64_t fingerprint(const struct files_cid *c)
{
    uint64_t v = c->mh_code;
    for (size_t i = 0; i < 8 && i < c->digest_len; i++)
        v = v << 8 ^ c->digest[i];
    return v;
}

static int was_asked(const struct xpeer *p, const struct files_cid *c)
{
    uint64_t f = fingerprint(c);
    for (size_t i = 0; i < ASKED_RING; i++)
        if (p->asked[i] == f)
            return 1;
    return 0;
}

int xpeer_want(struct xpeer *p, const struct files_cid *cids, size_t n,
               enum files_want_type type)
{
    struct files_bitswap_builder b;
    int err = 0;

    files_bitswap_builder_init(&b);
    for (size_t i = 0; i < n && !err; i++) {
        struct files_bitswap_want w = {.cid = cids[i],
                                       .priority = 1,
                                       .type = type,
                                       .send_dont_have = true};
        err = files_bitswap_add_want(&b, &w);
        /* a want-have may be answered with the block (small blocks) */
        p->asked[p->asked_at++ % ASKED_RING] = fingerprint(&cids[i]);
    }
    if (!err)
        err = send_msg(p, &b);
    files_bitswap_builder_cleanup(&b);
    return err;
}

int xpeer_cancel(struct xpeer *p, const struct files_cid *c)
{
    struct files_bitswap_builder b;
    struct files_bitswap_want w = {.cid = *c, .cancel = true};
    int err;

    if (p->out == 0)
        return 0;
    files_bitswap_builder_init(&b);
    err = files_bitswap_add_want(&b, &w);
    if (!err)
        err = send_msg(p, &b);
    files_bitswap_builder_cleanup(&b);
    return err;
}

int xpeer_usable(const struct xpeer *p)
{
    return p->id[0] != '\0';
}

/* --- serving ------------------------------------------------------------ */

/* Adds the next queued wants to b: blocks we hold, dont-have for the
 * others that asked for it. Stops when b is full (the want stays). */
static int serve_fill(struct xpeer *p, struct files_bitswap_builder *b)
{
    size_t done = 0;
    int err = 0;

    while (done < p->qn && files_bitswap_builder_size(b) < SERVE_OUT_HIGH) {
        const struct files_bitswap_want *w = &p->q[done];
        const uint8_t *data;
        size_t len;
        int64_t size = store_blob_size(&w->cid);
        int r = size >= 0 ? 0 : store_get(&w->cid, &data, &len);
        if (size >= 0) /* read when the message is encoded */
            err = files_bitswap_add_block_ref(b, &w->cid, (size_t)size);
        else if (r == 0)
            err = files_bitswap_add_block(b, &w->cid, data, len);
        else if (w->send_dont_have && !p->v110)
            err = files_bitswap_add_presence(b, &w->cid,
                                             FILES_PRESENCE_DONT_HAVE);
        if (err == FASTN_ERR_FILES_LIMIT && b->nblocks + b->npresences) {
            err = 0;
            break; /* the message is full: this one goes in the next */
        }
        if (err)
            break;
        done++;
    }
    memmove(p->q, p->q + done, (p->qn - done) * sizeof(*p->q));
    p->qn -= done;
    return err;
}

static void serve_pump(struct xpeer *p)
{
    while (p->qn > 0 && p->olen < SERVE_OUT_HIGH) {
        struct files_bitswap_builder b;
        files_bitswap_builder_init(&b);
        int err = serve_fill(p, &b);
        if (!err && b.nblocks + b.npresences > 0)
            err = send_msg(p, &b);
        files_bitswap_builder_cleanup(&b);
        if (err) {
            fastn_logf(FASTN_LOG_WARN, "bitswap: serving %s: %s", p->id,
                       fastn_err_name_(err));
            p->qn = 0;
            return;
        }
        if (p->out == 0 || !p->out_ready)
            return; /* sent once the stream is open */
    }
}

static void queue_remove(struct xpeer *p, const struct files_cid *c)
{
    for (size_t i = 0; i < p->qn; i++)
        if (files_cid_eq(&p->q[i].cid, c)) {
            memmove(&p->q[i], &p->q[i + 1], (p->qn - i - 1) * sizeof(*p->q));
            p->qn--;
            return;
        }
}

static int queue_add(struct xpeer *p, const struct files_bitswap_want *w)
{
    if (p->qn == SERVE_QUEUE_MAX) {
        if (p->dropped_wants++ == 0)
            fastn_logf(FASTN_LOG_WARN,
                       "bitswap: %s wants more than %u blocks at once; the "
                       "rest are ignored",
                       p->id, SERVE_QUEUE_MAX);
        return 0;
    }
    if (p->qn == p->qcap) {
        size_t cap = p->qcap ? p->qcap * 2 : 64;
        struct files_bitswap_want *g = realloc(p->q, cap * sizeof(*g));
        if (!g)
            return FASTN_ERR_NOMEM;
        p->q = g;
        p->qcap = cap;
    }
    p->q[p->qn++] = *w;
    return 0;
}

/* The wants of one message: presences answered at once, blocks queued. */
static int on_wants(struct xpeer *p, const struct files_bitswap_msg *m)
{
    struct files_bitswap_builder b;
    int err = 0;

    if (m->full)
        p->qn = 0;
    files_bitswap_builder_init(&b);
    for (size_t i = 0; i < m->nwants && !err; i++) {
        const struct files_bitswap_want *w = &m->wants[i];
        if (w->cancel) {
            queue_remove(p, &w->cid);
        } else if (w->type == FILES_WANT_BLOCK) {
            err = queue_add(p, w);
        } else if (!p->v110) {
            int has = store_has(&w->cid);
            if (has == 1)
                err = files_bitswap_add_presence(&b, &w->cid,
                                                 FILES_PRESENCE_HAVE);
            else if (has == 0 && w->send_dont_have)
                err = files_bitswap_add_presence(&b, &w->cid,
                                                 FILES_PRESENCE_DONT_HAVE);
        }
    }
    if (!err && b.npresences)
        err = send_msg(p, &b);
    files_bitswap_builder_cleanup(&b);
    if (!err)
        serve_pump(p);
    return err;
}

/* --- receiving ---------------------------------------------------------- */

/* Drops a peer that sent what nobody asked it for. */
static void peer_drop(struct xpeer *p, const struct files_cid *c)
{
    char cid[FILES_CID_STR_MAX + 1];
    if (files_cid_format(c, cid, sizeof(cid)) < 0)
        strcpy(cid, "?");
    fastn_logf(FASTN_LOG_WARN,
               "bitswap: %s sent block %s, which was not asked of it (a "
               "wrong block for a CID it was asked for?): dropped from the "
               "fetch",
               p->id, cid);
    fetch_on_peer_gone(p);
}

/* A block with its CID (computed from its bytes) goes to the fetches;
 * one nobody asked this peer for drops it (FASTN_ERR_FILES_HASH_MISMATCH:
 * its inbound stream is reset). own: as fetch_on_block's. */
static int block_done(struct xpeer *p, const struct files_cid *c,
                      const uint8_t *data, size_t n, struct rbuf **own)
{
    int r = fetch_on_block(p, c, data, n, own);
    if (r < 0)
        return r;
    if (r == 0 && store_has(c) != 1 && !was_asked(p, c)) {
        peer_drop(p, c);
        return FASTN_ERR_FILES_HASH_MISMATCH;
    }
    return 0;
}

static struct inbound *inbound_find(int32_t s)
{
    for (size_t i = 0; s > 0 && i < INBOUND_MAX; i++)
        if (ins[i].s == s)
            return &ins[i];
    return NULL;
}

static void inbound_free(struct inbound *in)
{
    if (in->rb)
        held -= in->rb->size;
    rbuf_unref(in->rb);
    memset(in, 0, sizeof(*in));
}

/* --- fetched blocks hashed beside the plugin ---------------------------- */

/*
 * A fetched sha2-256 block of HASH_ASYNC_MIN bytes or more goes to a slot
 * and is hashed by the daemon off its loop (fastn_hash_start; the tag is
 * the slot's index). The slot keeps a reference to the message buffer
 * the block is in (not a copy; the stream's later bytes go to a buffer
 * of their own), counted in full in hslot_bytes by one of the slots
 * holding it; a copy when that does not fit. on_hash finishes it as
 * on_msg would have: the fetches get it (the reference handed to the
 * walk or its ahead list, not copied again), and a block nobody asked
 * the peer for drops the peer and
 * resets its inbound stream. A slot keeps its peer's id, not the peer:
 * a peer dropped meanwhile has its slots' blocks ignored (logged at
 * debug); a peer whose streams went has its wanted blocks kept. When the
 * daemon will not hash (busy, no slot, too many bytes) the block is
 * hashed here at once, as before.
 *
 * The presences of a message wait for its blocks, and for the earlier
 * ones of the same peer (in a pbatch), so that a dont-have or a have
 * after a block is seen after it, as the peer sent them.
 */
struct hslot {
    int used;
    int dropped;  /* its peer was dropped: the block is ignored */
    uint64_t seq; /* its place among slots and batches */
    char peer[FASTN_PEER_ID_BUF];
    int32_t s;            /* the inbound stream it came on */
    struct files_cid cid; /* the daemon writes the digest here */
    struct rbuf *rb;      /* a reference (NULL once handed on) */
    const uint8_t *data;  /* len bytes inside rb */
    size_t len;
    size_t charge; /* what it counts for in hslot_bytes */
};

#define PBATCH_MAX 16

struct pbatch {
    uint64_t seq; /* 0: free */
    char peer[FASTN_PEER_ID_BUF];
    struct files_bitswap_presence *pr;
    size_t n;
};

static struct hslot hslots[HASH_PENDING_MAX];
static struct pbatch pbatches[PBATCH_MAX];
static size_t hslot_bytes;
static uint64_t order_seq; /* 64-bit: never wraps */

static struct xpeer *xpeer_find(const char *id)
{
    for (size_t i = 0; i < PEERS_MAX; i++)
        if (peers[i].id[0] != '\0' && !strcmp(peers[i].id, id))
            return &peers[i];
    return NULL;
}

/* Does something of peer id before seq (0: at all) still wait? */
static int peer_waits(const char *id, uint64_t seq)
{
    for (size_t i = 0; i < HASH_PENDING_MAX; i++)
        if (hslots[i].used && !hslots[i].dropped &&
            (!seq || hslots[i].seq < seq) && !strcmp(hslots[i].peer, id))
            return 1;
    for (size_t i = 0; i < PBATCH_MAX; i++)
        if (pbatches[i].seq && (!seq || pbatches[i].seq < seq) &&
            !strcmp(pbatches[i].peer, id))
            return 1;
    return 0;
}

static void pbatch_free(struct pbatch *b)
{
    free(b->pr);
    memset(b, 0, sizeof(*b));
}

/* Keeps the presences of m until the peer's blocks before them are done;
 * 0, or < 0 when there is no room (they are handled at once). */
static int pbatch_add(const struct xpeer *p, const struct files_bitswap_msg *m)
{
    struct pbatch *b = NULL;
    for (size_t i = 0; !b && i < PBATCH_MAX; i++)
        b = pbatches[i].seq ? NULL : &pbatches[i];
    if (!b || !(b->pr = malloc(m->npresences * sizeof(*b->pr))))
        return FASTN_ERR_NOMEM;
    memcpy(b->pr, m->presences, m->npresences * sizeof(*b->pr));
    b->n = m->npresences;
    b->seq = ++order_seq;
    strcpy(b->peer, p->id);
    return 0;
}

/* Handles the kept presences whose blocks are all done, in order. */
static void pbatches_run(void)
{
    for (;;) {
        struct pbatch *b = NULL;
        for (size_t i = 0; i < PBATCH_MAX; i++)
            if (pbatches[i].seq && (!b || pbatches[i].seq < b->seq) &&
                !peer_waits(pbatches[i].peer, pbatches[i].seq))
                b = &pbatches[i];
        if (!b)
            return;
        struct xpeer *p = xpeer_find(b->peer);
        for (size_t i = 0; p && i < b->n; i++)
            fetch_on_presence(p, &b->pr[i].cid, b->pr[i].type);
        pbatch_free(b);
    }
}

/* A peer dropped: its blocks still hashing and its kept presences are
 * ignored (as the rest of its stream is). */
static void peer_forget(const struct xpeer *p)
{
    for (size_t i = 0; i < HASH_PENDING_MAX; i++)
        if (hslots[i].used && !strcmp(hslots[i].peer, p->id))
            hslots[i].dropped = 1;
    for (size_t i = 0; i < PBATCH_MAX; i++)
        if (pbatches[i].seq && !strcmp(pbatches[i].peer, p->id))
            pbatch_free(&pbatches[i]);
}

/* What a slot of a block in rb adds to hslot_bytes: rb in full, once. */
static size_t slot_charge(const struct rbuf *rb)
{
    for (size_t i = 0; i < HASH_PENDING_MAX; i++)
        if (hslots[i].used && hslots[i].rb == rb)
            return 0;
    return rb->size;
}

/* Slot h, whose block was in rb, is done: its charge moves to another
 * slot of rb, or leaves hslot_bytes. */
static void slot_uncharge(struct hslot *h, const struct rbuf *rb)
{
    for (size_t i = 0; h->charge && i < HASH_PENDING_MAX; i++)
        if (&hslots[i] != h && hslots[i].used && hslots[i].rb == rb) {
            hslots[i].charge += h->charge;
            h->charge = 0;
        }
    hslot_bytes -= h->charge;
    h->charge = 0;
}

/* Takes a reference to the buffer of bl (in's) for slot h, or a copy of
 * the block when the buffer does not fit in HASH_PENDING_BYTES. */
static int slot_fill(struct hslot *h, struct inbound *in,
                     const struct files_bitswap_block *bl)
{
    if (rbuf_holds(in->rb, bl->data, bl->len)) {
        size_t charge = slot_charge(in->rb);
        if (hslot_bytes + charge <= HASH_PENDING_BYTES) {
            h->rb = in->rb;
            h->rb->refs++;
            h->data = bl->data;
            h->charge = charge;
            return 0;
        }
    }
    if (hslot_bytes + bl->len > HASH_PENDING_BYTES ||
        !(h->rb = rbuf_new(bl->len)))
        return FASTN_ERR_BUSY;
    memcpy(h->rb->bytes, bl->data, bl->len);
    h->data = h->rb->bytes;
    h->charge = bl->len;
    return 0;
}

/* Starts hashing block bl beside the plugin: 0, or < 0 when it is to be
 * hashed here and now. */
static int hash_later(struct inbound *in, const struct files_bitswap_block *bl)
{
    struct hslot *h = NULL;
    if (bl->len < HASH_ASYNC_MIN)
        return FASTN_ERR_BUSY;
    for (size_t i = 0; !h && i < HASH_PENDING_MAX; i++)
        h = hslots[i].used ? NULL : &hslots[i];
    if (!h || slot_fill(h, in, bl))
        return FASTN_ERR_BUSY;
    h->len = bl->len;
    h->cid = bl->cid;
    int32_t r = fastn_hash_start(FASTN_HASH_SHA256, h->data, h->len,
                                 h->cid.digest, (int32_t)(h - hslots));
    if (r < 0) {
        rbuf_unref(h->rb);
        memset(h, 0, sizeof(*h));
        return r;
    }
    h->used = 1;
    h->dropped = 0;
    h->seq = ++order_seq;
    h->s = in->s;
    strcpy(h->peer, in->p->id);
    hslot_bytes += h->charge;
    return 0;
}

static int on_msg(struct inbound *in, const struct files_bitswap_msg *m)
{
    struct xpeer *p = in->p;
    int err = on_wants(p, m);

    for (size_t i = 0; !err && i < m->nblocks; i++) {
        const struct files_bitswap_block *bl = &m->blocks[i];
        struct files_cid c = bl->cid;
        if (bl->digest_pending) {
            if (hash_later(in, bl) == 0)
                continue; /* on_hash goes on with it */
            files_sha256(bl->data, bl->len, c.digest);
        }
        if ((err = block_done(p, &c, bl->data, bl->len, NULL))) {
            if (err == FASTN_ERR_FILES_HASH_MISMATCH)
                peer_forget(p);
            return err;
        }
    }
    if (!err && m->npresences && peer_waits(p->id, 0) && pbatch_add(p, m) == 0)
        return 0; /* after the blocks: pbatches_run */
    for (size_t i = 0; !err && i < m->npresences; i++)
        fetch_on_presence(p, &m->presences[i].cid, m->presences[i].type);
    return err;
}

int32_t on_hash(int32_t tag, int32_t result)
{
    struct hslot *h = tag >= 0 && tag < HASH_PENDING_MAX && hslots[tag].used
                          ? &hslots[tag]
                          : NULL;
    struct xpeer *p = h && !h->dropped ? xpeer_find(h->peer) : NULL;

    if (!h)
        return 0;
    struct rbuf *rb = h->rb; /* to find its other slots once handed on */
    if (!p) {
        fastn_logf(FASTN_LOG_DEBUG,
                   "bitswap: a block from %s ignored: the peer was dropped "
                   "while it was hashed",
                   h->peer);
    } else {
        if (result < 0) /* the daemon could not: here, then */
            files_sha256(h->data, h->len, h->cid.digest);
        int tx = store_begin() == 0;
        int err = block_done(p, &h->cid, h->data, h->len, &h->rb);
        int c = tx ? store_commit() : 0;
        if (c < 0) { /* the store is full: the block is not kept */
            fastn_sql_exec_str("ROLLBACK");
            fetch_on_store_error(c);
        }
        if (err == FASTN_ERR_FILES_HASH_MISMATCH) {
            struct inbound *in = inbound_find(h->s);
            peer_forget(p);
            if (in && in->p == p) { /* as on_data's error would */
                fastn_stream_reset(in->s);
                inbound_free(in);
            }
        } else if (err) {
            fastn_logf(FASTN_LOG_WARN, "bitswap: a block from %s: %s", h->peer,
                       fastn_err_name_(err));
        }
    }
    rbuf_unref(h->rb);
    slot_uncharge(h, rb);
    memset(h, 0, sizeof(*h));
    pbatches_run();
    fetch_tick();
    return 0;
}

static struct xpeer *outbound_peer(int32_t s)
{
    for (size_t i = 0; s > 0 && i < PEERS_MAX; i++)
        if (peers[i].out == s)
            return &peers[i];
    return NULL;
}

int32_t on_stream(int32_t s, const char *peer, size_t peer_len,
                  const char *proto, size_t proto_len)
{
    struct inbound *in = inbound_find(0);
    for (size_t i = 0; !in && i < INBOUND_MAX; i++)
        if (ins[i].s == 0)
            in = &ins[i];
    struct xpeer *p = xpeer_get(peer, peer_len);
    if (!in || !p)
        return FASTN_ERR_PLUGIN_LIMIT;
    memset(in, 0, sizeof(*in));
    in->s = s;
    in->p = p;
    p->v110 = fastn_is(proto, proto_len, BITSWAP_110);
    return 0;
}

/* The capacity for want bytes of a stream whose buffer starts with b[0..
 * len): once the length of the message it starts is known, that message
 * and one read more (the next message's start), so that the buffer grows
 * once a message and not past it; at least 64 KiB. */
static size_t inbound_cap(const uint8_t *b, size_t len, size_t want)
{
    size_t need, cap = want > 65536 ? want : 65536;
    if (files_bitswap_frame_need(b, len, &need) == 0) {
        need += FILES_READ_MAX;
        if (need > FILES_BITSWAP_MAX_MSG + 16)
            need = FILES_BITSWAP_MAX_MSG + 16;
        cap = need > cap ? need : cap;
    }
    return cap;
}

/* Grows in's buffer for n more bytes, within INBOUND_HELD_MAX in all.
 * Only in holds the buffer here (inbound_run moves what it keeps). */
static int inbound_room(struct inbound *in, size_t n)
{
    size_t size = in->rb ? in->rb->size : 0;
    if (in->len + n <= size)
        return 0;
    if (in->len + n > FILES_BITSWAP_MAX_MSG + 16)
        return FASTN_ERR_FILES_LIMIT;
    size_t cap =
        inbound_cap(in->rb ? in->rb->bytes : NULL, in->len, in->len + n);
    if (held - size + cap > INBOUND_HELD_MAX)
        return FASTN_ERR_FILES_LIMIT;
    struct rbuf *g = realloc(in->rb, sizeof(*g) + cap);
    if (!g)
        return FASTN_ERR_NOMEM;
    if (!in->rb)
        g->refs = 1;
    g->size = cap;
    held = held - size + cap;
    in->rb = g;
    return 0;
}

/* Appends n bytes to in's buffer; bytes the host wrote at its end
 * (fastn_data_at) are only counted. */
static int inbound_take(struct inbound *in, const uint8_t *data, size_t n)
{
    if (in->rb && data == in->rb->bytes + in->len &&
        in->len + n <= in->rb->size) {
        in->len += n;
        return 0;
    }
    int err = inbound_room(in, n);
    if (err)
        return err;
    memcpy(in->rb->bytes + in->len, data, n);
    in->len += n;
    return 0;
}

/* The host writes an inbound stream's bytes at the end of its buffer, not
 * in a block of their own that on_data would copy from (other streams'
 * and a buffer that cannot grow: NULL, the host's block). Bytes are
 * counted only when on_data takes them. */
void *fastn_data_at(int32_t s, size_t n)
{
    struct inbound *in = inbound_find(s);
    if (!in || inbound_room(in, n))
        return NULL;
    return in->rb->bytes + in->len;
}

/* Does the buffer start with a whole message (or with bytes that are
 * not one, which inbound_run refuses)? */
static int message_whole(const struct inbound *in)
{
    const uint8_t *msg;
    size_t mlen, used;
    return files_bitswap_frame(in->rb->bytes, in->len, &msg, &mlen, &used) !=
           FASTN_ERR_AGAIN;
}

/* The blocks of the messages before off, being hashed, keep in's buffer:
 * the bytes after them (at most what a read brought) move to a new one,
 * sized for the message they start (as the last one, while its length is
 * not there yet). */
static int inbound_move(struct inbound *in, size_t off)
{
    const uint8_t *rest = in->rb->bytes + off;
    size_t left = in->len - off, cap = inbound_cap(rest, left, left), need;

    if (files_bitswap_frame_need(rest, left, &need) == FASTN_ERR_AGAIN)
        cap = in->rb->size;

    if (held - in->rb->size + cap > INBOUND_HELD_MAX)
        cap = left > 65536 ? left : 65536; /* grown later, if there is room */
    struct rbuf *g = rbuf_new(cap);
    if (!g)
        return FASTN_ERR_NOMEM;
    memcpy(g->bytes, rest, left);
    held = held - in->rb->size + cap;
    rbuf_unref(in->rb);
    in->rb = g;
    in->len = left;
    return 0;
}

/* Handles every whole message in the buffer. */
static int inbound_run(struct inbound *in)
{
    size_t off = 0;
    int err = 0;

    while (!err) {
        const uint8_t *msg;
        size_t mlen, used;
        struct files_bitswap_msg m;
        err = files_bitswap_frame(in->rb->bytes + off, in->len - off, &msg,
                                  &mlen, &used);
        if (err == FASTN_ERR_AGAIN) {
            err = 0;
            break;
        }
        if (err || (err = files_bitswap_decode_flags(
                        msg, mlen, FILES_BITSWAP_NO_HASH, &m)))
            break;
        err = on_msg(in, &m);
        files_bitswap_msg_cleanup(&m);
        off += used;
    }
    if (off && in->rb->refs > 1) { /* slots hold it: left to them */
        if (!err) /* else the stream ends, its buffer with it */
            err = inbound_move(in, off);
    } else if (off) { /* most reads end inside a message: nothing to move */
        memmove(in->rb->bytes, in->rb->bytes + off, in->len - off);
        in->len -= off;
    }
    return err;
}

int32_t on_data(int32_t s, const uint8_t *data, size_t n)
{
    struct inbound *in = inbound_find(s);
    int err;

    if (!in) /* bytes on a stream we opened: bitswap sends none back */
        return outbound_peer(s) ? 0 : FASTN_ERR_PLUGIN_BAD_HANDLE;
    if (n == 0)
        return 0;
    err = inbound_take(in, data, n);
    /* Most reads (64 KiB each) end inside a message of a 1 MiB block:
     * nothing to decode or keep until the message is whole. */
    if (!err && !message_whole(in))
        return 0;
    /* the blocks of every whole message here in one transaction */
    int tx = !err && store_begin() == 0;
    if (!err)
        err = inbound_run(in);
    int c = tx ? store_commit() : 0;
    if (c < 0) { /* the store is full: none of these blocks is kept */
        fastn_sql_exec_str("ROLLBACK");
        fetch_on_store_error(c);
    }
    if (err) {
        if (err != FASTN_ERR_FILES_HASH_MISMATCH)
            fastn_logf(FASTN_LOG_WARN,
                       "bitswap: a bad message from %s (%s): stream reset",
                       in->p->id, fastn_err_name_(err));
        inbound_free(in);
        return err;
    }
    fetch_tick();
    return 0;
}

int32_t on_close(int32_t s, int32_t reason)
{
    struct inbound *in = inbound_find(s);
    struct xpeer *p;

    if (in) {
        inbound_free(in);
        return reason == FASTN_CLOSE_EOF ? fastn_stream_close(s) : 0;
    }
    if ((p = outbound_peer(s))) {
        if (reason == FASTN_CLOSE_EOF)
            return 0; /* it does not write on our stream */
        /* helia closes a stream idle for 10 s: with nothing lost, the
         * next message opens another (a stream that carried wants a
         * moment ago and dies is a peer gone) */
        int idle = p->olen == 0 && p->qn == 0 &&
                   fastn_monotonic_ms() - p->last_write_ms >= IDLE_CLOSE_MS;
        peer_reset_out(p);
        if (!idle)
            fetch_on_peer_gone(p);
    }
    return 0;
}

int32_t on_open(int32_t s, int32_t result)
{
    struct xpeer *p = outbound_peer(s);
    if (!p)
        return 0;
    if (result < 0) {
        fastn_logf(FASTN_LOG_WARN, "bitswap: no stream to %s: %s", p->id,
                   fastn_err_name_(result));
        peer_reset_out(p);
        fetch_on_peer_gone(p);
        return 0;
    }
    p->out_ready = 1;
    flush(p);
    serve_pump(p);
    return 0;
}

int32_t on_writable(int32_t s)
{
    struct xpeer *p = outbound_peer(s);
    if (p) {
        flush(p);
        serve_pump(p);
    }
    return 0;
}
