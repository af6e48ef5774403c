/*
 * files_cid: prints the root CID that plugins/files/lib's importer gives a
 * file, a folder or a generated stream, so that tests/interop/files_cid.sh
 * can compare it with IPFS's own importer (npm ipfs-unixfs-importer) and
 * bench/files can time it. Blocks are counted, not kept.
 *
 *   files_cid [--profile NAME] [--hidden] [--stats] PATH
 *   files_cid [--profile NAME] [--stats] --gen BYTES
 *   files_cid [--profile NAME] [--stats] --stdin
 *
 * --profile: unixfs-v1-2025 (default) or unixfs-v0-2015. Folder entries
 * whose names start with "." are left out unless --hidden (IPIP-499:
 * hidden entities excluded); symlinks are kept as UnixFS symlinks.
 * --gen: the deterministic stream tests/interop/js/files-cid.mjs makes
 * too (64 KiB segments of one xorshift32 pattern, each starting with its
 * index as a little-endian u64). --stats: blocks, bytes and seconds on
 * stderr. Exit 0, 1 on an error (said on stderr), 2 on bad usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "files.h"

#define SEG 65536
#define IOBUF (1u << 20)

struct sink {
    uint64_t blocks;
    uint64_t bytes;
};

static int sink_block(void *ctx, const struct files_cid *cid,
                      const uint8_t *block, size_t len)
{
    struct sink *s = ctx;

    (void)cid;
    (void)block;
    s->blocks++;
    s->bytes += len;
    return 0;
}

static void gen_pattern(uint8_t *base)
{
    uint32_t x = 0x9e3779b9u;

    for (size_t i = 0; i < SEG; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        base[i] = (uint8_t)x;
    }
}

static int gen_stream(struct files_tree *t, uint64_t total)
{
    static uint8_t base[SEG], seg[SEG];
    int err = 0;

    gen_pattern(base);
    for (uint64_t k = 0, off = 0; off < total && !err; k++, off += SEG) {
        memcpy(seg, base, SEG);
        for (int i = 0; i < 8; i++)
            seg[i] = (uint8_t)(k >> (8 * i));
        uint64_t n = total - off < SEG ? total - off : SEG;
        err = files_tree_write(t, seg, (size_t)n);
    }
    return err;
}

static int import_fd(struct files_tree *t, int fd, const char *path)
{
    static uint8_t buf[IOBUF];
    int err = 0;

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "files_cid: %s: %s\n", path, strerror(errno));
            return FASTN_ERR_IO;
        }
        if (n == 0)
            return 0;
        if ((err = files_tree_write(t, buf, (size_t)n)))
            return err;
    }
}

static int import_path(struct files_tree *t, const char *path, const char *name,
                       bool hidden);

static int import_dir(struct files_tree *t, const char *path, bool hidden)
{
    DIR *d = opendir(path);
    struct dirent *de;
    int err = 0;

    if (!d) {
        fprintf(stderr, "files_cid: %s: %s\n", path, strerror(errno));
        return FASTN_ERR_IO;
    }
    while (!err && (de = readdir(d))) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || (!hidden && n[0] == '.'))
            continue;
        size_t len = strlen(path) + strlen(n) + 2;
        char *sub = malloc(len);
        if (!sub) {
            err = FASTN_ERR_NOMEM;
            break;
        }
        snprintf(sub, len, "%s/%s", path, n);
        err = import_path(t, sub, n, hidden);
        free(sub);
    }
    closedir(d);
    return err;
}

static int import_path(struct files_tree *t, const char *path, const char *name,
                       bool hidden)
{
    struct stat st;
    size_t nlen = strlen(name);
    int err;

    if (lstat(path, &st) < 0) {
        fprintf(stderr, "files_cid: %s: %s\n", path, strerror(errno));
        return FASTN_ERR_IO;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(path, target, sizeof(target));
        if (n < 0 || (size_t)n == sizeof(target))
            return FASTN_ERR_IO;
        return files_tree_symlink(t, name, nlen, target, (size_t)n);
    }
    if (S_ISDIR(st.st_mode)) {
        if ((err = files_tree_dir_begin(t, name, nlen)) ||
            (err = import_dir(t, path, hidden)))
            return err;
        return files_tree_dir_end(t);
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "files_cid: %s: not a file, folder or symlink\n", path);
        return FASTN_ERR_UNSUPPORTED;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "files_cid: %s: %s\n", path, strerror(errno));
        return FASTN_ERR_IO;
    }
    err = files_tree_file_begin(t, name, nlen);
    if (!err)
        err = import_fd(t, fd, path);
    close(fd);
    return err ? err : files_tree_file_end(t);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: files_cid [--profile NAME] [--hidden] [--stats] "
                    "PATH | --gen BYTES | --stdin\n");
    return 2;
}

int main(int argc, char **argv)
{
    const struct files_profile *prof = &files_profile_v1_2025;
    const char *path = NULL;
    bool hidden = false, stats = false, use_stdin = false;
    long long gen = -1;
    struct sink sink = {0, 0};
    struct files_tree *t;
    struct files_entry root;
    char text[FILES_CID_STR_MAX];
    int err;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--profile") && i + 1 < argc) {
            if (!(prof = files_profile_find(argv[++i])))
                return usage();
        } else if (!strcmp(argv[i], "--hidden")) {
            hidden = true;
        } else if (!strcmp(argv[i], "--stats")) {
            stats = true;
        } else if (!strcmp(argv[i], "--stdin")) {
            use_stdin = true;
        } else if (!strcmp(argv[i], "--gen") && i + 1 < argc) {
            gen = strtoll(argv[++i], NULL, 10);
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            return usage();
        }
    }
    if ((path != NULL) + use_stdin + (gen >= 0) != 1)
        return usage();
    double t0 = now();
    if ((err = files_tree_new(prof, sink_block, &sink, &t)))
        goto out;
    if (path) {
        err = import_path(t, path, "", hidden);
    } else if (!(err = files_tree_file_begin(t, "", 0))) {
        err =
            use_stdin ? import_fd(t, 0, "stdin") : gen_stream(t, (uint64_t)gen);
        if (!err)
            err = files_tree_file_end(t);
    }
    if (!err)
        err = files_tree_root(t, &root);
    files_tree_free(t);
    if (!err && (err = files_cid_format(&root.cid, text, sizeof(text))) > 0)
        err = 0;
out:
    if (err) {
        fprintf(stderr, "files_cid: %s\n", fastn_strerror(err));
        return 1;
    }
    printf("%s\n", text);
    if (stats)
        fprintf(stderr,
                "files_cid: %llu blocks, %llu bytes, size %llu, %.3f s\n",
                (unsigned long long)sink.blocks, (unsigned long long)sink.bytes,
                (unsigned long long)root.size, now() - t0);
    return 0;
}
