/*
 * fastn mail send --attach (src/cli/mail_attach.c): the MIME body of a
 * message with attachments.
 */
#ifndef FASTN_CLI_MAIL_H
#define FASTN_CLI_MAIL_H

#include <stddef.h>

/* The content type guessed from a file name's extension. */
const char *mail_attach_type(const char *name);
/* Builds into out (at most max bytes; *len) a multipart/mixed body: text
 * as the first part, then each file (sizes[i]: its size); ctype gets the
 * Content-Type header's value. Returns 0; FASTN_ERR_TOO_LARGE when it
 * does not fit; CLI_EXIT_FAIL after saying why (a file not readable). */
int mail_attach_build(const char *text, size_t tlen, char **files,
                      size_t nfiles, size_t *sizes, char *ctype,
                      size_t ctype_cap, char *out, size_t *len, size_t max);

#endif
