/*
 * `fastn files add`: the CLI walks the files and streams them through
 * calls (the plugin never opens a file):
 *   add_begin PROFILE        a session; answers its id ("" PROFILE: the
 *                            default, unixfs-v1-2025)
 *   add_data ID RECORDS      records (files_plugin.h) fed to a files_tree:
 *                            'D' name (a folder begins), 'E' (it ends),
 *                            'F' name (a file begins), 'W' bytes,
 *                            'C' (the file ends), 'L' name NUL target
 *   add_end ID PIN NAME      the root: answers "CID SIZE" and keeps it
 *   add_abort ID
 * ID is 4 bytes little-endian, PIN one byte. Each add_data is one
 * transaction: the blocks it made are kept together.
 */
#include "files_plugin.h"

#define ADD_SESSIONS 4

static struct files_tree *trees[ADD_SESSIONS];

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static int add_begin(int32_t call, const uint8_t *arg, size_t len)
{
    const struct files_profile *prof = &files_profile_v1_2025;
    char name[64], id[16];

    if (len) {
        if (len >= sizeof(name))
            return fastn_reply_str(call, FASTN_ERR_INVAL, "unknown profile");
        memcpy(name, arg, len);
        name[len] = '\0';
        if (!(prof = files_profile_find(name)))
            return fastn_reply_str(call, FASTN_ERR_INVAL,
                                   "unknown profile: use unixfs-v1-2025 or "
                                   "unixfs-v0-2015");
    }
    for (int i = 0; i < ADD_SESSIONS; i++) {
        if (trees[i])
            continue;
        int err = files_tree_new(prof, files_block_save, NULL, &trees[i]);
        if (err)
            return fastn_reply_str(call, err, "no memory for an import");
        snprintf(id, sizeof(id), "%d", i + 1);
        return fastn_reply_str(call, 0, id);
    }
    return fastn_reply_str(call, FASTN_ERR_AGAIN,
                           "too many adds at once: wait for one to end");
}

static struct files_tree **session(const uint8_t *arg, size_t len)
{
    uint32_t id = len >= 4 ? le32(arg) : 0;
    if (id < 1 || id > ADD_SESSIONS || !trees[id - 1])
        return NULL;
    return &trees[id - 1];
}

static int add_data(int32_t call, const uint8_t *arg, size_t len)
{
    struct files_tree **t = session(arg, len);
    int err;

    if (!t)
        return fastn_reply_str(call, FASTN_ERR_NOT_FOUND, "no such add");
    store_begin();
    err = files_tree_records(*t, arg + 4, len - 4);
    int c = store_commit();
    if (!err)
        err = c;
    if (err) {
        files_tree_free(*t);
        *t = NULL;
        return fastn_reply_str(call, err, files_why(err));
    }
    return fastn_call_reply(call, 0, NULL, 0);
}

static int add_end(int32_t call, const uint8_t *arg, size_t len)
{
    struct files_tree **t = session(arg, len);
    struct files_entry root;
    char cid[FILES_CID_STR_MAX + 1], name[FILES_NAME_MAX + 1], out[400];
    int err;

    if (!t || len < 5 || len - 5 > FILES_NAME_MAX)
        return fastn_reply_str(call, FASTN_ERR_NOT_FOUND, "no such add");
    memcpy(name, arg + 5, len - 5);
    name[len - 5] = '\0';
    err = files_tree_root(*t, &root);
    files_tree_free(*t);
    *t = NULL;
    if (!err && (err = files_cid_format(&root.cid, cid, sizeof(cid))) > 0)
        err = 0;
    if (!err)
        err = store_root_add(
            cid, name, root.kind == FILES_KIND_DIR ? root.tsize : root.size,
            arg[4] != 0);
    if (err)
        return fastn_reply_str(call, err, files_why(err));
    snprintf(out, sizeof(out), "%s %llu", cid,
             (unsigned long long)(root.kind == FILES_KIND_DIR ? root.tsize
                                                              : root.size));
    return fastn_reply_str(call, 0, out);
}

int add_call(int32_t call, const char *method, size_t mlen, const uint8_t *arg,
             size_t len)
{
    struct files_tree **t;

    if (fastn_is(method, mlen, "add_begin"))
        return add_begin(call, arg, len);
    if (fastn_is(method, mlen, "add_data"))
        return add_data(call, arg, len);
    if (fastn_is(method, mlen, "add_end"))
        return add_end(call, arg, len);
    if (fastn_is(method, mlen, "add_abort") && (t = session(arg, len))) {
        files_tree_free(*t);
        *t = NULL;
        return fastn_call_reply(call, 0, NULL, 0);
    }
    return fastn_reply_str(call, FASTN_ERR_INVAL, "unknown add method");
}
