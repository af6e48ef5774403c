/* Fuzz target: the records `fastn files add` sends the files plugin
 * (files_rec_next, files_tree_records in plugins/files/lib): a client's
 * bytes fed to a tree of folders as the plugin's add_data does. The first
 * byte picks the profile. Every block the import makes must check
 * against the CID it is given, the records read must cover exactly the
 * bytes they were read from, and a complete tree must give a root. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

static int on_block(void *ctx, const struct files_cid *cid,
                    const uint8_t *block, size_t len)
{
    (void)ctx;
    if (files_cid_verify(cid, block, len) != 0)
        abort();
    return 0;
}

static void check_framing(const uint8_t *p, size_t n)
{
    struct files_rec r;
    size_t off = 0, sum = 0;
    int err;

    while ((err = files_rec_next(p, n, &off, &r)) == 1) {
        if (r.p < p || r.p + r.n > p + n)
            abort();
        sum += FILES_REC_HEAD + r.n;
    }
    if (err == 0 ? sum != n : err != FASTN_ERR_MALFORMED)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct files_tree *t;
    struct files_entry root;

    if (size < 1)
        return 0;
    check_framing(data + 1, size - 1);
    if (files_tree_new(data[0] & 1 ? &files_profile_v0_2015
                                   : &files_profile_v1_2025,
                       on_block, NULL, &t) != 0)
        return 0;
    if (files_tree_records(t, data + 1, size - 1) == 0 &&
        files_tree_root(t, &root) == 0 && root.cid.digest_len == 0)
        abort();
    files_tree_free(t);
    return 0;
}
