/*
 * fastn registry add|list|remove: the registries the daemon asks for
 * plugins (docs/REGISTRY.md), through libfastn.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "util/term.h"

const char cli_registry_usage[] =
    "usage: fastn registry COMMAND [ARGS] [--json]\n"
    "\n"
    "  add URL [--name NAME]  add a registry (admin), asked after the\n"
    "                         others: URL is https://..., http://... or\n"
    "                         file:///..., the folder that holds its\n"
    "                         index.json (a local folder's path works too);\n"
    "                         its index is read first, and a registry that\n"
    "                         cannot be read is not added\n"
    "  list                   the registries, in the order they are asked\n"
    "  remove NAME|URL        stop asking it (admin)\n"
    "  build DIR [--key KEY.pub] [--output FILE]\n"
    "                         for a publisher: write DIR/index.json from\n"
    "                         the signed plugins in DIR (each FILE.wasm\n"
    "                         with its FILE.wasm.minisig); --key checks\n"
    "                         every signature with that key first. Needs\n"
    "                         no daemon\n"
    "\n"
    "The installation's own plugin folder, file://PREFIX/share/fastn/plugins\n"
    "(named \"bundled\"), is the default registry: the plugins that came with\n"
    "fastn install from it with no server. A publisher makes a registry with\n"
    "fastn registry build DIR.\n"
    "\n"
    "--json: add, list, remove {\"registries\": [{\"name\", \"url\",\n"
    "\"default\", \"plugins\" (when its index was read)}]}; build {\"index\"\n"
    "(the file written), \"plugins\" (how many)}.\n";

static json_t *registry_json(const struct fastn_registry *r)
{
    json_t *o = json_pack("{s:s,s:o,s:b}", "name", r->name, "url", jstr(r->url),
                          "default", r->is_default);

    if (r->read)
        json_object_set_new(o, "plugins", json_integer(r->plugins));
    if (r->error) {
        json_object_set_new(o, "error", json_string(fastn_err_name(r->error)));
        json_object_set_new(o, "error_text", jstr(r->error_text));
    }
    return o;
}

json_t *cli_registries_json(const struct fastn_registry *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, registry_json(&v[i]));
    return a;
}

/* A local folder given as a path becomes its file:// URL. */
static const char *as_url(const char *arg, char *buf, size_t n)
{
    char real[PATH_MAX];
    struct stat st;

    if (strstr(arg, "://") || stat(arg, &st) != 0 || !S_ISDIR(st.st_mode) ||
        !realpath(arg, real) || snprintf(buf, n, "file://%s", real) >= (int)n)
        return arg;
    return buf;
}

static int do_add(struct cli *cli, struct fastn_client *c, const char *arg,
                  const char *name)
{
    struct fastn_registry_list *l = NULL;
    char url[PATH_MAX + 16];
    int rc =
        fastn_client_registry_add(c, as_url(arg, url, sizeof(url)), name, &l);

    if (rc)
        return cli_fail(c, rc);
    if (cli->json)
        cli_emit(
            json_pack("{s:o}", "registries",
                      cli_registries_json(l->registries, l->n_registries)));
    else if (l->n_registries == 1)
        printf("added registry %s: %s (%u plugin%s)\n", l->registries[0].name,
               l->registries[0].url, l->registries[0].plugins,
               l->registries[0].plugins == 1 ? "" : "s");
    fastn_registry_list_free(l);
    return 0;
}

static int do_list(struct cli *cli, struct fastn_client *c)
{
    struct fastn_registry_list *l = NULL;
    int rc = fastn_client_registry_list(c, &l);

    if (rc)
        return cli_fail(c, rc);
    if (cli->json) {
        cli_emit(
            json_pack("{s:o}", "registries",
                      cli_registries_json(l->registries, l->n_registries)));
    } else if (l->n_registries == 0) {
        cli_note("no registries (fastn registry add URL)");
    } else {
        for (size_t i = 0; i < l->n_registries; i++) {
            printf("%-20s ", l->registries[i].name);
            term_fputs(l->registries[i].url, stdout, 0);
            printf("%s\n", l->registries[i].is_default
                               ? "  (the installation's plugins)"
                               : "");
        }
    }
    fastn_registry_list_free(l);
    return 0;
}

static int do_remove(struct cli *cli, struct fastn_client *c, const char *what)
{
    struct fastn_registry_list *l = NULL;
    int rc = fastn_client_registry_remove(c, what, &l);

    if (rc)
        return cli_fail(c, rc);
    if (cli->json)
        cli_emit(
            json_pack("{s:o}", "registries",
                      cli_registries_json(l->registries, l->n_registries)));
    else if (l->n_registries == 1)
        printf("removed registry %s (%s)\n", l->registries[0].name,
               l->registries[0].url);
    fastn_registry_list_free(l);
    return 0;
}

/* `registry build`: runs fastn-registry-build, installed beside fastn's
 * helpers (PREFIX/lib/fastn), or in the build folder beside fastn. */
static int do_build(const struct cli *cli, const char *dir, const char *key,
                    const char *output)
{
    char exe[PATH_MAX], tool[PATH_MAX + 64], *slash;
    const char *argv[8];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    int k = 0;

    exe[n > 0 ? n : 0] = '\0';
    if ((slash = strrchr(exe, '/')))
        *slash = '\0';
    snprintf(tool, sizeof(tool), "%s/../lib/fastn/fastn-registry-build", exe);
    if (access(tool, X_OK) != 0)
        snprintf(tool, sizeof(tool), "%s/fastn-registry-build", exe);
    argv[k++] = "fastn-registry-build";
    if (key) {
        argv[k++] = "--key";
        argv[k++] = key;
    }
    if (output) {
        argv[k++] = "--output";
        argv[k++] = output;
    }
    if (cli->json)
        argv[k++] = "--json";
    argv[k++] = dir;
    argv[k] = NULL;
    execv(tool, (char *const *)argv);
    return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOT_FOUND,
                     "cannot run %s: %s (is fastn installed whole?)", tool,
                     strerror(errno));
}

int cli_cmd_registry(struct cli *cli, int argc, char **argv)
{
    const char *name = NULL, *key = NULL, *output = NULL;
    const struct cli_opt opts[] = {{"--name", NULL, &name},
                                   {"--key", NULL, &key},
                                   {"--output", NULL, &output},
                                   {NULL, NULL, NULL}};
    static const struct cli_set_ops ops = {"registry", "registry", "build",
                                           do_add,     do_list,    do_remove};
    char *pos[3];
    int n, rc;

    if ((rc = cli_parse(cli, argc, argv, opts, pos, 3, &n)) || cli->help)
        return rc;
    if (n && (key || output) && strcmp(pos[0], "build"))
        return cli_usage_error("registry", "--key and --output go with build");
    if (n && !strcmp(pos[0], "build"))
        return n == 2 ? do_build(cli, pos[1], key, output)
                      : cli_usage_error("registry", "build wants one DIR");
    return cli_set_run(cli, &ops, pos, n, name);
}
