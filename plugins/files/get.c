/*
 * `fastn files get`: a fetch session walks the DAG under a root with the
 * library's walker, feeding it blocks from the store; a block not here
 * is wanted from the session's peers, and what the walker will need next
 * (files_walker_upcoming) is wanted ahead: as many blocks as the ahead
 * list can hold (FETCH_WANTS at most, 16 of 1 MiB). Each peer
 * is first asked whether it has the root (want-have); those that have it
 * are asked for blocks (want-block), FETCH_WINDOW_PEER at a time each,
 * the next block going to the peer with the fewest in flight, so the
 * fastest peers get the most. A dont-have moves the block to another
 * peer; a peer that fails or lies (exchange.c) is dropped and its blocks
 * asked of the others. Blocks are checked against their CID before they
 * are kept (exchange: a block's CID is computed from its bytes), so a
 * fetch that stops resumes from what was kept: the next get walks the
 * kept blocks and asks only for the rest.
 *
 * Calls:
 *   get_open CID [PEER]...   a session; answers its id
 *   get_next ID              the next records (answered when there is
 *                            something to say, at least every second):
 *                            'P' progress, 'D' name, 'E', 'F' size name,
 *                            'W' bytes, 'C', 'L' name NUL target, 'Z'
 *                            progress (done); an error ends the session
 *   get_close ID
 * Progress is 8-byte little-endian bytes written, blocks fetched, blocks
 * found here, then 4 bytes of peers fetching.
 * An answer is up to 1 MiB of records built in `out`, and a block's
 * bytes of 64 KiB or more go in a 'W' record of their own, by reference:
 * the answer is then sent in pieces (fastn_call_reply_v: the records
 * before it, its bytes where the block is, the progress after), not
 * copied into `out` first; the answer ends there, since the walker's
 * bytes are valid only until its next call. 2 MiB at most in all.
 */
#include "files_plugin.h"

#define STALL_MS 60000
/* Bytes of blocks a walk holds (its path's nodes): well inside the
 * plugin's 64 MiB of memory. */
#define WALK_HELD_MAX (16u << 20)
/* Blocks that arrived ahead of the walk, kept in memory (as well as in
 * the store) until the walk takes them, so that it does not read back
 * from the store what was just written there: at most AHEAD_MAX blocks,
 * AHEAD_BYTES in all, shared by the gets running (a buffer several of
 * them are in counted once, in full, by one of them: 16 blocks of 1 MiB,
 * each with the read past its message, for one get); past that they are
 * read back. The walk wants no more blocks ahead than this holds
 * (want_ahead), so few are. */
#define AHEAD_MAX FETCH_WANTS
#define AHEAD_BYTES (18u << 20)
/* What a block is taken to cost the ahead list until one arrived: a
 * 1 MiB block (the default profile's chunk) and a read past it. */
#define AHEAD_BLOCK_GUESS ((1u << 20) + FILES_READ_MAX)

struct ahead {
    struct files_cid cid;
    const uint8_t *data; /* inside rb */
    size_t len;
    struct rbuf *rb; /* a reference */
    size_t charge;   /* what it counts for in ahead_bytes */
};

struct want {
    struct files_cid cid;
    int peer;       /* the peer asked (-1: none yet) */
    uint32_t tried; /* peers that said dont-have */
};

struct session {
    int used;
    struct files_walker *w;
    struct files_cid root;
    struct xpeer *peers[FETCH_PEERS];
    int npeers;
    int has_root[FETCH_PEERS], gone[FETCH_PEERS];
    unsigned inflight[FETCH_PEERS];
    struct want wants[FETCH_WANTS];
    size_t nwants;
    int need; /* the walker waits for the block of need_cid */
    struct files_cid need_cid;
    int32_t call; /* a get_next waiting; 0 none */
    /* file bytes the last answer had no room for: the walker's, valid
     * until its next call, which comes after they are sent */
    const uint8_t *carry;
    size_t carry_len;
    struct ahead ahead[AHEAD_MAX];
    size_t nahead, ahead_bytes;
    size_t block_cost; /* what a block costs the ahead list; 0 a guess */
    uint64_t bytes, fetched, local;
    int64_t last_reply_ms, last_block_ms;
    int err;
    char why[200];
};

static struct session sessions[FETCH_SESSIONS];
static uint8_t out[FILES_ANSWER_MAX];
static size_t out_len;
/* File bytes the answer takes by reference: a 'W' record whose head
 * ends out at ref_at, then these bytes, then the rest of out. */
#define REF_MIN (64u << 10)
#define ANSWER_V_MAX (2u << 20) /* the ABI's most for an answer */
static const uint8_t *ref_p;
static size_t ref_len, ref_at;
/* What records but the last progress one may fill. */
#define OUT_ROOM (sizeof(out) - 64)
static int timer_armed;

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Room for n more payload bytes in the answer? */
static int room(size_t n)
{
    return out_len + REC_HEAD + n <= OUT_ROOM;
}

static void rec(uint8_t op, const void *a, size_t an, const void *b, size_t bn)
{
    out[out_len] = op;
    put_le(out + out_len + 1, an + bn, 4);
    out_len += REC_HEAD;
    if (an)
        memcpy(out + out_len, a, an);
    if (bn)
        memcpy(out + out_len + an, b, bn);
    out_len += an + bn;
}

static int peers_active(const struct session *s)
{
    int n = 0;
    for (int i = 0; i < s->npeers; i++)
        n += s->has_root[i] && !s->gone[i];
    return n;
}

static void rec_progress(struct session *s, uint8_t op)
{
    uint8_t p[28];
    put_le(p, s->bytes, 8);
    put_le(p + 8, s->fetched, 8);
    put_le(p + 16, s->local, 8);
    put_le(p + 24, (uint64_t)peers_active(s), 4);
    rec(op, p, sizeof(p), NULL, 0);
}

static void session_end(struct session *s)
{
    for (size_t i = 0; i < s->nwants; i++)
        if (s->wants[i].peer >= 0 && !s->gone[s->wants[i].peer])
            xpeer_cancel(s->peers[s->wants[i].peer], &s->wants[i].cid);
    files_walker_free(s->w);
    for (size_t i = 0; i < s->nahead; i++)
        rbuf_unref(s->ahead[i].rb);
    memset(s, 0, sizeof(*s));
}

static void fail(struct session *s, int err, const char *why)
{
    if (s->err)
        return;
    s->err = err;
    snprintf(s->why, sizeof(s->why), "%s", why);
}

/* --- wanting blocks ----------------------------------------------------- */

/* The same multihash: the same bytes (the store keys blocks by it). */
static int mh_eq(const struct files_cid *a, const struct files_cid *b)
{
    return a->mh_code == b->mh_code && a->digest_len == b->digest_len &&
           !memcmp(a->digest, b->digest, a->digest_len);
}

static int wanted(const struct session *s, const struct files_cid *c)
{
    for (size_t i = 0; i < s->nwants; i++)
        if (mh_eq(&s->wants[i].cid, c))
            return (int)i;
    return -1;
}

/* --- blocks handed to the walk ------------------------------------------ */

/* A get's share of AHEAD_BYTES: the gets running share it evenly. */
static size_t ahead_limit(void)
{
    size_t n = 0;
    for (size_t k = 0; k < FETCH_SESSIONS; k++)
        n += sessions[k].used != 0;
    return AHEAD_BYTES / (n ? n : 1);
}

/* What a block in rb adds to s's ahead_bytes: rb in full, once. */
static size_t ahead_charge(const struct session *s, const struct rbuf *rb)
{
    for (size_t i = 0; i < s->nahead; i++)
        if (s->ahead[i].rb == rb)
            return 0;
    return rb->size;
}

/* What a block costs the ahead list, from the blocks that arrive: a
 * larger one counts at once, smaller ones a sixteenth of the difference
 * each (so that the odd small node between large leaves changes little,
 * and a DAG of small blocks gets its wants ahead after some tens). */
static void block_cost_update(struct session *s, size_t cost)
{
    size_t now = s->block_cost ? s->block_cost : AHEAD_BLOCK_GUESS;
    s->block_cost = cost >= now ? cost : now - (now - cost) / 16;
}

/* A block just kept in the store, checked against its CID: the walk
 * takes it now if it waits for it, or later from memory if there is
 * room (it is in the store either way). With own and *own (a reference
 * to the buffer data is in), the walk or the ahead list takes that
 * reference and *own becomes NULL; otherwise data is copied. */
static void hand_over(struct session *s, const struct files_cid *c,
                      const uint8_t *data, size_t n, struct rbuf **own)
{
    struct rbuf *rb = own ? *own : NULL;

    block_cost_update(s, n + FILES_READ_MAX);
    if (s->need && mh_eq(c, &s->need_cid)) {
        s->need = 0; /* an error stays in the walker: its next says it */
        if (rb) {
            *own = NULL;
            files_walker_feed_ref(s->w, data, n, rb, rbuf_unref);
        } else {
            files_walker_feed(s->w, data, n);
        }
        return;
    }
    size_t charge = rb ? ahead_charge(s, rb) : n;
    if (s->nahead == AHEAD_MAX || s->ahead_bytes + charge > ahead_limit())
        return;
    if (rb) {
        *own = NULL;
    } else if ((rb = rbuf_new(n)) != NULL) {
        memcpy(rb->bytes, data, n);
        data = rb->bytes;
    } else {
        return;
    }
    s->ahead[s->nahead++] = (struct ahead){
        .cid = *c, .data = data, .len = n, .rb = rb, .charge = charge};
    s->ahead_bytes += charge;
}

/* The walk takes block c from memory: 1 it was there, 0 not, < 0 the
 * walker's error. */
static int ahead_take(struct session *s, const struct files_cid *c)
{
    for (size_t i = 0; i < s->nahead; i++) {
        struct ahead a = s->ahead[i];
        if (!mh_eq(&a.cid, c))
            continue;
        s->ahead[i] = s->ahead[--s->nahead];
        /* its buffer's charge moves to another block in it, if any */
        size_t k = 0;
        while (k < s->nahead && s->ahead[k].rb != a.rb)
            k++;
        if (k < s->nahead)
            s->ahead[k].charge += a.charge;
        else
            s->ahead_bytes -= a.charge;
        int r = files_walker_feed_ref(s->w, a.data, a.len, a.rb, rbuf_unref);
        return r < 0 ? r : 1;
    }
    return 0;
}

static void want_add(struct session *s, const struct files_cid *c)
{
    if (s->nwants == FETCH_WANTS || wanted(s, c) >= 0 || store_has(c) != 0)
        return;
    s->wants[s->nwants++] = (struct want){.cid = *c, .peer = -1};
}

/* The peer for a want: has the root, not gone, not said dont-have, room
 * in its window, fewest in flight. -1: none now; -2: none ever. */
static int pick(const struct session *s, const struct want *w)
{
    int best = -1, any = 0;
    for (int i = 0; i < s->npeers; i++) {
        if (s->gone[i] || (w->tried & (1u << i)))
            continue;
        any = 1;
        if (!s->has_root[i] || s->inflight[i] >= FETCH_WINDOW_PEER)
            continue;
        if (best < 0 || s->inflight[i] < s->inflight[best])
            best = i;
    }
    return best >= 0 ? best : any ? -1 : -2;
}

/* Asks peers for the wants no peer has been asked for, in one message a
 * peer. */
static void assign(struct session *s)
{
    struct files_cid batch[FETCH_PEERS][FETCH_WINDOW_PEER];
    size_t nb[FETCH_PEERS] = {0};

    for (size_t i = 0; i < s->nwants && !s->err; i++) {
        struct want *w = &s->wants[i];
        if (w->peer >= 0)
            continue;
        int p = pick(s, w);
        if (p == -2) {
            char cid[FILES_CID_STR_MAX + 1], why[200];
            files_cid_format(&w->cid, cid, sizeof(cid));
            snprintf(why, sizeof(why),
                     "no peer left that has block %s: check the peers "
                     "(fastn files get CID --from PEER) and run get again "
                     "to resume",
                     cid);
            fail(s, FASTN_ERR_NOT_FOUND, why);
            return;
        }
        if (p < 0 || nb[p] == FETCH_WINDOW_PEER)
            continue;
        w->peer = p;
        s->inflight[p]++;
        batch[p][nb[p]++] = w->cid;
    }
    for (int p = 0; p < s->npeers; p++)
        if (nb[p])
            xpeer_want(s->peers[p], batch[p], nb[p], FILES_WANT_BLOCK);
}

/* How many blocks the walk wants ahead: FETCH_WANTS, or fewer when the
 * ahead list could not hold that many blocks of their cost (a block that
 * arrives when it is full is read back from the store later, a copy the
 * list saves). */
static size_t ahead_wanted(const struct session *s)
{
    size_t cost = s->block_cost ? s->block_cost : AHEAD_BLOCK_GUESS;
    size_t n = ahead_limit() / cost;
    return n < 4 ? 4 : n > FETCH_WANTS ? FETCH_WANTS : n;
}

static void want_ahead(struct session *s)
{
    struct files_cid next[FETCH_WANTS];
    size_t n = files_walker_upcoming(s->w, next, ahead_wanted(s));

    if (s->need)
        want_add(s, &s->need_cid);
    for (size_t i = 0; i < n; i++)
        want_add(s, &next[i]);
    assign(s);
}

static void want_done(struct session *s, int i)
{
    struct want *w = &s->wants[i];
    if (w->peer >= 0 && s->inflight[w->peer])
        s->inflight[w->peer]--;
    s->wants[i] = s->wants[--s->nwants];
}

/* --- what the exchange reports ------------------------------------------ */

static int peer_index(const struct session *s, const struct xpeer *p)
{
    for (int i = 0; i < s->npeers; i++)
        if (s->peers[i] == p)
            return i;
    return -1;
}

/* Does session s take block c from p? Sets its want (or -1: the root)
 * and the peer's index. */
static int takes(const struct session *s, const struct xpeer *p,
                 const struct files_cid *c, int *i, int *pi)
{
    *i = s->used ? wanted(s, c) : -1;
    *pi = s->used ? peer_index(s, p) : -1;
    return (*i >= 0 || (s->used && files_cid_eq(c, &s->root))) && *pi >= 0;
}

int fetch_on_block(struct xpeer *p, const struct files_cid *c,
                   const uint8_t *data, size_t n, struct rbuf **own)
{
    int hit = 0, left = 0, i, pi;
    for (int k = 0; k < FETCH_SESSIONS; k++)
        left += takes(&sessions[k], p, c, &i, &pi);
    for (int k = 0; k < FETCH_SESSIONS; k++) {
        struct session *s = &sessions[k];
        if (!takes(s, p, c, &i, &pi))
            continue;
        /* A peer may answer a want-have with the block itself (helia and
         * boxo do for small blocks): it has the root. */
        s->has_root[pi] = 1;
        int r =
            hit ? 0 : store_put(i >= 0 ? &s->wants[i].cid : &s->root, data, n);
        if (r < 0) { /* our store, not the peer: the get ends, saying why */
            fail(s, r, files_why(r));
            return 1;
        }
        /* the buffer itself to the last session that takes it: the
         * others copy it while it is still whole */
        hand_over(s, c, data, n, --left == 0 ? own : NULL);
        if (i >= 0 && s->wants[i].peer >= 0 && s->wants[i].peer != pi)
            xpeer_cancel(s->peers[s->wants[i].peer], c);
        if (i >= 0)
            want_done(s, i);
        s->fetched++;
        s->last_block_ms = fastn_monotonic_ms();
        hit = 1;
        /* keep the window full while the CLI drains what is here */
        if (s->inflight[pi] <= FETCH_WINDOW_PEER / 2)
            want_ahead(s);
    }
    return hit;
}

void fetch_on_presence(struct xpeer *p, const struct files_cid *c,
                       enum files_presence type)
{
    for (int k = 0; k < FETCH_SESSIONS; k++) {
        struct session *s = &sessions[k];
        int pi = s->used ? peer_index(s, p) : -1, i;
        if (pi < 0)
            continue;
        if (files_cid_eq(c, &s->root)) {
            if (type == FILES_PRESENCE_HAVE)
                s->has_root[pi] = 1;
            else
                s->gone[pi] = 1;
        } else if (type == FILES_PRESENCE_DONT_HAVE &&
                   (i = wanted(s, c)) >= 0 && s->wants[i].peer == pi) {
            s->wants[i].tried |= 1u << pi;
            s->wants[i].peer = -1;
            if (s->inflight[pi])
                s->inflight[pi]--;
        }
        assign(s);
    }
}

void fetch_on_store_error(int err)
{
    for (int k = 0; k < FETCH_SESSIONS; k++)
        if (sessions[k].used)
            fail(&sessions[k], err, files_why(err));
}

void fetch_on_peer_gone(struct xpeer *p)
{
    for (int k = 0; k < FETCH_SESSIONS; k++) {
        struct session *s = &sessions[k];
        int pi = s->used ? peer_index(s, p) : -1;
        if (pi < 0 || s->gone[pi])
            continue;
        s->gone[pi] = 1;
        s->inflight[pi] = 0;
        for (size_t i = 0; i < s->nwants; i++)
            if (s->wants[i].peer == pi)
                s->wants[i].peer = -1;
        assign(s);
        if (!s->err && s->need && peers_active(s) == 0 &&
            pick(s, &(struct want){.peer = -1}) == -2)
            fail(s, FASTN_ERR_NOT_FOUND,
                 "no peer left to fetch from (they failed, left, or sent "
                 "wrong blocks): run get again to resume");
    }
}

/* --- walking and answering ---------------------------------------------- */

/* Moves file bytes into the answer; what does not fit waits in carry
 * (the walker's bytes, not a copy: the walker is not called until they
 * are sent). Large ones whole are taken by reference, and end the
 * answer. */
static int emit_data(struct session *s, const uint8_t *p, size_t n)
{
    if (n >= REF_MIN && n <= UINT32_MAX &&
        out_len + REC_HEAD + n + 64 <= ANSWER_V_MAX) {
        out[out_len] = 'W';
        put_le(out + out_len + 1, n, 4);
        out_len += REC_HEAD;
        ref_p = p;
        ref_len = n;
        ref_at = out_len;
        s->bytes += n;
        s->carry = NULL;
        s->carry_len = 0;
        return 1;
    }
    size_t k =
        OUT_ROOM - out_len > REC_HEAD ? OUT_ROOM - out_len - REC_HEAD : 0;
    if (k > n)
        k = n;
    if (k)
        rec('W', p, k, NULL, 0);
    s->bytes += k;
    s->carry = k == n ? NULL : p + k;
    s->carry_len = n - k;
    return k < n; /* 1: the answer is full */
}

/* One walker event into the answer: 1 the answer is full or the walk
 * done, 0 go on, < 0 an error. */
static int emit(struct session *s, const struct files_walk_event *ev)
{
    uint8_t size[8];
    if (!room(ev->name_len + 8 +
              (ev->type == FILES_WALK_SYMLINK ? ev->len + 1 : 0)))
        return FASTN_ERR_AGAIN;
    switch (ev->type) {
    case FILES_WALK_DIR:
        rec('D', ev->name, ev->name_len, NULL, 0);
        return 0;
    case FILES_WALK_DIR_END:
        rec('E', NULL, 0, NULL, 0);
        return 0;
    case FILES_WALK_FILE:
        put_le(size, ev->size, 8);
        rec('F', size, 8, ev->name, ev->name_len);
        return 0;
    case FILES_WALK_DATA:
        return emit_data(s, ev->data, ev->len);
    case FILES_WALK_FILE_END:
        rec('C', NULL, 0, NULL, 0);
        return 0;
    case FILES_WALK_SYMLINK: {
        uint8_t buf[FILES_NAME_MAX + 1];
        memcpy(buf, ev->name, ev->name_len);
        buf[ev->name_len] = 0;
        rec('L', buf, ev->name_len + 1, ev->data, ev->len);
        return 0;
    }
    default:
        return FASTN_ERR_FILES_BAD_DAG;
    }
}

static int step_need(struct session *s, const struct files_cid *c)
{
    const uint8_t *p;
    size_t n;
    int r = ahead_take(s, c);
    if (r) {
        s->need = 0;
        return r < 0 ? r : 0;
    }
    /* a blob: read into a buffer the walker keeps (no copy of a copy) */
    int64_t size = store_blob_size(c);
    uint8_t *buf = NULL;
    if (size >= 0 && size <= FILES_MAX_BLOCK &&
        (buf = malloc(size ? (size_t)size : 1)) != NULL) {
        if ((r = store_blob_read(c, buf, (size_t)size)) == 0) {
            s->need = 0;
            s->local++;
            return files_walker_feed_owned(s->w, buf, (size_t)size);
        }
        free(buf);
    }
    r = store_get(c, &p, &n);
    if (r == FASTN_ERR_NOT_FOUND) {
        s->need = 1;
        s->need_cid = *c;
        want_ahead(s);
        return 1;
    }
    if (r)
        return r;
    s->need = 0;
    s->local++;
    return files_walker_feed(s->w, p, n);
}

/* Walks as far as the blocks here go and the answer has room: 1 stop and
 * answer, 2 the walk is done, 0 waiting for a block, < 0 error. */
static int walk(struct session *s)
{
    struct files_walk_event ev;
    int r;

    if (s->carry && (r = emit_data(s, s->carry, s->carry_len)))
        return r;
    for (;;) {
        if (OUT_ROOM - out_len < 66000)
            return 1; /* room for any record but file bytes, which carry */
        if (s->need && (r = step_need(s, &s->need_cid)))
            return r < 0 ? r : out_len > 0;
        if ((r = files_walker_next(s->w, &ev)))
            return r;
        if (ev.type == FILES_WALK_DONE)
            return 2;
        if (ev.type == FILES_WALK_NEED) {
            s->need = 1;
            s->need_cid = ev.cid;
            continue;
        }
        r = emit(s, &ev);
        if (r == FASTN_ERR_AGAIN)
            return FASTN_ERR_TOO_LARGE; /* a symlink target over 64 KiB */
        if (r)
            return r;
    }
}

/* Sends the answer built (out, and the bytes by reference if any). */
static void send_answer(int32_t call)
{
    if (!ref_p) {
        fastn_call_reply(call, 0, out, out_len);
        return;
    }
    struct fastn_iov v[3] = {
        {out, ref_at}, {ref_p, ref_len}, {out + ref_at, out_len - ref_at}};
    fastn_call_reply_v(call, 0, v, 3);
    ref_p = NULL;
}

static void arm_timer(void)
{
    if (!timer_armed)
        timer_armed = fastn_timer_set(1, 250) == 0;
}

static void reply_error(struct session *s, int err, const char *why)
{
    fastn_reply_str(s->call, err, why);
    s->call = 0;
    session_end(s);
}

/* Answers the waiting get_next if there is something to say (or force:
 * progress only, so the CLI shows it and the call never times out). */
static void answer(struct session *s, int force)
{
    char cid[FILES_CID_STR_MAX + 1];
    int r;

    if (s->err)
        return reply_error(s, s->err, s->why);
    out_len = 0;
    ref_p = NULL;
    r = walk(s);
    if (r < 0 && out_len == 0) {
        char why[200];
        snprintf(why, sizeof(why), "the DAG is not valid UnixFS: %s",
                 fastn_err_name_(r));
        return reply_error(s, r, s->err ? s->why : why);
    }
    if (r == 2) {
        files_cid_format(&s->root, cid, sizeof(cid));
        store_root_add(cid, "", s->bytes, 0);
        rec_progress(s, 'Z');
        send_answer(s->call);
        s->call = 0;
        session_end(s);
        return;
    }
    if (s->err && out_len == 0)
        return reply_error(s, s->err, s->why);
    if (r == 0 && out_len == 0 && !force)
        return; /* waits for blocks */
    rec_progress(s, 'P');
    send_answer(s->call);
    s->call = 0;
    s->last_reply_ms = fastn_monotonic_ms();
}

void fetch_tick(void)
{
    int64_t now = fastn_monotonic_ms();
    int any = 0;

    timer_armed = 0;
    for (int k = 0; k < FETCH_SESSIONS; k++) {
        struct session *s = &sessions[k];
        if (!s->used)
            continue;
        any = 1;
        if (s->need && now - s->last_block_ms > STALL_MS)
            fail(s, FASTN_ERR_TIMEOUT,
                 "no block arrived for 60 s: the peers have it not or are "
                 "gone; run get again to resume");
        if (s->call)
            answer(s, now - s->last_reply_ms >= 1000);
    }
    if (any)
        arm_timer();
}

static struct session *session_of(const uint8_t *arg, size_t len)
{
    char txt[8];
    long id = 0;
    if (len && len < sizeof(txt)) { /* arg has no NUL of its own */
        memcpy(txt, arg, len);
        txt[len] = '\0';
        id = strtol(txt, NULL, 10);
    }
    if (id < 1 || id > FETCH_SESSIONS || !sessions[id - 1].used)
        return NULL;
    return &sessions[id - 1];
}

static int get_open(int32_t call, const uint8_t *arg, size_t len)
{
    struct fastn_arg a[FETCH_PEERS + 1];
    struct files_walk_limits lim = files_walk_defaults;
    struct session *s = NULL;
    char me[FASTN_PEER_ID_BUF], id[16];
    int32_t n = fastn_args_split(arg, len, a, FETCH_PEERS + 1);
    int err;

    if (n < 1)
        return fastn_reply_str(call, FASTN_ERR_INVAL,
                               "get_open CID [PEER]... (at most 8 peers)");
    lim.max_held = WALK_HELD_MAX;
    for (int k = 0; !s && k < FETCH_SESSIONS; k++)
        s = sessions[k].used ? NULL : &sessions[k];
    if (!s)
        return fastn_reply_str(call, FASTN_ERR_AGAIN,
                               "too many gets at once: wait for one to end");
    if ((err = files_cid_parse(a[0].p, a[0].len, &s->root)))
        return fastn_reply_str(call, err, "not a CID (Qm... or bafy...)");
    if ((err = files_walker_new(&s->root, &lim, FILES_WALK_TRUSTED, &s->w)))
        return fastn_reply_str(call, err, fastn_err_name_(err));
    s->used = 1;
    s->last_block_ms = s->last_reply_ms = fastn_monotonic_ms();
    fastn_local_peer_id_str(me, sizeof(me));
    for (int i = 1; i < n; i++) {
        struct xpeer *p =
            fastn_is(a[i].p, a[i].len, me) ? NULL : xpeer_get(a[i].p, a[i].len);
        if (!p || peer_index(s, p) >= 0)
            continue;
        s->peers[s->npeers++] = p;
        xpeer_want(p, &s->root, 1, FILES_WANT_HAVE);
    }
    arm_timer();
    snprintf(id, sizeof(id), "%d", (int)(s - sessions) + 1);
    return fastn_reply_str(call, 0, id);
}

int get_call(int32_t call, const char *method, size_t mlen, const uint8_t *arg,
             size_t len)
{
    struct session *s;

    if (fastn_is(method, mlen, "get_open"))
        return get_open(call, arg, len);
    if (!(s = session_of(arg, len)))
        return fastn_reply_str(call, FASTN_ERR_NOT_FOUND,
                               "no such get (it ended)");
    if (fastn_is(method, mlen, "get_close")) {
        if (s->call)
            fastn_reply_str(s->call, FASTN_ERR_CANCELED, "closed");
        session_end(s);
        return fastn_call_reply(call, 0, NULL, 0);
    }
    if (!fastn_is(method, mlen, "get_next"))
        return fastn_reply_str(call, FASTN_ERR_INVAL, "unknown get method");
    if (s->call)
        fastn_reply_str(s->call, FASTN_ERR_CANCELED, "a newer get_next");
    s->call = call;
    answer(s, 0);
    return 0;
}
