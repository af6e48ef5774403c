/* Unit tests for plugins/files/lib/import.c, dir.c and tree.c: root CIDs
 * that ipfs-unixfs-importer gives the same inputs (known answers taken
 * from it), the tree's shape and block order, folders flat and sharded at
 * the profile's threshold, and what the importer refuses. */
#include "files_harness.h"
#include "test.h"

static const struct files_profile *v0 = &files_profile_v0_2015;
static const struct files_profile *v1 = &files_profile_v1_2025;

static void check_cid(const struct files_cid *c, const char *want)
{
    char s[FILES_CID_STR_MAX];
    cid_text(c, s);
    CHECK_STR(s, want);
}

static int import_bytes(const struct files_profile *p, const void *data,
                        size_t n, struct store *s, struct files_entry *e)
{
    struct files_importer *im;
    int err = files_importer_new(p, store_put, s, &im);
    if (!err)
        err = files_importer_write(im, data, n);
    if (!err)
        err = files_importer_finish(im, e);
    files_importer_free(im);
    return err;
}

TEST(profiles)
{
    CHECK(files_profile_find("unixfs-v1-2025") == v1);
    CHECK(files_profile_find("unixfs-v0-2015") == v0);
    CHECK(files_profile_find("unixfs-v2") == NULL);
    CHECK(files_profile_find(NULL) == NULL);
    CHECK_EQ(v1->chunk_size, 1048576);
    CHECK_EQ(v1->max_links, 1024);
    CHECK_EQ(v0->chunk_size, 262144);
    CHECK_EQ(v0->max_links, 174);
}

TEST(small_files)
{
    struct store s = {0};
    struct files_entry e;

    /* IPIP-499's fixtures: "hello world" in both profiles */
    CHECK_ERR(import_bytes(v1, "hello world", 11, &s, &e), 0);
    check_cid(&e.cid,
              "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
    CHECK_EQ(e.size, 11);
    CHECK_EQ(e.tsize, 11);
    CHECK_EQ(e.kind, FILES_KIND_FILE);
    CHECK_ERR(import_bytes(v0, "hello world", 11, &s, &e), 0);
    check_cid(&e.cid, "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");
    CHECK_EQ(e.tsize, 19); /* the dag-pb leaf: 0a 11 08 02 12 0b ... 18 0b */
    /* the empty file */
    CHECK_ERR(import_bytes(v1, "", 0, &s, &e), 0);
    check_cid(&e.cid,
              "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
    CHECK_ERR(import_bytes(v0, "", 0, &s, &e), 0);
    check_cid(&e.cid, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
    store_free(&s);
}

/* The stream tests/interop/files_cid.c --gen makes. */
static int import_gen(const struct files_profile *p, uint64_t total,
                      struct store *s, struct files_entry *e)
{
    static uint8_t base[65536], seg[65536];
    struct files_importer *im;
    uint32_t x = 0x9e3779b9u;
    int err = files_importer_new(p, store_put, s, &im);

    for (size_t i = 0; i < sizeof(base); i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        base[i] = (uint8_t)x;
    }
    for (uint64_t k = 0, off = 0; !err && off < total; k++, off += 65536) {
        memcpy(seg, base, sizeof(seg));
        for (int i = 0; i < 8; i++)
            seg[i] = (uint8_t)(k >> (8 * i));
        size_t n = total - off < 65536 ? (size_t)(total - off) : 65536;
        err = files_importer_write(im, seg, n);
    }
    if (!err)
        err = files_importer_finish(im, e);
    files_importer_free(im);
    return err;
}

struct counter {
    struct store *s;
    size_t blocks, nodes;
    int order_errors;
};

/* Checks that every node links only blocks already written: parents come
 * after their children, the root last. */
static int count_block(void *ctx, const struct files_cid *cid,
                       const uint8_t *block, size_t len)
{
    struct counter *c = ctx;
    struct files_pbnode nd;
    c->blocks++;
    if (cid->codec == FILES_CODEC_DAG_PB &&
        files_pbnode_decode(block, len, &nd) == 0) {
        struct files_pblink_iter it;
        struct files_pblink l;
        files_pbnode_links(&nd, &it);
        while (files_pblink_next(&it, &l))
            if (!store_find(c->s, &l.cid))
                c->order_errors++;
        c->nodes++;
    }
    return store_put(c->s, cid, block, len);
}

TEST(known_streams)
{
    /* from ipfs-unixfs-importer 16.1.5 with the same profile and stream */
    static const struct {
        const struct files_profile **p;
        uint64_t n;
        const char *cid;
    } cases[] = {
        {&v0, 262143, "QmPwB9obrSTJVHGkasbvQvDBTQzA9F3fc4ogDXoMC5cS5m"},
        {&v0, 262144, "QmaFj8YsxoBBHXLu1fyvoufspGTWou8goYrqdy4Ytj3ES5"},
        {&v0, 262145, "QmUmkXTsnZn1wQz4HPXzNQzNXjeRX5yf3LxhbpGbGBVYiu"},
        {&v0, 5000000, "QmUvmCX6W2xGc48XkTkMpBoay7Qr3unoLgXqNUue4sVsRS"},
        {&v0, 45613056, "QmYhwopxa3orm1nBPf9jx7bABMNhNuNyRZo4fvjzrtnNkv"},
        {&v0, 45613057, "QmaMBD6boHrBzNZE6S2Z4CS7sUPXeYsYpKDrDXK7NxLL31"},
        {&v0, 91226113, "Qmd4nuwwHBW3fKUQ4DroBFtfpjLQ34JcuFbCDp6teZPxe6"},
        {&v1, 1048575,
         "bafkreiewzskw4lh3anrcf5vfvzxe5sb3t7sjqlo3t4ygfjhyyzarmb67y4"},
        {&v1, 1048576,
         "bafkreigesbvuh5yey3msx5mf3dtpc4wz2okxehlgm2j45277dttd2fxea4"},
        {&v1, 1048577,
         "bafybeigmeupwvgoxc627qd7ad5jbfzbmhbgcjhp7jvuaaegu4wf4ssmire"},
        {&v1, 5000000,
         "bafybeiewvlxqeck66jw6mgnf5wylq2pl37b7wn33ytn763vibdza7ad7oq"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store s = {0};
        struct files_entry e;
        CHECK_ERR(import_gen(*cases[i].p, cases[i].n, &s, &e), 0);
        check_cid(&e.cid, cases[i].cid);
        CHECK(e.size == cases[i].n);
        /* the root's Tsize is every block of the DAG */
        CHECK(e.tsize == s.bytes);
        store_free(&s);
    }
}

/* Tiny profiles (4-byte chunks, 3 links a node) make trees of several
 * levels from a few bytes; ipfs-unixfs-importer's CIDs for them (fixedSize
 * 4, balanced 3, the same leaves and CID version) check the layout: full
 * and partial nodes, a last node of one link, three and four levels. */
TEST(tree_shape)
{
    static const struct {
        uint64_t n;
        const char *raw_v1, *pb_v0;
    } cases[] = {
        {0, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
         "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"},
        {3, "bafkreidkwdn2d5hr365tpnhz52yjfqe7zjeqbljsxxgri7mn3y25nsd4gu",
         "QmRHtoLt3nEvrh9Yir96RtPfKBoQYGF44WYwczFxnMpYY9"},
        {4, "bafkreiccufdntsxzlqgstm7kry2xj46eo5ml5qwnzom6n4idqhphpk3nkq",
         "QmRcTFZ56XYkH9Ws58P43vF89c8nGQT3UTwSQwwtw6fCJh"},
        {5, "bafybeicgrdsdlgd6cadw3q5rtrx4blf7tqybn45xyctvfrfkgvcgqsmisu",
         "QmdCaZZF8i1qgiXfBYwWaPxwJtemZsadp8MjSAthP1eL6e"},
        {13, "bafybeihitjscq6cpxhk44yojfvstvcg4uyz6lkiu5bghtcbiynzwndlwbe",
         "QmUBPZSb3jrWa4Cn8SrQv2qagdeo5TG5wDYePxsJSd2cnV"},
        {36, "bafybeiagsvtpszcuxuhxbxmwvrq5f2u5wr45lekefzxsrdosnvamg4hk4e",
         "QmNa3ayRrZoJs2fKVMw9yoMtcRtnmM547exCjneZYedg36"},
        {37, "bafybeifazll3y267fa6zkqkjkrs6jcnmzcyrevame65vjixqmv66a5jhaq",
         "QmYT4K3LTu1okm8L2zLmKNfiycqKdFDQLg2RYQU7V2LZTx"},
        {108, "bafybeihsit4fk5dtkcjmabexwvcqozd35aydize5yyvqg4cffwwwkuvxtu",
         "QmcT6vPibNWf4LsCE9EeoTS12GUMdvYUKPDCNwxrPb5pk2"},
        {109, "bafybeidgrjygpf7xcyrj4dl5xpf7n2lpdzcsxc7scy4q7apehaxqutashy",
         "QmbjwQMSqyhWN4zk96WqcyAtefzXMiBtaJXaotkdRGdV8U"},
        {200, "bafybeigbzizew2hotsvo7jl35aitdvsnjpspzx3gbqmhja7e5ghblnequa",
         "QmaC9nCdR51CLMdSy8UNaQCNp4vdYATduWPaDs2tknPFPi"},
    };
    struct files_profile tiny_v1 = *v1, tiny_v0 = *v0;
    uint8_t data[256];

    tiny_v1.chunk_size = tiny_v0.chunk_size = 4;
    tiny_v1.max_links = tiny_v0.max_links = 3;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 3);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store s = {0};
        struct counter c = {&s, 0, 0, 0};
        struct files_importer *im;
        struct files_entry e;
        const struct files_profile *p[2] = {&tiny_v1, &tiny_v0};
        for (int k = 0; k < 2; k++) {
            CHECK_ERR(files_importer_new(p[k], count_block, &c, &im), 0);
            /* bytes one at a time: chunking does not depend on writes */
            for (uint64_t j = 0; j < cases[i].n; j++)
                CHECK_ERR(files_importer_write(im, data + j, 1), 0);
            CHECK_ERR(files_importer_finish(im, &e), 0);
            files_importer_free(im);
            check_cid(&e.cid, k == 0 ? cases[i].raw_v1 : cases[i].pb_v0);
            CHECK(files_cid_eq(&s.last, &e.cid)); /* the root comes last */
        }
        CHECK_EQ(c.order_errors, 0); /* children before their parents */
        store_free(&s);
    }
}

TEST(write_sizes_do_not_matter)
{
    struct files_entry a, b, c;
    struct store s = {0};
    uint64_t n = 3 * 262144 + 1000;

    CHECK_ERR(import_stream(v0, n, 1, &s, &a), 0);
    CHECK_ERR(import_stream(v0, n, 7777, &s, &b), 0);
    CHECK_ERR(import_stream(v0, n, (size_t)n, &s, &c), 0);
    CHECK(files_cid_eq(&a.cid, &b.cid) && files_cid_eq(&a.cid, &c.cid));
    n = 2 * 1048576 + 3;
    CHECK_ERR(import_stream(v1, n, 4096, &s, &a), 0);
    CHECK_ERR(import_stream(v1, n, 1048576, &s, &b), 0);
    CHECK_ERR(import_stream(v1, n, (size_t)n, &s, &c), 0);
    CHECK(files_cid_eq(&a.cid, &b.cid) && files_cid_eq(&a.cid, &c.cid));
    store_free(&s);
}

static int fail_third(void *ctx, const struct files_cid *cid,
                      const uint8_t *block, size_t len)
{
    int *n = ctx;
    (void)cid;
    (void)block;
    (void)len;
    return ++*n == 3 ? FASTN_ERR_STORE_QUOTA : 0;
}

TEST(block_callback_error_sticks)
{
    struct files_importer *im;
    struct files_entry e;
    static uint8_t buf[262144];
    int n = 0;

    CHECK_ERR(files_importer_new(v0, fail_third, &n, &im), 0);
    CHECK_ERR(files_importer_write(im, buf, sizeof(buf)), 0);
    CHECK_ERR(files_importer_write(im, buf, sizeof(buf)), 0);
    CHECK_ERR(files_importer_write(im, buf, sizeof(buf)),
              FASTN_ERR_STORE_QUOTA);
    CHECK_ERR(files_importer_write(im, buf, 1), FASTN_ERR_STORE_QUOTA);
    CHECK_ERR(files_importer_finish(im, &e), FASTN_ERR_STORE_QUOTA);
    /* reset starts over */
    files_importer_reset(im);
    n = -100;
    CHECK_ERR(files_importer_write(im, "x", 1), 0);
    CHECK_ERR(files_importer_finish(im, &e), 0);
    files_importer_free(im);
    /* bad profiles */
    struct files_profile bad = *v1;
    bad.max_links = 1;
    CHECK_ERR(files_importer_new(&bad, fail_third, &n, &im), FASTN_ERR_INVAL);
    bad = *v1;
    bad.chunk_size = FILES_MAX_BLOCK;
    CHECK_ERR(files_importer_new(&bad, fail_third, &n, &im), FASTN_ERR_INVAL);
}

/* A folder of count one-byte files "x" named ("f%d-" padded with 'n' to
 * width), the first one a byte longer when longer: the folders of
 * tests/interop/files_cid.sh at and over the HAMT threshold. */
static int threshold_dir(const struct files_profile *p, int count, int width,
                         bool longer, struct store *s, struct files_entry *e)
{
    struct files_tree *t;
    char name[300];
    int err = files_tree_new(p, store_put, s, &t);

    if (!err)
        err = files_tree_dir_begin(t, "", 0);
    for (int i = 0; !err && i < count; i++) {
        int n = snprintf(name, sizeof(name), "f%d-", i);
        int w = width + (longer && i == 0);
        memset(name + n, 'n', (size_t)(w - n));
        if (!(err = files_tree_file_begin(t, name, (size_t)w)) &&
            !(err = files_tree_write(t, "x", 1)))
            err = files_tree_file_end(t);
    }
    if (!err)
        err = files_tree_dir_end(t);
    if (!err)
        err = files_tree_root(t, e);
    files_tree_free(t);
    return err;
}

TEST(hamt_threshold)
{
    /* ipfs-unixfs-importer's CIDs for these folders (files_cid.sh) */
    struct store s = {0};
    struct files_entry e;

    CHECK_ERR(threshold_dir(v0, 1024, 222, false, &s, &e), 0);
    check_cid(&e.cid, "QmRfpb74EhG5jMfrsYU7tq7ciioBTJnsLcFxCw7Ti5AbTf");
    /* the files are all "x": one block, and one Directory node */
    CHECK_EQ(s.count, 2);
    store_free(&s);
    CHECK_ERR(threshold_dir(v0, 1024, 222, true, &s, &e), 0);
    check_cid(&e.cid, "QmZTy4i1WQWHXtyPnXATeK4154u8S3PZyG8fRkTqsgpvag");
    CHECK(s.count > 2 + 200); /* HAMT shards */
    store_free(&s);
    CHECK_ERR(threshold_dir(v1, 1020, 211, false, &s, &e), 0);
    check_cid(&e.cid,
              "bafybeig56v7jjfye7pfdh3in2m2hnkzfdh4e6mnleugbudi53z7y52lmbm");
    CHECK_EQ(s.count, 2);
    store_free(&s);
    CHECK_ERR(threshold_dir(v1, 1020, 211, true, &s, &e), 0);
    check_cid(&e.cid,
              "bafybeiete4kasaulw4tresahgwewjmbtztq6u7sy6ph2lhwr54qcfc2dhi");
    CHECK(s.count > 2 + 200);
    store_free(&s);
}

TEST(empty_folders)
{
    struct files_tree *t;
    struct files_entry e;
    struct store s = {0};

    CHECK_ERR(files_tree_new(v0, store_put, &s, &t), 0);
    CHECK_ERR(files_tree_root(t, &e), FASTN_ERR_AGAIN);
    CHECK_ERR(files_tree_dir_begin(t, "ignored", 7), 0);
    CHECK_ERR(files_tree_root(t, &e), FASTN_ERR_AGAIN);
    CHECK_ERR(files_tree_dir_end(t), 0);
    CHECK_ERR(files_tree_root(t, &e), 0);
    check_cid(&e.cid, "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
    CHECK_EQ(e.kind, FILES_KIND_DIR);
    CHECK_EQ(e.tsize, 4);
    /* nothing more once the root is done */
    CHECK_ERR(files_tree_dir_begin(t, "x", 1), FASTN_ERR_INVAL);
    files_tree_free(t);
    CHECK_ERR(files_tree_new(v1, store_put, &s, &t), 0);
    CHECK_ERR(files_tree_dir_begin(t, "", 0), 0);
    CHECK_ERR(files_tree_dir_end(t), 0);
    CHECK_ERR(files_tree_root(t, &e), 0);
    check_cid(&e.cid,
              "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354");
    files_tree_free(t);
    store_free(&s);
}

TEST(sorted_links)
{
    /* entries added in any order come out sorted by name bytes */
    struct store s = {0};
    struct files_dir *d;
    struct files_entry f, e1, e2;
    const char *names[] = {"b", "a", "B", "a.b", "ab", "\xc3\xbc", "A"};

    CHECK_ERR(import_bytes(v1, "x", 1, &s, &f), 0);
    CHECK_ERR(files_dir_new(v1, store_put, &s, &d), 0);
    for (int i = 0; i < 7; i++)
        CHECK_ERR(files_dir_add(d, names[i], strlen(names[i]), &f), 0);
    CHECK_ERR(files_dir_finish(d, &e1), 0);
    files_dir_free(d);
    CHECK_ERR(files_dir_new(v1, store_put, &s, &d), 0);
    for (int i = 6; i >= 0; i--)
        CHECK_ERR(files_dir_add(d, names[i], strlen(names[i]), &f), 0);
    CHECK_ERR(files_dir_finish(d, &e2), 0);
    files_dir_free(d);
    CHECK(files_cid_eq(&e1.cid, &e2.cid));
    struct blk *b = store_find(&s, &e1.cid);
    struct files_pbnode nd;
    struct files_pblink_iter it;
    struct files_pblink l;
    const char *want[] = {"A", "B", "a", "a.b", "ab", "b", "\xc3\xbc"};
    CHECK(b && files_pbnode_decode(b->data, b->len, &nd) == 0);
    files_pbnode_links(&nd, &it);
    for (int i = 0; i < 7 && files_pblink_next(&it, &l); i++)
        CHECK(l.name_len == strlen(want[i]) &&
              !memcmp(l.name, want[i], l.name_len));
    store_free(&s);
}

TEST(names_refused)
{
    struct store s = {0};
    struct files_dir *d;
    struct files_entry f, e;
    char longname[FILES_NAME_MAX + 1];

    memset(longname, 'a', sizeof(longname));
    CHECK_ERR(import_bytes(v1, "x", 1, &s, &f), 0);
    CHECK_ERR(files_dir_new(v1, store_put, &s, &d), 0);
    CHECK_ERR(files_dir_add(d, "", 0, &f), FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(files_dir_add(d, ".", 1, &f), FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(files_dir_add(d, "..", 2, &f), FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(files_dir_add(d, "a/b", 3, &f), FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(files_dir_add(d, "/", 1, &f), FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(files_dir_add(d, "a\0b", 3, &f), FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(files_dir_add(d, longname, sizeof(longname), &f),
              FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(files_dir_add(d, longname, FILES_NAME_MAX, &f), 0);
    CHECK_ERR(files_dir_add(d, "...", 3, &f), 0);
    CHECK_ERR(files_dir_add(d, "...", 3, &f), 0);
    /* the same name twice: refused when the folder is made */
    CHECK_ERR(files_dir_finish(d, &e), FASTN_ERR_EXISTS);
    files_dir_free(d);
    store_free(&s);
}

TEST(tree_misuse)
{
    struct store s = {0};
    struct files_tree *t;
    struct files_entry e;

    CHECK_ERR(files_tree_new(v1, store_put, &s, &t), 0);
    CHECK_ERR(files_tree_write(t, "x", 1), FASTN_ERR_INVAL);
    CHECK_ERR(files_tree_dir_end(t), FASTN_ERR_INVAL);
    CHECK_ERR(files_tree_file_end(t), FASTN_ERR_INVAL);
    CHECK_ERR(files_tree_dir_begin(t, "", 0), 0);
    CHECK_ERR(files_tree_file_begin(t, "..", 2), FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(files_tree_dir_begin(t, "a/b", 3), FASTN_ERR_FILES_BAD_NAME);
    CHECK_ERR(files_tree_file_begin(t, "f", 1), 0);
    CHECK_ERR(files_tree_file_begin(t, "g", 1), FASTN_ERR_INVAL);
    CHECK_ERR(files_tree_dir_begin(t, "g", 1), FASTN_ERR_INVAL);
    CHECK_ERR(files_tree_file_end(t), 0);
    CHECK_ERR(files_tree_file_begin(t, "f", 1), 0);
    CHECK_ERR(files_tree_file_end(t), 0);
    /* "f" twice: the folder fails, and the tree with it */
    CHECK_ERR(files_tree_dir_end(t), FASTN_ERR_EXISTS);
    CHECK_ERR(files_tree_root(t, &e), FASTN_ERR_EXISTS);
    CHECK_ERR(files_tree_file_begin(t, "h", 1), FASTN_ERR_EXISTS);
    files_tree_free(t);
    /* too deep */
    CHECK_ERR(files_tree_new(v1, store_put, &s, &t), 0);
    int err = 0;
    for (int i = 0; i <= FILES_TREE_MAX_DEPTH && !err; i++)
        err = files_tree_dir_begin(t, "d", 1);
    CHECK_ERR(err, FASTN_ERR_FILES_LIMIT);
    files_tree_free(t); /* frees every open folder */
    /* a tree that is one file */
    CHECK_ERR(files_tree_new(v1, store_put, &s, &t), 0);
    CHECK_ERR(files_tree_file_begin(t, "", 0), 0);
    CHECK_ERR(files_tree_write(t, "hello world", 11), 0);
    CHECK_ERR(files_tree_file_end(t), 0);
    CHECK_ERR(files_tree_root(t, &e), 0);
    check_cid(&e.cid,
              "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
    files_tree_free(t);
    store_free(&s);
}

TEST(symlinks)
{
    struct store s = {0};
    struct files_entry e;
    struct files_pbnode nd;
    struct files_unixfs u;

    CHECK_ERR(files_symlink_import(v0, "../target", 9, store_put, &s, &e), 0);
    CHECK_EQ(e.kind, FILES_KIND_SYMLINK);
    struct blk *b = store_find(&s, &e.cid);
    const uint8_t want[] = {0x0a, 0x0d, 0x08, 0x04, 0x12, 0x09, '.', '.',
                            '/',  't',  'a',  'r',  'g',  'e',  't'};
    CHECK(b && b->len == sizeof(want) && !memcmp(b->data, want, b->len));
    CHECK_EQ(e.tsize, sizeof(want));
    CHECK_ERR(files_pbnode_decode(b->data, b->len, &nd), 0);
    CHECK_ERR(files_unixfs_decode(nd.data, nd.data_len, &u), 0);
    CHECK_EQ(u.type, FILES_UNIXFS_SYMLINK);
    store_free(&s);
}

int main(void)
{
    RUN(profiles);
    RUN(small_files);
    RUN(known_streams);
    RUN(tree_shape);
    RUN(write_sizes_do_not_matter);
    RUN(block_callback_error_sticks);
    RUN(hamt_threshold);
    RUN(empty_folders);
    RUN(sorted_links);
    RUN(names_refused);
    RUN(tree_misuse);
    RUN(symlinks);
    return test_done();
}
