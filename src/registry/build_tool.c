/*
 * fastn-registry-build: writes the index.json of a folder of signed
 * plugins (registry_index_build), as a publisher makes a registry and as
 * the build makes build/plugins/index.json for the bundled plugins. It
 * becomes `fastn registry build DIR` once the CLI has registry commands.
 *
 *   fastn-registry-build [--key KEY.pub] [--output FILE] DIR
 *
 * With --key every signature is verified against that key first. The
 * index goes to DIR/index.json (or FILE), written atomically, 0644.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "registry/index.h"
#include "util/file.h"

static void usage(void)
{
    fprintf(stderr, "usage: fastn-registry-build [--key KEY.pub] "
                    "[--output FILE] DIR\n");
    exit(2);
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
        fprintf(stderr, "fastn-registry-build: %s: %s%s%s\n", path,
                fastn_strerror(rc), why[0] ? ": " : "", why);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                         {"output", required_argument, 0, 'o'},
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
        fprintf(stderr, "fastn-registry-build: %s (%s)\n", err,
                fastn_strerror(rc));
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
        fprintf(stderr, "fastn-registry-build: cannot write %s: %s\n", output,
                fastn_strerror(rc));
    else
        printf("%s: %zu plugins\n", output, idx.n);
    free(json);
    registry_index_cleanup(&idx);
    return rc ? 1 : 0;
}
