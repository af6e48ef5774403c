/* Fuzz target: plugins/files/lib's dag-pb and UnixFS decoders, and the
 * walker over hostile blocks. A node that decodes must re-encode to a node
 * that decodes the same (links and data); its UnixFS Data is decoded too.
 * Then the input is every block of a DAG (a "trusted" store that answers
 * every CID with the same bytes: the worst a lying store can do, loops
 * included): the walk must end, within its limits, without crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

static void check_reencode(const struct files_pbnode *nd)
{
    struct files_pblink links[64];
    struct files_pblink_iter it;
    struct files_pbnode back;
    size_t n = 0, cap = nd->links_len + nd->data_len + 64;
    uint8_t *out;

    if (nd->nlinks > 64)
        return;
    files_pbnode_links(nd, &it);
    while (files_pblink_next(&it, &links[n]))
        n++;
    if (n != nd->nlinks)
        abort();
    out = malloc(cap);
    int len = files_pbnode_encode(links, n, nd->data, nd->data_len,
                                  nd->has_data, out, cap);
    if (len < 0 || files_pbnode_decode(out, (size_t)len, &back) != 0 ||
        back.nlinks != nd->nlinks || back.has_data != nd->has_data ||
        back.data_len != nd->data_len ||
        (nd->data_len && memcmp(back.data, nd->data, nd->data_len)))
        abort();
    free(out);
}

static void walk_as_every_block(const uint8_t *data, size_t size)
{
    struct files_walk_limits lim = {1u << 20, 64, 8, 1u << 20};
    struct files_walker *w;
    struct files_walk_event ev;
    struct files_cid root;

    files_cid_of(1, FILES_CODEC_DAG_PB, data, size, &root);
    if (files_walker_new(&root, &lim, FILES_WALK_TRUSTED, &w))
        abort();
    /* a wide DAG of one block can be huge: bound the steps */
    for (int step = 0; step < 4096; step++) {
        if (files_walker_next(w, &ev) || ev.type == FILES_WALK_DONE)
            break;
        if (ev.type == FILES_WALK_NEED && files_walker_feed(w, data, size))
            break;
        if (ev.type == FILES_WALK_DATA && ev.len > lim.max_file_size)
            abort();
    }
    files_walker_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct files_pbnode nd;
    struct files_unixfs u;

    if (files_pbnode_decode(data, size, &nd) == 0) {
        check_reencode(&nd);
        if (nd.has_data)
            files_unixfs_decode(nd.data, nd.data_len, &u);
    }
    if (files_unixfs_decode(data, size, &u) == 0) {
        size_t off = 0, k = 0;
        uint64_t v;
        while (files_unixfs_blocksize_next(&u, &off, &v))
            k++;
        if (k != u.nblocksizes)
            abort();
    }
    if (size <= FILES_MAX_BLOCK)
        walk_as_every_block(data, size);
    return 0;
}
