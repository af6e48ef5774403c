/*
 * The files plugin's blocks and roots. Blocks are keyed by their
 * multihash (a CIDv0 and a CIDv1 of the same bytes are one block, as IPFS
 * blockstores keep them); each is a blob of the host's (fastn_blob_put:
 * a record appended to a pack file, written once, read with one copy),
 * indexed by a row of bblocks written after it, which gc and rm go by.
 * Blocks an older version stored in the database itself (blocks, in
 * 256 KiB parts) are still read, and removed by rm. Roots are what
 * `fastn files list` shows (added, or fetched whole), pinned or not;
 * shares are the peers a root was shared with. Only blocks checked
 * against their CID get here (the importer made them, or the exchange
 * checked them).
 */
#include "files_plugin.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS blocks(id INTEGER PRIMARY KEY,"
    " mh BLOB NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL,"
    " UNIQUE(mh, part));"
    "CREATE TABLE IF NOT EXISTS roots(cid TEXT PRIMARY KEY, name TEXT,"
    " size INTEGER, pinned INTEGER, added INTEGER);"
    "CREATE TABLE IF NOT EXISTS shares(cid TEXT, peer TEXT,"
    " PRIMARY KEY(cid, peer));"
    "CREATE TABLE IF NOT EXISTS gc_keep(mh BLOB PRIMARY KEY);"
    "CREATE TABLE IF NOT EXISTS bblocks(mh BLOB PRIMARY KEY,"
    " size INTEGER NOT NULL) WITHOUT ROWID;";

/* blobs put in the open transaction, deleted if it does not commit (past
 * PENDING_MAX they stay, unindexed, until the block is put again) */
#define PENDING_MAX 64

static int32_t st_get, st_has, st_put, st_bhas, st_bput;
static uint8_t blockbuf[FILES_MAX_BLOCK];
static uint8_t pending[PENDING_MAX][FILES_CID_BYTES_MAX];
static uint8_t pending_len[PENDING_MAX];
static int pending_n, in_tx;

int store_open(void)
{
    int32_t r = fastn_sql_exec(schema, sizeof(schema) - 1);
    if (r < 0)
        return r;
    st_get = fastn_sql_prepare_str(
        "SELECT data FROM blocks WHERE mh = ?1 ORDER BY part");
    st_has = fastn_sql_prepare_str(
        "SELECT 1 FROM blocks WHERE mh = ?1 AND part = 0");
    st_put = fastn_sql_prepare_str(
        "INSERT OR IGNORE INTO blocks(mh, part, data) VALUES(?1, ?2, ?3)");
    st_bhas = fastn_sql_prepare_str("SELECT size FROM bblocks WHERE mh = ?1");
    st_bput = fastn_sql_prepare_str(
        "INSERT OR REPLACE INTO bblocks(mh, size) VALUES(?1, ?2)");
    if (st_get < 0 || st_has < 0 || st_put < 0)
        return st_get < 0 ? st_get : st_has < 0 ? st_has : st_put;
    return st_bhas < 0 ? st_bhas : st_bput < 0 ? st_bput : 0;
}

/* The multihash of c: <code><length><digest>. */
static size_t mh_key(const struct files_cid *c, uint8_t *out)
{
    size_t n = files_uvarint_put(c->mh_code, out);
    n += files_uvarint_put(c->digest_len, out + n);
    memcpy(out + n, c->digest, c->digest_len);
    return n + c->digest_len;
}

static int bind_key(int32_t st, const struct files_cid *c)
{
    uint8_t key[FILES_CID_BYTES_MAX];
    fastn_sql_reset(st);
    return fastn_sql_bind_blob(st, 1, key, mh_key(c, key));
}

static int old_has(const struct files_cid *c);

int store_get(const struct files_cid *c, const uint8_t **p, size_t *n)
{
    int32_t r;

    if (c->mh_code == FILES_MH_IDENTITY) {
        *p = c->digest;
        *n = c->digest_len;
        return 0;
    }
    uint8_t key[FILES_CID_BYTES_MAX];
    r = fastn_blob_read(key, mh_key(c, key), 0, blockbuf, sizeof(blockbuf));
    if (r >= 0) {
        *p = blockbuf;
        *n = (size_t)r;
        return 0;
    }
    if (r != FASTN_ERR_NOT_FOUND)
        return r;
    /* stored by an older version, in the database */
    if ((r = bind_key(st_get, c)) < 0)
        return r;
    size_t len = 0;
    while ((r = fastn_sql_step(st_get)) == FASTN_SQL_ROW) {
        r = fastn_sql_column_bytes(st_get, 0, blockbuf + len,
                                   sizeof(blockbuf) - len);
        if (r < 0 || (size_t)r > sizeof(blockbuf) - len) {
            r = r < 0 ? r : FASTN_ERR_FILES_LIMIT;
            break;
        }
        len += (size_t)r;
    }
    fastn_sql_reset(st_get);
    if (r < 0)
        return r;
    if (len == 0 && old_has(c) != 1)
        return FASTN_ERR_NOT_FOUND;
    *p = blockbuf;
    *n = len;
    return 0;
}

int64_t store_blob_size(const struct files_cid *c)
{
    uint8_t key[FILES_CID_BYTES_MAX];
    if (c->mh_code == FILES_MH_IDENTITY)
        return FASTN_ERR_NOT_FOUND;
    return fastn_blob_size(key, mh_key(c, key));
}

int store_blob_read(const struct files_cid *c, uint8_t *dst, size_t n)
{
    uint8_t key[FILES_CID_BYTES_MAX];
    int32_t r = fastn_blob_read(key, mh_key(c, key), 0, dst, n);
    if (r < 0)
        return r;
    return (size_t)r == n ? 0 : FASTN_ERR_IO;
}

/* In the database, stored by an older version. */
static int old_has(const struct files_cid *c)
{
    int32_t r;
    if ((r = bind_key(st_has, c)) < 0)
        return r;
    r = fastn_sql_step(st_has);
    fastn_sql_reset(st_has);
    return r < 0 ? r : r == FASTN_SQL_ROW;
}

/* Indexed, and its blob whole (a power cut may have lost a blob put just
 * before it: then it is fetched again). */
int store_has(const struct files_cid *c)
{
    uint8_t key[FILES_CID_BYTES_MAX];
    int32_t r;
    int64_t size = -1;

    if (c->mh_code == FILES_MH_IDENTITY)
        return 1;
    if ((r = bind_key(st_bhas, c)) < 0)
        return r;
    if ((r = fastn_sql_step(st_bhas)) == FASTN_SQL_ROW)
        size = fastn_sql_column_int64(st_bhas, 0);
    fastn_sql_reset(st_bhas);
    if (r < 0)
        return r;
    if (size >= 0 && fastn_blob_size(key, mh_key(c, key)) == size)
        return 1;
    return old_has(c);
}

/* The blob first, then its row: a row always has its blob (but for a
 * power cut, which store_has sees). */
int store_put(const struct files_cid *c, const uint8_t *p, size_t n)
{
    uint8_t key[FILES_CID_BYTES_MAX];
    size_t klen;
    int32_t r;

    if (c->mh_code == FILES_MH_IDENTITY)
        return 0;
    klen = mh_key(c, key);
    if ((r = fastn_blob_put(key, klen, p, n)) < 0)
        return r;
    if ((r = bind_key(st_bput, c)) < 0 ||
        (r = fastn_sql_bind_int64(st_bput, 2, (int64_t)n)) < 0 ||
        (r = fastn_sql_step(st_bput)) < 0) {
        fastn_sql_reset(st_bput);
        fastn_blob_delete(key, klen);
        return r;
    }
    fastn_sql_reset(st_bput);
    if (in_tx && pending_n < PENDING_MAX) {
        memcpy(pending[pending_n], key, klen);
        pending_len[pending_n++] = (uint8_t)klen;
    }
    return 0;
}

int files_block_save(void *ctx, const struct files_cid *cid,
                     const uint8_t *block, size_t len)
{
    (void)ctx;
    return store_put(cid, block, len);
}

int store_begin(void)
{
    int32_t r = fastn_sql_exec_str("BEGIN");
    in_tx = r == 0;
    pending_n = 0;
    return r;
}

/* A commit that fails rolls back, and the blobs put since BEGIN go too
 * (their rows are gone). */
int store_commit(void)
{
    int32_t r = fastn_sql_exec_str("COMMIT");
    if (r < 0) {
        fastn_sql_exec_str("ROLLBACK");
        for (int i = 0; i < pending_n; i++)
            fastn_blob_delete(pending[i], pending_len[i]);
    }
    in_tx = 0;
    pending_n = 0;
    return r;
}

int store_root_add(const char *cid, const char *name, uint64_t size, int pin)
{
    int32_t st = fastn_sql_prepare_str(
        "INSERT INTO roots(cid, name, size, pinned, added) VALUES(?1, ?2, ?3,"
        " ?4, ?5) ON CONFLICT(cid) DO UPDATE SET pinned = max(pinned, ?4),"
        " name = coalesce(nullif(?2, ''), name)");
    int32_t r;
    if (st < 0)
        return st;
    fastn_sql_bind_str(st, 1, cid);
    fastn_sql_bind_str(st, 2, name);
    fastn_sql_bind_int64(st, 3, (int64_t)size);
    fastn_sql_bind_int64(st, 4, pin);
    fastn_sql_bind_int64(st, 5, fastn_now_ms() / 1000);
    r = fastn_sql_step(st);
    fastn_sql_finalize(st);
    return r < 0 ? r : 0;
}

/* Lines "CID\tSIZE\tpinned|cached\tNAME", newest first. */
int store_roots(int32_t call)
{
    static char out[FILES_REPLY_MAX];
    size_t len = 0;
    char cid[FILES_CID_STR_MAX + 1], name[FILES_NAME_MAX + 1];
    int32_t st = fastn_sql_prepare_str(
        "SELECT cid, size, pinned, name FROM roots ORDER BY added DESC, cid");
    if (st < 0)
        return st;
    while (fastn_sql_step(st) == FASTN_SQL_ROW) {
        fastn_sql_column_str(st, 0, cid, sizeof(cid));
        fastn_sql_column_str(st, 3, name, sizeof(name));
        int k =
            snprintf(out + len, sizeof(out) - len, "%s\t%lld\t%s\t%s\n", cid,
                     (long long)fastn_sql_column_int64(st, 1),
                     fastn_sql_column_int64(st, 2) ? "pinned" : "cached", name);
        if (k < 0 || (size_t)k >= sizeof(out) - len)
            break;
        len += (size_t)k;
    }
    fastn_sql_finalize(st);
    return fastn_call_reply(call, 0, out, len);
}

/* Marks every block reachable from root in the temporary table keep
 * gc_keep (raw leaves by their CID alone, without reading them). */
static int mark(const struct files_cid *root)
{
    struct files_cid *stack = malloc(sizeof(*stack) * 64);
    size_t n = 0, cap = 64;
    uint8_t key[FILES_CID_BYTES_MAX];
    int32_t ins =
        fastn_sql_prepare_str("INSERT OR IGNORE INTO gc_keep VALUES(?1)");
    int err = !stack ? FASTN_ERR_NOMEM : ins < 0 ? ins : 0;

    if (!err)
        stack[n++] = *root;
    while (!err && n > 0) {
        struct files_cid c = stack[--n];
        const uint8_t *p;
        size_t len;
        struct files_pbnode nd;
        struct files_pblink_iter it;
        struct files_pblink l;
        fastn_sql_reset(ins);
        fastn_sql_bind_blob(ins, 1, key, mh_key(&c, key));
        if (fastn_sql_step(ins) < 0 || fastn_sql_changes() == 0)
            continue; /* seen (or the identity) */
        if (c.codec != FILES_CODEC_DAG_PB || store_get(&c, &p, &len) ||
            files_pbnode_decode(p, len, &nd))
            continue; /* a leaf, or missing: nothing below it here */
        files_pbnode_links(&nd, &it);
        while (!err && files_pblink_next(&it, &l) == 1) {
            if (n == cap) {
                struct files_cid *g = realloc(stack, sizeof(*g) * cap * 2);
                if (!g) {
                    err = FASTN_ERR_NOMEM;
                    break;
                }
                stack = g;
                cap *= 2;
            }
            stack[n++] = l.cid;
        }
    }
    fastn_sql_finalize(ins);
    free(stack);
    return err;
}

/* Deletes the blocks gc_keep does not hold: each row, then its blob, a
 * few at a time (each SQL call has a few milliseconds); then the older
 * version's, a few parts a statement. */
static int sweep(void)
{
    uint8_t key[FILES_CID_BYTES_MAX];
    int32_t sel = fastn_sql_prepare_str(
        "SELECT mh FROM bblocks WHERE mh NOT IN (SELECT mh FROM gc_keep)"
        " LIMIT 16");
    int32_t del = fastn_sql_prepare_str("DELETE FROM bblocks WHERE mh = ?1");
    int32_t r = sel < 0 ? sel : del, got;

    do {
        got = 0;
        while (sel > 0 && del > 0 &&
               (r = fastn_sql_step(sel)) == FASTN_SQL_ROW) {
            int32_t k = fastn_sql_column_bytes(sel, 0, key, sizeof(key));
            if (k <= 0 || (size_t)k > sizeof(key))
                continue;
            fastn_sql_reset(del);
            fastn_sql_bind_blob(del, 1, key, (size_t)k);
            if ((r = fastn_sql_step(del)) < 0)
                break;
            fastn_blob_delete(key, (size_t)k);
            got++;
        }
        if (sel > 0)
            fastn_sql_reset(sel);
    } while (r >= 0 && got > 0);
    if (sel > 0)
        fastn_sql_finalize(sel);
    if (del > 0)
        fastn_sql_finalize(del);
    if (r < 0)
        return r;
    int32_t st = fastn_sql_prepare_str(
        "DELETE FROM blocks WHERE id IN (SELECT id FROM blocks WHERE mh NOT "
        "IN (SELECT mh FROM gc_keep) LIMIT 4)");
    r = st;
    while (st > 0 && (r = fastn_sql_step(st)) >= 0 && fastn_sql_changes() > 0)
        fastn_sql_reset(st);
    if (st > 0)
        fastn_sql_finalize(st);
    fastn_sql_exec_str("DELETE FROM gc_keep");
    return r < 0 ? r : 0;
}

/* Forgets root cid and deletes the blocks no other root reaches. */
int store_rm(int32_t call, const char *cid)
{
    char other[FILES_CID_STR_MAX + 1];
    struct files_cid c;
    int32_t st, r;
    int err = 0;

    st = fastn_sql_prepare_str("DELETE FROM roots WHERE cid = ?1");
    fastn_sql_bind_str(st, 1, cid);
    r = fastn_sql_step(st);
    fastn_sql_finalize(st);
    if (r < 0 || fastn_sql_changes() == 0)
        return fastn_reply_str(call, FASTN_ERR_NOT_FOUND,
                               "no such CID here: fastn files list shows "
                               "what this daemon holds");
    st = fastn_sql_prepare_str("DELETE FROM shares WHERE cid = ?1");
    fastn_sql_bind_str(st, 1, cid);
    fastn_sql_step(st);
    fastn_sql_finalize(st);
    fastn_sql_exec_str("DELETE FROM gc_keep");
    st = fastn_sql_prepare_str("SELECT cid FROM roots");
    while (!err && fastn_sql_step(st) == FASTN_SQL_ROW) {
        r = fastn_sql_column_str(st, 0, other, sizeof(other));
        if (r > 0 && !files_cid_parse(other, (size_t)r, &c))
            err = mark(&c);
    }
    fastn_sql_finalize(st);
    if (!err)
        err = sweep();
    if (err < 0)
        return fastn_reply_str(call, err, "removing its blocks failed");
    return fastn_reply_str(call, 0, "removed");
}

int store_share(int32_t call, const char *cid, const char *peer)
{
    int32_t st = fastn_sql_prepare_str("SELECT 1 FROM roots WHERE cid = ?1");
    int32_t r;
    fastn_sql_bind_str(st, 1, cid);
    r = fastn_sql_step(st);
    fastn_sql_finalize(st);
    if (r != FASTN_SQL_ROW)
        return fastn_reply_str(call, FASTN_ERR_NOT_FOUND,
                               "no such CID here: add it first with fastn "
                               "files add");
    st = fastn_sql_prepare_str("INSERT OR IGNORE INTO shares VALUES(?1, ?2)");
    fastn_sql_bind_str(st, 1, cid);
    fastn_sql_bind_str(st, 2, peer);
    r = fastn_sql_step(st);
    fastn_sql_finalize(st);
    return fastn_reply_str(call, r < 0 ? r : 0, r < 0 ? "not stored" : "ok");
}
