/*
 * dag-pb (ipld/specs codecs/dag-pb): PBNode { repeated PBLink Links = 2;
 * optional bytes Data = 1; }, PBLink { Hash = 1; Name = 2; Tsize = 3 }.
 * The decoder enforces the spec's "Protobuf Strictness" section: link
 * fields in field order and at most once each, a Hash that is a CID,
 * Links contiguous before or after a single Data, nothing else. The
 * encoder writes the canonical form IPFS hashes: Links first, then Data.
 */
#include <string.h>

#include "files_int.h"

/* Decodes one PBLink's body. Errors: FASTN_ERR_FILES_BAD_DAG. */
static int link_decode(const uint8_t *p, size_t n, struct files_pblink *out)
{
    struct files_rd r;
    uint32_t field, last = 0;
    unsigned wire;
    const uint8_t *span;
    size_t len;
    bool has_hash = false;

    memset(out, 0, sizeof(*out));
    files_rd_init(&r, p, n);
    while (files_rd_left(&r)) {
        if (files_rd_key(&r, &field, &wire))
            return FASTN_ERR_FILES_BAD_DAG;
        /* spec rule 1 and 3: Hash, Name, Tsize in this order, once each */
        if (field <= last || field > 3)
            return FASTN_ERR_FILES_BAD_DAG;
        last = field;
        if (field == 3) {
            if (wire != PB_VARINT || files_rd_pbvarint(&r, &out->tsize))
                return FASTN_ERR_FILES_BAD_DAG;
            out->has_tsize = true;
            continue;
        }
        if (wire != PB_LEN || files_rd_lenspan(&r, &span, &len))
            return FASTN_ERR_FILES_BAD_DAG;
        if (field == 1) {
            if (files_cid_decode(span, len, &out->cid))
                return FASTN_ERR_FILES_BAD_DAG;
            has_hash = true;
        }
        if (field == 2) {
            out->name = span;
            out->name_len = len;
            out->has_name = true;
        }
    }
    /* the spec: a link without a Hash is a bad block */
    return has_hash ? 0 : FASTN_ERR_FILES_BAD_DAG;
}

int files_pbnode_decode(const uint8_t *block, size_t n,
                        struct files_pbnode *out)
{
    struct files_rd r;
    struct files_pbnode nd;
    struct files_pblink l;
    bool links_done = false;
    uint32_t field;
    unsigned wire;
    const uint8_t *span;
    size_t len;

    memset(&nd, 0, sizeof(nd));
    files_rd_init(&r, block, n);
    while (files_rd_left(&r)) {
        size_t start = r.off;
        if (files_rd_key(&r, &field, &wire) || wire != PB_LEN ||
            files_rd_lenspan(&r, &span, &len))
            return FASTN_ERR_FILES_BAD_DAG;
        if (field == 1) {
            if (nd.has_data)
                return FASTN_ERR_FILES_BAD_DAG; /* duplicate Data */
            nd.has_data = true;
            nd.data = span;
            nd.data_len = len;
            links_done = nd.nlinks > 0;
        } else if (field == 2) {
            /* Links after Data after Links: not contiguous */
            if (links_done || link_decode(span, len, &l))
                return FASTN_ERR_FILES_BAD_DAG;
            if (nd.nlinks++ == 0)
                nd.links = block + start;
            nd.links_len = r.off - (size_t)(nd.links - block);
        } else {
            return FASTN_ERR_FILES_BAD_DAG;
        }
    }
    *out = nd;
    return 0;
}

void files_pbnode_links(const struct files_pbnode *nd,
                        struct files_pblink_iter *it)
{
    it->p = nd->links;
    it->len = nd->links_len;
    it->off = 0;
}

int files_pblink_next(struct files_pblink_iter *it, struct files_pblink *out)
{
    struct files_rd r;
    uint32_t field;
    unsigned wire;
    const uint8_t *span;
    size_t len;

    if (it->off >= it->len)
        return 0;
    files_rd_init(&r, it->p, it->len);
    r.off = it->off;
    /* validated by files_pbnode_decode: these cannot fail */
    if (files_rd_key(&r, &field, &wire) || files_rd_lenspan(&r, &span, &len) ||
        link_decode(span, len, out)) {
        it->off = it->len;
        return 0;
    }
    it->off = r.off;
    return 1;
}

static size_t link_body_size(size_t cid_len, size_t name_len, bool has_name,
                             uint64_t tsize, bool has_tsize)
{
    size_t n = 1 + files_uvarint_len(cid_len) + cid_len;

    if (has_name)
        n += 1 + files_uvarint_len(name_len) + name_len;
    if (has_tsize)
        n += 1 + files_uvarint_len(tsize);
    return n;
}

size_t files_pblink_size(size_t cid_len, size_t name_len, bool has_name,
                         uint64_t tsize, bool has_tsize)
{
    size_t n = link_body_size(cid_len, name_len, has_name, tsize, has_tsize);

    return 1 + files_uvarint_len(n) + n;
}

void files_wr_pblink(struct files_wr *w, const uint8_t *cid, size_t cid_len,
                     const uint8_t *name, size_t name_len, bool has_name,
                     uint64_t tsize)
{
    files_wr_key(w, 2, PB_LEN);
    files_wr_varint(w,
                    link_body_size(cid_len, name_len, has_name, tsize, true));
    files_wr_lenfield(w, 1, cid, cid_len);
    if (has_name)
        files_wr_lenfield(w, 2, name, name_len);
    files_wr_varfield(w, 3, tsize);
}

int files_pbnode_encode(const struct files_pblink *links, size_t n,
                        const uint8_t *data, size_t data_len, bool has_data,
                        uint8_t *out, size_t cap)
{
    uint8_t cid[FILES_CID_BYTES_MAX];
    struct files_wr w;

    files_wr_fixed(&w, out, cap);
    for (size_t i = 0; i < n; i++) {
        const struct files_pblink *l = &links[i];
        int clen = files_cid_encode(&l->cid, cid, sizeof(cid));
        if (clen < 0)
            return clen;
        files_wr_key(&w, 2, PB_LEN);
        files_wr_varint(&w,
                        link_body_size((size_t)clen, l->name_len, l->has_name,
                                       l->tsize, l->has_tsize));
        files_wr_lenfield(&w, 1, cid, (size_t)clen);
        if (l->has_name)
            files_wr_lenfield(&w, 2, l->name, l->name_len);
        if (l->has_tsize)
            files_wr_varfield(&w, 3, l->tsize);
    }
    if (has_data)
        files_wr_lenfield(&w, 1, data, data_len);
    return w.err ? w.err : (int)w.len;
}
