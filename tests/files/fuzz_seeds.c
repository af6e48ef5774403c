/*
 * Writes the seed corpora of the files fuzz targets (fuzz/corpus/files_cid,
 * files_dagpb, files_bitswap) from real data: CIDs in every form the
 * parser reads, the blocks of a small import (leaves, file nodes, folders,
 * HAMT shards, a symlink) and bitswap messages made by the builder.
 * `make files-fuzz-seeds` runs it; the seeds are committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

static const char *out_dir;
static int seed_no;

static void seed(const char *target, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
        fprintf(stderr, "fuzz_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void cid_seeds(void)
{
    static const char *texts[] = {
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354",
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
        "BAFYBEICZSSCDSBS7FFQZ55ASQDF3SMV6KLCW3GOFSZVWLYARCI47BGF354",
        "zdj7WbTaiJT1fgatdet9Ei9iDB5hdCxkbVyhyh8YTUnXMiwYi",
        "f01551220b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2"
        "efcde9",
    };
    char name[32];
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct files_cid c;
        uint8_t bin[FILES_CID_BYTES_MAX];
        if (files_cid_parse(texts[i], strlen(texts[i]), &c))
            exit(1);
        snprintf(name, sizeof(name), "text-%zu", i);
        seed("files_cid", name, texts[i], strlen(texts[i]));
        int n = files_cid_encode(&c, bin, sizeof(bin));
        snprintf(name, sizeof(name), "bin-%zu", i);
        seed("files_cid", name, bin, (size_t)n);
    }
    const uint8_t id[] = {0x01, 0x55, 0x00, 0x03, 'a', 'b', 'c'};
    seed("files_cid", "identity", id, sizeof(id));
    /* a prefix then data: byte 0 splits (5: four prefix bytes) */
    const uint8_t pd[] = {0x05, 0x01, 0x55, 0x12, 0x20, 'd', 'a', 't', 'a'};
    seed("files_cid", "prefix-data", pd, sizeof(pd));
}

static int dagpb_block(void *ctx, const struct files_cid *cid,
                       const uint8_t *block, size_t len)
{
    struct files_pbnode nd;
    char name[32];
    (void)ctx;
    /* the first few leaves, and every node with links */
    if (cid->codec != FILES_CODEC_DAG_PB || len > 4096 ||
        files_pbnode_decode(block, len, &nd) ||
        (seed_no >= 4 && nd.nlinks == 0))
        return 0;
    snprintf(name, sizeof(name), "node-%02d", seed_no++);
    seed("files_dagpb", name, block, len);
    return 0;
}

static void dagpb_seeds(void)
{
    struct files_profile p = files_profile_v0_2015;
    struct files_tree *t;
    struct files_entry e;
    char name[16];

    p.chunk_size = 16; /* small leaves and file nodes */
    p.max_links = 4;
    p.shard_threshold = 400; /* "many" shards */
    if (files_tree_new(&p, dagpb_block, NULL, &t) ||
        files_tree_dir_begin(t, "", 0) || files_tree_file_begin(t, "f", 1) ||
        files_tree_write(t, "some bytes that make a few leaves", 33) ||
        files_tree_file_end(t) || files_tree_symlink(t, "l", 1, "f", 1) ||
        files_tree_dir_begin(t, "many", 4))
        exit(1);
    for (int i = 0; i < 40; i++) {
        int n = snprintf(name, sizeof(name), "e%d", i);
        if (files_tree_file_begin(t, name, (size_t)n) ||
            files_tree_write(t, name, (size_t)n) || files_tree_file_end(t))
            exit(1);
    }
    if (files_tree_dir_end(t) || files_tree_dir_end(t) ||
        files_tree_root(t, &e))
        exit(1);
    files_tree_free(t);
    /* a UnixFS Data message alone, with mode and mtime */
    const uint8_t data[] = {0x08, 0x02, 0x18, 0x05, 0x20, 0x05,
                            0x38, 0xa4, 0x03, 0x42, 0x07, 0x08,
                            0x01, 0x15, 0xff, 0xc9, 0x9a, 0x3b};
    seed("files_dagpb", "unixfs-data", data, sizeof(data));
}

static void frame_seed(const char *name, struct files_bitswap_builder *b)
{
    const uint8_t *out;
    size_t len;
    if (files_bitswap_finish(b, &out, &len))
        exit(1);
    seed("files_bitswap", name, out, len);
    files_bitswap_builder_cleanup(b);
    files_bitswap_builder_init(b);
}

static void bitswap_seeds(void)
{
    struct files_bitswap_builder b;
    struct files_cid raw, pb;
    files_cid_of(1, FILES_CODEC_RAW, "leaf", 4, &raw);
    files_cid_of(0, FILES_CODEC_DAG_PB, "node", 4, &pb);
    struct files_bitswap_want have = {raw, 10, false, FILES_WANT_HAVE, true};
    struct files_bitswap_want block = {pb, 1, false, FILES_WANT_BLOCK, false};
    struct files_bitswap_want cancel = {raw, 0, true, FILES_WANT_BLOCK, false};

    files_bitswap_builder_init(&b);
    files_bitswap_add_want(&b, &have);
    files_bitswap_add_want(&b, &block);
    frame_seed("wants", &b);
    files_bitswap_add_want(&b, &cancel);
    b.full = true;
    frame_seed("cancel-full", &b);
    files_bitswap_add_block(&b, &raw, (const uint8_t *)"leaf", 4);
    files_bitswap_add_block(&b, &pb, (const uint8_t *)"node", 4);
    b.pending_bytes = 4096;
    frame_seed("blocks", &b);
    files_bitswap_add_presence(&b, &raw, FILES_PRESENCE_HAVE);
    files_bitswap_add_presence(&b, &pb, FILES_PRESENCE_DONT_HAVE);
    frame_seed("presences", &b);
    files_bitswap_builder_cleanup(&b);
    /* bitswap 1.0.0: a block in the blocks field, framed */
    const uint8_t v100[] = {0x06, 0x12, 0x04, 'n', 'o', 'd', 'e'};
    seed("files_bitswap", "blocks-1.0.0", v100, sizeof(v100));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds CORPUS-DIR\n");
        return 2;
    }
    out_dir = argv[1];
    cid_seeds();
    dagpb_seeds();
    bitswap_seeds();
    return 0;
}
