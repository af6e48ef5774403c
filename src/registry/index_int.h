/*
 * What index.c, index_entry.c, index_build.c and plugin_xfer.c share: the
 * parse context whose errors name the registry and the entry, and the
 * character rules of names, versions, protocol ids and text.
 */
#ifndef FASTN_REGISTRY_INDEX_INT_H
#define FASTN_REGISTRY_INDEX_INT_H

#include <jansson.h>

#include "registry/index.h"

struct index_ctx {
    const char *registry;
    char *err;
    size_t errlen;
    int entry; /* index in "plugins", or -1 */
};

/* Writes "registry R: plugins[i].WHAT" to err and returns code. */
int index_bad(struct index_ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define BAD(c, ...) index_bad((c), FASTN_ERR_INDEX_MALFORMED, __VA_ARGS__)

enum registry_charset {
    CS_NAME,     /* [a-z][a-z0-9_-]*, as a manifest's name */
    CS_VERSION,  /* registry_version_valid */
    CS_FILE,     /* [A-Za-z0-9][A-Za-z0-9._-]*, ends ".wasm" */
    CS_PROTOCOL, /* /[!-~]* */
    CS_CAP,      /* [a-z][a-z0-9-]* */
    CS_TEXT,     /* printable UTF-8 (minisign_text_is_printable) */
};

/* Checks s[0..n) against cs: 0 if it fits, the 1-based position of the
 * first bad character, or -1 when the whole is wrong (a version, a file
 * name's suffix, bad UTF-8). */
int registry_chars_check(enum registry_charset cs, const char *s, size_t n);

/* One element of "plugins" into *e (zeroed on entry; on failure it may
 * hold allocations: registry_entry_cleanup). */
int index_entry_parse(struct index_ctx *c, const json_t *v,
                      struct registry_entry *e);
/* One entry as a JSON object (NULL: no memory). */
json_t *index_entry_to_json(const struct registry_entry *e);

#endif
