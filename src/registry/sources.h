/*
 * The registries a daemon asks for plugins, in order: `fastn registry
 * add/list/remove`.
 *
 * They live in $FASTN_HOME/registries, one per line, "NAME URL" ('#'
 * starts a comment), written by the daemon (atomically: a temporary file
 * renamed into place). Without that file the list is the default: the
 * installation's own plugin folder, file://PREFIX/share/fastn/plugins,
 * named "bundled", which holds the bundled plugins and the index.json the
 * build wrote; so a fresh installation finds its plugins with no server
 * anywhere. Once the user adds or removes a registry the file holds the
 * whole list (the default included, unless it was removed).
 *
 * A URL is https://HOST..., http://HOST... or file:///ABSOLUTE/PATH, at
 * most REGISTRY_URL_MAX - 1 bytes of printable ASCII; it is the folder
 * that holds index.json. A name is what a key's name may be
 * (registry_key_name_valid); added without one, a registry is named after
 * its URL's host (or its folder's name for file://), made unique.
 *
 * Reading never fails for a bad line: it is skipped and logged, so one
 * hand-edited mistake does not hide the other registries.
 */
#ifndef FASTN_REGISTRY_SOURCES_H
#define FASTN_REGISTRY_SOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include "registry/fetch.h"
#include "registry/keyring.h"
#include "util/buf.h"

#define REGISTRY_SOURCES_FILE "registries"
#define REGISTRY_SOURCES_MAX 64
#define REGISTRY_DEFAULT_NAME "bundled"

struct registry_source {
    char name[REGISTRY_KEY_NAME_MAX + 1];
    char url[REGISTRY_URL_MAX];
    bool is_default; /* the installation's plugin folder */
};

struct registry_sources {
    struct registry_source v[REGISTRY_SOURCES_MAX];
    size_t n;
};

/* Reads path into *out. A missing file gives the default list: one
 * registry, default_url (may be NULL: none), named REGISTRY_DEFAULT_NAME.
 * Bad lines are skipped and logged. Errors: FASTN_ERR_IO (unreadable,
 * not a file). */
int registry_sources_load(struct registry_sources *out, const char *path,
                          const char *default_url);
/* Parses the file's text[0..len) (no NUL needed) into *out; path names
 * it in the log lines of the lines skipped. */
void registry_sources_parse(struct registry_sources *out, const char *text,
                            size_t len, const char *path,
                            const char *default_url);
/* The file's text for the list, appended to out. Errors:
 * FASTN_ERR_TOO_LARGE (out's maximum), FASTN_ERR_NOMEM. */
int registry_sources_format(const struct registry_sources *s, struct buf *out);
/* Writes the list to path (0644, atomically). Errors: FASTN_ERR_IO. */
int registry_sources_save(const struct registry_sources *s, const char *path);

/* Whether url is one a registry may have (see above). */
bool registry_source_url_valid(const char *url);

/* Appends url as a registry named name (NULL: derived from the URL).
 * default_url marks the installation's own. On success *out (may be
 * NULL) is the new entry. Errors (err says which): FASTN_ERR_INVAL (a bad
 * URL or name), FASTN_ERR_EXISTS (the URL or the name is there already),
 * FASTN_ERR_TOO_LARGE (REGISTRY_SOURCES_MAX). */
int registry_sources_add(struct registry_sources *s, const char *url,
                         const char *name, const char *default_url,
                         struct registry_source *out, char *err, size_t errlen);
/* Removes the registry with that name or URL; *removed (may be NULL) gets
 * it. Errors: FASTN_ERR_NOT_FOUND (err says what there is). */
int registry_sources_remove(struct registry_sources *s, const char *what,
                            struct registry_source *removed, char *err,
                            size_t errlen);

#endif
