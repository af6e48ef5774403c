/*
 * errbuf_say(): the one way a function that reports into a caller's
 * buffer (char *err, size_t errlen) says why it failed: formats the
 * message into err (when there is one) and returns code, so that a
 * failure reads `return errbuf_say(err, errlen, FASTN_ERR_X, "...", ...);`.
 */
#ifndef FASTN_UTIL_ERRBUF_H
#define FASTN_UTIL_ERRBUF_H

#include <stddef.h>

int errbuf_say(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
