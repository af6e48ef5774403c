/*
 * What index.c, index_entry.c and index_build.c share: the parse context
 * whose errors name the registry and the entry.
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

/* One element of "plugins" into *e (zeroed on entry; on failure it may
 * hold allocations: registry_entry_cleanup). */
int index_entry_parse(struct index_ctx *c, const json_t *v,
                      struct registry_entry *e);
/* One entry as a JSON object (NULL: no memory). */
json_t *index_entry_to_json(const struct registry_entry *e);

#endif
