/*
 * JSON output through jansson for the commands of signed plugins and
 * registries (trust.c, registry.c, plugin_get.c): one object per command
 * on stdout, and an error under --json as {"error": {"code", "message"}}
 * with the same exit code as the text "fastn CMD: MESSAGE" on stderr.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/jout.h"

static struct cli *out_cli;

void cli_out_init(struct cli *cli)
{
    out_cli = cli;
}

void cli_emit(json_t *o)
{
    if (!o)
        return;
    json_dumpf(o, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(o);
}

json_t *jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");

    /* not UTF-8: said as such rather than dropped */
    return j ? j : json_string("(not UTF-8 text)");
}

json_t *jstr_list(char *const *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, jstr(v[i]));
    return a ? a : json_null();
}

int cli_error(int exit, int err, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (out_cli && out_cli->json) {
        json_t *e = json_object();
        json_object_set_new(e, "code", json_string(fastn_err_name(err)));
        json_object_set_new(e, "message", jstr(msg));
        cli_emit(json_pack("{s:o}", "error", e));
    } else {
        fprintf(stderr, "fastn: %s\n", msg);
    }
    return exit;
}

int cli_fail_json(struct fastn_client *c, int err)
{
    const char *remote = c ? fastn_client_error_message(c) : "";
    const char *what = fastn_strerror(err);

    if (!(out_cli && out_cli->json))
        return cli_fail(c, err);
    if (remote[0] && strstr(remote, what))
        return cli_error(CLI_EXIT_FAIL, err, "%s", remote);
    if (remote[0])
        return cli_error(CLI_EXIT_FAIL, err, "%s: %s", what, remote);
    return cli_error(CLI_EXIT_FAIL, err, "%s", what);
}
