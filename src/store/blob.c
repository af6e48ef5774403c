/*
 * Plugin blobs: data/NAME/blobs/, one file per blob named by the
 * lowercase hex of its key (1..STORE_BLOB_KEY_MAX bytes of any value, so
 * a name is always one path component of [0-9a-f]). Beside the plugin's
 * database and counted in the same quota (store.h, "Plugin blobs").
 *
 * A put writes the data and a trailer (STORE_BLOB_TRAILER bytes: a magic
 * and the data's length) to tmp.HEX, then renames it over HEX: a reader
 * sees a blob whole or not at all. Nothing is synced (the database's
 * synchronous=NORMAL does not sync each commit either): a process killed
 * loses nothing, but after a power cut a file renamed in the last seconds
 * may be short or hold zeros; its trailer then does not match its size,
 * and it reads as missing (and is deleted), never torn.
 *
 * Each blob counts as its file rounded up to STORE_BLOB_UNIT (so that
 * empty blobs still cost); the total is counted by scanning the folder
 * once when it opens (stray tmp. files from a crash are removed then).
 * Files are opened, used and closed within each call: no descriptor but
 * the folder's stays open.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastn/err.h"
#include "store/store.h"
#include "store/store_int.h"

#define NAME_LEN (2 * STORE_BLOB_KEY_MAX + 8)
#define TMP_PREFIX "tmp."

static const uint8_t magic[8] = {'f', 'a', 's', 't', 'n', 'b', 'l', '1'};

struct store_blobs {
    char *dir;
    int dfd; /* -1 until the folder exists */
    uint64_t quota;
    uint64_t used;            /* the blobs' files, as counted */
    struct store__acct *acct; /* the database's: its files, blob_bytes */
};

/* The blobs now take n bytes (the database's writes count them). */
static void set_used(struct store_blobs *b, uint64_t n)
{
    b->used = n;
    if (b->acct)
        b->acct->blob_bytes = n;
}

static uint64_t cost(uint64_t file_size)
{
    uint64_t u = STORE_BLOB_UNIT;
    return file_size == 0 ? u : (file_size + u - 1) / u * u;
}

static int key_name(const void *key, size_t len, bool tmp, char out[NAME_LEN])
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *k = key;
    size_t n = 0;

    if (!key || len == 0 || len > STORE_BLOB_KEY_MAX)
        return FASTN_ERR_INVAL;
    if (tmp) {
        memcpy(out, TMP_PREFIX, sizeof(TMP_PREFIX) - 1);
        n = sizeof(TMP_PREFIX) - 1;
    }
    for (size_t i = 0; i < len; i++) {
        out[n++] = hex[k[i] >> 4];
        out[n++] = hex[k[i] & 15];
    }
    out[n] = '\0';
    return 0;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int io_err(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG ? FASTN_ERR_DISK_FULL
           : e == ENOMEM                            ? FASTN_ERR_NOMEM
                                                    : FASTN_ERR_IO;
}

/* Opens the folder, making it when make is set; 1 when it does not exist
 * (and make is not set). */
static int dir_open(struct store_blobs *b, bool make)
{
    if (b->dfd >= 0)
        return 0;
    if (make && mkdir(b->dir, 0700) != 0 && errno != EEXIST)
        return io_err(errno);
    b->dfd = open(b->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (b->dfd < 0)
        return errno == ENOENT && !make ? 1 : io_err(errno);
    return 0;
}

/* Counts the blobs and removes stray temporary files. */
static int scan(struct store_blobs *b)
{
    int fd = dup(b->dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    struct stat st;

    if (!d) {
        if (fd >= 0)
            close(fd);
        return io_err(errno);
    }
    uint64_t used = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (strncmp(e->d_name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) == 0) {
            unlinkat(b->dfd, e->d_name, 0);
            continue;
        }
        if (fstatat(b->dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode))
            used += cost((uint64_t)st.st_size);
    }
    closedir(d);
    set_used(b, used);
    return 0;
}

int store_blobs_open(const char *dir, uint64_t quota, struct store__acct *acct,
                     struct store_blobs **out)
{
    struct store_blobs *b;
    int err;

    if (!dir || !out)
        return FASTN_ERR_INVAL;
    if (!(b = calloc(1, sizeof(*b))) || !(b->dir = strdup(dir))) {
        free(b);
        return FASTN_ERR_NOMEM;
    }
    b->dfd = -1;
    b->quota = quota;
    b->acct = acct;
    err = dir_open(b, false);
    if (err == 0)
        err = scan(b);
    if (err < 0) {
        store_blobs_close(b);
        return err;
    }
    *out = b;
    return 0;
}

void store_blobs_close(struct store_blobs *b)
{
    if (!b)
        return;
    if (b->dfd >= 0)
        close(b->dfd);
    free(b->dir);
    free(b);
}

int store_blobs_destroy(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int err = 0;

    if (!d)
        return errno == ENOENT ? 0 : FASTN_ERR_IO;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT)
            err = FASTN_ERR_IO;
    closedir(d);
    if (!err && rmdir(dir) != 0 && errno != ENOENT)
        err = FASTN_ERR_IO;
    return err;
}

uint64_t store_blobs_used(const struct store_blobs *b)
{
    return b ? b->used : 0;
}

static uint64_t others_used(const struct store_blobs *b)
{
    return b->acct ? b->acct->db_bytes + b->acct->wal_bytes : 0;
}

/* The counted size of the file `name` (0: none there). */
static uint64_t counted(struct store_blobs *b, const char *name)
{
    struct stat st;
    if (fstatat(b->dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode))
        return 0;
    return cost((uint64_t)st.st_size);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return io_err(k < 0 ? errno : ENOSPC);
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int store_blob_put(struct store_blobs *b, const void *key, size_t key_len,
                   const void *data, size_t len)
{
    char name[NAME_LEN], tmp[NAME_LEN];
    uint8_t trailer[STORE_BLOB_TRAILER];
    int err, fd;

    if (!b || (len && !data))
        return FASTN_ERR_INVAL;
    if ((err = key_name(key, key_len, false, name)) ||
        (err = key_name(key, key_len, true, tmp)))
        return err;
    if (len > STORE_BLOB_MAX)
        return FASTN_ERR_TOO_LARGE;
    if ((err = dir_open(b, true)))
        return err;
    uint64_t old = counted(b, name), add = cost(len + STORE_BLOB_TRAILER);
    if (b->quota && others_used(b) + b->used - old + add > b->quota)
        return FASTN_ERR_STORE_QUOTA;
    fd = openat(b->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return io_err(errno);
    memcpy(trailer, magic, sizeof(magic));
    put_le64(trailer + 8, len);
    err = write_all(fd, data, len);
    if (!err)
        err = write_all(fd, trailer, sizeof(trailer));
    if (close(fd) != 0 && !err)
        err = io_err(errno);
    if (!err && renameat(b->dfd, tmp, b->dfd, name) != 0)
        err = io_err(errno);
    if (err) {
        unlinkat(b->dfd, tmp, 0);
        return err;
    }
    set_used(b, b->used - old + add);
    return 0;
}

/* Opens blob `name` and checks its trailer: the fd and the data's length,
 * or FASTN_ERR_NOT_FOUND (a file whose trailer does not match its size,
 * left short by a power cut, is deleted). */
static int open_blob(struct store_blobs *b, const char *name, uint64_t *len)
{
    uint8_t t[STORE_BLOB_TRAILER];
    struct stat st;
    int fd, err = dir_open(b, false);

    if (err)
        return err > 0 ? FASTN_ERR_NOT_FOUND : err;
    fd = openat(b->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? FASTN_ERR_NOT_FOUND : io_err(errno);
    if (fstat(fd, &st) != 0) {
        err = io_err(errno);
        close(fd);
        return err;
    }
    if (S_ISREG(st.st_mode) && st.st_size >= STORE_BLOB_TRAILER &&
        pread(fd, t, sizeof(t), st.st_size - STORE_BLOB_TRAILER) ==
            (ssize_t)sizeof(t) &&
        memcmp(t, magic, sizeof(magic)) == 0 &&
        get_le64(t + 8) == (uint64_t)st.st_size - STORE_BLOB_TRAILER) {
        *len = (uint64_t)st.st_size - STORE_BLOB_TRAILER;
        return fd;
    }
    close(fd);
    if (S_ISREG(st.st_mode) && unlinkat(b->dfd, name, 0) == 0) {
        uint64_t c = cost((uint64_t)st.st_size);
        set_used(b, b->used > c ? b->used - c : 0);
    }
    return FASTN_ERR_NOT_FOUND;
}

int64_t store_blob_size(struct store_blobs *b, const void *key, size_t key_len)
{
    char name[NAME_LEN];
    uint64_t len;
    int fd, err;

    if (!b)
        return FASTN_ERR_INVAL;
    if ((err = key_name(key, key_len, false, name)))
        return err;
    if ((fd = open_blob(b, name, &len)) < 0)
        return fd;
    close(fd);
    return (int64_t)len;
}

int64_t store_blob_read(struct store_blobs *b, const void *key, size_t key_len,
                        uint64_t offset, void *buf, size_t cap,
                        int (*before)(void *arg, uint64_t bytes), void *arg)
{
    char name[NAME_LEN];
    uint64_t len;
    size_t want, got = 0;
    int fd, err;

    if (!b || (cap && !buf))
        return FASTN_ERR_INVAL;
    if ((err = key_name(key, key_len, false, name)))
        return err;
    if ((fd = open_blob(b, name, &len)) < 0)
        return fd;
    want = offset >= len        ? 0
           : len - offset < cap ? (size_t)(len - offset)
                                : cap;
    if (before && (err = before(arg, want))) {
        close(fd);
        return err;
    }
    while (got < want) {
        ssize_t k =
            pread(fd, (uint8_t *)buf + got, want - got, (off_t)(offset + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            err = k < 0 ? io_err(errno) : FASTN_ERR_NOT_FOUND;
            close(fd);
            return err;
        }
        got += (size_t)k;
    }
    close(fd);
    return (int64_t)got;
}

int store_blob_delete(struct store_blobs *b, const void *key, size_t key_len)
{
    char name[NAME_LEN];
    int err;

    if (!b)
        return FASTN_ERR_INVAL;
    if ((err = key_name(key, key_len, false, name)))
        return err;
    if ((err = dir_open(b, false)))
        return err > 0 ? FASTN_ERR_NOT_FOUND : err;
    uint64_t c = counted(b, name);
    if (unlinkat(b->dfd, name, 0) != 0)
        return errno == ENOENT ? FASTN_ERR_NOT_FOUND : io_err(errno);
    set_used(b, b->used > c ? b->used - c : 0);
    return 0;
}
