/*
 * fastn trust add|list|remove: the publishers whose minisign keys the
 * daemon trusts to sign plugins (docs/REGISTRY.md), through libfastn.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/file.h"
#include "util/term.h"

/* Largest key file read: a comment line and the key. */
#define KEY_FILE_MAX 4096

const char cli_trust_usage[] =
    "usage: fastn trust COMMAND [ARGS] [--json]\n"
    "\n"
    "  add FILE.pub|BASE64KEY [--name NAME]\n"
    "                        trust the publisher whose minisign public key\n"
    "                        this is (admin): plugins signed with it install\n"
    "                        and update; NAME (default: its key id) names it\n"
    "  list                  the trusted keys: the user's, in\n"
    "                        $FASTN_HOME/trusted-publishers, and the\n"
    "                        installation's, in\n"
    "                        PREFIX/share/fastn/trusted-publishers\n"
    "  remove KEYID|NAME     stop trusting a key (admin); the installation's\n"
    "                        are removed there, as root\n"
    "\n"
    "A publisher makes a minisign key once and signs each plugin with it\n"
    "(docs/REGISTRY.md); you trust the NAME.pub they publish.\n"
    "\n"
    "--json: add, remove {\"name\", \"key_id\", \"public_key\", \"system\"};\n"
    "list {\"keys\": [...]}.\n";

static json_t *key_json(const struct fastn_trusted_key *k)
{
    return json_pack("{s:o,s:s,s:s,s:b}", "name", jstr(k->name), "key_id",
                     k->key_id, "public_key", k->public_key, "system",
                     k->system);
}

/* Whether s could be a key's base64 line (the daemon checks it). */
static bool base64_line(const char *s)
{
    size_t n = strlen(s);
    return n >= 40 && n <= 80 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789+/=") == n;
}

/* FILE.pub's content, or the argument itself as the key's base64 line. */
static int key_bytes(const char *arg, uint8_t **out, size_t *len)
{
    int rc = file_read_all(arg, KEY_FILE_MAX, out, len);

    if (rc == FASTN_ERR_NOT_FOUND && base64_line(arg)) {
        *out = (uint8_t *)strdup(arg);
        *len = strlen(arg);
        return *out ? 0 : CLI_EXIT_FAIL;
    }
    if (rc)
        return cli_error(CLI_EXIT_FAIL, rc,
                         "cannot read %s: %s; give a minisign .pub file or "
                         "its base64 line",
                         arg,
                         rc == FASTN_ERR_IO || rc == FASTN_ERR_NOT_FOUND
                             ? strerror(errno)
                             : fastn_strerror(rc));
    return 0;
}

static int do_add(struct cli *cli, struct fastn_client *c, const char *arg,
                  const char *name)
{
    struct fastn_trusted_key k;
    uint8_t *key = NULL;
    size_t len = 0;
    int rc = key_bytes(arg, &key, &len);

    if (rc)
        return rc;
    rc = fastn_client_trust_add(c, key, len, name, &k);
    free(key);
    if (rc)
        return cli_fail(c, rc);
    if (cli->json)
        cli_emit(key_json(&k));
    else
        printf("trusted %s (key id %s): plugins it signs can be installed\n",
               k.name, k.key_id);
    return 0;
}

static int do_list(struct cli *cli, struct fastn_client *c)
{
    struct fastn_key_list *l = NULL;
    json_t *a;
    int rc = fastn_client_trust_list(c, &l);

    if (rc)
        return cli_fail(c, rc);
    if (cli->json) {
        a = json_array();
        for (size_t i = 0; i < l->n_keys; i++)
            json_array_append_new(a, key_json(&l->keys[i]));
        cli_emit(json_pack("{s:o}", "keys", a));
    } else if (l->n_keys == 0) {
        cli_note("no publisher is trusted (fastn trust add THEIR-KEY.pub)");
    } else {
        printf("%-24s %-17s %s\n", "NAME", "KEY ID", "TRUSTED BY");
        for (size_t i = 0; i < l->n_keys; i++)
            printf("%-24s %-17s %s\n", l->keys[i].name, l->keys[i].key_id,
                   l->keys[i].system ? "the installation" : "you");
    }
    fastn_key_list_free(l);
    return 0;
}

static int do_remove(struct cli *cli, struct fastn_client *c, const char *what)
{
    struct fastn_trusted_key k;
    int rc = fastn_client_trust_remove(c, what, &k);

    if (rc)
        return cli_fail(c, rc);
    if (cli->json)
        cli_emit(key_json(&k));
    else
        printf("no longer trusted: %s (key id %s)\n", k.name, k.key_id);
    return 0;
}

int cli_cmd_trust(struct cli *cli, int argc, char **argv)
{
    const char *name = NULL;
    const struct cli_opt opts[] = {{"--name", NULL, &name}, {NULL, NULL, NULL}};
    static const struct cli_set_ops ops = {"trust", "key",   NULL,
                                           do_add,  do_list, do_remove};
    char *pos[3];
    int n, rc;

    if ((rc = cli_parse(cli, argc, argv, opts, pos, 3, &n)) || cli->help)
        return rc;
    return cli_set_run(cli, &ops, pos, n, name);
}
