/* Unit tests for plugins/files/lib/walk.c: what the importer wrote reads
 * back byte for byte (files of every shape, folders flat and sharded,
 * symlinks), listing, fetching ahead; and every hostile DAG refused with
 * its error: altered blocks, loops and self-links, unsafe or duplicate
 * names, misplaced HAMT entries, sizes that do not add up, absurd sizes,
 * depth, entry and memory limits, oversized blocks, foreign codecs. */
#include "files_harness.h"
#include "test.h"

static const struct files_profile *v0 = &files_profile_v0_2015;
static const struct files_profile *v1 = &files_profile_v1_2025;

static void check_stream_back(const struct files_profile *p, uint64_t n)
{
    struct store s = {0};
    struct files_entry e;
    struct walk_ctx w;

    CHECK_ERR(import_stream(p, n, 100000, &s, &e), 0);
    CHECK_ERR(walk_all(&s, &e.cid, NULL, 0, &w), 0);
    CHECK(w.rb.len == n);
    int bad = 0;
    for (uint64_t i = 0; i < n && !bad; i++)
        bad = w.rb.data[i] != stream_byte(i);
    CHECK(!bad);
    char want[64];
    snprintf(want, sizeof(want), "0F  %llu\n0f\n", (unsigned long long)n);
    CHECK_STR(w.rb.log, want);
    walk_ctx_free(&w);
    store_free(&s);
}

TEST(files_read_back)
{
    uint64_t v0_sizes[] = {0, 1, 262143, 262144, 262145, 3 * 262144 + 7};
    uint64_t v1_sizes[] = {0, 1, 1048575, 1048576, 1048577, 3 * 1048576 + 7};
    for (size_t i = 0; i < 6; i++) {
        check_stream_back(v0, v0_sizes[i]);
        check_stream_back(v1, v1_sizes[i]);
    }
    /* several levels: a tiny profile */
    struct files_profile tiny = *v0;
    tiny.chunk_size = 5;
    tiny.max_links = 3;
    for (uint64_t n = 0; n < 200; n += 13)
        check_stream_back(&tiny, n);
    tiny.raw_leaves = true;
    check_stream_back(&tiny, 150);
}

/* A tree: a file, an empty file, a symlink, an empty folder, a folder of
 * a folder, and a sharded folder of 300 entries (a low threshold). */
static int build_tree(struct files_profile *p, struct store *s,
                      struct files_entry *root)
{
    struct files_tree *t;
    char name[32];
    int err = files_tree_new(p, store_put, s, &t);

#define DO(x)                                                                  \
    do {                                                                       \
        if (!err)                                                              \
            err = (x);                                                         \
    } while (0)
    DO(files_tree_dir_begin(t, "", 0));
    DO(files_tree_file_begin(t, "hello.txt", 9));
    DO(files_tree_write(t, "hello world", 11));
    DO(files_tree_file_end(t));
    DO(files_tree_file_begin(t, "empty", 5));
    DO(files_tree_file_end(t));
    DO(files_tree_symlink(t, "link", 4, "hello.txt", 9));
    DO(files_tree_dir_begin(t, "void", 4));
    DO(files_tree_dir_end(t));
    DO(files_tree_dir_begin(t, "a", 1));
    DO(files_tree_dir_begin(t, "b", 1));
    DO(files_tree_file_begin(t, "c", 1));
    DO(files_tree_write(t, "ccc", 3));
    DO(files_tree_file_end(t));
    DO(files_tree_dir_end(t));
    DO(files_tree_dir_end(t));
    DO(files_tree_dir_begin(t, "many", 4));
    for (int i = 0; i < 300; i++) {
        int n = snprintf(name, sizeof(name), "entry-%03d", i);
        DO(files_tree_file_begin(t, name, (size_t)n));
        DO(files_tree_write(t, name, (size_t)n));
        DO(files_tree_file_end(t));
    }
    DO(files_tree_dir_end(t));
    DO(files_tree_dir_end(t));
    DO(files_tree_root(t, root));
#undef DO
    files_tree_free(t);
    return err;
}

TEST(tree_read_back)
{
    struct files_profile p = *v1;
    struct store s = {0};
    struct files_entry root;
    struct walk_ctx w;

    p.shard_threshold = 2000; /* "many" shards, the root does not */
    CHECK_ERR(build_tree(&p, &s, &root), 0);
    CHECK_ERR(walk_all(&s, &root.cid, NULL, 0, &w), 0);
    /* flat folders in name order; the sharded one in bucket order */
    const char *head = "0D \n"
                       "1D a\n"
                       "2D b\n"
                       "3F c 3\n"
                       "3f\n"
                       "2d\n"
                       "1d\n"
                       "1F empty 0\n"
                       "1f\n"
                       "1F hello.txt 11\n"
                       "1f\n"
                       "1L link -> hello.txt\n"
                       "1D many\n";
    CHECK(strncmp(w.rb.log, head, strlen(head)) == 0);
    const char *tail = "1d\n1D void\n1d\n0d\n";
    size_t ll = strlen(w.rb.log);
    CHECK(ll > strlen(tail) && strcmp(w.rb.log + ll - strlen(tail), tail) == 0);
    /* every entry of "many" once, its content its name */
    for (int i = 0; i < 300; i++) {
        char line[64];
        snprintf(line, sizeof(line), "2F entry-%03d 9\n", i);
        CHECK(strstr(w.rb.log, line) != NULL);
    }
    CHECK_EQ(w.rb.len, 11 + 3 + 300 * 9);
    walk_ctx_free(&w);
    store_free(&s);
}

TEST(listing)
{
    struct files_profile p = *v0;
    struct store s = {0};
    struct files_entry root;
    struct walk_ctx w;

    p.shard_threshold = 2000;
    CHECK_ERR(build_tree(&p, &s, &root), 0);
    CHECK_ERR(walk_all(&s, &root.cid, NULL, FILES_WALK_LIST, &w), 0);
    CHECK_STR(w.rb.log, "0D \n1D a\n1F empty 0\n1F hello.txt 11\n"
                        "1L link -> hello.txt\n1D many\n1D void\n0d\n");
    CHECK_EQ(w.rb.len, 0);
    walk_ctx_free(&w);
    /* a sharded folder lists its entries across its shards */
    struct blk *b;
    struct files_pbnode nd;
    struct files_pblink_iter it;
    struct files_pblink l;
    b = store_find(&s, &root.cid);
    CHECK_ERR(files_pbnode_decode(b->data, b->len, &nd), 0);
    files_pbnode_links(&nd, &it);
    while (files_pblink_next(&it, &l))
        if (l.name_len == 4 && !memcmp(l.name, "many", 4))
            break;
    CHECK_ERR(walk_all(&s, &l.cid, NULL, FILES_WALK_LIST, &w), 0);
    size_t lines = 0;
    for (const char *c = w.rb.log; *c; c++)
        lines += *c == '\n';
    CHECK_EQ(lines, 300 + 2);
    walk_ctx_free(&w);
    /* listing a file: its entry, not its bytes */
    struct files_entry f;
    CHECK_ERR(import_stream(v1, 3000000, 65536, &s, &f), 0);
    CHECK_ERR(walk_all(&s, &f.cid, NULL, FILES_WALK_LIST, &w), 0);
    CHECK_STR(w.rb.log, "0F  3000000\n");
    CHECK_EQ(w.rb.len, 0);
    walk_ctx_free(&w);
    store_free(&s);
}

TEST(upcoming)
{
    struct store s = {0};
    struct files_entry e;
    struct files_walker *w;
    struct files_walk_event ev;
    struct files_cid next[8];
    const uint8_t *block = NULL;
    size_t len = 0;

    CHECK_ERR(import_stream(v1, 5 * 1048576, 1048576, &s, &e), 0);
    CHECK_ERR(files_walker_new(&e.cid, NULL, 0, &w), 0);
    CHECK_EQ(files_walker_upcoming(w, next, 8), 1); /* the root */
    CHECK(files_cid_eq(&next[0], &e.cid));
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK_EQ(ev.type, FILES_WALK_NEED);
    CHECK_ERR(store_get(&s, &ev.cid, &block, &len), 0);
    CHECK_ERR(files_walker_feed(w, block, len), 0);
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK_EQ(ev.type, FILES_WALK_FILE);
    CHECK(ev.size == 5 * 1048576);
    /* the five leaves, in order, before any is asked for */
    CHECK_EQ(files_walker_upcoming(w, next, 8), 5);
    CHECK_EQ(files_walker_upcoming(w, next, 3), 3);
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK_EQ(ev.type, FILES_WALK_NEED);
    CHECK(files_cid_eq(&ev.cid, &next[0]));
    /* feeding twice, or without a NEED, is a caller's mistake */
    CHECK_ERR(store_get(&s, &ev.cid, &block, &len), 0);
    CHECK_ERR(files_walker_feed(w, block, len), 0);
    CHECK_ERR(files_walker_feed(w, block, len), FASTN_ERR_INVAL);
    /* a block given to keep: its bytes come out as they went in; given
     * when not asked for, or after an error, it is freed (ASan sees) */
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK_EQ(ev.type, FILES_WALK_DATA);
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK_EQ(ev.type, FILES_WALK_NEED);
    CHECK_ERR(store_get(&s, &ev.cid, &block, &len), 0);
    uint8_t *own = malloc(len);
    memcpy(own, block, len);
    CHECK_ERR(files_walker_feed_owned(w, own, len), 0);
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK(ev.type == FILES_WALK_DATA && ev.data == own && ev.len == len);
    CHECK_ERR(files_walker_feed_owned(w, malloc(1), 1), FASTN_ERR_INVAL);
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK_EQ(ev.type, FILES_WALK_NEED);
    CHECK_ERR(files_walker_feed_owned(w, calloc(1, len), len),
              FASTN_ERR_FILES_HASH_MISMATCH);
    CHECK_ERR(files_walker_feed_owned(w, malloc(1), 1),
              FASTN_ERR_FILES_HASH_MISMATCH);
    files_walker_free(w);
    store_free(&s);
}

/* A buffer several blocks are in, as the files plugin's message buffers:
 * the walker gives back each reference it took (the last frees it). */
struct tbuf {
    int refs;
    uint8_t bytes[];
};
static int releases;

static void tbuf_release(void *base)
{
    struct tbuf *b = base;
    releases++;
    if (--b->refs == 0)
        free(b);
}

/* A buffer of 7 bytes of framing, then blocks a and b; refs references. */
static struct tbuf *tbuf_of(const uint8_t *a, size_t na, const uint8_t *b,
                            size_t nb, int refs)
{
    struct tbuf *t = malloc(sizeof(*t) + 7 + na + nb);
    t->refs = refs;
    memset(t->bytes, 0xee, 7);
    memcpy(t->bytes + 7, a, na);
    if (nb)
        memcpy(t->bytes + 7 + na, b, nb);
    return t;
}

TEST(feed_ref)
{
    struct store s = {0};
    struct files_entry e;
    struct files_walker *w;
    struct files_walk_event ev;
    const uint8_t *b0 = NULL, *b1 = NULL, *root = NULL;
    size_t n0 = 0, n1 = 0, nroot = 0;
    struct files_cid leaf[3];

    releases = 0;
    CHECK_ERR(import_stream(v1, 3 * 1048576, 1048576, &s, &e), 0);
    CHECK_ERR(files_walker_new(&e.cid, NULL, 0, &w), 0);
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK_ERR(store_get(&s, &ev.cid, &root, &nroot), 0);
    struct tbuf *troot = tbuf_of(root, nroot, NULL, 0, 1);
    CHECK_ERR(files_walker_feed_ref(w, troot->bytes + 7, nroot, troot, NULL),
              FASTN_ERR_INVAL); /* nothing could free it */
    CHECK_ERR(
        files_walker_feed_ref(w, troot->bytes + 7, nroot, troot, tbuf_release),
        0);
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK_EQ(ev.type, FILES_WALK_FILE);
    CHECK_EQ(files_walker_upcoming(w, leaf, 3), 3);
    /* two leaves in one buffer, a reference each */
    CHECK_ERR(store_get(&s, &leaf[0], &b0, &n0), 0);
    uint8_t *copy0 = malloc(n0);
    memcpy(copy0, b0, n0);
    CHECK_ERR(store_get(&s, &leaf[1], &b1, &n1), 0);
    struct tbuf *two = tbuf_of(copy0, n0, b1, n1, 2);
    free(copy0);
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK_EQ(ev.type, FILES_WALK_NEED);
    CHECK_ERR(files_walker_feed_ref(w, two->bytes + 7, n0, two, tbuf_release),
              0);
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK(ev.type == FILES_WALK_DATA && ev.data == two->bytes + 7);
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK_EQ(ev.type, FILES_WALK_NEED);
    CHECK_EQ(releases, 0); /* the walker holds the first leaf till fed */
    CHECK_ERR(
        files_walker_feed_ref(w, two->bytes + 7 + n0, n1, two, tbuf_release),
        0);
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK_EQ(releases, 1); /* the first leaf's, once past it */
    CHECK(ev.type == FILES_WALK_DATA && ev.data == two->bytes + 7 + n0);
    CHECK_ERR(files_walker_next(w, &ev), 0);
    CHECK_EQ(ev.type, FILES_WALK_NEED);
    /* a wrong block: given back at once; the root's at the end */
    struct tbuf *bad = tbuf_of(b1, n1, NULL, 0, 1);
    CHECK_ERR(files_walker_feed_ref(w, bad->bytes + 7, n1, bad, tbuf_release),
              FASTN_ERR_FILES_HASH_MISMATCH);
    CHECK_EQ(releases, 3);
    files_walker_free(w);
    CHECK_EQ(releases, 4); /* each buffer freed by its last (ASan sees) */
    store_free(&s);
}

/* --- hostile DAGs ------------------------------------------------------ */

static int walk_err(struct store *s, const struct files_cid *root,
                    const struct files_walk_limits *lim, unsigned flags)
{
    struct walk_ctx w;
    int err = walk_all(s, root, lim, flags, &w);
    walk_ctx_free(&w);
    return err;
}

static const uint8_t dir_data[] = {0x08, 0x01};

TEST(altered_block)
{
    struct store s = {0};
    struct files_entry e;

    CHECK_ERR(import_stream(v0, 3 * 262144, 262144, &s, &e), 0);
    /* flip a byte of a leaf under its CID */
    struct blk *root = store_find(&s, &e.cid);
    struct files_pbnode nd;
    struct files_pblink_iter it;
    struct files_pblink l;
    CHECK_ERR(files_pbnode_decode(root->data, root->len, &nd), 0);
    files_pbnode_links(&nd, &it);
    files_pblink_next(&it, &l);
    files_pblink_next(&it, &l);
    struct blk *leaf = store_find(&s, &l.cid);
    leaf->data[100] ^= 1;
    CHECK_ERR(walk_err(&s, &e.cid, NULL, 0), FASTN_ERR_FILES_HASH_MISMATCH);
    /* a trusted store is not checked: the bytes come out as they are */
    CHECK_ERR(walk_err(&s, &e.cid, NULL, FILES_WALK_TRUSTED), 0);
    store_free(&s);
}

TEST(loops)
{
    struct store s = {0};
    uint8_t node[256], node2[256];
    struct files_cid y, z;

    /* a folder whose entry "sub" is the folder itself: its CID cannot be
     * in its own bytes, so only a store that lies makes one; put it under
     * a CID of our choosing in a "trusted" store */
    files_cid_of(1, FILES_CODEC_DAG_PB, "the loop", 8, &y);
    struct hlink self = {&y, "sub", 0, 10};
    size_t n = node_build(&self, 1, dir_data, 2, node, sizeof(node));
    store_put_raw(&s, &y, node, n);
    CHECK_ERR(walk_err(&s, &y, NULL, FILES_WALK_TRUSTED), FASTN_ERR_FILES_LOOP);
    /* checked against their CIDs, such blocks do not pass at all */
    CHECK_ERR(walk_err(&s, &y, NULL, 0), FASTN_ERR_FILES_HASH_MISMATCH);
    /* two folders in a cycle */
    files_cid_of(1, FILES_CODEC_DAG_PB, "other", 5, &z);
    struct hlink to_z = {&z, "z", 0, 10}, to_y = {&y, "y", 0, 10};
    n = node_build(&to_z, 1, dir_data, 2, node, sizeof(node));
    store_put_raw(&s, &y, node, n);
    n = node_build(&to_y, 1, dir_data, 2, node2, sizeof(node2));
    store_put_raw(&s, &z, node2, n);
    CHECK_ERR(walk_err(&s, &y, NULL, FILES_WALK_TRUSTED), FASTN_ERR_FILES_LOOP);
    /* a file node that links to itself */
    uint8_t fs[64];
    uint64_t bs = 5, size = 5;
    size_t fl =
        unixfs_build(FILES_UNIXFS_FILE, NULL, 0, &size, &bs, 1, fs, sizeof(fs));
    struct hlink part = {&y, "", 0, 10};
    n = node_build(&part, 1, fs, fl, node, sizeof(node));
    store_put_raw(&s, &y, node, n);
    CHECK_ERR(walk_err(&s, &y, NULL, FILES_WALK_TRUSTED), FASTN_ERR_FILES_LOOP);
    store_free(&s);
}

/* A verified folder with one entry named name (nlen bytes) holding "x". */
static int dir_with_name(const char *name, size_t nlen, struct store *s)
{
    uint8_t node[512];
    struct files_cid f = store_raw(s, "x", 1), d;
    struct hlink l = {&f, name, nlen, 1};
    size_t n = node_build(&l, 1, dir_data, 2, node, sizeof(node));
    d = store_node(s, node, n);
    return walk_err(s, &d, NULL, 0);
}

TEST(unsafe_names)
{
    struct store s = {0};
    uint8_t node[512];

    CHECK_ERR(dir_with_name("ok", 2, &s), 0);
    CHECK_ERR(dir_with_name("..", 2, &s), FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(dir_with_name(".", 1, &s), FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(dir_with_name("../../etc/passwd", 16, &s),
              FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(dir_with_name("a/b", 3, &s), FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(dir_with_name("/etc", 4, &s), FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(dir_with_name("nul\0x", 5, &s), FASTN_ERR_FILES_BAD_NAME);
    /* a link with an empty Name, and one with none */
    struct files_cid f = store_raw(&s, "x", 1), d;
    struct hlink empty = {&f, "", 0, 1}, none = {&f, NULL, 0, 1};
    d = store_node(&s, node,
                   node_build(&empty, 1, dir_data, 2, node, sizeof(node)));
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_BAD_NAME);
    d = store_node(&s, node,
                   node_build(&none, 1, dir_data, 2, node, sizeof(node)));
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_BAD_NAME);
    /* after a named one (out of order, so names are compared: a missing
     * Name has no bytes; found by fuzz_files_dagpb under UBSan) */
    struct hlink named_none[2] = {{&f, "b", 0, 1}, {&f, NULL, 0, 1}};
    d = store_node(&s, node,
                   node_build(named_none, 2, dir_data, 2, node, sizeof(node)));
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_BAD_NAME);
    /* the same name twice, sorted or not */
    struct hlink twice[3] = {{&f, "b", 0, 1}, {&f, "a", 0, 1}, {&f, "b", 0, 1}};
    d = store_node(&s, node,
                   node_build(twice, 3, dir_data, 2, node, sizeof(node)));
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_BAD_NAME);
    d = store_node(&s, node,
                   node_build(twice + 1, 2, dir_data, 2, node, sizeof(node)));
    CHECK_ERR(walk_err(&s, &d, NULL, 0), 0);
    struct hlink sorted_twice[2] = {{&f, "a", 0, 1}, {&f, "a", 0, 1}};
    d = store_node(
        &s, node, node_build(sorted_twice, 2, dir_data, 2, node, sizeof(node)));
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_BAD_NAME);
    store_free(&s);
}

/* A HAMT node over the links given, its bitfield from their labels. */
static struct files_cid shard_node(struct store *s, const struct hlink *l,
                                   size_t n, uint64_t fanout)
{
    uint8_t bits[32] = {0}, data[64], node[4096];
    struct files_wr w;
    for (size_t i = 0; i < n; i++) {
        unsigned idx;
        sscanf(l[i].name, "%2X", &idx);
        bits[31 - idx / 8] |= (uint8_t)(1u << (idx % 8));
    }
    files_wr_fixed(&w, data, sizeof(data));
    files_wr_varfield(&w, 1, FILES_UNIXFS_HAMT_SHARD);
    files_wr_lenfield(&w, 2, bits, 32);
    files_wr_varfield(&w, 5, FILES_MH_MURMUR3_X64_64);
    files_wr_varfield(&w, 6, fanout);
    return store_node(s, node,
                      node_build(l, n, data, w.len, node, sizeof(node)));
}

TEST(hamt_checks)
{
    struct store s = {0};
    struct files_cid f = store_raw(&s, "x", 1), d;
    char good[16], wrong[16];
    unsigned b = files_hamt_index((const uint8_t *)"name", 4, 0);

    snprintf(good, sizeof(good), "%02Xname", b);
    snprintf(wrong, sizeof(wrong), "%02Xname", (b + 1) % 256);
    struct hlink ok = {&f, good, 0, 1}, bad = {&f, wrong, 0, 1};
    d = shard_node(&s, &ok, 1, 256);
    CHECK_ERR(walk_err(&s, &d, NULL, 0), 0);
    /* an entry in a bucket its name does not hash to */
    d = shard_node(&s, &bad, 1, 256);
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_BAD_DAG);
    /* another fanout */
    d = shard_node(&s, &ok, 1, 16);
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_BAD_DAG);
    /* the same name twice: the same bucket twice */
    struct hlink two[2] = {ok, ok};
    d = shard_node(&s, two, 2, 256);
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_BAD_DAG);
    /* an unsafe name inside a shard */
    char dots[8];
    unsigned bd = files_hamt_index((const uint8_t *)"..", 2, 0);
    snprintf(dots, sizeof(dots), "%02X..", bd);
    struct hlink up = {&f, dots, 0, 1};
    d = shard_node(&s, &up, 1, 256);
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_BAD_NAME);
    /* a sub-shard that is a plain folder */
    uint8_t node[256];
    struct files_cid plain =
        store_node(&s, node, node_build(NULL, 0, dir_data, 2, node, 256));
    struct hlink sub = {&plain, "07", 0, 4};
    d = shard_node(&s, &sub, 1, 256);
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_BAD_DAG);
    store_free(&s);
}

/* A file node: blocksizes bs[0..n) over links to cids, filesize *size. */
static struct files_cid file_node(struct store *s, const struct files_cid *c,
                                  const uint64_t *bs, size_t n,
                                  const uint64_t *size)
{
    uint8_t data[256], node[1024];
    struct hlink l[8];
    for (size_t i = 0; i < n; i++)
        l[i] = (struct hlink){&c[i], "", 0, bs[i]};
    size_t dl = unixfs_build(FILES_UNIXFS_FILE, NULL, 0, size, bs, n, data,
                             sizeof(data));
    return store_node(s, node, node_build(l, n, data, dl, node, sizeof(node)));
}

TEST(sizes)
{
    struct store s = {0};
    struct files_cid leaf[2] = {store_raw(&s, "abc", 3),
                                store_raw(&s, "de", 2)};
    uint64_t bs[2] = {3, 2}, five = 5, six = 6, d;
    struct files_cid f;

    f = file_node(&s, leaf, bs, 2, &five);
    CHECK_ERR(walk_err(&s, &f, NULL, 0), 0);
    /* a filesize that is not the sum of blocksizes */
    f = file_node(&s, leaf, bs, 2, &six);
    CHECK_ERR(walk_err(&s, &f, NULL, 0), FASTN_ERR_FILES_SIZE_MISMATCH);
    /* blocksizes that add up, but a leaf is not the size its parent says */
    uint64_t lie[2] = {2, 3};
    f = file_node(&s, leaf, lie, 2, &five);
    CHECK_ERR(walk_err(&s, &f, NULL, 0), FASTN_ERR_FILES_SIZE_MISMATCH);
    /* fewer blocksizes than links */
    uint8_t data[64], node[512];
    struct hlink l2[2] = {{&leaf[0], "", 0, 3}, {&leaf[1], "", 0, 2}};
    size_t dl = unixfs_build(FILES_UNIXFS_FILE, NULL, 0, NULL, bs, 1, data,
                             sizeof(data));
    f = store_node(&s, node, node_build(l2, 2, data, dl, node, sizeof(node)));
    CHECK_ERR(walk_err(&s, &f, NULL, 0), FASTN_ERR_FILES_BAD_DAG);
    /* an absurd size: refused before any of it is fetched */
    uint64_t huge = 1ull << 60;
    f = file_node(&s, leaf, &huge, 1, &huge);
    struct walk_ctx w;
    CHECK_ERR(walk_all(&s, &f, NULL, 0, &w), FASTN_ERR_FILES_LIMIT);
    CHECK_EQ(w.rb.events, 0);
    walk_ctx_free(&w);
    /* blocksizes whose sum overflows 64 bits */
    uint64_t over[2] = {UINT64_MAX, 2};
    f = file_node(&s, leaf, over, 2, NULL);
    CHECK_ERR(walk_err(&s, &f, NULL, 0), FASTN_ERR_FILES_SIZE_MISMATCH);
    /* a parent that says more than a sub-tree holds */
    uint64_t three = 3;
    struct files_cid inner = file_node(&s, leaf, bs, 1, &three);
    d = 4;
    f = file_node(&s, &inner, &d, 1, &d);
    CHECK_ERR(walk_err(&s, &f, NULL, 0), FASTN_ERR_FILES_SIZE_MISMATCH);
    store_free(&s);
}

TEST(limits)
{
    struct store s = {0};
    struct files_walk_limits lim = files_walk_defaults;
    struct files_cid c = store_raw(&s, "abc", 3);
    uint64_t three = 3;

    /* depth: a chain of file nodes, each with one link to the next */
    for (int i = 0; i < 10; i++)
        c = file_node(&s, &c, &three, 1, &three);
    lim.max_depth = 10;
    CHECK_ERR(walk_err(&s, &c, &lim, 0), 0);
    lim.max_depth = 9;
    CHECK_ERR(walk_err(&s, &c, &lim, 0), FASTN_ERR_FILES_LIMIT);
    /* file size */
    lim = files_walk_defaults;
    lim.max_file_size = 2;
    CHECK_ERR(walk_err(&s, &c, &lim, 0), FASTN_ERR_FILES_LIMIT);
    /* entries: a folder of four */
    uint8_t node[512];
    struct hlink l[4] = {
        {&c, "a", 0, 1}, {&c, "b", 0, 1}, {&c, "c", 0, 1}, {&c, "d", 0, 1}};
    struct files_cid d =
        store_node(&s, node, node_build(l, 4, dir_data, 2, node, 512));
    lim = files_walk_defaults;
    lim.max_entries = 4;
    CHECK_ERR(walk_err(&s, &d, &lim, 0), 0);
    lim.max_entries = 3;
    CHECK_ERR(walk_err(&s, &d, &lim, 0), FASTN_ERR_FILES_LIMIT);
    /* held bytes */
    lim = files_walk_defaults;
    lim.max_held = 100;
    CHECK_ERR(walk_err(&s, &d, &lim, 0), FASTN_ERR_FILES_LIMIT);
    /* a block over 2 MiB, even one that matches its CID */
    uint8_t *big = calloc(1, FILES_MAX_BLOCK + 1);
    struct files_cid b = store_raw(&s, big, FILES_MAX_BLOCK + 1);
    CHECK_ERR(walk_err(&s, &b, NULL, 0), FASTN_ERR_FILES_LIMIT);
    b = store_raw(&s, big, FILES_MAX_BLOCK);
    CHECK_ERR(walk_err(&s, &b, NULL, 0), 0);
    free(big);
    store_free(&s);
}

TEST(codecs_and_types)
{
    struct store s = {0};
    struct files_cid c;
    struct files_walker *w;
    uint8_t node[512], data[64];

    /* dag-cbor (0x71) is not walked */
    files_cid_of(1, 0x71, "x", 1, &c);
    CHECK_ERR(files_walker_new(&c, NULL, 0, &w), FASTN_ERR_FILES_CODEC);
    struct files_cid f = store_raw(&s, "x", 1);
    struct hlink cbor = {&c, "c", 0, 1};
    struct files_cid d =
        store_node(&s, node, node_build(&cbor, 1, dir_data, 2, node, 512));
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_CODEC);
    /* dag-pb that is not UnixFS (no Data), UnixFS Metadata */
    d = store_node(&s, node, node_build(NULL, 0, NULL, 0, node, 512));
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_BAD_DAG);
    size_t dl = unixfs_build(FILES_UNIXFS_METADATA, NULL, 0, NULL, NULL, 0,
                             data, sizeof(data));
    d = store_node(&s, node, node_build(NULL, 0, data, dl, node, 512));
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_UNSUPPORTED);
    /* a symlink with links */
    dl = unixfs_build(FILES_UNIXFS_SYMLINK, (const uint8_t *)"t", 1, NULL, NULL,
                      0, data, sizeof(data));
    struct hlink l = {&f, "x", 0, 1};
    d = store_node(&s, node, node_build(&l, 1, data, dl, node, 512));
    CHECK_ERR(walk_err(&s, &d, NULL, 0), FASTN_ERR_FILES_BAD_DAG);
    /* an identity CID carries its block: nothing to fetch */
    const uint8_t id_bin[] = {0x01, 0x55, 0x00, 0x03, 'a', 'b', 'c'};
    struct files_cid id;
    CHECK_ERR(files_cid_decode(id_bin, sizeof(id_bin), &id), 0);
    struct hlink inl = {&id, "inline", 0, 3};
    d = store_node(&s, node, node_build(&inl, 1, dir_data, 2, node, 512));
    struct walk_ctx wc;
    CHECK_ERR(walk_all(&s, &d, NULL, 0, &wc), 0);
    CHECK_STR(wc.rb.log, "0D \n1F inline 3\n1f\n0d\n");
    CHECK(wc.rb.len == 3 && !memcmp(wc.rb.data, "abc", 3));
    walk_ctx_free(&wc);
    store_free(&s);
}

TEST(errors_stick)
{
    struct store s = {0};
    struct files_entry e;
    struct files_walker *w;
    struct files_walk_event ev;

    CHECK_ERR(import_stream(v1, 10, 10, &s, &e), 0);
    CHECK_ERR(files_walker_new(&e.cid, NULL, 0, &w), 0);
    CHECK_ERR(files_walker_feed(w, (const uint8_t *)"x", 1),
              FASTN_ERR_FILES_HASH_MISMATCH);
    CHECK_ERR(files_walker_next(w, &ev), FASTN_ERR_FILES_HASH_MISMATCH);
    CHECK_ERR(files_walker_feed(w, (const uint8_t *)"x", 1),
              FASTN_ERR_FILES_HASH_MISMATCH);
    CHECK_EQ(files_walker_upcoming(w, &e.cid, 1), 0);
    files_walker_free(w);
    files_walker_free(NULL);
    store_free(&s);
}

int main(void)
{
    RUN(files_read_back);
    RUN(tree_read_back);
    RUN(listing);
    RUN(upcoming);
    RUN(feed_ref);
    RUN(altered_block);
    RUN(loops);
    RUN(unsafe_names);
    RUN(hamt_checks);
    RUN(sizes);
    RUN(limits);
    RUN(codecs_and_types);
    RUN(errors_stick);
    return test_done();
}
