/*
 * UnixFS Data (ipfs/specs unixfs, the proto2 message in a dag-pb node's
 * Data): Type = 1 (required), Data = 2, filesize = 3, blocksizes = 4
 * (repeated, unpacked), hashType = 5, fanout = 6, mode = 7, mtime = 8
 * (UnixTime { int64 Seconds = 1; fixed32 FractionalNanoseconds = 2 }).
 * The encoder writes fields in field order, as ipfs-unixfs and go-unixfs
 * do; the decoder refuses duplicates of singular fields and skips fields
 * it does not know.
 */
#include <string.h>

#include "files_int.h"

static int mtime_decode(const uint8_t *p, size_t n, struct files_unixfs *u)
{
    struct files_rd r;
    uint32_t field;
    unsigned wire;
    uint64_t v;
    const uint8_t *b;
    bool seen_secs = false;

    files_rd_init(&r, p, n);
    while (files_rd_left(&r)) {
        if (files_rd_key(&r, &field, &wire))
            return FASTN_ERR_FILES_BAD_DAG;
        if (field == 1 && wire == PB_VARINT && !seen_secs) {
            if (files_rd_pbvarint(&r, &v))
                return FASTN_ERR_FILES_BAD_DAG;
            u->mtime_secs = (int64_t)v;
            seen_secs = true;
        } else if (field == 2 && wire == PB_I32 && !u->has_mtime_nsecs) {
            if (files_rd_span(&r, 4, &b))
                return FASTN_ERR_FILES_BAD_DAG;
            u->mtime_nsecs = (uint32_t)b[0] | (uint32_t)b[1] << 8 |
                             (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            /* the spec: 1..999999999; 0 is written by leaving it out */
            if (u->mtime_nsecs == 0 || u->mtime_nsecs > 999999999)
                return FASTN_ERR_FILES_BAD_DAG;
            u->has_mtime_nsecs = true;
        } else if (field == 1 || field == 2 || files_rd_skip(&r, wire)) {
            return FASTN_ERR_FILES_BAD_DAG;
        }
    }
    u->has_mtime = true;
    return 0;
}

/* A singular varint field, refused when repeated. */
static int get_once(struct files_rd *r, unsigned wire, bool *seen, uint64_t *v)
{
    if (*seen || wire != PB_VARINT || files_rd_pbvarint(r, v))
        return FASTN_ERR_FILES_BAD_DAG;
    *seen = true;
    return 0;
}

static int field_decode(struct files_rd *r, uint32_t field, unsigned wire,
                        struct files_unixfs *u, bool *has_type)
{
    uint64_t v = 0;
    const uint8_t *span;
    size_t len;
    bool over = false, seen = false;

    switch (field) {
    case 1:
        if (get_once(r, wire, has_type, &v) || v > FILES_UNIXFS_HAMT_SHARD)
            return FASTN_ERR_FILES_BAD_DAG;
        u->type = (enum files_unixfs_type)v;
        return 0;
    case 2:
        if (u->has_data || wire != PB_LEN ||
            files_rd_lenspan(r, &u->data, &u->data_len))
            return FASTN_ERR_FILES_BAD_DAG;
        u->has_data = true;
        return 0;
    case 3:
        return get_once(r, wire, &u->has_filesize, &u->filesize);
    case 4:
        if (get_once(r, wire, &seen, &v))
            return FASTN_ERR_FILES_BAD_DAG;
        u->nblocksizes++;
        u->blocksizes_sum = files_add_sat(u->blocksizes_sum, v, &over);
        u->blocksizes_overflow |= over;
        return 0;
    case 5:
        return get_once(r, wire, &u->has_hash_type, &u->hash_type);
    case 6:
        return get_once(r, wire, &u->has_fanout, &u->fanout);
    case 7:
        if (get_once(r, wire, &u->has_mode, &v) || v > UINT32_MAX)
            return FASTN_ERR_FILES_BAD_DAG;
        u->mode = (uint32_t)v;
        return 0;
    case 8:
        if (u->has_mtime || wire != PB_LEN || files_rd_lenspan(r, &span, &len))
            return FASTN_ERR_FILES_BAD_DAG;
        return mtime_decode(span, len, u);
    default:
        return files_rd_skip(r, wire) ? FASTN_ERR_FILES_BAD_DAG : 0;
    }
}

int files_unixfs_decode(const uint8_t *p, size_t n, struct files_unixfs *out)
{
    struct files_rd r;
    struct files_unixfs u;
    uint32_t field;
    unsigned wire;
    bool has_type = false;

    memset(&u, 0, sizeof(u));
    files_rd_init(&r, p, n);
    while (files_rd_left(&r)) {
        if (files_rd_key(&r, &field, &wire) ||
            field_decode(&r, field, wire, &u, &has_type))
            return FASTN_ERR_FILES_BAD_DAG;
    }
    if (!has_type)
        return FASTN_ERR_FILES_BAD_DAG;
    u.msg = p;
    u.msg_len = n;
    *out = u;
    return 0;
}

int files_unixfs_blocksize_next(const struct files_unixfs *u, size_t *off,
                                uint64_t *v)
{
    struct files_rd r;
    uint32_t field;
    unsigned wire;

    files_rd_init(&r, u->msg, u->msg_len);
    r.off = *off;
    /* validated by files_unixfs_decode */
    while (files_rd_left(&r)) {
        if (files_rd_key(&r, &field, &wire))
            break;
        if (field == 4 && wire == PB_VARINT) {
            if (files_rd_pbvarint(&r, v))
                break;
            *off = r.off;
            return 1;
        }
        if (files_rd_skip(&r, wire))
            break;
    }
    *off = u->msg_len;
    return 0;
}

int files_unixfs_encode(const struct files_unixfs *u, const uint64_t *bs,
                        size_t nbs, uint8_t *out, size_t cap)
{
    struct files_wr w;

    files_wr_fixed(&w, out, cap);
    files_wr_varfield(&w, 1, (uint64_t)u->type);
    if (u->has_data)
        files_wr_lenfield(&w, 2, u->data, u->data_len);
    if (u->has_filesize)
        files_wr_varfield(&w, 3, u->filesize);
    for (size_t i = 0; i < nbs; i++)
        files_wr_varfield(&w, 4, bs[i]);
    if (u->has_hash_type)
        files_wr_varfield(&w, 5, u->hash_type);
    if (u->has_fanout)
        files_wr_varfield(&w, 6, u->fanout);
    if (u->has_mode)
        files_wr_varfield(&w, 7, u->mode);
    if (u->has_mtime) {
        uint8_t t[16];
        struct files_wr tw;
        files_wr_fixed(&tw, t, sizeof(t));
        files_wr_varfield(&tw, 1, (uint64_t)u->mtime_secs);
        if (u->has_mtime_nsecs) {
            uint32_t ns = u->mtime_nsecs;
            uint8_t le[4] = {(uint8_t)ns, (uint8_t)(ns >> 8),
                             (uint8_t)(ns >> 16), (uint8_t)(ns >> 24)};
            files_wr_key(&tw, 2, PB_I32);
            files_wr_bytes(&tw, le, 4);
        }
        files_wr_lenfield(&w, 8, t, tw.len);
    }
    return w.err ? w.err : (int)w.len;
}
