/* Whole-file reads and atomic writes; see file.h. */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastn/err.h"

/* Reads until EOF or max + 1 bytes, growing the buffer; the size fstat
 * reports is only a hint (the file may change while it is read). */
static int read_fd(int fd, size_t hint, size_t max, uint8_t **out, size_t *len)
{
    size_t cap = (hint < max ? hint : max) + 1, n = 0;
    uint8_t *data = malloc(cap + 1);

    if (!data)
        return FASTN_ERR_NOMEM;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                free(data);
                return FASTN_ERR_TOO_LARGE;
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            uint8_t *p = realloc(data, ncap + 1);
            if (!p) {
                free(data);
                return FASTN_ERR_NOMEM;
            }
            data = p;
            cap = ncap;
        }
        ssize_t r = read(fd, data + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(data);
            return FASTN_ERR_IO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        free(data);
        return FASTN_ERR_TOO_LARGE;
    }
    data[n] = 0;
    *out = data;
    *len = n;
    return 0;
}

static int read_path(const char *path, int oflags, size_t max, uint8_t **out,
                     size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | oflags), err, saved;

    if (fd < 0 && errno == ELOOP && (oflags & O_NOFOLLOW))
        return FASTN_ERR_PERM;
    if (fd < 0)
        return errno == ENOENT ? FASTN_ERR_NOT_FOUND : FASTN_ERR_IO;
    if (fstat(fd, &st) != 0) {
        err = FASTN_ERR_IO;
    } else if (!S_ISREG(st.st_mode)) {
        err = FASTN_ERR_INVAL;
    } else if ((uint64_t)st.st_size > max) {
        err = FASTN_ERR_TOO_LARGE;
    } else {
        err = read_fd(fd, (size_t)st.st_size, max, out, len);
    }
    saved = errno;
    close(fd);
    errno = saved;
    return err;
}

int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len)
{
    return read_path(path, 0, max, out, len);
}

/* (O_NONBLOCK: a FIFO put there does not block the open; fstat then
 * refuses it as not a regular file.) */
int file_read_nofollow(const char *path, size_t max, uint8_t **out, size_t *len)
{
    return read_path(path, O_NOFOLLOW | O_NONBLOCK, max, out, len);
}

int fd_write_all(int fd, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return FASTN_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

void file_behind_from(struct file_behind *b, uint64_t at)
{
    b->started = b->dropped = at;
}

void file_behind_wrote(struct file_behind *b, int fd, uint64_t end)
{
    if (end < b->started)
        file_behind_from(b, end);
    if (end - b->started < FILE_BEHIND_WINDOW)
        return;
    /* errors change nothing: the kernel writes back and evicts later */
    (void)!sync_file_range(fd, (off_t)b->started, (off_t)(end - b->started),
                           SYNC_FILE_RANGE_WRITE);
    b->started = end;
    if (end - b->dropped <= 2 * FILE_BEHIND_WINDOW)
        return;
    uint64_t to = end - 2 * FILE_BEHIND_WINDOW;
    uint64_t from =
        b->dropped > FILE_BEHIND_WINDOW ? b->dropped - FILE_BEHIND_WINDOW : 0;
    (void)posix_fadvise(fd, (off_t)from, (off_t)(to - from),
                        POSIX_FADV_DONTNEED);
    b->dropped = to;
}

int file_reserve(int fd, uint64_t off, uint64_t len)
{
    struct stat st;

    if (off > INT64_MAX || len > INT64_MAX - off) {
        errno = EFBIG;
        return FASTN_ERR_DISK_FULL;
    }
    if (len == 0 || !fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
        return 0;
    if (errno != ENOSPC && errno != EDQUOT && errno != EFBIG)
        return 0; /* EOPNOTSUPP and the like: nothing reserved */
    int e = errno;
    /* a truncate to the size it has frees what lies past it */
    if (!fstat(fd, &st))
        (void)!ftruncate(fd, st.st_size);
    errno = e;
    return FASTN_ERR_DISK_FULL;
}

int file_write_atomic(const char *path, const void *data, size_t len,
                      mode_t mode)
{
    char tmp[PATH_MAX + 8];
    int fd, err;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return FASTN_ERR_TOO_LARGE;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return FASTN_ERR_IO;
    err = fd_write_all(fd, data, len);
    /* open's mode is filtered by the umask; the file gets exactly mode */
    if (!err && (fchmod(fd, mode) != 0 || fsync(fd) != 0))
        err = FASTN_ERR_IO;
    if (close(fd) != 0 && !err)
        err = FASTN_ERR_IO;
    if (!err && rename(tmp, path) != 0)
        err = FASTN_ERR_IO;
    if (err)
        unlink(tmp);
    return err;
}

int file_create_at(int dirfd, const char *name, const void *data, size_t len,
                   mode_t mode)
{
    char tmp[PATH_MAX + 8];
    int fd, err, saved;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= (int)sizeof(tmp))
        return FASTN_ERR_TOO_LARGE;
    /* a temporary file left by a crash goes; O_EXCL | O_NOFOLLOW then
     * make a new file, never open one that is (or a link) there */
    if (unlinkat(dirfd, tmp, 0) != 0 && errno != ENOENT)
        return FASTN_ERR_IO;
    fd = openat(dirfd, tmp,
                O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return FASTN_ERR_IO;
    err = fd_write_all(fd, data, len);
    if (!err && (fchmod(fd, mode) != 0 || fsync(fd) != 0))
        err = FASTN_ERR_IO;
    if (close(fd) != 0 && !err)
        err = FASTN_ERR_IO;
    /* link(2) never replaces and never follows a link at name */
    if (!err && linkat(dirfd, tmp, dirfd, name, 0) != 0)
        err = errno == EEXIST ? FASTN_ERR_EXISTS : FASTN_ERR_IO;
    saved = errno;
    unlinkat(dirfd, tmp, 0);
    if (!err && dirfd != AT_FDCWD && fsync(dirfd) != 0)
        err = FASTN_ERR_IO;
    errno = saved;
    return err;
}
