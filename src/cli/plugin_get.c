/*
 * fastn plugin search, install (a signed file, a name from the
 * registries, or from a peer) and update: the signed-plugin half of
 * `fastn plugin`, with the signature lines of `plugin info`
 * (docs/REGISTRY.md). Everything a registry or a peer said is escaped for
 * the terminal (util/term.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "util/file.h"
#include "util/term.h"

/* Files up to this size travel in the request; larger ones are read by
 * the daemon from their path. */
#define INSTALL_INLINE_MAX (1000u * 1024)
#define MINISIG_MAX (16 * 1024)

static void text(const char *s)
{
    term_fputs(s, stdout, 0);
}

static void list_text(char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        printf("%s", i ? ", " : "");
        text(v[i]);
    }
    printf("%s", n ? "" : "none");
}

static json_t *offered_json(const struct fastn_registry_plugin *p)
{
    json_t *o = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:s,s:s,s:o}", "name", jstr(p->name),
        "version", jstr(p->version), "registry", jstr(p->registry), "summary",
        jstr(p->summary), "protocols", jstr_list(p->protocols, p->n_protocols),
        "capabilities", jstr_list(p->capabilities, p->n_capabilities), "apps",
        jstr_list(p->apps, p->n_apps), "size", (json_int_t)p->size, "sha256",
        p->sha256, "signer", p->signer, "installed", jstr(p->installed));

    if (p->signer_name[0])
        json_object_set_new(o, "signer_name", jstr(p->signer_name));
    if (p->publisher_note[0])
        json_object_set_new(o, "publisher_note", jstr(p->publisher_note));
    if (p->peer_id[0])
        json_object_set_new(o, "peer_id", jstr(p->peer_id));
    return o;
}

/* Registries that could not be read, as notes on stderr. */
static void registry_notes(const struct fastn_registry *v, size_t n)
{
    char safe[512];

    for (size_t i = 0; i < n; i++)
        if (v[i].error)
            cli_note("registry %s could not be read: %s", v[i].name,
                     term_safe(v[i].error_text, safe, sizeof(safe)));
}

/* --- search ------------------------------------------------------------------
 */

static void search_text(const struct fastn_search_result *r)
{
    char b1[128], b2[128];

    printf("%-16s %-10s %-12s %-10s %s\n", "NAME", "VERSION", "REGISTRY",
           "INSTALLED", "SUMMARY");
    for (size_t i = 0; i < r->n_plugins; i++) {
        const struct fastn_registry_plugin *p = &r->plugins[i];
        printf("%-16s %-10s %-12s %-10s ", term_safe(p->name, b1, sizeof(b1)),
               term_safe(p->version, b2, sizeof(b2)), p->registry,
               p->installed[0] ? p->installed : "-");
        text(p->summary);
        printf("\n");
    }
}

int cli_plugin_search(struct cli *cli, struct fastn_client *c, const char *term)
{
    struct fastn_search_result *r = NULL;
    int rc = fastn_client_plugin_search(c, term, &r);
    json_t *a;

    if (rc)
        return cli_fail(c, rc);
    if (cli->json) {
        a = json_array();
        for (size_t i = 0; i < r->n_plugins; i++)
            json_array_append_new(a, offered_json(&r->plugins[i]));
        cli_emit(
            json_pack("{s:o,s:o}", "plugins", a, "registries",
                      cli_registries_json(r->registries, r->n_registries)));
    } else {
        registry_notes(r->registries, r->n_registries);
        if (r->n_plugins)
            search_text(r);
        else
            cli_note("no plugin found%s%s (registries asked: %zu; see fastn "
                     "registry list)",
                     term && term[0] ? " for " : "", term ? term : "",
                     r->n_registries);
    }
    rc = r->n_plugins || r->n_registries == 0 ? 0 : CLI_EXIT_FAIL;
    for (size_t i = 0; i < r->n_registries && rc; i++)
        if (!r->registries[i].error)
            rc = 0; /* a registry answered: "nothing found" is an answer */
    fastn_search_result_free(r);
    return rc;
}

/* --- install -----------------------------------------------------------------
 */

static int show_installed(struct cli *cli,
                          const struct fastn_registry_plugin *p)
{
    char b1[128], b2[128];

    if (cli->json) {
        cli_emit(offered_json(p));
        return 0;
    }
    printf("installed %s %s from ", term_safe(p->name, b1, sizeof(b1)),
           term_safe(p->version, b2, sizeof(b2)));
    if (p->peer_id[0])
        printf("peer %s", p->peer_id);
    else
        printf("registry %s", p->registry);
    printf(", signed by %s (key %s)\n", p->signer_name, p->signer);
    printf("%-13s", "publisher");
    text(p->publisher_note);
    printf("\n%-13s", "capabilities");
    list_text(p->capabilities, p->n_capabilities);
    printf("\n%-13s", "protocols");
    list_text(p->protocols, p->n_protocols);
    printf("\n");
    return 0;
}

/* What an installed plugin serves and reaches on loopback, as the daemon
 * has it now (the registry's entry names the capabilities only). */
static void local_shown(struct cli *cli, struct fastn_client *c,
                        const char *name)
{
    struct fastn_plugin_info *info = NULL;

    if (cli->json || fastn_client_plugin_info(c, name, &info) != 0)
        return;
    cli_plugin_local_text(info);
    fastn_plugin_info_free(info);
}

/* NAME[@VERSION] or PROTOCOL (from a peer) */
static int install_named(struct cli *cli, struct fastn_client *c,
                         const char *what, const char *from, bool replace)
{
    struct fastn_registry_plugin *p = NULL;
    char name[64], peer[FASTN_PEER_ID_MAX];
    const char *at = strchr(what, '@'), *version = NULL;
    int rc;

    if (what[0] == '/') {
        if (!from)
            return cli_usage_error("plugin", "a PROTOCOL is asked of a peer: "
                                             "--from PEER");
    } else {
        if (strlen(what) >= sizeof(name))
            return cli_usage_error("plugin", "that name is too long");
        snprintf(name, sizeof(name), "%.*s",
                 at ? (int)(at - what) : (int)strlen(what), what);
        version = at ? at + 1 : NULL;
        if (from && version)
            return cli_usage_error("plugin", "a peer offers the version it "
                                             "has: no @VERSION with --from");
    }
    if (from && (rc = cli_resolve_peer(cli, c, from, peer)))
        return rc;
    rc = fastn_client_plugin_get(c, what[0] == '/' ? NULL : name, version,
                                 what[0] == '/' ? what : NULL,
                                 from ? peer : NULL, replace, &p);
    if (rc)
        return cli_fail(c, rc);
    rc = show_installed(cli, p);
    local_shown(cli, c, p->name);
    fastn_registry_plugin_free(p);
    return rc;
}

static void show_file_install(struct cli *cli,
                              const struct fastn_plugin_info *p)
{
    char b1[128], b2[128];

    if (cli->json) {
        cli_emit(cli_plugin_info_json(p));
        return;
    }
    printf("installed %s %s (%s), ", term_safe(p->name, b1, sizeof(b1)),
           term_safe(p->version, b2, sizeof(b2)), p->state);
    if (!strcmp(p->signature, "verified")) {
        printf("signed by %s (key %s): ", p->signer_name, p->signer);
        text(p->publisher_note);
        printf("\n");
    } else {
        printf("%s\n", p->signature[0] ? p->signature : "unsigned");
    }
    printf("%-13s", "capabilities");
    list_text(p->capabilities, p->n_capabilities);
    printf("\n");
    cli_plugin_local_text(p);
}

/* Reads FILE.minisig beside the plugin; *sig stays NULL when there is
 * none. */
static int read_signature(const char *path, uint8_t **sig, size_t *len)
{
    char sp[PATH_MAX];
    int rc;

    if (snprintf(sp, sizeof(sp), "%s.minisig", path) >= (int)sizeof(sp))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_TOO_LARGE, "path too long");
    rc = file_read_all(sp, MINISIG_MAX, sig, len);
    if (rc == FASTN_ERR_NOT_FOUND)
        return 0;
    if (rc)
        return cli_error(CLI_EXIT_FAIL, rc, "cannot read %s: %s", sp,
                         rc == FASTN_ERR_IO ? strerror(errno)
                                            : "not a signature file");
    return 0;
}

static int install_file(struct cli *cli, struct fastn_client *c,
                        const char *path, bool replace, bool allow_unsigned)
{
    struct fastn_plugin_info *p = NULL;
    uint8_t *data = NULL, *sig = NULL;
    size_t len = 0, sig_len = 0;
    char abs[PATH_MAX];
    int flags = (replace ? FASTN_INSTALL_REPLACE : 0) |
                (allow_unsigned ? FASTN_INSTALL_UNSIGNED : 0);
    int rc;

    /* the file's own path (links resolved), read only as a regular file;
     * one too large to travel inline is read by the daemon there */
    if (!realpath(path, abs))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOT_FOUND, "%s: %s", path,
                         strerror(errno));
    rc = file_read_nofollow(abs, INSTALL_INLINE_MAX, &data, &len);
    if (rc && rc != FASTN_ERR_TOO_LARGE)
        return cli_error(CLI_EXIT_FAIL, rc, "cannot read %s: %s", path,
                         rc == FASTN_ERR_IO || rc == FASTN_ERR_NOT_FOUND
                             ? strerror(errno)
                         : rc == FASTN_ERR_INVAL ? "not a regular file"
                                                 : fastn_strerror(rc));
    /* --unsigned: installed as unsigned, whatever lies beside it */
    if (!allow_unsigned && (rc = read_signature(path, &sig, &sig_len))) {
        free(data);
        return rc;
    }
    if (!allow_unsigned && !sig)
        rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_UNSIGNED,
                       "%s has no signature (%s.minisig): install signed "
                       "plugins (fastn plugin search), or pass --unsigned "
                       "if you trust this file itself",
                       path, path);
    else
        rc = fastn_client_plugin_install_signed(c, data, len, data ? NULL : abs,
                                                sig, sig_len, flags, &p);
    free(data);
    free(sig);
    if (rc == CLI_EXIT_FAIL)
        return rc;
    if (rc)
        return cli_fail(c, rc);
    show_file_install(cli, p);
    fastn_plugin_info_free(p);
    return 0;
}

/* A plugin file: a name ending in .wasm, a path with a '/' (an absolute
 * one that exists: else it is a protocol id, asked of a peer). Anything
 * else is a plugin's name. */
static bool is_file(const char *what)
{
    size_t n = strlen(what);
    struct stat st;

    if (n > 5 && !strcmp(what + n - 5, ".wasm"))
        return true;
    if (what[0] == '/')
        return stat(what, &st) == 0;
    return strchr(what, '/') != NULL;
}

int cli_plugin_install(struct cli *cli, struct fastn_client *c,
                       const char *what, const char *from, bool replace,
                       bool allow_unsigned)
{
    if (!from && is_file(what))
        return install_file(cli, c, what, replace, allow_unsigned);
    if (allow_unsigned)
        return cli_usage_error("plugin", "--unsigned goes with a FILE: "
                                         "registries and peers serve only "
                                         "signed plugins");
    return install_named(cli, c, what, from, replace);
}

/* --- update
 * ------------------------------------------------------------------- */

static void update_line(const struct fastn_plugin_update *u)
{
    char caps[256] = "", grants[512] = "";
    size_t n = 0, k = 0;

    for (size_t i = 0; i < u->n_new_capabilities; i++) {
        n += (size_t)snprintf(caps + n, n < sizeof(caps) ? sizeof(caps) - n : 0,
                              "%s%s", i ? ", " : "", u->new_capabilities[i]);
        k += (size_t)snprintf(grants + k,
                              k < sizeof(grants) ? sizeof(grants) - k : 0,
                              " --grant %s", u->new_capabilities[i]);
    }
    switch (u->result) {
    case FASTN_UPDATE_UPDATED:
        printf("%s: updated %s -> %s (registry %s)\n", u->name, u->from_version,
               u->to_version, u->registry);
        break;
    case FASTN_UPDATE_CURRENT:
        printf("%s: %s is the newest\n", u->name, u->from_version);
        break;
    case FASTN_UPDATE_NOT_LISTED:
        printf("%s: %s, not listed by any registry\n", u->name,
               u->from_version);
        break;
    case FASTN_UPDATE_CONSENT:
        printf("%s: %s waits: it asks for capabilities %s does not have: %s; "
               "to accept them: fastn plugin update %s%s\n",
               u->name, u->to_version, u->from_version, caps, u->name, grants);
        break;
    default: {
        char safe[512];
        printf("%s: update to %s failed: %s\n", u->name, u->to_version,
               term_safe(u->error_text, safe, sizeof(safe)));
    }
    }
}

static json_t *update_json(const struct fastn_plugin_update *u)
{
    static const char *const names[] = {"current", "updated", "consent",
                                        "failed", "not-listed"};
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "name", u->name, "result",
                  (unsigned)u->result < 5 ? names[u->result] : "?",
                  "from_version", u->from_version, "to_version", u->to_version,
                  "registry", u->registry, "new_capabilities",
                  jstr_list(u->new_capabilities, u->n_new_capabilities));

    if (u->error) {
        json_object_set_new(o, "error", json_string(fastn_err_name(u->error)));
        json_object_set_new(o, "error_text", jstr(u->error_text));
    }
    return o;
}

int cli_plugin_update(struct cli *cli, struct fastn_client *c, const char *name,
                      const char *const *grant, size_t n_grant)
{
    struct fastn_update_list *r = NULL;
    json_t *a;
    int rc;

    rc = fastn_client_plugin_update(c, name, grant, n_grant, &r);
    if (rc)
        return cli_fail(c, rc);
    if (cli->json) {
        a = json_array();
        for (size_t i = 0; i < r->n_updates; i++)
            json_array_append_new(a, update_json(&r->updates[i]));
        cli_emit(
            json_pack("{s:o,s:o}", "updates", a, "registries",
                      cli_registries_json(r->registries, r->n_registries)));
    } else {
        registry_notes(r->registries, r->n_registries);
        for (size_t i = 0; i < r->n_updates; i++)
            update_line(&r->updates[i]);
        if (r->n_updates == 0)
            printf("no plugins installed\n");
    }
    rc = 0;
    for (size_t i = 0; i < r->n_updates; i++)
        if (r->updates[i].result == FASTN_UPDATE_CONSENT ||
            r->updates[i].result == FASTN_UPDATE_FAILED)
            rc = CLI_EXIT_FAIL;
    fastn_update_list_free(r);
    return rc;
}

/* --- the signature in plugin info -------------------------------------------
 */

void cli_plugin_sig_text(const struct fastn_plugin_info *p)
{
    if (!p->signature[0])
        return;
    printf("%-13s", "signature");
    if (!strcmp(p->signature, "verified")) {
        printf("verified: signed by %s (key %s)\n", p->signer_name, p->signer);
        printf("%-13s", "publisher");
        text(p->publisher_note);
        printf("\n");
    } else if (!strcmp(p->signature, "unsigned")) {
        printf("unsigned (installed with --unsigned; never served to "
               "peers)\n");
    } else if (!strcmp(p->signature, "untrusted")) {
        printf("signed by key %s, which is no longer trusted (fastn trust "
               "add)\n",
               p->signer);
    } else {
        printf("INVALID: the file does not match its signature by key %s "
               "(altered?)\n",
               p->signer);
    }
}
