/*
 * Where a fastn home is and where its control socket lives; shared by
 * fastnd and libfastn so both resolve a home the same way.
 */
#ifndef FASTN_UTIL_HOME_H
#define FASTN_UTIL_HOME_H

#include <stddef.h>

#define HOME_SOCKET_NAME "fastnd.sock"

/* Resolves the home folder into out (n bytes), as an absolute path:
 * explicit_home when given (relative to the working directory), else
 * $FASTN_HOME, else ~/.fastn. Errors: FASTN_ERR_TOO_LARGE (does not fit),
 * FASTN_ERR_NOT_FOUND (no home directory to put ~/.fastn in). */
int home_resolve(const char *explicit_home, char *out, size_t n);

/* Joins home and name ("HOME/name") into out. Errors: TOO_LARGE. */
int home_path(const char *home, const char *name, char *out, size_t n);

#endif
