/* Unit tests for src/util/file.c: whole-file reads with a bound, atomic
 * writes with an exact mode, write-behind, reserving blocks. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "test.h"
#include "util/file.h"

static char dir[] = "/tmp/fastn-file-XXXXXX";

TEST(write_then_read)
{
    char path[256];
    uint8_t *data = NULL;
    size_t len = 0;
    struct stat st;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/f", dir);
    umask(077);
    CHECK_ERR(file_write_atomic(path, "hello", 5, 0640), 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    CHECK_ERR(file_read_all(path, 5, &data, &len), 0);
    CHECK_EQ(len, 5);
    CHECK_MEM(data, "hello", 5);
    CHECK_EQ(data[5], 0); /* usable as a string */
    free(data);
    data = NULL;
    /* one byte over the bound */
    CHECK_ERR(file_read_all(path, 4, &data, &len), FASTN_ERR_TOO_LARGE);
    CHECK(data == NULL);
    /* a rewrite replaces the whole file and leaves no temporary behind */
    CHECK_ERR(file_write_atomic(path, "hi", 2, 0600), 0);
    CHECK_ERR(file_read_all(path, 100, &data, &len), 0);
    CHECK_EQ(len, 2);
    free(data);
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    CHECK(stat(tmp, &st) != 0);
    /* empty file */
    CHECK_ERR(file_write_atomic(path, "", 0, 0600), 0);
    CHECK_ERR(file_read_all(path, 100, &data, &len), 0);
    CHECK_EQ(len, 0);
    free(data);
    unlink(path);
    rmdir(dir);
}

TEST(read_errors)
{
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_ERR(file_read_all("/nonexistent/fastn-x", 10, &data, &len),
              FASTN_ERR_NOT_FOUND);
    CHECK_ERR(file_read_all("/tmp", 10, &data, &len), FASTN_ERR_INVAL);
    CHECK(data == NULL);
    CHECK_ERR(file_write_atomic("/nonexistent/dir/x", "a", 1, 0600),
              FASTN_ERR_IO);
}

/* file_create_at: a new file or nothing; never over what is there, never
 * through a link; file_read_nofollow refuses a link. */
TEST(create_at_and_nofollow)
{
    char d[] = "/tmp/fastn-file-XXXXXX", p[300], victim[300], t[300];
    uint8_t *data = NULL;
    size_t len = 0;
    struct stat st;
    int dfd;

    CHECK(mkdtemp(d) != NULL);
    dfd = open(d, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    umask(022);
    CHECK_ERR(file_create_at(dfd, "k", "secret", 6, 0600), 0);
    snprintf(p, sizeof(p), "%s/k", d);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_ERR(file_read_nofollow(p, 100, &data, &len), 0);
    CHECK_EQ(len, 6);
    free(data);
    data = NULL;
    snprintf(t, sizeof(t), "%s/k.tmp", d);
    CHECK(lstat(t, &st) != 0); /* no temporary left */
    /* an existing file is kept as it was */
    CHECK_ERR(file_create_at(dfd, "k", "other", 5, 0600), FASTN_ERR_EXISTS);
    CHECK_ERR(file_read_all(p, 100, &data, &len), 0);
    CHECK(len == 6 && memcmp(data, "secret", 6) == 0);
    free(data);
    data = NULL;
    /* a link to nowhere: not followed, not replaced */
    snprintf(victim, sizeof(victim), "%s/victim", d);
    CHECK(symlinkat(victim, dfd, "dangling") == 0);
    CHECK_ERR(file_create_at(dfd, "dangling", "x", 1, 0600), FASTN_ERR_EXISTS);
    CHECK(lstat(victim, &st) != 0);
    CHECK(fstatat(dfd, "dangling", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(st.st_mode));
    /* a planted link as the temporary file is not written through */
    CHECK(symlinkat(victim, dfd, "n.tmp") == 0);
    CHECK_ERR(file_create_at(dfd, "n", "x", 1, 0600), 0);
    CHECK(lstat(victim, &st) != 0);
    /* reading through a link is refused by file_read_nofollow only */
    CHECK(symlinkat(p, dfd, "link") == 0);
    snprintf(t, sizeof(t), "%s/link", d);
    CHECK_ERR(file_read_nofollow(t, 100, &data, &len), FASTN_ERR_PERM);
    CHECK(data == NULL);
    CHECK_ERR(file_read_all(t, 100, &data, &len), 0);
    free(data);
    /* a FIFO does not block the read: it is not a regular file */
    CHECK(mkfifoat(dfd, "fifo", 0600) == 0);
    snprintf(t, sizeof(t), "%s/fifo", d);
    data = NULL;
    CHECK_ERR(file_read_nofollow(t, 100, &data, &len), FASTN_ERR_INVAL);
    const char *names[] = {"k", "dangling", "n", "link", "fifo"};
    for (size_t i = 0; i < 5; i++)
        unlinkat(dfd, names[i], 0);
    close(dfd);
    rmdir(d);
}

static bool on_tmpfs; /* its pages stay whatever it is told */

/* Pages of [off, off + len) of fd in the page cache (on tmpfs, what they
 * would be on a disk's file system, which the test then cannot see). */
static size_t resident(int fd, uint64_t off, uint64_t len, size_t want)
{
    if (on_tmpfs)
        return want;
    static unsigned char vec[(3 * FILE_BEHIND_WINDOW) / 4096];
    size_t n = 0, pages = len / 4096;
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);

    CHECK(m != MAP_FAILED && pages <= sizeof(vec));
    if (m == MAP_FAILED || pages > sizeof(vec))
        return SIZE_MAX;
    CHECK(mincore(m, len, vec) == 0);
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    munmap(m, len);
    return n;
}

/* A file written front to back: writeback starts every window, and what
 * was written two windows before leaves the page cache once clean; dirty
 * pages stay, and every byte reads back. The file is in the build folder
 * (a disk's file system: tmpfs keeps its pages whatever it is told). */
TEST(write_behind)
{
    const uint64_t w = FILE_BEHIND_WINDOW;
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    static uint8_t buf[1 << 20], back[1 << 20];
    struct file_behind b = {0};
    char path[512];
    uint64_t at = 0;

    snprintf(path, sizeof(path), "%s/%s/test-file-behind", top ? top : ".",
             build ? build : "build");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    struct statfs fs;
    CHECK(fd >= 0);
    on_tmpfs = fstatfs(fd, &fs) == 0 && fs.f_type == 0x01021994;
    if (on_tmpfs)
        printf("note: %s is on tmpfs: what is cached is not checked\n", path);
        /* writes 1 MiB at a time up to end, each byte its offset's */
#define WRITE_TO(end)                                                          \
    for (; at < (end); at += sizeof(buf)) {                                    \
        for (size_t i = 0; i < sizeof(buf); i++)                               \
            buf[i] = (uint8_t)((at + i) * 7 >> 12);                            \
        CHECK_ERR(fd_write_all(fd, buf, sizeof(buf)), 0);                      \
        file_behind_wrote(&b, fd, at + sizeof(buf));                           \
    }
    WRITE_TO(w - sizeof(buf));
    CHECK_EQ(b.started, 0); /* less than a window: nothing yet */
    WRITE_TO(2 * w);
    CHECK_EQ(b.started, 2 * w);
    CHECK_EQ(b.dropped, 0); /* nothing two windows old yet */
    CHECK_EQ(fdatasync(fd), 0);
    CHECK_EQ(resident(fd, 0, 2 * w, 2 * w / 4096), 2 * w / 4096);
    WRITE_TO(3 * w);
    CHECK_EQ(b.started, 3 * w);
    CHECK_EQ(b.dropped, w);
    CHECK_EQ(resident(fd, 0, w, 0), 0); /* clean: dropped */
    CHECK_EQ(resident(fd, w, 2 * w, 2 * w / 4096),
             2 * w / 4096); /* newer: kept */
    WRITE_TO(4 * w);
    CHECK_EQ(b.dropped, 2 * w);
    CHECK_EQ(resident(fd, w, w, 0), 0); /* synced before, so clean: dropped */
    WRITE_TO(6 * w);
    /* what is read back is what was written, dropped or not */
    CHECK_EQ(fdatasync(fd), 0);
    for (uint64_t off = 0; off < 6 * w; off += sizeof(back)) {
        CHECK_EQ(pread(fd, back, sizeof(back), (off_t)off),
                 (ssize_t)sizeof(back));
        for (size_t i = 0; i < sizeof(back); i++)
            buf[i] = (uint8_t)((off + i) * 7 >> 12);
        CHECK_MEM(back, buf, sizeof(back));
    }
    /* cut short: it starts again from there */
    CHECK_EQ(ftruncate(fd, 0), 0);
    file_behind_wrote(&b, fd, 0);
    CHECK_EQ(b.started, 0);
    CHECK_EQ(b.dropped, 0);
#undef WRITE_TO
    close(fd);
    unlink(path);
}

/* file_reserve: the blocks are the file's before a byte is written, its
 * size stays; no room is said at once, and leaves nothing reserved. */
TEST(reserve)
{
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    char path[512];
    struct stat st;
    uint8_t byte = 'x';

    snprintf(path, sizeof(path), "%s/%s/test-file-reserve", top ? top : ".",
             build ? build : "build");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK_ERR(file_reserve(fd, 0, 0), 0);
    CHECK_ERR(file_reserve(fd, 0, 4 << 20), 0);
    CHECK_EQ(fstat(fd, &st), 0);
    CHECK_EQ(st.st_size, 0);
    CHECK((uint64_t)st.st_blocks * 512 >= 4u << 20);
    CHECK_EQ(pwrite(fd, &byte, 1, 0), 1);
    /* more than any disk here has: refused, and what was reserved goes */
    CHECK_ERR(file_reserve(fd, 0, (uint64_t)1 << 62), FASTN_ERR_DISK_FULL);
    CHECK(errno == ENOSPC || errno == EFBIG || errno == EDQUOT);
    CHECK_ERR(file_reserve(fd, 1, UINT64_MAX), FASTN_ERR_DISK_FULL);
    CHECK_EQ(fstat(fd, &st), 0);
    CHECK_EQ(st.st_size, 1);
    CHECK((uint64_t)st.st_blocks * 512 <= 64u << 10);
    close(fd);
    unlink(path);
}

int main(void)
{
    RUN(write_then_read);
    RUN(read_errors);
    RUN(create_at_and_nofollow);
    RUN(write_behind);
    RUN(reserve);
    return test_done();
}
