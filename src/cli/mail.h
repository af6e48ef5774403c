/*
 * fastn mail send --attach (src/cli/mail_attach.c): the MIME body of a
 * message with attachments.
 */
#ifndef FASTN_CLI_MAIL_H
#define FASTN_CLI_MAIL_H

#include <stddef.h>
#include <stdint.h>

/* The content type guessed from a file name's extension. */
const char *mail_attach_type(const char *name);
/* Where a body goes: write takes its bytes in order, in any pieces;
 * returns 0 or stops the body with its error. */
struct mail_sink {
    int (*write)(void *ctx, const void *p, size_t n);
    void *ctx;
};
/* A new MIME boundary (bd) and the Content-Type value that names it.
 * Returns 0, or CLI_EXIT_FAIL after saying why. */
int mail_attach_ctype(char *bd, size_t bd_cap, char *ctype, size_t cap);
/* Opens every file for reading (fds[i], sizes[i]): regular files only.
 * Returns 0, or CLI_EXIT_FAIL after saying which file and why (none is
 * left open then). */
int mail_attach_open(char **files, size_t n, int *fds, uint64_t *sizes);
/* The bytes the files make in the body (base64 and part headers), within
 * a few hundred. */
uint64_t mail_attach_size(const uint64_t *sizes, size_t n);
/* Writes a multipart/mixed body to sink: the text read from text_fd as
 * its first part, then each file from fds[i] (names from files[i]).
 * Returns 0, the sink's error, or CLI_EXIT_FAIL after saying why (a file
 * or the text not readable). The fds stay open. */
int mail_attach_write(int text_fd, char **files, const int *fds, size_t nfiles,
                      const char *bd, const struct mail_sink *sink);

#endif
