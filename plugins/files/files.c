/*
 * The files plugin: shares and fetches files by IPFS CID over bitswap
 * (docs/FILES.md). This file has the manifest, start, the calls the
 * `fastn files` commands make, the timer, and files_sha256() over the
 * host's SHA-256 import; store.c keeps blocks, get.c and add.c serve the
 * commands, exchange.c speaks bitswap. The plugin never touches the file
 * system: the CLI reads and writes the files and streams them through
 * calls.
 */
#include "files_plugin.h"

// clang-format off
FASTN_MANIFEST({
    "name": "files", "version": "0.1.0", "abi": 1,
    "description": "Files shared by IPFS CID over bitswap (fastn files)",
    "protocols": ["/ipfs/bitswap/1.2.0", "/ipfs/bitswap/1.1.0"],
    "capabilities": ["streams", "storage", "timers"],
    "storage_quota": 68719476736, "storage_page_size": 4096,
    "limits": {"fuel_per_event": 1000000000, "memory_pages": 1024,
               "streams": 256, "timers": 2, "statements": 32},
    "serves": "known-peers",
    "apps": ["fastn files"]
})
// clang-format on

void files_sha256(const void *p, size_t n, uint8_t out[FILES_SHA256_LEN])
{
    if (fastn_sha256(p, n, out) < 0)
        abort(); /* only over FASTN_HASH_MAX, which no block is */
}

const char *fastn_err_name_(int err)
{
    switch (err) {
#define FILES_ERR_CASE_(name, value, text)                                     \
    case value:                                                                \
        return text;
        FASTN_ERR_LIST(FILES_ERR_CASE_)
#undef FILES_ERR_CASE_
    default:
        return "error";
    }
}

/* One integer a pragma reads, or -1. */
static int64_t pragma_int(const char *sql)
{
    int32_t st = fastn_sql_prepare_str(sql);
    int64_t v = -1;
    if (st < 0)
        return -1;
    if (fastn_sql_step(st) == FASTN_SQL_ROW)
        v = fastn_sql_column_int64(st, 0);
    fastn_sql_finalize(st);
    return v;
}

/* The store's quota in MiB: its pages (the rest of the quota is room
 * for the write-ahead log, under 1 MiB), rounded up. */
static int64_t quota_mib(void)
{
    int64_t pages = pragma_int("PRAGMA max_page_count");
    int64_t size = pragma_int("PRAGMA page_size");
    if (pages <= 0 || size <= 0)
        return -1;
    return (pages * size + (1 << 20) - 1) >> 20;
}

const char *files_why(int err)
{
    static char why[600];
    int64_t mib;

    if (err == FASTN_ERR_STORE_QUOTA) {
        mib = quota_mib();
        snprintf(why, sizeof(why),
                 "the files plugin's store is full: its storage quota is "
                 "%lld MiB. Raise it with fastn config set "
                 "plugin-storage-mib files %lld (or any size in MiB) and "
                 "fastn restart, or remove what you no longer share with "
                 "fastn files rm CID (fastn files list shows them); then "
                 "run it again",
                 (long long)mib, (long long)(mib > 0 ? mib * 2 : 131072));
        return why;
    }
    if (err == FASTN_ERR_DISK_FULL)
        return "the disk is full: free space (or fastn files rm CID), then "
               "run it again";
    return fastn_err_name_(err);
}

int32_t on_start(void)
{
    int r = store_open();
    if (r < 0)
        fastn_logf(FASTN_LOG_ERROR, "files: its database: %s",
                   fastn_err_name_(r));
    return r;
}

int32_t on_timer(int32_t id)
{
    (void)id;
    fetch_tick();
    return 0;
}

/* ls CID: the entries of a folder held here, "KIND\tSIZE\tCID\tNAME". */
struct ls_ctx {
    char *out;
    size_t len;
};

static int ls_get(void *ctx, const struct files_cid *cid, const uint8_t **p,
                  size_t *n)
{
    (void)ctx;
    return store_get(cid, p, n);
}

static int ls_event(void *ctx, const struct files_walk_event *ev)
{
    struct ls_ctx *l = ctx;
    char cid[FILES_CID_STR_MAX + 1];
    const char *kind = ev->type == FILES_WALK_DIR       ? "dir"
                       : ev->type == FILES_WALK_FILE    ? "file"
                       : ev->type == FILES_WALK_SYMLINK ? "symlink"
                                                        : NULL;
    if (!kind || (ev->depth == 0 && ev->type == FILES_WALK_DIR))
        return 0;
    if (files_cid_format(&ev->cid, cid, sizeof(cid)) < 0)
        return FASTN_ERR_FILES_BAD_CID;
    int k = snprintf(l->out + l->len, FILES_REPLY_MAX - l->len,
                     "%s\t%llu\t%s\t%.*s\n", kind, (unsigned long long)ev->size,
                     cid, (int)ev->name_len, (const char *)ev->name);
    if (k < 0 || (size_t)k >= FILES_REPLY_MAX - l->len)
        return FASTN_ERR_TOO_LARGE;
    l->len += (size_t)k;
    return 0;
}

static int ls(int32_t call, const char *txt)
{
    static char out[FILES_REPLY_MAX];
    struct ls_ctx l = {out, 0};
    struct files_cid root;
    int err = files_cid_parse(txt, strlen(txt), &root);
    if (err)
        return fastn_reply_str(call, err, "not a CID");
    err = files_walk(&root, NULL, FILES_WALK_LIST | FILES_WALK_TRUSTED, ls_get,
                     ls_event, &l);
    if (err == FASTN_ERR_NOT_FOUND)
        return fastn_reply_str(call, err,
                               "its blocks are not here: fetch it first "
                               "with fastn files get CID --from PEER");
    if (err)
        return fastn_reply_str(call, err, fastn_err_name_(err));
    return fastn_call_reply(call, 0, out, l.len);
}

int32_t on_call(int32_t call, const char *method, size_t mlen,
                const uint8_t *arg, size_t len)
{
    struct fastn_arg a[3];
    char s0[FILES_CID_STR_MAX + 1], s1[FASTN_PEER_ID_BUF];
    int32_t n;

    if (mlen > 4 && !memcmp(method, "add_", 4))
        return add_call(call, method, mlen, arg, len);
    if (mlen > 4 && !memcmp(method, "get_", 4))
        return get_call(call, method, mlen, arg, len);
    n = fastn_args_split(arg, len, a, 3);
    if (n < 0 || (n >= 1 && fastn_arg_str(a[0], s0, sizeof(s0)) < 0) ||
        (n >= 2 && fastn_arg_str(a[1], s1, sizeof(s1)) < 0))
        return fastn_reply_str(call, FASTN_ERR_INVAL, "bad arguments");
    if (fastn_is(method, mlen, "list"))
        return store_roots(call);
    if (fastn_is(method, mlen, "ls") && n == 1)
        return ls(call, s0);
    if (fastn_is(method, mlen, "rm") && n == 1)
        return store_rm(call, s0);
    if (fastn_is(method, mlen, "share") && n == 2)
        return store_share(call, s0, s1);
    return fastn_reply_str(call, FASTN_ERR_INVAL,
                           "unknown method or arguments: the files plugin "
                           "takes list, ls CID, rm CID, share CID PEER");
}
