/*
 * Bitswap messages (ipfs/specs bitswap-protocol.md, 1.0.0 to 1.2.0):
 *
 *   Message { Wantlist wantlist = 1; repeated bytes blocks = 2;
 *             repeated Block payload = 3;
 *             repeated BlockPresence blockPresences = 4;
 *             int32 pendingBytes = 5; }
 *   Wantlist { repeated Entry entries = 1; bool full = 2; }
 *   Entry { bytes block = 1; int32 priority = 2; bool cancel = 3;
 *           WantType wantType = 4; bool sendDontHave = 5; }
 *   Block { bytes prefix = 1; bytes data = 2; }
 *   BlockPresence { bytes cid = 1; BlockPresenceType type = 2; }
 *
 * each sent with an unsigned-varint length prefix, at most 4 MiB. The
 * decoder reads a message twice: once to check its shape and count what
 * it holds (so the arrays are sized exactly and bounded before anything
 * is allocated), once to fill them. Blocks are named by hashing their
 * data, so a peer cannot make a block pass for another.
 */
#include <stdlib.h>
#include <string.h>

#include "files_int.h"

#define BAD FASTN_ERR_FILES_BITSWAP

struct counts {
    size_t wants, blocks, presences;
};

/* Calls fn on each sub-message of field `field` of a message. */
static int each_field(const uint8_t *p, size_t n, uint32_t want_field,
                      int (*fn)(void *ctx, const uint8_t *p, size_t n),
                      void *ctx)
{
    struct files_rd r;
    uint32_t field;
    unsigned wire;
    const uint8_t *span;
    size_t len;
    int err;

    files_rd_init(&r, p, n);
    while (files_rd_left(&r)) {
        if (files_rd_key(&r, &field, &wire))
            return BAD;
        if (field != want_field || wire != PB_LEN) {
            if (field == want_field || files_rd_skip(&r, wire))
                return BAD;
            continue;
        }
        if (files_rd_lenspan(&r, &span, &len))
            return BAD;
        if ((err = fn(ctx, span, len)))
            return err;
    }
    return 0;
}

/* --- pass 1: shape and counts -------------------------------------- */

static int count_one(void *ctx, const uint8_t *p, size_t n)
{
    size_t *c = ctx;

    (void)p;
    (void)n;
    if (++*c > FILES_BITSWAP_MAX_ENTRIES)
        return FASTN_ERR_FILES_LIMIT;
    return 0;
}

static int count_wantlist(void *ctx, const uint8_t *p, size_t n)
{
    struct counts *c = ctx;

    return each_field(p, n, 1, count_one, &c->wants);
}

static int count_all(const uint8_t *p, size_t n, struct counts *c)
{
    struct files_rd r;
    uint32_t field;
    unsigned wire;
    const uint8_t *span;
    size_t len;
    int err;

    files_rd_init(&r, p, n);
    while (files_rd_left(&r)) {
        if (files_rd_key(&r, &field, &wire))
            return BAD;
        if (field < 1 || field > 4) {
            if (files_rd_skip(&r, wire) || (field == 5 && wire != PB_VARINT))
                return BAD;
            continue;
        }
        if (wire != PB_LEN || files_rd_lenspan(&r, &span, &len))
            return BAD;
        if (field == 1)
            err = count_wantlist(c, span, len);
        else
            err = count_one(field == 4 ? &c->presences : &c->blocks, span, len);
        if (err)
            return err;
    }
    return 0;
}

/* --- pass 2: the values -------------------------------------------- */

static int entry_parse(void *ctx, const uint8_t *p, size_t n)
{
    struct files_bitswap_msg *m = ctx;
    struct files_bitswap_want *w = &m->wants[m->nwants];
    struct files_rd r;
    uint32_t field;
    unsigned wire;
    uint64_t v;
    const uint8_t *span;
    size_t len;
    bool has_cid = false;

    memset(w, 0, sizeof(*w));
    files_rd_init(&r, p, n);
    while (files_rd_left(&r)) {
        if (files_rd_key(&r, &field, &wire))
            return BAD;
        if (field == 1 && wire == PB_LEN) {
            if (files_rd_lenspan(&r, &span, &len) ||
                files_cid_decode(span, len, &w->cid))
                return BAD;
            has_cid = true;
        } else if (field >= 2 && field <= 5 && wire == PB_VARINT) {
            if (files_rd_pbvarint(&r, &v))
                return BAD;
            if (field == 2)
                w->priority = (int32_t)(uint32_t)v; /* int32: low bits */
            else if (field == 3)
                w->cancel = v != 0;
            else if (field == 4 && v > FILES_WANT_HAVE)
                return BAD;
            else if (field == 4)
                w->type = (enum files_want_type)v;
            else
                w->send_dont_have = v != 0;
        } else if ((field >= 1 && field <= 5) || files_rd_skip(&r, wire)) {
            return BAD;
        }
    }
    if (!has_cid)
        return BAD;
    m->nwants++;
    return 0;
}

static int wantlist_parse(struct files_bitswap_msg *m, const uint8_t *p,
                          size_t n)
{
    struct files_rd r;
    uint32_t field;
    unsigned wire;
    uint64_t v;
    int err = each_field(p, n, 1, entry_parse, m);

    if (err)
        return err;
    m->has_wantlist = true;
    files_rd_init(&r, p, n);
    while (files_rd_left(&r)) {
        if (files_rd_key(&r, &field, &wire))
            return BAD;
        if (field == 2 && wire == PB_VARINT) {
            if (files_rd_pbvarint(&r, &v))
                return BAD;
            m->full = v != 0;
        } else if (field == 2 || files_rd_skip(&r, wire)) {
            return BAD;
        }
    }
    return 0;
}

/* Names a block by hashing it as its prefix says (1.0.0: CIDv0), or,
 * with FILES_BITSWAP_NO_HASH, leaves its digest to the caller. */
static int block_add(struct files_bitswap_msg *m, unsigned flags,
                     const uint8_t *prefix, size_t plen, const uint8_t *data,
                     size_t len)
{
    static const uint8_t v0[] = {0x00, FILES_CODEC_DAG_PB, FILES_MH_SHA2_256,
                                 FILES_SHA256_LEN};
    struct files_bitswap_block *b = &m->blocks[m->nblocks];
    int err;

    if (len > FILES_MAX_BLOCK)
        return FASTN_ERR_FILES_LIMIT;
    if (!prefix) {
        prefix = v0;
        plen = sizeof(v0);
    }
    err = files_cid_prefix_read(prefix, plen, data, len, &b->cid);
    if (err < 0)
        return err == FASTN_ERR_FILES_CODEC ? err : BAD;
    b->digest_pending = err == 1 && (flags & FILES_BITSWAP_NO_HASH);
    if (err == 1 && !b->digest_pending)
        files_sha256(data, len, b->cid.digest);
    b->data = data;
    b->len = len;
    m->nblocks++;
    return 0;
}

static int payload_parse(struct files_bitswap_msg *m, unsigned flags,
                         const uint8_t *p, size_t n)
{
    struct files_rd r;
    uint32_t field;
    unsigned wire;
    const uint8_t *prefix = NULL, *data = (const uint8_t *)"", *span;
    size_t plen = 0, dlen = 0, len;

    files_rd_init(&r, p, n);
    while (files_rd_left(&r)) {
        if (files_rd_key(&r, &field, &wire))
            return BAD;
        if ((field == 1 || field == 2) && wire == PB_LEN) {
            if (files_rd_lenspan(&r, &span, &len))
                return BAD;
            if (field == 1) {
                prefix = span;
                plen = len;
            } else {
                data = span;
                dlen = len;
            }
        } else if (field == 1 || field == 2 || files_rd_skip(&r, wire)) {
            return BAD;
        }
    }
    return prefix ? block_add(m, flags, prefix, plen, data, dlen) : BAD;
}

static int presence_parse(struct files_bitswap_msg *m, const uint8_t *p,
                          size_t n)
{
    struct files_bitswap_presence *bp = &m->presences[m->npresences];
    struct files_rd r;
    uint32_t field;
    unsigned wire;
    uint64_t v;
    const uint8_t *span;
    size_t len;
    bool has_cid = false;

    memset(bp, 0, sizeof(*bp));
    files_rd_init(&r, p, n);
    while (files_rd_left(&r)) {
        if (files_rd_key(&r, &field, &wire))
            return BAD;
        if (field == 1 && wire == PB_LEN) {
            if (files_rd_lenspan(&r, &span, &len) ||
                files_cid_decode(span, len, &bp->cid))
                return BAD;
            has_cid = true;
        } else if (field == 2 && wire == PB_VARINT) {
            if (files_rd_pbvarint(&r, &v) || v > FILES_PRESENCE_DONT_HAVE)
                return BAD;
            bp->type = (enum files_presence)v;
        } else if (field == 1 || field == 2 || files_rd_skip(&r, wire)) {
            return BAD;
        }
    }
    if (!has_cid)
        return BAD;
    m->npresences++;
    return 0;
}

static int fill_all(const uint8_t *p, size_t n, unsigned flags,
                    struct files_bitswap_msg *m)
{
    struct files_rd r;
    uint32_t field;
    unsigned wire;
    uint64_t v;
    const uint8_t *span;
    size_t len;
    int err = 0;

    files_rd_init(&r, p, n);
    while (files_rd_left(&r) && !err) {
        if (files_rd_key(&r, &field, &wire))
            return BAD;
        if (field == 5 && wire == PB_VARINT) {
            if (files_rd_pbvarint(&r, &v))
                return BAD;
            m->pending_bytes = (int32_t)(uint32_t)v;
            continue;
        }
        if (field < 1 || field > 4) {
            if (files_rd_skip(&r, wire))
                return BAD;
            continue;
        }
        if (files_rd_lenspan(&r, &span, &len))
            return BAD;
        if (field == 1)
            err = wantlist_parse(m, span, len);
        else if (field == 2)
            err = block_add(m, flags, NULL, 0, span, len);
        else if (field == 3)
            err = payload_parse(m, flags, span, len);
        else
            err = presence_parse(m, span, len);
    }
    return err;
}

int files_bitswap_decode(const uint8_t *p, size_t n,
                         struct files_bitswap_msg *out)
{
    return files_bitswap_decode_flags(p, n, 0, out);
}

int files_bitswap_decode_flags(const uint8_t *p, size_t n, unsigned flags,
                               struct files_bitswap_msg *out)
{
    struct files_bitswap_msg m;
    struct counts c = {0, 0, 0};
    int err;

    if (n > FILES_BITSWAP_MAX_MSG)
        return FASTN_ERR_FILES_LIMIT;
    if ((err = count_all(p, n, &c)))
        return err;
    memset(&m, 0, sizeof(m));
    m.wants = c.wants ? calloc(c.wants, sizeof(*m.wants)) : NULL;
    m.blocks = c.blocks ? calloc(c.blocks, sizeof(*m.blocks)) : NULL;
    m.presences =
        c.presences ? calloc(c.presences, sizeof(*m.presences)) : NULL;
    if ((c.wants && !m.wants) || (c.blocks && !m.blocks) ||
        (c.presences && !m.presences))
        err = FASTN_ERR_NOMEM;
    if (!err)
        err = fill_all(p, n, flags, &m);
    if (err) {
        files_bitswap_msg_cleanup(&m);
        return err;
    }
    *out = m;
    return 0;
}

void files_bitswap_msg_cleanup(struct files_bitswap_msg *m)
{
    free(m->wants);
    free(m->blocks);
    free(m->presences);
    memset(m, 0, sizeof(*m));
}

/* The frame at p: its length prefix's size and the message's length. */
static int frame_head(const uint8_t *p, size_t n, size_t *head, size_t *len)
{
    struct files_rd r;
    uint64_t v;
    int err;

    files_rd_init(&r, p, n);
    err = files_rd_mfvarint(&r, &v);
    if (err == FASTN_ERR_TRUNCATED)
        return FASTN_ERR_AGAIN;
    if (err)
        return BAD;
    if (v > FILES_BITSWAP_MAX_MSG)
        return FASTN_ERR_FILES_LIMIT;
    *head = r.off;
    *len = (size_t)v;
    return 0;
}

int files_bitswap_frame(const uint8_t *p, size_t n, const uint8_t **msg,
                        size_t *msg_len, size_t *used)
{
    size_t head, len;
    int err = frame_head(p, n, &head, &len);

    if (err)
        return err;
    if (n - head < len)
        return FASTN_ERR_AGAIN;
    *msg = p + head;
    *msg_len = len;
    *used = head + len;
    return 0;
}

int files_bitswap_frame_need(const uint8_t *p, size_t n, size_t *need)
{
    size_t head, len;
    int err = frame_head(p, n, &head, &len);

    if (!err)
        *need = head + len;
    return err;
}

/* --- the builder --------------------------------------------------- */

void files_bitswap_builder_init(struct files_bitswap_builder *b)
{
    memset(b, 0, sizeof(*b));
}

void files_bitswap_builder_cleanup(struct files_bitswap_builder *b)
{
    free(b->want);
    free(b->payload);
    free(b->presence);
    free(b->refs);
    free(b->out);
    memset(b, 0, sizeof(*b));
}

static size_t field_len(size_t body)
{
    return 1 + files_uvarint_len(body) + body;
}

static size_t message_len(const struct files_bitswap_builder *b,
                          size_t more_want, size_t more_payload,
                          size_t more_presence)
{
    size_t wl = b->want_len + more_want + (b->full ? 2 : 0);
    size_t n = b->payload_len + b->ref_bytes + more_payload + b->presence_len +
               more_presence;

    if (wl)
        n += field_len(wl);
    if (b->pending_bytes)
        n += 1 + files_uvarint_len((uint64_t)(int64_t)b->pending_bytes);
    return n;
}

size_t files_bitswap_builder_size(const struct files_bitswap_builder *b)
{
    size_t n = message_len(b, 0, 0, 0);

    return files_uvarint_len(n) + n;
}

/* Appends a field from w to one of the builder's sections, then dlen
 * bytes of data (or, data NULL, counts dlen bytes the caller writes
 * there when the message is encoded), if the framed message stays
 * within the limit. */
static int section_add(struct files_bitswap_builder *b, uint8_t **sec,
                       size_t *len, size_t *cap, size_t *count,
                       const struct files_wr *w, int which, const uint8_t *data,
                       size_t dlen)
{
    size_t more[3] = {0, 0, 0}, total;
    size_t n = w->len + (data ? dlen : 0);

    if (w->err)
        return w->err == FASTN_ERR_TOO_LARGE ? FASTN_ERR_FILES_LIMIT : w->err;
    more[which] = w->len + dlen;
    total = message_len(b, more[0], more[1], more[2]);
    if (*count >= FILES_BITSWAP_MAX_ENTRIES ||
        files_uvarint_len(total) + total > FILES_BITSWAP_MAX_MSG)
        return FASTN_ERR_FILES_LIMIT;
    if (*cap - *len < n) {
        size_t ncap = *cap ? *cap : 1024;
        while (ncap - *len < n)
            ncap *= 2;
        uint8_t *p = realloc(*sec, ncap);
        if (!p)
            return FASTN_ERR_NOMEM;
        *sec = p;
        *cap = ncap;
    }
    memcpy(*sec + *len, w->p, w->len);
    if (data && dlen)
        memcpy(*sec + *len + w->len, data, dlen);
    *len += n;
    (*count)++;
    return 0;
}

int files_bitswap_add_want(struct files_bitswap_builder *b,
                           const struct files_bitswap_want *want)
{
    uint8_t cid[FILES_CID_BYTES_MAX], e[FILES_CID_BYTES_MAX + 32];
    uint8_t f[FILES_CID_BYTES_MAX + 40];
    struct files_wr we, wf;
    int clen = files_cid_encode(&want->cid, cid, sizeof(cid));

    if (clen < 0)
        return clen;
    files_wr_fixed(&we, e, sizeof(e));
    files_wr_lenfield(&we, 1, cid, (size_t)clen);
    if (want->priority)
        files_wr_varfield(&we, 2, (uint64_t)(int64_t)want->priority);
    if (want->cancel)
        files_wr_varfield(&we, 3, 1);
    if (want->type != FILES_WANT_BLOCK)
        files_wr_varfield(&we, 4, (uint64_t)want->type);
    if (want->send_dont_have)
        files_wr_varfield(&we, 5, 1);
    files_wr_fixed(&wf, f, sizeof(f));
    files_wr_lenfield(&wf, 1, e, we.len); /* Wantlist.entries */
    if (we.err)
        wf.err = we.err;
    return section_add(b, &b->want, &b->want_len, &b->want_cap, &b->nwants, &wf,
                       0, NULL, 0);
}

/* Adds a Message.payload field: its head (up to the data's bytes), then
 * the data if given, else a reference to len bytes the caller writes. */
static int block_field(struct files_bitswap_builder *b,
                       const struct files_cid *cid, const uint8_t *data,
                       size_t len)
{
    uint8_t prefix[48], head[128];
    struct files_wr w;
    int plen, err;

    if (len > FILES_MAX_BLOCK)
        return FASTN_ERR_FILES_LIMIT;
    plen = files_cid_prefix_encode(cid, prefix, sizeof(prefix));
    if (plen < 0)
        return plen;
    size_t body = field_len((size_t)plen) + field_len(len);
    files_wr_fixed(&w, head, sizeof(head));
    files_wr_key(&w, 3, PB_LEN); /* Message.payload */
    files_wr_varint(&w, body);
    files_wr_lenfield(&w, 1, prefix, (size_t)plen);
    files_wr_key(&w, 2, PB_LEN); /* Block.data */
    files_wr_varint(&w, len);
    if (!data && b->nrefs == b->refs_cap && !w.err) {
        size_t cap = b->refs_cap ? b->refs_cap * 2 : 16;
        struct files_bitswap_ref *g = realloc(b->refs, cap * sizeof(*g));
        if (!g)
            return FASTN_ERR_NOMEM;
        b->refs = g;
        b->refs_cap = cap;
    }
    err = section_add(b, &b->payload, &b->payload_len, &b->payload_cap,
                      &b->nblocks, &w, 1, data, len);
    if (err || data)
        return err;
    b->refs[b->nrefs++] = (struct files_bitswap_ref){
        .cid = *cid, .at = b->payload_len, .len = len};
    b->ref_bytes += len;
    return 0;
}

int files_bitswap_add_block(struct files_bitswap_builder *b,
                            const struct files_cid *cid, const uint8_t *data,
                            size_t len)
{
    return block_field(b, cid, data ? data : (const uint8_t *)"", len);
}

int files_bitswap_add_block_ref(struct files_bitswap_builder *b,
                                const struct files_cid *cid, size_t len)
{
    return block_field(b, cid, NULL, len);
}

int files_bitswap_add_presence(struct files_bitswap_builder *b,
                               const struct files_cid *cid,
                               enum files_presence type)
{
    uint8_t c[FILES_CID_BYTES_MAX], e[FILES_CID_BYTES_MAX + 16];
    uint8_t f[FILES_CID_BYTES_MAX + 24];
    struct files_wr we, wf;
    int clen = files_cid_encode(cid, c, sizeof(c));

    if (clen < 0)
        return clen;
    files_wr_fixed(&we, e, sizeof(e));
    files_wr_lenfield(&we, 1, c, (size_t)clen);
    if (type != FILES_PRESENCE_HAVE)
        files_wr_varfield(&we, 2, (uint64_t)type);
    files_wr_fixed(&wf, f, sizeof(f));
    files_wr_lenfield(&wf, 4, e, we.len); /* Message.blockPresences */
    if (we.err)
        wf.err = we.err;
    return section_add(b, &b->presence, &b->presence_len, &b->presence_cap,
                       &b->npresences, &wf, 2, NULL, 0);
}

int files_bitswap_finish_into(const struct files_bitswap_builder *b,
                              uint8_t *out, size_t cap,
                              files_bitswap_fill_fn fill, void *ctx,
                              size_t *len)
{
    size_t mlen = message_len(b, 0, 0, 0);
    size_t wl = b->want_len + (b->full ? 2 : 0);
    size_t at = 0;
    struct files_wr w;
    int err;

    if (b->nrefs && !fill)
        return FASTN_ERR_INVAL;
    files_wr_fixed(&w, out, cap);
    files_wr_varint(&w, mlen);
    if (wl) {
        files_wr_key(&w, 1, PB_LEN);
        files_wr_varint(&w, wl);
        files_wr_bytes(&w, b->want, b->want_len);
        if (b->full)
            files_wr_varfield(&w, 2, 1);
    }
    for (size_t i = 0; i < b->nrefs && !w.err; i++) {
        const struct files_bitswap_ref *r = &b->refs[i];
        if (r->at > at)
            files_wr_bytes(&w, b->payload + at, r->at - at);
        at = r->at;
        if (w.err || cap - w.len < r->len)
            return FASTN_ERR_TOO_LARGE;
        if ((err = fill(ctx, &r->cid, out + w.len, r->len)))
            return err;
        w.len += r->len;
    }
    if (b->payload_len > at)
        files_wr_bytes(&w, b->payload + at, b->payload_len - at);
    files_wr_bytes(&w, b->presence, b->presence_len);
    if (b->pending_bytes)
        files_wr_varfield(&w, 5, (uint64_t)(int64_t)b->pending_bytes);
    if (w.err)
        return w.err;
    *len = w.len;
    return 0;
}

int files_bitswap_finish(struct files_bitswap_builder *b, const uint8_t **out,
                         size_t *len)
{
    size_t n = files_bitswap_builder_size(b);
    uint8_t *p = malloc(n ? n : 1);
    int err;

    if (!p)
        return FASTN_ERR_NOMEM;
    if ((err = files_bitswap_finish_into(b, p, n, NULL, NULL, &n))) {
        free(p);
        return err;
    }
    free(b->out);
    b->out = p;
    b->out_len = n;
    *out = b->out;
    *len = b->out_len;
    return 0;
}
