/*
 * fastn plugin install|list|info|remove|enable|disable|restrict|call: the
 * plugin requests of libfastn, with text for people or JSON (--json).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/file.h"
#include "util/term.h"

const char cli_plugin_usage[] =
    "usage: fastn plugin COMMAND [ARGS] [--json]\n"
    "\n"
    "  install FILE.wasm [--replace] [--unsigned]\n"
    "                                 install a plugin file (admin): its\n"
    "                                 signature FILE.wasm.minisig must be by\n"
    "                                 a trusted publisher (fastn trust);\n"
    "                                 --unsigned installs a file without\n"
    "                                 one (shown as unsigned, never served\n"
    "                                 to peers); --replace replaces an\n"
    "                                 installed one, keeping its data\n"
    "  install NAME[@VERSION] [--replace]\n"
    "                                 install from the registries (fastn\n"
    "                                 registry), the highest version unless\n"
    "                                 one is given (admin)\n"
    "  install --from PEER PROTOCOL|NAME\n"
    "                                 ask PEER for the plugin that serves\n"
    "                                 PROTOCOL (or is named NAME) over\n"
    "                                 /fastn/plugin/1.0.0; its size, sha256\n"
    "                                 and signature are checked first (admin)\n"
    "  search [TERM]                  what the registries offer: names,\n"
    "                                 summaries, protocols or apps with TERM\n"
    "  update [NAME] [--grant CAP]... install newer versions from the\n"
    "                                 registries (admin); one that asks for\n"
    "                                 more capabilities than the installed\n"
    "                                 version waits until they are granted\n"
    "  list                           the installed plugins and their state\n"
    "  info NAME                      one plugin: manifest, limits, state and\n"
    "                                 its last error\n"
    "  remove NAME [--keep-data]      stop and delete it, and its database\n"
    "                                 unless --keep-data (admin)\n"
    "  enable NAME, disable NAME      start or stop it, remembered (admin)\n"
    "  restrict NAME [--serves WHO] [--withhold CAP]... [--grant CAP]...\n"
    "                                 narrow what it may do (admin): WHO is\n"
    "                                 anyone, known-peers or nobody, no wider\n"
    "                                 than its manifest asked; CAP one of\n"
    "                                 the capabilities it asked for (streams,\n"
    "                                 storage, notify, timers); --grant gives\n"
    "                                 a withheld one back. Applies at once,\n"
    "                                 remembered; local calls still work\n"
    "  restrict NAME --protocol P --serves WHO\n"
    "                                 narrow only protocol P of it (admin): P\n"
    "                                 serves the narrowest of its manifest,\n"
    "                                 the plugin-wide WHO and this one; the\n"
    "                                 manifest's or plugin-wide WHO undoes it\n"
    "  call NAME METHOD [ARG]...      call the plugin (its on_call) and print\n"
    "                                 its answer; a lone ARG - reads stdin;\n"
    "                                 several ARGs reach it NUL-separated\n"
    "                                 (docs/PLUGIN-ABI.md); after -- an ARG\n"
    "                                 may start with -\n"
    "  pending                        data kept for a protocol no plugin\n"
    "                                 handles (or from a stranger), and the\n"
    "                                 plugin offered for it\n"
    "  approve ID|PROTOCOL [--grant CAP]...\n"
    "                                 install the offered plugin, hand it the\n"
    "                                 kept data (admin)\n"
    "  reject ID|PROTOCOL [--block-peer]\n"
    "                                 delete kept data (admin); more: fastn\n"
    "                                 plugin pending --help\n"
    "  run FILE.wasm [--data DIR] [--peer NAME]... [--trace] ACTION...\n"
    "                                 run a plugin file in fastnd's plugin\n"
    "                                 host, without a daemon or a network,\n"
    "                                 in a temporary folder (or DIR, kept);\n"
    "                                 ACTIONs in order: --call METHOD\n"
    "                                 [ARG]..., --stream PEER PROTOCOL (stdin\n"
    "                                 as a peer's stream, the answer to\n"
    "                                 stdout), --time MS (the clock moves),\n"
    "                                 --restart; --peer NAME runs it on a\n"
    "                                 second node NAME, @NAME in an ARG is\n"
    "                                 its PeerID; --trace shows each event\n"
    "                                 and host call with its fuel\n"
    "  new NAME [--template T] [--dir DIR]\n"
    "                                 write a plugin project (C source,\n"
    "                                 Makefile, test, README) in DIR (NAME);\n"
    "                                 T: echo, request-reply or store\n"
    "\n"
    "docs/PLUGINS.md says how to write one.\n"
    "\n"
    "--json: install, info and restrict print the plugin's info\n"
    "{\"name\", \"version\", \"description\", \"state\", \"enabled\",\n"
    "\"protocols\", \"capabilities\", \"apps\", \"serves\", \"asked_serves\",\n"
    "\"withheld\", \"protocol_serves\": {PROTOCOL: WHO}, \"storage_quota\",\n"
    "\"limits\": {\"fuel_per_event\", \"memory_pages\", \"streams\",\n"
    "\"timers\", \"statements\"}, \"restarts\", \"last_error\",\n"
    "\"last_error_name\", \"last_error_text\", \"last_error_ms\",\n"
    "\"restart_in_ms\", \"file_bytes\", \"memory_pages\", \"db_bytes\",\n"
    "\"open_streams\", \"pending_calls\", \"armed_timers\", \"events\",\n"
    "\"fuel_used\", \"memory\": {\"linear\", \"tables\", \"host\",\n"
    "\"sqlite\", \"budget\"}, \"cpu\": {\"ns\", \"fuel\", \"budget_ns\",\n"
    "\"window_ms\", \"deferred\", \"deferrals\", \"longest_slice_us\"},\n"
    "\"db_wal_bytes\", \"database\": {\"disk_bytes\", \"heap_bytes\",\n"
    "\"heap_peak\", \"heap_limit\"}, \"signature\" (verified, unsigned,\n"
    "untrusted, invalid), \"signer\", \"signer_name\", \"publisher_note\",\n"
    "\"local_listen\": [{\"name\", \"asked\", \"port\", \"bound\"}],\n"
    "\"local_connect\": [{\"address\", \"target\"}]};\n"
    "list {\"plugins\": [info...]}; remove, enable, disable {\"name\",\n"
    "\"done\"}; call {\"result\"} (or \"result_base64\" for an answer that\n"
    "is not UTF-8 text); install NAME and --from {\"name\", \"version\",\n"
    "\"registry\", \"summary\", \"protocols\", \"capabilities\", \"apps\",\n"
    "\"size\", \"sha256\", \"signer\", \"signer_name\", \"installed\",\n"
    "\"publisher_note\", \"peer_id\"}; search {\"plugins\": [the same],\n"
    "\"registries\": [{\"name\", \"url\", \"default\", \"plugins\", "
    "\"error\",\n"
    "\"error_text\"}]}; update {\"updates\": [{\"name\", \"result\"\n"
    "(current, updated, consent, failed, not-listed), \"from_version\",\n"
    "\"to_version\", \"registry\", \"new_capabilities\", \"error\",\n"
    "\"error_text\"}], \"registries\"}.\n";

static const char *const subcommands[] = {
    "install", "list", "info",     "remove",  "enable",
    "disable", "call", "restrict", "search",  "update",
    "run",     "new",  "pending",  "approve", "reject"};

/* Splits the arguments after `plugin SUB` into positionals and flags. */
#define CAPS_ARGS_MAX 8
/* NAME METHOD and the arguments of a call */
#define POS_ARGS_MAX (3 + 256)

struct args {
    const char *pos[POS_ARGS_MAX];
    int n_pos;
    bool replace, keep_data, allow_unsigned;
    const char *serves, *protocol, *from;
    const char *withhold[CAPS_ARGS_MAX], *grant[CAPS_ARGS_MAX];
    size_t n_withhold, n_grant;
};

/* An option with a value (--serves WHO): takes argv[*i + 1]. */
static int option_value(int argc, char **argv, int *i, const char **out)
{
    char what[128];

    if (*i + 1 >= argc) {
        snprintf(what, sizeof(what), "%s wants a value", argv[*i]);
        return cli_usage_error("plugin", what);
    }
    *out = argv[++*i];
    return 0;
}

/* --withhold CAP or --grant CAP, repeatable. */
static int option_cap(int argc, char **argv, int *i, const char **v, size_t *n)
{
    if (*n == CAPS_ARGS_MAX)
        return cli_usage_error("plugin", "too many --withhold or --grant");
    return option_value(argc, argv, i, &v[(*n)++]);
}

static int parse_args(struct cli *cli, int argc, char **argv, struct args *a)
{
    int rc;

    bool rest = false; /* after "--": all positionals */

    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!rest && !strcmp(s, "--"))
            rest = true;
        else if (rest) {
            if (a->n_pos == POS_ARGS_MAX)
                return cli_usage_error("plugin", "too many arguments");
            a->pos[a->n_pos++] = s;
        } else if (!strcmp(s, "--json"))
            cli->json = true;
        else if (!strcmp(s, "--help") || !strcmp(s, "-h"))
            cli->help = true;
        else if (!strcmp(s, "--replace"))
            a->replace = true;
        else if (!strcmp(s, "--keep-data"))
            a->keep_data = true;
        else if (!strcmp(s, "--unsigned"))
            a->allow_unsigned = true;
        else if (!strcmp(s, "--from")) {
            if ((rc = option_value(argc, argv, &i, &a->from)))
                return rc;
        } else if (!strcmp(s, "--serves")) {
            if ((rc = option_value(argc, argv, &i, &a->serves)))
                return rc;
        } else if (!strcmp(s, "--protocol")) {
            if ((rc = option_value(argc, argv, &i, &a->protocol)))
                return rc;
        } else if (!strcmp(s, "--withhold")) {
            if ((rc = option_cap(argc, argv, &i, a->withhold, &a->n_withhold)))
                return rc;
        } else if (!strcmp(s, "--grant")) {
            if ((rc = option_cap(argc, argv, &i, a->grant, &a->n_grant)))
                return rc;
        } else if (s[0] == '-' && s[1] && a->n_pos < 2) {
            return cli_unknown_option("plugin", s);
        } else if (a->n_pos < 4 ||
                   (a->n_pos < POS_ARGS_MAX && !strcmp(a->pos[0], "call")))
            a->pos[a->n_pos++] = s;
        else
            return cli_usage_error("plugin", "too many arguments");
    }
    return 0;
}

static int usage_error(const char *msg)
{
    return cli_usage_error("plugin", msg);
}

/* --- printing ------------------------------------------------------------ */

/* A plugin's narrowed protocols: {"PROTOCOL": "WHO"} */
static json_t *protocol_serves_json(const struct fastn_plugin_info *p)
{
    json_t *o = json_object();

    for (size_t i = 0; i < p->n_narrowed_protocols; i++)
        cli_json_set(o, p->narrowed_protocols[i], jstr(p->protocol_serves[i]));
    return o;
}

/* "local_listen": [{name, asked, port, bound}], "local_connect":
 * [{address, target}] */
static void local_json(json_t *o, const struct fastn_plugin_info *p)
{
    json_t *l = json_array(), *c = json_array();

    for (size_t i = 0; l && i < p->n_local_listen; i++)
        json_array_append_new(l,
                              json_pack("{s:o,s:i,s:i,s:i}", "name",
                                        jstr(p->local_listen[i].name), "asked",
                                        (int)p->local_listen[i].asked, "port",
                                        (int)p->local_listen[i].port, "bound",
                                        (int)p->local_listen[i].bound));
    for (size_t i = 0; c && i < p->n_local_connect; i++)
        json_array_append_new(c, json_pack("{s:o,s:o}", "address",
                                           jstr(p->local_connect[i].address),
                                           "target",
                                           jstr(p->local_connect[i].target)));
    json_object_set_new(o, "local_listen", l);
    json_object_set_new(o, "local_connect", c);
}

json_t *cli_plugin_info_json(const struct fastn_plugin_info *p)
{
    json_t *o = json_pack(
        "{s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "name",
        jstr(p->name), "version", jstr(p->version), "description",
        jstr(p->description), "state", jstr(p->state), "enabled", p->enabled,
        "protocols", jstr_list(p->protocols, p->n_protocols), "capabilities",
        jstr_list(p->capabilities, p->n_capabilities), "apps",
        jstr_list(p->apps, p->n_apps), "serves", jstr(p->serves),
        "asked_serves", jstr(p->asked_serves), "withheld",
        jstr_list(p->withheld, p->n_withheld), "protocol_serves",
        protocol_serves_json(p));

    json_object_update_new(
        o, json_pack("{s:s,s:s,s:o,s:o}", "signature", p->signature, "signer",
                     p->signer, "signer_name", jstr(p->signer_name),
                     "publisher_note", jstr(p->publisher_note)));
    local_json(o, p);
    json_object_update_new(
        o, json_pack("{s:I,s:{s:I,s:i,s:i,s:i,s:i},s:i,s:i,s:s,s:o,s:I,s:I}",
                     "storage_quota", (json_int_t)p->storage_quota, "limits",
                     "fuel_per_event", (json_int_t)p->fuel_per_event,
                     "memory_pages", (int)p->max_memory_pages, "streams",
                     (int)p->max_streams, "timers", (int)p->max_timers,
                     "statements", (int)p->max_statements, "restarts",
                     (int)p->restarts, "last_error", p->last_error,
                     "last_error_name",
                     p->last_error ? fastn_err_name(p->last_error) : "",
                     "last_error_text", jstr(p->last_error_text),
                     "last_error_ms", (json_int_t)p->last_error_ms,
                     "restart_in_ms", (json_int_t)p->restart_in_ms));
    json_object_update_new(
        o, json_pack("{s:I,s:i,s:I,s:i,s:i,s:i,s:I,s:I}", "file_bytes",
                     (json_int_t)p->file_bytes, "memory_pages",
                     (int)p->memory_pages, "db_bytes", (json_int_t)p->db_bytes,
                     "open_streams", (int)p->open_streams, "pending_calls",
                     (int)p->pending_calls, "armed_timers",
                     (int)p->armed_timers, "events", (json_int_t)p->events,
                     "fuel_used", (json_int_t)p->fuel_used));
    /* what it uses of its budgets */
    json_object_update_new(
        o, json_pack("{s:{s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:i,s:b,s:I,s:I}"
                     ",s:I,s:{s:I,s:I,s:I,s:I}}",
                     "memory", "linear", (json_int_t)p->memory_linear, "tables",
                     (json_int_t)p->memory_tables, "host",
                     (json_int_t)p->memory_host, "sqlite",
                     (json_int_t)p->memory_sqlite, "budget",
                     (json_int_t)p->memory_budget, "cpu", "ns",
                     (json_int_t)p->cpu_ns, "fuel", (json_int_t)p->cpu_fuel,
                     "budget_ns", (json_int_t)p->cpu_budget_ns, "window_ms",
                     (int)p->cpu_window_ms, "deferred", (int)p->deferred,
                     "deferrals", (json_int_t)p->deferrals, "longest_slice_us",
                     (json_int_t)p->longest_slice_us, "db_wal_bytes",
                     (json_int_t)p->db_wal_bytes, "database", "disk_bytes",
                     (json_int_t)p->db_disk_bytes, "heap_bytes",
                     (json_int_t)p->memory_sqlite, "heap_peak",
                     (json_int_t)p->db_heap_peak, "heap_limit",
                     (json_int_t)p->db_heap_limit));
    return o;
}

/* What it uses of its budgets, as text lines. */
static void usage_text(const struct fastn_plugin_info *p)
{
    printf("%-13s%" PRIu64 " of %" PRIu64 " KiB: linear %" PRIu64
           ", tables and stacks %" PRIu64 ", host buffers %" PRIu64
           ", database %" PRIu64 "\n",
           "memory",
           (p->memory_linear + p->memory_tables + p->memory_host +
            p->memory_sqlite) >>
               10,
           p->memory_budget >> 10, p->memory_linear >> 10,
           p->memory_tables >> 10, p->memory_host >> 10,
           p->memory_sqlite >> 10);
    printf("%-13s%.1f of %.1f ms over the last %u s (%" PRIu64
           " fuel)%s; longest slice %.1f ms\n",
           "cpu", p->cpu_ns / 1e6, p->cpu_budget_ns / 1e6,
           p->cpu_window_ms / 1000, p->cpu_fuel,
           p->deferred ? ", waiting for its budget" : "",
           p->longest_slice_us / 1000.0);
    if (p->storage_quota)
        printf("%-13s%" PRIu64 " bytes and %" PRIu64
               " of write-ahead log (%" PRIu64 " on disk), quota %" PRIu64 "\n",
               "storage", p->db_bytes, p->db_wal_bytes, p->db_disk_bytes,
               p->storage_quota);
    if (p->db_heap_limit)
        printf("%-13smemory %" PRIu64 " KiB (at most %" PRIu64
               " KiB so far) of %" PRIu64 " KiB\n",
               "database", p->memory_sqlite >> 10, p->db_heap_peak >> 10,
               p->db_heap_limit >> 10);
    printf("%-13s%u of %u streams, %u of %u timers\n", "open", p->open_streams,
           p->max_streams, p->armed_timers, p->max_timers);
}

/* Every string below came from a plugin (its manifest) or was checked
 * against one: printed through term_fputs()/safe(), made harmless for a
 * terminal (util/term.h). */
static void text(const char *s)
{
    term_fputs(s, stdout, 0);
}

/* s escaped into buf: for a padded column */
#define SAFE_MAX 256
static const char *safe(const char *s, char buf[SAFE_MAX])
{
    return term_safe(s, buf, SAFE_MAX);
}

/* The loopback ports it serves and addresses it connects to, as text. */
void cli_plugin_local_text(const struct fastn_plugin_info *p)
{
    char b1[SAFE_MAX], b2[SAFE_MAX];

    for (size_t i = 0; i < p->n_local_listen; i++) {
        unsigned port = p->local_listen[i].port,
                 bound = p->local_listen[i].bound;
        printf("%-13s%s: ", "listens", safe(p->local_listen[i].name, b1));
        if (!bound)
            printf("127.0.0.1 and [::1] port %u (not listening now)", port);
        else
            printf("127.0.0.1:%u and [::1]:%u", bound, bound);
        if (bound && bound != port)
            printf(" (port %u was taken)", port);
        if (port != p->local_listen[i].asked)
            printf(" (config; manifest: %u)", p->local_listen[i].asked);
        printf("\n");
    }
    for (size_t i = 0; i < p->n_local_connect; i++) {
        printf("%-13s%s", "connects to", safe(p->local_connect[i].address, b1));
        if (strcmp(p->local_connect[i].address, p->local_connect[i].target))
            printf(" -> %s (config)", safe(p->local_connect[i].target, b2));
        printf("\n");
    }
}

static void print_list(const char *label, char *const *v, size_t n)
{
    printf("%-13s", label);
    for (size_t i = 0; i < n; i++) {
        printf("%s", i ? ", " : "");
        text(v[i]);
    }
    printf("%s\n", n ? "" : "(none)");
}

static void when(uint64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

static void info_text(const struct fastn_plugin_info *p)
{
    char b1[SAFE_MAX], b2[SAFE_MAX];

    printf("%s %s: %s%s\n", safe(p->name, b1),
           p->version[0] ? safe(p->version, b2) : "?", p->state,
           p->enabled ? "" : " (disabled)");
    if (p->description[0]) {
        printf("%-13s", "description");
        text(p->description);
        printf("\n");
    }
    print_list("protocols", p->protocols, p->n_protocols);
    cli_plugin_sig_text(p);
    print_list("capabilities", p->capabilities, p->n_capabilities);
    print_list("apps", p->apps, p->n_apps);
    if (p->serves[0] && p->asked_serves[0] &&
        strcmp(p->serves, p->asked_serves) != 0)
        printf("%-13s%s (manifest: %s)\n", "serves", p->serves,
               safe(p->asked_serves, b1));
    else if (p->serves[0])
        printf("%-13s%s\n", "serves", p->serves);
    for (size_t i = 0; i < p->n_narrowed_protocols; i++)
        printf("%-13s%s: %s\n", "serves", safe(p->narrowed_protocols[i], b1),
               p->protocol_serves[i]);
    if (p->n_withheld)
        print_list("withheld", p->withheld, p->n_withheld);
    cli_plugin_local_text(p);
    printf("%-13sfuel/event %" PRIu64 ", memory %u pages, streams %u, "
           "timers %u, statements %u",
           "limits", p->fuel_per_event, p->max_memory_pages, p->max_streams,
           p->max_timers, p->max_statements);
    if (p->storage_quota)
        printf(", storage %" PRIu64 " bytes", p->storage_quota);
    printf("\n%-13s%u pages of memory, %" PRIu64 " bytes of data, %u streams, "
           "%u calls waiting, %u timers\n",
           "now", p->memory_pages, p->db_bytes, p->open_streams,
           p->pending_calls, p->armed_timers);
    printf("%-13s%" PRIu64 " events, %" PRIu64 " fuel; %u restarts\n", "work",
           p->events, p->fuel_used, p->restarts);
    usage_text(p);
    if (p->last_error) {
        char t[32];
        when(p->last_error_ms, t, sizeof(t));
        printf("%-13s%s at %s: ", "last error", fastn_err_name(p->last_error),
               t);
        text(p->last_error_text);
        printf("\n");
    }
    if (!strcmp(p->state, "restarting"))
        printf("%-13sin %.1f s\n", "next start", p->restart_in_ms / 1000.0);
}

static int show_info(struct cli *cli, const struct fastn_plugin_info *p)
{
    if (cli->json)
        cli_emit(cli_plugin_info_json(p));
    else
        info_text(p);
    return 0;
}

/* --- commands ------------------------------------------------------------ */

static int do_install(struct cli *cli, struct fastn_client *c, struct args *a)
{
    if (a->n_pos != 2)
        return usage_error("install wants one FILE.wasm, NAME[@VERSION], or "
                           "--from PEER PROTOCOL|NAME");
    return cli_plugin_install(cli, c, a->pos[1], a->from, a->replace,
                              a->allow_unsigned);
}

static int do_list(struct cli *cli, struct fastn_client *c)
{
    struct fastn_plugin_list *l = NULL;
    int rc = fastn_client_plugin_list(c, &l);

    if (rc)
        return cli_fail(c, rc);
    if (cli->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < l->n_plugins; i++)
            json_array_append_new(a, cli_plugin_info_json(&l->plugins[i]));
        cli_emit(json_pack("{s:o}", "plugins", a));
    } else if (l->n_plugins == 0) {
        cli_note(
            "no plugins installed (fastn plugin install NAME, or FILE.wasm)");
    } else {
        printf("%-20s %-10s %-11s %-10s %s\n", "NAME", "VERSION", "STATE",
               "SIGNATURE", "PROTOCOLS");
        for (size_t i = 0; i < l->n_plugins; i++) {
            const struct fastn_plugin_info *p = &l->plugins[i];
            char b1[SAFE_MAX], b2[SAFE_MAX];
            printf("%-20s %-10s %-11s %-10s", safe(p->name, b1),
                   safe(p->version, b2), p->state,
                   p->signature[0] ? p->signature : "?");
            for (size_t k = 0; k < p->n_protocols; k++) {
                putchar(k ? ',' : ' ');
                text(p->protocols[k]);
            }
            printf("\n");
        }
    }
    fastn_plugin_list_free(l);
    return 0;
}

static int do_info(struct cli *cli, struct fastn_client *c, struct args *a)
{
    struct fastn_plugin_info *p = NULL;
    int rc;

    if (a->n_pos != 2)
        return usage_error("info wants a NAME");
    if ((rc = fastn_client_plugin_info(c, a->pos[1], &p)))
        return cli_fail(c, rc);
    show_info(cli, p);
    fastn_plugin_info_free(p);
    return 0;
}

static int do_change(struct cli *cli, struct fastn_client *c, struct args *a)
{
    const char *sub = a->pos[0];
    int rc;

    if (a->n_pos != 2)
        return usage_error("this command wants a NAME");
    if (!strcmp(sub, "remove"))
        rc = fastn_client_plugin_remove(c, a->pos[1], a->keep_data);
    else
        rc = fastn_client_plugin_enable(c, a->pos[1], !strcmp(sub, "enable"));
    if (rc)
        return cli_fail(c, rc);
    if (cli->json)
        cli_emit(json_pack("{s:o,s:s}", "name", jstr(a->pos[1]), "done", sub));
    else
        printf("%s: %sd\n", a->pos[1], !strcmp(sub, "remove") ? "remove" : sub);
    return 0;
}

static int do_restrict(struct cli *cli, struct fastn_client *c, struct args *a)
{
    struct fastn_plugin_info *p = NULL;
    int rc;

    if (a->n_pos != 2)
        return usage_error("restrict wants a NAME");
    if (a->protocol && (!a->serves || a->n_withhold || a->n_grant))
        return usage_error("--protocol takes --serves WHO and neither "
                           "--withhold nor --grant");
    if (a->protocol)
        rc = fastn_client_plugin_restrict_protocol(c, a->pos[1], a->protocol,
                                                   a->serves, &p);
    else
        rc = fastn_client_plugin_restrict(c, a->pos[1], a->serves, a->withhold,
                                          a->n_withhold, a->grant, a->n_grant,
                                          &p);
    if (rc)
        return cli_fail(c, rc);
    if (cli->json) {
        show_info(cli, p);
    } else if (a->protocol) {
        const char *now = p->serves;
        char b1[SAFE_MAX], b2[SAFE_MAX], b3[SAFE_MAX];
        for (size_t i = 0; i < p->n_narrowed_protocols; i++)
            if (!strcmp(p->narrowed_protocols[i], a->protocol))
                now = p->protocol_serves[i];
        printf("%s: %s serves %s (plugin: %s, manifest: %s)\n",
               safe(p->name, b1), safe(a->protocol, b2), now, p->serves,
               safe(p->asked_serves, b3));
    } else {
        char b1[SAFE_MAX];
        printf("%s: serves %s", safe(p->name, b1), p->serves);
        if (strcmp(p->serves, p->asked_serves) != 0)
            printf(" (manifest: %s)", safe(p->asked_serves, b1));
        printf("; withheld: ");
        for (size_t i = 0; i < p->n_withheld; i++) {
            printf("%s", i ? ", " : "");
            text(p->withheld[i]);
        }
        printf("%s\n", p->n_withheld ? "" : "none");
    }
    fastn_plugin_info_free(p);
    return 0;
}

/* The whole of stdin, for ARG "-". */
static uint8_t *read_stdin(size_t *len)
{
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    size_t r;

    while (b && (r = fread(b + n, 1, cap - n, stdin)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = cap < (2u << 20) ? realloc(b, cap * 2) : NULL;
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
            cap *= 2;
        }
    }
    *len = n;
    return b;
}

int cli_plugin_print_result(struct cli *cli, const uint8_t *p, size_t n,
                            bool lines)
{
    if (cli->json) {
        /* text as a string, other bytes as result_base64 */
        json_t *o = json_object();
        cli_json_bytes(o, "result", p, n);
        cli_emit(o);
        return 0;
    }
    /* text for people (lines) and anything bound for a terminal is
     * escaped; the answer as bytes goes exact into a pipe or file */
    if (lines || isatty(STDOUT_FILENO)) {
        term_fwrite(p, n, stdout, TERM_LINES);
    } else {
        fwrite(p, 1, n, stdout);
    }
    if (n && p[n - 1] != '\n' && (lines || isatty(STDOUT_FILENO)))
        putchar('\n');
    return 0;
}

/* `call NAME METHOD [ARG]...`: one ARG goes as it is ("-": stdin), more
 * are encoded by fastn_plugin_args_encode (docs/PLUGIN-ABI.md, "Call
 * arguments"). */
static int do_call(struct cli *cli, struct fastn_client *c, struct args *a)
{
    size_t argc = a->n_pos > 3 ? a->n_pos - 3 : 0, in_len = 0, out_len = 0;
    const char *const *argv = (const char *const *)a->pos + 3;
    uint8_t *in = NULL, *out = NULL;
    int rc;

    if (a->n_pos < 3)
        return usage_error("call wants NAME METHOD [ARG]...");
    if (argc == 1 && !strcmp(argv[0], "-")) {
        if (!(in = read_stdin(&in_len)))
            return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO, "cannot read stdin");
        rc = fastn_client_plugin_call(c, a->pos[1], a->pos[2], in, in_len, &out,
                                      &out_len);
    } else {
        rc = fastn_client_plugin_call_args(c, a->pos[1], a->pos[2], argv, argc,
                                           &out, &out_len);
    }
    free(in);
    if (rc == FASTN_ERR_TOO_LARGE && !in)
        return cli_error(CLI_EXIT_FAIL, rc,
                         "the arguments are over 1 MiB in all; pass large "
                         "data as one argument \"-\" on stdin");
    if (rc)
        return cli_fail(c, rc);
    rc = cli_plugin_print_result(cli, out, out_len, false);
    fastn_free(out);
    return rc;
}

/* The first argument after `plugin` that is not an option. */
static const char *first_word(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-')
            return argv[i];
    return NULL;
}

/* `plugin run` and `plugin new`: exec fastn-plugin-kit, installed beside
 * fastn's helpers (PREFIX/lib/fastn), or in the build folder beside
 * fastn. It carries the plugin host, the engine and SQLite, which the
 * CLI (a thin client) does not. argv[0] is the subcommand. */
static int exec_kit(int argc, char **argv)
{
    char exe[PATH_MAX], tool[PATH_MAX + 64], *slash;
    char **args = calloc((size_t)argc + 2, sizeof(*args));
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (!args)
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "out of memory");
    exe[n > 0 ? n : 0] = '\0';
    if ((slash = strrchr(exe, '/')))
        *slash = '\0';
    snprintf(tool, sizeof(tool), "%s/../lib/fastn/fastn-plugin-kit", exe);
    if (access(tool, X_OK) != 0)
        snprintf(tool, sizeof(tool), "%s/fastn-plugin-kit", exe);
    args[0] = "fastn-plugin-kit";
    for (int i = 0; i < argc; i++)
        args[i + 1] = argv[i];
    fflush(stdout);
    execv(tool, args);
    free(args);
    return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOT_FOUND,
                     "cannot run %s: %s (is fastn installed whole?)", tool,
                     strerror(errno));
}

int cli_cmd_plugin(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    struct args a;
    const char *sub = first_word(argc, argv);
    int rc;

    if (argc > 1 && (!strcmp(argv[1], "run") || !strcmp(argv[1], "new")))
        return exec_kit(argc - 1, argv + 1);
    if (sub && (!strcmp(sub, "pending") || !strcmp(sub, "approve") ||
                !strcmp(sub, "reject")))
        return cli_plugin_pending(cli, argc, argv);
    if ((rc = parse_args(cli, argc, argv, &a)))
        return rc;

    if (a.n_pos == 0)
        return usage_error("which command?");
    sub = a.pos[0];
    if (strcmp(sub, "install") && strcmp(sub, "list") && strcmp(sub, "info") &&
        strcmp(sub, "remove") && strcmp(sub, "enable") &&
        strcmp(sub, "disable") && strcmp(sub, "call") &&
        strcmp(sub, "restrict") && strcmp(sub, "search") &&
        strcmp(sub, "update"))
        return cli_unknown_word(argv[0], "command", sub, subcommands,
                                sizeof(subcommands) / sizeof(*subcommands));
    if ((a.from || a.allow_unsigned) && strcmp(sub, "install"))
        return usage_error("--from and --unsigned go with install");
    if (!strcmp(sub, "search") && a.n_pos > 2)
        return usage_error("search takes one TERM");
    if (!strcmp(sub, "update") && a.n_pos > 2)
        return usage_error("update takes one NAME, or none for all");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if (!strcmp(sub, "install"))
        rc = do_install(cli, c, &a);
    else if (!strcmp(sub, "list"))
        rc = do_list(cli, c);
    else if (!strcmp(sub, "info"))
        rc = do_info(cli, c, &a);
    else if (!strcmp(sub, "call"))
        rc = do_call(cli, c, &a);
    else if (!strcmp(sub, "restrict"))
        rc = do_restrict(cli, c, &a);
    else if (!strcmp(sub, "search"))
        rc = cli_plugin_search(cli, c, a.n_pos > 1 ? a.pos[1] : NULL);
    else if (!strcmp(sub, "update"))
        rc = cli_plugin_update(cli, c, a.n_pos > 1 ? a.pos[1] : NULL, a.grant,
                               a.n_grant);
    else
        rc = do_change(cli, c, &a);
    fastn_client_free(c);
    return rc;
}
