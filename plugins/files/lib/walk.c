/*
 * The walker: reads a UnixFS DAG back, block by block, checking as it
 * goes (files.h, "walking"). It never recurses: a stack of frames, one
 * per node whose links are being followed (a file's inner nodes, a
 * folder, a HAMT shard), each owning its block. It asks for one block at
 * a time (NEED), and queues what a block yields (at most three events:
 * an entry, its inline data, its end) for _next to hand out.
 *
 * What it refuses, and where:
 *   _feed    a block over FILES_MAX_BLOCK, a block whose hash is not its
 *            CID, more bytes held than max_held;
 *   a node   bad dag-pb or UnixFS, a file whose data and blocksizes do not
 *            add up to its filesize or to what its parent said it holds,
 *            blocksizes not one per link, a file over max_file_size, a
 *            HAMT node with another fanout or hash, a bitfield that does
 *            not match its links, a node that is one of its ancestors;
 *   a link   a name that is not a safe file name, a name twice in one
 *            folder, a HAMT entry in a bucket its name does not hash to,
 *            more than max_entries entries, deeper than max_depth, a CID
 *            that is neither raw nor dag-pb.
 */
#include <stdlib.h>
#include <string.h>

#include "files_int.h"

#define HAMT_DEPTH_MAX 16
#define QUEUE_MAX 3

const struct files_walk_limits files_walk_defaults = {
    .max_file_size = 1ull << 40,
    .max_entries = 1000000,
    .max_depth = 64,
    .max_held = 64u << 20,
};

enum role {
    ROLE_ENTRY,     /* a folder entry (or the root): any kind */
    ROLE_FILE_PART, /* a child of a file node: expect bytes */
    ROLE_SHARD,     /* a HAMT sub-shard of the folder being read */
};

enum frame_kind {
    FR_FILE,
    FR_DIR,
    FR_SHARD,
};

struct frame {
    enum frame_kind kind;
    uint8_t *block; /* owned (or inside base) */
    void *base;     /* the buffer block is in, released by w->release */
    size_t len;
    struct files_cid cid;
    struct files_pbnode node;
    struct files_pblink_iter it;
    struct files_unixfs fs;
    size_t bs_off;        /* FR_FILE: the next blocksize */
    bool entry_root;      /* its end ends an entry (FILE_END, DIR_END) */
    unsigned depth;       /* the entry's depth */
    unsigned shard_depth; /* FR_SHARD */
    uint8_t path[HAMT_DEPTH_MAX]; /* FR_SHARD: buckets from the top */
    int last_index;               /* FR_SHARD: the last bucket seen */
    uint8_t bits[32];             /* FR_SHARD: the bitfield, slot s at
                                     bits[s / 8] bit s % 8 */
};

struct want {
    bool active;
    struct files_cid cid;
    enum role role;
    uint64_t expect;
    unsigned depth;
    unsigned shard_depth;
    uint8_t path[HAMT_DEPTH_MAX];
    uint8_t name[FILES_NAME_MAX];
    size_t name_len;
};

struct files_walker {
    struct files_walk_limits lim;
    unsigned flags;
    struct want want;
    struct frame *frames;
    size_t nframes, cap;
    uint8_t *cur;   /* the last block fed when no frame took it */
    void *cur_base; /* as a frame's base */
    size_t cur_len;
    void (*release)(void *base); /* files_walker_feed_ref's */
    size_t held;
    uint64_t entries;
    struct files_walk_event queue[QUEUE_MAX];
    size_t qhead, qlen;
    uint8_t ev_name[FILES_NAME_MAX];
    bool done;
    int err;
};

static bool cid_walkable(const struct files_cid *c)
{
    return c->codec == FILES_CODEC_RAW || c->codec == FILES_CODEC_DAG_PB;
}

int files_walker_new(const struct files_cid *root,
                     const struct files_walk_limits *lim, unsigned flags,
                     struct files_walker **out)
{
    struct files_walker *w;

    if (!cid_walkable(root))
        return FASTN_ERR_FILES_CODEC;
    w = calloc(1, sizeof(*w));
    if (!w)
        return FASTN_ERR_NOMEM;
    w->lim = lim ? *lim : files_walk_defaults;
    w->flags = flags;
    w->want.active = true;
    w->want.cid = *root;
    w->want.role = ROLE_ENTRY;
    *out = w;
    return 0;
}

/* Frees a block held: itself, or its reference to the buffer it is in. */
static void block_release(struct files_walker *w, uint8_t *block, void *base)
{
    if (base)
        w->release(base);
    else
        free(block);
}

static void cur_drop(struct files_walker *w)
{
    block_release(w, w->cur, w->cur_base);
    w->held -= w->cur_len;
    w->cur = NULL;
    w->cur_base = NULL;
    w->cur_len = 0;
}

void files_walker_free(struct files_walker *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nframes; i++)
        block_release(w, w->frames[i].block, w->frames[i].base);
    free(w->frames);
    block_release(w, w->cur, w->cur_base);
    free(w);
}

static struct files_walk_event *queue_add(struct files_walker *w,
                                          enum files_walk_type type)
{
    struct files_walk_event *ev = &w->queue[(w->qhead + w->qlen) % QUEUE_MAX];

    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->name = (const uint8_t *)"";
    w->qlen++;
    return ev;
}

/* The event that starts an entry: its name (copied), CID, depth. */
static struct files_walk_event *entry_event(struct files_walker *w,
                                            enum files_walk_type type)
{
    struct files_walk_event *ev = queue_add(w, type);

    memcpy(w->ev_name, w->want.name, w->want.name_len);
    ev->name = w->ev_name;
    ev->name_len = w->want.name_len;
    ev->cid = w->want.cid;
    ev->depth = w->want.depth;
    return ev;
}

static bool listing_only(const struct files_walker *w, unsigned depth)
{
    return (w->flags & FILES_WALK_LIST) && depth >= 1;
}

/* --- frames --------------------------------------------------------- */

/* Moves the current block into a new frame on top of the stack. */
static int frame_push(struct files_walker *w, enum frame_kind kind,
                      const struct files_pbnode *nd,
                      const struct files_unixfs *fs, struct frame **out)
{
    struct frame *f;

    if (w->nframes >= w->lim.max_depth)
        return FASTN_ERR_FILES_LIMIT;
    /* a node that is its own ancestor: the DAG loops */
    for (size_t i = 0; i < w->nframes; i++)
        if (files_cid_eq(&w->frames[i].cid, &w->want.cid))
            return FASTN_ERR_FILES_LOOP;
    if (w->nframes == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        f = realloc(w->frames, cap * sizeof(*f));
        if (!f)
            return FASTN_ERR_NOMEM;
        w->frames = f;
        w->cap = cap;
    }
    f = &w->frames[w->nframes++];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->block = w->cur;
    f->base = w->cur_base;
    f->len = w->cur_len;
    w->cur = NULL; /* still counted in held, now by the frame */
    w->cur_base = NULL;
    w->cur_len = 0;
    f->cid = w->want.cid;
    f->node = *nd;
    f->fs = *fs;
    f->depth = w->want.depth;
    files_pbnode_links(nd, &f->it);
    *out = f;
    return 0;
}

static void frame_pop(struct files_walker *w)
{
    struct frame *f = &w->frames[--w->nframes];

    w->held -= f->len;
    block_release(w, f->block, f->base);
}

/* --- what a block is ----------------------------------------------- */

/* A file node's total bytes, checked against its filesize and links. */
static int file_total(const struct files_pbnode *nd,
                      const struct files_unixfs *fs, uint64_t *total)
{
    bool over = fs->blocksizes_overflow;
    uint64_t t = files_add_sat(fs->blocksizes_sum, fs->data_len, &over);

    if (fs->nblocksizes != nd->nlinks)
        return FASTN_ERR_FILES_BAD_DAG;
    if (over || (fs->has_filesize && fs->filesize != t))
        return FASTN_ERR_FILES_SIZE_MISMATCH;
    *total = t;
    return 0;
}

/* A file node's inline data, then its children. */
static int file_open(struct files_walker *w, const struct files_pbnode *nd,
                     const struct files_unixfs *fs, bool entry_root)
{
    struct frame *f;
    int err;

    if (fs->data_len) {
        struct files_walk_event *ev = queue_add(w, FILES_WALK_DATA);
        ev->data = fs->data;
        ev->len = fs->data_len;
    }
    if (nd->nlinks == 0) {
        if (entry_root)
            queue_add(w, FILES_WALK_FILE_END)->depth = w->want.depth;
        return 0;
    }
    err = frame_push(w, FR_FILE, nd, fs, &f);
    if (err)
        return err;
    f->entry_root = entry_root;
    return 0;
}

/* Reads a HAMT node's bitfield (big-endian) into f->bits. */
static int shard_open(struct files_walker *w, const struct files_pbnode *nd,
                      const struct files_unixfs *fs, unsigned shard_depth,
                      bool entry_root)
{
    struct frame *f;
    size_t pop = 0;
    int err;

    if (!fs->has_fanout || fs->fanout != 256 || !fs->has_hash_type ||
        fs->hash_type != FILES_MH_MURMUR3_X64_64 || fs->data_len > 32 ||
        shard_depth >= HAMT_DEPTH_MAX)
        return shard_depth >= HAMT_DEPTH_MAX ? FASTN_ERR_FILES_LIMIT
                                             : FASTN_ERR_FILES_BAD_DAG;
    err = frame_push(w, FR_SHARD, nd, fs, &f);
    if (err)
        return err;
    for (size_t j = 0; j < fs->data_len; j++) {
        uint8_t b = fs->data[fs->data_len - 1 - j];
        f->bits[j] = b;
        for (; b; b &= (uint8_t)(b - 1))
            pop++;
    }
    if (pop != nd->nlinks)
        return FASTN_ERR_FILES_BAD_DAG;
    f->entry_root = entry_root;
    f->shard_depth = shard_depth;
    f->last_index = -1;
    memcpy(f->path, w->want.path, sizeof(f->path));
    return 0;
}

/* Are two of a folder's link names the same? (Sorted links cannot be.) */
static int dir_names_check(const struct files_pbnode *nd);

static int dir_open(struct files_walker *w, const struct files_pbnode *nd,
                    const struct files_unixfs *fs)
{
    struct frame *f;
    int err = dir_names_check(nd);

    if (err)
        return err;
    err = frame_push(w, FR_DIR, nd, fs, &f);
    if (err)
        return err;
    f->entry_root = true;
    return 0;
}

/* A dag-pb entry: a file, a folder (flat or HAMT) or a symlink. */
static int entry_node(struct files_walker *w, const struct files_pbnode *nd,
                      const struct files_unixfs *fs)
{
    bool list = listing_only(w, w->want.depth);
    uint64_t total;
    int err;

    switch (fs->type) {
    case FILES_UNIXFS_FILE:
    case FILES_UNIXFS_RAW:
        if ((err = file_total(nd, fs, &total)))
            return err;
        if (total > w->lim.max_file_size)
            return FASTN_ERR_FILES_LIMIT;
        entry_event(w, FILES_WALK_FILE)->size = total;
        if (list || (w->flags & FILES_WALK_LIST))
            return 0;
        return file_open(w, nd, fs, true);
    case FILES_UNIXFS_DIRECTORY:
        entry_event(w, FILES_WALK_DIR);
        return list ? 0 : dir_open(w, nd, fs);
    case FILES_UNIXFS_HAMT_SHARD:
        entry_event(w, FILES_WALK_DIR);
        return list ? 0 : shard_open(w, nd, fs, 0, true);
    case FILES_UNIXFS_SYMLINK: {
        if (nd->nlinks)
            return FASTN_ERR_FILES_BAD_DAG;
        struct files_walk_event *ev = entry_event(w, FILES_WALK_SYMLINK);
        ev->data = fs->data;
        ev->len = fs->data_len;
        return 0;
    }
    default:
        return FASTN_ERR_UNSUPPORTED; /* UnixFS Metadata */
    }
}

/* A raw block as a folder entry: a file of one block. */
static int entry_raw(struct files_walker *w)
{
    if (w->cur_len > w->lim.max_file_size)
        return FASTN_ERR_FILES_LIMIT;
    entry_event(w, FILES_WALK_FILE)->size = w->cur_len;
    if (w->flags & FILES_WALK_LIST)
        return 0;
    struct files_walk_event *ev = queue_add(w, FILES_WALK_DATA);
    ev->data = w->cur;
    ev->len = w->cur_len;
    queue_add(w, FILES_WALK_FILE_END)->depth = w->want.depth;
    return 0;
}

/* A part of a file: raw bytes or a File node, of exactly want.expect. */
static int file_part(struct files_walker *w, const struct files_pbnode *nd,
                     const struct files_unixfs *fs)
{
    uint64_t total;
    int err;

    if (!nd) {
        if (w->cur_len != w->want.expect)
            return FASTN_ERR_FILES_SIZE_MISMATCH;
        struct files_walk_event *ev = queue_add(w, FILES_WALK_DATA);
        ev->data = w->cur;
        ev->len = w->cur_len;
        return 0;
    }
    if (fs->type != FILES_UNIXFS_FILE && fs->type != FILES_UNIXFS_RAW)
        return FASTN_ERR_FILES_BAD_DAG;
    if ((err = file_total(nd, fs, &total)))
        return err;
    if (total != w->want.expect)
        return FASTN_ERR_FILES_SIZE_MISMATCH;
    return file_open(w, nd, fs, false);
}

/* Decodes the block just fed and does what its role says. */
static int block_take(struct files_walker *w)
{
    struct files_pbnode nd;
    struct files_unixfs fs;
    int err;

    if (w->want.cid.codec == FILES_CODEC_RAW) {
        if (w->want.role == ROLE_ENTRY)
            return entry_raw(w);
        if (w->want.role == ROLE_FILE_PART)
            return file_part(w, NULL, NULL);
        return FASTN_ERR_FILES_BAD_DAG;
    }
    err = files_pbnode_decode(w->cur, w->cur_len, &nd);
    if (!err && !nd.has_data)
        err = FASTN_ERR_FILES_BAD_DAG; /* not UnixFS */
    if (!err)
        err = files_unixfs_decode(nd.data, nd.data_len, &fs);
    if (err)
        return err;
    switch (w->want.role) {
    case ROLE_ENTRY:
        return entry_node(w, &nd, &fs);
    case ROLE_FILE_PART:
        return file_part(w, &nd, &fs);
    default:
        if (fs.type != FILES_UNIXFS_HAMT_SHARD)
            return FASTN_ERR_FILES_BAD_DAG;
        return shard_open(w, &nd, &fs, w->want.shard_depth, false);
    }
}

int files_walker_feed_ref(struct files_walker *w, const uint8_t *block,
                          size_t len, void *base, void (*release)(void *base))
{
    int err;

    if (base && !release)
        return FASTN_ERR_INVAL; /* nothing could free it */
    if (base)
        w->release = release;
    if (w->err || !w->want.active) {
        block_release(w, (uint8_t *)block, base);
        return w->err ? w->err : FASTN_ERR_INVAL;
    }
    cur_drop(w);
    if (len > FILES_MAX_BLOCK || w->held + len > w->lim.max_held)
        err = FASTN_ERR_FILES_LIMIT;
    else if (!(w->flags & FILES_WALK_TRUSTED))
        err = files_cid_verify(&w->want.cid, block, len);
    else
        err = 0;
    if (err) {
        block_release(w, (uint8_t *)block, base);
        return w->err = err;
    }
    w->cur = (uint8_t *)block;
    w->cur_base = base;
    w->cur_len = len;
    w->held += len;
    w->want.active = false;
    err = block_take(w);
    return err ? (w->err = err) : 0;
}

int files_walker_feed_owned(struct files_walker *w, uint8_t *block, size_t len)
{
    return files_walker_feed_ref(w, block, len, NULL, NULL);
}

int files_walker_feed(struct files_walker *w, const uint8_t *block, size_t len)
{
    uint8_t *copy;

    if (w->err)
        return w->err;
    if (!w->want.active)
        return FASTN_ERR_INVAL;
    if (len > FILES_MAX_BLOCK)
        return w->err = FASTN_ERR_FILES_LIMIT;
    if (!(copy = malloc(len ? len : 1)))
        return w->err = FASTN_ERR_NOMEM;
    if (len)
        memcpy(copy, block, len);
    return files_walker_feed_owned(w, copy, len);
}

/* --- following links ---------------------------------------------- */

static int want_set(struct files_walker *w, const struct files_cid *cid,
                    enum role role)
{
    if (!cid_walkable(cid))
        return FASTN_ERR_FILES_CODEC;
    w->want.active = true;
    w->want.cid = *cid;
    w->want.role = role;
    return 0;
}

/* A folder entry found in f (flat or HAMT) named name. */
static int entry_link(struct files_walker *w, const struct frame *f,
                      const struct files_pblink *l, const uint8_t *name,
                      size_t n)
{
    int err;

    if (!files_name_is_valid(name, n))
        return FASTN_ERR_FILES_BAD_NAME;
    if (++w->entries > w->lim.max_entries)
        return FASTN_ERR_FILES_LIMIT;
    if ((err = want_set(w, &l->cid, ROLE_ENTRY)))
        return err;
    memcpy(w->want.name, name, n);
    w->want.name_len = n;
    w->want.depth = f->depth + 1;
    /* listing: a raw entry is a file of Tsize bytes, nothing to fetch */
    if (listing_only(w, f->depth + 1) && l->cid.codec == FILES_CODEC_RAW) {
        w->want.active = false;
        entry_event(w, FILES_WALK_FILE)->size = l->tsize;
    }
    return 0;
}

static int hex_digit(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* A HAMT node's link: a sub-shard "XX" or an entry "XX" + name. */
static int shard_link(struct files_walker *w, struct frame *f,
                      const struct files_pblink *l)
{
    int hi, lo, idx;

    if (!l->has_name || l->name_len < 2 || (hi = hex_digit(l->name[0])) < 0 ||
        (lo = hex_digit(l->name[1])) < 0)
        return FASTN_ERR_FILES_BAD_DAG;
    idx = hi << 4 | lo;
    /* one link a bucket, in bucket order, each bucket in the bitfield */
    if (idx <= f->last_index || !(f->bits[idx / 8] & (1u << (idx % 8))))
        return FASTN_ERR_FILES_BAD_DAG;
    f->last_index = idx;
    if (l->name_len == 2) {
        int err = want_set(w, &l->cid, ROLE_SHARD);
        if (err)
            return err;
        memcpy(w->want.path, f->path, sizeof(f->path));
        w->want.path[f->shard_depth] = (uint8_t)idx;
        w->want.shard_depth = f->shard_depth + 1;
        w->want.depth = f->depth;
        return 0;
    }
    const uint8_t *name = l->name + 2;
    size_t n = l->name_len - 2;
    if (!files_name_is_valid(name, n))
        return FASTN_ERR_FILES_BAD_NAME;
    /* the entry must be in the bucket its name hashes to, at every level */
    for (unsigned d = 0; d < f->shard_depth; d++)
        if (files_hamt_index(name, n, d) != f->path[d])
            return FASTN_ERR_FILES_BAD_DAG;
    if (files_hamt_index(name, n, f->shard_depth) != (unsigned)idx)
        return FASTN_ERR_FILES_BAD_DAG;
    return entry_link(w, f, l, name, n);
}

/* Follows the top frame's next link, or closes the frame. */
static int frame_step(struct files_walker *w)
{
    struct frame *f = &w->frames[w->nframes - 1];
    struct files_pblink l;
    uint64_t bs;

    if (!files_pblink_next(&f->it, &l)) {
        enum files_walk_type end =
            f->kind == FR_FILE ? FILES_WALK_FILE_END : FILES_WALK_DIR_END;
        bool ends = f->entry_root;
        unsigned depth = f->depth;
        frame_pop(w);
        if (ends)
            queue_add(w, end)->depth = depth;
        return 0;
    }
    switch (f->kind) {
    case FR_FILE:
        if (!files_unixfs_blocksize_next(&f->fs, &f->bs_off, &bs))
            return FASTN_ERR_FILES_BAD_DAG;
        if (want_set(w, &l.cid, ROLE_FILE_PART))
            return FASTN_ERR_FILES_CODEC;
        w->want.expect = bs;
        w->want.depth = f->depth;
        return 0;
    case FR_DIR:
        if (!l.has_name)
            return FASTN_ERR_FILES_BAD_NAME;
        return entry_link(w, f, &l, l.name, l.name_len);
    default:
        return shard_link(w, f, &l);
    }
}

int files_walker_next(struct files_walker *w, struct files_walk_event *ev)
{
    int err;

    for (;;) {
        if (w->err)
            return w->err;
        if (w->qlen) {
            *ev = w->queue[w->qhead];
            w->qhead = (w->qhead + 1) % QUEUE_MAX;
            w->qlen--;
            return 0;
        }
        if (w->want.active) {
            /* an identity CID carries its block */
            if (w->want.cid.mh_code == FILES_MH_IDENTITY) {
                struct files_cid c = w->want.cid;
                if ((err = files_walker_feed(w, c.digest, c.digest_len)))
                    return err;
                continue;
            }
            memset(ev, 0, sizeof(*ev));
            ev->type = FILES_WALK_NEED;
            ev->cid = w->want.cid;
            ev->name = (const uint8_t *)"";
            return 0;
        }
        if (w->nframes == 0) {
            cur_drop(w);
            memset(ev, 0, sizeof(*ev));
            ev->type = FILES_WALK_DONE;
            ev->name = (const uint8_t *)"";
            w->done = true;
            return 0;
        }
        if ((err = frame_step(w)))
            return w->err = err;
    }
}

size_t files_walker_upcoming(const struct files_walker *w,
                             struct files_cid *out, size_t max)
{
    size_t n = 0;

    if (w->err || max == 0)
        return 0;
    if (w->want.active && w->want.cid.mh_code != FILES_MH_IDENTITY)
        out[n++] = w->want.cid;
    if (w->nframes == 0)
        return n;
    struct files_pblink_iter it = w->frames[w->nframes - 1].it;
    struct files_pblink l;
    while (n < max && files_pblink_next(&it, &l))
        if (cid_walkable(&l.cid) && l.cid.mh_code != FILES_MH_IDENTITY)
            out[n++] = l.cid;
    return n;
}

/* --- folder names ------------------------------------------------- */

struct name_span {
    const uint8_t *p;
    size_t n;
};

static int span_cmp(const void *a, const void *b)
{
    const struct name_span *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    /* a link without a Name has no bytes to compare (p is NULL) */
    int c = n ? memcmp(x->p, y->p, n) : 0;

    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int dir_names_check(const struct files_pbnode *nd)
{
    struct files_pblink_iter it;
    struct files_pblink l;
    struct name_span prev = {NULL, 0}, cur, *all;
    bool sorted = true;
    size_t k = 0;
    int err = 0;

    files_pbnode_links(nd, &it);
    while (files_pblink_next(&it, &l)) {
        cur.p = l.name;
        cur.n = l.name_len;
        if (prev.p && span_cmp(&prev, &cur) >= 0)
            sorted = false;
        prev = cur;
    }
    if (sorted || nd->nlinks < 2)
        return 0;
    /* unsorted (not canonical, but readable): look for a name twice */
    all = malloc(nd->nlinks * sizeof(*all));
    if (!all)
        return FASTN_ERR_NOMEM;
    files_pbnode_links(nd, &it);
    while (files_pblink_next(&it, &l)) {
        all[k].p = l.name;
        all[k++].n = l.name_len;
    }
    qsort(all, k, sizeof(*all), span_cmp);
    for (size_t i = 1; i < k && !err; i++)
        if (span_cmp(&all[i - 1], &all[i]) == 0)
            err = FASTN_ERR_FILES_BAD_NAME;
    free(all);
    return err;
}

/* --- the callback driver ------------------------------------------ */

int files_walk(const struct files_cid *root,
               const struct files_walk_limits *lim, unsigned flags,
               files_get_cb get, files_event_cb on_event, void *ctx)
{
    struct files_walker *w;
    struct files_walk_event ev;
    const uint8_t *block;
    size_t len;
    int err = files_walker_new(root, lim, flags, &w);

    while (!err) {
        err = files_walker_next(w, &ev);
        if (err || ev.type == FILES_WALK_DONE)
            break;
        if (ev.type == FILES_WALK_NEED) {
            err = get(ctx, &ev.cid, &block, &len);
            if (!err)
                err = files_walker_feed(w, block, len);
        } else {
            err = on_event(ctx, &ev);
        }
    }
    files_walker_free(w);
    return err;
}
