/*
 * Whole-file reads and atomic writes, shared by the daemon, the CLI and
 * the tools, so that bounds, EINTR and fsync are handled in one place.
 */
#ifndef FASTN_UTIL_FILE_H
#define FASTN_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads the regular file at path, at most max bytes, into a new buffer
 * (*out, freed by the caller with free(); a NUL byte follows the data so
 * text can be used as a string). Errors: FASTN_ERR_NOT_FOUND, _IO (errno
 * says why), _INVAL (not a regular file), _TOO_LARGE (over max), _NOMEM.
 * On error *out is untouched. */
int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len);

/* As file_read_all, but the last component of path may not be a symbolic
 * link (O_NOFOLLOW): one is FASTN_ERR_PERM. For the files of a home that
 * no link may redirect. */
int file_read_nofollow(const char *path, size_t max, uint8_t **out,
                       size_t *len);

/* Writes all n bytes to fd (a blocking one), going on after EINTR and
 * short writes. Errors: FASTN_ERR_IO (errno says why). */
int fd_write_all(int fd, const void *data, size_t n);

/* Replaces path with data atomically: writes path.tmp (mode, O_NOFOLLOW),
 * fsyncs it and renames it over path, so a crash leaves either the old or
 * the new file, never a torn one. Errors: FASTN_ERR_TOO_LARGE (path too
 * long), FASTN_ERR_IO. */
int file_write_atomic(const char *path, const void *data, size_t len,
                      mode_t mode);

/* Creates the file name (relative to the folder dirfd, or AT_FDCWD) with
 * data and exactly mode, complete or not at all: writes name.tmp (a new
 * file, O_EXCL | O_NOFOLLOW), fsyncs it and links it as name. Nothing may
 * be at name, in any form (a file, a folder, a symbolic link even one to
 * nowhere): so nothing is ever replaced or written through a link. For a
 * secret that must not overwrite another. Errors: FASTN_ERR_EXISTS,
 * _TOO_LARGE (name too long), _IO (errno says why). */
int file_create_at(int dirfd, const char *name, const void *data, size_t len,
                   mode_t mode);

/* Write-behind for a file written front to back in bulk (the files
 * `fastn files get` writes). Each time FILE_BEHIND_WINDOW more bytes
 * were written, their writeback is started (sync_file_range, which does
 * not wait for the writes, though it may wait for room in the disk's
 * queue: not for an event loop), and what was written more than two
 * windows before leaves the page cache (POSIX_FADV_DONTNEED: pages still
 * dirty or being written stay; the window before is tried once more). A
 * bulk write then cycles through a few windows of page cache instead of
 * taking a new page for every 4 KiB written: it evicts nothing the
 * machine had cached, and leaves no gigabytes of dirty pages to flush at
 * once. Nothing waits and nothing is synced: a process killed loses
 * nothing it wrote (dirty pages are never dropped). Zeroed, it starts at
 * offset 0; file_behind_from starts it at an offset. */
#define FILE_BEHIND_WINDOW ((uint64_t)8 << 20)

struct file_behind {
    uint64_t started; /* writeback started up to here */
    uint64_t dropped; /* dropped from the page cache up to here */
};

void file_behind_from(struct file_behind *b, uint64_t at);

/* fd's bytes are written up to end (the bytes before it are not written
 * again): starts writeback and drops pages as above. A file cut below
 * what was started starts again from end. */
void file_behind_wrote(struct file_behind *b, int fd, uint64_t end);

/* Reserves the disk blocks for len bytes of fd at off before they are
 * written (fallocate with FALLOC_FL_KEEP_SIZE: the file's size and what
 * it holds stay as they are). A disk without room for them says so
 * before the first byte, not after most of them; and the file system
 * allocates the blocks at once instead of write by write (on ext4 the
 * writes then cost less CPU: delayed allocation's bookkeeping is done
 * once). What the writes stop short of stays reserved past the file's
 * end until ftruncate(fd, its size) or a truncating open gives it back.
 * 0: reserved, or the file system cannot reserve (the writes find their
 * room as they go); FASTN_ERR_DISK_FULL: no room (errno: ENOSPC, EDQUOT
 * or EFBIG), and all that was reserved past the file's end is given
 * back. */
int file_reserve(int fd, uint64_t off, uint64_t len);

#endif
