/*
 * fastn-registry-build: writes the index.json of a folder of signed
 * plugins (registry_index_build), as a publisher makes a registry and as
 * the build makes build/plugins/index.json for the bundled plugins; `fastn
 * registry build DIR` runs it (installed in PREFIX/lib/fastn).
 *
 *   fastn-registry-build [--key KEY.pub] [--output FILE] [--json] DIR
 *
 * With --key every signature is verified against that key first. The
 * index goes to DIR/index.json (or FILE), written atomically, 0644.
 * With --json, stdout carries one object as fastn's commands print them:
 * {"index", "plugins"} or {"error": {"code", "message"}}.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fastn/err.h"
#include "registry/index.h"
#include "util/file.h"

static bool json_out;

static void usage(void)
{
    fprintf(stderr, "usage: fastn-registry-build [--key KEY.pub] "
                    "[--output FILE] [--json] DIR\n");
    exit(2);
}

/* An error, on stderr, or as fastn's error object on stdout (--json). */
static void fail(int err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    json_t *o;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!json_out) {
        fprintf(stderr, "fastn-registry-build: %s\n", msg);
        return;
    }
    o = json_pack("{s:{s:s,s:s%}}", "error", "code", fastn_err_name(err),
                  "message", msg, strlen(msg));
    if (o)
        json_dumpf(o, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(o);
}

static int load_key(const char *path, struct minisign_pubkey *key)
{
    char why[160] = "";
    uint8_t *text = NULL;
    size_t len = 0;
    int rc = file_read_all(path, MINISIGN_PUBFILE_MAX, &text, &len);

    if (!rc)
        rc = minisign_pubkey_parse(text, len, key, why, sizeof(why));
    free(text);
    if (rc)
        fail(rc, "%s: %s%s%s", path, fastn_strerror(rc), why[0] ? ": " : "",
             why);
    return rc;
}

static void print_json(const char *index, size_t n)
{
    json_t *o =
        json_pack("{s:s,s:I}", "index", index, "plugins", (json_int_t)n);

    if (o)
        json_dumpf(o, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(o);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                         {"output", required_argument, 0, 'o'},
                                         {"json", no_argument, 0, 'j'},
                                         {0, 0, 0, 0}};
    const char *key_path = NULL, *output = NULL;
    struct minisign_pubkey key;
    struct registry_index idx;
    char err[512] = "", path[PATH_MAX], *json = NULL;
    int c, rc;

    while ((c = getopt_long(argc, argv, "k:o:", opts, NULL)) != -1) {
        if (c == 'k')
            key_path = optarg;
        else if (c == 'o')
            output = optarg;
        else if (c == 'j')
            json_out = true;
        else
            usage();
    }
    if (optind != argc - 1)
        usage();
    if (key_path && load_key(key_path, &key) != 0)
        return 1;
    rc = registry_index_build(argv[optind], key_path ? &key : NULL, &idx, err,
                              sizeof(err));
    if (rc) {
        fail(rc, "%s (%s)", err, fastn_strerror(rc));
        return 1;
    }
    if (!output) {
        snprintf(path, sizeof(path), "%s/" REGISTRY_INDEX_NAME, argv[optind]);
        output = path;
    }
    rc = registry_index_to_json(&idx, &json);
    if (!rc)
        rc = file_write_atomic(output, json, strlen(json), 0644);
    if (rc)
        fail(rc, "cannot write %s: %s", output, fastn_strerror(rc));
    else if (json_out)
        print_json(output, idx.n);
    else
        printf("%s: %zu plugins\n", output, idx.n);
    free(json);
    registry_index_cleanup(&idx);
    return rc ? 1 : 0;
}
