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

/* Writes all n bytes to fd (a blocking one), going on after EINTR and
 * short writes. Errors: FASTN_ERR_IO (errno says why). */
int fd_write_all(int fd, const void *data, size_t n);

/* Replaces path with data atomically: writes path.tmp (mode, O_NOFOLLOW),
 * fsyncs it and renames it over path, so a crash leaves either the old or
 * the new file, never a torn one. Errors: FASTN_ERR_TOO_LARGE (path too
 * long), FASTN_ERR_IO. */
int file_write_atomic(const char *path, const void *data, size_t len,
                      mode_t mode);

#endif
