/* The CLI's JSON output through jansson (jout.c), for the commands of
 * signed plugins and registries. */
#ifndef FASTN_CLI_JOUT_H
#define FASTN_CLI_JOUT_H

#include "cli/cli.h"

#include <jansson.h>

/* jout.c: JSON through jansson (trust, registry, plugin search/update):
 * the invocation whose --json the helpers follow; one object printed
 * (taken); strings and lists; an error as "fastn: MESSAGE" on stderr or
 * {"error": {"code", "message"}} under --json, returning exit;
 * cli_fail_json is cli_fail that follows --json. */
void cli_out_init(struct cli *cli);
void cli_emit(json_t *o);
json_t *jstr(const char *s);
json_t *jstr_list(char *const *v, size_t n);
int cli_error(int exit, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cli_fail_json(struct fastn_client *c, int err);
/* registry.c: registries (and how reading each went) as a JSON array. */
json_t *cli_registries_json(const struct fastn_registry *v, size_t n);

#endif
